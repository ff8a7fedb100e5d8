/*
 * json_read.c - the JSON dataset readers: JSONL in its three schemas
 * (chat, jsonl, dolly) and the Alpaca array.  Each record goes through the
 * same gates in order: UTF-8, syntax (jscan, for a reason and a position),
 * the cJSON tree, duplicate keys (cJSON keeps both and lookups see the
 * first, so a reader and a reviewer could see different prompts), then
 * the schema.  Row strings point into the cJSON tree, which lives until
 * the row callback returns.
 */
#include "../ftsb_setup.h"

#include <cjson/cJSON.h>

#include "../util/utf8.h"
#include "ds_internal.h"
#include "jscan.h"

/* Integers from JSON are doubles in cJSON: below 2^53 they are exact. */
#define EXACT_INT_LIMIT 9007199254740992.0

/* Scratch kept across records so a stream allocates once per high-water
 * mark, not once per row. */
struct jrow {
    const char *name, *base;
    enum ds_kind kind;
    struct strbuf id, why;
    ftsb_message *msgs;
    size_t msgs_cap;
    const cJSON **keys;
    size_t keys_cap;
    struct jscan js;
};

static void jrow_init(struct jrow *jr, const char *name, enum ds_kind kind)
{
    memset(jr, 0, sizeof *jr);
    jr->name = name;
    jr->base = ds_basename(name);
    jr->kind = kind;
    strbuf_init(&jr->id);
    strbuf_init(&jr->why);
}

static void jrow_release(struct jrow *jr)
{
    strbuf_release(&jr->id);
    strbuf_release(&jr->why);
    free(jr->msgs);
    free(jr->keys);
}

/* Records a schema error: always FTSB_E_FORMAT, unless the message itself
 * could not be built. */
static ftsb_status why(struct jrow *jr, const char *fmt, ...) FTSB_PRINTF(2, 3);

static ftsb_status why(struct jrow *jr, const char *fmt, ...)
{
    va_list ap;
    ftsb_status st;

    strbuf_reset(&jr->why);
    va_start(ap, fmt);
    st = strbuf_vaddf(&jr->why, fmt, ap);
    va_end(ap);
    return st ? st : FTSB_E_FORMAT;
}

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "an array";
    return cJSON_IsObject(v) ? "an object" : "an unknown value";
}

/* ---- duplicate keys ---------------------------------------------------- */

static int key_cmp(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

    return strcmp(x->string, y->string);
}

/* A member of obj whose key appears twice, or NULL.  Sorting keeps an
 * object with 100k keys from costing 10^10 comparisons. */
static const cJSON *dup_member(struct jrow *jr, const cJSON *obj,
                               ftsb_status *st)
{
    const cJSON **keys;
    size_t n = 0;

    for (const cJSON *c = obj->child; c; c = c->next)
        n++;
    if (n <= 8) {
        for (const cJSON *a = obj->child; a; a = a->next)
            for (const cJSON *b = a->next; b; b = b->next)
                if (strcmp(a->string, b->string) == 0)
                    return a;
        return NULL;
    }
    keys = ds_grow(jr->keys, &jr->keys_cap, n, sizeof *jr->keys);
    if (!keys) {
        *st = FTSB_E_NOMEM;
        return NULL;
    }
    jr->keys = keys;
    n = 0;
    for (const cJSON *c = obj->child; c; c = c->next)
        jr->keys[n++] = c;
    qsort(jr->keys, n, sizeof *jr->keys, key_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(jr->keys[i - 1]->string, jr->keys[i]->string) == 0)
            return jr->keys[i];
    return NULL;
}

/* Depth is bounded by jscan's nesting limit, so recursion is safe. */
static const cJSON *find_dup(struct jrow *jr, const cJSON *v,
                             const cJSON **parent, ftsb_status *st)
{
    if (cJSON_IsObject(v)) {
        const cJSON *d = dup_member(jr, v, st);

        if (d || *st) {
            *parent = v;
            return d;
        }
    }
    for (const cJSON *c = v->child; c && !*st; c = c->next) {
        const cJSON *d = find_dup(jr, c, parent, st);

        if (d)
            return d;
    }
    return NULL;
}

static int plain_key(const char *k)
{
    if (!*k || strlen(k) > 40)
        return 0;
    for (; *k; k++)
        if (!(*k == '_' || (*k >= 'a' && *k <= 'z') ||
              (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9')))
            return 0;
    return 1;
}

/* Appends the path from node to target (".messages[1]"); 1 when found. */
static int path_to(const cJSON *node, const cJSON *target, struct strbuf *sb)
{
    size_t mark = sb->len, i = 0;

    if (node == target)
        return 1;
    for (const cJSON *c = node->child; c; c = c->next, i++) {
        if (!cJSON_IsObject(node))
            strbuf_addf(sb, "[%zu]", i);
        else if (plain_key(c->string))
            strbuf_addf(sb, ".%s", c->string);
        else if (strbuf_addch(sb, '[') == FTSB_OK &&
                 ds_quote(sb, c->string) == FTSB_OK)
            strbuf_addch(sb, ']');
        if (path_to(c, target, sb))
            return 1;
        if (sb->len > mark) {
            sb->len = mark;
            sb->buf[mark] = '\0';
        }
    }
    return 0;
}

static ftsb_status check_dups(struct jrow *jr, const cJSON *root)
{
    struct strbuf path = STRBUF_INIT;
    const cJSON *parent = NULL, *d;
    ftsb_status st = FTSB_OK;

    d = find_dup(jr, root, &parent, &st);
    if (st || !d)
        return st;
    strbuf_reset(&jr->why);
    if (strbuf_addstr(&jr->why, "duplicate key ") ||
        ds_quote(&jr->why, d->string))
        return FTSB_E_NOMEM;
    if (parent != root && path_to(root, parent, &path) && path.len)
        strbuf_addf(&jr->why, " in %s",
                    path.buf + (path.buf[0] == '.'));
    strbuf_release(&path);
    return FTSB_E_FORMAT;
}

/* ---- schema ------------------------------------------------------------ */

/* *out = the string member key, NULL when absent or null (an error when
 * required). */
static ftsb_status get_str(struct jrow *jr, const cJSON *obj, const char *key,
                           int required, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    *out = NULL;
    if (!v && required)
        return why(jr, "missing \"%s\"", key);
    if (!v || (cJSON_IsNull(v) && !required))
        return FTSB_OK;
    if (!cJSON_IsString(v))
        return why(jr, "\"%s\" must be a string, found %s", key, type_name(v));
    *out = v->valuestring;
    return FTSB_OK;
}

static ftsb_status get_message(struct jrow *jr, const cJSON *m, size_t i,
                               ftsb_message *out)
{
    const cJSON *role, *content;

    if (!cJSON_IsObject(m))
        return why(jr, "message %zu is %s; expected an object", i,
                   type_name(m));
    role = cJSON_GetObjectItemCaseSensitive(m, "role");
    content = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (!role)
        return why(jr, "message %zu has no \"role\"", i);
    if (!cJSON_IsString(role))
        return why(jr, "message %zu: \"role\" must be a string, found %s", i,
                   type_name(role));
    if (!ds_role_ok(role->valuestring)) {
        strbuf_reset(&jr->why);
        if (strbuf_addf(&jr->why, "message %zu has role ", i) ||
            ds_quote(&jr->why, role->valuestring) ||
            strbuf_addstr(&jr->why,
                          "; expected system, user or assistant"))
            return FTSB_E_NOMEM;
        return FTSB_E_FORMAT;
    }
    if (!content)
        return why(jr, "message %zu has no \"content\"", i);
    if (!cJSON_IsString(content))
        return why(jr, "message %zu: \"content\" must be a string, found %s",
                   i, type_name(content));
    out->role = role->valuestring;
    out->content = content->valuestring;
    return FTSB_OK;
}

static ftsb_status get_chat(struct jrow *jr, const cJSON *obj, int required,
                            ftsb_chat *chat)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, "messages");
    ftsb_message *msgs;
    size_t n = 0, i = 0;
    ftsb_status st;

    chat->n_messages = 0;
    chat->messages = NULL;
    if (!arr || (cJSON_IsNull(arr) && !required))
        return required ? why(jr, "missing \"messages\" array") : FTSB_OK;
    if (!cJSON_IsArray(arr))
        return why(jr, "\"messages\" must be an array, found %s",
                   type_name(arr));
    for (const cJSON *m = arr->child; m; m = m->next)
        n++;
    if (n == 0)
        return why(jr, "\"messages\" is empty; expected at least one message");
    if (n > UINT32_MAX)
        return why(jr, "more than %lu messages", (unsigned long)UINT32_MAX);
    msgs = ds_grow(jr->msgs, &jr->msgs_cap, n, sizeof *jr->msgs);
    if (!msgs)
        return FTSB_E_NOMEM;
    jr->msgs = msgs;
    for (const cJSON *m = arr->child; m; m = m->next, i++)
        if ((st = get_message(jr, m, i + 1, &jr->msgs[i])) != FTSB_OK)
            return st;
    chat->n_messages = (uint32_t)n;
    chat->messages = jr->msgs;
    return FTSB_OK;
}

/* Chat rows also answer as instruction lists: the first user turn is the
 * instruction, the last assistant turn the response. */
static void derive_from_chat(ftsb_example *ex)
{
    for (uint32_t i = 0; i < ex->chat.n_messages; i++) {
        const ftsb_message *m = &ex->chat.messages[i];

        if (!ex->instruction && strcmp(m->role, "user") == 0)
            ex->instruction = m->content;
    }
    for (uint32_t i = ex->chat.n_messages; i-- > 0 && !ex->response;) {
        const ftsb_message *m = &ex->chat.messages[i];

        if (strcmp(m->role, "assistant") == 0)
            ex->response = m->content;
    }
}

static ftsb_status get_id(struct jrow *jr, const cJSON *obj, uint64_t line,
                          const char **id)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "id");
    double d;

    strbuf_reset(&jr->id);
    if (v && cJSON_IsString(v)) {
        *id = v->valuestring;
        return FTSB_OK;
    }
    if (v && cJSON_IsNumber(v)) {
        d = v->valuedouble;
        if (!(d > -EXACT_INT_LIMIT && d < EXACT_INT_LIMIT) ||
            d != (double)(long long)d)
            return why(jr, "\"id\" must be a string or an integer below "
                           "2^53 in magnitude");
        if (strbuf_addf(&jr->id, "%lld", (long long)d))
            return FTSB_E_NOMEM;
    } else if (v && !cJSON_IsNull(v)) {
        return why(jr, "\"id\" must be a string or an integer, found %s",
                   type_name(v));
    } else if (strbuf_addf(&jr->id, "%s:%llu", jr->base,
                           (unsigned long long)line)) {
        return FTSB_E_NOMEM;
    }
    *id = jr->id.buf;
    return FTSB_OK;
}

static ftsb_status fill_jsonl(struct jrow *jr, const cJSON *obj,
                              ftsb_example *ex)
{
    ftsb_status st;

    if ((st = get_chat(jr, obj, 0, &ex->chat)) ||
        (st = get_str(jr, obj, "instruction", !ex->chat.n_messages,
                      &ex->instruction)) ||
        (st = get_str(jr, obj, "category", 0, &ex->category)) ||
        (st = get_str(jr, obj, "input", 0, &ex->input)) ||
        (st = get_str(jr, obj, "response", 0, &ex->response)))
        return st;
    if (!ex->response && (st = get_str(jr, obj, "output", 0, &ex->response)))
        return st;
    derive_from_chat(ex);
    return FTSB_OK;
}

static ftsb_status fill_row(struct jrow *jr, const cJSON *obj, uint64_t line,
                            ftsb_example *ex)
{
    ftsb_status st = FTSB_OK;

    memset(ex, 0, sizeof *ex);
    ex->struct_size = sizeof *ex;
    switch (jr->kind) {
    case DS_CHAT:
        if ((st = get_chat(jr, obj, 1, &ex->chat)) == FTSB_OK)
            derive_from_chat(ex);
        break;
    case DS_JSONL:
        st = fill_jsonl(jr, obj, ex);
        break;
    case DS_DOLLY:
        if ((st = get_str(jr, obj, "instruction", 1, &ex->instruction)) ||
            (st = get_str(jr, obj, "context", 0, &ex->input)) ||
            (st = get_str(jr, obj, "response", 0, &ex->response)) ||
            (st = get_str(jr, obj, "category", 0, &ex->category)))
            return st;
        break;
    default: /* DS_ALPACA */
        if ((st = get_str(jr, obj, "instruction", 1, &ex->instruction)) ||
            (st = get_str(jr, obj, "input", 0, &ex->input)) ||
            (st = get_str(jr, obj, "output", 0, &ex->response)))
            return st;
    }
    if (st)
        return st;
    /* Alpaca and Dolly write "" for "no input"; so do we, on the way in. */
    if (ex->input && !*ex->input)
        ex->input = NULL;
    if (jr->kind == DS_JSONL)
        return get_id(jr, obj, line, &ex->id);
    strbuf_reset(&jr->id);
    if (strbuf_addf(&jr->id, "%s:%llu", jr->base, (unsigned long long)line))
        return FTSB_E_NOMEM;
    ex->id = jr->id.buf;
    return FTSB_OK;
}

/* Checks and parses one complete JSON object text (NUL-terminated, already
 * syntax-checked), then hands the row to fn.  where prefixes messages. */
static ftsb_status emit_object(struct jrow *jr, const char *text,
                               uint64_t line, const char *where,
                               dataset_row_fn fn, void *ud, struct err *err)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    ftsb_example ex;
    ftsb_status st;

    /* jscan accepted the text and rejects all that cJSON does (the fuzz
     * target checks this), so cJSON can only have run out of memory. */
    if (!root)
        return ds_fail(err, FTSB_E_NOMEM, jr->name, line,
                       "%sout of memory parsing the record (cJSON stopped "
                       "at byte %zu)", where,
                       end ? (size_t)(end - text) + 1 : 1);
    st = check_dups(jr, root);
    if (st == FTSB_OK)
        st = fill_row(jr, root, line, &ex);
    if (st == FTSB_E_FORMAT)
        ds_fail(err, st, jr->name, line, "%s%s", where, jr->why.buf);
    else if (st == FTSB_OK)
        st = fn(ud, &ex, err);
    else
        ds_fail(err, st, jr->name, line, "out of memory");
    cJSON_Delete(root);
    return st;
}

/* ---- JSONL ------------------------------------------------------------- */

static ftsb_status parse_line(struct jrow *jr, const struct strbuf *line,
                              uint64_t lineno, dataset_row_fn fn, void *ud,
                              struct err *err)
{
    struct jscan *js = &jr->js;
    size_t bad, k;
    int r;

    if (!utf8_valid(line->buf, line->len, &bad))
        return ds_fail(err, FTSB_E_FORMAT, jr->name, lineno,
                       "invalid UTF-8 at byte %zu of the line", bad + 1);
    jscan_init(js, 0, '{');
    k = jscan_feed(js, line->buf, line->len);
    if (js->reason && js->wrong_top)
        return ds_fail(err, FTSB_E_FORMAT, jr->name, lineno, "%s",
                       js->reason);
    if (js->reason)
        return ds_fail(err, FTSB_E_FORMAT, jr->name, lineno,
                       "invalid JSON at byte %zu: %s", k + 1, js->reason);
    r = jscan_finish(js, "line");
    if (r > 0)
        return FTSB_OK; /* a blank line */
    if (r < 0)
        return ds_fail(err, FTSB_E_FORMAT, jr->name, lineno,
                       "invalid JSON at byte %zu: %s", line->len + 1,
                       js->reason);
    return emit_object(jr, line->buf, lineno, "", fn, ud, err);
}

ftsb_status ds_read_json_lines(struct src *s, enum ds_kind kind,
                               dataset_row_fn fn, void *ud, struct err *err)
{
    struct strbuf line = STRBUF_INIT;
    struct jrow *jr = malloc(sizeof *jr);
    uint64_t lineno = 0;
    ftsb_status st;
    int got;

    if (!jr)
        return err_set(err, FTSB_E_NOMEM, "out of memory reading '%s'",
                       s->name);
    jrow_init(jr, s->name, kind);
    while ((st = src_getline(s, &line, &lineno, &got, err)) == FTSB_OK &&
           got)
        if ((st = parse_line(jr, &line, lineno, fn, ud, err)) != FTSB_OK)
            break;
    jrow_release(jr);
    free(jr);
    strbuf_release(&line);
    return st;
}

ftsb_status ds_sniff_jsonl(struct src *s, enum ds_kind *kind, struct err *err)
{
    struct strbuf line = STRBUF_INIT;
    uint64_t lineno = 0;
    ftsb_status st;
    int got;

    *kind = DS_JSONL;
    while ((st = src_getline(s, &line, &lineno, &got, err)) == FTSB_OK &&
           got) {
        cJSON *root;

        if (line.len == strspn(line.buf, " \t\r"))
            continue;
        /* A broken first line is reported by the real read. */
        root = cJSON_ParseWithOpts(line.buf, NULL, 1);
        if (cJSON_GetObjectItemCaseSensitive(root, "messages"))
            *kind = DS_CHAT;
        else if (cJSON_GetObjectItemCaseSensitive(root, "context"))
            *kind = DS_DOLLY;
        cJSON_Delete(root);
        break;
    }
    strbuf_release(&line);
    return st;
}

/* ---- Alpaca: one array, read element by element ------------------------ */

/* A position in the input: line (1-based), bytes before it in its line,
 * and the offset in the file. */
struct tpos {
    uint64_t line, col, off;
};

static void tpos_advance(struct tpos *t, const char *p, size_t n)
{
    const char *nl;

    t->off += n;
    while ((nl = memchr(p, '\n', n)) != NULL) {
        t->line++;
        t->col = 0;
        n -= (size_t)(nl + 1 - p);
        p = nl + 1;
    }
    t->col += n;
}

struct alpaca {
    struct jrow jr;
    struct strbuf elem;
    struct tpos at, start; /* next byte; first byte of the element */
    uint64_t index;        /* 1-based number of the current element */
    int capturing;
};

static ftsb_status syntax_error(struct alpaca *a, struct err *err)
{
    const struct jscan *js = &a->jr.js;

    if (js->wrong_top)
        return ds_fail(err, FTSB_E_FORMAT, a->jr.name, a->at.line,
                       "%s; an Alpaca file is one array of objects",
                       js->reason);
    return ds_fail(err, FTSB_E_FORMAT, a->jr.name, a->at.line,
                   "invalid JSON at byte %llu (offset %llu): %s",
                   (unsigned long long)a->at.col + 1,
                   (unsigned long long)a->at.off, js->reason);
}

static ftsb_status element_done(struct alpaca *a, dataset_row_fn fn, void *ud,
                                struct err *err)
{
    char where[48];
    size_t bad;

    a->capturing = 0;
    snprintf(where, sizeof where, "element %llu: ",
             (unsigned long long)a->index);
    if (!utf8_valid(a->elem.buf, a->elem.len, &bad)) {
        struct tpos t = a->start;

        tpos_advance(&t, a->elem.buf, bad);
        return ds_fail(err, FTSB_E_FORMAT, a->jr.name, t.line,
                       "%sinvalid UTF-8 at byte %llu (offset %llu)", where,
                       (unsigned long long)t.col + 1,
                       (unsigned long long)t.off);
    }
    return emit_object(&a->jr, a->elem.buf, a->start.line, where, fn, ud,
                       err);
}

static ftsb_status element_start(struct alpaca *a, const char *p,
                                 struct err *err)
{
    const char *kind;

    a->index++;
    a->start = a->at;
    a->capturing = 1;
    strbuf_reset(&a->elem);
    if (*p != '{') {
        kind = *p == '[' ? "an array" : *p == '"' ? "a string" :
               *p == 'n' ? "null" : *p == 't' || *p == 'f' ? "a boolean" :
               "a number";
        return ds_fail(err, FTSB_E_FORMAT, a->jr.name, a->at.line,
                       "element %llu is %s; expected an object",
                       (unsigned long long)a->index, kind);
    }
    return strbuf_add(&a->elem, p, 1) ? FTSB_E_NOMEM : FTSB_OK;
}

static ftsb_status capture(struct alpaca *a, const char *p, size_t n,
                           struct err *err)
{
    char size[32];

    if (n > dataset_max_record() - a->elem.len) {
        ds_size_text(size, sizeof size, dataset_max_record());
        return ds_fail(err, FTSB_E_FORMAT, a->jr.name, a->start.line,
                       "element %llu longer than %s; split the record or "
                       "raise the limit",
                       (unsigned long long)a->index, size);
    }
    if (strbuf_add(&a->elem, p, n))
        return err_set(err, FTSB_E_NOMEM, "%s:%llu: out of memory",
                       a->jr.name, (unsigned long long)a->start.line);
    return FTSB_OK;
}

/* Feeds the window p[0..n) through the scanner, capturing elements. */
static ftsb_status alpaca_chunk(struct alpaca *a, const char *p, size_t n,
                                size_t *used, dataset_row_fn fn, void *ud,
                                struct err *err)
{
    struct jscan *js = &a->jr.js;
    size_t k = jscan_feed(js, p, n);
    ftsb_status st = FTSB_OK;

    *used = k;
    if (js->reason) {
        tpos_advance(&a->at, p, k);
        return syntax_error(a, err);
    }
    if (js->event == JSCAN_EV_START) {
        tpos_advance(&a->at, p, k - 1);
        st = element_start(a, p + k - 1, err);
        tpos_advance(&a->at, p + k - 1, 1);
        return st;
    }
    if (a->capturing && (st = capture(a, p, k, err)) != FTSB_OK)
        return st;
    tpos_advance(&a->at, p, k);
    if (js->event == JSCAN_EV_END)
        st = element_done(a, fn, ud, err);
    return st;
}

static ftsb_status alpaca_run(struct alpaca *a, struct src *s,
                              dataset_row_fn fn, void *ud, struct err *err)
{
    ftsb_status st;
    size_t used;

    for (;;) {
        if ((st = src_fill(s, err)) != FTSB_OK)
            return st;
        if (s->eof)
            break;
        a->at.off = s->off + s->pos;
        st = alpaca_chunk(a, s->buf + s->pos, s->len - s->pos, &used, fn,
                          ud, err);
        if (st != FTSB_OK)
            return st;
        s->pos += used;
    }
    if (jscan_finish(&a->jr.js, "file") < 0)
        return syntax_error(a, err);
    return FTSB_OK;
}

ftsb_status ds_read_alpaca(struct src *s, dataset_row_fn fn, void *ud,
                           struct err *err)
{
    struct alpaca *a = malloc(sizeof *a);
    ftsb_status st;

    if (!a)
        return err_set(err, FTSB_E_NOMEM, "out of memory reading '%s'",
                       s->name);
    memset(a, 0, sizeof *a);
    jrow_init(&a->jr, s->name, DS_ALPACA);
    jscan_init(&a->jr.js, 1, '[');
    strbuf_init(&a->elem);
    a->at.line = 1;
    st = alpaca_run(a, s, fn, ud, err);
    strbuf_release(&a->elem);
    jrow_release(&a->jr);
    free(a);
    return st;
}
