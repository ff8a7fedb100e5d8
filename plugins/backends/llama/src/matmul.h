/*
 * matmul.h - the single entry for every matrix product of the Llama
 * engine (inference and training), with a naive reference beside each
 * BLAS path.  F32 weights are used in place (straight from the mmap);
 * F16, BF16 and Q8_0 weights stay in their type and are converted to F32
 * a tile of rows at a time into a bounded per-instance scratch buffer,
 * then multiplied with cblas_sgemm (n >= 2 rows).  A single row (n == 1,
 * decode) is cblas_sgemv for F32 weights and a fused typed dot product per
 * output for the narrow types (weights widened in registers and read
 * once: faster than tile + sgemv, see benchmarks/perf/README.md).  There
 * is never a whole-model F32 copy.
 *
 * Conventions (all products in the engine follow them):
 *
 *   - row-major everywhere; a buffer comment gives its shape, e.g. (N,I);
 *   - dimension letters: N = rows of activations (tokens, B*T flattened),
 *     I = input features, O = output features, R = LoRA rank;
 *   - a weight matrix W has shape (O,I): row o holds the I weights of
 *     output o.  GGUF writes the same bytes with ne = [I, O];
 *   - the forward product is Y(N,O) = X(N,I) . W^T  (torch's F.linear);
 *   - signatures put outputs first, then inputs, then dimensions, then
 *     the workspace;
 *   - backward products accumulate (+=) into their outputs, as in llm.c:
 *     zero gradient buffers before the first backward call.
 *
 * Threads: the BLAS thread count is set once by the core
 * (openblas_set_num_threads); nothing here changes it, and nothing here
 * starts threads.  The BLAS paths use OpenBLAS's threads; the conversion
 * of tiles and the fused decode dots run on the calling thread unless the
 * host lends a parallel-for (struct lm_parallel).  Every
 * function is reentrant; a struct lm_scratch is used by one thread at a
 * time ([instance]: one per model instance or per thread that runs
 * products).  Results of the BLAS paths depend on the BLAS thread count
 * only by rounding.
 *
 * Reference mode: lm_scratch_init() reads FTSB_LM_REFERENCE; when it is
 * "1" (or lm_scratch_set_reference(ws, 1) was called) every product that
 * takes that scratch runs the naive reference loops instead of BLAS, and
 * so does lm_attention_forward/backward (kernels.h).  Tests use it to run
 * a whole forward pass on references.
 */
#ifndef LM_MATMUL_H
#define LM_MATMUL_H

#include <stddef.h>
#include <stdint.h>

#include "fp16.h"
#include "lm_err.h"

/* A weight matrix as the GGUF reader hands it over: rows x cols values of
 * type (enum lm_type: LM_F32=0, LM_F16=1, LM_Q8_0=8, LM_BF16=30, the ggml
 * ids), rows contiguous, data not owned (usually points into the mmap).
 * For a weight W(O,I): rows = O = ne[1], cols = I = ne[0]. */
struct lm_tensor {
    int32_t type;
    const void *data;
    int64_t rows, cols;
};

/* Default bound on the conversion tile (bytes of F32): 2048 rows at
 * I = 2048, 744 at I = 5632.  Each tile is one sgemm call and OpenBLAS
 * repacks X on every call, so what matters is rows per tile: F16 prefill
 * (n = 512, I = 5632) took 7.0x / 2.6x / 1.34x / 1.06x the time of F32
 * weights with 256 KiB / 1 MiB / 4 MiB / 16 MiB tiles, while converting
 * into a tile larger than L2 costs only ~1 ms more per 23 MiB weight
 * (benchmarks/perf/README.md).  16 MiB per scratch is small next to the
 * activations of a prefill (the logits of 512 tokens alone take 62 MiB). */
#define LM_TILE_BYTES_DEFAULT ((size_t)16 << 20)

/* Optional parallel-for lent by the host (the core's thread pool, DESIGN
 * D5: plugins use the host's threads, never their own).  run(pool,
 * n_tasks, fn, arg) calls fn(arg, i) once for each i in [0, n_tasks), on
 * any threads, and returns when all calls have returned.  The engine uses
 * it only where no BLAS call is in flight (the decode dots of narrow
 * weights, which one core cannot feed from DRAM, and the conversion of
 * narrow weights into tiles before each sgemm), so OpenBLAS's pool and
 * the host's are never busy at once; the host's workers should wait
 * passively (condition variable), not spin.  Zeroed = run inline. */
typedef void (*lm_task_fn)(void *arg, int task);
struct lm_parallel {
    void (*run)(void *pool, int n_tasks, lm_task_fn fn, void *arg);
    void *pool;
    int n_tasks; /* how many parts to split work into; <= 1 = inline */
};

/* Workspace of the matmul wrapper and the attention kernels.  Embed it in
 * the state of whoever runs products and pass it to every call; buffers
 * grow on first need and are then reused (no allocation per call in the
 * steady state).  Fields are private except err and reference. */
struct lm_scratch {
    float *tile;         /* (tile_cap) F32 rows of a converted weight tile */
    size_t tile_cap;     /* floats */
    size_t tile_bytes;   /* the configured bound */
    float *work;         /* (work_cap) attention scores and gradients */
    size_t work_cap;     /* floats */
    int reference;       /* 1: run the naive references */
    struct lm_parallel par; /* host parallel-for, zeroed = none */
    struct lm_err err;   /* message of the last failure */
};

/* 1 when the environment variable FTSB_LM_REFERENCE is "1". */
int lm_reference_from_env(void);

/* Prepares ws (no allocation yet).  tile_bytes bounds the conversion tile
 * (0 = LM_TILE_BYTES_DEFAULT; a tile always holds at least one row).
 * reference starts as lm_reference_from_env().  Cannot fail. */
void lm_scratch_init(struct lm_scratch *ws, size_t tile_bytes);

/* Frees the buffers; ws may then be initialised again.  NULL is a no-op. */
void lm_scratch_free(struct lm_scratch *ws);

/* Routes this scratch's products through the references (1) or BLAS (0). */
void lm_scratch_set_reference(struct lm_scratch *ws, int on);

/* Lends the host's parallel-for to this scratch (NULL = none). */
void lm_scratch_set_parallel(struct lm_scratch *ws, const struct lm_parallel *p);

/* Returns a buffer of at least n floats owned by ws (valid until the next
 * call that takes ws), or NULL with ws->err set (FTSB_E_NOMEM). */
float *lm_scratch_work(struct lm_scratch *ws, size_t n);

/* Checks that w can serve as a weight of shape (out, in): supported type,
 * rows == out, cols == in, data present, Q8_0 rows whole blocks.  The GGUF
 * loader calls it once per tensor so that products need not fail later.
 * Returns FTSB_OK or FTSB_E_FORMAT / FTSB_E_UNSUPPORTED with a message. */
ftsb_status lm_tensor_check(const struct lm_tensor *w, int64_t out, int64_t in,
                            const char *name, struct lm_err *err);

/* ---- forward ------------------------------------------------------------
 * Y(N,O) = X(N,I) . W^T, overwriting y (y must not overlap x).  Any weight
 * type.  ws may be NULL for F32 weights (no conversion, no message on
 * failure).  Returns FTSB_OK, or FTSB_E_INVALID (shape/type
 * mismatch, message in ws->err) or FTSB_E_NOMEM (tile allocation). */
ftsb_status lm_matmul(float *y, const float *x, const struct lm_tensor *w,
                      int n, int in, int out, struct lm_scratch *ws);

/* Naive reference of lm_matmul: plain loops, double accumulation, scalar
 * conversions.  No checks beyond those of lm_matmul. */
void lm_matmul_ref(float *y, const float *x, const struct lm_tensor *w,
                   int n, int in, int out);

/* ---- backward -----------------------------------------------------------
 * dX(N,I) += dY(N,O) . W  for any weight type (frozen base weights under
 * LoRA, trained ones under full fine-tuning).  Same errors as lm_matmul. */
ftsb_status lm_matmul_dx(float *dx, const float *dy, const struct lm_tensor *w,
                         int n, int in, int out, struct lm_scratch *ws);
void lm_matmul_dx_ref(float *dx, const float *dy, const struct lm_tensor *w,
                      int n, int in, int out);

/* dW(O,I) += dY(N,O)^T . X(N,I)  (F32 gradients of F32 weights).  n == 1
 * is a rank-one update (sger).  ws may be NULL (BLAS path). */
void lm_matmul_dw(float *dw, const float *dy, const float *x, int n, int in,
                  int out, struct lm_scratch *ws);
void lm_matmul_dw_ref(float *dw, const float *dy, const float *x, int n,
                      int in, int out);

/* ---- general F32 product (LoRA, attention) --------------------------------
 * C(M,N) = alpha . op(A) . op(B) + beta . C, row-major, op(A) (M,K) and
 * op(B) (K,N); ta/tb = 1 means A/B are stored transposed ((K,M) / (N,K)).
 * lda/ldb/ldc are row strides in floats.  beta == 0 overwrites C (NaN in C
 * does not leak).  Routes to lm_gemm_ref when ws && ws->reference. */
void lm_gemm(float *c, int ldc, const float *a, int lda, int ta,
             const float *b, int ldb, int tb, int m, int n, int k,
             float alpha, float beta, const struct lm_scratch *ws);
void lm_gemm_ref(float *c, int ldc, const float *a, int lda, int ta,
                 const float *b, int ldb, int tb, int m, int n, int k,
                 float alpha, float beta);

/* ---- LoRA (F32 adapters: A (R,I), B (O,R)) --------------------------------
 * Forward: xa(N,R) = X(N,I) . A^T ;  Y(N,O) += scale . xa . B^T.
 * xa is kept by the caller for the backward pass. */
void lm_lora_forward(float *y, float *xa, const float *x, const float *a,
                     const float *b, float scale, int n, int in, int out,
                     int r, struct lm_scratch *ws);

/* Backward of lm_lora_forward: da(R,I) +=, db(O,R) +=, dx(N,I) += (dx may be
 * NULL when the input gradient is not needed); dxa(N,R) is caller-provided
 * work space and receives scale . dY . B.  Inputs: dy(N,O), x(N,I),
 * xa(N,R) from the forward pass, a, b. */
void lm_lora_backward(float *da, float *db, float *dx, float *dxa,
                      const float *dy, const float *x, const float *xa,
                      const float *a, const float *b, float scale, int n,
                      int in, int out, int r, struct lm_scratch *ws);

/* ---- rows of a weight (embedding lookup) ---------------------------------
 * out(N,C) = rows ids[0..n) of w (C = w->cols), converted to F32.  Returns
 * FTSB_E_INVALID (message in err, may be NULL) for an id outside
 * [0, w->rows) or an unsupported type; rows before the bad one are
 * written. */
ftsb_status lm_tensor_rows(float *out, const struct lm_tensor *w,
                           const int32_t *ids, int n, struct lm_err *err);

#endif /* LM_MATMUL_H */
