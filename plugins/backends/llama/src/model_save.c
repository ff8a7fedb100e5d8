/*
 * model_save.c - a model back to a llama GGUF file (model_save.h).  The
 * metadata is the source file's, key by key, so the tokenizer, the chat
 * template and every hyper-parameter survive untouched; only the weights
 * come from memory.  Each matrix is checked against the configuration
 * with the same function the loader uses, so a trainer that swapped in a
 * buffer of the wrong shape gets an error here instead of a file that no
 * loader accepts.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fp16.h"
#include "gguf.h"
#include "model_save.h"

/* Conversion buffers that must live until the file is written. */
struct ms_keep {
    void **p;
    size_t n, cap;
};

static ftsb_status ms_nomem(const char *path, struct lm_err *err)
{
    return lm_fail(err, FTSB_E_NOMEM, "out of memory saving the model to "
                   "'%s'", path);
}

static void *ms_alloc(struct ms_keep *k, size_t bytes)
{
    void *q;

    if (k->n == k->cap) {
        size_t want = k->cap ? k->cap * 2 : 64;
        void **np = want > SIZE_MAX / sizeof *np
                        ? NULL
                        : realloc(k->p, want * sizeof *np);
        if (!np)
            return NULL;
        k->p = np;
        k->cap = want;
    }
    if (!(q = malloc(bytes ? bytes : 1)))
        return NULL;
    k->p[k->n++] = q;
    return q;
}

static void ms_keep_free(struct ms_keep *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->p[i]);
    free(k->p);
}

static uint32_t ms_ftype(int32_t dtype)
{
    return dtype == LM_F32   ? LM_FTYPE_ALL_F32
           : dtype == LM_F16 ? LM_FTYPE_MOSTLY_F16
                             : LM_FTYPE_MOSTLY_BF16;
}

/* Adds matrix t (rows x cols) under name, converted to dtype. */
static ftsb_status ms_matrix(struct gguf_writer *w, struct ms_keep *k,
                             const char *path, const char *name,
                             const struct lm_tensor *t, int64_t rows,
                             int64_t cols, int32_t dtype, struct lm_err *err)
{
    int64_t row_in, row_out;
    uint64_t nbytes;
    const void *data = t->data;
    int64_t ne[2] = {cols, rows};
    ftsb_status s;

    if ((s = lm_tensor_check(t, rows, cols, name, err))) {
        char inner[sizeof err->msg];
        if (!err)
            return FTSB_E_INVALID;
        memcpy(inner, err->msg, sizeof inner);
        return lm_fail(err, FTSB_E_INVALID, "cannot save the model to "
                       "'%s': %s", path, inner);
    }
    row_in = lm_type_row_bytes(t->type, cols);
    row_out = lm_type_row_bytes(dtype, cols);
    if (row_in < 0 || row_out < 0 ||
        __builtin_mul_overflow((uint64_t)row_out, (uint64_t)rows, &nbytes) ||
        nbytes > SIZE_MAX)
        return lm_fail(err, FTSB_E_INVALID, "cannot save the model to '%s': "
                       "tensor '%s' (%" PRId64 " x %" PRId64 ") is too "
                       "large", path, name, rows, cols);
    if (t->type != dtype) {
        /* one F32 row at a time: exact for F16/BF16/Q8_0 sources, then a
         * single rounding to the narrow type */
        float *tmp = NULL;
        uint8_t *out = ms_alloc(k, (size_t)nbytes);
        if (!out || (dtype != LM_F32 &&
                     !(tmp = malloc((size_t)cols * sizeof *tmp))))
            return ms_nomem(path, err);
        for (int64_t r = 0; r < rows; r++) {
            const uint8_t *src = (const uint8_t *)t->data + r * row_in;
            float *f = dtype == LM_F32 ? (float *)(out + r * row_out) : tmp;
            if (lm_to_f32_row(f, t->type, src, cols) != 0) {
                free(tmp);
                return lm_fail(err, FTSB_E_INVALID, "cannot save the model "
                               "to '%s': tensor '%s' of type %s cannot be "
                               "converted", path, name,
                               lm_type_name(t->type));
            }
            if (dtype == LM_F16)
                lm_f32_to_f16_row((uint16_t *)(out + r * row_out), tmp, cols);
            else if (dtype == LM_BF16)
                lm_f32_to_bf16_row((uint16_t *)(out + r * row_out), tmp,
                                   cols);
        }
        free(tmp);
        data = out;
    }
    return gguf_w_tensor(w, name, (uint32_t)dtype, 2, ne, data, nbytes, err);
}

static ftsb_status ms_norm(struct gguf_writer *w, const char *path,
                           const char *name, const float *g, int64_t c,
                           struct lm_err *err)
{
    int64_t ne[1] = {c};

    if (!g)
        return lm_fail(err, FTSB_E_INVALID, "cannot save the model to '%s': "
                       "norm '%s' has no data", path, name);
    return gguf_w_tensor(w, name, GGUF_TENSOR_F32, 1, ne, g,
                         (uint64_t)c * sizeof(float), err);
}

/* Every key of the source file, general.file_type replaced in place. */
static ftsb_status ms_metadata(struct gguf_writer *w,
                               const struct gguf_file *f, int32_t dtype,
                               struct lm_err *err)
{
    static const char ft[] = "general.file_type";
    bool set = false;
    ftsb_status s;

    for (uint64_t i = 0; i < gguf_n_kv(f); i++) {
        const struct gguf_kv *kv = gguf_kv_at(f, i);
        if (kv->key.len == sizeof ft - 1 && !memcmp(kv->key.ptr, ft,
                                                    sizeof ft - 1)) {
            s = gguf_w_u32(w, ft, ms_ftype(dtype), err);
            set = true;
        } else {
            s = gguf_w_copy_kv(w, kv, err);
        }
        if (s)
            return s;
    }
    return set ? FTSB_OK : gguf_w_u32(w, ft, ms_ftype(dtype), err);
}

ftsb_status lm_model_save_gguf(const struct lm_model *m, const char *path,
                               int32_t dtype, struct lm_err *err)
{
    const struct lm_config *c = &m->cfg;
    const struct lm_weights *wt = &m->w;
    const int64_t C = c->dim, F = c->ffn, V = c->vocab,
                  HD = (int64_t)c->n_heads * c->head_dim,
                  GD = (int64_t)c->n_kv_heads * c->head_dim;
    struct gguf_writer *w = NULL;
    struct ms_keep keep = {0};
    char name[GGUF_MAX_NAME + 1];
    ftsb_status s;

    if (dtype != LM_F32 && dtype != LM_F16 && dtype != LM_BF16)
        return lm_fail(err, FTSB_E_INVALID, "models are saved as F32, F16 "
                       "or BF16, not type %d (%s)", (int)dtype,
                       lm_type_name(dtype));
    if (c->tied_output && (wt->output.data != wt->tok_embd.data ||
                           wt->output.type != wt->tok_embd.type))
        return lm_fail(err, FTSB_E_INVALID, "cannot save the model to '%s': "
                       "its output is tied to the embedding, but the output "
                       "weights are not the embedding's, and a llama file "
                       "without output.weight reuses token_embd; train the "
                       "two as one tensor", path);
    if ((s = gguf_writer_new(&w, err)) ||
        (s = ms_metadata(w, m->file, dtype, err)) ||
        (s = ms_matrix(w, &keep, path, "token_embd.weight", &wt->tok_embd, V,
                       C, dtype, err)))
        goto done;
    for (int32_t l = 0; l < c->n_layers; l++) {
        const struct lm_layer *ly = &wt->layers[l];
        const struct {
            const char *kind;
            const struct lm_tensor *t; /* NULL: the norm g */
            const float *g;
            int64_t rows, cols;
        } parts[] = {
            {"attn_norm", NULL, ly->attn_norm, 0, C},
            {"attn_q", &ly->wq, NULL, HD, C},
            {"attn_k", &ly->wk, NULL, GD, C},
            {"attn_v", &ly->wv, NULL, GD, C},
            {"attn_output", &ly->wo, NULL, C, HD},
            {"ffn_norm", NULL, ly->ffn_norm, 0, C},
            {"ffn_gate", &ly->w_gate, NULL, F, C},
            {"ffn_up", &ly->w_up, NULL, F, C},
            {"ffn_down", &ly->w_down, NULL, C, F},
        };
        for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
            snprintf(name, sizeof name, "blk.%d.%s.weight", (int)l,
                     parts[p].kind);
            s = parts[p].t ? ms_matrix(w, &keep, path, name, parts[p].t,
                                       parts[p].rows, parts[p].cols, dtype,
                                       err)
                           : ms_norm(w, path, name, parts[p].g, C, err);
            if (s)
                goto done;
        }
    }
    if ((s = ms_norm(w, path, "output_norm.weight", wt->out_norm, C,
                        err)) ||
        (!c->tied_output &&
         (s = ms_matrix(w, &keep, path, "output.weight", &wt->output, V, C,
                        dtype, err))))
        goto done;
    s = gguf_w_save(w, path, err);
done:
    gguf_writer_free(w);
    ms_keep_free(&keep);
    return s;
}
