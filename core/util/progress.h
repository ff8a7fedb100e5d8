/*
 * progress.h - progress lines for long work (generation, judging,
 * training).
 *
 * On a terminal: one line redrawn in place at most ten times a second,
 * with the rate and the time left.  Elsewhere (a log file, CI): a plain
 * line at most every 30 seconds and one at the end, so logs stay short.
 * FTSB_PROGRESS=0 silences it; =1 forces plain lines.
 */
#ifndef FTSB_PROGRESS_H
#define FTSB_PROGRESS_H

#include <stdint.h>

struct progress {
    char what[64];
    char unit[16];
    int64_t done, total;
    double t_start, t_last_draw;
    int drawn;                 /* a terminal line is on screen */
    int active;
};

/* Seconds on a monotonic clock. */
double clock_now(void);

/* Updates the work in progress; starts a new line when what changes. */
void progress_update(struct progress *p, const char *what, int64_t done,
                     int64_t total, const char *unit);
/* Prints the final line (if anything was shown) and resets p. */
void progress_end(struct progress *p);

#endif /* FTSB_PROGRESS_H */
