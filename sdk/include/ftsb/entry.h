/*
 * ftsb/entry.h - the one symbol a plugin library exports.
 *
 * The host dlopen()s a library with RTLD_NOW | RTLD_LOCAL, looks up
 * FTSB_ENTRY_SYMBOL and calls it.  It then checks, before calling
 * anything else: abi_version (major equal, plugin minor <= host minor),
 * struct_size (at least the size of ABI 1.0's ftsb_entry) and
 * build_signature (equal).  Only then does it call init(host), and list
 * the library's plugins with plugin_count() and plugin_get(i).  One library
 * may hold several plugins, of any kinds.
 *
 * Rationale: a function rather than a data symbol, so a C++ plugin does
 * not depend on static initialisation order; all other symbols hidden, so
 * two plugins carrying different copies of a library never bind to each
 * other's.
 */
#ifndef FTSB_ENTRY_H
#define FTSB_ENTRY_H

#include "host.h"
#include "version.h"

FTSB_BEGIN_DECLS

#define FTSB_ENTRY_SYMBOL "ftsb_plugin_entry"

/*
 * What a plugin is.  id is unique among the plugins of its kind, made of
 * [a-z0-9_.-] ("keyword", "org.example.judge.refusal"); scripts create
 * instances by it.  version is the plugin's own ("1.2.0"), recorded in
 * every run's provenance.  iface points to the kind's vtable:
 * ftsb_backend_iface, ftsb_attack_iface, ftsb_judge_iface or
 * ftsb_metric_iface.  Everything here is static and valid until the
 * library is unloaded.
 */
typedef struct ftsb_plugin_desc {
    uint32_t struct_size;
    int32_t kind;  /* FTSB_KIND_* */
    const char *id;
    const char *name;
    const char *version;
    const char *description;
    const ftsb_config_key *config_keys;
    uint32_t n_config_keys;
    const void *iface;
} ftsb_plugin_desc;

typedef struct ftsb_entry {
    uint32_t abi_version;    /* FTSB_ABI_VERSION the plugin was built with */
    uint32_t struct_size;    /* sizeof(ftsb_entry) */
    const char *build_signature; /* FTSB_BUILD_SIGNATURE */

    /* Called once after the checks pass, before anything else.  Keeps the
     * host table for later calls and does no heavy work (models load in
     * create).  A non-zero return refuses the library: the host reports
     * the file and the code, and calls nothing else in it.  (A process
     * with two registries loading the same file, as tests have, calls it
     * once per registry: keep a count.) [main] */
    ftsb_status (*init)(const ftsb_host *host);

    /* (optional) Called once before the library is unloaded, after every
     * instance was destroyed; also when the host refuses the library
     * after a successful init() (a bad descriptor, a duplicate id).
     * [main] */
    void (*deinit)(void);

    /* Number of plugins, and plugin i (NULL past the end). [thread-safe] */
    uint32_t (*plugin_count)(void);
    const ftsb_plugin_desc *(*plugin_get)(uint32_t index);
} ftsb_entry;

typedef const ftsb_entry *(*ftsb_entry_fn)(void);

/* The declaration every plugin library defines exactly once. */
FTSB_EXPORT const ftsb_entry *ftsb_plugin_entry(void);

FTSB_END_DECLS

#endif /* FTSB_ENTRY_H */
