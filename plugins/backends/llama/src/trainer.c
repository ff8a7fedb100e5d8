/*
 * trainer.c - the training loop (trainer.h).  One optimizer step: take
 * the next `batch` sequences of the epoch's order, pack them into
 * micro-batches of at most micro_rows rows, run forward and backward on
 * each (gradients accumulate, each scaled by 1 / the step's trained
 * tokens so the step follows the mean loss over all of them), clip,
 * update with AdamW at the schedule's rate, record the loss, maybe save a
 * checkpoint.  The parameter list (struct param) is built once, so the
 * optimizer, the clipping and the checkpoints walk the same tensors in
 * the same order for LoRA and full fine-tuning.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, access */
#include "trainer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kernels.h"
#include "model_f32.h"
#include "train.h"
#include "train_ckpt.h"

void lm_train_opts_default(struct lm_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->method = LM_TRAIN_FULL;
    o->lora_rank = 8;
    o->lora_alpha = 32.0f;
    o->lora_dropout = 0.05f;
    o->lora_targets = 1u << LM_LORA_Q | 1u << LM_LORA_V;
    o->epochs = 1;
    o->batch = 10;
    o->micro_rows = 2048;
    o->lr.kind = LM_LR_STEP;
    o->lr.lr = 5e-5;
    o->lr.gamma = 0.85;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-8f;
    o->seed = 42;
    o->shuffle = 1;
}

void lm_train_result_free(struct lm_train_result *r)
{
    free(r->loss);
    memset(r, 0, sizeof *r);
}

/* One trained tensor with its gradient and AdamW moments. */
struct param {
    char name[64];
    float *w, *g, *m, *v;
    int64_t n;
};

/* Everything one run owns. */
struct run {
    const struct lm_train_opts *o;
    const struct lm_train_set *set;
    struct lm_model *model;
    struct lm_train_net net;
    struct lm_adapter *mom_m, *mom_v; /* LoRA moments */
    float *full_mem;                  /* full: grads, m, v blocks (3 x n) */
    struct param *p;
    int32_t n_p;
    float **gptr;     /* (n_p) each parameter's gradient, for clipping */
    int64_t *gsize;   /* (n_p) */
    struct lm_acts acts;
    int32_t *perm;
    int32_t *tok, *tgt, *len; /* micro-batch buffers */
    int64_t tok_cap;
    float *loss;              /* (total) loss per step */
    int64_t spe, total, batch;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void say(const struct lm_train_opts *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void say(const struct lm_train_opts *o, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (!o->log)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    o->log(o->ud, msg);
}

/* ---- options --------------------------------------------------------------------- */

static ftsb_status check_opts(const struct lm_train_opts *o,
                              struct lm_err *err)
{
    if (o->method != LM_TRAIN_LORA && o->method != LM_TRAIN_FULL)
        return lm_fail(err, FTSB_E_INVALID, "method must be \"lora\" or "
                       "\"full\"");
    if (o->method == LM_TRAIN_LORA) {
        if (o->lora_rank < 1 || o->lora_rank > LM_ADAPTER_MAX_RANK)
            return lm_fail(err, FTSB_E_INVALID, "lora_rank %d is out of "
                           "range (1 to %d)", (int)o->lora_rank,
                           LM_ADAPTER_MAX_RANK);
        if (!(o->lora_alpha > 0) || !isfinite(o->lora_alpha))
            return lm_fail(err, FTSB_E_INVALID, "lora_alpha must be a "
                           "positive number");
        if (!(o->lora_dropout >= 0 && o->lora_dropout < 1))
            return lm_fail(err, FTSB_E_INVALID, "lora_dropout must be in "
                           "[0, 1)");
        if (!(o->lora_targets & LM_LORA_ALL))
            return lm_fail(err, FTSB_E_INVALID, "lora_targets names no "
                           "projection");
    }
    if (o->epochs < 1)
        return lm_fail(err, FTSB_E_INVALID, "epochs must be at least 1");
    if (o->batch < 1)
        return lm_fail(err, FTSB_E_INVALID, "batch must be at least 1");
    if (o->micro_rows < 1)
        return lm_fail(err, FTSB_E_INVALID, "micro_batch_tokens must be at "
                       "least 1");
    if (!(o->beta1 >= 0 && o->beta1 < 1) || !(o->beta2 >= 0 && o->beta2 < 1))
        return lm_fail(err, FTSB_E_INVALID, "adam_beta1 and adam_beta2 must "
                       "be in [0, 1)");
    if (!(o->eps > 0))
        return lm_fail(err, FTSB_E_INVALID, "adam_eps must be positive");
    if (!(o->weight_decay >= 0) || !isfinite(o->weight_decay))
        return lm_fail(err, FTSB_E_INVALID, "weight_decay must be >= 0");
    if (!(o->clip >= 0) || !isfinite(o->clip))
        return lm_fail(err, FTSB_E_INVALID, "max_grad_norm must be >= 0 "
                       "(0 = no clipping)");
    if (o->ckpt_every < 0)
        return lm_fail(err, FTSB_E_INVALID, "checkpoint_every must be >= 0");
    return FTSB_OK;
}

/* ---- parameters ------------------------------------------------------------------ */

/* PEFT's initialisation: A ~ kaiming_uniform(a = sqrt(5)), which is
 * U(-1/sqrt(n_in), 1/sqrt(n_in)); B = 0, so training starts from the base
 * model exactly.  Values are a pure function of (seed, layer, target, i). */
static void lora_init(struct lm_adapter *ad, uint64_t seed)
{
    for (int64_t l = 0; l < ad->n_layer; l++)
        for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
            struct lm_lora_pair *p = lm_adapter_pair(ad, l, t);
            if (!p->a)
                continue;
            double bound = 1.0 / sqrt((double)p->n_in);
            uint64_t key = mix64(seed ^ mix64((uint64_t)l << 8 | (uint64_t)t));
            for (int64_t i = 0; i < ad->rank * p->n_in; i++) {
                double u = (double)(mix64(key + (uint64_t)i) >> 11) *
                           (1.0 / 9007199254740992.0);
                p->a[i] = (float)((2 * u - 1) * bound);
            }
            memset(p->b, 0, (size_t)(p->n_out * ad->rank) * sizeof(float));
        }
}

static ftsb_status add_param(struct run *r, const char *name, float *w,
                             float *g, float *m, float *v, int64_t n,
                             struct lm_err *err)
{
    struct param *np = realloc(r->p, (size_t)(r->n_p + 1) * sizeof *np);

    if (!np)
        return lm_fail(err, FTSB_E_NOMEM, "out of memory");
    r->p = np;
    snprintf(np[r->n_p].name, sizeof np[r->n_p].name, "%s", name);
    np[r->n_p].w = w;
    np[r->n_p].g = g;
    np[r->n_p].m = m;
    np[r->n_p].v = v;
    np[r->n_p].n = n;
    r->n_p++;
    return FTSB_OK;
}

static ftsb_status setup_lora(struct run *r, struct lm_err *err)
{
    const struct lm_config *c = &r->model->cfg;
    const struct lm_train_opts *o = r->o;
    struct lm_adapter_base base = {
        .n_layer = c->n_layers, .n_embd = c->dim, .n_ff = c->ffn,
        .n_head = c->n_heads, .n_head_kv = c->n_kv_heads,
        .head_dim = c->head_dim,
    };
    struct lm_adapter **all[] = {&r->net.lora, &r->net.dlora, &r->mom_m,
                                 &r->mom_v};
    ftsb_status st;

    snprintf(base.arch, sizeof base.arch, "llama");
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if ((st = lm_adapter_new(&base, o->lora_rank, o->lora_alpha,
                                 o->lora_targets, all[i], err)))
            return st;
    lora_init(r->net.lora, r->o->seed);
    r->net.lora_scale = lm_adapter_scale(r->net.lora);
    r->net.lora_dropout = o->lora_dropout;
    for (int64_t l = 0; l < c->n_layers; l++)
        for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
            struct lm_lora_pair *p = lm_adapter_pair(r->net.lora, l, t),
                                *g = lm_adapter_pair(r->net.dlora, l, t),
                                *m = lm_adapter_pair(r->mom_m, l, t),
                                *v = lm_adapter_pair(r->mom_v, l, t);
            char name[64];
            if (!p->a)
                continue;
            snprintf(name, sizeof name, "blk.%d.%s.lora_a", (int)l,
                     lm_lora_target_gguf(t));
            if ((st = add_param(r, name, p->a, g->a, m->a, v->a,
                                o->lora_rank * p->n_in, err)))
                return st;
            snprintf(name, sizeof name, "blk.%d.%s.lora_b", (int)l,
                     lm_lora_target_gguf(t));
            if ((st = add_param(r, name, p->b, g->b, m->b, v->b,
                                p->n_out * o->lora_rank, err)))
                return st;
        }
    return FTSB_OK;
}

static ftsb_status setup_full(struct run *r, struct lm_err *err)
{
    ftsb_status st;
    int64_t n;

    if ((st = lm_model_to_f32(r->model, err)))
        return st;
    n = r->model->n_f32;
    if ((uint64_t)n > SIZE_MAX / sizeof(float) / 3 ||
        !(r->full_mem = calloc((size_t)n * 3, sizeof(float))))
        return lm_fail(err, FTSB_E_NOMEM, "out of memory allocating "
                       "gradients and AdamW moments for %lld parameters "
                       "(%.1f GiB); LoRA needs far less", (long long)n,
                       (double)n * 12 / (1 << 30));
    if ((st = lm_fparams_bind(&r->net.dp, &r->model->cfg, r->full_mem, err)))
        return st;
    return add_param(r, "weights", r->model->f32, r->full_mem,
                     r->full_mem + n, r->full_mem + 2 * n, n, err);
}

static void run_free(struct run *r)
{
    lm_adapter_free(r->net.dlora);
    lm_adapter_free(r->mom_m);
    lm_adapter_free(r->mom_v);
    lm_fparams_free(&r->net.dp);
    free(r->full_mem);
    free(r->p);
    free(r->gptr);
    free(r->gsize);
    lm_acts_free(&r->acts);
    free(r->perm);
    free(r->tok);
    free(r->tgt);
    free(r->len);
    free(r->loss);
}

/* ---- checkpoints ------------------------------------------------------------------ */

/* The tensors of a checkpoint: each parameter, then its m and v. */
static ftsb_status ckpt_tensors(const struct run *r,
                                struct lm_ckpt_tensor **out, char **names,
                                struct lm_err *err)
{
    struct lm_ckpt_tensor *t = calloc((size_t)r->n_p * 3, sizeof *t);
    char *nm = calloc((size_t)r->n_p * 3, 64);

    if (!t || !nm) {
        free(t);
        free(nm);
        return lm_fail(err, FTSB_E_NOMEM, "out of memory");
    }
    for (int32_t i = 0; i < r->n_p; i++) {
        const struct param *p = &r->p[i];
        float *bufs[3] = {p->w, p->m, p->v};
        static const char *const prefix[3] = {"", "adam_m.", "adam_v."};
        for (int k = 0; k < 3; k++) {
            char *name = nm + ((int64_t)i * 3 + k) * 64;
            snprintf(name, 64, "%s%s", prefix[k], p->name);
            t[i * 3 + k].name = name;
            t[i * 3 + k].data = bufs[k];
            t[i * 3 + k].n = p->n;
        }
    }
    *out = t;
    *names = nm;
    return FTSB_OK;
}

static void ckpt_meta(const struct run *r, int64_t step,
                      struct lm_ckpt_meta *m)
{
    memset(m, 0, sizeof *m);
    m->step = step;
    m->epoch = step / r->spe;
    m->epoch_pos = step % r->spe;
    m->seed = r->o->seed;
    m->config_hash = r->o->config_hash;
    m->method = r->o->method == LM_TRAIN_LORA ? "lora" : "full";
    m->config_text = r->o->config_text;
}

static ftsb_status ckpt_save(const struct run *r, int64_t step,
                             struct lm_err *err)
{
    struct lm_ckpt_tensor *t;
    struct lm_ckpt_meta meta;
    char *names;
    ftsb_status st;

    if ((st = ckpt_tensors(r, &t, &names, err)))
        return st;
    ckpt_meta(r, step, &meta);
    st = lm_ckpt_save(r->o->ckpt_path, &meta, t, r->n_p * 3, r->loss, step,
                      err);
    free(t);
    free(names);
    return st;
}

/* Resumes from the checkpoint when there is one; *start = its step. */
static ftsb_status ckpt_resume(struct run *r, int64_t *start,
                               struct lm_err *err)
{
    struct lm_ckpt_tensor *t;
    struct lm_ckpt_meta expect;
    struct lm_ckpt_info info;
    char *names;
    ftsb_status st;

    *start = 0;
    if (!r->o->ckpt_path || access(r->o->ckpt_path, F_OK) != 0)
        return FTSB_OK;
    if ((st = ckpt_tensors(r, &t, &names, err)))
        return st;
    ckpt_meta(r, 0, &expect);
    st = lm_ckpt_load(r->o->ckpt_path, &expect, t, r->n_p * 3, &info, err);
    free(t);
    free(names);
    if (st)
        return st;
    if (info.step > r->total || info.n_loss != info.step) {
        lm_ckpt_info_free(&info);
        return lm_fail(err, FTSB_E_INVALID, "checkpoint '%s' is at step %lld "
                       "but this run has %lld steps; delete it to start over",
                       r->o->ckpt_path, (long long)info.step,
                       (long long)r->total);
    }
    if (info.n_loss > 0)
        memcpy(r->loss, info.loss, (size_t)info.n_loss * sizeof(float));
    *start = info.step;
    lm_ckpt_info_free(&info);
    say(r->o, "resuming from checkpoint '%s' at step %lld of %lld",
        r->o->ckpt_path, (long long)*start, (long long)r->total);
    return FTSB_OK;
}

/* ---- one step ----------------------------------------------------------------------- */

static ftsb_status grow_batch(struct run *r, int64_t rows,
                              struct lm_err *err)
{
    if (rows > r->tok_cap) {
        int32_t *a = realloc(r->tok, (size_t)rows * sizeof *a);
        if (a)
            r->tok = a;
        int32_t *b = realloc(r->tgt, (size_t)rows * sizeof *b);
        if (b)
            r->tgt = b;
        if (!a || !b)
            return lm_fail(err, FTSB_E_NOMEM, "out of memory");
        r->tok_cap = rows;
    }
    return FTSB_OK;
}

/* Names the examples of step `step` for an error message. */
static void batch_examples(const struct run *r, const int32_t *ids,
                           int64_t count, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = 0;
    for (int64_t i = 0; i < count && used + 16 < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%d",
                                 i ? ", " : "",
                                 (int)r->set->seq[ids[i]].index);
}

static ftsb_status train_step(struct run *r, int64_t step, double *loss_out,
                              double *gnorm_out, double *lr_out,
                              int64_t *tokens, struct lm_err *err)
{
    const struct lm_train_opts *o = r->o;
    const struct lm_train_set *set = r->set;
    const int32_t *ids = r->perm + (step % r->spe) * r->batch;
    int64_t n_loss = 0;
    double loss_sum = 0;
    ftsb_status st;

    for (int64_t i = 0; i < r->batch; i++)
        n_loss += set->seq[ids[i]].n_loss;
    lm_train_zero_grad(&r->net);
    for (int64_t i = 0, micro = 0; i < r->batch; micro++) {
        /* pack sequences i..j-1 into one micro-batch */
        int64_t rows = set->seq[ids[i]].n, j = i + 1;
        while (j < r->batch && rows + set->seq[ids[j]].n <= o->micro_rows)
            rows += set->seq[ids[j++]].n;
        if ((st = grow_batch(r, rows, err)))
            return st;
        for (int64_t k = i, off = 0; k < j; k++) {
            const struct lm_train_seq *s = &set->seq[ids[k]];
            memcpy(r->tok + off, s->tokens, (size_t)s->n * sizeof(int32_t));
            memcpy(r->tgt + off, s->targets, (size_t)s->n * sizeof(int32_t));
            r->len[k - i] = s->n;
            off += s->n;
        }
        struct lm_batch b = {r->tok, r->tgt, r->len, (int32_t)(j - i)};
        double part = 0;
        int64_t part_n = 0;
        r->net.dropout_key = mix64(o->seed ^ mix64((uint64_t)step << 20 ^
                                                   (uint64_t)micro));
        if ((st = lm_train_forward(&r->net, &r->acts, &b,
                                   1.0f / (float)n_loss, &part, &part_n,
                                   err)))
            return st;
        if (!isfinite(part)) {
            char list[256];
            batch_examples(r, ids + i, j - i, list, sizeof list);
            return lm_fail(err, FTSB_E_INVALID, "the loss is %s at step %lld "
                           "(epoch %lld), in the micro-batch of examples %s; "
                           "training stopped%s.  Lower the learning rate, or "
                           "check those examples",
                           isnan(part) ? "NaN" : "infinite",
                           (long long)step + 1, (long long)(step / r->spe) + 1,
                           list, o->ckpt_path ? " and the last good "
                                                "checkpoint is kept"
                                              : "");
        }
        if ((st = lm_train_backward(&r->net, &r->acts, &b, err)))
            return st;
        loss_sum += part;
        *tokens += rows;
        i = j;
    }

    /* clip (or only measure: an infinite bound never scales), then AdamW
     * at the schedule's rate */
    const int32_t n = r->n_p;
    *gnorm_out = lm_clip_grad_norm(r->gptr, r->gsize, n,
                                   o->clip > 0 ? o->clip : INFINITY);
    if (!isfinite(*gnorm_out))
        return lm_fail(err, FTSB_E_INVALID, "the gradient norm is %s at step "
                       "%lld; training stopped%s.  Lower the learning rate",
                       isnan(*gnorm_out) ? "NaN" : "infinite",
                       (long long)step + 1,
                       o->ckpt_path ? " and the last good checkpoint is kept"
                                    : "");
    struct lm_adamw h = {
        .lr = lm_lr_at(&o->lr, step, r->spe, r->total),
        .beta1 = o->beta1, .beta2 = o->beta2, .eps = o->eps,
        .weight_decay = o->weight_decay,
    };
    for (int32_t i = 0; i < n; i++)
        lm_adamw_update(r->p[i].w, r->p[i].m, r->p[i].v, r->p[i].g,
                        r->p[i].n, &h, step + 1);
    *lr_out = h.lr;
    *loss_out = loss_sum / (double)n_loss;
    return FTSB_OK;
}

/* ---- the run ------------------------------------------------------------------------- */

ftsb_status lm_train_run(struct lm_model *model, const struct lm_train_set *set,
                         const struct lm_train_opts *o,
                         struct lm_adapter **lora_out,
                         struct lm_train_result *res, struct lm_err *err)
{
    struct run r = {0};
    int64_t start = 0, tokens = 0;
    double t0 = now_s();
    ftsb_status st;

    *lora_out = NULL;
    memset(res, 0, sizeof *res);
    if ((st = check_opts(o, err)))
        return st;
    if (!set || set->n < 1)
        return lm_fail(err, FTSB_E_INVALID, "the training set is empty");
    r.o = o;
    r.set = set;
    r.model = model;
    r.net.model = model;
    r.batch = o->batch;
    if (r.batch > set->n) {
        say(o, "batch %d is larger than the training set (%d sequences): "
            "each step uses all %d", (int)o->batch, (int)set->n, (int)set->n);
        r.batch = set->n;
    }
    /* whole batches only, as the paper's DataLoader(drop_last=True) */
    r.spe = set->n / r.batch;
    if (set->n % r.batch)
        say(o, "%d sequences do not fill a batch of %d: each epoch leaves "
            "%d out (a different %d each epoch when shuffled)",
            (int)set->n, (int)r.batch, (int)(set->n % r.batch),
            (int)(set->n % r.batch));
    r.total = r.spe * o->epochs;
    if ((st = lm_lr_check(&o->lr, r.spe, r.total, err)))
        return st;
    lm_acts_init(&r.acts);
    if (o->par.run)
        lm_scratch_set_parallel(&r.acts.ws, &o->par);
    r.perm = malloc((size_t)set->n * sizeof *r.perm);
    r.len = malloc((size_t)r.batch * sizeof *r.len);
    r.loss = calloc((size_t)r.total, sizeof *r.loss);
    if (!r.perm || !r.len || !r.loss) {
        st = lm_fail(err, FTSB_E_NOMEM, "out of memory");
        goto out;
    }
    if ((st = o->method == LM_TRAIN_LORA ? setup_lora(&r, err)
                                         : setup_full(&r, err)) ||
        (st = ckpt_resume(&r, &start, err)))
        goto out;
    r.gptr = malloc((size_t)r.n_p * sizeof *r.gptr);
    r.gsize = malloc((size_t)r.n_p * sizeof *r.gsize);
    if (!r.gptr || !r.gsize) {
        st = lm_fail(err, FTSB_E_NOMEM, "out of memory");
        goto out;
    }
    for (int32_t i = 0; i < r.n_p; i++) {
        r.gptr[i] = r.p[i].g;
        r.gsize[i] = r.p[i].n;
    }
    say(o, "training %s: %d sequences (%lld tokens, %lld trained), %lld "
        "steps of %lld (%lld per epoch, %d epochs)",
        o->method == LM_TRAIN_LORA ? "LoRA" : "all weights", (int)set->n,
        (long long)set->n_tokens, (long long)set->n_loss,
        (long long)r.total, (long long)r.batch, (long long)r.spe,
        (int)o->epochs);

    int64_t perm_epoch = -1;
    for (int64_t step = start; step < r.total; step++) {
        int64_t epoch = step / r.spe;
        double loss = 0, gnorm = 0, lr = 0;
        if (epoch != perm_epoch) {
            /* seed 0 is lm_train_order's "no shuffle"; keep a seed of 0
             * meaning the same when shuffling is asked for */
            lm_train_order(o->shuffle ? o->seed : 0, epoch, set->n, r.perm);
            perm_epoch = epoch;
        }
        if ((st = train_step(&r, step, &loss, &gnorm, &lr, &tokens, err)))
            goto out;
        r.loss[step] = (float)loss;
        int last = step + 1 == r.total;
        int save = o->ckpt_path &&
                   (last || (o->ckpt_every ? (step + 1) % o->ckpt_every == 0
                                           : (step + 1) % r.spe == 0));
        int stop = !last && o->cancelled && o->cancelled(o->ud);
        if ((save || (stop && o->ckpt_path)) &&
            (st = ckpt_save(&r, step + 1, err)))
            goto out;
        if (o->progress) {
            double el = now_s() - t0;
            struct lm_train_progress p = {
                .step = step + 1, .total_steps = r.total, .epoch = epoch,
                .loss = loss, .lr = lr, .grad_norm = gnorm,
                .tokens_per_s = el > 0 ? (double)tokens / el : 0,
                .eta_s = el / (double)(step + 1 - start) *
                         (double)(r.total - step - 1),
            };
            o->progress(o->ud, &p);
        }
        if (stop) {
            st = lm_fail(err, FTSB_E_CANCELLED, "training stopped at step "
                         "%lld of %lld%s", (long long)step + 1,
                         (long long)r.total,
                         o->ckpt_path ? "; the checkpoint is saved: run "
                                        "again to continue" : "");
            goto out;
        }
    }
    res->steps = r.total;
    res->resumed_from = start;
    res->loss = r.loss;
    r.loss = NULL;
    res->seconds = now_s() - t0;
    res->tokens = tokens;
    if (o->method == LM_TRAIN_LORA) {
        *lora_out = r.net.lora;
        r.net.lora = NULL;
    }
out:
    lm_adapter_free(r.net.lora);
    run_free(&r);
    return st;
}
