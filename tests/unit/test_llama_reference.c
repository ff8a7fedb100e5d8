/*
 * test_llama_reference.c - the engine against llama.cpp: every base-model
 * case of shared/testdata/manifest.json (four models: F32, F16 with GQA,
 * BF16 with MQA, Q8_0), logits at every prompt position within the
 * README's tolerance, computed three ways (whole prompt in one batch, one
 * token at a time through the KV cache, and the naive references), the
 * tokenizer's prompt ids, and the greedy continuation (ids, and the text
 * bytes for the real vocabulary).  Then the scheduler: greedy output the
 * same alone and batched, under a tight KV budget, and a prompt longer
 * than the context failing alone while the others go on.
 *
 * The adapter cases of the manifest (LoRA) run the same checks with the
 * base model and its adapter attached at the case's scale, against the
 * case's tolerance.  Without the shared data (FTSB_SHARED_DIR unset)
 * every test skips (exit 77).
 */
#define _POSIX_C_SOURCE 200809L

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapter.h"
#include "forward.h"
#include "generate.h"
#include "model.h"
#include "test.h"
#include "tokenizer.h"

static const char *shared;
static cJSON *manifest;

static char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    char *p = NULL;
    long len;

    if (!fp)
        return NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (len = ftell(fp)) >= 0 &&
        fseek(fp, 0, SEEK_SET) == 0 && (p = malloc((size_t)len + 1))) {
        if (fread(p, 1, (size_t)len, fp) != (size_t)len) {
            free(p);
            p = NULL;
        } else {
            p[len] = '\0';
            if (n)
                *n = (size_t)len;
        }
    }
    fclose(fp);
    return p;
}

static int load_manifest(void)
{
    const char *d = getenv("FTSB_SHARED_DIR");
    char path[4096];
    char *text;

    if (!d || !*d)
        return 0;
    snprintf(path, sizeof path, "%s/testdata/manifest.json", d);
    if (!(text = slurp(path, NULL)))
        return 0;
    manifest = cJSON_Parse(text);
    free(text);
    shared = d;
    return manifest != NULL;
}

static void data_path(char *buf, size_t size, const char *rel)
{
    snprintf(buf, size, "%s/testdata/%s", shared, rel);
}

static const cJSON *find_model(const char *id)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(manifest, "models"))
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(m, "id")), id))
            return m;
    return NULL;
}

static int32_t *int_array(const cJSON *arr, int *n)
{
    int len = cJSON_GetArraySize(arr), i = 0;
    int32_t *v = malloc((size_t)(len + 1) * sizeof *v);
    const cJSON *e;

    cJSON_ArrayForEach(e, arr)
        v[i++] = (int32_t)e->valuedouble;
    *n = len;
    return v;
}

static double tolerance_of(const char *dtype)
{
    const cJSON *t = cJSON_GetObjectItem(
        cJSON_GetObjectItem(manifest, "tolerance"), "max_rel_range");
    return cJSON_GetNumberValue(cJSON_GetObjectItem(t, dtype));
}

/* The README's metric over n rows of V: max over rows of
 * max_j |c - r| / (max r - min r); also counts the rows whose argmax
 * differs where the reference margin says it must agree. */
static double row_error(const float *c, const float *r, int n, int V,
                        const cJSON *margins, double tol, int *argmax_bad)
{
    double worst = 0.0;

    for (int i = 0; i < n; i++) {
        const float *ci = c + (int64_t)i * V, *ri = r + (int64_t)i * V;
        float lo = ri[0], hi = ri[0];
        double d = 0.0;
        int ac = 0, ar = 0;
        for (int j = 0; j < V; j++) {
            lo = ri[j] < lo ? ri[j] : lo;
            hi = ri[j] > hi ? ri[j] : hi;
            double e = fabs((double)ci[j] - (double)ri[j]);
            d = e > d ? e : d;
            if (ci[j] > ci[ac])
                ac = j;
            if (ri[j] > ri[ar])
                ar = j;
        }
        d /= (double)(hi - lo);
        worst = d > worst ? d : worst;
        if (margins && argmax_bad) {
            double mg = cJSON_GetNumberValue(cJSON_GetArrayItem(margins, i));
            if (mg > 2.0 * tol * (hi - lo) && ac != ar)
                (*argmax_bad)++;
        }
    }
    return worst;
}

static void hex_of(char *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", (unsigned char)s[i]);
    out[2 * n] = '\0';
}

/* Whole prompt in one call, all logits: (P,V) into out. */
static int run_batch(const struct lm_model *m, struct lm_state *st,
                     const int32_t *ids, int P, float *out)
{
    struct lm_kv_pool pool;
    struct lm_kv_seq kv = {0};
    struct lm_err e = {0};
    int ok;

    lm_kv_pool_init(&pool, &m->cfg, P);
    if (lm_kv_seq_alloc(&pool, &kv, P, &e))
        return 0;
    struct lm_seg seg = {ids, P, &kv, LM_LOGITS_ALL};
    ok = lm_forward(m, st, &pool, &seg, 1, &e) == FTSB_OK &&
         st->n_logits == P;
    if (!ok)
        printf("  forward failed: %s\n", e.msg);
    else
        memcpy(out, st->logits, (size_t)P * m->cfg.vocab * sizeof(float));
    lm_kv_seq_free(&pool, &kv);
    return ok;
}

/* One token per call through the cache: (P,V) into out. */
static int run_steps(const struct lm_model *m, struct lm_state *st,
                     const int32_t *ids, int P, float *out)
{
    struct lm_kv_pool pool;
    struct lm_kv_seq kv = {0};
    struct lm_err e = {0};
    int ok = 1;

    lm_kv_pool_init(&pool, &m->cfg, P);
    if (lm_kv_seq_alloc(&pool, &kv, P, &e))
        return 0;
    for (int i = 0; i < P && ok; i++) {
        struct lm_seg seg = {ids + i, 1, &kv, LM_LOGITS_LAST};
        ok = lm_forward(m, st, &pool, &seg, 1, &e) == FTSB_OK;
        if (ok)
            memcpy(out + (int64_t)i * m->cfg.vocab, st->logits,
                   (size_t)m->cfg.vocab * sizeof(float));
    }
    if (!ok)
        printf("  forward failed: %s\n", e.msg);
    lm_kv_seq_free(&pool, &kv);
    return ok;
}

static void greedy_request(struct lm_gen_request *r, const int32_t *ids,
                           int P, int n_new)
{
    memset(r, 0, sizeof *r);
    r->prompt = ids;
    r->n_prompt = P;
    r->max_new_tokens = n_new;
    r->ignore_eos = true; /* the reference runs do not stop at EOS */
    r->sampling.repetition_penalty = 1.0f;
    r->sampling.top_p = 1.0f;
}

/* One case of the manifest (a base-model case or an adapter case) on m,
 * which has the case's adapter attached if it has one: logits three ways
 * within tol, the tokenizer's prompt ids, the greedy continuation (ids and
 * text bytes).  label names the weight types in the printed line. */
static void check_case(const struct lm_model *m, const struct tok_vocab *voc,
                       struct lm_state *st, const cJSON *c, const char *label,
                       double tol)
{
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(c, "id"));
    const char *text =
        cJSON_GetStringValue(cJSON_GetObjectItem(c, "prompt_text"));
    const int V = m->cfg.vocab;
    int P, n_greedy, bad_b = 0, bad_s = 0, bad_r = 0;
    size_t ref_bytes;
    char path[4096];
    struct lm_err e = {0};
    int32_t *ids = int_array(cJSON_GetObjectItem(c, "prompt_ids"), &P);
    int32_t *greedy = int_array(cJSON_GetObjectItem(c, "greedy_ids"),
                                &n_greedy);
    const cJSON *margins = cJSON_GetObjectItem(c, "margin");

    /* the tokenizer gives the prompt's ids */
    if (text && voc) {
        struct tok_ids t = {0};
        unsigned fl = cJSON_IsTrue(cJSON_GetObjectItem(c, "add_bos"))
                          ? TOK_ADD_SPECIAL : 0;
        CHECK(tok_encode(voc, text, strlen(text), fl, &t, &e) == FTSB_OK);
        CHECK_INT(t.n, P);
        CHECK(t.n == (size_t)P && !memcmp(t.v, ids, (size_t)P * 4));
        tok_ids_free(&t);
    }

    data_path(path, sizeof path, cJSON_GetStringValue(
                                     cJSON_GetObjectItem(c, "logits_file")));
    float *ref = (float *)slurp(path, &ref_bytes);
    float *got = malloc((size_t)P * V * sizeof(float));
    CHECK(ref && ref_bytes == (size_t)P * V * sizeof(float));
    if (!ref || ref_bytes != (size_t)P * V * sizeof(float) || !got) {
        free(ref);
        free(got);
        free(ids);
        free(greedy);
        return;
    }

    double eb = -1, es = -1, er = -1;
    if (run_batch(m, st, ids, P, got))
        eb = row_error(got, ref, P, V, margins, tol, &bad_b);
    if (run_steps(m, st, ids, P, got))
        es = row_error(got, ref, P, V, margins, tol, &bad_s);
    /* the naive references are slow (a double loop per product): the
     * short prompts exercise them enough */
    if (P <= 16) {
        lm_scratch_set_reference(&st->ws, 1);
        if (run_batch(m, st, ids, P, got))
            er = row_error(got, ref, P, V, margins, tol, &bad_r);
        lm_scratch_set_reference(&st->ws, 0);
        CHECK(er >= 0 && er <= tol);
    }
    CHECK(eb >= 0 && eb <= tol);
    CHECK(es >= 0 && es <= tol);
    CHECK_INT(bad_b + bad_s + bad_r, 0);

    /* greedy continuation through the scheduler */
    struct lm_gen_request rq;
    struct lm_gen_result rs = {0};
    greedy_request(&rq, ids, P, n_greedy);
    CHECK(lm_generate(m, voc, st, NULL, &rq, 1, &rs, &e) == FTSB_OK);
    int greedy_ok = rs.n_tokens == n_greedy &&
                    !memcmp(rs.tokens, greedy, (size_t)n_greedy * 4);
    CHECK(greedy_ok);
    CHECK_INT(rs.finish, LM_FINISH_LENGTH);
    const char *hex =
        cJSON_GetStringValue(cJSON_GetObjectItem(c, "greedy_text_hex"));
    if (hex && rs.text) {
        char *h = malloc(2 * rs.len + 1);
        hex_of(h, rs.text, rs.len);
        CHECK_STR(h, hex);
        free(h);
    }
    char rtext[16] = "    -   ";
    if (er >= 0)
        snprintf(rtext, sizeof rtext, "%.2e", er);
    printf("  %-24s %-9s P=%-3d max err: batch %.2e  steps %.2e  "
           "reference %s  (tolerance %.0e)  greedy %s\n",
           id, label, P, eb, es, rtext, tol, greedy_ok ? "ok" : "DIFFERS");
    lm_gen_result_free(&rs);
    free(ref);
    free(got);
    free(ids);
    free(greedy);
}

/* Loads a model of the manifest and its vocabulary (NULL on failure,
 * reported). */
static struct lm_model *load_model(const cJSON *mj, struct tok_vocab **voc)
{
    char path[4096];
    struct lm_model *m = NULL;
    struct lm_err e = {0};

    data_path(path, sizeof path,
              cJSON_GetStringValue(cJSON_GetObjectItem(mj, "file")));
    if (lm_model_load(path, NULL, &m, &e) != FTSB_OK ||
        tok_load(m->file, voc, &e) != FTSB_OK) {
        printf("  %s: %s\n", path, e.msg);
        CHECK(0);
        lm_model_free(m);
        return NULL;
    }
    return m;
}

/* Every case of one model. */
static void check_model(const char *model_id)
{
    const cJSON *mj = find_model(model_id), *c;
    const char *dtype = cJSON_GetStringValue(cJSON_GetObjectItem(mj, "dtype"));
    double tol = tolerance_of(dtype);
    struct tok_vocab *voc = NULL;
    struct lm_model *m = load_model(mj, &voc);
    struct lm_state st;

    if (!m)
        return;
    CHECK_INT(m->cfg.vocab,
              cJSON_GetNumberValue(cJSON_GetObjectItem(mj, "n_vocab")));
    CHECK_INT(m->cfg.n_kv_heads,
              cJSON_GetNumberValue(cJSON_GetObjectItem(mj, "n_kv_heads")));
    CHECK_INT(m->cfg.tied_output,
              cJSON_IsTrue(cJSON_GetObjectItem(mj, "tied_output")));
    lm_state_init(&st);
    lm_scratch_set_reference(&st.ws, 0);
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(manifest, "cases"))
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c, "model")),
                    model_id))
            check_case(m, voc, &st, c, dtype, tol);
    lm_state_free(&st);
    tok_free(voc);
    lm_model_free(m);
}

TEST(spm_f32) { if (!manifest) SKIP("no shared test data (set FTSB_SHARED_DIR)"); check_model("spm-f32"); }
TEST(gqa_f16) { if (!manifest) SKIP("no shared test data (set FTSB_SHARED_DIR)"); check_model("gqa-f16"); }
TEST(mqa_bf16) { if (!manifest) SKIP("no shared test data (set FTSB_SHARED_DIR)"); check_model("mqa-bf16"); }
TEST(gqa_q8_0) { if (!manifest) SKIP("no shared test data (set FTSB_SHARED_DIR)"); check_model("gqa-q8_0"); }

/* The LoRA cases: the base model with the case's adapter attached at the
 * case's scale (adapter_scale, the user's; lora_scale is the product
 * with alpha / r), checked as the base cases are, against the case's own
 * tolerance (the base dtype's for an F32 adapter, 3e-4 for an F16 one,
 * README section 7). */
TEST(adapter_cases)
{
    const cJSON *c;
    int n = 0;

    if (!manifest)
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(manifest, "adapter_cases")) {
        const cJSON *mj = find_model(
            cJSON_GetStringValue(cJSON_GetObjectItem(c, "model")));
        const char *dtype =
            cJSON_GetStringValue(cJSON_GetObjectItem(mj, "dtype"));
        const cJSON *aj = NULL, *a;
        double tol = cJSON_GetNumberValue(cJSON_GetObjectItem(c, "tolerance"));
        float scale = (float)cJSON_GetNumberValue(
            cJSON_GetObjectItem(c, "adapter_scale"));
        struct tok_vocab *voc = NULL;
        struct lm_adapter_base base;
        struct lm_adapter *ad = NULL;
        struct lm_err e = {0};
        struct lm_state st;
        char path[4096], label[32];

        cJSON_ArrayForEach(a, cJSON_GetObjectItem(manifest, "adapters"))
            if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(a, "id")),
                        cJSON_GetStringValue(
                            cJSON_GetObjectItem(c, "adapter"))))
                aj = a;
        CHECK(mj && aj);
        /* the README's rule: never looser than the base model's */
        CHECK(tol >= tolerance_of(dtype) && tol <= 3e-4);
        struct lm_model *m = mj && aj ? load_model(mj, &voc) : NULL;
        if (!m)
            continue;
        data_path(path, sizeof path, cJSON_GetStringValue(
                                         cJSON_GetObjectItem(c, "adapter_file")));
        if (lm_adapter_base_from_gguf(m->file, &base, &e) != FTSB_OK ||
            lm_adapter_load_gguf(path, &base, &ad, &e) != FTSB_OK) {
            printf("  %s: %s\n", path, e.msg);
            CHECK(0);
            tok_free(voc);
            lm_model_free(m);
            continue;
        }
        m->lora = ad;
        m->lora_scale = scale;
        /* s as the manifest computed it: alpha / r read right */
        CHECK(lm_adapter_scale(ad) * scale ==
              (float)cJSON_GetNumberValue(cJSON_GetObjectItem(c, "lora_scale")));
        snprintf(label, sizeof label, "%s+%s", dtype, cJSON_GetStringValue(
                     cJSON_GetObjectItem(aj, "dtype")));
        lm_state_init(&st);
        lm_scratch_set_reference(&st.ws, 0);
        check_case(m, voc, &st, c, label, tol);
        lm_state_free(&st);
        lm_adapter_free(ad);
        tok_free(voc);
        lm_model_free(m);
        n++;
    }
    CHECK_INT(n, cJSON_GetArraySize(cJSON_GetObjectItem(manifest,
                                                        "adapter_cases")));
}

/* The greedy runs of every case of model_id as requests; ids are owned by
 * the caller through *store. */
static int case_requests(const char *model_id, struct lm_gen_request *rq,
                         int32_t **store, int32_t **want, int *n_want,
                         int max)
{
    const cJSON *c;
    int n = 0;

    cJSON_ArrayForEach(c, cJSON_GetObjectItem(manifest, "cases")) {
        int P;
        if (n == max || strcmp(cJSON_GetStringValue(
                                   cJSON_GetObjectItem(c, "model")), model_id))
            continue;
        store[n] = int_array(cJSON_GetObjectItem(c, "prompt_ids"), &P);
        want[n] = int_array(cJSON_GetObjectItem(c, "greedy_ids"), &n_want[n]);
        greedy_request(&rq[n], store[n], P, n_want[n]);
        n++;
    }
    return n;
}

/* Batched = alone, under any budget; continuous batching refills slots. */
static void check_batched(const char *model_id)
{
    enum { MAX = 16 };
    const cJSON *mj = find_model(model_id);
    char path[4096];
    struct lm_model *m = NULL;
    struct tok_vocab *voc = NULL;
    struct lm_err e = {0};
    struct lm_state st;
    struct lm_gen_request rq[MAX];
    struct lm_gen_result alone[MAX], batch[MAX], tight[MAX];
    int32_t *ids[MAX], *want[MAX];
    int n_want[MAX];

    data_path(path, sizeof path,
              cJSON_GetStringValue(cJSON_GetObjectItem(mj, "file")));
    if (lm_model_load(path, NULL, &m, &e) || tok_load(m->file, &voc, &e)) {
        printf("  %s\n", e.msg);
        CHECK(0);
        lm_model_free(m);
        return;
    }
    lm_state_init(&st);
    int n = case_requests(model_id, rq, ids, want, n_want, MAX);
    for (int i = 0; i < n; i++) {
        struct lm_gen_opts one = {.max_batch = 1};
        CHECK(lm_generate(m, voc, &st, &one, &rq[i], 1, &alone[i], &e) ==
              FTSB_OK);
    }
    struct lm_gen_opts all = {.max_batch = MAX};
    CHECK(lm_generate(m, voc, &st, &all, rq, (size_t)n, batch, &e) == FTSB_OK);
    /* a budget that holds the longest request and a little more: the others
     * wait for a slot to free */
    int64_t need = 0;
    for (int i = 0; i < n; i++) {
        int64_t r = rq[i].n_prompt + rq[i].max_new_tokens - 1;
        need = r > need ? r : need;
    }
    struct lm_gen_opts small = {.max_batch = MAX, .kv_budget = need + 1};
    struct lm_gen_stats stats;
    small.stats = &stats;
    CHECK(lm_generate(m, voc, &st, &small, rq, (size_t)n, tight, &e) ==
          FTSB_OK);
    for (int i = 0; i < n; i++) {
        CHECK_INT(batch[i].n_tokens, n_want[i]);
        CHECK_INT(tight[i].n_tokens, n_want[i]);
        CHECK(!memcmp(alone[i].tokens, want[i], (size_t)n_want[i] * 4));
        CHECK(!memcmp(batch[i].tokens, want[i], (size_t)n_want[i] * 4));
        CHECK(!memcmp(tight[i].tokens, want[i], (size_t)n_want[i] * 4));
        CHECK(batch[i].len == alone[i].len &&
              !memcmp(batch[i].text, alone[i].text, alone[i].len));
        lm_gen_result_free(&alone[i]);
        lm_gen_result_free(&batch[i]);
        lm_gen_result_free(&tight[i]);
        free(ids[i]);
        free(want[i]);
    }
    /* the budget forced more decoding steps than the longest request */
    CHECK(stats.decode_steps > 24);
    printf("  %s: %d chats alone = batched = batched under a tight KV "
           "budget (%lld steps)\n", model_id, n, (long long)stats.decode_steps);
    lm_state_free(&st);
    tok_free(voc);
    lm_model_free(m);
}

TEST(batched_equals_alone)
{
    if (!manifest)
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    check_batched("spm-f32");
    check_batched("gqa-f16");
}

/* A context of 16: the prompts longer than that fail on their own; the
 * rest generate until the context is full, matching the reference. */
TEST(prompt_longer_than_context)
{
    enum { MAX = 16 };
    char path[4096];
    struct lm_model *m = NULL;
    struct tok_vocab *voc = NULL;
    struct lm_err e = {0};
    struct lm_state st;
    struct lm_gen_request rq[MAX];
    struct lm_gen_result res[MAX];
    int32_t *ids[MAX], *want[MAX];
    int n_want[MAX], n_err = 0, n_ok = 0;
    struct lm_model_opts mo = {.ctx = 16};

    if (!manifest)
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    data_path(path, sizeof path, "reference/models/spm-f32.gguf");
    if (lm_model_load(path, &mo, &m, &e) || tok_load(m->file, &voc, &e)) {
        printf("  %s\n", e.msg);
        CHECK(0);
        lm_model_free(m);
        return;
    }
    CHECK_INT(m->cfg.ctx, 16);
    CHECK_INT(m->cfg.ctx_train, 2048);
    lm_state_init(&st);
    int n = case_requests("spm-f32", rq, ids, want, n_want, MAX);
    CHECK(lm_generate(m, voc, &st, NULL, rq, (size_t)n, res, &e) == FTSB_OK);
    for (int i = 0; i < n; i++) {
        if (rq[i].n_prompt >= 16) {
            n_err++;
            CHECK_INT(res[i].finish, LM_FINISH_ERROR);
            CHECK_CONTAINS(res[i].error, "the context holds 16");
        } else {
            /* positions 0..15: P prompt tokens, then 16 - P fed back, one
             * more sampled from the last */
            n_ok++;
            CHECK_INT(res[i].finish, LM_FINISH_LENGTH);
            CHECK_INT(res[i].n_tokens, 16 - rq[i].n_prompt + 1);
            CHECK(!memcmp(res[i].tokens, want[i],
                          (size_t)res[i].n_tokens * 4));
        }
        lm_gen_result_free(&res[i]);
        free(ids[i]);
        free(want[i]);
    }
    CHECK(n_err > 0 && n_ok > 0);
    lm_state_free(&st);
    tok_free(voc);
    lm_model_free(m);
}

int main(void)
{
    if (!load_manifest())
        printf("no shared test data: FTSB_SHARED_DIR is unset or has no "
               "testdata/manifest.json\n");
    RUN(spm_f32);
    RUN(gqa_f16);
    RUN(mqa_bf16);
    RUN(gqa_q8_0);
    RUN(adapter_cases);
    RUN(batched_equals_alone);
    RUN(prompt_longer_than_context);
    cJSON_Delete(manifest);
    return test_summary();
}
