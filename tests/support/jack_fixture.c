/*
 * jack_fixture.c — spawn, probe and always stop a private jackd.
 *
 * Process tree:   test ──fork──▶ guardian ──fork/exec──▶ jackd
 *
 * The guardian exists so that cleanup does not depend on the test process
 * getting a chance to run code: its only link to the test is a pipe, and a
 * pipe's EOF arrives however the test ends. Between fork and _exit the
 * guardian calls only async-signal-safe functions, because the test process
 * may be multithreaded (libjack client threads) when it starts a fixture;
 * everything it needs (argv, envp, paths, the log fd) is prepared before fork.
 */
#include "jack_fixture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jack/jack.h>

#include "ictal/error.h"
#include "test_util.h"

extern char **environ;

#define JACKFIX_MAX_LIVE 16
#define JACKFIX_TERM_GRACE_MS 5000
#define JACKFIX_POLL_MS 25

/* ---- registry: what the atexit handler and the guardian need to know ---- */

struct live_entry {
    int used;
    pid_t owner;     /* the process that started it (forks inherit the table) */
    pid_t guardian;
    int ctl_fd;
    unsigned seq;    /* start order: the newest live fixture owns the env */
    char name[JACKFIX_NAME_MAX];
};

static struct live_entry g_live[JACKFIX_MAX_LIVE];
static int g_atexit_installed;
static unsigned g_counter;
/* JACK_DEFAULT_SERVER as it was before the first of the live fixtures. */
static int g_outside_saved, g_outside_had;
static char g_outside[256];

/* JACK_DEFAULT_SERVER names the most recently started fixture still running;
 * with none running it is back to what it was before the first one. */
static void update_env(void)
{
    const struct live_entry *newest = NULL;
    for (int i = 0; i < JACKFIX_MAX_LIVE; i++)
        if (g_live[i].used && g_live[i].owner == getpid() &&
            (!newest || g_live[i].seq > newest->seq))
            newest = &g_live[i];
    if (newest) {
        if (!g_outside_saved) {
            const char *cur = getenv("JACK_DEFAULT_SERVER");
            g_outside_had = cur != NULL;
            snprintf(g_outside, sizeof g_outside, "%s", cur ? cur : "");
            g_outside_saved = 1;
        }
        setenv("JACK_DEFAULT_SERVER", newest->name, 1);
        setenv("JACK_NO_START_SERVER", "1", 1);
    } else if (g_outside_saved) {
        if (g_outside_had)
            setenv("JACK_DEFAULT_SERVER", g_outside, 1);
        else
            unsetenv("JACK_DEFAULT_SERVER");
        g_outside_saved = 0;
    }
}

static int wait_guardian(pid_t guardian)
{
    int st = 0;
    pid_t r;
    do {
        r = waitpid(guardian, &st, 0);
    } while (r < 0 && errno == EINTR);
    if (r != guardian || !WIFEXITED(st))
        return JACKFIX_EXIT_LOST;
    int code = WEXITSTATUS(st);
    return (code >= JACKFIX_EXIT_CLEAN && code <= JACKFIX_EXIT_DIED) ? code : JACKFIX_EXIT_LOST;
}

/* Closing the life line is the stop request; the guardian bounds the rest
 * (5 s grace, then SIGKILL), so a blocking wait is bounded too. */
static int live_stop(int slot)
{
    struct live_entry *e = &g_live[slot];
    if (!e->used)
        return JACKFIX_EXIT_CLEAN;
    close(e->ctl_fd);
    int code = JACKFIX_EXIT_LOST;
    if (e->owner == getpid())
        code = wait_guardian(e->guardian);
    e->used = 0;
    return code;
}

static void stop_all_at_exit(void)
{
    for (int i = 0; i < JACKFIX_MAX_LIVE; i++) {
        if (g_live[i].used && g_live[i].owner == getpid())
            fprintf(stderr, "jack_fixture: stopping a server left running at exit\n");
        live_stop(i);
    }
}

/* ---- small helpers ---- */

static void silent_jack_msg(const char *msg)
{
    (void)msg;
}

char *jackfix_client_name(char *buf, size_t cap, const char *base)
{
    if (!buf || cap == 0)
        return buf;
    snprintf(buf, cap, "%s-%ld", base ? base : "client", (long)getpid());
    return buf;
}

int jackfix_server_answers(const char *name)
{
    if (!name || !*name)
        return 0;
    /* libjack reports a missing server through its error callback; probing
     * every 25 ms would flood the test log, so mute it for the probe. */
    void (*prev_err)(const char *) = jack_error_callback;
    void (*prev_info)(const char *) = jack_info_callback;
    jack_set_error_function(silent_jack_msg);
    jack_set_info_function(silent_jack_msg);
    char client[32];
    jackfix_client_name(client, sizeof client, "ictal-probe");
    jack_status_t status = 0;
    jack_client_t *c = jack_client_open(client, JackNoStartServer | JackServerName, &status,
                                        name);
    if (c)
        jack_client_close(c);
    jack_set_error_function(prev_err);
    jack_set_info_function(prev_info);
    return c != NULL;
}

/* jack2 creates its request socket as /dev/shm/jack_<server>_<uid>_0 once
 * the server is nearly ready. Probing with jack_client_open before that only
 * churns libjack threads through failed opens (and under ASan, thread
 * churn is where we once saw a runtime deadlock), so wait for the socket
 * first; the caller falls back to plain probing if it never appears (a
 * jack2 built with another server directory). */
static int server_socket_exists(const char *name)
{
    char path[JACKFIX_PATH_MAX];
    snprintf(path, sizeof path, "/dev/shm/jack_%s_%ld_0", name, (long)getuid());
    struct stat st;
    return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Find an executable on PATH before fork: execvp is not async-signal-safe. */
static int find_jackd(char *out, size_t cap)
{
    const char *override = getenv("ICTAL_JACKD");
    if (override && *override) {
        int n = snprintf(out, cap, "%s", override);
        return (n > 0 && (size_t)n < cap && access(out, X_OK) == 0) ? 0 : -1;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/bin:/bin";
    const char *p = path;
    while (*p) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0) {
            int n = snprintf(out, cap, "%.*s/jackd", (int)len, p);
            if (n > 0 && (size_t)n < cap && access(out, X_OK) == 0)
                return 0;
        }
        p += len;
        if (*p == ':')
            p++;
    }
    return -1;
}

static void set_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0)
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

void jackfix_dump_log(const struct jackfix *fx, unsigned max_lines)
{
    if (!fx || !fx->log_path[0])
        return;
    size_t len = 0;
    char *text = test_read_file(fx->log_path, &len);
    if (!text) {
        fprintf(stderr, "jack_fixture: (no jackd log at %s)\n", fx->log_path);
        return;
    }
    size_t start = len;
    unsigned lines = 0;
    while (start > 0) {
        if (text[start - 1] == '\n' && start != len && ++lines >= max_lines)
            break;
        start--;
    }
    fprintf(stderr, "jack_fixture: ---- last lines of %s ----\n", fx->log_path);
    fwrite(text + start, 1, len - start, stderr);
    if (len > 0 && text[len - 1] != '\n')
        fputc('\n', stderr);
    fprintf(stderr, "jack_fixture: ---- end of jackd log ----\n");
    free(text);
}

/* jack2 keeps its sockets and semaphores in /dev/shm as
 * "jack_<server>_<uid>_<n>" and "jack_sem.<uid>_<server>_<client>". A server
 * that dies with clients attached (the server-death tests do this on purpose)
 * or is SIGKILLed leaves some behind. Our server names contain no '_', so
 * the server field parses unambiguously; remove entries of the server named
 * only, or (only == NULL) of any ictal test server whose test process is
 * gone. Never touches other servers' files. */
static void reclaim_registry(void);

static void sweep_shm(const char *only)
{
    DIR *d = opendir("/dev/shm");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *p = e->d_name;
        if (strncmp(p, "jack_sem.", 9) == 0) {
            p += 9;
            while (*p >= '0' && *p <= '9')
                p++;
            if (*p++ != '_')
                continue;
        } else if (strncmp(p, "jack_", 5) == 0) {
            p += 5;
        } else {
            continue;
        }
        const char *end = strchr(p, '_');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= JACKFIX_NAME_MAX || strncmp(p, "ictal-", 6) != 0)
            continue;
        char server[JACKFIX_NAME_MAX];
        memcpy(server, p, len);
        server[len] = '\0';
        int remove = 0;
        if (only) {
            remove = strcmp(server, only) == 0;
        } else {
            /* ictal-<tag>-<pid>-<n>: the pid is the second-last field. */
            char *last = strrchr(server, '-');
            if (!last || last == server)
                continue;
            *last = '\0';
            char *pid_s = strrchr(server, '-');
            if (!pid_s)
                continue;
            char *stop = NULL;
            long pid = strtol(pid_s + 1, &stop, 10);
            remove = stop && *stop == '\0' && pid > 0 && pid != (long)getpid() &&
                     kill((pid_t)pid, 0) != 0 && errno == ESRCH;
        }
        if (remove) {
            char path[300];
            snprintf(path, sizeof path, "/dev/shm/%s", e->d_name);
            unlink(path);
        }
    }
    closedir(d);
    reclaim_registry();
}

/* jack2 (1.9.21, common/shm.c) also registers every server in a slot of
 * /dev/shm/jack-shm-registry, one of MAX_SERVERS = 8 per machine, and frees
 * the slot only on a clean exit; a server that dies with clients attached
 * (the server-death tests) or is SIGKILLed keeps it, and jack2 reclaims a
 * dead server's slot only for a new server of the same name. Our names are
 * unique, so without this every such test would leak a slot until no server
 * can start ("Too many servers already active"). Free the slots of dead
 * ictal test servers, under jack2's own registry lock (a SysV semaphore),
 * and only when the segment has the layout we know. */
#define JACK_REG_PATH "/dev/shm/jack-shm-registry"
#define JACK_REG_SEM_KEY 0x282929
#define JACK_REG_MAGIC 0x4a41434bu     /* 'JACK' */
#define JACK_REG_SERVERS 8
#define JACK_REG_ENTRY 264             /* pid_t pid; char name[257]; padded */
#define JACK_REG_HDR (24 + JACK_REG_SERVERS * JACK_REG_ENTRY)

static void reclaim_registry(void)
{
    int semid = semget(JACK_REG_SEM_KEY, 0, 0);
    if (semid < 0)
        return; /* no server ever ran here */
    int fd = open(JACK_REG_PATH, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return;
    unsigned char *m = mmap(NULL, JACK_REG_HDR, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return;
    struct sembuf lock = { 0, -1, SEM_UNDO }, unlock = { 0, 1, SEM_UNDO };
    if (semop(semid, &lock, 1) == 0) {
        uint32_t magic;
        int32_t hdr_len;
        memcpy(&magic, m, sizeof magic);
        memcpy(&hdr_len, m + 16, sizeof hdr_len);
        for (int i = 0; magic == JACK_REG_MAGIC && hdr_len == JACK_REG_HDR &&
                        i < JACK_REG_SERVERS; i++) {
            unsigned char *e = m + 24 + (size_t)i * JACK_REG_ENTRY;
            int32_t pid;
            memcpy(&pid, e, sizeof pid);
            char name[64];
            memcpy(name, e + 4, sizeof name - 1);
            name[sizeof name - 1] = '\0';
            /* "jack-<uid>:<server>:" */
            const char *colon = strchr(name, ':');
            if (pid > 0 && strncmp(name, "jack-", 5) == 0 && colon &&
                strncmp(colon + 1, "ictal-", 6) == 0 && kill((pid_t)pid, 0) != 0 &&
                errno == ESRCH)
                memset(e, 0, JACK_REG_ENTRY);
        }
        semop(semid, &unlock, 1);
    }
    munmap(m, JACK_REG_HDR);
}

/* ---- the guardian (async-signal-safe only from here to _exit) ---- */

static volatile sig_atomic_t g_guard_stop;

static void guardian_on_signal(int sig)
{
    (void)sig;
    g_guard_stop = 1;
}

static int guardian_reap(pid_t pid, int *st, int block)
{
    pid_t r;
    do {
        r = waitpid(pid, st, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    return r == pid;
}

static void guardian_write_str(const char *s)
{
    ssize_t w = write(2, s, strlen(s));
    (void)w;
}

static void guardian_main(int ctl_r, int info_w, int log_fd, int max_fd, const char *jackd,
                          char *const argv[], char *const envp[])
{
    setpgid(0, 0);
    /* Hold nothing of the test's: not other fixtures' life lines (their
     * guardians would never see EOF while we live), not pipes the test reads
     * to EOF, not ctest's output pipe (ctest would wait for us). jackd
     * inherits only what we keep. */
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
    }
    for (int fd = 3; fd < max_fd; fd++)
        if (fd != ctl_r && fd != info_w && fd != log_fd)
            close(fd);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = guardian_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    set_cloexec(ctl_r);
    set_cloexec(info_w);

    pid_t me = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != me)   /* the guardian died before prctl took effect */
            _exit(127);
        dup2(log_fd, 1);
        dup2(log_fd, 2);
        close(log_fd);
        sa.sa_handler = SIG_DFL;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        sigaction(SIGPIPE, &sa, NULL);
        execve(jackd, argv, envp);
        guardian_write_str("jack_fixture: execve of jackd failed\n");
        _exit(127);
    }
    close(log_fd);
    if (pid < 0) {
        close(info_w);
        _exit(JACKFIX_EXIT_DIED);
    }
    ssize_t w = write(info_w, &pid, sizeof pid);
    (void)w;
    close(info_w);

    int st = 0;
    for (;;) {
        if (guardian_reap(pid, &st, 0))
            _exit(JACKFIX_EXIT_DIED);
        if (g_guard_stop)
            break;
        struct pollfd pfd = { .fd = ctl_r, .events = POLLIN };
        int r = poll(&pfd, 1, JACKFIX_POLL_MS * 2);
        if (r > 0) {
            char b;
            ssize_t n = read(ctl_r, &b, 1);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
                break;       /* EOF: stop requested, or the test died */
            if (n > 0)
                break;       /* any byte is a stop request too */
        }
    }

    kill(pid, SIGTERM);
    for (int waited = 0; waited < JACKFIX_TERM_GRACE_MS; waited += 10) {
        if (guardian_reap(pid, &st, 0))
            _exit((WIFEXITED(st) && WEXITSTATUS(st) == 0) ? JACKFIX_EXIT_CLEAN
                                                          : JACKFIX_EXIT_ERROR);
        test_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    guardian_reap(pid, &st, 1);
    _exit(JACKFIX_EXIT_KILLED);
}

/* ---- start / stop ---- */

static void make_name(char *out, size_t cap, const char *hint)
{
    char tag[17];
    size_t n = 0;
    for (const char *h = (hint && *hint) ? hint : "test"; *h && n < sizeof tag - 1; h++) {
        char c = *h;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        tag[n++] = ok ? c : '-';   /* no '_': sweep_shm parses names by it */
    }
    tag[n] = '\0';
    snprintf(out, cap, "ictal-%s-%ld-%u", tag, (long)getpid(), ++g_counter);
}

int jackfix_start(struct jackfix *fx, const struct jackfix_config *cfg)
{
    if (!fx || !cfg) {
        fprintf(stderr, "jack_fixture: NULL fixture or config\n");
        return ICTAL_EINVAL;
    }
    if (fx->running) {
        fprintf(stderr, "jack_fixture: fixture %s already running\n", fx->name);
        return ICTAL_ESTATE;
    }
    unsigned rate = cfg->rate ? cfg->rate : 48000;
    unsigned period = cfg->period ? cfg->period : 256;
    if (rate > 1000000 || period > 65536 || cfg->capture > 256 || cfg->playback > 256) {
        fprintf(stderr, "jack_fixture: implausible config rate=%u period=%u C=%u P=%u\n", rate,
                period, cfg->capture, cfg->playback);
        return ICTAL_EINVAL;
    }
    double timeout = cfg->timeout_s > 0 ? cfg->timeout_s : 10.0;

    sweep_shm(NULL);
    memset(fx, 0, sizeof *fx);
    fx->slot = -1;
    fx->ctl_fd = -1;
    fx->last_exit = -1;
    fx->rate = rate;
    fx->period = period;
    fx->capture = cfg->capture;
    fx->playback = cfg->playback;
    make_name(fx->name, sizeof fx->name, cfg->name_hint);
    char logname[JACKFIX_NAME_MAX + 16];
    snprintf(logname, sizeof logname, "jackd-%s.log", fx->name);
    test_path(fx->log_path, sizeof fx->log_path, logname);

    int slot = -1;
    for (int i = 0; i < JACKFIX_MAX_LIVE; i++)
        if (!g_live[i].used) {
            slot = i;
            break;
        }
    if (slot < 0) {
        fprintf(stderr, "jack_fixture: more than %d servers at once\n", JACKFIX_MAX_LIVE);
        return ICTAL_ERANGE;
    }

    char jackd[JACKFIX_PATH_MAX];
    if (find_jackd(jackd, sizeof jackd) != 0) {
        fprintf(stderr, "jack_fixture: jackd not found on PATH (Debian package jackd2)\n");
        return ICTAL_ENOENT;
    }

    /* argv and envp, built before fork. No -w: the dummy backend derives its
     * cycle time from -p and -r, and a -w would override the period. */
    char a_name[JACKFIX_NAME_MAX], a_rate[16], a_period[16], a_cap[16], a_play[16];
    snprintf(a_name, sizeof a_name, "%s", fx->name);
    snprintf(a_rate, sizeof a_rate, "%u", rate);
    snprintf(a_period, sizeof a_period, "%u", period);
    snprintf(a_cap, sizeof a_cap, "%u", cfg->capture);
    snprintf(a_play, sizeof a_play, "%u", cfg->playback);
    char *argv[] = { jackd, "--no-realtime", "-n", a_name, "-d", "dummy", "-r", a_rate,
                     "-p", a_period, "-C", a_cap, "-P", a_play, NULL };

    size_t nenv = 0;
    while (environ && environ[nenv])
        nenv++;
    char **envp = calloc(nenv + 2, sizeof *envp);
    if (!envp)
        return ICTAL_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < nenv; i++) {
        if (strncmp(environ[i], "JACK_NO_AUDIO_RESERVATION=", 26) == 0 ||
            strncmp(environ[i], "JACK_DEFAULT_SERVER=", 20) == 0)
            continue;
        envp[k++] = environ[i];
    }
    static char reservation[] = "JACK_NO_AUDIO_RESERVATION=1";
    envp[k++] = reservation;
    envp[k] = NULL;

    int log_fd = open(fx->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        fprintf(stderr, "jack_fixture: cannot create %s: %s\n", fx->log_path, strerror(errno));
        free(envp);
        return ICTAL_EIO;
    }
    int ctl[2], info[2];
    if (pipe(ctl) != 0) {
        close(log_fd);
        free(envp);
        return ICTAL_EIO;
    }
    if (pipe(info) != 0) {
        close(ctl[0]);
        close(ctl[1]);
        close(log_fd);
        free(envp);
        return ICTAL_EIO;
    }
    set_cloexec(ctl[0]);
    set_cloexec(ctl[1]);
    set_cloexec(info[0]);
    set_cloexec(info[1]);

    long open_max = sysconf(_SC_OPEN_MAX);
    int max_fd = (open_max > 0 && open_max < 65536) ? (int)open_max : 65536;
    fflush(NULL);   /* no buffered output duplicated into the guardian */
    pid_t g = fork();
    if (g == 0) {
        guardian_main(ctl[0], info[1], log_fd, max_fd, jackd, argv, envp);
        _exit(JACKFIX_EXIT_LOST);
    }
    close(ctl[0]);
    close(info[1]);
    close(log_fd);
    free(envp);
    if (g < 0) {
        fprintf(stderr, "jack_fixture: fork: %s\n", strerror(errno));
        close(ctl[1]);
        close(info[0]);
        return ICTAL_EIO;
    }

    if (!g_atexit_installed) {
        atexit(stop_all_at_exit);
        g_atexit_installed = 1;
    }
    g_live[slot] = (struct live_entry){ .used = 1, .owner = getpid(), .guardian = g,
                                        .ctl_fd = ctl[1], .seq = g_counter };
    snprintf(g_live[slot].name, sizeof g_live[slot].name, "%s", fx->name);
    fx->slot = slot;
    fx->guardian = g;
    fx->ctl_fd = ctl[1];
    fx->running = 1;

    pid_t server = 0;
    ssize_t n;
    do {
        n = read(info[0], &server, sizeof server);
    } while (n < 0 && errno == EINTR);
    close(info[0]);
    if (n != (ssize_t)sizeof server || server <= 0) {
        fprintf(stderr, "jack_fixture: guardian failed to spawn jackd\n");
        jackfix_stop(fx);
        return ICTAL_EIO;
    }
    fx->server = server;

    double deadline = test_now_s() + timeout;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(g, &st, WNOHANG);
        if (r == g) {
            /* The guardian leaves only when jackd has gone. */
            g_live[slot].used = 0;
            close(fx->ctl_fd);
            fx->running = 0;
            fx->last_exit = JACKFIX_EXIT_DIED;
            sweep_shm(fx->name);
            fprintf(stderr, "jack_fixture: jackd (server %s) exited during start-up\n", fx->name);
            jackfix_dump_log(fx, 30);
            return ICTAL_ESERVER;
        }
        double left = deadline - test_now_s();
        int socket_seen = server_socket_exists(fx->name) || left < timeout - 2.0;
        if (socket_seen && jackfix_server_answers(fx->name))
            break;
        if (test_now_s() > deadline) {
            fprintf(stderr, "jack_fixture: server %s did not answer within %.1f s\n", fx->name,
                    timeout);
            jackfix_stop(fx);
            jackfix_dump_log(fx, 30);
            return ICTAL_ETIMEDOUT;
        }
        test_sleep_ms(JACKFIX_POLL_MS);
    }

    update_env();
    return 0;
}

int jackfix_stop(struct jackfix *fx)
{
    if (!fx || !fx->running)
        return 0;
    int code = live_stop(fx->slot);
    fx->running = 0;
    fx->slot = -1;
    fx->ctl_fd = -1;
    fx->last_exit = code;
    update_env();
    if (code != JACKFIX_EXIT_LOST)   /* jackd is gone: its leftovers may go */
        sweep_shm(fx->name);
    if (code != JACKFIX_EXIT_CLEAN) {
        static const char *const what[] = { "clean", "error status", "killed after timeout",
                                            "already dead", "lost" };
        fprintf(stderr, "jack_fixture: server %s ended: %s\n", fx->name, what[code]);
        jackfix_dump_log(fx, 20);
        return ICTAL_ESERVER;
    }
    return 0;
}

const char *jackfix_server_name(const struct jackfix *fx)
{
    return fx ? fx->name : "";
}

const char *jackfix_log_path(const struct jackfix *fx)
{
    return fx ? fx->log_path : "";
}

pid_t jackfix_server_pid(const struct jackfix *fx)
{
    return fx ? fx->server : 0;
}

int jackfix_last_exit(const struct jackfix *fx)
{
    return fx ? fx->last_exit : -1;
}
