/*
 * safetensors.h - reading and writing safetensors files, the container of
 * Hugging Face weights and of PEFT adapters (adapter_model.safetensors).
 * Layout (native.md section 7): a little-endian u64 N, N bytes of UTF-8
 * JSON (an object: "__metadata__" -> {string: string}, and per tensor
 * {"dtype", "shape", "data_offsets": [begin, end]}), then the data
 * section.  Shapes are in PyTorch order (slowest first), data row-major,
 * little-endian.  A file is untrusted input: st_open() parses the header
 * with its own strict JSON reader (exact integers, no silent rounding,
 * duplicates refused; cJSON keeps duplicates and rounds past 2^53), checks
 * every tensor against the file with overflow-checked arithmetic before it
 * allocates anything proportional to a claimed size, and rejects a bad
 * file with FTSB_E_FORMAT and a message naming the file, the byte offset
 * or the tensor, and the reason.  The writer emits the canonical form:
 * sorted keys, compact JSON, header padded with spaces to 8 bytes, written
 * to path.tmp, synced and renamed.
 *
 * How strict (reliability.md section 1.5 and 4.2; the reference loader's
 * rules, and stricter where it leaves room for two readers to disagree):
 *   - N <= 100,000,000 and 8 + N <= file size; the header is valid UTF-8,
 *     starts with '{', is one JSON object followed only by whitespace.
 *   - Keys are unique at every level; a tensor entry has exactly the keys
 *     dtype, shape and data_offsets (the reference ignores unknown keys; we
 *     refuse them, so no other reader can see a field we do not).
 *   - Tensor names and metadata keys are non-empty, without NUL or control
 *     characters; metadata values are strings without NUL.
 *   - Integers (shape, offsets) are plain JSON integers: no sign, fraction
 *     or exponent, and at most 2^53 - 1, so every JSON reader (including
 *     double-based ones) sees the same value.
 *   - dtype is one of the format's closed list (st_dtype); its size times
 *     the shape's element count (checked) must equal end - begin; sub-byte
 *     dtypes must fill whole bytes.
 *   - Sorted by offsets, the tensors tile the data section exactly: the
 *     first starts at 0, each starts where the previous ended, the last
 *     ends at the end of the file (no gaps, overlaps or trailing bytes: no
 *     polyglots).  A zero-size tensor may sit on a boundary between two
 *     tensors (the reference writer produces that), never inside one.
 *
 * Thread contract: an open file is read-only and may be shared; a writer
 * belongs to one thread.
 */
#ifndef LM_SAFETENSORS_H
#define LM_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "lm_err.h"

#define ST_MAX_HEADER 100000000ull     /* the reference loader's cap */
#define ST_MAX_INT 9007199254740991ull /* 2^53 - 1 */

/* The format's dtypes (names as in the header). */
enum st_dtype {
    ST_BOOL, ST_U8, ST_I8, ST_I16, ST_U16, ST_F16, ST_BF16, ST_I32, ST_U32,
    ST_F32, ST_F64, ST_I64, ST_U64, ST_C64, ST_F8_E5M2, ST_F8_E4M3,
    ST_F8_E8M0, ST_F8_E4M3FNUZ, ST_F8_E5M2FNUZ, ST_F4, ST_F6_E2M3,
    ST_F6_E3M2,
    ST_N_DTYPES
};

/* One tensor entry, validated against the file. */
struct st_tensor {
    const char *name;       /* NUL-terminated UTF-8 */
    enum st_dtype dtype;
    uint32_t n_dims;        /* 0 for a scalar */
    const uint64_t *shape;  /* n_dims entries, PyTorch order */
    uint64_t nelem;         /* product of shape (1 for a scalar) */
    uint64_t begin, end;    /* byte range within the data section */
    uint64_t offset;        /* file offset of the name in the header */
};

/* One "__metadata__" entry. */
struct st_meta {
    const char *key;
    const char *value;
};

struct st_file;

/*
 * Maps path read-only and validates it.  On success *out owns the mapping;
 * free it with st_close().  Errors: FTSB_E_IO (cannot open or map),
 * FTSB_E_FORMAT (malformed), FTSB_E_NOMEM.
 */
ftsb_status st_open(const char *path, struct st_file **out,
                    struct lm_err *err);

/* The same over a caller-owned buffer that must outlive the result; name
 * is used in messages. */
ftsb_status st_open_mem(const void *data, size_t size, const char *name,
                        struct st_file **out, struct lm_err *err);

void st_close(struct st_file *f);

const char *st_name(const struct st_file *f);
uint64_t st_header_size(const struct st_file *f); /* N */
uint64_t st_data_size(const struct st_file *f);   /* data section bytes */

/* Tensors in data order (sorted by offsets; ties keep header order). */
size_t st_n_tensors(const struct st_file *f);
const struct st_tensor *st_tensor_at(const struct st_file *f, size_t i);
/* NULL when absent (binary search over the names). */
const struct st_tensor *st_find(const struct st_file *f, const char *name);

/* Metadata, sorted by key. */
size_t st_n_meta(const struct st_file *f);
const struct st_meta *st_meta_at(const struct st_file *f, size_t i);
const char *st_get_meta(const struct st_file *f, const char *key);

/*
 * The bytes of t, whatever its dtype (may be unaligned; NULL-safe for a
 * zero-size tensor: returns a valid pointer into the file).
 */
const void *st_tensor_raw(const struct st_file *f, const struct st_tensor *t);

/*
 * The data of t, for the dtypes this engine computes with (F32, F16,
 * BF16); FTSB_E_UNSUPPORTED "unsupported dtype" for the others.  The
 * pointer may be unaligned in files from other writers: read it with
 * memcpy, or use st_tensor_f32().
 */
ftsb_status st_tensor_data(const struct st_file *f, const struct st_tensor *t,
                           const void **data, struct lm_err *err);

/* Converts t (F32, F16 or BF16) to n == t->nelem floats in out. */
ftsb_status st_tensor_f32(const struct st_file *f, const struct st_tensor *t,
                          float *out, uint64_t n, struct lm_err *err);

/* "F32", "BF16", ...; NULL for an out-of-range value. */
const char *st_dtype_name(enum st_dtype dtype);
/* Bits per element (4, 6, 8, 16, 32 or 64); 0 for an out-of-range value. */
unsigned st_dtype_bits(enum st_dtype dtype);
/* Bytes of nelem elements; false when they overflow or do not fill whole
 * bytes (sub-byte dtypes). */
int st_dtype_nbytes(enum st_dtype dtype, uint64_t nelem, uint64_t *out);

/*
 * The writer.  Metadata keys and tensor names are copied; tensor data is
 * borrowed and must stay valid until a save function returns.  Names and
 * keys must be non-empty UTF-8 without control characters, tensor names
 * not "__metadata__"; nbytes must equal the shape's size in dtype;
 * shape values at most 2^53 - 1.  A repeated metadata key is refused when
 * it is added, a repeated tensor name when saving (sorting finds it).
 * Errors: FTSB_E_INVALID, FTSB_E_NOMEM, FTSB_E_IO.
 *
 * The output is canonical: "__metadata__" first (only when there is
 * metadata), then tensors sorted by name (bytewise), compact JSON with
 * the keys dtype, shape, data_offsets; the header padded with spaces to a
 * multiple of 8 bytes; tensor data in the order the tensors were added.
 */
struct st_writer;

ftsb_status st_writer_new(struct st_writer **out, struct lm_err *err);
void st_writer_free(struct st_writer *w);

ftsb_status st_w_meta(struct st_writer *w, const char *key,
                      const char *value, struct lm_err *err);
ftsb_status st_w_tensor(struct st_writer *w, const char *name,
                        enum st_dtype dtype, uint32_t n_dims,
                        const uint64_t *shape, const void *data,
                        uint64_t nbytes, struct lm_err *err);

/* Writes to path + ".tmp", syncs it and renames it to path. */
ftsb_status st_w_save(struct st_writer *w, const char *path,
                      struct lm_err *err);
/* Writes into a malloc'ed buffer (*out, *size); free() it. */
ftsb_status st_w_save_mem(struct st_writer *w, uint8_t **out, size_t *size,
                          struct lm_err *err);

#endif /* LM_SAFETENSORS_H */
