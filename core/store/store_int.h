/*
 * store_int.h - what the run store's source files share and nobody else
 * sees: the handle, the cache of prepared statements, error reporting that
 * turns SQLite failures into messages naming the file and what to do, and
 * binding helpers.  Point operations (the hot path of an evaluation) use
 * the cached statements; iterations prepare their own, so that a callback
 * may call back into the store without resetting a statement in use.
 */
#ifndef FTSB_STORE_INT_H
#define FTSB_STORE_INT_H

#include <sqlite3.h>

#include "store.h"

/* The current time as stored: UTC with milliseconds, sortable as text. */
#define SQL_NOW "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

enum store_stmt_id {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_RUN_FIND,
    ST_RUN_INSERT,
    ST_RUN_RESUME,
    ST_RUN_FINISH,
    ST_GEN_GET,
    ST_GEN_PUT,
    ST_VERDICT_GET,
    ST_VERDICT_PUT,
    ST_RECORD_PUT,
    ST_RECORD_GET,
    ST_RVERDICT_PUT,
    ST_METRIC_PUT,
    ST_METRICS_CLEAR,
    ST_SERIES_PUT,
    ST_KV_GET,
    ST_KV_PUT,
    ST_CALL_BEGIN,
    ST_CALL_END,
    ST_CALL_ENDED,
    ST_CALLS_IN_DOUBT,
    ST_CALLS_SETTLE,
    ST__COUNT
};

struct store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *st[ST__COUNT]; /* prepared on first use, NULL before */
};

/* Sets *st to the cached statement id, prepared if needed.  Callers bind,
 * step and always sqlite3_reset() it before returning, so that no
 * statement keeps a read transaction open. */
ftsb_status store_prep_(struct store *s, enum store_stmt_id id,
                        sqlite3_stmt **st, struct err *err);

/* Records a failure of SQLite result code rc as
 * "<what>: <sqlite3_errmsg>[; <hint>]", where what is formatted from fmt
 * and the hint (what to do) depends on rc and names file (the store's
 * path when NULL).  Returns the ftsb status that matches rc. */
ftsb_status store_dberr_(struct store *s, int rc, const char *file,
                         struct err *err, const char *fmt, ...)
    FTSB_PRINTF(5, 6);
/* The ftsb status for a SQLite result code. */
ftsb_status store_status_(int rc);

/* Binding that remembers the first failure in *rc and skips the rest, so a
 * run of binds needs one check.  Strings are bound without copying (they
 * outlive the statement's use) with their exact length; NULL binds NULL. */
void store_bind_str_(sqlite3_stmt *st, int i, const char *v, int *rc);
void store_bind_i64_(sqlite3_stmt *st, int i, int64_t v, int *rc);
/* A double; NaN (which SQLite cannot hold) binds NULL. */
void store_bind_real_(sqlite3_stmt *st, int i, double v, int *rc);

/* Steps a write statement to its end and resets it.  SQLITE_DONE becomes
 * SQLITE_OK; otherwise the error code (errmsg still describes it). */
int store_step_done_(sqlite3_stmt *st);
/* store_step_done_ unless a bind failed (bind_rc), which is returned after
 * a reset: the usual end of "bind, bind, bind, execute". */
int store_exec_(sqlite3_stmt *st, int bind_rc);

/* Runs fn's writes atomically: outside a transaction in one of its own
 * (BEGIN IMMEDIATE), inside the caller's one in a savepoint.  *mode says
 * which for store_tx_leave_, which commits (rc == FTSB_OK) or undoes and
 * returns rc, or the commit's failure. */
ftsb_status store_tx_enter_(struct store *s, int *mode, struct err *err);
ftsb_status store_tx_leave_(struct store *s, int mode, ftsb_status rc,
                            struct err *err);

/* The columns of a record joined with its verdicts, in the order
 * store_data.c reads them; append "WHERE ... ORDER BY r.idx, v.judge". */
#define STORE_RECORD_JOIN_SQL                                               \
    "SELECT r.idx, r.item_id, r.instruction, r.category, r.chat_json,"      \
    " r.gen_state, r.response, r.finish, r.error, r.n_prompt_tokens,"       \
    " r.n_completion_tokens, r.gen_key, v.judge, v.state, v.refused,"       \
    " v.score, v.rationale, v.error FROM records r"                         \
    " LEFT JOIN record_verdicts v ON v.run_id = r.run_id AND v.idx = r.idx"

/* Registers the SQL function ftsb_shard_union(a, b) on db. */
int store_register_functions_(sqlite3 *db);

/* Non-zero for a text that is a hex SHA-256 (a cache key). */
int store_key_valid_(const char *key);

/* The text of column col as a new NUL-terminated copy in sb (appended, so
 * several columns can share one buffer); *off is where it starts, or -1
 * for SQL NULL.  FTSB_E_NOMEM when memory runs out. */
ftsb_status store_col_text_(sqlite3_stmt *st, int col, struct strbuf *sb,
                            ptrdiff_t *off);

#endif /* FTSB_STORE_INT_H */
