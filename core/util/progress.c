/*
 * progress.c - drawing progress lines on stderr.
 *
 * The mode is decided once per process: a terminal gets a redrawn line,
 * anything else a plain line every 30 seconds.  Drawing is rate-limited
 * here so callers may report after every item.
 */
#include "../ftsb_setup.h"

#include <time.h>
#include <unistd.h>

#include "progress.h"

enum { MODE_UNSET, MODE_OFF, MODE_TTY, MODE_PLAIN };

static int progress_mode(void)
{
    static int mode = MODE_UNSET;
    const char *env;

    if (mode != MODE_UNSET)
        return mode;
    env = getenv("FTSB_PROGRESS");
    if (env && strcmp(env, "0") == 0)
        mode = MODE_OFF;
    else if (env && strcmp(env, "1") == 0)
        mode = MODE_PLAIN;
    else
        mode = isatty(STDERR_FILENO) ? MODE_TTY : MODE_PLAIN;
    return mode;
}

double clock_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void format_duration(char *buf, size_t n, double s)
{
    long t = s < 0 ? 0 : (long)(s + 0.5);

    if (t >= 3600)
        snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60)
        snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, n, "%lds", t);
}

static void draw(struct progress *p, double now, int final)
{
    double elapsed = now - p->t_start;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    char eta[32] = "", took[32];
    int mode = progress_mode();

    format_duration(took, sizeof took, elapsed);
    if (!final && p->total > 0 && rate > 0) {
        char left[24];

        format_duration(left, sizeof left, (double)(p->total - p->done) / rate);
        snprintf(eta, sizeof eta, ", %s left", left);
    }
    if (p->total > 0)
        fprintf(stderr, "%s%s: %lld/%lld %s (%.0f%%), %.1f %s/s, %s%s%s",
                mode == MODE_TTY ? "\r\033[K" : "", p->what,
                (long long)p->done, (long long)p->total, p->unit,
                100.0 * (double)p->done / (double)p->total, rate, p->unit,
                took, eta, mode == MODE_TTY && !final ? "" : "\n");
    else
        fprintf(stderr, "%s%s: %lld %s, %.1f %s/s, %s%s",
                mode == MODE_TTY ? "\r\033[K" : "", p->what,
                (long long)p->done, p->unit, rate, p->unit, took,
                mode == MODE_TTY && !final ? "" : "\n");
    fflush(stderr);
    p->t_last_draw = now;
    p->drawn = mode == MODE_TTY && !final;
}

void progress_update(struct progress *p, const char *what, int64_t done,
                     int64_t total, const char *unit)
{
    double now = clock_now();
    int mode = progress_mode();

    if (mode == MODE_OFF)
        return;
    if (!p->active || strncmp(p->what, what, sizeof p->what - 1) != 0) {
        if (p->active)
            progress_end(p);
        memset(p, 0, sizeof *p);
        snprintf(p->what, sizeof p->what, "%s", what);
        snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "items");
        p->t_start = now;
        p->t_last_draw = now;
        p->active = 1;
    }
    p->done = done;
    p->total = total;
    if (mode == MODE_TTY ? now - p->t_last_draw >= 0.1
                         : now - p->t_last_draw >= 30.0)
        draw(p, now, 0);
}

void progress_end(struct progress *p)
{
    if (p->active && progress_mode() != MODE_OFF &&
        (p->drawn || clock_now() - p->t_start >= 1.0))
        draw(p, clock_now(), 1);
    memset(p, 0, sizeof *p);
}
