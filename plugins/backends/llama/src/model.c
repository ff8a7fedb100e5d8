/*
 * model.c - loading a `llama` GGUF model (hyper-parameters, weight views,
 * checks) and writing random-weight models for tests and benchmarks.  The
 * checks follow native.md section 8, item 9: every hyper-parameter is
 * range-checked and every tensor's shape is compared with what the
 * hyper-parameters imply before any kernel can touch it, because a file
 * whose shapes disagree with its metadata is the "small buffer, huge
 * logical tensor" class of bug.  Messages name the file, the key or
 * tensor, what was expected and what was found.  (Random-weight models
 * for tests and benchmarks are written by random_model.h.)
 */
#include "model.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fp16.h"

#define LM_MAX_DIM (1 << 16)     /* C, F: llama 3 405B has C = 16384 */
#define LM_MAX_LAYERS 1024
#define LM_MAX_VOCAB (1 << 22)
#define LM_MAX_CTX (1 << 22)

/* ---- hyper-parameters ---------------------------------------------------- */

/* An integer hyper-parameter; per-layer arrays are refused by name. */
static ftsb_status hp_int(const struct gguf_file *f, const char *key,
                          int64_t min, int64_t max, int32_t *out,
                          struct lm_err *err)
{
    const struct gguf_kv *kv = gguf_find_kv(f, key);
    int64_t v;
    ftsb_status st;

    if (!kv)
        return lm_fail(err, FTSB_E_FORMAT, "model '%s' has no '%s' key; a "
                       "llama model needs it (is the file complete?)",
                       gguf_name(f), key);
    if (kv->type == GGUF_TYPE_ARRAY)
        return lm_fail(err, FTSB_E_UNSUPPORTED, "model '%s': '%s' is a "
                       "per-layer array; the llama engine runs models whose "
                       "layers all have the same shape",
                       gguf_name(f), key);
    if ((st = gguf_get_int(f, key, min, max, &v, err)))
        return st;
    *out = (int32_t)v;
    return FTSB_OK;
}

/* The same for an optional key: *out keeps its default when absent. */
static ftsb_status hp_int_opt(const struct gguf_file *f, const char *key,
                              int64_t min, int64_t max, int32_t *out,
                              struct lm_err *err)
{
    return gguf_find_kv(f, key) ? hp_int(f, key, min, max, out, err)
                                : FTSB_OK;
}

static bool str_is(struct gguf_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

/* An optional key that must equal want when present (features we do not
 * run, such as partial rotary embeddings). */
static ftsb_status hp_must_equal(const struct gguf_file *f, const char *key,
                                 int64_t want, const char *why,
                                 struct lm_err *err)
{
    int32_t v = (int32_t)want;
    ftsb_status st = hp_int_opt(f, key, 0, INT32_MAX, &v, err);

    if (st)
        return st;
    if (v != want)
        return lm_fail(err, FTSB_E_UNSUPPORTED, "model '%s': '%s' is %d but "
                       "the llama engine needs %" PRId64 " (%s)",
                       gguf_name(f), key, (int)v, want, why);
    return FTSB_OK;
}

static ftsb_status read_config(const struct gguf_file *f,
                               const struct lm_model_opts *opts,
                               struct lm_config *c, struct lm_err *err)
{
    const char *p = gguf_name(f);
    struct gguf_str arch, s;
    char shown[GGUF_SHOW_BUF];
    ftsb_status st;

    memset(c, 0, sizeof *c);
    if (!gguf_find_kv(f, "general.architecture"))
        return lm_fail(err, FTSB_E_FORMAT, "'%s' has no general.architecture "
                       "key: it is not a model file (a vocabulary or an "
                       "imatrix?)", p);
    if ((st = gguf_get_str(f, "general.architecture", &arch, err)))
        return st;
    if (gguf_find_kv(f, "general.type")) {
        if ((st = gguf_get_str(f, "general.type", &s, err)))
            return st;
        if (!str_is(s, "model"))
            return lm_fail(err, FTSB_E_UNSUPPORTED, "'%s' is a file of type "
                           "'%s' (general.type), not a model%s", p,
                           gguf_str_show(s, 40, shown, sizeof shown),
                           str_is(s, "adapter") ? ": give the base model as "
                           "the model and the adapter separately" : "");
    }
    if (!str_is(arch, "llama"))
        return lm_fail(err, FTSB_E_UNSUPPORTED, "model '%s' has architecture "
                       "'%s'; the llama engine runs only 'llama' (Llama 1, "
                       "2 and 3, TinyLlama, Mistral-style dense models "
                       "converted by llama.cpp)", p,
                       gguf_str_show(arch, 40, shown, sizeof shown));

    if ((st = hp_int(f, "llama.embedding_length", 1, LM_MAX_DIM, &c->dim,
                     err)) ||
        (st = hp_int(f, "llama.block_count", 1, LM_MAX_LAYERS, &c->n_layers,
                     err)) ||
        (st = hp_int(f, "llama.attention.head_count", 1, LM_MAX_DIM,
                     &c->n_heads, err)) ||
        (st = hp_int(f, "llama.feed_forward_length", 1, 4 * LM_MAX_DIM,
                     &c->ffn, err)) ||
        (st = hp_int(f, "llama.context_length", 1, LM_MAX_CTX, &c->ctx_train,
                     err)))
        return st;
    c->n_kv_heads = c->n_heads;
    if ((st = hp_int_opt(f, "llama.attention.head_count_kv", 1, c->n_heads,
                         &c->n_kv_heads, err)))
        return st;
    if (c->dim % c->n_heads)
        return lm_fail(err, FTSB_E_FORMAT, "model '%s': embedding_length %d "
                       "is not a multiple of head_count %d", p, (int)c->dim,
                       (int)c->n_heads);
    if (c->n_heads % c->n_kv_heads)
        return lm_fail(err, FTSB_E_FORMAT, "model '%s': head_count %d is not "
                       "a multiple of head_count_kv %d", p, (int)c->n_heads,
                       (int)c->n_kv_heads);
    c->head_dim = c->dim / c->n_heads;
    if (c->head_dim % 2 || c->head_dim > 1024)
        return lm_fail(err, FTSB_E_UNSUPPORTED, "model '%s': head dimension "
                       "%d (embedding_length / head_count) must be even and "
                       "at most 1024", p, (int)c->head_dim);
    if ((st = hp_must_equal(f, "llama.rope.dimension_count", c->head_dim,
                            "partial rotary embeddings are not supported",
                            err)) ||
        (st = hp_must_equal(f, "llama.attention.key_length", c->head_dim,
                            "keys as wide as embedding_length / head_count",
                            err)) ||
        (st = hp_must_equal(f, "llama.attention.value_length", c->head_dim,
                            "values as wide as embedding_length / head_count",
                            err)) ||
        (st = hp_must_equal(f, "llama.expert_count", 0,
                            "mixture-of-experts models are not supported",
                            err)))
        return st;
    if (gguf_find_kv(f, "llama.rope.scaling.type")) {
        if ((st = gguf_get_str(f, "llama.rope.scaling.type", &s, err)))
            return st;
        if (!str_is(s, "none"))
            return lm_fail(err, FTSB_E_UNSUPPORTED, "model '%s': rope scaling "
                           "'%s' is not supported (only plain RoPE)", p,
                           gguf_str_show(s, 40, shown, sizeof shown));
    }

    if (!gguf_find_kv(f, "llama.attention.layer_norm_rms_epsilon"))
        return lm_fail(err, FTSB_E_FORMAT, "model '%s' has no "
                       "'llama.attention.layer_norm_rms_epsilon' key; a llama "
                       "model needs it", p);
    if ((st = gguf_get_f32(f, "llama.attention.layer_norm_rms_epsilon",
                           &c->rms_eps, err)))
        return st;
    if (!(c->rms_eps > 0.0f && c->rms_eps < 1.0f))
        return lm_fail(err, FTSB_E_FORMAT, "model '%s': rms epsilon %g is "
                       "outside (0, 1)", p, (double)c->rms_eps);
    c->rope_base = 10000.0f;
    if (gguf_find_kv(f, "llama.rope.freq_base") &&
        (st = gguf_get_f32(f, "llama.rope.freq_base", &c->rope_base, err)))
        return st;
    if (!(c->rope_base > 1.0f && c->rope_base < 1e12f))
        return lm_fail(err, FTSB_E_FORMAT, "model '%s': rope.freq_base %g is "
                       "outside (1, 1e12)", p, (double)c->rope_base);

    c->ctx = c->ctx_train;
    if (opts && opts->ctx) {
        if (opts->ctx < 0 || opts->ctx > LM_MAX_CTX)
            return lm_fail(err, FTSB_E_INVALID, "context %d is outside "
                           "1..%d", (int)opts->ctx, LM_MAX_CTX);
        c->ctx = opts->ctx;
    }
    return FTSB_OK;
}

/* ---- tensors ------------------------------------------------------------- */

static void ne_text(char *buf, size_t size, const struct gguf_tensor *t)
{
    int n = snprintf(buf, size, "[");
    for (uint32_t d = 0; d < t->n_dims && n > 0 && (size_t)n < size; d++)
        n += snprintf(buf + n, size - (size_t)n, "%s%lld", d ? ", " : "",
                      (long long)t->ne[d]);
    if (n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "]");
}

/* Finds name, checks its shape is ne = [in, out] (out = 0: a vector of
 * in values) and its type, and returns it with its data. */
static ftsb_status find_tensor(const struct gguf_file *f, const char *name,
                               int64_t in, int64_t out, const char *what,
                               const struct gguf_tensor **t_out,
                               const void **data, struct lm_err *err)
{
    const struct gguf_tensor *t = gguf_find_tensor(f, name);
    uint32_t want_dims = out ? 2 : 1;
    char found[96];
    ftsb_status st;

    if (!t)
        return lm_fail(err, FTSB_E_FORMAT, "model '%s' has no tensor '%s' "
                       "(%s); the file is incomplete or not a llama model",
                       gguf_name(f), name, what);
    if (t->n_dims != want_dims || t->ne[0] != in ||
        (out && t->ne[1] != out)) {
        ne_text(found, sizeof found, t);
        if (out)
            return lm_fail(err, FTSB_E_FORMAT, "model '%s': tensor '%s' has "
                           "shape %s but the hyper-parameters need [%lld, "
                           "%lld] (%s)", gguf_name(f), name, found,
                           (long long)in, (long long)out, what);
        return lm_fail(err, FTSB_E_FORMAT, "model '%s': tensor '%s' has shape "
                       "%s but the hyper-parameters need [%lld] (%s)",
                       gguf_name(f), name, found, (long long)in, what);
    }
    if (!gguf_tensor_type_supported(t->type)) {
        const char *tn = gguf_tensor_type_name(t->type);
        return lm_fail(err, FTSB_E_UNSUPPORTED, "model '%s': tensor '%s' has "
                       "type %s; the llama engine runs F32, F16, BF16 and "
                       "Q8_0 weights (re-quantize with llama.cpp's "
                       "llama-quantize, e.g. to Q8_0 or F16)", gguf_name(f),
                       name, tn ? tn : "(unknown)");
    }
    if ((st = gguf_tensor_data(f, t, data, err)))
        return st;
    /* F32 weights are read as floats in place, the narrow ones as 16-bit
     * units: an odd file alignment would make that undefined */
    if ((uintptr_t)*data % (t->type == LM_F32 ? 4u : 2u))
        return lm_fail(err, FTSB_E_FORMAT, "model '%s': tensor '%s' is not "
                       "aligned to its element size (general.alignment %u)",
                       gguf_name(f), name, (unsigned)gguf_alignment(f));
    *t_out = t;
    return FTSB_OK;
}

static ftsb_status bind_matrix(const struct gguf_file *f, const char *name,
                               int64_t out, int64_t in, const char *what,
                               struct lm_tensor *w, struct lm_err *err)
{
    const struct gguf_tensor *t;
    const void *data;
    ftsb_status st = find_tensor(f, name, in, out, what, &t, &data, err);

    if (st)
        return st;
    w->type = (int32_t)t->type;
    w->data = data;
    w->rows = out;
    w->cols = in;
    return lm_tensor_check(w, out, in, name, err);
}

/* A norm gain of C values, copied to F32 into dst (C). */
static ftsb_status bind_norm(const struct gguf_file *f, const char *name,
                             int64_t c, float *dst, struct lm_err *err)
{
    const struct gguf_tensor *t;
    const void *data;
    ftsb_status st = find_tensor(f, name, c, 0, "an RMSNorm gain of "
                                 "embedding_length values", &t, &data, err);

    if (st)
        return st;
    if (lm_to_f32_row(dst, (int32_t)t->type, data, c) != 0)
        return lm_fail(err, FTSB_E_FORMAT, "model '%s': tensor '%s' cannot "
                       "be read as %lld values of %s", gguf_name(f), name,
                       (long long)c, lm_type_name((int32_t)t->type));
    return FTSB_OK;
}

/* The tensors of one layer, as the engine names them. */
static const char *const layer_tensors[] = {
    "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
    "ffn_norm", "ffn_gate", "ffn_up", "ffn_down",
};

/* Every tensor in the file must be one we bound: llama.cpp refuses a file
 * with extra tensors too, and ignoring a bias or rope_freqs would compute
 * another function without a word. */
static ftsb_status check_extra(const struct gguf_file *f,
                               const struct lm_config *c, struct lm_err *err)
{
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const char *name = gguf_tensor_at(f, i)->name;
        unsigned layer;
        int n = 0;
        char kind[GGUF_MAX_NAME + 1];
        bool ok = false;

        if (!strcmp(name, "token_embd.weight") ||
            !strcmp(name, "output_norm.weight") ||
            (!strcmp(name, "output.weight") && !c->tied_output))
            continue;
        if (sscanf(name, "blk.%u.%63[a-z_].weight%n", &layer, kind, &n) == 2 &&
            name[n] == '\0') {
            char canon[GGUF_MAX_NAME + 16];
            /* "blk.03..." or "blk.+3..." would pass sscanf but never be
             * bound: only the canonical spelling is a layer tensor */
            snprintf(canon, sizeof canon, "blk.%u.%s.weight", layer, kind);
            for (size_t k = 0; k < sizeof layer_tensors / sizeof *layer_tensors;
                 k++)
                ok |= !strcmp(kind, layer_tensors[k]);
            ok &= !strcmp(canon, name);
            if (ok && layer >= (unsigned)c->n_layers)
                return lm_fail(err, FTSB_E_FORMAT, "model '%s': tensor '%s' "
                               "belongs to layer %u but block_count is %d",
                               gguf_name(f), name, layer, (int)c->n_layers);
            if (ok)
                continue;
        }
        return lm_fail(err, FTSB_E_UNSUPPORTED, "model '%s': tensor '%s' is "
                       "not part of the llama architecture the engine runs "
                       "(biases, rope_freqs and expert tensors are not "
                       "supported)", gguf_name(f), name);
    }
    return FTSB_OK;
}

static ftsb_status bind_weights(struct lm_model *m, struct lm_err *err)
{
    const struct gguf_file *f = m->file;
    struct lm_config *c = &m->cfg;
    struct lm_weights *w = &m->w;
    const int64_t C = c->dim, F = c->ffn, HD = (int64_t)c->n_heads * c->head_dim,
                  GD = (int64_t)c->n_kv_heads * c->head_dim;
    const struct gguf_tensor *emb = gguf_find_tensor(f, "token_embd.weight");
    char name[GGUF_MAX_NAME + 1];
    ftsb_status st;
    int32_t vocab;

    /* V: the embedding's rows, which llama.vocab_size and the token list
     * must agree with when present */
    if (!emb)
        return lm_fail(err, FTSB_E_FORMAT, "model '%s' has no tensor "
                       "'token_embd.weight'; the file is incomplete or not a "
                       "llama model", gguf_name(f));
    if (emb->n_dims != 2 || emb->ne[1] < 1 || emb->ne[1] > LM_MAX_VOCAB)
        return lm_fail(err, FTSB_E_FORMAT, "model '%s': tensor "
                       "'token_embd.weight' must be [embedding_length, vocab] "
                       "with 1..%d rows", gguf_name(f), LM_MAX_VOCAB);
    c->vocab = (int32_t)emb->ne[1];
    vocab = c->vocab;
    if ((st = hp_int_opt(f, "llama.vocab_size", 1, LM_MAX_VOCAB, &vocab, err)))
        return st;
    if (vocab != c->vocab)
        return lm_fail(err, FTSB_E_FORMAT, "model '%s': llama.vocab_size is "
                       "%d but token_embd.weight has %d rows", gguf_name(f),
                       (int)vocab, (int)c->vocab);
    const struct gguf_kv *toks = gguf_find_kv(f, "tokenizer.ggml.tokens");
    if (toks && toks->type == GGUF_TYPE_ARRAY && toks->count != (uint64_t)vocab)
        return lm_fail(err, FTSB_E_FORMAT, "model '%s': the vocabulary has "
                       "%" PRIu64 " tokens but token_embd.weight has %d rows",
                       gguf_name(f), toks->count, (int)vocab);
    c->tied_output = gguf_find_tensor(f, "output.weight") == NULL;

    if ((st = check_extra(f, c, err)))
        return st;
    if (!(w->layers = calloc((size_t)c->n_layers, sizeof *w->layers)) ||
        !(w->norms = malloc((size_t)(2 * c->n_layers + 1) * (size_t)C *
                            sizeof(float))))
        return lm_fail(err, FTSB_E_NOMEM, "out of memory loading '%s'",
                       gguf_name(f));
    if ((st = bind_matrix(f, "token_embd.weight", c->vocab, C,
                          "[embedding_length, vocab]", &w->tok_embd, err)))
        return st;
    c->wtype = w->tok_embd.type;
    for (int l = 0; l < c->n_layers; l++) {
        struct lm_layer *ly = &w->layers[l];
        float *g = w->norms + (int64_t)2 * l * C;
        struct {
            const char *kind;
            struct lm_tensor *t;
            int64_t out, in;
            const char *what;
        } mats[] = {
            {"attn_q", &ly->wq, HD, C, "[embedding_length, head_count * head_dim]"},
            {"attn_k", &ly->wk, GD, C, "[embedding_length, head_count_kv * head_dim]"},
            {"attn_v", &ly->wv, GD, C, "[embedding_length, head_count_kv * head_dim]"},
            {"attn_output", &ly->wo, C, HD, "[head_count * head_dim, embedding_length]"},
            {"ffn_gate", &ly->w_gate, F, C, "[embedding_length, feed_forward_length]"},
            {"ffn_up", &ly->w_up, F, C, "[embedding_length, feed_forward_length]"},
            {"ffn_down", &ly->w_down, C, F, "[feed_forward_length, embedding_length]"},
        };
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
        if ((st = bind_norm(f, name, C, g, err)))
            return st;
        snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", l);
        if ((st = bind_norm(f, name, C, g + C, err)))
            return st;
        ly->attn_norm = g;
        ly->ffn_norm = g + C;
        for (size_t k = 0; k < sizeof mats / sizeof *mats; k++) {
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, mats[k].kind);
            if ((st = bind_matrix(f, name, mats[k].out, mats[k].in,
                                  mats[k].what, mats[k].t, err)))
                return st;
            m->weight_bytes += (uint64_t)lm_type_row_bytes(mats[k].t->type,
                                                           mats[k].in) *
                               (uint64_t)mats[k].out;
        }
    }
    float *g = w->norms + (int64_t)2 * c->n_layers * C;
    if ((st = bind_norm(f, "output_norm.weight", C, g, err)))
        return st;
    w->out_norm = g;
    if (c->tied_output)
        w->output = w->tok_embd;
    else if ((st = bind_matrix(f, "output.weight", c->vocab, C,
                               "[embedding_length, vocab]", &w->output, err)))
        return st;
    m->weight_bytes += (uint64_t)lm_type_row_bytes(w->output.type, C) *
                       (uint64_t)c->vocab;
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++)
        m->n_params += gguf_tensor_at(f, i)->nelem;
    return FTSB_OK;
}

ftsb_status lm_model_from_gguf(struct gguf_file *f,
                               const struct lm_model_opts *opts,
                               struct lm_model **out, struct lm_err *err)
{
    struct lm_model *m = calloc(1, sizeof *m);
    ftsb_status st;

    if (!m)
        return lm_fail(err, FTSB_E_NOMEM, "out of memory");
    m->file = f;
    m->lora_scale = 1.0f; /* an adapter attached later applies at full
                             strength unless its owner says otherwise */
    if ((st = read_config(f, opts, &m->cfg, err)) ||
        (st = bind_weights(m, err))) {
        m->file = NULL; /* still the caller's */
        lm_model_free(m);
        return st;
    }
    *out = m;
    return FTSB_OK;
}

ftsb_status lm_model_load(const char *path, const struct lm_model_opts *opts,
                          struct lm_model **out, struct lm_err *err)
{
    struct gguf_file *f;
    ftsb_status st = gguf_open(path, &f, err);

    if (st)
        return st;
    if ((st = lm_model_from_gguf(f, opts, out, err)))
        gguf_close(f);
    return st;
}

void lm_model_free(struct lm_model *m)
{
    if (!m)
        return;
    free(m->w.layers);
    free(m->w.norms);
    free(m->f32);
    gguf_close(m->file);
    free(m);
}
