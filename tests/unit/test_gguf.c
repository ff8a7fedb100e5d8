/*
 * test_gguf.c - the GGUF reader and writer.  Reads the four reference
 * models and two adapters of shared/testdata (shapes and keys as in its
 * manifest.json), rejects a catalogue of malformed files with the exact
 * reason (built here, byte by byte, and also committed under
 * tests/data/gguf/ so the mmap path sees them), rejects every truncation
 * of real files, and round-trips the writer, including a byte-identical
 * rewrite of a reference model.
 *
 *     test_gguf                  run the tests
 *     test_gguf --write-corpus DIR   write the malformed files and EXPECTED
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "test.h"

/* ---- a byte builder for files the writer would refuse to make ---------- */

struct buf {
    uint8_t *p;
    size_t n, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void u32(struct buf *b, uint32_t v) { put(b, &v, 4); }
static void u64(struct buf *b, uint64_t v) { put(b, &v, 8); }
static void u8(struct buf *b, uint8_t v) { put(b, &v, 1); }

static void str(struct buf *b, const char *s)
{
    u64(b, strlen(s));
    put(b, s, strlen(s));
}

static void header(struct buf *b, uint32_t version, uint64_t nt, uint64_t nkv)
{
    put(b, "GGUF", 4);
    u32(b, version);
    u64(b, nt);
    u64(b, nkv);
}

static void kv_str(struct buf *b, const char *k, const char *v)
{
    str(b, k);
    u32(b, GGUF_TYPE_STRING);
    str(b, v);
}

static void kv_u32(struct buf *b, const char *k, uint32_t v)
{
    str(b, k);
    u32(b, GGUF_TYPE_UINT32);
    u32(b, v);
}

/* A tensor info with up to four dims (n_dims may lie about ne). */
static void tinfo(struct buf *b, const char *name, uint32_t n_dims,
                  const uint64_t *ne, uint32_t type, uint64_t off)
{
    str(b, name);
    u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims && d < 4; d++)
        u64(b, ne[d]);
    u32(b, type);
    u64(b, off);
}

static void pad_to(struct buf *b, size_t a)
{
    while (b->n % a)
        u8(b, 0);
}

static void zeros(struct buf *b, size_t n)
{
    while (n--)
        u8(b, 0);
}

/* The common start: 1 KV, then the tensors the case adds. */
static void base(struct buf *b, uint64_t nt, uint64_t nkv)
{
    header(b, 3, nt, nkv);
    kv_str(b, "general.architecture", "llama");
}

/* A valid file: two F32 tensors a [4] and b [8, 2]. */
static void good_file(struct buf *b)
{
    uint64_t ne_a[] = {4}, ne_b[] = {8, 2};

    base(b, 2, 1);
    tinfo(b, "a", 1, ne_a, GGUF_TENSOR_F32, 0);
    tinfo(b, "b", 2, ne_b, GGUF_TENSOR_F32, 32);
    pad_to(b, 32);
    zeros(b, 32 + 64);
}

/* ---- the malformed catalogue ------------------------------------------ */

static void c_bad_magic(struct buf *b) { put(b, "GGUXabcdefgh", 12); }
static void c_short(struct buf *b) { put(b, "GG", 2); }
static void c_version0(struct buf *b) { header(b, 0, 0, 0); }
static void c_version1(struct buf *b) { header(b, 1, 0, 0); }
static void c_version4(struct buf *b) { header(b, 4, 0, 0); }
static void c_big_endian(struct buf *b) { header(b, 0x03000000u, 0, 0); }

static void c_tensors_huge(struct buf *b)
{
    base(b, 1ull << 60, 1);
}

static void c_tensors_neg(struct buf *b)
{
    base(b, UINT64_MAX, 1);
}

static void c_kv_huge(struct buf *b) { header(b, 3, 0, 1ull << 63); }

/* A count that wraps count * sizeof(entry) on 64 bits. */
static void c_kv_wrap(struct buf *b)
{
    header(b, 3, 0, UINT64_MAX / 48 + 1);
}

static void c_truncated_header(struct buf *b)
{
    put(b, "GGUF", 4);
    u32(b, 3);
    u32(b, 0);
}

static void c_key_len_huge(struct buf *b)
{
    header(b, 3, 0, 1);
    u64(b, UINT64_MAX);
    put(b, "general.name..", 14);
}

static void c_key_past_eof(struct buf *b)
{
    header(b, 3, 0, 1);
    u64(b, 30);
    put(b, "general.name", 12);
    u32(b, GGUF_TYPE_UINT8);
    u8(b, 1);
}

static void c_key_empty(struct buf *b)
{
    header(b, 3, 0, 1);
    str(b, "");
    u32(b, GGUF_TYPE_UINT32);
    u32(b, 1);
    u32(b, 0);
}

static void c_key_not_utf8(struct buf *b)
{
    header(b, 3, 0, 1);
    str(b, "gen\xff\xfe");
    u32(b, GGUF_TYPE_UINT32);
    u32(b, 1);
}

static void c_dup_key(struct buf *b)
{
    header(b, 3, 0, 2);
    kv_u32(b, "a.b", 1);
    kv_u32(b, "a.b", 2);
}

static void c_type_unknown(struct buf *b)
{
    header(b, 3, 0, 1);
    str(b, "a.b");
    u32(b, 13);
    u64(b, 0);
    u64(b, 0);
}

static void c_nested_array(struct buf *b)
{
    header(b, 3, 0, 1);
    str(b, "a.b");
    u32(b, GGUF_TYPE_ARRAY);
    u32(b, GGUF_TYPE_ARRAY);
    u64(b, 1);
    u32(b, GGUF_TYPE_UINT8);
    u64(b, 1);
    u8(b, 0);
}

static void c_array_unknown(struct buf *b)
{
    header(b, 3, 0, 1);
    str(b, "a.b");
    u32(b, GGUF_TYPE_ARRAY);
    u32(b, 99);
    u64(b, 1);
    u64(b, 0);
}

static void c_array_huge(struct buf *b)
{
    header(b, 3, 0, 1);
    str(b, "a.b");
    u32(b, GGUF_TYPE_ARRAY);
    u32(b, GGUF_TYPE_UINT32);
    u64(b, (1ull << 62) - 1);
    u64(b, 0);
}

/* The fuzzer's first find: count * 8 wrapped to 8 and passed a check. */
static void c_array_wrap(struct buf *b)
{
    header(b, 3, 0, 1);
    str(b, "a.b");
    u32(b, GGUF_TYPE_ARRAY);
    u32(b, GGUF_TYPE_STRING);
    u64(b, (1ull << 63) + 1);
    u64(b, 0);
    u64(b, 0);
}

static void c_array_past_eof(struct buf *b)
{
    header(b, 3, 0, 1);
    str(b, "a.b");
    u32(b, GGUF_TYPE_ARRAY);
    u32(b, GGUF_TYPE_FLOAT32);
    u64(b, 5);
    u32(b, 0);
    u32(b, 0);
    u32(b, 0);
    u32(b, 0);
}

static void c_string_huge(struct buf *b)
{
    header(b, 3, 0, 1);
    str(b, "general.name");
    u32(b, GGUF_TYPE_STRING);
    u64(b, 1ull << 63);
    put(b, "abcdefgh", 8);
}

/* Strings whose lengths add up past the end of the file. */
static void c_strings_past_eof(struct buf *b)
{
    header(b, 3, 0, 1);
    str(b, "tokenizer.ggml.tokens");
    u32(b, GGUF_TYPE_ARRAY);
    u32(b, GGUF_TYPE_STRING);
    u64(b, 3);
    str(b, "abc");
    u64(b, 20);
    put(b, "0123456789", 10);
    zeros(b, 8);
}

static void c_bool_2(struct buf *b)
{
    header(b, 3, 0, 1);
    str(b, "tokenizer.ggml.add_bos_token");
    u32(b, GGUF_TYPE_BOOL);
    u8(b, 2);
}

static void c_bool_array_2(struct buf *b)
{
    header(b, 3, 0, 1);
    str(b, "a.flags");
    u32(b, GGUF_TYPE_ARRAY);
    u32(b, GGUF_TYPE_BOOL);
    u64(b, 3);
    u8(b, 1);
    u8(b, 0);
    u8(b, 2);
}

static void one_tensor_after(struct buf *b, size_t align)
{
    uint64_t ne[] = {4};

    tinfo(b, "w", 1, ne, GGUF_TENSOR_F32, 0);
    pad_to(b, align);
    zeros(b, 16);
}

static void c_align_0(struct buf *b)
{
    base(b, 1, 2);
    kv_u32(b, "general.alignment", 0);
    one_tensor_after(b, 32);
}

static void c_align_3(struct buf *b)
{
    base(b, 1, 2);
    kv_u32(b, "general.alignment", 3);
    one_tensor_after(b, 32);
}

static void c_align_u64(struct buf *b)
{
    base(b, 1, 2);
    str(b, "general.alignment");
    u32(b, GGUF_TYPE_UINT64);
    u64(b, 32);
    one_tensor_after(b, 32);
}

static void c_align_i32(struct buf *b)
{
    base(b, 1, 2);
    str(b, "general.alignment");
    u32(b, GGUF_TYPE_INT32);
    u32(b, 32);
    one_tensor_after(b, 32);
}

static void c_name_empty(struct buf *b)
{
    uint64_t ne[] = {4};

    base(b, 1, 1);
    tinfo(b, "", 1, ne, GGUF_TENSOR_F32, 0);
    pad_to(b, 32);
    zeros(b, 16);
}

static void c_name_long(struct buf *b)
{
    uint64_t ne[] = {4};
    char name[65];

    memset(name, 'x', 64);
    name[64] = '\0';
    base(b, 1, 1);
    tinfo(b, name, 1, ne, GGUF_TENSOR_F32, 0);
    pad_to(b, 32);
    zeros(b, 16);
}

static void c_dup_tensor(struct buf *b)
{
    uint64_t ne[] = {8};

    base(b, 2, 1);
    tinfo(b, "w", 1, ne, GGUF_TENSOR_F32, 0);
    tinfo(b, "w", 1, ne, GGUF_TENSOR_F32, 32);
    pad_to(b, 32);
    zeros(b, 64);
}

static void shape_case(struct buf *b, uint32_t n_dims, const uint64_t *ne,
                       uint32_t type)
{
    base(b, 1, 1);
    tinfo(b, "w", n_dims, ne, type, 0);
    pad_to(b, 32);
    zeros(b, 64);
}

static void c_ndims_0(struct buf *b)
{
    uint64_t ne[] = {4};
    shape_case(b, 0, ne, GGUF_TENSOR_F32);
}

static void c_ndims_5(struct buf *b)
{
    uint64_t ne[] = {1, 1, 1, 1};
    shape_case(b, 5, ne, GGUF_TENSOR_F32);
}

static void c_ndims_max(struct buf *b)
{
    uint64_t ne[] = {1, 1, 1, 1};
    shape_case(b, UINT32_MAX, ne, GGUF_TENSOR_F32);
}

static void c_dim_zero(struct buf *b)
{
    uint64_t ne[] = {4, 0};
    shape_case(b, 2, ne, GGUF_TENSOR_F32);
}

static void c_dim_huge(struct buf *b)
{
    uint64_t ne[] = {1ull << 63};
    shape_case(b, 1, ne, GGUF_TENSOR_F32);
}

static void c_dims_overflow(struct buf *b)
{
    uint64_t ne[] = {1ull << 32, 1ull << 32};
    shape_case(b, 2, ne, GGUF_TENSOR_F32);
}

static void c_bytes_overflow(struct buf *b)
{
    uint64_t ne[] = {1ull << 61, 2};
    shape_case(b, 2, ne, 28 /* F64 */);
}

static void c_type_removed(struct buf *b)
{
    uint64_t ne[] = {32};
    shape_case(b, 1, ne, 4);
}

static void c_type_past_end(struct buf *b)
{
    uint64_t ne[] = {32};
    shape_case(b, 1, ne, 42);
}

static void c_q8_0_row(struct buf *b)
{
    uint64_t ne[] = {33, 2};
    shape_case(b, 2, ne, GGUF_TENSOR_Q8_0);
}

static void two_tensors(struct buf *b, uint64_t off_b, size_t data)
{
    uint64_t ne[] = {8};

    base(b, 2, 1);
    tinfo(b, "a", 1, ne, GGUF_TENSOR_F32, 0);
    tinfo(b, "b", 1, ne, GGUF_TENSOR_F32, off_b);
    pad_to(b, 32);
    zeros(b, data);
}

static void c_unaligned(struct buf *b) { two_tensors(b, 33, 128); }
static void c_overlap(struct buf *b) { two_tensors(b, 0, 128); }
static void c_gap(struct buf *b) { two_tensors(b, 64, 128); }
static void c_past_eof(struct buf *b) { two_tensors(b, 32, 40); }
static void c_offset_wrap(struct buf *b)
{
    two_tensors(b, UINT64_MAX - 31, 128);
}

static void c_first_offset(struct buf *b)
{
    uint64_t ne[] = {8};

    base(b, 1, 1);
    tinfo(b, "a", 1, ne, GGUF_TENSOR_F32, 32);
    pad_to(b, 32);
    zeros(b, 96);
}

/* The infos end, but not the padding before the data. */
static void c_data_missing(struct buf *b)
{
    uint64_t ne[] = {8};

    base(b, 1, 1);
    tinfo(b, "a", 1, ne, GGUF_TENSOR_F32, 0);
}

struct bad_case {
    const char *name;
    void (*build)(struct buf *);
    const char *expect;
};

static const struct bad_case bad_cases[] = {
    {"bad_magic", c_bad_magic, "bad magic 'GGUX'"},
    {"too_short", c_short, "bad magic 'GG?" "?'"},
    {"version_0", c_version0, "unsupported GGUF version 0"},
    {"version_1", c_version1, "GGUF version 1 is no longer supported"},
    {"version_4", c_version4, "GGUF version 4 is newer than this reader"},
    {"big_endian", c_big_endian, "the file looks big-endian"},
    {"truncated_header", c_truncated_header,
     "the file is truncated in the header"},
    {"tensor_count_huge", c_tensors_huge,
     "the header says 1152921504606846976 tensors, more than the"},
    {"tensor_count_negative", c_tensors_neg,
     "the header says 18446744073709551615 tensors"},
    {"kv_count_huge", c_kv_huge,
     "the header says 9223372036854775808 metadata entries, more than"},
    {"kv_count_wrap", c_kv_wrap, "metadata entries, more than the"},
    {"key_length_huge", c_key_len_huge,
     "the key of metadata entry 0 is 18446744073709551615 bytes long, "
     "longer than the 65535-byte limit"},
    {"key_past_eof", c_key_past_eof,
     "the file is truncated in the key of metadata entry 0: 30 bytes "
     "needed, 17 left"},
    {"key_empty", c_key_empty, "metadata entry 0 has an empty key"},
    {"key_not_utf8", c_key_not_utf8,
     "the key of metadata entry 0 is not printable UTF-8"},
    {"duplicate_key", c_dup_key, "duplicate key 'a.b' (first at byte 24)"},
    {"kv_type_unknown", c_type_unknown, "key 'a.b' has unknown value type 13"},
    {"nested_array", c_nested_array, "key 'a.b' is a nested array"},
    {"array_type_unknown", c_array_unknown,
     "key 'a.b' is an array of unknown type 99"},
    {"array_count_huge", c_array_huge,
     "the value of key 'a.b' claims 4611686018427387903 elements of 4 "
     "bytes, more than the 8 bytes left"},
    {"array_count_wrap", c_array_wrap,
     "the value of key 'a.b' claims 9223372036854775809 elements of at "
     "least 8 bytes"},
    {"array_past_eof", c_array_past_eof,
     "the value of key 'a.b' claims 5 elements of 4 bytes, more than the 16 "
     "bytes left; the file is corrupt or truncated"},
    {"string_length_huge", c_string_huge,
     "the value of key 'general.name' is 9223372036854775808 bytes long, "
     "longer than the 1073741824-byte limit"},
    {"strings_past_eof", c_strings_past_eof,
     "the file is truncated in the value of key 'tokenizer.ggml.tokens': "
     "20 bytes needed, 18 left"},
    {"bool_2", c_bool_2,
     "key 'tokenizer.ggml.add_bos_token' has the bool value 2 (must be 0 "
     "or 1)"},
    {"bool_array_2", c_bool_array_2,
     "element 2 of key 'a.flags' is the bool value 2"},
    {"alignment_0", c_align_0, "general.alignment is 0, not a power of two"},
    {"alignment_3", c_align_3, "general.alignment is 3, not a power of two"},
    {"alignment_u64", c_align_u64,
     "general.alignment must be a u32 but is a u64"},
    {"alignment_i32", c_align_i32,
     "general.alignment must be a u32 but is a i32"},
    {"tensor_name_empty", c_name_empty, "tensor 0 has an empty name"},
    {"tensor_name_long", c_name_long,
     "the name of tensor 0 is 64 bytes long, longer than the 63-byte "
     "limit"},
    {"duplicate_tensor", c_dup_tensor,
     "duplicate tensor name 'w' (tensors 0 and 1)"},
    {"n_dims_0", c_ndims_0, "tensor 'w' has 0 dimensions (1 to 4 allowed)"},
    {"n_dims_5", c_ndims_5, "tensor 'w' has 5 dimensions (1 to 4 allowed)"},
    {"n_dims_max", c_ndims_max, "tensor 'w' has 4294967295 dimensions"},
    {"dim_zero", c_dim_zero, "tensor 'w' has size 0 in dimension 1"},
    {"dim_huge", c_dim_huge,
     "tensor 'w' is too large: its element count overflows at dimension 0"},
    {"dims_overflow", c_dims_overflow,
     "tensor 'w' is too large: its element count overflows at dimension 1"},
    {"bytes_overflow", c_bytes_overflow,
     "tensor 'w' is too large: its byte size overflows"},
    {"type_removed", c_type_removed, "tensor 'w' has unknown type id 4"},
    {"type_past_end", c_type_past_end, "tensor 'w' has unknown type id 42"},
    {"q8_0_row", c_q8_0_row,
     "tensor 'w' of type Q8_0 has 33 values per row, not a multiple of its "
     "block size 32"},
    {"offset_unaligned", c_unaligned,
     "tensor 'b' data offset 33 is not a multiple of the alignment 32"},
    {"offset_overlap", c_overlap,
     "tensor 'b' at data offset 0 overlaps tensor 'a', which ends at data "
     "offset 32"},
    {"offset_gap", c_gap,
     "tensor 'b' starts at data offset 64 but 'a' ends at 32"},
    {"offset_wrap", c_offset_wrap,
     "tensor 'b' starts at data offset 18446744073709551584 but 'a' ends "
     "at 32"},
    {"first_offset", c_first_offset,
     "tensor 'a' starts at data offset 32 but '(start of data)' ends at 0"},
    {"tensor_past_eof", c_past_eof,
     "the file is truncated: tensor 'b' ends at byte"},
    {"data_missing", c_data_missing,
     "the file is truncated: the tensor data should start at byte 128"},
};

#define N_BAD (sizeof bad_cases / sizeof bad_cases[0])

static void check_reject(const struct bad_case *c, const void *data,
                         size_t size, struct gguf_file *f, ftsb_status s,
                         const struct lm_err *err)
{
    (void)data;
    (void)size;
    if (s != FTSB_E_FORMAT)
        printf("  case %s: status %d, message: %s\n", c->name, (int)s,
               err->msg);
    CHECK_INT(s, FTSB_E_FORMAT);
    CHECK(f == NULL);
    CHECK_CONTAINS(err->msg, c->expect);
    gguf_close(f);
}

TEST(malformed_in_memory)
{
    for (size_t i = 0; i < N_BAD; i++) {
        struct buf b = {0};
        struct lm_err err = {0};
        struct gguf_file *f = NULL;
        ftsb_status s;
        bad_cases[i].build(&b);
        s = gguf_open_mem(b.p, b.n, bad_cases[i].name, &f, &err);
        check_reject(&bad_cases[i], b.p, b.n, f, s, &err);
        CHECK_CONTAINS(err.msg, bad_cases[i].name);
        free(b.p);
    }
}

TEST(good_file_reads)
{
    struct buf b = {0};
    struct lm_err err = {0};
    struct gguf_file *f = NULL;
    struct gguf_tensor_view v;

    good_file(&b);
    CHECK_INT(gguf_open_mem(b.p, b.n, "good", &f, &err), FTSB_OK);
    if (!f) {
        printf("  %s\n", err.msg);
        free(b.p);
        return;
    }
    CHECK_INT(gguf_n_tensors(f), 2);
    CHECK_INT(gguf_get_tensor(f, "b", &v, &err), FTSB_OK);
    CHECK_INT(v.ne[0], 8);
    CHECK_INT(v.ne[1], 2);
    CHECK_INT(v.nbytes, 64);
    CHECK((const uint8_t *)v.data == b.p + gguf_data_offset(f) + 32);
    CHECK_INT(gguf_get_tensor(f, "c", &v, &err), FTSB_E_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "no tensor named 'c'");
    gguf_close(f);
    free(b.p);
}

/* Every prefix of a small valid file is rejected as truncated. */
TEST(truncated_small_file_every_byte)
{
    struct buf b = {0};

    good_file(&b);
    for (size_t cut = 0; cut < b.n; cut++) {
        struct lm_err err = {0};
        struct gguf_file *f = NULL;
        ftsb_status s = gguf_open_mem(b.p, cut, "cut", &f, &err);
        CHECK_INT(s, FTSB_E_FORMAT);
        if (cut >= 4)
            CHECK_CONTAINS(err.msg, "truncated");
        gguf_close(f);
    }
    free(b.p);
}

/* The shared data folder, or NULL (the tests that need it skip) when
 * FTSB_SHARED_DIR is unset or has no testdata/ in it. */
static const char *shared_dir(void)
{
    const char *d = getenv("FTSB_SHARED_DIR");
    char path[4096];

    if (!d || !*d)
        return NULL;
    snprintf(path, sizeof path, "%s/testdata/manifest.json", d);
    return access(path, R_OK) == 0 ? d : NULL;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    char *p = NULL;
    long len;

    if (!fp)
        return NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (len = ftell(fp)) >= 0 &&
        fseek(fp, 0, SEEK_SET) == 0 && (p = malloc((size_t)len + 1)) &&
        fread(p, 1, (size_t)len, fp) == (size_t)len) {
        *n = (size_t)len;
        fclose(fp);
        return p;
    }
    free(p);
    fclose(fp);
    return NULL;
}

/* ---- the reference models (values from testdata/manifest.json) -------- */

struct ref_model {
    const char *file;
    uint32_t type; /* of the matrices; norms are F32 */
    int64_t vocab, dim, layers, heads, kv_heads, head_dim, ffn;
    float rope_base, eps;
    bool tied;
    uint32_t file_type;
};

static const struct ref_model ref_models[] = {
    {"spm-f32.gguf", GGUF_TENSOR_F32, 32000, 64, 2, 4, 4, 16, 192, 10000.0f,
     1e-5f, true, 0},
    {"gqa-f16.gguf", GGUF_TENSOR_F16, 512, 128, 3, 8, 2, 16, 320, 500000.0f,
     1e-6f, false, 1},
    {"mqa-bf16.gguf", GGUF_TENSOR_BF16, 384, 64, 2, 4, 1, 16, 160, 10000.0f,
     1e-5f, true, 32},
    {"gqa-q8_0.gguf", GGUF_TENSOR_Q8_0, 512, 128, 2, 4, 2, 32, 256, 10000.0f,
     1e-5f, false, 7},
};

static void check_shape(const struct gguf_file *f, const char *name,
                        uint32_t type, int64_t ne0, int64_t ne1)
{
    struct lm_err err = {0};
    struct gguf_tensor_view v;
    uint64_t want;
    int64_t ne[2] = {ne0, ne1};

    if (gguf_get_tensor(f, name, &v, &err)) {
        printf("  %s\n", err.msg);
        CHECK(0);
        return;
    }
    CHECK_INT(v.type, type);
    CHECK_INT(v.n_dims, ne1 ? 2 : 1);
    CHECK_INT(v.ne[0], ne0);
    CHECK_INT(v.ne[1], ne1 ? ne1 : 1);
    CHECK_INT(v.ne[2], 1);
    CHECK(gguf_tensor_nbytes(type, ne1 ? 2 : 1, ne, &want) &&
          want == v.nbytes);
    CHECK(v.data != NULL);
    CHECK(((uintptr_t)v.data % 32) == 0);
}

static void check_int(const struct gguf_file *f, const char *key, int64_t want)
{
    struct lm_err err = {0};
    int64_t v = -1;

    CHECK_INT(gguf_get_int(f, key, 0, INT64_MAX, &v, &err), FTSB_OK);
    if (v != want)
        printf("  key %s\n", key);
    CHECK_INT(v, want);
}

static void check_hparams(const struct gguf_file *f, const struct ref_model *m)
{
    struct lm_err err = {0};
    struct gguf_str s = {0};
    float x = 0;

    CHECK_INT(gguf_get_str(f, "general.architecture", &s, &err), FTSB_OK);
    CHECK(s.len == 5 && memcmp(s.ptr, "llama", 5) == 0);
    check_int(f, "general.file_type", m->file_type);
    check_int(f, "general.alignment", 32);
    check_int(f, "llama.vocab_size", m->vocab);
    check_int(f, "llama.context_length", 2048);
    check_int(f, "llama.embedding_length", m->dim);
    check_int(f, "llama.block_count", m->layers);
    check_int(f, "llama.feed_forward_length", m->ffn);
    check_int(f, "llama.rope.dimension_count", m->head_dim);
    check_int(f, "llama.attention.head_count", m->heads);
    check_int(f, "llama.attention.head_count_kv", m->kv_heads);
    check_int(f, "tokenizer.ggml.bos_token_id", 1);
    check_int(f, "tokenizer.ggml.eos_token_id", 2);
    CHECK_INT(gguf_get_f32(f, "llama.rope.freq_base", &x, &err), FTSB_OK);
    CHECK(x == m->rope_base);
    CHECK_INT(gguf_get_f32(f, "llama.attention.layer_norm_rms_epsilon", &x,
                           &err),
              FTSB_OK);
    CHECK(x == m->eps);
    CHECK(gguf_find_kv(f, "tokenizer.chat_template") != NULL);
}

static void check_tensors(const struct gguf_file *f, const struct ref_model *m)
{
    int64_t q = m->heads * m->head_dim, kv = m->kv_heads * m->head_dim;
    char name[64];

    CHECK_INT(gguf_n_tensors(f), 2 + 9 * m->layers + (m->tied ? 0 : 1));
    check_shape(f, "token_embd.weight", m->type, m->dim, m->vocab);
    check_shape(f, "output_norm.weight", GGUF_TENSOR_F32, m->dim, 0);
    if (m->tied)
        CHECK(gguf_find_tensor(f, "output.weight") == NULL);
    else
        check_shape(f, "output.weight", m->type, m->dim, m->vocab);
    for (int64_t l = 0; l < m->layers; l++) {
#define SHAPE(suffix, t, a, b)                                                 \
    snprintf(name, sizeof name, "blk.%" PRId64 ".%s", l, suffix);             \
    check_shape(f, name, t, a, b)
        SHAPE("attn_norm.weight", GGUF_TENSOR_F32, m->dim, 0);
        SHAPE("ffn_norm.weight", GGUF_TENSOR_F32, m->dim, 0);
        SHAPE("attn_q.weight", m->type, m->dim, q);
        SHAPE("attn_k.weight", m->type, m->dim, kv);
        SHAPE("attn_v.weight", m->type, m->dim, kv);
        SHAPE("attn_output.weight", m->type, q, m->dim);
        SHAPE("ffn_gate.weight", m->type, m->dim, m->ffn);
        SHAPE("ffn_up.weight", m->type, m->dim, m->ffn);
        SHAPE("ffn_down.weight", m->type, m->ffn, m->dim);
#undef SHAPE
    }
}

TEST(reference_models)
{
    const char *dir = shared_dir();
    char path[4096];

    if (!dir)
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    for (size_t i = 0; i < sizeof ref_models / sizeof ref_models[0]; i++) {
        struct lm_err err = {0};
        struct gguf_file *f = NULL;
        snprintf(path, sizeof path, "%s/testdata/reference/models/%s", dir,
                 ref_models[i].file);
        if (access(path, R_OK) != 0)
            SKIP("%s is missing", path);
        if (gguf_open(path, &f, &err)) {
            printf("  %s\n", err.msg);
            CHECK(0);
            continue;
        }
        CHECK_INT(gguf_version(f), 3);
        CHECK_INT(gguf_alignment(f), 32);
        check_hparams(f, &ref_models[i]);
        check_tensors(f, &ref_models[i]);
        gguf_close(f);
    }
}

static void check_adapter(const char *dir, const char *file, uint32_t type,
                          int64_t rank, int64_t dim, int n_tensors)
{
    struct lm_err err = {0};
    struct gguf_file *f = NULL;
    struct gguf_str s;
    char path[4096];
    float alpha = 0;

    snprintf(path, sizeof path, "%s/testdata/reference/adapters/%s", dir,
             file);
    if (gguf_open(path, &f, &err)) {
        printf("  %s\n", err.msg);
        CHECK(0);
        return;
    }
    CHECK_INT(gguf_n_tensors(f), n_tensors);
    CHECK_INT(gguf_get_str(f, "general.type", &s, &err), FTSB_OK);
    CHECK(s.len == 7 && memcmp(s.ptr, "adapter", 7) == 0);
    CHECK_INT(gguf_get_str(f, "adapter.type", &s, &err), FTSB_OK);
    CHECK(s.len == 4 && memcmp(s.ptr, "lora", 4) == 0);
    CHECK_INT(gguf_get_f32(f, "adapter.lora.alpha", &alpha, &err), FTSB_OK);
    CHECK(alpha == (float)(rank == 8 ? 16 : 10));
    check_shape(f, "blk.0.attn_q.weight.lora_a", type, dim, rank);
    check_shape(f, "blk.0.attn_q.weight.lora_b", type, rank, dim);
    gguf_close(f);
}

TEST(reference_adapters)
{
    const char *dir = shared_dir();

    if (!dir)
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    check_adapter(dir, "spm-f32.lora-r8.gguf", GGUF_TENSOR_F32, 8, 64, 16);
    check_adapter(dir, "gqa-f16.lora-r4.gguf", GGUF_TENSOR_F16, 4, 128, 42);
}

/* Cuts: every byte of the first 16 KiB, then a stride, then the tail. */
static bool cut_here(size_t cut, size_t size)
{
    return cut < 16384 || cut % 4093 == 0 || cut + 64 >= size;
}

static void sweep_model(const char *path)
{
    size_t size, n = 0;
    char *data = slurp(path, &size);

    if (!data) {
        CHECK(0);
        return;
    }
    for (size_t cut = 0; cut < size; cut++) {
        struct lm_err err = {0};
        struct gguf_file *f = NULL;
        ftsb_status s;
        if (!cut_here(cut, size))
            continue;
        s = gguf_open_mem(data, cut, "cut", &f, &err);
        n++;
        if (s != FTSB_E_FORMAT || (cut >= 4 && !strstr(err.msg, "truncated")))
            printf("  %s cut at %zu: %d %s\n", path, cut, (int)s, err.msg);
        CHECK_INT(s, FTSB_E_FORMAT);
        gguf_close(f);
    }
    printf("  %s: %zu truncations rejected\n", strrchr(path, '/') + 1, n);
    free(data);
}

TEST(truncation_sweep)
{
    const char *dir = shared_dir();
    char path[4096];

    if (!dir)
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    for (size_t i = 0; i < sizeof ref_models / sizeof ref_models[0]; i++) {
        snprintf(path, sizeof path, "%s/testdata/reference/models/%s", dir,
                 ref_models[i].file);
        sweep_model(path);
    }
    snprintf(path, sizeof path,
             "%s/testdata/reference/adapters/gqa-f16.lora-r4.gguf", dir);
    sweep_model(path);
}

/* Truncated copies on disk go through the mmap path. */
TEST(truncated_files_on_disk)
{
    const char *dir = shared_dir();
    char src[4096], tmp[] = "/tmp/ftsb_gguf_cut_XXXXXX";
    static const size_t cuts[] = {3, 23, 100, 5000, 10495, 10496, 224767};
    size_t size;
    char *data;
    int fd;

    if (!dir)
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    snprintf(src, sizeof src, "%s/testdata/reference/models/mqa-bf16.gguf",
             dir);
    if (!(data = slurp(src, &size)))
        SKIP("%s is missing", src);
    if ((fd = mkstemp(tmp)) < 0) {
        free(data);
        SKIP("cannot create a temporary file");
    }
    close(fd);
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        struct lm_err err = {0};
        struct gguf_file *f = NULL;
        FILE *fp = fopen(tmp, "wb");
        fwrite(data, 1, cuts[i] < size ? cuts[i] : size, fp);
        fclose(fp);
        CHECK_INT(gguf_open(tmp, &f, &err), FTSB_E_FORMAT);
        CHECK_CONTAINS(err.msg, tmp);
        gguf_close(f);
    }
    unlink(tmp);
    free(data);
}

TEST(open_errors)
{
    struct lm_err err = {0};
    struct gguf_file *f = NULL;
    char tmp[] = "/tmp/ftsb_gguf_empty_XXXXXX";
    int fd = mkstemp(tmp);

    CHECK_INT(gguf_open("/nonexistent/model.gguf", &f, &err), FTSB_E_IO);
    CHECK_CONTAINS(err.msg, "cannot open '/nonexistent/model.gguf'");
    CHECK_INT(gguf_open("/tmp", &f, &err), FTSB_E_IO);
    CHECK_CONTAINS(err.msg, "is not a regular file");
    if (fd >= 0) {
        close(fd);
        CHECK_INT(gguf_open(tmp, &f, &err), FTSB_E_FORMAT);
        CHECK_CONTAINS(err.msg, "the file is empty");
        unlink(tmp);
    }
}

/* ---- the committed corpus --------------------------------------------- */

static int write_corpus(const char *dir)
{
    char path[4096];
    FILE *list;

    snprintf(path, sizeof path, "%s/EXPECTED", dir);
    if (!(list = fopen(path, "w"))) {
        perror(path);
        return 1;
    }
    fprintf(list, "# file<TAB>the part of the error message gguf_open must "
                  "give (written by test_gguf --write-corpus)\n");
    for (size_t i = 0; i < N_BAD; i++) {
        struct buf b = {0};
        FILE *fp;
        bad_cases[i].build(&b);
        snprintf(path, sizeof path, "%s/%s.gguf", dir, bad_cases[i].name);
        if (!(fp = fopen(path, "wb")) || fwrite(b.p, 1, b.n, fp) != b.n) {
            perror(path);
            return 1;
        }
        fclose(fp);
        fprintf(list, "%s.gguf\t%s\n", bad_cases[i].name, bad_cases[i].expect);
        free(b.p);
    }
    fclose(list);
    return 0;
}

TEST(committed_corpus)
{
    const char *tdir = getenv("FTSB_TEST_DIR");
    char path[4096], line[1024];
    FILE *list;
    size_t n = 0;

    if (!tdir)
        SKIP("FTSB_TEST_DIR is not set");
    snprintf(path, sizeof path, "%s/data/gguf/EXPECTED", tdir);
    if (!(list = fopen(path, "r")))
        SKIP("%s is missing", path);
    while (fgets(line, sizeof line, list)) {
        struct lm_err err = {0};
        struct gguf_file *f = NULL;
        char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
        if (line[0] == '#' || !tab)
            continue;
        *tab = '\0';
        if (nl)
            *nl = '\0';
        snprintf(path, sizeof path, "%s/data/gguf/%s", tdir, line);
        CHECK_INT(gguf_open(path, &f, &err), FTSB_E_FORMAT);
        CHECK_CONTAINS(err.msg, tab + 1);
        gguf_close(f);
        n++;
    }
    fclose(list);
    CHECK_INT(n, N_BAD);
}

/* ---- typed access ----------------------------------------------------- */

TEST(typed_getters)
{
    struct gguf_writer *w = NULL;
    struct lm_err err = {0};
    struct gguf_file *f = NULL;
    uint8_t *mem = NULL;
    size_t size = 0;
    int64_t v;
    float x;
    bool b;
    const uint8_t u8v = 200;
    const int16_t i16v = -300;
    const uint64_t big = UINT64_MAX;
    const double d = 0.25;
    const uint16_t u16s[] = {1, 65535};

    CHECK_INT(gguf_writer_new(&w, &err), FTSB_OK);
    gguf_w_scalar(w, "a.u8", GGUF_TYPE_UINT8, &u8v, &err);
    gguf_w_scalar(w, "a.i16", GGUF_TYPE_INT16, &i16v, &err);
    gguf_w_scalar(w, "a.big", GGUF_TYPE_UINT64, &big, &err);
    gguf_w_scalar(w, "a.f64", GGUF_TYPE_FLOAT64, &d, &err);
    gguf_w_str(w, "a.s", "text", 4, &err);
    gguf_w_bool(w, "a.b", true, &err);
    gguf_w_arr(w, "a.u16s", GGUF_TYPE_UINT16, u16s, 2, &err);
    CHECK_INT(gguf_w_save_mem(w, &mem, &size, &err), FTSB_OK);
    gguf_writer_free(w);
    CHECK_INT(gguf_open_mem(mem, size, "typed", &f, &err), FTSB_OK);
    if (!f) {
        free(mem);
        return;
    }
    CHECK_INT(gguf_get_int(f, "a.u8", 0, 255, &v, &err), FTSB_OK);
    CHECK_INT(v, 200);
    CHECK_INT(gguf_get_int(f, "a.u8", 0, 100, &v, &err), FTSB_E_FORMAT);
    CHECK_CONTAINS(err.msg, "key 'a.u8' is 200, outside 0..100");
    CHECK_INT(gguf_get_int(f, "a.i16", INT64_MIN, INT64_MAX, &v, &err),
              FTSB_OK);
    CHECK_INT(v, -300);
    CHECK_INT(gguf_get_int(f, "a.big", 0, INT64_MAX, &v, &err),
              FTSB_E_FORMAT);
    CHECK_CONTAINS(err.msg, "too large for a signed 64-bit integer");
    CHECK_INT(gguf_get_int(f, "a.s", 0, 1, &v, &err), FTSB_E_FORMAT);
    CHECK_CONTAINS(err.msg, "key 'a.s' is a str, expected an integer");
    CHECK_INT(gguf_get_int(f, "a.none", 0, 1, &v, &err), FTSB_E_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "key 'a.none' is missing");
    CHECK_INT(gguf_get_f32(f, "a.f64", &x, &err), FTSB_OK);
    CHECK(x == 0.25f);
    CHECK_INT(gguf_get_f32(f, "a.u8", &x, &err), FTSB_E_FORMAT);
    CHECK_INT(gguf_get_bool(f, "a.b", &b, &err), FTSB_OK);
    CHECK(b);
    CHECK_INT(gguf_get_bool(f, "a.u8", &b, &err), FTSB_E_FORMAT);
    {
        const struct gguf_kv *kv;
        int32_t out[2];
        CHECK_INT(gguf_get_arr(f, "a.u16s", GGUF_ANY_INT, &kv, &err), FTSB_OK);
        CHECK_INT(gguf_arr_i32(f, kv, out, &err), FTSB_OK);
        CHECK_INT(out[1], 65535);
        CHECK_INT(gguf_get_arr(f, "a.u16s", GGUF_TYPE_FLOAT32, &kv, &err),
                  FTSB_E_FORMAT);
        CHECK_CONTAINS(err.msg,
                       "key 'a.u16s' is an array of u16, expected an array "
                       "of f32");
        CHECK_INT(gguf_get_arr(f, "a.s", GGUF_ANY, &kv, &err), FTSB_E_FORMAT);
    }
    gguf_close(f);
    free(mem);
}

TEST(unsupported_tensor_type)
{
    struct buf b = {0};
    struct lm_err err = {0};
    struct gguf_file *f = NULL;
    struct gguf_tensor_view v;
    uint64_t ne[] = {32, 2};

    base(&b, 1, 1);
    tinfo(&b, "blk.0.attn_q.weight", 2, ne, 2 /* Q4_0 */, 0);
    pad_to(&b, 32);
    zeros(&b, 36);
    CHECK_INT(gguf_open_mem(b.p, b.n, "q4", &f, &err), FTSB_OK);
    if (f) {
        CHECK_INT(gguf_tensor_at(f, 0)->nbytes, 36);
        CHECK_INT(gguf_get_tensor(f, "blk.0.attn_q.weight", &v, &err),
                  FTSB_E_UNSUPPORTED);
        CHECK_CONTAINS(err.msg, "tensor 'blk.0.attn_q.weight' has the "
                                "unsupported tensor type Q4_0");
        gguf_close(f);
    }
    free(b.p);
}

/* ---- the writer ------------------------------------------------------- */

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed * 131 + i * 7);
}

static void build_all_types(struct gguf_writer *w, uint8_t *data,
                            struct lm_err *err)
{
    static const int8_t i8s[] = {-1, 2};
    static const float f32s[] = {1.5f, -2.0f};
    static const bool bools[] = {true, false, true};
    static const int64_t i64s[] = {INT64_MIN, 5};
    static const struct gguf_str strs[] = {{"<s>", 3}, {"", 0}, {"\xe2\x96\x81", 3}};
    const int8_t i8 = -5;
    const int64_t i64 = -123456789012345ll;
    const double f64 = 3.5;
    int64_t ne_f32[] = {5}, ne_f16[] = {3, 2}, ne_bf16[] = {2, 2, 2},
            ne_q8[] = {64, 1, 1, 2};

    gguf_w_u32(w, "general.alignment", 64, err);
    gguf_w_str(w, "general.architecture", "llama", 5, err);
    gguf_w_scalar(w, "t.i8", GGUF_TYPE_INT8, &i8, err);
    gguf_w_scalar(w, "t.i64", GGUF_TYPE_INT64, &i64, err);
    gguf_w_scalar(w, "t.f64", GGUF_TYPE_FLOAT64, &f64, err);
    gguf_w_i32(w, "t.i32", -7, err);
    gguf_w_u64(w, "t.u64", 1ull << 40, err);
    gguf_w_f32(w, "t.f32", 0.5f, err);
    gguf_w_bool(w, "t.bool", false, err);
    gguf_w_arr(w, "t.i8s", GGUF_TYPE_INT8, i8s, 2, err);
    gguf_w_arr(w, "t.f32s", GGUF_TYPE_FLOAT32, f32s, 2, err);
    gguf_w_arr(w, "t.bools", GGUF_TYPE_BOOL, bools, 3, err);
    gguf_w_arr(w, "t.i64s", GGUF_TYPE_INT64, i64s, 2, err);
    gguf_w_arr_str(w, "t.strs", strs, 3, err);
    gguf_w_arr(w, "t.empty", GGUF_TYPE_UINT32, NULL, 0, err);
    gguf_w_i32(w, "t.i32", -8, err); /* replaces, keeps its place */
    fill(data, 20, 1);
    fill(data + 32, 12, 2);
    fill(data + 64, 16, 3);
    fill(data + 128, 136, 4);
    gguf_w_tensor(w, "f32", GGUF_TENSOR_F32, 1, ne_f32, data, 20, err);
    gguf_w_tensor(w, "f16", GGUF_TENSOR_F16, 2, ne_f16, data + 32, 12, err);
    gguf_w_tensor(w, "bf16", GGUF_TENSOR_BF16, 3, ne_bf16, data + 64, 16, err);
    gguf_w_tensor(w, "q8_0", GGUF_TENSOR_Q8_0, 4, ne_q8, data + 128, 136, err);
}

static void check_all_types(const struct gguf_file *f, const uint8_t *data)
{
    struct lm_err err = {0};
    const struct gguf_kv *kv;
    struct gguf_str strs[3];
    struct gguf_tensor_view v;
    int64_t i64s[2];
    float f32s[2];
    int64_t x;
    char desc[128];

    CHECK_INT(gguf_alignment(f), 64);
    CHECK_INT(gguf_data_offset(f) % 64, 0);
    CHECK_INT(gguf_n_kv(f), 15);
    CHECK(gguf_kv_at(f, 5)->key.len == 5 &&
          memcmp(gguf_kv_at(f, 5)->key.ptr, "t.i32", 5) == 0);
    CHECK_INT(gguf_get_int(f, "t.i32", INT64_MIN, 0, &x, &err), FTSB_OK);
    CHECK_INT(x, -8);
    CHECK_INT(gguf_get_int(f, "t.i64", INT64_MIN, 0, &x, &err), FTSB_OK);
    CHECK_INT(x, -123456789012345ll);
    CHECK_INT(gguf_get_int(f, "t.i8", -10, 0, &x, &err), FTSB_OK);
    CHECK_INT(x, -5);
    CHECK_INT(gguf_get_arr(f, "t.strs", GGUF_TYPE_STRING, &kv, &err), FTSB_OK);
    CHECK_INT(gguf_arr_str(f, kv, strs, &err), FTSB_OK);
    CHECK(strs[0].len == 3 && memcmp(strs[0].ptr, "<s>", 3) == 0);
    CHECK_INT(strs[1].len, 0);
    CHECK(strs[2].len == 3 && memcmp(strs[2].ptr, "\xe2\x96\x81", 3) == 0);
    gguf_kv_describe(kv, desc, sizeof desc);
    CHECK_STR(desc, "[3 x str] \"<s>\", \"\", \"\xe2\x96\x81\"");
    CHECK_INT(gguf_get_arr(f, "t.f32s", GGUF_TYPE_FLOAT32, &kv, &err), FTSB_OK);
    CHECK_INT(gguf_arr_f32(f, kv, f32s, &err), FTSB_OK);
    CHECK(f32s[0] == 1.5f && f32s[1] == -2.0f);
    CHECK_INT(gguf_get_arr(f, "t.i64s", GGUF_ANY_INT, &kv, &err), FTSB_OK);
    CHECK_INT(gguf_arr_int(f, kv, i64s, &err), FTSB_OK);
    CHECK(i64s[0] == INT64_MIN && i64s[1] == 5);
    CHECK_INT(gguf_get_arr(f, "t.bools", GGUF_TYPE_BOOL, &kv, &err), FTSB_OK);
    CHECK(kv->count == 3 && kv->value[0] == 1 && kv->value[2] == 1);
    CHECK_INT(gguf_get_arr(f, "t.empty", GGUF_TYPE_UINT32, &kv, &err), FTSB_OK);
    CHECK_INT(kv->count, 0);
    CHECK_INT(gguf_get_tensor(f, "q8_0", &v, &err), FTSB_OK);
    CHECK(v.n_dims == 4 && v.ne[0] == 64 && v.ne[3] == 2 && v.nbytes == 136);
    CHECK(memcmp(v.data, data + 128, 136) == 0);
    CHECK_INT(gguf_get_tensor(f, "bf16", &v, &err), FTSB_OK);
    CHECK(memcmp(v.data, data + 64, 16) == 0);
    CHECK_INT(gguf_tensor_at(f, 1)->offset, 64);
    CHECK_INT(gguf_tensor_at(f, 3)->offset, 192);
}

TEST(writer_round_trip)
{
    struct gguf_writer *w = NULL;
    struct lm_err err = {0};
    struct gguf_file *f = NULL;
    uint8_t data[264], *mem = NULL, *disk;
    char path[] = "/tmp/ftsb_gguf_rt_XXXXXX";
    size_t size = 0, disk_size;
    int fd = mkstemp(path);

    CHECK_INT(gguf_writer_new(&w, &err), FTSB_OK);
    build_all_types(w, data, &err);
    CHECK_INT(gguf_w_save_mem(w, &mem, &size, &err), FTSB_OK);
    CHECK_INT(gguf_open_mem(mem, size, "rt", &f, &err), FTSB_OK);
    if (f)
        check_all_types(f, data);
    gguf_close(f);
    if (fd >= 0) {
        close(fd);
        CHECK_INT(gguf_w_save(w, path, &err), FTSB_OK);
        disk = (uint8_t *)slurp(path, &disk_size);
        CHECK(disk && disk_size == size && memcmp(disk, mem, size) == 0);
        CHECK_INT(gguf_open(path, &f, &err), FTSB_OK);
        if (f)
            check_all_types(f, data);
        gguf_close(f);
        free(disk);
        unlink(path);
    }
    gguf_writer_free(w);
    free(mem);
}

TEST(writer_refuses_bad_input)
{
    struct gguf_writer *w = NULL;
    struct lm_err err = {0};
    uint8_t d[64] = {0}, *mem;
    size_t size;
    int64_t ne[] = {33}, ne2[] = {4}, ne5[] = {1, 1, 1, 1, 1};

    CHECK_INT(gguf_writer_new(&w, &err), FTSB_OK);
    CHECK_INT(gguf_w_u32(w, "", 1, &err), FTSB_E_INVALID);
    CHECK_INT(gguf_w_u32(w, "a\x01", 1, &err), FTSB_E_INVALID);
    CHECK_INT(gguf_w_scalar(w, "a", GGUF_TYPE_STRING, "x", &err),
              FTSB_E_INVALID);
    CHECK_INT(gguf_w_tensor(w, "q", GGUF_TENSOR_Q8_0, 1, ne, d, 34, &err),
              FTSB_E_INVALID);
    CHECK_INT(gguf_w_tensor(w, "f", GGUF_TENSOR_F32, 1, ne2, d, 12, &err),
              FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "the shape does not match 12 bytes of F32");
    CHECK_INT(gguf_w_tensor(w, "f", 2, 1, ne2, d, 16, &err), FTSB_E_INVALID);
    CHECK_INT(gguf_w_tensor(w, "f", GGUF_TENSOR_F32, 5, ne5, d, 4, &err),
              FTSB_E_INVALID);
    CHECK_INT(gguf_w_tensor(w, "f", GGUF_TENSOR_F32, 1, ne2, d, 16, &err),
              FTSB_OK);
    CHECK_INT(gguf_w_tensor(w, "f", GGUF_TENSOR_F32, 1, ne2, d, 16, &err),
              FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "duplicate tensor name 'f'");
    CHECK_INT(gguf_w_i32(w, "general.alignment", 32, &err), FTSB_OK);
    CHECK_INT(gguf_w_save_mem(w, &mem, &size, &err), FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "general.alignment must be a u32");
    CHECK_INT(gguf_w_u32(w, "general.alignment", 48, &err), FTSB_OK);
    CHECK_INT(gguf_w_save_mem(w, &mem, &size, &err), FTSB_E_INVALID);
    CHECK_INT(gguf_w_save(w, "/nonexistent/dir/x.gguf", &err), FTSB_E_INVALID);
    CHECK_INT(gguf_w_u32(w, "general.alignment", 32, &err), FTSB_OK);
    CHECK_INT(gguf_w_save(w, "/nonexistent/dir/x.gguf", &err), FTSB_E_IO);
    CHECK_CONTAINS(err.msg, "cannot create '/nonexistent/dir/x.gguf.tmp'");
    gguf_writer_free(w);
}

/*
 * Copying every key and tensor of a reference model (written by the
 * data set's own GGUF writer) reproduces the file byte for byte: our
 * layout, padding and offsets are the ones GGUF readers expect.
 */
TEST(writer_reproduces_reference_model)
{
    const char *dir = shared_dir();
    static const char *const files[] = {
        "reference/models/mqa-bf16.gguf", "reference/models/gqa-q8_0.gguf",
        "reference/adapters/gqa-f16.lora-r4.gguf", "vocab/ggml-vocab-gpt-2.gguf",
    };
    char path[4096];

    if (!dir)
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct lm_err err = {0};
        struct gguf_file *f = NULL;
        struct gguf_writer *w = NULL;
        uint8_t *mem = NULL, *orig;
        size_t size = 0, orig_size;
        snprintf(path, sizeof path, "%s/testdata/%s", dir, files[i]);
        if (!(orig = (uint8_t *)slurp(path, &orig_size)) ||
            gguf_open(path, &f, &err) || gguf_writer_new(&w, &err)) {
            printf("  %s: %s\n", path, err.msg);
            CHECK(0);
            free(orig);
            gguf_close(f);
            continue;
        }
        for (uint64_t k = 0; k < gguf_n_kv(f); k++)
            CHECK_INT(gguf_w_copy_kv(w, gguf_kv_at(f, k), &err), FTSB_OK);
        for (uint64_t t = 0; t < gguf_n_tensors(f); t++) {
            const struct gguf_tensor *ti = gguf_tensor_at(f, t);
            const void *data = NULL;
            CHECK_INT(gguf_tensor_data(f, ti, &data, &err), FTSB_OK);
            CHECK_INT(gguf_w_tensor(w, ti->name, ti->type, ti->n_dims, ti->ne,
                                    data, ti->nbytes, &err),
                      FTSB_OK);
        }
        CHECK_INT(gguf_w_save_mem(w, &mem, &size, &err), FTSB_OK);
        if (size != orig_size || memcmp(mem, orig, size) != 0)
            printf("  %s: rewrite differs (%zu vs %zu bytes)\n", files[i],
                   size, orig_size);
        CHECK(size == orig_size && memcmp(mem, orig, size) == 0);
        free(mem);
        free(orig);
        gguf_writer_free(w);
        gguf_close(f);
    }
}

/* File strings quoted in messages are escaped and cut. */
TEST(str_show_escapes)
{
    char buf[GGUF_SHOW_BUF];
    struct gguf_str s = {"gp\xF4-2\n\\", 7};
    struct gguf_str long_s = {"abcdefghij", 10};

    CHECK_STR(gguf_str_show(s, 40, buf, sizeof buf), "gp\\xF4-2\\x0A\\x5C");
    CHECK_STR(gguf_str_show(long_s, 4, buf, sizeof buf), "abcd...");
    CHECK_STR(gguf_str_show(long_s, 40, buf, 6), "abcde");
}

TEST(utf8_check)
{
    CHECK_INT(gguf_utf8_check("abc", 3), 3);
    CHECK_INT(gguf_utf8_check("\xe2\x96\x81", 3), 3);
    CHECK_INT(gguf_utf8_check("a\xc0\x80", 3), 1);       /* overlong */
    CHECK_INT(gguf_utf8_check("\xed\xa0\x80", 3), 0);    /* surrogate */
    CHECK_INT(gguf_utf8_check("\xf4\x90\x80\x80", 4), 0); /* > U+10FFFF */
    CHECK_INT(gguf_utf8_check("ab\xe2\x96", 4), 2);      /* cut short */
    CHECK_INT(gguf_utf8_check("\xf0\x9f\xa6\x99", 4), 4);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
        return write_corpus(argv[2]);
    RUN(malformed_in_memory);
    RUN(good_file_reads);
    RUN(truncated_small_file_every_byte);
    RUN(reference_models);
    RUN(reference_adapters);
    RUN(truncation_sweep);
    RUN(truncated_files_on_disk);
    RUN(open_errors);
    RUN(committed_corpus);
    RUN(typed_getters);
    RUN(unsupported_tensor_type);
    RUN(writer_round_trip);
    RUN(writer_refuses_bad_input);
    RUN(writer_reproduces_reference_model);
    RUN(str_show_escapes);
    RUN(utf8_check);
    return test_summary();
}
