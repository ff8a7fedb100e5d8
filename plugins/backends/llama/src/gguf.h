/*
 * gguf.h - reading and writing GGUF model files (versions 2 and 3,
 * little-endian), the container llama.cpp uses for weights, vocabularies
 * and LoRA adapters.  A model file is untrusted input: gguf_open() checks
 * every count, length, offset and shape against the bytes that are really
 * there, with overflow-checked arithmetic, before it allocates or points
 * at anything, and rejects the file with FTSB_E_FORMAT and a message that
 * names the file, the byte offset and what is wrong.  Nothing is copied:
 * keys, strings and tensor data point into the read-only mapping, which
 * lives until gguf_close().  The writer builds a file in memory-light form
 * (tensor data is borrowed from the caller) and writes it atomically.
 *
 *     struct gguf_file *f;
 *     if (gguf_open("model.gguf", &f, &err)) return err.code;
 *     int64_t n_layer;
 *     gguf_get_int(f, "llama.block_count", 1, 1024, &n_layer, &err);
 *     struct gguf_tensor_view w;
 *     gguf_get_tensor(f, "blk.0.attn_q.weight", &w, &err);
 *     gguf_close(f);
 *
 * Layout (native.md section 1): magic "GGUF", u32 version, u64 tensor
 * count, u64 metadata count, the key/value pairs, the tensor infos, zero
 * padding to the alignment, then the tensor data.  ne[0] is the fastest
 * varying dimension (the reverse of the PyTorch shape).
 */
#ifndef LM_GGUF_H
#define LM_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lm_err.h"

/* Metadata value types (the u32 tag before each value). */
enum gguf_type {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
};
#define GGUF_TYPE_COUNT 13

/*
 * Tensor types whose data this engine hands out.  Other ggml types are
 * parsed (so a file can be described) but gguf_tensor_data() refuses them.
 */
enum gguf_tensor_type {
    GGUF_TENSOR_F32 = 0,
    GGUF_TENSOR_F16 = 1,
    GGUF_TENSOR_Q8_0 = 8,
    GGUF_TENSOR_BF16 = 30,
};

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4
#define GGUF_MAX_NAME 63        /* tensor name bytes (ggml: 64 with the NUL) */
#define GGUF_MAX_KEY 65535      /* key bytes */

/* A string inside the file: not NUL-terminated. */
struct gguf_str {
    const char *ptr;
    size_t len;
};

/* One metadata entry.  All pointers point into the mapping. */
struct gguf_kv {
    struct gguf_str key;   /* valid UTF-8, no control characters */
    uint32_t type;         /* enum gguf_type of the value */
    uint32_t elem_type;    /* arrays: the element type; else == type */
    uint64_t count;        /* arrays: number of elements; else 1 */
    const uint8_t *value;  /* first byte of the value (array: element 0) */
    uint64_t value_size;   /* bytes from value to the end of the entry */
    uint64_t offset;       /* file offset of the entry (its key length) */
};

/* One tensor info, validated against the file. */
struct gguf_tensor {
    char name[GGUF_MAX_NAME + 1];
    uint32_t type;         /* ggml type id; see gguf_tensor_type_name() */
    uint32_t n_dims;       /* 1..4 */
    int64_t ne[GGUF_MAX_DIMS]; /* dims past n_dims are 1 */
    uint64_t nelem;
    uint64_t nbytes;
    uint64_t offset;       /* from the start of the data section */
    uint64_t info_offset;  /* file offset of the tensor info */
};

/* What a caller of gguf_get_tensor() gets: shape and data. */
struct gguf_tensor_view {
    const char *name;
    uint32_t type;         /* F32, F16, BF16 or Q8_0 */
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    const void *data;      /* inside the mapping, aligned to the file's
                              alignment when the file is mmap'ed */
    uint64_t nbytes;
};

struct gguf_file;

/*
 * Maps path read-only and validates it.  On success *out owns the mapping;
 * free it with gguf_close().  Errors: FTSB_E_IO (cannot open or map),
 * FTSB_E_FORMAT (malformed), FTSB_E_NOMEM.
 */
ftsb_status gguf_open(const char *path, struct gguf_file **out,
                      struct lm_err *err);

/*
 * The same over a caller-owned buffer that must outlive the result (the
 * fuzzer and tests use it).  name is used in messages.
 */
ftsb_status gguf_open_mem(const void *data, size_t size, const char *name,
                          struct gguf_file **out, struct lm_err *err);

void gguf_close(struct gguf_file *f);

const char *gguf_name(const struct gguf_file *f);   /* path or name */
uint32_t gguf_version(const struct gguf_file *f);
uint32_t gguf_alignment(const struct gguf_file *f);
uint64_t gguf_data_offset(const struct gguf_file *f); /* file offset */
uint64_t gguf_file_size(const struct gguf_file *f);

/* Metadata, in file order. */
uint64_t gguf_n_kv(const struct gguf_file *f);
const struct gguf_kv *gguf_kv_at(const struct gguf_file *f, uint64_t i);
const struct gguf_kv *gguf_find_kv(const struct gguf_file *f,
                                   const char *key); /* NULL if absent */

/*
 * Typed getters.  Each returns FTSB_E_NOT_FOUND ("key 'x' is missing")
 * when the key is absent, so optional keys are tested with
 * gguf_find_kv() first, and FTSB_E_FORMAT when the value has another type
 * or is out of range.
 *
 * gguf_get_int accepts any integer width (u8..i64; converters disagree on
 * widths) and checks min <= value <= max.  gguf_get_f32 accepts f32 and
 * f64.  gguf_get_str points into the mapping.
 */
ftsb_status gguf_get_int(const struct gguf_file *f, const char *key,
                         int64_t min, int64_t max, int64_t *out,
                         struct lm_err *err);
ftsb_status gguf_get_f32(const struct gguf_file *f, const char *key,
                         float *out, struct lm_err *err);
ftsb_status gguf_get_bool(const struct gguf_file *f, const char *key,
                          bool *out, struct lm_err *err);
ftsb_status gguf_get_str(const struct gguf_file *f, const char *key,
                         struct gguf_str *out, struct lm_err *err);

/* The value of kv as an integer of any width (scalars only). */
ftsb_status gguf_kv_int(const struct gguf_file *f, const struct gguf_kv *kv,
                        int64_t *out, struct lm_err *err);

/*
 * Arrays.  gguf_get_arr finds key and checks it is an array whose
 * elements have elem_type, or any integer type when elem_type is
 * GGUF_ANY_INT, or anything when it is GGUF_ANY.  The copy-out functions
 * fill out[0 .. kv->count), which the caller allocates: values in the file
 * are not aligned, so they are copied rather than pointed at.
 *   gguf_arr_str:  string elements (pointers into the mapping)
 *   gguf_arr_f32:  f32 elements
 *   gguf_arr_int:  any integer element type, as int64
 *   gguf_arr_i32:  any integer element type whose values fit in int32
 */
#define GGUF_ANY_INT 0x100u
#define GGUF_ANY 0x101u
ftsb_status gguf_get_arr(const struct gguf_file *f, const char *key,
                         uint32_t elem_type, const struct gguf_kv **out,
                         struct lm_err *err);
ftsb_status gguf_arr_str(const struct gguf_file *f, const struct gguf_kv *kv,
                         struct gguf_str *out, struct lm_err *err);
ftsb_status gguf_arr_f32(const struct gguf_file *f, const struct gguf_kv *kv,
                         float *out, struct lm_err *err);
ftsb_status gguf_arr_int(const struct gguf_file *f, const struct gguf_kv *kv,
                         int64_t *out, struct lm_err *err);
ftsb_status gguf_arr_i32(const struct gguf_file *f, const struct gguf_kv *kv,
                         int32_t *out, struct lm_err *err);

/*
 * Writes a short human-readable rendering of kv's value into buf (always
 * NUL-terminated, truncated with "..." to fit): numbers, quoted strings,
 * arrays as "[32000 x str] ..." with the first elements.  For model-info.
 */
void gguf_kv_describe(const struct gguf_kv *kv, char *buf, size_t size);

/* Tensors, in file order. */
uint64_t gguf_n_tensors(const struct gguf_file *f);
const struct gguf_tensor *gguf_tensor_at(const struct gguf_file *f,
                                         uint64_t i);
const struct gguf_tensor *gguf_find_tensor(const struct gguf_file *f,
                                           const char *name);

/*
 * The data of t.  FTSB_E_UNSUPPORTED ("unsupported tensor type") for a
 * type other than F32, F16, BF16 and Q8_0.
 */
ftsb_status gguf_tensor_data(const struct gguf_file *f,
                             const struct gguf_tensor *t, const void **data,
                             struct lm_err *err);

/* Finds name and fills out.  FTSB_E_NOT_FOUND, FTSB_E_UNSUPPORTED. */
ftsb_status gguf_get_tensor(const struct gguf_file *f, const char *name,
                            struct gguf_tensor_view *out,
                            struct lm_err *err);

/* "u32", "str", "arr", ...; NULL for an unknown tag. */
const char *gguf_type_name(uint32_t type);
/* "F32", "Q4_K", ...; NULL for an unknown or removed id. */
const char *gguf_tensor_type_name(uint32_t type);
/* True for F32, F16, BF16 and Q8_0. */
bool gguf_tensor_type_supported(uint32_t type);
/* Bytes of a tensor of this type and shape; false if the type is unknown,
 * ne[0] is not a multiple of the block size or the size overflows. */
bool gguf_tensor_nbytes(uint32_t type, uint32_t n_dims, const int64_t *ne,
                        uint64_t *out);

/* Offset of the first byte that breaks UTF-8 in s, or len if it is valid.
 * Overlong forms, surrogates and code points past U+10FFFF are invalid. */
size_t gguf_utf8_check(const char *s, size_t len);

/* A string value from a file made safe to quote in a message: at most
 * max_chars bytes of it, printable ASCII kept, every other byte written
 * as \xNN, "..." appended when cut.  Returns buf (always terminated). */
#define GGUF_SHOW_BUF 200
const char *gguf_str_show(struct gguf_str s, size_t max_chars, char *buf,
                          size_t size);

/*
 * The writer.  Keys keep the order of their first setting; setting a key
 * again replaces its value in place.  Tensor data is borrowed: it must stay
 * valid until gguf_w_save() returns.  general.alignment, when set, must be
 * a u32 power of two; the default is 32.  Every function returns
 * FTSB_E_INVALID for a bad argument (a key that is empty or not UTF-8, an
 * unknown type, a tensor name longer than 63 bytes or repeated, a shape
 * whose size does not match nbytes, a tensor type other than F32, F16,
 * BF16 and Q8_0), FTSB_E_NOMEM, or FTSB_E_IO from the save functions.
 */
struct gguf_writer;

ftsb_status gguf_writer_new(struct gguf_writer **out, struct lm_err *err);
void gguf_writer_free(struct gguf_writer *w);

/*
 * A scalar.  value points to a C value of the matching type: uint8_t,
 * int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool, uint64_t,
 * int64_t or double.  Strings use gguf_w_str.
 */
ftsb_status gguf_w_scalar(struct gguf_writer *w, const char *key,
                          uint32_t type, const void *value,
                          struct lm_err *err);
ftsb_status gguf_w_u32(struct gguf_writer *w, const char *key, uint32_t v,
                       struct lm_err *err);
ftsb_status gguf_w_i32(struct gguf_writer *w, const char *key, int32_t v,
                       struct lm_err *err);
ftsb_status gguf_w_u64(struct gguf_writer *w, const char *key, uint64_t v,
                       struct lm_err *err);
ftsb_status gguf_w_f32(struct gguf_writer *w, const char *key, float v,
                       struct lm_err *err);
ftsb_status gguf_w_bool(struct gguf_writer *w, const char *key, bool v,
                        struct lm_err *err);
ftsb_status gguf_w_str(struct gguf_writer *w, const char *key,
                       const char *s, size_t len, struct lm_err *err);

/* An array of n fixed-size elements (C values of elem_type, as above). */
ftsb_status gguf_w_arr(struct gguf_writer *w, const char *key,
                       uint32_t elem_type, const void *data, uint64_t n,
                       struct lm_err *err);
/* An array of n strings. */
ftsb_status gguf_w_arr_str(struct gguf_writer *w, const char *key,
                           const struct gguf_str *strs, uint64_t n,
                           struct lm_err *err);
/* Copies kv (any type) from an open file, e.g. a base model's metadata. */
ftsb_status gguf_w_copy_kv(struct gguf_writer *w, const struct gguf_kv *kv,
                           struct lm_err *err);

/* Adds a tensor; ne has n_dims entries, ne[0] fastest. */
ftsb_status gguf_w_tensor(struct gguf_writer *w, const char *name,
                          uint32_t type, uint32_t n_dims, const int64_t *ne,
                          const void *data, uint64_t nbytes,
                          struct lm_err *err);

/* Writes version 3 to path + ".tmp", syncs it and renames it to path. */
ftsb_status gguf_w_save(struct gguf_writer *w, const char *path,
                        struct lm_err *err);
/* Writes version 3 into a malloc'ed buffer (*out, *size); free() it. */
ftsb_status gguf_w_save_mem(struct gguf_writer *w, uint8_t **out,
                            size_t *size, struct lm_err *err);

#endif /* LM_GGUF_H */
