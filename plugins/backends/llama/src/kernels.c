/*
 * kernels.c - optimised versions of the kernels declared in kernels.h (the
 * references are in kernels_ref.c).  "Optimised" means: float
 * accumulation in LANES independent partial sums, loops blocked by LANES
 * so that GCC's -O2 ("very cheap") vectoriser accepts them, an exp that
 * vectorises (libm's expf does not), and OpenBLAS (through lm_gemm) for
 * the attention products of a prefill.  Everything is single-threaded:
 * the only threads in the engine are OpenBLAS's.  Loops that may run in
 * place (out == in) read a block into a local array before writing it, so
 * aliasing is safe without restrict.
 */
#include "kernels.h"

#include <math.h>
#include <string.h>

#define LANES 16

/* ---- helpers ------------------------------------------------------------- */

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* exp(x) = 2^k * exp(r), k = round(x / ln 2), |r| <= ln2/2, exp(r) by its
 * degree-7 Taylor polynomial (truncation < 1e-8 relative).  Branch-free
 * so that it vectorises; the clamp keeps 2^k a normal float. */
/* c ? a : b as a bit mask: GCC turns a ternary on floats into branches
 * ("control flow in loop") and then does not vectorise; this it does. */
static inline float select_f32(int c, float a, float b)
{
    uint32_t m = 0u - (uint32_t)c;
    return bits_f32((f32_bits(a) & m) | (f32_bits(b) & ~m));
}

static inline float fast_exp(float x)
{
    x = select_f32(x < -87.3f, -87.3f, x); /* NaN compares false: kept */
    x = select_f32(x > 88.3f, 88.3f, x);
    float kf = x * 1.44269504088896341f;
    kf = (kf + 12582912.0f) - 12582912.0f; /* round to nearest (1.5 * 2^23) */
    /* r = x - k ln2, with ln2 split in two for an exact first product */
    float r = x - kf * 0.693359375f;
    r = r - kf * -2.12194440e-4f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t k = (int32_t)kf;
    return p * bits_f32((uint32_t)(k + 127) << 23);
}

float lm_expf(float x)
{
    return fast_exp(x);
}

static float dot(const float *a, const float *b, int n)
{
    float acc[LANES] = {0};
    int i = 0;

    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            acc[j] += a[i + j] * b[i + j];
    float s = 0.0f;
    for (int j = 0; j < LANES; j++)
        s += acc[j];
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* y(n) += a * x(n) */
static void axpy(float *restrict y, float a, const float *restrict x, int n)
{
    int i = 0;

    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            y[i + j] += a * x[i + j];
    for (; i < n; i++)
        y[i] += a * x[i];
}

static float row_max(const float *x, int n)
{
    float m[LANES];
    int i = 0;
    float r = -INFINITY;

    if (n >= LANES) {
        for (int j = 0; j < LANES; j++)
            m[j] = x[j];
        for (i = LANES; i + LANES <= n; i += LANES)
            for (int j = 0; j < LANES; j++)
                m[j] = x[i + j] > m[j] ? x[i + j] : m[j];
        for (int j = 0; j < LANES; j++)
            r = m[j] > r ? m[j] : r;
    }
    for (; i < n; i++)
        r = x[i] > r ? x[i] : r;
    return r;
}

/* y(n) = exp(x - mx) (y may be x, or NULL to only sum); returns the sum. */
static float exp_sum(float *y, const float *x, int n, float mx)
{
    float acc[LANES] = {0};
    int i = 0;

    for (; i + LANES <= n; i += LANES) {
        float t[LANES];
        for (int j = 0; j < LANES; j++)
            t[j] = fast_exp(x[i + j] - mx);
        for (int j = 0; j < LANES; j++)
            acc[j] += t[j];
        if (y)
            memcpy(y + i, t, sizeof t);
    }
    float s = 0.0f;
    for (int j = 0; j < LANES; j++)
        s += acc[j];
    for (; i < n; i++) {
        float t = fast_exp(x[i] - mx);
        s += t;
        if (y)
            y[i] = t;
    }
    return s;
}

/* y(n) = x(n) * s; y may be x. */
static void scale_row(float *y, const float *x, int n, float s)
{
    int i = 0;

    for (; i + LANES <= n; i += LANES) {
        float t[LANES];
        for (int j = 0; j < LANES; j++)
            t[j] = x[i + j] * s;
        memcpy(y + i, t, sizeof t);
    }
    for (; i < n; i++)
        y[i] = x[i] * s;
}

/* Stable softmax of one row; y may be x. */
static void softmax_row(float *y, const float *x, int n)
{
    float mx = row_max(x, n);
    float sum = exp_sum(y, x, n, mx);
    scale_row(y, y, n, 1.0f / sum);
}

void lm_add(float *restrict y, const float *restrict x, int64_t p)
{
    int64_t i = 0;

    for (; i + LANES <= p; i += LANES)
        for (int j = 0; j < LANES; j++)
            y[i + j] += x[i + j];
    for (; i < p; i++)
        y[i] += x[i];
}

/* ---- RMSNorm ------------------------------------------------------------- */

void lm_rmsnorm_forward(float *out, float *rstd, const float *x,
                        const float *g, float eps, int n, int c)
{
    for (int t = 0; t < n; t++) {
        const float *xt = x + (int64_t)t * c; /* (C) */
        float *ot = out + (int64_t)t * c;     /* (C) */
        float r = 1.0f / sqrtf(dot(xt, xt, c) / (float)c + eps);
        int i = 0;
        if (rstd)
            rstd[t] = r;
        for (; i + LANES <= c; i += LANES) {
            float u[LANES];
            for (int j = 0; j < LANES; j++)
                u[j] = xt[i + j] * r * g[i + j];
            memcpy(ot + i, u, sizeof u);
        }
        for (; i < c; i++)
            ot[i] = xt[i] * r * g[i];
    }
}

void lm_rmsnorm_backward(float *dx, float *dg, const float *dout,
                         const float *x, const float *g, const float *rstd,
                         int n, int c)
{
    /* y_i = x_i r g_i, r = (mean(x^2) + eps)^-1/2, dr/dx_j = -r^3 x_j / C:
     * dx_j = r g_j dy_j - r^3 / C * x_j * sum_i(dy_i g_i x_i) */
    for (int t = 0; t < n; t++) {
        const float *xt = x + (int64_t)t * c;     /* (C) */
        const float *dyt = dout + (int64_t)t * c; /* (C) */
        float *dxt = dx + (int64_t)t * c;         /* (C) */
        float r = rstd[t];
        float acc[LANES] = {0};
        int i = 0;
        for (; i + LANES <= c; i += LANES)
            for (int j = 0; j < LANES; j++)
                acc[j] += dyt[i + j] * g[i + j] * xt[i + j];
        float s = 0.0f;
        for (int j = 0; j < LANES; j++)
            s += acc[j];
        for (; i < c; i++)
            s += dyt[i] * g[i] * xt[i];
        float k = r * r * r * s / (float)c;
        for (i = 0; i + LANES <= c; i += LANES)
            for (int j = 0; j < LANES; j++)
                dxt[i + j] += r * g[i + j] * dyt[i + j] - k * xt[i + j];
        for (; i < c; i++)
            dxt[i] += r * g[i] * dyt[i] - k * xt[i];
        if (dg) {
            for (i = 0; i + LANES <= c; i += LANES)
                for (int j = 0; j < LANES; j++)
                    dg[i + j] += dyt[i + j] * xt[i + j] * r;
            for (; i < c; i++)
                dg[i] += dyt[i] * xt[i] * r;
        }
    }
}

/* ---- RoPE ------------------------------------------------------------------ */

/* sign = +1 rotates forward, -1 applies the inverse (backward). */
static ftsb_status rope(float *x, const int32_t *pos, int pos0, int n, int nh,
                        int d, float freq_base, float sign)
{
    float cs[LM_ROPE_MAX_DIM / 2], sn[LM_ROPE_MAX_DIM / 2];
    double inv[LM_ROPE_MAX_DIM / 2];
    int half = d / 2;

    if (d <= 0 || d % 2 || d > LM_ROPE_MAX_DIM)
        return FTSB_E_INVALID;
    for (int i = 0; i < half; i++)
        inv[i] = pow((double)freq_base, -2.0 * i / d);
    for (int t = 0; t < n; t++) {
        double p = pos ? pos[t] : (double)pos0 + t;
        for (int i = 0; i < half; i++) {
            double th = p * inv[i];
            cs[i] = (float)cos(th);
            sn[i] = sign * (float)sin(th);
        }
        for (int h = 0; h < nh; h++) {
            float *xh = x + ((int64_t)t * nh + h) * d; /* (D) */
            for (int i = 0; i < half; i++) {
                float x0 = xh[2 * i], x1 = xh[2 * i + 1];
                xh[2 * i] = x0 * cs[i] - x1 * sn[i];
                xh[2 * i + 1] = x0 * sn[i] + x1 * cs[i];
            }
        }
    }
    return FTSB_OK;
}

ftsb_status lm_rope_forward(float *x, const int32_t *pos, int pos0, int n,
                            int nh, int head_dim, float freq_base)
{
    return rope(x, pos, pos0, n, nh, head_dim, freq_base, 1.0f);
}

ftsb_status lm_rope_backward(float *dx, const int32_t *pos, int pos0, int n,
                             int nh, int head_dim, float freq_base)
{
    return rope(dx, pos, pos0, n, nh, head_dim, freq_base, -1.0f);
}

/* ---- softmax ------------------------------------------------------------- */

void lm_softmax_forward(float *y, const float *x, int n, int v)
{
    for (int t = 0; t < n; t++)
        softmax_row(y + (int64_t)t * v, x + (int64_t)t * v, v);
}

void lm_softmax_backward(float *dx, const float *dy, const float *y, int n,
                         int v)
{
    for (int t = 0; t < n; t++) {
        const float *yt = y + (int64_t)t * v, *dyt = dy + (int64_t)t * v;
        float *dxt = dx + (int64_t)t * v;
        float s = dot(dyt, yt, v);
        for (int i = 0; i < v; i++)
            dxt[i] += yt[i] * (dyt[i] - s);
    }
}

/* ---- attention ------------------------------------------------------------ */

static ftsb_status attn_check(int n, int pos0, int nh, int nkv, int d,
                              struct lm_scratch *ws, const char *what)
{
    if (n < 0 || pos0 < 0 || nh <= 0 || nkv <= 0 || d <= 0 || nh % nkv)
        return lm_fail(ws ? &ws->err : NULL, FTSB_E_INVALID,
                       "%s: bad shape (rows %d, pos0 %d, heads %d, kv heads "
                       "%d, head dim %d)", what, n, pos0, nh, nkv, d);
    if (!ws)
        return FTSB_E_INVALID;
    return FTSB_OK;
}

ftsb_status lm_attention_forward(float *out, float *att, const float *q,
                                 const float *k, const float *v, int n,
                                 int pos0, int n_head, int n_head_kv,
                                 int head_dim, struct lm_scratch *ws)
{
    ftsb_status st = attn_check(n, pos0, n_head, n_head_kv, head_dim, ws,
                                "attention");
    if (st)
        return st;
    if (ws->reference)
        return lm_attention_forward_ref(out, att, q, k, v, n, pos0, n_head,
                                        n_head_kv, head_dim);
    const int D = head_dim, T = pos0 + n, rep = n_head / n_head_kv;
    const int hd = n_head * D, gd = n_head_kv * D; /* row strides of q, k */
    const float scale = 1.0f / sqrtf((float)D);
    float *work = NULL;

    if (n == 0)
        return FTSB_OK;
    if (!att && !(work = lm_scratch_work(ws, (size_t)n * (size_t)T)))
        return ws->err.code;

    if (n == 1) {
        /* decode: one query row per head against the T cached keys */
        for (int h = 0; h < n_head; h++) {
            const float *qh = q + (int64_t)h * D;    /* (D) */
            const float *kg = k + (int64_t)(h / rep) * D; /* (T,D) stride gd */
            const float *vg = v + (int64_t)(h / rep) * D; /* (T,D) stride gd */
            float *s = att ? att + (int64_t)h * T : work; /* (T) */
            float *oh = out + (int64_t)h * D;        /* (D) */
            for (int t = 0; t < T; t++)
                s[t] = scale * dot(qh, kg + (int64_t)t * gd, D);
            softmax_row(s, s, T);
            memset(oh, 0, (size_t)D * sizeof *oh);
            for (int t = 0; t < T; t++)
                axpy(oh, s[t], vg + (int64_t)t * gd, D);
        }
        return FTSB_OK;
    }

    for (int h = 0; h < n_head; h++) {
        int g = h / rep;
        float *p = att ? att + (int64_t)h * n * T : work; /* (N,T) */
        /* scores (N,T) = scale . Q_h (N,D) . K_g^T (D,T) */
        lm_gemm(p, T, q + (int64_t)h * D, hd, 0, k + (int64_t)g * D, gd, 1,
                n, T, D, scale, 0.0f, ws);
        for (int i = 0; i < n; i++) {
            int len = pos0 + i + 1; /* causal: positions 0..pos0+i */
            float *pi = p + (int64_t)i * T;
            softmax_row(pi, pi, len);
            memset(pi + len, 0, (size_t)(T - len) * sizeof *pi);
        }
        /* out_h (N,D) = P (N,T) . V_g (T,D) */
        lm_gemm(out + (int64_t)h * D, hd, p, T, 0, v + (int64_t)g * D, gd, 0,
                n, D, T, 1.0f, 0.0f, ws);
    }
    return FTSB_OK;
}

ftsb_status lm_attention_backward(float *dq, float *dk, float *dv,
                                  const float *dout, const float *q,
                                  const float *k, const float *v,
                                  const float *att, int n, int pos0,
                                  int n_head, int n_head_kv, int head_dim,
                                  struct lm_scratch *ws)
{
    ftsb_status st = attn_check(n, pos0, n_head, n_head_kv, head_dim, ws,
                                "attention backward");
    if (st)
        return st;
    if (!att)
        return lm_fail(&ws->err, FTSB_E_INVALID, "attention backward needs "
                       "the probabilities saved by the forward pass (att)");
    if (ws->reference)
        return lm_attention_backward_ref(dq, dk, dv, dout, q, k, v, att, n,
                                         pos0, n_head, n_head_kv, head_dim);
    const int D = head_dim, T = pos0 + n, rep = n_head / n_head_kv;
    const int hd = n_head * D, gd = n_head_kv * D;
    const float scale = 1.0f / sqrtf((float)D);
    float *ds;

    if (n == 0)
        return FTSB_OK;
    if (!(ds = lm_scratch_work(ws, (size_t)n * (size_t)T)))
        return ws->err.code;
    for (int h = 0; h < n_head; h++) {
        int g = h / rep;
        const float *p = att + (int64_t)h * n * T;  /* (N,T) */
        const float *doh = dout + (int64_t)h * D;   /* (N,D) stride hd */
        /* dP (N,T) = dO_h (N,D) . V_g^T (D,T) */
        lm_gemm(ds, T, doh, hd, 0, v + (int64_t)g * D, gd, 1, n, T, D, 1.0f,
                0.0f, ws);
        /* dV_g (T,D) += P^T (T,N) . dO_h (N,D) */
        lm_gemm(dv + (int64_t)g * D, gd, p, T, 1, doh, hd, 0, T, D, n, 1.0f,
                1.0f, ws);
        /* dS = P * (dP - rowsum(P * dP)); masked entries have P = 0 */
        for (int i = 0; i < n; i++) {
            int len = pos0 + i + 1;
            const float *pi = p + (int64_t)i * T;
            float *di = ds + (int64_t)i * T;
            float s = dot(pi, di, len);
            for (int j = 0; j < len; j++)
                di[j] = pi[j] * (di[j] - s);
            memset(di + len, 0, (size_t)(T - len) * sizeof *di);
        }
        /* dQ_h (N,D) += scale . dS (N,T) . K_g (T,D) */
        lm_gemm(dq + (int64_t)h * D, hd, ds, T, 0, k + (int64_t)g * D, gd, 0,
                n, D, T, scale, 1.0f, ws);
        /* dK_g (T,D) += scale . dS^T (T,N) . Q_h (N,D) */
        lm_gemm(dk + (int64_t)g * D, gd, ds, T, 1, q + (int64_t)h * D, hd, 0,
                T, D, n, scale, 1.0f, ws);
    }
    return FTSB_OK;
}

/* ---- SwiGLU --------------------------------------------------------------- */

void lm_swiglu_forward(float *out, const float *gate, const float *up,
                       int64_t p)
{
    int64_t i = 0;

    for (; i + LANES <= p; i += LANES) {
        float t[LANES];
        for (int j = 0; j < LANES; j++) {
            float g = gate[i + j];
            t[j] = g / (1.0f + fast_exp(-g)) * up[i + j];
        }
        memcpy(out + i, t, sizeof t);
    }
    for (; i < p; i++)
        out[i] = gate[i] / (1.0f + fast_exp(-gate[i])) * up[i];
}

void lm_swiglu_backward(float *restrict dgate, float *restrict dup,
                        const float *restrict dout, const float *restrict gate,
                        const float *restrict up, int64_t p)
{
    /* silu'(g) = s (1 + g (1 - s)), s = sigmoid(g) */
    int64_t i = 0;

    for (; i + LANES <= p; i += LANES)
        for (int j = 0; j < LANES; j++) {
            float g = gate[i + j], s = 1.0f / (1.0f + fast_exp(-g));
            dgate[i + j] += dout[i + j] * up[i + j] * s * (1.0f + g * (1.0f - s));
            dup[i + j] += dout[i + j] * g * s;
        }
    for (; i < p; i++) {
        float g = gate[i], s = 1.0f / (1.0f + fast_exp(-g));
        dgate[i] += dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
        dup[i] += dout[i] * g * s;
    }
}

/* ---- cross-entropy ------------------------------------------------------ */

double lm_crossentropy(float *dlogits, float *losses, const float *logits,
                       const int32_t *targets, int n, int v, float dscale)
{
    double total = 0.0;

    for (int t = 0; t < n; t++) {
        const float *xt = logits + (int64_t)t * v; /* (V) */
        float *dt = dlogits ? dlogits + (int64_t)t * v : NULL;
        int32_t y = targets[t];
        if (y >= v)
            return NAN;
        if (y < 0) { /* masked: no loss, no gradient */
            if (losses)
                losses[t] = 0.0f;
            if (dt)
                memset(dt, 0, (size_t)v * sizeof *dt);
            continue;
        }
        float xy = xt[y]; /* read before dt (maybe xt) is overwritten */
        float mx = row_max(xt, v);
        float sum = exp_sum(dt, xt, v, mx);
        double loss = (double)mx + log((double)sum) - xy;
        total += loss;
        if (losses)
            losses[t] = (float)loss;
        if (dt) {
            scale_row(dt, dt, v, dscale / sum);
            dt[y] -= dscale;
        }
    }
    return total;
}

/* ---- optimizer ------------------------------------------------------------- */

void lm_adamw_update(float *restrict param, float *restrict m,
                     float *restrict v, const float *restrict grad, int64_t p,
                     const struct lm_adamw *h, int64_t step)
{
    const float b1 = h->beta1, b2 = h->beta2, lr = h->lr, eps = h->eps;
    const float wd = h->weight_decay;
    /* 1 / (1 - beta^step), in double: beta^step underflows gracefully */
    const float c1 = (float)(1.0 / (1.0 - pow((double)b1, (double)step)));
    const float c2 = (float)(1.0 / (1.0 - pow((double)b2, (double)step)));

    for (int64_t i = 0; i < p; i++) {
        float g = grad[i];
        float mi = b1 * m[i] + (1.0f - b1) * g;
        float vi = b2 * v[i] + (1.0f - b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        param[i] -= lr * (mi * c1 / (sqrtf(vi * c2) + eps) + wd * param[i]);
    }
}

double lm_sumsq(const float *grad, int64_t p)
{
    double acc[LANES] = {0};
    int64_t i = 0;

    for (; i + LANES <= p; i += LANES)
        for (int j = 0; j < LANES; j++)
            acc[j] += (double)grad[i + j] * grad[i + j];
    double s = 0.0;
    for (int j = 0; j < LANES; j++)
        s += acc[j];
    for (; i < p; i++)
        s += (double)grad[i] * grad[i];
    return s;
}

void lm_scale(float *grad, int64_t p, float s)
{
    int64_t i = 0;

    for (; i + LANES <= p; i += LANES)
        for (int j = 0; j < LANES; j++)
            grad[i + j] *= s;
    for (; i < p; i++)
        grad[i] *= s;
}

double lm_clip_grad_norm(float *const *grads, const int64_t *sizes,
                         int count, float max_norm)
{
    double ss = 0.0;

    for (int i = 0; i < count; i++)
        ss += lm_sumsq(grads[i], sizes[i]);
    double norm = sqrt(ss);
    if (!isfinite(norm) || norm <= max_norm)
        return norm;
    float s = (float)(max_norm / (norm + 1e-6));
    for (int i = 0; i < count; i++)
        lm_scale(grads[i], sizes[i], s);
    return norm;
}
