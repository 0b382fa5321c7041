/*
 * model.c — safetensors container and ictal model file loader.
 * Spec: docs/model-format.md. Every number from the file is checked before it
 * is used as a size, an offset or an index; the file is read once.
 */
#include "ictal/model.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TENSORS 4096
#define MAX_NAME 255

struct ictal_tensorfile {
    size_t n;
    struct ictal_tensor *t;   /* (n) */
    char *names;              /* all names, NUL-separated */
    float *store;             /* all tensor data, aligned */
    size_t n_meta;
    char **meta_keys, **meta_vals;
};

/* ---------------------------------------------------------------- helpers */

static int json_size(const cJSON *v, double max, size_t *out)
{
    if (!cJSON_IsNumber(v))
        return -1;
    double d = v->valuedouble;
    if (!(d >= 0.0) || d > max || d != floor(d))
        return -1;
    *out = (size_t)d;
    return 0;
}

static int cmp_begin(const void *a, const void *b, const size_t *begins)
{
    size_t x = begins[*(const size_t *)a], y = begins[*(const size_t *)b];
    return (x > y) - (x < y);
}

/* qsort has no context pointer in C11; a tiny insertion sort keeps this
 * reentrant and is fast enough for MAX_TENSORS entries that are usually
 * already in order. */
static void sort_by_begin(size_t *idx, size_t n, const size_t *begins)
{
    for (size_t i = 1; i < n; i++) {
        size_t v = idx[i], j = i;
        while (j > 0 && cmp_begin(&idx[j - 1], &v, begins) > 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
}

static uint64_t read_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static float read_lef32(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

void ictal_tensorfile_destroy(struct ictal_tensorfile *tf)
{
    if (!tf)
        return;
    for (size_t i = 0; i < tf->n_meta; i++) {
        free(tf->meta_keys[i]);
        free(tf->meta_vals[i]);
    }
    free(tf->meta_keys);
    free(tf->meta_vals);
    free(tf->t);
    free(tf->names);
    free(tf->store);
    free(tf);
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static int parse_metadata(struct ictal_tensorfile *tf, const cJSON *md, const char *what,
                          struct ictal_error *err)
{
    if (!cJSON_IsObject(md))
        return ictal_error_set(err, ICTAL_EFORMAT, "%s: __metadata__ is not an object", what);
    size_t n = (size_t)cJSON_GetArraySize(md);
    if (n > MAX_TENSORS)
        return ictal_error_set(err, ICTAL_ERANGE, "%s: __metadata__ has %zu entries", what, n);
    tf->meta_keys = calloc(n ? n : 1, sizeof(char *));
    tf->meta_vals = calloc(n ? n : 1, sizeof(char *));
    if (!tf->meta_keys || !tf->meta_vals)
        return ictal_error_set(err, ICTAL_ENOMEM, "%s: out of memory", what);
    const cJSON *e;
    cJSON_ArrayForEach(e, md) {
        if (!cJSON_IsString(e) || !e->string)
            return ictal_error_set(err, ICTAL_EFORMAT, "%s: __metadata__[\"%s\"] is not a string",
                                   what, e->string ? e->string : "?");
        tf->meta_keys[tf->n_meta] = xstrdup(e->string);
        tf->meta_vals[tf->n_meta] = xstrdup(e->valuestring);
        tf->n_meta++;
        if (!tf->meta_keys[tf->n_meta - 1] || !tf->meta_vals[tf->n_meta - 1])
            return ictal_error_set(err, ICTAL_ENOMEM, "%s: out of memory", what);
    }
    return 0;
}

static int known_dtype(const char *s)
{
    static const char *const dt[] = {"F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8",
                                     "U16", "U32", "U64", "BOOL", "F8_E4M3", "F8_E5M2"};
    for (size_t i = 0; i < sizeof dt / sizeof dt[0]; i++)
        if (strcmp(s, dt[i]) == 0)
            return 1;
    return 0;
}

struct ictal_tensorfile *ictal_tensorfile_parse(const void *data, size_t len, const char *what,
                                                struct ictal_error *err)
{
    const unsigned char *p = data;
    struct ictal_tensorfile *tf = NULL;
    char *hbuf = NULL;
    cJSON *root = NULL;
    size_t *begins = NULL, *idx = NULL;
    int rc = 0;
    if (!what)
        what = "<buffer>";
    if (!data && len) {
        ictal_error_set(err, ICTAL_EINVAL, "%s: NULL data", what);
        return NULL;
    }
    if (len < 8) {
        ictal_error_set(err, ICTAL_EFORMAT, "%s: %zu bytes, shorter than the 8-byte header length",
                        what, len);
        return NULL;
    }
    if (len > ICTAL_MODEL_MAX_FILE) {
        ictal_error_set(err, ICTAL_ERANGE, "%s: %zu bytes, larger than the %zu-byte limit", what,
                        len, ICTAL_MODEL_MAX_FILE);
        return NULL;
    }
    uint64_t hlen = read_le64(p);
    if (hlen == 0 || hlen > len - 8) {
        ictal_error_set(err, ICTAL_EFORMAT,
                        "%s: header length %llu does not fit in the %zu bytes after offset 8",
                        what, (unsigned long long)hlen, len - 8);
        return NULL;
    }
    if (hlen > ICTAL_MODEL_MAX_HEADER) {
        ictal_error_set(err, ICTAL_ERANGE, "%s: header length %llu exceeds the %zu-byte limit",
                        what, (unsigned long long)hlen, ICTAL_MODEL_MAX_HEADER);
        return NULL;
    }
    const unsigned char *dsec = p + 8 + hlen;
    size_t dlen = len - 8 - (size_t)hlen;

    tf = calloc(1, sizeof *tf);
    hbuf = malloc((size_t)hlen + 1);
    if (!tf || !hbuf) {
        rc = ictal_error_set(err, ICTAL_ENOMEM, "%s: out of memory", what);
        goto out;
    }
    memcpy(hbuf, p + 8, (size_t)hlen);
    hbuf[hlen] = '\0';
    if (strlen(hbuf) != hlen) {
        rc = ictal_error_set(err, ICTAL_EFORMAT, "%s: NUL byte inside the JSON header at offset %zu",
                             what, 8 + strlen(hbuf));
        goto out;
    }
    const char *end = NULL;
    root = cJSON_ParseWithOpts(hbuf, &end, 1);
    if (!root) {
        size_t at = end ? (size_t)(end - hbuf) : 0;
        rc = ictal_error_set(err, ICTAL_EFORMAT, "%s: JSON header is malformed near byte %zu",
                             what, 8 + at);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        rc = ictal_error_set(err, ICTAL_EFORMAT, "%s: JSON header is not an object", what);
        goto out;
    }
    size_t nent = (size_t)cJSON_GetArraySize(root);
    if (nent > MAX_TENSORS) {
        rc = ictal_error_set(err, ICTAL_ERANGE, "%s: %zu header entries (limit %d)", what, nent,
                             MAX_TENSORS);
        goto out;
    }
    tf->t = calloc(nent ? nent : 1, sizeof *tf->t);
    begins = calloc(nent ? nent : 1, sizeof *begins);
    idx = calloc(nent ? nent : 1, sizeof *idx);
    tf->names = malloc((size_t)hlen + 1); /* names are substrings of the header: they fit */
    if (!tf->t || !begins || !idx || !tf->names) {
        rc = ictal_error_set(err, ICTAL_ENOMEM, "%s: out of memory", what);
        goto out;
    }
    size_t name_off = 0, total = 0;
    const cJSON *e;
    int seen_meta = 0;
    cJSON_ArrayForEach(e, root) {
        const char *nm = e->string ? e->string : "";
        if (strcmp(nm, "__metadata__") == 0) {
            if (seen_meta++) {
                rc = ictal_error_set(err, ICTAL_EFORMAT, "%s: __metadata__ appears twice", what);
                goto out;
            }
            if ((rc = parse_metadata(tf, e, what, err)) < 0)
                goto out;
            continue;
        }
        size_t nl = strlen(nm);
        if (nl == 0 || nl > MAX_NAME) {
            rc = ictal_error_set(err, ICTAL_EFORMAT, "%s: tensor name of length %zu", what, nl);
            goto out;
        }
        for (size_t i = 0; i < tf->n; i++)
            if (strcmp(tf->t[i].name, nm) == 0) {
                rc = ictal_error_set(err, ICTAL_EFORMAT, "%s: tensor '%s' appears twice", what, nm);
                goto out;
            }
        if (!cJSON_IsObject(e)) {
            rc = ictal_error_set(err, ICTAL_EFORMAT, "%s: tensor '%s': entry is not an object", what, nm);
            goto out;
        }
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        if (!cJSON_IsString(dt)) {
            rc = ictal_error_set(err, ICTAL_EFORMAT, "%s: tensor '%s': dtype missing or not a string", what, nm);
            goto out;
        }
        if (strcmp(dt->valuestring, "F32") != 0) {
            rc = ictal_error_set(err, known_dtype(dt->valuestring) ? ICTAL_EUNSUPPORTED : ICTAL_EFORMAT,
                                 "%s: tensor '%s': dtype \"%.32s\" (only F32 is supported)", what, nm,
                                 dt->valuestring);
            goto out;
        }
        if (!cJSON_IsArray(sh) || cJSON_GetArraySize(sh) > ICTAL_MODEL_MAX_RANK) {
            rc = ictal_error_set(err, ICTAL_EFORMAT, "%s: tensor '%s': shape missing, not an array or rank > %d",
                                 what, nm, ICTAL_MODEL_MAX_RANK);
            goto out;
        }
        struct ictal_tensor *t = &tf->t[tf->n];
        t->rank = cJSON_GetArraySize(sh);
        size_t numel = 1;
        for (int k = 0; k < t->rank; k++) {
            size_t d;
            if (json_size(cJSON_GetArrayItem(sh, k), ICTAL_MODEL_MAX_DIM * 16.0, &d) < 0) {
                rc = ictal_error_set(err, ICTAL_EFORMAT, "%s: tensor '%s': shape[%d] is not an integer in [0, %d]",
                                     what, nm, k, ICTAL_MODEL_MAX_DIM * 16);
                goto out;
            }
            t->shape[k] = (int64_t)d;
            if (d && numel > ICTAL_MODEL_MAX_FILE / 4 / d) {
                rc = ictal_error_set(err, ICTAL_ERANGE, "%s: tensor '%s': shape too large", what, nm);
                goto out;
            }
            numel *= d;
        }
        size_t b0, b1;
        if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2 ||
            json_size(cJSON_GetArrayItem(of, 0), (double)ICTAL_MODEL_MAX_FILE, &b0) < 0 ||
            json_size(cJSON_GetArrayItem(of, 1), (double)ICTAL_MODEL_MAX_FILE, &b1) < 0) {
            rc = ictal_error_set(err, ICTAL_EFORMAT, "%s: tensor '%s': data_offsets is not [begin, end] of non-negative integers",
                                 what, nm);
            goto out;
        }
        if (b0 > b1 || b1 > dlen) {
            rc = ictal_error_set(err, ICTAL_EFORMAT, "%s: tensor '%s': data_offsets [%zu, %zu] outside the %zu-byte data section",
                                 what, nm, b0, b1, dlen);
            goto out;
        }
        if (b1 - b0 != numel * 4) {
            rc = ictal_error_set(err, ICTAL_EFORMAT, "%s: tensor '%s': %zu data bytes but shape needs %zu",
                                 what, nm, b1 - b0, numel * 4);
            goto out;
        }
        memcpy(tf->names + name_off, nm, nl + 1);
        t->name = tf->names + name_off; /* the buffer never moves */
        name_off += nl + 1;
        t->numel = numel;
        begins[tf->n] = b0;
        idx[tf->n] = tf->n;
        total += numel;
        tf->n++;
    }
    /* No two tensors may share bytes: a hostile file could otherwise alias
     * weights in ways the writer never meant. Empty tensors own no bytes. */
    sort_by_begin(idx, tf->n, begins);
    size_t prev_end = 0;
    const char *prev = NULL;
    for (size_t i = 0; i < tf->n; i++) {
        const struct ictal_tensor *t = &tf->t[idx[i]];
        if (t->numel == 0)
            continue;
        if (prev && begins[idx[i]] < prev_end) {
            rc = ictal_error_set(err, ICTAL_EFORMAT, "%s: tensors '%s' and '%s' overlap at data offset %zu",
                                 what, prev, t->name, begins[idx[i]]);
            goto out;
        }
        prev_end = begins[idx[i]] + t->numel * 4;
        prev = t->name;
    }
    tf->store = malloc((total ? total : 1) * sizeof(float));
    if (!tf->store) {
        rc = ictal_error_set(err, ICTAL_ENOMEM, "%s: out of memory for %zu floats", what, total);
        goto out;
    }
    size_t off = 0;
    for (size_t i = 0; i < tf->n; i++) {
        struct ictal_tensor *t = &tf->t[i];
        float *dst = tf->store + off;
        const unsigned char *src = dsec + begins[i];
        for (size_t k = 0; k < t->numel; k++) {
            dst[k] = read_lef32(src + 4 * k);
            if (!isfinite(dst[k])) {
                rc = ictal_error_set(err, ICTAL_EFORMAT, "%s: tensor '%s': element %zu is not finite",
                                     what, t->name, k);
                goto out;
            }
        }
        t->data = dst;
        off += t->numel;
    }
out:
    free(begins);
    free(idx);
    free(hbuf);
    cJSON_Delete(root);
    if (rc < 0) {
        ictal_tensorfile_destroy(tf);
        return NULL;
    }
    return tf;
}

static int read_whole(const char *path, unsigned char **out, size_t *len, struct ictal_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ictal_error_set(err, errno == ENOENT ? ICTAL_ENOENT : ICTAL_EIO, "%s: cannot open: %s",
                               path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ictal_error_set(err, ICTAL_EIO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > ICTAL_MODEL_MAX_FILE) {
        close(fd);
        return ictal_error_set(err, ICTAL_ERANGE, "%s: %lld bytes, larger than the %zu-byte limit",
                               path, (long long)st.st_size, ICTAL_MODEL_MAX_FILE);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        return ictal_error_set(err, ICTAL_ENOMEM, "%s: out of memory", path);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            close(fd);
            return ictal_error_set(err, ICTAL_EIO, "%s: read failed at byte %zu", path, got);
        }
        got += (size_t)r;
    }
    close(fd);
    *out = buf;
    *len = n;
    return 0;
}

struct ictal_tensorfile *ictal_tensorfile_load(const char *path, struct ictal_error *err)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    if (!path) {
        ictal_error_set(err, ICTAL_EINVAL, "NULL path");
        return NULL;
    }
    if (read_whole(path, &buf, &len, err) < 0)
        return NULL;
    struct ictal_tensorfile *tf = ictal_tensorfile_parse(buf, len, path, err);
    free(buf);
    return tf;
}

size_t ictal_tensorfile_count(const struct ictal_tensorfile *tf) { return tf ? tf->n : 0; }

const struct ictal_tensor *ictal_tensorfile_at(const struct ictal_tensorfile *tf, size_t i)
{
    return tf && i < tf->n ? &tf->t[i] : NULL;
}

const struct ictal_tensor *ictal_tensorfile_get(const struct ictal_tensorfile *tf, const char *name)
{
    if (!tf || !name)
        return NULL;
    for (size_t i = 0; i < tf->n; i++)
        if (strcmp(tf->t[i].name, name) == 0)
            return &tf->t[i];
    return NULL;
}

const char *ictal_tensorfile_metadata(const struct ictal_tensorfile *tf, const char *key)
{
    if (!tf || !key)
        return NULL;
    for (size_t i = 0; i < tf->n_meta; i++)
        if (strcmp(tf->meta_keys[i], key) == 0)
            return tf->meta_vals[i];
    return NULL;
}
