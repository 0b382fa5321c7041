/*
 * ictal-with-jackd — run one command against a private, throw-away jackd.
 *
 *   ictal-with-jackd [-r RATE] [-p PERIOD] [-C N] [-P N] [-t SECONDS] [-n HINT] [-v]
 *                    -- COMMAND [ARGS...]
 *
 * Starts a dummy-backend jackd under a unique server name (tests/support/
 * jack_fixture.h), runs COMMAND with JACK_DEFAULT_SERVER naming it and
 * JACK_NO_START_SERVER=1, stops the server whatever happens and exits with
 * the command's status (128+N when it died of signal N, as a shell reports).
 * SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to this program are forwarded to
 * the command; if this program is killed outright, the fixture's guardian
 * still stops the server.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jack_fixture.h"

#define EXIT_USAGE 2
#define EXIT_SERVER 125   /* the server could not be started */

static volatile sig_atomic_t g_signal;
static volatile pid_t g_child;

static void on_signal(int sig)
{
    g_signal = sig;
    pid_t c = g_child;
    if (c > 0)
        kill(c, sig);
}

static void usage(FILE *out)
{
    fputs("usage: ictal-with-jackd [options] -- COMMAND [ARGS...]\n"
          "\n"
          "Start a private jackd (dummy backend, no real-time, unique server name),\n"
          "run COMMAND with JACK_DEFAULT_SERVER set to it, stop the server afterwards\n"
          "and exit with COMMAND's status.\n"
          "\n"
          "options:\n"
          "  -r RATE     sample rate in Hz (default 48000)\n"
          "  -p PERIOD   frames per period (default 256)\n"
          "  -C N        dummy capture ports, system:capture_1..N (default 2)\n"
          "  -P N        dummy playback ports, system:playback_1..N (default 2)\n"
          "  -t SECONDS  how long to wait for the server to answer (default 10)\n"
          "  -n HINT     tag in the server name, ictal-HINT-PID-N (default with-jackd)\n"
          "  -v          print the server name and jackd log path to stderr\n"
          "  -h, --help  this text\n"
          "\n"
          "The jackd log goes to $ICTAL_TEST_TMPDIR (else /tmp)/jackd-NAME.log.\n"
          "exit status: COMMAND's status; 128+N if it died of signal N; 127 if it could\n"
          "not be run; 125 if the server did not start; 2 for a usage error.\n",
          out);
}

/* A decimal number in [lo, hi]; no sign, no junk, no overflow. */
static int parse_uint(const char *opt, const char *s, unsigned long lo, unsigned long hi,
                      unsigned *out)
{
    if (!s || !*s) {
        fprintf(stderr, "ictal-with-jackd: %s needs a value\n", opt);
        return -1;
    }
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9') {
            fprintf(stderr, "ictal-with-jackd: %s: '%s' is not a non-negative integer\n", opt, s);
            return -1;
        }
    errno = 0;
    unsigned long v = strtoul(s, NULL, 10);
    if (errno == ERANGE || v < lo || v > hi) {
        fprintf(stderr, "ictal-with-jackd: %s: %s is out of range [%lu, %lu]\n", opt, s, lo, hi);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

int main(int argc, char **argv)
{
    struct jackfix_config cfg = { .rate = 48000, .period = 256, .capture = 2, .playback = 2,
                                  .name_hint = "with-jackd", .timeout_s = 10.0 };
    int verbose = 0;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "-v") == 0) {
            verbose = 1;
            continue;
        }
        if (a[0] != '-')
            break;   /* the command starts here even without "--" */
        if (strlen(a) != 2 || !strchr("rpCPtn", a[1])) {
            fprintf(stderr, "ictal-with-jackd: unknown option '%s' (see --help)\n", a);
            return EXIT_USAGE;
        }
        const char *val = (i + 1 < argc) ? argv[++i] : NULL;
        unsigned t = 0;
        int bad = 0;
        switch (a[1]) {
        case 'r':
            bad = parse_uint("-r", val, 1, 1000000, &cfg.rate);
            break;
        case 'p':
            bad = parse_uint("-p", val, 1, 65536, &cfg.period);
            break;
        case 'C':
            bad = parse_uint("-C", val, 0, 256, &cfg.capture);
            break;
        case 'P':
            bad = parse_uint("-P", val, 0, 256, &cfg.playback);
            break;
        case 't':
            bad = parse_uint("-t", val, 1, 3600, &t);
            cfg.timeout_s = t;
            break;
        case 'n':
            if (!val || !*val) {
                fprintf(stderr, "ictal-with-jackd: -n needs a value\n");
                bad = -1;
            }
            cfg.name_hint = val;
            break;
        default:
            bad = -1;
        }
        if (bad)
            return EXIT_USAGE;
    }
    if (i >= argc) {
        fprintf(stderr, "ictal-with-jackd: no command given (see --help)\n");
        return EXIT_USAGE;
    }
    char **cmd = argv + i;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    const int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
    for (size_t s = 0; s < sizeof fwd / sizeof fwd[0]; s++)
        sigaction(fwd[s], &sa, NULL);

    struct jackfix fx;
    memset(&fx, 0, sizeof fx);
    if (jackfix_start(&fx, &cfg) != 0) {
        fprintf(stderr, "ictal-with-jackd: could not start jackd (rate %u, period %u)\n",
                cfg.rate, cfg.period);
        return EXIT_SERVER;
    }
    if (verbose)
        fprintf(stderr, "ictal-with-jackd: server %s (jackd pid %ld, log %s)\n",
                jackfix_server_name(&fx), (long)jackfix_server_pid(&fx), jackfix_log_path(&fx));

    int status = 0;
    if (g_signal) {
        status = 128 + g_signal;
    } else {
        fflush(NULL);
        pid_t c = fork();
        if (c == 0) {
            sa.sa_handler = SIG_DFL;
            for (size_t s = 0; s < sizeof fwd / sizeof fwd[0]; s++)
                sigaction(fwd[s], &sa, NULL);
            execvp(cmd[0], cmd);
            int e = errno;
            fprintf(stderr, "ictal-with-jackd: cannot run '%s': %s\n", cmd[0], strerror(e));
            _exit(e == ENOENT ? 127 : 126);
        }
        if (c < 0) {
            fprintf(stderr, "ictal-with-jackd: fork: %s\n", strerror(errno));
            status = 126;
        } else {
            g_child = c;
            if (g_signal)            /* arrived between start and g_child */
                kill(c, g_signal);
            int st = 0;
            pid_t r;
            do {
                r = waitpid(c, &st, 0);
            } while (r < 0 && errno == EINTR);
            g_child = 0;
            if (r != c)
                status = 126;
            else if (WIFEXITED(st))
                status = WEXITSTATUS(st);
            else if (WIFSIGNALED(st))
                status = 128 + WTERMSIG(st);
            else
                status = 126;
        }
    }

    if (jackfix_stop(&fx) != 0)
        fprintf(stderr, "ictal-with-jackd: warning: server %s did not stop cleanly\n",
                jackfix_server_name(&fx));
    if (verbose)
        fprintf(stderr, "ictal-with-jackd: command exited with status %d\n", status);
    return status;
}
