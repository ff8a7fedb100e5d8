/*
 * test_llama_sampler.c - next-token selection: argmax ties and NaN, the
 * repetition penalty, the distribution sampled at temperature 1, top-k and
 * top-p keeping exactly the right tokens, temperature sharpening, and the
 * per-sequence seeds (same seed and prompt, same draws; another prompt,
 * other draws).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sampler.h"
#include "test.h"

static struct lm_sampling params(float temp, int k, float p, float rep)
{
    struct lm_sampling s = {temp, k, p, rep};
    return s;
}

TEST(argmax)
{
    float x[] = {1.0f, 3.0f, -2.0f, 3.0f};
    float y[] = {NAN, -1.0f, NAN, 0.5f};
    float z[] = {-INFINITY, -INFINITY};

    CHECK_INT(lm_argmax(x, 4), 1); /* lowest id on ties */
    CHECK_INT(lm_argmax(y, 4), 3); /* NaN never wins */
    CHECK_INT(lm_argmax(z, 2), 0);
}

TEST(repetition_penalty)
{
    struct lm_sampler s;
    struct lm_err e;
    float l[] = {2.0f, -2.0f, 1.0f, 0.5f};
    const int32_t hist[] = {0, 1, 0, 7, -1}; /* repeats and junk ignored */
    struct lm_sampling greedy = params(0, 0, 1, 2.0f);
    struct lm_rng r;

    CHECK(lm_sampler_init(&s, 4, &e) == FTSB_OK);
    lm_repetition_penalty(&s, l, hist, 5, 2.0f);
    CHECK(l[0] == 1.0f && l[1] == -4.0f && l[2] == 1.0f && l[3] == 0.5f);
    /* greedy with a penalty: token 0 (2.0) falls to 1.0, below 2 (1.5) */
    float m[] = {2.0f, -2.0f, 1.5f, 0.5f};
    lm_rng_seed(&r, 1);
    CHECK_INT(lm_sample(&s, m, &greedy, hist, 1, &r), 2);
    lm_sampler_free(&s);
}

/* Frequencies of n draws over V tokens. */
static void draw(struct lm_sampler *s, const float *logits, int V,
                 struct lm_sampling p, int n, double *freq)
{
    struct lm_rng r;
    float l[8];
    int count[8] = {0};

    lm_rng_seed(&r, 99);
    for (int i = 0; i < n; i++) {
        memcpy(l, logits, (size_t)V * sizeof *l);
        count[lm_sample(s, l, &p, NULL, 0, &r)]++;
    }
    for (int i = 0; i < V; i++)
        freq[i] = (double)count[i] / n;
}

TEST(distributions)
{
    struct lm_sampler s;
    struct lm_err e;
    float l[5];
    const double prob[5] = {0.1, 0.2, 0.3, 0.4, 0.0};
    double f[5];
    const int N = 40000;

    CHECK(lm_sampler_init(&s, 5, &e) == FTSB_OK);
    for (int i = 0; i < 4; i++)
        l[i] = logf((float)prob[i]);
    l[4] = -INFINITY;

    draw(&s, l, 5, params(1.0f, 0, 1.0f, 1.0f), N, f);
    for (int i = 0; i < 5; i++)
        CHECK(fabs(f[i] - prob[i]) < 0.015);

    /* top-k 2: tokens 3 and 2 only, in ratio 4:3 */
    draw(&s, l, 5, params(1.0f, 2, 1.0f, 1.0f), N, f);
    CHECK(f[0] == 0.0 && f[1] == 0.0 && f[4] == 0.0);
    CHECK(fabs(f[3] - 4.0 / 7.0) < 0.015);

    /* top-p 0.5: 0.4 alone is short of 0.5, 0.4 + 0.3 crosses it */
    draw(&s, l, 5, params(1.0f, 0, 0.5f, 1.0f), N, f);
    CHECK(f[0] == 0.0 && f[1] == 0.0 && f[4] == 0.0);
    CHECK(fabs(f[3] - 4.0 / 7.0) < 0.015);
    /* top-p 0.4 exactly: token 3 alone reaches it */
    draw(&s, l, 5, params(1.0f, 0, 0.4f, 1.0f), N, f);
    CHECK(f[3] == 1.0);
    /* top-k and top-p together: k = 3 keeps 3, 2, 1, renormalised to
     * 4/9, 3/9, 2/9; p = 0.9 needs all three (4/9 + 3/9 < 0.9) */
    draw(&s, l, 5, params(1.0f, 3, 0.9f, 1.0f), N, f);
    CHECK(f[0] == 0.0 && f[1] > 0.1);
    /* a tiny p on a flat distribution still keeps one token */
    float flat[5] = {0, 0, 0, 0, 0};
    draw(&s, flat, 5, params(1.0f, 0, 1e-6f, 1.0f), 100, f);
    CHECK(f[0] == 1.0);

    /* a low temperature sharpens: at 0.25, p3/p2 = (4/3)^4 */
    draw(&s, l, 5, params(0.25f, 0, 1.0f, 1.0f), N, f);
    CHECK(fabs(f[3] / f[2] - pow(4.0 / 3.0, 4.0)) < 0.15);
    /* top-k 1 is greedy */
    draw(&s, l, 5, params(1.5f, 1, 1.0f, 1.0f), 200, f);
    CHECK(f[3] == 1.0);
    lm_sampler_free(&s);
}

TEST(seeds)
{
    const int32_t a[] = {1, 2, 3}, b[] = {1, 2, 4};
    struct lm_rng r1, r2, r3;
    int same12 = 1, same13 = 1;

    CHECK(lm_seq_seed(42, a, 3) == lm_seq_seed(42, a, 3));
    CHECK(lm_seq_seed(42, a, 3) != lm_seq_seed(42, b, 3));
    CHECK(lm_seq_seed(42, a, 3) != lm_seq_seed(43, a, 3));
    CHECK(lm_seq_seed(42, a, 2) != lm_seq_seed(42, a, 3));
    lm_rng_seed(&r1, lm_seq_seed(42, a, 3));
    lm_rng_seed(&r2, lm_seq_seed(42, a, 3));
    lm_rng_seed(&r3, lm_seq_seed(42, b, 3));
    for (int i = 0; i < 100; i++) {
        uint64_t x = lm_rng_next(&r1), y = lm_rng_next(&r2),
                 z = lm_rng_next(&r3);
        same12 &= x == y;
        same13 &= x == z;
    }
    CHECK(same12);
    CHECK(!same13);
    double u = 0.0;
    lm_rng_seed(&r1, 0);
    for (int i = 0; i < 10000; i++) {
        double v = lm_rng_uniform(&r1);
        CHECK(v >= 0.0 && v < 1.0);
        u += v / 10000;
    }
    CHECK(fabs(u - 0.5) < 0.02);
}

int main(void)
{
    RUN(argmax);
    RUN(repetition_penalty);
    RUN(distributions);
    RUN(seeds);
    return test_summary();
}
