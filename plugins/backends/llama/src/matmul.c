/*
 * matmul.c - the matmul wrapper (see matmul.h for the conventions).  F32
 * weights go straight to OpenBLAS.  Narrow weights (F16/BF16/Q8_0) are
 * converted one tile of rows at a time into ws->tile, and each tile is one
 * sgemm (or sgemv, for dX of one row) writing a column block of Y or
 * accumulating into dX: the tile is bounded (LM_TILE_BYTES_DEFAULT,
 * 16 MiB) so no F32 copy of the model ever exists, yet large enough that
 * OpenBLAS's per-call repacking of X stays small next to the product.  A
 * single row of Y with narrow weights is a fused typed dot per output
 * (lm_dot_row), split over the host's threads when it lends them.  The
 * references beside each path are plain loops with double accumulation;
 * they define what the BLAS paths compute.
 */
#include "matmul.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* Letters: N rows of activations, I input features, O output features,
 * R LoRA rank; M/K are the generic GEMM dimensions of lm_gemm. */

int lm_reference_from_env(void)
{
    const char *v = getenv("FTSB_LM_REFERENCE");
    return v && strcmp(v, "1") == 0;
}

void lm_scratch_init(struct lm_scratch *ws, size_t tile_bytes)
{
    memset(ws, 0, sizeof *ws);
    ws->tile_bytes = tile_bytes ? tile_bytes : LM_TILE_BYTES_DEFAULT;
    ws->reference = lm_reference_from_env();
}

void lm_scratch_free(struct lm_scratch *ws)
{
    if (!ws)
        return;
    free(ws->tile);
    free(ws->work);
    ws->tile = ws->work = NULL;
    ws->tile_cap = ws->work_cap = 0;
}

void lm_scratch_set_reference(struct lm_scratch *ws, int on)
{
    ws->reference = on != 0;
}

void lm_scratch_set_parallel(struct lm_scratch *ws, const struct lm_parallel *p)
{
    if (p)
        ws->par = *p;
    else
        memset(&ws->par, 0, sizeof ws->par);
}

/* Grows *buf to at least n floats (contents are not kept). */
static float *grow(float **buf, size_t *cap, size_t n, struct lm_err *err)
{
    if (n <= *cap)
        return *buf;
    if (n > SIZE_MAX / sizeof(float)) {
        lm_fail(err, FTSB_E_NOMEM, "llama engine: work buffer of %zu floats "
                "is too large", n);
        return NULL;
    }
    free(*buf);
    *buf = malloc(n * sizeof(float));
    *cap = *buf ? n : 0;
    if (!*buf)
        lm_fail(err, FTSB_E_NOMEM, "llama engine: out of memory allocating a "
                "work buffer of %zu MiB", n * sizeof(float) >> 20);
    return *buf;
}

float *lm_scratch_work(struct lm_scratch *ws, size_t n)
{
    return grow(&ws->work, &ws->work_cap, n, &ws->err);
}

ftsb_status lm_tensor_check(const struct lm_tensor *w, int64_t out, int64_t in,
                            const char *name, struct lm_err *err)
{
    if (!name)
        name = "weight";
    if (!lm_type_supported(w->type))
        return lm_fail(err, FTSB_E_UNSUPPORTED, "tensor %s has type %d (%s); "
                       "the llama engine reads f32, f16, bf16 and q8_0: "
                       "convert the model with llama.cpp's llama-quantize",
                       name, (int)w->type, lm_type_name(w->type));
    if (w->rows != out || w->cols != in)
        return lm_fail(err, FTSB_E_FORMAT, "tensor %s has shape (%lld, %lld) "
                       "(rows, cols) but the model needs (%lld, %lld)", name,
                       (long long)w->rows, (long long)w->cols,
                       (long long)out, (long long)in);
    if (lm_type_row_bytes(w->type, in) < 0)
        return lm_fail(err, FTSB_E_FORMAT, "tensor %s: q8_0 rows of %lld "
                       "values are not whole 32-value blocks", name,
                       (long long)in);
    if (!w->data && out > 0 && in > 0)
        return lm_fail(err, FTSB_E_INVALID, "tensor %s has no data", name);
    return FTSB_OK;
}

/* The product-time check: shape and type, with the message in ws->err. */
static ftsb_status check_product(const struct lm_tensor *w, int n, int in,
                                 int out, struct lm_scratch *ws,
                                 const char *what)
{
    struct lm_err *err = ws ? &ws->err : NULL;
    ftsb_status st;

    if (n < 0 || in < 0 || out < 0)
        return lm_fail(err, FTSB_E_INVALID, "%s: negative dimension "
                       "(n %d, in %d, out %d)", what, n, in, out);
    st = lm_tensor_check(w, out, in, what, err);
    if (st)
        return FTSB_E_INVALID;
    if (w->type != LM_F32 && !ws)
        return FTSB_E_INVALID; /* narrow weights need a tile */
    return FTSB_OK;
}

/* Makes room for a tile and returns its row count (>= 1), or 0 with
 * ws->err set. */
static int tile_rows(struct lm_scratch *ws, int in, int out)
{
    size_t rows = ws->tile_bytes / sizeof(float) / (size_t)(in > 0 ? in : 1);

    if (rows < 1)
        rows = 1;
    if (rows > (size_t)out)
        rows = (size_t)out;
    if (!grow(&ws->tile, &ws->tile_cap, rows * (size_t)in, &ws->err))
        return 0;
    return (int)rows;
}

/* One part of a tile conversion: rows [nr*part/parts, nr*(part+1)/parts)
 * of the tile. */
struct tile_job {
    float *tile;                /* (nr,I) */
    const char *src;            /* row r0 of the weight */
    int64_t rb;                 /* bytes per weight row */
    int32_t type;
    int nr, in, parts;
};

static void tile_part(void *arg, int part)
{
    const struct tile_job *j = arg;
    int a = (int)((int64_t)j->nr * part / j->parts);
    int b = (int)((int64_t)j->nr * (part + 1) / j->parts);

    /* rows are contiguous, so one call converts a run of them */
    if (b > a)
        lm_to_f32_row(j->tile + (int64_t)a * j->in, j->type,
                      j->src + (int64_t)a * j->rb, (int64_t)(b - a) * j->in);
}

/* Converts rows [r0, r0+nr) of w into ws->tile, (nr, I), split over the
 * host's threads when it lends them: one core converts F16 at a fraction
 * of the rate sgemm consumes it (benchmarks/perf/README.md). */
static void convert_tile(struct lm_scratch *ws, const struct lm_tensor *w,
                         int r0, int nr, int in)
{
    struct tile_job j = {ws->tile, NULL, lm_type_row_bytes(w->type, in),
                         w->type, nr, in, 1};

    j.src = (const char *)w->data + (int64_t)r0 * j.rb;
    if (ws->par.run && ws->par.n_tasks > 1 && (int64_t)nr * in >= 65536) {
        j.parts = ws->par.n_tasks;
        ws->par.run(ws->par.pool, j.parts, tile_part, &j);
    } else {
        tile_part(&j, 0);
    }
}

/* ---- forward ------------------------------------------------------------- */

/* One part of a decode product: outputs [O*part/parts, O*(part+1)/parts). */
struct dot_job {
    float *y;                   /* (O) */
    const float *x;             /* (I) */
    const struct lm_tensor *w;  /* (O,I) */
    int in, out, parts;
};

static void dot_rows(void *arg, int part)
{
    const struct dot_job *j = arg;
    int o0 = (int)((int64_t)j->out * part / j->parts);
    int o1 = (int)((int64_t)j->out * (part + 1) / j->parts);
    int64_t rb = lm_type_row_bytes(j->w->type, j->in);
    const char *base = j->w->data;

    for (int o = o0; o < o1; o++)
        j->y[o] = lm_dot_row(j->w->type, base + o * rb, j->x, j->in);
}

ftsb_status lm_matmul(float *y, const float *x, const struct lm_tensor *w,
                      int n, int in, int out, struct lm_scratch *ws)
{
    ftsb_status st = check_product(w, n, in, out, ws, "matmul");

    if (st)
        return st;
    if (n == 0 || out == 0)
        return FTSB_OK;
    if (in == 0) {
        memset(y, 0, (size_t)n * (size_t)out * sizeof *y);
        return FTSB_OK;
    }
    if (ws && ws->reference) {
        lm_matmul_ref(y, x, w, n, in, out);
        return FTSB_OK;
    }
    if (w->type == LM_F32) {
        const float *wf = w->data; /* (O,I) */
        if (n == 1)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, out, in, 1.0f, wf, in,
                        x, 1, 0.0f, y, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in,
                        1.0f, x, in, wf, in, 0.0f, y, out);
        return FTSB_OK;
    }
    if (n == 1) {
        /* decode: a fused typed dot per output, weights read once and
         * never written back as F32 (faster than tile + sgemv, see
         * benchmarks/perf/README.md); split over the host's threads when
         * it lends them, since one core cannot pull DRAM's bandwidth */
        struct dot_job j = {y, x, w, in, out, 1};
        if (ws->par.run && ws->par.n_tasks > 1 && out >= 64) {
            j.parts = ws->par.n_tasks;
            ws->par.run(ws->par.pool, j.parts, dot_rows, &j);
        } else {
            dot_rows(&j, 0);
        }
        return FTSB_OK;
    }
    int tr = tile_rows(ws, in, out);
    if (!tr)
        return ws->err.code;
    for (int r0 = 0; r0 < out; r0 += tr) {
        int nr = out - r0 < tr ? out - r0 : tr;
        convert_tile(ws, w, r0, nr, in); /* (nr,I) */
        /* Y[:, r0:r0+nr] (N,nr) with row stride O */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, nr, in, 1.0f,
                    x, in, ws->tile, in, 0.0f, y + r0, out);
    }
    return FTSB_OK;
}

/* Element (o, i) of w as F32; the reference reads weights one by one. */
static float weight_at(const struct lm_tensor *w, int64_t o, int64_t i)
{
    int64_t cols = w->cols;

    const uint16_t *h = w->data;

    switch (w->type) {
    case LM_F32: return ((const float *)w->data)[o * cols + i];
    case LM_F16: return lm_f16_to_f32(h[o * cols + i]);
    case LM_BF16: return lm_bf16_to_f32(h[o * cols + i]);
    case LM_Q8_0: {
        const struct lm_block_q8_0 *b = (const struct lm_block_q8_0 *)w->data +
            (o * cols + i) / LM_Q8_0_BLOCK;
        return lm_f16_to_f32(b->d) * (float)b->q[i % LM_Q8_0_BLOCK];
    }
    default: return 0.0f;
    }
}

void lm_matmul_ref(float *y, const float *x, const struct lm_tensor *w,
                   int n, int in, int out)
{
    for (int t = 0; t < n; t++) {
        const float *xt = x + (int64_t)t * in; /* (I) */
        for (int o = 0; o < out; o++) {
            double acc = 0.0;
            for (int i = 0; i < in; i++)
                acc += (double)xt[i] * weight_at(w, o, i);
            y[(int64_t)t * out + o] = (float)acc;
        }
    }
}

/* ---- backward ------------------------------------------------------------ */

ftsb_status lm_matmul_dx(float *dx, const float *dy, const struct lm_tensor *w,
                         int n, int in, int out, struct lm_scratch *ws)
{
    ftsb_status st = check_product(w, n, in, out, ws, "matmul_dx");

    if (st)
        return st;
    if (n == 0 || in == 0 || out == 0)
        return FTSB_OK;
    if (ws && ws->reference) {
        lm_matmul_dx_ref(dx, dy, w, n, in, out);
        return FTSB_OK;
    }
    if (w->type == LM_F32) {
        const float *wf = w->data; /* (O,I) */
        if (n == 1)
            cblas_sgemv(CblasRowMajor, CblasTrans, out, in, 1.0f, wf, in, dy,
                        1, 1.0f, dx, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out,
                        1.0f, dy, out, wf, in, 1.0f, dx, in);
        return FTSB_OK;
    }
    int tr = tile_rows(ws, in, out);
    if (!tr)
        return ws->err.code;
    for (int r0 = 0; r0 < out; r0 += tr) {
        int nr = out - r0 < tr ? out - r0 : tr;
        convert_tile(ws, w, r0, nr, in); /* (nr,I) */
        /* dX (N,I) += dY[:, r0:r0+nr] (N,nr; row stride O) . tile */
        if (n == 1)
            cblas_sgemv(CblasRowMajor, CblasTrans, nr, in, 1.0f, ws->tile, in,
                        dy + r0, 1, 1.0f, dx, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, nr,
                        1.0f, dy + r0, out, ws->tile, in, 1.0f, dx, in);
    }
    return FTSB_OK;
}

void lm_matmul_dx_ref(float *dx, const float *dy, const struct lm_tensor *w,
                      int n, int in, int out)
{
    for (int t = 0; t < n; t++) {
        const float *dyt = dy + (int64_t)t * out; /* (O) */
        for (int i = 0; i < in; i++) {
            double acc = 0.0;
            for (int o = 0; o < out; o++)
                acc += (double)dyt[o] * weight_at(w, o, i);
            dx[(int64_t)t * in + i] += (float)acc;
        }
    }
}

void lm_matmul_dw(float *dw, const float *dy, const float *x, int n, int in,
                  int out, struct lm_scratch *ws)
{
    if (n <= 0 || in <= 0 || out <= 0)
        return;
    if (ws && ws->reference) {
        lm_matmul_dw_ref(dw, dy, x, n, in, out);
        return;
    }
    if (n == 1)
        cblas_sger(CblasRowMajor, out, in, 1.0f, dy, 1, x, 1, dw, in);
    else
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f,
                    dy, out, x, in, 1.0f, dw, in);
}

void lm_matmul_dw_ref(float *dw, const float *dy, const float *x, int n,
                      int in, int out)
{
    for (int o = 0; o < out; o++) {
        for (int i = 0; i < in; i++) {
            double acc = 0.0;
            for (int t = 0; t < n; t++)
                acc += (double)dy[(int64_t)t * out + o] * x[(int64_t)t * in + i];
            dw[(int64_t)o * in + i] += (float)acc;
        }
    }
}

/* ---- general F32 product ------------------------------------------------- */

void lm_gemm(float *c, int ldc, const float *a, int lda, int ta,
             const float *b, int ldb, int tb, int m, int n, int k,
             float alpha, float beta, const struct lm_scratch *ws)
{
    if (m <= 0 || n <= 0)
        return;
    if ((ws && ws->reference) || k <= 0) {
        lm_gemm_ref(c, ldc, a, lda, ta, b, ldb, tb, m, n, k, alpha, beta);
        return;
    }
    if (m == 1 && !ta) {
        /* one row: C(1,N) = alpha . a(1,K) . op(B) + beta . C as a
         * matrix-vector product on B (sgemm with one row is ~3x slower) */
        cblas_sgemv(CblasRowMajor, tb ? CblasNoTrans : CblasTrans,
                    tb ? n : k, tb ? k : n, alpha, b, ldb, a, 1, beta, c, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
                beta, c, ldc);
}

void lm_gemm_ref(float *c, int ldc, const float *a, int lda, int ta,
                 const float *b, int ldb, int tb, int m, int n, int k,
                 float alpha, float beta)
{
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int p = 0; p < k; p++) {
                double av = ta ? a[(int64_t)p * lda + i]
                               : a[(int64_t)i * lda + p];
                double bv = tb ? b[(int64_t)j * ldb + p]
                               : b[(int64_t)p * ldb + j];
                acc += av * bv;
            }
            float *cij = c + (int64_t)i * ldc + j;
            *cij = beta == 0.0f ? (float)(alpha * acc)
                                : (float)(alpha * acc + (double)beta * *cij);
        }
    }
}

/* ---- LoRA ------------------------------------------------------------------ */

void lm_lora_forward(float *y, float *xa, const float *x, const float *a,
                     const float *b, float scale, int n, int in, int out,
                     int r, struct lm_scratch *ws)
{
    /* xa (N,R) = X (N,I) . A^T, A (R,I) */
    lm_gemm(xa, r, x, in, 0, a, in, 1, n, r, in, 1.0f, 0.0f, ws);
    /* Y (N,O) += scale . xa (N,R) . B^T, B (O,R) */
    lm_gemm(y, out, xa, r, 0, b, r, 1, n, out, r, scale, 1.0f, ws);
}

void lm_lora_backward(float *da, float *db, float *dx, float *dxa,
                      const float *dy, const float *x, const float *xa,
                      const float *a, const float *b, float scale, int n,
                      int in, int out, int r, struct lm_scratch *ws)
{
    /* dB (O,R) += scale . dY^T (O,N) . xa (N,R) */
    lm_gemm(db, r, dy, out, 1, xa, r, 0, out, r, n, scale, 1.0f, ws);
    /* dxa (N,R) = scale . dY (N,O) . B (O,R) */
    lm_gemm(dxa, r, dy, out, 0, b, r, 0, n, r, out, scale, 0.0f, ws);
    /* dA (R,I) += dxa^T (R,N) . X (N,I) */
    lm_gemm(da, in, dxa, r, 1, x, in, 0, r, in, n, 1.0f, 1.0f, ws);
    /* dX (N,I) += dxa (N,R) . A (R,I) */
    if (dx)
        lm_gemm(dx, in, dxa, r, 0, a, in, 0, n, in, r, 1.0f, 1.0f, ws);
}

/* ---- rows of a weight ---------------------------------------------------- */

ftsb_status lm_tensor_rows(float *out, const struct lm_tensor *w,
                           const int32_t *ids, int n, struct lm_err *err)
{
    int64_t cols = w->cols;
    int64_t rb = lm_type_row_bytes(w->type, cols);

    if (rb < 0)
        return lm_fail(err, FTSB_E_INVALID, "embedding lookup: tensor type "
                       "%d (%s) with %lld columns is not supported",
                       (int)w->type, lm_type_name(w->type), (long long)cols);
    for (int t = 0; t < n; t++) {
        if (ids[t] < 0 || ids[t] >= w->rows)
            return lm_fail(err, FTSB_E_INVALID, "embedding lookup: token id "
                           "%d at position %d is outside the vocabulary "
                           "(0..%lld)", (int)ids[t], t,
                           (long long)w->rows - 1);
        lm_to_f32_row(out + (int64_t)t * cols, w->type,
                      (const char *)w->data + (int64_t)ids[t] * rb, cols);
    }
    return FTSB_OK;
}
