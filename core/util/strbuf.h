/*
 * strbuf.h - a growable, always NUL-terminated byte string (after git's
 * strbuf).  An initialised strbuf with len 0 points at a static empty
 * string, so buf is always safe to print.  Growth checks for overflow;
 * the append functions return FTSB_E_NOMEM when memory runs out and leave
 * the contents as they were.  This is also the host's ftsb_buf.
 */
#ifndef FTSB_STRBUF_H
#define FTSB_STRBUF_H

#include "../ftsb_setup.h"

struct strbuf {
    char *buf;
    size_t len;
    size_t alloc;
};

#define STRBUF_INIT { strbuf_empty_, 0, 0 }
extern char strbuf_empty_[1];

void strbuf_init(struct strbuf *sb);
/* Frees the contents; sb is left initialised and empty. */
void strbuf_release(struct strbuf *sb);
/* Makes room for extra more bytes plus the NUL. */
ftsb_status strbuf_grow(struct strbuf *sb, size_t extra);
ftsb_status strbuf_add(struct strbuf *sb, const void *data, size_t len);
ftsb_status strbuf_addstr(struct strbuf *sb, const char *s);
ftsb_status strbuf_addch(struct strbuf *sb, int c);
ftsb_status strbuf_addf(struct strbuf *sb, const char *fmt, ...)
    FTSB_PRINTF(2, 3);
ftsb_status strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
    FTSB_PRINTF(2, 0);
void strbuf_reset(struct strbuf *sb);
/* Hands the contents to the caller (malloc'd, free() it); sb is emptied.
 * Returns NULL when out of memory. */
char *strbuf_detach(struct strbuf *sb, size_t *len);

/* strdup that reports failure as NULL (and accepts NULL). */
char *xstrdup_or_null(const char *s);

#endif /* FTSB_STRBUF_H */
