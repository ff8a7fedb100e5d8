/*
 * log.h - the core's log: lines on stderr, filtered by verbosity.
 *
 * The verbosity is set once at startup (-v, -q) before any thread runs.
 * Lines look like "ftsb: warning: backend 'llama': ...".
 */
#ifndef FTSB_LOG_H
#define FTSB_LOG_H

#include "../ftsb_setup.h"

void log_set_level(int level);   /* FTSB_LOG_*; default FTSB_LOG_INFO */
int log_level(void);
void log_msgv(int level, const char *label, const char *fmt, va_list ap)
    FTSB_PRINTF(3, 0);
void log_msg(int level, const char *label, const char *fmt, ...)
    FTSB_PRINTF(3, 4);

#endif /* FTSB_LOG_H */
