/*
 * ftsb/host.h - the services the host offers to plugins.
 *
 * A plugin reaches the host only through this const table, handed to its
 * entry's init() and valid until deinit() returns.  The table only grows
 * at its end: a plugin built against a newer SDK tests a member with
 * FTSB_HOST_HAS(host, member) before calling it.
 *
 * Thread tags used below: [thread-safe] may be called from any thread at
 * any time; [ctx] may be called from any thread, but one ctx (and the
 * sinks it hands out) by one thread at a time.
 *
 * Errors: a plugin reports a failure with
 *     return host->fail(ctx, FTSB_E_IO, "cannot open '%s': %s", path, why);
 * which records the message on ctx and returns the code.  Messages follow
 * git's style: lowercase, no final period, what failed first, the subject
 * quoted, and what to do when that is not obvious.
 */
#ifndef FTSB_HOST_H
#define FTSB_HOST_H

#include <stdarg.h>

#include "attack.h"
#include "backend.h"
#include "http.h"
#include "judge.h"
#include "metric.h"

FTSB_BEGIN_DECLS

#define FTSB_LOG_ERROR 1
#define FTSB_LOG_WARN 2
#define FTSB_LOG_INFO 3
#define FTSB_LOG_DEBUG 4

typedef struct ftsb_host ftsb_host;

struct ftsb_host {
    uint32_t abi_version;  /* the host's FTSB_ABI_VERSION */
    uint32_t struct_size;  /* sizeof(ftsb_host) as the host compiled it */
    const char *host_version; /* ftsb release, e.g. "0.1.0" */

    /* --- errors and logging ------------------------------------------ */

    /* A static, short description of a status code. [thread-safe] */
    const char *(*status_str)(ftsb_status code);

    /* Records a formatted message as ctx's error and returns code
     * unchanged.  The host copies the text. [ctx] */
    ftsb_status (*fail)(ftsb_ctx *ctx, ftsb_status code, const char *fmt, ...)
        FTSB_PRINTF(3, 4);

    /* Writes one line to the host's log at level FTSB_LOG_*; lines above
     * the user's verbosity are dropped cheaply. [ctx] */
    void (*log)(ftsb_ctx *ctx, int32_t level, const char *fmt, ...)
        FTSB_PRINTF(3, 4);

    /* Reports progress of long work (done of total units, total <= 0 when
     * unknown).  The host rate-limits the display; call as often as you
     * like. [ctx] */
    void (*progress)(ftsb_ctx *ctx, const char *what, int64_t done,
                     int64_t total, const char *unit);

    /* Non-zero once the user asked to stop (Ctrl-C).  Long work checks it
     * between steps and returns FTSB_E_CANCELLED, keeping what is done.
     * [ctx] */
    int (*cancelled)(ftsb_ctx *ctx);

    /* --- memory -------------------------------------------------------- */

    /* Memory the host accounts for.  alloc returns NULL on failure; free
     * accepts NULL.  Plugin-private memory may come from malloc as well:
     * whoever allocates frees. [thread-safe] */
    void *(*alloc)(size_t size);
    void (*free)(void *ptr);

    /* --- text sinks ---------------------------------------------------- */

    /* Appends len bytes (no NUL needed) to a host-owned sink. [ctx] */
    ftsb_status (*buf_append)(ftsb_buf *buf, const char *data, size_t len);
    /* Appends formatted text. [ctx] */
    ftsb_status (*buf_printf)(ftsb_buf *buf, const char *fmt, ...)
        FTSB_PRINTF(2, 3);
    /* Empties the sink. [ctx] */
    void (*buf_clear)(ftsb_buf *buf);
    /* The sink's contents, NUL-terminated, valid until the next change;
     * *len (if not NULL) receives the length. [ctx] */
    const char *(*buf_data)(const ftsb_buf *buf, size_t *len);

    /* --- configuration ------------------------------------------------- */
    /* Every key was checked against the plugin's ftsb_config_key list:
     * the accessors below never meet an unknown key or a wrong type.  A
     * key that was not given reads as its default; without a default the
     * accessor reports it absent.  Returned pointers live as long as the
     * config.  [thread-safe] */

    /* Non-zero when the user gave the key explicitly. */
    int (*cfg_has)(const ftsb_config *cfg, const char *key);
    /* A string value, or NULL when absent. */
    const char *(*cfg_str)(const ftsb_config *cfg, const char *key);
    /* Integer, number and boolean values: FTSB_OK, or FTSB_E_NOT_FOUND
     * when absent (*out untouched). */
    ftsb_status (*cfg_int)(const ftsb_config *cfg, const char *key,
                           int64_t *out);
    ftsb_status (*cfg_num)(const ftsb_config *cfg, const char *key,
                           double *out);
    ftsb_status (*cfg_bool)(const ftsb_config *cfg, const char *key,
                            int *out);
    /* Any value as JSON text, or NULL when absent. */
    const char *(*cfg_json)(const ftsb_config *cfg, const char *key);
    /* An array of strings: returns the array and sets *n, or NULL with
     * *n = 0 when absent. */
    const char *const *(*cfg_strings)(const ftsb_config *cfg,
                                      const char *key, uint32_t *n);
    /* A backend instance given by the script, or NULL when absent.  It
     * lives at least as long as the instance created with this config. */
    ftsb_backend_ref *(*cfg_backend)(const ftsb_config *cfg, const char *key);
    /* A dataset given by the script (or loaded by the host from a path
     * given as a string), or NULL when absent.  Lives as long as the
     * config. */
    const ftsb_dataset *(*cfg_dataset)(const ftsb_config *cfg,
                                       const char *key);
    /* The whole configuration as JSON text (backends and datasets appear
     * as their names). */
    const char *(*cfg_text)(const ftsb_config *cfg);

    /* --- other backends ------------------------------------------------ */

    /* The fingerprint of a backend passed in configuration. [thread-safe] */
    const char *(*backend_fingerprint)(ftsb_backend_ref *ref);
    /* Generates through that backend, with the host's cache in front of it
     * (an LLM judge does this).  Same contract as iface->generate, except
     * that the caller creates the sinks of results with buf_new. [ctx] */
    ftsb_status (*backend_generate)(ftsb_ctx *ctx, ftsb_backend_ref *ref,
                                    const ftsb_chat *chats, uint32_t n,
                                    const ftsb_gen_params *params,
                                    ftsb_gen_result *results);
    /* A fresh empty sink owned by the plugin, freed with buf_free.
     * NULL when out of memory. [thread-safe] */
    ftsb_buf *(*buf_new)(void);
    void (*buf_free)(ftsb_buf *buf);

    /* --- datasets ------------------------------------------------------ */

    /* Number of rows, and row i (i < count).  The row lives as long as
     * the dataset. [thread-safe] */
    uint64_t (*dataset_count)(const ftsb_dataset *ds);
    const ftsb_example *(*dataset_get)(const ftsb_dataset *ds, uint64_t i);
    /* Reads a dataset file.  format is "auto" (by extension and content),
     * "chat" (OpenAI messages JSONL), "csv" (headerless, first column is
     * the instruction), "csv:COLUMN" (header row; COLUMN holds the
     * instruction), "jsonl" (instruction/category objects), "alpaca" or
     * "dolly".  Malformed input fails with the file, the line or byte
     * offset and the reason.  Free with dataset_free. [ctx] */
    ftsb_status (*dataset_load)(ftsb_ctx *ctx, const char *path,
                                const char *format, ftsb_dataset **out);
    void (*dataset_free)(ftsb_dataset *ds);
    /* Adds a copy of ex to the sink (an attack's output). [ctx] */
    ftsb_status (*dataset_add)(ftsb_dataset_sink *sink,
                               const ftsb_example *ex);

    /* --- metrics ------------------------------------------------------- */

    /* Adds a copy of v to the sink. [ctx] */
    ftsb_status (*metric_add)(ftsb_metric_sink *sink,
                              const ftsb_metric_value *v);

    /* --- cache --------------------------------------------------------- */

    /* A persistent key/value cache in the run store, for work a plugin
     * wants to keep across runs.  ns names the plugin's own space.
     * cache_get returns FTSB_E_NOT_FOUND when the key is absent. [ctx] */
    ftsb_status (*cache_get)(ftsb_ctx *ctx, const char *ns, const char *key,
                             ftsb_buf *out);
    ftsb_status (*cache_put)(ftsb_ctx *ctx, const char *ns, const char *key,
                             const char *value, size_t len);

    /* --- secrets, HTTP and the ledger (ABI 1.1; see http.h) ---------- */
    /* Test each with FTSB_HOST_HAS(host, member) before calling. */

    /* Reads a key from where spec says and returns a handle to it in
     * *out (NULL when spec->optional and the key is absent).  The key
     * never leaves the host: the plugin passes the handle to
     * http_client_new.  Messages name the variable or the file, never
     * the value: FTSB_E_NOT_FOUND (variable unset, file missing),
     * FTSB_E_INVALID (a file readable by others, a key with spaces or
     * control characters), FTSB_E_IO.  Free with secret_close (NULL is
     * fine). [thread-safe] */
    ftsb_status (*secret_open)(ftsb_ctx *ctx, const ftsb_secret_spec *spec,
                               ftsb_secret **out);
    void (*secret_close)(ftsb_secret *secret);

    /* Creates a client with the policy in opts (copied; opts->auth may
     * be closed afterwards).  FTSB_E_INVALID for a malformed header,
     * FTSB_E_NOMEM.  Free with http_client_free (NULL is fine) after its
     * last http_perform.  A client is used by one thread at a time; it
     * keeps connections alive between calls. [ctx] */
    ftsb_status (*http_client_new)(ftsb_ctx *ctx,
                                   const ftsb_http_options *opts,
                                   ftsb_http_client **out);
    void (*http_client_free)(ftsb_http_client *client);

    /* Sends the n requests, up to max_concurrency at a time, with the
     * client's retries and limits, and fills resps[i] for reqs[i]; done
     * (may be NULL) is called as each one ends (http.h).  Attempts of
     * LEDGER and KEEP requests are committed to the run store's ledger
     * before they are sent and ended after.  Returns FTSB_OK when every
     * response was filled, whatever the outcomes; otherwise a status with
     * a message on ctx, every response still filled (the unsent ones
     * NOT_SENT): FTSB_E_AUTH (401/403: the client is stopped, and later
     * calls fail at once the same way), FTSB_E_CANCELLED (Ctrl-C:
     * transfers in flight are abandoned), FTSB_E_IO (the ledger could not
     * be written, so nothing more is sent), FTSB_E_INVALID (a malformed
     * request), FTSB_E_NOMEM. [ctx; one thread per client] */
    ftsb_status (*http_perform)(ftsb_http_client *client, ftsb_ctx *ctx,
                                const ftsb_http_request *reqs, uint32_t n,
                                ftsb_http_response *resps,
                                ftsb_http_done_fn done, void *ud);

    /* Sleeps about ms milliseconds (the host may scale waits down in
     * tests), returning early with FTSB_E_CANCELLED when the user asks to
     * stop; FTSB_OK otherwise.  For polling loops. [ctx] */
    ftsb_status (*wait_ms)(ftsb_ctx *ctx, uint32_t ms);

    /* The SHA-256 of len bytes at data as 64 lowercase hex digits and a
     * NUL (content hashes for keys). [thread-safe] */
    void (*sha256_hex)(const void *data, size_t len, char out[65]);

    /* The ledger of paid calls, for paid work that does not go through
     * http_perform: call_begin commits an attempt for work_key (what
     * labels it: "train") and sets *call_id, before the work starts;
     * call_end records its outcome ("ok", "error: ...") after.  An
     * attempt never ended was in flight when the process died; the host
     * reports those at the next run as possibly billed twice.  Errors:
     * FTSB_E_IO (store), FTSB_E_INVALID (empty key or label, a call
     * already ended), FTSB_E_NOT_FOUND (unknown id). [ctx] */
    ftsb_status (*call_begin)(ftsb_ctx *ctx, const char *work_key,
                              const char *what, int64_t *call_id);
    ftsb_status (*call_end)(ftsb_ctx *ctx, int64_t call_id,
                            const char *outcome);

    /* --- series (ABI 1.2) ---------------------------------------------- */

    /* Records one point of a named series of the work in progress, such as
     * a loss curve during fine-tuning ("loss", step, value).  The host
     * keeps the points with the work's results: the Lua call that started
     * it returns them, and the run store saves them.  series is 1 to 63
     * bytes of [a-z0-9_.]; a point for a step already recorded replaces
     * it.  Points outside work that collects them are dropped (FTSB_OK).
     * Errors: FTSB_E_INVALID (a bad name, a non-finite value),
     * FTSB_E_NOMEM. [ctx] */
    ftsb_status (*series_put)(ftsb_ctx *ctx, const char *series,
                              int64_t step, double value);

    /* --- threads (ABI 1.2) --------------------------------------------- */

    /* The host's thread pool, for plugins that split work (DESIGN: a
     * plugin never starts threads of its own).  parallel_for calls
     * fn(arg, i) once for each i in [0, n_tasks), on up to thread_count()
     * threads (the caller's among them), and returns when all calls have
     * returned.  Its threads are the user's --threads, the same cores as
     * BLAS: call it between BLAS calls, not around them.  A call made
     * while the pool is busy (from a task, or another thread) runs inline.
     * Tasks must not call host functions other than [thread-safe] ones.
     * [thread-safe] */
    void (*parallel_for)(int32_t n_tasks,
                         void (*fn)(void *arg, int32_t task), void *arg);
    int32_t (*thread_count)(void);

    /* New members are added here, at the end, with an ABI minor bump. */
};

/* Non-zero when the host's table contains member and it is set. */
#define FTSB_HOST_HAS(host, member)                                         \
    ((host)->struct_size >= offsetof(ftsb_host, member) +                   \
                                sizeof((host)->member) &&                   \
     (host)->member != NULL)

FTSB_END_DECLS

#endif /* FTSB_HOST_H */
