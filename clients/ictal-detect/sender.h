/*
 * sender.h — ictal-detect's sender thread: it drains the process thread's
 * rings and tells the world, so that nothing slow (sockets, disks, stderr)
 * ever reaches the real-time thread.
 *
 *  - every record → an OSC bundle (docs/osc.md) to every target, timetagged
 *    with the wall-clock time of the sample it is about;
 *  - event records (alarm, cancel, final) and stream start/stop also go to
 *    the journal (JSON Lines, fsync'd) and, at info level, to stderr;
 *  - a /ictal/status heartbeat every status interval;
 *  - TCP targets: connected lazily, reconnected every second while down,
 *    and on every new connection sent the records they may have missed (the
 *    history of start/event/stop records, at most SENDER_HISTORY), so a
 *    logger that was absent or restarted loses nothing. UDP targets get
 *    each message once.
 */
#ifndef ICTAL_DETECT_SENDER_H
#define ICTAL_DETECT_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect.h"

#define SENDER_MAX_TARGETS 16
#define SENDER_HISTORY 4096

struct sender_config {
    const char *const *targets;   /* "host:port", "osc.udp://host:port/", "osc.tcp://host:port/" */
    int n_targets;
    const char *journal;          /* path or NULL */
    double status_interval;       /* seconds */
    bool console;                 /* print records on stderr (info level) */
};

struct sender_stats {
    uint64_t records;             /* reliable records handled */
    uint64_t messages;            /* OSC bundles made (one per record or status) */
    uint64_t send_errors;         /* failed sends (all targets) */
    uint64_t resent;              /* records resent to reconnected TCP targets */
    uint64_t tcp_connects;
    uint64_t journal_errors;
    uint64_t prob_sent;
};

struct sender;

/* Parse the targets, open the journal (append), prepare. Nothing is sent
 * yet. On error returns NULL with one line in why. */
struct sender *sender_create(struct detect *d, const struct sender_config *cfg, char *why,
                             size_t why_cap);

/* Start / stop the thread. sender_stop drains both rings completely (all
 * records the process thread or main pushed before the call), sends a last
 * status, then joins. */
int sender_start(struct sender *s);
void sender_stop(struct sender *s);
void sender_destroy(struct sender *s);

void sender_get_stats(const struct sender *s, struct sender_stats *st);

#endif /* ICTAL_DETECT_SENDER_H */
