/*
 * jack_fixture.h — a private, throw-away jackd for tests.
 *
 * jackfix_start() spawns `jackd --no-realtime -n <unique name> -d dummy ...`
 * with JACK_NO_AUDIO_RESERVATION=1, waits until the server answers a client,
 * and exports JACK_DEFAULT_SERVER=<name> and JACK_NO_START_SERVER=1 so that
 * every JACK client the test opens (or any program it runs) talks to this
 * server and never to the user's default one, and never auto-starts one.
 *
 * Cleanup is guaranteed in layers, so that a failing test never leaves a
 * server behind:
 *   1. jackfix_stop() — called from a cmocka teardown, it runs even after a
 *      failed assertion (cmocka longjmps out of the test, then tears down).
 *   2. an atexit() handler stops every fixture still running at exit().
 *   3. jackd is not our child but the child of a small guardian process that
 *      holds the read end of a pipe whose write end only the test process
 *      holds. When the test process dies in any way (abort, SIGSEGV, SIGKILL,
 *      ctest timeout), the pipe reports EOF and the guardian stops jackd
 *      gracefully (SIGTERM, then SIGKILL after 5 s), reaps it and exits.
 *   4. jackd has PR_SET_PDEATHSIG(SIGKILL) towards the guardian, in case the
 *      guardian itself is killed.
 * The guardian runs in its own process group, so a terminal's Ctrl-C reaches
 * the test (or ictal-with-jackd's command) but not the server, which is then
 * stopped in order.
 *
 * Start and stop are test set-up code: not RT-safe, and not thread-safe
 * (setenv is involved), so start and stop fixtures from one thread.
 *
 * Several fixtures may run at once (up to 16), but one process should be a
 * client of one of them at a time: jack2's libjack keeps per-process globals
 * tied to the first server it meets until its last client closes. Use a child
 * process (or ictal-with-jackd) to talk to two servers simultaneously.
 */
#ifndef ICTAL_JACK_FIXTURE_H
#define ICTAL_JACK_FIXTURE_H

#include <stddef.h>
#include <sys/types.h>

#define JACKFIX_NAME_MAX 64
#define JACKFIX_PATH_MAX 512

struct jackfix_config {
    unsigned rate;          /* Hz; 0 → 48000 */
    unsigned period;        /* frames per period; 0 → 256 */
    unsigned capture;       /* dummy capture ports (system:capture_N) */
    unsigned playback;      /* dummy playback ports (system:playback_N) */
    const char *name_hint;  /* short tag in the server name; NULL → "test" */
    double timeout_s;       /* how long to wait for the server; 0 → 10 s */
};

/* How jackfix_stop() found the server. */
enum jackfix_exit {
    JACKFIX_EXIT_CLEAN = 0,   /* exited with status 0 after SIGTERM */
    JACKFIX_EXIT_ERROR = 1,   /* exited after SIGTERM with a non-zero status */
    JACKFIX_EXIT_KILLED = 2,  /* ignored SIGTERM for 5 s and was SIGKILLed */
    JACKFIX_EXIT_DIED = 3,    /* had already exited before the stop request */
    JACKFIX_EXIT_LOST = 4,    /* the guardian vanished or reported nonsense */
};

/* Caller-allocated (stack, static, test state). Fields are private: use the
 * accessors. A zero-initialised struct is "not running"; jackfix_stop() on it
 * is a no-op. */
struct jackfix {
    int running;
    int slot;                       /* index in the atexit registry */
    pid_t guardian;                 /* our child; its exit status reports jackd's end */
    pid_t server;                   /* jackd, the guardian's child */
    int ctl_fd;                     /* write end of the guardian's life line */
    unsigned rate, period, capture, playback;
    char name[JACKFIX_NAME_MAX];
    char log_path[JACKFIX_PATH_MAX];
    int last_exit;                  /* enum jackfix_exit of the last stop */
};

/* Start a private server. Blocks until a client can connect to it (or the
 * timeout passes, or jackd exits early). On success returns 0, fx is running
 * and the environment points at it (the newest running fixture wins). On
 * failure returns a negative ICTAL_E* code (ICTAL_EINVAL bad config, ICTAL_EIO spawn failure,
 * ICTAL_ESERVER jackd exited, ICTAL_ETIMEDOUT never answered), prints the
 * reason and the tail of the jackd log to stderr, and leaves nothing running.
 * The jackd log is "<test_tmpdir()>/jackd-<name>.log". RT-safe: no. */
int jackfix_start(struct jackfix *fx, const struct jackfix_config *cfg);

/* Stop the server: SIGTERM, up to 5 s, then SIGKILL; reap. Afterwards
 * JACK_DEFAULT_SERVER names the newest fixture still running, or, with none
 * left, has its value from before the first one (JACK_NO_START_SERVER stays
 * set). Idempotent: stopping a stopped (or zeroed) fixture returns 0.
 * Returns 0 when the server exited cleanly (or was not running),
 * ICTAL_ESERVER otherwise; jackfix_last_exit() tells how it ended.
 * RT-safe: no. */
int jackfix_stop(struct jackfix *fx);

/* The private server name (for JackServerName / JACK_DEFAULT_SERVER), or ""
 * when never started. Valid until the next start on fx. RT-safe: yes. */
const char *jackfix_server_name(const struct jackfix *fx);

/* Path of the jackd log file. RT-safe: yes. */
const char *jackfix_log_path(const struct jackfix *fx);

/* The jackd process id (not our child: do not wait for it), or 0.
 * RT-safe: yes. */
pid_t jackfix_server_pid(const struct jackfix *fx);

/* enum jackfix_exit of the last jackfix_stop(), or -1 before any stop.
 * RT-safe: yes. */
int jackfix_last_exit(const struct jackfix *fx);

/* 1 when a client can connect to the server called name right now, 0 when
 * not. Never starts a server; silences libjack's connection errors while it
 * probes. RT-safe: no. */
int jackfix_server_answers(const char *name);

/* Write "<base>-<pid>" into buf (cap bytes, truncated safely) and return buf.
 * Use it for every client a test opens. jack2 names a client's notification
 * socket /dev/shm/jack_<client>_<uid>_0 without the server name, so two test
 * processes opening same-named clients at the same moment — even on different
 * servers — clobber each other's socket and one open fails ("Cannot connect
 * client socket"). Seen with `ctest -j` and with two builds tested at once.
 * RT-safe: no. */
char *jackfix_client_name(char *buf, size_t cap, const char *base);

/* Print the last max_lines lines of the jackd log to stderr. RT-safe: no. */
void jackfix_dump_log(const struct jackfix *fx, unsigned max_lines);

#endif
