/*
 * store.c - the run store's file, schema and runs: opening (creating the
 * schema, refusing files that are not ftsb stores or come from a newer
 * schema), the cache of prepared statements, transactions, error messages,
 * and the runs table with its shard bookkeeping.  The tables' contents are
 * read and written in store_data.c, the ledger in store_ledger.c and
 * merging in store_merge.c.
 */
#include "../ftsb_setup.h"

#include <sys/stat.h>

#include "store_int.h"
#include "../util/sha256.h"

/* Long enough to outlast another process's commit of a large batch, short
 * enough that a stuck writer is reported rather than waited for forever. */
#define STORE_BUSY_TIMEOUT_MS 10000

/* "ftsb" in the SQLite header (PRAGMA application_id), so that file(1)
 * and sqlite tools can tell our stores apart. */
#define STORE_APPLICATION_ID 0x66747362

/*
 * Schema 1.  STRICT tables make SQLite enforce the column types.  Records
 * and verdicts are keyed by their natural keys so that upserts and
 * merges need no id mapping beyond the run's.  A record whose answer
 * changes loses its verdicts (trigger): a verdict always judged the
 * response stored beside it.
 */
static const char schema_sql[] =
    "CREATE TABLE meta (\n"
    "  key TEXT PRIMARY KEY,\n"
    "  value TEXT NOT NULL\n"
    ") STRICT;\n"
    "CREATE TABLE runs (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL UNIQUE,\n"
    "  config_key TEXT NOT NULL,\n"
    "  shard TEXT NOT NULL DEFAULT '',\n"
    "  provenance TEXT,\n"
    "  created TEXT NOT NULL,\n"
    "  finished TEXT\n"
    ") STRICT;\n"
    "CREATE TABLE records (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  idx INTEGER NOT NULL CHECK (idx >= 0),\n"
    "  item_id TEXT,\n"
    "  instruction TEXT,\n"
    "  category TEXT,\n"
    "  chat_json TEXT,\n"
    "  gen_state INTEGER NOT NULL,\n"
    "  response TEXT,\n"
    "  finish TEXT,\n"
    "  error TEXT,\n"
    "  n_prompt_tokens INTEGER NOT NULL,\n"
    "  n_completion_tokens INTEGER NOT NULL,\n"
    "  gen_key TEXT,\n"
    "  PRIMARY KEY (run_id, idx)\n"
    ") STRICT;\n"
    "CREATE TABLE record_verdicts (\n"
    "  run_id INTEGER NOT NULL,\n"
    "  idx INTEGER NOT NULL,\n"
    "  judge TEXT NOT NULL,\n"
    "  state INTEGER NOT NULL,\n"
    "  refused INTEGER NOT NULL,\n"
    "  score REAL,\n"
    "  rationale TEXT,\n"
    "  error TEXT,\n"
    "  PRIMARY KEY (run_id, idx, judge),\n"
    "  FOREIGN KEY (run_id, idx) REFERENCES records(run_id, idx)\n"
    "    ON DELETE CASCADE\n"
    ") STRICT;\n"
    "CREATE TRIGGER records_answer_changed\n"
    "  AFTER UPDATE OF gen_state, response ON records\n"
    "  WHEN old.gen_state IS NOT new.gen_state\n"
    "    OR old.response IS NOT new.response\n"
    "BEGIN\n"
    "  DELETE FROM record_verdicts\n"
    "    WHERE run_id = new.run_id AND idx = new.idx;\n"
    "END;\n"
    "CREATE TABLE metrics (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  name TEXT NOT NULL,\n"
    "  category TEXT NOT NULL DEFAULT '',\n"
    "  value REAL,\n"
    "  ci_low REAL,\n"
    "  ci_high REAL,\n"
    "  n INTEGER NOT NULL,\n"
    "  n_errors INTEGER NOT NULL,\n"
    "  PRIMARY KEY (run_id, name, category)\n"
    ") STRICT;\n"
    "CREATE TABLE series (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  name TEXT NOT NULL,\n"
    "  step INTEGER NOT NULL,\n"
    "  value REAL,\n"
    "  PRIMARY KEY (run_id, name, step)\n"
    ") STRICT, WITHOUT ROWID;\n"
    "CREATE TABLE gen_cache (\n"
    "  key TEXT PRIMARY KEY,\n"
    "  fingerprint TEXT NOT NULL,\n"
    "  state INTEGER NOT NULL,\n"
    "  text TEXT,\n"
    "  finish TEXT,\n"
    "  error TEXT,\n"
    "  n_prompt_tokens INTEGER NOT NULL,\n"
    "  n_completion_tokens INTEGER NOT NULL,\n"
    "  created TEXT NOT NULL\n"
    ") STRICT;\n"
    "CREATE TABLE verdict_cache (\n"
    "  key TEXT PRIMARY KEY,\n"
    "  fingerprint TEXT NOT NULL,\n"
    "  state INTEGER NOT NULL,\n"
    "  refused INTEGER NOT NULL,\n"
    "  score REAL,\n"
    "  rationale TEXT,\n"
    "  created TEXT NOT NULL\n"
    ") STRICT;\n"
    "CREATE TABLE kv (\n"
    "  ns TEXT NOT NULL,\n"
    "  key TEXT NOT NULL,\n"
    "  value BLOB NOT NULL,\n"
    "  PRIMARY KEY (ns, key)\n"
    ") STRICT;\n"
    "CREATE TABLE calls (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  work_key TEXT NOT NULL,\n"
    "  what TEXT NOT NULL,\n"
    "  started TEXT NOT NULL,\n"
    "  ended TEXT,\n"
    "  outcome TEXT\n"
    ") STRICT;\n"
    "CREATE INDEX calls_by_work ON calls(work_key);\n"
    "CREATE INDEX calls_open ON calls(id) WHERE ended IS NULL;\n";

/* The cached statements.  Each is prepared on first use. */
static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT store_op",
    [ST_RELEASE] = "RELEASE store_op",
    [ST_ROLLBACK_TO] = "ROLLBACK TO store_op",
    [ST_RUN_FIND] = "SELECT id, config_key FROM runs WHERE name = ?1",
    [ST_RUN_INSERT] =
        "INSERT INTO runs(name, config_key, shard, provenance, created)"
        " VALUES (?1, ?2, ?3, ?4, " SQL_NOW ")",
    [ST_RUN_RESUME] =
        "UPDATE runs SET shard = ftsb_shard_union(shard, ?2),"
        " finished = NULL WHERE id = ?1",
    [ST_RUN_FINISH] =
        "UPDATE runs SET finished = " SQL_NOW " WHERE id = ?1",
    [ST_GEN_GET] =
        "SELECT state, text, finish, error, n_prompt_tokens,"
        " n_completion_tokens FROM gen_cache WHERE key = ?1",
    [ST_GEN_PUT] =
        "INSERT INTO gen_cache(key, fingerprint, state, text, finish, error,"
        " n_prompt_tokens, n_completion_tokens, created)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, " SQL_NOW ")"
        " ON CONFLICT(key) DO UPDATE SET fingerprint = excluded.fingerprint,"
        " state = excluded.state, text = excluded.text,"
        " finish = excluded.finish, error = excluded.error,"
        " n_prompt_tokens = excluded.n_prompt_tokens,"
        " n_completion_tokens = excluded.n_completion_tokens,"
        " created = excluded.created",
    [ST_VERDICT_GET] =
        "SELECT state, refused, score, rationale FROM verdict_cache"
        " WHERE key = ?1",
    [ST_VERDICT_PUT] =
        "INSERT INTO verdict_cache(key, fingerprint, state, refused, score,"
        " rationale, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, " SQL_NOW ")"
        " ON CONFLICT(key) DO UPDATE SET fingerprint = excluded.fingerprint,"
        " state = excluded.state, refused = excluded.refused,"
        " score = excluded.score, rationale = excluded.rationale,"
        " created = excluded.created",
    [ST_RECORD_PUT] =
        "INSERT INTO records(run_id, idx, item_id, instruction, category,"
        " chat_json, gen_state, response, finish, error, n_prompt_tokens,"
        " n_completion_tokens, gen_key)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        " ON CONFLICT(run_id, idx) DO UPDATE SET item_id = excluded.item_id,"
        " instruction = excluded.instruction, category = excluded.category,"
        " chat_json = excluded.chat_json, gen_state = excluded.gen_state,"
        " response = excluded.response, finish = excluded.finish,"
        " error = excluded.error, n_prompt_tokens = excluded.n_prompt_tokens,"
        " n_completion_tokens = excluded.n_completion_tokens,"
        " gen_key = excluded.gen_key",
    [ST_RECORD_GET] = STORE_RECORD_JOIN_SQL
        " WHERE r.run_id = ?1 AND r.idx = ?2 ORDER BY v.judge",
    [ST_RVERDICT_PUT] =
        "INSERT INTO record_verdicts(run_id, idx, judge, state, refused,"
        " score, rationale, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        " ON CONFLICT(run_id, idx, judge) DO UPDATE SET"
        " state = excluded.state, refused = excluded.refused,"
        " score = excluded.score, rationale = excluded.rationale,"
        " error = excluded.error",
    [ST_METRIC_PUT] =
        "INSERT INTO metrics(run_id, name, category, value, ci_low, ci_high,"
        " n, n_errors) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        " ON CONFLICT(run_id, name, category) DO UPDATE SET"
        " value = excluded.value, ci_low = excluded.ci_low,"
        " ci_high = excluded.ci_high, n = excluded.n,"
        " n_errors = excluded.n_errors",
    [ST_METRICS_CLEAR] = "DELETE FROM metrics WHERE run_id = ?1",
    [ST_SERIES_PUT] =
        "INSERT INTO series(run_id, name, step, value) VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT(run_id, name, step) DO UPDATE SET"
        " value = excluded.value",
    [ST_KV_GET] = "SELECT value FROM kv WHERE ns = ?1 AND key = ?2",
    [ST_KV_PUT] =
        "INSERT INTO kv(ns, key, value) VALUES (?1, ?2, ?3)"
        " ON CONFLICT(ns, key) DO UPDATE SET value = excluded.value",
    [ST_CALL_BEGIN] =
        "INSERT INTO calls(work_key, what, started) VALUES (?1, ?2, " SQL_NOW
        ")",
    [ST_CALL_END] =
        "UPDATE calls SET ended = " SQL_NOW ", outcome = ?2"
        " WHERE id = ?1 AND ended IS NULL",
    [ST_CALL_ENDED] = "SELECT ended FROM calls WHERE id = ?1",
    [ST_CALLS_IN_DOUBT] = "SELECT count(*) FROM calls WHERE ended IS NULL",
    [ST_CALLS_SETTLE] =
        "UPDATE calls SET ended = " SQL_NOW ", outcome = ?1"
        " WHERE ended IS NULL",
};

/* --- errors -------------------------------------------------------------- */

ftsb_status store_status_(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return FTSB_OK;
    case SQLITE_NOMEM:
        return FTSB_E_NOMEM;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PROTOCOL:
        return FTSB_E_IO;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
        return FTSB_E_FORMAT;
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
        return FTSB_E_INVALID;
    default:
        return FTSB_E_INTERNAL;
    }
}

/* What to do about a failure, or "" when there is nothing useful to say. */
static void hint_for(int rc, const char *file, char *out, size_t size)
{
    switch (rc & 0xff) {
    case SQLITE_CORRUPT:
        snprintf(out, size,
                 "; '%s' is damaged: move it away (keep it to investigate) "
                 "and run again to start fresh, or use another --store",
                 file);
        break;
    case SQLITE_NOTADB:
        snprintf(out, size,
                 "; '%s' is not an ftsb store: move it away to start "
                 "fresh, or use another --store", file);
        break;
    case SQLITE_FULL:
        snprintf(out, size,
                 "; free some disk space and run again (committed work is "
                 "kept)");
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        snprintf(out, size,
                 "; another process is writing to '%s': wait for it, or "
                 "use another --store", file);
        break;
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
        snprintf(out, size,
                 "; check that '%s' and its folder exist and are writable",
                 file);
        break;
    case SQLITE_IOERR:
        snprintf(out, size, "; check the disk that holds '%s'", file);
        break;
    default:
        out[0] = '\0';
    }
}

ftsb_status store_dberr_(struct store *s, int rc, const char *file,
                         struct err *err, const char *fmt, ...)
{
    char what[768], hint[768];
    va_list ap;

    if (!err)
        return store_status_(rc) ? store_status_(rc) : FTSB_E_INTERNAL;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    hint_for(rc, file ? file : s->path, hint, sizeof hint);
    /* A failed step leaves its message on the handle; after a successful
     * call (rc passed by us) errstr describes rc instead. */
    return err_set(err, store_status_(rc) ? store_status_(rc)
                                          : FTSB_E_INTERNAL,
                   "%s: %s%s", what,
                   s->db && sqlite3_errcode(s->db) == rc
                       ? sqlite3_errmsg(s->db)
                       : sqlite3_errstr(rc),
                   hint);
}

/* --- statements and binding ---------------------------------------------- */

ftsb_status store_prep_(struct store *s, enum store_stmt_id id,
                        sqlite3_stmt **st, struct err *err)
{
    int rc;

    if (!s->st[id]) {
        rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1,
                                SQLITE_PREPARE_PERSISTENT, &s->st[id], NULL);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(s->st[id]);
            s->st[id] = NULL;
            *st = NULL;
            return store_dberr_(s, rc, NULL, err,
                                "cannot prepare a query on '%s'", s->path);
        }
    }
    *st = s->st[id];
    return FTSB_OK;
}

void store_bind_str_(sqlite3_stmt *st, int i, const char *v, int *rc)
{
    if (*rc != SQLITE_OK)
        return;
    if (!v)
        *rc = sqlite3_bind_null(st, i);
    else
        *rc = sqlite3_bind_text64(st, i, v, strlen(v), SQLITE_STATIC,
                                  SQLITE_UTF8);
}

void store_bind_i64_(sqlite3_stmt *st, int i, int64_t v, int *rc)
{
    if (*rc == SQLITE_OK)
        *rc = sqlite3_bind_int64(st, i, v);
}

void store_bind_real_(sqlite3_stmt *st, int i, double v, int *rc)
{
    if (*rc != SQLITE_OK)
        return;
    if (v != v)
        *rc = sqlite3_bind_null(st, i);
    else
        *rc = sqlite3_bind_double(st, i, v);
}

int store_step_done_(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW) /* a write returns no rows; drain defensively */
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            ;
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    sqlite3_reset(st);
    return rc;
}

int store_exec_(sqlite3_stmt *st, int bind_rc)
{
    if (bind_rc != SQLITE_OK) {
        sqlite3_reset(st);
        return bind_rc;
    }
    return store_step_done_(st);
}

ftsb_status store_col_text_(sqlite3_stmt *st, int col, struct strbuf *sb,
                            ptrdiff_t *off)
{
    const unsigned char *t;
    int n;

    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        *off = -1;
        return FTSB_OK;
    }
    t = sqlite3_column_text(st, col);
    n = sqlite3_column_bytes(st, col);
    if (!t)
        return FTSB_E_NOMEM; /* a non-NULL value that could not be read */
    *off = (ptrdiff_t)sb->len;
    if (strbuf_add(sb, t, (size_t)n) || strbuf_addch(sb, '\0'))
        return FTSB_E_NOMEM;
    return FTSB_OK;
}

int store_key_valid_(const char *key)
{
    return sha256_is_hex(key);
}

/* Runs a cached statement that takes no parameters and returns no rows. */
static ftsb_status run_simple(struct store *s, enum store_stmt_id id,
                              struct err *err, const char *what)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc;

    if ((ret = store_prep_(s, id, &st, err)))
        return ret;
    rc = store_step_done_(st);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err, "cannot %s in '%s'", what,
                            s->path);
    return FTSB_OK;
}

/* --- transactions -------------------------------------------------------- */

ftsb_status store_begin(struct store *s, struct err *err)
{
    if (!sqlite3_get_autocommit(s->db))
        return err_set(err, FTSB_E_INTERNAL,
                       "cannot begin a transaction in '%s': one is already "
                       "open (a store_begin without its commit?)", s->path);
    return run_simple(s, ST_BEGIN, err, "begin a transaction");
}

ftsb_status store_commit(struct store *s, struct err *err)
{
    if (sqlite3_get_autocommit(s->db))
        return err_set(err, FTSB_E_INTERNAL,
                       "cannot commit in '%s': no transaction is open (it "
                       "was never begun, or a failed write ended it)",
                       s->path);
    return run_simple(s, ST_COMMIT, err, "commit");
}

ftsb_status store_rollback(struct store *s)
{
    if (!s || sqlite3_get_autocommit(s->db))
        return FTSB_OK;
    return run_simple(s, ST_ROLLBACK, NULL, "roll back");
}

int store_in_transaction(const struct store *s)
{
    return !sqlite3_get_autocommit(s->db);
}

enum { TX_OWN = 1, TX_SAVEPOINT = 2 };

ftsb_status store_tx_enter_(struct store *s, int *mode, struct err *err)
{
    if (sqlite3_get_autocommit(s->db)) {
        *mode = TX_OWN;
        return run_simple(s, ST_BEGIN, err, "begin a transaction");
    }
    *mode = TX_SAVEPOINT;
    return run_simple(s, ST_SAVEPOINT, err, "open a savepoint");
}

ftsb_status store_tx_leave_(struct store *s, int mode, ftsb_status rc,
                            struct err *err)
{
    if (rc == FTSB_OK) {
        if (mode == TX_OWN)
            rc = run_simple(s, ST_COMMIT, err, "commit");
        else
            rc = run_simple(s, ST_RELEASE, err, "release a savepoint");
        if (rc == FTSB_OK)
            return FTSB_OK;
        /* fall through: undo what the failed commit left open */
    }
    if (mode == TX_OWN) {
        if (!sqlite3_get_autocommit(s->db))
            run_simple(s, ST_ROLLBACK, NULL, "roll back");
    } else if (!sqlite3_get_autocommit(s->db)) {
        run_simple(s, ST_ROLLBACK_TO, NULL, "roll back a savepoint");
        run_simple(s, ST_RELEASE, NULL, "release a savepoint");
    }
    return rc;
}

/* --- shards -------------------------------------------------------------- */

/* A parsed shard "I/N". */
struct shard {
    uint32_t i, n;
};

/* Parses a decimal in [1, 10^9] without sign or leading zero; returns the
 * end, or NULL. */
static const char *parse_count(const char *p, uint32_t *out)
{
    uint32_t v = 0;
    int digits = 0;

    if (*p < '1' || *p > '9')
        return NULL;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (++digits > 9)
            return NULL;
        v = v * 10 + (uint32_t)(*p - '0');
    }
    *out = v;
    return p;
}

/* Parses "I/N" at p, ending at stop (',' or NUL); returns the end or NULL. */
static const char *parse_shard(const char *p, struct shard *sh)
{
    if (!(p = parse_count(p, &sh->i)) || *p++ != '/' ||
        !(p = parse_count(p, &sh->n)) || sh->i > sh->n)
        return NULL;
    return p;
}

int store_shard_valid(const char *shard)
{
    struct shard sh;
    const char *end;

    if (!shard || !*shard)
        return 1;
    end = parse_shard(shard, &sh);
    return end && *end == '\0';
}

/* Parses a list "I/N,J/M,..." into a newly allocated array; "" is the
 * whole benchmark (*whole = 1).  Returns 0, -1 malformed, -2 no memory. */
static int parse_shard_list(const char *text, struct shard **out, size_t *n,
                            int *whole)
{
    size_t cap = 1;
    const char *p;

    *out = NULL;
    *n = 0;
    *whole = !text || !*text;
    if (*whole)
        return 0;
    for (p = text; *p; p++)
        cap += *p == ',';
    if (!(*out = malloc(cap * sizeof **out)))
        return -2;
    for (p = text;;) {
        if (!(p = parse_shard(p, &(*out)[*n])))
            goto bad;
        (*n)++;
        if (!*p)
            return 0;
        if (*p++ != ',')
            goto bad;
    }
bad:
    free(*out);
    *out = NULL;
    *n = 0;
    return -1;
}

static int shard_cmp(const void *a, const void *b)
{
    const struct shard *x = a, *y = b;

    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * The union of two shard lists, canonical: sorted by N then I, without
 * duplicates, and "" when one side is the whole benchmark or when all N
 * shards of some N are present (together they cover every index).
 * Returns 0, -1 when a list is malformed, -2 out of memory.
 */
static int shard_union(const char *a, const char *b, struct strbuf *out)
{
    struct shard *sa, *sb, *all = NULL;
    size_t na, nb, n = 0;
    int wa, wb, rc;

    strbuf_reset(out);
    if ((rc = parse_shard_list(a, &sa, &na, &wa)))
        return rc;
    if ((rc = parse_shard_list(b, &sb, &nb, &wb))) {
        free(sa);
        return rc;
    }
    if (wa || wb)
        goto done; /* the whole benchmark absorbs any part of it */
    if (!(all = malloc((na + nb) * sizeof *all))) {
        rc = -2;
        goto done;
    }
    memcpy(all, sa, na * sizeof *all);
    memcpy(all + na, sb, nb * sizeof *all);
    qsort(all, na + nb, sizeof *all, shard_cmp);
    for (size_t k = 0; k < na + nb; k++)
        if (n == 0 || shard_cmp(&all[n - 1], &all[k]) != 0)
            all[n++] = all[k];
    /* I ranges over 1..N, so N distinct shards of N cover everything. */
    for (size_t k = 0, run; k < n; k += run) {
        for (run = 1; k + run < n && all[k + run].n == all[k].n; run++)
            ;
        if (run == all[k].n)
            goto done;
    }
    for (size_t k = 0; k < n; k++)
        if (strbuf_addf(out, "%s%u/%u", k ? "," : "", (unsigned)all[k].i,
                        (unsigned)all[k].n)) {
            rc = -2;
            break;
        }
done:
    if (rc == 0 && out->len && (wa || wb))
        strbuf_reset(out);
    free(all);
    free(sa);
    free(sb);
    return rc;
}

/* SQL: ftsb_shard_union(a, b), for run_open and merging. */
static void sql_shard_union(sqlite3_context *ctx, int argc,
                            sqlite3_value **argv)
{
    struct strbuf sb = STRBUF_INIT;
    const char *a = (const char *)sqlite3_value_text(argv[0]);
    const char *b = (const char *)sqlite3_value_text(argv[1]);
    int rc = shard_union(a, b, &sb);

    (void)argc;
    if (rc == -2)
        sqlite3_result_error_nomem(ctx);
    else if (rc)
        sqlite3_result_error(ctx, "malformed shard list in a run", -1);
    else
        sqlite3_result_text(ctx, sb.buf, (int)sb.len, SQLITE_TRANSIENT);
    strbuf_release(&sb);
}

int store_register_functions_(sqlite3 *db)
{
    return sqlite3_create_function_v2(
        db, "ftsb_shard_union", 2,
        SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
        sql_shard_union, NULL, NULL, NULL);
}

/* --- opening ------------------------------------------------------------- */

/* What an existing file holds, as far as the schema goes. */
enum schema_state { SCHEMA_EMPTY, SCHEMA_OK };

/* Reads the schema version and refuses what this build cannot use. */
static ftsb_status check_schema(struct store *s, enum schema_state *state,
                                struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc, n_objects = 0, has_meta = 0;
    long long version = 0;
    char vtext[64] = "";
    ftsb_status ret = FTSB_OK;

    /* The first read of the file: this is where a file that is not SQLite
     * or is damaged shows. */
    rc = sqlite3_prepare_v2(
        s->db,
        "SELECT count(*), count(*) FILTER (WHERE type = 'table'"
        " AND name = 'meta') FROM sqlite_schema", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        n_objects = sqlite3_column_int(st, 0);
        has_meta = sqlite3_column_int(st, 1);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err, "cannot read store '%s'",
                            s->path);
    if (!has_meta) {
        if (n_objects == 0) {
            *state = SCHEMA_EMPTY;
            return FTSB_OK;
        }
        return err_set(err, FTSB_E_FORMAT,
                       "cannot use '%s' as a store: it is an SQLite database"
                       " but not an ftsb store (it has no meta table); use "
                       "another --store", s->path);
    }
    rc = sqlite3_prepare_v2(s->db,
                            "SELECT value FROM meta"
                            " WHERE key = 'schema_version'",
                            -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);

        snprintf(vtext, sizeof vtext, "%s", t ? t : "");
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK; /* no version: reported below */
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot read the schema version of '%s'",
                            s->path);
    {
        char *end;

        errno = 0;
        version = strtoll(vtext, &end, 10);
        if (!vtext[0] || *end || errno || version < 1)
            ret = err_set(err, FTSB_E_FORMAT,
                          "cannot use '%s' as a store: its schema version "
                          "'%s' is not valid (damaged, or not an ftsb "
                          "store); move it away to start fresh, or use "
                          "another --store", s->path, vtext);
    }
    if (ret)
        return ret;
    if (version > STORE_SCHEMA_VERSION)
        return err_set(err, FTSB_E_FORMAT,
                       "%s was written by a newer ftsb (schema %lld, this "
                       "build reads up to %d); upgrade ftsb or use another "
                       "--store", s->path, version, STORE_SCHEMA_VERSION);
    /* Older schemas are migrated here when there are any; version 1 is
     * the first, so nothing is older yet. */
    *state = SCHEMA_OK;
    return FTSB_OK;
}

/* Creates the schema in an empty file, in one transaction, unless another
 * process created it meanwhile (then its schema is checked instead). */
static ftsb_status create_schema(struct store *s, struct err *err)
{
    enum schema_state state;
    char *emsg = NULL, sql[256];
    ftsb_status ret;
    int rc;

    if ((ret = store_begin(s, err)))
        return ret;
    if ((ret = check_schema(s, &state, err)))
        goto fail;
    if (state == SCHEMA_OK)
        return store_commit(s, err);
    rc = sqlite3_exec(s->db, schema_sql, NULL, NULL, &emsg);
    if (rc == SQLITE_OK) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO meta(key, value) VALUES"
                 " ('schema_version', '%d'), ('created_by', 'ftsb %s'),"
                 " ('created', %s);"
                 " PRAGMA application_id = %d;",
                 STORE_SCHEMA_VERSION, FTSB_VERSION, SQL_NOW,
                 STORE_APPLICATION_ID);
        sqlite3_free(emsg);
        emsg = NULL;
        rc = sqlite3_exec(s->db, sql, NULL, NULL, &emsg);
    }
    sqlite3_free(emsg);
    if (rc != SQLITE_OK) {
        ret = store_dberr_(s, rc, NULL, err,
                           "cannot create the tables of store '%s'",
                           s->path);
        goto fail;
    }
    return store_commit(s, err);
fail:
    store_rollback(s);
    return ret;
}

/* Sets the connection's pragmas; WAL must take, or the store is not safe
 * against kills the way the rest of the code assumes. */
static ftsb_status set_pragmas(struct store *s, struct err *err)
{
    sqlite3_stmt *st = NULL;
    char mode[16] = "";
    char *emsg = NULL;
    int rc;

    rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st,
                            NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);

        snprintf(mode, sizeof mode, "%s", t ? t : "");
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot switch store '%s' to WAL mode", s->path);
    if (strcmp(mode, "wal") != 0)
        return err_set(err, FTSB_E_IO,
                       "cannot switch store '%s' to WAL mode (SQLite kept "
                       "'%s'); put the store on a local file system",
                       s->path, mode);
    /* synchronous=FULL: a commit survives power loss too, so that the
     * ledger never forgets a paid call.  foreign_keys: records need their
     * run.  trusted_schema=OFF: a crafted file cannot make us run
     * functions through its triggers or views.  cell_size_check: damaged
     * pages are reported instead of read. */
    rc = sqlite3_exec(s->db,
                      "PRAGMA synchronous = FULL;"
                      "PRAGMA foreign_keys = ON;"
                      "PRAGMA trusted_schema = OFF;"
                      "PRAGMA cell_size_check = ON;",
                      NULL, NULL, &emsg);
    sqlite3_free(emsg);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot configure store '%s'", s->path);
    return FTSB_OK;
}

ftsb_status store_open(const char *path, struct store **out,
                       struct err *err)
{
    struct store *s;
    struct strbuf name = STRBUF_INIT;
    enum schema_state state;
    ftsb_status ret;
    int rc;

    *out = NULL;
    if (!path || !*path)
        return err_set(err, FTSB_E_INVALID,
                       "cannot open the store: its path is empty");
    if (!(s = calloc(1, sizeof *s)) || !(s->path = xstrdup_or_null(path))) {
        free(s);
        return err_set(err, FTSB_E_NOMEM, "cannot open store '%s': out of "
                       "memory", path);
    }
    /* URI names are on for attaching merge sources read-only; keep a
     * plain path that happens to start with "file:" a plain path. */
    if (strncmp(path, "file:", 5) == 0 ? strbuf_addf(&name, "./%s", path)
                                       : strbuf_addstr(&name, path)) {
        ret = err_set(err, FTSB_E_NOMEM,
                      "cannot open store '%s': out of memory", path);
        goto fail;
    }
    rc = sqlite3_open_v2(name.buf, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI |
                             SQLITE_OPEN_EXRESCODE,
                         NULL);
    strbuf_release(&name);
    if (rc != SQLITE_OK) {
        ret = store_dberr_(s, rc, NULL, err, "cannot open store '%s'",
                           path);
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    if ((rc = store_register_functions_(s->db)) != SQLITE_OK) {
        ret = store_dberr_(s, rc, NULL, err, "cannot open store '%s'",
                           path);
        goto fail;
    }
    /* Check before changing anything: a newer store is left untouched. */
    if ((ret = check_schema(s, &state, err)) || (ret = set_pragmas(s, err)))
        goto fail;
    if (state == SCHEMA_EMPTY && (ret = create_schema(s, err)))
        goto fail;
    *out = s;
    return FTSB_OK;
fail:
    strbuf_release(&name);
    store_close(s);
    return ret;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(s->st[i]);
    if (s->db) {
        if (!sqlite3_get_autocommit(s->db))
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        /* _v2: a cursor left open defers the close instead of leaking. */
        sqlite3_close_v2(s->db);
    }
    free(s->path);
    free(s);
}

const char *store_path(const struct store *s)
{
    return s->path;
}

/* --- runs ---------------------------------------------------------------- */

ftsb_status store_run_open(struct store *s, const char *name,
                           const char *config_key, const char *shard,
                           const char *provenance_json, int64_t *run_id,
                           struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc = SQLITE_OK, mode, found = 0, same_key = 0;

    if (!name || !*name || !config_key || !*config_key)
        return err_set(err, FTSB_E_INVALID,
                       "cannot open a run in '%s': its name and "
                       "configuration key must not be empty", s->path);
    if (!shard)
        shard = "";
    if (!store_shard_valid(shard))
        return err_set(err, FTSB_E_INVALID,
                       "cannot open run '%s': invalid shard '%s'; expected "
                       "I/N with 1 <= I <= N, or nothing for the whole "
                       "benchmark", name, shard);
    if ((ret = store_tx_enter_(s, &mode, err)))
        return ret;
    if ((ret = store_prep_(s, ST_RUN_FIND, &st, err)))
        goto out;
    store_bind_str_(st, 1, name, &rc);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 1);

        found = 1;
        *run_id = sqlite3_column_int64(st, 0);
        same_key = key && strcmp(key, config_key) == 0;
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_OK) {
        ret = store_dberr_(s, rc, NULL, err,
                           "cannot look run '%s' up in '%s'", name, s->path);
        goto out;
    }
    if (found && !same_key) {
        ret = err_set(err, FTSB_E_INVALID,
                      "run '%s' in %s was made with another configuration; "
                      "use another run name, or start fresh with another "
                      "--store (or delete %s)", name, s->path, s->path);
        goto out;
    }
    if ((ret = store_prep_(s, found ? ST_RUN_RESUME : ST_RUN_INSERT, &st,
                           err)))
        goto out;
    if (found) {
        store_bind_i64_(st, 1, *run_id, &rc);
        store_bind_str_(st, 2, shard, &rc);
    } else {
        store_bind_str_(st, 1, name, &rc);
        store_bind_str_(st, 2, config_key, &rc);
        store_bind_str_(st, 3, shard, &rc);
        store_bind_str_(st, 4, provenance_json, &rc);
    }
    rc = store_exec_(st, rc);
    if (rc != SQLITE_OK) {
        ret = store_dberr_(s, rc, NULL, err, "cannot %s run '%s' in '%s'",
                           found ? "resume" : "create", name, s->path);
        goto out;
    }
    if (!found)
        *run_id = sqlite3_last_insert_rowid(s->db);
    ret = FTSB_OK;
out:
    return store_tx_leave_(s, mode, ret, err);
}

ftsb_status store_run_finish(struct store *s, int64_t run_id,
                             struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc = SQLITE_OK;

    if ((ret = store_prep_(s, ST_RUN_FINISH, &st, err)))
        return ret;
    store_bind_i64_(st, 1, run_id, &rc);
    rc = store_exec_(st, rc);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot mark run %lld finished in '%s'",
                            (long long)run_id, s->path);
    if (sqlite3_changes(s->db) == 0)
        return err_set(err, FTSB_E_NOT_FOUND,
                       "cannot mark run %lld finished: '%s' has no such run",
                       (long long)run_id, s->path);
    return FTSB_OK;
}

ftsb_status store_run_find(struct store *s, const char *name,
                           int64_t *run_id, int *found, struct err *err)
{
    sqlite3_stmt *st;
    ftsb_status ret;
    int rc = SQLITE_OK;

    *found = 0;
    if ((ret = store_prep_(s, ST_RUN_FIND, &st, err)))
        return ret;
    store_bind_str_(st, 1, name, &rc);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *run_id = sqlite3_column_int64(st, 0);
        *found = 1;
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, NULL, err,
                            "cannot look run '%s' up in '%s'",
                            name ? name : "", s->path);
    return FTSB_OK;
}

ftsb_status store_runs_list(struct store *s, store_run_fn fn, void *ud,
                            struct err *err)
{
    sqlite3_stmt *st = NULL;
    ftsb_status ret = FTSB_OK;
    int rc;

    rc = sqlite3_prepare_v2(
        s->db,
        "SELECT id, name, config_key, shard, provenance, created, finished,"
        " (SELECT count(*) FROM records r WHERE r.run_id = runs.id)"
        " FROM runs ORDER BY id", -1, &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_run_info run = {
            .id = sqlite3_column_int64(st, 0),
            .name = (const char *)sqlite3_column_text(st, 1),
            .config_key = (const char *)sqlite3_column_text(st, 2),
            .shard = (const char *)sqlite3_column_text(st, 3),
            .provenance = (const char *)sqlite3_column_text(st, 4),
            .created = (const char *)sqlite3_column_text(st, 5),
            .finished = (const char *)sqlite3_column_text(st, 6),
            .n_records = sqlite3_column_int64(st, 7),
        };

        if (!run.name || !run.config_key || !run.shard || !run.created) {
            rc = SQLITE_NOMEM; /* NOT NULL columns: only OOM gives NULL */
            break;
        }
        if ((ret = fn(ud, &run, err)))
            break;
        rc = SQLITE_OK;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = store_dberr_(s, rc, NULL, err, "cannot list the runs of '%s'",
                           s->path);
    sqlite3_finalize(st);
    return ret;
}
