/*
 * fixture_broken.c - one small judge, built many times with one defect
 * each (FIXTURE_<DEFECT> defined by tests/plugins/CMakeLists.txt), so
 * that every refusal of the loader has a library that triggers it.
 * FIXTURE_NAME is the defect's name.  init() and deinit() write
 * "init <name>" and "deinit <name>" to the host's log, so a test can see
 * which calls a refused library received; only the test host accepts the
 * NULL context used for that.  Each defect is a deliberate ABI violation
 * and must not be copied into a real plugin.
 */
#include <ftsb/ftsb.h>

#include <stddef.h>

#ifndef FIXTURE_NAME
#define FIXTURE_NAME "broken"
#endif

static const ftsb_host *host;

#ifdef FIXTURE_UNRESOLVED
/* Defined nowhere: the library links only without -z defs, and dlopen
 * with RTLD_NOW must refuse it. */
extern int ftsb_fixture_missing_function(void);
#endif

#ifdef FIXTURE_LEAK
/* Default visibility and no version script: this leaks into the dynamic
 * symbol table, which the export check must notice. */
__attribute__((visibility("default"))) int ftsb_fixture_leaked(void);
__attribute__((visibility("default"))) int ftsb_fixture_leaked(void)
{
    return 42;
}
#endif

static ftsb_status create(ftsb_ctx *ctx, const ftsb_config *cfg,
                          void **self)
{
    (void)ctx;
    (void)cfg;
    *self = NULL;
    return FTSB_OK;
}

static void destroy(void *self)
{
    (void)self;
}

#ifdef FIXTURE_NULL_METHOD
__attribute__((unused))
#endif
static ftsb_status judge(void *self, ftsb_ctx *ctx,
                         const ftsb_judge_item *items, uint32_t n,
                         ftsb_verdict *out)
{
    (void)self;
    (void)ctx;
    (void)items;
#ifdef FIXTURE_UNRESOLVED
    n += (uint32_t)ftsb_fixture_missing_function();
#endif
    for (uint32_t i = 0; i < n; i++)
        out[i].state = FTSB_VERDICT_OK;
    return FTSB_OK;
}

static const ftsb_judge_iface iface = {
#ifdef FIXTURE_IFACE_SMALL
    /* as if built against an SDK whose judge table lacked judge() */
    .struct_size = offsetof(ftsb_judge_iface, judge),
#else
    .struct_size = sizeof iface,
#endif
    .create = create,
    .destroy = destroy,
    .fingerprint = NULL,
#ifdef FIXTURE_NULL_METHOD
    .judge = NULL,
#else
    .judge = judge,
#endif
};

#if defined(FIXTURE_DUP_A) || defined(FIXTURE_DUP_B)
#define ID "test.dup"
#elif defined(FIXTURE_BAD_ID)
#define ID "Bad Id!"
#elif defined(FIXTURE_LEAK)
#define ID "test.leaky"
#else
#define ID "test." FIXTURE_NAME
#endif

#ifdef FIXTURE_UNKNOWN_KIND
#define KIND 99
#else
#define KIND FTSB_KIND_JUDGE
#endif

static const ftsb_plugin_desc desc = {
#ifdef FIXTURE_DESC_SMALL
    offsetof(ftsb_plugin_desc, config_keys),
#else
    sizeof desc,
#endif
    KIND, ID, "Broken fixture", "0.0.1", "a loader test fixture", NULL, 0,
    &iface,
};

static ftsb_status init(const ftsb_host *h)
{
    host = h;
    host->log(NULL, FTSB_LOG_DEBUG, "init %s", FIXTURE_NAME);
#ifdef FIXTURE_INIT_FAIL
    return FTSB_E_IO;
#else
    return FTSB_OK;
#endif
}

static void deinit(void)
{
    host->log(NULL, FTSB_LOG_DEBUG, "deinit %s", FIXTURE_NAME);
}

static uint32_t count(void)
{
#ifdef FIXTURE_NO_PLUGINS
    return 0;
#else
    return 1;
#endif
}

static const ftsb_plugin_desc *get(uint32_t i)
{
    return i == 0 ? &desc : NULL;
}

#if defined(FIXTURE_ABI_MAJOR)
#define ABI ((2u << 16) | 0u)
#elif defined(FIXTURE_ABI_MINOR)
#define ABI ((unsigned)(FTSB_ABI_MAJOR << 16) | 3u)
#else
#define ABI FTSB_ABI_VERSION
#endif

#ifdef FIXTURE_BAD_SIG
#define SIG "p4z4"
#else
#define SIG FTSB_BUILD_SIGNATURE
#endif

static const ftsb_entry entry = {
    ABI,
#ifdef FIXTURE_ENTRY_SMALL
    /* as if built against an SDK without plugin_get */
    offsetof(ftsb_entry, plugin_get),
#else
    sizeof entry,
#endif
    SIG, init, deinit, count, get,
};

#ifdef FIXTURE_NO_ENTRY
/* Misspelt: the version script hides it, so the library has no entry. */
FTSB_EXPORT const ftsb_entry *ftsb_plugin_entri(void);
FTSB_EXPORT const ftsb_entry *ftsb_plugin_entri(void)
{
    return &entry;
}
#else
FTSB_EXPORT const ftsb_entry *ftsb_plugin_entry(void)
{
#ifdef FIXTURE_NULL_ENTRY
    (void)&entry;
    return NULL;
#else
    return &entry;
#endif
}
#endif
