/*
 * http.c - the core's HTTP client: one retry layer for every plugin.
 *
 * A batch of requests runs on the caller's thread through one curl multi
 * handle: up to max_concurrency transfers at once over kept-alive
 * connections, each attempt classified when it ends (2xx, retryable
 * status, final status, network failure before or after the request
 * could have been sent), retried with equal-jitter exponential backoff or
 * exactly as Retry-After asks, within an attempt count and a time budget.
 * Paid calls are written to the run store's ledger before each attempt
 * is sent and ended after it, so a kill leaves evidence of what may have
 * been billed (reliability.md §4.5-4.6, R3, R6).  Everything a server
 * sends back passes through the key's redactor before anyone sees it.
 *
 * Time: waits (backoff, Retry-After, rate limits, the breaker's pause)
 * are measured on the client's clock, which tests replace with a virtual
 * one, and shortened by FTSB_TEST_TIME_SCALE; timeouts are real time.
 */
#include "../ftsb_setup.h"

#include <curl/curl.h>
#include <pthread.h>
#include <time.h>

#include "../store/store.h"
#include "../util/log.h"
#include "../util/sha256.h"
#include "http_parse.h"
#include "net.h"

#define DEF_CONCURRENCY 8
#define DEF_ATTEMPTS 6
#define DEF_BASE_MS 1000
#define DEF_CAP_MS 60000
#define DEF_RETRY_AFTER_MAX_MS 120000
#define DEF_BUDGET_MS 600000
#define DEF_CONNECT_MS 10000
#define DEF_ATTEMPT_MS 600000
#define DEF_STALL_MS 30000
#define DEF_MAX_BODY (16u << 20)
#define MAX_CONCURRENCY 1024
#define MAX_ATTEMPTS 100
#define WORK_KEY_MAX 200
/* The breaker looks at this many recent attempts. */
#define BREAKER_WINDOW 100
#define BREAKER_MIN 20
/* Longest idle slice, so Ctrl-C is noticed quickly. */
#define SLICE_MS 200
#define KEPT_NS "ftsb.http.kept"

/* ---- process-wide setup ------------------------------------------------- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static double time_scale = 1.0;
static CURLcode global_rc;

static void global_setup(void)
{
    const char *s = getenv("FTSB_TEST_TIME_SCALE");

    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (s && *s) {
        char *end;
        double v = strtod(s, &end);

        if (*end == '\0' && v > 0 && v <= 1)
            time_scale = v;
    }
}

void net_global_init(void)
{
    pthread_once(&global_once, global_setup);
}

uint64_t net_scale_ms(uint64_t ms)
{
    net_global_init();
    if (time_scale >= 1.0)
        return ms;
    return (uint64_t)((double)ms * time_scale + 0.5);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_real_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static uint64_t real_now(void *ud)
{
    (void)ud;
    return mono_ms();
}

static void real_sleep(void *ud, uint64_t ms)
{
    (void)ud;
    sleep_real_ms(ms);
}

ftsb_status net_wait_ms(const volatile sig_atomic_t *cancel, uint64_t ms)
{
    uint64_t left = net_scale_ms(ms);

    while (left) {
        uint64_t slice = left < SLICE_MS ? left : SLICE_MS;

        if (cancel && *cancel)
            return FTSB_E_CANCELLED;
        sleep_real_ms(slice);
        left -= slice;
    }
    return cancel && *cancel ? FTSB_E_CANCELLED : FTSB_OK;
}

/* ---- the client --------------------------------------------------------- */

struct ftsb_http_client {
    CURLM *multi;
    CURL **pool;               /* idle easy handles, reused */
    size_t n_pool;
    char **headers;            /* "Name: value", copied */
    uint32_t n_headers;
    char *auth_line;           /* the whole header line; wiped on free */
    char *auth_name;           /* its name, for the debug redaction */
    char *user_agent;
    struct net_redactor red;
    /* policy, defaults resolved */
    uint32_t concurrency, max_attempts, base_ms, cap_ms, retry_after_max_ms;
    uint32_t budget_ms, connect_ms, attempt_ms, stall_ms;
    uint64_t max_body;
    double rpm, tpm, rpm_level, tpm_level;
    uint64_t bucket_ms;
    /* breaker */
    unsigned char window[BREAKER_WINDOW];
    uint32_t win_n, win_pos, win_fail;
    uint64_t paused_until;
    /* stopped by 401/403: later batches fail at once with this */
    ftsb_status stop_code;
    char stop_msg[ERR_MSG_MAX];
    struct net_clock clock;
    uint64_t rid;              /* request ids of attempts without a ledger */
    uint64_t rng;
};

static uint64_t rng_next(struct ftsb_http_client *c)
{
    /* xorshift64*: jitter needs spread, not secrecy */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * 0x2545f4914f6cdd1dULL;
}

static uint32_t pick(uint32_t v, uint32_t def)
{
    return v ? v : def;
}

/* A header line given by the plugin: "Name: value", visible name, no
 * line breaks, and not a way around the secret handling. */
static int header_ok(const char *h)
{
    const char *colon = strchr(h, ':');

    if (!colon || colon == h || strpbrk(h, "\r\n"))
        return 0;
    for (const char *p = h; p < colon; p++)
        if (*p <= ' ' || *p >= 0x7f)
            return 0;
    if ((size_t)(colon - h) == 13 && strncasecmp(h, "authorization", 13) == 0)
        return 0;
    return 1;
}

ftsb_status net_client_new(const ftsb_http_options *o,
                           struct ftsb_http_client **out, struct err *err)
{
    struct ftsb_http_client *c;
    ftsb_http_options opt;
    size_t n = 0;

    *out = NULL;
    net_global_init();
    if (global_rc != CURLE_OK)
        return err_set(err, FTSB_E_NETWORK, "cannot initialise libcurl: %s",
                       curl_easy_strerror(global_rc));
    memset(&opt, 0, sizeof opt);
    if (o)
        memcpy(&opt, o, o->struct_size < sizeof opt ? o->struct_size
                                                    : sizeof opt);
    for (uint32_t i = 0; i < opt.n_headers; i++)
        if (!opt.headers || !opt.headers[i] || !header_ok(opt.headers[i]))
            return err_set(err, FTSB_E_INVALID,
                           "HTTP header %u '%.80s' is malformed or not "
                           "allowed: give 'Name: value' on one line, and the "
                           "key through its variable or file", i + 1,
                           opt.headers && opt.headers[i] ? opt.headers[i]
                                                         : "(null)");
    if (opt.auth_header && (!*opt.auth_header || strpbrk(opt.auth_header,
                                                         ": \r\n\t")))
        return err_set(err, FTSB_E_INVALID,
                       "HTTP header name '%.80s' for the key is malformed",
                       opt.auth_header);
    if (!(c = calloc(1, sizeof *c)))
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    c->concurrency = pick(opt.max_concurrency, DEF_CONCURRENCY);
    if (c->concurrency > MAX_CONCURRENCY)
        c->concurrency = MAX_CONCURRENCY;
    c->max_attempts = pick(opt.max_attempts, DEF_ATTEMPTS);
    if (c->max_attempts > MAX_ATTEMPTS)
        c->max_attempts = MAX_ATTEMPTS;
    c->base_ms = pick(opt.backoff_base_ms, DEF_BASE_MS);
    c->cap_ms = pick(opt.backoff_cap_ms, DEF_CAP_MS);
    if (c->cap_ms < c->base_ms)
        c->cap_ms = c->base_ms;
    c->retry_after_max_ms = pick(opt.retry_after_max_ms,
                                 DEF_RETRY_AFTER_MAX_MS);
    c->budget_ms = pick(opt.request_budget_ms, DEF_BUDGET_MS);
    c->connect_ms = pick(opt.connect_timeout_ms, DEF_CONNECT_MS);
    c->attempt_ms = pick(opt.attempt_timeout_ms, DEF_ATTEMPT_MS);
    c->stall_ms = pick(opt.stall_ms, DEF_STALL_MS);
    c->max_body = opt.max_response_bytes ? opt.max_response_bytes
                                         : DEF_MAX_BODY;
    c->rpm = opt.requests_per_minute > 0 ? opt.requests_per_minute : 0;
    c->tpm = opt.tokens_per_minute > 0 ? opt.tokens_per_minute : 0;
    c->clock = (struct net_clock){real_now, real_sleep, NULL};
    c->rng = mono_ms() ^ (uint64_t)(uintptr_t)c ^ 0x9e3779b97f4a7c15ULL;
    if (!c->rng)
        c->rng = 1;
    c->multi = curl_multi_init();
    if (!c->multi)
        goto nomem;
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long)c->concurrency);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS,
                      (long)(c->concurrency < 16 ? 16 : c->concurrency));
    if (!(c->pool = calloc(c->concurrency, sizeof *c->pool)))
        goto nomem;
    if (opt.n_headers) {
        if (!(c->headers = calloc(opt.n_headers, sizeof *c->headers)))
            goto nomem;
        for (; n < opt.n_headers; n++, c->n_headers++)
            if (!(c->headers[n] = strdup(opt.headers[n])))
                goto nomem;
    }
    c->user_agent = strdup(opt.user_agent && *opt.user_agent
                               ? opt.user_agent
                               : "ftsb/" FTSB_VERSION);
    if (!c->user_agent)
        goto nomem;
    if (opt.auth) {
        size_t klen;
        const char *key = net_secret_value(opt.auth, &klen);
        const char *name = opt.auth_header ? opt.auth_header
                                           : "Authorization";
        struct strbuf line = STRBUF_INIT;

        if (strbuf_addf(&line, "%s: %s", name,
                        opt.auth_header ? "" : "Bearer ") ||
            strbuf_add(&line, key, klen))
            goto nomem;
        c->auth_line = line.buf;
        if (!(c->auth_name = strdup(name)) ||
            net_redactor_init(&c->red, key, klen))
            goto nomem;
    }
    c->rpm_level = c->rpm > 0 ? (c->rpm / 60 < 1 ? 1 : c->rpm / 60) : 0;
    c->tpm_level = c->tpm > 0 ? (c->tpm / 60 < 1 ? 1 : c->tpm / 60) : 0;
    c->bucket_ms = c->clock.now_ms(c->clock.ud);
    *out = c;
    return FTSB_OK;
nomem:
    net_client_free(c);
    return err_set(err, FTSB_E_NOMEM, "out of memory");
}

void net_client_free(struct ftsb_http_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_pool; i++)
        curl_easy_cleanup(c->pool[i]);
    free(c->pool);
    if (c->multi)
        curl_multi_cleanup(c->multi);
    for (uint32_t i = 0; i < c->n_headers; i++)
        free(c->headers[i]);
    free(c->headers);
    if (c->auth_line) {
        volatile char *p = c->auth_line;

        while (*p)
            *p++ = 0;
        free(c->auth_line);
    }
    free(c->auth_name);
    free(c->user_agent);
    net_redactor_free(&c->red);
    free(c);
}

void net_client_set_clock(struct ftsb_http_client *c,
                          const struct net_clock *clk)
{
    c->clock = *clk;
    c->bucket_ms = c->clock.now_ms(c->clock.ud);
}

/* ---- one batch ---------------------------------------------------------- */

enum xstate { X_WAIT, X_RUN, X_DONE };

/* How an attempt ended. */
enum verdict {
    V_OK,           /* 2xx */
    V_RETRY_STATUS, /* 408, 429, 5xx */
    V_STATUS,       /* any other status: final */
    V_AUTH,         /* 401, 403 */
    V_REDIRECT,     /* 3xx */
    V_OVERSIZE,
    V_NET_UNSENT,   /* could not have reached the server: retry */
    V_NET_SENT,     /* may have reached it: retry unless ONCE */
    V_NET_FATAL,    /* a local problem (bad URL...): final */
};

struct xfer {
    struct batch *b;
    const ftsb_http_request *req;
    ftsb_http_response *resp;
    uint32_t index;
    int state;
    int dup_of;                /* the identical KEEP request sent instead */
    uint32_t attempts;
    uint64_t first_ms, not_before_ms, last_rx_ms;
    int64_t call_id;           /* ledger row of the running attempt, or 0 */
    int64_t tokens_held;
    char key[WORK_KEY_MAX + 1];
    char rid[96];              /* X-Client-Request-Id of the attempt */
    CURL *easy;
    struct curl_slist *hdrs;
    curl_mime *mime;
    struct strbuf body;
    struct http_head head;
    int head_done, oversize, stalled;
    char errbuf[CURL_ERROR_SIZE];
};

struct batch {
    struct ftsb_http_client *c;
    const struct net_env *env;
    struct xfer *x;
    uint32_t n, running, done_count;
    ftsb_http_done_fn done;
    void *ud;
    int stop;                  /* start nothing more */
    char stop_why[ERR_MSG_MAX];
    ftsb_status fatal;         /* the batch's status */
    struct err *err;
};

static const char *what_of(const struct xfer *x)
{
    return x->req->what && *x->req->what ? x->req->what : "http";
}

static int uses_ledger(const struct xfer *x)
{
    return (x->req->flags & (FTSB_HTTP_LEDGER | FTSB_HTTP_KEEP)) &&
           x->b->env->store;
}

static void stop_batch(struct batch *b, const char *why)
{
    if (!b->stop) {
        b->stop = 1;
        snprintf(b->stop_why, sizeof b->stop_why, "%s", why);
    }
}

/* A fatal problem for the whole batch (the ledger cannot be written). */
static void fail_batch(struct batch *b, ftsb_status code, const char *msg)
{
    if (!b->fatal) {
        b->fatal = code;
        err_set(b->err, code, "%s", msg);
    }
    stop_batch(b, msg);
}

static void set_error(struct xfer *x, const char *fmt, ...) FTSB_PRINTF(2, 3);
static void set_error(struct xfer *x, const char *fmt, ...)
{
    struct strbuf *e = (struct strbuf *)x->resp->error;
    va_list ap;

    strbuf_reset(e);
    va_start(ap, fmt);
    strbuf_vaddf(e, fmt, ap);
    va_end(ap);
    net_redactor_apply(&x->b->c->red, e);
}

static void ledger_end(struct xfer *x, const char *outcome)
{
    struct err e;

    if (!x->call_id)
        return;
    err_clear(&e);
    if (store_call_end(x->b->env->store, x->call_id, outcome, &e))
        fail_batch(x->b, FTSB_E_IO, e.msg);
    x->call_id = 0;
}

/* The provider's account of a failed response, for messages. */
static void provider_text(const struct xfer *x, struct strbuf *out)
{
    struct strbuf t = STRBUF_INIT;

    if (http_error_text(x->body.buf, x->body.len, 300, &t) == FTSB_OK &&
        t.len) {
        strbuf_addf(out, " (%s)", t.buf);
    }
    if (x->head.request_id[0])
        strbuf_addf(out, " [request id %s]", x->head.request_id);
    strbuf_release(&t);
}

/* ---- curl callbacks ----------------------------------------------------- */

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * nmemb;

    x->last_rx_ms = x->b->c->clock.now_ms(x->b->c->clock.ud);
    http_head_line(&x->head, data, len, (int64_t)time(NULL));
    if (len <= 2 && (len == 0 || data[0] == '\r' || data[0] == '\n')) {
        if (x->head.status >= 200)
            x->head_done = 1;
    }
    if (x->head.has_length && x->head.content_length > x->b->c->max_body) {
        x->oversize = 1;
        return 0;   /* aborts the transfer */
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * nmemb;

    x->last_rx_ms = x->b->c->clock.now_ms(x->b->c->clock.ud);
    x->head_done = 1;
    if (len > x->b->c->max_body - x->body.len) {
        x->oversize = 1;
        return 0;
    }
    if (strbuf_add(&x->body, data, len))
        return 0;
    return len;
}

/* curl's trace, at the most verbose level only, with the key's header
 * replaced and every line through the redactor. */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size,
                    void *ud)
{
    struct xfer *x = ud;
    struct ftsb_http_client *c = x->b->c;
    const char *tag;
    size_t i = 0;

    (void)h;
    switch (type) {
    case CURLINFO_TEXT: tag = "*"; break;
    case CURLINFO_HEADER_IN: tag = "<"; break;
    case CURLINFO_HEADER_OUT: tag = ">"; break;
    case CURLINFO_DATA_IN:
        log_msg(5, x->b->env->label, "curl: < %zu bytes of body", size);
        return 0;
    case CURLINFO_DATA_OUT:
        log_msg(5, x->b->env->label, "curl: > %zu bytes of body", size);
        return 0;
    default:
        return 0;
    }
    while (i < size) {
        struct strbuf line = STRBUF_INIT;
        size_t j = i;

        while (j < size && data[j] != '\n')
            j++;
        if (c->auth_name && j - i > strlen(c->auth_name) &&
            strncasecmp(data + i, c->auth_name, strlen(c->auth_name)) == 0 &&
            data[i + strlen(c->auth_name)] == ':') {
            strbuf_addf(&line, "%s: [REDACTED]", c->auth_name);
        } else {
            strbuf_add(&line, data + i, j - i);
            while (line.len && (line.buf[line.len - 1] == '\r'))
                line.buf[--line.len] = '\0';
        }
        if (net_redactor_apply(&c->red, &line) == FTSB_OK && line.len)
            log_msg(5, x->b->env->label, "curl: %s %s", tag, line.buf);
        strbuf_release(&line);
        i = j + 1;
    }
    return 0;
}

/* ---- attempts ----------------------------------------------------------- */

static ftsb_status build_headers(struct xfer *x)
{
    struct ftsb_http_client *c = x->b->c;
    struct curl_slist *l = NULL, *t;
    char line[160];

#define ADD(s)                                                              \
    do {                                                                    \
        if (!(t = curl_slist_append(l, (s))))                               \
            goto nomem;                                                     \
        l = t;                                                              \
    } while (0)
    for (uint32_t i = 0; i < c->n_headers; i++)
        ADD(c->headers[i]);
    if (c->auth_line)
        ADD(c->auth_line);
    if (x->req->body && !x->req->n_parts) {
        snprintf(line, sizeof line, "Content-Type: %.120s",
                 x->req->content_type ? x->req->content_type
                                      : "application/json");
        ADD(line);
    }
    /* no "Expect: 100-continue" round trip before large bodies */
    ADD("Expect:");
    snprintf(line, sizeof line, "X-Client-Request-Id: %s", x->rid);
    ADD(line);
#undef ADD
    x->hdrs = l;
    return FTSB_OK;
nomem:
    curl_slist_free_all(l);
    return FTSB_E_NOMEM;
}

static ftsb_status build_mime(struct xfer *x)
{
    curl_mime *m = curl_mime_init(x->easy);

    if (!m)
        return FTSB_E_NOMEM;
    for (uint32_t i = 0; i < x->req->n_parts; i++) {
        const ftsb_http_part *p = &x->req->parts[i];
        curl_mimepart *part = curl_mime_addpart(m);

        if (!part || curl_mime_name(part, p->name) != CURLE_OK ||
            curl_mime_data(part, p->data ? p->data : "", p->len) != CURLE_OK ||
            (p->filename &&
             curl_mime_filename(part, p->filename) != CURLE_OK) ||
            (p->content_type &&
             curl_mime_type(part, p->content_type) != CURLE_OK)) {
            curl_mime_free(m);
            return FTSB_E_NOMEM;
        }
    }
    x->mime = m;
    return FTSB_OK;
}

static CURL *easy_get(struct ftsb_http_client *c)
{
    if (c->n_pool)
        return c->pool[--c->n_pool];
    return curl_easy_init();
}

/* Returns a handle to the pool (or frees it when the pool is full). */
static void easy_put(struct ftsb_http_client *c, CURL *e)
{
    curl_easy_reset(e);
    if (c->n_pool < c->concurrency)
        c->pool[c->n_pool++] = e;
    else
        curl_easy_cleanup(e);
}

static void release_attempt(struct xfer *x)
{
    struct ftsb_http_client *c = x->b->c;

    if (x->easy) {
        curl_multi_remove_handle(c->multi, x->easy);
        easy_put(c, x->easy);
        x->easy = NULL;
    }
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    curl_mime_free(x->mime);
    x->mime = NULL;
}

static ftsb_status start_attempt(struct xfer *x)
{
    struct batch *b = x->b;
    struct ftsb_http_client *c = b->c;
    const ftsb_http_request *r = x->req;
    uint64_t now = c->clock.now_ms(c->clock.ud);
    uint64_t timeout = c->attempt_ms;
    struct err e;
    CURL *h;

    if (uses_ledger(x)) {
        err_clear(&e);
        if (store_call_begin(b->env->store, x->key, what_of(x), &x->call_id,
                             &e)) {
            fail_batch(b, FTSB_E_IO, e.msg);
            return FTSB_E_IO;
        }
        snprintf(x->rid, sizeof x->rid, "ftsb-%lld-%.16s",
                 (long long)x->call_id, x->key);
    } else {
        snprintf(x->rid, sizeof x->rid, "ftsb-r%llu",
                 (unsigned long long)++c->rid);
    }
    if (!x->attempts)
        x->first_ms = now;
    x->attempts++;
    x->resp->attempts = x->attempts;
    strbuf_reset(&x->body);
    http_head_reset(&x->head);
    x->head_done = x->oversize = x->stalled = 0;
    x->errbuf[0] = '\0';
    x->last_rx_ms = now;
    if (!(h = x->easy = easy_get(c)) || build_headers(x) ||
        (r->n_parts && build_mime(x)))
        goto nomem;
    /* the budget bounds this attempt too */
    if (now - x->first_ms < c->budget_ms &&
        c->budget_ms - (now - x->first_ms) < timeout)
        timeout = c->budget_ms - (now - x->first_ms);
    curl_easy_setopt(h, CURLOPT_URL, r->url);
    curl_easy_setopt(h, CURLOPT_PRIVATE, x);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
    if (log_level() >= 5) {
        curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
        curl_easy_setopt(h, CURLOPT_DEBUGDATA, x);
        curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    }
    if (r->flags & FTSB_HTTP_ONCE) {
        /* libcurl silently sends a request again when a reused
         * connection turns out closed before any answer: fine for a
         * read, not for a job creation.  A fresh connection has no such
         * second try. */
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    }
    if (r->n_parts) {
        curl_easy_setopt(h, CURLOPT_MIMEPOST, x->mime);
    } else if (strcmp(r->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(r->body ? r->body_len : 0));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body ? r->body : "");
    }
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "POST") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    if (curl_multi_add_handle(c->multi, h) != CURLM_OK)
        goto nomem;
    x->state = X_RUN;
    b->running++;
    log_msg(FTSB_LOG_DEBUG, b->env->label, "%s %s: attempt %u of %u (%s)",
            r->method, r->url, x->attempts, c->max_attempts, x->rid);
    return FTSB_OK;
nomem:
    release_attempt(x);
    ledger_end(x, "error: not sent (out of memory)");
    fail_batch(b, FTSB_E_NOMEM, "out of memory");
    return FTSB_E_NOMEM;
}

static enum verdict classify(struct xfer *x, CURLcode rc, int *sent)
{
    curl_off_t req_size = 0;
    int status = x->head.status;

    curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &req_size);
    *sent = req_size > 0 || status != 0;
    if (x->oversize)
        return V_OVERSIZE;
    if (x->stalled)
        return V_NET_SENT;
    if (rc == CURLE_OK) {
        if (status >= 200 && status <= 299)
            return V_OK;
        if (status == 401 || status == 403)
            return V_AUTH;
        if (status >= 300 && status <= 399)
            return V_REDIRECT;
        if (status == 408 || status == 429 ||
            (status >= 500 && status <= 599 && status != 501 &&
             status != 505))
            return V_RETRY_STATUS;
        if (status == 0)
            return V_NET_SENT;   /* not HTTP: a broken response */
        return V_STATUS;
    }
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        *sent = 0;
        return V_NET_UNSENT;
    case CURLE_OPERATION_TIMEDOUT:
        return *sent ? V_NET_SENT : V_NET_UNSENT;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_WEIRD_SERVER_REPLY:
        return *sent ? V_NET_SENT : V_NET_UNSENT;
    default:
        return V_NET_FATAL;
    }
}

static const char *net_reason(struct xfer *x, CURLcode rc)
{
    if (x->stalled)
        return "the response stalled";
    if (x->errbuf[0])
        return x->errbuf;
    return curl_easy_strerror(rc);
}

static void breaker_record(struct ftsb_http_client *c, int failed)
{
    if (c->win_n == BREAKER_WINDOW)
        c->win_fail -= c->window[c->win_pos];
    else
        c->win_n++;
    c->window[c->win_pos] = (unsigned char)(failed != 0);
    c->win_fail += failed != 0;
    c->win_pos = (c->win_pos + 1) % BREAKER_WINDOW;
}

static void breaker_check(struct batch *b, uint64_t now)
{
    struct ftsb_http_client *c = b->c;

    if (c->win_n < BREAKER_MIN || 2 * c->win_fail < c->win_n ||
        c->paused_until > now)
        return;
    c->paused_until = now + net_scale_ms(c->cap_ms);
    log_msg(FTSB_LOG_WARN, b->env->label,
            "%u of the last %u attempts failed with server or network "
            "errors; pausing new requests for %u s", c->win_fail, c->win_n,
            (unsigned)(c->cap_ms / 1000));
    /* start afresh after the pause, so one probe decides */
    c->win_n = c->win_fail = c->win_pos = 0;
}

/* Puts the response's body (redacted) into the caller's sink. */
static void hand_body(struct xfer *x)
{
    struct strbuf *out = (struct strbuf *)x->resp->body;

    net_redactor_apply(&x->b->c->red, &x->body);
    strbuf_reset(out);
    if (strbuf_add(out, x->body.buf, x->body.len))
        fail_batch(x->b, FTSB_E_NOMEM, "out of memory");
}

/* Gives back what a request's estimate took beyond what it used (or
 * takes the excess), once it is done. */
static void limiter_refund(struct ftsb_http_client *c, struct xfer *x)
{
    if (c->tpm > 0 && x->tokens_held > 0) {
        c->tpm_level += (double)(x->tokens_held - x->resp->tokens);
        if (c->tpm_level > (c->tpm / 60 < 1 ? 1 : c->tpm / 60))
            c->tpm_level = c->tpm / 60 < 1 ? 1 : c->tpm / 60;
    }
    x->tokens_held = 0;
}

static void finish(struct xfer *x, int32_t outcome);

/* Copies the outcome of x to the identical requests that waited for it. */
static void finish_dups(struct xfer *x)
{
    struct batch *b = x->b;

    for (uint32_t i = 0; i < b->n; i++) {
        struct xfer *d = &b->x[i];

        if (d->dup_of != (int)x->index || d->state == X_DONE)
            continue;
        d->resp->status = x->resp->status;
        d->resp->attempts = 0;
        d->resp->from_journal = x->resp->from_journal;
        strbuf_reset((struct strbuf *)d->resp->body);
        strbuf_reset((struct strbuf *)d->resp->error);
        strbuf_add((struct strbuf *)d->resp->body,
                   ((struct strbuf *)x->resp->body)->buf,
                   ((struct strbuf *)x->resp->body)->len);
        strbuf_add((struct strbuf *)d->resp->error,
                   ((struct strbuf *)x->resp->error)->buf,
                   ((struct strbuf *)x->resp->error)->len);
        finish(d, x->resp->outcome);
    }
}

/* Makes x final, tells the plugin, and settles waiting duplicates. */
static void finish(struct xfer *x, int32_t outcome)
{
    struct batch *b = x->b;
    int32_t answer;

    x->state = X_DONE;
    x->resp->outcome = outcome;
    b->done_count++;
    if (b->done) {
        answer = b->done(b->ud, x->index, x->resp);
        if (answer == FTSB_HTTP_STOP)
            stop_batch(b, "the backend stopped the batch (a budget ran out)");
    }
    limiter_refund(b->c, x);
    finish_dups(x);
}

/* A 2xx: ask the plugin, then end the ledger row and keep the body in
 * one transaction. */
static void succeed(struct xfer *x)
{
    struct batch *b = x->b;
    struct store *s = b->env->store;
    int32_t answer = FTSB_HTTP_ACCEPT;
    struct strbuf kept = STRBUF_INIT;
    char outcome[48];
    struct err e;

    hand_body(x);
    x->resp->outcome = FTSB_HTTP_OK;
    x->state = X_DONE;
    b->done_count++;
    if (b->done)
        answer = b->done(b->ud, x->index, x->resp);
    if (answer == FTSB_HTTP_REJECT) {
        x->resp->outcome = FTSB_HTTP_REJECTED;
        if (!((struct strbuf *)x->resp->error)->len)
            set_error(x, "'%s' answered HTTP %d with a body the backend "
                      "cannot use", x->req->url, x->head.status);
    }
    if (answer == FTSB_HTTP_STOP)
        stop_batch(b, "the backend stopped the batch (a budget ran out)");
    snprintf(outcome, sizeof outcome, "http %d%s", x->head.status,
             answer == FTSB_HTTP_REJECT ? " rejected" : "");
    if (x->call_id) {
        int keep = (x->req->flags & FTSB_HTTP_KEEP) &&
                   answer != FTSB_HTTP_REJECT;
        ftsb_status st;

        err_clear(&e);
        st = store_begin(s, &e);
        if (!st)
            st = store_call_end(s, x->call_id, outcome, &e);
        if (!st && keep) {
            st = strbuf_addf(&kept, "%d\n", x->head.status);
            if (!st)
                st = strbuf_add(&kept, x->body.buf, x->body.len);
            if (st)
                err_set(&e, st, "out of memory");
            else
                st = store_kv_put(s, KEPT_NS, x->key, kept.buf, kept.len,
                                  &e);
        }
        if (!st)
            st = store_commit(s, &e);
        if (st) {
            store_rollback(s);
            fail_batch(b, FTSB_E_IO, e.msg);
        }
        x->call_id = 0;
    }
    strbuf_release(&kept);
    limiter_refund(b->c, x);
    finish_dups(x);
}

static uint64_t backoff_ms(struct ftsb_http_client *c, uint32_t failures)
{
    uint64_t d = c->base_ms;

    for (uint32_t i = 1; i < failures && d < c->cap_ms; i++)
        d *= 2;
    if (d > c->cap_ms)
        d = c->cap_ms;
    /* equal jitter: [d/2, d] */
    return d / 2 + (d - d / 2 ? rng_next(c) % (d - d / 2 + 1) : 0);
}

/* Ends a retryable failure: schedules the next attempt, or ends x with
 * outcome when attempts, time or the server's patience ran out. */
static void retry_or_fail(struct xfer *x, int32_t outcome,
                          const char *what_failed)
{
    struct batch *b = x->b;
    struct ftsb_http_client *c = b->c;
    uint64_t now = c->clock.now_ms(c->clock.ud), wait;
    int from_header = x->head.retry_after_ms >= 0 &&
                      (x->head.status == 429 || x->head.status == 503 ||
                       x->head.status == 408);
    struct strbuf more = STRBUF_INIT;

    if (x->head.status)
        provider_text(x, &more);
    if (from_header && (uint64_t)x->head.retry_after_ms >
                           c->retry_after_max_ms) {
        set_error(x, "'%s' %s%s and asked to wait %lld s (Retry-After), "
                  "longer than the %u s allowed; try again later",
                  x->req->url, what_failed, more.buf,
                  (long long)(x->head.retry_after_ms + 999) / 1000,
                  c->retry_after_max_ms / 1000);
        goto final;
    }
    wait = from_header ? net_scale_ms((uint64_t)x->head.retry_after_ms)
                       : net_scale_ms(backoff_ms(c, x->attempts));
    if (x->attempts >= c->max_attempts) {
        set_error(x, "'%s' %s%s; gave up after %u attempts", x->req->url,
                  what_failed, more.buf, x->attempts);
        goto final;
    }
    if (now + wait - x->first_ms >= c->budget_ms) {
        set_error(x, "'%s' %s%s; gave up after %u attempts: the next one "
                  "would start after the request's %u s budget",
                  x->req->url, what_failed, more.buf, x->attempts,
                  c->budget_ms / 1000);
        goto final;
    }
    log_msg(FTSB_LOG_DEBUG, b->env->label,
            "%s %s: attempt %u %s%s; next attempt in %llu ms%s",
            x->req->method, x->req->url, x->attempts, what_failed,
            more.buf, (unsigned long long)wait,
            from_header ? " (Retry-After)" : "");
    x->not_before_ms = now + wait;
    x->state = X_WAIT;
    strbuf_release(&more);
    return;
final:
    strbuf_release(&more);
    hand_body(x);
    finish(x, outcome);
}

/* An attempt ended (rc from curl). */
static void attempt_done(struct xfer *x, CURLcode rc)
{
    struct batch *b = x->b;
    struct ftsb_http_client *c = b->c;
    int sent = 0, status = x->head.status;
    enum verdict v = classify(x, rc, &sent);
    char outcome[96], what_failed[CURL_ERROR_SIZE + 64];
    struct strbuf more = STRBUF_INIT;

    b->running--;
    x->resp->status = status;
    switch (v) {
    case V_OK:
        release_attempt(x);
        breaker_record(c, 0);
        succeed(x);
        return;
    case V_RETRY_STATUS:
        snprintf(outcome, sizeof outcome, "http %d", status);
        ledger_end(x, outcome);
        release_attempt(x);
        breaker_record(c, status != 429);
        snprintf(what_failed, sizeof what_failed,
                 x->attempts > 1 ? "still answered HTTP %d" : "answered HTTP %d",
                 status);
        if ((x->req->flags & FTSB_HTTP_ONCE) && status != 429) {
            provider_text(x, &more);
            set_error(x, "'%s' answered HTTP %d%s; the request may have "
                      "been carried out, so it is not sent again", x->req->url,
                      status, more.buf);
            hand_body(x);
            finish(x, FTSB_HTTP_IN_DOUBT);
            break;
        }
        retry_or_fail(x, status == 429 ? FTSB_HTTP_RATE_LIMITED
                                       : FTSB_HTTP_SERVER, what_failed);
        break;
    case V_NET_UNSENT:
    case V_NET_SENT: {
        const char *why = net_reason(x, rc);

        snprintf(outcome, sizeof outcome, "%s: %.60s",
                 sent ? "in doubt" : "not sent", why);
        ledger_end(x, outcome);
        release_attempt(x);
        breaker_record(c, 1);
        if (sent && (x->req->flags & FTSB_HTTP_ONCE)) {
            set_error(x, "'%s' failed after the request was sent (%s); it "
                      "may have been carried out, so it is not sent again",
                      x->req->url, why);
            finish(x, FTSB_HTTP_IN_DOUBT);
            break;
        }
        snprintf(what_failed, sizeof what_failed, "failed: %s", why);
        x->head.retry_after_ms = -1;
        retry_or_fail(x, FTSB_HTTP_NETWORK, what_failed);
        break;
    }
    case V_NET_FATAL:
        ledger_end(x, sent ? "in doubt: local error" : "not sent: local error");
        set_error(x, "cannot send a request to '%s': %s", x->req->url,
                  net_reason(x, rc));
        release_attempt(x);
        finish(x, FTSB_HTTP_NETWORK);
        break;
    case V_OVERSIZE:
        ledger_end(x, "oversize");
        set_error(x, "'%s' sent a response larger than %llu bytes; raise "
                  "the response size limit if that is expected",
                  x->req->url, (unsigned long long)c->max_body);
        release_attempt(x);
        strbuf_reset(&x->body);
        hand_body(x);
        finish(x, FTSB_HTTP_OVERSIZE);
        break;
    case V_REDIRECT:
        snprintf(outcome, sizeof outcome, "http %d", status);
        ledger_end(x, outcome);
        set_error(x, "'%s' answered HTTP %d, a redirect to '%s'; redirects "
                  "are not followed, so that the key never goes to another "
                  "address: set the base URL to the final address",
                  x->req->url, status,
                  x->head.location[0] ? x->head.location : "(none)");
        release_attempt(x);
        hand_body(x);
        finish(x, FTSB_HTTP_REDIRECT);
        break;
    case V_AUTH:
        snprintf(outcome, sizeof outcome, "http %d", status);
        ledger_end(x, outcome);
        provider_text(x, &more);
        set_error(x, "'%s' refused the credentials: HTTP %d%s", x->req->url,
                  status, more.buf);
        release_attempt(x);
        hand_body(x);
        c->stop_code = FTSB_E_AUTH;
        snprintf(c->stop_msg, sizeof c->stop_msg, "%s",
                 ((struct strbuf *)x->resp->error)->buf);
        stop_batch(b, c->stop_msg);
        finish(x, FTSB_HTTP_AUTH);
        break;
    case V_STATUS:
        snprintf(outcome, sizeof outcome, "http %d", status);
        ledger_end(x, outcome);
        provider_text(x, &more);
        set_error(x, "'%s' answered HTTP %d%s", x->req->url, status,
                  more.buf);
        release_attempt(x);
        hand_body(x);
        finish(x, FTSB_HTTP_STATUS);
        break;
    }
    strbuf_release(&more);
}

/* A KEEP request answered from the run store: no attempt, no ledger row. */
static int from_kept(struct xfer *x)
{
    struct strbuf v = STRBUF_INIT;
    struct err e;
    int found = 0, status = 0;
    const char *nl;

    err_clear(&e);
    if (store_kv_get(x->b->env->store, KEPT_NS, x->key, &v, &found, &e)) {
        fail_batch(x->b, FTSB_E_IO, e.msg);
        strbuf_release(&v);
        return 0;
    }
    if (!found || !(nl = memchr(v.buf, '\n', v.len)) || nl - v.buf > 3) {
        strbuf_release(&v);
        return 0;
    }
    for (const char *p = v.buf; p < nl; p++)
        status = status * 10 + (*p >= '0' && *p <= '9' ? *p - '0' : 0);
    strbuf_reset(&x->body);
    strbuf_add(&x->body, nl + 1, v.len - (size_t)(nl + 1 - v.buf));
    strbuf_release(&v);
    x->resp->status = status;
    x->resp->from_journal = 1;
    log_msg(FTSB_LOG_DEBUG, x->b->env->label,
            "%s %s: answered from the run store (sent by an earlier run)",
            x->req->method, x->req->url);
    /* ends like a fresh 2xx, minus the ledger */
    x->head.status = status;
    succeed(x);
    return 1;
}

/* Can x start now?  Otherwise *wait gets how long until it might. */
static int limiter_allows(struct ftsb_http_client *c, const struct xfer *x,
                          uint64_t now, uint64_t *wait)
{
    double scale = (double)net_scale_ms(1000000) / 1000000.0;
    double el;
    double rcap = c->rpm / 60 < 1 ? 1 : c->rpm / 60;
    double tcap = c->tpm / 60 < 1 ? 1 : c->tpm / 60;
    double need;

    if (scale <= 0)
        scale = 1e-6;
    if (now > c->bucket_ms) {
        /* refill; a shortened test clock refills faster alike */
        el = (double)(now - c->bucket_ms) / scale;
        if (c->rpm > 0 && (c->rpm_level += el * c->rpm / 60000.0) > rcap)
            c->rpm_level = rcap;
        if (c->tpm > 0 && (c->tpm_level += el * c->tpm / 60000.0) > tcap)
            c->tpm_level = tcap;
        c->bucket_ms = now;
    }
    if (c->rpm > 0 && c->rpm_level < 1) {
        *wait = (uint64_t)((1 - c->rpm_level) * 60000.0 / c->rpm * scale) + 1;
        return 0;
    }
    need = x->req->tokens > 0 ? (double)x->req->tokens : 0;
    if (need > tcap)
        need = tcap;   /* a request larger than a second's worth waits
                        * for a full bucket, then goes */
    if (c->tpm > 0 && c->tpm_level < need) {
        *wait = (uint64_t)((need - c->tpm_level) * 60000.0 / c->tpm * scale) +
                1;
        return 0;
    }
    return 1;
}

static void limiter_take(struct ftsb_http_client *c, struct xfer *x)
{
    if (c->rpm > 0)
        c->rpm_level -= 1;
    if (c->tpm > 0 && x->req->tokens > 0) {
        c->tpm_level -= (double)x->req->tokens;
        x->tokens_held = x->req->tokens;
    }
}

/* Starts what may start; *next_ms gets the earliest time a waiting
 * request could start (UINT64_MAX when none waits). */
static void start_ready(struct batch *b, uint64_t *next_ms)
{
    struct ftsb_http_client *c = b->c;
    uint64_t now = c->clock.now_ms(c->clock.ud);

    *next_ms = UINT64_MAX;
    for (uint32_t i = 0; i < b->n && !b->stop; i++) {
        struct xfer *x = &b->x[i];
        uint64_t wait;

        if (x->state != X_WAIT || x->dup_of >= 0)
            continue;
        if ((x->req->flags & FTSB_HTTP_KEEP) && !x->attempts &&
            uses_ledger(x) && from_kept(x))
            continue;
        if (b->running >= c->concurrency)
            return;   /* a slot frees when a transfer ends: curl wakes us */
        if (x->not_before_ms > now) {
            if (x->not_before_ms < *next_ms)
                *next_ms = x->not_before_ms;
            continue;
        }
        if (c->paused_until > now) {
            if (c->paused_until < *next_ms)
                *next_ms = c->paused_until;
            return;
        }
        if (!limiter_allows(c, x, now, &wait)) {
            if (now + wait < *next_ms)
                *next_ms = now + wait;
            return;   /* keep the order: nobody overtakes */
        }
        limiter_take(c, x);
        if (start_attempt(x))
            return;
        now = c->clock.now_ms(c->clock.ud);
    }
}

static void read_messages(struct batch *b)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(b->c->multi, &left))) {
        struct xfer *x = NULL;

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x)
            attempt_done(x, m->data.result);
    }
}

/* Aborts transfers whose response stopped flowing after the headers. */
static void check_stalls(struct batch *b)
{
    struct ftsb_http_client *c = b->c;
    uint64_t now = c->clock.now_ms(c->clock.ud);

    for (uint32_t i = 0; i < b->n; i++) {
        struct xfer *x = &b->x[i];

        if (x->state == X_RUN && x->head_done &&
            now - x->last_rx_ms >= c->stall_ms) {
            x->stalled = 1;
            curl_multi_remove_handle(c->multi, x->easy);
            attempt_done(x, CURLE_OPERATION_TIMEDOUT);
        }
    }
}

static void abandon_running(struct batch *b)
{
    for (uint32_t i = 0; i < b->n; i++) {
        struct xfer *x = &b->x[i];

        if (x->state != X_RUN)
            continue;
        ledger_end(x, "in doubt: interrupted");
        release_attempt(x);
        b->running--;
        set_error(x, "'%s': interrupted while the request was in flight",
                  x->req->url);
        finish(x, FTSB_HTTP_NETWORK);
    }
}

static ftsb_status check_request(const ftsb_http_request *r, uint32_t i,
                                 struct err *err)
{
    if (!r || r->struct_size < offsetof(ftsb_http_request, tokens) ||
        !r->method || !r->url)
        return err_set(err, FTSB_E_INVALID,
                       "HTTP request %u is incomplete (method and url are "
                       "needed)", i + 1);
    if (strcmp(r->method, "GET") && strcmp(r->method, "POST") &&
        strcmp(r->method, "DELETE"))
        return err_set(err, FTSB_E_INVALID,
                       "HTTP request %u has method '%.20s'; expected GET, "
                       "POST or DELETE", i + 1, r->method);
    if (strncmp(r->url, "http://", 7) && strncmp(r->url, "https://", 8))
        return err_set(err, FTSB_E_INVALID,
                       "HTTP request %u: URL '%.200s' is not http:// or "
                       "https://", i + 1, r->url);
    if (r->n_parts && !r->parts)
        return err_set(err, FTSB_E_INVALID,
                       "HTTP request %u counts parts but has none", i + 1);
    for (uint32_t k = 0; k < r->n_parts; k++)
        if (!r->parts[k].name || (r->parts[k].len && !r->parts[k].data))
            return err_set(err, FTSB_E_INVALID,
                           "HTTP request %u: form part %u needs a name and "
                           "its data", i + 1, k + 1);
    if (r->work_key) {
        size_t n = strlen(r->work_key);

        if (n == 0 || n > WORK_KEY_MAX)
            return err_set(err, FTSB_E_INVALID,
                           "HTTP request %u: its work key must have 1 to %d "
                           "characters", i + 1, WORK_KEY_MAX);
        for (size_t k = 0; k < n; k++)
            if (r->work_key[k] <= ' ' || r->work_key[k] >= 0x7f)
                return err_set(err, FTSB_E_INVALID,
                               "HTTP request %u: its work key must be "
                               "visible ASCII", i + 1);
    }
    return FTSB_OK;
}

static void work_key(const ftsb_http_request *r, char *out)
{
    struct sha256 h;

    if (r->work_key) {
        snprintf(out, WORK_KEY_MAX + 1, "%s", r->work_key);
        return;
    }
    sha256_init(&h);
    sha256_field_str(&h, "http/1");
    sha256_field_str(&h, r->method);
    sha256_field_str(&h, r->url);
    sha256_field(&h, r->body, r->body ? r->body_len : 0);
    for (uint32_t k = 0; k < r->n_parts; k++) {
        sha256_field_str(&h, r->parts[k].name);
        sha256_field_str(&h, r->parts[k].filename);
        sha256_field_str(&h, r->parts[k].content_type);
        sha256_field(&h, r->parts[k].data, r->parts[k].len);
    }
    sha256_final_hex(&h, out);
}

static int cmp_key(const void *a, const void *b, void *ud)
{
    const struct xfer *x = ud;
    uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
    int c = strcmp(x[i].key, x[j].key);

    return c ? c : (i < j ? -1 : i > j);
}

/* Identical KEEP requests in one batch are sent once. */
static ftsb_status mark_duplicates(struct batch *b)
{
    uint32_t *ord = malloc((size_t)b->n * sizeof *ord + 1), m = 0;

    if (!ord)
        return FTSB_E_NOMEM;
    for (uint32_t i = 0; i < b->n; i++)
        if (b->x[i].req->flags & FTSB_HTTP_KEEP)
            ord[m++] = i;
    qsort_r(ord, m, sizeof *ord, cmp_key, b->x);
    for (uint32_t k = 1; k < m; k++) {
        struct xfer *prev = &b->x[ord[k - 1]], *cur = &b->x[ord[k]];

        if (strcmp(prev->key, cur->key) == 0)
            cur->dup_of = prev->dup_of >= 0 ? prev->dup_of
                                            : (int)prev->index;
    }
    free(ord);
    return FTSB_OK;
}

static void not_sent(struct batch *b)
{
    for (uint32_t i = 0; i < b->n; i++) {
        struct xfer *x = &b->x[i];

        if (x->state != X_WAIT)
            continue;
        if (x->attempts && ((struct strbuf *)x->resp->error)->len == 0)
            set_error(x, "'%s': not sent again: %s", x->req->url,
                      b->stop_why);
        else if (!x->attempts)
            set_error(x, "'%s': not sent: %s", x->req->url, b->stop_why);
        x->dup_of = -1;
        finish(x, FTSB_HTTP_NOT_SENT);
    }
}

static void free_batch(struct batch *b)
{
    for (uint32_t i = 0; b->x && i < b->n; i++) {
        release_attempt(&b->x[i]);
        strbuf_release(&b->x[i].body);
    }
    free(b->x);
}

ftsb_status net_perform(struct ftsb_http_client *c, const struct net_env *env,
                        const ftsb_http_request *reqs, uint32_t n,
                        ftsb_http_response *resps, ftsb_http_done_fn done,
                        void *ud, struct err *err)
{
    struct batch b;
    int ledger = 0;
    ftsb_status st;

    memset(&b, 0, sizeof b);
    b.c = c;
    b.env = env;
    b.n = n;
    b.done = done;
    b.ud = ud;
    b.err = err;
    for (uint32_t i = 0; i < n; i++) {
        if ((st = check_request(&reqs[i], i, err)))
            return st;
        if (!resps[i].body || !resps[i].error)
            return err_set(err, FTSB_E_INVALID,
                           "HTTP response %u has no body or error sink "
                           "(create them with buf_new)", i + 1);
        strbuf_reset((struct strbuf *)resps[i].body);
        strbuf_reset((struct strbuf *)resps[i].error);
        resps[i].outcome = FTSB_HTTP_NOT_SENT;
        resps[i].status = 0;
        resps[i].attempts = 0;
        resps[i].from_journal = 0;
        resps[i].tokens = reqs[i].tokens;
        if (reqs[i].flags & (FTSB_HTTP_LEDGER | FTSB_HTTP_KEEP))
            ledger = 1;
    }
    if (n == 0)
        return FTSB_OK;
    if (!(b.x = calloc(n, sizeof *b.x)))
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        struct xfer *x = &b.x[i];

        x->b = &b;
        x->req = &reqs[i];
        x->resp = &resps[i];
        x->index = i;
        x->dup_of = -1;
        strbuf_init(&x->body);
        work_key(x->req, x->key);
    }
    if (mark_duplicates(&b)) {
        free_batch(&b);
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    }
    if (c->stop_code) {
        stop_batch(&b, c->stop_msg);
        not_sent(&b);
        free_batch(&b);
        return err_set(err, c->stop_code, "%s", c->stop_msg);
    }
    if (ledger && env->store && (st = net_ledger_settle(env->store,
                                                        env->label, err))) {
        free_batch(&b);
        return st;
    }
    while (b.done_count < n) {
        uint64_t next, now, wait;
        int pending = 0;
        long curl_wait = -1;

        if (env->cancel && *env->cancel) {
            stop_batch(&b, "interrupted");
            if (!b.fatal) {
                b.fatal = FTSB_E_CANCELLED;
                err_set(err, FTSB_E_CANCELLED, "interrupted");
            }
            abandon_running(&b);
            break;
        }
        start_ready(&b, &next);
        if (b.running) {
            uint32_t before = b.running;

            curl_multi_perform(c->multi, &pending);
            read_messages(&b);
            check_stalls(&b);
            if (b.running < before && b.done_count < n && !b.stop)
                continue;   /* slots freed: start what waits, now */
        }
        if (b.done_count >= n)
            break;
        for (uint32_t i = 0; i < n && !b.stop; i++)
            if (b.x[i].state == X_WAIT && b.x[i].dup_of < 0)
                pending = 1;
        if (!b.running && (b.stop || !pending))
            break;
        now = c->clock.now_ms(c->clock.ud);
        wait = next == UINT64_MAX ? SLICE_MS : next > now ? next - now : 0;
        if (wait > SLICE_MS)
            wait = SLICE_MS;
        if (b.running) {
            /* wake for stall checks too */
            uint64_t poll = wait;

            if (poll > c->stall_ms / 4 + 1)
                poll = c->stall_ms / 4 + 1;
            if (curl_multi_timeout(c->multi, &curl_wait) == CURLM_OK &&
                curl_wait >= 0 && (uint64_t)curl_wait < poll)
                poll = (uint64_t)curl_wait;
            curl_multi_poll(c->multi, NULL, 0, (int)poll, NULL);
        } else if (wait) {
            c->clock.sleep_ms(c->clock.ud, wait);
        }
        breaker_check(&b, c->clock.now_ms(c->clock.ud));
    }
    if (b.done_count < n)
        not_sent(&b);
    free_batch(&b);
    if (b.fatal)
        return b.fatal;
    if (c->stop_code) {
        return err_set(err, c->stop_code, "%s", c->stop_msg);
    }
    return FTSB_OK;
}
