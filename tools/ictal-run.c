/*
 * ictal-run — the detection pipeline offline: an EDF/EDF+/BDF recording in,
 * seizure events and reports out, no JACK.
 *
 *   ictal-run --model models/x.safetensors rec.edf
 *   ictal-run -m x.safetensors -f json,csv_bi -o out/rec --report out/rec.report rec.edf
 *   ictal-run -m x.safetensors --check --chunk 64 rec.edf
 *
 * It drives exactly the pipeline ictal-detect runs (ictal/pipeline.h), fed
 * from the file in chunks of --chunk samples, so its events are the events
 * ictal-detect gives for the same samples. Every setting is a configuration
 * key ([run], [pipeline], [postproc]; src/config_keys.h); the model's own
 * defaults enter at the model layer, below every file and option.
 *
 * Order of things (each step may stop the program):
 *   1. command line → configuration (parse, files, profile, environment);
 *   2. the model named by run.model, its defaults pushed at the model layer,
 *      then the whole configuration validated (so a file or option may
 *      override a model default without contradicting the built-in one);
 *   3. --print-config, or: the EDF file, the channel selection, the outputs
 *      and the report directory, all before any processing;
 *   4. the run (and with --check a second, whole-block run), then reports.
 *
 * Exit status: 0 done; 1 bad input or I/O failure (file, model, channels,
 * rates, outputs); 2 usage or configuration error; 3 --check found the
 * chunked and whole-block runs differ. docs/ictal-run.md has the details.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "event_format.h"
#include "ictal/config.h"
#include "ictal/edf.h"
#include "ictal/engine.h"
#include "ictal/model.h"
#include "ictal/pipeline.h"
#include "ictal/timehist.h"
#include "ictal/version.h"
#include "prog_args.h"
#include "report.h"
#include "prog_log.h"

#define PROG "ictal-run"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_CHECK = 3 };

enum { FMT_CONSOLE = 1u << 0, FMT_JSON = 1u << 1, FMT_CSV_BI = 1u << 2 };

/* --check's chunk when run.chunk is 0, and the most input (bytes of float
 * samples, all channels) its whole-block run reads per process() call. */
#define CHECK_DEFAULT_CHUNK 64
#define CHECK_WHOLE_BYTES ((size_t)256 << 20)
#define CHECK_WHOLE_MAX ((size_t)1 << 24)

/* A progress bar only for recordings longer than this (run.progress = auto). */
#define PROGRESS_MIN_S 60.0

/* ---- options --------------------------------------------------------------- */

static const struct ictal_config_option run_opts[] = {
    { "model", "run.model", NULL },
    { "format", "run.formats", NULL },
    { "output", "run.output", NULL },
    { "chunk", "run.chunk", NULL },
    { "channels", "run.signals", NULL },
    { "report", "run.report", NULL },
    { "check", "run.check", "true" },
    { "progress", "run.progress", NULL },
    PROG_POSTPROC_OPTIONS
};
#define N_RUN_OPTS (sizeof run_opts / sizeof run_opts[0])

/* Short options and their long forms. */
static const struct prog_short short_opts[] = {
    { 'm', "--model", true }, { 'f', "--format", true }, { 'o', "--output", true },
    { 'h', "--help", false },
};
#define N_SHORT (sizeof short_opts / sizeof short_opts[0])
static const char *const list_opts[] = { "format" };

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " --model MODEL.safetensors [OPTIONS] RECORDING.edf\n"
"Run the seizure-detection pipeline (input guard, rate conversion, pre-filter,\n"
"model, post-processing) over an EDF/EDF+/BDF recording and print the events.\n"
"Each option sets the configuration key in brackets; keys may also come from\n"
"the model file (its defaults), config files, a --profile or ICTAL_<SECTION>_<KEY>.\n"
"\n"
"  -m, --model FILE        model file (safetensors) [run.model]\n"
"  -f, --format LIST       console, json (JSON Lines), csv_bi (TUH CSV_BI); comma\n"
"                          list or repeated (default console) [run.formats]\n"
"  -o, --output PREFIX     json/csv_bi go to PREFIX.jsonl / PREFIX.csv_bi; - for\n"
"                          stdout (default: <recording name>.ictal) [run.output]\n"
"      --channels A,B,...  signals fed to the model, by label, in order (default:\n"
"                          the model's labels, or every signal at the stream\n"
"                          rate up to the model's maximum) [run.signals]\n"
"      --chunk N           samples per process() call; 0: one data record\n"
"                          (64 with --check); results never depend on it [run.chunk]\n"
"      --report DIR        write summary.json, config_snapshot.json,\n"
"                          model_info.json, latency_stats.json into DIR [run.report]\n"
"      --check             also run the file in one block and compare frame by\n"
"                          frame: streaming_alignment.json; exit 3 on a difference\n"
"                          [run.check]\n"
"      --progress WHEN     auto (terminal and > 60 s of signal), always, never\n"
"                          [run.progress]\n"
"  Post-processing (default: the model's) [postproc.*]:\n"
"      --threshold-on P    --threshold-off P   hysteresis thresholds, 0..1\n"
"      --n-on N            --n-off N           consecutive frames to switch\n"
"      --opening DUR       --closing DUR       morphology (e.g. 1s, 2s; 0: off)\n"
"      --min-duration DUR  --merge-gap DUR     --max-duration DUR\n"
"      --confidence mean|peak|percentile       --percentile Q (0..100)\n"
"  -h, --help              this help\n"
"      --version           print the version\n"
"\n%s"
"\nSee docs/ictal-run.md and docs/configuration.md. Exit status: 0 done, 1 bad\n"
"input or I/O error, 2 usage or configuration error, 3 --check failed.\n",
            ictal_config_cli_help());
}

struct run_options {
    const char *edf_path;
    const char *model_path;      /* "" → NULL */
    unsigned formats;            /* FMT_* */
    const char *output;          /* run.output ("" → NULL: default prefix) */
    const char *report;          /* run.report ("" → NULL) */
    size_t chunk;                /* run.chunk (0: one data record) */
    bool check;
    int progress;                /* run.progress: 0 auto, 1 always, 2 never */
    const char *const *signals;  /* run.signals */
    size_t n_signals;
};

/* Validated configuration → *o. */
static void options_from_config(const struct ictal_config *cfg, struct run_options *o)
{
    const char *s = ictal_config_get_string(cfg, "run", "model");
    o->model_path = s && s[0] ? s : NULL;
    s = ictal_config_get_string(cfg, "run", "output");
    o->output = s && s[0] ? s : NULL;
    s = ictal_config_get_string(cfg, "run", "report");
    o->report = s && s[0] ? s : NULL;
    o->chunk = (size_t)ictal_config_get_int(cfg, "run", "chunk");
    o->check = ictal_config_get_bool(cfg, "run", "check");
    o->progress = ictal_config_get_enum(cfg, "run", "progress");
    o->n_signals = ictal_config_get_list(cfg, "run", "signals", &o->signals);
    const char *const *items = NULL;
    size_t n = ictal_config_get_list(cfg, "run", "formats", &items);
    o->formats = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(items[i], "console") == 0)
            o->formats |= FMT_CONSOLE;
        else if (strcmp(items[i], "json") == 0)
            o->formats |= FMT_JSON;
        else if (strcmp(items[i], "csv_bi") == 0)
            o->formats |= FMT_CSV_BI;
    }
}

/* ---- small helpers ------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* mkdir -p. Returns 0 or -1 with errno set. */
/* ---- one run of the pipeline over the file -------------------------------------- */

struct recvec {
    struct ictal_event *v;
    size_t n, cap;
    bool oom;
};

static void recvec_push(struct recvec *r, const struct ictal_event *ev)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        struct ictal_event *v = realloc(r->v, cap * sizeof *v);
        if (!v) {
            r->oom = true;
            return;
        }
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = *ev;
}

struct progress {
    bool on;
    int pass, n_passes;
    double t0, t_last, rate;
    int64_t total;
    bool drawn;
};

struct pass {
    struct ictal_pipeline *p;
    size_t block;
    struct recvec recs;
    bool keep_frames;
    float *prob;                 /* every frame (keep_frames) */
    uint8_t *fflags;
    size_t n_frames, cap_frames;
    struct ictal_timehist *hist; /* per-call process() time, or NULL */
    double process_s, flush_s;
    uint64_t calls;
    uint64_t *quality_changes;   /* per channel */
    int n_channels;
    const char *const *labels;
    bool oom;
};

static void on_event(void *user, const struct ictal_event *ev)
{
    struct pass *ps = user;
    recvec_push(&ps->recs, ev);
}

static void on_quality(void *user, const struct ictal_quality_change *q)
{
    struct pass *ps = user;
    if (q->channel >= 0 && q->channel < ps->n_channels)
        ps->quality_changes[q->channel]++;
    if (ps->hist) { /* the main run reports; the check's second run stays quiet */
        char now[64], was[64], t[32];
        ictal_quality_string(q->flags, now, sizeof now);
        ictal_quality_string(q->previous, was, sizeof was);
        prog_log(PROG_LOG_DEBUG, "quality: %s at %s: %s (was %s), %d good channel(s)",
                 q->channel >= 0 && q->channel < ps->n_channels ? ps->labels[q->channel] : "?",
                 event_format_hms(q->t_s, t, sizeof t), now[0] ? now : "ok",
                 was[0] ? was : "ok", q->good_channels);
    }
}

static void keep_frames(struct pass *ps, const struct ictal_pipeline_frames *fr)
{
    if (!ps->keep_frames || ps->oom || fr->n == 0)
        return;
    if (ps->n_frames + fr->n > ps->cap_frames) {
        size_t cap = ps->cap_frames ? ps->cap_frames : 4096;
        while (cap < ps->n_frames + fr->n)
            cap *= 2;
        float *p = realloc(ps->prob, cap * sizeof *p);
        if (p)
            ps->prob = p;
        uint8_t *f = realloc(ps->fflags, cap);
        if (f)
            ps->fflags = f;
        if (!p || !f) {
            ps->oom = true;
            return;
        }
        ps->cap_frames = cap;
    }
    memcpy(ps->prob + ps->n_frames, fr->prob, fr->n * sizeof *fr->prob);
    memcpy(ps->fflags + ps->n_frames, fr->flags, fr->n);
    ps->n_frames += fr->n;
}

static void progress_draw(struct progress *pg, int64_t pos, bool force)
{
    if (!pg->on)
        return;
    double t = now_s();
    if (!force && t - pg->t_last < 0.2)
        return;
    pg->t_last = t;
    double el = t - pg->t0;
    double frac = pg->total > 0 ? (double)pos / (double)pg->total : 1.0;
    double rtf = el > 0 ? (double)pos / pg->rate / el : 0;
    double eta = pos > 0 ? el * (double)(pg->total - pos) / (double)pos : 0;
    char bar[31];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    char pass[24] = "";
    if (pg->n_passes > 1)
        snprintf(pass, sizeof pass, " run %d/%d", pg->pass, pg->n_passes);
    fprintf(stderr, "\r" PROG ":%s [%s] %5.1f%%  x%.0f real time  ETA %d:%02d \033[K", pass, bar,
            100.0 * frac, rtf, (int)(eta / 60), (int)fmod(eta, 60));
    fflush(stderr);
    pg->drawn = true;
}

static void progress_clear(struct progress *pg)
{
    if (pg->on && pg->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        pg->drawn = false;
    }
}

/* Where the main run's records go as they arrive. */
struct outputs {
    unsigned formats;
    FILE *json;                  /* JSON Lines, or NULL */
    bool json_is_stdout;
    char json_path[PATH_MAX];
    char csv_path[PATH_MAX];
    FILE *csv;
    bool csv_is_stdout;
    struct event_format_ctx ctx;
    struct progress *pg;
    bool write_error;
};

static void write_records(struct outputs *out, const struct recvec *r, size_t from)
{
    if (!out)
        return;
    for (size_t i = from; i < r->n; i++) {
        if (out->formats & FMT_CONSOLE) {
            progress_clear(out->pg);
            if (event_format_console(stdout, &r->v[i], &out->ctx) < 0)
                out->write_error = true;
            fflush(stdout);
        }
        if (out->json && event_format_jsonl(out->json, &r->v[i], &out->ctx) < 0)
            out->write_error = true;
    }
}

/* Feed the selected channels of the file through ps->p in blocks of
 * ps->block samples, then flush. bufs: one buffer of ps->block floats per
 * channel; gains: to µV. Returns 0 or -1 (message printed). */
static int run_pass(struct ictal_edf *edf, struct pass *ps, float **bufs, const double *gains,
                    struct outputs *out, struct progress *pg)
{
    struct ictal_error err;
    const struct ictal_event_sink sink = { on_event, on_quality, ps };
    size_t cap = ictal_pipeline_max_frames(ps->p, ps->block);
    float *prob = malloc((cap ? cap : 1) * sizeof *prob);
    uint8_t *flags = malloc(cap ? cap : 1);
    if (!prob || !flags) {
        free(prob);
        free(flags);
        prog_log_error("out of memory");
        return -1;
    }
    struct ictal_pipeline_frames fr = { prob, flags, NULL, cap, 0 };
    int rc = 0;
    if (ictal_edf_seek(edf, 0, &err) < 0) {
        prog_log_error("%s", err.msg);
        rc = -1;
    }
    int64_t len = ictal_edf_length(edf), pos = 0;
    size_t written = 0;
    while (rc == 0 && pos < len) {
        size_t n = (size_t)(len - pos < (int64_t)ps->block ? len - pos : (int64_t)ps->block);
        int64_t got = ictal_edf_read_next(edf, n, bufs, &err);
        if (got < 0) {
            progress_clear(pg);
            prog_log_error("%s", err.msg);
            rc = -1;
            break;
        }
        if (got == 0)
            break;
        for (int c = 0; c < ps->n_channels; c++)
            ictal_edf_scale(bufs[c], (size_t)got, gains[c]);
        fr.n = 0;
        uint64_t t0 = now_ns();
        int prc = ictal_pipeline_process(ps->p, (const float *const *)bufs, (size_t)got, &sink,
                                         &fr);
        uint64_t dt = now_ns() - t0;
        if (prc < 0) {
            progress_clear(pg);
            prog_log_error("pipeline: processing samples %lld..%lld failed: %s", (long long)pos,
                           (long long)(pos + got), ictal_strerror(prc));
            rc = -1;
            break;
        }
        if (ps->hist)
            ictal_timehist_add(ps->hist, dt);
        ps->process_s += (double)dt * 1e-9;
        ps->calls++;
        pos += got;
        keep_frames(ps, &fr);
        write_records(out, &ps->recs, written);
        written = ps->recs.n;
        progress_draw(pg, pos, false);
    }
    if (rc == 0) {
        uint64_t t0 = now_ns();
        int frc = ictal_pipeline_flush(ps->p, &sink);
        ps->flush_s = (double)(now_ns() - t0) * 1e-9;
        ps->process_s += ps->flush_s;
        if (frc < 0) {
            prog_log_error("pipeline: flush failed: %s", ictal_strerror(frc));
            rc = -1;
        }
        progress_draw(pg, pos, true);
        write_records(out, &ps->recs, written);
    }
    progress_clear(pg);
    if (rc == 0 && (ps->recs.oom || ps->oom)) {
        prog_log_error("out of memory keeping the records");
        rc = -1;
    }
    if (rc == 0 && pos < len) {
        prog_log_error("the recording ended early: read %lld of %lld samples", (long long)pos,
                       (long long)len);
        rc = -1;
    }
    free(prob);
    free(flags);
    return rc;
}

/* ---- channels -------------------------------------------------------------------- */

/* A data signal's label, with "#k" when it is the k-th (k > 1) data signal
 * of that label in the file: what ictal_edf_select() takes to address it. */
static void file_label(const struct ictal_edf *edf, const struct ictal_edf_signal *s, char *buf,
                       size_t cap)
{
    int k = 1;
    for (size_t j = 0; j < s->index; j++) {
        const struct ictal_edf_signal *t = ictal_edf_signal(edf, j);
        k += t && strcmp(t->label, s->label) == 0;
    }
    if (k > 1)
        snprintf(buf, cap, "%s#%d", s->label, k);
    else
        snprintf(buf, cap, "%s", s->label);
}

/* Select the channels the model gets (run.signals, else the model's labels,
 * else the default selection up to the model's maximum) and check the count.
 * Returns 0 or -1 with one message naming the problem. */
static int select_channels(struct ictal_edf *edf, const char *path,
                           const struct ictal_model_info *mi, const struct run_options *o,
                           const char *model_path)
{
    struct ictal_error err;
    const char *how;
    if (o->n_signals > 0) {
        if (ictal_edf_select(edf, o->signals, o->n_signals, &err) < 0) {
            prog_log_error("--channels: %s", err.msg);
            return -1;
        }
        how = "as given by run.signals";
    } else if ((strcmp(mi->channel_policy, "labels") == 0 ||
                strcmp(mi->channel_policy, "montage") == 0) && mi->n_labels > 0) {
        const char *labels[ICTAL_MODEL_MAX_LABELS];
        for (int i = 0; i < mi->n_labels; i++)
            labels[i] = mi->labels[i];
        if (ictal_edf_select(edf, labels, (size_t)mi->n_labels, &err) < 0) {
            prog_log_error("the model %s needs its %d channels (%s policy): %s", model_path,
                           mi->n_labels, mi->channel_policy, err.msg);
            return -1;
        }
        how = "the model's channel labels";
    } else {
        how = "every signal at the stream rate";
        size_t n = ictal_edf_selected_count(edf);
        if (mi->max_channels > 0 && n > (size_t)mi->max_channels) {
            /* the first max of them; duplicates addressed as "LABEL#k" */
            size_t m = (size_t)mi->max_channels;
            char(*q)[32] = malloc(m * sizeof *q);
            const char **qp = malloc(m * sizeof *qp);
            if (!q || !qp) {
                free(q);
                free(qp);
                prog_log_error("out of memory");
                return -1;
            }
            for (size_t i = 0; i < m; i++) {
                file_label(edf, ictal_edf_selected(edf, i), q[i], sizeof q[i]);
                qp[i] = q[i];
            }
            int rc = ictal_edf_select(edf, qp, m, &err);
            free(q);
            free(qp);
            if (rc < 0) {
                prog_log_error("%s", err.msg);
                return -1;
            }
            prog_log_warning("%s: %zu signals, the model takes at most %d: using the first %d",
                             path, n, mi->max_channels, mi->max_channels);
        }
    }
    size_t n = ictal_edf_selected_count(edf);
    if (n == 0) {
        prog_log_error("%s: no signal to process (no data signal at the stream rate)", path);
        return -1;
    }
    if ((int)n < mi->min_channels || (mi->max_channels > 0 && (int)n > mi->max_channels)) {
        prog_log_error("%s: %zu channel(s) selected (%s), but the model %s takes %d..%d",
                       path, n, how, model_path, mi->min_channels, mi->max_channels);
        return -1;
    }
    if (strcmp(mi->channel_policy, "labels") == 0 && mi->n_labels > 0 && (int)n != mi->n_labels)
        prog_log_warning("%zu channel(s) selected, the model was trained on %d labelled channels",
                         n, mi->n_labels);
    prog_log(PROG_LOG_DEBUG, "%zu channel(s): %s", n, how);
    return 0;
}

/* Labels of the selection as outputs show them: file_label(), so CHB-MIT's
 * second "T8-P8" is "T8-P8#2" (the name --channels takes for it). */
static char **display_labels(const struct ictal_edf *edf, size_t n)
{
    char **l = calloc(n ? n : 1, sizeof *l);
    if (!l)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        l[i] = malloc(32);
        if (!l[i]) {
            for (size_t j = 0; j < i; j++)
                free(l[j]);
            free(l);
            return NULL;
        }
        file_label(edf, ictal_edf_selected(edf, i), l[i], 32);
    }
    return l;
}

/* ---- reports ------------------------------------------------------------------------ */

/* Everything the reports need to know about the run. */
struct run_state {
    const char *edf_path;
    const char *model_path;
    const struct ictal_config *cfg;
    struct ictal_edf *edf;
    const struct ictal_model *model;
    const char *const *labels;
    int n_channels;
    double input_rate, model_rate, frame_rate;
    double duration_s;
    struct pass *main;
    double wall_s;
    int check_done, check_passed;
};

static uint64_t distinct_final_events(const struct recvec *r)
{
    uint64_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].kind == ICTAL_EVENT_FINAL && r->v[i].segment <= 1)
            n++;
    return n;
}

static int write_summary(const struct run_state *st, const char *dir)
{
    char path[PATH_MAX];
    FILE *f = report_open(dir, "summary.json", path, sizeof path);
    if (!f)
        return -1;
    struct ictal_pipeline_stats ps;
    ictal_pipeline_stats(st->main->p, &ps);
    const struct recvec *r = &st->main->recs;
    uint64_t by[4] = { 0, 0, 0, 0 };
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].kind >= ICTAL_EVENT_ALARM && r->v[i].kind <= ICTAL_EVENT_FINAL)
            by[r->v[i].kind]++;
    const struct ictal_edf_info *in = ictal_edf_info(st->edf);
    fprintf(f, "{\n  \"program\": \"" PROG "\",\n  \"version\": \"%s\",\n  \"file\": ",
            ICTAL_VERSION_STRING);
    event_format_json_string(f, st->edf_path);
    fprintf(f, ",\n  \"type\": ");
    event_format_json_string(f, in->type_name);
    fprintf(f, ",\n  \"duration_s\": ");
    event_format_json_double(f, st->duration_s);
    fprintf(f, ",\n  \"model\": ");
    event_format_json_string(f, st->model_path);
    fprintf(f, ",\n  \"channels\": ");
    report_json_labels(f, st->labels, (size_t)st->n_channels);
    fprintf(f, ",\n  \"n_channels\": %d,\n  \"input_rate\": ", st->n_channels);
    event_format_json_double(f, st->input_rate);
    fprintf(f, ",\n  \"model_rate\": ");
    event_format_json_double(f, st->model_rate);
    fprintf(f, ",\n  \"frame_rate\": ");
    event_format_json_double(f, st->frame_rate);
    fprintf(f, ",\n  \"resampled\": %s", st->input_rate != st->model_rate ? "true" : "false");
    fprintf(f, ",\n  \"chunk_samples\": %zu", st->main->block);
    fprintf(f, ",\n  \"input_samples\": %llu,\n  \"gap_samples\": %llu,\n  \"model_samples\": %llu,"
               "\n  \"frames\": %llu",
            (unsigned long long)ps.input_samples, (unsigned long long)ps.gap_samples,
            (unsigned long long)ps.model_samples, (unsigned long long)ps.frames);
    fprintf(f, ",\n  \"events\": %llu,\n  \"alarms\": %llu,\n  \"cancels\": %llu,"
               "\n  \"records\": {\"alarm\": %llu, \"cancel\": %llu, \"final\": %llu}",
            (unsigned long long)distinct_final_events(r), (unsigned long long)by[ICTAL_EVENT_ALARM],
            (unsigned long long)by[ICTAL_EVENT_CANCEL], (unsigned long long)by[ICTAL_EVENT_ALARM],
            (unsigned long long)by[ICTAL_EVENT_CANCEL], (unsigned long long)by[ICTAL_EVENT_FINAL]);
    fprintf(f, ",\n  \"nonfinite_samples\": %llu,\n  \"no_decision_frames\": %llu,"
               "\n  \"good_channels_at_end\": %d",
            (unsigned long long)ps.nonfinite, (unsigned long long)ps.no_decision_frames,
            ps.good_channels);
    fprintf(f, ",\n  \"quality\": [");
    for (int c = 0; c < st->n_channels; c++) {
        struct ictal_guard_counts gc = ictal_pipeline_channel_counts(st->main->p, c);
        char fl[64];
        ictal_quality_string(ictal_pipeline_channel_quality(st->main->p, c), fl, sizeof fl);
        fprintf(f, "%s\n    {\"channel\": ", c ? "," : "");
        event_format_json_string(f, st->labels[c]);
        fprintf(f, ", \"flags_at_end\": ");
        report_json_flag_list(f, fl);
        fprintf(f, ", \"nonfinite\": %llu, \"clipped\": %llu, \"implausible\": %llu, "
                   "\"blocks_flagged\": %llu, \"changes\": %llu}",
                (unsigned long long)gc.nonfinite, (unsigned long long)gc.clipped,
                (unsigned long long)gc.implausible, (unsigned long long)gc.blocks_flagged,
                (unsigned long long)st->main->quality_changes[c]);
    }
    fprintf(f, "\n  ],\n  \"run\": {\"wall_s\": ");
    report_json_round(f, st->wall_s, 6);
    fprintf(f, ", \"process_s\": ");
    report_json_round(f, st->main->process_s, 6);
    fprintf(f, ", \"real_time_factor\": ");
    report_json_round(f, st->wall_s > 0 ? st->duration_s / st->wall_s : 0, 1);
    fprintf(f, ", \"process_real_time_factor\": ");
    report_json_round(f, st->main->process_s > 0 ? st->duration_s / st->main->process_s : 0, 1);
    fprintf(f, "}");
    if (st->check_done)
        fprintf(f, ",\n  \"check\": {\"passed\": %s}", st->check_passed ? "true" : "false");
    fprintf(f, "\n}\n");
    return report_close(f, path);
}

static int write_latency(const struct run_state *st, const char *dir)
{
    char path[PATH_MAX];
    FILE *f = report_open(dir, "latency_stats.json", path, sizeof path);
    if (!f)
        return -1;
    struct ictal_timehist_snapshot *h = malloc(sizeof *h);
    if (!h) {
        fclose(f);
        prog_log_error("out of memory");
        return -1;
    }
    ictal_timehist_snapshot(st->main->hist, h);
    struct ictal_pipeline_latency lat;
    ictal_pipeline_latency(st->main->p, &lat);
    fprintf(f, "{\n  \"chunk_samples\": %zu,\n  \"chunk_s\": ", st->main->block);
    event_format_json_double(f, (double)st->main->block / st->input_rate);
    fprintf(f, ",\n  \"calls\": %llu,\n  \"process_us\": ", (unsigned long long)h->n);
    report_json_times_us(f, h);
    free(h);
    fprintf(f, ",\n  \"percentile_resolution\": 0.008");
    fprintf(f, ",\n  \"chunk_budget_us\": ");
    report_json_round(f, (double)st->main->block / st->input_rate * 1e6, 3);
    fprintf(f, ",\n  \"flush_us\": ");
    report_json_round(f, st->main->flush_s * 1e6, 3);
    fprintf(f, ",\n  \"declared_latency\": ");
    report_json_latency(f, &lat);
    fprintf(f, "\n}\n");
    return report_close(f, path);
}

/* ---- --check ---------------------------------------------------------------------- */

static bool same_float(float a, float b)
{
    uint32_t x, y;
    memcpy(&x, &a, 4);
    memcpy(&y, &b, 4);
    return x == y;
}

/* First field where two records differ, or NULL. */
static const char *record_diff(const struct ictal_event *a, const struct ictal_event *b)
{
    if (a->kind != b->kind) return "kind";
    if (a->id != b->id) return "id";
    if (a->segment != b->segment) return "segment";
    if (a->flags != b->flags) return "flags";
    if (a->start_frame != b->start_frame) return "start_frame";
    if (a->end_frame != b->end_frame) return "end_frame";
    if (a->emit_frame != b->emit_frame) return "emit_frame";
    if (!same_float(a->confidence, b->confidence)) return "confidence";
    if (!same_float(a->peak, b->peak)) return "peak";
    if (a->method != b->method) return "method";
    if (!same_float(a->percentile, b->percentile)) return "percentile";
    if (a->n_channels != b->n_channels) return "n_channels";
    if (memcmp(a->channels, b->channels, sizeof a->channels) != 0) return "channels";
    if (a->start_sample != b->start_sample) return "start_sample";
    if (a->end_sample != b->end_sample) return "end_sample";
    if (a->emit_sample != b->emit_sample) return "emit_sample";
    if (a->start_s != b->start_s) return "start_s";
    if (a->end_s != b->end_s) return "end_s";
    if (a->emit_s != b->emit_s) return "emit_s";
    return NULL;
}

struct check_result {
    size_t whole_block;
    uint64_t whole_calls;
    size_t frames_compared;
    double max_dp;
    long long first_frame;       /* -1: none */
    uint64_t frames_differing, flags_differing;
    long long first_event;       /* -1: none */
    const char *first_event_field;
    size_t event_differences;
    bool passed;
};

static void compare_passes(const struct pass *a, const struct pass *b, struct check_result *cr)
{
    size_t n = a->n_frames < b->n_frames ? a->n_frames : b->n_frames;
    cr->frames_compared = n;
    cr->max_dp = 0;
    cr->first_frame = -1;
    for (size_t k = 0; k < n; k++) {
        bool diff = !same_float(a->prob[k], b->prob[k]);
        if (a->fflags[k] != b->fflags[k]) {
            cr->flags_differing++;
            diff = true;
        }
        if (diff) {
            cr->frames_differing++;
            if (cr->first_frame < 0)
                cr->first_frame = (long long)k;
        }
        double d = fabs((double)a->prob[k] - (double)b->prob[k]);
        if (!(d <= cr->max_dp)) /* NaN counts */
            cr->max_dp = isnan(d) ? INFINITY : d;
    }
    if (a->n_frames != b->n_frames && cr->first_frame < 0)
        cr->first_frame = (long long)n;
    size_t ne = a->recs.n < b->recs.n ? a->recs.n : b->recs.n;
    cr->first_event = -1;
    cr->first_event_field = NULL;
    for (size_t i = 0; i < ne; i++) {
        const char *fld = record_diff(&a->recs.v[i], &b->recs.v[i]);
        if (fld) {
            cr->event_differences++;
            if (cr->first_event < 0) {
                cr->first_event = (long long)i;
                cr->first_event_field = fld;
            }
        }
    }
    size_t extra = a->recs.n > b->recs.n ? a->recs.n - b->recs.n : b->recs.n - a->recs.n;
    cr->event_differences += extra;
    if (extra && cr->first_event < 0) {
        cr->first_event = (long long)ne;
        cr->first_event_field = "missing record";
    }
    cr->passed = a->n_frames == b->n_frames && cr->frames_differing == 0 &&
                 cr->event_differences == 0;
}

static int write_alignment(const char *path, const struct run_state *st, const struct pass *a,
                           const struct pass *b, const struct check_result *cr)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        prog_log_error("%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "{\n  \"file\": ");
    event_format_json_string(f, st->edf_path);
    fprintf(f, ",\n  \"model\": ");
    event_format_json_string(f, st->model_path);
    fprintf(f, ",\n  \"passed\": %s", cr->passed ? "true" : "false");
    fprintf(f, ",\n  \"chunk_samples\": %zu,\n  \"chunk_calls\": %llu", a->block,
            (unsigned long long)a->calls);
    fprintf(f, ",\n  \"whole_block_samples\": %zu,\n  \"whole_calls\": %llu", cr->whole_block,
            (unsigned long long)cr->whole_calls);
    fprintf(f, ",\n  \"frames_chunked\": %zu,\n  \"frames_whole\": %zu,"
               "\n  \"frames_compared\": %zu",
            a->n_frames, b->n_frames, cr->frames_compared);
    fprintf(f, ",\n  \"max_abs_dp\": ");
    if (isinf(cr->max_dp))
        fputs("null", f); /* a NaN on one side only */
    else
        event_format_json_double(f, cr->max_dp);
    fprintf(f, ",\n  \"frames_differing\": %llu,\n  \"flags_differing\": %llu",
            (unsigned long long)cr->frames_differing, (unsigned long long)cr->flags_differing);
    fprintf(f, ",\n  \"first_differing_frame\": ");
    if (cr->first_frame >= 0) {
        size_t k = (size_t)cr->first_frame;
        fprintf(f, "{\"frame\": %lld, \"t_s\": ", cr->first_frame);
        event_format_json_double(f, (double)k / st->frame_rate);
        fprintf(f, ", \"p_chunked\": ");
        if (k < a->n_frames)
            event_format_json_float(f, a->prob[k]);
        else
            fputs("null", f);
        fprintf(f, ", \"p_whole\": ");
        if (k < b->n_frames)
            event_format_json_float(f, b->prob[k]);
        else
            fputs("null", f);
        fputc('}', f);
    } else {
        fputs("null", f);
    }
    fprintf(f, ",\n  \"records_chunked\": %zu,\n  \"records_whole\": %zu,"
               "\n  \"event_differences\": %zu,\n  \"first_event_difference\": ",
            a->recs.n, b->recs.n, cr->event_differences);
    if (cr->first_event >= 0) {
        fprintf(f, "{\"index\": %lld, \"field\": ", cr->first_event);
        event_format_json_string(f, cr->first_event_field);
        fputc('}', f);
    } else {
        fputs("null", f);
    }
    fprintf(f, "\n}\n");
    return report_close(f, path);
}

/* ---- main ------------------------------------------------------------------------- */

static void free_pass(struct pass *ps)
{
    ictal_pipeline_destroy(ps->p);
    free(ps->recs.v);
    free(ps->prob);
    free(ps->fflags);
    free(ps->quality_changes);
    free(ps->hist);
    memset(ps, 0, sizeof *ps);
}

static int init_pass(struct pass *ps, const struct ictal_model *m,
                     const struct ictal_config *cfg, int n_channels, double rate, size_t block,
                     const char *const *labels)
{
    struct ictal_error err;
    memset(ps, 0, sizeof *ps);
    ps->block = block;
    ps->n_channels = n_channels;
    ps->labels = labels;
    ps->quality_changes = calloc((size_t)n_channels, sizeof *ps->quality_changes);
    if (!ps->quality_changes) {
        prog_log_error("out of memory");
        return -1;
    }
    struct ictal_pipeline_config pc;
    if (ictal_pipeline_config_from(&pc, cfg, m, n_channels, rate, block, &err) < 0) {
        prog_log_error("%s", err.msg);
        return -1;
    }
    ps->p = ictal_pipeline_create(m, &pc, &err);
    if (!ps->p) {
        prog_log_error("%s", err.msg);
        return -1;
    }
    return 0;
}

static float **alloc_bufs(int n, size_t len)
{
    float **b = calloc((size_t)n, sizeof *b);
    if (!b)
        return NULL;
    for (int c = 0; c < n; c++)
        if (!(b[c] = malloc((len ? len : 1) * sizeof **b))) {
            for (int j = 0; j < c; j++)
                free(b[j]);
            free(b);
            return NULL;
        }
    return b;
}

static void free_bufs(float **b, int n)
{
    if (!b)
        return;
    for (int c = 0; c < n; c++)
        free(b[c]);
    free(b);
}

/* Command line and configuration. Returns 0 to go on, 1 when done (help,
 * version, print-config: *status says how it went), or -1 on error with
 * *status set. *cfgp and *modelp are created here. */
static const struct prog_cli run_cli = {
    .prog = PROG,
    .shorts = short_opts,
    .n_shorts = N_SHORT,
    .opts = run_opts,
    .n_opts = N_RUN_OPTS,
    .lists = list_opts,
    .n_lists = 1,
    .operand = true,
    .model_key = "run.model",
    .programs = ICTAL_CONFIG_PROG_RUN,
    .usage = usage,
};

static int setup(int argc, char **argv, struct ictal_config **cfgp, struct ictal_model **modelp,
                 struct run_options *o, int *status)
{
    memset(o, 0, sizeof *o);
    const char *edf = NULL;
    int rc = prog_args_setup(&run_cli, argc, argv, cfgp, modelp, &edf, status);
    if (rc != 0)
        return rc;
    struct ictal_config *cfg = *cfgp;
    *status = EXIT_USAGE;
    options_from_config(cfg, o);
    o->edf_path = edf;
    if (!o->model_path) {
        fprintf(stderr, PROG ": no model: give --model FILE (run.model) (see --help)\n");
        return -1;
    }
    if (!o->edf_path) {
        fprintf(stderr, PROG ": no recording: give an EDF/BDF file (see --help)\n");
        return -1;
    }
    if (o->formats == 0) {
        fprintf(stderr, PROG ": run.formats (from %s) is empty: nothing would be written\n",
                ictal_config_get_source(cfg, "run", "formats"));
        return -1;
    }
    return 0;
}

/* The prefix for json/csv_bi/alignment files: run.output, or the
 * recording's name without extension plus ".ictal" in the current directory. */
static void output_prefix(const struct run_options *o, char *buf, size_t cap)
{
    if (o->output && strcmp(o->output, "-") != 0) {
        snprintf(buf, cap, "%s", o->output);
        return;
    }
    char stem[NAME_MAX + 1];
    event_format_bname(o->edf_path, stem, sizeof stem);
    snprintf(buf, cap, "%s.ictal", stem[0] ? stem : "recording");
}

static int open_outputs(const struct run_options *o, struct outputs *out)
{
    char prefix[PATH_MAX];
    output_prefix(o, prefix, sizeof prefix);
    bool to_stdout = o->output && strcmp(o->output, "-") == 0;
    out->formats = o->formats;
    if (o->formats & FMT_JSON) {
        if (to_stdout) {
            out->json = stdout;
            out->json_is_stdout = true;
            snprintf(out->json_path, sizeof out->json_path, "(standard output)");
        } else {
            if (snprintf(out->json_path, sizeof out->json_path, "%s.jsonl", prefix) >=
                (int)sizeof out->json_path) {
                prog_log_error("%s: output path too long", prefix);
                return -1;
            }
            out->json = fopen(out->json_path, "w");
            if (!out->json) {
                prog_log_error("%s: cannot create: %s", out->json_path, strerror(errno));
                return -1;
            }
        }
    }
    if (o->formats & FMT_CSV_BI) {
        if (to_stdout) {
            out->csv = stdout;
            out->csv_is_stdout = true;
            snprintf(out->csv_path, sizeof out->csv_path, "(standard output)");
        } else {
            if (snprintf(out->csv_path, sizeof out->csv_path, "%s.csv_bi", prefix) >=
                (int)sizeof out->csv_path) {
                prog_log_error("%s: output path too long", prefix);
                return -1;
            }
            out->csv = fopen(out->csv_path, "w");
            if (!out->csv) {
                prog_log_error("%s: cannot create: %s", out->csv_path, strerror(errno));
                return -1;
            }
        }
    }
    return 0;
}

static int close_one(FILE *f, bool is_stdout, const char *path)
{
    if (is_stdout)
        return fflush(stdout) != 0 || ferror(stdout) ? -1 : 0;
    return report_close(f, path);
}

static int close_outputs(struct outputs *out)
{
    int rc = 0;
    if (out->json && close_one(out->json, out->json_is_stdout, out->json_path) < 0)
        rc = -1;
    if (out->csv && close_one(out->csv, out->csv_is_stdout, out->csv_path) < 0)
        rc = -1;
    out->json = out->csv = NULL;
    if (out->write_error)
        rc = -1;
    return rc;
}

int main(int argc, char **argv)
{
    struct ictal_config *cfg = NULL;
    struct ictal_model *model = NULL;
    struct run_options o;
    int status;
    int rc = setup(argc, argv, &cfg, &model, &o, &status);
    if (rc != 0) {
        ictal_model_destroy(model);
        ictal_config_destroy(cfg);
        return status;
    }
    prog_log_setup(PROG, cfg);
    status = EXIT_FAIL;

    struct ictal_error err;
    struct ictal_edf *edf = NULL;
    char **labels = NULL;
    int C = 0;
    float **bufs = NULL;
    double *gains = NULL;
    struct pass main_pass, whole_pass;
    memset(&main_pass, 0, sizeof main_pass);
    memset(&whole_pass, 0, sizeof whole_pass);
    struct outputs out;
    memset(&out, 0, sizeof out);
    struct progress pg;
    memset(&pg, 0, sizeof pg);
    bool outputs_open = false;

    const struct ictal_model_info *mi = ictal_model_info(model);
    edf = ictal_edf_open(o.edf_path, &err);
    if (!edf) {
        prog_log_error("%s", err.msg);
        goto done;
    }
    if (select_channels(edf, o.edf_path, mi, &o, o.model_path) < 0)
        goto done;
    C = (int)ictal_edf_selected_count(edf);
    double rate = ictal_edf_rate(edf);
    int64_t len = ictal_edf_length(edf);
    double duration = rate > 0 ? (double)len / rate : 0;
    double ratio = mi->sample_rate / rate;
    if (!(rate > 0) || !(ratio >= 1.0 / 256.0 && ratio <= 256.0)) {
        prog_log_error("%s: signal rate %g Hz cannot be converted to the model's %g Hz "
                       "(libsamplerate converts ratios 1/256..256 only)",
                       o.edf_path, rate, mi->sample_rate);
        goto done;
    }
    labels = display_labels(edf, (size_t)C);
    gains = malloc((size_t)C * sizeof *gains);
    if (!labels || !gains) {
        prog_log_error("out of memory");
        goto done;
    }
    for (int c = 0; c < C; c++) {
        const struct ictal_edf_signal *s = ictal_edf_selected(edf, c);
        bool known;
        gains[c] = ictal_edf_unit_to_uv(s->unit, &known);
        if (!known)
            prog_log_warning("%s: signal %s has unit '%s': read as uV", o.edf_path, labels[c],
                             s->unit);
    }

    size_t block = o.chunk;
    if (block == 0)
        block = o.check ? CHECK_DEFAULT_CHUNK
                        : (size_t)ictal_edf_selected(edf, 0)->samples_per_record;
    if (len > 0 && (int64_t)block > len)
        block = (size_t)len; /* no bigger buffers than the file needs */
    if (block == 0)
        block = 1;

    /* Outputs and the report directory before any work. */
    if (o.report && report_make_dirs(o.report) < 0) {
        prog_log_error("%s: cannot create the report directory: %s", o.report, strerror(errno));
        goto done;
    }
    if (open_outputs(&o, &out) < 0)
        goto done;
    outputs_open = true;
    out.ctx.file = o.edf_path;
    out.ctx.labels = (const char *const *)labels;
    out.ctx.n_labels = C;
    out.pg = &pg;

    if (init_pass(&main_pass, model, cfg, C, rate, block,
                  (const char *const *)labels) < 0)
        goto done;
    main_pass.hist = calloc(1, sizeof *main_pass.hist); /* zeroed: a valid empty histogram */
    if (!main_pass.hist || !(bufs = alloc_bufs(C, block))) {
        prog_log_error("out of memory");
        goto done;
    }
    main_pass.keep_frames = o.check;

    pg.on = o.progress == 1 || (o.progress == 0 && isatty(STDERR_FILENO) &&
                                duration > PROGRESS_MIN_S);
    pg.n_passes = o.check ? 2 : 1;
    pg.pass = 1;
    pg.total = len;
    pg.rate = rate;
    pg.t0 = pg.t_last = now_s();
    prog_log(PROG_LOG_DEBUG, "%s: %d channel(s) at %g Hz, %.3f s; model %s at %g Hz; chunk %zu",
             o.edf_path, C, rate, duration, mi->name, mi->sample_rate, block);

    double t_main = now_s();
    if (run_pass(edf, &main_pass, bufs, gains, &out, &pg) < 0)
        goto done;
    double main_wall = now_s() - t_main;
    if (out.csv) {
        char bname[NAME_MAX + 1];
        event_format_bname(o.edf_path, bname, sizeof bname);
        const struct ictal_edf_info *info = ictal_edf_info(edf);
        if (event_format_csv_bi(out.csv, bname, info->duration_s, main_pass.recs.v,
                                main_pass.recs.n) < 0)
            out.write_error = true;
    }
    outputs_open = false;
    if (close_outputs(&out) < 0) {
        prog_log_error("writing the events failed");
        goto done;
    }

    struct run_state st = {
        .edf_path = o.edf_path, .model_path = o.model_path, .cfg = cfg, .edf = edf,
        .model = model, .labels = (const char *const *)labels, .n_channels = C,
        .input_rate = rate, .model_rate = ictal_pipeline_model_rate(main_pass.p),
        .frame_rate = ictal_pipeline_frame_rate(main_pass.p), .duration_s = duration,
        .main = &main_pass, .wall_s = main_wall,
    };

    struct check_result cr;
    memset(&cr, 0, sizeof cr);
    if (o.check) {
        /* the same file in blocks as large as memory sensibly allows: one
         * process() call for most recordings */
        size_t whole = CHECK_WHOLE_BYTES / (sizeof(float) * (size_t)C);
        if (whole > CHECK_WHOLE_MAX)
            whole = CHECK_WHOLE_MAX;
        if ((int64_t)whole > len)
            whole = (size_t)len;
        if (whole < block)
            whole = block;
        free_bufs(bufs, C);
        bufs = NULL;
        if (init_pass(&whole_pass, model, cfg, C, rate, whole,
                      (const char *const *)labels) < 0)
            goto done;
        if (!(bufs = alloc_bufs(C, whole))) {
            prog_log_error("out of memory for the whole-block run (%zu samples x %d channels)",
                           whole, C);
            goto done;
        }
        whole_pass.keep_frames = true;
        pg.pass = 2;
        pg.t0 = pg.t_last = now_s();
        if (run_pass(edf, &whole_pass, bufs, gains, NULL, &pg) < 0)
            goto done;
        cr.whole_block = whole;
        cr.whole_calls = whole_pass.calls;
        compare_passes(&main_pass, &whole_pass, &cr);
        st.check_done = 1;
        st.check_passed = cr.passed;
        char apath[PATH_MAX + 32];
        if (o.report) {
            snprintf(apath, sizeof apath, "%s/streaming_alignment.json", o.report);
        } else {
            char prefix[PATH_MAX];
            output_prefix(&o, prefix, sizeof prefix);
            snprintf(apath, sizeof apath, "%s.streaming_alignment.json", prefix);
        }
        if (write_alignment(apath, &st, &main_pass, &whole_pass, &cr) < 0)
            goto done;
        if (cr.passed)
            prog_log_info("check passed: %zu frames identical in chunks of %zu and blocks of "
                          "%zu samples, %zu records identical (%s)",
                          cr.frames_compared, block, whole, main_pass.recs.n, apath);
        else
            prog_log_error("check FAILED: chunks of %zu vs blocks of %zu samples: %llu of %zu "
                           "frames differ (first %lld, max |dp| %g), %zu record difference(s) (%s)",
                           block, whole, (unsigned long long)cr.frames_differing,
                           cr.frames_compared, cr.first_frame, cr.max_dp, cr.event_differences,
                           apath);
    }

    if (o.report) {
        if (write_summary(&st, o.report) < 0 || report_write_config_snapshot(o.report, cfg, ICTAL_CONFIG_PROG_RUN) < 0 ||
            report_write_model_info(o.report, o.model_path, model, C, ictal_pipeline_get_config(main_pass.p)->gemm) < 0 || write_latency(&st, o.report) < 0)
            goto done;
    }

    uint64_t by[4] = { 0, 0, 0, 0 };
    for (size_t i = 0; i < main_pass.recs.n; i++)
        if (main_pass.recs.v[i].kind >= ICTAL_EVENT_ALARM &&
            main_pass.recs.v[i].kind <= ICTAL_EVENT_FINAL)
            by[main_pass.recs.v[i].kind]++;
    struct ictal_pipeline_stats pst;
    ictal_pipeline_stats(main_pass.p, &pst);
    prog_log_info("%s: %.1f s, %d channel(s), %llu frames: %llu event(s), %llu alarm(s), "
                  "%llu cancelled; %.2f s, x%.0f real time",
                  o.edf_path, duration, C, (unsigned long long)pst.frames,
                  (unsigned long long)distinct_final_events(&main_pass.recs),
                  (unsigned long long)by[ICTAL_EVENT_ALARM],
                  (unsigned long long)by[ICTAL_EVENT_CANCEL], main_wall,
                  main_wall > 0 ? duration / main_wall : 0.0);
    status = o.check && !cr.passed ? EXIT_CHECK : EXIT_OK;
done:
    free_pass(&main_pass);
    free_pass(&whole_pass);
    if (outputs_open)
        close_outputs(&out);
    free_bufs(bufs, C);
    free(gains);
    if (labels)
        for (int c = 0; c < C; c++)
            free(labels[c]);
    free(labels);
    ictal_edf_close(edf);
    ictal_model_destroy(model);
    ictal_config_destroy(cfg);
    prog_log_close();
    return status;
}
