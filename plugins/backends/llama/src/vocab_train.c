/*
 * vocab_train.c - byte-pair encoding trained so that the SPM tokenizer
 * reproduces it (vocab_train.h).  The texts are cut into words, counted
 * once per occurrence, and each distinct word is kept as its current cut
 * into symbols.  A merge takes the most frequent adjacent pair - counted
 * by the string it spells, because SPM merges any adjacent pair whose
 * concatenation is a token, whatever the split - and adds that string T
 * as the next piece, with a score below every piece before it.  Why SPM
 * then cuts every word as the trainer did: (1) no token spans a word
 * boundary - pieces are made inside words, the boundary rule looks only
 * at the two characters beside it, so a string across a boundary
 * contains one and is no piece; and no piece begins or ends "<unk>",
 * "<s>", "</s>" or "<0xHH>" (vt_special_part), so SPM cannot build those
 * from pieces - hence SPM cuts a text word by word; (2) the trainer keeps
 * each word cut exactly as SPM's loop (tokenizer.c: best score first,
 * leftmost on ties) leaves it with the pieces so far: with T added at the
 * lowest score, SPM does everything it did before first (reaching the
 * current cut) and only then merges the pairs spelling T, and whatever
 * older pieces those merges make possible; the trainer resumes that same
 * loop on the current cut of each word that holds a pair spelling T.
 * Most of the time this is plain BPE (all occurrences of (L, R) merged);
 * the loop also covers where BPE and SPM could part (T spelled by another
 * split, a merge that lets an older piece form).  It is incremental: each
 * candidate string keeps its weighted count and the list of words it has
 * appeared in, a merge re-cuts only the words on the chosen string's list
 * and changes counts by the difference, and a lazy max-heap ordered by
 * (count, bytes) finds the next merge.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"
#include "vocab_train.h"

#define VT_RARE 0x80000000u /* symbol flag: a character left to bytes */
#define VT_SPACE_CP 0x2581u

/* U+2581, SentencePiece's visible space (the dummy prefix and ' '). */
static const char vt_space[] = "\xE2\x96\x81";

static ftsb_status vt_nomem(struct lm_err *err)
{
    return lm_fail(err, FTSB_E_NOMEM, "out of memory training a vocabulary");
}

/* ptr grown to hold need elements of elem bytes (doubling), or NULL with
 * ptr and *cap unchanged. */
static void *vt_regrow(void *ptr, size_t *cap, size_t need, size_t elem)
{
    size_t c = *cap ? *cap : 16;
    void *p;

    if (need <= *cap)
        return ptr;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem)
            return NULL;
        c *= 2;
    }
    if (!(p = realloc(ptr, c * elem)))
        return NULL;
    *cap = c;
    return p;
}

/* Grows array p (capacity cap, a size_t lvalue) to need elements; 0 when
 * out of memory.  The pointer is passed by address and copied with
 * memcpy, so any element type works without aliasing casts. */
#define VT_GROW(p, cap, need)                                               \
    ((need) <= (cap) || vt_grow_into((void *)&(p), &(cap), (need),          \
                                     sizeof *(p)))

/* VT_GROW's worker: *slot holds the pointer (copied, not aliased). */
static int vt_grow_into(void *slot, size_t *cap, size_t need, size_t elem)
{
    void *old, *p;

    memcpy(&old, slot, sizeof old);
    if (!(p = vt_regrow(old, cap, need, elem)))
        return 0;
    memcpy(slot, &p, sizeof p);
    return 1;
}

/* ---- interned strings -------------------------------------------------- */

/* A set of byte strings, each with a dense id (insertion order). */
struct vt_tab {
    char *arena;
    size_t arena_len, arena_cap;
    size_t *off;
    uint32_t *len;
    size_t n, cap;
    int32_t *slot; /* open addressing: id or -1 */
    size_t mask;
};

static uint64_t vt_hash(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h ^ (h >> 31);
}

static int32_t *vt_tab_slot(const struct vt_tab *t, const char *s, size_t n)
{
    size_t h = (size_t)vt_hash(s, n) & t->mask;

    for (;; h = (h + 1) & t->mask) {
        int32_t id = t->slot[h];
        if (id < 0 ||
            (t->len[id] == n && memcmp(t->arena + t->off[id], s, n) == 0))
            return &t->slot[h];
    }
}

static int32_t vt_find(const struct vt_tab *t, const char *s, size_t n)
{
    return t->slot ? *vt_tab_slot(t, s, n) : -1;
}

static const char *vt_str(const struct vt_tab *t, int32_t id)
{
    return t->arena + t->off[id];
}

static bool vt_rehash(struct vt_tab *t, size_t slots)
{
    int32_t *s = malloc(slots * sizeof *s);

    if (!s)
        return false;
    free(t->slot);
    t->slot = s;
    t->mask = slots - 1;
    memset(s, 0xFF, slots * sizeof *s);
    for (size_t i = 0; i < t->n; i++)
        *vt_tab_slot(t, t->arena + t->off[i], t->len[i]) = (int32_t)i;
    return true;
}

/*
 * The id of s[0..n), added when new (*added says which).  s must not point
 * into t's own arena, which may move.  False when out of memory.
 */
static bool vt_add(struct vt_tab *t, const char *s, size_t n, int32_t *id,
                   bool *added)
{
    int32_t *slot;
    size_t cap;

    *added = false;
    if (!t->slot && !vt_rehash(t, 1024))
        return false;
    slot = vt_tab_slot(t, s, n);
    if (*slot >= 0) {
        *id = *slot;
        return true;
    }
    if (t->n >= INT32_MAX - 1)
        return false;
    if (t->n == t->cap) {
        cap = t->cap;
        if (!VT_GROW(t->off, cap, t->n + 1))
            return false;
        cap = t->cap;
        if (!VT_GROW(t->len, cap, t->n + 1))
            return false;
        t->cap = cap;
    }
    if (!VT_GROW(t->arena, t->arena_cap, t->arena_len + n))
        return false;
    memcpy(t->arena + t->arena_len, s, n);
    t->off[t->n] = t->arena_len;
    t->len[t->n] = (uint32_t)n;
    t->arena_len += n;
    *slot = (int32_t)t->n;
    *id = (int32_t)t->n++;
    *added = true;
    if (2 * t->n > t->mask + 1 && !vt_rehash(t, 2 * (t->mask + 1)))
        return false;
    return true;
}

static void vt_tab_free(struct vt_tab *t)
{
    free(t->arena);
    free(t->off);
    free(t->len);
    free(t->slot);
}

/* ---- characters and words ---------------------------------------------- */

/* The code point at s (valid UTF-8) and its length in *n. */
static uint32_t vt_cp(const char *p, size_t *n)
{
    const unsigned char *s = (const unsigned char *)p;

    if (s[0] < 0x80) {
        *n = 1;
        return s[0];
    }
    if (s[0] < 0xE0) {
        *n = 2;
        return (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
    }
    if (s[0] < 0xF0) {
        *n = 3;
        return (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 |
               (s[2] & 0x3F);
    }
    *n = 4;
    return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
           (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
}

enum { VT_LETTER, VT_BREAK, VT_DIGIT, VT_CTRL, VT_PUNCT };

/* The class of a character; pieces stay inside one class, so "d." or
 * "\nThe" never take a slot of a small vocabulary. */
static int vt_class(uint32_t c)
{
    if (c == '\n' || c == '\r')
        return VT_BREAK;
    if (c >= '0' && c <= '9')
        return VT_DIGIT;
    if (c < 0x20 || c == 0x7F)
        return VT_CTRL;
    if (c < 0x80)
        return (c | 0x20) >= 'a' && (c | 0x20) <= 'z' ? VT_LETTER : VT_PUNCT;
    if ((c >= 0xA0 && c <= 0xBF) || c == 0xD7 || c == 0xF7 ||
        (c >= 0x2000 && c <= 0x206F) || (c >= 0x3000 && c <= 0x303F) ||
        (c >= 0xFF01 && c <= 0xFF0F))
        return VT_PUNCT; /* Latin-1, general and CJK punctuation */
    return VT_LETTER;
}

/* Whether a word ends between prev and c (a function of the two only:
 * that is what keeps tokens inside words, see the top of the file). */
static bool vt_boundary(uint32_t prev, uint32_t c)
{
    if (c == VT_SPACE_CP)
        return true;
    if (prev == VT_SPACE_CP)
        return vt_class(c) == VT_BREAK;
    return vt_class(prev) != vt_class(c);
}

/* The end of the word that starts at t[at] (at < n). */
static size_t vt_word_end(const char *t, size_t n, size_t at)
{
    size_t k;
    uint32_t prev = vt_cp(t + at, &k);

    for (at += k; at < n; at += k) {
        uint32_t c = vt_cp(t + at, &k);
        if (vt_boundary(prev, c))
            break;
        prev = c;
    }
    return at;
}

/* SentencePiece's normalisation as the tokenizer applies it: "▁" + s with
 * ' ' -> "▁".  out holds 3 * n + 3 bytes. */
static size_t vt_normalize(const char *s, size_t n, char *out)
{
    size_t k = 3;

    memcpy(out, vt_space, 3);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') {
            memcpy(out + k, vt_space, 3);
            k += 3;
        } else {
            out[k++] = s[i];
        }
    }
    return k;
}

/* Whether s[0..n) matches pat[at..at+n), '_' in pat being a hex digit. */
static bool vt_match(const char *s, size_t n, const char *pat, size_t at)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i], p = pat[at + i];
        if (p == '_' ? !((c >= '0' && c <= '9') ||
                         ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'))
                     : c != p)
            return false;
    }
    return true;
}

/*
 * True when s[0..n) (two characters or more) begins or ends the text of
 * one of the 259 base tokens.  Such strings never become pieces: SPM
 * builds a token from two adjacent symbols, one of which would have to be
 * a beginning and the other an end of that text, and single characters
 * are too short, so "<s>" or "<0x41>" in the text stays ordinary text (a
 * piece "<0x41>" would also duplicate the byte token).
 */
static bool vt_special_part(const char *s, size_t n)
{
    static const char *const sp[] = {"<unk>", "<s>", "</s>", "<0x__>"};

    for (size_t i = 0; i < sizeof sp / sizeof *sp; i++) {
        size_t len = strlen(sp[i]);
        if (n <= len && (vt_match(s, n, sp[i], 0) ||
                         vt_match(s, n, sp[i], len - n)))
            return true;
    }
    return false;
}

/* ---- the trainer ------------------------------------------------------- */

struct vt_word {
    uint64_t freq;
    size_t sym;     /* its symbols: vt.sym[sym .. sym + n_sym) */
    uint32_t n_sym;
    uint32_t stamp; /* the merge step that last re-cut it */
};

/* A candidate: a string that two adjacent symbols spell somewhere. */
struct vt_cand {
    int64_t count;  /* weighted occurrences as an adjacent pair now */
    int64_t delta;  /* pending change in this step */
    uint64_t mark;  /* vt.op of the last word update that saw it */
    uint32_t tstep; /* the step whose delta it holds */
    int32_t rank;   /* merge rank once it is a piece, else -1 */
    int32_t head;   /* its word list in vt.node, -1 when empty */
    bool forbidden; /* part of a base token's text: never merged */
};

struct vt_char {
    uint64_t count;
    int32_t id; /* token id, or -1: left to byte tokens */
};

struct vt_node {
    int32_t word, next;
};

struct vt_ent {
    int64_t count;
    int32_t cand;
};

/* Symbols and pairs of the SPM loop run on one word. */
struct vt_sym {
    int32_t prev, next;
    uint32_t start, n;
    bool rare;
};

struct vt_pair {
    int32_t rank, left, right;
    uint32_t size;
};

struct vt {
    struct vt_tab words, cands, chars;
    struct vt_word *word;
    size_t word_cap;
    struct vt_cand *cand;
    size_t cand_cap;
    struct vt_char *chr;
    size_t chr_cap;
    uint32_t *sym; /* byte length of each symbol, | VT_RARE */
    size_t n_sym, sym_cap;
    struct vt_node *node;
    size_t n_node, node_cap;
    struct vt_ent *heap;
    size_t n_heap, heap_cap;
    int32_t *touched;
    size_t n_touched, touched_cap;
    struct vt_sym *ws;   /* scratch for one word (max_sym) */
    struct vt_pair *wp;  /* its pair heap (3 * max_sym + 4) */
    uint32_t *old;       /* its cut before the update */
    size_t n_wp;
    uint32_t max_sym;
    int32_t *piece;      /* the candidate of each merge rank */
    int32_t n_merges, base_id;
    uint64_t op;   /* word updates so far */
    uint32_t step; /* merge steps so far (1: the first count) */
};

static void vt_free(struct vt *t)
{
    vt_tab_free(&t->words);
    vt_tab_free(&t->cands);
    vt_tab_free(&t->chars);
    free(t->word);
    free(t->cand);
    free(t->chr);
    free(t->sym);
    free(t->node);
    free(t->heap);
    free(t->touched);
    free(t->ws);
    free(t->wp);
    free(t->old);
    free(t->piece);
}

/* Byte order of two candidates' strings (a prefix first). */
static int vt_cmp_cand(const struct vt *t, int32_t a, int32_t b)
{
    uint32_t la = t->cands.len[a], lb = t->cands.len[b];
    int c = memcmp(vt_str(&t->cands, a), vt_str(&t->cands, b),
                   la < lb ? la : lb);

    return c ? c : (la > lb) - (la < lb);
}

/* Heap order: more occurrences first, then lower bytes - the tie-break
 * that makes the result the same everywhere. */
static bool vt_ent_before(const struct vt *t, const struct vt_ent *a,
                          const struct vt_ent *b)
{
    if (a->count != b->count)
        return a->count > b->count;
    return vt_cmp_cand(t, a->cand, b->cand) < 0;
}

static bool vt_heap_push(struct vt *t, int64_t count, int32_t cand)
{
    struct vt_ent e = {count, cand};
    size_t i;

    if (!VT_GROW(t->heap, t->heap_cap, t->n_heap + 1))
        return false;
    for (i = t->n_heap++; i > 0; i = (i - 1) / 2) {
        if (!vt_ent_before(t, &e, &t->heap[(i - 1) / 2]))
            break;
        t->heap[i] = t->heap[(i - 1) / 2];
    }
    t->heap[i] = e;
    return true;
}

static struct vt_ent vt_heap_pop(struct vt *t)
{
    struct vt_ent top = t->heap[0], last = t->heap[--t->n_heap];
    size_t i = 0, n = t->n_heap;

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && vt_ent_before(t, &t->heap[c + 1], &t->heap[c]))
            c++;
        if (!vt_ent_before(t, &t->heap[c], &last))
            break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (n)
        t->heap[i] = last;
    return top;
}

/*
 * The best candidate, or -1 when none occurs twice.  Entries are lazy: a
 * count that dropped since the push is pushed again at its new value (so
 * every live candidate always has an entry at or above its count), one
 * that rose has a newer entry and is dropped.
 */
static int32_t vt_best(struct vt *t, bool *nomem)
{
    while (t->n_heap) {
        struct vt_ent e = vt_heap_pop(t);
        struct vt_cand *c = &t->cand[e.cand];
        if (c->rank >= 0 || c->count > e.count)
            continue;
        if (c->count == e.count)
            return e.cand;
        if (c->count >= 2 && !vt_heap_push(t, c->count, e.cand)) {
            *nomem = true;
            return -1;
        }
    }
    return -1;
}

static bool vt_delta(struct vt *t, int32_t c, int64_t d)
{
    struct vt_cand *k = &t->cand[c];

    if (k->tstep != t->step) {
        if (!VT_GROW(t->touched, t->touched_cap, t->n_touched + 1))
            return false;
        k->tstep = t->step;
        k->delta = 0;
        t->touched[t->n_touched++] = c;
    }
    k->delta += d;
    return true;
}

/* Applies the step's count changes; candidates that gained are pushed. */
static bool vt_apply(struct vt *t)
{
    for (size_t i = 0; i < t->n_touched; i++) {
        int32_t c = t->touched[i];
        struct vt_cand *k = &t->cand[c];
        k->count += k->delta;
        if (k->delta > 0 && k->count >= 2 && k->rank < 0 && !k->forbidden &&
            !vt_heap_push(t, k->count, c))
            return false;
    }
    t->n_touched = 0;
    return true;
}

static bool vt_cand_add(struct vt *t, const char *s, size_t n, int32_t *c)
{
    bool added;

    if (!vt_add(&t->cands, s, n, c, &added))
        return false;
    if (added) {
        if (!VT_GROW(t->cand, t->cand_cap, t->cands.n))
            return false;
        t->cand[*c] = (struct vt_cand){.rank = -1, .head = -1,
                                       .forbidden = vt_special_part(s, n)};
    }
    return true;
}

static const char *vt_word_text(const struct vt *t, int32_t w)
{
    return vt_str(&t->words, w);
}

/*
 * Counts the adjacent pairs of word w's cut sym[0..n) with weight sign *
 * freq.  add: the cut is new - its pairs are added to the candidates if
 * need be, and those first seen in this update (not marked by the removal
 * of the old cut) put w on their candidate's list.
 */
static ftsb_status vt_count_pairs(struct vt *t, int32_t w,
                                  const uint32_t *sym, uint32_t n, int sign,
                                  bool add, struct lm_err *err)
{
    const char *text = vt_word_text(t, w);
    int64_t d = sign * (int64_t)t->word[w].freq;
    uint32_t pos = 0;

    for (uint32_t i = 0; i + 1 < n; i++) {
        uint32_t a = sym[i], b = sym[i + 1];
        int32_t c;

        if (!((a | b) & VT_RARE)) {
            if (add) {
                if (!vt_cand_add(t, text + pos, a + b, &c))
                    return vt_nomem(err);
            } else if ((c = vt_find(&t->cands, text + pos, a + b)) < 0) {
                return lm_fail(err, FTSB_E_INTERNAL, "vocabulary training: "
                               "a pair of word %" PRId32 " was never "
                               "counted", w);
            }
            if (!vt_delta(t, c, d))
                return vt_nomem(err);
            if (t->cand[c].mark != t->op) {
                t->cand[c].mark = t->op;
                if (add) {
                    if (t->n_node >= INT32_MAX ||
                        !VT_GROW(t->node, t->node_cap, t->n_node + 1))
                        return vt_nomem(err);
                    t->node[t->n_node] = (struct vt_node){w, t->cand[c].head};
                    t->cand[c].head = (int32_t)t->n_node++;
                }
            }
        }
        pos += a & ~VT_RARE;
    }
    return FTSB_OK;
}

/* Offers the pair (l, r) of the word being cut to its SPM loop. */
static void vt_try(struct vt *t, const char *text, int32_t l, int32_t r)
{
    const struct vt_sym *a, *b;
    int32_t c;
    size_t i;
    struct vt_pair p;

    if (l < 0 || r < 0)
        return;
    a = &t->ws[l];
    b = &t->ws[r];
    if (a->rare || b->rare)
        return;
    c = vt_find(&t->cands, text + a->start, a->n + b->n);
    if (c < 0 || t->cand[c].rank < 0)
        return;
    p = (struct vt_pair){t->cand[c].rank, l, r, a->n + b->n};
    for (i = t->n_wp++; i > 0; i = (i - 1) / 2) {
        const struct vt_pair *up = &t->wp[(i - 1) / 2];
        if (up->rank < p.rank || (up->rank == p.rank && up->left < p.left))
            break;
        t->wp[i] = *up;
    }
    t->wp[i] = p;
}

static struct vt_pair vt_pair_pop(struct vt *t)
{
    struct vt_pair top = t->wp[0], last = t->wp[--t->n_wp];
    size_t i = 0, n = t->n_wp;

    for (;;) {
        size_t c = 2 * i + 1;
        const struct vt_pair *x;
        if (c >= n)
            break;
        if (c + 1 < n && (t->wp[c + 1].rank < t->wp[c].rank ||
                          (t->wp[c + 1].rank == t->wp[c].rank &&
                           t->wp[c + 1].left < t->wp[c].left)))
            c++;
        x = &t->wp[c];
        if (x->rank > last.rank ||
            (x->rank == last.rank && x->left > last.left))
            break;
        t->wp[i] = *x;
        i = c;
    }
    if (n)
        t->wp[i] = last;
    return top;
}

/*
 * Resumes SPM's merge loop (tokenizer.c's tok_merge: lowest rank = best
 * score first, leftmost on ties, a pair stale when a side changed) on the
 * current cut of word w with every piece so far.  Returns whether the cut
 * changed.
 */
static bool vt_recut(struct vt *t, int32_t w)
{
    struct vt_word *wd = &t->word[w];
    uint32_t *sym = t->sym + wd->sym, n = wd->n_sym, pos = 0, k = 0;
    const char *text = vt_word_text(t, w);
    bool merged = false;

    t->n_wp = 0;
    for (uint32_t i = 0; i < n; i++) {
        t->ws[i] = (struct vt_sym){(int32_t)i - 1,
                                   i + 1 < n ? (int32_t)i + 1 : -1, pos,
                                   sym[i] & ~VT_RARE,
                                   (sym[i] & VT_RARE) != 0};
        pos += sym[i] & ~VT_RARE;
    }
    for (uint32_t i = 1; i < n; i++)
        vt_try(t, text, (int32_t)i - 1, (int32_t)i);
    while (t->n_wp) {
        struct vt_pair p = vt_pair_pop(t);
        struct vt_sym *l = &t->ws[p.left], *r = &t->ws[p.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != p.size)
            continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            t->ws[r->next].prev = p.left;
        merged = true;
        vt_try(t, text, l->prev, p.left);
        vt_try(t, text, p.left, l->next);
    }
    if (!merged)
        return false;
    for (int32_t i = 0; i >= 0; i = t->ws[i].next)
        sym[k++] = t->ws[i].n | (t->ws[i].rare ? VT_RARE : 0);
    wd->n_sym = k;
    return true;
}

/* Re-cuts word w after a merge and moves its pair counts. */
static ftsb_status vt_update(struct vt *t, int32_t w, struct lm_err *err)
{
    uint32_t n = t->word[w].n_sym;
    ftsb_status s;

    memcpy(t->old, t->sym + t->word[w].sym, n * sizeof *t->old);
    if (!vt_recut(t, w))
        return FTSB_OK; /* a stale list entry: the pair has gone */
    t->op++;
    if ((s = vt_count_pairs(t, w, t->old, n, -1, false, err)))
        return s;
    return vt_count_pairs(t, w, t->sym + t->word[w].sym, t->word[w].n_sym,
                          +1, true, err);
}

/* Makes candidate c the next piece and re-cuts the words it is in. */
static ftsb_status vt_merge(struct vt *t, int32_t c, struct lm_err *err)
{
    int32_t rank = t->n_merges++;
    ftsb_status s;

    t->cand[c].rank = rank;
    t->piece[rank] = c;
    t->step++;
    for (int32_t node = t->cand[c].head; node >= 0;
         node = t->node[node].next) {
        int32_t w = t->node[node].word;
        if (t->word[w].stamp == t->step)
            continue;
        t->word[w].stamp = t->step;
        if ((s = vt_update(t, w, err)))
            return s;
    }
    if (!vt_apply(t))
        return vt_nomem(err);
    if (t->cand[c].count != 0)
        return lm_fail(err, FTSB_E_INTERNAL, "vocabulary training: piece %"
                       PRId32 " still occurs %" PRId64 " times as a pair "
                       "after its merge", rank, t->cand[c].count);
    return FTSB_OK;
}

/* ---- reading the corpus ------------------------------------------------ */

static ftsb_status vt_check_texts(const struct lm_vocab_text *texts,
                                  size_t n_texts, size_t *longest,
                                  uint64_t *total, struct lm_err *err)
{
    *longest = 0;
    *total = 0;
    for (size_t i = 0; i < n_texts; i++) {
        size_t bad = gguf_utf8_check(texts[i].ptr, texts[i].len);
        if (bad != texts[i].len)
            return lm_fail(err, FTSB_E_INVALID, "text %zu is not valid UTF-8 "
                           "(byte %zu); the trainer reads UTF-8 text", i + 1,
                           bad + 1);
        if (texts[i].len > LM_VOCAB_MAX_BYTES - *total)
            return lm_fail(err, FTSB_E_INVALID, "the corpus is larger than "
                           "%zu bytes; train on a sample of it",
                           LM_VOCAB_MAX_BYTES);
        *total += texts[i].len;
        if (texts[i].len > *longest)
            *longest = texts[i].len;
    }
    if (*total == 0)
        return lm_fail(err, FTSB_E_FORMAT, "the corpus has no text to train "
                       "on");
    return FTSB_OK;
}

/* Every word occurrence of the texts into the word table, cut into
 * characters. */
static ftsb_status vt_read_words(struct vt *t,
                                 const struct lm_vocab_text *texts,
                                 size_t n_texts, char *norm,
                                 struct lm_vocab *out, struct lm_err *err)
{
    for (size_t i = 0; i < n_texts; i++) {
        size_t n, end;
        if (!texts[i].len)
            continue;
        n = vt_normalize(texts[i].ptr, texts[i].len, norm);
        for (size_t at = 0; at < n; at = end) {
            int32_t w;
            bool added;
            end = vt_word_end(norm, n, at);
            if (!vt_add(&t->words, norm + at, end - at, &w, &added))
                return vt_nomem(err);
            out->n_words++;
            if (added) {
                size_t k, first = t->n_sym;
                if (!VT_GROW(t->word, t->word_cap, t->words.n) ||
                    !VT_GROW(t->sym, t->sym_cap, t->n_sym + (end - at)))
                    return vt_nomem(err);
                for (size_t p = at; p < end; p += k) {
                    vt_cp(norm + p, &k);
                    t->sym[t->n_sym++] = (uint32_t)k;
                }
                t->word[w] = (struct vt_word){0, first,
                                              (uint32_t)(t->n_sym - first),
                                              0};
                if (t->n_sym - first > t->max_sym)
                    t->max_sym = (uint32_t)(t->n_sym - first);
            }
            t->word[w].freq++;
        }
    }
    out->n_unique = t->words.n;
    return FTSB_OK;
}

struct vt_rank_char {
    uint64_t count;
    const char *s;
    uint32_t len;
    int32_t chr;
};

static int vt_cmp_char(const void *pa, const void *pb)
{
    const struct vt_rank_char *a = pa, *b = pb;
    uint32_t n = a->len < b->len ? a->len : b->len;
    int c;

    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    c = memcmp(a->s, b->s, n);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

/*
 * Counts the characters, keeps those seen min_count times ("▁" always,
 * U+0000 never: token texts are C strings) most frequent first, and marks
 * the others' symbols rare.  The kept ones are returned in *kept.
 */
static ftsb_status vt_chars(struct vt *t, int64_t min_count,
                            struct vt_rank_char **kept, int32_t *n_kept,
                            struct lm_err *err)
{
    struct vt_rank_char *r;
    size_t n = 0;

    for (size_t w = 0; w < t->words.n; w++) {
        const char *s = vt_word_text(t, (int32_t)w);
        uint32_t pos = 0;
        for (uint32_t i = 0; i < t->word[w].n_sym; i++) {
            uint32_t len = t->sym[t->word[w].sym + i];
            int32_t c;
            bool added;
            if (!vt_add(&t->chars, s + pos, len, &c, &added) ||
                !VT_GROW(t->chr, t->chr_cap, t->chars.n))
                return vt_nomem(err);
            if (added)
                t->chr[c] = (struct vt_char){0, -1};
            t->chr[c].count += t->word[w].freq;
            pos += len;
        }
    }
    if (!(r = malloc((t->chars.n ? t->chars.n : 1) * sizeof *r)))
        return vt_nomem(err);
    for (size_t c = 0; c < t->chars.n; c++) {
        const char *s = vt_str(&t->chars, (int32_t)c);
        uint32_t len = t->chars.len[c];
        bool space = len == 3 && !memcmp(s, vt_space, 3);
        if ((t->chr[c].count >= (uint64_t)min_count || space) &&
            !(len == 1 && s[0] == '\0'))
            r[n++] = (struct vt_rank_char){t->chr[c].count, s, len,
                                           (int32_t)c};
    }
    qsort(r, n, sizeof *r, vt_cmp_char);
    for (size_t i = 0; i < n; i++)
        t->chr[r[i].chr].id = LM_VOCAB_BASE + (int32_t)i;
    for (size_t w = 0; w < t->words.n; w++) {
        const char *s = vt_word_text(t, (int32_t)w);
        uint32_t pos = 0, *sym = t->sym + t->word[w].sym;
        for (uint32_t i = 0; i < t->word[w].n_sym; i++) {
            if (t->chr[vt_find(&t->chars, s + pos, sym[i])].id < 0)
                sym[i] |= VT_RARE;
            pos += sym[i] & ~VT_RARE;
        }
    }
    *kept = r;
    *n_kept = (int32_t)n;
    return FTSB_OK;
}

/* ---- the result -------------------------------------------------------- */

static ftsb_status vt_output(const struct vt *t,
                             const struct vt_rank_char *chars,
                             int32_t n_chars, struct lm_vocab *v,
                             struct lm_err *err)
{
    static const char *const specials[] = {"<unk>", "<s>", "</s>"};
    static const int32_t special_type[] = {TOK_TYPE_UNKNOWN, TOK_TYPE_CONTROL,
                                           TOK_TYPE_CONTROL};
    size_t bytes = 16 + 256 * 7, off = 0; /* base tokens + NULs */
    int32_t n = LM_VOCAB_BASE + n_chars + t->n_merges, k = 0;

    for (int32_t i = 0; i < n_chars; i++)
        bytes += chars[i].len + 1;
    for (int32_t r = 0; r < t->n_merges; r++)
        bytes += t->cands.len[t->piece[r]] + 1;
    v->text = malloc((size_t)n * sizeof *v->text);
    v->score = malloc((size_t)n * sizeof *v->score);
    v->type = malloc((size_t)n * sizeof *v->type);
    v->buf = malloc(bytes);
    if (!v->text || !v->score || !v->type || !v->buf)
        return vt_nomem(err);
#define VT_TOKEN(str, len, ty, sc)                                          \
    do {                                                                    \
        memcpy(v->buf + off, (str), (len));                                 \
        v->buf[off + (len)] = '\0';                                         \
        v->text[k] = (struct gguf_str){v->buf + off, (len)};                \
        v->type[k] = (ty);                                                  \
        v->score[k++] = (sc);                                               \
        off += (len) + 1;                                                   \
    } while (0)
    for (int i = 0; i < 3; i++)
        VT_TOKEN(specials[i], strlen(specials[i]), special_type[i], 0.0f);
    for (int b = 0; b < 256; b++) {
        char hex[8];
        snprintf(hex, sizeof hex, "<0x%02X>", b);
        VT_TOKEN(hex, (size_t)6, TOK_TYPE_BYTE, 0.0f);
    }
    /* characters score below every piece: SPM never merges into a single
     * character, so their scores only order them for readers */
    for (int32_t i = 0; i < n_chars; i++)
        VT_TOKEN(chars[i].s, (size_t)chars[i].len, TOK_TYPE_NORMAL,
                 -(float)(t->n_merges + i));
    for (int32_t r = 0; r < t->n_merges; r++)
        VT_TOKEN(vt_str(&t->cands, t->piece[r]),
                 (size_t)t->cands.len[t->piece[r]], TOK_TYPE_NORMAL,
                 -(float)r);
#undef VT_TOKEN
    v->n = n;
    v->n_chars = n_chars;
    v->n_merges = t->n_merges;
    return FTSB_OK;
}

/* The trainer's cut of every text as token ids (opts.segment). */
static ftsb_status vt_segment(const struct vt *t,
                              const struct lm_vocab_text *texts,
                              size_t n_texts, int32_t n_chars, char *norm,
                              struct lm_vocab *v, struct lm_err *err)
{
    size_t cap = 0, n = 0;

    if (!(v->seg_start = malloc((n_texts + 1) * sizeof *v->seg_start)))
        return vt_nomem(err);
    v->n_texts = n_texts;
    for (size_t i = 0; i < n_texts; i++) {
        size_t len = texts[i].len ? vt_normalize(texts[i].ptr, texts[i].len,
                                                 norm) : 0, end;
        v->seg_start[i] = n;
        for (size_t at = 0; at < len; at = end) {
            int32_t w;
            uint32_t pos = 0;
            end = vt_word_end(norm, len, at);
            w = vt_find(&t->words, norm + at, end - at);
            if (w < 0)
                return lm_fail(err, FTSB_E_INTERNAL, "vocabulary training "
                               "lost a word");
            /* at most 4 byte tokens per symbol */
            if (!VT_GROW(v->seg, cap, n + (size_t)t->word[w].n_sym * 4))
                return vt_nomem(err);
            for (uint32_t s = 0; s < t->word[w].n_sym; s++) {
                uint32_t y = t->sym[t->word[w].sym + s],
                         yl = y & ~VT_RARE;
                const char *p = norm + at + pos;
                if (y & VT_RARE) {
                    for (uint32_t b = 0; b < yl; b++)
                        v->seg[n++] = 3 + (unsigned char)p[b];
                } else if (vt_find(&t->chars, p, yl) >= 0) {
                    v->seg[n++] = t->chr[vt_find(&t->chars, p, yl)].id;
                } else {
                    int32_t c = vt_find(&t->cands, p, yl);
                    if (c < 0 || t->cand[c].rank < 0)
                        return lm_fail(err, FTSB_E_INTERNAL, "vocabulary "
                                       "training cut a symbol that is no "
                                       "token");
                    v->seg[n++] = LM_VOCAB_BASE + n_chars + t->cand[c].rank;
                }
                pos += yl;
            }
        }
    }
    v->seg_start[n_texts] = n;
    return FTSB_OK;
}

void lm_vocab_free(struct lm_vocab *v)
{
    if (!v)
        return;
    free(v->text);
    free(v->score);
    free(v->type);
    free(v->buf);
    free(v->seg);
    free(v->seg_start);
    memset(v, 0, sizeof *v);
}

ftsb_status lm_vocab_train(const struct lm_vocab_text *texts, size_t n_texts,
                           const struct lm_vocab_opts *opts,
                           struct lm_vocab *out, struct lm_err *err)
{
    int64_t min_count = opts->min_char_count ? opts->min_char_count
                                             : LM_VOCAB_MIN_CHAR_COUNT;
    struct vt t = {0};
    struct vt_rank_char *chars = NULL;
    int32_t n_chars = 0, want;
    size_t longest;
    char *norm = NULL;
    ftsb_status s;
    bool nomem = false;

    memset(out, 0, sizeof *out);
    if (opts->size < LM_VOCAB_BASE || opts->size > LM_VOCAB_MAX_SIZE)
        return lm_fail(err, FTSB_E_INVALID, "the vocabulary size %" PRId32
                       " is out of range: %d (<unk>, <s>, </s> and the 256 "
                       "byte tokens) plus the characters, up to %d",
                       opts->size, LM_VOCAB_BASE, LM_VOCAB_MAX_SIZE);
    if (min_count < 1)
        return lm_fail(err, FTSB_E_INVALID, "the minimum character count %"
                       PRId64 " must be at least 1", min_count);
    if ((s = vt_check_texts(texts, n_texts, &longest, &out->n_bytes, err)))
        return s;
    if (!(norm = malloc(3 * longest + 3)))
        return vt_nomem(err);
    if ((s = vt_read_words(&t, texts, n_texts, norm, out, err)) ||
        (s = vt_chars(&t, min_count, &chars, &n_chars, err)))
        goto done;
    out->n_rare = t.chars.n - (size_t)n_chars;
    if (opts->size < LM_VOCAB_BASE + n_chars) {
        s = lm_fail(err, FTSB_E_INVALID, "a size of %" PRId32 " is too "
                    "small: the corpus has %" PRId32 " characters seen at "
                    "least %" PRId64 " times, so the vocabulary needs at "
                    "least %" PRId32 " tokens (259 base tokens + %" PRId32
                    "); raise the size, or the minimum character count "
                    "to keep fewer characters",
                    opts->size, n_chars, min_count, LM_VOCAB_BASE + n_chars,
                    n_chars);
        goto done;
    }
    want = opts->size - LM_VOCAB_BASE - n_chars;
    t.ws = malloc(((size_t)t.max_sym + 1) * sizeof *t.ws);
    t.wp = malloc((3 * (size_t)t.max_sym + 4) * sizeof *t.wp);
    t.old = malloc(((size_t)t.max_sym + 1) * sizeof *t.old);
    t.piece = malloc(((size_t)want + 1) * sizeof *t.piece);
    if (!t.ws || !t.wp || !t.old || !t.piece) {
        s = vt_nomem(err);
        goto done;
    }
    /* the first count: every word as characters, all pairs new */
    t.step = 1;
    for (size_t w = 0; w < t.words.n; w++) {
        t.op++;
        if ((s = vt_count_pairs(&t, (int32_t)w, t.sym + t.word[w].sym,
                                t.word[w].n_sym, +1, true, err)))
            goto done;
    }
    if (!vt_apply(&t)) {
        s = vt_nomem(err);
        goto done;
    }
    while (t.n_merges < want) {
        int32_t c = vt_best(&t, &nomem);
        if (nomem) {
            s = vt_nomem(err);
            goto done;
        }
        if (c < 0) {
            out->stopped_early = true;
            break;
        }
        if ((s = vt_merge(&t, c, err)))
            goto done;
    }
    if ((s = vt_output(&t, chars, n_chars, out, err)) ||
        (opts->segment &&
         (s = vt_segment(&t, texts, n_texts, n_chars, norm, out, err))))
        goto done;
done:
    if (s)
        lm_vocab_free(out);
    free(chars);
    free(norm);
    vt_free(&t);
    return s;
}

/* ---- writing ----------------------------------------------------------- */

ftsb_status lm_vocab_to_gguf(const struct lm_vocab *v, struct gguf_writer *w,
                             struct lm_err *err)
{
    char name[160];
    ftsb_status s;

    snprintf(name, sizeof name, "ftsb vocabulary: %" PRId32 " tokens, %"
             PRId32 " characters, %" PRId32 " merges", v->n, v->n_chars,
             v->n_merges);
    if ((s = gguf_w_str(w, "general.architecture", "llama", 5, err)) ||
        (s = gguf_w_str(w, "general.name", name, strlen(name), err)) ||
        (s = gguf_w_str(w, "tokenizer.ggml.model", "llama", 5, err)) ||
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
        (s = gguf_w_bool(w, "tokenizer.ggml.add_eos_token", false, err)) ||
        (s = gguf_w_bool(w, "tokenizer.ggml.add_space_prefix", true, err)))
        return s;
    return FTSB_OK;
}

ftsb_status lm_vocab_write(const struct lm_vocab *v, const char *path,
                           struct lm_err *err)
{
    struct gguf_writer *w = NULL;
    ftsb_status s;

    if (!(s = gguf_writer_new(&w, err)) &&
        !(s = lm_vocab_to_gguf(v, w, err)))
        s = gguf_w_save(w, path, err);
    gguf_writer_free(w);
    return s;
}
