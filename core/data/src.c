/*
 * src.c - the byte source under every dataset reader, its bounded line
 * reader, and the helpers that shape their messages.  A file is read with
 * read(2) into one fixed chunk, so a 2 GB file or a 1 GB line costs at most
 * one chunk plus the record limit; offsets and line numbers are 64-bit.
 */
#include "../ftsb_setup.h"

#include <fcntl.h>
#include <unistd.h>

#include "../util/utf8.h"
#include "ds_internal.h"

ftsb_status src_open_file(struct src *s, const char *path, struct err *err)
{
    memset(s, 0, sizeof *s);
    s->name = path;
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0)
        return err_set(err, FTSB_E_IO, "cannot open '%s': %s", path,
                       strerror(errno));
    s->chunk = malloc(SRC_CHUNK);
    if (!s->chunk) {
        src_close(s);
        return err_set(err, FTSB_E_NOMEM, "out of memory reading '%s'", path);
    }
    s->buf = s->chunk;
    return FTSB_OK;
}

void src_open_mem(struct src *s, const char *data, size_t len,
                  const char *name)
{
    memset(s, 0, sizeof *s);
    s->name = name;
    s->fd = -1;
    s->mem = data;
    s->mem_len = data ? len : 0;
    s->buf = "";
}

void src_close(struct src *s)
{
    if (s->fd >= 0)
        close(s->fd);
    free(s->chunk);
    s->fd = -1;
    s->chunk = NULL;
}

ftsb_status src_rewind(struct src *s, struct err *err)
{
    if (s->fd >= 0 && lseek(s->fd, 0, SEEK_SET) != 0)
        return err_set(err, FTSB_E_IO,
                       "cannot rewind '%s' to detect its format: %s; "
                       "give the format explicitly",
                       s->name, strerror(errno));
    s->pos = s->len = 0;
    s->off = 0;
    s->eof = 0;
    if (s->fd < 0)
        s->buf = "";
    return FTSB_OK;
}

static ftsb_status read_chunk(struct src *s, struct err *err)
{
    ssize_t n;

    do
        n = read(s->fd, s->chunk, SRC_CHUNK);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return err_set(err, FTSB_E_IO, "cannot read '%s': %s", s->name,
                       strerror(errno));
    s->buf = s->chunk;
    s->len = (size_t)n;
    s->eof = n == 0;
    return FTSB_OK;
}

ftsb_status src_fill(struct src *s, struct err *err)
{
    int first = s->off == 0 && s->len == 0;
    ftsb_status st;

    if (s->pos < s->len || s->eof)
        return FTSB_OK;
    s->off += s->len;
    s->pos = s->len = 0;
    if (s->fd < 0) {
        /* A memory source is one window, handed out once. */
        if (!first || s->mem_len == 0) {
            s->eof = 1;
            return FTSB_OK;
        }
        s->buf = s->mem;
        s->len = s->mem_len;
    } else if ((st = read_chunk(s, err)) != FTSB_OK || s->eof) {
        return st;
    }
    if (first && s->len >= 3 && memcmp(s->buf, "\xEF\xBB\xBF", 3) == 0)
        s->pos = 3;
    if (s->pos == s->len)
        return src_fill(s, err); /* only a BOM: look further */
    return FTSB_OK;
}

static ftsb_status too_long(struct src *s, uint64_t line, const char *what,
                            struct err *err)
{
    char size[32];

    ds_size_text(size, sizeof size, dataset_max_record());
    return ds_fail(err, FTSB_E_FORMAT, s->name, line,
                   "%s longer than %s; split the record or raise the limit",
                   what, size);
}

ftsb_status src_getline(struct src *s, struct strbuf *line, uint64_t *lineno,
                        int *got, struct err *err)
{
    size_t max = dataset_max_record();
    int any = 0;

    strbuf_reset(line);
    *got = 0;
    for (;;) {
        const char *p, *nl;
        size_t n, take;
        ftsb_status st = src_fill(s, err);

        if (st != FTSB_OK)
            return st;
        if (s->eof)
            break;
        p = s->buf + s->pos;
        n = s->len - s->pos;
        nl = memchr(p, '\n', n);
        take = nl ? (size_t)(nl - p) : n;
        any = 1;
        if (take > max - line->len)
            return too_long(s, *lineno + 1, "line", err);
        if (strbuf_add(line, p, take) != FTSB_OK)
            return err_set(err, FTSB_E_NOMEM, "%s:%llu: out of memory",
                           s->name, (unsigned long long)*lineno + 1);
        s->pos += take + (nl != NULL);
        if (nl)
            break;
    }
    if (!any)
        return FTSB_OK;
    if (line->len && line->buf[line->len - 1] == '\r')
        line->buf[--line->len] = '\0';
    ++*lineno;
    *got = 1;
    return FTSB_OK;
}

ftsb_status ds_fail(struct err *err, ftsb_status code, const char *name,
                    uint64_t line, const char *fmt, ...)
{
    char reason[ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return err_set(err, code, "%s:%llu: %s", name, (unsigned long long)line,
                   reason);
}

void ds_size_text(char *buf, size_t n, size_t bytes)
{
    if (bytes && bytes % ((size_t)1 << 30) == 0)
        snprintf(buf, n, "%zu GiB", bytes >> 30);
    else if (bytes && bytes % ((size_t)1 << 20) == 0)
        snprintf(buf, n, "%zu MiB", bytes >> 20);
    else if (bytes && bytes % ((size_t)1 << 10) == 0)
        snprintf(buf, n, "%zu KiB", bytes >> 10);
    else
        snprintf(buf, n, "%zu bytes", bytes);
}

ftsb_status ds_quote(struct strbuf *sb, const char *s)
{
    size_t n = strlen(s), keep = n > 60 ? utf8_clip(s, 60) : n;
    int raw8 = utf8_valid(s, keep, NULL);
    ftsb_status st = strbuf_addch(sb, '"');

    for (size_t i = 0; i < keep && st == FTSB_OK; i++) {
        unsigned char c = (unsigned char)s[i];

        /* Control characters would break the one-line message, and bytes
         * of invalid UTF-8 would make the message itself invalid. */
        if (c < 0x20 || c == 0x7F || (c >= 0x80 && !raw8))
            st = strbuf_addf(sb, "\\x%02x", c);
        else if (c == '"' || c == '\\')
            st = strbuf_addf(sb, "\\%c", c);
        else
            st = strbuf_addch(sb, c);
    }
    if (st == FTSB_OK)
        st = strbuf_addstr(sb, keep < n ? "\"..." : "\"");
    return st;
}

const char *ds_basename(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

int ds_role_ok(const char *role)
{
    return role && (strcmp(role, "system") == 0 || strcmp(role, "user") == 0 ||
                    strcmp(role, "assistant") == 0);
}

void *ds_grow(void *ptr, size_t *cap, size_t need, size_t elem)
{
    size_t n = *cap ? *cap : 16, bytes;
    void *q;

    if (need <= *cap)
        return ptr;
    while (n < need)
        if (__builtin_mul_overflow(n, 2, &n))
            return NULL;
    if (__builtin_mul_overflow(n, elem, &bytes))
        return NULL;
    q = realloc(ptr, bytes);
    if (q)
        *cap = n;
    return q;
}
