/*
 * agree_stats.c - Cohen's kappa and Spearman's rho for the agreement
 * metric (see agree_stats.h for the formulas).  Written from the
 * textbook definitions; the intervals are the usual large-sample ones,
 * which is what a judge-validation table reports beside the paper's
 * "Cohen's kappa 0.539, Spearman 0.84".
 */
#include "agree_stats.h"

#include <math.h>
#include <stdlib.h>

int ag_kappa(const int *x, const int *y, size_t n, double *kappa,
             double *lo, double *hi)
{
    int *codes;
    size_t n_codes = 0, agree = 0;
    double po, pe = 0.0, se;

    *kappa = 0.0;
    *lo = -1.0;
    *hi = 1.0;
    if (n == 0 || !(codes = malloc(2 * n * sizeof *codes)))
        return -1;
    /* The distinct codes of both raters: a handful (2 labels, 5 or 10
     * scores), so a linear search is the fastest. */
    for (size_t i = 0; i < 2 * n; i++) {
        int c = i < n ? x[i] : y[i - n];
        size_t k = 0;

        while (k < n_codes && codes[k] != c)
            k++;
        if (k == n_codes)
            codes[n_codes++] = c;
    }
    for (size_t k = 0; k < n_codes; k++) {
        size_t nx = 0, ny = 0;

        for (size_t i = 0; i < n; i++) {
            nx += x[i] == codes[k];
            ny += y[i] == codes[k];
        }
        pe += ((double)nx / (double)n) * ((double)ny / (double)n);
    }
    free(codes);
    for (size_t i = 0; i < n; i++)
        agree += x[i] == y[i];
    po = (double)agree / (double)n;
    if (pe >= 1.0 - 1e-12)
        return -1;
    *kappa = (po - pe) / (1.0 - pe);
    se = sqrt(po * (1.0 - po) / ((double)n * (1.0 - pe) * (1.0 - pe)));
    *lo = fmax(-1.0, *kappa - AG_Z95 * se);
    *hi = fmin(1.0, *kappa + AG_Z95 * se);
    return 0;
}

struct ranked {
    double v;
    size_t i;
};

static int cmp_ranked(const void *a, const void *b)
{
    const struct ranked *p = a, *q = b;

    if (p->v != q->v)
        return p->v < q->v ? -1 : 1;
    return (p->i > q->i) - (p->i < q->i);
}

/* Ranks 1..n of v, ties sharing the mean of their ranks. */
static int ranks(const double *v, size_t n, double *out)
{
    struct ranked *r = malloc(n * sizeof *r);

    if (!r)
        return -1;
    for (size_t i = 0; i < n; i++)
        r[i] = (struct ranked){v[i], i};
    qsort(r, n, sizeof *r, cmp_ranked);
    for (size_t i = 0; i < n;) {
        size_t j = i;

        while (j + 1 < n && r[j + 1].v == r[i].v)
            j++;
        for (size_t k = i; k <= j; k++)
            out[r[k].i] = (double)(i + j) / 2.0 + 1.0;
        i = j + 1;
    }
    free(r);
    return 0;
}

int ag_spearman(const double *x, const double *y, size_t n, double *rho,
                double *lo, double *hi)
{
    double *rx, *ry, mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
    int rc = -1;

    *rho = 0.0;
    *lo = -1.0;
    *hi = 1.0;
    if (n < 2)
        return -1;
    rx = malloc(n * sizeof *rx);
    ry = malloc(n * sizeof *ry);
    if (!rx || !ry || ranks(x, n, rx) || ranks(y, n, ry))
        goto out;
    for (size_t i = 0; i < n; i++) {
        mx += rx[i];
        my += ry[i];
    }
    mx /= (double)n;
    my /= (double)n;
    for (size_t i = 0; i < n; i++) {
        sxy += (rx[i] - mx) * (ry[i] - my);
        sxx += (rx[i] - mx) * (rx[i] - mx);
        syy += (ry[i] - my) * (ry[i] - my);
    }
    if (sxx <= 0 || syy <= 0)
        goto out;
    *rho = fmax(-1.0, fmin(1.0, sxy / sqrt(sxx * syy)));
    if (n > 3 && fabs(*rho) < 1.0) {
        double z = atanh(*rho), se = sqrt(1.06 / (double)(n - 3));

        *lo = tanh(z - AG_Z95 * se);
        *hi = tanh(z + AG_Z95 * se);
    } else if (n > 3) {
        *lo = *hi = *rho;
    }
    rc = 0;
out:
    free(rx);
    free(ry);
    return rc;
}
