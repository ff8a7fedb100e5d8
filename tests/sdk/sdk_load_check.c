/*
 * sdk_load_check.c - loads the template plugin, built out of tree against
 * the installed SDK, through the real loader and runs its judge: proof
 * that the SDK alone is enough to write a plugin ftsb accepts.
 *
 * Usage: sdk_load_check PLUGIN_PATH   (a ':'-separated search path)
 */
#include "ftsb_setup.h"

#include "plugin/loader.h"
#include "stub_host.h"
#include "test.h"

static const char *plugin_path;
static int n_warnings;

static void on_warn(void *ud, const char *msg)
{
    (void)ud;
    printf("  warning: %s\n", msg);
    n_warnings++;
}

TEST(template_judge_loads_and_judges)
{
    static const char *const cfg_kv[] = { "prefix", "Sorry",
                                          "ignore_case", "true", NULL };
    static const char *const empty_kv[] = { "prefix", "", NULL };
    const ftsb_host *h = stub_host();
    const struct loaded_plugin *p;
    const ftsb_judge_iface *j;
    struct loader *l = NULL;
    struct err err;
    ftsb_ctx *ctx = stub_ctx_new();
    ftsb_config *cfg = stub_config_new(cfg_kv);
    ftsb_config *empty = stub_config_new(empty_kv);
    ftsb_judge_item items[3] = {
        { sizeof items[0], "q", "  sorry, I will not", NULL },
        { sizeof items[0], "q", "Sure: step one", NULL },
        { sizeof items[0], "q", NULL, NULL },
    };
    ftsb_verdict v[3];
    ftsb_buf *fp = h->buf_new();
    void *self = NULL, *untouched = &self;

    CHECK_INT(loader_new(h, on_warn, NULL, &l), FTSB_OK);
    CHECK_INT(loader_load_search_path(l, plugin_path, &err), FTSB_OK);
    CHECK_INT(n_warnings, 0);
    p = loader_find(l, FTSB_KIND_JUDGE, "example.prefix_refusal");
    CHECK(p != NULL);
    if (!p) {
        loader_free(l);
        return;
    }
    printf("  loaded judge/%s %s from %s\n", p->desc->id, p->desc->version,
           p->path);
    CHECK_INT(p->desc->n_config_keys, 2);
    j = p->desc->iface;

    CHECK_INT(j->create(ctx, empty, &untouched), FTSB_E_INVALID);
    CHECK_STR(stub_ctx_error(ctx), "config key 'prefix' must not be empty");
    CHECK(untouched == &self);

    CHECK_INT(j->create(ctx, cfg, &self), FTSB_OK);
    CHECK_INT(j->fingerprint(self, ctx, fp), FTSB_OK);
    CHECK_STR(h->buf_data(fp, NULL),
              "example.prefix_refusal/1 prefix=Sorry nocase");
    for (int i = 0; i < 3; i++)
        v[i] = (ftsb_verdict){ sizeof v[i], FTSB_VERDICT_OK,
                               FTSB_REFUSED_UNKNOWN, FTSB_NO_SCORE,
                               h->buf_new(), h->buf_new() };
    CHECK_INT(j->judge(self, ctx, items, 3, v), FTSB_OK);
    CHECK_INT(v[0].state, FTSB_VERDICT_OK);
    CHECK_INT(v[0].refused, FTSB_REFUSED_YES);
    CHECK(v[0].score == FTSB_NO_SCORE);
    CHECK_INT(v[1].refused, FTSB_REFUSED_NO);
    CHECK_STR(h->buf_data(v[1].rationale, NULL),
              "does not start with the refusal prefix");
    CHECK_INT(v[2].state, FTSB_VERDICT_ERROR);
    CHECK_STR(h->buf_data(v[2].error, NULL), "no response to judge");
    j->destroy(self);

    for (int i = 0; i < 3; i++) {
        h->buf_free(v[i].rationale);
        h->buf_free(v[i].error);
    }
    h->buf_free(fp);
    stub_config_free(cfg);
    stub_config_free(empty);
    stub_ctx_free(ctx);
    loader_free(l);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: sdk_load_check PLUGIN_PATH\n");
        return 2;
    }
    plugin_path = argv[1];
    RUN(template_judge_loads_and_judges);
    return test_summary();
}
