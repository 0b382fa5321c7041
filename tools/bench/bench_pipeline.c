/*
 * bench_pipeline — what one JACK period costs ictal-detect's process
 * callback, without JACK: the whole pipeline (guard, rate conversion,
 * pre-filter, engine, post-processing) fed in periods of PERIOD samples at
 * RATE Hz, each call timed. A benchmark, not a test: it prints figures and
 * the machine, and asserts nothing about speed.
 *
 *   bench_pipeline MODEL [RATE] [PERIOD] [SECONDS] [CHANNELS] [RESAMPLER]
 *
 * Prints the per-call time distribution (p50/p99/p99.9/max, µs), the
 * period's budget, and the ten slowest calls with their position in the
 * stream, so periodic spikes (a resampler refilling its buffer, a frame of
 * the model) show where they come from.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ictal/config.h"
#include "ictal/model.h"
#include "ictal/pipeline.h"
#include "ictal/timehist.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float noise(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 - 0.5);
}

struct slow {
    uint64_t ns, call;
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_pipeline MODEL [RATE] [PERIOD] [SECONDS] [CHANNELS] "
                        "[RESAMPLER]\n");
        return 2;
    }
    double rate = argc > 2 ? atof(argv[2]) : 256;
    size_t period = argc > 3 ? (size_t)atol(argv[3]) : 64;
    double seconds = argc > 4 ? atof(argv[4]) : 60;
    int C = argc > 5 ? atoi(argv[5]) : 23;
    const char *resampler = argc > 6 ? argv[6] : NULL;
    struct ictal_error err;
    struct ictal_model *m = ictal_model_load(argv[1], &err);
    struct ictal_config *cfg = ictal_config_create(&err);
    if (!m || !cfg) {
        fprintf(stderr, "bench_pipeline: %s\n", err.msg);
        return 1;
    }
    ictal_pipeline_model_defaults(cfg, m, "model");
    if (resampler && ictal_config_set_dotted(cfg, ICTAL_CONFIG_LAYER_CLI, "argument",
                                             "pipeline.resampler", resampler) != 0) {
        fprintf(stderr, "bench_pipeline: bad resampler %s\n", resampler);
        return 2;
    }
    if (ictal_config_validate(cfg, &err) != 0) {
        ictal_config_print_errors(cfg, stderr, "bench_pipeline");
        return 1;
    }
    struct ictal_pipeline_config pc;
    struct ictal_pipeline *p = NULL;
    if (ictal_pipeline_config_from(&pc, cfg, m, C, rate, period, &err) < 0 ||
        !(p = ictal_pipeline_create(m, &pc, &err))) {
        fprintf(stderr, "bench_pipeline: %s\n", err.msg);
        return 1;
    }
    float **buf = calloc((size_t)C, sizeof *buf);
    for (int c = 0; c < C; c++) {
        buf[c] = malloc(period * sizeof **buf);
    }
    size_t cap = ictal_pipeline_max_frames(p, period);
    float *prob = malloc((cap ? cap : 1) * sizeof *prob);
    struct ictal_timehist *h = calloc(1, sizeof *h);
    struct ictal_timehist_snapshot *s = malloc(sizeof *s);
    ictal_timehist_init(h);
    uint64_t calls = (uint64_t)(seconds * rate / (double)period);
    struct slow top[10];
    memset(top, 0, sizeof top);
    double t = 0;
    for (uint64_t k = 0; k < calls; k++) {
        for (size_t i = 0; i < period; i++, t += 1.0 / rate)
            for (int c = 0; c < C; c++)
                buf[c][i] = (float)(40.0 * sin(2 * 3.14159265 * 10.0 * t + c) + 10.0 * noise());
        struct ictal_pipeline_frames fr = { prob, NULL, NULL, cap, 0 };
        uint64_t t0 = now_ns();
        ictal_pipeline_process(p, (const float *const *)buf, period, NULL, &fr);
        uint64_t dt = now_ns() - t0;
        ictal_timehist_add(h, dt);
        int low = 0;
        for (int i = 1; i < 10; i++)
            if (top[i].ns < top[low].ns)
                low = i;
        if (dt > top[low].ns) {
            top[low].ns = dt;
            top[low].call = k;
        }
    }
    ictal_timehist_snapshot(h, s);
    double budget = (double)period / rate * 1e6;
    printf("bench_pipeline: %s, %d channels, %g Hz, period %zu (%.1f us), %.0f s, resampler %s\n",
           argv[1], C, rate, period, budget, seconds, resampler ? resampler : "(config)");
    printf("calls %llu: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f us; "
           "max/period %.1f %%\n",
           (unsigned long long)s->n, ictal_timehist_percentile(s, 50) / 1e3,
           ictal_timehist_percentile(s, 99) / 1e3, ictal_timehist_percentile(s, 99.9) / 1e3,
           (double)s->max_ns / 1e3, ictal_timehist_mean(s) / 1e3,
           (double)s->max_ns / 1e3 / budget * 100);
    printf("slowest calls (us @ call index, stream second):");
    for (int i = 0; i < 10; i++)
        printf(" %.0f@%llu(%.2fs)", top[i].ns / 1e3, (unsigned long long)top[i].call,
               (double)top[i].call * (double)period / rate);
    printf("\n");
    ictal_pipeline_destroy(p);
    ictal_model_destroy(m);
    ictal_config_destroy(cfg);
    for (int c = 0; c < C; c++)
        free(buf[c]);
    free(buf);
    free(prob);
    free(h);
    free(s);
    return 0;
}
