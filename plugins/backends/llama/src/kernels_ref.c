/*
 * kernels_ref.c - the naive references of kernels.h.  They are the
 * definition of each kernel: the formula written as directly as possible,
 * in double, with libm's exp/log/sqrt and no blocking.  The optimised
 * kernels and the BLAS paths are tested against them, and reference mode
 * (FTSB_LM_REFERENCE=1) runs attention through them.  Speed is not a goal,
 * but they stay O(the real algorithm) so a small model can run on them.
 */
#include "kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Letters as in kernels.h. */

void lm_rmsnorm_forward_ref(float *out, float *rstd, const float *x,
                            const float *g, float eps, int n, int c)
{
    for (int t = 0; t < n; t++) {
        const float *xt = x + (int64_t)t * c; /* (C) */
        double ss = 0.0;
        for (int i = 0; i < c; i++)
            ss += (double)xt[i] * xt[i];
        double r = 1.0 / sqrt(ss / c + eps);
        if (rstd)
            rstd[t] = (float)r;
        for (int i = 0; i < c; i++)
            out[(int64_t)t * c + i] = (float)(xt[i] * r * g[i]);
    }
}

void lm_rmsnorm_backward_ref(float *dx, float *dg, const float *dout,
                             const float *x, const float *g,
                             const float *rstd, int n, int c)
{
    for (int t = 0; t < n; t++) {
        const float *xt = x + (int64_t)t * c, *dyt = dout + (int64_t)t * c;
        double r = rstd[t], s = 0.0;
        for (int i = 0; i < c; i++)
            s += (double)dyt[i] * g[i] * xt[i];
        for (int j = 0; j < c; j++) {
            dx[(int64_t)t * c + j] +=
                (float)(r * g[j] * dyt[j] - r * r * r / c * xt[j] * s);
            if (dg)
                dg[j] += (float)((double)dyt[j] * xt[j] * r);
        }
    }
}

static ftsb_status rope_ref(float *x, const int32_t *pos, int pos0, int n,
                            int nh, int d, float freq_base, double sign)
{
    if (d <= 0 || d % 2 || d > LM_ROPE_MAX_DIM)
        return FTSB_E_INVALID;
    for (int t = 0; t < n; t++) {
        double p = pos ? pos[t] : (double)pos0 + t;
        for (int h = 0; h < nh; h++) {
            for (int i = 0; i < d / 2; i++) {
                double th = p * pow((double)freq_base, -2.0 * i / d);
                double c = cos(th), s = sign * sin(th);
                float *xp = x + ((int64_t)t * nh + h) * d + 2 * i;
                double x0 = xp[0], x1 = xp[1];
                xp[0] = (float)(x0 * c - x1 * s);
                xp[1] = (float)(x0 * s + x1 * c);
            }
        }
    }
    return FTSB_OK;
}

ftsb_status lm_rope_forward_ref(float *x, const int32_t *pos, int pos0, int n,
                                int nh, int head_dim, float freq_base)
{
    return rope_ref(x, pos, pos0, n, nh, head_dim, freq_base, 1.0);
}

ftsb_status lm_rope_backward_ref(float *dx, const int32_t *pos, int pos0,
                                 int n, int nh, int head_dim,
                                 float freq_base)
{
    return rope_ref(dx, pos, pos0, n, nh, head_dim, freq_base, -1.0);
}

void lm_softmax_forward_ref(float *y, const float *x, int n, int v)
{
    for (int t = 0; t < n; t++) {
        const float *xt = x + (int64_t)t * v;
        float *yt = y + (int64_t)t * v;
        double mx = -INFINITY, sum = 0.0;
        for (int i = 0; i < v; i++)
            mx = xt[i] > mx ? xt[i] : mx;
        for (int i = 0; i < v; i++)
            sum += exp(xt[i] - mx);
        for (int i = 0; i < v; i++)
            yt[i] = (float)(exp(xt[i] - mx) / sum);
    }
}

void lm_softmax_backward_ref(float *dx, const float *dy, const float *y,
                             int n, int v)
{
    for (int t = 0; t < n; t++) {
        const float *yt = y + (int64_t)t * v, *dyt = dy + (int64_t)t * v;
        double s = 0.0;
        for (int i = 0; i < v; i++)
            s += (double)dyt[i] * yt[i];
        for (int i = 0; i < v; i++)
            dx[(int64_t)t * v + i] += (float)(yt[i] * (dyt[i] - s));
    }
}

ftsb_status lm_attention_forward_ref(float *out, float *att, const float *q,
                                     const float *k, const float *v, int n,
                                     int pos0, int n_head, int n_head_kv,
                                     int head_dim)
{
    if (n < 0 || pos0 < 0 || n_head <= 0 || n_head_kv <= 0 ||
        head_dim <= 0 || n_head % n_head_kv)
        return FTSB_E_INVALID;
    const int D = head_dim, T = pos0 + n, rep = n_head / n_head_kv;
    const int hd = n_head * D, gd = n_head_kv * D;
    const double scale = 1.0 / sqrt((double)D);
    double *p = malloc((size_t)(T > 0 ? T : 1) * sizeof *p); /* (T) */

    if (!p)
        return FTSB_E_NOMEM;
    for (int h = 0; h < n_head; h++) {
        int g = h / rep;
        for (int i = 0; i < n; i++) {
            const float *qi = q + (int64_t)i * hd + (int64_t)h * D; /* (D) */
            int len = pos0 + i + 1;
            double mx = -INFINITY, sum = 0.0;
            for (int t = 0; t < len; t++) {
                const float *kt = k + (int64_t)t * gd + (int64_t)g * D;
                double s = 0.0;
                for (int e = 0; e < D; e++)
                    s += (double)qi[e] * kt[e];
                p[t] = s * scale;
                mx = p[t] > mx ? p[t] : mx;
            }
            for (int t = 0; t < len; t++)
                sum += (p[t] = exp(p[t] - mx));
            for (int t = 0; t < len; t++)
                p[t] /= sum;
            for (int e = 0; e < D; e++) {
                double o = 0.0;
                for (int t = 0; t < len; t++)
                    o += p[t] * v[(int64_t)t * gd + (int64_t)g * D + e];
                out[(int64_t)i * hd + (int64_t)h * D + e] = (float)o;
            }
            if (att)
                for (int t = 0; t < T; t++)
                    att[((int64_t)h * n + i) * T + t] =
                        t < len ? (float)p[t] : 0.0f;
        }
    }
    free(p);
    return FTSB_OK;
}

ftsb_status lm_attention_backward_ref(float *dq, float *dk, float *dv,
                                      const float *dout, const float *q,
                                      const float *k, const float *v,
                                      const float *att, int n, int pos0,
                                      int n_head, int n_head_kv, int head_dim)
{
    if (n < 0 || pos0 < 0 || n_head <= 0 || n_head_kv <= 0 ||
        head_dim <= 0 || n_head % n_head_kv)
        return FTSB_E_INVALID;
    const int D = head_dim, T = pos0 + n, rep = n_head / n_head_kv;
    const int hd = n_head * D, gd = n_head_kv * D;
    const double scale = 1.0 / sqrt((double)D);
    double *dp = malloc((size_t)(T > 0 ? T : 1) * sizeof *dp); /* (T) */

    if (!dp)
        return FTSB_E_NOMEM;
    for (int h = 0; h < n_head; h++) {
        int g = h / rep;
        for (int i = 0; i < n; i++) {
            const float *pi = att + ((int64_t)h * n + i) * T;         /* (T) */
            const float *doi = dout + (int64_t)i * hd + (int64_t)h * D; /* (D) */
            const float *qi = q + (int64_t)i * hd + (int64_t)h * D;
            int len = pos0 + i + 1;
            double s = 0.0;
            for (int t = 0; t < len; t++) {
                const float *vt = v + (int64_t)t * gd + (int64_t)g * D;
                double acc = 0.0;
                for (int e = 0; e < D; e++)
                    acc += (double)doi[e] * vt[e];
                dp[t] = acc;
                s += acc * pi[t];
                /* dV_t += p_t * dO_i */
                for (int e = 0; e < D; e++)
                    dv[(int64_t)t * gd + (int64_t)g * D + e] +=
                        (float)(pi[t] * doi[e]);
            }
            for (int t = 0; t < len; t++) {
                double dsc = pi[t] * (dp[t] - s) * scale; /* d(score) */
                const float *kt = k + (int64_t)t * gd + (int64_t)g * D;
                for (int e = 0; e < D; e++) {
                    dq[(int64_t)i * hd + (int64_t)h * D + e] +=
                        (float)(dsc * kt[e]);
                    dk[(int64_t)t * gd + (int64_t)g * D + e] +=
                        (float)(dsc * qi[e]);
                }
            }
        }
    }
    free(dp);
    return FTSB_OK;
}

void lm_swiglu_forward_ref(float *out, const float *gate, const float *up,
                           int64_t p)
{
    for (int64_t i = 0; i < p; i++) {
        double g = gate[i];
        out[i] = (float)(g / (1.0 + exp(-g)) * up[i]);
    }
}

void lm_swiglu_backward_ref(float *dgate, float *dup, const float *dout,
                            const float *gate, const float *up, int64_t p)
{
    for (int64_t i = 0; i < p; i++) {
        double g = gate[i], s = 1.0 / (1.0 + exp(-g));
        dgate[i] += (float)(dout[i] * (double)up[i] * s * (1.0 + g * (1.0 - s)));
        dup[i] += (float)(dout[i] * g * s);
    }
}

double lm_crossentropy_ref(float *dlogits, float *losses, const float *logits,
                           const int32_t *targets, int n, int v, float dscale)
{
    double total = 0.0;

    for (int t = 0; t < n; t++) {
        const float *xt = logits + (int64_t)t * v;
        float *dt = dlogits ? dlogits + (int64_t)t * v : NULL;
        int32_t y = targets[t];
        if (y >= v)
            return NAN;
        if (y < 0) {
            if (losses)
                losses[t] = 0.0f;
            for (int i = 0; dt && i < v; i++)
                dt[i] = 0.0f;
            continue;
        }
        double xy = xt[y], mx = -INFINITY, sum = 0.0;
        for (int i = 0; i < v; i++)
            mx = xt[i] > mx ? xt[i] : mx;
        for (int i = 0; i < v; i++)
            sum += exp(xt[i] - mx);
        double loss = mx + log(sum) - xy;
        total += loss;
        if (losses)
            losses[t] = (float)loss;
        for (int i = 0; dt && i < v; i++) {
            double pr = exp(xt[i] - mx) / sum; /* xt[i] read before dt[i] */
            dt[i] = (float)(dscale * (pr - (i == y)));
        }
    }
    return total;
}

void lm_adamw_update_ref(float *param, float *m, float *v, const float *grad,
                         int64_t p, const struct lm_adamw *h, int64_t step)
{
    double b1 = h->beta1, b2 = h->beta2;
    double bc1 = 1.0 - pow(b1, (double)step), bc2 = 1.0 - pow(b2, (double)step);

    for (int64_t i = 0; i < p; i++) {
        double g = grad[i];
        double mi = b1 * m[i] + (1.0 - b1) * g;
        double vi = b2 * v[i] + (1.0 - b2) * g * g;
        m[i] = (float)mi;
        v[i] = (float)vi;
        double upd = (mi / bc1) / (sqrt(vi / bc2) + h->eps) +
                     h->weight_decay * (double)param[i];
        param[i] = (float)(param[i] - h->lr * upd);
    }
}
