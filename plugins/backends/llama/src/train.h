/*
 * train.h - the training forward and backward passes of the `llama`
 * architecture, laid out after llm.c: the trainable parameters and their
 * gradients (struct lm_train_net), the activations one micro-batch keeps
 * for the backward pass (struct lm_acts), lm_train_forward (loss, and the
 * gradient of the loss with respect to the logits) and lm_train_backward
 * (gradients of every trainable parameter, accumulated).  The optimiser,
 * schedules and checkpoints are the trainer's (trainer.h).
 *
 * Two methods share one pass:
 *   - LoRA: the model's weights (any type, mmapped) are frozen; each
 *     adapted projection W (O,I) computes y = x W^T + s (drop(x) A^T) B^T
 *     with A (R,I), B (O,R) trained, s = alpha / R (PEFT's LoRA, dropout
 *     on the adapter's input only);
 *   - full fine-tuning: every weight is trained; the model's weights must
 *     be the F32 master copy made by lm_model_to_f32 (model_f32.h), and
 *     the gradients have the same layout (struct lm_fparams).
 *
 * The forward pass here is not lm_forward: training runs whole sequences
 * from position 0 with no KV cache and must keep what the backward pass
 * reads, while inference must not pay for either.  Both compute the same
 * function (tests compare their logits).
 *
 * Micro-batch layout: n_seq sequences of seq_len[i] tokens stacked into
 * N rows (no padding); attention runs per sequence.  Memory kept per
 * layer: x_in, x_mid (N,C), q, att_out (N,H*D), k, v (N,G*D), gate, up
 * (N,F), two rstd (N) and the LoRA inputs x A^T (N,R) per adapted
 * projection.  Attention probabilities are not kept: the backward pass
 * recomputes them one layer and one sequence at a time, which bounds
 * their memory by H * T^2 floats whatever the depth (the 7B-shaped LoRA
 * budget of the issue needs that).  The normalised sub-layer inputs and
 * silu(gate) * up are recomputed in the backward pass as well.
 *
 * Letters: N rows, C width, H/G query/kv heads, D head dim, F FFN width,
 * V vocabulary, R LoRA rank, L layers (model.h).
 * Thread contract: a net and its acts are used by one thread at a time;
 * the only threads are OpenBLAS's.
 */
#ifndef LM_TRAIN_H
#define LM_TRAIN_H

#include <stdint.h>

#include "adapter.h"
#include "lm_err.h"
#include "matmul.h"
#include "model.h"
#include "model_f32.h"

/* What is trained, and where its gradients go. */
struct lm_train_net {
    const struct lm_model *model; /* forward weights: frozen base (LoRA) or
                                     F32 master weights (full) */
    /* LoRA (lora != NULL): trained A and B, gradients of the same shapes */
    struct lm_adapter *lora;
    struct lm_adapter *dlora;
    float lora_scale;     /* alpha / R (lm_adapter_scale) */
    float lora_dropout;   /* p in [0, 1); 0 = no dropout */
    uint64_t dropout_key; /* set per micro-batch by the trainer: the masks
                             are a pure function of (key, layer, target,
                             row, column), so a resumed run draws the same */
    /* full fine-tuning (lora == NULL): gradients in lm_fparams layout */
    struct lm_fparams dp;
};

/* A micro-batch: n_seq sequences stacked, N = sum of seq_len. */
struct lm_batch {
    const int32_t *tokens;  /* (N) input tokens */
    const int32_t *targets; /* (N) next token where the loss counts, else -1 */
    const int32_t *seq_len; /* (n_seq) */
    int32_t n_seq;
};

/* Activations of one micro-batch; buffers grow on demand and are reused. */
struct lm_acts {
    int32_t rows_cap, seq_cap, rank_cap; /* sizes the buffers hold */
    int32_t n_rows;    /* N of the last forward pass */
    /* kept for the backward pass, per layer (L, ...) */
    float *x_in;    /* (L,N,C) residual stream entering layer l */
    float *x_mid;   /* (L,N,C) residual stream after attention */
    float *rstd1;   /* (L,N) */
    float *rstd2;   /* (L,N) */
    float *q;       /* (L,N,H*D) after RoPE */
    float *k;       /* (L,N,G*D) after RoPE */
    float *v;       /* (L,N,G*D) */
    float *att_out; /* (L,N,H*D) attention output, heads concatenated */
    float *gate;    /* (L,N,F) before SiLU */
    float *up;      /* (L,N,F) */
    float *xa;      /* (L,7,N,R) LoRA: drop(x) A^T of each adapted projection */
    float *x_fin;   /* (N,C) residual stream after the last layer */
    float *rstd_f;  /* (N) */
    float *logits;  /* (N,V) logits, then (after the forward pass) the
                       gradient of the loss with respect to them */
    /* work buffers */
    float *xb, *dx, *dxb;   /* (N,C) */
    float *h, *dh, *dgate;  /* (N,F) */
    float *dq, *datt;       /* (N,H*D) */
    float *dk, *dv;         /* (N,G*D) */
    float *att;             /* (H,T,T) one sequence's probabilities */
    float *drop;            /* (N,max(C,F,H*D)) dropped adapter input */
    float *ddrop;           /* (N,max(C,F,H*D)) its gradient */
    float *dxa;             /* (N,R) */
    int32_t *pos;           /* (N) position of each row in its sequence */
    struct lm_scratch ws;   /* products and attention work */
};

void lm_acts_init(struct lm_acts *a);
void lm_acts_free(struct lm_acts *a);

/*
 * Forward pass of a micro-batch.  Writes *loss_sum (sum over unmasked
 * targets of -log p(target)) and *n_loss (how many), and replaces
 * acts->logits with dscale * dLoss/dlogits, ready for lm_train_backward
 * (pass dscale = 1 / unmasked targets of the whole optimizer step for a
 * mean loss).  Errors: FTSB_E_INVALID (a token or target outside the
 * vocabulary, a sequence longer than the context, no rows),
 * FTSB_E_NOMEM.  A NaN or infinite loss is not an error here; the
 * trainer decides.
 */
ftsb_status lm_train_forward(struct lm_train_net *net, struct lm_acts *a,
                             const struct lm_batch *b, float dscale,
                             double *loss_sum, int64_t *n_loss,
                             struct lm_err *err);

/*
 * Backward pass of the micro-batch of the last lm_train_forward on a:
 * accumulates (+=) into net->dlora (LoRA) or net->dp (full).  Zero them
 * before the first micro-batch of an optimizer step (lm_train_zero_grad).
 */
ftsb_status lm_train_backward(struct lm_train_net *net, struct lm_acts *a,
                              const struct lm_batch *b, struct lm_err *err);

/* Zeroes the gradients of net. */
void lm_train_zero_grad(struct lm_train_net *net);

/* The dropout mask value of element (row, col) of the input of projection
 * (layer, target) under key: 0 with probability p, else 1 / (1 - p).
 * Exposed for tests. */
float lm_dropout_mask(uint64_t key, int layer, int target, int64_t row,
                      int64_t col, float p);

#endif /* LM_TRAIN_H */
