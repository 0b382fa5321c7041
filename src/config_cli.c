/*
 * config_cli.c — the command-line options every ictal program shares, and the
 * mapping of a program's own options onto configuration keys.
 */
#include "config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* If argv[i] is "--NAME" or "--NAME=V", return 1 or 2 and set *inline_value
 * (NULL for the first form). */
static int match_option(const char *arg, const char *name, const char **inline_value)
{
    size_t n = strlen(name);
    if (strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, name, n) != 0)
        return 0;
    if (arg[2 + n] == '\0') {
        *inline_value = NULL;
        return 1;
    }
    if (arg[2 + n] == '=') {
        *inline_value = arg + 3 + n;
        return 2;
    }
    return 0;
}

int ictal_config_parse_args(struct ictal_config *cfg, int *argc, char **argv,
                            const struct ictal_config_option *opts, size_t n_opts,
                            struct ictal_config_cli *cli)
{
    if (!cfg || !argc || !cli || (*argc > 0 && !argv) || (n_opts && !opts))
        return ICTAL_EINVAL;
    int first = 0;
#define FAIL(...)                                                    \
    do {                                                             \
        int rc_ = cfg_diag_add(cfg, ICTAL_EINVAL, false, __VA_ARGS__); \
        if (!first)                                                  \
            first = rc_;                                             \
    } while (0)

    /* The table entries must name real keys: a program bug, reported once. */
    for (size_t j = 0; j < n_opts; j++) {
        char sec[128], key[128];
        const char *dot = opts[j].key ? strchr(opts[j].key, '.') : NULL;
        bool ok = opts[j].name && dot && (size_t)(dot - opts[j].key) < sizeof sec &&
                  strlen(dot + 1) < sizeof key;
        if (ok) {
            snprintf(sec, sizeof sec, "%.*s", (int)(dot - opts[j].key), opts[j].key);
            snprintf(key, sizeof key, "%s", dot + 1);
            ok = cfg_find_key(sec, key) >= 0;
        }
        if (!ok)
            FAIL("option --%s: maps to '%s', which is not a configuration key",
                 opts[j].name ? opts[j].name : "(null)", opts[j].key ? opts[j].key : "(null)");
    }

    int out = *argc > 0 ? 1 : 0;
    int i = out;
    for (; i < *argc; i++) {
        const char *arg = argv[i];
        const char *val = NULL;
        if (strcmp(arg, "--") == 0)
            break;
        /* Common options. */
        static const char *const common[] = { "config", "profile", "set" };
        int which = -1, form = 0;
        for (int c = 0; c < 3 && which < 0; c++)
            if ((form = match_option(arg, common[c], &val)) != 0)
                which = c;
        int mapped = -1;
        if (which < 0 && strcmp(arg, "--print-config") == 0) {
            cli->print_config = true;
            continue;
        }
        for (size_t j = 0; which < 0 && mapped < 0 && j < n_opts; j++)
            if (opts[j].name && (form = match_option(arg, opts[j].name, &val)) != 0)
                mapped = (int)j;
        if (which < 0 && mapped < 0) {
            argv[out++] = argv[i];
            continue;
        }
        const char *name = which >= 0 ? common[which] : opts[mapped].name;
        bool is_flag = mapped >= 0 && opts[mapped].flag_value;
        if (is_flag) {
            if (form == 2) {
                FAIL("option --%s: takes no value (got '%s')", name, val);
                continue;
            }
            val = opts[mapped].flag_value;
        } else if (form == 1) {
            if (i + 1 >= *argc) {
                FAIL("option --%s: needs a value", name);
                continue;
            }
            val = argv[++i];
        }
        char src[192];
        switch (which) {
        case 0:
            if (cli->src.n_config_files >= ICTAL_CONFIG_MAX_FILES)
                FAIL("option --config: at most %d files", ICTAL_CONFIG_MAX_FILES);
            else if (!val[0])
                FAIL("option --config: needs a file name");
            else
                cli->src.config_files[cli->src.n_config_files++] = val;
            break;
        case 1:
            if (!val[0])
                FAIL("option --profile: needs a profile name");
            else
                cli->src.profile = val;
            break;
        case 2: {
            const char *eq = strchr(val, '=');
            if (!eq) {
                FAIL("option --set: '%s' is not section.key=value", val);
                break;
            }
            char dotted[160];
            snprintf(dotted, sizeof dotted, "%.*s", (int)(eq - val), val);
            snprintf(src, sizeof src, "option --set %s", dotted);
            int rc = ictal_config_set_dotted(cfg, ICTAL_CONFIG_LAYER_CLI, src, dotted, eq + 1);
            if (rc && !first)
                first = rc;
            break;
        }
        default: {
            snprintf(src, sizeof src, "option --%s", name);
            int rc = ictal_config_set_dotted(cfg, ICTAL_CONFIG_LAYER_CLI, src, opts[mapped].key, val);
            if (rc && !first)
                first = rc;
            break;
        }
        }
    }
    for (; i < *argc; i++)
        argv[out++] = argv[i];
    if (out < *argc)
        argv[out] = NULL;
    *argc = out;
    return first;
#undef FAIL
}

int ictal_config_setup(struct ictal_config *cfg, int *argc, char **argv,
                       const struct ictal_config_option *opts, size_t n_opts,
                       struct ictal_config_cli *cli, struct ictal_error *err)
{
    if (!cfg || !cli)
        return ictal_error_set(err, ICTAL_EINVAL, "config: no configuration");
    ictal_config_parse_args(cfg, argc, argv, opts, n_opts, cli);
    ictal_config_load(cfg, &cli->src);
    return ictal_config_validate(cfg, err);
}

const char *ictal_config_cli_help(void)
{
    return "Configuration (see docs/configuration.md):\n"
           "  --config FILE          read FILE instead of /etc/ictal/ictal.conf and\n"
           "                         ~/.config/ictal/ictal.conf (repeatable)\n"
           "  --profile NAME         apply [profile.NAME] from the config files\n"
           "  --set SECTION.KEY=VAL  set any key (repeatable)\n"
           "  --print-config         print the effective configuration with the source\n"
           "                         of each value, as a config file, and exit\n"
           "  Environment: ICTAL_<SECTION>_<KEY>=VALUE, ICTAL_PROFILE=NAME.\n";
}

void ictal_config_print_option_help(FILE *out, const struct ictal_config_option *opts,
                                    size_t n_opts)
{
    if (!out || (n_opts && !opts))
        return;
    for (size_t j = 0; j < n_opts; j++) {
        if (!opts[j].name || !opts[j].key)
            continue;
        const char *dot = strchr(opts[j].key, '.');
        int ki = -1;
        if (dot) {
            char sec[128];
            snprintf(sec, sizeof sec, "%.*s", (int)(dot - opts[j].key), opts[j].key);
            ki = cfg_find_key(sec, dot + 1);
        }
        if (ki < 0)
            continue;
        const struct cfg_key_def *k = &cfg_keys[ki];
        char head[96];
        snprintf(head, sizeof head, "--%s%s", opts[j].name, opts[j].flag_value ? "" : " VALUE");
        fprintf(out, "  %-22s %s [%s; default %s%s]\n", head, k->doc, opts[j].key,
                k->def[0] ? k->def : "\"\"",
                k->type == ICTAL_CONFIG_DURATION && k->def[0] ? "s" : "");
    }
}
