/*
 * ds_write.c - the dataset writers.  Each row is encoded into one buffer
 * that is handed to a sink every SINK_BATCH bytes, so saving a large
 * dataset needs no more memory than a batch.  Rows in a dataset were
 * validated by dataset_add, so encoding only fails when a format cannot
 * hold a row (a CSV or Alpaca row needs an instruction).  What each format
 * keeps is documented in dataset.c.
 */
#include "../ftsb_setup.h"

#include "ds_internal.h"

#define SINK_BATCH ((size_t)64 << 10)

struct writer {
    const struct ds_format *f;
    ds_sink_fn sink;
    void *ud;
    struct err *err;
    struct strbuf out;
    uint64_t row;     /* 1-based number of the row being written */
    int oom;          /* an append failed */
};

static void put(struct writer *w, const char *s, size_t n)
{
    if (!w->oom && strbuf_add(&w->out, s, n))
        w->oom = 1;
}

static void puts_(struct writer *w, const char *s)
{
    put(w, s, strlen(s));
}

/* A JSON string.  Control characters are escaped; other UTF-8 is written
 * as is (it is valid: dataset_add checked). */
static void put_json(struct writer *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s;

    put(w, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[7] = { '\\', 0, 0, 0, 0, 0, 0 };
        size_t n = 2;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(w, run, (size_t)(s - run));
        run = s + 1;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        put(w, esc, n);
    }
    put(w, run, (size_t)(s - run));
    put(w, "\"", 1);
}

/* ,"key":"value" (no comma for the first member); nothing when NULL. */
static void member(struct writer *w, int *first, const char *key,
                   const char *value)
{
    if (!value)
        return;
    if (!*first)
        put(w, ",", 1);
    *first = 0;
    put_json(w, key);
    put(w, ":", 1);
    put_json(w, value);
}

static void message(struct writer *w, int first, const char *role,
                    const char *content)
{
    int f = 1;

    puts_(w, first ? "{" : ",{");
    member(w, &f, "role", role);
    member(w, &f, "content", content);
    put(w, "}", 1);
}

/* "messages":[...]; a row without chat becomes user (instruction, then
 * input after a blank line, as Alpaca prompts do) and assistant turns. */
static void messages(struct writer *w, const ftsb_example *ex)
{
    const ftsb_chat *c = &ex->chat;

    puts_(w, "\"messages\":[");
    for (uint32_t i = 0; i < c->n_messages; i++)
        message(w, i == 0, c->messages[i].role, c->messages[i].content);
    if (!c->n_messages && ex->instruction) {
        if (ex->input) {
            struct strbuf sb = STRBUF_INIT;

            if (strbuf_addf(&sb, "%s\n\n%s", ex->instruction, ex->input))
                w->oom = 1;
            message(w, 1, "user", sb.buf);
            strbuf_release(&sb);
        } else {
            message(w, 1, "user", ex->instruction);
        }
        if (ex->response)
            message(w, 0, "assistant", ex->response);
    }
    put(w, "]", 1);
}

static void put_csv(struct writer *w, const char *s)
{
    const char *run = s;

    /* Quoting an empty field keeps it from reading back as a blank line,
     * and quoting a leading BOM keeps it from being skipped as one. */
    if (*s && !strpbrk(s, ",\"\r\n") && strncmp(s, "\xEF\xBB\xBF", 3) != 0) {
        puts_(w, s);
        return;
    }
    put(w, "\"", 1);
    for (; *s; s++) {
        if (*s != '"')
            continue;
        put(w, run, (size_t)(s - run + 1));
        run = s;
    }
    put(w, run, (size_t)(s - run));
    put(w, "\"", 1);
}

static ftsb_status need_instruction(struct writer *w, const ftsb_example *ex,
                                    const char *format)
{
    if (ex->instruction)
        return FTSB_OK;
    return err_set(w->err, FTSB_E_INVALID,
                   "row %llu has no instruction; %s rows need one",
                   (unsigned long long)w->row, format);
}

static ftsb_status encode_row(struct writer *w, const ftsb_example *ex)
{
    int first = 1;
    ftsb_status st;

    switch (w->f->kind) {
    case DS_CHAT:
        put(w, "{", 1);
        messages(w, ex);
        puts_(w, "}\n");
        return FTSB_OK;
    case DS_JSONL:
        put(w, "{", 1);
        member(w, &first, "id", ex->id);
        member(w, &first, "instruction", ex->instruction);
        member(w, &first, "input", ex->input);
        member(w, &first, "response", ex->response);
        member(w, &first, "category", ex->category);
        if (ex->chat.n_messages) {
            put(w, ",", !first);
            messages(w, ex);
        }
        puts_(w, "}\n");
        return FTSB_OK;
    case DS_DOLLY:
        if ((st = need_instruction(w, ex, "dolly")) != FTSB_OK)
            return st;
        put(w, "{", 1);
        member(w, &first, "instruction", ex->instruction);
        member(w, &first, "context", ex->input ? ex->input : "");
        member(w, &first, "response", ex->response);
        member(w, &first, "category", ex->category);
        puts_(w, "}\n");
        return FTSB_OK;
    case DS_ALPACA:
        if ((st = need_instruction(w, ex, "alpaca")) != FTSB_OK)
            return st;
        puts_(w, w->row > 1 ? ",\n{" : "{");
        member(w, &first, "instruction", ex->instruction);
        member(w, &first, "input", ex->input ? ex->input : "");
        member(w, &first, "output", ex->response);
        put(w, "}", 1);
        return FTSB_OK;
    default: /* DS_CSV */
        if ((st = need_instruction(w, ex, "csv")) != FTSB_OK)
            return st;
        put_csv(w, ex->instruction);
        if (w->f->column) {
            put(w, ",", 1);
            put_csv(w, ex->category ? ex->category : "");
        }
        put(w, "\n", 1);
        return FTSB_OK;
    }
}

static ftsb_status flush(struct writer *w, size_t min)
{
    ftsb_status st;

    if (w->oom)
        return err_set(w->err, FTSB_E_NOMEM, "out of memory writing row %llu",
                       (unsigned long long)w->row);
    if (w->out.len < min || w->out.len == 0)
        return FTSB_OK;
    st = w->sink(w->ud, w->out.buf, w->out.len, w->err);
    strbuf_reset(&w->out);
    return st;
}

static void head(struct writer *w)
{
    if (w->f->kind == DS_ALPACA)
        put(w, "[\n", 2);
    if (w->f->kind == DS_CSV && w->f->column) {
        put_csv(w, w->f->column);
        puts_(w, ",category\n");
    }
}

ftsb_status ds_write(const struct ftsb_dataset *ds, const struct ds_format *f,
                     ds_sink_fn sink, void *ud, struct err *err)
{
    struct writer w = { f, sink, ud, err, STRBUF_INIT, 0, 0 };
    uint64_t n = dataset_count(ds);
    ftsb_status st = FTSB_OK;

    head(&w);
    for (uint64_t i = 0; i < n && st == FTSB_OK; i++) {
        w.row = i + 1;
        st = encode_row(&w, dataset_get(ds, i));
        if (st == FTSB_OK)
            st = flush(&w, SINK_BATCH);
    }
    if (st == FTSB_OK && f->kind == DS_ALPACA)
        puts_(&w, n ? "\n]\n" : "]\n");
    if (st == FTSB_OK)
        st = flush(&w, 0);
    strbuf_release(&w.out);
    return st;
}
