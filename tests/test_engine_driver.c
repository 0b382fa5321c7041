/*
 * test_engine_driver — runs the C engine for tools/model/test_reference.py.
 *
 *   test_engine_driver MODEL INPUT C OUTPUT [builtin|openblas] [CHUNK_SEED]
 *
 * INPUT: raw little-endian float32, channel-major (C, T). OUTPUT: raw
 * float32, p (F) followed by scores (F, C). The input is fed in random
 * chunk sizes (seeded) to exercise chunk invariance as well.
 * Not a test by itself; exit status 0 on success, 1 with a message otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ictal/engine.h"
#include "ictal/model.h"
#include "test_util.h"

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s MODEL INPUT C OUTPUT [builtin|openblas] [CHUNK_SEED]\n", argv[0]);
        return 1;
    }
    struct ictal_error err;
    struct ictal_model *m = ictal_model_load(argv[1], &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int C = atoi(argv[3]);
    size_t len;
    float *x = test_read_file(argv[2], &len);
    if (!x || C < 1 || len % ((size_t)C * sizeof(float))) {
        fprintf(stderr, "bad input %s for %d channels\n", argv[2], C);
        return 1;
    }
    size_t T = len / sizeof(float) / (size_t)C;
    struct ictal_engine_config cfg = {.n_channels = C, .gemm = ICTAL_ENGINE_GEMM_BUILTIN};
    if (argc > 5 && strcmp(argv[5], "openblas") == 0)
        cfg.gemm = ICTAL_ENGINE_GEMM_OPENBLAS;
    struct ictal_engine *e = ictal_engine_create(m, &cfg, &err);
    if (!e) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    size_t F = ictal_engine_max_frames(e, T);
    float *out = malloc((F * (size_t)(C + 1) + 1) * sizeof(float));
    float *s = out + F;
    const float **ptr = calloc((size_t)C, sizeof *ptr);
    struct test_rng r;
    test_rng_seed(&r, argc > 6 ? strtoull(argv[6], NULL, 10) : 1);
    size_t pos = 0, nf = 0;
    while (pos < T) {
        size_t n = (size_t)test_rng_range(&r, 1, 1000);
        if (n > T - pos)
            n = T - pos;
        for (int c = 0; c < C; c++)
            ptr[c] = x + (size_t)c * T + pos;
        size_t got;
        if (ictal_engine_process(e, ptr, n, out + nf, s + nf * (size_t)C, F - nf, &got) != 0) {
            fprintf(stderr, "process failed\n");
            return 1;
        }
        nf += got;
        pos += n;
    }
    /* p was written densely into out[0..F); scores right after */
    int rc = test_write_file(argv[4], out, F * (size_t)(C + 1) * sizeof(float)) == 0 && nf == F ? 0 : 1;
    free(ptr);
    free(out);
    free(x);
    ictal_engine_destroy(e);
    ictal_model_destroy(m);
    return rc;
}
