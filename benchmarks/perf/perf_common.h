/*
 * perf_common.h - the helpers the speed programs share, one piece of code
 * per job: the clock and medians, the OpenBLAS sgemm peak every ratio is
 * taken against, how busy the shared machine was while a row was measured
 * (and whether to measure it again), the process's peak RSS (resettable,
 * so each model gets its own figure), comma lists of options, and the
 * cache folder of random-weight models (written once by random_model.h,
 * reused by later runs and by the other programs).  Standalone programs:
 * every helper exits with a message on failure instead of returning one.
 */
#ifndef FTSB_PERF_COMMON_H
#define FTSB_PERF_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "random_model.h"

/* Names the program in messages; call first in main. */
void perf_init(const char *prog);

/* Prints "prog: what: msg" on stderr and exits with failure. */
void perf_die(const char *what, const char *msg);

/* malloc that exits on failure. */
void *perf_xmalloc(size_t n);

/* Monotonic seconds. */
double perf_now(void);

/* Median of v[0..n) (sorts v). */
double perf_median(double *v, int n);

/* OpenBLAS sgemm GFLOP/s on square 2048 (C = A B), `threads` BLAS threads
 * (left set), median of 3 samples of >= 0.2 s. */
double perf_sgemm_peak(int threads);

/* CPU seconds all processes had spent busy (/proc/stat), ours, and when. */
struct perf_cpu_mark {
    double busy, own, wall;
};

struct perf_cpu_mark perf_cpu_mark(void);

/* Cores other processes kept busy since a (0 on a quiet machine). */
double perf_others_since(struct perf_cpu_mark a);

/* True when a measurement saw more than 0.15 cores of other load and
 * attempt < max_attempts: says so on stderr, waits 20 s, and the caller
 * measures again. */
int perf_disturbed(double other, int attempt, int max_attempts,
                   const char *what);

/* Resets the process's peak RSS (Linux: clear_refs 5). */
void perf_rss_reset(void);

/* VmHWM in MiB (peak RSS since the last reset), or -1. */
double perf_rss_peak_mib(void);

/* VmRSS in MiB (the RSS now), or -1. */
double perf_rss_now_mib(void);

/* getrusage's ru_maxrss in MiB.  On Linux it reads the same high-water
 * mark as VmHWM, so perf_rss_reset resets it too. */
double perf_rss_max_mib(void);

/* Is item one of the comma-separated list? */
int perf_listed(const char *list, const char *item);

/* dir/<name>-<type_name>.gguf in path, written first when absent:
 * the named random_model shape with a 2048-token context when shape is
 * NULL, else *shape.  Prints how long writing took. */
void perf_model_file(const char *dir, const char *name,
                     const struct lm_random_shape *shape,
                     const char *type_name, int32_t type, char *path,
                     size_t size);

#endif /* FTSB_PERF_COMMON_H */
