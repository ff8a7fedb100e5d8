/*
 * mock_openai.c - a scripted, loopback-only mock of the OpenAI-compatible
 * endpoints ftsb uses (chat completions, files, fine-tuning jobs and
 * their events, models), for the HTTP fault matrix of reliability.md
 * §4.6.  Written in C with POSIX sockets and poll() so that the test
 * suite needs nothing a fresh Debian lacks.
 *
 * It listens on 127.0.0.1 at a port the kernel picks, writes the port to
 * --port-file, serves any number of keep-alive connections from one
 * thread, and logs one line per request (method, path, route, the reply
 * it chose, the client request id, whether the key matched - never the
 * key) so tests can count exactly what reached the server.  It exits by
 * itself after --max-requests requests or --max-seconds seconds.
 *
 * A scenario file scripts the replies, one step per line:
 *
 *     # ROUTE ACTION [key=value ...] [xN | x*] [msg=TEXT TO THE END]
 *     chat status=429 x3
 *     chat ok
 *     plan fail polls=2 msg=the training file has too few examples
 *
 * Each route (chat, upload, files, create, jobs, job, events, models,
 * moderations) consumes its own steps in order, a step repeating N times
 * (x* forever); when they run out the route answers normally.  "plan" lines describe
 * the jobs created next, in order (succeed, fail or cancel after a number
 * of retrievals; the last plan repeats).  Actions: ok, status=CODE (with
 * retry_after=S, retry_after_ms=MS, echo_auth=1), filter, refusal, null,
 * empty, badjson, nochoices, reset, stall, truncate, oversize (bytes=N,
 * chunked=1), redirect (to=URL), slow (delay_ms=N), for create: lost
 * (the job is created, then the connection is reset), and for
 * moderations: short (one result fewer than inputs).
 *
 * Moderations answer each input by markers in its text: "[mock:flag]" is
 * flagged for violence (score 0.93), "[mock:harass]" for harassment
 * (0.88), "[mock:borderline]" is not flagged but scores 0.75 for
 * violence; anything else scores 0.01 and 0.02.
 */
#define _GNU_SOURCE 1

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define MAX_CONN 512
#define MAX_HEAD (64 * 1024)
#define MAX_BODY (64 * 1024 * 1024)
#define MAX_STEPS 256
#define MAX_OBJ 256

/* ---- small helpers ------------------------------------------------------ */

struct buf {
    char *p;
    size_t len, cap;
};

#define PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))

static void die(const char *fmt, ...) PRINTF_LIKE(1, 2);
static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("mock_openai: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void buf_add(struct buf *b, const void *d, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;

        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(b->p = realloc(b->p, cap)))
            die("out of memory");
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void buf_printf(struct buf *b, const char *fmt, ...)
{
    char tmp[4096];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        buf_add(b, tmp, (size_t)n);
    } else {
        char *big = malloc((size_t)n + 1);

        if (!big)
            die("out of memory");
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        buf_add(b, big, (size_t)n);
        free(big);
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the script ---------------------------------------------------------- */

struct step {
    char route[16];
    char action[16];
    int count;              /* -1: forever */
    int status, retry_after, retry_after_ms, echo_auth, chunked;
    long bytes, delay_ms, polls;
    char to[256];
    char msg[512];
};

static struct step steps[MAX_STEPS];
static int n_steps;
static struct step plans[MAX_STEPS];
static int n_plans, next_plan;

static void parse_script(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[1024];

    if (!f)
        die("cannot open scenario '%s': %s", path, strerror(errno));
    while (fgets(line, sizeof line, f)) {
        struct step s;
        char *save = NULL, *tok, *msg;

        line[strcspn(line, "\r\n")] = '\0';
        memset(&s, 0, sizeof s);
        s.count = 1;
        if ((msg = strstr(line, "msg="))) {
            snprintf(s.msg, sizeof s.msg, "%s", msg + 4);
            *msg = '\0';
        }
        if (!(tok = strtok_r(line, " \t", &save)) || tok[0] == '#')
            continue;
        snprintf(s.route, sizeof s.route, "%s", tok);
        if (!(tok = strtok_r(NULL, " \t", &save)))
            die("scenario line for '%s' has no action", s.route);
        if (strncmp(tok, "status=", 7) == 0) {
            snprintf(s.action, sizeof s.action, "status");
            s.status = atoi(tok + 7);
        } else {
            snprintf(s.action, sizeof s.action, "%s", tok);
        }
        while ((tok = strtok_r(NULL, " \t", &save))) {
            if (strcmp(tok, "x*") == 0)
                s.count = -1;
            else if (tok[0] == 'x' && tok[1] >= '0' && tok[1] <= '9')
                s.count = atoi(tok + 1);
            else if (!strncmp(tok, "retry_after=", 12))
                s.retry_after = atoi(tok + 12);
            else if (!strncmp(tok, "retry_after_ms=", 15))
                s.retry_after_ms = atoi(tok + 15);
            else if (!strncmp(tok, "echo_auth=", 10))
                s.echo_auth = atoi(tok + 10);
            else if (!strncmp(tok, "chunked=", 8))
                s.chunked = atoi(tok + 8);
            else if (!strncmp(tok, "bytes=", 6))
                s.bytes = atol(tok + 6);
            else if (!strncmp(tok, "delay_ms=", 9))
                s.delay_ms = atol(tok + 9);
            else if (!strncmp(tok, "polls=", 6))
                s.polls = atol(tok + 6);
            else if (!strncmp(tok, "to=", 3))
                snprintf(s.to, sizeof s.to, "%s", tok + 3);
            else
                die("scenario: unknown option '%s'", tok);
        }
        if (strcmp(s.route, "plan") == 0) {
            if (n_plans < MAX_STEPS)
                plans[n_plans++] = s;
        } else if (n_steps < MAX_STEPS) {
            steps[n_steps++] = s;
        }
    }
    fclose(f);
}

/* The next step for route, consumed; NULL means "answer normally". */
static const struct step *take_step(const char *route)
{
    for (int i = 0; i < n_steps; i++) {
        struct step *s = &steps[i];

        if (strcmp(s->route, route) != 0 || s->count == 0)
            continue;
        if (s->count > 0)
            s->count--;
        return s;
    }
    return NULL;
}

/* ---- fine-tuning state ---------------------------------------------------- */

struct file_obj {
    char id[32], filename[128];
    long bytes;
};

struct job_obj {
    char id[32], model[128], file[64], suffix[64], meta_key[128];
    char outcome[16], msg[512];
    long polls, polls_needed;
    cJSON *hyper;
};

static struct file_obj files[MAX_OBJ];
static int n_files;
static struct job_obj jobs[MAX_OBJ];
static int n_jobs;

/* ---- connections ---------------------------------------------------------- */

struct conn {
    int fd;
    struct buf in, out;
    size_t out_off;
    int close_after;      /* close once out is written */
    int stalled;          /* wrote what it will; wait for the client */
    uint64_t send_at;     /* delayed reply */
};

static struct conn conns[MAX_CONN];
static int listen_fd = -1, port;
static FILE *logf;
static long n_requests, max_requests = 10000;
static uint64_t t0;
static char expect_key[4200];
static int have_expect_key;
static volatile sig_atomic_t start_listening, stop_now;

static void on_usr1(int sig)
{
    (void)sig;
    start_listening = 1;
}

static void on_term(int sig)
{
    (void)sig;
    stop_now = 1;
}

static void conn_close(struct conn *c, int reset)
{
    if (reset) {
        struct linger l = {1, 0};

        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close(c->fd);
    free(c->in.p);
    free(c->out.p);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* A header's value in the head (case-insensitive name), copied. */
static int header(const char *head, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    const char *p = strstr(head, "\r\n");

    while (p && p[2] != '\r') {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1, *e = strstr(v, "\r\n");
            size_t len;

            while (*v == ' ' || *v == '\t')
                v++;
            len = e ? (size_t)(e - v) : strlen(v);
            if (len >= cap)
                len = cap - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return 1;
        }
        p = strstr(p, "\r\n");
    }
    return 0;
}

static void json_escape(struct buf *b, const char *s, size_t max)
{
    for (size_t i = 0; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\')
            buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            buf_printf(b, "\\u%04x", c);
        else
            buf_add(b, &s[i], 1);
    }
}

static void reply(struct conn *c, int status, const char *extra_headers,
                  const char *body, size_t len)
{
    static const struct { int code; const char *text; } texts[] = {
        {200, "OK"}, {307, "Temporary Redirect"}, {400, "Bad Request"},
        {401, "Unauthorized"}, {403, "Forbidden"}, {404, "Not Found"},
        {408, "Request Timeout"}, {422, "Unprocessable Entity"},
        {429, "Too Many Requests"}, {500, "Internal Server Error"},
        {502, "Bad Gateway"}, {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };
    const char *text = "Status";

    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i].code == status)
            text = texts[i].text;
    buf_printf(&c->out,
               "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
               "Content-Length: %zu\r\nx-request-id: req-mock-%ld\r\n%s\r\n",
               status, text, len, n_requests, extra_headers ? extra_headers
                                                            : "");
    buf_add(&c->out, body, len);
}

static void reply_json(struct conn *c, int status, struct buf *body)
{
    reply(c, status, NULL, body->p ? body->p : "", body->len);
}

static void error_reply(struct conn *c, int status, const char *msg,
                        const char *extra)
{
    struct buf b = {0};

    buf_printf(&b, "{\"error\":{\"message\":\"");
    json_escape(&b, msg, 2000);
    buf_printf(&b, "\",\"type\":\"mock_error\",\"code\":%d}}", status);
    reply(c, status, extra, b.p, b.len);
    free(b.p);
}

/* The last user message of a chat request, for the echoed answer. */
static void chat_answer(struct conn *c, const char *body, const char *model,
                        const char *content_json, const char *finish,
                        const char *refusal_json)
{
    struct buf b = {0};

    buf_printf(&b,
               "{\"id\":\"chatcmpl-%ld\",\"object\":\"chat.completion\","
               "\"created\":1700000000,\"model\":\"%s\",\"choices\":[{"
               "\"index\":0,\"message\":{\"role\":\"assistant\","
               "\"content\":%s,\"refusal\":%s},\"finish_reason\":\"%s\"}],"
               "\"usage\":{\"prompt_tokens\":%zu,\"completion_tokens\":7,"
               "\"total_tokens\":%zu}}",
               n_requests, model, content_json, refusal_json, finish,
               strlen(body) / 4 + 1, strlen(body) / 4 + 8);
    reply_json(c, 200, &b);
    free(b.p);
}

static void route_chat(struct conn *c, const struct step *s, const char *body)
{
    const char *end = NULL;
    cJSON *req = cJSON_ParseWithOpts(body, &end, 1);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(req, "model");
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
    const char *last = "";
    struct buf content = {0};

    if (!cJSON_IsString(model) || !cJSON_IsArray(msgs)) {
        error_reply(c, 400, "the request needs 'model' and 'messages'", NULL);
        cJSON_Delete(req);
        return;
    }
    for (const cJSON *m = msgs->child; m; m = m->next) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "content");

        if (cJSON_IsString(r) && !strcmp(r->valuestring, "user") &&
            cJSON_IsString(t))
            last = t->valuestring;
    }
    buf_printf(&content, "\"mock answer: ");
    json_escape(&content, last, 60);
    buf_printf(&content, "\"");
    if (!s || !strcmp(s->action, "ok") || !strcmp(s->action, "slow"))
        chat_answer(c, body, model->valuestring, content.p, "stop", "null");
    else if (!strcmp(s->action, "filter"))
        chat_answer(c, body, model->valuestring, "null", "content_filter",
                    "null");
    else if (!strcmp(s->action, "refusal"))
        chat_answer(c, body, model->valuestring, "null", "stop",
                    "\"I'm sorry, I cannot help with that request.\"");
    else if (!strcmp(s->action, "null"))
        chat_answer(c, body, model->valuestring, "null", "stop", "null");
    else if (!strcmp(s->action, "empty"))
        chat_answer(c, body, model->valuestring, "\"\"", "stop", "null");
    else
        die("chat: unknown action '%s'", s->action);
    free(content.p);
    cJSON_Delete(req);
}

/* One moderation result, decided by the markers in the input. */
static void moderation_result(struct buf *b, const char *text)
{
    int flag = strstr(text, "[mock:flag]") != NULL;
    int harass = strstr(text, "[mock:harass]") != NULL;
    double violence = flag ? 0.93 : strstr(text, "[mock:borderline]") ? 0.75
                                                                      : 0.01;

    buf_printf(b, "{\"flagged\":%s,\"categories\":{\"harassment\":%s,"
               "\"violence\":%s},\"category_scores\":{\"harassment\":%.2f,"
               "\"violence\":%.2f}}", flag || harass ? "true" : "false",
               harass ? "true" : "false", flag ? "true" : "false",
               harass ? 0.88 : 0.02, violence);
}

static void route_moderations(struct conn *c, const struct step *s,
                              const char *body)
{
    const char *end = NULL;
    cJSON *req = cJSON_ParseWithOpts(body, &end, 1);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(req, "model");
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(req, "input");
    struct buf out = {0};
    int n = 0, first = 1;

    if (cJSON_IsString(input)) {
        n = 1;
    } else if (cJSON_IsArray(input)) {
        for (const cJSON *x = input->child; x; x = x->next, n++)
            if (!cJSON_IsString(x))
                n = -1000000;
    }
    if (n <= 0) {
        error_reply(c, 400, "'input' must be a string or an array of "
                    "strings", NULL);
        cJSON_Delete(req);
        return;
    }
    if (s && !strcmp(s->action, "short"))
        n--;
    buf_printf(&out, "{\"id\":\"modr-%ld\",\"model\":\"", n_requests);
    json_escape(&out, cJSON_IsString(model) ? model->valuestring
                                            : "mock-moderation", 120);
    buf_printf(&out, "\",\"results\":[");
    if (cJSON_IsString(input)) {
        if (n > 0)
            moderation_result(&out, input->valuestring);
    } else {
        for (const cJSON *x = input->child; x && n > 0; x = x->next, n--) {
            if (!first)
                buf_printf(&out, ",");
            first = 0;
            moderation_result(&out, x->valuestring);
        }
    }
    buf_printf(&out, "]}");
    reply_json(c, 200, &out);
    free(out.p);
    cJSON_Delete(req);
}

static void file_json(struct buf *b, const struct file_obj *f)
{
    buf_printf(b, "{\"id\":\"%s\",\"object\":\"file\",\"bytes\":%ld,"
               "\"created_at\":1700000000,\"filename\":\"", f->id, f->bytes);
    json_escape(b, f->filename, 120);
    buf_printf(b, "\",\"purpose\":\"fine-tune\"}");
}

/* A multipart upload: the part named "file" gives filename and size. */
static void route_upload(struct conn *c, const char *head, const char *body,
                         size_t body_len)
{
    char ctype[512], boundary[256], delim[300];
    const char *b, *fn, *data, *stop;
    struct file_obj *f;
    struct buf out = {0};

    if (!header(head, "content-type", ctype, sizeof ctype) ||
        !(b = strstr(ctype, "boundary="))) {
        error_reply(c, 400, "expected multipart/form-data", NULL);
        return;
    }
    snprintf(boundary, sizeof boundary, "%s", b + 9);
    snprintf(delim, sizeof delim, "\r\n--%s", boundary);
    fn = memmem(body, body_len, "filename=\"", 10);
    data = fn ? memmem(fn, body_len - (size_t)(fn - body), "\r\n\r\n", 4)
              : NULL;
    stop = data ? memmem(data + 4, body_len - (size_t)(data + 4 - body),
                         delim, strlen(delim))
                : NULL;
    if (!fn || !data || !stop || n_files >= MAX_OBJ ||
        !memmem(body, body_len, "name=\"purpose\"", 14)) {
        error_reply(c, 400, "expected a 'file' part and a 'purpose'", NULL);
        return;
    }
    f = &files[n_files++];
    snprintf(f->id, sizeof f->id, "file-mock%d", n_files);
    {
        const char *q = strchr(fn + 10, '"');
        size_t n = q ? (size_t)(q - fn - 10) : 0;

        if (n >= sizeof f->filename)
            n = sizeof f->filename - 1;
        memcpy(f->filename, fn + 10, n);
        f->filename[n] = '\0';
    }
    f->bytes = (long)(stop - (data + 4));
    file_json(&out, f);
    reply_json(c, 200, &out);
    free(out.p);
}

static void route_files(struct conn *c)
{
    struct buf out = {0};

    buf_printf(&out, "{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < n_files; i++) {
        if (i)
            buf_printf(&out, ",");
        file_json(&out, &files[i]);
    }
    buf_printf(&out, "],\"has_more\":false}");
    reply_json(c, 200, &out);
    free(out.p);
}

static const char *job_status(const struct job_obj *j)
{
    if (j->polls >= j->polls_needed) {
        if (!strcmp(j->outcome, "fail"))
            return "failed";
        if (!strcmp(j->outcome, "cancel"))
            return "cancelled";
        return "succeeded";
    }
    return j->polls == 0 ? "validating_files" : "running";
}

static void job_json(struct buf *b, const struct job_obj *j)
{
    const char *st = job_status(j);
    char *hyper = j->hyper ? cJSON_PrintUnformatted(j->hyper) : NULL;

    buf_printf(b, "{\"object\":\"fine_tuning.job\",\"id\":\"%s\","
               "\"model\":\"%s\",\"created_at\":1700000000,\"status\":\"%s\","
               "\"training_file\":\"%s\",\"hyperparameters\":%s,",
               j->id, j->model, st, j->file, hyper ? hyper : "{}");
    cJSON_free(hyper);
    if (!strcmp(st, "succeeded"))
        buf_printf(b, "\"fine_tuned_model\":\"ft:%s:mock:%s:%s\","
                   "\"trained_tokens\":1234,", j->model,
                   j->suffix[0] ? j->suffix : "none", j->id + 6);
    else
        buf_printf(b, "\"fine_tuned_model\":null,");
    if (!strcmp(st, "failed")) {
        buf_printf(b, "\"error\":{\"code\":\"invalid_training_file\","
                   "\"message\":\"");
        json_escape(b, j->msg[0] ? j->msg : "the job failed", 500);
        buf_printf(b, "\",\"param\":\"training_file\"},");
    } else {
        buf_printf(b, "\"error\":null,");
    }
    buf_printf(b, "\"metadata\":");
    if (j->meta_key[0]) {
        buf_printf(b, "{\"ftsb_key\":\"");
        json_escape(b, j->meta_key, 120);
        buf_printf(b, "\"}}");
    } else {
        buf_printf(b, "null}");
    }
}

static void route_create(struct conn *c, const char *body)
{
    const char *end = NULL;
    cJSON *req = cJSON_ParseWithOpts(body, &end, 1);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(req, "model");
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(req, "training_file");
    const cJSON *suffix = cJSON_GetObjectItemCaseSensitive(req, "suffix");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(req, "metadata");
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(meta, "ftsb_key");
    const cJSON *hyper = cJSON_GetObjectItemCaseSensitive(req,
                                                          "hyperparameters");
    struct job_obj *j;
    struct buf out = {0};
    int known = 0;

    if (!cJSON_IsString(model) || !cJSON_IsString(file)) {
        error_reply(c, 400, "the request needs 'model' and 'training_file'",
                    NULL);
        cJSON_Delete(req);
        return;
    }
    for (int i = 0; i < n_files; i++)
        known |= !strcmp(files[i].id, file->valuestring);
    if (!known) {
        error_reply(c, 400, "invalid training_file: no such file", NULL);
        cJSON_Delete(req);
        return;
    }
    if (n_jobs >= MAX_OBJ)
        die("too many jobs");
    j = &jobs[n_jobs++];
    memset(j, 0, sizeof *j);
    snprintf(j->id, sizeof j->id, "ftjob-mock%d", n_jobs);
    snprintf(j->model, sizeof j->model, "%s", model->valuestring);
    snprintf(j->file, sizeof j->file, "%s", file->valuestring);
    if (cJSON_IsString(suffix))
        snprintf(j->suffix, sizeof j->suffix, "%s", suffix->valuestring);
    if (cJSON_IsString(key))
        snprintf(j->meta_key, sizeof j->meta_key, "%s", key->valuestring);
    j->hyper = hyper ? cJSON_Duplicate(hyper, 1) : NULL;
    if (n_plans) {
        const struct step *p = &plans[next_plan < n_plans ? next_plan
                                                          : n_plans - 1];

        next_plan++;
        snprintf(j->outcome, sizeof j->outcome, "%s", p->action);
        snprintf(j->msg, sizeof j->msg, "%s", p->msg);
        j->polls_needed = p->polls > 0 ? p->polls : 2;
    } else {
        snprintf(j->outcome, sizeof j->outcome, "succeed");
        j->polls_needed = 2;
    }
    job_json(&out, j);
    reply_json(c, 200, &out);
    free(out.p);
    cJSON_Delete(req);
}

static struct job_obj *find_job(const char *id, size_t len)
{
    for (int i = 0; i < n_jobs; i++)
        if (strlen(jobs[i].id) == len && !memcmp(jobs[i].id, id, len))
            return &jobs[i];
    return NULL;
}

static void route_jobs(struct conn *c, const char *query)
{
    struct buf out = {0};
    char want[200] = "";
    const char *m = query ? strstr(query, "metadata%5Bftsb_key%5D=") : NULL;
    int first = 1;

    if (!m && query)
        m = strstr(query, "metadata[ftsb_key]=");
    if (m) {
        const char *v = strchr(m, '=') + 1;
        size_t n = strcspn(v, "&");

        if (n >= sizeof want)
            n = sizeof want - 1;
        memcpy(want, v, n);
        want[n] = '\0';
    }
    buf_printf(&out, "{\"object\":\"list\",\"data\":[");
    for (int i = n_jobs - 1; i >= 0; i--) {
        if (want[0] && strcmp(jobs[i].meta_key, want) != 0)
            continue;
        if (!first)
            buf_printf(&out, ",");
        first = 0;
        job_json(&out, &jobs[i]);
    }
    buf_printf(&out, "],\"has_more\":false}");
    reply_json(c, 200, &out);
    free(out.p);
}

static void route_job(struct conn *c, struct job_obj *j)
{
    struct buf out = {0};

    if (j->polls < j->polls_needed)
        j->polls++;
    job_json(&out, j);
    reply_json(c, 200, &out);
    free(out.p);
}

static void route_events(struct conn *c, const struct job_obj *j)
{
    struct buf out = {0};
    long total = j->polls_needed * 10;

    buf_printf(&out, "{\"object\":\"list\",\"data\":[");
    /* newest first, as the API lists them */
    for (long k = j->polls; k >= 1; k--) {
        buf_printf(&out, "%s{\"object\":\"fine_tuning.job.event\","
                   "\"id\":\"ftevent-%s-%ld\",\"created_at\":%ld,"
                   "\"level\":\"info\",\"message\":\"Step %ld/%ld: training "
                   "loss=%.3f\",\"type\":\"metrics\",\"data\":{\"step\":%ld,"
                   "\"total_steps\":%ld,\"train_loss\":%.3f}}",
                   k == j->polls ? "" : ",", j->id, k, 1700000000L + k,
                   k * 10, total, 2.0 / (double)k, k * 10, total,
                   2.0 / (double)k);
    }
    buf_printf(&out, "%s{\"object\":\"fine_tuning.job.event\",\"id\":"
               "\"ftevent-%s-0\",\"created_at\":1700000000,\"level\":"
               "\"info\",\"message\":\"Created fine-tuning job: %s\","
               "\"type\":\"message\",\"data\":{}}", j->polls ? "," : "",
               j->id, j->id);
    buf_printf(&out, "],\"has_more\":false}");
    reply_json(c, 200, &out);
    free(out.p);
}

/* Actions any route may take instead of answering: errors and faults.
 * Returns 1 when the request was handled. */
static int fault(struct conn *c, const struct step *s, const char *head,
                 const char *path)
{
    char extra[512] = "", auth[4200] = "";

    if (!s)
        return 0;
    if (!strcmp(s->action, "status")) {
        char msg[4800];

        if (s->retry_after)
            snprintf(extra, sizeof extra, "Retry-After: %d\r\n",
                     s->retry_after);
        if (s->retry_after_ms)
            snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
                     "retry-after-ms: %d\r\n", s->retry_after_ms);
        header(head, "authorization", auth, sizeof auth);
        snprintf(msg, sizeof msg, "%s%s%s",
                 s->msg[0] ? s->msg : "mock failure",
                 s->echo_auth ? "; you sent: " : "",
                 s->echo_auth ? auth : "");
        error_reply(c, s->status, msg, extra);
        return 1;
    }
    if (!strcmp(s->action, "badjson")) {
        static const char b[] = "{\"id\": \"x\", \"choices\": [";

        reply(c, 200, NULL, b, sizeof b - 1);
        return 1;
    }
    if (!strcmp(s->action, "nochoices")) {
        static const char b[] = "{\"id\":\"chatcmpl-1\",\"object\":"
                                "\"chat.completion\",\"model\":\"m\"}";

        reply(c, 200, NULL, b, sizeof b - 1);
        return 1;
    }
    if (!strcmp(s->action, "reset")) {
        c->close_after = 2;   /* reset at once, nothing written */
        return 1;
    }
    if (!strcmp(s->action, "stall")) {
        buf_printf(&c->out, "HTTP/1.1 200 OK\r\nContent-Type: "
                   "application/json\r\nContent-Length: 500\r\n\r\n{\"id\":");
        c->stalled = 1;
        return 1;
    }
    if (!strcmp(s->action, "truncate")) {
        buf_printf(&c->out, "HTTP/1.1 200 OK\r\nContent-Type: "
                   "application/json\r\nContent-Length: 400\r\n\r\n{\"id\":"
                   "\"chatcmpl-cut\",\"choices\":[");
        c->close_after = 1;
        return 1;
    }
    if (!strcmp(s->action, "oversize")) {
        long n = s->bytes > 0 ? s->bytes : 1 << 20;
        char *fill = malloc((size_t)n);

        if (!fill)
            die("out of memory");
        memset(fill, 'x', (size_t)n);
        if (s->chunked) {
            buf_printf(&c->out, "HTTP/1.1 200 OK\r\nContent-Type: "
                       "application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "%lx\r\n", n);
            buf_add(&c->out, fill, (size_t)n);
            buf_printf(&c->out, "\r\n0\r\n\r\n");
        } else {
            reply(c, 200, NULL, fill, (size_t)n);
        }
        free(fill);
        c->close_after = 1;
        return 1;
    }
    if (!strcmp(s->action, "redirect")) {
        char loc[1200];

        if (s->to[0])
            snprintf(loc, sizeof loc, "Location: %s\r\n", s->to);
        else
            snprintf(loc, sizeof loc,
                     "Location: http://localhost:%d%s\r\n", port, path);
        reply(c, 307, loc, "", 0);
        return 1;
    }
    return 0;
}

/* Handles one complete request; returns 0, or -1 to close. */
static void handle(struct conn *c, const char *head, const char *body,
                   size_t body_len)
{
    char method[16] = "", target[1024] = "", path[1024], *query;
    char auth[4200], crid[128] = "-", host[256] = "-";
    const char *route = "none", *action = "ok", *authst = "none";
    const struct step *s = NULL;

    sscanf(head, "%15s %1023s", method, target);
    snprintf(path, sizeof path, "%s", target);
    if ((query = strchr(path, '?')))
        *query++ = '\0';
    header(head, "x-client-request-id", crid, sizeof crid);
    header(head, "host", host, sizeof host);
    if (header(head, "authorization", auth, sizeof auth)) {
        authst = "present";
        if (have_expect_key)
            authst = strncmp(auth, "Bearer ", 7) == 0 &&
                             strcmp(auth + 7, expect_key) == 0
                         ? "ok"
                         : "wrong";
    }
    n_requests++;
    if (!strcmp(method, "POST") && !strcmp(path, "/v1/chat/completions"))
        route = "chat";
    else if (!strcmp(method, "POST") && !strcmp(path, "/v1/files"))
        route = "upload";
    else if (!strcmp(method, "GET") && !strcmp(path, "/v1/files"))
        route = "files";
    else if (!strcmp(method, "POST") && !strcmp(path, "/v1/fine_tuning/jobs"))
        route = "create";
    else if (!strcmp(method, "GET") && !strcmp(path, "/v1/fine_tuning/jobs"))
        route = "jobs";
    else if (!strcmp(method, "GET") &&
             !strncmp(path, "/v1/fine_tuning/jobs/", 21))
        route = strstr(path + 21, "/events") ? "events" : "job";
    else if (!strcmp(method, "GET") && !strcmp(path, "/v1/models"))
        route = "models";
    else if (!strcmp(method, "POST") && !strcmp(path, "/v1/moderations"))
        route = "moderations";
    if (strcmp(route, "none"))
        s = take_step(route);
    if (s)
        action = s->action;
    fprintf(logf, "n=%ld t=%llu %s %s route=%s action=%s crid=%s auth=%s "
            "host=%s bytes=%zu\n", n_requests,
            (unsigned long long)(now_ms() - t0), method, path, route, action,
            crid, authst, host, body_len);
    fflush(logf);
    if (s && !strcmp(s->action, "slow"))
        c->send_at = now_ms() + (uint64_t)s->delay_ms;
    if (fault(c, s, head, path))
        return;
    if (!strcmp(route, "chat")) {
        route_chat(c, s, body);
    } else if (!strcmp(route, "upload")) {
        route_upload(c, head, body, body_len);
    } else if (!strcmp(route, "files")) {
        route_files(c);
    } else if (!strcmp(route, "create")) {
        route_create(c, body);
        if (s && !strcmp(s->action, "lost")) {
            /* the job exists, but its answer never arrives */
            c->out.len = 0;
            c->close_after = 2;
        }
    } else if (!strcmp(route, "jobs")) {
        route_jobs(c, query);
    } else if (!strcmp(route, "job") || !strcmp(route, "events")) {
        const char *id = path + 21;
        size_t len = strcspn(id, "/");
        struct job_obj *j = find_job(id, len);

        if (!j)
            error_reply(c, 404, "no such fine-tuning job", NULL);
        else if (!strcmp(route, "job"))
            route_job(c, j);
        else
            route_events(c, j);
    } else if (!strcmp(route, "moderations")) {
        route_moderations(c, s, body);
    } else if (!strcmp(route, "models")) {
        static const char b[] = "{\"object\":\"list\",\"data\":[{\"id\":"
                                "\"mock-model\",\"object\":\"model\"}]}";

        reply(c, 200, NULL, b, sizeof b - 1);
    } else {
        error_reply(c, 404, "unknown route", NULL);
    }
}

/* Parses as many complete requests as the input holds (one at a time:
 * the next waits until the reply is out). */
static void process(struct conn *c)
{
    char *end, cl[32];
    size_t head_len, body_len = 0;

    if (c->out.len || c->stalled || c->close_after)
        return;
    if (!c->in.p || !(end = memmem(c->in.p, c->in.len, "\r\n\r\n", 4))) {
        if (c->in.len > MAX_HEAD)
            conn_close(c, 0);
        return;
    }
    head_len = (size_t)(end - c->in.p) + 4;
    {
        char save = c->in.p[head_len - 2];

        c->in.p[head_len - 2] = '\0';   /* head as a string, CRLF kept */
        if (header(c->in.p, "content-length", cl, sizeof cl))
            body_len = strtoul(cl, NULL, 10);
        if (header(c->in.p, "transfer-encoding", cl, sizeof cl)) {
            c->in.p[head_len - 2] = save;
            error_reply(c, 411, "chunked request bodies are not supported",
                        NULL);
            c->close_after = 1;
            return;
        }
        c->in.p[head_len - 2] = save;
    }
    if (body_len > MAX_BODY) {
        conn_close(c, 0);
        return;
    }
    if (c->in.len < head_len + body_len)
        return;
    {
        char *head = malloc(head_len + 1), *body = malloc(body_len + 1);

        if (!head || !body)
            die("out of memory");
        memcpy(head, c->in.p, head_len);
        head[head_len] = '\0';
        memcpy(body, c->in.p + head_len, body_len);
        body[body_len] = '\0';
        memmove(c->in.p, c->in.p + head_len + body_len,
                c->in.len - head_len - body_len);
        c->in.len -= head_len + body_len;
        handle(c, head, body, body_len);
        free(head);
        free(body);
    }
}

static void usage(void)
{
    fputs("usage: mock_openai [--scenario FILE] --port-file FILE "
          "[--log FILE]\n       [--max-requests N] [--max-seconds S] "
          "[--hold-listen] [--expect-key-env VAR]\n", stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *port_file = NULL, *log_path = "/dev/null", *scenario = NULL;
    long max_seconds = 60;
    int hold = 0;
    struct sockaddr_in addr;
    socklen_t alen = sizeof addr;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "--hold-listen")) {
            hold = 1;
        } else if (i + 1 < argc && !strcmp(a, "--scenario")) {
            scenario = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--port-file")) {
            port_file = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--log")) {
            log_path = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--max-requests")) {
            max_requests = atol(argv[++i]);
        } else if (i + 1 < argc && !strcmp(a, "--max-seconds")) {
            max_seconds = atol(argv[++i]);
        } else if (i + 1 < argc && !strcmp(a, "--expect-key-env")) {
            const char *v = getenv(argv[++i]);

            if (v) {
                snprintf(expect_key, sizeof expect_key, "%s", v);
                have_expect_key = 1;
            }
        } else {
            usage();
        }
    }
    if (!port_file)
        usage();
    if (scenario)
        parse_script(scenario);
    if (!(logf = fopen(log_path, "a")))
        die("cannot open log '%s': %s", log_path, strerror(errno));
    signal(SIGPIPE, SIG_IGN);
    signal(SIGUSR1, on_usr1);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    t0 = now_ms();
    for (int i = 0; i < MAX_CONN; i++)
        conns[i].fd = -1;
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd < 0)
        die("socket: %s", strerror(errno));
    {
        int one = 1;

        setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);   /* loopback only */
    addr.sin_port = 0;
    if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        getsockname(listen_fd, (struct sockaddr *)&addr, &alen) != 0)
        die("bind: %s", strerror(errno));
    port = ntohs(addr.sin_port);
    if (!hold && listen(listen_fd, 128) != 0)
        die("listen: %s", strerror(errno));
    {
        char tmp[4096];
        FILE *pf;

        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        if (!(pf = fopen(tmp, "w")))
            die("cannot write '%s': %s", tmp, strerror(errno));
        fprintf(pf, "%d\n", port);
        fclose(pf);
        if (rename(tmp, port_file) != 0)
            die("cannot rename '%s': %s", tmp, strerror(errno));
    }
    fcntl(listen_fd, F_SETFL, O_NONBLOCK);
    while (!stop_now && n_requests < max_requests &&
           now_ms() - t0 < (uint64_t)max_seconds * 1000) {
        struct pollfd pfd[MAX_CONN + 1];
        int idx[MAX_CONN + 1], np = 0;
        uint64_t now = now_ms();
        int timeout = 50;

        if (hold && start_listening) {
            char done_path[4096];
            FILE *df;

            if (listen(listen_fd, 128) != 0)
                die("listen: %s", strerror(errno));
            hold = 0;
            snprintf(done_path, sizeof done_path, "%s.listening", port_file);
            if ((df = fopen(done_path, "w")))
                fclose(df);
        }
        if (!hold) {
            pfd[np].fd = listen_fd;
            pfd[np].events = POLLIN;
            idx[np++] = -1;
        }
        for (int i = 0; i < MAX_CONN; i++) {
            struct conn *c = &conns[i];

            if (c->fd < 0)
                continue;
            pfd[np].fd = c->fd;
            pfd[np].events = POLLIN;
            if (c->out.len > c->out_off && c->send_at <= now)
                pfd[np].events |= POLLOUT;
            idx[np++] = i;
        }
        if (poll(pfd, (nfds_t)np, timeout) < 0) {
            if (errno == EINTR)
                continue;
            die("poll: %s", strerror(errno));
        }
        for (int k = 0; k < np; k++) {
            if (idx[k] < 0) {
                if (pfd[k].revents & POLLIN) {
                    int fd;

                    while ((fd = accept4(listen_fd, NULL, NULL,
                                         SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
                        int slot = -1, one = 1;

                        for (int i = 0; i < MAX_CONN && slot < 0; i++)
                            if (conns[i].fd < 0)
                                slot = i;
                        if (slot < 0) {
                            close(fd);
                            continue;
                        }
                        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
                                   sizeof one);
                        conns[slot].fd = fd;
                    }
                }
                continue;
            }
            {
                struct conn *c = &conns[idx[k]];

                if (c->fd < 0)
                    continue;
                if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) {
                    char tmp[65536];
                    ssize_t got = read(c->fd, tmp, sizeof tmp);

                    if (got <= 0) {
                        if (got < 0 && (errno == EAGAIN || errno == EINTR))
                            continue;
                        conn_close(c, 0);
                        continue;
                    }
                    if (!c->stalled)
                        buf_add(&c->in, tmp, (size_t)got);
                    process(c);
                    if (c->close_after == 2) {
                        conn_close(c, 1);
                        continue;
                    }
                }
                if (c->out.len > c->out_off && c->send_at <= now_ms()) {
                    ssize_t put = send(c->fd, c->out.p + c->out_off,
                                       c->out.len - c->out_off, MSG_NOSIGNAL);

                    if (put < 0 && errno != EAGAIN && errno != EINTR) {
                        conn_close(c, 0);
                        continue;
                    }
                    if (put > 0)
                        c->out_off += (size_t)put;
                }
                if (c->out.len && c->out_off == c->out.len && !c->stalled) {
                    if (c->close_after) {
                        conn_close(c, 0);
                        continue;
                    }
                    c->out.len = c->out_off = 0;
                    c->send_at = 0;
                    process(c);   /* a request already waiting */
                    if (c->close_after == 2)
                        conn_close(c, 1);
                }
            }
        }
    }
    /* let the last replies go out */
    for (int round = 0; round < 20; round++) {
        int busy = 0;

        for (int i = 0; i < MAX_CONN; i++) {
            struct conn *c = &conns[i];

            if (c->fd >= 0 && c->out.len > c->out_off && !c->stalled) {
                ssize_t put = send(c->fd, c->out.p + c->out_off,
                                   c->out.len - c->out_off, MSG_NOSIGNAL);

                if (put > 0)
                    c->out_off += (size_t)put;
                busy |= c->out_off < c->out.len;
            }
        }
        if (!busy)
            break;
        usleep(10000);
    }
    for (int i = 0; i < MAX_CONN; i++)
        if (conns[i].fd >= 0)
            conn_close(&conns[i], 0);
    for (int i = 0; i < n_jobs; i++)
        cJSON_Delete(jobs[i].hyper);
    fclose(logf);
    return 0;
}
