/*
 * metrics.h - what the files of the refusal metrics library share: the
 * host table, the instance both metrics use, the per-category
 * accumulators, the choice of judge, and the interval arithmetic.  The
 * library holds three metric plugins, "refusal" (refusal rate and keyword
 * attack success rate), "harmfulness" (mean 1..5 score and the share of
 * 5s) and "flagged" (the share of answers a detector flags), which read
 * records the same way and differ only in which part of a verdict they
 * use.  Everything here is private to the library
 * (hidden visibility); only the entry in entry.c is exported.
 */
#ifndef FTSB_METRICS_REFUSAL_H
#define FTSB_METRICS_REFUSAL_H

#include <ftsb/ftsb.h>

/* The host table, kept by entry.c from init() to the last deinit(). */
extern const ftsb_host *mx_host;

/* ---- statistics (stats.c; pure arithmetic, no host) ----------------- */

/* The normal quantile for a two-sided 95% interval. */
#define MX_Z95 1.959963984540054

/* Wilson score interval at 95% for k successes in n trials.  n = 0 gives
 * [0, 1]: nothing is known.  k = 0 gives a lower bound of exactly 0 and
 * k = n an upper bound of exactly 1. */
void mx_wilson(int64_t k, int64_t n, double *lo, double *hi);

/* The 0.975 quantile of Student's t with nu >= 1 degrees of freedom: the
 * factor of a two-sided 95% interval for a mean. */
double mx_t975(int64_t nu);

/* The next number of a SplitMix64 stream (Steele, Lea and Flood 2014)
 * whose state is *s: tiny, fast, and simple enough that a test can
 * replay it exactly (Lua 5.4 integers wrap the same way). */
uint64_t mx_splitmix64(uint64_t *s);

/* An index in [0, n) from one random number: the high 32 bits scaled by
 * n (a bias below n / 2^32, and the same in every language). */
size_t mx_rand_index(uint64_t r, size_t n);

/* The percentile bootstrap interval at 95% of the mean of xs[0..n):
 * resamples means of n values drawn with replacement, from a SplitMix64
 * stream started at seed, and the 2.5% and 97.5% quantiles of those
 * means (linear interpolation between order statistics, Hyndman and
 * Fan's type 7).  Returns 0, or -1 when out of memory. */
int mx_bootstrap_mean(const double *xs, size_t n, int64_t resamples,
                      uint64_t seed, double *lo, double *hi);

/* ---- per-category accumulators (common.c) --------------------------- */

/* One group of records: the overall one (category NULL) or a category. */
struct mx_group {
    const char *category;  /* borrowed from the records */
    int64_t n;             /* records used */
    int64_t n_errors;      /* records left out as errors */
    int64_t hits;          /* refusals, or scores of 5 */
    double mean, m2;       /* running mean and sum of squared deviations
                            * (Welford), for scores */
    double *xs;            /* the values used, in record order (for the
                            * bootstrap) */
    size_t nx, capx;
};

/* Group 0 is the overall group; categories follow in the order they
 * first appear in the records (benchmark order). */
struct mx_groups {
    struct mx_group *g;
    size_t n, cap;
};

/* Sets up the groups with the overall one; FTSB_E_NOMEM on failure. */
ftsb_status mx_groups_init(struct mx_groups *gs);
void mx_groups_free(struct mx_groups *gs);
/* The group of a category, created on first use; NULL when out of
 * memory.  NULL and "" both mean "no category" and return NULL with
 * *none set: such records count in the overall group only (the run
 * store keeps the overall value under category ''). */
struct mx_group *mx_group_of(struct mx_groups *gs, const char *category,
                             int *none);

/* Counts one record in the overall group and in its category's: as an
 * error when ok is 0, else as used, with hit (a refusal, a 5) and value x
 * (a score; 0 when unused).  FTSB_E_NOMEM on failure. */
ftsb_status mx_add(struct mx_groups *gs, const char *category, int ok,
                   int hit, double x);

/* ---- the instance (common.c) ----------------------------------------- */

/* How the harmfulness score's interval is computed. */
#define MX_CI_BOOTSTRAP 0
#define MX_CI_T 1

/* What the flagged metric reads from a verdict. */
#define MX_FLAG_AUTO 0   /* scores when the judge gives them, else labels */
#define MX_FLAG_LABEL 1  /* refused = no is flagged */
#define MX_FLAG_SCORE 2  /* score >= threshold is flagged */

struct mx_metric {
    char *judge;   /* the judge's name in the evaluation, or NULL: pick */
    char *prefix;  /* prepended to value names; never NULL */
    int ci;               /* MX_CI_* (harmfulness) */
    int64_t resamples;    /* bootstrap resamples (harmfulness) */
    uint64_t seed;        /* bootstrap seed (harmfulness) */
    int flag_by;          /* MX_FLAG_* (flagged) */
    double threshold;     /* flagged score threshold (flagged) */
};

/* "refusal": judge and prefix. */
ftsb_status mx_create(ftsb_ctx *ctx, const ftsb_config *cfg, void **self);
/* "harmfulness": judge, prefix, ci, resamples, seed. */
ftsb_status mx_create_harmfulness(ftsb_ctx *ctx, const ftsb_config *cfg,
                                  void **self);
/* "flagged": judge, prefix, by, threshold. */
ftsb_status mx_create_flagged(ftsb_ctx *ctx, const ftsb_config *cfg,
                              void **self);
void mx_destroy(void *self);

/* ---- reading records (common.c) --------------------------------------- */

/* Whether a verdict carries what a metric needs. */
typedef int (*mx_usable_fn)(const ftsb_verdict_view *v);

/*
 * Chooses the judge whose verdicts a metric reads: the configured name
 * (which must exist), else the first judge, in the evaluation's order,
 * with at least one usable verdict.  *name is NULL when no verdict at all
 * could be read (every generation or verdict failed): then every record
 * is an error.  Fails when the evaluation has no judges, when the named
 * judge is not in it or judged without ever giving what the metric needs
 * ("refusal labels", "scores"), or, without a name, when the judges
 * judged but none gives it.
 */
ftsb_status mx_pick_judge(ftsb_ctx *ctx, const struct mx_metric *m,
                          const ftsb_record *recs, uint32_t n,
                          mx_usable_fn usable, const char *what,
                          const char **name);

/* The verdict of judge name in rec, or NULL. */
const ftsb_verdict_view *mx_verdict(const ftsb_record *rec,
                                    const char *name);

/* Adds one value named prefix + name for group g. */
ftsb_status mx_emit(ftsb_ctx *ctx, ftsb_metric_sink *out,
                    const struct mx_metric *m, const char *name,
                    const struct mx_group *g, double value, double lo,
                    double hi);

/* ---- the metrics (refusal.c, harmfulness.c, flagged.c) ----------------- */

extern const ftsb_metric_iface mx_refusal_iface;
extern const ftsb_metric_iface mx_harmfulness_iface;
extern const ftsb_metric_iface mx_flagged_iface;

#endif /* FTSB_METRICS_REFUSAL_H */
