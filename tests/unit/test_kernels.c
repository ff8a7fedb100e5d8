/*
 * test_kernels.c - the kernels of the Llama engine (src/kernels.c) against
 * their naive references (src/kernels_ref.c) by normalised error (NMSE),
 * and the backward kernels against central finite differences of the
 * forward ones: RMSNorm, RoPE, softmax, attention (prefill with and
 * without a cached prefix, GQA, and the decode path), SwiGLU and
 * cross-entropy; then AdamW, gradient clipping and the vectorised exp.
 * The loss of every gradient check is L = sum(w * out) with fixed random
 * w, so dL/dout = w; shapes are tiny so the whole file runs in well under
 * a second.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "matmul.h"
#include "test.h"

static uint64_t rng = 0x13198a2e03707344u;
static float frand(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 11) * 0x1p-53 * 2.0 - 1.0);
}

static float *rnd(size_t n, float scale)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = frand() * scale;
    return x;
}

static float *zeros(size_t n)
{
    return calloc(n, sizeof(float));
}

static float *copy(const float *x, size_t n)
{
    float *y = malloc(n * sizeof *y);
    memcpy(y, x, n * sizeof *y);
    return y;
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

static double wsum(const float *w, const float *y, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)w[i] * y[i];
    return s;
}

/* A forward pass seen as a function of one input buffer: loss(ctx). */
typedef double (*loss_fn)(void *ctx);

/* Compares the analytic gradient grad(P) of loss with respect to x(P)
 * with central differences; returns the NMSE of the two. */
static double fd_check(loss_fn f, void *ctx, float *x, const float *grad,
                       size_t p, float h)
{
    float *num = malloc(p * sizeof *num);
    for (size_t i = 0; i < p; i++) {
        float keep = x[i];
        x[i] = keep + h;
        double lp = f(ctx);
        x[i] = keep - h;
        double lm = f(ctx);
        x[i] = keep;
        num[i] = (float)((lp - lm) / (2.0 * h));
    }
    double e = nmse(grad, num, p);
    free(num);
    return e;
}

#define CHECK_NMSE(got, want, n, tol)                                      \
    do {                                                                   \
        double e_ = nmse((got), (want), (n));                              \
        if (!(e_ < (tol)))                                                 \
            printf("  %s:%d: nmse(%s, %s) = %g >= %g\n", __FILE__,         \
                   __LINE__, #got, #want, e_, (double)(tol));              \
        test_failed_ |= !(e_ < (tol));                                     \
    } while (0)

#define CHECK_FD(f, ctx, x, grad, p, h)                                    \
    do {                                                                   \
        double e_ = fd_check((f), (ctx), (x), (grad), (p), (h));           \
        if (!(e_ < 1e-5))                                                  \
            printf("  %s:%d: finite differences of %s: nmse %g\n",         \
                   __FILE__, __LINE__, #grad, e_);                         \
        test_failed_ |= !(e_ < 1e-5);                                      \
    } while (0)

/* ---- RMSNorm --------------------------------------------------------------- */

struct rms_ctx {
    float *x, *g, *w, *out;
    int n, c;
};

static double rms_loss(void *p)
{
    struct rms_ctx *k = p;
    lm_rmsnorm_forward(k->out, NULL, k->x, k->g, 1e-5f, k->n, k->c);
    return wsum(k->w, k->out, (size_t)k->n * k->c);
}

TEST(rmsnorm)
{
    enum { N = 3, C = 37 };
    struct rms_ctx k = {rnd(N * C, 2.0f), rnd(C, 1.0f), rnd(N * C, 1.0f),
                        zeros(N * C), N, C};
    float *out = zeros(N * C), *outr = zeros(N * C);
    float rstd[N], rstdr[N];
    float *dx = rnd(N * C, 1.0f), *dxr = copy(dx, N * C);
    float *dg = rnd(C, 1.0f), *dgr = copy(dg, C);

    lm_rmsnorm_forward(out, rstd, k.x, k.g, 1e-5f, N, C);
    lm_rmsnorm_forward_ref(outr, rstdr, k.x, k.g, 1e-5f, N, C);
    CHECK_NMSE(out, outr, N * C, 1e-12);
    CHECK_NMSE(rstd, rstdr, N, 1e-12);
    /* in place */
    memcpy(out, k.x, sizeof(float) * N * C);
    lm_rmsnorm_forward(out, NULL, out, k.g, 1e-5f, N, C);
    CHECK_NMSE(out, outr, N * C, 1e-12);

    lm_rmsnorm_backward(dx, dg, k.w, k.x, k.g, rstd, N, C);
    lm_rmsnorm_backward_ref(dxr, dgr, k.w, k.x, k.g, rstdr, N, C);
    CHECK_NMSE(dx, dxr, N * C, 1e-10);
    CHECK_NMSE(dg, dgr, C, 1e-10);

    /* finite differences from zero-initialised gradients */
    memset(dx, 0, sizeof(float) * N * C);
    memset(dg, 0, sizeof(float) * C);
    lm_rmsnorm_backward(dx, dg, k.w, k.x, k.g, rstd, N, C);
    CHECK_FD(rms_loss, &k, k.x, dx, N * C, 1e-2f);
    CHECK_FD(rms_loss, &k, k.g, dg, C, 1e-2f);
    free(k.x), free(k.g), free(k.w), free(k.out), free(out), free(outr);
    free(dx), free(dxr), free(dg), free(dgr);
}

/* ---- RoPE ------------------------------------------------------------------ */

struct rope_ctx {
    float *x, *w, *y;
    int n, nh, d, pos0;
};

static double rope_loss(void *p)
{
    struct rope_ctx *k = p;
    size_t sz = (size_t)k->n * k->nh * k->d;
    memcpy(k->y, k->x, sz * sizeof(float));
    lm_rope_forward(k->y, NULL, k->pos0, k->n, k->nh, k->d, 10000.0f);
    return wsum(k->w, k->y, sz);
}

TEST(rope)
{
    enum { N = 4, H = 3, D = 16, SZ = N * H * D };
    float *x = rnd(SZ, 1.0f), *a = copy(x, SZ), *b = copy(x, SZ);
    int32_t pos[N] = {5, 100, 2047, 7};

    /* explicit positions and pos0 */
    CHECK_INT(lm_rope_forward(a, pos, 0, N, H, D, 10000.0f), FTSB_OK);
    CHECK_INT(lm_rope_forward_ref(b, pos, 0, N, H, D, 10000.0f), FTSB_OK);
    CHECK_NMSE(a, b, SZ, 1e-12);
    memcpy(a, x, sizeof(float) * SZ);
    memcpy(b, x, sizeof(float) * SZ);
    lm_rope_forward(a, NULL, 3, N, H, D, 500000.0f);
    lm_rope_forward_ref(b, NULL, 3, N, H, D, 500000.0f);
    CHECK_NMSE(a, b, SZ, 1e-12);
    /* position 0 is the identity; pair (0,1) of position 1 turns by 1 rad */
    memcpy(a, x, sizeof(float) * SZ);
    lm_rope_forward(a, NULL, 0, 1, H, D, 10000.0f);
    CHECK(memcmp(a, x, sizeof(float) * H * D) == 0);
    {
        float v[2] = {1.0f, 0.0f};
        lm_rope_forward(v, NULL, 1, 1, 1, 2, 10000.0f);
        CHECK(fabsf(v[0] - cosf(1.0f)) < 1e-6f && fabsf(v[1] - sinf(1.0f)) < 1e-6f);
    }
    /* backward undoes forward */
    memcpy(a, x, sizeof(float) * SZ);
    lm_rope_forward(a, pos, 0, N, H, D, 10000.0f);
    lm_rope_backward(a, pos, 0, N, H, D, 10000.0f);
    CHECK_NMSE(a, x, SZ, 1e-12);
    /* odd or oversized head dims are refused */
    CHECK_INT(lm_rope_forward(a, NULL, 0, 1, 1, 15, 10000.0f), FTSB_E_INVALID);
    CHECK_INT(lm_rope_forward(a, NULL, 0, 1, 1, 2048, 10000.0f), FTSB_E_INVALID);

    /* gradient by finite differences, with a prefix offset */
    struct rope_ctx k = {x, rnd(SZ, 1.0f), zeros(SZ), N, H, D, 11};
    float *g = copy(k.w, SZ), *gr = copy(k.w, SZ);
    lm_rope_backward(g, NULL, 11, N, H, D, 10000.0f);
    lm_rope_backward_ref(gr, NULL, 11, N, H, D, 10000.0f);
    CHECK_NMSE(g, gr, SZ, 1e-12);
    CHECK_FD(rope_loss, &k, x, g, SZ, 1e-2f);
    free(x), free(a), free(b), free(k.w), free(k.y), free(g), free(gr);
}

/* ---- softmax --------------------------------------------------------------- */

struct sm_ctx {
    float *x, *w, *y;
    int n, v;
};

static double sm_loss(void *p)
{
    struct sm_ctx *k = p;
    lm_softmax_forward(k->y, k->x, k->n, k->v);
    return wsum(k->w, k->y, (size_t)k->n * k->v);
}

TEST(softmax)
{
    enum { N = 3, V = 45 };
    struct sm_ctx k = {rnd(N * V, 4.0f), rnd(N * V, 1.0f), zeros(N * V), N, V};
    float *y = zeros(N * V), *yr = zeros(N * V);
    float *dx = zeros(N * V), *dxr = zeros(N * V);

    k.x[3] = 1000.0f; /* stability: a huge logit must not overflow */
    lm_softmax_forward(y, k.x, N, V);
    lm_softmax_forward_ref(yr, k.x, N, V);
    CHECK_NMSE(y, yr, N * V, 1e-12);
    CHECK(fabsf(y[3] - 1.0f) < 1e-6f);
    lm_softmax_backward(dx, k.w, y, N, V);
    lm_softmax_backward_ref(dxr, k.w, yr, N, V);
    CHECK_NMSE(dx, dxr, N * V, 1e-10);
    k.x[3] = 0.5f;
    lm_softmax_forward(y, k.x, N, V);
    memset(dx, 0, sizeof(float) * N * V);
    lm_softmax_backward(dx, k.w, y, N, V);
    CHECK_FD(sm_loss, &k, k.x, dx, N * V, 1e-2f);
    free(k.x), free(k.w), free(k.y), free(y), free(yr), free(dx), free(dxr);
}

/* ---- attention --------------------------------------------------------------- */

struct attn_ctx {
    float *q, *k, *v, *w, *out;
    int n, pos0, h, g, d;
    struct lm_scratch *ws;
};

static double attn_loss(void *p)
{
    struct attn_ctx *c = p;
    lm_attention_forward(c->out, NULL, c->q, c->k, c->v, c->n, c->pos0, c->h,
                         c->g, c->d, c->ws);
    return wsum(c->w, c->out, (size_t)c->n * c->h * c->d);
}

static void attention_case(int n, int pos0, int nh, int nkv, int d)
{
    const int T = pos0 + n;
    const size_t qs = (size_t)n * nh * d, ks = (size_t)T * nkv * d;
    const size_t as = (size_t)nh * n * T;
    struct lm_scratch ws;
    struct attn_ctx c = {rnd(qs, 1.0f), rnd(ks, 1.0f), rnd(ks, 1.0f),
                         rnd(qs, 1.0f), zeros(qs), n, pos0, nh, nkv, d, &ws};
    float *out = zeros(qs), *outr = zeros(qs), *att = zeros(as),
          *attr = zeros(as);
    float *dq = zeros(qs), *dk = zeros(ks), *dv = zeros(ks);
    float *dqr = zeros(qs), *dkr = zeros(ks), *dvr = zeros(ks);

    lm_scratch_init(&ws, 0);
    lm_scratch_set_reference(&ws, 0);
    CHECK_INT(lm_attention_forward(out, att, c.q, c.k, c.v, n, pos0, nh, nkv,
                                   d, &ws), FTSB_OK);
    CHECK_INT(lm_attention_forward_ref(outr, attr, c.q, c.k, c.v, n, pos0, nh,
                                       nkv, d), FTSB_OK);
    CHECK_NMSE(out, outr, qs, 1e-11);
    CHECK_NMSE(att, attr, as, 1e-11);
    /* without att (scores in the scratch) */
    CHECK_INT(lm_attention_forward(out, NULL, c.q, c.k, c.v, n, pos0, nh, nkv,
                                   d, &ws), FTSB_OK);
    CHECK_NMSE(out, outr, qs, 1e-11);

    CHECK_INT(lm_attention_backward(dq, dk, dv, c.w, c.q, c.k, c.v, att, n,
                                    pos0, nh, nkv, d, &ws), FTSB_OK);
    CHECK_INT(lm_attention_backward_ref(dqr, dkr, dvr, c.w, c.q, c.k, c.v,
                                        attr, n, pos0, nh, nkv, d), FTSB_OK);
    CHECK_NMSE(dq, dqr, qs, 1e-10);
    CHECK_NMSE(dk, dkr, ks, 1e-10);
    CHECK_NMSE(dv, dvr, ks, 1e-10);
    CHECK_FD(attn_loss, &c, c.q, dq, qs, 1e-2f);
    CHECK_FD(attn_loss, &c, c.k, dk, ks, 1e-2f);
    CHECK_FD(attn_loss, &c, c.v, dv, ks, 1e-2f);

    /* decode: the last row alone, against the cache, equals the prefill's
     * last row */
    {
        float *o1 = zeros((size_t)nh * d);
        CHECK_INT(lm_attention_forward(o1, NULL, c.q + (qs - (size_t)nh * d),
                                       c.k, c.v, 1, T - 1, nh, nkv, d, &ws),
                  FTSB_OK);
        CHECK_NMSE(o1, outr + (qs - (size_t)nh * d), (size_t)nh * d, 1e-11);
        free(o1);
    }
    /* reference mode runs the reference exactly */
    lm_scratch_set_reference(&ws, 1);
    lm_attention_forward(out, NULL, c.q, c.k, c.v, n, pos0, nh, nkv, d, &ws);
    CHECK(memcmp(out, outr, qs * sizeof(float)) == 0);

    lm_scratch_free(&ws);
    free(c.q), free(c.k), free(c.v), free(c.w), free(c.out);
    free(out), free(outr), free(att), free(attr);
    free(dq), free(dk), free(dv), free(dqr), free(dkr), free(dvr);
}

TEST(attention)
{
    attention_case(5, 0, 4, 2, 8);  /* training shape, GQA 2:1 */
    attention_case(3, 4, 4, 1, 8);  /* prefill after a cached prefix, MQA */
    attention_case(6, 0, 2, 2, 16); /* plain multi-head */
}

TEST(attention_errors)
{
    struct lm_scratch ws;
    float x[64] = {0};

    lm_scratch_init(&ws, 0);
    CHECK_INT(lm_attention_forward(x, NULL, x, x, x, 1, 0, 3, 2, 4, &ws),
              FTSB_E_INVALID); /* 3 heads over 2 kv heads */
    CHECK_CONTAINS(ws.err.msg, "kv heads 2");
    CHECK_INT(lm_attention_forward(x, NULL, x, x, x, 1, 0, 2, 2, 4, NULL),
              FTSB_E_INVALID);
    CHECK_INT(lm_attention_backward(x, x, x, x, x, x, x, NULL, 1, 0, 2, 2, 4,
                                    &ws), FTSB_E_INVALID);
    CHECK_CONTAINS(ws.err.msg, "probabilities");
    lm_scratch_free(&ws);
}

/* ---- SwiGLU ------------------------------------------------------------------ */

struct glu_ctx {
    float *gate, *up, *w, *out;
    int p;
};

static double glu_loss(void *p)
{
    struct glu_ctx *k = p;
    lm_swiglu_forward(k->out, k->gate, k->up, k->p);
    return wsum(k->w, k->out, (size_t)k->p);
}

TEST(swiglu)
{
    enum { P = 53 };
    struct glu_ctx k = {rnd(P, 6.0f), rnd(P, 1.0f), rnd(P, 1.0f), zeros(P), P};
    float *out = zeros(P), *outr = zeros(P);
    float *dg = rnd(P, 1.0f), *du = rnd(P, 1.0f);
    float *dgr = copy(dg, P), *dur = copy(du, P);

    k.gate[0] = -100.0f, k.gate[1] = 100.0f; /* saturation */
    lm_swiglu_forward(out, k.gate, k.up, P);
    lm_swiglu_forward_ref(outr, k.gate, k.up, P);
    CHECK_NMSE(out, outr, P, 1e-12);
    CHECK(out[0] == 0.0f || fabsf(out[0]) < 1e-30f);
    lm_swiglu_backward(dg, du, k.w, k.gate, k.up, P);
    lm_swiglu_backward_ref(dgr, dur, k.w, k.gate, k.up, P);
    CHECK_NMSE(dg, dgr, P, 1e-11);
    CHECK_NMSE(du, dur, P, 1e-11);
    k.gate[0] = -2.0f, k.gate[1] = 3.0f;
    memset(dg, 0, sizeof(float) * P);
    memset(du, 0, sizeof(float) * P);
    lm_swiglu_backward(dg, du, k.w, k.gate, k.up, P);
    CHECK_FD(glu_loss, &k, k.gate, dg, P, 1e-2f);
    CHECK_FD(glu_loss, &k, k.up, du, P, 1e-2f);
    free(k.gate), free(k.up), free(k.w), free(k.out), free(out), free(outr);
    free(dg), free(du), free(dgr), free(dur);
}

/* ---- cross-entropy ----------------------------------------------------------- */

struct ce_ctx {
    float *logits;
    int32_t *targets;
    int n, v;
};

static double ce_loss(void *p)
{
    struct ce_ctx *k = p;
    return lm_crossentropy(NULL, NULL, k->logits, k->targets, k->n, k->v, 1.0f);
}

TEST(crossentropy)
{
    enum { N = 4, V = 70 };
    int32_t targets[N] = {3, -1, 69, 0}; /* row 1 is masked */
    struct ce_ctx k = {rnd(N * V, 5.0f), targets, N, V};
    float *dl = zeros(N * V), *dlr = zeros(N * V);
    float losses[N], lossesr[N];

    double s = lm_crossentropy(dl, losses, k.logits, targets, N, V, 0.25f);
    double sr = lm_crossentropy_ref(dlr, lossesr, k.logits, targets, N, V, 0.25f);
    CHECK(fabs(s - sr) < 1e-5 * fabs(sr));
    CHECK_NMSE(losses, lossesr, N, 1e-12);
    CHECK_NMSE(dl, dlr, N * V, 1e-11);
    CHECK(losses[1] == 0.0f && dl[V + 5] == 0.0f);
    /* uniform logits: loss ln V */
    {
        float u[V] = {0};
        int32_t t = 7;
        CHECK(fabs(lm_crossentropy(NULL, NULL, u, &t, 1, V, 1.0f) - log(V)) < 1e-5);
    }
    /* in place: dlogits over the logits */
    {
        float *in = copy(k.logits, N * V);
        double s2 = lm_crossentropy(in, NULL, in, targets, N, V, 0.25f);
        CHECK(s2 == s);
        CHECK(memcmp(in, dl, sizeof(float) * N * V) == 0);
        free(in);
    }
    /* a target outside the vocabulary is a loud NaN */
    {
        int32_t badt[1] = {V};
        CHECK(isnan(lm_crossentropy(NULL, NULL, k.logits, badt, 1, V, 1.0f)));
    }
    lm_crossentropy(dl, NULL, k.logits, targets, N, V, 1.0f);
    CHECK_FD(ce_loss, &k, k.logits, dl, N * V, 1e-2f);
    free(k.logits), free(dl), free(dlr);
}

/* ---- optimizer ------------------------------------------------------------------ */

TEST(adamw)
{
    enum { P = 77 };
    struct lm_adamw h = {1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f};
    float *p = rnd(P, 1.0f), *pr = copy(p, P);
    float *m = zeros(P), *v = zeros(P), *mr = zeros(P), *vr = zeros(P);

    for (int step = 1; step <= 5; step++) {
        float *g = rnd(P, 1.0f);
        lm_adamw_update(p, m, v, g, P, &h, step);
        lm_adamw_update_ref(pr, mr, vr, g, P, &h, step);
        free(g);
    }
    CHECK_NMSE(p, pr, P, 1e-12);
    CHECK_NMSE(m, mr, P, 1e-12);
    CHECK_NMSE(v, vr, P, 1e-12);
    /* step 1 with no decay moves each weight by lr * sign(g) (bias
     * correction makes mhat / sqrt(vhat) = g / |g|) */
    {
        float w = 1.0f, m1 = 0.0f, v1 = 0.0f, g = -0.003f;
        struct lm_adamw h1 = {0.5f, 0.9f, 0.95f, 1e-12f, 0.0f};
        lm_adamw_update(&w, &m1, &v1, &g, 1, &h1, 1);
        CHECK(fabsf(w - 1.5f) < 1e-5f);
    }
    free(p), free(pr), free(m), free(v), free(mr), free(vr);
}

TEST(clip_grad_norm)
{
    float a[3] = {3.0f, 0.0f, 0.0f}, b[1] = {4.0f};
    float *bufs[2] = {a, b};
    int64_t sizes[2] = {3, 1};

    CHECK(fabs(lm_clip_grad_norm(bufs, sizes, 2, 10.0f) - 5.0) < 1e-12);
    CHECK(a[0] == 3.0f && b[0] == 4.0f); /* under the limit: untouched */
    CHECK(fabs(lm_clip_grad_norm(bufs, sizes, 2, 1.0f) - 5.0) < 1e-12);
    CHECK(fabs(sqrt(lm_sumsq(a, 3) + lm_sumsq(b, 1)) - 1.0) < 1e-6);
    b[0] = NAN;
    CHECK(isnan(lm_clip_grad_norm(bufs, sizes, 2, 1.0f)));
}

TEST(expf_accuracy)
{
    double worst = 0.0;

    for (int i = 0; i <= 200000; i++) {
        float x = -87.0f + 175.0f * (float)i / 200000.0f;
        double e = fabs((double)lm_expf(x) / exp((double)x) - 1.0);
        worst = e > worst ? e : worst;
    }
    if (!(worst < 5e-7))
        printf("  worst relative error %g\n", worst);
    CHECK(worst < 5e-7);
    CHECK(isnan(lm_expf(NAN)));
    CHECK(lm_expf(-1000.0f) < 1e-37f && lm_expf(-1000.0f) >= 0.0f);
    CHECK(isfinite(lm_expf(1000.0f)));
    CHECK(lm_expf(0.0f) == 1.0f);
}

TEST(add)
{
    float y[19], x[19];
    for (int i = 0; i < 19; i++)
        y[i] = (float)i, x[i] = 1.0f;
    lm_add(y, x, 19);
    CHECK(y[0] == 1.0f && y[18] == 19.0f);
}

int main(void)
{
    RUN(rmsnorm);
    RUN(rope);
    RUN(softmax);
    RUN(attention);
    RUN(attention_errors);
    RUN(swiglu);
    RUN(crossentropy);
    RUN(adamw);
    RUN(clip_grad_norm);
    RUN(expf_accuracy);
    RUN(add);
    return test_summary();
}
