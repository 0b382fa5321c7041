/*
 * jack_client.h — what ictal's JACK clients (ictal-detect, ictal-play) do
 * alike around libjack: open a client on a named server, describe ports with
 * JACK metadata, connect ports by name or pattern, and lock memory
 * (denormals: ictal_blas_denormals_flush in ictal/blas.h). Nothing here
 * runs on the process thread.
 *
 * Threads: call these from the thread that owns the client (main), before
 * jack_activate (open, metadata, mlock) or after it (connect), never from
 * a JACK callback.
 */
#ifndef ICTAL_JACK_CLIENT_H
#define ICTAL_JACK_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jack/jack.h>

/* Open a client named `name` on `server` (NULL or "": $JACK_DEFAULT_SERVER,
 * else the default). Unless start_server, JackNoStartServer: a missing
 * server is an error, not a surprise daemon. JackUseExactName: a second
 * instance under the same name fails with a clear message instead of
 * becoming "name-01" behind the user's back. On failure returns NULL and
 * writes one line into why ("cannot connect to JACK server "eeg": is jackd
 * running? (status 0x11: ServerFailed|ServerError)"). */
jack_client_t *jack_client_open_named(const char *name, const char *server, bool start_server,
                                      char *why, size_t why_cap);

/* jack_client_close after the server died (the shutdown callback ran),
 * waiting at most timeout_s: libjack 1.9.21 can block for ever in it then
 * (a known jack2 fault). Returns 0 when the client was closed; -1 when it
 * had not returned in time: a thread is still inside libjack with the
 * client and its callbacks' arguments, so the caller must free nothing
 * those callbacks use, only flush what it has and _exit(). RT-safe: no. */
int jack_client_close_after_shutdown(jack_client_t *c, double timeout_s);

/* The status bits of jack_client_open as names joined by '|'. */
const char *jack_client_status_string(jack_status_t st, char *buf, size_t cap);

/* Describe a port for patchbays (JACK metadata): pretty name, signal type
 * "CV" when cv is true, display order, port group. Metadata is advisory:
 * returns 0, or -1 when the server refused a property (why says which);
 * callers log a warning and go on. */
int jack_client_describe_port(jack_client_t *c, jack_port_t *port, const char *pretty_name,
                              bool cv, int order, const char *group, char *why, size_t why_cap);

/* Remove every property this client set on its ports (before closing, so
 * metadata does not outlive the ports in the server's database). */
void jack_client_forget_ports(jack_client_t *c, jack_port_t *const *ports, int n);

/* Connect `ours` (n ports of this client, all inputs or all outputs) to
 * other ports named by `spec`, a list of n_spec items, each a full port name
 * ("ictal-play:FP1-F7") or a regular expression as jack_get_ports takes it
 * ("ictal-play:.*", "system:capture_.*"). The items expand, in order and
 * each in JACK's port order, to a list of peer ports of the opposite
 * direction; then
 *   - when every one of our ports' short names equals a peer's short name
 *     (ignoring case), they are connected by name;
 *   - otherwise the i-th of ours goes to the i-th peer.
 * Peers beyond n are ignored; fewer peers than ports leaves the rest
 * unconnected (a warning through why, return 1). Returns 0 when all n are
 * connected, 1 when some were not, -1 when a spec matched nothing or a
 * connection failed (why names it). Connections that already exist count
 * as made. */
int jack_client_connect_ports(jack_client_t *c, jack_port_t *const *ours, int n,
                              const char *const *spec, int n_spec, char *why, size_t why_cap);

/* mlockall(MCL_CURRENT | MCL_FUTURE). Returns 0, or -1 with the reason and
 * the usual remedy (memlock limit, rt-config/) in why. */
int jack_client_lock_memory(char *why, size_t why_cap);

/* A port's short name made safe for JACK: ':' (the client separator) and
 * control characters become '_'; at most jack_port_name_size() - client
 * name - 2 bytes. Returns buf. */
const char *jack_client_port_name(jack_client_t *c, const char *label, char *buf, size_t cap);

#endif /* ICTAL_JACK_CLIENT_H */
