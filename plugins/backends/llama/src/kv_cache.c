/*
 * kv_cache.c - reservation accounting and the per-sequence blocks of the
 * KV cache (see kv_cache.h for the layout and why a sequence reserves its
 * whole length up front).
 */
#include "kv_cache.h"

#include <stdlib.h>
#include <string.h>

int64_t lm_kv_bytes_per_token(const struct lm_config *c)
{
    return 2 * (int64_t)c->n_layers * c->n_kv_heads * c->head_dim *
           (int64_t)sizeof(float);
}

void lm_kv_pool_init(struct lm_kv_pool *p, const struct lm_config *c,
                     int64_t budget_tokens)
{
    memset(p, 0, sizeof *p);
    p->budget = budget_tokens > 0 ? budget_tokens : 1;
    p->n_layers = c->n_layers;
    p->kv_dim = c->n_kv_heads * c->head_dim;
}

ftsb_status lm_kv_seq_alloc(struct lm_kv_pool *p, struct lm_kv_seq *s,
                            int32_t cap, struct lm_err *err)
{
    size_t per = (size_t)p->n_layers * (size_t)p->kv_dim; /* floats per position */
    float *block;

    if (cap < 1 || cap > p->budget - p->used)
        return lm_fail(err, FTSB_E_NOMEM, "the KV cache budget has %lld of "
                       "%lld positions free; %d are needed",
                       (long long)(p->budget - p->used),
                       (long long)p->budget, (int)cap);
    if ((size_t)cap > SIZE_MAX / 2 / sizeof(float) / per ||
        !(block = malloc(2 * (size_t)cap * per * sizeof(float))))
        return lm_fail(err, FTSB_E_NOMEM, "out of memory allocating the KV "
                       "cache of %d positions (%zu MiB)", (int)cap,
                       (2 * (size_t)cap * per * sizeof(float)) >> 20);
    s->k = block;
    s->v = block + (size_t)cap * per;
    s->cap = cap;
    s->len = 0;
    p->used += cap;
    return FTSB_OK;
}

void lm_kv_seq_free(struct lm_kv_pool *p, struct lm_kv_seq *s)
{
    if (s->k) {
        free(s->k); /* k and v are one block */
        p->used -= s->cap;
    }
    memset(s, 0, sizeof *s);
}
