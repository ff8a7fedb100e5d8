/*
 * host.c - the implementation of the host table, and the per-call
 * context plugins receive.
 *
 * Every member is a thin adapter onto a core module (strbuf, config,
 * dataset, the generation cache, the store), so that the rules live in
 * one place and plugins see the same behaviour as the core's own code.
 */
#include "../ftsb_setup.h"

#include <math.h>
#include <sys/stat.h>

#include "../data/dataset.h"
#include "../eval/generate.h"
#include "../net/net_host.h"
#include "../store/store.h"
#include "../util/log.h"
#include "../util/pool.h"
#include "config.h"
#include "host.h"
#include "instance.h"
#include "session.h"

void ctx_init(struct ftsb_ctx *ctx, struct session *s, const char *label)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->session = s;
    ctx->label = label;
}

void ctx_release(struct ftsb_ctx *ctx)
{
    progress_end(&ctx->progress);
}

/* The store's folder is created on first use, as `mkdir -p` would. */
static ftsb_status make_parent_dirs(const char *path, struct err *err)
{
    char dir[4096];
    size_t n = strlen(path);

    if (n >= sizeof dir)
        return err_set(err, FTSB_E_INVALID, "store path '%s' is too long",
                       path);
    memcpy(dir, path, n + 1);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0777) != 0 && errno != EEXIST)
            return err_set(err, FTSB_E_IO, "cannot create folder '%s' for "
                           "the run store: %s", dir, strerror(errno));
        *p = '/';
    }
    return FTSB_OK;
}

ftsb_status session_store(struct session *s, struct store **out,
                          struct err *err)
{
    ftsb_status st;

    if (!s->store) {
        const char *path = s->store_path ? s->store_path : "results/ftsb.db";

        if ((st = make_parent_dirs(path, err)))
            return st;
        st = store_open(path, &s->store, err);
        if (st)
            return st;
    }
    *out = s->store;
    return FTSB_OK;
}

static ftsb_status h_fail(ftsb_ctx *ctx, ftsb_status code, const char *fmt,
                          ...) FTSB_PRINTF(3, 4);
static ftsb_status h_fail(ftsb_ctx *ctx, ftsb_status code, const char *fmt,
                          ...)
{
    va_list ap;

    if (!ctx)
        return code;
    va_start(ap, fmt);
    err_setv(&ctx->err, code, fmt, ap);
    va_end(ap);
    return code;
}

static void h_log(ftsb_ctx *ctx, int32_t level, const char *fmt, ...)
    FTSB_PRINTF(3, 4);
static void h_log(ftsb_ctx *ctx, int32_t level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_msgv(level, ctx ? ctx->label : NULL, fmt, ap);
    va_end(ap);
}

static void h_progress(ftsb_ctx *ctx, const char *what, int64_t done,
                       int64_t total, const char *unit)
{
    if (ctx)
        progress_update(&ctx->progress, what, done, total, unit);
}

static int h_cancelled(ftsb_ctx *ctx)
{
    return ctx && ctx->session && ctx->session->cancel &&
           *ctx->session->cancel;
}

static void *h_alloc(size_t size)
{
    return malloc(size ? size : 1);
}

static void h_free(void *p)
{
    free(p);
}

static ftsb_status h_buf_append(ftsb_buf *buf, const char *data, size_t len)
{
    return strbuf_add((struct strbuf *)buf, data, len);
}

static ftsb_status h_buf_printf(ftsb_buf *buf, const char *fmt, ...)
    FTSB_PRINTF(2, 3);
static ftsb_status h_buf_printf(ftsb_buf *buf, const char *fmt, ...)
{
    va_list ap;
    ftsb_status st;

    va_start(ap, fmt);
    st = strbuf_vaddf((struct strbuf *)buf, fmt, ap);
    va_end(ap);
    return st;
}

static void h_buf_clear(ftsb_buf *buf)
{
    strbuf_reset((struct strbuf *)buf);
}

static const char *h_buf_data(const ftsb_buf *buf, size_t *len)
{
    const struct strbuf *sb = (const struct strbuf *)buf;

    if (len)
        *len = sb->len;
    return sb->buf;
}

static ftsb_buf *h_buf_new(void)
{
    struct strbuf *sb = malloc(sizeof *sb);

    if (sb)
        strbuf_init(sb);
    return (ftsb_buf *)sb;
}

static void h_buf_free(ftsb_buf *buf)
{
    if (buf) {
        strbuf_release((struct strbuf *)buf);
        free(buf);
    }
}

static ftsb_backend_ref *h_cfg_backend(const ftsb_config *cfg,
                                       const char *key)
{
    return (ftsb_backend_ref *)config_backend(cfg, key);
}

static const ftsb_dataset *h_cfg_dataset(const ftsb_config *cfg,
                                         const char *key)
{
    return config_dataset(cfg, key);
}

static const char *h_backend_fingerprint(ftsb_backend_ref *ref)
{
    return instance_fingerprint((struct instance *)ref);
}

static ftsb_status h_backend_generate(ftsb_ctx *ctx, ftsb_backend_ref *ref,
                                      const ftsb_chat *chats, uint32_t n,
                                      const ftsb_gen_params *params,
                                      ftsb_gen_result *results)
{
    struct err err;
    ftsb_status st;

    err_clear(&err);
    st = gen_cached(ctx->session, (struct instance *)ref, chats, n, params,
                    results, &err);
    if (st)
        return h_fail(ctx, st, "%s", err.msg);
    return FTSB_OK;
}

static uint64_t h_dataset_count(const ftsb_dataset *ds)
{
    return dataset_count(ds);
}

static const ftsb_example *h_dataset_get(const ftsb_dataset *ds, uint64_t i)
{
    return dataset_get(ds, i);
}

static ftsb_status h_dataset_load(ftsb_ctx *ctx, const char *path,
                                  const char *format, ftsb_dataset **out)
{
    struct err err;
    ftsb_status st;

    err_clear(&err);
    st = dataset_load(path, format ? format : "auto", out, &err);
    if (st)
        return h_fail(ctx, st, "%s", err.msg);
    return FTSB_OK;
}

static void h_dataset_free(ftsb_dataset *ds)
{
    dataset_free(ds);
}

static ftsb_status h_dataset_add(ftsb_dataset_sink *sink,
                                 const ftsb_example *ex)
{
    return dataset_add_err(sink->ds, ex, sink->ctx ? &sink->ctx->err : NULL);
}

void metric_values_release(struct metric_values *mv)
{
    for (size_t i = 0; i < mv->n; i++) {
        free((char *)mv->v[i].name);
        free((char *)mv->v[i].category);
    }
    free(mv->v);
    memset(mv, 0, sizeof *mv);
}

static ftsb_status h_metric_add(ftsb_metric_sink *sink,
                                const ftsb_metric_value *v)
{
    struct metric_values *mv = &sink->values;
    ftsb_metric_value copy = {sizeof copy, NULL, NULL, 0, 0, 0, 0, 0};

    if (!v || !v->name)
        return FTSB_E_INVALID;
    memcpy(&copy, v, v->struct_size < sizeof copy ? v->struct_size
                                                  : sizeof copy);
    copy.struct_size = sizeof copy;
    if (mv->n == mv->cap) {
        size_t cap = mv->cap ? 2 * mv->cap : 16;
        ftsb_metric_value *p = realloc(mv->v, cap * sizeof *p);

        if (!p)
            return FTSB_E_NOMEM;
        mv->v = p;
        mv->cap = cap;
    }
    copy.name = strdup(v->name);
    copy.category = xstrdup_or_null(v->category);
    if (!copy.name || (v->category && !copy.category)) {
        free((char *)copy.name);
        free((char *)copy.category);
        return FTSB_E_NOMEM;
    }
    mv->v[mv->n++] = copy;
    return FTSB_OK;
}

static ftsb_status h_cache_get(ftsb_ctx *ctx, const char *ns, const char *key,
                               ftsb_buf *out)
{
    struct store *store;
    int found = 0;
    ftsb_status st = session_store(ctx->session, &store, &ctx->err);

    if (st)
        return st;
    st = store_kv_get(store, ns, key, (struct strbuf *)out, &found,
                      &ctx->err);
    if (st)
        return st;
    return found ? FTSB_OK : FTSB_E_NOT_FOUND;
}

static ftsb_status h_cache_put(ftsb_ctx *ctx, const char *ns, const char *key,
                               const char *value, size_t len)
{
    struct store *store;
    ftsb_status st = session_store(ctx->session, &store, &ctx->err);

    if (st)
        return st;
    return store_kv_put(store, ns, key, value, len, &ctx->err);
}

static ftsb_status h_series_put(ftsb_ctx *ctx, const char *series,
                                int64_t step, double value)
{
    struct series_buf *b = ctx->series;
    size_t len = series ? strlen(series) : 0;

    if (len < 1 || len > 63 || strspn(series, "abcdefghijklmnopqrstuvwxyz"
                                      "0123456789_.") != len)
        return err_set(&ctx->err, FTSB_E_INVALID, "series name '%.80s' "
                       "must be 1 to 63 characters of a-z, 0-9, '_' and '.'",
                       series ? series : "(null)");
    if (!isfinite(value))
        return err_set(&ctx->err, FTSB_E_INVALID, "series '%s': the value at "
                       "step %lld is not a finite number", series,
                       (long long)step);
    if (!b)
        return FTSB_OK;
    for (size_t i = b->n; i-- > 0;)
        if (b->p[i].step == step && strcmp(b->p[i].name, series) == 0) {
            b->p[i].value = value;
            return FTSB_OK;
        }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        struct series_point *p = realloc(b->p, cap * sizeof *p);
        if (!p)
            return err_set(&ctx->err, FTSB_E_NOMEM, "out of memory");
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p[b->n].name, series, len + 1);
    b->p[b->n].step = step;
    b->p[b->n].value = value;
    b->n++;
    return FTSB_OK;
}

static const ftsb_host host_table = {
    .abi_version = FTSB_ABI_VERSION,
    .struct_size = sizeof(ftsb_host),
    .host_version = FTSB_VERSION,
    .status_str = ftsb_status_str,
    .fail = h_fail,
    .log = h_log,
    .progress = h_progress,
    .cancelled = h_cancelled,
    .alloc = h_alloc,
    .free = h_free,
    .buf_append = h_buf_append,
    .buf_printf = h_buf_printf,
    .buf_clear = h_buf_clear,
    .buf_data = h_buf_data,
    .cfg_has = config_has,
    .cfg_str = config_str,
    .cfg_int = config_int,
    .cfg_num = config_num,
    .cfg_bool = config_bool,
    .cfg_json = config_json,
    .cfg_strings = config_strings,
    .cfg_backend = h_cfg_backend,
    .cfg_dataset = h_cfg_dataset,
    .cfg_text = config_text,
    .backend_fingerprint = h_backend_fingerprint,
    .backend_generate = h_backend_generate,
    .buf_new = h_buf_new,
    .buf_free = h_buf_free,
    .dataset_count = h_dataset_count,
    .dataset_get = h_dataset_get,
    .dataset_load = h_dataset_load,
    .dataset_free = h_dataset_free,
    .dataset_add = h_dataset_add,
    .metric_add = h_metric_add,
    .cache_get = h_cache_get,
    .cache_put = h_cache_put,
    .secret_open = hnet_secret_open,
    .secret_close = hnet_secret_close,
    .http_client_new = hnet_client_new,
    .http_client_free = hnet_client_free,
    .http_perform = hnet_perform,
    .wait_ms = hnet_wait_ms,
    .sha256_hex = hnet_sha256_hex,
    .call_begin = hnet_call_begin,
    .call_end = hnet_call_end,
    .series_put = h_series_put,
    .parallel_for = pool_for,
    .thread_count = pool_threads,
};

const ftsb_host *host_get(void)
{
    return &host_table;
}
