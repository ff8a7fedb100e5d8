/*
 * net.h - the core's HTTP client (libcurl), secrets and redaction, as the
 * rest of the core and the tests see them.  Plugins reach the same code
 * through the host table (sdk/include/ftsb/http.h documents the
 * behaviour; this header documents the core-side entry points).
 *
 * The SDK's opaque ftsb_http_client and ftsb_secret are the structs
 * defined in http.c and secret.c.
 */
#ifndef FTSB_NET_H
#define FTSB_NET_H

#include <signal.h>

#include "../ftsb_setup.h"
#include "../util/err.h"
#include "../util/strbuf.h"

struct store;

/*
 * Initialises libcurl once for the process (curl_global_init is not
 * thread-safe, so it must not race with another thread's first
 * transfer).  Called lazily, under pthread_once, by every entry point
 * below; main() may call it early, before threads exist, to be sure.
 * Also reads FTSB_TEST_TIME_SCALE (see net_scale_ms).
 */
void net_global_init(void);

/* --- secrets ------------------------------------------------------------- */

/* Reads a key as ftsb_secret_spec says (http.h).  Messages name the
 * variable or file, never the value.  *out is NULL for an optional key
 * that is absent.  Loading a key also turns core dumps off for the
 * process, so that a crash cannot write the key to disk. */
ftsb_status net_secret_open(const ftsb_secret_spec *spec,
                            struct ftsb_secret **out, struct err *err);
/* Wipes and frees the key (NULL is fine). */
void net_secret_close(struct ftsb_secret *s);
/* The key's bytes and length (for the client's copy). */
const char *net_secret_value(const struct ftsb_secret *s, size_t *len);

/*
 * Replaces, in sb, every occurrence of key - and of any run of 12 or more
 * of its first characters, as a provider's truncated echo would show -
 * with "[REDACTED]".  Keys shorter than 12 characters are redacted whole
 * only.  Also redacts the key's base64 and percent-encoded forms.
 * FTSB_E_NOMEM only (sb is then left unredacted past the failure point,
 * so callers drop it).
 */
ftsb_status net_redact(struct strbuf *sb, const char *key, size_t keylen);

/* The key's forms to redact, computed once (a client holds one). */
#define NET_REDACT_MAX 8
struct net_redactor {
    size_t n;
    char *pat[NET_REDACT_MAX];
    size_t len[NET_REDACT_MAX];
    size_t min[NET_REDACT_MAX];   /* shortest run of pat's start redacted */
};
/* An empty redactor when key is NULL; FTSB_E_NOMEM only. */
ftsb_status net_redactor_init(struct net_redactor *r, const char *key,
                              size_t keylen);
void net_redactor_free(struct net_redactor *r);
/* As net_redact, with the forms computed by net_redactor_init. */
ftsb_status net_redactor_apply(const struct net_redactor *r,
                               struct strbuf *sb);

/* --- the client ---------------------------------------------------------- */

/* A clock, replaceable by tests (a virtual clock makes backoff waits
 * instantaneous while recording them). */
struct net_clock {
    uint64_t (*now_ms)(void *ud);              /* monotonic milliseconds */
    void (*sleep_ms)(void *ud, uint64_t ms);   /* idle wait */
    void *ud;
};

/* What one net_perform runs with: the run store for the ledger and the
 * kept bodies (NULL: none), the cancel flag (NULL: none) and the label
 * of log lines ("backend 'openai'"). */
struct net_env {
    struct store *store;
    const volatile sig_atomic_t *cancel;
    const char *label;
};

/* As the host's http_client_new / http_client_free. */
ftsb_status net_client_new(const ftsb_http_options *opts,
                           struct ftsb_http_client **out, struct err *err);
void net_client_free(struct ftsb_http_client *c);
/* Replaces the clock (tests).  clk is copied. */
void net_client_set_clock(struct ftsb_http_client *c,
                          const struct net_clock *clk);

/* As the host's http_perform; the message of a non-OK status is in err. */
ftsb_status net_perform(struct ftsb_http_client *c, const struct net_env *env,
                        const ftsb_http_request *reqs, uint32_t n,
                        ftsb_http_response *resps, ftsb_http_done_fn done,
                        void *ud, struct err *err);

/* A wait of ms milliseconds as the host scales it for tests: ms times
 * FTSB_TEST_TIME_SCALE (a number in (0, 1]; 1 when unset or invalid).
 * Scaled: backoff waits, Retry-After, rate-limit refills, the breaker's
 * pause and wait_ms; never timeouts. */
uint64_t net_scale_ms(uint64_t ms);

/* Sleeps ms (scaled), in slices, returning FTSB_E_CANCELLED as soon as
 * *cancel is set (cancel may be NULL). */
ftsb_status net_wait_ms(const volatile sig_atomic_t *cancel, uint64_t ms);

/* --- the ledger ---------------------------------------------------------- */

/*
 * Once per store file and process, before the first attempt is recorded:
 * counts the attempts a previous run left without an end (in flight when
 * it was killed), warns that they may be billed twice when sent again,
 * and settles them so they are reported once.  Later calls do nothing.
 */
ftsb_status net_ledger_settle(struct store *store, const char *label,
                              struct err *err);

#endif /* FTSB_NET_H */
