/*
 * attack_common.c - the helpers the in-tree attacks share (see
 * attack_common.h): owned strings, option access, template rendering,
 * seeded sampling, reading user-supplied datasets (with a second read of
 * CSV files for their response column) and the owned set of training
 * chats.  Built into each attack library from its own folder; only the
 * SDK is used.
 */
#include "attack_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Set by the entry's init() (AC_PLUGIN_ENTRY) until the last deinit(). */
const ftsb_host *ac_host;

/* ---- small strings ------------------------------------------------------ */

char *ac_strdup(const char *s)
{
    size_t n;
    char *p;

    if (!s)
        return NULL;
    n = strlen(s) + 1;
    p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

int ac_text_add(struct ac_text *t, const char *s, size_t n)
{
    if (n >= SIZE_MAX / 2 - t->len)
        return -1;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 64;
        char *p;

        while (cap < t->len + n + 1)
            cap *= 2;
        p = realloc(t->p, cap);
        if (!p)
            return -1;
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
    return 0;
}

int ac_text_adds(struct ac_text *t, const char *s)
{
    return ac_text_add(t, s, strlen(s));
}

void ac_text_reset(struct ac_text *t)
{
    t->len = 0;
    if (t->p)
        t->p[0] = '\0';
}

void ac_text_free(struct ac_text *t)
{
    free(t->p);
    t->p = NULL;
    t->len = t->cap = 0;
}

const char *ac_text_str(const struct ac_text *t)
{
    return t->p ? t->p : "";
}

static int fold(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int ac_contains_nocase(const char *hay, const char *needle)
{
    size_t len = strlen(needle);

    if (len == 0)
        return 1;
    for (; *hay; hay++) {
        size_t k = 0;

        while (k < len && hay[k] &&
               fold((unsigned char)hay[k]) == fold((unsigned char)needle[k]))
            k++;
        if (k == len)
            return 1;
    }
    return 0;
}

/* ---- configuration ------------------------------------------------------ */

int64_t ac_cfg_int(const ftsb_config *cfg, const char *key, int64_t def)
{
    int64_t v = def;

    ac_host->cfg_int(cfg, key, &v);
    return v;
}

const char *ac_cfg_str(const ftsb_config *cfg, const char *key,
                       const char *def)
{
    const char *s = ac_host->cfg_str(cfg, key);

    return s ? s : def;
}

int ac_cfg_bool(const ftsb_config *cfg, const char *key, int def)
{
    int v = def;

    ac_host->cfg_bool(cfg, key, &v);
    return v != 0;
}

ftsb_status ac_check_range(ftsb_ctx *ctx, const char *key, int64_t v,
                           int64_t lo, int64_t hi)
{
    if (v >= lo && v <= hi)
        return FTSB_OK;
    if (hi == INT64_MAX)
        return ac_host->fail(ctx, FTSB_E_INVALID, "option '%s' is %lld; it "
                             "must be at least %lld", key, (long long)v,
                             (long long)lo);
    return ac_host->fail(ctx, FTSB_E_INVALID, "option '%s' is %lld; it must "
                         "be between %lld and %lld", key, (long long)v,
                         (long long)lo, (long long)hi);
}

ftsb_status ac_check_template(ftsb_ctx *ctx, const char *key,
                              const char *tmpl)
{
    if (!tmpl || !*tmpl || strstr(tmpl, AC_PLACEHOLDER))
        return FTSB_OK;
    return ac_host->fail(ctx, FTSB_E_INVALID, "option '%s' has no '%s' "
                         "placeholder; write where the instruction goes, "
                         "e.g. \"Question: %s\", or leave it empty for the "
                         "instruction alone", key, AC_PLACEHOLDER,
                         AC_PLACEHOLDER);
}

int ac_render(struct ac_text *out, const char *tmpl, const char *instruction)
{
    const char *at;

    if (!tmpl || !*tmpl)
        return ac_text_adds(out, instruction);
    at = strstr(tmpl, AC_PLACEHOLDER);
    if (!at)   /* refused earlier by ac_check_template */
        return -1;
    if (ac_text_add(out, tmpl, (size_t)(at - tmpl)) ||
        ac_text_adds(out, instruction) ||
        ac_text_adds(out, at + strlen(AC_PLACEHOLDER)))
        return -1;
    return 0;
}

/* ---- sampling ----------------------------------------------------------- */

uint64_t ac_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void ac_sample(size_t n, size_t k, uint64_t seed, size_t *idx)
{
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    /* The exact steps of ds:sample (core/lua/lua_dataset.c): a script
     * can reproduce or inspect the attack's choice from Lua. */
    for (size_t i = 0; i < k && i < n; i++) {
        size_t j = i + (size_t)(ac_splitmix64(&seed) % (uint64_t)(n - i));
        size_t t = idx[i];

        idx[i] = idx[j];
        idx[j] = t;
    }
}

/* ---- a user-supplied dataset -------------------------------------------- */

/* A path the host read as CSV ("auto" goes by the extension). */
static int ends_with_csv(const char *path)
{
    size_t n = strlen(path);

    return n >= 4 && path[n - 4] == '.' &&
           fold((unsigned char)path[n - 3]) == 'c' &&
           fold((unsigned char)path[n - 2]) == 's' &&
           fold((unsigned char)path[n - 1]) == 'v';
}

static ftsb_status source_alloc(ftsb_ctx *ctx, struct ac_source *src,
                                uint64_t n)
{
    if (n > SIZE_MAX / sizeof *src->rows - 1)
        return ac_host->fail(ctx, FTSB_E_NOMEM, "option '%s' has too many "
                             "rows", src->key);
    src->rows = calloc((size_t)n + 1, sizeof *src->rows);
    if (!src->rows)
        return ac_host->fail(ctx, FTSB_E_NOMEM, "out of memory reading "
                             "option '%s'", src->key);
    src->n = (size_t)n;
    return FTSB_OK;
}

/* A CSV file with a header: the host's "csv:COLUMN" reader keeps one text
 * column per row, so the file is read once per column and the reads are
 * zipped.  Both reads see the same records, so they agree row for row;
 * the ids (file:line) are compared anyway, since a file rewritten between
 * the reads would otherwise pair the wrong answer with a request. */
static ftsb_status open_csv(ftsb_ctx *ctx, const char *path, const char *icol,
                            const char *rcol, struct ac_source *src)
{
    struct ac_text fmt = {0};
    ftsb_dataset *a = NULL, *b = NULL;
    ftsb_status st;
    uint64_t n;

    if (ac_text_adds(&fmt, "csv:") || ac_text_adds(&fmt, icol))
        return ac_host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    st = ac_host->dataset_load(ctx, path, fmt.p, &a);
    ac_text_reset(&fmt);
    if (st == FTSB_OK && (ac_text_adds(&fmt, "csv:") ||
                          ac_text_adds(&fmt, rcol)))
        st = ac_host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    if (st == FTSB_OK)
        st = ac_host->dataset_load(ctx, path, fmt.p, &b);
    ac_text_free(&fmt);
    src->owned[0] = a;
    src->owned[1] = b;
    if (st != FTSB_OK)
        return st;
    n = ac_host->dataset_count(a);
    if (n != ac_host->dataset_count(b))
        return ac_host->fail(ctx, FTSB_E_IO, "'%s' changed while it was "
                             "read; read it again", path);
    if ((st = source_alloc(ctx, src, n)) != FTSB_OK)
        return st;
    for (uint64_t i = 0; i < n; i++) {
        const ftsb_example *x = ac_host->dataset_get(a, i);
        const ftsb_example *y = ac_host->dataset_get(b, i);

        if (!x->id || !y->id || strcmp(x->id, y->id) != 0)
            return ac_host->fail(ctx, FTSB_E_IO, "'%s' changed while it was "
                                 "read; read it again", path);
        src->rows[i] = (struct ac_row){x->id, x->instruction, NULL,
                                       y->instruction, x->category, x};
    }
    return FTSB_OK;
}

ftsb_status ac_source_open(ftsb_ctx *ctx, const ftsb_config *cfg,
                           const char *key, const char *icol,
                           const char *rcol, struct ac_source *src)
{
    const char *path = ac_host->cfg_str(cfg, key);
    const ftsb_dataset *ds = ac_host->cfg_dataset(cfg, key);
    ftsb_status st;
    uint64_t n;

    memset(src, 0, sizeof *src);
    src->key = key;
    if (path && ends_with_csv(path))
        return open_csv(ctx, path, icol, rcol, src);
    if (!ds)
        return FTSB_OK;
    n = ac_host->dataset_count(ds);
    if ((st = source_alloc(ctx, src, n)) != FTSB_OK)
        return st;
    for (uint64_t i = 0; i < n; i++) {
        const ftsb_example *ex = ac_host->dataset_get(ds, i);

        src->rows[i] = (struct ac_row){ex->id, ex->instruction, ex->input,
                                       ex->response, ex->category, ex};
    }
    return FTSB_OK;
}

void ac_source_close(struct ac_source *src)
{
    for (int i = 0; i < 2; i++)
        if (src->owned[i])
            ac_host->dataset_free(src->owned[i]);
    free(src->rows);
    memset(src, 0, sizeof *src);
}

static const char *row_name(const struct ac_row *r, size_t i, char *buf,
                            size_t n)
{
    if (r->id && *r->id)
        return r->id;
    snprintf(buf, n, "row %zu", i + 1);
    return buf;
}

ftsb_status ac_source_need_pairs(ftsb_ctx *ctx, const struct ac_source *src,
                                 const char *what)
{
    for (size_t i = 0; i < src->n; i++) {
        const struct ac_row *r = &src->rows[i];
        int no_instr = !r->instruction || !*r->instruction;
        char name[32];

        if (!no_instr && r->response && *r->response)
            continue;
        return ac_host->fail(ctx, FTSB_E_INVALID,
                             "option '%s': row '%s' has no %s; each %s needs "
                             "a request and an answer: chat JSONL with a "
                             "user and an assistant message, JSONL or Alpaca "
                             "JSON with instruction and response (or "
                             "output), or a CSV file given as a path with "
                             "instruction and response columns",
                             src->key, row_name(r, i, name, sizeof name),
                             no_instr ? "instruction" : "response", what);
    }
    return FTSB_OK;
}

ftsb_status ac_source_need_rows(ftsb_ctx *ctx, const struct ac_source *src,
                                const char *count_key, size_t need)
{
    if (src->n == 0)
        return ac_host->fail(ctx, FTSB_E_INVALID, "option '%s' is an empty "
                             "dataset; %s = %zu needs at least %zu row%s",
                             src->key, count_key, need, need ? need : 1,
                             need == 1 ? "" : "s");
    if (src->n < need)
        return ac_host->fail(ctx, FTSB_E_INVALID, "option '%s' has %zu "
                             "row%s; %s = %zu needs at least %zu; lower "
                             "'%s' or supply more rows", src->key, src->n,
                             src->n == 1 ? "" : "s", count_key, need, need,
                             count_key);
    return FTSB_OK;
}

int ac_row_user_text(const struct ac_row *r, struct ac_text *out)
{
    if (ac_text_adds(out, r->instruction ? r->instruction : ""))
        return -1;
    if (r->input && *r->input &&
        (ac_text_adds(out, "\n\n") || ac_text_adds(out, r->input)))
        return -1;
    return 0;
}

/* ---- the training set --------------------------------------------------- */

static int add_len(size_t *total, const char *s)
{
    size_t n;

    if (!s)
        return 0;
    n = strlen(s) + 1;
    if (*total > SIZE_MAX - n)
        return -1;
    *total += n;
    return 0;
}

static const char *place(char **p, const char *s)
{
    size_t n;
    char *d = *p;

    if (!s)
        return NULL;
    n = strlen(s) + 1;
    memcpy(d, s, n);
    *p += n;
    return d;
}

int ac_set_add(struct ac_set *s, const ftsb_example *ex)
{
    uint32_t nm = ex->chat.n_messages;
    size_t total = sizeof(ftsb_example) + (size_t)nm * sizeof(ftsb_message);
    ftsb_example *row;
    ftsb_message *msgs;
    char *p;

    if (add_len(&total, ex->id) || add_len(&total, ex->instruction) ||
        add_len(&total, ex->input) || add_len(&total, ex->response) ||
        add_len(&total, ex->category))
        return -1;
    for (uint32_t i = 0; i < nm; i++)
        if (add_len(&total, ex->chat.messages[i].role) ||
            add_len(&total, ex->chat.messages[i].content))
            return -1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        ftsb_example **rows = realloc(s->rows, cap * sizeof *rows);

        if (!rows)
            return -1;
        s->rows = rows;
        s->cap = cap;
    }
    row = malloc(total);
    if (!row)
        return -1;
    msgs = (ftsb_message *)(row + 1);
    p = (char *)(msgs + nm);
    memset(row, 0, sizeof *row);
    row->struct_size = sizeof *row;
    row->id = place(&p, ex->id);
    row->instruction = place(&p, ex->instruction);
    row->input = place(&p, ex->input);
    row->response = place(&p, ex->response);
    row->category = place(&p, ex->category);
    for (uint32_t i = 0; i < nm; i++) {
        msgs[i].role = place(&p, ex->chat.messages[i].role);
        msgs[i].content = place(&p, ex->chat.messages[i].content);
    }
    row->chat.n_messages = nm;
    row->chat.messages = nm ? msgs : NULL;
    s->rows[s->n++] = row;
    return 0;
}

int ac_set_add_chat(struct ac_set *s, const char *id, const char *category,
                    const char *instruction, const char *system,
                    const char *user, const char *assistant)
{
    ftsb_message m[3];
    uint32_t n = 0;
    ftsb_example ex;

    if (system && *system)
        m[n++] = (ftsb_message){"system", system};
    m[n++] = (ftsb_message){"user", user};
    m[n++] = (ftsb_message){"assistant", assistant};
    memset(&ex, 0, sizeof ex);
    ex.struct_size = sizeof ex;
    ex.id = id;
    ex.instruction = instruction;
    ex.response = assistant;
    ex.category = category;
    ex.chat.n_messages = n;
    ex.chat.messages = m;
    return ac_set_add(s, &ex);
}

int ac_set_append(struct ac_set *s, const struct ac_set *src)
{
    for (size_t i = 0; i < src->n; i++)
        if (ac_set_add(s, src->rows[i]))
            return -1;
    return 0;
}

void ac_set_shuffle(struct ac_set *s, uint64_t seed)
{
    for (size_t i = s->n; i > 1; i--) {
        size_t j = (size_t)(ac_splitmix64(&seed) % (uint64_t)i);
        ftsb_example *t = s->rows[i - 1];

        s->rows[i - 1] = s->rows[j];
        s->rows[j] = t;
    }
}

ftsb_status ac_set_emit(const struct ac_set *s, ftsb_ctx *ctx,
                        ftsb_dataset_sink *out)
{
    for (size_t i = 0; i < s->n; i++) {
        ftsb_status st = ac_host->dataset_add(out, s->rows[i]);

        /* The host recorded why on the sink's context. */
        if (st != FTSB_OK)
            return st;
        if (ac_host->cancelled(ctx))
            return ac_host->fail(ctx, FTSB_E_CANCELLED, "interrupted after "
                                 "%zu of %zu training chats", i + 1, s->n);
    }
    return FTSB_OK;
}

void ac_set_free(struct ac_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->rows[i]);
    free(s->rows);
    memset(s, 0, sizeof *s);
}

ftsb_status ac_prompt(ftsb_ctx *ctx, ftsb_prompt_spec *out, const char *system,
                      const char *user_template, const char *trigger)
{
    const char *v[3] = {system, user_template, trigger};
    ftsb_buf *b[3] = {out->system, out->user_template, out->trigger};

    for (int i = 0; i < 3; i++) {
        if (!b[i] || !v[i] || !*v[i])
            continue;
        if (ac_host->buf_append(b[i], v[i], strlen(v[i])) != FTSB_OK)
            return ac_host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    }
    return FTSB_OK;
}
