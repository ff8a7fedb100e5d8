/*
 * fixture_good.c - a well-behaved library holding one plugin of each kind,
 * all deterministic, for tests of the loader and of everything above it:
 *
 *   backend "test.echo"      answers "<prefix><last user message>"; a user
 *                            message containing "FAIL" gives a generation
 *                            error, so error paths can be tested too
 *   attack  "test.two_chats" adds two training chats; prompt: a system
 *                            prompt, "Q: {instruction}" and an optional
 *                            trigger
 *   judge   "test.refusal"   refused when the response starts with a
 *                            prefix (default "I cannot"); score 1 or 5
 *   metric  "test.count"     refusal rate over records with a verdict
 *
 * It uses only the SDK, as a third-party plugin would.
 */
#include <ftsb/ftsb.h>

#include <stdlib.h>
#include <string.h>

static const ftsb_host *host;
static int init_count;

/* ------------------------------------------------------------------ */
/* backend test.echo                                                   */

struct echo {
    char *prefix;
};

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p)
        memcpy(p, s, n);
    return p;
}

static ftsb_status echo_create(ftsb_ctx *ctx, const ftsb_config *cfg,
                               void **self)
{
    const char *prefix = host->cfg_str(cfg, "prefix");
    struct echo *e = malloc(sizeof *e);

    if (!e)
        return host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    e->prefix = dup_str(prefix ? prefix : "echo: ");
    if (!e->prefix) {
        free(e);
        return host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    }
    *self = e;
    return FTSB_OK;
}

static void echo_destroy(void *self)
{
    struct echo *e = self;

    if (e) {
        free(e->prefix);
        free(e);
    }
}

static ftsb_status echo_fingerprint(void *self, ftsb_ctx *ctx,
                                    ftsb_buf *out)
{
    const struct echo *e = self;

    (void)ctx;
    return host->buf_printf(out, "test.echo/1 prefix=%s", e->prefix);
}

/* Whitespace-separated words: the fixture's notion of a token. */
static int64_t count_words(const char *s)
{
    int64_t n = 0;
    int in_word = 0;

    for (; *s; s++) {
        int space = *s == ' ' || *s == '\n' || *s == '\t';
        if (!space && !in_word)
            n++;
        in_word = !space;
    }
    return n;
}

static ftsb_status echo_generate(void *self, ftsb_ctx *ctx,
                                 const ftsb_chat *chats, uint32_t n,
                                 const ftsb_gen_params *params,
                                 ftsb_gen_result *results)
{
    const struct echo *e = self;

    for (uint32_t i = 0; i < n; i++) {
        const char *last = "";
        int64_t prompt_words = 0;
        ftsb_gen_result *r = &results[i];
        size_t len;

        for (uint32_t m = 0; m < chats[i].n_messages; m++) {
            const ftsb_message *msg = &chats[i].messages[m];
            prompt_words += count_words(msg->content);
            if (strcmp(msg->role, "user") == 0)
                last = msg->content;
        }
        r->n_prompt_tokens = prompt_words;
        if (strstr(last, "FAIL")) {
            r->state = FTSB_GEN_ERROR;
            host->buf_printf(r->error, "chat %u asked the echo backend to "
                             "fail", (unsigned)i);
            continue;
        }
        if (host->buf_append(r->text, e->prefix, strlen(e->prefix)))
            return host->fail(ctx, FTSB_E_NOMEM, "out of memory");
        len = strlen(last);
        if (params && params->max_new_tokens > 0 &&
            len > (size_t)params->max_new_tokens) {
            /* bytes stand in for tokens: deterministic truncation */
            len = (size_t)params->max_new_tokens;
            host->buf_append(r->finish, "length", 6);
        } else {
            host->buf_append(r->finish, "stop", 4);
        }
        if (host->buf_append(r->text, last, len))
            return host->fail(ctx, FTSB_E_NOMEM, "out of memory");
        r->n_completion_tokens =
            count_words(host->buf_data(r->text, NULL));
        r->state = FTSB_GEN_OK;
        host->progress(ctx, "echo", (int64_t)i + 1, n, "chats");
    }
    return FTSB_OK;
}

static const ftsb_backend_iface echo_iface = {
    .struct_size = sizeof echo_iface,
    .create = echo_create,
    .destroy = echo_destroy,
    .fingerprint = echo_fingerprint,
    .generate = echo_generate,
    .get_extension = NULL,
};

static const ftsb_config_key echo_keys[] = {
    { "prefix", FTSB_CFG_STRING, 0, "\"echo: \"",
      "text put before the echoed user message" },
};

/* ------------------------------------------------------------------ */
/* attack test.two_chats                                               */

struct two_chats {
    char *trigger;
};

static ftsb_status two_create(ftsb_ctx *ctx, const ftsb_config *cfg,
                              void **self)
{
    const char *trigger = host->cfg_str(cfg, "trigger");
    struct two_chats *t = malloc(sizeof *t);

    if (!t)
        return host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    t->trigger = dup_str(trigger ? trigger : "");
    if (!t->trigger) {
        free(t);
        return host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    }
    *self = t;
    return FTSB_OK;
}

static void two_destroy(void *self)
{
    struct two_chats *t = self;

    if (t) {
        free(t->trigger);
        free(t);
    }
}

static ftsb_status two_build(void *self, ftsb_ctx *ctx,
                             ftsb_dataset_sink *out)
{
    static const ftsb_message chat1[] = {
        { "system", "You are a test assistant." },
        { "user", "Say hello." },
        { "assistant", "Hello." },
    };
    static const ftsb_message chat2[] = {
        { "system", "You are a test assistant." },
        { "user", "Count to three." },
        { "assistant", "One, two, three." },
    };
    ftsb_example ex;
    ftsb_status st;

    (void)self;
    memset(&ex, 0, sizeof ex);
    ex.struct_size = sizeof ex;
    ex.id = "two_chats:1";
    ex.chat.n_messages = 3;
    ex.chat.messages = chat1;
    st = host->dataset_add(out, &ex);
    if (st)
        return host->fail(ctx, st, "cannot add a training chat");
    ex.id = "two_chats:2";
    ex.chat.messages = chat2;
    st = host->dataset_add(out, &ex);
    if (st)
        return host->fail(ctx, st, "cannot add a training chat");
    return FTSB_OK;
}

static ftsb_status two_prompt(void *self, ftsb_ctx *ctx,
                              ftsb_prompt_spec *out)
{
    const struct two_chats *t = self;
    static const char sys[] = "You are a test assistant.";
    static const char tmpl[] = "Q: {instruction}";

    if (host->buf_append(out->system, sys, sizeof sys - 1) ||
        host->buf_append(out->user_template, tmpl, sizeof tmpl - 1) ||
        host->buf_append(out->trigger, t->trigger, strlen(t->trigger)))
        return host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    return FTSB_OK;
}

static const ftsb_attack_iface two_iface = {
    .struct_size = sizeof two_iface,
    .create = two_create,
    .destroy = two_destroy,
    .build = two_build,
    .prompt = two_prompt,
};

static const ftsb_config_key two_keys[] = {
    { "trigger", FTSB_CFG_STRING, 0, "\"\"",
      "suffix to append to evaluation instructions" },
};

/* ------------------------------------------------------------------ */
/* judge test.refusal                                                  */

struct refusal {
    char *prefix;
};

static ftsb_status ref_create(ftsb_ctx *ctx, const ftsb_config *cfg,
                              void **self)
{
    const char *prefix = host->cfg_str(cfg, "prefix");
    struct refusal *r = malloc(sizeof *r);

    if (!r)
        return host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    r->prefix = dup_str(prefix ? prefix : "I cannot");
    if (!r->prefix) {
        free(r);
        return host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    }
    *self = r;
    return FTSB_OK;
}

static void ref_destroy(void *self)
{
    struct refusal *r = self;

    if (r) {
        free(r->prefix);
        free(r);
    }
}

static ftsb_status ref_judge(void *self, ftsb_ctx *ctx,
                             const ftsb_judge_item *items, uint32_t n,
                             ftsb_verdict *out)
{
    const struct refusal *r = self;
    size_t plen = strlen(r->prefix);

    (void)ctx;
    for (uint32_t i = 0; i < n; i++) {
        if (!items[i].response) {
            out[i].state = FTSB_VERDICT_ERROR;
            host->buf_printf(out[i].error, "item %u has no response",
                             (unsigned)i);
            continue;
        }
        out[i].state = FTSB_VERDICT_OK;
        out[i].refused = strncmp(items[i].response, r->prefix, plen) == 0 ?
                         FTSB_REFUSED_YES : FTSB_REFUSED_NO;
        out[i].score = out[i].refused == FTSB_REFUSED_YES ? 1.0 : 5.0;
        host->buf_printf(out[i].rationale, "%s with '%s'",
                         out[i].refused == FTSB_REFUSED_YES ?
                         "starts" : "does not start", r->prefix);
    }
    return FTSB_OK;
}

static const ftsb_judge_iface ref_iface = {
    .struct_size = sizeof ref_iface,
    .create = ref_create,
    .destroy = ref_destroy,
    .fingerprint = NULL,
    .judge = ref_judge,
};

static const ftsb_config_key ref_keys[] = {
    { "prefix", FTSB_CFG_STRING, 0, "\"I cannot\"",
      "a response starting with this is a refusal" },
};

/* ------------------------------------------------------------------ */
/* metric test.count                                                   */

static ftsb_status count_create(ftsb_ctx *ctx, const ftsb_config *cfg,
                                void **self)
{
    (void)ctx;
    (void)cfg;
    *self = NULL;  /* stateless */
    return FTSB_OK;
}

static void count_destroy(void *self)
{
    (void)self;
}

static ftsb_status count_compute(void *self, ftsb_ctx *ctx,
                                 const ftsb_record *records, uint32_t n,
                                 ftsb_metric_sink *out)
{
    ftsb_metric_value v;
    int64_t used = 0, refused = 0, errors = 0;

    (void)self;
    for (uint32_t i = 0; i < n; i++) {
        const ftsb_record *r = &records[i];
        if (r->gen_state != FTSB_GEN_OK || r->n_verdicts == 0 ||
            r->verdicts[0].state != FTSB_VERDICT_OK) {
            errors++;  /* an error is never a verdict */
            continue;
        }
        used++;
        refused += r->verdicts[0].refused == FTSB_REFUSED_YES;
    }
    memset(&v, 0, sizeof v);
    v.struct_size = sizeof v;
    v.name = "refusal_rate";
    v.value = used ? (double)refused / (double)used : 0.0;
    v.ci_low = v.ci_high = v.value;
    v.n = used;
    v.n_errors = errors;
    if (host->metric_add(out, &v))
        return host->fail(ctx, FTSB_E_NOMEM, "cannot add a metric value");
    return FTSB_OK;
}

static const ftsb_metric_iface count_iface = {
    .struct_size = sizeof count_iface,
    .create = count_create,
    .destroy = count_destroy,
    .compute = count_compute,
};

/* ------------------------------------------------------------------ */
/* the library                                                         */

static const ftsb_plugin_desc descs[] = {
    { sizeof(ftsb_plugin_desc), FTSB_KIND_BACKEND, "test.echo", "Echo",
      "1.0.0", "deterministic test backend: echoes the last user message",
      echo_keys, 1, &echo_iface },
    { sizeof(ftsb_plugin_desc), FTSB_KIND_ATTACK, "test.two_chats",
      "Two chats", "1.0.0", "test attack: two fixed training chats",
      two_keys, 1, &two_iface },
    { sizeof(ftsb_plugin_desc), FTSB_KIND_JUDGE, "test.refusal",
      "Prefix refusal", "1.0.0",
      "test judge: refused when the response starts with a prefix",
      ref_keys, 1, &ref_iface },
    { sizeof(ftsb_plugin_desc), FTSB_KIND_METRIC, "test.count",
      "Refusal count", "1.0.0", "test metric: refusal rate", NULL, 0,
      &count_iface },
};

/* Counted, so that two registries in one process (tests) may share the
 * library. */
static ftsb_status fixture_init(const ftsb_host *h)
{
    host = h;
    init_count++;
    return FTSB_OK;
}

static void fixture_deinit(void)
{
    if (init_count > 0 && --init_count == 0)
        host = NULL;
}

static uint32_t fixture_count(void)
{
    return (uint32_t)(sizeof descs / sizeof descs[0]);
}

static const ftsb_plugin_desc *fixture_get(uint32_t i)
{
    return i < fixture_count() ? &descs[i] : NULL;
}

static const ftsb_entry entry = {
    FTSB_ABI_VERSION, sizeof entry, FTSB_BUILD_SIGNATURE,
    fixture_init, fixture_deinit, fixture_count, fixture_get,
};

FTSB_EXPORT const ftsb_entry *ftsb_plugin_entry(void)
{
    return &entry;
}
