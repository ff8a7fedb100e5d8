/*
 * loader.h - finds plugin libraries, checks them and keeps the registry
 * of the plugins they hold.
 *
 * A library is opened with dlopen(RTLD_NOW | RTLD_LOCAL), so a missing
 * symbol fails here rather than hours into a run and no plugin binds to
 * another's symbols.  Its entry is checked (ABI major equal, minor not
 * newer than ours, table sizes, build signature) before any other plugin
 * code runs; only then is init(host) called and every descriptor checked.
 * A library is accepted or refused as a whole: a refusal is one message
 * naming the file, what is wrong and what to do, and loading goes on with
 * the other files.  sdk/ABI.md lists the checks for plugin authors.
 *
 * Everything here is [main]: one thread, at start-up.  Pointers returned
 * by loader_find() and loader_get() stay valid until loader_free().
 */
#ifndef FTSB_LOADER_H
#define FTSB_LOADER_H

#include "../ftsb_setup.h"
#include "../util/err.h"
#include "../util/strbuf.h"

/* The registry of loaded plugins. */
struct loader;

/* One plugin of a loaded library. */
struct loaded_plugin {
    const ftsb_plugin_desc *desc; /* the plugin's own, checked descriptor */
    const char *path;             /* the library file, as it was given */
    uint32_t abi_version;         /* the ABI the library was built for */
};

/* Receives each refusal when loading a directory or a search path, and
 * warnings about the path itself; loading goes on after it returns. */
typedef void (*loader_warn_fn)(void *ud, const char *msg);

/*
 * A new, empty registry.  host is handed to each library's init() and
 * must outlive the loader.  warn (may be NULL: warnings are dropped) is
 * called with ud.  Returns FTSB_OK, FTSB_E_INVALID (host NULL) or
 * FTSB_E_NOMEM.
 */
ftsb_status loader_new(const ftsb_host *host, loader_warn_fn warn, void *ud,
                       struct loader **out);

/*
 * Loads one library, given by an absolute path.  On refusal returns a
 * non-zero status and the message in err; the registry is unchanged and
 * the library is closed (after deinit() when its init() had run).
 * Statuses: FTSB_E_ABI (not a plugin for this ftsb), FTSB_E_NOT_FOUND,
 * FTSB_E_IO (unreadable), FTSB_E_INVALID (relative path, unsafe
 * permissions, duplicate plugin id), the plugin's own status when its
 * init() fails, FTSB_E_NOMEM.  A file already loaded (the same file
 * under any name) is skipped and returns FTSB_OK.
 */
ftsb_status loader_load_file(struct loader *l, const char *path,
                             struct err *err);

/*
 * Loads every "*.so" file of an absolute directory (names starting with
 * '.' excluded), in byte order of the names so that which of two
 * duplicates wins never depends on the file system.  Refusals go to warn.
 * Returns FTSB_OK, or an error in err when the directory cannot be read
 * or memory runs out.
 */
ftsb_status loader_load_dir(struct loader *l, const char *dir,
                            struct err *err);

/*
 * Loads each element of a ':'-separated list: a directory (see
 * loader_load_dir) or a library file.  Empty elements are ignored (they
 * never mean "."); relative and missing elements are reported to warn and
 * skipped, as are refused libraries.  The first call also warns when
 * LD_LIBRARY_PATH makes the dynamic linker search the current directory.
 * Returns FTSB_OK unless memory runs out.
 */
ftsb_status loader_load_search_path(struct loader *l, const char *path_list,
                                    struct err *err);

/*
 * Builds the default search path into out (appended, ':'-separated, no
 * empty elements), in this order: cli_path (--plugin-path, may be NULL),
 * $FTSB_PLUGIN_PATH, the build tree's plugin directory
 * (FTSB_PLUGIN_BUILD_DIR) and the installed plugin directory
 * (FTSB_PLUGIN_INSTALL_DIR).  The last two are added only when they exist:
 * a default location that is absent is not an error, while a location the
 * user named and that is missing is reported when loading.  Relative
 * elements are kept so that loading can warn about them.  Returns FTSB_OK
 * or FTSB_E_NOMEM.
 */
ftsb_status loader_default_path(const char *cli_path, struct strbuf *out);

/* The plugin of kind (FTSB_KIND_*) named id, or NULL. */
const struct loaded_plugin *loader_find(const struct loader *l, int32_t kind,
                                        const char *id);

/* Number of loaded plugins, and plugin i (NULL when i >= count), in load
 * order. */
size_t loader_count(const struct loader *l);
const struct loaded_plugin *loader_get(const struct loader *l, size_t i);

/* "backend", "attack", "judge", "metric"; NULL for an unknown kind. */
const char *loader_kind_name(int32_t kind);
/* The FTSB_KIND_* for a name above, or 0 when unknown (or NULL). */
int32_t loader_kind_from_name(const char *name);

/* Calls deinit() of each library whose init() ran, newest first, closes
 * them and frees the registry.  Every instance created from its plugins
 * must be destroyed before.  l may be NULL. */
void loader_free(struct loader *l);

#endif /* FTSB_LOADER_H */
