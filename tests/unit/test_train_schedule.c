/*
 * test_train_schedule.c - learning-rate schedules (src/train_schedule.c)
 * against values computed by hand from the formulas of PyTorch's StepLR
 * and transformers' get_*_schedule_with_warmup (the first optimizer step
 * uses lambda(0), so warm-up starts at 0), the checks of a schedule, and
 * the names.
 */
#include <math.h>
#include <stdio.h>

#include "test.h"
#include "train_schedule.h"

/* Relative check at float precision. */
#define CHECK_LR(got, want)                                                \
    do {                                                                   \
        double g_ = (got), w_ = (want);                                    \
        if (fabs(g_ - w_) > 1e-6 * fabs(w_) + 1e-30) {                     \
            printf("  %s:%d: %s = %.9g, want %.9g\n", __FILE__, __LINE__,  \
                   #got, g_, w_);                                          \
            test_failed_ = 1;                                              \
        }                                                                  \
    } while (0)

TEST(constant)
{
    struct lm_lr_schedule s = {LM_LR_CONSTANT, 1e-3, 0, 0, 0};

    CHECK_LR(lm_lr_at(&s, 0, 10, 100), 1e-3);
    CHECK_LR(lm_lr_at(&s, 99, 10, 100), 1e-3);
    s.warmup = 4;
    CHECK_LR(lm_lr_at(&s, 0, 10, 100), 0.0);
    CHECK_LR(lm_lr_at(&s, 1, 10, 100), 2.5e-4);
    CHECK_LR(lm_lr_at(&s, 2, 10, 100), 5e-4);
    CHECK_LR(lm_lr_at(&s, 3, 10, 100), 7.5e-4);
    CHECK_LR(lm_lr_at(&s, 4, 10, 100), 1e-3);
    CHECK_LR(lm_lr_at(&s, 500, 10, 100), 1e-3);
}

TEST(step_paper)
{
    /* MISSION-BRIEF 1.4: 5 epochs at 5e-5 -> 5e-5, 4.25e-5, 3.61e-5,
     * 3.07e-5, 2.61e-5; 10 steps per epoch (100-shot, batch 10) */
    struct lm_lr_schedule s = {LM_LR_STEP, 5e-5, 0, 0.85, 0};

    CHECK_LR(lm_lr_at(&s, 0, 10, 50), 5e-5);
    CHECK_LR(lm_lr_at(&s, 9, 10, 50), 5e-5);
    CHECK_LR(lm_lr_at(&s, 10, 10, 50), 4.25e-5);
    CHECK_LR(lm_lr_at(&s, 19, 10, 50), 4.25e-5);
    CHECK_LR(lm_lr_at(&s, 20, 10, 50), 3.6125e-5);
    CHECK_LR(lm_lr_at(&s, 30, 10, 50), 3.070625e-5);
    CHECK_LR(lm_lr_at(&s, 49, 10, 50), 2.61003125e-5);
    /* 10-shot: one step per epoch */
    CHECK_LR(lm_lr_at(&s, 4, 1, 5), 2.61003125e-5);
}

TEST(cosine)
{
    struct lm_lr_schedule s = {LM_LR_COSINE, 1e-4, 0, 0, 2};

    CHECK_LR(lm_lr_at(&s, 0, 5, 10), 0.0);
    CHECK_LR(lm_lr_at(&s, 1, 5, 10), 5e-5);
    CHECK_LR(lm_lr_at(&s, 2, 5, 10), 1e-4);
    /* progress 2/8: 0.5 (1 + cos(pi/4)) = 0.853553391 */
    CHECK_LR(lm_lr_at(&s, 4, 5, 10), 8.53553391e-5);
    CHECK_LR(lm_lr_at(&s, 6, 5, 10), 5e-5);
    /* progress 7/8: 0.5 (1 + cos(7 pi/8)) = 0.0380602337 */
    CHECK_LR(lm_lr_at(&s, 9, 5, 10), 3.80602337e-6);
    CHECK_LR(lm_lr_at(&s, 10, 5, 10), 0.0);
    CHECK_LR(lm_lr_at(&s, 15, 5, 10), 0.0);

    /* min_lr 1e-5 (transformers' min_lr_rate 0.1): 0.1 + 0.9 f */
    s.min_lr = 1e-5;
    CHECK_LR(lm_lr_at(&s, 0, 5, 10), 0.0); /* warm-up still from 0 */
    CHECK_LR(lm_lr_at(&s, 2, 5, 10), 1e-4);
    CHECK_LR(lm_lr_at(&s, 6, 5, 10), 5.5e-5);
    CHECK_LR(lm_lr_at(&s, 9, 5, 10), 1e-5 + 9e-5 * 0.0380602337);
    CHECK_LR(lm_lr_at(&s, 12, 5, 10), 1e-5);

    /* no warm-up: step 0 at the full rate */
    s.min_lr = 0;
    s.warmup = 0;
    CHECK_LR(lm_lr_at(&s, 0, 5, 4), 1e-4);
    CHECK_LR(lm_lr_at(&s, 2, 5, 4), 5e-5);

    /* warm-up longer than the run: all warm-up */
    s.warmup = 20;
    CHECK_LR(lm_lr_at(&s, 5, 5, 10), 2.5e-5);
    /* warm-up of one step: lambda(0) = 0/1 */
    s.warmup = 1;
    CHECK_LR(lm_lr_at(&s, 0, 5, 10), 0.0);
    CHECK_LR(lm_lr_at(&s, 1, 5, 10), 1e-4);
}

TEST(linear)
{
    struct lm_lr_schedule s = {LM_LR_LINEAR, 1e-4, 0, 0, 2};

    CHECK_LR(lm_lr_at(&s, 0, 5, 10), 0.0);
    CHECK_LR(lm_lr_at(&s, 1, 5, 10), 5e-5);
    CHECK_LR(lm_lr_at(&s, 2, 5, 10), 1e-4);   /* (10-2)/8 */
    CHECK_LR(lm_lr_at(&s, 6, 5, 10), 5e-5);   /* 4/8 */
    CHECK_LR(lm_lr_at(&s, 9, 5, 10), 1.25e-5); /* 1/8 */
    CHECK_LR(lm_lr_at(&s, 10, 5, 10), 0.0);
    s.warmup = 0;
    CHECK_LR(lm_lr_at(&s, 0, 5, 4), 1e-4);
    CHECK_LR(lm_lr_at(&s, 3, 5, 4), 2.5e-5);
    s.min_lr = 2e-5;
    CHECK_LR(lm_lr_at(&s, 3, 5, 4), 2e-5 + 8e-5 * 0.25);
    CHECK_LR(lm_lr_at(&s, 4, 5, 4), 2e-5);
}

TEST(checks)
{
    struct lm_lr_schedule s = {LM_LR_STEP, 5e-5, 0, 0.85, 0};
    struct lm_err e = {0};

    CHECK_INT(lm_lr_check(&s, 10, 50, &e), FTSB_OK);
    s.warmup = 3;
    CHECK_INT(lm_lr_check(&s, 10, 50, &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "has no warm-up");
    s.warmup = 0;
    s.gamma = 0;
    CHECK_INT(lm_lr_check(&s, 10, 50, &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "gamma 0 must be in (0, 1]");
    s.gamma = 0.85;
    CHECK_INT(lm_lr_check(&s, 0, 0, &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "at least one");
    s.kind = LM_LR_COSINE;
    s.lr = -1;
    CHECK_INT(lm_lr_check(&s, 1, 1, &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "learning rate -1 must be a positive number");
    s.lr = NAN;
    CHECK_INT(lm_lr_check(&s, 1, 1, &e), FTSB_E_INVALID);
    s.lr = 1e-4;
    s.min_lr = 2e-4;
    CHECK_INT(lm_lr_check(&s, 1, 1, &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "min_lr 0.0002 must be between 0");
    s.min_lr = 0;
    s.warmup = -1;
    CHECK_INT(lm_lr_check(&s, 1, 1, &e), FTSB_E_INVALID);
    s.warmup = 5;
    CHECK_INT(lm_lr_check(&s, 1, 1, &e), FTSB_OK);
    s.kind = 9;
    CHECK_INT(lm_lr_check(&s, 1, 1, &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "known: constant, step, cosine, linear");
}

TEST(names)
{
    static const char *const names[] = {"constant", "step", "cosine",
                                        "linear"};
    struct lm_err e = {0};
    int32_t k = -1;

    for (int32_t i = 0; i < 4; i++) {
        CHECK_INT(lm_lr_kind_from_name(names[i], &k, &e), FTSB_OK);
        CHECK_INT(k, i);
        CHECK_STR(lm_lr_kind_name(i), names[i]);
    }
    CHECK_INT(lm_lr_kind_from_name("Cosine", &k, &e), FTSB_E_NOT_FOUND);
    CHECK_CONTAINS(e.msg, "unknown learning-rate schedule 'Cosine' (known: "
                   "constant, step, cosine, linear)");
    CHECK_INT(lm_lr_kind_from_name(NULL, &k, &e), FTSB_E_NOT_FOUND);
    CHECK(lm_lr_kind_name(4) == NULL);
}

int main(void)
{
    RUN(constant);
    RUN(step_paper);
    RUN(cosine);
    RUN(linear);
    RUN(checks);
    RUN(names);
    return test_summary();
}
