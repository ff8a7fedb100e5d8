/*
 * stub_host.c - the test host table (see stub_host.h).  Kept separate
 * from the core's real host so that loader tests do not depend on the
 * run store, the Lua bindings or the HTTP client.  Objects the SDK keeps
 * opaque are plain structs here, reached by casts.
 */
#include "ftsb_setup.h"

#include "stub_host.h"
#include "util/err.h"
#include "util/strbuf.h"

struct stub_ctx {
    ftsb_status code;
    char msg[1024];
};

struct stub_config {
    const char *const *kv;
};

struct stub_dataset_sink {
    ftsb_example *rows;
    size_t n, cap;
};

struct stub_metric_sink {
    ftsb_metric_value *values;
    size_t n, cap;
};

static struct strbuf log_lines = STRBUF_INIT;

const char *stub_log(void)
{
    return log_lines.buf;
}

void stub_log_reset(void)
{
    strbuf_release(&log_lines);
}

/* --- errors and logging ----------------------------------------------- */

/* The format attributes let the compiler check callers and accept the
 * non-literal formats passed on to vsnprintf. */
static ftsb_status stub_fail(ftsb_ctx *ctx, ftsb_status code,
                             const char *fmt, ...) FTSB_PRINTF(3, 4);
static void stub_logf(ftsb_ctx *ctx, int32_t level, const char *fmt, ...)
    FTSB_PRINTF(3, 4);
static ftsb_status stub_buf_printf(ftsb_buf *buf, const char *fmt, ...)
    FTSB_PRINTF(2, 3);

static ftsb_status stub_fail(ftsb_ctx *ctx, ftsb_status code,
                             const char *fmt, ...)
{
    struct stub_ctx *c = (struct stub_ctx *)ctx;
    va_list ap;

    if (c) {
        c->code = code;
        va_start(ap, fmt);
        vsnprintf(c->msg, sizeof c->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

static void stub_logf(ftsb_ctx *ctx, int32_t level, const char *fmt, ...)
{
    va_list ap;

    (void)ctx;
    (void)level;
    va_start(ap, fmt);
    strbuf_vaddf(&log_lines, fmt, ap);
    va_end(ap);
    strbuf_addch(&log_lines, '\n');
}

static void stub_progress(ftsb_ctx *ctx, const char *what, int64_t done,
                          int64_t total, const char *unit)
{
    (void)ctx, (void)what, (void)done, (void)total, (void)unit;
}

static int stub_cancelled(ftsb_ctx *ctx)
{
    (void)ctx;
    return 0;
}

static void *stub_alloc(size_t size)
{
    return malloc(size ? size : 1);
}

static void stub_free(void *p)
{
    free(p);
}

/* --- sinks ------------------------------------------------------------ */

static ftsb_status stub_buf_append(ftsb_buf *buf, const char *data,
                                   size_t len)
{
    return strbuf_add((struct strbuf *)buf, data, len);
}

static ftsb_status stub_buf_printf(ftsb_buf *buf, const char *fmt, ...)
{
    va_list ap;
    ftsb_status st;

    va_start(ap, fmt);
    st = strbuf_vaddf((struct strbuf *)buf, fmt, ap);
    va_end(ap);
    return st;
}

static void stub_buf_clear(ftsb_buf *buf)
{
    strbuf_reset((struct strbuf *)buf);
}

static const char *stub_buf_data(const ftsb_buf *buf, size_t *len)
{
    const struct strbuf *sb = (const struct strbuf *)buf;

    if (len)
        *len = sb->len;
    return sb->buf;
}

static ftsb_buf *stub_buf_new(void)
{
    struct strbuf *sb = malloc(sizeof *sb);

    if (sb)
        strbuf_init(sb);
    return (ftsb_buf *)sb;
}

static void stub_buf_free(ftsb_buf *buf)
{
    if (buf) {
        strbuf_release((struct strbuf *)buf);
        free(buf);
    }
}

/* --- configuration ---------------------------------------------------- */

static const char *cfg_value(const ftsb_config *cfg, const char *key)
{
    const struct stub_config *c = (const struct stub_config *)cfg;

    if (!c || !c->kv)
        return NULL;
    for (size_t i = 0; c->kv[i] && c->kv[i + 1]; i += 2)
        if (strcmp(c->kv[i], key) == 0)
            return c->kv[i + 1];
    return NULL;
}

static int stub_cfg_has(const ftsb_config *cfg, const char *key)
{
    return cfg_value(cfg, key) != NULL;
}

static const char *stub_cfg_str(const ftsb_config *cfg, const char *key)
{
    return cfg_value(cfg, key);
}

static ftsb_status stub_cfg_int(const ftsb_config *cfg, const char *key,
                                int64_t *out)
{
    const char *v = cfg_value(cfg, key);

    if (!v)
        return FTSB_E_NOT_FOUND;
    *out = strtoll(v, NULL, 10);
    return FTSB_OK;
}

static ftsb_status stub_cfg_num(const ftsb_config *cfg, const char *key,
                                double *out)
{
    const char *v = cfg_value(cfg, key);

    if (!v)
        return FTSB_E_NOT_FOUND;
    *out = strtod(v, NULL);
    return FTSB_OK;
}

static ftsb_status stub_cfg_bool(const ftsb_config *cfg, const char *key,
                                 int *out)
{
    const char *v = cfg_value(cfg, key);

    if (!v)
        return FTSB_E_NOT_FOUND;
    *out = strcmp(v, "true") == 0;
    return FTSB_OK;
}

static const char *const *stub_cfg_strings(const ftsb_config *cfg,
                                           const char *key, uint32_t *n)
{
    (void)cfg, (void)key;
    *n = 0;
    return NULL;
}

static ftsb_backend_ref *stub_cfg_backend(const ftsb_config *cfg,
                                          const char *key)
{
    (void)cfg, (void)key;
    return NULL;
}

static const ftsb_dataset *stub_cfg_dataset(const ftsb_config *cfg,
                                            const char *key)
{
    (void)cfg, (void)key;
    return NULL;
}

static const char *stub_cfg_text(const ftsb_config *cfg)
{
    (void)cfg;
    return "{}";
}

/* --- services the test plugins do not use ------------------------------ */

static const char *stub_backend_fingerprint(ftsb_backend_ref *ref)
{
    (void)ref;
    return "";
}

static ftsb_status stub_backend_generate(ftsb_ctx *ctx, ftsb_backend_ref *ref,
                                         const ftsb_chat *chats, uint32_t n,
                                         const ftsb_gen_params *params,
                                         ftsb_gen_result *results)
{
    (void)ref, (void)chats, (void)n, (void)params, (void)results;
    return stub_fail(ctx, FTSB_E_UNSUPPORTED,
                     "the test host has no backends");
}

static uint64_t stub_dataset_count(const ftsb_dataset *ds)
{
    (void)ds;
    return 0;
}

static const ftsb_example *stub_dataset_get(const ftsb_dataset *ds,
                                            uint64_t i)
{
    (void)ds, (void)i;
    return NULL;
}

static ftsb_status stub_dataset_load(ftsb_ctx *ctx, const char *path,
                                     const char *format, ftsb_dataset **out)
{
    (void)format;
    *out = NULL;
    return stub_fail(ctx, FTSB_E_UNSUPPORTED,
                     "the test host cannot load '%s'", path);
}

static void stub_dataset_free(ftsb_dataset *ds)
{
    (void)ds;
}

static ftsb_status stub_cache_get(ftsb_ctx *ctx, const char *ns,
                                  const char *key, ftsb_buf *out)
{
    (void)ctx, (void)ns, (void)key, (void)out;
    return FTSB_E_NOT_FOUND;
}

static ftsb_status stub_cache_put(ftsb_ctx *ctx, const char *ns,
                                  const char *key, const char *value,
                                  size_t len)
{
    (void)ctx, (void)ns, (void)key, (void)value, (void)len;
    return FTSB_OK;
}

/* --- sinks of results ------------------------------------------------- */

static ftsb_status stub_dataset_add(ftsb_dataset_sink *sink,
                                    const ftsb_example *ex)
{
    struct stub_dataset_sink *s = (struct stub_dataset_sink *)sink;
    ftsb_example row;

    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        ftsb_example *p = realloc(s->rows, cap * sizeof *p);
        if (!p)
            return FTSB_E_NOMEM;
        s->rows = p;
        s->cap = cap;
    }
    /* Shallow: the id is copied and the message count kept. */
    memset(&row, 0, sizeof row);
    row.struct_size = sizeof row;
    row.id = xstrdup_or_null(ex->id);
    row.chat.n_messages = ex->chat.n_messages;
    s->rows[s->n++] = row;
    return FTSB_OK;
}

static ftsb_status stub_metric_add(ftsb_metric_sink *sink,
                                   const ftsb_metric_value *v)
{
    struct stub_metric_sink *s = (struct stub_metric_sink *)sink;
    ftsb_metric_value copy = *v;

    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        ftsb_metric_value *p = realloc(s->values, cap * sizeof *p);
        if (!p)
            return FTSB_E_NOMEM;
        s->values = p;
        s->cap = cap;
    }
    copy.name = xstrdup_or_null(v->name);
    copy.category = xstrdup_or_null(v->category);
    s->values[s->n++] = copy;
    return FTSB_OK;
}

static const ftsb_host host = {
    .abi_version = FTSB_ABI_VERSION,
    .struct_size = sizeof(ftsb_host),
    .host_version = "test",
    .status_str = ftsb_status_str,
    .fail = stub_fail,
    .log = stub_logf,
    .progress = stub_progress,
    .cancelled = stub_cancelled,
    .alloc = stub_alloc,
    .free = stub_free,
    .buf_append = stub_buf_append,
    .buf_printf = stub_buf_printf,
    .buf_clear = stub_buf_clear,
    .buf_data = stub_buf_data,
    .cfg_has = stub_cfg_has,
    .cfg_str = stub_cfg_str,
    .cfg_int = stub_cfg_int,
    .cfg_num = stub_cfg_num,
    .cfg_bool = stub_cfg_bool,
    .cfg_json = stub_cfg_str,
    .cfg_strings = stub_cfg_strings,
    .cfg_backend = stub_cfg_backend,
    .cfg_dataset = stub_cfg_dataset,
    .cfg_text = stub_cfg_text,
    .backend_fingerprint = stub_backend_fingerprint,
    .backend_generate = stub_backend_generate,
    .buf_new = stub_buf_new,
    .buf_free = stub_buf_free,
    .dataset_count = stub_dataset_count,
    .dataset_get = stub_dataset_get,
    .dataset_load = stub_dataset_load,
    .dataset_free = stub_dataset_free,
    .dataset_add = stub_dataset_add,
    .metric_add = stub_metric_add,
    .cache_get = stub_cache_get,
    .cache_put = stub_cache_put,
};

const ftsb_host *stub_host(void)
{
    return &host;
}

/* --- test-side constructors ------------------------------------------- */

ftsb_ctx *stub_ctx_new(void)
{
    return (ftsb_ctx *)calloc(1, sizeof(struct stub_ctx));
}

const char *stub_ctx_error(const ftsb_ctx *ctx)
{
    return ((const struct stub_ctx *)ctx)->msg;
}

void stub_ctx_free(ftsb_ctx *ctx)
{
    free(ctx);
}

ftsb_config *stub_config_new(const char *const *kv)
{
    struct stub_config *c = malloc(sizeof *c);

    if (c)
        c->kv = kv;
    return (ftsb_config *)c;
}

void stub_config_free(ftsb_config *cfg)
{
    free(cfg);
}

ftsb_dataset_sink *stub_dataset_sink_new(void)
{
    return (ftsb_dataset_sink *)calloc(1, sizeof(struct stub_dataset_sink));
}

size_t stub_dataset_sink_count(const ftsb_dataset_sink *s)
{
    return ((const struct stub_dataset_sink *)s)->n;
}

const ftsb_example *stub_dataset_sink_get(const ftsb_dataset_sink *s,
                                          size_t i)
{
    const struct stub_dataset_sink *d = (const struct stub_dataset_sink *)s;

    return i < d->n ? &d->rows[i] : NULL;
}

void stub_dataset_sink_free(ftsb_dataset_sink *s)
{
    struct stub_dataset_sink *d = (struct stub_dataset_sink *)s;

    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        free((char *)d->rows[i].id);
    free(d->rows);
    free(d);
}

ftsb_metric_sink *stub_metric_sink_new(void)
{
    return (ftsb_metric_sink *)calloc(1, sizeof(struct stub_metric_sink));
}

size_t stub_metric_sink_count(const ftsb_metric_sink *s)
{
    return ((const struct stub_metric_sink *)s)->n;
}

const ftsb_metric_value *stub_metric_sink_get(const ftsb_metric_sink *s,
                                              size_t i)
{
    const struct stub_metric_sink *m = (const struct stub_metric_sink *)s;

    return i < m->n ? &m->values[i] : NULL;
}

void stub_metric_sink_free(ftsb_metric_sink *s)
{
    struct stub_metric_sink *m = (struct stub_metric_sink *)s;

    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free((char *)m->values[i].name);
        free((char *)m->values[i].category);
    }
    free(m->values);
    free(m);
}
