/*
 * ictal/annot.h — seizure annotation readers for scoring (ictal-score):
 *
 *   CSV_BI       TUH/NEDC bi-class CSV ("# duration = N secs", rows
 *                channel,start_time,stop_time,label[,confidence]; label seiz
 *                or bckg); ictal-run and ictal-synth write it
 *   TSV          BIDS / SzCORE events.tsv (onset, duration, eventType "sz*"
 *                or "bckg", recordingDuration)
 *   CHBMIT       CHB-MIT chbNN-summary.txt: several recordings, seizure times
 *                in seconds, durations from "File Start/End Time" (clock
 *                times past 24:00:00 and day wraps handled)
 *   SIENA        Siena Seizures-list-PNxx.txt: wall-clock times HH.MM.SS,
 *                converted with the recording's registration start time
 *   JSONL        ictal's JSON Lines (ictal-run -f json, ictal-log): "final"
 *                records are events, "alarm" records give alarm times for
 *                latency, "cancel" withdraws an alarm
 *
 * One file gives one or more recordings, each with its name (the file name it
 * annotates without directory and extension: "chb05_06"), subject when the
 * format says, duration when the format says, and its seizure events in
 * seconds from the recording start.
 *
 * Errors name the file and line: "chb05-summary.txt:57: ...". Values that are
 * well-formed but implausible — a seizure that ends after its recording, or
 * starts before it — are errors (ICTAL_ERANGE) unless clip_implausible is
 * set, when the event is cut to the recording and a warning says so. Nothing
 * implausible is ever taken silently (docs/scoring.md lists the checks).
 */
#ifndef ICTAL_ANNOT_H
#define ICTAL_ANNOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ictal/error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ictal_annot_format {
    ICTAL_ANNOT_AUTO = 0, /* tell from the contents (and the file name) */
    ICTAL_ANNOT_CSV_BI,
    ICTAL_ANNOT_TSV,
    ICTAL_ANNOT_CHBMIT,
    ICTAL_ANNOT_SIENA,
    ICTAL_ANNOT_JSONL
};

/* Largest annotation file read (bytes). */
#define ICTAL_ANNOT_MAX_BYTES (64u << 20)

/* A seizure in seconds from the recording start, [start_s, end_s). */
struct ictal_annot_event {
    double start_s, end_s;
    int line;                 /* where it was read (first line of it) */
};

/* An alarm of an ictal JSON Lines file (not cancelled). */
struct ictal_annot_alarm {
    uint64_t id;
    double emit_s;            /* when the alarm was raised */
    double start_s, end_s;    /* its event: the union of its final records,
                                 or the alarm's own span when none came */
    bool has_final;
    int line;
};

struct ictal_annot_recording {
    const char *name;         /* "chb05_06", "PN00-1", "rec", "sub-01_ses-01_..._run-00" */
    const char *file;         /* as the annotation names it ("chb05_06.edf"); NULL if it does not */
    const char *subject;      /* from the format ("chb05", "PN00", "sub-01"); NULL if unknown */
    double duration_s;        /* NaN when the file does not say */
    const char *duration_from;/* what gave it, e.g. "File Start/End Time"; NULL when unknown */
    const struct ictal_annot_event *events;
    size_t n_events;          /* sorted by start */
    bool has_alarms;          /* JSONL: alarm times are known (possibly none) */
    const struct ictal_annot_alarm *alarms;
    size_t n_alarms;
    int line;                 /* where the recording is named (0: not named) */
};

struct ictal_annot_options {
    enum ictal_annot_format format; /* ICTAL_ANNOT_AUTO: detect */
    bool clip_implausible;          /* cut implausible events (with a warning) instead of failing */
};

struct ictal_annot; /* opaque: one file's recordings */

/* Read and check a file. opt may be NULL (auto, strict). Returns NULL with
 * *err filled: ICTAL_EIO/ICTAL_ENOENT (cannot read), ICTAL_EFORMAT (malformed:
 * "PATH:LINE: what"), ICTAL_ERANGE (implausible), ICTAL_EUNSUPPORTED (format
 * unknown), ICTAL_ENOMEM. RT-safe: no. */
struct ictal_annot *ictal_annot_read(const char *path, const struct ictal_annot_options *opt,
                                     struct ictal_error *err);

/* The same from len bytes of text; `path` names it in messages and gives the
 * recording name and subject where the format relies on the file name.
 * RT-safe: no. */
struct ictal_annot *ictal_annot_parse(const char *path, const char *text, size_t len,
                                      const struct ictal_annot_options *opt,
                                      struct ictal_error *err);

/* Free everything (NULL is fine). RT-safe: no. */
void ictal_annot_destroy(struct ictal_annot *a);

/* The format that was read. RT-safe: yes. */
enum ictal_annot_format ictal_annot_get_format(const struct ictal_annot *a);

/* Recordings, in file order; pointers stay valid until destroy. RT-safe: yes. */
size_t ictal_annot_count(const struct ictal_annot *a);
const struct ictal_annot_recording *ictal_annot_recording(const struct ictal_annot *a, size_t i);
/* By name (as ictal_annot_recording_name gives it); NULL when absent. RT-safe: yes. */
const struct ictal_annot_recording *ictal_annot_find(const struct ictal_annot *a,
                                                     const char *name);

/* Warnings (clipped events, unknown JSON record kinds, alarms without a final
 * record): each "PATH:LINE: what". RT-safe: yes. */
size_t ictal_annot_warning_count(const struct ictal_annot *a);
const char *ictal_annot_warning(const struct ictal_annot *a, size_t i);

/* "csv_bi", "tsv", "chbmit", "siena", "jsonl" ("auto" for AUTO). RT-safe: yes. */
const char *ictal_annot_format_name(enum ictal_annot_format f);
/* The inverse (case-insensitive); -1 when unknown. RT-safe: yes. */
int ictal_annot_format_from_name(const char *name);

/* The recording a path names: its last component without the extensions and
 * suffixes ictal's and SzCORE's tools add: ".jsonl", ".json", ".csv_bi",
 * ".csv", ".tsv", ".txt", ".edf", then "_events" / "_eeg", then ".ictal":
 * "out/rec.ictal.jsonl" → "rec", "sub-01_run-00_events.tsv" → "sub-01_run-00",
 * "chb05_06.edf" → "chb05_06". Returns buf. RT-safe: yes. */
const char *ictal_annot_recording_name(const char *path, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* ICTAL_ANNOT_H */
