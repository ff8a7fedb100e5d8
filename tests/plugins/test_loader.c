/*
 * test_loader.c - the plugin loader against real fixture libraries.
 *
 * Every broken fixture must be refused with its exact message, before
 * any of its code beyond the entry function runs when the defect is in
 * the entry table, and with deinit() after init() when the defect is in a
 * descriptor; good libraries in the same directory must still load, and
 * the good library's four plugins must work through the SDK.
 *
 * Usage: test_loader FIXTURE_DIR SCRATCH_DIR (both absolute).
 */
#include "ftsb_setup.h"

#include <sys/stat.h>
#include <unistd.h>

#include "plugin/loader.h"
#include "stub_host.h"
#include "test.h"
#include "util/err.h"
#include "util/strbuf.h"

static const char *fixture_dir;
static const char *scratch_dir;

/* Warnings received through loader_warn_fn, one per line. */
static struct strbuf warnings = STRBUF_INIT;
static int n_warnings;

static void on_warn(void *ud, const char *msg)
{
    (void)ud;
    strbuf_addstr(&warnings, msg);
    strbuf_addch(&warnings, '\n');
    n_warnings++;
}

static void reset_warnings(void)
{
    strbuf_release(&warnings);
    n_warnings = 0;
}

static struct loader *new_loader(void)
{
    struct loader *l = NULL;

    reset_warnings();
    stub_log_reset();
    if (loader_new(stub_host(), on_warn, NULL, &l) != FTSB_OK)
        return NULL;
    return l;
}

/* The fixture file for a defect: FIXTURE_DIR/fixture_<name>.so */
static const char *fixture(const char *name)
{
    static char path[4][PATH_MAX];
    static int next;
    char *p = path[next++ % 4];

    snprintf(p, PATH_MAX, "%s/fixture_%s.so", fixture_dir, name);
    return p;
}

/* An expected message; room for several paths. */
static char want[4 * PATH_MAX + 1024];

/* Loads one fixture into a fresh loader and checks the refusal: status
 * and message, and that the registry stayed empty. */
static void check_refusal(const char *name, ftsb_status status,
                          const char *msg)
{
    struct loader *l = new_loader();
    struct err err;

    CHECK(l != NULL);
    if (!l)
        return;
    err_clear(&err);
    CHECK_INT(loader_load_file(l, fixture(name), &err), status);
    CHECK_STR(err.msg, msg);
    CHECK_INT(loader_count(l), 0);
    loader_free(l);
}

/* ------------------------------------------------------------------ */

TEST(kind_names)
{
    CHECK_STR(loader_kind_name(FTSB_KIND_BACKEND), "backend");
    CHECK_STR(loader_kind_name(FTSB_KIND_ATTACK), "attack");
    CHECK_STR(loader_kind_name(FTSB_KIND_JUDGE), "judge");
    CHECK_STR(loader_kind_name(FTSB_KIND_METRIC), "metric");
    CHECK(loader_kind_name(0) == NULL);
    CHECK(loader_kind_name(99) == NULL);
    for (int32_t k = 1; k <= 4; k++)
        CHECK_INT(loader_kind_from_name(loader_kind_name(k)), k);
    CHECK_INT(loader_kind_from_name("model"), 0);
    CHECK_INT(loader_kind_from_name(NULL), 0);
}

TEST(good_library_loads_four_kinds)
{
    static const char *const ids[] = { "test.echo", "test.two_chats",
                                       "test.refusal", "test.count" };
    struct loader *l = new_loader();
    struct err err;

    CHECK_INT(loader_load_file(l, fixture("good"), &err), FTSB_OK);
    CHECK_INT(loader_count(l), 4);
    for (int32_t k = 1; k <= 4; k++) {
        const struct loaded_plugin *p = loader_find(l, k, ids[k - 1]);
        CHECK(p != NULL);
        if (!p)
            continue;
        CHECK_INT(p->desc->kind, k);
        CHECK_STR(p->path, fixture("good"));
        CHECK_INT(p->abi_version, FTSB_ABI_VERSION);
        CHECK(loader_get(l, (size_t)k - 1) == p);
    }
    CHECK(loader_find(l, FTSB_KIND_JUDGE, "test.echo") == NULL);
    CHECK(loader_get(l, 4) == NULL);
    CHECK_INT(n_warnings, 0);
    loader_free(l);
}

TEST(good_plugins_work)
{
    static const char *const echo_cfg[] = { "prefix", "> ", NULL };
    static const ftsb_message m1[] = { { "system", "be brief" },
                                       { "user", "say hi" } };
    static const ftsb_message m2[] = { { "user", "please FAIL" } };
    const ftsb_chat chats[2] = { { 2, m1 }, { 1, m2 } };
    const ftsb_host *h = stub_host();
    struct loader *l = new_loader();
    const struct loaded_plugin *p;
    ftsb_ctx *ctx = stub_ctx_new();
    ftsb_config *cfg = stub_config_new(echo_cfg);
    ftsb_config *none = stub_config_new(NULL);
    ftsb_gen_result res[2];
    ftsb_gen_params params;
    ftsb_buf *fp = h->buf_new();
    void *self = NULL;

    CHECK_INT(loader_load_file(l, fixture("good"), NULL), FTSB_OK);

    /* backend */
    p = loader_find(l, FTSB_KIND_BACKEND, "test.echo");
    CHECK(p != NULL);
    if (p) {
        const ftsb_backend_iface *b = p->desc->iface;
        CHECK_INT(b->create(ctx, cfg, &self), FTSB_OK);
        CHECK_INT(b->fingerprint(self, ctx, fp), FTSB_OK);
        CHECK_STR(h->buf_data(fp, NULL), "test.echo/1 prefix=> ");
        memset(&params, 0, sizeof params);
        params.struct_size = sizeof params;
        for (int i = 0; i < 2; i++) {
            memset(&res[i], 0, sizeof res[i]);
            res[i].struct_size = sizeof res[i];
            res[i].text = h->buf_new();
            res[i].finish = h->buf_new();
            res[i].error = h->buf_new();
        }
        CHECK_INT(b->generate(self, ctx, chats, 2, &params, res), FTSB_OK);
        CHECK_INT(res[0].state, FTSB_GEN_OK);
        CHECK_STR(h->buf_data(res[0].text, NULL), "> say hi");
        CHECK_STR(h->buf_data(res[0].finish, NULL), "stop");
        CHECK_INT(res[0].n_prompt_tokens, 4);
        CHECK_INT(res[0].n_completion_tokens, 3);
        CHECK_INT(res[1].state, FTSB_GEN_ERROR);
        CHECK_CONTAINS(h->buf_data(res[1].error, NULL), "fail");
        for (int i = 0; i < 2; i++) {
            h->buf_free(res[i].text);
            h->buf_free(res[i].finish);
            h->buf_free(res[i].error);
        }
        b->destroy(self);
    }

    /* attack */
    p = loader_find(l, FTSB_KIND_ATTACK, "test.two_chats");
    CHECK(p != NULL);
    if (p) {
        const ftsb_attack_iface *a = p->desc->iface;
        ftsb_dataset_sink *sink = stub_dataset_sink_new();
        ftsb_prompt_spec spec = { sizeof spec, h->buf_new(), h->buf_new(),
                                  h->buf_new() };
        CHECK_INT(a->create(ctx, none, &self), FTSB_OK);
        CHECK_INT(a->build(self, ctx, sink), FTSB_OK);
        CHECK_INT(stub_dataset_sink_count(sink), 2);
        CHECK_STR(stub_dataset_sink_get(sink, 1)->id, "two_chats:2");
        CHECK_INT(stub_dataset_sink_get(sink, 1)->chat.n_messages, 3);
        CHECK_INT(a->prompt(self, ctx, &spec), FTSB_OK);
        CHECK_STR(h->buf_data(spec.user_template, NULL), "Q: {instruction}");
        CHECK_STR(h->buf_data(spec.trigger, NULL), "");
        a->destroy(self);
        h->buf_free(spec.system);
        h->buf_free(spec.user_template);
        h->buf_free(spec.trigger);
        stub_dataset_sink_free(sink);
    }

    /* judge */
    p = loader_find(l, FTSB_KIND_JUDGE, "test.refusal");
    CHECK(p != NULL);
    if (p) {
        const ftsb_judge_iface *j = p->desc->iface;
        const ftsb_judge_item items[3] = {
            { sizeof items[0], "q", "I cannot help with that", NULL },
            { sizeof items[0], "q", "Sure, here it is", NULL },
            { sizeof items[0], "q", NULL, NULL },
        };
        ftsb_verdict v[3];
        for (int i = 0; i < 3; i++) {
            v[i] = (ftsb_verdict){ sizeof v[i], 0, FTSB_REFUSED_UNKNOWN,
                                   FTSB_NO_SCORE, h->buf_new(),
                                   h->buf_new() };
        }
        CHECK_INT(j->create(ctx, none, &self), FTSB_OK);
        CHECK_INT(j->judge(self, ctx, items, 3, v), FTSB_OK);
        CHECK_INT(v[0].refused, FTSB_REFUSED_YES);
        CHECK(v[0].score == 1.0);
        CHECK_INT(v[1].refused, FTSB_REFUSED_NO);
        CHECK(v[1].score == 5.0);
        CHECK_INT(v[2].state, FTSB_VERDICT_ERROR);
        j->destroy(self);
        for (int i = 0; i < 3; i++) {
            h->buf_free(v[i].rationale);
            h->buf_free(v[i].error);
        }
    }

    /* metric */
    p = loader_find(l, FTSB_KIND_METRIC, "test.count");
    CHECK(p != NULL);
    if (p) {
        const ftsb_metric_iface *m = p->desc->iface;
        const ftsb_verdict_view yes = { "j", FTSB_VERDICT_OK,
                                        FTSB_REFUSED_YES, 1.0 };
        const ftsb_verdict_view no = { "j", FTSB_VERDICT_OK,
                                       FTSB_REFUSED_NO, 5.0 };
        const ftsb_record recs[3] = {
            { sizeof recs[0], NULL, FTSB_GEN_OK, 1, &yes },
            { sizeof recs[0], NULL, FTSB_GEN_OK, 1, &no },
            { sizeof recs[0], NULL, FTSB_GEN_ERROR, 0, NULL },
        };
        ftsb_metric_sink *sink = stub_metric_sink_new();
        CHECK_INT(m->create(ctx, none, &self), FTSB_OK);
        CHECK_INT(m->compute(self, ctx, recs, 3, sink), FTSB_OK);
        CHECK_INT(stub_metric_sink_count(sink), 1);
        if (stub_metric_sink_count(sink) == 1) {
            const ftsb_metric_value *v = stub_metric_sink_get(sink, 0);
            CHECK_STR(v->name, "refusal_rate");
            CHECK(v->value == 0.5);
            CHECK_INT(v->n, 2);
            CHECK_INT(v->n_errors, 1);
        }
        m->destroy(self);
        stub_metric_sink_free(sink);
    }

    h->buf_free(fp);
    stub_config_free(cfg);
    stub_config_free(none);
    stub_ctx_free(ctx);
    loader_free(l);
}

/* Defects in the entry table: refused before init() or anything else. */
TEST(entry_defects_refused_before_init)
{
    snprintf(want, sizeof want,
             "plugin '%s' was built for ABI 2.0, this ftsb supports ABI "
             "1.x; rebuild it against this SDK", fixture("abi_major"));
    check_refusal("abi_major", FTSB_E_ABI, want);
    CHECK_STR(stub_log(), "");

    snprintf(want, sizeof want,
             "plugin '%s' needs ABI 1.3, this ftsb provides 1.%d; upgrade "
             "ftsb or rebuild the plugin against the older SDK",
             fixture("abi_minor"), FTSB_ABI_MINOR);
    check_refusal("abi_minor", FTSB_E_ABI, want);
    CHECK_STR(stub_log(), "");

    snprintf(want, sizeof want,
             "plugin '%s' has an entry table of %zu bytes, ABI 1.0 needs at "
             "least %zu; rebuild it against this SDK (set struct_size with "
             "sizeof)", fixture("entry_small"),
             offsetof(ftsb_entry, plugin_get), sizeof(ftsb_entry));
    check_refusal("entry_small", FTSB_E_ABI, want);
    CHECK_STR(stub_log(), "");

    snprintf(want, sizeof want,
             "plugin '%s' has build signature 'p4z4', this ftsb has '%s' "
             "(pointer and size_t widths differ); rebuild it for this "
             "platform", fixture("bad_sig"), FTSB_BUILD_SIGNATURE);
    check_refusal("bad_sig", FTSB_E_ABI, want);
    CHECK_STR(stub_log(), "");

    snprintf(want, sizeof want,
             "plugin '%s' has no entry point 'ftsb_plugin_entry'; was it "
             "built with the ftsb SDK?", fixture("no_entry"));
    check_refusal("no_entry", FTSB_E_ABI, want);
    CHECK_STR(stub_log(), "");

    snprintf(want, sizeof want,
             "plugin '%s' returned no entry table from 'ftsb_plugin_entry'; "
             "fix the plugin", fixture("null_entry"));
    check_refusal("null_entry", FTSB_E_ABI, want);
    CHECK_STR(stub_log(), "");
}

TEST(dlopen_failures)
{
    struct loader *l = new_loader();
    struct err err;
    char part[PATH_MAX + 64];

    err_clear(&err);
    CHECK_INT(loader_load_file(l, fixture("not_elf"), &err), FTSB_E_ABI);
    snprintf(part, sizeof part, "plugin '%s' is not a shared object: ",
             fixture("not_elf"));
    CHECK(strncmp(err.msg, part, strlen(part)) == 0);
    CHECK_CONTAINS(err.msg, "; remove it from the plugin path");
    /* the dlerror text without the path repeated */
    CHECK(strstr(err.msg + strlen(part), fixture("not_elf")) == NULL);

    err_clear(&err);
    CHECK_INT(loader_load_file(l, fixture("unresolved"), &err), FTSB_E_ABI);
    snprintf(part, sizeof part, "plugin '%s' has an unresolved symbol (",
             fixture("unresolved"));
    CHECK(strncmp(err.msg, part, strlen(part)) == 0);
    CHECK_CONTAINS(err.msg, "undefined symbol: ftsb_fixture_missing_function");
    CHECK_CONTAINS(err.msg, "); rebuild it and link every library it uses");
    CHECK_INT(loader_count(l), 0);
    CHECK_STR(stub_log(), "");
    loader_free(l);
}

TEST(init_failure)
{
    snprintf(want, sizeof want,
             "plugin '%s' failed to initialise (status 4: input/output "
             "error)", fixture("init_fail"));
    check_refusal("init_fail", FTSB_E_IO, want);
    /* a failed init is followed by nothing, not even deinit */
    CHECK_STR(stub_log(), "init init_fail\n");
}

/* Defects in descriptors: found after init(), so deinit() must run. */
TEST(descriptor_defects_refused_after_init)
{
    snprintf(want, sizeof want,
             "plugin '%s' has a descriptor of %zu bytes (index 0), ABI 1.0 "
             "needs at least %zu; rebuild it against this SDK",
             fixture("desc_small"), offsetof(ftsb_plugin_desc, config_keys),
             sizeof(ftsb_plugin_desc));
    check_refusal("desc_small", FTSB_E_ABI, want);
    CHECK_STR(stub_log(), "init desc_small\ndeinit desc_small\n");

    snprintf(want, sizeof want,
             "plugin 'judge/test.iface_small' in '%s' has an interface "
             "table of %zu bytes, ABI 1.0 needs at least %zu for a judge; "
             "rebuild it against this SDK", fixture("iface_small"),
             offsetof(ftsb_judge_iface, judge), sizeof(ftsb_judge_iface));
    check_refusal("iface_small", FTSB_E_ABI, want);
    CHECK_STR(stub_log(), "init iface_small\ndeinit iface_small\n");

    snprintf(want, sizeof want,
             "plugin '%s' has an invalid plugin id 'Bad Id!' (index 0): use "
             "1 to 128 of a-z, 0-9, '_', '.' and '-'; fix the plugin",
             fixture("bad_id"));
    check_refusal("bad_id", FTSB_E_ABI, want);
    CHECK_STR(stub_log(), "init bad_id\ndeinit bad_id\n");

    snprintf(want, sizeof want,
             "plugin '%s' has plugin 'test.unknown_kind' of unknown kind 99 "
             "(this ftsb knows 1 backend, 2 attack, 3 judge, 4 metric); fix "
             "the plugin", fixture("unknown_kind"));
    check_refusal("unknown_kind", FTSB_E_ABI, want);
    CHECK_STR(stub_log(), "init unknown_kind\ndeinit unknown_kind\n");

    snprintf(want, sizeof want,
             "plugin 'judge/test.null_method' in '%s' lacks the mandatory "
             "method judge(); fix the plugin", fixture("null_method"));
    check_refusal("null_method", FTSB_E_ABI, want);
    CHECK_STR(stub_log(), "init null_method\ndeinit null_method\n");

    snprintf(want, sizeof want,
             "plugin '%s' holds no plugins (plugin_count() is 0); remove it "
             "from the plugin path", fixture("no_plugins"));
    check_refusal("no_plugins", FTSB_E_ABI, want);
    CHECK_STR(stub_log(), "init no_plugins\ndeinit no_plugins\n");
}

TEST(duplicate_id_names_both_files)
{
    struct loader *l = new_loader();
    struct err err;
    const struct loaded_plugin *p;

    CHECK_INT(loader_load_file(l, fixture("dup_a"), &err), FTSB_OK);
    CHECK_INT(loader_load_file(l, fixture("dup_b"), &err), FTSB_E_INVALID);
    snprintf(want, sizeof want,
             "plugin 'judge/test.dup' in '%s' duplicates the one in '%s'; "
             "remove one of them from the plugin path", fixture("dup_b"),
             fixture("dup_a"));
    CHECK_STR(err.msg, want);
    CHECK_INT(loader_count(l), 1);
    p = loader_find(l, FTSB_KIND_JUDGE, "test.dup");
    CHECK(p && strcmp(p->path, fixture("dup_a")) == 0);
    CHECK_STR(stub_log(), "init dup_a\ninit dup_b\ndeinit dup_b\n");
    loader_free(l);
    /* loader_free deinits what it loaded */
    CHECK_STR(stub_log(), "init dup_a\ninit dup_b\ndeinit dup_b\n"
                          "deinit dup_a\n");
}

/* The directory holds every fixture: each broken one is one warning, and
 * the good ones load anyway. */
TEST(directory_loads_good_and_warns_about_broken)
{
    static const char *const broken[] = {
        "abi_major", "abi_minor", "bad_id", "bad_sig", "desc_small",
        "dup_b", "entry_small", "iface_small", "init_fail", "no_entry",
        "no_plugins", "not_elf", "null_entry", "null_method",
        "unknown_kind", "unresolved",
    };
    struct loader *l = new_loader();
    struct err err;

    CHECK_INT(loader_load_dir(l, fixture_dir, &err), FTSB_OK);
    CHECK_INT(n_warnings, (int)ARRAY_LEN(broken));
    for (size_t i = 0; i < ARRAY_LEN(broken); i++) {
        char quoted[PATH_MAX + 8];
        snprintf(quoted, sizeof quoted, "'%s'", fixture(broken[i]));
        CHECK_CONTAINS(warnings.buf, quoted);
    }
    /* good (4 kinds), dup_a (sorted before dup_b) and leaky */
    CHECK_INT(loader_count(l), 6);
    CHECK(loader_find(l, FTSB_KIND_BACKEND, "test.echo") != NULL);
    CHECK(loader_find(l, FTSB_KIND_ATTACK, "test.two_chats") != NULL);
    CHECK(loader_find(l, FTSB_KIND_JUDGE, "test.refusal") != NULL);
    CHECK(loader_find(l, FTSB_KIND_METRIC, "test.count") != NULL);
    CHECK(loader_find(l, FTSB_KIND_JUDGE, "test.leaky") != NULL);
    CHECK_STR(loader_find(l, FTSB_KIND_JUDGE, "test.dup")->path,
              fixture("dup_a"));

    /* loading the same directory again changes nothing, silently */
    reset_warnings();
    CHECK_INT(loader_load_dir(l, fixture_dir, &err), FTSB_OK);
    CHECK_INT(loader_count(l), 6);
    CHECK_INT(n_warnings, (int)ARRAY_LEN(broken)); /* refusals repeat */
    loader_free(l);

    l = new_loader();
    snprintf(want, sizeof want, "%s/no-such-dir", scratch_dir);
    CHECK_INT(loader_load_dir(l, want, &err), FTSB_E_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "cannot open plugin directory '");
    CHECK_INT(loader_load_dir(l, "relative/dir", &err), FTSB_E_INVALID);
    CHECK_STR(err.msg, "plugin directory 'relative/dir' is not an absolute "
                       "path");
    loader_free(l);
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
    char buf[65536];
    size_t n;
    FILE *in = fopen(from, "rb"), *out;
    int ok = 1;

    if (!in)
        return 0;
    out = fopen(to, "wb");
    if (!out) {
        fclose(in);
        return 0;
    }
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            ok = 0;
    fclose(in);
    if (fclose(out) != 0)
        ok = 0;
    return ok && chmod(to, mode) == 0;
}

TEST(same_file_twice_is_skipped)
{
    struct loader *l = new_loader();
    struct err err;
    char link[PATH_MAX];

    snprintf(link, sizeof link, "%s/link-to-good.so", scratch_dir);
    unlink(link);
    CHECK(symlink(fixture("good"), link) == 0);
    CHECK_INT(loader_load_file(l, fixture("good"), &err), FTSB_OK);
    CHECK_INT(loader_load_file(l, fixture("good"), &err), FTSB_OK);
    CHECK_INT(loader_load_file(l, link, &err), FTSB_OK);
    CHECK_INT(loader_count(l), 4);
    CHECK_INT(n_warnings, 0);
    loader_free(l);
    unlink(link);
}

TEST(paths_and_permissions)
{
    struct loader *l = new_loader();
    struct err err;
    char dir[PATH_MAX], file[PATH_MAX + 16], link[PATH_MAX + 16];
    char cwd[PATH_MAX];

    CHECK_INT(loader_load_file(l, "fixture_good.so", &err), FTSB_E_INVALID);
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(want, sizeof want,
             "plugin path 'fixture_good.so' is relative; give it as "
             "'%s/fixture_good.so' so that the current directory never "
             "decides which code runs", cwd);
    CHECK_STR(err.msg, want);

    snprintf(file, sizeof file, "%s/missing.so", scratch_dir);
    CHECK_INT(loader_load_file(l, file, &err), FTSB_E_NOT_FOUND);
    snprintf(want, sizeof want,
             "plugin '%s' does not exist; check the plugin path", file);
    CHECK_STR(err.msg, want);

    CHECK_INT(loader_load_file(l, scratch_dir, &err), FTSB_E_INVALID);
    snprintf(want, sizeof want, "plugin '%s' is not a regular file; remove "
             "it from the plugin path", scratch_dir);
    CHECK_STR(err.msg, want);

    snprintf(dir, sizeof dir, "%s/perm", scratch_dir);
    mkdir(dir, 0755);
    CHECK(chmod(dir, 0755) == 0);
    snprintf(file, sizeof file, "%s/good.so", dir);
    unlink(file);
    CHECK(copy_file(fixture("good"), file, 0666));
    CHECK_INT(loader_load_file(l, file, &err), FTSB_E_INVALID);
    snprintf(want, sizeof want,
             "plugin '%s' is writable by every user, so anyone could "
             "replace its code; run 'chmod o-w %s'", file, file);
    CHECK_STR(err.msg, want);

    CHECK(chmod(file, 0644) == 0);
    CHECK(chmod(dir, 0777) == 0);
    CHECK_INT(loader_load_file(l, file, &err), FTSB_E_INVALID);
    snprintf(want, sizeof want,
             "plugin '%s' is in '%s', which every user can write to, so "
             "anyone could replace it; run 'chmod o-w %s' or move the "
             "plugin", file, dir, dir);
    CHECK_STR(err.msg, want);

    /* the sticky bit stops others replacing our files: accepted */
    CHECK(chmod(dir, 01777) == 0);
    CHECK_INT(loader_load_file(l, file, &err), FTSB_OK);
    CHECK_INT(loader_count(l), 4);
    CHECK_INT(n_warnings, 0);

    /* a symlink in an open folder could be swapped, wherever it points */
    CHECK(chmod(dir, 0777) == 0);
    snprintf(link, sizeof link, "%s/link.so", dir);
    unlink(link);
    CHECK(symlink(fixture("good"), link) == 0);
    CHECK_INT(loader_load_file(l, link, &err), FTSB_E_INVALID);
    snprintf(want, sizeof want,
             "plugin '%s' is in '%s', which every user can write to, so "
             "anyone could replace it; run 'chmod o-w %s' or move the "
             "plugin", link, dir, dir);
    CHECK_STR(err.msg, want);
    loader_free(l);
    chmod(dir, 0755);
    unlink(link);
    unlink(file);
}

TEST(search_path_elements)
{
    struct loader *l = new_loader();
    struct err err;
    struct strbuf list = STRBUF_INIT;
    char missing[PATH_MAX];

    snprintf(missing, sizeof missing, "%s/no-such-element", scratch_dir);
    /* empty elements, a relative one, a missing one, a file, a dir */
    strbuf_addf(&list, "::rel/plugins:%s:%s::%s:", missing,
                fixture("dup_a"), fixture_dir);
    unsetenv("LD_LIBRARY_PATH");
    CHECK_INT(loader_load_search_path(l, list.buf, &err), FTSB_OK);
    CHECK_CONTAINS(warnings.buf,
                   "ignoring relative plugin path element 'rel/plugins': "
                   "only absolute paths are searched, so that the current "
                   "directory never decides which code runs\n");
    snprintf(want, sizeof want,
             "ignoring plugin path element '%s': No such file or "
             "directory\n", missing);
    CHECK_CONTAINS(warnings.buf, want);
    /* 2 path warnings + the 16 broken fixtures, nothing for "" */
    CHECK_INT(n_warnings, 18);
    CHECK_INT(loader_count(l), 6);
    CHECK(strncmp(warnings.buf, "ignoring relative", 17) == 0);
    strbuf_release(&list);
    loader_free(l);

    l = new_loader();
    CHECK_INT(loader_load_search_path(l, NULL, &err), FTSB_OK);
    CHECK_INT(loader_load_search_path(l, "", &err), FTSB_OK);
    CHECK_INT(loader_load_search_path(l, ":::", &err), FTSB_OK);
    CHECK_INT(n_warnings, 0);
    CHECK_INT(loader_count(l), 0);
    loader_free(l);
}

TEST(ld_library_path_warning)
{
    struct loader *l = new_loader();
    struct err err;

    setenv("LD_LIBRARY_PATH", "/usr/lib::", 1);
    CHECK_INT(loader_load_search_path(l, "", &err), FTSB_OK);
    CHECK_INT(n_warnings, 1);
    CHECK_STR(warnings.buf,
              "LD_LIBRARY_PATH '/usr/lib::' has an empty or relative "
              "element, so the libraries plugins need are also searched for "
              "in the current directory; remove that element\n");
    /* once per loader */
    CHECK_INT(loader_load_search_path(l, "", &err), FTSB_OK);
    CHECK_INT(n_warnings, 1);
    loader_free(l);

    l = new_loader();
    setenv("LD_LIBRARY_PATH", "/usr/lib:/opt/lib", 1);
    CHECK_INT(loader_load_search_path(l, "", &err), FTSB_OK);
    CHECK_INT(n_warnings, 0);
    unsetenv("LD_LIBRARY_PATH");
    loader_free(l);
}

static int exists_dir(const char *p)
{
    struct stat st;

    return p[0] && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

TEST(default_path)
{
    struct strbuf sb = STRBUF_INIT, tail = STRBUF_INIT;

    if (exists_dir(FTSB_PLUGIN_BUILD_DIR))
        strbuf_addf(&tail, ":%s", FTSB_PLUGIN_BUILD_DIR);
    if (exists_dir(FTSB_PLUGIN_INSTALL_DIR))
        strbuf_addf(&tail, ":%s", FTSB_PLUGIN_INSTALL_DIR);

    setenv("FTSB_PLUGIN_PATH", ":/env/a::/env/b:", 1);
    CHECK_INT(loader_default_path("/cli/a::rel", &sb), FTSB_OK);
    snprintf(want, sizeof want, "/cli/a:rel:/env/a:/env/b%s", tail.buf);
    CHECK_STR(sb.buf, want);

    /* appends to what out holds */
    strbuf_reset(&sb);
    strbuf_addstr(&sb, "/first");
    unsetenv("FTSB_PLUGIN_PATH");
    CHECK_INT(loader_default_path(NULL, &sb), FTSB_OK);
    snprintf(want, sizeof want, "/first%s", tail.buf);
    CHECK_STR(sb.buf, want);

    strbuf_reset(&sb);
    CHECK_INT(loader_default_path("", &sb), FTSB_OK);
    CHECK_STR(sb.buf, tail.len ? tail.buf + 1 : "");
    strbuf_release(&sb);
    strbuf_release(&tail);
}

TEST(api_edges)
{
    struct loader *l = NULL;

    CHECK_INT(loader_new(NULL, NULL, NULL, &l), FTSB_E_INVALID);
    CHECK(l == NULL);
    loader_free(NULL);
    CHECK_INT(loader_count(NULL), 0);
    CHECK(loader_get(NULL, 0) == NULL);
    CHECK(loader_find(NULL, FTSB_KIND_JUDGE, "x") == NULL);
    /* no warn callback: refusals in a directory are dropped quietly */
    CHECK_INT(loader_new(stub_host(), NULL, NULL, &l), FTSB_OK);
    CHECK_INT(loader_load_dir(l, fixture_dir, NULL), FTSB_OK);
    CHECK_INT(loader_count(l), 6);
    loader_free(l);
}

int main(int argc, char **argv)
{
    if (argc != 3 || argv[1][0] != '/' || argv[2][0] != '/') {
        fprintf(stderr, "usage: test_loader FIXTURE_DIR SCRATCH_DIR "
                        "(absolute)\n");
        return 2;
    }
    fixture_dir = argv[1];
    scratch_dir = argv[2];
    mkdir(scratch_dir, 0755);

    RUN(kind_names);
    RUN(good_library_loads_four_kinds);
    RUN(good_plugins_work);
    RUN(entry_defects_refused_before_init);
    RUN(dlopen_failures);
    RUN(init_failure);
    RUN(descriptor_defects_refused_after_init);
    RUN(duplicate_id_names_both_files);
    RUN(directory_loads_good_and_warns_about_broken);
    RUN(same_file_twice_is_skipped);
    RUN(paths_and_permissions);
    RUN(search_path_elements);
    RUN(ld_library_path_warning);
    RUN(default_path);
    RUN(api_edges);
    reset_warnings();
    stub_log_reset();
    return test_summary();
}
