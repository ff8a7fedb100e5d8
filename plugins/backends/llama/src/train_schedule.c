/*
 * train_schedule.c - the learning-rate schedules of train_schedule.h.  Each
 * is the multiplier ("lambda") transformers' LambdaLR applies to the base
 * rate, written out for one step; the step schedule is the closed form of
 * PyTorch's StepLR (which multiplies by gamma once per epoch).  Everything
 * is in double so that 0.85^k and the cosine do not pick up float
 * rounding before the final conversion.
 */
#include <math.h>
#include <string.h>

#include "train_schedule.h"

static const struct {
    const char *name;
    int32_t kind;
} lm_lr_names[] = {
    {"constant", LM_LR_CONSTANT},
    {"step", LM_LR_STEP},
    {"cosine", LM_LR_COSINE},
    {"linear", LM_LR_LINEAR},
};

#define LM_LR_N_NAMES (sizeof lm_lr_names / sizeof lm_lr_names[0])

static const double lm_pi = 3.14159265358979323846;

/* transformers' warm-up factor: step / max(1, warmup) while step < warmup. */
static double lm_warmup_factor(int64_t step, int64_t warmup)
{
    return (double)step / (double)(warmup > 1 ? warmup : 1);
}

float lm_lr_at(const struct lm_lr_schedule *s, int64_t step,
               int64_t steps_per_epoch, int64_t total_steps)
{
    double lr = s->lr, lo = s->min_lr, f;
    int64_t span;

    if (step < 0)
        step = 0;
    if (steps_per_epoch < 1)
        steps_per_epoch = 1;
    if (total_steps < 1)
        total_steps = 1;
    if (s->kind == LM_LR_STEP)
        return (float)(lr * pow(s->gamma,
                                (double)(step / steps_per_epoch)));
    if (step < s->warmup)
        return (float)(lr * lm_warmup_factor(step, s->warmup));
    if (s->kind == LM_LR_CONSTANT)
        return (float)lr;
    if (step >= total_steps)
        return (float)lo;
    span = total_steps - s->warmup;
    if (span < 1)
        span = 1;
    if (s->kind == LM_LR_COSINE) {
        double progress = (double)(step - s->warmup) / (double)span;
        f = 0.5 * (1.0 + cos(lm_pi * progress));
    } else {
        f = (double)(total_steps - step) / (double)span;
        if (f < 0.0)
            f = 0.0;
    }
    return (float)(lo + (lr - lo) * f);
}

ftsb_status lm_lr_check(const struct lm_lr_schedule *s,
                        int64_t steps_per_epoch, int64_t total_steps,
                        struct lm_err *err)
{
    const char *name = lm_lr_kind_name(s->kind);

    if (!name)
        return lm_fail(err, FTSB_E_INVALID, "unknown learning-rate schedule "
                       "%d (known: constant, step, cosine, linear)",
                       (int)s->kind);
    if (!isfinite(s->lr) || s->lr <= 0.0)
        return lm_fail(err, FTSB_E_INVALID, "learning rate %g must be a "
                       "positive number", s->lr);
    if (!(s->min_lr >= 0.0 && s->min_lr <= s->lr))
        return lm_fail(err, FTSB_E_INVALID, "min_lr %g must be between 0 "
                       "and the learning rate %g", s->min_lr,
                       s->lr);
    if (s->warmup < 0)
        return lm_fail(err, FTSB_E_INVALID, "warm-up steps %lld must be 0 "
                       "or more", (long long)s->warmup);
    if (total_steps < 1 || steps_per_epoch < 1)
        return lm_fail(err, FTSB_E_INVALID, "the run has %lld optimizer "
                       "steps (%lld per epoch); a schedule needs at least "
                       "one: give more examples or a smaller batch",
                       (long long)total_steps, (long long)steps_per_epoch);
    if (s->kind == LM_LR_STEP) {
        if (!(s->gamma > 0.0 && s->gamma <= 1.0))
            return lm_fail(err, FTSB_E_INVALID, "the step schedule's gamma "
                           "%g must be in (0, 1] (the paper uses 0.85)",
                           s->gamma);
        if (s->warmup != 0)
            return lm_fail(err, FTSB_E_INVALID, "the step schedule "
                           "(PyTorch StepLR, per epoch) has no warm-up: set "
                           "warm-up steps to 0, or use the constant, cosine "
                           "or linear schedule with warm-up");
    }
    return FTSB_OK;
}

ftsb_status lm_lr_kind_from_name(const char *name, int32_t *kind,
                                 struct lm_err *err)
{
    for (size_t i = 0; name && i < LM_LR_N_NAMES; i++) {
        if (strcmp(name, lm_lr_names[i].name) == 0) {
            *kind = lm_lr_names[i].kind;
            return FTSB_OK;
        }
    }
    return lm_fail(err, FTSB_E_NOT_FOUND, "unknown learning-rate schedule "
                   "'%.60s' (known: constant, step, cosine, linear)",
                   name ? name : "");
}

const char *lm_lr_kind_name(int32_t kind)
{
    for (size_t i = 0; i < LM_LR_N_NAMES; i++)
        if (lm_lr_names[i].kind == kind)
            return lm_lr_names[i].name;
    return NULL;
}
