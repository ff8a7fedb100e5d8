/*
 * jscan.c - the streaming JSON syntax checker (RFC 8259 grammar).  One
 * state per grammar position; strings have a fast path because they are
 * nearly all of a dataset's bytes.  A byte that ends a number is examined
 * again in the state after the number (STEP_AGAIN), which is also how a
 * number element's end event is reported before its delimiter.
 */
#include "../ftsb_setup.h"

#include "jscan.h"

enum {
    JS_VALUE, JS_VALUE_OR_END, JS_KEY, JS_KEY_OR_END, JS_COLON, JS_AFTER,
    JS_STRING, JS_ESCAPE, JS_HEX, JS_LOW_BS, JS_LOW_U, JS_NUMBER, JS_LITERAL,
    JS_DONE, JS_ERROR
};

/* Number sub-states, after: '-', a leading '0', integer digits, '.',
 * fraction digits, 'e', the exponent sign, exponent digits. */
enum { N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP };

enum { STEP_OK, STEP_AGAIN, STEP_ERR };

void jscan_init(struct jscan *s, uint32_t event_depth, int require)
{
    memset(s, 0, sizeof *s);
    s->state = JS_VALUE;
    s->event_depth = event_depth;
    s->require = require;
}

static int fail(struct jscan *s, const char *fmt, ...) FTSB_PRINTF(2, 3);

static int fail(struct jscan *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->reason_buf, sizeof s->reason_buf, fmt, ap);
    va_end(ap);
    s->reason = s->reason_buf;
    s->state = JS_ERROR;
    return STEP_ERR;
}

static int is_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static const char *expected(const struct jscan *s)
{
    switch (s->state) {
    case JS_VALUE: return "a value";
    case JS_VALUE_OR_END: return "a value or ']'";
    case JS_KEY: return "a string key";
    case JS_KEY_OR_END: return "a string key or '}'";
    case JS_COLON: return "':' after the key";
    default:
        if (s->depth == 0)
            return "the end of the value";
        return s->stack[s->depth - 1] == '{' ? "',' or '}'" : "',' or ']'";
    }
}

static void value_done(struct jscan *s)
{
    s->state = s->depth ? JS_AFTER : JS_DONE;
    if (s->event_depth && s->depth == s->event_depth)
        s->event = JSCAN_EV_END;
}

/* What a value starting with c is, for messages; NULL if none. */
static const char *value_kind(int c)
{
    switch (c) {
    case '{': return "an object";
    case '[': return "an array";
    case '"': return "a string";
    case 't': case 'f': return "a boolean";
    case 'n': return "null";
    default: return c == '-' || is_digit(c) ? "a number" : NULL;
    }
}

static int begin_value(struct jscan *s, int c)
{
    const char *kind = value_kind(c);

    if (!kind) {
        if (c == 'N' || c == 'I')
            return fail(s, "NaN and Infinity are not JSON numbers");
        if (c == 0)
            return fail(s, "unexpected NUL byte");
        return fail(s, "expected %s", expected(s));
    }
    if (s->depth == 0) {
        if (s->require && c != s->require) {
            s->wrong_top = 1;
            return fail(s, "expected a JSON %s, found %s",
                        s->require == '{' ? "object" : "array", kind);
        }
        s->top = c;
    }
    if (s->event_depth && s->depth == s->event_depth)
        s->event = JSCAN_EV_START;
    switch (c) {
    case '{': case '[':
        if (s->depth >= JSCAN_MAX_DEPTH)
            return fail(s, "nesting deeper than %d levels", JSCAN_MAX_DEPTH);
        s->stack[s->depth++] = (unsigned char)c;
        s->state = c == '{' ? JS_KEY_OR_END : JS_VALUE_OR_END;
        return STEP_OK;
    case '"':
        s->state = JS_STRING;
        s->in_key = 0;
        return STEP_OK;
    case 't': s->lit = "rue"; break;
    case 'f': s->lit = "alse"; break;
    case 'n': s->lit = "ull"; break;
    default:
        s->state = JS_NUMBER;
        s->num = c == '-' ? N_MINUS : c == '0' ? N_ZERO : N_INT;
        s->numlen = 1;
        return STEP_OK;
    }
    s->state = JS_LITERAL;
    return STEP_OK;
}

static int close_container(struct jscan *s, int c)
{
    int open = c == '}' ? '{' : '[';

    if (s->depth == 0 || s->stack[s->depth - 1] != open)
        return fail(s, "expected %s", expected(s));
    s->depth--;
    value_done(s);
    return STEP_OK;
}

static int step_structure(struct jscan *s, int c)
{
    if (is_ws(c))
        return STEP_OK;
    switch (s->state) {
    case JS_VALUE_OR_END:
        if (c == ']')
            return close_container(s, c);
        return begin_value(s, c);
    case JS_VALUE:
        if (c == ']' && s->depth && s->stack[s->depth - 1] == '[')
            return fail(s, "trailing comma before ']'");
        return begin_value(s, c);
    case JS_KEY_OR_END:
    case JS_KEY:
        if (c == '"') {
            s->state = JS_STRING;
            s->in_key = 1;
            return STEP_OK;
        }
        if (c == '}' && s->state == JS_KEY_OR_END)
            return close_container(s, c);
        if (c == '}')
            return fail(s, "trailing comma before '}'");
        return fail(s, "expected %s", expected(s));
    case JS_COLON:
        if (c != ':')
            return fail(s, "expected %s", expected(s));
        s->state = JS_VALUE;
        return STEP_OK;
    case JS_AFTER:
        if (c == ',') {
            s->state = s->stack[s->depth - 1] == '{' ? JS_KEY : JS_VALUE;
            return STEP_OK;
        }
        if (c == '}' || c == ']')
            return close_container(s, c);
        return fail(s, "expected %s", expected(s));
    default: /* JS_DONE */
        return fail(s, "unexpected data after the JSON value");
    }
}

static int hex_value(int c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A complete \uXXXX: pairs surrogates, refuses NUL (C strings would be
 * cut short there) and lone halves (not representable in UTF-8). */
static int end_escape(struct jscan *s)
{
    uint32_t c = s->hex;

    if (s->high) {
        if (c < 0xDC00 || c > 0xDFFF)
            return fail(s, "unpaired surrogate \\u%04X in a string",
                        (unsigned)s->high);
        s->high = 0;
    } else if (c == 0) {
        return fail(s, "\\u0000 (NUL) in a string");
    } else if (c >= 0xD800 && c <= 0xDBFF) {
        s->high = c;
        s->state = JS_LOW_BS;
        return STEP_OK;
    } else if (c >= 0xDC00 && c <= 0xDFFF) {
        return fail(s, "unpaired surrogate \\u%04X in a string", (unsigned)c);
    }
    s->state = JS_STRING;
    return STEP_OK;
}

static int step_string(struct jscan *s, int c)
{
    switch (s->state) {
    case JS_STRING:
        if (c == '"') {
            if (s->in_key)
                s->state = JS_COLON;
            else
                value_done(s);
        } else if (c == '\\') {
            s->state = JS_ESCAPE;
        } else if (c == 0) {
            return fail(s, "NUL byte in a string");
        } else if (c < 0x20) {
            return fail(s, "unescaped control character 0x%02x in a string",
                        (unsigned)c);
        }
        return STEP_OK;
    case JS_ESCAPE:
        if (c == 'u') {
            s->state = JS_HEX;
            s->hex = s->nhex = 0;
        } else if (c && strchr("\"\\/bfnrt", c)) {
            s->state = JS_STRING;
        } else {
            return fail(s, "invalid escape '\\%c' in a string",
                        c >= 0x20 && c < 0x7F ? c : '?');
        }
        return STEP_OK;
    case JS_HEX:
        if (hex_value(c) < 0)
            return fail(s, "invalid \\u escape: expected 4 hex digits");
        s->hex = s->hex << 4 | (uint32_t)hex_value(c);
        return ++s->nhex == 4 ? end_escape(s) : STEP_OK;
    case JS_LOW_BS:
    case JS_LOW_U:
        if (c != (s->state == JS_LOW_BS ? '\\' : 'u'))
            return fail(s, "unpaired surrogate \\u%04X in a string",
                        (unsigned)s->high);
        if (s->state == JS_LOW_U) {
            s->state = JS_HEX;
            s->hex = s->nhex = 0;
        } else {
            s->state = JS_LOW_U;
        }
        return STEP_OK;
    }
    return fail(s, "internal error: bad string state");
}

static int num_accepting(int num)
{
    return num == N_ZERO || num == N_INT || num == N_FRAC || num == N_EXP;
}

static int step_number(struct jscan *s, int c)
{
    int d = is_digit(c);

    /* cJSON reads at most 63 characters of a number and would fail on the
     * rest with no useful position; say why here instead. */
    if (++s->numlen > JSCAN_MAX_NUMBER && (d || (c && strchr("+-.eE", c))))
        return fail(s, "number longer than %d characters", JSCAN_MAX_NUMBER);

    switch (s->num) {
    case N_MINUS:
        if (!d)
            return fail(s, "invalid number: expected a digit after '-'");
        s->num = c == '0' ? N_ZERO : N_INT;
        return STEP_OK;
    case N_ZERO:
        if (d)
            return fail(s, "invalid number: leading zero");
        break;
    case N_DOT:
        if (!d)
            return fail(s, "invalid number: expected a digit after '.'");
        s->num = N_FRAC;
        return STEP_OK;
    case N_E:
    case N_ESIGN:
        if (s->num == N_E && (c == '+' || c == '-')) {
            s->num = N_ESIGN;
            return STEP_OK;
        }
        if (!d)
            return fail(s, "invalid number: expected exponent digits");
        s->num = N_EXP;
        return STEP_OK;
    }
    if (d)
        return STEP_OK; /* N_INT, N_FRAC, N_EXP go on */
    if (c == '.' && (s->num == N_ZERO || s->num == N_INT)) {
        s->num = N_DOT;
        return STEP_OK;
    }
    if ((c == 'e' || c == 'E') && s->num != N_EXP) {
        s->num = N_E;
        return STEP_OK;
    }
    value_done(s);
    return STEP_AGAIN;
}

static int step(struct jscan *s, int c)
{
    switch (s->state) {
    case JS_STRING: case JS_ESCAPE: case JS_HEX: case JS_LOW_BS:
    case JS_LOW_U:
        return step_string(s, c);
    case JS_NUMBER:
        return step_number(s, c);
    case JS_LITERAL:
        if (c != *s->lit)
            return fail(s, "invalid literal: expected true, false or null");
        if (*++s->lit == '\0')
            value_done(s);
        return STEP_OK;
    case JS_ERROR:
        return STEP_ERR;
    default:
        return step_structure(s, c);
    }
}

size_t jscan_feed(struct jscan *s, const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0;

    s->event = JSCAN_EV_NONE;
    while (i < n) {
        int r;

        if (s->state == JS_STRING) {
            while (i < n && u[i] >= 0x20 && u[i] != '"' && u[i] != '\\')
                i++;
            if (i == n)
                break;
        }
        r = step(s, u[i]);
        if (r == STEP_ERR)
            return i;
        if (r == STEP_OK)
            i++;
        if (s->event)
            return i;
    }
    return i;
}

int jscan_finish(struct jscan *s, const char *where)
{
    if (s->reason)
        return -1;
    if (s->state == JS_NUMBER && num_accepting(s->num)) {
        value_done(s);
        s->event = JSCAN_EV_NONE;
    }
    if (s->state == JS_DONE)
        return 0;
    if (s->state == JS_VALUE && s->depth == 0)
        return 1;
    switch (s->state) {
    case JS_STRING: case JS_ESCAPE: case JS_HEX: case JS_LOW_BS:
    case JS_LOW_U:
        fail(s, "unterminated string at end of %s", where);
        break;
    case JS_NUMBER:
        fail(s, "incomplete number at end of %s", where);
        break;
    case JS_LITERAL:
        fail(s, "incomplete literal at end of %s", where);
        break;
    default:
        fail(s, "unexpected end of %s; expected %s", where, expected(s));
    }
    return -1;
}
