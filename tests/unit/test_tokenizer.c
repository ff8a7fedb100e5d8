/*
 * test_tokenizer.c - the tokenizer against llama.cpp.  The 46 test strings
 * of llama.cpp's own tokenizer tests (shared/testdata/vocab) must give
 * exactly its ids, for the Llama SentencePiece vocabulary and the GPT-2
 * byte-level BPE one; the text prompts and greedy continuations of the
 * spm-f32 reference cases (manifest.json) must tokenize and decode to
 * exactly its ids and bytes; small vocabularies built here pin down the
 * merge order, special tokens and the checks made when a vocabulary is
 * loaded.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "gguf.h"
#include "test.h"
#include "tokenizer.h"

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
        p[len] = '\0';
        *n = (size_t)len;
        fclose(fp);
        return p;
    }
    free(p);
    fclose(fp);
    return NULL;
}

/* An open file and its vocabulary, from shared/testdata. */
struct loaded {
    struct gguf_file *f;
    struct tok_vocab *v;
};

static int load_shared(const char *rel, struct loaded *l)
{
    struct lm_err err = {0};
    char path[4096];

    snprintf(path, sizeof path, "%s/testdata/%s", shared_dir(), rel);
    l->f = NULL;
    l->v = NULL;
    if (gguf_open(path, &l->f, &err) || tok_load(l->f, &l->v, &err)) {
        printf("  %s\n", err.msg);
        gguf_close(l->f);
        l->f = NULL;
        return -1;
    }
    return 0;
}

static void unload(struct loaded *l)
{
    tok_free(l->v);
    gguf_close(l->f);
}

static void ids_text(const struct tok_ids *ids, char *out, size_t size)
{
    size_t k = 0;

    out[0] = '\0';
    for (size_t i = 0; i < ids->n && k < size; i++)
        k += (size_t)snprintf(out + k, size - k, " %d", ids->v[i]);
}

/*
 * Runs one .inp/.out pair: strings split on "\n__ggml_vocab_test__\n",
 * one line of ids per string, no BOS/EOS, specials not parsed.  Decoding
 * with TOK_LSTRIP must give the input back.
 */
static void run_vectors(const char *vocab, int *n_ok, int *n_all)
{
    static const char sep[] = "\n__ggml_vocab_test__\n";
    char path[4096], line[16384];
    struct loaded l;
    size_t ni, no;
    char *inp, *outp, *p, *o;

    if (load_shared(vocab, &l)) {
        CHECK(0);
        return;
    }
    snprintf(path, sizeof path, "%s/testdata/%s.inp", shared_dir(), vocab);
    inp = slurp(path, &ni);
    snprintf(path, sizeof path, "%s/testdata/%s.out", shared_dir(), vocab);
    outp = slurp(path, &no);
    CHECK(inp && outp);
    for (p = inp, o = outp; inp && outp;) {
        char *q = strstr(p, sep), *nl = o ? strchr(o, '\n') : NULL;
        struct lm_err err = {0};
        struct tok_ids ids = {0};
        char *dec = NULL;
        size_t dl = 0;
        if (!q || !nl)
            break;
        *nl = '\0';
        CHECK_INT(tok_encode(l.v, p, (size_t)(q - p), 0, &ids, &err), FTSB_OK);
        ids_text(&ids, line, sizeof line);
        (*n_all)++;
        if (strcmp(line, o) == 0)
            (*n_ok)++;
        else
            printf("  %s: \"%.*s\"\n    got %s\n    want %s\n", vocab,
                   (int)(q - p), p, line, o);
        CHECK_INT(tok_decode(l.v, ids.v, ids.n, TOK_LSTRIP, &dec, &dl, &err),
                  FTSB_OK);
        CHECK(dec && dl == (size_t)(q - p) && memcmp(dec, p, dl) == 0);
        free(dec);
        tok_ids_free(&ids);
        p = q + sizeof sep - 1;
        o = nl + 1;
    }
    free(inp);
    free(outp);
    unload(&l);
}

TEST(llama_spm_vectors)
{
    int ok = 0, all = 0;

    if (!shared_dir())
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    run_vectors("vocab/ggml-vocab-llama-spm.gguf", &ok, &all);
    printf("  llama-spm: %d/%d vectors match\n", ok, all);
    CHECK_INT(all, 46);
    CHECK_INT(ok, 46);
}

TEST(gpt2_vectors)
{
    int ok = 0, all = 0;

    if (!shared_dir())
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    run_vectors("vocab/ggml-vocab-gpt-2.gguf", &ok, &all);
    printf("  gpt-2: %d/%d vectors match\n", ok, all);
    CHECK_INT(all, 46);
    CHECK_INT(ok, 46);
}

/* The spm-f32 cases of manifest.json. */
struct ref_case {
    const char *id;
    const char *text;
    bool add_bos;
    int32_t ids[64];
    size_t n;
    int32_t greedy[24];
    const char *greedy_hex;
};

static const struct ref_case ref_cases[] = {
    {"spm-f32-hello",
     "Hello world", true,
     {1, 15043, 3186},
     3,
     {5548, 919, 9764, 25657, 16349, 829, 10205, 2044, 5466, 31821, 4614, 9551, 12041, 22598, 29486, 29486, 29486, 29486, 22081, 9635, 12121, 28583, 25657, 13217},
     "6f73746f696374207061c3ad7320737065616b657273657276653c2f2073747275676720777269742073696d706ce0a4bc616b6f2070726f706f7320d0bad0b0d182d0be2068697a6f2053545220535452205354522053545220c48c65736b2053657276636c657276c3a4737420737065616b65722e7e"},
    {"spm-f32-fox",
     "The quick brown fox jumps over the lazy dog.", true,
     {1, 450, 4996, 17354, 1701, 29916, 432, 17204, 975, 278, 17366, 11203, 29889},
     13,
     {6533, 20894, 6676, 28247, 4219, 7036, 26034, 24994, 917, 30536, 6105, 23281, 27036, 23837, 19941, 241, 4111, 25143, 15185, 15247, 10543, 2399, 6229, 10070},
     "616d656e7469205065726d207365696e6520696e6465785061746855524c706f7369746f7279204461626569204c616e632054616773e284a220d09bd0b820766572736520546f6d6d7920c3a9636f6e6f6d204c656674ee2042656e6768616e20437a20507572d0b5d0b4d0b520d182d0b564696d69656e7473"},
    {"spm-f32-chat",
     "[INST] <<SYS>>\nYou are a helpful, respectful and honest assistant.\n<</SYS>>\n\nName three primary colors and one fruit of each color. [/INST]", true,
     {1, 518, 25580, 29962, 3532, 14816, 29903, 6778, 13, 3492, 526, 263, 8444, 29892, 3390, 1319, 322, 15993, 20255, 29889, 13, 29966, 829, 14816, 29903, 6778, 13, 13, 1170, 2211, 7601, 11955, 322, 697, 15774, 310, 1269, 2927, 29889, 518, 29914, 25580, 29962},
     43,
     {23743, 22079, 12303, 28237, 23130, 23743, 23743, 23743, 3731, 17520, 1240, 4242, 31084, 31622, 26228, 9106, 25846, 13938, 13505, 31649, 17861, 19074, 31321, 9146},
     "205665726e20636f6d6d616e6465722048617272204265726c2052757468205665726e205665726e205665726e2073762073796d706174686e692063616d70e68c87e3819420636f6d656479706c61796572204d6170736c617073653c5ce997a8204346d0bfd0b0d181e4b99d20696e74656e646564"},
    {"spm-f32-unicode",
     "Gr\xc3""\xbc""\xc3""\x9f""e aus K\xc3""\xb6""ln! \xf0""\x9f""\xa6""\x99"" na\xc3""\xaf""ve caf\xc3""\xa9"" \xe2""\x80""\x94"" 12345 \xc2""\xbd"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\ttab  two spaces\nnew line", true,
     {1, 1632, 29993, 5831, 1770, 20763, 29991, 29871, 243, 162, 169, 156, 1055, 30085, 345, 274, 28059, 813, 29871, 29896, 29906, 29941, 29946, 29945, 29871, 30226, 29871, 30325, 30346, 30968, 12, 3891, 29871, 1023, 8162, 13, 1482, 1196},
     38,
     {22866, 13644, 4314, 28577, 12054, 16075, 7338, 3889, 7817, 18469, 6938, 6605, 8824, 19989, 30531, 30531, 29195, 28394, 4641, 1735, 7158, 22141, 6522, 12603},
     "2044696120636f6d706c657869747961726965734e45574f524d206f7264656e2045787420667265652043656e74657220636f7665727320436f6d70616e79736f727446616c736520657374617465d1a3d1a3207175616e206d656c6c616e72797074206368616e6765656e64656e63696573444f4d603f205475"},
    {"spm-f32-story",
     "Once upon a time, in a quiet village at the edge of a pine forest, an old clockmaker repaired watches for his neighbours. One winter day a child brought him a broken music box.", true,
     {1, 9038, 2501, 263, 931, 29892, 297, 263, 11813, 5720, 472, 278, 7636, 310, 263, 282, 457, 13569, 29892, 385, 2030, 12006, 28107, 1634, 29874, 2859, 6505, 267, 363, 670, 22092, 2470, 29889, 3118, 13851, 2462, 263, 2278, 6296, 1075, 263, 9391, 4696, 3800, 29889},
     45,
     {25019, 23940, 21274, 22938, 27216, 30013, 6595, 15241, 28211, 1956, 22598, 16910, 9458, 7582, 17432, 22684, 30951, 22236, 10505, 7073, 6522, 28973, 6175, 22920},
     "2e3d2063726561747572652064656661756c74732044726f20d0bfd0b5d180d0b8d0bed09f4c696e6b206c61756e63686564d199d0b8d186d1962068697a6f20d0bed0bfd188d182d0b87d242463757420636c6f6e6520656e7465727461696ee5afba2044454641554c542067c3a920447572603f20d0bdd0b0d186d196d0bed0bdd0b0d0bbd18c2050726f6620636f6e66696775726174696f6e73"},
    {"spm-f32-nobos",
     " a leading space and no BOS", false,
     {29871, 263, 8236, 2913, 322, 694, 350, 3267},
     8,
     {620, 25683, 424, 2359, 30126, 18052, 9635, 29498, 1329, 22605, 28690, 767, 3790, 13454, 31773, 15561, 29763, 11280, 29080, 16967, 1841, 25458, 1329, 16056},
     "2072657320d181d0bad0bbd0b0d0b4d183616e74d180d18fc38e206861766574205365727620506572696f646573656e746c696b61617a6172206d616e3d7b506c6179e7b693207265696e2074616c6573656e746c6963686176616e2070617472692072c3a920456d696c6573656e74d199d0b0d188d19ad0b5"},
};

static void hex(const char *s, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", (unsigned char)s[i]);
    out[2 * n] = '\0';
}

TEST(reference_prompts_and_continuations)
{
    struct loaded l;

    if (!shared_dir())
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    if (load_shared("reference/models/spm-f32.gguf", &l)) {
        CHECK(0);
        return;
    }
    for (size_t i = 0; i < sizeof ref_cases / sizeof ref_cases[0]; i++) {
        const struct ref_case *c = &ref_cases[i];
        struct lm_err err = {0};
        struct tok_ids ids = {0};
        char *dec = NULL, got[1024];
        size_t dl = 0;
        CHECK_INT(tok_encode(l.v, c->text, strlen(c->text),
                             c->add_bos ? TOK_ADD_SPECIAL : 0, &ids, &err),
                  FTSB_OK);
        CHECK_INT(ids.n, c->n);
        CHECK(ids.n == c->n && memcmp(ids.v, c->ids, c->n * 4) == 0);
        /* pieces concatenated as they are, no space stripped */
        CHECK_INT(tok_decode(l.v, c->greedy, 24, 0, &dec, &dl, &err), FTSB_OK);
        hex(dec, dl, got);
        if (strcmp(got, c->greedy_hex) != 0)
            printf("  %s: continuation bytes differ\n", c->id);
        CHECK_STR(got, c->greedy_hex);
        free(dec);
        tok_ids_free(&ids);
    }
    unload(&l);
}

TEST(spm_specials_and_flags)
{
    struct loaded l;
    struct lm_err err = {0};
    struct tok_ids ids = {0};
    char line[512], *dec;
    size_t dl;

    if (!shared_dir())
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    if (load_shared("vocab/ggml-vocab-llama-spm.gguf", &l)) {
        CHECK(0);
        return;
    }
    CHECK_INT(tok_n_vocab(l.v), 32000);
    CHECK_INT(tok_bos(l.v), 1);
    CHECK_INT(tok_eos(l.v), 2);
    CHECK_INT(tok_unk(l.v), 0);
    CHECK_INT(tok_pad(l.v), -1);
    CHECK(tok_add_bos(l.v) && !tok_add_eos(l.v));
    CHECK(tok_is_eog(l.v, 2) && !tok_is_eog(l.v, 1));
    CHECK_INT(tok_type(l.v, 3), TOK_TYPE_BYTE);
    CHECK_INT(tok_find(l.v, "\xe2\x96\x81Hello", 8), 15043);

    tok_encode(l.v, "<s>Hello</s>", 12, TOK_PARSE_SPECIAL, &ids, &err);
    ids_text(&ids, line, sizeof line);
    CHECK_STR(line, " 1 15043 2");
    ids.n = 0;
    tok_encode(l.v, "<s>Hello</s>", 12, 0, &ids, &err);
    for (size_t i = 0; i < ids.n; i++)
        CHECK(ids.v[i] != 1 && ids.v[i] != 2);
    ids.n = 0;
    /* after a special token the next text gets the dummy prefix again */
    tok_encode(l.v, "Hi</s>Hi", 8, TOK_ADD_SPECIAL | TOK_PARSE_SPECIAL, &ids,
               &err);
    ids_text(&ids, line, sizeof line);
    CHECK_STR(line, " 1 6324 2 6324");
    ids.n = 0;
    tok_encode(l.v, "Hello", 5, TOK_AFTER_TEXT, &ids, &err);
    ids_text(&ids, line, sizeof line);
    CHECK_STR(line, " 10994");
    ids.n = 0;
    tok_encode(l.v, "", 0, TOK_ADD_SPECIAL, &ids, &err);
    ids_text(&ids, line, sizeof line);
    CHECK_STR(line, " 1");

    /* decoding: BOS removal, lstrip, unparse, the byte tokens of a llama */
    {
        const int32_t seq[] = {1, 15043, 3186, 2};
        const int32_t llama[] = {29871, 243, 162, 169, 156};
        CHECK_INT(tok_decode(l.v, seq, 4, 0, &dec, &dl, &err), FTSB_OK);
        CHECK_STR(dec, " Hello world");
        free(dec);
        CHECK_INT(tok_decode(l.v, seq, 4, TOK_UNPARSE_SPECIAL, &dec, &dl, &err),
                  FTSB_OK);
        CHECK_STR(dec, "<s> Hello world</s>");
        free(dec);
        CHECK_INT(tok_decode(l.v, seq + 1, 2, TOK_LSTRIP, &dec, &dl, &err),
                  FTSB_OK);
        CHECK_STR(dec, "Hello world");
        free(dec);
        /* a removed BOS keeps the space, as llama_detokenize does */
        CHECK_INT(tok_decode(l.v, seq, 4,
                             TOK_REMOVE_SPECIAL | TOK_LSTRIP |
                                 TOK_UNPARSE_SPECIAL,
                             &dec, &dl, &err),
                  FTSB_OK);
        CHECK_STR(dec, " Hello world</s>");
        free(dec);
        CHECK_INT(tok_decode(l.v, llama, 5, 0, &dec, &dl, &err), FTSB_OK);
        CHECK_STR(dec, " \xf0\x9f\xa6\x99");
        free(dec);
        CHECK_INT(tok_decode(l.v, (const int32_t[]){32000}, 1, 0, &dec, &dl,
                             &err),
                  FTSB_E_INVALID);
        CHECK_CONTAINS(err.msg, "token id 32000 is outside the vocabulary");
    }
    tok_ids_free(&ids);
    unload(&l);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) +
           (double)(t1.tv_nsec - t0->tv_nsec) * 1e-9;
}

/*
 * Throughput, printed: rows one at a time as a trainer tokenizes them,
 * then the same bytes as one text (heap-bound: n log n merges with a heap
 * larger than the caches).  The bound only catches O(n^2) behaviour.
 */
TEST(speed)
{
    struct loaded l;
    struct lm_err err = {0};
    struct tok_ids ids = {0};
    static const char para[] =
        "Below is an instruction that describes a task. Write a response "
        "that appropriately completes the request.\n\n### Instruction:\n"
        "Give three tips for staying healthy.\n\n### Response:\n1. Eat a "
        "balanced diet and make sure to include plenty of fruits and "
        "vegetables. 2. Exercise regularly to keep your body active and "
        "strong. 3. Get enough sleep and maintain a consistent sleep "
        "schedule. ";
    size_t n = 2000, len = strlen(para);
    char *text = malloc(n * len + 1);
    struct timespec t0;
    double rows, whole;

    if (!shared_dir()) {
        free(text);
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    }
    if (load_shared("vocab/ggml-vocab-llama-spm.gguf", &l)) {
        free(text);
        CHECK(0);
        return;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(text + i * len, para, len);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(tok_encode(l.v, text + i * len, len, TOK_ADD_SPECIAL, &ids,
                             &err),
                  FTSB_OK);
    rows = seconds_since(&t0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(tok_encode(l.v, text, n * len, 0, &ids, &err), FTSB_OK);
    whole = seconds_since(&t0);
    printf("  %zu rows of %zu bytes: %.1f MB/s; as one text: %.1f MB/s\n", n,
           len, n * len / rows / 1e6, n * len / whole / 1e6);
    CHECK(rows + whole < 30.0);
    free(text);
    tok_ids_free(&ids);
    unload(&l);
}

/* ---- small vocabularies built here ------------------------------------ */

struct tok_spec {
    const char *const *tokens;
    size_t n;
    const float *scores;
    const int32_t *types;
};

/* <unk> <s> </s>, the 256 byte tokens, then extra (normal, or per types). */
static uint8_t *make_vocab(const char *const *extra, size_t n_extra,
                           const float *scores, const int32_t *types,
                           size_t *size, void (*patch)(struct gguf_writer *))
{
    size_t n = 3 + 256 + n_extra;
    struct gguf_str *t = calloc(n, sizeof *t);
    float *sc = calloc(n, sizeof *sc);
    int32_t *ty = calloc(n, sizeof *ty);
    char (*bytes)[7] = calloc(256, 7);
    struct gguf_writer *w = NULL;
    struct lm_err err = {0};
    uint8_t *mem = NULL;

    t[0] = (struct gguf_str){"<unk>", 5};
    t[1] = (struct gguf_str){"<s>", 3};
    t[2] = (struct gguf_str){"</s>", 4};
    ty[0] = 2;
    ty[1] = ty[2] = 3;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], 7, "<0x%02X>", b);
        t[3 + b] = (struct gguf_str){bytes[b], 6};
        ty[3 + b] = 6;
    }
    for (size_t i = 0; i < n_extra; i++) {
        t[259 + i] = (struct gguf_str){extra[i], strlen(extra[i])};
        sc[259 + i] = scores ? scores[i] : 0;
        ty[259 + i] = types ? types[i] : 1;
    }
    gguf_writer_new(&w, &err);
    gguf_w_str(w, "tokenizer.ggml.model", "llama", 5, &err);
    gguf_w_arr_str(w, "tokenizer.ggml.tokens", t, n, &err);
    gguf_w_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, sc, n, &err);
    gguf_w_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, ty, n, &err);
    if (patch)
        patch(w);
    gguf_w_save_mem(w, &mem, size, &err);
    gguf_writer_free(w);
    free(t);
    free(sc);
    free(ty);
    free(bytes);
    return mem;
}

struct built {
    uint8_t *mem;
    struct gguf_file *f;
    struct tok_vocab *v;
};

static ftsb_status build(struct built *b, const char *const *extra,
                         size_t n_extra, const float *scores,
                         const int32_t *types,
                         void (*patch)(struct gguf_writer *),
                         struct lm_err *err)
{
    size_t size = 0;
    ftsb_status s;

    b->f = NULL;
    b->v = NULL;
    b->mem = make_vocab(extra, n_extra, scores, types, &size, patch);
    if ((s = gguf_open_mem(b->mem, size, "vocab", &b->f, err)))
        return s;
    return tok_load(b->f, &b->v, err);
}

static void unbuild(struct built *b)
{
    tok_free(b->v);
    gguf_close(b->f);
    free(b->mem);
}

static void encode_str(const struct tok_vocab *v, const char *text,
                       unsigned flags, char *line, size_t size)
{
    struct lm_err err = {0};
    struct tok_ids ids = {0};

    CHECK_INT(tok_encode(v, text, strlen(text), flags, &ids, &err), FTSB_OK);
    ids_text(&ids, line, size);
    tok_ids_free(&ids);
}

#define SP "\xe2\x96\x81"

TEST(merge_order)
{
    static const char *const extra[] = {SP, "a", "b", "aa", SP "a",
                                        "ab", SP "ab"};
    static const float scores[] = {0, 0, 0, -1, -1, -2, -0.5f};
    struct lm_err err = {0};
    struct built b;
    char line[256];

    CHECK_INT(build(&b, extra, 7, scores, NULL, NULL, &err), FTSB_OK);
    if (!b.v) {
        printf("  %s\n", err.msg);
        unbuild(&b);
        return;
    }
    /* "\u2581a" (-1) first, then "\u2581ab" (-0.5) beats "ab" (-2) */
    encode_str(b.v, "abab", 0, line, sizeof line);
    CHECK_STR(line, " 265 264");
    /* equal scores: the leftmost pair merges first */
    encode_str(b.v, "aaa", TOK_AFTER_TEXT, line, sizeof line);
    CHECK_STR(line, " 262 260");
    /* no token for "c": its byte token; unknown character: its bytes */
    encode_str(b.v, "c", TOK_AFTER_TEXT, line, sizeof line);
    CHECK_STR(line, " 102");
    encode_str(b.v, "\xc3\xa9", TOK_AFTER_TEXT, line, sizeof line);
    CHECK_STR(line, " 198 172");
    /* invalid UTF-8 falls back to bytes too */
    encode_str(b.v, "\xff\xe2", TOK_AFTER_TEXT, line, sizeof line);
    CHECK_STR(line, " 258 229");
    unbuild(&b);
}

TEST(user_defined_tokens_always_split)
{
    static const char *const extra[] = {SP, "<|im_start|>", "x", "[INST]"};
    static const int32_t types[] = {1, 4, 1, 3};
    struct lm_err err = {0};
    struct built b;
    char line[256];

    CHECK_INT(build(&b, extra, 4, NULL, types, NULL, &err), FTSB_OK);
    if (!b.v) {
        unbuild(&b);
        return;
    }
    encode_str(b.v, "x<|im_start|>x", 0, line, sizeof line);
    CHECK_STR(line, " 259 261 260 259 261");
    /* a control token is text unless parsing specials is asked for */
    encode_str(b.v, "[INST]", TOK_PARSE_SPECIAL, line, sizeof line);
    CHECK_STR(line, " 262");
    encode_str(b.v, "[INST]", TOK_AFTER_TEXT, line, sizeof line);
    CHECK_STR(line, " 94 76 81 86 87 96");
    unbuild(&b);
}

static void p_model_bert(struct gguf_writer *w)
{
    gguf_w_str(w, "tokenizer.ggml.model", "bert", 4, NULL);
}

static void p_bos_range(struct gguf_writer *w)
{
    gguf_w_u32(w, "tokenizer.ggml.bos_token_id", 99999, NULL);
}

static void p_short_scores(struct gguf_writer *w)
{
    const float sc[] = {0, 0};
    gguf_w_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, sc, 2, NULL);
}

static void p_scores_i8(struct gguf_writer *w)
{
    int8_t sc[259] = {0};
    gguf_w_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_INT8, sc, 259, NULL);
}

static void p_no_bos(struct gguf_writer *w)
{
    gguf_w_bool(w, "tokenizer.ggml.add_bos_token", true, NULL);
    gguf_w_i32(w, "tokenizer.ggml.bos_token_id", -1, NULL);
}

static void p_tokens_u8(struct gguf_writer *w)
{
    const uint8_t x[] = {1, 2};
    gguf_w_arr(w, "tokenizer.ggml.tokens", GGUF_TYPE_UINT8, x, 2, NULL);
}

static void p_nul_token(struct gguf_writer *w)
{
    const struct gguf_str t[] = {{"<unk>", 5}, {"a\0b", 3}};
    const float sc[] = {0, 0};
    const int32_t ty[] = {2, 1};

    gguf_w_arr_str(w, "tokenizer.ggml.tokens", t, 2, NULL);
    gguf_w_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, sc, 2, NULL);
    gguf_w_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, ty, 2, NULL);
}

struct bad_vocab {
    const char *name;
    const char *extra;
    int32_t type;
    void (*patch)(struct gguf_writer *);
    ftsb_status code;
    const char *expect;
};

static const struct bad_vocab bad_vocabs[] = {
    {"model", NULL, 1, p_model_bert, FTSB_E_UNSUPPORTED,
     "unsupported tokenizer model 'bert'"},
    {"dup", "<s>", 1, NULL, FTSB_E_FORMAT,
     "duplicate token '<s>' (ids 1 and 259)"},
    {"byte_neg", "<0x-1>", 6, NULL, FTSB_E_FORMAT,
     "byte token 259 '<0x-1>' is not of the form <0xHH>"},
    {"byte_zz", "<0xZZ>", 6, NULL, FTSB_E_FORMAT, "is not of the form <0xHH>"},
    {"type", "x", 9, NULL, FTSB_E_FORMAT,
     "token 259 has type 9 (0 to 6 allowed)"},
    {"type_neg", "x", -1, NULL, FTSB_E_FORMAT, "token 259 has type -1"},
    {"nul", NULL, 1, p_nul_token, FTSB_E_FORMAT,
     "token 1 contains a NUL byte"},
    {"utf8", "a\xff", 1, NULL, FTSB_E_FORMAT,
     "token 259 is not valid UTF-8"},
    {"bos_range", "x", 1, p_bos_range, FTSB_E_FORMAT,
     "tokenizer.ggml.bos_token_id is 99999, outside the 260 tokens"},
    {"short_scores", "x", 1, p_short_scores, FTSB_E_FORMAT,
     "tokenizer.ggml.scores must be an array of at least 260"},
    {"scores_i8", NULL, 1, p_scores_i8, FTSB_E_FORMAT,
     "tokenizer.ggml.scores must be an array"},
    {"no_bos", "x", 1, p_no_bos, FTSB_E_FORMAT,
     "tokenizer.ggml.bos_token_id is -1"},
    {"tokens_u8", NULL, 1, p_tokens_u8, FTSB_E_FORMAT,
     "key 'tokenizer.ggml.tokens' is an array of u8, expected an array of "
     "str"},
};

TEST(malformed_vocabularies)
{
    for (size_t i = 0; i < sizeof bad_vocabs / sizeof bad_vocabs[0]; i++) {
        const struct bad_vocab *c = &bad_vocabs[i];
        const char *extra[1] = {c->extra};
        struct lm_err err = {0};
        struct built b;
        ftsb_status s = build(&b, extra, c->extra ? 1 : 0, NULL, &c->type,
                              c->patch, &err);
        if (s != c->code)
            printf("  case %s: %d %s\n", c->name, (int)s, err.msg);
        CHECK_INT(s, c->code);
        CHECK(b.v == NULL);
        CHECK_CONTAINS(err.msg, c->expect);
        unbuild(&b);
    }
}

static void p_no_model(struct gguf_writer *w)
{
    (void)w;
}

TEST(no_tokenizer)
{
    struct gguf_writer *w = NULL;
    struct lm_err err = {0};
    struct gguf_file *f = NULL;
    struct tok_vocab *v = NULL;
    uint8_t *mem = NULL;
    size_t size = 0;

    p_no_model(NULL);
    gguf_writer_new(&w, &err);
    gguf_w_str(w, "general.architecture", "llama", 5, &err);
    gguf_w_save_mem(w, &mem, &size, &err);
    gguf_writer_free(w);
    CHECK_INT(gguf_open_mem(mem, size, "bare", &f, &err), FTSB_OK);
    CHECK_INT(tok_load(f, &v, &err), FTSB_E_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "'bare': the file has no tokenizer");
    gguf_close(f);
    free(mem);
}

/* Empty token texts are kept addressable as llama.cpp names them. */
TEST(empty_token_and_eot)
{
    static const char *const extra[] = {"", "<|im_end|>"};
    static const int32_t types[] = {1, 3};
    struct lm_err err = {0};
    struct built b;

    CHECK_INT(build(&b, extra, 2, NULL, types, NULL, &err), FTSB_OK);
    if (b.v) {
        CHECK_STR(tok_text(b.v, 259), "[EMPTY_259]");
        CHECK_INT(tok_eot(b.v), 260);
        CHECK(tok_is_eog(b.v, 260) && tok_is_eog(b.v, 2));
        CHECK(tok_text(b.v, 261) == NULL);
    }
    unbuild(&b);
}

/* GPT-2's printable stand-in for byte c, as UTF-8. */
static size_t byte_char(int c, char *out)
{
    int cp = c;

    if (!((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE)) {
        cp = 256;
        for (int b = 0; b < c; b++)
            cp += !((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
                    b >= 0xAE);
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/*
 * The Llama-3 pre-tokenizer: every word the reference regex (Python's
 * "regex" module with llama.cpp's pattern) finds is made a token, and
 * Llama-3 looks whole words up before merging, so the ids show exactly
 * where the words were cut.
 */
TEST(llama3_pre_tokenizer)
{
    /* each text as the words the reference regex cuts it into */
    static const char *const texts[][9] = {
        {"Hello", " world", " ", "123", "45", "\n\n", " ", " x"},
        {"I", "'M", " here", ",", " you", "'re", "?!\r\n", "\tok"},
        {"na\xc3\xafve", " \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", " ",
         "\xc2\xbd" "3", " ", "\xc2\xa0" "end", "  "},
    };
    enum { N_TEXT = sizeof texts / sizeof texts[0] };
    static char chars[256][2], mapped[N_TEXT * 9][64];
    struct gguf_str t[256 + N_TEXT * 9], m[] = {{"a b", 3}};
    struct gguf_writer *w = NULL;
    struct lm_err err = {0};
    struct built b = {0};
    size_t size = 0, n = 256;

    for (int c = 0; c < 256; c++)
        t[c] = (struct gguf_str){chars[c], byte_char(c, chars[c])};
    for (size_t i = 0; i < N_TEXT; i++) {
        for (size_t j = 0; texts[i][j]; j++) {
            const char *word = texts[i][j];
            size_t k = 0;
            bool dup = false;
            if (strlen(word) == 1)
                continue; /* a byte token already */
            for (const char *p = word; *p; p++)
                k += byte_char((unsigned char)*p, mapped[n - 256] + k);
            for (size_t d = 256; d < n; d++)
                dup |= t[d].len == k && !memcmp(t[d].ptr, mapped[n - 256], k);
            if (!dup) {
                t[n] = (struct gguf_str){mapped[n - 256], k};
                n++;
            }
        }
    }
    gguf_writer_new(&w, &err);
    gguf_w_str(w, "tokenizer.ggml.model", "gpt2", 4, &err);
    gguf_w_str(w, "tokenizer.ggml.pre", "llama-bpe", 9, &err);
    gguf_w_arr_str(w, "tokenizer.ggml.tokens", t, n, &err);
    gguf_w_arr_str(w, "tokenizer.ggml.merges", m, 1, &err);
    gguf_w_u32(w, "tokenizer.ggml.bos_token_id", 0, &err);
    gguf_w_save_mem(w, &b.mem, &size, &err);
    gguf_writer_free(w);
    CHECK_INT(gguf_open_mem(b.mem, size, "llama3", &b.f, &err), FTSB_OK);
    CHECK_INT(tok_load(b.f, &b.v, &err), FTSB_OK);
    if (!b.v) {
        printf("  %s\n", err.msg);
        unbuild(&b);
        return;
    }
    CHECK(tok_add_bos(b.v)); /* Llama 3 adds BOS by default */
    for (size_t i = 0; i < N_TEXT; i++) {
        struct tok_ids ids = {0};
        char text[128] = "";
        size_t nw = 0;
        for (size_t j = 0; texts[i][j]; j++, nw++)
            strcat(text, texts[i][j]);
        CHECK_INT(tok_encode(b.v, text, strlen(text), 0, &ids, &err), FTSB_OK);
        CHECK_INT(ids.n, nw);
        for (size_t j = 0; j < nw && j < ids.n; j++) {
            char want[64];
            size_t k = 0;
            for (const char *p = texts[i][j]; *p; p++)
                k += byte_char((unsigned char)*p, want + k);
            if (tok_find(b.v, want, k) != ids.v[j])
                printf("  text %zu: word %zu is not '%s'\n", i, j,
                       texts[i][j]);
            CHECK_INT(ids.v[j], tok_find(b.v, want, k));
        }
        tok_ids_free(&ids);
    }
    unbuild(&b);
}

TEST(unsupported_pre_tokenizer)
{
    struct gguf_writer *w = NULL;
    struct lm_err err = {0};
    struct built b = {0};
    struct gguf_str t[] = {{"a", 1}}, m[] = {{"a a", 3}};
    size_t size = 0;

    gguf_writer_new(&w, &err);
    gguf_w_str(w, "tokenizer.ggml.model", "gpt2", 4, &err);
    gguf_w_str(w, "tokenizer.ggml.pre", "qwen2", 5, &err);
    gguf_w_arr_str(w, "tokenizer.ggml.tokens", t, 1, &err);
    gguf_w_arr_str(w, "tokenizer.ggml.merges", m, 1, &err);
    gguf_w_save_mem(w, &b.mem, &size, &err);
    gguf_writer_free(w);
    CHECK_INT(gguf_open_mem(b.mem, size, "qwen", &b.f, &err), FTSB_OK);
    CHECK_INT(tok_load(b.f, &b.v, &err), FTSB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "unsupported pre-tokenizer 'qwen2' for tokenizer "
                            "model 'gpt2'");
    unbuild(&b);
}

int main(void)
{
    RUN(llama_spm_vectors);
    RUN(gpt2_vectors);
    RUN(reference_prompts_and_continuations);
    RUN(spm_specials_and_flags);
    RUN(speed);
    RUN(merge_order);
    RUN(user_defined_tokens_always_split);
    RUN(malformed_vocabularies);
    RUN(no_tokenizer);
    RUN(empty_token_and_eot);
    RUN(llama3_pre_tokenizer);
    RUN(unsupported_pre_tokenizer);
    return test_summary();
}
