/*
 * log_net.h — ictal-log's sockets: one UDP socket and one TCP listener on the
 * same address and port, the TCP connections, and OSC 1.0 stream framing
 * (each packet preceded by its length as a 32-bit big-endian integer).
 *
 * Why not liblo's server: liblo 0.31 (lo_server_recv) reports a malformed
 * packet through an error callback that does not name the sender, holds
 * bundles with a future timetag in a queue until their time, and keeps TCP
 * framing, sizes and half-open connections to itself. ictal-log must count
 * and name every bad packet and never delay one, so it receives the bytes
 * here and hands each packet to its caller; liblo then parses the messages
 * (lo_message_deserialise).
 *
 * Everything runs in the caller's poll() loop, in one thread: fill the
 * pollfds with lognet_pollfds, poll, then lognet_service. Sockets are
 * non-blocking; a slow or hostile peer can cost at most its connection slot,
 * its buffer (max_packet bytes) and tcp_timeout seconds.
 *
 * Not real-time code.
 */
#ifndef ICTAL_LOG_NET_H
#define ICTAL_LOG_NET_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct lognet_cfg {
    const char *host;      /* numeric address or name to bind to */
    int port;
    bool udp, tcp;         /* which servers to run */
    size_t max_packet;     /* bigger packets are dropped (LOGNET_OVERSIZE) */
    int max_connections;   /* TCP connections at once */
    double tcp_timeout;    /* seconds a partial packet may wait for its rest */
};

/* Who sent something. */
struct lognet_peer {
    struct sockaddr_storage addr;
    socklen_t len;
    bool tcp;
};

/* "127.0.0.1:40000 (udp)", "[::1]:40000 (tcp)". Returns buf. */
const char *lognet_peer_string(const struct lognet_peer *p, char *buf, size_t cap);

/* What happened besides packets, for counting and diagnostics. */
enum lognet_note {
    LOGNET_TCP_ACCEPTED,   /* a connection was accepted */
    LOGNET_TCP_CLOSED,     /* a connection ended (any way) */
    LOGNET_TCP_REFUSED,    /* max_connections reached: closed at once */
    LOGNET_OVERSIZE,       /* a packet over max_packet (its bytes are skipped); n: its size */
    LOGNET_TRUNCATED,      /* a connection ended inside a packet; n: bytes it lacked (0: unknown) */
    LOGNET_TIMEOUT,        /* ... because it stalled for tcp_timeout (also TRUNCATED) */
    LOGNET_KERNEL_DROPS,   /* n datagrams the kernel dropped (receive buffer full) */
    LOGNET_IO_ERROR        /* a socket call failed unexpectedly; why says which */
};

struct lognet_handler {
    /* One packet (datagram or TCP frame), at most max_packet bytes; n may be
     * 0 (an empty frame). The bytes are valid during the call. */
    void (*packet)(void *user, const uint8_t *data, size_t n, const struct lognet_peer *peer);
    void (*note)(void *user, enum lognet_note what, const struct lognet_peer *peer, uint64_t n,
                 const char *why);
    void *user;
};

struct lognet;

/* Bind the servers cfg asks for (SO_REUSEADDR on TCP only, so a port held by
 * another program is an error). Returns NULL with one line in err (which
 * address, which protocol, why) on failure. RT-safe: no. */
struct lognet *lognet_open(const struct lognet_cfg *cfg, char *err, size_t cap);

/* The bound port of the UDP or TCP server (-1 when not running). */
int lognet_port(const struct lognet *net, bool tcp);

/* Most pollfds lognet_pollfds fills. */
size_t lognet_max_pollfds(const struct lognet *net);

/* Fill fds with the sockets to watch; returns how many. */
size_t lognet_pollfds(struct lognet *net, struct pollfd *fds, size_t cap);

/* Read what poll reported ready (fds, n as filled and polled), frame and
 * deliver packets, accept connections, and close connections that stalled.
 * now: CLOCK_MONOTONIC seconds. */
void lognet_service(struct lognet *net, const struct pollfd *fds, size_t n, double now,
                    const struct lognet_handler *h);

/* Open TCP connections. */
int lognet_connections(const struct lognet *net);

/* Close everything (connections with a partial packet are reported as
 * truncated through h, which may be NULL). NULL is fine. */
void lognet_close(struct lognet *net, const struct lognet_handler *h);

#endif /* ICTAL_LOG_NET_H */
