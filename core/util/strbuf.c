/*
 * strbuf.c - growable strings.  Sizes double, with overflow checks, so
 * appending n bytes one at a time costs O(n).
 */
#include "../ftsb_setup.h"

#include "strbuf.h"

char strbuf_empty_[1];

void strbuf_init(struct strbuf *sb)
{
    sb->buf = strbuf_empty_;
    sb->len = 0;
    sb->alloc = 0;
}

void strbuf_release(struct strbuf *sb)
{
    if (sb->alloc)
        free(sb->buf);
    strbuf_init(sb);
}

ftsb_status strbuf_grow(struct strbuf *sb, size_t extra)
{
    size_t need, cap;
    char *p;

    if (__builtin_add_overflow(sb->len, extra, &need) ||
        __builtin_add_overflow(need, 1, &need))
        return FTSB_E_NOMEM;
    if (need <= sb->alloc)
        return FTSB_OK;
    cap = sb->alloc ? sb->alloc : 64;
    while (cap < need) {
        if (__builtin_mul_overflow(cap, 2, &cap)) {
            cap = need;
            break;
        }
    }
    p = realloc(sb->alloc ? sb->buf : NULL, cap);
    if (!p)
        return FTSB_E_NOMEM;
    if (!sb->alloc)
        p[0] = '\0';
    sb->buf = p;
    sb->alloc = cap;
    return FTSB_OK;
}

ftsb_status strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
    if (strbuf_grow(sb, len))
        return FTSB_E_NOMEM;
    if (len)
        memcpy(sb->buf + sb->len, data, len);
    sb->len += len;
    sb->buf[sb->len] = '\0';
    return FTSB_OK;
}

ftsb_status strbuf_addstr(struct strbuf *sb, const char *s)
{
    return strbuf_add(sb, s, strlen(s));
}

ftsb_status strbuf_addch(struct strbuf *sb, int c)
{
    char ch = (char)c;

    return strbuf_add(sb, &ch, 1);
}

ftsb_status strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return FTSB_E_INVALID;
    if (strbuf_grow(sb, (size_t)n))
        return FTSB_E_NOMEM;
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
    return FTSB_OK;
}

ftsb_status strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    ftsb_status st;

    va_start(ap, fmt);
    st = strbuf_vaddf(sb, fmt, ap);
    va_end(ap);
    return st;
}

void strbuf_reset(struct strbuf *sb)
{
    sb->len = 0;
    if (sb->alloc)
        sb->buf[0] = '\0';
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
    char *p;

    if (!sb->alloc && strbuf_grow(sb, 0))
        return NULL;
    p = sb->buf;
    if (len)
        *len = sb->len;
    strbuf_init(sb);
    return p;
}

char *xstrdup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}
