/*
 * config.h - plugin configurations, validated against the plugin's keys.
 *
 * The SDK declares ftsb_config opaque; this is the host's side.  A config
 * is built key by key (from a Lua table or JSON text), each key checked
 * against the plugin's ftsb_config_key list as it arrives, then finished:
 * required keys checked, defaults filled.  An unknown key is refused with
 * the plugin's name and the nearest known key, so a misspelt option never
 * silently falls back to a default.  Backends and datasets given in a
 * config are held by reference for the config's lifetime.
 */
#ifndef FTSB_CONFIG_H
#define FTSB_CONFIG_H

#include "../ftsb_setup.h"
#include "../util/err.h"

#include <cjson/cJSON.h>

struct instance;

/* label names the plugin in messages, e.g. "judge 'keyword'". */
struct ftsb_config *config_new(const char *label, const ftsb_config_key *keys,
                               uint32_t n_keys);
void config_free(struct ftsb_config *cfg);

/* Adds one key; value is consumed (freed on error too). */
ftsb_status config_put_json(struct ftsb_config *cfg, const char *key,
                            cJSON *value, struct err *err);
/* Adds a backend (takes a reference) or a dataset.  release(ud) is called
 * when the config no longer needs ds (NULL: the caller keeps ds alive). */
ftsb_status config_put_backend(struct ftsb_config *cfg, const char *key,
                               struct instance *backend, struct err *err);
ftsb_status config_put_dataset(struct ftsb_config *cfg, const char *key,
                               struct ftsb_dataset *ds,
                               void (*release)(void *ud), void *ud,
                               struct err *err);
/* Adds every member of a JSON object given as text. */
ftsb_status config_put_text(struct ftsb_config *cfg, const char *json,
                            struct err *err);
/* Checks required keys, fills defaults, loads datasets given as paths. */
ftsb_status config_finish(struct ftsb_config *cfg, struct err *err);

/* Canonical JSON of the whole configuration (keys in declaration order;
 * backends as their fingerprints, datasets as name and row count). */
const char *config_text(const struct ftsb_config *cfg);

/* Declared key lookup, for the Lua layer to decide how to convert a
 * value: the key's FTSB_CFG_* type, or 0 when the plugin has no such key
 * (err then holds the "unknown option" message). */
int32_t config_key_type(const struct ftsb_config *cfg, const char *key,
                        struct err *err);

/* The host table's accessors (see sdk/include/ftsb/host.h). */
int config_has(const struct ftsb_config *cfg, const char *key);
const char *config_str(const struct ftsb_config *cfg, const char *key);
ftsb_status config_int(const struct ftsb_config *cfg, const char *key,
                       int64_t *out);
ftsb_status config_num(const struct ftsb_config *cfg, const char *key,
                       double *out);
ftsb_status config_bool(const struct ftsb_config *cfg, const char *key,
                        int *out);
const char *config_json(const struct ftsb_config *cfg, const char *key);
const char *const *config_strings(const struct ftsb_config *cfg,
                                  const char *key, uint32_t *n);
struct instance *config_backend(const struct ftsb_config *cfg,
                                const char *key);
const struct ftsb_dataset *config_dataset(const struct ftsb_config *cfg,
                                          const char *key);

/* Edit distance, for "did you mean" hints. */
size_t edit_distance(const char *a, const char *b);

#endif /* FTSB_CONFIG_H */
