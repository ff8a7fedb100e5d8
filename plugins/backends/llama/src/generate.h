/*
 * generate.h - batched generation with continuous batching: many prompts
 * at once, each sequence finishing on its own (end-of-generation token,
 * a stop string, max_new_tokens or the context), and waiting prompts
 * taking the freed slots.  Every step runs all active sequences through
 * one forward call (forward.h), so each weight is one matrix product with
 * a row per sequence; new prompts are prefilled in calls of up to
 * prefill_rows rows (several short prompts share one call; a long one is
 * split into chunks).
 *
 * Memory: a sequence reserves prompt + max_new_tokens - 1 positions of KV
 * cache (capped by the context) when it is admitted; admission waits while
 * the budget is short, and a request that could never fit (longer than the
 * context, or than the whole budget) gets its own error while the others
 * go on.  Results do not depend on the batch: each sequence samples with
 * its own generator seeded from the request's seed and its prompt, and
 * attention runs over its own cache.  (Greedy tokens are the same alone or
 * batched up to floating-point rounding: a batched step uses sgemm where a
 * lone sequence uses sgemv, which differ in the last bits, so only a
 * near-tie between the two best tokens could tell them apart.)
 *
 * Letters: P prompt tokens, V vocabulary.  Thread contract: one call at a
 * time per state; the model and vocabulary are only read.
 */
#ifndef LM_GENERATE_H
#define LM_GENERATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forward.h"
#include "lm_err.h"
#include "model.h"
#include "sampler.h"
#include "tokenizer.h"

enum lm_finish {
    LM_FINISH_NONE = 0,        /* not finished (internal) */
    LM_FINISH_STOP = 1,        /* an end-of-generation token (not in text) */
    LM_FINISH_LENGTH = 2,      /* max_new_tokens, or the context is full */
    LM_FINISH_STOP_STRING = 3, /* a stop string (cut from text) */
    LM_FINISH_ERROR = 4,       /* this request failed: error says why */
    LM_FINISH_CANCELLED = 5,   /* the caller cancelled before it finished */
};

struct lm_gen_request {
    const int32_t *prompt;       /* (P) token ids */
    int32_t n_prompt;            /* P >= 1 */
    struct lm_sampling sampling;
    uint64_t seed;               /* mixed with the prompt: lm_seq_seed */
    int32_t max_new_tokens;      /* >= 1 */
    const char *const *stop;     /* n_stop strings; "" is ignored */
    uint32_t n_stop;
    bool ignore_eos;             /* go on past end-of-generation tokens
                                    (llama.cpp's reference greedy runs) */
};

struct lm_gen_result {
    int32_t finish;   /* enum lm_finish */
    char *text;       /* malloc'ed, NUL-terminated: the pieces' bytes
                         joined (llama.cpp's token_to_piece, no strip);
                         NULL when there is no vocabulary */
    size_t len;
    int32_t *tokens;  /* malloc'ed (n_tokens) generated ids, without the
                         end-of-generation token */
    int32_t n_tokens;
    int32_t n_prompt; /* P, for the token counts */
    char error[256];  /* LM_FINISH_ERROR / _CANCELLED: why */
};

/* Work counters of one lm_generate call (for benchmarks). */
struct lm_gen_stats {
    int64_t prefill_tokens, decode_tokens; /* rows run */
    int64_t decode_steps;                  /* forward calls of decoding */
    double prefill_s, decode_s, sample_s;  /* wall time in each part */
};

struct lm_gen_opts {
    int32_t max_batch;     /* sequences decoding at once (0 = 16) */
    int64_t kv_budget;     /* KV positions in all (0 = max_batch * context) */
    int32_t prefill_rows;  /* rows per prefill call (0 = 512) */
    /* progress(ud, done, total): after each finished request */
    void (*progress)(void *ud, int64_t done, int64_t total);
    /* non-zero to stop: checked between steps */
    int (*cancelled)(void *ud);
    void *ud;
    struct lm_gen_stats *stats; /* may be NULL */
};

/*
 * Generates a completion for each of reqs[0..n) into res[0..n) (which the
 * caller zeroes and frees with lm_gen_result_free).  v may be NULL (no
 * text, no end-of-generation token).  o may be NULL (defaults).
 * Returns FTSB_OK when every request has its result, some perhaps
 * LM_FINISH_ERROR; FTSB_E_CANCELLED when o->cancelled said so (finished
 * results are kept, the rest are LM_FINISH_CANCELLED); FTSB_E_NOMEM or
 * FTSB_E_INVALID when the batch cannot go on (the unfinished requests are
 * LM_FINISH_ERROR with the message).
 */
ftsb_status lm_generate(const struct lm_model *m, const struct tok_vocab *v,
                        struct lm_state *st, const struct lm_gen_opts *o,
                        const struct lm_gen_request *reqs, size_t n,
                        struct lm_gen_result *res, struct lm_err *err);

void lm_gen_result_free(struct lm_gen_result *r);

/* "stop", "length", "stop_string", "error", "cancelled" (or ""). */
const char *lm_finish_name(int32_t finish);

#endif /* LM_GENERATE_H */
