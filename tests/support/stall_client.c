/*
 * stall_client — a JACK client that misbehaves on purpose: every
 * `--every N` cycles its process callback busy-waits `--stall MS`
 * milliseconds, longer than the period, so the server reports an xrun to
 * every client. Integration tests use it to force latency violations on
 * ictal-detect ("forced xruns ... counted and survived").
 *
 *   stall_client [--name NAME] [--every N] [--stall MS] [--count K] [--delay S]
 *
 * It stalls K times (default 3), the first after --delay seconds, then
 * stays idle until SIGTERM/SIGINT. It busy-waits rather than sleeps so the
 * overrun does not depend on timer slack. Prints "stalls K" on exit.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jack/jack.h>

struct stall {
    int every, count, stall_ms;
    double delay_s;
    _Atomic int done;
    int cycle, armed_cycles;
    double t0;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int process(jack_nframes_t n, void *arg)
{
    (void)n;
    struct stall *s = arg;
    if (atomic_load(&s->done) >= s->count || mono_s() - s->t0 < s->delay_s)
        return 0;
    if (++s->cycle % s->every != 0)
        return 0;
    double until = mono_s() + s->stall_ms / 1000.0;
    while (mono_s() < until) {
    }
    atomic_fetch_add(&s->done, 1);
    return 0;
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    struct stall s = { 4, 3, 600, 0.5, 0, 0, 0, 0 };
    const char *name = "stall";
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--name") == 0)
            name = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--every") == 0)
            s.every = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--stall") == 0)
            s.stall_ms = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--count") == 0)
            s.count = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--delay") == 0)
            s.delay_s = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: stall_client [--name N] [--every N] [--stall MS] "
                            "[--count K] [--delay S]\n");
            return 2;
        }
    }
    if (s.every < 1)
        s.every = 1;
    jack_status_t st;
    jack_client_t *c = jack_client_open(name, JackNoStartServer | JackUseExactName, &st);
    if (!c) {
        fprintf(stderr, "stall_client: cannot open client %s (status 0x%x)\n", name, (unsigned)st);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    s.t0 = mono_s();
    jack_set_process_callback(c, process, &s);
    if (jack_activate(c) != 0) {
        fprintf(stderr, "stall_client: cannot activate\n");
        jack_client_close(c);
        return 1;
    }
    while (!stop)
        usleep(20000);
    jack_deactivate(c);
    jack_client_close(c);
    printf("stalls %d\n", atomic_load(&s.done));
    return 0;
}
