/*
 * trainer.h - the training loop of the Llama engine: epochs of shuffled
 * sequences (train_data.h), global batches split into micro-batches that
 * accumulate gradients, the loss averaged over every trained token of an
 * optimizer step, gradient clipping, AdamW, a learning-rate schedule
 * (train_schedule.h), checkpoints at step boundaries (train_ckpt.h) and
 * resumption from them, progress and the loss curve.  LoRA (the model
 * frozen, a new adapter trained) or full fine-tuning (the model converted
 * to its F32 master block and trained in place).
 *
 * Reproducibility: everything random is a pure function of the seeds and
 * the step (the epoch order, the dropout masks, the LoRA initialisation),
 * so a run resumed from a checkpoint computes what the uninterrupted run
 * would have, bit for bit with the same BLAS thread count.
 *
 * Thread contract: one run at a time per model; the only threads are
 * OpenBLAS's.
 */
#ifndef LM_TRAINER_H
#define LM_TRAINER_H

#include <stdint.h>

#include "adapter.h"
#include "lm_err.h"
#include "model.h"
#include "train_data.h"
#include "train_schedule.h"

enum lm_train_method { LM_TRAIN_LORA = 0, LM_TRAIN_FULL = 1 };

/* What a progress callback sees after each optimizer step. */
struct lm_train_progress {
    int64_t step, total_steps; /* steps done, of */
    int64_t epoch;             /* 0-based */
    double loss;               /* mean loss of the step */
    double lr;                 /* rate the step used */
    double grad_norm;          /* before clipping */
    double tokens_per_s;       /* positions run per second, this run */
    double eta_s;              /* seconds left, estimated */
};

struct lm_train_opts {
    int32_t method;          /* enum lm_train_method */
    /* LoRA */
    int32_t lora_rank;       /* R >= 1 */
    float lora_alpha;        /* scale = alpha / R */
    float lora_dropout;      /* [0, 1) */
    unsigned lora_targets;   /* bit mask of 1 << LM_LORA_Q ... */
    /* schedule and optimiser */
    int32_t epochs;          /* >= 1 */
    int32_t batch;           /* examples per optimizer step (global batch) */
    int32_t micro_rows;      /* rows (tokens) per micro-batch, >= 1; a
                                sequence longer than that runs alone */
    struct lm_lr_schedule lr;
    float beta1, beta2, eps, weight_decay;
    float clip;              /* max global gradient norm; 0 = no clipping */
    uint64_t seed;           /* shuffle, dropout, LoRA initialisation */
    int shuffle;             /* 0: every epoch in dataset order */
    /* checkpoints: path (NULL = none), every how many steps (0 = only at
     * the end of each epoch); config_hash/config_text identify the run */
    const char *ckpt_path;
    int32_t ckpt_every;
    uint64_t config_hash;
    const char *config_text;
    /* the host's parallel-for for the products' scratch (matmul.h);
     * zeroed = the calling thread only */
    struct lm_parallel par;
    /* callbacks (each may be NULL) */
    void (*progress)(void *ud, const struct lm_train_progress *p);
    void (*log)(void *ud, const char *msg);
    int (*cancelled)(void *ud);
    void *ud;
};

/* Sets the paper's defaults (MISSION-BRIEF 1.4): full fine-tuning, 1
 * epoch, batch 10, lr 5e-5 with the per-epoch step decay x0.85, AdamW
 * (0.9, 0.999, 1e-8, weight decay 0), no clipping, seed 42, shuffled,
 * 2048 rows per micro-batch, no checkpoints; for LoRA rank 8, alpha 32,
 * dropout 0.05 on q and v (its Table 11). */
void lm_train_opts_default(struct lm_train_opts *o);

/* What a finished run leaves. */
struct lm_train_result {
    int64_t steps;           /* optimizer steps done in all (with resumed) */
    int64_t resumed_from;    /* step of the checkpoint resumed, or 0 */
    float *loss;             /* (steps) mean loss per step, malloc'ed */
    double seconds;          /* wall time of this process's part */
    int64_t tokens;          /* positions run by this process */
};

void lm_train_result_free(struct lm_train_result *r);

/*
 * Trains on set.  LoRA: model stays unchanged and *lora_out receives the
 * trained adapter (caller frees).  Full: model is converted to F32
 * (lm_model_to_f32) and trained in place; *lora_out is NULL.
 * Errors: FTSB_E_INVALID (options, with the option named; a NaN or
 * infinite loss or gradient, naming the step and the examples of the
 * batch: the last good checkpoint is kept), FTSB_E_CANCELLED (the
 * checkpoint of the last finished step is written first, when
 * checkpoints are on), the errors of the passes and of checkpoints.
 */
ftsb_status lm_train_run(struct lm_model *model, const struct lm_train_set *set,
                         const struct lm_train_opts *o,
                         struct lm_adapter **lora_out,
                         struct lm_train_result *res, struct lm_err *err);

#endif /* LM_TRAINER_H */
