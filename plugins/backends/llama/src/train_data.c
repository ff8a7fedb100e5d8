/*
 * train_data.c - examples to training sequences (train_data.h).  Each
 * example is rendered and tokenized once, the loss mask of the template is
 * shifted by one position into targets, and the example is cut, kept or
 * skipped; the set grows by doubling with overflow-checked sizes.  Errors
 * about one example are the template's message prefixed with the example's
 * index and id, so a user can find the row in a 50,000-line file.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "train_data.h"

static ftsb_status td_nomem(struct lm_err *err)
{
    return lm_fail(err, FTSB_E_NOMEM, "out of memory building the training "
                   "sequences");
}

/* Makes room for one more element of size elem in *p (capacity *cap). */
static bool td_grow(void **p, int32_t *cap, int32_t n, size_t elem)
{
    int32_t want;
    void *q;

    if (n < *cap)
        return true;
    if (*cap > INT32_MAX / 2)
        return false;
    want = *cap ? *cap * 2 : 16;
    if ((size_t)want > SIZE_MAX / elem)
        return false;
    q = realloc(*p, (size_t)want * elem);
    if (!q)
        return false;
    *p = q;
    *cap = want;
    return true;
}

/* The example's id made safe to print, or "" when it has none. */
static const char *td_id_show(const char *id, char *buf, size_t size)
{
    struct gguf_str s = {id ? id : "", id ? strlen(id) : 0};
    return gguf_str_show(s, 60, buf, size);
}

/* Prefixes err's message with "training example i (id 'x'): ". */
static ftsb_status td_wrap(struct lm_err *err, ftsb_status s, size_t i,
                           const char *id)
{
    char inner[sizeof err->msg], idb[GGUF_SHOW_BUF];

    if (!err)
        return s;
    memcpy(inner, err->msg, sizeof inner);
    inner[sizeof inner - 1] = '\0';
    if (id)
        return lm_fail(err, s, "training example %zu (id '%s'): %s", i,
                       td_id_show(id, idb, sizeof idb), inner);
    return lm_fail(err, s, "training example %zu: %s", i, inner);
}

/*
 * The chat of ex: its messages, or user/assistant built from instruction
 * (+ "\n\n" + input) and response.  *buf receives an owned user text when
 * one had to be joined.
 */
static ftsb_status td_chat(const ftsb_example *ex, size_t i,
                           ftsb_message msgs[2], const ftsb_message **out,
                           size_t *n, char **buf, struct lm_err *err)
{
    *buf = NULL;
    if (ex->chat.n_messages > 0 && ex->chat.messages) {
        *out = ex->chat.messages;
        *n = ex->chat.n_messages;
        return FTSB_OK;
    }
    if (!ex->instruction) {
        lm_fail(err, FTSB_E_INVALID, "it has neither chat messages nor an "
                "instruction; a training example needs one of them (and an "
                "answer)");
        return td_wrap(err, FTSB_E_INVALID, i, ex->id);
    }
    msgs[0].role = "user";
    msgs[0].content = ex->instruction;
    if (ex->input && ex->input[0]) {
        size_t a = strlen(ex->instruction), b = strlen(ex->input);
        if (a > SIZE_MAX - b - 3 || !(*buf = malloc(a + b + 3)))
            return td_nomem(err);
        memcpy(*buf, ex->instruction, a);
        memcpy(*buf + a, "\n\n", 2);
        memcpy(*buf + a + 2, ex->input, b + 1);
        msgs[0].content = *buf;
    }
    *n = 1;
    if (ex->response) {
        msgs[1].role = "assistant";
        msgs[1].content = ex->response;
        *n = 2;
    }
    *out = msgs;
    return FTSB_OK;
}

static ftsb_status td_note(struct lm_train_set *s, int32_t *cap, int32_t kind,
                           int32_t index, const char *id, int64_t n_tokens,
                           int64_t dropped, struct lm_err *err)
{
    struct lm_train_note *nt;

    if (!td_grow((void **)&s->notes, cap, s->n_notes, sizeof *s->notes))
        return td_nomem(err);
    nt = &s->notes[s->n_notes];
    memset(nt, 0, sizeof *nt);
    if (id && !(nt->id = strdup(id)))
        return td_nomem(err);
    nt->kind = kind;
    nt->index = index;
    nt->n_tokens = n_tokens;
    nt->dropped = dropped;
    s->n_notes++;
    if (kind == LM_TRAIN_CUT)
        s->n_cut++;
    else
        s->n_skipped++;
    s->n_dropped += dropped;
    return FTSB_OK;
}

/* Turns the tokens of example i into a sequence, a note, or both. */
static ftsb_status td_add(struct lm_train_set *s, int32_t *seq_cap,
                          int32_t *note_cap, const struct tmpl_tokens *t,
                          int32_t i, const char *id, struct lm_err *err)
{
    const int64_t L = (int64_t)t->n;
    const int64_t keep = L < s->max_len ? L : s->max_len;
    int64_t answer = 0, n_loss = 0;
    struct lm_train_seq *q;

    /* position 0 is never a target: start counting at 1 */
    for (int64_t k = 1; k < L; k++) {
        answer += t->assistant[k] != 0;
        n_loss += k < keep && t->assistant[k];
    }
    if (answer == 0)
        return td_note(s, note_cap, LM_TRAIN_NO_ANSWER, i, id, L, 0, err);
    if (n_loss == 0)
        return td_note(s, note_cap, LM_TRAIN_ANSWER_CUT, i, id, L, L - keep,
                       err);
    if (keep < L) {
        ftsb_status st = td_note(s, note_cap, LM_TRAIN_CUT, i, id, L,
                                 L - keep, err);
        if (st)
            return st;
    }
    if (!td_grow((void **)&s->seq, seq_cap, s->n, sizeof *s->seq))
        return td_nomem(err);
    q = &s->seq[s->n];
    q->n = (int32_t)(keep - 1);
    /* keep <= max_len <= LM_TRAIN_MAX_LEN: 2 * n int32 cannot overflow */
    if (!(q->tokens = malloc(2 * (size_t)q->n * sizeof *q->tokens)))
        return td_nomem(err);
    q->targets = q->tokens + q->n;
    for (int32_t k = 0; k < q->n; k++) {
        q->tokens[k] = t->ids[k];
        q->targets[k] = t->assistant[k + 1] ? t->ids[k + 1] : -1;
    }
    q->n_loss = (int32_t)n_loss;
    q->index = i;
    s->n++;
    s->n_tokens += q->n;
    s->n_loss += n_loss;
    return FTSB_OK;
}

/* The error of a set without a single trained token, saying why. */
static ftsb_status td_empty(const struct lm_train_set *s, struct lm_err *err)
{
    int32_t none = 0, cut = 0;

    for (int32_t k = 0; k < s->n_notes; k++) {
        none += s->notes[k].kind == LM_TRAIN_NO_ANSWER;
        cut += s->notes[k].kind == LM_TRAIN_ANSWER_CUT;
    }
    return lm_fail(err, FTSB_E_INVALID, "none of the %d training examples "
                   "has an answer token to train on: %d have no assistant "
                   "message (or response) and %d lose every answer token "
                   "to the cut at max_len = %d tokens; give examples that "
                   "end with an assistant answer, or raise max_len",
                   (int)s->n_examples, (int)none, (int)cut, (int)s->max_len);
}

ftsb_status lm_train_set_build(const ftsb_example *ex, size_t n,
                               enum tmpl_id tmpl,
                               const struct tmpl_opts *opts,
                               const struct tok_vocab *v, int32_t max_len,
                               struct lm_train_set *out, struct lm_err *err)
{
    struct lm_train_set s = {0};
    int32_t seq_cap = 0, note_cap = 0;
    ftsb_status st = FTSB_OK;

    memset(out, 0, sizeof *out);
    if (n == 0)
        return lm_fail(err, FTSB_E_INVALID, "the training set is empty: "
                       "give a dataset with at least one example");
    if (n > LM_TRAIN_MAX_EXAMPLES)
        return lm_fail(err, FTSB_E_INVALID, "the training set has %zu "
                       "examples; at most %d are supported", n,
                       LM_TRAIN_MAX_EXAMPLES);
    if (max_len < 2 || max_len > LM_TRAIN_MAX_LEN)
        return lm_fail(err, FTSB_E_INVALID, "max_len %d is out of range: "
                       "an example needs 2..%d tokens (a prompt token and "
                       "an answer token at least)", (int)max_len,
                       LM_TRAIN_MAX_LEN);
    s.n_examples = (int32_t)n;
    s.max_len = max_len;
    for (size_t i = 0; !st && i < n; i++) {
        ftsb_message pair[2];
        const ftsb_message *msgs = NULL;
        size_t n_msgs = 0;
        char *joined = NULL;
        struct tmpl_chat chat;
        struct tmpl_tokens toks = {0};

        if ((st = td_chat(&ex[i], i, pair, &msgs, &n_msgs, &joined, err)))
            break;
        st = tmpl_render(tmpl, msgs, n_msgs, opts, &chat, err);
        if (st) {
            st = td_wrap(err, st, i, ex[i].id);
        } else {
            if ((st = tmpl_tokenize(&chat, v, &toks, err)))
                st = td_wrap(err, st, i, ex[i].id);
            tmpl_chat_free(&chat);
        }
        free(joined);
        if (!st)
            st = td_add(&s, &seq_cap, &note_cap, &toks, (int32_t)i, ex[i].id,
                        err);
        tmpl_tokens_free(&toks);
    }
    if (!st && s.n == 0)
        st = td_empty(&s, err);
    if (st) {
        lm_train_set_free(&s);
        return st;
    }
    *out = s;
    return FTSB_OK;
}

void lm_train_set_free(struct lm_train_set *s)
{
    if (!s)
        return;
    for (int32_t i = 0; i < s->n; i++)
        free(s->seq[i].tokens);
    for (int32_t i = 0; i < s->n_notes; i++)
        free(s->notes[i].id);
    free(s->seq);
    free(s->notes);
    memset(s, 0, sizeof *s);
}

/* ---- the summary ------------------------------------------------------- */

struct td_buf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void td_printf(struct td_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void td_printf(struct td_buf *b, const char *fmt, ...)
{
    va_list ap;
    int k;

    if (b->oom)
        return;
    va_start(ap, fmt);
    k = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0,
                  fmt, ap);
    va_end(ap);
    if (k < 0) {
        b->oom = true;
        return;
    }
    if (b->len + (size_t)k + 1 > b->cap) {
        size_t want = (b->len + (size_t)k + 1) * 2;
        char *q = realloc(b->p, want);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q;
        b->cap = want;
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)k;
}

static void td_line(struct td_buf *b, const struct lm_train_note *nt,
                    int32_t max_len)
{
    char idb[GGUF_SHOW_BUF], head[GGUF_SHOW_BUF + 64];

    if (nt->id)
        snprintf(head, sizeof head, "example %d (id '%s')", (int)nt->index,
                 td_id_show(nt->id, idb, sizeof idb));
    else
        snprintf(head, sizeof head, "example %d", (int)nt->index);
    switch (nt->kind) {
    case LM_TRAIN_CUT:
        td_printf(b, "\n  %s: %" PRId64 " tokens, cut to %d (%" PRId64
                  " dropped)", head, nt->n_tokens, (int)max_len, nt->dropped);
        break;
    case LM_TRAIN_ANSWER_CUT:
        td_printf(b, "\n  %s: %" PRId64 " tokens, skipped: every answer "
                  "token is past the first %d", head, nt->n_tokens,
                  (int)max_len);
        break;
    default:
        td_printf(b, "\n  %s: skipped, no answer token (no assistant "
                  "message or response)", head);
    }
}

ftsb_status lm_train_set_describe(const struct lm_train_set *s,
                                  int32_t max_lines, char **out,
                                  struct lm_err *err)
{
    struct td_buf b = {0};
    int32_t shown;

    *out = NULL;
    if (s->n_notes == 0)
        return FTSB_OK;
    if (max_lines <= 0)
        max_lines = 10;
    td_printf(&b, "training data:");
    if (s->n_cut)
        td_printf(&b, " %d of %d examples cut to %d tokens (%" PRId64
                  " tokens dropped)%s", (int)s->n_cut, (int)s->n_examples,
                  (int)s->max_len, s->n_dropped, s->n_skipped ? ";" : "");
    if (s->n_skipped)
        td_printf(&b, " %d of %d examples skipped (no answer token to train "
                  "on)", (int)s->n_skipped, (int)s->n_examples);
    td_printf(&b, ":");
    shown = s->n_notes < max_lines ? s->n_notes : max_lines;
    for (int32_t k = 0; k < shown; k++)
        td_line(&b, &s->notes[k], s->max_len);
    if (shown < s->n_notes)
        td_printf(&b, "\n  and %d more", (int)(s->n_notes - shown));
    if (b.oom) {
        free(b.p);
        return td_nomem(err);
    }
    *out = b.p;
    return FTSB_OK;
}

/* ---- the order of an epoch ---------------------------------------------- */

/* splitmix64: a Weyl sequence (golden-ratio increment) through a 64-bit
 * finalizer; every state gives a full-period, well-mixed stream. */
static uint64_t td_splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound), bound >= 1: draws below 2^64 mod bound are
 * rejected so that every residue is equally likely. */
static uint64_t td_below(uint64_t *state, uint64_t bound)
{
    uint64_t reject = (0 - bound) % bound, r;

    do
        r = td_splitmix(state);
    while (r < reject);
    return r % bound;
}

void lm_train_order(uint64_t seed, int64_t epoch, int32_t n, int32_t *perm)
{
    uint64_t state = seed;

    for (int32_t i = 0; i < n; i++)
        perm[i] = i;
    if (seed == 0 || n < 2)
        return;
    /* the stream of an epoch starts at mix(seed) xor epoch: the epochs
     * of a seed start at distinct states, and splitmix's
     * finalizer makes the streams of nearby states look unrelated */
    state = td_splitmix(&state) ^ (uint64_t)epoch;
    for (int32_t i = n - 1; i > 0; i--) {
        int32_t j = (int32_t)td_below(&state, (uint64_t)i + 1);
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}
