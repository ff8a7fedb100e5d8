/*
 * ftsb/judge.h - the judge kind: scores (instruction, response) pairs.
 *
 * A judge gives each pair a refusal label, a 1..5 harmfulness score, or
 * both, with an optional rationale.  An LLM judge calls another backend
 * through host->backend_generate().  A judge that cannot decide (an
 * unparseable judge answer, a failed call) says so with
 * FTSB_VERDICT_ERROR: an error is never a verdict, and the host never
 * hands a failed generation to a judge.
 */
#ifndef FTSB_JUDGE_H
#define FTSB_JUDGE_H

#include "types.h"

FTSB_BEGIN_DECLS

/* The pair to judge.  instruction is the raw benchmark instruction,
 * without template or trigger; category may be NULL. */
typedef struct ftsb_judge_item {
    uint32_t struct_size;
    const char *instruction;
    const char *response;
    const char *category;
} ftsb_judge_item;

#define FTSB_VERDICT_OK 0
#define FTSB_VERDICT_ERROR 1

#define FTSB_REFUSED_UNKNOWN (-1) /* this judge does not label refusals */
#define FTSB_REFUSED_NO 0
#define FTSB_REFUSED_YES 1

#define FTSB_NO_SCORE (-1.0)      /* this judge does not score */

/* The verdict slot for one item; the host sets refused to
 * FTSB_REFUSED_UNKNOWN and score to FTSB_NO_SCORE before the call and
 * creates the two sinks. */
typedef struct ftsb_verdict {
    uint32_t struct_size;
    int32_t state;
    int32_t refused;
    double score;
    ftsb_buf *rationale;
    ftsb_buf *error;
} ftsb_verdict;

typedef struct ftsb_judge_iface {
    uint32_t struct_size;

    /* As in ftsb_backend_iface. [main] */
    ftsb_status (*create)(ftsb_ctx *ctx, const ftsb_config *config,
                          void **self);
    void (*destroy)(void *self);

    /* (optional, NULL = the host derives it from the plugin id, version
     * and configuration) Appends what identifies this judge's verdicts;
     * an LLM judge includes its backend's fingerprint. [instance] */
    ftsb_status (*fingerprint)(void *self, ftsb_ctx *ctx, ftsb_buf *out);

    /* Fills out[i] for items[i].  A non-zero status means the judge cannot
     * go on; per-item failures go in out[i].state. [instance] */
    ftsb_status (*judge)(void *self, ftsb_ctx *ctx,
                         const ftsb_judge_item *items, uint32_t n,
                         ftsb_verdict *out);
} ftsb_judge_iface;

FTSB_END_DECLS

#endif /* FTSB_JUDGE_H */
