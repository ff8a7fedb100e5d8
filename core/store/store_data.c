/*
 * store_data.c - what runs compute, in and out of the store: the
 * generation and verdict caches, the plugins' key/value cache, records
 * with their verdicts (point reads for resuming, and a cursor in idx order
 * for metrics and exports), metric values and per-step series.  Point
 * operations use the handle's cached statements, since an evaluation does
 * several per benchmark item.
 */
#include "../ftsb_setup.h"

#include <math.h>

#include "store_int.h"

/* --- helpers ------------------------------------------------------------- */

static ftsb_status bad_key(struct store *s, const char *what,
                           const char *key, struct err *err)
{
    return err_set(err, FTSB_E_INVALID,
                   "cannot use '%.80s' as a %s cache key in '%s': expected "
                   "a hex SHA-256 (64 lowercase hex digits)",
                   key ? key : "(null)", what, s->path);
}

/* Replaces sb's contents with the text of column col; *is_null tells SQL
 * NULL apart from "". */
static ftsb_status col_to_buf(sqlite3_stmt *st, int col, struct strbuf *sb,
                              int *is_null)
{
    const unsigned char *t;

    strbuf_reset(sb);
    *is_null = sqlite3_column_type(st, col) == SQLITE_NULL;
    if (*is_null)
        return FTSB_OK;
    t = sqlite3_column_text(st, col);
    if (!t)
        return FTSB_E_NOMEM;
    return strbuf_add(sb, t, (size_t)sqlite3_column_bytes(st, col));
}

/* A score as stored: FTSB_NO_SCORE (and NaN) is NULL. */
static void bind_score(sqlite3_stmt *st, int i, double score, int *rc)
{
    if (score == FTSB_NO_SCORE)
        score = NAN;
    store_bind_real_(st, i, score, rc);
}

static double col_score(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return FTSB_NO_SCORE;
    return sqlite3_column_double(st, col);
}

static double col_real_or_nan(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NAN;
    return sqlite3_column_double(st, col);
}

static ftsb_status nomem(struct store *s, struct err *err, const char *what)
{
    return err_set(err, FTSB_E_NOMEM, "cannot read %s from '%s': out of "
                   "memory", what, s->path);
}

/* --- generation cache ---------------------------------------------------- */

ftsb_status store_gen_get(struct store *s, const char *key,
                          struct store_gen *out, struct strbuf *text,
                          struct strbuf *finish, struct strbuf *error,
                          int *found, struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc = SQLITE_OK, null_text, null_finish, null_error = 1;

    *found = 0;
    if (!store_key_valid_(key))
        return bad_key(s, "generation", key, err);
    if ((ret = store_prep_(s, ST_GEN_GET, &st, err)))
        return ret;
    store_bind_str_(st, 1, key, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (col_to_buf(st, 1, text, &null_text) ||
            col_to_buf(st, 2, finish, &null_finish) ||
            (error && col_to_buf(st, 3, error, &null_error))) {
            sqlite3_reset(st);
            return nomem(s, err, "a cached generation");
        }
        out->state = sqlite3_column_int(st, 0);
        out->text = null_text ? NULL : text->buf;
        out->finish = null_finish ? NULL : finish->buf;
        out->error = null_error ? NULL : error->buf;
        out->n_prompt_tokens = sqlite3_column_int64(st, 4);
        out->n_completion_tokens = sqlite3_column_int64(st, 5);
        *found = 1;
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot read the generation cache of '%s'",
                            s->path);
    return FTSB_OK;
}

ftsb_status store_gen_put(struct store *s, const char *key,
                          const char *fingerprint, const struct store_gen *g,
                          struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc = SQLITE_OK;

    if (!store_key_valid_(key))
        return bad_key(s, "generation", key, err);
    if (g->state == FTSB_GEN_ERROR)
        return FTSB_OK; /* a failure is retried on the next run */
    if ((ret = store_prep_(s, ST_GEN_PUT, &st, err)))
        return ret;
    store_bind_str_(st, 1, key, &rc);
    store_bind_str_(st, 2, fingerprint, &rc);
    store_bind_i64_(st, 3, g->state, &rc);
    store_bind_str_(st, 4, g->text, &rc);
    store_bind_str_(st, 5, g->finish, &rc);
    store_bind_str_(st, 6, g->error, &rc);
    store_bind_i64_(st, 7, g->n_prompt_tokens, &rc);
    store_bind_i64_(st, 8, g->n_completion_tokens, &rc);
    rc = store_exec_(st, rc);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot cache generation %.12s in '%s'", key,
                            s->path);
    return FTSB_OK;
}

/* --- verdict cache ------------------------------------------------------- */

ftsb_status store_verdict_get(struct store *s, const char *key,
                              struct store_verdict *out,
                              struct strbuf *rationale, int *found,
                              struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc = SQLITE_OK, null_rationale;

    *found = 0;
    if (!store_key_valid_(key))
        return bad_key(s, "verdict", key, err);
    if ((ret = store_prep_(s, ST_VERDICT_GET, &st, err)))
        return ret;
    store_bind_str_(st, 1, key, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (col_to_buf(st, 3, rationale, &null_rationale)) {
            sqlite3_reset(st);
            return nomem(s, err, "a cached verdict");
        }
        out->state = sqlite3_column_int(st, 0);
        out->refused = sqlite3_column_int(st, 1);
        out->score = col_score(st, 2);
        out->rationale = null_rationale ? NULL : rationale->buf;
        out->error = NULL;
        *found = 1;
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot read the verdict cache of '%s'", s->path);
    return FTSB_OK;
}

ftsb_status store_verdict_put(struct store *s, const char *key,
                              const char *fingerprint,
                              const struct store_verdict *v,
                              struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc = SQLITE_OK;

    if (!store_key_valid_(key))
        return bad_key(s, "verdict", key, err);
    if (v->state == FTSB_VERDICT_ERROR)
        return FTSB_OK; /* an error is never a verdict: judge it again */
    if ((ret = store_prep_(s, ST_VERDICT_PUT, &st, err)))
        return ret;
    store_bind_str_(st, 1, key, &rc);
    store_bind_str_(st, 2, fingerprint, &rc);
    store_bind_i64_(st, 3, v->state, &rc);
    store_bind_i64_(st, 4, v->refused, &rc);
    bind_score(st, 5, v->score, &rc);
    store_bind_str_(st, 6, v->rationale, &rc);
    rc = store_exec_(st, rc);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot cache verdict %.12s in '%s'", key,
                            s->path);
    return FTSB_OK;
}

/* --- plugin key/value cache ---------------------------------------------- */

ftsb_status store_kv_get(struct store *s, const char *ns, const char *key,
                         struct strbuf *out, int *found, struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc = SQLITE_OK;

    *found = 0;
    if ((ret = store_prep_(s, ST_KV_GET, &st, err)))
        return ret;
    store_bind_str_(st, 1, ns, &rc);
    store_bind_str_(st, 2, key, &rc);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const void *b = sqlite3_column_blob(st, 0);
        int n = sqlite3_column_bytes(st, 0);

        strbuf_reset(out);
        if ((!b && n) || strbuf_add(out, b, (size_t)n)) {
            sqlite3_reset(st);
            return nomem(s, err, "a cached value");
        }
        *found = 1;
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot read '%s' of '%s' from '%s'",
                            key ? key : "", ns ? ns : "", s->path);
    return FTSB_OK;
}

ftsb_status store_kv_put(struct store *s, const char *ns, const char *key,
                         const void *value, size_t len, struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc = SQLITE_OK;

    if ((ret = store_prep_(s, ST_KV_PUT, &st, err)))
        return ret;
    store_bind_str_(st, 1, ns, &rc);
    store_bind_str_(st, 2, key, &rc);
    if (rc == SQLITE_OK)
        /* A zero-length value must still be a blob: binding a NULL
         * pointer would store SQL NULL. */
        rc = len ? sqlite3_bind_blob64(st, 3, value, len, SQLITE_STATIC)
                 : sqlite3_bind_zeroblob(st, 3, 0);
    rc = store_exec_(st, rc);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot store '%s' of '%s' in '%s'",
                            key ? key : "", ns ? ns : "", s->path);
    return FTSB_OK;
}

/* --- records ------------------------------------------------------------- */

/* A write that failed because its run or record does not exist. */
static int is_fk_failure(int rc)
{
    return rc == SQLITE_CONSTRAINT_FOREIGNKEY;
}

ftsb_status store_record_put(struct store *s, int64_t run_id,
                             const struct store_record *r, struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc = SQLITE_OK;

    if (r->idx < 0)
        return err_set(err, FTSB_E_INVALID,
                       "cannot store record %lld of run %lld in '%s': a "
                       "benchmark index is never negative",
                       (long long)r->idx, (long long)run_id, s->path);
    if ((ret = store_prep_(s, ST_RECORD_PUT, &st, err)))
        return ret;
    store_bind_i64_(st, 1, run_id, &rc);
    store_bind_i64_(st, 2, r->idx, &rc);
    store_bind_str_(st, 3, r->item_id, &rc);
    store_bind_str_(st, 4, r->instruction, &rc);
    store_bind_str_(st, 5, r->category, &rc);
    store_bind_str_(st, 6, r->chat_json, &rc);
    store_bind_i64_(st, 7, r->gen_state, &rc);
    store_bind_str_(st, 8, r->response, &rc);
    store_bind_str_(st, 9, r->finish, &rc);
    store_bind_str_(st, 10, r->error, &rc);
    store_bind_i64_(st, 11, r->n_prompt_tokens, &rc);
    store_bind_i64_(st, 12, r->n_completion_tokens, &rc);
    store_bind_str_(st, 13, r->gen_key, &rc);
    rc = store_exec_(st, rc);
    if (is_fk_failure(rc))
        return err_set(err, FTSB_E_INVALID,
                       "cannot store record %lld: '%s' has no run %lld",
                       (long long)r->idx, s->path, (long long)run_id);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot store record %lld of run %lld in '%s'",
                            (long long)r->idx, (long long)run_id, s->path);
    return FTSB_OK;
}

ftsb_status store_record_verdict_put(struct store *s, int64_t run_id,
                                     int64_t idx, const char *judge,
                                     const struct store_verdict *v,
                                     struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc = SQLITE_OK;

    if (!judge || !*judge)
        return err_set(err, FTSB_E_INVALID,
                       "cannot store a verdict on record %lld of run %lld: "
                       "the judge has no name", (long long)idx,
                       (long long)run_id);
    if ((ret = store_prep_(s, ST_RVERDICT_PUT, &st, err)))
        return ret;
    store_bind_i64_(st, 1, run_id, &rc);
    store_bind_i64_(st, 2, idx, &rc);
    store_bind_str_(st, 3, judge, &rc);
    store_bind_i64_(st, 4, v->state, &rc);
    store_bind_i64_(st, 5, v->refused, &rc);
    bind_score(st, 6, v->score, &rc);
    store_bind_str_(st, 7, v->rationale, &rc);
    store_bind_str_(st, 8, v->error, &rc);
    rc = store_exec_(st, rc);
    if (is_fk_failure(rc))
        return err_set(err, FTSB_E_INVALID,
                       "cannot store the verdict of '%s' on record %lld of "
                       "run %lld: '%s' has no such record (store the record "
                       "first)", judge, (long long)idx, (long long)run_id,
                       s->path);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot store the verdict of '%s' on record %lld "
                            "of run %lld in '%s'", judge, (long long)idx,
                            (long long)run_id, s->path);
    return FTSB_OK;
}

/* --- rows: a record and its verdicts, read back -------------------------- */

void store_row_init(struct store_row *row)
{
    memset(row, 0, sizeof *row);
    strbuf_init(&row->text_);
}

void store_row_release(struct store_row *row)
{
    strbuf_release(&row->text_);
    free(row->verdicts);
    free(row->voff_);
    store_row_init(row);
}

/* The text columns of STORE_RECORD_JOIN_SQL that belong to the record, in
 * the order of store_row.roff_. */
static const int record_text_cols[8] = {1, 2, 3, 4, 6, 7, 8, 11};

/* Adds the verdict on the statement's current row, if it has one (the
 * LEFT JOIN gives NULLs for a record without verdicts). */
static ftsb_status row_add_verdict(struct store_row *row, sqlite3_stmt *st)
{
    struct store_record_verdict *v;
    ptrdiff_t *off;

    if (sqlite3_column_type(st, 12) == SQLITE_NULL)
        return FTSB_OK;
    if (row->n_verdicts == row->verdicts_alloc_) {
        size_t cap = row->verdicts_alloc_ ? 2 * row->verdicts_alloc_ : 4;
        struct store_record_verdict *nv;
        ptrdiff_t *no;

        if (cap > SIZE_MAX / (3 * sizeof *no))
            return FTSB_E_NOMEM;
        if (!(nv = realloc(row->verdicts, cap * sizeof *nv)))
            return FTSB_E_NOMEM;
        row->verdicts = nv;
        if (!(no = realloc(row->voff_, cap * 3 * sizeof *no)))
            return FTSB_E_NOMEM;
        row->voff_ = no;
        row->verdicts_alloc_ = cap;
    }
    v = &row->verdicts[row->n_verdicts];
    off = &row->voff_[3 * row->n_verdicts];
    v->v.state = sqlite3_column_int(st, 13);
    v->v.refused = sqlite3_column_int(st, 14);
    v->v.score = col_score(st, 15);
    if (store_col_text_(st, 12, &row->text_, &off[0]) ||
        store_col_text_(st, 16, &row->text_, &off[1]) ||
        store_col_text_(st, 17, &row->text_, &off[2]))
        return FTSB_E_NOMEM;
    row->n_verdicts++;
    return FTSB_OK;
}

/* Starts the row from the statement's current row. */
static ftsb_status row_start(struct store_row *row, sqlite3_stmt *st)
{
    strbuf_reset(&row->text_);
    row->n_verdicts = 0;
    memset(&row->rec, 0, sizeof row->rec);
    row->rec.idx = sqlite3_column_int64(st, 0);
    row->rec.gen_state = sqlite3_column_int(st, 5);
    row->rec.n_prompt_tokens = sqlite3_column_int64(st, 9);
    row->rec.n_completion_tokens = sqlite3_column_int64(st, 10);
    for (size_t k = 0; k < ARRAY_LEN(record_text_cols); k++)
        if (store_col_text_(st, record_text_cols[k], &row->text_,
                            &row->roff_[k]))
            return FTSB_E_NOMEM;
    return row_add_verdict(row, st);
}

static const char *at(const struct store_row *row, ptrdiff_t off)
{
    return off < 0 ? NULL : row->text_.buf + off;
}

/* Points the strings into text_, now that it no longer moves. */
static void row_finish(struct store_row *row)
{
    const char **rec[8] = {
        &row->rec.item_id,  &row->rec.instruction, &row->rec.category,
        &row->rec.chat_json, &row->rec.response,   &row->rec.finish,
        &row->rec.error,    &row->rec.gen_key,
    };

    for (size_t k = 0; k < ARRAY_LEN(rec); k++)
        *rec[k] = at(row, row->roff_[k]);
    for (size_t i = 0; i < row->n_verdicts; i++) {
        row->verdicts[i].judge = at(row, row->voff_[3 * i]);
        row->verdicts[i].v.rationale = at(row, row->voff_[3 * i + 1]);
        row->verdicts[i].v.error = at(row, row->voff_[3 * i + 2]);
    }
}

ftsb_status store_record_get(struct store *s, int64_t run_id, int64_t idx,
                             struct store_row *row, int *found,
                             struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc = SQLITE_OK;

    *found = 0;
    if ((ret = store_prep_(s, ST_RECORD_GET, &st, err)))
        return ret;
    store_bind_i64_(st, 1, run_id, &rc);
    store_bind_i64_(st, 2, idx, &rc);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (row_start(row, st)) {
            sqlite3_reset(st);
            return nomem(s, err, "a record");
        }
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            if (row_add_verdict(row, st)) {
                sqlite3_reset(st);
                return nomem(s, err, "a record");
            }
        if (rc == SQLITE_DONE) {
            row_finish(row);
            *found = 1;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return store_dberr_(s, rc, NULL, err,
                            "cannot read record %lld of run %lld from '%s'",
                            (long long)idx, (long long)run_id, s->path);
    return FTSB_OK;
}

/* --- the records cursor -------------------------------------------------- */

struct store_cursor {
    struct store *s;
    sqlite3_stmt *st;  /* this cursor's own, so cursors can nest */
    int64_t run_id;
    int pending;       /* st is on a row that starts the next record */
    int done;
    struct store_row row;
};

ftsb_status store_records_open(struct store *s, int64_t run_id,
                               struct store_cursor **out, struct err *err)
{
    struct store_cursor *c;
    int rc;

    *out = NULL;
    if (!(c = calloc(1, sizeof *c)))
        return err_set(err, FTSB_E_NOMEM, "cannot read the records of run "
                       "%lld from '%s': out of memory", (long long)run_id,
                       s->path);
    c->s = s;
    c->run_id = run_id;
    store_row_init(&c->row);
    rc = sqlite3_prepare_v2(s->db,
                            STORE_RECORD_JOIN_SQL
                            " WHERE r.run_id = ?1 ORDER BY r.idx, v.judge",
                            -1, &c->st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(c->st, 1, run_id);
    if (rc != SQLITE_OK) {
        ftsb_status ret = store_dberr_(s, rc, NULL, err,
                                       "cannot read the records of run %lld"
                                       " from '%s'", (long long)run_id,
                                       s->path);

        store_cursor_close(c);
        return ret;
    }
    *out = c;
    return FTSB_OK;
}

ftsb_status store_records_next(struct store_cursor *c,
                               const struct store_row **row,
                               struct err *err)
{
    int rc = SQLITE_ROW;

    *row = NULL;
    if (c->done)
        return FTSB_OK;
    if (!c->pending)
        rc = sqlite3_step(c->st);
    c->pending = 0;
    if (rc == SQLITE_ROW) {
        if (row_start(&c->row, c->st))
            goto oom;
        /* Further rows of the same idx carry its other verdicts. */
        while ((rc = sqlite3_step(c->st)) == SQLITE_ROW) {
            if (sqlite3_column_int64(c->st, 0) != c->row.rec.idx) {
                c->pending = 1;
                break;
            }
            if (row_add_verdict(&c->row, c->st))
                goto oom;
        }
        if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
            row_finish(&c->row);
            *row = &c->row;
        }
    }
    if (rc == SQLITE_ROW)
        return FTSB_OK;
    /* At the end, or failed: let go of the read snapshot now. */
    c->done = 1;
    sqlite3_reset(c->st);
    if (rc == SQLITE_DONE)
        return FTSB_OK;
    *row = NULL;
    return store_dberr_(c->s, rc, NULL, err,
                        "cannot read the records of run %lld from '%s'",
                        (long long)c->run_id, c->s->path);
oom:
    c->done = 1;
    sqlite3_reset(c->st);
    return nomem(c->s, err, "the records of a run");
}

void store_cursor_close(struct store_cursor *c)
{
    if (!c)
        return;
    sqlite3_finalize(c->st);
    store_row_release(&c->row);
    free(c);
}

ftsb_status store_records_each(struct store *s, int64_t run_id,
                               store_row_fn fn, void *ud, struct err *err)
{
    struct store_cursor *c;
    const struct store_row *row;
    ftsb_status ret;

    if ((ret = store_records_open(s, run_id, &c, err)))
        return ret;
    while (!(ret = store_records_next(c, &row, err)) && row)
        if ((ret = fn(ud, row, err)))
            break;
    store_cursor_close(c);
    return ret;
}

/* --- metrics ------------------------------------------------------------- */

ftsb_status store_metric_put(struct store *s, int64_t run_id,
                             const ftsb_metric_value *v, struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc = SQLITE_OK;

    if (!v->name || !*v->name)
        return err_set(err, FTSB_E_INVALID,
                       "cannot store a metric of run %lld in '%s': it has "
                       "no name", (long long)run_id, s->path);
    if ((ret = store_prep_(s, ST_METRIC_PUT, &st, err)))
        return ret;
    store_bind_i64_(st, 1, run_id, &rc);
    store_bind_str_(st, 2, v->name, &rc);
    store_bind_str_(st, 3, v->category ? v->category : "", &rc);
    store_bind_real_(st, 4, v->value, &rc);
    store_bind_real_(st, 5, v->ci_low, &rc);
    store_bind_real_(st, 6, v->ci_high, &rc);
    store_bind_i64_(st, 7, v->n, &rc);
    store_bind_i64_(st, 8, v->n_errors, &rc);
    rc = store_exec_(st, rc);
    if (is_fk_failure(rc))
        return err_set(err, FTSB_E_INVALID,
                       "cannot store metric '%s': '%s' has no run %lld",
                       v->name, s->path, (long long)run_id);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot store metric '%s' of run %lld in '%s'",
                            v->name, (long long)run_id, s->path);
    return FTSB_OK;
}

ftsb_status store_metrics_clear(struct store *s, int64_t run_id,
                                struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc = SQLITE_OK;

    if ((ret = store_prep_(s, ST_METRICS_CLEAR, &st, err)))
        return ret;
    store_bind_i64_(st, 1, run_id, &rc);
    rc = store_exec_(st, rc);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot delete the metrics of run %lld in '%s'",
                            (long long)run_id, s->path);
    return FTSB_OK;
}

ftsb_status store_metrics_each(struct store *s, int64_t run_id,
                               store_metric_fn fn, void *ud,
                               struct err *err)
{
    sqlite3_stmt *st = NULL;
    ftsb_status ret = FTSB_OK;
    int rc;

    rc = sqlite3_prepare_v2(s->db,
                            "SELECT name, category, value, ci_low, ci_high,"
                            " n, n_errors FROM metrics WHERE run_id = ?1"
                            " ORDER BY rowid", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 1, run_id);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *cat = (const char *)sqlite3_column_text(st, 1);
        ftsb_metric_value v = {
            .struct_size = sizeof v,
            .name = (const char *)sqlite3_column_text(st, 0),
            .category = cat && *cat ? cat : NULL,
            .value = col_real_or_nan(st, 2),
            .ci_low = col_real_or_nan(st, 3),
            .ci_high = col_real_or_nan(st, 4),
            .n = sqlite3_column_int64(st, 5),
            .n_errors = sqlite3_column_int64(st, 6),
        };

        if (!v.name || !cat) {
            rc = SQLITE_NOMEM; /* NOT NULL columns: only OOM gives NULL */
            break;
        }
        if ((ret = fn(ud, &v, err)))
            break;
        rc = SQLITE_OK;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = store_dberr_(s, rc, NULL, err,
                           "cannot read the metrics of run %lld from '%s'",
                           (long long)run_id, s->path);
    sqlite3_finalize(st);
    return ret;
}

/* --- series -------------------------------------------------------------- */

ftsb_status store_series_put(struct store *s, int64_t run_id,
                             const char *series, int64_t step, double value,
                             struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc = SQLITE_OK;

    if (!series || !*series)
        return err_set(err, FTSB_E_INVALID,
                       "cannot store a series point of run %lld in '%s': "
                       "the series has no name", (long long)run_id, s->path);
    if ((ret = store_prep_(s, ST_SERIES_PUT, &st, err)))
        return ret;
    store_bind_i64_(st, 1, run_id, &rc);
    store_bind_str_(st, 2, series, &rc);
    store_bind_i64_(st, 3, step, &rc);
    store_bind_real_(st, 4, value, &rc);
    rc = store_exec_(st, rc);
    if (is_fk_failure(rc))
        return err_set(err, FTSB_E_INVALID,
                       "cannot store series '%s': '%s' has no run %lld",
                       series, s->path, (long long)run_id);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot store step %lld of series '%s' of run "
                            "%lld in '%s'", (long long)step, series,
                            (long long)run_id, s->path);
    return FTSB_OK;
}

ftsb_status store_series_each(struct store *s, int64_t run_id,
                              const char *series, store_series_fn fn,
                              void *ud, struct err *err)
{
    sqlite3_stmt *st = NULL;
    ftsb_status ret = FTSB_OK;
    int rc, brc = SQLITE_OK;

    rc = sqlite3_prepare_v2(s->db,
                            "SELECT name, step, value FROM series"
                            " WHERE run_id = ?1 AND (?2 IS NULL OR name = ?2)"
                            " ORDER BY name, step", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        store_bind_i64_(st, 1, run_id, &brc);
        store_bind_str_(st, 2, series, &brc);
        rc = brc;
    }
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);

        if (!name) {
            rc = SQLITE_NOMEM;
            break;
        }
        if ((ret = fn(ud, name, sqlite3_column_int64(st, 1),
                      col_real_or_nan(st, 2), err)))
            break;
        rc = SQLITE_OK;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = store_dberr_(s, rc, NULL, err,
                           "cannot read the series of run %lld from '%s'",
                           (long long)run_id, s->path);
    sqlite3_finalize(st);
    return ret;
}
