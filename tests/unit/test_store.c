/*
 * test_store.c - the run store: schema creation and the files it refuses,
 * runs (resume, configuration mismatch, shards), the generation and
 * verdict caches (errors never cached), records with their verdicts,
 * metrics, series, the kv cache, the paid-call ledger, merging shard
 * stores, and survival of SIGKILL at random moments while writing.
 * Every test works in a fresh temporary folder.
 */
#include "ftsb_setup.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"
#include "test.h"
#include "util/sha256.h"

static char tmp_dir[64];

/* A path in the temporary folder (one of 16 rotating buffers: enough for
 * the paths one test holds at a time). */
static const char *tmp(const char *name)
{
    static char bufs[16][512];
    static int next;
    char *b = bufs[next++ % 16];

    snprintf(b, sizeof bufs[0], "%s/%s", tmp_dir, name);
    return b;
}

static void rm_tmp_dir(void)
{
    DIR *d = opendir(tmp_dir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlink(tmp(e->d_name));
    closedir(d);
    rmdir(tmp_dir);
}

/* A cache key for a short text. */
static const char *key_for(const char *text)
{
    static char bufs[4][SHA256_HEX_SIZE];
    static int next;
    char *b = bufs[next++ % 4];

    sha256_hex(text, strlen(text), b);
    return b;
}

static struct store *open_ok(const char *path)
{
    struct store *s = NULL;
    struct err err = {0};

    if (store_open(path, &s, &err) != FTSB_OK)
        printf("  store_open(%s): %s\n", path, err.msg);
    return s;
}

/* Runs SQL on the file directly, as another tool would. */
static void sql_exec(const char *path, const char *sql)
{
    sqlite3 *db;

    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* The first column of the first row, as text ("" when none). */
static const char *sql_text(const char *path, const char *sql)
{
    static char out[256];
    sqlite3 *db;
    sqlite3_stmt *st;

    out[0] = '\0';
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, sizeof out, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    CHECK(f != NULL);
    if (f) {
        CHECK_INT(fwrite(data, 1, len, f), len);
        fclose(f);
    }
}

/* --- opening ------------------------------------------------------------- */

TEST(store_creates_schema_and_reopens)
{
    const char *path = tmp("a.db");
    struct store *s = open_ok(path);
    struct strbuf v = STRBUF_INIT;
    struct err err = {0};
    int found = 0;

    CHECK(s != NULL);
    if (!s)
        return;
    CHECK_STR(store_path(s), path);
    CHECK_INT(store_kv_put(s, "t", "k", "value", 5, &err), FTSB_OK);
    store_close(s);
    CHECK_STR(sql_text(path, "PRAGMA journal_mode"), "wal");
    CHECK_STR(sql_text(path, "SELECT value FROM meta"
                             " WHERE key = 'schema_version'"), "1");
    CHECK_STR(sql_text(path, "PRAGMA application_id"), "1718907746");
    CHECK_STR(sql_text(path, "SELECT group_concat(name, ',') FROM"
                             " (SELECT name FROM sqlite_schema"
                             "  WHERE type = 'table' ORDER BY name)"),
              "calls,gen_cache,kv,meta,metrics,record_verdicts,records,"
              "runs,series,verdict_cache");
    s = open_ok(path);
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK_INT(store_kv_get(s, "t", "k", &v, &found, &err), FTSB_OK);
    CHECK_INT(found, 1);
    CHECK_STR(v.buf, "value");
    store_close(s);
    strbuf_release(&v);
}

TEST(store_refuses_newer_schema)
{
    const char *path = tmp("newer.db");
    struct store *s = open_ok(path);
    struct err err = {0};
    char want[512];

    store_close(s);
    sql_exec(path, "UPDATE meta SET value = '3'"
                   " WHERE key = 'schema_version'");
    s = (struct store *)1;
    CHECK_INT(store_open(path, &s, &err), FTSB_E_FORMAT);
    CHECK(s == NULL);
    snprintf(want, sizeof want,
             "%s was written by a newer ftsb (schema 3, this build reads up "
             "to 1); upgrade ftsb or use another --store", path);
    CHECK_STR(err.msg, want);
    /* The refused file is left as it was. */
    CHECK_STR(sql_text(path, "SELECT value FROM meta"
                             " WHERE key = 'schema_version'"), "3");
}

TEST(store_refuses_files_that_are_not_stores)
{
    const char *text = tmp("notes.txt"), *other = tmp("other.db");
    const char *damaged = tmp("damaged.db");
    static const char junk[] = "these are my notes, not a database\n";
    unsigned char garbage[8192];
    struct store *s;
    struct err err = {0};
    int fd;

    {
        char big[4096]; /* more than a page of text */

        for (size_t i = 0; i < sizeof big; i++)
            big[i] = junk[i % (sizeof junk - 1)];
        write_file(text, big, sizeof big);
    }
    CHECK_INT(store_open(text, &s, &err), FTSB_E_FORMAT);
    CHECK_CONTAINS(err.msg, text);
    CHECK_CONTAINS(err.msg, "file is not a database");
    CHECK_CONTAINS(err.msg, "move it away to start fresh");

    /* SQLite, but somebody else's database. */
    sql_exec(other, "CREATE TABLE songs (title TEXT)");
    CHECK_INT(store_open(other, &s, &err), FTSB_E_FORMAT);
    CHECK_CONTAINS(err.msg, other);
    CHECK_CONTAINS(err.msg, "not an ftsb store");

    /* A store whose pages after the first were overwritten. */
    s = open_ok(damaged);
    CHECK(s != NULL);
    for (int i = 0; s && i < 50; i++) {
        char k[16];

        snprintf(k, sizeof k, "k%d", i);
        store_kv_put(s, "ns", k, garbage, sizeof garbage, &err);
    }
    store_close(s);
    for (size_t i = 0; i < sizeof garbage; i++)
        garbage[i] = (unsigned char)(i * 131 + 7);
    fd = open(damaged, O_WRONLY);
    CHECK(fd >= 0);
    CHECK_INT(pwrite(fd, garbage, sizeof garbage, 4096), sizeof garbage);
    close(fd);
    err_clear(&err);
    if (store_open(damaged, &s, &err) == FTSB_OK) {
        /* The damage may only show when the damaged pages are read. */
        struct strbuf v = STRBUF_INIT;
        int found;

        CHECK(store_kv_get(s, "ns", "k1", &v, &found, &err) != FTSB_OK);
        strbuf_release(&v);
        store_close(s);
    }
    CHECK_INT(err.code, FTSB_E_FORMAT);
    CHECK_CONTAINS(err.msg, damaged);
    CHECK_CONTAINS(err.msg, "move it away");

    CHECK_INT(store_open(tmp("no/such/folder.db"), &s, &err), FTSB_E_IO);
    CHECK_CONTAINS(err.msg, "cannot open store");
    CHECK_CONTAINS(err.msg, "folder exist");
    CHECK_INT(store_open("", &s, &err), FTSB_E_INVALID);
}

/* --- transactions --------------------------------------------------------- */

TEST(store_transactions_group_writes)
{
    struct store *s = open_ok(tmp("tx.db"));
    struct strbuf v = STRBUF_INIT;
    struct err err = {0};
    int found = 1;

    if (!s)
        return;
    CHECK_INT(store_begin(s, &err), FTSB_OK);
    CHECK(store_in_transaction(s));
    CHECK_INT(store_begin(s, &err), FTSB_E_INTERNAL);
    CHECK_CONTAINS(err.msg, "already open");
    CHECK_INT(store_kv_put(s, "ns", "gone", "x", 1, &err), FTSB_OK);
    CHECK_INT(store_rollback(s), FTSB_OK);
    CHECK(!store_in_transaction(s));
    CHECK_INT(store_kv_get(s, "ns", "gone", &v, &found, &err), FTSB_OK);
    CHECK_INT(found, 0);
    CHECK_INT(store_commit(s, &err), FTSB_E_INTERNAL);
    CHECK_INT(store_rollback(s), FTSB_OK); /* none open: a no-op */
    CHECK_INT(store_begin(s, &err), FTSB_OK);
    CHECK_INT(store_kv_put(s, "ns", "kept", "y", 1, &err), FTSB_OK);
    CHECK_INT(store_commit(s, &err), FTSB_OK);
    CHECK_INT(store_kv_get(s, "ns", "kept", &v, &found, &err), FTSB_OK);
    CHECK_INT(found, 1);
    store_close(s);
    strbuf_release(&v);
}

/* --- runs ------------------------------------------------------------------ */

struct run_list {
    int n;
    char names[8][32], shards[8][64];
    int finished[8];
    int64_t n_records[8];
};

static ftsb_status collect_run(void *ud, const struct store_run_info *run,
                               struct err *err)
{
    struct run_list *l = ud;

    (void)err;
    if (l->n < 8) {
        snprintf(l->names[l->n], sizeof l->names[0], "%s", run->name);
        snprintf(l->shards[l->n], sizeof l->shards[0], "%s", run->shard);
        l->finished[l->n] = run->finished != NULL;
        l->n_records[l->n] = run->n_records;
    }
    l->n++;
    return FTSB_OK;
}

static struct run_list list_runs(struct store *s)
{
    struct run_list l = {0};
    struct err err = {0};

    CHECK_INT(store_runs_list(s, collect_run, &l, &err), FTSB_OK);
    return l;
}

TEST(store_runs_resume_and_refuse_other_configurations)
{
    const char *path = tmp("runs.db");
    struct store *s = open_ok(path);
    struct err err = {0};
    struct run_list l;
    int64_t id = 0, id2 = 0, id3 = 0;
    int found = 0;
    char want[512];

    if (!s)
        return;
    CHECK_INT(store_run_open(s, "before", "K1", "", "{\"v\":1}", &id, &err),
              FTSB_OK);
    CHECK_INT(store_run_open(s, "after", "K2", NULL, NULL, &id2, &err),
              FTSB_OK);
    CHECK(id != id2);
    CHECK_INT(store_run_finish(s, id, &err), FTSB_OK);
    l = list_runs(s);
    CHECK_INT(l.n, 2);
    CHECK_STR(l.names[0], "before");
    CHECK_INT(l.finished[0], 1);
    CHECK_INT(l.finished[1], 0);
    store_close(s);

    s = open_ok(path);
    if (!s)
        return;
    /* Same name and key: resumed, and in progress again. */
    CHECK_INT(store_run_open(s, "before", "K1", "", NULL, &id3, &err),
              FTSB_OK);
    CHECK_INT(id3, id);
    l = list_runs(s);
    CHECK_INT(l.finished[0], 0);
    CHECK_INT(store_run_find(s, "after", &id3, &found, &err), FTSB_OK);
    CHECK_INT(found, 1);
    CHECK_INT(id3, id2);
    CHECK_INT(store_run_find(s, "nope", &id3, &found, &err), FTSB_OK);
    CHECK_INT(found, 0);

    CHECK_INT(store_run_open(s, "before", "K9", "", NULL, &id3, &err),
              FTSB_E_INVALID);
    snprintf(want, sizeof want,
             "run 'before' in %s was made with another configuration; use "
             "another run name, or start fresh with another --store (or "
             "delete %s)", path, path);
    CHECK_STR(err.msg, want);
    CHECK_INT(store_run_finish(s, 999, &err), FTSB_E_NOT_FOUND);
    CHECK_INT(store_run_open(s, "", "K", "", NULL, &id3, &err),
              FTSB_E_INVALID);
    store_close(s);
}

TEST(store_runs_keep_the_union_of_their_shards)
{
    struct store *s = open_ok(tmp("shards.db"));
    struct err err = {0};
    struct run_list l;
    int64_t id;
    static const char *const bad[] = {"0/2", "3/2", "a/b", "1/2x", "1/",
                                      "/2", "01/2", "1/2,2/2", " 1/2"};

    if (!s)
        return;
    CHECK_INT(store_run_open(s, "r", "K", "3/4", NULL, &id, &err), FTSB_OK);
    CHECK_INT(store_run_open(s, "r", "K", "1/4", NULL, &id, &err), FTSB_OK);
    CHECK_INT(store_run_open(s, "r", "K", "3/4", NULL, &id, &err), FTSB_OK);
    l = list_runs(s);
    CHECK_STR(l.shards[0], "1/4,3/4");
    CHECK_INT(store_run_open(s, "r", "K", "2/4", NULL, &id, &err), FTSB_OK);
    CHECK_INT(store_run_open(s, "r", "K", "4/4", NULL, &id, &err), FTSB_OK);
    l = list_runs(s);
    CHECK_STR(l.shards[0], ""); /* all four: the whole benchmark */
    CHECK_INT(store_run_open(s, "w", "K", "", NULL, &id, &err), FTSB_OK);
    CHECK_INT(store_run_open(s, "w", "K", "1/2", NULL, &id, &err), FTSB_OK);
    l = list_runs(s);
    CHECK_STR(l.shards[1], "");
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        CHECK(!store_shard_valid(bad[i]));
        CHECK_INT(store_run_open(s, "x", "K", bad[i], NULL, &id, &err),
                  FTSB_E_INVALID);
    }
    CHECK_CONTAINS(err.msg, "invalid shard");
    CHECK(store_shard_valid("1/1") && store_shard_valid("") &&
          store_shard_valid(NULL) && store_shard_valid("12/345"));
    store_close(s);
}

/* --- caches ------------------------------------------------------------------ */

TEST(store_gen_cache_hits_misses_and_skips_errors)
{
    struct store *s = open_ok(tmp("gen.db"));
    struct strbuf text = STRBUF_INIT, finish = STRBUF_INIT;
    struct strbuf error = STRBUF_INIT;
    struct store_gen g = {0}, got;
    struct err err = {0};
    int found = 1;

    if (!s)
        return;
    CHECK_INT(store_gen_get(s, key_for("a"), &got, &text, &finish, &error,
                            &found, &err), FTSB_OK);
    CHECK_INT(found, 0);

    g.state = FTSB_GEN_OK;
    g.text = "Sure, here is a poem.";
    g.finish = "stop";
    g.n_prompt_tokens = 12;
    g.n_completion_tokens = 7;
    CHECK_INT(store_gen_put(s, key_for("a"), "model:abc", &g, &err),
              FTSB_OK);
    CHECK_INT(store_gen_get(s, key_for("a"), &got, &text, &finish, &error,
                            &found, &err), FTSB_OK);
    CHECK_INT(found, 1);
    CHECK_INT(got.state, FTSB_GEN_OK);
    CHECK_STR(got.text, "Sure, here is a poem.");
    CHECK_STR(got.finish, "stop");
    CHECK(got.error == NULL);
    CHECK_INT(got.n_prompt_tokens, 12);
    CHECK_INT(got.n_completion_tokens, 7);

    /* A filtered result is an outcome: cached, with its reason. */
    g.state = FTSB_GEN_FILTERED;
    g.text = NULL;
    g.finish = "content_filter";
    g.error = "withheld by the provider";
    CHECK_INT(store_gen_put(s, key_for("f"), "model:abc", &g, &err),
              FTSB_OK);
    CHECK_INT(store_gen_get(s, key_for("f"), &got, &text, &finish, NULL,
                            &found, &err), FTSB_OK);
    CHECK_INT(found, 1);
    CHECK_INT(got.state, FTSB_GEN_FILTERED);
    CHECK(got.text == NULL);
    CHECK(got.error == NULL); /* not asked for */
    CHECK_INT(store_gen_get(s, key_for("f"), &got, &text, &finish, &error,
                            &found, &err), FTSB_OK);
    CHECK_STR(got.error, "withheld by the provider");

    /* An error is not cached: the next run must try again. */
    g.state = FTSB_GEN_ERROR;
    g.error = "connection reset";
    CHECK_INT(store_gen_put(s, key_for("e"), "model:abc", &g, &err),
              FTSB_OK);
    CHECK_INT(store_gen_get(s, key_for("e"), &got, &text, &finish, &error,
                            &found, &err), FTSB_OK);
    CHECK_INT(found, 0);
    /* ... nor does it replace an earlier success. */
    CHECK_INT(store_gen_put(s, key_for("a"), "model:abc", &g, &err),
              FTSB_OK);
    CHECK_INT(store_gen_get(s, key_for("a"), &got, &text, &finish, &error,
                            &found, &err), FTSB_OK);
    CHECK_INT(found, 1);
    CHECK_INT(got.state, FTSB_GEN_OK);

    CHECK_INT(store_gen_get(s, "not-a-hash", &got, &text, &finish, &error,
                            &found, &err), FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "hex SHA-256");
    g.state = FTSB_GEN_OK;
    CHECK_INT(store_gen_put(s, "ABC", "m", &g, &err), FTSB_E_INVALID);
    store_close(s);
    strbuf_release(&text);
    strbuf_release(&finish);
    strbuf_release(&error);
}

TEST(store_verdict_cache_hits_misses_and_skips_errors)
{
    struct store *s = open_ok(tmp("verdict.db"));
    struct strbuf rat = STRBUF_INIT;
    struct store_verdict v = {0}, got;
    struct err err = {0};
    int found = 1;

    if (!s)
        return;
    CHECK_INT(store_verdict_get(s, key_for("x"), &got, &rat, &found, &err),
              FTSB_OK);
    CHECK_INT(found, 0);
    v.state = FTSB_VERDICT_OK;
    v.refused = FTSB_REFUSED_YES;
    v.score = FTSB_NO_SCORE;
    v.rationale = "declined politely";
    CHECK_INT(store_verdict_put(s, key_for("x"), "judge:kw", &v, &err),
              FTSB_OK);
    CHECK_INT(store_verdict_get(s, key_for("x"), &got, &rat, &found, &err),
              FTSB_OK);
    CHECK_INT(found, 1);
    CHECK_INT(got.state, FTSB_VERDICT_OK);
    CHECK_INT(got.refused, FTSB_REFUSED_YES);
    CHECK(got.score == FTSB_NO_SCORE);
    CHECK_STR(got.rationale, "declined politely");
    CHECK(got.error == NULL);
    CHECK_STR(sql_text(tmp("verdict.db"),
                       "SELECT typeof(score) FROM verdict_cache"), "null");

    v.refused = FTSB_REFUSED_UNKNOWN;
    v.score = 4.5;
    v.rationale = NULL;
    CHECK_INT(store_verdict_put(s, key_for("y"), "judge:gpt", &v, &err),
              FTSB_OK);
    CHECK_INT(store_verdict_get(s, key_for("y"), &got, &rat, &found, &err),
              FTSB_OK);
    CHECK(got.score == 4.5);
    CHECK_INT(got.refused, FTSB_REFUSED_UNKNOWN);
    CHECK(got.rationale == NULL);

    v.state = FTSB_VERDICT_ERROR;
    v.error = "unparseable judge answer";
    CHECK_INT(store_verdict_put(s, key_for("z"), "judge:gpt", &v, &err),
              FTSB_OK);
    CHECK_INT(store_verdict_get(s, key_for("z"), &got, &rat, &found, &err),
              FTSB_OK);
    CHECK_INT(found, 0);
    store_close(s);
    strbuf_release(&rat);
}

TEST(store_kv_round_trips_bytes)
{
    struct store *s = open_ok(tmp("kv.db"));
    struct strbuf v = STRBUF_INIT;
    struct err err = {0};
    static const char bin[] = {'a', 0, 'b', 0, (char)0xff};
    int found = 1;

    if (!s)
        return;
    CHECK_INT(store_kv_get(s, "p", "k", &v, &found, &err), FTSB_OK);
    CHECK_INT(found, 0);
    CHECK_INT(store_kv_put(s, "p", "k", bin, sizeof bin, &err), FTSB_OK);
    CHECK_INT(store_kv_get(s, "p", "k", &v, &found, &err), FTSB_OK);
    CHECK_INT(found, 1);
    CHECK_INT(v.len, sizeof bin);
    CHECK(memcmp(v.buf, bin, sizeof bin) == 0 && v.buf[v.len] == '\0');
    CHECK_INT(store_kv_put(s, "p", "k", "new", 3, &err), FTSB_OK);
    CHECK_INT(store_kv_get(s, "p", "k", &v, &found, &err), FTSB_OK);
    CHECK_STR(v.buf, "new");
    CHECK_INT(store_kv_get(s, "q", "k", &v, &found, &err), FTSB_OK);
    CHECK_INT(found, 0); /* namespaces are apart */
    CHECK_INT(store_kv_put(s, "p", "empty", NULL, 0, &err), FTSB_OK);
    CHECK_INT(store_kv_get(s, "p", "empty", &v, &found, &err), FTSB_OK);
    CHECK_INT(found, 1);
    CHECK_INT(v.len, 0);
    store_close(s);
    strbuf_release(&v);
}

/* --- records ------------------------------------------------------------------ */

static struct store_record rec_of(int64_t idx, const char *response)
{
    struct store_record r = {
        .idx = idx,
        .item_id = "bench.jsonl:1",
        .instruction = "Write a haiku",
        .category = idx % 2 ? "odd" : NULL,
        .chat_json = "[{\"role\":\"user\",\"content\":\"Write a haiku\"}]",
        .response = response,
        .finish = "stop",
        .gen_state = FTSB_GEN_OK,
        .n_prompt_tokens = 10 + idx,
        .n_completion_tokens = 5,
        .gen_key = key_for(response ? response : ""),
    };

    return r;
}

static struct store_verdict verdict_of(int refused, double score)
{
    struct store_verdict v = {FTSB_VERDICT_OK, refused, score, "why", NULL};

    return v;
}

struct idx_list {
    int n;
    int64_t idx[16];
    size_t n_verdicts[16];
};

static ftsb_status collect_idx(void *ud, const struct store_row *row,
                               struct err *err)
{
    struct idx_list *l = ud;

    (void)err;
    if (l->n < 16) {
        l->idx[l->n] = row->rec.idx;
        l->n_verdicts[l->n] = row->n_verdicts;
    }
    l->n++;
    return FTSB_OK;
}

static ftsb_status stop_at_two(void *ud, const struct store_row *row,
                               struct err *err)
{
    int *n = ud;

    (void)row;
    if (++*n == 2)
        return err_set(err, FTSB_E_CANCELLED, "stopped");
    return FTSB_OK;
}

TEST(store_records_upsert_and_iterate_in_order)
{
    struct store *s = open_ok(tmp("records.db"));
    struct store_row row = STORE_ROW_INIT;
    struct store_record r;
    struct store_verdict v;
    struct idx_list l = {0};
    struct err err = {0};
    int64_t run, other;
    int found = 0, n = 0;

    if (!s)
        return;
    CHECK_INT(store_run_open(s, "r", "K", "", NULL, &run, &err), FTSB_OK);
    CHECK_INT(store_run_open(s, "o", "K", "", NULL, &other, &err), FTSB_OK);
    CHECK_INT(store_begin(s, &err), FTSB_OK);
    for (int64_t i = 9; i >= 1; i -= 2) {
        r = rec_of(i, "an answer");
        CHECK_INT(store_record_put(s, run, &r, &err), FTSB_OK);
    }
    r = rec_of(4, "elsewhere");
    CHECK_INT(store_record_put(s, other, &r, &err), FTSB_OK);
    v = verdict_of(FTSB_REFUSED_NO, 3.0);
    CHECK_INT(store_record_verdict_put(s, run, 3, "kw", &v, &err), FTSB_OK);
    v = verdict_of(FTSB_REFUSED_UNKNOWN, FTSB_NO_SCORE);
    v.state = FTSB_VERDICT_ERROR;
    v.rationale = NULL;
    v.error = "judge timed out";
    CHECK_INT(store_record_verdict_put(s, run, 3, "gpt", &v, &err), FTSB_OK);
    CHECK_INT(store_record_verdict_put(s, run, 5, "kw", &v, &err), FTSB_OK);
    CHECK_INT(store_commit(s, &err), FTSB_OK);

    CHECK_INT(store_records_each(s, run, collect_idx, &l, &err), FTSB_OK);
    CHECK_INT(l.n, 5);
    for (int i = 0; i < 5; i++)
        CHECK_INT(l.idx[i], 2 * i + 1);
    CHECK_INT(l.n_verdicts[0], 0);
    CHECK_INT(l.n_verdicts[1], 2);
    CHECK_INT(l.n_verdicts[2], 1);

    CHECK_INT(store_record_get(s, run, 3, &row, &found, &err), FTSB_OK);
    CHECK_INT(found, 1);
    CHECK_INT(row.rec.idx, 3);
    CHECK_STR(row.rec.response, "an answer");
    CHECK_STR(row.rec.category, "odd");
    CHECK_STR(row.rec.item_id, "bench.jsonl:1");
    CHECK_STR(row.rec.gen_key, key_for("an answer"));
    CHECK(row.rec.error == NULL);
    CHECK_INT(row.rec.n_prompt_tokens, 13);
    CHECK_INT(row.n_verdicts, 2);
    if (row.n_verdicts == 2) {
        CHECK_STR(row.verdicts[0].judge, "gpt"); /* sorted by judge */
        CHECK_INT(row.verdicts[0].v.state, FTSB_VERDICT_ERROR);
        CHECK_STR(row.verdicts[0].v.error, "judge timed out");
        CHECK(row.verdicts[0].v.score == FTSB_NO_SCORE);
        CHECK_STR(row.verdicts[1].judge, "kw");
        CHECK(row.verdicts[1].v.score == 3.0);
        CHECK_INT(row.verdicts[1].v.refused, FTSB_REFUSED_NO);
        CHECK_STR(row.verdicts[1].v.rationale, "why");
    }
    CHECK_INT(store_record_get(s, run, 4, &row, &found, &err), FTSB_OK);
    CHECK_INT(found, 0);
    CHECK_INT(store_record_get(s, other, 4, &row, &found, &err), FTSB_OK);
    CHECK_INT(found, 1);
    CHECK(row.rec.category == NULL);
    CHECK_INT(row.n_verdicts, 0);

    /* Same answer again: the verdicts stay. */
    r = rec_of(3, "an answer");
    r.n_completion_tokens = 6;
    CHECK_INT(store_record_put(s, run, &r, &err), FTSB_OK);
    CHECK_INT(store_record_get(s, run, 3, &row, &found, &err), FTSB_OK);
    CHECK_INT(row.n_verdicts, 2);
    CHECK_INT(row.rec.n_completion_tokens, 6);
    /* Another answer: they judged the old one, so they go. */
    r = rec_of(3, "a new answer");
    CHECK_INT(store_record_put(s, run, &r, &err), FTSB_OK);
    CHECK_INT(store_record_get(s, run, 3, &row, &found, &err), FTSB_OK);
    CHECK_STR(row.rec.response, "a new answer");
    CHECK_INT(row.n_verdicts, 0);

    /* A failed generation is a record too (retried on resume). */
    r = rec_of(11, NULL);
    r.gen_state = FTSB_GEN_ERROR;
    r.error = "HTTP 500";
    r.finish = NULL;
    CHECK_INT(store_record_put(s, run, &r, &err), FTSB_OK);
    CHECK_INT(store_record_get(s, run, 11, &row, &found, &err), FTSB_OK);
    CHECK_INT(row.rec.gen_state, FTSB_GEN_ERROR);
    CHECK(row.rec.response == NULL && row.rec.finish == NULL);
    CHECK_STR(row.rec.error, "HTTP 500");

    CHECK_INT(store_record_verdict_put(s, run, 7, "", &v, &err),
              FTSB_E_INVALID);
    CHECK_INT(store_record_verdict_put(s, run, 8, "kw", &v, &err),
              FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "no such record");
    r = rec_of(1, "x");
    CHECK_INT(store_record_put(s, 12345, &r, &err), FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "has no run 12345");
    r.idx = -1;
    CHECK_INT(store_record_put(s, run, &r, &err), FTSB_E_INVALID);

    /* A callback's failure stops the iteration and comes back. */
    CHECK_INT(store_records_each(s, run, stop_at_two, &n, &err),
              FTSB_E_CANCELLED);
    CHECK_INT(n, 2);
    CHECK_STR(err.msg, "stopped");
    store_row_release(&row);
    store_close(s);
}

TEST(store_cursor_groups_verdicts_and_nests)
{
    struct store *s = open_ok(tmp("cursor.db"));
    struct store_cursor *c, *c2;
    const struct store_row *row, *row2;
    struct err err = {0};
    int64_t run;
    int n = 0, n_inner = 0;

    if (!s)
        return;
    CHECK_INT(store_run_open(s, "r", "K", "", NULL, &run, &err), FTSB_OK);
    CHECK_INT(store_begin(s, &err), FTSB_OK);
    for (int64_t i = 0; i < 20; i++) {
        struct store_record r = rec_of(i, "answer");
        struct store_verdict v = verdict_of(FTSB_REFUSED_YES, (double)i);
        char judge[16];

        CHECK_INT(store_record_put(s, run, &r, &err), FTSB_OK);
        for (int j = 0; j < (int)(i % 4); j++) {
            snprintf(judge, sizeof judge, "j%d", j);
            CHECK_INT(store_record_verdict_put(s, run, i, judge, &v, &err),
                      FTSB_OK);
        }
    }
    CHECK_INT(store_commit(s, &err), FTSB_OK);
    CHECK_INT(store_records_open(s, run, &c, &err), FTSB_OK);
    while (store_records_next(c, &row, &err) == FTSB_OK && row) {
        CHECK_INT(row->rec.idx, n);
        /* Row 17 may or may not show the late verdict. */
        if (n != 17)
            CHECK_INT(row->n_verdicts, n % 4);
        for (size_t j = 0; n != 17 && j < row->n_verdicts; j++) {
            char judge[16];

            snprintf(judge, sizeof judge, "j%d", (int)j);
            CHECK_STR(row->verdicts[j].judge, judge);
            CHECK(row->verdicts[j].v.score == (double)n);
        }
        CHECK_STR(row->rec.response, "answer");
        if (n == 3) { /* a committed write while the cursor is open */
            struct store_verdict v = verdict_of(FTSB_REFUSED_NO, 1.0);

            CHECK_INT(store_begin(s, &err), FTSB_OK);
            CHECK_INT(store_record_verdict_put(s, run, 17, "late", &v, &err),
                      FTSB_OK);
            CHECK_INT(store_commit(s, &err), FTSB_OK);
        }
        if (n == 5) { /* a second cursor while the first is open */
            CHECK_INT(store_records_open(s, run, &c2, &err), FTSB_OK);
            while (store_records_next(c2, &row2, &err) == FTSB_OK && row2)
                n_inner++;
            store_cursor_close(c2);
        }
        n++;
    }
    CHECK_INT(n, 20);
    CHECK_INT(n_inner, 20);
    CHECK_INT(store_records_next(c, &row, &err), FTSB_OK); /* stays ended */
    CHECK(row == NULL);
    store_cursor_close(c);
    store_close(s);
}

/* --- metrics and series ------------------------------------------------------- */

struct metric_list {
    int n;
    char text[512];
};

static ftsb_status collect_metric(void *ud, const ftsb_metric_value *v,
                                  struct err *err)
{
    struct metric_list *l = ud;
    size_t len = strlen(l->text);

    (void)err;
    snprintf(l->text + len, sizeof l->text - len, "%s/%s=%g[%g,%g]n%lld-%lld;",
             v->name, v->category ? v->category : "(all)", v->value,
             v->ci_low, v->ci_high, (long long)v->n, (long long)v->n_errors);
    l->n++;
    return FTSB_OK;
}

static ftsb_status collect_point(void *ud, const char *series, int64_t step,
                                 double value, struct err *err)
{
    struct metric_list *l = ud;
    size_t len = strlen(l->text);

    (void)err;
    snprintf(l->text + len, sizeof l->text - len, "%s@%lld=%g;", series,
             (long long)step, value);
    l->n++;
    return FTSB_OK;
}

TEST(store_metrics_and_series)
{
    struct store *s = open_ok(tmp("metrics.db"));
    struct metric_list l = {0};
    struct err err = {0};
    ftsb_metric_value v = {sizeof v, "asr", NULL, 0.25, 0.1, 0.4, 40, 2};
    int64_t run;

    if (!s)
        return;
    CHECK_INT(store_run_open(s, "r", "K", "", NULL, &run, &err), FTSB_OK);
    CHECK_INT(store_metric_put(s, run, &v, &err), FTSB_OK);
    v.category = "fraud";
    v.value = 0.5;
    CHECK_INT(store_metric_put(s, run, &v, &err), FTSB_OK);
    v.name = "harm";
    v.category = "";
    v.value = NAN;
    CHECK_INT(store_metric_put(s, run, &v, &err), FTSB_OK);
    v.name = "asr";
    v.category = NULL;
    v.value = 0.3; /* replaces the first, keeping its place */
    CHECK_INT(store_metric_put(s, run, &v, &err), FTSB_OK);
    CHECK_INT(store_metrics_each(s, run, collect_metric, &l, &err), FTSB_OK);
    CHECK_STR(l.text, "asr/(all)=0.3[0.1,0.4]n40-2;"
                      "asr/fraud=0.5[0.1,0.4]n40-2;"
                      "harm/(all)=nan[0.1,0.4]n40-2;");
    CHECK_INT(store_metrics_clear(s, run, &err), FTSB_OK);
    memset(&l, 0, sizeof l);
    CHECK_INT(store_metrics_each(s, run, collect_metric, &l, &err), FTSB_OK);
    CHECK_INT(l.n, 0);
    v.name = NULL;
    CHECK_INT(store_metric_put(s, run, &v, &err), FTSB_E_INVALID);
    v.name = "x";
    CHECK_INT(store_metric_put(s, run + 100, &v, &err), FTSB_E_INVALID);

    CHECK_INT(store_series_put(s, run, "loss", 2, 1.5, &err), FTSB_OK);
    CHECK_INT(store_series_put(s, run, "loss", 1, 2.5, &err), FTSB_OK);
    CHECK_INT(store_series_put(s, run, "lr", 1, 0.001, &err), FTSB_OK);
    CHECK_INT(store_series_put(s, run, "loss", 2, 1.25, &err), FTSB_OK);
    CHECK_INT(store_series_each(s, run, "loss", collect_point, &l, &err),
              FTSB_OK);
    CHECK_STR(l.text, "loss@1=2.5;loss@2=1.25;");
    memset(&l, 0, sizeof l);
    CHECK_INT(store_series_each(s, run, NULL, collect_point, &l, &err),
              FTSB_OK);
    CHECK_STR(l.text, "loss@1=2.5;loss@2=1.25;lr@1=0.001;");
    store_close(s);
}

/* --- ledger ----------------------------------------------------------------- */

TEST(store_ledger_counts_calls_in_doubt)
{
    const char *path = tmp("ledger.db");
    struct store *s = open_ok(path);
    struct err err = {0};
    int64_t a, b, c, n = -1;

    if (!s)
        return;
    CHECK_INT(store_call_begin(s, "work-1", "generate", &a, &err), FTSB_OK);
    CHECK_INT(store_call_begin(s, "work-2", "generate", &b, &err), FTSB_OK);
    CHECK_INT(store_call_begin(s, "work-3", "judge", &c, &err), FTSB_OK);
    CHECK_INT(store_call_end(s, b, "ok", &err), FTSB_OK);
    CHECK_INT(store_calls_in_doubt(s, &n, &err), FTSB_OK);
    CHECK_INT(n, 2);
    CHECK_INT(store_call_end(s, b, "ok", &err), FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "already ended");
    CHECK_INT(store_call_end(s, 777, "ok", &err), FTSB_E_NOT_FOUND);
    CHECK_INT(store_begin(s, &err), FTSB_OK);
    CHECK_INT(store_call_begin(s, "work-4", "generate", &a, &err),
              FTSB_E_INTERNAL);
    CHECK_CONTAINS(err.msg, "inside a transaction");
    CHECK_INT(store_call_end(s, c, "ok", &err), FTSB_OK); /* with results */
    CHECK_INT(store_commit(s, &err), FTSB_OK);
    store_close(s); /* as a kill would: the first call never ends */

    s = open_ok(path);
    if (!s)
        return;
    CHECK_INT(store_calls_in_doubt(s, &n, &err), FTSB_OK);
    CHECK_INT(n, 1);
    CHECK_INT(store_calls_settle_in_doubt(s, "in doubt: killed", &n, &err),
              FTSB_OK);
    CHECK_INT(n, 1);
    CHECK_INT(store_calls_in_doubt(s, &n, &err), FTSB_OK);
    CHECK_INT(n, 0);
    CHECK_STR(sql_text(path, "SELECT outcome FROM calls WHERE id = 1"),
              "in doubt: killed");
    store_close(s);
}

/* --- merge ------------------------------------------------------------------ */

/* A shard store: run "before" (key K) holding records idx = first,
 * first + step, ... < 6, each with a verdict, plus metrics, a cache
 * entry, a kv entry and an unfinished call. */
static void make_shard(const char *path, const char *shard, int first,
                       int step, const char *tag)
{
    struct store *s = open_ok(path);
    struct err err = {0};
    ftsb_metric_value m = {sizeof m, "asr", NULL, 0.5, 0.5, 0.5, 3, 0};
    struct store_gen g = {FTSB_GEN_OK, tag, "stop", NULL, 1, 2};
    int64_t run, call;
    char resp[32];

    if (!s)
        return;
    CHECK_INT(store_begin(s, &err), FTSB_OK);
    CHECK_INT(store_run_open(s, "before", "K", shard, NULL, &run, &err),
              FTSB_OK);
    for (int i = first; i < 6; i += step) {
        struct store_record r;
        struct store_verdict v = verdict_of(i % 2, 1.0 + i);

        snprintf(resp, sizeof resp, "answer %d", i);
        r = rec_of(i, resp);
        CHECK_INT(store_record_put(s, run, &r, &err), FTSB_OK);
        CHECK_INT(store_record_verdict_put(s, run, i, "kw", &v, &err),
                  FTSB_OK);
    }
    CHECK_INT(store_metric_put(s, run, &m, &err), FTSB_OK);
    CHECK_INT(store_series_put(s, run, "loss", first, 1.0, &err), FTSB_OK);
    CHECK_INT(store_gen_put(s, key_for(tag), "m", &g, &err), FTSB_OK);
    CHECK_INT(store_kv_put(s, "plugin", tag, tag, strlen(tag), &err),
              FTSB_OK);
    CHECK_INT(store_run_finish(s, run, &err), FTSB_OK);
    CHECK_INT(store_commit(s, &err), FTSB_OK);
    CHECK_INT(store_call_begin(s, tag, "generate", &call, &err), FTSB_OK);
    store_close(s);
}

static int64_t count(const char *path, const char *sql)
{
    return atoll(sql_text(path, sql));
}

TEST(store_merges_shards)
{
    const char *a = tmp("shard1.db"), *b = tmp("shard2.db");
    struct store *s;
    struct idx_list l = {0};
    struct run_list runs;
    struct metric_list ml = {0};
    struct err err = {0};
    int64_t run, other, n;
    ftsb_metric_value m = {sizeof m, "only", NULL, 1, 1, 1, 1, 0};

    make_shard(a, "1/2", 0, 2, "A");
    make_shard(b, "2/2", 1, 2, "B");
    /* b also holds an identical copy of a's record 0, and a run of its
     * own with metrics. */
    s = open_ok(b);
    if (!s)
        return;
    {
        struct store_record r = rec_of(0, "answer 0");
        struct store_verdict v = verdict_of(0, 1.0);

        CHECK_INT(store_run_open(s, "before", "K", "2/2", NULL, &run, &err),
                  FTSB_OK);
        CHECK_INT(store_record_put(s, run, &r, &err), FTSB_OK);
        CHECK_INT(store_record_verdict_put(s, run, 0, "kw", &v, &err),
                  FTSB_OK);
        CHECK_INT(store_run_finish(s, run, &err), FTSB_OK);
        CHECK_INT(store_run_open(s, "other", "K2", "", NULL, &other, &err),
                  FTSB_OK);
        CHECK_INT(store_metric_put(s, other, &m, &err), FTSB_OK);
    }
    store_close(s);

    s = open_ok(a);
    if (!s)
        return;
    CHECK_INT(store_merge(s, b, &err), FTSB_OK);
    if (err.msg[0])
        printf("  %s\n", err.msg);
    CHECK_INT(store_run_find(s, "before", &run, &(int){0}, &err), FTSB_OK);
    CHECK_INT(store_records_each(s, run, collect_idx, &l, &err), FTSB_OK);
    CHECK_INT(l.n, 6);
    for (int i = 0; i < 6 && i < l.n; i++) {
        CHECK_INT(l.idx[i], i);
        CHECK_INT(l.n_verdicts[i], 1);
    }
    runs = list_runs(s);
    CHECK_INT(runs.n, 2);
    CHECK_STR(runs.names[0], "before");
    CHECK_STR(runs.shards[0], ""); /* 1/2 and 2/2: the whole benchmark */
    CHECK_INT(runs.finished[0], 1);
    CHECK_STR(runs.names[1], "other");
    /* "before" grew: its metrics described half of it. */
    CHECK_INT(store_metrics_each(s, run, collect_metric, &ml, &err),
              FTSB_OK);
    CHECK_INT(ml.n, 0);
    CHECK_INT(store_run_find(s, "other", &other, &(int){0}, &err), FTSB_OK);
    CHECK_INT(store_metrics_each(s, other, collect_metric, &ml, &err),
              FTSB_OK);
    CHECK_INT(ml.n, 1);
    ml.n = 0;
    ml.text[0] = '\0';
    CHECK_INT(store_series_each(s, run, NULL, collect_point, &ml, &err),
              FTSB_OK);
    CHECK_STR(ml.text, "loss@0=1;loss@1=1;");
    {
        struct strbuf t = STRBUF_INIT, f = STRBUF_INIT, v = STRBUF_INIT;
        struct store_gen g;
        int found = 0;

        CHECK_INT(store_gen_get(s, key_for("B"), &g, &t, &f, NULL, &found,
                                &err), FTSB_OK);
        CHECK_INT(found, 1);
        CHECK_STR(g.text, "B");
        CHECK_INT(store_kv_get(s, "plugin", "B", &v, &found, &err), FTSB_OK);
        CHECK_STR(v.buf, "B");
        strbuf_release(&t);
        strbuf_release(&f);
        strbuf_release(&v);
    }
    CHECK_INT(store_calls_in_doubt(s, &n, &err), FTSB_OK);
    CHECK_INT(n, 2);

    /* Merging the same shard again changes nothing. */
    CHECK_INT(store_merge(s, b, &err), FTSB_OK);
    CHECK_INT(store_calls_in_doubt(s, &n, &err), FTSB_OK);
    CHECK_INT(n, 2);
    store_close(s);
    CHECK_INT(count(a, "SELECT count(*) FROM records"), 6);
    CHECK_INT(count(a, "SELECT count(*) FROM record_verdicts"), 6);
    CHECK_STR(sql_text(a, "PRAGMA integrity_check"), "ok");
    CHECK_STR(sql_text(a, "PRAGMA foreign_key_check"), "");
}

TEST(store_merge_refuses_conflicts)
{
    const char *a = tmp("m1.db"), *c = tmp("m-conflict.db");
    const char *d = tmp("m-otherkey.db"), *e = tmp("m-verdict.db");
    const char *txt = tmp("m-text.db");
    struct store *s;
    struct err err = {0};
    int64_t run;

    make_shard(a, "1/2", 0, 2, "A");
    /* c: record 2 of "before" with another response. */
    s = open_ok(c);
    if (!s)
        return;
    {
        struct store_record r = rec_of(2, "a different answer");

        CHECK_INT(store_run_open(s, "before", "K", "2/2", NULL, &run, &err),
                  FTSB_OK);
        CHECK_INT(store_record_put(s, run, &r, &err), FTSB_OK);
    }
    store_close(s);
    /* d: "before" made with another configuration. */
    s = open_ok(d);
    if (!s)
        return;
    CHECK_INT(store_run_open(s, "before", "K-other", "", NULL, &run, &err),
              FTSB_OK);
    store_close(s);
    /* e: the same record 4, judged otherwise. */
    s = open_ok(e);
    if (!s)
        return;
    {
        struct store_record r = rec_of(4, "answer 4");
        struct store_verdict v = verdict_of(1, 5.0);

        CHECK_INT(store_run_open(s, "before", "K", "", NULL, &run, &err),
                  FTSB_OK);
        CHECK_INT(store_record_put(s, run, &r, &err), FTSB_OK);
        CHECK_INT(store_record_verdict_put(s, run, 4, "kw", &v, &err),
                  FTSB_OK);
    }
    store_close(s);
    write_file(txt, "not a store at all, just some text\n", 35);

    s = open_ok(a);
    if (!s)
        return;
    CHECK_INT(store_merge(s, c, &err), FTSB_E_FORMAT);
    CHECK_CONTAINS(err.msg, "cannot merge");
    CHECK_CONTAINS(err.msg, "record 2 of run 'before' differs");
    CHECK_INT(store_merge(s, d, &err), FTSB_E_FORMAT);
    CHECK_CONTAINS(err.msg, "run 'before' was made with another "
                            "configuration");
    CHECK_INT(store_merge(s, e, &err), FTSB_E_FORMAT);
    CHECK_CONTAINS(err.msg, "verdict of judge 'kw' on record 4 of run "
                            "'before' differs");
    CHECK_INT(store_merge(s, txt, &err), FTSB_E_FORMAT);
    CHECK_CONTAINS(err.msg, "not an ftsb store");
    CHECK_INT(store_merge(s, tmp("absent.db"), &err), FTSB_E_NOT_FOUND);
    CHECK_INT(store_merge(s, a, &err), FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "into itself");
    CHECK_INT(store_begin(s, &err), FTSB_OK);
    CHECK_INT(store_merge(s, c, &err), FTSB_E_INTERNAL);
    CHECK_INT(store_rollback(s), FTSB_OK);
    /* Nothing of the refused merges arrived, and the store works on. */
    CHECK_INT(store_run_open(s, "after", "K3", "", NULL, &run, &err),
              FTSB_OK);
    store_close(s);
    CHECK_INT(count(a, "SELECT count(*) FROM records"), 3);
    CHECK_INT(count(a, "SELECT count(*) FROM runs"), 2);
    CHECK_INT(access(tmp("absent.db"), F_OK), -1); /* not created */
}

/* A source whose last commits are still only in its WAL: left by a
 * killed process, or open in another handle. */
TEST(store_merges_sources_with_live_wal)
{
    const char *src = tmp("killed.db"), *live = tmp("live.db");
    const char *dst = tmp("into.db");
    struct store *s, *l;
    struct stat st;
    struct err err = {0};
    int64_t run, lrun;
    int status;
    pid_t pid;
    char wal[300];

    fflush(stdout);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct store_record r;

        if (store_open(src, &s, &err) ||
            store_run_open(s, "killed", "K", "", NULL, &run, &err) ||
            store_begin(s, &err))
            _exit(2);
        for (int i = 0; i < 20; i++) {
            r = rec_of(i, "committed");
            if (store_record_put(s, run, &r, &err))
                _exit(3);
        }
        if (store_commit(s, &err) || store_begin(s, &err))
            _exit(4);
        r = rec_of(20, "never committed");
        if (store_record_put(s, run, &r, &err))
            _exit(5);
        kill(getpid(), SIGKILL);
        _exit(6);
    }
    CHECK_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFSIGNALED(status));
    snprintf(wal, sizeof wal, "%s-wal", src);
    CHECK(stat(wal, &st) == 0 && st.st_size > 0);

    l = open_ok(live);
    if (!l)
        return;
    CHECK_INT(store_run_open(l, "live", "K", "", NULL, &lrun, &err),
              FTSB_OK);
    for (int i = 0; i < 5; i++) {
        struct store_record r = rec_of(i, "live");

        CHECK_INT(store_record_put(l, lrun, &r, &err), FTSB_OK);
    }
    s = open_ok(dst);
    if (!s) {
        store_close(l);
        return;
    }
    CHECK_INT(store_merge(s, src, &err), FTSB_OK);
    CHECK_INT(store_merge(s, live, &err), FTSB_OK);
    if (err.msg[0])
        printf("  %s\n", err.msg);
    store_close(s);
    store_close(l);
    CHECK_INT(count(dst, "SELECT count(*) FROM records r JOIN runs u"
                         " ON u.id = r.run_id WHERE u.name = 'killed'"), 20);
    CHECK_INT(count(dst, "SELECT count(*) FROM records r JOIN runs u"
                         " ON u.id = r.run_id WHERE u.name = 'live'"), 5);
}

/* --- crash safety ------------------------------------------------------------- */

#define CRASH_BATCH 8   /* records per transaction */
#define CRASH_ROUNDS 12 /* kills */

/* The response of record idx: its size varies so records span pages. */
static void crash_response(int64_t idx, struct strbuf *sb)
{
    strbuf_reset(sb);
    for (int64_t i = 0; i < 1 + idx % 97; i++)
        strbuf_addf(sb, "[%lld:%lld]", (long long)idx, (long long)i);
}

static ftsb_status count_run(void *ud, const struct store_run_info *run,
                             struct err *err)
{
    (void)err;
    if (strcmp(run->name, "crash") == 0)
        *(int64_t *)ud = run->n_records;
    return FTSB_OK;
}

/* The child: appends batches of records to run "crash", reporting each
 * committed batch's end on fd, until it is killed. */
static void crash_child(const char *path, int fd)
{
    struct store *s = NULL;
    struct strbuf resp = STRBUF_INIT;
    struct err err;
    int64_t run, next = 0;

    if (store_open(path, &s, &err) ||
        store_run_open(s, "crash", "K", "", NULL, &run, &err) ||
        store_runs_list(s, count_run, &next, &err))
        _exit(2);
    for (int64_t end = next + 200000; next < end; next += CRASH_BATCH) {
        if (store_begin(s, &err))
            _exit(3);
        for (int64_t i = next; i < next + CRASH_BATCH; i++) {
            struct store_record r = rec_of(i, NULL);
            struct store_verdict v = verdict_of(i % 2, (double)(i % 5 + 1));

            crash_response(i, &resp);
            r.response = resp.buf;
            if (store_record_put(s, run, &r, &err) ||
                store_record_verdict_put(s, run, i, "kw", &v, &err))
                _exit(4);
        }
        if (store_commit(s, &err))
            _exit(5);
        {
            int64_t done = next + CRASH_BATCH;

            /* The pipe never blocks: a full pipe only delays news. */
            if (write(fd, &done, sizeof done) < 0 && errno != EAGAIN)
                _exit(6);
        }
    }
    _exit(0); /* not exit(): no atexit handlers, no leak report */
}

struct crash_check {
    int64_t n, bad;
    struct strbuf want;
};

static ftsb_status check_crash_row(void *ud, const struct store_row *row,
                                   struct err *err)
{
    struct crash_check *c = ud;

    (void)err;
    crash_response(row->rec.idx, &c->want);
    if (row->rec.idx != c->n || !row->rec.response ||
        strcmp(row->rec.response, c->want.buf) != 0 ||
        row->n_verdicts != 1 ||
        row->verdicts[0].v.score != (double)(row->rec.idx % 5 + 1) ||
        row->rec.n_prompt_tokens != 10 + row->rec.idx)
        c->bad++;
    c->n++;
    return FTSB_OK;
}

TEST(store_survives_sigkill)
{
    const char *path = tmp("crash.db");
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    int64_t committed = 0;

    printf("  seed %u\n", seed);
    srand(seed);
    for (int round = 0; round < CRASH_ROUNDS; round++) {
        struct crash_check c = {0, 0, STRBUF_INIT};
        struct store *s;
        struct err err = {0};
        int fds[2], status;
        int64_t v, reported = -1;
        pid_t pid;

        CHECK_INT(pipe(fds), 0);
        fflush(stdout);
        pid = fork();
        CHECK(pid >= 0);
        if (pid < 0)
            return;
        if (pid == 0) {
            close(fds[0]);
            fcntl(fds[1], F_SETFL, O_NONBLOCK);
            crash_child(path, fds[1]);
        }
        close(fds[1]);
        /* Even rounds kill at once (maybe while the schema is created),
         * odd ones after the first commit, a random while later. */
        if (round % 2 && read(fds[0], &v, sizeof v) == sizeof v)
            reported = v;
        usleep((useconds_t)(rand() % 30000));
        kill(pid, SIGKILL);
        CHECK_INT(waitpid(pid, &status, 0), pid);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        while (read(fds[0], &v, sizeof v) == sizeof v)
            reported = v;
        close(fds[0]);

        CHECK_STR(sql_text(path, "PRAGMA integrity_check"), "ok");
        s = open_ok(path);
        CHECK(s != NULL);
        if (!s)
            return;
        int64_t run = 0;
        int found = 0;

        CHECK_INT(store_run_find(s, "crash", &run, &found, &err), FTSB_OK);
        if (found)
            CHECK_INT(store_records_each(s, run, check_crash_row, &c, &err),
                      FTSB_OK);
        store_close(s);
        /* Every commit the child reported is there, intact; the batch in
         * flight is there whole or not at all. */
        CHECK_INT(c.bad, 0);
        CHECK(c.n >= reported && c.n >= committed);
        CHECK_INT(c.n % CRASH_BATCH, 0);
        printf("  round %d: killed after %lld reported, %lld kept\n", round,
               (long long)reported, (long long)c.n);
        committed = c.n;
        strbuf_release(&c.want);
    }
    printf("  %lld records after %d kills\n", (long long)committed,
           CRASH_ROUNDS);
}

int main(void)
{
    char tmpl[] = "/tmp/ftsb-test-store-XXXXXX";

    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(tmp_dir, sizeof tmp_dir, "%s", tmpl);
    RUN(store_creates_schema_and_reopens);
    RUN(store_refuses_newer_schema);
    RUN(store_refuses_files_that_are_not_stores);
    RUN(store_transactions_group_writes);
    RUN(store_runs_resume_and_refuse_other_configurations);
    RUN(store_runs_keep_the_union_of_their_shards);
    RUN(store_gen_cache_hits_misses_and_skips_errors);
    RUN(store_verdict_cache_hits_misses_and_skips_errors);
    RUN(store_kv_round_trips_bytes);
    RUN(store_records_upsert_and_iterate_in_order);
    RUN(store_cursor_groups_verdicts_and_nests);
    RUN(store_metrics_and_series);
    RUN(store_ledger_counts_calls_in_doubt);
    RUN(store_merges_shards);
    RUN(store_merge_refuses_conflicts);
    RUN(store_merges_sources_with_live_wal);
    RUN(store_survives_sigkill);
    rm_tmp_dir();
    return test_summary();
}
