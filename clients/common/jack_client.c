/*
 * jack_client.c — shared libjack chores of ictal's JACK clients
 * (jack_client.h).
 */
#include "jack_client.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <jack/metadata.h>
#include <jack/uuid.h>

static void say(char *why, size_t cap, const char *fmt, ...)
{
    if (!why || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
}

const char *jack_client_status_string(jack_status_t st, char *buf, size_t cap)
{
    static const struct {
        jack_status_t bit;
        const char *name;
    } names[] = {
        { JackFailure, "Failure" },           { JackInvalidOption, "InvalidOption" },
        { JackNameNotUnique, "NameNotUnique" }, { JackServerStarted, "ServerStarted" },
        { JackServerFailed, "ServerFailed" }, { JackServerError, "ServerError" },
        { JackNoSuchClient, "NoSuchClient" }, { JackLoadFailure, "LoadFailure" },
        { JackInitFailure, "InitFailure" },   { JackShmFailure, "ShmFailure" },
        { JackVersionError, "VersionError" }, { JackBackendError, "BackendError" },
        { JackClientZombie, "ClientZombie" },
    };
    size_t n = 0;
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(st & names[i].bit))
            continue;
        int w = snprintf(buf + n, cap - n, "%s%s", n ? "|" : "", names[i].name);
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
    return buf;
}

/* Does a client called `name` exist on `server`? Asked through a client
 * with a name of its own (pid-suffixed: jack2 names client sockets without
 * the server name). */
static bool name_taken(const char *name, const char *server)
{
    char probe[64];
    snprintf(probe, sizeof probe, "ictal-probe-%ld", (long)getpid());
    jack_options_t opt = JackNoStartServer | JackUseExactName;
    jack_status_t st = 0;
    jack_client_t *c = server && *server
                           ? jack_client_open(probe, opt | JackServerName, &st, server)
                           : jack_client_open(probe, opt, &st);
    if (!c)
        return false;
    char *uuid = jack_get_uuid_for_client_name(c, name);
    bool taken = uuid != NULL;
    if (uuid)
        jack_free(uuid);
    jack_client_close(c);
    return taken;
}

/* Shared by the caller and the closing thread; whichever lets go second
 * frees it (the caller after a timeout lets go without waiting). */
struct closer {
    jack_client_t *client;
    sem_t done;
    atomic_int released;
};

static void closer_free(struct closer *k)
{
    sem_destroy(&k->done);
    free(k);
}

static void *close_thread(void *arg)
{
    struct closer *k = arg;
    jack_client_close(k->client);
    if (atomic_exchange(&k->released, 1))
        closer_free(k); /* the caller gave up waiting */
    else
        sem_post(&k->done);
    return NULL;
}

int jack_client_close_after_shutdown(jack_client_t *c, double timeout_s)
{
    struct closer *k = malloc(sizeof *k);
    if (!k || sem_init(&k->done, 0, 0) != 0) {
        free(k);
        jack_client_close(c);
        return 0;
    }
    k->client = c;
    atomic_init(&k->released, 0);
    pthread_attr_t attr;
    pthread_t tid;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(&tid, &attr, close_thread, k);
    pthread_attr_destroy(&attr);
    if (err != 0) {
        closer_free(k);
        jack_client_close(c);
        return 0;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    long long ns = until.tv_nsec + (long long)(timeout_s * 1e9);
    until.tv_sec += (time_t)(ns / 1000000000);
    until.tv_nsec = (long)(ns % 1000000000);
    int r;
    while ((r = sem_timedwait(&k->done, &until)) != 0 && errno == EINTR)
        ;
    if (r == 0 || atomic_exchange(&k->released, 1)) {
        /* closed (perhaps just as the wait ran out: the thread let go first) */
        closer_free(k);
        return 0;
    }
    return -1; /* the thread is still inside libjack; it frees k when it returns */
}

jack_client_t *jack_client_open_named(const char *name, const char *server, bool start_server,
                                      char *why, size_t why_cap)
{
    jack_options_t opt = JackUseExactName;
    if (!start_server)
        opt |= JackNoStartServer;
    const char *env = getenv("JACK_DEFAULT_SERVER");
    const char *shown = server && *server ? server : env && *env ? env : "default";
    if (server && *server)
        opt |= JackServerName;
    jack_status_t st = 0;
    jack_client_t *c = server && *server ? jack_client_open(name, opt, &st, server)
                                         : jack_client_open(name, opt, &st);
    if (c)
        return c;
    /* jack2 1.9.21 answers a taken exact name with Failure|ServerError, not
     * NameNotUnique: ask the server with a throw-away client. */
    if ((st & JackServerError) && !(st & (JackServerFailed | JackNameNotUnique)) &&
        name_taken(name, server))
        st |= JackNameNotUnique;
    char bits[256];
    jack_client_status_string(st, bits, sizeof bits);
    if (st & JackNameNotUnique)
        say(why, why_cap,
            "JACK server \"%s\" already has a client named \"%s\": give another name "
            "(--name) (status 0x%x: %s)",
            shown, name, (unsigned)st, bits);
    else if (st & JackServerFailed)
        say(why, why_cap,
            "cannot connect to JACK server \"%s\": is jackd running under that name? "
            "(status 0x%x: %s)",
            shown, (unsigned)st, bits);
    else if (st & JackVersionError)
        say(why, why_cap, "JACK server \"%s\" speaks another protocol version than this libjack "
                          "(status 0x%x: %s)", shown, (unsigned)st, bits);
    else
        say(why, why_cap, "cannot open JACK client \"%s\" on server \"%s\" (status 0x%x: %s)",
            name, shown, (unsigned)st, bits);
    return NULL;
}

#define XSD_INT "http://www.w3.org/2001/XMLSchema#int"

int jack_client_describe_port(jack_client_t *c, jack_port_t *port, const char *pretty_name,
                              bool cv, int order, const char *group, char *why, size_t why_cap)
{
    jack_uuid_t u = jack_port_uuid(port);
    int rc = 0;
    if (pretty_name && *pretty_name &&
        jack_set_property(c, u, JACK_METADATA_PRETTY_NAME, pretty_name, NULL) != 0) {
        say(why, why_cap, "port %s: the server refused its pretty name", jack_port_name(port));
        rc = -1;
    }
    if (cv && jack_set_property(c, u, JACK_METADATA_SIGNAL_TYPE, "CV", NULL) != 0 && rc == 0) {
        say(why, why_cap, "port %s: the server refused its signal type", jack_port_name(port));
        rc = -1;
    }
    char num[16];
    snprintf(num, sizeof num, "%d", order);
    if (order >= 0 && jack_set_property(c, u, JACK_METADATA_ORDER, num, XSD_INT) != 0 && rc == 0) {
        say(why, why_cap, "port %s: the server refused its order", jack_port_name(port));
        rc = -1;
    }
    if (group && *group && jack_set_property(c, u, JACK_METADATA_PORT_GROUP, group, NULL) != 0 &&
        rc == 0) {
        say(why, why_cap, "port %s: the server refused its port group", jack_port_name(port));
        rc = -1;
    }
    return rc;
}

void jack_client_forget_ports(jack_client_t *c, jack_port_t *const *ports, int n)
{
    for (int i = 0; i < n; i++)
        if (ports[i])
            jack_remove_properties(c, jack_port_uuid(ports[i]));
}

/* The part after the first ':' of a full port name. */
static const char *short_of(const char *full)
{
    const char *colon = strchr(full, ':');
    return colon ? colon + 1 : full;
}

int jack_client_connect_ports(jack_client_t *c, jack_port_t *const *ours, int n,
                              const char *const *spec, int n_spec, char *why, size_t why_cap)
{
    if (n <= 0 || n_spec <= 0)
        return 0;
    bool ours_input = (jack_port_flags(ours[0]) & JackPortIsInput) != 0;
    unsigned long want = ours_input ? JackPortIsOutput : JackPortIsInput;

    /* Expand the spec items into one list of peer names (owned copies). */
    size_t cap = 64, np = 0;
    char **peers = malloc(cap * sizeof *peers);
    if (!peers) {
        say(why, why_cap, "out of memory");
        return -1;
    }
    int rc = 0;
    for (int s = 0; s < n_spec && rc == 0; s++) {
        const char **found = NULL;
        jack_port_t *exact = jack_port_by_name(c, spec[s]);
        const char *one[2] = { spec[s], NULL };
        if (exact && (jack_port_flags(exact) & want))
            found = one;
        const char **list = found ? NULL : jack_get_ports(c, spec[s], NULL, want);
        const char **use = found ? found : list;
        if (!use || !use[0]) {
            say(why, why_cap, "no %s port matches \"%s\" (see jack_lsp)",
                ours_input ? "output" : "input", spec[s]);
            rc = -1;
        }
        for (size_t k = 0; use && use[k] && rc == 0; k++) {
            if (np == cap) {
                char **more = realloc(peers, 2 * cap * sizeof *peers);
                if (!more) {
                    say(why, why_cap, "out of memory");
                    rc = -1;
                    break;
                }
                peers = more;
                cap *= 2;
            }
            if (!(peers[np] = strdup(use[k]))) {
                say(why, why_cap, "out of memory");
                rc = -1;
                break;
            }
            np++;
        }
        if (list)
            jack_free(list);
    }

    if (rc == 0) {
        /* By name when every one of ours has a namesake among the peers. */
        int *pick = calloc((size_t)n, sizeof *pick);
        if (!pick) {
            say(why, why_cap, "out of memory");
            rc = -1;
        } else {
            bool by_name = true;
            for (int i = 0; i < n && by_name; i++) {
                pick[i] = -1;
                for (size_t k = 0; k < np; k++)
                    if (strcasecmp(jack_port_short_name(ours[i]), short_of(peers[k])) == 0) {
                        pick[i] = (int)k;
                        break;
                    }
                by_name = pick[i] >= 0;
            }
            if (!by_name)
                for (int i = 0; i < n; i++)
                    pick[i] = (size_t)i < np ? i : -1;
            int missing = 0;
            for (int i = 0; i < n && rc == 0; i++) {
                if (pick[i] < 0) {
                    missing++;
                    continue;
                }
                const char *src = ours_input ? peers[pick[i]] : jack_port_name(ours[i]);
                const char *dst = ours_input ? jack_port_name(ours[i]) : peers[pick[i]];
                int e = jack_connect(c, src, dst);
                if (e != 0 && e != EEXIST) {
                    say(why, why_cap, "cannot connect %s to %s", src, dst);
                    rc = -1;
                }
            }
            if (rc == 0 && missing > 0) {
                say(why, why_cap, "%d of %d port(s) left unconnected: the patterns matched only %zu",
                    missing, n, np);
                rc = 1;
            }
            free(pick);
        }
    }
    for (size_t k = 0; k < np; k++)
        free(peers[k]);
    free(peers);
    return rc;
}

int jack_client_lock_memory(char *why, size_t why_cap)
{
    if (mlockall(MCL_CURRENT | MCL_FUTURE) == 0)
        return 0;
    int e = errno;
    say(why, why_cap,
        "mlockall: %s (raise the memlock limit for this user: see rt-config/README.md; "
        "or --set rt.mlockall=false)",
        strerror(e));
    return -1;
}

const char *jack_client_port_name(jack_client_t *c, const char *label, char *buf, size_t cap)
{
    if (cap == 0)
        return buf;
    size_t limit = (size_t)jack_port_name_size() - strlen(jack_get_client_name(c)) - 2;
    if (limit >= cap)
        limit = cap - 1;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(label ? label : ""); *p && n < limit;
         p++)
        buf[n++] = (*p == ':' || *p < 0x20 || *p == 0x7f) ? '_' : (char)*p;
    buf[n] = '\0';
    return buf;
}
