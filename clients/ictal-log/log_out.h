/*
 * log_out.h — what ictal-log writes for the messages it accepted: console
 * lines, JSON Lines, and CSV_BI files per stream; and which event records it
 * has seen already.
 *
 * Event records (alarm, cancel, final) are written with tools/common's
 * event_format, the code ictal-run uses, so a record reads the same whichever
 * program printed it. JSON Lines objects carry "source" and "stream" instead
 * of ictal-run's "file", plus "timetag_unix" (the bundle's timetag, null when
 * none) and "received_unix" (when the packet was read).
 *
 * Duplicates: a TCP sender resends every record of the running stream after a
 * reconnect (docs/osc.md, "Transport"); a record whose (source, stream, kind,
 * id, segment) was seen before is dropped and reported as a duplicate. The
 * keys of up to cfg.dedup_max records are kept; beyond that the streams that
 * stopped longest ago are forgotten first, then the least recently active.
 *
 * CSV_BI: a stream has no known length until it stops, so its file is
 * rewritten whole (temporary file, fsync, rename, fsync of the directory)
 * after a final event (at most once a second per stream: later ones are
 * written by logout_tick), when the stream stops, and at logout_close, with
 * the length the stream reached (its /ictal/stop, else its latest
 * /ictal/status or record).
 *
 * Not real-time code; one thread.
 */
#ifndef ICTAL_LOG_OUT_H
#define ICTAL_LOG_OUT_H

#include <stdbool.h>
#include <stddef.h>

#include "osc_proto.h"

struct logout_cfg {
    bool console, jsonl, csv_bi;  /* outputs */
    const char *jsonl_path;       /* "-": standard output */
    const char *csv_pattern;      /* with {stream}, optionally {source} */
    bool fsync;                   /* after records and CSV_BI rewrites */
    bool color;                   /* colour console lines by kind */
    bool console_status;          /* /ictal/status on the console (verbose) */
    bool status, prob;            /* telemetry also logged (console and JSON Lines) */
    size_t dedup_max;
};

/* Where and when a message arrived. */
struct logout_meta {
    double received_unix;         /* CLOCK_REALTIME when its packet was read */
    bool has_timetag;
    double timetag_unix;          /* its bundle's timetag */
};

enum {
    LOGOUT_WRITTEN = 0,           /* logged */
    LOGOUT_DUPLICATE = 1,         /* an event record seen before: dropped */
    LOGOUT_SKIPPED = 2            /* telemetry the configuration does not log */
};

struct logout;

/* Open the JSON Lines file for appending and check the CSV_BI directory.
 * Returns NULL with one line in err (path and reason). RT-safe: no. */
struct logout *logout_open(const struct logout_cfg *cfg, char *err, size_t cap);

/* Log one decoded message. now: CLOCK_MONOTONIC seconds. Returns
 * LOGOUT_WRITTEN, LOGOUT_DUPLICATE, LOGOUT_SKIPPED, or -1 when an output could not be written
 * (reported on stderr, at most once per output every 10 s). */
int logout_message(struct logout *o, const struct osc_decoded *d, const struct logout_meta *m,
                   double now);

/* Write CSV_BI files whose rewrite was put off. Returns the number of files
 * that failed. */
int logout_tick(struct logout *o, double now);

/* Reopen the JSON Lines file (SIGHUP, after log rotation). Returns 0 or -1
 * with err. */
int logout_reopen(struct logout *o, char *err, size_t cap);

/* Streams known, and event record keys remembered. */
size_t logout_streams(const struct logout *o);
size_t logout_keys(const struct logout *o);

/* Rewrite every stream's CSV_BI file, flush and close everything, free o.
 * Returns the number of outputs that failed. NULL is fine. */
int logout_close(struct logout *o);

#endif /* ICTAL_LOG_OUT_H */
