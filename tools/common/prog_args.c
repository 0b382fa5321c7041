/*
 * prog_args.c — short options and repeatable list options (prog_args.h).
 */
#include "prog_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ictal/model.h"
#include "ictal/pipeline.h"
#include "ictal/version.h"

/* Does the long option at arg ("--name" without "=") take the next word? */
static bool takes_value(const char *arg, const struct ictal_config_option *opts, size_t n_opts)
{
    size_t n = strcspn(arg + 2, "=");
    if (arg[2 + n] == '=')
        return false;
    static const char *const common[] = { "config", "profile", "set" };
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        if (strlen(common[i]) == n && strncmp(arg + 2, common[i], n) == 0)
            return true;
    for (size_t i = 0; i < n_opts; i++)
        if (!opts[i].flag_value && strlen(opts[i].name) == n &&
            strncmp(arg + 2, opts[i].name, n) == 0)
            return true;
    return false;
}

/* Which list, if any, does long option `a` set? Its value via *val (inline
 * "=V", else NULL: the next word). */
static int list_of(const char *a, const char *const *lists, size_t n_lists, const char **val)
{
    if (a[0] != '-' || a[1] != '-')
        return -1;
    for (size_t i = 0; i < n_lists; i++) {
        size_t n = strlen(lists[i]);
        if (strncmp(a + 2, lists[i], n) != 0)
            continue;
        if (a[2 + n] == '=') {
            *val = a + 3 + n;
            return (int)i;
        }
        if (a[2 + n] == '\0') {
            *val = NULL;
            return (int)i;
        }
    }
    return -1;
}

static bool own(struct prog_args *out, char *s)
{
    char **more = realloc(out->owned, (out->n_owned + 1) * sizeof *more);
    if (!more)
        return false;
    out->owned = more;
    out->owned[out->n_owned++] = s;
    return true;
}

int prog_args_rewrite(const char *prog, int argc, char **argv, const struct prog_short *shorts,
                      size_t n_shorts, const struct ictal_config_option *opts, size_t n_opts,
                      const char *const *lists, size_t n_lists, struct prog_args *out)
{
    memset(out, 0, sizeof *out);
    /* Pass 1: short options to long ones. */
    char **v = malloc(((size_t)argc * 2 + 2) * sizeof *v);
    if (!v) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return -1;
    }
    int n = 0;
    bool rest = false;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (i == 0 || rest || a[0] != '-' || a[1] == '\0' || a[1] == '-') {
            rest = rest || strcmp(a, "--") == 0;
            v[n++] = a;
            if (i > 0 && !rest && a[0] == '-' && a[1] == '-' && takes_value(a, opts, n_opts) &&
                i + 1 < argc)
                v[n++] = argv[++i];
            continue;
        }
        size_t k = 0;
        while (k < n_shorts && shorts[k].c != a[1])
            k++;
        if (k == n_shorts) {
            v[n++] = a; /* unknown: the program reports it */
            continue;
        }
        char *name = strdup(shorts[k].name); /* argv is not const */
        if (!name || !own(out, name)) {
            free(name);
            fprintf(stderr, "%s: out of memory\n", prog);
            free(v);
            prog_args_free(out);
            return -1;
        }
        v[n++] = name;
        if (!shorts[k].value) {
            if (a[2] != '\0')
                v[n++] = a; /* "-hx": let the unknown-option check see it */
        } else if (a[2] != '\0') {
            v[n++] = a + 2;
        } else if (i + 1 < argc) {
            v[n++] = argv[++i];
        } else {
            fprintf(stderr, "%s: option -%c (%s) needs a value\n", prog, a[1], shorts[k].name);
            free(v);
            prog_args_free(out);
            return -1;
        }
    }

    /* Pass 2: join each list option's occurrences at its first place. */
    char **w = malloc(((size_t)n + 1) * sizeof *w);
    int *first = malloc((n_lists ? n_lists : 1) * sizeof *first);
    size_t *lens = calloc(n_lists ? n_lists : 1, sizeof *lens);
    if (!w || !first || !lens) {
        fprintf(stderr, "%s: out of memory\n", prog);
        free(v);
        free(w);
        free(first);
        free(lens);
        return -1;
    }
    for (size_t l = 0; l < n_lists; l++)
        first[l] = -1;
    /* sizes first, so each joined text is allocated once */
    rest = false;
    for (int i = 1; i < n; i++) {
        const char *val;
        if (rest || strcmp(v[i], "--") == 0) {
            rest = true;
            continue;
        }
        int l = list_of(v[i], lists, n_lists, &val);
        if (l < 0)
            continue;
        if (!val && i + 1 < n)
            val = v[++i];
        lens[l] += (val ? strlen(val) : 0) + 1;
    }
    char **joined = calloc(n_lists ? n_lists : 1, sizeof *joined);
    bool ok = joined != NULL;
    for (size_t l = 0; ok && l < n_lists; l++) {
        if (!lens[l])
            continue;
        joined[l] = malloc(strlen(lists[l]) + 4 + lens[l]);
        ok = joined[l] && own(out, joined[l]);
        if (ok)
            sprintf(joined[l], "--%s=", lists[l]);
        else
            free(joined[l]);
    }
    int m = 0;
    rest = false;
    for (int i = 0; ok && i < n; i++) {
        const char *val;
        int l = i == 0 || rest ? -1 : list_of(v[i], lists, n_lists, &val);
        rest = rest || (i > 0 && strcmp(v[i], "--") == 0);
        if (l < 0) {
            w[m++] = v[i];
            continue;
        }
        if (!val && i + 1 < n)
            val = v[++i];
        if (first[l] < 0) {
            first[l] = m;
            w[m++] = joined[l];
        } else {
            strcat(joined[l], ",");
        }
        strcat(joined[l], val ? val : "");
    }
    free(joined);
    free(first);
    free(lens);
    free(v);
    if (!ok) {
        fprintf(stderr, "%s: out of memory\n", prog);
        free(w);
        prog_args_free(out);
        return -1;
    }
    w[m] = NULL;
    out->argv = w;
    out->argc = m;
    return 0;
}

void prog_args_free(struct prog_args *a)
{
    for (size_t i = 0; i < a->n_owned; i++)
        free(a->owned[i]);
    free(a->owned);
    free(a->argv);
    memset(a, 0, sizeof *a);
}

int prog_args_setup(const struct prog_cli *pc, int argc, char **argv, struct ictal_config **cfgp,
                    struct ictal_model **modelp, const char **operand, int *status)
{
    const char *prog = pc->prog;
    struct ictal_error err;
    struct ictal_config *cfg = ictal_config_create(&err);
    *cfgp = cfg;
    if (modelp)
        *modelp = NULL;
    if (operand)
        *operand = NULL;
    *status = 2;
    if (!cfg) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        *status = 1;
        return -1;
    }
    struct prog_args pa;
    if (prog_args_rewrite(prog, argc, argv, pc->shorts, pc->n_shorts, pc->opts, pc->n_opts,
                          pc->lists, pc->n_lists, &pa) < 0)
        return -1;
    int n = pa.argc;
    struct ictal_config_cli cli;
    memset(&cli, 0, sizeof cli);
    int cfg_rc = ictal_config_parse_args(cfg, &n, pa.argv, pc->opts, pc->n_opts, &cli);
    bool help = false, version = false, bad = false, rest = false;
    const char *op = NULL;
    for (int i = 1; i < n; i++) {
        const char *a = pa.argv[i];
        if (!rest && strcmp(a, "--help") == 0) {
            help = true;
        } else if (!rest && strcmp(a, "--version") == 0) {
            version = true;
        } else if (!rest && strcmp(a, "--") == 0) {
            rest = true;
        } else if (!rest && a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "%s: unknown option '%s' (see --help)\n", prog, a);
            bad = true;
        } else if (!pc->operand) {
            fprintf(stderr, "%s: unexpected operand '%s' (see --help)\n", prog, a);
            bad = true;
        } else if (op) {
            fprintf(stderr, "%s: one recording only (got %s and %s)\n", prog, op, a);
            bad = true;
        } else {
            op = a;
        }
    }
    if (help || version) {
        prog_args_free(&pa);
        if (help)
            pc->usage(stdout);
        else
            printf("%s %s\n", prog, ICTAL_VERSION_STRING);
        *status = 0;
        return 1;
    }
    if (op && pc->operand_key && cfg_rc == 0)
        cfg_rc = ictal_config_set_dotted(cfg, ICTAL_CONFIG_LAYER_CLI, "operand", pc->operand_key,
                                         op);
    if (cfg_rc == 0)
        cfg_rc = ictal_config_load(cfg, &cli.src);
    if (cfg_rc != 0 || bad) {
        prog_args_free(&pa);
        ictal_config_print_errors(cfg, stderr, prog);
        return -1;
    }
    /* The model first: its defaults sit at the model layer, below every
     * file and option, and must be in before validation. */
    const char *mp = NULL;
    if (pc->model_key && modelp) {
        char section[32];
        const char *dot = strchr(pc->model_key, '.');
        size_t sl = dot ? (size_t)(dot - pc->model_key) : 0;
        if (sl >= sizeof section)
            sl = sizeof section - 1;
        memcpy(section, pc->model_key, sl);
        section[sl] = '\0';
        mp = dot ? ictal_config_get_string(cfg, section, dot + 1) : NULL;
    }
    if (mp && mp[0]) {
        struct ictal_model *m = ictal_model_load(mp, &err);
        if (!m) {
            prog_args_free(&pa);
            fprintf(stderr, "%s: model %s\n", prog, err.msg);
            *status = 1;
            return -1;
        }
        *modelp = m;
        char source[4096];
        snprintf(source, sizeof source, "model %s", mp);
        if (ictal_pipeline_model_defaults(cfg, m, source) < 0 &&
            ictal_config_error_count(cfg) == 0) {
            prog_args_free(&pa);
            fprintf(stderr, "%s: %s: the model's defaults could not be applied\n", prog, mp);
            *status = 1;
            return -1;
        }
    }
    if (ictal_config_validate(cfg, &err) != 0) {
        prog_args_free(&pa);
        ictal_config_print_errors(cfg, stderr, prog);
        return -1;
    }
    if (cli.print_config) {
        prog_args_free(&pa);
        *status = ictal_config_print(cfg, stdout, pc->programs) == 0 ? 0 : 1;
        return 1;
    }
    if (operand)
        *operand = op; /* one of argv's own strings, not the rewrite's */
    prog_args_free(&pa);
    return 0;
}
