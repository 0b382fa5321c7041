/*
 * report.h — the JSON report files ictal's programs write with --report DIR
 * (ictal-run at the end of a file, ictal-detect at exit), and the small JSON
 * helpers they share. Not real-time code.
 */
#ifndef ICTAL_REPORT_H
#define ICTAL_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "ictal/config.h"
#include "ictal/engine.h"
#include "ictal/model.h"
#include "ictal/pipeline.h"
#include "ictal/timehist.h"

/* mkdir -p: create path and its parents. Returns 0 or -1 with errno. */
int report_make_dirs(const char *path);

/* DIR/NAME for writing (path gets the joined name); NULL after logging why. */
FILE *report_open(const char *dir, const char *name, char *path, size_t cap);
/* Close, logging a write error. Returns 0 or -1. */
int report_close(FILE *f, const char *path);

/* ["a","b",...] */
void report_json_labels(FILE *f, const char *const *labels, size_t n);
/* "a|b" → ["a","b"] */
void report_json_flag_list(FILE *f, const char *joined);
/* v rounded to `decimals` places, as a JSON number. */
void report_json_round(FILE *f, double v, int decimals);
/* {"p50": .., "p95": .., "p99": .., "max": .., "mean": ..} in µs from a
 * histogram of ns. */
void report_json_times_us(FILE *f, const struct ictal_timehist_snapshot *h);
/* {"resampler_s": .., "engine_s": .., "frame_s": .., "postproc_s": ..,
 *  "total_s": .., "total_samples": ..} */
void report_json_latency(FILE *f, const struct ictal_pipeline_latency *lat);

/* DIR/config_snapshot.json: the effective configuration of the keys the
 * program reads, each value with its source. */
int report_write_config_snapshot(const char *dir, const struct ictal_config *cfg,
                                 unsigned programs);

/* DIR/model_info.json: the model's header, layers, cost for n_channels. */
int report_write_model_info(const char *dir, const char *model_path, const struct ictal_model *m,
                            int n_channels, enum ictal_engine_gemm gemm);

#endif /* ICTAL_REPORT_H */
