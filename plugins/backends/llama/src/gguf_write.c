/*
 * gguf_write.c - the GGUF writer.  Each key keeps its value already
 * serialized (the bytes that follow the key in the file), so copying a
 * key from another file is a byte copy and writing is a straight walk.
 * The output follows the spec as llama.cpp reads it: version 3, tensors
 * stored in info order back to back, each padded with zeros to the
 * alignment, the data section starting at an aligned offset.  Files go to
 * "<path>.tmp", are synced, then renamed, so a crash never leaves half a
 * model under the real name.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF writer assumes a little-endian host"
#endif

struct gguf_wkv {
    char *key;
    size_t key_len;
    uint32_t type;
    uint8_t *payload; /* the bytes after the type tag */
    size_t payload_len;
};

struct gguf_wtensor {
    char name[GGUF_MAX_NAME + 1];
    uint32_t type;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    const void *data;
    uint64_t nbytes;
};

struct gguf_writer {
    struct gguf_wkv *kv;
    size_t n_kv, cap_kv;
    struct gguf_wtensor *t;
    size_t n_t, cap_t;
};

/* Where bytes go: a FILE or a growing buffer.  Errors are sticky. */
struct gguf_sink {
    FILE *fp;
    uint8_t *buf;
    size_t len, cap;
    int error; /* errno of the first failure, or ENOMEM */
};

static const uint8_t gguf_w_size[GGUF_TYPE_COUNT] = {
    1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8,
};

static ftsb_status gguf_w_nomem(struct lm_err *err)
{
    return lm_fail(err, FTSB_E_NOMEM, "out of memory building a GGUF file");
}

ftsb_status gguf_writer_new(struct gguf_writer **out, struct lm_err *err)
{
    *out = calloc(1, sizeof **out);
    return *out ? FTSB_OK : gguf_w_nomem(err);
}

void gguf_writer_free(struct gguf_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].payload);
    }
    free(w->kv);
    free(w->t);
    free(w);
}

static bool gguf_w_grow(void **p, size_t *cap, size_t n, size_t elem)
{
    size_t want = *cap ? *cap * 2 : 16;
    void *q;

    if (n < *cap)
        return true;
    if (want > SIZE_MAX / elem)
        return false;
    q = realloc(*p, want * elem);
    if (!q)
        return false;
    *p = q;
    *cap = want;
    return true;
}

static ftsb_status gguf_w_check_key(const char *key, struct lm_err *err)
{
    size_t len = key ? strlen(key) : 0;

    if (len == 0 || len > GGUF_MAX_KEY ||
        gguf_utf8_check(key, len) != len)
        return lm_fail(err, FTSB_E_INVALID,
                       "gguf writer: key '%.80s' is empty, longer than "
                       "65535 bytes or not UTF-8",
                       key ? key : "");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c < 0x20 || c == 0x7F)
            return lm_fail(err, FTSB_E_INVALID,
                           "gguf writer: key '%.80s' contains a control "
                           "character",
                           key);
    }
    return FTSB_OK;
}

/* Stores payload (taking ownership) under key, replacing an older value. */
static ftsb_status gguf_w_put(struct gguf_writer *w, const char *key,
                              uint32_t type, uint8_t *payload, size_t len,
                              struct lm_err *err)
{
    size_t klen = strlen(key);
    struct gguf_wkv *kv;

    for (size_t i = 0; i < w->n_kv; i++) {
        kv = &w->kv[i];
        if (kv->key_len == klen && memcmp(kv->key, key, klen) == 0) {
            free(kv->payload);
            kv->type = type;
            kv->payload = payload;
            kv->payload_len = len;
            return FTSB_OK;
        }
    }
    if (!gguf_w_grow((void **)&w->kv, &w->cap_kv, w->n_kv, sizeof *w->kv))
        goto nomem;
    kv = &w->kv[w->n_kv];
    kv->key = malloc(klen + 1);
    if (!kv->key)
        goto nomem;
    memcpy(kv->key, key, klen + 1);
    kv->key_len = klen;
    kv->type = type;
    kv->payload = payload;
    kv->payload_len = len;
    w->n_kv++;
    return FTSB_OK;
nomem:
    free(payload);
    return gguf_w_nomem(err);
}

static bool gguf_w_fixed(uint32_t type)
{
    return type < GGUF_TYPE_COUNT && gguf_w_size[type] != 0;
}

/* Copies a C value of type t into its file form (bools become 0/1). */
static void gguf_w_store(uint8_t *dst, uint32_t t, const void *src)
{
    if (t == GGUF_TYPE_BOOL)
        dst[0] = *(const bool *)src ? 1 : 0;
    else
        memcpy(dst, src, gguf_w_size[t]);
}

ftsb_status gguf_w_scalar(struct gguf_writer *w, const char *key,
                          uint32_t type, const void *value,
                          struct lm_err *err)
{
    uint8_t *p;
    ftsb_status s;

    if ((s = gguf_w_check_key(key, err)))
        return s;
    if (!gguf_w_fixed(type))
        return lm_fail(err, FTSB_E_INVALID,
                       "gguf writer: key '%.80s': %" PRIu32 " is not a "
                       "scalar type",
                       key, type);
    if (!(p = malloc(gguf_w_size[type])))
        return gguf_w_nomem(err);
    gguf_w_store(p, type, value);
    return gguf_w_put(w, key, type, p, gguf_w_size[type], err);
}

ftsb_status gguf_w_u32(struct gguf_writer *w, const char *key, uint32_t v,
                       struct lm_err *err)
{
    return gguf_w_scalar(w, key, GGUF_TYPE_UINT32, &v, err);
}

ftsb_status gguf_w_i32(struct gguf_writer *w, const char *key, int32_t v,
                       struct lm_err *err)
{
    return gguf_w_scalar(w, key, GGUF_TYPE_INT32, &v, err);
}

ftsb_status gguf_w_u64(struct gguf_writer *w, const char *key, uint64_t v,
                       struct lm_err *err)
{
    return gguf_w_scalar(w, key, GGUF_TYPE_UINT64, &v, err);
}

ftsb_status gguf_w_f32(struct gguf_writer *w, const char *key, float v,
                       struct lm_err *err)
{
    return gguf_w_scalar(w, key, GGUF_TYPE_FLOAT32, &v, err);
}

ftsb_status gguf_w_bool(struct gguf_writer *w, const char *key, bool v,
                        struct lm_err *err)
{
    return gguf_w_scalar(w, key, GGUF_TYPE_BOOL, &v, err);
}

ftsb_status gguf_w_str(struct gguf_writer *w, const char *key,
                       const char *str, size_t len, struct lm_err *err)
{
    uint64_t n = len;
    uint8_t *p;
    ftsb_status s;

    if ((s = gguf_w_check_key(key, err)))
        return s;
    if (len > SIZE_MAX - 8 || !(p = malloc(8 + len)))
        return gguf_w_nomem(err);
    memcpy(p, &n, 8);
    if (len)
        memcpy(p + 8, str, len);
    return gguf_w_put(w, key, GGUF_TYPE_STRING, p, 8 + len, err);
}

/* An array payload: u32 element type, u64 count, then body_len bytes. */
static uint8_t *gguf_w_arr_head(uint32_t elem, uint64_t n, size_t body_len)
{
    uint8_t *p;

    if (body_len > SIZE_MAX - 12 || !(p = malloc(12 + body_len)))
        return NULL;
    memcpy(p, &elem, 4);
    memcpy(p + 4, &n, 8);
    return p;
}

ftsb_status gguf_w_arr(struct gguf_writer *w, const char *key,
                       uint32_t elem_type, const void *data, uint64_t n,
                       struct lm_err *err)
{
    size_t size, body;
    uint8_t *p;
    ftsb_status s;

    if ((s = gguf_w_check_key(key, err)))
        return s;
    if (!gguf_w_fixed(elem_type))
        return lm_fail(err, FTSB_E_INVALID,
                       "gguf writer: key '%.80s': %" PRIu32 " is not a "
                       "fixed-size element type (strings use "
                       "gguf_w_arr_str)",
                       key, elem_type);
    size = gguf_w_size[elem_type];
    if (n > SIZE_MAX / size || !(p = gguf_w_arr_head(elem_type, n, n * size)))
        return gguf_w_nomem(err);
    body = (size_t)n * size;
    if (elem_type == GGUF_TYPE_BOOL) {
        for (uint64_t i = 0; i < n; i++)
            gguf_w_store(p + 12 + i, elem_type, (const bool *)data + i);
    } else if (body) {
        memcpy(p + 12, data, body);
    }
    return gguf_w_put(w, key, GGUF_TYPE_ARRAY, p, 12 + body, err);
}

ftsb_status gguf_w_arr_str(struct gguf_writer *w, const char *key,
                           const struct gguf_str *strs, uint64_t n,
                           struct lm_err *err)
{
    size_t body = 0, at = 12;
    uint8_t *p;
    ftsb_status s;

    if ((s = gguf_w_check_key(key, err)))
        return s;
    for (uint64_t i = 0; i < n; i++) {
        if (__builtin_add_overflow(body, (size_t)8, &body) ||
            __builtin_add_overflow(body, strs[i].len, &body))
            return gguf_w_nomem(err);
    }
    if (!(p = gguf_w_arr_head(GGUF_TYPE_STRING, n, body)))
        return gguf_w_nomem(err);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len = strs[i].len;
        memcpy(p + at, &len, 8);
        if (len)
            memcpy(p + at + 8, strs[i].ptr, strs[i].len);
        at += 8 + strs[i].len;
    }
    return gguf_w_put(w, key, GGUF_TYPE_ARRAY, p, 12 + body, err);
}

ftsb_status gguf_w_copy_kv(struct gguf_writer *w, const struct gguf_kv *kv,
                           struct lm_err *err)
{
    size_t head = kv->type == GGUF_TYPE_ARRAY ? 12 : 0;
    char *key;
    uint8_t *p;
    ftsb_status s;

    /* value points past the array header; the header is rebuilt here. */
    if (kv->value_size > SIZE_MAX - head ||
        !(key = malloc(kv->key.len + 1)))
        return gguf_w_nomem(err);
    memcpy(key, kv->key.ptr, kv->key.len);
    key[kv->key.len] = '\0';
    p = head ? gguf_w_arr_head(kv->elem_type, kv->count,
                               (size_t)kv->value_size)
             : malloc(kv->value_size ? (size_t)kv->value_size : 1);
    if (!p) {
        free(key);
        return gguf_w_nomem(err);
    }
    if (kv->value_size)
        memcpy(p + head, kv->value, (size_t)kv->value_size);
    s = gguf_w_check_key(key, err);
    if (!s)
        s = gguf_w_put(w, key, kv->type, p, head + (size_t)kv->value_size,
                       err);
    else
        free(p);
    free(key);
    return s;
}

static ftsb_status gguf_w_check_tensor(const struct gguf_writer *w,
                                       const char *name, uint32_t type,
                                       uint32_t n_dims, const int64_t *ne,
                                       uint64_t nbytes, struct lm_err *err)
{
    size_t len = name ? strlen(name) : 0;
    uint64_t want;

    if (len == 0 || len > GGUF_MAX_NAME || gguf_utf8_check(name, len) != len)
        return lm_fail(err, FTSB_E_INVALID,
                       "gguf writer: tensor name '%.80s' is empty, longer "
                       "than 63 bytes or not UTF-8",
                       name ? name : "");
    for (size_t i = 0; i < w->n_t; i++) {
        if (strcmp(w->t[i].name, name) == 0)
            return lm_fail(err, FTSB_E_INVALID,
                           "gguf writer: duplicate tensor name '%s'", name);
    }
    if (!gguf_tensor_type_supported(type))
        return lm_fail(err, FTSB_E_INVALID,
                       "gguf writer: tensor '%s': type %" PRIu32 " is not "
                       "F32, F16, BF16 or Q8_0",
                       name, type);
    if (!gguf_tensor_nbytes(type, n_dims, ne, &want) || want != nbytes)
        return lm_fail(err, FTSB_E_INVALID,
                       "gguf writer: tensor '%s': the shape does not match "
                       "%" PRIu64 " bytes of %s",
                       name, nbytes, gguf_tensor_type_name(type));
    return FTSB_OK;
}

ftsb_status gguf_w_tensor(struct gguf_writer *w, const char *name,
                          uint32_t type, uint32_t n_dims, const int64_t *ne,
                          const void *data, uint64_t nbytes,
                          struct lm_err *err)
{
    struct gguf_wtensor *t;
    ftsb_status s;

    if ((s = gguf_w_check_tensor(w, name, type, n_dims, ne, nbytes, err)))
        return s;
    if (!gguf_w_grow((void **)&w->t, &w->cap_t, w->n_t, sizeof *w->t))
        return gguf_w_nomem(err);
    t = &w->t[w->n_t++];
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    t->type = type;
    t->n_dims = n_dims;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++)
        t->ne[d] = d < n_dims ? ne[d] : 1;
    t->data = data;
    t->nbytes = nbytes;
    return FTSB_OK;
}

static ftsb_status gguf_w_alignment(const struct gguf_writer *w,
                                    uint64_t *out, struct lm_err *err)
{
    uint32_t a;

    *out = GGUF_DEFAULT_ALIGNMENT;
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, "general.alignment") != 0)
            continue;
        if (w->kv[i].type != GGUF_TYPE_UINT32)
            return lm_fail(err, FTSB_E_INVALID,
                           "gguf writer: general.alignment must be a u32");
        memcpy(&a, w->kv[i].payload, 4);
        if (a == 0 || (a & (a - 1)) != 0)
            return lm_fail(err, FTSB_E_INVALID,
                           "gguf writer: general.alignment %" PRIu32
                           " is not a power of two",
                           a);
        *out = a;
    }
    return FTSB_OK;
}

static void gguf_sink_put(struct gguf_sink *k, const void *p, size_t n)
{
    if (k->error || n == 0)
        return;
    if (k->fp) {
        if (fwrite(p, 1, n, k->fp) != n)
            k->error = errno ? errno : EIO;
        return;
    }
    if (n > k->cap - k->len) {
        size_t cap = k->cap ? k->cap : 4096;
        uint8_t *q;
        while (cap - k->len < n) {
            if (cap > SIZE_MAX / 2) {
                k->error = ENOMEM;
                return;
            }
            cap *= 2;
        }
        if (!(q = realloc(k->buf, cap))) {
            k->error = ENOMEM;
            return;
        }
        k->buf = q;
        k->cap = cap;
    }
    memcpy(k->buf + k->len, p, n);
    k->len += n;
}

static void gguf_sink_u32(struct gguf_sink *k, uint32_t v)
{
    gguf_sink_put(k, &v, 4);
}

static void gguf_sink_u64(struct gguf_sink *k, uint64_t v)
{
    gguf_sink_put(k, &v, 8);
}

static void gguf_sink_zeros(struct gguf_sink *k, uint64_t n)
{
    static const uint8_t zeros[256];

    while (n) {
        size_t m = n < sizeof zeros ? (size_t)n : sizeof zeros;
        gguf_sink_put(k, zeros, m);
        n -= m;
    }
}

static uint64_t gguf_w_pad(uint64_t x, uint64_t a)
{
    return (a - x % a) % a;
}

/* Header, metadata and tensor infos; returns the bytes written. */
static uint64_t gguf_w_head(const struct gguf_writer *w, struct gguf_sink *k,
                            uint64_t align)
{
    uint64_t pos = 24, off = 0;

    gguf_sink_put(k, "GGUF", 4);
    gguf_sink_u32(k, 3);
    gguf_sink_u64(k, w->n_t);
    gguf_sink_u64(k, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        const struct gguf_wkv *kv = &w->kv[i];
        gguf_sink_u64(k, kv->key_len);
        gguf_sink_put(k, kv->key, kv->key_len);
        gguf_sink_u32(k, kv->type);
        gguf_sink_put(k, kv->payload, kv->payload_len);
        pos += 12 + kv->key_len + kv->payload_len;
    }
    for (size_t i = 0; i < w->n_t; i++) {
        const struct gguf_wtensor *t = &w->t[i];
        size_t len = strlen(t->name);
        gguf_sink_u64(k, len);
        gguf_sink_put(k, t->name, len);
        gguf_sink_u32(k, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++)
            gguf_sink_u64(k, (uint64_t)t->ne[d]);
        gguf_sink_u32(k, t->type);
        gguf_sink_u64(k, off);
        pos += 8 + len + 4 + 8ull * t->n_dims + 4 + 8;
        off += t->nbytes + gguf_w_pad(t->nbytes, align);
    }
    return pos;
}

static void gguf_w_emit(const struct gguf_writer *w, struct gguf_sink *k,
                        uint64_t align)
{
    uint64_t pos = gguf_w_head(w, k, align);

    if (w->n_t)
        gguf_sink_zeros(k, gguf_w_pad(pos, align));
    for (size_t i = 0; i < w->n_t; i++) {
        gguf_sink_put(k, w->t[i].data, (size_t)w->t[i].nbytes);
        gguf_sink_zeros(k, gguf_w_pad(w->t[i].nbytes, align));
    }
}

ftsb_status gguf_w_save_mem(struct gguf_writer *w, uint8_t **out,
                            size_t *size, struct lm_err *err)
{
    struct gguf_sink k = {0};
    uint64_t align;
    ftsb_status s = gguf_w_alignment(w, &align, err);

    if (s)
        return s;
    gguf_w_emit(w, &k, align);
    if (k.error) {
        free(k.buf);
        return gguf_w_nomem(err);
    }
    *out = k.buf;
    *size = k.len;
    return FTSB_OK;
}

static ftsb_status gguf_w_close(FILE *fp, const char *tmp, int error,
                                struct lm_err *err)
{
    if (!error && fflush(fp) != 0)
        error = errno;
    if (!error && fsync(fileno(fp)) != 0)
        error = errno;
    if (fclose(fp) != 0 && !error)
        error = errno;
    if (!error)
        return FTSB_OK;
    unlink(tmp);
    return lm_fail(err, FTSB_E_IO, "cannot write '%s': %s", tmp,
                   strerror(error));
}

ftsb_status gguf_w_save(struct gguf_writer *w, const char *path,
                        struct lm_err *err)
{
    size_t len = strlen(path);
    struct gguf_sink k = {0};
    uint64_t align;
    char *tmp;
    ftsb_status s = gguf_w_alignment(w, &align, err);

    if (s)
        return s;
    if (!(tmp = malloc(len + 5)))
        return gguf_w_nomem(err);
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    if (!(k.fp = fopen(tmp, "wb"))) {
        s = lm_fail(err, FTSB_E_IO, "cannot create '%s': %s", tmp,
                    strerror(errno));
        free(tmp);
        return s;
    }
    errno = 0;
    gguf_w_emit(w, &k, align);
    if (!(s = gguf_w_close(k.fp, tmp, k.error, err)) &&
        rename(tmp, path) != 0) {
        s = lm_fail(err, FTSB_E_IO, "cannot rename '%s' to '%s': %s", tmp,
                    path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return s;
}
