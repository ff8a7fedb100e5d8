/*
 * instance.h - a live plugin instance, as the core holds it.
 *
 * An instance pairs a plugin's descriptor with the `self` its create()
 * returned, the validated configuration and the fingerprint that keys the
 * caches.  Instances are reference-counted because they are shared: a Lua
 * userdata holds one reference, and a judge configured with a backend
 * holds another, so Lua's collector may free the script's handle while the
 * judge still uses the backend.  The SDK's ftsb_backend_ref is an instance
 * of kind backend.
 */
#ifndef FTSB_INSTANCE_H
#define FTSB_INSTANCE_H

#include "../ftsb_setup.h"
#include "../util/err.h"

struct session;
struct loaded_plugin;

struct instance {
    int refs;
    int32_t kind;
    const ftsb_plugin_desc *desc;
    const char *path;          /* the library file, for messages */
    void *self;
    struct ftsb_config *cfg;   /* owned; NULL for adopted instances */
    char *fingerprint;
    char *label;               /* "backend 'llama'" */
    struct session *session;
    struct instance *parent;   /* the base of a fine-tuned model, kept
                                * alive as long as the model */
};

/* Builds a configuration for plugin p (see config.h); the caller fills it
 * and passes it to instance_create. */
struct ftsb_config *instance_config_new(const ftsb_plugin_desc *desc);

/* Calls the plugin's create() with cfg (consumed, finished here) and
 * computes the fingerprint.  On failure the plugin's message is in err. */
ftsb_status instance_create(struct session *s, const ftsb_plugin_desc *desc,
                            const char *path, struct ftsb_config *cfg,
                            struct instance **out, struct err *err);

/* Wraps a self made by the plugin itself (a fine-tuned model), sharing
 * desc and path with parent, and takes ownership of self.  The new
 * instance has no configuration; its fingerprint is the plugin's. */
ftsb_status instance_adopt(struct instance *parent, void *self,
                           struct instance **out, struct err *err);

void instance_ref(struct instance *inst);
/* Drops a reference; the last one destroys the plugin's self. */
void instance_unref(struct instance *inst);

const char *instance_fingerprint(const struct instance *inst);
const char *instance_kind_name(int32_t kind);

/* The kind-specific vtables. */
static inline const ftsb_backend_iface *instance_backend(
    const struct instance *i)
{
    return (const ftsb_backend_iface *)i->desc->iface;
}
static inline const ftsb_attack_iface *instance_attack(
    const struct instance *i)
{
    return (const ftsb_attack_iface *)i->desc->iface;
}
static inline const ftsb_judge_iface *instance_judge(const struct instance *i)
{
    return (const ftsb_judge_iface *)i->desc->iface;
}
static inline const ftsb_metric_iface *instance_metric(
    const struct instance *i)
{
    return (const ftsb_metric_iface *)i->desc->iface;
}

#endif /* FTSB_INSTANCE_H */
