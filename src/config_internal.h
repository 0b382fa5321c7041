/*
 * config_internal.h — what src/config.c, config_cli.c and config_text.c share:
 * the key table as data and the configuration object's layout.
 */
#ifndef ICTAL_CONFIG_INTERNAL_H
#define ICTAL_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ictal/config.h"

/* Program masks used in config_keys.h. */
#define P_DETECT ICTAL_CONFIG_PROG_DETECT
#define P_PLAY   ICTAL_CONFIG_PROG_PLAY
#define P_LOG    ICTAL_CONFIG_PROG_LOG
#define P_RUN    ICTAL_CONFIG_PROG_RUN
#define P_SCORE  ICTAL_CONFIG_PROG_SCORE
#define P_SYNTH  ICTAL_CONFIG_PROG_SYNTH
#define P_TOOLS  ICTAL_CONFIG_PROG_TOOLS
#define P_ALL    ICTAL_CONFIG_PROG_ALL

/* Range flags. */
#define RMIN  1u /* value >= min */
#define RMINX 2u /* value >  min */
#define RMAX  4u /* value <= max */

enum cfg_check { CHK_NONE = 0, CHK_HOSTPORT, CHK_NONEMPTY };

struct cfg_key_def {
    const char *section;
    const char *key;
    enum ictal_config_type type;
    const char *def;
    const char *unit;
    double min, max;
    unsigned range;
    const char *choices; /* "a|b|c" or NULL */
    unsigned programs;
    enum cfg_check check;
    const char *doc;
};

struct cfg_section_def {
    const char *name;
    unsigned programs;
    const char *doc;
};

/* Key indices, in table order: K_postproc_threshold_on, ... */
enum cfg_key_index {
#define ICTAL_CFG_SECTION(name, programs, doc)
#define ICTAL_CFG_KEY(sec, key, type, def, unit, mn, mx, rf, ch, pr, chk, doc) K_##sec##_##key,
#include "config_keys.h"
#undef ICTAL_CFG_SECTION
#undef ICTAL_CFG_KEY
    CFG_N_KEYS
};

extern const struct cfg_key_def cfg_keys[CFG_N_KEYS];
extern const struct cfg_section_def cfg_sections[];
extern const size_t cfg_n_sections;

/* A parsed value. Strings and list items are malloc'd and owned here. */
struct cfg_value {
    bool b;
    int64_t i;
    double d;  /* double, duration (seconds); int as double too */
    int e;     /* enum index */
    char *text;     /* canonical printed form (always set) */
    char **items;   /* list items (NULL-terminated), lists only */
    size_t n_items;
};

struct cfg_entry {
    int layer;          /* enum ictal_config_layer */
    char *source;
    struct cfg_value v;
};

/* A [profile.NAME] entry kept until a profile is chosen. */
struct cfg_profile_entry {
    char *profile;
    int key;            /* enum cfg_key_index */
    char *value;
    char *where;        /* "FILE:LINE" */
};

struct cfg_diag {
    char *msg;
    bool relation;      /* from validate: replaced on the next validate */
};

struct ictal_config {
    struct cfg_entry entries[CFG_N_KEYS];
    struct cfg_profile_entry *prof;
    size_t n_prof, cap_prof;
    struct cfg_diag *diag;
    size_t n_diag, cap_diag;
    bool oom;           /* an allocation failed somewhere: report ENOMEM */
};

/* Record an error message (printf-style). Returns `code`. */
int cfg_diag_add(struct ictal_config *cfg, int code, bool relation, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Index of section.key, or -1. */
int cfg_find_key(const char *section, const char *key);
/* Index of a section name, or -1. */
int cfg_find_section(const char *section);

/* " (did you mean 'x'?)" or "" for an unknown word among candidates. */
void cfg_suggest_key(char *buf, size_t cap, const char *section, const char *key);
void cfg_suggest_section(char *buf, size_t cap, const char *section);

/* "[0, 1]", "(0, 86400]", ">= 0" — the key's numeric range ("" when none). */
void cfg_range_text(const struct cfg_key_def *k, char *buf, size_t cap);
/* "ICTAL_POSTPROC_THRESHOLD_ON" */
void cfg_env_name(const struct cfg_key_def *k, char *buf, size_t cap);

/* Growable string used by the text generators. */
struct cfg_buf {
    char *s;
    size_t len, cap;
    bool oom;
};
void cfg_buf_printf(struct cfg_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void cfg_buf_puts(struct cfg_buf *b, const char *s);
/* Finish: returns the string (caller frees) or NULL after an allocation failure. */
char *cfg_buf_take(struct cfg_buf *b);

/* Duplicate a string (NULL on ENOMEM). */
char *cfg_strdup(const char *s);

#endif /* ICTAL_CONFIG_INTERNAL_H */
