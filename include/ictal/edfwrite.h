/*
 * ictal/edfwrite.h — a small EDF+ writer on EDFlib's writer API.
 *
 * Writes 16-bit EDF+ (continuous) files: every signal at the same integer
 * rate, one-second data records, physical values converted to digital by us
 * (round half away from zero, clamped to the digital range) so that the bytes
 * never depend on the C library's rounding. Annotations are queued and written
 * as EDF+ TALs; their count must be bounded at creation because EDFlib sizes
 * the annotation signal before the first record.
 *
 * EDFlib keeps global handle tables: use this module from one non-RT thread.
 * Nothing here is RT-safe.
 */
#ifndef ICTAL_EDFWRITE_H
#define ICTAL_EDFWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "ictal/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ICTAL_EDFWRITE_MAX_SIGNALS 256

struct ictal_edfwrite_config {
    const char *path;              /* file to create (replaced if it exists) */
    int n_signals;                 /* 1..ICTAL_EDFWRITE_MAX_SIGNALS */
    int sample_rate;               /* Hz, same for every signal, >= 1 */
    const char *const *labels;     /* n_signals labels, <= 16 chars each */
    const char *phys_dim;          /* physical unit, e.g. "uV" (<= 8 chars) */
    double phys_min, phys_max;     /* physical range, phys_min < phys_max */
    int dig_min, dig_max;          /* digital range within -32768..32767 */
    const char *prefilter;         /* may be NULL */
    const char *transducer;        /* may be NULL */
    /* start date and time of the recording (year 1985..2084) */
    int year, month, day, hour, minute, second;
    /* EDF+ patient and recording identification (may be NULL) */
    const char *patient_code, *patient_name, *patient_additional;
    const char *admincode, *technician, *equipment, *recording_additional;
    int max_annotations;           /* upper bound on annotations to be added */
    int64_t expected_records;      /* number of 1 s records to come (for sizing) */
};

struct ictal_edfwrite;

/* Open path for writing and set the header. Returns NULL with *err filled
 * (naming the field or the path) on failure. RT-safe: no. */
struct ictal_edfwrite *ictal_edfwrite_create(const struct ictal_edfwrite_config *cfg,
                                             struct ictal_error *err);

/* Write one data record (one second): samples are channel-major physical
 * values, phys[c * stride + i] for i < sample_rate. Values outside the
 * physical range are clamped (the rail is what a saturated amplifier records).
 * Returns 0 or ICTAL_EIO. RT-safe: no. */
int ictal_edfwrite_record(struct ictal_edfwrite *w, const float *phys, size_t stride,
                          struct ictal_error *err);

/* Queue an annotation (onset and duration in seconds, duration < 0 = none;
 * resolution 100 µs). The text is UTF-8, <= 512 bytes. Returns 0, ICTAL_ERANGE
 * when more than max_annotations are added, or ICTAL_EIO. RT-safe: no. */
int ictal_edfwrite_annotation(struct ictal_edfwrite *w, double onset_s, double duration_s,
                              const char *text, struct ictal_error *err);

/* Finish the file (writes the annotations and the header's record count) and
 * free w. Returns 0 or ICTAL_EIO. w may be NULL (returns 0). RT-safe: no. */
int ictal_edfwrite_close(struct ictal_edfwrite *w, struct ictal_error *err);

#ifdef __cplusplus
}
#endif

#endif /* ICTAL_EDFWRITE_H */
