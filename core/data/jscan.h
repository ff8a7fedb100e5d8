/*
 * jscan.h - a streaming JSON syntax checker.  It sees the input a chunk at
 * a time and keeps only a stack of open brackets, so it can (1) check a
 * JSONL line before cJSON builds a tree, with a precise reason ("expected
 * ',' or '}'") and byte position, which cJSON does not give, and (2) find
 * the byte span of each element of a top-level array of any size without
 * holding the array (the Alpaca reader).  It is stricter than cJSON:
 * control characters in strings, \u0000, unpaired surrogates, NaN,
 * nesting beyond JSCAN_MAX_DEPTH and numbers longer than cJSON reads are
 * rejected.
 */
#ifndef FTSB_JSCAN_H
#define FTSB_JSCAN_H

#include "../ftsb_setup.h"

/* cJSON's own limit (CJSON_NESTING_LIMIT) is 1000 too. */
#define JSCAN_MAX_DEPTH 1000
/* cJSON parses at most this many characters of a number. */
#define JSCAN_MAX_NUMBER 63

enum jscan_event { JSCAN_EV_NONE, JSCAN_EV_START, JSCAN_EV_END };

struct jscan {
    int state, num;            /* parser state; number sub-state */
    int in_key;                /* the current string is an object key */
    int top;                   /* first byte of the top-level value, or 0 */
    int require;               /* '{' or '[': the top level must be one */
    int event;                 /* set by jscan_feed */
    int wrong_top;             /* failed because of require */
    uint32_t depth, event_depth;
    uint32_t hex, nhex, high;  /* \uXXXX being read; pending high surrogate */
    uint32_t numlen;           /* characters of the number so far */
    const char *lit;           /* rest of true/false/null */
    const char *reason;        /* why the input is invalid, or NULL */
    char reason_buf[96];
    unsigned char stack[JSCAN_MAX_DEPTH];
};

/* event_depth > 0 asks for events for values directly inside containers
 * at that depth (1: the elements of the top-level array). */
void jscan_init(struct jscan *s, uint32_t event_depth, int require);

/*
 * Checks p[0..n) and returns how many bytes were consumed.  When s->reason
 * is set, p[returned] is the offending byte.  When s->event is
 * JSCAN_EV_START the value began at p[returned - 1]; when it is
 * JSCAN_EV_END its last byte was p[returned - 1].  Otherwise all n bytes
 * were consumed.
 */
size_t jscan_feed(struct jscan *s, const char *p, size_t n);

/* At end of input: 0 when one complete value was seen, 1 when the input
 * was empty (only whitespace), -1 otherwise (s->reason says why; where
 * names the end, e.g. "line" or "file"). */
int jscan_finish(struct jscan *s, const char *where);

#endif /* FTSB_JSCAN_H */
