/*
 * adapter.c - LoRA adapters: the in-memory form and its two file formats.
 * Each loader works in three steps so that nothing big is allocated for a
 * file that will be refused: it classifies every tensor by name (layer,
 * target, A or B) into a small table bounded by LM_ADAPTER_MAX_LAYERS,
 * checks each pair (both halves present, 2-D, the same rank, the base
 * model's shapes), and only then allocates the F32 matrices and converts
 * the data.  The savers write tensors in layer then target order, A before
 * B, which is the order llama.cpp's converter uses, so a GGUF adapter read
 * and written back gives the same bytes.  The PEFT config is JSON we read
 * with cJSON (it is small and free-form) after refusing the cJSON traps
 * that matter here: duplicate keys (cJSON keeps both and answers with the
 * first) and NUL characters in strings (cJSON cuts the string there).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "adapter.h"
#include "fp16.h"

#define LM_MAX_DIM (1ll << 30)        /* any base dimension */
#define LM_MAX_CONFIG (1u << 20)      /* adapter_config.json bytes */
#define LM_PEFT_PREFIX "base_model.model.model.layers."

static const struct {
    const char *gguf;
    const char *peft;
    const char *module;
} lm_tnames[LM_LORA_N_TARGETS] = {
    {"attn_q", "q_proj", "self_attn"},
    {"attn_k", "k_proj", "self_attn"},
    {"attn_v", "v_proj", "self_attn"},
    {"attn_output", "o_proj", "self_attn"},
    {"ffn_gate", "gate_proj", "mlp"},
    {"ffn_up", "up_proj", "mlp"},
    {"ffn_down", "down_proj", "mlp"},
};

const char *lm_lora_target_gguf(int t)
{
    return t >= 0 && t < LM_LORA_N_TARGETS ? lm_tnames[t].gguf : NULL;
}

const char *lm_lora_target_peft(int t)
{
    return t >= 0 && t < LM_LORA_N_TARGETS ? lm_tnames[t].peft : NULL;
}

const char *lm_lora_target_module(int t)
{
    return t >= 0 && t < LM_LORA_N_TARGETS ? lm_tnames[t].module : NULL;
}

/* ---- the base model ------------------------------------------------------ */

static int64_t lm_head_dim(const struct lm_adapter_base *b)
{
    if (b->head_dim)
        return b->head_dim;
    return b->n_head > 0 && b->n_embd % b->n_head == 0 ? b->n_embd / b->n_head
                                                       : 0;
}

ftsb_status lm_adapter_base_dims(const struct lm_adapter_base *b, int t,
                                 int64_t *n_in, int64_t *n_out,
                                 struct lm_err *err)
{
    int64_t hd = lm_head_dim(b);

    if (b->n_layer < 1 || b->n_layer > LM_ADAPTER_MAX_LAYERS ||
        b->n_embd < 1 || b->n_embd > LM_MAX_DIM || b->n_ff < 1 ||
        b->n_ff > LM_MAX_DIM || b->n_head < 1 || b->n_head > LM_MAX_DIM ||
        b->n_head_kv < 1 || b->n_head % b->n_head_kv != 0 || hd < 2 ||
        hd % 2 != 0 || hd > LM_MAX_DIM || b->head_dim < 0 ||
        t < 0 || t >= LM_LORA_N_TARGETS)
        return lm_fail(err, FTSB_E_INVALID,
                       "bad base model description for an adapter: "
                       "n_layer %" PRId64 " (1..%d), n_embd %" PRId64
                       ", n_ff %" PRId64 ", n_head %" PRId64
                       ", n_head_kv %" PRId64 " (must divide n_head), "
                       "head_dim %" PRId64 " (even)",
                       b->n_layer, LM_ADAPTER_MAX_LAYERS, b->n_embd, b->n_ff,
                       b->n_head, b->n_head_kv, hd);
    switch (t) {
    case LM_LORA_Q: *n_in = b->n_embd; *n_out = b->n_head * hd; break;
    case LM_LORA_K:
    case LM_LORA_V: *n_in = b->n_embd; *n_out = b->n_head_kv * hd; break;
    case LM_LORA_O: *n_in = b->n_head * hd; *n_out = b->n_embd; break;
    case LM_LORA_GATE:
    case LM_LORA_UP: *n_in = b->n_embd; *n_out = b->n_ff; break;
    default: *n_in = b->n_ff; *n_out = b->n_embd; break;
    }
    return FTSB_OK;
}

ftsb_status lm_adapter_base_from_gguf(const struct gguf_file *model,
                                      struct lm_adapter_base *b,
                                      struct lm_err *err)
{
    struct gguf_str arch;
    char key[128];
    int64_t v;
    int64_t n_in, n_out;
    ftsb_status s;

    memset(b, 0, sizeof *b);
    if ((s = gguf_get_str(model, "general.architecture", &arch, err)))
        return s;
    if (arch.len == 0 || arch.len >= sizeof b->arch ||
        memchr(arch.ptr, '\0', arch.len))
        return lm_fail(err, FTSB_E_FORMAT,
                       "'%s': general.architecture is empty, too long or "
                       "holds a NUL",
                       gguf_name(model));
    memcpy(b->arch, arch.ptr, arch.len);
#define LM_GET(field, suffix, optional, dflt)                                 \
    do {                                                                      \
        snprintf(key, sizeof key, "%s." suffix, b->arch);                     \
        if ((optional) && !gguf_find_kv(model, key))                          \
            v = (dflt);                                                       \
        else if ((s = gguf_get_int(model, key, 1, LM_MAX_DIM, &v, err)))     \
            return s;                                                         \
        b->field = v;                                                         \
    } while (0)
    LM_GET(n_layer, "block_count", 0, 0);
    LM_GET(n_embd, "embedding_length", 0, 0);
    LM_GET(n_ff, "feed_forward_length", 0, 0);
    LM_GET(n_head, "attention.head_count", 0, 0);
    LM_GET(n_head_kv, "attention.head_count_kv", 1, b->n_head);
    LM_GET(head_dim, "attention.key_length", 1, 0);
#undef LM_GET
    return lm_adapter_base_dims(b, 0, &n_in, &n_out, err);
}

float lm_adapter_scale(const struct lm_adapter *ad)
{
    return ad->alpha == 0.0f ? 1.0f : ad->alpha / (float)ad->rank;
}

/* ---- the in-memory adapter ---------------------------------------------- */

static ftsb_status lm_nomem(struct lm_err *err)
{
    return lm_fail(err, FTSB_E_NOMEM, "out of memory (LoRA adapter)");
}

static ftsb_status lm_ad_alloc(int64_t n_layer, struct lm_adapter **out,
                               struct lm_err *err)
{
    struct lm_adapter *ad = calloc(1, sizeof *ad);

    if (ad)
        ad->pairs = calloc((size_t)n_layer * LM_LORA_N_TARGETS,
                           sizeof *ad->pairs);
    if (!ad || !ad->pairs) {
        free(ad);
        return lm_nomem(err);
    }
    ad->n_layer = n_layer;
    ad->dtype = LM_F32;
    *out = ad;
    return FTSB_OK;
}

/* A and B of one pair, zeroed; sizes were checked against the base or the
 * file, and are checked again here against size_t. */
static ftsb_status lm_pair_alloc(struct lm_lora_pair *p, int64_t n_in,
                                 int64_t n_out, int64_t r, struct lm_err *err)
{
    size_t na, nb;

    if (__builtin_mul_overflow((size_t)n_in, (size_t)r, &na) ||
        __builtin_mul_overflow((size_t)n_out, (size_t)r, &nb) ||
        na > SIZE_MAX / sizeof(float) || nb > SIZE_MAX / sizeof(float))
        return lm_nomem(err);
    p->a = calloc(na ? na : 1, sizeof(float));
    p->b = calloc(nb ? nb : 1, sizeof(float));
    if (!p->a || !p->b) {
        free(p->a);
        free(p->b);
        p->a = p->b = NULL;
        return lm_nomem(err);
    }
    p->n_in = n_in;
    p->n_out = n_out;
    return FTSB_OK;
}

void lm_adapter_free(struct lm_adapter *ad)
{
    if (!ad)
        return;
    if (ad->pairs) {
        for (int64_t i = 0; i < ad->n_layer * LM_LORA_N_TARGETS; i++) {
            free(ad->pairs[i].a);
            free(ad->pairs[i].b);
        }
    }
    for (size_t i = 0; i < ad->n_meta; i++) {
        free(ad->meta[i].key);
        free(ad->meta[i].value);
    }
    free(ad->meta);
    free(ad->pairs);
    free(ad);
}

ftsb_status lm_adapter_new(const struct lm_adapter_base *base, int64_t rank,
                           float alpha, unsigned targets,
                           struct lm_adapter **out, struct lm_err *err)
{
    struct lm_adapter *ad;
    int64_t n_in, n_out;
    ftsb_status s;

    *out = NULL;
    if ((s = lm_adapter_base_dims(base, 0, &n_in, &n_out, err)))
        return s;
    if (rank < 1 || rank > LM_ADAPTER_MAX_RANK || !isfinite(alpha) ||
        targets == 0 || (targets & ~LM_LORA_ALL))
        return lm_fail(err, FTSB_E_INVALID,
                       "LoRA: rank %" PRId64 " must be 1..%d, alpha finite, "
                       "and the targets a non-empty set of q/k/v/o/gate/up/"
                       "down",
                       rank, LM_ADAPTER_MAX_RANK);
    if ((s = lm_ad_alloc(base->n_layer, &ad, err)))
        return s;
    snprintf(ad->arch, sizeof ad->arch, "%s", base->arch);
    ad->rank = rank;
    ad->alpha = alpha;
    for (int64_t l = 0; l < base->n_layer; l++) {
        for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
            if (!(targets & (1u << t)))
                continue;
            lm_adapter_base_dims(base, t, &n_in, &n_out, err);
            if ((s = lm_pair_alloc(lm_adapter_pair(ad, l, t), n_in, n_out,
                                   rank, err))) {
                lm_adapter_free(ad);
                return s;
            }
        }
    }
    *out = ad;
    return FTSB_OK;
}

ftsb_status lm_adapter_check(const struct lm_adapter *ad,
                             const struct lm_adapter_base *base,
                             struct lm_err *err)
{
    int64_t n_in, n_out;
    ftsb_status s;

    if ((s = lm_adapter_base_dims(base, 0, &n_in, &n_out, err)))
        return s;
    if (base->arch[0] && ad->arch[0] && strcmp(base->arch, ad->arch) != 0)
        return lm_fail(err, FTSB_E_INVALID,
                       "the adapter is for architecture '%s', the base "
                       "model is '%s'",
                       ad->arch, base->arch);
    for (int64_t l = 0; l < ad->n_layer; l++) {
        for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
            const struct lm_lora_pair *p = lm_adapter_pair(ad, l, t);
            if (!p->a)
                continue;
            if (l >= base->n_layer)
                return lm_fail(err, FTSB_E_INVALID,
                               "the adapter adapts blk.%" PRId64 ".%s.weight, "
                               "but the base model has %" PRId64 " layers",
                               l, lm_tnames[t].gguf, base->n_layer);
            lm_adapter_base_dims(base, t, &n_in, &n_out, err);
            if (p->n_in != n_in || p->n_out != n_out)
                return lm_fail(err, FTSB_E_INVALID,
                               "the adapter's blk.%" PRId64 ".%s.weight pair "
                               "maps %" PRId64 " -> %" PRId64 " values, the "
                               "base model's projection %" PRId64 " -> "
                               "%" PRId64,
                               l, lm_tnames[t].gguf, p->n_in, p->n_out, n_in,
                               n_out);
        }
    }
    return FTSB_OK;
}

ftsb_status lm_adapter_set_meta(struct lm_adapter *ad, const char *key,
                                const char *value, struct lm_err *err)
{
    struct lm_adapter_meta *m;
    char *v;

    if (!key || !*key || !value)
        return lm_fail(err, FTSB_E_INVALID, "adapter metadata: empty key");
    if (!(v = strdup(value)))
        return lm_nomem(err);
    for (size_t i = 0; i < ad->n_meta; i++) {
        if (strcmp(ad->meta[i].key, key) == 0) {
            free(ad->meta[i].value);
            ad->meta[i].value = v;
            return FTSB_OK;
        }
    }
    m = realloc(ad->meta, (ad->n_meta + 1) * sizeof *m);
    if (!m) {
        free(v);
        return lm_nomem(err);
    }
    ad->meta = m;
    if (!(m[ad->n_meta].key = strdup(key))) {
        free(v);
        return lm_nomem(err);
    }
    m[ad->n_meta].value = v;
    ad->n_meta++;
    return FTSB_OK;
}

const char *lm_adapter_get_meta(const struct lm_adapter *ad, const char *key)
{
    for (size_t i = 0; i < ad->n_meta; i++) {
        if (strcmp(ad->meta[i].key, key) == 0)
            return ad->meta[i].value;
    }
    return NULL;
}

ftsb_status lm_lora_permute_rows(float *dst, const float *src,
                                 int64_t n_rows, int64_t row_len,
                                 int64_t n_head, int to_gguf,
                                 struct lm_err *err)
{
    int64_t hd, half;
    size_t rb;

    if (n_head < 1 || n_rows < 0 || row_len < 0 || n_rows % n_head != 0 ||
        (n_rows / n_head) % 2 != 0 ||
        __builtin_mul_overflow((size_t)row_len, sizeof(float), &rb))
        return lm_fail(err, FTSB_E_INVALID,
                       "cannot permute %" PRId64 " rows as %" PRId64
                       " heads of an even size",
                       n_rows, n_head);
    hd = n_rows / n_head;
    half = hd / 2;
    for (int64_t h = 0; h < n_head; h++) {
        for (int64_t j = 0; j < half; j++) {
            int64_t g0 = h * hd + 2 * j, g1 = g0 + 1;  /* GGUF rows */
            int64_t f0 = h * hd + j, f1 = f0 + half;   /* HF rows */
            if (to_gguf) {
                memcpy(dst + g0 * row_len, src + f0 * row_len, rb);
                memcpy(dst + g1 * row_len, src + f1 * row_len, rb);
            } else {
                memcpy(dst + f0 * row_len, src + g0 * row_len, rb);
                memcpy(dst + f1 * row_len, src + g1 * row_len, rb);
            }
        }
    }
    return FTSB_OK;
}

/* n values of a ggml type to F32.  Data inside files may be unaligned
 * (a caller's buffer); the row functions read uint16_t, so such data goes
 * through an aligned buffer 1024 values at a time. */
static void lm_convert(float *dst, int32_t type, const uint8_t *src,
                       int64_t n)
{
    /* 1024 values: 2048 bytes of F16/BF16, 1088 of Q8_0 (32 blocks). */
    uint16_t buf[1024];
    int64_t step = 1024;

    if (type == LM_F32) {
        memcpy(dst, src, (size_t)n * 4);
        return;
    }
    if ((uintptr_t)src % 2 == 0) {
        lm_to_f32_row(dst, type, src, n);
        return;
    }
    for (int64_t i = 0; i < n; i += step) {
        int64_t k = n - i < step ? n - i : step;
        int64_t off = lm_type_row_bytes(type, i);
        memcpy(buf, src + off, (size_t)lm_type_row_bytes(type, k));
        lm_to_f32_row(dst + i, type, buf, k);
    }
}

/* ---- GGUF LoRA ---------------------------------------------------------- */

/* A pair being collected from a file: the two tensors, by index. */
struct lm_slot {
    int64_t a, b; /* tensor index + 1; 0 = absent */
};

/* Parses up to the next '.' a layer number: digits, no leading zeros. */
static const char *lm_parse_layer(const char *p, int64_t *layer)
{
    int64_t v = 0;
    const char *start = p;

    while (*p >= '0' && *p <= '9') {
        if (p - start >= 9)
            return NULL;
        v = v * 10 + (*p - '0');
        p++;
    }
    if (p == start || *p != '.' || (*start == '0' && p - start > 1))
        return NULL;
    *layer = v;
    return p + 1;
}

static int lm_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* 1: blk.N.<target>.weight.lora_{a,b}; 0: a norm tensor llama.cpp ignores;
 * -1: anything else. */
static int lm_gguf_name(const char *name, int64_t *layer, int *target,
                        int *is_b)
{
    const char *p;
    size_t len;

    if (!lm_ends_with(name, ".weight.lora_a") &&
        !lm_ends_with(name, ".weight.lora_b"))
        return lm_ends_with(name, "_norm.weight") ? 0 : -1;
    if (strncmp(name, "blk.", 4) != 0 ||
        !(p = lm_parse_layer(name + 4, layer)))
        return -1;
    if (strlen(p) <= strlen(".weight.lora_a"))
        return -1;
    len = strlen(p) - strlen(".weight.lora_a");
    *is_b = name[strlen(name) - 1] == 'b';
    for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
        if (strlen(lm_tnames[t].gguf) == len &&
            memcmp(p, lm_tnames[t].gguf, len) == 0) {
            *target = t;
            return 1;
        }
    }
    return -1;
}

/* Keeps the string metadata of a GGUF adapter that is not one of the keys
 * the saver writes itself.  Values with a NUL or invalid UTF-8 cannot be
 * carried as C strings and are skipped. */
static ftsb_status lm_gguf_meta(const struct gguf_file *f,
                                struct lm_adapter *ad, struct lm_err *err)
{
    static const char *const skip[] = {
        "general.type", "general.architecture", "adapter.type",
    };

    for (uint64_t i = 0; i < gguf_n_kv(f); i++) {
        const struct gguf_kv *kv = gguf_kv_at(f, i);
        char *key, *val;
        uint64_t len;
        int reserved = 0;
        ftsb_status s;

        if (kv->type != GGUF_TYPE_STRING)
            continue;
        for (size_t k = 0; k < sizeof skip / sizeof skip[0]; k++)
            reserved |= kv->key.len == strlen(skip[k]) &&
                        memcmp(kv->key.ptr, skip[k], kv->key.len) == 0;
        memcpy(&len, kv->value, 8);
        if (reserved || memchr(kv->value + 8, '\0', (size_t)len) ||
            gguf_utf8_check((const char *)kv->value + 8, (size_t)len) != len)
            continue;
        key = strndup(kv->key.ptr, kv->key.len);
        val = strndup((const char *)kv->value + 8, (size_t)len);
        s = key && val ? lm_adapter_set_meta(ad, key, val, err)
                       : lm_nomem(err);
        free(key);
        free(val);
        if (s)
            return s;
    }
    return FTSB_OK;
}

/* Checks the adapter's own keys: what it is and what it is for. */
static ftsb_status lm_gguf_header(const struct gguf_file *f,
                                  const struct lm_adapter_base *base,
                                  char *arch, float *alpha,
                                  struct lm_err *err)
{
    const char *fn = gguf_name(f);
    const struct gguf_kv *kv;
    struct gguf_str s;
    ftsb_status st;

    if (!(kv = gguf_find_kv(f, "general.type")))
        return lm_fail(err, FTSB_E_FORMAT,
                       "'%s' is not an adapter: it has no general.type, so "
                       "it is a model (an adapter has general.type = "
                       "'adapter')",
                       fn);
    if ((st = gguf_get_str(f, "general.type", &s, err)))
        return st;
    if (s.len != 7 || memcmp(s.ptr, "adapter", 7) != 0)
        return lm_fail(err, FTSB_E_FORMAT,
                       "'%s' is not an adapter: general.type is '%.*s' "
                       "(expected 'adapter')",
                       fn, (int)(s.len > 40 ? 40 : s.len), s.ptr);
    if (!gguf_find_kv(f, "adapter.type"))
        return lm_fail(err, FTSB_E_FORMAT,
                       "'%s': the adapter has no adapter.type (expected "
                       "'lora')",
                       fn);
    if ((st = gguf_get_str(f, "adapter.type", &s, err)))
        return st;
    if (s.len != 4 || memcmp(s.ptr, "lora", 4) != 0)
        return lm_fail(err, FTSB_E_UNSUPPORTED,
                       "'%s': adapter type '%.*s' is not supported (only "
                       "'lora')",
                       fn, (int)(s.len > 40 ? 40 : s.len), s.ptr);
    if (gguf_find_kv(f, "adapter.alora.invocation_tokens"))
        return lm_fail(err, FTSB_E_UNSUPPORTED,
                       "'%s': activated LoRA (aLoRA, "
                       "adapter.alora.invocation_tokens) is not supported",
                       fn);
    if (!gguf_find_kv(f, "general.architecture"))
        return lm_fail(err, FTSB_E_FORMAT,
                       "'%s': the adapter has no general.architecture", fn);
    if ((st = gguf_get_str(f, "general.architecture", &s, err)))
        return st;
    if (s.len == 0 || s.len >= 64 || memchr(s.ptr, '\0', s.len))
        return lm_fail(err, FTSB_E_FORMAT,
                       "'%s': general.architecture is empty, too long or "
                       "holds a NUL",
                       fn);
    memcpy(arch, s.ptr, s.len);
    arch[s.len] = '\0';
    if (base && base->arch[0] && strcmp(arch, base->arch) != 0)
        return lm_fail(err, FTSB_E_INVALID,
                       "'%s': the adapter is for architecture '%s', the "
                       "base model is '%s'",
                       fn, arch, base->arch);
    *alpha = 0.0f;
    if (gguf_find_kv(f, "adapter.lora.alpha")) {
        if ((st = gguf_get_f32(f, "adapter.lora.alpha", alpha, err)))
            return st;
        if (!isfinite(*alpha))
            return lm_fail(err, FTSB_E_FORMAT,
                           "'%s': adapter.lora.alpha is not finite", fn);
    }
    return FTSB_OK;
}

/* Checks one collected pair; sets *rank from the first pair. */
static ftsb_status lm_gguf_pair(const struct gguf_file *f,
                                const struct lm_slot *sl, int64_t l, int t,
                                const struct lm_adapter_base *base,
                                int64_t *rank, struct lm_err *err)
{
    const char *fn = gguf_name(f);
    const struct gguf_tensor *a, *b;
    int64_t r, n_in, n_out;

    if (!sl->a || !sl->b) {
        const struct gguf_tensor *one =
            gguf_tensor_at(f, (uint64_t)(sl->a ? sl->a : sl->b) - 1);
        return lm_fail(err, FTSB_E_FORMAT,
                       "'%s': tensor '%s' has no partner "
                       "'blk.%" PRId64 ".%s.weight.lora_%c' (LoRA needs "
                       "both A and B)",
                       fn, one->name, l, lm_tnames[t].gguf,
                       sl->a ? 'b' : 'a');
    }
    a = gguf_tensor_at(f, (uint64_t)sl->a - 1);
    b = gguf_tensor_at(f, (uint64_t)sl->b - 1);
    if (a->ne[1] != b->ne[0])
        return lm_fail(err, FTSB_E_FORMAT,
                       "'%s': rank mismatch: '%s' has ne [%" PRId64
                       ", %" PRId64 "] (rank %" PRId64 ") but '%s' has ne "
                       "[%" PRId64 ", %" PRId64 "] (rank %" PRId64 ")",
                       fn, a->name, a->ne[0], a->ne[1], a->ne[1], b->name,
                       b->ne[0], b->ne[1], b->ne[0]);
    r = a->ne[1];
    if (r > LM_ADAPTER_MAX_RANK)
        return lm_fail(err, FTSB_E_UNSUPPORTED,
                       "'%s': '%s' has rank %" PRId64 ", above the %d limit",
                       fn, a->name, r, LM_ADAPTER_MAX_RANK);
    if (*rank && r != *rank)
        return lm_fail(err, FTSB_E_UNSUPPORTED,
                       "'%s': '%s' has rank %" PRId64 " but other pairs "
                       "have rank %" PRId64 ": adapters with mixed ranks "
                       "are not supported",
                       fn, a->name, r, *rank);
    *rank = r;
    if (!base)
        return FTSB_OK;
    lm_adapter_base_dims(base, t, &n_in, &n_out, err);
    if (a->ne[0] != n_in || b->ne[1] != n_out)
        return lm_fail(err, FTSB_E_INVALID,
                       "'%s': '%s' has ne [%" PRId64 ", %" PRId64 "] and "
                       "'%s' ne [%" PRId64 ", %" PRId64 "], but the base "
                       "model's blk.%" PRId64 ".%s.weight has ne [%" PRId64
                       ", %" PRId64 "]: lora_a must be [%" PRId64 ", r] and "
                       "lora_b [r, %" PRId64 "]",
                       fn, a->name, a->ne[0], a->ne[1], b->name, b->ne[0],
                       b->ne[1], l, lm_tnames[t].gguf, n_in, n_out, n_in,
                       n_out);
    return FTSB_OK;
}

static int32_t lm_merge_dtype(int32_t have, int32_t type)
{
    if (type != LM_F32 && type != LM_F16 && type != LM_BF16)
        type = LM_F32;
    return have < 0 || have == type ? type : LM_F32;
}

ftsb_status lm_adapter_from_gguf(const struct gguf_file *f,
                                 const struct lm_adapter_base *base,
                                 struct lm_adapter **out, struct lm_err *err)
{
    const char *fn = gguf_name(f);
    struct lm_adapter *ad = NULL;
    struct lm_slot *slots = NULL;
    char arch[64];
    float alpha;
    int64_t max_layer = -1, n_layer, rank = 0, n_in, n_out;
    int32_t dtype = -1;
    ftsb_status s;

    *out = NULL;
    if (base && (s = lm_adapter_base_dims(base, 0, &n_in, &n_out, err)))
        return s;
    if ((s = lm_gguf_header(f, base, arch, &alpha, err)))
        return s;
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const struct gguf_tensor *t = gguf_tensor_at(f, i);
        int64_t layer;
        int target, is_b, k = lm_gguf_name(t->name, &layer, &target, &is_b);

        if (k == 0)
            continue;
        if (k < 0)
            return lm_fail(err, FTSB_E_UNSUPPORTED,
                           "'%s': tensor '%s' is not a LoRA tensor this "
                           "engine applies (supported: blk.N.{attn_q, "
                           "attn_k, attn_v, attn_output, ffn_gate, ffn_up, "
                           "ffn_down}.weight.lora_a / .lora_b)",
                           fn, t->name);
        if (base && layer >= base->n_layer)
            return lm_fail(err, FTSB_E_INVALID,
                           "'%s': tensor '%s' is for layer %" PRId64
                           ", but the base model has %" PRId64 " layers",
                           fn, t->name, layer, base->n_layer);
        if (layer >= LM_ADAPTER_MAX_LAYERS)
            return lm_fail(err, FTSB_E_UNSUPPORTED,
                           "'%s': tensor '%s' is for layer %" PRId64
                           ", past the %d-layer limit",
                           fn, t->name, layer, LM_ADAPTER_MAX_LAYERS);
        if (t->n_dims != 2)
            return lm_fail(err, FTSB_E_FORMAT,
                           "'%s': tensor '%s' has %" PRIu32 " dimensions; "
                           "LoRA tensors are 2-D",
                           fn, t->name, t->n_dims);
        if (!lm_type_supported((int32_t)t->type))
            return lm_fail(err, FTSB_E_UNSUPPORTED,
                           "'%s': tensor '%s' has type %s; LoRA tensors "
                           "must be F32, F16, BF16 or Q8_0",
                           fn, t->name,
                           gguf_tensor_type_name(t->type)
                               ? gguf_tensor_type_name(t->type)
                               : "?");
        if (layer > max_layer)
            max_layer = layer;
    }
    if (max_layer < 0)
        return lm_fail(err, FTSB_E_FORMAT,
                       "'%s' holds no LoRA tensors (X.weight.lora_a and "
                       "X.weight.lora_b)",
                       fn);
    n_layer = base ? base->n_layer : max_layer + 1;
    if (!(slots = calloc((size_t)n_layer * LM_LORA_N_TARGETS, sizeof *slots)))
        return lm_nomem(err);
    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const struct gguf_tensor *t = gguf_tensor_at(f, i);
        int64_t layer;
        int target, is_b;

        if (lm_gguf_name(t->name, &layer, &target, &is_b) == 1) {
            struct lm_slot *sl = &slots[layer * LM_LORA_N_TARGETS + target];
            *(is_b ? &sl->b : &sl->a) = (int64_t)i + 1;
        }
    }
    for (int64_t i = 0; i < n_layer * LM_LORA_N_TARGETS; i++) {
        if ((slots[i].a || slots[i].b) &&
            (s = lm_gguf_pair(f, &slots[i], i / LM_LORA_N_TARGETS,
                              (int)(i % LM_LORA_N_TARGETS), base, &rank,
                              err)))
            goto fail;
    }
    if ((s = lm_ad_alloc(n_layer, &ad, err)))
        goto fail;
    memcpy(ad->arch, arch, sizeof arch);
    ad->rank = rank;
    ad->alpha = alpha;
    for (int64_t i = 0; i < n_layer * LM_LORA_N_TARGETS; i++) {
        const struct gguf_tensor *a, *b;
        const void *da, *db;

        if (!slots[i].a)
            continue;
        a = gguf_tensor_at(f, (uint64_t)slots[i].a - 1);
        b = gguf_tensor_at(f, (uint64_t)slots[i].b - 1);
        if ((s = gguf_tensor_data(f, a, &da, err)) ||
            (s = gguf_tensor_data(f, b, &db, err)) ||
            (s = lm_pair_alloc(&ad->pairs[i], a->ne[0], b->ne[1], rank, err)))
            goto fail;
        lm_convert(ad->pairs[i].a, (int32_t)a->type, da, a->ne[0] * rank);
        lm_convert(ad->pairs[i].b, (int32_t)b->type, db, b->ne[1] * rank);
        dtype = lm_merge_dtype(lm_merge_dtype(dtype, (int32_t)a->type),
                               (int32_t)b->type);
    }
    ad->dtype = dtype;
    if ((s = lm_gguf_meta(f, ad, err)))
        goto fail;
    free(slots);
    *out = ad;
    return FTSB_OK;
fail:
    free(slots);
    lm_adapter_free(ad);
    return s;
}

ftsb_status lm_adapter_load_gguf(const char *path,
                                 const struct lm_adapter_base *base,
                                 struct lm_adapter **out, struct lm_err *err)
{
    struct gguf_file *f;
    ftsb_status s;

    *out = NULL;
    if ((s = gguf_open(path, &f, err)))
        return s;
    s = lm_adapter_from_gguf(f, base, out, err);
    gguf_close(f);
    return s;
}

/* ---- saving: converted copies that live until the file is written ------ */

struct lm_keep {
    void **p;
    size_t n, cap;
};

static void lm_keep_free(struct lm_keep *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->p[i]);
    free(k->p);
}

/* Takes ownership of p (freed now if it cannot be kept). */
static ftsb_status lm_keep_add(struct lm_keep *k, void *p, struct lm_err *err)
{
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 64;
        void **q = realloc(k->p, cap * sizeof *q);
        if (!q) {
            free(p);
            return lm_nomem(err);
        }
        k->p = q;
        k->cap = cap;
    }
    k->p[k->n++] = p;
    return FTSB_OK;
}

/* n F32 values as dtype: the values themselves for F32, else a converted
 * copy owned by k. */
static ftsb_status lm_as_dtype(struct lm_keep *k, const float *x, int64_t n,
                               int32_t dtype, const void **out,
                               uint64_t *nbytes, struct lm_err *err)
{
    uint16_t *y;

    if (dtype == LM_F32) {
        *out = x;
        *nbytes = (uint64_t)n * 4;
        return FTSB_OK;
    }
    if (!(y = malloc((size_t)(n ? n : 1) * 2)))
        return lm_nomem(err);
    if (dtype == LM_F16)
        lm_f32_to_f16_row(y, x, n);
    else
        lm_f32_to_bf16_row(y, x, n);
    *out = y;
    *nbytes = (uint64_t)n * 2;
    return lm_keep_add(k, y, err);
}

static ftsb_status lm_save_dtype(const struct lm_adapter *ad, int32_t *dtype,
                                 struct lm_err *err)
{
    if (*dtype == LM_ADAPTER_DTYPE_AUTO)
        *dtype = ad->dtype;
    if (*dtype != LM_F32 && *dtype != LM_F16 && *dtype != LM_BF16)
        return lm_fail(err, FTSB_E_INVALID,
                       "adapters are saved as F32, F16 or BF16, not type %d",
                       (int)*dtype);
    if (ad->rank < 1 || ad->rank > LM_ADAPTER_MAX_RANK)
        return lm_fail(err, FTSB_E_INVALID, "the adapter's rank %" PRId64
                       " is out of range", ad->rank);
    return FTSB_OK;
}

ftsb_status lm_adapter_save_gguf(const struct lm_adapter *ad,
                                 const char *path, int32_t dtype,
                                 struct lm_err *err)
{
    static const char *const reserved[] = {
        "general.type", "general.architecture", "general.name",
        "general.file_type", "general.alignment", "adapter.type",
        "adapter.lora.alpha",
    };
    struct gguf_writer *w = NULL;
    struct lm_keep keep = {0};
    const char *name = lm_adapter_get_meta(ad, "general.name");
    ftsb_status s;

    if ((s = lm_save_dtype(ad, &dtype, err)) ||
        (s = gguf_writer_new(&w, err)))
        return s;
    if ((s = gguf_w_str(w, "general.type", "adapter", 7, err)) ||
        (s = gguf_w_str(w, "general.architecture", ad->arch,
                        strlen(ad->arch), err)) ||
        (name && (s = gguf_w_str(w, "general.name", name, strlen(name),
                                 err))) ||
        (s = gguf_w_u32(w, "general.file_type",
                        dtype == LM_F32 ? 0 : dtype == LM_F16 ? 1 : 32,
                        err)) ||
        (s = gguf_w_u32(w, "general.alignment", GGUF_DEFAULT_ALIGNMENT,
                        err)) ||
        (s = gguf_w_str(w, "adapter.type", "lora", 4, err)) ||
        (s = gguf_w_f32(w, "adapter.lora.alpha", ad->alpha, err)))
        goto done;
    for (size_t i = 0; i < ad->n_meta; i++) {
        int skip = 0;
        for (size_t k = 0; k < sizeof reserved / sizeof reserved[0]; k++)
            skip |= strcmp(ad->meta[i].key, reserved[k]) == 0;
        if (!skip && (s = gguf_w_str(w, ad->meta[i].key, ad->meta[i].value,
                                     strlen(ad->meta[i].value), err)))
            goto done;
    }
    for (int64_t l = 0; l < ad->n_layer; l++) {
        for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
            const struct lm_lora_pair *p = lm_adapter_pair(ad, l, t);
            char tn[GGUF_MAX_NAME + 1];
            int64_t ne_a[2] = {p->n_in, ad->rank};
            int64_t ne_b[2] = {ad->rank, p->n_out};
            const void *da, *db;
            uint64_t na, nb;

            if (!p->a)
                continue;
            if ((s = lm_as_dtype(&keep, p->a, p->n_in * ad->rank, dtype, &da,
                                 &na, err)) ||
                (s = lm_as_dtype(&keep, p->b, p->n_out * ad->rank, dtype,
                                 &db, &nb, err)))
                goto done;
            snprintf(tn, sizeof tn, "blk.%" PRId64 ".%s.weight.lora_a", l,
                     lm_tnames[t].gguf);
            if ((s = gguf_w_tensor(w, tn, (uint32_t)dtype, 2, ne_a, da, na,
                                   err)))
                goto done;
            tn[strlen(tn) - 1] = 'b';
            if ((s = gguf_w_tensor(w, tn, (uint32_t)dtype, 2, ne_b, db, nb,
                                   err)))
                goto done;
        }
    }
    s = gguf_w_save(w, path, err);
done:
    gguf_writer_free(w);
    lm_keep_free(&keep);
    return s;
}

/* ---- PEFT --------------------------------------------------------------- */

/* 1: base_model.model.model.layers.N.<module>.<proj>.lora_{A,B}.weight;
 * -1 anything else, with *why saying what it looks like. */
static int lm_peft_name(const char *name, int64_t *layer, int *target,
                        int *is_b, const char **why)
{
    const char *p;

    *why = "not a LoRA tensor of a Llama projection";
    if (strstr(name, "lora_magnitude_vector"))
        *why = "a DoRA magnitude vector (DoRA is not supported)";
    else if (strstr(name, "lora_embedding_"))
        *why = "an embedding LoRA (only the seven projections are supported)";
    else if (strstr(name, "lm_head"))
        *why = "a LoRA on lm_head (only the seven projections are supported)";
    if (strncmp(name, LM_PEFT_PREFIX, strlen(LM_PEFT_PREFIX)) != 0 ||
        !(p = lm_parse_layer(name + strlen(LM_PEFT_PREFIX), layer)))
        return -1;
    for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
        size_t ml = strlen(lm_tnames[t].module), pl = strlen(lm_tnames[t].peft);
        if (strncmp(p, lm_tnames[t].module, ml) != 0 || p[ml] != '.' ||
            strncmp(p + ml + 1, lm_tnames[t].peft, pl) != 0)
            continue;
        p += ml + 1 + pl;
        if (strcmp(p, ".lora_A.weight") == 0 ||
            strcmp(p, ".lora_B.weight") == 0) {
            *target = t;
            *is_b = p[6] == 'B';
            return 1;
        }
        return -1;
    }
    return -1;
}

/* The config, checked: see lm_adapter_from_peft in adapter.h. */
struct lm_peft_cfg {
    int64_t r;         /* 0: not given */
    double alpha;
    int rslora;
    unsigned targets;  /* mask; LM_LORA_ALL for a pattern string */
    char *base_model;  /* or NULL */
};

static const cJSON *lm_cfg_get(const cJSON *root, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(root, key);
}

static ftsb_status lm_cfg_bool(const cJSON *root, const char *key, int *out,
                               const char *name, struct lm_err *err)
{
    const cJSON *v = lm_cfg_get(root, key);

    *out = 0;
    if (!v || cJSON_IsNull(v))
        return FTSB_OK;
    if (!cJSON_IsBool(v))
        return lm_fail(err, FTSB_E_FORMAT, "'%s': %s must be true or false",
                       name, key);
    *out = cJSON_IsTrue(v);
    return FTSB_OK;
}

/* A target_modules entry: the projection name, possibly qualified. */
static int lm_cfg_target(const char *s)
{
    const char *dot = strrchr(s, '.');
    const char *last = dot ? dot + 1 : s;

    for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
        if (strcmp(last, lm_tnames[t].peft) == 0)
            return t;
    }
    return -1;
}

/* "\u0000" anywhere in the text (cJSON would cut the string there). */
static int lm_has_escaped_nul(const char *text, size_t len)
{
    for (size_t i = 0; i + 6 <= len; i++) {
        if (text[i] == '\\' && memcmp(text + i + 1, "u0000", 5) == 0)
            return 1;
    }
    return 0;
}

static ftsb_status lm_peft_config(const char *text, size_t len,
                                  const char *name, struct lm_peft_cfg *c,
                                  struct lm_err *err)
{
    cJSON *root;
    const cJSON *v, *e;
    int n = 0, flag;
    ftsb_status s = FTSB_OK;

    memset(c, 0, sizeof *c);
    c->alpha = 8; /* PEFT's default lora_alpha */
    if (len > LM_MAX_CONFIG)
        return lm_fail(err, FTSB_E_FORMAT,
                       "'%s' is %zu bytes, over the %u-byte limit for an "
                       "adapter config",
                       name, len, LM_MAX_CONFIG);
    /* cJSON would cut strings at a NUL: refuse them, raw or escaped. */
    if (memchr(text, '\0', len) || lm_has_escaped_nul(text, len))
        return lm_fail(err, FTSB_E_FORMAT, "'%s' contains a NUL character",
                       name);
    if (!(root = cJSON_ParseWithLength(text, len)))
        return lm_fail(err, FTSB_E_FORMAT, "'%s' is not valid JSON", name);
    if (!cJSON_IsObject(root)) {
        s = lm_fail(err, FTSB_E_FORMAT, "'%s' is not a JSON object", name);
        goto done;
    }
    for (e = root->child; e; e = e->next, n++) {
        if (n > 1000) {
            s = lm_fail(err, FTSB_E_FORMAT, "'%s' has too many keys", name);
            goto done;
        }
        for (v = root->child; v != e; v = v->next) {
            if (strcmp(v->string, e->string) == 0) {
                s = lm_fail(err, FTSB_E_FORMAT,
                            "'%s': key '%.60s' appears twice", name,
                            e->string);
                goto done;
            }
        }
    }
#define LM_CFG_FAIL(code, ...)                                                \
    do {                                                                      \
        s = lm_fail(err, code, __VA_ARGS__);                                  \
        goto done;                                                            \
    } while (0)
    v = lm_cfg_get(root, "peft_type");
    if (!v)
        LM_CFG_FAIL(FTSB_E_FORMAT, "'%s' has no peft_type (expected 'LORA')",
                    name);
    if (!cJSON_IsString(v) || strcmp(v->valuestring, "LORA") != 0)
        LM_CFG_FAIL(FTSB_E_UNSUPPORTED,
                    "'%s': peft_type %.40s%s%s is not supported (only "
                    "'LORA')",
                    name, cJSON_IsString(v) ? "'" : "",
                    cJSON_IsString(v) ? v->valuestring : "(not a string)",
                    cJSON_IsString(v) ? "'" : "");
    if ((v = lm_cfg_get(root, "r")) && !cJSON_IsNull(v)) {
        double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (!(d >= 1 && d <= LM_ADAPTER_MAX_RANK) || d != floor(d))
            LM_CFG_FAIL(FTSB_E_FORMAT,
                        "'%s': r must be an integer from 1 to %d", name,
                        LM_ADAPTER_MAX_RANK);
        c->r = (int64_t)d;
    }
    if ((v = lm_cfg_get(root, "lora_alpha")) && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
            v->valuedouble == 0 || fabs(v->valuedouble) > 1e30)
            LM_CFG_FAIL(FTSB_E_FORMAT,
                        "'%s': lora_alpha must be a non-zero finite number",
                        name);
        c->alpha = v->valuedouble;
    }
    if ((s = lm_cfg_bool(root, "use_rslora", &c->rslora, name, err)) ||
        (s = lm_cfg_bool(root, "use_dora", &flag, name, err)))
        goto done;
    if (flag)
        LM_CFG_FAIL(FTSB_E_UNSUPPORTED, "'%s': DoRA (use_dora) is not "
                                        "supported", name);
    if ((s = lm_cfg_bool(root, "fan_in_fan_out", &flag, name, err)))
        goto done;
    if (flag)
        LM_CFG_FAIL(FTSB_E_UNSUPPORTED,
                    "'%s': fan_in_fan_out (GPT-2 Conv1D layout) is not "
                    "supported for Llama",
                    name);
    if ((v = lm_cfg_get(root, "bias")) && !cJSON_IsNull(v) &&
        (!cJSON_IsString(v) || strcmp(v->valuestring, "none") != 0))
        LM_CFG_FAIL(FTSB_E_UNSUPPORTED,
                    "'%s': bias must be 'none' (trained biases are not "
                    "supported)",
                    name);
    if (((v = lm_cfg_get(root, "rank_pattern")) && cJSON_IsObject(v) &&
         v->child) ||
        ((v = lm_cfg_get(root, "alpha_pattern")) && cJSON_IsObject(v) &&
         v->child))
        LM_CFG_FAIL(FTSB_E_UNSUPPORTED,
                    "'%s': per-module ranks or alphas (rank_pattern, "
                    "alpha_pattern) are not supported",
                    name);
    if ((v = lm_cfg_get(root, "modules_to_save")) && cJSON_IsArray(v) &&
        v->child)
        LM_CFG_FAIL(FTSB_E_UNSUPPORTED,
                    "'%s': modules_to_save (fully trained modules) is not "
                    "supported",
                    name);
    v = lm_cfg_get(root, "target_modules");
    if (!v)
        LM_CFG_FAIL(FTSB_E_FORMAT, "'%s' has no target_modules", name);
    if (cJSON_IsString(v)) {
        c->targets = LM_LORA_ALL; /* a pattern: the tensors will tell */
    } else if (cJSON_IsArray(v)) {
        cJSON_ArrayForEach(e, v) {
            int t = cJSON_IsString(e) ? lm_cfg_target(e->valuestring) : -2;
            if (t == -2)
                LM_CFG_FAIL(FTSB_E_FORMAT,
                            "'%s': target_modules must hold strings", name);
            if (t < 0)
                LM_CFG_FAIL(FTSB_E_UNSUPPORTED,
                            "'%s': target module '%.60s' is not supported "
                            "(supported: q_proj, k_proj, v_proj, o_proj, "
                            "gate_proj, up_proj, down_proj)",
                            name, e->valuestring);
            c->targets |= 1u << t;
        }
    } else {
        LM_CFG_FAIL(FTSB_E_FORMAT,
                    "'%s': target_modules must be a list of names or a "
                    "pattern string",
                    name);
    }
    if ((v = lm_cfg_get(root, "base_model_name_or_path")) &&
        cJSON_IsString(v) && v->valuestring[0] &&
        !(c->base_model = strdup(v->valuestring)))
        s = lm_nomem(err);
#undef LM_CFG_FAIL
done:
    cJSON_Delete(root);
    return s;
}

/* Checks one pair of a PEFT file and sets *rank from the first pair. */
static ftsb_status lm_peft_pair(const struct st_file *st,
                                const struct st_tensor *a,
                                const struct st_tensor *b, int64_t l, int t,
                                const struct lm_adapter_base *base,
                                int64_t *rank, struct lm_err *err)
{
    const char *fn = st_name(st);
    int64_t n_in, n_out, r;

    if (!a || !b)
        return lm_fail(err, FTSB_E_FORMAT,
                       "'%s': tensor '%s' has no partner '" LM_PEFT_PREFIX
                       "%" PRId64 ".%s.%s.lora_%c.weight' (LoRA needs both "
                       "A and B)",
                       fn, (a ? a : b)->name, l, lm_tnames[t].module,
                       lm_tnames[t].peft, a ? 'B' : 'A');
    if (a->shape[0] != b->shape[1])
        return lm_fail(err, FTSB_E_FORMAT,
                       "'%s': rank mismatch: '%s' has shape [%" PRIu64
                       ", %" PRIu64 "] (rank %" PRIu64 ") but '%s' has shape "
                       "[%" PRIu64 ", %" PRIu64 "] (rank %" PRIu64 ")",
                       fn, a->name, a->shape[0], a->shape[1], a->shape[0],
                       b->name, b->shape[0], b->shape[1], b->shape[1]);
    if (a->shape[0] < 1 || a->shape[0] > LM_ADAPTER_MAX_RANK)
        return lm_fail(err, FTSB_E_UNSUPPORTED,
                       "'%s': '%s' has rank %" PRIu64 " (1..%d supported)",
                       fn, a->name, a->shape[0], LM_ADAPTER_MAX_RANK);
    r = (int64_t)a->shape[0];
    if (*rank && r != *rank)
        return lm_fail(err, FTSB_E_UNSUPPORTED,
                       "'%s': '%s' has rank %" PRId64 " but other pairs "
                       "have rank %" PRId64 ": adapters with mixed ranks "
                       "are not supported",
                       fn, a->name, r, *rank);
    *rank = r;
    lm_adapter_base_dims(base, t, &n_in, &n_out, err);
    if (a->shape[1] != (uint64_t)n_in || b->shape[0] != (uint64_t)n_out)
        return lm_fail(err, FTSB_E_INVALID,
                       "'%s': '%s' has shape [%" PRIu64 ", %" PRIu64 "] and "
                       "'%s' [%" PRIu64 ", %" PRIu64 "], but the base "
                       "model's layer %" PRId64 " %s maps %" PRId64 " -> "
                       "%" PRId64 " values: lora_A must be [r, %" PRId64
                       "] and lora_B [%" PRId64 ", r]",
                       fn, a->name, a->shape[0], a->shape[1], b->name,
                       b->shape[0], b->shape[1], l, lm_tnames[t].peft, n_in,
                       n_out, n_in, n_out);
    return FTSB_OK;
}

/* Pass one over the tensors: classify and check each, fill slots. */
static ftsb_status lm_peft_scan(const struct st_file *st,
                                const struct lm_adapter_base *base,
                                const struct lm_peft_cfg *c,
                                struct lm_slot *slots, struct lm_err *err)
{
    const char *fn = st_name(st);

    for (size_t i = 0; i < st_n_tensors(st); i++) {
        const struct st_tensor *t = st_tensor_at(st, i);
        int64_t layer;
        int target, is_b;
        const char *why;

        if (lm_peft_name(t->name, &layer, &target, &is_b, &why) < 0)
            return lm_fail(err, FTSB_E_UNSUPPORTED,
                           "'%s': tensor '%.120s' is %s (expected "
                           LM_PEFT_PREFIX "N.{self_attn,mlp}.X_proj.lora_"
                           "{A,B}.weight)",
                           fn, t->name, why);
        if (layer >= base->n_layer)
            return lm_fail(err, FTSB_E_INVALID,
                           "'%s': tensor '%s' is for layer %" PRId64
                           ", but the base model has %" PRId64 " layers",
                           fn, t->name, layer, base->n_layer);
        if (!(c->targets & (1u << target)))
            return lm_fail(err, FTSB_E_FORMAT,
                           "'%s': tensor '%s' adapts %s, which the config's "
                           "target_modules does not list",
                           fn, t->name, lm_tnames[target].peft);
        if (t->n_dims != 2)
            return lm_fail(err, FTSB_E_FORMAT,
                           "'%s': tensor '%s' has %" PRIu32 " dimensions; "
                           "LoRA tensors are 2-D",
                           fn, t->name, t->n_dims);
        if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16)
            return lm_fail(err, FTSB_E_UNSUPPORTED,
                           "'%s': tensor '%s' has unsupported dtype %s (F32, "
                           "F16 or BF16 expected)",
                           fn, t->name, st_dtype_name(t->dtype));
        *(is_b ? &slots[layer * LM_LORA_N_TARGETS + target].b
               : &slots[layer * LM_LORA_N_TARGETS + target].a) =
            (int64_t)i + 1;
    }
    return FTSB_OK;
}

static int32_t lm_st_type(enum st_dtype d)
{
    return d == ST_F16 ? LM_F16 : d == ST_BF16 ? LM_BF16 : LM_F32;
}

ftsb_status lm_adapter_from_peft(const struct st_file *st, const char *config,
                                 size_t config_len, const char *name,
                                 const struct lm_adapter_base *base,
                                 struct lm_adapter **out, struct lm_err *err)
{
    const char *fn = st_name(st);
    struct lm_peft_cfg c;
    struct lm_slot *slots = NULL;
    struct lm_adapter *ad = NULL;
    float *tmp = NULL;
    int64_t rank = 0, n_in, n_out, n_pairs = 0;
    int32_t dtype = -1;
    ftsb_status s;

    *out = NULL;
    if (!base)
        return lm_fail(err, FTSB_E_INVALID,
                       "loading a PEFT adapter needs the base model's "
                       "dimensions");
    if ((s = lm_adapter_base_dims(base, 0, &n_in, &n_out, err)) ||
        (s = lm_peft_config(config, config_len, name, &c, err)))
        return s;
    if (!(slots = calloc((size_t)base->n_layer * LM_LORA_N_TARGETS,
                         sizeof *slots))) {
        s = lm_nomem(err);
        goto fail;
    }
    if ((s = lm_peft_scan(st, base, &c, slots, err)))
        goto fail;
    for (int64_t i = 0; i < base->n_layer * LM_LORA_N_TARGETS; i++) {
        const struct st_tensor *a = NULL, *b = NULL;

        if (!slots[i].a && !slots[i].b)
            continue;
        n_pairs++;
        if (slots[i].a)
            a = st_tensor_at(st, (size_t)slots[i].a - 1);
        if (slots[i].b)
            b = st_tensor_at(st, (size_t)slots[i].b - 1);
        if ((s = lm_peft_pair(st, a, b, i / LM_LORA_N_TARGETS,
                              (int)(i % LM_LORA_N_TARGETS), base, &rank,
                              err)))
            goto fail;
    }
    if (!n_pairs) {
        s = lm_fail(err, FTSB_E_FORMAT, "'%s' holds no LoRA tensors", fn);
        goto fail;
    }
    if (c.r && c.r != rank) {
        s = lm_fail(err, FTSB_E_FORMAT,
                    "'%s' says r = %" PRId64 ", but the tensors of '%s' "
                    "have rank %" PRId64,
                    name, c.r, fn, rank);
        goto fail;
    }
    if ((s = lm_ad_alloc(base->n_layer, &ad, err)))
        goto fail;
    snprintf(ad->arch, sizeof ad->arch, "%s", base->arch);
    ad->rank = rank;
    /* rsLoRA scales by alpha / sqrt(r); our scale is alpha / r. */
    ad->alpha = (float)(c.rslora ? c.alpha * sqrt((double)rank) : c.alpha);
    for (int64_t i = 0; i < base->n_layer * LM_LORA_N_TARGETS; i++) {
        const struct st_tensor *a, *b;
        struct lm_lora_pair *p = &ad->pairs[i];
        int t = (int)(i % LM_LORA_N_TARGETS);

        if (!slots[i].a)
            continue;
        a = st_tensor_at(st, (size_t)slots[i].a - 1);
        b = st_tensor_at(st, (size_t)slots[i].b - 1);
        lm_adapter_base_dims(base, t, &n_in, &n_out, err);
        if ((s = lm_pair_alloc(p, n_in, n_out, rank, err)) ||
            (s = st_tensor_f32(st, a, p->a, a->nelem, err)))
            goto fail;
        if (t == LM_LORA_Q || t == LM_LORA_K) {
            /* B's rows come in HF order: permute them to GGUF's. */
            free(tmp);
            if (!(tmp = malloc((size_t)b->nelem * sizeof *tmp))) {
                s = lm_nomem(err);
                goto fail;
            }
            if ((s = st_tensor_f32(st, b, tmp, b->nelem, err)) ||
                (s = lm_lora_permute_rows(
                     p->b, tmp, n_out, rank,
                     t == LM_LORA_Q ? base->n_head : base->n_head_kv, 1,
                     err)))
                goto fail;
        } else if ((s = st_tensor_f32(st, b, p->b, b->nelem, err))) {
            goto fail;
        }
        dtype = lm_merge_dtype(lm_merge_dtype(dtype, lm_st_type(a->dtype)),
                               lm_st_type(b->dtype));
    }
    ad->dtype = dtype;
    for (size_t i = 0; i < st_n_meta(st); i++) {
        const struct st_meta *m = st_meta_at(st, i);
        if (strcmp(m->key, "format") != 0 &&
            (s = lm_adapter_set_meta(ad, m->key, m->value, err)))
            goto fail;
    }
    if (c.base_model && (s = lm_adapter_set_meta(ad, "base_model_name_or_path",
                                                 c.base_model, err)))
        goto fail;
    free(tmp);
    free(slots);
    free(c.base_model);
    *out = ad;
    return FTSB_OK;
fail:
    free(tmp);
    free(slots);
    free(c.base_model);
    lm_adapter_free(ad);
    return s;
}

/* Reads a small text file whole (the config). */
static ftsb_status lm_read_small(const char *path, size_t cap, char **out,
                                 size_t *len, struct lm_err *err)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    size_t n;

    if (!fp)
        return lm_fail(err, FTSB_E_IO, "cannot open '%s': %s", path,
                       strerror(errno));
    if (!(buf = malloc(cap + 1))) {
        fclose(fp);
        return lm_nomem(err);
    }
    n = fread(buf, 1, cap + 1, fp);
    if (ferror(fp)) {
        fclose(fp);
        free(buf);
        return lm_fail(err, FTSB_E_IO, "cannot read '%s'", path);
    }
    fclose(fp);
    if (n > cap) {
        free(buf);
        return lm_fail(err, FTSB_E_FORMAT,
                       "'%s' is over the %zu-byte limit for an adapter "
                       "config",
                       path, cap);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return FTSB_OK;
}

/* dir + "/" + file into a malloc'ed string. */
static char *lm_join(const char *dir, const char *file)
{
    size_t a = strlen(dir), b = strlen(file);
    char *p = malloc(a + b + 2);

    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, file, b + 1);
    }
    return p;
}

ftsb_status lm_adapter_load_peft(const char *dir,
                                 const struct lm_adapter_base *base,
                                 struct lm_adapter **out, struct lm_err *err)
{
    char *cpath = lm_join(dir, "adapter_config.json");
    char *spath = lm_join(dir, "adapter_model.safetensors");
    char *text = NULL;
    size_t len = 0;
    struct st_file *st = NULL;
    ftsb_status s;

    *out = NULL;
    if (!cpath || !spath)
        s = lm_nomem(err);
    else if (!(s = lm_read_small(cpath, LM_MAX_CONFIG, &text, &len, err)) &&
             !(s = st_open(spath, &st, err)))
        s = lm_adapter_from_peft(st, text, len, cpath, base, out, err);
    st_close(st);
    free(text);
    free(cpath);
    free(spath);
    return s;
}

/* A JSON string for the config. */
static void lm_json_str(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(fp, "\\%c", c);
        else if (c < 0x20)
            fprintf(fp, "\\u%04x", c);
        else
            fputc(c, fp);
    }
    fputc('"', fp);
}

/* The config PEFT writes (json.dumps(indent=2, sort_keys=True)), with the
 * values this adapter has. */
static ftsb_status lm_peft_config_text(const struct lm_adapter *ad,
                                       char **text, size_t *len,
                                       struct lm_err *err)
{
    const char *base_model = lm_adapter_get_meta(ad, "base_model_name_or_path");
    unsigned targets = 0;
    int all_layers = 1, first;
    float alpha = ad->alpha == 0.0f ? (float)ad->rank : ad->alpha;
    FILE *fp = open_memstream(text, len);

    if (!fp)
        return lm_nomem(err);
    for (int64_t l = 0; l < ad->n_layer; l++) {
        int any = 0;
        for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
            if (lm_adapter_pair(ad, l, t)->a) {
                targets |= 1u << t;
                any = 1;
            }
        }
        all_layers &= any;
    }
    fputs("{\n  \"alpha_pattern\": {},\n  \"auto_mapping\": null,\n"
          "  \"base_model_name_or_path\": ", fp);
    if (base_model)
        lm_json_str(fp, base_model);
    else
        fputs("null", fp);
    fputs(",\n  \"bias\": \"none\",\n  \"fan_in_fan_out\": false,\n"
          "  \"inference_mode\": true,\n  \"init_lora_weights\": true,\n"
          "  \"layers_pattern\": null,\n  \"layers_to_transform\": ", fp);
    if (all_layers) {
        fputs("null", fp);
    } else {
        fputc('[', fp);
        first = 1;
        for (int64_t l = 0; l < ad->n_layer; l++) {
            for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
                if (lm_adapter_pair(ad, l, t)->a) {
                    fprintf(fp, "%s%" PRId64, first ? "" : ", ", l);
                    first = 0;
                    break;
                }
            }
        }
        fputc(']', fp);
    }
    /* Python reads an integral alpha as an int, as PEFT writes it. */
    if (alpha == floorf(alpha) && fabsf(alpha) < 1e7f)
        fprintf(fp, ",\n  \"lora_alpha\": %" PRId64, (int64_t)alpha);
    else
        fprintf(fp, ",\n  \"lora_alpha\": %.9g", (double)alpha);
    fprintf(fp, ",\n  \"lora_dropout\": 0.0,\n  \"modules_to_save\": null,\n"
                "  \"peft_type\": \"LORA\",\n  \"r\": %" PRId64 ",\n"
                "  \"rank_pattern\": {},\n  \"revision\": null,\n"
                "  \"target_modules\": [",
            ad->rank);
    first = 1;
    for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
        if (targets & (1u << t)) {
            fprintf(fp, "%s\n    \"%s\"", first ? "" : ",", lm_tnames[t].peft);
            first = 0;
        }
    }
    fputs("\n  ],\n  \"task_type\": \"CAUSAL_LM\",\n  \"use_dora\": false,\n"
          "  \"use_rslora\": false\n}\n", fp);
    if (fclose(fp) != 0) {
        free(*text);
        *text = NULL;
        return lm_nomem(err);
    }
    return FTSB_OK;
}

/* Writes data to path.tmp, syncs it and renames it to path. */
static ftsb_status lm_write_atomic(const char *path, const char *data,
                                   size_t len, struct lm_err *err)
{
    char *tmp = malloc(strlen(path) + 5);
    FILE *fp;
    int error = 0;
    ftsb_status s = FTSB_OK;

    if (!tmp)
        return lm_nomem(err);
    sprintf(tmp, "%s.tmp", path);
    if (!(fp = fopen(tmp, "wb"))) {
        s = lm_fail(err, FTSB_E_IO, "cannot create '%s': %s", tmp,
                    strerror(errno));
        free(tmp);
        return s;
    }
    errno = 0;
    if (fwrite(data, 1, len, fp) != len || fflush(fp) != 0 ||
        fsync(fileno(fp)) != 0)
        error = errno ? errno : EIO;
    if (fclose(fp) != 0 && !error)
        error = errno ? errno : EIO;
    if (!error && rename(tmp, path) != 0)
        error = errno;
    if (error) {
        s = lm_fail(err, FTSB_E_IO, "cannot write '%s': %s", path,
                    strerror(error));
        unlink(tmp);
    }
    free(tmp);
    return s;
}

ftsb_status lm_adapter_save_peft(const struct lm_adapter *ad, const char *dir,
                                 const struct lm_adapter_base *base,
                                 int32_t dtype, struct lm_err *err)
{
    struct st_writer *w = NULL;
    struct lm_keep keep = {0};
    enum st_dtype sd;
    char *spath = NULL, *cpath = NULL, *text = NULL;
    size_t tlen = 0;
    ftsb_status s;

    if (!base)
        return lm_fail(err, FTSB_E_INVALID,
                       "saving a PEFT adapter needs the base model's "
                       "dimensions");
    if ((s = lm_save_dtype(ad, &dtype, err)) ||
        (s = lm_adapter_check(ad, base, err)))
        return s;
    sd = dtype == LM_F32 ? ST_F32 : dtype == LM_F16 ? ST_F16 : ST_BF16;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return lm_fail(err, FTSB_E_IO, "cannot create the folder '%s': %s",
                       dir, strerror(errno));
    if (!(spath = lm_join(dir, "adapter_model.safetensors")) ||
        !(cpath = lm_join(dir, "adapter_config.json"))) {
        s = lm_nomem(err);
        goto done;
    }
    if ((s = st_writer_new(&w, err)) ||
        (s = st_w_meta(w, "format", "pt", err)))
        goto done;
    for (size_t i = 0; i < ad->n_meta; i++) {
        if (strcmp(ad->meta[i].key, "format") != 0 &&
            (s = st_w_meta(w, ad->meta[i].key, ad->meta[i].value, err)))
            goto done;
    }
    for (int64_t l = 0; l < ad->n_layer; l++) {
        for (int t = 0; t < LM_LORA_N_TARGETS; t++) {
            const struct lm_lora_pair *p = lm_adapter_pair(ad, l, t);
            const float *bsrc = p->b;
            char tn[160];
            uint64_t sa[2] = {(uint64_t)ad->rank, (uint64_t)p->n_in};
            uint64_t sb[2] = {(uint64_t)p->n_out, (uint64_t)ad->rank};
            const void *da, *db;
            uint64_t na, nb;

            if (!p->a)
                continue;
            if (t == LM_LORA_Q || t == LM_LORA_K) {
                /* Back to HF's row order; kept until the file is written. */
                float *hf = malloc((size_t)(p->n_out * ad->rank) * sizeof *hf);
                if (!hf) {
                    s = lm_nomem(err);
                    goto done;
                }
                if ((s = lm_keep_add(&keep, hf, err)) ||
                    (s = lm_lora_permute_rows(
                         hf, p->b, p->n_out, ad->rank,
                         t == LM_LORA_Q ? base->n_head : base->n_head_kv, 0,
                         err)))
                    goto done;
                bsrc = hf;
            }
            if ((s = lm_as_dtype(&keep, p->a, p->n_in * ad->rank, dtype, &da,
                                 &na, err)) ||
                (s = lm_as_dtype(&keep, bsrc, p->n_out * ad->rank, dtype, &db,
                                 &nb, err)))
                goto done;
            snprintf(tn, sizeof tn,
                     LM_PEFT_PREFIX "%" PRId64 ".%s.%s.lora_A.weight", l,
                     lm_tnames[t].module, lm_tnames[t].peft);
            if ((s = st_w_tensor(w, tn, sd, 2, sa, da, na, err)))
                goto done;
            tn[strlen(tn) - strlen("A.weight")] = 'B';
            if ((s = st_w_tensor(w, tn, sd, 2, sb, db, nb, err)))
                goto done;
        }
    }
    if ((s = st_w_save(w, spath, err)) ||
        (s = lm_peft_config_text(ad, &text, &tlen, err)))
        goto done;
    s = lm_write_atomic(cpath, text, tlen, err);
done:
    free(text);
    free(spath);
    free(cpath);
    st_writer_free(w);
    lm_keep_free(&keep);
    return s;
}
