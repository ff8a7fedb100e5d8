/*
 * csv_read.c - the CSV dataset readers: headerless (HEx-PHI: the first
 * column is the instruction, the file name is the category) and with a
 * header row (AdvBench "goal", HarmBench "Behavior").  RFC 4180: quoted
 * fields with "" escapes and embedded newlines, LF or CRLF records, and a
 * UTF-8 BOM skipped.  The parser is strict where lenient parsers guess (a
 * quote inside an unquoted field, text after a closing quote, records
 * with a field count other than the header's): a guess there silently
 * changes a prompt.  A record is held whole, bounded by the record limit.
 */
#include "../ftsb_setup.h"

#include <strings.h>

#include "../util/utf8.h"
#include "ds_internal.h"

enum {
    C_START, /* at the start of a field */
    C_UNQ,   /* inside an unquoted field */
    C_QUO,   /* inside a quoted field */
    C_QQ,    /* after a '"' inside a quoted field: an escape or the end */
    C_CR,    /* after a '\r' in an unquoted field */
    C_CR_Q   /* after a '\r' that follows a closing quote */
};

struct csv {
    struct src *s;
    struct err *err;
    struct strbuf rec;      /* the fields, each NUL-terminated */
    size_t *fields;         /* start of each field in rec */
    size_t nfields, fields_cap;
    uint64_t line;          /* line of the next byte */
    uint64_t rec_line;      /* line where the record began */
    uint64_t quote_line;    /* line of the last opening quote */
    int state, started, quoted;
};

static ftsb_status fail(struct csv *c, uint64_t line, const char *fmt, ...)
    FTSB_PRINTF(3, 4);

static ftsb_status fail(struct csv *c, uint64_t line, const char *fmt, ...)
{
    char reason[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return ds_fail(c->err, FTSB_E_FORMAT, c->s->name, line, "%s", reason);
}

static ftsb_status nomem(struct csv *c)
{
    return ds_fail(c->err, FTSB_E_NOMEM, c->s->name, c->line,
                   "out of memory");
}

static ftsb_status field_begin(struct csv *c)
{
    size_t *f = ds_grow(c->fields, &c->fields_cap, c->nfields + 1,
                        sizeof *c->fields);

    if (!f)
        return nomem(c);
    c->fields = f;
    c->fields[c->nfields++] = c->rec.len;
    c->state = C_START;
    return FTSB_OK;
}

static ftsb_status add(struct csv *c, const char *p, size_t n)
{
    char size[32];

    if (n > dataset_max_record() - c->rec.len) {
        ds_size_text(size, sizeof size, dataset_max_record());
        return fail(c, c->rec_line, "record longer than %s; split the "
                    "record or raise the limit", size);
    }
    return strbuf_add(&c->rec, p, n) ? nomem(c) : FTSB_OK;
}

/* Ends the current field; a new one begins unless the record ends. */
static ftsb_status field_end(struct csv *c, int record_ends)
{
    ftsb_status st = add(c, "", 1);

    if (st == FTSB_OK && !record_ends)
        st = field_begin(c);
    return st;
}

static const char *byte_text(unsigned char ch, char *buf, size_t n)
{
    if (ch > 0x20 && ch < 0x7F)
        snprintf(buf, n, "'%c'", ch);
    else
        snprintf(buf, n, "byte 0x%02x", ch);
    return buf;
}

/* Length of the run of bytes at p that need no decision in state. */
static size_t plain_run(int state, const char *p, size_t n)
{
    const char *stop = state == C_QUO ? "\"\n" : ",\"\n\r";
    size_t i = 0;

    if (state != C_QUO && state != C_UNQ)
        return 0;
    while (i < n && p[i] && !strchr(stop, p[i]))
        i++;
    return i;
}

/* Handles one byte that ends or changes a field.  *done is set when the
 * record ends; *again when ch must be seen again in the new state. */
static ftsb_status csv_byte(struct csv *c, unsigned char ch, int *done,
                            int *again)
{
    char what[16];

    if (ch == 0)
        return fail(c, c->line, "NUL byte in field %zu", c->nfields);
    switch (c->state) {
    case C_START:
    case C_UNQ:
        if (ch == '"' && c->state == C_START) {
            c->quoted = 1;
            c->quote_line = c->line;
            c->state = C_QUO;
            return FTSB_OK;
        }
        if (ch == '"')
            return fail(c, c->line, "stray '\"' in unquoted field %zu; "
                        "quote the field and double its quotes", c->nfields);
        break;
    case C_QUO:
        if (ch == '"')
            c->state = C_QQ;
        else if (ch == '\n')
            c->line++;
        return ch == '"' ? FTSB_OK : add(c, (const char *)&ch, 1);
    case C_QQ:
        if (ch == '"') {
            c->state = C_QUO;
            return add(c, "\"", 1);
        }
        if (ch == '\r') {
            c->state = C_CR_Q;
            return FTSB_OK;
        }
        if (ch != ',' && ch != '\n')
            return fail(c, c->line, "unexpected %s after the closing quote "
                        "of field %zu", byte_text(ch, what, sizeof what),
                        c->nfields);
        break;
    case C_CR:
    case C_CR_Q:
        if (ch == '\n')
            break;
        if (c->state == C_CR_Q)
            return fail(c, c->line, "unexpected carriage return after the "
                        "closing quote of field %zu", c->nfields);
        /* A lone '\r' inside an unquoted field is text. */
        c->state = C_UNQ;
        *again = 1;
        return add(c, "\r", 1);
    }
    if (ch == '\r') {
        c->state = c->state == C_QQ ? C_CR_Q : C_CR;
        return FTSB_OK;
    }
    if (ch == ',')
        return field_end(c, 0);
    if (ch == '\n') {
        c->line++;
        *done = 1;
        return field_end(c, 1);
    }
    c->state = C_UNQ;
    return add(c, (const char *)&ch, 1);
}

/* Scans the window of the source; *done when a record ended in it. */
static ftsb_status csv_window(struct csv *c, int *done)
{
    struct src *s = c->s;
    ftsb_status st = FTSB_OK;

    while (s->pos < s->len && !*done && st == FTSB_OK) {
        const char *p = s->buf + s->pos;
        size_t run = plain_run(c->state, p, s->len - s->pos);
        int again = 0;

        if (!c->started) {
            c->started = 1;
            c->rec_line = c->line;
        }
        if (run) {
            st = add(c, p, run);
            s->pos += run;
            continue;
        }
        st = csv_byte(c, (unsigned char)*p, done, &again);
        s->pos += !again;
    }
    return st;
}

static ftsb_status csv_eof(struct csv *c)
{
    switch (c->state) {
    case C_QUO:
        /* Name the last line with text, not the empty one after it. */
        return fail(c, c->line - (c->line > c->quote_line &&
                                  c->rec.buf[c->rec.len - 1] == '\n'),
                    "unterminated quoted field (opened at line %llu)",
                    (unsigned long long)c->quote_line);
    case C_CR:
    case C_CR_Q:
    case C_START:
    case C_UNQ:
    case C_QQ:
        break;
    }
    return field_end(c, 1);
}

/* Reads the next record into c->rec/c->fields; *got is 0 at the end. */
static ftsb_status csv_next(struct csv *c, int *got)
{
    ftsb_status st;
    int done = 0;

    strbuf_reset(&c->rec);
    c->nfields = 0;
    c->started = c->quoted = 0;
    *got = 0;
    if ((st = field_begin(c)) != FTSB_OK)
        return st;
    while (!done) {
        if ((st = src_fill(c->s, c->err)) != FTSB_OK)
            return st;
        if (c->s->eof) {
            if (!c->started)
                return FTSB_OK;
            if ((st = csv_eof(c)) != FTSB_OK)
                return st;
            break;
        }
        if ((st = csv_window(c, &done)) != FTSB_OK)
            return st;
    }
    *got = 1;
    return FTSB_OK;
}

static const char *field(const struct csv *c, size_t i)
{
    return c->rec.buf + c->fields[i];
}

static size_t field_len(const struct csv *c, size_t i)
{
    size_t end = i + 1 < c->nfields ? c->fields[i + 1] : c->rec.len;

    return end - c->fields[i] - 1;
}

static int blank_record(const struct csv *c)
{
    return c->nfields == 1 && field_len(c, 0) == 0 && !c->quoted;
}

static ftsb_status check_utf8(struct csv *c)
{
    for (size_t i = 0; i < c->nfields; i++) {
        size_t bad;
        uint64_t line = c->rec_line;

        if (utf8_valid(field(c, i), field_len(c, i), &bad))
            continue;
        for (size_t j = 0; j < c->fields[i] + bad; j++)
            line += c->rec.buf[j] == '\n';
        return fail(c, line, "invalid UTF-8 in field %zu at byte %zu of the "
                    "field", i + 1, bad + 1);
    }
    return FTSB_OK;
}

/* The next non-blank, UTF-8-checked record. */
static ftsb_status next_record(struct csv *c, int *got)
{
    ftsb_status st;

    do
        st = csv_next(c, got);
    while (st == FTSB_OK && *got && blank_record(c));
    if (st == FTSB_OK && *got)
        st = check_utf8(c);
    return st;
}

/* ---- rows -------------------------------------------------------------- */

struct csv_rows {
    struct csv c;
    struct strbuf id, category;
    size_t col, cat_col, ncols; /* cat_col == SIZE_MAX: none */
    int header;
};

/* Column index of name in the header: an exact match first, then one
 * that differs in case; SIZE_MAX when absent. */
static size_t find_column(const struct csv *c, const char *name)
{
    for (size_t i = 0; i < c->nfields; i++)
        if (strcmp(field(c, i), name) == 0)
            return i;
    for (size_t i = 0; i < c->nfields; i++)
        if (strcasecmp(field(c, i), name) == 0)
            return i;
    return SIZE_MAX;
}

static ftsb_status missing_column(struct csv *c, const char *column)
{
    struct strbuf sb = STRBUF_INIT;
    ftsb_status st;

    st = strbuf_addstr(&sb, "no column ");
    st = st ? st : ds_quote(&sb, column);
    st = st ? st : strbuf_addstr(&sb, " in the header; the columns are ");
    for (size_t i = 0; i < c->nfields && i < 12 && !st; i++) {
        st = i ? strbuf_addstr(&sb, ", ") : FTSB_OK;
        st = st ? st : ds_quote(&sb, field(c, i));
    }
    if (!st && c->nfields > 12)
        st = strbuf_addstr(&sb, ", ...");
    st = st ? nomem(c) : fail(c, c->rec_line, "%s", sb.buf);
    strbuf_release(&sb);
    return st;
}

static ftsb_status read_header(struct csv_rows *r, const char *column)
{
    struct csv *c = &r->c;
    ftsb_status st;
    int got;

    if ((st = next_record(c, &got)) != FTSB_OK || !got)
        return st;
    r->col = find_column(c, column);
    if (r->col == SIZE_MAX)
        return missing_column(c, column);
    r->cat_col = find_column(c, "category");
    if (r->cat_col == SIZE_MAX)
        r->cat_col = find_column(c, "SemanticCategory");
    r->ncols = c->nfields;
    r->header = 1;
    return FTSB_OK;
}

static ftsb_status emit(struct csv_rows *r, dataset_row_fn fn, void *ud)
{
    struct csv *c = &r->c;
    ftsb_example ex = { .struct_size = sizeof ex };

    if (r->header && c->nfields != r->ncols)
        return fail(c, c->rec_line, "record has %zu field%s; the header "
                    "has %zu", c->nfields, c->nfields == 1 ? "" : "s",
                    r->ncols);
    strbuf_reset(&r->id);
    if (strbuf_addf(&r->id, "%s:%llu", ds_basename(c->s->name),
                    (unsigned long long)c->rec_line))
        return nomem(c);
    ex.id = r->id.buf;
    ex.instruction = field(c, r->col);
    if (!r->header)
        ex.category = r->category.buf;
    else if (r->cat_col != SIZE_MAX && field_len(c, r->cat_col))
        ex.category = field(c, r->cat_col);
    return fn(ud, &ex, c->err);
}

static ftsb_status csv_rows_init(struct csv_rows *r, struct src *s,
                                 struct err *err)
{
    const char *base = ds_basename(s->name), *dot = strrchr(base, '.');

    memset(r, 0, sizeof *r);
    r->c.s = s;
    r->c.err = err;
    r->c.line = 1;
    r->cat_col = SIZE_MAX;
    strbuf_init(&r->c.rec);
    strbuf_init(&r->id);
    strbuf_init(&r->category);
    /* HEx-PHI's category_1.csv: the category is the file's name. */
    if (strbuf_add(&r->category, base, dot ? (size_t)(dot - base)
                                               : strlen(base)))
        return err_set(err, FTSB_E_NOMEM, "out of memory reading '%s'",
                       s->name);
    return FTSB_OK;
}

static void csv_rows_release(struct csv_rows *r)
{
    strbuf_release(&r->c.rec);
    free(r->c.fields);
    strbuf_release(&r->id);
    strbuf_release(&r->category);
}

ftsb_status ds_read_csv(struct src *s, const char *column, dataset_row_fn fn,
                        void *ud, struct err *err)
{
    struct csv_rows r;
    ftsb_status st = csv_rows_init(&r, s, err);
    int got = 1;

    if (st == FTSB_OK && column)
        st = read_header(&r, column);
    while (st == FTSB_OK && (st = next_record(&r.c, &got)) == FTSB_OK && got)
        st = emit(&r, fn, ud);
    csv_rows_release(&r);
    return st;
}

ftsb_status ds_sniff_csv(struct src *s, struct strbuf *column, struct err *err)
{
    static const char *const known[] = { "goal", "Behavior" };
    struct csv_rows r;
    struct err local;
    ftsb_status st = csv_rows_init(&r, s, err);
    int got = 0;

    strbuf_reset(column);
    r.c.err = &local;
    if (st == FTSB_OK)
        st = next_record(&r.c, &got);
    /* A malformed first record is reported by the real read. */
    if (st == FTSB_E_FORMAT)
        st = FTSB_OK, got = 0;
    else if (st != FTSB_OK && err)
        *err = local;
    for (size_t k = 0; k < ARRAY_LEN(known) && got && st == FTSB_OK; k++) {
        size_t i = find_column(&r.c, known[k]);

        if (i != SIZE_MAX) {
            if (strbuf_addstr(column, field(&r.c, i)))
                st = err_set(err, FTSB_E_NOMEM, "out of memory");
            break;
        }
    }
    csv_rows_release(&r);
    return st;
}
