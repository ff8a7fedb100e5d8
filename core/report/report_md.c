/*
 * report_md.c - report.md: the report as Markdown tables.
 *
 * The main table has the paper's shape (Tables 1-5): one row per metric,
 * one column per run, each cell "value (+delta)" against the baseline
 * run, rates in percent and their deltas in percentage points.  Beside it:
 * the same values with their 95% intervals and counts, the counts of
 * records by state and of each judge's verdicts and errors, one table per
 * metric that has per-category values (the paper's Figures 1 and 6 as
 * numbers), each judge's score histogram, and where each run came from.
 * Beside every delta, in tables of their own so the paper-shaped one
 * keeps its shape: the p-value of the paired test against the baseline
 * (report_paired.c) and the test that gave it.
 * A cell whose value left records out says so ("3 err"): an error is
 * never folded into a figure silently.
 */
#include "../ftsb_setup.h"

#include <math.h>

#include <cjson/cJSON.h>

#include "report_int.h"

/* A table cell: '|' escaped, line breaks as spaces. */
static void cell(FILE *f, const char *s)
{
    fputc(' ', f);
    for (; s && *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
    fputs(" |", f);
}

static void header(FILE *f, const struct rp_report *r, const char *first)
{
    fputc('|', f);
    cell(f, first);
    for (size_t i = 0; i < r->n_runs; i++)
        cell(f, r->runs[i].label);
    fputs("\n|---|", f);
    for (size_t i = 0; i < r->n_runs; i++)
        fputs("---|", f);
    fputc('\n', f);
}

static void value_cell(FILE *f, const struct rp_report *r, size_t i,
                       const char *name, const char *cat)
{
    char buf[200];

    rp_fmt_cell(r, i, name, cat, buf, sizeof buf);
    cell(f, buf);
}

static void main_table(FILE *f, const struct rp_report *r)
{
    fputs("## Results\n\n", f);
    if (r->n_names == 0) {
        fputs("No metric values are stored for these runs: evaluate them "
              "with `metrics = { ... }`.\n\n", f);
        return;
    }
    header(f, r, "metric");
    for (size_t k = 0; k < r->n_names; k++) {
        fputc('|', f);
        cell(f, r->names[k]);
        for (size_t i = 0; i < r->n_runs; i++)
            value_cell(f, r, i, r->names[k], NULL);
        fputc('\n', f);
    }
    if (r->baseline >= 0)
        fprintf(f, "\nIn parentheses: the difference from the baseline, "
                "**%s**; differences of rates are in percentage points. ",
                r->runs[r->baseline].label);
    else
        fputc('\n', f);
    fputs("\"n err\": records left out of that value because their "
          "generation or verdict failed.\n\n", f);
}

/* "McNemar (exact binomial), judge gpt4" or "– (why)". */
static void test_text(const struct rp_test *t, char *out, size_t cap)
{
    if (!t)
        snprintf(out, cap, "\xe2\x80\x93");
    else if (t->method == RP_TEST_NONE)
        snprintf(out, cap, "\xe2\x80\x93 (%s)", t->why);
    else
        snprintf(out, cap, "%s, judge %s", rp_test_method_name(t->method),
                 t->judge ? t->judge : "?");
}

static void paired_table(FILE *f, const struct rp_report *r)
{
    if (r->baseline < 0 || r->n_runs < 2 || r->n_names == 0)
        return;
    fputs("### Paired tests against the baseline\n\n"
          "| metric | run | difference | p-value | test | pairs |\n"
          "|---|---|---|---|---|---|\n", f);
    for (size_t k = 0; k < r->n_names; k++)
        for (size_t i = 0; i < r->n_runs; i++) {
            const struct rp_run *run = &r->runs[i];
            const struct rp_metric *m = rp_find(run, r->names[k], NULL);
            const struct rp_test *t = rp_test_find(run, r->names[k], NULL);
            char d[64], pv[32], test[256], pairs[32];

            if ((long)i == r->baseline || !m)
                continue;
            rp_fmt_delta(r->names[k], m,
                         rp_find(&r->runs[r->baseline], r->names[k], NULL), d,
                         sizeof d);
            rp_fmt_p(t, pv, sizeof pv);
            test_text(t, test, sizeof test);
            snprintf(pairs, sizeof pairs, "%lld",
                     t ? (long long)t->pairs : 0LL);
            fputc('|', f);
            cell(f, r->names[k]);
            cell(f, run->label);
            cell(f, *d ? d : "\xe2\x80\x93");
            cell(f, *pv ? pv : "\xe2\x80\x93");
            cell(f, test);
            cell(f, pairs);
            fputc('\n', f);
        }
    fprintf(f, "\nPaired on the records both runs answered and judged, matched "
            "by benchmark index. Rates: McNemar's test on the discordant "
            "pairs (exact binomial below %d of them, else chi-square with "
            "continuity correction). Mean scores: paired bootstrap of the "
            "mean difference (%d resamples, seed %d).\n\n",
            RP_MCNEMAR_EXACT_BELOW, RP_BOOT_RESAMPLES, RP_BOOT_SEED);
}

/* Per-category differences and p-values of one metric. */
static void category_p_table(FILE *f, const struct rp_report *r,
                             const char *name)
{
    const struct rp_run *base;

    if (r->baseline < 0 || r->n_runs < 2)
        return;
    base = &r->runs[r->baseline];
    fprintf(f, "Paired tests by category (difference from %s, p-value):\n\n"
            "| category |", base->label);
    for (size_t i = 0; i < r->n_runs; i++)
        if ((long)i != r->baseline)
            cell(f, r->runs[i].label);
    fputs("\n|---|", f);
    for (size_t i = 1; i < r->n_runs; i++)
        fputs("---|", f);
    fputc('\n', f);
    for (size_t c = 0; c < r->n_cats; c++) {
        if (!rp_find(base, name, r->cats[c]))
            continue;
        fputc('|', f);
        cell(f, r->cats[c]);
        for (size_t i = 0; i < r->n_runs; i++) {
            const struct rp_metric *m = rp_find(&r->runs[i], name, r->cats[c]);
            const struct rp_test *t = rp_test_find(&r->runs[i], name,
                                                   r->cats[c]);
            char d[64], pv[32], buf[128];

            if ((long)i == r->baseline)
                continue;
            rp_fmt_delta(name, m, rp_find(base, name, r->cats[c]), d,
                         sizeof d);
            rp_fmt_p(t, pv, sizeof pv);
            if (!m || !*d)
                snprintf(buf, sizeof buf, "\xe2\x80\x93");
            else if (*pv)
                snprintf(buf, sizeof buf, "%s (p %s%s)", d,
                         pv[0] == '<' ? "" : "= ", pv);
            else
                snprintf(buf, sizeof buf, "%s", d);
            cell(f, buf);
        }
        fputc('\n', f);
    }
    fputc('\n', f);
}

static void interval_table(FILE *f, const struct rp_report *r)
{
    if (r->n_names == 0)
        return;
    fputs("### With 95% intervals\n\n"
          "| metric | run | value | 95% interval | n | errors |\n"
          "|---|---|---|---|---|---|\n", f);
    for (size_t k = 0; k < r->n_names; k++)
        for (size_t i = 0; i < r->n_runs; i++) {
            const struct rp_metric *m = rp_find(&r->runs[i], r->names[k],
                                                NULL);
            char v[64], ci[96], n[32], e[32];

            if (!m)
                continue;
            rp_fmt_value(r->names[k], m, v, sizeof v);
            rp_fmt_ci(r->names[k], m, ci, sizeof ci);
            snprintf(n, sizeof n, "%lld", (long long)m->n);
            snprintf(e, sizeof e, "%lld", (long long)m->n_errors);
            fputc('|', f);
            cell(f, r->names[k]);
            cell(f, r->runs[i].label);
            cell(f, v);
            cell(f, *ci ? ci : "–");
            cell(f, n);
            cell(f, e);
            fputc('\n', f);
        }
    fputc('\n', f);
}

struct count_out {
    FILE *f;
    const struct rp_report *r;
};

static void count_row(void *ud, const char *what, const char *judge,
                      int which)
{
    struct count_out *o = ud;

    fputc('|', o->f);
    cell(o->f, what);
    for (size_t i = 0; i < o->r->n_runs; i++) {
        int64_t v;
        char buf[32];

        if (!rp_count_value(&o->r->runs[i], judge, which, &v)) {
            cell(o->f, "–");
            continue;
        }
        snprintf(buf, sizeof buf, "%lld", (long long)v);
        cell(o->f, buf);
    }
    fputc('\n', o->f);
}

static void counts_table(FILE *f, const struct rp_report *r)
{
    struct count_out o = {f, r};

    fputs("## Counts\n\n", f);
    header(f, r, "count");
    rp_count_rows(r, count_row, &o);
    fputs("\nFiltered, refused and failed generations are never judged; "
          "metrics count them, and failed verdicts, as errors.\n\n", f);
}

static void category_tables(FILE *f, const struct rp_report *r)
{
    for (size_t k = 0; k < r->n_names; k++) {
        if (!rp_has_categories(r, r->names[k]))
            continue;
        fprintf(f, "## By category: %s\n\n", r->names[k]);
        header(f, r, "category");
        for (size_t c = 0; c < r->n_cats; c++) {
            int any = 0;

            for (size_t i = 0; i < r->n_runs && !any; i++)
                any = rp_find(&r->runs[i], r->names[k], r->cats[c]) != NULL;
            if (!any)
                continue;
            fputc('|', f);
            cell(f, r->cats[c]);
            for (size_t i = 0; i < r->n_runs; i++)
                value_cell(f, r, i, r->names[k], r->cats[c]);
            fputc('\n', f);
        }
        fputc('\n', f);
        category_p_table(f, r, r->names[k]);
    }
}

static void histograms(FILE *f, const struct rp_report *r)
{
    for (size_t k = 0; k < r->n_judges; k++) {
        int other = 0;

        if (!rp_judge_scored(r, r->judges[k]))
            continue;
        fprintf(f, "## Scores of judge %s\n\n", r->judges[k]);
        header(f, r, "score");
        for (size_t i = 0; i < r->n_runs; i++) {
            const struct rp_judge *j = rp_judge_of(&r->runs[i], r->judges[k]);

            other |= j && j->hist[0];
        }
        for (int s = other ? 0 : 1; s <= 5; s++) {
            char what[16];

            snprintf(what, sizeof what, "%d", s);
            fputc('|', f);
            cell(f, s ? what : "other");
            for (size_t i = 0; i < r->n_runs; i++) {
                const struct rp_judge *j = rp_judge_of(&r->runs[i],
                                                       r->judges[k]);
                char buf[64];

                if (!j || !j->scored) {
                    cell(f, "–");
                    continue;
                }
                snprintf(buf, sizeof buf, "%lld (%.1f%%)",
                         (long long)j->hist[s],
                         100.0 * (double)j->hist[s] / (double)j->scored);
                cell(f, buf);
            }
            fputc('\n', f);
        }
        fputc('\n', f);
    }
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Inline code that survives backticks and line breaks in the value. */
static void code(FILE *f, const char *s)
{
    fputs("`` ", f);
    for (; s && *s; s++)
        fputc(*s == '\n' ? ' ' : *s, f);
    fputs(" ``", f);
}

static void provenance(FILE *f, const struct rp_report *r)
{
    fputs("## Runs\n\n", f);
    for (size_t i = 0; i < r->n_runs; i++) {
        const struct rp_run *run = &r->runs[i];
        cJSON *p = run->provenance ? cJSON_Parse(run->provenance) : NULL;
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(p, "backend");
        const cJSON *pr = cJSON_GetObjectItemCaseSensitive(p, "prompt");
        const cJSON *js = cJSON_GetObjectItemCaseSensitive(p, "judges"), *j;
        const cJSON *rows = cJSON_GetObjectItemCaseSensitive(p,
                                                             "benchmark_rows");

        fprintf(f, "### %s", run->label);
        if (strcmp(run->label, run->name) != 0)
            fprintf(f, " (run `%s`)", run->name);
        fprintf(f, "%s\n\n", r->baseline == (long)i ? " — baseline" : "");
        fprintf(f, "- %s; created %s%s%s\n",
                run->finished ? "complete" : "**incomplete**",
                run->created ? run->created : "?",
                run->finished ? ", finished " : "",
                run->finished ? run->finished : "");
        if (run->shard && *run->shard)
            fprintf(f, "- shard %s only\n", run->shard);
        if (b) {
            fprintf(f, "- model: %s %s, fingerprint ",
                    jstr(b, "plugin") ? jstr(b, "plugin") : "?",
                    jstr(b, "version") ? jstr(b, "version") : "");
            code(f, jstr(b, "fingerprint"));
            fputc('\n', f);
        }
        if (jstr(p, "benchmark")) {
            fputs("- benchmark: ", f);
            code(f, jstr(p, "benchmark"));
            if (cJSON_IsNumber(rows))
                fprintf(f, " (%.0f rows)", rows->valuedouble);
            fputc('\n', f);
        }
        if (pr) {
            fputs("- prompt: system ", f);
            code(f, jstr(pr, "system"));
            fputs(", template ", f);
            code(f, jstr(pr, "template"));
            if (jstr(pr, "trigger") && *jstr(pr, "trigger")) {
                fputs(", trigger ", f);
                code(f, jstr(pr, "trigger"));
            }
            fputc('\n', f);
        }
        cJSON_ArrayForEach(j, js) {
            fprintf(f, "- judge %s: %s %s, fingerprint ", j->string,
                    jstr(j, "plugin") ? jstr(j, "plugin") : "?",
                    jstr(j, "version") ? jstr(j, "version") : "");
            code(f, jstr(j, "fingerprint"));
            fputc('\n', f);
        }
        if (jstr(p, "decoding")) {
            fputs("- decoding: ", f);
            code(f, jstr(p, "decoding"));
            fputc('\n', f);
        }
        if (run->config_key)
            fprintf(f, "- run key: `%s`\n", run->config_key);
        fputc('\n', f);
        cJSON_Delete(p);
    }
}

ftsb_status rp_write_markdown(const struct rp_report *r, FILE *f,
                              struct err *err)
{
    fprintf(f, "# %s\n\n", r->title);
    if (r->spec->notes && *r->spec->notes)
        fprintf(f, "%s\n\n", r->spec->notes);
    fprintf(f, "Generated %s by ftsb %s from `%s`.\n\n", r->generated,
            FTSB_VERSION, r->store_path);
    main_table(f, r);
    paired_table(f, r);
    interval_table(f, r);
    counts_table(f, r);
    category_tables(f, r);
    histograms(f, r);
    provenance(f, r);
    if (ferror(f))
        return err_set(err, FTSB_E_IO, "cannot write report.md: %s",
                       strerror(errno));
    return FTSB_OK;
}
