/*
 * prog_args.h — the command-line conventions every ictal program shares, on
 * top of the configuration's option parser (ictal_config_parse_args, which
 * knows only long options mapped to keys):
 *
 *   - short options become their long forms: "-m X", "-mX" → "--model X";
 *   - options whose key is a list may be repeated, and every occurrence is
 *     joined into one "--NAME=A,B,..." at the place of the first, so
 *     `-f json -f csv_bi` and `--osc a:1 --osc b:2` read as one list.
 *
 * The rewritten argv keeps argv[0], unknown options and operands in order
 * for the program's own checks.
 */
#ifndef ICTAL_PROG_ARGS_H
#define ICTAL_PROG_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ictal/config.h"

/* The post-processing overrides ictal-run and ictal-detect both take, as
 * entries of a struct ictal_config_option table. */
#define PROG_POSTPROC_OPTIONS                                       \
    { "threshold-on", "postproc.threshold_on", NULL },              \
    { "threshold-off", "postproc.threshold_off", NULL },            \
    { "n-on", "postproc.n_on", NULL },                              \
    { "n-off", "postproc.n_off", NULL },                            \
    { "opening", "postproc.opening", NULL },                        \
    { "closing", "postproc.closing", NULL },                        \
    { "min-duration", "postproc.min_duration", NULL },              \
    { "merge-gap", "postproc.merge_gap", NULL },                    \
    { "max-duration", "postproc.max_duration", NULL },              \
    { "confidence", "postproc.confidence", NULL },                  \
    { "percentile", "postproc.confidence_percentile", NULL },

struct prog_short {
    char c;                 /* 'm' */
    const char *name;       /* "--model" */
    bool value;             /* takes a value */
};

struct prog_args {
    int argc;
    char **argv;            /* NULL-terminated */
    /* storage behind argv (joined lists) */
    char **owned;
    size_t n_owned;
};

/* Rewrite argc/argv as above. `opts` are the program's mapped options (their
 * flag_value says whether they take a value); `lists` the long names (no
 * dashes) to join. Returns 0, or -1 after printing "PROG: option -x (--name)
 * needs a value" or "out of memory" to stderr. */
int prog_args_rewrite(const char *prog, int argc, char **argv, const struct prog_short *shorts,
                      size_t n_shorts, const struct ictal_config_option *opts, size_t n_opts,
                      const char *const *lists, size_t n_lists, struct prog_args *out);

void prog_args_free(struct prog_args *a);

/* What a program tells prog_args_setup about its command line. */
struct prog_cli {
    const char *prog;                          /* "ictal-run" */
    const struct prog_short *shorts;
    size_t n_shorts;
    const struct ictal_config_option *opts;    /* options mapped onto keys */
    size_t n_opts;
    const char *const *lists;                  /* repeatable list options */
    size_t n_lists;
    bool operand;                              /* takes one operand (a recording) */
    const char *operand_key;                   /* "section.key" it sets, or NULL */
    const char *model_key;                     /* "section.key" of a model whose defaults
                                                  enter the model layer, or NULL */
    unsigned programs;                         /* ICTAL_CONFIG_PROG_* for --print-config */
    void (*usage)(FILE *f);
};

/* The command-line steps every program shares: short and list options
 * (prog_args_rewrite), --help, --version, the mapped and common options
 * (ictal_config_parse_args), unknown options and operands, the files,
 * profile and environment (ictal_config_load), the model named by
 * model_key (loaded, its defaults put in at the model layer), validation,
 * and --print-config. Diagnostics go to stderr prefixed with the program's
 * name. Returns 0 to go on (*cfg validated; *model loaded when model_key is
 * set and names one, else NULL; *operand the operand or NULL), 1 when the
 * program is done (help, version, print-config: exit with *status), -1 on an
 * error (exit with *status: 2 usage or configuration, 1 an unreadable
 * model). *cfg and *model are the caller's to destroy in every case. */
struct ictal_model;
int prog_args_setup(const struct prog_cli *pc, int argc, char **argv, struct ictal_config **cfg,
                    struct ictal_model **model, const char **operand, int *status);

#endif /* ICTAL_PROG_ARGS_H */
