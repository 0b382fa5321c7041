#include "event_format.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON primitives ------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when the bytes there
 * are not one (overlong forms, surrogates and code points past U+10FFFF are
 * invalid, RFC 3629). p is NUL-terminated, so reading stops at the NUL. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned char b = p[0];
    if (b < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
        n = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 3;
        if (b == 0xe0)
            lo = 0xa0;
        else if (b == 0xed)
            hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 4;
        if (b == 0xf0)
            lo = 0x90;
        else if (b == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

void event_format_json_string(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
            p++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            default: fprintf(f, "\\u%04x", (unsigned)c); break;
            }
            p++;
        } else {
            size_t n = utf8_len(p);
            if (n == 0) {
                fputs("\\ufffd", f); /* not UTF-8: the replacement character */
                p++;
            } else {
                fwrite(p, 1, n, f);
                p += n;
            }
        }
    }
    fputc('"', f);
}

void event_format_json_double(FILE *f, double v)
{
    if (!isfinite(v)) {
        fputs("null", f);
        return;
    }
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, f);
}

void event_format_json_float(FILE *f, float v)
{
    if (!isfinite(v)) {
        fputs("null", f);
        return;
    }
    char buf[40];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v)
            break;
    }
    fputs(buf, f);
}

/* ---- shared pieces ---------------------------------------------------------- */

const char *event_format_hms(double seconds, char *buf, size_t cap)
{
    if (!isfinite(seconds) || seconds < 0 || seconds > 1e12) {
        snprintf(buf, cap, "--:--:--.---");
        return buf;
    }
    long long ms = llround(seconds * 1000.0);
    snprintf(buf, cap, "%02lld:%02lld:%02lld.%03lld", ms / 3600000, ms / 60000 % 60,
             ms / 1000 % 60, ms % 1000);
    return buf;
}

static const char *label_of(const struct event_format_ctx *ctx, int c, char *tmp, size_t cap)
{
    if (ctx && ctx->labels && c < ctx->n_labels && ctx->labels[c])
        return ctx->labels[c];
    snprintf(tmp, cap, "ch%d", c + 1);
    return tmp;
}

const char *event_format_channels(const struct ictal_event *ev, const struct event_format_ctx *ctx,
                                  const char *sep, int max, char *buf, size_t cap)
{
    size_t len = 0;
    int named = 0, rest = 0;
    buf[0] = '\0';
    for (int c = 0; c < ev->n_channels && c < ICTAL_EVENT_MAX_CHANNELS; c++) {
        if (!ictal_event_has_channel(ev, c))
            continue;
        if (max > 0 && named >= max) {
            rest++;
            continue;
        }
        char tmp[24];
        int w = snprintf(buf + len, cap - len, "%s%s", named ? sep : "",
                         label_of(ctx, c, tmp, sizeof tmp));
        if (w < 0 || (size_t)w >= cap - len) {
            buf[len] = '\0';
            rest++;
            max = named > 0 ? named : 1; /* out of room: count the others */
            continue;
        }
        len += (size_t)w;
        named++;
    }
    if (rest > 0 && len + 16 < cap)
        snprintf(buf + len, cap - len, "%s+%d", named ? sep : "", rest);
    return buf;
}

/* "mean", "peak", "p90" */
static const char *method_text(const struct ictal_event *ev, char *buf, size_t cap)
{
    if (ev->method == ICTAL_CONFIDENCE_PERCENTILE)
        snprintf(buf, cap, "p%g", (double)ev->percentile);
    else
        snprintf(buf, cap, "%s", ictal_confidence_name(ev->method));
    return buf;
}

static const char *kind_upper(enum ictal_event_kind k)
{
    switch (k) {
    case ICTAL_EVENT_ALARM: return "ALARM";
    case ICTAL_EVENT_CANCEL: return "CANCEL";
    case ICTAL_EVENT_FINAL: return "FINAL";
    }
    return "RECORD";
}

static const char *kind_lower(enum ictal_event_kind k)
{
    const char *s = ictal_event_kind_name(k);
    return s ? s : "unknown";
}

/* ---- console ------------------------------------------------------------------ */

int event_format_console(FILE *f, const struct ictal_event *ev, const struct event_format_ctx *ctx)
{
    char id[48], t0[32], t1[32], at[32], m[16], ch[1024], fl[256];
    if (ev->kind == ICTAL_EVENT_FINAL &&
        (ev->segment > 1 || (ev->flags & ICTAL_EVENT_SEGMENTED)))
        snprintf(id, sizeof id, "#%llu.%d", (unsigned long long)ev->id, (int)ev->segment);
    else
        snprintf(id, sizeof id, "#%llu", (unsigned long long)ev->id);
    event_format_hms(ev->start_s, t0, sizeof t0);
    event_format_hms(ev->end_s, t1, sizeof t1);
    event_format_hms(ev->emit_s, at, sizeof at);
    method_text(ev, m, sizeof m);
    int maxc = ctx && ctx->max_console_channels > 0 ? ctx->max_console_channels : 8;
    event_format_channels(ev, ctx, ",", maxc, ch, sizeof ch);

    int w;
    if (ev->kind == ICTAL_EVENT_ALARM)
        w = fprintf(f, "%-6s %-7s onset %s (%.3f s)  conf %.3f (%s so far)  peak %.3f",
                    kind_upper(ev->kind), id, t0, ev->start_s, (double)ev->confidence, m,
                    (double)ev->peak);
    else
        w = fprintf(f, "%-6s %-7s %s-%s (%.3f-%.3f s, %.3f s)  conf %.3f (%s)  peak %.3f",
                    kind_upper(ev->kind), id, t0, t1, ev->start_s, ev->end_s,
                    ev->end_s - ev->start_s, (double)ev->confidence, m, (double)ev->peak);
    if (w < 0)
        return -1;
    fprintf(f, "  ch %s  at %s", ch[0] ? ch : "-", at);
    ictal_event_flags_string(ev->flags, fl, sizeof fl);
    if (fl[0]) {
        fputs("  [", f);
        for (const char *p = fl; *p; p++)
            if (*p == '|')
                fputs(", ", f);
            else
                fputc(*p, f);
        fputc(']', f);
    }
    return fputc('\n', f) == EOF ? -1 : 0;
}

/* ---- JSON Lines --------------------------------------------------------------- */

int event_format_jsonl(FILE *f, const struct ictal_event *ev, const struct event_format_ctx *ctx)
{
    fputc('{', f);
    if (ctx && ctx->file) {
        fputs("\"file\":", f);
        event_format_json_string(f, ctx->file);
        fputc(',', f);
    }
    if (ctx && ctx->source) {
        fputs("\"source\":", f);
        event_format_json_string(f, ctx->source);
        fputc(',', f);
    }
    if (ctx && ctx->stream) {
        fputs("\"stream\":", f);
        event_format_json_string(f, ctx->stream);
        fputc(',', f);
    }
    fputs("\"kind\":", f);
    event_format_json_string(f, kind_lower(ev->kind));
    fprintf(f, ",\"id\":%llu,\"segment\":%d", (unsigned long long)ev->id, (int)ev->segment);
    fprintf(f, ",\"start_frame\":%lld,\"end_frame\":%lld,\"emit_frame\":%lld",
            (long long)ev->start_frame, (long long)ev->end_frame, (long long)ev->emit_frame);
    fprintf(f, ",\"start_sample\":%lld,\"end_sample\":%lld,\"emit_sample\":%lld",
            (long long)ev->start_sample, (long long)ev->end_sample, (long long)ev->emit_sample);
    fputs(",\"start_s\":", f);
    event_format_json_double(f, ev->start_s);
    fputs(",\"end_s\":", f);
    event_format_json_double(f, ev->end_s);
    fputs(",\"emit_s\":", f);
    event_format_json_double(f, ev->emit_s);
    fputs(",\"duration_s\":", f);
    event_format_json_double(f, ev->end_s - ev->start_s);
    fputs(",\"confidence\":", f);
    event_format_json_float(f, ev->confidence);
    fputs(",\"method\":", f);
    const char *mname = ictal_confidence_name(ev->method);
    event_format_json_string(f, mname ? mname : "unknown");
    fputs(",\"percentile\":", f);
    event_format_json_float(f, ev->percentile);
    fputs(",\"peak\":", f);
    event_format_json_float(f, ev->peak);
    fputs(",\"channels\":[", f);
    int k = 0;
    for (int c = 0; c < ev->n_channels && c < ICTAL_EVENT_MAX_CHANNELS; c++) {
        if (!ictal_event_has_channel(ev, c))
            continue;
        char tmp[24];
        if (k++)
            fputc(',', f);
        event_format_json_string(f, label_of(ctx, c, tmp, sizeof tmp));
    }
    fputs("],\"flags\":[", f);
    char fl[256];
    ictal_event_flags_string(ev->flags, fl, sizeof fl);
    k = 0;
    for (char *p = fl; *p;) {
        size_t n = strcspn(p, "|");
        char save = p[n];
        p[n] = '\0';
        if (k++)
            fputc(',', f);
        event_format_json_string(f, p);
        p[n] = save;
        p += n + (save ? 1 : 0);
    }
    fputs("]}\n", f);
    return ferror(f) ? -1 : 0;
}

/* ---- CSV_BI ------------------------------------------------------------------- */

int event_format_csv_bi_header(FILE *f, const char *bname, double duration_s)
{
    /* the layout of src/synth_io.c's ground-truth sidecars */
    fprintf(f, "# version = csv_v1.0.0\n# bname = %s\n# duration = %.4f secs\n#\n",
            bname && bname[0] ? bname : "unknown", duration_s);
    fprintf(f, "channel,start_time,stop_time,label,confidence\n");
    return ferror(f) ? -1 : 0;
}

int event_format_csv_bi_row(FILE *f, const struct ictal_event *ev)
{
    if (ev->kind != ICTAL_EVENT_FINAL)
        return 0;
    double conf = isfinite(ev->confidence) ? (double)ev->confidence : 0.0;
    return fprintf(f, "TERM,%.4f,%.4f,seiz,%.4f\n", ev->start_s, ev->end_s, conf) < 0 ? -1 : 0;
}

static int by_start(const void *a, const void *b)
{
    const struct ictal_event *x = *(const struct ictal_event *const *)a;
    const struct ictal_event *y = *(const struct ictal_event *const *)b;
    if (x->start_s != y->start_s)
        return x->start_s < y->start_s ? -1 : 1;
    if (x->end_s != y->end_s)
        return x->end_s < y->end_s ? -1 : 1;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->segment < y->segment ? -1 : x->segment > y->segment;
}

int event_format_csv_bi(FILE *f, const char *bname, double duration_s,
                        const struct ictal_event *evs, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += evs[i].kind == ICTAL_EVENT_FINAL;
    const struct ictal_event **v = malloc((k ? k : 1) * sizeof *v);
    if (!v)
        return -1;
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (evs[i].kind == ICTAL_EVENT_FINAL)
            v[k++] = &evs[i];
    qsort(v, k, sizeof *v, by_start);
    int rc = event_format_csv_bi_header(f, bname, duration_s);
    for (size_t i = 0; i < k && rc == 0; i++)
        rc = event_format_csv_bi_row(f, v[i]);
    free(v);
    return rc;
}

const char *event_format_bname(const char *path, char *buf, size_t cap)
{
    const char *b = path ? strrchr(path, '/') : NULL;
    b = b ? b + 1 : (path ? path : "");
    size_t n = strlen(b);
    const char *dot = strrchr(b, '.');
    if (dot && dot != b)
        n = (size_t)(dot - b);
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, b, n);
    buf[n] = '\0';
    return buf;
}
