/*
 * net_host.c - the host table's members for secrets, HTTP, waiting,
 * hashing and the ledger (ABI 1.1): thin adapters from the plugin's
 * ftsb_ctx to the net module and the session's run store, so that plugins
 * get exactly the behaviour the core's own code gets.
 */
#include "../ftsb_setup.h"

#include "../plugin/session.h"
#include "../store/store.h"
#include "../util/sha256.h"
#include "net.h"
#include "net_host.h"

ftsb_status hnet_secret_open(ftsb_ctx *ctx, const ftsb_secret_spec *spec,
                             ftsb_secret **out)
{
    if (!out)
        return FTSB_E_INVALID;
    return net_secret_open(spec, out, ctx ? &ctx->err : NULL);
}

void hnet_secret_close(ftsb_secret *s)
{
    net_secret_close(s);
}

ftsb_status hnet_client_new(ftsb_ctx *ctx, const ftsb_http_options *opts,
                            ftsb_http_client **out)
{
    if (!out)
        return FTSB_E_INVALID;
    return net_client_new(opts, out, ctx ? &ctx->err : NULL);
}

void hnet_client_free(ftsb_http_client *c)
{
    net_client_free(c);
}

/* The session's store when a request needs the ledger; none without a
 * session (a bare test host). */
static ftsb_status env_of(ftsb_ctx *ctx, const ftsb_http_request *reqs,
                          uint32_t n, struct net_env *env)
{
    int ledger = 0;

    memset(env, 0, sizeof *env);
    env->label = ctx->label;
    if (!ctx->session)
        return FTSB_OK;
    env->cancel = ctx->session->cancel;
    for (uint32_t i = 0; i < n && !ledger; i++)
        ledger = (reqs[i].flags & (FTSB_HTTP_LEDGER | FTSB_HTTP_KEEP)) != 0;
    if (!ledger)
        return FTSB_OK;
    return session_store(ctx->session, &env->store, &ctx->err);
}

ftsb_status hnet_perform(ftsb_http_client *c, ftsb_ctx *ctx,
                         const ftsb_http_request *reqs, uint32_t n,
                         ftsb_http_response *resps, ftsb_http_done_fn done,
                         void *ud)
{
    struct net_env env;
    ftsb_status st;

    if (!c || !ctx || (n && (!reqs || !resps)))
        return FTSB_E_INVALID;
    if ((st = env_of(ctx, reqs, n, &env)))
        return st;
    return net_perform(c, &env, reqs, n, resps, done, ud, &ctx->err);
}

ftsb_status hnet_wait_ms(ftsb_ctx *ctx, uint32_t ms)
{
    const volatile sig_atomic_t *cancel =
        ctx && ctx->session ? ctx->session->cancel : NULL;

    return net_wait_ms(cancel, ms);
}

void hnet_sha256_hex(const void *data, size_t len, char out[65])
{
    sha256_hex(data, len, out);
}

ftsb_status hnet_call_begin(ftsb_ctx *ctx, const char *work_key,
                            const char *what, int64_t *call_id)
{
    struct store *store;
    ftsb_status st;

    if (!ctx || !ctx->session || !call_id)
        return FTSB_E_INVALID;
    if ((st = session_store(ctx->session, &store, &ctx->err)))
        return st;
    if ((st = net_ledger_settle(store, ctx->label, &ctx->err)))
        return st;
    return store_call_begin(store, work_key, what, call_id, &ctx->err);
}

ftsb_status hnet_call_end(ftsb_ctx *ctx, int64_t call_id,
                          const char *outcome)
{
    struct store *store;
    ftsb_status st;

    if (!ctx || !ctx->session)
        return FTSB_E_INVALID;
    if ((st = session_store(ctx->session, &store, &ctx->err)))
        return st;
    return store_call_end(store, call_id, outcome ? outcome : "ok",
                          &ctx->err);
}
