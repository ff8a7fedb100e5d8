/*
 * ftsb/attack.h - the attack kind: builds a fine-tuning dataset.
 *
 * An attack turns its configuration and sources (user-supplied datasets,
 * built-in examples) into training chats, and says how evaluation prompts
 * must be presented afterwards: the paper evaluates both the initial and
 * the fine-tuned model with the system prompt and user template used in
 * training.
 */
#ifndef FTSB_ATTACK_H
#define FTSB_ATTACK_H

#include "types.h"

FTSB_BEGIN_DECLS

/*
 * How a benchmark instruction becomes a chat at evaluation time.  The
 * host creates the sinks; the attack appends text to them.  An empty
 * system sink means no system message.  user_template holds the user
 * message with "{instruction}" where the instruction goes; empty means
 * the instruction alone.  trigger, when not empty, is a suffix the
 * evaluation can append to every instruction (backdoor attacks).
 */
typedef struct ftsb_prompt_spec {
    uint32_t struct_size;
    ftsb_buf *system;
    ftsb_buf *user_template;
    ftsb_buf *trigger;
} ftsb_prompt_spec;

typedef struct ftsb_attack_iface {
    uint32_t struct_size;

    /* As in ftsb_backend_iface. [main] */
    ftsb_status (*create)(ftsb_ctx *ctx, const ftsb_config *config,
                          void **self);
    void (*destroy)(void *self);

    /* Adds the training chats to out with host->dataset_add(), in a
     * deterministic order for a given configuration (seeded sampling).
     * [instance] */
    ftsb_status (*build)(void *self, ftsb_ctx *ctx, ftsb_dataset_sink *out);

    /* Describes the evaluation-time prompt. [instance] */
    ftsb_status (*prompt)(void *self, ftsb_ctx *ctx, ftsb_prompt_spec *out);
} ftsb_attack_iface;

FTSB_END_DECLS

#endif /* FTSB_ATTACK_H */
