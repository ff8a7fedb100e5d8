/*
 * sampler.h - choosing the next token from a row of logits: greedy
 * (argmax, lowest id on ties, as llama.cpp's reference runs), or sampling
 * with temperature, top-k and top-p, after an optional repetition penalty.
 * The order and the penalty follow Hugging Face's generate(), which the
 * paper's code used: penalty, temperature, top-k, top-p, then a draw.
 *
 *   repetition penalty (CTRL): every distinct token already in the
 *     sequence (prompt and generated) has its logit divided by the penalty
 *     when positive, multiplied when negative; applies to greedy too.
 *   top-p: the smallest set of most probable tokens whose probability
 *     reaches p (the token that crosses p is kept).
 *
 * Randomness: each sequence has its own xoshiro256** generator, seeded by
 * lm_seq_seed() from the request's seed and a hash of the prompt tokens,
 * so a chat samples the same tokens whatever else is in its batch and
 * whatever its place in it.
 *
 * Letters: V vocabulary.  Thread contract: a sampler (its work buffers)
 * and an lm_rng are used by one thread at a time.
 */
#ifndef LM_SAMPLER_H
#define LM_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "lm_err.h"

struct lm_sampling {
    float temperature;        /* <= 0: greedy */
    int32_t top_k;            /* <= 0 (or >= V): off */
    float top_p;              /* >= 1 (or <= 0): off */
    float repetition_penalty; /* 1 (or <= 0): off */
};

struct lm_rng {
    uint64_t s[4];
};

/* Seeds r (any seed, 0 included, gives a valid state). */
void lm_rng_seed(struct lm_rng *r, uint64_t seed);
uint64_t lm_rng_next(struct lm_rng *r);
/* Uniform in [0, 1), 53 random bits. */
double lm_rng_uniform(struct lm_rng *r);

/* The seed of one sequence: seed mixed with a hash of prompt (P). */
uint64_t lm_seq_seed(uint64_t seed, const int32_t *prompt, size_t n);

/* A candidate token: id and its (scaled) logit, then its probability. */
struct lm_cand {
    int32_t id;
    float logit;
    double p;
};

/* Work buffers for one vocabulary size. */
struct lm_sampler {
    int32_t vocab;        /* V */
    struct lm_cand *cand; /* (V) */
    uint8_t *mark;        /* (V) tokens already penalised in this call */
};

/* FTSB_E_NOMEM. */
ftsb_status lm_sampler_init(struct lm_sampler *s, int32_t vocab,
                            struct lm_err *err);
void lm_sampler_free(struct lm_sampler *s);

/* Index of the largest of x(N); the lowest index on ties; NaN never wins
 * (0 when all are NaN). */
int32_t lm_argmax(const float *x, int32_t n);

/* Applies the repetition penalty to logits(V) in place for the distinct
 * ids of history (ids outside [0, V) are ignored). */
void lm_repetition_penalty(struct lm_sampler *s, float *logits,
                           const int32_t *history, size_t n_hist,
                           float penalty);

/*
 * The next token for logits(V), which is modified (penalty, scaling).
 * history (n_hist ids) is what the penalty looks at; rng is used only
 * when temperature > 0.
 */
int32_t lm_sample(struct lm_sampler *s, float *logits,
                  const struct lm_sampling *p, const int32_t *history,
                  size_t n_hist, struct lm_rng *rng);

#endif /* LM_SAMPLER_H */
