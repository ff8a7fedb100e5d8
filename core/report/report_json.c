/*
 * report_json.c - summary.json and metrics.csv.
 *
 * summary.json is the machine-readable report: for each run its metric
 * values overall and per category (value, 95% interval, n, errors, the
 * delta against the baseline run and the p-value of its paired test),
 * its counts by generation state and per judge, each judge's score
 * histogram, and the provenance the run store kept (parsed back into
 * JSON).  A value the store holds as NaN, or
 * a delta without both sides, is written as null: JSON has no NaN.
 * metrics.csv holds the same values flat, one row per (run, metric,
 * category), for spreadsheets and plotting scripts.
 */
#include "../ftsb_setup.h"

#include <math.h>

#include <cjson/cJSON.h>

#include "report_int.h"

static void add_num(cJSON *o, const char *k, double v)
{
    if (isnan(v) || isinf(v))
        cJSON_AddNullToObject(o, k);
    else
        cJSON_AddNumberToObject(o, k, v);
}

/* The paired test beside a delta: its method and numbers, or why there
 * is none. */
static cJSON *test_json(const struct rp_test *t)
{
    cJSON *o = cJSON_CreateObject(), *a;

    if (!o)
        return NULL;
    if (!t || t->method == RP_TEST_NONE) {
        cJSON_AddNullToObject(o, "method");
        cJSON_AddStringToObject(o, "why", t ? t->why : "no paired test");
        return o;
    }
    cJSON_AddStringToObject(o, "method",
                            t->method == RP_TEST_BOOTSTRAP ? "paired_bootstrap"
                            : t->method == RP_TEST_MCNEMAR_EXACT
                                ? "mcnemar_exact"
                                : "mcnemar_chi2");
    if (t->judge)
        cJSON_AddStringToObject(o, "judge", t->judge);
    cJSON_AddNumberToObject(o, "pairs", (double)t->pairs);
    add_num(o, "p_value", t->p);
    if (t->method == RP_TEST_BOOTSTRAP) {
        add_num(o, "mean_difference", t->diff);
        if ((a = cJSON_AddArrayToObject(o, "ci"))) {
            cJSON_AddItemToArray(a, cJSON_CreateNumber(t->lo));
            cJSON_AddItemToArray(a, cJSON_CreateNumber(t->hi));
        }
        cJSON_AddNumberToObject(o, "resamples", RP_BOOT_RESAMPLES);
        cJSON_AddNumberToObject(o, "seed", RP_BOOT_SEED);
    } else if ((a = cJSON_AddArrayToObject(o, "discordant"))) {
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)t->b));
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)t->c));
    }
    return o;
}

static cJSON *metric_json(const struct rp_metric *m,
                          const struct rp_metric *base, int is_base,
                          const struct rp_test *t)
{
    cJSON *o = cJSON_CreateObject();

    if (!o)
        return NULL;
    add_num(o, "value", m->value);
    add_num(o, "lo", m->lo);
    add_num(o, "hi", m->hi);
    cJSON_AddNumberToObject(o, "n", (double)m->n);
    cJSON_AddNumberToObject(o, "errors", (double)m->n_errors);
    if (!is_base) {
        add_num(o, "delta", base ? rp_delta(m, base) : NAN);
        add_num(o, "p_value", t && t->method != RP_TEST_NONE ? t->p : NAN);
        if (base)
            cJSON_AddItemToObject(o, "test", test_json(t));
    }
    return o;
}

static cJSON *metrics_json(const struct rp_report *r, const struct rp_run *run)
{
    const struct rp_run *base = r->baseline >= 0 ? &r->runs[r->baseline]
                                                 : NULL;
    int is_base = base == run || !base;
    cJSON *o = cJSON_CreateObject(), *overall, *cats;

    if (!o)
        return NULL;
    overall = cJSON_AddObjectToObject(o, "overall");
    cats = cJSON_AddObjectToObject(o, "categories");
    for (size_t k = 0; overall && k < r->n_names; k++) {
        const struct rp_metric *m = rp_find(run, r->names[k], NULL);

        if (m)
            cJSON_AddItemToObject(
                overall, m->name,
                metric_json(m, base ? rp_find(base, m->name, NULL) : NULL,
                            is_base, rp_test_find(run, m->name, NULL)));
    }
    for (size_t c = 0; cats && c < r->n_cats; c++) {
        cJSON *co = NULL;

        for (size_t k = 0; k < r->n_names; k++) {
            const struct rp_metric *m = rp_find(run, r->names[k], r->cats[c]);

            if (!m)
                continue;
            if (!co && !(co = cJSON_AddObjectToObject(cats, r->cats[c])))
                break;
            cJSON_AddItemToObject(
                co, m->name,
                metric_json(m,
                            base ? rp_find(base, m->name, r->cats[c]) : NULL,
                            is_base, rp_test_find(run, m->name, r->cats[c])));
        }
    }
    return o;
}

static cJSON *counts_json(const struct rp_run *run)
{
    cJSON *o = cJSON_CreateObject(), *judges;

    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "records", (double)run->n_records);
    cJSON_AddNumberToObject(o, "ok", (double)run->n_state[FTSB_GEN_OK]);
    cJSON_AddNumberToObject(o, "filtered",
                            (double)run->n_state[FTSB_GEN_FILTERED]);
    cJSON_AddNumberToObject(o, "refused",
                            (double)run->n_state[FTSB_GEN_REFUSED]);
    cJSON_AddNumberToObject(o, "errors", (double)run->n_state[FTSB_GEN_ERROR]);
    judges = cJSON_AddObjectToObject(o, "judges");
    for (size_t k = 0; judges && k < run->n_judges; k++) {
        const struct rp_judge *j = &run->judges[k];
        cJSON *jo = cJSON_AddObjectToObject(judges, j->name), *h;

        if (!jo)
            break;
        cJSON_AddNumberToObject(jo, "ok", (double)j->ok);
        cJSON_AddNumberToObject(jo, "errors", (double)j->errors);
        cJSON_AddNumberToObject(jo, "not_judged", (double)j->not_judged);
        cJSON_AddNumberToObject(jo, "refused", (double)j->refused);
        cJSON_AddNumberToObject(jo, "not_refused", (double)j->not_refused);
        cJSON_AddNumberToObject(jo, "scored", (double)j->scored);
        if (j->scored && (h = cJSON_AddObjectToObject(jo, "scores"))) {
            static const char *const keys[] = {"other", "1", "2", "3", "4",
                                               "5"};

            for (int s = 1; s <= 5; s++)
                cJSON_AddNumberToObject(h, keys[s], (double)j->hist[s]);
            if (j->hist[0])
                cJSON_AddNumberToObject(h, keys[0], (double)j->hist[0]);
        }
    }
    return o;
}

static cJSON *run_json(const struct rp_report *r, size_t i)
{
    const struct rp_run *run = &r->runs[i];
    cJSON *o = cJSON_CreateObject(), *prov;

    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "name", run->name);
    cJSON_AddStringToObject(o, "label", run->label);
    cJSON_AddBoolToObject(o, "baseline", r->baseline == (long)i);
    cJSON_AddNumberToObject(o, "run_id", (double)run->id);
    if (run->created)
        cJSON_AddStringToObject(o, "created", run->created);
    if (run->finished)
        cJSON_AddStringToObject(o, "finished", run->finished);
    else
        cJSON_AddNullToObject(o, "finished");
    cJSON_AddBoolToObject(o, "complete", run->finished != NULL);
    cJSON_AddStringToObject(o, "shard", run->shard ? run->shard : "");
    if (run->config_key)
        cJSON_AddStringToObject(o, "config_key", run->config_key);
    cJSON_AddItemToObject(o, "counts", counts_json(run));
    cJSON_AddItemToObject(o, "metrics", metrics_json(r, run));
    prov = run->provenance ? cJSON_Parse(run->provenance) : NULL;
    if (prov)
        cJSON_AddItemToObject(o, "provenance", prov);
    else if (run->provenance)
        cJSON_AddStringToObject(o, "provenance", run->provenance);
    else
        cJSON_AddNullToObject(o, "provenance");
    return o;
}

ftsb_status rp_write_summary(const struct rp_report *r, FILE *f,
                             struct err *err)
{
    cJSON *root = cJSON_CreateObject(), *runs, *names, *cats;
    char *text = NULL;
    ftsb_status st = FTSB_OK;

    if (!root)
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    cJSON_AddStringToObject(root, "title", r->title);
    if (r->spec->notes)
        cJSON_AddStringToObject(root, "notes", r->spec->notes);
    cJSON_AddStringToObject(root, "generated", r->generated);
    cJSON_AddStringToObject(root, "ftsb_version", FTSB_VERSION);
    cJSON_AddStringToObject(root, "store", r->store_path);
    if (r->baseline >= 0)
        cJSON_AddStringToObject(root, "baseline", r->runs[r->baseline].name);
    else
        cJSON_AddNullToObject(root, "baseline");
    names = cJSON_AddArrayToObject(root, "metrics");
    for (size_t k = 0; names && k < r->n_names; k++)
        cJSON_AddItemToArray(names, cJSON_CreateString(r->names[k]));
    cats = cJSON_AddArrayToObject(root, "categories");
    for (size_t c = 0; cats && c < r->n_cats; c++)
        cJSON_AddItemToArray(cats, cJSON_CreateString(r->cats[c]));
    runs = cJSON_AddArrayToObject(root, "runs");
    for (size_t i = 0; runs && i < r->n_runs; i++)
        cJSON_AddItemToArray(runs, run_json(r, i));
    text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    if (fputs(text, f) == EOF || fputc('\n', f) == EOF)
        st = err_set(err, FTSB_E_IO, "cannot write summary.json: %s",
                     strerror(errno));
    cJSON_free(text);
    return st;
}

/* RFC 4180: quote a field holding a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *s, int last)
{
    if (s && strpbrk(s, ",\"\r\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else if (s) {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

static void csv_num(FILE *f, double v, int last)
{
    char buf[64] = "";

    if (!isnan(v) && !isinf(v))
        snprintf(buf, sizeof buf, "%.10g", v);
    csv_field(f, buf, last);
}

ftsb_status rp_write_csv(const struct rp_report *r, FILE *f, struct err *err)
{
    const struct rp_run *base = r->baseline >= 0 ? &r->runs[r->baseline]
                                                 : NULL;

    fputs("run,label,metric,category,value,lo,hi,n,errors,delta\n", f);
    for (size_t i = 0; i < r->n_runs; i++) {
        const struct rp_run *run = &r->runs[i];

        for (size_t k = 0; k < r->n_names; k++)
            for (size_t c = 0; c <= r->n_cats; c++) {
                const char *cat = c == 0 ? NULL : r->cats[c - 1];
                const struct rp_metric *m = rp_find(run, r->names[k], cat);
                char n[32], e[32];

                if (!m)
                    continue;
                snprintf(n, sizeof n, "%lld", (long long)m->n);
                snprintf(e, sizeof e, "%lld", (long long)m->n_errors);
                csv_field(f, run->name, 0);
                csv_field(f, run->label, 0);
                csv_field(f, m->name, 0);
                csv_field(f, cat ? cat : "", 0);
                csv_num(f, m->value, 0);
                csv_num(f, m->lo, 0);
                csv_num(f, m->hi, 0);
                csv_field(f, n, 0);
                csv_field(f, e, 0);
                csv_num(f, base && base != run
                               ? rp_delta(m, rp_find(base, m->name, cat))
                               : NAN, 1);
            }
    }
    if (ferror(f))
        return err_set(err, FTSB_E_IO, "cannot write metrics.csv: %s",
                       strerror(errno));
    return FTSB_OK;
}
