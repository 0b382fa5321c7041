/*
 * postproc_oracle.h — an independent whole-array oracle for the
 * post-processing (docs/postproc.md), written from the document alone, for
 * tests/test_postproc.c to compare the streaming code in src/postproc.c with,
 * record for record.
 *
 * Everything here works on whole arrays and allocates freely: it is meant to
 * be obviously right, not fast. The section numbers refer to docs/postproc.md.
 * The configuration is assumed valid (ictal_postproc_create() accepts it).
 */
#ifndef ICTAL_POSTPROC_ORACLE_H
#define ICTAL_POSTPROC_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#include "ictal/event.h"
#include "ictal/postproc.h"

/* D = (max(n_on, n_off) - 1) + max(opening - 1, 0) + max(closing - 1, 0)
 * (section 1.3). */
int pp_oracle_delay(const struct ictal_postproc_config *cfg);

/* p[k] as the post-processing reads it: non-finite values are 0. */
float pp_oracle_prob(float p);

/* Section 1.1: the hysteresis sequence h[0..n-1] (0/1) of prob[0..n-1]. */
void pp_oracle_hysteresis(const struct ictal_postproc_config *cfg, const float *prob, size_t n,
                          uint8_t *h);

/* Section 1.2: runs of 1s shorter than len become 0s (in may equal out). */
void pp_oracle_opening(const uint8_t *in, size_t n, int len, uint8_t *out);

/* Section 1.3: runs of 0s shorter than len with a 1 on both sides become 1s
 * (in may equal out). */
void pp_oracle_closing(const uint8_t *in, size_t n, int len, uint8_t *out);

/* The three stages: the ictal sequence c[0..n-1]. */
void pp_oracle_ictal(const struct ictal_postproc_config *cfg, const float *prob, size_t n,
                     uint8_t *c);

/* Section 4: fill ev's statistics over frames [start, end): confidence, peak,
 * method, percentile, n_channels, channels, and flags = OR of frame_flags
 * (the caller adds SEGMENTED / FLUSHED). scores (k * n_channels + c) and
 * frame_flags may be NULL. end > start. */
void pp_oracle_stats(const struct ictal_postproc_config *cfg, const float *prob,
                     const float *scores, const uint8_t *frame_flags, int64_t start, int64_t end,
                     struct ictal_event *ev);

/* Section 3.3 from a given ictal sequence c[0..n-1]: the records in emission
 * order, flush included (as a stream of n frames followed by flush() gives
 * them). *out is malloc'd (NULL when there are none); the caller frees it.
 * Returns the number of records. */
size_t pp_oracle_records(const struct ictal_postproc_config *cfg, const uint8_t *c,
                         const float *prob, const float *scores, const uint8_t *frame_flags,
                         size_t n, struct ictal_event **out);

/* The whole chain: pp_oracle_ictal() then pp_oracle_records(). */
size_t pp_oracle_run(const struct ictal_postproc_config *cfg, const float *prob,
                     const float *scores, const uint8_t *frame_flags, size_t n,
                     struct ictal_event **out);

/* Compare two records field by field: every field of struct ictal_event,
 * floats bit for bit. One leniency, because the documents do not say: when
 * want->method is not ICTAL_CONFIDENCE_PERCENTILE, got->percentile may be
 * either want->percentile or 0. Returns 0 when equal, else 1 and names the
 * first differing field (with both values) in what (may be NULL). */
int pp_oracle_event_diff(const struct ictal_event *want, const struct ictal_event *got,
                         char *what, size_t cap);

/* One line describing a record (every field that the post-processing sets). */
void pp_oracle_event_format(const struct ictal_event *ev, char *buf, size_t cap);

/* One line describing a configuration, as a C initializer. */
void pp_oracle_config_format(const struct ictal_postproc_config *cfg, char *buf, size_t cap);

#endif /* ICTAL_POSTPROC_ORACLE_H */
