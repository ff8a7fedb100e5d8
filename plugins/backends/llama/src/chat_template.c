/*
 * chat_template.c - the built-in chat templates (formats and the reasons
 * for their whitespace are in chat_template.h).  Rendering only appends
 * parts to a buffer; tokenizing merges adjacent text parts back into the
 * single string the original code would have tokenized, so the token ids
 * match, and finds where an assistant part starts in token terms by
 * tokenizing the text before it, which is exactly the paper's rule
 * (labels masked for the first len(encode(prompt)) positions).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_template.h"

static const char tmpl_b_sys[] = "<<SYS>>\n";
static const char tmpl_e_sys[] = "\n<</SYS>>\n\n";

static const struct {
    const char *name;
    enum tmpl_id id;
} tmpl_names[] = {
    {"llama-2", TMPL_LLAMA2}, {"llama2", TMPL_LLAMA2},
    {"chatml", TMPL_CHATML},  {"llama-3", TMPL_LLAMA3},
    {"llama3", TMPL_LLAMA3},  {"plain", TMPL_PLAIN},
};

ftsb_status tmpl_from_name(const char *name, enum tmpl_id *out,
                           struct lm_err *err)
{
    for (size_t i = 0; i < sizeof tmpl_names / sizeof *tmpl_names; i++) {
        if (strcmp(name, tmpl_names[i].name) == 0) {
            *out = tmpl_names[i].id;
            return FTSB_OK;
        }
    }
    return lm_fail(err, FTSB_E_NOT_FOUND,
                   "unknown chat template '%.60s' (known: llama-2, chatml, "
                   "llama-3, plain)",
                   name);
}

const char *tmpl_name(enum tmpl_id id)
{
    switch (id) {
    case TMPL_LLAMA2: return "llama-2";
    case TMPL_CHATML: return "chatml";
    case TMPL_LLAMA3: return "llama-3";
    case TMPL_PLAIN: return "plain";
    default: return NULL;
    }
}

static bool tmpl_has(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle);

    for (size_t i = 0; n <= len && i <= len - n; i++) {
        if (s[i] == needle[0] && memcmp(s + i, needle, n) == 0)
            return true;
    }
    return false;
}

enum tmpl_id tmpl_guess(const char *jinja, size_t len)
{
    if (!jinja)
        return TMPL_NONE;
    if (tmpl_has(jinja, len, "<|start_header_id|>"))
        return TMPL_LLAMA3;
    if (tmpl_has(jinja, len, "<|im_start|>"))
        return TMPL_CHATML;
    if (tmpl_has(jinja, len, "[INST]") && tmpl_has(jinja, len, "<<SYS>>"))
        return TMPL_LLAMA2;
    return TMPL_NONE;
}

/* ---- building parts --------------------------------------------------- */

static ftsb_status tmpl_nomem(struct lm_err *err)
{
    return lm_fail(err, FTSB_E_NOMEM, "out of memory rendering a chat");
}

static bool tmpl_reserve(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t c = *cap ? *cap : 16;
    void *q;

    if (need <= *cap)
        return true;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem)
            return false;
        c *= 2;
    }
    if (!(q = realloc(*p, c * elem)))
        return false;
    *p = q;
    *cap = c;
    return true;
}

static ftsb_status tmpl_add(struct tmpl_chat *c, enum tmpl_part_kind kind,
                            const char *text, size_t len, bool assistant,
                            struct lm_err *err)
{
    size_t cap = c->cap;
    struct tmpl_part *p;

    if (!tmpl_reserve((void **)&c->parts, &c->cap, c->n + 1, sizeof *p) ||
        (cap != c->cap &&
         !(c->off = realloc(c->off, c->cap * sizeof *c->off))) ||
        !tmpl_reserve((void **)&c->buf, &c->buf_cap, c->len + len + 1, 1))
        return tmpl_nomem(err);
    p = &c->parts[c->n];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->len = len;
    p->assistant = assistant;
    c->off[c->n++] = c->len;
    if (len)
        memcpy(c->buf + c->len, text, len);
    c->len += len;
    c->buf[c->len++] = '\0';
    return FTSB_OK;
}

static ftsb_status tmpl_text(struct tmpl_chat *c, const char *s, bool asst,
                             struct lm_err *err)
{
    return tmpl_add(c, TMPL_PART_TEXT, s, strlen(s), asst, err);
}

static ftsb_status tmpl_text_n(struct tmpl_chat *c, const char *s, size_t n,
                               bool asst, struct lm_err *err)
{
    return tmpl_add(c, TMPL_PART_TEXT, s, n, asst, err);
}

static ftsb_status tmpl_token(struct tmpl_chat *c, const char *t, bool asst,
                              struct lm_err *err)
{
    return tmpl_add(c, TMPL_PART_TOKEN, t, strlen(t), asst, err);
}

static ftsb_status tmpl_marker(struct tmpl_chat *c, enum tmpl_part_kind kind,
                               bool asst, bool if_add_bos, struct lm_err *err)
{
    ftsb_status s = tmpl_add(c, kind, "", 0, asst, err);

    if (!s)
        c->parts[c->n - 1].if_add_bos = if_add_bos;
    return s;
}

void tmpl_chat_free(struct tmpl_chat *c)
{
    free(c->parts);
    free(c->off);
    free(c->buf);
    memset(c, 0, sizeof *c);
}

/* ---- whitespace as Python's str.strip() sees it ----------------------- */

static bool tmpl_is_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) ||
           cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* The code point at s[i] (i < n) and its length; bad bytes count as 1. */
static uint32_t tmpl_cp(const char *s, size_t n, size_t i, size_t *len)
{
    size_t k = gguf_utf8_check(s + i, n - i > 4 ? 4 : n - i);
    const unsigned char *p = (const unsigned char *)s + i;

    *len = 1;
    if (p[0] < 0x80 || k == 0)
        return p[0] < 0x80 ? p[0] : 0xFFFFFFFF;
    if (p[0] < 0xE0)
        return *len = 2, ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
    if (p[0] < 0xF0)
        return *len = 3, ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) |
                             (p[2] & 0x3Fu);
    return *len = 4, ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) |
                         ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
}

static void tmpl_strip(const char **s, size_t *n)
{
    size_t len;

    while (*n && tmpl_is_space(tmpl_cp(*s, *n, 0, &len)))
        *s += len, *n -= len;
    while (*n) {
        size_t start = *n - 1;
        while (start > 0 && *n - start < 4 &&
               ((unsigned char)(*s)[start] & 0xC0) == 0x80)
            start--;
        if (!tmpl_is_space(tmpl_cp(*s, *n, start, &len)) ||
            start + len != *n)
            break;
        *n = start;
    }
}

static ftsb_status tmpl_text_ws(struct tmpl_chat *c, const char *s,
                                size_t n, bool strip, bool asst,
                                struct lm_err *err)
{
    if (strip)
        tmpl_strip(&s, &n);
    return tmpl_text_n(c, s, n, asst, err);
}

/* ---- the templates ---------------------------------------------------- */

static bool tmpl_role(const ftsb_message *m, const char *role)
{
    return strcmp(m->role, role) == 0;
}

static ftsb_status tmpl_check(const ftsb_message *msgs, size_t n,
                              struct lm_err *err)
{
    if (n == 0)
        return lm_fail(err, FTSB_E_INVALID, "chat template: no messages");
    for (size_t i = 0; i < n; i++) {
        if (!msgs[i].role || !msgs[i].content)
            return lm_fail(err, FTSB_E_INVALID,
                           "chat template: message %zu has no role or no "
                           "content",
                           i);
        if (!tmpl_role(&msgs[i], "system") && !tmpl_role(&msgs[i], "user") &&
            !tmpl_role(&msgs[i], "assistant"))
            return lm_fail(err, FTSB_E_INVALID,
                           "chat template: message %zu has the unknown role "
                           "'%.40s' (system, user or assistant)",
                           i, msgs[i].role);
    }
    return FTSB_OK;
}

/* "[INST] " + user (with the system block first) + " [/INST]". */
static ftsb_status tmpl_l2_user(struct tmpl_chat *c, const char *sys,
                                const char *user, bool strip,
                                struct lm_err *err)
{
    size_t ns = sys ? strlen(sys) : 0, nu = strlen(user), n;
    char *tmp;
    ftsb_status s;

    if (!sys) {
        if ((s = tmpl_text(c, "[INST] ", false, err)) ||
            (s = tmpl_text_ws(c, user, nu, strip, false, err)))
            return s;
        return tmpl_text(c, " [/INST]", false, err);
    }
    n = sizeof tmpl_b_sys - 1 + ns + sizeof tmpl_e_sys - 1 + nu;
    if (!(tmp = malloc(n + 1)))
        return tmpl_nomem(err);
    snprintf(tmp, n + 1, "%s%s%s%s", tmpl_b_sys, sys, tmpl_e_sys, user);
    if (!(s = tmpl_text(c, "[INST] ", false, err)) &&
        !(s = tmpl_text_ws(c, tmp, n, strip, false, err)))
        s = tmpl_text(c, " [/INST]", false, err);
    free(tmp);
    return s;
}

static ftsb_status tmpl_l2_order(const ftsb_message *msgs, size_t n,
                                 size_t first, struct lm_err *err)
{
    for (size_t i = first; i < n; i++) {
        const char *want = (i - first) % 2 ? "assistant" : "user";
        if (!tmpl_role(&msgs[i], want))
            return lm_fail(err, FTSB_E_INVALID,
                           "llama-2 template: message %zu is from '%s' but "
                           "must be from '%s' (an optional system message, "
                           "then user and assistant alternating)",
                           i, msgs[i].role, want);
    }
    if (first == n)
        return lm_fail(err, FTSB_E_INVALID,
                       "llama-2 template: a system message needs a user "
                       "message after it");
    return FTSB_OK;
}

static ftsb_status tmpl_llama2(const ftsb_message *msgs, size_t n,
                               const struct tmpl_opts *o,
                               struct tmpl_chat *c, struct lm_err *err)
{
    size_t first = tmpl_role(&msgs[0], "system") ? 1 : 0;
    const char *sys = first ? msgs[0].content : NULL;
    bool strip;
    ftsb_status s;

    if ((s = tmpl_l2_order(msgs, n, first, err)))
        return s;
    strip = o->ws == TMPL_WS_STRIP ||
            (o->ws == TMPL_WS_AUTO && tmpl_role(&msgs[n - 1], "user"));
    for (size_t i = first; i < n; i += 2) {
        const char *a = i + 1 < n ? msgs[i + 1].content : NULL;
        if ((s = tmpl_marker(c, TMPL_PART_BOS, false, false, err)) ||
            (s = tmpl_l2_user(c, i == first ? sys : NULL, msgs[i].content,
                              strip, err)))
            return s;
        if (!a)
            break;
        if ((s = tmpl_text(c, " ", true, err)) ||
            (s = tmpl_text_ws(c, a, strlen(a), strip, true, err)) ||
            (s = tmpl_text(c, " ", true, err)) ||
            (s = tmpl_marker(c, TMPL_PART_EOS, true, false, err)))
            return s;
    }
    return FTSB_OK;
}

static ftsb_status tmpl_chatml(const ftsb_message *msgs, size_t n,
                               const struct tmpl_opts *o,
                               struct tmpl_chat *c, struct lm_err *err)
{
    ftsb_status s;

    if ((s = tmpl_marker(c, TMPL_PART_BOS, false, true, err)))
        return s;
    for (size_t i = 0; i < n; i++) {
        bool a = tmpl_role(&msgs[i], "assistant");
        if ((s = tmpl_token(c, "<|im_start|>", false, err)) ||
            (s = tmpl_text(c, msgs[i].role, false, err)) ||
            (s = tmpl_text(c, "\n", false, err)) ||
            (s = tmpl_text(c, msgs[i].content, a, err)) ||
            (s = tmpl_token(c, "<|im_end|>", a, err)) ||
            (s = tmpl_text(c, "\n", false, err)))
            return s;
    }
    if (o->no_generation_prompt || tmpl_role(&msgs[n - 1], "assistant"))
        return FTSB_OK;
    if ((s = tmpl_token(c, "<|im_start|>", false, err)))
        return s;
    return tmpl_text(c, "assistant\n", false, err);
}

static ftsb_status tmpl_l3_header(struct tmpl_chat *c, const char *role,
                                  struct lm_err *err)
{
    ftsb_status s;

    if ((s = tmpl_token(c, "<|start_header_id|>", false, err)) ||
        (s = tmpl_text(c, role, false, err)) ||
        (s = tmpl_token(c, "<|end_header_id|>", false, err)))
        return s;
    return tmpl_text(c, "\n\n", false, err);
}

static ftsb_status tmpl_llama3(const ftsb_message *msgs, size_t n,
                               const struct tmpl_opts *o,
                               struct tmpl_chat *c, struct lm_err *err)
{
    ftsb_status s;

    if ((s = tmpl_marker(c, TMPL_PART_BOS, false, false, err)))
        return s;
    for (size_t i = 0; i < n; i++) {
        bool a = tmpl_role(&msgs[i], "assistant");
        const char *t = msgs[i].content;
        if ((s = tmpl_l3_header(c, msgs[i].role, err)) ||
            (s = tmpl_text_ws(c, t, strlen(t), true, a, err)) ||
            (s = tmpl_token(c, "<|eot_id|>", a, err)))
            return s;
    }
    if (o->no_generation_prompt || tmpl_role(&msgs[n - 1], "assistant"))
        return FTSB_OK;
    return tmpl_l3_header(c, "assistant", err);
}

static ftsb_status tmpl_plain(const ftsb_message *msgs, size_t n,
                              const struct tmpl_opts *o, struct tmpl_chat *c,
                              struct lm_err *err)
{
    ftsb_status s;

    if ((s = tmpl_marker(c, TMPL_PART_BOS, false, true, err)))
        return s;
    for (size_t i = 0; i < n; i++) {
        const ftsb_message *m = &msgs[i];
        if (tmpl_role(m, "assistant")) {
            if ((s = tmpl_text(c, "Assistant:", false, err)) ||
                (s = tmpl_text(c, " ", true, err)) ||
                (s = tmpl_text(c, m->content, true, err)) ||
                (s = tmpl_marker(c, TMPL_PART_EOS, true, false, err)))
                return s;
            continue;
        }
        if ((s = tmpl_text(c, tmpl_role(m, "user") ? "User: " : "System: ",
                           false, err)) ||
            (s = tmpl_text(c, m->content, false, err)) ||
            (s = tmpl_text(c, "\n", false, err)))
            return s;
    }
    if (o->no_generation_prompt || tmpl_role(&msgs[n - 1], "assistant"))
        return FTSB_OK;
    return tmpl_text(c, "Assistant:", false, err);
}

ftsb_status tmpl_render(enum tmpl_id id, const ftsb_message *msgs, size_t n,
                        const struct tmpl_opts *opts, struct tmpl_chat *out,
                        struct lm_err *err)
{
    static const struct tmpl_opts defaults;
    const struct tmpl_opts *o = opts ? opts : &defaults;
    ftsb_status s;

    memset(out, 0, sizeof *out);
    if ((s = tmpl_check(msgs, n, err)))
        return s;
    switch (id) {
    case TMPL_LLAMA2: s = tmpl_llama2(msgs, n, o, out, err); break;
    case TMPL_CHATML: s = tmpl_chatml(msgs, n, o, out, err); break;
    case TMPL_LLAMA3: s = tmpl_llama3(msgs, n, o, out, err); break;
    case TMPL_PLAIN: s = tmpl_plain(msgs, n, o, out, err); break;
    default:
        s = lm_fail(err, FTSB_E_INVALID, "chat template: unknown id %d",
                    (int)id);
    }
    if (s) {
        tmpl_chat_free(out);
        return s;
    }
    for (size_t i = 0; i < out->n; i++)
        out->parts[i].text = out->buf + out->off[i];
    return FTSB_OK;
}

/* ---- text and tokens -------------------------------------------------- */

static const char *tmpl_marker_text(const struct tmpl_part *p,
                                    const struct tok_vocab *v)
{
    int32_t id;

    if (p->kind == TMPL_PART_TEXT || p->kind == TMPL_PART_TOKEN)
        return p->text;
    if (p->kind == TMPL_PART_BOS && p->if_add_bos && v && !tok_add_bos(v))
        return "";
    id = !v ? -1 : p->kind == TMPL_PART_BOS ? tok_bos(v) : tok_eos(v);
    if (id >= 0)
        return tok_text(v, id);
    return p->kind == TMPL_PART_BOS ? "<s>" : "</s>";
}

ftsb_status tmpl_chat_text(const struct tmpl_chat *c,
                           const struct tok_vocab *v, char **out,
                           size_t *len, struct lm_err *err)
{
    size_t total = 1, k = 0;
    char *buf;

    for (size_t i = 0; i < c->n; i++)
        total += strlen(tmpl_marker_text(&c->parts[i], v));
    if (!(buf = malloc(total)))
        return tmpl_nomem(err);
    for (size_t i = 0; i < c->n; i++) {
        const char *t = tmpl_marker_text(&c->parts[i], v);
        size_t n = c->parts[i].kind == TMPL_PART_TEXT ? c->parts[i].len
                                                       : strlen(t);
        memcpy(buf + k, t, n);
        k += n;
    }
    buf[k] = '\0';
    *out = buf;
    *len = k;
    return FTSB_OK;
}

void tmpl_tokens_free(struct tmpl_tokens *t)
{
    free(t->ids);
    free(t->assistant);
    memset(t, 0, sizeof *t);
}

static ftsb_status tmpl_push(struct tmpl_tokens *t, int32_t id, bool asst,
                             struct lm_err *err)
{
    size_t cap = t->cap;

    if (!tmpl_reserve((void **)&t->ids, &t->cap, t->n + 1, sizeof *t->ids) ||
        (cap != t->cap &&
         !(t->assistant = realloc(t->assistant, t->cap))))
        return tmpl_nomem(err);
    t->ids[t->n] = id;
    t->assistant[t->n++] = asst;
    return FTSB_OK;
}

/* The id of a BOS, EOS or named token part, or an error naming it. */
static ftsb_status tmpl_part_id(const struct tmpl_part *p,
                                const struct tok_vocab *v, int32_t *id,
                                struct lm_err *err)
{
    const char *what = p->kind == TMPL_PART_BOS ? "a BOS token"
                                                : "an EOS token";

    if (p->kind == TMPL_PART_TOKEN)
        *id = tok_find(v, p->text, p->len);
    else
        *id = p->kind == TMPL_PART_BOS ? tok_bos(v) : tok_eos(v);
    if (*id >= 0)
        return FTSB_OK;
    if (p->kind == TMPL_PART_TOKEN)
        return lm_fail(err, FTSB_E_UNSUPPORTED,
                       "the chat template needs the token '%s', which the "
                       "model's vocabulary does not have; choose another "
                       "template",
                       p->text);
    return lm_fail(err, FTSB_E_UNSUPPORTED,
                   "the chat template needs %s, which the model's "
                   "vocabulary does not have",
                   what);
}

/* Bytes of parts[i..m), the text before part m within a run. */
static size_t tmpl_prefix(const struct tmpl_chat *c, size_t i, size_t m)
{
    size_t n = 0;

    while (i < m)
        n += c->parts[i++].len;
    return n;
}

/*
 * Moves *m to the next part of the run [.., j) whose assistant flag
 * differs from its predecessor's, and sets *at to the number of tokens of
 * the text before it: from that token on, the new flag applies.  This is
 * the paper's rule (the answer starts at len(tokenize(prompt))).
 */
static ftsb_status tmpl_boundary(const struct tmpl_chat *c, size_t i,
                                 size_t j, size_t *m, const char *joined,
                                 const struct tok_vocab *v, unsigned flags,
                                 size_t *at, struct lm_err *err)
{
    struct tok_ids ids = {0};
    ftsb_status s;

    while (*m < j && c->parts[*m].assistant == c->parts[*m - 1].assistant)
        (*m)++;
    *at = SIZE_MAX;
    if (*m == j)
        return FTSB_OK;
    s = tok_encode(v, joined, tmpl_prefix(c, i, *m), flags, &ids, err);
    *at = ids.n;
    tok_ids_free(&ids);
    return s;
}

/* Tokenizes the text parts [i, j) as the one string they form. */
static ftsb_status tmpl_run(const struct tmpl_chat *c, size_t i, size_t j,
                            const struct tok_vocab *v, unsigned flags,
                            struct tmpl_tokens *out, struct lm_err *err)
{
    size_t len = tmpl_prefix(c, i, j), m = i + 1, at;
    bool flag = c->parts[i].assistant;
    struct tok_ids ids = {0};
    char *joined = malloc(len + 1);
    ftsb_status s;

    if (!joined)
        return tmpl_nomem(err);
    for (size_t k = i, o = 0; k < j; o += c->parts[k++].len)
        memcpy(joined + o, c->parts[k].text, c->parts[k].len);
    s = tok_encode(v, joined, len, flags, &ids, err);
    if (!s)
        s = tmpl_boundary(c, i, j, &m, joined, v, flags, &at, err);
    for (size_t k = 0; !s && k < ids.n; k++) {
        while (!s && k >= at) {
            flag = c->parts[m++].assistant;
            s = tmpl_boundary(c, i, j, &m, joined, v, flags, &at, err);
        }
        if (!s)
            s = tmpl_push(out, ids.v[k], flag, err);
    }
    tok_ids_free(&ids);
    free(joined);
    return s;
}

ftsb_status tmpl_tokenize(const struct tmpl_chat *c,
                          const struct tok_vocab *v, struct tmpl_tokens *out,
                          struct lm_err *err)
{
    bool after_text = false;
    ftsb_status s = FTSB_OK;

    memset(out, 0, sizeof *out);
    for (size_t i = 0; !s && i < c->n;) {
        const struct tmpl_part *p = &c->parts[i];
        int32_t id;
        size_t j = i;
        if (p->kind == TMPL_PART_TEXT) {
            while (j < c->n && c->parts[j].kind == TMPL_PART_TEXT)
                j++;
            s = tmpl_run(c, i, j, v, after_text ? TOK_AFTER_TEXT : 0, out,
                         err);
            after_text = true;
            i = j;
            continue;
        }
        i++;
        if (p->kind == TMPL_PART_BOS && p->if_add_bos && !tok_add_bos(v))
            continue;
        if (!(s = tmpl_part_id(p, v, &id, err)))
            s = tmpl_push(out, id, p->assistant, err);
        after_text = false;
    }
    if (s)
        tmpl_tokens_free(out);
    return s;
}

ftsb_status tmpl_apply(enum tmpl_id id, const ftsb_message *msgs, size_t n,
                       const struct tmpl_opts *opts,
                       const struct tok_vocab *v, struct tmpl_tokens *out,
                       struct lm_err *err)
{
    struct tmpl_chat c;
    ftsb_status s = tmpl_render(id, msgs, n, opts, &c, err);

    if (s)
        return s;
    s = tmpl_tokenize(&c, v, out, err);
    tmpl_chat_free(&c);
    return s;
}
