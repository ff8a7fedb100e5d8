/*
 * model.h - a Llama model as the engine runs it: the hyper-parameters read
 * from a GGUF file's llama.* keys (struct lm_config), every weight bound as
 * a typed view into the file's read-only mapping (struct lm_weights: F32
 * used in place, F16/BF16/Q8_0 left in their type for the matmul wrapper to
 * convert tile by tile; there is never a whole-model F32 copy), and the
 * file that owns the mapping (struct lm_model).  The activations and the
 * KV cache live elsewhere (forward.h, kv_cache.h), so one model may serve
 * several states.  The layout follows llama2.c (config, weights, state);
 * the architecture is llama.cpp's `llama` (native.md sections 2-4).
 *
 * Loading is where a hostile or merely unusual file is refused: every key
 * is range-checked, every tensor's type and shape is checked against the
 * hyper-parameters, tensors the engine would ignore (biases, rope_freqs,
 * experts) are refused by name rather than silently skipped, so a model
 * that loads computes what llama.cpp computes for it.
 *
 * Dimension letters (used in every shape comment of the engine):
 *   L layers, C model width (embedding_length), H query heads,
 *   G key/value heads, D head dimension (C / H), F feed-forward width,
 *   V vocabulary, T positions (context).
 * A weight (O,I) has O rows of I values (GGUF ne = [I, O]); see matmul.h.
 *
 * An optional LoRA adapter (adapter.h) can be attached: the owner of the
 * model sets lora and lora_scale after loading and before the first
 * forward pass, and every projection then adds its adapter pair's
 * product (forward.h).  The model neither owns nor frees the adapter.
 *
 * Thread contract: a loaded model is immutable once its adapter (if any)
 * is attached; any number of threads may run forward passes on it at
 * once, each with its own state.  Attaching, detaching or changing an
 * adapter or its scale while a forward pass runs is a data race: do it
 * between passes, from the thread that owns the model.
 */
#ifndef LM_MODEL_H
#define LM_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "gguf.h"
#include "lm_err.h"
#include "matmul.h"

struct lm_adapter; /* adapter.h */

/* Hyper-parameters (the blueprint). */
struct lm_config {
    int32_t dim;        /* C */
    int32_t n_layers;   /* L */
    int32_t n_heads;    /* H */
    int32_t n_kv_heads; /* G; H % G == 0 (G < H: grouped-query attention) */
    int32_t head_dim;   /* D = C / H */
    int32_t ffn;        /* F */
    int32_t vocab;      /* V */
    int32_t ctx_train;  /* llama.context_length */
    int32_t ctx;        /* T_max: the context we run with (override or
                           ctx_train) */
    float rope_base;    /* llama.rope.freq_base, default 10000 */
    float rms_eps;      /* llama.attention.layer_norm_rms_epsilon */
    bool tied_output;   /* no output.weight: logits use token_embd */
    int32_t wtype;      /* type of the projection weights (enum lm_type) */
};

/* One transformer block. */
struct lm_layer {
    const float *attn_norm;  /* (C) RMSNorm gain before attention */
    struct lm_tensor wq;     /* (H*D, C), q rows in GGUF (adjacent-pair) order */
    struct lm_tensor wk;     /* (G*D, C), same order */
    struct lm_tensor wv;     /* (G*D, C) */
    struct lm_tensor wo;     /* (C, H*D) */
    const float *ffn_norm;   /* (C) RMSNorm gain before the FFN */
    struct lm_tensor w_gate; /* (F, C) SiLU branch */
    struct lm_tensor w_up;   /* (F, C) */
    struct lm_tensor w_down; /* (C, F) */
};

struct lm_weights {
    struct lm_tensor tok_embd; /* (V, C) row t = embedding of token t */
    struct lm_layer *layers;   /* (L) */
    const float *out_norm;     /* (C) */
    struct lm_tensor output;   /* (V, C); a copy of tok_embd when tied */
    float *norms;              /* owned (2L+1, C): F32 copies of the gains,
                                  whatever their file type (they are tiny) */
};

struct lm_model {
    struct lm_config cfg;
    struct lm_weights w;
    struct gguf_file *file;   /* owns the mapping the weights point into */
    uint64_t weight_bytes;    /* bytes of matrices one decoded token reads
                                 (every projection + the output matrix) */
    uint64_t n_params;        /* parameters, embeddings included */
    float *f32;               /* owned F32 weight block the views point into
                                 after lm_model_to_f32 (model_f32.h), or NULL */
    int64_t n_f32;            /* floats in it */
    /* LoRA adapter applied by every forward pass, NULL = none (the
     * default).  Not owned: it must outlive every pass that uses it.  It
     * must fit this model (lm_adapter_check against the base described by
     * lm_adapter_base_from_gguf(file)); lm_forward refuses one that does
     * not.  Each adapted projection adds s * B (A x) with
     * s = lm_adapter_scale(lora) * lora_scale. */
    const struct lm_adapter *lora;
    float lora_scale;         /* the user's scale; 1 after loading */
};

struct lm_model_opts {
    int32_t ctx; /* run with this context instead of llama.context_length
                    (0 = the file's) */
};

/*
 * Opens path, reads and checks the hyper-parameters, binds every tensor.
 * opts may be NULL.  Errors: FTSB_E_IO (cannot open or map), FTSB_E_FORMAT
 * (malformed file, a missing key or tensor, a shape that disagrees with
 * the hyper-parameters: expected vs found), FTSB_E_UNSUPPORTED (another
 * architecture, a tensor type or a feature the engine does not run, named
 * with what is supported), FTSB_E_INVALID (bad opts), FTSB_E_NOMEM.
 * Nothing is left allocated on failure.
 */
ftsb_status lm_model_load(const char *path, const struct lm_model_opts *opts,
                          struct lm_model **out, struct lm_err *err);

/* The same over an open file, whose ownership passes to the model on
 * success (on failure the caller still owns it). */
ftsb_status lm_model_from_gguf(struct gguf_file *f,
                               const struct lm_model_opts *opts,
                               struct lm_model **out, struct lm_err *err);

/* Frees the model and closes its file.  NULL is a no-op. */
void lm_model_free(struct lm_model *m);

#endif /* LM_MODEL_H */
