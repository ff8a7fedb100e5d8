/*
 * random_model.c - random-weight Llama models (see random_model.h).  The
 * file is written in two passes so that memory stays small whatever the
 * model size: the GGUF writer lays out the header and every tensor, its
 * data borrowed from one read-only anonymous mapping (zero pages that
 * cost no memory), into "<path>.part"; the file is then re-opened with
 * the reader - which both checks what was written and gives each
 * tensor's offset - and the data is generated a slice at a time and
 * written over the zeros.  Only then is the file renamed to its name.
 *
 * The weights come from splitmix64 used as a counter-based generator:
 * value i of a tensor is a function of (seed, tensor name, i) only, so
 * slices can be made in any order.  Each value is the sum of four 32-bit
 * uniforms (Irwin-Hall), centred and scaled to unit variance with one
 * double multiply and one rounding to float: nearly normal (tails cut at
 * 3.46 std, harmless for random weights), and, unlike Box-Muller through
 * libm, bit-identical on every IEEE machine and compiler.
 */
#define _DEFAULT_SOURCE 1

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fp16.h"
#include "random_model.h"
#include "tokenizer.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "random_model.c writes F32 data as host floats: little-endian only"
#endif

#define LM_RANDOM_SLICE (1 << 20)   /* values generated per write */
#define LM_RANDOM_MAX_VOCAB 1000000 /* synthetic pieces run out at ~1.7M */
#define LM_RANDOM_ALIGN 32u

static const char lm_random_space[] = "\xe2\x96\x81"; /* U+2581 */

const char *const lm_random_shape_names[] = {"tiny", "110m", "1.1b", NULL};

static const struct lm_random_shape lm_random_shapes[] = {
    /* dim, layers, heads, kv heads, ffn, vocab, ctx, base, eps, std, tied */
    {64, 2, 4, 2, 192, 512, 256, 10000.0f, 1e-5f, 0.02f, false},
    {768, 12, 12, 12, 2048, 32000, 1024, 10000.0f, 1e-5f, 0.02f, true},
    {2048, 22, 32, 4, 5632, 32000, 2048, 10000.0f, 1e-5f, 0.02f, false},
};

ftsb_status lm_random_shape_named(const char *name,
                                  struct lm_random_shape *out,
                                  struct lm_err *err)
{
    for (size_t i = 0; lm_random_shape_names[i]; i++) {
        if (!strcmp(name, lm_random_shape_names[i])) {
            *out = lm_random_shapes[i];
            return FTSB_OK;
        }
    }
    return lm_fail(err, FTSB_E_NOT_FOUND, "unknown shape '%s'; the named "
                   "shapes are tiny, 110m and 1.1b", name);
}

static ftsb_status lm_random_range(const char *what, int64_t v, int64_t max,
                                   struct lm_err *err)
{
    if (v >= 1 && v <= max)
        return FTSB_OK;
    return lm_fail(err, FTSB_E_INVALID, "%s is %" PRId64 "; it must be "
                   "between 1 and %" PRId64, what, v, max);
}

ftsb_status lm_random_shape_check(const struct lm_random_shape *s,
                                  int32_t type, bool vocab_file,
                                  struct lm_err *err)
{
    ftsb_status st;
    int64_t hd;

    if (!lm_type_supported(type))
        return lm_fail(err, FTSB_E_INVALID, "tensor type %" PRId32 " is not "
                       "one of f32, f16, bf16, q8_0", type);
    if ((st = lm_random_range("the embedding length", s->dim, 1 << 16, err)) ||
        (st = lm_random_range("the layer count", s->n_layer, 1024, err)) ||
        (st = lm_random_range("the head count", s->n_head, s->dim, err)) ||
        (st = lm_random_range("the kv head count", s->n_head_kv, s->n_head,
                              err)) ||
        (st = lm_random_range("the FFN hidden size", s->n_ff, 1 << 20,
                              err)) ||
        (st = lm_random_range("the context length", s->n_ctx, 1 << 24, err)))
        return st;
    if (!vocab_file && (s->n_vocab < LM_RANDOM_MIN_VOCAB ||
                        s->n_vocab > LM_RANDOM_MAX_VOCAB))
        return lm_fail(err, FTSB_E_INVALID, "the vocabulary size is %" PRId64
                       "; a synthetic vocabulary has between %d (<unk>, <s>, "
                       "</s> and the 256 byte tokens) and %d tokens",
                       s->n_vocab, LM_RANDOM_MIN_VOCAB, LM_RANDOM_MAX_VOCAB);
    if (s->dim % s->n_head)
        return lm_fail(err, FTSB_E_INVALID, "the embedding length %" PRId64
                       " is not a multiple of the head count %" PRId64,
                       s->dim, s->n_head);
    if (s->n_head % s->n_head_kv)
        return lm_fail(err, FTSB_E_INVALID, "the head count %" PRId64 " is "
                       "not a multiple of the kv head count %" PRId64,
                       s->n_head, s->n_head_kv);
    hd = s->dim / s->n_head;
    if (hd % 2)
        return lm_fail(err, FTSB_E_INVALID, "the head dimension %" PRId64
                       " (embedding / heads) is odd; RoPE rotates pairs", hd);
    if (type == LM_Q8_0 && (s->dim % LM_Q8_0_BLOCK || s->n_ff % LM_Q8_0_BLOCK))
        return lm_fail(err, FTSB_E_INVALID, "q8_0 stores rows in blocks of "
                       "32: the embedding length (%" PRId64 ") and the FFN "
                       "hidden size (%" PRId64 ") must be multiples of 32",
                       s->dim, s->n_ff);
    if (!(s->rope_base >= 0) || !(s->rms_eps >= 0) || !(s->std >= 0) ||
        s->rope_base > 1e12f || s->rms_eps > 1.0f || s->std > 100.0f)
        return lm_fail(err, FTSB_E_INVALID, "rope base, rms epsilon and std "
                       "must be positive and finite");
    return FTSB_OK;
}

/* ---- the generator ----------------------------------------------------- */

static uint64_t lm_random_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#define LM_RANDOM_GOLDEN 0x9e3779b97f4a7c15ull

/* The stream key of one tensor: the seed and the name, hashed (FNV-1a). */
static uint64_t lm_random_key(uint64_t seed, const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return lm_random_mix(seed ^ lm_random_mix(h));
}

/* Values first .. first+n-1 of the stream key, scaled by std. */
static void lm_random_fill(float *x, int64_t n, uint64_t key, uint64_t first,
                           float std)
{
    /* the sum of four u32 uniforms has variance 2^64/3 */
    const double scale = (double)std * 1.7320508075688772 / 4294967296.0;

    for (int64_t i = 0; i < n; i++) {
        uint64_t c = (first + (uint64_t)i) * 2;
        uint64_t a = lm_random_mix(key + (c + 1) * LM_RANDOM_GOLDEN);
        uint64_t b = lm_random_mix(key + (c + 2) * LM_RANDOM_GOLDEN);
        uint64_t sum = (a >> 32) + (a & 0xffffffffu) + (b >> 32) +
                       (b & 0xffffffffu);
        int64_t centred = (int64_t)sum - (int64_t)2 * 0xffffffffll;
        x[i] = (float)((double)centred * scale);
    }
}

/* ---- the synthetic vocabulary ------------------------------------------ */

struct lm_random_vocab {
    struct gguf_str *text;
    float *score;
    int32_t *type;
    char *buf;
    int64_t n;
};

static void lm_random_vocab_free(struct lm_random_vocab *v)
{
    free(v->text);
    free(v->score);
    free(v->type);
    free(v->buf);
}

/* Appends a token whose text is the len bytes at buf + off. */
static void lm_random_tok(struct lm_random_vocab *v, size_t off, size_t len,
                          int32_t type, float score)
{
    v->text[v->n] = (struct gguf_str){v->buf + off, len};
    v->type[v->n] = type;
    v->score[v->n] = score;
    v->n++;
}

/* True when the len bytes at t are the text of one of the first three
 * tokens (a piece must not repeat them). */
static bool lm_random_taken(const char *t, size_t len)
{
    return (len == 3 && !memcmp(t, "<s>", 3)) ||
           (len == 4 && !memcmp(t, "</s>", 4)) ||
           (len == 5 && !memcmp(t, "<unk>", 5));
}

/*
 * <unk>, <s>, </s>, <0x00>..<0xFF>, then pieces: U+2581; for L = 1, 2, ...
 * every string of L printable ASCII characters ('!'..'~', in order), then
 * the same strings after U+2581 - until n tokens.  Scores: 0 for the
 * first 259, -k for the k-th piece (U+2581 is k = 0).  This is the
 * synthetic vocabulary of shared/testdata's reference models (the same
 * tokens and scores; checked on their 512), so a model made here and one
 * of those tokenize alike.
 */
static ftsb_status lm_random_vocab_make(struct lm_random_vocab *v, int64_t n,
                                        struct lm_err *err)
{
    enum { ALPHA = '~' - '!' + 1 };
    static const char *const specials[] = {"<unk>", "<s>", "</s>"};
    static const int32_t special_type[] = {TOK_TYPE_UNKNOWN, TOK_TYPE_CONTROL,
                                           TOK_TYPE_CONTROL};
    size_t off = 0;
    int64_t k = 0;

    memset(v, 0, sizeof *v);
    v->text = malloc((size_t)n * sizeof *v->text);
    v->score = malloc((size_t)n * sizeof *v->score);
    v->type = malloc((size_t)n * sizeof *v->type);
    v->buf = malloc((size_t)n * 12 + 64); /* no token is longer than 12 */
    if (!v->text || !v->score || !v->type || !v->buf) {
        lm_random_vocab_free(v);
        return lm_fail(err, FTSB_E_NOMEM, "out of memory making a vocabulary");
    }
    for (int i = 0; i < 3; i++) {
        size_t len = strlen(specials[i]);
        memcpy(v->buf + off, specials[i], len);
        lm_random_tok(v, off, len, special_type[i], 0.0f);
        off += len;
    }
    for (int b = 0; b < 256; b++) {
        snprintf(v->buf + off, 7, "<0x%02X>", b);
        lm_random_tok(v, off, 6, TOK_TYPE_BYTE, 0.0f);
        off += 6;
    }
    if (v->n < n) {
        memcpy(v->buf + off, lm_random_space, 3);
        lm_random_tok(v, off, 3, TOK_TYPE_NORMAL, -(float)k++);
        off += 3;
    }
    for (int len = 1; v->n < n; len++) {
        int64_t count = 1;
        for (int i = 0; i < len; i++)
            count *= ALPHA;
        for (int spaced = 0; spaced < 2; spaced++) {
            for (int64_t c = 0; c < count && v->n < n; c++) {
                size_t start = off, p = off + (spaced ? 3 : 0);
                int64_t rest = c;
                if (spaced)
                    memcpy(v->buf + off, lm_random_space, 3);
                for (int i = len - 1; i >= 0; i--) {
                    v->buf[p + (size_t)i] = (char)('!' + rest % ALPHA);
                    rest /= ALPHA;
                }
                if (lm_random_taken(v->buf + start, p + (size_t)len - start))
                    continue;
                off = p + (size_t)len;
                lm_random_tok(v, start, off - start, TOK_TYPE_NORMAL,
                              -(float)k++);
            }
        }
    }
    return FTSB_OK;
}

/* ---- metadata ---------------------------------------------------------- */

static int32_t lm_random_file_type(int32_t type)
{
    switch (type) {
    case LM_F16: return 1;
    case LM_Q8_0: return 7;
    case LM_BF16: return 32;
    default: return 0;
    }
}

static ftsb_status lm_random_tokenizer(struct gguf_writer *w,
                                       const struct gguf_file *vocab,
                                       const struct lm_random_vocab *v,
                                       struct lm_err *err)
{
    ftsb_status s;

    if (vocab) {
        for (uint64_t i = 0; i < gguf_n_kv(vocab); i++) {
            const struct gguf_kv *kv = gguf_kv_at(vocab, i);
            if (kv->key.len > 10 && !memcmp(kv->key.ptr, "tokenizer.", 10) &&
                (s = gguf_w_copy_kv(w, kv, err)))
                return s;
        }
        return FTSB_OK;
    }
    if ((s = gguf_w_str(w, "tokenizer.ggml.model", "llama", 5, err)) ||
        (s = gguf_w_arr_str(w, "tokenizer.ggml.tokens", v->text,
                            (uint64_t)v->n, err)) ||
        (s = gguf_w_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32,
                        v->score, (uint64_t)v->n, err)) ||
        (s = gguf_w_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32,
                        v->type, (uint64_t)v->n, err)) ||
        (s = gguf_w_u32(w, "tokenizer.ggml.bos_token_id", 1, err)) ||
        (s = gguf_w_u32(w, "tokenizer.ggml.eos_token_id", 2, err)) ||
        (s = gguf_w_u32(w, "tokenizer.ggml.unknown_token_id", 0, err)) ||
        (s = gguf_w_bool(w, "tokenizer.ggml.add_bos_token", true, err)) ||
        (s = gguf_w_bool(w, "tokenizer.ggml.add_eos_token", false, err)))
        return s;
    return FTSB_OK;
}

static ftsb_status lm_random_metadata(struct gguf_writer *w,
                                      const struct lm_random_shape *sh,
                                      int32_t type, uint64_t seed,
                                      struct lm_err *err)
{
    char name[256];
    ftsb_status s;

    snprintf(name, sizeof name, "random llama d%" PRId64 " l%" PRId64
             " h%" PRId64 " kv%" PRId64 " ff%" PRId64 " v%" PRId64
             "%s %s std %g seed %" PRIu64, sh->dim, sh->n_layer, sh->n_head,
             sh->n_head_kv, sh->n_ff, sh->n_vocab, sh->tied ? " tied" : "",
             lm_type_name(type), (double)sh->std, seed);
    if ((s = gguf_w_str(w, "general.architecture", "llama", 5, err)) ||
        (s = gguf_w_str(w, "general.name", name, strlen(name), err)) ||
        (s = gguf_w_u32(w, "general.file_type",
                        (uint32_t)lm_random_file_type(type), err)) ||
        (s = gguf_w_u32(w, "general.alignment", LM_RANDOM_ALIGN, err)) ||
        (type == LM_Q8_0 &&
         (s = gguf_w_u32(w, "general.quantization_version", 2, err))) ||
        (s = gguf_w_u32(w, "llama.vocab_size", (uint32_t)sh->n_vocab, err)) ||
        (s = gguf_w_u32(w, "llama.context_length", (uint32_t)sh->n_ctx,
                        err)) ||
        (s = gguf_w_u32(w, "llama.embedding_length", (uint32_t)sh->dim,
                        err)) ||
        (s = gguf_w_u32(w, "llama.block_count", (uint32_t)sh->n_layer, err)) ||
        (s = gguf_w_u32(w, "llama.feed_forward_length", (uint32_t)sh->n_ff,
                        err)) ||
        (s = gguf_w_u32(w, "llama.rope.dimension_count",
                        (uint32_t)(sh->dim / sh->n_head), err)) ||
        (s = gguf_w_u32(w, "llama.attention.head_count",
                        (uint32_t)sh->n_head, err)) ||
        (s = gguf_w_u32(w, "llama.attention.head_count_kv",
                        (uint32_t)sh->n_head_kv, err)) ||
        (s = gguf_w_f32(w, "llama.attention.layer_norm_rms_epsilon",
                        sh->rms_eps, err)) ||
        (s = gguf_w_f32(w, "llama.rope.freq_base", sh->rope_base, err)))
        return s;
    return FTSB_OK;
}

/* ---- tensors ----------------------------------------------------------- */

/* One tensor to write: name, type, ne = [ne0, ne1], norm or random. */
struct lm_random_t {
    char name[GGUF_MAX_NAME + 1];
    int32_t type;
    uint32_t n_dims;
    int64_t ne[2];
    uint64_t nbytes;
};

struct lm_random_plan {
    struct lm_random_t *t;
    size_t n;
    uint64_t max_bytes;
};

static void lm_random_add(struct lm_random_plan *p, const char *name,
                          int32_t type, int64_t ne0, int64_t ne1)
{
    struct lm_random_t *t = &p->t[p->n++];

    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = type;
    t->n_dims = ne1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1 ? ne1 : 1;
    t->nbytes = (uint64_t)lm_type_row_bytes(type, ne0) * (uint64_t)t->ne[1];
    if (t->nbytes > p->max_bytes)
        p->max_bytes = t->nbytes;
}

/* The tensors in the order llama.cpp's converters write them. */
static ftsb_status lm_random_plan_make(struct lm_random_plan *p,
                                       const struct lm_random_shape *s,
                                       int32_t type, struct lm_err *err)
{
    int64_t hd = s->dim / s->n_head, q = s->n_head * hd,
            kv = s->n_head_kv * hd;
    char name[GGUF_MAX_NAME + 1];

    memset(p, 0, sizeof *p);
    p->t = malloc((size_t)(s->n_layer * 9 + 3) * sizeof *p->t);
    if (!p->t)
        return lm_fail(err, FTSB_E_NOMEM, "out of memory planning a model");
    lm_random_add(p, "token_embd.weight", type, s->dim, s->n_vocab);
    for (int64_t l = 0; l < s->n_layer; l++) {
        static const char *const part[] = {
            "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
            "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"};
        const int64_t ne[9][2] = {{s->dim, 0},  {s->dim, q},   {s->dim, kv},
                                  {s->dim, kv}, {q, s->dim},   {s->dim, 0},
                                  {s->dim, s->n_ff}, {s->dim, s->n_ff},
                                  {s->n_ff, s->dim}};
        for (int i = 0; i < 9; i++) {
            snprintf(name, sizeof name, "blk.%" PRId64 ".%s.weight", l,
                     part[i]);
            lm_random_add(p, name, ne[i][1] ? type : LM_F32, ne[i][0],
                          ne[i][1]);
        }
    }
    lm_random_add(p, "output_norm.weight", LM_F32, s->dim, 0);
    if (!s->tied)
        lm_random_add(p, "output.weight", type, s->dim, s->n_vocab);
    return FTSB_OK;
}

static ftsb_status lm_random_pwrite(int fd, const void *buf, size_t n,
                                    uint64_t off, const char *path,
                                    struct lm_err *err)
{
    const char *p = buf;

    while (n) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return lm_fail(err, FTSB_E_IO, "cannot write '%s': %s", path,
                           w < 0 ? strerror(errno) : "short write");
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return FTSB_OK;
}

/* Generates tensor t slice by slice and writes it at file offset off. */
static ftsb_status lm_random_tensor(int fd, const char *path,
                                    const struct lm_random_t *t, uint64_t off,
                                    uint64_t seed, float std, float *x,
                                    uint8_t *out, struct lm_err *err)
{
    int64_t rows_per = LM_RANDOM_SLICE / t->ne[0] > 0
                           ? LM_RANDOM_SLICE / t->ne[0] : 1;
    uint64_t key = lm_random_key(seed, t->name);
    int64_t row_bytes = lm_type_row_bytes(t->type, t->ne[0]);
    ftsb_status s;

    for (int64_t r = 0; r < t->ne[1]; r += rows_per) {
        int64_t rows = t->ne[1] - r < rows_per ? t->ne[1] - r : rows_per;
        int64_t n = rows * t->ne[0];
        size_t bytes = (size_t)(rows * row_bytes);

        if (t->n_dims == 1) {
            for (int64_t i = 0; i < n; i++)
                x[i] = 1.0f; /* norm gains */
        } else {
            lm_random_fill(x, n, key, (uint64_t)(r * t->ne[0]), std);
        }
        switch (t->type) {
        case LM_F32: memcpy(out, x, bytes); break;
        case LM_F16: lm_f32_to_f16_row((uint16_t *)(void *)out, x, n); break;
        case LM_BF16: lm_f32_to_bf16_row((uint16_t *)(void *)out, x, n); break;
        default:
            lm_f32_to_q8_0_row((struct lm_block_q8_0 *)(void *)out, x, n);
            break;
        }
        if ((s = lm_random_pwrite(fd, out, bytes,
                                  off + (uint64_t)(r * row_bytes), path, err)))
            return s;
    }
    return FTSB_OK;
}

/* Pass 2: the data of every tensor, over the zeros of pass 1. */
static ftsb_status lm_random_fill_file(const char *part,
                                       const struct lm_random_plan *p,
                                       uint64_t seed, float std,
                                       struct lm_err *err)
{
    struct gguf_file *f = NULL;
    float *x = malloc(LM_RANDOM_SLICE * sizeof *x + 64 * sizeof *x);
    uint8_t *out = malloc(LM_RANDOM_SLICE * sizeof(float) + 256);
    ftsb_status s;
    int fd = -1;

    if (!x || !out) {
        s = lm_fail(err, FTSB_E_NOMEM, "out of memory writing '%s'", part);
        goto done;
    }
    if ((s = gguf_open(part, &f, err)))
        goto done;
    if (gguf_n_tensors(f) != p->n) {
        s = lm_fail(err, FTSB_E_INTERNAL, "'%s' reads back with %" PRIu64
                    " tensors, not %zu", part, gguf_n_tensors(f), p->n);
        goto done;
    }
    if ((fd = open(part, O_WRONLY)) < 0) {
        s = lm_fail(err, FTSB_E_IO, "cannot open '%s': %s", part,
                    strerror(errno));
        goto done;
    }
    for (size_t i = 0; i < p->n; i++) {
        const struct gguf_tensor *t = gguf_tensor_at(f, i);
        if (strcmp(t->name, p->t[i].name) || t->nbytes != p->t[i].nbytes) {
            s = lm_fail(err, FTSB_E_INTERNAL, "'%s': tensor %zu reads back "
                        "as '%s'", part, i, t->name);
            goto done;
        }
        if ((s = lm_random_tensor(fd, part, &p->t[i],
                                  gguf_data_offset(f) + t->offset, seed, std,
                                  x, out, err)))
            goto done;
    }
    if (fsync(fd) != 0)
        s = lm_fail(err, FTSB_E_IO, "cannot write '%s': %s", part,
                    strerror(errno));
done:
    if (fd >= 0 && close(fd) != 0 && !s)
        s = lm_fail(err, FTSB_E_IO, "cannot write '%s': %s", part,
                    strerror(errno));
    gguf_close(f);
    free(x);
    free(out);
    return s;
}

/* Pass 1: header, metadata, tensor infos and zero data. */
static ftsb_status lm_random_layout(const char *part,
                                    const struct lm_random_shape *sh,
                                    int32_t type, uint64_t seed,
                                    const struct gguf_file *vocab,
                                    const struct lm_random_plan *p,
                                    struct lm_err *err)
{
    struct lm_random_vocab v = {0};
    struct gguf_writer *w = NULL;
    void *zeros = MAP_FAILED;
    ftsb_status s;

    if (!vocab && (s = lm_random_vocab_make(&v, sh->n_vocab, err)))
        return s;
    if ((s = gguf_writer_new(&w, err)) ||
        (s = lm_random_metadata(w, sh, type, seed, err)) ||
        (s = lm_random_tokenizer(w, vocab, &v, err)))
        goto done;
    zeros = mmap(NULL, (size_t)p->max_bytes, PROT_READ,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (zeros == MAP_FAILED) {
        s = lm_fail(err, FTSB_E_NOMEM, "cannot map %" PRIu64 " bytes: %s",
                    p->max_bytes, strerror(errno));
        goto done;
    }
    for (size_t i = 0; i < p->n; i++) {
        const struct lm_random_t *t = &p->t[i];
        if ((s = gguf_w_tensor(w, t->name, (uint32_t)t->type, t->n_dims,
                               t->ne, zeros, t->nbytes, err)))
            goto done;
    }
    s = gguf_w_save(w, part, err);
done:
    if (zeros != MAP_FAILED)
        munmap(zeros, (size_t)p->max_bytes);
    gguf_writer_free(w);
    lm_random_vocab_free(&v);
    return s;
}

ftsb_status lm_random_model_write(const char *path,
                                  const struct lm_random_shape *shape,
                                  int32_t type, uint64_t seed,
                                  const struct gguf_file *vocab,
                                  struct lm_err *err)
{
    struct lm_random_shape sh = *shape;
    struct lm_random_plan plan = {0};
    struct tok_vocab *tv;
    size_t len = strlen(path);
    char *part;
    ftsb_status s;

    if (sh.rope_base == 0)
        sh.rope_base = 10000.0f;
    if (sh.rms_eps == 0)
        sh.rms_eps = 1e-5f;
    if (sh.std == 0)
        sh.std = 0.02f;
    if (vocab) {
        if ((s = tok_load(vocab, &tv, err)))
            return s;
        sh.n_vocab = tok_n_vocab(tv);
        tok_free(tv);
    }
    if ((s = lm_random_shape_check(&sh, type, vocab != NULL, err)) ||
        (s = lm_random_plan_make(&plan, &sh, type, err)))
        return s;
    if (!(part = malloc(len + 6))) {
        free(plan.t);
        return lm_fail(err, FTSB_E_NOMEM, "out of memory");
    }
    memcpy(part, path, len);
    memcpy(part + len, ".part", 6);
    if (!(s = lm_random_layout(part, &sh, type, seed, vocab, &plan, err)) &&
        !(s = lm_random_fill_file(part, &plan, seed, sh.std, err)) &&
        rename(part, path) != 0)
        s = lm_fail(err, FTSB_E_IO, "cannot rename '%s' to '%s': %s", part,
                    path, strerror(errno));
    if (s)
        unlink(part);
    free(part);
    free(plan.t);
    return s;
}
