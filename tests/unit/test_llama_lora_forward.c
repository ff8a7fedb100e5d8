/*
 * test_llama_lora_forward.c - a LoRA adapter attached to a model
 * (model.h: lora, lora_scale) against the same adapter merged by hand into
 * the weights, W' = W + s B A with s = alpha / r * scale, kept in F32:
 * llama.cpp's definition (shared/testdata/README.md section 7) says the
 * two compute the same function, so on small random-weight models of each
 * weight type the logits must agree to float rounding, whole prompt and
 * one token at a time, on BLAS and on the naive references.  An adapter
 * whose B is zero, or a scale of 0, must give the logits of no adapter
 * bit for bit; an adapter saved as GGUF or PEFT and loaded back gives
 * the logits of the one in memory; an adapter that does not fit the model
 * is refused by the forward pass, naming the tensor, before any cache is
 * touched.  Needs no shared data.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapter.h"
#include "forward.h"
#include "fp16.h"
#include "model.h"
#include "random_model.h"
#include "test.h"

#define P 12 /* prompt tokens */

static char dir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

/* dim 64, 2 layers, 4 heads / 2 kv heads (GQA: k and v are narrower than
 * q), FFN 96, vocab 400; every row length a multiple of 32 for Q8_0 */
static struct lm_random_shape tiny(void)
{
    struct lm_random_shape s = {64, 2, 4, 2, 96, 400, 256, 10000.0f, 1e-5f,
                                0.1f, false};
    return s;
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;

/* Uniform in [-0.15, 0.15): with rank 4 and s = 1.5, B A moves each
 * weight by about a fifth of the weights' own spread (std 0.1). */
static float rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((float)((rng >> 40) & 0xFFFF) / 65536.0f - 0.5f) * 0.3f;
}

static struct lm_model *load(const char *path)
{
    struct lm_model *m = NULL;
    struct lm_err e = {0};

    if (lm_model_load(path, NULL, &m, &e) != FTSB_OK) {
        printf("  %s: %s\n", path, e.msg);
        CHECK(0);
    }
    return m;
}

/* An adapter for m with random A and B on every target of layer 0 and on
 * q, v and down only of layer 1 (a base tensor without a pair must be
 * used unchanged).  zero_b: B stays zero. */
static struct lm_adapter *make_adapter(const struct lm_model *m, int zero_b)
{
    struct lm_adapter_base base;
    struct lm_adapter *ad = NULL;
    struct lm_err e = {0};

    if (lm_adapter_base_from_gguf(m->file, &base, &e) ||
        lm_adapter_new(&base, 4, 8.0f, LM_LORA_ALL, &ad, &e)) {
        printf("  adapter: %s\n", e.msg);
        CHECK(0);
        return NULL;
    }
    for (int l = 0; l < 2; l++)
        for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
            struct lm_lora_pair *p = lm_adapter_pair(ad, l, t);
            if (l == 1 && t != LM_LORA_Q && t != LM_LORA_V &&
                t != LM_LORA_DOWN) {
                free(p->a);
                free(p->b);
                p->a = p->b = NULL;
                continue;
            }
            for (int64_t k = 0; k < p->n_in * ad->rank; k++)
                p->a[k] = rnd();
            for (int64_t k = 0; !zero_b && k < p->n_out * ad->rank; k++)
                p->b[k] = rnd();
        }
    return ad;
}

/* The weight of target t in layer ly. */
static struct lm_tensor *weight_of(struct lm_layer *ly, int t)
{
    struct lm_tensor *w[LM_LORA_N_TARGETS] = {
        &ly->wq, &ly->wk, &ly->wv, &ly->wo, &ly->w_gate, &ly->w_up,
        &ly->w_down,
    };
    return w[t];
}

/* Replaces every adapted weight of m by W + s B A in F32 (W converted
 * from its type, the product summed in double, one rounding).  The new
 * matrices are kept in bufs (LM_LORA_N_TARGETS per layer) for the caller
 * to free. */
static int merge(struct lm_model *m, const struct lm_adapter *ad, float scale,
                 float **bufs)
{
    const double s = (double)lm_adapter_scale(ad) * scale;
    const int64_t r = ad->rank;

    for (int l = 0; l < m->cfg.n_layers; l++)
        for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
            const struct lm_lora_pair *p = lm_adapter_pair(ad, l, t);
            struct lm_tensor *w = weight_of(&m->w.layers[l], t);
            float *wp;

            bufs[l * LM_LORA_N_TARGETS + t] = NULL;
            if (!p->a)
                continue;
            /* W (O,I): O rows of I values; A (r,I), B (O,r) */
            if (!(wp = malloc((size_t)(w->rows * w->cols) * sizeof *wp)) ||
                lm_to_f32_row(wp, w->type, w->data, w->rows * w->cols)) {
                free(wp);
                return 0;
            }
            for (int64_t o = 0; o < w->rows; o++)
                for (int64_t i = 0; i < w->cols; i++) {
                    double acc = 0.0;
                    for (int64_t k = 0; k < r; k++)
                        acc += (double)p->b[o * r + k] * p->a[k * w->cols + i];
                    float *x = &wp[o * w->cols + i];
                    *x = (float)((double)*x + s * acc);
                }
            bufs[l * LM_LORA_N_TARGETS + t] = wp;
            w->type = LM_F32;
            w->data = wp;
        }
    return 1;
}

/* Logits of the prompt, (P,V) malloc'ed: one call with every row
 * (steps == 0) or one token per call (steps == 1, the n = 1 paths). */
static float *logits(const struct lm_model *m, struct lm_state *st,
                     const int32_t *ids, int steps)
{
    const int V = m->cfg.vocab;
    struct lm_kv_pool pool;
    struct lm_kv_seq kv = {0};
    struct lm_err e = {0};
    float *out = malloc((size_t)P * V * sizeof(float));
    int ok = out != NULL;

    lm_kv_pool_init(&pool, &m->cfg, P);
    ok = ok && lm_kv_seq_alloc(&pool, &kv, P, &e) == FTSB_OK;
    for (int i = 0; ok && i < (steps ? P : 1); i++) {
        struct lm_seg seg = {ids + i, steps ? 1 : P, &kv,
                             steps ? LM_LOGITS_LAST : LM_LOGITS_ALL};
        ok = lm_forward(m, st, &pool, &seg, 1, &e) == FTSB_OK;
        if (ok)
            memcpy(out + (int64_t)i * V, st->logits,
                   (size_t)st->n_logits * V * sizeof(float));
    }
    if (!ok) {
        printf("  forward failed: %s\n", e.msg);
        CHECK(0);
        free(out);
        out = NULL;
    }
    lm_kv_seq_free(&pool, &kv);
    return out;
}

/* max |a - b| / max |b| over n values */
static double max_rel(const float *a, const float *b, int64_t n)
{
    double d = 0.0, s = 0.0;

    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        d = e > d ? e : d;
        s = fabs((double)b[i]) > s ? fabs((double)b[i]) : s;
    }
    return d / (s > 0 ? s : 1);
}

static void prompt(int32_t *ids)
{
    for (int i = 0; i < P; i++)
        ids[i] = (i * 53 + 7) % 400;
}

TEST(adapter_equals_merged_weights)
{
    static const int32_t types[] = {LM_F32, LM_F16, LM_BF16, LM_Q8_0};
    const float scale = 0.75f; /* s = 8 / 4 * 0.75 = 1.5 */
    int32_t ids[P];

    prompt(ids);
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        const char *path = tmp_path("base.gguf");
        struct lm_random_shape sh = tiny();
        struct lm_err e = {0};
        struct lm_model *m, *merged;
        struct lm_adapter *ad;
        struct lm_state st;
        float *bufs[2 * LM_LORA_N_TARGETS];

        if (lm_random_model_write(path, &sh, types[k], 99, NULL, &e)) {
            printf("  %s\n", e.msg);
            CHECK(0);
            continue;
        }
        m = load(path);
        merged = load(path);
        ad = m ? make_adapter(m, 0) : NULL;
        if (!m || !merged || !ad || !merge(merged, ad, scale, bufs)) {
            CHECK(0);
            lm_model_free(m);
            lm_model_free(merged);
            lm_adapter_free(ad);
            continue;
        }
        lm_state_init(&st);
        const int64_t n = (int64_t)P * m->cfg.vocab;
        double worst = 0.0, effect;
        float *base = logits(m, &st, ids, 0);
        m->lora = ad;
        m->lora_scale = scale;
        for (int ref = 0; ref < 2; ref++) {
            lm_scratch_set_reference(&st.ws, ref);
            for (int steps = 0; steps < 2; steps++) {
                float *got = logits(m, &st, ids, steps);
                float *want = logits(merged, &st, ids, steps);
                if (got && want) {
                    double d = max_rel(got, want, n);
                    CHECK(d <= 1e-4);
                    worst = d > worst ? d : worst;
                }
                free(got);
                free(want);
            }
        }
        lm_scratch_set_reference(&st.ws, 0);
        /* the adapter changes the function: otherwise the equality above
         * says nothing */
        float *with = logits(m, &st, ids, 0);
        effect = base && with ? max_rel(with, base, n) : 0.0;
        CHECK(effect > 1e-2);
        printf("  %-4s adapter vs merged W + sBA: %.2e (adapter effect "
               "%.2e)\n", lm_type_name(types[k]), worst, effect);
        free(base);
        free(with);
        for (int i = 0; i < 2 * LM_LORA_N_TARGETS; i++)
            free(bufs[i]);
        lm_state_free(&st);
        lm_adapter_free(ad);
        lm_model_free(m);
        lm_model_free(merged);
    }
}

TEST(zero_b_and_zero_scale_are_no_adapter)
{
    const char *path = tmp_path("zero.gguf");
    struct lm_random_shape sh = tiny();
    struct lm_err e = {0};
    struct lm_model *m;
    struct lm_adapter *zb, *full;
    struct lm_state st;
    int32_t ids[P];

    prompt(ids);
    if (lm_random_model_write(path, &sh, LM_F16, 7, NULL, &e) ||
        !(m = load(path))) {
        CHECK(0);
        return;
    }
    zb = make_adapter(m, 1);
    full = make_adapter(m, 0);
    lm_state_init(&st);
    const size_t bytes = (size_t)P * m->cfg.vocab * sizeof(float);
    for (int ref = 0; ref < 2; ref++) {
        lm_scratch_set_reference(&st.ws, ref);
        for (int steps = 0; steps < 2; steps++) {
            m->lora = NULL;
            float *none = logits(m, &st, ids, steps);
            m->lora = zb;
            m->lora_scale = 1.0f;
            float *zero_b = logits(m, &st, ids, steps);
            m->lora = full;
            m->lora_scale = 0.0f;
            float *zero_s = logits(m, &st, ids, steps);
            CHECK(none && zero_b && !memcmp(none, zero_b, bytes));
            CHECK(none && zero_s && !memcmp(none, zero_s, bytes));
            free(none);
            free(zero_b);
            free(zero_s);
        }
    }
    lm_state_free(&st);
    lm_adapter_free(zb);
    lm_adapter_free(full);
    lm_model_free(m);
}

/* Saved as llama.cpp GGUF and as PEFT (q/k rows permuted to HF order and
 * back) and loaded against the model: the same logits bit for bit. */
TEST(saved_adapter_same_logits)
{
    const char *path = tmp_path("save.gguf");
    const char *gpath = tmp_path("lora.gguf");
    const char *pdir = tmp_path("peft");
    struct lm_random_shape sh = tiny();
    struct lm_adapter_base base;
    struct lm_err e = {0};
    struct lm_model *m;
    struct lm_adapter *ad, *from_gguf = NULL, *from_peft = NULL;
    struct lm_state st;
    int32_t ids[P];

    prompt(ids);
    if (lm_random_model_write(path, &sh, LM_F32, 11, NULL, &e) ||
        !(m = load(path))) {
        CHECK(0);
        return;
    }
    ad = make_adapter(m, 0);
    CHECK(lm_adapter_base_from_gguf(m->file, &base, &e) == FTSB_OK);
    CHECK(lm_adapter_save_gguf(ad, gpath, LM_F32, &e) == FTSB_OK);
    CHECK(lm_adapter_load_gguf(gpath, &base, &from_gguf, &e) == FTSB_OK);
    CHECK(lm_adapter_save_peft(ad, pdir, &base, LM_F32, &e) == FTSB_OK);
    CHECK(lm_adapter_load_peft(pdir, &base, &from_peft, &e) == FTSB_OK);
    if (!from_gguf || !from_peft) {
        printf("  %s\n", e.msg);
    } else {
        const size_t bytes = (size_t)P * m->cfg.vocab * sizeof(float);
        lm_state_init(&st);
        m->lora_scale = 1.25f;
        m->lora = ad;
        float *want = logits(m, &st, ids, 0);
        m->lora = from_gguf;
        float *g = logits(m, &st, ids, 0);
        m->lora = from_peft;
        float *p = logits(m, &st, ids, 0);
        CHECK(want && g && !memcmp(want, g, bytes));
        CHECK(want && p && !memcmp(want, p, bytes));
        free(want);
        free(g);
        free(p);
        lm_state_free(&st);
    }
    char f[600];
    snprintf(f, sizeof f, "%s/adapter_config.json", pdir);
    unlink(f);
    snprintf(f, sizeof f, "%s/adapter_model.safetensors", pdir);
    unlink(f);
    rmdir(pdir);
    unlink(gpath);
    lm_adapter_free(ad);
    lm_adapter_free(from_gguf);
    lm_adapter_free(from_peft);
    lm_model_free(m);
}

/* An adapter for another shape of model, attached by plain assignment, is
 * refused by lm_forward before any cache row is written. */
TEST(misfit_adapter_refused)
{
    const char *path = tmp_path("misfit.gguf");
    struct lm_random_shape sh = tiny();
    struct lm_adapter_base base;
    struct lm_err e = {0};
    struct lm_model *m;
    struct lm_adapter *ad = NULL;
    struct lm_state st;
    struct lm_kv_pool pool;
    struct lm_kv_seq kv = {0};
    int32_t ids[P];

    prompt(ids);
    if (lm_random_model_write(path, &sh, LM_F32, 5, NULL, &e) ||
        !(m = load(path))) {
        CHECK(0);
        return;
    }
    lm_state_init(&st);
    lm_kv_pool_init(&pool, &m->cfg, P);
    CHECK(lm_kv_seq_alloc(&pool, &kv, P, &e) == FTSB_OK);
    struct lm_seg seg = {ids, P, &kv, LM_LOGITS_ALL};
    CHECK(lm_adapter_base_from_gguf(m->file, &base, &e) == FTSB_OK);

    /* another FFN width: the gate pair of layer 0 is the first misfit */
    base.n_ff = 128;
    CHECK(lm_adapter_new(&base, 2, 0.0f, LM_LORA_ALL, &ad, &e) == FTSB_OK);
    m->lora = ad;
    e.msg[0] = '\0';
    CHECK_INT(lm_forward(m, &st, &pool, &seg, 1, &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "blk.0.ffn_gate.weight");
    CHECK_CONTAINS(e.msg, "64 -> 128");
    CHECK_INT(kv.len, 0);
    lm_adapter_free(ad);

    /* more layers than the model */
    base.n_ff = 96;
    base.n_layer = 3;
    ad = NULL;
    CHECK(lm_adapter_new(&base, 2, 0.0f, 1u << LM_LORA_V, &ad, &e) ==
          FTSB_OK);
    m->lora = ad;
    CHECK_INT(lm_forward(m, &st, &pool, &seg, 1, &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "blk.2.attn_v.weight");
    CHECK_CONTAINS(e.msg, "has 2 layers");
    CHECK_INT(kv.len, 0);

    /* a scale that overflows */
    base.n_layer = 2;
    lm_adapter_free(ad);
    ad = NULL;
    CHECK(lm_adapter_new(&base, 2, 0.0f, 1u << LM_LORA_V, &ad, &e) ==
          FTSB_OK);
    m->lora = ad;
    m->lora_scale = INFINITY;
    CHECK_INT(lm_forward(m, &st, &pool, &seg, 1, &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "not finite");
    m->lora_scale = 1.0f;
    CHECK_INT(lm_forward(m, &st, &pool, &seg, 1, &e), FTSB_OK);
    CHECK_INT(kv.len, P);

    lm_kv_seq_free(&pool, &kv);
    lm_state_free(&st);
    lm_adapter_free(ad);
    lm_model_free(m);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/ftsb_lora_fwd_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(adapter_equals_merged_weights);
    RUN(zero_b_and_zero_scale_are_no_adapter);
    RUN(saved_adapter_same_logits);
    RUN(misfit_adapter_refused);
    const char *names[] = {"base.gguf", "zero.gguf", "save.gguf",
                           "misfit.gguf"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        unlink(tmp_path(names[i]));
    rmdir(dir);
    return test_summary();
}
