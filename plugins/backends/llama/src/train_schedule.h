/*
 * train_schedule.h - learning-rate schedules of the trainer, as pure
 * functions of the optimizer step, so that a resumed run computes the same
 * rates without any scheduler state in the checkpoint.  The kinds follow
 * the code the paper and the usual recipes run, to the formula:
 *
 *   constant  lr (with optional warm-up: transformers'
 *             get_constant_schedule_with_warmup);
 *   step      lr * gamma^epoch, PyTorch's StepLR(step_size=1, gamma)
 *             stepped once per epoch, as llama-recipes (the paper's
 *             Llama-2 code, MISSION-BRIEF 1.4: gamma 0.85, no warm-up)
 *             does; epoch = step / steps_per_epoch;
 *   cosine    transformers' get_cosine_with_min_lr_schedule_with_warmup
 *             (num_cycles 0.5): after warm-up,
 *             min_lr + (lr - min_lr) * 0.5 * (1 + cos(pi * progress)),
 *             progress = (step - warmup) / max(1, total - warmup);
 *             min_lr 0 is get_cosine_schedule_with_warmup;
 *   linear    transformers' get_linear_schedule_with_warmup, generalised
 *             the same way to end at min_lr:
 *             min_lr + (lr - min_lr) * max(0, (total - step) /
 *             max(1, total - warmup)).
 *
 * Warm-up convention: transformers' exactly.  During warm-up the rate is
 * lr * step / max(1, warmup) with step counted from 0 and the scheduler
 * stepped after each optimizer step, so the first optimizer step runs
 * with lambda(0) = 0 (an update of zero size that still feeds AdamW's
 * moments) and step `warmup` is the first at the full rate.  We keep it,
 * rather than the (step + 1) / warmup variant some codebases use, so that
 * a run here and the same settings under a Hugging Face Trainer take the
 * same steps; the header of a log can say "step 0 has lr 0" and be right
 * in both.  Past the last step (step >= total) cosine and linear stay at
 * min_lr (transformers' cosine would rise again; no step is run there).
 *
 * Thread contract: pure functions, reentrant.
 */
#ifndef LM_TRAIN_SCHEDULE_H
#define LM_TRAIN_SCHEDULE_H

#include <stdint.h>

#include "lm_err.h"

enum lm_lr_kind {
    LM_LR_CONSTANT = 0,
    LM_LR_STEP = 1,
    LM_LR_COSINE = 2,
    LM_LR_LINEAR = 3,
};

struct lm_lr_schedule {
    int32_t kind;    /* enum lm_lr_kind */
    /* double, as in Python: 0.85f^4 would differ from PyTorch's rate in
     * the 7th digit before the final rounding to float */
    double lr;       /* the base (peak) rate, > 0 */
    double min_lr;   /* cosine, linear: the rate at the end, 0 <= min_lr <= lr */
    double gamma;    /* step: the factor per epoch, 0 < gamma <= 1 (0.85) */
    int64_t warmup;  /* warm-up optimizer steps (constant, cosine, linear) */
};

/*
 * The rate of 0-based optimizer step `step`.  steps_per_epoch (step) and
 * total_steps (cosine, linear) are the run's; values < 1 are read as 1, so
 * the function never divides by zero, but lm_lr_check refuses them first.
 * Computed in double, returned as float.
 */
float lm_lr_at(const struct lm_lr_schedule *s, int64_t step,
               int64_t steps_per_epoch, int64_t total_steps);

/*
 * Checks s for a run of total_steps steps with steps_per_epoch steps per
 * epoch: a known kind, lr finite and > 0, 0 <= min_lr <= lr, gamma in
 * (0, 1] for step, warmup >= 0 (and 0 for step, which has no warm-up in
 * PyTorch's StepLR), steps >= 1.  FTSB_E_INVALID naming the bad value.
 */
ftsb_status lm_lr_check(const struct lm_lr_schedule *s,
                        int64_t steps_per_epoch, int64_t total_steps,
                        struct lm_err *err);

/* "constant", "step", "cosine", "linear" -> kind; FTSB_E_NOT_FOUND with
 * the list of names for anything else. */
ftsb_status lm_lr_kind_from_name(const char *name, int32_t *kind,
                                 struct lm_err *err);

/* The name of kind, or NULL. */
const char *lm_lr_kind_name(int32_t kind);

#endif /* LM_TRAIN_SCHEDULE_H */
