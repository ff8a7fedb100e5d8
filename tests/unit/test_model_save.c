/*
 * test_model_save.c - saving a model as GGUF (src/model_save.c), checked
 * by loading the result and running it: an F32 model saved as F32 gives
 * bit-identical logits (and the same file, byte for byte); saved as F16 or
 * BF16 the logits move by the rounding of the weights (the error is
 * printed); a model loaded from F16 (or Q8_0) saved as F32 holds exactly
 * the widened weights; a tied model stays tied; weights replaced in memory
 * by F32 buffers (what a trainer does) are what gets written; the
 * metadata is copied with general.file_type set.  With shared/testdata,
 * the reference models llama.cpp ran, saved in their own type, come out
 * as the very same files.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forward.h"
#include "fp16.h"
#include "gguf.h"
#include "kv_cache.h"
#include "model.h"
#include "model_save.h"
#include "random_model.h"
#include "test.h"

enum { P = 24 };

static char dir[400];
static int32_t ids[P];

static const char *tmp(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static struct lm_model *load(const char *path)
{
    struct lm_model *m = NULL;
    struct lm_err e = {0};

    if (lm_model_load(path, NULL, &m, &e)) {
        printf("  load %s: %s\n", path, e.msg);
        return NULL;
    }
    return m;
}

/* All logits of the prompt ids, (P,V), malloc'ed. */
static float *logits(const struct lm_model *m)
{
    struct lm_state st;
    struct lm_kv_pool pool;
    struct lm_kv_seq kv = {0};
    struct lm_err e = {0};
    float *out = NULL;

    if (!m)
        return NULL;
    lm_state_init(&st);
    lm_kv_pool_init(&pool, &m->cfg, P);
    struct lm_seg seg = {ids, P, &kv, LM_LOGITS_ALL};
    if (lm_kv_seq_alloc(&pool, &kv, P, &e) == FTSB_OK &&
        lm_forward(m, &st, &pool, &seg, 1, &e) == FTSB_OK &&
        (out = malloc((size_t)P * m->cfg.vocab * sizeof(float))))
        memcpy(out, st.logits, (size_t)P * m->cfg.vocab * sizeof(float));
    else
        printf("  forward: %s\n", e.msg);
    lm_kv_seq_free(&pool, &kv);
    lm_state_free(&st);
    return out;
}

/* max |a - b| / max |b| over n values. */
static double max_rel(const float *a, const float *b, size_t n, double *abs_)
{
    double d = 0.0, s = 0.0;

    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        d = e > d ? e : d;
        s = fabs((double)b[i]) > s ? fabs((double)b[i]) : s;
    }
    if (abs_)
        *abs_ = d;
    return d / (s > 0 ? s : 1);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    *len = 0;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) &&
        fread(buf, 1, (size_t)n, f) == (size_t)n)
        *len = (size_t)n;
    else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static int same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = read_all(a, &la), *y = read_all(b, &lb);
    int same = x && y && la == lb && !memcmp(x, y, la);

    if (!same && x && y) {
        size_t i = 0;
        while (i < la && i < lb && x[i] == y[i])
            i++;
        printf("  %s and %s differ at byte %zu (sizes %zu, %zu)\n", a, b, i,
               la, lb);
    }
    free(x);
    free(y);
    return same;
}

static int64_t file_type(const struct lm_model *m)
{
    int64_t v = -1;
    struct lm_err e;
    if (m)
        gguf_get_int(m->file, "general.file_type", 0, 1000, &v, &e);
    return v;
}

/* Every key of a is in b with the same type and value bytes, except
 * general.file_type; same number of keys. */
static void check_same_metadata(const struct lm_model *a,
                                const struct lm_model *b)
{
    CHECK(gguf_n_kv(a->file) == gguf_n_kv(b->file) ||
          gguf_n_kv(a->file) + 1 == gguf_n_kv(b->file));
    for (uint64_t i = 0; i < gguf_n_kv(a->file); i++) {
        const struct gguf_kv *x = gguf_kv_at(a->file, i);
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)x->key.len, x->key.ptr);
        const struct gguf_kv *y = gguf_find_kv(b->file, key);
        CHECK(y != NULL);
        if (!y || !strcmp(key, "general.file_type"))
            continue;
        if (x->type != y->type || x->count != y->count ||
            x->value_size < y->value_size ||
            memcmp(x->value, y->value, (size_t)y->value_size))
            printf("  key %s differs\n", key);
        CHECK(x->type == y->type && x->count == y->count);
    }
}

static const struct lm_random_shape shape = {
    64, 2, 4, 2, 96, 300, 128, 10000.0f, 1e-5f, 0.05f, false};

TEST(f32_identical)
{
    struct lm_model *a = load(tmp("r32.gguf")), *b;
    struct lm_err e = {0};
    float *la, *lb;

    if (!a)
        return;
    CHECK_INT(lm_model_save_gguf(a, tmp("s32.gguf"), LM_F32, &e), FTSB_OK);
    CHECK(access(tmp("s32.gguf.tmp"), F_OK) != 0);
    b = load(tmp("s32.gguf"));
    la = logits(a);
    lb = logits(b);
    CHECK(la && lb &&
          !memcmp(la, lb, (size_t)P * a->cfg.vocab * sizeof(float)));
    if (b) {
        CHECK_INT(file_type(b), LM_FTYPE_ALL_F32);
        CHECK_INT(b->cfg.wtype, LM_F32);
        check_same_metadata(a, b);
    }
    CHECK(same_file(tmp("r32.gguf"), tmp("s32.gguf")));
    free(la);
    free(lb);
    lm_model_free(a);
    lm_model_free(b);
}

static void narrow(int32_t dtype, const char *name, int64_t ftype,
                   double tol)
{
    struct lm_model *a = load(tmp("r32.gguf")), *b;
    struct lm_err e = {0};
    float *la, *lb;
    double rel, abs_ = 0;

    if (!a)
        return;
    CHECK_INT(lm_model_save_gguf(a, tmp(name), dtype, &e), FTSB_OK);
    b = load(tmp(name));
    la = logits(a);
    lb = logits(b);
    if (la && lb) {
        rel = max_rel(lb, la, (size_t)P * a->cfg.vocab, &abs_);
        printf("  %s logits vs F32: max abs error %.3g (%.3g of the "
               "largest logit)\n", lm_type_name(dtype), abs_, rel);
        CHECK(rel < tol);
    }
    CHECK(la && lb);
    if (b) {
        CHECK_INT(b->cfg.wtype, dtype);
        CHECK_INT(b->w.layers[1].w_down.type, dtype);
        CHECK_INT(file_type(b), ftype);
        check_same_metadata(a, b);
        /* every weight is the F32 value rounded once */
        const struct lm_tensor *x = &a->w.layers[1].wk, *y = &b->w.layers[1].wk;
        const float *xf = x->data;
        const uint16_t *yh = y->data;
        int ok = 1;
        for (int64_t i = 0; i < x->rows * x->cols; i++)
            ok &= yh[i] == (dtype == LM_F16 ? lm_f32_to_f16(xf[i])
                                            : lm_f32_to_bf16(xf[i]));
        CHECK(ok);
    }
    free(la);
    free(lb);
    lm_model_free(a);
    lm_model_free(b);
}

TEST(f16_close)
{
    narrow(LM_F16, "s16.gguf", LM_FTYPE_MOSTLY_F16, 1e-3);
}

TEST(bf16_close)
{
    narrow(LM_BF16, "sbf16.gguf", LM_FTYPE_MOSTLY_BF16, 2e-2);
}

/* A model of type src saved as F32 holds the exact F32 values. */
static void widen(const char *file, int32_t src)
{
    struct lm_model *a = load(tmp(file)), *b;
    struct lm_err e = {0};
    float *la, *lb;
    double abs_ = 0, rel;

    if (!a)
        return;
    CHECK_INT(a->cfg.wtype, src);
    CHECK_INT(lm_model_save_gguf(a, tmp("w32.gguf"), LM_F32, &e), FTSB_OK);
    b = load(tmp("w32.gguf"));
    if (b) {
        const struct lm_tensor *ts[] = {&a->w.tok_embd, &a->w.output,
                                        &a->w.layers[0].wq,
                                        &a->w.layers[1].w_down};
        const struct lm_tensor *td[] = {&b->w.tok_embd, &b->w.output,
                                        &b->w.layers[0].wq,
                                        &b->w.layers[1].w_down};
        for (int k = 0; k < 4; k++) {
            int64_t n = ts[k]->rows * ts[k]->cols, rb =
                lm_type_row_bytes(src, ts[k]->cols);
            float *want = malloc((size_t)n * sizeof *want);
            for (int64_t r = 0; r < ts[k]->rows; r++)
                lm_to_f32_row(want + r * ts[k]->cols, src,
                              (const char *)ts[k]->data + r * rb,
                              ts[k]->cols);
            CHECK_INT(td[k]->type, LM_F32);
            CHECK(!memcmp(want, td[k]->data, (size_t)n * sizeof *want));
            free(want);
        }
        CHECK_INT(file_type(b), LM_FTYPE_ALL_F32);
    }
    la = logits(a);
    lb = logits(b);
    if (la && lb) {
        rel = max_rel(lb, la, (size_t)P * a->cfg.vocab, &abs_);
        printf("  %s model vs its F32 copy: logits max abs difference %.3g "
               "(%s)\n", lm_type_name(src), abs_,
               abs_ == 0 ? "bit-identical" : "product rounding");
        CHECK(rel < 1e-5);
    }
    CHECK(la && lb);
    free(la);
    free(lb);
    lm_model_free(a);
    lm_model_free(b);
}

TEST(f16_to_f32_equal)
{
    widen("r16.gguf", LM_F16);
}

TEST(q8_0_to_f32_equal)
{
    widen("rq8.gguf", LM_Q8_0);
}

TEST(same_type_same_file)
{
    struct lm_model *a = load(tmp("r16.gguf"));
    struct lm_err e = {0};

    if (!a)
        return;
    CHECK_INT(lm_model_save_gguf(a, tmp("s16b.gguf"), LM_F16, &e), FTSB_OK);
    CHECK(same_file(tmp("r16.gguf"), tmp("s16b.gguf")));
    lm_model_free(a);
}

TEST(tied)
{
    struct lm_model *a = load(tmp("rtied.gguf")), *b;
    struct lm_err e = {0};
    float *la, *lb;

    if (!a)
        return;
    CHECK(a->cfg.tied_output);
    CHECK_INT(lm_model_save_gguf(a, tmp("stied.gguf"), LM_F32, &e), FTSB_OK);
    b = load(tmp("stied.gguf"));
    CHECK(b && b->cfg.tied_output);
    CHECK(b && gguf_find_tensor(b->file, "output.weight") == NULL);
    la = logits(a);
    lb = logits(b);
    CHECK(la && lb &&
          !memcmp(la, lb, (size_t)P * a->cfg.vocab * sizeof(float)));
    free(la);
    free(lb);

    /* an output that is no longer the embedding cannot be written tied */
    struct lm_tensor keep = a->w.output;
    float *other = calloc((size_t)a->cfg.vocab * a->cfg.dim, sizeof(float));
    a->w.output.type = LM_F32;
    a->w.output.data = other;
    CHECK_INT(lm_model_save_gguf(a, tmp("bad.gguf"), LM_F32, &e),
              FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "tied to the embedding");
    CHECK(access(tmp("bad.gguf"), F_OK) != 0);
    a->w.output = keep;
    free(other);
    lm_model_free(a);
    lm_model_free(b);
}

/* A trainer's merged model: some weights replaced by F32 buffers. */
TEST(replaced_weights)
{
    struct lm_model *a = load(tmp("r16.gguf")), *b;
    struct lm_err e = {0};
    float *la, *lb;

    if (!a)
        return;
    struct lm_tensor *q = &a->w.layers[0].wq, keep_q = *q;
    struct lm_tensor *emb = &a->w.tok_embd, keep_e = *emb;
    int64_t nq = q->rows * q->cols, ne = emb->rows * emb->cols;
    float *fq = malloc((size_t)nq * sizeof *fq);
    float *fe = malloc((size_t)ne * sizeof *fe);
    float *g = a->w.norms; /* blk.0.attn_norm, owned by the model */

    lm_f16_to_f32_row(fq, q->data, nq);
    lm_f16_to_f32_row(fe, emb->data, ne);
    for (int64_t i = 0; i < nq; i++)
        fq[i] = fq[i] * 1.5f + 1e-3f; /* no longer an F16 value */
    for (int64_t i = 0; i < ne; i++)
        fe[i] = -fe[i];
    g[3] = 1.25f;
    q->type = LM_F32;
    q->data = fq;
    emb->type = LM_F32;
    emb->data = fe;
    la = logits(a);
    CHECK_INT(lm_model_save_gguf(a, tmp("merged.gguf"), LM_F32, &e),
              FTSB_OK);
    b = load(tmp("merged.gguf"));
    lb = logits(b);
    if (b) {
        CHECK(!memcmp(b->w.layers[0].wq.data, fq, (size_t)nq * sizeof *fq));
        CHECK(!memcmp(b->w.tok_embd.data, fe, (size_t)ne * sizeof *fe));
        CHECK(b->w.layers[0].attn_norm[3] == 1.25f);
    }
    if (la && lb) {
        double abs_ = 0;
        double rel = max_rel(lb, la, (size_t)P * a->cfg.vocab, &abs_);
        printf("  merged model vs its saved copy: max abs difference %.3g\n",
               abs_);
        CHECK(rel < 1e-5);
    }
    CHECK(la && lb);
    /* the same merged weights as F16: the F16 rounding of the buffers */
    CHECK_INT(lm_model_save_gguf(a, tmp("merged16.gguf"), LM_F16, &e),
              FTSB_OK);
    struct lm_model *c = load(tmp("merged16.gguf"));
    if (c) {
        const uint16_t *h = c->w.layers[0].wq.data;
        int ok = 1;
        for (int64_t i = 0; i < nq; i++)
            ok &= h[i] == lm_f32_to_f16(fq[i]);
        CHECK(ok);
        /* untouched F16 weights are copied as they were */
        CHECK(!memcmp(c->w.layers[1].wq.data, a->w.layers[1].wq.data,
                      (size_t)nq * 2));
    }
    lm_model_free(c);
    *q = keep_q;
    *emb = keep_e;
    free(fq);
    free(fe);
    free(la);
    free(lb);
    lm_model_free(a);
    lm_model_free(b);
}

TEST(errors)
{
    struct lm_model *a = load(tmp("r32.gguf"));
    struct lm_err e = {0};

    if (!a)
        return;
    CHECK_INT(lm_model_save_gguf(a, tmp("x.gguf"), LM_Q8_0, &e),
              FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "F32, F16 or BF16, not type 8 (q8_0)");
    CHECK_INT(lm_model_save_gguf(a, tmp("no/such/dir/x.gguf"), LM_F32, &e),
              FTSB_E_IO);
    CHECK_CONTAINS(e.msg, "no/such/dir/x.gguf");
    /* a buffer of the wrong shape is refused, naming the tensor */
    a->w.layers[1].w_up.rows--;
    CHECK_INT(lm_model_save_gguf(a, tmp("x.gguf"), LM_F32, &e),
              FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "blk.1.ffn_up.weight");
    a->w.layers[1].w_up.rows++;
    CHECK(access(tmp("x.gguf"), F_OK) != 0);
    lm_model_free(a);
}

/* The reference models (llama.cpp's layout, which llama.cpp ran) saved in
 * their own type are the same files. */
TEST(reference_models)
{
    static const struct {
        const char *file;
        int32_t type;
    } refs[] = {{"spm-f32.gguf", LM_F32},
                {"gqa-f16.gguf", LM_F16},
                {"mqa-bf16.gguf", LM_BF16}};
    const char *shared = getenv("FTSB_SHARED_DIR");
    char path[600];
    int n = 0;

    if (!shared)
        SKIP("FTSB_SHARED_DIR is not set");
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        struct lm_model *m;
        struct lm_err e = {0};
        snprintf(path, sizeof path, "%s/testdata/reference/models/%s", shared,
                 refs[i].file);
        if (access(path, R_OK) != 0)
            continue;
        if (!(m = load(path)))
            continue;
        CHECK_INT(lm_model_save_gguf(m, tmp("ref.gguf"), refs[i].type, &e),
                  FTSB_OK);
        if (!same_file(path, tmp("ref.gguf")))
            printf("  %s saved as %s is not the same file\n", refs[i].file,
                   lm_type_name(refs[i].type));
        CHECK(same_file(path, tmp("ref.gguf")));
        lm_model_free(m);
        n++;
    }
    unlink(tmp("ref.gguf"));
    if (n == 0)
        SKIP("no reference models under %s/testdata", shared);
}

int main(void)
{
    static const char *const files[] = {
        "r32.gguf", "r16.gguf", "rq8.gguf", "rtied.gguf", "s32.gguf",
        "s16.gguf", "sbf16.gguf", "w32.gguf", "s16b.gguf", "stied.gguf",
        "merged.gguf", "merged16.gguf"};
    struct lm_random_shape tied = shape;
    struct lm_err e = {0};
    int rc;

    snprintf(dir, sizeof dir, "%s/ftsb_model_save_%d",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    if (mkdir(dir, 0700) != 0) {
        printf("cannot create %s\n", dir);
        return 1;
    }
    tied.tied = true;
    for (int i = 0; i < P; i++)
        ids[i] = (i * 37 + 1) % 300;
    if (lm_random_model_write(tmp("r32.gguf"), &shape, LM_F32, 11, NULL,
                              &e) ||
        lm_random_model_write(tmp("r16.gguf"), &shape, LM_F16, 11, NULL,
                              &e) ||
        lm_random_model_write(tmp("rq8.gguf"), &shape, LM_Q8_0, 11, NULL,
                              &e) ||
        lm_random_model_write(tmp("rtied.gguf"), &tied, LM_F32, 12, NULL,
                              &e)) {
        printf("setup: %s\n", e.msg);
        return 1;
    }
    RUN(f32_identical);
    RUN(f16_close);
    RUN(bf16_close);
    RUN(f16_to_f32_equal);
    RUN(q8_0_to_f32_equal);
    RUN(same_type_same_file);
    RUN(tied);
    RUN(replaced_weights);
    RUN(errors);
    RUN(reference_models);
    rc = test_summary();
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(tmp(files[i]));
    rmdir(dir);
    return rc;
}
