/*
 * ftsb/metric.h - the metric kind: aggregates judged records.
 *
 * A metric reads the records of one evaluation (the generation state and
 * every judge's verdict) and adds named values to a sink: overall and per
 * category, with a confidence interval and the counts behind it.  Records
 * whose generation or verdict failed are counted as errors, never folded
 * into a rate.
 */
#ifndef FTSB_METRIC_H
#define FTSB_METRIC_H

#include "backend.h"
#include "judge.h"

FTSB_BEGIN_DECLS

/* One judge's verdict on a record. */
typedef struct ftsb_verdict_view {
    const char *judge;   /* the judge instance's name in the evaluation */
    int32_t state;       /* FTSB_VERDICT_* */
    int32_t refused;     /* FTSB_REFUSED_* */
    double score;        /* or FTSB_NO_SCORE */
} ftsb_verdict_view;

/* One evaluated benchmark item. */
typedef struct ftsb_record {
    uint32_t struct_size;
    const char *category;       /* NULL when the benchmark has none */
    int32_t gen_state;          /* FTSB_GEN_* */
    uint32_t n_verdicts;
    const ftsb_verdict_view *verdicts;
} ftsb_record;

/*
 * One value a metric reports.  category NULL is the overall value.
 * ci_low/ci_high bound a confidence interval at the level the metric
 * documents (NaN-free: equal to value when there is none).  n counts the
 * records the value is computed from, n_errors those left out because
 * their generation or verdict failed.
 */
typedef struct ftsb_metric_value {
    uint32_t struct_size;
    const char *name;
    const char *category;
    double value;
    double ci_low;
    double ci_high;
    int64_t n;
    int64_t n_errors;
} ftsb_metric_value;

typedef struct ftsb_metric_iface {
    uint32_t struct_size;

    /* As in ftsb_backend_iface. [main] */
    ftsb_status (*create)(ftsb_ctx *ctx, const ftsb_config *config,
                          void **self);
    void (*destroy)(void *self);

    /* Adds values to out with host->metric_add(). [instance] */
    ftsb_status (*compute)(void *self, ftsb_ctx *ctx,
                           const ftsb_record *records, uint32_t n,
                           ftsb_metric_sink *out);
} ftsb_metric_iface;

FTSB_END_DECLS

#endif /* FTSB_METRIC_H */
