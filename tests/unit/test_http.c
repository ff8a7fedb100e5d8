/*
 * test_http.c - the core's HTTP client (core/net/): its header and error
 * body parsers, the key's redaction, loading keys, and the retry layer
 * against the mock server on a virtual clock, so that waits of seconds
 * (Retry-After: 7, backoff from 1 s, a request budget) are checked
 * exactly and instantly.  The mock's path is argv[1].
 */
#include "../../core/ftsb_setup.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../core/net/http_parse.h"
#include "../../core/net/net.h"
#include "../../core/store/store.h"
#include "../../core/util/strbuf.h"
#include "test.h"

static const char *mock_bin;
static char tmp[256];

/* ---- parsers ------------------------------------------------------------ */

TEST(status_lines)
{
    int s = 0;

    CHECK(http_parse_status_line("HTTP/1.1 200 OK\r\n", 17, &s) == 0);
    CHECK_INT(s, 200);
    CHECK(http_parse_status_line("HTTP/2 429 \r\n", 13, &s) == 0);
    CHECK_INT(s, 429);
    CHECK(http_parse_status_line("HTTP/1.1 20 OK\r\n", 16, &s) != 0);
    CHECK(http_parse_status_line("HTTP/1.1 2000 OK\r\n", 18, &s) != 0);
    CHECK(http_parse_status_line("HTTX/1.1 200 OK\r\n", 17, &s) != 0);
    CHECK(http_parse_status_line("HTTP/1. 200 OK\r\n", 16, &s) != 0);
    CHECK(http_parse_status_line("HTTP/1.1 099 x\r\n", 16, &s) != 0);
}

TEST(retry_after)
{
    /* 2024-05-01T12:00:00Z */
    int64_t now = 1714564800;

    CHECK_INT(http_parse_retry_after("7", 1, now), 7000);
    CHECK_INT(http_parse_retry_after(" 0 \r\n", 5, now), 0);
    CHECK_INT(http_parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", 29,
                                     now), 30000);
    CHECK_INT(http_parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", 29,
                                     now), 0);
    CHECK_INT(http_parse_retry_after("-1", 2, now), -1);
    CHECK_INT(http_parse_retry_after("1.5", 3, now), -1);
    CHECK_INT(http_parse_retry_after("99999999999999999999", 20, now), -1);
    CHECK_INT(http_parse_retry_after("Wed, 01 Foo 2024 12:00:30 GMT", 29,
                                     now), -1);
    CHECK_INT(http_parse_retry_after_ms("1500", 4), 1500);
    CHECK_INT(http_parse_retry_after_ms("12.01", 5), 13);
    CHECK_INT(http_parse_retry_after_ms("12.", 3), -1);
    CHECK_INT(http_parse_retry_after_ms("x", 1), -1);
}

static void feed(struct http_head *h, const char *line)
{
    http_head_line(h, line, strlen(line), 0);
}

TEST(head_lines)
{
    struct http_head h;
    uint64_t v;

    http_head_reset(&h);
    feed(&h, "HTTP/1.1 100 Continue\r\n");
    feed(&h, "HTTP/1.1 429 Too Many Requests\r\n");
    feed(&h, "content-LENGTH: 42\r\n");
    feed(&h, "Retry-After: 3\r\n");
    feed(&h, "retry-after-ms: 250\r\n");
    feed(&h, "Location: http://evil.example/\x01x\r\n");
    feed(&h, "X-Request-Id: req-1\r\n");
    CHECK_INT(h.status, 429);
    CHECK_INT(h.has_length, 1);
    CHECK_INT(h.content_length, 42);
    CHECK_INT(h.retry_after_ms, 250);   /* the finer header wins */
    CHECK_STR(h.location, "http://evil.example/x");
    CHECK_STR(h.request_id, "req-1");
    feed(&h, "HTTP/1.1 200 OK\r\n");    /* a new head forgets the old */
    CHECK_INT(h.retry_after_ms, -1);
    CHECK_INT(h.has_length, 0);
    CHECK(http_parse_u64("18446744073709551615", 20, &v) != 0);
    CHECK(http_parse_u64("1234567890123456789", 19, &v) == 0);
    CHECK(http_parse_u64("12a", 3, &v) != 0);
}

static void error_text_is(const char *body, const char *want)
{
    struct strbuf out = STRBUF_INIT, in = STRBUF_INIT;

    strbuf_addstr(&in, body);
    CHECK(http_error_text(in.buf, in.len, 40, &out) == FTSB_OK);
    CHECK_STR(out.buf, want);
    strbuf_release(&out);
    strbuf_release(&in);
}

TEST(error_texts)
{
    error_text_is("{\"error\":{\"message\":\"Rate limit reached\"}}",
                  "Rate limit reached");
    error_text_is("{\"error\":\"model 'x' not found\"}",
                  "model 'x' not found");
    error_text_is("{\"object\":\"error\",\"message\":\"bad\\nthing\"}",
                  "bad thing");
    error_text_is("{\"detail\":\"Not Found\"}", "Not Found");
    error_text_is("<html>\n  <b>502</b>   Bad Gateway</html>",
                  "<html> <b>502</b> Bad Gateway</html>");
    error_text_is("{\"error\":{\"message\":\"a very long message that goes "
                  "on and on past the limit\"}}",
                  "a very long message that goes on and on ...");
    error_text_is("", "");
}

/* ---- redaction and keys ------------------------------------------------- */

static void redacted(const char *key, const char *text, const char *want)
{
    struct strbuf sb = STRBUF_INIT;

    strbuf_addstr(&sb, text);
    CHECK(net_redact(&sb, key, strlen(key)) == FTSB_OK);
    CHECK_STR(sb.buf, want);
    strbuf_release(&sb);
}

TEST(redaction)
{
    const char *key = "sk-canary-0123456789abcdef/+=x";

    redacted(key, "Bearer sk-canary-0123456789abcdef/+=x!",
             "Bearer [REDACTED]!");
    /* a truncated echo: 12 characters or more of its start */
    redacted(key, "key sk-canary-01**** was wrong", "key [REDACTED]**** was "
             "wrong");
    redacted(key, "sk-canary-0 is short", "sk-canary-0 is short");
    /* percent-encoded */
    redacted(key, "k=sk-canary-0123456789abcdef%2F%2B%3Dx&",
             "k=[REDACTED]&");
    /* base64 of "u:" + key, as in Basic auth */
    {
        struct strbuf sb = STRBUF_INIT;

        /* printf 'u:%s' key | base64 */
        strbuf_addstr(&sb, "Basic dTpzay1jYW5hcnktMDEyMzQ1Njc4OWFiY2RlZi8rPXg=");
        CHECK(net_redact(&sb, key, strlen(key)) == FTSB_OK);
        CHECK(strstr(sb.buf, "[REDACTED]") != NULL);
        CHECK(strstr(sb.buf, "YW5hcnktMDEyMzQ1Njc4OWFiY2RlZi8r") == NULL);
        strbuf_release(&sb);
    }
    redacted("abc", "xabcx abc", "x[REDACTED]x [REDACTED]");
}

TEST(keys)
{
    ftsb_secret_spec spec = {sizeof spec, "FTSB_TEST_NO_SUCH_VAR", NULL,
                             "test key", 0};
    struct ftsb_secret *s = NULL;
    struct err err;
    char path[300];
    const char *v;
    size_t len;
    FILE *f;

    err_clear(&err);
    unsetenv("FTSB_TEST_NO_SUCH_VAR");
    CHECK_INT(net_secret_open(&spec, &s, &err), FTSB_E_NOT_FOUND);
    CHECK_STR(err.msg, "no test key: the environment variable "
              "'FTSB_TEST_NO_SUCH_VAR' is not set; export it, or give a key "
              "file (mode 600)");
    spec.optional = 1;
    CHECK_INT(net_secret_open(&spec, &s, &err), FTSB_OK);
    CHECK(s == NULL);
    setenv("FTSB_TEST_KEY_VAR", "sk-has space", 1);
    spec.env = "FTSB_TEST_KEY_VAR";
    CHECK_INT(net_secret_open(&spec, &s, &err), FTSB_E_INVALID);
    CHECK(strstr(err.msg, "sk-has") == NULL);
    setenv("FTSB_TEST_KEY_VAR", "sk-fine", 1);
    CHECK_INT(net_secret_open(&spec, &s, &err), FTSB_OK);
    v = net_secret_value(s, &len);
    CHECK_INT(len, 7);
    CHECK(memcmp(v, "sk-fine", 7) == 0);
    net_secret_close(s);

    snprintf(path, sizeof path, "%s/key", tmp);
    f = fopen(path, "w");
    fputs("sk-from-file\n", f);
    fclose(f);
    chmod(path, 0644);
    spec.file = path;
    CHECK_INT(net_secret_open(&spec, &s, &err), FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "is accessible to other users (mode 0644); run "
                            "'chmod 600 ");
    chmod(path, 0600);
    CHECK_INT(net_secret_open(&spec, &s, &err), FTSB_OK);
    v = net_secret_value(s, &len);
    CHECK_INT(len, 12);   /* the newline is not part of it */
    CHECK(memcmp(v, "sk-from-file", 12) == 0);
    net_secret_close(s);
}

/* ---- the client against the mock, on a virtual clock --------------------- */

struct vclock {
    uint64_t offset;          /* virtual time added by sleeps */
    uint64_t slept;
    uint64_t starts[32];      /* virtual times of the mock's requests */
};

static uint64_t real_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t v_now(void *ud)
{
    return real_ms() + ((struct vclock *)ud)->offset;
}

static void v_sleep(void *ud, uint64_t ms)
{
    ((struct vclock *)ud)->offset += ms;
    ((struct vclock *)ud)->slept += ms;
}

struct mock {
    pid_t pid;
    char url[128], log[300];
};

static int mock_start(struct mock *m, const char *name, const char *script)
{
    char scn[300], port_file[300];
    FILE *f;
    int port = 0;

    snprintf(scn, sizeof scn, "%s/%s.scn", tmp, name);
    snprintf(port_file, sizeof port_file, "%s/%s.port", tmp, name);
    snprintf(m->log, sizeof m->log, "%s/%s.log", tmp, name);
    f = fopen(scn, "w");
    fputs(script, f);
    fclose(f);
    m->pid = fork();
    if (m->pid == 0) {
        execl(mock_bin, mock_bin, "--scenario", scn, "--port-file", port_file,
              "--log", m->log, "--max-seconds", "30", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && !port; i++) {
        if ((f = fopen(port_file, "r"))) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (!port)
            usleep(10000);
    }
    snprintf(m->url, sizeof m->url,
             "http://127.0.0.1:%d/v1/chat/completions", port);
    return port ? 0 : -1;
}

static void mock_stop(struct mock *m)
{
    kill(m->pid, SIGTERM);
    waitpid(m->pid, NULL, 0);
}

static int mock_count(const struct mock *m)
{
    FILE *f = fopen(m->log, "r");
    char line[2048];
    int n = 0;

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        n++;
    fclose(f);
    return n;
}

static ftsb_http_options opts(void)
{
    ftsb_http_options o;

    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    return o;
}

static const char chat_body[] =
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

struct run {
    struct ftsb_http_client *c;
    struct vclock vc;
    struct store *store;
    ftsb_http_response resp[4];
    struct strbuf body[4], error[4];
    struct err err;
};

static void run_init(struct run *r, const ftsb_http_options *o,
                     const char *store_name)
{
    struct net_clock clk = {v_now, v_sleep, &r->vc};

    memset(r, 0, sizeof *r);
    err_clear(&r->err);
    CHECK(net_client_new(o, &r->c, &r->err) == FTSB_OK);
    net_client_set_clock(r->c, &clk);
    for (int i = 0; i < 4; i++) {
        strbuf_init(&r->body[i]);
        strbuf_init(&r->error[i]);
        r->resp[i] = (ftsb_http_response){sizeof r->resp[i], 0, 0, 0, 0,
                                          (ftsb_buf *)&r->body[i],
                                          (ftsb_buf *)&r->error[i], 0};
    }
    if (store_name) {
        char path[300];

        snprintf(path, sizeof path, "%s/%s.db", tmp, store_name);
        CHECK(store_open(path, &r->store, &r->err) == FTSB_OK);
    }
}

static ftsb_status run_send(struct run *r, const char *url, uint32_t flags,
                            uint32_t n)
{
    ftsb_http_request req[4];
    struct net_env env = {r->store, NULL, "test"};

    for (uint32_t i = 0; i < n; i++)
        req[i] = (ftsb_http_request){sizeof req[i], "POST", url, NULL,
                                     chat_body, strlen(chat_body), NULL, 0,
                                     flags, NULL, "chat", 0};
    return net_perform(r->c, &env, req, n, r->resp, NULL, NULL, &r->err);
}

static void run_free(struct run *r)
{
    net_client_free(r->c);
    store_close(r->store);
    for (int i = 0; i < 4; i++) {
        strbuf_release(&r->body[i]);
        strbuf_release(&r->error[i]);
    }
}

/* Ledger rows of the store, read with SQLite directly. */
static int64_t calls_of(struct store *s)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n = -1;

    if (sqlite3_open_v2(store_path(s), &db, SQLITE_OPEN_READONLY, NULL) ==
            SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM calls", -1, &st,
                           NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

TEST(retry_after_virtual)
{
    ftsb_http_options o = opts();
    struct mock m;
    struct run r;

    o.backoff_base_ms = 1000;
    if (mock_start(&m, "ra", "chat status=429 retry_after=7\n"))
        SKIP("mock did not start");
    run_init(&r, &o, NULL);
    CHECK_INT(run_send(&r, m.url, 0, 1), FTSB_OK);
    CHECK_INT(r.resp[0].outcome, FTSB_HTTP_OK);
    CHECK_INT(r.resp[0].attempts, 2);
    CHECK_INT(mock_count(&m), 2);
    /* What the server asked, on the virtual clock; the slack above it
     * covers the client's poll waits while the mock answers, which grow
     * on a loaded machine under ASan (a backoff added on top would be
     * 500-1000 ms more per attempt, and 429 forever would exceed it). */
    CHECK(r.vc.slept >= 7000 && r.vc.slept < 7000 + 3000);
    run_free(&r);
    mock_stop(&m);
}

TEST(backoff_429x3_virtual)
{
    ftsb_http_options o = opts();
    struct mock m;
    struct run r;

    o.backoff_base_ms = 1000;
    if (mock_start(&m, "b429", "chat status=429 x3\n"))
        SKIP("mock did not start");
    run_init(&r, &o, "b429");
    CHECK_INT(run_send(&r, m.url, FTSB_HTTP_LEDGER, 1), FTSB_OK);
    CHECK_INT(r.resp[0].outcome, FTSB_HTTP_OK);
    CHECK_INT(r.resp[0].attempts, 4);
    CHECK_INT(mock_count(&m), 4);
    /* equal jitter: at least half of 1 + 2 + 4 s, at most all of it */
    CHECK(r.vc.slept >= 3500 && r.vc.slept <= 7000 + 600);
    CHECK_INT(calls_of(r.store), 4);
    run_free(&r);
    mock_stop(&m);
}

TEST(request_budget_virtual)
{
    ftsb_http_options o = opts();
    struct mock m;
    struct run r;

    o.backoff_base_ms = 1000;
    o.backoff_cap_ms = 1000;
    o.request_budget_ms = 2500;   /* room for 3 attempts 1 s apart */
    if (mock_start(&m, "budget", "chat status=503 x*\n"))
        SKIP("mock did not start");
    run_init(&r, &o, NULL);
    CHECK_INT(run_send(&r, m.url, 0, 1), FTSB_OK);
    CHECK_INT(r.resp[0].outcome, FTSB_HTTP_SERVER);
    CHECK(r.resp[0].attempts >= 3 && r.resp[0].attempts <= 5);
    CHECK_INT(mock_count(&m), (int)r.resp[0].attempts);
    CHECK_CONTAINS(r.error[0].buf, "budget");
    CHECK_CONTAINS(r.error[0].buf, "still answered HTTP 503 (mock failure)");
    run_free(&r);
    mock_stop(&m);
}

TEST(kept_answers_and_duplicates)
{
    ftsb_http_options o = opts();
    struct mock m;
    struct run r;

    if (mock_start(&m, "keep", ""))
        SKIP("mock did not start");
    run_init(&r, &o, "keep");
    /* three identical paid requests in one batch: sent once */
    CHECK_INT(run_send(&r, m.url, FTSB_HTTP_KEEP, 3), FTSB_OK);
    CHECK_INT(mock_count(&m), 1);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(r.resp[i].outcome, FTSB_HTTP_OK);
        CHECK_CONTAINS(r.body[i].buf, "mock answer: hi");
    }
    /* again: answered from the store, nothing sent */
    CHECK_INT(run_send(&r, m.url, FTSB_HTTP_KEEP, 1), FTSB_OK);
    CHECK_INT(r.resp[0].from_journal, 1);
    CHECK_INT(r.resp[0].outcome, FTSB_HTTP_OK);
    CHECK_INT(mock_count(&m), 1);
    CHECK_INT(calls_of(r.store), 1);
    run_free(&r);
    mock_stop(&m);
}

TEST(once_is_not_resent)
{
    ftsb_http_options o = opts();
    struct mock m;
    struct run r;

    o.backoff_base_ms = 1;
    if (mock_start(&m, "once", "chat status=500\nchat reset\n"))
        SKIP("mock did not start");
    run_init(&r, &o, NULL);
    CHECK_INT(run_send(&r, m.url, FTSB_HTTP_ONCE, 1), FTSB_OK);
    CHECK_INT(r.resp[0].outcome, FTSB_HTTP_IN_DOUBT);
    CHECK_CONTAINS(r.error[0].buf, "may have been carried out");
    CHECK_INT(run_send(&r, m.url, FTSB_HTTP_ONCE, 1), FTSB_OK);
    CHECK_INT(r.resp[0].outcome, FTSB_HTTP_IN_DOUBT);
    CHECK_INT(mock_count(&m), 2);
    run_free(&r);
    mock_stop(&m);
}

TEST(auth_stops_the_client)
{
    ftsb_http_options o = opts();
    struct mock m;
    struct run r;

    if (mock_start(&m, "auth", "chat status=401 msg=Incorrect API key\n"))
        SKIP("mock did not start");
    run_init(&r, &o, NULL);
    CHECK_INT(run_send(&r, m.url, 0, 1), FTSB_E_AUTH);
    CHECK_INT(r.resp[0].outcome, FTSB_HTTP_AUTH);
    CHECK_CONTAINS(r.err.msg, "refused the credentials: HTTP 401 (Incorrect "
                              "API key)");
    CHECK_INT(run_send(&r, m.url, 0, 2), FTSB_E_AUTH);
    CHECK_INT(r.resp[1].outcome, FTSB_HTTP_NOT_SENT);
    CHECK_INT(mock_count(&m), 1);
    run_free(&r);
    mock_stop(&m);
}

TEST(requests_per_minute_virtual)
{
    ftsb_http_options o = opts();
    struct mock m;
    struct run r;

    o.requests_per_minute = 60;   /* one a second, no burst */
    if (mock_start(&m, "rpm", ""))
        SKIP("mock did not start");
    run_init(&r, &o, NULL);
    CHECK_INT(run_send(&r, m.url, 0, 3), FTSB_OK);
    for (int i = 0; i < 3; i++)
        CHECK_INT(r.resp[i].outcome, FTSB_HTTP_OK);
    CHECK_INT(mock_count(&m), 3);
    /* the second and third wait about a second each (virtual) */
    CHECK(r.vc.slept >= 1800 && r.vc.slept <= 2600);
    run_free(&r);
    mock_stop(&m);
}

TEST(in_doubt_settled_once)
{
    struct store *s = NULL;
    struct err err;
    char path[300];
    int64_t id, n = -1;

    snprintf(path, sizeof path, "%s/doubt.db", tmp);
    err_clear(&err);
    CHECK(store_open(path, &s, &err) == FTSB_OK);
    CHECK(store_call_begin(s, "w1", "chat", &id, &err) == FTSB_OK);
    CHECK(store_call_begin(s, "w2", "chat", &id, &err) == FTSB_OK);
    CHECK(net_ledger_settle(s, "test", &err) == FTSB_OK);
    CHECK(store_calls_in_doubt(s, &n, &err) == FTSB_OK);
    CHECK_INT(n, 0);
    CHECK(store_call_begin(s, "w3", "chat", &id, &err) == FTSB_OK);
    CHECK(net_ledger_settle(s, "test", &err) == FTSB_OK);   /* once only */
    CHECK(store_calls_in_doubt(s, &n, &err) == FTSB_OK);
    CHECK_INT(n, 1);
    store_close(s);
}

int main(int argc, char **argv)
{
    const char *base = getenv("TMPDIR");

    mock_bin = argc > 1 ? argv[1] : NULL;
    snprintf(tmp, sizeof tmp, "%s/ftsb-test-http-XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    setenv("NO_PROXY", "*", 1);
    RUN(status_lines);
    RUN(retry_after);
    RUN(head_lines);
    RUN(error_texts);
    RUN(redaction);
    RUN(keys);
    if (mock_bin) {
        RUN(retry_after_virtual);
        RUN(backoff_429x3_virtual);
        RUN(request_budget_virtual);
        RUN(kept_answers_and_duplicates);
        RUN(once_is_not_resent);
        RUN(auth_stops_the_client);
        RUN(requests_per_minute_virtual);
    }
    RUN(in_doubt_settled_once);
    return test_summary();
}
