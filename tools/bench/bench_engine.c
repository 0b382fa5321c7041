/*
 * bench_engine — throughput of the inference engine (not a test).
 *
 *   bench_engine [--model FILE] [--seconds S] [--period N] [--channels C]
 *                [--gemm builtin|openblas|both] [--reps R] [--rounds K]
 *                [--no-torch]
 *
 * For 1, 18, 23, 64 and 256 channels (each in a forked child, so that peak
 * RSS is per configuration): S seconds of random EEG fed in periods of N
 * samples (a JACK period; default 256) through the engine with the builtin
 * GEMM and with OpenBLAS. Reports cost per frame, worst period, throughput
 * as a multiple of real time, peak RSS, and achieved FLOP/s as a fraction of
 * the single-thread cblas_sgemm peak measured at the start of the run.
 * Each configuration runs R times (default 5); throughput is the best in
 * thread CPU time (robust on a shared machine); the worst period is wall
 * time.
 *
 * Then C against PyTorch (tools/model/bench_reference.py: same model, same
 * input, 23 channels, one thread, denormals flushed, inference_mode, thread
 * CPU time, best of R) in K rounds (default 3), each round the C engine
 * (builtin) then PyTorch back to back, so that each ratio compares two
 * measurements taken under the same load. PyTorch's whole-sequence figure
 * is given with glibc's default malloc and with freed memory kept (no page
 * faults per call: its best case, which the ratio uses). Run it under
 * `nice` with OPENBLAS_NUM_THREADS=1 (else OpenBLAS's idle pool threads
 * spin). Results: docs/engine.md.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ictal/blas.h"
#include "ictal/engine.h"
#include "ictal/model.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of this thread: throughput figures should not depend on what
 * else the (shared) machine is doing; the worst period uses wall time. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double sgemm_peak(void)
{
    const int n = 384;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++) {
        a[i] = (float)(i % 17) * 0.1f;
        b[i] = (float)(i % 13) * 0.1f;
    }
    openblas_set_num_threads(1);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t = cpu_now();
        for (int k = 0; k < 4; k++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        double f = 4.0 * 2.0 * n * n * n / (cpu_now() - t);
        if (f > best)
            best = f;
    }
    free(a);
    free(b);
    free(c);
    return best;
}

static unsigned long long rng_state = 88172645463325252ull;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}

static float *make_input(int C, size_t T)
{
    float *x = malloc(sizeof(float) * (size_t)C * T);
    for (int c = 0; c < C; c++) {
        double w = 0;
        for (size_t t = 0; t < T; t++) {
            w = 0.995 * w + (urand() - 0.5) * 8;
            x[(size_t)c * T + t] = (float)(w + (urand() - 0.5) * 20);
        }
    }
    return x;
}

struct result { double cpu, worst_period, frames; };

static int run(const struct ictal_model *m, int C, enum ictal_engine_gemm g, const float *x, size_t T, size_t period,
               struct result *r, double *macs)
{
    struct ictal_error err;
    struct ictal_engine_config cfg = {.n_channels = C, .gemm = g};
    struct ictal_engine *e = ictal_engine_create(m, &cfg, &err);
    if (!e) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    *macs = ictal_engine_macs_per_second(e);
    size_t cap = ictal_engine_max_frames(e, period) + 1;
    float *p = malloc(sizeof(float) * cap), *s = malloc(sizeof(float) * cap * (size_t)C);
    const float **ptr = calloc((size_t)C, sizeof *ptr);
    unsigned long saved = ictal_blas_denormals_flush();
    r->worst_period = 0;
    r->frames = 0;
    double t0 = cpu_now();
    for (size_t pos = 0; pos + period <= T; pos += period) {
        for (int c = 0; c < C; c++)
            ptr[c] = x + (size_t)c * T + pos;
        size_t got;
        double t = now();
        ictal_engine_process(e, ptr, period, p, s, cap, &got);
        t = now() - t;
        if (t > r->worst_period)
            r->worst_period = t;
        r->frames += (double)got;
    }
    r->cpu = cpu_now() - t0;
    ictal_blas_denormals_restore(saved);
    free(ptr);
    free(p);
    free(s);
    ictal_engine_destroy(e);
    return 0;
}

/* One configuration (C channels, the GEMM backends in gemms) in a forked
 * child, so that its peak RSS is its own; prints its rows and returns the
 * builtin throughput (x real time), or 0. */
static double run_config(const struct ictal_model *m, int C, int gemms, size_t T, size_t period, double seconds,
                         int reps, double peak, int print)
{
    int fd[2];
    if (pipe(fd) < 0)
        return 0;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        close(fd[0]);
        float *x = make_input(C, T);
        for (int g = 0; g < 2; g++) {
            if (!(gemms & (1 << g)))
                continue;
            struct result r = {0, 0, 0}, rr;
            double macs = 0;
            for (int rep = 0; rep < reps; rep++) { /* best of R: shared machines are noisy */
                if (run(m, C, (enum ictal_engine_gemm)g, x, T, period, &rr, &macs) < 0)
                    _exit(1);
                if (rep == 0 || rr.cpu < r.cpu)
                    r.cpu = rr.cpu, r.frames = rr.frames;
                if (rr.worst_period > r.worst_period)
                    r.worst_period = rr.worst_period;
            }
            struct rusage ru;
            getrusage(RUSAGE_SELF, &ru);
            double xrt = seconds / r.cpu, flops = 2.0 * macs * seconds / r.cpu;
            if (print)
                printf("%5d %-8s %10.2f %8.1fus %12.0f %10.2f %9.3f %8.2f%% %8.1f\n", C, g ? "openblas" : "builtin",
                       r.cpu / r.frames * 1e6, r.worst_period * 1e6, xrt, macs / 1e6, flops / 1e9,
                       100.0 * flops / peak, (double)ru.ru_maxrss / 1024.0);
            fflush(stdout);
            if (g == 0 && write(fd[1], &xrt, sizeof xrt) != (ssize_t)sizeof xrt)
                _exit(1);
        }
        free(x);
        _exit(0);
    }
    close(fd[1]);
    double xrt = 0;
    if (read(fd[0], &xrt, sizeof xrt) != (ssize_t)sizeof xrt)
        xrt = 0;
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    return xrt;
}

static void print_machine(const char *when)
{
    char line[512], model[256] = "?";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
            model[strcspn(model, "\n")] = 0;
            break;
        }
    if (f)
        fclose(f);
    struct utsname u;
    if (uname(&u) != 0)
        strcpy(u.release, "?");
    char load[64] = "?";
    f = fopen("/proc/loadavg", "r");
    if (f && fgets(load, sizeof load, f))
        load[strcspn(load, "\n")] = 0;
    if (f)
        fclose(f);
    printf("machine (%s): %s, %ld CPUs, Linux %s, /proc/loadavg %s\n", when, model, sysconf(_SC_NPROCESSORS_ONLN),
           u.release, load);
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *model = ICTAL_SOURCE_DIR "/tests/golden/default_1h.model.safetensors";
    double seconds = 60;
    size_t period = 256;
    int torch = 1, only = 0, gemms = 3; /* bit 0: builtin, bit 1: openblas */
    int reps = 5, rounds = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--period") && i + 1 < argc)
            period = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--channels") && i + 1 < argc)
            only = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--gemm") && i + 1 < argc) {
            i++;
            gemms = !strcmp(argv[i], "builtin") ? 1 : !strcmp(argv[i], "openblas") ? 2 : 3;
        } else if (!strcmp(argv[i], "--no-torch"))
            torch = 0;
        else {
            fprintf(stderr,
                    "usage: %s [--model FILE] [--seconds S] [--period N] [--channels C] "
                    "[--gemm builtin|openblas|both] [--reps R] [--rounds K] [--no-torch]\n",
                    argv[0]);
            return 2;
        }
    }
    if (seconds <= 0 || period < 1 || reps < 1 || rounds < 1 || rounds > 100) {
        fprintf(stderr, "bench_engine: --seconds, --period, --reps and --rounds must be positive (rounds <= 100)\n");
        return 2;
    }
    struct ictal_error err;
    struct ictal_model *m = ictal_model_load(model, &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const struct ictal_model_info *info = ictal_model_info(m);
    const size_t T = (size_t)(seconds * info->sample_rate);
    print_machine("start");
    double peak = sgemm_peak();
    printf("model %s: %ld params, %.0f Hz -> %.1f Hz frames; %.0f s of EEG per configuration, period %zu, best of %d\n",
           model, info->n_params, info->sample_rate, info->frame_rate, seconds, period, reps);
    printf("single-thread cblas_sgemm peak (384^3): %.2f GFLOP/s\n\n", peak / 1e9);
    printf("%5s %-8s %10s %10s %12s %10s %9s %9s %8s\n", "chan", "gemm", "us/frame", "worst/per", "x realtime",
           "MMAC/s", "GFLOP/s", "of peak", "RSS MB");
    static const int chans[] = {1, 18, 23, 64, 256};
    for (size_t ci = 0; ci < sizeof chans / sizeof chans[0]; ci++)
        if (!only || chans[ci] == only)
            run_config(m, chans[ci], gemms, T, period, seconds, reps, peak, 1);
    if (torch) {
        const int C = 23;
        const double seq_s = seconds, step_s = seconds < 10 ? seconds : 10;
        char in[] = "/tmp/ictal-bench-XXXXXX";
        int fd = mkstemp(in);
        float *x = make_input(C, T);
        if (fd < 0 || write(fd, x, sizeof(float) * (size_t)C * T) != (ssize_t)(sizeof(float) * (size_t)C * T))
            return 1;
        close(fd);
        free(x);
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tools/model/bench_reference.py '%s' '%s' %d %g %g %d",
                 ICTAL_SOURCE_DIR, model, in, C, seq_s, step_s, reps);
        printf("\nC engine (builtin) vs PyTorch reference, 23 channels, in %d rounds (each: C, then PyTorch);\n"
               "PyTorch: 1 thread, flush_denormal, inference_mode, thread CPU time, best of %d (step: of %d).\n"
               "x real time: C | PyTorch seq (malloc keeps memory) | seq (glibc default) | step;"
               " C / PyTorch: seq | seq glibc | step\n",
               rounds, reps, reps < 3 ? reps : 3);
        double r_seq[100], r_glibc[100], r_step[100], best_c = 0, best_seq = 0;
        int nr = 0;
        for (int k = 0; k < rounds; k++) {
            const double c = run_config(m, C, 1, T, period, seconds, reps, peak, 0);
            double seq = 0, glibc = 0, step = 0;
            long faults_glibc = 0;
            char info_line[256] = "";
            FILE *pf = popen(cmd, "r");
            char line[256];
            while (pf && fgets(line, sizeof line, pf)) {
                char mode[16];
                double eeg, cpu;
                long faults;
                if (!strncmp(line, "info ", 5))
                    snprintf(info_line, sizeof info_line, "%s", line + 5);
                else if (sscanf(line, "%15s %lf %lf %ld", mode, &eeg, &cpu, &faults) == 4 && cpu > 0) {
                    if (!strcmp(mode, "seq"))
                        seq = eeg / cpu;
                    else if (!strcmp(mode, "seq_glibc"))
                        glibc = eeg / cpu, faults_glibc = faults;
                    else if (!strcmp(mode, "step"))
                        step = eeg / cpu;
                }
            }
            if (pf)
                pclose(pf);
            if (c <= 0 || seq <= 0 || glibc <= 0 || step <= 0) {
                fprintf(stderr, "bench_engine: round %d failed (C %g, PyTorch %g %g %g)\n", k + 1, c, seq, glibc, step);
                continue;
            }
            info_line[strcspn(info_line, "\n")] = 0;
            if (k == 0)
                printf("  PyTorch: %s; glibc default: %ld page faults per call\n", info_line, faults_glibc);
            printf("  round %d: %8.0f | %7.0f | %7.0f | %5.1f;  %5.1f x | %5.1f x | %5.0f x\n", k + 1, c, seq, glibc, step,
                   c / seq, c / glibc, c / step);
            fflush(stdout);
            best_c = c > best_c ? c : best_c;
            best_seq = seq > best_seq ? seq : best_seq;
            r_seq[nr] = c / seq;
            r_glibc[nr] = c / glibc;
            r_step[nr] = c / step;
            nr++;
        }
        unlink(in);
        if (nr > 0) {
            qsort(r_seq, (size_t)nr, sizeof(double), cmp_double);
            qsort(r_glibc, (size_t)nr, sizeof(double), cmp_double);
            qsort(r_step, (size_t)nr, sizeof(double), cmp_double);
            printf("C / PyTorch over %d rounds (min / median / max): whole-sequence %.1f / %.1f / %.1f x "
                   "(glibc default malloc: %.1f / %.1f / %.1f x); step %.0f / %.0f / %.0f x\n",
                   nr, r_seq[0], r_seq[nr / 2], r_seq[nr - 1], r_glibc[0], r_glibc[nr / 2], r_glibc[nr - 1], r_step[0],
                   r_step[nr / 2], r_step[nr - 1]);
            printf("best C / best PyTorch whole-sequence over the run: %.0f / %.0f = %.1f x\n", best_c, best_seq,
                   best_c / best_seq);
        }
    }
    print_machine("end");
    ictal_model_destroy(m);
    return 0;
}
