/*
 * judging.h - judging through the run store's verdict cache.
 *
 * A verdict is keyed by the judge's fingerprint and the exact
 * (instruction, response) pair, so re-scoring the same answers with the
 * same judge costs nothing, and a changed judge (another policy text,
 * another judge model) is asked again.  Failed verdicts are not cached.
 */
#ifndef FTSB_JUDGING_H
#define FTSB_JUDGING_H

#include "../ftsb_setup.h"
#include "../util/err.h"

struct session;
struct instance;

/* Resets a verdict slot to "no opinion" before a judge fills it. */
void verdict_reset(ftsb_verdict *v);

/* Fills out[i] for items[i] (the caller made the sinks).  A non-zero
 * status means the judge cannot go on; err says why. */
ftsb_status judge_cached(struct session *s, struct instance *judge,
                         const ftsb_judge_item *items, uint32_t n,
                         ftsb_verdict *out, struct err *err);

#endif /* FTSB_JUDGING_H */
