/*
 * tokenizer_bpe.c - byte-level BPE (tokenizer.ggml.model = "gpt2"), as
 * llama.cpp's llm_tokenizer_bpe does it:
 *
 *  1. the fragment is decoded to code points (each invalid UTF-8 byte
 *     becomes U+FFFD, as llama.cpp's decoder does) and split into words by
 *     the pre-tokenizer: GPT-2's regex
 *         's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *     or Llama-3's ("llama-bpe"), both as hand-written scanners that
 *     follow llama.cpp's own (unicode.cpp), not a regex engine;
 *  2. each word's UTF-8 bytes are mapped to GPT-2's printable byte
 *     alphabet (bytes_to_unicode), so every byte is one character;
 *  3. adjacent symbols merge by the rank of their pair in
 *     tokenizer.ggml.merges, lowest rank first (ties: leftmost), until no
 *     ranked pair is left;
 *  4. each symbol is its token; a symbol without one contributes the
 *     tokens of its single bytes, if any (llama.cpp drops the rest).
 *
 * Llama-3 ("llama-bpe") also looks a whole word up before merging.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer_bpe.h"

enum tok_pre {
    TOK_PRE_GPT2 = 1,
    TOK_PRE_LLAMA3 = 2,
};

/* One merge "a b": a and b are ranges of the arena. */
struct tok_merge {
    uint32_t a_off, a_len, b_off, b_len;
};

struct tok_bpe {
    enum tok_pre pre;
    char *arena;
    struct tok_merge *m; /* index = rank */
    int32_t n;
    int32_t *slot; /* hash of (a, b) -> rank, or -1 */
    uint64_t mask;
    char enc[256][3]; /* byte -> UTF-8 of its printable stand-in */
    uint8_t enc_len[256];
    int16_t dec[324]; /* stand-in code point -> byte, or -1 */
};

static ftsb_status tok_bpe_nomem(struct lm_err *err)
{
    return lm_fail(err, FTSB_E_NOMEM, "out of memory in the tokenizer");
}

static size_t tok_utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves,
 * the other 68 bytes for U+0100.. in byte order.
 */
static void tok_bpe_alphabet(struct tok_bpe *b)
{
    uint32_t next = 256;

    for (int i = 0; i < 324; i++)
        b->dec[i] = -1;
    for (int c = 0; c < 256; c++) {
        bool self = (c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) ||
                    (c >= 0xAE);
        uint32_t cp = self ? (uint32_t)c : next++;
        b->enc_len[c] = (uint8_t)tok_utf8_put(cp, b->enc[c]);
        b->dec[cp] = (int16_t)c;
    }
}

static uint64_t tok_bpe_hash(const char *a, size_t na, const char *b, size_t nb)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < na; i++)
        h = (h ^ (unsigned char)a[i]) * 1099511628211ull;
    h = (h ^ 0x100) * 1099511628211ull;
    for (size_t i = 0; i < nb; i++)
        h = (h ^ (unsigned char)b[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static int32_t *tok_bpe_slot(const struct tok_bpe *b, const char *x,
                             size_t nx, const char *y, size_t ny)
{
    uint64_t h = tok_bpe_hash(x, nx, y, ny) & b->mask;

    for (;; h = (h + 1) & b->mask) {
        int32_t r = b->slot[h];
        const struct tok_merge *m;
        if (r < 0)
            return &b->slot[h];
        m = &b->m[r];
        if (m->a_len == nx && m->b_len == ny &&
            memcmp(b->arena + m->a_off, x, nx) == 0 &&
            memcmp(b->arena + m->b_off, y, ny) == 0)
            return &b->slot[h];
    }
}

static int32_t tok_bpe_rank(const struct tok_bpe *b, const char *x, size_t nx,
                            const char *y, size_t ny)
{
    return *tok_bpe_slot(b, x, nx, y, ny);
}

/* Pre-tokenizer names llama.cpp maps to the two scanners here. */
static enum tok_pre tok_bpe_pre_of(const struct gguf_str *p)
{
    static const char *const gpt2[] = {"gpt-2", "phi-2", "mpt", "olmo",
                                       "jais"};
    static const char *const llama3[] = {"llama3", "llama-v3", "llama-bpe",
                                         "dbrx", "smaug-bpe"};

    for (size_t i = 0; i < sizeof gpt2 / sizeof *gpt2; i++) {
        if (p->len == strlen(gpt2[i]) && memcmp(p->ptr, gpt2[i], p->len) == 0)
            return TOK_PRE_GPT2;
    }
    for (size_t i = 0; i < sizeof llama3 / sizeof *llama3; i++) {
        if (p->len == strlen(llama3[i]) &&
            memcmp(p->ptr, llama3[i], p->len) == 0)
            return TOK_PRE_LLAMA3;
    }
    return 0;
}

bool tok_bpe_adds_bos(const struct gguf_file *f)
{
    struct gguf_str p;
    struct lm_err err;

    return gguf_find_kv(f, "tokenizer.ggml.pre") &&
           gguf_get_str(f, "tokenizer.ggml.pre", &p, &err) == FTSB_OK &&
           tok_bpe_pre_of(&p) == TOK_PRE_LLAMA3;
}

static ftsb_status tok_bpe_pre(const struct gguf_file *f, struct tok_bpe *b,
                               struct lm_err *err)
{
    struct gguf_str p = {"", 0};
    ftsb_status s;

    if (gguf_find_kv(f, "tokenizer.ggml.pre") &&
        (s = gguf_get_str(f, "tokenizer.ggml.pre", &p, err)))
        return s;
    if ((b->pre = tok_bpe_pre_of(&p)))
        return FTSB_OK;
    {
        char shown[GGUF_SHOW_BUF];

        return lm_fail(err, FTSB_E_UNSUPPORTED,
                       "'%s': unsupported pre-tokenizer '%s' for tokenizer "
                       "model 'gpt2' (this engine implements 'gpt-2' and "
                       "'llama-bpe')", gguf_name(f),
                       gguf_str_show(p, 40, shown, sizeof shown));
    }
}

/* Splits "a b" at the first space after the first byte, like llama.cpp. */
static void tok_bpe_split(const struct gguf_str *s, size_t off,
                          struct tok_merge *m)
{
    const char *sp = s->len > 1 ? memchr(s->ptr + 1, ' ', s->len - 1) : NULL;
    size_t at = sp ? (size_t)(sp - s->ptr) : 0;

    m->a_off = (uint32_t)off;
    m->a_len = sp ? (uint32_t)at : 0;
    m->b_off = (uint32_t)(off + at + 1);
    m->b_len = sp ? (uint32_t)(s->len - at - 1) : 0;
}

static ftsb_status tok_bpe_merges(const struct gguf_file *f,
                                  struct tok_bpe *b, struct lm_err *err)
{
    const struct gguf_kv *kv;
    struct gguf_str *s;
    uint64_t cap = 16;
    size_t total = 0;
    ftsb_status st;

    if ((st = gguf_get_arr(f, "tokenizer.ggml.merges", GGUF_TYPE_STRING, &kv,
                           err)))
        return st;
    if (kv->count > (1u << 24))
        return lm_fail(err, FTSB_E_FORMAT, "'%s': %" PRIu64 " merges is too "
                                           "many",
                       gguf_name(f), kv->count);
    b->n = (int32_t)kv->count;
    if (!(s = malloc((kv->count ? kv->count : 1) * sizeof *s)))
        return tok_bpe_nomem(err);
    if ((st = gguf_arr_str(f, kv, s, err))) {
        free(s);
        return st;
    }
    for (int32_t i = 0; i < b->n; i++)
        total += s[i].len + 1;
    while (cap < 2 * (uint64_t)b->n)
        cap *= 2;
    b->arena = malloc(total ? total : 1);
    b->m = malloc((b->n ? (size_t)b->n : 1) * sizeof *b->m);
    b->slot = malloc(cap * sizeof *b->slot);
    if (!b->arena || !b->m || !b->slot || total > UINT32_MAX) {
        free(s);
        return tok_bpe_nomem(err);
    }
    memset(b->slot, 0xFF, cap * sizeof *b->slot);
    b->mask = cap - 1;
    total = 0;
    for (int32_t i = 0; i < b->n; i++) {
        int32_t *slot;
        memcpy(b->arena + total, s[i].ptr, s[i].len);
        tok_bpe_split(&s[i], total, &b->m[i]);
        total += s[i].len + 1;
        slot = tok_bpe_slot(b, b->arena + b->m[i].a_off, b->m[i].a_len,
                            b->arena + b->m[i].b_off, b->m[i].b_len);
        if (*slot < 0) /* the first rank of a repeated pair wins */
            *slot = i;
    }
    free(s);
    return FTSB_OK;
}

ftsb_status tok_bpe_load(const struct gguf_file *f, const struct tok_vocab *v,
                         struct tok_bpe **out, struct lm_err *err)
{
    struct tok_bpe *b = calloc(1, sizeof *b);
    ftsb_status s;

    (void)v;
    *out = NULL;
    if (!b)
        return tok_bpe_nomem(err);
    tok_bpe_alphabet(b);
    if ((s = tok_bpe_pre(f, b, err)) || (s = tok_bpe_merges(f, b, err))) {
        tok_bpe_free(b);
        return s;
    }
    *out = b;
    return FTSB_OK;
}

void tok_bpe_free(struct tok_bpe *b)
{
    if (!b)
        return;
    free(b->arena);
    free(b->m);
    free(b->slot);
    free(b);
}

/* The byte a stand-in code point stands for, or -1. */
static int tok_bpe_byte(uint32_t cp)
{
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) ||
        (cp >= 0xAE && cp <= 0xFF))
        return (int)cp;
    if (cp < 256 || cp >= 256 + 68)
        return -1;
    cp -= 256;
    return cp < 33 ? (int)cp : cp < 67 ? (int)(0x7F + cp - 33) : 0xAD;
}

/* Strict enough for token texts: a code point and its length. */
static uint32_t tok_bpe_cp(const unsigned char *p, size_t n, size_t *len)
{
    size_t want = p[0] < 0x80 ? 1 : p[0] < 0xE0 ? 2 : p[0] < 0xF0 ? 3 : 4;
    uint32_t cp;

    if (want > n || (p[0] >= 0x80 && p[0] < 0xC0)) {
        *len = 1;
        return 0xFFFFFFFF;
    }
    cp = want == 1 ? p[0] : want == 2 ? p[0] & 0x1Fu
                        : want == 3 ? p[0] & 0x0Fu : p[0] & 0x07u;
    for (size_t i = 1; i < want; i++)
        cp = (cp << 6) | (p[i] & 0x3Fu);
    *len = want;
    return cp;
}

size_t tok_bpe_decode_text(const char *t, size_t n, char *dst)
{
    const unsigned char *p = (const unsigned char *)t;
    size_t k = 0, i = 0;

    while (i < n) {
        size_t len;
        int byte = tok_bpe_byte(tok_bpe_cp(p + i, n - i, &len));
        /* a character outside the alphabet is kept as it is */
        if (byte >= 0) {
            dst[k++] = (char)byte;
        } else {
            memcpy(dst + k, p + i, len);
            k += len;
        }
        i += len;
    }
    return k;
}

/* ---- pre-tokenizers ---------------------------------------------------- */

/*
 * llama.cpp's UTF-8 decoder: a well-formed 1-4 byte sequence gives its
 * value (overlong forms and surrogates included), anything else consumes
 * one byte and gives U+FFFD.  Values past U+10FFFF become U+FFFD too
 * (llama.cpp throws on them later).
 */
static size_t tok_bpe_cpts(const char *s, size_t n, uint32_t *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k = 0;

    while (i < n) {
        unsigned c = p[i];
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2
                               : (c & 0xF0) == 0xE0   ? 3
                               : (c & 0xF8) == 0xF0   ? 4
                                                      : 0;
        uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1Fu
                                   : len == 3 ? c & 0x0Fu : c & 0x07u;
        bool ok = len > 0 && len <= n - i;
        for (size_t j = 1; ok && j < len; j++) {
            ok = (p[i + j] & 0xC0) == 0x80;
            cp = (cp << 6) | (p[i + j] & 0x3Fu);
        }
        if (!ok) {
            out[k++] = 0xFFFD;
            i++;
            continue;
        }
        out[k++] = cp > 0x10FFFF ? 0xFFFD : cp;
        i += len;
    }
    return k;
}

/* Code points [0, n) and their classes; past the end is "nothing". */
struct tok_scan {
    const uint32_t *cp;
    const uint8_t *cls;
    size_t n;
};

#define TOK_NONE 0xFFFFFFFFu

static uint32_t tok_at(const struct tok_scan *s, size_t i)
{
    return i < s->n ? s->cp[i] : TOK_NONE;
}

static bool tok_is(const struct tok_scan *s, size_t i, enum tok_class c)
{
    return i < s->n && s->cls[i] == c;
}

/* [^\s\p{L}\p{N}] inside the fragment */
static bool tok_is_other(const struct tok_scan *s, size_t i)
{
    return i < s->n && s->cls[i] == TOK_CLASS_OTHER;
}

static uint32_t tok_lower(uint32_t c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* 's 't 're 've 'm 'll 'd at i: its length, or 0. */
static size_t tok_contraction(const struct tok_scan *s, size_t i, bool fold)
{
    uint32_t a, b;

    if (tok_at(s, i) != '\'' || i + 1 >= s->n)
        return 0;
    a = tok_at(s, i + 1);
    b = tok_at(s, i + 2);
    if (fold) {
        a = tok_lower(a);
        b = tok_lower(b);
    }
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if (i + 2 < s->n && ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') ||
                         (a == 'l' && b == 'l')))
        return 3;
    return 0;
}

/* \s+(?!\S) | \s+ from i: the end of the match, or i when none. */
static size_t tok_spaces(const struct tok_scan *s, size_t i)
{
    size_t n = 0;

    while (tok_is(s, i + n, TOK_CLASS_SPACE))
        n++;
    if (n > 1 && i + n < s->n)
        return i + n - 1;
    return i + n;
}

/* One GPT-2 word starting at i; returns its end. */
static size_t tok_word_gpt2(const struct tok_scan *s, size_t i)
{
    size_t j = i + (tok_at(s, i) == ' '), k = tok_contraction(s, i, false);
    enum tok_class c;

    if (k)
        return i + k;
    c = j < s->n ? (enum tok_class)s->cls[j] : TOK_CLASS_SPACE;
    if (j < s->n && c != TOK_CLASS_SPACE) {
        while (j < s->n && s->cls[j] == c)
            j++;
        return j;
    }
    k = tok_spaces(s, i);
    return k > i ? k : i + 1;
}

/* One Llama-3 word starting at i; returns its end. */
static size_t tok_word_llama3(const struct tok_scan *s, size_t i)
{
    uint32_t c = tok_at(s, i);
    size_t j = i, k = tok_contraction(s, i, true), last_nl = 0;

    if (k)
        return i + k;
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (c != '\r' && c != '\n' && !tok_is(s, i, TOK_CLASS_NUMBER) &&
        (tok_is(s, i, TOK_CLASS_LETTER) || tok_is(s, i + 1, TOK_CLASS_LETTER))) {
        j++;
        while (tok_is(s, j, TOK_CLASS_LETTER))
            j++;
        return j;
    }
    /* \p{N}{1,3} */
    if (tok_is(s, i, TOK_CLASS_NUMBER)) {
        while (j < i + 3 && tok_is(s, j, TOK_CLASS_NUMBER))
            j++;
        return j;
    }
    /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
    j = i + (c == ' ');
    if (tok_is_other(s, j)) {
        while (tok_is_other(s, j))
            j++;
        while (tok_at(s, j) == '\r' || tok_at(s, j) == '\n')
            j++;
        return j;
    }
    /* \s*[\r\n]+ | \s+(?!\S) | \s+ */
    for (j = i; tok_is(s, j, TOK_CLASS_SPACE); j++) {
        if (tok_at(s, j) == '\r' || tok_at(s, j) == '\n')
            last_nl = j + 1;
    }
    if (last_nl)
        return last_nl;
    k = tok_spaces(s, i);
    return k > i ? k : i + 1;
}

/* ---- merging ----------------------------------------------------------- */

struct tok_bsym {
    int32_t prev, next;
    uint32_t start, n;
};

struct tok_bpair {
    int32_t left, right, rank;
    uint32_t size;
};

struct tok_bpe_run {
    const struct tok_bpe *b;
    const char *w; /* the byte-mapped word */
    struct tok_bsym *sym;
    int32_t n_sym;
    struct tok_bpair *heap;
    size_t n_heap;
};

static bool tok_bpair_before(const struct tok_bpair *x, const struct tok_bpair *y)
{
    return x->rank < y->rank || (x->rank == y->rank && x->left < y->left);
}

static void tok_bheap_push(struct tok_bpe_run *r, struct tok_bpair p)
{
    size_t i = r->n_heap++;

    while (i > 0 && tok_bpair_before(&p, &r->heap[(i - 1) / 2])) {
        r->heap[i] = r->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    r->heap[i] = p;
}

static struct tok_bpair tok_bheap_pop(struct tok_bpe_run *r)
{
    struct tok_bpair top = r->heap[0], last = r->heap[--r->n_heap];
    size_t i = 0, n = r->n_heap;

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && tok_bpair_before(&r->heap[c + 1], &r->heap[c]))
            c++;
        if (!tok_bpair_before(&r->heap[c], &last))
            break;
        r->heap[i] = r->heap[c];
        i = c;
    }
    if (n)
        r->heap[i] = last;
    return top;
}

static void tok_bpe_pair(struct tok_bpe_run *r, int32_t left, int32_t right)
{
    const struct tok_bsym *l, *x;
    int32_t rank;

    if (left < 0 || right < 0)
        return;
    l = &r->sym[left];
    x = &r->sym[right];
    rank = tok_bpe_rank(r->b, r->w + l->start, l->n, r->w + x->start, x->n);
    if (rank >= 0)
        tok_bheap_push(r, (struct tok_bpair){left, right, rank, l->n + x->n});
}

static void tok_bpe_merge(struct tok_bpe_run *r)
{
    while (r->n_heap) {
        struct tok_bpair p = tok_bheap_pop(r);
        struct tok_bsym *l = &r->sym[p.left], *x = &r->sym[p.right];
        if (l->n == 0 || x->n == 0 || l->n + x->n != p.size)
            continue; /* outdated */
        l->n += x->n;
        x->n = 0;
        l->next = x->next;
        if (x->next >= 0)
            r->sym[x->next].prev = p.left;
        tok_bpe_pair(r, l->prev, p.left);
        tok_bpe_pair(r, p.left, l->next);
    }
}

static ftsb_status tok_bpe_emit(const struct tok_bpe_run *r,
                                const struct tok_vocab *v,
                                struct tok_ids *out)
{
    for (int32_t i = 0; r->n_sym && i >= 0; i = r->sym[i].next) {
        const struct tok_bsym *y = &r->sym[i];
        int32_t id = tok_find(v, r->w + y->start, y->n);
        if (id >= 0) {
            if (tok_ids_push(out, id))
                return FTSB_E_NOMEM;
            continue;
        }
        for (uint32_t k = 0; k < y->n; k++) {
            id = tok_find(v, r->w + y->start + k, 1);
            if (id >= 0 && tok_ids_push(out, id))
                return FTSB_E_NOMEM;
        }
    }
    return FTSB_OK;
}

/* Merges one byte-mapped word w[0..len) and appends its ids. */
static ftsb_status tok_bpe_word(const struct tok_bpe *b,
                                const struct tok_vocab *v, const char *w,
                                size_t len, struct tok_ids *out,
                                struct lm_err *err)
{
    struct tok_bpe_run r = {.b = b, .w = w};
    size_t off = 0, n;
    ftsb_status s;
    int32_t id;

    if (b->pre == TOK_PRE_LLAMA3 && (id = tok_find(v, w, len)) >= 0)
        return tok_ids_push(out, id) ? tok_bpe_nomem(err) : FTSB_OK;
    r.sym = malloc((len ? len : 1) * sizeof *r.sym);
    r.heap = malloc((3 * len + 4) * sizeof *r.heap);
    if (!r.sym || !r.heap) {
        free(r.sym);
        free(r.heap);
        return tok_bpe_nomem(err);
    }
    while (off < len) {
        tok_bpe_cp((const unsigned char *)w + off, len - off, &n);
        r.sym[r.n_sym] = (struct tok_bsym){r.n_sym - 1, -1, (uint32_t)off,
                                           (uint32_t)n};
        if (r.n_sym)
            r.sym[r.n_sym - 1].next = r.n_sym;
        r.n_sym++;
        off += n;
    }
    for (int32_t i = 1; i < r.n_sym; i++)
        tok_bpe_pair(&r, i - 1, i);
    tok_bpe_merge(&r);
    s = tok_bpe_emit(&r, v, out);
    free(r.sym);
    free(r.heap);
    return s ? tok_bpe_nomem(err) : FTSB_OK;
}

/* Maps the code points [i, j) to byte-level characters in buf. */
static size_t tok_bpe_map(const struct tok_bpe *b, const uint32_t *cp,
                          size_t i, size_t j, char *buf)
{
    size_t k = 0;

    for (; i < j; i++) {
        char u[4];
        size_t n = tok_utf8_put(cp[i], u);
        for (size_t m = 0; m < n; m++) {
            unsigned char byte = (unsigned char)u[m];
            memcpy(buf + k, b->enc[byte], b->enc_len[byte]);
            k += b->enc_len[byte];
        }
    }
    return k;
}

ftsb_status tok_bpe_encode(const struct tok_bpe *b, const struct tok_vocab *v,
                           const char *text, size_t len, struct tok_ids *out,
                           struct lm_err *err)
{
    uint32_t *cp = malloc((len ? len : 1) * sizeof *cp);
    uint8_t *cls = malloc(len ? len : 1);
    char *buf = malloc(8 * (len ? len : 1));
    struct tok_scan s = {cp, cls, 0};
    ftsb_status st = FTSB_OK;

    if (!cp || !cls || !buf) {
        st = tok_bpe_nomem(err);
        goto done;
    }
    s.n = tok_bpe_cpts(text, len, cp);
    for (size_t i = 0; i < s.n; i++)
        cls[i] = (uint8_t)tok_cpt_class(cp[i]);
    for (size_t i = 0, j; !st && i < s.n; i = j) {
        j = b->pre == TOK_PRE_LLAMA3 ? tok_word_llama3(&s, i)
                                     : tok_word_gpt2(&s, i);
        st = tok_bpe_word(b, v, buf, tok_bpe_map(b, cp, i, j, buf), out, err);
    }
done:
    free(cp);
    free(cls);
    free(buf);
    return st;
}
