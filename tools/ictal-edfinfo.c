/*
 * ictal-edfinfo — describe an EDF/EDF+/BDF recording the way ictal reads it:
 * recording info, the data-signal table, the signals the default selection
 * skips (and why), and optionally the annotations. Text or JSON.
 *
 *   ictal-edfinfo FILE [--annotations] [--json]
 *   ictal-edfinfo --print-config [--config F] [--profile P] [--set k=v]
 *
 * It has no settings of its own; like every ictal program it reads the shared
 * configuration (files, profile, ICTAL_* environment, --set) and uses [log]
 * for its error messages. --print-config shows the keys of the helper tools
 * (ICTAL_CONFIG_PROG_TOOLS), which today is [log].
 *
 * Exit status: 0 on success, 1 on any error (unreadable or malformed file,
 * usage or configuration error), with the message on stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ictal/config.h"
#include "prog_log.h"
#include "ictal/edf.h"

#define PROG "ictal-edfinfo"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " FILE [--annotations] [--json]\n"
            "       " PROG " --print-config\n"
            "Print the header of an EDF, EDF+C, BDF or BDF+C file as ictal reads it:\n"
            "recording info, data signals, signals skipped by the default selection\n"
            "(other sample rates, annotation signals) and, with --annotations, the\n"
            "EDF+ annotations.\n"
            "  -a, --annotations  also list annotations (onset, duration, text)\n"
            "  --json             one JSON object on stdout instead of text\n"
            "  -h, --help         this help\n"
            "\n%s"
            "  " PROG " uses the [log] keys (how its errors are printed).\n",
            ictal_config_cli_help());
}

/* JSON string with the escapes RFC 8259 requires; bytes >= 0x80 pass through
 * (annotations are UTF-8; header fields are printable ASCII by validation). */
static void jstr(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static void print_json(const struct ictal_edf *e, int annotations)
{
    const struct ictal_edf_info *in = ictal_edf_info(e);
    printf("{\"type\":");
    jstr(in->type_name);
    printf(",\"start\":\"%04d-%02d-%02dT%02d:%02d:%02d.%07lld\"", in->year, in->month, in->day,
           in->hour, in->minute, in->second, (long long)in->start_subsecond_100ns);
    printf(",\"duration_s\":%.7f,\"duration_100ns\":%lld,\"records\":%lld,"
           "\"record_duration_s\":%.7f",
           in->duration_s, (long long)in->duration_100ns, (long long)in->records,
           in->record_duration_s);
    printf(",\"patient\":");
    jstr(in->patient);
    printf(",\"recording\":");
    jstr(in->recording);
    const struct {
        const char *k, *v;
    } plus[] = {{"patient_code", in->patient_code}, {"sex", in->sex},
                {"birthdate", in->birthdate},       {"patient_name", in->patient_name},
                {"patient_additional", in->patient_additional},
                {"admin_code", in->admin_code},     {"technician", in->technician},
                {"equipment", in->equipment},
                {"recording_additional", in->recording_additional}};
    for (size_t i = 0; i < sizeof plus / sizeof plus[0]; i++) {
        printf(",\"%s\":", plus[i].k);
        jstr(plus[i].v);
    }
    printf(",\"stream_rate\":%.9g,\"signals\":[", ictal_edf_stream_rate(e));
    for (size_t i = 0; i < in->n_signals; i++) {
        const struct ictal_edf_signal *s = ictal_edf_signal(e, i);
        printf("%s{\"index\":%zu,\"file_index\":%zu,\"label\":", i ? "," : "", s->index,
               s->file_index);
        jstr(s->label);
        printf(",\"unit\":");
        jstr(s->unit);
        printf(",\"rate\":%.9g,\"samples_per_record\":%d,\"samples\":%lld,"
               "\"phys_min\":%.9g,\"phys_max\":%.9g,\"dig_min\":%ld,\"dig_max\":%ld,"
               "\"transducer\":",
               s->rate, s->samples_per_record, (long long)s->samples, s->phys_min, s->phys_max,
               (long)s->dig_min, (long)s->dig_max);
        jstr(s->transducer);
        printf(",\"prefilter\":");
        jstr(s->prefilter);
        putchar('}');
    }
    printf("],\"skipped\":[");
    for (size_t i = 0; i < ictal_edf_skipped_count(e); i++) {
        const struct ictal_edf_skipped *k = ictal_edf_skipped(e, i);
        printf("%s{\"file_index\":%zu,\"label\":", i ? "," : "", k->file_index);
        jstr(k->label);
        printf(",\"reason\":");
        jstr(k->reason);
        putchar('}');
    }
    printf("],\"n_annotations\":%zu", in->n_annotations);
    if (annotations) {
        printf(",\"annotations\":[");
        for (size_t i = 0; i < in->n_annotations; i++) {
            const struct ictal_edf_annotation *a = ictal_edf_annotation(e, i);
            printf("%s{\"onset_s\":%.7f,\"duration_s\":", i ? "," : "", a->onset_s);
            if (a->has_duration)
                printf("%.7f", a->duration_s);
            else
                printf("null");
            printf(",\"text\":");
            jstr(a->text);
            putchar('}');
        }
        putchar(']');
    }
    printf("}\n");
}

static void print_text(const char *path, const struct ictal_edf *e, int annotations)
{
    const struct ictal_edf_info *in = ictal_edf_info(e);
    printf("file            %s\n", path);
    printf("type            %s\n", in->type_name);
    printf("start           %04d-%02d-%02d %02d:%02d:%02d.%07lld\n", in->year, in->month,
           in->day, in->hour, in->minute, in->second, (long long)in->start_subsecond_100ns);
    printf("duration        %.7f s\n", in->duration_s);
    printf("data records    %lld x %.7f s\n", (long long)in->records, in->record_duration_s);
    printf("patient         %s\n", in->patient);
    printf("recording       %s\n", in->recording);
    if (in->type == ICTAL_EDF_TYPE_EDFPLUS_C || in->type == ICTAL_EDF_TYPE_BDFPLUS_C) {
        printf("  patient code  %s\n  sex           %s\n  birthdate     %s\n"
               "  name          %s\n  admin code    %s\n  technician    %s\n"
               "  equipment     %s\n",
               in->patient_code, in->sex, in->birthdate, in->patient_name, in->admin_code,
               in->technician, in->equipment);
    }
    printf("stream rate     %.9g Hz\n", ictal_edf_stream_rate(e));
    printf("data signals    %zu\n\n", in->n_signals);
    printf("%4s %4s  %-16s %-8s %10s %8s %12s %12s %12s %-15s  %s\n", "#", "file", "label", "unit",
           "rate/Hz", "spr", "samples", "phys min", "phys max", "digital", "prefilter");
    for (size_t i = 0; i < in->n_signals; i++) {
        const struct ictal_edf_signal *s = ictal_edf_signal(e, i);
        printf("%4zu %4zu  %-16s %-8s %10.6g %8d %12lld %12.6g %12.6g %9ld..%ld  %s\n",
               s->index + 1, s->file_index + 1, s->label, s->unit, s->rate,
               s->samples_per_record, (long long)s->samples, s->phys_min, s->phys_max,
               (long)s->dig_min, (long)s->dig_max, s->prefilter);
    }
    size_t nk = ictal_edf_skipped_count(e);
    if (nk) {
        printf("\nskipped by the default selection:\n");
        for (size_t i = 0; i < nk; i++) {
            const struct ictal_edf_skipped *k = ictal_edf_skipped(e, i);
            printf("  file signal %zu %-16s %s\n", k->file_index + 1, k->label, k->reason);
        }
    }
    printf("\nannotations     %zu\n", in->n_annotations);
    if (annotations) {
        for (size_t i = 0; i < in->n_annotations; i++) {
            const struct ictal_edf_annotation *a = ictal_edf_annotation(e, i);
            if (a->has_duration)
                printf("  %14.7f s  %12.7f s  %s\n", a->onset_s, a->duration_s, a->text);
            else
                printf("  %14.7f s  %12s    %s\n", a->onset_s, "-", a->text);
        }
    }
}

/* Options and operand left by the configuration system. Returns 0, 1 for
 * --help, -1 on a usage error (message on stderr). */
static int parse_args(int argc, char **argv, const char **path, int *annotations, int *json)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--annotations") == 0 || strcmp(argv[i], "-a") == 0) {
            *annotations = 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            *json = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return 1;
        } else if (strcmp(argv[i], "--") == 0 && i + 1 < argc && !*path) {
            *path = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, PROG ": unknown option %s\n", argv[i]);
            usage(stderr);
            return -1;
        } else if (!*path) {
            *path = argv[i];
        } else {
            fprintf(stderr, PROG ": one FILE only (got %s and %s)\n", *path, argv[i]);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct ictal_error err;
    struct ictal_config *cfg = ictal_config_create(&err);
    if (!cfg) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 1;
    }
    struct ictal_config_cli cli;
    memset(&cli, 0, sizeof cli);
    int cfg_rc = ictal_config_setup(cfg, &argc, argv, NULL, 0, &cli, &err);
    const char *path = NULL;
    int annotations = 0, json = 0;
    int rc = parse_args(argc, argv, &path, &annotations, &json);
    if (rc == 1) {
        usage(stdout);
        ictal_config_destroy(cfg);
        return 0;
    }
    if (cfg_rc != 0)
        ictal_config_print_errors(cfg, stderr, PROG);
    if (rc < 0 || cfg_rc != 0) {
        ictal_config_destroy(cfg);
        return 1;
    }
    if (cli.print_config) {
        rc = ictal_config_print(cfg, stdout, ICTAL_CONFIG_PROG_TOOLS);
        ictal_config_destroy(cfg);
        return rc == 0 ? 0 : 1;
    }
    if (!path) {
        usage(stderr);
        ictal_config_destroy(cfg);
        return 1;
    }
    prog_log_setup(PROG, cfg);
    ictal_config_destroy(cfg); /* prog_log keeps what it needs */
    struct ictal_edf *e = ictal_edf_open(path, &err);
    if (!e) {
        prog_log_error("%s (%s)", err.msg, ictal_strerror(err.code));
        return 1;
    }
    if (json)
        print_json(e, annotations);
    else
        print_text(path, e, annotations);
    ictal_edf_close(e);
    if (fflush(stdout) != 0) {
        prog_log_error("write error");
        return 1;
    }
    return 0;
}
