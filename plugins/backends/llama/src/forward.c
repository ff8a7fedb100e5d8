/*
 * forward.c - the batched forward pass (see forward.h).  The walk is
 * llama2.c's forward() generalised from one token to N stacked rows of S
 * segments: everything but attention is row-wise, so it runs on the whole
 * stack at once and each weight is read once per call.  A LoRA adapter
 * attached to the model adds its two small products right after the
 * projection they belong to, on the same stacked rows.
 */
#include "forward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "kernels.h"

/* Query rows per attention call of a prefill (see lm_forward). */
#ifndef LM_ATT_BLOCK
#define LM_ATT_BLOCK 128
#endif

void lm_state_init(struct lm_state *s)
{
    memset(s, 0, sizeof *s);
    lm_scratch_init(&s->ws, 0);
}

static void free_rows(struct lm_state *s)
{
    free(s->x);
    free(s->xb);
    free(s->xb2);
    free(s->q);
    free(s->k);
    free(s->v);
    free(s->att);
    free(s->gate);
    free(s->up);
    free(s->pos);
    s->x = s->xb = s->xb2 = s->q = s->k = s->v = s->att = s->gate = s->up =
        NULL;
    s->pos = NULL;
    s->rows_cap = 0;
}

void lm_state_free(struct lm_state *s)
{
    if (!s)
        return;
    free_rows(s);
    free(s->logits);
    s->logits = NULL;
    s->logits_cap = 0;
    free(s->lora_xa);
    s->lora_xa = NULL;
    s->lora_cap = 0;
    lm_scratch_free(&s->ws);
}

static float *alloc_f(int64_t rows, int64_t width)
{
    return malloc((size_t)rows * (size_t)width * sizeof(float));
}

ftsb_status lm_state_reserve(struct lm_state *s, const struct lm_config *c,
                             int32_t rows, int32_t logit_rows,
                             struct lm_err *err)
{
    const int64_t C = c->dim, HD = (int64_t)c->n_heads * c->head_dim,
                  GD = (int64_t)c->n_kv_heads * c->head_dim, F = c->ffn;

    if (rows > s->rows_cap) {
        free_rows(s);
        s->x = alloc_f(rows, C);
        s->xb = alloc_f(rows, C);
        s->xb2 = alloc_f(rows, C);
        s->q = alloc_f(rows, HD);
        s->k = alloc_f(rows, GD);
        s->v = alloc_f(rows, GD);
        s->att = alloc_f(rows, HD);
        s->gate = alloc_f(rows, F);
        s->up = alloc_f(rows, F);
        s->pos = malloc((size_t)rows * sizeof *s->pos);
        if (!s->x || !s->xb || !s->xb2 || !s->q || !s->k || !s->v ||
            !s->att || !s->gate || !s->up || !s->pos) {
            free_rows(s);
            return lm_fail(err, FTSB_E_NOMEM, "out of memory allocating "
                           "activations for %d rows", (int)rows);
        }
        s->rows_cap = rows;
    }
    if (logit_rows > s->logits_cap) {
        free(s->logits);
        if (!(s->logits = alloc_f(logit_rows, c->vocab))) {
            s->logits_cap = 0;
            return lm_fail(err, FTSB_E_NOMEM, "out of memory allocating "
                           "logits for %d rows", (int)logit_rows);
        }
        s->logits_cap = logit_rows;
    }
    return FTSB_OK;
}

/* A product y(N,O) = x(N,I) . W^T; the message of a failure is the
 * scratch's. */
static ftsb_status mm(float *y, const float *x, const struct lm_tensor *w,
                      int n, int in, int out, struct lm_state *s,
                      struct lm_err *err)
{
    ftsb_status st = lm_matmul(y, x, w, n, in, out, &s->ws);

    if (st && err)
        *err = s->ws.err;
    return st;
}

/* ---- LoRA ------------------------------------------------------------- */

/* Does the attached adapter fit m?  Checked on every call, not only when
 * it is attached, because attaching is a plain assignment (model.h) and a
 * pair of the wrong shape would make the products read past A or B; the
 * cost is 7 comparisons per adapted layer.  *scale receives s. */
static ftsb_status lora_check(const struct lm_model *m, float *scale,
                              struct lm_err *err)
{
    const struct lm_adapter *ad = m->lora;
    const struct lm_config *c = &m->cfg;
    const int64_t C = c->dim, F = c->ffn,
                  HD = (int64_t)c->n_heads * c->head_dim,
                  GD = (int64_t)c->n_kv_heads * c->head_dim;
    /* n_in, n_out of each target, in enum lm_lora_target order */
    const int64_t dims[LM_LORA_N_TARGETS][2] = {
        {C, HD}, {C, GD}, {C, GD}, {HD, C}, {C, F}, {C, F}, {F, C},
    };

    if (ad->rank < 1 || ad->rank > LM_ADAPTER_MAX_RANK || ad->n_layer < 0 ||
        !ad->pairs)
        return lm_fail(err, FTSB_E_INVALID, "forward: the attached LoRA "
                       "adapter has rank %lld and %lld layers; it is not "
                       "a loaded adapter (rank 1..%d)", (long long)ad->rank,
                       (long long)ad->n_layer, LM_ADAPTER_MAX_RANK);
    *scale = lm_adapter_scale(ad) * m->lora_scale;
    if (!isfinite(*scale))
        return lm_fail(err, FTSB_E_INVALID, "forward: the LoRA scale "
                       "(alpha / rank %g times the user's scale %g) is not "
                       "finite", (double)lm_adapter_scale(ad),
                       (double)m->lora_scale);
    for (int64_t l = 0; l < ad->n_layer; l++)
        for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
            const struct lm_lora_pair *p = lm_adapter_pair(ad, l, t);
            if (!p->a)
                continue;
            if (l >= c->n_layers)
                return lm_fail(err, FTSB_E_INVALID, "forward: the attached "
                               "LoRA adapter adapts blk.%lld.%s.weight but "
                               "the model has %d layers; attach an adapter "
                               "made for this model", (long long)l,
                               lm_lora_target_gguf(t), (int)c->n_layers);
            if (!p->b || p->n_in != dims[t][0] || p->n_out != dims[t][1])
                return lm_fail(err, FTSB_E_INVALID, "forward: the attached "
                               "LoRA adapter's blk.%lld.%s.weight pair maps "
                               "%lld -> %lld values but the model's "
                               "projection maps %lld -> %lld; attach an "
                               "adapter made for this model", (long long)l,
                               lm_lora_target_gguf(t), (long long)p->n_in,
                               (long long)p->n_out, (long long)dims[t][0],
                               (long long)dims[t][1]);
        }
    return FTSB_OK;
}

/* Room for lora_xa (N,r). */
static ftsb_status lora_reserve(struct lm_state *s, int n, int64_t r,
                                struct lm_err *err)
{
    size_t need = (size_t)n * (size_t)r;

    if (need <= s->lora_cap)
        return FTSB_OK;
    free(s->lora_xa);
    if (!(s->lora_xa = malloc(need * sizeof(float)))) {
        s->lora_cap = 0;
        return lm_fail(err, FTSB_E_NOMEM, "out of memory allocating the "
                       "LoRA activations of %d rows at rank %lld", n,
                       (long long)r);
    }
    s->lora_cap = need;
    return FTSB_OK;
}

/* y (N,O) += scale . (x (N,I) . A^T) . B^T with the adapter's pair of
 * layer l, target t, when it has one (lora_check passed, lora_xa
 * reserved).  The products follow the scratch's reference flag. */
static void lora_add(float *y, const float *x, const struct lm_model *m,
                     int l, int t, float scale, int n, int in, int out,
                     struct lm_state *s)
{
    const struct lm_adapter *ad = m->lora;
    const struct lm_lora_pair *p;

    if (l >= ad->n_layer || !(p = lm_adapter_pair(ad, l, t))->a)
        return;
    lm_lora_forward(y, s->lora_xa, x, p->a, p->b, scale, n, in, out,
                    (int)ad->rank, &s->ws);
}

/* ---- the pass ---------------------------------------------------------- */

ftsb_status lm_forward(const struct lm_model *m, struct lm_state *s,
                       const struct lm_kv_pool *pool, const struct lm_seg *segs,
                       int32_t n_segs, struct lm_err *err)
{
    const struct lm_config *c = &m->cfg;
    const struct lm_weights *w = &m->w;
    const int C = c->dim, H = c->n_heads, G = c->n_kv_heads, D = c->head_dim,
              F = c->ffn, V = c->vocab, HD = H * D, GD = G * D;
    const int ref = s->ws.reference;
    const int lora = m->lora != NULL;
    float ls = 0.0f; /* the LoRA multiplier s */
    int64_t n_rows = 0, n_logits = 0;
    ftsb_status st;

    if (n_segs < 1)
        return lm_fail(err, FTSB_E_INVALID, "forward: no segments");
    for (int32_t i = 0; i < n_segs; i++) {
        const struct lm_seg *g = &segs[i];
        if (g->n < 1 || !g->kv || g->kv->len < 0 ||
            g->n > g->kv->cap - g->kv->len)
            return lm_fail(err, FTSB_E_INVALID, "forward: segment %d has %d "
                           "tokens at position %d but its cache holds %d "
                           "positions", (int)i, (int)g->n,
                           g->kv ? (int)g->kv->len : -1,
                           g->kv ? (int)g->kv->cap : 0);
        n_rows += g->n;
        n_logits += g->logits == LM_LOGITS_ALL ? g->n
                  : g->logits == LM_LOGITS_LAST ? 1 : 0;
    }
    if (n_rows > INT32_MAX / 2)
        return lm_fail(err, FTSB_E_INVALID, "forward: %lld rows is too many",
                       (long long)n_rows);
    const int N = (int)n_rows;
    if ((st = lm_state_reserve(s, c, N, (int32_t)n_logits, err)) ||
        (lora && ((st = lora_check(m, &ls, err)) ||
                  (st = lora_reserve(s, N, m->lora->rank, err)))))
        return st;

    /* embeddings and positions, segment after segment: x (N,C), pos (N) */
    for (int32_t i = 0, r = 0; i < n_segs; r += segs[i].n, i++) {
        if ((st = lm_tensor_rows(s->x + (int64_t)r * C, &w->tok_embd,
                                 segs[i].tokens, segs[i].n, err)))
            return st;
        for (int t = 0; t < segs[i].n; t++)
            s->pos[r + t] = segs[i].kv->len + t;
    }

    for (int l = 0; l < c->n_layers; l++) {
        const struct lm_layer *ly = &w->layers[l];

        /* attention: xb (N,C) = rmsnorm(x); q (N,HD), k, v (N,GD) */
        (ref ? lm_rmsnorm_forward_ref : lm_rmsnorm_forward)(
            s->xb, NULL, s->x, ly->attn_norm, c->rms_eps, N, C);
        if ((st = mm(s->q, s->xb, &ly->wq, N, C, HD, s, err)) ||
            (st = mm(s->k, s->xb, &ly->wk, N, C, GD, s, err)) ||
            (st = mm(s->v, s->xb, &ly->wv, N, C, GD, s, err)))
            return st;
        if (lora) {
            lora_add(s->q, s->xb, m, l, LM_LORA_Q, ls, N, C, HD, s);
            lora_add(s->k, s->xb, m, l, LM_LORA_K, ls, N, C, GD, s);
            lora_add(s->v, s->xb, m, l, LM_LORA_V, ls, N, C, GD, s);
        }
        (ref ? lm_rope_forward_ref : lm_rope_forward)(s->q, s->pos, 0, N, H, D,
                                                      c->rope_base);
        (ref ? lm_rope_forward_ref : lm_rope_forward)(s->k, s->pos, 0, N, G, D,
                                                      c->rope_base);
        for (int32_t i = 0, r = 0; i < n_segs; r += segs[i].n, i++) {
            const struct lm_seg *g = &segs[i];
            float *kc = lm_kv_k(g->kv, pool, l); /* (T,GD) */
            float *vc = lm_kv_v(g->kv, pool, l); /* (T,GD) */
            size_t bytes = (size_t)g->n * GD * sizeof(float);

            memcpy(kc + (int64_t)g->kv->len * GD, s->k + (int64_t)r * GD, bytes);
            memcpy(vc + (int64_t)g->kv->len * GD, s->v + (int64_t)r * GD, bytes);
            /* att rows of this segment (n,HD) over positions 0..len+n-1,
             * in blocks of query rows: block b attends to the positions
             * up to its last row only, which skips most of the masked
             * upper triangle (scores, exp, zeroing) of a long prompt */
            for (int b0 = 0; b0 < g->n; b0 += LM_ATT_BLOCK) {
                int nb = g->n - b0 < LM_ATT_BLOCK ? g->n - b0 : LM_ATT_BLOCK;
                st = lm_attention_forward(
                    s->att + (int64_t)(r + b0) * HD, NULL,
                    s->q + (int64_t)(r + b0) * HD, kc, vc, nb,
                    g->kv->len + b0, H, G, D, &s->ws);
                if (st) {
                    if (err)
                        *err = s->ws.err;
                    return st;
                }
            }
        }
        /* x += att . Wo^T */
        if ((st = mm(s->xb2, s->att, &ly->wo, N, HD, C, s, err)))
            return st;
        if (lora)
            lora_add(s->xb2, s->att, m, l, LM_LORA_O, ls, N, HD, C, s);
        lm_add(s->x, s->xb2, (int64_t)N * C);

        /* feed-forward: x += Wdown (silu(Wgate h) * Wup h), h = rmsnorm(x) */
        (ref ? lm_rmsnorm_forward_ref : lm_rmsnorm_forward)(
            s->xb, NULL, s->x, ly->ffn_norm, c->rms_eps, N, C);
        if ((st = mm(s->gate, s->xb, &ly->w_gate, N, C, F, s, err)) ||
            (st = mm(s->up, s->xb, &ly->w_up, N, C, F, s, err)))
            return st;
        if (lora) {
            lora_add(s->gate, s->xb, m, l, LM_LORA_GATE, ls, N, C, F, s);
            lora_add(s->up, s->xb, m, l, LM_LORA_UP, ls, N, C, F, s);
        }
        (ref ? lm_swiglu_forward_ref : lm_swiglu_forward)(s->gate, s->gate,
                                                          s->up, (int64_t)N * F);
        if ((st = mm(s->xb2, s->gate, &ly->w_down, N, F, C, s, err)))
            return st;
        if (lora) /* the input of down is silu(gate) * up, now in gate */
            lora_add(s->xb2, s->gate, m, l, LM_LORA_DOWN, ls, N, F, C, s);
        lm_add(s->x, s->xb2, (int64_t)N * C);
    }

    /* the rows whose logits are wanted, gathered into xb (R,C) */
    int R = 0;
    for (int32_t i = 0, r = 0; i < n_segs; r += segs[i].n, i++) {
        const struct lm_seg *g = &segs[i];
        int first = g->logits == LM_LOGITS_ALL ? r : r + g->n - 1;
        int count = g->logits == LM_LOGITS_ALL ? g->n
                  : g->logits == LM_LOGITS_LAST ? 1 : 0;
        if (count)
            memcpy(s->xb + (int64_t)R * C, s->x + (int64_t)first * C,
                   (size_t)count * C * sizeof(float));
        R += count;
    }
    s->n_logits = R;
    if (R > 0) {
        (ref ? lm_rmsnorm_forward_ref : lm_rmsnorm_forward)(
            s->xb, NULL, s->xb, w->out_norm, c->rms_eps, R, C);
        if ((st = mm(s->logits, s->xb, &w->output, R, C, V, s, err)))
            return st;
    }
    for (int32_t i = 0; i < n_segs; i++)
        segs[i].kv->len += segs[i].n;
    return FTSB_OK;
}
