/*
 * finetune.c - the openai backend's fine-tuning extension
 * ("ftsb.backend.finetune/1"): upload the training set through the files
 * API, create a fine-tuning job, poll it with progress from its events,
 * and return a backend bound to the fine-tuned model.
 *
 * Uploads and job creations cost money and are not idempotent, so each is
 * recorded in the run store before and after it is sent (kv entries keyed
 * by the content hash and by a hash of everything that defines the job)
 * and reconciled on resume instead of being sent again: a file marked
 * "uploading" is looked for among the provider's files by its name (which
 * carries the hash), a job marked "creating" among the provider's jobs by
 * the metadata we gave it.  A run killed while polling therefore resumes
 * polling the same job, and the same training set is uploaded once
 * (reliability.md R3, §4.5).  The paper's pipeline (MISSION-BRIEF §1.5)
 * is this, with n_epochs as its only hyperparameter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "openai.h"
#include "openai_parse.h"

#define NS_FILES "openai.files"
#define NS_JOBS "openai.jobs"
#define MAX_EVENTS 50

static const ftsb_config_key ft_keys[] = {
    {"n_epochs", FTSB_CFG_INT, 0, NULL,
     "training epochs (provider's default when absent)"},
    {"batch_size", FTSB_CFG_INT, 0, NULL, "batch size (provider's default)"},
    {"learning_rate_multiplier", FTSB_CFG_NUMBER, 0, NULL,
     "learning rate multiplier (provider's default)"},
    {"suffix", FTSB_CFG_STRING, 0, NULL,
     "text the provider puts into the fine-tuned model's name"},
    {"seed", FTSB_CFG_INT, 0, NULL, "the job's seed"},
    {"poll_interval_s", FTSB_CFG_NUMBER, 0, "10",
     "time between two looks at the job"},
    {"max_wait_s", FTSB_CFG_NUMBER, 0, "172800",
     "stop polling after this long (the job goes on; run again to resume)"},
    {"tag", FTSB_CFG_STRING, 0, "\"\"",
     "a label that makes a new job for the same data and options (the "
     "same inputs otherwise resume or reuse one job)"},
};

struct ft {
    struct openai *o;
    ftsb_ctx *ctx;
    const ftsb_config *opt;
    ftsb_buf *body, *error;    /* one response at a time */
    char url[2400];
};

static const ftsb_host *H(void)
{
    return oa_host;
}

/* One request through the host; *outcome gets its FTSB_HTTP_* outcome. */
static ftsb_status send1(struct ft *f, const char *method, const char *url,
                         const char *body, const ftsb_http_part *parts,
                         uint32_t n_parts, uint32_t flags,
                         const char *work_key, const char *what,
                         int32_t *outcome, int32_t *status)
{
    ftsb_http_request req = {sizeof req, method, url, NULL, body,
                             body ? strlen(body) : 0, parts, n_parts, flags,
                             work_key, what, 0};
    ftsb_http_response resp = {sizeof resp, 0, 0, 0, 0, f->body, f->error, 0};
    ftsb_status st;

    st = H()->http_perform(f->o->client, f->ctx, &req, 1, &resp, NULL, NULL);
    *outcome = resp.outcome;
    if (status)
        *status = resp.status;
    if (st == FTSB_E_AUTH) {
        char where[600];

        oa_key_where(&f->o->set, where, sizeof where);
        return H()->fail(f->ctx, FTSB_E_AUTH, "%s; check the key in %s",
                         oa_buf(f->error, NULL), where);
    }
    return st;
}

static const char *err_text(const struct ft *f)
{
    const char *e = oa_buf(f->error, NULL);

    return *e ? e : "no answer";
}

/* The training set as chat JSONL: a row's chat, or its instruction (and
 * input) as the user's message and its response as the assistant's. */
static ftsb_status build_jsonl(struct ft *f, const ftsb_dataset *ds,
                               ftsb_buf *out, uint64_t *rows)
{
    const ftsb_host *h = H();
    uint64_t n = h->dataset_count(ds);

    *rows = 0;
    if (n == 0)
        return h->fail(f->ctx, FTSB_E_INVALID, "the training set is empty");
    for (uint64_t i = 0; i < n; i++) {
        const ftsb_example *ex = h->dataset_get(ds, i);
        cJSON *line = cJSON_CreateObject(), *msgs;
        int assistant = 0, ok;
        char *text;

        ok = line && (msgs = cJSON_AddArrayToObject(line, "messages"));
        if (ok && ex->chat.n_messages) {
            for (uint32_t k = 0; ok && k < ex->chat.n_messages; k++) {
                const ftsb_message *m = &ex->chat.messages[k];
                cJSON *o = cJSON_CreateObject();

                assistant |= strcmp(m->role, "assistant") == 0;
                ok = o && cJSON_AddItemToArray(msgs, o) &&
                     cJSON_AddStringToObject(o, "role", m->role) &&
                     cJSON_AddStringToObject(o, "content", m->content);
            }
        } else if (ok && ex->instruction && ex->response) {
            cJSON *u = cJSON_CreateObject(), *a = cJSON_CreateObject();
            size_t ulen = strlen(ex->instruction) +
                          (ex->input ? strlen(ex->input) + 2 : 0) + 1;
            char *user = malloc(ulen);

            /* an item the array did not take stays ours to free */
            if (!u || !cJSON_AddItemToArray(msgs, u)) {
                cJSON_Delete(u);
                u = NULL;
            }
            if (!a || !cJSON_AddItemToArray(msgs, a)) {
                cJSON_Delete(a);
                a = NULL;
            }
            ok = u && a && user;
            if (ok) {
                snprintf(user, ulen, "%s%s%s", ex->instruction,
                         ex->input && *ex->input ? "\n\n" : "",
                         ex->input && *ex->input ? ex->input : "");
                ok = cJSON_AddStringToObject(u, "role", "user") &&
                     cJSON_AddStringToObject(u, "content", user) &&
                     cJSON_AddStringToObject(a, "role", "assistant") &&
                     cJSON_AddStringToObject(a, "content", ex->response);
                assistant = 1;
            }
            free(user);
        }
        if (ok && !assistant) {
            cJSON_Delete(line);
            return h->fail(f->ctx, FTSB_E_FORMAT,
                           "training row %llu%s%s%s has no assistant "
                           "answer to learn from; give rows a chat ending "
                           "in an assistant message, or an instruction and "
                           "a response", (unsigned long long)i + 1,
                           ex->id ? " ('" : "", ex->id ? ex->id : "",
                           ex->id ? "')" : "");
        }
        text = ok ? cJSON_PrintUnformatted(line) : NULL;
        cJSON_Delete(line);
        if (!text || h->buf_append(out, text, strlen(text)) ||
            h->buf_append(out, "\n", 1)) {
            cJSON_free(text);
            return h->fail(f->ctx, FTSB_E_NOMEM, "out of memory");
        }
        cJSON_free(text);
        (*rows)++;
    }
    return FTSB_OK;
}

/* kv helpers: a value "id:X" is a known id, anything else a marker. */
static ftsb_status kv_get(struct ft *f, const char *ns, const char *key,
                          char *out, size_t cap)
{
    ftsb_buf *b = H()->buf_new();
    ftsb_status st;

    out[0] = '\0';
    if (!b)
        return H()->fail(f->ctx, FTSB_E_NOMEM, "out of memory");
    st = H()->cache_get(f->ctx, ns, key, b);
    if (st == FTSB_OK)
        snprintf(out, cap, "%s", oa_buf(b, NULL));
    H()->buf_free(b);
    return st == FTSB_E_NOT_FOUND ? FTSB_OK : st;
}

static ftsb_status kv_put(struct ft *f, const char *ns, const char *key,
                          const char *value)
{
    return H()->cache_put(f->ctx, ns, key, value, strlen(value));
}

/* Uploads the training file once per content hash and base URL. */
static ftsb_status upload(struct ft *f, const char *jsonl, size_t len,
                          const char *hash, char file_id[OA_ID_MAX])
{
    const ftsb_host *h = H();
    char key[2400], state[200], name[64], why[160], work[100];
    ftsb_http_part parts[2] = {
        {sizeof parts[0], "purpose", NULL, NULL, "fine-tune", 9},
        {sizeof parts[1], "file", name, "application/jsonl", jsonl, len},
    };
    struct oa_file file;
    int32_t outcome, status;
    int found = 0;
    ftsb_status st;

    snprintf(key, sizeof key, "%s|%s", f->o->set.base_url, hash);
    snprintf(name, sizeof name, "ftsb-%.16s.jsonl", hash);
    if ((st = kv_get(f, NS_FILES, key, state, sizeof state)))
        return st;
    if (strncmp(state, "id:", 3) == 0 && oa_id_ok(state + 3)) {
        snprintf(file_id, OA_ID_MAX, "%.*s", OA_ID_MAX - 1, state + 3);
        h->log(f->ctx, FTSB_LOG_INFO, "training file '%s' was uploaded "
               "before as '%s'", name, file_id);
        return FTSB_OK;
    }
    if (strcmp(state, "uploading") == 0) {
        /* a run stopped during the upload: did it arrive? */
        snprintf(f->url, sizeof f->url, "%s/files?purpose=fine-tune",
                 f->o->set.base_url);
        if ((st = send1(f, "GET", f->url, NULL, NULL, 0, 0, NULL, "files",
                        &outcome, NULL)))
            return st;
        if (outcome != FTSB_HTTP_OK)
            return h->fail(f->ctx, FTSB_E_NETWORK,
                           "cannot check whether the training file '%s' was "
                           "uploaded by the stopped run: %s; run again",
                           name, err_text(f));
        if (oa_find_file(oa_buf(f->body, NULL), strlen(oa_buf(f->body,
                                                              NULL)),
                         name, (int64_t)len, &file, &found, why, sizeof why))
            return h->fail(f->ctx, FTSB_E_PROVIDER,
                           "cannot read the provider's list of files: %s",
                           why);
        if (found) {
            snprintf(file_id, OA_ID_MAX, "%s", file.id);
            snprintf(state, sizeof state, "id:%s", file.id);
            h->log(f->ctx, FTSB_LOG_INFO, "training file '%s' was uploaded "
                   "by the stopped run as '%s'", name, file_id);
            return kv_put(f, NS_FILES, key, state);
        }
    }
    if ((st = kv_put(f, NS_FILES, key, "uploading")))
        return st;
    h->log(f->ctx, FTSB_LOG_INFO, "uploading the training file '%s' (%zu "
           "bytes)", name, len);
    snprintf(f->url, sizeof f->url, "%s/files", f->o->set.base_url);
    snprintf(work, sizeof work, "openai-upload:%s", hash);
    if ((st = send1(f, "POST", f->url, NULL, parts, 2,
                    FTSB_HTTP_LEDGER | FTSB_HTTP_ONCE, work, "upload",
                    &outcome, &status)))
        return st;
    if (outcome != FTSB_HTTP_OK)
        return h->fail(f->ctx, outcome == FTSB_HTTP_STATUS ? FTSB_E_PROVIDER
                                                           : FTSB_E_NETWORK,
                       "cannot upload the training file '%s': %s%s", name,
                       err_text(f),
                       outcome == FTSB_HTTP_IN_DOUBT
                           ? "; run again: ftsb first checks whether it "
                             "arrived"
                           : "");
    if (oa_parse_file(oa_buf(f->body, NULL), strlen(oa_buf(f->body, NULL)),
                      &file, why, sizeof why))
        return h->fail(f->ctx, FTSB_E_PROVIDER,
                       "'%s' answered the upload with HTTP %d and an "
                       "unexpected file object: %s", f->url, status, why);
    snprintf(file_id, OA_ID_MAX, "%s", file.id);
    snprintf(state, sizeof state, "id:%s", file.id);
    return kv_put(f, NS_FILES, key, state);
}

/* The hyperparameters object, or NULL when none was given. */
static cJSON *hyperparameters(struct ft *f)
{
    const ftsb_host *h = H();
    cJSON *hp = cJSON_CreateObject();
    char num[64];
    int64_t v;
    double d;

    if (!hp)
        return NULL;
    if (h->cfg_int(f->opt, "n_epochs", &v) == FTSB_OK) {
        snprintf(num, sizeof num, "%lld", (long long)v);
        cJSON_AddRawToObject(hp, "n_epochs", num);
    }
    if (h->cfg_int(f->opt, "batch_size", &v) == FTSB_OK) {
        snprintf(num, sizeof num, "%lld", (long long)v);
        cJSON_AddRawToObject(hp, "batch_size", num);
    }
    if (h->cfg_num(f->opt, "learning_rate_multiplier", &d) == FTSB_OK) {
        snprintf(num, sizeof num, "%.17g", d);
        cJSON_AddRawToObject(hp, "learning_rate_multiplier", num);
    }
    return hp;
}

/* Looks among the provider's jobs for the one we may have created. */
static ftsb_status find_job(struct ft *f, const char *meta,
                            struct oa_job *job, int *found)
{
    int32_t outcome;
    char why[160];
    ftsb_status st;

    snprintf(f->url, sizeof f->url,
             "%s/fine_tuning/jobs?limit=100&metadata%%5Bftsb_key%%5D=%s",
             f->o->set.base_url, meta);
    if ((st = send1(f, "GET", f->url, NULL, NULL, 0, 0, NULL, "jobs",
                    &outcome, NULL)))
        return st;
    if (outcome != FTSB_HTTP_OK)
        return H()->fail(f->ctx, FTSB_E_NETWORK,
                         "cannot check whether the stopped run created the "
                         "fine-tuning job: %s; run again", err_text(f));
    if (oa_find_job(oa_buf(f->body, NULL), strlen(oa_buf(f->body, NULL)),
                    meta, job, found, why, sizeof why))
        return H()->fail(f->ctx, FTSB_E_PROVIDER,
                         "cannot read the provider's list of fine-tuning "
                         "jobs: %s", why);
    return FTSB_OK;
}

static ftsb_status create_job(struct ft *f, const char *file_id,
                              const char *job_key, const char *meta,
                              const char *hp_json, char job_id[OA_ID_MAX])
{
    const ftsb_host *h = H();
    cJSON *body = cJSON_CreateObject(), *md;
    const char *suffix = h->cfg_str(f->opt, "suffix");
    char *text = NULL, why[160], state[200], work[120], num[32];
    struct oa_job job;
    int32_t outcome, status;
    int64_t seed;
    int ok;
    ftsb_status st;

    ok = body && cJSON_AddStringToObject(body, "model", f->o->set.model) &&
         cJSON_AddStringToObject(body, "training_file", file_id) &&
         cJSON_AddRawToObject(body, "hyperparameters", hp_json);
    if (ok && suffix && *suffix)
        ok = cJSON_AddStringToObject(body, "suffix", suffix) != NULL;
    if (ok && h->cfg_int(f->opt, "seed", &seed) == FTSB_OK) {
        snprintf(num, sizeof num, "%lld", (long long)seed);
        ok = cJSON_AddRawToObject(body, "seed", num) != NULL;
    }
    ok = ok && (md = cJSON_AddObjectToObject(body, "metadata")) &&
         cJSON_AddStringToObject(md, "ftsb_key", meta);
    if (ok)
        text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!text)
        return h->fail(f->ctx, FTSB_E_NOMEM, "out of memory");
    if ((st = kv_put(f, NS_JOBS, job_key, "creating"))) {
        cJSON_free(text);
        return st;
    }
    snprintf(f->url, sizeof f->url, "%s/fine_tuning/jobs",
             f->o->set.base_url);
    snprintf(work, sizeof work, "openai-job:%s", job_key);
    st = send1(f, "POST", f->url, text, NULL, 0,
               FTSB_HTTP_LEDGER | FTSB_HTTP_ONCE, work, "finetune", &outcome,
               &status);
    cJSON_free(text);
    if (st)
        return st;
    if (outcome == FTSB_HTTP_STATUS) {
        /* refused: no job exists, so the next run may create one */
        kv_put(f, NS_JOBS, job_key, "none");
        return h->fail(f->ctx, FTSB_E_PROVIDER,
                       "the provider refused to create the fine-tuning job: "
                       "%s", err_text(f));
    }
    if (outcome != FTSB_HTTP_OK)
        return h->fail(f->ctx, FTSB_E_NETWORK,
                       "cannot create the fine-tuning job: %s%s",
                       err_text(f),
                       outcome == FTSB_HTTP_IN_DOUBT
                           ? "; run again: ftsb first looks for the job among "
                             "the provider's before creating one"
                           : "");
    if (oa_parse_job(oa_buf(f->body, NULL), strlen(oa_buf(f->body, NULL)),
                     &job, why, sizeof why))
        return h->fail(f->ctx, FTSB_E_PROVIDER,
                       "'%s' answered the job creation with HTTP %d and an "
                       "unexpected job object: %s; run again to look for the "
                       "job", f->url, status, why);
    snprintf(job_id, OA_ID_MAX, "%s", job.id);
    snprintf(state, sizeof state, "id:%s", job.id);
    h->log(f->ctx, FTSB_LOG_INFO, "created fine-tuning job '%s' on '%s'",
           job.id, f->o->set.model);
    return kv_put(f, NS_JOBS, job_key, state);
}

/* Logs the events not seen yet (oldest first) and reports progress. */
static void report_events(struct ft *f, const char *job_id, char *last_seen)
{
    static struct oa_event ev[MAX_EVENTS];
    const ftsb_host *h = H();
    size_t n = 0, fresh;
    int32_t outcome;
    char why[160];

    snprintf(f->url, sizeof f->url, "%s/fine_tuning/jobs/%s/events?limit=%d",
             f->o->set.base_url, job_id, MAX_EVENTS);
    if (send1(f, "GET", f->url, NULL, NULL, 0, 0, NULL, "events", &outcome,
              NULL) || outcome != FTSB_HTTP_OK)
        return;   /* progress is a courtesy: the job's status decides */
    if (oa_parse_events(oa_buf(f->body, NULL), strlen(oa_buf(f->body, NULL)),
                        ev, MAX_EVENTS, &n, why, sizeof why))
        return;
    for (fresh = 0; fresh < n; fresh++)
        if (strcmp(ev[fresh].id, last_seen) == 0)
            break;
    for (size_t k = fresh; k > 0; k--) {
        const struct oa_event *e = &ev[k - 1];

        h->log(f->ctx, FTSB_LOG_INFO, "job '%s': %s", job_id, e->message);
        if (e->step >= 0 && e->total_steps > 0)
            h->progress(f->ctx, "fine-tuning", e->step, e->total_steps,
                        "steps");
    }
    if (n)
        snprintf(last_seen, OA_ID_MAX, "%s", ev[0].id);
}

static ftsb_status poll_job(struct ft *f, const char *job_id,
                            struct oa_job *job)
{
    const ftsb_host *h = H();
    double interval = 10, max_wait = 172800, waited = 0;
    char last_seen[OA_ID_MAX] = "", last_status[32] = "", why[160];
    int32_t outcome, status;
    ftsb_status st;

    h->cfg_num(f->opt, "poll_interval_s", &interval);
    h->cfg_num(f->opt, "max_wait_s", &max_wait);
    if (interval < 0.001)
        interval = 0.001;
    for (;;) {
        snprintf(f->url, sizeof f->url, "%s/fine_tuning/jobs/%s",
                 f->o->set.base_url, job_id);
        if ((st = send1(f, "GET", f->url, NULL, NULL, 0, 0, NULL, "job",
                        &outcome, &status)))
            return st;
        if (outcome != FTSB_HTTP_OK)
            return h->fail(f->ctx, FTSB_E_NETWORK,
                           "cannot read fine-tuning job '%s': %s; the job "
                           "goes on at the provider: run again to resume",
                           job_id, err_text(f));
        if (oa_parse_job(oa_buf(f->body, NULL),
                         strlen(oa_buf(f->body, NULL)), job, why,
                         sizeof why))
            return h->fail(f->ctx, FTSB_E_PROVIDER,
                           "'%s' answered HTTP %d with an unexpected job "
                           "object: %s", f->url, status, why);
        if (strcmp(job->status, last_status) != 0) {
            h->log(f->ctx, FTSB_LOG_INFO, "fine-tuning job '%s' is %s",
                   job_id, job->status);
            snprintf(last_status, sizeof last_status, "%s", job->status);
        }
        report_events(f, job_id, last_seen);
        if (strcmp(job->status, "succeeded") == 0) {
            if (!job->fine_tuned_model[0])
                return h->fail(f->ctx, FTSB_E_PROVIDER,
                               "fine-tuning job '%s' succeeded but names no "
                               "fine-tuned model", job_id);
            return FTSB_OK;
        }
        if (strcmp(job->status, "failed") == 0)
            return h->fail(f->ctx, FTSB_E_PROVIDER,
                           "fine-tuning job '%s' failed: %s%s%s%s; fix the "
                           "training data or the options (or set a new "
                           "'tag' to start another job)", job_id,
                           job->error_message[0] ? job->error_message
                                                 : "the provider gave no "
                                                   "reason",
                           job->error_code[0] ? " (" : "", job->error_code,
                           job->error_code[0] ? ")" : "");
        if (strcmp(job->status, "cancelled") == 0)
            return h->fail(f->ctx, FTSB_E_PROVIDER,
                           "fine-tuning job '%s' was cancelled at the "
                           "provider%s%s; set a new 'tag' to start another "
                           "job", job_id, job->error_message[0] ? ": " : "",
                           job->error_message);
        if (waited >= max_wait)
            return h->fail(f->ctx, FTSB_E_BUDGET,
                           "fine-tuning job '%s' is still %s after %.0f s "
                           "(max_wait_s); it goes on at the provider: run "
                           "again to resume polling", job_id, job->status,
                           waited);
        if ((st = h->wait_ms(f->ctx, (uint32_t)(interval * 1000 + 0.5))))
            return h->fail(f->ctx, st, "interrupted while polling "
                           "fine-tuning job '%s'; run again to resume",
                           job_id);
        waited += interval;
    }
}

static ftsb_status oa_finetune(void *self, ftsb_ctx *ctx,
                               const ftsb_dataset *data,
                               const ftsb_config *options, void **tuned)
{
    const ftsb_host *h = oa_host;
    struct ft f = {self, ctx, options, NULL, NULL, ""};
    ftsb_buf *jsonl = h->buf_new();
    char hash[65], job_key[65], meta[40], file_id[OA_ID_MAX] = "";
    char job_id[OA_ID_MAX] = "", state[200], *hp_json = NULL;
    cJSON *hp = NULL;
    struct oa_job job;
    struct openai *t;
    const char *text, *tag, *suffix;
    size_t len;
    uint64_t rows;
    int64_t seed = -1;
    ftsb_status st;

    f.body = h->buf_new();
    f.error = h->buf_new();
    if (!jsonl || !f.body || !f.error) {
        st = h->fail(ctx, FTSB_E_NOMEM, "out of memory");
        goto out;
    }
    if ((st = build_jsonl(&f, data, jsonl, &rows)))
        goto out;
    text = oa_buf(jsonl, &len);
    h->sha256_hex(text, len, hash);
    if (!(hp = hyperparameters(&f)) ||
        !(hp_json = cJSON_PrintUnformatted(hp))) {
        st = h->fail(ctx, FTSB_E_NOMEM, "out of memory");
        goto out;
    }
    /* the job's identity: everything that defines it */
    tag = h->cfg_str(options, "tag");
    suffix = h->cfg_str(options, "suffix");
    h->cfg_int(options, "seed", &seed);
    {
        ftsb_buf *id = h->buf_new();
        size_t idlen;

        if (!id || h->buf_printf(id, "openai-job/1\n%s\n%s\n%s\n%s\n%s\n%lld"
                                     "\n%s", f.o->set.base_url,
                                 f.o->set.model, hash, hp_json,
                                 suffix ? suffix : "", (long long)seed,
                                 tag ? tag : "")) {
            h->buf_free(id);
            st = h->fail(ctx, FTSB_E_NOMEM, "out of memory");
            goto out;
        }
        text = oa_buf(id, &idlen);
        h->sha256_hex(text, idlen, job_key);
        h->buf_free(id);
    }
    snprintf(meta, sizeof meta, "%.32s", job_key);
    if ((st = kv_get(&f, NS_JOBS, job_key, state, sizeof state)))
        goto out;
    if (strncmp(state, "id:", 3) == 0 && oa_id_ok(state + 3)) {
        snprintf(job_id, sizeof job_id, "%.*s", OA_ID_MAX - 1, state + 3);
        h->log(ctx, FTSB_LOG_INFO, "resuming fine-tuning job '%s' (created "
               "by an earlier run)", job_id);
    } else if (strcmp(state, "creating") == 0) {
        int found = 0;

        if ((st = find_job(&f, meta, &job, &found)))
            goto out;
        if (found) {
            snprintf(job_id, sizeof job_id, "%s", job.id);
            snprintf(state, sizeof state, "id:%s", job.id);
            h->log(ctx, FTSB_LOG_INFO, "found fine-tuning job '%s', created "
                   "by a run that stopped", job_id);
            if ((st = kv_put(&f, NS_JOBS, job_key, state)))
                goto out;
        }
    }
    if (!job_id[0]) {
        text = oa_buf(jsonl, &len);
        if ((st = upload(&f, text, len, hash, file_id)) ||
            (st = create_job(&f, file_id, job_key, meta, hp_json, job_id)))
            goto out;
    }
    if ((st = poll_job(&f, job_id, &job)))
        goto out;
    h->log(ctx, FTSB_LOG_INFO, "fine-tuned model: '%s'",
           job.fine_tuned_model);
    if ((st = oa_instance_new(ctx, &f.o->set, job.fine_tuned_model, &t)))
        goto out;
    *tuned = t;
out:
    cJSON_free(hp_json);
    cJSON_Delete(hp);
    h->buf_free(jsonl);
    h->buf_free(f.body);
    h->buf_free(f.error);
    return st;
}

const ftsb_backend_finetune oa_finetune_ext = {
    sizeof oa_finetune_ext, ft_keys, sizeof ft_keys / sizeof ft_keys[0],
    oa_finetune,
};
