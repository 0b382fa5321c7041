/*
 * synth_math.c — deterministic exp/sin/cos/log and the simulator's PRNG.
 *
 * Only IEEE-754 basic operations are used, so results are the same bits on every
 * conforming machine (see synth_internal.h for why libm is avoided).
 */
#include "synth_internal.h"

#include <string.h>

/* ln 2 split so that k * LN2_HI is exact for |k| < 2^11 (Cody–Waite reduction). */
static const double LN2_HI = 6.93147180369123816490e-01;
static const double LN2_LO = 1.90821492927058770002e-10;
static const double INV_LN2 = 1.44269504088896338700e+00;

static double round_half_away(double x)
{
    return (double)(long long)(x >= 0.0 ? x + 0.5 : x - 0.5);
}

/* 2^k for integer k in [-1022, 1023], built from the exponent bits. */
static double pow2i(int k)
{
    uint64_t bits = (uint64_t)(k + 1023) << 52;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

double synth_exp(double x)
{
    if (!(x > -700.0))   /* also catches NaN */
        return 0.0;
    if (x > 700.0)
        x = 700.0;
    double kd = round_half_away(x * INV_LN2);
    int k = (int)kd;
    double r = (x - kd * LN2_HI) - kd * LN2_LO; /* |r| <= 0.35 */
    /* Taylor series to r^13/13!: truncation < 2e-17 relative for |r| <= 0.35. */
    double t = 1.0 / 6227020800.0;
    t = t * r + 1.0 / 479001600.0;
    t = t * r + 1.0 / 39916800.0;
    t = t * r + 1.0 / 3628800.0;
    t = t * r + 1.0 / 362880.0;
    t = t * r + 1.0 / 40320.0;
    t = t * r + 1.0 / 5040.0;
    t = t * r + 1.0 / 720.0;
    t = t * r + 1.0 / 120.0;
    t = t * r + 1.0 / 24.0;
    t = t * r + 1.0 / 6.0;
    t = t * r + 0.5;
    t = t * r + 1.0;
    t = t * r + 1.0;
    /* Split the scaling so that k down to -1010 stays normal. */
    if (k < -1000)
        return t * pow2i(k + 60) * pow2i(-60);
    return t * pow2i(k);
}

/* sin and cos of r for |r| <= pi/4 (Taylor to r^17 / r^16). */
static double sin_poly(double r)
{
    double r2 = r * r;
    return r + r * r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0
           + r2 * (1.0 / 362880.0 + r2 * (-1.0 / 39916800.0 + r2 * (1.0 / 6227020800.0
           + r2 * (-1.0 / 1307674368000.0 + r2 * (1.0 / 355687428096000.0))))))));
}

static double cos_poly(double r)
{
    double r2 = r * r;
    return 1.0 + r2 * (-0.5 + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 * (1.0 / 40320.0
           + r2 * (-1.0 / 3628800.0 + r2 * (1.0 / 479001600.0 + r2 * (-1.0 / 87178291200.0
           + r2 * (1.0 / 20922789888000.0))))))));
}

/* pi/2 in three parts for the reduction x - k*pi/2. */
static const double PIO2_1 = 1.57079632673412561417e+00;
static const double PIO2_2 = 6.07710050650619224932e-11;
static const double PIO2_3 = 2.02226624879595063154e-21;

static double reduce(double x, int *quadrant)
{
    double kd = round_half_away(x * (2.0 / SYNTH_PI));
    long long k = (long long)kd;
    *quadrant = (int)(k & 3);
    return ((x - kd * PIO2_1) - kd * PIO2_2) - kd * PIO2_3;
}

double synth_sin(double x)
{
    int q;
    double r = reduce(x, &q);
    switch (q) {
    case 0: return sin_poly(r);
    case 1: return cos_poly(r);
    case 2: return -sin_poly(r);
    default: return -cos_poly(r);
    }
}

double synth_cos(double x)
{
    int q;
    double r = reduce(x, &q);
    switch (q) {
    case 0: return cos_poly(r);
    case 1: return -sin_poly(r);
    case 2: return -cos_poly(r);
    default: return sin_poly(r);
    }
}

double synth_log(double x)
{
    if (!(x > 0.0))
        return -745.0;
    /* x = m * 2^e with m in [sqrt(0.5), sqrt(2)); log m by the atanh series. */
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int e = (int)((bits >> 52) & 0x7ff) - 1023;
    bits = (bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
    double m;
    memcpy(&m, &bits, sizeof m);
    if (m > 1.41421356237309504880) {
        m *= 0.5;
        e += 1;
    }
    double s = (m - 1.0) / (m + 1.0); /* |s| <= 0.1716 */
    double s2 = s * s;
    double t = 0.0;
    for (int n = 27; n >= 1; n -= 2)
        t = t * s2 + 1.0 / (double)n;
    return 2.0 * s * t + (double)e * LN2_HI + (double)e * LN2_LO;
}

/* ---- PRNG ----------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void synth_rng_seed(struct synth_rng *r, uint64_t seed, uint64_t stream)
{
    /* Streams give independent sequences for independent parts of the
     * simulation, so adding an artifact kind never shifts the background. */
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 1;
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t synth_rng_next(struct synth_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double synth_rng_unit(struct synth_rng *r)
{
    return (double)(synth_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

double synth_rng_uniform(struct synth_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * synth_rng_unit(r);
}

uint32_t synth_rng_below(struct synth_rng *r, uint32_t n)
{
    return (uint32_t)(((synth_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

double synth_rng_normal(struct synth_rng *r)
{
    uint64_t v = synth_rng_next(r);
    double s = (double)(v & 0xffff) + (double)((v >> 16) & 0xffff)
             + (double)((v >> 32) & 0xffff) + (double)(v >> 48);
    /* mean 4 * 65535/2, sd sqrt(4 * (65536^2 - 1) / 12) */
    return (s - 131070.0) * (1.0 / 37837.22636);
}
