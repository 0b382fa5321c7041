/*
 * synth_nmm.c — the Wendling et al. (2002) neural mass model, integrated with
 * Euler–Maruyama at SYNTH_NMM_RATE steps per second.
 *
 * Wendling F, Bartolomei F, Bellanger JJ, Chauvel P (2002). Epileptic fast
 * activity can be explained by a model of impaired GABAergic dendritic
 * inhibition. Eur J Neurosci 15(9):1499–1508. It extends Jansen & Rit (1995,
 * Biol Cybern 73:357) with a fast somatic inhibitory population; lowering the
 * slow dendritic inhibition B with the fast inhibition G intact produces the
 * low-voltage fast activity seen at the onset of temporal-lobe seizures.
 */
#include "synth_internal.h"


/* Connectivity constants of the paper (C = 135). */
#define NMM_C   135.0
#define NMM_C1  (1.00 * NMM_C)
#define NMM_C2  (0.80 * NMM_C)
#define NMM_C3  (0.25 * NMM_C)
#define NMM_C4  (0.25 * NMM_C)
#define NMM_C5  (0.30 * NMM_C)
#define NMM_C6  (0.10 * NMM_C)
#define NMM_C7  (0.80 * NMM_C)
/* Sigmoid: S(v) = 2 e0 / (1 + exp(r (v0 - v))). */
#define NMM_E0  2.5
#define NMM_V0  6.0
#define NMM_R   0.56

static double sigm(double v)
{
    return 2.0 * NMM_E0 / (1.0 + synth_exp(NMM_R * (NMM_V0 - v)));
}

void synth_nmm_init(struct synth_nmm *m, uint64_t seed, uint64_t stream)
{
    for (int i = 0; i < 10; i++)
        m->y[i] = 0.0;
    m->hp_x1 = 0.0;
    m->hp_y1 = 0.0;
    m->env = 0.0;
    m->last_hp = 0.0;
    synth_rng_seed(&m->rng, seed, stream);
}

double synth_nmm_step(struct synth_nmm *m, const struct synth_nmm_param *p)
{
    const double dt = 1.0 / SYNTH_NMM_RATE;
    const double a = 100.0 * p->k, b = 50.0 * p->k, g = 500.0 * p->k;
    double *y = m->y;
    /* The afferent input is white noise sampled once per step, as in the
     * published simulations (the pulse density is a rate, never negative). */
    double pin = p->p_mean + p->p_sd * synth_rng_normal(&m->rng);
    if (pin < 0.0)
        pin = 0.0;
    double s_pyr = sigm(y[1] - y[2] - y[3]);
    double s_c1 = sigm(NMM_C1 * y[0]);
    double s_c3 = sigm(NMM_C3 * y[0]);
    double s_fast = sigm(NMM_C5 * y[0] - NMM_C6 * y[4]);

    double d5 = p->A * a * s_pyr - 2.0 * a * y[5] - a * a * y[0];
    double d6 = p->A * a * (pin + NMM_C2 * s_c1) - 2.0 * a * y[6] - a * a * y[1];
    double d7 = p->B * b * NMM_C4 * s_c3 - 2.0 * b * y[7] - b * b * y[2];
    double d8 = p->G * g * NMM_C7 * s_fast - 2.0 * g * y[8] - g * g * y[3];
    double d9 = p->B * b * s_c3 - 2.0 * b * y[9] - b * b * y[4];

    for (int i = 0; i < 5; i++)
        y[i] += dt * y[i + 5];
    y[5] += dt * d5;
    y[6] += dt * d6;
    y[7] += dt * d7;
    y[8] += dt * d8;
    y[9] += dt * d9;
    return y[1] - y[2] - y[3];
}

double synth_nmm_step_norm(struct synth_nmm *m, const struct synth_nmm_param *p)
{
    double x = synth_nmm_step(m, p);
    /* One-pole DC blocker, corner 1 Hz at 2048 Hz: the model's mean potential
     * shifts by ~10 mV between regimes and must not leak into the EEG. */
    const double R = 0.9969367398092255;
    double hp = x - m->hp_x1 + R * m->hp_y1;
    m->hp_x1 = x;
    m->hp_y1 = hp;
    m->last_hp = hp;
    /* Peak envelope: instant attack, 1.5 s release. Dividing by it bounds the
     * output by 1 with no overshoot when the regime's amplitude jumps a
     * thousandfold, and keeps the spike/wave shape within each cycle. */
    const double decay = 0.9996745321428246;
    double a = hp < 0.0 ? -hp : hp;
    m->env *= decay;
    if (a > m->env)
        m->env = a;
    double env = m->env < 1e-9 ? 1e-9 : m->env;
    return hp / env;
}
