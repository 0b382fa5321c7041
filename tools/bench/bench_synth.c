/*
 * bench_synth.c — how many times faster than real time ictal-synth generates
 * EEG (23 CHB-MIT channels at 256 Hz by default), on one core.
 *
 *   bench_synth [seconds-of-EEG] [rate] [montage chbmit|referential]
 *
 * Prints the figure together with the machine (CPU model from /proc/cpuinfo,
 * kernel from uname) so that numbers in reports can be compared. Two runs are
 * timed: generation only (in memory) and generation written to an EDF+ file.
 * A benchmark, not a test: it asserts nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "ictal/synth.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void cpu_model(char *buf, size_t cap)
{
    snprintf(buf, cap, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            if (p) {
                p++;
                while (*p == ' ' || *p == '\t')
                    p++;
                p[strcspn(p, "\n")] = '\0';
                snprintf(buf, cap, "%s", p);
            }
            break;
        }
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3600.0;
    int rate = argc > 2 ? atoi(argv[2]) : 256;
    int montage = argc > 3 && strcmp(argv[3], "referential") == 0
                      ? ICTAL_SYNTH_MONTAGE_REFERENTIAL : ICTAL_SYNTH_MONTAGE_CHBMIT;
    struct ictal_synth_config cfg;
    ictal_synth_config_default(&cfg);
    cfg.duration_s = seconds;
    cfg.sample_rate = rate;
    cfg.montage = montage;
    cfg.seed = 7;
    cfg.n_seizures = seconds >= 600 ? 3 : 1;
    cfg.seizure_type = ICTAL_SYNTH_SZ_FOCAL;
    struct ictal_error err;

    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    struct utsname un;
    if (uname(&un) != 0)
        memset(&un, 0, sizeof un);
    printf("machine: %s, %s %s %s\n", cpu, un.sysname, un.release, un.machine);

    struct ictal_synth *s = ictal_synth_create(&cfg, &err);
    if (!s) {
        fprintf(stderr, "bench_synth: %s\n", err.msg);
        return 1;
    }
    int nch = ictal_synth_channels(s);
    size_t block = (size_t)rate;
    float *buf = malloc(sizeof(float) * block * (size_t)nch);
    if (!buf)
        return 1;
    double t0 = now();
    while (ictal_synth_generate(s, buf, block, block) > 0) {
    }
    double gen = now() - t0;
    ictal_synth_destroy(s);
    printf("generate: %.0f s of %d ch at %d Hz (3 focal seizures, 1 artifact/min) in %.3f s "
           "= %.0fx real time\n", seconds, nch, rate, gen, seconds / gen);

    char path[] = "/tmp/bench_synth_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) {
        close(fd);
        s = ictal_synth_create(&cfg, &err);
        struct ictal_synth_output o = {.edf_path = path, .year = 2020, .month = 1, .day = 1};
        t0 = now();
        int rc = s ? ictal_synth_write(s, &o, &err) : -1;
        double wr = now() - t0;
        if (rc == 0)
            printf("write EDF+: %.3f s = %.0fx real time\n", wr, seconds / wr);
        else
            fprintf(stderr, "bench_synth: %s\n", err.msg);
        ictal_synth_destroy(s);
        unlink(path);
    }
    free(buf);
    return 0;
}
