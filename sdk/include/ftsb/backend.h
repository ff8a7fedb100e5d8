/*
 * ftsb/backend.h - the backend kind: turns chats into completions.
 *
 * A backend generates completions for a batch of chats, reports a
 * fingerprint that identifies exactly what answers (model file hash,
 * adapter, base URL and model id...), and may offer extensions such as
 * fine-tuning (ext/finetune.h).  The host caches generations by the
 * fingerprint, the full chat and the decoding parameters, so a backend
 * never sees a request whose answer is already stored.
 */
#ifndef FTSB_BACKEND_H
#define FTSB_BACKEND_H

#include "types.h"

FTSB_BEGIN_DECLS

/*
 * Decoding parameters.  The host fills every member; a backend that cannot
 * honour one (a remote API without top_k, say) ignores it, and documents
 * that in its README.
 *   temperature <= 0 means greedy decoding.
 *   top_k <= 0 and top_p >= 1 disable those filters.
 *   repetition_penalty 1 disables it.
 *   stop: n_stop strings; generation ends before the first occurrence of
 *   any of them, which is not part of the text.
 */
typedef struct ftsb_gen_params {
    uint32_t struct_size;
    int32_t max_new_tokens;
    float temperature;
    float top_p;
    int32_t top_k;
    float repetition_penalty;
    uint64_t seed;
    uint32_t n_stop;
    const char *const *stop;
} ftsb_gen_params;

/* Outcome of one generation.  Never renumbered. */
#define FTSB_GEN_OK 0          /* text holds the completion */
#define FTSB_GEN_FILTERED 1    /* the provider's content filter withheld it */
#define FTSB_GEN_REFUSED 2     /* the provider refused (e.g. an API refusal field) */
#define FTSB_GEN_ERROR 3       /* it failed; error says why.  Never a verdict. */

/*
 * The result slot for one chat.  The host creates the sinks; the backend
 * writes into them with host->buf_append() and sets state and counts.
 * finish is a short machine word: "stop", "length", "stop_string",
 * "content_filter"...  A failure of one chat is reported here with state
 * FTSB_GEN_ERROR and a message in error; it does not fail the batch.
 */
typedef struct ftsb_gen_result {
    uint32_t struct_size;
    int32_t state;
    ftsb_buf *text;
    ftsb_buf *finish;
    ftsb_buf *error;
    int64_t n_prompt_tokens;
    int64_t n_completion_tokens;
} ftsb_gen_result;

/*
 * The backend vtable.  Every instance is used by one thread at a time
 * ([instance]); it may move between threads.
 */
typedef struct ftsb_backend_iface {
    uint32_t struct_size;

    /* Creates an instance from a validated configuration.  Loads models
     * here, not in the entry's init().  On failure returns a status
     * recorded with host->fail(ctx, ...) and leaves *self untouched.
     * [main] */
    ftsb_status (*create)(ftsb_ctx *ctx, const ftsb_config *config,
                          void **self);

    /* Frees everything the instance owns.  self may be NULL. [instance] */
    void (*destroy)(void *self);

    /* Appends the instance's fingerprint to out: a short text that
     * changes whenever the answers could change (model hash, adapter
     * hash, template, base URL + model id).  [instance] */
    ftsb_status (*fingerprint)(void *self, ftsb_ctx *ctx, ftsb_buf *out);

    /* Generates one completion per chat: results[i] answers chats[i].
     * Returns FTSB_OK when every slot was filled (some may hold
     * FTSB_GEN_ERROR); a non-zero status means the backend cannot go on
     * at all (bad credentials, say) and the caller stops using it.
     * Reports progress through host->progress().  [instance] */
    ftsb_status (*generate)(void *self, ftsb_ctx *ctx,
                            const ftsb_chat *chats, uint32_t n,
                            const ftsb_gen_params *params,
                            ftsb_gen_result *results);

    /* (optional, NULL = no extensions) Returns the extension table for a
     * versioned id such as FTSB_EXT_FINETUNE, or NULL.  The table is
     * static and lives as long as the library.  [thread-safe] */
    const void *(*get_extension)(void *self, const char *id);
} ftsb_backend_iface;

FTSB_END_DECLS

#endif /* FTSB_BACKEND_H */
