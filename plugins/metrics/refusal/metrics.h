/*
 * metrics.h - what the files of the refusal metrics library share: the
 * host table, the instance both metrics use, the per-category
 * accumulators, the choice of judge, and the interval arithmetic.  The
 * library holds two metric plugins, "refusal" (refusal rate and keyword
 * attack success rate) and "harmfulness" (mean 1..5 score and the share
 * of 5s), which read records the same way and differ only in which part
 * of a verdict they use.  Everything here is private to the library
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

/* ---- per-category accumulators (common.c) --------------------------- */

/* One group of records: the overall one (category NULL) or a category. */
struct mx_group {
    const char *category;  /* borrowed from the records */
    int64_t n;             /* records used */
    int64_t n_errors;      /* records left out as errors */
    int64_t hits;          /* refusals, or scores of 5 */
    double mean, m2;       /* running mean and sum of squared deviations
                            * (Welford), for scores */
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

struct mx_metric {
    char *judge;   /* the judge's name in the evaluation, or NULL: pick */
    char *prefix;  /* prepended to value names; never NULL */
};

ftsb_status mx_create(ftsb_ctx *ctx, const ftsb_config *cfg, void **self);
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

/* ---- the two metrics (refusal.c, harmfulness.c) ---------------------- */

extern const ftsb_metric_iface mx_refusal_iface;
extern const ftsb_metric_iface mx_harmfulness_iface;

#endif /* FTSB_METRICS_REFUSAL_H */
