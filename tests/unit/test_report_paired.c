/*
 * test_report_paired.c - the statistics of the reports' paired tests.
 * McNemar: exact binomial p-values below 25 discordant pairs (b = 1, c =
 * 5: 2 * (1 + 6) / 64 = 0.21875; 10 and 14: 2 * sum_{i<=10} C(24, i) /
 * 2^24) and the continuity-corrected chi-square from 25 on (5 and 25:
 * chi2 = 19^2 / 30, p = erfc(sqrt(chi2 / 2)) = 0.000522575...).  The
 * paired bootstrap: its edge cases, and its numbers against a second,
 * plain implementation of the same description written here.
 */
#include "ftsb_setup.h"

#include "test.h"

#include <math.h>

#include "report/report_int.h"

#define CHECK_NEAR(a, b, tol)                                              \
    do {                                                                   \
        double a_ = (a), b_ = (b);                                         \
        if (!(fabs(a_ - b_) <= (tol))) {                                   \
            printf("  %s:%d: %s = %.15g, want %.15g\n", __FILE__,          \
                   __LINE__, #a, a_, b_);                                  \
            test_failed_ = 1;                                              \
        }                                                                  \
    } while (0)

TEST(mcnemar_exact)
{
    int exact;

    CHECK_NEAR(rp_mcnemar(1, 5, &exact), 0.21875, 1e-12);
    CHECK_INT(exact, 1);
    CHECK_NEAR(rp_mcnemar(5, 1, &exact), 0.21875, 1e-12);
    CHECK_NEAR(rp_mcnemar(0, 3, &exact), 0.25, 1e-12);
    CHECK_NEAR(rp_mcnemar(2, 9, &exact), 0.0654296875, 1e-12);
    CHECK_NEAR(rp_mcnemar(10, 14, &exact), 0.5412561893463135, 1e-12);
    CHECK_INT(exact, 1);
    CHECK_NEAR(rp_mcnemar(0, 0, &exact), 1.0, 0);
    CHECK_NEAR(rp_mcnemar(4, 4, &exact), 1.0, 0);   /* capped at 1 */
}

TEST(mcnemar_chi_square)
{
    int exact;

    CHECK_NEAR(rp_mcnemar(5, 25, &exact), 0.0005225753951242474, 1e-15);
    CHECK_INT(exact, 0);
    CHECK_NEAR(rp_mcnemar(30, 12, &exact), 0.008711912962379598, 1e-15);
    CHECK_NEAR(rp_mcnemar(13, 13, &exact), 1.0, 1e-15);
}

/* The description of rp_paired_bootstrap, implemented again. */
static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void reference(const double *d, size_t n, size_t m, uint64_t seed,
                      double *p, double *lo, double *hi)
{
    double *means = malloc(m * sizeof *means), mean = 0, h;
    uint64_t s = seed;
    size_t count = 0, k;

    for (size_t i = 0; i < n; i++)
        mean += d[i] / (double)n;
    for (size_t b = 0; b < m; b++) {
        double sum = 0;

        for (size_t i = 0; i < n; i++)
            sum += d[((next(&s) >> 32) * n) >> 32] - mean;
        means[b] = sum / (double)n;
        count += fabs(means[b]) >= fabs(mean) - 1e-12;
    }
    *p = (1.0 + (double)count) / ((double)m + 1.0);
    qsort(means, m, sizeof *means, cmp);
    h = (double)(m - 1) * 0.025;
    k = (size_t)h;
    *lo = means[k] + (h - (double)k) * (means[k + 1] - means[k]) + mean;
    h = (double)(m - 1) * 0.975;
    k = (size_t)h;
    *hi = means[k] + (h - (double)k) * (means[k + 1] - means[k]) + mean;
    free(means);
}

TEST(paired_bootstrap)
{
    double d[] = {4, 4, 4, 0, 1, -1, 3, 2, 0, 4, 2, 1};
    double zero[] = {0, 0, 0}, same[] = {2, 2, 2, 2};
    double p, lo, hi, p2, lo2, hi2;

    CHECK_INT(rp_paired_bootstrap(d, 12, 2000, 42, &p, &lo, &hi), 0);
    reference(d, 12, 2000, 42, &p2, &lo2, &hi2);
    CHECK_NEAR(p, p2, 1e-12);
    CHECK_NEAR(lo, lo2, 1e-9);
    CHECK_NEAR(hi, hi2, 1e-9);
    CHECK(lo < 2.0 && hi > 2.0);       /* the mean difference is 2 */
    CHECK(p < 0.01);
    /* the same seed, the same numbers; another seed, others */
    CHECK_INT(rp_paired_bootstrap(d, 12, 2000, 42, &p2, &lo2, &hi2), 0);
    CHECK(p == p2 && lo == lo2 && hi == hi2);
    rp_paired_bootstrap(d, 12, 2000, 7, &p2, &lo2, &hi2);
    CHECK(lo != lo2 || hi != hi2 || p != p2);
    /* no difference at all: p = 1 */
    rp_paired_bootstrap(zero, 3, 1000, 42, &p, &lo, &hi);
    CHECK_NEAR(p, 1.0, 0);
    CHECK_NEAR(lo, 0, 0);
    /* the same difference everywhere: as extreme as resampling allows */
    rp_paired_bootstrap(same, 4, 999, 42, &p, &lo, &hi);
    CHECK_NEAR(p, 1.0 / 1000, 1e-15);
    CHECK_NEAR(lo, 2, 1e-12);
    CHECK_NEAR(hi, 2, 1e-12);
}

int main(void)
{
    RUN(mcnemar_exact);
    RUN(mcnemar_chi_square);
    RUN(paired_bootstrap);
    return test_summary();
}
