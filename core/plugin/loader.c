/*
 * loader.c - opening plugin libraries, checking them before trusting
 * them, and the registry of their plugins.
 *
 * The order of the checks is the point of this file.  dlopen() already
 * runs the library's constructors, so plugins are trusted code and the
 * checks guard against accidents (a stale build, a wrong file, a world-
 * writable directory), not against malice.  After dlopen only the entry
 * function runs until the entry table has passed the version, size and
 * signature checks; init() comes next, and the descriptors are checked
 * last, because a plugin may build them in init().  Any failure refuses
 * the whole library, so the registry never holds half a library and
 * deinit() has a simple contract.  Messages follow git's style and end
 * with what to do; they name the file as the user gave it.
 */
#include "../ftsb_setup.h"

#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"

/* Caps that only a broken plugin reaches; they bound loops and
 * allocations driven by plugin-supplied numbers. */
#define LIB_PLUGINS_MAX 1024u
#define CONFIG_KEYS_MAX 1024u
#define ID_MAX 128u

/* Size of a struct up to and including member: the size the struct had in
 * the ABI that introduced member.  Tables only grow, so these minimums
 * never change within a major version. */
#define SIZE_UPTO(type, member) \
    (offsetof(type, member) + sizeof(((type *)0)->member))

struct method {
    const char *name;
    size_t offset;
};

struct kind_info {
    int32_t kind;
    const char *name;
    size_t iface_min;          /* sizeof the kind's vtable in ABI 1.0 */
    struct method methods[5];  /* the mandatory members, NULL-terminated */
};

#define METHOD(type, m) { #m, offsetof(type, m) }

static const struct kind_info kinds[] = {
    { FTSB_KIND_BACKEND, "backend",
      SIZE_UPTO(ftsb_backend_iface, get_extension),
      { METHOD(ftsb_backend_iface, create),
        METHOD(ftsb_backend_iface, destroy),
        METHOD(ftsb_backend_iface, fingerprint),
        METHOD(ftsb_backend_iface, generate) } },
    { FTSB_KIND_ATTACK, "attack", SIZE_UPTO(ftsb_attack_iface, prompt),
      { METHOD(ftsb_attack_iface, create),
        METHOD(ftsb_attack_iface, destroy),
        METHOD(ftsb_attack_iface, build),
        METHOD(ftsb_attack_iface, prompt) } },
    { FTSB_KIND_JUDGE, "judge", SIZE_UPTO(ftsb_judge_iface, judge),
      { METHOD(ftsb_judge_iface, create),
        METHOD(ftsb_judge_iface, destroy),
        METHOD(ftsb_judge_iface, judge) } },
    { FTSB_KIND_METRIC, "metric", SIZE_UPTO(ftsb_metric_iface, compute),
      { METHOD(ftsb_metric_iface, create),
        METHOD(ftsb_metric_iface, destroy),
        METHOD(ftsb_metric_iface, compute) } },
};

static const size_t entry_min = SIZE_UPTO(ftsb_entry, plugin_get);
static const size_t desc_min = SIZE_UPTO(ftsb_plugin_desc, iface);

/* One opened, accepted library. */
struct lib {
    void *handle;
    char *path;                /* as given; loaded_plugin.path points here */
    dev_t dev;
    ino_t ino;
    const ftsb_entry *entry;
};

struct loader {
    const ftsb_host *host;
    loader_warn_fn warn;
    void *ud;
    struct lib *libs;
    size_t n_libs, cap_libs;
    /* One allocation per plugin, so that pointers handed out survive
     * later loads. */
    struct loaded_plugin **plugins;
    size_t n_plugins, cap_plugins;
    int ld_path_checked;
};

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static const struct kind_info *kind_info(int32_t kind)
{
    for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
        if (kinds[i].kind == kind)
            return &kinds[i];
    return NULL;
}

const char *loader_kind_name(int32_t kind)
{
    const struct kind_info *k = kind_info(kind);

    return k ? k->name : NULL;
}

int32_t loader_kind_from_name(const char *name)
{
    if (!name)
        return 0;
    for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
        if (strcmp(kinds[i].name, name) == 0)
            return kinds[i].kind;
    return 0;
}

static void warn(const struct loader *l, const char *msg)
{
    if (l->warn)
        l->warn(l->ud, msg);
}

/*
 * Copies a string a plugin gave us into buf for a message: at most
 * buf_size - 4 characters, non-printable bytes shown as '?', "..." when
 * cut.  A broken plugin's id may hold anything; the message must stay one
 * readable line.
 */
static const char *shown(const char *s, char *buf, size_t buf_size)
{
    size_t i, n = 0;

    if (!s)
        return "(null)";
    for (i = 0; s[i] && n + 4 < buf_size; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (s[i]) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

static int id_valid(const char *id)
{
    size_t n = 0;

    for (; id[n]; n++) {
        char c = id[n];
        if (n >= ID_MAX ||
            !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return n > 0;
}

/* Reads a function pointer member of a plugin's table by offset.  Every
 * function pointer has the same representation on the platforms dlopen
 * exists on, so the generic type is enough to test for NULL. */
static int member_set(const void *table, size_t offset)
{
    void (*fn)(void);

    memcpy(&fn, (const char *)table + offset, sizeof fn);
    return fn != NULL;
}

/* dlerror() text usually starts with "<path>: "; the message names the
 * file already. */
static const char *dl_reason(const char *msg, const char *path)
{
    size_t n = strlen(path);

    if (!msg)
        return "unknown error";
    if (strncmp(msg, path, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
        return msg + n + 2;
    return msg;
}

static ftsb_status dlopen_refusal(const char *path, const char *dl_msg,
                                  struct err *err)
{
    const char *why = dl_reason(dl_msg, path);

    if (strstr(why, "undefined symbol"))
        return err_set(err, FTSB_E_ABI,
                       "plugin '%s' has an unresolved symbol (%s); rebuild "
                       "it and link every library it uses (the SDK's CMake "
                       "helper links with -z defs to catch this at build "
                       "time)", path, why);
    if (strstr(why, "invalid ELF header") || strstr(why, "file too short"))
        return err_set(err, FTSB_E_ABI,
                       "plugin '%s' is not a shared object: %s; remove it "
                       "from the plugin path", path, why);
    if (strstr(why, "cannot open shared object file"))
        return err_set(err, FTSB_E_ABI,
                       "plugin '%s' needs a library that cannot be found "
                       "(%s); install it, or rebuild the plugin without it",
                       path, why);
    return err_set(err, FTSB_E_ABI,
                   "plugin '%s' cannot be loaded: %s; rebuild it for this "
                   "system or remove it from the plugin path", path, why);
}

/*
 * Refuses file when the folder holding it is writable by every user and
 * not sticky: anyone could replace the plugin there.  With the sticky
 * bit (/tmp) others can add files but not replace ours, and the owner
 * check covers what they add.
 */
static ftsb_status check_folder_of(const char *plugin, const char *file,
                                   struct err *err)
{
    struct stat st;
    char *dir = xstrdup_or_null(file), *slash;
    ftsb_status status = FTSB_OK;

    if (!dir)
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    if (stat(dir, &st) == 0 && (st.st_mode & S_IWOTH) &&
        !(st.st_mode & S_ISVTX))
        status = err_set(err, FTSB_E_INVALID,
                         "plugin '%s' is in '%s', which every user can "
                         "write to, so anyone could replace it; run 'chmod "
                         "o-w %s' or move the plugin", plugin, dir, dir);
    free(dir);
    return status;
}

/*
 * The file checks made before any of its code runs: an absolute path to a
 * regular file that only its owner (root or us) can change, in a
 * directory other users cannot replace it in.  Group-writable is allowed:
 * shared build trees under a umask of 002 are common and not an accident.
 */
static ftsb_status check_file(const char *path, struct stat *st,
                              struct err *err)
{
    char cwd[PATH_MAX], *real;
    ftsb_status status;

    if (path[0] != '/') {
        if (getcwd(cwd, sizeof cwd))
            return err_set(err, FTSB_E_INVALID,
                           "plugin path '%s' is relative; give it as "
                           "'%s/%s' so that the current directory never "
                           "decides which code runs", path, cwd, path);
        return err_set(err, FTSB_E_INVALID,
                       "plugin path '%s' is relative; give an absolute path "
                       "so that the current directory never decides which "
                       "code runs", path);
    }
    if (stat(path, st) != 0) {
        if (errno == ENOENT)
            return err_set(err, FTSB_E_NOT_FOUND,
                           "plugin '%s' does not exist; check the plugin "
                           "path", path);
        return err_set(err, FTSB_E_IO, "cannot read plugin '%s': %s", path,
                       strerror(errno));
    }
    if (!S_ISREG(st->st_mode))
        return err_set(err, FTSB_E_INVALID,
                       "plugin '%s' is not a regular file; remove it from "
                       "the plugin path", path);
    if (st->st_mode & S_IWOTH)
        return err_set(err, FTSB_E_INVALID,
                       "plugin '%s' is writable by every user, so anyone "
                       "could replace its code; run 'chmod o-w %s'",
                       path, path);
    if (st->st_uid != 0 && st->st_uid != geteuid())
        return err_set(err, FTSB_E_INVALID,
                       "plugin '%s' belongs to user %lu, neither you nor "
                       "root; check where it comes from, then copy it to a "
                       "directory of yours", path,
                       (unsigned long)st->st_uid);

    /* The folder of the path as given (a symlink there could be swapped)
     * and that of the real file. */
    status = check_folder_of(path, path, err);
    if (status)
        return status;
    real = realpath(path, NULL);
    if (!real)
        return err_set(err, FTSB_E_IO, "cannot resolve plugin '%s': %s",
                       path, strerror(errno));
    status = strcmp(real, path) ? check_folder_of(path, real, err) : FTSB_OK;
    free(real);
    return status;
}

/* The entry table checks, in the order that keeps each read safe: the
 * first two members are the same in every ABI, so the version is read
 * first and the size is trusted only for a known major. */
static ftsb_status check_entry(const char *path, const ftsb_entry *e,
                               struct err *err)
{
    char sig[40];
    unsigned major, minor;

    if (!e)
        return err_set(err, FTSB_E_ABI,
                       "plugin '%s' returned no entry table from '%s'; fix "
                       "the plugin", path, FTSB_ENTRY_SYMBOL);
    major = FTSB_ABI_VERSION_MAJOR(e->abi_version);
    minor = FTSB_ABI_VERSION_MINOR(e->abi_version);
    if (major != FTSB_ABI_MAJOR)
        return err_set(err, FTSB_E_ABI,
                       "plugin '%s' was built for ABI %u.%u, this ftsb "
                       "supports ABI %d.x; rebuild it against this SDK",
                       path, major, minor, FTSB_ABI_MAJOR);
    if (minor > FTSB_ABI_MINOR)
        return err_set(err, FTSB_E_ABI,
                       "plugin '%s' needs ABI %u.%u, this ftsb provides "
                       "%d.%d; upgrade ftsb or rebuild the plugin against "
                       "the older SDK", path, major, minor, FTSB_ABI_MAJOR,
                       FTSB_ABI_MINOR);
    if (e->struct_size < entry_min)
        return err_set(err, FTSB_E_ABI,
                       "plugin '%s' has an entry table of %lu bytes, ABI "
                       "%u.0 needs at least %zu; rebuild it against this "
                       "SDK (set struct_size with sizeof)", path,
                       (unsigned long)e->struct_size, major, entry_min);
    if (!e->build_signature ||
        strcmp(e->build_signature, FTSB_BUILD_SIGNATURE) != 0)
        return err_set(err, FTSB_E_ABI,
                       "plugin '%s' has build signature '%s', this ftsb "
                       "has '%s' (pointer and size_t widths differ); "
                       "rebuild it for this platform", path,
                       shown(e->build_signature, sig, sizeof sig),
                       FTSB_BUILD_SIGNATURE);
    if (!e->init || !e->plugin_count || !e->plugin_get)
        return err_set(err, FTSB_E_ABI,
                       "plugin '%s' has no %s() in its entry table; fix the "
                       "plugin", path,
                       !e->init ? "init" :
                       !e->plugin_count ? "plugin_count" : "plugin_get");
    return FTSB_OK;
}

static ftsb_status check_config_keys(const char *label, const char *path,
                                     const ftsb_plugin_desc *d,
                                     struct err *err)
{
    char name[72];

    if (d->n_config_keys == 0)
        return FTSB_OK;
    if (!d->config_keys || d->n_config_keys > CONFIG_KEYS_MAX)
        return err_set(err, FTSB_E_ABI,
                       "plugin '%s' in '%s' declares %lu config keys %s; "
                       "fix the plugin", label, path,
                       (unsigned long)d->n_config_keys,
                       d->config_keys ? "(too many)" : "but no table");
    for (uint32_t i = 0; i < d->n_config_keys; i++) {
        const ftsb_config_key *k = &d->config_keys[i];

        if (!k->name || !k->name[0])
            return err_set(err, FTSB_E_ABI,
                           "plugin '%s' in '%s' has config key %lu without "
                           "a name; fix the plugin", label, path,
                           (unsigned long)i);
        if (k->type < FTSB_CFG_STRING || k->type > FTSB_CFG_STRINGS)
            return err_set(err, FTSB_E_ABI,
                           "plugin '%s' in '%s' has config key '%s' of "
                           "unknown type %ld; fix the plugin", label, path,
                           shown(k->name, name, sizeof name), (long)k->type);
    }
    return FTSB_OK;
}

/* One descriptor against the rules of sdk/ABI.md. */
static ftsb_status check_desc(const char *path, uint32_t index,
                              const ftsb_plugin_desc *d, struct err *err)
{
    const struct kind_info *k;
    char id[ID_MAX + 8], label[ID_MAX + 16];
    uint32_t iface_size;

    if (!d)
        return err_set(err, FTSB_E_ABI,
                       "plugin '%s' returned no descriptor for index %lu; "
                       "fix the plugin", path, (unsigned long)index);
    if (d->struct_size < desc_min)
        return err_set(err, FTSB_E_ABI,
                       "plugin '%s' has a descriptor of %lu bytes (index "
                       "%lu), ABI 1.0 needs at least %zu; rebuild it "
                       "against this SDK", path,
                       (unsigned long)d->struct_size, (unsigned long)index,
                       desc_min);
    if (!d->id || !id_valid(d->id))
        return err_set(err, FTSB_E_ABI,
                       "plugin '%s' has an invalid plugin id '%s' (index "
                       "%lu): use 1 to %u of a-z, 0-9, '_', '.' and '-'; "
                       "fix the plugin", path, shown(d->id, id, sizeof id),
                       (unsigned long)index, ID_MAX);
    k = kind_info(d->kind);
    if (!k)
        return err_set(err, FTSB_E_ABI,
                       "plugin '%s' has plugin '%s' of unknown kind %ld "
                       "(this ftsb knows 1 backend, 2 attack, 3 judge, 4 "
                       "metric); fix the plugin", path, d->id, (long)d->kind);
    snprintf(label, sizeof label, "%s/%s", k->name, d->id);
    if (!d->version || !d->version[0])
        return err_set(err, FTSB_E_ABI,
                       "plugin '%s' in '%s' has no version string (it is "
                       "recorded with every result); fix the plugin",
                       label, path);
    if (!d->iface)
        return err_set(err, FTSB_E_ABI,
                       "plugin '%s' in '%s' has no interface table; fix the "
                       "plugin", label, path);
    memcpy(&iface_size, d->iface, sizeof iface_size);
    if (iface_size < k->iface_min)
        return err_set(err, FTSB_E_ABI,
                       "plugin '%s' in '%s' has an interface table of %lu "
                       "bytes, ABI 1.0 needs at least %zu for a %s; rebuild "
                       "it against this SDK", label, path,
                       (unsigned long)iface_size, k->iface_min, k->name);
    for (const struct method *m = k->methods; m->name; m++)
        if (!member_set(d->iface, m->offset))
            return err_set(err, FTSB_E_ABI,
                           "plugin '%s' in '%s' lacks the mandatory method "
                           "%s(); fix the plugin", label, path, m->name);
    return check_config_keys(label, path, d, err);
}

static const struct loaded_plugin *find_plugin(const struct loader *l,
                                               int32_t kind, const char *id)
{
    for (size_t i = 0; i < l->n_plugins; i++) {
        const ftsb_plugin_desc *d = l->plugins[i]->desc;
        if (d->kind == kind && strcmp(d->id, id) == 0)
            return l->plugins[i];
    }
    return NULL;
}

/* Checks every descriptor of an initialised library, and that no (kind,
 * id) repeats inside it or clashes with a plugin already loaded. */
static ftsb_status check_descs(const struct loader *l, const char *path,
                               const ftsb_entry *e,
                               const ftsb_plugin_desc **descs, uint32_t n,
                               struct err *err)
{
    for (uint32_t i = 0; i < n; i++) {
        const ftsb_plugin_desc *d = e->plugin_get(i);
        const struct loaded_plugin *other;
        ftsb_status st = check_desc(path, i, d, err);

        if (st)
            return st;
        for (uint32_t j = 0; j < i; j++)
            if (descs[j]->kind == d->kind && strcmp(descs[j]->id, d->id) == 0)
                return err_set(err, FTSB_E_ABI,
                               "plugin '%s/%s' is declared twice in '%s'; "
                               "fix the plugin", loader_kind_name(d->kind),
                               d->id, path);
        other = find_plugin(l, d->kind, d->id);
        if (other)
            return err_set(err, FTSB_E_INVALID,
                           "plugin '%s/%s' in '%s' duplicates the one in "
                           "'%s'; remove one of them from the plugin path",
                           loader_kind_name(d->kind), d->id, path,
                           other->path);
        descs[i] = d;
    }
    return FTSB_OK;
}

/* Adds an accepted library and its plugins, all or nothing. */
static ftsb_status commit(struct loader *l, const char *path, void *handle,
                          const struct stat *st, const ftsb_entry *e,
                          const ftsb_plugin_desc **descs, uint32_t n,
                          struct err *err)
{
    struct loaded_plugin **fresh = NULL;
    char *copy = NULL;
    uint32_t made = 0;

    if (l->n_libs == l->cap_libs) {
        size_t cap = l->cap_libs ? 2 * l->cap_libs : 8;
        struct lib *p = realloc(l->libs, cap * sizeof *p);
        if (!p)
            goto nomem;
        l->libs = p;
        l->cap_libs = cap;
    }
    if (l->n_plugins + n > l->cap_plugins) {
        size_t cap = l->cap_plugins ? 2 * l->cap_plugins : 16;
        struct loaded_plugin **p;
        while (cap < l->n_plugins + n)
            cap *= 2;
        p = realloc(l->plugins, cap * sizeof *p);
        if (!p)
            goto nomem;
        l->plugins = p;
        l->cap_plugins = cap;
    }
    copy = xstrdup_or_null(path);
    fresh = calloc(n, sizeof *fresh);
    if (!copy || !fresh)
        goto nomem;
    for (; made < n; made++) {
        fresh[made] = malloc(sizeof **fresh);
        if (!fresh[made])
            goto nomem;
        fresh[made]->desc = descs[made];
        fresh[made]->path = copy;
        fresh[made]->abi_version = e->abi_version;
    }

    l->libs[l->n_libs++] = (struct lib){ .handle = handle, .path = copy,
                                         .dev = st->st_dev,
                                         .ino = st->st_ino, .entry = e };
    memcpy(l->plugins + l->n_plugins, fresh, n * sizeof *fresh);
    l->n_plugins += n;
    free(fresh);
    return FTSB_OK;

nomem:
    while (made > 0)
        free(fresh[--made]);
    free(fresh);
    free(copy);
    return err_set(err, FTSB_E_NOMEM, "out of memory loading plugin '%s'",
                   path);
}

/* ------------------------------------------------------------------ */
/* the public functions                                                */

ftsb_status loader_new(const ftsb_host *host, loader_warn_fn warn_fn,
                       void *ud, struct loader **out)
{
    struct loader *l;

    *out = NULL;
    if (!host)
        return FTSB_E_INVALID;
    l = calloc(1, sizeof *l);
    if (!l)
        return FTSB_E_NOMEM;
    l->host = host;
    l->warn = warn_fn;
    l->ud = ud;
    *out = l;
    return FTSB_OK;
}

ftsb_status loader_load_file(struct loader *l, const char *path,
                             struct err *err)
{
    const ftsb_plugin_desc **descs = NULL;
    const ftsb_entry *e = NULL;
    ftsb_entry_fn entry_fn;
    struct stat st;
    ftsb_status status;
    void *handle, *sym;
    uint32_t n;
    int inited = 0;

    if (!path || !path[0])
        return err_set(err, FTSB_E_INVALID, "empty plugin path");
    status = check_file(path, &st, err);
    if (status)
        return status;
    for (size_t i = 0; i < l->n_libs; i++)
        if (l->libs[i].dev == st.st_dev && l->libs[i].ino == st.st_ino)
            return FTSB_OK;

    dlerror();
    handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle)
        return dlopen_refusal(path, dlerror(), err);

    sym = dlsym(handle, FTSB_ENTRY_SYMBOL);
    if (!sym) {
        status = err_set(err, FTSB_E_ABI,
                         "plugin '%s' has no entry point '%s'; was it built "
                         "with the ftsb SDK?", path, FTSB_ENTRY_SYMBOL);
        goto refuse;
    }
    /* ISO C has no cast from object to function pointer; POSIX
     * guarantees the representations agree, and memcpy says so
     * without a warning. */
    memcpy(&entry_fn, &sym, sizeof entry_fn);
    e = entry_fn();
    status = check_entry(path, e, err);
    if (status)
        goto refuse;

    status = e->init(l->host);
    if (status) {
        /* A failed init is told to call nothing else (sdk/entry.h). */
        err_set(err, status,
                "plugin '%s' failed to initialise (status %ld: %s)", path,
                (long)status, ftsb_status_str(status));
        goto refuse;
    }
    inited = 1;

    n = e->plugin_count();
    if (n == 0 || n > LIB_PLUGINS_MAX) {
        status = n == 0 ?
            err_set(err, FTSB_E_ABI,
                    "plugin '%s' holds no plugins (plugin_count() is 0); "
                    "remove it from the plugin path", path) :
            err_set(err, FTSB_E_ABI,
                    "plugin '%s' claims %lu plugins, more than the %u a "
                    "library may hold; fix the plugin", path,
                    (unsigned long)n, LIB_PLUGINS_MAX);
        goto refuse;
    }
    descs = calloc(n, sizeof *descs);
    if (!descs) {
        status = err_set(err, FTSB_E_NOMEM,
                         "out of memory loading plugin '%s'", path);
        goto refuse;
    }
    status = check_descs(l, path, e, descs, n, err);
    if (!status)
        status = commit(l, path, handle, &st, e, descs, n, err);
    free(descs);
    if (status)
        goto refuse;
    return FTSB_OK;

refuse:
    if (inited && e->deinit)
        e->deinit();
    dlclose(handle);
    return status;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_plugin_name(const char *name)
{
    size_t n = strlen(name);

    return name[0] != '.' && n > 3 && strcmp(name + n - 3, ".so") == 0;
}

/* The sorted "*.so" names of dir, into *names (each malloc'd). */
static ftsb_status list_dir(const char *dir, char ***names, size_t *count,
                            struct err *err)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    DIR *d = opendir(dir);

    *names = NULL;
    *count = 0;
    if (!d)
        return err_set(err, errno == ENOENT ? FTSB_E_NOT_FOUND : FTSB_E_IO,
                       "cannot open plugin directory '%s': %s", dir,
                       strerror(errno));
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (!de)
            break;
        if (!is_plugin_name(de->d_name))
            continue;
        if (n == cap) {
            size_t c = cap ? 2 * cap : 16;
            char **p = realloc(v, c * sizeof *p);
            if (!p)
                goto nomem;
            v = p;
            cap = c;
        }
        v[n] = xstrdup_or_null(de->d_name);
        if (!v[n])
            goto nomem;
        n++;
    }
    if (errno) {
        int e = errno;
        closedir(d);
        while (n > 0)
            free(v[--n]);
        free(v);
        return err_set(err, FTSB_E_IO, "cannot read plugin directory '%s': "
                       "%s", dir, strerror(e));
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof *v, cmp_names);
    *names = v;
    *count = n;
    return FTSB_OK;

nomem:
    closedir(d);
    while (n > 0)
        free(v[--n]);
    free(v);
    return err_set(err, FTSB_E_NOMEM, "out of memory listing '%s'", dir);
}

ftsb_status loader_load_dir(struct loader *l, const char *dir,
                            struct err *err)
{
    struct strbuf path = STRBUF_INIT;
    struct err why;
    ftsb_status status = FTSB_OK;
    char **names;
    size_t n, dir_len;

    if (!dir || dir[0] != '/')
        return err_set(err, FTSB_E_INVALID,
                       "plugin directory '%s' is not an absolute path",
                       dir ? dir : "(null)");
    status = list_dir(dir, &names, &n, err);
    if (status)
        return status;
    dir_len = strlen(dir);
    while (dir_len > 1 && dir[dir_len - 1] == '/')
        dir_len--;
    for (size_t i = 0; i < n; i++) {
        strbuf_reset(&path);
        if (strbuf_add(&path, dir, dir_len) ||
            (dir_len > 1 && strbuf_addch(&path, '/')) ||
            strbuf_addstr(&path, names[i])) {
            status = err_set(err, FTSB_E_NOMEM, "out of memory loading "
                             "plugins from '%s'", dir);
            break;
        }
        err_clear(&why);
        if (loader_load_file(l, path.buf, &why))
            warn(l, why.msg);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    strbuf_release(&path);
    return status;
}

/* An empty or relative element of LD_LIBRARY_PATH makes the dynamic
 * linker look in the current directory for the libraries a plugin
 * needs: the same planting risk as a relative plugin path. */
static void check_ld_library_path(struct loader *l)
{
    const char *v = getenv("LD_LIBRARY_PATH");
    char msg[512];
    int bad = 0;

    if (l->ld_path_checked)
        return;
    l->ld_path_checked = 1;
    if (!v || !v[0])
        return;
    for (const char *p = v;;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 || p[0] != '/')
            bad = 1;
        if (!end)
            break;
        p = end + 1;
    }
    if (bad) {
        snprintf(msg, sizeof msg,
                 "LD_LIBRARY_PATH '%s' has an empty or relative element, so "
                 "the libraries plugins need are also searched for in the "
                 "current directory; remove that element", v);
        warn(l, msg);
    }
}

ftsb_status loader_load_search_path(struct loader *l, const char *path_list,
                                    struct err *err)
{
    struct strbuf elem = STRBUF_INIT, msg = STRBUF_INIT;
    struct err why;
    struct stat st;
    ftsb_status status = FTSB_OK;

    check_ld_library_path(l);
    if (!path_list)
        return FTSB_OK;
    for (const char *p = path_list;; ) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        strbuf_reset(&elem);
        strbuf_reset(&msg);
        if (strbuf_add(&elem, p, len)) {
            status = err_set(err, FTSB_E_NOMEM, "out of memory");
            break;
        }
        if (len == 0) {
            /* an empty element never means "." */
        } else if (elem.buf[0] != '/') {
            if (strbuf_addf(&msg, "ignoring relative plugin path element "
                            "'%s': only absolute paths are searched, so that "
                            "the current directory never decides which code "
                            "runs", elem.buf) == FTSB_OK)
                warn(l, msg.buf);
        } else if (stat(elem.buf, &st) != 0) {
            if (strbuf_addf(&msg, "ignoring plugin path element '%s': %s",
                            elem.buf, strerror(errno)) == FTSB_OK)
                warn(l, msg.buf);
        } else if (S_ISDIR(st.st_mode)) {
            err_clear(&why);
            status = loader_load_dir(l, elem.buf, &why);
            if (status == FTSB_E_NOMEM) {
                err_set(err, status, "%s", why.msg);
                break;
            }
            if (status)
                warn(l, why.msg);
            status = FTSB_OK;
        } else {
            err_clear(&why);
            if (loader_load_file(l, elem.buf, &why))
                warn(l, why.msg);
        }
        if (!end)
            break;
        p = end + 1;
    }
    strbuf_release(&elem);
    strbuf_release(&msg);
    return status;
}

/* Appends the non-empty elements of list to out, ':'-separated. */
static ftsb_status add_elements(struct strbuf *out, const char *list)
{
    if (!list)
        return FTSB_OK;
    for (const char *p = list;;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (len) {
            if (out->len && strbuf_addch(out, ':'))
                return FTSB_E_NOMEM;
            if (strbuf_add(out, p, len))
                return FTSB_E_NOMEM;
        }
        if (!end)
            return FTSB_OK;
        p = end + 1;
    }
}

static int is_dir(const char *path)
{
    struct stat st;

    return path[0] && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

#ifndef FTSB_PLUGIN_BUILD_DIR
#define FTSB_PLUGIN_BUILD_DIR ""
#endif
#ifndef FTSB_PLUGIN_INSTALL_DIR
#define FTSB_PLUGIN_INSTALL_DIR ""
#endif

#ifndef FTSB_BUILD_ROOT
#define FTSB_BUILD_ROOT ""
#endif

/* Non-zero when the running program lives in the build tree: it then uses
 * the plugins built beside it, and an installed copy of the same program
 * uses the installed ones, never the build tree's. */
static int running_from_build_tree(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    size_t root = strlen(FTSB_BUILD_ROOT);

    if (n <= 0 || root == 0)
        return 0;
    exe[n] = '\0';
    return strncmp(exe, FTSB_BUILD_ROOT, root) == 0 && exe[root] == '/';
}

ftsb_status loader_default_path(const char *cli_path, struct strbuf *out)
{
    struct strbuf path = STRBUF_INIT;
    ftsb_status status = FTSB_E_NOMEM;
    const char *dir = running_from_build_tree() ? FTSB_PLUGIN_BUILD_DIR
                                                : FTSB_PLUGIN_INSTALL_DIR;

    if (add_elements(&path, cli_path) ||
        add_elements(&path, getenv("FTSB_PLUGIN_PATH")))
        goto done;
    if (is_dir(dir) && add_elements(&path, dir))
        goto done;
    /* out may already hold a list: extend it, all or nothing. */
    if (path.len && out->len && strbuf_grow(out, path.len + 1))
        goto done;
    if (path.len && out->len)
        strbuf_addch(out, ':');
    if (strbuf_add(out, path.buf, path.len))
        goto done;
    status = FTSB_OK;
done:
    strbuf_release(&path);
    return status;
}

const struct loaded_plugin *loader_find(const struct loader *l, int32_t kind,
                                        const char *id)
{
    if (!l || !id)
        return NULL;
    return find_plugin(l, kind, id);
}

size_t loader_count(const struct loader *l)
{
    return l ? l->n_plugins : 0;
}

const struct loaded_plugin *loader_get(const struct loader *l, size_t i)
{
    return l && i < l->n_plugins ? l->plugins[i] : NULL;
}

void loader_free(struct loader *l)
{
    if (!l)
        return;
    /* Newest first: a library loaded later may use an earlier one's
     * plugins through the host, never the reverse. */
    for (size_t i = l->n_libs; i-- > 0;) {
        struct lib *lib = &l->libs[i];
        if (lib->entry->deinit)
            lib->entry->deinit();
        dlclose(lib->handle);
        free(lib->path);
    }
    for (size_t i = 0; i < l->n_plugins; i++)
        free(l->plugins[i]);
    free(l->plugins);
    free(l->libs);
    free(l);
}
