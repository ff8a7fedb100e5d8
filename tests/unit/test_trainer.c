/*
 * test_trainer.c - the training loop (trainer.h) on a tiny random model
 * with a byte vocabulary: LoRA and full fine-tuning on four chats drive
 * the loss down and make greedy decoding reproduce the trained answers
 * (every answer token is the argmax after training, none before); a run
 * killed with SIGKILL after a checkpoint and started again ends with the
 * same weights, bit for bit, as one that was never interrupted; a stop
 * request saves a checkpoint; a NaN loss stops with the step named.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chat_template.h"
#include "forward.h"
#include "kv_cache.h"
#include "model.h"
#include "model_f32.h"
#include "random_model.h"
#include "tokenizer.h"
#include "train_data.h"
#include "trainer.h"

static char model_path[256], ckpt_path[256];

static void make_model(void)
{
    struct lm_random_shape s = {
        .dim = 64, .n_layer = 2, .n_head = 4, .n_head_kv = 2, .n_ff = 128,
        .n_vocab = LM_RANDOM_MIN_VOCAB, .n_ctx = 256, .std = 0.05f,
    };
    struct lm_err e = {0};
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

    snprintf(model_path, sizeof model_path, "%s/ftsb-trainer-%d.gguf", tmp,
             (int)getpid());
    snprintf(ckpt_path, sizeof ckpt_path, "%s/ftsb-trainer-%d.ckpt", tmp,
             (int)getpid());
    if (lm_random_model_write(model_path, &s, LM_F32, 3, NULL, &e))
        fprintf(stderr, "model: %s\n", e.msg);
}

static struct lm_model *load(struct tok_vocab **v)
{
    struct lm_model *m = NULL;
    struct lm_err e = {0};

    if (lm_model_load(model_path, NULL, &m, &e) ||
        (v && tok_load(m->file, v, &e))) {
        fprintf(stderr, "load: %s\n", e.msg);
        lm_model_free(m);
        return NULL;
    }
    return m;
}

/* Four one-turn chats with short answers. */
static ftsb_message msgs[4][2] = {
    {{"user", "red?"}, {"assistant", "apple"}},
    {{"user", "sky?"}, {"assistant", "blue"}},
    {{"user", "grass?"}, {"assistant", "green"}},
    {{"user", "snow?"}, {"assistant", "white"}},
};

static int build_set(const struct tok_vocab *v, struct lm_train_set *set)
{
    ftsb_example ex[4];
    struct lm_err e = {0};

    memset(ex, 0, sizeof ex);
    for (int i = 0; i < 4; i++) {
        ex[i].struct_size = sizeof ex[i];
        ex[i].chat.messages = msgs[i];
        ex[i].chat.n_messages = 2;
    }
    if (lm_train_set_build(ex, 4, TMPL_LLAMA2, NULL, v, 128, set, &e)) {
        fprintf(stderr, "set: %s\n", e.msg);
        return -1;
    }
    return 0;
}

/* Answer tokens that are the argmax after their prefix, of all of them. */
static void greedy_accuracy(const struct lm_model *m,
                            const struct lm_train_set *set, int *hit,
                            int *all)
{
    struct lm_state s;
    struct lm_kv_pool pool;
    struct lm_err e = {0};

    *hit = *all = 0;
    lm_state_init(&s);
    lm_kv_pool_init(&pool, &m->cfg, 256);
    for (int i = 0; i < set->n; i++) {
        const struct lm_train_seq *q = &set->seq[i];
        struct lm_kv_seq kv = {0};
        struct lm_seg seg = {q->tokens, q->n, &kv, LM_LOGITS_ALL};
        if (lm_kv_seq_alloc(&pool, &kv, q->n, &e) ||
            lm_forward(m, &s, &pool, &seg, 1, &e)) {
            fprintf(stderr, "forward: %s\n", e.msg);
            return;
        }
        for (int t = 0; t < q->n; t++) {
            if (q->targets[t] < 0)
                continue;
            const float *row = s.logits + (int64_t)t * m->cfg.vocab;
            int best = 0;
            for (int j = 1; j < m->cfg.vocab; j++)
                if (row[j] > row[best])
                    best = j;
            *hit += best == q->targets[t];
            (*all)++;
        }
        lm_kv_seq_free(&pool, &kv);
    }
    lm_state_free(&s);
}

static void opts_for(struct lm_train_opts *o, int method)
{
    lm_train_opts_default(o);
    o->method = method;
    o->lora_rank = 8;
    o->lora_alpha = 16;
    o->lora_dropout = 0.0f;
    o->lora_targets = LM_LORA_ALL;
    o->epochs = 40;
    o->batch = 2;
    o->lr.kind = LM_LR_CONSTANT;
    o->lr.lr = method == LM_TRAIN_LORA ? 1e-2 : 2e-3;
    o->clip = 1.0f;
    o->seed = 7;
}

static void learns(int method)
{
    struct tok_vocab *v = NULL;
    struct lm_model *m = load(&v);
    struct lm_train_set set = {0};
    struct lm_train_opts o;
    struct lm_train_result res;
    struct lm_adapter *ad = NULL;
    struct lm_err e = {0};
    int hit0, all0, hit1, all1;

    CHECK(m && v && build_set(v, &set) == 0);
    if (!m || !v)
        return;
    greedy_accuracy(m, &set, &hit0, &all0);
    opts_for(&o, method);
    CHECK(lm_train_run(m, &set, &o, &ad, &res, &e) == FTSB_OK);
    if (e.msg[0])
        fprintf(stderr, "train: %s\n", e.msg);
    CHECK(res.steps == 80);
    if (method == LM_TRAIN_LORA) {
        CHECK(ad != NULL);
        m->lora = ad;
        m->lora_scale = 1.0f;
    } else {
        CHECK(ad == NULL && m->f32 != NULL);
    }
    greedy_accuracy(m, &set, &hit1, &all1);
    printf("%s: loss %.4f -> %.4f over %lld steps; greedy answer tokens "
           "%d/%d -> %d/%d\n", method == LM_TRAIN_LORA ? "LoRA" : "full",
           res.steps ? (double)res.loss[0] : 0.0,
           res.steps ? (double)res.loss[res.steps - 1] : 0.0,
           (long long)res.steps, hit0, all0, hit1, all1);
    for (int64_t i = 0; i < res.steps; i += 8)
        printf(" %.3f", (double)res.loss[i]);
    printf("\n");
    /* LoRA leaves the output matrix frozen, and this model's small random
     * output weights bound how sharp its predictions can get */
    CHECK(res.steps && res.loss[res.steps - 1] <
                           (method == LM_TRAIN_LORA ? 0.6f : 0.1f) * res.loss[0]);
    CHECK(hit0 < all0 / 4);
    CHECK(hit1 == all1);
    m->lora = NULL;
    lm_adapter_free(ad);
    lm_train_result_free(&res);
    lm_train_set_free(&set);
    tok_free(v);
    lm_model_free(m);
}

TEST(lora_learns) { learns(LM_TRAIN_LORA); }
TEST(full_learns) { learns(LM_TRAIN_FULL); }

/* Kills the process with SIGKILL once step `kill_at` is done (its
 * checkpoint, if due, is on disk by then). */
static int kill_at;
static void progress_kill(void *ud, const struct lm_train_progress *p)
{
    (void)ud;
    if (p->step == kill_at)
        raise(SIGKILL);
}

/* Trains with checkpoints every 3 steps; returns a copy of the trained
 * weights (LoRA: A and B of every pair; full: the F32 block). */
static float *train_copy(int method, int64_t *n_out, int kill)
{
    struct tok_vocab *v = NULL;
    struct lm_model *m = load(&v);
    struct lm_train_set set = {0};
    struct lm_train_opts o;
    struct lm_train_result res;
    struct lm_adapter *ad = NULL;
    struct lm_err e = {0};
    float *copy = NULL;

    if (!m || build_set(v, &set))
        return NULL;
    opts_for(&o, method);
    o.epochs = 5; /* 10 steps */
    o.lora_dropout = 0.1f; /* the masks must be reproduced as well */
    o.ckpt_path = ckpt_path;
    o.ckpt_every = 3;
    o.config_hash = 1234;
    kill_at = kill;
    o.progress = kill ? progress_kill : NULL;
    if (lm_train_run(m, &set, &o, &ad, &res, &e)) {
        fprintf(stderr, "train: %s\n", e.msg);
        goto out;
    }
    if (method == LM_TRAIN_FULL) {
        *n_out = m->n_f32;
        copy = malloc((size_t)m->n_f32 * sizeof(float));
        memcpy(copy, m->f32, (size_t)m->n_f32 * sizeof(float));
    } else {
        int64_t n = 0;
        for (int pass = 0; pass < 2; pass++) {
            int64_t k = 0;
            for (int64_t l = 0; l < ad->n_layer; l++)
                for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
                    const struct lm_lora_pair *p = lm_adapter_pair(ad, l, t);
                    int64_t na = ad->rank * p->n_in, nb = p->n_out * ad->rank;
                    if (!p->a)
                        continue;
                    if (pass) {
                        memcpy(copy + k, p->a, (size_t)na * sizeof(float));
                        memcpy(copy + k + na, p->b, (size_t)nb * sizeof(float));
                    }
                    k += na + nb;
                }
            n = k;
            if (!pass)
                copy = malloc((size_t)n * sizeof(float));
        }
        *n_out = n;
    }
    lm_train_result_free(&res);
out:
    lm_adapter_free(ad);
    lm_train_set_free(&set);
    tok_free(v);
    lm_model_free(m);
    return copy;
}

static void resume_equal(int method)
{
    int64_t n1 = 0, n2 = 0;
    float *whole, *resumed;
    int status = 0;

    unlink(ckpt_path);
    whole = train_copy(method, &n1, 0);
    unlink(ckpt_path);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        train_copy(method, &n2, 5); /* killed after step 5: checkpoint 3 */
        _exit(0);
    }
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CHECK(access(ckpt_path, F_OK) == 0);
    resumed = train_copy(method, &n2, 0);
    CHECK(whole && resumed && n1 == n2 && n1 > 0);
    if (whole && resumed && n1 == n2) {
        int64_t diff = 0;
        for (int64_t i = 0; i < n1; i++)
            diff += memcmp(&whole[i], &resumed[i], sizeof(float)) != 0;
        printf("%s: killed after step 5, resumed from the step-3 checkpoint: "
               "%lld of %lld weights differ\n",
               method == LM_TRAIN_LORA ? "LoRA" : "full", (long long)diff,
               (long long)n1);
        CHECK(diff == 0);
    }
    free(whole);
    free(resumed);
    unlink(ckpt_path);
}

TEST(lora_resume_after_sigkill) { resume_equal(LM_TRAIN_LORA); }
TEST(full_resume_after_sigkill) { resume_equal(LM_TRAIN_FULL); }

static int cancel_now(void *ud)
{
    (void)ud;
    return 1;
}

TEST(cancel_saves_checkpoint)
{
    struct tok_vocab *v = NULL;
    struct lm_model *m = load(&v);
    struct lm_train_set set = {0};
    struct lm_train_opts o;
    struct lm_train_result res;
    struct lm_adapter *ad = NULL;
    struct lm_err e = {0};

    CHECK(m && build_set(v, &set) == 0);
    unlink(ckpt_path);
    opts_for(&o, LM_TRAIN_LORA);
    o.ckpt_path = ckpt_path;
    o.cancelled = cancel_now;
    CHECK(lm_train_run(m, &set, &o, &ad, &res, &e) == FTSB_E_CANCELLED);
    CHECK_CONTAINS(e.msg, "training stopped at step 1 of 80");
    CHECK(access(ckpt_path, F_OK) == 0);
    /* a run with other settings refuses that checkpoint */
    o.cancelled = NULL;
    o.seed = 8;
    CHECK(lm_train_run(m, &set, &o, &ad, &res, &e) == FTSB_E_INVALID);
    printf("other seed: %s\n", e.msg);
    unlink(ckpt_path);
    lm_train_set_free(&set);
    tok_free(v);
    lm_model_free(m);
}

TEST(nan_loss_names_the_step)
{
    struct tok_vocab *v = NULL;
    struct lm_model *m = load(&v);
    struct lm_train_set set = {0};
    struct lm_train_opts o;
    struct lm_train_result res;
    struct lm_adapter *ad = NULL;
    struct lm_err e = {0};

    CHECK(m && build_set(v, &set) == 0);
    opts_for(&o, LM_TRAIN_FULL);
    CHECK(lm_model_to_f32(m, &e) == FTSB_OK);
    m->f32[m->n_f32 - 1] = NAN; /* the last FFN weight */
    CHECK(lm_train_run(m, &set, &o, &ad, &res, &e) == FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "the loss is NaN at step 1");
    printf("%s\n", e.msg);
    lm_train_set_free(&set);
    tok_free(v);
    lm_model_free(m);
}

TEST(bad_options)
{
    struct tok_vocab *v = NULL;
    struct lm_model *m = load(&v);
    struct lm_train_set set = {0};
    struct lm_train_opts o;
    struct lm_train_result res;
    struct lm_adapter *ad = NULL;
    struct lm_err e = {0};

    CHECK(m && build_set(v, &set) == 0);
    opts_for(&o, LM_TRAIN_LORA);
    o.lora_dropout = 1.5f;
    CHECK(lm_train_run(m, &set, &o, &ad, &res, &e) == FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "lora_dropout");
    opts_for(&o, LM_TRAIN_LORA);
    o.epochs = 0;
    CHECK(lm_train_run(m, &set, &o, &ad, &res, &e) == FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "epochs");
    lm_train_set_free(&set);
    tok_free(v);
    lm_model_free(m);
}

int main(void)
{
    make_model();
    RUN(bad_options);
    RUN(lora_learns);
    RUN(full_learns);
    RUN(lora_resume_after_sigkill);
    RUN(full_resume_after_sigkill);
    RUN(cancel_saves_checkpoint);
    RUN(nan_loss_names_the_step);
    unlink(model_path);
    return test_summary();
}
