/*
 * guard.c — the input guard (see ictal/guard.h for the semantics).
 *
 * All state lives in one arena (a header, then one record per channel), so a
 * state image is a memcpy and load only has to check the header. Work per
 * sample is O(1): a finiteness test, two threshold compares and the flat
 * stretch's running min/max. Blocks end at absolute sample positions, and
 * process() splits its input there, so flags do not depend on the chunking.
 *
 * Choices the header leaves open:
 *  - CLIPPED and IMPLAUSIBLE look at the finite input samples; a replaced
 *    non-finite sample is counted as non-finite only;
 *  - the flat stretch follows the scrubbed signal, so a channel stuck at
 *    NaN (held at its last finite value) is also flat;
 *  - CLIPPED needs ceil(1% of block) samples, at least 1.
 */
#include "ictal/guard.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define STATE_MAGIC 0x6963746c67726431ull /* "ictlgrd1" */
#define MAX_CHANNELS 1024
#define MAX_RATE 1e7

/* The arena's first bytes; the configuration fields make load refuse an
 * image from another configuration. */
struct guard_hdr {
    uint64_t magic, n_channels, block;
    double rate, flat_uv, flat_duration, clip_uv, implausible_uv;
    uint64_t pos;          /* samples consumed since create/reset */
    uint64_t in_block;     /* samples of the current block consumed (0..block-1) */
    uint64_t scrub_block;  /* a non-finite sample in the block of the last consumed sample */
};

struct guard_chan {
    struct ictal_guard_counts counts;
    uint64_t flat_start;   /* first sample of the current flat stretch */
    double flat_min, flat_max;
    uint64_t blk_clipped;  /* clipped samples in the current block */
    uint32_t blk_implausible, blk_nonfinite;
    uint32_t flags;        /* as of the last block end */
    float last;            /* last finite sample (0 before the first) */
};

struct ictal_guard {
    struct ictal_guard_config cfg;
    size_t block;
    uint64_t flat_need;     /* samples a stretch needs to be flat; 0: detection off */
    uint64_t clip_need;     /* clipped samples in a block for CLIPPED */
    unsigned char *arena;
    size_t arena_bytes;
    struct guard_hdr *hdr;
    struct guard_chan *ch;
};

static bool finite_nonneg(double x)
{
    return isfinite(x) && x >= 0.0;
}

struct ictal_guard *ictal_guard_create(const struct ictal_guard_config *cfg, struct ictal_error *err)
{
    if (!cfg) {
        ictal_error_set(err, ICTAL_EINVAL, "guard: NULL configuration");
        return NULL;
    }
    if (cfg->n_channels < 1 || cfg->n_channels > MAX_CHANNELS) {
        ictal_error_set(err, ICTAL_EINVAL, "guard: n_channels %d is not within 1..%d", cfg->n_channels,
                        MAX_CHANNELS);
        return NULL;
    }
    if (!isfinite(cfg->rate) || cfg->rate < 0.5 || cfg->rate > MAX_RATE) {
        ictal_error_set(err, ICTAL_EINVAL, "guard: rate %g Hz is not within 0.5..%g", cfg->rate, MAX_RATE);
        return NULL;
    }
    if (!finite_nonneg(cfg->flat_uv)) {
        ictal_error_set(err, ICTAL_EINVAL, "guard: flat_uv %g must be >= 0 (0: off)", cfg->flat_uv);
        return NULL;
    }
    if (!finite_nonneg(cfg->flat_duration) || cfg->flat_duration > 1e6) {
        ictal_error_set(err, ICTAL_EINVAL, "guard: flat_duration %g s must be within 0..1e6 (0: off)",
                        cfg->flat_duration);
        return NULL;
    }
    if (!finite_nonneg(cfg->clip_uv)) {
        ictal_error_set(err, ICTAL_EINVAL, "guard: clip_uv %g must be >= 0 (0: off)", cfg->clip_uv);
        return NULL;
    }
    if (!isfinite(cfg->implausible_uv) || cfg->implausible_uv <= 0.0) {
        ictal_error_set(err, ICTAL_EINVAL, "guard: implausible_uv %g must be > 0", cfg->implausible_uv);
        return NULL;
    }
    struct ictal_guard *g = calloc(1, sizeof *g);
    if (!g) {
        ictal_error_set(err, ICTAL_ENOMEM, "guard: cannot allocate the object");
        return NULL;
    }
    g->cfg = *cfg;
    g->block = (size_t)lround(cfg->rate);
    /* "At least flat_duration seconds": the smallest whole number of samples
     * not shorter, forgiving the last bits of the product (5 s * 256 Hz). */
    double need = cfg->flat_duration * cfg->rate;
    g->flat_need = cfg->flat_uv > 0.0 && cfg->flat_duration > 0.0 ? (uint64_t)ceil(need - need * 1e-12) : 0;
    if (g->flat_need == 0 && cfg->flat_uv > 0.0 && cfg->flat_duration > 0.0)
        g->flat_need = 1;
    g->clip_need = (g->block + 99) / 100;
    g->arena_bytes = sizeof(struct guard_hdr) + (size_t)cfg->n_channels * sizeof(struct guard_chan);
    g->arena = calloc(1, g->arena_bytes);
    if (!g->arena) {
        ictal_error_set(err, ICTAL_ENOMEM, "guard: cannot allocate %zu bytes of state", g->arena_bytes);
        free(g);
        return NULL;
    }
    g->hdr = (struct guard_hdr *)(void *)g->arena;
    g->ch = (struct guard_chan *)(void *)(g->arena + sizeof(struct guard_hdr));
    ictal_guard_reset(g);
    ictal_error_clear(err);
    return g;
}

void ictal_guard_destroy(struct ictal_guard *g)
{
    if (!g)
        return;
    free(g->arena);
    free(g);
}

void ictal_guard_reset(struct ictal_guard *g)
{
    if (!g)
        return;
    memset(g->arena, 0, g->arena_bytes);
    struct guard_hdr *h = g->hdr;
    h->magic = STATE_MAGIC;
    h->n_channels = (uint64_t)g->cfg.n_channels;
    h->block = g->block;
    h->rate = g->cfg.rate;
    h->flat_uv = g->cfg.flat_uv;
    h->flat_duration = g->cfg.flat_duration;
    h->clip_uv = g->cfg.clip_uv;
    h->implausible_uv = g->cfg.implausible_uv;
    for (int c = 0; c < g->cfg.n_channels; c++) {
        /* An empty stretch: the first sample sets both ends. */
        g->ch[c].flat_min = INFINITY;
        g->ch[c].flat_max = -INFINITY;
    }
}

size_t ictal_guard_block(const struct ictal_guard *g)
{
    return g ? g->block : 0;
}

size_t ictal_guard_until_block_end(const struct ictal_guard *g)
{
    return g ? g->block - (size_t)g->hdr->in_block : 0;
}

/* n samples of one channel, none crossing a block end; pos0 is the absolute
 * index of x[0]. Returns whether any was non-finite. */
static bool scan_channel(const struct ictal_guard *g, struct guard_chan *ch, float *x, size_t n,
                         uint64_t pos0)
{
    const double clip = g->cfg.clip_uv, impl = g->cfg.implausible_uv, band = g->cfg.flat_uv;
    const bool clip_on = clip > 0.0, flat_on = g->flat_need > 0;
    bool nonfinite = false;
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        if (!isfinite(v)) {
            v = ch->last;
            x[i] = v;
            ch->counts.nonfinite++;
            nonfinite = true;
        } else {
            ch->last = v;
            double a = fabs((double)v);
            if (clip_on && a >= clip) {
                ch->counts.clipped++;
                ch->blk_clipped++;
            }
            if (a > impl) {
                ch->counts.implausible++;
                ch->blk_implausible = 1;
            }
        }
        if (flat_on) {
            double lo = ch->flat_min < v ? ch->flat_min : (double)v;
            double hi = ch->flat_max > v ? ch->flat_max : (double)v;
            if (hi - lo > band) {
                ch->flat_start = pos0 + i;
                lo = hi = v;
            }
            ch->flat_min = lo;
            ch->flat_max = hi;
        }
    }
    if (nonfinite)
        ch->blk_nonfinite = 1;
    return nonfinite;
}

static void end_block(struct ictal_guard *g)
{
    const uint64_t end = g->hdr->pos;
    for (int c = 0; c < g->cfg.n_channels; c++) {
        struct guard_chan *ch = &g->ch[c];
        uint32_t f = 0;
        if (ch->blk_nonfinite)
            f |= ICTAL_QUALITY_NONFINITE;
        if (g->cfg.clip_uv > 0.0 && ch->blk_clipped >= g->clip_need)
            f |= ICTAL_QUALITY_CLIPPED;
        if (ch->blk_implausible)
            f |= ICTAL_QUALITY_IMPLAUSIBLE;
        if (g->flat_need > 0 && end - ch->flat_start >= g->flat_need)
            f |= ICTAL_QUALITY_FLAT;
        ch->flags = f;
        if (f)
            ch->counts.blocks_flagged++;
        ch->blk_clipped = 0;
        ch->blk_implausible = 0;
        ch->blk_nonfinite = 0;
    }
    g->hdr->in_block = 0;
}

size_t ictal_guard_process(struct ictal_guard *g, float *const *buf, size_t n)
{
    if (!g || !buf)
        return 0;
    struct guard_hdr *h = g->hdr;
    size_t ended = 0, done = 0;
    while (done < n) {
        size_t m = g->block - (size_t)h->in_block;
        if (m > n - done)
            m = n - done;
        /* scrubbed_in_block follows the block of the last consumed sample:
         * it clears when the next block's first sample arrives. */
        if (h->in_block == 0)
            h->scrub_block = 0;
        for (int c = 0; c < g->cfg.n_channels; c++) {
            if (scan_channel(g, &g->ch[c], buf[c] + done, m, h->pos))
                h->scrub_block = 1;
        }
        h->pos += m;
        h->in_block += m;
        done += m;
        if (h->in_block == g->block) {
            end_block(g);
            ended++;
        }
    }
    return ended;
}

unsigned ictal_guard_flags(const struct ictal_guard *g, int c)
{
    if (!g || c < 0 || c >= g->cfg.n_channels)
        return 0;
    return g->ch[c].flags;
}

int ictal_guard_scrubbed_in_block(const struct ictal_guard *g)
{
    return g ? (int)g->hdr->scrub_block : 0;
}

struct ictal_guard_counts ictal_guard_counts(const struct ictal_guard *g, int c)
{
    struct ictal_guard_counts z = {0, 0, 0, 0};
    if (!g || c < 0 || c >= g->cfg.n_channels)
        return z;
    return g->ch[c].counts;
}

size_t ictal_guard_state_size(const struct ictal_guard *g)
{
    return g ? g->arena_bytes : 0;
}

int ictal_guard_state_save(const struct ictal_guard *g, void *buf, size_t cap)
{
    if (!g || !buf)
        return ICTAL_EINVAL;
    if (cap < g->arena_bytes)
        return ICTAL_ERANGE;
    memcpy(buf, g->arena, g->arena_bytes);
    return 0;
}

int ictal_guard_state_load(struct ictal_guard *g, const void *buf, size_t len)
{
    if (!g || !buf || len != g->arena_bytes)
        return ICTAL_EINVAL;
    struct guard_hdr h;
    memcpy(&h, buf, sizeof h);
    const struct guard_hdr *mine = g->hdr;
    /* Bitwise compares: an image only fits the very same configuration. */
    if (h.magic != STATE_MAGIC || h.n_channels != mine->n_channels || h.block != mine->block ||
        memcmp(&h.rate, &mine->rate, sizeof h.rate) != 0 ||
        memcmp(&h.flat_uv, &mine->flat_uv, sizeof h.flat_uv) != 0 ||
        memcmp(&h.flat_duration, &mine->flat_duration, sizeof h.flat_duration) != 0 ||
        memcmp(&h.clip_uv, &mine->clip_uv, sizeof h.clip_uv) != 0 ||
        memcmp(&h.implausible_uv, &mine->implausible_uv, sizeof h.implausible_uv) != 0)
        return ICTAL_EINVAL;
    /* process() trusts in_block < block to bound its loop. */
    if (h.in_block >= h.block || h.scrub_block > 1 || h.pos % h.block != h.in_block)
        return ICTAL_EINVAL;
    memcpy(g->arena, buf, len);
    return 0;
}

const char *ictal_quality_string(unsigned flags, char *buf, size_t cap)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        {ICTAL_QUALITY_FLAT, "flat"},
        {ICTAL_QUALITY_CLIPPED, "clipped"},
        {ICTAL_QUALITY_IMPLAUSIBLE, "implausible"},
        {ICTAL_QUALITY_NONFINITE, "nonfinite"},
    };
    if (!buf || cap == 0)
        return buf;
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(flags & names[i].bit))
            continue;
        /* Whole names only: a cut "impl" would read as another flag. */
        size_t need = strlen(names[i].name) + (len > 0);
        if (len + need + 1 > cap)
            break;
        if (len > 0)
            buf[len++] = '|';
        memcpy(buf + len, names[i].name, strlen(names[i].name) + 1);
        len += strlen(names[i].name);
    }
    return buf;
}
