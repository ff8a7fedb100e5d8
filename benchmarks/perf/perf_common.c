/*
 * perf_common.c - the helpers perf_llama and perf_train share
 * (perf_common.h).  They were perf_llama's own; they live here so that
 * both programs measure the peak, the other load and the RSS the same
 * way, and their ratios can be compared.
 */
#define _GNU_SOURCE /* clock_gettime, getrusage */
#include "perf_common.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *prog_name = "perf";

void perf_init(const char *prog)
{
    prog_name = prog;
}

void perf_die(const char *what, const char *msg)
{
    fprintf(stderr, "%s: %s: %s\n", prog_name, what, msg);
    exit(EXIT_FAILURE);
}

void *perf_xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        perf_die("out of memory", "malloc");
    return p;
}

double perf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double perf_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double perf_sgemm_peak(int threads)
{
    const int n = 2048;
    float *a = perf_xmalloc((size_t)n * n * 4),
          *b = perf_xmalloc((size_t)n * n * 4),
          *c = perf_xmalloc((size_t)n * n * 4);
    double t[3];

    for (size_t i = 0; i < (size_t)n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    openblas_set_num_threads(threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a,
                n, b, n, 0.0f, c, n); /* warm-up */
    for (int s = 0; s < 3; s++) {
        int reps = 0;
        double t0 = perf_now(), el;
        do {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n,
                        1.0f, a, n, b, n, 0.0f, c, n);
            reps++;
        } while ((el = perf_now() - t0) < 0.2);
        t[s] = 2.0 * n * n * (double)n * reps / el / 1e9;
    }
    free(a);
    free(b);
    free(c);
    return perf_median(t, 3);
}

struct perf_cpu_mark perf_cpu_mark(void)
{
    struct perf_cpu_mark m = {0, 0, perf_now()};
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    struct rusage ru;

    if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
        m.busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
                 (double)sysconf(_SC_CLK_TCK);
    if (f)
        fclose(f);
    getrusage(RUSAGE_SELF, &ru);
    m.own = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
            ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
    return m;
}

double perf_others_since(struct perf_cpu_mark a)
{
    struct perf_cpu_mark b = perf_cpu_mark();
    double o = (b.busy - a.busy - (b.own - a.own)) / (b.wall - a.wall);
    return o > 0 ? o : 0;
}

int perf_disturbed(double other, int attempt, int max_attempts,
                   const char *what)
{
    if (other < 0.15 || attempt >= max_attempts)
        return 0;
    fprintf(stderr, "%s: %s: %.2f cores of other load, measuring again in "
            "20 s\n", prog_name, what, other);
    sleep(20);
    return 1;
}

void perf_rss_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

/* A "Key:   123 kB" line of /proc/self/status in MiB, or -1. */
static double status_mib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t n = strlen(key);
    double kb = -1;

    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, n))
            kb = atof(line + n);
    if (f)
        fclose(f);
    return kb < 0 ? -1 : kb / 1024.0;
}

double perf_rss_peak_mib(void)
{
    return status_mib("VmHWM:");
}

double perf_rss_now_mib(void)
{
    return status_mib("VmRSS:");
}

double perf_rss_max_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0; /* Linux reports KiB */
}

int perf_listed(const char *list, const char *item)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *s = strtok(buf, ","); s; s = strtok(NULL, ","))
        if (!strcmp(s, item))
            return 1;
    return 0;
}

void perf_model_file(const char *dir, const char *name,
                     const struct lm_random_shape *shape,
                     const char *type_name, int32_t type, char *path,
                     size_t size)
{
    struct lm_random_shape s;
    struct lm_err e;
    struct stat sb;

    snprintf(path, size, "%s/%s-%s.gguf", dir, name, type_name);
    if (stat(path, &sb) == 0)
        return;
    if (shape) {
        s = *shape;
    } else {
        if (lm_random_shape_named(name, &s, &e))
            perf_die(name, e.msg);
        s.n_ctx = 2048;
    }
    printf("(writing %s ...", path);
    fflush(stdout);
    double t0 = perf_now();
    if (lm_random_model_write(path, &s, type, 1, NULL, &e))
        perf_die(path, e.msg);
    printf(" %.0f s)\n", perf_now() - t0);
}
