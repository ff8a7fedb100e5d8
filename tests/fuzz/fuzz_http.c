/*
 * fuzz_http.c - fuzz target for the HTTP client's parsers (core/net/
 * http_parse.c) and the key's redaction: the input is split into header
 * lines and fed to the response-head parser, and the whole input is read
 * as an error body, a Retry-After value and text to redact.  Invariants
 * checked: the parsed head stays within its bounds, the error text is one
 * clean line, and redaction leaves no trace of the key.
 */
#include "../../core/ftsb_setup.h"

#include "../../core/net/http_parse.h"
#include "../../core/net/net.h"
#include "../../core/util/strbuf.h"

static const char key[] = "sk-fuzz-0123456789abcdef";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_head h;
    struct strbuf body = STRBUF_INIT, out = STRBUF_INIT;
    size_t i = 0;

    http_head_reset(&h);
    while (i < size) {
        size_t j = i;

        while (j < size && data[j] != '\n')
            j++;
        http_head_line(&h, (const char *)data + i, j - i + (j < size),
                       1714564800);
        if (h.status && (h.status < 100 || h.status > 999))
            __builtin_trap();
        if (strlen(h.location) >= sizeof h.location ||
            strlen(h.request_id) >= sizeof h.request_id)
            __builtin_trap();
        i = j + 1;
    }
    http_parse_retry_after((const char *)data, size, 1714564800);
    http_parse_retry_after_ms((const char *)data, size);
    if (strbuf_add(&body, data, size) == FTSB_OK) {
        if (http_error_text(body.buf, body.len, 300, &out) == FTSB_OK) {
            if (memchr(out.buf, '\n', out.len) || out.len > 300 + 3)
                __builtin_trap();
        }
        if (net_redact(&body, key, sizeof key - 1) == FTSB_OK &&
            memmem(body.buf, body.len, key, 12))
            __builtin_trap();
    }
    strbuf_release(&body);
    strbuf_release(&out);
    return 0;
}
