/*
 * test_jack_client.c — clients/common/jack_client.c against a real jackd:
 * closing a client after its server died, bounded in time.
 *
 * libjack 1.9.21 can block for ever in jack_client_close after the server
 * died; jack_client_close_after_shutdown gives up after a timeout. The real
 * close is checked as it is; the hanging close is made by linking with
 * --wrap=jack_client_close, whose wrapper can hold the call on a semaphore
 * before passing it on to libjack.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include <jack/jack.h>

#include "jack_client.h"
#include "jack_fixture.h"
#include "test_util.h"

int __real_jack_client_close(jack_client_t *c);
int __wrap_jack_client_close(jack_client_t *c);

static sem_t g_hold;
static atomic_int g_block;    /* 1: the wrapper waits on g_hold first */
static atomic_int g_closed;   /* closes that returned from libjack */
static atomic_int g_shutdown; /* the shutdown callback ran */
static struct jackfix g_fx;

int __wrap_jack_client_close(jack_client_t *c)
{
    if (atomic_load(&g_block))
        sem_wait(&g_hold);
    int r = __real_jack_client_close(c);
    atomic_fetch_add(&g_closed, 1);
    return r;
}

static void on_shutdown(jack_status_t code, const char *reason, void *arg)
{
    (void)code;
    (void)reason;
    (void)arg;
    atomic_store(&g_shutdown, 1);
}

/* An active client on a fresh private server, then the server killed under
 * it: returns the client once its shutdown callback has run. */
static jack_client_t *client_of_dead_server(void)
{
    struct jackfix_config cfg = { .rate = 256, .period = 64, .name_hint = "jc" };
    assert_int_equal(jackfix_start(&g_fx, &cfg), 0);
    char why[256] = "", name[64];
    jackfix_client_name(name, sizeof name, "jc");
    jack_client_t *c = jack_client_open_named(name, jackfix_server_name(&g_fx), false, why,
                                              sizeof why);
    if (!c)
        fail_msg("%s", why);
    atomic_store(&g_shutdown, 0);
    jack_on_info_shutdown(c, on_shutdown, NULL);
    assert_int_equal(jack_activate(c), 0);
    jackfix_stop(&g_fx);
    for (int i = 0; i < 1000 && !atomic_load(&g_shutdown); i++)
        test_sleep_ms(10);
    assert_true(atomic_load(&g_shutdown));
    return c;
}

/* libjack closes the client (as it usually does): 0, well within the time. */
static void test_close_after_death(void **state)
{
    (void)state;
    jack_client_t *c = client_of_dead_server();
    int before = atomic_load(&g_closed);
    double t0 = test_now_s();
    assert_int_equal(jack_client_close_after_shutdown(c, 10.0), 0);
    assert_true(test_now_s() - t0 < 10.0);
    assert_int_equal(atomic_load(&g_closed), before + 1);
}

/* libjack does not return: -1 after the timeout, not before and not much
 * after; once libjack returns, the closing thread cleans up by itself
 * (LeakSanitizer checks that in the ASan build). */
static void test_close_times_out(void **state)
{
    (void)state;
    jack_client_t *c = client_of_dead_server();
    int before = atomic_load(&g_closed);
    atomic_store(&g_block, 1);
    double t0 = test_now_s();
    int r = jack_client_close_after_shutdown(c, 0.3);
    double dt = test_now_s() - t0;
    assert_int_equal(r, -1);
    assert_true(dt >= 0.29);
    assert_true(dt < 5.0);
    assert_int_equal(atomic_load(&g_closed), before);
    atomic_store(&g_block, 0);
    sem_post(&g_hold);
    for (int i = 0; i < 1000 && atomic_load(&g_closed) == before; i++)
        test_sleep_ms(10);
    assert_int_equal(atomic_load(&g_closed), before + 1);
    test_sleep_ms(50); /* the detached thread frees its record right after */
}

static int teardown(void **state)
{
    (void)state;
    jackfix_stop(&g_fx);
    return 0;
}

int main(void)
{
    sem_init(&g_hold, 0, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_close_after_death, teardown),
        cmocka_unit_test_teardown(test_close_times_out, teardown),
    };
    return cmocka_run_group_tests_name("jack_client: closing after the server died", tests, NULL,
                                       NULL);
}
