/*
 * openai.h - what the openai backend's files share: the instance, its
 * settings, and the fine-tuning extension table.
 */
#ifndef FTSB_OPENAI_H
#define FTSB_OPENAI_H

#include <ftsb/ftsb.h>

#define OA_VERSION "1.0.0"

extern const ftsb_host *oa_host;

/* A configuration, resolved; copied into each instance (a fine-tuned
 * model gets the base's settings with its own model id). */
struct oa_settings {
    char *base_url;            /* no trailing slash */
    char *model;
    char *key_env, *key_file;  /* where the key is (names, never values) */
    int key_optional;          /* a local server: no key is fine */
    char *auth_header;
    char *headers[2];          /* organization, project */
    uint32_t n_headers;
    char *max_tokens_field;
    char *extra_body;          /* JSON object text, or NULL */
    ftsb_http_options http;    /* auth, headers, user agent set at use */
    int64_t max_total_tokens;
    double max_cost_usd, price_in, price_out;
};

struct openai {
    struct oa_settings set;
    ftsb_http_client *client;
    int64_t used_prompt, used_completion;  /* tokens this instance paid */
};

extern const ftsb_backend_finetune oa_finetune_ext;

/* A new instance with set's settings (copied) and, when model is not
 * NULL, that model instead; opens its key and client. */
ftsb_status oa_instance_new(ftsb_ctx *ctx, const struct oa_settings *set,
                            const char *model, struct openai **out);
ftsb_status oa_settings_copy(struct oa_settings *dst,
                             const struct oa_settings *src);
void oa_settings_free(struct oa_settings *s);
/* "the environment variable 'X'" or "the key file 'p'", for messages. */
void oa_key_where(const struct oa_settings *s, char *out, size_t cap);
char *oa_strdup(const char *s);
/* A sink's text (len may be NULL). */
const char *oa_buf(const ftsb_buf *b, size_t *len);

#endif /* FTSB_OPENAI_H */
