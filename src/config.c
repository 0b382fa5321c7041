/*
 * config.c — the layered configuration: key table, value parsing, layers,
 * files (through libinih), environment, profiles, validation, getters.
 *
 * Text output (snapshot, docs, example) is in config_text.c; the command-line
 * helper in config_cli.c.
 */
#include "config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

extern char **environ;

/* ---- the table ----------------------------------------------------------- */

const struct cfg_key_def cfg_keys[CFG_N_KEYS] = {
#define ICTAL_CFG_SECTION(name, programs, doc)
#define ICTAL_CFG_KEY(sec, k, ty, df, un, mn, mx, rf, ch, pr, chk, dc) \
    { .section = #sec, .key = #k, .type = ICTAL_CONFIG_##ty, .def = df, .unit = un, \
      .min = mn, .max = mx, .range = rf, .choices = ch, .programs = pr, .check = chk, \
      .doc = dc },
#include "config_keys.h"
#undef ICTAL_CFG_SECTION
#undef ICTAL_CFG_KEY
};

const struct cfg_section_def cfg_sections[] = {
#define ICTAL_CFG_SECTION(nm, pr, dc) { .name = #nm, .programs = pr, .doc = dc },
#define ICTAL_CFG_KEY(sec, k, ty, df, un, mn, mx, rf, ch, pr, chk, dc)
#include "config_keys.h"
#undef ICTAL_CFG_SECTION
#undef ICTAL_CFG_KEY
};
const size_t cfg_n_sections = sizeof cfg_sections / sizeof cfg_sections[0];

/* Largest config file read; anything bigger is surely not a config file. */
#define CFG_FILE_MAX (1u << 20)
/* libinih keeps the current section name in a buffer of 50 bytes (MAX_SECTION). */
#define CFG_SECTION_MAX 50

/* ---- small helpers -------------------------------------------------------- */

char *cfg_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static char *strndup_(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int cfg_diag_add(struct ictal_config *cfg, int code, bool relation, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (cfg->n_diag == cfg->cap_diag) {
        size_t cap = cfg->cap_diag ? 2 * cfg->cap_diag : 16;
        struct cfg_diag *d = realloc(cfg->diag, cap * sizeof *d);
        if (!d) {
            cfg->oom = true;
            return code;
        }
        cfg->diag = d;
        cfg->cap_diag = cap;
    }
    char *copy = cfg_strdup(msg);
    if (!copy) {
        cfg->oom = true;
        return code;
    }
    cfg->diag[cfg->n_diag].msg = copy;
    cfg->diag[cfg->n_diag].relation = relation;
    cfg->n_diag++;
    return code;
}

void cfg_buf_puts(struct cfg_buf *b, const char *s)
{
    cfg_buf_printf(b, "%s", s);
}

void cfg_buf_printf(struct cfg_buf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        size_t room = b->cap - b->len;
        va_list ap;
        va_start(ap, fmt);
        int n = b->s ? vsnprintf(b->s + b->len, room, fmt, ap) : -2;
        va_end(ap);
        if (n == -1) {
            b->oom = true;
            return;
        }
        if (n >= 0 && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t need = b->len + (n > 0 ? (size_t)n : 0) + 1;
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < need)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

char *cfg_buf_take(struct cfg_buf *b)
{
    if (b->oom || !b->s) {
        free(b->s);
        b->s = NULL;
        if (!b->oom) {
            char *e = cfg_strdup("");
            return e;
        }
        return NULL;
    }
    char *s = b->s;
    b->s = NULL;
    return s;
}

static bool streq_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

/* ---- lookup and suggestions ------------------------------------------------ */

int cfg_find_section(const char *section)
{
    for (size_t i = 0; i < cfg_n_sections; i++)
        if (strcmp(cfg_sections[i].name, section) == 0)
            return (int)i;
    return -1;
}

int cfg_find_key(const char *section, const char *key)
{
    for (int i = 0; i < CFG_N_KEYS; i++)
        if (strcmp(cfg_keys[i].section, section) == 0 && strcmp(cfg_keys[i].key, key) == 0)
            return i;
    return -1;
}

bool ictal_config_has_key(const char *section, const char *key)
{
    return section && key && cfg_find_key(section, key) >= 0;
}

/* Optimal string alignment distance (Levenshtein plus adjacent swaps), case
 * folded; words longer than 63 bytes are never suggested. */
static int edit_distance(const char *a, const char *b)
{
    enum { M = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la >= M || lb >= M)
        return 1000;
    int d[M][M];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            int cost = ca != cb;
            int best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

/* How far a word may be from a candidate to be suggested. */
static int suggest_limit(const char *word)
{
    size_t n = strlen(word);
    return n <= 3 ? 1 : n <= 6 ? 2 : 3;
}

void cfg_suggest_section(char *buf, size_t cap, const char *section)
{
    buf[0] = '\0';
    int best = 1000;
    const char *pick = NULL;
    for (size_t i = 0; i < cfg_n_sections; i++) {
        int d = edit_distance(section, cfg_sections[i].name);
        if (d < best) {
            best = d;
            pick = cfg_sections[i].name;
        }
    }
    if (pick && best <= suggest_limit(section))
        snprintf(buf, cap, " (did you mean [%s]?)", pick);
    else if (strncmp(section, "profile", 7) == 0)
        snprintf(buf, cap, " (profiles are named [profile.NAME])");
}

void cfg_suggest_key(char *buf, size_t cap, const char *section, const char *key)
{
    buf[0] = '\0';
    int best = 1000, pick = -1;
    /* The same key in another section first: a key put under the wrong heading. */
    for (int i = 0; i < CFG_N_KEYS; i++) {
        if (strcmp(cfg_keys[i].key, key) == 0 && strcmp(cfg_keys[i].section, section) != 0) {
            snprintf(buf, cap, " (did you mean %s.%s?)", cfg_keys[i].section, key);
            return;
        }
    }
    for (int i = 0; i < CFG_N_KEYS; i++) {
        if (strcmp(cfg_keys[i].section, section) != 0)
            continue;
        int d = edit_distance(key, cfg_keys[i].key);
        if (d < best) {
            best = d;
            pick = i;
        }
    }
    if (pick >= 0 && best <= suggest_limit(key)) {
        /* A tie (threshold_of: _on or _off?) names both. */
        for (int i = pick + 1; i < CFG_N_KEYS; i++)
            if (strcmp(cfg_keys[i].section, section) == 0 && edit_distance(key, cfg_keys[i].key) == best) {
                snprintf(buf, cap, " (did you mean %s.%s or %s.%s?)", section, cfg_keys[pick].key,
                         section, cfg_keys[i].key);
                return;
            }
        snprintf(buf, cap, " (did you mean %s.%s?)", section, cfg_keys[pick].key);
        return;
    }
    /* Close to a key of another section? */
    for (int i = 0; i < CFG_N_KEYS; i++) {
        int d = edit_distance(key, cfg_keys[i].key);
        if (d < best) {
            best = d;
            pick = i;
        }
    }
    if (pick >= 0 && best <= suggest_limit(key))
        snprintf(buf, cap, " (did you mean %s.%s?)", cfg_keys[pick].section, cfg_keys[pick].key);
}

/* Unknown section.key: record an error naming `where`. Returns ICTAL_ENOENT. */
static int unknown_key(struct ictal_config *cfg, const char *where, const char *section,
                       const char *key)
{
    char hint[160];
    if (cfg_find_section(section) < 0) {
        cfg_suggest_section(hint, sizeof hint, section);
        return cfg_diag_add(cfg, ICTAL_ENOENT, false, "%s: unknown section [%s]%s", where,
                            section, hint);
    }
    cfg_suggest_key(hint, sizeof hint, section, key);
    return cfg_diag_add(cfg, ICTAL_ENOENT, false, "%s: unknown key '%s' in [%s]%s", where,
                        key, section, hint);
}

/* ---- value parsing --------------------------------------------------------- */

/* Shortest "%.*g" that reads back as the same double. */
static void format_double(char *buf, size_t cap, double v)
{
    if (v == floor(v) && fabs(v) < 1e15) { /* whole numbers without exponent */
        snprintf(buf, cap, "%.0f", v);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, cap, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

void cfg_range_text(const struct cfg_key_def *k, char *buf, size_t cap)
{
    char lo[40], hi[40];
    format_double(lo, sizeof lo, k->min);
    format_double(hi, sizeof hi, k->max);
    bool has_min = k->range & (RMIN | RMINX);
    if (has_min && (k->range & RMAX))
        snprintf(buf, cap, "%s%s, %s]", k->range & RMINX ? "(" : "[", lo, hi);
    else if (has_min)
        snprintf(buf, cap, "%s %s", k->range & RMINX ? ">" : ">=", lo);
    else if (k->range & RMAX)
        snprintf(buf, cap, "<= %s", hi);
    else
        buf[0] = '\0';
}

static void value_free(struct cfg_value *v)
{
    free(v->text);
    if (v->items) {
        for (size_t i = 0; i < v->n_items; i++)
            free(v->items[i]);
        free(v->items);
    }
    memset(v, 0, sizeof *v);
}

/* Is s (len bytes) valid UTF-8 without control bytes? On failure *col is the
 * 1-based byte column and *what says why. */
static bool text_ok(const char *s, size_t len, size_t *col, const char **what)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned c = u[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                *col = i + 1;
                *what = c == 0 ? "NUL byte" : "control character";
                return false;
            }
            i++;
            continue;
        }
        size_t n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        bool ok = n != 0 && i + n <= len && c != 0xc0 && c != 0xc1 && c <= 0xf4;
        for (size_t j = 1; ok && j < n; j++)
            ok = (u[i + j] & 0xc0) == 0x80;
        if (ok && n == 3) {
            unsigned cp = ((c & 0x0fu) << 12) | ((u[i + 1] & 0x3fu) << 6) | (u[i + 2] & 0x3fu);
            ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
        } else if (ok && n == 4) {
            unsigned cp = ((c & 0x07u) << 18) | ((u[i + 1] & 0x3fu) << 12);
            ok = cp >= 0x10000 && cp <= 0x10ffff;
        }
        if (!ok) {
            *col = i + 1;
            *what = "invalid UTF-8";
            return false;
        }
        i += n;
    }
    return true;
}

/* Trimmed copy bounds of [s, s+len). */
static void trim(const char **s, size_t *len)
{
    while (*len && isspace((unsigned char)**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && isspace((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

/* Check one string (or list item) as the key requires; why gets the reason. */
static int check_string(const struct cfg_key_def *k, const char *s, char *why, size_t cap)
{
    size_t col;
    const char *what;
    if (!text_ok(s, strlen(s), &col, &what)) {
        snprintf(why, cap, "%s at byte %zu of the value", what, col);
        return ICTAL_EINVAL;
    }
    if (strchr(s, ';')) {
        snprintf(why, cap, "'%s' contains ';', which starts a comment in config files", s);
        return ICTAL_EINVAL;
    }
    if (k->check == CHK_NONEMPTY && s[0] == '\0') {
        snprintf(why, cap, "must not be empty");
        return ICTAL_EINVAL;
    }
    if (k->check == CHK_HOSTPORT) {
        const char *p = s;
        if (strncmp(p, "osc.udp://", 10) == 0 || strncmp(p, "osc.tcp://", 10) == 0)
            p += 10;
        const char *colon = strrchr(p, ':');
        char *end = NULL;
        long port = 0;
        if (colon && colon > p) {
            errno = 0;
            port = strtol(colon + 1, &end, 10);
            if (end && *end == '/')
                end++;
        }
        if (!colon || colon == p || !end || end == colon + 1 || *end != '\0' || errno ||
            port < 1 || port > 65535) {
            snprintf(why, cap, "'%s' is not host:port or osc.udp://host:port/ (port 1..65535)", s);
            return ICTAL_EINVAL;
        }
    }
    return 0;
}

static bool in_range(const struct cfg_key_def *k, double v)
{
    if ((k->range & RMIN) && !(v >= k->min))
        return false;
    if ((k->range & RMINX) && !(v > k->min))
        return false;
    if ((k->range & RMAX) && !(v <= k->max))
        return false;
    return true;
}

/* strtod restricted to plain decimal notation; *end after the number. */
static bool parse_number(const char *s, double *out, const char **end)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
        return false;
    char *e;
    errno = 0;
    double v = strtod(s, &e);
    for (const char *q = s; q < e; q++)
        if (!strchr("0123456789.+-eE", *q))
            return false;
    if (e == s || !isfinite(v))
        return false;
    *out = v;
    *end = e;
    return true;
}

/* Duration: v holds the first number, rest what follows it. Accepts a unit
 * after each number and more number+unit parts ("1h30m", "2min 5s"); a part
 * without a unit is in seconds. Units as systemd.time reads them. */
static bool parse_duration_rest(double *v, const char *rest)
{
    static const struct { const char *u; double f; } units[] = {
        { "us", 1e-6 }, { "ms", 1e-3 }, { "s", 1 }, { "sec", 1 }, { "m", 60 },
        { "min", 60 }, { "h", 3600 }, { "d", 86400 } };
    double total = 0, part = *v;
    for (;;) {
        while (*rest == ' ' || *rest == '\t')
            rest++;
        const char *u = rest;
        while (*rest >= 'a' && *rest <= 'z')
            rest++;
        size_t ulen = (size_t)(rest - u);
        double f = ulen == 0 ? 1 : 0;
        for (size_t i = 0; ulen && i < sizeof units / sizeof units[0]; i++)
            if (strlen(units[i].u) == ulen && strncmp(u, units[i].u, ulen) == 0)
                f = units[i].f;
        if (f == 0)
            return false;
        total += part * f;
        while (*rest == ' ' || *rest == '\t')
            rest++;
        if (*rest == '\0')
            break;
        if (ulen == 0 || *rest == '-' || *rest == '+' || !parse_number(rest, &part, &rest))
            return false;
    }
    *v = total;
    return true;
}

static int choice_index(const char *choices, const char *word, size_t wlen, char *canon,
                        size_t cap)
{
    int idx = 0;
    for (const char *c = choices; *c; idx++) {
        const char *bar = strchr(c, '|');
        size_t n = bar ? (size_t)(bar - c) : strlen(c);
        bool same = n == wlen;
        for (size_t i = 0; same && i < n; i++)
            same = tolower((unsigned char)c[i]) == tolower((unsigned char)word[i]);
        if (same) {
            snprintf(canon, cap, "%.*s", (int)n, c);
            return idx;
        }
        c = bar ? bar + 1 : c + n;
    }
    return -1;
}

/* ", did you mean 'x'" for a word near one of choices. */
static void suggest_choice(const char *choices, const char *word, char *buf, size_t cap)
{
    buf[0] = '\0';
    int best = 1000;
    char pick[64] = "";
    for (const char *c = choices; *c;) {
        const char *bar = strchr(c, '|');
        size_t n = bar ? (size_t)(bar - c) : strlen(c);
        char cand[64];
        snprintf(cand, sizeof cand, "%.*s", (int)n, c);
        int d = edit_distance(word, cand);
        if (d < best) {
            best = d;
            snprintf(pick, sizeof pick, "%s", cand);
        }
        c = bar ? bar + 1 : c + n;
    }
    if (best <= suggest_limit(word))
        snprintf(buf, cap, "; did you mean '%s'?", pick);
}

/* "a, b, c" from "a|b|c". */
static void choices_text(const char *choices, char *buf, size_t cap)
{
    size_t o = 0;
    for (const char *c = choices; *c && o + 3 < cap; c++) {
        if (*c == '|') {
            buf[o++] = ',';
            buf[o++] = ' ';
        } else {
            buf[o++] = *c;
        }
    }
    buf[o] = '\0';
}

/* Parse `text` for key k into *out (fresh; caller frees with value_free).
 * Returns 0 or a code with the reason in why. */
static int parse_value(const struct cfg_key_def *k, const char *text, struct cfg_value *out,
                       char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    size_t len = strlen(text);
    const char *s = text;
    trim(&s, &len);
    size_t col;
    const char *what;
    if (!text_ok(s, len, &col, &what)) {
        snprintf(why, cap, "%s at byte %zu of the value", what, col + (size_t)(s - text));
        return ICTAL_EINVAL;
    }
    char *t = strndup_(s, len);
    if (!t)
        return ICTAL_ENOMEM;
    char buf[64];
    int rc = 0;
    const char *end;
    switch (k->type) {
    case ICTAL_CONFIG_BOOL:
        if (streq_nocase(t, "true") || streq_nocase(t, "yes") || streq_nocase(t, "on") ||
            strcmp(t, "1") == 0)
            out->b = true;
        else if (streq_nocase(t, "false") || streq_nocase(t, "no") || streq_nocase(t, "off") ||
                 strcmp(t, "0") == 0)
            out->b = false;
        else {
            snprintf(why, cap, "'%s' is not a boolean (true/false, yes/no, on/off, 1/0)", t);
            rc = ICTAL_EINVAL;
            break;
        }
        out->d = out->b;
        out->text = cfg_strdup(out->b ? "true" : "false");
        break;
    case ICTAL_CONFIG_INT: {
        const char *p = t + (t[0] == '+' || t[0] == '-');
        bool digits = *p != '\0';
        for (const char *q = p; *q; q++)
            digits = digits && isdigit((unsigned char)*q);
        errno = 0;
        long long v = digits ? strtoll(t, NULL, 10) : 0;
        if (!digits) {
            snprintf(why, cap, "'%s' is not an integer", t);
            rc = ICTAL_EINVAL;
            break;
        }
        if (errno == ERANGE || !in_range(k, (double)v)) {
            cfg_range_text(k, buf, sizeof buf);
            snprintf(why, cap, "%s is out of range %s%s%s", t, buf, k->unit[0] ? " " : "", k->unit);
            rc = ICTAL_ERANGE;
            break;
        }
        out->i = v;
        out->d = (double)v;
        snprintf(buf, sizeof buf, "%lld", v);
        out->text = cfg_strdup(buf);
        break;
    }
    case ICTAL_CONFIG_DOUBLE:
    case ICTAL_CONFIG_DURATION: {
        double v;
        if (!parse_number(t, &v, &end)) {
            snprintf(why, cap, "'%s' is not a %s", t,
                     k->type == ICTAL_CONFIG_DOUBLE ? "number" : "duration (e.g. 30s, 250ms, 2min)");
            rc = ICTAL_EINVAL;
            break;
        }
        if (k->type == ICTAL_CONFIG_DURATION && !parse_duration_rest(&v, end)) {
            snprintf(why, cap, "'%s' is not a duration (use a number with us, ms, s, m/min, h "
                     "or d, e.g. 250ms, 1h30m; none means seconds)", t);
            rc = ICTAL_EINVAL;
            break;
        } else if (k->type != ICTAL_CONFIG_DURATION && *end != '\0') {
            snprintf(why, cap, "'%s' is not a number", t);
            rc = ICTAL_EINVAL;
            break;
        }
        if (!in_range(k, v)) {
            cfg_range_text(k, buf, sizeof buf);
            snprintf(why, cap, "%s is out of range %s%s%s", t, buf, k->unit[0] ? " " : "", k->unit);
            rc = ICTAL_ERANGE;
            break;
        }
        out->d = v;
        format_double(buf, sizeof buf - 1, v);
        if (k->type == ICTAL_CONFIG_DURATION)
            strcat(buf, "s");
        out->text = cfg_strdup(buf);
        break;
    }
    case ICTAL_CONFIG_STRING:
        rc = check_string(k, t, why, cap);
        if (rc == 0)
            out->text = cfg_strdup(t);
        break;
    case ICTAL_CONFIG_ENUM: {
        char canon[64];
        int idx = choice_index(k->choices, t, strlen(t), canon, sizeof canon);
        if (idx < 0) {
            char all[256], hint[96];
            choices_text(k->choices, all, sizeof all);
            suggest_choice(k->choices, t, hint, sizeof hint);
            snprintf(why, cap, "'%s' is not one of %s%s", t, all, hint);
            rc = ICTAL_EINVAL;
            break;
        }
        out->e = idx;
        out->text = cfg_strdup(canon);
        break;
    }
    case ICTAL_CONFIG_LIST: {
        struct cfg_buf canon = { 0 };
        size_t n = 0;
        for (const char *p = t; *p; p++)
            n += *p == ',';
        out->items = calloc(n + 2, sizeof *out->items);
        if (!out->items) {
            rc = ICTAL_ENOMEM;
            break;
        }
        if (t[0] != '\0') {
            const char *p = t;
            for (size_t idx = 0;; idx++) {
                const char *comma = strchr(p, ',');
                size_t ilen = comma ? (size_t)(comma - p) : strlen(p);
                const char *item = p;
                trim(&item, &ilen);
                char *it = strndup_(item, ilen);
                if (!it) {
                    rc = ICTAL_ENOMEM;
                    break;
                }
                if (ilen == 0) {
                    snprintf(why, cap, "item %zu of the list is empty", idx + 1);
                    free(it);
                    rc = ICTAL_EINVAL;
                    break;
                }
                if (k->choices) {
                    char c[64];
                    if (choice_index(k->choices, it, ilen, c, sizeof c) < 0) {
                        char all[256], hint[96];
                        choices_text(k->choices, all, sizeof all);
                        suggest_choice(k->choices, it, hint, sizeof hint);
                        snprintf(why, cap, "list item '%s' is not one of %s%s", it, all, hint);
                        free(it);
                        rc = ICTAL_EINVAL;
                        break;
                    }
                    free(it);
                    it = cfg_strdup(c);
                    if (!it) {
                        rc = ICTAL_ENOMEM;
                        break;
                    }
                    for (size_t j = 0; j < out->n_items; j++)
                        if (strcmp(out->items[j], it) == 0) {
                            snprintf(why, cap, "list item '%s' is given twice", it);
                            rc = ICTAL_EINVAL;
                        }
                } else {
                    rc = check_string(k, it, why, cap);
                }
                out->items[out->n_items++] = it;
                if (rc)
                    break;
                cfg_buf_printf(&canon, "%s%s", idx ? ", " : "", it);
                if (!comma)
                    break;
                p = comma + 1;
            }
        }
        if (rc == 0)
            out->text = cfg_buf_take(&canon);
        else
            free(canon.s);
        break;
    }
    }
    free(t);
    if (rc == 0 && !out->text)
        rc = ICTAL_ENOMEM;
    if (rc)
        value_free(out);
    if (rc == ICTAL_ENOMEM)
        snprintf(why, cap, "out of memory");
    return rc;
}

/* ---- create / destroy / set ------------------------------------------------ */

struct ictal_config *ictal_config_create(struct ictal_error *err)
{
    struct ictal_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        ictal_error_set(err, ICTAL_ENOMEM, "config: out of memory");
        return NULL;
    }
    for (int i = 0; i < CFG_N_KEYS; i++) {
        char why[256];
        int rc = parse_value(&cfg_keys[i], cfg_keys[i].def, &cfg->entries[i].v, why, sizeof why);
        cfg->entries[i].source = cfg_strdup("default");
        if (rc == 0 && !cfg->entries[i].source)
            rc = ICTAL_ENOMEM;
        if (rc) {
            if (rc == ICTAL_ENOMEM)
                ictal_error_set(err, rc, "config: out of memory");
            else
                ictal_error_set(err, ICTAL_EFORMAT, "config key table: default of %s.%s: %s",
                                cfg_keys[i].section, cfg_keys[i].key, why);
            ictal_config_destroy(cfg);
            return NULL;
        }
        cfg->entries[i].layer = ICTAL_CONFIG_LAYER_DEFAULT;
    }
    ictal_error_clear(err);
    return cfg;
}

void ictal_config_destroy(struct ictal_config *cfg)
{
    if (!cfg)
        return;
    for (int i = 0; i < CFG_N_KEYS; i++) {
        value_free(&cfg->entries[i].v);
        free(cfg->entries[i].source);
    }
    for (size_t i = 0; i < cfg->n_prof; i++) {
        free(cfg->prof[i].profile);
        free(cfg->prof[i].value);
        free(cfg->prof[i].where);
    }
    free(cfg->prof);
    for (size_t i = 0; i < cfg->n_diag; i++)
        free(cfg->diag[i].msg);
    free(cfg->diag);
    free(cfg);
}

/* Parse and store value text for key index ki; `where` prefixes messages. */
static int set_index(struct ictal_config *cfg, int ki, int layer, const char *source,
                     const char *where, const char *value)
{
    const struct cfg_key_def *k = &cfg_keys[ki];
    struct cfg_value v;
    char why[512];
    int rc = parse_value(k, value, &v, why, sizeof why);
    if (rc) {
        if (rc == ICTAL_ENOMEM)
            cfg->oom = true;
        return cfg_diag_add(cfg, rc, false, "%s: %s.%s: %s", where, k->section, k->key, why);
    }
    struct cfg_entry *e = &cfg->entries[ki];
    if (layer < e->layer) {
        value_free(&v);
        return 0;
    }
    char *src = cfg_strdup(source);
    if (!src) {
        value_free(&v);
        cfg->oom = true;
        return cfg_diag_add(cfg, ICTAL_ENOMEM, false, "%s: out of memory", where);
    }
    value_free(&e->v);
    free(e->source);
    e->v = v;
    e->source = src;
    e->layer = layer;
    return 0;
}

int ictal_config_set(struct ictal_config *cfg, enum ictal_config_layer layer,
                     const char *source, const char *section, const char *key,
                     const char *value)
{
    if (!cfg || !source || !section || !key || !value ||
        (int)layer < ICTAL_CONFIG_LAYER_DEFAULT || layer > ICTAL_CONFIG_LAYER_CLI)
        return ICTAL_EINVAL;
    int ki = cfg_find_key(section, key);
    if (ki < 0)
        return unknown_key(cfg, source, section, key);
    return set_index(cfg, ki, (int)layer, source, source, value);
}

/* Split "section.key" into its parts (buffers of cap bytes). */
static bool split_dotted(const char *dotted, char *sec, char *key, size_t cap)
{
    const char *dot = strchr(dotted, '.');
    if (!dot || dot == dotted || dot[1] == '\0' || (size_t)(dot - dotted) >= cap ||
        strlen(dot + 1) >= cap)
        return false;
    snprintf(sec, cap, "%.*s", (int)(dot - dotted), dotted);
    snprintf(key, cap, "%s", dot + 1);
    return true;
}

int ictal_config_set_dotted(struct ictal_config *cfg, enum ictal_config_layer layer,
                            const char *source, const char *dotted, const char *value)
{
    if (!cfg || !source || !dotted || !value)
        return ICTAL_EINVAL;
    char sec[128], key[128];
    if (!split_dotted(dotted, sec, key, sizeof sec))
        return cfg_diag_add(cfg, ICTAL_EINVAL, false,
                            "%s: '%s' is not a key name of the form section.key", source, dotted);
    return ictal_config_set(cfg, layer, source, sec, key, value);
}

int ictal_config_set_model_defaults(struct ictal_config *cfg, const char *source,
                                    const char *const *pairs, size_t n_pairs)
{
    if (!cfg || !source || (n_pairs && !pairs))
        return ICTAL_EINVAL;
    int first = 0;
    for (size_t i = 0; i < n_pairs; i++) {
        const char *name = pairs[2 * i], *value = pairs[2 * i + 1];
        int rc = (name && value)
            ? ictal_config_set_dotted(cfg, ICTAL_CONFIG_LAYER_MODEL, source, name, value)
            : cfg_diag_add(cfg, ICTAL_EINVAL, false, "%s: default %zu has no name or value",
                           source, i);
        if (rc && !first)
            first = rc;
    }
    return first;
}

/* ---- files ------------------------------------------------------------------ */

enum line_kind { LINE_NONE, LINE_KV, LINE_CONT };

struct file_parse {
    struct ictal_config *cfg;
    const char *name;
    int layer;
    const char *p, *end;       /* unread text */
    int lineno;                /* line most recently handed to inih */
    enum line_kind kind;       /* of that line */
    bool handled;              /* the handler ran for that line */
    char section[128];         /* current section as we parsed it */
    bool after_value;          /* an indented line may continue the last value */
    /* The value being collected (it may continue on indented lines). */
    int pend_key;              /* key index, or -1 */
    char *pend_profile;        /* profile name, or NULL for a plain section */
    int pend_line;
    struct cfg_buf pend;
    bool pend_bad;
    int seen_line[CFG_N_KEYS]; /* line where each plain key was set in this file */
    int first;                 /* first error code */
};

static void fp_error(struct file_parse *fp, int line, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void fp_error(struct file_parse *fp, int line, int code, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cfg_diag_add(fp->cfg, code, false, "%s:%d: %s", fp->name, line, msg);
    if (!fp->first)
        fp->first = code;
}

static int add_profile_entry(struct ictal_config *cfg, const char *profile, int key,
                             const char *value, const char *where)
{
    if (cfg->n_prof == cfg->cap_prof) {
        size_t cap = cfg->cap_prof ? 2 * cfg->cap_prof : 16;
        struct cfg_profile_entry *p = realloc(cfg->prof, cap * sizeof *p);
        if (!p)
            return ICTAL_ENOMEM;
        cfg->prof = p;
        cfg->cap_prof = cap;
    }
    struct cfg_profile_entry *e = &cfg->prof[cfg->n_prof];
    e->profile = cfg_strdup(profile);
    e->value = cfg_strdup(value);
    e->where = cfg_strdup(where);
    e->key = key;
    if (!e->profile || !e->value || !e->where) {
        free(e->profile);
        free(e->value);
        free(e->where);
        return ICTAL_ENOMEM;
    }
    cfg->n_prof++;
    return 0;
}

/* Commit the collected value (called when a line that does not continue it
 * arrives, and at the end). */
static void fp_flush(struct file_parse *fp)
{
    if (fp->pend_key < 0)
        goto done;
    char *value = cfg_buf_take(&fp->pend);
    if (!value) {
        fp->cfg->oom = true;
        fp_error(fp, fp->pend_line, ICTAL_ENOMEM, "out of memory");
        goto done;
    }
    if (!fp->pend_bad) {
        char where[600];
        snprintf(where, sizeof where, "%s:%d", fp->name, fp->pend_line);
        if (fp->pend_profile) {
            /* Validate now so a typo in any profile is found, chosen or not. */
            struct cfg_value v;
            char why[512];
            const struct cfg_key_def *k = &cfg_keys[fp->pend_key];
            int rc = parse_value(k, value, &v, why, sizeof why);
            if (rc)
                fp_error(fp, fp->pend_line, rc, "[profile.%s] %s.%s: %s", fp->pend_profile,
                         k->section, k->key, why);
            else {
                value_free(&v);
                if (add_profile_entry(fp->cfg, fp->pend_profile, fp->pend_key, value, where)) {
                    fp->cfg->oom = true;
                    fp_error(fp, fp->pend_line, ICTAL_ENOMEM, "out of memory");
                }
            }
        } else {
            int rc = set_index(fp->cfg, fp->pend_key, fp->layer, where, where, value);
            if (rc && !fp->first)
                fp->first = rc;
        }
    }
    free(value);
done:
    free(fp->pend_profile);
    fp->pend_profile = NULL;
    fp->pend_key = -1;
    fp->pend_bad = false;
    free(fp->pend.s);
    memset(&fp->pend, 0, sizeof fp->pend);
}

/* Is this (indented) text "name = ..." rather than the continuation of a value? */
static bool looks_like_assignment(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.'))
        i++;
    if (i == 0)
        return false;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i < len && s[i] == '=';
}

static bool valid_profile_name(const char *n)
{
    if (!*n)
        return false;
    for (; *n; n++)
        if (!isalnum((unsigned char)*n) && *n != '_' && *n != '-')
            return false;
    return true;
}

/* libinih's handler: one name = value pair of the line just read. */
static int fp_handler(void *user, const char *section, const char *name, const char *value)
{
    struct file_parse *fp = user;
    int line = fp->lineno;
    fp->handled = true;
    fp_flush(fp);
    fp->after_value = true;
    if (fp->kind != LINE_KV) {
        fp_error(fp, line, ICTAL_EFORMAT, "unexpected value from the INI parser");
        return 1;
    }
    if (name[0] == '\0') {
        fp_error(fp, line, ICTAL_EFORMAT, "missing key name before '='");
        return 1;
    }
    if (section[0] == '\0') {
        fp_error(fp, line, ICTAL_EFORMAT, "'%s' is outside any [section]", name);
        return 1;
    }
    const char *sec = section, *key = name;
    char dsec[128], dkey[128];
    char *profile = NULL;
    if (strncmp(section, "profile.", 8) == 0) {
        if (!valid_profile_name(section + 8))
            return 1; /* reported at the section header */
        if (!split_dotted(name, dsec, dkey, sizeof dsec)) {
            fp_error(fp, line, ICTAL_EINVAL,
                     "keys in [%s] are written section.key (e.g. postproc.threshold_on), not '%s'",
                     section, name);
            return 1;
        }
        sec = dsec;
        key = dkey;
        profile = cfg_strdup(section + 8);
        if (!profile) {
            fp->cfg->oom = true;
            return 1;
        }
    } else if (cfg_find_section(section) < 0) {
        return 1; /* the section header was reported already */
    }
    int ki = cfg_find_key(sec, key);
    if (ki < 0) {
        char where[600];
        snprintf(where, sizeof where, "%s:%d", fp->name, line);
        int rc = unknown_key(fp->cfg, where, sec, key);
        if (!fp->first)
            fp->first = rc;
        free(profile);
        return 1; /* indented lines after it are swallowed as its continuation */
    }
    if (!profile) {
        if (fp->seen_line[ki]) {
            fp_error(fp, line, ICTAL_EINVAL, "%s.%s is set twice in this file (first at line %d)",
                     sec, key, fp->seen_line[ki]);
            return 1;
        }
        fp->seen_line[ki] = line;
    }
    fp->pend_key = ki;
    fp->pend_profile = profile;
    fp->pend_line = line;
    cfg_buf_puts(&fp->pend, value);
    return 1;
}

/* Cut an inline comment (';' after a blank) off [s, s+*len). */
static void cut_inline_comment(const char *s, size_t *len)
{
    for (size_t i = 1; i < *len; i++)
        if (s[i] == ';' && (s[i - 1] == ' ' || s[i - 1] == '\t')) {
            *len = i;
            return;
        }
}

/* After inih has dealt with a line: a key/value line that produced no call of
 * the handler was malformed (no '=' or ':'). */
static void fp_finish_line(struct file_parse *fp)
{
    if (fp->kind == LINE_KV && !fp->handled) {
        fp_error(fp, fp->lineno, ICTAL_EFORMAT,
                 "expected 'key = value', '[section]' or a comment");
        fp->after_value = false;
    }
    fp->kind = LINE_NONE;
    fp->handled = false;
}

/* Why our own reader: Debian's libinih 55 is built with INI_HANDLER_LINENO=0,
 * so the handler is not told the line number, and ini_parse() only returns
 * the number of the *first* malformed line. Feeding lines through
 * ini_parse_stream() one reader call per line gives the exact number of the
 * line being handled, lets us report every malformed line, and lets us check
 * bytes, long lines (which fgets-style reading would silently split) and
 * continuation lines (which depend on libinih's build-time multi-line option)
 * ourselves. libinih still does the INI parsing proper: sections, name/value
 * splitting at '=' or ':', comment and inline-comment stripping, trimming.
 *
 * libinih's reader: hand out one line at a time so that we know its number.
 * Lines are checked and normalised here; what inih should skip is handed out
 * empty. */
static char *fp_reader(char *str, int num, void *stream)
{
    struct file_parse *fp = stream;
    fp_finish_line(fp);
    if (fp->p >= fp->end)
        return NULL;
    const char *nl = memchr(fp->p, '\n', (size_t)(fp->end - fp->p));
    const char *s = fp->p;
    size_t len = nl ? (size_t)(nl - s) : (size_t)(fp->end - s);
    fp->p = nl ? nl + 1 : fp->end;
    fp->lineno++;
    int line = fp->lineno;
    str[0] = '\0';
    if (len && s[len - 1] == '\r')
        len--;
    if (line == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        len -= 3;
    }
    size_t col;
    const char *what;
    if (!text_ok(s, len, &col, &what)) {
        fp_flush(fp);
        fp->after_value = false;
        fp_error(fp, line, ICTAL_EFORMAT, "%s at column %zu", what, col);
        return str;
    }
    bool indented = len && (s[0] == ' ' || s[0] == '\t');
    trim(&s, &len);
    if (len == 0 || s[0] == ';' || s[0] == '#')
        return str; /* blank or comment: does not end a continued value */
    if (indented && fp->after_value && !looks_like_assignment(s, len) && s[0] != '[') {
        /* Continuation of the previous value: we join it ourselves rather than
         * rely on libinih's multi-line mode (a build option). */
        cut_inline_comment(s, &len);
        trim(&s, &len);
        if (fp->pend_key >= 0) {
            if (cfg_keys[fp->pend_key].type != ICTAL_CONFIG_LIST) {
                fp_error(fp, line, ICTAL_EFORMAT,
                         "indented line continues %s.%s, but only lists may span lines",
                         cfg_keys[fp->pend_key].section, cfg_keys[fp->pend_key].key);
                fp->pend_bad = true;
            } else {
                bool need_comma = fp->pend.len && fp->pend.s[fp->pend.len - 1] != ',';
                cfg_buf_printf(&fp->pend, "%s%.*s", need_comma ? ", " : " ", (int)len, s);
            }
        }
        return str;
    }
    fp_flush(fp);
    fp->after_value = false;
    if ((size_t)num < 4 || len > (size_t)num - 3) {
        fp_error(fp, line, ICTAL_EFORMAT,
                 "line is too long (%zu characters, at most %d; lists may continue on indented lines)",
                 len, num - 3);
        return str;
    }
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close) {
            fp_error(fp, line, ICTAL_EFORMAT, "unterminated section header (no ']')");
            snprintf(fp->section, sizeof fp->section, "%s", "\x01");
            snprintf(str, (size_t)num, "[\x01]");
            return str;
        }
        const char *rest = close + 1;
        size_t rlen = len - (size_t)(rest - s);
        trim(&rest, &rlen);
        if (rlen && rest[0] != ';' && rest[0] != '#')
            fp_error(fp, line, ICTAL_EFORMAT, "unexpected text after ']': '%.*s'", (int)rlen, rest);
        const char *name = s + 1;
        size_t nlen = (size_t)(close - name);
        trim(&name, &nlen);
        snprintf(fp->section, sizeof fp->section, "%.*s", (int)nlen, name);
        if (nlen == 0)
            fp_error(fp, line, ICTAL_EFORMAT, "empty section name");
        else if (nlen >= CFG_SECTION_MAX)
            fp_error(fp, line, ICTAL_EFORMAT, "section name is too long (at most %d characters)",
                     CFG_SECTION_MAX - 1);
        else if (strncmp(fp->section, "profile.", 8) == 0) {
            if (!valid_profile_name(fp->section + 8))
                fp_error(fp, line, ICTAL_EFORMAT,
                         "bad profile name '%s' (use letters, digits, '_' and '-')",
                         fp->section + 8);
        } else if (cfg_find_section(fp->section) < 0) {
            char hint[160];
            cfg_suggest_section(hint, sizeof hint, fp->section);
            fp_error(fp, line, ICTAL_ENOENT, "unknown section [%s]%s", fp->section, hint);
        }
        /* Hand inih the normalised header; a name it cannot hold becomes a
         * marker that matches no section. */
        if (nlen == 0 || nlen >= CFG_SECTION_MAX)
            snprintf(str, (size_t)num, "[\x01]");
        else
            snprintf(str, (size_t)num, "[%s]", fp->section);
        return str;
    }
    fp->kind = LINE_KV;
    memcpy(str, s, len);
    str[len] = '\0';
    return str;
}

int ictal_config_load_string(struct ictal_config *cfg, const char *name,
                             const char *text, size_t len,
                             enum ictal_config_layer layer)
{
    if (!cfg || !name || (!text && len))
        return ICTAL_EINVAL;
    struct file_parse *fp = calloc(1, sizeof *fp);
    if (!fp) {
        cfg->oom = true;
        return cfg_diag_add(cfg, ICTAL_ENOMEM, false, "%s: out of memory", name);
    }
    fp->cfg = cfg;
    fp->name = name;
    fp->layer = (int)layer;
    fp->p = text ? text : "";
    fp->end = fp->p + len;
    fp->pend_key = -1;
    int rc = ini_parse_stream(fp_reader, fp, fp_handler, fp);
    fp_finish_line(fp);
    fp_flush(fp);
    if (rc > 0 && !fp->first) /* inih saw an error we did not: never silently accept */
        fp_error(fp, rc, ICTAL_EFORMAT, "malformed line");
    else if (rc < 0 && !fp->first)
        fp_error(fp, 0, ICTAL_ENOMEM, "the INI parser failed (%d)", rc);
    int first = fp->first;
    free(fp->pend.s);
    free(fp->pend_profile);
    free(fp);
    return first;
}

int ictal_config_load_file(struct ictal_config *cfg, const char *path,
                           enum ictal_config_layer layer, bool required)
{
    if (!cfg || !path)
        return ICTAL_EINVAL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (e == ENOENT && !required)
            return 0;
        return cfg_diag_add(cfg, e == ENOENT ? ICTAL_ENOENT : ICTAL_EIO, false,
                            "%s: cannot open config file: %s", path, strerror(e));
    }
    char *buf = malloc(CFG_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        cfg->oom = true;
        return cfg_diag_add(cfg, ICTAL_ENOMEM, false, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, CFG_FILE_MAX + 1, f);
    int read_err = ferror(f);
    fclose(f);
    int rc;
    if (read_err)
        rc = cfg_diag_add(cfg, ICTAL_EIO, false, "%s: read error", path);
    else if (n > CFG_FILE_MAX)
        rc = cfg_diag_add(cfg, ICTAL_EFORMAT, false,
                          "%s: larger than %u bytes; not a config file?", path, CFG_FILE_MAX);
    else
        rc = ictal_config_load_string(cfg, path, buf, n, layer);
    free(buf);
    return rc;
}

/* ---- environment ------------------------------------------------------------ */

static const char *env_lookup(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (char *const *e = envp; e && *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

void cfg_env_name(const struct cfg_key_def *k, char *buf, size_t cap)
{
    size_t o = (size_t)snprintf(buf, cap, "ICTAL_%s_%s", k->section, k->key);
    for (size_t i = 0; i < o && i < cap; i++)
        buf[i] = (char)toupper((unsigned char)buf[i]);
}

int ictal_config_load_env(struct ictal_config *cfg, char *const *envp)
{
    if (!cfg)
        return ICTAL_EINVAL;
    if (!envp)
        envp = environ;
    int first = 0;
    for (int i = 0; i < CFG_N_KEYS; i++) {
        char name[128], where[160];
        cfg_env_name(&cfg_keys[i], name, sizeof name);
        const char *v = env_lookup(envp, name);
        if (!v)
            continue;
        snprintf(where, sizeof where, "environment %s", name);
        int rc = set_index(cfg, i, ICTAL_CONFIG_LAYER_ENV, where, where, v);
        if (rc && !first)
            first = rc;
    }
    /* ICTAL_<SECTION>_<SOMETHING> that matches no key: a typo worth reporting. */
    for (char *const *e = envp; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (strncmp(*e, "ICTAL_", 6) != 0 || !eq)
            continue;
        /* The test suite's RT guard (docs/testing.md) is not an [rt] key. */
        if (strncmp(*e, "ICTAL_RT_GUARD_", 15) == 0)
            continue;
        const char *rest = *e + 6;
        for (size_t s = 0; s < cfg_n_sections; s++) {
            size_t sl = strlen(cfg_sections[s].name);
            bool match = rest + sl < eq && rest[sl] == '_';
            for (size_t j = 0; match && j < sl; j++)
                match = rest[j] == toupper((unsigned char)cfg_sections[s].name[j]);
            if (!match)
                continue;
            char key[128], var[160];
            size_t kl = (size_t)(eq - (rest + sl + 1));
            if (kl >= sizeof key)
                kl = sizeof key - 1;
            for (size_t j = 0; j < kl; j++)
                key[j] = (char)tolower((unsigned char)rest[sl + 1 + j]);
            key[kl] = '\0';
            if (cfg_find_key(cfg_sections[s].name, key) >= 0)
                break;
            snprintf(var, sizeof var, "%.*s", (int)(eq - *e), *e);
            char hint[160];
            cfg_suggest_key(hint, sizeof hint, cfg_sections[s].name, key);
            int rc = cfg_diag_add(cfg, ICTAL_ENOENT, false,
                                  "environment %s: no key '%s' in [%s]%s", var, key,
                                  cfg_sections[s].name, hint);
            if (!first)
                first = rc;
            break;
        }
    }
    return first;
}

/* ---- profiles ---------------------------------------------------------------- */

int ictal_config_use_profile(struct ictal_config *cfg, const char *name, const char *source)
{
    if (!cfg || !name || !source)
        return ICTAL_EINVAL;
    int first = 0;
    bool found = false;
    for (size_t i = 0; i < cfg->n_prof; i++) {
        const struct cfg_profile_entry *p = &cfg->prof[i];
        if (strcmp(p->profile, name) != 0)
            continue;
        found = true;
        char src[700];
        snprintf(src, sizeof src, "profile %s at %s", name, p->where);
        int rc = set_index(cfg, p->key, ICTAL_CONFIG_LAYER_PROFILE, src, p->where, p->value);
        if (rc && !first)
            first = rc;
    }
    if (found)
        return first;
    /* Unknown: list what exists, suggest the nearest. */
    struct cfg_buf list = { 0 };
    const char *pick = NULL;
    int best = 1000;
    for (size_t i = 0; i < cfg->n_prof; i++) {
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = strcmp(cfg->prof[j].profile, cfg->prof[i].profile) == 0;
        if (dup)
            continue;
        cfg_buf_printf(&list, "%s%s", list.len ? ", " : "", cfg->prof[i].profile);
        int d = edit_distance(name, cfg->prof[i].profile);
        if (d < best) {
            best = d;
            pick = cfg->prof[i].profile;
        }
    }
    char hint[200] = "";
    if (pick && best <= suggest_limit(name))
        snprintf(hint, sizeof hint, "; did you mean '%s'?", pick);
    int rc = cfg_diag_add(cfg, ICTAL_ENOENT, false, "%s: unknown profile '%s' (%s%s)%s", source,
                          name, list.len ? "defined: " : "no profiles are defined",
                          list.s && !list.oom ? list.s : "", hint);
    free(list.s);
    return rc;
}

size_t ictal_config_profiles(const struct ictal_config *cfg, const char **names, size_t cap)
{
    if (!cfg)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_prof; i++) {
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = strcmp(cfg->prof[j].profile, cfg->prof[i].profile) == 0;
        if (dup)
            continue;
        if (names && n < cap)
            names[n] = cfg->prof[i].profile;
        n++;
    }
    return n;
}

/* ---- validation --------------------------------------------------------------- */

static bool list_has(const struct ictal_config *cfg, int ki, const char *item)
{
    for (size_t i = 0; i < cfg->entries[ki].v.n_items; i++)
        if (strcmp(cfg->entries[ki].v.items[i], item) == 0)
            return true;
    return false;
}

/* a must be <= b (strict: a < b). */
static void relation(struct ictal_config *cfg, int a, int b, bool strict, const char *why)
{
    const struct cfg_entry *ea = &cfg->entries[a], *eb = &cfg->entries[b];
    bool ok = strict ? ea->v.d < eb->v.d : ea->v.d <= eb->v.d;
    if (ok)
        return;
    cfg_diag_add(cfg, ICTAL_EINVAL, true,
                 "%s.%s = %s (from %s) must be %s %s.%s = %s (from %s)%s",
                 cfg_keys[a].section, cfg_keys[a].key, ea->v.text, ea->source,
                 strict ? "below" : "at most", cfg_keys[b].section, cfg_keys[b].key, eb->v.text,
                 eb->source, why);
}

static void needs_path(struct ictal_config *cfg, int list, const char *item, int path)
{
    if (!list_has(cfg, list, item) || cfg->entries[path].v.text[0] != '\0')
        return;
    cfg_diag_add(cfg, ICTAL_EINVAL, true, "%s.%s includes %s (from %s) but %s.%s is empty (from %s)",
                 cfg_keys[list].section, cfg_keys[list].key, item, cfg->entries[list].source,
                 cfg_keys[path].section, cfg_keys[path].key, cfg->entries[path].source);
}

static void validate_relations(struct ictal_config *cfg)
{
    relation(cfg, K_postproc_threshold_off, K_postproc_threshold_on, false, "");
    relation(cfg, K_postproc_min_duration, K_postproc_max_duration, false, "");
    if (cfg->entries[K_pipeline_highpass].v.d > 0 && cfg->entries[K_pipeline_lowpass].v.d > 0)
        relation(cfg, K_pipeline_highpass, K_pipeline_lowpass, true,
                 " (the pass band would be empty)");
    if (cfg->entries[K_pipeline_clip_uv].v.d > 0)
        relation(cfg, K_pipeline_clip_uv, K_pipeline_implausible_uv, false,
                 " (clipping is checked inside the plausible range)");
    needs_path(cfg, K_logger_outputs, "jsonl", K_logger_jsonl_path);
    needs_path(cfg, K_logger_outputs, "csv_bi", K_logger_csv_path);
}

int ictal_config_validate(struct ictal_config *cfg, struct ictal_error *err)
{
    if (!cfg)
        return ictal_error_set(err, ICTAL_EINVAL, "config: no configuration");
    size_t o = 0;
    for (size_t i = 0; i < cfg->n_diag; i++) {
        if (cfg->diag[i].relation)
            free(cfg->diag[i].msg);
        else
            cfg->diag[o++] = cfg->diag[i];
    }
    cfg->n_diag = o;
    validate_relations(cfg);
    if (cfg->oom)
        return ictal_error_set(err, ICTAL_ENOMEM, "config: out of memory");
    if (cfg->n_diag == 0) {
        ictal_error_clear(err);
        return 0;
    }
    return ictal_error_set(err, ICTAL_EINVAL, "%zu configuration error%s; first: %s",
                           cfg->n_diag, cfg->n_diag == 1 ? "" : "s", cfg->diag[0].msg);
}

size_t ictal_config_error_count(const struct ictal_config *cfg)
{
    return cfg ? cfg->n_diag : 0;
}

const char *ictal_config_error_message(const struct ictal_config *cfg, size_t i)
{
    return cfg && i < cfg->n_diag ? cfg->diag[i].msg : NULL;
}

size_t ictal_config_print_errors(const struct ictal_config *cfg, FILE *out, const char *prog)
{
    if (!cfg || !out)
        return 0;
    for (size_t i = 0; i < cfg->n_diag; i++)
        fprintf(out, "%s%s%s\n", prog ? prog : "", prog ? ": " : "", cfg->diag[i].msg);
    if (cfg->oom)
        fprintf(out, "%s%sout of memory while reading the configuration\n", prog ? prog : "",
                prog ? ": " : "");
    return cfg->n_diag;
}

/* ---- getters -------------------------------------------------------------------- */

static const struct cfg_entry *get(const struct ictal_config *cfg, const char *section,
                                   const char *key, int *ki)
{
    if (!cfg || !section || !key)
        return NULL;
    *ki = cfg_find_key(section, key);
    return *ki < 0 ? NULL : &cfg->entries[*ki];
}

bool ictal_config_get_bool(const struct ictal_config *cfg, const char *section, const char *key)
{
    int ki;
    const struct cfg_entry *e = get(cfg, section, key, &ki);
    return e && cfg_keys[ki].type == ICTAL_CONFIG_BOOL && e->v.b;
}

int64_t ictal_config_get_int(const struct ictal_config *cfg, const char *section, const char *key)
{
    int ki;
    const struct cfg_entry *e = get(cfg, section, key, &ki);
    return e && cfg_keys[ki].type == ICTAL_CONFIG_INT ? e->v.i : 0;
}

double ictal_config_get_double(const struct ictal_config *cfg, const char *section,
                               const char *key)
{
    int ki;
    const struct cfg_entry *e = get(cfg, section, key, &ki);
    if (!e)
        return NAN;
    enum ictal_config_type t = cfg_keys[ki].type;
    return t == ICTAL_CONFIG_DOUBLE || t == ICTAL_CONFIG_DURATION || t == ICTAL_CONFIG_INT
        ? e->v.d : NAN;
}

const char *ictal_config_get_string(const struct ictal_config *cfg, const char *section,
                                    const char *key)
{
    int ki;
    const struct cfg_entry *e = get(cfg, section, key, &ki);
    return e ? e->v.text : NULL;
}

int ictal_config_get_enum(const struct ictal_config *cfg, const char *section, const char *key)
{
    int ki;
    const struct cfg_entry *e = get(cfg, section, key, &ki);
    return e && cfg_keys[ki].type == ICTAL_CONFIG_ENUM ? e->v.e : -1;
}

size_t ictal_config_get_list(const struct ictal_config *cfg, const char *section,
                             const char *key, const char *const **items)
{
    int ki;
    const struct cfg_entry *e = get(cfg, section, key, &ki);
    bool ok = e && cfg_keys[ki].type == ICTAL_CONFIG_LIST;
    if (items)
        *items = ok ? (const char *const *)e->v.items : NULL;
    return ok ? e->v.n_items : 0;
}

const char *ictal_config_get_source(const struct ictal_config *cfg, const char *section,
                                    const char *key)
{
    int ki;
    const struct cfg_entry *e = get(cfg, section, key, &ki);
    return e ? e->source : NULL;
}

int ictal_config_get_layer(const struct ictal_config *cfg, const char *section, const char *key)
{
    int ki;
    const struct cfg_entry *e = get(cfg, section, key, &ki);
    return e ? e->layer : -1;
}

/* ---- the standard sequence ------------------------------------------------------- */

int ictal_config_load(struct ictal_config *cfg, const struct ictal_config_sources *src)
{
    if (!cfg || !src)
        return ICTAL_EINVAL;
    char *const *envp = src->envp ? src->envp : environ;
    int first = 0, rc;
    if (src->n_config_files > 0) {
        for (size_t i = 0; i < src->n_config_files && i < ICTAL_CONFIG_MAX_FILES; i++) {
            rc = src->config_files[i]
                ? ictal_config_load_file(cfg, src->config_files[i], ICTAL_CONFIG_LAYER_USER, true)
                : cfg_diag_add(cfg, ICTAL_EINVAL, false, "config file %zu has no name", i + 1);
            if (rc && !first)
                first = rc;
        }
    } else {
        const char *sysdir = src->sysconfdir ? src->sysconfdir
                                             : env_lookup(envp, "ICTAL_SYSCONFDIR");
        if (!sysdir || !*sysdir)
            sysdir = "/etc/ictal";
        struct cfg_buf path = { 0 };
        cfg_buf_printf(&path, "%s/ictal.conf", sysdir);
        char *p = cfg_buf_take(&path);
        if (!p)
            return cfg_diag_add(cfg, ICTAL_ENOMEM, false, "config: out of memory");
        rc = ictal_config_load_file(cfg, p, ICTAL_CONFIG_LAYER_SYSTEM, false);
        free(p);
        if (rc && !first)
            first = rc;
        if (!src->no_user_file) {
            /* XDG: a relative $XDG_CONFIG_HOME is invalid and ignored. */
            const char *xdg = env_lookup(envp, "XDG_CONFIG_HOME");
            const char *home = env_lookup(envp, "HOME");
            struct cfg_buf up = { 0 };
            if (xdg && xdg[0] == '/')
                cfg_buf_printf(&up, "%s/ictal/ictal.conf", xdg);
            else if (home && home[0])
                cfg_buf_printf(&up, "%s/.config/ictal/ictal.conf", home);
            if (up.len || up.oom) {
                p = cfg_buf_take(&up);
                if (!p)
                    return cfg_diag_add(cfg, ICTAL_ENOMEM, false, "config: out of memory");
                rc = ictal_config_load_file(cfg, p, ICTAL_CONFIG_LAYER_USER, false);
                free(p);
                if (rc && !first)
                    first = rc;
            }
        }
    }
    const char *profile = src->profile, *psrc = "option --profile";
    if (!profile) {
        profile = env_lookup(envp, "ICTAL_PROFILE");
        psrc = "environment ICTAL_PROFILE";
        if (profile && !*profile)
            profile = NULL;
    }
    if (profile) {
        rc = ictal_config_use_profile(cfg, profile, psrc);
        if (rc && !first)
            first = rc;
    }
    rc = ictal_config_load_env(cfg, envp);
    if (rc && !first)
        first = rc;
    return first;
}
