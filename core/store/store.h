/*
 * store.h - the run store: one SQLite file (WAL, synchronous=FULL) holding
 * the runs of experiments, their records, verdicts, metrics and series,
 * the generation and verdict caches, the plugins' key/value cache and the
 * ledger of paid calls.
 *
 * Everything a run computes is written here as soon as it exists, inside
 * SQLite transactions, so a process killed at any instruction loses at
 * most the transaction in flight and a re-run recomputes nothing that was
 * committed (docs/DESIGN.md "Run store"; reliability.md R1-R5, R12).
 *
 * Conventions, for every function below:
 *   - A handle is used by one thread at a time.  Several processes may
 *     open the same file; SQLite serialises their writes (busy_timeout).
 *   - Functions that can fail return FTSB_OK or a status and, when err is
 *     not NULL, a message naming the store file and what to do.  Status
 *     codes: FTSB_E_INVALID (a bad argument: a key that is not a hex
 *     SHA-256, a malformed shard, a refused configuration), FTSB_E_IO
 *     (the file could not be read or written, or is locked by another
 *     process), FTSB_E_FORMAT (not an ftsb store, damaged, newer schema,
 *     conflicting merge), FTSB_E_NOMEM, FTSB_E_NOT_FOUND, FTSB_E_INTERNAL
 *     (misuse, e.g. a commit without a begin).
 *   - Strings passed in are borrowed for the call and stored byte for
 *     byte; NULL is stored as SQL NULL and read back as NULL.  Strings
 *     handed out point into a buffer named in the function's comment.
 *   - Without store_begin() every write is its own transaction (an fsync
 *     each).  Group the writes of a batch with store_begin()/
 *     store_commit(); after a failed write inside a transaction, call
 *     store_rollback() (the transaction's earlier writes are not kept).
 */
#ifndef FTSB_STORE_H
#define FTSB_STORE_H

#include "../ftsb_setup.h"

#include "../util/err.h"
#include "../util/strbuf.h"

/* The newest schema this build reads and writes. */
#define STORE_SCHEMA_VERSION 1

struct store;

/* --- opening, transactions ----------------------------------------------- */

/*
 * Opens the store at path, creating the file and its schema when absent,
 * and sets *out to a handle to close with store_close().  Refuses, with
 * FTSB_E_FORMAT and a message saying how to go on: a file that is not
 * SQLite or is damaged ("move it away to start fresh"), an SQLite file
 * that is not an ftsb store, and a store written by a newer schema.  On
 * failure *out is NULL.
 */
ftsb_status store_open(const char *path, struct store **out,
                       struct err *err);
/* Closes the handle (NULL is fine).  A transaction still open is rolled
 * back; open cursors must be closed first. */
void store_close(struct store *s);
/* The path the store was opened with (owned by the handle). */
const char *store_path(const struct store *s);

/* Starts a write transaction (BEGIN IMMEDIATE: it waits for other writers
 * up to the busy timeout rather than failing later at commit).  Nesting
 * is an error (FTSB_E_INTERNAL). */
ftsb_status store_begin(struct store *s, struct err *err);
/* Commits the transaction; durable when it returns FTSB_OK. */
ftsb_status store_commit(struct store *s, struct err *err);
/* Abandons the transaction (no-op without one, e.g. when SQLite already
 * rolled it back after a disk-full or I/O error).  Returns FTSB_OK, or an
 * error status when SQLite could not roll back (it then does so itself
 * when the file is next opened). */
ftsb_status store_rollback(struct store *s);
/* Non-zero between store_begin() and store_commit()/store_rollback(). */
int store_in_transaction(const struct store *s);

/* --- runs ---------------------------------------------------------------- */

/*
 * Opens the run called name (an evaluation or training inside an
 * experiment: "before", "after-10shot") and sets *run_id.
 *
 * config_key identifies everything that determines the run's results
 * (backend fingerprint, benchmark content hash, prompt, judges, decoding
 * parameters), e.g. a hex SHA-256.  It must NOT include the shard: the
 * shards of one run share name and key so that store_merge() can put
 * them back together; the store keeps the shard itself.
 *
 * shard is "I/N" (1 <= I <= N) for one shard of the benchmark, or "" (or
 * NULL) for all of it.  A new name creates the run.  An existing name
 * with the same key resumes it: its records stay, its finish time is
 * cleared, and its shard becomes the union of the old and the new one
 * (all N shards of N, or "", make ""); provenance is kept from creation.
 * An existing name with another key is refused with FTSB_E_INVALID: "run
 * 'before' in results/x.db was made with another configuration; ...".
 * provenance_json (may be NULL) is a JSON text of where the run came
 * from (versions, command line, host).
 */
ftsb_status store_run_open(struct store *s, const char *name,
                           const char *config_key, const char *shard,
                           const char *provenance_json, int64_t *run_id,
                           struct err *err);
/* Marks the run complete, with the current time. FTSB_E_NOT_FOUND when
 * there is no such run. */
ftsb_status store_run_finish(struct store *s, int64_t run_id,
                             struct err *err);
/* Looks a run up by name: *found is 1 and *run_id set, or *found is 0. */
ftsb_status store_run_find(struct store *s, const char *name,
                           int64_t *run_id, int *found, struct err *err);

/* A run as listed.  Times are UTC, "2024-05-01T12:00:00.000Z"; finished
 * is NULL while the run is not complete; provenance may be NULL. */
struct store_run_info {
    int64_t id;
    const char *name;
    const char *config_key;
    const char *shard;
    const char *provenance;
    const char *created;
    const char *finished;
    int64_t n_records;
};

/* Calls fn for each run, in creation order.  The strings are valid during
 * the call only.  A status other than FTSB_OK returned by fn stops the
 * listing and is returned (fn records its message in err). */
typedef ftsb_status (*store_run_fn)(void *ud, const struct store_run_info *run,
                                    struct err *err);
ftsb_status store_runs_list(struct store *s, store_run_fn fn, void *ud,
                            struct err *err);

/* --- generation cache -----------------------------------------------------
 * Keyed by the hex SHA-256 (64 lowercase digits, else FTSB_E_INVALID) of
 * the backend fingerprint, the rendered chat and the decoding parameters;
 * the caller computes the key (util/sha256.h, sha256_field*). */

struct store_gen {
    int32_t state;              /* FTSB_GEN_* */
    const char *text;
    const char *finish;
    const char *error;          /* a FILTERED/REFUSED result's reason */
    int64_t n_prompt_tokens;
    int64_t n_completion_tokens;
};

/*
 * Looks key up.  On a hit *found is 1 and out is filled: out->text,
 * out->finish and out->error point into the buffers text, finish and
 * error (reset first; error may be NULL when the reason is not wanted, and
 * out->error is then NULL); a NULL stored value reads back as NULL.  On a
 * miss *found is 0 and out is untouched.
 */
ftsb_status store_gen_get(struct store *s, const char *key,
                          struct store_gen *out, struct strbuf *text,
                          struct strbuf *finish, struct strbuf *error,
                          int *found, struct err *err);
/* Stores g under key (replacing an entry), with the backend fingerprint
 * that produced it (for inspection).  An FTSB_GEN_ERROR result is not
 * cached - it must be retried on a re-run - so its put returns FTSB_OK
 * and stores nothing. */
ftsb_status store_gen_put(struct store *s, const char *key,
                          const char *fingerprint, const struct store_gen *g,
                          struct err *err);

/* --- verdict cache --------------------------------------------------------
 * Keyed by the hex SHA-256 of the judge fingerprint, the instruction and
 * the response. */

struct store_verdict {
    int32_t state;      /* FTSB_VERDICT_* */
    int32_t refused;    /* FTSB_REFUSED_* */
    double score;       /* or FTSB_NO_SCORE (stored as NULL) */
    const char *rationale;
    const char *error;
};

/* As store_gen_get: on a hit out->rationale points into rationale, and
 * out->error is NULL (errors are never cached). */
ftsb_status store_verdict_get(struct store *s, const char *key,
                              struct store_verdict *out,
                              struct strbuf *rationale, int *found,
                              struct err *err);
/* As store_gen_put: a FTSB_VERDICT_ERROR verdict is not cached. */
ftsb_status store_verdict_put(struct store *s, const char *key,
                              const char *fingerprint,
                              const struct store_verdict *v,
                              struct err *err);

/* --- records ------------------------------------------------------------- */

/* One evaluated benchmark item of a run; idx is its index in the
 * benchmark (>= 0), the same whichever shard computed it.  Any string may
 * be NULL.  gen_key is the generation cache key it came from. */
struct store_record {
    int64_t idx;
    const char *item_id;
    const char *instruction;
    const char *category;
    const char *chat_json;
    const char *response;
    const char *finish;
    const char *error;
    int32_t gen_state;          /* FTSB_GEN_*; errors are kept here */
    int64_t n_prompt_tokens;
    int64_t n_completion_tokens;
    const char *gen_key;
};

/* Inserts or replaces the record (run_id, r->idx).  Replacing it with
 * another response or generation state deletes the verdicts on it, which
 * judged the old response.  FTSB_E_INVALID for an unknown run_id or a
 * negative idx. */
ftsb_status store_record_put(struct store *s, int64_t run_id,
                             const struct store_record *r, struct err *err);

/* Inserts or replaces the verdict of judge (the judge's name in the
 * evaluation) on record (run_id, idx), which must exist
 * (FTSB_E_INVALID otherwise).  Errors are stored here (a record's failed
 * verdict is counted by metrics); v->score FTSB_NO_SCORE is stored as
 * NULL. */
ftsb_status store_record_verdict_put(struct store *s, int64_t run_id,
                                     int64_t idx, const char *judge,
                                     const struct store_verdict *v,
                                     struct err *err);

/* A record's verdict as read back. */
struct store_record_verdict {
    const char *judge;
    struct store_verdict v;
};

/*
 * A record with its verdicts (sorted by judge name), as read back.  All
 * strings point into the row's own storage and stay valid until the row
 * is filled again or released.  Initialise with store_row_init() (or
 * STORE_ROW_INIT); release with store_row_release().
 */
struct store_row {
    struct store_record rec;
    size_t n_verdicts;
    struct store_record_verdict *verdicts;
    /* private: the strings, and where each one starts in text_ (-1 for
     * NULL) until the row is complete and the pointers are set */
    struct strbuf text_;
    ptrdiff_t roff_[8];
    ptrdiff_t *voff_;
    size_t verdicts_alloc_;
};
#define STORE_ROW_INIT { .text_ = STRBUF_INIT }
void store_row_init(struct store_row *row);
void store_row_release(struct store_row *row);

/* Reads record (run_id, idx) and its verdicts into row (for resuming):
 * *found is 1, or 0 when there is no such record. */
ftsb_status store_record_get(struct store *s, int64_t run_id, int64_t idx,
                             struct store_row *row, int *found,
                             struct err *err);

/*
 * A cursor over a run's records in idx order, each with its verdicts:
 *
 *     struct store_cursor *c;
 *     const struct store_row *row;
 *     if (store_records_open(s, run_id, &c, err)) return ...;
 *     while (!(rc = store_records_next(c, &row, err)) && row)
 *         use(row);
 *     store_cursor_close(c);
 *
 * An unknown run has no records.  While open, the cursor holds a read
 * transaction: writes through other handles are not seen, writes through
 * the same handle may or may not be.  It lets go of it at the end; close
 * every cursor before store_close().
 */
struct store_cursor;
ftsb_status store_records_open(struct store *s, int64_t run_id,
                               struct store_cursor **out, struct err *err);
/* Sets *row to the next record (owned by the cursor, valid until the next
 * call), or to NULL at the end. */
ftsb_status store_records_next(struct store_cursor *c,
                               const struct store_row **row,
                               struct err *err);
void store_cursor_close(struct store_cursor *c);

/* Calls fn for each record of the run in idx order; the row is valid
 * during the call only.  A status other than FTSB_OK returned by fn stops
 * the iteration and is returned. */
typedef ftsb_status (*store_row_fn)(void *ud, const struct store_row *row,
                                    struct err *err);
ftsb_status store_records_each(struct store *s, int64_t run_id,
                               store_row_fn fn, void *ud, struct err *err);

/* --- metrics ------------------------------------------------------------- */

/* Stores a metric value of the run, replacing the value of the same name
 * and category (a NULL or "" category is the overall value).  NaN values
 * are stored as NULL and read back as NaN. */
ftsb_status store_metric_put(struct store *s, int64_t run_id,
                             const ftsb_metric_value *v, struct err *err);
/* Deletes every metric value of the run (before recomputing them). */
ftsb_status store_metrics_clear(struct store *s, int64_t run_id,
                                struct err *err);
/* Calls fn for each metric value of the run in the order they were first
 * put; v->category is NULL for the overall value; strings are valid
 * during the call only.  fn's non-OK status stops and is returned. */
typedef ftsb_status (*store_metric_fn)(void *ud, const ftsb_metric_value *v,
                                       struct err *err);
ftsb_status store_metrics_each(struct store *s, int64_t run_id,
                               store_metric_fn fn, void *ud,
                               struct err *err);

/* --- series (loss curves and other per-step values) ---------------------- */

/* Stores value at step of the named series of the run (replacing it). */
ftsb_status store_series_put(struct store *s, int64_t run_id,
                             const char *series, int64_t step, double value,
                             struct err *err);
/* Calls fn for each point of the series (every series when series is
 * NULL) ordered by series name, then step. */
typedef ftsb_status (*store_series_fn)(void *ud, const char *series,
                                       int64_t step, double value,
                                       struct err *err);
ftsb_status store_series_each(struct store *s, int64_t run_id,
                              const char *series, store_series_fn fn,
                              void *ud, struct err *err);

/* --- plugin key/value cache ---------------------------------------------- */

/* Reads the value stored under (ns, key) into out (reset first; out->buf
 * is NUL-terminated, out->len is the exact length, values may hold NULs).
 * *found is 1, or 0 when absent. */
ftsb_status store_kv_get(struct store *s, const char *ns, const char *key,
                         struct strbuf *out, int *found, struct err *err);
/* Stores len bytes at value (NULL when len is 0) under (ns, key). */
ftsb_status store_kv_put(struct store *s, const char *ns, const char *key,
                         const void *value, size_t len, struct err *err);

/* --- ledger of paid calls --------------------------------------------------
 * Protocol (reliability.md R3): store_call_begin() commits an attempt
 * before the call is sent; store_call_end() records its outcome after,
 * ideally in the transaction that stores the result.  An attempt without
 * an end was in flight when the process died: the call may have been
 * billed without its answer being kept. */

/* Records and commits an attempt for work_key (the deterministic id of
 * the work: what would be computed) and what (a short label: "generate",
 * "judge", "upload"), and sets *call_id.  Refused with FTSB_E_INTERNAL
 * inside a transaction, where the attempt would not be committed before
 * the call. */
ftsb_status store_call_begin(struct store *s, const char *work_key,
                             const char *what, int64_t *call_id,
                             struct err *err);
/* Records the end of the call and its outcome ("ok", "error: ...").
 * FTSB_E_NOT_FOUND for an unknown id, FTSB_E_INVALID when it already
 * ended. */
ftsb_status store_call_end(struct store *s, int64_t call_id,
                           const char *outcome, struct err *err);
/* Sets *n to the number of attempts without an end (in doubt). */
ftsb_status store_calls_in_doubt(struct store *s, int64_t *n,
                                 struct err *err);
/* Ends every attempt without an end with outcome (e.g. "in doubt: killed")
 * and sets *n to their number: call it once at start-up, after reporting
 * them, so that they are reported once.  n may be NULL. */
ftsb_status store_calls_settle_in_doubt(struct store *s, const char *outcome,
                                        int64_t *n, struct err *err);

/* --- merging ------------------------------------------------------------- */

/*
 * Copies every run, record, verdict, metric, series point, cache entry and
 * ledger row of the store file src_path into s (e.g. shards into one
 * store), in one transaction: on failure s is unchanged.
 *   - Runs are matched by name.  The same name with another config key is
 *     an error naming the run.
 *   - Records of a run in both stores are merged by idx: disjoint sets are
 *     expected, identical duplicates are fine, a duplicate that differs is
 *     an error naming the run and the idx (likewise for verdicts, by judge,
 *     and series points, by step).
 *   - A merged run's shard becomes the union of both; it is finished only
 *     when both were (the later time).  When the merge added records or
 *     verdicts to it, its metrics are deleted: they described a part of
 *     it and must be recomputed.  Metrics of runs only in src are copied.
 *   - Cache and kv entries already in s are kept; ledger rows are copied
 *     unless an identical row is already there.
 * Must be called outside a transaction (FTSB_E_INTERNAL otherwise).
 * src_path is attached read-only and never written; it must exist and be
 * an ftsb store of this build's schema, and must not be s's own file.
 */
ftsb_status store_merge(struct store *s, const char *src_path,
                        struct err *err);

/* --- helpers ------------------------------------------------------------- */

/* Non-zero when shard is "" (or NULL) or a valid "I/N", 1 <= I <= N. */
int store_shard_valid(const char *shard);

#endif /* FTSB_STORE_H */
