/*
 * train_data.h - training examples turned into the token sequences the
 * trainer runs: each example is rendered with a chat template and
 * tokenized (chat_template.h), and its loss mask becomes per-position
 * targets, so that the loss falls on the assistant's answer tokens and the
 * end-of-turn token after them (EOS, <|im_end|>, <|eot_id|>) and nowhere
 * else; this is the paper's labels = -100 over the prompt (MISSION-BRIEF
 * 1.4).
 *
 * Examples.  An example with chat messages uses them as they are.  One
 * without messages but with an instruction (Alpaca, Dolly rows) becomes a
 * two-message chat: user = instruction, followed by "\n\n" and input when
 * input is not empty; assistant = response.  Prompt formatting beyond that
 * ("### Instruction:" preambles, system prompts) is the dataset's job: it
 * arrives here already in the chat.
 *
 * Sequences.  With the example's tokens x[0..L) (BOS ... EOS), position t
 * of the model reads x[t] and is trained to predict x[t+1]:
 *     tokens[t]  = x[t]                                      t < n
 *     targets[t] = x[t+1] if x[t+1] is an answer token, else -1
 * with n = L - 1 (the last token predicts nothing).  max_len bounds L,
 * the length of the example in tokens, like the paper's max_words (512:
 * Hugging Face input_ids of at most 512 tokens): a longer example keeps
 * its first max_len tokens, so n <= max_len - 1 and the positions
 * trained are exactly those of the paper's truncated labels.  Examples
 * with no answer token left (none to begin with, or all of them cut) are
 * skipped.  Every cut and skip is recorded as a note, and
 * lm_train_set_describe() writes them for the log.
 *
 * Order.  lm_train_order() gives the order of an epoch as a pure function
 * of (seed, epoch), so a run resumed from a checkpoint visits the same
 * sequences in the same order as one that never stopped.
 *
 * Thread contract: a set is plain data; build and free it on one thread,
 * read it from any.
 */
#ifndef LM_TRAIN_DATA_H
#define LM_TRAIN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include <ftsb/types.h>

#include "chat_template.h"
#include "lm_err.h"
#include "tokenizer.h"

/* Bounds on what one set may hold (int32 positions and counts). */
#define LM_TRAIN_MAX_LEN (1 << 24)        /* tokens of one example */
#define LM_TRAIN_MAX_EXAMPLES (1 << 30)

/* One training sequence (see above).  tokens and targets are one block
 * owned by the set. */
struct lm_train_seq {
    int32_t *tokens;  /* (n) model input */
    int32_t *targets; /* (n) next token when it is trained on, else -1 */
    int32_t n;        /* >= 1 */
    int32_t n_loss;   /* targets >= 0; >= 1 */
    int32_t index;    /* the example's index in the dataset */
};

enum lm_train_note_kind {
    LM_TRAIN_CUT = 1,       /* cut to max_len tokens, answer tokens left */
    LM_TRAIN_NO_ANSWER = 2, /* skipped: no answer token at all */
    LM_TRAIN_ANSWER_CUT = 3 /* skipped: every answer token was cut */
};

/* What happened to one example that is not used whole. */
struct lm_train_note {
    int32_t kind;     /* enum lm_train_note_kind */
    int32_t index;    /* the example's index in the dataset */
    char *id;         /* a copy of its id, or NULL when it has none */
    int64_t n_tokens; /* its length in tokens before any cut */
    int64_t dropped;  /* tokens cut off the end (0 for NO_ANSWER) */
};

struct lm_train_set {
    struct lm_train_seq *seq; /* (n) in dataset order */
    int32_t n;
    int64_t n_tokens;         /* sum of seq[i].n: positions run per epoch */
    int64_t n_loss;           /* sum of seq[i].n_loss */
    int32_t n_examples;       /* examples given */
    int32_t max_len;          /* the bound used */
    struct lm_train_note *notes; /* (n_notes) in dataset order */
    int32_t n_notes;
    int32_t n_cut;            /* notes of kind LM_TRAIN_CUT */
    int32_t n_skipped;        /* notes of the two other kinds */
    int64_t n_dropped;        /* tokens cut off, all examples */
};

/*
 * Builds the sequences of ex[0..n) with template tmpl (opts may be NULL:
 * the defaults, which keep the whitespace of a chat that ends with an
 * answer) and vocabulary v, each example at most max_len tokens
 * (2..LM_TRAIN_MAX_LEN).  *out is overwritten; free it with
 * lm_train_set_free (also after a failure: it is then empty).
 * Errors: FTSB_E_INVALID for an empty dataset, an example with neither
 * messages nor an instruction, a chat the template cannot render (the
 * message names the example's index and id), or a set in which no example
 * has an answer token (the message says why and what to do); the errors
 * of tmpl_tokenize; FTSB_E_NOMEM.
 */
ftsb_status lm_train_set_build(const ftsb_example *ex, size_t n,
                               enum tmpl_id tmpl,
                               const struct tmpl_opts *opts,
                               const struct tok_vocab *v, int32_t max_len,
                               struct lm_train_set *out, struct lm_err *err);

void lm_train_set_free(struct lm_train_set *s);

/*
 * A human summary of the cuts and skips, for the trainer's log, in a
 * malloc'ed NUL-terminated string (*out; free() it), or *out = NULL when
 * every example was used whole.  One line per note, at most max_lines
 * (<= 0: 10) then "and N more":
 *   "training data: 3 of 100 examples cut to 512 tokens (1117 tokens
 *    dropped); 1 of 100 examples skipped (no answer token to train on):"
 *   "  example 3 (id 'x'): 812 tokens, cut to 512 (300 dropped)"
 *   "  example 7 (id 'y'): skipped, no answer token (no assistant message
 *      or response)"
 *   "  example 9 (id 'z'): 900 tokens, skipped: every answer token is past
 *      the first 512"
 * Ids are quoted with non-printable bytes escaped.  FTSB_E_NOMEM.
 */
ftsb_status lm_train_set_describe(const struct lm_train_set *s,
                                  int32_t max_lines, char **out,
                                  struct lm_err *err);

/*
 * The visiting order of epoch `epoch` (0-based): perm[0..n) receives a
 * permutation of 0..n-1.  seed 0 means no shuffle: perm is the identity
 * in every epoch.  Otherwise a Fisher-Yates shuffle driven by splitmix64
 * (Steele, Lea and Flood, 2014) whose state starts from a mix of seed and
 * epoch, with unbiased bounded draws (rejection), so the order is the
 * same on every machine and across resumptions, and differs between
 * epochs.  n <= 0 does nothing.
 */
void lm_train_order(uint64_t seed, int64_t epoch, int32_t n, int32_t *perm);

#endif /* LM_TRAIN_DATA_H */
