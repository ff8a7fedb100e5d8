/*
 * perf_train.c - speed and memory of fine-tuning in the Llama engine on
 * this machine, against the sgemm peak measured in the same run.  It
 * times exactly training: one optimizer step is lm_train_zero_grad, then
 * lm_train_forward + lm_train_backward over each micro-batch (gradients
 * accumulate), then gradient clipping and AdamW over every trained
 * tensor, as trainer.c does, on synthetic data built in memory (random
 * token ids, every position trained), with no data pipeline, checkpoint or
 * callback in the way.  Sections: (1) the sgemm peak at the thread counts
 * used; (2) the llama2.c 110M shape in F32, sequences of 256 tokens, 8 per
 * step (one micro-batch of 2048 rows): full fine-tuning and LoRA (rank 8,
 * alpha 16, on q,v as in the paper, with and without dropout, and on all
 * seven projections) at 1 and 2 BLAS threads: step tokens/s, the forward
 * and backward passes alone, useful matmul FLOP/s as a fraction of the
 * peak, the phases, the peak RSS, and LoRA's forward+backward time per
 * token against full fine-tuning's (the target is <= 1), with llama.cpp's
 * llama-finetune figure beside ours; (3) with -7b, LoRA on q,v of a
 * Llama-2-7B-shaped F16 model at 512 tokens, one optimizer step of 10
 * examples in micro-batches of one sequence: its time and peak RSS (the
 * budget is 20 GB).  Before timing, it checks that the passes give a
 * finite loss near ln(vocab) on random weights and that LoRA (B = 0)
 * starts from full fine-tuning's loss; the gradients themselves are
 * checked by tests/unit/test_train_grad.c.  Models come from the cache
 * folder perf_llama uses (perf_common.h).
 * Usage: perf_train [-q] [-dir DIR] [-threads 1,2] [-steps N]
 *                   [-methods full,qv,qv-nodrop,all] [-dropout P]
 *                   [-attempts N] [-7b] [-no-110m]
 * -q: 2 sequences per step, one timed step, full and q,v only (a check
 * that the program runs); -steps: timed steps per row, run until that
 * many saw no other load (at most -attempts times as many), medians over
 * them.  A standalone program: it exits on errors and sets OpenBLAS's
 * thread count (it plays the core).
 */
#define _GNU_SOURCE /* getloadavg, statvfs */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "adapter.h"
#include "kernels.h"
#include "model.h"
#include "model_f32.h"
#include "perf_common.h"
#include "random_model.h"
#include "train.h"

void blas_ensure_fast_kernels(char **argv); /* core/util/blas.h */

#define GB 1e9
#define BUDGET_7B (20 * GB) /* the peak-RSS budget for 7B LoRA */
#define NEED_7B (19 * GB)   /* MemAvailable below this: refuse -7b */

/* llama.cpp's llama-finetune (full fine-tuning, F32) on the 110M shape,
 * 2 threads, on this machine: tokens/s and fraction of the sgemm peak. */
#define LLAMA_CPP_TOK_S 145.0
#define LLAMA_CPP_PEAK 0.27

/* ---- synthetic data ----------------------------------------------------- */

/* One optimizer step's sequences, stacked: n_seq sequences of seq tokens,
 * micro of them per micro-batch.  Targets are the next token (the last
 * position gets a random one), so every position is trained and the loss
 * is averaged over all rows, the heaviest case of the paper's masking. */
struct data {
    int32_t *tokens, *targets; /* (rows) */
    int32_t *seq_len;          /* (n_seq) */
    int n_seq, seq, micro;
    int64_t rows;
};

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The same seed gives the same data, so every method trains the same
 * batch (the loss cross-check relies on it). */
static void data_make(struct data *d, int n_seq, int seq, int micro,
                      int vocab)
{
    uint64_t s = 0x5eed5eed1234567ull;

    d->n_seq = n_seq;
    d->seq = seq;
    d->micro = micro;
    d->rows = (int64_t)n_seq * seq;
    d->tokens = perf_xmalloc((size_t)d->rows * sizeof *d->tokens);
    d->targets = perf_xmalloc((size_t)d->rows * sizeof *d->targets);
    d->seq_len = perf_xmalloc((size_t)n_seq * sizeof *d->seq_len);
    for (int64_t r = 0; r < d->rows; r++)
        d->tokens[r] = 3 + (int32_t)(rng_next(&s) % (uint64_t)(vocab - 3));
    for (int i = 0; i < n_seq; i++) {
        int32_t *tok = d->tokens + (int64_t)i * seq,
                *tgt = d->targets + (int64_t)i * seq;
        for (int t = 0; t + 1 < seq; t++)
            tgt[t] = tok[t + 1];
        tgt[seq - 1] = 3 + (int32_t)(rng_next(&s) % (uint64_t)(vocab - 3));
        d->seq_len[i] = seq;
    }
}

static void data_free(struct data *d)
{
    free(d->tokens);
    free(d->targets);
    free(d->seq_len);
}

/* ---- what is trained ---------------------------------------------------- */

/* One trained tensor with its gradient and AdamW moments (trainer.c keeps
 * the same list, so the optimizer phase costs the same here). */
struct param {
    float *w, *g, *m, *v;
    int64_t n;
};

struct trainee {
    struct lm_model *m;
    struct lm_train_net net;
    struct lm_acts acts;
    struct lm_adapter *mom_m, *mom_v; /* LoRA moments */
    float *full_mem;                  /* full: gradients, m, v (3 x n_f32) */
    struct param *p;
    int n_p;
    float **gptr;
    int64_t *gsize;
    int64_t steps;                    /* optimizer steps done */
};

static void add_param(struct trainee *tr, float *w, float *g, float *m,
                      float *v, int64_t n)
{
    struct param *np = realloc(tr->p, (size_t)(tr->n_p + 1) * sizeof *np);

    if (!np)
        perf_die("out of memory", "parameter list");
    tr->p = np;
    np[tr->n_p++] = (struct param){w, g, m, v, n};
}

/* Full fine-tuning: the model becomes its F32 master block, trained in
 * place, with gradients and moments of the same layout. */
static void setup_full(struct trainee *tr)
{
    struct lm_err e;
    int64_t n;

    if (lm_model_to_f32(tr->m, &e))
        perf_die("to_f32", e.msg);
    n = tr->m->n_f32;
    tr->full_mem = calloc((size_t)n * 3, sizeof(float));
    if (!tr->full_mem)
        perf_die("out of memory", "gradients and moments");
    if (lm_fparams_bind(&tr->net.dp, &tr->m->cfg, tr->full_mem, &e))
        perf_die("bind", e.msg);
    add_param(tr, tr->m->f32, tr->full_mem, tr->full_mem + n,
              tr->full_mem + 2 * n, n);
}

/* LoRA: the mapped weights stay frozen; A ~ U(-1/sqrt(I), 1/sqrt(I)) and
 * B = 0 as PEFT (and the trainer) start, so the first loss is the base
 * model's. */
static void setup_lora(struct trainee *tr, unsigned targets, float dropout)
{
    const struct lm_config *c = &tr->m->cfg;
    struct lm_adapter_base base = {
        .n_layer = c->n_layers, .n_embd = c->dim, .n_ff = c->ffn,
        .n_head = c->n_heads, .n_head_kv = c->n_kv_heads,
        .head_dim = c->head_dim,
    };
    struct lm_adapter **all[] = {&tr->net.lora, &tr->net.dlora, &tr->mom_m,
                                 &tr->mom_v};
    struct lm_err e;
    uint64_t s = 0x10a10a10a10a1ull;

    snprintf(base.arch, sizeof base.arch, "llama");
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (lm_adapter_new(&base, 8, 16.0f, targets, all[i], &e))
            perf_die("adapter", e.msg);
    tr->net.lora_scale = lm_adapter_scale(tr->net.lora);
    tr->net.lora_dropout = dropout;
    for (int64_t l = 0; l < c->n_layers; l++)
        for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
            struct lm_lora_pair *p = lm_adapter_pair(tr->net.lora, l, t),
                                *g = lm_adapter_pair(tr->net.dlora, l, t),
                                *m = lm_adapter_pair(tr->mom_m, l, t),
                                *v = lm_adapter_pair(tr->mom_v, l, t);
            if (!p->a)
                continue;
            int64_t na = 8 * p->n_in, nb = p->n_out * 8;
            float bound = 1.0f / sqrtf((float)p->n_in);
            for (int64_t i = 0; i < na; i++)
                p->a[i] = bound * (2.0f * (float)(rng_next(&s) >> 40) /
                                       (float)(1 << 24) - 1.0f);
            memset(p->b, 0, (size_t)nb * sizeof(float));
            add_param(tr, p->a, g->a, m->a, v->a, na);
            add_param(tr, p->b, g->b, m->b, v->b, nb);
        }
}

/* Loads the model and prepares method full (1) or LoRA on targets. */
static void trainee_init(struct trainee *tr, const char *path, int full,
                         unsigned targets, float dropout)
{
    struct lm_err e;

    memset(tr, 0, sizeof *tr);
    if (lm_model_load(path, NULL, &tr->m, &e))
        perf_die(path, e.msg);
    tr->net.model = tr->m;
    if (full)
        setup_full(tr);
    else
        setup_lora(tr, targets, dropout);
    lm_acts_init(&tr->acts);
    tr->gptr = perf_xmalloc((size_t)tr->n_p * sizeof *tr->gptr);
    tr->gsize = perf_xmalloc((size_t)tr->n_p * sizeof *tr->gsize);
    for (int i = 0; i < tr->n_p; i++) {
        tr->gptr[i] = tr->p[i].g;
        tr->gsize[i] = tr->p[i].n;
    }
}

static void trainee_free(struct trainee *tr)
{
    lm_acts_free(&tr->acts);
    lm_adapter_free(tr->net.lora);
    lm_adapter_free(tr->net.dlora);
    lm_adapter_free(tr->mom_m);
    lm_adapter_free(tr->mom_v);
    lm_fparams_free(&tr->net.dp);
    free(tr->full_mem);
    free(tr->p);
    free(tr->gptr);
    free(tr->gsize);
    lm_model_free(tr->m);
}

/* ---- one optimizer step ------------------------------------------------- */

struct step_time {
    double fwd, bwd, opt; /* seconds: passes summed over micro-batches;
                             zeroing, clipping and AdamW */
    double loss;          /* mean over the step's trained positions */
    double gnorm;         /* global gradient norm before clipping */
};

/* One step over d, as trainer.c's train_step does it (clip 1.0, AdamW
 * lr 1e-4).  mb_s, when not NULL, receives each micro-batch's forward +
 * backward seconds. */
static struct step_time train_step(struct trainee *tr, const struct data *d,
                                   double *mb_s)
{
    struct step_time st = {0};
    struct lm_err e;
    double loss_sum = 0, t0 = perf_now();

    lm_train_zero_grad(&tr->net);
    st.opt = perf_now() - t0;
    for (int i = 0, k = 0; i < d->n_seq; i += d->micro, k++) {
        int n = d->n_seq - i < d->micro ? d->n_seq - i : d->micro;
        int64_t off = (int64_t)i * d->seq;
        struct lm_batch b = {d->tokens + off, d->targets + off,
                             d->seq_len + i, n};
        double part = 0, t1 = perf_now(), t2;
        int64_t n_loss = 0;

        /* the trainer draws a new dropout mask per micro-batch */
        tr->net.dropout_key = (uint64_t)tr->steps << 20 ^ (uint64_t)k;
        if (lm_train_forward(&tr->net, &tr->acts, &b, 1.0f / (float)d->rows,
                             &part, &n_loss, &e))
            perf_die("lm_train_forward", e.msg);
        t2 = perf_now();
        if (lm_train_backward(&tr->net, &tr->acts, &b, &e))
            perf_die("lm_train_backward", e.msg);
        st.fwd += t2 - t1;
        st.bwd += perf_now() - t2;
        if (mb_s) { /* the 7B step: minutes, so say how it goes */
            mb_s[k] = perf_now() - t1;
            fprintf(stderr, "perf_train: micro-batch %d: forward %.1f s, "
                    "backward %.1f s\n", k + 1, t2 - t1, perf_now() - t2);
        }
        loss_sum += part;
    }
    t0 = perf_now();
    st.gnorm = lm_clip_grad_norm(tr->gptr, tr->gsize, tr->n_p, 1.0f);
    struct lm_adamw h = {.lr = 1e-4f, .beta1 = 0.9f, .beta2 = 0.999f,
                         .eps = 1e-8f, .weight_decay = 0.0f};
    for (int i = 0; i < tr->n_p; i++)
        lm_adamw_update(tr->p[i].w, tr->p[i].m, tr->p[i].v, tr->p[i].g,
                        tr->p[i].n, &h, tr->steps + 1);
    st.opt += perf_now() - t0;
    tr->steps++;
    st.loss = loss_sum / (double)d->rows;
    if (!isfinite(st.loss) || !isfinite(st.gnorm) || !(st.gnorm > 0))
        perf_die("validation", "the loss or the gradient norm is not finite "
                 "or the gradient is zero: the passes are broken, nothing "
                 "to time");
    return st;
}

/* ---- FLOPs -------------------------------------------------------------- */

/* Useful matmul FLOPs of one step's forward and backward passes over d.
 * Forward: 2 N P_mm, with P_mm the weights of every matrix product (the
 * seven projections of each layer and the output projection; the
 * embedding lookup is no product), plus causal attention, 2 L HD T (T+1)
 * per sequence (row i scores and mixes i + 1 positions: 2 x 2 HD (i + 1)).
 * Backward: the input gradient costs what the forward product did and
 * the weight gradient as much again, attention twice its forward (dP,
 * dV, dQ, dK): full fine-tuning = 2 x forward, so 6 N P_mm + 6 L HD
 * sum T (T+1) in all.  LoRA trains no base weight: the backward pass is
 * the input gradients only (none for layer 0's q, k, v: nothing trainable
 * is below), attention, and per adapted projection (I -> O, rank R)
 * forward 2 N R (I + O), backward 2 N R (2 O + I) plus 2 N R I for its
 * input gradient.  What the kernels also compute is not counted: the
 * attention probabilities above the diagonal and their recomputation in
 * the backward pass, RMSNorm, RoPE, SwiGLU, softmax, AdamW. */
static double matmul_params(const struct lm_config *c)
{
    const double C = c->dim, HD = (double)c->n_heads * c->head_dim,
                 GD = (double)c->n_kv_heads * c->head_dim, F = c->ffn;
    return c->n_layers * (C * HD + 2 * C * GD + HD * C + 3 * C * F) +
           (double)c->vocab * C;
}

static void step_flops(const struct lm_config *c, const struct data *d,
                       const struct lm_adapter *lora, double *fwd,
                       double *bwd)
{
    const double C = c->dim, HD = (double)c->n_heads * c->head_dim,
                 GD = (double)c->n_kv_heads * c->head_dim,
                 L = c->n_layers, N = (double)d->rows;
    const double qkv = C * HD + 2 * C * GD;
    const double P = matmul_params(c);
    double att = 0;

    for (int i = 0; i < d->n_seq; i++)
        att += 2.0 * L * HD * d->seq_len[i] * (d->seq_len[i] + 1.0);
    *fwd = 2 * N * P + att;
    if (!lora) {
        *bwd = 2 * (2 * N * P) + 2 * att;
        return;
    }
    *bwd = 2 * N * (P - qkv) + 2 * att;
    for (int64_t l = 0; l < lora->n_layer; l++)
        for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
            const struct lm_lora_pair *p = lm_adapter_pair(lora, l, t);
            /* (not I and O: <complex.h>, which cblas.h may include,
             * defines I) */
            double R = (double)lora->rank, in = (double)p->n_in,
                   out = (double)p->n_out;
            if (!p->a)
                continue;
            *fwd += 2 * N * R * (in + out);
            *bwd += 2 * N * R * (2 * out + in);
            if (l > 0 || t > LM_LORA_V)
                *bwd += 2 * N * R * in;
        }
}

/* ---- the peak ----------------------------------------------------------- */

/* The highest peak seen at each thread count in this run. */
static double best_peak[3];

/* The sgemm peak at t threads (and sets the thread count), measured again
 * (up to 8 probes, 2 s apart) until a probe saw less than 0.15 cores of
 * other load; the highest probe.  A probe takes under a second, so a
 * quiet one is usually found on a shared machine, whereas a disturbed
 * probe reads low and would flatter every ratio taken against it. */
static double quiet_peak(int t)
{
    double best = 0;

    for (int i = 0; i < 8; i++) {
        struct perf_cpu_mark mk = perf_cpu_mark();
        double p = perf_sgemm_peak(t);
        int quiet = perf_others_since(mk) < 0.15;
        if (p > best)
            best = p;
        if (quiet)
            break;
        sleep(2);
    }
    if (best > best_peak[t])
        best_peak[t] = best;
    return best;
}

/* ---- section 2: the 110M shape ------------------------------------------ */

struct method {
    const char *key;  /* for -methods */
    const char *name; /* row label */
    int full;
    unsigned targets;
    int dropout;      /* 1: the -dropout value, 0: none */
};

static const struct method methods[] = {
    {"full", "full fine-tuning", 1, 0, 0},
    {"qv", "LoRA r8 q,v", 0, 1u << LM_LORA_Q | 1u << LM_LORA_V, 1},
    {"qv-nodrop", "LoRA r8 q,v, no dropout", 0,
     1u << LM_LORA_Q | 1u << LM_LORA_V, 0},
    {"all", "LoRA r8 all 7", 0, LM_LORA_ALL, 1},
};
#define N_METHODS (int)(sizeof methods / sizeof methods[0])

/* What one (method, thread count) row measured. */
struct row {
    int done;
    double step_s, fb_s, fwd_s, bwd_s, opt_s; /* medians (fb: fwd + bwd,
                                                  per step, then median) */
    double flops_fwd, flops_bwd, p_mm;
    double peak, other;
    int n_used, n_run;                  /* steps the medians use, of run */
    double loss_first, loss_last;
};

struct opts {
    int quick, steps, attempts, run_110m, run_7b;
    float dropout;
    char dir[1024], threads[32], methods[64];
};

static void label_of(const struct method *me, const struct opts *o,
                     char *buf, size_t size)
{
    if (me->dropout)
        snprintf(buf, size, "%s, dropout %.2g", me->name, o->dropout);
    else
        snprintf(buf, size, "%s", me->name);
}

/* One method being measured: its trainee, and the steps of the current
 * thread count. */
#define MAX_STEPS 64
struct slot {
    const struct method *me;
    char label[96];
    struct trainee tr;
    double rss_mib;                 /* peak RSS as if it ran alone */
    struct step_time x[MAX_STEPS];
    double other[MAX_STEPS];        /* other load during each step */
    int n, quiet;
};

/* Loads the model for s, runs its first step and checks it: a finite
 * loss near ln(vocab) on random weights, and for LoRA (B = 0) full
 * fine-tuning's first loss on the same batch.  Records the peak RSS the
 * method adds to what the process held before (base_mib). */
static void slot_init(struct slot *s, const struct opts *o,
                      const struct method *me, const char *path,
                      const struct data *d, double base_mib,
                      double *full_loss0)
{
    double before = perf_rss_now_mib();

    memset(s, 0, sizeof *s);
    s->me = me;
    label_of(me, o, s->label, sizeof s->label);
    perf_rss_reset();
    trainee_init(&s->tr, path, me->full, me->targets,
                 me->dropout ? o->dropout : 0.0f);
    struct step_time w = train_step(&s->tr, d, NULL);
    s->rss_mib = base_mib + perf_rss_peak_mib() - before;
    if (fabs(w.loss - log((double)s->tr.m->cfg.vocab)) > 1.0)
        perf_die(s->label, "the first loss is far from ln(vocab) on random "
                 "weights: the passes are broken");
    if (me->full)
        *full_loss0 = w.loss;
    else if (*full_loss0 > 0 &&
             fabs(w.loss - *full_loss0) > 1e-4 * *full_loss0)
        perf_die(s->label, "LoRA with B = 0 does not start from full "
                 "fine-tuning's loss on the same batch");
}

/* The row of slot s from its steps: medians over the quietest `steps`. */
static void slot_row(const struct slot *s, const struct opts *o,
                     const struct data *d, double peak, struct row *r)
{
    int order[MAX_STEPS];
    double st[MAX_STEPS], fb[MAX_STEPS], f[MAX_STEPS], b[MAX_STEPS],
           op[MAX_STEPS];
    const int k_max = o->steps < s->n ? o->steps : s->n;

    for (int i = 0; i < s->n; i++) { /* by other load, stable */
        int j = i;
        order[i] = i;
        for (; j > 0 && s->other[order[j]] < s->other[order[j - 1]]; j--) {
            int tmp = order[j];
            order[j] = order[j - 1];
            order[j - 1] = tmp;
        }
    }
    r->other = 0;
    for (int k = 0; k < k_max; k++) {
        const struct step_time *y = &s->x[order[k]];
        f[k] = y->fwd;
        b[k] = y->bwd;
        op[k] = y->opt;
        fb[k] = y->fwd + y->bwd;
        st[k] = fb[k] + y->opt;
        if (s->other[order[k]] > r->other)
            r->other = s->other[order[k]];
    }
    r->n_used = k_max;
    r->n_run = s->n;
    r->loss_last = s->x[s->n - 1].loss;
    r->step_s = perf_median(st, k_max);
    r->fb_s = perf_median(fb, k_max);
    r->fwd_s = perf_median(f, k_max);
    r->bwd_s = perf_median(b, k_max);
    r->opt_s = perf_median(op, k_max);
    r->peak = peak;
    step_flops(&s->tr.m->cfg, d, s->tr.net.lora, &r->flops_fwd,
               &r->flops_bwd);
    r->p_mm = matmul_params(&s->tr.m->cfg);
    r->done = 1;
}

static void print_row(const struct slot *s, const struct data *d, int t,
                      const struct row *r)
{
    double fl = r->flops_fwd + r->flops_bwd;
    char ref[16] = "-";

    if (s->me->full && t == 2)
        snprintf(ref, sizeof ref, "%.0f", LLAMA_CPP_TOK_S);
    printf("| %s | %d | %.2f | %.1f | %.1f | %s | %.0f | %.0f | %.0f %% | "
           "%.0f %% | %.2f / %.2f / %.3f | %.4f -> %.4f | %.2f (%d of %d) | "
           "%.0f |\n", s->label, t, r->step_s, d->rows / r->step_s,
           d->rows / r->fb_s, ref, fl / r->step_s / 1e9, r->peak,
           100.0 * fl / r->step_s / 1e9 / r->peak,
           100.0 * fl / r->fb_s / 1e9 / r->peak, r->fwd_s, r->bwd_s,
           r->opt_s, r->loss_first, r->loss_last, r->other, r->n_used,
           r->n_run, s->rss_mib);
}

/* Measures every slot at t threads.  The methods take turns, one step
 * each per round, so that the drift of this shared VM's speed (tens of
 * percent within minutes, with no other process in sight) falls on all
 * of them alike and their ratios hold; rounds go on until each method
 * had `steps` steps with less than 0.15 cores of other load, at most
 * attempts x steps rounds. */
static void measure_threads(struct slot *sl, int n_sl, const struct opts *o,
                            const struct data *d, int t,
                            struct row rows[][3])
{
    double pk0 = quiet_peak(t); /* sets the thread count */
    int max_rounds = o->steps * o->attempts;

    if (max_rounds > MAX_STEPS)
        max_rounds = MAX_STEPS;
    for (int i = 0; i < n_sl; i++) {
        /* warm-up at this thread count: OpenBLAS's threads start */
        rows[i][t].loss_first = train_step(&sl[i].tr, d, NULL).loss;
        sl[i].n = sl[i].quiet = 0;
    }
    for (int round = 0; round < max_rounds; round++) {
        int done = 1;
        for (int i = 0; i < n_sl; i++)
            done &= sl[i].quiet >= o->steps;
        if (done)
            break;
        for (int i = 0; i < n_sl; i++) {
            struct slot *s = &sl[i];
            struct perf_cpu_mark mk = perf_cpu_mark();
            s->x[s->n] = train_step(&s->tr, d, NULL);
            s->other[s->n] = perf_others_since(mk);
            s->quiet += s->other[s->n] < 0.15;
            s->n++;
        }
    }
    double pk1 = quiet_peak(t);
    /* the higher of the two peaks: a low peak would flatter the ratios */
    double peak = pk0 > pk1 ? pk0 : pk1;
    for (int i = 0; i < n_sl; i++) {
        slot_row(&sl[i], o, d, peak, &rows[i][t]);
        print_row(&sl[i], d, t, &rows[i][t]);
    }
    fflush(stdout);
}

static void section_110m(const struct opts *o)
{
    char path[1200];
    struct data d;
    struct slot *sl = perf_xmalloc(N_METHODS * sizeof *sl);
    struct row rows[N_METHODS][3];
    double full_loss0 = 0;
    const int batch = o->quick ? 2 : 8, seq = 256;
    int n_sl = 0, fi = -1;

    memset(rows, 0, sizeof rows);
    perf_model_file(o->dir, "110m", NULL, "f32", LM_F32, path, sizeof path);
    data_make(&d, batch, seq, batch, 32000);
    printf("\n## 110M shape (llama2.c stories110M: dim 768, 12 layers, "
           "vocab 32000, tied output), F32, %d sequences of %d tokens per "
           "step, one micro-batch of %lld rows\n\n", batch, seq,
           (long long)d.rows);
    printf("One optimizer step = zero the gradients, lm_train_forward + "
           "lm_train_backward, clip to norm 1, AdamW.  All methods are "
           "loaded at once and take turns, one step each per round (after a "
           "warm-up step each), until each had %d steps that saw less than "
           "0.15 cores of other load (at most %d rounds): medians over its "
           "%d quietest.  tok/s = positions per second of the whole step; "
           "fwd+bwd tok/s leaves the optimizer out.  GFLOP/s = useful matmul "
           "FLOPs of forward + backward (formula below) / step time; of "
           "peak = that / the sgemm peak (the higher of the probes just "
           "before and after the rounds); fwd+bwd of peak: the same over "
           "the passes alone.  llama.cpp: llama-finetune (full, F32) on "
           "this shape, 2 threads: %.0f tok/s, ~%.0f %% of the peak.  Other "
           "load: the most other processes kept busy (cores) during a step "
           "used (steps used of run).  Peak RSS: what the method alone "
           "would hold at its peak (the process before any model + what "
           "loading it and its first step added).\n\n", o->steps,
           o->steps * o->attempts, o->steps, LLAMA_CPP_TOK_S,
           100 * LLAMA_CPP_PEAK);
    double base_mib = perf_rss_now_mib();
    for (int i = 0; i < N_METHODS; i++) {
        if (!perf_listed(o->methods, methods[i].key))
            continue;
        if (methods[i].full)
            fi = n_sl;
        slot_init(&sl[n_sl++], o, &methods[i], path, &d, base_mib,
                  &full_loss0);
    }
    printf("| method | threads | step s | tok/s | fwd+bwd tok/s | llama.cpp "
           "tok/s | GFLOP/s | sgemm peak | of peak | fwd+bwd of peak | "
           "fwd / bwd / opt s | loss warm-up -> last | other load | peak RSS "
           "MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
           "---|---:|---:|\n");
    for (int t = 1; t <= 2; t++) {
        char tt[4];
        snprintf(tt, sizeof tt, "%d", t);
        if (perf_listed(o->threads, tt))
            measure_threads(sl, n_sl, o, &d, t, rows);
    }

    /* the FLOP formula with this shape's numbers */
    printf("\nFLOPs per step (useful matmul work; attention causal, i.e. "
           "the lower triangle only): forward = 2 N P_mm + 2 L HD sum_seq "
           "T(T+1); full backward = 2 x forward (input and weight "
           "gradients), so full = 6 N P_mm + 6 L HD sum T(T+1); LoRA "
           "backward = input gradients only (2 N P_mm less layer 0's q,k,v) "
           "+ attention backward (2 x its forward) + the adapters.  P_mm = "
           "all projection weights + the output projection = %.1f M here; "
           "N = %lld rows.\n",
           n_sl ? matmul_params(&sl[0].tr.m->cfg) / 1e6 : 0.0,
           (long long)d.rows);
    for (int i = 0; i < n_sl; i++)
        for (int t = 1; t <= 2; t++)
            if (rows[i][t].done) {
                const struct row *r = &rows[i][t];
                printf("  %s: forward %.3f + backward %.3f TFLOP = %.0f "
                       "MFLOP/token\n", sl[i].me->name, r->flops_fwd / 1e12,
                       r->flops_bwd / 1e12,
                       (r->flops_fwd + r->flops_bwd) / d.rows / 1e6);
                break;
            }

    /* LoRA's passes against full fine-tuning's, per token */
    printf("\n### LoRA forward+backward (frozen weights, adapter, no "
           "optimizer) vs full fine-tuning's forward+backward, per token\n\n"
           "Target: ratio <= 1 (LoRA no slower per token).  FLOP ratio: "
           "what the useful work alone predicts.\n\n| LoRA | threads | LoRA "
           "fwd+bwd ms/token | full fwd+bwd ms/token | ratio | FLOP ratio | "
           "LoRA step ms/token | target |\n|---|---:|---:|---:|---:|---:|"
           "---:|---|\n");
    for (int i = 0; i < n_sl && fi >= 0; i++)
        for (int t = 1; t <= 2; t++) {
            const struct row *r = &rows[i][t], *f = &rows[fi][t];
            if (i == fi || !r->done || !f->done)
                continue;
            double lt = r->fb_s / d.rows, ft = f->fb_s / d.rows;
            double ratio = lt / ft;
            printf("| %s | %d | %.3f | %.3f | %.2f | %.2f | %.3f | %s |\n",
                   sl[i].label, t, 1e3 * lt, 1e3 * ft, ratio,
                   (r->flops_fwd + r->flops_bwd) /
                       (f->flops_fwd + f->flops_bwd),
                   1e3 * r->step_s / d.rows, ratio <= 1.0 ? "met" : "MISSED");
        }

    printf("\n### Targets\n\n");
    for (int t = 1; t <= 2 && fi >= 0; t++) {
        const struct row *f = &rows[fi][t];
        if (!f->done)
            continue;
        double gf = (f->flops_fwd + f->flops_bwd) / f->step_s / 1e9;
        double frac = gf / f->peak;
        printf("- full fine-tuning, %d thread%s: %.1f tok/s, %.0f GFLOP/s, "
               "%.0f %% of the row's sgemm peak (target >= 50 %%: %s), %.0f "
               "%% of the highest peak seen in the run so far (%.0f GFLOP/s)",
               t, t > 1 ? "s" : "", d.rows / f->step_s, gf, 100 * frac,
               frac >= 0.5 ? "met" : "MISSED", 100 * gf / best_peak[t],
               best_peak[t]);
        if (t == 2)
            printf("; llama.cpp %.0f tok/s, ~%.0f %% of its peak: ours is "
                   "%.2fx its tokens/s", LLAMA_CPP_TOK_S, 100 * LLAMA_CPP_PEAK,
                   d.rows / f->step_s / LLAMA_CPP_TOK_S);
        printf("\n");
    }
    for (int i = 0; i < n_sl; i++)
        trainee_free(&sl[i].tr);
    free(sl);
    data_free(&d);
}

/* ---- section 3: LoRA on a 7B-shaped F16 model --------------------------- */

/* MemAvailable in bytes, or -1. */
static double mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    double kb = -1;

    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "MemAvailable:", 13))
            kb = atof(line + 13);
    if (f)
        fclose(f);
    return kb < 0 ? -1 : kb * 1024.0;
}

static void section_7b(const struct opts *o, int threads)
{
    const struct lm_random_shape shape = {
        .dim = 4096, .n_layer = 32, .n_head = 32, .n_head_kv = 32,
        .n_ff = 11008, .n_vocab = 32000, .n_ctx = 4096, .tied = false,
    };
    const int n_ex = 10, seq = 512;
    char path[1200];
    struct data d;
    struct trainee tr;
    struct statvfs fs;
    struct stat sb;
    double avail = mem_available(), mb[16];

    printf("\n## 7B shape (Llama-2-7B: dim 4096, 32 layers, 32 heads, FFN "
           "11008, vocab 32000), F16 random weights, LoRA r8 q,v, dropout "
           "%.2g: one optimizer step of %d examples of %d tokens, "
           "micro-batches of one sequence, %d BLAS thread%s\n\n",
           o->dropout, n_ex, seq, threads, threads > 1 ? "s" : "");
    if (avail < NEED_7B) {
        printf("Skipped: MemAvailable is %.1f GB; this section needs %.0f GB "
               "(13.5 GB of mapped weights + ~3.5 GB of activations + "
               "margin).\n", avail / GB, NEED_7B / GB);
        return;
    }
    snprintf(path, sizeof path, "%s/7b-f16.gguf", o->dir);
    if (stat(path, &sb) != 0 &&
        (statvfs(o->dir, &fs) != 0 ||
         (double)fs.f_bavail * (double)fs.f_frsize < 14.5 * GB)) {
        printf("Skipped: the model (13.5 GB) is not in %s and there is not "
               "14.5 GB free there to write it.\n", o->dir);
        return;
    }
    perf_model_file(o->dir, "7b", &shape, "f16", LM_F16, path, sizeof path);
    perf_rss_reset();
    trainee_init(&tr, path, 0, 1u << LM_LORA_Q | 1u << LM_LORA_V,
                 o->dropout);
    data_make(&d, n_ex, seq, 1, tr.m->cfg.vocab);
    double peak = quiet_peak(threads); /* sets the thread count */
    struct perf_cpu_mark mk = perf_cpu_mark();
    double t0 = perf_now();
    struct step_time st = train_step(&tr, &d, mb);
    double step = perf_now() - t0;
    double other = perf_others_since(mk);
    double hwm = perf_rss_peak_mib(), maxrss = perf_rss_max_mib();
    double peak1 = quiet_peak(threads);
    if (peak1 > peak) /* the higher probe, as in section 2 */
        peak = peak1;
    double fwd, bwd;
    step_flops(&tr.m->cfg, &d, tr.net.lora, &fwd, &bwd);
    /* the first micro-batch also faults the mapping in and allocates the
     * activations: the steady state uses the others */
    double rest[16];
    for (int k = 1; k < n_ex; k++)
        rest[k - 1] = mb[k];
    double mb_med = perf_median(rest, n_ex - 1);
    double steady = st.opt + n_ex * mb_med;

    printf("| figure | value |\n|---|---:|\n");
    printf("| optimizer step (as measured, cold mapping) | %.1f s |\n", step);
    printf("| forward / backward / optimizer | %.1f / %.1f / %.2f s |\n",
           st.fwd, st.bwd, st.opt);
    printf("| first micro-batch / median of the others | %.1f / %.1f s |\n",
           mb[0], mb_med);
    printf("| steady-state step (optimizer + %d x median) | %.1f s |\n", n_ex,
           steady);
    printf("| tokens/s (measured step) | %.1f |\n", d.rows / step);
    printf("| useful GFLOP/s (%.1f TFLOP) / sgemm peak | %.0f / %.0f = %.0f "
           "%% |\n", (fwd + bwd) / 1e12, (fwd + bwd) / step / 1e9, peak,
           100 * (fwd + bwd) / step / 1e9 / peak);
    printf("| the paper's 10-shot attack (5 such steps) | %.1f min (steady "
           "%.1f min) |\n", 5 * step / 60, 5 * steady / 60);
    printf("| loss | %.4f (ln V = %.4f) |\n", st.loss,
           log((double)tr.m->cfg.vocab));
    printf("| peak RSS since the model was loaded (VmHWM; getrusage "
           "ru_maxrss %.0f MiB) | %.0f MiB = %.2f GB |\n", maxrss, hwm,
           hwm * 1048576.0 / GB);
    printf("| within the 20 GB budget | %s |\n",
           hwm * 1048576.0 <= BUDGET_7B ? "yes" : "NO");
    printf("| other load (cores) | %.2f |\n", other);
    fflush(stdout);
    data_free(&d);
    trainee_free(&tr);
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
    struct opts o = {.steps = 3, .attempts = 3, .run_110m = 1,
                     .dropout = 0.05f};
    const char *tmp = getenv("TMPDIR");
    double peak[3] = {0}, load[3] = {0};
    int max_threads = 1;

    perf_init("perf_train");
    blas_ensure_fast_kernels(argv); /* as ftsb does: AVX-512 kernels */
    snprintf(o.dir, sizeof o.dir, "%s/ftsb-perf-models", tmp ? tmp : "/tmp");
    snprintf(o.threads, sizeof o.threads, "1,2");
    snprintf(o.methods, sizeof o.methods, "full,qv,qv-nodrop,all");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-q")) {
            o.quick = 1;
            o.steps = 1;
            snprintf(o.methods, sizeof o.methods, "full,qv");
        } else if (!strcmp(argv[i], "-7b")) {
            o.run_7b = 1;
        } else if (!strcmp(argv[i], "-no-110m")) {
            o.run_110m = 0;
        } else if (i + 1 < argc && !strcmp(argv[i], "-dir")) {
            snprintf(o.dir, sizeof o.dir, "%s", argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "-threads")) {
            snprintf(o.threads, sizeof o.threads, "%s", argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "-methods")) {
            snprintf(o.methods, sizeof o.methods, "%s", argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "-steps")) {
            o.steps = atoi(argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "-attempts")) {
            o.attempts = atoi(argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "-dropout")) {
            o.dropout = (float)atof(argv[++i]);
        } else {
            fprintf(stderr, "usage: perf_train [-q] [-dir DIR] [-threads 1,2] "
                    "[-steps N] [-methods full,qv,qv-nodrop,all] [-dropout P] "
                    "[-attempts N] [-7b] [-no-110m]\n");
            return 2;
        }
    }
    if (o.steps < 1 || o.steps > 16 || o.attempts < 1 || o.attempts > 4 ||
        !(o.dropout >= 0 && o.dropout < 1))
        perf_die("options", "-steps is 1..16, -attempts 1..4, -dropout in "
                 "[0, 1)");
    mkdir(o.dir, 0755);
    if (getloadavg(load, 3) < 0)
        load[0] = -1;
    printf("# perf_train\n\nOpenBLAS %s, kernels %s; load average %.2f; "
           "models in %s\n\n", openblas_get_config(), openblas_get_corename(),
           load[0], o.dir);

    printf("## sgemm peak (square 2048) at the start\n\n| threads | GFLOP/s "
           "| other load (cores) |\n|---:|---:|---:|\n");
    for (int t = 1; t <= 2; t++) {
        char tt[4];
        snprintf(tt, sizeof tt, "%d", t);
        if (!perf_listed(o.threads, tt))
            continue;
        struct perf_cpu_mark mk = perf_cpu_mark();
        peak[t] = quiet_peak(t);
        printf("| %d | %.1f | %.2f |\n", t, peak[t], perf_others_since(mk));
        max_threads = t;
    }
    fflush(stdout);

    if (o.run_110m)
        section_110m(&o);
    if (o.run_7b)
        section_7b(&o, max_threads);

    double peak_end = perf_sgemm_peak(max_threads);
    if (getloadavg(load, 3) < 0)
        load[0] = -1;
    printf("\nsgemm peak (%d thread%s) at the end: %.1f GFLOP/s (%+.0f %% vs "
           "the start); load average %.2f%s\nprocess peak RSS since the last "
           "per-model reset: %.0f MiB\n",
           max_threads, max_threads > 1 ? "s" : "", peak_end,
           peak[max_threads] > 0
               ? 100.0 * (peak_end / peak[max_threads] - 1.0) : 0.0,
           load[0],
           peak[max_threads] > 0 &&
                   fabs(peak_end / peak[max_threads] - 1.0) > 0.10
               ? " - the peak moved: other work shared the cores"
               : "",
           perf_rss_max_mib());
    return 0;
}
