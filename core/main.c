/*
 * main.c - the `ftsb` command line.
 *
 *   ftsb [options] run SCRIPT.lua [ARGS...]   run an experiment
 *   ftsb [options] plugins [--help ID]        list plugins, or one's options
 *   ftsb [options] runs                       list the runs in the store
 *   ftsb [options] merge DEST.db SHARD.db...  join shard stores
 *
 * Options come before the command; everything after the script belongs to
 * the script.  Exit status: 0 success, 1 failure, 2 usage error, 130
 * interrupted.
 */
#include "ftsb_setup.h"

#include <signal.h>

#include "cli/cli.h"
#include "lua/runner.h"
#include "plugin/host.h"
#include "plugin/instance.h"
#include "plugin/loader.h"
#include "plugin/session.h"
#include "store/store.h"
#include "util/blas.h"
#include "util/pool.h"
#include "util/log.h"

static const char usage[] =
    "usage: ftsb [options] <command> [args]\n"
    "\n"
    "ftsb measures how fine-tuning erodes the safety of aligned language\n"
    "models: experiments are Lua scripts that wire plugins (backends,\n"
    "attacks, judges, metrics) together.\n"
    "\n"
    "commands:\n"
    "  run SCRIPT.lua [ARGS...]   run an experiment script\n"
    "  plugins                    list the plugins found on the plugin path\n"
    "  plugins --help ID          show a plugin's options (ID or KIND/ID)\n"
    "  runs                       list the runs in the store\n"
    "  merge DEST.db SHARD.db...  merge shard stores into DEST.db\n"
    "  model-info FILE.gguf       describe a GGUF model file (--help)\n"
    "  make-model OUT.gguf ...    write a random-weight Llama model (--help)\n"
    "  make-vocab OUT.gguf ...    train a vocabulary on text (--help)\n"
    "  version                    print the version\n"
    "\n"
    "options:\n"
    "  --store FILE         the run store (default results/ftsb.db)\n"
    "  --plugin-path PATH   ':'-separated folders or .so files searched\n"
    "                       before $FTSB_PLUGIN_PATH and the default folders\n"
    "  --shard I/N          evaluate only the I-th of N slices of every\n"
    "                       benchmark (1 <= I <= N), e.g. from a Slurm array\n"
    "  --threads N          BLAS threads (default: all cores)\n"
    "  -v, --verbose        more log output (repeatable)\n"
    "  -q, --quiet          errors only\n"
    "  -h, --help           this text\n"
    "\n"
    "environment: FTSB_PLUGIN_PATH (plugin folders), FTSB_PROGRESS=0|1\n"
    "(no progress lines | plain progress lines).\n";

struct options {
    const char *store;
    const char *plugin_path;
    const char *shard;
    int threads;
    int verbosity;
};

static int usage_error(const char *fmt, ...) FTSB_PRINTF(1, 2);
static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "ftsb: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see `ftsb --help`)\n");
    return 2;
}

static int parse_shard(const char *text, struct session *s)
{
    unsigned i, n;
    char tail;

    if (sscanf(text, "%u/%u%c", &i, &n, &tail) != 2 || n < 1 || i < 1 ||
        i > n || n > 1000000)
        return -1;
    s->shard_index = i - 1;
    s->shard_count = n;
    return 0;
}

static int parse_threads(const char *text)
{
    char *end;
    long n = strtol(text, &end, 10);

    return *end == '\0' && n > 0 && n <= 1024 ? (int)n : -1;
}

static void warn_plugin(void *ud, const char *msg)
{
    (void)ud;
    log_msg(FTSB_LOG_WARN, NULL, "%s", msg);
}

static int load_plugins(struct session *s, const struct options *o)
{
    struct strbuf path = STRBUF_INIT;
    struct err err;

    err_clear(&err);
    if (loader_new(host_get(), warn_plugin, NULL, &s->loader) ||
        loader_default_path(o->plugin_path, &path) ||
        loader_load_search_path(s->loader, path.buf, &err)) {
        log_msg(FTSB_LOG_ERROR, NULL, "%s",
                err.msg[0] ? err.msg : "cannot set up the plugin loader");
        strbuf_release(&path);
        return -1;
    }
    log_msg(FTSB_LOG_DEBUG, NULL, "plugin path: %s", path.buf);
    strbuf_release(&path);
    return 0;
}

static const char *type_label(int32_t type)
{
    switch (type) {
    case FTSB_CFG_STRING: return "string";
    case FTSB_CFG_INT: return "integer";
    case FTSB_CFG_NUMBER: return "number";
    case FTSB_CFG_BOOL: return "boolean";
    case FTSB_CFG_JSON: return "JSON";
    case FTSB_CFG_BACKEND: return "backend";
    case FTSB_CFG_DATASET: return "dataset";
    case FTSB_CFG_STRINGS: return "strings";
    }
    return "?";
}

static int cmd_plugin_help(struct session *s, const char *name)
{
    const char *slash = strchr(name, '/');
    int shown = 0;

    for (size_t i = 0; i < loader_count(s->loader); i++) {
        const ftsb_plugin_desc *d = loader_get(s->loader, i)->desc;
        const char *kind = instance_kind_name(d->kind);

        if (slash ? (strncmp(name, kind, (size_t)(slash - name)) != 0 ||
                     kind[slash - name] != '\0' ||
                     strcmp(slash + 1, d->id) != 0)
                  : strcmp(name, d->id) != 0)
            continue;
        printf("%s %s %s - %s\n  %s\n  file: %s\n", kind, d->id, d->version,
               d->name, d->description, loader_get(s->loader, i)->path);
        printf("  options:%s\n", d->n_config_keys ? "" : " none");
        for (uint32_t k = 0; k < d->n_config_keys; k++) {
            const ftsb_config_key *key = &d->config_keys[k];

            printf("    %-22s %-8s %s%s%s%s\n", key->name,
                   type_label(key->type), key->help ? key->help : "",
                   key->required ? " (required)" : "",
                   key->def ? "; default " : "", key->def ? key->def : "");
        }
        shown++;
    }
    if (!shown) {
        fprintf(stderr, "ftsb: no plugin '%s' on the plugin path; `ftsb "
                        "plugins` lists them\n", name);
        return 1;
    }
    return 0;
}

static int cmd_plugins(struct session *s, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[0], "--help") == 0)
        return cmd_plugin_help(s, argv[1]);
    if (argc > 0)
        return usage_error("plugins: unexpected argument '%s'", argv[0]);
    if (loader_count(s->loader) == 0) {
        printf("no plugins found; set FTSB_PLUGIN_PATH or --plugin-path\n");
        return 0;
    }
    printf("%-8s %-18s %-8s %-5s %s\n", "KIND", "ID", "VERSION", "ABI",
           "DESCRIPTION / FILE");
    for (size_t i = 0; i < loader_count(s->loader); i++) {
        const struct loaded_plugin *p = loader_get(s->loader, i);

        printf("%-8s %-18s %-8s %u.%u   %s\n%45s%s\n",
               instance_kind_name(p->desc->kind), p->desc->id,
               p->desc->version, FTSB_ABI_VERSION_MAJOR(p->abi_version),
               FTSB_ABI_VERSION_MINOR(p->abi_version), p->desc->description,
               "", p->path);
    }
    return 0;
}

static ftsb_status print_run(void *ud, const struct store_run_info *r,
                             struct err *err)
{
    (void)ud;
    (void)err;
    printf("%-24s %-8s %7lld  %-24s %s\n", r->name,
           r->shard && *r->shard ? r->shard : "all", (long long)r->n_records,
           r->created, r->finished ? "complete" : "incomplete");
    return FTSB_OK;
}

static int cmd_runs(struct session *s)
{
    struct store *store;
    struct err err;

    err_clear(&err);
    if (session_store(s, &store, &err) ||
        (printf("%-24s %-8s %7s  %-24s %s\n", "RUN", "SHARD", "RECORDS",
                "CREATED", "STATE"),
         store_runs_list(store, print_run, NULL, &err))) {
        log_msg(FTSB_LOG_ERROR, NULL, "%s", err.msg);
        return 1;
    }
    return 0;
}

static int cmd_merge(int argc, char **argv)
{
    struct store *dst;
    struct err err;

    if (argc < 2)
        return usage_error("%s", "merge: usage: ftsb merge DEST.db "
                                 "SHARD.db...");
    err_clear(&err);
    if (store_open(argv[0], &dst, &err)) {
        log_msg(FTSB_LOG_ERROR, NULL, "%s", err.msg);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        if (store_merge(dst, argv[i], &err)) {
            log_msg(FTSB_LOG_ERROR, NULL, "%s", err.msg);
            store_close(dst);
            return 1;
        }
        log_msg(FTSB_LOG_INFO, NULL, "merged '%s' into '%s'", argv[i],
                argv[0]);
    }
    store_close(dst);
    return 0;
}

static int cmd_run(struct session *s, int argc, char **argv)
{
    struct err err;
    ftsb_status st;

    if (argc < 1)
        return usage_error("%s", "run: which script? usage: ftsb run "
                                 "SCRIPT.lua [ARGS...]");
    err_clear(&err);
    st = lua_run_script(s, argv[0], argc - 1, argv + 1, &err);
    if (st == FTSB_OK)
        return 0;
    log_msg(FTSB_LOG_ERROR, NULL, "%s", err.msg);
    return st == FTSB_E_CANCELLED ? 130 : 1;
}

/* Returns the index of the command in argv, or -1 after a usage error. */
static int parse_options(int argc, char **argv, struct options *o,
                         struct session *s, int *status)
{
    int i;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            *status = 0;
            return -1;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            o->verbosity++;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o->verbosity = -1;
        } else if (!strcmp(a, "--store") || !strcmp(a, "--plugin-path") ||
                   !strcmp(a, "--shard") || !strcmp(a, "--threads")) {
            if (!next) {
                *status = usage_error("option '%s' needs a value", a);
                return -1;
            }
            i++;
            if (!strcmp(a, "--store"))
                o->store = next;
            else if (!strcmp(a, "--plugin-path"))
                o->plugin_path = next;
            else if (!strcmp(a, "--threads"))
                o->threads = parse_threads(next);
            else if (parse_shard(next, s) != 0) {
                *status = usage_error("--shard '%s': expected I/N with "
                                      "1 <= I <= N", next);
                return -1;
            }
            if (o->threads < 0) {
                *status = usage_error("--threads '%s': expected a positive "
                                      "number", next);
                return -1;
            }
        } else {
            *status = usage_error("unknown option '%s'", a);
            return -1;
        }
    }
    if (i >= argc) {
        fputs(usage, stderr);
        *status = 2;
        return -1;
    }
    return i;
}

int main(int argc, char **argv)
{
    static volatile sig_atomic_t cancel;
    struct options o = {0};
    struct session s = {0};
    const char *cmd;
    int status = 0, i;

    blas_ensure_fast_kernels(argv);
    s.shard_count = 1;
    s.cancel = &cancel;
    i = parse_options(argc, argv, &o, &s, &status);
    if (i < 0)
        return status;
    log_set_level(o.verbosity < 0 ? FTSB_LOG_ERROR
                                  : FTSB_LOG_INFO + o.verbosity);
    /* One BLAS thread pool, sized once, before any work (DESIGN.md), and
     * the host's own pool for plugins, of the same size: the two are
     * never busy at once (util/pool.h). */
    blas_set_threads(o.threads);
    pool_start(blas_threads());
    log_msg(FTSB_LOG_DEBUG, NULL, "BLAS kernels: %s", blas_core_name());
    s.store_path = (char *)o.store;
    cmd = argv[i];
    if (!strcmp(cmd, "version")) {
        printf("ftsb %s (plugin ABI %d.%d)\n", FTSB_VERSION, FTSB_ABI_MAJOR,
               FTSB_ABI_MINOR);
        return 0;
    }
    if (!strcmp(cmd, "merge"))
        return cmd_merge(argc - i - 1, argv + i + 1);
    if (!strcmp(cmd, "model-info"))
        return cli_model_info(argc - i - 1, argv + i + 1);
    if (!strcmp(cmd, "make-model"))
        return cli_make_model(argc - i - 1, argv + i + 1);
    if (!strcmp(cmd, "make-vocab"))
        return cli_make_vocab(argc - i - 1, argv + i + 1);
    if (strcmp(cmd, "run") && strcmp(cmd, "plugins") && strcmp(cmd, "runs"))
        return usage_error("unknown command '%s'", cmd);
    if (load_plugins(&s, &o) != 0)
        return 1;
    if (!strcmp(cmd, "run"))
        status = cmd_run(&s, argc - i - 1, argv + i + 1);
    else if (!strcmp(cmd, "plugins"))
        status = cmd_plugins(&s, argc - i - 1, argv + i + 1);
    else
        status = cmd_runs(&s);
    if (s.store)
        store_close(s.store);
    loader_free(s.loader);
    return status;
}
