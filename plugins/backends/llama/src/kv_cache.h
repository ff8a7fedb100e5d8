/*
 * kv_cache.h - the key/value cache of the sequences being generated, and
 * the budget that bounds it.  Each sequence owns one block holding, per
 * layer, its keys (after RoPE) and its values for positions 0..cap-1, in
 * the (T, G, D) position-major layout lm_attention_forward reads (see
 * kernels.h), so a layer's cache for positions [0, T) is one contiguous
 * prefix.  Keys and values are F32: llama.cpp's reference logits were
 * computed with an F32 cache, and an F16 cache moves logits by 1.7e-4 of
 * their range, past the tolerance (testdata/README.md section 6).
 *
 * A sequence reserves its positions when it is admitted (prompt + the
 * tokens it may generate, capped by the context) and the pool refuses a
 * reservation past its budget, so generation never runs out of cache half
 * way and never needs to evict.  The block is one malloc: its pages are
 * touched only as positions are written, so resident memory follows the
 * tokens actually generated while the budget counts the reservation.
 *
 * Letters: L layers, T positions (cap), G key/value heads, D head dim.
 * Thread contract: a pool and its sequences are used by one thread.
 */
#ifndef LM_KV_CACHE_H
#define LM_KV_CACHE_H

#include <stdint.h>

#include "lm_err.h"
#include "model.h"

struct lm_kv_seq {
    float *k;     /* (L, T, G*D) keys after RoPE; T = cap */
    float *v;     /* (L, T, G*D) values */
    int32_t cap;  /* positions reserved */
    int32_t len;  /* positions written (the next token goes at len) */
};

struct lm_kv_pool {
    int64_t budget;      /* positions all sequences may reserve together */
    int64_t used;        /* positions reserved now */
    int32_t n_layers;    /* L */
    int32_t kv_dim;      /* G*D */
};

/* Bytes of cache one position takes: keys and values of every layer. */
int64_t lm_kv_bytes_per_token(const struct lm_config *c);

/* A pool for c with a budget of budget_tokens positions (>= 1). */
void lm_kv_pool_init(struct lm_kv_pool *p, const struct lm_config *c,
                     int64_t budget_tokens);

/*
 * Reserves cap positions for s and allocates its block.  FTSB_E_NOMEM when
 * the reservation does not fit what is left of the budget (err says how
 * much is free; s untouched) or malloc fails.
 */
ftsb_status lm_kv_seq_alloc(struct lm_kv_pool *p, struct lm_kv_seq *s,
                            int32_t cap, struct lm_err *err);

/* Returns s's block and reservation to the pool; s is zeroed. */
void lm_kv_seq_free(struct lm_kv_pool *p, struct lm_kv_seq *s);

/* Layer l's keys / values: (T, G*D) with T = s->cap. */
static inline float *lm_kv_k(const struct lm_kv_seq *s,
                             const struct lm_kv_pool *p, int l)
{
    return s->k + (int64_t)l * s->cap * p->kv_dim;
}
static inline float *lm_kv_v(const struct lm_kv_seq *s,
                             const struct lm_kv_pool *p, int l)
{
    return s->v + (int64_t)l * s->cap * p->kv_dim;
}

#endif /* LM_KV_CACHE_H */
