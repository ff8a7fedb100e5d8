/*
 * err.h - the core's error record: a status code and a message.
 *
 * Core functions that can fail take a `struct err *` and return a status:
 *     return err_set(err, FTSB_E_FORMAT, "%s:%llu: expected ','", path, line);
 * The message says what failed first, quotes its subject, gives the place
 * (file and line, or byte offset) and, when not obvious, what to do.
 * err may be NULL when the caller does not want the message.
 */
#ifndef FTSB_ERR_H
#define FTSB_ERR_H

#include "../ftsb_setup.h"

#define ERR_MSG_MAX 2048

struct err {
    ftsb_status code;
    char msg[ERR_MSG_MAX];
};

/* Records code and the formatted message (truncated to fit); returns code. */
ftsb_status err_set(struct err *e, ftsb_status code, const char *fmt, ...)
    FTSB_PRINTF(3, 4);
ftsb_status err_setv(struct err *e, ftsb_status code, const char *fmt,
                     va_list ap) FTSB_PRINTF(3, 0);

/* Prepends "prefix: " to the message already recorded; returns e->code. */
ftsb_status err_prefix(struct err *e, const char *fmt, ...) FTSB_PRINTF(2, 3);

void err_clear(struct err *e);

/* A static, short description of a status code. */
const char *ftsb_status_str(ftsb_status code);

#endif /* FTSB_ERR_H */
