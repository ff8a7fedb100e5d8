/*
 * agree_stats.h - the agreement statistics of the "agreement" metric,
 * host-free so that tests/unit/agreement.cmake checks them against values
 * computed by hand: Cohen's kappa over paired categorical ratings (refusal
 * labels, whole scores, scores cut at a threshold), and Spearman's rank
 * correlation with tied ranks averaged, each with an approximate 95%
 * interval.
 */
#ifndef FTSB_AGREE_STATS_H
#define FTSB_AGREE_STATS_H

#include <stddef.h>

#define AG_Z95 1.959963984540054

/*
 * Cohen's kappa of n paired ratings x[i], y[i] (any integer codes):
 *   p_o = share of pairs that agree,
 *   p_e = sum over codes c of (share of x equal to c) * (share of y equal
 *         to c),
 *   kappa = (p_o - p_e) / (1 - p_e),
 * with Cohen's (1960) large-sample standard error
 *   se = sqrt(p_o (1 - p_o) / (n (1 - p_e)^2))
 * and the interval kappa +- 1.96 se, clamped to [-1, 1].  Returns 0, or
 * -1 when kappa is undefined: n = 0, or p_e = 1 (both raters gave every
 * pair one and the same code), or out of memory.
 */
int ag_kappa(const int *x, const int *y, size_t n, double *kappa,
             double *lo, double *hi);

/*
 * Spearman's rho of n pairs: the Pearson correlation of the ranks, tied
 * values sharing the mean of their ranks.  Interval: Fisher's z with the
 * standard error sqrt(1.06 / (n - 3)) of Fieller, Hartley and Pearson
 * (1957), tanh(atanh(rho) +- 1.96 se); [-1, 1] when n <= 3.  Returns 0,
 * or -1 when rho is undefined: n < 2, or one side has no spread (every
 * value equal), or out of memory.
 */
int ag_spearman(const double *x, const double *y, size_t n, double *rho,
                double *lo, double *hi);

#endif /* FTSB_AGREE_STATS_H */
