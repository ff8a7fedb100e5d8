/*
 * train.c - the training forward and backward passes (train.h).  The
 * forward pass follows lm_forward step for step, keeping what the
 * backward pass reads; the backward pass walks the layers in reverse,
 * recomputing the cheap things (normalised inputs, silu(gate) * up, the
 * attention probabilities of one sequence) instead of keeping them.  Every
 * projection goes through proj_forward / proj_backward, the one place
 * that knows about frozen weights, trained weights and LoRA.
 */
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

/* ---- buffers ------------------------------------------------------------------ */

void lm_acts_init(struct lm_acts *a)
{
    memset(a, 0, sizeof *a);
    lm_scratch_init(&a->ws, 0);
}

/* Every float buffer of a, so that allocation checks and frees cannot
 * forget one. */
#define N_BUFFERS 28
static void buffer_slots(struct lm_acts *a, float **slot[N_BUFFERS])
{
    float **all[N_BUFFERS] = {
        &a->x_in, &a->x_mid, &a->rstd1, &a->rstd2, &a->q, &a->k, &a->v,
        &a->att_out, &a->gate, &a->up, &a->xa, &a->x_fin, &a->rstd_f,
        &a->logits, &a->xb, &a->dx, &a->dxb, &a->h, &a->dh, &a->dgate,
        &a->dq, &a->datt, &a->dk, &a->dv, &a->att, &a->drop, &a->ddrop,
        &a->dxa,
    };
    memcpy(slot, all, sizeof all);
}

static void free_buffers(struct lm_acts *a)
{
    float **slot[N_BUFFERS];

    buffer_slots(a, slot);
    for (int i = 0; i < N_BUFFERS; i++) {
        free(*slot[i]);
        *slot[i] = NULL;
    }
    free(a->pos);
    a->pos = NULL;
    a->rows_cap = a->seq_cap = a->rank_cap = 0;
}

void lm_acts_free(struct lm_acts *a)
{
    free_buffers(a);
    lm_scratch_free(&a->ws);
}

/* n1 * n2 * n3 floats, or NULL on overflow or failure. */
static float *alloc3(int64_t n1, int64_t n2, int64_t n3)
{
    if (n1 < 1 || n2 < 1 || n3 < 1 || n1 > INT64_MAX / n2 ||
        n1 * n2 > INT64_MAX / n3 ||
        (uint64_t)(n1 * n2 * n3) > SIZE_MAX / sizeof(float))
        return NULL;
    return malloc((size_t)(n1 * n2 * n3) * sizeof(float));
}

static ftsb_status reserve(struct lm_acts *a, const struct lm_config *c,
                           int32_t rows, int32_t max_seq, int32_t rank,
                           struct lm_err *err)
{
    const int64_t L = c->n_layers, C = c->dim, F = c->ffn, V = c->vocab,
                  H = c->n_heads, HD = H * c->head_dim,
                  GD = (int64_t)c->n_kv_heads * c->head_dim;
    int64_t wide = C > F ? C : F;
    if (HD > wide)
        wide = HD;
    if (rank < 1)
        rank = 1;
    if (rows <= a->rows_cap && max_seq <= a->seq_cap && rank <= a->rank_cap)
        return FTSB_OK;
    if (rows < a->rows_cap)
        rows = a->rows_cap;
    if (max_seq < a->seq_cap)
        max_seq = a->seq_cap;
    if (rank < a->rank_cap)
        rank = a->rank_cap;
    free_buffers(a);
    const int64_t N = rows;
    a->x_in = alloc3(L, N, C);
    a->x_mid = alloc3(L, N, C);
    a->rstd1 = alloc3(L, N, 1);
    a->rstd2 = alloc3(L, N, 1);
    a->q = alloc3(L, N, HD);
    a->k = alloc3(L, N, GD);
    a->v = alloc3(L, N, GD);
    a->att_out = alloc3(L, N, HD);
    a->gate = alloc3(L, N, F);
    a->up = alloc3(L, N, F);
    a->xa = alloc3(L * LM_LORA_N_TARGETS, N, rank);
    a->x_fin = alloc3(N, C, 1);
    a->rstd_f = alloc3(N, 1, 1);
    a->logits = alloc3(N, V, 1);
    a->xb = alloc3(N, C, 1);
    a->dx = alloc3(N, C, 1);
    a->dxb = alloc3(N, C, 1);
    a->h = alloc3(N, F, 1);
    a->dh = alloc3(N, F, 1);
    a->dgate = alloc3(N, F, 1);
    a->dq = alloc3(N, HD, 1);
    a->datt = alloc3(N, HD, 1);
    a->dk = alloc3(N, GD, 1);
    a->dv = alloc3(N, GD, 1);
    a->att = alloc3(H, max_seq, max_seq);
    a->drop = alloc3(N, wide, 1);
    a->ddrop = alloc3(N, wide, 1);
    a->dxa = alloc3(N, rank, 1);
    a->pos = malloc((size_t)N * sizeof *a->pos);
    float **slot[N_BUFFERS];
    int ok = a->pos != NULL;
    buffer_slots(a, slot);
    for (int i = 0; i < N_BUFFERS; i++)
        ok &= *slot[i] != NULL;
    if (!ok) {
        free_buffers(a);
        return lm_fail(err, FTSB_E_NOMEM, "out of memory allocating training "
                       "activations for %d rows (sequences up to %d tokens); "
                       "lower the micro-batch size or max_len",
                       (int)rows, (int)max_seq);
    }
    a->rows_cap = rows;
    a->seq_cap = max_seq;
    a->rank_cap = rank;
    return FTSB_OK;
}

/* ---- dropout masks ----------------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The stream of projection (l, t) under key; one hash per element from
 * there (a mask is drawn for every input element of every adapted
 * projection, forward and backward, so its cost shows). */
static uint64_t dropout_base(uint64_t key, int layer, int target)
{
    return mix64(key ^ ((uint64_t)(uint32_t)layer << 8 | (uint32_t)target));
}

static float dropout_at(uint64_t base, int64_t row, int64_t col, float p,
                        float keep_scale)
{
    /* row < 2^31 and col < 2^32 make (row, col) one distinct 64-bit word */
    uint64_t h = mix64(base ^ ((uint64_t)row << 32 | (uint64_t)(uint32_t)col));
    double u = (double)(h >> 11) * (1.0 / 9007199254740992.0); /* [0,1) */
    return u < p ? 0.0f : keep_scale;
}

float lm_dropout_mask(uint64_t key, int layer, int target, int64_t row,
                      int64_t col, float p)
{
    return dropout_at(dropout_base(key, layer, target), row, col, p,
                      1.0f / (1.0f - p));
}

/* out(N,I) = x(N,I) * mask of projection (l, t); mask values again into
 * out when x is NULL. */
static void apply_dropout(float *out, const float *x, uint64_t key, int l,
                          int t, int n, int in, float p)
{
    const uint64_t base = dropout_base(key, l, t);
    const float keep = 1.0f / (1.0f - p);

    for (int r = 0; r < n; r++)
        for (int i = 0; i < in; i++) {
            float m = dropout_at(base, r, i, p, keep);
            out[(int64_t)r * in + i] = x ? x[(int64_t)r * in + i] * m : m;
        }
}

/* ---- projections ---------------------------------------------------------------- */

/* The LoRA pair of (l, t) when it is trained, else NULL. */
static const struct lm_lora_pair *lora_pair(const struct lm_train_net *net,
                                            int l, int t)
{
    const struct lm_lora_pair *p;

    if (!net->lora)
        return NULL;
    p = lm_adapter_pair(net->lora, l, t);
    return p->a ? p : NULL;
}

/* (N,R) slot of the LoRA input of projection (l, t). */
static float *xa_slot(const struct lm_acts *a, int rank, int l, int t)
{
    return a->xa + ((int64_t)l * LM_LORA_N_TARGETS + t) * a->n_rows * rank;
}

/* y(N,O) = x(N,I) W^T, plus the LoRA term of (l, t) if trained. */
static ftsb_status proj_forward(struct lm_train_net *net, struct lm_acts *a,
                                float *y, const float *x,
                                const struct lm_tensor *w, int n, int in,
                                int out, int l, int t, struct lm_err *err)
{
    const struct lm_lora_pair *p = lora_pair(net, l, t);
    ftsb_status st = lm_matmul(y, x, w, n, in, out, &a->ws);

    if (st) {
        if (err)
            *err = a->ws.err;
        return st;
    }
    if (p) {
        int r = (int)net->lora->rank;
        const float *xin = x;
        if (net->lora_dropout > 0) {
            apply_dropout(a->drop, x, net->dropout_key, l, t, n, in,
                          net->lora_dropout);
            xin = a->drop;
        }
        lm_lora_forward(y, xa_slot(a, r, l, t), xin, p->a, p->b,
                        net->lora_scale, n, in, out, r, &a->ws);
    }
    return FTSB_OK;
}

/* Given dy(N,O) of y = x W^T (+ LoRA): dx(N,I) += dy W and the LoRA
 * term's input gradient (dx may be NULL: nothing below needs it),
 * dw(O,I) += dy^T x (dw NULL: frozen), LoRA gradients of (l, t). */
static ftsb_status proj_backward(struct lm_train_net *net, struct lm_acts *a,
                                 float *dx, float *dw, const float *dy,
                                 const float *x, const struct lm_tensor *w,
                                 int n, int in, int out, int l, int t,
                                 struct lm_err *err)
{
    const struct lm_lora_pair *p = lora_pair(net, l, t);
    ftsb_status st;

    if (dx && (st = lm_matmul_dx(dx, dy, w, n, in, out, &a->ws))) {
        if (err)
            *err = a->ws.err;
        return st;
    }
    if (dw)
        lm_matmul_dw(dw, dy, x, n, in, out, &a->ws);
    if (p) {
        const struct lm_lora_pair *g = lm_adapter_pair(net->dlora, l, t);
        int r = (int)net->lora->rank;
        float pd = net->lora_dropout;
        const float *xin = x;
        float *dxin = dx;
        if (pd > 0) {
            apply_dropout(a->drop, x, net->dropout_key, l, t, n, in, pd);
            xin = a->drop;
            if (dx) {
                dxin = a->ddrop;
                memset(dxin, 0, (size_t)n * in * sizeof(float));
            }
        }
        lm_lora_backward(g->a, g->b, dxin, a->dxa, dy, xin,
                         xa_slot(a, r, l, t), p->a, p->b, net->lora_scale, n,
                         in, out, r, &a->ws);
        if (pd > 0 && dx) {
            /* d drop(x) / dx is the mask itself */
            apply_dropout(a->drop, NULL, net->dropout_key, l, t, n, in, pd);
            for (int64_t i = 0; i < (int64_t)n * in; i++)
                dx[i] += a->ddrop[i] * a->drop[i];
        }
    }
    return FTSB_OK;
}

/* ---- forward ----------------------------------------------------------------------- */

static ftsb_status check_batch(const struct lm_config *c,
                               const struct lm_batch *b, int32_t *rows,
                               int32_t *max_seq, struct lm_err *err)
{
    int64_t n = 0;
    int32_t mx = 0;

    if (b->n_seq < 1)
        return lm_fail(err, FTSB_E_INVALID, "training batch: no sequences");
    for (int32_t i = 0; i < b->n_seq; i++) {
        if (b->seq_len[i] < 1 || b->seq_len[i] > c->ctx)
            return lm_fail(err, FTSB_E_INVALID, "training batch: sequence %d "
                           "has %d tokens; the model runs 1 to %d (raise the "
                           "context or lower max_len)", (int)i,
                           (int)b->seq_len[i], (int)c->ctx);
        n += b->seq_len[i];
        if (b->seq_len[i] > mx)
            mx = b->seq_len[i];
    }
    if (n > INT32_MAX / 4)
        return lm_fail(err, FTSB_E_INVALID, "training batch: %lld rows is "
                       "too many", (long long)n);
    for (int64_t r = 0; r < n; r++)
        if (b->targets[r] < -1 || b->targets[r] >= c->vocab)
            return lm_fail(err, FTSB_E_INVALID, "training batch: target %d "
                           "at row %lld is outside the vocabulary (0..%d)",
                           (int)b->targets[r], (long long)r,
                           (int)c->vocab - 1);
    *rows = (int32_t)n;
    *max_seq = mx;
    return FTSB_OK;
}

ftsb_status lm_train_forward(struct lm_train_net *net, struct lm_acts *a,
                             const struct lm_batch *b, float dscale,
                             double *loss_sum, int64_t *n_loss,
                             struct lm_err *err)
{
    const struct lm_model *m = net->model;
    const struct lm_config *c = &m->cfg;
    const struct lm_weights *w = &m->w;
    const int C = c->dim, H = c->n_heads, G = c->n_kv_heads, D = c->head_dim,
              F = c->ffn, V = c->vocab, HD = H * D, GD = G * D, L = c->n_layers;
    const int ref = a->ws.reference;
    int32_t N = 0, max_seq = 0;
    ftsb_status st;

    if ((st = check_batch(c, b, &N, &max_seq, err)) ||
        (st = reserve(a, c, N, max_seq, net->lora ? (int32_t)net->lora->rank : 1,
                      err)))
        return st;
    a->n_rows = N;
    for (int32_t i = 0, r = 0; i < b->n_seq; r += b->seq_len[i], i++)
        for (int32_t t = 0; t < b->seq_len[i]; t++)
            a->pos[r + t] = t;

    /* x_in[0] (N,C) = embeddings */
    if ((st = lm_tensor_rows(a->x_in, &w->tok_embd, b->tokens, N, err)))
        return st;

    for (int l = 0; l < L; l++) {
        const struct lm_layer *ly = &w->layers[l];
        const int64_t o1 = (int64_t)l * N;
        float *x_in = a->x_in + o1 * C, *x_mid = a->x_mid + o1 * C;
        float *q = a->q + o1 * HD, *k = a->k + o1 * GD, *v = a->v + o1 * GD;
        float *att_out = a->att_out + o1 * HD;
        float *gate = a->gate + o1 * F, *up = a->up + o1 * F;
        float *x_out = l + 1 < L ? a->x_in + (o1 + N) * C : a->x_fin;

        /* attention: xb = rmsnorm(x_in); q (N,HD), k, v (N,GD) */
        (ref ? lm_rmsnorm_forward_ref : lm_rmsnorm_forward)(
            a->xb, a->rstd1 + o1, x_in, ly->attn_norm, c->rms_eps, N, C);
        if ((st = proj_forward(net, a, q, a->xb, &ly->wq, N, C, HD, l,
                               LM_LORA_Q, err)) ||
            (st = proj_forward(net, a, k, a->xb, &ly->wk, N, C, GD, l,
                               LM_LORA_K, err)) ||
            (st = proj_forward(net, a, v, a->xb, &ly->wv, N, C, GD, l,
                               LM_LORA_V, err)))
            return st;
        (ref ? lm_rope_forward_ref : lm_rope_forward)(q, a->pos, 0, N, H, D,
                                                      c->rope_base);
        (ref ? lm_rope_forward_ref : lm_rope_forward)(k, a->pos, 0, N, G, D,
                                                      c->rope_base);
        for (int32_t i = 0, r = 0; i < b->n_seq; r += b->seq_len[i], i++) {
            st = lm_attention_forward(att_out + (int64_t)r * HD, NULL,
                                      q + (int64_t)r * HD, k + (int64_t)r * GD,
                                      v + (int64_t)r * GD, b->seq_len[i], 0,
                                      H, G, D, &a->ws);
            if (st) {
                if (err)
                    *err = a->ws.err;
                return st;
            }
        }
        /* x_mid = x_in + att_out Wo^T */
        if ((st = proj_forward(net, a, x_mid, att_out, &ly->wo, N, HD, C, l,
                               LM_LORA_O, err)))
            return st;
        lm_add(x_mid, x_in, (int64_t)N * C);

        /* x_out = x_mid + (silu(gate) * up) Wdown^T, from xb = rmsnorm(x_mid) */
        (ref ? lm_rmsnorm_forward_ref : lm_rmsnorm_forward)(
            a->xb, a->rstd2 + o1, x_mid, ly->ffn_norm, c->rms_eps, N, C);
        if ((st = proj_forward(net, a, gate, a->xb, &ly->w_gate, N, C, F, l,
                               LM_LORA_GATE, err)) ||
            (st = proj_forward(net, a, up, a->xb, &ly->w_up, N, C, F, l,
                               LM_LORA_UP, err)))
            return st;
        (ref ? lm_swiglu_forward_ref : lm_swiglu_forward)(a->h, gate, up,
                                                          (int64_t)N * F);
        if ((st = proj_forward(net, a, x_out, a->h, &ly->w_down, N, F, C, l,
                               LM_LORA_DOWN, err)))
            return st;
        lm_add(x_out, x_mid, (int64_t)N * C);
    }

    /* logits (N,V) = rmsnorm(x_fin) Wout^T; then their gradient, in place */
    (ref ? lm_rmsnorm_forward_ref : lm_rmsnorm_forward)(
        a->xb, a->rstd_f, a->x_fin, w->out_norm, c->rms_eps, N, C);
    if ((st = lm_matmul(a->logits, a->xb, &w->output, N, C, V, &a->ws))) {
        if (err)
            *err = a->ws.err;
        return st;
    }
    *loss_sum = (ref ? lm_crossentropy_ref : lm_crossentropy)(
        a->logits, NULL, a->logits, b->targets, N, V, dscale);
    int64_t count = 0;
    for (int32_t r = 0; r < N; r++)
        count += b->targets[r] >= 0;
    *n_loss = count;
    return FTSB_OK;
}

/* ---- backward ---------------------------------------------------------------------- */

static void zero(float *p, int64_t n)
{
    memset(p, 0, (size_t)n * sizeof(float));
}

ftsb_status lm_train_backward(struct lm_train_net *net, struct lm_acts *a,
                              const struct lm_batch *b, struct lm_err *err)
{
    const struct lm_model *m = net->model;
    const struct lm_config *c = &m->cfg;
    const struct lm_weights *w = &m->w;
    const int C = c->dim, H = c->n_heads, G = c->n_kv_heads, D = c->head_dim,
              F = c->ffn, V = c->vocab, HD = H * D, GD = G * D, L = c->n_layers;
    const int ref = a->ws.reference, full = net->lora == NULL;
    const int N = a->n_rows;
    const struct lm_fparams *dp = &net->dp;
    ftsb_status st;

    if (N < 1)
        return lm_fail(err, FTSB_E_INVALID, "training: backward pass without "
                       "a forward pass");
    /* the head: dxb = dlogits Wout, dWout += dlogits^T xb, xb = rmsnorm(x_fin) */
    (ref ? lm_rmsnorm_forward_ref : lm_rmsnorm_forward)(
        a->xb, NULL, a->x_fin, w->out_norm, c->rms_eps, N, C);
    zero(a->dxb, (int64_t)N * C);
    if ((st = lm_matmul_dx(a->dxb, a->logits, &w->output, N, C, V, &a->ws))) {
        if (err)
            *err = a->ws.err;
        return st;
    }
    if (full)
        lm_matmul_dw(dp->output, a->logits, a->xb, N, C, V, &a->ws);
    zero(a->dx, (int64_t)N * C);
    (ref ? lm_rmsnorm_backward_ref : lm_rmsnorm_backward)(
        a->dx, full ? dp->out_norm : NULL, a->dxb, a->x_fin, w->out_norm,
        a->rstd_f, N, C);

    for (int l = L - 1; l >= 0; l--) {
        const struct lm_layer *ly = &w->layers[l];
        const struct lm_fp_layer *g = full ? &dp->layers[l] : NULL;
        const int64_t o1 = (int64_t)l * N;
        const float *x_in = a->x_in + o1 * C, *x_mid = a->x_mid + o1 * C;
        const float *q = a->q + o1 * HD, *k = a->k + o1 * GD,
                    *v = a->v + o1 * GD, *att_out = a->att_out + o1 * HD;
        const float *gate = a->gate + o1 * F, *up = a->up + o1 * F;
        /* dx holds dL/d x_out, which is also dL/d x_mid through the residual */

        /* feed-forward */
        (ref ? lm_rmsnorm_forward_ref : lm_rmsnorm_forward)(
            a->xb, NULL, x_mid, ly->ffn_norm, c->rms_eps, N, C);
        (ref ? lm_swiglu_forward_ref : lm_swiglu_forward)(a->h, gate, up,
                                                          (int64_t)N * F);
        zero(a->dh, (int64_t)N * F);
        if ((st = proj_backward(net, a, a->dh, g ? g->w_down : NULL, a->dx,
                                a->h, &ly->w_down, N, F, C, l, LM_LORA_DOWN,
                                err)))
            return st;
        /* h is no longer needed: it becomes dup */
        zero(a->dgate, (int64_t)N * F);
        zero(a->h, (int64_t)N * F);
        (ref ? lm_swiglu_backward_ref : lm_swiglu_backward)(
            a->dgate, a->h, a->dh, gate, up, (int64_t)N * F);
        zero(a->dxb, (int64_t)N * C);
        if ((st = proj_backward(net, a, a->dxb, g ? g->w_gate : NULL,
                                a->dgate, a->xb, &ly->w_gate, N, C, F, l,
                                LM_LORA_GATE, err)) ||
            (st = proj_backward(net, a, a->dxb, g ? g->w_up : NULL, a->h,
                                a->xb, &ly->w_up, N, C, F, l, LM_LORA_UP,
                                err)))
            return st;
        (ref ? lm_rmsnorm_backward_ref : lm_rmsnorm_backward)(
            a->dx, g ? g->ffn_norm : NULL, a->dxb, x_mid, ly->ffn_norm,
            a->rstd2 + o1, N, C);

        /* attention: datt = dx Wo; then through softmax(q k^T) v per sequence */
        zero(a->datt, (int64_t)N * HD);
        if ((st = proj_backward(net, a, a->datt, g ? g->wo : NULL, a->dx,
                                att_out, &ly->wo, N, HD, C, l, LM_LORA_O,
                                err)))
            return st;
        zero(a->dq, (int64_t)N * HD);
        zero(a->dk, (int64_t)N * GD);
        zero(a->dv, (int64_t)N * GD);
        for (int32_t i = 0, r = 0; i < b->n_seq; r += b->seq_len[i], i++) {
            const int n = b->seq_len[i];
            const float *qs = q + (int64_t)r * HD, *ks = k + (int64_t)r * GD,
                        *vs = v + (int64_t)r * GD;
            /* the probabilities (H,n,n) again; the output goes to ddrop */
            st = lm_attention_forward(a->ddrop, a->att, qs, ks, vs, n, 0, H,
                                      G, D, &a->ws);
            if (!st) /* routes to its reference in reference mode */
                st = lm_attention_backward(
                    a->dq + (int64_t)r * HD, a->dk + (int64_t)r * GD,
                    a->dv + (int64_t)r * GD, a->datt + (int64_t)r * HD, qs,
                    ks, vs, a->att, n, 0, H, G, D, &a->ws);
            if (st) {
                if (err)
                    *err = a->ws.err;
                return st;
            }
        }
        (ref ? lm_rope_backward_ref : lm_rope_backward)(a->dq, a->pos, 0, N,
                                                        H, D, c->rope_base);
        (ref ? lm_rope_backward_ref : lm_rope_backward)(a->dk, a->pos, 0, N,
                                                        G, D, c->rope_base);

        /* q, k, v projections of xb = rmsnorm(x_in).  Under LoRA the first
         * layer's input gradient feeds nothing trainable: skip it. */
        const int need_dx = full || l > 0;
        float *dxb = need_dx ? a->dxb : NULL;
        (ref ? lm_rmsnorm_forward_ref : lm_rmsnorm_forward)(
            a->xb, NULL, x_in, ly->attn_norm, c->rms_eps, N, C);
        if (need_dx)
            zero(a->dxb, (int64_t)N * C);
        if ((st = proj_backward(net, a, dxb, g ? g->wq : NULL, a->dq, a->xb,
                                &ly->wq, N, C, HD, l, LM_LORA_Q, err)) ||
            (st = proj_backward(net, a, dxb, g ? g->wk : NULL, a->dk, a->xb,
                                &ly->wk, N, C, GD, l, LM_LORA_K, err)) ||
            (st = proj_backward(net, a, dxb, g ? g->wv : NULL, a->dv, a->xb,
                                &ly->wv, N, C, GD, l, LM_LORA_V, err)))
            return st;
        if (need_dx)
            (ref ? lm_rmsnorm_backward_ref : lm_rmsnorm_backward)(
                a->dx, g ? g->attn_norm : NULL, a->dxb, x_in, ly->attn_norm,
                a->rstd1 + o1, N, C);
    }

    /* embeddings: each row's gradient goes to its token's row */
    if (full)
        for (int r = 0; r < N; r++)
            lm_add(dp->tok_embd + (int64_t)b->tokens[r] * C,
                   a->dx + (int64_t)r * C, C);
    return FTSB_OK;
}

void lm_train_zero_grad(struct lm_train_net *net)
{
    if (net->dlora) {
        const struct lm_adapter *d = net->dlora;
        for (int64_t l = 0; l < d->n_layer; l++)
            for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
                const struct lm_lora_pair *p = lm_adapter_pair(d, l, t);
                if (!p->a)
                    continue;
                zero(p->a, d->rank * p->n_in);
                zero(p->b, p->n_out * d->rank);
            }
    }
    if (net->dp.mem)
        zero(net->dp.mem, net->dp.n);
}
