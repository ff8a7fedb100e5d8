/*
 * gguf.c - the GGUF reader.  The file is mapped read-only and walked once,
 * front to back; every length and count is compared with the bytes left
 * before it is used, every size is computed with overflow checks, and the
 * only allocations (one record per key and per tensor, two hash indexes)
 * are made after their counts have been checked against the file size, so
 * a 40-byte file cannot make us allocate gigabytes (the llama.cpp CVEs of
 * native.md section 8).  The checks follow llama.cpp's loader where it is
 * strict (versions, duplicate keys and names, u32 power-of-two alignment,
 * tensors stored back to back in info order) and are stricter where the
 * reliability plan asks (bools are 0 or 1, keys are UTF-8, no zero dims).
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

#include "gguf.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF reader assumes a little-endian host"
#endif

#if defined(__GNUC__)
#define GGUF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define GGUF_PRINTF(a, b)
#endif

/* Caps that no real file reaches; they bound work and messages. */
#define GGUF_MAX_STRING (1ull << 30)
#define GGUF_MAX_ENTRIES (1ull << 24)
#define GGUF_MIN_KV_BYTES 14     /* key len 8 + 1 byte + type 4 + 1 byte */
#define GGUF_MIN_TENSOR_BYTES 33 /* name 8+1, n_dims 4, ne 8, type 4, off 8 */

struct gguf_index {
    uint32_t *slot; /* entry index + 1; 0 = empty */
    uint64_t mask;
};

struct gguf_file {
    char *name;
    const uint8_t *base;
    uint64_t size;
    void *map;
    size_t map_size;
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset;
    uint64_t n_kv;
    struct gguf_kv *kv;
    uint64_t n_tensors;
    struct gguf_tensor *tensors;
    struct gguf_index kv_index;
    struct gguf_index tensor_index;
};

/* The read position and what is being read, for truncation messages. */
struct gguf_rd {
    struct gguf_file *f;
    uint64_t pos;
    struct lm_err *err;
    char what[200];
};

static const uint8_t gguf_value_size[GGUF_TYPE_COUNT] = {
    1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8,
};

static const char *const gguf_value_name[GGUF_TYPE_COUNT] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32",
    "bool", "str", "arr", "u64", "i64", "f64",
};

/*
 * ggml's tensor types: name, values per block, bytes per block.  The holes
 * (4, 5, 31-33, 36-38) are removed ids, so "id < count" is not enough.
 */
struct gguf_ttraits {
    const char *name;
    uint16_t block;
    uint16_t size;
};

static const struct gguf_ttraits gguf_ttab[] = {
    [0] = {"F32", 1, 4},        [1] = {"F16", 1, 2},
    [2] = {"Q4_0", 32, 18},     [3] = {"Q4_1", 32, 20},
    [6] = {"Q5_0", 32, 22},     [7] = {"Q5_1", 32, 24},
    [8] = {"Q8_0", 32, 34},     [9] = {"Q8_1", 32, 36},
    [10] = {"Q2_K", 256, 84},   [11] = {"Q3_K", 256, 110},
    [12] = {"Q4_K", 256, 144},  [13] = {"Q5_K", 256, 176},
    [14] = {"Q6_K", 256, 210},  [15] = {"Q8_K", 256, 292},
    [16] = {"IQ2_XXS", 256, 66}, [17] = {"IQ2_XS", 256, 74},
    [18] = {"IQ3_XXS", 256, 98}, [19] = {"IQ1_S", 256, 50},
    [20] = {"IQ4_NL", 32, 18},  [21] = {"IQ3_S", 256, 110},
    [22] = {"IQ2_S", 256, 82},  [23] = {"IQ4_XS", 256, 136},
    [24] = {"I8", 1, 1},        [25] = {"I16", 1, 2},
    [26] = {"I32", 1, 4},       [27] = {"I64", 1, 8},
    [28] = {"F64", 1, 8},       [29] = {"IQ1_M", 256, 56},
    [30] = {"BF16", 1, 2},      [34] = {"TQ1_0", 256, 54},
    [35] = {"TQ2_0", 256, 66},  [39] = {"MXFP4", 32, 17},
    [40] = {"NVFP4", 64, 36},   [41] = {"Q1_0", 128, 18},
};

#define GGUF_N_TTYPES (sizeof gguf_ttab / sizeof gguf_ttab[0])

static const struct gguf_ttraits *gguf_traits(uint32_t type)
{
    if (type >= GGUF_N_TTYPES || !gguf_ttab[type].name)
        return NULL;
    return &gguf_ttab[type];
}

const char *gguf_type_name(uint32_t type)
{
    return type < GGUF_TYPE_COUNT ? gguf_value_name[type] : NULL;
}

const char *gguf_tensor_type_name(uint32_t type)
{
    const struct gguf_ttraits *tt = gguf_traits(type);

    return tt ? tt->name : NULL;
}

bool gguf_tensor_type_supported(uint32_t type)
{
    return type == GGUF_TENSOR_F32 || type == GGUF_TENSOR_F16 ||
           type == GGUF_TENSOR_BF16 || type == GGUF_TENSOR_Q8_0;
}

bool gguf_tensor_nbytes(uint32_t type, uint32_t n_dims, const int64_t *ne,
                        uint64_t *out)
{
    const struct gguf_ttraits *tt = gguf_traits(type);
    uint64_t n = 1;

    if (!tt || n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return false;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (ne[d] < 1 || __builtin_mul_overflow(n, (uint64_t)ne[d], &n))
            return false;
    }
    if (n > INT64_MAX || (uint64_t)ne[0] % tt->block != 0)
        return false;
    return !__builtin_mul_overflow(n / tt->block, (uint64_t)tt->size, out);
}

size_t gguf_utf8_check(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        unsigned c = p[i];
        size_t n;
        uint32_t cp, min;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            n = 2, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 3, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 4, cp = c & 0x07, min = 0x10000;
        else
            return i;
        if (len - i < n)
            return i;
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += n;
    }
    return len;
}

/* Keys and tensor names end up in messages and lookups: printable only. */
static bool gguf_name_ok(const char *s, size_t len)
{
    if (gguf_utf8_check(s, len) != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F)
            return false;
    }
    return true;
}

static ftsb_status gguf_bad(const struct gguf_file *f, struct lm_err *err,
                            uint64_t off, const char *fmt, ...)
    GGUF_PRINTF(4, 5);

static ftsb_status gguf_bad(const struct gguf_file *f, struct lm_err *err,
                            uint64_t off, const char *fmt, ...)
{
    char msg[800];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lm_fail(err, FTSB_E_FORMAT, "'%s': byte %" PRIu64 ": %s", f->name,
                   off, msg);
}

/* Keys in messages are cut short: a 65535-byte key would drown the rest. */
#define GGUF_SHOW(s) (int)((s).len > 80 ? 80 : (s).len), (s).ptr

static void gguf_what(struct gguf_rd *r, const char *fmt, ...)
    GGUF_PRINTF(2, 3);

static void gguf_what(struct gguf_rd *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->what, sizeof r->what, fmt, ap);
    va_end(ap);
}

static ftsb_status gguf_need(struct gguf_rd *r, uint64_t n)
{
    uint64_t left = r->f->size - r->pos;

    if (n <= left)
        return FTSB_OK;
    if (n > r->f->size)
        return gguf_bad(r->f, r->err, r->pos,
                        "%s claims %" PRIu64 " bytes, more than the whole "
                        "file (%" PRIu64 " bytes); the file is corrupt or "
                        "truncated: re-download or re-convert it",
                        r->what, n, r->f->size);
    return gguf_bad(r->f, r->err, r->pos,
                    "the file is truncated in %s: %" PRIu64 " bytes needed, "
                    "%" PRIu64 " left; re-download or re-convert it",
                    r->what, n, left);
}

/* count elements of size bytes (at least, for strings) must fit in what
 * is left; count * size itself may overflow, so divide instead. */
static ftsb_status gguf_need_count(struct gguf_rd *r, uint64_t count,
                                   uint64_t size, bool at_least)
{
    uint64_t left = r->f->size - r->pos;

    if (count <= left / size)
        return FTSB_OK;
    return gguf_bad(r->f, r->err, r->pos,
                    "%s claims %" PRIu64 " elements of %s%" PRIu64 " bytes, "
                    "more than the %" PRIu64 " bytes left; the file is "
                    "corrupt or truncated: re-download or re-convert it",
                    r->what, count, at_least ? "at least " : "", size, left);
}

static ftsb_status gguf_u32(struct gguf_rd *r, uint32_t *v)
{
    ftsb_status s = gguf_need(r, 4);

    if (s)
        return s;
    memcpy(v, r->f->base + r->pos, 4);
    r->pos += 4;
    return FTSB_OK;
}

static ftsb_status gguf_u64(struct gguf_rd *r, uint64_t *v)
{
    ftsb_status s = gguf_need(r, 8);

    if (s)
        return s;
    memcpy(v, r->f->base + r->pos, 8);
    r->pos += 8;
    return FTSB_OK;
}

/* A length-prefixed string of at most cap bytes. */
static ftsb_status gguf_string(struct gguf_rd *r, uint64_t cap,
                               struct gguf_str *out)
{
    uint64_t at = r->pos, len;
    ftsb_status s = gguf_u64(r, &len);

    if (s)
        return s;
    if (len > cap)
        return gguf_bad(r->f, r->err, at,
                        "%s is %" PRIu64 " bytes long, longer than the "
                        "%" PRIu64 "-byte limit",
                        r->what, len, cap);
    if ((s = gguf_need(r, len)))
        return s;
    out->ptr = (const char *)r->f->base + r->pos;
    out->len = (size_t)len;
    r->pos += len;
    return FTSB_OK;
}

static uint64_t gguf_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static ftsb_status gguf_index_init(struct gguf_index *ix, uint64_t n)
{
    uint64_t cap = 16;

    while (cap < 2 * n)
        cap *= 2;
    ix->slot = calloc(cap, sizeof *ix->slot);
    ix->mask = cap - 1;
    return ix->slot ? FTSB_OK : FTSB_E_NOMEM;
}

static struct gguf_str gguf_entry_name(const struct gguf_file *f, int tensors,
                                       uint32_t i)
{
    struct gguf_str s;

    if (tensors) {
        s.ptr = f->tensors[i].name;
        s.len = strlen(f->tensors[i].name);
    } else {
        s = f->kv[i].key;
    }
    return s;
}

/* The slot holding name, or the empty slot where it would go. */
static uint32_t *gguf_index_slot(const struct gguf_file *f, int tensors,
                                 const char *name, size_t len)
{
    const struct gguf_index *ix = tensors ? &f->tensor_index : &f->kv_index;
    uint64_t h = gguf_hash(name, len) & ix->mask;

    for (;; h = (h + 1) & ix->mask) {
        uint32_t *slot = &ix->slot[h];
        struct gguf_str s;

        if (!*slot)
            return slot;
        s = gguf_entry_name(f, tensors, *slot - 1);
        if (s.len == len && memcmp(s.ptr, name, len) == 0)
            return slot;
    }
}

static ftsb_status gguf_parse_header(struct gguf_rd *r, uint64_t *n_tensors,
                                     uint64_t *n_kv)
{
    struct gguf_file *f = r->f;
    uint64_t left;
    ftsb_status s;

    if (f->size < 4 || memcmp(f->base, "GGUF", 4) != 0) {
        char shown[5] = "????";
        for (uint64_t i = 0; i < 4 && i < f->size; i++) {
            unsigned char c = f->base[i];
            shown[i] = c >= 0x20 && c < 0x7F ? (char)c : '?';
        }
        return gguf_bad(f, r->err, 0,
                        "not a GGUF file: bad magic '%s' (expected 'GGUF')",
                        shown);
    }
    r->pos = 4;
    gguf_what(r, "the header");
    if ((s = gguf_u32(r, &f->version)))
        return s;
    if (f->version == 0)
        return gguf_bad(f, r->err, 4, "unsupported GGUF version 0");
    if ((f->version & 0xFFFF) == 0)
        return gguf_bad(f, r->err, 4,
                        "GGUF version 0x%08" PRIx32 " makes no sense: the "
                        "file looks big-endian, and this reader reads "
                        "little-endian GGUF only; convert it again with a "
                        "little-endian writer",
                        f->version);
    if (f->version == 1)
        return gguf_bad(f, r->err, 4,
                        "GGUF version 1 is no longer supported; re-convert "
                        "the model with a current llama.cpp");
    if (f->version > 3)
        return gguf_bad(f, r->err, 4,
                        "GGUF version %" PRIu32 " is newer than this reader "
                        "(it reads versions 2 and 3)",
                        f->version);
    if ((s = gguf_u64(r, n_tensors)) || (s = gguf_u64(r, n_kv)))
        return s;
    left = f->size - r->pos;
    if (*n_tensors > GGUF_MAX_ENTRIES ||
        *n_tensors > left / GGUF_MIN_TENSOR_BYTES)
        return gguf_bad(f, r->err, 8,
                        "the header says %" PRIu64 " tensors, more than the "
                        "%" PRIu64 " bytes left can hold; the file is "
                        "corrupt or truncated",
                        *n_tensors, left);
    if (*n_kv > GGUF_MAX_ENTRIES || *n_kv > left / GGUF_MIN_KV_BYTES)
        return gguf_bad(f, r->err, 16,
                        "the header says %" PRIu64 " metadata entries, more "
                        "than the %" PRIu64 " bytes left can hold; the file "
                        "is corrupt or truncated",
                        *n_kv, left);
    return FTSB_OK;
}

static ftsb_status gguf_check_bools(struct gguf_rd *r, const struct gguf_kv *kv)
{
    for (uint64_t i = 0; i < kv->count; i++) {
        if (kv->value[i] <= 1)
            continue;
        if (kv->type == GGUF_TYPE_ARRAY)
            return gguf_bad(r->f, r->err,
                            (uint64_t)(kv->value + i - r->f->base),
                            "element %" PRIu64 " of key '%.*s' is the bool "
                            "value %u (must be 0 or 1)",
                            i, GGUF_SHOW(kv->key), kv->value[i]);
        return gguf_bad(r->f, r->err, (uint64_t)(kv->value - r->f->base),
                        "key '%.*s' has the bool value %u (must be 0 or 1)",
                        GGUF_SHOW(kv->key), kv->value[0]);
    }
    return FTSB_OK;
}

static ftsb_status gguf_parse_value(struct gguf_rd *r, struct gguf_kv *kv)
{
    uint64_t start = r->pos, bytes;
    ftsb_status s;

    kv->value = r->f->base + r->pos;
    gguf_what(r, "the value of key '%.*s'", GGUF_SHOW(kv->key));
    if (kv->elem_type == GGUF_TYPE_STRING) {
        struct gguf_str str;
        if (kv->type == GGUF_TYPE_ARRAY &&
            (s = gguf_need_count(r, kv->count, 8, true)))
            return s;
        for (uint64_t i = 0; i < kv->count; i++) {
            if ((s = gguf_string(r, GGUF_MAX_STRING, &str)))
                return s;
        }
    } else {
        uint64_t size = gguf_value_size[kv->elem_type];
        if (kv->type == GGUF_TYPE_ARRAY &&
            (s = gguf_need_count(r, kv->count, size, false)))
            return s;
        bytes = kv->count * size;
        if ((s = gguf_need(r, bytes)))
            return s;
        r->pos += bytes;
        if (kv->elem_type == GGUF_TYPE_BOOL && (s = gguf_check_bools(r, kv)))
            return s;
    }
    kv->value_size = r->pos - start;
    return FTSB_OK;
}

static ftsb_status gguf_parse_key(struct gguf_rd *r, uint64_t i,
                                  struct gguf_kv *kv)
{
    struct gguf_file *f = r->f;
    uint32_t *slot;
    ftsb_status s;

    kv->offset = r->pos;
    gguf_what(r, "the key of metadata entry %" PRIu64, i);
    if ((s = gguf_string(r, GGUF_MAX_KEY, &kv->key)))
        return s;
    if (kv->key.len == 0)
        return gguf_bad(f, r->err, kv->offset,
                        "metadata entry %" PRIu64 " has an empty key", i);
    if (!gguf_name_ok(kv->key.ptr, kv->key.len))
        return gguf_bad(f, r->err, kv->offset,
                        "the key of metadata entry %" PRIu64 " is not "
                        "printable UTF-8",
                        i);
    slot = gguf_index_slot(f, 0, kv->key.ptr, kv->key.len);
    if (*slot)
        return gguf_bad(f, r->err, kv->offset,
                        "duplicate key '%.*s' (first at byte %" PRIu64 ")",
                        GGUF_SHOW(kv->key), f->kv[*slot - 1].offset);
    *slot = (uint32_t)i + 1;
    return FTSB_OK;
}

static ftsb_status gguf_parse_kv(struct gguf_rd *r, uint64_t i,
                                 struct gguf_kv *kv)
{
    struct gguf_file *f = r->f;
    uint64_t at;
    ftsb_status s;

    if ((s = gguf_parse_key(r, i, kv)))
        return s;
    at = r->pos;
    gguf_what(r, "the type of key '%.*s'", GGUF_SHOW(kv->key));
    if ((s = gguf_u32(r, &kv->type)))
        return s;
    if (kv->type >= GGUF_TYPE_COUNT)
        return gguf_bad(f, r->err, at,
                        "key '%.*s' has unknown value type %" PRIu32,
                        GGUF_SHOW(kv->key), kv->type);
    kv->elem_type = kv->type;
    kv->count = 1;
    if (kv->type == GGUF_TYPE_ARRAY) {
        at = r->pos;
        if ((s = gguf_u32(r, &kv->elem_type)) || (s = gguf_u64(r, &kv->count)))
            return s;
        if (kv->elem_type == GGUF_TYPE_ARRAY)
            return gguf_bad(f, r->err, at,
                            "key '%.*s' is a nested array (an array of "
                            "arrays), which GGUF readers do not accept",
                            GGUF_SHOW(kv->key));
        if (kv->elem_type >= GGUF_TYPE_COUNT)
            return gguf_bad(f, r->err, at,
                            "key '%.*s' is an array of unknown type %" PRIu32,
                            GGUF_SHOW(kv->key), kv->elem_type);
    }
    return gguf_parse_value(r, kv);
}

static ftsb_status gguf_read_alignment(struct gguf_file *f, struct lm_err *err)
{
    const struct gguf_kv *kv = gguf_find_kv(f, "general.alignment");
    uint32_t a;

    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    if (!kv)
        return FTSB_OK;
    if (kv->type != GGUF_TYPE_UINT32)
        return gguf_bad(f, err, kv->offset,
                        "general.alignment must be a u32 but is a %s",
                        gguf_value_name[kv->type]);
    memcpy(&a, kv->value, 4);
    if (a == 0 || (a & (a - 1)) != 0)
        return gguf_bad(f, err, kv->offset,
                        "general.alignment is %" PRIu32 ", not a power of "
                        "two",
                        a);
    f->alignment = a;
    return FTSB_OK;
}

static ftsb_status gguf_parse_name(struct gguf_rd *r, uint64_t i,
                                   struct gguf_tensor *t)
{
    struct gguf_file *f = r->f;
    struct gguf_str name;
    uint32_t *slot;
    ftsb_status s;

    gguf_what(r, "the name of tensor %" PRIu64, i);
    if ((s = gguf_string(r, GGUF_MAX_NAME, &name)))
        return s;
    if (name.len == 0)
        return gguf_bad(f, r->err, t->info_offset,
                        "tensor %" PRIu64 " has an empty name", i);
    if (!gguf_name_ok(name.ptr, name.len))
        return gguf_bad(f, r->err, t->info_offset,
                        "the name of tensor %" PRIu64 " is not printable "
                        "UTF-8",
                        i);
    memcpy(t->name, name.ptr, name.len);
    t->name[name.len] = '\0';
    slot = gguf_index_slot(f, 1, name.ptr, name.len);
    if (*slot)
        return gguf_bad(f, r->err, t->info_offset,
                        "duplicate tensor name '%s' (tensors %" PRIu32
                        " and %" PRIu64 ")",
                        t->name, *slot - 1, i);
    *slot = (uint32_t)i + 1;
    return FTSB_OK;
}

static ftsb_status gguf_parse_shape(struct gguf_rd *r, struct gguf_tensor *t)
{
    struct gguf_file *f = r->f;
    uint64_t at = r->pos, n = 1;
    ftsb_status s;

    gguf_what(r, "the shape of tensor '%s'", t->name);
    if ((s = gguf_u32(r, &t->n_dims)))
        return s;
    if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
        return gguf_bad(f, r->err, at,
                        "tensor '%s' has %" PRIu32 " dimensions (1 to 4 "
                        "allowed)",
                        t->name, t->n_dims);
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        uint64_t ne = 1;
        at = r->pos;
        if (d < t->n_dims && (s = gguf_u64(r, &ne)))
            return s;
        if (ne == 0)
            return gguf_bad(f, r->err, at,
                            "tensor '%s' has size 0 in dimension %" PRIu32,
                            t->name, d);
        if (ne > INT64_MAX || __builtin_mul_overflow(n, ne, &n) ||
            n > INT64_MAX)
            return gguf_bad(f, r->err, at,
                            "tensor '%s' is too large: its element count "
                            "overflows at dimension %" PRIu32,
                            t->name, d);
        t->ne[d] = (int64_t)ne;
    }
    t->nelem = n;
    return FTSB_OK;
}

static ftsb_status gguf_parse_type(struct gguf_rd *r, struct gguf_tensor *t)
{
    struct gguf_file *f = r->f;
    const struct gguf_ttraits *tt;
    uint64_t at = r->pos;
    ftsb_status s;

    gguf_what(r, "the type of tensor '%s'", t->name);
    if ((s = gguf_u32(r, &t->type)))
        return s;
    tt = gguf_traits(t->type);
    if (!tt)
        return gguf_bad(f, r->err, at,
                        "tensor '%s' has unknown type id %" PRIu32, t->name,
                        t->type);
    if ((uint64_t)t->ne[0] % tt->block != 0)
        return gguf_bad(f, r->err, at,
                        "tensor '%s' of type %s has %" PRId64 " values per "
                        "row, not a multiple of its block size %u",
                        t->name, tt->name, t->ne[0], (unsigned)tt->block);
    if (__builtin_mul_overflow(t->nelem / tt->block, (uint64_t)tt->size,
                               &t->nbytes))
        return gguf_bad(f, r->err, at,
                        "tensor '%s' is too large: its byte size overflows",
                        t->name);
    return FTSB_OK;
}

static ftsb_status gguf_parse_tensor(struct gguf_rd *r, uint64_t i,
                                     struct gguf_tensor *t)
{
    ftsb_status s;

    t->info_offset = r->pos;
    if ((s = gguf_parse_name(r, i, t)) || (s = gguf_parse_shape(r, t)) ||
        (s = gguf_parse_type(r, t)))
        return s;
    gguf_what(r, "the data offset of tensor '%s'", t->name);
    return gguf_u64(r, &t->offset);
}

static bool gguf_align_up(uint64_t x, uint64_t a, uint64_t *out)
{
    if (__builtin_add_overflow(x, a - 1, out))
        return false;
    *out &= ~(a - 1);
    return true;
}

/* The tensor that ends where t should start, for messages. */
static const char *gguf_prev_name(const struct gguf_file *f, uint64_t i)
{
    return i ? f->tensors[i - 1].name : "(start of data)";
}

static ftsb_status gguf_place_tensor(struct gguf_file *f, struct lm_err *err,
                                     uint64_t i, uint64_t *expect)
{
    const struct gguf_tensor *t = &f->tensors[i];
    uint64_t a = f->alignment, end, padded;

    if (t->offset % a != 0)
        return gguf_bad(f, err, t->info_offset,
                        "tensor '%s' data offset %" PRIu64 " is not a "
                        "multiple of the alignment %" PRIu64,
                        t->name, t->offset, a);
    if (t->offset < *expect)
        return gguf_bad(f, err, t->info_offset,
                        "tensor '%s' at data offset %" PRIu64 " overlaps "
                        "tensor '%s', which ends at data offset %" PRIu64,
                        t->name, t->offset, gguf_prev_name(f, i), *expect);
    if (t->offset > *expect)
        return gguf_bad(f, err, t->info_offset,
                        "tensor '%s' starts at data offset %" PRIu64 " but "
                        "'%s' ends at %" PRIu64 ": tensors must be stored "
                        "in order without gaps (as llama.cpp requires)",
                        t->name, t->offset, gguf_prev_name(f, i), *expect);
    if (__builtin_add_overflow(f->data_offset, t->offset, &end) ||
        __builtin_add_overflow(end, t->nbytes, &end) || end > f->size)
        return gguf_bad(f, err, t->info_offset,
                        "the file is truncated: tensor '%s' ends at byte "
                        "%" PRIu64 " but the file has %" PRIu64 " bytes; "
                        "re-download or re-convert it",
                        t->name, f->data_offset + t->offset + t->nbytes,
                        f->size);
    if (!gguf_align_up(t->nbytes, a, &padded) ||
        __builtin_add_overflow(t->offset, padded, expect))
        return gguf_bad(f, err, t->info_offset,
                        "tensor '%s' is too large to align", t->name);
    return FTSB_OK;
}

static ftsb_status gguf_place(struct gguf_file *f, struct gguf_rd *r)
{
    uint64_t expect = 0;
    ftsb_status s;

    f->data_offset = r->pos;
    if (f->n_tensors == 0)
        return FTSB_OK;
    if (!gguf_align_up(r->pos, f->alignment, &f->data_offset))
        return gguf_bad(f, r->err, r->pos,
                        "the alignment %" PRIu32 " puts the tensor data "
                        "past the largest file offset",
                        f->alignment);
    if (f->data_offset > f->size)
        return gguf_bad(f, r->err, r->pos,
                        "the file is truncated: the tensor data should "
                        "start at byte %" PRIu64 " but the file has "
                        "%" PRIu64 " bytes; re-download or re-convert it",
                        f->data_offset, f->size);
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        if ((s = gguf_place_tensor(f, r->err, i, &expect)))
            return s;
    }
    return FTSB_OK;
}

static ftsb_status gguf_parse(struct gguf_file *f, struct lm_err *err)
{
    struct gguf_rd r = {.f = f, .err = err};
    ftsb_status s;

    if ((s = gguf_parse_header(&r, &f->n_tensors, &f->n_kv)))
        return s;
    /* Both counts are bounded by the file size now: safe to allocate. */
    f->kv = calloc(f->n_kv ? f->n_kv : 1, sizeof *f->kv);
    f->tensors = calloc(f->n_tensors ? f->n_tensors : 1, sizeof *f->tensors);
    if (!f->kv || !f->tensors || gguf_index_init(&f->kv_index, f->n_kv) ||
        gguf_index_init(&f->tensor_index, f->n_tensors))
        return lm_fail(err, FTSB_E_NOMEM, "'%s': out of memory", f->name);
    for (uint64_t i = 0; i < f->n_kv; i++) {
        if ((s = gguf_parse_kv(&r, i, &f->kv[i])))
            return s;
    }
    if ((s = gguf_read_alignment(f, err)))
        return s;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        if ((s = gguf_parse_tensor(&r, i, &f->tensors[i])))
            return s;
    }
    return gguf_place(f, &r);
}

static ftsb_status gguf_new(const char *name, struct gguf_file **out,
                            struct lm_err *err)
{
    struct gguf_file *f = calloc(1, sizeof *f);

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

ftsb_status gguf_open_mem(const void *data, size_t size, const char *name,
                          struct gguf_file **out, struct lm_err *err)
{
    struct gguf_file *f = NULL;
    ftsb_status s;

    *out = NULL;
    if ((s = gguf_new(name, &f, err)))
        return s;
    f->base = data;
    f->size = size;
    if ((s = gguf_parse(f, err))) {
        gguf_close(f);
        return s;
    }
    *out = f;
    return FTSB_OK;
}

static ftsb_status gguf_map(struct gguf_file *f, int fd, struct lm_err *err)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return lm_fail(err, FTSB_E_IO, "cannot stat '%s': %s", f->name,
                       strerror(errno));
    if (!S_ISREG(st.st_mode))
        return lm_fail(err, FTSB_E_IO, "'%s' is not a regular file",
                       f->name);
    if (st.st_size == 0)
        return gguf_bad(f, err, 0, "the file is empty; re-download or "
                                   "re-convert it");
    if ((uint64_t)st.st_size > SIZE_MAX)
        return lm_fail(err, FTSB_E_IO, "'%s' is too large to map", f->name);
    f->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (f->map == MAP_FAILED) {
        f->map = NULL;
        return lm_fail(err, FTSB_E_IO, "cannot map '%s': %s", f->name,
                       strerror(errno));
    }
    f->map_size = (size_t)st.st_size;
    f->base = f->map;
    f->size = (uint64_t)st.st_size;
    return FTSB_OK;
}

ftsb_status gguf_open(const char *path, struct gguf_file **out,
                      struct lm_err *err)
{
    struct gguf_file *f = NULL;
    ftsb_status s;
    int fd;

    *out = NULL;
    if ((s = gguf_new(path, &f, err)))
        return s;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        s = lm_fail(err, FTSB_E_IO, "cannot open '%s': %s", path,
                    strerror(errno));
        gguf_close(f);
        return s;
    }
    s = gguf_map(f, fd, err);
    close(fd);
    if (s || (s = gguf_parse(f, err))) {
        gguf_close(f);
        return s;
    }
    *out = f;
    return FTSB_OK;
}

void gguf_close(struct gguf_file *f)
{
    if (!f)
        return;
    if (f->map)
        munmap(f->map, f->map_size);
    free(f->kv);
    free(f->tensors);
    free(f->kv_index.slot);
    free(f->tensor_index.slot);
    free(f->name);
    free(f);
}

const char *gguf_name(const struct gguf_file *f) { return f->name; }
uint32_t gguf_version(const struct gguf_file *f) { return f->version; }
uint32_t gguf_alignment(const struct gguf_file *f) { return f->alignment; }
uint64_t gguf_data_offset(const struct gguf_file *f) { return f->data_offset; }
uint64_t gguf_file_size(const struct gguf_file *f) { return f->size; }
uint64_t gguf_n_kv(const struct gguf_file *f) { return f->n_kv; }
uint64_t gguf_n_tensors(const struct gguf_file *f) { return f->n_tensors; }

const struct gguf_kv *gguf_kv_at(const struct gguf_file *f, uint64_t i)
{
    return i < f->n_kv ? &f->kv[i] : NULL;
}

const struct gguf_tensor *gguf_tensor_at(const struct gguf_file *f,
                                         uint64_t i)
{
    return i < f->n_tensors ? &f->tensors[i] : NULL;
}

const struct gguf_kv *gguf_find_kv(const struct gguf_file *f, const char *key)
{
    uint32_t *slot = gguf_index_slot(f, 0, key, strlen(key));

    return *slot ? &f->kv[*slot - 1] : NULL;
}

const struct gguf_tensor *gguf_find_tensor(const struct gguf_file *f,
                                           const char *name)
{
    uint32_t *slot = gguf_index_slot(f, 1, name, strlen(name));

    return *slot ? &f->tensors[*slot - 1] : NULL;
}

static bool gguf_is_int(uint32_t t)
{
    return t <= GGUF_TYPE_INT32 ? t != GGUF_TYPE_FLOAT32 && t != GGUF_TYPE_BOOL
                                : t == GGUF_TYPE_UINT64 || t == GGUF_TYPE_INT64;
}

/* Reads an integer of type t at p; false if it does not fit in int64. */
static bool gguf_load_int(const uint8_t *p, uint32_t t, int64_t *out)
{
    switch (t) {
    case GGUF_TYPE_UINT8: *out = p[0]; return true;
    case GGUF_TYPE_INT8: *out = (int8_t)p[0]; return true;
    case GGUF_TYPE_UINT16: { uint16_t v; memcpy(&v, p, 2); *out = v; return true; }
    case GGUF_TYPE_INT16: { int16_t v; memcpy(&v, p, 2); *out = v; return true; }
    case GGUF_TYPE_UINT32: { uint32_t v; memcpy(&v, p, 4); *out = v; return true; }
    case GGUF_TYPE_INT32: { int32_t v; memcpy(&v, p, 4); *out = v; return true; }
    case GGUF_TYPE_INT64: memcpy(out, p, 8); return true;
    case GGUF_TYPE_UINT64: {
        uint64_t v;
        memcpy(&v, p, 8);
        *out = (int64_t)v;
        return v <= INT64_MAX;
    }
    default: return false;
    }
}

static ftsb_status gguf_missing(const struct gguf_file *f, const char *key,
                                struct lm_err *err)
{
    return lm_fail(err, FTSB_E_NOT_FOUND, "'%s': key '%s' is missing",
                   f->name, key);
}

static ftsb_status gguf_wrong(const struct gguf_file *f,
                              const struct gguf_kv *kv, const char *want,
                              struct lm_err *err)
{
    if (kv->type == GGUF_TYPE_ARRAY)
        return gguf_bad(f, err, kv->offset,
                        "key '%.*s' is an array of %s, expected %s",
                        GGUF_SHOW(kv->key), gguf_value_name[kv->elem_type],
                        want);
    return gguf_bad(f, err, kv->offset, "key '%.*s' is a %s, expected %s",
                    GGUF_SHOW(kv->key), gguf_value_name[kv->type], want);
}

ftsb_status gguf_kv_int(const struct gguf_file *f, const struct gguf_kv *kv,
                        int64_t *out, struct lm_err *err)
{
    if (!gguf_is_int(kv->type))
        return gguf_wrong(f, kv, "an integer", err);
    if (!gguf_load_int(kv->value, kv->type, out))
        return gguf_bad(f, err, kv->offset,
                        "key '%.*s' is too large for a signed 64-bit "
                        "integer",
                        GGUF_SHOW(kv->key));
    return FTSB_OK;
}

ftsb_status gguf_get_int(const struct gguf_file *f, const char *key,
                         int64_t min, int64_t max, int64_t *out,
                         struct lm_err *err)
{
    const struct gguf_kv *kv = gguf_find_kv(f, key);
    int64_t v = 0;
    ftsb_status s;

    if (!kv)
        return gguf_missing(f, key, err);
    if ((s = gguf_kv_int(f, kv, &v, err)))
        return s;
    if (v < min || v > max)
        return gguf_bad(f, err, kv->offset,
                        "key '%s' is %" PRId64 ", outside %" PRId64
                        "..%" PRId64,
                        key, v, min, max);
    *out = v;
    return FTSB_OK;
}

ftsb_status gguf_get_f32(const struct gguf_file *f, const char *key,
                         float *out, struct lm_err *err)
{
    const struct gguf_kv *kv = gguf_find_kv(f, key);
    double d;

    if (!kv)
        return gguf_missing(f, key, err);
    if (kv->type == GGUF_TYPE_FLOAT32) {
        memcpy(out, kv->value, 4);
        return FTSB_OK;
    }
    if (kv->type != GGUF_TYPE_FLOAT64)
        return gguf_wrong(f, kv, "a f32", err);
    memcpy(&d, kv->value, 8);
    *out = (float)d;
    return FTSB_OK;
}

ftsb_status gguf_get_bool(const struct gguf_file *f, const char *key,
                          bool *out, struct lm_err *err)
{
    const struct gguf_kv *kv = gguf_find_kv(f, key);

    if (!kv)
        return gguf_missing(f, key, err);
    if (kv->type != GGUF_TYPE_BOOL)
        return gguf_wrong(f, kv, "a bool", err);
    *out = kv->value[0] != 0;
    return FTSB_OK;
}

ftsb_status gguf_get_str(const struct gguf_file *f, const char *key,
                         struct gguf_str *out, struct lm_err *err)
{
    const struct gguf_kv *kv = gguf_find_kv(f, key);
    uint64_t len;

    if (!kv)
        return gguf_missing(f, key, err);
    if (kv->type != GGUF_TYPE_STRING)
        return gguf_wrong(f, kv, "a str", err);
    memcpy(&len, kv->value, 8);
    out->ptr = (const char *)kv->value + 8;
    out->len = (size_t)len;
    return FTSB_OK;
}

ftsb_status gguf_get_arr(const struct gguf_file *f, const char *key,
                         uint32_t elem_type, const struct gguf_kv **out,
                         struct lm_err *err)
{
    const struct gguf_kv *kv = gguf_find_kv(f, key);
    char want[48];

    if (!kv)
        return gguf_missing(f, key, err);
    if (kv->type == GGUF_TYPE_ARRAY &&
        (elem_type == GGUF_ANY || kv->elem_type == elem_type ||
         (elem_type == GGUF_ANY_INT && gguf_is_int(kv->elem_type)))) {
        *out = kv;
        return FTSB_OK;
    }
    snprintf(want, sizeof want, "an array of %s",
             elem_type == GGUF_ANY       ? "anything"
             : elem_type == GGUF_ANY_INT ? "integers"
             : gguf_type_name(elem_type) ? gguf_type_name(elem_type)
                                         : "?");
    return gguf_wrong(f, kv, want, err);
}

ftsb_status gguf_arr_str(const struct gguf_file *f, const struct gguf_kv *kv,
                         struct gguf_str *out, struct lm_err *err)
{
    const uint8_t *p = kv->value;

    if (kv->type != GGUF_TYPE_ARRAY || kv->elem_type != GGUF_TYPE_STRING)
        return gguf_wrong(f, kv, "an array of str", err);
    for (uint64_t i = 0; i < kv->count; i++) {
        uint64_t len;
        memcpy(&len, p, 8);
        out[i].ptr = (const char *)p + 8;
        out[i].len = (size_t)len;
        p += 8 + len;
    }
    return FTSB_OK;
}

ftsb_status gguf_arr_f32(const struct gguf_file *f, const struct gguf_kv *kv,
                         float *out, struct lm_err *err)
{
    if (kv->type != GGUF_TYPE_ARRAY || kv->elem_type != GGUF_TYPE_FLOAT32)
        return gguf_wrong(f, kv, "an array of f32", err);
    if (kv->count)
        memcpy(out, kv->value, (size_t)kv->count * 4);
    return FTSB_OK;
}

ftsb_status gguf_arr_int(const struct gguf_file *f, const struct gguf_kv *kv,
                         int64_t *out, struct lm_err *err)
{
    size_t w;

    if (kv->type != GGUF_TYPE_ARRAY || !gguf_is_int(kv->elem_type))
        return gguf_wrong(f, kv, "an array of integers", err);
    w = gguf_value_size[kv->elem_type];
    for (uint64_t i = 0; i < kv->count; i++) {
        if (!gguf_load_int(kv->value + i * w, kv->elem_type, &out[i]))
            return gguf_bad(f, err, kv->offset,
                            "element %" PRIu64 " of key '%.*s' is too large "
                            "for a signed 64-bit integer",
                            i, GGUF_SHOW(kv->key));
    }
    return FTSB_OK;
}

ftsb_status gguf_arr_i32(const struct gguf_file *f, const struct gguf_kv *kv,
                         int32_t *out, struct lm_err *err)
{
    size_t w;

    if (kv->type != GGUF_TYPE_ARRAY || !gguf_is_int(kv->elem_type))
        return gguf_wrong(f, kv, "an array of integers", err);
    w = gguf_value_size[kv->elem_type];
    for (uint64_t i = 0; i < kv->count; i++) {
        int64_t v;
        if (!gguf_load_int(kv->value + i * w, kv->elem_type, &v) ||
            v < INT32_MIN || v > INT32_MAX)
            return gguf_bad(f, err, kv->offset,
                            "element %" PRIu64 " of key '%.*s' does not fit "
                            "in a 32-bit integer",
                            i, GGUF_SHOW(kv->key));
        out[i] = (int32_t)v;
    }
    return FTSB_OK;
}

/* Appends to a fixed buffer; past the end it marks the cut with "...". */
struct gguf_out {
    char *buf;
    size_t size, len;
    bool full;
};

static void gguf_put(struct gguf_out *o, const char *fmt, ...) GGUF_PRINTF(2, 3);

static void gguf_put(struct gguf_out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->full)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < o->size - o->len) {
        o->len += (size_t)n;
        return;
    }
    o->full = true;
    if (o->size >= 4)
        memcpy(o->buf + o->size - 4, "...", 4);
}

static void gguf_put_str(struct gguf_out *o, const uint8_t *p, uint64_t len)
{
    gguf_put(o, "\"");
    for (uint64_t i = 0; i < len && !o->full; i++) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\')
            gguf_put(o, "\\%c", c);
        else if (c < 0x20 || c == 0x7F)
            gguf_put(o, c == '\n' ? "\\n" : "\\x%02x", c);
        else
            gguf_put(o, "%c", c);
    }
    gguf_put(o, "\"");
}

/* One value of type t at p; returns its size in bytes. */
static uint64_t gguf_put_value(struct gguf_out *o, const uint8_t *p, uint32_t t)
{
    int64_t v;

    if (t == GGUF_TYPE_STRING) {
        uint64_t len;
        memcpy(&len, p, 8);
        gguf_put_str(o, p + 8, len);
        return 8 + len;
    }
    if (t == GGUF_TYPE_FLOAT32) {
        float x;
        memcpy(&x, p, 4);
        gguf_put(o, "%.9g", (double)x);
    } else if (t == GGUF_TYPE_FLOAT64) {
        double x;
        memcpy(&x, p, 8);
        gguf_put(o, "%.17g", x);
    } else if (t == GGUF_TYPE_BOOL) {
        gguf_put(o, "%s", p[0] ? "true" : "false");
    } else if (gguf_load_int(p, t, &v)) {
        gguf_put(o, "%" PRId64, v);
    } else {
        uint64_t u;
        memcpy(&u, p, 8);
        gguf_put(o, "%" PRIu64, u);
    }
    return gguf_value_size[t];
}

void gguf_kv_describe(const struct gguf_kv *kv, char *buf, size_t size)
{
    struct gguf_out o = {buf, size, 0, false};
    const uint8_t *p = kv->value;

    if (!size)
        return;
    buf[0] = '\0';
    if (kv->type != GGUF_TYPE_ARRAY) {
        gguf_put_value(&o, p, kv->type);
        return;
    }
    gguf_put(&o, "[%" PRIu64 " x %s]", kv->count,
             gguf_value_name[kv->elem_type]);
    for (uint64_t i = 0; i < kv->count && i < 8 && !o.full; i++) {
        gguf_put(&o, i ? ", " : " ");
        p += gguf_put_value(&o, p, kv->elem_type);
    }
    if (kv->count > 8)
        gguf_put(&o, ", ...");
}

ftsb_status gguf_tensor_data(const struct gguf_file *f,
                             const struct gguf_tensor *t, const void **data,
                             struct lm_err *err)
{
    if (!gguf_tensor_type_supported(t->type))
        return lm_fail(err, FTSB_E_UNSUPPORTED,
                       "'%s': tensor '%s' has the unsupported tensor type "
                       "%s; this engine reads F32, F16, BF16 and Q8_0: "
                       "re-convert the model to one of them",
                       f->name, t->name, gguf_tensor_type_name(t->type));
    *data = f->base + f->data_offset + t->offset;
    return FTSB_OK;
}

ftsb_status gguf_get_tensor(const struct gguf_file *f, const char *name,
                            struct gguf_tensor_view *out, struct lm_err *err)
{
    const struct gguf_tensor *t = gguf_find_tensor(f, name);
    ftsb_status s;

    if (!t)
        return lm_fail(err, FTSB_E_NOT_FOUND, "'%s': no tensor named '%s'",
                       f->name, name);
    if ((s = gguf_tensor_data(f, t, &out->data, err)))
        return s;
    out->name = t->name;
    out->type = t->type;
    out->n_dims = t->n_dims;
    memcpy(out->ne, t->ne, sizeof out->ne);
    out->nbytes = t->nbytes;
    return FTSB_OK;
}

const char *gguf_str_show(struct gguf_str s, size_t max_chars, char *buf,
                          size_t size)
{
    size_t k = 0, n = s.len < max_chars ? s.len : max_chars;

    if (size == 0)
        return buf;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.ptr[i];

        if (c >= 0x20 && c < 0x7f && c != '\\') {
            if (k + 1 >= size)
                break;
            buf[k++] = (char)c;
        } else {
            if (k + 4 >= size)
                break;
            k += (size_t)snprintf(buf + k, size - k, "\\x%02X", c);
        }
    }
    if (s.len > n && k + 3 < size)
        k += (size_t)snprintf(buf + k, size - k, "...");
    buf[k] = '\0';
    return buf;
}
