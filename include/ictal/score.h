/*
 * ictal/score.h — seizure-detection scoring on arrays of events: SzCORE event
 * and sample scoring, NEDC OVLP (any overlap) and detection latency.
 *
 * Pure computation: no files, no global state. Events are half-open spans
 * [start_s, end_s) in seconds from the start of the recording. One call scores
 * one recording (ictal_score_file_compute); totals of several recordings are
 * added with ictal_score_totals_add and turned into sensitivity, precision, F1
 * and false alarms per 24 h by the *_metrics functions, exactly as SzCORE
 * pools a data set (sums of counts and durations, then the ratios).
 *
 * The rules, each with its source (esl-epfl/timescoring and
 * szcore-evaluation, NEDC nedc_eeg_eval v6), are written down in
 * docs/scoring.md. In short:
 *
 *  SzCORE (both kinds) first rasterises every event on 1 s labels (step
 *  `sample_step_s`): label k is [k·h, (k+1)·h); an event [s, e) sets labels
 *  floor(s/h) .. floor(e/h)-1 (epilepsy2bids Annotations.getMask); the
 *  recording has floor(D/h) labels. Overlapping or touching events thus
 *  become one; an event that covers no label vanishes (counted in *_lost).
 *
 *  sample scoring: TP/FP/FN count labels; FP/24h = FP labels per day.
 *
 *  event scoring: runs of labels are events; events (reference AND
 *  hypothesis) whose gap is < merge_gap_s are merged, then events longer than
 *  max_event_s are split into pieces of max_event_s (and a remainder); each
 *  reference event's window [s - pre, e + post] ∩ [0, D] is a TP when any
 *  hypothesis event overlaps it (positive length), else an FN; a hypothesis
 *  event is an FP only when it overlaps no window of a detected reference
 *  event (so one long hypothesis over two references gives 2 TP, 0 FP).
 *
 *  NEDC OVLP on the events as given (no rasterising, merging or tolerance):
 *  a reference event is a hit when a hypothesis event overlaps it
 *  (h.end > r.start && h.start < r.end), a hypothesis event with no such
 *  overlap is a false alarm; the same for the background (the complement of
 *  the events in [0, D]) gives NEDC's "total" false alarm rate.
 *
 *  latency: for each reference event as given, the first alarm (smallest
 *  emit time) whose event overlaps its window [s - pre, e + post] ∩ [0, D]:
 *  latency = alarm emit time - reference onset (negative: alarm before the
 *  onset); NaN when no alarm qualifies.
 *
 * Nothing here is real-time code (it allocates); RT-safe: no, throughout.
 */
#ifndef ICTAL_SCORE_H
#define ICTAL_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ictal/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A span of time in seconds, [start_s, end_s). */
struct ictal_score_interval {
    double start_s, end_s;
};

/* An alarm: when it was raised and the span of the event it belongs to
 * (the final event's span; the alarm's own span when no final record came). */
struct ictal_score_alarm {
    double emit_s;
    double start_s, end_s;
};

/* SzCORE parameters (defaults: timescoring EventScoring.Parameters and
 * SampleScoring at 1 Hz). */
struct ictal_score_params {
    double pre_tolerance_s;  /* 30: a window opens this long before a reference onset */
    double post_tolerance_s; /* 60: and closes this long after its offset */
    double merge_gap_s;      /* 90: events whose gap is shorter than this are merged */
    double max_event_s;      /* 300: longer events are split (> 0) */
    double sample_step_s;    /* 1: label length of the rasterisation (> 0) */
};

/* Fill *p with the SzCORE defaults above. RT-safe: yes. */
void ictal_score_params_default(struct ictal_score_params *p);

/* Check the parameters (finite, tolerances and gap >= 0, max_event and step
 * > 0). Returns 0 or ICTAL_EINVAL with a message naming the parameter.
 * RT-safe: no. */
int ictal_score_params_check(const struct ictal_score_params *p, struct ictal_error *err);

/* ---- counts (add up over recordings) ---------------------------------- */

struct ictal_score_event_counts {   /* SzCORE event scoring */
    int64_t ref_events;   /* reference events after rasterising, merging, splitting */
    int64_t hyp_events;   /* hypothesis events, likewise */
    int64_t tp, fn, fp;   /* tp + fn == ref_events */
    double duration_s;    /* labels × step: the time FP/24h is counted over */
};

struct ictal_score_sample_counts {  /* SzCORE sample scoring */
    int64_t samples;      /* labels in the recording(s) */
    int64_t ref_pos, hyp_pos;
    int64_t tp, fp, fn;
    double duration_s;    /* samples × step */
};

struct ictal_score_ovlp_counts {    /* NEDC OVLP, labels SEIZ and BCKG */
    int64_t ref_events, hyp_events;
    int64_t hits, misses, false_alarms;             /* SEIZ */
    int64_t bckg_ref, bckg_hits, bckg_misses, bckg_false_alarms; /* BCKG */
    double duration_s;    /* recording duration(s) */
};

struct ictal_score_totals {
    int64_t files;
    struct ictal_score_event_counts event;
    struct ictal_score_sample_counts sample;
    struct ictal_score_ovlp_counts ovlp;
    int64_t ref_lost, hyp_lost; /* events that covered no label (sample_step) */
};

/* acc += x, field by field. RT-safe: yes. */
void ictal_score_totals_add(struct ictal_score_totals *acc, const struct ictal_score_totals *x);

/* ---- derived metrics --------------------------------------------------- */

/* NaN where undefined, as timescoring: sensitivity without reference events,
 * precision without positives (tp + fp == 0), F1 when either is NaN (0 when
 * both are 0), the rate when the duration is 0. */
struct ictal_score_metrics {
    double sensitivity;   /* tp / (tp + fn) */
    double precision;     /* tp / (tp + fp) */
    double f1;            /* 2 tp / (2 tp + fp + fn) */
    double fp_per_24h;    /* fp / duration × 86400 */
};

/* RT-safe: yes (all three). */
void ictal_score_event_metrics(const struct ictal_score_event_counts *c,
                               struct ictal_score_metrics *m);
void ictal_score_sample_metrics(const struct ictal_score_sample_counts *c,
                                struct ictal_score_metrics *m);
/* OVLP: sensitivity = hits / ref, precision = hits / (hits + FA) (NEDC's PPV),
 * F1 from those two, fp_per_24h = SEIZ false alarms per day; *total_fa_per_24h
 * (may be NULL) = SEIZ + BCKG false alarms per day (NEDC's summary line). */
void ictal_score_ovlp_metrics(const struct ictal_score_ovlp_counts *c,
                              struct ictal_score_metrics *m, double *total_fa_per_24h);

/* ---- one recording ----------------------------------------------------- */

/* A SzCORE event after rasterising, merging and splitting, with its outcome:
 * reference → detected (TP) or not (FN); hypothesis → false positive or not. */
struct ictal_score_mark {
    double start_s, end_s;
    bool flag;
};

/* One reference event (as given) and its detection latency. */
struct ictal_score_latency {
    double onset_s, end_s;
    double latency_s;     /* NaN: no alarm overlapped its window */
    double alarm_emit_s;  /* NaN likewise */
};

struct ictal_score_file {
    struct ictal_score_totals t;          /* files == 1 */
    struct ictal_score_mark *ref;  size_t n_ref;  /* SzCORE reference events */
    struct ictal_score_mark *hyp;  size_t n_hyp;  /* SzCORE hypothesis events */
    bool has_latency;                     /* alarms were given */
    struct ictal_score_latency *lat; size_t n_lat; /* one per reference event as given */
};

/* Score one recording of duration_s (> 0, finite) seconds.
 * ref/hyp: events in any order; they may overlap; each must be finite with
 * end >= start >= 0 (events past the end are cut by rasterising; OVLP takes
 * them as they are). alarms: NULL for no latency (has_latency false), else
 * n_alarms alarms (0 is fine: nothing detected with latency).
 * *out is overwritten (call ictal_score_file_free afterwards, also after a
 * failure). Returns 0, ICTAL_EINVAL (bad parameters, duration or event:
 * message names it), ICTAL_ERANGE (more labels than 2^31) or ICTAL_ENOMEM.
 * RT-safe: no. */
int ictal_score_file_compute(const struct ictal_score_params *p, double duration_s,
                             const struct ictal_score_interval *ref, size_t n_ref,
                             const struct ictal_score_interval *hyp, size_t n_hyp,
                             const struct ictal_score_alarm *alarms, size_t n_alarms,
                             struct ictal_score_file *out, struct ictal_error *err);

/* Free what ictal_score_file_compute allocated and zero *f. NULL is fine.
 * RT-safe: no. */
void ictal_score_file_free(struct ictal_score_file *f);

/* The SzCORE event list of one annotation: rasterised on the label grid,
 * runs as events, merged, split (the events the event scoring compares).
 * *out is malloc'd (free() it; NULL when *n_out == 0); *lost (may be NULL)
 * receives how many input events covered no label. Returns 0 or an error as
 * ictal_score_file_compute. RT-safe: no. */
int ictal_score_szcore_events(const struct ictal_score_params *p, double duration_s,
                              const struct ictal_score_interval *in, size_t n,
                              struct ictal_score_interval **out, size_t *n_out,
                              size_t *lost, struct ictal_error *err);

/* ---- statistics ---------------------------------------------------------- */

struct ictal_score_latency_stats {
    size_t events;        /* reference events considered */
    size_t detected;      /* of which with a latency */
    double median_s;      /* NaN when detected == 0 */
    double p90_s;         /* 90th percentile, linear between closest ranks */
    double mean_s, min_s, max_s;
};

/* Statistics of n latencies (NaN entries count as not detected).
 * Returns 0 or ICTAL_ENOMEM. RT-safe: no. */
int ictal_score_latency_stats(const double *latency_s, size_t n,
                              struct ictal_score_latency_stats *st);

/* The q-quantile (0..1) of n sorted finite values, linear interpolation
 * between closest ranks (numpy's default); NaN when n == 0. RT-safe: yes. */
double ictal_score_quantile_sorted(const double *v, size_t n, double q);

/* Mean and population standard deviation of the non-NaN values (numpy
 * nanmean / nanstd, as szcore-evaluation averages subjects); both NaN when
 * there are none. Returns how many values were used. RT-safe: yes. */
size_t ictal_score_nanmean_std(const double *v, size_t n, double *mean, double *std);

#ifdef __cplusplus
}
#endif

#endif /* ICTAL_SCORE_H */
