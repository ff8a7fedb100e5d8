/*
 * generate.c - cached generation.
 *
 * The cache key hashes the backend fingerprint, the whole chat as
 * canonical JSON and the decoding parameters, so two requests share an
 * answer exactly when a backend would be asked the same thing.  Cache
 * writes for one batch are one transaction, committed before the answers
 * are handed back: once the caller sees an answer, a crash cannot lose it.
 */
#include "../ftsb_setup.h"

#include <cjson/cJSON.h>

#include "../plugin/instance.h"
#include "../plugin/session.h"
#include "../store/store.h"
#include "../util/sha256.h"
#include "generate.h"

void gen_params_default(ftsb_gen_params *p)
{
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->max_new_tokens = 512;
    p->temperature = 0;
    p->top_p = 1;
    p->top_k = 0;
    p->repetition_penalty = 1;
    p->seed = 42;
}

ftsb_status chat_to_json(const ftsb_chat *chat, struct strbuf *out)
{
    cJSON *arr = cJSON_CreateArray();
    char *text;
    ftsb_status st = FTSB_OK;

    if (!arr)
        return FTSB_E_NOMEM;
    for (uint32_t i = 0; i < chat->n_messages && st == FTSB_OK; i++) {
        cJSON *m = cJSON_CreateObject();

        if (!m || !cJSON_AddItemToArray(arr, m) ||
            !cJSON_AddStringToObject(m, "role", chat->messages[i].role) ||
            !cJSON_AddStringToObject(m, "content", chat->messages[i].content))
            st = FTSB_E_NOMEM;
    }
    text = st == FTSB_OK ? cJSON_PrintUnformatted(arr) : NULL;
    if (st == FTSB_OK && !text)
        st = FTSB_E_NOMEM;
    if (text)
        st = strbuf_addstr(out, text);
    cJSON_free(text);
    cJSON_Delete(arr);
    return st;
}

ftsb_status gen_params_text(const ftsb_gen_params *p, struct strbuf *out)
{
    ftsb_status st;

    st = strbuf_addf(out,
                     "max_new_tokens=%d temperature=%.9g top_p=%.9g top_k=%d "
                     "repetition_penalty=%.9g seed=%llu stop=[",
                     (int)p->max_new_tokens, (double)p->temperature,
                     (double)p->top_p, (int)p->top_k,
                     (double)p->repetition_penalty,
                     (unsigned long long)p->seed);
    for (uint32_t i = 0; st == FTSB_OK && i < p->n_stop; i++) {
        /* Length-prefixed, so stop strings holding commas stay distinct. */
        st = strbuf_addf(out, "%zu:%s,", strlen(p->stop[i]), p->stop[i]);
    }
    return st ? st : strbuf_addch(out, ']');
}

ftsb_status gen_key(const char *fingerprint, const ftsb_chat *chat,
                    const ftsb_gen_params *p, char key[65])
{
    struct strbuf chat_json = STRBUF_INIT, params = STRBUF_INIT;
    struct sha256 h;
    ftsb_status st;

    st = chat_to_json(chat, &chat_json);
    if (!st)
        st = gen_params_text(p, &params);
    if (!st) {
        sha256_init(&h);
        sha256_field_str(&h, "gen/1");
        sha256_field_str(&h, fingerprint);
        sha256_field(&h, chat_json.buf, chat_json.len);
        sha256_field(&h, params.buf, params.len);
        sha256_final_hex(&h, key);
    }
    strbuf_release(&chat_json);
    strbuf_release(&params);
    return st;
}

static ftsb_status fill_from_cache(struct store *store, const char *key,
                                   ftsb_gen_result *r, int *found,
                                   struct err *err)
{
    struct strbuf text = STRBUF_INIT, finish = STRBUF_INIT;
    struct store_gen g;
    ftsb_status st;

    st = store_gen_get(store, key, &g, &text, &finish, NULL, found, err);
    if (st == FTSB_OK && *found) {
        strbuf_reset((struct strbuf *)r->text);
        strbuf_reset((struct strbuf *)r->finish);
        if (strbuf_add((struct strbuf *)r->text, text.buf, text.len) ||
            strbuf_add((struct strbuf *)r->finish, finish.buf, finish.len))
            st = err_set(err, FTSB_E_NOMEM, "out of memory");
        r->state = g.state;
        r->n_prompt_tokens = g.n_prompt_tokens;
        r->n_completion_tokens = g.n_completion_tokens;
    }
    strbuf_release(&text);
    strbuf_release(&finish);
    return st;
}

static ftsb_status store_answers(struct store *store, const char *fp,
                                 char (*keys)[65], const uint32_t *miss,
                                 uint32_t n_miss, ftsb_gen_result *results,
                                 struct err *err)
{
    ftsb_status st = store_begin(store, err);

    for (uint32_t j = 0; st == FTSB_OK && j < n_miss; j++) {
        ftsb_gen_result *r = &results[miss[j]];
        struct store_gen g = {
            .state = r->state,
            .text = ((struct strbuf *)r->text)->buf,
            .finish = ((struct strbuf *)r->finish)->buf,
            .error = ((struct strbuf *)r->error)->buf,
            .n_prompt_tokens = r->n_prompt_tokens,
            .n_completion_tokens = r->n_completion_tokens,
        };
        st = store_gen_put(store, keys[miss[j]], fp, &g, err);
    }
    if (st) {
        store_rollback(store);
        return st;
    }
    return store_commit(store, err);
}

static ftsb_status call_backend(struct session *s, struct instance *backend,
                                const ftsb_chat *chats, const uint32_t *miss,
                                uint32_t n_miss,
                                const ftsb_gen_params *params,
                                ftsb_gen_result *results, struct err *err)
{
    ftsb_chat *sub = malloc((size_t)n_miss * sizeof *sub + 1);
    ftsb_gen_result *out = malloc((size_t)n_miss * sizeof *out + 1);
    struct ftsb_ctx ctx;
    ftsb_status st;

    if (!sub || !out) {
        free(sub);
        free(out);
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    }
    for (uint32_t j = 0; j < n_miss; j++) {
        sub[j] = chats[miss[j]];
        out[j] = results[miss[j]];
        out[j].state = FTSB_GEN_ERROR;
    }
    ctx_init(&ctx, s, backend->label);
    st = instance_backend(backend)->generate(backend->self, &ctx, sub, n_miss,
                                             params, out);
    if (st)
        err_set(err, st, "%s: %s", backend->label,
                ctx.err.msg[0] ? ctx.err.msg : ftsb_status_str(st));
    ctx_release(&ctx);
    for (uint32_t j = 0; j < n_miss; j++) {
        ftsb_gen_result *r = &results[miss[j]];

        r->state = out[j].state;
        r->n_prompt_tokens = out[j].n_prompt_tokens;
        r->n_completion_tokens = out[j].n_completion_tokens;
        if (st == FTSB_OK && r->state == FTSB_GEN_ERROR &&
            ((struct strbuf *)r->error)->len == 0)
            strbuf_addstr((struct strbuf *)r->error,
                          "the backend reported an error without a message");
    }
    free(sub);
    free(out);
    return st;
}

ftsb_status gen_cached(struct session *s, struct instance *backend,
                       const ftsb_chat *chats, uint32_t n,
                       const ftsb_gen_params *params,
                       ftsb_gen_result *results, struct err *err)
{
    char (*keys)[65] = malloc((size_t)n * sizeof *keys + 1);
    uint32_t *miss = malloc((size_t)n * sizeof *miss + 1), n_miss = 0;
    struct store *store;
    ftsb_status st;

    if (!keys || !miss) {
        st = err_set(err, FTSB_E_NOMEM, "out of memory");
        goto out;
    }
    if ((st = session_store(s, &store, err)))
        goto out;
    for (uint32_t i = 0; i < n; i++) {
        int found = 0;

        strbuf_reset((struct strbuf *)results[i].text);
        strbuf_reset((struct strbuf *)results[i].finish);
        strbuf_reset((struct strbuf *)results[i].error);
        st = gen_key(instance_fingerprint(backend), &chats[i], params,
                     keys[i]);
        if (!st)
            st = fill_from_cache(store, keys[i], &results[i], &found, err);
        if (st)
            goto out;
        if (!found)
            miss[n_miss++] = i;
    }
    if (n_miss == 0)
        goto out;
    st = call_backend(s, backend, chats, miss, n_miss, params, results, err);
    /* Keep every answer the backend did produce, even when it stopped
     * part-way (a revoked key mid-batch): they may have been paid for.
     * Unfilled slots are errors, which the store does not cache. */
    {
        struct err serr;
        ftsb_status sst;

        err_clear(&serr);
        sst = store_answers(store, instance_fingerprint(backend), keys, miss,
                            n_miss, results, &serr);
        if (st == FTSB_OK && sst) {
            st = sst;
            *err = serr;
        }
    }
out:
    free(keys);
    free(miss);
    return st;
}
