/*
 * ictal-score — hypothesis vs reference seizure annotations: SzCORE event and
 * sample scoring, NEDC OVLP and detection latency, per recording, per
 * subject and pooled (docs/scoring.md).
 *
 *   ictal-score --ref rec.csv_bi --hyp rec.ictal.jsonl
 *   ictal-score --ref chb05-summary.txt --hyp chb05_06.ictal.jsonl
 *   ictal-score --ref-dir bids/ --hyp-dir out/ -f json -o scores.json
 *
 * Reading is ictal/annot.h, scoring ictal/score.h; this file pairs
 * recordings, finds their durations, adds up and prints. The scoring
 * settings are keys of [score] (src/config_keys.h); which files to read are
 * per-invocation options.
 *
 * Exit status: 0 scored, 1 an annotation could not be read or scored,
 * 2 usage or configuration error.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "ictal/annot.h"
#include "ictal/config.h"
#include "ictal/edf.h"
#include "ictal/score.h"
#include "ictal/version.h"
#include "event_format.h"
#include "prog_args.h"
#include "prog_log.h"

#define PROG "ictal-score"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };
enum { M_EVENT = 1u << 0, M_SAMPLE = 1u << 1, M_OVLP = 1u << 2, M_LATENCY = 1u << 3 };
enum { MISSING_ERROR = 0, MISSING_EMPTY = 1, MISSING_SKIP = 2 };

/* ---- options ---------------------------------------------------------------- */

static const struct ictal_config_option score_opts[] = {
    { "metrics", "score.metrics", NULL },
    { "pre-tolerance", "score.pre_tolerance", NULL },
    { "post-tolerance", "score.post_tolerance", NULL },
    { "merge-gap", "score.merge_gap", NULL },
    { "max-event", "score.max_event", NULL },
    { "sample-step", "score.sample_step", NULL },
    { "format", "score.format", NULL },
    { "output", "score.output", NULL },
    { "implausible", "score.implausible", NULL },
    { "clip-implausible", "score.implausible", "clip" },
    { "missing", "score.missing", NULL },
    { "subject-sep", "score.subject_sep", NULL },
};
#define N_SCORE_OPTS (sizeof score_opts / sizeof score_opts[0])

/* The program's own options (not keys: they name this run's files). */
static const char *const own_value_opts[] = { "ref", "hyp", "ref-dir", "hyp-dir", "duration",
                                              "recording", "ref-format", "hyp-format", "edf" };
#define N_OWN (sizeof own_value_opts / sizeof own_value_opts[0])

static const struct prog_short short_opts[] = {
    { 'r', "--ref", true }, { 'y', "--hyp", true }, { 'f', "--format", true },
    { 'o', "--output", true }, { 'd', "--duration", true }, { 'h', "--help", false },
};
#define N_SHORT (sizeof short_opts / sizeof short_opts[0])
static const char *const list_opts[] = { "metrics" };

struct options {
    char *own[N_OWN];         /* values of own_value_opts (malloc'd), NULL when not given */
    double duration_s;        /* --duration, NaN when not given */
    int ref_format, hyp_format;
    struct ictal_score_params params;
    unsigned metrics;
    bool json;
    const char *output;
    bool clip;
    int missing;
    const char *subject_sep;
};
#define O_REF own[0]
#define O_HYP own[1]
#define O_REF_DIR own[2]
#define O_HYP_DIR own[3]
#define O_DURATION own[4]
#define O_RECORDING own[5]
#define O_REF_FORMAT own[6]
#define O_HYP_FORMAT own[7]
#define O_EDF own[8]

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " --ref REF --hyp HYP [OPTIONS]\n"
"       " PROG " --ref-dir DIR --hyp-dir DIR [OPTIONS]\n"
"Score seizure detections (hypothesis) against expert annotations (reference):\n"
"SzCORE event and sample scoring, NEDC OVLP and detection latency, per\n"
"recording, per subject and pooled. docs/scoring.md states every rule.\n"
"\n"
"Annotations: CSV_BI (.csv_bi), BIDS/SzCORE events.tsv, CHB-MIT chbNN-summary.txt,\n"
"Siena Seizures-list-PNxx.txt, ictal JSON Lines (.jsonl; alarms give latency).\n"
"\n"
"  -r, --ref FILE           reference annotation of one recording (or a CHB-MIT /\n"
"                           Siena list holding it)\n"
"  -y, --hyp FILE           hypothesis annotation of that recording\n"
"      --ref-dir DIR        every reference annotation under DIR ...\n"
"      --hyp-dir DIR        ... paired by recording name with those under DIR\n"
"                           (rec.csv_bi <-> rec.ictal.jsonl, sub-01_..._events.tsv\n"
"                           <-> the same name)\n"
"      --recording NAME     which recording of a multi-recording reference\n"
"  -d, --duration DUR       recording length (90, 90s, 10min, 1h) when the\n"
"                           annotations do not give it\n"
"      --edf FILE           take the recording length from this EDF header\n"
"      --ref-format F, --hyp-format F\n"
"                           csv_bi, tsv, chbmit, siena, jsonl (default: detect)\n"
"      --metrics LIST       szcore_event, szcore_sample, ovlp, latency [metrics]\n"
"      --pre-tolerance DUR  SzCORE window before a reference onset (30 s) [pre_tolerance]\n"
"      --post-tolerance DUR SzCORE window after a reference offset (60 s) [post_tolerance]\n"
"      --merge-gap DUR      merge events closer than this (90 s) [merge_gap]\n"
"      --max-event DUR      split events longer than this (300 s) [max_event]\n"
"      --sample-step DUR    SzCORE label length (1 s) [sample_step]\n"
"  -f, --format F           text (default) or json [format]\n"
"  -o, --output FILE        write the scores to FILE (default: standard output) [output]\n"
"      --implausible error|clip, --clip-implausible\n"
"                           a seizure outside its recording: fail (default) or cut it\n"
"                           with a warning [implausible]\n"
"      --missing error|empty|skip\n"
"                           a reference recording without hypothesis (directory\n"
"                           mode): fail (default), score as no detections, skip [missing]\n"
"      --subject-sep CHARS  subject = recording name up to the first of CHARS when\n"
"                           the data set does not say (default \"_-\") [subject_sep]\n"
"  -h, --help, --version\n"
"\n%s"
"\nThe [score] keys may also come from a config file, a --profile or\n"
"ICTAL_SCORE_<KEY>. Exit status: 0 scored, 1 an annotation could not be read\n"
"or scored, 2 usage or configuration error.\n",
            ictal_config_cli_help());
}

/* "90", "90s", "1.5min", "1h", "1h30m" → seconds; NaN when malformed. */
static double parse_duration(const char *s)
{
    double total = 0;
    bool any = false;
    while (*s) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno || !isfinite(v) || v < 0)
            return NAN;
        s = end;
        double mul = 1;
        if (strncmp(s, "min", 3) == 0) {
            mul = 60;
            s += 3;
        } else if (*s == 'h') {
            mul = 3600;
            s++;
        } else if (*s == 'm' && s[1] != 's') {
            mul = 60;
            s++;
        } else if (*s == 's') {
            s++;
        } else if (*s) {
            return NAN;
        }
        total += v * mul;
        any = true;
    }
    return any ? total : NAN;
}

static int own_index(char *arg, char **val)
{
    if (strncmp(arg, "--", 2) != 0)
        return -1;
    for (size_t i = 0; i < N_OWN; i++) {
        size_t n = strlen(own_value_opts[i]);
        if (strncmp(arg + 2, own_value_opts[i], n) == 0 &&
            (arg[2 + n] == '\0' || arg[2 + n] == '=')) {
            *val = arg[2 + n] == '=' ? arg + 3 + n : NULL;
            return (int)i;
        }
    }
    return -1;
}

static int options_from_config(const struct ictal_config *cfg, struct options *o)
{
    o->params.pre_tolerance_s = ictal_config_get_double(cfg, "score", "pre_tolerance");
    o->params.post_tolerance_s = ictal_config_get_double(cfg, "score", "post_tolerance");
    o->params.merge_gap_s = ictal_config_get_double(cfg, "score", "merge_gap");
    o->params.max_event_s = ictal_config_get_double(cfg, "score", "max_event");
    o->params.sample_step_s = ictal_config_get_double(cfg, "score", "sample_step");
    const char *const *items = NULL;
    size_t n = ictal_config_get_list(cfg, "score", "metrics", &items);
    o->metrics = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(items[i], "szcore_event") == 0)
            o->metrics |= M_EVENT;
        else if (strcmp(items[i], "szcore_sample") == 0)
            o->metrics |= M_SAMPLE;
        else if (strcmp(items[i], "ovlp") == 0)
            o->metrics |= M_OVLP;
        else if (strcmp(items[i], "latency") == 0)
            o->metrics |= M_LATENCY;
    }
    if (!o->metrics) {
        fprintf(stderr, PROG ": %s: score.metrics is empty: nothing to compute\n",
                ictal_config_get_source(cfg, "score", "metrics"));
        return -1;
    }
    o->json = ictal_config_get_enum(cfg, "score", "format") == 1;
    const char *out = ictal_config_get_string(cfg, "score", "output");
    o->output = out && out[0] && strcmp(out, "-") != 0 ? out : NULL;
    o->clip = ictal_config_get_enum(cfg, "score", "implausible") == 1;
    o->missing = ictal_config_get_enum(cfg, "score", "missing");
    o->subject_sep = ictal_config_get_string(cfg, "score", "subject_sep");
    if (!o->subject_sep)
        o->subject_sep = "";
    return 0;
}

/* Returns 0 to go on, 1 when done (help, version, print-config), -1 on a
 * usage or configuration error (messages printed). */
static int setup(int argc, char **argv, struct ictal_config **cfgp, struct options *o)
{
    memset(o, 0, sizeof *o);
    o->duration_s = NAN;
    struct ictal_error err;
    struct ictal_config *cfg = ictal_config_create(&err);
    *cfgp = cfg;
    if (!cfg) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return -1;
    }
    /* our own value options must not be mistaken for operands by the rewrite:
     * give it a table with them as value options */
    struct ictal_config_option all[N_SCORE_OPTS + N_OWN];
    memcpy(all, score_opts, sizeof score_opts);
    for (size_t i = 0; i < N_OWN; i++)
        all[N_SCORE_OPTS + i] = (struct ictal_config_option){ own_value_opts[i], "score.own", NULL };
    struct prog_args pa;
    if (prog_args_rewrite(PROG, argc, argv, short_opts, N_SHORT, all, N_SCORE_OPTS + N_OWN,
                          list_opts, 1, &pa) < 0)
        return -1;
    /* take our own options out before the configuration parses the rest */
    int n = 1, rc = 0;
    bool help = false, version = false;
    for (int i = 1; i < pa.argc; i++) {
        char *a = pa.argv[i], *val;
        int k = own_index(a, &val);
        if (k >= 0) {
            if (!val) {
                if (i + 1 >= pa.argc) {
                    fprintf(stderr, PROG ": option %s needs a value\n", a);
                    rc = -1;
                    continue;
                }
                val = pa.argv[++i];
            }
            if (o->own[k]) {
                fprintf(stderr, PROG ": option --%s given twice\n", own_value_opts[k]);
                rc = -1;
            }
            o->own[k] = val;
        } else if (strcmp(a, "--help") == 0) {
            help = true;
        } else if (strcmp(a, "--version") == 0) {
            version = true;
        } else {
            pa.argv[n++] = pa.argv[i];
        }
    }
    pa.argv[n] = NULL;
    struct ictal_config_cli cli;
    memset(&cli, 0, sizeof cli);
    int cfg_rc = ictal_config_setup(cfg, &n, pa.argv, score_opts, N_SCORE_OPTS, &cli, &err);
    for (int i = 1; i < n; i++) {
        const char *a = pa.argv[i];
        if (strcmp(a, "--") == 0 && i + 1 == n)
            break;
        fprintf(stderr, PROG ": %s '%s' (see --help)\n",
                a[0] == '-' && a[1] ? "unknown option" : "unexpected argument", a);
        rc = -1;
    }
    if (help || version) {
        /* the strings in o->own point into pa: not needed any more */
        prog_args_free(&pa);
        memset(o->own, 0, sizeof o->own);
        if (help)
            usage(stdout);
        else
            printf(PROG " %s\n", ICTAL_VERSION_STRING);
        return 1;
    }
    if (cfg_rc != 0) {
        ictal_config_print_errors(cfg, stderr, PROG);
        rc = -1;
    }
    if (rc < 0) {
        prog_args_free(&pa);
        memset(o->own, 0, sizeof o->own);
        return -1;
    }
    if (cli.print_config) {
        prog_args_free(&pa);
        memset(o->own, 0, sizeof o->own);
        return ictal_config_print(cfg, stdout, ICTAL_CONFIG_PROG_SCORE) == 0 ? 1 : -1;
    }
    /* keep our values: copy them (argv strings outlive pa anyway, joined
     * lists do not, and none of ours is a list) */
    for (size_t i = 0; i < N_OWN; i++)
        if (o->own[i] && !(o->own[i] = strdup(o->own[i]))) {
            fprintf(stderr, PROG ": out of memory\n");
            rc = -1;
        }
    prog_args_free(&pa);
    if (rc < 0 || options_from_config(cfg, o) < 0)
        return -1;
    if (o->O_DURATION) {
        o->duration_s = parse_duration(o->O_DURATION);
        if (!(o->duration_s > 0)) {
            fprintf(stderr, PROG ": --duration %s: not a positive duration (90, 90s, 10min, 1h)\n",
                    o->O_DURATION);
            return -1;
        }
    }
    o->ref_format = o->hyp_format = ICTAL_ANNOT_AUTO;
    const char *fmts[2] = { o->O_REF_FORMAT, o->O_HYP_FORMAT };
    int *dst[2] = { &o->ref_format, &o->hyp_format };
    for (int i = 0; i < 2; i++) {
        if (!fmts[i])
            continue;
        int f = ictal_annot_format_from_name(fmts[i]);
        if (f < 0) {
            fprintf(stderr, PROG ": --%s-format %s: expected csv_bi, tsv, chbmit, siena, jsonl "
                            "or auto\n", i ? "hyp" : "ref", fmts[i]);
            return -1;
        }
        *dst[i] = f;
    }
    bool single = o->O_REF || o->O_HYP, dir = o->O_REF_DIR || o->O_HYP_DIR;
    if (single && dir) {
        fprintf(stderr, PROG ": give --ref/--hyp (one recording) or --ref-dir/--hyp-dir, "
                        "not both\n");
        return -1;
    }
    if (single && (!o->O_REF || !o->O_HYP)) {
        fprintf(stderr, PROG ": --%s is missing: give both --ref and --hyp\n",
                o->O_REF ? "hyp" : "ref");
        return -1;
    }
    if (dir && (!o->O_REF_DIR || !o->O_HYP_DIR)) {
        fprintf(stderr, PROG ": --%s is missing: give both --ref-dir and --hyp-dir\n",
                o->O_REF_DIR ? "hyp-dir" : "ref-dir");
        return -1;
    }
    if (!single && !dir) {
        fprintf(stderr, PROG ": nothing to score: give --ref and --hyp, or --ref-dir and "
                        "--hyp-dir (see --help)\n");
        return -1;
    }
    if (dir && (o->O_RECORDING || o->O_DURATION || o->O_EDF)) {
        fprintf(stderr, PROG ": --recording, --duration and --edf name one recording: use "
                        "them with --ref/--hyp\n");
        return -1;
    }
    return 0;
}

static void options_free(struct options *o)
{
    for (size_t i = 0; i < N_OWN; i++)
        free(o->own[i]);
}

/* ---- the recordings to score ------------------------------------------------- */

struct item {
    char name[256];
    char subject[256];
    const char *ref_path, *hyp_path;      /* hyp_path NULL: no hypothesis (empty) */
    const struct ictal_annot_recording *ref, *hyp;
    double duration_s;
    char duration_from[PATH_MAX + 400];
    struct ictal_score_file sf;
};

struct run {
    struct options *o;
    struct ictal_annot **annots;
    char **paths;
    size_t n_annots, cap_annots;
    struct item *items;
    size_t n_items, cap_items;
};

static struct ictal_annot *load(struct run *R, const char *path, int format)
{
    struct ictal_annot_options ao = { .format = (enum ictal_annot_format)format,
                                      .clip_implausible = R->o->clip };
    struct ictal_error err;
    struct ictal_annot *a = ictal_annot_read(path, &ao, &err);
    if (!a) {
        prog_log_error("%s", err.msg);
        if (err.code == ICTAL_ERANGE && !R->o->clip)
            prog_log_error("(give --clip-implausible to cut such events to the recording "
                           "instead, after checking the file)");
        return NULL;
    }
    for (size_t i = 0; i < ictal_annot_warning_count(a); i++)
        prog_log_warning("%s", ictal_annot_warning(a, i));
    if (R->n_annots == R->cap_annots) {
        size_t c = R->cap_annots ? 2 * R->cap_annots : 16;
        struct ictal_annot **v = realloc(R->annots, c * sizeof *v);
        char **p = realloc(R->paths, c * sizeof *p);
        if (v)
            R->annots = v;
        if (p)
            R->paths = p;
        if (!v || !p) {
            prog_log_error("out of memory");
            ictal_annot_destroy(a);
            return NULL;
        }
        R->cap_annots = c;
    }
    char *pc = strdup(path);
    if (!pc) {
        prog_log_error("out of memory");
        ictal_annot_destroy(a);
        return NULL;
    }
    R->annots[R->n_annots] = a;
    R->paths[R->n_annots] = pc;
    R->n_annots++;
    return a;
}

static struct item *new_item(struct run *R)
{
    if (R->n_items == R->cap_items) {
        size_t c = R->cap_items ? 2 * R->cap_items : 16;
        struct item *v = realloc(R->items, c * sizeof *v);
        if (!v) {
            prog_log_error("out of memory");
            return NULL;
        }
        R->items = v;
        R->cap_items = c;
    }
    struct item *it = &R->items[R->n_items++];
    memset(it, 0, sizeof *it);
    it->duration_s = NAN;
    return it;
}

/* The subject: the data set's own (CHB-MIT, Siena, BIDS name), a sub-XX
 * directory on the path, else the name up to the first separator. */
static void subject_of(const struct options *o, const struct ictal_annot_recording *r,
                       const char *path, char *buf, size_t cap)
{
    if (r->subject && r->subject[0]) {
        snprintf(buf, cap, "%s", r->subject);
        return;
    }
    for (const char *p = path; p && (p = strstr(p, "sub-")); p += 4)
        if (p == path || p[-1] == '/') {
            size_t k = strcspn(p, "/_");
            snprintf(buf, cap, "%.*s", (int)k, p);
            return;
        }
    size_t k = strcspn(r->name, o->subject_sep);
    snprintf(buf, cap, "%.*s", (int)(k > 0 ? k : strlen(r->name)), r->name);
}

/* An EDF named like the recording next to the reference, if there is one. */
static bool edf_duration(const char *edf, double *d)
{
    struct ictal_error err;
    struct ictal_edf *e = ictal_edf_open(edf, &err);
    if (!e) {
        prog_log_error("%s", err.msg);
        return false;
    }
    *d = ictal_edf_info(e)->duration_s;
    ictal_edf_close(e);
    return *d > 0;
}

static const char *dir_of(const char *path, char *buf, size_t cap)
{
    const char *s = strrchr(path, '/');
    if (!s)
        snprintf(buf, cap, ".");
    else
        snprintf(buf, cap, "%.*s", (int)(s - path), path);
    return buf;
}

/* Where the duration comes from: --duration, --edf, the reference, the
 * hypothesis, an EDF next to the reference. Returns 0 or -1 (reported). */
static int find_duration(const struct options *o, struct item *it)
{
    double rd = it->ref->duration_s, hd = it->hyp ? it->hyp->duration_s : NAN;
    if (!isnan(o->duration_s)) {
        it->duration_s = o->duration_s;
        snprintf(it->duration_from, sizeof it->duration_from, "--duration");
    } else if (o->O_EDF) {
        if (!edf_duration(o->O_EDF, &it->duration_s))
            return -1;
        snprintf(it->duration_from, sizeof it->duration_from, "EDF %s", o->O_EDF);
    } else if (!isnan(rd)) {
        it->duration_s = rd;
        snprintf(it->duration_from, sizeof it->duration_from, "reference (%s)",
                 it->ref->duration_from ? it->ref->duration_from : "annotation");
    } else if (!isnan(hd)) {
        it->duration_s = hd;
        snprintf(it->duration_from, sizeof it->duration_from, "hypothesis (%s)",
                 it->hyp->duration_from ? it->hyp->duration_from : "annotation");
    } else {
        char dir[PATH_MAX], edf[PATH_MAX + 300];
        dir_of(it->ref_path, dir, sizeof dir);
        snprintf(edf, sizeof edf, "%s/%s.edf", dir, it->name);
        struct stat st;
        if (stat(edf, &st) != 0) {
            prog_log_error("%s: the length of recording %s is unknown: neither annotation gives "
                           "it and there is no %s; give --duration or --edf", it->ref_path,
                           it->name, edf);
            return -1;
        }
        if (!edf_duration(edf, &it->duration_s))
            return -1;
        snprintf(it->duration_from, sizeof it->duration_from, "EDF %s", edf);
    }
    if (!isnan(rd) && !isnan(hd) && fabs(rd - hd) > 1.0)
        prog_log_warning("%s: the hypothesis gives %.3f s and the reference %.3f s for %s; "
                         "%.3f s (%s) is used", it->hyp_path, hd, rd, it->name, it->duration_s,
                         it->duration_from);
    return 0;
}

static int add_pair(struct run *R, const char *ref_path, const struct ictal_annot_recording *ref,
                    const char *hyp_path, const struct ictal_annot_recording *hyp)
{
    struct item *it = new_item(R);
    if (!it)
        return -1;
    snprintf(it->name, sizeof it->name, "%s", ref->name);
    subject_of(R->o, ref, ref_path, it->subject, sizeof it->subject);
    it->ref_path = ref_path;
    it->ref = ref;
    it->hyp_path = hyp_path;
    it->hyp = hyp;
    return 0;
}

static int pair_single(struct run *R)
{
    const struct options *o = R->o;
    struct ictal_annot *ra = load(R, o->O_REF, o->ref_format);
    if (!ra)
        return -1;
    struct ictal_annot *ha = load(R, o->O_HYP, o->hyp_format);
    if (!ha)
        return -1;
    const struct ictal_annot_recording *ref = NULL, *hyp = NULL;
    const char *want = o->O_RECORDING;
    if (!want && ictal_annot_count(ra) > 1 && ictal_annot_count(ha) == 1)
        want = ictal_annot_recording(ha, 0)->name;
    if (ictal_annot_count(ra) == 1 && !o->O_RECORDING) {
        ref = ictal_annot_recording(ra, 0);
    } else if (want) {
        ref = ictal_annot_find(ra, want);
        if (!ref) {
            prog_log_error("%s has no recording %s%s", o->O_REF, want,
                           o->O_RECORDING ? "" : " (the hypothesis's; give --recording)");
            return -1;
        }
    } else {
        prog_log_error("%s holds %zu recordings: say which with --recording NAME (e.g. %s)",
                       o->O_REF, ictal_annot_count(ra), ictal_annot_recording(ra, 0)->name);
        return -1;
    }
    if (ictal_annot_count(ha) == 1) {
        hyp = ictal_annot_recording(ha, 0);
    } else if (!(hyp = ictal_annot_find(ha, ref->name))) {
        prog_log_error("%s holds %zu recordings and none is %s", o->O_HYP, ictal_annot_count(ha),
                       ref->name);
        return -1;
    }
    return add_pair(R, o->O_REF, ref, o->O_HYP, hyp);
}

/* ---- directory mode ---------------------------------------------------------- */

struct pathlist {
    char **v;
    size_t n, cap;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcmp(s + n - k, suf) == 0;
}

/* Annotation files by name: those the readers know, nothing else (a BIDS
 * tree also has participants.tsv, EDF files, sidecar JSON). */
static bool annotation_name(const char *base)
{
    return ends_with(base, ".csv_bi") || ends_with(base, "_events.tsv") ||
           ends_with(base, ".jsonl") || ends_with(base, "-summary.txt") ||
           (strncmp(base, "Seizures-list-", 14) == 0 && ends_with(base, ".txt"));
}

static int walk(const char *dir, struct pathlist *pl, int depth)
{
    if (depth > 16) {
        prog_log_error("%s: directories nested too deep", dir);
        return -1;
    }
    DIR *d = opendir(dir);
    if (!d) {
        prog_log_error("%s: cannot open directory: %s", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path) {
            prog_log_error("%s/%s: path too long", dir, de->d_name);
            rc = -1;
            break;
        }
        struct stat st;
        if (stat(path, &st) != 0)
            continue; /* a dangling link */
        if (S_ISDIR(st.st_mode)) {
            rc = walk(path, pl, depth + 1);
        } else if (S_ISREG(st.st_mode) && annotation_name(de->d_name)) {
            if (pl->n == pl->cap) {
                size_t c = pl->cap ? 2 * pl->cap : 32;
                char **v = realloc(pl->v, c * sizeof *v);
                if (!v) {
                    prog_log_error("out of memory");
                    rc = -1;
                    break;
                }
                pl->v = v;
                pl->cap = c;
            }
            if (!(pl->v[pl->n] = strdup(path))) {
                prog_log_error("out of memory");
                rc = -1;
                break;
            }
            pl->n++;
        }
    }
    closedir(d);
    return rc;
}

static void pathlist_free(struct pathlist *pl)
{
    for (size_t i = 0; i < pl->n; i++)
        free(pl->v[i]);
    free(pl->v);
}

/* Preference when several hypothesis files name one recording: JSON Lines
 * (it carries alarm times), then CSV_BI, then events.tsv. */
static int hyp_rank(enum ictal_annot_format f)
{
    return f == ICTAL_ANNOT_JSONL ? 3 : f == ICTAL_ANNOT_CSV_BI ? 2 : 1;
}

static int pair_dirs(struct run *R)
{
    const struct options *o = R->o;
    struct pathlist rp = { 0 }, hp = { 0 };
    int rc = walk(o->O_REF_DIR, &rp, 0);
    if (rc == 0)
        rc = walk(o->O_HYP_DIR, &hp, 0);
    if (rc == 0 && rp.n == 0) {
        prog_log_error("%s: no reference annotations (*.csv_bi, *_events.tsv, *.jsonl, "
                       "*-summary.txt, Seizures-list-*.txt) in it", o->O_REF_DIR);
        rc = -1;
    }
    if (rp.n > 1)
        qsort(rp.v, rp.n, sizeof *rp.v, cmp_str);
    if (hp.n > 1)
        qsort(hp.v, hp.n, sizeof *hp.v, cmp_str);
    size_t first_hyp = 0;
    struct {
        const struct ictal_annot_recording *r;
        const char *path;
        int rank;
        bool used;
    } *hyps = NULL;
    size_t nh = 0;
    for (size_t i = 0; rc == 0 && i < rp.n; i++)
        if (!load(R, rp.v[i], o->ref_format))
            rc = -1;
    first_hyp = R->n_annots;
    for (size_t i = 0; rc == 0 && i < hp.n; i++)
        if (!load(R, hp.v[i], o->hyp_format))
            rc = -1;
    size_t total = 0;
    for (size_t a = first_hyp; rc == 0 && a < R->n_annots; a++)
        total += ictal_annot_count(R->annots[a]);
    if (rc == 0 && !(hyps = calloc(total ? total : 1, sizeof *hyps))) {
        prog_log_error("out of memory");
        rc = -1;
    }
    for (size_t a = first_hyp; rc == 0 && a < R->n_annots; a++) {
        const struct ictal_annot *an = R->annots[a];
        int rank = hyp_rank(ictal_annot_get_format(an));
        for (size_t i = 0; i < ictal_annot_count(an); i++) {
            const struct ictal_annot_recording *r = ictal_annot_recording(an, i);
            size_t k = 0;
            while (k < nh && strcmp(hyps[k].r->name, r->name) != 0)
                k++;
            if (k < nh) {
                if (hyps[k].rank == rank) {
                    prog_log_error("two hypotheses for recording %s: %s and %s", r->name,
                                   hyps[k].path, R->paths[a]);
                    rc = -1;
                    break;
                }
                if (hyps[k].rank > rank)
                    continue;
            } else {
                nh++;
            }
            hyps[k].r = r;
            hyps[k].path = R->paths[a];
            hyps[k].rank = rank;
        }
    }
    size_t missing = 0;
    for (size_t a = 0; rc == 0 && a < first_hyp; a++) {
        const struct ictal_annot *an = R->annots[a];
        for (size_t i = 0; rc == 0 && i < ictal_annot_count(an); i++) {
            const struct ictal_annot_recording *r = ictal_annot_recording(an, i);
            for (size_t j = 0; j < R->n_items; j++)
                if (strcmp(R->items[j].name, r->name) == 0) {
                    prog_log_error("recording %s is annotated twice: %s and %s", r->name,
                                   R->items[j].ref_path, R->paths[a]);
                    rc = -1;
                }
            if (rc < 0)
                break;
            size_t k = 0;
            while (k < nh && strcmp(hyps[k].r->name, r->name) != 0)
                k++;
            if (k == nh) {
                missing++;
                if (o->missing == MISSING_ERROR)
                    prog_log_error("no hypothesis for recording %s (reference %s)", r->name,
                                   R->paths[a]);
                else if (o->missing == MISSING_EMPTY)
                    rc = add_pair(R, R->paths[a], r, NULL, NULL);
                continue;
            }
            hyps[k].used = true;
            rc = add_pair(R, R->paths[a], r, hyps[k].path, hyps[k].r);
        }
    }
    if (rc == 0 && missing > 0 && o->missing == MISSING_ERROR) {
        prog_log_error("%zu recording(s) without a hypothesis under %s: give --missing empty "
                       "(score them as no detections, as SzCORE does) or --missing skip",
                       missing, o->O_HYP_DIR);
        rc = -1;
    } else if (rc == 0 && missing > 0) {
        prog_log_warning("%zu recording(s) without a hypothesis %s", missing,
                         o->missing == MISSING_EMPTY ? "scored as no detections" : "skipped");
    }
    for (size_t k = 0; rc == 0 && k < nh; k++)
        if (!hyps[k].used)
            prog_log_warning("%s: recording %s has no reference under %s: not scored",
                             hyps[k].path, hyps[k].r->name, o->O_REF_DIR);
    if (rc == 0 && R->n_items == 0) {
        prog_log_error("no recording to score");
        rc = -1;
    }
    free(hyps);
    pathlist_free(&rp);
    pathlist_free(&hp);
    return rc;
}

/* ---- scoring ----------------------------------------------------------------- */

static int cmp_item(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    int c = strcmp(x->subject, y->subject);
    return c ? c : strcmp(x->name, y->name);
}

static int score_items(struct run *R)
{
    if (R->n_items > 1)
        qsort(R->items, R->n_items, sizeof *R->items, cmp_item);
    for (size_t i = 0; i < R->n_items; i++) {
        struct item *it = &R->items[i];
        if (find_duration(R->o, it) < 0)
            return -1;
        size_t nr = it->ref->n_events, nh = it->hyp ? it->hyp->n_events : 0;
        size_t na = it->hyp ? it->hyp->n_alarms : 0;
        struct ictal_score_interval *ref = malloc((nr + 1) * sizeof *ref);
        struct ictal_score_interval *hyp = malloc((nh + 1) * sizeof *hyp);
        struct ictal_score_alarm *al = malloc((na + 1) * sizeof *al);
        if (!ref || !hyp || !al) {
            free(ref);
            free(hyp);
            free(al);
            prog_log_error("out of memory");
            return -1;
        }
        for (size_t k = 0; k < nr; k++)
            ref[k] = (struct ictal_score_interval){ it->ref->events[k].start_s,
                                                    it->ref->events[k].end_s };
        for (size_t k = 0; k < nh; k++)
            hyp[k] = (struct ictal_score_interval){ it->hyp->events[k].start_s,
                                                    it->hyp->events[k].end_s };
        for (size_t k = 0; k < na; k++)
            al[k] = (struct ictal_score_alarm){ it->hyp->alarms[k].emit_s,
                                                it->hyp->alarms[k].start_s,
                                                it->hyp->alarms[k].end_s };
        bool alarms = it->hyp && it->hyp->has_alarms;
        struct ictal_error err;
        int rc = ictal_score_file_compute(&R->o->params, it->duration_s, ref, nr, hyp, nh,
                                          alarms ? al : NULL, na, &it->sf, &err);
        free(ref);
        free(hyp);
        free(al);
        if (rc < 0) {
            prog_log_error("%s: recording %s: %s", it->ref_path, it->name, err.msg);
            return -1;
        }
        if (it->sf.t.ref_lost || it->sf.t.hyp_lost)
            prog_log_warning("%s: %lld reference and %lld hypothesis event(s) cover no %g s "
                             "label (shorter than a label, or outside the recording): SzCORE "
                             "scoring does not see them", it->name,
                             (long long)it->sf.t.ref_lost, (long long)it->sf.t.hyp_lost,
                             R->o->params.sample_step_s);
    }
    return 0;
}

/* ---- groups (subjects, all) --------------------------------------------------------- */

struct group {
    const char *label;          /* subject, or NULL for the pooled group */
    size_t first, count;        /* items [first, first + count) when a subject */
    struct ictal_score_totals t;
    struct ictal_score_latency_stats lat;
    bool has_latency;
};

static int latency_of(const struct run *R, size_t first, size_t count, bool all,
                      struct ictal_score_latency_stats *st, bool *has)
{
    size_t n = 0;
    *has = false;
    for (size_t i = 0; i < R->n_items; i++)
        if (all || (i >= first && i < first + count)) {
            n += R->items[i].sf.n_lat;
            *has |= R->items[i].sf.has_latency;
        }
    double *v = malloc((n + 1) * sizeof *v);
    if (!v)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < R->n_items; i++)
        if (all || (i >= first && i < first + count))
            for (size_t j = 0; j < R->items[i].sf.n_lat; j++)
                v[k++] = R->items[i].sf.lat[j].latency_s;
    int rc = ictal_score_latency_stats(v, k, st);
    free(v);
    return rc;
}

/* ---- text output ------------------------------------------------------------- */

static void num(FILE *f, int width, int prec, double v)
{
    if (isnan(v))
        fprintf(f, " %*s", width, "-");
    else
        fprintf(f, " %*.*f", width, prec, v);
}

static void text_counts_row(FILE *f, unsigned which, const char *label, const char *sub,
                            const struct ictal_score_totals *t)
{
    struct ictal_score_metrics m;
    fprintf(f, "  %-24s %-12s", label, sub);
    if (which == M_EVENT) {
        ictal_score_event_metrics(&t->event, &m);
        fprintf(f, " %8.3f %5lld %5lld %5lld %5lld", t->event.duration_s / 3600.0,
                (long long)t->event.ref_events, (long long)t->event.tp, (long long)t->event.fn,
                (long long)t->event.fp);
    } else if (which == M_SAMPLE) {
        ictal_score_sample_metrics(&t->sample, &m);
        fprintf(f, " %8.3f %7lld %7lld %7lld %7lld", t->sample.duration_s / 3600.0,
                (long long)t->sample.ref_pos, (long long)t->sample.tp, (long long)t->sample.fn,
                (long long)t->sample.fp);
    } else {
        double tot;
        ictal_score_ovlp_metrics(&t->ovlp, &m, &tot);
        fprintf(f, " %8.3f %5lld %5lld %5lld %5lld", t->ovlp.duration_s / 3600.0,
                (long long)t->ovlp.ref_events, (long long)t->ovlp.hits,
                (long long)t->ovlp.misses, (long long)t->ovlp.false_alarms);
    }
    num(f, 6, 3, m.sensitivity);
    num(f, 6, 3, m.precision);
    num(f, 6, 3, m.f1);
    num(f, 9, 2, m.fp_per_24h);
    if (which == M_OVLP) {
        double tot;
        ictal_score_ovlp_metrics(&t->ovlp, &m, &tot);
        num(f, 9, 2, tot);
    }
    fputc('\n', f);
}

/* nanmean ± nanstd of the subjects' metrics (szcore-evaluation's default
 * "average per subject"). */
static void subject_means(const struct group *g, size_t ng, unsigned which, double mean[4],
                          double sd[4])
{
    double *v = malloc((ng + 1) * 4 * sizeof *v);
    if (!v) {
        for (int k = 0; k < 4; k++)
            mean[k] = sd[k] = NAN;
        return;
    }
    for (size_t i = 0; i < ng; i++) {
        struct ictal_score_metrics m;
        if (which == M_EVENT)
            ictal_score_event_metrics(&g[i].t.event, &m);
        else if (which == M_SAMPLE)
            ictal_score_sample_metrics(&g[i].t.sample, &m);
        else
            ictal_score_ovlp_metrics(&g[i].t.ovlp, &m, NULL);
        v[0 * ng + i] = m.sensitivity;
        v[1 * ng + i] = m.precision;
        v[2 * ng + i] = m.f1;
        v[3 * ng + i] = m.fp_per_24h;
    }
    for (int k = 0; k < 4; k++)
        ictal_score_nanmean_std(v + (size_t)k * ng, ng, &mean[k], &sd[k]);
    free(v);
}

static void text_section(FILE *f, const struct run *R, unsigned which, const struct group *subj,
                         size_t ns, const struct group *all)
{
    const struct ictal_score_params *p = &R->o->params;
    if (which == M_EVENT)
        fprintf(f, "SzCORE event scoring (windows -%g s / +%g s, merge gaps < %g s, split > %g s, "
                   "%g s labels)\n", p->pre_tolerance_s, p->post_tolerance_s, p->merge_gap_s,
                p->max_event_s, p->sample_step_s);
    else if (which == M_SAMPLE)
        fprintf(f, "SzCORE sample scoring (%g s labels; counts are labels)\n", p->sample_step_s);
    else
        fprintf(f, "NEDC OVLP (any overlap; FA = SEIZ false alarms, total = SEIZ + BCKG)\n");
    fprintf(f, "  %-24s %-12s %8s", "recording", "subject", "hours");
    if (which == M_SAMPLE)
        fprintf(f, " %7s %7s %7s %7s", "ref", "tp", "fn", "fp");
    else if (which == M_EVENT)
        fprintf(f, " %5s %5s %5s %5s", "ref", "tp", "fn", "fp");
    else
        fprintf(f, " %5s %5s %5s %5s", "ref", "hit", "miss", "FA");
    fprintf(f, " %6s %6s %6s %9s%s\n", "sens", "prec", "f1", which == M_OVLP ? "FA/24h" : "FP/24h",
            which == M_OVLP ? "  total/24h" : "");
    for (size_t i = 0; i < R->n_items; i++)
        text_counts_row(f, which, R->items[i].name, R->items[i].subject, &R->items[i].sf.t);
    if (R->n_items > 1) {
        for (size_t s = 0; s < ns; s++) {
            char lab[300], sub[32];
            snprintf(lab, sizeof lab, "subject %s", subj[s].label);
            snprintf(sub, sizeof sub, "(%zu file%s)", subj[s].count, subj[s].count == 1 ? "" : "s");
            text_counts_row(f, which, lab, sub, &subj[s].t);
        }
        char sub[32];
        snprintf(sub, sizeof sub, "(%zu files)", R->n_items);
        text_counts_row(f, which, "pooled", sub, &all->t);
        double mean[4], sd[4];
        subject_means(subj, ns, which, mean, sd);
        fprintf(f, "  subject mean ± std (%zu): sens %.3f ± %.3f  prec %.3f ± %.3f  "
                   "f1 %.3f ± %.3f  %s %.2f ± %.2f\n", ns, mean[0], sd[0], mean[1], sd[1],
                mean[2], sd[2], which == M_OVLP ? "FA/24h" : "FP/24h", mean[3], sd[3]);
    }
    fputc('\n', f);
}

static void text_latency_row(FILE *f, const char *label, const char *sub,
                             const struct ictal_score_latency_stats *st, bool has)
{
    fprintf(f, "  %-24s %-12s", label, sub);
    if (!has) {
        fprintf(f, " %6s  (no alarm times: the hypothesis is not ictal JSON Lines)\n", "-");
        return;
    }
    fprintf(f, " %6zu %8zu", st->events, st->detected);
    num(f, 9, 2, st->median_s);
    num(f, 9, 2, st->p90_s);
    num(f, 9, 2, st->min_s);
    num(f, 9, 2, st->max_s);
    fputc('\n', f);
}

static int text_latency(FILE *f, const struct run *R, const struct group *subj, size_t ns,
                        const struct group *all)
{
    const struct ictal_score_params *p = &R->o->params;
    fprintf(f, "Detection latency (alarm time - reference onset, s; first alarm whose event "
               "overlaps [onset - %g s, offset + %g s])\n", p->pre_tolerance_s,
            p->post_tolerance_s);
    fprintf(f, "  %-24s %-12s %6s %8s %9s %9s %9s %9s\n", "recording", "subject", "events",
            "w/alarm", "median", "p90", "min", "max");
    for (size_t i = 0; i < R->n_items; i++) {
        struct ictal_score_latency_stats st;
        bool has;
        if (latency_of(R, i, 1, false, &st, &has) < 0)
            return -1;
        text_latency_row(f, R->items[i].name, R->items[i].subject, &st, has);
    }
    if (R->n_items > 1) {
        for (size_t s = 0; s < ns; s++) {
            char lab[300], sub[32];
            snprintf(lab, sizeof lab, "subject %s", subj[s].label);
            snprintf(sub, sizeof sub, "(%zu file%s)", subj[s].count, subj[s].count == 1 ? "" : "s");
            text_latency_row(f, lab, sub, &subj[s].lat, subj[s].has_latency);
        }
        char sub[32];
        snprintf(sub, sizeof sub, "(%zu files)", R->n_items);
        text_latency_row(f, "pooled", sub, &all->lat, all->has_latency);
    }
    fputc('\n', f);
    return 0;
}

/* ---- JSON output --------------------------------------------------------------- */

static void jkey(FILE *f, const char *k)
{
    event_format_json_string(f, k);
    fputc(':', f);
}

static void jnum(FILE *f, const char *k, double v)
{
    jkey(f, k);
    event_format_json_double(f, v);
}

static void jint(FILE *f, const char *k, int64_t v)
{
    jkey(f, k);
    fprintf(f, "%lld", (long long)v);
}

static void json_metrics(FILE *f, const struct ictal_score_metrics *m)
{
    jnum(f, "sensitivity", m->sensitivity);
    fputc(',', f);
    jnum(f, "precision", m->precision);
    fputc(',', f);
    jnum(f, "f1", m->f1);
    fputc(',', f);
    jnum(f, "fp_per_24h", m->fp_per_24h);
}

static void json_totals(FILE *f, unsigned metrics, const struct ictal_score_totals *t)
{
    struct ictal_score_metrics m;
    bool first = true;
    if (metrics & M_EVENT) {
        ictal_score_event_metrics(&t->event, &m);
        fputs("\"szcore_event\":{", f);
        jint(f, "ref_events", t->event.ref_events);
        fputc(',', f);
        jint(f, "hyp_events", t->event.hyp_events);
        fputc(',', f);
        jint(f, "tp", t->event.tp);
        fputc(',', f);
        jint(f, "fn", t->event.fn);
        fputc(',', f);
        jint(f, "fp", t->event.fp);
        fputc(',', f);
        jnum(f, "duration_s", t->event.duration_s);
        fputc(',', f);
        json_metrics(f, &m);
        fputc('}', f);
        first = false;
    }
    if (metrics & M_SAMPLE) {
        ictal_score_sample_metrics(&t->sample, &m);
        fputs(first ? "" : ",", f);
        fputs("\"szcore_sample\":{", f);
        jint(f, "samples", t->sample.samples);
        fputc(',', f);
        jint(f, "ref_positive", t->sample.ref_pos);
        fputc(',', f);
        jint(f, "hyp_positive", t->sample.hyp_pos);
        fputc(',', f);
        jint(f, "tp", t->sample.tp);
        fputc(',', f);
        jint(f, "fn", t->sample.fn);
        fputc(',', f);
        jint(f, "fp", t->sample.fp);
        fputc(',', f);
        jnum(f, "duration_s", t->sample.duration_s);
        fputc(',', f);
        json_metrics(f, &m);
        fputc('}', f);
        first = false;
    }
    if (metrics & M_OVLP) {
        double tot;
        ictal_score_ovlp_metrics(&t->ovlp, &m, &tot);
        fputs(first ? "" : ",", f);
        fputs("\"ovlp\":{", f);
        jint(f, "ref_events", t->ovlp.ref_events);
        fputc(',', f);
        jint(f, "hyp_events", t->ovlp.hyp_events);
        fputc(',', f);
        jint(f, "hits", t->ovlp.hits);
        fputc(',', f);
        jint(f, "misses", t->ovlp.misses);
        fputc(',', f);
        jint(f, "false_alarms", t->ovlp.false_alarms);
        fputc(',', f);
        jint(f, "bckg_events", t->ovlp.bckg_ref);
        fputc(',', f);
        jint(f, "bckg_hits", t->ovlp.bckg_hits);
        fputc(',', f);
        jint(f, "bckg_misses", t->ovlp.bckg_misses);
        fputc(',', f);
        jint(f, "bckg_false_alarms", t->ovlp.bckg_false_alarms);
        fputc(',', f);
        jnum(f, "duration_s", t->ovlp.duration_s);
        fputc(',', f);
        json_metrics(f, &m);
        fputc(',', f);
        jnum(f, "total_fa_per_24h", tot);
        fputc('}', f);
        first = false;
    }
    if (!first)
        fputc(',', f);
    jint(f, "ref_events_below_label", t->ref_lost);
    fputc(',', f);
    jint(f, "hyp_events_below_label", t->hyp_lost);
}

static void json_latency_stats(FILE *f, const struct ictal_score_latency_stats *st, bool has)
{
    fputs("\"latency\":", f);
    if (!has) {
        fputs("null", f);
        return;
    }
    fputc('{', f);
    jint(f, "events", (int64_t)st->events);
    fputc(',', f);
    jint(f, "detected", (int64_t)st->detected);
    fputc(',', f);
    jnum(f, "median_s", st->median_s);
    fputc(',', f);
    jnum(f, "p90_s", st->p90_s);
    fputc(',', f);
    jnum(f, "mean_s", st->mean_s);
    fputc(',', f);
    jnum(f, "min_s", st->min_s);
    fputc(',', f);
    jnum(f, "max_s", st->max_s);
    fputc('}', f);
}

static void json_marks(FILE *f, const char *key, const char *flag,
                       const struct ictal_score_mark *m, size_t n)
{
    jkey(f, key);
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ",{" : "{", f);
        jnum(f, "start_s", m[i].start_s);
        fputc(',', f);
        jnum(f, "end_s", m[i].end_s);
        fputc(',', f);
        jkey(f, flag);
        fputs(m[i].flag ? "true}" : "false}", f);
    }
    fputc(']', f);
}

static int json_output(FILE *f, const struct run *R, const struct group *subj, size_t ns,
                       const struct group *all)
{
    const struct options *o = R->o;
    unsigned mt = o->metrics;
    fprintf(f, "{\"program\":\"" PROG "\",\"version\":\"%s\",\"params\":{",
            ICTAL_VERSION_STRING);
    jnum(f, "pre_tolerance_s", o->params.pre_tolerance_s);
    fputc(',', f);
    jnum(f, "post_tolerance_s", o->params.post_tolerance_s);
    fputc(',', f);
    jnum(f, "merge_gap_s", o->params.merge_gap_s);
    fputc(',', f);
    jnum(f, "max_event_s", o->params.max_event_s);
    fputc(',', f);
    jnum(f, "sample_step_s", o->params.sample_step_s);
    fputs("},\n\"files\":[", f);
    for (size_t i = 0; i < R->n_items; i++) {
        const struct item *it = &R->items[i];
        fputs(i ? ",\n{" : "\n{", f);
        jkey(f, "recording");
        event_format_json_string(f, it->name);
        fputc(',', f);
        jkey(f, "subject");
        event_format_json_string(f, it->subject);
        fputc(',', f);
        jkey(f, "reference");
        event_format_json_string(f, it->ref_path);
        fputc(',', f);
        jkey(f, "hypothesis");
        event_format_json_string(f, it->hyp_path);
        fputc(',', f);
        jnum(f, "duration_s", it->duration_s);
        fputc(',', f);
        jkey(f, "duration_from");
        event_format_json_string(f, it->duration_from);
        fputc(',', f);
        json_totals(f, mt, &it->sf.t);
        if (mt & M_EVENT) {
            fputc(',', f);
            json_marks(f, "szcore_ref_events", "detected", it->sf.ref, it->sf.n_ref);
            fputc(',', f);
            json_marks(f, "szcore_hyp_events", "false_positive", it->sf.hyp, it->sf.n_hyp);
        }
        if (mt & M_LATENCY) {
            struct ictal_score_latency_stats st;
            bool has;
            if (latency_of(R, i, 1, false, &st, &has) < 0)
                return -1;
            fputc(',', f);
            json_latency_stats(f, &st, has);
            if (has) {
                fputs(",\"latency_events\":[", f);
                for (size_t k = 0; k < it->sf.n_lat; k++) {
                    fputs(k ? ",{" : "{", f);
                    jnum(f, "onset_s", it->sf.lat[k].onset_s);
                    fputc(',', f);
                    jnum(f, "end_s", it->sf.lat[k].end_s);
                    fputc(',', f);
                    jnum(f, "alarm_s", it->sf.lat[k].alarm_emit_s);
                    fputc(',', f);
                    jnum(f, "latency_s", it->sf.lat[k].latency_s);
                    fputc('}', f);
                }
                fputc(']', f);
            }
        }
        fputc('}', f);
    }
    fputs("],\n\"subjects\":[", f);
    for (size_t s = 0; s < ns; s++) {
        fputs(s ? ",\n{" : "\n{", f);
        jkey(f, "subject");
        event_format_json_string(f, subj[s].label);
        fputc(',', f);
        jint(f, "files", (int64_t)subj[s].count);
        fputc(',', f);
        json_totals(f, mt, &subj[s].t);
        if (mt & M_LATENCY) {
            fputc(',', f);
            json_latency_stats(f, &subj[s].lat, subj[s].has_latency);
        }
        fputc('}', f);
    }
    fputs("],\n\"pooled\":{", f);
    jint(f, "files", (int64_t)R->n_items);
    fputc(',', f);
    json_totals(f, mt, &all->t);
    if (mt & M_LATENCY) {
        fputc(',', f);
        json_latency_stats(f, &all->lat, all->has_latency);
    }
    fputs("},\n\"subject_mean\":{", f);
    static const unsigned which[3] = { M_EVENT, M_SAMPLE, M_OVLP };
    static const char *const names[3] = { "szcore_event", "szcore_sample", "ovlp" };
    static const char *const mnames[4] = { "sensitivity", "precision", "f1", "fp_per_24h" };
    bool first = true;
    for (int w = 0; w < 3; w++) {
        if (!(mt & which[w]))
            continue;
        double mean[4], sd[4];
        subject_means(subj, ns, which[w], mean, sd);
        fputs(first ? "" : ",", f);
        first = false;
        jkey(f, names[w]);
        fputc('{', f);
        for (int k = 0; k < 4; k++) {
            char key[40];
            jnum(f, mnames[k], mean[k]);
            fputc(',', f);
            snprintf(key, sizeof key, "%s_std", mnames[k]);
            jnum(f, key, sd[k]);
            fputs(k < 3 ? "," : "", f);
        }
        fputc('}', f);
    }
    fputs("}}\n", f);
    return 0;
}

/* ---- main ------------------------------------------------------------------------ */

static int report(struct run *R)
{
    /* subjects: runs of equal subject (items are sorted by subject) */
    struct group *subj = calloc(R->n_items + 1, sizeof *subj);
    struct group all = { 0 };
    if (!subj) {
        prog_log_error("out of memory");
        return -1;
    }
    size_t ns = 0;
    for (size_t i = 0; i < R->n_items; i++) {
        if (ns == 0 || strcmp(subj[ns - 1].label, R->items[i].subject) != 0) {
            subj[ns].label = R->items[i].subject;
            subj[ns].first = i;
            ns++;
        }
        subj[ns - 1].count++;
        ictal_score_totals_add(&subj[ns - 1].t, &R->items[i].sf.t);
        ictal_score_totals_add(&all.t, &R->items[i].sf.t);
    }
    int rc = 0;
    for (size_t s = 0; s < ns && rc == 0; s++)
        rc = latency_of(R, subj[s].first, subj[s].count, false, &subj[s].lat,
                        &subj[s].has_latency);
    if (rc == 0)
        rc = latency_of(R, 0, 0, true, &all.lat, &all.has_latency);
    if (rc < 0) {
        prog_log_error("out of memory");
        free(subj);
        return -1;
    }
    FILE *f = stdout;
    if (R->o->output && !(f = fopen(R->o->output, "w"))) {
        prog_log_error("%s: cannot create: %s", R->o->output, strerror(errno));
        free(subj);
        return -1;
    }
    if (R->o->json) {
        rc = json_output(f, R, subj, ns, &all);
    } else {
        double hours = all.t.ovlp.duration_s / 3600.0;
        fprintf(f, "%zu recording%s, %zu subject%s, %.3f h\n\n", R->n_items,
                R->n_items == 1 ? "" : "s", ns, ns == 1 ? "" : "s", hours);
        static const unsigned order[3] = { M_EVENT, M_SAMPLE, M_OVLP };
        for (int w = 0; w < 3; w++)
            if (R->o->metrics & order[w])
                text_section(f, R, order[w], subj, ns, &all);
        if (R->o->metrics & M_LATENCY)
            rc = text_latency(f, R, subj, ns, &all);
    }
    if (rc < 0)
        prog_log_error("out of memory");
    if (fflush(f) != 0 || ferror(f)) {
        prog_log_error("%s: write error: %s", R->o->output ? R->o->output : "standard output",
                       strerror(errno));
        rc = -1;
    }
    if (f != stdout && fclose(f) != 0 && rc == 0) {
        prog_log_error("%s: write error: %s", R->o->output, strerror(errno));
        rc = -1;
    }
    free(subj);
    return rc;
}

int main(int argc, char **argv)
{
    struct options o;
    struct ictal_config *cfg = NULL;
    int rc = setup(argc, argv, &cfg, &o);
    if (rc != 0) {
        options_free(&o);
        ictal_config_destroy(cfg);
        return rc > 0 ? EXIT_OK : EXIT_USAGE;
    }
    prog_log_setup(PROG, cfg);
    struct run R = { .o = &o };
    rc = o.O_REF ? pair_single(&R) : pair_dirs(&R);
    if (rc == 0)
        rc = score_items(&R);
    if (rc == 0)
        rc = report(&R);
    for (size_t i = 0; i < R.n_items; i++)
        ictal_score_file_free(&R.items[i].sf);
    free(R.items);
    for (size_t i = 0; i < R.n_annots; i++) {
        ictal_annot_destroy(R.annots[i]);
        free(R.paths[i]);
    }
    free(R.annots);
    free(R.paths);
    options_free(&o);
    ictal_config_destroy(cfg);
    prog_log_close();
    return rc < 0 ? EXIT_FAIL : EXIT_OK;
}
