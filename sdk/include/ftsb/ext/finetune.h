/*
 * ftsb/ext/finetune.h - extension "ftsb.backend.finetune/1": a backend
 * that can be fine-tuned.
 *
 * Asked for with iface->get_extension(self, FTSB_EXT_FINETUNE).  Training
 * takes a dataset of chats and a configuration validated against the
 * extension's own key list, and returns a new instance of the same
 * backend plugin: the fine-tuned model.  The caller destroys it with the
 * backend's destroy().  A remote API that cannot train does not offer it.
 */
#ifndef FTSB_EXT_FINETUNE_H
#define FTSB_EXT_FINETUNE_H

#include "../backend.h"

FTSB_BEGIN_DECLS

#define FTSB_EXT_FINETUNE "ftsb.backend.finetune/1"

typedef struct ftsb_backend_finetune {
    uint32_t struct_size;

    /* The training options this backend accepts ("method", "epochs",
     * "lr"...), validated by the host as plugin configurations are. */
    const ftsb_config_key *config_keys;
    uint32_t n_config_keys;

    /* Trains on data (examples with a chat) and stores the new instance
     * in *tuned.  Long work: reports progress, and checks
     * host->cancelled(ctx) between steps.  self is unchanged. [instance] */
    ftsb_status (*finetune)(void *self, ftsb_ctx *ctx,
                            const ftsb_dataset *data,
                            const ftsb_config *options, void **tuned);
} ftsb_backend_finetune;

FTSB_END_DECLS

#endif /* FTSB_EXT_FINETUNE_H */
