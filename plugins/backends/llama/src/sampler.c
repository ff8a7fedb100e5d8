/*
 * sampler.c - next-token selection (see sampler.h).  The full vocabulary
 * is never sorted: top-k keeps a min-heap of k candidates, and top-p alone
 * first drops the tokens too improbable to be in any nucleus (with p < 1,
 * a token whose probability is below (1 - p) / (V - 1) cannot be needed to
 * reach p: all the tokens above it would have to sum to less than p), so
 * only a few candidates are sorted.
 */
#include "sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- random numbers --------------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void lm_rng_seed(struct lm_rng *r, uint64_t seed)
{
    /* splitmix64 fills the state: never all zero */
    for (int i = 0; i < 4; i++) {
        seed += 0x9e3779b97f4a7c15ULL;
        r->s[i] = mix64(seed);
    }
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t lm_rng_next(struct lm_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double lm_rng_uniform(struct lm_rng *r)
{
    return (double)(lm_rng_next(r) >> 11) * 0x1p-53;
}

uint64_t lm_seq_seed(uint64_t seed, const int32_t *prompt, size_t n)
{
    uint64_t h = mix64(seed ^ 0x6a09e667f3bcc909ULL);

    for (size_t i = 0; i < n; i++)
        h = mix64(h ^ (uint32_t)prompt[i]) + 0x9e3779b97f4a7c15ULL;
    return mix64(h ^ n);
}

/* ---- work buffers ------------------------------------------------------------ */

ftsb_status lm_sampler_init(struct lm_sampler *s, int32_t vocab,
                            struct lm_err *err)
{
    memset(s, 0, sizeof *s);
    s->cand = malloc((size_t)(vocab > 0 ? vocab : 1) * sizeof *s->cand);
    s->mark = calloc((size_t)(vocab > 0 ? vocab : 1), 1);
    if (!s->cand || !s->mark) {
        lm_sampler_free(s);
        return lm_fail(err, FTSB_E_NOMEM, "out of memory (sampler)");
    }
    s->vocab = vocab;
    return FTSB_OK;
}

void lm_sampler_free(struct lm_sampler *s)
{
    free(s->cand);
    free(s->mark);
    s->cand = NULL;
    s->mark = NULL;
    s->vocab = 0;
}

/* ---- selection ------------------------------------------------------------------ */

int32_t lm_argmax(const float *x, int32_t n)
{
    int32_t best = 0;
    float bv = -INFINITY;
    int found = 0;

    for (int32_t i = 0; i < n; i++) {
        if (x[i] > bv || (!found && x[i] == bv)) {
            bv = x[i];
            best = i;
            found = 1;
        }
    }
    return best;
}

void lm_repetition_penalty(struct lm_sampler *s, float *logits,
                           const int32_t *history, size_t n_hist,
                           float penalty)
{
    if (!(penalty > 0.0f) || penalty == 1.0f)
        return;
    for (size_t i = 0; i < n_hist; i++) {
        int32_t id = history[i];
        if (id < 0 || id >= s->vocab || s->mark[id])
            continue;
        s->mark[id] = 1;
        logits[id] = logits[id] > 0.0f ? logits[id] / penalty
                                       : logits[id] * penalty;
    }
    for (size_t i = 0; i < n_hist; i++)
        if (history[i] >= 0 && history[i] < s->vocab)
            s->mark[history[i]] = 0;
}

/* Larger logit first; the lower id first on ties (deterministic). */
static int cand_before(const struct lm_cand *a, const struct lm_cand *b)
{
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int cand_cmp(const void *pa, const void *pb)
{
    const struct lm_cand *a = pa, *b = pb;
    return cand_before(a, b) ? -1 : cand_before(b, a) ? 1 : 0;
}

/* Min-heap (by cand_before) of the k best seen so far, sift down from i. */
static void heap_down(struct lm_cand *h, int32_t k, int32_t i)
{
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < k && cand_before(&h[m], &h[l]))
            m = l;
        if (r < k && cand_before(&h[m], &h[r]))
            m = r;
        if (m == i)
            return;
        struct lm_cand t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Keeps the k best of c(n) in c[0..k), sorted best first. */
static int32_t keep_top_k(struct lm_cand *c, int32_t n, int32_t k)
{
    for (int32_t i = k / 2 - 1; i >= 0; i--)
        heap_down(c, k, i);
    for (int32_t i = k; i < n; i++) {
        if (cand_before(&c[i], &c[0])) {
            c[0] = c[i];
            heap_down(c, k, 0);
        }
    }
    qsort(c, (size_t)k, sizeof *c, cand_cmp);
    return k;
}

int32_t lm_sample(struct lm_sampler *s, float *logits,
                  const struct lm_sampling *p, const int32_t *history,
                  size_t n_hist, struct lm_rng *rng)
{
    const int32_t V = s->vocab;
    struct lm_cand *c = s->cand;
    int32_t n = V;
    float mx = -INFINITY;
    double sum = 0.0;

    lm_repetition_penalty(s, logits, history, n_hist, p->repetition_penalty);
    if (!(p->temperature > 0.0f))
        return lm_argmax(logits, V);

    for (int32_t i = 0; i < V; i++) {
        c[i].id = i;
        c[i].logit = logits[i] / p->temperature;
        mx = c[i].logit > mx ? c[i].logit : mx;
    }
    if (!isfinite(mx))
        return lm_argmax(logits, V);
    int sorted = 0;
    if (p->top_k > 0 && p->top_k < V) {
        n = keep_top_k(c, V, p->top_k);
        sorted = 1;
    }
    for (int32_t i = 0; i < n; i++) {
        c[i].p = exp((double)c[i].logit - (double)mx);
        sum += c[i].p;
    }
    if (p->top_p > 0.0f && p->top_p < 1.0f && n > 1) {
        if (!sorted) {
            /* drop what no nucleus can need, then sort the rest */
            double cut = (1.0 - (double)p->top_p) / (double)(n - 1) * sum;
            int32_t m = 0;
            for (int32_t i = 0; i < n; i++)
                if (c[i].p >= cut)
                    c[m++] = c[i];
            /* a tiny p over a flat distribution can drop everything (the
             * bound assumes p >= 1/V): then sort all, nothing was moved */
            if (m > 0)
                n = m;
            qsort(c, (size_t)n, sizeof *c, cand_cmp);
        }
        double target = (double)p->top_p * sum, acc = 0.0;
        int32_t m = 0;
        while (m < n) {
            acc += c[m++].p;
            if (acc >= target)
                break;
        }
        n = m;
        sum = acc;
    }
    double u = lm_rng_uniform(rng) * sum, acc = 0.0;
    for (int32_t i = 0; i < n; i++) {
        acc += c[i].p;
        if (u < acc)
            return c[i].id;
    }
    return c[n - 1].id; /* rounding: u landed on the total */
}
