/*
 * event_format.h — how ictal's programs write seizure-event records
 * (struct ictal_event, ictal/event.h): one console line, one JSON Lines
 * object, or CSV_BI rows. ictal-run writes them from the pipeline's sink;
 * ictal-log will write the same formats from the records it receives, so a
 * record looks the same whichever program printed it (docs/ictal-run.md shows
 * examples of each).
 *
 *   console  ALARM  #1    onset 00:05:09.250 (309.250 s)  conf 0.912 (mean so far) ...
 *            FINAL  #1    00:05:09.250-00:06:11.000 (309.250-371.000 s, 61.750 s) ...
 *   jsonl    {"file":"rec.edf","kind":"final","id":1,"segment":1,"start_frame":...}
 *   csv_bi   TUH/NEDC CSV_BI: "# version = csv_v1.0.0", "# bname = rec",
 *            "# duration = 600.0000 secs", "#", the column line, then
 *            "TERM,309.2500,371.0000,seiz,0.8710" per FINAL record, by start
 *            (the same layout as ictal-synth's ground-truth sidecars,
 *            src/synth_io.c).
 *
 * Text is escaped for its format: JSON strings per RFC 8259 with invalid
 * UTF-8 bytes replaced by U+FFFD (labels and paths come from files and the
 * command line and are never trusted to be clean).
 *
 * Not real-time code: these functions format text and write to stdio streams;
 * call them from a non-RT thread (ictal-detect's sender, ictal-log's server).
 */
#ifndef ICTAL_EVENT_FORMAT_H
#define ICTAL_EVENT_FORMAT_H

#include <stddef.h>
#include <stdio.h>

#include "ictal/event.h"

/* What a writer needs beyond the record itself. */
struct event_format_ctx {
    const char *file;          /* recording shown in JSON as "file"; NULL: no such member */
    const char *source;        /* JSON "source" (the sending program, e.g. ictal-detect's
                                  client name); NULL: no such member */
    const char *stream;        /* JSON "stream" (docs/osc.md); NULL: no such member */
    const char *const *labels; /* label of channel c, for c < n_labels; others "ch<c+1>" */
    int n_labels;
    int max_console_channels;  /* console: name at most this many channels, then "+N";
                                  0: 8 */
};

/* Seconds as "HH:MM:SS.mmm" (hours grow past 99 when needed; negative or
 * non-finite → "--:--:--.---"). Returns buf. */
const char *event_format_hms(double seconds, char *buf, size_t cap);

/* The record's channels as labels joined by `sep` into buf, at most `max`
 * names (0: all), then "+N" for the rest; "" when it names none. Returns buf. */
const char *event_format_channels(const struct ictal_event *ev, const struct event_format_ctx *ctx,
                                  const char *sep, int max, char *buf, size_t cap);

/* One console line (newline included). Returns 0 or -1 on a write error. */
int event_format_console(FILE *f, const struct ictal_event *ev, const struct event_format_ctx *ctx);

/* One JSON Lines object (newline included) with every field of the record:
 * file, source, stream (those three when the ctx has them), kind, id, segment, start/end/emit in frames, model samples and
 * seconds, duration_s, confidence, method, percentile, peak, channels (labels),
 * flags (names). Returns 0 or -1 on a write error. */
int event_format_jsonl(FILE *f, const struct ictal_event *ev, const struct event_format_ctx *ctx);

/* CSV_BI: the header (bname: the recording's name without directory and
 * extension, see event_format_bname; duration of the recording in seconds),
 * and one row per FINAL record (other kinds write nothing). */
int event_format_csv_bi_header(FILE *f, const char *bname, double duration_s);
int event_format_csv_bi_row(FILE *f, const struct ictal_event *ev);

/* A whole CSV_BI file from n records in any order: the header, then the
 * FINAL ones sorted by start (then end) time. Returns 0, -1 on a write error
 * or when out of memory. */
int event_format_csv_bi(FILE *f, const char *bname, double duration_s,
                        const struct ictal_event *evs, size_t n);

/* "dir/rec.edf" → "rec": the base name without its last extension. */
const char *event_format_bname(const char *path, char *buf, size_t cap);

/* JSON primitives for the programs' report files. A string with its quotes
 * (NULL → null); a number in the shortest text that reads back to the same
 * double (non-finite → null); the same for a float. */
void event_format_json_string(FILE *f, const char *s);
void event_format_json_double(FILE *f, double v);
void event_format_json_float(FILE *f, float v);

#endif /* ICTAL_EVENT_FORMAT_H */
