/*
 * stats.c - the interval arithmetic of the refusal metrics: Wilson score
 * intervals for rates, the Student t quantile and a seeded percentile
 * bootstrap for intervals on a mean.
 * Written from the textbook formulas (Wilson 1927; Abramowitz & Stegun
 * 26.7.3-26.7.5) so the library needs only libm.  Rates use Wilson rather
 * than the normal ("Wald") interval because benchmark categories are
 * small (30 prompts in HEx-PHI) and the rates often sit at 0 or 1, where
 * the Wald interval collapses to a point.
 */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>

/* C11 does not promise M_PI. */
#define MX_PI 3.14159265358979323846

/*
 * Wilson: with p = k/n and z the normal quantile,
 *   centre = (p + z^2/(2n)) / (1 + z^2/n)
 *   half   = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/(4n^2))
 * and the interval is [centre - half, centre + half], which always lies
 * in [0, 1].  At k = 0 (or k = n) the lower (upper) bound is 0 (1) in
 * exact arithmetic; we set it exactly rather than keep a rounding error
 * of 1e-17 that would print as "-0.0000".
 */
void mx_wilson(int64_t k, int64_t n, double *lo, double *hi)
{
    double nn, p, z2, den, centre, half;

    if (n <= 0) {
        *lo = 0.0;
        *hi = 1.0;
        return;
    }
    nn = (double)n;
    p = (double)k / nn;
    z2 = MX_Z95 * MX_Z95;
    den = 1.0 + z2 / nn;
    centre = (p + z2 / (2.0 * nn)) / den;
    half = MX_Z95 / den * sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn));
    *lo = k <= 0 ? 0.0 : fmax(0.0, centre - half);
    *hi = k >= n ? 1.0 : fmin(1.0, centre + half);
}

/*
 * P(|T| <= t) for Student's t with an integer nu >= 1 degrees of freedom,
 * by the finite series of Abramowitz & Stegun 26.7.3 (nu odd) and 26.7.4
 * (nu even), with theta = atan(t / sqrt(nu)):
 *   nu = 1:    2 theta / pi
 *   nu odd:    2/pi (theta + sin theta (cos theta + 2/3 cos^3 theta + ...
 *              + (2*4*...*(nu-3))/(3*5*...*(nu-2)) cos^(nu-2) theta))
 *   nu even:   sin theta (1 + 1/2 cos^2 theta + (1*3)/(2*4) cos^4 theta
 *              + ... + (1*3*...*(nu-3))/(2*4*...*(nu-2)) cos^(nu-2) theta)
 * Every term is positive, so the sums are well conditioned.  Cost: nu/2
 * terms.
 */
static double t_central(double t, int64_t nu)
{
    double th = atan(t / sqrt((double)nu));
    double c = cos(th), s = sin(th), c2 = c * c, sum = 0.0, term;

    if (nu == 1)
        return 2.0 * th / MX_PI;
    if (nu % 2 == 1) {
        term = c;
        for (int64_t k = 1; k <= nu - 2; k += 2) {
            sum += term;
            term *= c2 * (double)(k + 1) / (double)(k + 2);
        }
        return 2.0 / MX_PI * (th + s * sum);
    }
    term = 1.0;
    for (int64_t k = 0; k <= nu - 2; k += 2) {
        sum += term;
        term *= c2 * (double)(k + 1) / (double)(k + 2);
    }
    return s * sum;
}

/*
 * The quantile inverts t_central by bisection: the function rises
 * monotonically in t, and 200 halvings of a bracket of at most a few
 * dozen leave it exact to the last bit.  Beyond nu = 1000 the
 * Cornish-Fisher expansion of A&S 26.7.5 around the normal quantile is
 * already exact to about 1e-13, and saves the O(nu) series.
 */
double mx_t975(int64_t nu)
{
    const double z = MX_Z95, target = 0.95;
    double lo = 0.0, hi = 16.0;

    if (nu < 1)
        nu = 1;
    if (nu > 1000) {
        double v = (double)nu, z2 = z * z, z3 = z2 * z, z5 = z3 * z2,
               z7 = z5 * z2, z9 = z7 * z2;
        double g1 = (z3 + z) / 4.0;
        double g2 = (5.0 * z5 + 16.0 * z3 + 3.0 * z) / 96.0;
        double g3 = (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / 384.0;
        double g4 = (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 -
                     945.0 * z) / 92160.0;
        return z + g1 / v + g2 / (v * v) + g3 / (v * v * v) +
               g4 / (v * v * v * v);
    }
    while (t_central(hi, nu) < target)  /* nu = 1 needs 12.7 */
        hi *= 2.0;
    for (int i = 0; i < 200 && hi - lo > 0.0; i++) {
        double mid = 0.5 * (lo + hi);

        if (mid <= lo || mid >= hi)
            break;
        if (t_central(mid, nu) < target)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* ---- the bootstrap ---------------------------------------------------- */

uint64_t mx_splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

size_t mx_rand_index(uint64_t r, size_t n)
{
    return (size_t)(((r >> 32) * (uint64_t)n) >> 32);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Hyndman and Fan's type 7 (R's default): h = (m - 1) p, interpolated
 * between the order statistics floor(h) and floor(h) + 1. */
static double quantile7(const double *sorted, size_t m, double p)
{
    double h = (double)(m - 1) * p;
    size_t k = (size_t)floor(h);

    if (k + 1 >= m)
        return sorted[m - 1];
    return sorted[k] + (h - (double)k) * (sorted[k + 1] - sorted[k]);
}

/*
 * Each resample sums n values picked in order from the stream and divides
 * by n; the stream starts afresh at seed for every call, so a group's
 * interval depends only on its values, the seed and the resample count,
 * never on the groups computed before it.
 */
int mx_bootstrap_mean(const double *xs, size_t n, int64_t resamples,
                      uint64_t seed, double *lo, double *hi)
{
    size_t m = resamples > 0 ? (size_t)resamples : 1;
    double *means = malloc(m * sizeof *means);
    uint64_t state = seed;

    if (!means)
        return -1;
    for (size_t b = 0; b < m; b++) {
        double sum = 0.0;

        for (size_t k = 0; k < n; k++)
            sum += xs[mx_rand_index(mx_splitmix64(&state), n)];
        means[b] = sum / (double)n;
    }
    qsort(means, m, sizeof *means, cmp_double);
    *lo = quantile7(means, m, 0.025);
    *hi = quantile7(means, m, 0.975);
    free(means);
    return 0;
}
