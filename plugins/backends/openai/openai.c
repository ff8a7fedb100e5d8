/*
 * openai.c - the `openai` backend: chat completions from any
 * OpenAI-compatible server (OpenAI, vLLM, llama.cpp's llama-server,
 * Ollama...), and fine-tuning jobs through the fine-tuning API.
 *
 * The plugin only describes requests and reads answers: sending,
 * concurrency, retries, rate limits, the ledger of paid calls and the key
 * all belong to the host's HTTP client (sdk/include/ftsb/http.h), so
 * attempts never multiply and the key never passes through this file.
 * Chat requests are sent with FTSB_HTTP_KEEP: an accepted answer is kept
 * in the run store with its ledger row, so a run killed before the core
 * stored its batch never pays for that answer again.  What the provider
 * withholds (content filter, refusal, null content) gets its own state,
 * never an empty answer.  Fine-tuning is in finetune.c.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "openai.h"
#include "openai_parse.h"

const ftsb_host *oa_host;

static const ftsb_config_key keys[] = {
    {"model", FTSB_CFG_STRING, 1, NULL,
     "model id, e.g. \"gpt-3.5-turbo-0613\" or the name a local server "
     "gives its model"},
    {"base_url", FTSB_CFG_STRING, 0, "\"https://api.openai.com/v1\"",
     "the API's base URL, up to and including /v1"},
    {"api_key_env", FTSB_CFG_STRING, 0, "\"OPENAI_API_KEY\"",
     "environment variable holding the key (never the key itself)"},
    {"api_key_file", FTSB_CFG_STRING, 0, NULL,
     "file holding the key, mode 600; wins over api_key_env"},
    {"auth_header", FTSB_CFG_STRING, 0, NULL,
     "send the key as this header instead of 'Authorization: Bearer' "
     "(Azure: \"api-key\")"},
    {"organization", FTSB_CFG_STRING, 0, NULL,
     "OpenAI organization id (OpenAI-Organization header)"},
    {"project", FTSB_CFG_STRING, 0, NULL,
     "OpenAI project id (OpenAI-Project header)"},
    {"concurrency", FTSB_CFG_INT, 0, "8", "requests in flight at once"},
    {"max_attempts", FTSB_CFG_INT, 0, "6",
     "attempts per request, the first included"},
    {"backoff_base_ms", FTSB_CFG_INT, 0, "1000",
     "first retry wait; doubles each retry (with jitter)"},
    {"backoff_cap_ms", FTSB_CFG_INT, 0, "60000", "longest retry wait"},
    {"retry_after_max_s", FTSB_CFG_INT, 0, "120",
     "longest Retry-After honoured; a longer one fails the request"},
    {"request_budget_s", FTSB_CFG_INT, 0, "600",
     "total time for one request, retries included"},
    {"connect_timeout_s", FTSB_CFG_NUMBER, 0, "10",
     "time to connect"},
    {"timeout_s", FTSB_CFG_NUMBER, 0, "600", "time for one attempt"},
    {"stall_s", FTSB_CFG_NUMBER, 0, "30",
     "abort an attempt whose response stops flowing this long"},
    {"max_response_bytes", FTSB_CFG_INT, 0, "16777216",
     "largest response body accepted"},
    {"requests_per_minute", FTSB_CFG_NUMBER, 0, "0",
     "rate limit on requests (0: none)"},
    {"tokens_per_minute", FTSB_CFG_NUMBER, 0, "0",
     "rate limit on estimated tokens (0: none)"},
    {"max_total_tokens", FTSB_CFG_INT, 0, "0",
     "stop once this instance used this many tokens (0: no limit)"},
    {"max_cost_usd", FTSB_CFG_NUMBER, 0, "0",
     "stop once the cost reaches this (needs the prices; 0: no limit)"},
    {"price_input_per_mtok", FTSB_CFG_NUMBER, 0, "0",
     "USD per million prompt tokens, for max_cost_usd"},
    {"price_output_per_mtok", FTSB_CFG_NUMBER, 0, "0",
     "USD per million completion tokens, for max_cost_usd"},
    {"max_tokens_field", FTSB_CFG_STRING, 0, "\"max_tokens\"",
     "name of the length field: \"max_tokens\" or "
     "\"max_completion_tokens\""},
    {"extra_body", FTSB_CFG_JSON, 0, NULL,
     "JSON object merged into every chat request (e.g. {\"top_k\": 40} "
     "for vLLM)"},
};

/* ---- small helpers ------------------------------------------------------ */

char *oa_strdup(const char *s)
{
    size_t n;
    char *p;

    if (!s)
        return NULL;
    n = strlen(s);
    if ((p = malloc(n + 1)))
        memcpy(p, s, n + 1);
    return p;
}

const char *oa_buf(const ftsb_buf *b, size_t *len)
{
    return oa_host->buf_data(b, len);
}

/* A config number in seconds as milliseconds, clamped to uint32. */
static uint32_t cfg_ms(const ftsb_config *cfg, const char *key)
{
    double s = 0;

    oa_host->cfg_num(cfg, key, &s);
    if (!(s > 0))
        return 0;
    if (s * 1000 > 4e9)
        return 4000000000u;
    return (uint32_t)(s * 1000 + 0.5);
}

static uint32_t cfg_u32(const ftsb_config *cfg, const char *key)
{
    int64_t v = 0;

    oa_host->cfg_int(cfg, key, &v);
    if (v <= 0)
        return 0;
    return v > 4000000000 ? 4000000000u : (uint32_t)v;
}

static int is_openai_host(const char *url)
{
    return strncmp(url, "https://api.openai.com", 22) == 0;
}

void oa_settings_free(struct oa_settings *s)
{
    free(s->base_url);
    free(s->model);
    free(s->key_env);
    free(s->key_file);
    free(s->auth_header);
    free(s->max_tokens_field);
    free(s->extra_body);
    for (uint32_t i = 0; i < s->n_headers; i++)
        free(s->headers[i]);
    memset(s, 0, sizeof *s);
}

ftsb_status oa_settings_copy(struct oa_settings *dst,
                             const struct oa_settings *src)
{
    *dst = *src;
    dst->base_url = oa_strdup(src->base_url);
    dst->model = oa_strdup(src->model);
    dst->key_env = oa_strdup(src->key_env);
    dst->key_file = oa_strdup(src->key_file);
    dst->auth_header = oa_strdup(src->auth_header);
    dst->max_tokens_field = oa_strdup(src->max_tokens_field);
    dst->extra_body = oa_strdup(src->extra_body);
    for (uint32_t i = 0; i < src->n_headers; i++)
        dst->headers[i] = oa_strdup(src->headers[i]);
    if (!dst->base_url || !dst->model || !dst->max_tokens_field ||
        (src->key_env && !dst->key_env) ||
        (src->key_file && !dst->key_file) ||
        (src->auth_header && !dst->auth_header) ||
        (src->extra_body && !dst->extra_body) ||
        (src->n_headers > 0 && !dst->headers[0]) ||
        (src->n_headers > 1 && !dst->headers[1])) {
        oa_settings_free(dst);
        return FTSB_E_NOMEM;
    }
    return FTSB_OK;
}

/* Where the key comes from, for messages: never the key. */
void oa_key_where(const struct oa_settings *s, char *out, size_t cap)
{
    if (s->key_file)
        snprintf(out, cap, "the key file '%s'", s->key_file);
    else if (s->key_env)
        snprintf(out, cap, "the environment variable '%s'", s->key_env);
    else
        snprintf(out, cap, "api_key_env or api_key_file");
}

static ftsb_status read_settings(ftsb_ctx *ctx, const ftsb_config *cfg,
                                 struct oa_settings *s)
{
    const ftsb_host *h = oa_host;
    const char *url = h->cfg_str(cfg, "base_url");
    const char *v;
    size_t n;
    double d = 0;
    int64_t i64 = 0;

    memset(s, 0, sizeof *s);
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
        return h->fail(ctx, FTSB_E_INVALID,
                       "base_url '%s' is not an http:// or https:// URL",
                       url ? url : "");
    if (strpbrk(url, " \t\r\n\"\\?#"))
        return h->fail(ctx, FTSB_E_INVALID,
                       "base_url '%s' has spaces, quotes, a query or a "
                       "fragment; give the API's base, such as "
                       "'http://127.0.0.1:8000/v1'", url);
    if (!(s->base_url = oa_strdup(url)))
        goto nomem;
    n = strlen(s->base_url);
    while (n > 8 && s->base_url[n - 1] == '/')
        s->base_url[--n] = '\0';
    v = h->cfg_str(cfg, "model");
    if (!v || !*v || strpbrk(v, "\r\n"))
        return h->fail(ctx, FTSB_E_INVALID,
                       "option 'model' must name the model, such as "
                       "'gpt-3.5-turbo-0613'");
    if (!(s->model = oa_strdup(v)))
        goto nomem;
    if ((v = h->cfg_str(cfg, "api_key_file")) && *v &&
        !(s->key_file = oa_strdup(v)))
        goto nomem;
    if ((v = h->cfg_str(cfg, "api_key_env")) && *v &&
        !(s->key_env = oa_strdup(v)))
        goto nomem;
    /* a local server needs no key, unless one was asked for */
    s->key_optional = !s->key_file && !h->cfg_has(cfg, "api_key_env") &&
                      !is_openai_host(s->base_url);
    if ((v = h->cfg_str(cfg, "auth_header")) && *v &&
        !(s->auth_header = oa_strdup(v)))
        goto nomem;
    if ((v = h->cfg_str(cfg, "organization")) && *v) {
        size_t len = strlen(v) + 24;

        if (!(s->headers[s->n_headers] = malloc(len)))
            goto nomem;
        snprintf(s->headers[s->n_headers++], len, "OpenAI-Organization: %s",
                 v);
    }
    if ((v = h->cfg_str(cfg, "project")) && *v) {
        size_t len = strlen(v) + 24;

        if (!(s->headers[s->n_headers] = malloc(len)))
            goto nomem;
        snprintf(s->headers[s->n_headers++], len, "OpenAI-Project: %s", v);
    }
    v = h->cfg_str(cfg, "max_tokens_field");
    if (!v || (strcmp(v, "max_tokens") && strcmp(v, "max_completion_tokens")))
        return h->fail(ctx, FTSB_E_INVALID,
                       "option 'max_tokens_field' must be 'max_tokens' or "
                       "'max_completion_tokens', not '%s'", v ? v : "");
    if (!(s->max_tokens_field = oa_strdup(v)))
        goto nomem;
    if ((v = h->cfg_json(cfg, "extra_body"))) {
        cJSON *x = cJSON_Parse(v);
        int obj = cJSON_IsObject(x);

        cJSON_Delete(x);
        if (!obj)
            return h->fail(ctx, FTSB_E_INVALID,
                           "option 'extra_body' must be a JSON object, such "
                           "as { top_k = 40 }");
        if (!(s->extra_body = oa_strdup(v)))
            goto nomem;
    }
    s->http.struct_size = sizeof s->http;
    s->http.max_concurrency = cfg_u32(cfg, "concurrency");
    s->http.max_attempts = cfg_u32(cfg, "max_attempts");
    s->http.backoff_base_ms = cfg_u32(cfg, "backoff_base_ms");
    s->http.backoff_cap_ms = cfg_u32(cfg, "backoff_cap_ms");
    s->http.retry_after_max_ms = cfg_u32(cfg, "retry_after_max_s") * 1000u;
    s->http.request_budget_ms = cfg_u32(cfg, "request_budget_s") * 1000u;
    s->http.connect_timeout_ms = cfg_ms(cfg, "connect_timeout_s");
    s->http.attempt_timeout_ms = cfg_ms(cfg, "timeout_s");
    s->http.stall_ms = cfg_ms(cfg, "stall_s");
    if (h->cfg_int(cfg, "max_response_bytes", &i64) == FTSB_OK && i64 > 0)
        s->http.max_response_bytes = (uint64_t)i64;
    if (h->cfg_num(cfg, "requests_per_minute", &d) == FTSB_OK)
        s->http.requests_per_minute = d;
    if (h->cfg_num(cfg, "tokens_per_minute", &d) == FTSB_OK)
        s->http.tokens_per_minute = d;
    h->cfg_int(cfg, "max_total_tokens", &s->max_total_tokens);
    h->cfg_num(cfg, "max_cost_usd", &s->max_cost_usd);
    h->cfg_num(cfg, "price_input_per_mtok", &s->price_in);
    h->cfg_num(cfg, "price_output_per_mtok", &s->price_out);
    if (s->max_cost_usd > 0 && s->price_in <= 0 && s->price_out <= 0)
        return h->fail(ctx, FTSB_E_INVALID,
                       "option 'max_cost_usd' needs the prices: set "
                       "price_input_per_mtok and price_output_per_mtok");
    return FTSB_OK;
nomem:
    return h->fail(ctx, FTSB_E_NOMEM, "out of memory");
}

/* Opens the key and the client of an instance from its settings. */
static ftsb_status open_client(ftsb_ctx *ctx, struct openai *o)
{
    const ftsb_host *h = oa_host;
    ftsb_secret_spec spec = {sizeof spec, o->set.key_env, o->set.key_file,
                             "API key", o->set.key_optional};
    ftsb_secret *secret = NULL;
    ftsb_http_options opts = o->set.http;
    char ua[64];
    ftsb_status st;

    if ((st = h->secret_open(ctx, &spec, &secret)))
        return st;
    if (!secret)
        h->log(ctx, FTSB_LOG_DEBUG, "no API key (%s is unset): requests to "
               "'%s' go without one", o->set.key_env ? o->set.key_env
                                                     : "no variable",
               o->set.base_url);
    else if (strncmp(o->set.base_url, "http://", 7) == 0 &&
             !strstr(o->set.base_url, "://127.0.0.1") &&
             !strstr(o->set.base_url, "://localhost") &&
             !strstr(o->set.base_url, "://[::1]"))
        h->log(ctx, FTSB_LOG_WARN, "the key goes to '%s' over plain http, "
               "unencrypted; use https for a remote server",
               o->set.base_url);
    snprintf(ua, sizeof ua, "ftsb-openai/%s", OA_VERSION);
    opts.auth = secret;
    opts.auth_header = o->set.auth_header;
    opts.headers = (const char *const *)o->set.headers;
    opts.n_headers = o->set.n_headers;
    opts.user_agent = ua;
    st = h->http_client_new(ctx, &opts, &o->client);
    h->secret_close(secret);   /* the client keeps its own copy */
    return st;
}

ftsb_status oa_instance_new(ftsb_ctx *ctx, const struct oa_settings *set,
                            const char *model, struct openai **out)
{
    struct openai *o = calloc(1, sizeof *o);
    ftsb_status st;

    if (!o)
        return oa_host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    if (oa_settings_copy(&o->set, set)) {
        free(o);
        return oa_host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    }
    if (model) {
        char *m = oa_strdup(model);

        if (!m) {
            oa_settings_free(&o->set);
            free(o);
            return oa_host->fail(ctx, FTSB_E_NOMEM, "out of memory");
        }
        free(o->set.model);
        o->set.model = m;
    }
    if ((st = open_client(ctx, o))) {
        oa_settings_free(&o->set);
        free(o);
        return st;
    }
    *out = o;
    return FTSB_OK;
}

static ftsb_status oa_create(ftsb_ctx *ctx, const ftsb_config *cfg,
                             void **self)
{
    struct oa_settings set;
    struct openai *o;
    ftsb_status st;

    if (!FTSB_HOST_HAS(oa_host, call_end))
        return oa_host->fail(ctx, FTSB_E_ABI,
                             "the openai backend needs ftsb with plugin ABI "
                             "1.1 (HTTP in the host); this ftsb has %u.%u",
                             FTSB_ABI_VERSION_MAJOR(oa_host->abi_version),
                             FTSB_ABI_VERSION_MINOR(oa_host->abi_version));
    if ((st = read_settings(ctx, cfg, &set))) {
        oa_settings_free(&set);
        return st;
    }
    st = oa_instance_new(ctx, &set, NULL, &o);
    oa_settings_free(&set);
    if (st)
        return st;
    *self = o;
    return FTSB_OK;
}

static void oa_destroy(void *self)
{
    struct openai *o = self;

    if (!o)
        return;
    oa_host->http_client_free(o->client);
    oa_settings_free(&o->set);
    free(o);
}

/* What decides the answers: where, which model, how asked.  Never the
 * key, the organization or the limits. */
static ftsb_status oa_fingerprint(void *self, ftsb_ctx *ctx, ftsb_buf *out)
{
    struct openai *o = self;

    (void)ctx;
    return oa_host->buf_printf(out, "openai:%s|%s|%s|%s", o->set.base_url,
                               o->set.model, o->set.max_tokens_field,
                               o->set.extra_body ? o->set.extra_body : "");
}

/* ---- chat completions --------------------------------------------------- */

static int add_raw(cJSON *obj, const char *name, const char *fmt, ...)
    FTSB_PRINTF(3, 4);
static int add_raw(cJSON *obj, const char *name, const char *fmt, ...)
{
    char num[64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(num, sizeof num, fmt, ap);
    va_end(ap);
    /* exact numbers as text: cJSON would print them from a double */
    return cJSON_AddRawToObject(obj, name, num) != NULL;
}

/* The request body for one chat, as compact JSON (malloc'd). */
static char *chat_body(const struct openai *o, const ftsb_chat *chat,
                       const ftsb_gen_params *p)
{
    cJSON *root = cJSON_CreateObject(), *msgs, *extra = NULL;
    char *text = NULL;
    int ok;

    if (!root)
        return NULL;
    ok = cJSON_AddStringToObject(root, "model", o->set.model) != NULL &&
         (msgs = cJSON_AddArrayToObject(root, "messages")) != NULL;
    for (uint32_t i = 0; ok && i < chat->n_messages; i++) {
        cJSON *m = cJSON_CreateObject();

        ok = m && cJSON_AddItemToArray(msgs, m) &&
             cJSON_AddStringToObject(m, "role", chat->messages[i].role) &&
             cJSON_AddStringToObject(m, "content",
                                     chat->messages[i].content);
    }
    ok = ok && add_raw(root, "temperature", "%.7g",
                       p->temperature > 0 ? (double)p->temperature : 0.0);
    if (ok && p->top_p < 1 && p->top_p >= 0)
        ok = add_raw(root, "top_p", "%.7g", (double)p->top_p);
    ok = ok && add_raw(root, o->set.max_tokens_field, "%d",
                       (int)p->max_new_tokens);
    ok = ok && add_raw(root, "seed", "%llu", (unsigned long long)p->seed);
    if (ok && p->n_stop) {
        cJSON *stop = cJSON_AddArrayToObject(root, "stop");

        ok = stop != NULL;
        for (uint32_t i = 0; ok && i < p->n_stop; i++)
            ok = cJSON_AddItemToArray(stop, cJSON_CreateString(p->stop[i]));
    }
    if (ok && o->set.extra_body && (extra = cJSON_Parse(o->set.extra_body))) {
        /* the user's members win over ours */
        while (ok && extra->child) {
            cJSON *it = cJSON_DetachItemViaPointer(extra, extra->child);

            cJSON_DeleteItemFromObjectCaseSensitive(root, it->string);
            ok = cJSON_AddItemToObject(root, it->string, it);
            if (!ok)
                cJSON_Delete(it);
        }
    }
    if (ok)
        text = cJSON_PrintUnformatted(root);
    cJSON_Delete(extra);
    cJSON_Delete(root);
    return text;
}

struct chat_batch {
    struct openai *o;
    ftsb_ctx *ctx;
    ftsb_gen_result *results;
    uint32_t n, done;
    const char *url;
    int over_budget;
};

static int budget_spent(const struct openai *o)
{
    const struct oa_settings *s = &o->set;

    if (s->max_total_tokens > 0 &&
        o->used_prompt + o->used_completion >= s->max_total_tokens)
        return 1;
    if (s->max_cost_usd > 0 &&
        ((double)o->used_prompt * s->price_in +
         (double)o->used_completion * s->price_out) / 1e6 >= s->max_cost_usd)
        return 1;
    return 0;
}

static void put_text(ftsb_buf *b, const char *s, size_t len)
{
    oa_host->buf_clear(b);
    if (s)
        oa_host->buf_append(b, s, len);
}

static int32_t on_chat(void *ud, uint32_t i, ftsb_http_response *r)
{
    struct chat_batch *cb = ud;
    ftsb_gen_result *res = &cb->results[i];
    const ftsb_host *h = oa_host;
    struct oa_chat c;
    char why[160];
    size_t len;
    const char *body;
    int32_t answer = FTSB_HTTP_ACCEPT;

    h->progress(cb->ctx, "chat", ++cb->done, cb->n, "requests");
    if (r->outcome != FTSB_HTTP_OK)
        return FTSB_HTTP_ACCEPT;
    body = oa_buf(r->body, &len);
    if (oa_parse_chat(body, len, &c, why, sizeof why)) {
        res->state = FTSB_GEN_ERROR;
        h->buf_clear(res->error);
        h->buf_printf(res->error, "'%s' answered HTTP %d with a malformed "
                      "chat completion: %s", cb->url, r->status, why);
        return FTSB_HTTP_REJECT;
    }
    res->n_prompt_tokens = c.prompt_tokens > 0 ? c.prompt_tokens : 0;
    res->n_completion_tokens = c.completion_tokens > 0 ? c.completion_tokens
                                                       : 0;
    r->tokens = res->n_prompt_tokens + res->n_completion_tokens;
    if (!r->from_journal) {
        cb->o->used_prompt += res->n_prompt_tokens;
        cb->o->used_completion += res->n_completion_tokens;
    }
    put_text(res->finish, c.finish, strlen(c.finish));
    h->buf_clear(res->error);
    switch (c.state) {
    case OA_CHAT_OK:
        res->state = FTSB_GEN_OK;
        put_text(res->text, c.content, c.content_len);
        break;
    case OA_CHAT_FILTERED:
        res->state = FTSB_GEN_FILTERED;
        put_text(res->text, c.content, c.content ? c.content_len : 0);
        h->buf_printf(res->error, "the provider's content filter withheld "
                      "the answer (finish_reason 'content_filter')");
        break;
    case OA_CHAT_REFUSED:
        res->state = FTSB_GEN_REFUSED;
        put_text(res->text, NULL, 0);
        h->buf_printf(res->error, "the provider refused: %.400s", c.refusal);
        if (!c.finish[0])
            put_text(res->finish, "refusal", 7);
        break;
    default:
        /* not an answer: an error, not kept, asked again next run */
        res->state = FTSB_GEN_ERROR;
        h->buf_printf(res->error, "'%s' answered with no content (content "
                      "null, finish_reason '%s')", cb->url,
                      c.finish[0] ? c.finish : "none");
        answer = FTSB_HTTP_REJECT;
        break;
    }
    oa_chat_free(&c);
    if (answer == FTSB_HTTP_ACCEPT && budget_spent(cb->o)) {
        cb->over_budget = 1;
        answer = FTSB_HTTP_STOP;
    }
    return answer;
}

static ftsb_status budget_message(ftsb_ctx *ctx, const struct openai *o)
{
    const struct oa_settings *s = &o->set;

    if (s->max_total_tokens > 0 &&
        o->used_prompt + o->used_completion >= s->max_total_tokens)
        return oa_host->fail(ctx, FTSB_E_BUDGET,
                             "the token budget is spent: %lld tokens used, "
                             "max_total_tokens is %lld; raise it to go on "
                             "(answers received so far are kept)",
                             (long long)(o->used_prompt + o->used_completion),
                             (long long)s->max_total_tokens);
    return oa_host->fail(ctx, FTSB_E_BUDGET,
                         "the cost budget is spent: about %.4f USD used, "
                         "max_cost_usd is %.4f; raise it to go on (answers "
                         "received so far are kept)",
                         ((double)o->used_prompt * s->price_in +
                          (double)o->used_completion * s->price_out) / 1e6,
                         s->max_cost_usd);
}

static ftsb_status oa_generate(void *self, ftsb_ctx *ctx,
                               const ftsb_chat *chats, uint32_t n,
                               const ftsb_gen_params *params,
                               ftsb_gen_result *results)
{
    struct openai *o = self;
    const ftsb_host *h = oa_host;
    ftsb_http_request *reqs = calloc(n + 1, sizeof *reqs);
    ftsb_http_response *resps = calloc(n + 1, sizeof *resps);
    char **bodies = calloc(n + 1, sizeof *bodies);
    char url[2200], where[600];
    struct chat_batch cb = {o, ctx, results, n, 0, url, 0};
    ftsb_status st = FTSB_OK;

    snprintf(url, sizeof url, "%s/chat/completions", o->set.base_url);
    if (!reqs || !resps || !bodies) {
        st = h->fail(ctx, FTSB_E_NOMEM, "out of memory");
        goto out;
    }
    if (budget_spent(o)) {
        for (uint32_t i = 0; i < n; i++) {
            results[i].state = FTSB_GEN_ERROR;
            h->buf_printf(results[i].error, "not sent: the budget is spent");
        }
        st = budget_message(ctx, o);
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!(bodies[i] = chat_body(o, &chats[i], params)) ||
            !(resps[i].body = h->buf_new()) ||
            !(resps[i].error = h->buf_new())) {
            st = h->fail(ctx, FTSB_E_NOMEM, "out of memory");
            goto out;
        }
        reqs[i] = (ftsb_http_request){
            sizeof reqs[i], "POST", url, "application/json", bodies[i],
            strlen(bodies[i]), NULL, 0, FTSB_HTTP_KEEP, NULL, "chat",
            (int64_t)(strlen(bodies[i]) / 4) + params->max_new_tokens};
        resps[i].struct_size = sizeof resps[i];
        results[i].state = FTSB_GEN_ERROR;
    }
    st = h->http_perform(o->client, ctx, reqs, n, resps, on_chat, &cb);
    for (uint32_t i = 0; i < n; i++) {
        const char *msg;
        size_t len;

        if (resps[i].outcome == FTSB_HTTP_OK ||
            resps[i].outcome == FTSB_HTTP_REJECTED)
            continue;   /* filled by on_chat */
        results[i].state = FTSB_GEN_ERROR;
        msg = oa_buf(resps[i].error, &len);
        h->buf_clear(results[i].error);
        h->buf_append(results[i].error, msg, len);
    }
    if (st == FTSB_E_AUTH) {
        const char *msg = "";

        oa_key_where(&o->set, where, sizeof where);
        for (uint32_t i = 0; i < n; i++)
            if (resps[i].outcome == FTSB_HTTP_AUTH)
                msg = oa_buf(resps[i].error, NULL);
        if (!*msg)
            msg = "the provider refused the credentials";
        st = h->fail(ctx, FTSB_E_AUTH, "%s; check the key in %s", msg,
                     where);
    } else if (st == FTSB_OK && cb.over_budget) {
        st = budget_message(ctx, o);
    }
out:
    for (uint32_t i = 0; i < n; i++) {
        if (resps) {
            h->buf_free(resps[i].body);
            h->buf_free(resps[i].error);
        }
        if (bodies)
            cJSON_free(bodies[i]);
    }
    free(reqs);
    free(resps);
    free(bodies);
    return st;
}

static const void *oa_get_extension(void *self, const char *id)
{
    (void)self;
    if (id && strcmp(id, FTSB_EXT_FINETUNE) == 0)
        return &oa_finetune_ext;
    return NULL;
}

static const ftsb_backend_iface iface = {
    sizeof iface, oa_create, oa_destroy, oa_fingerprint, oa_generate,
    oa_get_extension,
};

static const ftsb_plugin_desc desc = {
    sizeof desc, FTSB_KIND_BACKEND, "openai", "OpenAI-compatible API",
    OA_VERSION,
    "chat completions and fine-tuning jobs through an OpenAI-compatible "
    "HTTP API (OpenAI, vLLM, llama.cpp server, Ollama)",
    keys, sizeof keys / sizeof keys[0], &iface,
};

static const ftsb_plugin_desc *const plugins[] = {&desc};
FTSB_DEFINE_PLUGINS(oa_host, plugins)
