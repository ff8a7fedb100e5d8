/*
 * test_safetensors.c - the safetensors reader and writer.  The writer must
 * produce the reference implementation's bytes for the format's own
 * examples; files round-trip through memory and disk with every dtype,
 * scalars, empty tensors, metadata and odd names; the reader accepts what
 * the format allows (padding, any key order, zero-size tensors on
 * boundaries, unaligned data) and rejects a catalogue of malformed files
 * with FTSB_E_FORMAT and the expected reason.  The catalogue is built here
 * and also committed under tests/data/safetensors/ (with EXPECTED) so the
 * mmap path reads them from disk; every truncation of a valid file is
 * rejected, and a header of 100,000 tensors parses quickly.
 *
 *     test_safetensors                      run the tests
 *     test_safetensors --write-corpus DIR   write the malformed files and
 *                                           EXPECTED
 *     test_safetensors --write-seeds DIR    write valid files (fuzz seeds)
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fp16.h"
#include "safetensors.h"
#include "test.h"

/* ---- building files byte by byte ---------------------------------------- */

struct buf {
    uint8_t *p;
    size_t n;
};

/* A file: u64 header length, the header text as given, then data_len
 * bytes 0, 1, 2, ... */
static struct buf mk_len(uint64_t n_claimed, const char *header,
                         size_t header_len, size_t data_len)
{
    struct buf b;

    b.n = 8 + header_len + data_len;
    b.p = malloc(b.n + 1);
    memcpy(b.p, &n_claimed, 8);
    memcpy(b.p + 8, header, header_len);
    for (size_t i = 0; i < data_len; i++)
        b.p[8 + header_len + i] = (uint8_t)i;
    return b;
}

static struct buf mk(const char *header, size_t data_len)
{
    return mk_len(strlen(header), header, strlen(header), data_len);
}

/* ---- the malformed catalogue -------------------------------------------- */

struct bad_case {
    const char *file;
    struct buf b;
    const char *expect;
};

#define T1(dt, shape, b, e)                                                   \
    "{\"a\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":[" #b \
    "," #e "]}}"

static size_t build_cases(struct bad_case *c)
{
    size_t n = 0;
    static char long_name[400];

#define ADD(f, buf_, e)                                                       \
    do {                                                                      \
        c[n].file = f;                                                        \
        c[n].b = buf_;                                                        \
        c[n].expect = e;                                                      \
        n++;                                                                  \
    } while (0)
#define ADDH(f, h, data, e) ADD(f, mk(h, data), e)

    ADD("empty.safetensors", mk_len(0, "", 0, 0), "");
    c[n - 1].b.n = 0;
    c[n - 1].expect = "the file is 0 bytes long, too short for the 8-byte "
                      "header length";
    ADD("too_short.safetensors", mk_len(0, "", 0, 0), "");
    c[n - 1].b.n = 5;
    c[n - 1].expect = "the file is 5 bytes long";
    ADD("header_over_cap.safetensors", mk_len(100000001, "{}", 2, 0),
        "the header length 100000001 is over the 100000000-byte limit");
    ADD("header_len_max.safetensors", mk_len(UINT64_MAX, "{}", 2, 0),
        "the header length 18446744073709551615 is over the");
    ADD("header_past_eof.safetensors", mk_len(1000, "{}      ", 8, 0),
        "byte 0: the header length 1000 runs past the end of the file "
        "(16 bytes)");
    ADDH("not_utf8.safetensors", "{\"a\xff\":{}}", 0,
         "byte 11: the header is not valid UTF-8");
    ADDH("overlong_utf8.safetensors", "{\"\xc0\xaf\":{}}", 0,
         "byte 10: the header is not valid UTF-8");
    ADDH("utf8_surrogate.safetensors", "{\"\xed\xa0\x80\":{}}", 0,
         "the header is not valid UTF-8");
    ADDH("not_object.safetensors", "[1]     ", 0,
         "byte 8: the header does not start with '{': not a safetensors "
         "file");
    ADDH("leading_space.safetensors", " {}     ", 0,
         "the header does not start with '{'");
    ADDH("empty_header.safetensors", "", 0,
         "the header does not start with '{'");
    ADDH("invalid_json.safetensors", "{\"a\":}", 0,
         "byte 13: expected '{' opening a tensor entry (an object)");
    ADDH("truncated_json.safetensors", "{\"a\":{\"dtype\":\"F32\"", 0,
         "the header ends where ',' or '}' in a tensor entry was expected");
    ADDH("unterminated_string.safetensors", "{\"abc", 0,
         "the header ends inside a tensor name");
    ADDH("trailing_garbage.safetensors", "{}x", 0,
         "byte 10: unexpected data after the header's JSON object");
    ADD("nul_padding.safetensors", mk_len(8, "{}\0\0\0\0\0\0", 8, 0),
        "unexpected data after the header's JSON object");
    ADDH("two_objects.safetensors", "{}{}", 0,
         "unexpected data after the header's JSON object");
    {
        static char deep[2100];
        memcpy(deep, "{\"a\":", 5);
        memset(deep + 5, '[', 2000);
        deep[2005] = '\0';
        ADDH("nesting_deep.safetensors", deep, 0,
             "expected '{' opening a tensor entry");
    }
    ADDH("dup_tensor.safetensors",
         "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
         "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
         2, "byte 61: duplicate tensor name 'a' (first at byte 9)");
    /* The parser differential of reliability.md 1.5: first-wins sees four
     * U8, last-wins one F32, over the same bytes. */
    ADDH("dup_tensor_differential.safetensors",
         "{\"x\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
         "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
         4, "duplicate tensor name 'x'");
    ADDH("dup_metadata.safetensors",
         "{\"__metadata__\":{\"a\":\"1\"},\"__metadata__\":{\"b\":\"2\"}}", 0,
         "byte 34: __metadata__ appears twice (first at byte 9)");
    ADDH("dup_metadata_key.safetensors",
         "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0,
         "byte 33: duplicate __metadata__ key 'k' (first at byte 25)");
    ADDH("dup_field.safetensors",
         "{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],"
         "\"data_offsets\":[0,1]}}",
         1, "the entry of tensor 'a' has the field 'dtype' twice");
    ADDH("unknown_field.safetensors",
         "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],"
         "\"extra\":1}}",
         1, "the entry of tensor 'a' has the unknown field 'extra'");
    ADDH("missing_dtype.safetensors",
         "{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
         "byte 9: the entry of tensor 'a' has no 'dtype'");
    ADDH("missing_shape.safetensors",
         "{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", 1,
         "the entry of tensor 'a' has no 'shape'");
    ADDH("missing_offsets.safetensors",
         "{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1,
         "the entry of tensor 'a' has no 'data_offsets'");
    ADDH("empty_entry.safetensors", "{\"a\":{}}", 0,
         "the entry of tensor 'a' has no 'dtype'");
    ADDH("entry_not_object.safetensors", "{\"a\":5}", 0,
         "expected '{' opening a tensor entry");
    ADDH("meta_not_object.safetensors", "{\"__metadata__\":\"x\"}", 0,
         "expected '{' opening __metadata__");
    ADDH("meta_value_number.safetensors", "{\"__metadata__\":{\"k\":1}}", 0,
         "the __metadata__ value of 'k' must be a string");
    ADDH("meta_value_null.safetensors", "{\"__metadata__\":{\"k\":null}}",
         0, "the __metadata__ value of 'k' must be a string");
    ADDH("meta_key_empty.safetensors", "{\"__metadata__\":{\"\":\"v\"}}", 0,
         "a __metadata__ key is empty or contains control characters");
    ADDH("unknown_dtype.safetensors", T1("F33", "[1]", 0, 4), 4,
         "tensor 'a' has unknown dtype 'F33'");
    ADDH("dtype_lowercase.safetensors", T1("f32", "[1]", 0, 4), 4,
         "tensor 'a' has unknown dtype 'f32'");
    ADDH("dtype_not_string.safetensors",
         "{\"a\":{\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "expected the dtype of tensor 'a' (a string)");
    ADDH("shape_negative.safetensors", T1("U8", "[-1]", 0, 1), 1,
         "a dimension in the shape of tensor 'a' is negative");
    ADDH("shape_fraction.safetensors", T1("U8", "[1.5]", 0, 1), 1,
         "a dimension in the shape of tensor 'a' must be an integer, "
         "without fraction or exponent");
    ADDH("shape_integral_float.safetensors", T1("U8", "[1.0]", 0, 1), 1,
         "must be an integer, without fraction or exponent");
    ADDH("shape_exponent.safetensors", T1("U8", "[1e0]", 0, 1), 1,
         "must be an integer, without fraction or exponent");
    ADDH("shape_leading_zero.safetensors", T1("U8", "[01]", 0, 1), 1,
         "a dimension in the shape of tensor 'a' has a leading zero");
    ADDH("shape_over_2_53.safetensors",
         T1("U8", "[9007199254740992]", 0, 1), 1,
         "a dimension in the shape of tensor 'a' is larger than 2^53 - 1");
    ADDH("shape_huge.safetensors",
         T1("U8", "[99999999999999999999999999]", 0, 1), 1,
         "a dimension in the shape of tensor 'a' is larger than 2^53 - 1");
    ADDH("shape_string.safetensors", T1("U8", "[\"1\"]", 0, 1), 1,
         "a dimension in the shape of tensor 'a' must be an integer");
    ADDH("shape_nested.safetensors", T1("U8", "[[1]]", 0, 1), 1,
         "a dimension in the shape of tensor 'a' must be an integer");
    ADDH("shape_not_array.safetensors", T1("U8", "1", 0, 1), 1,
         "expected '[' opening the shape");
    ADDH("shape_trailing_comma.safetensors", T1("U8", "[1,]", 0, 1), 1,
         "a dimension in the shape of tensor 'a' must be an integer");
    ADDH("shape_overflow.safetensors",
         T1("U8", "[4294967296,4294967296]", 0, 1), 1,
         "tensor 'a': shape [4294967296, 4294967296] has more elements "
         "than a 64-bit count holds");
    ADDH("nbytes_overflow.safetensors",
         T1("F64", "[4294967296,1073741824]", 0, 8), 8,
         "tensor 'a': shape [4294967296, 1073741824] of dtype F64 does not "
         "make a whole number of bytes that fits in 64 bits");
    ADDH("subbyte_partial.safetensors", T1("F4", "[3]", 0, 2), 2,
         "shape [3] of dtype F4 does not make a whole number of bytes");
    ADDH("offsets_one.safetensors",
         "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", 1,
         "expected ',' in data_offsets (it holds exactly 2 integers)");
    ADDH("offsets_three.safetensors",
         "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}",
         1, "expected ']' closing data_offsets (it holds exactly 2 "
            "integers)");
    ADDH("offsets_negative.safetensors", T1("U8", "[1]", -1, 0), 1,
         "an offset in data_offsets of tensor 'a' is negative");
    ADDH("offsets_fraction.safetensors", T1("U8", "[1]", 0, 1.0), 1,
         "an offset in data_offsets of tensor 'a' must be an integer");
    ADDH("offsets_reversed.safetensors", T1("U8", "[0]", 4, 0), 4,
         "tensor 'a': data_offsets [4, 0] end before they begin");
    ADDH("size_mismatch.safetensors", T1("F32", "[2]", 0, 4), 4,
         "tensor 'a': data_offsets [0, 4] hold 4 bytes, but shape [2] of "
         "dtype F32 needs 8");
    ADDH("offsets_past_end.safetensors", T1("F32", "[2]", 0, 8), 4,
         "tensor 'a': data_offsets [0, 8] run past the end of the data "
         "section (4 bytes)");
    ADDH("offsets_over_2_31.safetensors",
         T1("F32", "[536870913]", 0, 2147483652), 4,
         "data_offsets [0, 2147483652] run past the end of the data section");
    ADDH("offsets_over_2_53.safetensors",
         T1("U8", "[1]", 9007199254740992, 9007199254740993), 1,
         "an offset in data_offsets of tensor 'a' is larger than 2^53 - 1");
    ADDH("gap.safetensors",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "data bytes [4, 8) before tensor 'b' belong to no tensor");
    ADDH("not_from_0.safetensors", T1("F32", "[1]", 4, 8), 8,
         "data bytes [0, 4) before tensor 'a' belong to no tensor");
    ADDH("overlap.safetensors",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
         12, "tensor 'b' [4, 12) overlaps tensor 'a' [0, 8)");
    ADDH("alias.safetensors",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
         4, "tensor 'b' [0, 4) overlaps tensor 'a' [0, 4)");
    ADDH("zero_size_inside.safetensors",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}",
         8, "tensor 'z' (0 bytes, at data offset 4) lies inside tensor 'a' "
            "[0, 8)");
    ADDH("trailing_bytes.safetensors", T1("F32", "[1]", 0, 4), 8,
         "4 bytes after the last tensor belong to no tensor");
    ADDH("no_tensors_trailing.safetensors", "{}      ", 4,
         "byte 16: 4 bytes after the last tensor belong to no tensor");
    ADDH("name_empty.safetensors",
         "{\"\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
         "byte 9: a tensor name is empty or contains control characters");
    ADDH("name_control.safetensors",
         "{\"a\\nb\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
         1, "a tensor name is empty or contains control characters");
    ADDH("name_nul_escape.safetensors",
         "{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[1],"
         "\"data_offsets\":[0,1]}}",
         1, "a tensor name contains a NUL character (\\u0000)");
    ADDH("name_raw_tab.safetensors",
         "{\"a\tb\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
         1, "a tensor name contains the control character 0x09");
    ADDH("lone_high_surrogate.safetensors",
         "{\"\\ud800x\":{\"dtype\":\"U8\",\"shape\":[1],"
         "\"data_offsets\":[0,1]}}",
         1, "a tensor name has a lone high surrogate \\uD800");
    ADDH("lone_low_surrogate.safetensors",
         "{\"\\udc00\":{\"dtype\":\"U8\",\"shape\":[1],"
         "\"data_offsets\":[0,1]}}",
         1, "a tensor name has a lone low surrogate \\uDC00");
    ADDH("bad_escape.safetensors",
         "{\"\\x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
         1, "a tensor name has an invalid escape");
    ADDH("short_unicode_escape.safetensors", "{\"\\u12\"}", 0,
         "a tensor name has a \\u escape without 4 hex digits");
    ADDH("key_not_string.safetensors", "{a:1}", 0,
         "expected a tensor name (a string)");
    ADDH("missing_colon.safetensors", "{\"a\" {}}", 0,
         "expected ':' after a tensor name");
    ADDH("missing_comma.safetensors",
         "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]} "
         "\"b\":{}}",
         1, "expected ',' or '}' after a tensor entry");
    memset(long_name, 'n', 300);
    long_name[300] = '\0';
    {
        static char h[600];
        snprintf(h, sizeof h,
                 "{\"%s\":{\"dtype\":\"F32\",\"shape\":[2],"
                 "\"data_offsets\":[0,4]}}",
                 long_name);
        ADDH("long_name_mismatch.safetensors", h, 4,
             "hold 4 bytes, but shape [2] of dtype F32 needs 8");
    }
#undef ADD
#undef ADDH
    return n;
}

#define MAX_CASES 128

TEST(malformed_in_memory)
{
    struct bad_case c[MAX_CASES];
    size_t n = build_cases(c);
    struct lm_err err;

    CHECK(n < MAX_CASES);
    for (size_t i = 0; i < n; i++) {
        struct st_file *f = (struct st_file *)1;
        ftsb_status s = st_open_mem(c[i].b.p, c[i].b.n, c[i].file, &f, &err);
        if (s != FTSB_E_FORMAT || f != NULL) {
            printf("  %s: status %d\n", c[i].file, (int)s);
            CHECK(s == FTSB_E_FORMAT);
            CHECK(f == NULL);
            st_close(s == FTSB_OK ? f : NULL);
            continue;
        }
        if (!strstr(err.msg, c[i].expect))
            printf("  case %s\n", c[i].file);
        CHECK_CONTAINS(err.msg, c[i].expect);
        /* Every message names the file. */
        CHECK(strncmp(err.msg, "'", 1) == 0 &&
              strncmp(err.msg + 1, c[i].file, strlen(c[i].file)) == 0);
    }
    for (size_t i = 0; i < n; i++)
        free(c[i].b.p);
}

static int write_corpus(const char *dir)
{
    struct bad_case c[MAX_CASES];
    size_t n = build_cases(c);
    char path[4096];
    FILE *ex, *fp;

    snprintf(path, sizeof path, "%s/EXPECTED", dir);
    if (!(ex = fopen(path, "w")))
        return 1;
    fprintf(ex, "# file<TAB>the part of the error message st_open must give "
                "(written by test_safetensors --write-corpus)\n");
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, c[i].file);
        if (!(fp = fopen(path, "wb")))
            return 1;
        if (c[i].b.n)
            fwrite(c[i].b.p, 1, c[i].b.n, fp);
        fclose(fp);
        fprintf(ex, "%s\t%s\n", c[i].file, c[i].expect);
        free(c[i].b.p);
    }
    fclose(ex);
    printf("wrote %zu files to %s\n", n, dir);
    return 0;
}

/* The committed corpus, through st_open (the mmap path). */
TEST(malformed_corpus_on_disk)
{
    const char *tdir = getenv("FTSB_TEST_DIR");
    char path[4096], line[1024];
    FILE *ex;
    int count = 0;

    if (!tdir)
        SKIP("FTSB_TEST_DIR is not set");
    snprintf(path, sizeof path, "%s/data/safetensors/EXPECTED", tdir);
    if (!(ex = fopen(path, "r"))) {
        CHECK(!"tests/data/safetensors/EXPECTED is missing");
        return;
    }
    while (fgets(line, sizeof line, ex)) {
        char *tab = strchr(line, '\t'), *nl;
        struct st_file *f = NULL;
        struct lm_err err;
        ftsb_status s;

        if (line[0] == '#' || !tab)
            continue;
        *tab = '\0';
        if ((nl = strchr(tab + 1, '\n')))
            *nl = '\0';
        snprintf(path, sizeof path, "%s/data/safetensors/%s", tdir, line);
        s = st_open(path, &f, &err);
        if (s != FTSB_E_FORMAT || !strstr(err.msg, tab + 1))
            printf("  %s: status %d, message: %s\n", line, (int)s,
                   s ? err.msg : "(accepted)");
        CHECK(s == FTSB_E_FORMAT);
        if (s == FTSB_OK)
            st_close(f);
        else
            CHECK_CONTAINS(err.msg, tab + 1);
        count++;
    }
    fclose(ex);
    CHECK(count >= 78);
}

/* ---- the writer's bytes ------------------------------------------------- */

static int save_mem(struct st_writer *w, struct buf *out)
{
    struct lm_err err;

    if (st_w_save_mem(w, &out->p, &out->n, &err)) {
        printf("  save: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* The byte strings of the reference implementation's serialization tests
 * (the format's own examples). */
TEST(writer_matches_reference_bytes)
{
    static const float v[6] = {0, 1, 2, 3, 4, 5};
    static const char want1[] =
        "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],"
        "\"data_offsets\":[0,24]}}";
    static const char want2[] =
        "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],"
        "\"data_offsets\":[0,24]}}       ";
    static const char want3[] = "{\"__metadata__\":{\"framework\":\"pt\"}}"
                                "     ";
    struct lm_err err;
    struct st_writer *w;
    struct buf b;
    uint64_t n;

    st_writer_new(&w, &err);
    CHECK(st_w_tensor(w, "attn.0", ST_F32, 3, (uint64_t[]){1, 2, 3}, v, 24,
                      &err) == FTSB_OK);
    CHECK(save_mem(w, &b) == 0);
    memcpy(&n, b.p, 8);
    CHECK_INT(n, 64);
    CHECK_INT(b.n, 8 + 64 + 24);
    CHECK(memcmp(b.p + 8, want1, 64) == 0);
    CHECK(memcmp(b.p + 72, v, 24) == 0);
    free(b.p);
    st_writer_free(w);

    st_writer_new(&w, &err);
    st_w_tensor(w, "attn0", ST_F32, 4, (uint64_t[]){1, 1, 2, 3}, v, 24, &err);
    CHECK(save_mem(w, &b) == 0);
    memcpy(&n, b.p, 8);
    CHECK_INT(n, 72);
    CHECK(memcmp(b.p + 8, want2, 72) == 0);
    free(b.p);
    st_writer_free(w);

    st_writer_new(&w, &err);
    CHECK(save_mem(w, &b) == 0);
    CHECK_INT(b.n, 16);
    CHECK(memcmp(b.p, "\x08\0\0\0\0\0\0\0{}      ", 16) == 0);
    free(b.p);
    CHECK(st_w_meta(w, "framework", "pt", &err) == FTSB_OK);
    CHECK(save_mem(w, &b) == 0);
    memcpy(&n, b.p, 8);
    CHECK_INT(n, 40);
    CHECK(memcmp(b.p + 8, want3, 40) == 0);
    free(b.p);
    st_writer_free(w);
}

/* Keys are sorted whatever the order of the calls; data keeps it. */
TEST(writer_sorted_and_deterministic)
{
    static const uint8_t d1[2] = {1, 2}, d2[1] = {3};
    struct lm_err err;
    struct st_writer *w;
    struct buf a, b;
    struct st_file *f;

    st_writer_new(&w, &err);
    st_w_meta(w, "z", "last", &err);
    st_w_meta(w, "a", "first", &err);
    st_w_tensor(w, "zeta", ST_U8, 1, (uint64_t[]){2}, d1, 2, &err);
    st_w_tensor(w, "alpha", ST_U8, 1, (uint64_t[]){1}, d2, 1, &err);
    CHECK(save_mem(w, &a) == 0);
    CHECK(save_mem(w, &b) == 0);
    CHECK(a.n == b.n && memcmp(a.p, b.p, a.n) == 0);
    CHECK(strstr((char *)a.p + 8,
                 "{\"__metadata__\":{\"a\":\"first\",\"z\":\"last\"},"
                 "\"alpha\":{\"dtype\":\"U8\",\"shape\":[1],"
                 "\"data_offsets\":[2,3]},\"zeta\":{\"dtype\":\"U8\","
                 "\"shape\":[2],\"data_offsets\":[0,2]}}") != NULL);
    CHECK(memcmp(a.p + a.n - 3, "\x01\x02\x03", 3) == 0);
    CHECK(st_open_mem(a.p, a.n, "sorted", &f, &err) == FTSB_OK);
    if (f) {
        /* Data order: zeta first. */
        CHECK_STR(st_tensor_at(f, 0)->name, "zeta");
        CHECK_STR(st_tensor_at(f, 1)->name, "alpha");
        CHECK_STR(st_get_meta(f, "z"), "last");
        st_close(f);
    }
    free(a.p);
    free(b.p);
    st_writer_free(w);
}

TEST(writer_refuses_bad_input)
{
    static const float v[2] = {1, 2};
    struct lm_err err;
    struct st_writer *w;
    struct buf b = {0};

    st_writer_new(&w, &err);
    CHECK(st_w_tensor(w, "", ST_F32, 1, (uint64_t[]){2}, v, 8, &err) ==
          FTSB_E_INVALID);
    CHECK(st_w_tensor(w, "__metadata__", ST_F32, 1, (uint64_t[]){2}, v, 8,
                      &err) == FTSB_E_INVALID);
    CHECK(st_w_tensor(w, "a\x01", ST_F32, 1, (uint64_t[]){2}, v, 8, &err) ==
          FTSB_E_INVALID);
    CHECK(st_w_tensor(w, "bad\xff", ST_F32, 1, (uint64_t[]){2}, v, 8,
                      &err) == FTSB_E_INVALID);
    CHECK(st_w_tensor(w, "a", ST_F32, 1, (uint64_t[]){2}, v, 4, &err) ==
          FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "is given 4 bytes, but its shape and dtype F32 "
                            "need 8");
    CHECK(st_w_tensor(w, "a", ST_F4, 1, (uint64_t[]){3}, v, 2, &err) ==
          FTSB_E_INVALID);
    CHECK(st_w_tensor(w, "a", ST_U8, 1, (uint64_t[]){1ull << 54}, v, 1,
                      &err) == FTSB_E_INVALID);
    CHECK(st_w_tensor(w, "a", (enum st_dtype)99, 1, (uint64_t[]){2}, v, 8,
                      &err) == FTSB_E_INVALID);
    CHECK(st_w_meta(w, "", "v", &err) == FTSB_E_INVALID);
    CHECK(st_w_meta(w, "k", "v", &err) == FTSB_OK);
    CHECK(st_w_meta(w, "k", "w", &err) == FTSB_E_INVALID);
    CHECK(st_w_tensor(w, "a", ST_F32, 1, (uint64_t[]){2}, v, 8, &err) ==
          FTSB_OK);
    CHECK(st_w_tensor(w, "a", ST_F32, 1, (uint64_t[]){2}, v, 8, &err) ==
          FTSB_OK);
    CHECK(st_w_save_mem(w, &b.p, &b.n, &err) == FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "tensor 'a' added twice");
    CHECK(st_w_save(w, "/nonexistent-dir/x.safetensors", &err) ==
          FTSB_E_INVALID);
    st_writer_free(w);
    st_writer_new(&w, &err);
    CHECK(st_w_save(w, "/nonexistent-dir/x.safetensors", &err) ==
          FTSB_E_IO);
    CHECK_CONTAINS(err.msg, "cannot create '/nonexistent-dir/x."
                            "safetensors.tmp'");
    st_writer_free(w);
}

/* ---- round trips -------------------------------------------------------- */

/* A file with every dtype, a scalar, empty tensors and metadata. */
static struct st_writer *rich_writer(uint8_t *pool, size_t pool_size)
{
    struct lm_err err;
    struct st_writer *w;
    size_t used = 0;

    for (size_t i = 0; i < pool_size; i++)
        pool[i] = (uint8_t)(i * 7 + 3);
    st_writer_new(&w, &err);
    st_w_meta(w, "format", "pt", &err);
    st_w_meta(w, "note", "quote \" backslash \\ newline \n tab \t é ✓",
              &err);
    for (int d = 0; d < ST_N_DTYPES; d++) {
        char name[64];
        uint64_t shape[2] = {2, 4}, nbytes;
        st_dtype_nbytes((enum st_dtype)d, 8, &nbytes);
        snprintf(name, sizeof name, "t.%s", st_dtype_name((enum st_dtype)d));
        if (st_w_tensor(w, name, (enum st_dtype)d, 2, shape, pool + used,
                        nbytes, &err))
            printf("  %s: %s\n", name, err.msg);
        used += nbytes;
    }
    st_w_tensor(w, "scalar", ST_F32, 0, NULL, pool + used, 4, &err);
    st_w_tensor(w, "empty.a", ST_F16, 2, (uint64_t[]){0, 5}, NULL, 0, &err);
    st_w_tensor(w, "empty.b", ST_F32, 1, (uint64_t[]){0}, NULL, 0, &err);
    st_w_tensor(w, "\xc3\xa9t\xc3\xa9 \"q\"", ST_U8, 1, (uint64_t[]){3},
                pool, 3, &err);
    st_w_tensor(w, "nine.dims", ST_U8, 9,
                (uint64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 2}, pool, 2, &err);
    return w;
}

static void check_rich(const struct st_file *f, const uint8_t *pool)
{
    struct lm_err err;
    const struct st_tensor *t;
    const void *d;
    size_t used = 0;

    CHECK_INT(st_n_tensors(f), ST_N_DTYPES + 5);
    CHECK_INT(st_n_meta(f), 2);
    CHECK_STR(st_get_meta(f, "note"),
              "quote \" backslash \\ newline \n tab \t é ✓");
    CHECK_STR(st_get_meta(f, "format"), "pt");
    CHECK(st_get_meta(f, "nope") == NULL);
    for (int dt = 0; dt < ST_N_DTYPES; dt++) {
        char name[64];
        uint64_t nbytes;
        st_dtype_nbytes((enum st_dtype)dt, 8, &nbytes);
        snprintf(name, sizeof name, "t.%s", st_dtype_name((enum st_dtype)dt));
        t = st_find(f, name);
        CHECK(t != NULL);
        if (!t)
            continue;
        CHECK_INT(t->dtype, dt);
        CHECK_INT(t->n_dims, 2);
        CHECK(t->shape[0] == 2 && t->shape[1] == 4);
        CHECK_INT(t->nelem, 8);
        CHECK_INT(t->end - t->begin, nbytes);
        CHECK(memcmp(st_tensor_raw(f, t), pool + used, nbytes) == 0);
        if (dt == ST_F32 || dt == ST_F16 || dt == ST_BF16)
            CHECK(st_tensor_data(f, t, &d, &err) == FTSB_OK);
        else {
            CHECK(st_tensor_data(f, t, &d, &err) == FTSB_E_UNSUPPORTED);
            CHECK_CONTAINS(err.msg, "unsupported dtype");
        }
        used += nbytes;
    }
    t = st_find(f, "scalar");
    CHECK(t && t->n_dims == 0 && t->nelem == 1 && t->end - t->begin == 4);
    t = st_find(f, "empty.a");
    CHECK(t && t->n_dims == 2 && t->nelem == 0 && t->begin == t->end);
    t = st_find(f, "\xc3\xa9t\xc3\xa9 \"q\"");
    CHECK(t && memcmp(st_tensor_raw(f, t), pool, 3) == 0);
    t = st_find(f, "nine.dims");
    CHECK(t && t->n_dims == 9 && t->shape[8] == 2 && t->nelem == 2);
}

TEST(round_trip_memory_and_disk)
{
    static uint8_t pool[4096];
    struct lm_err err;
    struct st_writer *w = rich_writer(pool, sizeof pool);
    struct st_file *f = NULL;
    struct buf b;
    char dir[] = "/tmp/ftsb_st_XXXXXX", path[256];
    FILE *fp;
    uint8_t *disk;
    uint64_t n;

    CHECK(save_mem(w, &b) == 0);
    memcpy(&n, b.p, 8);
    CHECK(n % 8 == 0);
    CHECK(st_open_mem(b.p, b.n, "rich", &f, &err) == FTSB_OK);
    if (f) {
        check_rich(f, pool);
        CHECK_INT(st_header_size(f), n);
        st_close(f);
    } else {
        printf("  %s\n", err.msg);
    }
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/rich.safetensors", dir);
    CHECK(st_w_save(w, path, &err) == FTSB_OK);
    CHECK(access(path, F_OK) == 0);
    {
        char tmp[300];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        CHECK(access(tmp, F_OK) != 0);
    }
    fp = fopen(path, "rb");
    disk = malloc(b.n + 1);
    CHECK(fp && fread(disk, 1, b.n + 1, fp) == b.n);
    CHECK(memcmp(disk, b.p, b.n) == 0);
    if (fp)
        fclose(fp);
    free(disk);
    CHECK(st_open(path, &f, &err) == FTSB_OK);
    if (f) {
        check_rich(f, pool);
        CHECK_STR(st_name(f), path);
        st_close(f);
    }
    unlink(path);
    rmdir(dir);
    free(b.p);
    st_writer_free(w);
}

/* What other writers may produce and the format allows. */
TEST(reader_accepts_valid_variants)
{
    struct lm_err err;
    struct st_file *f;
    struct buf b;

    /* Header order is not data order; whitespace and newlines anywhere. */
    b = mk("{\n\t\"b\" : { \"data_offsets\" : [ 4 , 8 ] , \"shape\" : [ 1 ] "
           ", \"dtype\" : \"F32\" } ,\r\n \"a\":{\"dtype\":\"F32\","
           "\"shape\":[1],\"data_offsets\":[0,4]}}   \n\t",
           8);
    CHECK(st_open_mem(b.p, b.n, "ws", &f, &err) == FTSB_OK);
    if (f) {
        CHECK_STR(st_tensor_at(f, 0)->name, "a");
        CHECK_STR(st_tensor_at(f, 1)->name, "b");
        st_close(f);
    } else {
        printf("  %s\n", err.msg);
    }
    free(b.p);

    /* Escapes decode: \u00e9, a surrogate pair, \/ and \". */
    b = mk("{\"\\u00e9\\ud83d\\ude00\\/\\\"\":{\"dtype\":\"U8\",\"shape\":[1],"
           "\"data_offsets\":[0,1]},\"__metadata__\":{}}",
           1);
    CHECK(st_open_mem(b.p, b.n, "esc", &f, &err) == FTSB_OK);
    if (f) {
        CHECK_STR(st_tensor_at(f, 0)->name, "\xc3\xa9\xf0\x9f\x98\x80/\"");
        CHECK_INT(st_n_meta(f), 0);
        st_close(f);
    }
    free(b.p);

    /* Zero-size tensors on boundaries, as the reference writer lays
     * them out; two at the same offset; one at the very end. */
    b = mk("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
           "\"e1\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
           "\"e2\":{\"dtype\":\"I64\",\"shape\":[3,0],\"data_offsets\":[4,4]},"
           "\"c\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
           "\"e0\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
           "\"e3\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,8]}}",
           8);
    CHECK(st_open_mem(b.p, b.n, "zeros", &f, &err) == FTSB_OK);
    if (f) {
        CHECK_INT(st_n_tensors(f), 6);
        CHECK_STR(st_tensor_at(f, 0)->name, "e0");
        CHECK_STR(st_tensor_at(f, 5)->name, "e3");
        st_close(f);
    } else {
        printf("  %s\n", err.msg);
    }
    free(b.p);

    /* Empty header, no data. */
    b = mk("{}", 0);
    CHECK(st_open_mem(b.p, b.n, "empty", &f, &err) == FTSB_OK);
    if (f) {
        CHECK_INT(st_n_tensors(f), 0);
        CHECK(st_find(f, "x") == NULL);
        st_close(f);
    }
    free(b.p);
}

/* 16-bit data at an odd offset (after a 1-byte tensor) converts right. */
TEST(unaligned_f16_bf16)
{
    struct lm_err err;
    struct st_file *f;
    struct buf b = mk("{\"p\":{\"dtype\":\"U8\",\"shape\":[1],"
                      "\"data_offsets\":[0,1]},"
                      "\"h\":{\"dtype\":\"F16\",\"shape\":[3],"
                      "\"data_offsets\":[1,7]},"
                      "\"g\":{\"dtype\":\"BF16\",\"shape\":[2],"
                      "\"data_offsets\":[7,11]},"
                      "\"f\":{\"dtype\":\"F32\",\"shape\":[1],"
                      "\"data_offsets\":[11,15]}}",
                      15);
    size_t d = b.n - 15;
    uint16_t h[3] = {lm_f32_to_f16(1.5f), lm_f32_to_f16(-2.0f),
                     lm_f32_to_f16(65504.0f)};
    uint16_t g[2] = {lm_f32_to_bf16(3.0f), lm_f32_to_bf16(-0.25f)};
    float fv = 7.5f, out[3];

    memcpy(b.p + d + 1, h, 6);
    memcpy(b.p + d + 7, g, 4);
    memcpy(b.p + d + 11, &fv, 4);
    CHECK(st_open_mem(b.p, b.n, "odd", &f, &err) == FTSB_OK);
    if (f) {
        CHECK(st_tensor_f32(f, st_find(f, "h"), out, 3, &err) == FTSB_OK);
        CHECK(out[0] == 1.5f && out[1] == -2.0f && out[2] == 65504.0f);
        CHECK(st_tensor_f32(f, st_find(f, "g"), out, 2, &err) == FTSB_OK);
        CHECK(out[0] == 3.0f && out[1] == -0.25f);
        CHECK(st_tensor_f32(f, st_find(f, "f"), out, 1, &err) == FTSB_OK);
        CHECK(out[0] == 7.5f);
        CHECK(st_tensor_f32(f, st_find(f, "h"), out, 2, &err) ==
              FTSB_E_INVALID);
        CHECK(st_tensor_f32(f, st_find(f, "p"), out, 1, &err) ==
              FTSB_E_UNSUPPORTED);
        CHECK_CONTAINS(err.msg, "tensor 'p' has unsupported dtype U8");
        st_close(f);
    }
    free(b.p);
}

/* A file cut anywhere is refused. */
TEST(every_truncation_rejected)
{
    static uint8_t pool[4096];
    struct lm_err err;
    struct st_writer *w = rich_writer(pool, sizeof pool);
    struct buf b;
    int bad = 0;

    CHECK(save_mem(w, &b) == 0);
    for (size_t n = 0; n < b.n; n++) {
        struct st_file *f = NULL;
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, b.p, n);
        if (st_open_mem(copy, n, "cut", &f, &err) != FTSB_E_FORMAT || f)
            bad++;
        st_close(f);
        free(copy);
    }
    CHECK_INT(bad, 0);
    free(b.p);
    st_writer_free(w);
}

/* reliability.md 4.2: 100k tiny tensors must not cost much. */
TEST(many_tensors_parse_fast)
{
    enum { N = 100000 };
    size_t cap = (size_t)N * 80 + 16, len = 0;
    char *h = malloc(cap);
    struct lm_err err;
    struct st_file *f;
    struct buf b;
    struct timespec t0, t1;
    double secs;

    len += (size_t)snprintf(h + len, cap - len, "{");
    /* Listed in reverse so that sorting has work to do. */
    for (int i = N - 1; i >= 0; i--)
        len += (size_t)snprintf(h + len, cap - len,
                                "%s\"t%06d\":{\"dtype\":\"U8\",\"shape\":[1],"
                                "\"data_offsets\":[%d,%d]}",
                                i == N - 1 ? "" : ",", i, i, i + 1);
    len += (size_t)snprintf(h + len, cap - len, "}");
    b = mk(h, N);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(st_open_mem(b.p, b.n, "many", &f, &err) == FTSB_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("  100000 tensors (%zu-byte header) parsed in %.3f s\n", len, secs);
    CHECK(secs < 5.0);
    if (f) {
        CHECK_INT(st_n_tensors(f), N);
        CHECK_STR(st_tensor_at(f, 0)->name, "t000000");
        CHECK(st_find(f, "t054321") && st_find(f, "t054321")->begin == 54321);
        st_close(f);
    }
    free(b.p);
    free(h);
}

TEST(dtype_table)
{
    uint64_t n;

    CHECK_STR(st_dtype_name(ST_BF16), "BF16");
    CHECK(st_dtype_name(ST_N_DTYPES) == NULL);
    CHECK_INT(st_dtype_bits(ST_F4), 4);
    CHECK_INT(st_dtype_bits(ST_F6_E2M3), 6);
    CHECK_INT(st_dtype_bits(ST_C64), 64);
    CHECK(st_dtype_nbytes(ST_F6_E3M2, 4, &n) && n == 3);
    CHECK(!st_dtype_nbytes(ST_F6_E3M2, 3, &n));
    CHECK(!st_dtype_nbytes(ST_U64, UINT64_MAX / 4, &n));
}

TEST(io_errors_and_long_shapes)
{
    static const uint8_t d[1] = {0};
    struct lm_err err;
    struct st_file *f = (struct st_file *)1;
    struct st_writer *w;
    char dir[] = "/tmp/ftsb_st_XXXXXX", tmp[300];
    struct buf b;

    CHECK(st_open("/nonexistent-ftsb/x.safetensors", &f, &err) == FTSB_E_IO);
    CHECK(f == NULL);
    CHECK_CONTAINS(err.msg, "cannot open '/nonexistent-ftsb/x.safetensors'");
    CHECK(mkdtemp(dir) != NULL);
    CHECK(st_open(dir, &f, &err) == FTSB_E_IO);
    CHECK_CONTAINS(err.msg, "is not a regular file");
    /* Renaming onto a folder fails; the .tmp file is removed. */
    st_writer_new(&w, &err);
    st_w_tensor(w, "x", ST_U8, 1, (uint64_t[]){1}, d, 1, &err);
    CHECK(st_w_save(w, dir, &err) == FTSB_E_IO);
    CHECK_CONTAINS(err.msg, "cannot rename");
    snprintf(tmp, sizeof tmp, "%s.tmp", dir);
    CHECK(access(tmp, F_OK) != 0);
    st_writer_free(w);
    rmdir(dir);
    /* Long shapes are shortened in messages. */
    b = mk(T1("U8", "[1,1,1,1,1,1,1,1,1,1,1,2]", 0, 1), 1);
    CHECK(st_open_mem(b.p, b.n, "long", &f, &err) == FTSB_E_FORMAT);
    CHECK_CONTAINS(err.msg, "shape [1, 1, 1, 1, 1, 1, 1, 1, ...] of dtype "
                            "U8 needs 2");
    free(b.p);
}

static int write_seeds(const char *dir)
{
    static uint8_t pool[4096];
    struct st_writer *w = rich_writer(pool, sizeof pool);
    struct buf b;
    char path[4096];
    FILE *fp;

    if (save_mem(w, &b))
        return 1;
    snprintf(path, sizeof path, "%s/rich.safetensors", dir);
    if (!(fp = fopen(path, "wb")))
        return 1;
    fwrite(b.p, 1, b.n, fp);
    fclose(fp);
    free(b.p);
    st_writer_free(w);
    b = mk("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
           "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
           "\"__metadata__\":{\"format\":\"pt\"}}",
           4);
    snprintf(path, sizeof path, "%s/small.safetensors", dir);
    if (!(fp = fopen(path, "wb")))
        return 1;
    fwrite(b.p, 1, b.n, fp);
    fclose(fp);
    free(b.p);
    printf("wrote seeds to %s\n", dir);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
        return write_corpus(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
        return write_seeds(argv[2]);
    RUN(malformed_in_memory);
    RUN(malformed_corpus_on_disk);
    RUN(writer_matches_reference_bytes);
    RUN(writer_sorted_and_deterministic);
    RUN(writer_refuses_bad_input);
    RUN(round_trip_memory_and_disk);
    RUN(reader_accepts_valid_variants);
    RUN(unaligned_f16_bf16);
    RUN(every_truncation_rejected);
    RUN(many_tensors_parse_fast);
    RUN(dtype_table);
    RUN(io_errors_and_long_shapes);
    return test_summary();
}
