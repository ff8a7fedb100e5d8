/*
 * stub_host.h - a small host table for tests that load plugins without
 * the rest of the core: log lines are kept for inspection, sinks are
 * strbufs, configurations are key/value lists, and the services a test
 * plugin has no use for (other backends, datasets, cache) answer
 * FTSB_E_UNSUPPORTED.  Unlike the real host, log() accepts a NULL ctx,
 * which the broken fixtures use from init() and deinit().
 */
#ifndef FTSB_STUB_HOST_H
#define FTSB_STUB_HOST_H

#include <ftsb/ftsb.h>

const ftsb_host *stub_host(void);

/* Every line logged since the last reset, each ending in '\n'. */
const char *stub_log(void);
void stub_log_reset(void);

/* A context that keeps the last host->fail() message ("" when none). */
ftsb_ctx *stub_ctx_new(void);
const char *stub_ctx_error(const ftsb_ctx *ctx);
void stub_ctx_free(ftsb_ctx *ctx);

/* A configuration from a NULL-terminated list of key, value pairs; every
 * value reads as a string.  The strings are borrowed. */
ftsb_config *stub_config_new(const char *const *kv);
void stub_config_free(ftsb_config *cfg);

/* Sinks that count what plugins add and keep the ids or names. */
ftsb_dataset_sink *stub_dataset_sink_new(void);
size_t stub_dataset_sink_count(const ftsb_dataset_sink *s);
const ftsb_example *stub_dataset_sink_get(const ftsb_dataset_sink *s,
                                          size_t i);
void stub_dataset_sink_free(ftsb_dataset_sink *s);

ftsb_metric_sink *stub_metric_sink_new(void);
size_t stub_metric_sink_count(const ftsb_metric_sink *s);
const ftsb_metric_value *stub_metric_sink_get(const ftsb_metric_sink *s,
                                              size_t i);
void stub_metric_sink_free(ftsb_metric_sink *s);

#endif /* FTSB_STUB_HOST_H */
