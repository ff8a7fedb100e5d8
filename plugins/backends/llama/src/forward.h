/*
 * forward.h - the forward pass of the `llama` architecture as llama.cpp
 * runs it (testdata/README.md section 3): token embedding; per layer
 * RMSNorm, q/k/v projections, adjacent-pair RoPE, causal grouped-query
 * attention over the sequence's KV cache, output projection and residual,
 * RMSNorm, SwiGLU feed-forward and residual; a final RMSNorm and the
 * output projection to logits.
 *
 * One call runs a batch of segments.  A segment is some consecutive
 * tokens of one sequence, starting at that sequence's cache length: a
 * whole prompt (prefill), a chunk of one, or the one new token of a
 * decoding step.  The rows of all segments are stacked, so each weight is
 * applied to the whole batch as one matrix product (sgemm with many rows
 * for a prefill or a batched decoding step; a single row, one sequence
 * decoding, takes the n = 1 path of lm_matmul); only attention runs per
 * segment, each over its own cache.  Logits are computed for the rows
 * asked for: the last row of a segment (generation), all of them (tests
 * comparing every position with llama.cpp), or none (a prompt chunk that
 * is not the last).
 *
 * LoRA: when the model has an adapter attached (model.h: lora,
 * lora_scale), each of the seven projections of a layer that the adapter
 * has a pair for adds s * (x . A^T) . B^T to its output, before anything
 * else uses it (RoPE for q and k, SwiGLU for gate and up, the residual
 * for o and down), with s = lm_adapter_scale(lora) * lora_scale: what
 * llama.cpp computes at run time, never merged into the weights.  The
 * (N,r) intermediate lives in the state.  Without an adapter nothing of
 * this runs.
 *
 * Reference mode (the state's scratch in reference mode, set by
 * FTSB_LM_REFERENCE=1 or lm_scratch_set_reference): every product,
 * attention, RMSNorm, RoPE and SwiGLU runs its naive reference.
 *
 * Letters: N rows of the batch, S segments, R rows of logits, C width,
 * H/G query/kv heads, D head dim, F FFN width, V vocabulary (model.h),
 * r the LoRA rank (matmul.h's R, lower-case here because R is taken).
 * Thread contract: a state is used by one thread at a time; the model is
 * shared read-only.  The only threads are OpenBLAS's (and the scratch's
 * lent parallel-for, see matmul.h).
 */
#ifndef LM_FORWARD_H
#define LM_FORWARD_H

#include <stdint.h>

#include "kv_cache.h"
#include "lm_err.h"
#include "matmul.h"
#include "model.h"

enum lm_logits_mode {
    LM_LOGITS_NONE = 0, /* no logits (a prompt chunk before the last) */
    LM_LOGITS_LAST = 1, /* the segment's last row (generation) */
    LM_LOGITS_ALL = 2,  /* every row (tests against reference logits) */
};

/* Some consecutive tokens of one sequence. */
struct lm_seg {
    const int32_t *tokens; /* (n) token ids */
    int32_t n;             /* >= 1 */
    struct lm_kv_seq *kv;  /* tokens go to positions kv->len .. kv->len+n-1,
                              which must be < kv->cap; kv->len advances */
    int32_t logits;        /* enum lm_logits_mode */
};

/* Activations of one batch.  Buffers grow on demand and are reused. */
struct lm_state {
    int32_t rows_cap;   /* N_max the buffers hold */
    int32_t logits_cap; /* R_max */
    float *x;      /* (N,C) residual stream */
    float *xb;     /* (N,C) normalised input of a sub-layer; at the end
                      the (R,C) rows whose logits are computed */
    float *xb2;    /* (N,C) output of a sub-layer before the residual add */
    float *q;      /* (N,H*D) queries */
    float *k;      /* (N,G*D) new keys, copied into the caches */
    float *v;      /* (N,G*D) new values */
    float *att;    /* (N,H*D) attention output, heads concatenated */
    float *gate;   /* (N,F) SiLU branch, then silu(gate) * up */
    float *up;     /* (N,F) */
    float *logits; /* (R,V) logits of the rows asked for, segment order */
    int32_t *pos;  /* (N) position of each row */
    float *lora_xa;  /* (N,r) x . A^T of the LoRA pair being applied
                        (r = the adapter's rank); its own buffer because
                        the scratch's work buffer belongs to attention */
    size_t lora_cap; /* floats lora_xa holds */
    int32_t n_logits; /* R of the last call */
    struct lm_scratch ws; /* matmul tiles, attention work, reference flag */
};

/* Zeroes s and prepares its scratch (reads FTSB_LM_REFERENCE).  No
 * allocation. */
void lm_state_init(struct lm_state *s);

/* Makes room for rows rows and logit_rows rows of logits (never shrinks).
 * FTSB_E_NOMEM. */
ftsb_status lm_state_reserve(struct lm_state *s, const struct lm_config *c,
                             int32_t rows, int32_t logit_rows,
                             struct lm_err *err);

void lm_state_free(struct lm_state *s);

/*
 * Runs segs[0..n_segs) through the model.  Every segment's tokens are
 * written to its cache (kv->len advances by n) and s->logits receives
 * s->n_logits rows, segment after segment, as each segment's mode asks.
 * pool gives the cache layout.  Errors: FTSB_E_INVALID (a token id outside
 * the vocabulary, a segment past its cache's capacity, no rows, an
 * attached adapter that does not fit the model), FTSB_E_NOMEM.  On error
 * the caches may hold partial rows of this call but their lengths are
 * unchanged.
 */
ftsb_status lm_forward(const struct lm_model *m, struct lm_state *s,
                       const struct lm_kv_pool *pool, const struct lm_seg *segs,
                       int32_t n_segs, struct lm_err *err);

#endif /* LM_FORWARD_H */
