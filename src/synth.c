/*
 * synth.c — the EEG simulator: planning (profile, vigilance states, seizures,
 * artifacts) at creation, then sample-by-sample generation.
 *
 * Signal model, per sample, on 21 scalp electrode potentials (µV):
 *   pot[e] = supp[e] * (sum_j K[e][j] * pink_j)         spatially correlated 1/f
 *          + alpha/theta/delta/spindle resonators * spatial maps * state weights
 *          + seizure neural masses * spatial kernels * trajectories
 *          + electrode artifacts (blink, eye movement, muscle, chewing, pop,
 *            mains, movement)
 * then the montage (differences of potentials, or potential - reference), the
 * amplifier noise, channel artifacts (flat, clipping) and the ±4096 µV rail.
 * Everything random is drawn sample by sample in a fixed order from seeded
 * streams, so any split of the generation into calls gives the same output.
 */
#include "ictal/synth.h"

#include <stdlib.h>
#include <string.h>
#include <math.h> /* sqrt only: IEEE-754 rounds it exactly */

#include "synth_internal.h"

/* ---- electrodes and montages ------------------------------------------- */

/* 10–20 positions as (colatitude from Cz, azimuth from the nose, + = left),
 * degrees. FT9/FT10 sit just below the temporal chain. */
static const struct {
    const char *name;
    double colat, az;
} ELECTRODES[ICTAL_SYNTH_ELECTRODES] = {
    {"FP1", 72, 18},  {"FP2", 72, -18},  {"F7", 72, 54},   {"F3", 49, 39},
    {"FZ", 36, 0},    {"F4", 49, -39},   {"F8", 72, -54},  {"T7", 72, 90},
    {"C3", 36, 90},   {"CZ", 0, 0},      {"C4", 36, -90},  {"T8", 72, -90},
    {"P7", 72, 126},  {"P3", 49, 141},   {"PZ", 36, 180},  {"P4", 49, -141},
    {"P8", 72, -126}, {"O1", 72, 162},   {"O2", 72, -162}, {"FT9", 100, 72},
    {"FT10", 100, -72},
};
enum { E_FP1, E_FP2, E_F7, E_F3, E_FZ, E_F4, E_F8, E_T7, E_C3, E_CZ, E_C4, E_T8,
       E_P7, E_P3, E_PZ, E_P4, E_P8, E_O1, E_O2, E_FT9, E_FT10 };

/* CHB-MIT double banana, in the order and with the labels of the CHB-MIT
 * summary files (T8-P8 appears twice there, and so it does here). */
static const struct {
    const char *label;
    int a, b;
} CHBMIT[23] = {
    {"FP1-F7", E_FP1, E_F7}, {"F7-T7", E_F7, E_T7},   {"T7-P7", E_T7, E_P7},
    {"P7-O1", E_P7, E_O1},   {"FP1-F3", E_FP1, E_F3}, {"F3-C3", E_F3, E_C3},
    {"C3-P3", E_C3, E_P3},   {"P3-O1", E_P3, E_O1},   {"FP2-F4", E_FP2, E_F4},
    {"F4-C4", E_F4, E_C4},   {"C4-P4", E_C4, E_P4},   {"P4-O2", E_P4, E_O2},
    {"FP2-F8", E_FP2, E_F8}, {"F8-T8", E_F8, E_T8},   {"T8-P8", E_T8, E_P8},
    {"P8-O2", E_P8, E_O2},   {"FZ-CZ", E_FZ, E_CZ},   {"CZ-PZ", E_CZ, E_PZ},
    {"P7-T7", E_P7, E_T7},   {"T7-FT9", E_T7, E_FT9}, {"FT9-FT10", E_FT9, E_FT10},
    {"FT10-T8", E_FT10, E_T8}, {"T8-P8", E_T8, E_P8},
};

/* Referential channels: the 19 standard sites in TUH's naming. */
static const char *const REF_LABELS[19] = {
    "EEG FP1-REF", "EEG FP2-REF", "EEG F7-REF", "EEG F3-REF", "EEG FZ-REF",
    "EEG F4-REF",  "EEG F8-REF",  "EEG T7-REF", "EEG C3-REF", "EEG CZ-REF",
    "EEG C4-REF",  "EEG T8-REF",  "EEG P7-REF", "EEG P3-REF", "EEG PZ-REF",
    "EEG P4-REF",  "EEG P8-REF",  "EEG O1-REF", "EEG O2-REF",
};

/* ---- amplitudes (µV) ------------------------------------------------------ */

#define BG_PINK_UV     19.0  /* spatially mixed 1/f activity, per electrode */
#define ALPHA_UV       16.0  /* posterior alpha at O1/O2, awake */
#define THETA_UV       11.0  /* frontocentral theta, drowsy */
#define DELTA_UV       40.0  /* frontal delta, light sleep */
#define SPINDLE_UV     14.0  /* central spindles */
#define AMP_NOISE_UV    1.2  /* amplifier/electrode noise per channel */
#define REF_WEIGHT      0.15 /* linked-ears reference picks up T7/T8 */
#define N_PINK_POLES    8

/* ---- planning structures --------------------------------------------------- */

#define MAX_PATCHES ICTAL_SYNTH_ELECTRODES
#define WARMUP_S 3.0
#define MAX_ACTIVE 32

struct plan {             /* one event with everything generation needs */
    struct ictal_synth_event ev;
    int64_t on, off;      /* onset/offset sample of the labelled interval */
    int64_t win0, win1;   /* samples during which the event contributes */
    double amp;           /* µV */
    double p1, p2;        /* kind-specific parameters */
    int sign;
    uint32_t emask;       /* electrodes involved */
    uint64_t stream;      /* rng stream of this event */
    /* seizures */
    int n_patch;
    int patch_e[MAX_PATCHES];
    int64_t patch_on[MAX_PATCHES];
    int64_t pre_on;       /* pre-ictal spiking start (== on when none) */
    double post_tau_s;    /* post-ictal suppression time constant */
};

struct evstate {          /* run-time state of an active electrode artifact */
    struct synth_rng rng;
    double lp1[ICTAL_SYNTH_ELECTRODES], lp2[ICTAL_SYNTH_ELECTRODES]; /* muscle band-pass */
    double slow;          /* movement: shared slow swing low-pass state */
    double own[ICTAL_SYNTH_ELECTRODES]; /* movement: each lead's own sway */
    double x, decay;      /* pop: current offset and its per-sample decay */
};

struct resonator {
    double c1, c2, norm;  /* y = c1 y1 - c2 y2 + norm * x: unit variance */
    double y1, y2;
};

struct ictal_synth {
    struct ictal_synth_config cfg;
    struct ictal_synth_profile prof;
    int fs;
    int nch;
    int64_t total, pos;
    const char *labels[ICTAL_SYNTH_CHANNELS_MAX];
    int cha[ICTAL_SYNTH_CHANNELS_MAX], chb[ICTAL_SYNTH_CHANNELS_MAX]; /* chb -1: referential */

    double epos[ICTAL_SYNTH_ELECTRODES][3];
    double dist[ICTAL_SYNTH_ELECTRODES][ICTAL_SYNTH_ELECTRODES];

    /* background */
    struct synth_rng bg_rng, noise_rng, spindle_rng;
    double pink_a[N_PINK_POLES], pink_w[N_PINK_POLES];
    double pink[ICTAL_SYNTH_ELECTRODES][N_PINK_POLES];
    double mix[ICTAL_SYNTH_ELECTRODES][ICTAL_SYNTH_ELECTRODES];
    double map_alpha[2][ICTAL_SYNTH_ELECTRODES], map_theta[ICTAL_SYNTH_ELECTRODES];
    double map_delta[ICTAL_SYNTH_ELECTRODES], map_spindle[ICTAL_SYNTH_ELECTRODES];
    struct resonator alpha[2], theta, delta, spindle;
    double alpha_env, alpha_env_a, alpha_env_norm;
    double w_alpha, w_theta, w_delta, w_spindle, w_smooth; /* smoothed state weights */
    double spindle_t;     /* seconds into the current spindle, <0 when none */
    double spindle_len, spindle_wait;
    double supp[ICTAL_SYNTH_ELECTRODES];   /* post-ictal deficit, decays */
    double supp_decay[ICTAL_SYNTH_ELECTRODES];
    double mains_c, mains_s, mains_rc, mains_rs; /* phasor of the hum */
    double mains_gain[ICTAL_SYNTH_ELECTRODES];
    double musc_ahi, musc_alo, move_a, move_norm; /* artifact filter coefficients */

    /* plan */
    struct plan *plans;      /* sorted by win0 */
    size_t n_plans;
    struct ictal_synth_event *events; /* sorted by onset, public */
    size_t n_events;
    size_t next_plan;
    int active[MAX_ACTIVE];
    struct evstate evs[MAX_ACTIVE];
    int n_active;
    /* vigilance schedule: state of each plan of kind STATE_* is in plans;
     * seizures use the patch models below (never two seizures at once). */
    struct synth_nmm patch[MAX_PATCHES];
    int64_t patch_step[MAX_PATCHES];
    double patch_out[MAX_PATCHES];
    double patch_kernel[MAX_PATCHES][ICTAL_SYNTH_ELECTRODES];
    struct synth_nmm pre;
    int64_t pre_step;
    double pre_out;
};

/* ---- small helpers --------------------------------------------------------- */

static double clampd(double x, double lo, double hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

static double smoothstep(double e0, double e1, double x)
{
    double t = clampd((x - e0) / (e1 - e0), 0.0, 1.0);
    return t * t * (3.0 - 2.0 * t);
}

static double lerp(double a, double b, double t)
{
    return a + (b - a) * t;
}

static double deg2rad(double d)
{
    return d * (SYNTH_PI / 180.0);
}

/* One-pole low-pass coefficient for corner fc at rate fs (a in (0, 1]). */
static double onepole_a(double fc, double fs)
{
    double a = 1.0 - synth_exp(-2.0 * SYNTH_PI * fc / fs);
    return clampd(a, 1e-9, 1.0);
}

/* Unit-variance AR(2) resonator at f0 with bandwidth bw (Hz). */
static void resonator_init(struct resonator *r, double f0, double bw, double fs)
{
    double rad = synth_exp(-SYNTH_PI * bw / fs);
    double c1 = 2.0 * rad * synth_cos(2.0 * SYNTH_PI * f0 / fs);
    double c2 = rad * rad;
    /* Variance of y = a1 y1 + a2 y2 + x for unit white x, a1 = c1, a2 = -c2. */
    double a2 = -c2;
    double var = (1.0 - a2) / ((1.0 + a2) * ((1.0 - a2) * (1.0 - a2) - c1 * c1));
    r->c1 = c1;
    r->c2 = c2;
    r->norm = 1.0 / sqrt(var);
    r->y1 = r->y2 = 0.0;
}

static double resonator_step(struct resonator *r, double x)
{
    double y = r->c1 * r->y1 - r->c2 * r->y2 + x;
    r->y2 = r->y1;
    r->y1 = y;
    return y * r->norm;
}

static double gauss_map(const struct ictal_synth *s, const double *p, int e, double sigma)
{
    double dx = s->epos[e][0] - p[0], dy = s->epos[e][1] - p[1], dz = s->epos[e][2] - p[2];
    double d2 = dx * dx + dy * dy + dz * dz;
    return synth_exp(-d2 / (2.0 * sigma * sigma));
}

static void sphere_point(double colat, double az, double *p)
{
    double c = deg2rad(colat), a = deg2rad(az);
    p[0] = synth_sin(c) * synth_cos(a); /* anterior */
    p[1] = synth_sin(c) * synth_sin(a); /* left */
    p[2] = synth_cos(c);                /* up */
}

/* ---- kinds ------------------------------------------------------------------- */

static const struct {
    const char *label, *name;
} KINDS[ICTAL_SYNTH_KIND_COUNT] = {
    [ICTAL_SYNTH_SEIZURE_FOCAL] = {"fnsz", "focal seizure"},
    [ICTAL_SYNTH_SEIZURE_ABSENCE] = {"absz", "absence seizure"},
    [ICTAL_SYNTH_ART_BLINK] = {"eyem", "eye blink"},
    [ICTAL_SYNTH_ART_EYEMOVE] = {"eyem", "lateral eye movement"},
    [ICTAL_SYNTH_ART_MUSCLE] = {"musc", "muscle"},
    [ICTAL_SYNTH_ART_CHEW] = {"chew", "chewing"},
    [ICTAL_SYNTH_ART_POP] = {"elpp", "electrode pop"},
    [ICTAL_SYNTH_ART_MAINS] = {"artf", "mains hum"},
    [ICTAL_SYNTH_ART_MOVEMENT] = {"artf", "movement"},
    [ICTAL_SYNTH_ART_FLAT] = {"artf", "flat channel"},
    [ICTAL_SYNTH_ART_CLIP] = {"artf", "amplifier clipping"},
    [ICTAL_SYNTH_STATE_DROWSY] = {"bckg", "drowsy"},
    [ICTAL_SYNTH_STATE_SLEEP] = {"bckg", "light sleep"},
};

const char *ictal_synth_kind_label(int kind)
{
    if (kind < 0 || kind >= ICTAL_SYNTH_KIND_COUNT)
        return "unknown";
    return KINDS[kind].label;
}

const char *ictal_synth_kind_name(int kind)
{
    if (kind < 0 || kind >= ICTAL_SYNTH_KIND_COUNT)
        return "unknown";
    return KINDS[kind].name;
}

int ictal_synth_kind_is_seizure(int kind)
{
    return kind == ICTAL_SYNTH_SEIZURE_FOCAL || kind == ICTAL_SYNTH_SEIZURE_ABSENCE;
}

/* ---- profile -------------------------------------------------------------------- */

enum { STREAM_PROFILE = 1, STREAM_PLAN, STREAM_BG, STREAM_NOISE, STREAM_SPINDLE,
       STREAM_MAINS, STREAM_EVENT = 1000, STREAM_PATCH = 100000 };

static double log_uniform(struct synth_rng *r, double lo, double hi)
{
    return synth_exp(synth_rng_uniform(r, synth_log(lo), synth_log(hi)));
}

void ictal_synth_profile_from_seed(uint64_t seed, struct ictal_synth_profile *p)
{
    struct synth_rng r;
    synth_rng_seed(&r, seed, STREAM_PROFILE);
    memset(p, 0, sizeof *p);
    p->seed = seed;
    p->seizure_type = synth_rng_unit(&r) < 0.8 ? ICTAL_SYNTH_SZ_FOCAL : ICTAL_SYNTH_SZ_ABSENCE;
    /* Temporal and frontal foci are the common ones. */
    static const int foci[] = {E_T7, E_T8, E_F7, E_F8, E_T7, E_T8, E_F7, E_F8, E_T7, E_T8,
                               E_FP1, E_FP2, E_F3, E_F4, E_C3, E_C4, E_P7, E_P8,
                               E_P3, E_P4, E_O1, E_O2};
    p->focus = foci[synth_rng_below(&r, (uint32_t)(sizeof foci / sizeof foci[0]))];
    p->n_involved = 2 + (int)synth_rng_below(&r, 5);
    p->spread_s = synth_rng_uniform(&r, 1.5, 6.0);
    p->bilateral_prob = synth_rng_uniform(&r, 0.0, 0.5);
    if (p->seizure_type == ICTAL_SYNTH_SZ_FOCAL) {
        p->median_duration_s = log_uniform(&r, 20.0, 120.0);
        p->amplitude_uv = synth_rng_uniform(&r, 150.0, 350.0);
        p->preictal_s = synth_rng_unit(&r) < 0.5 ? 0.0 : synth_rng_uniform(&r, 5.0, 30.0);
    } else {
        p->median_duration_s = log_uniform(&r, 5.0, 15.0);
        p->amplitude_uv = synth_rng_uniform(&r, 250.0, 450.0);
        p->preictal_s = 0.0;
        p->n_involved = ICTAL_SYNTH_ELECTRODES;
    }
    p->alpha_hz = synth_rng_uniform(&r, 8.5, 11.5);
    p->mains_hz = synth_rng_unit(&r) < 0.6 ? 50.0 : 60.0;
}

void ictal_synth_config_default(struct ictal_synth_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 1;
    cfg->patient = 0;
    cfg->duration_s = 3600.0;
    cfg->sample_rate = 256;
    cfg->montage = ICTAL_SYNTH_MONTAGE_CHBMIT;
    cfg->n_seizures = 1;
    cfg->seizure_type = ICTAL_SYNTH_SZ_PROFILE;
    cfg->artifact_rate = 1.0;
    cfg->artifacts = ICTAL_SYNTH_ART_ALL;
    cfg->mains_hz = 0.0;
    cfg->mains_uv = 0.0;
    cfg->sleep = 1;
}

/* ---- planning -------------------------------------------------------------------- */

struct planner {
    struct ictal_synth *s;
    struct synth_rng rng;
    size_t cap;
    /* one byte per second of the recording: nonzero where a seizure (with
     * its pre-ictal stretch) or an artifact already is, so that checking a
     * new artifact costs its own length, not the number of events */
    unsigned char *busy;
    int64_t busy_len;
};

static struct plan *plan_add(struct planner *pl)
{
    struct ictal_synth *s = pl->s;
    if (s->n_plans == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 64;
        struct plan *np = realloc(s->plans, cap * sizeof *np);
        if (!np)
            return NULL;
        s->plans = np;
        pl->cap = cap;
    }
    struct plan *p = &s->plans[s->n_plans++];
    memset(p, 0, sizeof *p);
    p->ev.electrode = -1;
    p->stream = STREAM_EVENT + s->n_plans;
    return p;
}

static int64_t to_sample(const struct ictal_synth *s, double t)
{
    double x = t * s->fs + 0.5;
    if (x < 0.0)
        return 0;
    int64_t n = (int64_t)x;
    return n > s->total ? s->total : n;
}

static uint32_t channels_of(const struct ictal_synth *s, uint32_t emask)
{
    uint32_t m = 0;
    for (int c = 0; c < s->nch; c++) {
        int a = s->cha[c], b = s->chb[c];
        if ((emask >> a) & 1u)
            m |= 1u << c;
        if (b >= 0 && ((emask >> b) & 1u))
            m |= 1u << c;
    }
    return m;
}

/* Electrodes sorted by distance from e (e first). */
static void by_distance(const struct ictal_synth *s, int e, int *order)
{
    for (int i = 0; i < ICTAL_SYNTH_ELECTRODES; i++)
        order[i] = i;
    for (int i = 1; i < ICTAL_SYNTH_ELECTRODES; i++) {
        int v = order[i], j = i;
        while (j > 0 && s->dist[e][order[j - 1]] > s->dist[e][v]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
}

static void fix_times(struct ictal_synth *s, struct plan *p)
{
    p->ev.onset_s = (double)p->on / s->fs;
    p->ev.duration_s = (double)(p->off - p->on) / s->fs;
}

static int plan_seizures(struct planner *pl, struct ictal_error *err)
{
    struct ictal_synth *s = pl->s;
    const struct ictal_synth_config *c = &s->cfg;
    const struct ictal_synth_profile *pr = &s->prof;
    int n = c->n_seizures;
    if (n == 0)
        return 0;
    int type = c->seizure_type == ICTAL_SYNTH_SZ_PROFILE ? pr->seizure_type : c->seizure_type;
    double lo = c->seizure_min_s > 0 ? c->seizure_min_s : pr->median_duration_s / 2.5;
    double hi = c->seizure_max_s > 0 ? c->seizure_max_s : pr->median_duration_s * 2.5;
    if (lo < 3.0)
        lo = 3.0;
    if (hi < lo)
        hi = lo;
    /* Each seizure gets an equal slot; it needs room for warm-up, pre-ictal
     * spiking and some post-ictal time inside the slot. */
    double margin = 2.0 + WARMUP_S;
    double slot = (c->duration_s - margin) / n;
    double need = lo + 2.0 + WARMUP_S;
    if (slot < need)
        return ictal_error_set(err, ICTAL_EINVAL,
            "seizures: %d seizure(s) of at least %.1f s do not fit in a %.1f s recording "
            "(each needs %.1f s); use fewer seizures, shorter ones or a longer duration",
            n, lo, c->duration_s, need);
    for (int i = 0; i < n; i++) {
        struct plan *p = plan_add(pl);
        if (!p)
            return ictal_error_set(err, ICTAL_ENOMEM, "seizure plan: out of memory");
        double dur = log_uniform(&pl->rng, lo, hi);
        double room = slot - 2.0 - WARMUP_S;
        if (dur > room * 0.7 && room * 0.7 >= lo)
            dur = room * 0.7;
        if (dur > room)
            dur = room;
        double pre = type == ICTAL_SYNTH_SZ_FOCAL ? pr->preictal_s : 0.0;
        double post = type == ICTAL_SYNTH_SZ_FOCAL ? synth_rng_uniform(&pl->rng, 15.0, 60.0) : 0.0;
        double slack = room - dur;
        if (pre > slack * 0.5)
            pre = slack * 0.5;
        double start0 = margin + i * slot + pre;
        double onset = start0 + synth_rng_uniform(&pl->rng, 0.0, slack - pre > 0 ? slack - pre : 0.0);
        p->ev.kind = type == ICTAL_SYNTH_SZ_ABSENCE ? ICTAL_SYNTH_SEIZURE_ABSENCE
                                                    : ICTAL_SYNTH_SEIZURE_FOCAL;
        p->on = to_sample(s, onset);
        p->off = to_sample(s, onset + dur);
        if (p->off <= p->on)
            p->off = p->on + 1;
        p->pre_on = to_sample(s, onset - pre);
        p->post_tau_s = post;
        p->amp = pr->amplitude_uv * synth_rng_uniform(&pl->rng, 0.85, 1.15);
        p->win0 = p->pre_on - (int64_t)(WARMUP_S * s->fs);
        if (p->win0 < 0)
            p->win0 = 0;
        p->win1 = p->off + s->fs / 4;
        if (p->win1 > s->total)
            p->win1 = s->total;
        if (p->ev.kind == ICTAL_SYNTH_SEIZURE_ABSENCE) {
            p->n_patch = 1;
            p->patch_e[0] = E_FZ;
            p->patch_on[0] = p->on;
            p->emask = (1u << ICTAL_SYNTH_ELECTRODES) - 1u;
            p->ev.electrode = E_FZ;
            p->ev.bilateral = 1;
        } else {
            int order[ICTAL_SYNTH_ELECTRODES];
            by_distance(s, pr->focus, order);
            p->ev.electrode = pr->focus;
            p->ev.bilateral = synth_rng_unit(&pl->rng) < pr->bilateral_prob;
            int ninv = p->ev.bilateral ? ICTAL_SYNTH_ELECTRODES : pr->n_involved;
            /* Spread: a neighbour one spacing (0.31 chord) away joins after
             * spread_s; later ones proportionally; only those that join in
             * the first 70% of the seizure are recruited. */
            double jitter = synth_rng_uniform(&pl->rng, 0.8, 1.25);
            for (int k = 0; k < ninv; k++) {
                int e = order[k];
                double delay = s->dist[pr->focus][e] / 0.31 * pr->spread_s * jitter;
                if (p->ev.bilateral && k >= pr->n_involved)
                    delay = 0.5 * delay + 0.35 * dur; /* secondary generalisation */
                if (k > 0 && delay > 0.7 * dur)
                    continue;
                p->patch_e[p->n_patch] = e;
                p->patch_on[p->n_patch] = to_sample(s, onset + delay);
                p->n_patch++;
                p->emask |= 1u << e;
            }
        }
        p->ev.channels = channels_of(s, p->emask);
        fix_times(s, p);
    }
    return 0;
}

static void busy_range(const struct planner *pl, int64_t w0, int64_t w1, int64_t guard,
                       int64_t *a, int64_t *b)
{
    int64_t fs = pl->s->fs;
    *a = (w0 - guard) / fs;
    *b = (w1 + guard + fs - 1) / fs;
    if (*a < 0)
        *a = 0;
    if (*b > pl->busy_len)
        *b = pl->busy_len;
}

static int overlaps_existing(const struct planner *pl, int64_t w0, int64_t w1, int64_t guard)
{
    int64_t a, b;
    busy_range(pl, w0, w1, guard, &a, &b);
    for (int64_t i = a; i < b; i++)
        if (pl->busy[i])
            return 1;
    return 0;
}

static void mark_busy(struct planner *pl, int64_t w0, int64_t w1)
{
    int64_t a, b;
    busy_range(pl, w0, w1, 0, &a, &b);
    for (int64_t i = a; i < b; i++)
        pl->busy[i] = 1;
}

static int pick_artifact_kind(struct synth_rng *r, unsigned mask)
{
    /* Relative frequencies: blinks and muscle are the everyday ones. */
    static const int weight[ICTAL_SYNTH_KIND_COUNT] = {
        [ICTAL_SYNTH_ART_BLINK] = 6, [ICTAL_SYNTH_ART_EYEMOVE] = 4,
        [ICTAL_SYNTH_ART_MUSCLE] = 5, [ICTAL_SYNTH_ART_CHEW] = 2,
        [ICTAL_SYNTH_ART_POP] = 2, [ICTAL_SYNTH_ART_MAINS] = 1,
        [ICTAL_SYNTH_ART_MOVEMENT] = 2, [ICTAL_SYNTH_ART_FLAT] = 1,
        [ICTAL_SYNTH_ART_CLIP] = 1,
    };
    int total = 0;
    for (int k = 0; k < ICTAL_SYNTH_KIND_COUNT; k++)
        if (mask & ICTAL_SYNTH_ARTBIT(k))
            total += weight[k];
    if (total == 0)
        return -1;
    int x = (int)synth_rng_below(r, (uint32_t)total);
    for (int k = 0; k < ICTAL_SYNTH_KIND_COUNT; k++) {
        if (!(mask & ICTAL_SYNTH_ARTBIT(k)))
            continue;
        if (x < weight[k])
            return k;
        x -= weight[k];
    }
    return -1;
}

static void setup_artifact(struct ictal_synth *s, struct planner *pl, struct plan *p, int kind,
                           double t0)
{
    struct synth_rng *r = &pl->rng;
    double dur = 1.0;
    p->ev.kind = kind;
    p->sign = synth_rng_unit(r) < 0.5 ? -1 : 1;
    switch (kind) {
    case ICTAL_SYNTH_ART_BLINK:
        dur = synth_rng_uniform(r, 0.4, 2.5);           /* 1-3 blinks */
        p->amp = synth_rng_uniform(r, 120.0, 300.0);
        p->emask = (1u << E_FP1) | (1u << E_FP2) | (1u << E_F3) | (1u << E_F4)
                 | (1u << E_F7) | (1u << E_F8) | (1u << E_FZ);
        break;
    case ICTAL_SYNTH_ART_EYEMOVE:
        dur = synth_rng_uniform(r, 0.6, 2.0);
        p->amp = synth_rng_uniform(r, 70.0, 160.0);
        p->emask = (1u << E_F7) | (1u << E_F8) | (1u << E_FP1) | (1u << E_FP2)
                 | (1u << E_FT9) | (1u << E_FT10);
        break;
    case ICTAL_SYNTH_ART_MUSCLE:
    case ICTAL_SYNTH_ART_CHEW: {
        dur = kind == ICTAL_SYNTH_ART_MUSCLE ? synth_rng_uniform(r, 1.0, 8.0)
                                             : synth_rng_uniform(r, 3.0, 12.0);
        p->amp = synth_rng_uniform(r, 30.0, 90.0);
        if (kind == ICTAL_SYNTH_ART_CHEW) /* bursts of jaw clenching are strong */
            p->amp *= 2.0;
        /* side: 0 left, 1 right, 2 both (chewing is always bilateral) */
        int side = kind == ICTAL_SYNTH_ART_CHEW ? 2 : (int)synth_rng_below(r, 3);
        uint32_t left = (1u << E_T7) | (1u << E_F7) | (1u << E_FT9) | (1u << E_P7);
        uint32_t right = (1u << E_T8) | (1u << E_F8) | (1u << E_FT10) | (1u << E_P8);
        p->emask = side == 0 ? left : side == 1 ? right : (left | right);
        p->p1 = synth_rng_uniform(r, 1.0, 2.0);  /* chewing rate, Hz */
        break;
    }
    case ICTAL_SYNTH_ART_POP: {
        dur = synth_rng_uniform(r, 0.5, 2.0);
        p->amp = synth_rng_uniform(r, 100.0, 400.0);
        int e = (int)synth_rng_below(r, ICTAL_SYNTH_ELECTRODES);
        p->emask = 1u << e;
        p->ev.electrode = e;
        p->p1 = synth_rng_uniform(r, 0.1, 0.5);  /* decay, s */
        break;
    }
    case ICTAL_SYNTH_ART_MAINS: {
        dur = synth_rng_uniform(r, 5.0, 30.0);
        p->amp = synth_rng_uniform(r, 15.0, 60.0);
        int e = (int)synth_rng_below(r, ICTAL_SYNTH_ELECTRODES);
        p->emask = 1u << e;
        p->ev.electrode = e;
        break;
    }
    case ICTAL_SYNTH_ART_MOVEMENT:
        dur = synth_rng_uniform(r, 1.0, 5.0);
        p->amp = synth_rng_uniform(r, 100.0, 300.0);
        p->emask = (1u << ICTAL_SYNTH_ELECTRODES) - 1u;
        break;
    case ICTAL_SYNTH_ART_FLAT:
    case ICTAL_SYNTH_ART_CLIP: {
        dur = kind == ICTAL_SYNTH_ART_FLAT ? synth_rng_uniform(r, 5.0, 60.0)
                                           : synth_rng_uniform(r, 2.0, 20.0);
        int c = (int)synth_rng_below(r, (uint32_t)s->nch);
        p->ev.channels = 1u << c;
        p->p1 = c;
        break;
    }
    default:
        break;
    }
    p->on = to_sample(s, t0);
    p->off = to_sample(s, t0 + dur);
    if (p->off <= p->on)
        p->off = p->on + 1;
    p->win0 = p->on;
    p->win1 = p->off;
    if (kind == ICTAL_SYNTH_ART_POP) /* the decay tail outlives the label */
        p->win1 = to_sample(s, t0 + dur + 5.0 * p->p1);
    if (kind != ICTAL_SYNTH_ART_FLAT && kind != ICTAL_SYNTH_ART_CLIP)
        p->ev.channels = channels_of(s, p->emask);
    fix_times(s, p);
}

static int plan_artifacts(struct planner *pl, struct ictal_error *err)
{
    struct ictal_synth *s = pl->s;
    const struct ictal_synth_config *c = &s->cfg;
    if (c->artifact_rate <= 0.0 || (c->artifacts & ICTAL_SYNTH_ART_ALL) == 0)
        return 0;
    pl->busy_len = (int64_t)c->duration_s + 2;
    pl->busy = calloc((size_t)pl->busy_len, 1);
    if (!pl->busy)
        return ictal_error_set(err, ICTAL_ENOMEM, "artifact plan: out of memory");
    for (size_t i = 0; i < s->n_plans; i++)
        if (ictal_synth_kind_is_seizure(s->plans[i].ev.kind))
            mark_busy(pl, s->plans[i].pre_on, s->plans[i].off);
    long n = (long)(c->artifact_rate * c->duration_s / 60.0 + 0.5);
    if (n < 1)
        n = 1;
    int64_t guard = s->fs; /* keep 1 s between events so that labels stay clean */
    for (long i = 0; i < n; i++) {
        int kind = pick_artifact_kind(&pl->rng, c->artifacts);
        if (kind < 0)
            break;
        /* Artifacts never overlap each other or a seizure (with its
         * pre-ictal stretch), so that every label is unambiguous; a few
         * tries, then the artifact is skipped. */
        for (int tries = 0; tries < 20; tries++) {
            struct plan *p = plan_add(pl);
            if (!p)
                return ictal_error_set(err, ICTAL_ENOMEM, "artifact plan: out of memory");
            double t0 = synth_rng_uniform(&pl->rng, 1.0, c->duration_s - 1.0);
            setup_artifact(s, pl, p, kind, t0);
            s->n_plans--; /* p is the last plan: keep it only if it fits */
            int bad = p->off >= s->total || p->win1 > s->total
                   || overlaps_existing(pl, p->win0, p->win1, guard);
            if (!bad) {
                s->n_plans++;
                mark_busy(pl, p->win0, p->win1);
                break;
            }
        }
    }
    return 0;
}

/* One vigilance-state stretch [t, t + d) in the plan. */
static int plan_state(struct planner *pl, int kind, double t, double d, struct ictal_error *err)
{
    struct ictal_synth *s = pl->s;
    struct plan *p = plan_add(pl);
    if (!p)
        return ictal_error_set(err, ICTAL_ENOMEM, "state plan: out of memory");
    p->ev.kind = kind;
    p->on = to_sample(s, t);
    p->off = to_sample(s, t + d);
    p->win0 = p->on;
    p->win1 = p->off;
    fix_times(s, p);
    return 0;
}

static int plan_states(struct planner *pl, struct ictal_error *err)
{
    struct ictal_synth *s = pl->s;
    if (!s->cfg.sleep || s->cfg.duration_s < 600.0)
        return 0;
    /* Awake stretches of 5-30 min alternate with drowsiness (1-5 min) that
     * half of the time deepens into light sleep (5-25 min). */
    double t = synth_rng_uniform(&pl->rng, 300.0, 1800.0);
    while (t < s->cfg.duration_s - 60.0) {
        double d = synth_rng_uniform(&pl->rng, 60.0, 300.0);
        int rc = plan_state(pl, ICTAL_SYNTH_STATE_DROWSY, t, d, err);
        if (rc)
            return rc;
        t += d;
        if (synth_rng_unit(&pl->rng) < 0.5 && t < s->cfg.duration_s - 60.0) {
            d = synth_rng_uniform(&pl->rng, 300.0, 1500.0);
            rc = plan_state(pl, ICTAL_SYNTH_STATE_SLEEP, t, d, err);
            if (rc)
                return rc;
            t += d;
        }
        t += synth_rng_uniform(&pl->rng, 300.0, 1800.0);
    }
    return 0;
}

static int cmp_plan(const void *a, const void *b)
{
    const struct plan *x = a, *y = b;
    if (x->win0 != y->win0)
        return x->win0 < y->win0 ? -1 : 1;
    if (x->ev.kind != y->ev.kind)
        return x->ev.kind < y->ev.kind ? -1 : 1;
    return x->stream < y->stream ? -1 : (x->stream > y->stream);
}

static int cmp_event(const void *a, const void *b)
{
    const struct ictal_synth_event *x = a, *y = b;
    if (x->onset_s != y->onset_s)
        return x->onset_s < y->onset_s ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return x->channels < y->channels ? -1 : (x->channels > y->channels);
}

/* ---- creation ---------------------------------------------------------------------- */

static int check_config(const struct ictal_synth_config *c, struct ictal_error *err)
{
    if (!(c->duration_s > 0.0) || c->duration_s > ICTAL_SYNTH_DURATION_MAX)
        return ictal_error_set(err, ICTAL_ERANGE,
            "duration: %g s is out of range (0, %g] s", c->duration_s, ICTAL_SYNTH_DURATION_MAX);
    if (c->sample_rate < ICTAL_SYNTH_RATE_MIN || c->sample_rate > ICTAL_SYNTH_RATE_MAX)
        return ictal_error_set(err, ICTAL_ERANGE, "rate: %d Hz is out of range %d..%d Hz",
                               c->sample_rate, ICTAL_SYNTH_RATE_MIN, ICTAL_SYNTH_RATE_MAX);
    if (c->duration_s * c->sample_rate < 1.0)
        return ictal_error_set(err, ICTAL_ERANGE, "duration: %g s is shorter than one sample",
                               c->duration_s);
    if (c->montage != ICTAL_SYNTH_MONTAGE_CHBMIT && c->montage != ICTAL_SYNTH_MONTAGE_REFERENTIAL)
        return ictal_error_set(err, ICTAL_EINVAL, "montage: unknown montage %d", c->montage);
    if (c->n_seizures < 0 || c->n_seizures > ICTAL_SYNTH_SEIZURES_MAX)
        return ictal_error_set(err, ICTAL_ERANGE, "seizures: %d is out of range 0..%d",
                               c->n_seizures, ICTAL_SYNTH_SEIZURES_MAX);
    if (c->seizure_type < ICTAL_SYNTH_SZ_PROFILE || c->seizure_type > ICTAL_SYNTH_SZ_ABSENCE)
        return ictal_error_set(err, ICTAL_EINVAL, "seizure_type: unknown type %d", c->seizure_type);
    if (c->seizure_min_s < 0.0 || c->seizure_max_s < 0.0 || c->seizure_min_s > 86400.0
        || c->seizure_max_s > 86400.0 || c->seizure_min_s != c->seizure_min_s
        || c->seizure_max_s != c->seizure_max_s)
        return ictal_error_set(err, ICTAL_ERANGE, "seizure duration: %g..%g s is out of range",
                               c->seizure_min_s, c->seizure_max_s);
    if (c->seizure_min_s > 0 && c->seizure_max_s > 0 && c->seizure_max_s < c->seizure_min_s)
        return ictal_error_set(err, ICTAL_EINVAL,
            "seizure duration: maximum %g s is below minimum %g s", c->seizure_max_s,
            c->seizure_min_s);
    if (!(c->artifact_rate >= 0.0) || c->artifact_rate > 60.0)
        return ictal_error_set(err, ICTAL_ERANGE, "artifact rate: %g per minute is out of range 0..60",
                               c->artifact_rate);
    if (c->artifacts & ~(unsigned)ICTAL_SYNTH_ART_ALL)
        return ictal_error_set(err, ICTAL_EINVAL, "artifacts: unknown kind bits 0x%x",
                               c->artifacts & ~(unsigned)ICTAL_SYNTH_ART_ALL);
    if (c->mains_hz != 0.0 && c->mains_hz != 50.0 && c->mains_hz != 60.0)
        return ictal_error_set(err, ICTAL_EINVAL, "mains: %g Hz is neither 50 nor 60", c->mains_hz);
    if (!(c->mains_uv >= 0.0) || c->mains_uv > 1000.0)
        return ictal_error_set(err, ICTAL_ERANGE, "mains amplitude: %g uV is out of range 0..1000",
                               c->mains_uv);
    return 0;
}

static void init_background(struct ictal_synth *s)
{
    double fs = s->fs;
    /* 1/f^alpha from a bank of one-pole low-passes at octave corners 0.5..64 Hz:
     * a pole at fc carries power ~ fc^-alpha below fc, so the sum falls as
     * f^-alpha between the first and last corner (alpha ~ 1.6 here). */
    double wsum = 0.0;
    for (int j = 0; j < N_PINK_POLES; j++) {
        double fc = 0.5 * (double)(1 << j);
        if (fc > 0.45 * fs)
            fc = 0.45 * fs;
        s->pink_a[j] = onepole_a(fc, fs);
        double w = synth_exp(-0.8 * synth_log(fc)); /* fc^-0.8: power fc^-1.6 */
        /* one-pole output variance is a/(2-a) for unit white input */
        double a = s->pink_a[j];
        s->pink_w[j] = w;
        wsum += w * w * a / (2.0 - a);
    }
    for (int j = 0; j < N_PINK_POLES; j++)
        s->pink_w[j] *= BG_PINK_UV / sqrt(wsum);

    /* Spatial mixing: electrode e sees sources near it (Gaussian kernel over
     * the chord distance, sigma 0.45 ~ 1.5 electrode spacings), rows scaled
     * to unit power so that every electrode has the same background level. */
    for (int e = 0; e < ICTAL_SYNTH_ELECTRODES; e++) {
        double pw = 0.0;
        for (int j = 0; j < ICTAL_SYNTH_ELECTRODES; j++) {
            double d = s->dist[e][j];
            double k = synth_exp(-d * d / (2.0 * 0.45 * 0.45));
            s->mix[e][j] = k;
            pw += k * k;
        }
        for (int j = 0; j < ICTAL_SYNTH_ELECTRODES; j++)
            s->mix[e][j] /= sqrt(pw);
    }
    double o1[3], o2[3], fz[3], cz[3], front[3];
    sphere_point(80, 160, o1);
    sphere_point(80, -160, o2);
    sphere_point(40, 0, fz);
    sphere_point(10, 0, cz);
    sphere_point(60, 0, front);
    for (int e = 0; e < ICTAL_SYNTH_ELECTRODES; e++) {
        s->map_alpha[0][e] = ALPHA_UV * gauss_map(s, o1, e, 0.5);
        s->map_alpha[1][e] = ALPHA_UV * gauss_map(s, o2, e, 0.5);
        s->map_theta[e] = THETA_UV * gauss_map(s, fz, e, 0.7);
        s->map_delta[e] = DELTA_UV * gauss_map(s, front, e, 0.6);
        s->map_spindle[e] = SPINDLE_UV * gauss_map(s, cz, e, 0.55);
    }
    double ahz = s->prof.alpha_hz;
    resonator_init(&s->alpha[0], ahz, 1.2, fs);
    resonator_init(&s->alpha[1], ahz + 0.1, 1.2, fs);
    resonator_init(&s->theta, 5.5, 2.0, fs);
    resonator_init(&s->delta, 1.2, 1.6, fs);
    resonator_init(&s->spindle, 13.0, 1.0, fs);
    /* Alpha waxes and wanes: a slow (0.1 Hz) unit-variance envelope process. */
    s->alpha_env_a = onepole_a(0.1, fs);
    s->alpha_env_norm = sqrt((2.0 - s->alpha_env_a) / s->alpha_env_a);
    s->alpha_env = 0.0;
    s->w_alpha = 1.0;
    s->w_theta = 0.1;
    s->w_delta = 0.0;
    s->w_spindle = 0.0;
    s->w_smooth = onepole_a(1.0 / (2.0 * SYNTH_PI * 8.0), fs); /* ~8 s transitions */
    s->spindle_t = -1.0;
    s->spindle_wait = 2.0;
    s->spindle_len = 1.0;
    for (int e = 0; e < ICTAL_SYNTH_ELECTRODES; e++) {
        s->supp[e] = 0.0;
        s->supp_decay[e] = 1.0;
    }
    /* Mains phasor, advanced by rotation; renormalised every sample. */
    double mhz = s->cfg.mains_hz > 0 ? s->cfg.mains_hz : s->prof.mains_hz;
    s->mains_c = 1.0;
    s->mains_s = 0.0;
    s->mains_rc = synth_cos(2.0 * SYNTH_PI * mhz / fs);
    s->mains_rs = synth_sin(2.0 * SYNTH_PI * mhz / fs);
    struct synth_rng mr;
    synth_rng_seed(&mr, s->cfg.seed, STREAM_MAINS);
    for (int e = 0; e < ICTAL_SYNTH_ELECTRODES; e++)
        s->mains_gain[e] = synth_rng_uniform(&mr, 0.3, 1.7); /* electrode impedances differ */
    s->musc_ahi = onepole_a(fs * 0.45 < 70.0 ? fs * 0.45 : 70.0, fs);
    s->musc_alo = onepole_a(20.0, fs);
    s->move_a = onepole_a(1.0, fs);
    s->move_norm = sqrt((2.0 - s->move_a) / s->move_a);
    synth_rng_seed(&s->bg_rng, s->cfg.seed, STREAM_BG);
    synth_rng_seed(&s->noise_rng, s->cfg.seed, STREAM_NOISE);
    synth_rng_seed(&s->spindle_rng, s->cfg.seed, STREAM_SPINDLE);
}

struct ictal_synth *ictal_synth_create(const struct ictal_synth_config *cfg,
                                       struct ictal_error *err)
{
    if (!cfg) {
        ictal_error_set(err, ICTAL_EINVAL, "synth: no configuration");
        return NULL;
    }
    if (check_config(cfg, err) < 0)
        return NULL;
    struct ictal_synth *s = calloc(1, sizeof *s);
    if (!s) {
        ictal_error_set(err, ICTAL_ENOMEM, "synth: out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->fs = cfg->sample_rate;
    s->total = (int64_t)(cfg->duration_s * cfg->sample_rate + 0.5);
    ictal_synth_profile_from_seed(cfg->patient ? cfg->patient : cfg->seed, &s->prof);
    if (cfg->montage == ICTAL_SYNTH_MONTAGE_CHBMIT) {
        s->nch = 23;
        for (int c = 0; c < 23; c++) {
            s->labels[c] = CHBMIT[c].label;
            s->cha[c] = CHBMIT[c].a;
            s->chb[c] = CHBMIT[c].b;
        }
    } else {
        s->nch = 19;
        for (int c = 0; c < 19; c++) {
            s->labels[c] = REF_LABELS[c];
            s->cha[c] = c; /* electrodes 0..18 are the 19 standard sites */
            s->chb[c] = -1;
        }
    }
    for (int e = 0; e < ICTAL_SYNTH_ELECTRODES; e++)
        sphere_point(ELECTRODES[e].colat, ELECTRODES[e].az, s->epos[e]);
    for (int a = 0; a < ICTAL_SYNTH_ELECTRODES; a++)
        for (int b = 0; b < ICTAL_SYNTH_ELECTRODES; b++) {
            double dx = s->epos[a][0] - s->epos[b][0], dy = s->epos[a][1] - s->epos[b][1];
            double dz = s->epos[a][2] - s->epos[b][2];
            s->dist[a][b] = sqrt(dx * dx + dy * dy + dz * dz);
        }
    init_background(s);

    struct planner pl = {.s = s, .cap = 0, .busy = NULL, .busy_len = 0};
    synth_rng_seed(&pl.rng, cfg->seed, STREAM_PLAN);
    int prc = plan_seizures(&pl, err);
    if (prc == 0)
        prc = plan_artifacts(&pl, err);
    if (prc == 0)
        prc = plan_states(&pl, err);
    free(pl.busy);
    if (prc < 0) {
        ictal_synth_destroy(s);
        return NULL;
    }
    if (s->n_plans)
        qsort(s->plans, s->n_plans, sizeof *s->plans, cmp_plan);
    s->n_events = s->n_plans;
    s->events = calloc(s->n_events ? s->n_events : 1, sizeof *s->events);
    if (!s->events) {
        ictal_error_set(err, ICTAL_ENOMEM, "synth: out of memory");
        ictal_synth_destroy(s);
        return NULL;
    }
    for (size_t i = 0; i < s->n_plans; i++)
        s->events[i] = s->plans[i].ev;
    if (s->n_events)
        qsort(s->events, s->n_events, sizeof *s->events, cmp_event);
    return s;
}

void ictal_synth_destroy(struct ictal_synth *s)
{
    if (!s)
        return;
    free(s->plans);
    free(s->events);
    free(s);
}

int ictal_synth_channels(const struct ictal_synth *s) { return s->nch; }

const char *ictal_synth_electrode_name(int e)
{
    return e >= 0 && e < ICTAL_SYNTH_ELECTRODES ? ELECTRODES[e].name : NULL;
}

const char *ictal_synth_label(const struct ictal_synth *s, int c)
{
    return c >= 0 && c < s->nch ? s->labels[c] : NULL;
}

int ictal_synth_rate(const struct ictal_synth *s) { return s->fs; }
int64_t ictal_synth_total_samples(const struct ictal_synth *s) { return s->total; }
int64_t ictal_synth_position(const struct ictal_synth *s) { return s->pos; }

const struct ictal_synth_profile *ictal_synth_profile(const struct ictal_synth *s)
{
    return &s->prof;
}

size_t ictal_synth_event_count(const struct ictal_synth *s) { return s->n_events; }
const struct ictal_synth_event *ictal_synth_events(const struct ictal_synth *s)
{
    return s->events;
}

/* ---- generation ------------------------------------------------------------------- */

/* Seizure: advance the neural masses to the current sample and add their
 * contributions. Focal trajectory (u = fraction of the seizure elapsed):
 *   u < 0.15      B=5, G=25, k=1.3   low-voltage fast activity (~16-20 Hz)
 *   0.15 .. 0.4   B 5->15, G 25->15, k 1.3->1.0   rhythmic ~10 Hz
 *   0.4 .. 1      B 15->28, G 15->12, k 1.0->0.75 spikes slowing to ~3.5 Hz
 * with A = 5 mV throughout (Wendling 2002, Fig. 4 activity types 5 -> 4 -> 3)
 * and amplitude growing from a quarter to the full peak. */
static void focal_params(double u, struct synth_nmm_param *p)
{
    p->A = 5.0;
    p->p_mean = 90.0;
    p->p_sd = 30.0;
    if (u < 0.15) {
        p->B = 5.0;
        p->G = 25.0;
        p->k = 1.3;
    } else if (u < 0.4) {
        double t = (u - 0.15) / 0.25;
        p->B = lerp(5.0, 15.0, t);
        p->G = lerp(25.0, 15.0, t);
        p->k = lerp(1.3, 1.0, t);
    } else {
        double t = clampd((u - 0.4) / 0.6, 0.0, 1.0);
        p->B = lerp(15.0, 28.0, t);
        p->G = lerp(15.0, 12.0, t);
        p->k = lerp(1.0, 0.75, t);
    }
}

static void absence_params(double u, struct synth_nmm_param *p)
{
    /* Sustained spike discharges (type 3) slowed to ~3 Hz, slowing further
     * towards the end as typical absences do (3.5 -> 2.5 Hz). */
    p->A = 5.0;
    p->B = 28.0;
    p->G = 12.0;
    p->k = lerp(0.68, 0.56, clampd(u, 0.0, 1.0));
    p->p_mean = 90.0;
    p->p_sd = 30.0;
}

static void seizure_begin(struct ictal_synth *s, const struct plan *p)
{
    double kern_sigma = 0.18;
    for (int i = 0; i < p->n_patch; i++) {
        synth_nmm_init(&s->patch[i], s->cfg.seed, STREAM_PATCH + p->stream * 64 + (uint64_t)i);
        s->patch_step[i] = -1;
        s->patch_out[i] = 0.0;
        for (int e = 0; e < ICTAL_SYNTH_ELECTRODES; e++) {
            if (p->ev.kind == ICTAL_SYNTH_SEIZURE_ABSENCE)
                /* bifrontal maxima (F3, F4): the field of generalised
                 * spike-and-wave, with the gradients that make it visible
                 * in a bipolar montage */
                s->patch_kernel[i][e] = 0.75 * (gauss_map(s, s->epos[E_F3], e, 0.45)
                                                + gauss_map(s, s->epos[E_F4], e, 0.45));
            else
                s->patch_kernel[i][e] = gauss_map(s, s->epos[p->patch_e[i]], e, kern_sigma);
        }
    }
    synth_nmm_init(&s->pre, s->cfg.seed, STREAM_PATCH + p->stream * 64 + 63);
    s->pre_step = -1;
    s->pre_out = 0.0;
}

static int64_t nmm_target(const struct ictal_synth *s, int64_t n)
{
    return n * SYNTH_NMM_RATE / s->fs;
}

/* pot: the seizure's own contribution (µV) is added here; bgscale: lowered
 * where recruited cortex stops producing its normal background. */
static void seizure_sample(struct ictal_synth *s, const struct plan *p, int64_t n, double *pot,
                           double *bgscale)
{
    double fs = s->fs;
    int64_t target = nmm_target(s, n);
    double dur = (double)(p->off - p->on);
    int absence = p->ev.kind == ICTAL_SYNTH_SEIZURE_ABSENCE;
    /* pre-ictal sporadic spikes at the focus (Wendling's type 2): B = 41
     * sits just above the sustained-spike regime, so with a noisier input
     * (s.d. 60) the population fires isolated, noise-triggered spikes,
     * ~10-20 per minute. B = 37 would already be a sustained discharge. */
    if (!absence && p->pre_on < p->on && n < p->on) {
        int64_t start = p->pre_on - (int64_t)(WARMUP_S * fs);
        if (n >= start) {
            struct synth_nmm_param pp = {5.0, 41.0, 15.0, 1.0, 90.0, 60.0};
            if (s->pre_step < 0)
                s->pre_step = target;
            while (s->pre_step < target) {
                synth_nmm_step_norm(&s->pre, &pp);
                s->pre_step++;
            }
            s->pre_out = s->pre.last_hp;
            if (n >= p->pre_on) {
                double ramp = smoothstep(0.0, 2.0 * fs, (double)(n - p->pre_on));
                double v = 12.0 * ramp * s->pre_out; /* 12 µV per mV of model LFP */
                for (int e = 0; e < ICTAL_SYNTH_ELECTRODES; e++)
                    pot[e] += v * s->patch_kernel[0][e];
            }
        }
    }
    double u = ((double)(n - p->on)) / dur;
    struct synth_nmm_param prm;
    if (absence)
        absence_params(u, &prm);
    else
        focal_params(u < 0 ? 0 : u, &prm);
    double grow = absence ? 1.0 : 0.25 + 0.75 * smoothstep(0.1, 0.6, u);
    /* abrupt end: 0.15 s fade after offset */
    double endfade = n < p->off ? 1.0 : 1.0 - (double)(n - p->off) / (0.15 * fs);
    if (endfade < 0.0)
        endfade = 0.0;
    for (int i = 0; i < p->n_patch; i++) {
        int64_t warm = p->patch_on[i] - (int64_t)(WARMUP_S * fs);
        if (n < warm)
            continue;
        if (s->patch_step[i] < 0)
            s->patch_step[i] = target;
        while (s->patch_step[i] < target) {
            s->patch_out[i] = synth_nmm_step_norm(&s->patch[i], &prm);
            s->patch_step[i]++;
        }
        if (n < p->patch_on[i])
            continue;
        double ramp_s = absence ? 0.1 : 1.5;
        double rec = smoothstep(0.0, ramp_s * fs, (double)(n - p->patch_on[i]));
        double g = p->amp * grow * rec * endfade;
        double v = g * s->patch_out[i];
        for (int e = 0; e < ICTAL_SYNTH_ELECTRODES; e++) {
            double k = s->patch_kernel[i][e];
            pot[e] += v * k;
            /* the recruited cortex stops producing its normal background */
            double sup = 1.0 - 0.5 * rec * endfade * k;
            if (sup < bgscale[e])
                bgscale[e] = sup;
        }
    }
}

static void seizure_end(struct ictal_synth *s, const struct plan *p)
{
    if (p->ev.kind != ICTAL_SYNTH_SEIZURE_FOCAL || p->post_tau_s <= 0.0)
        return;
    /* post-ictal suppression: background down to ~30% on the recruited
     * electrodes, recovering exponentially */
    double d = synth_exp(-1.0 / (p->post_tau_s * s->fs));
    for (int e = 0; e < ICTAL_SYNTH_ELECTRODES; e++) {
        double k = 0.0;
        for (int i = 0; i < p->n_patch; i++)
            if (s->patch_kernel[i][e] > k)
                k = s->patch_kernel[i][e];
        if (0.7 * k > s->supp[e]) {
            s->supp[e] = 0.7 * k;
            s->supp_decay[e] = d;
        }
    }
}

/* Muscle-like noise at electrode e: white noise band-passed to ~20-70 Hz
 * (difference of two one-pole low-passes), roughly unit RMS at 256 Hz. */
static double muscle_noise(const struct ictal_synth *s, struct evstate *st, int e)
{
    double w = synth_rng_normal(&st->rng);
    st->lp1[e] += s->musc_ahi * (w - st->lp1[e]);
    st->lp2[e] += s->musc_alo * (w - st->lp2[e]);
    return (st->lp1[e] - st->lp2[e]) * 2.5;
}

static void artifact_sample(struct ictal_synth *s, const struct plan *p, struct evstate *st,
                            int64_t n, double *pot)
{
    double fs = s->fs;
    double t = (double)(n - p->on) / fs;          /* seconds since onset */
    double len = (double)(p->off - p->on) / fs;
    switch (p->ev.kind) {
    case ICTAL_SYNTH_ART_BLINK: {
        /* blinks of 0.3 s raised-cosine shape, one every ~0.7 s; the eyes
         * (a dipole, cornea positive) sit in front of FP1/FP2 */
        double period = 0.7, w = 0.3;
        double ph = t - period * (double)(long)(t / period);
        double v = 0.0;
        if (ph < w && t + (w - ph) <= len + 1e-9) {
            double c = synth_cos(2.0 * SYNTH_PI * ph / w);
            v = 0.5 * (1.0 - c);
        }
        static const double g[ICTAL_SYNTH_ELECTRODES] = {
            [E_FP1] = 1.0, [E_FP2] = 1.0, [E_F3] = 0.3, [E_F4] = 0.3, [E_F7] = 0.35,
            [E_F8] = 0.35, [E_FZ] = 0.3, [E_C3] = 0.06, [E_C4] = 0.06, [E_CZ] = 0.06};
        for (int e = 0; e < ICTAL_SYNTH_ELECTRODES; e++)
            pot[e] += p->amp * v * g[e];
        break;
    }
    case ICTAL_SYNTH_ART_EYEMOVE: {
        /* a look to one side: smooth step there and back; F7 and F8 opposite */
        double rise = 0.12;
        double v = smoothstep(0.0, rise, t) * (1.0 - smoothstep(len - rise, len, t));
        double a = p->amp * v * p->sign;
        pot[E_F7] += a;
        pot[E_F8] -= a;
        pot[E_FT9] += 0.5 * a;
        pot[E_FT10] -= 0.5 * a;
        pot[E_FP1] += 0.3 * a;
        pot[E_FP2] -= 0.3 * a;
        pot[E_T7] += 0.2 * a;
        pot[E_T8] -= 0.2 * a;
        break;
    }
    case ICTAL_SYNTH_ART_MUSCLE:
    case ICTAL_SYNTH_ART_CHEW: {
        double env = smoothstep(0.0, 0.2, t) * (1.0 - smoothstep(len - 0.2, len, t));
        if (p->ev.kind == ICTAL_SYNTH_ART_CHEW) {
            double per = 1.0 / p->p1;
            double ph = (t - per * (double)(long)(t / per)) / per;
            env *= ph < 0.4 ? 0.5 * (1.0 - synth_cos(2.0 * SYNTH_PI * ph / 0.4)) : 0.0;
        }
        /* each electrode gets its own motor-unit noise */
        for (int e = 0; e < ICTAL_SYNTH_ELECTRODES; e++) {
            if (!((p->emask >> e) & 1u))
                continue;
            double g = (e == E_T7 || e == E_T8 || e == E_FT9 || e == E_FT10) ? 1.0 : 0.6;
            pot[e] += p->amp * env * g * muscle_noise(s, st, e);
        }
        break;
    }
    case ICTAL_SYNTH_ART_POP: {
        /* sudden jump at the electrode-gel interface, exponential recovery */
        if (n == p->on) {
            st->x = p->amp * p->sign;
            st->decay = synth_exp(-1.0 / (p->p1 * fs));
        } else {
            st->x *= st->decay;
        }
        pot[p->ev.electrode] += st->x;
        break;
    }
    case ICTAL_SYNTH_ART_MAINS: {
        double env = smoothstep(0.0, 0.5, t) * (1.0 - smoothstep(len - 0.5, len, t));
        pot[p->ev.electrode] += p->amp * env * s->mains_s * 1.41421356237309505;
        break;
    }
    case ICTAL_SYNTH_ART_MOVEMENT: {
        double env = smoothstep(0.0, 0.3, t) * (1.0 - smoothstep(len - 0.3, len, t));
        /* slow swings (~1 Hz low-pass noise), shared across the head with a
         * per-electrode part, plus some muscle */
        /* cables and electrodes sway each in their own way (a common-mode
         * swing would vanish in the bipolar montage, real ones do not) */
        double w = synth_rng_normal(&st->rng);
        st->slow += s->move_a * (w - st->slow);
        double common = st->slow * s->move_norm;
        for (int e = 0; e < ICTAL_SYNTH_ELECTRODES; e++) {
            double we = synth_rng_normal(&st->rng);
            st->own[e] += s->move_a * (we - st->own[e]);
            double v = 0.5 * common + 0.85 * st->own[e] * s->move_norm;
            pot[e] += env * (p->amp * v + 20.0 * muscle_noise(s, st, e));
        }
        break;
    }
    default:
        break;
    }
}

static void update_states(struct ictal_synth *s, int64_t n)
{
    /* target weights from the vigilance plan */
    double ta = 1.0, tt = 0.1, td = 0.0, tsp = 0.0;
    for (int i = 0; i < s->n_active; i++) {
        const struct plan *p = &s->plans[s->active[i]];
        if (n >= p->off)
            continue;
        if (p->ev.kind == ICTAL_SYNTH_STATE_DROWSY) {
            ta = 0.3; tt = 1.0; td = 0.3; tsp = 0.0;
        } else if (p->ev.kind == ICTAL_SYNTH_STATE_SLEEP) {
            ta = 0.1; tt = 0.6; td = 1.0; tsp = 1.0;
        }
    }
    double a = s->w_smooth;
    s->w_alpha += a * (ta - s->w_alpha);
    s->w_theta += a * (tt - s->w_theta);
    s->w_delta += a * (td - s->w_delta);
    s->w_spindle += a * (tsp - s->w_spindle);
}

size_t ictal_synth_generate(struct ictal_synth *s, float *out, size_t stride, size_t n)
{
    if (!s || !out || n == 0 || stride < n)
        return 0;
    double fs = s->fs;
    size_t done = 0;
    while (done < n && s->pos < s->total) {
        int64_t t = s->pos;
        /* activate events whose window starts now */
        while (s->next_plan < s->n_plans && s->plans[s->next_plan].win0 <= t) {
            const struct plan *p = &s->plans[s->next_plan];
            if (p->win1 > t && s->n_active < MAX_ACTIVE) {
                int slot = s->n_active++;
                s->active[slot] = (int)s->next_plan;
                struct evstate *st = &s->evs[slot];
                memset(st, 0, sizeof *st);
                synth_rng_seed(&st->rng, s->cfg.seed, p->stream);
                if (ictal_synth_kind_is_seizure(p->ev.kind))
                    seizure_begin(s, p);
            }
            s->next_plan++;
        }
        update_states(s, t);

        double pot[ICTAL_SYNTH_ELECTRODES];     /* background */
        double evpot[ICTAL_SYNTH_ELECTRODES];   /* seizures and artifacts */
        double bgscale[ICTAL_SYNTH_ELECTRODES];
        double src[ICTAL_SYNTH_ELECTRODES];
        for (int j = 0; j < ICTAL_SYNTH_ELECTRODES; j++) {
            double w = synth_rng_normal(&s->bg_rng);
            double v = 0.0;
            for (int k = 0; k < N_PINK_POLES; k++) {
                s->pink[j][k] += s->pink_a[k] * (w - s->pink[j][k]);
                v += s->pink_w[k] * s->pink[j][k];
            }
            src[j] = v;
            bgscale[j] = 1.0;
            evpot[j] = 0.0;
        }
        /* alpha (two hemispheres sharing most of their drive), theta, delta */
        double wc = synth_rng_normal(&s->bg_rng);
        double wl = synth_rng_normal(&s->bg_rng), wr = synth_rng_normal(&s->bg_rng);
        double al = resonator_step(&s->alpha[0], 0.8 * wc + 0.6 * wl);
        double ar = resonator_step(&s->alpha[1], 0.8 * wc + 0.6 * wr);
        s->alpha_env += s->alpha_env_a * (synth_rng_normal(&s->bg_rng) - s->alpha_env);
        double aenv = 1.0 + 0.7 * s->alpha_env * s->alpha_env_norm;
        if (aenv < 0.0)
            aenv = 0.0;
        aenv *= s->w_alpha;
        double th = resonator_step(&s->theta, synth_rng_normal(&s->bg_rng)) * s->w_theta;
        double de = resonator_step(&s->delta, synth_rng_normal(&s->bg_rng)) * s->w_delta;
        double spw = synth_rng_normal(&s->bg_rng);
        double sp = resonator_step(&s->spindle, spw);
        double spenv = 0.0;
        if (s->w_spindle > 0.5) {
            if (s->spindle_t >= 0.0) {
                double x = s->spindle_t / s->spindle_len;
                spenv = 0.5 * (1.0 - synth_cos(2.0 * SYNTH_PI * x)) * 2.0;
                s->spindle_t += 1.0 / fs;
                if (s->spindle_t >= s->spindle_len) {
                    s->spindle_t = -1.0;
                    s->spindle_wait = synth_rng_uniform(&s->spindle_rng, 3.0, 12.0);
                }
            } else {
                s->spindle_wait -= 1.0 / fs;
                if (s->spindle_wait <= 0.0) {
                    s->spindle_t = 0.0;
                    s->spindle_len = synth_rng_uniform(&s->spindle_rng, 0.5, 1.5);
                }
            }
        }
        sp *= spenv * s->w_spindle;

        for (int e = 0; e < ICTAL_SYNTH_ELECTRODES; e++) {
            double v = 0.0;
            for (int j = 0; j < ICTAL_SYNTH_ELECTRODES; j++)
                v += s->mix[e][j] * src[j];
            pot[e] = v + aenv * (s->map_alpha[0][e] * al + s->map_alpha[1][e] * ar)
                   + th * s->map_theta[e] + de * s->map_delta[e] + sp * s->map_spindle[e];
        }
        /* events */
        for (int i = 0; i < s->n_active; i++) {
            const struct plan *p = &s->plans[s->active[i]];
            if (ictal_synth_kind_is_seizure(p->ev.kind))
                seizure_sample(s, p, t, evpot, bgscale);
            else if (p->ev.kind < ICTAL_SYNTH_ART_FLAT && t >= p->on)
                artifact_sample(s, p, &s->evs[i], t, evpot);
        }
        /* post-ictal suppression and ictal electrodecrement scale the
         * background only */
        for (int e = 0; e < ICTAL_SYNTH_ELECTRODES; e++) {
            pot[e] = pot[e] * bgscale[e] * (1.0 - s->supp[e]) + evpot[e];
            s->supp[e] *= s->supp_decay[e];
        }
        /* mains phasor */
        double mc = s->mains_c * s->mains_rc - s->mains_s * s->mains_rs;
        double ms = s->mains_s * s->mains_rc + s->mains_c * s->mains_rs;
        double norm = 1.0 / sqrt(mc * mc + ms * ms);
        s->mains_c = mc * norm;
        s->mains_s = ms * norm;
        if (s->cfg.mains_uv > 0.0)
            for (int e = 0; e < ICTAL_SYNTH_ELECTRODES; e++)
                pot[e] += s->cfg.mains_uv * s->mains_gain[e] * s->mains_s;

        double ref = REF_WEIGHT * (pot[E_T7] + pot[E_T8]);
        for (int c = 0; c < s->nch; c++) {
            double v = s->chb[c] >= 0 ? pot[s->cha[c]] - pot[s->chb[c]] : pot[s->cha[c]] - ref;
            v += AMP_NOISE_UV * synth_rng_normal(&s->noise_rng);
            out[(size_t)c * stride + done] = (float)v;
        }
        /* channel artifacts and retirement of finished events */
        for (int i = 0; i < s->n_active; i++) {
            const struct plan *p = &s->plans[s->active[i]];
            if (t >= p->on && t < p->off) {
                int c = (int)p->p1;
                if (p->ev.kind == ICTAL_SYNTH_ART_FLAT) {
                    out[(size_t)c * stride + done] = 0.0f;
                } else if (p->ev.kind == ICTAL_SYNTH_ART_CLIP) {
                    double tt = (double)(t - p->on) / fs, len = (double)(p->off - p->on) / fs;
                    double drift = 6000.0 * p->sign * smoothstep(0.0, 0.5, tt)
                                 * (1.0 - smoothstep(len - 0.3, len, tt));
                    out[(size_t)c * stride + done] += (float)drift;
                }
            }
        }
        for (int i = 0; i < s->n_active;) {
            const struct plan *p = &s->plans[s->active[i]];
            if (t + 1 >= p->win1) {
                if (ictal_synth_kind_is_seizure(p->ev.kind))
                    seizure_end(s, p);
                s->n_active--;
                s->active[i] = s->active[s->n_active];
                s->evs[i] = s->evs[s->n_active];
            } else {
                i++;
            }
        }
        for (int c = 0; c < s->nch; c++) {
            float *v = &out[(size_t)c * stride + done];
            if (*v > (float)ICTAL_SYNTH_CLIP_UV)
                *v = (float)ICTAL_SYNTH_CLIP_UV;
            else if (*v < (float)-ICTAL_SYNTH_CLIP_UV)
                *v = (float)-ICTAL_SYNTH_CLIP_UV;
        }
        s->pos++;
        done++;
    }
    return done;
}
