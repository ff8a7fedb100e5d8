/*
 * openai_parse.c - validating readers for the OpenAI-compatible JSON
 * responses.  A server is not trusted: sizes are checked before parsing,
 * members we use must be unique and of the expected type, integers exact,
 * text fields bounded and cleaned of control characters, and ids that a
 * later request puts into a URL path must be plain.  An unexpected shape
 * is a reason in words, never a guess: the backend turns it into an error
 * state, which is never a verdict.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "openai_parse.h"

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
static int failf(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (why && cap) {
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Parses body as one JSON value filling exactly len bytes. */
static cJSON *parse_whole(const char *body, size_t len, char *why, size_t cap)
{
    const char *end = NULL;
    cJSON *root;

    if (!body || len == 0) {
        failf(why, cap, "the body is empty");
        return NULL;
    }
    if (len > OA_BODY_MAX) {
        failf(why, cap, "the body is larger than %u bytes", OA_BODY_MAX);
        return NULL;
    }
    if (body[len] != '\0' || memchr(body, '\0', len)) {
        failf(why, cap, "the body holds a NUL byte");
        return NULL;
    }
    root = cJSON_ParseWithOpts(body, &end, 1);
    if (!root || end != body + len) {
        cJSON_Delete(root);
        failf(why, cap, "the body is not valid JSON");
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        failf(why, cap, "the body is not a JSON object");
        return NULL;
    }
    return root;
}

/* The member called name, or NULL; *dup is set when it occurs twice, so
 * a server cannot show one value to us and another to someone else. */
static const cJSON *member(const cJSON *obj, const char *name, int *dup)
{
    const cJSON *found = NULL;

    if (!cJSON_IsObject(obj))
        return NULL;
    for (const cJSON *it = obj->child; it; it = it->next) {
        if (!it->string || strcmp(it->string, name) != 0)
            continue;
        if (found)
            *dup = 1;
        found = it;
    }
    return found;
}

/* An exact non-negative integer: 0 or -1. */
static int exact_int(const cJSON *v, int64_t *out)
{
    double d;

    if (!cJSON_IsNumber(v))
        return -1;
    d = v->valuedouble;
    if (!isfinite(d) || d < 0 || d > 9007199254740992.0 || d != floor(d))
        return -1;
    *out = (int64_t)d;
    return 0;
}

/* Copies text into a fixed field, control characters as spaces. */
static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t j = 0;

    for (size_t i = 0; src[i] && j + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];

        dst[j++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    /* do not end inside a UTF-8 sequence */
    if (j + 1 >= cap)
        while (j && ((unsigned char)dst[j - 1] & 0xc0) == 0x80)
            j--;
    if (j && j + 1 >= cap && ((unsigned char)dst[j - 1] & 0xc0) == 0xc0)
        j--;
    dst[j] = '\0';
}

int oa_id_ok(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n >= OA_ID_MAX || id[0] == '.' || strstr(id, ".."))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

/* A model name: visible ASCII, bounded (it goes into JSON and logs). */
static int model_ok(const char *m)
{
    size_t n = strlen(m);

    if (n == 0 || n >= 256)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)m[i] <= ' ' || (unsigned char)m[i] >= 0x7f ||
            m[i] == '"' || m[i] == '\\')
            return 0;
    return 1;
}

static char *dup_str(const char *s, size_t *len)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);

    if (p)
        memcpy(p, s, n + 1);
    if (len)
        *len = n;
    return p;
}

void oa_chat_free(struct oa_chat *c)
{
    free(c->content);
    free(c->refusal);
    memset(c, 0, sizeof *c);
}

static int usage_field(const cJSON *usage, const char *name, int64_t *out,
                       char *why, size_t cap)
{
    int dup = 0;
    const cJSON *v = member(usage, name, &dup);

    if (dup)
        return failf(why, cap, "'usage.%s' appears twice", name);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (exact_int(v, out))
        return failf(why, cap, "'usage.%s' is not a non-negative integer",
                     name);
    return 0;
}

int oa_parse_chat(const char *body, size_t len, struct oa_chat *out,
                  char *why, size_t cap)
{
    cJSON *root;
    const cJSON *choices, *c0, *msg, *content, *refusal, *finish, *usage;
    int dup = 0, rc = -1;

    memset(out, 0, sizeof *out);
    out->prompt_tokens = out->completion_tokens = -1;
    if (!(root = parse_whole(body, len, why, cap)))
        return -1;
    choices = member(root, "choices", &dup);
    if (!choices) {
        failf(why, cap, "missing 'choices'");
        goto out;
    }
    if (!cJSON_IsArray(choices) || !(c0 = choices->child)) {
        failf(why, cap, "'choices' is not a non-empty array");
        goto out;
    }
    msg = member(c0, "message", &dup);
    finish = member(c0, "finish_reason", &dup);
    if (!cJSON_IsObject(msg)) {
        failf(why, cap, "'choices[0].message' is missing or not an object");
        goto out;
    }
    content = member(msg, "content", &dup);
    refusal = member(msg, "refusal", &dup);
    usage = member(root, "usage", &dup);
    if (dup) {
        failf(why, cap, "a member of the completion appears twice");
        goto out;
    }
    if (finish && !cJSON_IsNull(finish)) {
        if (!cJSON_IsString(finish)) {
            failf(why, cap, "'finish_reason' is not a string");
            goto out;
        }
        copy_text(out->finish, sizeof out->finish, finish->valuestring);
    }
    if (content && !cJSON_IsNull(content)) {
        if (!cJSON_IsString(content)) {
            failf(why, cap, "'message.content' is neither a string nor null");
            goto out;
        }
        if (!(out->content = dup_str(content->valuestring,
                                     &out->content_len))) {
            failf(why, cap, "out of memory");
            goto out;
        }
    }
    if (refusal && !cJSON_IsNull(refusal)) {
        if (!cJSON_IsString(refusal)) {
            failf(why, cap, "'message.refusal' is neither a string nor null");
            goto out;
        }
        if (!(out->refusal = dup_str(refusal->valuestring, NULL))) {
            failf(why, cap, "out of memory");
            goto out;
        }
    }
    if (usage && !cJSON_IsNull(usage)) {
        if (!cJSON_IsObject(usage)) {
            failf(why, cap, "'usage' is not an object");
            goto out;
        }
        if (usage_field(usage, "prompt_tokens", &out->prompt_tokens, why,
                        cap) ||
            usage_field(usage, "completion_tokens", &out->completion_tokens,
                        why, cap))
            goto out;
    }
    if (strcmp(out->finish, "content_filter") == 0)
        out->state = OA_CHAT_FILTERED;
    else if (out->refusal)
        out->state = OA_CHAT_REFUSED;
    else if (!out->content)
        out->state = OA_CHAT_NULL;
    else
        out->state = OA_CHAT_OK;
    rc = 0;
out:
    cJSON_Delete(root);
    if (rc)
        oa_chat_free(out);
    if (rc) {
        out->prompt_tokens = out->completion_tokens = -1;
    }
    return rc;
}

/* A string member copied into a field, optional; -1 with a reason when
 * it has the wrong type or is duplicated. */
static int opt_text(const cJSON *obj, const char *name, char *dst,
                    size_t dcap, char *why, size_t cap)
{
    int dup = 0;
    const cJSON *v = member(obj, name, &dup);

    dst[0] = '\0';
    if (dup)
        return failf(why, cap, "'%s' appears twice", name);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return failf(why, cap, "'%s' is not a string", name);
    copy_text(dst, dcap, v->valuestring);
    return 0;
}

static int req_id(const cJSON *obj, char *dst, char *why, size_t cap)
{
    if (opt_text(obj, "id", dst, OA_ID_MAX, why, cap))
        return -1;
    if (!dst[0])
        return failf(why, cap, "missing 'id'");
    if (!oa_id_ok(dst))
        return failf(why, cap, "the id '%.40s' has unexpected characters",
                     dst);
    return 0;
}

static int file_from(const cJSON *obj, struct oa_file *out, char *why,
                     size_t cap)
{
    int dup = 0;
    const cJSON *bytes;

    memset(out, 0, sizeof *out);
    out->bytes = -1;
    if (!cJSON_IsObject(obj))
        return failf(why, cap, "a file is not an object");
    if (req_id(obj, out->id, why, cap) ||
        opt_text(obj, "filename", out->filename, sizeof out->filename, why,
                 cap))
        return -1;
    bytes = member(obj, "bytes", &dup);
    if (dup)
        return failf(why, cap, "'bytes' appears twice");
    if (bytes && !cJSON_IsNull(bytes) && exact_int(bytes, &out->bytes))
        return failf(why, cap, "'bytes' is not a non-negative integer");
    return 0;
}

int oa_parse_file(const char *body, size_t len, struct oa_file *out,
                  char *why, size_t cap)
{
    cJSON *root = parse_whole(body, len, why, cap);
    int rc;

    if (!root)
        return -1;
    rc = file_from(root, out, why, cap);
    cJSON_Delete(root);
    return rc;
}

/* The "data" array of a list object. */
static const cJSON *list_data(const cJSON *root, char *why, size_t cap)
{
    int dup = 0;
    const cJSON *data = member(root, "data", &dup);

    if (dup) {
        failf(why, cap, "'data' appears twice");
        return NULL;
    }
    if (!cJSON_IsArray(data)) {
        failf(why, cap, "missing 'data' list");
        return NULL;
    }
    return data;
}

int oa_find_file(const char *body, size_t len, const char *filename,
                 int64_t bytes, struct oa_file *out, int *found, char *why,
                 size_t cap)
{
    cJSON *root = parse_whole(body, len, why, cap);
    const cJSON *data;
    int rc = 0;

    *found = 0;
    if (!root)
        return -1;
    if (!(data = list_data(root, why, cap))) {
        cJSON_Delete(root);
        return -1;
    }
    for (const cJSON *it = data->child; it && !*found; it = it->next) {
        struct oa_file f;

        if (file_from(it, &f, why, cap)) {
            rc = -1;
            break;
        }
        if (strcmp(f.filename, filename) == 0 &&
            (f.bytes < 0 || f.bytes == bytes)) {
            *out = f;
            *found = 1;
        }
    }
    cJSON_Delete(root);
    return rc;
}

static int job_from(const cJSON *obj, struct oa_job *out, char *why,
                    size_t cap)
{
    int dup = 0;
    const cJSON *err, *meta, *tt;

    memset(out, 0, sizeof *out);
    out->trained_tokens = -1;
    if (!cJSON_IsObject(obj))
        return failf(why, cap, "a job is not an object");
    if (req_id(obj, out->id, why, cap) ||
        opt_text(obj, "status", out->status, sizeof out->status, why, cap) ||
        opt_text(obj, "fine_tuned_model", out->fine_tuned_model,
                 sizeof out->fine_tuned_model, why, cap))
        return -1;
    if (!out->status[0])
        return failf(why, cap, "missing 'status'");
    if (out->fine_tuned_model[0] && !model_ok(out->fine_tuned_model))
        return failf(why, cap, "'fine_tuned_model' has unexpected "
                     "characters");
    err = member(obj, "error", &dup);
    meta = member(obj, "metadata", &dup);
    tt = member(obj, "trained_tokens", &dup);
    if (dup)
        return failf(why, cap, "a member of the job appears twice");
    if (cJSON_IsObject(err) &&
        (opt_text(err, "code", out->error_code, sizeof out->error_code, why,
                  cap) ||
         opt_text(err, "message", out->error_message,
                  sizeof out->error_message, why, cap)))
        return -1;
    if (cJSON_IsObject(meta) &&
        opt_text(meta, "ftsb_key", out->meta_key, sizeof out->meta_key, why,
                 cap))
        return -1;
    if (tt && !cJSON_IsNull(tt) && exact_int(tt, &out->trained_tokens))
        return failf(why, cap, "'trained_tokens' is not a non-negative "
                     "integer");
    return 0;
}

int oa_parse_job(const char *body, size_t len, struct oa_job *out,
                 char *why, size_t cap)
{
    cJSON *root = parse_whole(body, len, why, cap);
    int rc;

    if (!root)
        return -1;
    rc = job_from(root, out, why, cap);
    cJSON_Delete(root);
    return rc;
}

int oa_find_job(const char *body, size_t len, const char *key,
                struct oa_job *out, int *found, char *why, size_t cap)
{
    cJSON *root = parse_whole(body, len, why, cap);
    const cJSON *data;
    int rc = 0;

    *found = 0;
    if (!root)
        return -1;
    if (!(data = list_data(root, why, cap))) {
        cJSON_Delete(root);
        return -1;
    }
    for (const cJSON *it = data->child; it && !*found; it = it->next) {
        struct oa_job j;

        if (job_from(it, &j, why, cap)) {
            rc = -1;
            break;
        }
        if (j.meta_key[0] && strcmp(j.meta_key, key) == 0) {
            *out = j;
            *found = 1;
        }
    }
    cJSON_Delete(root);
    return rc;
}

int oa_parse_events(const char *body, size_t len, struct oa_event *ev,
                    size_t evcap, size_t *n, char *why, size_t cap)
{
    cJSON *root = parse_whole(body, len, why, cap);
    const cJSON *data;
    int rc = 0;

    *n = 0;
    if (!root)
        return -1;
    if (!(data = list_data(root, why, cap))) {
        cJSON_Delete(root);
        return -1;
    }
    for (const cJSON *it = data->child; it && *n < evcap; it = it->next) {
        struct oa_event *e = &ev[*n];
        const cJSON *d, *v;
        int dup = 0;

        memset(e, 0, sizeof *e);
        e->step = e->total_steps = -1;
        if (!cJSON_IsObject(it) || req_id(it, e->id, why, cap) ||
            opt_text(it, "level", e->level, sizeof e->level, why, cap) ||
            opt_text(it, "message", e->message, sizeof e->message, why,
                     cap)) {
            if (!cJSON_IsObject(it))
                failf(why, cap, "an event is not an object");
            rc = -1;
            break;
        }
        d = member(it, "data", &dup);
        if (cJSON_IsObject(d)) {
            if ((v = member(d, "step", &dup)))
                exact_int(v, &e->step);
            if ((v = member(d, "total_steps", &dup)))
                exact_int(v, &e->total_steps);
        }
        if (dup) {
            failf(why, cap, "a member of an event appears twice");
            rc = -1;
            break;
        }
        (*n)++;
    }
    cJSON_Delete(root);
    return rc;
}
