/*
 * ftsb/define.h - FTSB_DEFINE_PLUGINS: the entry boilerplate in one line.
 *
 * Most plugin libraries keep the host table in a static variable, count
 * their init()/deinit() calls and list a static array of descriptors.
 * This macro writes exactly that (init, deinit, plugin_count, plugin_get,
 * the entry table and the exported entry function), so a plugin's source
 * holds only what is particular to it:
 *
 *     static const ftsb_host *host;
 *     ...
 *     static const ftsb_plugin_desc *const plugins[] = { &judge_desc };
 *     FTSB_DEFINE_PLUGINS(host, plugins)
 *
 * host_var must be a `const ftsb_host *` variable declared before the
 * macro (usually static); it is set by init() and cleared by the last
 * deinit(), which are counted because several registries may load the
 * library (sdk/ABI.md).  A library
 * that needs more in init() (a one-time table, say) writes its own entry
 * as entry.h describes.  The macro is header-only: it adds nothing to the
 * ABI.
 */
#ifndef FTSB_DEFINE_H
#define FTSB_DEFINE_H

#include "entry.h"

#define FTSB_DEFINE_PLUGINS(host_var, plugin_array)                          \
    static unsigned ftsb_host_refs_;                                         \
    static ftsb_status ftsb_init_(const ftsb_host *h)                        \
    {                                                                        \
        host_var = h;                                                        \
        ftsb_host_refs_++;                                                   \
        return FTSB_OK;                                                      \
    }                                                                        \
    static void ftsb_deinit_(void)                                           \
    {                                                                        \
        if (ftsb_host_refs_ && --ftsb_host_refs_ == 0)                       \
            host_var = NULL;                                                 \
    }                                                                        \
    static uint32_t ftsb_count_(void)                                        \
    {                                                                        \
        return (uint32_t)(sizeof(plugin_array) / sizeof((plugin_array)[0])); \
    }                                                                        \
    static const ftsb_plugin_desc *ftsb_get_(uint32_t i)                     \
    {                                                                        \
        return i < ftsb_count_() ? (plugin_array)[i] : NULL;                 \
    }                                                                        \
    static const ftsb_entry ftsb_entry_ = {                                  \
        FTSB_ABI_VERSION, sizeof(ftsb_entry), FTSB_BUILD_SIGNATURE,          \
        ftsb_init_,       ftsb_deinit_,       ftsb_count_,                   \
        ftsb_get_,                                                           \
    };                                                                       \
    FTSB_EXPORT const ftsb_entry *ftsb_plugin_entry(void)                    \
    {                                                                        \
        return &ftsb_entry_;                                                 \
    }

#endif /* FTSB_DEFINE_H */
