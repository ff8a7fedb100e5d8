/*
 * test_llama_model.c - loading models and the forward pass on small
 * random-weight models (no shared data needed): hyper-parameters and
 * defaults, the checks and their messages (another architecture, a
 * missing key or tensor, a wrong shape with expected vs found, tensors the
 * engine does not run, per-layer arrays, an adapter given as a model),
 * then the forward pass: the optimised path against the naive references
 * for every weight type, and a batch of segments (several sequences,
 * prompts in chunks, decoding steps) against each sequence run alone.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forward.h"
#include "model.h"
#include "random_model.h"
#include "test.h"

static char dir[256];

static const char *tmp_path(const char *name)
{
    static char buf[8][512];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

/* dim 64, 2 layers, 4 heads / 2 kv heads, FFN 96, vocab 400, ctx 256 */
static struct lm_random_shape tiny(void)
{
    struct lm_random_shape s = {64, 2, 4, 2, 96, 400, 256, 10000.0f, 1e-5f,
                                0.1f, false};
    return s;
}

static int make(const char *path, struct lm_random_shape s, int32_t type)
{
    struct lm_err e = {0};
    if (lm_random_model_write(path, &s, type, 1234, NULL, &e) != FTSB_OK) {
        printf("  cannot write %s: %s\n", path, e.msg);
        return 0;
    }
    return 1;
}

/* What to change when copying a model file. */
struct edit {
    const char *drop_key;
    const char *str_key, *str_val;      /* set a string key */
    const char *int_key;                /* set an integer key ... */
    uint32_t int_type;                  /* ... of this GGUF type */
    uint64_t int_val;
    int int_array;                      /* ... as an array of 2 */
    const char *drop_tensor;
    const char *swap_tensor;            /* exchange ne[0] and ne[1] */
    const char *add_vector;             /* an extra F32 tensor [C] */
};

static int rewrite(const char *src, const char *dst, const struct edit *ed)
{
    struct gguf_file *f = NULL;
    struct gguf_writer *w = NULL;
    struct lm_err e = {0};
    static float extra[4096];
    int ok = 0;

    if (gguf_open(src, &f, &e) || gguf_writer_new(&w, &e))
        goto out;
    for (uint64_t i = 0; i < gguf_n_kv(f); i++) {
        const struct gguf_kv *kv = gguf_kv_at(f, i);
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)kv->key.len, kv->key.ptr);
        if (ed->drop_key && !strcmp(key, ed->drop_key))
            continue;
        if (ed->str_key && !strcmp(key, ed->str_key)) {
            if (gguf_w_str(w, key, ed->str_val, strlen(ed->str_val), &e))
                goto out;
            continue;
        }
        if (ed->int_key && !strcmp(key, ed->int_key)) {
            uint64_t v[2] = {ed->int_val, ed->int_val};
            if (ed->int_array ? gguf_w_arr(w, key, GGUF_TYPE_UINT64, v, 2, &e)
                              : gguf_w_scalar(w, key, ed->int_type, v, &e))
                goto out;
            continue;
        }
        if (gguf_w_copy_kv(w, kv, &e))
            goto out;
    }
    if (ed->str_key && !gguf_find_kv(f, ed->str_key) &&
        gguf_w_str(w, ed->str_key, ed->str_val, strlen(ed->str_val), &e))
        goto out;
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const struct gguf_tensor *t = gguf_tensor_at(f, i);
        int64_t ne[4] = {t->ne[0], t->ne[1], t->ne[2], t->ne[3]};
        const void *data;
        if (ed->drop_tensor && !strcmp(t->name, ed->drop_tensor))
            continue;
        if (ed->swap_tensor && !strcmp(t->name, ed->swap_tensor)) {
            ne[0] = t->ne[1];
            ne[1] = t->ne[0];
        }
        if (gguf_tensor_data(f, t, &data, &e) ||
            gguf_w_tensor(w, t->name, t->type, t->n_dims, ne, data, t->nbytes,
                          &e))
            goto out;
    }
    if (ed->add_vector) {
        int64_t ne[1] = {64};
        if (gguf_w_tensor(w, ed->add_vector, 0, 1, ne, extra, 64 * 4, &e))
            goto out;
    }
    ok = gguf_w_save(w, dst, &e) == FTSB_OK;
out:
    if (!ok)
        printf("  rewrite failed: %s\n", e.msg);
    gguf_writer_free(w);
    gguf_close(f);
    return ok;
}

/* Loads path expecting failure with code and every needle in the message. */
static void expect_fail(const char *path, ftsb_status code, const char *n1,
                        const char *n2)
{
    struct lm_model *m = NULL;
    struct lm_err e = {0};
    ftsb_status st = lm_model_load(path, NULL, &m, &e);

    CHECK_INT(st, code);
    CHECK(m == NULL);
    CHECK_CONTAINS(e.msg, n1);
    if (n2)
        CHECK_CONTAINS(e.msg, n2);
    lm_model_free(m);
}

TEST(load_config)
{
    const char *p = tmp_path("tiny.gguf");
    struct lm_model *m = NULL;
    struct lm_err e = {0};
    struct lm_model_opts o = {.ctx = 100};

    if (!make(p, tiny(), LM_F16)) {
        CHECK(0);
        return;
    }
    CHECK(lm_model_load(p, NULL, &m, &e) == FTSB_OK);
    if (!m)
        return;
    CHECK_INT(m->cfg.dim, 64);
    CHECK_INT(m->cfg.n_layers, 2);
    CHECK_INT(m->cfg.n_heads, 4);
    CHECK_INT(m->cfg.n_kv_heads, 2);
    CHECK_INT(m->cfg.head_dim, 16);
    CHECK_INT(m->cfg.ffn, 96);
    CHECK_INT(m->cfg.vocab, 400);
    CHECK_INT(m->cfg.ctx, 256);
    CHECK_INT(m->cfg.ctx_train, 256);
    CHECK_INT(m->cfg.wtype, LM_F16);
    CHECK(!m->cfg.tied_output);
    CHECK(fabsf(m->cfg.rms_eps - 1e-5f) < 1e-12f);
    CHECK(m->cfg.rope_base == 10000.0f);
    /* F16 weights point into the mapping; only the norms are copied */
    CHECK_INT(m->w.layers[1].wk.type, LM_F16);
    CHECK_INT(m->w.layers[1].wk.rows, 32);
    CHECK_INT(m->w.layers[1].wk.cols, 64);
    CHECK(m->w.layers[0].attn_norm[5] == 1.0f);
    /* 2 x (q 64x64, k 32x64, v 32x64, o 64x64, 3 x 96x64) + output, 2 B */
    CHECK_INT(m->weight_bytes,
              2 * (2 * (4096 + 2048 + 2048 + 4096 + 3 * 6144) + 400 * 64));
    lm_model_free(m);
    CHECK(lm_model_load(p, &o, &m, &e) == FTSB_OK);
    if (m)
        CHECK_INT(m->cfg.ctx, 100);
    lm_model_free(m);
    m = NULL;
    o.ctx = -1;
    CHECK_INT(lm_model_load(p, &o, &m, &e), FTSB_E_INVALID);
}

TEST(load_defaults_and_widths)
{
    struct lm_random_shape s = tiny();
    const char *p = tmp_path("mha.gguf"), *q = tmp_path("mha2.gguf");
    struct lm_model *m = NULL;
    struct lm_err e = {0};

    s.n_head_kv = 4;
    s.tied = true;
    s.rope_base = 500000.0f;
    if (!make(p, s, LM_F32)) {
        CHECK(0);
        return;
    }
    /* head_count_kv absent = head_count; block_count as a u8 */
    struct edit ed = {.drop_key = "llama.attention.head_count_kv",
                      .int_key = "llama.block_count",
                      .int_type = GGUF_TYPE_UINT8, .int_val = 2};
    CHECK(rewrite(p, q, &ed));
    CHECK(lm_model_load(q, NULL, &m, &e) == FTSB_OK);
    if (!m) {
        printf("  %s\n", e.msg);
        return;
    }
    CHECK_INT(m->cfg.n_kv_heads, 4);
    CHECK_INT(m->cfg.n_layers, 2);
    CHECK(m->cfg.tied_output);
    CHECK(m->w.output.data == m->w.tok_embd.data);
    CHECK(m->cfg.rope_base == 500000.0f);
    lm_model_free(m);
    m = NULL;
    /* rope base absent = 10000 */
    struct edit ed2 = {.drop_key = "llama.rope.freq_base"};
    CHECK(rewrite(p, q, &ed2));
    CHECK(lm_model_load(q, NULL, &m, &e) == FTSB_OK);
    if (m)
        CHECK(m->cfg.rope_base == 10000.0f);
    lm_model_free(m);
}

TEST(load_errors)
{
    const char *p = tmp_path("base.gguf"), *q = tmp_path("bad.gguf");

    if (!make(p, tiny(), LM_F32)) {
        CHECK(0);
        return;
    }
    struct edit arch = {.str_key = "general.architecture", .str_val = "qwen2"};
    CHECK(rewrite(p, q, &arch));
    expect_fail(q, FTSB_E_UNSUPPORTED, "architecture 'qwen2'",
                "runs only 'llama'");

    struct edit adapter = {.str_key = "general.type", .str_val = "adapter"};
    CHECK(rewrite(p, q, &adapter));
    expect_fail(q, FTSB_E_UNSUPPORTED, "type 'adapter'", "not a model");

    struct edit nokey = {.drop_key = "llama.block_count"};
    CHECK(rewrite(p, q, &nokey));
    expect_fail(q, FTSB_E_FORMAT, "has no 'llama.block_count' key", NULL);

    struct edit noeps = {.drop_key = "llama.attention.layer_norm_rms_epsilon"};
    CHECK(rewrite(p, q, &noeps));
    expect_fail(q, FTSB_E_FORMAT, "layer_norm_rms_epsilon", NULL);

    struct edit kv3 = {.int_key = "llama.attention.head_count_kv",
                       .int_type = GGUF_TYPE_UINT32, .int_val = 3};
    CHECK(rewrite(p, q, &kv3));
    expect_fail(q, FTSB_E_FORMAT, "head_count 4 is not a multiple of "
                "head_count_kv 3", NULL);

    struct edit perlayer = {.int_key = "llama.attention.head_count",
                            .int_val = 4, .int_array = 1};
    CHECK(rewrite(p, q, &perlayer));
    expect_fail(q, FTSB_E_UNSUPPORTED, "per-layer array", NULL);

    struct edit partial = {.int_key = "llama.rope.dimension_count",
                           .int_type = GGUF_TYPE_UINT32, .int_val = 8};
    CHECK(rewrite(p, q, &partial));
    expect_fail(q, FTSB_E_UNSUPPORTED, "partial rotary", NULL);

    struct edit scaling = {.str_key = "llama.rope.scaling.type",
                           .str_val = "yarn"};
    CHECK(rewrite(p, q, &scaling));
    expect_fail(q, FTSB_E_UNSUPPORTED, "rope scaling 'yarn'", NULL);

    struct edit missing = {.drop_tensor = "blk.1.ffn_up.weight"};
    CHECK(rewrite(p, q, &missing));
    expect_fail(q, FTSB_E_FORMAT, "has no tensor 'blk.1.ffn_up.weight'", NULL);

    struct edit shape = {.swap_tensor = "blk.0.attn_k.weight"};
    CHECK(rewrite(p, q, &shape));
    expect_fail(q, FTSB_E_FORMAT, "tensor 'blk.0.attn_k.weight' has shape "
                "[32, 64] but the hyper-parameters need [64, 32]",
                "head_count_kv");

    struct edit bias = {.add_vector = "blk.0.attn_q.bias"};
    CHECK(rewrite(p, q, &bias));
    expect_fail(q, FTSB_E_UNSUPPORTED, "tensor 'blk.0.attn_q.bias' is not "
                "part of the llama architecture", NULL);

    struct edit layer9 = {.add_vector = "blk.9.attn_norm.weight"};
    CHECK(rewrite(p, q, &layer9));
    expect_fail(q, FTSB_E_FORMAT, "belongs to layer 9 but block_count is 2",
                NULL);

    struct edit vocab = {.int_key = "llama.vocab_size",
                         .int_type = GGUF_TYPE_UINT32, .int_val = 399};
    CHECK(rewrite(p, q, &vocab));
    expect_fail(q, FTSB_E_FORMAT, "llama.vocab_size is 399 but "
                "token_embd.weight has 400 rows", NULL);

    expect_fail(tmp_path("absent.gguf"), FTSB_E_IO, "absent.gguf", NULL);
}

/* ---- forward ------------------------------------------------------------- */

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

/* All logits of a prompt, in one call: (P,V). */
static float *prompt_logits(const struct lm_model *m, struct lm_state *st,
                            const int32_t *ids, int P)
{
    struct lm_kv_pool pool;
    struct lm_kv_seq kv = {0};
    struct lm_err e = {0};
    float *out = malloc((size_t)P * m->cfg.vocab * sizeof(float));

    lm_kv_pool_init(&pool, &m->cfg, P);
    CHECK(lm_kv_seq_alloc(&pool, &kv, P, &e) == FTSB_OK);
    struct lm_seg seg = {ids, P, &kv, LM_LOGITS_ALL};
    CHECK(lm_forward(m, st, &pool, &seg, 1, &e) == FTSB_OK);
    CHECK_INT(kv.len, P);
    memcpy(out, st->logits, (size_t)P * m->cfg.vocab * sizeof(float));
    lm_kv_seq_free(&pool, &kv);
    return out;
}

TEST(forward_matches_reference)
{
    static const int32_t types[] = {LM_F32, LM_F16, LM_BF16, LM_Q8_0};
    static const double tol[] = {1e-5, 1e-5, 1e-3, 1e-2};
    int32_t ids[20];

    for (int i = 0; i < 20; i++)
        ids[i] = (i * 37 + 1) % 400;
    for (size_t k = 0; k < 4; k++) {
        const char *p = tmp_path("fwd.gguf");
        struct lm_model *m = NULL;
        struct lm_err e = {0};
        struct lm_state st;

        if (!make(p, tiny(), types[k]) ||
            lm_model_load(p, NULL, &m, &e) != FTSB_OK) {
            CHECK(0);
            continue;
        }
        lm_state_init(&st);
        lm_scratch_set_reference(&st.ws, 0);
        float *fast = prompt_logits(m, &st, ids, 20);
        lm_scratch_set_reference(&st.ws, 1);
        float *ref = prompt_logits(m, &st, ids, 20);
        double d = max_rel(fast, ref, 20 * 400);
        printf("  %-4s optimised vs reference: %.2e\n", lm_type_name(types[k]),
               d);
        CHECK(d < tol[k]);
        free(fast);
        free(ref);
        lm_state_free(&st);
        lm_model_free(m);
    }
}

/* Three sequences in one batch of segments - prompts split in chunks,
 * then decoding steps together - give the logits each gets alone. */
TEST(segments_match_alone)
{
    const char *p = tmp_path("seg.gguf");
    struct lm_model *m = NULL;
    struct lm_err e = {0};
    struct lm_state st;
    struct lm_kv_pool pool;
    struct lm_kv_seq kv[3] = {{0}};
    int32_t ids[3][12];
    const int len[3] = {12, 5, 9};
    const int V = 400;

    if (!make(p, tiny(), LM_F32) || lm_model_load(p, NULL, &m, &e)) {
        CHECK(0);
        return;
    }
    lm_state_init(&st);
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < 12; i++)
            ids[s][i] = (s * 101 + i * 13 + 1) % V;
    float *alone[3];
    for (int s = 0; s < 3; s++)
        alone[s] = prompt_logits(m, &st, ids[s], len[s]);

    lm_kv_pool_init(&pool, &m->cfg, 100);
    CHECK(lm_kv_seq_alloc(&pool, &kv[0], 12, &e) == FTSB_OK);
    CHECK(lm_kv_seq_alloc(&pool, &kv[1], 5, &e) == FTSB_OK);
    CHECK(lm_kv_seq_alloc(&pool, &kv[2], 9, &e) == FTSB_OK);
    CHECK_INT(pool.used, 26);
    /* call 1: seq 0 rows 0-6 (all logits), seq 1 rows 0-2 (none) */
    struct lm_seg a[2] = {{ids[0], 7, &kv[0], LM_LOGITS_ALL},
                          {ids[1], 3, &kv[1], LM_LOGITS_NONE}};
    CHECK(lm_forward(m, &st, &pool, a, 2, &e) == FTSB_OK);
    CHECK_INT(st.n_logits, 7);
    CHECK(max_rel(st.logits, alone[0], 7 * V) < 1e-5);
    /* call 2: seq 1 rows 3-4 (last), seq 2 rows 0-8 (all), seq 0 row 7 */
    struct lm_seg b[3] = {{ids[1] + 3, 2, &kv[1], LM_LOGITS_LAST},
                          {ids[2], 9, &kv[2], LM_LOGITS_ALL},
                          {ids[0] + 7, 1, &kv[0], LM_LOGITS_LAST}};
    CHECK(lm_forward(m, &st, &pool, b, 3, &e) == FTSB_OK);
    CHECK_INT(st.n_logits, 11);
    CHECK(max_rel(st.logits, alone[1] + 4 * V, V) < 1e-5);
    CHECK(max_rel(st.logits + V, alone[2], 9 * V) < 1e-5);
    CHECK(max_rel(st.logits + 10 * V, alone[0] + 7 * V, V) < 1e-5);
    /* call 3: decoding-like, one row each of seq 0 (two left) */
    struct lm_seg c[1] = {{ids[0] + 8, 4, &kv[0], LM_LOGITS_LAST}};
    CHECK(lm_forward(m, &st, &pool, c, 1, &e) == FTSB_OK);
    CHECK(max_rel(st.logits, alone[0] + 11 * V, V) < 1e-5);
    /* full caches refuse more, and say so */
    struct lm_seg d[1] = {{ids[0], 1, &kv[0], LM_LOGITS_LAST}};
    CHECK_INT(lm_forward(m, &st, &pool, d, 1, &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "its cache holds 12 positions");
    /* a token outside the vocabulary is refused */
    int32_t bad = 400;
    struct lm_seg f[1] = {{&bad, 1, &kv[2], LM_LOGITS_LAST}};
    kv[2].len = 0;
    CHECK_INT(lm_forward(m, &st, &pool, f, 1, &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "outside the vocabulary");
    CHECK_INT(kv[2].len, 0);
    /* the budget */
    struct lm_kv_seq extra = {0};
    CHECK_INT(lm_kv_seq_alloc(&pool, &extra, 75, &e), FTSB_E_NOMEM);
    CHECK_CONTAINS(e.msg, "74 of 100 positions free");
    for (int s = 0; s < 3; s++) {
        lm_kv_seq_free(&pool, &kv[s]);
        free(alone[s]);
    }
    CHECK_INT(pool.used, 0);
    lm_state_free(&st);
    lm_model_free(m);
}

/* A prompt longer than one attention block (128 query rows): the whole
 * prompt at once = one token at a time through the cache = references. */
TEST(long_prompt)
{
    const char *p = tmp_path("long.gguf");
    struct lm_model *m = NULL;
    struct lm_err e = {0};
    struct lm_state st;
    struct lm_kv_pool pool;
    struct lm_kv_seq kv = {0};
    enum { P = 300, V = 400 };
    int32_t ids[P];

    if (!make(p, tiny(), LM_F32) || lm_model_load(p, NULL, &m, &e)) {
        CHECK(0);
        return;
    }
    for (int i = 0; i < P; i++)
        ids[i] = (i * 7 + 3) % V;
    lm_state_init(&st);
    float *all = prompt_logits(m, &st, ids, P);
    float *one = malloc((size_t)P * V * sizeof(float));
    lm_kv_pool_init(&pool, &m->cfg, P);
    CHECK(lm_kv_seq_alloc(&pool, &kv, P, &e) == FTSB_OK);
    for (int i = 0; i < P; i++) {
        struct lm_seg g = {ids + i, 1, &kv, LM_LOGITS_LAST};
        CHECK(lm_forward(m, &st, &pool, &g, 1, &e) == FTSB_OK);
        memcpy(one + (int64_t)i * V, st.logits, V * sizeof(float));
    }
    lm_kv_seq_free(&pool, &kv);
    lm_scratch_set_reference(&st.ws, 1);
    float *ref = prompt_logits(m, &st, ids, P);
    double d1 = max_rel(all, ref, (int64_t)P * V),
           d2 = max_rel(one, ref, (int64_t)P * V);
    printf("  %d tokens at once vs reference %.2e, one by one %.2e\n", P, d1,
           d2);
    CHECK(d1 < 1e-5);
    CHECK(d2 < 1e-5);
    free(all);
    free(one);
    free(ref);
    lm_state_free(&st);
    lm_model_free(m);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/ftsb_llama_model_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(load_config);
    RUN(load_defaults_and_widths);
    RUN(load_errors);
    RUN(forward_matches_reference);
    RUN(segments_match_alone);
    RUN(long_prompt);
    const char *names[] = {"tiny.gguf", "mha.gguf", "mha2.gguf", "base.gguf",
                           "bad.gguf", "fwd.gguf", "seg.gguf", "long.gguf"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        unlink(tmp_path(names[i]));
    rmdir(dir);
    return test_summary();
}
