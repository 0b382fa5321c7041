/*
 * edfwrite.c — EDF+ writer on EDFlib (Debian libedf-dev).
 */
#include "ictal/edfwrite.h"

#include <stdlib.h>
#include <string.h>

#include <edflib.h>

struct ictal_edfwrite {
    int handle;
    int n_signals;
    int rate;
    double phys_min, phys_max;
    int dig_min, dig_max;
    int max_annotations, n_annotations;
    char *path;
    short *buf; /* (n_signals, rate) digital samples of one record */
};

static int fail(struct ictal_edfwrite *w, struct ictal_error *err, int code, const char *what)
{
    ictal_error_set(err, code, "%s: EDFlib failed to set %s", w->path, what);
    return code;
}

struct ictal_edfwrite *ictal_edfwrite_create(const struct ictal_edfwrite_config *c,
                                             struct ictal_error *err)
{
    if (!c || !c->path || !c->path[0]) {
        ictal_error_set(err, ICTAL_EINVAL, "edfwrite: no output path");
        return NULL;
    }
    if (c->n_signals < 1 || c->n_signals > ICTAL_EDFWRITE_MAX_SIGNALS) {
        ictal_error_set(err, ICTAL_ERANGE, "%s: n_signals %d is out of range 1..%d", c->path,
                        c->n_signals, ICTAL_EDFWRITE_MAX_SIGNALS);
        return NULL;
    }
    if (c->sample_rate < 1 || c->sample_rate > 100000) {
        ictal_error_set(err, ICTAL_ERANGE, "%s: sample_rate %d is out of range", c->path,
                        c->sample_rate);
        return NULL;
    }
    if (!(c->phys_min < c->phys_max) || c->dig_min < -32768 || c->dig_max > 32767
        || c->dig_min >= c->dig_max) {
        ictal_error_set(err, ICTAL_ERANGE,
                        "%s: physical range %g..%g or digital range %d..%d is invalid", c->path,
                        c->phys_min, c->phys_max, c->dig_min, c->dig_max);
        return NULL;
    }
    if (c->year < 1985 || c->year > 2084 || c->month < 1 || c->month > 12 || c->day < 1
        || c->day > 31 || c->hour < 0 || c->hour > 23 || c->minute < 0 || c->minute > 59
        || c->second < 0 || c->second > 59) {
        ictal_error_set(err, ICTAL_ERANGE,
                        "%s: start %04d-%02d-%02d %02d:%02d:%02d is invalid (EDF years 1985..2084)",
                        c->path, c->year, c->month, c->day, c->hour, c->minute, c->second);
        return NULL;
    }
    for (int i = 0; i < c->n_signals; i++) {
        if (!c->labels || !c->labels[i] || strlen(c->labels[i]) > 16) {
            ictal_error_set(err, ICTAL_EINVAL, "%s: label of signal %d is missing or longer "
                            "than 16 characters", c->path, i);
            return NULL;
        }
    }
    struct ictal_edfwrite *w = calloc(1, sizeof *w);
    if (!w) {
        ictal_error_set(err, ICTAL_ENOMEM, "edfwrite: out of memory");
        return NULL;
    }
    w->n_signals = c->n_signals;
    w->rate = c->sample_rate;
    w->phys_min = c->phys_min;
    w->phys_max = c->phys_max;
    w->dig_min = c->dig_min;
    w->dig_max = c->dig_max;
    w->max_annotations = c->max_annotations < 0 ? 0 : c->max_annotations;
    w->path = malloc(strlen(c->path) + 1);
    w->buf = malloc((size_t)c->n_signals * (size_t)c->sample_rate * sizeof *w->buf);
    if (!w->path || !w->buf) {
        free(w->path);
        free(w->buf);
        free(w);
        ictal_error_set(err, ICTAL_ENOMEM, "edfwrite: out of memory");
        return NULL;
    }
    strcpy(w->path, c->path);
    w->handle = edfopen_file_writeonly(c->path, EDFLIB_FILETYPE_EDFPLUS, c->n_signals);
    if (w->handle < 0) {
        ictal_error_set(err, ICTAL_EIO, "%s: cannot open for writing (EDFlib error %d)", c->path,
                        w->handle);
        free(w->path);
        free(w->buf);
        free(w);
        return NULL;
    }
    int rc = 0;
    for (int i = 0; i < c->n_signals && rc == 0; i++) {
        if (edf_set_samplefrequency(w->handle, i, c->sample_rate))
            rc = fail(w, err, ICTAL_EINVAL, "sample frequency");
        else if (edf_set_physical_maximum(w->handle, i, c->phys_max)
                 || edf_set_physical_minimum(w->handle, i, c->phys_min))
            rc = fail(w, err, ICTAL_EINVAL, "physical range");
        else if (edf_set_digital_maximum(w->handle, i, c->dig_max)
                 || edf_set_digital_minimum(w->handle, i, c->dig_min))
            rc = fail(w, err, ICTAL_EINVAL, "digital range");
        else if (edf_set_label(w->handle, i, c->labels[i]))
            rc = fail(w, err, ICTAL_EINVAL, "label");
        else if (edf_set_physical_dimension(w->handle, i, c->phys_dim ? c->phys_dim : "uV"))
            rc = fail(w, err, ICTAL_EINVAL, "physical dimension");
        else if (c->prefilter && edf_set_prefilter(w->handle, i, c->prefilter))
            rc = fail(w, err, ICTAL_EINVAL, "prefilter");
        else if (c->transducer && edf_set_transducer(w->handle, i, c->transducer))
            rc = fail(w, err, ICTAL_EINVAL, "transducer");
    }
    if (rc == 0 && edf_set_startdatetime(w->handle, c->year, c->month, c->day, c->hour,
                                         c->minute, c->second))
        rc = fail(w, err, ICTAL_EINVAL, "start date/time");
    if (rc == 0 && c->patient_code && edf_set_patientcode(w->handle, c->patient_code))
        rc = fail(w, err, ICTAL_EINVAL, "patient code");
    if (rc == 0 && c->patient_name && edf_set_patientname(w->handle, c->patient_name))
        rc = fail(w, err, ICTAL_EINVAL, "patient name");
    if (rc == 0 && c->patient_additional
        && edf_set_patient_additional(w->handle, c->patient_additional))
        rc = fail(w, err, ICTAL_EINVAL, "patient additional");
    if (rc == 0 && c->admincode && edf_set_admincode(w->handle, c->admincode))
        rc = fail(w, err, ICTAL_EINVAL, "admincode");
    if (rc == 0 && c->technician && edf_set_technician(w->handle, c->technician))
        rc = fail(w, err, ICTAL_EINVAL, "technician");
    if (rc == 0 && c->equipment && edf_set_equipment(w->handle, c->equipment))
        rc = fail(w, err, ICTAL_EINVAL, "equipment");
    if (rc == 0 && c->recording_additional
        && edf_set_recording_additional(w->handle, c->recording_additional))
        rc = fail(w, err, ICTAL_EINVAL, "recording additional");
    if (rc == 0) {
        /* EDFlib stores at most one annotation per record and annotation
         * signal: reserve enough signals (1..64) for what will come. */
        int64_t recs = c->expected_records > 0 ? c->expected_records : 1;
        int64_t need = (w->max_annotations + recs - 1) / recs + 1;
        if (need > 64)
            need = 64;
        if (need > 1 && edf_set_number_of_annotation_signals(w->handle, (int)need))
            rc = fail(w, err, ICTAL_EINVAL, "number of annotation signals");
    }
    if (rc) {
        edfclose_file(w->handle);
        free(w->path);
        free(w->buf);
        free(w);
        return NULL;
    }
    return w;
}

int ictal_edfwrite_record(struct ictal_edfwrite *w, const float *phys, size_t stride,
                          struct ictal_error *err)
{
    /* digital = dig_min + (phys - phys_min) * (dig_max - dig_min) / (phys_max - phys_min) */
    double scale = (double)(w->dig_max - w->dig_min) / (w->phys_max - w->phys_min);
    for (int c = 0; c < w->n_signals; c++) {
        const float *src = phys + (size_t)c * stride;
        short *dst = w->buf + (size_t)c * (size_t)w->rate;
        for (int i = 0; i < w->rate; i++) {
            double d = (double)w->dig_min + ((double)src[i] - w->phys_min) * scale;
            d = d >= 0.0 ? d + 0.5 : d - 0.5;
            long v = d != d ? 0 : (d > 40000.0 ? 40000 : (d < -40000.0 ? -40000 : (long)d));
            if (v > w->dig_max)
                v = w->dig_max;
            if (v < w->dig_min)
                v = w->dig_min;
            dst[i] = (short)v;
        }
    }
    if (edf_blockwrite_digital_short_samples(w->handle, w->buf))
        return ictal_error_set(err, ICTAL_EIO, "%s: writing a data record failed", w->path);
    return 0;
}

int ictal_edfwrite_annotation(struct ictal_edfwrite *w, double onset_s, double duration_s,
                              const char *text, struct ictal_error *err)
{
    if (w->n_annotations >= w->max_annotations)
        return ictal_error_set(err, ICTAL_ERANGE, "%s: more than the %d annotations reserved",
                               w->path, w->max_annotations);
    if (!text || strlen(text) > EDFLIB_MAX_ANNOTATION_LEN || !(onset_s >= 0.0))
        return ictal_error_set(err, ICTAL_EINVAL, "%s: annotation text or onset invalid", w->path);
    /* units of 100 µs, rounded */
    long long on = (long long)(onset_s * 10000.0 + 0.5);
    long long du = duration_s < 0.0 ? -1 : (long long)(duration_s * 10000.0 + 0.5);
    if (edfwrite_annotation_utf8(w->handle, on, du, text))
        return ictal_error_set(err, ICTAL_EIO, "%s: adding annotation '%s' failed", w->path, text);
    w->n_annotations++;
    return 0;
}

int ictal_edfwrite_close(struct ictal_edfwrite *w, struct ictal_error *err)
{
    if (!w)
        return 0;
    int rc = 0;
    if (edfclose_file(w->handle))
        rc = ictal_error_set(err, ICTAL_EIO, "%s: closing the file failed", w->path);
    free(w->path);
    free(w->buf);
    free(w);
    return rc;
}
