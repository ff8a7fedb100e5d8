/*
 * err.c - recording error messages, and the texts of status codes.
 */
#include "../ftsb_setup.h"

#include "err.h"

ftsb_status err_setv(struct err *e, ftsb_status code, const char *fmt,
                     va_list ap)
{
    if (e) {
        e->code = code;
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    }
    return code;
}

ftsb_status err_set(struct err *e, ftsb_status code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    err_setv(e, code, fmt, ap);
    va_end(ap);
    return code;
}

ftsb_status err_prefix(struct err *e, const char *fmt, ...)
{
    char prefix[512], old[ERR_MSG_MAX];
    va_list ap;

    if (!e)
        return FTSB_E_INTERNAL;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    /* Truncation is acceptable: the message stays NUL-terminated. */
    if (snprintf(e->msg, sizeof e->msg, "%s: %.*s", prefix,
                 (int)(sizeof e->msg - 1), old) < 0)
        e->msg[0] = '\0';
    return e->code;
}

void err_clear(struct err *e)
{
    if (e) {
        e->code = FTSB_OK;
        e->msg[0] = '\0';
    }
}

const char *ftsb_status_str(ftsb_status code)
{
    static const char *const text[] = {
        [FTSB_OK] = "ok",
        [FTSB_E_INTERNAL] = "internal error",
        [FTSB_E_NOMEM] = "out of memory",
        [FTSB_E_INVALID] = "invalid argument",
        [FTSB_E_IO] = "input/output error",
        [FTSB_E_FORMAT] = "malformed data",
        [FTSB_E_UNSUPPORTED] = "unsupported",
        [FTSB_E_NOT_FOUND] = "not found",
        [FTSB_E_ABI] = "incompatible plugin",
        [FTSB_E_NETWORK] = "network failure",
        [FTSB_E_AUTH] = "authentication refused",
        [FTSB_E_BUDGET] = "budget exhausted",
        [FTSB_E_CANCELLED] = "cancelled",
        [FTSB_E_PROVIDER] = "provider failure",
    };

    if (code < 0 || (size_t)code >= ARRAY_LEN(text) || !text[code])
        return "unknown status";
    return text[code];
}
