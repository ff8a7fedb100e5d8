/*
 * session.h - what one `ftsb` process run shares: the loaded plugins, the
 * run store, the shard, the user's verbosity and the cancel flag; and the
 * per-call context (ftsb_ctx) handed to plugins.
 *
 * The ctx carries the error message a plugin records with host->fail(),
 * the label used in log lines ("backend 'llama'") and the progress line
 * of the current work.  One ctx is used by one thread at a time.
 */
#ifndef FTSB_SESSION_H
#define FTSB_SESSION_H

#include <signal.h>

#include "../ftsb_setup.h"
#include "../util/err.h"
#include "../util/progress.h"

struct loader;
struct store;

struct session {
    struct loader *loader;
    struct store *store;       /* NULL until a script needs it */
    char *store_path;
    uint32_t shard_index;      /* 0-based */
    uint32_t shard_count;      /* 1 = no sharding */
    volatile sig_atomic_t *cancel;
};

/* Points of named series collected during one call (host series_put). */
struct series_point {
    char name[64];
    int64_t step;
    double value;
};
struct series_buf {
    struct series_point *p;
    size_t n, cap;
};

struct ftsb_ctx {
    struct err err;
    struct session *session;
    const char *label;
    struct progress progress;
    struct series_buf *series; /* NULL: series points are dropped */
};

void ctx_init(struct ftsb_ctx *ctx, struct session *s, const char *label);
/* Ends the context's progress line, if any. */
void ctx_release(struct ftsb_ctx *ctx);

/* Opens the session's store on first use (path from --store or the
 * default results/ftsb.db). */
ftsb_status session_store(struct session *s, struct store **out,
                          struct err *err);

#endif /* FTSB_SESSION_H */
