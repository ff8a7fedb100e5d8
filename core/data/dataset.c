/*
 * dataset.c - the dataset object, format names, and the load/stream/save
 * entry points.
 *
 * Storage: each row is one arena allocation holding its ftsb_example, its
 * message array and all its strings, so adding a row is one bump of a
 * pointer and freeing 50k rows is freeing a few hundred blocks.  Rows are
 * reached through an index of pointers; the index may move as it grows,
 * the rows never do.
 *
 * Formats, on reading (strings may be empty; "" input/context is read as
 * no input, since Alpaca and Dolly use "" for it):
 *   chat    {"messages":[{"role","content"},...]} per line, at least one
 *           message; instruction = first user turn, response = last
 *           assistant turn; id = "file:line".
 *   jsonl   {"instruction"} plus optional "id" (string or integer),
 *           "category", "input", "response" (or "output") and "messages";
 *           instruction may be left out when messages are given.
 *   dolly   {"instruction","context","response","category"} per line.
 *   alpaca  one array of {"instruction","input","output"} objects.
 *   csv     no header; column 1 is the instruction; category = the file
 *           name without extension ("category_1"); id = "file:line" of
 *           the record's first line; blank lines are skipped.
 *   csv:COL a header row; COL (exact name, else any case) holds the
 *           instruction, a "category" or "SemanticCategory" column (any
 *           case) the category (an empty cell: none); every record has
 *           the header's number of fields.
 *   auto    .jsonl: chat if the first object has "messages", dolly if it
 *           has "context", else jsonl; .json: alpaca; .csv: csv:goal or
 *           csv:Behavior when the first row has such a cell, else csv.
 * Writing, "chat" keeps only messages, "csv" only instructions ("csv:COL"
 * adds a category column), "alpaca" instruction/input/response, "dolly"
 * those and category; "jsonl" keeps every field.
 */
#include "../ftsb_setup.h"

#include <fcntl.h>
#include <strings.h>
#include <unistd.h>

#include "../util/utf8.h"
#include "dataset.h"
#include "ds_internal.h"

#define ARENA_BLOCK ((size_t)64 << 10)

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    max_align_t data[];
};

struct ftsb_dataset {
    char *name;
    ftsb_example **rows;
    size_t n, cap;
    struct arena_block *blocks; /* the first has room for small rows */
};

static size_t max_record = DATASET_MAX_RECORD_DEFAULT;

void dataset_set_max_record(size_t bytes)
{
    max_record = bytes ? bytes : DATASET_MAX_RECORD_DEFAULT;
}

size_t dataset_max_record(void)
{
    return max_record;
}

/* ---- the object -------------------------------------------------------- */

struct ftsb_dataset *dataset_new(const char *name)
{
    struct ftsb_dataset *ds = calloc(1, sizeof *ds);

    if (!ds)
        return NULL;
    ds->name = xstrdup_or_null(name ? name : "");
    if (!ds->name) {
        free(ds);
        return NULL;
    }
    return ds;
}

void dataset_free(struct ftsb_dataset *ds)
{
    if (!ds)
        return;
    while (ds->blocks) {
        struct arena_block *b = ds->blocks;

        ds->blocks = b->next;
        free(b);
    }
    free(ds->rows);
    free(ds->name);
    free(ds);
}

uint64_t dataset_count(const struct ftsb_dataset *ds)
{
    return ds ? ds->n : 0;
}

const ftsb_example *dataset_get(const struct ftsb_dataset *ds, uint64_t i)
{
    return ds && i < ds->n ? ds->rows[i] : NULL;
}

const char *dataset_name(const struct ftsb_dataset *ds)
{
    return ds ? ds->name : "";
}

/* n bytes aligned for any type.  A large request gets its own block,
 * linked behind the current one so the current one keeps filling. */
static void *arena_alloc(struct ftsb_dataset *ds, size_t n)
{
    struct arena_block *b = ds->blocks, *nb;
    size_t align = _Alignof(max_align_t), cap, size;
    int big;

    if (__builtin_add_overflow(n, align - 1, &n))
        return NULL;
    n -= n % align;
    if (b && b->cap - b->used >= n) {
        void *p = (char *)b->data + b->used;

        b->used += n;
        return p;
    }
    big = n > ARENA_BLOCK / 4;
    cap = big ? n : ARENA_BLOCK;
    if (__builtin_add_overflow(cap, sizeof *nb, &size) || !(nb = malloc(size)))
        return NULL;
    nb->cap = cap;
    nb->used = n;
    if (b && big) {
        nb->next = b->next;
        b->next = nb;
    } else {
        nb->next = b;
        ds->blocks = nb;
    }
    return nb->data;
}

/* ---- adding rows ------------------------------------------------------- */

static ftsb_status bad_text(struct err *err, const char *field, const char *s)
{
    size_t bad = 0;

    if (!s || utf8_valid(s, strlen(s), &bad))
        return FTSB_OK;
    return err_set(err, FTSB_E_INVALID, "%s: invalid UTF-8 at byte %zu",
                   field, bad + 1);
}

static ftsb_status bad_role(struct err *err, uint32_t i, const char *role)
{
    struct strbuf sb = STRBUF_INIT;

    ds_quote(&sb, role);
    err_set(err, FTSB_E_INVALID, "message %lu has role %s; expected system, "
            "user or assistant", (unsigned long)i, sb.buf);
    strbuf_release(&sb);
    return FTSB_E_INVALID;
}

static ftsb_status check_chat(const ftsb_chat *c, struct err *err)
{
    char what[48];
    ftsb_status st;

    if (c->n_messages && !c->messages)
        return err_set(err, FTSB_E_INVALID, "chat has %lu messages but no "
                       "message array", (unsigned long)c->n_messages);
    for (uint32_t i = 0; i < c->n_messages; i++) {
        const ftsb_message *m = &c->messages[i];

        if (!m->role || !m->content)
            return err_set(err, FTSB_E_INVALID, "message %lu has no %s",
                           (unsigned long)i + 1, m->role ? "content" : "role");
        if (!ds_role_ok(m->role))
            return bad_role(err, i + 1, m->role);
        snprintf(what, sizeof what, "message %lu content",
                 (unsigned long)i + 1);
        if ((st = bad_text(err, what, m->content)) != FTSB_OK)
            return st;
    }
    return FTSB_OK;
}

/* Whether ex->struct_size covers a member: a caller built against an
 * older, shorter struct has no later members, so they read as absent. */
static int covered(const ftsb_example *ex, size_t off, size_t size)
{
    return ex->struct_size >= off + size;
}

#define COPY_MEMBER(dst, src, m)                                           \
    do {                                                                   \
        if (covered(src, offsetof(ftsb_example, m), sizeof (src)->m))      \
            (dst)->m = (src)->m;                                           \
    } while (0)

static ftsb_status check_row(const ftsb_example *in, ftsb_example *ex,
                             struct err *err)
{
    ftsb_status st;

    if (!in)
        return err_set(err, FTSB_E_INVALID, "no example");
    if (in->struct_size < offsetof(ftsb_example, id) + sizeof in->id)
        return err_set(err, FTSB_E_INVALID, "example struct_size %lu is too "
                       "small; set it to sizeof(ftsb_example)",
                       (unsigned long)in->struct_size);
    memset(ex, 0, sizeof *ex);
    ex->struct_size = sizeof *ex;
    COPY_MEMBER(ex, in, id);
    COPY_MEMBER(ex, in, instruction);
    COPY_MEMBER(ex, in, input);
    COPY_MEMBER(ex, in, response);
    COPY_MEMBER(ex, in, category);
    COPY_MEMBER(ex, in, chat);
    if ((st = bad_text(err, "id", ex->id)) ||
        (st = bad_text(err, "instruction", ex->instruction)) ||
        (st = bad_text(err, "input", ex->input)) ||
        (st = bad_text(err, "response", ex->response)) ||
        (st = bad_text(err, "category", ex->category)) ||
        (st = check_chat(&ex->chat, err)))
        return st;
    if (!ex->instruction && !ex->chat.n_messages)
        return err_set(err, FTSB_E_INVALID,
                       "example has neither an instruction nor messages");
    return FTSB_OK;
}

/* Adds strlen(s) + 1 to *total; 0 on overflow. */
static int add_len(size_t *total, const char *s)
{
    return !s || (!__builtin_add_overflow(*total, strlen(s), total) &&
                  !__builtin_add_overflow(*total, 1, total));
}

static int row_size(const ftsb_example *ex, size_t *total)
{
    size_t msgs;

    if (__builtin_mul_overflow((size_t)ex->chat.n_messages,
                               sizeof(ftsb_message), &msgs) ||
        __builtin_add_overflow(sizeof *ex, msgs, total))
        return 0;
    if (!add_len(total, ex->id) || !add_len(total, ex->instruction) ||
        !add_len(total, ex->input) || !add_len(total, ex->response) ||
        !add_len(total, ex->category))
        return 0;
    for (uint32_t i = 0; i < ex->chat.n_messages; i++)
        if (!add_len(total, ex->chat.messages[i].role) ||
            !add_len(total, ex->chat.messages[i].content))
            return 0;
    return 1;
}

/* Copies s to *p and advances it. */
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

static void copy_row(ftsb_example *dst, const ftsb_example *ex)
{
    ftsb_message *msgs = (ftsb_message *)(dst + 1);
    char *p = (char *)(msgs + ex->chat.n_messages);

    *dst = *ex;
    dst->id = place(&p, ex->id);
    dst->instruction = place(&p, ex->instruction);
    dst->input = place(&p, ex->input);
    dst->response = place(&p, ex->response);
    dst->category = place(&p, ex->category);
    for (uint32_t i = 0; i < ex->chat.n_messages; i++) {
        msgs[i].role = place(&p, ex->chat.messages[i].role);
        msgs[i].content = place(&p, ex->chat.messages[i].content);
    }
    dst->chat.messages = ex->chat.n_messages ? msgs : NULL;
}

ftsb_status dataset_add_err(struct ftsb_dataset *ds, const ftsb_example *in,
                            struct err *err)
{
    ftsb_example ex, *dst;
    ftsb_example **rows;
    size_t total;
    ftsb_status st;

    if (!ds)
        return err_set(err, FTSB_E_INVALID, "no dataset");
    if ((st = check_row(in, &ex, err)) != FTSB_OK)
        return st;
    if (!row_size(&ex, &total))
        return err_set(err, FTSB_E_NOMEM, "example too large");
    rows = ds_grow(ds->rows, &ds->cap, ds->n + 1, sizeof *ds->rows);
    if (!rows)
        return err_set(err, FTSB_E_NOMEM, "out of memory adding row %zu",
                       ds->n + 1);
    ds->rows = rows;
    dst = arena_alloc(ds, total);
    if (!dst)
        return err_set(err, FTSB_E_NOMEM, "out of memory adding row %zu",
                       ds->n + 1);
    copy_row(dst, &ex);
    ds->rows[ds->n++] = dst;
    return FTSB_OK;
}

ftsb_status dataset_add(struct ftsb_dataset *ds, const ftsb_example *ex)
{
    return dataset_add_err(ds, ex, NULL);
}

/* ---- formats ----------------------------------------------------------- */

ftsb_status ds_parse_format(const char *format, struct ds_format *f,
                            struct err *err)
{
    static const struct {
        const char *name;
        enum ds_kind kind;
    } names[] = {
        { "auto", DS_AUTO }, { "chat", DS_CHAT }, { "csv", DS_CSV },
        { "jsonl", DS_JSONL }, { "alpaca", DS_ALPACA }, { "dolly", DS_DOLLY },
    };

    f->column = NULL;
    if (!format)
        format = "auto";
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        if (strcmp(format, names[i].name) == 0) {
            f->kind = names[i].kind;
            return FTSB_OK;
        }
    }
    if (strncmp(format, "csv:", 4) == 0 && format[4]) {
        f->kind = DS_CSV;
        f->column = format + 4;
        return FTSB_OK;
    }
    return err_set(err, FTSB_E_INVALID, "unknown dataset format \"%.64s\"; "
                   "expected auto, chat, csv, csv:COLUMN, jsonl, alpaca or "
                   "dolly", format);
}

static const char *extension(const char *name)
{
    const char *dot = strrchr(ds_basename(name), '.');

    return dot ? dot : "";
}

/* Resolves "auto" by the extension of s->name and, for .jsonl and .csv,
 * the first record; s is rewound.  column receives a csv:COLUMN name. */
static ftsb_status resolve_auto(struct src *s, struct ds_format *f,
                                struct strbuf *column, struct err *err)
{
    const char *ext = extension(s->name);
    ftsb_status st;

    if (strcasecmp(ext, ".json") == 0) {
        f->kind = DS_ALPACA;
        return FTSB_OK;
    }
    if (strcasecmp(ext, ".jsonl") == 0)
        st = ds_sniff_jsonl(s, &f->kind, err);
    else if (strcasecmp(ext, ".csv") == 0)
        st = ds_sniff_csv(s, column, err);
    else
        return err_set(err, FTSB_E_INVALID, "%s: cannot tell the dataset "
                       "format from the extension \"%.16s\"; give one of "
                       "chat, csv, csv:COLUMN, jsonl, alpaca or dolly",
                       s->name, ext);
    if (st == FTSB_OK && strcasecmp(ext, ".csv") == 0) {
        f->kind = DS_CSV;
        f->column = column->len ? column->buf : NULL;
    }
    return st ? st : src_rewind(s, err);
}

static ftsb_status stream_src(struct src *s, const char *format,
                              dataset_row_fn fn, void *ud, struct err *err)
{
    struct strbuf column = STRBUF_INIT;
    struct ds_format f;
    ftsb_status st = ds_parse_format(format, &f, err);

    if (st == FTSB_OK && f.kind == DS_AUTO)
        st = resolve_auto(s, &f, &column, err);
    if (st == FTSB_OK) {
        switch (f.kind) {
        case DS_ALPACA:
            st = ds_read_alpaca(s, fn, ud, err);
            break;
        case DS_CSV:
            st = ds_read_csv(s, f.column, fn, ud, err);
            break;
        default:
            st = ds_read_json_lines(s, f.kind, fn, ud, err);
        }
    }
    strbuf_release(&column);
    return st;
}

ftsb_status dataset_stream(const char *path, const char *format,
                           dataset_row_fn fn, void *ud, struct err *err)
{
    struct src s;
    ftsb_status st;

    if (!path || !fn)
        return err_set(err, FTSB_E_INVALID, "dataset_stream: no path or "
                       "callback");
    if ((st = src_open_file(&s, path, err)) != FTSB_OK)
        return st;
    st = stream_src(&s, format, fn, ud, err);
    src_close(&s);
    return st;
}

ftsb_status dataset_stream_mem(const char *data, size_t len, const char *name,
                               const char *format, dataset_row_fn fn,
                               void *ud, struct err *err)
{
    struct src s;
    ftsb_status st;

    if (!fn)
        return err_set(err, FTSB_E_INVALID, "dataset_stream_mem: no callback");
    src_open_mem(&s, data, len, name ? name : "(memory)");
    st = stream_src(&s, format, fn, ud, err);
    src_close(&s);
    return st;
}

static ftsb_status add_row(void *ud, const ftsb_example *ex, struct err *err)
{
    return dataset_add_err(ud, ex, err);
}

ftsb_status dataset_load(const char *path, const char *format,
                         struct ftsb_dataset **out, struct err *err)
{
    struct ftsb_dataset *ds;
    ftsb_status st;

    if (!out || !path)
        return err_set(err, FTSB_E_INVALID, "dataset_load: no path or output");
    *out = NULL;
    ds = dataset_new(path);
    if (!ds)
        return err_set(err, FTSB_E_NOMEM, "out of memory loading '%s'", path);
    st = dataset_stream(path, format, add_row, ds, err);
    if (st != FTSB_OK) {
        dataset_free(ds);
        return st;
    }
    *out = ds;
    return FTSB_OK;
}

/* ---- saving ------------------------------------------------------------ */

static ftsb_status save_format(const char *path, const char *format,
                               struct ds_format *f, struct err *err)
{
    const char *ext;
    ftsb_status st = ds_parse_format(format, f, err);

    if (st != FTSB_OK || f->kind != DS_AUTO)
        return st;
    ext = extension(path ? path : "");
    if (strcasecmp(ext, ".jsonl") == 0)
        f->kind = DS_JSONL;
    else if (strcasecmp(ext, ".json") == 0)
        f->kind = DS_ALPACA;
    else if (strcasecmp(ext, ".csv") == 0)
        f->kind = DS_CSV;
    else
        return err_set(err, FTSB_E_INVALID, "%s: cannot tell the dataset "
                       "format from the extension \"%.16s\"; give one of "
                       "chat, csv, csv:COLUMN, jsonl, alpaca or dolly",
                       path ? path : "", ext);
    return FTSB_OK;
}

static ftsb_status to_strbuf(void *ud, const char *data, size_t len,
                             struct err *err)
{
    if (strbuf_add(ud, data, len))
        return err_set(err, FTSB_E_NOMEM, "out of memory saving a dataset");
    return FTSB_OK;
}

ftsb_status dataset_save_mem(const struct ftsb_dataset *ds, const char *format,
                             struct strbuf *out, struct err *err)
{
    struct ds_format f;
    ftsb_status st = ds_parse_format(format, &f, err);

    if (st == FTSB_OK && f.kind == DS_AUTO)
        return err_set(err, FTSB_E_INVALID, "dataset_save_mem needs a "
                       "format, not auto");
    return st ? st : ds_write(ds, &f, to_strbuf, out, err);
}

struct file_sink {
    int fd;
    const char *path;
};

static ftsb_status to_file(void *ud, const char *data, size_t len,
                           struct err *err)
{
    struct file_sink *fs = ud;

    while (len) {
        ssize_t n = write(fs->fd, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return err_set(err, FTSB_E_IO, "cannot write '%s': %s", fs->path,
                           n < 0 ? strerror(errno) : "no progress");
        data += n;
        len -= (size_t)n;
    }
    return FTSB_OK;
}

/* Writes, syncs and closes the temporary file. */
static ftsb_status write_tmp(const struct ftsb_dataset *ds,
                             const struct ds_format *f, const char *tmp,
                             struct err *err)
{
    struct file_sink fs = { -1, tmp };
    ftsb_status st;

    fs.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fs.fd < 0)
        return err_set(err, FTSB_E_IO, "cannot create '%s': %s", tmp,
                       strerror(errno));
    st = ds_write(ds, f, to_file, &fs, err);
    /* The data must be on disk before the rename makes it the file. */
    if (st == FTSB_OK && fsync(fs.fd) != 0)
        st = err_set(err, FTSB_E_IO, "cannot sync '%s': %s", tmp,
                     strerror(errno));
    if (close(fs.fd) != 0 && st == FTSB_OK)
        st = err_set(err, FTSB_E_IO, "cannot close '%s': %s", tmp,
                     strerror(errno));
    return st;
}

ftsb_status dataset_save(const struct ftsb_dataset *ds, const char *path,
                         const char *format, struct err *err)
{
    struct strbuf tmp = STRBUF_INIT;
    struct ds_format f;
    ftsb_status st;

    if (!ds || !path)
        return err_set(err, FTSB_E_INVALID, "dataset_save: no dataset or path");
    if ((st = save_format(path, format, &f, err)) != FTSB_OK)
        return st;
    if (strbuf_addf(&tmp, "%s.tmp", path))
        return err_set(err, FTSB_E_NOMEM, "out of memory saving '%s'", path);
    st = write_tmp(ds, &f, tmp.buf, err);
    if (st == FTSB_OK && rename(tmp.buf, path) != 0)
        st = err_set(err, FTSB_E_IO, "cannot rename '%s' to '%s': %s",
                     tmp.buf, path, strerror(errno));
    if (st != FTSB_OK)
        unlink(tmp.buf);
    strbuf_release(&tmp);
    return st;
}
