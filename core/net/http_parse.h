/*
 * http_parse.h - the small parsers of the HTTP client: response header
 * lines (status, Retry-After, retry-after-ms, Content-Length, Location,
 * the provider's request id), and the provider's error message inside an
 * error body.  They read bytes from the network, so each checks lengths
 * and digit counts before it converts or copies anything, never
 * allocates on the header path, and never trusts a number to fit.  Pure
 * functions: the fuzz target tests/fuzz/fuzz_http.c drives them.
 */
#ifndef FTSB_NET_HTTP_PARSE_H
#define FTSB_NET_HTTP_PARSE_H

#include "../ftsb_setup.h"
#include "../util/strbuf.h"

/* Longest header line we look into; longer lines are skipped whole. */
#define HTTP_LINE_MAX 8192

/* What the client keeps from a response's header section. */
struct http_head {
    int status;                 /* 0 until a status line was seen */
    int has_length;
    uint64_t content_length;
    int64_t retry_after_ms;     /* -1 when absent or unreadable */
    char location[512];         /* "" when absent; truncated */
    char request_id[128];       /* x-request-id, "" when absent */
};

void http_head_reset(struct http_head *h);

/*
 * Feeds one header line as curl hands it over (with its CRLF, no NUL).  A
 * status line ("HTTP/1.1 429 Too Many Requests", "HTTP/2 200") starts a
 * new head, so that interim 100 responses and the like are forgotten.
 * now_s is the current wall-clock time, for Retry-After given as a date.
 * Malformed lines are ignored (a malformed status line leaves status 0,
 * which the client reports as a broken response).
 */
void http_head_line(struct http_head *h, const char *line, size_t len,
                    int64_t now_s);

/* Parses "HTTP/x[.y] NNN ..." into *status (100..999): 0 or -1. */
int http_parse_status_line(const char *line, size_t len, int *status);

/* Retry-After's value: delta-seconds or an IMF-fixdate (RFC 9110), as
 * milliseconds from now (0 when the date is past).  -1 when malformed.
 * Values are capped at about 10 days. */
int64_t http_parse_retry_after(const char *v, size_t len, int64_t now_s);

/* retry-after-ms: a non-negative decimal number of milliseconds, with an
 * optional fraction (rounded up).  -1 when malformed. */
int64_t http_parse_retry_after_ms(const char *v, size_t len);

/* A Content-Length value: digits only, at most 19 of them.  0 or -1. */
int http_parse_u64(const char *v, size_t len, uint64_t *out);

/*
 * Appends to out a one-line account of an error body, at most max bytes
 * of text: the provider's message when the body is JSON of a known shape
 * ({"error":{"message":...}}, {"error":"..."}, {"message":...},
 * {"detail":...}), else the start of the body.  Control characters
 * become spaces, runs of spaces one space, and a cut text ends in "...".
 * Appends nothing for an empty body.  body[len] must be a NUL (a strbuf's
 * is).  FTSB_E_NOMEM only.
 */
ftsb_status http_error_text(const char *body, size_t len, size_t max,
                            struct strbuf *out);

/* Appends text as one clean line (as http_error_text does for a
 * non-JSON body). */
ftsb_status http_clean_line(const char *text, size_t len, size_t max,
                            struct strbuf *out);

#endif /* FTSB_NET_HTTP_PARSE_H */
