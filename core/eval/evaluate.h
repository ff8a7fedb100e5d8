/*
 * evaluate.h - one evaluation: generate answers to a benchmark, judge
 * them, aggregate metrics, with every step kept in the run store.
 *
 * An evaluation is a named run.  Running it again resumes it: rows whose
 * answers are stored are not generated again, verdicts that are stored
 * are not asked again, and failed generations or verdicts are retried.
 * With a shard I/N in the session, only benchmark rows with
 * index % N == I - 1 are evaluated; `ftsb merge` joins the shards.
 */
#ifndef FTSB_EVALUATE_H
#define FTSB_EVALUATE_H

#include "../ftsb_setup.h"
#include "../plugin/host.h"
#include "../util/err.h"

struct session;
struct instance;

struct eval_judge {
    const char *name;           /* unique within the evaluation */
    struct instance *judge;
};

struct eval_spec {
    const char *name;           /* the run's name; NULL = derived */
    struct instance *backend;
    const struct ftsb_dataset *bench;
    const struct eval_judge *judges;
    size_t n_judges;
    struct instance *const *metrics;
    size_t n_metrics;
    const char *system;         /* "" = no system message */
    const char *user_template;  /* "" = the instruction alone */
    const char *trigger;        /* appended after a space when not "" */
    ftsb_gen_params params;
    uint32_t batch;             /* chats per generate() call */
};

struct eval_summary {
    char *name;                 /* the run's name (owned) */
    int64_t run_id;
    int64_t n_rows;             /* rows of this shard */
    int64_t n_ok, n_filtered, n_refused, n_error;
    int64_t n_generated;        /* rows answered in this call */
    int64_t n_verdict_errors;
    struct metric_values metrics;
};

/* Renders the user message of an instruction under a template. */
ftsb_status eval_render_user(const char *tmpl, const char *instruction,
                             const char *trigger, struct strbuf *out);

ftsb_status eval_run(struct session *s, const struct eval_spec *spec,
                     struct eval_summary *out, struct err *err);
void eval_summary_release(struct eval_summary *sum);

#endif /* FTSB_EVALUATE_H */
