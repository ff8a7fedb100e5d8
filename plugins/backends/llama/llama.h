/*
 * llama.h - what the two halves of the `llama` backend plugin share:
 * plugin.c (loading a model, generating) and finetune.c (the fine-tuning
 * extension, which makes new instances from an existing one).  Internal to
 * the plugin; nothing here is exported from the .so.
 */
#ifndef LLAMA_PLUGIN_H
#define LLAMA_PLUGIN_H

#include <ftsb/ftsb.h>

#include <stdbool.h>
#include <stdint.h>

#include "adapter.h"
#include "chat_template.h"
#include "forward.h"
#include "model.h"
#include "tokenizer.h"

#define LLAMA_VERSION "1.1.0"

extern const ftsb_host *llama_host;

/* One backend instance. */
struct llama {
    char *path;            /* the model file */
    struct lm_model *model;
    struct tok_vocab *vocab;
    struct lm_state st;
    enum tmpl_id tmpl;     /* TMPL_NONE: raw */
    bool add_bos;          /* raw only */
    int32_t batch;
    int64_t kv_budget;     /* positions */
    uint64_t hash;         /* of the model's weights: the file's bytes, or
                              the trained F32 weights of a fine-tuned copy */
    bool tuned_full;       /* weights trained in memory (full fine-tuning) */
    int32_t file_wtype;    /* type of the file's projection weights (enum
                              lm_type), kept after a conversion to F32 */
    struct lm_adapter *adapter; /* owned, attached to model; NULL = none */
    float lora_scale;      /* the user's multiplier of the adapter */
    uint64_t adapter_hash; /* names the adapter's content */
};

void llama_destroy(void *self);
const char *llama_template_name(const struct llama *b);
ftsb_status llama_fail_lm(ftsb_ctx *ctx, const struct lm_err *e);

/*
 * Attaches ad to b's model at scale after checking that it fits; b then
 * owns it (a previous adapter is freed) and the fingerprint carries
 * ad_hash and scale.  ad == NULL detaches.  On failure nothing changes
 * and the caller keeps ad.
 */
ftsb_status llama_attach_adapter(struct llama *b, struct lm_adapter *ad,
                                 float scale, uint64_t ad_hash,
                                 struct lm_err *e);

/* The host's thread pool (ABI 1.2) as the engine's parallel-for; zeroed
 * (run inline) when the host has none or only one thread. */
struct lm_parallel llama_host_parallel(void);

/* Lends it to a scratch. */
void llama_lend_threads(struct lm_scratch *ws);

/* The fine-tuning extension (finetune.c), for get_extension. */
const void *llama_extension(void *self, const char *id);

#endif /* LLAMA_PLUGIN_H */
