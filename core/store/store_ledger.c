/*
 * store_ledger.c - the ledger of paid calls (reliability.md R3).  An
 * attempt is committed before a remote call is sent and ended after it,
 * so that after a kill the calls that were in flight - possibly billed,
 * their answers lost - can be counted and reported instead of silently
 * paid for twice.
 */
#include "../ftsb_setup.h"

#include "store_int.h"

ftsb_status store_call_begin(struct store *s, const char *work_key,
                             const char *what, int64_t *call_id,
                             struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc = SQLITE_OK;

    /* Inside a transaction the attempt would become durable only at the
     * caller's commit, after the call: a kill in between would forget a
     * call that was sent. */
    if (store_in_transaction(s))
        return err_set(err, FTSB_E_INTERNAL,
                       "cannot record a call attempt for '%s' in '%s' "
                       "inside a transaction: it must be committed before "
                       "the call is sent", work_key ? work_key : "",
                       s->path);
    if (!work_key || !*work_key || !what || !*what)
        return err_set(err, FTSB_E_INVALID,
                       "cannot record a call attempt in '%s': its work key "
                       "and label must not be empty", s->path);
    if ((ret = store_prep_(s, ST_CALL_BEGIN, &st, err)))
        return ret;
    store_bind_str_(st, 1, work_key, &rc);
    store_bind_str_(st, 2, what, &rc);
    rc = store_exec_(st, rc);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot record a call attempt for '%s' in '%s'",
                            work_key, s->path);
    *call_id = sqlite3_last_insert_rowid(s->db);
    return FTSB_OK;
}

ftsb_status store_call_end(struct store *s, int64_t call_id,
                           const char *outcome, struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc = SQLITE_OK, exists = 0;

    if ((ret = store_prep_(s, ST_CALL_END, &st, err)))
        return ret;
    store_bind_i64_(st, 1, call_id, &rc);
    store_bind_str_(st, 2, outcome, &rc);
    rc = store_exec_(st, rc);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot record the end of call %lld in '%s'",
                            (long long)call_id, s->path);
    if (sqlite3_changes(s->db) == 1)
        return FTSB_OK;
    /* Nothing updated: tell an unknown call from one already ended. */
    if ((ret = store_prep_(s, ST_CALL_ENDED, &st, err)))
        return ret;
    rc = sqlite3_bind_int64(st, 1, call_id);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        exists = 1;
        rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return store_dberr_(s, rc, NULL, err,
                            "cannot read call %lld from '%s'",
                            (long long)call_id, s->path);
    if (!exists)
        return err_set(err, FTSB_E_NOT_FOUND,
                       "cannot record the end of call %lld: '%s' has no "
                       "such call", (long long)call_id, s->path);
    return err_set(err, FTSB_E_INVALID,
                   "cannot record the end of call %lld in '%s': it has "
                   "already ended", (long long)call_id, s->path);
}

ftsb_status store_calls_in_doubt(struct store *s, int64_t *n,
                                 struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc;

    if ((ret = store_prep_(s, ST_CALLS_IN_DOUBT, &st, err)))
        return ret;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return store_dberr_(s, rc, NULL, err,
                            "cannot count the calls in doubt in '%s'",
                            s->path);
    return FTSB_OK;
}

ftsb_status store_calls_settle_in_doubt(struct store *s, const char *outcome,
                                        int64_t *n, struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc = SQLITE_OK;

    if ((ret = store_prep_(s, ST_CALLS_SETTLE, &st, err)))
        return ret;
    store_bind_str_(st, 1, outcome, &rc);
    rc = store_exec_(st, rc);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot settle the calls in doubt in '%s'",
                            s->path);
    if (n)
        *n = sqlite3_changes64(s->db);
    return FTSB_OK;
}
