/*
 * model_f32.h - a model's weights as one F32 block, the layout full
 * fine-tuning trains (master weights), keeps its gradients and AdamW
 * moments in, and checkpoints.  lm_model_to_f32 converts a loaded model
 * (weights of any type, mmapped) into an owned F32 block and points the
 * model's weight views at it, so the same lm_forward and lm_train_forward
 * run on it; the file stays open for the metadata and the tokenizer.
 *
 * Block order (llm.c's "fill in parameter sizes"): tok_embd (V,C),
 * output (V,C) unless tied, out_norm (C), then per layer attn_norm (C),
 * wq (H*D,C), wk (G*D,C), wv (G*D,C), wo (C,H*D), ffn_norm (C),
 * w_gate (F,C), w_up (F,C), w_down (C,F).
 */
#ifndef LM_MODEL_F32_H
#define LM_MODEL_F32_H

#include <stdint.h>

#include "lm_err.h"
#include "model.h"

struct lm_fp_layer {
    float *attn_norm, *wq, *wk, *wv, *wo;
    float *ffn_norm, *w_gate, *w_up, *w_down;
};

/* Pointers into one block of lm_fparams_count() floats. */
struct lm_fparams {
    float *mem;             /* the block (not owned by this struct) */
    int64_t n;              /* floats in it */
    float *tok_embd;        /* (V,C) */
    float *output;          /* (V,C); == tok_embd when the output is tied */
    float *out_norm;        /* (C) */
    struct lm_fp_layer *layers; /* (L) owned */
};

/* Floats of the block for c; -1 when it would overflow. */
int64_t lm_fparams_count(const struct lm_config *c);

/* Points p into mem (lm_fparams_count(c) floats).  FTSB_E_NOMEM. */
ftsb_status lm_fparams_bind(struct lm_fparams *p, const struct lm_config *c,
                            float *mem, struct lm_err *err);

/* Frees the layer table (not the block).  NULL-safe on a zeroed p. */
void lm_fparams_free(struct lm_fparams *p);

/*
 * Converts m's weights into an owned F32 block (m->f32) and points every
 * weight view and norm at it.  A no-op when already converted.
 * FTSB_E_NOMEM (the model is unchanged), FTSB_E_INVALID (a weight type
 * the converter does not know).
 */
ftsb_status lm_model_to_f32(struct lm_model *m, struct lm_err *err);

struct lm_adapter; /* adapter.h */

/*
 * Merges an adapter into the F32 weights (after lm_model_to_f32):
 * W += s * B A for every pair, s = lm_adapter_scale(ad) * scale, so the
 * model computes without the adapter what it computed with it.  The
 * adapter must fit the model (lm_adapter_check).  FTSB_E_INVALID when
 * the model is not converted or a pair does not fit.
 */
ftsb_status lm_model_merge_lora(struct lm_model *m,
                                const struct lm_adapter *ad, float scale,
                                struct lm_err *err);

#endif /* LM_MODEL_F32_H */
