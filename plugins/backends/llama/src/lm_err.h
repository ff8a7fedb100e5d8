/*
 * lm_err.h - error records inside the Llama engine.
 *
 * The engine does not link the core, so it keeps its own small error
 * record; plugin.c hands the message to host->fail().  Same rules as the
 * core's: the status code says what kind of failure, the message says what
 * failed first, names the file and byte offset or token, and what to do.
 */
#ifndef LM_ERR_H
#define LM_ERR_H

#include <stdarg.h>
#include <stdio.h>

#include <ftsb/status.h>

struct lm_err {
    ftsb_status code;
    char msg[1024];
};

/* Records code and the formatted message; returns code.  e may be NULL. */
static inline ftsb_status lm_fail(struct lm_err *e, ftsb_status code,
                                  const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static inline ftsb_status lm_fail(struct lm_err *e, ftsb_status code,
                                  const char *fmt, ...)
{
    va_list ap;

    if (e) {
        e->code = code;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

#endif /* LM_ERR_H */
