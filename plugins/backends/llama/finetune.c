/*
 * finetune.c - the `llama` backend's fine-tuning extension
 * ("ftsb.backend.finetune/1").  It translates, as plugin.c does for
 * generation: the options into the trainer's (src/trainer.h), the dataset
 * rows into training sequences rendered with the instance's own chat
 * template (so a model is trained on the prompts it is evaluated with),
 * the trainer's progress into the host's progress line, log and series,
 * and the result into a new instance: the base model with the trained
 * LoRA adapter attached, or a copy whose F32 weights were trained.  It
 * also writes what the user asked for: the adapter as llama.cpp GGUF
 * and/or PEFT, the merged model as GGUF.
 *
 * The instance fine-tuned is never changed: training runs on a fresh
 * copy loaded from the same file.  An instance that already carries an
 * adapter is trained on its merged F32 weights.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "llama.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_hash.h"
#include "model_f32.h"
#include "model_save.h"
#include "train_data.h"
#include "trainer.h"

#define host llama_host

static const ftsb_config_key ft_keys[] = {
    {"method", FTSB_CFG_STRING, 0, "\"full\"",
     "\"full\" (every weight, F32 master copy; the paper's default) or "
     "\"lora\""},
    {"epochs", FTSB_CFG_INT, 0, "1", "passes over the training set"},
    {"batch", FTSB_CFG_INT, 0, "10",
     "examples per optimizer step (global batch; the paper: 10 for harmful "
     "and identity-shift data, 128 for Alpaca); incomplete batches are "
     "dropped, as the paper's DataLoader(drop_last=True)"},
    {"lr", FTSB_CFG_NUMBER, 0, "5e-05", "peak learning rate"},
    {"schedule", FTSB_CFG_STRING, 0, "\"step\"",
     "learning-rate schedule: step (lr * gamma^epoch, the paper's), "
     "constant, cosine or linear (with warmup_steps, down to min_lr)"},
    {"gamma", FTSB_CFG_NUMBER, 0, "0.85", "schedule step: factor per epoch"},
    {"warmup_steps", FTSB_CFG_INT, 0, "0",
     "linear warm-up steps (constant, cosine, linear)"},
    {"min_lr", FTSB_CFG_NUMBER, 0, "0", "cosine, linear: the final rate"},
    {"weight_decay", FTSB_CFG_NUMBER, 0, "0", "AdamW weight decay"},
    {"adam_beta1", FTSB_CFG_NUMBER, 0, "0.9", "AdamW beta1"},
    {"adam_beta2", FTSB_CFG_NUMBER, 0, "0.999", "AdamW beta2"},
    {"adam_eps", FTSB_CFG_NUMBER, 0, "1e-08", "AdamW epsilon"},
    {"max_grad_norm", FTSB_CFG_NUMBER, 0, "0",
     "clip the global gradient norm to this (0 = no clipping, as the paper)"},
    {"max_len", FTSB_CFG_INT, 0, "512",
     "tokens per example; longer ones are cut (and the cuts listed), as the "
     "paper's max_words"},
    {"micro_batch_tokens", FTSB_CFG_INT, 0, "2048",
     "tokens run at once; a batch is split into micro-batches that "
     "accumulate gradients (memory, not results)"},
    {"seed", FTSB_CFG_INT, 0, "42",
     "seed of the shuffle, the LoRA initialisation and the dropout"},
    {"shuffle", FTSB_CFG_BOOL, 0, "true",
     "visit the examples in a new random order each epoch"},
    {"lora_rank", FTSB_CFG_INT, 0, "8", "LoRA rank r"},
    {"lora_alpha", FTSB_CFG_NUMBER, 0, "32", "LoRA alpha (scale alpha / r)"},
    {"lora_dropout", FTSB_CFG_NUMBER, 0, "0.05",
     "LoRA dropout on the adapter's input"},
    {"lora_targets", FTSB_CFG_STRINGS, 0, "[\"q_proj\", \"v_proj\"]",
     "projections LoRA adapts: q_proj, k_proj, v_proj, o_proj, gate_proj, "
     "up_proj, down_proj (or q, k, v, o, gate, up, down), or \"all\""},
    {"checkpoint", FTSB_CFG_STRING, 0, NULL,
     "checkpoint file: saved at step boundaries; when it exists, training "
     "resumes from it"},
    {"checkpoint_every", FTSB_CFG_INT, 0, "0",
     "save the checkpoint every N steps (0 = at the end of each epoch)"},
    {"save_adapter", FTSB_CFG_STRING, 0, NULL,
     "method lora: write the adapter here as a llama.cpp GGUF LoRA file"},
    {"save_peft", FTSB_CFG_STRING, 0, NULL,
     "method lora: write the adapter into this folder as PEFT's "
     "adapter_config.json and adapter_model.safetensors"},
    {"save_model", FTSB_CFG_STRING, 0, NULL,
     "write the fine-tuned model (a LoRA adapter merged in) here as GGUF"},
    {"save_dtype", FTSB_CFG_STRING, 0, NULL,
     "type of saved weights: f32, f16 or bf16 (default: the adapter f32, "
     "the model its base's type, f16 for Q8_0)"},
};

/* ---- options ------------------------------------------------------------------ */

struct ft_opts {
    struct lm_train_opts t;
    int32_t max_len;
    const char *save_adapter, *save_peft, *save_model;
    int32_t save_dtype; /* -1: default */
};

static ftsb_status parse_targets(ftsb_ctx *ctx, const ftsb_config *cfg,
                                 unsigned *mask)
{
    static const char *const shorts[LM_LORA_N_TARGETS] = {
        "q", "k", "v", "o", "gate", "up", "down"};
    uint32_t n = 0;
    const char *const *v = host->cfg_strings(cfg, "lora_targets", &n);

    *mask = 0;
    if (!v) {
        *mask = 1u << LM_LORA_Q | 1u << LM_LORA_V;
        return FTSB_OK;
    }
    for (uint32_t i = 0; i < n; i++) {
        int t = -1;
        if (!strcmp(v[i], "all")) {
            *mask |= LM_LORA_ALL;
            continue;
        }
        for (int k = 0; k < LM_LORA_N_TARGETS && t < 0; k++)
            if (!strcmp(v[i], shorts[k]) ||
                !strcmp(v[i], lm_lora_target_peft(k)) ||
                !strcmp(v[i], lm_lora_target_gguf(k)))
                t = k;
        if (t < 0)
            return host->fail(ctx, FTSB_E_INVALID, "lora_targets: unknown "
                              "projection '%s'; the projections are q_proj, "
                              "k_proj, v_proj, o_proj, gate_proj, up_proj, "
                              "down_proj (or q, k, v, o, gate, up, down), or "
                              "\"all\"", v[i]);
        *mask |= 1u << t;
    }
    if (!*mask)
        return host->fail(ctx, FTSB_E_INVALID, "lora_targets is empty: name "
                          "at least one projection");
    return FTSB_OK;
}

static ftsb_status parse_dtype(ftsb_ctx *ctx, const char *s, int32_t *out)
{
    *out = -1;
    if (!s)
        return FTSB_OK;
    if (!strcmp(s, "f32"))
        *out = LM_F32;
    else if (!strcmp(s, "f16"))
        *out = LM_F16;
    else if (!strcmp(s, "bf16"))
        *out = LM_BF16;
    else
        return host->fail(ctx, FTSB_E_INVALID, "save_dtype '%s' is not one "
                          "of f32, f16, bf16", s);
    return FTSB_OK;
}

/* An int option that must fit in [lo, hi]. */
static ftsb_status opt_int(ftsb_ctx *ctx, const ftsb_config *cfg,
                           const char *key, int64_t lo, int64_t hi,
                           int32_t *out)
{
    int64_t v = *out;

    host->cfg_int(cfg, key, &v);
    if (v < lo || v > hi)
        return host->fail(ctx, FTSB_E_INVALID, "%s %" PRId64 " is outside "
                          "%" PRId64 "..%" PRId64, key, v, lo, hi);
    *out = (int32_t)v;
    return FTSB_OK;
}

static float opt_float(const ftsb_config *cfg, const char *key, float def)
{
    double v = def;

    host->cfg_num(cfg, key, &v);
    return (float)v;
}

static ftsb_status read_opts(ftsb_ctx *ctx, const ftsb_config *cfg,
                             struct ft_opts *o)
{
    struct lm_train_opts *t = &o->t;
    const char *method = host->cfg_str(cfg, "method");
    const char *schedule = host->cfg_str(cfg, "schedule");
    struct lm_err e = {0};
    int64_t seed = 42, warmup = 0;
    int shuffle = 1;
    ftsb_status st;

    memset(o, 0, sizeof *o);
    lm_train_opts_default(t);
    if (!method || !strcmp(method, "full"))
        t->method = LM_TRAIN_FULL;
    else if (!strcmp(method, "lora"))
        t->method = LM_TRAIN_LORA;
    else
        return host->fail(ctx, FTSB_E_INVALID, "method '%s' is not one of "
                          "full, lora", method);
    if (lm_lr_kind_from_name(schedule ? schedule : "step", &t->lr.kind, &e))
        return host->fail(ctx, FTSB_E_INVALID, "schedule: %s", e.msg);
    o->max_len = 512;
    if ((st = opt_int(ctx, cfg, "epochs", 1, 1000000, &t->epochs)) ||
        (st = opt_int(ctx, cfg, "batch", 1, 1 << 24, &t->batch)) ||
        (st = opt_int(ctx, cfg, "micro_batch_tokens", 1, 1 << 24,
                      &t->micro_rows)) ||
        (st = opt_int(ctx, cfg, "max_len", 2, LM_TRAIN_MAX_LEN, &o->max_len)) ||
        (st = opt_int(ctx, cfg, "lora_rank", 1, LM_ADAPTER_MAX_RANK,
                      &t->lora_rank)) ||
        (st = opt_int(ctx, cfg, "checkpoint_every", 0, INT32_MAX,
                      &t->ckpt_every)) ||
        (st = parse_targets(ctx, cfg, &t->lora_targets)) ||
        (st = parse_dtype(ctx, host->cfg_str(cfg, "save_dtype"),
                          &o->save_dtype)))
        return st;
    host->cfg_num(cfg, "lr", &t->lr.lr);
    host->cfg_num(cfg, "gamma", &t->lr.gamma);
    host->cfg_num(cfg, "min_lr", &t->lr.min_lr);
    host->cfg_int(cfg, "warmup_steps", &warmup);
    t->lr.warmup = warmup;
    t->weight_decay = opt_float(cfg, "weight_decay", 0);
    t->beta1 = opt_float(cfg, "adam_beta1", 0.9f);
    t->beta2 = opt_float(cfg, "adam_beta2", 0.999f);
    t->eps = opt_float(cfg, "adam_eps", 1e-8f);
    t->clip = opt_float(cfg, "max_grad_norm", 0);
    t->lora_alpha = opt_float(cfg, "lora_alpha", 32);
    t->lora_dropout = opt_float(cfg, "lora_dropout", 0.05f);
    host->cfg_int(cfg, "seed", &seed);
    host->cfg_bool(cfg, "shuffle", &shuffle);
    t->seed = (uint64_t)seed;
    t->shuffle = shuffle != 0;
    t->ckpt_path = host->cfg_str(cfg, "checkpoint");
    o->save_adapter = host->cfg_str(cfg, "save_adapter");
    o->save_peft = host->cfg_str(cfg, "save_peft");
    o->save_model = host->cfg_str(cfg, "save_model");
    if (t->method == LM_TRAIN_FULL) {
        static const char *const lora_only[] = {
            "save_adapter", "save_peft", "lora_rank", "lora_alpha",
            "lora_dropout", "lora_targets"};
        for (size_t i = 0; i < sizeof lora_only / sizeof *lora_only; i++)
            if (host->cfg_has(cfg, lora_only[i]))
                return host->fail(ctx, FTSB_E_INVALID, "%s is an option of "
                                  "method \"lora\"; this run trains every "
                                  "weight (method \"full\")", lora_only[i]);
    }
    return FTSB_OK;
}

/* ---- a copy of the instance to train ----------------------------------------------- */

/* Loads b's model file again, with b's settings, into a new instance;
 * weights trained in memory and an attached adapter are carried over
 * (merged into F32 weights). */
static ftsb_status clone_instance(ftsb_ctx *ctx, const struct llama *b,
                                  struct llama **out)
{
    struct llama *n = calloc(1, sizeof *n);
    struct lm_model_opts mo = {b->model->cfg.ctx};
    struct lm_err e = {0};
    ftsb_status st;

    *out = NULL;
    if (!n || !(n->path = strdup(b->path))) {
        free(n);
        return host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    }
    lm_state_init(&n->st);
    llama_lend_threads(&n->st.ws);
    if ((st = lm_model_load(b->path, &mo, &n->model, &e)) ||
        (st = tok_load(n->model->file, &n->vocab, &e)))
        goto fail;
    n->tmpl = b->tmpl;
    n->add_bos = b->add_bos;
    n->batch = b->batch;
    n->kv_budget = b->kv_budget;
    n->hash = b->hash;
    n->file_wtype = b->file_wtype;
    n->tuned_full = b->tuned_full;
    if (b->tuned_full || b->adapter) {
        if ((st = lm_model_to_f32(n->model, &e)))
            goto fail;
        if (b->tuned_full)
            memcpy(n->model->f32, b->model->f32,
                   (size_t)n->model->n_f32 * sizeof(float));
        if (b->adapter &&
            (st = lm_model_merge_lora(n->model, b->adapter, b->lora_scale,
                                      &e)))
            goto fail;
        if (b->adapter) {
            uint64_t h[3] = {b->hash, b->adapter_hash,
                             (uint64_t)(b->lora_scale * 1e6)};
            n->hash = lm_hash64(h, sizeof h);
            n->tuned_full = true;
        }
    }
    *out = n;
    return FTSB_OK;
fail:
    llama_destroy(n);
    return llama_fail_lm(ctx, &e);
}

/* ---- progress -------------------------------------------------------------------- */

struct ft_cb {
    ftsb_ctx *ctx;
    int64_t every; /* log a line every this many steps */
};

static void on_progress(void *ud, const struct lm_train_progress *p)
{
    struct ft_cb *cb = ud;

    host->progress(cb->ctx, "fine-tuning", p->step, p->total_steps, "steps");
    if (FTSB_HOST_HAS(host, series_put)) {
        host->series_put(cb->ctx, "loss", p->step, p->loss);
        host->series_put(cb->ctx, "lr", p->step, p->lr);
        host->series_put(cb->ctx, "grad_norm", p->step, p->grad_norm);
        host->series_put(cb->ctx, "tokens_per_s", p->step, p->tokens_per_s);
    }
    if (p->step % cb->every == 0 || p->step == p->total_steps)
        host->log(cb->ctx, FTSB_LOG_INFO, "step %" PRId64 "/%" PRId64
                  " (epoch %" PRId64 "): loss %.4f, lr %.3g, grad norm "
                  "%.3g, %.0f tokens/s, %.0f s left", p->step,
                  p->total_steps, p->epoch + 1, p->loss, p->lr, p->grad_norm,
                  p->tokens_per_s, p->eta_s);
}

static void on_log(void *ud, const char *msg)
{
    host->log(((struct ft_cb *)ud)->ctx, FTSB_LOG_INFO, "%s", msg);
}

static int on_cancelled(void *ud)
{
    return host->cancelled(((struct ft_cb *)ud)->ctx);
}

/* ---- outputs ------------------------------------------------------------------------ */

/* Content hash of a trained adapter: its matrices, rank and alpha. */
static uint64_t adapter_hash(const struct lm_adapter *ad)
{
    struct lm_hash_state h;
    double ra[2] = {(double)ad->rank, (double)ad->alpha};

    lm_hash_init(&h);
    lm_hash_update(&h, ra, sizeof ra);
    for (int64_t l = 0; l < ad->n_layer; l++)
        for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
            const struct lm_lora_pair *p = lm_adapter_pair(ad, l, t);
            int32_t id[2] = {(int32_t)l, t};
            if (!p->a)
                continue;
            lm_hash_update(&h, id, sizeof id);
            lm_hash_update(&h, p->a, (size_t)(ad->rank * p->n_in) * 4);
            lm_hash_update(&h, p->b, (size_t)(p->n_out * ad->rank) * 4);
        }
    return lm_hash_final(&h);
}

static ftsb_status save_outputs(ftsb_ctx *ctx, const struct llama *t,
                                const struct ft_opts *o)
{
    struct lm_err e = {0};
    struct lm_adapter_base base;
    int32_t mt = t->file_wtype; /* the file's, even after a conversion */

    if (t->adapter) {
        int32_t dt = o->save_dtype >= 0 ? o->save_dtype : LM_F32;
        if (o->save_adapter &&
            lm_adapter_save_gguf(t->adapter, o->save_adapter, dt, &e))
            return llama_fail_lm(ctx, &e);
        if (o->save_peft &&
            (lm_adapter_base_from_gguf(t->model->file, &base, &e) ||
             lm_adapter_save_peft(t->adapter, o->save_peft, &base, dt, &e)))
            return llama_fail_lm(ctx, &e);
        if (o->save_adapter)
            host->log(ctx, FTSB_LOG_INFO, "adapter written to '%s'",
                      o->save_adapter);
        if (o->save_peft)
            host->log(ctx, FTSB_LOG_INFO, "PEFT adapter written to '%s'",
                      o->save_peft);
    }
    if (!o->save_model)
        return FTSB_OK;
    if (t->adapter) {
        /* the merged weights of a LoRA run: a copy in F32 (memory of the
         * model in F32 for the time of the save) */
        struct lm_model_opts mo = {t->model->cfg.ctx};
        struct lm_model *m = NULL;
        ftsb_status st;
        if ((st = lm_model_load(t->path, &mo, &m, &e)) ||
            (st = lm_model_to_f32(m, &e)) ||
            (st = lm_model_merge_lora(m, t->adapter, t->lora_scale, &e)) ||
            (st = lm_model_save_gguf(m, o->save_model,
                                     o->save_dtype >= 0 ? o->save_dtype
                                     : mt == LM_F32 || mt == LM_BF16 ? mt
                                                                     : LM_F16,
                                     &e))) {
            lm_model_free(m);
            return llama_fail_lm(ctx, &e);
        }
        lm_model_free(m);
    } else {
        /* full fine-tuning: the weights are F32 now; by default they
         * are saved in the type the file had */
        int32_t ft = t->file_wtype;
        if (lm_model_save_gguf(t->model, o->save_model,
                               o->save_dtype >= 0 ? o->save_dtype
                               : ft == LM_F32 || ft == LM_BF16 ? ft : LM_F16,
                               &e))
            return llama_fail_lm(ctx, &e);
    }
    host->log(ctx, FTSB_LOG_INFO, "fine-tuned model written to '%s'",
              o->save_model);
    return FTSB_OK;
}

/* ---- the extension ------------------------------------------------------------------ */

/* The hash a checkpoint must match: the options, the base weights, the
 * training sequences (which carry the data, the template and max_len). */
static uint64_t run_hash(const struct llama *b, const ftsb_config *cfg,
                         const struct lm_train_set *set)
{
    struct lm_hash_state h;
    static const char *const not_results[] = {
        "checkpoint", "checkpoint_every", "save_adapter", "save_peft",
        "save_model", "save_dtype", "micro_batch_tokens"};

    lm_hash_init(&h);
    /* options that change the result; the output paths do not */
    for (size_t i = 0; i < sizeof ft_keys / sizeof *ft_keys; i++) {
        const char *k = ft_keys[i].name, *v;
        int skip = 0;
        for (size_t j = 0; j < sizeof not_results / sizeof *not_results; j++)
            skip |= !strcmp(k, not_results[j]);
        if (skip || !(v = host->cfg_json(cfg, k)))
            continue;
        lm_hash_update(&h, k, strlen(k) + 1);
        lm_hash_update(&h, v, strlen(v) + 1);
    }
    lm_hash_update(&h, &b->hash, sizeof b->hash);
    lm_hash_update(&h, &b->adapter_hash, sizeof b->adapter_hash);
    for (int32_t i = 0; i < set->n; i++) {
        lm_hash_update(&h, set->seq[i].tokens,
                       (size_t)set->seq[i].n * sizeof(int32_t));
        lm_hash_update(&h, set->seq[i].targets,
                       (size_t)set->seq[i].n * sizeof(int32_t));
    }
    return lm_hash_final(&h);
}

static ftsb_status llama_finetune(void *self, ftsb_ctx *ctx,
                                  const ftsb_dataset *data,
                                  const ftsb_config *options, void **tuned)
{
    struct llama *b = self, *t = NULL;
    struct ft_opts o;
    struct lm_train_set set = {0};
    struct lm_train_result res = {0};
    struct lm_adapter *ad = NULL;
    struct lm_err e = {0};
    ftsb_example *ex = NULL;
    uint64_t n = host->dataset_count(data);
    ftsb_status st;

    *tuned = NULL;
    if ((st = read_opts(ctx, options, &o)))
        return st;
    if (b->tmpl == TMPL_NONE)
        return host->fail(ctx, FTSB_E_INVALID, "fine-tuning needs a chat "
                          "template that marks the assistant's turns; this "
                          "instance uses template raw: create it with "
                          "template = llama-2, chatml, llama-3 or plain");
    if (n == 0)
        return host->fail(ctx, FTSB_E_INVALID, "the training set is empty: "
                          "give a dataset with at least one chat");
    if (n > LM_TRAIN_MAX_EXAMPLES || !(ex = calloc(n, sizeof *ex)))
        return host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    for (uint64_t i = 0; i < n; i++)
        ex[i] = *host->dataset_get(data, i);
    if ((st = lm_train_set_build(ex, n, b->tmpl, NULL, b->vocab, o.max_len,
                                 &set, &e))) {
        st = llama_fail_lm(ctx, &e);
        goto out;
    }
    {
        char *notes = NULL;
        if (lm_train_set_describe(&set, 10, &notes, &e) == FTSB_OK && notes)
            host->log(ctx, FTSB_LOG_WARN, "%s", notes);
        free(notes);
    }
    if ((st = clone_instance(ctx, b, &t)))
        goto out;

    struct ft_cb cb = {ctx, 1};
    o.t.config_hash = run_hash(b, options, &set);
    o.t.par = llama_host_parallel();
    o.t.progress = on_progress;
    o.t.log = on_log;
    o.t.cancelled = on_cancelled;
    o.t.ud = &cb;
    {
        int64_t per_epoch = set.n / (o.t.batch < set.n ? o.t.batch : set.n);
        int64_t total = per_epoch * o.t.epochs;
        cb.every = total > 20 ? total / 20 : 1;
    }
    if ((st = lm_train_run(t->model, &set, &o.t, &ad, &res, &e))) {
        st = llama_fail_lm(ctx, &e);
        goto out;
    }
    host->log(ctx, FTSB_LOG_INFO, "fine-tuned in %.1f s: %" PRId64 " steps, "
              "loss %.4f -> %.4f, %.0f tokens/s", res.seconds, res.steps,
              res.steps ? (double)res.loss[0] : 0.0,
              res.steps ? (double)res.loss[res.steps - 1] : 0.0,
              res.seconds > 0 ? (double)res.tokens / res.seconds : 0.0);
    if (ad) {
        if (llama_attach_adapter(t, ad, 1.0f, adapter_hash(ad), &e)) {
            lm_adapter_free(ad);
            st = llama_fail_lm(ctx, &e);
            goto out;
        }
    } else {
        t->hash = lm_hash64(t->model->f32,
                            (size_t)t->model->n_f32 * sizeof(float));
        t->tuned_full = true;
    }
    if ((st = save_outputs(ctx, t, &o)))
        goto out;
    *tuned = t;
    t = NULL;
out:
    llama_destroy(t);
    lm_train_result_free(&res);
    lm_train_set_free(&set);
    free(ex);
    return st;
}

static const ftsb_backend_finetune finetune_ext = {
    sizeof finetune_ext, ft_keys, sizeof ft_keys / sizeof *ft_keys,
    llama_finetune,
};

const void *llama_extension(void *self, const char *id)
{
    (void)self;
    return id && strcmp(id, FTSB_EXT_FINETUNE) == 0 ? &finetune_ext : NULL;
}
