/*
 * log_packet.h — the structure of one received OSC packet: a message, or a
 * bundle of elements that are messages or (nested) bundles, each preceded by
 * its size (OSC 1.0). ictal-log checks the whole structure before it looks at
 * any message in it, so a broken bundle is rejected as a whole (bundles are
 * atomic), and then visits the messages in order with the timetag of the
 * innermost bundle around each.
 *
 * Only the framing is checked here: whether each element is a well-formed
 * message (address, type tag, arguments) is liblo's lo_message_deserialise's
 * job, and what the arguments mean is osc_proto_decode's.
 *
 * Not real-time code (ictal-log has no real-time thread); no allocation.
 */
#ifndef ICTAL_LOG_PACKET_H
#define ICTAL_LOG_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include <lo/lo.h>

/* Bundles nested deeper than this are refused (a hostile packet could
 * otherwise recurse as deep as it is long). */
#define LOGPKT_MAX_DEPTH 8

/* One message found in a packet. */
struct logpkt_msg {
    const uint8_t *data;  /* the message's bytes inside the packet */
    size_t size;          /* a multiple of 4 */
    lo_timetag tt;        /* the innermost enclosing bundle's timetag */
    int has_timetag;      /* 0: no bundle, or the bundle said "immediately" (0.1) */
    int depth;            /* 0 for a bare message, 1 inside one bundle, ... */
};

typedef void (*logpkt_fn)(void *user, const struct logpkt_msg *m);

/* Check the structure of the packet p[0..n) and, when it is sound, call fn
 * for every message in it, in order. Returns the number of messages (0 for
 * an empty bundle), or -1 with `why` (one line) when the packet is empty,
 * not 4-byte aligned, a bundle that is cut short, has an element whose size
 * is zero, unaligned or beyond the end, or nests too deep; fn is not called
 * then. *bundles (may be NULL) receives the number of bundles in the packet. */
int logpkt_walk(const uint8_t *p, size_t n, logpkt_fn fn, void *user, int *bundles, char *why,
                size_t why_cap);

#endif /* ICTAL_LOG_PACKET_H */
