/*
 * test_train_grad.c - the training passes of train.h checked as a whole:
 * the gradients lm_train_backward accumulates for every kind of parameter
 * (embeddings, norms, each projection, the output matrix, LoRA A and B,
 * with and without dropout, tied and untied output, grouped-query
 * attention) against central finite differences of the loss computed by
 * lm_train_forward, on a tiny random model in reference mode (double
 * accumulation).  The per-kernel checks are in test_kernels.c; this one
 * catches wiring mistakes between them.  It also checks that the training
 * forward pass computes the same loss as the inference pass (lm_forward).
 */
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapter.h"
#include "forward.h"
#include "kernels.h"
#include "kv_cache.h"
#include "model.h"
#include "model_f32.h"
#include "random_model.h"
#include "train.h"

static char model_path[256];

static struct lm_model *tiny_model(bool tied)
{
    struct lm_random_shape s = {
        .dim = 32, .n_layer = 2, .n_head = 4, .n_head_kv = 2, .n_ff = 48,
        .n_vocab = LM_RANDOM_MIN_VOCAB, .n_ctx = 64, .std = 0.2f, .tied = tied,
    };
    struct lm_model *m = NULL;
    struct lm_err e = {0};

    snprintf(model_path, sizeof model_path, "%s/ftsb-train-grad-%d.gguf",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    if (lm_random_model_write(model_path, &s, LM_F32, 11, NULL, &e) ||
        lm_model_load(model_path, NULL, &m, &e)) {
        fprintf(stderr, "tiny model: %s\n", e.msg);
        return NULL;
    }
    unlink(model_path);
    return m;
}

/* Two sequences (7 and 5 tokens) with some masked targets. */
static int32_t tokens[12], targets[12], seq_len[2] = {7, 5};
static struct lm_batch batch = {tokens, targets, seq_len, 2};

static void make_batch(int vocab)
{
    for (int i = 0; i < 12; i++) {
        tokens[i] = (i * 37 + 5) % vocab;
        targets[i] = i % 3 == 0 ? -1 : (i * 53 + 11) % vocab;
    }
}

/* Mean loss of the batch. */
static double loss_of(struct lm_train_net *net, struct lm_acts *a)
{
    double sum = 0;
    int64_t n = 0;
    struct lm_err e = {0};

    if (lm_train_forward(net, a, &batch, 1.0f, &sum, &n, &e)) {
        fprintf(stderr, "forward: %s\n", e.msg);
        return NAN;
    }
    return sum / (double)n;
}

/* Analytic gradients of the mean loss into the net's gradient buffers. */
static int analytic(struct lm_train_net *net, struct lm_acts *a)
{
    double sum;
    int64_t n = 0;
    struct lm_err e = {0};

    for (int i = 0; i < 12; i++)
        n += targets[i] >= 0;
    lm_train_zero_grad(net);
    if (lm_train_forward(net, a, &batch, 1.0f / (float)n, &sum, &n, &e) ||
        lm_train_backward(net, a, &batch, &e)) {
        fprintf(stderr, "train: %s\n", e.msg);
        return -1;
    }
    return 0;
}

/* Compares grad[0..n) with central differences of the loss at up to 12
 * elements of param spread over the tensor; returns the normalised error
 * |num - ana| / max(|num|, |ana|) over the sampled vector. */
static double check_tensor(const char *name, struct lm_train_net *net,
                           struct lm_acts *a, float *param, const float *grad,
                           int64_t n)
{
    double diff = 0, norm_a = 0, norm_n = 0;
    const float h = 1e-2f;
    int64_t stride = n / 12 > 0 ? n / 12 : 1;

    for (int64_t i = (n * 7 / 13) % stride; i < n; i += stride) {
        float keep = param[i];
        param[i] = keep + h;
        double lp = loss_of(net, a);
        param[i] = keep - h;
        double lm = loss_of(net, a);
        param[i] = keep;
        double num = (lp - lm) / (2.0 * h);
        diff += (num - grad[i]) * (num - grad[i]);
        norm_a += (double)grad[i] * grad[i];
        norm_n += num * num;
    }
    double rel = sqrt(diff) / fmax(fmax(sqrt(norm_a), sqrt(norm_n)), 1e-12);
    printf("  %-22s |grad| %.3e  rel err %.2e\n", name, sqrt(norm_a), rel);
    if (!(sqrt(norm_a) > 0))
        return 1.0; /* a gradient that is all zero means a missed path */
    return rel;
}

static void check_full(bool tied)
{
    struct lm_model *m = tiny_model(tied);
    struct lm_train_net net = {0};
    struct lm_fparams p;
    struct lm_acts a;
    struct lm_err e = {0};
    float *grads;

    CHECK(m != NULL);
    if (!m)
        return;
    CHECK(lm_model_to_f32(m, &e) == FTSB_OK);
    make_batch(m->cfg.vocab);
    grads = calloc((size_t)m->n_f32, sizeof(float));
    CHECK(grads != NULL);
    CHECK(lm_fparams_bind(&net.dp, &m->cfg, grads, &e) == FTSB_OK);
    CHECK(lm_fparams_bind(&p, &m->cfg, m->f32, &e) == FTSB_OK);
    net.model = m;
    lm_acts_init(&a);
    lm_scratch_set_reference(&a.ws, 1);
    CHECK(analytic(&net, &a) == 0);

    const int64_t C = m->cfg.dim, V = m->cfg.vocab, F = m->cfg.ffn,
                  HD = (int64_t)m->cfg.n_heads * m->cfg.head_dim,
                  GD = (int64_t)m->cfg.n_kv_heads * m->cfg.head_dim;
    struct {
        const char *name;
        float *w, *g;
        int64_t n;
    } t[] = {
        {"tok_embd", p.tok_embd, net.dp.tok_embd, V * C},
        {"out_norm", p.out_norm, net.dp.out_norm, C},
        {"output", p.output, net.dp.output, V * C},
        {"blk.0.attn_norm", p.layers[0].attn_norm, net.dp.layers[0].attn_norm, C},
        {"blk.0.wq", p.layers[0].wq, net.dp.layers[0].wq, HD * C},
        {"blk.0.wk", p.layers[0].wk, net.dp.layers[0].wk, GD * C},
        {"blk.0.wv", p.layers[0].wv, net.dp.layers[0].wv, GD * C},
        {"blk.1.wo", p.layers[1].wo, net.dp.layers[1].wo, C * HD},
        {"blk.1.ffn_norm", p.layers[1].ffn_norm, net.dp.layers[1].ffn_norm, C},
        {"blk.1.w_gate", p.layers[1].w_gate, net.dp.layers[1].w_gate, F * C},
        {"blk.1.w_up", p.layers[1].w_up, net.dp.layers[1].w_up, F * C},
        {"blk.0.w_down", p.layers[0].w_down, net.dp.layers[0].w_down, C * F},
    };
    printf("full fine-tuning, %s output:\n", tied ? "tied" : "untied");
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        /* the embedding gradient is sparse: sample the rows it touches */
        if (i == 0) {
            double rel = check_tensor(t[i].name, &net, &a,
                                      t[i].w + (int64_t)tokens[3] * C,
                                      t[i].g + (int64_t)tokens[3] * C, C);
            CHECK(rel < 2e-2);
            continue;
        }
        double rel = check_tensor(t[i].name, &net, &a, t[i].w, t[i].g, t[i].n);
        CHECK(rel < 2e-2);
    }
    lm_acts_free(&a);
    lm_fparams_free(&net.dp);
    lm_fparams_free(&p);
    free(grads);
    lm_model_free(m);
}

TEST(full_untied) { check_full(false); }
TEST(full_tied) { check_full(true); }

/* Fills the adapter's A and B with small deterministic values. */
static void fill_adapter(struct lm_adapter *ad, float s)
{
    uint32_t x = 12345;
    for (int64_t l = 0; l < ad->n_layer; l++)
        for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
            struct lm_lora_pair *p = lm_adapter_pair(ad, l, t);
            if (!p->a)
                continue;
            for (int64_t i = 0; i < ad->rank * p->n_in; i++) {
                x = x * 1664525u + 1013904223u;
                p->a[i] = s * ((float)(x >> 8) / 16777216.0f - 0.5f);
            }
            for (int64_t i = 0; i < p->n_out * ad->rank; i++) {
                x = x * 1664525u + 1013904223u;
                p->b[i] = s * ((float)(x >> 8) / 16777216.0f - 0.5f);
            }
        }
}

static void check_lora(float dropout)
{
    struct lm_model *m = tiny_model(false);
    struct lm_adapter_base base = {
        .arch = "llama", .n_layer = 2, .n_embd = 32, .n_ff = 48,
        .n_head = 4, .n_head_kv = 2,
    };
    struct lm_adapter *ad = NULL, *dad = NULL;
    struct lm_train_net net = {0};
    struct lm_acts a;
    struct lm_err e = {0};

    CHECK(m != NULL);
    if (!m)
        return;
    make_batch(m->cfg.vocab);
    CHECK(lm_adapter_new(&base, 4, 8.0f, LM_LORA_ALL, &ad, &e) == FTSB_OK);
    CHECK(lm_adapter_new(&base, 4, 8.0f, LM_LORA_ALL, &dad, &e) == FTSB_OK);
    fill_adapter(ad, 0.6f);
    net.model = m;
    net.lora = ad;
    net.dlora = dad;
    net.lora_scale = lm_adapter_scale(ad);
    net.lora_dropout = dropout;
    net.dropout_key = 99;
    lm_acts_init(&a);
    lm_scratch_set_reference(&a.ws, 1);
    CHECK(analytic(&net, &a) == 0);
    printf("LoRA rank 4, dropout %.2f:\n", (double)dropout);
    for (int l = 0; l < 2; l++)
        for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
            struct lm_lora_pair *p = lm_adapter_pair(ad, l, t);
            struct lm_lora_pair *g = lm_adapter_pair(dad, l, t);
            char name[64];
            snprintf(name, sizeof name, "blk.%d.%s.A", l,
                     lm_lora_target_gguf(t));
            CHECK(check_tensor(name, &net, &a, p->a, g->a,
                               ad->rank * p->n_in) < 2e-2);
            snprintf(name, sizeof name, "blk.%d.%s.B", l,
                     lm_lora_target_gguf(t));
            CHECK(check_tensor(name, &net, &a, p->b, g->b,
                               p->n_out * ad->rank) < 2e-2);
        }
    lm_acts_free(&a);
    lm_adapter_free(ad);
    lm_adapter_free(dad);
    lm_model_free(m);
}

TEST(lora) { check_lora(0.0f); }
TEST(lora_dropout) { check_lora(0.25f); }

/* The dropout masks: the right rate, the right scale, reproducible. */
TEST(dropout_mask)
{
    int zeros = 0;
    for (int i = 0; i < 100000; i++) {
        float m = lm_dropout_mask(7, 1, 2, i / 100, i % 100, 0.1f);
        CHECK(m == 0.0f || fabsf(m - 1.0f / 0.9f) < 1e-6f);
        zeros += m == 0.0f;
        CHECK(m == lm_dropout_mask(7, 1, 2, i / 100, i % 100, 0.1f));
    }
    CHECK(zeros > 9500 && zeros < 10500);
    CHECK(lm_dropout_mask(7, 1, 2, 3, 4, 0.0f) == 1.0f);
}

/* The training pass and the inference pass compute the same loss, and
 * the optimised kernels agree with the references. */
TEST(forward_matches_inference)
{
    struct lm_model *m = tiny_model(false);
    struct lm_train_net net = {0};
    struct lm_acts a;
    struct lm_state s;
    struct lm_kv_pool pool;
    struct lm_err e = {0};
    double sum_train = 0, sum_infer = 0, sum_ref = 0;
    int64_t n = 0;

    CHECK(m != NULL);
    if (!m)
        return;
    make_batch(m->cfg.vocab);
    net.model = m;
    lm_acts_init(&a);
    lm_scratch_set_reference(&a.ws, 0);
    CHECK(lm_train_forward(&net, &a, &batch, 1.0f, &sum_train, &n, &e) == 0);
    lm_scratch_set_reference(&a.ws, 1);
    CHECK(lm_train_forward(&net, &a, &batch, 1.0f, &sum_ref, &n, &e) == 0);

    lm_state_init(&s);
    lm_kv_pool_init(&pool, &m->cfg, 64);
    for (int i = 0, r = 0; i < 2; r += seq_len[i], i++) {
        struct lm_kv_seq kv = {0};
        CHECK(lm_kv_seq_alloc(&pool, &kv, seq_len[i], &e) == FTSB_OK);
        struct lm_seg seg = {tokens + r, seq_len[i], &kv, LM_LOGITS_ALL};
        CHECK(lm_forward(m, &s, &pool, &seg, 1, &e) == FTSB_OK);
        sum_infer += lm_crossentropy(NULL, NULL, s.logits, targets + r,
                                     seq_len[i], m->cfg.vocab, 1.0f);
        lm_kv_seq_free(&pool, &kv);
    }
    printf("loss sums: train %.9f, reference %.9f, inference %.9f\n",
           sum_train, sum_ref, sum_infer);
    CHECK(fabs(sum_train - sum_infer) < 1e-4 * fabs(sum_infer));
    CHECK(fabs(sum_train - sum_ref) < 1e-4 * fabs(sum_ref));
    lm_state_free(&s);
    lm_acts_free(&a);
    lm_model_free(m);
}

int main(void)
{
    RUN(dropout_mask);
    RUN(forward_matches_inference);
    RUN(full_untied);
    RUN(full_tied);
    RUN(lora);
    RUN(lora_dropout);
    return test_summary();
}
