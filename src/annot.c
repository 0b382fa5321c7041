/*
 * annot.c — seizure annotation readers (ictal/annot.h): CSV_BI, BIDS/SzCORE
 * events.tsv, CHB-MIT summaries, Siena seizure lists, ictal JSON Lines.
 *
 * Every reader walks the text line by line with exact line numbers and
 * stops at the first problem with "PATH:LINE: what is wrong". The formats
 * and their quirks are described in docs/scoring.md.
 */
#include "ictal/annot.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

/* A seizure may end this much after the recording end (float noise of
 * decimal times) before it is implausible. */
#define END_SLACK_S 1e-6

struct rec {
    struct ictal_annot_recording pub;
    char *name, *file, *subject;
    const char *duration_from;
    struct ictal_annot_event *ev;
    size_t nev, capev;
    struct ictal_annot_alarm *al;
    size_t nal, capal;
};

struct ictal_annot {
    enum ictal_annot_format fmt;
    struct rec *recs;
    size_t n, cap;
    char **warn;
    size_t nwarn, capwarn;
};

struct parser {
    const char *path;
    const char *text;
    size_t len;
    const char *p; /* next line */
    int line;      /* number of the line last returned */
    bool clip;
    struct ictal_annot *a;
    struct ictal_error *err;
};

/* ---- messages ----------------------------------------------------------- */

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int fail(struct parser *P, int code, int line, const char *fmt, ...)
{
    char msg[ICTAL_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0)
        return ictal_error_set(P->err, code, "%s:%d: %s", P->path, line, msg);
    return ictal_error_set(P->err, code, "%s: %s", P->path, msg);
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int warn(struct parser *P, int line, const char *fmt, ...)
{
    struct ictal_annot *a = P->a;
    if (a->nwarn == a->capwarn) {
        size_t c = a->capwarn ? 2 * a->capwarn : 8;
        char **w = realloc(a->warn, c * sizeof *w);
        if (!w)
            return ictal_error_set(P->err, ICTAL_ENOMEM, "out of memory");
        a->warn = w;
        a->capwarn = c;
    }
    char msg[ICTAL_ERROR_MSG_MAX], full[ICTAL_ERROR_MSG_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(full, sizeof full, "%s:%d: %s", P->path, line, msg);
    else
        snprintf(full, sizeof full, "%s: %s", P->path, msg);
    char *s = strdup(full);
    if (!s)
        return ictal_error_set(P->err, ICTAL_ENOMEM, "out of memory");
    a->warn[a->nwarn++] = s;
    return 0;
}

/* ---- text helpers -------------------------------------------------------- */

/* Next line without its end-of-line (LF, CRLF or a lone CR); NULL at the end.
 * *n receives the length. */
static const char *next_line(struct parser *P, size_t *n)
{
    const char *end = P->text + P->len;
    if (P->p >= end)
        return NULL;
    const char *s = P->p, *q = s;
    while (q < end && *q != '\n' && *q != '\r')
        q++;
    *n = (size_t)(q - s);
    if (q < end)
        q += (*q == '\r' && q + 1 < end && q[1] == '\n') ? 2 : 1;
    P->p = q;
    P->line++;
    return s;
}

/* A NUL-terminated, blank-trimmed copy of s[0..n) (malloc'd). */
static char *trimmed(const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    char *c = malloc(n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

/* A whole field as a finite decimal number (blanks around allowed). */
static bool parse_number(const char *s, double *v)
{
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return false;
    errno = 0;
    char *end;
    double x = strtod(s, &end);
    if (end == s || errno == ERANGE)
        return false;
    while (isspace((unsigned char)*end))
        end++;
    if (*end || !isfinite(x))
        return false;
    /* strtod also takes hex floats, "inf" and "nan": decimal only */
    for (const char *q = s; q < end; q++)
        if (*q == 'x' || *q == 'X' || *q == 'n' || *q == 'N' || *q == 'i' || *q == 'I')
            return false;
    *v = x;
    return true;
}

/* s starts with prefix, case-insensitively, after leading blanks: returns the
 * text after it, else NULL. */
static const char *after_prefix(const char *s, const char *prefix)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(prefix);
    return strncasecmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* Clock time "HH.MM.SS" / "HH:MM:SS" (hours may pass 24, as CHB-MIT writes
 * them) → seconds; -1 when malformed. */
static long parse_clock(const char *s, int max_hour)
{
    while (isspace((unsigned char)*s))
        s++;
    long v[3];
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)*s))
            return -1;
        long x = 0;
        int digits = 0;
        while (isdigit((unsigned char)*s) && digits < 3) {
            x = 10 * x + (*s - '0');
            s++;
            digits++;
        }
        if (isdigit((unsigned char)*s))
            return -1;
        v[i] = x;
        if (i < 2) {
            if (*s != '.' && *s != ':')
                return -1;
            s++;
        }
    }
    while (isspace((unsigned char)*s))
        s++;
    if (*s || v[0] > max_hour || v[1] > 59 || v[2] > 59)
        return -1;
    return v[0] * 3600 + v[1] * 60 + v[2];
}

static long wrap_day(long d)
{
    d %= 86400;
    return d < 0 ? d + 86400 : d;
}

const char *ictal_annot_recording_name(const char *path, char *buf, size_t cap)
{
    if (cap == 0)
        return buf;
    const char *b = path ? strrchr(path, '/') : NULL;
    b = b ? b + 1 : (path ? path : "");
    size_t n = strlen(b);
    static const char *const ext[] = { ".jsonl", ".json", ".csv_bi", ".csv", ".tsv", ".txt",
                                       ".edf", ".EDF", ".bdf", ".BDF" };
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t k = strlen(ext[i]);
        if (n > k && strcmp(b + n - k, ext[i]) == 0) {
            n -= k;
            break;
        }
    }
    static const char *const suf[] = { "_events", "_eeg" };
    for (size_t i = 0; i < 2; i++) {
        size_t k = strlen(suf[i]);
        if (n > k && strncmp(b + n - k, suf[i], k) == 0) {
            n -= k;
            break;
        }
    }
    if (n > 6 && strncmp(b + n - 6, ".ictal", 6) == 0)
        n -= 6;
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, b, n);
    buf[n] = '\0';
    return buf;
}

/* ---- building recordings --------------------------------------------------- */

static struct rec *add_rec(struct parser *P, const char *name, const char *file, int line)
{
    struct ictal_annot *a = P->a;
    if (a->n == a->cap) {
        size_t c = a->cap ? 2 * a->cap : 8;
        struct rec *r = realloc(a->recs, c * sizeof *r);
        if (!r) {
            ictal_error_set(P->err, ICTAL_ENOMEM, "out of memory");
            return NULL;
        }
        a->recs = r;
        a->cap = c;
    }
    struct rec *r = &a->recs[a->n];
    memset(r, 0, sizeof *r);
    r->pub.duration_s = NAN;
    r->pub.line = line;
    r->name = strdup(name);
    r->file = file ? strdup(file) : NULL;
    if (!r->name || (file && !r->file)) {
        free(r->name);
        free(r->file);
        ictal_error_set(P->err, ICTAL_ENOMEM, "out of memory");
        return NULL;
    }
    a->n++;
    return r;
}

static struct rec *find_rec(struct ictal_annot *a, const char *name)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->recs[i].name, name) == 0)
            return &a->recs[i];
    return NULL;
}

static int set_subject(struct parser *P, struct rec *r, const char *subject)
{
    free(r->subject);
    r->subject = subject ? strdup(subject) : NULL;
    if (subject && !r->subject)
        return ictal_error_set(P->err, ICTAL_ENOMEM, "out of memory");
    return 0;
}

static int push_event(struct parser *P, struct rec *r, double s, double e, int line)
{
    if (r->nev == r->capev) {
        size_t c = r->capev ? 2 * r->capev : 8;
        struct ictal_annot_event *v = realloc(r->ev, c * sizeof *v);
        if (!v)
            return ictal_error_set(P->err, ICTAL_ENOMEM, "out of memory");
        r->ev = v;
        r->capev = c;
    }
    r->ev[r->nev].start_s = s;
    r->ev[r->nev].end_s = e;
    r->ev[r->nev].line = line;
    r->nev++;
    return 0;
}

/* The checks every format shares, on an event [s, e) in seconds from the
 * recording start: e > s (else malformed), s >= 0 and, with a known
 * duration, s < D and e <= D (else implausible: an error, or cut with a
 * warning when clipping). `what` describes the event for messages. Adds it. */
static int add_event(struct parser *P, struct rec *r, double s, double e, int line,
                     const char *what)
{
    if (!(e > s))
        return fail(P, ICTAL_EFORMAT, line, "%s: end %.4f s is not after its start %.4f s",
                    what, e, s);
    double d = r->pub.duration_s;
    char why[256] = "";
    if (s < 0)
        snprintf(why, sizeof why, "starts %.4f s before the recording", -s);
    else if (!isnan(d) && s >= d)
        snprintf(why, sizeof why, "starts at %.4f s, not before the recording end %.4f s", s, d);
    else if (!isnan(d) && e > d + END_SLACK_S)
        snprintf(why, sizeof why, "ends at %.4f s, %.4f s after the recording end %.4f s",
                 e, e - d, d);
    if (why[0]) {
        if (!P->clip)
            return fail(P, ICTAL_ERANGE, line, "%s %s: implausible", what, why);
        double cs = fmax(s, 0.0), ce = isnan(d) ? e : fmin(e, d);
        int rc = warn(P, line, "%s %s: implausible; %s", what, why,
                      ce > cs ? "cut to the recording" : "dropped (nothing of it is inside)");
        if (rc < 0)
            return rc;
        if (!(ce > cs))
            return 0;
        s = cs;
        e = ce;
    }
    return push_event(P, r, s, e, line);
}

/* ---- CSV_BI -------------------------------------------------------------------- */

static int split_fields(char *s, char delim, char **f, int max)
{
    int n = 0;
    for (;;) {
        if (n == max)
            return max + 1;
        f[n++] = s;
        char *q = strchr(s, delim);
        if (!q)
            break;
        *q = '\0';
        s = q + 1;
    }
    for (int i = 0; i < n; i++) { /* trim each */
        char *x = f[i];
        while (isspace((unsigned char)*x))
            x++;
        size_t k = strlen(x);
        while (k > 0 && isspace((unsigned char)x[k - 1]))
            x[--k] = '\0';
        f[i] = x;
    }
    return n;
}

#define MAX_FIELDS 32

static int read_csv_bi(struct parser *P)
{
    double duration = NAN;
    char *bname = NULL;
    char *line = NULL;
    int col_start = -1, col_stop = -1, col_label = -1, ncol = 0;
    int rc = 0;
    struct rec *r = NULL;
    const char *s;
    size_t n;
    while ((s = next_line(P, &n))) {
        free(line);
        line = trimmed(s, n);
        if (!line) {
            rc = ictal_error_set(P->err, ICTAL_ENOMEM, "out of memory");
            break;
        }
        if (!line[0])
            continue;
        if (line[0] == '#') {
            const char *v;
            if ((v = after_prefix(line + 1, "duration"))) {
                while (isspace((unsigned char)*v))
                    v++;
                if (*v != '=') {
                    rc = fail(P, ICTAL_EFORMAT, P->line, "expected '# duration = N secs'");
                    break;
                }
                v++;
                while (isspace((unsigned char)*v))
                    v++;
                char *num = strdup(v);
                if (!num) {
                    rc = ictal_error_set(P->err, ICTAL_ENOMEM, "out of memory");
                    break;
                }
                size_t k = strlen(num);
                while (k > 0 && isspace((unsigned char)num[k - 1]))
                    num[--k] = '\0';
                if (k >= 4 && strcasecmp(num + k - 4, "secs") == 0)
                    num[k - 4] = '\0';
                bool ok = parse_number(num, &duration) && duration > 0;
                free(num);
                if (!ok) {
                    rc = fail(P, ICTAL_EFORMAT, P->line,
                              "the duration '%s' is not a positive number of seconds", v);
                    break;
                }
            } else if ((v = after_prefix(line + 1, "bname"))) {
                while (isspace((unsigned char)*v) || *v == '=')
                    v++;
                free(bname);
                bname = strdup(v);
                if (!bname) {
                    rc = ictal_error_set(P->err, ICTAL_ENOMEM, "out of memory");
                    break;
                }
            }
            continue;
        }
        char *f[MAX_FIELDS + 1];
        int nf = split_fields(line, ',', f, MAX_FIELDS);
        if (!r) { /* the column line comes first */
            for (int i = 0; i < nf && i < MAX_FIELDS; i++) {
                if (strcasecmp(f[i], "start_time") == 0)
                    col_start = i;
                else if (strcasecmp(f[i], "stop_time") == 0)
                    col_stop = i;
                else if (strcasecmp(f[i], "label") == 0)
                    col_label = i;
            }
            if (col_start < 0 || col_stop < 0 || col_label < 0) {
                rc = fail(P, ICTAL_EFORMAT, P->line,
                          "expected the column line channel,start_time,stop_time,label,"
                          "confidence before the events");
                break;
            }
            ncol = nf;
            char nm[256];
            if (bname && bname[0])
                ictal_annot_recording_name(bname, nm, sizeof nm);
            else
                ictal_annot_recording_name(P->path, nm, sizeof nm);
            r = add_rec(P, nm, NULL, 0);
            if (!r) {
                rc = ICTAL_ENOMEM;
                break;
            }
            if (!isnan(duration)) {
                r->pub.duration_s = duration;
                r->duration_from = "CSV_BI '# duration'";
            }
            continue;
        }
        if (nf != ncol) {
            rc = fail(P, ICTAL_EFORMAT, P->line, "%d fields where the column line has %d", nf,
                      ncol);
            break;
        }
        double t0, t1;
        if (!parse_number(f[col_start], &t0) || !parse_number(f[col_stop], &t1)) {
            rc = fail(P, ICTAL_EFORMAT, P->line, "start_time '%s' / stop_time '%s': not numbers",
                      f[col_start], f[col_stop]);
            break;
        }
        if (strcasecmp(f[col_label], "bckg") == 0) {
            if (!(t1 > t0)) {
                rc = fail(P, ICTAL_EFORMAT, P->line, "bckg: stop_time %s is not after start_time %s",
                          f[col_stop], f[col_start]);
                break;
            }
            continue;
        }
        if (strcasecmp(f[col_label], "seiz") != 0) {
            rc = fail(P, ICTAL_EFORMAT, P->line,
                      "label '%s' is neither seiz nor bckg (CSV_BI is bi-class)", f[col_label]);
            break;
        }
        if ((rc = add_event(P, r, t0, t1, P->line, "seizure")) < 0)
            break;
    }
    free(line);
    free(bname);
    if (rc == 0 && !r)
        rc = fail(P, ICTAL_EFORMAT, 0,
                  "no column line channel,start_time,stop_time,label,confidence (empty file?)");
    return rc;
}

/* ---- BIDS / SzCORE events.tsv ---------------------------------------------------- */

/* "sub-XX" from the name's first '_' component, else from a directory of
 * the path (BIDS: sub-01/ses-01/eeg/...). */
static void bids_subject(const char *path, const char *name, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (strncmp(name, "sub-", 4) == 0) {
        size_t k = strcspn(name, "_");
        snprintf(buf, cap, "%.*s", (int)k, name);
        return;
    }
    for (const char *p = path; p && (p = strstr(p, "sub-")); p += 4)
        if (p == path || p[-1] == '/') {
            size_t k = strcspn(p, "/_");
            snprintf(buf, cap, "%.*s", (int)k, p);
            return;
        }
}

static int read_tsv(struct parser *P)
{
    char nm[256], subj[128];
    ictal_annot_recording_name(P->path, nm, sizeof nm);
    bids_subject(P->path, nm, subj, sizeof subj);
    struct rec *r = add_rec(P, nm, NULL, 0);
    if (!r)
        return ICTAL_ENOMEM;
    if (subj[0] && set_subject(P, r, subj) < 0)
        return ICTAL_ENOMEM;
    char *line = NULL;
    int col_on = -1, col_dur = -1, col_type = -1, col_rec = -1, ncol = 0;
    int rc = 0, rec_line = 0;
    bool header = false;
    /* Events are checked against recordingDuration, which every row repeats:
     * collect first, check once the whole file agrees. */
    struct { double s, e; int line; } *pend = NULL;
    size_t npend = 0, cappend = 0;
    const char *s;
    size_t n;
    while ((s = next_line(P, &n))) {
        if (blank(s, n))
            continue;
        free(line);
        line = malloc(n + 1);
        if (!line) {
            rc = ictal_error_set(P->err, ICTAL_ENOMEM, "out of memory");
            break;
        }
        memcpy(line, s, n);
        line[n] = '\0';
        char *f[MAX_FIELDS + 1];
        int nf = split_fields(line, '\t', f, MAX_FIELDS);
        if (!header) {
            for (int i = 0; i < nf && i < MAX_FIELDS; i++) {
                if (strcmp(f[i], "onset") == 0)
                    col_on = i;
                else if (strcmp(f[i], "duration") == 0)
                    col_dur = i;
                else if (strcmp(f[i], "eventType") == 0)
                    col_type = i;
                else if (strcmp(f[i], "recordingDuration") == 0)
                    col_rec = i;
            }
            if (col_on < 0 || col_dur < 0 || col_type < 0) {
                rc = fail(P, ICTAL_EFORMAT, P->line,
                          "the header line needs the tab-separated columns onset, duration "
                          "and eventType");
                break;
            }
            ncol = nf;
            header = true;
            continue;
        }
        if (nf != ncol) {
            rc = fail(P, ICTAL_EFORMAT, P->line,
                      "%d tab-separated fields where the header has %d", nf, ncol);
            break;
        }
        double on, du;
        if (!parse_number(f[col_on], &on) || !parse_number(f[col_dur], &du)) {
            rc = fail(P, ICTAL_EFORMAT, P->line, "onset '%s' / duration '%s': not numbers",
                      f[col_on], f[col_dur]);
            break;
        }
        if (du < 0) {
            rc = fail(P, ICTAL_EFORMAT, P->line, "negative duration %s", f[col_dur]);
            break;
        }
        if (col_rec >= 0 && strcmp(f[col_rec], "n/a") != 0) {
            double rd;
            if (!parse_number(f[col_rec], &rd) || rd <= 0) {
                rc = fail(P, ICTAL_EFORMAT, P->line,
                          "recordingDuration '%s' is not a positive number", f[col_rec]);
                break;
            }
            if (!isnan(r->pub.duration_s) && rd != r->pub.duration_s) {
                rc = fail(P, ICTAL_EFORMAT, P->line,
                          "recordingDuration %s differs from %.4f on line %d", f[col_rec],
                          r->pub.duration_s, rec_line);
                break;
            }
            r->pub.duration_s = rd;
            r->duration_from = "events.tsv recordingDuration";
            rec_line = P->line;
        }
        const char *type = f[col_type];
        if (strcmp(type, "bckg") == 0)
            continue;
        if (strncmp(type, "sz", 2) != 0) {
            rc = fail(P, ICTAL_EFORMAT, P->line,
                      "eventType '%s' is neither a seizure type (sz, sz_foc, ...) nor bckg",
                      type);
            break;
        }
        if (npend == cappend) {
            size_t c = cappend ? 2 * cappend : 8;
            void *v = realloc(pend, c * sizeof *pend);
            if (!v) {
                rc = ictal_error_set(P->err, ICTAL_ENOMEM, "out of memory");
                break;
            }
            pend = v;
            cappend = c;
        }
        pend[npend].s = on;
        pend[npend].e = on + du;
        pend[npend].line = P->line;
        npend++;
    }
    free(line);
    if (rc == 0 && !header)
        rc = fail(P, ICTAL_EFORMAT, 0, "no header line (empty file?)");
    for (size_t i = 0; rc == 0 && i < npend; i++)
        rc = add_event(P, r, pend[i].s, pend[i].e, pend[i].line, "seizure");
    free(pend);
    return rc;
}

/* ---- CHB-MIT summary ---------------------------------------------------------------- */

/* "Seizure Start Time: 417 seconds" / "Seizure 2 End Time: 532 seconds":
 * which (0 start, 1 end, -1 neither) and the number. */
static int chb_seizure_line(const char *s, double *t, bool *ok)
{
    const char *p = after_prefix(s, "Seizure");
    *ok = false;
    if (!p)
        return -1;
    while (isspace((unsigned char)*p) || isdigit((unsigned char)*p))
        p++;
    int which;
    const char *q;
    if ((q = after_prefix(p, "Start Time:")))
        which = 0;
    else if ((q = after_prefix(p, "End Time:")))
        which = 1;
    else
        return -1;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", q);
    size_t k = strlen(buf);
    while (k > 0 && isspace((unsigned char)buf[k - 1]))
        buf[--k] = '\0';
    if (k >= 7 && strcasecmp(buf + k - 7, "seconds") == 0)
        buf[k - 7] = '\0';
    *ok = parse_number(buf, t);
    return which;
}

static int chb_close_file(struct parser *P, struct rec *r, int nsz_declared, int nsz_line,
                          bool open_start, int start_line)
{
    if (!r)
        return 0;
    if (open_start)
        return fail(P, ICTAL_EFORMAT, start_line,
                    "%s: seizure start time without an end time", r->file);
    if (nsz_declared >= 0 && (size_t)nsz_declared != r->nev)
        return fail(P, ICTAL_EFORMAT, nsz_line,
                    "%s: 'Number of Seizures in File: %d' but %zu seizure(s) listed", r->file,
                    nsz_declared, r->nev);
    return 0;
}

static int read_chbmit(struct parser *P)
{
    /* subject: chb05-summary.txt → chb05 */
    char base[256], subject[256] = "";
    ictal_annot_recording_name(P->path, base, sizeof base);
    size_t bl = strlen(base);
    if (bl > 8 && strcmp(base + bl - 8, "-summary") == 0)
        snprintf(subject, sizeof subject, "%.*s", (int)(bl - 8), base);
    struct rec *r = NULL;
    long t_start = -1;
    int nsz = -1, nsz_line = 0, start_line = 0, rc = 0;
    bool open_start = false;
    double sz_start = 0;
    char *line = NULL;
    const char *s;
    size_t n;
    while ((s = next_line(P, &n))) {
        free(line);
        line = trimmed(s, n);
        if (!line) {
            rc = ictal_error_set(P->err, ICTAL_ENOMEM, "out of memory");
            break;
        }
        const char *v;
        if ((v = after_prefix(line, "File Name:"))) {
            if ((rc = chb_close_file(P, r, nsz, nsz_line, open_start, start_line)) < 0)
                break;
            while (isspace((unsigned char)*v))
                v++;
            if (!*v) {
                rc = fail(P, ICTAL_EFORMAT, P->line, "File Name without a name");
                break;
            }
            char nm[256];
            ictal_annot_recording_name(v, nm, sizeof nm);
            if (find_rec(P->a, nm)) {
                rc = fail(P, ICTAL_EFORMAT, P->line, "%s is listed twice", v);
                break;
            }
            if (!(r = add_rec(P, nm, v, P->line))) {
                rc = ICTAL_ENOMEM;
                break;
            }
            if (subject[0] && (rc = set_subject(P, r, subject)) < 0)
                break;
            t_start = -1;
            nsz = -1;
            open_start = false;
        } else if ((v = after_prefix(line, "File Start Time:")) ||
                   (v = after_prefix(line, "File End Time:"))) {
            bool is_start = after_prefix(line, "File Start Time:") != NULL;
            if (!r) {
                rc = fail(P, ICTAL_EFORMAT, P->line, "file time before any File Name");
                break;
            }
            long t = parse_clock(v, 99);
            if (t < 0) {
                rc = fail(P, ICTAL_EFORMAT, P->line, "'%s' is not a clock time H:MM:SS", v);
                break;
            }
            if (is_start) {
                t_start = t;
            } else if (t_start < 0) {
                rc = fail(P, ICTAL_EFORMAT, P->line, "File End Time before File Start Time");
                break;
            } else {
                /* the files write 24:21:32 for 00:21:32 of the next day, and
                 * also wrap to 1:21:39: the difference modulo a day */
                long d = wrap_day(t - t_start);
                if (d == 0) {
                    rc = fail(P, ICTAL_EFORMAT, P->line,
                              "%s: File End Time equals File Start Time", r->file);
                    break;
                }
                if (r->nev > 0) {
                    rc = fail(P, ICTAL_EFORMAT, P->line,
                              "%s: File End Time after its seizures", r->file);
                    break;
                }
                r->pub.duration_s = (double)d;
                r->duration_from = "CHB-MIT File Start/End Time";
            }
        } else if ((v = after_prefix(line, "Number of Seizures in File:"))) {
            double x;
            if (!r || !parse_number(v, &x) || x < 0 || x != floor(x) || x > 1e6) {
                rc = fail(P, ICTAL_EFORMAT, P->line,
                          r ? "'%s' is not a seizure count" : "seizure count before any File Name",
                          v);
                break;
            }
            nsz = (int)x;
            nsz_line = P->line;
        } else {
            double t;
            bool ok;
            int which = chb_seizure_line(line, &t, &ok);
            if (which < 0)
                continue; /* channel lists, rates, headers */
            if (!r) {
                rc = fail(P, ICTAL_EFORMAT, P->line, "seizure time before any File Name");
                break;
            }
            if (!ok) {
                rc = fail(P, ICTAL_EFORMAT, P->line,
                          "expected a number of seconds, as in 'Seizure 1 Start Time: 417 seconds'");
                break;
            }
            if (which == 0) {
                if (open_start) {
                    rc = fail(P, ICTAL_EFORMAT, P->line,
                              "second seizure start time; the one on line %d has no end time",
                              start_line);
                    break;
                }
                open_start = true;
                start_line = P->line;
                sz_start = t;
            } else {
                if (!open_start) {
                    rc = fail(P, ICTAL_EFORMAT, P->line, "seizure end time without a start time");
                    break;
                }
                open_start = false;
                char what[300];
                snprintf(what, sizeof what, "%s: seizure %zu [%g s, %g s]", r->file, r->nev + 1,
                         sz_start, t);
                if ((rc = add_event(P, r, sz_start, t, start_line, what)) < 0)
                    break;
            }
        }
    }
    free(line);
    if (rc == 0)
        rc = chb_close_file(P, r, nsz, nsz_line, open_start, start_line);
    if (rc == 0 && P->a->n == 0)
        rc = fail(P, ICTAL_EFORMAT, 0, "no 'File Name:' entry: not a CHB-MIT summary?");
    return rc;
}

/* ---- Siena seizure list --------------------------------------------------------------- */

struct siena_state {
    struct rec *r;
    long reg_start, reg_end;   /* clock seconds, -1 unknown */
    char reg_start_text[32], reg_end_text[32];
    long sz_start;             /* clock seconds of an open seizure, -1 none */
    char sz_start_text[32];
    int sz_line;
};

static int read_siena(struct parser *P)
{
    char base[256], subject[256] = "";
    ictal_annot_recording_name(P->path, base, sizeof base);
    if (strncmp(base, "Seizures-list-", 14) == 0 && base[14])
        snprintf(subject, sizeof subject, "%s", base + 14);
    struct siena_state st = { .r = NULL, .reg_start = -1, .reg_end = -1, .sz_start = -1 };
    char *line = NULL;
    int rc = 0;
    const char *s;
    size_t n;
    while ((s = next_line(P, &n))) {
        free(line);
        line = trimmed(s, n);
        if (!line) {
            rc = ictal_error_set(P->err, ICTAL_ENOMEM, "out of memory");
            break;
        }
        const char *v;
        int kind = -1; /* 0 reg start, 1 reg end, 2 sz start, 3 sz end */
        if ((v = after_prefix(line, "File name:"))) {
            if (st.sz_start >= 0) {
                rc = fail(P, ICTAL_EFORMAT, st.sz_line, "seizure start time without an end time");
                break;
            }
            while (isspace((unsigned char)*v))
                v++;
            if (!*v) {
                rc = fail(P, ICTAL_EFORMAT, P->line, "File name without a name");
                break;
            }
            char nm[256];
            ictal_annot_recording_name(v, nm, sizeof nm);
            /* a recording named again (another seizure of it) continues */
            st.r = find_rec(P->a, nm);
            if (!st.r) {
                if (!(st.r = add_rec(P, nm, v, P->line))) {
                    rc = ICTAL_ENOMEM;
                    break;
                }
                if (subject[0] && (rc = set_subject(P, st.r, subject)) < 0)
                    break;
                st.reg_start = st.reg_end = -1;
            }
            continue;
        }
        if ((v = after_prefix(line, "Registration start time:")))
            kind = 0;
        else if ((v = after_prefix(line, "Registration end time:")))
            kind = 1;
        else if ((v = after_prefix(line, "Seizure start time:")) ||
                 (v = after_prefix(line, "Start time:")))
            kind = 2;
        else if ((v = after_prefix(line, "Seizure end time:")) ||
                 (v = after_prefix(line, "End time:")))
            kind = 3;
        if (kind < 0)
            continue; /* "Seizure n 1", channel lists, the rate */
        if (!st.r) {
            rc = fail(P, ICTAL_EFORMAT, P->line, "time before any 'File name:'");
            break;
        }
        long t = parse_clock(v, 23);
        if (t < 0) {
            rc = fail(P, ICTAL_EFORMAT, P->line, "'%s' is not a clock time HH.MM.SS", v);
            break;
        }
        char text[32];
        snprintf(text, sizeof text, "%02ld.%02ld.%02ld", t / 3600, t / 60 % 60, t % 60);
        if (kind == 0) {
            if (st.r->nev > 0 && st.reg_start >= 0 && t != st.reg_start) {
                rc = fail(P, ICTAL_EFORMAT, P->line,
                          "%s: a second registration start time %s (was %s)", st.r->file, text,
                          st.reg_start_text);
                break;
            }
            st.reg_start = t;
            memcpy(st.reg_start_text, text, sizeof text);
        } else if (kind == 1) {
            if (st.reg_start < 0) {
                rc = fail(P, ICTAL_EFORMAT, P->line, "registration end before its start");
                break;
            }
            long d = wrap_day(t - st.reg_start);
            if (d == 0) {
                rc = fail(P, ICTAL_EFORMAT, P->line, "%s: registration end equals its start",
                          st.r->file);
                break;
            }
            if (st.r->nev > 0 && (double)d != st.r->pub.duration_s) {
                rc = fail(P, ICTAL_EFORMAT, P->line,
                          "%s: registration end %s after its seizures", st.r->file, text);
                break;
            }
            st.reg_end = t;
            memcpy(st.reg_end_text, text, sizeof text);
            st.r->pub.duration_s = (double)d;
            st.r->duration_from = "Siena registration start/end time";
        } else if (kind == 2) {
            if (st.sz_start >= 0) {
                rc = fail(P, ICTAL_EFORMAT, P->line,
                          "second seizure start time; the one on line %d has no end time",
                          st.sz_line);
                break;
            }
            if (st.reg_start < 0) {
                rc = fail(P, ICTAL_EFORMAT, P->line,
                          "%s: seizure time without a registration start time (wall-clock "
                          "times need it)", st.r->file);
                break;
            }
            st.sz_start = t;
            st.sz_line = P->line;
            memcpy(st.sz_start_text, text, sizeof text);
        } else {
            if (st.sz_start < 0) {
                rc = fail(P, ICTAL_EFORMAT, P->line, "seizure end time without a start time");
                break;
            }
            /* wall clock → seconds from the registration start, over midnight */
            double on = (double)wrap_day(st.sz_start - st.reg_start);
            double off = (double)wrap_day(t - st.reg_start);
            double d = st.r->pub.duration_s;
            if (!isnan(d) && off > d && off > on) {
                char why[400];
                snprintf(why, sizeof why,
                         "%s: seizure end %s lies %.0f s after the registration end %s "
                         "(a seizure of %.0f s in a recording of %.0f s): implausible, "
                         "likely a typo in the list",
                         st.r->file, text, off - d, st.reg_end_text, off - on, d);
                if (!P->clip) {
                    rc = fail(P, ICTAL_ERANGE, P->line, "%s", why);
                    break;
                }
                if ((rc = warn(P, P->line, "%s; cut at the registration end", why)) < 0)
                    break;
                off = d;
            }
            char what[300];
            snprintf(what, sizeof what, "%s: seizure %s-%s", st.r->file, st.sz_start_text, text);
            if ((rc = add_event(P, st.r, on, off, st.sz_line, what)) < 0)
                break;
            st.sz_start = -1;
        }
    }
    free(line);
    if (rc == 0 && st.sz_start >= 0)
        rc = fail(P, ICTAL_EFORMAT, st.sz_line, "seizure start time without an end time");
    if (rc == 0 && P->a->n == 0)
        rc = fail(P, ICTAL_EFORMAT, 0, "no 'File name:' entry: not a Siena seizure list?");
    return rc;
}

/* ---- ictal JSON Lines ---------------------------------------------------------------- */

struct jl_alarm {
    uint64_t id;
    double emit, start, end;
    int line;
    size_t rec;
    bool cancelled, has_final;
    double fs, fe; /* union of its final records */
};

static bool jnum(const cJSON *o, const char *key, double *v)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble))
        return false;
    *v = x->valuedouble;
    return true;
}

static int read_jsonl(struct parser *P)
{
    char pathname[256];
    ictal_annot_recording_name(P->path, pathname, sizeof pathname);
    struct jl_alarm *al = NULL;
    size_t nal = 0, capal = 0;
    char *line = NULL;
    int rc = 0;
    bool warned_kind = false;
    const char *s;
    size_t n;
    while ((s = next_line(P, &n))) {
        if (blank(s, n))
            continue;
        free(line);
        line = malloc(n + 1);
        if (!line) {
            rc = ictal_error_set(P->err, ICTAL_ENOMEM, "out of memory");
            break;
        }
        memcpy(line, s, n);
        line[n] = '\0';
        cJSON *o = cJSON_ParseWithLength(line, n);
        if (!o || !cJSON_IsObject(o)) {
            cJSON_Delete(o);
            rc = fail(P, ICTAL_EFORMAT, P->line, "not a JSON object");
            break;
        }
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
        const cJSON *file = cJSON_GetObjectItemCaseSensitive(o, "file");
        if (!cJSON_IsString(kind)) {
            cJSON_Delete(o);
            rc = fail(P, ICTAL_EFORMAT, P->line, "no \"kind\" string");
            break;
        }
        if (file && !cJSON_IsString(file)) {
            cJSON_Delete(o);
            rc = fail(P, ICTAL_EFORMAT, P->line, "\"file\" is not a string");
            break;
        }
        /* ictal-run names the recording ("file"); ictal-detect's journal and
         * ictal-log name a stream of a source instead */
        const cJSON *stream = cJSON_GetObjectItemCaseSensitive(o, "stream");
        char nm[256];
        if (file)
            ictal_annot_recording_name(file->valuestring, nm, sizeof nm);
        else if (cJSON_IsString(stream) && stream->valuestring[0])
            snprintf(nm, sizeof nm, "%s", stream->valuestring);
        else
            snprintf(nm, sizeof nm, "%s", pathname);
        char k[32];
        snprintf(k, sizeof k, "%s", kind->valuestring);
        bool is_final = strcmp(k, "final") == 0, is_alarm = strcmp(k, "alarm") == 0,
             is_cancel = strcmp(k, "cancel") == 0, is_stop = strcmp(k, "stop") == 0;
        if (is_stop) {
            /* a journal's stream end: its length, when nothing else gives one */
            double ts;
            struct rec *r = find_rec(P->a, nm);
            if (r && jnum(o, "t_s", &ts) && ts > 0) {
                r->pub.duration_s = ts;
                r->duration_from = "JSON Lines stop record";
            }
            cJSON_Delete(o);
            continue;
        }
        if (!is_final && !is_alarm && !is_cancel) {
            static const char *const known[] = { "start", "xrun", "status", "prob", "quality" };
            bool quiet = false;
            for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
                quiet |= strcmp(k, known[i]) == 0;
            if (!quiet && !warned_kind) {
                rc = warn(P, P->line, "record kind \"%s\" ignored (only final, alarm, cancel "
                                      "are scored)", k);
                warned_kind = true;
            }
            cJSON_Delete(o);
            if (rc < 0)
                break;
            continue;
        }
        struct rec *r = find_rec(P->a, nm);
        if (!r) {
            if (!(r = add_rec(P, nm, file ? file->valuestring : NULL, P->line))) {
                cJSON_Delete(o);
                rc = ICTAL_ENOMEM;
                break;
            }
            r->pub.has_alarms = true;
        }
        size_t ri = (size_t)(r - P->a->recs);
        double id_d = 0, st = 0, en = 0, em = 0;
        bool have_id = jnum(o, "id", &id_d) && id_d >= 0 && id_d == floor(id_d) && id_d < 9e15;
        if (is_cancel) {
            if (!have_id) {
                cJSON_Delete(o);
                rc = fail(P, ICTAL_EFORMAT, P->line, "cancel record without a valid \"id\"");
                break;
            }
            bool found = false;
            for (size_t i = 0; i < nal; i++)
                if (al[i].rec == ri && al[i].id == (uint64_t)id_d) {
                    al[i].cancelled = true;
                    found = true;
                }
            cJSON_Delete(o);
            if (!found && (rc = warn(P, P->line, "cancel of id %.0f, which had no alarm", id_d)) < 0)
                break;
            continue;
        }
        if (!jnum(o, "start_s", &st) || !jnum(o, "end_s", &en) ||
            (is_alarm && (!jnum(o, "emit_s", &em) || !have_id))) {
            cJSON_Delete(o);
            rc = fail(P, ICTAL_EFORMAT, P->line, "%s record without numeric %s", k,
                      is_alarm ? "\"id\", \"start_s\", \"end_s\" and \"emit_s\""
                               : "\"start_s\" and \"end_s\"");
            break;
        }
        cJSON_Delete(o);
        if (is_final) {
            char what[64];
            snprintf(what, sizeof what, "final event [%g, %g) s", st, en);
            if ((rc = add_event(P, r, st, en, P->line, what)) < 0)
                break;
            for (size_t i = 0; i < nal; i++)
                if (al[i].rec == ri && have_id && al[i].id == (uint64_t)id_d) {
                    al[i].fs = al[i].has_final ? fmin(al[i].fs, st) : st;
                    al[i].fe = al[i].has_final ? fmax(al[i].fe, en) : en;
                    al[i].has_final = true;
                }
            continue;
        }
        if (!(en >= st) || st < 0 || em < 0) {
            rc = fail(P, ICTAL_EFORMAT, P->line,
                      "alarm with start_s %g, end_s %g, emit_s %g: needs 0 <= start <= end, "
                      "emit >= 0", st, en, em);
            break;
        }
        if (nal == capal) {
            size_t c = capal ? 2 * capal : 16;
            void *v = realloc(al, c * sizeof *al);
            if (!v) {
                rc = ictal_error_set(P->err, ICTAL_ENOMEM, "out of memory");
                break;
            }
            al = v;
            capal = c;
        }
        al[nal] = (struct jl_alarm){ .id = (uint64_t)id_d, .emit = em, .start = st, .end = en,
                                     .line = P->line, .rec = ri };
        nal++;
    }
    free(line);
    if (rc == 0 && P->a->n == 0) {
        /* an empty detector output is a valid "no events" hypothesis */
        struct rec *r = add_rec(P, pathname, NULL, 0);
        if (!r)
            rc = ICTAL_ENOMEM;
        else
            r->pub.has_alarms = true;
    }
    for (size_t i = 0; rc == 0 && i < nal; i++) {
        if (al[i].cancelled)
            continue; /* withdrawn: its event is not part of the hypothesis */
        struct rec *r = &P->a->recs[al[i].rec];
        if (!al[i].has_final &&
            (rc = warn(P, al[i].line, "alarm #%llu has no final or cancel record (stream cut "
                                      "short?): its own span is used",
                       (unsigned long long)al[i].id)) < 0)
            break;
        if (r->nal == r->capal) {
            size_t c = r->capal ? 2 * r->capal : 8;
            struct ictal_annot_alarm *v = realloc(r->al, c * sizeof *v);
            if (!v) {
                rc = ictal_error_set(P->err, ICTAL_ENOMEM, "out of memory");
                break;
            }
            r->al = v;
            r->capal = c;
        }
        r->al[r->nal++] = (struct ictal_annot_alarm){
            .id = al[i].id, .emit_s = al[i].emit,
            .start_s = al[i].has_final ? al[i].fs : al[i].start,
            .end_s = al[i].has_final ? al[i].fe : al[i].end,
            .has_final = al[i].has_final, .line = al[i].line };
    }
    free(al);
    return rc;
}

/* ---- detection and the public functions ------------------------------------------ */

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcasecmp(s + n - k, suf) == 0;
}

static bool text_has(const char *text, size_t len, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= len; i++)
        if (strncasecmp(text + i, needle, k) == 0)
            return true;
    return false;
}

static bool memmem_cs(const char *text, size_t len, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= len; i++)
        if (memcmp(text + i, needle, k) == 0)
            return true;
    return false;
}

static enum ictal_annot_format detect(const char *path, const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)text[i]))
        i++;
    const char *f = text + i;
    size_t rest = len - i;
    if (rest > 0 && f[0] == '{')
        return ICTAL_ANNOT_JSONL;
    if ((rest >= 9 && strncasecmp(f, "# version", 9) == 0) ||
        (rest >= 19 && strncasecmp(f, "channel,start_time,", 19) == 0))
        return ICTAL_ANNOT_CSV_BI;
    if (rest >= 6 && strncmp(f, "onset\t", 6) == 0)
        return ICTAL_ANNOT_TSV;
    /* the two clinical lists: by their file names, then by their lines
     * (CHB-MIT writes "File Name:", Siena "File name:") */
    char base[256];
    const char *slash = strrchr(path, '/');
    snprintf(base, sizeof base, "%s", slash ? slash + 1 : path);
    if (strncmp(base, "Seizures-list-", 14) == 0)
        return ICTAL_ANNOT_SIENA;
    if (has_suffix(base, "-summary.txt"))
        return ICTAL_ANNOT_CHBMIT;
    if (text_has(text, len, "Registration start time"))
        return ICTAL_ANNOT_SIENA;
    if (text_has(text, len, "File Start Time") || text_has(text, len, "Number of Seizures in File"))
        return ICTAL_ANNOT_CHBMIT;
    if (memmem_cs(text, len, "File name:"))
        return ICTAL_ANNOT_SIENA;
    if (memmem_cs(text, len, "File Name:"))
        return ICTAL_ANNOT_CHBMIT;
    /* by name, for files whose contents say little (an empty JSON Lines file,
     * a CSV_BI without its comment header) */
    if (has_suffix(path, ".jsonl") || has_suffix(path, ".json"))
        return ICTAL_ANNOT_JSONL;
    if (has_suffix(path, ".csv_bi"))
        return ICTAL_ANNOT_CSV_BI;
    if (has_suffix(path, ".tsv"))
        return ICTAL_ANNOT_TSV;
    return ICTAL_ANNOT_AUTO;
}

static int cmp_event(const void *x, const void *y)
{
    const struct ictal_annot_event *a = x, *b = y;
    if (a->start_s != b->start_s)
        return a->start_s < b->start_s ? -1 : 1;
    if (a->end_s != b->end_s)
        return a->end_s < b->end_s ? -1 : 1;
    return a->line - b->line;
}

static int cmp_alarm(const void *x, const void *y)
{
    const struct ictal_annot_alarm *a = x, *b = y;
    if (a->emit_s != b->emit_s)
        return a->emit_s < b->emit_s ? -1 : 1;
    return a->line - b->line;
}

void ictal_annot_destroy(struct ictal_annot *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        free(a->recs[i].name);
        free(a->recs[i].file);
        free(a->recs[i].subject);
        free(a->recs[i].ev);
        free(a->recs[i].al);
    }
    free(a->recs);
    for (size_t i = 0; i < a->nwarn; i++)
        free(a->warn[i]);
    free(a->warn);
    free(a);
}

struct ictal_annot *ictal_annot_parse(const char *path, const char *text, size_t len,
                                      const struct ictal_annot_options *opt,
                                      struct ictal_error *err)
{
    ictal_error_clear(err);
    if (!path)
        path = "(annotation)";
    if (!text && len > 0) {
        ictal_error_set(err, ICTAL_EINVAL, "%s: no text", path);
        return NULL;
    }
    const char *nul = len ? memchr(text, '\0', len) : NULL;
    if (nul) {
        int line = 1;
        for (const char *q = text; q < nul; q++)
            line += *q == '\n';
        ictal_error_set(err, ICTAL_EFORMAT, "%s:%d: NUL byte: not a text file", path, line);
        return NULL;
    }
    enum ictal_annot_format fmt = opt ? opt->format : ICTAL_ANNOT_AUTO;
    if (fmt == ICTAL_ANNOT_AUTO)
        fmt = detect(path, text ? text : "", len);
    if (fmt == ICTAL_ANNOT_AUTO) {
        ictal_error_set(err, ICTAL_EUNSUPPORTED,
                        "%s: cannot tell the annotation format (expected CSV_BI, BIDS "
                        "events.tsv, a CHB-MIT summary, a Siena seizure list or ictal JSON "
                        "Lines); name it explicitly", path);
        return NULL;
    }
    struct ictal_annot *a = calloc(1, sizeof *a);
    if (!a) {
        ictal_error_set(err, ICTAL_ENOMEM, "out of memory");
        return NULL;
    }
    a->fmt = fmt;
    struct ictal_error local;
    struct parser P = { .path = path, .text = text ? text : "", .len = len, .p = text ? text : "",
                        .clip = opt && opt->clip_implausible, .a = a,
                        .err = err ? err : &local };
    int rc;
    switch (fmt) {
    case ICTAL_ANNOT_CSV_BI: rc = read_csv_bi(&P); break;
    case ICTAL_ANNOT_TSV: rc = read_tsv(&P); break;
    case ICTAL_ANNOT_CHBMIT: rc = read_chbmit(&P); break;
    case ICTAL_ANNOT_SIENA: rc = read_siena(&P); break;
    case ICTAL_ANNOT_JSONL: rc = read_jsonl(&P); break;
    default: rc = ictal_error_set(P.err, ICTAL_EINVAL, "%s: unknown format %d", path, (int)fmt);
    }
    if (rc < 0) {
        if (P.err->code == 0)
            ictal_error_set(P.err, rc, "%s: %s", path, ictal_strerror(rc));
        ictal_annot_destroy(a);
        return NULL;
    }
    for (size_t i = 0; i < a->n; i++) {
        struct rec *r = &a->recs[i];
        if (r->nev > 1)
            qsort(r->ev, r->nev, sizeof *r->ev, cmp_event);
        if (r->nal > 1)
            qsort(r->al, r->nal, sizeof *r->al, cmp_alarm);
        r->pub.name = r->name;
        r->pub.file = r->file;
        r->pub.subject = r->subject;
        r->pub.duration_from = r->duration_from;
        r->pub.events = r->ev;
        r->pub.n_events = r->nev;
        r->pub.alarms = r->al;
        r->pub.n_alarms = r->nal;
    }
    return a;
}

struct ictal_annot *ictal_annot_read(const char *path, const struct ictal_annot_options *opt,
                                     struct ictal_error *err)
{
    ictal_error_clear(err);
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        ictal_error_set(err, e == ENOENT ? ICTAL_ENOENT : ICTAL_EIO, "%s: cannot open: %s", path,
                        strerror(e));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    int rc = buf ? 0 : ICTAL_ENOMEM;
    while (rc == 0) {
        if (len == cap) {
            if (cap >= ICTAL_ANNOT_MAX_BYTES) {
                rc = ICTAL_ERANGE;
                break;
            }
            cap *= 2;
            char *b = realloc(buf, cap);
            if (!b) {
                rc = ICTAL_ENOMEM;
                break;
            }
            buf = b;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                rc = ICTAL_EIO;
            break;
        }
    }
    int e = errno;
    fclose(f);
    if (rc < 0) {
        free(buf);
        if (rc == ICTAL_ERANGE)
            ictal_error_set(err, rc, "%s: larger than %u MiB: not an annotation file", path,
                            ICTAL_ANNOT_MAX_BYTES >> 20);
        else if (rc == ICTAL_EIO)
            ictal_error_set(err, rc, "%s: read error: %s", path, strerror(e));
        else
            ictal_error_set(err, rc, "out of memory");
        return NULL;
    }
    struct ictal_annot *a = ictal_annot_parse(path, buf, len, opt, err);
    free(buf);
    return a;
}

enum ictal_annot_format ictal_annot_get_format(const struct ictal_annot *a)
{
    return a ? a->fmt : ICTAL_ANNOT_AUTO;
}

size_t ictal_annot_count(const struct ictal_annot *a)
{
    return a ? a->n : 0;
}

const struct ictal_annot_recording *ictal_annot_recording(const struct ictal_annot *a, size_t i)
{
    return a && i < a->n ? &a->recs[i].pub : NULL;
}

const struct ictal_annot_recording *ictal_annot_find(const struct ictal_annot *a,
                                                     const char *name)
{
    if (!a || !name)
        return NULL;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->recs[i].name, name) == 0)
            return &a->recs[i].pub;
    return NULL;
}

size_t ictal_annot_warning_count(const struct ictal_annot *a)
{
    return a ? a->nwarn : 0;
}

const char *ictal_annot_warning(const struct ictal_annot *a, size_t i)
{
    return a && i < a->nwarn ? a->warn[i] : NULL;
}

static const char *const format_names[] = { "auto", "csv_bi", "tsv", "chbmit", "siena", "jsonl" };

const char *ictal_annot_format_name(enum ictal_annot_format f)
{
    return (unsigned)f < sizeof format_names / sizeof format_names[0] ? format_names[f] : "unknown";
}

int ictal_annot_format_from_name(const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++)
        if (strcasecmp(name, format_names[i]) == 0)
            return (int)i;
    return -1;
}
