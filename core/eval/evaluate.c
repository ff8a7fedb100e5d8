/*
 * evaluate.c - the evaluation loop: generate, judge, aggregate.
 *
 * Each phase reads what the store already holds and does only the rest,
 * committing after every batch, so a run killed at any point loses at
 * most the batch in flight and a re-run picks up where it stopped.  The
 * run's key hashes everything that decides its results except the shard,
 * so the shards of one evaluation merge into one run.
 */
#include "../ftsb_setup.h"

#include <cjson/cJSON.h>

#include "../data/dataset.h"
#include "../plugin/instance.h"
#include "../plugin/session.h"
#include "../store/store.h"
#include "../util/sha256.h"
#include "evaluate.h"
#include "generate.h"
#include "judging.h"

#define PLACEHOLDER "{instruction}"

ftsb_status eval_render_user(const char *tmpl, const char *instruction,
                             const char *trigger, struct strbuf *out)
{
    struct strbuf instr = STRBUF_INIT;
    const char *at;
    ftsb_status st;

    st = strbuf_addstr(&instr, instruction);
    if (!st && trigger && *trigger)
        st = strbuf_addf(&instr, " %s", trigger);
    if (!st) {
        if (!tmpl || !*tmpl) {
            st = strbuf_add(out, instr.buf, instr.len);
        } else if ((at = strstr(tmpl, PLACEHOLDER)) != NULL) {
            st = strbuf_add(out, tmpl, (size_t)(at - tmpl));
            if (!st)
                st = strbuf_add(out, instr.buf, instr.len);
            if (!st)
                st = strbuf_addstr(out, at + strlen(PLACEHOLDER));
        } else {
            st = FTSB_E_INVALID;
        }
    }
    strbuf_release(&instr);
    return st;
}

static int in_shard(const struct session *s, uint64_t idx)
{
    return s->shard_count <= 1 || idx % s->shard_count == s->shard_index;
}

/* ---- the run's identity ------------------------------------------------ */

static ftsb_status run_key(const struct eval_spec *spec, char key[65])
{
    struct strbuf params = STRBUF_INIT;
    uint64_t n = dataset_count(spec->bench);
    struct sha256 h;

    if (gen_params_text(&spec->params, &params))
        return FTSB_E_NOMEM;
    sha256_init(&h);
    sha256_field_str(&h, "eval/1");
    sha256_field_str(&h, instance_fingerprint(spec->backend));
    sha256_field_str(&h, spec->system);
    sha256_field_str(&h, spec->user_template);
    sha256_field_str(&h, spec->trigger);
    sha256_field(&h, params.buf, params.len);
    for (size_t j = 0; j < spec->n_judges; j++) {
        sha256_field_str(&h, spec->judges[j].name);
        sha256_field_str(&h, instance_fingerprint(spec->judges[j].judge));
    }
    sha256_field_i64(&h, (int64_t)n);
    for (uint64_t i = 0; i < n; i++) {
        const ftsb_example *ex = dataset_get(spec->bench, i);

        sha256_field_str(&h, ex->instruction ? ex->instruction : "");
        sha256_field_str(&h, ex->category ? ex->category : "");
    }
    sha256_final_hex(&h, key);
    strbuf_release(&params);
    return FTSB_OK;
}

static void add_instance(cJSON *obj, const char *k, struct instance *inst)
{
    cJSON *o = cJSON_AddObjectToObject(obj, k);

    if (!o)
        return;
    cJSON_AddStringToObject(o, "plugin", inst->desc->id);
    cJSON_AddStringToObject(o, "version", inst->desc->version);
    cJSON_AddStringToObject(o, "file", inst->path ? inst->path : "");
    cJSON_AddStringToObject(o, "fingerprint", instance_fingerprint(inst));
}

static char *provenance(const struct session *s, const struct eval_spec *spec,
                        const char *key)
{
    cJSON *root = cJSON_CreateObject(), *judges, *metrics, *prompt;
    struct strbuf params = STRBUF_INIT;
    char shard[32], *text = NULL;

    if (!root)
        return NULL;
    snprintf(shard, sizeof shard, "%u/%u", (unsigned)s->shard_index + 1,
             (unsigned)s->shard_count);
    cJSON_AddStringToObject(root, "ftsb_version", FTSB_VERSION);
    cJSON_AddStringToObject(root, "run_key", key);
    cJSON_AddStringToObject(root, "shard", shard);
    add_instance(root, "backend", spec->backend);
    judges = cJSON_AddObjectToObject(root, "judges");
    for (size_t j = 0; judges && j < spec->n_judges; j++)
        add_instance(judges, spec->judges[j].name, spec->judges[j].judge);
    metrics = cJSON_AddArrayToObject(root, "metrics");
    for (size_t m = 0; metrics && m < spec->n_metrics; m++)
        cJSON_AddItemToArray(metrics,
                             cJSON_CreateString(spec->metrics[m]->desc->id));
    cJSON_AddStringToObject(root, "benchmark", dataset_name(spec->bench));
    cJSON_AddNumberToObject(root, "benchmark_rows",
                            (double)dataset_count(spec->bench));
    prompt = cJSON_AddObjectToObject(root, "prompt");
    if (prompt) {
        cJSON_AddStringToObject(prompt, "system", spec->system);
        cJSON_AddStringToObject(prompt, "template", spec->user_template);
        cJSON_AddStringToObject(prompt, "trigger", spec->trigger);
    }
    if (!gen_params_text(&spec->params, &params))
        cJSON_AddStringToObject(root, "decoding", params.buf);
    strbuf_release(&params);
    text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

/* ---- phase 1: generation ----------------------------------------------- */

struct batch {
    uint32_t n;
    int64_t *idx;
    ftsb_chat *chats;
    ftsb_message *msgs;         /* 2 per chat: system, user */
    struct strbuf *user;        /* the rendered user messages */
    struct strbuf *bufs;        /* 3 sinks per chat */
    ftsb_gen_result *res;
};

static void batch_free(struct batch *b, uint32_t cap)
{
    for (uint32_t i = 0; b->user && i < cap; i++)
        strbuf_release(&b->user[i]);
    for (uint32_t i = 0; b->bufs && i < 3 * cap; i++)
        strbuf_release(&b->bufs[i]);
    free(b->idx);
    free(b->chats);
    free(b->msgs);
    free(b->user);
    free(b->bufs);
    free(b->res);
}

static ftsb_status batch_alloc(struct batch *b, uint32_t cap)
{
    memset(b, 0, sizeof *b);
    b->idx = calloc(cap, sizeof *b->idx);
    b->chats = calloc(cap, sizeof *b->chats);
    b->msgs = calloc(2 * (size_t)cap, sizeof *b->msgs);
    b->user = calloc(cap, sizeof *b->user);
    b->bufs = calloc(3 * (size_t)cap, sizeof *b->bufs);
    b->res = calloc(cap, sizeof *b->res);
    if (!b->idx || !b->chats || !b->msgs || !b->user || !b->bufs || !b->res)
        return FTSB_E_NOMEM;
    for (uint32_t i = 0; i < cap; i++)
        strbuf_init(&b->user[i]);
    for (uint32_t i = 0; i < 3 * cap; i++)
        strbuf_init(&b->bufs[i]);
    return FTSB_OK;
}

static ftsb_status render_row(const struct eval_spec *spec, struct batch *b,
                              uint32_t k, int64_t idx, struct err *err)
{
    const ftsb_example *ex = dataset_get(spec->bench, (uint64_t)idx);
    ftsb_message *m = &b->msgs[2 * k];
    uint32_t n = 0;

    if (!ex->instruction)
        return err_set(err, FTSB_E_INVALID,
                       "benchmark '%s' row %lld ('%s') has no instruction",
                       dataset_name(spec->bench), (long long)idx + 1,
                       ex->id ? ex->id : "?");
    strbuf_reset(&b->user[k]);
    if (eval_render_user(spec->user_template, ex->instruction, spec->trigger,
                         &b->user[k]))
        return err_set(err, FTSB_E_INVALID,
                       "prompt template '%s' has no '%s' placeholder",
                       spec->user_template, PLACEHOLDER);
    if (spec->system && *spec->system)
        m[n++] = (ftsb_message){"system", spec->system};
    m[n++] = (ftsb_message){"user", b->user[k].buf};
    b->chats[k] = (ftsb_chat){n, m};
    b->idx[k] = idx;
    b->res[k] = (ftsb_gen_result){sizeof b->res[k], FTSB_GEN_ERROR,
                                  as_buf(&b->bufs[3 * k]),
                                  as_buf(&b->bufs[3 * k + 1]),
                                  as_buf(&b->bufs[3 * k + 2]), 0, 0};
    return FTSB_OK;
}

static ftsb_status save_batch(struct store *store, int64_t run_id,
                              const struct eval_spec *spec,
                              const struct batch *b, struct err *err)
{
    struct strbuf chat = STRBUF_INIT;
    ftsb_status st = store_begin(store, err);

    for (uint32_t k = 0; st == FTSB_OK && k < b->n; k++) {
        const ftsb_example *ex =
            dataset_get(spec->bench, (uint64_t)b->idx[k]);
        const ftsb_gen_result *r = &b->res[k];
        char key[65];
        struct store_record rec;

        strbuf_reset(&chat);
        if (chat_to_json(&b->chats[k], &chat) ||
            gen_key(instance_fingerprint(spec->backend), &b->chats[k],
                    &spec->params, key)) {
            st = err_set(err, FTSB_E_NOMEM, "out of memory");
            break;
        }
        rec = (struct store_record){
            .idx = b->idx[k],
            .item_id = ex->id,
            .instruction = ex->instruction,
            .category = ex->category,
            .chat_json = chat.buf,
            .response = ((struct strbuf *)r->text)->buf,
            .finish = ((struct strbuf *)r->finish)->buf,
            .error = ((struct strbuf *)r->error)->len
                         ? ((struct strbuf *)r->error)->buf
                         : NULL,
            .gen_state = r->state,
            .n_prompt_tokens = r->n_prompt_tokens,
            .n_completion_tokens = r->n_completion_tokens,
            .gen_key = key,
        };
        st = store_record_put(store, run_id, &rec, err);
    }
    strbuf_release(&chat);
    if (st) {
        store_rollback(store);
        return st;
    }
    return store_commit(store, err);
}

/* Rows of this shard still needing an answer: no record, or an error. */
static ftsb_status pending_rows(struct store *store, int64_t run_id,
                                const struct session *s,
                                const struct eval_spec *spec, int64_t **out,
                                int64_t *n_out, int64_t *n_shard,
                                struct err *err)
{
    uint64_t n = dataset_count(spec->bench);
    int64_t *idx = malloc((size_t)n * sizeof *idx + 1), m = 0, total = 0;
    struct store_row row;
    ftsb_status st = FTSB_OK;

    if (!idx)
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    store_row_init(&row);
    for (uint64_t i = 0; i < n && st == FTSB_OK; i++) {
        int found = 0;

        if (!in_shard(s, i))
            continue;
        total++;
        st = store_record_get(store, run_id, (int64_t)i, &row, &found, err);
        if (st == FTSB_OK && (!found || row.rec.gen_state == FTSB_GEN_ERROR))
            idx[m++] = (int64_t)i;
    }
    store_row_release(&row);
    if (st) {
        free(idx);
        return st;
    }
    *out = idx;
    *n_out = m;
    *n_shard = total;
    return FTSB_OK;
}

static ftsb_status generate_phase(struct session *s, struct store *store,
                                  int64_t run_id,
                                  const struct eval_spec *spec,
                                  struct eval_summary *sum, struct err *err)
{
    uint32_t cap = spec->batch ? spec->batch : 8;
    int64_t *todo = NULL, n_todo = 0;
    struct batch b;
    struct ftsb_ctx pctx;
    ftsb_status st;

    st = pending_rows(store, run_id, s, spec, &todo, &n_todo, &sum->n_rows,
                      err);
    if (st)
        return st;
    if (batch_alloc(&b, cap)) {
        batch_free(&b, cap);
        free(todo);
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    }
    ctx_init(&pctx, s, NULL);
    for (int64_t done = 0; done < n_todo && st == FTSB_OK;) {
        b.n = 0;
        while (b.n < cap && done + b.n < n_todo && st == FTSB_OK) {
            st = render_row(spec, &b, b.n, todo[done + b.n], err);
            b.n++;
        }
        if (st == FTSB_OK)
            st = gen_cached(s, spec->backend, b.chats, b.n, &spec->params,
                            b.res, err);
        if (st == FTSB_OK)
            st = save_batch(store, run_id, spec, &b, err);
        done += b.n;
        sum->n_generated += b.n;
        progress_update(&pctx.progress, spec->name, done, n_todo, "answers");
        if (st == FTSB_OK && s->cancel && *s->cancel)
            st = err_set(err, FTSB_E_CANCELLED,
                         "interrupted; %lld answers of run '%s' are stored, "
                         "run the script again to go on",
                         (long long)done, spec->name);
    }
    ctx_release(&pctx);
    batch_free(&b, cap);
    free(todo);
    return st;
}

/* ---- reading the run back ---------------------------------------------- */

struct row_view {
    int64_t idx;
    int32_t gen_state;
    char *instruction, *response, *category;
    ftsb_verdict_view *verdicts;   /* one per judge, in spec order */
    int *has_verdict;
};

struct rows {
    struct row_view *v;
    size_t n, cap;
    const struct eval_spec *spec;
    const struct session *s;
};

static void rows_free(struct rows *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].instruction);
        free(r->v[i].response);
        free(r->v[i].category);
        free(r->v[i].verdicts);
        free(r->v[i].has_verdict);
    }
    free(r->v);
    memset(r, 0, sizeof *r);
}

static ftsb_status collect_row(void *ud, const struct store_row *row,
                               struct err *err)
{
    struct rows *r = ud;
    const struct eval_spec *spec = r->spec;
    struct row_view *v;

    if (!in_shard(r->s, (uint64_t)row->rec.idx) ||
        (uint64_t)row->rec.idx >= dataset_count(spec->bench))
        return FTSB_OK;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        struct row_view *p = realloc(r->v, cap * sizeof *p);

        if (!p)
            return err_set(err, FTSB_E_NOMEM, "out of memory");
        r->v = p;
        r->cap = cap;
    }
    v = &r->v[r->n];
    memset(v, 0, sizeof *v);
    v->idx = row->rec.idx;
    v->gen_state = row->rec.gen_state;
    v->instruction = xstrdup_or_null(row->rec.instruction);
    v->response = xstrdup_or_null(row->rec.response ? row->rec.response : "");
    v->category = xstrdup_or_null(row->rec.category);
    v->verdicts = calloc(spec->n_judges + 1, sizeof *v->verdicts);
    v->has_verdict = calloc(spec->n_judges + 1, sizeof *v->has_verdict);
    r->n++;
    if (!v->response || !v->verdicts || !v->has_verdict)
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    for (size_t j = 0; j < spec->n_judges; j++) {
        v->verdicts[j] = (ftsb_verdict_view){spec->judges[j].name,
                                             FTSB_VERDICT_ERROR,
                                             FTSB_REFUSED_UNKNOWN,
                                             FTSB_NO_SCORE};
        for (size_t k = 0; k < row->n_verdicts; k++) {
            const struct store_record_verdict *rv = &row->verdicts[k];

            if (strcmp(rv->judge, spec->judges[j].name) != 0)
                continue;
            v->verdicts[j].state = rv->v.state;
            v->verdicts[j].refused = rv->v.refused;
            v->verdicts[j].score = rv->v.score;
            v->has_verdict[j] = 1;
        }
    }
    return FTSB_OK;
}

static ftsb_status load_rows(struct store *store, int64_t run_id,
                             const struct session *s,
                             const struct eval_spec *spec, struct rows *r,
                             struct err *err)
{
    ftsb_status st;

    memset(r, 0, sizeof *r);
    r->spec = spec;
    r->s = s;
    st = store_records_each(store, run_id, collect_row, r, err);
    if (st)
        rows_free(r);
    return st;
}

/* ---- phase 2: judging --------------------------------------------------- */

static ftsb_status judge_batch(struct session *s, struct store *store,
                               int64_t run_id, const struct eval_judge *ej,
                               struct row_view **rows, uint32_t n,
                               struct eval_summary *sum, struct err *err)
{
    ftsb_judge_item *items = calloc(n, sizeof *items);
    ftsb_verdict *out = calloc(n, sizeof *out);
    struct strbuf *bufs = calloc(2 * (size_t)n, sizeof *bufs);
    ftsb_status st = FTSB_OK;

    if (!items || !out || !bufs) {
        st = err_set(err, FTSB_E_NOMEM, "out of memory");
        goto out;
    }
    for (uint32_t k = 0; k < n; k++) {
        strbuf_init(&bufs[2 * k]);
        strbuf_init(&bufs[2 * k + 1]);
        items[k] = (ftsb_judge_item){sizeof items[k], rows[k]->instruction,
                                     rows[k]->response, rows[k]->category};
        out[k] = (ftsb_verdict){sizeof out[k], 0, 0, 0, as_buf(&bufs[2 * k]),
                                as_buf(&bufs[2 * k + 1])};
    }
    st = judge_cached(s, ej->judge, items, n, out, err);
    if (st == FTSB_OK)
        st = store_begin(store, err);
    for (uint32_t k = 0; st == FTSB_OK && k < n; k++) {
        struct store_verdict sv = {out[k].state, out[k].refused, out[k].score,
                                   bufs[2 * k].buf,
                                   bufs[2 * k + 1].len ? bufs[2 * k + 1].buf
                                                       : NULL};

        sum->n_verdict_errors += out[k].state != FTSB_VERDICT_OK;
        st = store_record_verdict_put(store, run_id, rows[k]->idx, ej->name,
                                      &sv, err);
        if (st)
            store_rollback(store);
    }
    if (st == FTSB_OK)
        st = store_commit(store, err);
out:
    for (uint32_t k = 0; bufs && k < 2 * n; k++)
        strbuf_release(&bufs[k]);
    free(items);
    free(out);
    free(bufs);
    return st;
}

static ftsb_status judge_phase(struct session *s, struct store *store,
                               int64_t run_id, const struct eval_spec *spec,
                               struct eval_summary *sum, struct err *err)
{
    uint32_t cap = spec->batch ? spec->batch : 8;
    struct row_view **todo = NULL;
    struct ftsb_ctx pctx;
    struct rows rows;
    ftsb_status st;

    if (spec->n_judges == 0)
        return FTSB_OK;
    if ((st = load_rows(store, run_id, s, spec, &rows, err)))
        return st;
    todo = malloc(rows.n * sizeof *todo + 1);
    if (!todo) {
        rows_free(&rows);
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    }
    ctx_init(&pctx, s, NULL);
    for (size_t j = 0; j < spec->n_judges && st == FTSB_OK; j++) {
        size_t n = 0;
        char what[64];

        /* Failed generations are never judged; failed verdicts are
         * asked again. */
        for (size_t i = 0; i < rows.n; i++)
            if (rows.v[i].gen_state == FTSB_GEN_OK &&
                (!rows.v[i].has_verdict[j] ||
                 rows.v[i].verdicts[j].state != FTSB_VERDICT_OK))
                todo[n++] = &rows.v[i];
        snprintf(what, sizeof what, "%s: judge %s", spec->name,
                 spec->judges[j].name);
        for (size_t done = 0; done < n && st == FTSB_OK;) {
            uint32_t k = (uint32_t)(n - done < cap ? n - done : cap);

            st = judge_batch(s, store, run_id, &spec->judges[j], todo + done,
                             k, sum, err);
            done += k;
            progress_update(&pctx.progress, what, (int64_t)done, (int64_t)n,
                            "verdicts");
            if (st == FTSB_OK && s->cancel && *s->cancel)
                st = err_set(err, FTSB_E_CANCELLED,
                             "interrupted while judging run '%s'; run the "
                             "script again to go on", spec->name);
        }
        progress_end(&pctx.progress);
    }
    ctx_release(&pctx);
    free(todo);
    rows_free(&rows);
    return st;
}

/* ---- phase 3: metrics -------------------------------------------------- */

static ftsb_status metric_phase(struct session *s, struct store *store,
                                int64_t run_id, const struct eval_spec *spec,
                                struct eval_summary *sum, struct err *err)
{
    struct rows rows;
    ftsb_record *recs;
    ftsb_status st;

    if ((st = load_rows(store, run_id, s, spec, &rows, err)))
        return st;
    recs = calloc(rows.n + 1, sizeof *recs);
    if (recs && spec->n_metrics == 0) {
        /* Counts only: the run's stored metrics are kept as they are. */
        for (size_t i = 0; i < rows.n; i++) {
            sum->n_ok += rows.v[i].gen_state == FTSB_GEN_OK;
            sum->n_filtered += rows.v[i].gen_state == FTSB_GEN_FILTERED;
            sum->n_refused += rows.v[i].gen_state == FTSB_GEN_REFUSED;
            sum->n_error += rows.v[i].gen_state == FTSB_GEN_ERROR;
        }
        free(recs);
        rows_free(&rows);
        return FTSB_OK;
    }
    if (!recs) {
        rows_free(&rows);
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < rows.n; i++) {
        const struct row_view *v = &rows.v[i];

        recs[i] = (ftsb_record){sizeof recs[i], v->category, v->gen_state,
                                (uint32_t)spec->n_judges, v->verdicts};
        sum->n_ok += v->gen_state == FTSB_GEN_OK;
        sum->n_filtered += v->gen_state == FTSB_GEN_FILTERED;
        sum->n_refused += v->gen_state == FTSB_GEN_REFUSED;
        sum->n_error += v->gen_state == FTSB_GEN_ERROR;
    }
    for (size_t m = 0; m < spec->n_metrics && st == FTSB_OK; m++) {
        struct instance *mi = spec->metrics[m];
        struct ftsb_ctx ctx;

        ctx_init(&ctx, s, mi->label);
        st = instance_metric(mi)->compute(mi->self, &ctx, recs,
                                          (uint32_t)rows.n,
                                          (ftsb_metric_sink *)&sum->metrics);
        if (st)
            err_set(err, st, "%s: %s", mi->label,
                    ctx.err.msg[0] ? ctx.err.msg : ftsb_status_str(st));
        ctx_release(&ctx);
    }
    for (size_t i = 0; st == FTSB_OK && i < sum->metrics.n; i++)
        for (size_t k = 0; st == FTSB_OK && k < i; k++) {
            const ftsb_metric_value *a = &sum->metrics.v[i];
            const ftsb_metric_value *b = &sum->metrics.v[k];

            if (strcmp(a->name, b->name) == 0 &&
                strcmp(a->category ? a->category : "",
                       b->category ? b->category : "") == 0)
                st = err_set(err, FTSB_E_INVALID,
                             "two metrics of evaluation '%s' report '%s'%s%s;"
                             " give one of them a 'prefix'", spec->name,
                             a->name, a->category ? " for category " : "",
                             a->category ? a->category : "");
        }
    if (st == FTSB_OK)
        st = store_begin(store, err);
    if (st == FTSB_OK)
        st = store_metrics_clear(store, run_id, err);
    for (size_t i = 0; st == FTSB_OK && i < sum->metrics.n; i++)
        st = store_metric_put(store, run_id, &sum->metrics.v[i], err);
    if (st == FTSB_OK)
        st = store_commit(store, err);
    else
        store_rollback(store);
    free(recs);
    rows_free(&rows);
    return st;
}

/* ---- the whole evaluation ---------------------------------------------- */

static ftsb_status check_spec(const struct eval_spec *spec, struct err *err)
{
    if (spec->user_template && *spec->user_template &&
        !strstr(spec->user_template, PLACEHOLDER))
        return err_set(err, FTSB_E_INVALID,
                       "prompt template '%s' has no '%s' placeholder",
                       spec->user_template, PLACEHOLDER);
    for (size_t j = 0; j < spec->n_judges; j++)
        for (size_t k = 0; k < j; k++)
            if (strcmp(spec->judges[j].name, spec->judges[k].name) == 0)
                return err_set(err, FTSB_E_INVALID,
                               "evaluation '%s' has two judges named '%s'; "
                               "give them distinct names",
                               spec->name, spec->judges[j].name);
    return FTSB_OK;
}

ftsb_status eval_run(struct session *s, const struct eval_spec *spec,
                     struct eval_summary *sum, struct err *err)
{
    struct eval_spec named = *spec;
    struct store *store;
    char key[65], shard[32] = "", *prov, auto_name[32];
    ftsb_status st;

    memset(sum, 0, sizeof *sum);
    if ((st = session_store(s, &store, err)))
        return st;
    if (run_key(spec, key))
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    /* Unnamed evaluations are named by their configuration, so the same
     * evaluation resumes and a different one never collides. */
    if (!spec->name || !*spec->name) {
        snprintf(auto_name, sizeof auto_name, "eval-%.12s", key);
        named.name = auto_name;
    }
    spec = &named;
    if ((st = check_spec(spec, err)))
        return st;
    sum->name = strdup(spec->name);
    if (!sum->name)
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    if (s->shard_count > 1)
        snprintf(shard, sizeof shard, "%u/%u", (unsigned)s->shard_index + 1,
                 (unsigned)s->shard_count);
    prov = provenance(s, spec, key);
    st = store_run_open(store, spec->name, key, shard, prov, &sum->run_id,
                        err);
    cJSON_free(prov);
    if (st == FTSB_OK)
        st = generate_phase(s, store, sum->run_id, spec, sum, err);
    if (st == FTSB_OK)
        st = judge_phase(s, store, sum->run_id, spec, sum, err);
    if (st == FTSB_OK)
        st = metric_phase(s, store, sum->run_id, spec, sum, err);
    if (st == FTSB_OK)
        st = store_run_finish(store, sum->run_id, err);
    return st;
}

void eval_summary_release(struct eval_summary *sum)
{
    metric_values_release(&sum->metrics);
    free(sum->name);
    sum->name = NULL;
}
