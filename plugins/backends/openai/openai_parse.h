/*
 * openai_parse.h - reading the JSON the OpenAI-compatible endpoints send
 * back: chat completions, file objects and lists, fine-tuning jobs and
 * lists, job events.  Pure functions over a body (no host calls), so the
 * fuzz target tests/fuzz/fuzz_http_openai.c drives them directly.
 *
 * Every body is size-checked before it is parsed, parsed with
 * cJSON_ParseWithOpts requiring the whole text to be one JSON value,
 * members we read must not be duplicated, integers must be exact
 * (integral, 0 <= n <= 2^53), and ids that go into URLs must be plain
 * ([A-Za-z0-9_.-], no ".."), so a hostile server cannot steer a later
 * request elsewhere.  On failure a function returns -1 and writes a short
 * reason ("missing 'choices'") into why.
 */
#ifndef FTSB_OPENAI_PARSE_H
#define FTSB_OPENAI_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define OA_BODY_MAX (64u << 20)
#define OA_ID_MAX 128
#define OA_TEXT_MAX 512

/* Chat completion outcomes (mapped onto FTSB_GEN_* by the backend). */
#define OA_CHAT_OK 0
#define OA_CHAT_FILTERED 1   /* finish_reason "content_filter" */
#define OA_CHAT_REFUSED 2    /* message.refusal set */
#define OA_CHAT_NULL 3       /* content null, no filter, no refusal */

struct oa_chat {
    int state;
    char *content;           /* malloc'd; NULL when null */
    size_t content_len;
    char *refusal;           /* malloc'd; NULL when absent */
    char finish[32];         /* "" when absent */
    int64_t prompt_tokens;   /* -1 when absent */
    int64_t completion_tokens;
};

/* body must be NUL-terminated at len.  Frees nothing on failure
 * (out is left empty). */
int oa_parse_chat(const char *body, size_t len, struct oa_chat *out,
                  char *why, size_t why_cap);
void oa_chat_free(struct oa_chat *c);

struct oa_file {
    char id[OA_ID_MAX];
    char filename[OA_TEXT_MAX];
    int64_t bytes;           /* -1 when absent */
};

int oa_parse_file(const char *body, size_t len, struct oa_file *out,
                  char *why, size_t why_cap);
/* Finds in a file list the first file named filename of size bytes:
 * returns 0 with *found 1 and out filled, or *found 0. */
int oa_find_file(const char *body, size_t len, const char *filename,
                 int64_t bytes, struct oa_file *out, int *found, char *why,
                 size_t why_cap);

struct oa_job {
    char id[OA_ID_MAX];
    char status[32];
    char fine_tuned_model[256];  /* "" until it succeeded */
    char error_code[64];
    char error_message[OA_TEXT_MAX];
    char meta_key[OA_ID_MAX];    /* metadata.ftsb_key, "" when absent */
    int64_t trained_tokens;      /* -1 when absent */
};

int oa_parse_job(const char *body, size_t len, struct oa_job *out,
                 char *why, size_t why_cap);
/* Finds in a job list the first job whose metadata.ftsb_key is key. */
int oa_find_job(const char *body, size_t len, const char *key,
                struct oa_job *out, int *found, char *why, size_t why_cap);

struct oa_event {
    char id[OA_ID_MAX];
    char level[16];
    char message[OA_TEXT_MAX];
    int64_t step, total_steps;   /* -1 when absent */
};

/* Up to cap events of a list, in the order listed (newest first for the
 * API), into ev; *n gets how many. */
int oa_parse_events(const char *body, size_t len, struct oa_event *ev,
                    size_t cap, size_t *n, char *why, size_t why_cap);

/* Non-zero when id is 1 to OA_ID_MAX-1 of [A-Za-z0-9_.-], not starting
 * with '.' and without "..". */
int oa_id_ok(const char *id);

#endif /* FTSB_OPENAI_PARSE_H */
