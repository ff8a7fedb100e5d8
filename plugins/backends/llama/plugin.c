/*
 * plugin.c - the `llama` backend: Llama-architecture models from GGUF
 * files, run on the CPU by the native engine in src/ (GGUF reader,
 * tokenizer, chat templates, batched forward pass on OpenBLAS, sampler,
 * continuous-batching scheduler).  This file only translates: the
 * configuration into a loaded model (with an optional LoRA adapter
 * attached), chats into token ids through a named template, the SDK's
 * decoding parameters into requests, and the scheduler's results into
 * the host's result slots.  The fingerprint is a content hash of the model
 * file (computed once per file version and kept in the host's cache), the
 * template and the context, plus the adapter's content hash and scale
 * when there is one, so answers are cached exactly as long as they could
 * not change.
 *
 * Thread contract: one instance is used by one thread at a time (its
 * activations and KV cache are per instance).  The BLAS thread count is
 * the core's; nothing here changes it or starts threads.
 */
#include <ftsb/ftsb.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "adapter.h"
#include "chat_template.h"
#include "file_hash.h"
#include "forward.h"
#include "generate.h"
#include "model.h"
#include "tokenizer.h"
#include "llama.h"

#define KNOWN_TEMPLATES "llama-2, chatml, llama-3, plain, raw"
#define DEFAULT_KV_MB 2048

const ftsb_host *llama_host;
#define host llama_host

static const ftsb_config_key keys[] = {
    {"model", FTSB_CFG_STRING, 1, NULL,
     "path of the GGUF model file (architecture llama; F32, F16, BF16 or "
     "Q8_0 weights)"},
    {"template", FTSB_CFG_STRING, 0, NULL,
     "chat template: llama-2, chatml, llama-3, plain, or raw (the last user "
     "message as-is); default: recognised from the model's "
     "tokenizer.chat_template"},
    {"context", FTSB_CFG_INT, 0, "0",
     "context length in tokens (0 = the model's llama.context_length)"},
    {"batch", FTSB_CFG_INT, 0, "16",
     "sequences generated at once (continuous batching)"},
    {"kv_budget_mb", FTSB_CFG_INT, 0, "0",
     "memory for the KV cache of all sequences, MiB (0 = enough for batch "
     "full contexts, at most 2048)"},
    {"add_bos", FTSB_CFG_BOOL, 0, NULL,
     "template raw: start the prompt with BOS (default: as the vocabulary "
     "says, tokenizer.ggml.add_bos_token)"},
    {"lora", FTSB_CFG_STRING, 0, NULL,
     "LoRA adapter applied at inference: a llama.cpp GGUF LoRA file, or a "
     "folder holding PEFT's adapter_config.json and "
     "adapter_model.safetensors; it must be made for this model"},
    {"lora_scale", FTSB_CFG_NUMBER, 0, "1",
     "multiplier of the LoRA adapter, on top of its alpha / rank (as "
     "llama.cpp's --lora-scaled)"},
};

/* ---- helpers ---------------------------------------------------------------- */

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p)
        memcpy(p, s, n);
    return p;
}

const char *llama_template_name(const struct llama *b)
{
    return b->tmpl == TMPL_NONE ? "raw" : tmpl_name(b->tmpl);
}

ftsb_status llama_fail_lm(ftsb_ctx *ctx, const struct lm_err *e)
{
    return host->fail(ctx, e->code ? e->code : FTSB_E_INTERNAL, "%s", e->msg);
}

/* A file's content hash (the model, an adapter file), from the host's
 * cache when this version of the file (path, size, mtime, inode) was
 * hashed before. */
static ftsb_status file_hash_cached(ftsb_ctx *ctx, const char *path,
                                    uint64_t *out)
{
    static const char ns[] = "llama.file_hash/1";
    struct lm_file_id id;
    struct lm_err e = {0};
    char key[4200], val[32];
    ftsb_buf *buf = host->buf_new();

    if (lm_file_id_of(path, &id, &e)) {
        host->buf_free(buf);
        return llama_fail_lm(ctx, &e);
    }
    snprintf(key, sizeof key, "%s|%" PRIu64 "|%" PRId64 "|%" PRIu64 "|%" PRIu64,
             path, id.size, id.mtime_ns, id.inode, id.device);
    if (buf && host->cache_get(ctx, ns, key, buf) == FTSB_OK) {
        size_t len;
        const char *v = host->buf_data(buf, &len);
        char *end;
        if (len == 16) {
            *out = strtoull(v, &end, 16);
            if (end == v + 16) {
                host->buf_free(buf);
                return FTSB_OK;
            }
        }
    }
    host->buf_free(buf);
    if (id.size >= (1u << 20)) /* worth a word only when it takes time */
        host->log(ctx, FTSB_LOG_INFO, "hashing '%s' (%" PRIu64 " MiB) for "
                  "the fingerprint; done once per file", path, id.size >> 20);
    if (lm_file_hash(path, out, &e))
        return llama_fail_lm(ctx, &e);
    snprintf(val, sizeof val, "%016" PRIx64, *out);
    host->cache_put(ctx, ns, key, val, 16); /* a cache miss next time at worst */
    return FTSB_OK;
}

static ftsb_status pick_template(ftsb_ctx *ctx, struct llama *b,
                                 const char *name)
{
    struct lm_err e = {0};
    struct gguf_str js;

    if (name) {
        if (!strcmp(name, "raw")) {
            b->tmpl = TMPL_NONE;
            return FTSB_OK;
        }
        if (tmpl_from_name(name, &b->tmpl, &e) != FTSB_OK)
            return host->fail(ctx, FTSB_E_INVALID, "unknown template '%s'; "
                              "known: " KNOWN_TEMPLATES, name);
        return FTSB_OK;
    }
    if (gguf_find_kv(b->model->file, "tokenizer.chat_template") &&
        gguf_get_str(b->model->file, "tokenizer.chat_template", &js, &e) ==
            FTSB_OK &&
        (b->tmpl = tmpl_guess(js.ptr, js.len)) != TMPL_NONE)
        return FTSB_OK;
    return host->fail(ctx, FTSB_E_INVALID, "model '%s' has no chat template "
                      "ftsb recognises (tokenizer.chat_template); choose one "
                      "with template = one of: " KNOWN_TEMPLATES, b->path);
}

/* ---- LoRA adapter ----------------------------------------------------------- */

/*
 * Attaches ad to the instance's model at the user's scale, after checking
 * that it fits the model; the instance then owns it (a previous adapter is
 * freed) and the fingerprint carries ad_hash and scale.  ad_hash must name
 * the adapter's whole content, alpha included: the hash of its file bytes
 * for a loaded one, of its matrices and alpha for one trained in memory.
 * ad == NULL detaches.  On failure nothing changes and the caller keeps
 * ad.  Loading (the lora option) and fine-tuning both come through here,
 * so an instance serves an adapter the same way wherever it came from.
 */
ftsb_status llama_attach_adapter(struct llama *b, struct lm_adapter *ad,
                                 float scale, uint64_t ad_hash,
                                 struct lm_err *e)
{
    struct lm_adapter_base base;
    ftsb_status st;

    if (ad) {
        if (!isfinite(scale) || !isfinite(scale * lm_adapter_scale(ad)))
            return lm_fail(e, FTSB_E_INVALID, "lora_scale %g (times the "
                           "adapter's alpha / rank %g) is not a finite "
                           "number", (double)scale,
                           (double)lm_adapter_scale(ad));
        if ((st = lm_adapter_base_from_gguf(b->model->file, &base, e)) ||
            (st = lm_adapter_check(ad, &base, e)))
            return st;
    }
    b->model->lora = NULL;
    lm_adapter_free(b->adapter);
    b->adapter = ad;
    b->lora_scale = ad ? scale : 1.0f;
    b->adapter_hash = ad ? ad_hash : 0;
    b->model->lora = ad;
    b->model->lora_scale = b->lora_scale;
    return FTSB_OK;
}

/* A failure to load or attach the adapter at path, with the path in the
 * message (the engine's messages usually start with it already). */
static ftsb_status fail_adapter(ftsb_ctx *ctx, const struct llama *b,
                                const char *path, const struct lm_err *e)
{
    char where[4200] = "";

    if (!strstr(e->msg, path))
        snprintf(where, sizeof where, "'%s': ", path);
    if (e->code == FTSB_E_INVALID)
        return host->fail(ctx, FTSB_E_INVALID, "the LoRA adapter does not "
                          "fit model '%s' (give lora an adapter made for "
                          "this base model): %s%s", b->path, where, e->msg);
    return host->fail(ctx, e->code ? e->code : FTSB_E_INTERNAL, "cannot "
                      "load the LoRA adapter: %s%s", where, e->msg);
}

/* The lora option: a GGUF LoRA file, or a PEFT folder, told apart by what
 * path is.  The adapter is read against the model file's own description
 * so that one made for another model is refused naming the tensor; the
 * hash covers the bytes of every file read (both files of a PEFT folder:
 * the config holds alpha). */
static ftsb_status load_adapter(ftsb_ctx *ctx, struct llama *b,
                                const char *path, float scale)
{
    struct lm_adapter_base base;
    struct lm_adapter *ad = NULL;
    struct lm_err e = {0};
    struct stat sb;
    uint64_t h;
    ftsb_status st;

    if (stat(path, &sb) != 0)
        return host->fail(ctx, FTSB_E_IO, "cannot read lora '%s': %s (give "
                          "a llama.cpp GGUF LoRA file or a folder holding "
                          "PEFT's adapter_config.json and "
                          "adapter_model.safetensors)", path, strerror(errno));
    if (lm_adapter_base_from_gguf(b->model->file, &base, &e))
        return llama_fail_lm(ctx, &e);
    if (S_ISDIR(sb.st_mode)) {
        static const char *const files[2] = {"adapter_config.json",
                                             "adapter_model.safetensors"};
        uint64_t hs[2];
        char fp[2][4200];
        for (int i = 0; i < 2; i++) {
            struct stat fs;
            snprintf(fp[i], sizeof fp[i], "%s/%s", path, files[i]);
            if (stat(fp[i], &fs) != 0 || !S_ISREG(fs.st_mode))
                return host->fail(ctx, FTSB_E_IO, "lora '%s' is a folder "
                                  "without %s; a PEFT adapter folder holds "
                                  "adapter_config.json and "
                                  "adapter_model.safetensors (or give a "
                                  "llama.cpp GGUF LoRA file)", path,
                                  files[i]);
        }
        if (lm_adapter_load_peft(path, &base, &ad, &e))
            return fail_adapter(ctx, b, path, &e);
        if ((st = file_hash_cached(ctx, fp[0], &hs[0])) ||
            (st = file_hash_cached(ctx, fp[1], &hs[1]))) {
            lm_adapter_free(ad);
            return st;
        }
        h = lm_hash64(hs, sizeof hs);
    } else {
        const char *dot = strrchr(path, '.');
        if (dot && (!strcmp(dot, ".safetensors") || !strcmp(dot, ".json")))
            return host->fail(ctx, FTSB_E_INVALID, "lora '%s' is a file of "
                              "a PEFT adapter: give the folder that holds "
                              "adapter_config.json and "
                              "adapter_model.safetensors", path);
        if (lm_adapter_load_gguf(path, &base, &ad, &e))
            return fail_adapter(ctx, b, path, &e);
        if ((st = file_hash_cached(ctx, path, &h))) {
            lm_adapter_free(ad);
            return st;
        }
    }
    if (llama_attach_adapter(b, ad, scale, h, &e)) {
        lm_adapter_free(ad);
        return fail_adapter(ctx, b, path, &e);
    }
    return FTSB_OK;
}

/* ---- threads ------------------------------------------------------------------ */

static void host_parallel(void *pool, int n_tasks, lm_task_fn fn, void *arg)
{
    (void)pool;
    host->parallel_for(n_tasks, fn, arg);
}

struct lm_parallel llama_host_parallel(void)
{
    struct lm_parallel p = {0};

    if (FTSB_HOST_HAS(host, parallel_for) &&
        FTSB_HOST_HAS(host, thread_count) && host->thread_count() > 1) {
        p.run = host_parallel;
        p.n_tasks = host->thread_count();
    }
    return p;
}

void llama_lend_threads(struct lm_scratch *ws)
{
    struct lm_parallel p = llama_host_parallel();

    lm_scratch_set_parallel(ws, p.run ? &p : NULL);
}

/* ---- create / destroy ------------------------------------------------------- */

void llama_destroy(void *self)
{
    struct llama *b = self;

    if (!b)
        return;
    lm_state_free(&b->st);
    tok_free(b->vocab);
    if (b->model)
        b->model->lora = NULL;
    lm_adapter_free(b->adapter);
    lm_model_free(b->model);
    free(b->path);
    free(b);
}

static ftsb_status llama_create(ftsb_ctx *ctx, const ftsb_config *cfg,
                                void **self)
{
    struct llama *b = calloc(1, sizeof *b);
    struct lm_model_opts mo = {0};
    struct lm_err e = {0};
    int64_t context = 0, batch = 16, kv_mb = 0;
    double lora_scale = 1.0;
    const char *lora = host->cfg_str(cfg, "lora");
    ftsb_status st;
    int add_bos;

    if (!b || !(b->path = dup_str(host->cfg_str(cfg, "model")))) {
        free(b);
        return host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    }
    lm_state_init(&b->st);
    llama_lend_threads(&b->st.ws);
    host->cfg_int(cfg, "context", &context);
    host->cfg_int(cfg, "batch", &batch);
    host->cfg_int(cfg, "kv_budget_mb", &kv_mb);
    host->cfg_num(cfg, "lora_scale", &lora_scale);
    if (context < 0 || context > (1 << 22)) {
        st = host->fail(ctx, FTSB_E_INVALID, "context %" PRId64 " is outside "
                        "0..4194304 (0 = the model's)", context);
        goto fail;
    }
    if (batch < 1 || batch > 4096) {
        st = host->fail(ctx, FTSB_E_INVALID, "batch %" PRId64 " is outside "
                        "1..4096", batch);
        goto fail;
    }
    if (kv_mb < 0 || kv_mb > (1 << 24)) {
        st = host->fail(ctx, FTSB_E_INVALID, "kv_budget_mb %" PRId64 " is "
                        "outside 0..16777216", kv_mb);
        goto fail;
    }
    if (!lora && host->cfg_has(cfg, "lora_scale")) {
        st = host->fail(ctx, FTSB_E_INVALID, "lora_scale is given but lora "
                        "is not: give lora = the adapter's path, or drop "
                        "lora_scale");
        goto fail;
    }
    if (!isfinite(lora_scale) || fabs(lora_scale) > 1e6) {
        st = host->fail(ctx, FTSB_E_INVALID, "lora_scale %g is outside "
                        "-1e6..1e6", lora_scale);
        goto fail;
    }
    mo.ctx = (int32_t)context;
    if (lm_model_load(b->path, &mo, &b->model, &e) ||
        tok_load(b->model->file, &b->vocab, &e)) {
        st = llama_fail_lm(ctx, &e);
        goto fail;
    }
    b->file_wtype = b->model->cfg.wtype;
    if (tok_n_vocab(b->vocab) != b->model->cfg.vocab) {
        st = host->fail(ctx, FTSB_E_FORMAT, "model '%s': the vocabulary has "
                        "%d tokens but the embedding %d rows", b->path,
                        (int)tok_n_vocab(b->vocab), (int)b->model->cfg.vocab);
        goto fail;
    }
    if (b->model->cfg.ctx > b->model->cfg.ctx_train)
        host->log(ctx, FTSB_LOG_WARN, "context %d is longer than the %d "
                  "tokens model '%s' was trained on; answers past that are "
                  "unreliable", (int)b->model->cfg.ctx,
                  (int)b->model->cfg.ctx_train, b->path);
    if ((st = pick_template(ctx, b, host->cfg_str(cfg, "template"))))
        goto fail;
    b->add_bos = tok_add_bos(b->vocab);
    if (host->cfg_has(cfg, "add_bos") &&
        host->cfg_bool(cfg, "add_bos", &add_bos) == FTSB_OK)
        b->add_bos = add_bos != 0;
    b->batch = (int32_t)batch;
    {
        int64_t per = lm_kv_bytes_per_token(&b->model->cfg);
        int64_t full = batch * b->model->cfg.ctx;
        b->kv_budget = kv_mb ? (kv_mb << 20) / per
                             : ((int64_t)DEFAULT_KV_MB << 20) / per;
        if (!kv_mb && b->kv_budget > full)
            b->kv_budget = full;
        if (b->kv_budget < 1) {
            st = host->fail(ctx, FTSB_E_INVALID, "kv_budget_mb %" PRId64
                            " holds no token of this model (%" PRId64
                            " bytes each)", kv_mb, per);
            goto fail;
        }
    }
    if ((st = file_hash_cached(ctx, b->path, &b->hash)))
        goto fail;
    if (lora && (st = load_adapter(ctx, b, lora, (float)lora_scale)))
        goto fail;
    {
        const struct lm_config *c = &b->model->cfg;
        host->log(ctx, FTSB_LOG_DEBUG, "'%s': %d layers, width %d, "
                  "heads %d/%d, vocab %d, %s weights, context %d, template "
                  "%s, KV budget %" PRId64 " tokens", b->path,
                  (int)c->n_layers, (int)c->dim, (int)c->n_heads,
                  (int)c->n_kv_heads, (int)c->vocab, lm_type_name(c->wtype),
                  (int)c->ctx, llama_template_name(b), b->kv_budget);
        if (b->adapter)
            host->log(ctx, FTSB_LOG_DEBUG, "LoRA adapter '%s': rank %"
                      PRId64 ", alpha %g, scale %g (s = %g)", lora,
                      b->adapter->rank, (double)b->adapter->alpha,
                      (double)b->lora_scale,
                      (double)(lm_adapter_scale(b->adapter) *
                               b->lora_scale));
    }
    *self = b;
    return FTSB_OK;
fail:
    llama_destroy(b);
    return st;
}

static ftsb_status llama_fingerprint(void *self, ftsb_ctx *ctx, ftsb_buf *out)
{
    struct llama *b = self;
    ftsb_status st;

    (void)ctx;
    st = host->buf_printf(out, "llama:%016" PRIx64 ":%s%s:ctx%d", b->hash,
                          llama_template_name(b),
                          b->tmpl == TMPL_NONE ? (b->add_bos ? "+bos" : "")
                                               : "",
                          (int)b->model->cfg.ctx);
    /* without an adapter the fingerprint is what it always was, so
     * answers cached before adapters existed stay valid; %.9g gives a
     * float's exact value back */
    if (!st && b->tuned_full)
        st = host->buf_printf(out, ":ft");
    if (!st && b->adapter)
        st = host->buf_printf(out, ":lora%016" PRIx64 "*%.9g",
                              b->adapter_hash, (double)b->lora_scale);
    return st;
}

/* ---- generate --------------------------------------------------------------- */

/* The prompt of one chat as token ids (*ids malloc'ed). */
static ftsb_status render(struct llama *b, const ftsb_chat *chat,
                          int32_t **ids, int32_t *n, struct lm_err *e)
{
    ftsb_status st;

    if (b->tmpl == TMPL_NONE) {
        const char *text = NULL;
        struct tok_ids t = {0};
        for (uint32_t i = chat->n_messages; i > 0 && !text; i--)
            if (!strcmp(chat->messages[i - 1].role, "user"))
                text = chat->messages[i - 1].content;
        if (!text)
            return lm_fail(e, FTSB_E_INVALID, "template raw needs a user "
                           "message");
        if (b->add_bos && tok_bos(b->vocab) >= 0 &&
            (st = tok_ids_push(&t, tok_bos(b->vocab))))
            return lm_fail(e, st, "out of memory");
        if ((st = tok_encode(b->vocab, text, strlen(text), 0, &t, e))) {
            tok_ids_free(&t);
            return st;
        }
        *ids = t.v;
        *n = (int32_t)t.n;
        return FTSB_OK;
    }
    struct tmpl_tokens t = {0};
    if ((st = tmpl_apply(b->tmpl, chat->messages, chat->n_messages, NULL,
                         b->vocab, &t, e)))
        return st;
    *ids = t.ids;
    *n = (int32_t)t.n;
    t.ids = NULL;
    tmpl_tokens_free(&t);
    return FTSB_OK;
}

/* Appends s to the sink as valid UTF-8: a byte that breaks it (a token
 * cut inside a character) becomes U+FFFD, as Hugging Face's decode does. */
static void put_utf8(ftsb_buf *out, const char *s, size_t n)
{
    size_t off = 0;

    while (off < n) {
        size_t ok = gguf_utf8_check(s + off, n - off);
        host->buf_append(out, s + off, ok);
        off += ok;
        if (off < n) {
            host->buf_append(out, "\xef\xbf\xbd", 3);
            off++;
        }
    }
}

struct host_cb {
    ftsb_ctx *ctx;
};

static void cb_progress(void *ud, int64_t done, int64_t total)
{
    host->progress(((struct host_cb *)ud)->ctx, "llama", done, total, "chats");
}

static int cb_cancelled(void *ud)
{
    return host->cancelled(((struct host_cb *)ud)->ctx);
}

static ftsb_status llama_generate(void *self, ftsb_ctx *ctx,
                                  const ftsb_chat *chats, uint32_t n,
                                  const ftsb_gen_params *params,
                                  ftsb_gen_result *results)
{
    struct llama *b = self;
    struct lm_gen_request *rq = calloc((size_t)n + 1, sizeof *rq);
    struct lm_gen_result *rs = calloc((size_t)n + 1, sizeof *rs);
    int32_t **ids = calloc((size_t)n + 1, sizeof *ids);
    char (*why)[1100] = calloc((size_t)n + 1, sizeof *why);
    struct host_cb cb = {ctx};
    struct lm_gen_opts o = {0};
    struct lm_err e = {0};
    ftsb_status st = FTSB_OK;

    if (!rq || !rs || !ids || !why) {
        st = host->fail(ctx, FTSB_E_NOMEM, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct lm_gen_request *r = &rq[i];
        struct lm_err re = {0};
        int32_t n_ids = 0;

        if (render(b, &chats[i], &ids[i], &n_ids, &re) != FTSB_OK) {
            /* a failed rendering is this chat's error (no tokens: the
             * scheduler reports it without running anything) */
            snprintf(why[i], sizeof why[i], "cannot render the chat with "
                     "template %s: %s", llama_template_name(b), re.msg);
            n_ids = 0;
        }
        r->prompt = ids[i];
        r->n_prompt = n_ids;
        r->sampling.temperature = params->temperature;
        r->sampling.top_k = params->top_k;
        r->sampling.top_p = params->top_p;
        r->sampling.repetition_penalty = params->repetition_penalty;
        r->seed = params->seed;
        r->max_new_tokens = params->max_new_tokens > 0 ? params->max_new_tokens
                                                       : 512;
        r->stop = params->stop;
        r->n_stop = params->stop ? params->n_stop : 0;
    }
    o.max_batch = b->batch;
    o.kv_budget = b->kv_budget;
    o.progress = cb_progress;
    o.cancelled = cb_cancelled;
    o.ud = &cb;
    st = lm_generate(b->model, b->vocab, &b->st, &o, rq, n, rs, &e);

    for (uint32_t i = 0; i < n; i++) {
        ftsb_gen_result *out = &results[i];
        struct lm_gen_result *r = &rs[i];

        out->n_prompt_tokens = rq[i].n_prompt;
        out->n_completion_tokens = r->n_tokens;
        if (r->finish == LM_FINISH_ERROR || r->finish == LM_FINISH_CANCELLED ||
            r->finish == LM_FINISH_NONE) {
            out->state = FTSB_GEN_ERROR;
            host->buf_printf(out->error, "%s", why[i][0] ? why[i]
                             : r->error[0] ? r->error : "not generated");
            continue;
        }
        /* chat templates: drop the word-start space of the first piece
         * ("▁Sure" after "[/INST]"), as Hugging Face's decode does; raw
         * keeps llama.cpp's pieces byte for byte */
        const char *t = r->text ? r->text : "";
        size_t len = r->text ? r->len : 0;
        if (b->tmpl != TMPL_NONE && len && t[0] == ' ') {
            t++;
            len--;
        }
        put_utf8(out->text, t, len);
        host->buf_printf(out->finish, "%s", lm_finish_name(r->finish));
        out->state = FTSB_GEN_OK;
    }
    if (st == FTSB_E_CANCELLED)
        st = host->fail(ctx, st, "generation cancelled");
    else if (st)
        st = llama_fail_lm(ctx, &e);
out:
    for (uint32_t i = 0; rs && ids && i < n; i++) {
        lm_gen_result_free(&rs[i]);
        free(ids[i]);
    }
    free(rq);
    free(rs);
    free(ids);
    free(why);
    return st;
}

/* ---- registration ----------------------------------------------------------- */

static const ftsb_backend_iface iface = {
    sizeof iface, llama_create, llama_destroy, llama_fingerprint,
    llama_generate, llama_extension,
};

static const ftsb_plugin_desc desc = {
    sizeof desc, FTSB_KIND_BACKEND, "llama", "Native Llama (GGUF, CPU)",
    LLAMA_VERSION,
    "Llama-architecture GGUF models on the CPU with OpenBLAS: batched, "
    "greedy or sampled generation with named chat templates",
    keys, sizeof keys / sizeof *keys, &iface,
};

static const ftsb_plugin_desc *const plugins[] = {&desc};
FTSB_DEFINE_PLUGINS(llama_host, plugins)
