/*
 * edf.c — EDF/EDF+C/BDF/BDF+C reader: our header validator, then EDFlib.
 *
 * EDFlib keeps global handle tables (see ictal/edf.h): one non-RT thread only.
 * EDFlib keeps one sample position per signal; we set it explicitly before
 * every read, so random and sequential access share one code path and the
 * result of a read never depends on earlier reads (chunk invariance).
 */
#include "ictal/edf.h"

#include <ctype.h>
#include <edflib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edf_internal.h"

/* Doubles EDFlib converts per call; bounds the scratch memory of a reader. */
#define SCRATCH_SAMPLES 4096
/* Longest normalised label we compare; queries beyond it cannot match a
 * 16-character EDF label anyway. */
#define NORM_MAX 64

struct ictal_edf {
    char *path;
    int handle;                       /* EDFlib handle, -1 when closed */
    struct ictal_edf_info info;
    struct ictal_edf_signal *sig;     /* (n_signals) */
    struct ictal_edf_annotation *ann; /* (n_annotations) */
    struct ictal_edf_skipped *skip;   /* (n_skipped), capacity = all file signals */
    size_t n_skipped;
    double stream_rate;
    size_t *sel;                      /* (n_sel) data signal indices */
    size_t *sel_tmp;                  /* (n_signals) built by select, then swapped */
    size_t *cand;                     /* (n_signals) label-match candidates */
    size_t n_sel;
    double sel_rate;
    int64_t sel_length;
    int64_t pos;
    double *scratch;                  /* (SCRATCH_SAMPLES) */
};

static const char *const type_names[] = {"EDF", "EDF+C", "BDF", "BDF+C"};

static int map_edflib_error(const char *path, int code, struct ictal_error *err)
{
    switch (code) {
    case EDFLIB_MALLOC_ERROR:
        return ictal_error_set(err, ICTAL_ENOMEM, "%s: EDFlib ran out of memory", path);
    case EDFLIB_NO_SUCH_FILE_OR_DIRECTORY:
        return ictal_error_set(err, ICTAL_ENOENT, "%s: EDFlib could not open the file", path);
    case EDFLIB_FILE_CONTAINS_FORMAT_ERRORS:
        return ictal_error_set(err, ICTAL_EFORMAT,
                               "%s: EDFlib rejected the file as malformed although its header "
                               "passed ictal's checks; the likely cause is the EDF+ annotation "
                               "signal in the data records (time-keeping TALs must advance by "
                               "exactly one record duration per record); EDFbrowser shows details",
                               path);
    case EDFLIB_MAXFILES_REACHED:
        return ictal_error_set(err, ICTAL_EAGAIN,
                               "%s: EDFlib's limit of open files is reached; close a reader",
                               path);
    case EDFLIB_FILE_READ_ERROR:
        return ictal_error_set(err, ICTAL_EIO, "%s: EDFlib read error", path);
    case EDFLIB_FILE_ALREADY_OPENED:
        return ictal_error_set(err, ICTAL_ESTATE,
                               "%s: already open in this process (EDFlib allows one handle "
                               "per file)",
                               path);
    case EDFLIB_FILE_IS_DISCONTINUOUS:
        return ictal_error_set(err, ICTAL_EUNSUPPORTED,
                               "%s: discontinuous recording (EDF+D/BDF+D) is not supported",
                               path);
    case EDFLIB_FILETYPE_ERROR:
        return ictal_error_set(err, ICTAL_EFORMAT, "%s: EDFlib: not an EDF/BDF file", path);
    case EDFLIB_NUMBER_OF_SIGNALS_INVALID:
        return ictal_error_set(err, ICTAL_EFORMAT, "%s: EDFlib: invalid number of signals",
                               path);
    default:
        return ictal_error_set(err, ICTAL_EFORMAT, "%s: EDFlib error %d while opening", path,
                               code);
    }
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
    while (n > 0 && dst[n - 1] == ' ')
        dst[--n] = '\0';
}

/* Format a rate without noise: "256", "0.5", "333.333". */
static void fmt_rate(char *dst, size_t cap, double r)
{
    snprintf(dst, cap, "%.6g", r);
}

static void set_selection_from_tmp(struct ictal_edf *e, size_t n)
{
    size_t *t = e->sel;
    e->sel = e->sel_tmp;
    e->sel_tmp = t;
    e->n_sel = n;
    e->sel_rate = n ? e->sig[e->sel[0]].rate : 0.0;
    int64_t len = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t s = e->sig[e->sel[i]].samples;
        if (i == 0 || s < len)
            len = s;
    }
    e->sel_length = len;
    e->pos = 0;
}

static void select_default(struct ictal_edf *e)
{
    size_t k = 0;
    for (size_t i = 0; i < e->info.n_signals; i++)
        if (e->sig[i].rate == e->stream_rate)
            e->sel_tmp[k++] = i;
    set_selection_from_tmp(e, k);
}

static int fill(struct ictal_edf *e, const struct ictal_edf_header *h,
                const struct edf_hdr_struct *eh, struct ictal_error *err)
{
    struct ictal_edf_info *in = &e->info;
    size_t nd = (size_t)eh->edfsignals;
    if (eh->edfsignals < 0 || (long)nd != h->ns - h->n_annotation)
        return ictal_error_set(err, ICTAL_EFORMAT,
                               "%s: EDFlib reports %d data signals, the header has %ld signals "
                               "of which %ld are annotation signals",
                               e->path, eh->edfsignals, h->ns, h->n_annotation);
    int t = eh->filetype;
    in->type = (enum ictal_edf_type)t;
    in->type_name = (t >= 0 && t <= 3) ? type_names[t] : "?";
    in->year = eh->startdate_year;
    in->month = eh->startdate_month;
    in->day = eh->startdate_day;
    in->hour = eh->starttime_hour;
    in->minute = eh->starttime_minute;
    in->second = eh->starttime_second;
    in->start_subsecond_100ns = eh->starttime_subsecond;
    in->duration_100ns = eh->file_duration;
    in->duration_s = (double)eh->file_duration / (double)ICTAL_EDF_TIME_UNITS_PER_S;
    in->records = eh->datarecords_in_file;
    in->record_duration_100ns = eh->datarecord_duration;
    in->record_duration_s = (double)eh->datarecord_duration / (double)ICTAL_EDF_TIME_UNITS_PER_S;
    copy_str(in->patient, sizeof in->patient, h->patient);
    copy_str(in->recording, sizeof in->recording, h->recording);
    copy_str(in->patient_code, sizeof in->patient_code, eh->patientcode);
    copy_str(in->sex, sizeof in->sex, eh->gender);
    copy_str(in->birthdate, sizeof in->birthdate, eh->birthdate);
    copy_str(in->patient_name, sizeof in->patient_name, eh->patient_name);
    copy_str(in->patient_additional, sizeof in->patient_additional, eh->patient_additional);
    copy_str(in->admin_code, sizeof in->admin_code, eh->admincode);
    copy_str(in->technician, sizeof in->technician, eh->technician);
    copy_str(in->equipment, sizeof in->equipment, eh->equipment);
    copy_str(in->recording_additional, sizeof in->recording_additional,
             eh->recording_additional);
    in->n_signals = nd;

    if (eh->datarecord_duration <= 0)
        return ictal_error_set(err, ICTAL_EFORMAT,
                               "%s: data record duration %.7g s is below EDFlib's 100 ns "
                               "resolution",
                               e->path, h->record_duration_s);

    /* Map EDFlib's data-signal numbering back to header positions. */
    size_t fi = 0;
    for (size_t d = 0; d < nd; d++) {
        while (h->sig[fi].annotation)
            fi++;
        const struct edf_param_struct *p = &eh->signalparam[d];
        struct ictal_edf_signal *s = &e->sig[d];
        copy_str(s->label, sizeof s->label, h->sig[fi].label);
        copy_str(s->unit, sizeof s->unit, p->physdimension);
        copy_str(s->transducer, sizeof s->transducer, p->transducer);
        copy_str(s->prefilter, sizeof s->prefilter, p->prefilter);
        s->samples_per_record = p->smp_in_datarecord;
        /* EDFlib's own formula: sf = spr * 1e7 / record duration (100 ns). */
        s->rate = (double)p->smp_in_datarecord * (double)ICTAL_EDF_TIME_UNITS_PER_S /
                  (double)eh->datarecord_duration;
        s->samples = p->smp_in_file;
        s->phys_min = p->phys_min;
        s->phys_max = p->phys_max;
        s->dig_min = p->dig_min;
        s->dig_max = p->dig_max;
        s->file_index = fi;
        s->index = d;
        fi++;
    }

    /* Stream rate: the rate most data signals share; ties go to the higher. */
    size_t best_count = 0;
    for (size_t i = 0; i < nd; i++) {
        size_t c = 0;
        for (size_t j = 0; j < nd; j++)
            c += e->sig[j].rate == e->sig[i].rate;
        if (c > best_count || (c == best_count && e->sig[i].rate > e->stream_rate)) {
            best_count = c;
            e->stream_rate = e->sig[i].rate;
        }
    }

    /* Skipped signals, in file order. */
    size_t d = 0;
    char r1[24], r2[24];
    fmt_rate(r2, sizeof r2, e->stream_rate);
    for (long i = 0; i < h->ns; i++) {
        struct ictal_edf_skipped *k = &e->skip[e->n_skipped];
        if (h->sig[i].annotation) {
            k->file_index = (size_t)i;
            copy_str(k->label, sizeof k->label, h->sig[i].label);
            snprintf(k->reason, sizeof k->reason, "EDF+ annotation signal (not a data signal)");
            e->n_skipped++;
            continue;
        }
        const struct ictal_edf_signal *s = &e->sig[d++];
        if (s->rate != e->stream_rate) {
            k->file_index = (size_t)i;
            copy_str(k->label, sizeof k->label, s->label);
            fmt_rate(r1, sizeof r1, s->rate);
            snprintf(k->reason, sizeof k->reason, "rate %s Hz differs from the stream rate %s Hz",
                     r1, r2);
            e->n_skipped++;
        }
    }

    for (size_t a = 0; a < e->info.n_annotations; a++) {
        struct edf_annotation_struct ea;
        if (edf_get_annotation(e->handle, (int)a, &ea) != 0)
            return ictal_error_set(err, ICTAL_EFORMAT, "%s: EDFlib could not return annotation %zu",
                                   e->path, a);
        struct ictal_edf_annotation *o = &e->ann[a];
        o->onset_100ns = ea.onset;
        o->onset_s = (double)ea.onset / (double)ICTAL_EDF_TIME_UNITS_PER_S;
        o->has_duration = ea.duration[0] != '\0' && ea.duration_l >= 0;
        o->duration_100ns = o->has_duration ? ea.duration_l : 0;
        o->duration_s = (double)o->duration_100ns / (double)ICTAL_EDF_TIME_UNITS_PER_S;
        size_t n = strnlen(ea.annotation, sizeof ea.annotation - 1);
        if (n >= sizeof o->text)
            n = sizeof o->text - 1;
        memcpy(o->text, ea.annotation, n);
        o->text[n] = '\0';
    }
    select_default(e);
    return 0;
}

struct ictal_edf *ictal_edf_open(const char *path, struct ictal_error *err)
{
    struct ictal_edf_header h;
    if (ictal_edf_header_check(path, &h, err) != 0)
        return NULL;

    struct ictal_edf *e = calloc(1, sizeof *e);
    struct edf_hdr_struct *eh = calloc(1, sizeof *eh); /* ~130 kB: not on the stack */
    int rc = 0;
    if (e)
        e->handle = -1; /* before any exit: _close must not close EDFlib handle 0 */
    if (!e || !eh) {
        ictal_error_set(err, ICTAL_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    size_t plen = strlen(path);
    e->path = malloc(plen + 1);
    if (!e->path) {
        ictal_error_set(err, ICTAL_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    memcpy(e->path, path, plen + 1);

    if (edfopen_file_readonly(path, eh, EDFLIB_READ_ALL_ANNOTATIONS) != 0) {
        map_edflib_error(path, eh->filetype, err);
        goto fail;
    }
    e->handle = eh->handle;
    size_t nd = eh->edfsignals > 0 ? (size_t)eh->edfsignals : 1;
    e->info.n_annotations = eh->annotations_in_file > 0 ? (size_t)eh->annotations_in_file : 0;
    e->sig = calloc(nd, sizeof *e->sig);
    e->skip = calloc((size_t)h.ns, sizeof *e->skip);
    e->sel = calloc(nd, sizeof *e->sel);
    e->sel_tmp = calloc(nd, sizeof *e->sel_tmp);
    e->cand = calloc(nd, sizeof *e->cand);
    e->scratch = malloc(SCRATCH_SAMPLES * sizeof *e->scratch);
    e->ann = calloc(e->info.n_annotations ? e->info.n_annotations : 1, sizeof *e->ann);
    if (!e->sig || !e->skip || !e->sel || !e->sel_tmp || !e->cand || !e->scratch || !e->ann) {
        ictal_error_set(err, ICTAL_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    rc = fill(e, &h, eh, err);
    if (rc)
        goto fail;
    free(eh);
    ictal_edf_header_free(&h);
    ictal_error_clear(err);
    return e;
fail:
    free(eh);
    ictal_edf_header_free(&h);
    ictal_edf_close(e);
    return NULL;
}

void ictal_edf_close(struct ictal_edf *e)
{
    if (!e)
        return;
    if (e->handle >= 0)
        edfclose_file(e->handle);
    free(e->path);
    free(e->sig);
    free(e->ann);
    free(e->skip);
    free(e->sel);
    free(e->sel_tmp);
    free(e->cand);
    free(e->scratch);
    free(e);
}

const struct ictal_edf_info *ictal_edf_info(const struct ictal_edf *e)
{
    return &e->info;
}

const struct ictal_edf_signal *ictal_edf_signal(const struct ictal_edf *e, size_t i)
{
    return i < e->info.n_signals ? &e->sig[i] : NULL;
}

size_t ictal_edf_skipped_count(const struct ictal_edf *e)
{
    return e->n_skipped;
}

const struct ictal_edf_skipped *ictal_edf_skipped(const struct ictal_edf *e, size_t i)
{
    return i < e->n_skipped ? &e->skip[i] : NULL;
}

const struct ictal_edf_annotation *ictal_edf_annotation(const struct ictal_edf *e, size_t i)
{
    return i < e->info.n_annotations ? &e->ann[i] : NULL;
}

double ictal_edf_stream_rate(const struct ictal_edf *e)
{
    return e->stream_rate;
}

/* ---- label matching ---------------------------------------------------- */

/* Uppercase, whitespace removed. Returns -1 when it does not fit. */
static int normalise(const char *s, char *dst)
{
    size_t k = 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isspace(ch))
            continue;
        if (k + 1 >= NORM_MAX)
            return -1;
        dst[k++] = (char)toupper(ch);
    }
    dst[k] = '\0';
    return 0;
}

/* The label without a leading "EEG " type prefix, or NULL when it has none. */
static const char *strip_eeg(const char *s)
{
    while (*s == ' ')
        s++;
    if (toupper((unsigned char)s[0]) == 'E' && toupper((unsigned char)s[1]) == 'E' &&
        toupper((unsigned char)s[2]) == 'G' && s[3] == ' ')
        return s + 3;
    return NULL;
}

static int label_is(const char *label, const char *key, bool strip)
{
    char n[NORM_MAX];
    if (strip) {
        label = strip_eeg(label);
        if (!label)
            return 0;
    }
    return normalise(label, n) == 0 && strcmp(n, key) == 0;
}

/* Collect the data signals matching query q (already without "#k") into out;
 * returns how many. */
static size_t candidates(const struct ictal_edf *e, const char *q, size_t *out)
{
    char key[NORM_MAX];
    size_t n = 0;
    if (normalise(q, key) != 0 || key[0] == '\0')
        return 0;
    for (size_t i = 0; i < e->info.n_signals; i++)
        if (label_is(e->sig[i].label, key, false))
            out[n++] = i;
    if (n)
        return n;
    /* Fallback 1: file label carries an "EEG " prefix. */
    for (size_t i = 0; i < e->info.n_signals; i++)
        if (label_is(e->sig[i].label, key, true))
            out[n++] = i;
    if (n)
        return n;
    /* Fallback 2: the query carries it. */
    const char *qs = strip_eeg(q);
    if (qs && normalise(qs, key) == 0 && key[0]) {
        for (size_t i = 0; i < e->info.n_signals; i++)
            if (label_is(e->sig[i].label, key, false))
                out[n++] = i;
    }
    return n;
}

static void list_labels(const struct ictal_edf *e, char *dst, size_t cap)
{
    size_t k = 0;
    dst[0] = '\0';
    for (size_t i = 0; i < e->info.n_signals && k + 1 < cap; i++) {
        int w = snprintf(dst + k, cap - k, "%s\"%s\"", i ? ", " : "", e->sig[i].label);
        if (w < 0)
            break;
        k += (size_t)w;
    }
}

/* Resolve one query to a data signal index, or fill *err. cand has room for
 * n_signals entries. */
static int resolve(const struct ictal_edf *e, const char *q, size_t *cand, size_t *out,
                   struct ictal_error *err)
{
    char avail[400];
    if (!q)
        return ictal_error_set(err, ICTAL_EINVAL, "%s: channel label is NULL", e->path);
    size_t n = candidates(e, q, cand);
    long k = 0; /* 1-based occurrence from a "#k" suffix, 0 when none */
    char base[NORM_MAX];
    if (n == 0) {
        const char *hash = strrchr(q, '#');
        if (hash && hash[1] && (size_t)(hash - q) < sizeof base) {
            char *end;
            long v = strtol(hash + 1, &end, 10);
            if (*end == '\0' && v >= 1) {
                memcpy(base, q, (size_t)(hash - q));
                base[hash - q] = '\0';
                n = candidates(e, base, cand);
                k = v;
            }
        }
    }
    if (n == 0) {
        list_labels(e, avail, sizeof avail);
        return ictal_error_set(err, ICTAL_ENOENT,
                               "%s: no channel matches label \"%s\"; available: %s", e->path,
                               q, avail);
    }
    if (k > 0) {
        if ((size_t)k > n)
            return ictal_error_set(err, ICTAL_ENOENT,
                                   "%s: label \"%s\": only %zu signal(s) match \"%s\"", e->path,
                                   q, n, base);
        *out = cand[k - 1];
        return 0;
    }
    if (n == 1) {
        *out = cand[0];
        return 0;
    }
    /* Several: true duplicates (same file label) mean the first occurrence. */
    bool same = true;
    for (size_t i = 1; i < n; i++)
        same = same && strcmp(e->sig[cand[i]].label, e->sig[cand[0]].label) == 0;
    if (same) {
        *out = cand[0];
        return 0;
    }
    /* Distinct file labels under one key: an exact (case-sensitive) match
     * decides; otherwise the query is ambiguous. */
    const char *qs = strip_eeg(q);
    while (qs && *qs == ' ')
        qs++;
    for (size_t i = 0; i < n; i++)
        if (strcmp(e->sig[cand[i]].label, q) == 0 ||
            (qs && strcmp(e->sig[cand[i]].label, qs) == 0)) {
            *out = cand[i];
            return 0;
        }
    size_t w = 0;
    avail[0] = '\0';
    for (size_t i = 0; i < n && w + 1 < sizeof avail; i++) {
        int r = snprintf(avail + w, sizeof avail - w, "%s\"%s\" (signal %zu)", i ? ", " : "",
                         e->sig[cand[i]].label, cand[i] + 1);
        if (r < 0)
            break;
        w += (size_t)r;
    }
    return ictal_error_set(err, ICTAL_EINVAL,
                           "%s: label \"%s\" is ambiguous, it matches %zu channels: %s "
                           "(give the exact label, or \"%s#k\" for the k-th)",
                           e->path, q, n, avail, q);
}

int ictal_edf_select(struct ictal_edf *e, const char *const *labels, size_t n,
                     struct ictal_error *err)
{
    if (!e)
        return ictal_error_set(err, ICTAL_EINVAL, "EDF reader is NULL");
    if (n == 0) {
        select_default(e);
        return 0;
    }
    if (!labels)
        return ictal_error_set(err, ICTAL_EINVAL, "%s: labels is NULL with n = %zu", e->path,
                               n);
    if (n > e->info.n_signals)
        return ictal_error_set(err, ICTAL_EINVAL,
                               "%s: %zu channels selected but the file has %zu data signals "
                               "(a channel can be selected once)",
                               e->path, n, e->info.n_signals);
    /* Built in sel_tmp and swapped in only when every label resolved, so a
     * failed select leaves the current selection as it was. */
    for (size_t i = 0; i < n; i++) {
        size_t idx = 0;
        int rc = resolve(e, labels[i], e->cand, &idx, err);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (e->sel_tmp[j] == idx)
                return ictal_error_set(err, ICTAL_EINVAL,
                                       "%s: label \"%s\" selects channel \"%s\" (signal %zu), "
                                       "which is already selected",
                                       e->path, labels[i], e->sig[idx].label, idx + 1);
        const struct ictal_edf_signal *s0 = &e->sig[i ? e->sel_tmp[0] : idx];
        if (e->sig[idx].rate != s0->rate) {
            char a[32], b[32];
            fmt_rate(a, sizeof a, e->sig[idx].rate);
            fmt_rate(b, sizeof b, s0->rate);
            return ictal_error_set(err, ICTAL_EUNSUPPORTED,
                                   "%s: channel \"%s\" is sampled at %s Hz but \"%s\" at %s Hz; a "
                                   "selection must share one rate (rate conversion is the "
                                   "pipeline's job)",
                                   e->path, e->sig[idx].label, a, s0->label, b);
        }
        e->sel_tmp[i] = idx;
    }
    set_selection_from_tmp(e, n);
    return 0;
}

size_t ictal_edf_selected_count(const struct ictal_edf *e)
{
    return e->n_sel;
}

const struct ictal_edf_signal *ictal_edf_selected(const struct ictal_edf *e, size_t i)
{
    return i < e->n_sel ? &e->sig[e->sel[i]] : NULL;
}

double ictal_edf_rate(const struct ictal_edf *e)
{
    return e->sel_rate;
}

int64_t ictal_edf_length(const struct ictal_edf *e)
{
    return e->sel_length;
}

/* ---- reading ----------------------------------------------------------- */

int64_t ictal_edf_read(struct ictal_edf *e, int64_t start, size_t n, float *const *out,
                       struct ictal_error *err)
{
    if (!e)
        return ictal_error_set(err, ICTAL_EINVAL, "EDF reader is NULL");
    if (start < 0)
        return ictal_error_set(err, ICTAL_EINVAL, "%s: read start %lld is negative", e->path,
                               (long long)start);
    if (start > e->sel_length)
        return ictal_error_set(err, ICTAL_ERANGE,
                               "%s: read start %lld is past the end (%lld samples per channel)",
                               e->path, (long long)start, (long long)e->sel_length);
    int64_t avail = e->sel_length - start;
    int64_t want = (uint64_t)n < (uint64_t)avail ? (int64_t)n : avail;
    if (want == 0)
        return 0;
    if (!out)
        return ictal_error_set(err, ICTAL_EINVAL, "%s: output buffer array is NULL", e->path);
    for (size_t c = 0; c < e->n_sel; c++) {
        if (!out[c])
            return ictal_error_set(err, ICTAL_EINVAL, "%s: output buffer %zu is NULL", e->path,
                                   c);
        int d = (int)e->sel[c];
        if (edfseek(e->handle, d, start, EDFSEEK_SET) != start)
            return ictal_error_set(err, ICTAL_EIO, "%s: EDFlib could not seek signal \"%s\" to "
                                   "sample %lld", e->path, e->sig[d].label, (long long)start);
        int64_t done = 0;
        while (done < want) {
            int k = (int)(want - done < SCRATCH_SAMPLES ? want - done : SCRATCH_SAMPLES);
            int r = edfread_physical_samples(e->handle, d, k, e->scratch);
            if (r != k)
                return ictal_error_set(err, ICTAL_EIO,
                                       "%s: EDFlib read %d of %d samples of signal \"%s\" at "
                                       "sample %lld",
                                       e->path, r, k, e->sig[d].label,
                                       (long long)(start + done));
            float *o = out[c] + done;
            for (int i = 0; i < k; i++)
                o[i] = (float)e->scratch[i];
            done += k;
        }
    }
    return want;
}

int64_t ictal_edf_read_next(struct ictal_edf *e, size_t n, float *const *out,
                            struct ictal_error *err)
{
    if (!e)
        return ictal_error_set(err, ICTAL_EINVAL, "EDF reader is NULL");
    int64_t r = ictal_edf_read(e, e->pos, n, out, err);
    if (r > 0)
        e->pos += r;
    return r;
}

int ictal_edf_seek(struct ictal_edf *e, int64_t pos, struct ictal_error *err)
{
    if (!e)
        return ictal_error_set(err, ICTAL_EINVAL, "EDF reader is NULL");
    if (pos < 0 || pos > e->sel_length)
        return ictal_error_set(err, ICTAL_ERANGE,
                               "%s: seek to %lld outside [0, %lld]", e->path, (long long)pos,
                               (long long)e->sel_length);
    e->pos = pos;
    return 0;
}

int64_t ictal_edf_tell(const struct ictal_edf *e)
{
    return e->pos;
}

double ictal_edf_unit_to_uv(const char *unit, bool *known)
{
    bool k = true;
    double g = 1.0;
    if (!unit || strcasecmp(unit, "uV") == 0 || strcmp(unit, "\xc2\xb5V") == 0 ||
        strcmp(unit, "\xb5V") == 0)
        g = 1.0;
    else if (strcasecmp(unit, "mV") == 0)
        g = 1e3;
    else if (strcasecmp(unit, "V") == 0)
        g = 1e6;
    else if (strcasecmp(unit, "nV") == 0)
        g = 1e-3;
    else
        k = false;
    if (known)
        *known = k;
    return g;
}

void ictal_edf_scale(float *x, size_t n, double gain)
{
    if (gain == 1.0)
        return;
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(x[i] * gain);
}
