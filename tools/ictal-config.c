/*
 * ictal-config — show, check and document the ictal configuration.
 *
 *   ictal-config --print [--program NAME] [--config F] [--profile P] [--set k=v]
 *   ictal-config --check FILE
 *   ictal-config --markdown [-o FILE]     (docs/configuration.md)
 *   ictal-config --example  [-o FILE]     (rt-config/ictal.conf.example)
 *
 * Exit status: 0 fine, 1 the configuration has errors, 2 usage or I/O error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ictal/config.h"
#include "ictal/version.h"

#define PROG "ictal-config"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: " PROG " --print [--program NAME] [configuration options]\n"
            "       " PROG " --check FILE\n"
            "       " PROG " --markdown [-o FILE]\n"
            "       " PROG " --example [-o FILE]\n"
            "\n"
            "  --print, --print-config  the effective configuration (system and user\n"
            "                         files or --config, profile, environment, --set) with\n"
            "                         the source of every value, as a config file\n"
            "  --program NAME         only the keys NAME uses: detect, play, log, run,\n"
            "                         score, synth\n"
            "  --check FILE           validate FILE on its own, every profile included\n"
            "  --markdown             the configuration reference (docs/configuration.md)\n"
            "  --example              an example config file with every key\n"
            "  -o FILE                write --markdown/--example output to FILE\n"
            "  --help, --version\n"
            "\n%s"
            "\nExit status: 0 valid, 1 configuration errors, 2 usage or I/O error.\n",
            ictal_config_cli_help());
}

static int program_mask(const char *name, unsigned *mask)
{
    static const struct { const char *n; unsigned m; } progs[] = {
        { "detect", ICTAL_CONFIG_PROG_DETECT }, { "play", ICTAL_CONFIG_PROG_PLAY },
        { "log", ICTAL_CONFIG_PROG_LOG },       { "run", ICTAL_CONFIG_PROG_RUN },
        { "score", ICTAL_CONFIG_PROG_SCORE },   { "synth", ICTAL_CONFIG_PROG_SYNTH },
        { "all", ICTAL_CONFIG_PROG_ALL },
    };
    if (strncmp(name, "ictal-", 6) == 0)
        name += 6;
    for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++)
        if (strcmp(name, progs[i].n) == 0) {
            *mask = progs[i].m;
            return 0;
        }
    return -1;
}

static int write_text(char *text, const char *path)
{
    if (!text) {
        fprintf(stderr, PROG ": out of memory\n");
        return 2;
    }
    FILE *f = path ? fopen(path, "w") : stdout;
    if (!f) {
        perror(path);
        free(text);
        return 2;
    }
    int bad = fputs(text, f) < 0;
    bad |= path ? fclose(f) != 0 : fflush(f) != 0;
    free(text);
    if (bad) {
        fprintf(stderr, PROG ": write error on %s\n", path ? path : "stdout");
        return 2;
    }
    return 0;
}

/* Check FILE alone: its own errors, then each profile applied on top of it. */
static int check_file(const char *path)
{
    struct ictal_error err;
    struct ictal_config *cfg = ictal_config_create(&err);
    if (!cfg) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 2;
    }
    ictal_config_load_file(cfg, path, ICTAL_CONFIG_LAYER_USER, true);
    int bad = ictal_config_validate(cfg, &err) != 0;
    ictal_config_print_errors(cfg, stderr, PROG);
    size_t n = ictal_config_profiles(cfg, NULL, 0);
    const char **names = n ? calloc(n, sizeof *names) : NULL;
    if (n && !names) {
        ictal_config_destroy(cfg);
        fprintf(stderr, PROG ": out of memory\n");
        return 2;
    }
    ictal_config_profiles(cfg, names, n);
    for (size_t i = 0; i < n && !bad; i++) {
        struct ictal_config *p = ictal_config_create(&err);
        if (!p) {
            fprintf(stderr, PROG ": %s\n", err.msg);
            bad = 1;
            break;
        }
        ictal_config_load_file(p, path, ICTAL_CONFIG_LAYER_USER, true);
        ictal_config_use_profile(p, names[i], "check");
        if (ictal_config_validate(p, &err) != 0) {
            size_t ne = ictal_config_error_count(p);
            for (size_t e = 0; e < ne; e++)
                fprintf(stderr, PROG ": with profile %s: %s\n", names[i],
                        ictal_config_error_message(p, e));
            bad = 1;
        }
        ictal_config_destroy(p);
    }
    if (!bad)
        printf("%s: valid (%zu profile%s)\n", path, n, n == 1 ? "" : "s");
    free(names);
    ictal_config_destroy(cfg);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct ictal_error err;
    struct ictal_config *cfg = ictal_config_create(&err);
    if (!cfg) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return 2;
    }
    struct ictal_config_cli cli;
    memset(&cli, 0, sizeof cli);
    ictal_config_parse_args(cfg, &argc, argv, NULL, 0, &cli);

    enum { NONE, PRINT, CHECK, MARKDOWN, EXAMPLE } mode = cli.print_config ? PRINT : NONE;
    const char *check_path = NULL, *out_path = NULL;
    unsigned mask = ICTAL_CONFIG_PROG_ALL;
    int status = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            ictal_config_destroy(cfg);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf(PROG " %s\n", ICTAL_VERSION_STRING);
            ictal_config_destroy(cfg);
            return 0;
        } else if (strcmp(a, "--print") == 0) {
            mode = PRINT;
        } else if (strcmp(a, "--markdown") == 0) {
            mode = MARKDOWN;
        } else if (strcmp(a, "--example") == 0) {
            mode = EXAMPLE;
        } else if (strcmp(a, "--check") == 0 && next) {
            mode = CHECK;
            check_path = argv[++i];
        } else if (strcmp(a, "-o") == 0 && next) {
            out_path = argv[++i];
        } else if (strcmp(a, "--program") == 0 && next) {
            if (program_mask(argv[++i], &mask) != 0) {
                fprintf(stderr, PROG ": --program: unknown program '%s'\n", argv[i]);
                status = 2;
            }
        } else {
            fprintf(stderr, PROG ": unexpected argument '%s'%s\n", a,
                    (strcmp(a, "--check") == 0 || strcmp(a, "-o") == 0 ||
                     strcmp(a, "--program") == 0) ? " (it needs a value)" : "");
            status = 2;
        }
    }
    if (status == 0 && mode == NONE) {
        fprintf(stderr, PROG ": say what to do: --print, --check FILE, --markdown or --example\n");
        status = 2;
    }
    if (status != 0) {
        fprintf(stderr, "Try '" PROG " --help'.\n");
        ictal_config_destroy(cfg);
        return status;
    }

    switch (mode) {
    case MARKDOWN:
        status = write_text(ictal_config_markdown(), out_path);
        break;
    case EXAMPLE:
        status = write_text(ictal_config_example(), out_path);
        break;
    case CHECK:
        /* --set/--config/--profile make no sense here: the file stands alone. */
        if (ictal_config_error_count(cfg) != 0) {
            ictal_config_print_errors(cfg, stderr, PROG);
            status = 1;
        } else {
            status = check_file(check_path);
        }
        break;
    case PRINT:
        ictal_config_load(cfg, &cli.src);
        if (ictal_config_validate(cfg, &err) != 0) {
            ictal_config_print_errors(cfg, stderr, PROG);
            status = 1;
        } else {
            status = ictal_config_print(cfg, stdout, mask) == 0 ? 0 : 2;
        }
        break;
    case NONE:
        break;
    }
    ictal_config_destroy(cfg);
    return status;
}
