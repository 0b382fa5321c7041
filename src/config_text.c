/*
 * config_text.c — text made from the key table: the effective-configuration
 * snapshot (--print-config, --report), docs/configuration.md and
 * rt-config/ictal.conf.example. The prose of the docs lives here so that the
 * generated file is complete; edit it here, then regenerate.
 */
#include "config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ictal/version.h"

static const char *const prog_names[] = {
    "ictal-detect", "ictal-play", "ictal-log", "ictal-run", "ictal-score", "ictal-synth",
    "ictal-config/edfinfo"
};

static const char *type_name(enum ictal_config_type t)
{
    switch (t) {
    case ICTAL_CONFIG_BOOL: return "bool";
    case ICTAL_CONFIG_INT: return "int";
    case ICTAL_CONFIG_DOUBLE: return "number";
    case ICTAL_CONFIG_STRING: return "string";
    case ICTAL_CONFIG_ENUM: return "enum";
    case ICTAL_CONFIG_LIST: return "list";
    case ICTAL_CONFIG_DURATION: return "duration";
    }
    return "?";
}

static bool section_used(size_t s, unsigned programs)
{
    for (int i = 0; i < CFG_N_KEYS; i++)
        if (strcmp(cfg_keys[i].section, cfg_sections[s].name) == 0 &&
            (cfg_keys[i].programs & programs))
            return true;
    return false;
}

/* A source or path printed inside a comment: control bytes become '?'. */
static void put_clean(struct cfg_buf *b, const char *s)
{
    for (; *s; s++)
        cfg_buf_printf(b, "%c", ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s);
}

char *ictal_config_snapshot(const struct ictal_config *cfg, unsigned programs)
{
    if (!cfg)
        return NULL;
    struct cfg_buf b = { 0 };
    cfg_buf_printf(&b, "# ictal %s effective configuration.\n", ICTAL_VERSION_STRING);
    cfg_buf_puts(&b, "# A valid config file: feed it back with --config FILE. The comment after\n"
                     "# each value names where it came from (default, model, FILE:LINE,\n"
                     "# profile, environment variable or command-line option).\n");
    for (size_t s = 0; s < cfg_n_sections; s++) {
        if (!section_used(s, programs))
            continue;
        cfg_buf_printf(&b, "\n[%s]\n", cfg_sections[s].name);
        for (int i = 0; i < CFG_N_KEYS; i++) {
            const struct cfg_key_def *k = &cfg_keys[i];
            if (strcmp(k->section, cfg_sections[s].name) != 0 || !(k->programs & programs))
                continue;
            const struct cfg_entry *e = &cfg->entries[i];
            size_t before = b.len;
            cfg_buf_printf(&b, "%s = %s", k->key, e->v.text);
            size_t w = b.len - before;
            cfg_buf_printf(&b, "%*s ; ", w < 40 ? (int)(40 - w) : 0, "");
            put_clean(&b, e->source);
            cfg_buf_puts(&b, "\n");
        }
    }
    return cfg_buf_take(&b);
}

char *ictal_config_snapshot_json(const struct ictal_config *cfg, unsigned programs)
{
    if (!cfg)
        return NULL;
    cJSON *root = cJSON_CreateObject();
    bool ok = root != NULL;
    for (size_t s = 0; ok && s < cfg_n_sections; s++) {
        if (!section_used(s, programs))
            continue;
        cJSON *sec = cJSON_AddObjectToObject(root, cfg_sections[s].name);
        ok = sec != NULL;
        for (int i = 0; ok && i < CFG_N_KEYS; i++) {
            const struct cfg_key_def *k = &cfg_keys[i];
            if (strcmp(k->section, cfg_sections[s].name) != 0 || !(k->programs & programs))
                continue;
            const struct cfg_entry *e = &cfg->entries[i];
            cJSON *item = cJSON_AddObjectToObject(sec, k->key);
            cJSON *v = NULL;
            switch (k->type) {
            case ICTAL_CONFIG_BOOL: v = cJSON_CreateBool(e->v.b); break;
            case ICTAL_CONFIG_INT:
            case ICTAL_CONFIG_DOUBLE:
            case ICTAL_CONFIG_DURATION: v = cJSON_CreateNumber(e->v.d); break;
            case ICTAL_CONFIG_STRING:
            case ICTAL_CONFIG_ENUM: v = cJSON_CreateString(e->v.text); break;
            case ICTAL_CONFIG_LIST:
                v = cJSON_CreateArray();
                for (size_t j = 0; v && j < e->v.n_items; j++) {
                    cJSON *str = cJSON_CreateString(e->v.items[j]);
                    if (!str || !cJSON_AddItemToArray(v, str)) {
                        cJSON_Delete(str);
                        cJSON_Delete(v);
                        v = NULL;
                    }
                }
                break;
            }
            if (!item || !v || !cJSON_AddItemToObject(item, "value", v)) {
                cJSON_Delete(v); /* not attached: ours to free */
                ok = false;
                break;
            }
            ok = cJSON_AddStringToObject(item, "source", e->source) != NULL;
        }
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

int ictal_config_print(const struct ictal_config *cfg, FILE *out, unsigned programs)
{
    if (!cfg || !out)
        return ICTAL_EINVAL;
    char *s = ictal_config_snapshot(cfg, programs);
    if (!s)
        return ICTAL_ENOMEM;
    int rc = fputs(s, out) < 0 || fflush(out) != 0 ? ICTAL_EIO : 0;
    free(s);
    return rc;
}

/* Markdown table cell: '|' escaped. */
static void put_cell(struct cfg_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            cfg_buf_puts(b, "\\|");
        else
            cfg_buf_printf(b, "%c", *s);
    }
}

static void put_programs(struct cfg_buf *b, unsigned programs)
{
    if (programs == ICTAL_CONFIG_PROG_ALL) {
        cfg_buf_puts(b, "all");
        return;
    }
    bool any = false;
    for (unsigned i = 0; i < sizeof prog_names / sizeof prog_names[0]; i++)
        if (programs & (1u << i)) {
            cfg_buf_printf(b, "%s%s", any ? ", " : "", prog_names[i] + 6);
            any = true;
        }
}

/* Split in parts: ISO C only promises string literals of 4095 bytes. */
static const char *const doc_intro[] = {
    "# Configuration\n"
    "\n"
    "<!-- Generated by `ictal-config --markdown` from src/config_keys.h and\n"
    "     src/config_text.c. Do not edit: change those and regenerate\n"
    "     (`ictal-config --markdown -o docs/configuration.md`); test_config_docs\n"
    "     fails while this file and the table disagree. -->\n"
    "\n"
    "Every ictal program reads one configuration with the same keys, the same files, the\n"
    "same environment variables and the same command-line options. A key lives in a section\n"
    "(`[postproc]`) and is named `section.key` (`postproc.threshold_on`) wherever it appears\n"
    "outside a file. Keys of the programs' own sections are read only by that program; the\n"
    "shared sections (`[pipeline]`, `[postproc]`, `[osc]`, `[jack]`, `[rt]`, `[log]`) are read\n"
    "by every program that does that job, so `ictal-run` and `ictal-detect` cannot disagree\n"
    "about post-processing.\n"
    "\n",
    "## Layers\n"
    "\n"
    "Lowest precedence first; a higher layer overrides a lower one key by key:\n"
    "\n"
    "| layer | where | source shown by `--print-config` |\n"
    "|---|---|---|\n"
    "| default | built in (the tables below) | `default` |\n"
    "| model | the model file's defaults (pre-filter, post-processing) | `model PATH` |\n"
    "| system | `/etc/ictal/ictal.conf` (directory overridable with `ICTAL_SYSCONFDIR`) | `FILE:LINE` |\n"
    "| user | `$XDG_CONFIG_HOME/ictal/ictal.conf`, else `~/.config/ictal/ictal.conf` | `FILE:LINE` |\n"
    "| profile | `[profile.NAME]` chosen with `--profile NAME` or `ICTAL_PROFILE=NAME` | `profile NAME at FILE:LINE` |\n"
    "| environment | `ICTAL_<SECTION>_<KEY>`, e.g. `ICTAL_POSTPROC_THRESHOLD_ON=0.7` | `environment VAR` |\n"
    "| command line | `--set section.key=value` and each program's own options | `option --NAME` |\n"
    "\n"
    "- `--config FILE` (repeatable) replaces the system and user files: only the named files\n"
    "  are read, in order, at the user layer; a later file overrides an earlier one. A missing\n"
    "  `--config` file is an error; a missing system or user file is not. An unreadable one is.\n"
    "- The model layer sits below every file: a value you set anywhere beats the model's\n"
    "  default, whatever order the program reads them in.\n"
    "- Profiles sit above all files and below the environment. Choosing a profile is an\n"
    "  explicit, more specific choice than a file's general settings, so a patient profile\n"
    "  defined in `/etc` is not undone by a general threshold in a user file. A profile may be\n"
    "  defined in several files; their entries apply in file order.\n"
    "- Within one layer the later setting wins (two `--config` files; `--set` after a program\n"
    "  option). Setting the same key twice in one file is an error.\n"
    "\n",
    "## File syntax\n"
    "\n"
    "INI, read with libinih:\n"
    "\n"
    "```ini\n"
    "# comment (';' works too, also after a value when preceded by a blank)\n"
    "[postproc]\n"
    "threshold_on = 0.7\n"
    "min_duration = 10s      ; durations: us, ms, s, m (min), h, d; none: seconds\n"
    "merge_gap = 1m30s\n"
    "\n"
    "[detect]\n"
    "connect = ictal-play:FP1-F7, ictal-play:F7-T7,\n"
    "          ictal-play:T7-P7          ; lists may continue on indented lines\n"
    "\n"
    "[profile.patient07]\n"
    "postproc.threshold_on = 0.72\n"
    "postproc.min_duration = 8s\n"
    "```\n"
    "\n"
    "- Types: **bool** `true/false`, `yes/no`, `on/off`, `1/0`; **int** decimal; **number**\n"
    "  decimal (no nan/inf); **string** any UTF-8 text without control characters and without\n"
    "  `;` (it starts a comment); **enum** one of the listed choices (any case); **list**\n"
    "  comma-separated items, blanks around items ignored, empty means none; **duration** a\n"
    "  number with an optional unit `us`, `ms`, `s`, `m` or `min`, `h`, `d` (none: seconds),\n"
    "  or several such parts (`1h30m`, `2min 5s`), read in seconds (printed as seconds).\n"
    "- An indented line right after a value continues that value if it does not look like\n"
    "  `key = value`; only lists may continue. Indented `key = value` lines and sections are\n"
    "  read as usual.\n"
    "- Lines are at most 197 characters (libinih's line buffer); longer lists continue on\n"
    "  indented lines. Files are at most 1 MiB, UTF-8 (a BOM is accepted), LF or CRLF.\n"
    "- Section names are at most 49 characters, profile names use letters, digits, `_`, `-`.\n"
    "- Keys in a `[profile.NAME]` section are written `section.key`.\n"
    "\n",
    "## Command line\n"
    "\n"
    "Every program accepts:\n"
    "\n"
    "| option | meaning |\n"
    "|---|---|\n"
    "| `--config FILE` | read FILE instead of the system and user files (repeatable) |\n"
    "| `--profile NAME` | apply `[profile.NAME]` (overrides `ICTAL_PROFILE`) |\n"
    "| `--set SECTION.KEY=VALUE` | set any key (repeatable) |\n"
    "| `--print-config` | print the effective configuration and exit |\n"
    "\n"
    "and its own options for the keys it uses most (e.g. `--threshold-on` for\n"
    "`postproc.threshold_on`); `--help` lists them. `--print-config` writes valid INI with the\n"
    "source of each value as a trailing comment; save it and pass it back with `--config` to\n"
    "reproduce a run. Reports written with `--report` embed the same text.\n"
    "\n"
    "`ictal-config` shows and checks configurations without running anything:\n"
    "\n"
    "```sh\n"
    "ictal-config --print [--program NAME] [--profile P] [--config F] [--set k=v]\n"
    "ictal-config --check FILE        # validate FILE alone, all its profiles included\n"
    "ictal-config --markdown          # this page\n"
    "ictal-config --example           # rt-config/ictal.conf.example\n"
    "```\n"
    "\n",
    "## Validation\n"
    "\n"
    "Everything is checked before a program starts, and every problem is reported, not just\n"
    "the first: unknown sections and keys (with a \"did you mean\" suggestion), wrong types,\n"
    "values out of range, malformed lines (no `=`, unterminated `[section`, control bytes,\n"
    "invalid UTF-8, lines too long), keys set twice in a file, unknown profiles (listing the\n"
    "defined ones), and contradictions between keys (`postproc.threshold_off` above\n"
    "`threshold_on`, `min_duration` above `max_duration`, `pipeline.highpass` not below\n"
    "`lowpass`, `pipeline.clip_uv` above `implausible_uv`, a `[logger]` output without its\n"
    "path). Each message names the file and line, the environment variable or the option;\n"
    "a contradiction names both keys and where each value came from. Keys in unselected\n"
    "profiles are checked too. Environment variables named like a section but no key\n"
    "(`ICTAL_POSTPROC_TRESHOLD_ON`) are errors; other `ICTAL_*` variables are ignored. The\n"
    "program then exits with a non-zero status.\n"
    "\n"
    "`[log]` is about the diagnostics each program prints about itself (level, destination);\n"
    "`[logger]` configures `ictal-log`, the program that records seizure events.\n"
    "\n"
    "## Keys\n",
};

char *ictal_config_markdown(void)
{
    struct cfg_buf b = { 0 };
    for (size_t i = 0; i < sizeof doc_intro / sizeof doc_intro[0]; i++)
        cfg_buf_puts(&b, doc_intro[i]);
    for (size_t s = 0; s < cfg_n_sections; s++) {
        cfg_buf_printf(&b, "\n### `[%s]`\n\n%s\n\n", cfg_sections[s].name, cfg_sections[s].doc);
        cfg_buf_puts(&b, "| key | type | default | unit | range or choices | used by | description |\n"
                         "|---|---|---|---|---|---|---|\n");
        for (int i = 0; i < CFG_N_KEYS; i++) {
            const struct cfg_key_def *k = &cfg_keys[i];
            if (strcmp(k->section, cfg_sections[s].name) != 0)
                continue;
            char range[96];
            cfg_range_text(k, range, sizeof range);
            cfg_buf_printf(&b, "| `%s` | %s | ", k->key, type_name(k->type));
            if (k->def[0]) {
                cfg_buf_puts(&b, "`");
                put_cell(&b, k->def);
                cfg_buf_puts(&b, "`");
            } else {
                cfg_buf_puts(&b, "(empty)");
            }
            cfg_buf_printf(&b, " | %s | ", k->unit);
            if (k->choices) {
                for (const char *c = k->choices; *c; c++)
                    cfg_buf_puts(&b, *c == '|' ? ", " : (char[2]){ *c, '\0' });
            } else if (range[0]) {
                cfg_buf_puts(&b, range);
            } else if (k->check == CHK_HOSTPORT) {
                cfg_buf_puts(&b, "host:port items");
            } else if (k->check == CHK_NONEMPTY) {
                cfg_buf_puts(&b, "not empty");
            }
            cfg_buf_puts(&b, " | ");
            put_programs(&b, k->programs);
            cfg_buf_puts(&b, " | ");
            put_cell(&b, k->doc);
            cfg_buf_puts(&b, " |\n");
        }
    }
    return cfg_buf_take(&b);
}

char *ictal_config_example(void)
{
    struct cfg_buf b = { 0 };
    cfg_buf_puts(&b,
        "# ictal.conf — example configuration for every ictal program.\n"
        "#\n"
        "# Generated by `ictal-config --example` from the key table; every key is shown\n"
        "# commented out at its built-in default. Copy to /etc/ictal/ictal.conf (system)\n"
        "# or ~/.config/ictal/ictal.conf (user), or pass it with --config FILE, and\n"
        "# uncomment what you change. Reference: docs/configuration.md.\n");
    for (size_t s = 0; s < cfg_n_sections; s++) {
        cfg_buf_printf(&b, "\n# ---- %s\n", cfg_sections[s].doc);
        cfg_buf_printf(&b, "[%s]\n", cfg_sections[s].name);
        for (int i = 0; i < CFG_N_KEYS; i++) {
            const struct cfg_key_def *k = &cfg_keys[i];
            if (strcmp(k->section, cfg_sections[s].name) != 0)
                continue;
            char range[96];
            cfg_range_text(k, range, sizeof range);
            cfg_buf_printf(&b, "# %s", k->doc);
            if (k->choices) {
                cfg_buf_puts(&b, " (");
                for (const char *c = k->choices; *c; c++)
                    cfg_buf_puts(&b, *c == '|' ? ", " : (char[2]){ *c, '\0' });
                cfg_buf_puts(&b, ")");
            } else if (range[0]) {
                cfg_buf_printf(&b, " (%s%s%s)", range, k->unit[0] ? " " : "", k->unit);
            } else if (k->unit[0] && strcmp(k->unit, "path") != 0) {
                cfg_buf_printf(&b, " (%s)", k->unit);
            }
            cfg_buf_printf(&b, "\n;%s = %s\n", k->key, k->def);
        }
    }
    cfg_buf_puts(&b,
        "\n# ---- Per-patient profiles: choose one with --profile patient07 or\n"
        "# ICTAL_PROFILE=patient07. Keys are written section.key; a profile overrides\n"
        "# the files and is overridden by the environment and the command line.\n"
        ";[profile.patient07]\n"
        ";postproc.threshold_on = 0.72\n"
        ";postproc.threshold_off = 0.5\n"
        ";postproc.min_duration = 8s\n");
    return cfg_buf_take(&b);
}
