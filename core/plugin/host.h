/*
 * host.h - the host services table handed to every plugin.
 *
 * One static, const table for the process (sdk/include/ftsb/host.h
 * documents each member).  The opaque SDK types map onto core types:
 * ftsb_buf is a struct strbuf, ftsb_backend_ref a struct instance,
 * ftsb_dataset the core dataset, and the two sinks are defined here.
 */
#ifndef FTSB_HOST_INT_H
#define FTSB_HOST_INT_H

#include "../ftsb_setup.h"
#include "../util/strbuf.h"

struct ftsb_dataset_sink {
    struct ftsb_dataset *ds;
    struct ftsb_ctx *ctx;       /* where a refused row's reason goes */
};

struct metric_values {
    ftsb_metric_value *v;
    size_t n, cap;
};

struct ftsb_metric_sink {
    struct metric_values values;   /* strings owned (name, category) */
};

const ftsb_host *host_get(void);

static inline ftsb_buf *as_buf(struct strbuf *sb)
{
    return (ftsb_buf *)sb;
}

void metric_values_release(struct metric_values *mv);

#endif /* FTSB_HOST_INT_H */
