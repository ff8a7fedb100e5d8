/*
 * model_save.h - writing a model as a llama GGUF file that this engine and
 * llama.cpp load: the fine-tuned (merged) model the trainer hands to the
 * evaluation, or a re-typed copy of a loaded one.
 *
 * The file has every metadata key of the model's source file, copied
 * byte for byte and in order, except general.file_type, which is set to
 * the llama.cpp ftype of the chosen type (ALL_F32 = 0, MOSTLY_F16 = 1,
 * MOSTLY_BF16 = 32); then the tensors under llama.cpp's names, in the
 * order llama.cpp's convert_hf_to_gguf.py writes them (Hugging Face
 * module order): token_embd.weight, then blk.N.attn_norm, attn_q, attn_k,
 * attn_v, attn_output, ffn_norm, ffn_gate, ffn_up and ffn_down (.weight)
 * for each layer, then output_norm.weight and output.weight (absent when
 * the output is tied to the embedding).  Loaders find tensors by name, so
 * the order matters for one property only, which the tests check: a model
 * file in that layout (shared/testdata's reference models, which llama.cpp
 * ran) saved in its own type comes out as the same file, byte for byte.
 * Matrices are converted from whatever type m->w holds (F32, F16, BF16,
 * Q8_0; F32 buffers put there by a trainer included) to the chosen type,
 * rounding to nearest even; norm gains are always F32.  Only m->w, m->cfg
 * and the metadata of m->file are read, never the tensors of m->file, so
 * weights replaced in memory are what gets written.
 *
 * Memory: a matrix already in the chosen type is written from where it
 * is; the others are converted into buffers that live until the file is
 * written, so saving a model whose weights are all in another type needs
 * the size of the output file in extra memory.
 *
 * The write is atomic (gguf_w_save: "<path>.tmp", fsync, rename).
 */
#ifndef LM_MODEL_SAVE_H
#define LM_MODEL_SAVE_H

#include <stdint.h>

#include "lm_err.h"
#include "model.h"

/* llama.cpp's llama_ftype values for general.file_type. */
#define LM_FTYPE_ALL_F32 0
#define LM_FTYPE_MOSTLY_F16 1
#define LM_FTYPE_MOSTLY_BF16 32

/*
 * Writes m to path with its matrices in dtype (LM_F32, LM_F16 or
 * LM_BF16).  Errors: FTSB_E_INVALID (another dtype; a weight whose shape
 * or type does not fit m->cfg; an output marked tied whose buffer is not
 * the embedding's, which the file could not express), FTSB_E_IO,
 * FTSB_E_NOMEM.
 */
ftsb_status lm_model_save_gguf(const struct lm_model *m, const char *path,
                               int32_t dtype, struct lm_err *err);

#endif /* LM_MODEL_SAVE_H */
