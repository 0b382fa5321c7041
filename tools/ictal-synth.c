/*
 * ictal-synth — write realistic synthetic EEG with labelled seizures and
 * artifacts as EDF+ plus ground-truth sidecars.
 *
 *   ictal-synth --duration 1h --montage chbmit --seizures 3 --seed 7 -o rec.edf
 *   ictal-synth --dataset out/ --patient 12 --files 5 --duration 1h
 *
 * Every generation setting is a key of [synth] in the shared configuration
 * (src/config_keys.h), so it can come from the built-in default, a config file
 * or a [profile.NAME] (--config, --profile), ICTAL_SYNTH_<KEY> or the command
 * line, and --print-config shows each value with its source. The program's
 * options are a table mapping option names onto keys (synth_opts); short
 * options are rewritten to their long forms first so that the order of the
 * command line is kept ("later wins") and every value's source names a long
 * option.
 *
 * Option handling (parse_options: argv and configuration → struct
 * synth_options) is kept apart from generation (run_single / run_dataset),
 * which only sees the struct.
 *
 * Exit status: 0 fine, 1 generation or I/O failed, 2 usage or configuration
 * error (nothing written).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ictal/config.h"
#include "prog_log.h"
#include "ictal/synth.h"

#define PROG "ictal-synth"

struct synth_options {
    struct ictal_synth_config cfg;
    const char *output;       /* synth.output: one recording ("" → NULL) */
    const char *dataset_dir;  /* synth.dataset: patient data set ("" → NULL) */
    const char *subject;      /* synth.subject (NULL: "synthetic" / "syn<patient>") */
    int files;                /* synth.files, data set only */
    int sidecars;             /* synth.sidecars: .csv_bi/.csv/_events.tsv next to the EDF */
    int quiet;                /* -q: no summary on stdout (not a key: per invocation) */
    int print_config;
    int year, month, day, hour, minute, second; /* synth.start */
};

/* ---- diagnostics ([log]) ------------------------------------------------- */


/* ---- options ------------------------------------------------------------- */

/* Options that set [synth] keys (source "option --NAME"). */
static const struct ictal_config_option synth_opts[] = {
    { "output", "synth.output", NULL },
    { "dataset", "synth.dataset", NULL },
    { "files", "synth.files", NULL },
    { "subject", "synth.subject", NULL },
    { "duration", "synth.duration", NULL },
    { "rate", "synth.rate", NULL },
    { "montage", "synth.montage", NULL },
    { "seizures", "synth.seizures", NULL },
    { "seed", "synth.seed", NULL },
    { "patient", "synth.patient", NULL },
    { "seizure-type", "synth.seizure_type", NULL },
    { "seizure-min", "synth.seizure_min", NULL },
    { "seizure-max", "synth.seizure_max", NULL },
    { "artifacts", "synth.artifacts", NULL },
    { "artifact-kinds", "synth.artifact_kinds", NULL },
    { "mains", "synth.mains", NULL },
    { "hum", "synth.hum", NULL },
    { "no-sleep", "synth.sleep", "false" },
    { "start", "synth.start", NULL },
    { "no-sidecars", "synth.sidecars", "false" },
};
#define N_SYNTH_OPTS (sizeof synth_opts / sizeof synth_opts[0])

/* Short options and their long forms. */
static struct {
    char c;
    char name[16]; /* long form with "--"; not const: it goes into an argv */
    bool value;
} short_opts[] = {
    { 'o', "--output", true },   { 'd', "--duration", true }, { 'r', "--rate", true },
    { 'm', "--montage", true },  { 'n', "--seizures", true }, { 's', "--seed", true },
    { 'p', "--patient", true },  { 't', "--seizure-type", true },
    { 'a', "--artifacts", true }, { 'q', "--quiet", false },  { 'h', "--help", false },
};

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " [OPTIONS] -o FILE.edf\n"
"       " PROG " [OPTIONS] --dataset DIR [--patient N] [--files N]\n"
"Write synthetic EEG (EDF+, 16-bit, uV) with labelled seizures and artifacts.\n"
"Each option sets the [synth] key in brackets; the key may also come from a\n"
"config file, a --profile or ICTAL_SYNTH_<KEY> (the option wins).\n"
"\n"
"  -o, --output FILE.edf      recording to write; sidecars go next to it:\n"
"                             FILE.csv_bi, FILE.csv, FILE_events.tsv [output]\n"
"      --dataset DIR          write a patient data set into DIR: <subject>_NN.edf\n"
"                             files with sidecars and <subject>-summary.txt [dataset]\n"
"      --files N              recordings in a data set, 1..999 (default 3) [files]\n"
"      --subject ID           patient code (default synthetic, in a data set\n"
"                             syn<patient>) [subject]\n"
"  -d, --duration DUR         length: 90, 90s, 10m, 1h, 1h30m (default 1h;\n"
"                             whole seconds, at most 24h) [duration]\n"
"  -r, --rate HZ              sample rate 128..2048 (default 256) [rate]\n"
"  -m, --montage NAME         chbmit (23 bipolar channels, default) or\n"
"                             referential (19 channels) [montage]\n"
"  -n, --seizures N           seizures per recording (default 1) [seizures]\n"
"  -s, --seed N               recording seed, 0..4294967295 (default 1) [seed]\n"
"  -p, --patient N            patient seed: fixes onset zone and seizure style\n"
"                             (default 0: the recording seed) [patient]\n"
"  -t, --seizure-type T       profile (the patient's, default), focal or absence\n"
"                             [seizure_type]\n"
"      --seizure-min DUR      shortest seizure, >= 3 s (default 0: the\n"
"                             patient's) [seizure_min]\n"
"      --seizure-max DUR      longest seizure [seizure_max]\n"
"  -a, --artifacts RATE       artifacts per minute, 0 = none (default 1) [artifacts]\n"
"      --artifact-kinds LIST  comma list of blink,eyemove,muscle,chew,pop,\n"
"                             mains,movement,flat,clip (default all) [artifact_kinds]\n"
"      --mains HZ             auto, 50 or 60 (default auto: the patient's) [mains]\n"
"      --hum UV               continuous mains hum amplitude (default 0) [hum]\n"
"      --no-sleep             no drowsy/sleep stretches [sleep = false]\n"
"      --start DATETIME       recording start, YYYY-MM-DDTHH:MM:SS\n"
"                             (default 2020-01-01T09:00:00) [start]\n"
"      --no-sidecars          write the EDF+ file only [sidecars = false]\n"
"  -q, --quiet                no summary on stdout\n"
"  -h, --help                 this help\n"
"\n%s"
"\nThe same settings and seeds give byte-identical files. See docs/synth.md and\n"
"docs/configuration.md. Exit status: 0 done, 1 generation or I/O failed,\n"
"2 usage or configuration error (nothing written).\n",
            ictal_config_cli_help());
}

/* Options of the configuration system and synth_opts that take a value. */
static bool long_takes_value(const char *arg)
{
    size_t n = strcspn(arg + 2, "=");
    if (arg[2 + n] == '=')
        return false; /* --name=value: the value is inside */
    static const char *const common[] = { "config", "profile", "set" };
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        if (strlen(common[i]) == n && strncmp(arg + 2, common[i], n) == 0)
            return true;
    for (size_t i = 0; i < N_SYNTH_OPTS; i++)
        if (!synth_opts[i].flag_value && strlen(synth_opts[i].name) == n &&
            strncmp(arg + 2, synth_opts[i].name, n) == 0)
            return true;
    return false;
}

/* Rewrite short options to long ones, in order: "-qd90" → "--quiet",
 * "--duration", "90". *out is malloc'd (the strings are argv's or static).
 * Returns 0, or -1 with the message on stderr (a short option without its
 * value). An unknown letter leaves the word alone for the unknown-option
 * error later. */
static int expand_short(int argc, char **argv, char ***out, int *out_argc)
{
    size_t cap = 2;
    for (int i = 0; i < argc; i++)
        cap += 2 * strlen(argv[i]) + 1;
    char **v = malloc(cap * sizeof *v);
    if (!v) {
        fprintf(stderr, PROG ": out of memory\n");
        return -1;
    }
    int n = 0;
    bool rest = false;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (i == 0 || rest || a[0] != '-' || a[1] == '\0') {
            v[n++] = a;
            continue;
        }
        if (a[1] == '-') {
            v[n++] = a;
            if (a[2] == '\0')
                rest = true;
            else if (long_takes_value(a) && i + 1 < argc)
                v[n++] = argv[++i];
            continue;
        }
        /* check every letter first, so an unknown one leaves the word whole */
        bool known = true;
        for (const char *p = a + 1; *p && known; p++) {
            size_t k = 0;
            while (k < sizeof short_opts / sizeof short_opts[0] && short_opts[k].c != *p)
                k++;
            if (k == sizeof short_opts / sizeof short_opts[0])
                known = false;
            else if (short_opts[k].value)
                break;
        }
        if (!known) {
            v[n++] = a;
            continue;
        }
        for (char *p = a + 1; *p; p++) {
            size_t k = 0;
            while (short_opts[k].c != *p)
                k++;
            v[n++] = short_opts[k].name;
            if (!short_opts[k].value)
                continue;
            if (p[1]) {
                v[n++] = p + 1;
            } else if (i + 1 < argc) {
                v[n++] = argv[++i];
            } else {
                fprintf(stderr, PROG ": option -%c (%s) needs a value\n", *p,
                        short_opts[k].name);
                free(v);
                return -1;
            }
            break;
        }
    }
    v[n] = NULL;
    *out = v;
    *out_argc = n;
    return 0;
}

/* A check the key table cannot express, failed: "SOURCE: synth.KEY: why",
 * like the configuration's own messages. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int bad_key(const struct ictal_config *cfg, const char *key, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    fprintf(stderr, PROG ": %s: synth.%s: %s\n", ictal_config_get_source(cfg, "synth", key), key,
            why);
    return -1;
}

static int kinds_mask(const struct ictal_config *cfg, unsigned *mask)
{
    /* the key's choices, in the order of the table */
    static const struct { const char *name; int kind; } names[] = {
        {"blink", ICTAL_SYNTH_ART_BLINK}, {"eyemove", ICTAL_SYNTH_ART_EYEMOVE},
        {"muscle", ICTAL_SYNTH_ART_MUSCLE}, {"chew", ICTAL_SYNTH_ART_CHEW},
        {"pop", ICTAL_SYNTH_ART_POP}, {"mains", ICTAL_SYNTH_ART_MAINS},
        {"movement", ICTAL_SYNTH_ART_MOVEMENT}, {"flat", ICTAL_SYNTH_ART_FLAT},
        {"clip", ICTAL_SYNTH_ART_CLIP},
    };
    const char *const *items = NULL;
    size_t n = ictal_config_get_list(cfg, "synth", "artifact_kinds", &items);
    unsigned m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < sizeof names / sizeof names[0] && strcmp(names[k].name, items[i]) != 0)
            k++;
        if (k == sizeof names / sizeof names[0])
            return bad_key(cfg, "artifact_kinds", "unknown kind '%s'", items[i]);
        m |= ICTAL_SYNTH_ARTBIT(names[k].kind);
    }
    *mask = m;
    return 0;
}

/* The validated configuration → *o, with the checks the key table cannot
 * express (whole seconds, seizure bounds, date, subject, output vs dataset).
 * Returns 0 or -1 with every problem on stderr. */
static int options_from_config(const struct ictal_config *cfg, struct synth_options *o)
{
    int rc = 0;
    ictal_synth_config_default(&o->cfg);

    const char *s = ictal_config_get_string(cfg, "synth", "output");
    o->output = s && s[0] ? s : NULL;
    s = ictal_config_get_string(cfg, "synth", "dataset");
    o->dataset_dir = s && s[0] ? s : NULL;
    if (o->output && o->dataset_dir) {
        fprintf(stderr, PROG ": synth.output = %s (from %s) and synth.dataset = %s (from %s) "
                        "exclude each other: write one recording or a data set\n",
                o->output, ictal_config_get_source(cfg, "synth", "output"), o->dataset_dir,
                ictal_config_get_source(cfg, "synth", "dataset"));
        rc = -1;
    }
    o->files = (int)ictal_config_get_int(cfg, "synth", "files");
    s = ictal_config_get_string(cfg, "synth", "subject");
    o->subject = s && s[0] ? s : NULL;
    if (o->subject && (strlen(o->subject) > 32 || strpbrk(o->subject, " /\t")))
        rc = bad_key(cfg, "subject", "'%s' is not 1..32 characters without blanks or '/'",
                     o->subject);

    double d = ictal_config_get_double(cfg, "synth", "duration");
    if (d != floor(d))
        rc = bad_key(cfg, "duration", "%g s is not whole seconds (EDF data records are 1 s)", d);
    o->cfg.duration_s = d;
    o->cfg.sample_rate = (int)ictal_config_get_int(cfg, "synth", "rate");
    o->cfg.montage = ictal_config_get_enum(cfg, "synth", "montage") == 1
                         ? ICTAL_SYNTH_MONTAGE_REFERENTIAL : ICTAL_SYNTH_MONTAGE_CHBMIT;
    o->cfg.n_seizures = (int)ictal_config_get_int(cfg, "synth", "seizures");
    o->cfg.seed = (uint64_t)ictal_config_get_int(cfg, "synth", "seed");
    o->cfg.patient = (uint64_t)ictal_config_get_int(cfg, "synth", "patient");
    static const int types[] = { ICTAL_SYNTH_SZ_PROFILE, ICTAL_SYNTH_SZ_FOCAL,
                                 ICTAL_SYNTH_SZ_ABSENCE };
    int t = ictal_config_get_enum(cfg, "synth", "seizure_type");
    o->cfg.seizure_type = types[t >= 0 && t < 3 ? t : 0];

    static const char *const bounds[] = { "seizure_min", "seizure_max" };
    double b[2];
    for (int i = 0; i < 2; i++) {
        b[i] = ictal_config_get_double(cfg, "synth", bounds[i]);
        if (b[i] > 0 && b[i] < 3.0)
            rc = bad_key(cfg, bounds[i], "%g s is too short: 0 (the patient's) or at least 3 s",
                         b[i]);
    }
    if (b[0] > 0 && b[1] > 0 && b[1] < b[0]) {
        fprintf(stderr, PROG ": synth.seizure_max = %g s (from %s) must be at least "
                        "synth.seizure_min = %g s (from %s)\n",
                b[1], ictal_config_get_source(cfg, "synth", "seizure_max"), b[0],
                ictal_config_get_source(cfg, "synth", "seizure_min"));
        rc = -1;
    }
    o->cfg.seizure_min_s = b[0];
    o->cfg.seizure_max_s = b[1];

    o->cfg.artifact_rate = ictal_config_get_double(cfg, "synth", "artifacts");
    if (kinds_mask(cfg, &o->cfg.artifacts) < 0)
        rc = -1;
    static const double mains[] = { 0.0, 50.0, 60.0 }; /* auto|50|60 */
    int m = ictal_config_get_enum(cfg, "synth", "mains");
    o->cfg.mains_hz = mains[m >= 0 && m < 3 ? m : 0];
    o->cfg.mains_uv = ictal_config_get_double(cfg, "synth", "hum");
    o->cfg.sleep = ictal_config_get_bool(cfg, "synth", "sleep");
    o->sidecars = ictal_config_get_bool(cfg, "synth", "sidecars");

    s = ictal_config_get_string(cfg, "synth", "start");
    char tail;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &o->year, &o->month, &o->day, &o->hour,
                     &o->minute, &o->second, &tail) != 6
        || o->year < 1985 || o->year > 2084 || o->month < 1 || o->month > 12 || o->day < 1
        || o->day > 31 || o->hour < 0 || o->hour > 23 || o->minute < 0 || o->minute > 59
        || o->second < 0 || o->second > 59)
        rc = bad_key(cfg, "start", "'%s' is not YYYY-MM-DDTHH:MM:SS with a year in 1985..2084",
                     s ? s : "");
    return rc;
}

/* argv and the configuration layers → *o. Returns 0, 1 when --help was
 * given, -1 on a usage or configuration error (every message already on
 * stderr, each naming the option, FILE:LINE or variable it came from).
 * *cfg is created here and must outlive *o (o's strings belong to it). */
static int parse_options(int argc, char **argv, struct ictal_config **cfgp,
                         struct synth_options *o)
{
    memset(o, 0, sizeof *o);
    struct ictal_error err;
    struct ictal_config *cfg = ictal_config_create(&err);
    *cfgp = cfg;
    if (!cfg) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return -1;
    }
    char **args;
    int n;
    if (expand_short(argc, argv, &args, &n) < 0)
        return -1;
    struct ictal_config_cli cli;
    memset(&cli, 0, sizeof cli);
    int cfg_rc = ictal_config_setup(cfg, &n, args, synth_opts, N_SYNTH_OPTS, &cli, &err);

    /* What the configuration system left: our own flags, or mistakes. */
    int rc = 0;
    bool help = false;
    for (int i = 1; i < n; i++) {
        const char *a = args[i];
        if (strcmp(a, "--help") == 0) {
            help = true;
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
        } else if (strcmp(a, "--") == 0) {
            if (i + 1 < n) {
                fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", args[i + 1]);
                rc = -1;
            }
            break;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, PROG ": unknown option '%s' (see --help)\n", a);
            rc = -1;
        } else {
            fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", a);
            rc = -1;
        }
    }
    free(args);
    if (help)
        return 1;
    if (cfg_rc != 0) {
        ictal_config_print_errors(cfg, stderr, PROG);
        struct stat st;
        if (cli.src.profile && stat(cli.src.profile, &st) == 0 && S_ISDIR(st.st_mode))
            fprintf(stderr, PROG ": note: --profile NAME selects a configuration profile; "
                            "write a data set into a directory with --dataset DIR\n");
        return -1;
    }
    if (rc < 0)
        return -1;
    if (options_from_config(cfg, o) < 0)
        return -1;
    o->print_config = cli.print_config;
    if (o->print_config)
        return 0;
    if (!o->output && !o->dataset_dir) {
        fprintf(stderr, PROG ": no output: give -o FILE.edf or --dataset DIR (see --help)\n");
        return -1;
    }
    return 0;
}

/* ---- generation ------------------------------------------------------------ */

/* "dir/rec.edf" -> "dir/rec" (without .edf) into buf. */
static int stem(const char *path, char *buf, size_t cap)
{
    size_t n = strlen(path);
    if (n >= 4 && (strcmp(path + n - 4, ".edf") == 0 || strcmp(path + n - 4, ".EDF") == 0))
        n -= 4;
    if (n + 1 > cap)
        return -1;
    memcpy(buf, path, n);
    buf[n] = '\0';
    return 0;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static void print_summary(const struct ictal_synth *s, const char *path)
{
    const struct ictal_synth_event *ev = ictal_synth_events(s);
    size_t n = ictal_synth_event_count(s);
    int nsz = 0, nart = 0;
    for (size_t i = 0; i < n; i++) {
        if (ictal_synth_kind_is_seizure(ev[i].kind))
            nsz++;
        else if (ev[i].kind < ICTAL_SYNTH_STATE_DROWSY)
            nart++;
    }
    printf("%s: %d channels, %d Hz, %.0f s, %d seizure(s), %d artifact(s)\n", path,
           ictal_synth_channels(s), ictal_synth_rate(s),
           (double)ictal_synth_total_samples(s) / ictal_synth_rate(s), nsz, nart);
    for (size_t i = 0; i < n; i++)
        if (ictal_synth_kind_is_seizure(ev[i].kind))
            printf("  %s %8.2f s .. %8.2f s (%.1f s)%s onset %s\n",
                   ictal_synth_kind_label(ev[i].kind), ev[i].onset_s,
                   ev[i].onset_s + ev[i].duration_s, ev[i].duration_s,
                   ev[i].bilateral && ev[i].kind == ICTAL_SYNTH_SEIZURE_FOCAL ? " bilateral," : "",
                   ictal_synth_electrode_name(ev[i].electrode));
}

/* Write one recording and its sidecars. */
static int write_one(const struct synth_options *o, const struct ictal_synth_config *cfg,
                     const char *edf, const char *subject, int start_offset_s,
                     struct ictal_synth **keep)
{
    struct ictal_error err;
    struct ictal_synth *s = ictal_synth_create(cfg, &err);
    if (!s) {
        prog_log_error("%s", err.msg);
        return -1;
    }
    char st[PATH_MAX], bi[PATH_MAX + 8], csv[PATH_MAX + 8], tsv[PATH_MAX + 16];
    if (stem(edf, st, sizeof st) < 0) {
        prog_log_error("output path too long: %s", edf);
        ictal_synth_destroy(s);
        return -1;
    }
    snprintf(bi, sizeof bi, "%s.csv_bi", st);
    snprintf(csv, sizeof csv, "%s.csv", st);
    /* BIDS: sub-01_..._eeg.edf -> sub-01_..._events.tsv */
    size_t sl = strlen(st);
    if (sl > 4 && strcmp(st + sl - 4, "_eeg") == 0)
        st[sl - 4] = '\0';
    snprintf(tsv, sizeof tsv, "%s_events.tsv", st);
    long t = (long)o->hour * 3600 + o->minute * 60 + o->second + start_offset_s;
    int day_add = (int)(t / 86400);
    t %= 86400;
    struct ictal_synth_output out = {
        .edf_path = edf,
        .csv_bi_path = o->sidecars ? bi : NULL,
        .csv_path = o->sidecars ? csv : NULL,
        .tsv_path = o->sidecars ? tsv : NULL,
        .subject = subject,
        .recording = base_name(st),
        .year = o->year, .month = o->month, .day = o->day + day_add,
        .hour = (int)(t / 3600), .minute = (int)(t / 60 % 60), .second = (int)(t % 60),
    };
    if (out.day > 28) /* keep the calendar valid without a date library */
        out.day = 28;
    if (ictal_synth_write(s, &out, &err) < 0) {
        prog_log_error("%s", err.msg);
        ictal_synth_destroy(s);
        return -1;
    }
    if (!o->quiet)
        print_summary(s, edf);
    if (keep)
        *keep = s;
    else
        ictal_synth_destroy(s);
    return 0;
}

static void hms(long t, char *buf, size_t cap)
{
    /* CHB-MIT writes times past midnight as 24:xx:xx and beyond */
    snprintf(buf, cap, "%02ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

/* A patient data set: synth.files recordings of the same patient (same profile,
 * different recording seeds), back to back with short gaps, and a CHB-MIT
 * style summary file. */
static int run_dataset(const struct synth_options *o)
{
    if (mkdir(o->dataset_dir, 0777) != 0 && errno != EEXIST) {
        prog_log_error("%s: cannot create the data set directory: %s", o->dataset_dir,
                  strerror(errno));
        return -1;
    }
    uint64_t patient = o->cfg.patient ? o->cfg.patient : o->cfg.seed;
    char subject[40];
    snprintf(subject, sizeof subject, "%s", o->subject ? o->subject : "");
    if (!o->subject)
        snprintf(subject, sizeof subject, "syn%02llu", (unsigned long long)(patient % 100000));
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s-summary.txt", o->dataset_dir, subject);
    FILE *sum = fopen(path, "w");
    if (!sum) {
        prog_log_error("%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    struct ictal_synth_config cfg = o->cfg;
    cfg.patient = patient;
    int rc = 0;
    long start = (long)o->hour * 3600 + o->minute * 60 + o->second;
    for (int f = 0; f < o->files && rc == 0; f++) {
        cfg.seed = o->cfg.seed * 1000003ULL + (uint64_t)f + 1;
        snprintf(path, sizeof path, "%s/%s_%02d.edf", o->dataset_dir, subject, f + 1);
        struct ictal_synth *s = NULL;
        long off = start - ((long)o->hour * 3600 + o->minute * 60 + o->second);
        rc = write_one(o, &cfg, path, subject, (int)off, &s);
        if (rc < 0)
            break;
        if (f == 0) {
            fprintf(sum, "Data Sampling Rate: %d Hz\n*************************\n\n",
                    ictal_synth_rate(s));
            fprintf(sum, "Channels in EDF Files:\n**********************\n");
            for (int c = 0; c < ictal_synth_channels(s); c++)
                fprintf(sum, "Channel %d: %s\n", c + 1, ictal_synth_label(s, c));
            fprintf(sum, "\n");
        }
        long dur = (long)(ictal_synth_total_samples(s) / ictal_synth_rate(s));
        char t0[32], t1[32];
        hms(start, t0, sizeof t0);
        hms(start + dur, t1, sizeof t1);
        const struct ictal_synth_event *ev = ictal_synth_events(s);
        size_t n = ictal_synth_event_count(s);
        int nsz = 0;
        for (size_t i = 0; i < n; i++)
            nsz += ictal_synth_kind_is_seizure(ev[i].kind);
        fprintf(sum, "File Name: %s\nFile Start Time: %s\nFile End Time: %s\n"
                     "Number of Seizures in File: %d\n", base_name(path), t0, t1, nsz);
        int k = 0;
        for (size_t i = 0; i < n; i++) {
            if (!ictal_synth_kind_is_seizure(ev[i].kind))
                continue;
            k++;
            /* CHB-MIT gives whole seconds: onset rounded down, end up */
            long a = (long)ev[i].onset_s;
            double e = ev[i].onset_s + ev[i].duration_s;
            long b = (long)e + ((double)(long)e < e ? 1 : 0);
            fprintf(sum, "Seizure %d Start Time: %ld seconds\nSeizure %d End Time: %ld seconds\n",
                    k, a, k, b);
        }
        fprintf(sum, "\n");
        start += dur + 7 + f % 5; /* a few seconds between files, as in CHB-MIT */
        ictal_synth_destroy(s);
    }
    if (fclose(sum) != 0 && rc == 0) {
        prog_log_error("writing the summary failed");
        rc = -1;
    }
    return rc;
}

/* One recording. */
static int run_single(const struct synth_options *o)
{
    char subject[40];
    snprintf(subject, sizeof subject, "%s", o->subject ? o->subject : "synthetic");
    return write_one(o, &o->cfg, o->output, subject, 0, NULL);
}

int main(int argc, char **argv)
{
    struct synth_options o;
    struct ictal_config *cfg = NULL;
    int rc = parse_options(argc, argv, &cfg, &o);
    if (rc == 1) {
        usage(stdout);
        ictal_config_destroy(cfg);
        return 0;
    }
    if (rc < 0) {
        ictal_config_destroy(cfg);
        return 2;
    }
    if (o.print_config) {
        rc = ictal_config_print(cfg, stdout, ICTAL_CONFIG_PROG_SYNTH);
        ictal_config_destroy(cfg);
        return rc == 0 ? 0 : 1;
    }
    prog_log_setup(PROG, cfg);
    rc = o.dataset_dir ? run_dataset(&o) : run_single(&o);
    ictal_config_destroy(cfg);
    prog_log_close();
    return rc < 0 ? 1 : 0;
}
