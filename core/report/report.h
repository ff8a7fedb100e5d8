/*
 * report.h - reports of evaluations, read back from the run store.
 *
 * A report compares named runs (the "Initial" model and its fine-tuned
 * versions, say) and writes five files into one folder:
 *
 *   records.jsonl  every record of every run, with its verdicts
 *   summary.json   per run: metrics overall and per category, counts by
 *                  state (errors included), the judges' score
 *                  histograms, provenance, and deltas against a baseline
 *   metrics.csv    one row per (run, metric, category)
 *   report.md      tables shaped like the paper's: rows are metrics,
 *                  columns are runs, "value (+delta)"; per-category tables
 *   report.html    the same, self-contained, with inline SVG charts (per
 *                  category bars with 95% whiskers; score histograms)
 *
 * Every file is written to "NAME.tmp" in the folder, synced, and renamed
 * over NAME only when all five are complete, so a failure leaves the
 * previous report whole.  An error is never a verdict: error counts are
 * shown beside every figure.
 */
#ifndef FTSB_REPORT_H
#define FTSB_REPORT_H

#include "../ftsb_setup.h"
#include "../util/err.h"

struct store;

/* One run of the report: the store's run name, and the column label
 * (NULL = the name). */
struct report_run {
    const char *name;
    const char *label;
};

struct report_spec {
    const char *title;              /* NULL = "ftsb report" */
    const char *notes;              /* Markdown shown under the title; may be NULL */
    const struct report_run *runs;  /* at least one */
    size_t n_runs;
    /* The run (by name or label) others are compared with; NULL = the
     * first run; "" = no deltas. */
    const char *baseline;
    /* Metric names to show, in this order; NULL/0 = every name found, in
     * the order the runs first report them. */
    const char *const *metrics;
    size_t n_metrics;
    const char *out_dir;            /* created (with parents) if missing */
};

/* Where the files went (paths owned by the caller after the call: free
 * with report_files_release). */
struct report_files {
    char *records, *summary, *csv, *markdown, *html;
};

/*
 * Writes the report of spec from the store.  Errors (FTSB_E_INVALID with
 * a message naming what to fix): no runs, a run listed twice, a run that
 * is not in the store (the message lists the runs there), an unknown
 * baseline, a metric name no run reports; FTSB_E_IO: the folder cannot be
 * created or written.  files may be NULL.
 */
ftsb_status report_write(struct store *store, const struct report_spec *spec,
                         struct report_files *files, struct err *err);

void report_files_release(struct report_files *files);

#endif /* FTSB_REPORT_H */
