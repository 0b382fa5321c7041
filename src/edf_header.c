/*
 * edf_header.c — bounds-checked parsing and diagnosis of EDF/EDF+/BDF headers.
 *
 * Layout (EDF spec, all fields space-padded ASCII):
 *   fixed part, 256 bytes: version 8 | patient 80 | recording 80 | startdate 8 |
 *   starttime 8 | header bytes 8 | reserved 44 | records 8 | record duration 8 |
 *   ns 4
 *   then ns * 256 bytes, field by field for all signals: label 16 |
 *   transducer 80 | unit 8 | phys min 8 | phys max 8 | dig min 8 | dig max 8 |
 *   prefilter 80 | samples per record 8 | reserved 32
 * The file must then hold exactly records * record_bytes bytes of data.
 */
#include "edf_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIXED_BYTES 256
/* EDFlib 1.23's data record size limits. */
#define EDF_MAX_RECORD_BYTES (10LL * 1024 * 1024)
#define BDF_MAX_RECORD_BYTES (15LL * 1024 * 1024)

struct ctx {
    const char *path;
    const unsigned char *buf; /* header bytes read so far */
    size_t len;
    struct ictal_error *err;
};

void ictal_edf_header_free(struct ictal_edf_header *h)
{
    if (!h)
        return;
    free(h->sig);
    h->sig = NULL;
}

int ictal_edf_parse_double(const char *s, double *out)
{
    const char *p = s;
    int neg = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    double mant = 0.0;
    int digits = 0, frac = 0;
    while (*p >= '0' && *p <= '9') {
        mant = mant * 10.0 + (*p++ - '0');
        digits++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            mant = mant * 10.0 + (*p++ - '0');
            frac++;
            digits++;
        }
    }
    if (digits == 0)
        return -1;
    int ex = 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        int eneg = 0;
        if (*p == '+' || *p == '-')
            eneg = *p++ == '-';
        if (!(*p >= '0' && *p <= '9'))
            return -1;
        while (*p >= '0' && *p <= '9') {
            if (ex < 10000)
                ex = ex * 10 + (*p - '0');
            p++;
        }
        if (eneg)
            ex = -ex;
    }
    if (*p != '\0')
        return -1;
    /* Dividing by an exact power of ten keeps "0.1" etc. correctly rounded for
     * the short fields EDF allows (at most 8 digits). */
    int e10 = ex - frac;
    double v = mant;
    if (e10 < 0)
        v = mant / pow(10.0, -e10);
    else if (e10 > 0)
        v = mant * pow(10.0, e10);
    if (!isfinite(v))
        return -1;
    *out = neg ? -v : v;
    return 0;
}

/* Human-readable copy of a field for messages: non-printable bytes as '?'. */
static void show(const unsigned char *f, size_t n, char *dst, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++)
        dst[k++] = (f[i] >= 32 && f[i] <= 126) ? (char)f[i] : '?';
    while (k > 0 && dst[k - 1] == ' ')
        k--;
    dst[k] = '\0';
}

/* What to call a field in messages: "<name>" or "signal N (label) <name>". */
static void where(char *dst, size_t cap, const char *name, long sig, const char *label)
{
    if (sig < 0)
        snprintf(dst, cap, "%s", name);
    else if (label && label[0])
        snprintf(dst, cap, "signal %ld (\"%s\") %s", sig + 1, label, name);
    else
        snprintf(dst, cap, "signal %ld %s", sig + 1, name);
}

/* Printable-ASCII check and trimmed copy of a text field. */
static int text_field(struct ctx *c, size_t off, size_t n, const char *name, long sig,
                      const char *label, char *out, size_t cap)
{
    const unsigned char *f = c->buf + off;
    for (size_t i = 0; i < n; i++) {
        if (f[i] < 32 || f[i] > 126) {
            char w[160], shown[100];
            where(w, sizeof w, name, sig, label);
            show(f, n, shown, sizeof shown);
            return ictal_error_set(c->err, ICTAL_EFORMAT,
                                   "%s: %s contains byte 0x%02x at file offset %zu, which is "
                                   "not printable ASCII (field reads \"%s\")",
                                   c->path, w, f[i], off + i, shown);
        }
    }
    size_t s = 0, e = n;
    while (s < e && f[s] == ' ')
        s++;
    while (e > s && f[e - 1] == ' ')
        e--;
    if (out) {
        size_t k = e - s < cap - 1 ? e - s : cap - 1;
        memcpy(out, f + s, k);
        out[k] = '\0';
    }
    return 0;
}

/* A numeric field, trimmed into tmp; an empty field is an error. */
static int num_text(struct ctx *c, size_t off, size_t n, const char *name, long sig,
                    const char *label, char *tmp, size_t cap)
{
    int rc = text_field(c, off, n, name, sig, label, tmp, cap);
    if (rc)
        return rc;
    if (tmp[0] != '\0' && c->buf[off] == ' ') {
        /* EDF numbers are left-aligned; EDFlib rejects leading spaces. */
        char w[160];
        where(w, sizeof w, name, sig, label);
        return ictal_error_set(c->err, ICTAL_EFORMAT,
                               "%s: %s at file offset %zu (\"%s\") starts with a space; EDF "
                               "numeric fields must be left-aligned",
                               c->path, w, off, tmp);
    }
    if (tmp[0] == '\0') {
        char w[160];
        where(w, sizeof w, name, sig, label);
        return ictal_error_set(c->err, ICTAL_EFORMAT,
                               "%s: %s at file offset %zu is empty (a number is required)",
                               c->path, w, off);
    }
    return 0;
}

static int bad_number(struct ctx *c, size_t off, const char *name, long sig,
                      const char *label, const char *tmp, const char *kind)
{
    char w[160];
    where(w, sizeof w, name, sig, label);
    return ictal_error_set(c->err, ICTAL_EFORMAT,
                           "%s: %s at file offset %zu is \"%s\", not %s", c->path, w, off,
                           tmp, kind);
}

static int int_field(struct ctx *c, size_t off, size_t n, const char *name, long sig,
                     const char *label, long long *out)
{
    char tmp[96];
    int rc = num_text(c, off, n, name, sig, label, tmp, sizeof tmp);
    if (rc)
        return rc;
    const char *p = tmp;
    int neg = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!*p)
        return bad_number(c, off, name, sig, label, tmp, "an integer");
    long long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return bad_number(c, off, name, sig, label, tmp, "an integer");
        v = v * 10 + (*p - '0'); /* at most 80 digits are never parsed: fields are <= 8 */
    }
    *out = neg ? -v : v;
    return 0;
}

static int real_field(struct ctx *c, size_t off, size_t n, const char *name, long sig,
                      const char *label, double *out)
{
    char tmp[96];
    int rc = num_text(c, off, n, name, sig, label, tmp, sizeof tmp);
    if (rc)
        return rc;
    if (ictal_edf_parse_double(tmp, out) != 0)
        return bad_number(c, off, name, sig, label, tmp, "a decimal number");
    return 0;
}

/* "dd.mm.yy" / "hh.mm.ss": two digits, '.', two digits, '.', two digits. */
static int clock_field(struct ctx *c, size_t off, const char *name, const char *form,
                       int lim0, int lim1, int lim2)
{
    const unsigned char *f = c->buf + off;
    int rc = text_field(c, off, 8, name, -1, NULL, NULL, 0);
    if (rc)
        return rc;
    int v[3];
    for (int k = 0; k < 3; k++) {
        unsigned char a = f[3 * k], b = f[3 * k + 1];
        if (a < '0' || a > '9' || b < '0' || b > '9' || (k < 2 && f[3 * k + 2] != '.'))
            goto bad;
        v[k] = (a - '0') * 10 + (b - '0');
    }
    if (v[0] < (lim0 == 31 ? 1 : 0) || v[0] > lim0 || v[1] < (lim1 == 12 ? 1 : 0) ||
        v[1] > lim1 || v[2] > lim2)
        goto bad;
    return 0;
bad:;
    char shown[16];
    show(f, 8, shown, sizeof shown);
    return ictal_error_set(c->err, ICTAL_EFORMAT,
                           "%s: %s at file offset %zu is \"%s\", expected %s", c->path, name,
                           off, shown, form);
}

static int read_all(int fd, unsigned char *dst, size_t n, size_t *got)
{
    size_t k = 0;
    while (k < n) {
        ssize_t r = read(fd, dst + k, n - k);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        k += (size_t)r;
    }
    *got = k;
    return 0;
}

/* "dd-MMM-yyyy" as EDF+ writes dates in the patient/recording fields. */
static int plus_date(const char *p, int *day, int *month, int *year)
{
    static const char *const mon[12] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                        "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
    for (int i = 0; i < 11; i++)
        if (p[i] == '\0')
            return -1;
    if (p[2] != '-' || p[6] != '-' || (p[11] != ' ' && p[11] != '\0'))
        return -1;
    const int dig[6] = {0, 1, 7, 8, 9, 10};
    for (int i = 0; i < 6; i++)
        if (p[dig[i]] < '0' || p[dig[i]] > '9')
            return -1;
    *day = (p[0] - '0') * 10 + (p[1] - '0');
    *year = ((p[7] - '0') * 10 + (p[8] - '0')) * 100 + (p[9] - '0') * 10 + (p[10] - '0');
    *month = 0;
    for (int m = 0; m < 12; m++)
        if (memcmp(p + 3, mon[m], 3) == 0)
            *month = m + 1;
    return (*day >= 1 && *day <= 31 && *month) ? 0 : -1;
}

/* EDF+ subfield rules of the local patient and recording fields (EDF+ spec
 * 2.1.3.3/2.1.3.4, as EDFlib enforces them). Fields were trimmed at parse. */
static int check_plus_fields(struct ctx *c, const struct ictal_edf_header *h)
{
    const char *pt = h->patient;
    const char *sp = strchr(pt, ' ');
    const char *why = NULL;
    if (!sp)
        why = "it has a single subfield";
    else if (sp == pt)
        why = "the first subfield (patient code, or X) is missing";
    else if (!((sp[1] == 'M' || sp[1] == 'F' || sp[1] == 'X') && sp[2] == ' '))
        why = "the second subfield (sex) must be M, F or X";
    else if (sp[3] == 'X' && sp[4] == ' ') {
        if (sp[5] == '\0' || sp[5] == ' ')
            why = "the fourth subfield (patient name, or X) is missing";
    } else {
        int d, m, y;
        if (plus_date(sp + 3, &d, &m, &y) != 0)
            why = "the third subfield (birthdate) must be X or dd-MMM-yyyy";
        else if (sp[14] == '\0' || sp[15] == '\0' || sp[15] == ' ')
            why = "the fourth subfield (patient name, or X) is missing";
    }
    if (why)
        return ictal_error_set(c->err, ICTAL_EFORMAT,
                               "%s: EDF+ local patient field (offset 8) \"%s\": %s; EDF+ needs "
                               "\"code sex birthdate name ...\"",
                               c->path, pt, why);

    const char *rc = h->recording;
    if (strncmp(rc, "Startdate ", 10) != 0)
        why = "it must start with \"Startdate \"";
    else if (rc[10] == 'X' && rc[11] == ' ') {
        if (rc[12] == '\0' || rc[12] == ' ')
            why = "the admin code subfield (or X) is missing";
    } else {
        int d, m, y;
        if (plus_date(rc + 10, &d, &m, &y) != 0)
            why = "the start date subfield must be X or dd-MMM-yyyy";
        else if (rc[21] != ' ' || rc[22] == '\0' || rc[22] == ' ')
            why = "the admin code subfield (or X) is missing";
        else {
            const unsigned char *hd = c->buf + 168; /* dd.mm.yy, already validated */
            int hdd = (hd[0] - '0') * 10 + (hd[1] - '0'), hmm = (hd[3] - '0') * 10 + (hd[4] - '0'),
                hyy = (hd[6] - '0') * 10 + (hd[7] - '0');
            if (y < 1970)
                why = "the start date year is before 1970";
            else if (d != hdd || m != hmm || y % 100 != hyy)
                return ictal_error_set(c->err, ICTAL_EFORMAT,
                                       "%s: EDF+ recording field start date %.11s disagrees "
                                       "with the header start date %.8s (offset 168)",
                                       c->path, rc + 10, (const char *)hd);
        }
    }
    if (why)
        return ictal_error_set(c->err, ICTAL_EFORMAT,
                               "%s: EDF+ local recording field (offset 88) \"%s\": %s", c->path,
                               rc, why);
    return 0;
}

static int check_fixed(struct ctx *c, struct ictal_edf_header *h)
{
    const unsigned char *b = c->buf;
    int rc;
    if (b[0] == 0xFF && memcmp(b + 1, "BIOSEMI", 7) == 0) {
        h->bdf = true;
    } else if (memcmp(b, "0       ", 8) == 0) {
        h->bdf = false;
    } else {
        char shown[16];
        show(b, 8, shown, sizeof shown);
        return ictal_error_set(c->err, ICTAL_EFORMAT,
                               "%s: not an EDF or BDF file: the version field (bytes 0-7) reads "
                               "\"%s\" (first byte 0x%02x); EDF needs \"0\" and BDF 0xFF "
                               "\"BIOSEMI\"",
                               c->path, shown, b[0]);
    }
    if ((rc = text_field(c, 8, 80, "local patient field", -1, NULL, h->patient,
                         sizeof h->patient)) ||
        (rc = text_field(c, 88, 80, "local recording field", -1, NULL, h->recording,
                         sizeof h->recording)) ||
        (rc = clock_field(c, 168, "start date", "dd.mm.yy", 31, 12, 99)) ||
        (rc = clock_field(c, 176, "start time", "hh.mm.ss", 23, 59, 59)) ||
        (rc = text_field(c, 192, 44, "reserved field", -1, NULL, h->reserved,
                         sizeof h->reserved)))
        return rc;

    const char *plus = h->bdf ? "BDF+" : "EDF+";
    if (strncmp(h->reserved, "EDF+D", 5) == 0 || strncmp(h->reserved, "BDF+D", 5) == 0)
        return ictal_error_set(c->err, ICTAL_EUNSUPPORTED,
                               "%s: discontinuous recording (%.5s, reserved field at offset "
                               "192): ictal reads only continuous EDF/EDF+C/BDF/BDF+C files",
                               c->path, h->reserved);
    h->plus = strncmp(h->reserved, plus, 4) == 0 && h->reserved[4] == 'C';
    if (!h->plus && (strncmp(h->reserved, "EDF+", 4) == 0 || strncmp(h->reserved, "BDF+", 4) == 0))
        return ictal_error_set(c->err, ICTAL_EFORMAT,
                               "%s: reserved field at offset 192 reads \"%s\" in a %s file; "
                               "expected \"%sC\" (or no + marker for plain %s)",
                               c->path, h->reserved, h->bdf ? "BDF" : "EDF", plus,
                               h->bdf ? "BDF" : "EDF");

    long long v;
    if ((rc = int_field(c, 252, 4, "number of signals", -1, NULL, &v)))
        return rc;
    if (v == 0)
        return ictal_error_set(c->err, ICTAL_EFORMAT,
                               "%s: zero signals (number-of-signals field at offset 252 is 0)",
                               c->path);
    if (v < 0)
        return ictal_error_set(c->err, ICTAL_EFORMAT,
                               "%s: number of signals at offset 252 is negative (%lld)",
                               c->path, v);
    if (v > ICTAL_EDF_HDR_MAX_SIGNALS)
        return ictal_error_set(c->err, ICTAL_EUNSUPPORTED,
                               "%s: %lld signals; EDFlib reads at most %d", c->path, v,
                               ICTAL_EDF_HDR_MAX_SIGNALS);
    h->ns = (long)v;

    if ((rc = int_field(c, 184, 8, "header size field", -1, NULL, &v)))
        return rc;
    long want = FIXED_BYTES * (h->ns + 1);
    if (v != want)
        return ictal_error_set(c->err, ICTAL_EFORMAT,
                               "%s: header size field at offset 184 says %lld bytes, but %ld "
                               "signals need 256 + %ld * 256 = %ld (signal count and header "
                               "size disagree)",
                               c->path, v, h->ns, h->ns, want);
    h->header_bytes = want;

    if ((rc = int_field(c, 236, 8, "number of data records", -1, NULL, &v)))
        return rc;
    if (v == -1)
        return ictal_error_set(c->err, ICTAL_EFORMAT,
                               "%s: number of data records is -1: the recording was not "
                               "finalised (the writer did not close the file)",
                               c->path);
    if (v < 0)
        return ictal_error_set(c->err, ICTAL_EFORMAT,
                               "%s: number of data records at offset 236 is negative (%lld)",
                               c->path, v);
    if (v == 0)
        return ictal_error_set(c->err, ICTAL_EFORMAT,
                               "%s: number of data records at offset 236 is 0: the file holds "
                               "no data",
                               c->path);
    h->records = v;

    if ((rc = real_field(c, 244, 8, "data record duration", -1, NULL,
                         &h->record_duration_s)))
        return rc;
    if (!(h->record_duration_s > 0.0))
        return ictal_error_set(c->err, ICTAL_EFORMAT,
                               "%s: data record duration at offset 244 is %g s; it must be "
                               "positive for a file with data signals",
                               c->path, h->record_duration_s);
    return 0;
}

static int check_signals(struct ctx *c, struct ictal_edf_header *h)
{
    long ns = h->ns;
    int rc;
    /* Field offsets relative to the start of the signal header. */
    size_t base = FIXED_BYTES;
    size_t o_label = base, o_trans = o_label + 16 * (size_t)ns,
           o_unit = o_trans + 80 * (size_t)ns, o_pmin = o_unit + 8 * (size_t)ns,
           o_pmax = o_pmin + 8 * (size_t)ns, o_dmin = o_pmax + 8 * (size_t)ns,
           o_dmax = o_dmin + 8 * (size_t)ns, o_pref = o_dmax + 8 * (size_t)ns,
           o_spr = o_pref + 80 * (size_t)ns, o_res = o_spr + 8 * (size_t)ns;
    long dlo = h->bdf ? -8388608L : -32768L, dhi = h->bdf ? 8388607L : 32767L;
    const char *annot = h->bdf ? "BDF Annotations " : "EDF Annotations ";
    int64_t rec = 0;

    for (long i = 0; i < ns; i++) {
        struct ictal_edf_hsig *s = &h->sig[i];
        size_t k = (size_t)i;
        if ((rc = text_field(c, o_label + 16 * k, 16, "label", i, NULL, s->label,
                             sizeof s->label)))
            return rc;
        const char *L = s->label;
        long long v;
        if ((rc = text_field(c, o_trans + 80 * k, 80, "transducer", i, L, s->transducer,
                             sizeof s->transducer)) ||
            (rc = text_field(c, o_unit + 8 * k, 8, "physical dimension", i, L, s->unit,
                             sizeof s->unit)) ||
            (rc = real_field(c, o_pmin + 8 * k, 8, "physical minimum", i, L, &s->phys_min)) ||
            (rc = real_field(c, o_pmax + 8 * k, 8, "physical maximum", i, L, &s->phys_max)))
            return rc;
        if ((rc = int_field(c, o_dmin + 8 * k, 8, "digital minimum", i, L, &v)))
            return rc;
        s->dig_min = (long)(v < LONG_MIN / 2 ? LONG_MIN / 2 : v > LONG_MAX / 2 ? LONG_MAX / 2 : v);
        if ((rc = int_field(c, o_dmax + 8 * k, 8, "digital maximum", i, L, &v)))
            return rc;
        s->dig_max = (long)(v < LONG_MIN / 2 ? LONG_MIN / 2 : v > LONG_MAX / 2 ? LONG_MAX / 2 : v);
        if ((rc = text_field(c, o_pref + 80 * k, 80, "prefilter", i, L, s->prefilter,
                             sizeof s->prefilter)))
            return rc;
        if ((rc = int_field(c, o_spr + 8 * k, 8, "samples per data record", i, L, &v)))
            return rc;
        if (v <= 0)
            return ictal_error_set(c->err, ICTAL_EFORMAT,
                                   "%s: signal %ld (\"%s\") samples per data record is %lld at "
                                   "file offset %zu; it must be at least 1",
                                   c->path, i + 1, L, v, o_spr + 8 * k);
        s->spr = (long)v; /* <= 99999999 from an 8-byte field */
        if ((rc = text_field(c, o_res + 32 * k, 32, "reserved field", i, L, NULL, 0)))
            return rc;

        /* EDFlib recognises the annotation signal by all 16 label bytes. */
        s->annotation = h->plus && memcmp(c->buf + o_label + 16 * k, annot, 16) == 0;
        if (s->annotation) {
            h->n_annotation++;
            if (s->transducer[0] != '\0')
                return ictal_error_set(c->err, ICTAL_EFORMAT,
                                       "%s: signal %ld (\"%s\"): an annotation signal must have "
                                       "a blank transducer field, found \"%s\"",
                                       c->path, i + 1, L, s->transducer);
            if (s->dig_min != dlo || s->dig_max != dhi)
                return ictal_error_set(c->err, ICTAL_EFORMAT,
                                       "%s: signal %ld (\"%s\"): an annotation signal must have "
                                       "digital range [%ld, %ld], found [%ld, %ld]",
                                       c->path, i + 1, L, dlo, dhi, s->dig_min, s->dig_max);
        }

        if (s->dig_min >= s->dig_max)
            return ictal_error_set(c->err, ICTAL_EFORMAT,
                                   "%s: signal %ld (\"%s\"): digital minimum %ld >= digital "
                                   "maximum %ld",
                                   c->path, i + 1, L, s->dig_min, s->dig_max);
        if (s->dig_min < dlo || s->dig_max > dhi)
            return ictal_error_set(c->err, ICTAL_ERANGE,
                                   "%s: signal %ld (\"%s\"): digital range [%ld, %ld] exceeds "
                                   "the %s sample range [%ld, %ld]",
                                   c->path, i + 1, L, s->dig_min, s->dig_max,
                                   h->bdf ? "24-bit BDF" : "16-bit EDF", dlo, dhi);
        if (s->phys_min == s->phys_max)
            return ictal_error_set(c->err, ICTAL_EFORMAT,
                                   "%s: signal %ld (\"%s\"): physical minimum equals physical "
                                   "maximum (%g), so no scale can be derived",
                                   c->path, i + 1, L, s->phys_min);
        rec += (int64_t)s->spr * (h->bdf ? 3 : 2); /* ns <= 640, spr < 1e8: no overflow */
    }
    if (h->plus && h->n_annotation == 0)
        return ictal_error_set(c->err, ICTAL_EFORMAT,
                               "%s: %s file without an \"%.15s\" signal", c->path,
                               h->bdf ? "BDF+" : "EDF+", annot);
    if (h->n_annotation == ns)
        return ictal_error_set(c->err, ICTAL_EFORMAT,
                               "%s: no data signals (all %ld signals are annotation signals)",
                               c->path, ns);
    int64_t lim = h->bdf ? BDF_MAX_RECORD_BYTES : EDF_MAX_RECORD_BYTES;
    if (rec > lim)
        return ictal_error_set(c->err, ICTAL_ERANGE,
                               "%s: one data record would be %lld bytes (sum of samples per "
                               "record over %ld signals); the limit is %lld bytes",
                               c->path, (long long)rec, ns, (long long)lim);
    h->record_bytes = rec;
    return 0;
}

int ictal_edf_header_check(const char *path, struct ictal_edf_header *h,
                           struct ictal_error *err)
{
    memset(h, 0, sizeof *h);
    if (!path)
        return ictal_error_set(err, ICTAL_EINVAL, "EDF path is NULL");
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        int e = errno;
        return ictal_error_set(err, e == ENOENT ? ICTAL_ENOENT : ICTAL_EIO,
                               "%s: cannot open: %s", path, strerror(e));
    }
    struct stat st;
    unsigned char *buf = NULL;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = ictal_error_set(err, ICTAL_EIO, "%s: cannot stat: %s", path, strerror(errno));
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = ictal_error_set(err, ICTAL_EINVAL, "%s: is a directory, not an EDF file", path);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = ictal_error_set(err, ICTAL_EINVAL, "%s: not a regular file", path);
        goto out;
    }
    h->file_size = (int64_t)st.st_size;
    if (st.st_size == 0) {
        rc = ictal_error_set(err, ICTAL_EFORMAT, "%s: empty file (0 bytes)", path);
        goto out;
    }
    size_t maxhdr = FIXED_BYTES * (ICTAL_EDF_HDR_MAX_SIGNALS + 1);
    buf = malloc(maxhdr);
    if (!buf) {
        rc = ictal_error_set(err, ICTAL_ENOMEM, "%s: out of memory for the header", path);
        goto out;
    }
    size_t got;
    if (read_all(fd, buf, FIXED_BYTES, &got) != 0) {
        rc = ictal_error_set(err, ICTAL_EIO, "%s: read failed: %s", path, strerror(errno));
        goto out;
    }
    struct ctx c = {path, buf, got, err};
    size_t vn = got < 8 ? got : 8;
    bool edf_like = memcmp(buf, "0       ", vn) == 0;
    bool bdf_like = buf[0] == 0xFF && (vn < 2 || memcmp(buf + 1, "BIOSEMI", vn - 1) == 0);
    if (!edf_like && !bdf_like) {
        char shown[16];
        show(buf, vn, shown, sizeof shown);
        rc = ictal_error_set(err, ICTAL_EFORMAT,
                             "%s: not an EDF or BDF file: the version field (bytes 0-7) reads "
                             "\"%s\" (first byte 0x%02x); EDF needs \"0\" and BDF 0xFF "
                             "\"BIOSEMI\"",
                             path, shown, buf[0]);
        goto out;
    }
    if (got < FIXED_BYTES) {
        rc = ictal_error_set(err, ICTAL_EFORMAT,
                             "%s: truncated header: the file has %zu bytes, the fixed EDF "
                             "header alone needs 256",
                             path, got);
        goto out;
    }
    if ((rc = check_fixed(&c, h)))
        goto out;
    if (h->file_size < h->header_bytes) {
        rc = ictal_error_set(err, ICTAL_EFORMAT,
                             "%s: truncated signal header: the file has %lld bytes, but the "
                             "header of %ld signals needs %ld",
                             path, (long long)h->file_size, h->ns, h->header_bytes);
        goto out;
    }
    size_t rest = (size_t)h->header_bytes - FIXED_BYTES;
    if (read_all(fd, buf + FIXED_BYTES, rest, &got) != 0 || got != rest) {
        rc = ictal_error_set(err, ICTAL_EIO, "%s: could not read the %ld-byte header", path,
                             h->header_bytes);
        goto out;
    }
    c.len = (size_t)h->header_bytes;
    h->sig = calloc((size_t)h->ns, sizeof *h->sig);
    if (!h->sig) {
        rc = ictal_error_set(err, ICTAL_ENOMEM, "%s: out of memory for %ld signal headers",
                             path, h->ns);
        goto out;
    }
    if ((rc = check_signals(&c, h)))
        goto out;
    if (h->plus && (rc = check_plus_fields(&c, h)))
        goto out;

    int64_t data = h->file_size - h->header_bytes;
    int64_t complete = data / h->record_bytes, extra = data % h->record_bytes;
    if (complete < h->records) {
        rc = ictal_error_set(err, ICTAL_EFORMAT,
                             "%s: truncated data: the header declares %lld data records of "
                             "%lld bytes, but the file holds only %lld complete records "
                             "(%lld bytes of data, expected %lld)",
                             path, (long long)h->records, (long long)h->record_bytes,
                             (long long)complete, (long long)data,
                             (long long)(h->records * h->record_bytes));
        goto out;
    }
    if (complete > h->records || extra != 0) {
        rc = ictal_error_set(err, ICTAL_EFORMAT,
                             "%s: %lld unexpected bytes after the %lld declared data records "
                             "(file size does not match the header)",
                             path, (long long)(data - h->records * h->record_bytes),
                             (long long)h->records);
        goto out;
    }
out:
    free(buf);
    close(fd);
    if (rc)
        ictal_edf_header_free(h);
    return rc;
}
