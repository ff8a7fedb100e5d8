/*
 * fuzz_http_openai.c - fuzz target for the openai backend's response
 * readers (plugins/backends/openai/openai_parse.c): the input is read as
 * a chat completion, a file, a file list, a job, a job list and an event
 * list.  Invariants checked: ids that reach URLs are plain, token counts
 * are never negative once present, and an accepted chat has a state.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/backends/openai/openai_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size + 1), why[160];
    struct oa_chat chat;
    struct oa_file file;
    struct oa_job job;
    struct oa_event ev[8];
    size_t n = 0;
    int found = 0;

    if (!body)
        return 0;
    memcpy(body, data, size);
    body[size] = '\0';
    if (oa_parse_chat(body, size, &chat, why, sizeof why) == 0) {
        if (chat.state < OA_CHAT_OK || chat.state > OA_CHAT_NULL ||
            chat.prompt_tokens < -1 || chat.completion_tokens < -1 ||
            (chat.content && strlen(chat.content) > chat.content_len))
            __builtin_trap();
        oa_chat_free(&chat);
    }
    if (oa_parse_file(body, size, &file, why, sizeof why) == 0 &&
        !oa_id_ok(file.id))
        __builtin_trap();
    if (oa_find_file(body, size, "ftsb-0123.jsonl", 10, &file, &found, why,
                     sizeof why) == 0 && found && !oa_id_ok(file.id))
        __builtin_trap();
    if (oa_parse_job(body, size, &job, why, sizeof why) == 0 &&
        (!oa_id_ok(job.id) || !job.status[0]))
        __builtin_trap();
    if (oa_find_job(body, size, "k", &job, &found, why, sizeof why) == 0 &&
        found && !oa_id_ok(job.id))
        __builtin_trap();
    if (oa_parse_events(body, size, ev, 8, &n, why, sizeof why) == 0 &&
        n > 8)
        __builtin_trap();
    free(body);
    return 0;
}
