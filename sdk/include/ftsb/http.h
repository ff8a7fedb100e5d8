/*
 * ftsb/http.h - HTTP through the host (ABI 1.1): secrets, a client with
 * the core's single retry layer, and the ledger of paid calls.
 *
 * A plugin that talks to a remote service (a provider's chat API, a
 * fine-tuning service, an LLM judge's endpoint) never links an HTTP
 * library of its own and never retries on its own: it describes requests
 * and the host sends them, concurrently, with exponential backoff and
 * jitter, Retry-After honoured, bounded attempts and time, stall and size
 * limits, rate limits, and every attempt of a paid call recorded in the
 * run store's ledger before it is sent.  One retry layer means attempts
 * never multiply (reliability.md R6).
 *
 * Keys never pass through plugin memory: a plugin names where the key is
 * (an environment variable, a 0600 file) and the host reads it, attaches
 * it to requests, and redacts it from every body, message and log line
 * it hands back, curl's debug output included.
 *
 * These members of ftsb_host were added in ABI 1.1: test them with
 * FTSB_HOST_HAS(host, http_perform) (and so on) before calling.
 */
#ifndef FTSB_HTTP_H
#define FTSB_HTTP_H

#include "types.h"

FTSB_BEGIN_DECLS

/* Opaque host objects. */
typedef struct ftsb_secret ftsb_secret;           /* a loaded key */
typedef struct ftsb_http_client ftsb_http_client; /* connections, limits */

/*
 * Where a key is.  file, when set, wins over env.  The file must be a
 * regular file owned by the user and not readable or writable by group
 * or others (mode 0600 or 0400); one trailing newline is ignored.  A key
 * must be 1 to 4096 visible ASCII characters (no spaces or control
 * characters, which could forge headers).  what names the key in
 * messages ("OpenAI API key").  optional: when neither the variable is
 * set nor a file given, secret_open succeeds with *out = NULL.
 */
typedef struct ftsb_secret_spec {
    uint32_t struct_size;
    const char *env;
    const char *file;
    const char *what;
    int32_t optional;
} ftsb_secret_spec;

/*
 * A client's policy.  Every member left 0 (or NULL) takes the default in
 * brackets, so a zeroed struct with struct_size set is a sensible client.
 *
 * Retries: a request is attempted at most max_attempts times [6].  After
 * the n-th failed attempt the host waits for a random time between half
 * and all of min(backoff_cap_ms [60000], backoff_base_ms [1000] * 2^(n-1))
 * ("equal jitter": spread out, never below half the backoff), or for
 * exactly what the server's Retry-After (or retry-after-ms) header asks,
 * unless that exceeds retry_after_max_ms [120000], which ends the request
 * at once.  No attempt starts after request_budget_ms [600000] from the
 * first one.  Retried: 408, 429, 5xx (but 501), refused or failed
 * connections, resets, timeouts, stalls and truncated bodies.  Never
 * retried: other 4xx, 3xx (redirects are not followed, so the key never
 * goes to another host), oversized bodies.  401 and 403 stop the client:
 * nothing more is sent through it.
 *
 * Limits: connect_timeout_ms [10000]; attempt_timeout_ms [600000] for a
 * whole attempt; stall_ms [30000]: an attempt whose response stops
 * flowing for that long after its headers arrived is aborted (and
 * retried); max_response_bytes [16 MiB]; max_concurrency [8] transfers at
 * once, over kept-alive connections; requests_per_minute and
 * tokens_per_minute [0 = unlimited] (tokens as each request estimates
 * them, corrected by the done callback).
 *
 * Circuit breaker: when at least half of the last 100 attempts (and at
 * least 20) failed with server or network errors, no attempt starts for
 * backoff_cap_ms; a warning says so.
 *
 * auth: the key, sent as "Authorization: Bearer KEY", or as
 * "AUTH_HEADER: KEY" when auth_header is set (Azure's "api-key"); the
 * client keeps its own copy, so the secret may be closed afterwards.
 * headers: extra "Name: value" lines sent with every request
 * ("OpenAI-Organization: org-1"); lines with CR or LF, and Authorization
 * lines, are refused.  user_agent [ftsb/VERSION].
 */
typedef struct ftsb_http_options {
    uint32_t struct_size;
    uint32_t max_concurrency;
    uint32_t max_attempts;
    uint32_t backoff_base_ms;
    uint32_t backoff_cap_ms;
    uint32_t retry_after_max_ms;
    uint32_t request_budget_ms;
    uint32_t connect_timeout_ms;
    uint32_t attempt_timeout_ms;
    uint32_t stall_ms;
    uint64_t max_response_bytes;
    double requests_per_minute;
    double tokens_per_minute;
    const ftsb_secret *auth;
    const char *auth_header;
    const char *const *headers;
    uint32_t n_headers;
    const char *user_agent;
} ftsb_http_options;

/* One part of a multipart/form-data body (a file upload).  filename NULL
 * makes a plain field; content_type NULL lets the host choose. */
typedef struct ftsb_http_part {
    uint32_t struct_size;
    const char *name;
    const char *filename;
    const char *content_type;
    const char *data;
    size_t len;
} ftsb_http_part;

/* Request flags. */
#define FTSB_HTTP_LEDGER 1u /* a paid call: each attempt is recorded in
                             * the run store's ledger before it is sent */
#define FTSB_HTTP_KEEP 2u   /* implies LEDGER; an accepted 2xx body is kept
                             * in the run store with the attempt's end, and
                             * the same request (same work key) is answered
                             * from there later, even after a kill, instead
                             * of being sent (and billed) again */
#define FTSB_HTTP_ONCE 4u   /* not idempotent (an upload, a job creation):
                             * retried only when it cannot have reached the
                             * server (refused connection) or the server
                             * said 429; any other failure ends it as
                             * FTSB_HTTP_IN_DOUBT, for the plugin to
                             * reconcile (list what exists) before anything
                             * is sent again */

/*
 * One request.  method is "GET", "POST" or "DELETE"; url is absolute
 * (http or https).  The body is body/body_len (content_type NULL means
 * "application/json"), or the parts of a multipart form, or nothing.
 * work_key identifies the work for the ledger and the kept bodies (at most
 * 200 visible ASCII characters); NULL lets the host use the hex SHA-256 of
 * method, url and body.  what labels the ledger rows ("chat",
 * "upload"; NULL: "http").  tokens estimates the tokens the request will
 * use, for tokens_per_minute.  Every attempt carries a header
 * "X-Client-Request-Id: ftsb-<ledger call id>-<16 characters of the work
 * key>" ("ftsb-r<counter>" without the ledger), so a provider's logs can
 * be matched with the ledger.
 */
typedef struct ftsb_http_request {
    uint32_t struct_size;
    const char *method;
    const char *url;
    const char *content_type;
    const char *body;
    size_t body_len;
    const ftsb_http_part *parts;
    uint32_t n_parts;
    uint32_t flags;
    const char *work_key;
    const char *what;
    int64_t tokens;
} ftsb_http_request;

/* Outcomes of a request.  Never renumbered. */
#define FTSB_HTTP_OK 0           /* a 2xx response, accepted */
#define FTSB_HTTP_STATUS 1       /* a final non-2xx status (400, 404, 422...) */
#define FTSB_HTTP_RATE_LIMITED 2 /* still 429 when attempts or time ran out,
                                  * or Retry-After asked for too long */
#define FTSB_HTTP_SERVER 3       /* still 408/5xx when attempts or time ran out */
#define FTSB_HTTP_NETWORK 4      /* no usable response (refused, reset,
                                  * timeout, stall, truncated body) when
                                  * attempts or time ran out */
#define FTSB_HTTP_AUTH 5         /* 401 or 403: the client is stopped */
#define FTSB_HTTP_OVERSIZE 6     /* the body exceeded max_response_bytes */
#define FTSB_HTTP_REDIRECT 7     /* a 3xx: not followed */
#define FTSB_HTTP_REJECTED 8     /* the done callback found the 2xx body
                                  * unusable (it is not kept) */
#define FTSB_HTTP_NOT_SENT 9     /* never sent: the batch stopped (401/403,
                                  * the done callback, Ctrl-C) */
#define FTSB_HTTP_IN_DOUBT 10    /* a FTSB_HTTP_ONCE request failed after it
                                  * may have reached the server */

/*
 * The result of one request.  The caller creates the two sinks with
 * host->buf_new() and sets struct_size; the host fills the rest.  body
 * receives the final response's body (2xx or not; for a 2xx kept from an
 * earlier run, the kept body) with the key redacted.  error receives,
 * for any outcome but OK, one git-style line naming the URL, the HTTP
 * status and the provider's own message, e.g. "'https://h/v1/chat/
 * completions' answered HTTP 400 (Invalid value for 'model')".
 * attempts counts the attempts made; from_journal is 1 when the body was
 * kept from an earlier run and nothing was sent.  tokens may be set by
 * the done callback to the tokens actually used.
 */
typedef struct ftsb_http_response {
    uint32_t struct_size;
    int32_t outcome;      /* FTSB_HTTP_OK ... */
    int32_t status;       /* the last HTTP status received, 0 when none */
    uint32_t attempts;
    int32_t from_journal;
    ftsb_buf *body;
    ftsb_buf *error;
    int64_t tokens;
} ftsb_http_response;

/* What the done callback answers for a 2xx response (other outcomes
 * ignore it, except STOP). */
#define FTSB_HTTP_ACCEPT 0 /* the body is usable: keep it (with KEEP) */
#define FTSB_HTTP_REJECT 1 /* unusable: outcome becomes FTSB_HTTP_REJECTED,
                            * nothing is kept, no retry */
#define FTSB_HTTP_STOP 2   /* accept it, and start no other request of this
                            * batch (a budget ran out): they end NOT_SENT */

/*
 * Called on the thread of http_perform, once per request, when its
 * outcome is final, in completion order.  index is the request's index in
 * the batch.  The response's sinks may be read (and the plugin may set
 * resp->tokens); the callback must not call http_perform.
 */
typedef int32_t (*ftsb_http_done_fn)(void *ud, uint32_t index,
                                     ftsb_http_response *resp);

FTSB_END_DECLS

#endif /* FTSB_HTTP_H */
