/*
 * test_matmul.c - the matmul wrapper of the Llama engine (src/matmul.c)
 * against its naive references, for every weight type, for n == 1 (sgemv)
 * and n > 1 (sgemm), with a tiny tile so that products span several
 * tiles and a ragged last tile; the backward products, the general GEMM
 * in all four transpositions, the LoRA helpers (also by finite
 * differences), reference mode and the error paths.  Agreement is
 * measured as NMSE = sum (a - b)^2 / sum b^2 (ggml's test-backend-ops).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fp16.h"
#include "matmul.h"
#include "test.h"

static uint64_t rng = 0x243f6a8885a308d3u;
static float frand(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 11) * 0x1p-53 * 2.0 - 1.0);
}

static void fill(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = frand();
}

static double nmse(const float *a, const float *b, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return den > 0 ? num / den : num;
}

/* A weight (out, in) of the given type built from F32 values. */
struct wbuf {
    struct lm_tensor t;
    void *mem;
};

static void make_weight(struct wbuf *w, int32_t type, const float *f, int out,
                        int in)
{
    size_t n = (size_t)out * in;
    w->t.type = type;
    w->t.rows = out;
    w->t.cols = in;
    w->mem = malloc((size_t)lm_type_row_bytes(type, in) * out);
    switch (type) {
    case LM_F32: memcpy(w->mem, f, n * 4); break;
    case LM_F16: lm_f32_to_f16_row(w->mem, f, (int64_t)n); break;
    case LM_BF16: lm_f32_to_bf16_row(w->mem, f, (int64_t)n); break;
    case LM_Q8_0: lm_f32_to_q8_0_row(w->mem, f, (int64_t)n); break;
    }
    w->t.data = w->mem;
}

static const int32_t types[4] = {LM_F32, LM_F16, LM_BF16, LM_Q8_0};

TEST(forward_all_types)
{
    /* in = 96 (3 Q8_0 blocks), out = 37 (a ragged last tile) */
    enum { IN = 96, OUT = 37, NMAX = 9 };
    static float wf[OUT * IN], x[NMAX * IN], y[NMAX * OUT], yr[NMAX * OUT];
    struct lm_scratch ws;
    const int ns[3] = {1, 2, NMAX};

    fill(wf, OUT * IN);
    fill(x, NMAX * IN);
    /* a tile of 10 rows: 4 tiles per product */
    lm_scratch_init(&ws, 10 * IN * sizeof(float));
    lm_scratch_set_reference(&ws, 0);
    for (int ti = 0; ti < 4; ti++) {
        struct wbuf w;
        make_weight(&w, types[ti], wf, OUT, IN);
        for (int k = 0; k < 3; k++) {
            int n = ns[k];
            for (int i = 0; i < n * OUT; i++)
                y[i] = NAN; /* beta = 0 must not read the output */
            CHECK_INT(lm_matmul(y, x, &w.t, n, IN, OUT, &ws), FTSB_OK);
            lm_matmul_ref(yr, x, &w.t, n, IN, OUT);
            double e = nmse(y, yr, (size_t)n * OUT);
            if (!(e < 1e-10))
                printf("  %s n=%d: nmse %g\n", lm_type_name(types[ti]), n, e);
            CHECK(e < 1e-10);
        }
        free(w.mem);
    }
    lm_scratch_free(&ws);
}

TEST(forward_f32_without_scratch)
{
    enum { IN = 33, OUT = 20, N = 5 };
    static float wf[OUT * IN], x[N * IN], y[N * OUT], yr[N * OUT];
    struct lm_tensor w = {LM_F32, wf, OUT, IN};

    fill(wf, OUT * IN);
    fill(x, N * IN);
    CHECK_INT(lm_matmul(y, x, &w, N, IN, OUT, NULL), FTSB_OK);
    lm_matmul_ref(yr, x, &w, N, IN, OUT);
    CHECK(nmse(y, yr, N * OUT) < 1e-10);
    /* narrow weights need a scratch */
    w.type = LM_F16;
    CHECK_INT(lm_matmul(y, x, &w, N, IN, OUT, NULL), FTSB_E_INVALID);
}

TEST(reference_mode)
{
    enum { IN = 64, OUT = 8, N = 3 };
    static float wf[OUT * IN], x[N * IN], y[N * OUT], yr[N * OUT];
    struct lm_scratch ws;
    struct wbuf w;

    fill(wf, OUT * IN);
    fill(x, N * IN);
    make_weight(&w, LM_BF16, wf, OUT, IN);
    lm_scratch_init(&ws, 0);
    lm_scratch_set_reference(&ws, 1);
    CHECK_INT(lm_matmul(y, x, &w.t, N, IN, OUT, &ws), FTSB_OK);
    lm_matmul_ref(yr, x, &w.t, N, IN, OUT);
    CHECK(memcmp(y, yr, sizeof y) == 0); /* exactly the reference */
    CHECK(ws.tile == NULL);               /* no tile was needed */
    free(w.mem);
    lm_scratch_free(&ws);
}

TEST(backward_dx_all_types)
{
    enum { IN = 64, OUT = 29, NMAX = 6 };
    static float wf[OUT * IN], dy[NMAX * OUT], dx[NMAX * IN], dxr[NMAX * IN];
    struct lm_scratch ws;

    fill(wf, OUT * IN);
    fill(dy, NMAX * OUT);
    lm_scratch_init(&ws, 7 * IN * sizeof(float));
    lm_scratch_set_reference(&ws, 0);
    for (int ti = 0; ti < 4; ti++) {
        struct wbuf w;
        make_weight(&w, types[ti], wf, OUT, IN);
        for (int n = 1; n <= NMAX; n += NMAX - 1) {
            /* accumulates: start both from the same non-zero values */
            fill(dx, (size_t)n * IN);
            memcpy(dxr, dx, (size_t)n * IN * 4);
            CHECK_INT(lm_matmul_dx(dx, dy, &w.t, n, IN, OUT, &ws), FTSB_OK);
            lm_matmul_dx_ref(dxr, dy, &w.t, n, IN, OUT);
            double e = nmse(dx, dxr, (size_t)n * IN);
            if (!(e < 1e-10))
                printf("  %s n=%d: nmse %g\n", lm_type_name(types[ti]), n, e);
            CHECK(e < 1e-10);
        }
        free(w.mem);
    }
    lm_scratch_free(&ws);
}

TEST(backward_dw)
{
    enum { IN = 40, OUT = 24, NMAX = 7 };
    static float dy[NMAX * OUT], x[NMAX * IN], dw[OUT * IN], dwr[OUT * IN];

    fill(dy, NMAX * OUT);
    fill(x, NMAX * IN);
    for (int n = 1; n <= NMAX; n += NMAX - 1) {
        fill(dw, OUT * IN);
        memcpy(dwr, dw, sizeof dw);
        lm_matmul_dw(dw, dy, x, n, IN, OUT, NULL);
        lm_matmul_dw_ref(dwr, dy, x, n, IN, OUT);
        CHECK(nmse(dw, dwr, OUT * IN) < 1e-10);
    }
}

TEST(gemm_transpositions)
{
    enum { M = 7, N = 5, K = 11, LD = 16 };
    static float a[LD * LD], b[LD * LD], c[M * LD], cr[M * LD];

    fill(a, sizeof a / 4);
    fill(b, sizeof b / 4);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int m = 1; m <= M; m += M - 1) {
                fill(c, sizeof c / 4);
                memcpy(cr, c, sizeof c);
                /* strided operands: lda = ldb = LD, ldc = LD */
                lm_gemm(c, LD, a, LD, ta, b, LD, tb, m, N, K, 0.5f, 2.0f, NULL);
                lm_gemm_ref(cr, LD, a, LD, ta, b, LD, tb, m, N, K, 0.5f, 2.0f);
                double e = nmse(c, cr, sizeof c / 4);
                if (!(e < 1e-10))
                    printf("  ta %d tb %d m %d: nmse %g\n", ta, tb, m, e);
                CHECK(e < 1e-10);
                /* beta = 0 ignores NaN in C */
                for (int i = 0; i < M * LD; i++)
                    c[i] = NAN;
                lm_gemm(c, LD, a, LD, ta, b, LD, tb, m, N, K, 1.0f, 0.0f, NULL);
                lm_gemm_ref(cr, LD, a, LD, ta, b, LD, tb, m, N, K, 1.0f, 0.0f);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < N; j++)
                        CHECK(fabsf(c[i * LD + j] - cr[i * LD + j]) < 1e-5f);
            }
}

/* loss = sum(w_o * y_o) for y = x + lora(x) with fixed random w */
static double lora_loss(const float *x, const float *a, const float *b,
                        const float *lw, float scale, int n, int in, int out,
                        int r)
{
    float *y = calloc((size_t)n * out, 4), *xa = malloc((size_t)n * r * 4);
    double l = 0.0;
    lm_lora_forward(y, xa, x, a, b, scale, n, in, out, r, NULL);
    for (int i = 0; i < n * out; i++)
        l += (double)lw[i] * y[i];
    free(y);
    free(xa);
    return l;
}

TEST(lora_forward_backward)
{
    enum { N = 4, IN = 12, OUT = 9, R = 3 };
    static float x[N * IN], a[R * IN], b[OUT * R], lw[N * OUT];
    static float y[N * OUT], yr[N * OUT], xa[N * R], dxa[N * R];
    static float da[R * IN], db[OUT * R], dx[N * IN];
    const float scale = 0.75f;
    struct lm_scratch ws;

    fill(x, N * IN);
    fill(a, R * IN);
    fill(b, OUT * R);
    fill(lw, N * OUT);
    /* forward against the reference route */
    lm_scratch_init(&ws, 0);
    lm_scratch_set_reference(&ws, 0);
    memset(y, 0, sizeof y);
    lm_lora_forward(y, xa, x, a, b, scale, N, IN, OUT, R, &ws);
    lm_scratch_set_reference(&ws, 1);
    memset(yr, 0, sizeof yr);
    lm_lora_forward(yr, xa, x, a, b, scale, N, IN, OUT, R, &ws);
    CHECK(nmse(y, yr, N * OUT) < 1e-10);
    lm_scratch_set_reference(&ws, 0);

    /* analytic gradients of loss = sum(lw * y) (dy = lw) */
    lm_lora_backward(da, db, dx, dxa, lw, x, xa, a, b, scale, N, IN, OUT, R,
                     &ws);
    double worst = 0.0;
    float *params[3] = {a, b, x};
    float *grads[3] = {da, db, dx};
    int sizes[3] = {R * IN, OUT * R, N * IN};
    for (int p = 0; p < 3; p++)
        for (int i = 0; i < sizes[p]; i++) {
            float keep = params[p][i];
            const float h = 1e-2f;
            params[p][i] = keep + h;
            double lp = lora_loss(x, a, b, lw, scale, N, IN, OUT, R);
            params[p][i] = keep - h;
            double lm = lora_loss(x, a, b, lw, scale, N, IN, OUT, R);
            params[p][i] = keep;
            double num = (lp - lm) / (2.0 * h);
            double err = fabs(num - grads[p][i]) / fmax(1.0, fabs(num));
            worst = fmax(worst, err);
        }
    if (!(worst < 1e-3))
        printf("  worst relative gradient error %g\n", worst);
    CHECK(worst < 1e-3);
    lm_scratch_free(&ws);
}

/* a host parallel-for that runs the tasks serially in reverse order */
static int tasks_run;
static void serial_run(void *pool, int n_tasks, lm_task_fn fn, void *arg)
{
    (void)pool;
    for (int i = n_tasks - 1; i >= 0; i--, tasks_run++)
        fn(arg, i);
}

TEST(decode_with_host_parallel_for)
{
    enum { IN = 64, OUT = 101 };
    static float wf[OUT * IN], x[IN], y[OUT], yr[OUT];
    struct lm_parallel par = {serial_run, NULL, 3};
    struct lm_scratch ws;

    fill(wf, OUT * IN);
    fill(x, IN);
    lm_scratch_init(&ws, 0);
    lm_scratch_set_reference(&ws, 0);
    lm_scratch_set_parallel(&ws, &par);
    for (int ti = 1; ti < 4; ti++) {
        struct wbuf w;
        make_weight(&w, types[ti], wf, OUT, IN);
        tasks_run = 0;
        for (int i = 0; i < OUT; i++)
            y[i] = NAN;
        CHECK_INT(lm_matmul(y, x, &w.t, 1, IN, OUT, &ws), FTSB_OK);
        lm_matmul_ref(yr, x, &w.t, 1, IN, OUT);
        CHECK_INT(tasks_run, 3);
        CHECK(nmse(y, yr, OUT) < 1e-10);
        free(w.mem);
    }
    lm_scratch_set_parallel(&ws, NULL);
    CHECK(ws.par.run == NULL);
    lm_scratch_free(&ws);
}

TEST(errors_and_rows)
{
    static float wf[8 * 64], y[64], x[64];
    struct lm_scratch ws;
    struct lm_tensor w = {LM_F32, wf, 8, 64};
    struct lm_err err = {0};

    lm_scratch_init(&ws, 0);
    /* shape mismatch: the weight is (8, 64), asked for (8, 32) */
    CHECK_INT(lm_matmul(y, x, &w, 1, 32, 8, &ws), FTSB_E_INVALID);
    CHECK_CONTAINS(ws.err.msg, "shape (8, 64)");
    w.type = 2; /* Q4_0 */
    CHECK_INT(lm_matmul(y, x, &w, 1, 64, 8, &ws), FTSB_E_INVALID);
    CHECK_CONTAINS(ws.err.msg, "llama-quantize");
    CHECK_INT(lm_tensor_check(&w, 8, 64, "blk.0.attn_q.weight", &err),
              FTSB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "blk.0.attn_q.weight");
    w.type = LM_Q8_0;
    w.cols = 48;
    CHECK_INT(lm_tensor_check(&w, 8, 48, NULL, &err), FTSB_E_FORMAT);
    CHECK_CONTAINS(err.msg, "32-value blocks");
    lm_scratch_free(&ws);

    /* embedding rows of an F16 table */
    {
        static float tab[5 * 6], out[2 * 6];
        struct wbuf e;
        int32_t ids[2] = {4, 1}, bad[1] = {5};
        for (int i = 0; i < 30; i++)
            tab[i] = (float)i * 0.5f;
        make_weight(&e, LM_F16, tab, 5, 6);
        CHECK_INT(lm_tensor_rows(out, &e.t, ids, 2, &err), FTSB_OK);
        CHECK(out[0] == 12.0f && out[5] == 14.5f && out[6] == 3.0f);
        CHECK_INT(lm_tensor_rows(out, &e.t, bad, 1, &err), FTSB_E_INVALID);
        CHECK_CONTAINS(err.msg, "token id 5");
        free(e.mem);
    }
}

int main(void)
{
    RUN(forward_all_types);
    RUN(forward_f32_without_scratch);
    RUN(reference_mode);
    RUN(backward_dx_all_types);
    RUN(backward_dw);
    RUN(gemm_transpositions);
    RUN(lora_forward_backward);
    RUN(decode_with_host_parallel_for);
    RUN(errors_and_rows);
    return test_summary();
}
