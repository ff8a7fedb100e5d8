/*
 * test_adapter.c - LoRA adapters in memory, in llama.cpp's GGUF and in
 * PEFT form.  The two reference adapters of shared/testdata load with the
 * shapes, rank and alpha manifest.json gives (skipped, exit 77, without
 * $FTSB_SHARED_DIR); each goes GGUF -> PEFT -> GGUF and comes back with
 * the same tensor bytes (and the same file), with q/k B rows in HF order
 * in between, checked here against the permutation formula written out
 * independently; the permutation itself is checked on a hand example.
 * Malformed and misfitting adapters of both formats are refused with the
 * expected status and a message naming the tensor.
 *
 *     test_adapter                     run the tests
 *     test_adapter --write-seeds DIR   write PEFT files for the fuzz base
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "adapter.h"
#include "fp16.h"
#include "gguf.h"
#include "safetensors.h"
#include "test.h"

/* The base the fuzz target uses too (tests/fuzz/fuzz_safetensors.c). */
static const struct lm_adapter_base tiny = {
    .arch = "llama", .n_layer = 2, .n_embd = 8, .n_ff = 12,
    .n_head = 2, .n_head_kv = 1, .head_dim = 4,
};

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static float rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) & 0xFFFF) / 65536.0f - 0.5f;
}

/* An adapter on base with random A and B. */
static struct lm_adapter *random_adapter(const struct lm_adapter_base *base,
                                         int64_t rank, float alpha,
                                         unsigned targets)
{
    struct lm_err err;
    struct lm_adapter *ad;

    if (lm_adapter_new(base, rank, alpha, targets, &ad, &err)) {
        printf("  lm_adapter_new: %s\n", err.msg);
        return NULL;
    }
    for (int64_t i = 0; i < ad->n_layer * LM_LORA_N_TARGETS; i++) {
        struct lm_lora_pair *p = &ad->pairs[i];
        if (!p->a)
            continue;
        for (int64_t k = 0; k < p->n_in * rank; k++)
            p->a[k] = rnd();
        for (int64_t k = 0; k < p->n_out * rank; k++)
            p->b[k] = rnd();
    }
    return ad;
}

static int same_adapter(const struct lm_adapter *x, const struct lm_adapter *y)
{
    if (x->rank != y->rank || x->n_layer != y->n_layer)
        return 0;
    for (int64_t i = 0; i < x->n_layer * LM_LORA_N_TARGETS; i++) {
        const struct lm_lora_pair *p = &x->pairs[i], *q = &y->pairs[i];
        if (!p->a != !q->a)
            return 0;
        if (!p->a)
            continue;
        if (p->n_in != q->n_in || p->n_out != q->n_out ||
            memcmp(p->a, q->a, (size_t)(p->n_in * x->rank) * 4) != 0 ||
            memcmp(p->b, q->b, (size_t)(p->n_out * x->rank) * 4) != 0)
            return 0;
    }
    return 1;
}

static char *make_tmpdir(void)
{
    static char dir[64];

    snprintf(dir, sizeof dir, "/tmp/ftsb_adapter_XXXXXX");
    return mkdtemp(dir);
}

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[4096];

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_rf(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf) {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    return buf;
}

/* ---- names and the permutation ------------------------------------------ */

TEST(target_names)
{
    CHECK_STR(lm_lora_target_gguf(LM_LORA_O), "attn_output");
    CHECK_STR(lm_lora_target_peft(LM_LORA_O), "o_proj");
    CHECK_STR(lm_lora_target_module(LM_LORA_O), "self_attn");
    CHECK_STR(lm_lora_target_module(LM_LORA_DOWN), "mlp");
    CHECK(lm_lora_target_gguf(LM_LORA_N_TARGETS) == NULL);
    CHECK(lm_lora_target_peft(-1) == NULL);
}

/* Two heads of four rows, one value per row: HF rows 0..7. */
TEST(permutation_hand_example)
{
    static const float hf[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    /* Per head: GGUF row 2j = HF row j, GGUF row 2j+1 = HF row j + 2. */
    static const float want[8] = {0, 2, 1, 3, 4, 6, 5, 7};
    float g[8], back[8];
    struct lm_err err;

    CHECK(lm_lora_permute_rows(g, hf, 8, 1, 2, 1, &err) == FTSB_OK);
    CHECK(memcmp(g, want, sizeof g) == 0);
    CHECK(lm_lora_permute_rows(back, g, 8, 1, 2, 0, &err) == FTSB_OK);
    CHECK(memcmp(back, hf, sizeof hf) == 0);
    /* One head of 8: rows (0,4),(1,5),(2,6),(3,7) become adjacent. */
    {
        static const float want1[8] = {0, 4, 1, 5, 2, 6, 3, 7};
        CHECK(lm_lora_permute_rows(g, hf, 8, 1, 1, 1, &err) == FTSB_OK);
        CHECK(memcmp(g, want1, sizeof g) == 0);
    }
    CHECK(lm_lora_permute_rows(g, hf, 8, 1, 3, 1, &err) == FTSB_E_INVALID);
    CHECK(lm_lora_permute_rows(g, hf, 6, 1, 2, 1, &err) == FTSB_E_INVALID);
}

/* Whole rows move, against the formula, for 3 heads of 6 rows of 5. */
TEST(permutation_formula)
{
    enum { H = 3, HD = 6, R = 5, N = H * HD };
    float src[N * R], dst[N * R], back[N * R];
    struct lm_err err;
    int bad = 0;

    for (int i = 0; i < N * R; i++)
        src[i] = (float)i;
    CHECK(lm_lora_permute_rows(dst, src, N, R, H, 1, &err) == FTSB_OK);
    for (int h = 0; h < H; h++) {
        for (int j = 0; j < HD / 2; j++) {
            for (int c = 0; c < R; c++) {
                bad += dst[(h * HD + 2 * j) * R + c] !=
                       src[(h * HD + j) * R + c];
                bad += dst[(h * HD + 2 * j + 1) * R + c] !=
                       src[(h * HD + j + HD / 2) * R + c];
            }
        }
    }
    CHECK_INT(bad, 0);
    CHECK(lm_lora_permute_rows(back, dst, N, R, H, 0, &err) == FTSB_OK);
    CHECK(memcmp(back, src, sizeof src) == 0);
}

/* ---- the in-memory adapter ---------------------------------------------- */

TEST(new_check_meta_scale)
{
    struct lm_err err;
    struct lm_adapter *ad;
    struct lm_adapter_base other = tiny;

    CHECK(lm_adapter_new(&tiny, 4, 8.0f,
                         (1u << LM_LORA_Q) | (1u << LM_LORA_DOWN), &ad,
                         &err) == FTSB_OK);
    if (!ad)
        return;
    CHECK_INT(ad->n_layer, 2);
    CHECK(lm_adapter_scale(ad) == 2.0f);
    CHECK(lm_adapter_pair(ad, 1, LM_LORA_Q)->a != NULL);
    CHECK_INT(lm_adapter_pair(ad, 1, LM_LORA_Q)->n_out, 8);
    CHECK_INT(lm_adapter_pair(ad, 0, LM_LORA_DOWN)->n_in, 12);
    CHECK(lm_adapter_pair(ad, 0, LM_LORA_K)->a == NULL);
    CHECK(lm_adapter_pair(ad, 0, LM_LORA_Q)->b[7 * 4 + 3] == 0.0f);
    CHECK(lm_adapter_check(ad, &tiny, &err) == FTSB_OK);
    other.n_embd = 16;
    other.head_dim = 8;
    CHECK(lm_adapter_check(ad, &other, &err) == FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "blk.0.attn_q.weight pair maps 8 -> 8 values, "
                            "the base model's projection 16 -> 16");
    other = tiny;
    other.n_layer = 1;
    CHECK(lm_adapter_check(ad, &other, &err) == FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "adapts blk.1.attn_q.weight, but the base model "
                            "has 1 layers");
    other = tiny;
    snprintf(other.arch, sizeof other.arch, "gemma");
    CHECK(lm_adapter_check(ad, &other, &err) == FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "architecture 'llama', the base model is 'gemma'");
    CHECK(lm_adapter_set_meta(ad, "general.name", "x", &err) == FTSB_OK);
    CHECK(lm_adapter_set_meta(ad, "general.name", "y", &err) == FTSB_OK);
    CHECK_STR(lm_adapter_get_meta(ad, "general.name"), "y");
    CHECK_INT(ad->n_meta, 1);
    CHECK(lm_adapter_get_meta(ad, "nope") == NULL);
    ad->alpha = 0;
    CHECK(lm_adapter_scale(ad) == 1.0f);
    lm_adapter_free(ad);

    CHECK(lm_adapter_new(&tiny, 0, 1, LM_LORA_ALL, &ad, &err) ==
          FTSB_E_INVALID);
    CHECK(lm_adapter_new(&tiny, 2, 1, 0, &ad, &err) == FTSB_E_INVALID);
    other = tiny;
    other.n_head_kv = 3;
    CHECK(lm_adapter_new(&other, 2, 1, LM_LORA_ALL, &ad, &err) ==
          FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "n_head_kv 3 (must divide n_head)");
}

/* ---- the reference adapters --------------------------------------------- */

static cJSON *load_manifest(const char *shared)
{
    char path[4096];
    size_t len;
    char *text;
    cJSON *m;

    snprintf(path, sizeof path, "%s/testdata/manifest.json", shared);
    if (!(text = read_all(path, &len)))
        return NULL;
    m = cJSON_ParseWithLength(text, len);
    free(text);
    return m;
}

static const cJSON *find_by_id(const cJSON *arr, const char *id)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, arr) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "id");
        if (cJSON_IsString(v) && strcmp(v->valuestring, id) == 0)
            return e;
    }
    return NULL;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The base dims of a reference model, from its GGUF, checked against the
 * manifest. */
static int ref_base(const char *shared, const cJSON *model,
                    struct lm_adapter_base *base)
{
    char path[4096];
    struct gguf_file *g;
    struct lm_err err;
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(model, "file");
    ftsb_status s;

    snprintf(path, sizeof path, "%s/testdata/%s", shared, file->valuestring);
    if (gguf_open(path, &g, &err)) {
        printf("  %s\n", err.msg);
        return 1;
    }
    s = lm_adapter_base_from_gguf(g, base, &err);
    gguf_close(g);
    if (s) {
        printf("  %s\n", err.msg);
        return 1;
    }
    CHECK_STR(base->arch, "llama");
    CHECK_INT(base->n_layer, num(model, "n_layers"));
    CHECK_INT(base->n_embd, num(model, "dim"));
    CHECK_INT(base->n_ff, num(model, "ffn_hidden"));
    CHECK_INT(base->n_head, num(model, "n_heads"));
    CHECK_INT(base->n_head_kv, num(model, "n_kv_heads"));
    CHECK_INT(base->head_dim ? base->head_dim : base->n_embd / base->n_head,
              num(model, "head_dim"));
    return 0;
}

static int target_of(const char *gguf_name)
{
    for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
        if (strcmp(lm_lora_target_gguf(t), gguf_name) == 0)
            return t;
    }
    return -1;
}

/* Loads one reference adapter and checks it against the manifest. */
static void check_reference(const char *shared, const cJSON *man,
                            const cJSON *entry)
{
    const char *id = cJSON_GetObjectItemCaseSensitive(entry, "id")->valuestring;
    const char *file =
        cJSON_GetObjectItemCaseSensitive(entry, "file")->valuestring;
    const char *base_id =
        cJSON_GetObjectItemCaseSensitive(entry, "base_model")->valuestring;
    const char *dtype =
        cJSON_GetObjectItemCaseSensitive(entry, "dtype")->valuestring;
    const cJSON *targets = cJSON_GetObjectItemCaseSensitive(entry, "targets");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(entry, "layers");
    const cJSON *e;
    struct lm_adapter_base base;
    struct lm_adapter *ad = NULL, *ad2 = NULL, *ad3 = NULL;
    struct lm_err err;
    unsigned want_targets = 0;
    int64_t n_params = 0, n_pairs = 0;
    char path[4096], gpath[4200], *dir;
    struct gguf_file *orig = NULL, *again = NULL;

    printf("  adapter %s\n", id);
    if (ref_base(shared,
                 find_by_id(cJSON_GetObjectItemCaseSensitive(man, "models"),
                            base_id),
                 &base))
        return;
    snprintf(path, sizeof path, "%s/testdata/%s", shared, file);
    if (lm_adapter_load_gguf(path, &base, &ad, &err)) {
        printf("  %s\n", err.msg);
        CHECK(!"the reference adapter loads");
        return;
    }
    CHECK_INT(ad->rank, num(entry, "rank"));
    CHECK(ad->alpha == (float)num(entry, "alpha"));
    CHECK(lm_adapter_scale(ad) == (float)num(entry, "alpha_over_rank"));
    CHECK_STR(ad->arch, "llama");
    CHECK_INT(ad->dtype, strcmp(dtype, "F16") == 0 ? LM_F16 : LM_F32);
    CHECK_INT(ad->n_layer, base.n_layer);
    cJSON_ArrayForEach(e, targets)
        want_targets |= 1u << target_of(e->valuestring);
    for (int64_t l = 0; l < ad->n_layer; l++) {
        int in_layers = 0;
        cJSON_ArrayForEach(e, layers) in_layers |= (int64_t)e->valuedouble == l;
        for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
            const struct lm_lora_pair *p = lm_adapter_pair(ad, l, t);
            int want = in_layers && (want_targets & (1u << t));
            int64_t n_in, n_out;
            CHECK(!!p->a == want);
            if (!p->a)
                continue;
            lm_adapter_base_dims(&base, t, &n_in, &n_out, &err);
            CHECK_INT(p->n_in, n_in);
            CHECK_INT(p->n_out, n_out);
            n_params += (p->n_in + p->n_out) * ad->rank;
            n_pairs++;
        }
    }
    CHECK_INT(2 * n_pairs, num(entry, "n_tensors"));
    CHECK_INT(n_params, num(entry, "n_params"));
    CHECK(lm_adapter_get_meta(ad, "general.name") != NULL);

    /* Without a base: the same matrices, layers from the file. */
    CHECK(lm_adapter_load_gguf(path, NULL, &ad2, &err) == FTSB_OK);
    if (ad2) {
        CHECK(same_adapter(ad, ad2));
        lm_adapter_free(ad2);
        ad2 = NULL;
    }

    /* GGUF -> PEFT -> GGUF. */
    dir = make_tmpdir();
    CHECK(dir != NULL);
    if (!dir)
        goto done;
    if (lm_adapter_save_peft(ad, dir, &base, LM_ADAPTER_DTYPE_AUTO, &err)) {
        printf("  save_peft: %s\n", err.msg);
        CHECK(0);
        goto done;
    }
    if (lm_adapter_load_peft(dir, &base, &ad2, &err)) {
        printf("  load_peft: %s\n", err.msg);
        CHECK(0);
        goto done;
    }
    CHECK(same_adapter(ad, ad2));
    CHECK(ad2->alpha == ad->alpha);
    CHECK_INT(ad2->dtype, ad->dtype);
    CHECK_STR(lm_adapter_get_meta(ad2, "general.name"),
              lm_adapter_get_meta(ad, "general.name"));
    snprintf(gpath, sizeof gpath, "%s/back.gguf", dir);
    CHECK(lm_adapter_save_gguf(ad2, gpath, LM_ADAPTER_DTYPE_AUTO, &err) ==
          FTSB_OK);
    CHECK(gguf_open(path, &orig, &err) == FTSB_OK);
    CHECK(gguf_open(gpath, &again, &err) == FTSB_OK);
    if (orig && again) {
        /* Every tensor, byte for byte. */
        CHECK_INT(gguf_n_tensors(again), gguf_n_tensors(orig));
        for (uint64_t i = 0; i < gguf_n_tensors(orig); i++) {
            const struct gguf_tensor *t = gguf_tensor_at(orig, i);
            const struct gguf_tensor *u = gguf_find_tensor(again, t->name);
            const void *dt, *du;
            CHECK(u != NULL);
            if (!u)
                continue;
            CHECK(u->type == t->type && u->ne[0] == t->ne[0] &&
                  u->ne[1] == t->ne[1] && u->n_dims == 2);
            gguf_tensor_data(orig, t, &dt, &err);
            gguf_tensor_data(again, u, &du, &err);
            CHECK(u->nbytes == t->nbytes &&
                  memcmp(dt, du, (size_t)t->nbytes) == 0);
        }
        /* And in fact the whole file. */
        CHECK(gguf_file_size(again) == gguf_file_size(orig));
        {
            size_t la, lb;
            char *a = read_all(path, &la), *b = read_all(gpath, &lb);
            CHECK(a && b && la == lb && memcmp(a, b, la) == 0);
            free(a);
            free(b);
        }
    }
    /* In the PEFT file, q and k B rows are in HF order: check them against
     * the formula on the GGUF bytes; v is unchanged. */
    {
        char spath[4200];
        struct st_file *st = NULL;
        snprintf(spath, sizeof spath, "%s/adapter_model.safetensors", dir);
        CHECK(st_open(spath, &st, &err) == FTSB_OK);
        for (int t = LM_LORA_Q; st && orig && t <= LM_LORA_V; t++) {
            char sn[200], gn[64];
            const struct st_tensor *sb;
            const struct gguf_tensor *gb;
            const uint8_t *ps, *pg;
            const void *d;
            int64_t nh = t == LM_LORA_Q ? base.n_head : base.n_head_kv;
            int64_t rows, hd, esz, bad = 0;
            if (!(want_targets & (1u << t)))
                continue;
            snprintf(sn, sizeof sn,
                     "base_model.model.model.layers.0.self_attn.%s."
                     "lora_B.weight",
                     lm_lora_target_peft(t));
            snprintf(gn, sizeof gn, "blk.0.%s.weight.lora_b",
                     lm_lora_target_gguf(t));
            sb = st_find(st, sn);
            gb = gguf_find_tensor(orig, gn);
            CHECK(sb && gb);
            if (!sb || !gb)
                continue;
            CHECK(sb->shape[0] == (uint64_t)gb->ne[1] &&
                  sb->shape[1] == (uint64_t)gb->ne[0]);
            CHECK_STR(st_dtype_name(sb->dtype), dtype);
            ps = st_tensor_raw(st, sb);
            gguf_tensor_data(orig, gb, &d, &err);
            pg = d;
            rows = gb->ne[1];
            hd = rows / nh;
            esz = (int64_t)(gb->nbytes / (uint64_t)(rows * ad->rank)) *
                  ad->rank; /* bytes per row */
            for (int64_t h = 0; h < nh; h++) {
                for (int64_t j = 0; j < hd; j++) {
                    /* HF row j of the head is GGUF row 2j (j < hd/2) or
                     * 2(j - hd/2) + 1; v is not permuted. */
                    int64_t g = t == LM_LORA_V ? j
                                : j < hd / 2   ? 2 * j
                                               : 2 * (j - hd / 2) + 1;
                    bad += memcmp(ps + (h * hd + j) * esz,
                                  pg + (h * hd + g) * esz, (size_t)esz) != 0;
                }
            }
            CHECK_INT(bad, 0);
            if (t != LM_LORA_V)
                CHECK(memcmp(ps, pg, (size_t)gb->nbytes) != 0);
        }
        if (st) {
            CHECK_STR(st_get_meta(st, "format"), "pt");
            st_close(st);
        }
    }
    /* The config reads back as PEFT would read it. */
    {
        char cpath[4200];
        size_t len;
        char *text;
        cJSON *c, *tm;
        snprintf(cpath, sizeof cpath, "%s/adapter_config.json", dir);
        text = read_all(cpath, &len);
        c = text ? cJSON_ParseWithLength(text, len) : NULL;
        CHECK(c != NULL);
        if (c) {
            CHECK_STR(cJSON_GetObjectItemCaseSensitive(c, "peft_type")
                          ->valuestring,
                      "LORA");
            CHECK_INT(num(c, "r"), ad->rank);
            CHECK(num(c, "lora_alpha") == ad->alpha);
            tm = cJSON_GetObjectItemCaseSensitive(c, "target_modules");
            CHECK_INT(cJSON_GetArraySize(tm), cJSON_GetArraySize(targets));
            CHECK(cJSON_IsNull(
                cJSON_GetObjectItemCaseSensitive(c, "layers_to_transform")));
            cJSON_Delete(c);
        }
        free(text);
    }
    /* Other dtypes: BF16 rounds, F32 keeps. */
    snprintf(gpath, sizeof gpath, "%s/bf16.gguf", dir);
    CHECK(lm_adapter_save_gguf(ad, gpath, LM_BF16, &err) == FTSB_OK);
    CHECK(lm_adapter_load_gguf(gpath, &base, &ad3, &err) == FTSB_OK);
    if (ad3) {
        const struct lm_lora_pair *p = lm_adapter_pair(ad, 0, LM_LORA_Q);
        const struct lm_lora_pair *q = lm_adapter_pair(ad3, 0, LM_LORA_Q);
        CHECK_INT(ad3->dtype, LM_BF16);
        CHECK(q->a[5] == lm_bf16_to_f32(lm_f32_to_bf16(p->a[5])));
        lm_adapter_free(ad3);
        ad3 = NULL;
    }
    CHECK(lm_adapter_save_peft(ad, dir, &base, LM_F32, &err) == FTSB_OK);
    CHECK(lm_adapter_load_peft(dir, &base, &ad3, &err) == FTSB_OK);
    if (ad3) {
        CHECK(same_adapter(ad, ad3));
        CHECK_INT(ad3->dtype, LM_F32);
    }
done:
    gguf_close(orig);
    gguf_close(again);
    lm_adapter_free(ad);
    lm_adapter_free(ad2);
    lm_adapter_free(ad3);
    if (dir)
        rm_rf(dir);
}

TEST(reference_adapters)
{
    const char *shared = getenv("FTSB_SHARED_DIR");
    cJSON *man;
    const cJSON *e;
    int n = 0;

    if (!shared)
        SKIP("FTSB_SHARED_DIR is not set");
    if (!(man = load_manifest(shared)))
        SKIP("no %s/testdata/manifest.json", shared);
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(man, "adapters")) {
        check_reference(shared, man, e);
        n++;
    }
    CHECK_INT(n, 2);
    cJSON_Delete(man);
}

/* A reference adapter against the wrong base model. */
TEST(reference_adapter_wrong_base)
{
    const char *shared = getenv("FTSB_SHARED_DIR");
    char path[4096];
    struct lm_err err;
    struct lm_adapter *ad = NULL;
    struct lm_adapter_base base = {
        .arch = "llama", .n_layer = 3, .n_embd = 128, .n_ff = 320,
        .n_head = 8, .n_head_kv = 2,
    };

    if (!shared)
        SKIP("FTSB_SHARED_DIR is not set");
    snprintf(path, sizeof path,
             "%s/testdata/reference/adapters/spm-f32.lora-r8.gguf", shared);
    if (access(path, R_OK) != 0)
        SKIP("no %s", path);
    CHECK(lm_adapter_load_gguf(path, &base, &ad, &err) == FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "'blk.0.attn_q.weight.lora_a' has ne [64, 8] and "
                            "'blk.0.attn_q.weight.lora_b' ne [8, 64], but the "
                            "base model's blk.0.attn_q.weight has ne [128, "
                            "128]");
    snprintf(base.arch, sizeof base.arch, "mistral");
    CHECK(lm_adapter_load_gguf(path, &base, &ad, &err) == FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "the adapter is for architecture 'llama', the "
                            "base model is 'mistral'");
    CHECK(ad == NULL);
}

/* ---- GGUF errors -------------------------------------------------------- */

struct gt {
    const char *name;
    uint32_t n_dims;
    int64_t ne[3];
};

/* A GGUF adapter in memory with the given header values and tensors. */
static ftsb_status gguf_case(const char *gtype, const char *atype,
                             const char *arch, const struct gt *ts, size_t nt,
                             int alora, const struct lm_adapter_base *base,
                             struct lm_adapter **out, struct lm_err *err)
{
    static float zeros[4096];
    struct gguf_writer *w;
    struct gguf_file *f = NULL;
    uint8_t *mem = NULL;
    size_t size;
    ftsb_status s;

    gguf_writer_new(&w, err);
    if (gtype)
        gguf_w_str(w, "general.type", gtype, strlen(gtype), err);
    if (arch)
        gguf_w_str(w, "general.architecture", arch, strlen(arch), err);
    if (atype)
        gguf_w_str(w, "adapter.type", atype, strlen(atype), err);
    gguf_w_f32(w, "adapter.lora.alpha", 4.0f, err);
    if (alora) {
        uint32_t tok[2] = {5, 6};
        gguf_w_arr(w, "adapter.alora.invocation_tokens", GGUF_TYPE_UINT32,
                   tok, 2, err);
    }
    for (size_t i = 0; i < nt; i++) {
        uint64_t n = 1;
        for (uint32_t d = 0; d < ts[i].n_dims; d++)
            n *= (uint64_t)ts[i].ne[d];
        if ((s = gguf_w_tensor(w, ts[i].name, GGUF_TENSOR_F32, ts[i].n_dims,
                               ts[i].ne, zeros, n * 4, err))) {
            printf("  writer: %s\n", err->msg);
            gguf_writer_free(w);
            return s;
        }
    }
    s = gguf_w_save_mem(w, &mem, &size, err);
    gguf_writer_free(w);
    if (!s)
        s = gguf_open_mem(mem, size, "case.gguf", &f, err);
    if (!s)
        s = lm_adapter_from_gguf(f, base, out, err);
    gguf_close(f);
    free(mem);
    return s;
}

TEST(gguf_errors)
{
    /* tiny: q 8 -> 8, k 8 -> 4. */
    static const struct gt good[] = {
        {"blk.0.attn_q.weight.lora_a", 2, {8, 2}},
        {"blk.0.attn_q.weight.lora_b", 2, {2, 8}},
        {"blk.1.attn_k.weight.lora_a", 2, {8, 2}},
        {"blk.1.attn_k.weight.lora_b", 2, {2, 4}},
        {"blk.0.attn_norm.weight", 1, {8}},
    };
    struct gt t[8];
    struct lm_err err;
    struct lm_adapter *ad = NULL;

#define CASE(gtype, atype, arch, n, alora, base, code, want)                   \
    do {                                                                      \
        ad = NULL;                                                            \
        CHECK_INT(gguf_case(gtype, atype, arch, t, n, alora, base, &ad,       \
                            &err),                                            \
                  code);                                                      \
        if (code)                                                             \
            CHECK_CONTAINS(err.msg, want);                                    \
        CHECK(!(code) == !!ad);                                               \
        lm_adapter_free(ad);                                                  \
    } while (0)

    memcpy(t, good, sizeof good);
    CASE("adapter", "lora", "llama", 5, 0, &tiny, FTSB_OK, "");
    CASE("adapter", "lora", "llama", 5, 0, NULL, FTSB_OK, "");
    CASE(NULL, "lora", "llama", 5, 0, &tiny, FTSB_E_FORMAT,
         "'case.gguf' is not an adapter: it has no general.type, so it is a "
         "model");
    CASE("model", "lora", "llama", 5, 0, &tiny, FTSB_E_FORMAT,
         "'case.gguf' is not an adapter: general.type is 'model' (expected "
         "'adapter')");
    CASE("adapter", NULL, "llama", 5, 0, &tiny, FTSB_E_FORMAT,
         "the adapter has no adapter.type (expected 'lora')");
    CASE("adapter", "ia3", "llama", 5, 0, &tiny, FTSB_E_UNSUPPORTED,
         "adapter type 'ia3' is not supported (only 'lora')");
    CASE("adapter", "lora", NULL, 5, 0, &tiny, FTSB_E_FORMAT,
         "the adapter has no general.architecture");
    CASE("adapter", "lora", "gpt2", 5, 0, &tiny, FTSB_E_INVALID,
         "the adapter is for architecture 'gpt2', the base model is 'llama'");
    CASE("adapter", "lora", "llama", 5, 1, &tiny, FTSB_E_UNSUPPORTED,
         "activated LoRA (aLoRA");
    CASE("adapter", "lora", "llama", 0, 0, &tiny, FTSB_E_FORMAT,
         "'case.gguf' holds no LoRA tensors");
    CASE("adapter", "lora", "llama", 1, 0, &tiny, FTSB_E_FORMAT,
         "tensor 'blk.0.attn_q.weight.lora_a' has no partner "
         "'blk.0.attn_q.weight.lora_b'");
    CASE("adapter", "lora", "llama", 4, 0, &tiny, FTSB_OK, "");
    memcpy(t, good + 1, sizeof good[0]);
    CASE("adapter", "lora", "llama", 1, 0, &tiny, FTSB_E_FORMAT,
         "tensor 'blk.0.attn_q.weight.lora_b' has no partner "
         "'blk.0.attn_q.weight.lora_a'");

    memcpy(t, good, sizeof good);
    t[1].ne[0] = 3;
    CASE("adapter", "lora", "llama", 2, 0, &tiny, FTSB_E_FORMAT,
         "rank mismatch: 'blk.0.attn_q.weight.lora_a' has ne [8, 2] (rank 2) "
         "but 'blk.0.attn_q.weight.lora_b' has ne [3, 8] (rank 3)");
    memcpy(t, good, sizeof good);
    t[2].ne[1] = 4;
    t[3].ne[0] = 4;
    CASE("adapter", "lora", "llama", 4, 0, &tiny, FTSB_E_UNSUPPORTED,
         "'blk.1.attn_k.weight.lora_a' has rank 4 but other pairs have rank "
         "2: adapters with mixed ranks are not supported");
    memcpy(t, good, sizeof good);
    t[3].ne[1] = 8; /* k's B as if k had 8 outputs */
    CASE("adapter", "lora", "llama", 4, 0, &tiny, FTSB_E_INVALID,
         "'blk.1.attn_k.weight.lora_b' ne [2, 8], but the base model's "
         "blk.1.attn_k.weight has ne [8, 4]: lora_a must be [8, r] and "
         "lora_b [r, 4]");
    CASE("adapter", "lora", "llama", 4, 0, NULL, FTSB_OK, "");
    /* The old finetune layout: A transposed. */
    memcpy(t, good, sizeof good);
    t[0].ne[0] = 2;
    t[0].ne[1] = 8;
    CASE("adapter", "lora", "llama", 2, 0, &tiny, FTSB_E_FORMAT,
         "rank mismatch: 'blk.0.attn_q.weight.lora_a' has ne [2, 8]");
    memcpy(t, good, sizeof good);
    t[0].name = "blk.2.attn_q.weight.lora_a";
    t[1].name = "blk.2.attn_q.weight.lora_b";
    CASE("adapter", "lora", "llama", 2, 0, &tiny, FTSB_E_INVALID,
         "tensor 'blk.2.attn_q.weight.lora_a' is for layer 2, but the base "
         "model has 2 layers");
    t[0].name = "blk.4096.attn_q.weight.lora_a";
    t[1].name = "blk.4096.attn_q.weight.lora_b";
    CASE("adapter", "lora", "llama", 2, 0, NULL, FTSB_E_UNSUPPORTED,
         "past the 4096-layer limit");
    t[0].name = "blk.01.attn_q.weight.lora_a";
    CASE("adapter", "lora", "llama", 1, 0, NULL, FTSB_E_UNSUPPORTED,
         "tensor 'blk.01.attn_q.weight.lora_a' is not a LoRA tensor");
    t[0].name = "token_embd.weight.lora_a";
    CASE("adapter", "lora", "llama", 1, 0, &tiny, FTSB_E_UNSUPPORTED,
         "tensor 'token_embd.weight.lora_a' is not a LoRA tensor this engine "
         "applies");
    t[0].name = "blk.0.attn_qkv.weight.lora_a";
    CASE("adapter", "lora", "llama", 1, 0, &tiny, FTSB_E_UNSUPPORTED,
         "tensor 'blk.0.attn_qkv.weight.lora_a' is not a LoRA tensor");
    t[0].name = "output.weight";
    CASE("adapter", "lora", "llama", 1, 0, &tiny, FTSB_E_UNSUPPORTED,
         "tensor 'output.weight' is not a LoRA tensor");
    memcpy(t, good, sizeof good);
    t[0].n_dims = 3;
    t[0].ne[2] = 1;
    CASE("adapter", "lora", "llama", 2, 0, &tiny, FTSB_E_FORMAT,
         "tensor 'blk.0.attn_q.weight.lora_a' has 3 dimensions; LoRA "
         "tensors are 2-D");
#undef CASE
}

/* ---- PEFT errors -------------------------------------------------------- */

static const char good_config[] =
    "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, "
    "\"target_modules\": [\"q_proj\", \"k_proj\", \"v_proj\", \"o_proj\", "
    "\"gate_proj\", \"up_proj\", \"down_proj\"]}";

struct pt {
    const char *name;
    enum st_dtype dtype;
    uint64_t shape[2];
};

#define PFX "base_model.model.model.layers."
#define PA(l, m, p) PFX #l "." m "." p ".lora_A.weight"
#define PB(l, m, p) PFX #l "." m "." p ".lora_B.weight"

static ftsb_status peft_case(const struct pt *ts, size_t nt,
                             const char *config, struct lm_adapter **out,
                             struct lm_err *err)
{
    static uint8_t zeros[8192];
    struct st_writer *w;
    struct st_file *st = NULL;
    struct buf_ {
        uint8_t *p;
        size_t n;
    } b = {0};
    ftsb_status s;

    st_writer_new(&w, err);
    for (size_t i = 0; i < nt; i++) {
        uint64_t nb;
        st_dtype_nbytes(ts[i].dtype, ts[i].shape[0] * ts[i].shape[1], &nb);
        if ((s = st_w_tensor(w, ts[i].name, ts[i].dtype, 2, ts[i].shape,
                             zeros, nb, err))) {
            printf("  writer: %s\n", err->msg);
            st_writer_free(w);
            return s;
        }
    }
    s = st_w_save_mem(w, &b.p, &b.n, err);
    st_writer_free(w);
    if (!s)
        s = st_open_mem(b.p, b.n, "case.safetensors", &st, err);
    if (!s)
        s = lm_adapter_from_peft(st, config, strlen(config), "case.json",
                                 &tiny, out, err);
    st_close(st);
    free(b.p);
    return s;
}

TEST(peft_errors)
{
    static const struct pt good[] = {
        {PA(0, "self_attn", "q_proj"), ST_F32, {2, 8}},
        {PB(0, "self_attn", "q_proj"), ST_F32, {8, 2}},
        {PA(1, "mlp", "down_proj"), ST_F16, {2, 12}},
        {PB(1, "mlp", "down_proj"), ST_BF16, {8, 2}},
    };
    struct pt t[6];
    struct lm_err err;
    struct lm_adapter *ad = NULL;

#define CASE(n, cfg, code, want)                                               \
    do {                                                                      \
        ad = NULL;                                                            \
        CHECK_INT(peft_case(t, n, cfg, &ad, &err), code);                     \
        if (code)                                                             \
            CHECK_CONTAINS(err.msg, want);                                    \
        CHECK(!(code) == !!ad);                                               \
        lm_adapter_free(ad);                                                  \
    } while (0)

    memcpy(t, good, sizeof good);
    CASE(4, good_config, FTSB_OK, "");
    ad = NULL;
    CHECK(peft_case(t, 4, good_config, &ad, &err) == FTSB_OK);
    if (ad) {
        CHECK_INT(ad->rank, 2);
        CHECK(ad->alpha == 4.0f);
        CHECK_INT(ad->dtype, LM_F32); /* mixed types */
        CHECK(lm_adapter_pair(ad, 1, LM_LORA_DOWN)->a != NULL);
        CHECK(lm_adapter_pair(ad, 1, LM_LORA_Q)->a == NULL);
        lm_adapter_free(ad);
    }
    /* Defaults and rsLoRA. */
    ad = NULL;
    CHECK(peft_case(t, 4, "{\"peft_type\":\"LORA\",\"target_modules\":"
                          "\"all-linear\"}",
                    &ad, &err) == FTSB_OK);
    if (ad) {
        CHECK(ad->alpha == 8.0f);
        lm_adapter_free(ad);
    }
    ad = NULL;
    CHECK(peft_case(t, 4, "{\"peft_type\":\"LORA\",\"target_modules\":"
                          "[\"model.layers.0.self_attn.q_proj\", "
                          "\"down_proj\"],"
                          "\"lora_alpha\":16,\"use_rslora\":true,"
                          "\"base_model_name_or_path\":\"meta/x\"}",
                    &ad, &err) == FTSB_OK);
    if (ad) {
        /* scale alpha / r must equal PEFT's alpha / sqrt(r). */
        CHECK(fabsf(lm_adapter_scale(ad) - 16.0f / sqrtf(2.0f)) < 1e-5f);
        CHECK_STR(lm_adapter_get_meta(ad, "base_model_name_or_path"),
                  "meta/x");
        lm_adapter_free(ad);
    }

    CASE(4, "{\"r\":2,\"target_modules\":[\"q_proj\"]}", FTSB_E_FORMAT,
         "'case.json' has no peft_type (expected 'LORA')");
    CASE(4, "{\"peft_type\":\"LOHA\",\"target_modules\":[\"q_proj\"]}",
         FTSB_E_UNSUPPORTED, "'case.json': peft_type 'LOHA' is not supported");
    CASE(4, "{\"peft_type\":\"LORA\"}", FTSB_E_FORMAT,
         "'case.json' has no target_modules");
    CASE(4, "{\"peft_type\":\"LORA\",\"target_modules\":[\"q_proj\","
            "\"embed_tokens\"]}",
         FTSB_E_UNSUPPORTED,
         "target module 'embed_tokens' is not supported");
    CASE(4, "{\"peft_type\":\"LORA\",\"target_modules\":[\"q_proj\"]}",
         FTSB_E_FORMAT,
         "tensor '" PA(1, "mlp", "down_proj") "' adapts down_proj, which the "
         "config's target_modules does not list");
    CASE(4, "{\"peft_type\":\"LORA\",\"target_modules\":\"all-linear\","
            "\"use_dora\":true}",
         FTSB_E_UNSUPPORTED, "DoRA (use_dora) is not supported");
    CASE(4, "{\"peft_type\":\"LORA\",\"target_modules\":\"all-linear\","
            "\"fan_in_fan_out\":true}",
         FTSB_E_UNSUPPORTED, "fan_in_fan_out");
    CASE(4, "{\"peft_type\":\"LORA\",\"target_modules\":\"all-linear\","
            "\"bias\":\"lora_only\"}",
         FTSB_E_UNSUPPORTED, "bias must be 'none'");
    CASE(4, "{\"peft_type\":\"LORA\",\"target_modules\":\"all-linear\","
            "\"rank_pattern\":{\"q_proj\":4}}",
         FTSB_E_UNSUPPORTED, "rank_pattern");
    CASE(4, "{\"peft_type\":\"LORA\",\"target_modules\":\"all-linear\","
            "\"modules_to_save\":[\"lm_head\"]}",
         FTSB_E_UNSUPPORTED, "modules_to_save");
    CASE(4, "{\"peft_type\":\"LORA\",\"target_modules\":\"all-linear\","
            "\"r\":4}",
         FTSB_E_FORMAT,
         "'case.json' says r = 4, but the tensors of 'case.safetensors' have "
         "rank 2");
    CASE(4, "{\"peft_type\":\"LORA\",\"target_modules\":\"all-linear\","
            "\"r\":2.5}",
         FTSB_E_FORMAT, "r must be an integer from 1 to 65536");
    CASE(4, "{\"peft_type\":\"LORA\",\"target_modules\":\"all-linear\","
            "\"lora_alpha\":\"16\"}",
         FTSB_E_FORMAT, "lora_alpha must be a non-zero finite number");
    CASE(4, "{\"peft_type\":\"LORA\",\"target_modules\":\"all-linear\","
            "\"r\":2,\"r\":8}",
         FTSB_E_FORMAT, "'case.json': key 'r' appears twice");
    CASE(4, "{\"peft_type\":\"LORA\",\"target_modules\":\"all-linear\","
            "\"x\":\"a\\u0000b\"}",
         FTSB_E_FORMAT, "'case.json' contains a NUL character");
    CASE(4, "{\"peft_type\":\"LORA\",", FTSB_E_FORMAT,
         "'case.json' is not valid JSON");
    CASE(4, "[1]", FTSB_E_FORMAT, "'case.json' is not a JSON object");

    CASE(3, good_config, FTSB_E_FORMAT,
         "tensor '" PA(1, "mlp", "down_proj") "' has no partner '"
         PB(1, "mlp", "down_proj") "' (LoRA needs both A and B)");
    memcpy(t, good, sizeof good);
    t[1].shape[1] = 3;
    CASE(2, good_config, FTSB_E_FORMAT,
         "rank mismatch: '" PA(0, "self_attn", "q_proj") "' has shape [2, 8] "
         "(rank 2) but '" PB(0, "self_attn", "q_proj") "' has shape [8, 3] "
         "(rank 3)");
    memcpy(t, good, sizeof good);
    t[0].shape[1] = 12;
    CASE(2, good_config, FTSB_E_INVALID,
         "'" PA(0, "self_attn", "q_proj") "' has shape [2, 12] and '"
         PB(0, "self_attn", "q_proj") "' [8, 2], but the base model's layer "
         "0 q_proj maps 8 -> 8 values");
    memcpy(t, good, sizeof good);
    t[0].dtype = ST_I64;
    CASE(2, good_config, FTSB_E_UNSUPPORTED,
         "has unsupported dtype I64 (F32, F16 or BF16 expected)");
    memcpy(t, good, sizeof good);
    t[4].name = "base_model.model.lm_head.lora_A.weight";
    t[4].dtype = ST_F32;
    t[4].shape[0] = 2;
    t[4].shape[1] = 8;
    CASE(5, good_config, FTSB_E_UNSUPPORTED,
         "tensor 'base_model.model.lm_head.lora_A.weight' is a LoRA on "
         "lm_head");
    t[4].name = "base_model.model.model.layers.0.self_attn.q_proj."
                "lora_magnitude_vector";
    CASE(5, good_config, FTSB_E_UNSUPPORTED, "a DoRA magnitude vector");
    t[4].name = "base_model.model.model.embed_tokens.lora_embedding_A";
    CASE(5, good_config, FTSB_E_UNSUPPORTED, "an embedding LoRA");
    t[4].name = PA(0, "mlp", "q_proj");
    CASE(5, good_config, FTSB_E_UNSUPPORTED,
         "is not a LoRA tensor of a Llama projection");
    t[4].name = "base_model.model.model.layers.0.self_attn.q_proj.lora_A."
                "default.weight";
    CASE(5, good_config, FTSB_E_UNSUPPORTED,
         "is not a LoRA tensor of a Llama projection");
    t[4].name = PA(2, "self_attn", "q_proj");
    CASE(5, good_config, FTSB_E_INVALID,
         "is for layer 2, but the base model has 2 layers");
    CASE(0, good_config, FTSB_E_FORMAT, "'case.safetensors' holds no LoRA "
                                        "tensors");
#undef CASE
}

/* A PEFT adapter saved and loaded again, with a missing layer and alpha 0
 * (llama.cpp's "no scaling", which PEFT writes as lora_alpha = r). */
TEST(peft_round_trip_partial)
{
    struct lm_err err;
    struct lm_adapter *ad = random_adapter(&tiny, 3, 0.0f, LM_LORA_ALL);
    struct lm_adapter *back = NULL;
    char *dir = make_tmpdir(), cpath[200];
    char *text;
    size_t len;

    if (!ad || !dir)
        return;
    for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
        struct lm_lora_pair *p = lm_adapter_pair(ad, 0, t);
        free(p->a);
        free(p->b);
        p->a = p->b = NULL;
    }
    lm_adapter_set_meta(ad, "base_model_name_or_path", "a \"quoted\" name",
                        &err);
    CHECK(lm_adapter_save_peft(ad, dir, &tiny, LM_ADAPTER_DTYPE_AUTO, &err) ==
          FTSB_OK);
    snprintf(cpath, sizeof cpath, "%s/adapter_config.json", dir);
    text = read_all(cpath, &len);
    CHECK(text && strstr(text, "\"layers_to_transform\": [1]"));
    CHECK(text && strstr(text, "\"lora_alpha\": 3,"));
    CHECK(text && strstr(text, "\"r\": 3,"));
    CHECK(text && strstr(text, "\"base_model_name_or_path\": "
                               "\"a \\\"quoted\\\" name\""));
    free(text);
    CHECK(lm_adapter_load_peft(dir, &tiny, &back, &err) == FTSB_OK);
    if (back) {
        CHECK(same_adapter(ad, back));
        CHECK(lm_adapter_scale(back) == lm_adapter_scale(ad));
        CHECK_STR(lm_adapter_get_meta(back, "base_model_name_or_path"),
                  "a \"quoted\" name");
    }
    lm_adapter_free(back);
    back = NULL;
    /* A missing directory or config is an I/O error naming the path. */
    CHECK(lm_adapter_load_peft("/nonexistent-ftsb", &tiny, &back, &err) ==
          FTSB_E_IO);
    CHECK_CONTAINS(err.msg, "/nonexistent-ftsb/adapter_config.json");
    CHECK(lm_adapter_save_peft(ad, dir, NULL, LM_F32, &err) ==
          FTSB_E_INVALID);
    CHECK(lm_adapter_save_peft(ad, dir, &tiny, LM_Q8_0, &err) ==
          FTSB_E_INVALID);
    lm_adapter_free(ad);
    rm_rf(dir);
}

/* GGUF save/load of a fresh adapter, F16, through the file. */
TEST(gguf_round_trip_random)
{
    struct lm_err err;
    unsigned targets = (1u << LM_LORA_K) | (1u << LM_LORA_UP);
    struct lm_adapter *ad = random_adapter(&tiny, 2, 5.0f, targets);
    struct lm_adapter *back = NULL;
    char *dir = make_tmpdir(), path[200];

    if (!ad || !dir)
        return;
    lm_adapter_set_meta(ad, "adapter.lora.task_name", "demo", &err);
    lm_adapter_set_meta(ad, "general.alignment", "not a number", &err);
    snprintf(path, sizeof path, "%s/a.gguf", dir);
    CHECK(lm_adapter_save_gguf(ad, path, LM_F32, &err) == FTSB_OK);
    CHECK(lm_adapter_load_gguf(path, &tiny, &back, &err) == FTSB_OK);
    if (back) {
        CHECK(same_adapter(ad, back));
        CHECK(back->alpha == 5.0f);
        CHECK_STR(lm_adapter_get_meta(back, "adapter.lora.task_name"), "demo");
        lm_adapter_free(back);
        back = NULL;
    }
    CHECK(lm_adapter_save_gguf(ad, path, LM_F16, &err) == FTSB_OK);
    CHECK(lm_adapter_load_gguf(path, NULL, &back, &err) == FTSB_OK);
    if (back) {
        const struct lm_lora_pair *p = lm_adapter_pair(ad, 1, LM_LORA_UP);
        const struct lm_lora_pair *q = lm_adapter_pair(back, 1, LM_LORA_UP);
        CHECK_INT(back->dtype, LM_F16);
        CHECK(q->b[7] == lm_f16_to_f32(lm_f32_to_f16(p->b[7])));
        lm_adapter_free(back);
    }
    lm_adapter_free(ad);
    rm_rf(dir);
}

/* Q8_0 and F16 tensors, from a buffer at an odd address (the loader then
 * converts through an aligned copy) and from an aligned one. */
TEST(gguf_q8_0_and_unaligned)
{
    static const struct lm_adapter_base base32 = {
        .arch = "llama", .n_layer = 1, .n_embd = 32, .n_ff = 64,
        .n_head = 2, .n_head_kv = 2,
    };
    enum { R = 32, N = 32 * R };
    float a[N], b[N], want_a[N], want_b[N];
    struct lm_block_q8_0 qa[N / 32];
    uint16_t hb[N];
    int64_t ne[2] = {32, R};
    struct lm_err err;
    struct gguf_writer *w;
    uint8_t *mem = NULL, *odd;
    size_t size;

    for (int i = 0; i < N; i++) {
        a[i] = rnd();
        b[i] = rnd();
    }
    lm_f32_to_q8_0_row(qa, a, N);
    lm_q8_0_to_f32_row(want_a, qa, N);
    lm_f32_to_f16_row(hb, b, N);
    lm_f16_to_f32_row(want_b, hb, N);
    gguf_writer_new(&w, &err);
    gguf_w_str(w, "general.type", "adapter", 7, &err);
    gguf_w_str(w, "general.architecture", "llama", 5, &err);
    gguf_w_str(w, "adapter.type", "lora", 4, &err);
    gguf_w_f32(w, "adapter.lora.alpha", 64.0f, &err);
    CHECK(gguf_w_tensor(w, "blk.0.attn_q.weight.lora_a", GGUF_TENSOR_Q8_0, 2,
                        ne, qa, sizeof qa, &err) == FTSB_OK);
    CHECK(gguf_w_tensor(w, "blk.0.attn_q.weight.lora_b", GGUF_TENSOR_F16, 2,
                        ne, hb, sizeof hb, &err) == FTSB_OK);
    CHECK(gguf_w_save_mem(w, &mem, &size, &err) == FTSB_OK);
    gguf_writer_free(w);
    if (!mem)
        return;
    odd = malloc(size + 1);
    memcpy(odd + 1, mem, size);
    for (int k = 0; k < 2; k++) {
        struct gguf_file *f = NULL;
        struct lm_adapter *ad = NULL;
        const uint8_t *buf = k ? odd + 1 : mem;
        CHECK(gguf_open_mem(buf, size, "q8.gguf", &f, &err) == FTSB_OK);
        if (f && lm_adapter_from_gguf(f, &base32, &ad, &err) == FTSB_OK) {
            const struct lm_lora_pair *p = lm_adapter_pair(ad, 0, LM_LORA_Q);
            CHECK(memcmp(p->a, want_a, sizeof want_a) == 0);
            CHECK(memcmp(p->b, want_b, sizeof want_b) == 0);
            CHECK_INT(ad->dtype, LM_F32); /* Q8_0 and F16 mixed */
            CHECK(lm_adapter_scale(ad) == 2.0f);
            lm_adapter_free(ad);
        } else {
            printf("  %s\n", err.msg);
            CHECK(0);
        }
        gguf_close(f);
    }
    free(odd);
    free(mem);
}

/* Seeds for the fuzz target: PEFT files on the fuzz base. */
static int write_seeds(const char *dir)
{
    struct lm_err err;
    char sub[4096], from[4200], to[4200];
    struct lm_adapter *ad;
    int32_t dtypes[3] = {LM_F32, LM_F16, LM_BF16};

    for (int i = 0; i < 3; i++) {
        ad = random_adapter(&tiny, 2, 4.0f,
                            i == 0 ? LM_LORA_ALL
                                   : (1u << LM_LORA_Q) | (1u << LM_LORA_V));
        snprintf(sub, sizeof sub, "%s/peft_tmp", dir);
        /* The fuzz target reads its config from this key when present. */
        if (ad && i == 1)
            lm_adapter_set_meta(ad, "fuzz_config",
                                "{\"peft_type\": \"LORA\", \"r\": 2, "
                                "\"lora_alpha\": 16, \"use_rslora\": true, "
                                "\"bias\": \"none\", \"rank_pattern\": {}, "
                                "\"target_modules\": [\"q_proj\", "
                                "\"v_proj\"]}",
                                &err);
        if (!ad || lm_adapter_save_peft(ad, sub, &tiny, dtypes[i], &err)) {
            printf("%s\n", err.msg);
            return 1;
        }
        snprintf(from, sizeof from, "%s/adapter_model.safetensors", sub);
        snprintf(to, sizeof to, "%s/peft_%d.safetensors", dir, i);
        rename(from, to);
        snprintf(from, sizeof from, "%s/adapter_config.json", sub);
        unlink(from);
        rmdir(sub);
        lm_adapter_free(ad);
    }
    /* GGUF adapters on the same base: F32 on every target, F16 on two. */
    for (int i = 0; i < 2; i++) {
        ad = random_adapter(&tiny, 2, 4.0f,
                            i == 0 ? LM_LORA_ALL
                                   : (1u << LM_LORA_K) | (1u << LM_LORA_O));
        snprintf(to, sizeof to, "%s/gguf_%d.gguf", dir, i);
        if (!ad || lm_adapter_save_gguf(ad, to, i ? LM_F16 : LM_F32, &err)) {
            printf("%s\n", err.msg);
            return 1;
        }
        lm_adapter_free(ad);
    }
    /* Alignment 1 and a name of the right length put the F16 data at an
     * odd file offset: the loader's unaligned path. */
    for (size_t name_len = 1; name_len < 3; name_len++) {
        static const uint16_t h[8 * 2 + 2 * 4];
        int64_t ne_a[2] = {8, 2}, ne_b[2] = {2, 4};
        struct gguf_writer *w;
        struct gguf_file *g = NULL;
        uint8_t *mem = NULL;
        size_t size;
        FILE *fp;

        gguf_writer_new(&w, &err);
        gguf_w_str(w, "general.type", "adapter", 7, &err);
        gguf_w_str(w, "general.architecture", "llama", 5, &err);
        gguf_w_str(w, "general.name", "xx", name_len, &err);
        gguf_w_u32(w, "general.alignment", 1, &err);
        gguf_w_str(w, "adapter.type", "lora", 4, &err);
        gguf_w_f32(w, "adapter.lora.alpha", 4.0f, &err);
        gguf_w_tensor(w, "blk.1.attn_v.weight.lora_a", GGUF_TENSOR_F16, 2,
                      ne_a, h, 32, &err);
        gguf_w_tensor(w, "blk.1.attn_v.weight.lora_b", GGUF_TENSOR_F16, 2,
                      ne_b, h + 16, 16, &err);
        if (gguf_w_save_mem(w, &mem, &size, &err) == FTSB_OK &&
            gguf_open_mem(mem, size, "seed", &g, &err) == FTSB_OK &&
            gguf_data_offset(g) % 2 == 1) {
            snprintf(to, sizeof to, "%s/gguf_align1.gguf", dir);
            if ((fp = fopen(to, "wb"))) {
                fwrite(mem, 1, size, fp);
                fclose(fp);
            }
        }
        gguf_close(g);
        free(mem);
        gguf_writer_free(w);
    }
    printf("wrote seeds to %s\n", dir);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
        return write_seeds(argv[2]);
    RUN(target_names);
    RUN(permutation_hand_example);
    RUN(permutation_formula);
    RUN(new_check_meta_scale);
    RUN(reference_adapters);
    RUN(reference_adapter_wrong_base);
    RUN(gguf_errors);
    RUN(peft_errors);
    RUN(peft_round_trip_partial);
    RUN(gguf_round_trip_random);
    RUN(gguf_q8_0_and_unaligned);
    return test_summary();
}
