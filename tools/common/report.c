/*
 * report.c — report files and JSON helpers shared by ictal-run and
 * ictal-detect (report.h).
 */
#include "report.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "event_format.h"
#include "prog_log.h"

int report_make_dirs(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char save = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        buf[i] = save;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

void report_json_round(FILE *f, double v, int decimals)
{
    double k = pow(10.0, decimals);
    event_format_json_double(f, round(v * k) / k);
}

FILE *report_open(const char *dir, const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        prog_log_error("%s: cannot create: %s", path, strerror(errno));
    return f;
}

int report_close(FILE *f, const char *path)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        prog_log_error("%s: write failed", path);
        return -1;
    }
    return 0;
}

void report_json_labels(FILE *f, const char *const *labels, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', f);
        event_format_json_string(f, labels[i]);
    }
    fputc(']', f);
}

void report_json_flag_list(FILE *f, const char *joined)
{
    fputc('[', f);
    int k = 0;
    for (const char *p = joined; *p;) {
        size_t n = strcspn(p, "|");
        char item[64];
        snprintf(item, sizeof item, "%.*s", (int)(n < 63 ? n : 63), p);
        if (k++)
            fputc(',', f);
        event_format_json_string(f, item);
        p += n + (p[n] ? 1 : 0);
    }
    fputc(']', f);
}

void report_json_times_us(FILE *f, const struct ictal_timehist_snapshot *h)
{
    static const double qs[] = { 50, 95, 99 };
    static const char *const qn[] = { "p50", "p95", "p99" };
    fputc('{', f);
    for (int i = 0; i < 3; i++) {
        fprintf(f, "\"%s\": ", qn[i]);
        report_json_round(f, ictal_timehist_percentile(h, qs[i]) / 1000.0, 3);
        fputs(", ", f);
    }
    fprintf(f, "\"max\": ");
    event_format_json_double(f, (double)h->max_ns / 1000.0);
    fprintf(f, ", \"mean\": ");
    report_json_round(f, ictal_timehist_mean(h) / 1000.0, 3);
    fputc('}', f);
}

void report_json_latency(FILE *f, const struct ictal_pipeline_latency *lat)
{
    fprintf(f, "{\"resampler_s\": ");
    event_format_json_double(f, lat->resampler);
    fprintf(f, ", \"engine_s\": ");
    event_format_json_double(f, lat->engine);
    fprintf(f, ", \"frame_s\": ");
    event_format_json_double(f, lat->frame);
    fprintf(f, ", \"postproc_s\": ");
    event_format_json_double(f, lat->postproc);
    fprintf(f, ", \"total_s\": ");
    event_format_json_double(f, lat->total);
    fprintf(f, ", \"total_samples\": %lu}", (unsigned long)lat->total_samples);
}

int report_write_config_snapshot(const char *dir, const struct ictal_config *cfg,
                                 unsigned programs)
{
    char *js = ictal_config_snapshot_json(cfg, programs);
    if (!js) {
        prog_log_error("out of memory");
        return -1;
    }
    char path[PATH_MAX];
    FILE *f = report_open(dir, "config_snapshot.json", path, sizeof path);
    if (!f) {
        free(js);
        return -1;
    }
    fputs(js, f);
    if (js[0] && js[strlen(js) - 1] != '\n')
        fputc('\n', f);
    free(js);
    return report_close(f, path);
}

static const char *layer_type_name(enum ictal_layer_type t)
{
    switch (t) {
    case ICTAL_LAYER_CONV1D: return "conv1d";
    case ICTAL_LAYER_LINEAR: return "linear";
    case ICTAL_LAYER_LAYERNORM: return "layernorm";
    case ICTAL_LAYER_RMSNORM: return "rmsnorm";
    case ICTAL_LAYER_ACT: return "act";
    case ICTAL_LAYER_LSTM: return "lstm";
    case ICTAL_LAYER_MAMBA2: return "mamba2";
    case ICTAL_LAYER_BIMAMBA2: return "bimamba2";
    }
    return "unknown";
}

static const char *aggregation_name(enum ictal_aggregation a)
{
    switch (a) {
    case ICTAL_AGG_MAX: return "max";
    case ICTAL_AGG_MEAN: return "mean";
    case ICTAL_AGG_LOGSUMEXP: return "logsumexp";
    case ICTAL_AGG_ATTENTION: return "attention";
    }
    return "unknown";
}

int report_write_model_info(const char *dir, const char *model_path, const struct ictal_model *m,
                            int n_channels, enum ictal_engine_gemm gemm)
{
    const struct ictal_model_info *mi = ictal_model_info(m);
    /* the engine's cost for this channel count (a throwaway engine: the
     * pipeline keeps its own private) */
    struct ictal_error err;
    struct ictal_engine_config ec = { n_channels, gemm };
    struct ictal_engine *e = ictal_engine_create(m, &ec, &err);
    double macs = e ? ictal_engine_macs_per_second(e) : NAN;
    size_t arena = e ? ictal_engine_arena_size(e) : 0;
    ictal_engine_destroy(e);

    char path[PATH_MAX];
    FILE *f = report_open(dir, "model_info.json", path, sizeof path);
    if (!f)
        return -1;
    fprintf(f, "{\n  \"file\": ");
    event_format_json_string(f, model_path);
    fprintf(f, ",\n  \"name\": ");
    event_format_json_string(f, mi->name);
    fprintf(f, ",\n  \"format_version\": %d,\n  \"sample_rate\": ", mi->format_version);
    event_format_json_double(f, mi->sample_rate);
    fprintf(f, ",\n  \"frame_rate\": ");
    event_format_json_double(f, mi->frame_rate);
    fprintf(f, ",\n  \"hop\": %d,\n  \"window\": %d,\n  \"window_step\": %d,"
               "\n  \"delay_samples\": %ld,\n  \"delay_s\": ",
            mi->hop, mi->window, mi->window_step, mi->delay_samples);
    event_format_json_double(f, (double)mi->delay_samples / mi->sample_rate);
    fprintf(f, ",\n  \"input_gain\": ");
    event_format_json_float(f, mi->input_gain);
    fprintf(f, ",\n  \"channels\": {\"policy\": ");
    event_format_json_string(f, mi->channel_policy);
    fprintf(f, ", \"montage\": ");
    event_format_json_string(f, mi->montage);
    fprintf(f, ", \"labels\": [");
    for (int i = 0; i < mi->n_labels; i++) {
        if (i)
            fputc(',', f);
        event_format_json_string(f, mi->labels[i]);
    }
    fprintf(f, "], \"min\": %d, \"max\": %d, \"used\": %d}", mi->min_channels, mi->max_channels,
            n_channels);
    fprintf(f, ",\n  \"prefilter\": [");
    for (int i = 0; i < mi->n_filters; i++) {
        const struct ictal_model_filter *fl = &mi->filters[i];
        fprintf(f, "%s{\"type\": ", i ? ", " : "");
        event_format_json_string(f, fl->type);
        fprintf(f, ", \"freq_hz\": ");
        event_format_json_double(f, fl->freq_hz);
        fprintf(f, ", \"freq2_hz\": ");
        event_format_json_double(f, fl->freq2_hz);
        fprintf(f, ", \"q\": ");
        event_format_json_double(f, fl->q);
        fprintf(f, ", \"order\": %d}", fl->order);
    }
    fprintf(f, "],\n  \"layers\": [");
    int nl = ictal_model_layer_count(m);
    for (int i = 0; i < nl; i++) {
        const struct ictal_layer *l = ictal_model_layer(m, i);
        fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
        event_format_json_string(f, l->name);
        fprintf(f, ", \"type\": \"%s\", \"in\": %d, \"out\": %d, \"stride\": %d}",
                layer_type_name(l->type), l->in_dim, l->out_dim, l->stride);
    }
    fprintf(f, "\n  ],\n  \"aggregation\": \"%s\",\n  \"head_in\": %d,\n  \"params\": %ld,",
            aggregation_name(mi->aggregation), mi->head_in, mi->n_params);
    fprintf(f, "\n  \"macs_per_second\": ");
    event_format_json_double(f, macs);
    fprintf(f, ",\n  \"macs_per_second_channels\": %d,\n  \"engine_arena_bytes\": %zu",
            n_channels, arena);
    fprintf(f, ",\n  \"fingerprint\": \"%016llx\"", (unsigned long long)mi->fingerprint);
    fprintf(f, ",\n  \"metadata\": ");
    /* the loader parsed it; print it again through cJSON so that the file
     * stays valid JSON whatever bytes the model carried */
    const char *meta = ictal_model_metadata_json(m);
    cJSON *j = meta ? cJSON_Parse(meta) : NULL;
    char *txt = j ? cJSON_PrintUnformatted(j) : NULL;
    if (txt)
        fputs(txt, f);
    else
        event_format_json_string(f, meta);
    cJSON_free(txt);
    cJSON_Delete(j);
    fprintf(f, "\n}\n");
    return report_close(f, path);
}

