/*
 * adapter.h - LoRA adapters in memory, and in the two file formats other
 * tools read: llama.cpp's GGUF LoRA (native.md section 6.1) and PEFT's
 * adapter_model.safetensors + adapter_config.json (section 6.2).  An
 * adapter holds, for each layer and each adapted projection W (n_out x
 * n_in, y = W x), the F32 matrices A (rank x n_in) and B (n_out x rank),
 * so that the adapted layer computes y = W x + s * B (A x) with
 * s = user_scale * alpha / rank.  Both files store the same bytes for A
 * and B (GGUF lora_a ne [n_in, r] is PEFT lora_A.weight [r, n_in], row-
 * major); what differs is the names, the metadata and, for q_proj and
 * k_proj, the order of B's rows: this engine keeps GGUF's order (RoPE on
 * adjacent pairs, native.md section 4), PEFT files have Hugging Face's
 * (rotate_half), and the PEFT loader and saver permute B's rows per head
 * (lm_lora_permute_rows).  F16/BF16 (and, from GGUF, Q8_0) tensors are
 * converted to F32 on load; the savers write F32, F16 or BF16.
 *
 * Loaders check everything before they allocate the matrices, and refuse
 * with a message naming the file and tensor:
 *   FTSB_E_FORMAT       not an adapter (general.type), a pair missing its
 *                       A or B, A and B disagreeing on the rank, a tensor
 *                       that is not 2-D, a malformed file or config;
 *   FTSB_E_UNSUPPORTED  another adapter type (adapter.type, peft_type),
 *                       a target other than q/k/v/o/gate/up/down,
 *                       DoRA, aLoRA, fan_in_fan_out, biases, modules_to_save,
 *                       per-module ranks, a tensor type other than
 *                       F32/F16/BF16/Q8_0;
 *   FTSB_E_INVALID      the adapter does not fit the base model: another
 *                       architecture, a layer past the base's, shapes
 *                       that are not the base's projection shapes.
 *
 * Thread contract: an adapter is plain data; read it from any thread,
 * change it from one.
 */
#ifndef LM_ADAPTER_H
#define LM_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "gguf.h"
#include "lm_err.h"
#include "safetensors.h"

/* The projections LoRA can adapt, in the order files list them. */
enum lm_lora_target {
    LM_LORA_Q,    /* attn_q      / self_attn.q_proj */
    LM_LORA_K,    /* attn_k      / self_attn.k_proj */
    LM_LORA_V,    /* attn_v      / self_attn.v_proj */
    LM_LORA_O,    /* attn_output / self_attn.o_proj */
    LM_LORA_GATE, /* ffn_gate    / mlp.gate_proj */
    LM_LORA_UP,   /* ffn_up      / mlp.up_proj */
    LM_LORA_DOWN, /* ffn_down    / mlp.down_proj */
    LM_LORA_N_TARGETS
};

#define LM_LORA_ALL ((1u << LM_LORA_N_TARGETS) - 1u) /* target bit mask */
#define LM_ADAPTER_MAX_LAYERS 4096
#define LM_ADAPTER_MAX_RANK 65536
#define LM_ADAPTER_DTYPE_AUTO (-1) /* save in the type the adapter came in */

/* What an adapter must fit: the base model's architecture and sizes. */
struct lm_adapter_base {
    char arch[64];     /* general.architecture, e.g. "llama"; "" = any */
    int64_t n_layer;
    int64_t n_embd;
    int64_t n_ff;
    int64_t n_head;
    int64_t n_head_kv;
    int64_t head_dim;  /* 0: n_embd / n_head */
};

/* One adapted projection: delta W = B A. */
struct lm_lora_pair {
    float *a;       /* A (rank, n_in), row-major; NULL: not adapted */
    float *b;       /* B (n_out, rank), row-major; q/k rows in GGUF order */
    int64_t n_in;
    int64_t n_out;
};

struct lm_adapter_meta {
    char *key;
    char *value;
};

struct lm_adapter {
    char arch[64];
    int64_t rank;
    float alpha;          /* 0: no alpha scaling (llama.cpp's rule) */
    int32_t dtype;        /* LM_F32/LM_F16/LM_BF16: type in the source file */
    int64_t n_layer;
    struct lm_lora_pair *pairs; /* [n_layer * LM_LORA_N_TARGETS] */
    struct lm_adapter_meta *meta; /* free-form strings, in insertion order */
    size_t n_meta;
};

/* The pair of layer l, target t (no bounds check). */
static inline struct lm_lora_pair *lm_adapter_pair(const struct lm_adapter *ad,
                                                   int64_t l, int t)
{
    return &ad->pairs[l * LM_LORA_N_TARGETS + t];
}

/* "attn_q", ...; "q_proj", ...; "self_attn" or "mlp".  NULL when t is out
 * of range. */
const char *lm_lora_target_gguf(int t);
const char *lm_lora_target_peft(int t);
const char *lm_lora_target_module(int t);

/* n_in and n_out of target t in base; FTSB_E_INVALID for a bad base. */
ftsb_status lm_adapter_base_dims(const struct lm_adapter_base *base, int t,
                                 int64_t *n_in, int64_t *n_out,
                                 struct lm_err *err);

/* Fills base from a model's GGUF metadata (<arch>.block_count, ...). */
ftsb_status lm_adapter_base_from_gguf(const struct gguf_file *model,
                                      struct lm_adapter_base *base,
                                      struct lm_err *err);

/* alpha / rank, or 1 when alpha is 0 (llama.cpp); multiply by the user's
 * scale. */
float lm_adapter_scale(const struct lm_adapter *ad);

/*
 * A new adapter for base with zero A and B on the targets in the mask
 * (bits 1 << LM_LORA_Q, ...), every layer; the trainer initialises them.
 */
ftsb_status lm_adapter_new(const struct lm_adapter_base *base, int64_t rank,
                           float alpha, unsigned targets,
                           struct lm_adapter **out, struct lm_err *err);
void lm_adapter_free(struct lm_adapter *ad);

/* Does ad fit base (architecture, layers, shapes)?  FTSB_E_INVALID naming
 * the first tensor that does not. */
ftsb_status lm_adapter_check(const struct lm_adapter *ad,
                             const struct lm_adapter_base *base,
                             struct lm_err *err);

/* Metadata: set (replacing) or get (NULL when absent). */
ftsb_status lm_adapter_set_meta(struct lm_adapter *ad, const char *key,
                                const char *value, struct lm_err *err);
const char *lm_adapter_get_meta(const struct lm_adapter *ad,
                                const char *key);

/*
 * Reorders the rows of a q or k projection's output side (e.g. LoRA B,
 * n_rows x row_len) between Hugging Face's and GGUF's order, per head of
 * hd = n_rows / n_head rows: GGUF row 2j is HF row j and GGUF row 2j+1 is
 * HF row j + hd/2 (to_gguf != 0), or the inverse (to_gguf == 0).  dst and
 * src must not overlap.  FTSB_E_INVALID when n_rows is not n_head heads of
 * an even size.
 */
ftsb_status lm_lora_permute_rows(float *dst, const float *src,
                                 int64_t n_rows, int64_t row_len,
                                 int64_t n_head, int to_gguf,
                                 struct lm_err *err);

/*
 * llama.cpp GGUF LoRA.  base may be NULL (no fit check; n_layer is then
 * one more than the highest layer in the file).  String metadata other
 * than general.type/architecture and adapter.type is kept in ad->meta.
 * *_norm.weight tensors are ignored, as llama.cpp does.
 */
ftsb_status lm_adapter_load_gguf(const char *path,
                                 const struct lm_adapter_base *base,
                                 struct lm_adapter **out, struct lm_err *err);
ftsb_status lm_adapter_from_gguf(const struct gguf_file *f,
                                 const struct lm_adapter_base *base,
                                 struct lm_adapter **out, struct lm_err *err);

/*
 * Writes the adapter as llama.cpp does: general.type = adapter,
 * general.architecture, general.name (from metadata, if set),
 * general.file_type, general.alignment = 32, adapter.type = lora,
 * adapter.lora.alpha, the other metadata as strings, then per layer and
 * target (in enum order) X.weight.lora_a and X.weight.lora_b.  dtype is
 * LM_F32, LM_F16, LM_BF16 or LM_ADAPTER_DTYPE_AUTO.  Atomic (path.tmp,
 * then rename).
 */
ftsb_status lm_adapter_save_gguf(const struct lm_adapter *ad,
                                 const char *path, int32_t dtype,
                                 struct lm_err *err);

/*
 * PEFT: dir/adapter_config.json and dir/adapter_model.safetensors.  base
 * is required (q/k permutation needs n_head and n_head_kv; shapes are
 * checked against it).  Config: peft_type "LORA" and target_modules
 * required; r (checked against the tensors) and lora_alpha (default 8, as
 * PEFT) read; use_rslora folded into alpha (alpha * sqrt(r), so that
 * alpha / r is PEFT's alpha / sqrt(r)); base_model_name_or_path kept as
 * metadata; safetensors __metadata__ (but "format") kept as metadata.
 */
ftsb_status lm_adapter_load_peft(const char *dir,
                                 const struct lm_adapter_base *base,
                                 struct lm_adapter **out, struct lm_err *err);
/* The same from an open safetensors file and the config's text; name is
 * used in messages about the config. */
ftsb_status lm_adapter_from_peft(const struct st_file *st, const char *config,
                                 size_t config_len, const char *name,
                                 const struct lm_adapter_base *base,
                                 struct lm_adapter **out, struct lm_err *err);

/*
 * Writes dir/adapter_model.safetensors (tensors base_model.model.model.
 * layers.N.{self_attn,mlp}.X_proj.lora_{A,B}.weight, q/k B rows permuted
 * to HF order; __metadata__ "format": "pt" plus ad->meta) and
 * dir/adapter_config.json (sorted keys; lora_alpha = alpha, or rank when
 * alpha is 0 so that the scale stays 1), each atomically.  Creates dir
 * if needed.
 */
ftsb_status lm_adapter_save_peft(const struct lm_adapter *ad, const char *dir,
                                 const struct lm_adapter_base *base,
                                 int32_t dtype, struct lm_err *err);

#endif /* LM_ADAPTER_H */
