/*
 * synth_io.c — writing a simulated recording: EDF+ through ictal/edfwrite.h and
 * the ground-truth sidecars (TUH/NEDC CSV_BI and CSV, BIDS/SzCORE events.tsv).
 *
 * Sidecar formats:
 *   CSV_BI / CSV (TUH EEG Seizure Corpus v2): comment header lines
 *     "# version = csv_v1.0.0", "# bname = ...", "# duration = N.NNNN secs",
 *     "#", a column line "channel,start_time,stop_time,label,confidence", then
 *     rows. CSV_BI is bi-class over the whole montage (channel TERM, label
 *     seiz); the CSV has one row per involved channel with the specific label
 *     (fnsz, absz, eyem, musc, chew, elpp, artf).
 *   events.tsv (BIDS with the SzCORE conventions): columns onset, duration,
 *     eventType (sz_foc / sz_gen / bckg), confidence, channels, dateTime,
 *     recordingDuration; a recording without seizures has one bckg row.
 */
#include "ictal/synth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ictal/edfwrite.h"

static double duration_of(const struct ictal_synth *s)
{
    return (double)ictal_synth_total_samples(s) / ictal_synth_rate(s);
}

static const char *bname(const struct ictal_synth_output *o)
{
    return o->recording && o->recording[0] ? o->recording : "synth";
}

static int write_csv(const struct ictal_synth *s, const struct ictal_synth_output *o,
                     const char *path, int bi, struct ictal_error *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return ictal_error_set(err, ICTAL_EIO, "%s: cannot create: %s", path, strerror(errno));
    fprintf(f, "# version = csv_v1.0.0\n# bname = %s\n# duration = %.4f secs\n#\n",
            bname(o), duration_of(s));
    fprintf(f, "channel,start_time,stop_time,label,confidence\n");
    const struct ictal_synth_event *ev = ictal_synth_events(s);
    size_t n = ictal_synth_event_count(s);
    int nch = ictal_synth_channels(s);
    if (bi) {
        for (size_t i = 0; i < n; i++)
            if (ictal_synth_kind_is_seizure(ev[i].kind))
                fprintf(f, "TERM,%.4f,%.4f,seiz,1.0000\n", ev[i].onset_s,
                        ev[i].onset_s + ev[i].duration_s);
    } else {
        /* per channel, in montage order, events in time order within it */
        for (int c = 0; c < nch; c++)
            for (size_t i = 0; i < n; i++) {
                if (ev[i].kind >= ICTAL_SYNTH_STATE_DROWSY || !((ev[i].channels >> c) & 1u))
                    continue;
                fprintf(f, "%s,%.4f,%.4f,%s,1.0000\n", ictal_synth_label(s, c), ev[i].onset_s,
                        ev[i].onset_s + ev[i].duration_s, ictal_synth_kind_label(ev[i].kind));
            }
    }
    if (fclose(f) != 0)
        return ictal_error_set(err, ICTAL_EIO, "%s: write failed", path);
    return 0;
}

static void channel_list(const struct ictal_synth *s, uint32_t mask, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int c = 0; c < ictal_synth_channels(s); c++) {
        if (!((mask >> c) & 1u))
            continue;
        int w = snprintf(buf + len, cap - len, "%s%s", len ? "," : "", ictal_synth_label(s, c));
        if (w < 0 || (size_t)w >= cap - len)
            break;
        len += (size_t)w;
    }
    if (len == 0)
        snprintf(buf, cap, "n/a");
}

static int write_tsv(const struct ictal_synth *s, const struct ictal_synth_output *o,
                     struct ictal_error *err)
{
    const char *path = o->tsv_path;
    FILE *f = fopen(path, "w");
    if (!f)
        return ictal_error_set(err, ICTAL_EIO, "%s: cannot create: %s", path, strerror(errno));
    char when[32];
    snprintf(when, sizeof when, "%04d-%02d-%02d %02d:%02d:%02d", o->year, o->month, o->day,
             o->hour, o->minute, o->second);
    fprintf(f, "onset\tduration\teventType\tconfidence\tchannels\tdateTime\trecordingDuration\n");
    const struct ictal_synth_event *ev = ictal_synth_events(s);
    size_t n = ictal_synth_event_count(s);
    int any = 0;
    char chans[23 * 12];
    for (size_t i = 0; i < n; i++) {
        if (!ictal_synth_kind_is_seizure(ev[i].kind))
            continue;
        any = 1;
        channel_list(s, ev[i].channels, chans, sizeof chans);
        fprintf(f, "%.4f\t%.4f\t%s\tn/a\t%s\t%s\t%.4f\n", ev[i].onset_s, ev[i].duration_s,
                ev[i].kind == ICTAL_SYNTH_SEIZURE_ABSENCE ? "sz_gen" : "sz_foc", chans, when,
                duration_of(s));
    }
    if (!any)
        fprintf(f, "%.4f\t%.4f\tbckg\tn/a\tn/a\t%s\t%.4f\n", 0.0, duration_of(s), when,
                duration_of(s));
    if (fclose(f) != 0)
        return ictal_error_set(err, ICTAL_EIO, "%s: write failed", path);
    return 0;
}

/* EDF+ annotation text of an event, e.g.
 * "fnsz focal seizure, onset T7, spreads to 4 electrodes" or
 * "musc muscle on T7-P7". */
static void annotation_text(const struct ictal_synth *s, const struct ictal_synth_event *e,
                            char *buf, size_t cap)
{
    const char *lab = ictal_synth_kind_label(e->kind), *name = ictal_synth_kind_name(e->kind);
    if (e->kind == ICTAL_SYNTH_SEIZURE_FOCAL) {
        snprintf(buf, cap, "%s %s, onset %s%s", lab, name,
                 ictal_synth_electrode_name(e->electrode),
                 e->bilateral ? ", evolving to bilateral" : "");
    } else if (e->kind == ICTAL_SYNTH_STATE_DROWSY || e->kind == ICTAL_SYNTH_STATE_SLEEP) {
        snprintf(buf, cap, "%s", name);
    } else if (e->kind == ICTAL_SYNTH_ART_FLAT || e->kind == ICTAL_SYNTH_ART_CLIP
               || e->kind == ICTAL_SYNTH_ART_POP || e->kind == ICTAL_SYNTH_ART_MAINS) {
        char ch[23 * 12];
        channel_list(s, e->channels, ch, sizeof ch);
        snprintf(buf, cap, "%s %s on %s", lab, name, ch);
    } else {
        snprintf(buf, cap, "%s %s", lab, name);
    }
}

int ictal_synth_write(struct ictal_synth *s, const struct ictal_synth_output *o,
                      struct ictal_error *err)
{
    if (!s || !o)
        return ictal_error_set(err, ICTAL_EINVAL, "synth write: no synth or output");
    int fs = ictal_synth_rate(s);
    int64_t total = ictal_synth_total_samples(s);
    int rc = 0;
    if (o->csv_bi_path && (rc = write_csv(s, o, o->csv_bi_path, 1, err)) < 0)
        return rc;
    if (o->csv_path && (rc = write_csv(s, o, o->csv_path, 0, err)) < 0)
        return rc;
    if (o->tsv_path && (rc = write_tsv(s, o, err)) < 0)
        return rc;
    if (!o->edf_path)
        return 0;
    if (total % fs != 0)
        return ictal_error_set(err, ICTAL_EINVAL,
                               "%s: duration must be whole seconds for EDF (one-second records)",
                               o->edf_path);
    if (ictal_synth_position(s) != 0)
        return ictal_error_set(err, ICTAL_ESTATE, "%s: the synth has already generated samples",
                               o->edf_path);
    int nch = ictal_synth_channels(s);
    const char *labels[ICTAL_SYNTH_CHANNELS_MAX];
    for (int c = 0; c < nch; c++)
        labels[c] = ictal_synth_label(s, c);
    char add[81];
    const struct ictal_synth_profile *pr = ictal_synth_profile(s);
    snprintf(add, sizeof add, "ictal-synth patient %llu", (unsigned long long)pr->seed);
    struct ictal_edfwrite_config wc = {
        .path = o->edf_path, .n_signals = nch, .sample_rate = fs, .labels = labels,
        .phys_dim = "uV", .phys_min = -ICTAL_SYNTH_CLIP_UV - 0.125, .phys_max = ICTAL_SYNTH_CLIP_UV,
        .dig_min = -32768, .dig_max = 32767,
        .prefilter = "none (simulated)", .transducer = "simulated AgAgCl electrode",
        .year = o->year, .month = o->month, .day = o->day,
        .hour = o->hour, .minute = o->minute, .second = o->second,
        .patient_code = o->subject && o->subject[0] ? o->subject : "synthetic",
        .patient_name = "Synthetic_Patient", .patient_additional = add,
        .equipment = "ictal-synth", .recording_additional = "simulated EEG",
        .max_annotations = (int)ictal_synth_event_count(s),
        .expected_records = total / fs,
    };
    struct ictal_edfwrite *w = ictal_edfwrite_create(&wc, err);
    if (!w)
        return err ? err->code : ICTAL_EIO;
    float *buf = malloc((size_t)nch * (size_t)fs * sizeof *buf);
    if (!buf) {
        ictal_edfwrite_close(w, NULL);
        return ictal_error_set(err, ICTAL_ENOMEM, "synth write: out of memory");
    }
    const struct ictal_synth_event *ev = ictal_synth_events(s);
    size_t n = ictal_synth_event_count(s);
    char text[512];
    for (size_t i = 0; i < n && rc == 0; i++) {
        annotation_text(s, &ev[i], text, sizeof text);
        rc = ictal_edfwrite_annotation(w, ev[i].onset_s, ev[i].duration_s, text, err);
    }
    while (rc == 0 && ictal_synth_position(s) < total) {
        size_t got = ictal_synth_generate(s, buf, (size_t)fs, (size_t)fs);
        if (got != (size_t)fs) {
            rc = ictal_error_set(err, ICTAL_ESTATE, "synth write: short generation");
            break;
        }
        rc = ictal_edfwrite_record(w, buf, (size_t)fs, err);
    }
    free(buf);
    int rc2 = ictal_edfwrite_close(w, rc ? NULL : err);
    return rc ? rc : rc2;
}
