/*
 * model_arch.c — the ictal architecture in a tensor file's __metadata__:
 * parse the JSON, check every field and every tensor a layer needs.
 * Spec: docs/model-format.md.
 */
#include "ictal/model.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ictal_model {
    struct ictal_tensorfile *tf;
    char *json;
    struct ictal_model_info info;
    int n_layers;
    struct ictal_layer layers[ICTAL_MODEL_MAX_LAYERS];
    const float *head_w, *head_b, *attn_w, *attn_b;
    unsigned char *used; /* (n_tensors) 1 when a layer claimed the tensor */
};

/* A parse context: where we are, for messages. */
struct ctx {
    const char *what;
    struct ictal_error *err;
    struct ictal_model *m;
};

static int jint(struct ctx *c, const cJSON *o, const char *path, const char *key, int req,
                long def, long lo, long hi, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        if (req)
            return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata %s.%s is missing", c->what, path, key);
        *out = (int)def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
        return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata %s.%s is not an integer", c->what, path, key);
    if (!(v->valuedouble >= (double)lo && v->valuedouble <= (double)hi))
        return ictal_error_set(c->err, ICTAL_ERANGE, "%s: metadata %s.%s = %g is outside [%ld, %ld]", c->what,
                               path, key, v->valuedouble, lo, hi);
    *out = (int)v->valuedouble;
    return 0;
}

static int jnum(struct ctx *c, const cJSON *o, const char *path, const char *key, int req,
                double def, double lo, double hi, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        if (req)
            return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata %s.%s is missing", c->what, path, key);
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v))
        return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata %s.%s is not a number", c->what, path, key);
    if (!(v->valuedouble >= lo && v->valuedouble <= hi))
        return ictal_error_set(c->err, ICTAL_ERANGE, "%s: metadata %s.%s = %g is outside [%g, %g]", c->what,
                               path, key, v->valuedouble, lo, hi);
    *out = v->valuedouble;
    return 0;
}

static int jstr(struct ctx *c, const cJSON *o, const char *path, const char *key, int req,
                const char *def, char *out, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    const char *s = def;
    if (!v) {
        if (req)
            return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata %s.%s is missing", c->what, path, key);
    } else if (!cJSON_IsString(v)) {
        return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata %s.%s is not a string", c->what, path, key);
    } else {
        s = v->valuestring;
    }
    if (strlen(s) >= cap)
        return ictal_error_set(c->err, ICTAL_ERANGE, "%s: metadata %s.%s is longer than %zu characters",
                               c->what, path, key, cap - 1);
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int jbool(struct ctx *c, const cJSON *o, const char *path, const char *key, int def, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsBool(v))
        return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata %s.%s is not a boolean", c->what, path, key);
    *out = cJSON_IsTrue(v);
    return 0;
}

/* Claim tensor "<prefix>.<suffix>" with exactly the given shape. */
static int tensor(struct ctx *c, const char *prefix, const char *suffix, int rank, const int64_t *shape,
                  const float **out)
{
    char name[160];
    snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", suffix);
    const struct ictal_tensor *t = ictal_tensorfile_get(c->m->tf, name);
    if (!t)
        return ictal_error_set(c->err, ICTAL_ENOENT, "%s: tensor '%s' is missing", c->what, name);
    int ok = t->rank == rank;
    for (int i = 0; ok && i < rank; i++)
        ok = t->shape[i] == shape[i];
    if (!ok) {
        char want[96] = "", got[96] = "";
        for (int i = 0; i < rank; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? ", " : "", (long long)shape[i]);
        for (int i = 0; i < t->rank; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "", (long long)t->shape[i]);
        return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: tensor '%s' has shape (%s), expected (%s)",
                               c->what, name, got, want);
    }
    c->m->used[t - ictal_tensorfile_at(c->m->tf, 0)] = 1;
    *out = t->data;
    return 0;
}

#define T1(a) ((const int64_t[]){(a)})
#define T2(a, b) ((const int64_t[]){(a), (b)})
#define T3(a, b, d) ((const int64_t[]){(a), (b), (d)})

static int parse_layer(struct ctx *c, const cJSON *jl, int i, int in_dim, struct ictal_layer *L)
{
    char path[32];
    snprintf(path, sizeof path, "layers[%d]", i);
    const int MAXD = ICTAL_MODEL_MAX_DIM;
    char type[16];
    int rc;
    if (!cJSON_IsObject(jl))
        return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata %s is not an object", c->what, path);
    if ((rc = jstr(c, jl, path, "type", 1, "", type, sizeof type)) < 0)
        return rc;
    if ((rc = jstr(c, jl, path, "name", strcmp(type, "act") != 0, "", L->name, sizeof L->name)) < 0)
        return rc;
    L->in_dim = in_dim;
    L->out_dim = in_dim;
    L->stride = 1;
    const char *n = L->name;
    if (strcmp(type, "conv1d") == 0) {
        int cin = 0, cout = 0, k = 0, s = 0, d = 0, g = 0, bias = 0;
        if ((rc = jint(c, jl, path, "in", 1, 0, 1, MAXD, &cin)) < 0 ||
            (rc = jint(c, jl, path, "out", 1, 0, 1, MAXD, &cout)) < 0 ||
            (rc = jint(c, jl, path, "kernel", 1, 0, 1, 1024, &k)) < 0 ||
            (rc = jint(c, jl, path, "stride", 0, 1, 1, 1024, &s)) < 0 ||
            (rc = jint(c, jl, path, "dilation", 0, 1, 1, 1024, &d)) < 0 ||
            (rc = jint(c, jl, path, "groups", 0, 1, 1, MAXD, &g)) < 0 ||
            (rc = jbool(c, jl, path, "bias", 1, &bias)) < 0)
            return rc;
        if (cin % g || cout % g)
            return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata %s: groups %d does not divide in %d and out %d",
                                   c->what, path, g, cin, cout);
        if ((long)(k - 1) * d + 1 > 8192)
            return ictal_error_set(c->err, ICTAL_ERANGE, "%s: metadata %s: receptive span %ld too large",
                                   c->what, path, (long)(k - 1) * d + 1);
        L->type = ICTAL_LAYER_CONV1D;
        L->out_dim = cout;
        L->stride = s;
        L->u.conv.kernel = k;
        L->u.conv.stride = s;
        L->u.conv.dilation = d;
        L->u.conv.groups = g;
        L->in_dim = cin;
        if ((rc = tensor(c, n, "weight", 3, T3(cout, cin / g, k), &L->u.conv.weight)) < 0)
            return rc;
        L->u.conv.bias = NULL;
        if (bias && (rc = tensor(c, n, "bias", 1, T1(cout), &L->u.conv.bias)) < 0)
            return rc;
    } else if (strcmp(type, "linear") == 0) {
        int cin = 0, cout = 0, bias = 0;
        if ((rc = jint(c, jl, path, "in", 1, 0, 1, MAXD, &cin)) < 0 ||
            (rc = jint(c, jl, path, "out", 1, 0, 1, MAXD, &cout)) < 0 ||
            (rc = jbool(c, jl, path, "bias", 1, &bias)) < 0)
            return rc;
        L->type = ICTAL_LAYER_LINEAR;
        L->in_dim = cin;
        L->out_dim = cout;
        if ((rc = tensor(c, n, "weight", 2, T2(cout, cin), &L->u.linear.weight)) < 0)
            return rc;
        L->u.linear.bias = NULL;
        if (bias && (rc = tensor(c, n, "bias", 1, T1(cout), &L->u.linear.bias)) < 0)
            return rc;
    } else if (strcmp(type, "layernorm") == 0 || strcmp(type, "rmsnorm") == 0) {
        int dim = 0;
        double eps = 0;
        if ((rc = jint(c, jl, path, "dim", 1, 0, 1, MAXD, &dim)) < 0 ||
            (rc = jnum(c, jl, path, "eps", 0, 1e-5, 1e-12, 1.0, &eps)) < 0)
            return rc;
        L->type = type[0] == 'l' ? ICTAL_LAYER_LAYERNORM : ICTAL_LAYER_RMSNORM;
        L->in_dim = L->out_dim = dim;
        L->u.norm.eps = (float)eps;
        if ((rc = tensor(c, n, "weight", 1, T1(dim), &L->u.norm.weight)) < 0)
            return rc;
        L->u.norm.bias = NULL;
        if (L->type == ICTAL_LAYER_LAYERNORM && (rc = tensor(c, n, "bias", 1, T1(dim), &L->u.norm.bias)) < 0)
            return rc;
    } else if (strcmp(type, "act") == 0) {
        char fn[16];
        if ((rc = jstr(c, jl, path, "fn", 1, "", fn, sizeof fn)) < 0)
            return rc;
        static const char *const names[] = {"silu", "gelu", "relu", "tanh", "sigmoid"};
        L->type = ICTAL_LAYER_ACT;
        L->u.act.fn = 0;
        for (int k = 0; k < 5; k++)
            if (strcmp(fn, names[k]) == 0)
                L->u.act.fn = (enum ictal_act)(ICTAL_ACT_SILU + k);
        if (!L->u.act.fn)
            return ictal_error_set(c->err, ICTAL_EUNSUPPORTED, "%s: metadata %s.fn = \"%s\" is not one of silu, gelu, relu, tanh, sigmoid",
                                   c->what, path, fn);
    } else if (strcmp(type, "lstm") == 0) {
        int cin = 0, h = 0;
        if ((rc = jint(c, jl, path, "in", 1, 0, 1, MAXD, &cin)) < 0 ||
            (rc = jint(c, jl, path, "hidden", 1, 0, 1, 4096, &h)) < 0)
            return rc;
        L->type = ICTAL_LAYER_LSTM;
        L->in_dim = cin;
        L->out_dim = h;
        L->u.lstm.hidden = h;
        char pre[96];
        snprintf(pre, sizeof pre, "%s.lstm", n);
        if ((rc = tensor(c, pre, "weight_ih_l0", 2, T2(4 * h, cin), &L->u.lstm.w_ih)) < 0 ||
            (rc = tensor(c, pre, "weight_hh_l0", 2, T2(4 * h, h), &L->u.lstm.w_hh)) < 0 ||
            (rc = tensor(c, pre, "bias_ih_l0", 1, T1(4 * h), &L->u.lstm.b_ih)) < 0 ||
            (rc = tensor(c, pre, "bias_hh_l0", 1, T1(4 * h), &L->u.lstm.b_hh)) < 0)
            return rc;
    } else if (strcmp(type, "mamba2") == 0 || strcmp(type, "bimamba2") == 0) {
        const int bi = type[0] == 'b';
        int dm = 0, ds = 0, dc = 0, ex = 0, hd = 0, ng = 0, blk = 0;
        double eps = 0;
        if ((rc = jint(c, jl, path, "d_model", 1, 0, 1, 4096, &dm)) < 0 ||
            (rc = jint(c, jl, path, "d_state", 1, 0, 1, 256, &ds)) < 0 ||
            (rc = jint(c, jl, path, "d_conv", 0, 4, 1, 64, &dc)) < 0 ||
            (rc = jint(c, jl, path, "expand", 0, 2, 1, 8, &ex)) < 0 ||
            (rc = jint(c, jl, path, "headdim", 1, 0, 1, 4096, &hd)) < 0 ||
            (rc = jint(c, jl, path, "ngroups", 0, 1, 1, 64, &ng)) < 0 ||
            (rc = jnum(c, jl, path, "eps", 0, 1e-5, 1e-12, 1.0, &eps)) < 0 ||
            (bi && (rc = jint(c, jl, path, "block", 1, 0, 1, 4096, &blk)) < 0))
            return rc;
        int di = dm * ex;
        if (di % hd || (di / hd) % ng)
            return ictal_error_set(c->err, ICTAL_EFORMAT,
                                   "%s: metadata %s: d_model*expand %d must be a multiple of headdim %d, heads of ngroups %d",
                                   c->what, path, di, hd, ng);
        const int nheads = di / hd, conv_dim = di + 2 * ng * ds, d_in_proj = 2 * di + 2 * ng * ds + nheads;
        L->type = bi ? ICTAL_LAYER_BIMAMBA2 : ICTAL_LAYER_MAMBA2;
        L->in_dim = L->out_dim = dm;
        L->u.mamba2.d_model = dm;
        L->u.mamba2.d_state = ds;
        L->u.mamba2.d_conv = dc;
        L->u.mamba2.expand = ex;
        L->u.mamba2.headdim = hd;
        L->u.mamba2.ngroups = ng;
        L->u.mamba2.d_inner = di;
        L->u.mamba2.nheads = nheads;
        L->u.mamba2.conv_dim = conv_dim;
        L->u.mamba2.d_in_proj = d_in_proj;
        L->u.mamba2.block = blk;
        L->u.mamba2.eps = (float)eps;
        if ((rc = tensor(c, n, "norm.weight", 1, T1(dm), &L->u.mamba2.norm_w)) < 0)
            return rc;
        for (int dir = 0; dir < 1 + bi; dir++) {
            struct ictal_mamba2_mixer *mx = dir ? &L->u.mamba2.bwd : &L->u.mamba2.fwd;
            char pre[96];
            snprintf(pre, sizeof pre, "%s.%s", n, bi ? (dir ? "bwd" : "fwd") : "mixer");
            if ((rc = tensor(c, pre, "in_proj.weight", 2, T2(d_in_proj, dm), &mx->in_proj)) < 0 ||
                (rc = tensor(c, pre, "conv1d.weight", 3, T3(conv_dim, 1, dc), &mx->conv_w)) < 0 ||
                (rc = tensor(c, pre, "conv1d.bias", 1, T1(conv_dim), &mx->conv_b)) < 0 ||
                (rc = tensor(c, pre, "dt_bias", 1, T1(nheads), &mx->dt_bias)) < 0 ||
                (rc = tensor(c, pre, "A_log", 1, T1(nheads), &mx->A_log)) < 0 ||
                (rc = tensor(c, pre, "D", 1, T1(nheads), &mx->D)) < 0 ||
                (rc = tensor(c, pre, "norm.weight", 1, T1(di), &mx->gnorm_w)) < 0 ||
                (rc = tensor(c, pre, "out_proj.weight", 2, T2(dm, di), &mx->out_proj)) < 0)
                return rc;
            for (int h = 0; h < nheads; h++)
                if (mx->A_log[h] > 80.0f)
                    return ictal_error_set(c->err, ICTAL_ERANGE, "%s: tensor '%s.A_log'[%d] = %g overflows exp()",
                                           c->what, pre, h, (double)mx->A_log[h]);
        }
    } else {
        return ictal_error_set(c->err, ICTAL_EUNSUPPORTED, "%s: metadata %s.type = \"%s\" is not a known layer type",
                               c->what, path, type);
    }
    if (L->in_dim != in_dim)
        return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata %s (%s) takes %d features but the layer before gives %d",
                               c->what, path, n, L->in_dim, in_dim);
    return 0;
}

static int parse_postproc(struct ctx *c, const cJSON *o, struct ictal_model_postproc *pp)
{
    const char *p = "postproc";
    int rc;
    if (!cJSON_IsObject(o))
        return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata postproc is missing or not an object", c->what);
    if ((rc = jnum(c, o, p, "threshold_on", 1, 0, 0, 1, &pp->threshold_on)) < 0 ||
        (rc = jnum(c, o, p, "threshold_off", 1, 0, 0, 1, &pp->threshold_off)) < 0 ||
        (rc = jint(c, o, p, "n_on", 1, 0, 1, 100000, &pp->n_on)) < 0 ||
        (rc = jint(c, o, p, "n_off", 1, 0, 1, 100000, &pp->n_off)) < 0 ||
        (rc = jnum(c, o, p, "opening", 1, 0, 0, 3600, &pp->opening)) < 0 ||
        (rc = jnum(c, o, p, "closing", 1, 0, 0, 3600, &pp->closing)) < 0 ||
        (rc = jnum(c, o, p, "min_duration", 1, 0, 0, 86400, &pp->min_duration)) < 0 ||
        (rc = jnum(c, o, p, "merge_gap", 1, 0, 0, 86400, &pp->merge_gap)) < 0 ||
        (rc = jnum(c, o, p, "max_duration", 1, 0, 1e-9, 86400, &pp->max_duration)) < 0 ||
        (rc = jstr(c, o, p, "confidence", 1, "", pp->confidence, sizeof pp->confidence)) < 0 ||
        (rc = jnum(c, o, p, "confidence_percentile", 1, 0, 0, 100, &pp->confidence_percentile)) < 0)
        return rc;
    if (strcmp(pp->confidence, "mean") && strcmp(pp->confidence, "peak") && strcmp(pp->confidence, "percentile"))
        return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata postproc.confidence = \"%s\" (mean, peak or percentile)",
                               c->what, pp->confidence);
    if (pp->threshold_off > pp->threshold_on)
        return ictal_error_set(c->err, ICTAL_ERANGE, "%s: metadata postproc.threshold_off %g > threshold_on %g",
                               c->what, pp->threshold_off, pp->threshold_on);
    return 0;
}

static int parse_channels(struct ctx *c, const cJSON *o, struct ictal_model_info *info)
{
    const char *p = "channels";
    int rc;
    if (!o) {
        strcpy(info->channel_policy, "any");
        info->min_channels = 1;
        info->max_channels = 1024;
        return 0;
    }
    if (!cJSON_IsObject(o))
        return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata channels is not an object", c->what);
    if ((rc = jstr(c, o, p, "policy", 0, "any", info->channel_policy, sizeof info->channel_policy)) < 0 ||
        (rc = jstr(c, o, p, "montage", 0, "", info->montage, sizeof info->montage)) < 0 ||
        (rc = jint(c, o, p, "min", 0, 1, 1, 1024, &info->min_channels)) < 0 ||
        (rc = jint(c, o, p, "max", 0, 1024, 1, 1024, &info->max_channels)) < 0)
        return rc;
    if (strcmp(info->channel_policy, "any") && strcmp(info->channel_policy, "labels") &&
        strcmp(info->channel_policy, "montage"))
        return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata channels.policy = \"%s\" (any, labels or montage)",
                               c->what, info->channel_policy);
    if (info->min_channels > info->max_channels)
        return ictal_error_set(c->err, ICTAL_ERANGE, "%s: metadata channels.min > channels.max", c->what);
    const cJSON *lab = cJSON_GetObjectItemCaseSensitive(o, "labels");
    if (lab) {
        if (!cJSON_IsArray(lab) || cJSON_GetArraySize(lab) > ICTAL_MODEL_MAX_LABELS)
            return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata channels.labels is not an array of at most %d strings",
                                   c->what, ICTAL_MODEL_MAX_LABELS);
        const cJSON *e;
        cJSON_ArrayForEach(e, lab) {
            if (!cJSON_IsString(e) || strlen(e->valuestring) >= sizeof info->labels[0])
                return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata channels.labels[%d] is not a string of < 32 characters",
                                       c->what, info->n_labels);
            strcpy(info->labels[info->n_labels++], e->valuestring);
        }
    }
    if (strcmp(info->channel_policy, "labels") == 0 && info->n_labels == 0)
        return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata channels.policy is \"labels\" but channels.labels is empty", c->what);
    return 0;
}

static int parse_filters(struct ctx *c, const cJSON *o, struct ictal_model_info *info)
{
    if (!o)
        return 0;
    if (!cJSON_IsArray(o) || cJSON_GetArraySize(o) > ICTAL_MODEL_MAX_FILTERS)
        return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata prefilter is not an array of at most %d stages",
                               c->what, ICTAL_MODEL_MAX_FILTERS);
    const cJSON *e;
    int rc;
    double nyq = info->sample_rate / 2;
    cJSON_ArrayForEach(e, o) {
        char path[32];
        struct ictal_model_filter *f = &info->filters[info->n_filters];
        snprintf(path, sizeof path, "prefilter[%d]", info->n_filters);
        if (!cJSON_IsObject(e))
            return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata %s is not an object", c->what, path);
        if ((rc = jstr(c, e, path, "type", 1, "", f->type, sizeof f->type)) < 0 ||
            (rc = jnum(c, e, path, "freq_hz", 1, 0, 1e-6, nyq, &f->freq_hz)) < 0 ||
            (rc = jnum(c, e, path, "freq2_hz", 0, 0, 0, nyq, &f->freq2_hz)) < 0 ||
            (rc = jnum(c, e, path, "q", 0, 0, 0, 1000, &f->q)) < 0 ||
            (rc = jint(c, e, path, "order", 0, 0, 0, 16, &f->order)) < 0)
            return rc;
        if (strcmp(f->type, "highpass") && strcmp(f->type, "lowpass") && strcmp(f->type, "notch") &&
            strcmp(f->type, "bandpass"))
            return ictal_error_set(c->err, ICTAL_EUNSUPPORTED, "%s: metadata %s.type = \"%s\"", c->what, path, f->type);
        info->n_filters++;
    }
    return 0;
}

static int parse_arch(struct ctx *c, const char *json)
{
    struct ictal_model *m = c->m;
    struct ictal_model_info *info = &m->info;
    int rc = 0;
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return ictal_error_set(c->err, ICTAL_EFORMAT, "%s: __metadata__.ictal is not valid JSON", c->what);
    if (!cJSON_IsObject(root)) {
        rc = ictal_error_set(c->err, ICTAL_EFORMAT, "%s: __metadata__.ictal is not a JSON object", c->what);
        goto out;
    }
    char fmt[32];
    double gain = 1.0;
    if ((rc = jstr(c, root, "", "format", 1, "", fmt, sizeof fmt)) < 0)
        goto out;
    if (strcmp(fmt, "ictal-model") != 0) {
        rc = ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata .format = \"%s\", expected \"ictal-model\"", c->what, fmt);
        goto out;
    }
    if ((rc = jint(c, root, "", "format_version", 1, 0, 1, 1000, &info->format_version)) < 0)
        goto out;
    if (info->format_version != ICTAL_MODEL_FORMAT_VERSION) {
        rc = ictal_error_set(c->err, ICTAL_EUNSUPPORTED, "%s: metadata .format_version = %d, this ictal reads %d",
                             c->what, info->format_version, ICTAL_MODEL_FORMAT_VERSION);
        goto out;
    }
    if ((rc = jstr(c, root, "", "name", 0, "", info->name, sizeof info->name)) < 0 ||
        (rc = jnum(c, root, "", "sample_rate", 1, 0, 1, 1e6, &info->sample_rate)) < 0 ||
        (rc = jnum(c, root, "", "frame_rate", 1, 0, 1e-3, 1e6, &info->frame_rate)) < 0 ||
        (rc = jnum(c, root, "", "input_gain", 0, 1.0, -1e9, 1e9, &gain)) < 0)
        goto out;
    info->input_gain = (float)gain;
    if ((rc = parse_channels(c, cJSON_GetObjectItemCaseSensitive(root, "channels"), info)) < 0 ||
        (rc = parse_filters(c, cJSON_GetObjectItemCaseSensitive(root, "prefilter"), info)) < 0 ||
        (rc = parse_postproc(c, cJSON_GetObjectItemCaseSensitive(root, "postproc"), &info->postproc)) < 0)
        goto out;
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
    if (!cJSON_IsArray(layers) || cJSON_GetArraySize(layers) < 1 ||
        cJSON_GetArraySize(layers) > ICTAL_MODEL_MAX_LAYERS) {
        rc = ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata .layers is not an array of 1..%d layers",
                             c->what, ICTAL_MODEL_MAX_LAYERS);
        goto out;
    }
    int dim = 1; /* one sample per channel goes in */
    long hop = 1;
    const cJSON *jl;
    cJSON_ArrayForEach(jl, layers) {
        struct ictal_layer *L = &m->layers[m->n_layers];
        if ((rc = parse_layer(c, jl, m->n_layers, dim, L)) < 0)
            goto out;
        dim = L->out_dim;
        if (L->type == ICTAL_LAYER_BIMAMBA2)
            info->delay_samples += (long)(L->u.mamba2.block - 1) * hop;
        hop *= L->stride;
        if (hop > 1 << 20) {
            rc = ictal_error_set(c->err, ICTAL_ERANGE, "%s: metadata layers: total stride %ld too large", c->what, hop);
            goto out;
        }
        m->n_layers++;
    }
    info->hop = (int)hop;
    if (fabs(info->sample_rate / (double)hop - info->frame_rate) > 1e-6 * info->frame_rate) {
        rc = ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata .frame_rate %g != sample_rate %g / total stride %ld",
                             c->what, info->frame_rate, info->sample_rate, hop);
        goto out;
    }
    const cJSON *win = cJSON_GetObjectItemCaseSensitive(root, "window");
    if (win) {
        if (!cJSON_IsObject(win)) {
            rc = ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata .window is not an object", c->what);
            goto out;
        }
        if ((rc = jint(c, win, "window", "samples", 1, 0, 1, 1 << 20, &info->window)) < 0 ||
            (rc = jint(c, win, "window", "step", 1, 0, 1, 1 << 20, &info->window_step)) < 0)
            goto out;
        if (info->window % hop || info->window_step % hop || info->window_step > info->window) {
            rc = ictal_error_set(c->err, ICTAL_EFORMAT,
                                 "%s: metadata window: samples %d and step %d must be multiples of the hop %ld, step <= samples",
                                 c->what, info->window, info->window_step, hop);
            goto out;
        }
        if (info->delay_samples) {
            rc = ictal_error_set(c->err, ICTAL_EUNSUPPORTED, "%s: metadata window: windowed mode with a bimamba2 layer",
                                 c->what);
            goto out;
        }
        info->delay_samples = info->window - hop;
    }
    const cJSON *head = cJSON_GetObjectItemCaseSensitive(root, "head");
    if (!cJSON_IsObject(head)) {
        rc = ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata .head is missing or not an object", c->what);
        goto out;
    }
    if ((rc = jint(c, head, "head", "in", 1, 0, 1, ICTAL_MODEL_MAX_DIM, &info->head_in)) < 0)
        goto out;
    if (info->head_in != dim) {
        rc = ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata head.in = %d but the last layer gives %d",
                             c->what, info->head_in, dim);
        goto out;
    }
    if ((rc = tensor(c, "head", "weight", 2, T2(1, dim), &m->head_w)) < 0 ||
        (rc = tensor(c, "head", "bias", 1, T1(1), &m->head_b)) < 0)
        goto out;
    const cJSON *agg = cJSON_GetObjectItemCaseSensitive(root, "aggregation");
    char at[16];
    if (!cJSON_IsObject(agg)) {
        rc = ictal_error_set(c->err, ICTAL_EFORMAT, "%s: metadata .aggregation is missing or not an object", c->what);
        goto out;
    }
    if ((rc = jstr(c, agg, "aggregation", "type", 1, "", at, sizeof at)) < 0)
        goto out;
    if (strcmp(at, "max") == 0)
        info->aggregation = ICTAL_AGG_MAX;
    else if (strcmp(at, "mean") == 0)
        info->aggregation = ICTAL_AGG_MEAN;
    else if (strcmp(at, "logsumexp") == 0)
        info->aggregation = ICTAL_AGG_LOGSUMEXP;
    else if (strcmp(at, "attention") == 0)
        info->aggregation = ICTAL_AGG_ATTENTION;
    else {
        rc = ictal_error_set(c->err, ICTAL_EUNSUPPORTED, "%s: metadata aggregation.type = \"%s\" (max, mean, logsumexp, attention)",
                             c->what, at);
        goto out;
    }
    if (info->aggregation == ICTAL_AGG_ATTENTION &&
        ((rc = tensor(c, "attn", "weight", 2, T2(1, dim), &m->attn_w)) < 0 ||
         (rc = tensor(c, "attn", "bias", 1, T1(1), &m->attn_b)) < 0))
        goto out;
    /* FNV-1a over the architecture and all weights: engine state images
     * only load into an engine of the very same model */
    uint64_t h = 1469598103934665603ull;
    for (const char *q = json; *q; q++)
        h = (h ^ (unsigned char)*q) * 1099511628211ull;
    for (size_t i = 0; i < ictal_tensorfile_count(m->tf); i++) {
        const struct ictal_tensor *t = ictal_tensorfile_at(m->tf, i);
        for (const char *q = t->name; *q; q++)
            h = (h ^ (unsigned char)*q) * 1099511628211ull;
        const unsigned char *b = (const unsigned char *)t->data;
        for (size_t k = 0; k < t->numel * sizeof(float); k++)
            h = (h ^ b[k]) * 1099511628211ull;
    }
    info->fingerprint = h;
    for (size_t i = 0; i < ictal_tensorfile_count(m->tf); i++) {
        const struct ictal_tensor *t = ictal_tensorfile_at(m->tf, i);
        info->n_params += (long)t->numel;
        if (!m->used[i]) {
            rc = ictal_error_set(c->err, ICTAL_EFORMAT, "%s: tensor '%s' is not used by any layer", c->what, t->name);
            goto out;
        }
    }
out:
    cJSON_Delete(root);
    return rc;
}

static struct ictal_model *finish(struct ictal_tensorfile *tf, const char *what, struct ictal_error *err)
{
    if (!tf)
        return NULL;
    struct ictal_model *m = calloc(1, sizeof *m);
    if (!m) {
        ictal_tensorfile_destroy(tf);
        ictal_error_set(err, ICTAL_ENOMEM, "%s: out of memory", what);
        return NULL;
    }
    m->tf = tf;
    m->used = calloc(ictal_tensorfile_count(tf) + 1, 1);
    const char *json = ictal_tensorfile_metadata(tf, "ictal");
    struct ctx c = {what, err, m};
    int rc;
    if (!m->used)
        rc = ictal_error_set(err, ICTAL_ENOMEM, "%s: out of memory", what);
    else if (!json)
        rc = ictal_error_set(err, ICTAL_EFORMAT, "%s: __metadata__ has no \"ictal\" entry: not an ictal model file", what);
    else if (!(m->json = malloc(strlen(json) + 1)))
        rc = ictal_error_set(err, ICTAL_ENOMEM, "%s: out of memory", what);
    else {
        strcpy(m->json, json);
        rc = parse_arch(&c, json);
    }
    if (rc < 0) {
        ictal_model_destroy(m);
        return NULL;
    }
    return m;
}

struct ictal_model *ictal_model_load(const char *path, struct ictal_error *err)
{
    return finish(ictal_tensorfile_load(path, err), path ? path : "(null)", err);
}

struct ictal_model *ictal_model_parse(const void *data, size_t len, struct ictal_error *err)
{
    return finish(ictal_tensorfile_parse(data, len, NULL, err), "<buffer>", err);
}

void ictal_model_destroy(struct ictal_model *m)
{
    if (!m)
        return;
    ictal_tensorfile_destroy(m->tf);
    free(m->used);
    free(m->json);
    free(m);
}

const struct ictal_model_info *ictal_model_info(const struct ictal_model *m) { return &m->info; }
int ictal_model_layer_count(const struct ictal_model *m) { return m->n_layers; }
const struct ictal_layer *ictal_model_layer(const struct ictal_model *m, int i)
{
    return i >= 0 && i < m->n_layers ? &m->layers[i] : NULL;
}
const float *ictal_model_head_weight(const struct ictal_model *m) { return m->head_w; }
const float *ictal_model_head_bias(const struct ictal_model *m) { return m->head_b; }
const float *ictal_model_attn_weight(const struct ictal_model *m) { return m->attn_w; }
const float *ictal_model_attn_bias(const struct ictal_model *m) { return m->attn_b; }
const char *ictal_model_metadata_json(const struct ictal_model *m) { return m->json; }
