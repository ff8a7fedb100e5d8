/*
 * tokenizer.c - the vocabulary and the SentencePiece-style ("llama")
 * tokenizer, written from the behaviour of llama.cpp's llama-vocab.cpp at
 * the commit the test vectors come from (native.md section 5.1):
 *
 *  1. control (with TOK_PARSE_SPECIAL), unknown (idem) and user-defined
 *     token texts are cut out of the input, longest token first;
 *  2. each remaining text fragment that follows a special token, or starts
 *     the input, gets one leading space (the "dummy prefix"), and spaces
 *     become U+2581;
 *  3. the fragment is split into UTF-8 characters, and adjacent symbols
 *     whose concatenation is a token are merged, best score first (ties:
 *     leftmost first), until no pair merges;
 *  4. each final symbol is its token, or else one byte token per byte.
 *
 * llama.cpp also keeps a "reverse merge" map to split a symbol that is not
 * a token, but every merged symbol is a token by construction, so that
 * path only ever falls through to the byte tokens, which is what step 4
 * does.  The merge loop uses a binary heap of candidate pairs: a pair is
 * stale when either side has changed since it was pushed, which the size
 * check detects, so each merge costs O(log n) and a fragment O(n log n).
 */
#define _GNU_SOURCE 1

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"
#include "tokenizer_bpe.h"

#define TOK_MAX_TEXT (256u << 20)
#define TOK_MAX_VOCAB (1 << 24)

/* U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's visible space. */
static const char tok_space[] = "\xE2\x96\x81";

static const char *const tok_eot_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
    "<|endoftext|>", "<|end_of_text|>", "<EOT>",
};

struct tok_vocab {
    enum tok_model model;
    int32_t n;
    char *text; /* every token text, NUL-terminated, back to back */
    size_t *text_off;
    uint32_t *text_len;
    float *score;
    uint8_t *type;
    int32_t *slot; /* open-addressing hash: token id, or -1 */
    uint64_t mask;
    int32_t byte_tok[256]; /* SPM byte fallback, or -1 */
    char *piece;           /* decoded text of each token (tok_piece) */
    size_t *piece_off;
    uint32_t *piece_len;
    int32_t *special; /* control, unknown and user-defined ids, longest
                         text first */
    size_t n_special;
    int32_t bos, eos, unk, pad, eot;
    bool add_bos, add_eos, add_space_prefix;
    struct tok_bpe *bpe; /* gpt2 only */
};

/* A run of input: raw text, or one special token (id >= 0). */
struct tok_frag {
    int32_t id;
    size_t off, len;
};

struct tok_frags {
    struct tok_frag *v;
    size_t n, cap;
};

static ftsb_status tok_nomem(struct lm_err *err)
{
    return lm_fail(err, FTSB_E_NOMEM, "out of memory in the tokenizer");
}

static uint64_t tok_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static int32_t *tok_slot(const struct tok_vocab *v, const char *s, size_t n)
{
    uint64_t h = tok_hash(s, n) & v->mask;

    for (;; h = (h + 1) & v->mask) {
        int32_t id = v->slot[h];
        if (id < 0 || (v->text_len[id] == n &&
                       memcmp(v->text + v->text_off[id], s, n) == 0))
            return &v->slot[h];
    }
}

int32_t tok_find(const struct tok_vocab *v, const char *text, size_t len)
{
    return *tok_slot(v, text, len);
}

enum tok_model tok_model(const struct tok_vocab *v) { return v->model; }
int32_t tok_n_vocab(const struct tok_vocab *v) { return v->n; }
int32_t tok_bos(const struct tok_vocab *v) { return v->bos; }
int32_t tok_eos(const struct tok_vocab *v) { return v->eos; }
int32_t tok_unk(const struct tok_vocab *v) { return v->unk; }
int32_t tok_pad(const struct tok_vocab *v) { return v->pad; }
int32_t tok_eot(const struct tok_vocab *v) { return v->eot; }
bool tok_add_bos(const struct tok_vocab *v) { return v->add_bos; }
bool tok_add_eos(const struct tok_vocab *v) { return v->add_eos; }

bool tok_is_eog(const struct tok_vocab *v, int32_t id)
{
    return id >= 0 && (id == v->eos || id == v->eot);
}

const char *tok_text(const struct tok_vocab *v, int32_t id)
{
    return id >= 0 && id < v->n ? v->text + v->text_off[id] : NULL;
}

enum tok_type tok_type(const struct tok_vocab *v, int32_t id)
{
    return id >= 0 && id < v->n ? (enum tok_type)v->type[id]
                                : TOK_TYPE_UNDEFINED;
}

float tok_score(const struct tok_vocab *v, int32_t id)
{
    return id >= 0 && id < v->n ? v->score[id] : 0.0f;
}

void tok_free(struct tok_vocab *v)
{
    if (!v)
        return;
    free(v->text);
    free(v->text_off);
    free(v->text_len);
    free(v->score);
    free(v->type);
    free(v->slot);
    free(v->piece);
    free(v->piece_off);
    free(v->piece_len);
    free(v->special);
    tok_bpe_free(v->bpe);
    free(v);
}

ftsb_status tok_ids_push(struct tok_ids *ids, int32_t id)
{
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        int32_t *p;
        if (cap > SIZE_MAX / sizeof *p ||
            !(p = realloc(ids->v, cap * sizeof *p)))
            return FTSB_E_NOMEM;
        ids->v = p;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return FTSB_OK;
}

void tok_ids_free(struct tok_ids *ids)
{
    free(ids->v);
    ids->v = NULL;
    ids->n = ids->cap = 0;
}

/* ---- loading ---------------------------------------------------------- */

static ftsb_status tok_bad(const struct gguf_file *f, struct lm_err *err,
                           const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static ftsb_status tok_bad(const struct gguf_file *f, struct lm_err *err,
                           const char *fmt, ...)
{
    char msg[800];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lm_fail(err, FTSB_E_FORMAT, "'%s': vocabulary: %s", gguf_name(f),
                   msg);
}

static ftsb_status tok_read_model(const struct gguf_file *f,
                                  struct tok_vocab *v, struct lm_err *err)
{
    struct gguf_str m;
    ftsb_status s = gguf_get_str(f, "tokenizer.ggml.model", &m, err);

    if (s == FTSB_E_NOT_FOUND)
        return lm_fail(err, s,
                       "'%s': the file has no tokenizer (key "
                       "'tokenizer.ggml.model' is missing)",
                       gguf_name(f));
    if (s)
        return s;
    if (m.len == 5 && memcmp(m.ptr, "llama", 5) == 0)
        v->model = TOK_MODEL_SPM;
    else if (m.len == 4 && memcmp(m.ptr, "gpt2", 4) == 0)
        v->model = TOK_MODEL_GPT2;
    else {
        char shown[GGUF_SHOW_BUF];

        return lm_fail(err, FTSB_E_UNSUPPORTED,
                       "'%s': unsupported tokenizer model '%s' (this "
                       "engine reads 'llama' and 'gpt2')", gguf_name(f),
                       gguf_str_show(m, 40, shown, sizeof shown));
    }
    return FTSB_OK;
}

/* Copies the token texts into one arena; empty texts get llama.cpp's
 * "[EMPTY_<id>]" so that every token stays addressable. */
static ftsb_status tok_copy_texts(const struct gguf_file *f,
                                  struct tok_vocab *v,
                                  const struct gguf_str *t,
                                  struct lm_err *err)
{
    size_t total = 0, at = 0;

    for (int32_t i = 0; i < v->n; i++) {
        if (memchr(t[i].ptr, '\0', t[i].len))
            return tok_bad(f, err, "token %" PRId32 " contains a NUL byte",
                           i);
        if (gguf_utf8_check(t[i].ptr, t[i].len) != t[i].len)
            return tok_bad(f, err, "token %" PRId32 " is not valid UTF-8",
                           i);
        if (t[i].len > UINT32_MAX - 32)
            return tok_bad(f, err, "token %" PRId32 " is too long", i);
        total += (t[i].len ? t[i].len : 24) + 1;
    }
    v->text = malloc(total);
    v->text_off = malloc((size_t)v->n * sizeof *v->text_off);
    v->text_len = malloc((size_t)v->n * sizeof *v->text_len);
    if (!v->text || !v->text_off || !v->text_len)
        return tok_nomem(err);
    for (int32_t i = 0; i < v->n; i++) {
        v->text_off[i] = at;
        if (t[i].len) {
            memcpy(v->text + at, t[i].ptr, t[i].len);
            v->text_len[i] = (uint32_t)t[i].len;
        } else {
            v->text_len[i] =
                (uint32_t)snprintf(v->text + at, 24, "[EMPTY_%" PRId32 "]", i);
        }
        at += v->text_len[i];
        v->text[at++] = '\0';
    }
    return FTSB_OK;
}

static ftsb_status tok_read_texts(const struct gguf_file *f,
                                  struct tok_vocab *v, struct lm_err *err)
{
    const struct gguf_kv *kv;
    struct gguf_str *t;
    ftsb_status s;

    if ((s = gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &kv,
                          err)))
        return s;
    if (kv->count < 1 || kv->count > TOK_MAX_VOCAB)
        return tok_bad(f, err, "tokenizer.ggml.tokens has %" PRIu64
                               " tokens (1 to %d allowed)",
                       kv->count, TOK_MAX_VOCAB);
    v->n = (int32_t)kv->count;
    if (!(t = malloc((size_t)v->n * sizeof *t)))
        return tok_nomem(err);
    s = gguf_arr_str(f, kv, t, err);
    if (!s)
        s = tok_copy_texts(f, v, t, err);
    free(t);
    return s;
}

/* Scores may be f32 or, from some converters, i32 (llama.cpp takes both). */
static ftsb_status tok_read_scores(const struct gguf_file *f,
                                   struct tok_vocab *v, struct lm_err *err)
{
    const struct gguf_kv *kv = gguf_find_kv(f, "tokenizer.ggml.scores");
    size_t bytes = (size_t)v->n * sizeof *v->score;
    ftsb_status s = FTSB_OK;

    if (!(v->score = calloc(1, bytes ? bytes : 1)))
        return tok_nomem(err);
    if (!kv)
        return FTSB_OK;
    if (kv->type != GGUF_TYPE_ARRAY || kv->count < (uint64_t)v->n ||
        (kv->elem_type != GGUF_TYPE_FLOAT32 && kv->elem_type != GGUF_TYPE_INT32))
        return tok_bad(f, err, "tokenizer.ggml.scores must be an array of "
                               "at least %" PRId32 " f32 or i32 values",
                       v->n);
    if (kv->elem_type == GGUF_TYPE_FLOAT32) {
        float *all = malloc((size_t)kv->count * sizeof *all);
        if (!all)
            return tok_nomem(err);
        s = gguf_arr_f32(f, kv, all, err);
        memcpy(v->score, all, bytes);
        free(all);
    } else {
        int32_t *all = malloc((size_t)kv->count * sizeof *all);
        if (!all)
            return tok_nomem(err);
        s = gguf_arr_i32(f, kv, all, err);
        for (int32_t i = 0; !s && i < v->n; i++)
            v->score[i] = (float)all[i];
        free(all);
    }
    for (int32_t i = 0; !s && i < v->n; i++) {
        if (isnan(v->score[i]))
            return tok_bad(f, err, "the score of token %" PRId32 " is NaN",
                           i);
    }
    return s;
}

static ftsb_status tok_read_types(const struct gguf_file *f,
                                  struct tok_vocab *v, struct lm_err *err)
{
    const struct gguf_kv *kv = gguf_find_kv(f, "tokenizer.ggml.token_type");
    int32_t *all;
    ftsb_status s;

    if (!(v->type = malloc((size_t)v->n)))
        return tok_nomem(err);
    memset(v->type, TOK_TYPE_NORMAL, (size_t)v->n);
    if (!kv)
        return FTSB_OK;
    if (kv->type != GGUF_TYPE_ARRAY || kv->count < (uint64_t)v->n)
        return tok_bad(f, err, "tokenizer.ggml.token_type must be an array "
                               "of at least %" PRId32 " integers",
                       v->n);
    if (!(all = malloc((size_t)kv->count * sizeof *all)))
        return tok_nomem(err);
    s = gguf_arr_i32(f, kv, all, err);
    for (int32_t i = 0; !s && i < v->n; i++) {
        if (all[i] < TOK_TYPE_UNDEFINED || all[i] > TOK_TYPE_BYTE)
            s = tok_bad(f, err, "token %" PRId32 " has type %" PRId32
                                " (0 to 6 allowed)",
                        i, all[i]);
        else
            v->type[i] = (uint8_t)all[i];
    }
    free(all);
    return s;
}

static ftsb_status tok_index(const struct gguf_file *f, struct tok_vocab *v,
                             struct lm_err *err)
{
    uint64_t cap = 16;

    while (cap < 2 * (uint64_t)v->n)
        cap *= 2;
    if (!(v->slot = malloc(cap * sizeof *v->slot)))
        return tok_nomem(err);
    memset(v->slot, 0xFF, cap * sizeof *v->slot);
    v->mask = cap - 1;
    for (int32_t i = 0; i < v->n; i++) {
        int32_t *slot =
            tok_slot(v, v->text + v->text_off[i], v->text_len[i]);
        if (*slot >= 0)
            return tok_bad(f, err, "duplicate token '%.40s' (ids %" PRId32
                                   " and %" PRId32 ")",
                           v->text + v->text_off[i], *slot, i);
        *slot = i;
    }
    return FTSB_OK;
}

static int tok_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/*
 * Byte tokens must read "<0xHH>" (llama.cpp parsed "<0x-1>" into a negative
 * index once); the fallback table then maps each byte to the token with
 * the upper-case text, or to the one-byte token, as llama.cpp looks up.
 */
static ftsb_status tok_bytes(const struct gguf_file *f, struct tok_vocab *v,
                             struct lm_err *err)
{
    for (int32_t i = 0; i < v->n; i++) {
        const char *t = v->text + v->text_off[i];
        if (v->type[i] != TOK_TYPE_BYTE)
            continue;
        if (v->text_len[i] != 6 || memcmp(t, "<0x", 3) != 0 || t[5] != '>' ||
            tok_hex(t[3]) < 0 || tok_hex(t[4]) < 0)
            return tok_bad(f, err, "byte token %" PRId32 " '%.40s' is not "
                                   "of the form <0xHH>",
                           i, t);
    }
    for (int b = 0; b < 256; b++) {
        char hex[7], one = (char)b;
        snprintf(hex, sizeof hex, "<0x%02X>", b);
        v->byte_tok[b] = tok_find(v, hex, 6);
        if (v->byte_tok[b] < 0)
            v->byte_tok[b] = tok_find(v, &one, 1);
    }
    return FTSB_OK;
}

static ftsb_status tok_special_id(const struct gguf_file *f,
                                  const struct tok_vocab *v, const char *key,
                                  int32_t dflt, int32_t *out,
                                  struct lm_err *err)
{
    const struct gguf_kv *kv = gguf_find_kv(f, key);
    int64_t id;
    ftsb_status s;

    *out = dflt >= 0 && dflt < v->n ? dflt : -1;
    if (!kv)
        return FTSB_OK;
    if ((s = gguf_kv_int(f, kv, &id, err)))
        return s;
    if (id < 0 || id >= v->n)
        return tok_bad(f, err, "%s is %" PRId64 ", outside the %" PRId32
                               " tokens",
                       key, id, v->n);
    *out = (int32_t)id;
    return FTSB_OK;
}

static ftsb_status tok_flag(const struct gguf_file *f, const char *key,
                            bool *out, struct lm_err *err)
{
    return gguf_find_kv(f, key) ? gguf_get_bool(f, key, out, err) : FTSB_OK;
}

static ftsb_status tok_read_specials(const struct gguf_file *f,
                                     struct tok_vocab *v, struct lm_err *err)
{
    bool spm = v->model == TOK_MODEL_SPM;
    ftsb_status s;

    v->add_bos = spm || tok_bpe_adds_bos(f);
    v->add_eos = false;
    v->add_space_prefix = spm;
    if ((s = tok_special_id(f, v, "tokenizer.ggml.bos_token_id", spm ? 1 : -1,
                            &v->bos, err)) ||
        (s = tok_special_id(f, v, "tokenizer.ggml.eos_token_id", spm ? 2 : -1,
                            &v->eos, err)) ||
        (s = tok_special_id(f, v, "tokenizer.ggml.unknown_token_id",
                            spm ? 0 : -1, &v->unk, err)) ||
        (s = tok_special_id(f, v, "tokenizer.ggml.padding_token_id", -1,
                            &v->pad, err)) ||
        (s = tok_special_id(f, v, "tokenizer.ggml.eot_token_id", -1, &v->eot,
                            err)) ||
        (s = tok_flag(f, "tokenizer.ggml.add_bos_token", &v->add_bos, err)) ||
        (s = tok_flag(f, "tokenizer.ggml.add_eos_token", &v->add_eos, err)) ||
        (s = tok_flag(f, "tokenizer.ggml.add_space_prefix",
                      &v->add_space_prefix, err)))
        return s;
    if (v->add_bos && v->bos < 0)
        return tok_bad(f, err, "add_bos_token is true but there is no BOS "
                               "token");
    if (v->add_eos && v->eos < 0)
        return tok_bad(f, err, "add_eos_token is true but there is no EOS "
                               "token");
    for (size_t i = 0; v->eot < 0 && i < sizeof tok_eot_texts / sizeof *tok_eot_texts; i++)
        v->eot = tok_find(v, tok_eot_texts[i], strlen(tok_eot_texts[i]));
    if (v->eot == v->eos)
        v->eot = -1;
    return FTSB_OK;
}

static bool tok_is_special_type(uint8_t t)
{
    return t == TOK_TYPE_CONTROL || t == TOK_TYPE_UNKNOWN ||
           t == TOK_TYPE_USER_DEFINED;
}

static int tok_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * Longest text first (a token must not be cut out of a longer one), equal
 * lengths by id so the order is deterministic; the sort key packs both.
 */
static ftsb_status tok_list_specials(struct tok_vocab *v, struct lm_err *err)
{
    uint64_t *key;
    size_t n = 0;

    for (int32_t i = 0; i < v->n; i++)
        n += tok_is_special_type(v->type[i]);
    v->special = malloc((n ? n : 1) * sizeof *v->special);
    key = malloc((n ? n : 1) * sizeof *key);
    if (!v->special || !key) {
        free(key);
        return tok_nomem(err);
    }
    for (int32_t i = 0; i < v->n; i++) {
        if (tok_is_special_type(v->type[i]))
            key[v->n_special++] =
                (uint64_t)(UINT32_MAX - v->text_len[i]) << 32 | (uint32_t)i;
    }
    qsort(key, n, sizeof *key, tok_cmp_u64);
    for (size_t i = 0; i < n; i++)
        v->special[i] = (int32_t)(key[i] & 0xFFFFFFFFu);
    free(key);
    return FTSB_OK;
}

/* The decoded text of one token (special=true view), into dst. */
static size_t tok_make_piece(const struct tok_vocab *v, int32_t id, char *dst)
{
    const char *t = v->text + v->text_off[id];
    uint32_t n = v->text_len[id], k = 0;

    switch (v->type[id]) {
    case TOK_TYPE_NORMAL:
        if (v->model == TOK_MODEL_GPT2)
            return tok_bpe_decode_text(t, n, dst);
        for (uint32_t i = 0; i < n; i++) {
            if (i + 3 <= n && memcmp(t + i, tok_space, 3) == 0) {
                dst[k++] = ' ';
                i += 2;
            } else {
                dst[k++] = t[i];
            }
        }
        return k;
    case TOK_TYPE_BYTE:
        dst[0] = (char)(tok_hex(t[3]) * 16 + tok_hex(t[4]));
        return 1;
    case TOK_TYPE_CONTROL:
    case TOK_TYPE_UNKNOWN:
    case TOK_TYPE_USER_DEFINED:
        memcpy(dst, t, n);
        return n;
    default:
        return 0; /* unused and undefined tokens print nothing */
    }
}

static ftsb_status tok_pieces(struct tok_vocab *v, struct lm_err *err)
{
    size_t total = 0;

    for (int32_t i = 0; i < v->n; i++)
        total += v->text_len[i] + 1;
    v->piece = malloc(total);
    v->piece_off = malloc((size_t)v->n * sizeof *v->piece_off);
    v->piece_len = malloc((size_t)v->n * sizeof *v->piece_len);
    if (!v->piece || !v->piece_off || !v->piece_len)
        return tok_nomem(err);
    total = 0;
    for (int32_t i = 0; i < v->n; i++) {
        v->piece_off[i] = total;
        v->piece_len[i] = (uint32_t)tok_make_piece(v, i, v->piece + total);
        total += v->piece_len[i];
        v->piece[total++] = '\0';
    }
    return FTSB_OK;
}

ftsb_status tok_load(const struct gguf_file *f, struct tok_vocab **out,
                     struct lm_err *err)
{
    struct tok_vocab *v = calloc(1, sizeof *v);
    ftsb_status s;

    *out = NULL;
    if (!v)
        return tok_nomem(err);
    if (!(s = tok_read_model(f, v, err)) && !(s = tok_read_texts(f, v, err)) &&
        !(s = tok_read_scores(f, v, err)) && !(s = tok_read_types(f, v, err)) &&
        !(s = tok_index(f, v, err)) && !(s = tok_bytes(f, v, err)) &&
        !(s = tok_read_specials(f, v, err)) &&
        !(s = tok_list_specials(v, err)) &&
        (v->model != TOK_MODEL_GPT2 ||
         !(s = tok_bpe_load(f, v, &v->bpe, err))) &&
        !(s = tok_pieces(v, err))) {
        *out = v;
        return FTSB_OK;
    }
    tok_free(v);
    return s;
}

/* ---- special-token partition ------------------------------------------ */

static bool tok_frag_push(struct tok_frags *fr, int32_t id, size_t off,
                          size_t len)
{
    if (fr->n == fr->cap) {
        size_t cap = fr->cap ? fr->cap * 2 : 8;
        struct tok_frag *p = realloc(fr->v, cap * sizeof *p);
        if (!p)
            return false;
        fr->v = p;
        fr->cap = cap;
    }
    fr->v[fr->n++] = (struct tok_frag){id, off, len};
    return true;
}

/* Splits every text fragment of in at the occurrences of token id. */
static bool tok_split(const struct tok_vocab *v, const char *text,
                      int32_t id, const struct tok_frags *in,
                      struct tok_frags *out)
{
    const char *t = v->text + v->text_off[id];
    size_t tl = v->text_len[id];

    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        struct tok_frag fr = in->v[i];
        size_t off = fr.off, end = fr.off + fr.len;
        const char *hit;
        if (fr.id >= 0) {
            if (!tok_frag_push(out, fr.id, fr.off, fr.len))
                return false;
            continue;
        }
        while (off < end && (hit = memmem(text + off, end - off, t, tl))) {
            size_t at = (size_t)(hit - text);
            if ((at > off && !tok_frag_push(out, -1, off, at - off)) ||
                !tok_frag_push(out, id, at, tl))
                return false;
            off = at + tl;
        }
        if (off < end && !tok_frag_push(out, -1, off, end - off))
            return false;
    }
    return true;
}

static ftsb_status tok_partition(const struct tok_vocab *v, const char *text,
                                 size_t len, bool parse_special,
                                 struct tok_frags *fr, struct lm_err *err)
{
    struct tok_frags tmp = {0}, swap;

    fr->n = 0;
    if (len && !tok_frag_push(fr, -1, 0, len))
        return tok_nomem(err);
    for (size_t i = 0; i < v->n_special; i++) {
        int32_t id = v->special[i];
        if (!parse_special && v->type[id] != TOK_TYPE_USER_DEFINED)
            continue;
        if (v->text_len[id] == 0)
            continue;
        if (!tok_split(v, text, id, fr, &tmp)) {
            free(tmp.v);
            return tok_nomem(err);
        }
        swap = *fr;
        *fr = tmp;
        tmp = swap;
    }
    free(tmp.v);
    return FTSB_OK;
}

/* ---- SPM merges ------------------------------------------------------- */

struct tok_sym {
    int32_t prev, next;
    uint32_t start, n;
};

struct tok_pair {
    int32_t left, right;
    float score;
    uint32_t size;
};

struct tok_spm {
    const struct tok_vocab *v;
    const char *text;
    struct tok_sym *sym;
    int32_t n_sym;
    struct tok_pair *heap;
    size_t n_heap;
};

/* Heap order: higher score first, then the leftmost pair. */
static bool tok_pair_before(const struct tok_pair *a, const struct tok_pair *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void tok_heap_push(struct tok_spm *s, struct tok_pair p)
{
    size_t i = s->n_heap++;

    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!tok_pair_before(&p, &s->heap[up]))
            break;
        s->heap[i] = s->heap[up];
        i = up;
    }
    s->heap[i] = p;
}

static struct tok_pair tok_heap_pop(struct tok_spm *s)
{
    struct tok_pair top = s->heap[0], last = s->heap[--s->n_heap];
    size_t i = 0, n = s->n_heap;

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && tok_pair_before(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!tok_pair_before(&s->heap[c], &last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n)
        s->heap[i] = last;
    return top;
}

static void tok_try_pair(struct tok_spm *s, int32_t left, int32_t right)
{
    const struct tok_sym *l, *r;
    int32_t id;

    if (left < 0 || right < 0)
        return;
    l = &s->sym[left];
    r = &s->sym[right];
    id = tok_find(s->v, s->text + l->start, l->n + r->n);
    if (id < 0)
        return;
    tok_heap_push(s, (struct tok_pair){left, right, s->v->score[id],
                                       l->n + r->n});
}

static void tok_merge(struct tok_spm *s)
{
    while (s->n_heap) {
        struct tok_pair p = tok_heap_pop(s);
        struct tok_sym *l = &s->sym[p.left], *r = &s->sym[p.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != p.size)
            continue; /* stale: a side changed after the push */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            s->sym[r->next].prev = p.left;
        tok_try_pair(s, l->prev, p.left);
        tok_try_pair(s, p.left, l->next);
    }
}

static size_t tok_utf8_len(unsigned char c)
{
    static const uint8_t len[16] = {1, 1, 1, 1, 1, 1, 1, 1,
                                    1, 1, 1, 1, 2, 2, 3, 4};
    return len[c >> 4];
}

static ftsb_status tok_emit(const struct tok_spm *s, struct tok_ids *out,
                            struct lm_err *err)
{
    const struct tok_vocab *v = s->v;

    for (int32_t i = 0; s->n_sym && i >= 0; i = s->sym[i].next) {
        const struct tok_sym *y = &s->sym[i];
        int32_t id = tok_find(v, s->text + y->start, y->n);
        if (id >= 0) {
            if (tok_ids_push(out, id))
                return tok_nomem(err);
            continue;
        }
        for (uint32_t k = 0; k < y->n; k++) {
            unsigned char b = (unsigned char)s->text[y->start + k];
            id = v->byte_tok[b] >= 0 ? v->byte_tok[b] : v->unk;
            if (id < 0)
                return lm_fail(err, FTSB_E_FORMAT,
                               "the vocabulary has no token for byte 0x%02X "
                               "and no unknown token",
                               b);
            if (tok_ids_push(out, id))
                return tok_nomem(err);
        }
    }
    return FTSB_OK;
}

/* Tokenizes an escaped fragment (spaces already U+2581). */
static ftsb_status tok_spm_run(const struct tok_vocab *v, const char *text,
                               size_t len, struct tok_ids *out,
                               struct lm_err *err)
{
    struct tok_spm s = {.v = v, .text = text};
    ftsb_status st;
    size_t off = 0;

    s.sym = malloc((len ? len : 1) * sizeof *s.sym);
    s.heap = malloc((3 * len + 4) * sizeof *s.heap);
    if (!s.sym || !s.heap) {
        free(s.sym);
        free(s.heap);
        return tok_nomem(err);
    }
    while (off < len) {
        size_t n = tok_utf8_len((unsigned char)text[off]);
        if (n > len - off)
            n = len - off;
        s.sym[s.n_sym] = (struct tok_sym){s.n_sym - 1, -1, (uint32_t)off,
                                          (uint32_t)n};
        if (s.n_sym > 0)
            s.sym[s.n_sym - 1].next = s.n_sym;
        s.n_sym++;
        off += n;
    }
    for (int32_t i = 1; i < s.n_sym; i++)
        tok_try_pair(&s, i - 1, i);
    tok_merge(&s);
    st = tok_emit(&s, out, err);
    free(s.sym);
    free(s.heap);
    return st;
}

static ftsb_status tok_spm_fragment(const struct tok_vocab *v,
                                    const char *text, size_t len, bool prefix,
                                    struct tok_ids *out, struct lm_err *err)
{
    char *buf = malloc(3 * len + 4);
    size_t k = 0;
    ftsb_status s;

    if (!buf)
        return tok_nomem(err);
    if (prefix) {
        memcpy(buf, tok_space, 3);
        k = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(buf + k, tok_space, 3);
            k += 3;
        } else {
            buf[k++] = text[i];
        }
    }
    s = tok_spm_run(v, buf, k, out, err);
    free(buf);
    return s;
}

ftsb_status tok_encode(const struct tok_vocab *v, const char *text,
                       size_t len, unsigned flags, struct tok_ids *out,
                       struct lm_err *err)
{
    bool after_special = !(flags & TOK_AFTER_TEXT);
    struct tok_frags fr = {0};
    ftsb_status s;

    if (len > TOK_MAX_TEXT)
        return lm_fail(err, FTSB_E_INVALID,
                       "text of %zu bytes is too long to tokenize (the "
                       "limit is %u bytes)",
                       len, TOK_MAX_TEXT);
    if ((s = tok_partition(v, text, len, flags & TOK_PARSE_SPECIAL, &fr, err)))
        return s;
    if ((flags & TOK_ADD_SPECIAL) && v->add_bos) {
        if (tok_ids_push(out, v->bos))
            goto nomem;
        after_special = true;
    }
    for (size_t i = 0; i < fr.n; i++) {
        const struct tok_frag *g = &fr.v[i];
        if (g->id >= 0) {
            if (tok_ids_push(out, g->id))
                goto nomem;
            after_special = true;
            continue;
        }
        if (v->model == TOK_MODEL_GPT2)
            s = tok_bpe_encode(v->bpe, v, text + g->off, g->len, out, err);
        else
            s = tok_spm_fragment(v, text + g->off, g->len,
                                 v->add_space_prefix && after_special, out,
                                 err);
        if (s) {
            free(fr.v);
            return s;
        }
        after_special = false;
    }
    free(fr.v);
    if ((flags & TOK_ADD_SPECIAL) && v->add_eos && tok_ids_push(out, v->eos))
        return tok_nomem(err);
    return FTSB_OK;
nomem:
    free(fr.v);
    return tok_nomem(err);
}

/* ---- decoding --------------------------------------------------------- */

ftsb_status tok_piece(const struct tok_vocab *v, int32_t id, bool special,
                      const char **text, size_t *len)
{
    if (id < 0 || id >= v->n)
        return FTSB_E_INVALID;
    *text = v->piece + v->piece_off[id];
    *len = v->piece_len[id];
    if (!special && (v->type[id] == TOK_TYPE_CONTROL ||
                     v->type[id] == TOK_TYPE_UNKNOWN))
        *len = 0;
    return FTSB_OK;
}

ftsb_status tok_decode(const struct tok_vocab *v, const int32_t *ids,
                       size_t n, unsigned flags, char **out, size_t *out_len,
                       struct lm_err *err)
{
    bool strip = (flags & TOK_LSTRIP) && v->add_space_prefix;
    size_t total = 0, k = 0;
    char *buf;

    if ((flags & TOK_REMOVE_SPECIAL) && v->add_bos && n && ids[0] == v->bos) {
        strip = false;
        ids++;
        n--;
    }
    if ((flags & TOK_REMOVE_SPECIAL) && v->add_eos && n &&
        ids[n - 1] == v->eos)
        n--;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= v->n)
            return lm_fail(err, FTSB_E_INVALID,
                           "token id %" PRId32 " is outside the vocabulary "
                           "(0..%" PRId32 ")",
                           ids[i], v->n - 1);
        total += v->piece_len[ids[i]];
    }
    if (!(buf = malloc(total + 1)))
        return tok_nomem(err);
    for (size_t i = 0; i < n; i++) {
        const char *p = "";
        size_t len = 0;

        tok_piece(v, ids[i], flags & TOK_UNPARSE_SPECIAL, &p, &len);
        if (i == 0 && strip && len && p[0] == ' ')
            p++, len--;
        memcpy(buf + k, p, len);
        k += len;
    }
    buf[k] = '\0';
    *out = buf;
    *out_len = k;
    return FTSB_OK;
}
