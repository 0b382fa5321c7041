#include "log_packet.h"

#include <stdio.h>
#include <string.h>

static const char bundle_tag[8] = "#bundle"; /* with its NUL: 8 bytes */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int is_bundle(const uint8_t *p, size_t n)
{
    return n >= 8 && memcmp(p, bundle_tag, 8) == 0;
}

/* One pass over p[0..n): with fn NULL only the structure is checked; with fn
 * the messages are visited (the structure is known to be sound by then).
 * Returns the message count or -1. */
static int walk(const uint8_t *p, size_t n, int depth, const lo_timetag *tt, int has_tt,
                logpkt_fn fn, void *user, int *bundles, char *why, size_t cap)
{
    if (!is_bundle(p, n)) {
        if (p[0] == '#') {
            snprintf(why, cap, "not a message (no address) and not a bundle");
            return -1;
        }
        if (fn) {
            const struct logpkt_msg m = { p, n, tt ? *tt : (lo_timetag){ 0, 1 }, has_tt, depth };
            fn(user, &m);
        }
        return 1;
    }
    if (depth >= LOGPKT_MAX_DEPTH) {
        snprintf(why, cap, "bundles nested deeper than %d", LOGPKT_MAX_DEPTH);
        return -1;
    }
    if (n < 16) {
        snprintf(why, cap, "bundle of %zu bytes: cut short before its timetag ends", n);
        return -1;
    }
    (*bundles)++;
    const lo_timetag t = { be32(p + 8), be32(p + 12) };
    const int t_set = !(t.sec == 0 && t.frac == 1);
    int count = 0;
    for (size_t off = 16; off < n;) {
        if (n - off < 4) {
            snprintf(why, cap, "bundle element at byte %zu: cut short in its size", off);
            return -1;
        }
        uint32_t size = be32(p + off);
        off += 4;
        if (size == 0 || size % 4 != 0 || size > n - off) {
            snprintf(why, cap, "bundle element at byte %zu: size %u is %s", off - 4,
                     (unsigned)size, size == 0 ? "zero" : size % 4 ? "not a multiple of 4"
                                                                    : "beyond the packet's end");
            return -1;
        }
        int k = walk(p + off, size, depth + 1, &t, t_set, fn, user, bundles, why, cap);
        if (k < 0)
            return -1;
        count += k;
        off += size;
    }
    return count;
}

int logpkt_walk(const uint8_t *p, size_t n, logpkt_fn fn, void *user, int *bundles, char *why,
                size_t why_cap)
{
    char dummy[8];
    if (!why || why_cap == 0) {
        why = dummy;
        why_cap = sizeof dummy;
    }
    why[0] = '\0';
    int nb = 0;
    if (bundles)
        *bundles = 0;
    if (!p || n == 0) {
        snprintf(why, why_cap, "empty packet");
        return -1;
    }
    if (n % 4 != 0) {
        snprintf(why, why_cap, "packet of %zu bytes: not a multiple of 4", n);
        return -1;
    }
    if (walk(p, n, 0, NULL, 0, NULL, NULL, &nb, why, why_cap) < 0)
        return -1;
    if (bundles)
        *bundles = nb;
    nb = 0;
    return walk(p, n, 0, NULL, 0, fn, user, &nb, why, why_cap);
}
