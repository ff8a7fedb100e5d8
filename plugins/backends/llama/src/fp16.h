/*
 * fp16.h - scalar and row conversions between F32 and the narrow weight
 * types the engine reads from GGUF: IEEE binary16 (F16), bfloat16 (BF16)
 * and Q8_0 blocks (one f16 scale d and 32 int8 values; value = d * q).
 * The F16 and BF16 conversions are exact on the way up (every F16/BF16
 * value is an F32 value) and round to nearest, ties to even, on the way
 * down, with infinities kept and NaN kept NaN (quiet).  Q8_0 quantisation
 * follows ggml's reference semantics (d = max|x| / 127, q = round(x / d),
 * half away from zero) so that files we write read back the same in
 * llama.cpp.  Row functions are the hot path of the matmul wrapper (a tile
 * of weight rows is converted to F32 before sgemm), so they are written as
 * simple, vectorisable loops, with an F16C path on x86 chosen at run time.
 *
 * Thread contract: every function is reentrant (no state).
 */
#ifndef LM_FP16_H
#define LM_FP16_H

#include <stddef.h>
#include <stdint.h>

/* ggml tensor type ids (stable; GGUF stores them as int32). */
enum lm_type {
    LM_F32 = 0,
    LM_F16 = 1,
    LM_Q8_0 = 8,
    LM_BF16 = 30,
};

#define LM_Q8_0_BLOCK 32 /* values per Q8_0 block */

/* One Q8_0 block as stored in GGUF: 34 bytes, 2-byte aligned. */
struct lm_block_q8_0 {
    uint16_t d;                /* scale, F16 bits */
    int8_t q[LM_Q8_0_BLOCK];   /* quantised values */
};

/* ---- scalars ---------------------------------------------------------- */

float lm_f16_to_f32(uint16_t h);
uint16_t lm_f32_to_f16(float f);   /* nearest even; overflow -> inf */
float lm_bf16_to_f32(uint16_t b);
uint16_t lm_f32_to_bf16(float f);  /* nearest even; NaN -> quiet NaN */

/* ---- rows (n values; output first) ------------------------------------- */

void lm_f16_to_f32_row(float *y, const uint16_t *x, int64_t n);
/* The portable (non-F16C) path of lm_f16_to_f32_row, for tests. */
void lm_f16_to_f32_row_portable(float *y, const uint16_t *x, int64_t n);
void lm_f32_to_f16_row(uint16_t *y, const float *x, int64_t n);
void lm_bf16_to_f32_row(float *y, const uint16_t *x, int64_t n);
void lm_f32_to_bf16_row(uint16_t *y, const float *x, int64_t n);

/* n must be a multiple of LM_Q8_0_BLOCK; x holds n/32 blocks. */
void lm_q8_0_to_f32_row(float *y, const struct lm_block_q8_0 *x, int64_t n);
void lm_f32_to_q8_0_row(struct lm_block_q8_0 *y, const float *x, int64_t n);

/* ---- dot product of a typed row with an F32 vector ---------------------- */

/* sum_i w[i] * x[i] for n values of type (Q8_0: n % 32 == 0), without
 * converting the row to memory: the decode path's kernel (one activation
 * row, weights read once).  Float accumulation.  NaN for an unsupported
 * type or shape.  On x86 with AVX2+FMA+F16C the weights are widened in
 * registers; elsewhere they are converted 256 at a time into a stack
 * buffer.  lm_dot_row_portable always takes the second path (tests). */
float lm_dot_row(int32_t type, const void *w, const float *x, int64_t n);
float lm_dot_row_portable(int32_t type, const void *w, const float *x,
                          int64_t n);

/* ---- by type ----------------------------------------------------------- */

/* 1 for the four types above, 0 otherwise. */
int lm_type_supported(int32_t type);

/* Short name ("f32", "f16", "q8_0", "bf16") or "?" for other ids. */
const char *lm_type_name(int32_t type);

/* Bytes of a row of n values of type, or -1 when the type is unsupported or
 * n is not a whole number of blocks (Q8_0 needs n % 32 == 0). */
int64_t lm_type_row_bytes(int32_t type, int64_t n);

/* Converts n values of type starting at src to F32 (the generic row path;
 * for Q8_0, n % 32 == 0 and src is block-aligned).  Returns 0, or -1 for an
 * unsupported type or shape (nothing written). */
int lm_to_f32_row(float *y, int32_t type, const void *src, int64_t n);

#endif /* LM_FP16_H */
