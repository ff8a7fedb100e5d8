/*
 * kernels.h - the non-matmul numeric kernels of the Llama engine, forward
 * and backward: RMSNorm, RoPE (GGUF/Meta adjacent-pair layout), softmax,
 * causal GQA attention, SwiGLU, cross-entropy, AdamW and gradient
 * clipping.  Each has a naive reference (suffix _ref, double accumulation,
 * libm exp) that defines what the optimised version computes; tests
 * compare the two with a normalised error and check gradients by finite
 * differences.  Same conventions as matmul.h: row-major, outputs first,
 * then inputs, then dimensions; backward kernels accumulate (+=) into
 * gradients unless the comment says "written".
 *
 * Dimension letters (llm.c style):
 *   N  rows (tokens of the current batch, B*T flattened)
 *   C  model width (n_embd)
 *   H  query heads, G  key/value heads (GQA: query head h reads kv head
 *      h / (H/G)), D  head dimension
 *   T  key positions visible to the batch (pos0 + N)
 *   F  feed-forward width, V  vocabulary, P  parameter count
 *
 * KV cache layout (what lm_attention_* read): per layer, K and V are each
 * (T_max, G, D) floats, position-major, so the cache of a layer for
 * positions [0, T) is the contiguous prefix (T, G, D).  A whole-model
 * cache is (L, T_max, G, D); pass the pointer to layer l's slice.  The
 * caller writes rows pos0..pos0+N-1 (after RoPE for K) before calling.
 *
 * Threads: reentrant, single-threaded loops (BLAS threads are the only
 * threads; see DESIGN.md).  Attention uses lm_gemm and its lm_scratch
 * ([instance]).
 */
#ifndef LM_KERNELS_H
#define LM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "lm_err.h"
#include "matmul.h"

#define LM_ROPE_MAX_DIM 1024 /* largest head_dim RoPE accepts */

/* ---- elementwise --------------------------------------------------------- */

/* y(P) += x(P): the residual connection (and its backward). */
void lm_add(float *y, const float *x, int64_t p);

/* exp(x) with about 1 ulp of error, written to vectorise; inputs are
 * clamped to [-87.3, 88.3] (results stay normal), NaN propagates. */
float lm_expf(float x);

/* ---- RMSNorm --------------------------------------------------------------
 * out(N,C) = x / sqrt(mean(x^2) + eps) * g(C);  rstd(N) (may be NULL)
 * receives 1 / sqrt(mean(x^2) + eps) for the backward pass.  out may
 * alias x. */
void lm_rmsnorm_forward(float *out, float *rstd, const float *x,
                        const float *g, float eps, int n, int c);
void lm_rmsnorm_forward_ref(float *out, float *rstd, const float *x,
                            const float *g, float eps, int n, int c);

/* dx(N,C) +=, dg(C) += (dg may be NULL: frozen norm under LoRA), given
 * dout(N,C), the forward input x(N,C), g(C) and rstd(N). */
void lm_rmsnorm_backward(float *dx, float *dg, const float *dout,
                         const float *x, const float *g, const float *rstd,
                         int n, int c);
void lm_rmsnorm_backward_ref(float *dx, float *dg, const float *dout,
                             const float *x, const float *g,
                             const float *rstd, int n, int c);

/* ---- RoPE -----------------------------------------------------------------
 * In place on x(N, nh, D) (call with nh = H for Q and nh = G for K).  Row t
 * is at position pos[t], or pos0 + t when pos is NULL.  Pairs are adjacent,
 * (x[2i], x[2i+1]) in each head (ggml mode NORM, Meta/llama2.c, GGUF q/k
 * row order), rotated by theta = position * freq_base^(-2i/D):
 *     x0' = x0 cos - x1 sin,   x1' = x0 sin + x1 cos.
 * Angles are computed in double.  Returns FTSB_E_INVALID (nothing done)
 * when D is odd or above LM_ROPE_MAX_DIM. */
ftsb_status lm_rope_forward(float *x, const int32_t *pos, int pos0, int n,
                            int nh, int head_dim, float freq_base);
ftsb_status lm_rope_forward_ref(float *x, const int32_t *pos, int pos0, int n,
                                int nh, int head_dim, float freq_base);

/* Backward, in place: turns dL/d(rotated x) into dL/dx (the inverse
 * rotation, since a rotation's transpose is its inverse).  The gradient is
 * written over the input, not accumulated. */
ftsb_status lm_rope_backward(float *dx, const int32_t *pos, int pos0, int n,
                             int nh, int head_dim, float freq_base);
ftsb_status lm_rope_backward_ref(float *dx, const int32_t *pos, int pos0,
                                 int n, int nh, int head_dim,
                                 float freq_base);

/* ---- softmax --------------------------------------------------------------
 * y(N,V) = softmax of each row of x(N,V), max-subtracted (stable).  y may
 * alias x.  Backward: dx(N,V) += y * (dy - sum(dy * y)). */
void lm_softmax_forward(float *y, const float *x, int n, int v);
void lm_softmax_forward_ref(float *y, const float *x, int n, int v);
void lm_softmax_backward(float *dx, const float *dy, const float *y, int n,
                         int v);
void lm_softmax_backward_ref(float *dx, const float *dy, const float *y,
                             int n, int v);

/* ---- causal attention with GQA ----------------------------------------------
 * Query rows q(N,H,D) at positions pos0..pos0+N-1 attend to keys and
 * values k, v (T,G,D) at positions 0..T-1, T = pos0 + N, causally (row t
 * sees positions <= pos0 + t), with scores scaled by 1/sqrt(D).
 * out(N,H,D) is written.  att(H,N,T) (may be NULL) receives the
 * probabilities (zeros above the diagonal); the backward pass needs them.
 * N >= 2 runs two sgemm per head (scores, then probabilities . V); N == 1
 * is the decode path (dot products over the cache).  Work memory comes
 * from ws (N*T floats when att is NULL).  Requires H % G == 0.
 * Returns FTSB_OK, FTSB_E_INVALID or FTSB_E_NOMEM (message in ws->err). */
ftsb_status lm_attention_forward(float *out, float *att, const float *q,
                                 const float *k, const float *v, int n,
                                 int pos0, int n_head, int n_head_kv,
                                 int head_dim, struct lm_scratch *ws);
/* Reference: plain loops, double accumulation; allocates its own row
 * buffer (FTSB_E_NOMEM without a message on failure). */
ftsb_status lm_attention_forward_ref(float *out, float *att, const float *q,
                                     const float *k, const float *v, int n,
                                     int pos0, int n_head, int n_head_kv,
                                     int head_dim);

/* Backward: dq(N,H,D) +=, dk(T,G,D) +=, dv(T,G,D) +=, given dout(N,H,D),
 * the forward inputs and att(H,N,T) from lm_attention_forward.  Work
 * memory (N*T floats) from ws. */
ftsb_status lm_attention_backward(float *dq, float *dk, float *dv,
                                  const float *dout, const float *q,
                                  const float *k, const float *v,
                                  const float *att, int n, int pos0,
                                  int n_head, int n_head_kv, int head_dim,
                                  struct lm_scratch *ws);
ftsb_status lm_attention_backward_ref(float *dq, float *dk, float *dv,
                                      const float *dout, const float *q,
                                      const float *k, const float *v,
                                      const float *att, int n, int pos0,
                                      int n_head, int n_head_kv,
                                      int head_dim);

/* ---- SwiGLU -----------------------------------------------------------------
 * out(P) = silu(gate) * up, silu(g) = g * sigmoid(g); P = N*F.  out may
 * alias gate or up.  Backward: dgate(P) +=, dup(P) += given dout(P). */
void lm_swiglu_forward(float *out, const float *gate, const float *up,
                       int64_t p);
void lm_swiglu_forward_ref(float *out, const float *gate, const float *up,
                           int64_t p);
void lm_swiglu_backward(float *dgate, float *dup, const float *dout,
                        const float *gate, const float *up, int64_t p);
void lm_swiglu_backward_ref(float *dgate, float *dup, const float *dout,
                            const float *gate, const float *up, int64_t p);

/* ---- cross-entropy ------------------------------------------------------------
 * For each row t of logits(N,V) whose target(N) is >= 0:
 *   loss_t = logsumexp(logits_t) - logits_t[target_t];
 * rows with target < 0 are masked (loss 0, zero gradient): the loss on
 * assistant tokens only.  losses(N) (may be NULL) receives loss_t.
 * dlogits(N,V) (may be NULL) is written (not accumulated) with
 *   dscale * (softmax(logits_t) - onehot(target_t))
 * and may be the logits buffer itself (in place, saves N*V floats).  Pass
 * dscale = 1 / (number of unmasked targets in the optimizer step) for a
 * mean loss across gradient accumulation.  Returns the sum of loss_t, or
 * NaN when a target is >= V (a caller bug). */
double lm_crossentropy(float *dlogits, float *losses, const float *logits,
                       const int32_t *targets, int n, int v, float dscale);
double lm_crossentropy_ref(float *dlogits, float *losses, const float *logits,
                           const int32_t *targets, int n, int v,
                           float dscale);

/* ---- optimizer ----------------------------------------------------------------
 * AdamW (Loshchilov & Hutter; PyTorch's torch.optim.AdamW semantics):
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   mhat = m / (1 - b1^step);  vhat = v / (1 - b2^step);
 *   param -= lr * (mhat / (sqrt(vhat) + eps) + weight_decay * param)
 * step counts from 1.  m and v start at zero. */
struct lm_adamw {
    float lr, beta1, beta2, eps, weight_decay;
};
void lm_adamw_update(float *param, float *m, float *v, const float *grad,
                     int64_t p, const struct lm_adamw *h, int64_t step);
void lm_adamw_update_ref(float *param, float *m, float *v, const float *grad,
                         int64_t p, const struct lm_adamw *h, int64_t step);

/* Sum of squares of grad(P), in double: add the values of every gradient
 * buffer, then take the square root for the global norm. */
double lm_sumsq(const float *grad, int64_t p);

/* grad(P) *= s. */
void lm_scale(float *grad, int64_t p, float s);

/* Clips count gradient buffers grads[i] (sizes[i] floats) together to a
 * global L2 norm of at most max_norm (PyTorch clip_grad_norm_: scale by
 * max_norm / (norm + 1e-6) when norm > max_norm).  Returns the norm before
 * clipping (NaN/inf are returned and nothing is scaled). */
double lm_clip_grad_norm(float *const *grads, const int64_t *sizes,
                         int count, float max_norm);

#endif /* LM_KERNELS_H */
