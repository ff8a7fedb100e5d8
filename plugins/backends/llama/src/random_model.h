/*
 * random_model.h - Llama models with random weights, of any shape, for
 * tests and benchmarks (`ftsb make-model`, the perf program).  The file is
 * a normal GGUF model in the layout llama.cpp's converters write: the
 * llama.* hyper-parameters, a tokenizer (copied from a vocabulary file, or
 * a synthetic SentencePiece-style one), token_embd, blk.N.*, output_norm
 * and, unless tied, output; matrices in the requested type, norm vectors
 * in F32 and equal to 1.  Weights are approximately N(0, std) from a
 * counter-based generator keyed by the seed and the tensor name, computed
 * with integer arithmetic and one rounding, so the same arguments give
 * the same bytes on every machine, and a tensor does not depend on the
 * others (blk.0 of a 2-layer and of a 4-layer model are equal).
 *
 * Tensor data is generated a slice at a time and written in place, so a
 * model larger than memory can be made; the file appears under its name
 * only when complete.
 *
 *     struct lm_random_shape s;
 *     lm_random_shape_named("tiny", &s, &err);
 *     lm_random_model_write("tiny.gguf", &s, LM_F16, 42, NULL, &err);
 */
#ifndef LM_RANDOM_MODEL_H
#define LM_RANDOM_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "gguf.h"
#include "lm_err.h"

struct lm_random_shape {
    int64_t dim;       /* embedding length */
    int64_t n_layer;
    int64_t n_head;
    int64_t n_head_kv;
    int64_t n_ff;      /* feed-forward hidden size */
    int64_t n_vocab;   /* ignored when a vocabulary file is given */
    int64_t n_ctx;     /* context length (metadata only) */
    float rope_base;   /* 0: 10000 */
    float rms_eps;     /* 0: 1e-5 */
    float std;         /* weight standard deviation; 0: 0.02 */
    bool tied;         /* no output.weight: the output uses token_embd */
};

/* Smallest synthetic vocabulary: <unk>, <s>, </s> and the 256 bytes. */
#define LM_RANDOM_MIN_VOCAB 259

/*
 * Named shapes: "tiny" (dim 64, 2 layers, 4 heads, 2 kv heads, FFN 192,
 * vocab 512, context 256, untied; for tests), "110m" (llama2.c stories110M:
 * dim 768, 12 layers, 12 heads, FFN 2048, vocab 32000, context 1024,
 * tied) and "1.1b" (TinyLlama: dim 2048, 22 layers, 32 heads, 4 kv heads,
 * FFN 5632, vocab 32000, context 2048, untied).  FTSB_E_NOT_FOUND with
 * the list of names for another name.
 */
ftsb_status lm_random_shape_named(const char *name,
                                  struct lm_random_shape *out,
                                  struct lm_err *err);

/* The names above, NULL-terminated. */
extern const char *const lm_random_shape_names[];

/*
 * Checks a shape for type (LM_F32, LM_F16, LM_BF16, LM_Q8_0): every size
 * positive and bounded, dim a multiple of n_head, n_head of n_head_kv, an
 * even head dimension, row lengths multiples of 32 for Q8_0, a synthetic
 * vocabulary of at least LM_RANDOM_MIN_VOCAB tokens (when vocab_file is
 * false).  FTSB_E_INVALID naming the first bad value.
 */
ftsb_status lm_random_shape_check(const struct lm_random_shape *s,
                                  int32_t type, bool vocab_file,
                                  struct lm_err *err);

/*
 * Writes the model to path (replacing it).  vocab, when not NULL, is an
 * open GGUF file whose tokenizer.* keys are copied (its vocabulary must
 * load; its size replaces shape->n_vocab).  Errors: FTSB_E_INVALID (the
 * shape), FTSB_E_FORMAT / FTSB_E_UNSUPPORTED (the vocabulary file),
 * FTSB_E_IO, FTSB_E_NOMEM.
 */
ftsb_status lm_random_model_write(const char *path,
                                  const struct lm_random_shape *shape,
                                  int32_t type, uint64_t seed,
                                  const struct gguf_file *vocab,
                                  struct lm_err *err);

#endif /* LM_RANDOM_MODEL_H */
