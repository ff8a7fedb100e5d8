/*
 * model_f32.c - the F32 weight block of full fine-tuning (model_f32.h):
 * its layout, and the conversion of a loaded model into it.  The layout
 * lives in one function (bind) so that the weights, their gradients and
 * both AdamW moments can never disagree on where a tensor starts.
 */
#include "model_f32.h"

#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "fp16.h"
#include "matmul.h"

/* Walks the layout; with p == NULL only counts.  Returns the floats used,
 * or -1 on overflow. */
static int64_t layout(const struct lm_config *c, float *mem,
                      struct lm_fparams *p)
{
    const int64_t C = c->dim, V = c->vocab, F = c->ffn,
                  HD = (int64_t)c->n_heads * c->head_dim,
                  GD = (int64_t)c->n_kv_heads * c->head_dim;
    const int64_t per_layer = 2 * C + HD * C + 2 * GD * C + C * HD + 3 * F * C;
    int64_t off = 0;

    if (c->n_layers < 1 || per_layer <= 0 ||
        per_layer > INT64_MAX / 4 / c->n_layers || V * C > INT64_MAX / 8)
        return -1;
    struct lm_fparams none = {0};
    struct lm_fp_layer scratch_layer;
    if (!p)
        p = &none; /* counting only: pointers land in a throwaway struct */
#define TAKE(dst, count)                                                       \
    do {                                                                       \
        (dst) = mem ? mem + off : NULL;                                        \
        off += (count);                                                        \
    } while (0)
    TAKE(p->tok_embd, V * C);
    if (c->tied_output)
        p->output = p->tok_embd;
    else
        TAKE(p->output, V * C);
    TAKE(p->out_norm, C);
    for (int l = 0; l < c->n_layers; l++) {
        struct lm_fp_layer *ly = p->layers ? &p->layers[l] : &scratch_layer;
        TAKE(ly->attn_norm, C);
        TAKE(ly->wq, HD * C);
        TAKE(ly->wk, GD * C);
        TAKE(ly->wv, GD * C);
        TAKE(ly->wo, C * HD);
        TAKE(ly->ffn_norm, C);
        TAKE(ly->w_gate, F * C);
        TAKE(ly->w_up, F * C);
        TAKE(ly->w_down, C * F);
    }
#undef TAKE
    return off;
}

int64_t lm_fparams_count(const struct lm_config *c)
{
    return layout(c, NULL, NULL);
}

ftsb_status lm_fparams_bind(struct lm_fparams *p, const struct lm_config *c,
                            float *mem, struct lm_err *err)
{
    memset(p, 0, sizeof *p);
    if (lm_fparams_count(c) < 0)
        return lm_fail(err, FTSB_E_INVALID, "model too large for one F32 "
                       "weight block");
    if (!(p->layers = calloc((size_t)c->n_layers, sizeof *p->layers)))
        return lm_fail(err, FTSB_E_NOMEM, "out of memory");
    p->mem = mem;
    p->n = layout(c, mem, p);
    return FTSB_OK;
}

void lm_fparams_free(struct lm_fparams *p)
{
    free(p->layers);
    p->layers = NULL;
}

/* Converts weight w (rows x cols of any type) into dst. */
static ftsb_status convert(float *dst, const struct lm_tensor *w,
                           struct lm_err *err)
{
    int64_t rb = lm_type_row_bytes(w->type, w->cols);

    if (rb < 0)
        return lm_fail(err, FTSB_E_INVALID, "cannot convert a weight of type "
                       "%s to F32", lm_type_name(w->type));
    for (int64_t r = 0; r < w->rows; r++)
        if (lm_to_f32_row(dst + r * w->cols, w->type,
                          (const char *)w->data + r * rb, w->cols))
            return lm_fail(err, FTSB_E_INVALID, "cannot convert a weight of "
                           "type %s to F32", lm_type_name(w->type));
    return FTSB_OK;
}

static void view(struct lm_tensor *t, const float *data)
{
    t->type = LM_F32;
    t->data = data;
}

ftsb_status lm_model_to_f32(struct lm_model *m, struct lm_err *err)
{
    const struct lm_config *c = &m->cfg;
    const int64_t C = c->dim;
    struct lm_fparams p;
    ftsb_status st;
    float *mem;
    int64_t n;

    if (m->f32)
        return FTSB_OK;
    if ((n = lm_fparams_count(c)) < 0 || (uint64_t)n > SIZE_MAX / sizeof(float))
        return lm_fail(err, FTSB_E_NOMEM, "model too large for one F32 "
                       "weight block");
    if (!(mem = malloc((size_t)n * sizeof(float))))
        return lm_fail(err, FTSB_E_NOMEM, "out of memory converting the "
                       "model to F32 (%.1f GiB)",
                       (double)n * 4 / (1 << 30));
    if ((st = lm_fparams_bind(&p, c, mem, err))) {
        free(mem);
        return st;
    }
    struct lm_weights *w = &m->w;
    st = convert(p.tok_embd, &w->tok_embd, err);
    if (!st && !c->tied_output)
        st = convert(p.output, &w->output, err);
    for (int l = 0; !st && l < c->n_layers; l++) {
        const struct lm_layer *ly = &w->layers[l];
        struct lm_fp_layer *q = &p.layers[l];
        if ((st = convert(q->wq, &ly->wq, err)) ||
            (st = convert(q->wk, &ly->wk, err)) ||
            (st = convert(q->wv, &ly->wv, err)) ||
            (st = convert(q->wo, &ly->wo, err)) ||
            (st = convert(q->w_gate, &ly->w_gate, err)) ||
            (st = convert(q->w_up, &ly->w_up, err)))
            break;
        st = convert(q->w_down, &ly->w_down, err);
    }
    if (st) {
        lm_fparams_free(&p);
        free(mem);
        return st;
    }
    /* nothing can fail from here: repoint every view */
    memcpy(p.out_norm, w->out_norm, (size_t)C * sizeof(float));
    w->out_norm = p.out_norm;
    view(&w->tok_embd, p.tok_embd);
    view(&w->output, p.output);
    for (int l = 0; l < c->n_layers; l++) {
        struct lm_layer *ly = &w->layers[l];
        struct lm_fp_layer *q = &p.layers[l];
        memcpy(q->attn_norm, ly->attn_norm, (size_t)C * sizeof(float));
        memcpy(q->ffn_norm, ly->ffn_norm, (size_t)C * sizeof(float));
        ly->attn_norm = q->attn_norm;
        ly->ffn_norm = q->ffn_norm;
        view(&ly->wq, q->wq);
        view(&ly->wk, q->wk);
        view(&ly->wv, q->wv);
        view(&ly->wo, q->wo);
        view(&ly->w_gate, q->w_gate);
        view(&ly->w_up, q->w_up);
        view(&ly->w_down, q->w_down);
    }
    m->cfg.wtype = LM_F32;
    m->f32 = mem;
    m->n_f32 = n;
    lm_fparams_free(&p);
    return FTSB_OK;
}

ftsb_status lm_model_merge_lora(struct lm_model *m,
                                const struct lm_adapter *ad, float scale,
                                struct lm_err *err)
{
    const float s = lm_adapter_scale(ad) * scale;

    if (!m->f32)
        return lm_fail(err, FTSB_E_INVALID, "merging a LoRA adapter needs "
                       "the model's F32 weights (lm_model_to_f32)");
    if (ad->n_layer > m->cfg.n_layers)
        return lm_fail(err, FTSB_E_INVALID, "the adapter has %lld layers, "
                       "the model %d", (long long)ad->n_layer,
                       (int)m->cfg.n_layers);
    for (int64_t l = 0; l < ad->n_layer; l++) {
        struct lm_layer *ly = &m->w.layers[l];
        struct lm_tensor *w[LM_LORA_N_TARGETS] = {
            &ly->wq, &ly->wk, &ly->wv, &ly->wo,
            &ly->w_gate, &ly->w_up, &ly->w_down,
        };
        for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
            const struct lm_lora_pair *p = lm_adapter_pair(ad, l, t);
            if (!p->a)
                continue;
            if (p->n_out != w[t]->rows || p->n_in != w[t]->cols ||
                w[t]->type != LM_F32)
                return lm_fail(err, FTSB_E_INVALID, "the adapter's "
                               "blk.%lld.%s pair does not fit the model",
                               (long long)l, lm_lora_target_gguf(t));
            /* W (O,I) += s . B (O,R) . A (R,I); the views point into the
             * block this model owns, so writing through them is ours */
            lm_gemm((float *)(uintptr_t)w[t]->data, (int)p->n_in, p->b,
                    (int)ad->rank, 0, p->a, (int)p->n_in, 0, (int)p->n_out,
                    (int)p->n_in, (int)ad->rank, s, 1.0f, NULL);
        }
    }
    return FTSB_OK;
}
