/*
 * safetensors.c - the safetensors reader and writer.  The header is parsed
 * by a small JSON reader that knows the schema (an object of tensor
 * entries and one "__metadata__" object) instead of a general JSON library:
 * it can read integers exactly, refuse duplicate keys at every level and
 * never recurse, which are the three traps of reading this format through
 * cJSON (reliability.md section 1.6).  The reader makes one pass over the
 * header; the only allocations are a string arena no larger than the
 * header (which has been checked against the file size) and arrays that
 * grow with the entries really present, so a claimed size never turns into
 * an allocation.  Sizes are computed with overflow checks before any
 * comparison with the file.  The layout rules (section "How strict" in
 * safetensors.h) are checked after parsing, on the entries sorted by
 * offset, so every message can name the tensors involved.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fp16.h"
#include "gguf.h" /* gguf_utf8_check */
#include "safetensors.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the safetensors reader assumes a little-endian host"
#endif

#if defined(__GNUC__)
#define ST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ST_PRINTF(a, b)
#endif

/* Names in messages are cut short: a 1 MB name would drown the rest. */
#define ST_SHOW_MAX 80

static const struct {
    const char *name;
    unsigned bits;
} st_dtypes[ST_N_DTYPES] = {
    [ST_BOOL] = {"BOOL", 8},           [ST_U8] = {"U8", 8},
    [ST_I8] = {"I8", 8},               [ST_I16] = {"I16", 16},
    [ST_U16] = {"U16", 16},            [ST_F16] = {"F16", 16},
    [ST_BF16] = {"BF16", 16},          [ST_I32] = {"I32", 32},
    [ST_U32] = {"U32", 32},            [ST_F32] = {"F32", 32},
    [ST_F64] = {"F64", 64},            [ST_I64] = {"I64", 64},
    [ST_U64] = {"U64", 64},            [ST_C64] = {"C64", 64},
    [ST_F8_E5M2] = {"F8_E5M2", 8},     [ST_F8_E4M3] = {"F8_E4M3", 8},
    [ST_F8_E8M0] = {"F8_E8M0", 8},     [ST_F8_E4M3FNUZ] = {"F8_E4M3FNUZ", 8},
    [ST_F8_E5M2FNUZ] = {"F8_E5M2FNUZ", 8},
    [ST_F4] = {"F4", 4},               [ST_F6_E2M3] = {"F6_E2M3", 6},
    [ST_F6_E3M2] = {"F6_E3M2", 6},
};

const char *st_dtype_name(enum st_dtype dtype)
{
    return (unsigned)dtype < ST_N_DTYPES ? st_dtypes[dtype].name : NULL;
}

unsigned st_dtype_bits(enum st_dtype dtype)
{
    return (unsigned)dtype < ST_N_DTYPES ? st_dtypes[dtype].bits : 0;
}

int st_dtype_nbytes(enum st_dtype dtype, uint64_t nelem, uint64_t *out)
{
    unsigned bits = st_dtype_bits(dtype);
    uint64_t total;

    if (!bits || __builtin_mul_overflow(nelem, (uint64_t)bits, &total) ||
        total % 8 != 0)
        return 0;
    *out = total / 8;
    return 1;
}

/* ---- the open file ------------------------------------------------------ */

/* A tensor entry while parsing: its shape is an index into the shape
 * array, which may still move. */
struct st_ent {
    struct st_tensor t;
    size_t shape_at;
};

struct st_file {
    char *name;
    const uint8_t *base;
    uint64_t size;
    void *map;
    size_t map_size;
    uint64_t n_header;
    const uint8_t *data;
    uint64_t data_size;
    char *arena;              /* decoded strings, NUL-terminated */
    uint64_t *shapes;
    struct st_tensor *tensors; /* data order */
    size_t n_tensors;
    const struct st_tensor **by_name;
    struct st_meta *meta;      /* sorted by key */
    size_t n_meta;
};

struct st_meta_ix {
    struct st_meta m;
    uint64_t off;
};

/* The parser: the header text, the read position and what it has built. */
struct st_rd {
    struct st_file *f;
    const char *h;
    size_t n, pos;
    size_t arena_used;
    struct lm_err *err;
    struct st_ent *ent;
    size_t n_ent, cap_ent;
    uint64_t *shapes;
    size_t n_shapes, cap_shapes;
    struct st_meta_ix *mi;     /* metadata with the offset of each key */
    size_t n_mi, cap_mi;
    int have_meta;
    size_t meta_pos;
};

static ftsb_status st_vbad(const struct st_file *f, struct lm_err *err,
                           uint64_t off, const char *fmt, va_list ap)
    ST_PRINTF(4, 0);

static ftsb_status st_vbad(const struct st_file *f, struct lm_err *err,
                           uint64_t off, const char *fmt, va_list ap)
{
    char msg[800];

    vsnprintf(msg, sizeof msg, fmt, ap);
    return lm_fail(err, FTSB_E_FORMAT, "'%s': byte %" PRIu64 ": %s", f->name,
                   off, msg);
}

static ftsb_status st_bad(const struct st_file *f, struct lm_err *err,
                          uint64_t off, const char *fmt, ...) ST_PRINTF(4, 5);

static ftsb_status st_bad(const struct st_file *f, struct lm_err *err,
                          uint64_t off, const char *fmt, ...)
{
    va_list ap;
    ftsb_status s;

    va_start(ap, fmt);
    s = st_vbad(f, err, off, fmt, ap);
    va_end(ap);
    return s;
}

/* An error at the parser's position (a file offset: 8 + header offset). */
static ftsb_status st_rbad(struct st_rd *r, const char *fmt, ...)
    ST_PRINTF(2, 3);

static ftsb_status st_rbad(struct st_rd *r, const char *fmt, ...)
{
    va_list ap;
    ftsb_status s;

    va_start(ap, fmt);
    s = st_vbad(r->f, r->err, 8 + (uint64_t)r->pos, fmt, ap);
    va_end(ap);
    return s;
}

/* How many bytes of s to show: at most ST_SHOW_MAX, cut at a character
 * boundary so the message stays UTF-8. */
static int st_show(const char *s)
{
    size_t n = strlen(s);

    if (n <= ST_SHOW_MAX)
        return (int)n;
    n = ST_SHOW_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return (int)n;
}

static ftsb_status st_nomem(const struct st_file *f, struct lm_err *err)
{
    return lm_fail(err, FTSB_E_NOMEM, "'%s': out of memory", f->name);
}

/* Grows *p (n used of *cap elements of size sz) to hold one more. */
static int st_grow(void **p, size_t *cap, size_t n, size_t sz)
{
    size_t want;
    void *q;

    if (n < *cap)
        return 1;
    want = *cap ? *cap * 2 : 16;
    if (want < n + 1 || want > SIZE_MAX / sz)
        return 0;
    q = realloc(*p, want * sz);
    if (!q)
        return 0;
    *p = q;
    *cap = want;
    return 1;
}

/* ---- JSON pieces -------------------------------------------------------- */

static void st_ws(struct st_rd *r)
{
    while (r->pos < r->n) {
        char c = r->h[r->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        r->pos++;
    }
}

/* The character at the position, or -1 at the end of the header. */
static int st_peek(const struct st_rd *r)
{
    return r->pos < r->n ? (unsigned char)r->h[r->pos] : -1;
}

static ftsb_status st_expect(struct st_rd *r, char c, const char *what)
{
    st_ws(r);
    if (st_peek(r) == (unsigned char)c) {
        r->pos++;
        return FTSB_OK;
    }
    if (r->pos >= r->n)
        return st_rbad(r, "the header ends where %s was expected", what);
    return st_rbad(r, "expected %s", what);
}

static int st_hex4(const char *p, uint32_t *out)
{
    uint32_t v = 0;

    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

static size_t st_put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A \u escape at r->pos (after the backslash and 'u'), with its low
 * surrogate when it is a high one. */
static ftsb_status st_unicode(struct st_rd *r, const char *what,
                              uint32_t *cp)
{
    uint32_t hi, lo;

    if (r->n - r->pos < 4 || !st_hex4(r->h + r->pos, &hi))
        return st_rbad(r, "%s has a \\u escape without 4 hex digits", what);
    r->pos += 4;
    if (hi >= 0xDC00 && hi <= 0xDFFF)
        return st_rbad(r, "%s has a lone low surrogate \\u%04X", what,
                       (unsigned)hi);
    if (hi >= 0xD800 && hi <= 0xDBFF) {
        if (r->n - r->pos < 6 || r->h[r->pos] != '\\' ||
            r->h[r->pos + 1] != 'u' || !st_hex4(r->h + r->pos + 2, &lo) ||
            lo < 0xDC00 || lo > 0xDFFF)
            return st_rbad(r, "%s has a lone high surrogate \\u%04X", what,
                           (unsigned)hi);
        r->pos += 6;
        hi = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (hi == 0)
        return st_rbad(r, "%s contains a NUL character (\\u0000)", what);
    *cp = hi;
    return FTSB_OK;
}

/*
 * A JSON string at r->pos, decoded into the arena and NUL-terminated.  The
 * whole header was checked for UTF-8 before, and escapes can only add
 * valid code points, so the result is valid UTF-8.  The decoded string
 * plus its NUL is shorter than the quoted text, so the arena (header size
 * + 1) cannot overflow.
 */
static ftsb_status st_string(struct st_rd *r, const char *what, char **out,
                             size_t *len)
{
    char *o = r->f->arena + r->arena_used, *start = o;
    ftsb_status s;

    st_ws(r);
    if (st_peek(r) != '"')
        return r->pos >= r->n
                   ? st_rbad(r, "the header ends where %s was expected", what)
                   : st_rbad(r, "expected %s (a string)", what);
    r->pos++;
    for (;;) {
        int c = st_peek(r);
        if (c < 0)
            return st_rbad(r, "the header ends inside %s", what);
        if (c == '"') {
            r->pos++;
            break;
        }
        if (c < 0x20)
            return st_rbad(r,
                           "%s contains the control character 0x%02X, which "
                           "JSON requires to be escaped",
                           what, (unsigned)c);
        if (c != '\\') {
            *o++ = (char)c;
            r->pos++;
            continue;
        }
        r->pos++;
        c = st_peek(r);
        r->pos++;
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            uint32_t cp = 0;
            if ((s = st_unicode(r, what, &cp)))
                return s;
            o += st_put_utf8(o, cp);
            break;
        }
        default:
            r->pos--;
            return st_rbad(r, "%s has an invalid escape", what);
        }
    }
    *o = '\0';
    *out = start;
    *len = (size_t)(o - start);
    r->arena_used += *len + 1;
    return FTSB_OK;
}

/*
 * A non-negative JSON integer, exactly.  "1.0", "1e3" and "-0" are numbers
 * to JSON but not integers to us; values above 2^53 - 1 would be rounded
 * by double-based readers, so two readers could disagree on the layout.
 */
static ftsb_status st_uint(struct st_rd *r, const char *what, uint64_t *out)
{
    uint64_t v = 0;
    int c;

    st_ws(r);
    c = st_peek(r);
    if (c == '-')
        return st_rbad(r, "%s is negative", what);
    if (c < '0' || c > '9')
        return c < 0 ? st_rbad(r, "the header ends where %s was expected",
                               what)
                     : st_rbad(r, "%s must be an integer", what);
    if (c == '0' && r->pos + 1 < r->n && r->h[r->pos + 1] >= '0' &&
        r->h[r->pos + 1] <= '9')
        return st_rbad(r, "%s has a leading zero, which JSON forbids", what);
    while ((c = st_peek(r)) >= '0' && c <= '9') {
        uint64_t d = (uint64_t)(c - '0');
        if (v > (ST_MAX_INT - d) / 10)
            return st_rbad(r,
                           "%s is larger than 2^53 - 1, the largest integer "
                           "every JSON reader reads exactly",
                           what);
        v = v * 10 + d;
        r->pos++;
    }
    if (c == '.' || c == 'e' || c == 'E')
        return st_rbad(r,
                       "%s must be an integer, without fraction or exponent",
                       what);
    *out = v;
    return FTSB_OK;
}

/* Names end up in messages and lookups: no control characters. */
static int st_name_ok(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F)
            return 0;
    }
    return 1;
}

/* ---- the header --------------------------------------------------------- */

static ftsb_status st_parse_meta(struct st_rd *r)
{
    struct st_file *f = r->f;
    ftsb_status s;

    if ((s = st_expect(r, '{', "'{' opening __metadata__ (an object of "
                               "strings)")))
        return s;
    st_ws(r);
    if (st_peek(r) == '}') {
        r->pos++;
        return FTSB_OK;
    }
    for (;;) {
        char *key, *value;
        size_t klen, vlen;
        uint64_t at;

        st_ws(r);
        at = 8 + (uint64_t)r->pos;
        if ((s = st_string(r, "a __metadata__ key", &key, &klen)))
            return s;
        if (!st_name_ok(key, klen))
            return st_bad(f, r->err, at,
                          "a __metadata__ key is empty or contains control "
                          "characters");
        if ((s = st_expect(r, ':', "':' after a __metadata__ key")))
            return s;
        st_ws(r);
        if (st_peek(r) != '"')
            return st_rbad(r, "the __metadata__ value of '%.*s' must be a "
                              "string",
                           st_show(key), key);
        if ((s = st_string(r, "a __metadata__ value", &value, &vlen)))
            return s;
        if (!st_grow((void **)&r->mi, &r->cap_mi, r->n_mi, sizeof *r->mi))
            return st_nomem(f, r->err);
        r->mi[r->n_mi].m.key = key;
        r->mi[r->n_mi].m.value = value;
        r->mi[r->n_mi].off = at;
        r->n_mi++;
        st_ws(r);
        if (st_peek(r) == ',') {
            r->pos++;
            continue;
        }
        return st_expect(r, '}', "',' or '}' in __metadata__");
    }
}

enum { ST_F_DTYPE = 1, ST_F_SHAPE = 2, ST_F_OFFSETS = 4 };

static ftsb_status st_parse_dtype(struct st_rd *r, struct st_ent *e,
                                  const char *what)
{
    char *s;
    size_t len, keep = r->arena_used;
    ftsb_status st;
    uint64_t at;

    st_ws(r);
    at = 8 + (uint64_t)r->pos;
    if ((st = st_string(r, what, &s, &len)))
        return st;
    r->arena_used = keep;
    for (int d = 0; d < ST_N_DTYPES; d++) {
        if (strcmp(s, st_dtypes[d].name) == 0) {
            e->t.dtype = (enum st_dtype)d;
            return FTSB_OK;
        }
    }
    return st_bad(r->f, r->err, at, "tensor '%.*s' has unknown dtype '%.*s'",
                  st_show(e->t.name), e->t.name, st_show(s), s);
}

static ftsb_status st_parse_shape(struct st_rd *r, struct st_ent *e,
                                  const char *what)
{
    ftsb_status s;

    e->shape_at = r->n_shapes;
    if ((s = st_expect(r, '[', "'[' opening the shape (an array of "
                               "integers)")))
        return s;
    st_ws(r);
    if (st_peek(r) == ']') {
        r->pos++;
        return FTSB_OK;
    }
    for (;;) {
        uint64_t v;
        if ((s = st_uint(r, what, &v)))
            return s;
        if (e->t.n_dims == UINT32_MAX)
            return st_rbad(r, "%s has too many dimensions", what);
        if (!st_grow((void **)&r->shapes, &r->cap_shapes, r->n_shapes,
                     sizeof *r->shapes))
            return st_nomem(r->f, r->err);
        r->shapes[r->n_shapes++] = v;
        e->t.n_dims++;
        st_ws(r);
        if (st_peek(r) == ',') {
            r->pos++;
            continue;
        }
        return st_expect(r, ']', "',' or ']' in the shape");
    }
}

static ftsb_status st_parse_offsets(struct st_rd *r, struct st_ent *e,
                                    const char *what)
{
    ftsb_status s;

    if ((s = st_expect(r, '[', "'[' opening data_offsets (an array of 2 "
                               "integers)")) ||
        (s = st_uint(r, what, &e->t.begin)) ||
        (s = st_expect(r, ',', "',' in data_offsets (it holds exactly 2 "
                               "integers)")) ||
        (s = st_uint(r, what, &e->t.end)))
        return s;
    return st_expect(r, ']', "']' closing data_offsets (it holds exactly 2 "
                             "integers)");
}

static ftsb_status st_parse_tensor(struct st_rd *r, char *name, size_t len,
                                   uint64_t at)
{
    struct st_file *f = r->f;
    struct st_ent *e;
    unsigned seen = 0;
    char what[160];
    ftsb_status s;

    if (!st_name_ok(name, len))
        return st_bad(f, r->err, at,
                      "a tensor name is empty or contains control "
                      "characters");
    if (!st_grow((void **)&r->ent, &r->cap_ent, r->n_ent, sizeof *r->ent))
        return st_nomem(f, r->err);
    e = &r->ent[r->n_ent++];
    memset(e, 0, sizeof *e);
    e->t.name = name;
    e->t.offset = at;
    snprintf(what, sizeof what, "the entry of tensor '%.*s'", st_show(name),
             name);
    if ((s = st_expect(r, '{', "'{' opening a tensor entry (an object)")))
        return s;
    st_ws(r);
    if (st_peek(r) == '}')
        r->pos++;
    else {
        for (;;) {
            char *key;
            size_t klen, keep = r->arena_used;
            unsigned bit;
            char sub[200];

            if ((s = st_string(r, "a field name", &key, &klen)))
                return s;
            r->arena_used = keep;
            if (strcmp(key, "dtype") == 0)
                bit = ST_F_DTYPE;
            else if (strcmp(key, "shape") == 0)
                bit = ST_F_SHAPE;
            else if (strcmp(key, "data_offsets") == 0)
                bit = ST_F_OFFSETS;
            else
                return st_rbad(r,
                               "%s has the unknown field '%.*s' (only dtype, "
                               "shape and data_offsets are allowed)",
                               what, st_show(key), key);
            if (seen & bit)
                return st_rbad(r, "%s has the field '%s' twice", what, key);
            seen |= bit;
            if ((s = st_expect(r, ':', "':' after a field name")))
                return s;
            snprintf(sub, sizeof sub, "%s of tensor '%.*s'",
                     bit == ST_F_DTYPE   ? "the dtype"
                     : bit == ST_F_SHAPE ? "a dimension in the shape"
                                         : "an offset in data_offsets",
                     st_show(name), name);
            if (bit == ST_F_DTYPE)
                s = st_parse_dtype(r, e, sub);
            else if (bit == ST_F_SHAPE)
                s = st_parse_shape(r, e, sub);
            else
                s = st_parse_offsets(r, e, sub);
            if (s)
                return s;
            st_ws(r);
            if (st_peek(r) == ',') {
                r->pos++;
                continue;
            }
            if ((s = st_expect(r, '}', "',' or '}' in a tensor entry")))
                return s;
            break;
        }
    }
    if (seen != (ST_F_DTYPE | ST_F_SHAPE | ST_F_OFFSETS))
        return st_bad(f, r->err, at, "%s has no '%s'", what,
                      !(seen & ST_F_DTYPE)   ? "dtype"
                      : !(seen & ST_F_SHAPE) ? "shape"
                                             : "data_offsets");
    return FTSB_OK;
}

static ftsb_status st_parse_object(struct st_rd *r)
{
    ftsb_status s;

    if (r->n == 0 || r->h[0] != '{')
        return st_rbad(r, "the header does not start with '{': not a "
                          "safetensors file");
    r->pos = 1;
    st_ws(r);
    if (st_peek(r) == '}')
        r->pos++;
    else {
        for (;;) {
            char *key;
            size_t klen;
            uint64_t at;

            st_ws(r);
            at = 8 + (uint64_t)r->pos;
            if ((s = st_string(r, "a tensor name", &key, &klen)) ||
                (s = st_expect(r, ':', "':' after a tensor name")))
                return s;
            if (strcmp(key, "__metadata__") == 0) {
                if (r->have_meta)
                    return st_bad(r->f, r->err, at,
                                  "__metadata__ appears twice (first at "
                                  "byte %zu)",
                                  r->meta_pos);
                r->have_meta = 1;
                r->meta_pos = (size_t)at;
                s = st_parse_meta(r);
            } else {
                s = st_parse_tensor(r, key, klen, at);
            }
            if (s)
                return s;
            st_ws(r);
            if (st_peek(r) == ',') {
                r->pos++;
                continue;
            }
            if ((s = st_expect(r, '}', "',' or '}' after a tensor entry")))
                return s;
            break;
        }
    }
    st_ws(r);
    if (r->pos != r->n)
        return st_rbad(r, "unexpected data after the header's JSON object "
                          "(only whitespace padding may follow it)");
    return FTSB_OK;
}

/* ---- checks after parsing --------------------------------------------- */

/* Writes "[2, 3]" (shortened) into buf, for messages. */
static void st_shape_str(const struct st_tensor *t, char *buf, size_t size)
{
    size_t n = 0;

    n += (size_t)snprintf(buf, size, "[");
    for (uint32_t d = 0; d < t->n_dims && n < size; d++) {
        if (d == 8 && t->n_dims > 9) {
            n += (size_t)snprintf(buf + n, size - n, ", ...");
            break;
        }
        n += (size_t)snprintf(buf + n, size - n, "%s%" PRIu64, d ? ", " : "",
                              t->shape[d]);
    }
    if (n < size)
        snprintf(buf + n, size - n, "]");
}

static ftsb_status st_check_sizes(struct st_file *f, struct st_tensor *t,
                                  struct lm_err *err)
{
    uint64_t n = 1, nbytes;
    char shape[200];

    st_shape_str(t, shape, sizeof shape);
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if (__builtin_mul_overflow(n, t->shape[d], &n))
            return st_bad(f, err, t->offset,
                          "tensor '%.*s': shape %s has more elements than a "
                          "64-bit count holds",
                          st_show(t->name), t->name, shape);
    }
    t->nelem = n;
    if (!st_dtype_nbytes(t->dtype, n, &nbytes))
        return st_bad(f, err, t->offset,
                      "tensor '%.*s': shape %s of dtype %s does not make a "
                      "whole number of bytes that fits in 64 bits",
                      st_show(t->name), t->name, shape,
                      st_dtype_name(t->dtype));
    if (t->end < t->begin)
        return st_bad(f, err, t->offset,
                      "tensor '%.*s': data_offsets [%" PRIu64 ", %" PRIu64
                      "] end before they begin",
                      st_show(t->name), t->name, t->begin, t->end);
    if (t->end - t->begin != nbytes)
        return st_bad(f, err, t->offset,
                      "tensor '%.*s': data_offsets [%" PRIu64 ", %" PRIu64
                      "] hold %" PRIu64 " bytes, but shape %s of dtype %s "
                      "needs %" PRIu64,
                      st_show(t->name), t->name, t->begin, t->end,
                      t->end - t->begin, shape, st_dtype_name(t->dtype),
                      nbytes);
    if (t->end > f->data_size)
        return st_bad(f, err, t->offset,
                      "tensor '%.*s': data_offsets [%" PRIu64 ", %" PRIu64
                      "] run past the end of the data section (%" PRIu64
                      " bytes); the file is truncated or corrupt",
                      st_show(t->name), t->name, t->begin, t->end,
                      f->data_size);
    return FTSB_OK;
}

static int st_cmp_name(const void *a, const void *b)
{
    const struct st_tensor *x = *(const struct st_tensor *const *)a;
    const struct st_tensor *y = *(const struct st_tensor *const *)b;
    int c = strcmp(x->name, y->name);

    if (c)
        return c;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Data order: by (begin, end), ties in header order. */
static int st_cmp_layout(const void *a, const void *b)
{
    const struct st_tensor *x = a, *y = b;

    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int st_cmp_meta(const void *a, const void *b)
{
    const struct st_meta_ix *x = a, *y = b;
    int c = strcmp(x->m.key, y->m.key);

    if (c)
        return c;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Tensors must tile the data section: see "How strict" in the header. */
static ftsb_status st_check_layout(struct st_file *f, struct lm_err *err)
{
    uint64_t expected = 0;
    const struct st_tensor *prev = NULL; /* the last tensor with bytes */

    for (size_t i = 0; i < f->n_tensors; i++) {
        const struct st_tensor *t = &f->tensors[i];

        if (t->begin < expected) {
            if (t->begin == t->end)
                return st_bad(f, err, t->offset,
                              "tensor '%.*s' (0 bytes, at data offset "
                              "%" PRIu64 ") lies inside tensor '%.*s' [%" PRIu64
                              ", %" PRIu64 ")",
                              st_show(t->name), t->name, t->begin,
                              st_show(prev->name), prev->name, prev->begin,
                              prev->end);
            return st_bad(f, err, t->offset,
                          "tensor '%.*s' [%" PRIu64 ", %" PRIu64
                          ") overlaps tensor '%.*s' [%" PRIu64 ", %" PRIu64
                          ")",
                          st_show(t->name), t->name, t->begin, t->end,
                          st_show(prev->name), prev->name, prev->begin,
                          prev->end);
        }
        if (t->begin > expected)
            return st_bad(f, err, t->offset,
                          "data bytes [%" PRIu64 ", %" PRIu64 ") before "
                          "tensor '%.*s' belong to no tensor (the tensors "
                          "must cover the data section without gaps)",
                          expected, t->begin, st_show(t->name), t->name);
        expected = t->end;
        if (t->end > t->begin)
            prev = t;
    }
    if (expected != f->data_size)
        return st_bad(f, err, 8 + f->n_header + expected,
                      "%" PRIu64 " bytes after the last tensor belong to no "
                      "tensor (the data section must end with the last "
                      "tensor: trailing data means a corrupt or polyglot "
                      "file)",
                      f->data_size - expected);
    return FTSB_OK;
}

static ftsb_status st_finish(struct st_rd *r)
{
    struct st_file *f = r->f;
    ftsb_status s;

    f->shapes = r->shapes;
    r->shapes = NULL;
    f->n_tensors = r->n_ent;
    if (f->n_tensors) {
        f->tensors = malloc(f->n_tensors * sizeof *f->tensors);
        f->by_name = malloc(f->n_tensors * sizeof *f->by_name);
        if (!f->tensors || !f->by_name)
            return st_nomem(f, r->err);
    }
    for (size_t i = 0; i < f->n_tensors; i++) {
        f->tensors[i] = r->ent[i].t;
        f->tensors[i].shape = f->shapes ? f->shapes + r->ent[i].shape_at
                                        : NULL;
        if ((s = st_check_sizes(f, &f->tensors[i], r->err)))
            return s;
    }
    for (size_t i = 0; i < f->n_tensors; i++)
        f->by_name[i] = &f->tensors[i];
    if (f->n_tensors)
        qsort(f->by_name, f->n_tensors, sizeof *f->by_name, st_cmp_name);
    for (size_t i = 1; i < f->n_tensors; i++) {
        if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0)
            return st_bad(f, r->err, f->by_name[i]->offset,
                          "duplicate tensor name '%.*s' (first at byte "
                          "%" PRIu64 ")",
                          st_show(f->by_name[i]->name), f->by_name[i]->name,
                          f->by_name[i - 1]->offset);
    }
    if (r->n_mi) {
        struct st_meta_ix *mi = r->mi;
        qsort(mi, r->n_mi, sizeof *mi, st_cmp_meta);
        for (size_t i = 1; i < r->n_mi; i++) {
            if (strcmp(mi[i - 1].m.key, mi[i].m.key) == 0)
                return st_bad(f, r->err, mi[i].off,
                              "duplicate __metadata__ key '%.*s' (first at "
                              "byte %" PRIu64 ")",
                              st_show(mi[i].m.key), mi[i].m.key,
                              mi[i - 1].off);
        }
        if (!(f->meta = malloc(r->n_mi * sizeof *f->meta)))
            return st_nomem(f, r->err);
        for (size_t i = 0; i < r->n_mi; i++)
            f->meta[i] = mi[i].m;
        f->n_meta = r->n_mi;
    }
    /* Sorting tensors moves them: by_name is rebuilt after. */
    if (f->n_tensors) {
        qsort(f->tensors, f->n_tensors, sizeof *f->tensors, st_cmp_layout);
        for (size_t i = 0; i < f->n_tensors; i++)
            f->by_name[i] = &f->tensors[i];
        qsort(f->by_name, f->n_tensors, sizeof *f->by_name, st_cmp_name);
    }
    return st_check_layout(f, r->err);
}

static ftsb_status st_parse(struct st_file *f, struct lm_err *err)
{
    struct st_rd r = {0};
    uint64_t n;
    size_t bad;
    ftsb_status s;

    if (f->size < 8)
        return st_bad(f, err, 0,
                      "the file is %" PRIu64 " bytes long, too short for "
                      "the 8-byte header length: not a safetensors file",
                      f->size);
    memcpy(&n, f->base, 8);
    if (n > ST_MAX_HEADER)
        return st_bad(f, err, 0,
                      "the header length %" PRIu64 " is over the "
                      "100000000-byte limit: not a safetensors file, or a "
                      "corrupt one",
                      n);
    if (n > f->size - 8)
        return st_bad(f, err, 0,
                      "the header length %" PRIu64 " runs past the end of "
                      "the file (%" PRIu64 " bytes); the file is truncated "
                      "or not a safetensors file",
                      n, f->size);
    f->n_header = n;
    f->data = f->base + 8 + n;
    f->data_size = f->size - 8 - n;
    if ((bad = gguf_utf8_check((const char *)f->base + 8, (size_t)n)) != n)
        return st_bad(f, err, 8 + (uint64_t)bad,
                      "the header is not valid UTF-8");
    if (!(f->arena = malloc((size_t)n + 1)))
        return st_nomem(f, err);
    r.f = f;
    r.h = (const char *)f->base + 8;
    r.n = (size_t)n;
    r.err = err;
    s = st_parse_object(&r);
    if (!s)
        s = st_finish(&r);
    free(r.ent);
    free(r.shapes);
    free(r.mi);
    return s;
}

static ftsb_status st_new(const char *name, struct st_file **out,
                          struct lm_err *err)
{
    struct st_file *f = calloc(1, sizeof *f);

    if (f)
        f->name = strdup(name ? name : "(memory)");
    if (!f || !f->name) {
        free(f);
        return lm_fail(err, FTSB_E_NOMEM, "out of memory opening '%s'",
                       name ? name : "(memory)");
    }
    *out = f;
    return FTSB_OK;
}

ftsb_status st_open_mem(const void *data, size_t size, const char *name,
                        struct st_file **out, struct lm_err *err)
{
    struct st_file *f = NULL;
    ftsb_status s;

    *out = NULL;
    if ((s = st_new(name, &f, err)))
        return s;
    f->base = size ? data : (const uint8_t *)"";
    f->size = size;
    if ((s = st_parse(f, err))) {
        st_close(f);
        return s;
    }
    *out = f;
    return FTSB_OK;
}

ftsb_status st_open(const char *path, struct st_file **out,
                    struct lm_err *err)
{
    struct st_file *f = NULL;
    struct stat st;
    ftsb_status s = FTSB_OK;
    int fd;

    *out = NULL;
    if ((s = st_new(path, &f, err)))
        return s;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        s = lm_fail(err, FTSB_E_IO, "cannot open '%s': %s", path,
                    strerror(errno));
        st_close(f);
        return s;
    }
    if (fstat(fd, &st) != 0)
        s = lm_fail(err, FTSB_E_IO, "cannot stat '%s': %s", path,
                    strerror(errno));
    else if (!S_ISREG(st.st_mode))
        s = lm_fail(err, FTSB_E_IO, "'%s' is not a regular file", path);
    else if ((uint64_t)st.st_size > SIZE_MAX)
        s = lm_fail(err, FTSB_E_IO, "'%s' is too large to map", path);
    else if (st.st_size == 0)
        f->base = (const uint8_t *)""; /* mmap refuses 0 bytes */
    else {
        f->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd,
                      0);
        if (f->map == MAP_FAILED) {
            f->map = NULL;
            s = lm_fail(err, FTSB_E_IO, "cannot map '%s': %s", path,
                        strerror(errno));
        } else {
            f->map_size = (size_t)st.st_size;
            f->base = f->map;
        }
    }
    close(fd);
    if (!s) {
        f->size = (uint64_t)st.st_size;
        s = st_parse(f, err);
    }
    if (s) {
        st_close(f);
        return s;
    }
    *out = f;
    return FTSB_OK;
}

void st_close(struct st_file *f)
{
    if (!f)
        return;
    if (f->map)
        munmap(f->map, f->map_size);
    free(f->arena);
    free(f->shapes);
    free(f->tensors);
    free(f->by_name);
    free(f->meta);
    free(f->name);
    free(f);
}

const char *st_name(const struct st_file *f) { return f->name; }
uint64_t st_header_size(const struct st_file *f) { return f->n_header; }
uint64_t st_data_size(const struct st_file *f) { return f->data_size; }
size_t st_n_tensors(const struct st_file *f) { return f->n_tensors; }
size_t st_n_meta(const struct st_file *f) { return f->n_meta; }

const struct st_tensor *st_tensor_at(const struct st_file *f, size_t i)
{
    return i < f->n_tensors ? &f->tensors[i] : NULL;
}

const struct st_meta *st_meta_at(const struct st_file *f, size_t i)
{
    return i < f->n_meta ? &f->meta[i] : NULL;
}

const struct st_tensor *st_find(const struct st_file *f, const char *name)
{
    size_t lo = 0, hi = f->n_tensors;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, f->by_name[mid]->name);
        if (c == 0)
            return f->by_name[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *st_get_meta(const struct st_file *f, const char *key)
{
    size_t lo = 0, hi = f->n_meta;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, f->meta[mid].key);
        if (c == 0)
            return f->meta[mid].value;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const void *st_tensor_raw(const struct st_file *f, const struct st_tensor *t)
{
    return f->data + t->begin;
}

ftsb_status st_tensor_data(const struct st_file *f, const struct st_tensor *t,
                           const void **data, struct lm_err *err)
{
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16)
        return lm_fail(err, FTSB_E_UNSUPPORTED,
                       "'%s': tensor '%.*s' has unsupported dtype %s (this "
                       "engine reads F32, F16 and BF16)",
                       f->name, st_show(t->name), t->name,
                       st_dtype_name(t->dtype));
    *data = f->data + t->begin;
    return FTSB_OK;
}

ftsb_status st_tensor_f32(const struct st_file *f, const struct st_tensor *t,
                          float *out, uint64_t n, struct lm_err *err)
{
    const uint8_t *src;
    const void *data;
    ftsb_status s = st_tensor_data(f, t, &data, err);

    if (s)
        return s;
    if (n != t->nelem)
        return lm_fail(err, FTSB_E_INVALID,
                       "'%s': tensor '%.*s' has %" PRIu64 " elements, not "
                       "%" PRIu64,
                       f->name, st_show(t->name), t->name, t->nelem, n);
    src = data;
    if (t->dtype == ST_F32) {
        memcpy(out, src, (size_t)n * 4);
        return FTSB_OK;
    }
    /* Other writers may leave 16-bit data at odd offsets: convert through
     * an aligned buffer then, since the row functions read uint16_t. */
    for (uint64_t i = 0; i < n;) {
        uint16_t buf[1024];
        uint64_t k = n - i < 1024 ? n - i : 1024;
        const uint16_t *p = buf;

        if ((uintptr_t)src % 2)
            memcpy(buf, src + 2 * i, (size_t)k * 2);
        else
            p = (const uint16_t *)(const void *)src + i;
        if (t->dtype == ST_F16)
            lm_f16_to_f32_row(out + i, p, (int64_t)k);
        else
            lm_bf16_to_f32_row(out + i, p, (int64_t)k);
        i += k;
    }
    return FTSB_OK;
}

/* ---- the writer ---------------------------------------------------------- */

struct st_wtensor {
    char *name;
    enum st_dtype dtype;
    uint32_t n_dims;
    uint64_t *shape;
    const void *data;
    uint64_t nbytes;
    uint64_t begin; /* data offset, set when saving */
};

struct st_wmeta {
    char *key;
    char *value;
};

struct st_writer {
    struct st_wtensor *t;
    size_t n, cap;
    struct st_wmeta *m;
    size_t nm, capm;
};

/* A growing output buffer; on allocation failure it stays failed. */
struct st_buf {
    char *p;
    size_t n, cap;
    int failed;
};

static void st_put(struct st_buf *b, const char *s, size_t n)
{
    if (b->failed || n == 0) /* n == 0: s may be NULL (empty tensors) */
        return;
    if (n > b->cap - b->n) {
        size_t want = b->cap ? b->cap : 256;
        char *q;
        while (want - b->n < n) {
            if (want > SIZE_MAX / 2) {
                b->failed = 1;
                return;
            }
            want *= 2;
        }
        if (!(q = realloc(b->p, want))) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = want;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void st_puts(struct st_buf *b, const char *s)
{
    st_put(b, s, strlen(s));
}

static void st_put_u64(struct st_buf *b, uint64_t v)
{
    char tmp[24];

    st_put(b, tmp, (size_t)snprintf(tmp, sizeof tmp, "%" PRIu64, v));
}

/* A JSON string; short escapes like serde_json's, \u00XX for the rest. */
static void st_put_json_str(struct st_buf *b, const char *s)
{
    st_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        switch (c) {
        case '"': st_put(b, "\\\"", 2); break;
        case '\\': st_put(b, "\\\\", 2); break;
        case '\b': st_put(b, "\\b", 2); break;
        case '\f': st_put(b, "\\f", 2); break;
        case '\n': st_put(b, "\\n", 2); break;
        case '\r': st_put(b, "\\r", 2); break;
        case '\t': st_put(b, "\\t", 2); break;
        default:
            if (c < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                st_put(b, esc, 6);
            } else {
                st_put(b, s, 1);
            }
        }
    }
    st_put(b, "\"", 1);
}

ftsb_status st_writer_new(struct st_writer **out, struct lm_err *err)
{
    *out = calloc(1, sizeof **out);
    return *out ? FTSB_OK
                : lm_fail(err, FTSB_E_NOMEM, "out of memory (safetensors "
                                             "writer)");
}

void st_writer_free(struct st_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++) {
        free(w->t[i].name);
        free(w->t[i].shape);
    }
    for (size_t i = 0; i < w->nm; i++) {
        free(w->m[i].key);
        free(w->m[i].value);
    }
    free(w->t);
    free(w->m);
    free(w);
}

static ftsb_status st_w_nomem(struct lm_err *err)
{
    return lm_fail(err, FTSB_E_NOMEM, "out of memory (safetensors writer)");
}

static int st_w_text_ok(const char *s, int is_name)
{
    size_t len = strlen(s);

    if (gguf_utf8_check(s, len) != len)
        return 0;
    return is_name ? st_name_ok(s, len) : 1;
}

ftsb_status st_w_meta(struct st_writer *w, const char *key,
                      const char *value, struct lm_err *err)
{
    struct st_wmeta *m;

    if (!key || !value || !st_w_text_ok(key, 1) || !st_w_text_ok(value, 0))
        return lm_fail(err, FTSB_E_INVALID,
                       "safetensors metadata: the key must be non-empty "
                       "UTF-8 without control characters and the value "
                       "UTF-8");
    for (size_t i = 0; i < w->nm; i++) {
        if (strcmp(w->m[i].key, key) == 0)
            return lm_fail(err, FTSB_E_INVALID,
                           "safetensors metadata: key '%.*s' set twice",
                           st_show(key), key);
    }
    if (!st_grow((void **)&w->m, &w->capm, w->nm, sizeof *w->m))
        return st_w_nomem(err);
    m = &w->m[w->nm];
    m->key = strdup(key);
    m->value = strdup(value);
    if (!m->key || !m->value) {
        free(m->key);
        free(m->value);
        return st_w_nomem(err);
    }
    w->nm++;
    return FTSB_OK;
}

ftsb_status st_w_tensor(struct st_writer *w, const char *name,
                        enum st_dtype dtype, uint32_t n_dims,
                        const uint64_t *shape, const void *data,
                        uint64_t nbytes, struct lm_err *err)
{
    struct st_wtensor *t;
    uint64_t n = 1, want = 0;

    if (!name || !st_w_text_ok(name, 1) || strcmp(name, "__metadata__") == 0)
        return lm_fail(err, FTSB_E_INVALID,
                       "safetensors: a tensor name must be non-empty UTF-8 "
                       "without control characters, and not "
                       "'__metadata__'");
    if (!st_dtype_name(dtype))
        return lm_fail(err, FTSB_E_INVALID,
                       "safetensors: tensor '%.*s' has an unknown dtype %d",
                       st_show(name), name, (int)dtype);
    for (uint32_t d = 0; d < n_dims; d++) {
        if (shape[d] > ST_MAX_INT || __builtin_mul_overflow(n, shape[d], &n))
            return lm_fail(err, FTSB_E_INVALID,
                           "safetensors: tensor '%.*s' has a dimension "
                           "above 2^53 - 1 or too many elements",
                           st_show(name), name);
    }
    if (!st_dtype_nbytes(dtype, n, &want) || want != nbytes ||
        (nbytes && !data))
        return lm_fail(err, FTSB_E_INVALID,
                       "safetensors: tensor '%.*s' is given %" PRIu64
                       " bytes, but its shape and dtype %s need %" PRIu64,
                       st_show(name), name, nbytes, st_dtype_name(dtype),
                       want);
    if (!st_grow((void **)&w->t, &w->cap, w->n, sizeof *w->t))
        return st_w_nomem(err);
    t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->shape = malloc((n_dims ? n_dims : 1) * sizeof *t->shape);
    if (!t->name || !t->shape) {
        free(t->name);
        free(t->shape);
        return st_w_nomem(err);
    }
    if (n_dims)
        memcpy(t->shape, shape, n_dims * sizeof *shape);
    t->dtype = dtype;
    t->n_dims = n_dims;
    t->data = data;
    t->nbytes = nbytes;
    w->n++;
    return FTSB_OK;
}

static int st_cmp_wt(const void *a, const void *b)
{
    const struct st_wtensor *x = *(const struct st_wtensor *const *)a;
    const struct st_wtensor *y = *(const struct st_wtensor *const *)b;

    return strcmp(x->name, y->name);
}

static int st_cmp_wm(const void *a, const void *b)
{
    const struct st_wmeta *x = a, *y = b;

    return strcmp(x->key, y->key);
}

/*
 * The header: 8-byte length then the padded JSON, in b.  Data offsets
 * follow the order the tensors were added; the JSON lists them by name.
 * *total is the size of the whole file.
 */
static ftsb_status st_w_header(struct st_writer *w, struct st_buf *b,
                               uint64_t *total, struct lm_err *err)
{
    struct st_wtensor **order = NULL;
    uint64_t off = 0, n;
    ftsb_status s = FTSB_OK;

    for (size_t i = 0; i < w->n; i++) {
        w->t[i].begin = off;
        if (__builtin_add_overflow(off, w->t[i].nbytes, &off) ||
            off > ST_MAX_INT)
            return lm_fail(err, FTSB_E_INVALID,
                           "safetensors: the tensors add up to more than "
                           "2^53 - 1 bytes");
    }
    if (w->n && !(order = malloc(w->n * sizeof *order)))
        return st_w_nomem(err);
    for (size_t i = 0; i < w->n; i++)
        order[i] = &w->t[i];
    if (w->n)
        qsort(order, w->n, sizeof *order, st_cmp_wt);
    if (w->nm)
        qsort(w->m, w->nm, sizeof *w->m, st_cmp_wm);
    for (size_t i = 1; i < w->n; i++) {
        if (strcmp(order[i - 1]->name, order[i]->name) == 0) {
            s = lm_fail(err, FTSB_E_INVALID,
                        "safetensors: tensor '%.*s' added twice",
                        st_show(order[i]->name), order[i]->name);
            free(order);
            return s;
        }
    }
    st_put(b, "\0\0\0\0\0\0\0\0", 8);
    st_put(b, "{", 1);
    if (w->nm) {
        st_puts(b, "\"__metadata__\":{");
        for (size_t i = 0; i < w->nm; i++) {
            if (i)
                st_put(b, ",", 1);
            st_put_json_str(b, w->m[i].key);
            st_put(b, ":", 1);
            st_put_json_str(b, w->m[i].value);
        }
        st_put(b, "}", 1);
    }
    for (size_t i = 0; i < w->n; i++) {
        const struct st_wtensor *t = order[i];
        if (i || w->nm)
            st_put(b, ",", 1);
        st_put_json_str(b, t->name);
        st_puts(b, ":{\"dtype\":\"");
        st_puts(b, st_dtype_name(t->dtype));
        st_puts(b, "\",\"shape\":[");
        for (uint32_t d = 0; d < t->n_dims; d++) {
            if (d)
                st_put(b, ",", 1);
            st_put_u64(b, t->shape[d]);
        }
        st_puts(b, "],\"data_offsets\":[");
        st_put_u64(b, t->begin);
        st_put(b, ",", 1);
        st_put_u64(b, t->begin + t->nbytes);
        st_puts(b, "]}");
    }
    st_put(b, "}", 1);
    free(order);
    while (!b->failed && (b->n - 8) % 8 != 0)
        st_put(b, " ", 1);
    if (b->failed)
        return st_w_nomem(err);
    n = b->n - 8;
    if (n > ST_MAX_HEADER)
        return lm_fail(err, FTSB_E_INVALID,
                       "safetensors: the header would be %" PRIu64 " bytes, "
                       "over the 100000000-byte limit readers accept",
                       n);
    memcpy(b->p, &n, 8);
    if (__builtin_add_overflow((uint64_t)b->n, off, total))
        return st_w_nomem(err);
    return s;
}

ftsb_status st_w_save_mem(struct st_writer *w, uint8_t **out, size_t *size,
                          struct lm_err *err)
{
    struct st_buf b = {0};
    uint64_t total;
    ftsb_status s = st_w_header(w, &b, &total, err);

    if (!s && total > SIZE_MAX)
        s = st_w_nomem(err);
    for (size_t i = 0; !s && i < w->n; i++) {
        st_put(&b, w->t[i].data, (size_t)w->t[i].nbytes);
        if (b.failed)
            s = st_w_nomem(err);
    }
    if (s) {
        free(b.p);
        return s;
    }
    if (!b.p && !(b.p = malloc(1))) /* never: the header is never empty */
        return st_w_nomem(err);
    *out = (uint8_t *)b.p;
    *size = b.n;
    return FTSB_OK;
}

ftsb_status st_w_save(struct st_writer *w, const char *path,
                      struct lm_err *err)
{
    struct st_buf b = {0};
    uint64_t total;
    size_t len = strlen(path);
    char *tmp = NULL;
    FILE *fp = NULL;
    int error = 0;
    ftsb_status s = st_w_header(w, &b, &total, err);

    if (s) {
        free(b.p);
        return s;
    }
    if (!(tmp = malloc(len + 5))) {
        free(b.p);
        return st_w_nomem(err);
    }
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    if (!(fp = fopen(tmp, "wb"))) {
        s = lm_fail(err, FTSB_E_IO, "cannot create '%s': %s", tmp,
                    strerror(errno));
        free(tmp);
        free(b.p);
        return s;
    }
    errno = 0;
    if (fwrite(b.p, 1, b.n, fp) != b.n)
        error = errno ? errno : EIO;
    for (size_t i = 0; !error && i < w->n; i++) {
        if (w->t[i].nbytes &&
            fwrite(w->t[i].data, 1, (size_t)w->t[i].nbytes, fp) !=
                (size_t)w->t[i].nbytes)
            error = errno ? errno : EIO;
    }
    free(b.p);
    if (!error && fflush(fp) != 0)
        error = errno;
    if (!error && fsync(fileno(fp)) != 0)
        error = errno;
    if (fclose(fp) != 0 && !error)
        error = errno ? errno : EIO;
    if (!error && rename(tmp, path) != 0) {
        s = lm_fail(err, FTSB_E_IO, "cannot rename '%s' to '%s': %s", tmp,
                    path, strerror(errno));
        unlink(tmp);
    } else if (error) {
        s = lm_fail(err, FTSB_E_IO, "cannot write '%s': %s", tmp,
                    strerror(error));
        unlink(tmp);
    }
    free(tmp);
    return s;
}
