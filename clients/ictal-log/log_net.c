#include "log_net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#ifdef __linux__
#include <asm/socket.h>       /* SO_MEMINFO (glibc shows it to _DEFAULT_SOURCE only) */
#include <linux/sock_diag.h> /* SK_MEMINFO_DROPS */
#endif

/* Biggest UDP payload there is (IPv4: 65507); the buffer is one byte more so
 * MSG_TRUNC tells a datagram that did not fit. */
#define UDP_BUF 65536
/* Fairness: at most this much work per socket per lognet_service call. */
#define UDP_BURST 256
#define TCP_BURST_BYTES ((size_t)1 << 20)
#define ACCEPT_BURST 64
#define CONN_INITIAL 4096

struct conn {
    int fd;
    struct lognet_peer peer;
    uint8_t *buf;
    size_t have, cap;
    uint64_t skip;        /* bytes of an oversize packet still to throw away */
    double last;          /* CLOCK_MONOTONIC of the last bytes received */
};

struct lognet {
    struct lognet_cfg cfg;
    int udp_fd, tcp_fd;
    int udp_port, tcp_port;
    uint32_t kernel_drops; /* UDP drops so far, as the kernel counts them */
    uint8_t *udp_buf;
    struct conn *conns;
    int n_conns;
};

const char *lognet_peer_string(const struct lognet_peer *p, char *buf, size_t cap)
{
    char host[256], serv[32];
    if (!p || p->len == 0 ||
        getnameinfo((const struct sockaddr *)&p->addr, p->len, host, sizeof host, serv,
                    sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(buf, cap, "unknown peer");
        return buf;
    }
    const char *proto = p->tcp ? "tcp" : "udp";
    if (p->addr.ss_family == AF_INET6)
        snprintf(buf, cap, "[%s]:%s (%s)", host, serv, proto);
    else
        snprintf(buf, cap, "%s:%s (%s)", host, serv, proto);
    return buf;
}

static void note(const struct lognet_handler *h, enum lognet_note what,
                 const struct lognet_peer *peer, uint64_t n, const char *why)
{
    if (h && h->note)
        h->note(h->user, what, peer, n, why);
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static int bound_port(int fd)
{
    struct sockaddr_storage a;
    socklen_t len = sizeof a;
    char serv[32];
    if (getsockname(fd, (struct sockaddr *)&a, &len) != 0 ||
        getnameinfo((struct sockaddr *)&a, len, NULL, 0, serv, sizeof serv, NI_NUMERICSERV) != 0)
        return -1;
    return atoi(serv);
}

/* A socket of `type` bound to host:port. Returns the fd or -1 with err. */
static int open_socket(const struct lognet_cfg *cfg, int type, char *err, size_t cap)
{
    const char *proto = type == SOCK_DGRAM ? "UDP" : "TCP";
    char port[16];
    snprintf(port, sizeof port, "%d", cfg->port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = type;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int g = getaddrinfo(cfg->host, port, &hints, &res);
    if (g != 0) {
        snprintf(err, cap, "cannot listen on %s port %d: address %s: %s", proto, cfg->port,
                 cfg->host, gai_strerror(g));
        return -1;
    }
    /* a name with IPv4 and IPv6 addresses: its IPv4 one, like the default
     * 127.0.0.1 (give --host ::1 for IPv6); a numeric address is itself */
    const struct addrinfo *ai = res;
    for (const struct addrinfo *r = res; r; r = r->ai_next)
        if (r->ai_family == AF_INET) {
            ai = r;
            break;
        }
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0 || set_nonblock(fd) < 0) {
        snprintf(err, cap, "cannot create a %s socket: %s", proto, strerror(errno));
        goto fail;
    }
    int one = 1;
    if (type == SOCK_STREAM) {
        /* restart at once after an exit with connections in TIME_WAIT */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    } else {
        int rcvbuf = 4 << 20; /* bursts of thousands of datagrams; the kernel caps it */
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        snprintf(err, cap, "cannot listen on %s %s port %d: %s%s", proto, cfg->host, cfg->port,
                 strerror(errno), errno == EADDRINUSE ? " (another program uses it; see --port)"
                                                      : "");
        goto fail;
    }
    if (type == SOCK_STREAM && listen(fd, 16) != 0) {
        snprintf(err, cap, "cannot listen on TCP %s port %d: %s", cfg->host, cfg->port,
                 strerror(errno));
        goto fail;
    }
    freeaddrinfo(res);
    return fd;
fail:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return -1;
}

struct lognet *lognet_open(const struct lognet_cfg *cfg, char *err, size_t cap)
{
    struct lognet *net = calloc(1, sizeof *net);
    if (!net) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    net->cfg = *cfg;
    net->udp_fd = net->tcp_fd = -1;
    net->udp_port = net->tcp_port = -1;
    /* leave descriptors for the output files: accept() must not hit EMFILE */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)net->cfg.max_connections + 32 > rl.rlim_cur)
        net->cfg.max_connections = rl.rlim_cur > 64 ? (int)(rl.rlim_cur - 32) : 1;
    net->conns = calloc((size_t)net->cfg.max_connections, sizeof *net->conns);
    net->udp_buf = malloc(UDP_BUF + 1);
    if (!net->conns || !net->udp_buf) {
        snprintf(err, cap, "out of memory");
        goto fail;
    }
    if (cfg->tcp) {
        if ((net->tcp_fd = open_socket(cfg, SOCK_STREAM, err, cap)) < 0)
            goto fail;
        net->tcp_port = bound_port(net->tcp_fd);
    }
    if (cfg->udp) {
        if ((net->udp_fd = open_socket(cfg, SOCK_DGRAM, err, cap)) < 0)
            goto fail;
        net->udp_port = bound_port(net->udp_fd);
    }
    return net;
fail:
    lognet_close(net, NULL);
    return NULL;
}

int lognet_port(const struct lognet *net, bool tcp)
{
    return tcp ? net->tcp_port : net->udp_port;
}

int lognet_connections(const struct lognet *net)
{
    return net->n_conns;
}

size_t lognet_max_pollfds(const struct lognet *net)
{
    return 2 + (size_t)net->cfg.max_connections;
}

size_t lognet_pollfds(struct lognet *net, struct pollfd *fds, size_t cap)
{
    size_t n = 0;
    if (net->udp_fd >= 0 && n < cap)
        fds[n++] = (struct pollfd){ net->udp_fd, POLLIN, 0 };
    if (net->tcp_fd >= 0 && n < cap)
        fds[n++] = (struct pollfd){ net->tcp_fd, POLLIN, 0 };
    for (int i = 0; i < net->n_conns && n < cap; i++)
        fds[n++] = (struct pollfd){ net->conns[i].fd, POLLIN, 0 };
    return n;
}

/* ---- UDP --------------------------------------------------------------------------- */

static void read_udp(struct lognet *net, const struct lognet_handler *h)
{
    for (int k = 0; k < UDP_BURST; k++) {
        struct lognet_peer peer;
        memset(&peer, 0, sizeof peer);
        struct iovec iov = { net->udp_buf, UDP_BUF + 1 };
        struct msghdr msg;
        memset(&msg, 0, sizeof msg);
        msg.msg_name = &peer.addr;
        msg.msg_namelen = sizeof peer.addr;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        ssize_t r = recvmsg(net->udp_fd, &msg, MSG_TRUNC);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                note(h, LOGNET_IO_ERROR, NULL, 0, strerror(errno));
            return;
        }
        peer.len = msg.msg_namelen;
        if ((size_t)r > net->cfg.max_packet || (size_t)r > UDP_BUF || (msg.msg_flags & MSG_TRUNC))
            note(h, LOGNET_OVERSIZE, &peer, (uint64_t)r, NULL);
        else if (h && h->packet)
            h->packet(h->user, net->udp_buf, (size_t)r, &peer);
    }
}

/* Datagrams the kernel dropped because the receive buffer was full. Asked
 * for (SO_MEMINFO), not taken from SO_RXQ_OVFL, which only tells with the
 * next datagram received: drops at the end of a burst would go unseen. */
static void poll_drops(struct lognet *net, const struct lognet_handler *h)
{
#if defined(__linux__) && defined(SO_MEMINFO)
    uint32_t mi[SK_MEMINFO_VARS];
    socklen_t len = sizeof mi;
    if (net->udp_fd < 0 || getsockopt(net->udp_fd, SOL_SOCKET, SO_MEMINFO, mi, &len) != 0 ||
        len < (socklen_t)((SK_MEMINFO_DROPS + 1) * sizeof mi[0]))
        return;
    uint32_t drops = mi[SK_MEMINFO_DROPS];
    if (drops != net->kernel_drops)
        note(h, LOGNET_KERNEL_DROPS, NULL, (uint32_t)(drops - net->kernel_drops), NULL);
    net->kernel_drops = drops;
#else
    (void)net;
    (void)h;
#endif
}

/* ---- TCP --------------------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void drop_conn(struct lognet *net, int i, const struct lognet_handler *h)
{
    struct conn *c = &net->conns[i];
    close(c->fd);
    free(c->buf);
    struct lognet_peer peer = c->peer;
    net->conns[i] = net->conns[--net->n_conns];
    note(h, LOGNET_TCP_CLOSED, &peer, 0, NULL);
}

/* The connection ends with bytes of a packet still missing. */
static void report_partial(const struct conn *c, const struct lognet_handler *h)
{
    if (c->have == 0 && c->skip == 0)
        return;
    uint64_t lacking = c->skip;
    if (c->skip == 0 && c->have >= 4)
        lacking = 4 + (uint64_t)be32(c->buf) - c->have;
    note(h, LOGNET_TRUNCATED, &c->peer, lacking, NULL);
}

/* Deliver the complete frames in c->buf. Returns 0, or -1 when the buffer
 * could not grow (the connection is dropped). */
static int frames(struct lognet *net, struct conn *c, const struct lognet_handler *h)
{
    size_t off = 0;
    if (c->skip > 0) {
        size_t k = c->have < c->skip ? c->have : (size_t)c->skip;
        off += k;
        c->skip -= k;
    }
    while (c->skip == 0 && c->have - off >= 4) {
        uint32_t len = be32(c->buf + off);
        if (len > net->cfg.max_packet) {
            note(h, LOGNET_OVERSIZE, &c->peer, len, NULL);
            off += 4;
            size_t k = c->have - off < len ? c->have - off : len;
            off += k;
            c->skip = len - k;
            continue;
        }
        if (c->have - off - 4 < len) {
            if (4 + (size_t)len > c->cap) { /* make room for the whole frame */
                memmove(c->buf, c->buf + off, c->have - off);
                c->have -= off;
                off = 0;
                uint8_t *b = realloc(c->buf, 4 + (size_t)len);
                if (!b) {
                    note(h, LOGNET_IO_ERROR, &c->peer, 0, "out of memory for a TCP packet");
                    return -1;
                }
                c->buf = b;
                c->cap = 4 + (size_t)len;
            }
            break;
        }
        if (h && h->packet)
            h->packet(h->user, c->buf + off + 4, len, &c->peer);
        off += 4 + (size_t)len;
    }
    memmove(c->buf, c->buf + off, c->have - off);
    c->have -= off;
    return 0;
}

/* Read what connection i has. Returns 0, or -1 when it was closed. */
static int read_conn(struct lognet *net, int i, double now, const struct lognet_handler *h)
{
    struct conn *c = &net->conns[i];
    size_t budget = TCP_BURST_BYTES;
    while (budget > 0) {
        if (c->have == c->cap) { /* only before the first frame header is seen */
            size_t cap = c->cap ? 2 * c->cap : CONN_INITIAL;
            uint8_t *b = realloc(c->buf, cap);
            if (!b) {
                note(h, LOGNET_IO_ERROR, &c->peer, 0, "out of memory for a TCP packet");
                drop_conn(net, i, h);
                return -1;
            }
            c->buf = b;
            c->cap = cap;
        }
        ssize_t r = read(c->fd, c->buf + c->have, c->cap - c->have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (r <= 0) { /* end of stream, or reset */
            report_partial(c, h);
            drop_conn(net, i, h);
            return -1;
        }
        c->have += (size_t)r;
        c->last = now;
        budget -= (size_t)r < budget ? (size_t)r : budget;
        if (frames(net, c, h) < 0) {
            drop_conn(net, i, h);
            return -1;
        }
    }
    return 0;
}

static void accept_conns(struct lognet *net, double now, const struct lognet_handler *h)
{
    for (int k = 0; k < ACCEPT_BURST; k++) {
        struct lognet_peer peer;
        memset(&peer, 0, sizeof peer);
        peer.tcp = true;
        peer.len = sizeof peer.addr;
        int fd = accept(net->tcp_fd, (struct sockaddr *)&peer.addr, &peer.len);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                note(h, LOGNET_IO_ERROR, NULL, 0, strerror(errno));
            return;
        }
        if (net->n_conns >= net->cfg.max_connections || set_nonblock(fd) < 0) {
            close(fd);
            note(h, LOGNET_TCP_REFUSED, &peer, (uint64_t)net->n_conns, NULL);
            continue;
        }
        struct conn *c = &net->conns[net->n_conns++];
        memset(c, 0, sizeof *c);
        c->fd = fd;
        c->peer = peer;
        c->last = now;
        note(h, LOGNET_TCP_ACCEPTED, &peer, 0, NULL);
    }
}

void lognet_service(struct lognet *net, const struct pollfd *fds, size_t n, double now,
                    const struct lognet_handler *h)
{
    bool accept_ready = false;
    for (size_t k = 0; k < n; k++) {
        if (!fds[k].revents)
            continue;
        if (fds[k].fd == net->udp_fd) {
            read_udp(net, h);
        } else if (fds[k].fd == net->tcp_fd) {
            accept_ready = true;
        } else {
            /* accepting happens below, so a closed descriptor's number is
             * not reused by another connection during this loop */
            for (int i = 0; i < net->n_conns; i++) {
                if (net->conns[i].fd == fds[k].fd) {
                    read_conn(net, i, now, h);
                    break;
                }
            }
        }
    }
    for (int i = 0; i < net->n_conns;) {
        struct conn *c = &net->conns[i];
        if ((c->have > 0 || c->skip > 0) && now - c->last >= net->cfg.tcp_timeout) {
            char why[64];
            snprintf(why, sizeof why, "no data for %.1f s inside a packet", now - c->last);
            note(h, LOGNET_TIMEOUT, &c->peer, 0, why);
            report_partial(c, h);
            drop_conn(net, i, h);
            continue;
        }
        i++;
    }
    if (accept_ready)
        accept_conns(net, now, h);
    poll_drops(net, h);
}

void lognet_close(struct lognet *net, const struct lognet_handler *h)
{
    if (!net)
        return;
    while (net->n_conns > 0) {
        report_partial(&net->conns[net->n_conns - 1], h);
        drop_conn(net, net->n_conns - 1, h);
    }
    if (net->udp_fd >= 0)
        close(net->udp_fd);
    if (net->tcp_fd >= 0)
        close(net->tcp_fd);
    free(net->conns);
    free(net->udp_buf);
    free(net);
}
