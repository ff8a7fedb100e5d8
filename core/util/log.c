/*
 * log.c - writing log lines.  One fprintf per line so that lines from
 * several threads never interleave mid-line.
 */
#include "../ftsb_setup.h"

#include "log.h"

static int current_level = FTSB_LOG_INFO;

void log_set_level(int level)
{
    current_level = level;
}

int log_level(void)
{
    return current_level;
}

void log_msgv(int level, const char *label, const char *fmt, va_list ap)
{
    static const char *const names[] = {"", "error: ", "warning: ", "",
                                        "debug: "};
    char line[4096];

    if (level > current_level)
        return;
    vsnprintf(line, sizeof line, fmt, ap);
    fprintf(stderr, "ftsb: %s%s%s%s\n",
            level >= 1 && level <= 4 ? names[level] : "",
            label ? label : "", label ? ": " : "", line);
}

void log_msg(int level, const char *label, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_msgv(level, label, fmt, ap);
    va_end(ap);
}
