/*
 * judging.c - cached judging, the twin of generate.c.
 */
#include "../ftsb_setup.h"

#include "../plugin/instance.h"
#include "../plugin/session.h"
#include "../store/store.h"
#include "../util/sha256.h"
#include "judging.h"

void verdict_reset(ftsb_verdict *v)
{
    v->struct_size = sizeof *v;
    v->state = FTSB_VERDICT_OK;
    v->refused = FTSB_REFUSED_UNKNOWN;
    v->score = FTSB_NO_SCORE;
    strbuf_reset((struct strbuf *)v->rationale);
    strbuf_reset((struct strbuf *)v->error);
}

static void verdict_key(const char *fp, const ftsb_judge_item *it,
                        char key[65])
{
    struct sha256 h;

    sha256_init(&h);
    sha256_field_str(&h, "verdict/1");
    sha256_field_str(&h, fp);
    sha256_field_str(&h, it->instruction);
    sha256_field_str(&h, it->response);
    sha256_final_hex(&h, key);
}

static ftsb_status from_cache(struct store *store, const char *key,
                              ftsb_verdict *v, int *found, struct err *err)
{
    struct strbuf rationale = STRBUF_INIT;
    struct store_verdict sv;
    ftsb_status st;

    st = store_verdict_get(store, key, &sv, &rationale, found, err);
    if (st == FTSB_OK && *found) {
        v->state = sv.state;
        v->refused = sv.refused;
        v->score = sv.score;
        if (strbuf_add((struct strbuf *)v->rationale, rationale.buf,
                       rationale.len))
            st = err_set(err, FTSB_E_NOMEM, "out of memory");
    }
    strbuf_release(&rationale);
    return st;
}

static ftsb_status call_judge(struct session *s, struct instance *judge,
                              const ftsb_judge_item *items,
                              const uint32_t *miss, uint32_t n_miss,
                              ftsb_verdict *out, struct err *err)
{
    ftsb_judge_item *sub = malloc((size_t)n_miss * sizeof *sub + 1);
    ftsb_verdict *res = malloc((size_t)n_miss * sizeof *res + 1);
    struct ftsb_ctx ctx;
    ftsb_status st;

    if (!sub || !res) {
        free(sub);
        free(res);
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    }
    for (uint32_t j = 0; j < n_miss; j++) {
        sub[j] = items[miss[j]];
        res[j] = out[miss[j]];
    }
    ctx_init(&ctx, s, judge->label);
    st = instance_judge(judge)->judge(judge->self, &ctx, sub, n_miss, res);
    if (st)
        err_set(err, st, "%s: %s", judge->label,
                ctx.err.msg[0] ? ctx.err.msg : ftsb_status_str(st));
    ctx_release(&ctx);
    for (uint32_t j = 0; j < n_miss; j++) {
        ftsb_verdict *v = &out[miss[j]];

        v->state = res[j].state;
        v->refused = res[j].refused;
        v->score = res[j].score;
        if (v->state != FTSB_VERDICT_OK && v->state != FTSB_VERDICT_ERROR) {
            v->state = FTSB_VERDICT_ERROR;
            strbuf_addf((struct strbuf *)v->error,
                        "the judge returned unknown state %d",
                        (int)res[j].state);
        } else if (st && v->state == FTSB_VERDICT_OK &&
                   v->refused == FTSB_REFUSED_UNKNOWN &&
                   v->score == FTSB_NO_SCORE) {
            /* The judge stopped before this item: an empty slot is not a
             * verdict, and must not be cached as one. */
            v->state = FTSB_VERDICT_ERROR;
            strbuf_addstr((struct strbuf *)v->error,
                          "the judge stopped before judging this item");
        }
    }
    free(sub);
    free(res);
    return st;
}

static ftsb_status store_verdicts(struct store *store, const char *fp,
                                  char (*keys)[65], const uint32_t *miss,
                                  uint32_t n_miss, const ftsb_verdict *out,
                                  struct err *err)
{
    ftsb_status st = store_begin(store, err);

    for (uint32_t j = 0; st == FTSB_OK && j < n_miss; j++) {
        const ftsb_verdict *v = &out[miss[j]];
        struct store_verdict sv = {
            .state = v->state,
            .refused = v->refused,
            .score = v->score,
            .rationale = ((struct strbuf *)v->rationale)->buf,
            .error = ((struct strbuf *)v->error)->buf,
        };
        st = store_verdict_put(store, keys[miss[j]], fp, &sv, err);
    }
    if (st) {
        store_rollback(store);
        return st;
    }
    return store_commit(store, err);
}

ftsb_status judge_cached(struct session *s, struct instance *judge,
                         const ftsb_judge_item *items, uint32_t n,
                         ftsb_verdict *out, struct err *err)
{
    char (*keys)[65] = malloc((size_t)n * sizeof *keys + 1);
    uint32_t *miss = malloc((size_t)n * sizeof *miss + 1), n_miss = 0;
    const char *fp = instance_fingerprint(judge);
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

        verdict_reset(&out[i]);
        verdict_key(fp, &items[i], keys[i]);
        st = from_cache(store, keys[i], &out[i], &found, err);
        if (st)
            goto out;
        if (!found)
            miss[n_miss++] = i;
    }
    if (n_miss == 0)
        goto out;
    st = call_judge(s, judge, items, miss, n_miss, out, err);
    /* Keep the verdicts the judge did give before it stopped (an LLM
     * judge's calls are paid); unfilled slots are errors, never cached. */
    {
        struct err serr;
        ftsb_status sst;

        err_clear(&serr);
        sst = store_verdicts(store, fp, keys, miss, n_miss, out, &serr);
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
