/*
 * store_merge.c - merging another store file into this one, e.g. the
 * stores of the shards of an evaluation run on several machines.  The
 * source is attached read-only and copied with INSERT ... SELECT in one
 * transaction, after checks that refuse what cannot be merged (runs of the
 * same name made with other configurations, records that disagree): the
 * destination either receives everything or is left as it was.
 */
#include "../ftsb_setup.h"

#include <sys/stat.h>

#include "store_int.h"

/* A clash found by one of the checks: a run, a number (idx or step) and a
 * second name (judge or series). */
struct clash {
    int found;
    char run[256];
    long long num;
    char other[256];
};

/* The URI that attaches path read-only: a read-only source can be neither
 * created (by a typo in its name) nor modified by the merge. */
static ftsb_status ro_uri(const char *path, struct strbuf *out)
{
    static const char hex[] = "0123456789ABCDEF";

    if (strbuf_addstr(out, "file:"))
        return FTSB_E_NOMEM;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("/-._~", *p);

        if (plain ? strbuf_addch(out, *p)
                  : strbuf_addf(out, "%%%c%c", hex[*p >> 4], hex[*p & 15]))
            return FTSB_E_NOMEM;
    }
    return strbuf_addstr(out, "?mode=ro");
}

/* Runs SQL that takes no parameters and returns no rows. */
static int exec_sql(struct store *s, const char *sql)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

/* Runs a check query; a first row (run, number, other) is a clash. */
static int find_clash(struct store *s, const char *sql, struct clash *c)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

    c->found = 0;
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *run = (const char *)sqlite3_column_text(st, 0);
        const char *other = (const char *)sqlite3_column_text(st, 2);

        c->found = 1;
        snprintf(c->run, sizeof c->run, "%s", run ? run : "");
        c->num = sqlite3_column_int64(st, 1);
        snprintf(c->other, sizeof c->other, "%s", other ? other : "");
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Checks that src is an ftsb store of this build's schema. */
static ftsb_status check_source(struct store *s, const char *src,
                                struct err *err)
{
    sqlite3_stmt *st = NULL;
    long long version = -1;
    int rc, has_meta = 0;

    rc = sqlite3_prepare_v2(
        s->db,
        "SELECT count(*) FROM src.sqlite_schema"
        " WHERE type = 'table' AND name = 'meta'", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        has_meta = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_OK && has_meta) {
        rc = sqlite3_prepare_v2(s->db,
                                "SELECT CAST(value AS INTEGER) FROM src.meta"
                                " WHERE key = 'schema_version'",
                                -1, &st, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
            version = sqlite3_column_int64(st, 0);
        if (rc == SQLITE_ROW || rc == SQLITE_DONE)
            rc = SQLITE_OK;
        sqlite3_finalize(st);
    }
    if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
        return err_set(err, FTSB_E_FORMAT,
                       "cannot merge '%s' into '%s': it is not an ftsb store"
                       " or is damaged (%s)", src, s->path,
                       sqlite3_errmsg(s->db));
    if (rc != SQLITE_OK)
        return store_dberr_(s, rc, src, err, "cannot merge '%s' into '%s'",
                            src, s->path);
    if (!has_meta || version < 1)
        return err_set(err, FTSB_E_FORMAT,
                       "cannot merge '%s' into '%s': it is not an ftsb store",
                       src, s->path);
    if (version > STORE_SCHEMA_VERSION)
        return err_set(err, FTSB_E_FORMAT,
                       "cannot merge '%s' into '%s': %s was written by a "
                       "newer ftsb (schema %lld, this build reads up to %d);"
                       " upgrade ftsb", src, s->path, src, version,
                       STORE_SCHEMA_VERSION);
    if (version < STORE_SCHEMA_VERSION)
        return err_set(err, FTSB_E_FORMAT,
                       "cannot merge '%s' into '%s': its schema %lld is "
                       "older; open it once with this ftsb to upgrade it",
                       src, s->path, version);
    return FTSB_OK;
}

/* The checks, in the order their failures are reported. */
enum clash_kind { CLASH_KEY, CLASH_RECORD, CLASH_VERDICT, CLASH_SERIES };
static const char *const checks[] = {
    [CLASH_KEY] =
        "SELECT s.name, 0, NULL FROM src.runs s"
        " JOIN main.runs d ON d.name = s.name"
        " WHERE d.config_key <> s.config_key ORDER BY s.name LIMIT 1",
    [CLASH_RECORD] =
        "SELECT s.name, r.idx, NULL FROM src.records r"
        " JOIN src.runs s ON s.id = r.run_id"
        " JOIN main.runs d ON d.name = s.name"
        " JOIN main.records m ON m.run_id = d.id AND m.idx = r.idx"
        " WHERE m.item_id IS NOT r.item_id"
        " OR m.instruction IS NOT r.instruction"
        " OR m.category IS NOT r.category OR m.chat_json IS NOT r.chat_json"
        " OR m.gen_state IS NOT r.gen_state OR m.response IS NOT r.response"
        " OR m.finish IS NOT r.finish OR m.error IS NOT r.error"
        " OR m.n_prompt_tokens IS NOT r.n_prompt_tokens"
        " OR m.n_completion_tokens IS NOT r.n_completion_tokens"
        " OR m.gen_key IS NOT r.gen_key"
        " ORDER BY s.name, r.idx LIMIT 1",
    [CLASH_VERDICT] =
        "SELECT s.name, v.idx, v.judge FROM src.record_verdicts v"
        " JOIN src.runs s ON s.id = v.run_id"
        " JOIN main.runs d ON d.name = s.name"
        " JOIN main.record_verdicts m"
        "   ON m.run_id = d.id AND m.idx = v.idx AND m.judge = v.judge"
        " WHERE m.state IS NOT v.state OR m.refused IS NOT v.refused"
        " OR m.score IS NOT v.score OR m.rationale IS NOT v.rationale"
        " OR m.error IS NOT v.error"
        " ORDER BY s.name, v.idx, v.judge LIMIT 1",
    [CLASH_SERIES] =
        "SELECT s.name, x.step, x.name FROM src.series x"
        " JOIN src.runs s ON s.id = x.run_id"
        " JOIN main.runs d ON d.name = s.name"
        " JOIN main.series m"
        "   ON m.run_id = d.id AND m.name = x.name AND m.step = x.step"
        " WHERE m.value IS NOT x.value"
        " ORDER BY s.name, x.name, x.step LIMIT 1",
};

/* What a clash found by check kind means, and what to do. */
static void clash_text(enum clash_kind kind, const struct clash *c,
                       char *out, size_t size)
{
    switch (kind) {
    case CLASH_KEY:
        snprintf(out, size, "run '%s' was made with another configuration "
                 "in each store; merge only stores of the same experiment",
                 c->run);
        break;
    case CLASH_RECORD:
        snprintf(out, size, "record %lld of run '%s' differs between the "
                 "two stores; merge only stores whose shards hold disjoint "
                 "(or identical) records", c->num, c->run);
        break;
    case CLASH_VERDICT:
        snprintf(out, size, "the verdict of judge '%s' on record %lld of "
                 "run '%s' differs between the two stores; merge only "
                 "stores whose shards hold disjoint (or identical) records",
                 c->other, c->num, c->run);
        break;
    case CLASH_SERIES:
        snprintf(out, size, "step %lld of series '%s' of run '%s' differs "
                 "between the two stores", c->num, c->other, c->run);
        break;
    }
}

/* The copy, once the checks passed.  merge_map maps each source run to
 * the destination's: is_new when the merge creates it, grown when the
 * merge adds records or verdicts to a run the destination had. */
static const char *const copy_sql[] = {
    "DROP TABLE IF EXISTS temp.merge_map",
    "CREATE TEMP TABLE merge_map (src_id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL, dst_id INTEGER, is_new INTEGER NOT NULL,"
    " grown INTEGER NOT NULL DEFAULT 0)",
    "INSERT INTO temp.merge_map(src_id, name, dst_id, is_new)"
    " SELECT s.id, s.name, d.id, d.id IS NULL FROM src.runs s"
    " LEFT JOIN main.runs d ON d.name = s.name",
    "UPDATE temp.merge_map SET grown = 1 WHERE NOT is_new AND ("
    " EXISTS (SELECT 1 FROM src.records r WHERE r.run_id = merge_map.src_id"
    "   AND NOT EXISTS (SELECT 1 FROM main.records m"
    "     WHERE m.run_id = merge_map.dst_id AND m.idx = r.idx))"
    " OR EXISTS (SELECT 1 FROM src.record_verdicts v"
    "   WHERE v.run_id = merge_map.src_id"
    "   AND NOT EXISTS (SELECT 1 FROM main.record_verdicts m"
    "     WHERE m.run_id = merge_map.dst_id AND m.idx = v.idx"
    "     AND m.judge = v.judge)))",
    "INSERT INTO main.runs(name, config_key, shard, provenance, created,"
    " finished) SELECT s.name, s.config_key, s.shard, s.provenance,"
    " s.created, s.finished FROM src.runs s"
    " JOIN temp.merge_map m ON m.src_id = s.id WHERE m.is_new ORDER BY s.id",
    "UPDATE temp.merge_map SET dst_id ="
    " (SELECT d.id FROM main.runs d WHERE d.name = merge_map.name)"
    " WHERE is_new",
    /* A run in both: the union of the shards; finished only if both
     * parts were (when the source added to it). */
    "UPDATE main.runs AS d SET shard = ftsb_shard_union(d.shard, s.shard),"
    " created = min(d.created, s.created),"
    " finished = CASE WHEN NOT m.grown THEN d.finished"
    "   WHEN d.finished IS NULL OR s.finished IS NULL THEN NULL"
    "   ELSE max(d.finished, s.finished) END"
    " FROM temp.merge_map m JOIN src.runs s ON s.id = m.src_id"
    " WHERE d.id = m.dst_id AND NOT m.is_new",
    "INSERT INTO main.records(run_id, idx, item_id, instruction, category,"
    " chat_json, gen_state, response, finish, error, n_prompt_tokens,"
    " n_completion_tokens, gen_key)"
    " SELECT m.dst_id, r.idx, r.item_id, r.instruction, r.category,"
    " r.chat_json, r.gen_state, r.response, r.finish, r.error,"
    " r.n_prompt_tokens, r.n_completion_tokens, r.gen_key"
    " FROM src.records r JOIN temp.merge_map m ON m.src_id = r.run_id"
    " WHERE true ON CONFLICT(run_id, idx) DO NOTHING",
    "INSERT INTO main.record_verdicts(run_id, idx, judge, state, refused,"
    " score, rationale, error)"
    " SELECT m.dst_id, v.idx, v.judge, v.state, v.refused, v.score,"
    " v.rationale, v.error"
    " FROM src.record_verdicts v JOIN temp.merge_map m"
    " ON m.src_id = v.run_id"
    " WHERE true ON CONFLICT(run_id, idx, judge) DO NOTHING",
    /* Metrics of a grown run described a part of it. */
    "DELETE FROM main.metrics WHERE run_id IN"
    " (SELECT dst_id FROM temp.merge_map WHERE grown)",
    "INSERT INTO main.metrics(run_id, name, category, value, ci_low,"
    " ci_high, n, n_errors)"
    " SELECT m.dst_id, x.name, x.category, x.value, x.ci_low, x.ci_high,"
    " x.n, x.n_errors FROM src.metrics x"
    " JOIN temp.merge_map m ON m.src_id = x.run_id"
    " WHERE m.is_new ORDER BY x.rowid",
    "INSERT INTO main.series(run_id, name, step, value)"
    " SELECT m.dst_id, x.name, x.step, x.value FROM src.series x"
    " JOIN temp.merge_map m ON m.src_id = x.run_id"
    " WHERE true ON CONFLICT(run_id, name, step) DO NOTHING",
    "INSERT INTO main.gen_cache(key, fingerprint, state, text, finish,"
    " error, n_prompt_tokens, n_completion_tokens, created)"
    " SELECT key, fingerprint, state, text, finish, error, n_prompt_tokens,"
    " n_completion_tokens, created FROM src.gen_cache"
    " WHERE true ON CONFLICT(key) DO NOTHING",
    "INSERT INTO main.verdict_cache(key, fingerprint, state, refused, score,"
    " rationale, created)"
    " SELECT key, fingerprint, state, refused, score, rationale, created"
    " FROM src.verdict_cache WHERE true ON CONFLICT(key) DO NOTHING",
    "INSERT INTO main.kv(ns, key, value) SELECT ns, key, value FROM src.kv"
    " WHERE true ON CONFLICT(ns, key) DO NOTHING",
    "INSERT INTO main.calls(work_key, what, started, ended, outcome)"
    " SELECT c.work_key, c.what, c.started, c.ended, c.outcome"
    " FROM src.calls c WHERE NOT EXISTS (SELECT 1 FROM main.calls d"
    "   WHERE d.work_key = c.work_key AND d.what = c.what"
    "   AND d.started = c.started AND d.ended IS c.ended"
    "   AND d.outcome IS c.outcome) ORDER BY c.id",
    "DROP TABLE temp.merge_map",
};

/* Everything between ATTACH and DETACH, in one transaction. */
static ftsb_status merge_attached(struct store *s, const char *src,
                                  struct err *err)
{
    struct clash c;
    ftsb_status ret;
    int rc;

    if ((ret = check_source(s, src, err)) || (ret = store_begin(s, err)))
        return ret;
    for (size_t i = 0; i < ARRAY_LEN(checks); i++) {
        char what[768];

        if ((rc = find_clash(s, checks[i], &c)) != SQLITE_OK) {
            ret = store_dberr_(s, rc, NULL, err,
                               "cannot merge '%s' into '%s'", src, s->path);
            goto fail;
        }
        if (c.found) {
            clash_text((enum clash_kind)i, &c, what, sizeof what);
            ret = err_set(err, FTSB_E_FORMAT, "cannot merge '%s' into '%s':"
                          " %s", src, s->path, what);
            goto fail;
        }
    }
    for (size_t i = 0; i < ARRAY_LEN(copy_sql); i++)
        if ((rc = exec_sql(s, copy_sql[i])) != SQLITE_OK) {
            ret = store_dberr_(s, rc, NULL, err,
                               "cannot merge '%s' into '%s'", src, s->path);
            goto fail;
        }
    return store_commit(s, err);
fail:
    store_rollback(s);
    return ret;
}

ftsb_status store_merge(struct store *s, const char *src_path,
                        struct err *err)
{
    struct strbuf uri = STRBUF_INIT;
    struct stat src_st, dst_st;
    sqlite3_stmt *st = NULL;
    char *real = NULL;
    ftsb_status ret;
    int rc;

    if (store_in_transaction(s))
        return err_set(err, FTSB_E_INTERNAL,
                       "cannot merge '%s' into '%s' inside a transaction",
                       src_path ? src_path : "", s->path);
    if (!src_path || stat(src_path, &src_st) != 0)
        return err_set(err, FTSB_E_NOT_FOUND,
                       "cannot merge '%s' into '%s': %s",
                       src_path ? src_path : "", s->path, strerror(errno));
    if (!S_ISREG(src_st.st_mode))
        return err_set(err, FTSB_E_INVALID,
                       "cannot merge '%s' into '%s': not a regular file",
                       src_path, s->path);
    if (stat(s->path, &dst_st) == 0 && dst_st.st_dev == src_st.st_dev &&
        dst_st.st_ino == src_st.st_ino)
        return err_set(err, FTSB_E_INVALID,
                       "cannot merge '%s' into itself", src_path);
    /* An absolute path: "//x" must not read as a URI authority. */
    if (!(real = realpath(src_path, NULL)))
        return err_set(err, FTSB_E_IO, "cannot merge '%s' into '%s': %s",
                       src_path, s->path, strerror(errno));
    ret = ro_uri(real, &uri);
    free(real);
    if (ret) {
        strbuf_release(&uri);
        return err_set(err, ret, "cannot merge '%s' into '%s': out of "
                       "memory", src_path, s->path);
    }
    rc = sqlite3_prepare_v2(s->db, "ATTACH ?1 AS src", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text64(st, 1, uri.buf, uri.len, SQLITE_STATIC,
                                 SQLITE_UTF8);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_DONE)
        rc = SQLITE_OK;
    if (rc != SQLITE_OK)
        ret = store_dberr_(s, rc, src_path, err,
                           "cannot merge '%s' into '%s'", src_path, s->path);
    sqlite3_finalize(st);
    strbuf_release(&uri);
    if (rc != SQLITE_OK)
        return ret;
    ret = merge_attached(s, src_path, err);
    if ((rc = exec_sql(s, "DETACH DATABASE src")) != SQLITE_OK && !ret)
        ret = store_dberr_(s, rc, NULL, err,
                           "cannot detach '%s' from '%s' after merging",
                           src_path, s->path);
    return ret;
}
