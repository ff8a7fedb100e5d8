/*
 * replay.c - the `replay` backend: answers from recorded responses.
 *
 * It serves answers that were generated elsewhere (another tool's output
 * files, a provider's batch results, the paper's released generations) so
 * they can be judged and scored by ftsb exactly like live generations.  A
 * chat is answered by the recording whose instruction equals its last
 * user message, or failing that, the longest recorded instruction the
 * message contains (so an evaluation template around the instruction still
 * matches).  A chat with no recording is an error, never an empty answer.
 */
#include <ftsb/ftsb.h>

#include <stdlib.h>
#include <string.h>

static const ftsb_host *host;

struct answer {
    const char *instruction;   /* borrowed from the dataset */
    const char *response;
};

struct replay {
    const ftsb_dataset *data;  /* lives as long as the config */
    struct answer *answers;
    size_t n;
    uint64_t hash;             /* content hash for the fingerprint */
};

static const ftsb_config_key keys[] = {
    {"responses", FTSB_CFG_DATASET, 1, NULL,
     "recorded answers: JSONL with instruction and response, or chat JSONL"},
};

/* FNV-1a, 64 bit: enough to tell recordings apart in a fingerprint. */
static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return (h ^ 0xff) * 0x100000001b3ULL;   /* field separator */
}

static const char *last_of(const ftsb_chat *c, const char *role)
{
    for (uint32_t i = c->n_messages; i > 0; i--)
        if (strcmp(c->messages[i - 1].role, role) == 0)
            return c->messages[i - 1].content;
    return NULL;
}

static ftsb_status replay_create(ftsb_ctx *ctx, const ftsb_config *cfg,
                                 void **self)
{
    const ftsb_dataset *ds = host->cfg_dataset(cfg, "responses");
    uint64_t n = host->dataset_count(ds);
    struct replay *r = calloc(1, sizeof *r);

    if (!r || !(r->answers = calloc(n + 1, sizeof *r->answers))) {
        free(r);
        return host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    }
    r->data = ds;
    r->hash = 0xcbf29ce484222325ULL;
    for (uint64_t i = 0; i < n; i++) {
        const ftsb_example *ex = host->dataset_get(ds, i);
        const char *q = ex->instruction, *a = ex->response;

        if (ex->chat.n_messages) {
            q = last_of(&ex->chat, "user");
            a = last_of(&ex->chat, "assistant");
        }
        if (!q || !a) {
            free(r->answers);
            free(r);
            return host->fail(ctx, FTSB_E_FORMAT,
                              "recorded answer %llu ('%s') needs an "
                              "instruction and a response",
                              (unsigned long long)i + 1,
                              ex->id ? ex->id : "?");
        }
        r->answers[r->n++] = (struct answer){q, a};
        r->hash = fnv1a(fnv1a(r->hash, q), a);
    }
    *self = r;
    return FTSB_OK;
}

static void replay_destroy(void *self)
{
    struct replay *r = self;

    if (r) {
        free(r->answers);
        free(r);
    }
}

static ftsb_status replay_fingerprint(void *self, ftsb_ctx *ctx,
                                      ftsb_buf *out)
{
    struct replay *r = self;

    (void)ctx;
    return host->buf_printf(out, "replay:%zu:%016llx", r->n,
                            (unsigned long long)r->hash);
}

static const struct answer *find(const struct replay *r, const char *msg)
{
    const struct answer *best = NULL;
    size_t best_len = 0;

    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->answers[i].instruction, msg) == 0)
            return &r->answers[i];
    for (size_t i = 0; i < r->n; i++) {
        size_t len = strlen(r->answers[i].instruction);

        if (len > best_len && strstr(msg, r->answers[i].instruction)) {
            best = &r->answers[i];
            best_len = len;
        }
    }
    return best;
}

static ftsb_status replay_generate(void *self, ftsb_ctx *ctx,
                                   const ftsb_chat *chats, uint32_t n,
                                   const ftsb_gen_params *params,
                                   ftsb_gen_result *out)
{
    struct replay *r = self;

    (void)params;
    for (uint32_t i = 0; i < n; i++) {
        const char *msg = last_of(&chats[i], "user");
        const struct answer *a = msg ? find(r, msg) : NULL;

        if (!a) {
            out[i].state = FTSB_GEN_ERROR;
            host->buf_printf(out[i].error,
                             "no recorded answer for '%.80s'; add it to the "
                             "responses file", msg ? msg : "(no user message)");
            continue;
        }
        host->buf_append(out[i].text, a->response, strlen(a->response));
        host->buf_printf(out[i].finish, "stop");
        out[i].state = FTSB_GEN_OK;
        host->progress(ctx, "replay", (int64_t)i + 1, n, "answers");
    }
    return FTSB_OK;
}

static const ftsb_backend_iface iface = {
    sizeof iface, replay_create, replay_destroy, replay_fingerprint,
    replay_generate, NULL,
};

static const ftsb_plugin_desc desc = {
    sizeof desc, FTSB_KIND_BACKEND, "replay", "Replay recorded answers",
    "1.0.0",
    "answers from recorded responses, to judge generations made elsewhere",
    keys, 1, &iface,
};

static const ftsb_plugin_desc *const plugins[] = {&desc};
FTSB_DEFINE_PLUGINS(host, plugins)
