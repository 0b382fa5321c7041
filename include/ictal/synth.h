/*
 * ictal/synth.h — a realistic synthetic EEG generator with labelled seizures
 * and artifacts (the engine behind `ictal-synth`).
 *
 * One set of scalp electrode potentials (21 sites of the 10–20 system plus
 * FT9/FT10) is simulated and read out through a montage: referential (19
 * channels against a linked-ears-like reference) or the CHB-MIT bipolar double
 * banana (23 channels, CHB-MIT labels and order). Potentials are built from:
 *   - background: spatially correlated 1/f-like activity, a posterior alpha
 *     rhythm that waxes and wanes, drowsy (theta) and light-sleep (delta,
 *     spindles) stretches, per-channel amplifier noise;
 *   - seizures from the Wendling et al. (2002) neural mass model driven along
 *     parameter trajectories: pre-ictal spikes, low-voltage fast onset,
 *     rhythmic discharge that slows and grows, abrupt end, post-ictal
 *     suppression; focal onset with spread to neighbouring electrodes, or
 *     generalised ~3 Hz spike-and-wave absences;
 *   - artifacts: blinks, eye movements, muscle, chewing, electrode pops, mains
 *     hum, movement, flat channels, clipping.
 * Everything that happens is decided at creation (the event list) and is
 * available as ground truth before a single sample is generated.
 *
 * Determinism: the output is a pure function of the configuration. Same
 * configuration, same samples, bit for bit, on any IEEE-754 machine, and for
 * any split of the generation into calls of any sizes.
 *
 * Threads: an object is used by one thread at a time; distinct objects are
 * independent.
 */
#ifndef ICTAL_SYNTH_H
#define ICTAL_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "ictal/error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ictal_synth_montage {
    ICTAL_SYNTH_MONTAGE_CHBMIT = 0,      /* 23 bipolar channels, CHB-MIT order */
    ICTAL_SYNTH_MONTAGE_REFERENTIAL = 1  /* 19 channels "FP1-REF" ... */
};

enum ictal_synth_seizure_type {
    ICTAL_SYNTH_SZ_PROFILE = 0, /* let the patient profile decide */
    ICTAL_SYNTH_SZ_FOCAL = 1,   /* focal onset, spreads to neighbours */
    ICTAL_SYNTH_SZ_ABSENCE = 2  /* generalised ~3 Hz spike-and-wave */
};

/* Kinds of ground-truth events. */
enum ictal_synth_kind {
    ICTAL_SYNTH_SEIZURE_FOCAL = 0,
    ICTAL_SYNTH_SEIZURE_ABSENCE,
    ICTAL_SYNTH_ART_BLINK,     /* eye blink: frontal, positive, 200-400 ms */
    ICTAL_SYNTH_ART_EYEMOVE,   /* lateral eye movement: F7/F8 opposite polarity */
    ICTAL_SYNTH_ART_MUSCLE,    /* temporal muscle, 20-70 Hz bursts */
    ICTAL_SYNTH_ART_CHEW,      /* rhythmic muscle bursts ~1.5 Hz, bitemporal */
    ICTAL_SYNTH_ART_POP,       /* electrode pop: one electrode, step + decay */
    ICTAL_SYNTH_ART_MAINS,     /* mains hum burst (impedance rise) */
    ICTAL_SYNTH_ART_MOVEMENT,  /* large slow swings on all channels + muscle */
    ICTAL_SYNTH_ART_FLAT,      /* a channel reads flat (disconnected) */
    ICTAL_SYNTH_ART_CLIP,      /* a channel saturates the amplifier */
    ICTAL_SYNTH_STATE_DROWSY,  /* vigilance state stretches (annotated too) */
    ICTAL_SYNTH_STATE_SLEEP,
    ICTAL_SYNTH_KIND_COUNT
};

/* Bit for kind k in ictal_synth_config.artifacts. */
#define ICTAL_SYNTH_ARTBIT(k) (1u << (unsigned)(k))
/* All artifact kinds. */
#define ICTAL_SYNTH_ART_ALL 0x7fcu

/* Limits the configuration is checked against. */
#define ICTAL_SYNTH_RATE_MIN 128
#define ICTAL_SYNTH_RATE_MAX 2048
#define ICTAL_SYNTH_DURATION_MAX 86400.0
#define ICTAL_SYNTH_SEIZURES_MAX 1000
#define ICTAL_SYNTH_ELECTRODES 21
#define ICTAL_SYNTH_CHANNELS_MAX 23

/* A patient: what a seed fixes about a person's seizures, as real patients
 * have stereotyped seizures. Derived from the patient seed alone. */
struct ictal_synth_profile {
    uint64_t seed;
    int seizure_type;         /* ICTAL_SYNTH_SZ_FOCAL or _ABSENCE */
    int focus;                /* onset electrode index (focal) */
    int n_involved;           /* electrodes recruited by a focal seizure */
    double spread_s;          /* delay to recruit a neighbour ~one spacing away */
    double bilateral_prob;    /* chance a focal seizure spreads to all electrodes */
    double median_duration_s; /* seizure durations are log-uniform around it */
    double amplitude_uv;      /* peak seizure amplitude at the focus */
    double preictal_s;        /* pre-ictal spiking before onset (0 = none) */
    double alpha_hz;          /* posterior dominant rhythm */
    double mains_hz;          /* 50 or 60, where the patient was recorded */
};

/* Fill *p from a patient seed. RT-safe: yes. */
void ictal_synth_profile_from_seed(uint64_t seed, struct ictal_synth_profile *p);

struct ictal_synth_config {
    uint64_t seed;            /* recording seed: event times, noise */
    uint64_t patient;         /* patient seed (profile); 0 = same as seed */
    double duration_s;        /* (0, ICTAL_SYNTH_DURATION_MAX] */
    int sample_rate;          /* Hz, ICTAL_SYNTH_RATE_MIN..MAX */
    int montage;              /* enum ictal_synth_montage */
    int n_seizures;           /* 0..ICTAL_SYNTH_SEIZURES_MAX; placed so they fit */
    int seizure_type;         /* enum ictal_synth_seizure_type */
    double seizure_min_s;     /* seizure duration bounds; 0 = from the profile */
    double seizure_max_s;
    double artifact_rate;     /* artifacts per minute (0 = none) */
    unsigned artifacts;       /* ICTAL_SYNTH_ARTBIT mask of kinds to draw from */
    double mains_hz;          /* 0 = profile's; else 50 or 60 */
    double mains_uv;          /* continuous hum amplitude in µV (0 = none) */
    int sleep;                /* nonzero: drowsy/sleep stretches are allowed */
};

/* Defaults: seed 1, patient 0, 1 h, 256 Hz, CHB-MIT montage, 1 seizure
 * (profile type and durations), 1 artifact/min of all kinds, no continuous
 * hum, sleep allowed. RT-safe: yes. */
void ictal_synth_config_default(struct ictal_synth_config *cfg);

/* One ground-truth event. Times in seconds from the start of the recording;
 * sample-exact (onset * rate is an integer). */
struct ictal_synth_event {
    int kind;                 /* enum ictal_synth_kind */
    double onset_s;
    double duration_s;
    uint32_t channels;        /* bit c: output channel c involved */
    int electrode;            /* focus / affected electrode, or -1 */
    int bilateral;            /* focal seizure that spread to all electrodes */
};

struct ictal_synth;

/* Check cfg, plan the whole recording (states, seizures, artifacts) and
 * allocate everything generation needs. Returns NULL with *err filled (the
 * message names the offending field and value). RT-safe: no. */
struct ictal_synth *ictal_synth_create(const struct ictal_synth_config *cfg,
                                       struct ictal_error *err);

/* Free everything. s may be NULL. RT-safe: no. */
void ictal_synth_destroy(struct ictal_synth *s);

/* Output channels of the montage, and the label of channel c (CHB-MIT labels
 * such as "FP1-F7", or "FP1-REF"; NULL when c is out of range). RT-safe: yes. */
int ictal_synth_channels(const struct ictal_synth *s);
const char *ictal_synth_label(const struct ictal_synth *s, int c);

/* Sample rate (Hz). RT-safe: yes. */
int ictal_synth_rate(const struct ictal_synth *s);

/* Total samples per channel (duration * rate) and samples generated so far. */
int64_t ictal_synth_total_samples(const struct ictal_synth *s);
int64_t ictal_synth_position(const struct ictal_synth *s);

/* The patient profile in use. Never NULL. */
const struct ictal_synth_profile *ictal_synth_profile(const struct ictal_synth *s);

/* The ground-truth events, sorted by onset (seizures, artifacts and vigilance
 * states together). The pointer stays valid until destroy. RT-safe: yes. */
size_t ictal_synth_event_count(const struct ictal_synth *s);
const struct ictal_synth_event *ictal_synth_events(const struct ictal_synth *s);

/* Short TUH-style label of a kind ("fnsz", "absz", "eyem", "musc", "chew",
 * "elpp", "artf", ...) and a human description ("eye blink"). Never NULL. */
const char *ictal_synth_kind_label(int kind);
const char *ictal_synth_kind_name(int kind);
/* Nonzero for the seizure kinds. */
int ictal_synth_kind_is_seizure(int kind);

/* Generate the next n samples of every channel into out, channel-major:
 * out[c * stride + i] for channel c, sample i < n (stride >= n). Returns the
 * number generated (less than n only at the end of the recording; 0 after).
 * Any split into calls gives the same samples. Values are µV, already clipped
 * to ±ICTAL_SYNTH_CLIP_UV where the amplifier saturates.
 * RT-safe: yes (no allocation, no I/O). */
size_t ictal_synth_generate(struct ictal_synth *s, float *out, size_t stride, size_t n);

/* Amplifier rail: the EDF files are 16-bit at exactly 0.125 µV per step,
 * physical range -4096 .. +4095.875 µV (both exact in binary and in the
 * 8-character EDF header fields, so no rounding creeps into the scaling). */
#define ICTAL_SYNTH_CLIP_UV 4095.875

/* Where and how ictal_synth_write() writes a recording. Paths left NULL are
 * not written. */
struct ictal_synth_output {
    const char *edf_path;     /* EDF+ file (16-bit, uV, annotations) */
    const char *csv_bi_path;  /* TUH/NEDC CSV_BI: TERM rows, seiz/bckg */
    const char *csv_path;     /* TUH/NEDC CSV: per-channel rows, all labels */
    const char *tsv_path;     /* BIDS/SzCORE events.tsv */
    const char *subject;      /* patient code in the EDF header, e.g. "syn07" */
    const char *recording;    /* basename for the sidecars' bname header */
    /* start date and time (EDF years 1985..2084) */
    int year, month, day, hour, minute, second;
};

/* Generate the whole remaining recording into the files of *o: the EDF+ file
 * gets one-second data records (the duration must be whole seconds) and one
 * annotation per event ("fnsz seizure onset T7 ..."); the sidecars hold the
 * same ground truth. Files are byte-identical for identical configurations.
 * Returns 0 or a negative ICTAL_E* code with *err naming the file.
 * RT-safe: no (allocates, writes files). */
int ictal_synth_write(struct ictal_synth *s, const struct ictal_synth_output *o,
                      struct ictal_error *err);

/* Electrode name of an electrode index (0..ICTAL_SYNTH_ELECTRODES-1), e.g. "T7";
 * NULL out of range. RT-safe: yes. */
const char *ictal_synth_electrode_name(int e);

#ifdef __cplusplus
}
#endif

#endif /* ICTAL_SYNTH_H */
