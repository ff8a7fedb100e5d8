/*
 * test_agreement_stats.c - Cohen's kappa and Spearman's rho of the
 * agreement metric against values worked out by hand: a 2x2 table from
 * the textbooks (20/5/10/15: p_o 0.7, p_e 0.5, kappa 0.4), perfect and
 * perfectly opposite raters, three categories, the undefined cases
 * (chance agreement 1, no spread), and ranks with ties.
 */
#include "test.h"

#include <math.h>

#include "agree_stats.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-9)
#define CHECK_NEAR(a, b)                                                   \
    do {                                                                   \
        double a_ = (a), b_ = (b);                                         \
        if (!NEAR(a_, b_)) {                                               \
            printf("  %s:%d: %s = %.12g, want %.12g\n", __FILE__,          \
                   __LINE__, #a, a_, b_);                                  \
            test_failed_ = 1;                                              \
        }                                                                  \
    } while (0)

TEST(kappa_two_by_two)
{
    int x[50], y[50], k = 0;
    double kappa, lo, hi, se;

    /* 20 agree on 1, 5 say 1/0, 10 say 0/1, 15 agree on 0 */
    for (int i = 0; i < 20; i++, k++) x[k] = 1, y[k] = 1;
    for (int i = 0; i < 5; i++, k++) x[k] = 1, y[k] = 0;
    for (int i = 0; i < 10; i++, k++) x[k] = 0, y[k] = 1;
    for (int i = 0; i < 15; i++, k++) x[k] = 0, y[k] = 0;
    CHECK_INT(ag_kappa(x, y, 50, &kappa, &lo, &hi), 0);
    /* p_o = 35/50, p_e = 25/50 * 30/50 + 25/50 * 20/50 = 0.5 */
    CHECK_NEAR(kappa, 0.4);
    se = sqrt(0.7 * 0.3 / (50 * 0.25));    /* 0.129615 */
    CHECK_NEAR(lo, 0.4 - AG_Z95 * se);
    CHECK_NEAR(hi, 0.4 + AG_Z95 * se);
    CHECK(fabs(lo - 0.14596) < 1e-5 && fabs(hi - 0.65404) < 1e-5);
}

TEST(kappa_edges)
{
    int a[] = {1, 0, 1, 0}, b[] = {0, 1};
    int c3x[] = {1, 2, 3, 1, 2, 3}, c3y[] = {1, 2, 3, 2, 3, 1};
    int same[] = {1, 1, 1};
    double kappa, lo, hi;

    CHECK_INT(ag_kappa(a, a, 4, &kappa, &lo, &hi), 0);
    CHECK_NEAR(kappa, 1);
    CHECK_NEAR(lo, 1);
    CHECK_NEAR(hi, 1);
    CHECK_INT(ag_kappa(a, b, 2, &kappa, &lo, &hi), 0);   /* 1,0 vs 0,1 */
    CHECK_NEAR(kappa, -1);
    /* three codes, p_o = 1/2, p_e = 3 * 1/9: kappa = (1/2 - 1/3)/(2/3) */
    CHECK_INT(ag_kappa(c3x, c3y, 6, &kappa, &lo, &hi), 0);
    CHECK_NEAR(kappa, 0.25);
    /* undefined: both raters always say 1 (p_e = 1), or nothing */
    CHECK_INT(ag_kappa(same, same, 3, &kappa, &lo, &hi), -1);
    CHECK_NEAR(lo, -1);
    CHECK_NEAR(hi, 1);
    CHECK_INT(ag_kappa(same, same, 0, &kappa, &lo, &hi), -1);
}

TEST(spearman)
{
    double x[] = {1, 2, 3, 4, 5}, y[] = {5, 6, 7, 8, 7};
    double d[] = {3, 2, 1}, u[] = {1, 2, 3}, flat[] = {2, 2, 2};
    double tx[] = {1, 1, 2, 2}, ty[] = {1, 2, 1, 2};
    double rho, lo, hi, z, se;

    /* ranks of y: 1, 2, 3.5, 5, 3.5; sum dxdy 8, sum dx^2 10, sum dy^2
     * 9.5: rho = 8 / sqrt(95) */
    CHECK_INT(ag_spearman(x, y, 5, &rho, &lo, &hi), 0);
    CHECK_NEAR(rho, 8 / sqrt(95.0));
    CHECK(fabs(rho - 0.820783) < 1e-6);
    z = atanh(rho);
    se = sqrt(1.06 / 2);
    CHECK_NEAR(lo, tanh(z - AG_Z95 * se));
    CHECK_NEAR(hi, tanh(z + AG_Z95 * se));
    CHECK(lo < 0 && hi > 0.98);
    CHECK_INT(ag_spearman(u, d, 3, &rho, &lo, &hi), 0);
    CHECK_NEAR(rho, -1);
    CHECK_NEAR(lo, -1);   /* n <= 3: nothing known */
    CHECK_NEAR(hi, 1);
    CHECK_INT(ag_spearman(tx, ty, 4, &rho, &lo, &hi), 0);
    CHECK_NEAR(rho, 0);
    CHECK_INT(ag_spearman(u, flat, 3, &rho, &lo, &hi), -1);
    CHECK_INT(ag_spearman(u, u, 1, &rho, &lo, &hi), -1);
}

int main(void)
{
    RUN(kappa_two_by_two);
    RUN(kappa_edges);
    RUN(spearman);
    return test_summary();
}
