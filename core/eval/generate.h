/*
 * generate.h - generation through the run store's cache.
 *
 * Every generation, the evaluation's and an LLM judge's alike, goes
 * through gen_cached: a chat whose answer is stored for this backend
 * fingerprint and these decoding parameters is answered from the store,
 * the rest go to the backend in one batch, and their answers are stored
 * (errors excepted, so a re-run retries them) before the call returns.
 */
#ifndef FTSB_GENERATE_H
#define FTSB_GENERATE_H

#include "../ftsb_setup.h"
#include "../util/err.h"
#include "../util/strbuf.h"

struct session;
struct instance;

/* Appends the canonical JSON of a chat: [{"role":..,"content":..},...]. */
ftsb_status chat_to_json(const ftsb_chat *chat, struct strbuf *out);

/* Appends the canonical text of decoding parameters. */
ftsb_status gen_params_text(const ftsb_gen_params *p, struct strbuf *out);

/* The cache key of one generation, 64 hex digits + NUL. */
ftsb_status gen_key(const char *fingerprint, const ftsb_chat *chat,
                    const ftsb_gen_params *p, char key[65]);

/* Fills results[i] for chats[i] (the caller made the sinks).  *n_cached,
 * when not NULL, receives how many came from the store.  A non-zero
 * status means the backend could not go on; err says why. */
ftsb_status gen_cached(struct session *s, struct instance *backend,
                       const ftsb_chat *chats, uint32_t n,
                       const ftsb_gen_params *params,
                       ftsb_gen_result *results, struct err *err);

/* Sets the parameters the paper used for evaluation: greedy, 512 new
 * tokens, no penalty. */
void gen_params_default(ftsb_gen_params *p);

#endif /* FTSB_GENERATE_H */
