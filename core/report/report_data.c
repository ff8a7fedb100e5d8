/*
 * report_data.c - reading a report's runs back from the run store, and
 * the formatting rules shared by every output.
 *
 * Records are read once: each is written to records.jsonl as it is read
 * and counted (generation states, each judge's verdicts, refusal labels
 * and score histogram), so a benchmark of any size costs one pass and the
 * memory of its counts and of what the paired tests need of each record
 * (its index, category, instruction hash and verdicts, report_paired.c).
 * Metric values come from the store as the last
 * evaluation left them; the report never recomputes them, so it shows
 * exactly what the metrics plugins reported.
 */
#include "../ftsb_setup.h"

#include <math.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "../store/store.h"
#include "report_int.h"

/* ---- small helpers ------------------------------------------------------ */

static char *dup0(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Appends s to a list of strings unless it is there; returns its index,
 * or -1 when out of memory. */
static long list_add(char ***list, size_t *n, const char *s)
{
    char **p;

    for (size_t i = 0; i < *n; i++)
        if (strcmp((*list)[i], s) == 0)
            return (long)i;
    p = realloc(*list, (*n + 1) * sizeof *p);
    if (!p)
        return -1;
    *list = p;
    if (!(p[*n] = strdup(s)))
        return -1;
    return (long)(*n)++;
}

static void list_free(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static struct rp_judge *judge_get(struct rp_run *run, const char *name)
{
    struct rp_judge *p;

    for (size_t i = 0; i < run->n_judges; i++)
        if (strcmp(run->judges[i].name, name) == 0)
            return &run->judges[i];
    p = realloc(run->judges, (run->n_judges + 1) * sizeof *p);
    if (!p)
        return NULL;
    run->judges = p;
    p = &run->judges[run->n_judges];
    memset(p, 0, sizeof *p);
    if (!(p->name = strdup(name)))
        return NULL;
    run->n_judges++;
    return p;
}

/* ---- finding the runs --------------------------------------------------- */

struct find_ctx {
    struct rp_report *r;
    int *found;
    struct strbuf names;       /* the store's run names, for messages */
    size_t n_names;
};

static ftsb_status on_run(void *ud, const struct store_run_info *info,
                          struct err *err)
{
    struct find_ctx *fc = ud;
    struct rp_report *r = fc->r;

    if (fc->n_names < 20)
        strbuf_addf(&fc->names, "%s'%s'", fc->n_names ? ", " : "",
                    info->name);
    else if (fc->n_names == 20)
        strbuf_addstr(&fc->names, ", ...");
    fc->n_names++;
    for (size_t i = 0; i < r->n_runs; i++) {
        struct rp_run *run = &r->runs[i];

        if (fc->found[i] || strcmp(run->name, info->name) != 0)
            continue;
        fc->found[i] = 1;
        run->id = info->id;
        run->n_records = info->n_records;
        run->config_key = dup0(info->config_key);
        run->shard = dup0(info->shard);
        run->provenance = dup0(info->provenance);
        run->created = dup0(info->created);
        run->finished = dup0(info->finished);
        if ((info->config_key && !run->config_key) ||
            (info->provenance && !run->provenance) ||
            (info->created && !run->created) ||
            (info->finished && !run->finished))
            return err_set(err, FTSB_E_NOMEM, "out of memory");
    }
    return FTSB_OK;
}

static ftsb_status find_runs(struct store *store, struct rp_report *r,
                             struct err *err)
{
    struct find_ctx fc = {r, calloc(r->n_runs, sizeof(int)), STRBUF_INIT, 0};
    ftsb_status st;

    if (!fc.found)
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    st = store_runs_list(store, on_run, &fc, err);
    for (size_t i = 0; st == FTSB_OK && i < r->n_runs; i++)
        if (!fc.found[i])
            st = err_set(err, FTSB_E_INVALID,
                         "report: no run named '%s' in %s; %s%s%s",
                         r->runs[i].name, r->store_path,
                         fc.n_names ? "its runs are: " : "it has no runs",
                         fc.names.buf,
                         fc.n_names ? " (`ftsb runs` lists them)" : "");
    free(fc.found);
    strbuf_release(&fc.names);
    return st;
}

/* The judges named in a run's provenance, so that a judge that gave no
 * verdict at all (every generation failed) still shows, with zeros. */
static ftsb_status judges_from_provenance(struct rp_run *run, struct err *err)
{
    cJSON *prov, *judges, *j;

    if (!run->provenance)
        return FTSB_OK;
    prov = cJSON_Parse(run->provenance);
    judges = prov ? cJSON_GetObjectItemCaseSensitive(prov, "judges") : NULL;
    cJSON_ArrayForEach(j, judges) {
        if (j->string && !judge_get(run, j->string)) {
            cJSON_Delete(prov);
            return err_set(err, FTSB_E_NOMEM, "out of memory");
        }
    }
    cJSON_Delete(prov);
    return FTSB_OK;
}

/* ---- records: count and export ------------------------------------------ */

static const char *gen_state_name(int32_t st)
{
    switch (st) {
    case FTSB_GEN_OK: return "ok";
    case FTSB_GEN_FILTERED: return "filtered";
    case FTSB_GEN_REFUSED: return "refused";
    }
    return "error";
}

static void add_str(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, k, v);
}

static cJSON *verdict_json(const struct store_verdict *v)
{
    cJSON *o = cJSON_CreateObject();

    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "state",
                            v->state == FTSB_VERDICT_OK ? "ok" : "error");
    if (v->refused == FTSB_REFUSED_YES || v->refused == FTSB_REFUSED_NO)
        cJSON_AddBoolToObject(o, "refused", v->refused == FTSB_REFUSED_YES);
    if (v->score != FTSB_NO_SCORE && !isnan(v->score))
        cJSON_AddNumberToObject(o, "score", v->score);
    add_str(o, "rationale", v->rationale);
    add_str(o, "error", v->error);
    return o;
}

static cJSON *record_json(const struct rp_run *run,
                          const struct store_row *row)
{
    const struct store_record *rec = &row->rec;
    cJSON *o = cJSON_CreateObject(), *chat, *verdicts;

    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "run", run->name);
    cJSON_AddStringToObject(o, "label", run->label);
    cJSON_AddNumberToObject(o, "idx", (double)rec->idx + 1);
    add_str(o, "id", rec->item_id);
    add_str(o, "category", rec->category);
    add_str(o, "instruction", rec->instruction);
    /* The chat as sent, as JSON rather than as a string of JSON. */
    chat = rec->chat_json ? cJSON_Parse(rec->chat_json) : NULL;
    if (chat)
        cJSON_AddItemToObject(o, "chat", chat);
    else
        add_str(o, "chat", rec->chat_json);
    cJSON_AddStringToObject(o, "state", gen_state_name(rec->gen_state));
    cJSON_AddStringToObject(o, "response", rec->response ? rec->response : "");
    add_str(o, "finish", rec->finish);
    add_str(o, "error", rec->error);
    cJSON_AddNumberToObject(o, "prompt_tokens", (double)rec->n_prompt_tokens);
    cJSON_AddNumberToObject(o, "completion_tokens",
                            (double)rec->n_completion_tokens);
    verdicts = cJSON_AddObjectToObject(o, "verdicts");
    for (size_t i = 0; verdicts && i < row->n_verdicts; i++) {
        cJSON *v = verdict_json(&row->verdicts[i].v);

        if (v)
            cJSON_AddItemToObject(verdicts, row->verdicts[i].judge, v);
    }
    return o;
}

struct rec_ctx {
    struct rp_run *run;
    FILE *out;
};

static ftsb_status count_verdict(struct rp_run *run,
                                 const struct store_record_verdict *rv)
{
    struct rp_judge *j = judge_get(run, rv->judge);
    double s = rv->v.score;

    if (!j)
        return FTSB_E_NOMEM;
    if (rv->v.state != FTSB_VERDICT_OK) {
        j->errors++;
        return FTSB_OK;
    }
    j->ok++;
    j->refused += rv->v.refused == FTSB_REFUSED_YES;
    j->not_refused += rv->v.refused == FTSB_REFUSED_NO;
    if (s != FTSB_NO_SCORE && !isnan(s)) {
        j->scored++;
        if (s == floor(s) && s >= 1 && s <= 5)
            j->hist[(int)s]++;
        else
            j->hist[0]++;
    }
    return FTSB_OK;
}

/* Keeps the record's verdicts for the paired tests. */
static ftsb_status keep_obs(struct rp_run *run, const struct store_row *row)
{
    size_t n = row->n_verdicts, *judges = calloc(n + 1, sizeof *judges);
    int32_t *states = calloc(n + 1, sizeof *states);
    int32_t *refused = calloc(n + 1, sizeof *refused);
    double *scores = calloc(n + 1, sizeof *scores);
    ftsb_status st = FTSB_E_NOMEM;

    if (judges && states && refused && scores) {
        st = FTSB_OK;
        for (size_t i = 0; i < n && st == FTSB_OK; i++) {
            const struct rp_judge *j = judge_get(run, row->verdicts[i].judge);

            if (!j) {
                st = FTSB_E_NOMEM;
                break;
            }
            judges[i] = (size_t)(j - run->judges);
            states[i] = row->verdicts[i].v.state;
            refused[i] = row->verdicts[i].v.refused;
            scores[i] = row->verdicts[i].v.score;
        }
        if (st == FTSB_OK)
            st = rp_obs_add(run, row->rec.idx, row->rec.category,
                            row->rec.instruction, row->rec.gen_state, judges,
                            states, refused, scores, n);
    }
    free(judges);
    free(states);
    free(refused);
    free(scores);
    return st;
}

static ftsb_status on_record(void *ud, const struct store_row *row,
                             struct err *err)
{
    struct rec_ctx *rc = ud;
    int32_t st = row->rec.gen_state;
    cJSON *o;
    char *line;

    rc->run->n_state[st >= 0 && st <= 3 ? st : FTSB_GEN_ERROR]++;
    for (size_t i = 0; i < row->n_verdicts; i++)
        if (count_verdict(rc->run, &row->verdicts[i]))
            return err_set(err, FTSB_E_NOMEM, "out of memory");
    if (keep_obs(rc->run, row))
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    if (!rc->out)
        return FTSB_OK;
    o = record_json(rc->run, row);
    line = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!line)
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    if (fputs(line, rc->out) == EOF || fputc('\n', rc->out) == EOF) {
        cJSON_free(line);
        return err_set(err, FTSB_E_IO, "cannot write records.jsonl: %s",
                       strerror(errno));
    }
    cJSON_free(line);
    return FTSB_OK;
}

/* ---- metrics ------------------------------------------------------------ */

static ftsb_status on_metric(void *ud, const ftsb_metric_value *v,
                             struct err *err)
{
    struct rp_run *run = ud;
    struct rp_metric *p = realloc(run->metrics,
                                  (run->n_metrics + 1) * sizeof *p);

    if (!p)
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    run->metrics = p;
    p = &run->metrics[run->n_metrics];
    memset(p, 0, sizeof *p);
    p->name = strdup(v->name);
    p->category = v->category && *v->category ? strdup(v->category) : NULL;
    p->value = v->value;
    p->lo = v->ci_low;
    p->hi = v->ci_high;
    p->n = v->n;
    p->n_errors = v->n_errors;
    run->n_metrics++;
    if (!p->name || (v->category && *v->category && !p->category))
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    return FTSB_OK;
}

/* The names shown: the requested ones (each must exist somewhere), or
 * every name in first-appearance order. */
static ftsb_status choose_names(struct rp_report *r, struct err *err)
{
    const struct report_spec *spec = r->spec;

    for (size_t i = 0; i < r->n_runs; i++)
        for (size_t k = 0; k < r->runs[i].n_metrics; k++) {
            const struct rp_metric *m = &r->runs[i].metrics[k];

            if ((!spec->n_metrics && list_add(&r->names, &r->n_names,
                                              m->name) < 0) ||
                (m->category && list_add(&r->cats, &r->n_cats,
                                         m->category) < 0))
                return err_set(err, FTSB_E_NOMEM, "out of memory");
        }
    for (size_t k = 0; k < spec->n_metrics; k++) {
        int seen = 0;

        for (size_t i = 0; i < r->n_runs && !seen; i++)
            for (size_t j = 0; j < r->runs[i].n_metrics && !seen; j++)
                seen = strcmp(r->runs[i].metrics[j].name,
                              spec->metrics[k]) == 0;
        if (!seen)
            return err_set(err, FTSB_E_INVALID,
                           "report: no run reports metric '%s'; give the "
                           "evaluations that metric, or leave it out of "
                           "'metrics'", spec->metrics[k]);
        if (list_add(&r->names, &r->n_names, spec->metrics[k]) < 0)
            return err_set(err, FTSB_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->n_runs; i++)
        for (size_t k = 0; k < r->runs[i].n_judges; k++)
            if (list_add(&r->judges, &r->n_judges,
                         r->runs[i].judges[k].name) < 0)
                return err_set(err, FTSB_E_NOMEM, "out of memory");
    return FTSB_OK;
}

ftsb_status rp_load(struct store *store, struct rp_report *r, FILE *records,
                    struct err *err)
{
    time_t now = time(NULL);
    struct tm tm;
    ftsb_status st;

    if (gmtime_r(&now, &tm))
        strftime(r->generated, sizeof r->generated, "%Y-%m-%dT%H:%M:%SZ",
                 &tm);
    r->runs = calloc(r->spec->n_runs, sizeof *r->runs);
    if (!r->runs)
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    r->n_runs = r->spec->n_runs;
    for (size_t i = 0; i < r->n_runs; i++) {
        const struct report_run *rr = &r->spec->runs[i];

        r->runs[i].name = strdup(rr->name);
        r->runs[i].label = strdup(rr->label && *rr->label ? rr->label
                                                           : rr->name);
        if (!r->runs[i].name || !r->runs[i].label)
            return err_set(err, FTSB_E_NOMEM, "out of memory");
    }
    if ((st = find_runs(store, r, err)))
        return st;
    for (size_t i = 0; i < r->n_runs; i++) {
        struct rp_run *run = &r->runs[i];
        struct rec_ctx rc = {run, records};

        if ((st = judges_from_provenance(run, err)) ||
            (st = store_records_each(store, run->id, on_record, &rc, err)) ||
            (st = store_metrics_each(store, run->id, on_metric, run, err)))
            return st;
        for (size_t k = 0; k < run->n_judges; k++) {
            struct rp_judge *j = &run->judges[k];
            int64_t left = run->n_state[FTSB_GEN_OK] - j->ok - j->errors;

            j->not_judged = left > 0 ? left : 0;
        }
    }
    if ((st = choose_names(r, err)))
        return st;
    return rp_paired(r, err);
}

void rp_free(struct rp_report *r)
{
    for (size_t i = 0; r->runs && i < r->n_runs; i++) {
        struct rp_run *run = &r->runs[i];

        free(run->name);
        free(run->label);
        free(run->config_key);
        free(run->shard);
        free(run->provenance);
        free(run->created);
        free(run->finished);
        for (size_t k = 0; k < run->n_judges; k++)
            free(run->judges[k].name);
        free(run->judges);
        for (size_t k = 0; k < run->n_metrics; k++) {
            free(run->metrics[k].name);
            free(run->metrics[k].category);
        }
        free(run->metrics);
        for (size_t k = 0; k < run->n_obs; k++)
            free(run->obs[k].category);
        free(run->obs);
        free(run->vobs);
        free(run->tests);
    }
    free(r->runs);
    list_free(r->names, r->n_names);
    list_free(r->cats, r->n_cats);
    list_free(r->judges, r->n_judges);
    r->runs = NULL;
    r->names = r->cats = r->judges = NULL;
    r->n_runs = r->n_names = r->n_cats = r->n_judges = 0;
}

/* ---- lookups ------------------------------------------------------------ */

const struct rp_metric *rp_find(const struct rp_run *run, const char *name,
                                const char *category)
{
    for (size_t i = 0; i < run->n_metrics; i++) {
        const struct rp_metric *m = &run->metrics[i];

        if (strcmp(m->name, name) != 0)
            continue;
        if (!category ? !m->category
                      : m->category && strcmp(m->category, category) == 0)
            return m;
    }
    return NULL;
}

int rp_has_categories(const struct rp_report *r, const char *name)
{
    for (size_t i = 0; i < r->n_runs; i++)
        for (size_t k = 0; k < r->runs[i].n_metrics; k++)
            if (r->runs[i].metrics[k].category &&
                strcmp(r->runs[i].metrics[k].name, name) == 0)
                return 1;
    return 0;
}

const struct rp_judge *rp_judge_of(const struct rp_run *run, const char *name)
{
    for (size_t i = 0; i < run->n_judges; i++)
        if (strcmp(run->judges[i].name, name) == 0)
            return &run->judges[i];
    return NULL;
}

int rp_judge_scored(const struct rp_report *r, const char *name)
{
    for (size_t i = 0; i < r->n_runs; i++) {
        const struct rp_judge *j = rp_judge_of(&r->runs[i], name);

        if (j && j->scored)
            return 1;
    }
    return 0;
}

/* ---- formatting --------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

int rp_is_rate(const char *name)
{
    const char *dot = strrchr(name, '.');
    const char *base = dot ? dot + 1 : name;

    return ends_with(base, "rate") || strcasecmp(base, "asr") == 0 ||
           ends_with(base, "_asr");
}

static int measured(const struct rp_metric *m)
{
    return m && !isnan(m->value) && m->n > 0;
}

void rp_fmt_value(const char *name, const struct rp_metric *m, char *out,
                  size_t cap)
{
    if (!measured(m))
        snprintf(out, cap, "n/a");
    else if (rp_is_rate(name))
        snprintf(out, cap, "%.1f%%", 100 * m->value);
    else
        snprintf(out, cap, "%.2f", m->value);
}

double rp_delta(const struct rp_metric *m, const struct rp_metric *base)
{
    if (!measured(m) || !measured(base))
        return NAN;
    return m->value - base->value;
}

/* A signed number at the given precision that never prints "-0.0". */
static void fmt_signed(double d, int decimals, const char *suffix, char *out,
                       size_t cap)
{
    double scale = decimals == 1 ? 10 : 100;
    double r = round(d * scale) / scale;

    if (r == 0)
        r = 0;   /* -0 becomes +0 */
    snprintf(out, cap, "%+.*f%s", decimals, r, suffix);
}

void rp_fmt_delta(const char *name, const struct rp_metric *m,
                  const struct rp_metric *base, char *out, size_t cap)
{
    double d = rp_delta(m, base);

    if (isnan(d))
        snprintf(out, cap, "%s", "");
    else if (rp_is_rate(name))
        fmt_signed(100 * d, 1, "%", out, cap);
    else
        fmt_signed(d, 2, "", out, cap);
}

void rp_fmt_ci(const char *name, const struct rp_metric *m, char *out,
               size_t cap)
{
    if (!measured(m) || isnan(m->lo) || isnan(m->hi) ||
        (m->lo == m->value && m->hi == m->value))
        snprintf(out, cap, "%s", "");
    else if (rp_is_rate(name))
        snprintf(out, cap, "[%.1f%%, %.1f%%]", 100 * m->lo, 100 * m->hi);
    else
        snprintf(out, cap, "[%.2f, %.2f]", m->lo, m->hi);
}

void rp_fmt_cell(const struct rp_report *r, size_t i, const char *name,
                 const char *cat, char *out, size_t cap)
{
    const struct rp_metric *m = rp_find(&r->runs[i], name, cat);
    const struct rp_metric *b =
        r->baseline >= 0 && (long)i != r->baseline
            ? rp_find(&r->runs[r->baseline], name, cat)
            : NULL;
    char v[64], d[64];
    size_t len;

    if (!m) {
        snprintf(out, cap, "%s", "\xe2\x80\x93");   /* an en dash */
        return;
    }
    rp_fmt_value(name, m, v, sizeof v);
    rp_fmt_delta(name, m, b, d, sizeof d);
    snprintf(out, cap, "%s%s%s%s", v, *d ? " (" : "", d, *d ? ")" : "");
    len = strlen(out);
    if (m->n_errors > 0 && len < cap)
        snprintf(out + len, cap - len, " \xc2\xb7 %lld err",
                 (long long)m->n_errors);
}

int rp_count_value(const struct rp_run *run, const char *judge, int which,
                   int64_t *v)
{
    const struct rp_judge *j = judge ? rp_judge_of(run, judge) : NULL;

    if (judge && !j)
        return 0;
    switch (which) {
    case RP_COUNT_RECORDS: *v = run->n_records; break;
    case RP_COUNT_ANSWERED: *v = run->n_state[FTSB_GEN_OK]; break;
    case RP_COUNT_FILTERED: *v = run->n_state[FTSB_GEN_FILTERED]; break;
    case RP_COUNT_REFUSED: *v = run->n_state[FTSB_GEN_REFUSED]; break;
    case RP_COUNT_GEN_ERRORS: *v = run->n_state[FTSB_GEN_ERROR]; break;
    case RP_COUNT_VERDICTS: *v = j->ok; break;
    case RP_COUNT_VERDICT_ERRORS: *v = j->errors; break;
    default: *v = j->not_judged; break;
    }
    return 1;
}

int rp_count_is_error(int which)
{
    return which == RP_COUNT_GEN_ERRORS || which == RP_COUNT_VERDICT_ERRORS;
}

void rp_count_rows(const struct rp_report *r, rp_count_row_fn row, void *ud)
{
    static const char *const judge_rows[] = {
        "verdicts", "verdict errors", "not judged yet"};

    row(ud, "records", NULL, RP_COUNT_RECORDS);
    row(ud, "answered", NULL, RP_COUNT_ANSWERED);
    row(ud, "withheld by a content filter", NULL, RP_COUNT_FILTERED);
    row(ud, "refused by the provider", NULL, RP_COUNT_REFUSED);
    row(ud, "generation errors", NULL, RP_COUNT_GEN_ERRORS);
    for (size_t k = 0; k < r->n_judges; k++)
        for (int w = 0; w < 3; w++) {
            char what[200];

            snprintf(what, sizeof what, "judge %s: %s", r->judges[k],
                     judge_rows[w]);
            row(ud, what, r->judges[k], RP_COUNT_VERDICTS + w);
        }
}
