/*
 * report_int.h - what the files of core/report/ share: the report's data
 * as read from the store (runs, their metric values, counts and judge
 * histograms), lookups, and the formatting rules every output follows
 * (which metrics are rates, how values and deltas are printed).
 *
 * report_data.c fills the model and streams records.jsonl while it reads
 * the records, keeping of each record what the paired tests need;
 * report_paired.c runs those tests (McNemar, paired bootstrap) of every
 * run against the baseline; report_json.c writes summary.json and
 * metrics.csv; report_md.c the Markdown; report_html.c the HTML and its
 * SVG charts; report.c checks the request and writes the files
 * atomically.
 */
#ifndef FTSB_REPORT_INT_H
#define FTSB_REPORT_INT_H

#include "../ftsb_setup.h"
#include "../util/err.h"
#include "../util/strbuf.h"
#include "report.h"

struct store;

/* One stored metric value of a run. */
struct rp_metric {
    char *name;
    char *category;          /* NULL for the overall value */
    double value, lo, hi;    /* NaN when the store holds none */
    int64_t n, n_errors;
};

/* What one judge said over a run's records. */
struct rp_judge {
    char *name;
    int64_t ok;              /* usable verdicts */
    int64_t errors;          /* failed verdicts */
    int64_t not_judged;      /* answered records without a verdict */
    int64_t refused, not_refused;
    int64_t hist[6];         /* [1..5]: verdicts with that whole score;
                              * [0]: other scores */
    int64_t scored;
};

/* What the paired tests keep of one record: its benchmark index, its
 * category, a hash of its instruction (to check that two runs asked the
 * same thing), its generation state and its verdicts
 * (vobs[v_first .. v_first + v_n)). */
struct rp_obs {
    int64_t idx;
    char *category;
    uint64_t ihash;
    int32_t gen_state;
    size_t v_first, v_n;
};

struct rp_vobs {
    size_t judge;            /* index into the run's judges */
    int32_t state, refused;
    double score;
};

/* Paired test methods. */
#define RP_TEST_NONE 0
#define RP_TEST_MCNEMAR_EXACT 1
#define RP_TEST_MCNEMAR_CHI2 2
#define RP_TEST_BOOTSTRAP 3

/* The paired bootstrap's settings, fixed so a report is reproducible. */
#define RP_BOOT_RESAMPLES 10000
#define RP_BOOT_SEED 42
/* McNemar: the exact binomial test below this many discordant pairs, the
 * continuity-corrected chi-square from there on. */
#define RP_MCNEMAR_EXACT_BELOW 25

/* One paired test of a run against the baseline, for one metric value
 * (name, category). */
struct rp_test {
    const char *name;        /* points into rp_report.names */
    const char *category;    /* NULL (overall) or into rp_report.cats */
    int method;              /* RP_TEST_* */
    const char *judge;       /* the judge whose verdicts were paired */
    int64_t pairs;           /* records usable in both runs */
    int64_t b, c;            /* McNemar: baseline yes/run no, no/yes */
    double p;                /* two-sided p-value; NaN without a test */
    double diff, lo, hi;     /* bootstrap: mean difference, 95% interval */
    char why[160];           /* RP_TEST_NONE: why there is no test */
};

struct rp_run {
    char *name, *label;
    int64_t id;
    char *config_key, *shard, *provenance, *created, *finished;
    int64_t n_records;
    int64_t n_state[4];      /* by FTSB_GEN_* (0 ok .. 3 error) */
    struct rp_judge *judges;
    size_t n_judges;
    struct rp_metric *metrics;
    size_t n_metrics;
    struct rp_obs *obs;      /* in idx order */
    size_t n_obs, cap_obs;
    struct rp_vobs *vobs;
    size_t n_vobs, cap_vobs;
    struct rp_test *tests;   /* against the baseline (none on it) */
    size_t n_tests;
};

struct rp_report {
    const struct report_spec *spec;
    const char *title;
    const char *store_path;
    char generated[32];      /* UTC, ISO 8601 */
    struct rp_run *runs;
    size_t n_runs;
    long baseline;           /* index into runs, or -1 for no deltas */
    char **names;            /* metric names shown, in order */
    size_t n_names;
    char **cats;             /* categories, first-appearance order */
    size_t n_cats;
    char **judges;           /* judge names over all runs */
    size_t n_judges;
};

/* ---- report_data.c --------------------------------------------------- */

/* Reads the runs of r->spec from the store into r, writing records.jsonl
 * to records as it goes.  On failure err says why; rp_free releases what
 * was read. */
ftsb_status rp_load(struct store *store, struct rp_report *r, FILE *records,
                    struct err *err);
void rp_free(struct rp_report *r);

/* The value of metric name for category (NULL = overall) in run, or
 * NULL. */
const struct rp_metric *rp_find(const struct rp_run *run, const char *name,
                                const char *category);
/* Whether any run reports name for some category. */
int rp_has_categories(const struct rp_report *r, const char *name);
/* A judge's counts in run, or NULL when the run has no such judge. */
/* The counts table, shared by the Markdown and HTML writers: which row
 * (RP_COUNT_*), its value for a run, and the rows in order (the judge
 * rows repeat for each judge of the report). */
enum {
    RP_COUNT_RECORDS, RP_COUNT_ANSWERED, RP_COUNT_FILTERED,
    RP_COUNT_REFUSED, RP_COUNT_GEN_ERRORS, RP_COUNT_VERDICTS,
    RP_COUNT_VERDICT_ERRORS, RP_COUNT_NOT_JUDGED
};
/* 1 and *v set, or 0 when the run has no verdicts of that judge. */
int rp_count_value(const struct rp_run *run, const char *judge, int which,
                   int64_t *v);
/* Non-zero for the rows whose non-zero values are failures. */
int rp_count_is_error(int which);
typedef void (*rp_count_row_fn)(void *ud, const char *what,
                                const char *judge, int which);
void rp_count_rows(const struct rp_report *r, rp_count_row_fn row, void *ud);

const struct rp_judge *rp_judge_of(const struct rp_run *run,
                                   const char *name);
/* Whether any run has scores from judge name. */
int rp_judge_scored(const struct rp_report *r, const char *name);

/* ---- paired tests (report_paired.c) ------------------------------------ */

/* Pure statistics, exposed for the unit test. */
/* McNemar's two-sided p-value for b and c discordant pairs; *exact says
 * which form was used. */
double rp_mcnemar(int64_t b, int64_t c, int *exact);
/* The paired bootstrap of the mean of d[0..n): *p the two-sided p-value
 * of "mean 0" (resampling the centred differences), [lo, hi] the 95%
 * percentile interval of the mean.  Returns 0, or -1 when out of
 * memory. */
int rp_paired_bootstrap(const double *d, size_t n, int64_t resamples,
                        uint64_t seed, double *p, double *lo, double *hi);

/* Keeps what the paired tests need of a record of run. */
ftsb_status rp_obs_add(struct rp_run *run, int64_t idx, const char *category,
                       const char *instruction, int32_t gen_state,
                       const size_t *judges, const int32_t *states,
                       const int32_t *refused, const double *scores,
                       size_t n_verdicts);
/* Runs every test of every run against the baseline (nothing without
 * one).  Fails only when out of memory. */
ftsb_status rp_paired(struct rp_report *r, struct err *err);
/* The test of run for (name, category), or NULL. */
const struct rp_test *rp_test_find(const struct rp_run *run, const char *name,
                                   const char *category);
/* "0.031", "< 0.001", or "" without a test. */
void rp_fmt_p(const struct rp_test *t, char *out, size_t cap);
/* A short name of the test: "McNemar exact", "paired bootstrap"... */
const char *rp_test_method_name(int method);

/* ---- formatting (report_data.c) -------------------------------------- */

/* Rates (names ending in "rate" or "asr") print as percentages, their
 * deltas in percentage points; other values with two decimals. */
int rp_is_rate(const char *name);
/* "88.8%" or "4.75"; "n/a" for NaN or a value computed from nothing. */
void rp_fmt_value(const char *name, const struct rp_metric *m, char *out,
                  size_t cap);
/* "+87.0%" or "+3.62" (signed); "" when either side is missing. */
void rp_fmt_delta(const char *name, const struct rp_metric *m,
                  const struct rp_metric *base, char *out, size_t cap);
/* "[81.2, 93.4]" (percent for rates) or "" without an interval. */
void rp_fmt_ci(const char *name, const struct rp_metric *m, char *out,
               size_t cap);
/* A table cell for run i: "4.75 (+3.62)", with " · 3 err" when the value
 * left records out, an en dash when the run has no such value. */
void rp_fmt_cell(const struct rp_report *r, size_t i, const char *name,
                 const char *cat, char *out, size_t cap);
/* The delta of m against base, or NaN. */
double rp_delta(const struct rp_metric *m, const struct rp_metric *base);

/* ---- the outputs ------------------------------------------------------ */

ftsb_status rp_write_summary(const struct rp_report *r, FILE *f,
                             struct err *err);
ftsb_status rp_write_csv(const struct rp_report *r, FILE *f, struct err *err);
ftsb_status rp_write_markdown(const struct rp_report *r, FILE *f,
                              struct err *err);
ftsb_status rp_write_html(const struct rp_report *r, FILE *f,
                          struct err *err);

#endif /* FTSB_REPORT_INT_H */
