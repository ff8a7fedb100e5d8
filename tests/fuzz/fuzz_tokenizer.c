/*
 * fuzz_tokenizer.c - libFuzzer target for the tokenizers and the chat
 * templates, over two small vocabularies built in memory at start-up (a
 * SentencePiece one with merges, byte tokens and special tokens, and a
 * byte-level BPE one), so the target needs no files.  Input: one byte of
 * options, then text.  Checked properties (a failure traps):
 *   - every id is inside the vocabulary;
 *   - SentencePiece: decode(encode(text)) == text for valid UTF-8 when
 *     no special token is parsed or split out and the text has no U+2581
 *     (with invalid UTF-8 a lead byte can swallow the U+2581 that replaced
 *     a space, as in llama.cpp);
 *   - byte-level BPE: the same for valid UTF-8 text;
 *   - chats (the text cut into messages at NUL bytes) render and
 *     tokenize, and the assistant mask has one entry per id.
 */
#define _GNU_SOURCE 1

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_template.h"
#include "gguf.h"
#include "tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SP "\xe2\x96\x81"

struct vocab {
    uint8_t *mem;
    struct gguf_file *f;
    struct tok_vocab *v;
};

static struct vocab spm, bpe;

static void open_vocab(struct vocab *x, struct gguf_writer *w)
{
    struct lm_err err;
    size_t size = 0;

    if (gguf_w_save_mem(w, &x->mem, &size, &err) ||
        gguf_open_mem(x->mem, size, "fuzz-vocab", &x->f, &err) ||
        tok_load(x->f, &x->v, &err)) {
        fprintf(stderr, "fuzz_tokenizer: %s\n", err.msg);
        abort(); /* a broken harness, not a finding */
    }
    gguf_writer_free(w);
}

static void build_spm(void)
{
    static const char *const extra[] = {
        SP, "e", "t", "h", "a", "i", "n", "g", "s", " ", "\xc3\xa9",
        SP "t", "th", SP "th", "he", SP "the", "in", "ing", SP "a",
        SP SP, "<|u|>", "[INST]", "<|im_start|>", "<|im_end|>",
        "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"};
    static const int32_t types[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                    1, 1, 1, 1, 1, 1, 1, 1,
                                    1, 4, 3, 3, 3, 3, 3, 3};
    enum { N_EXTRA = sizeof extra / sizeof extra[0] };
    struct gguf_str t[3 + 256 + N_EXTRA];
    float sc[3 + 256 + N_EXTRA];
    int32_t ty[3 + 256 + N_EXTRA];
    static char bytes[256][7];
    struct gguf_writer *w = NULL;
    struct lm_err err;
    size_t n = 0;

    t[n] = (struct gguf_str){"<unk>", 5}, ty[n] = 2, sc[n++] = 0;
    t[n] = (struct gguf_str){"<s>", 3}, ty[n] = 3, sc[n++] = 0;
    t[n] = (struct gguf_str){"</s>", 4}, ty[n] = 3, sc[n++] = 0;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], 7, "<0x%02X>", b);
        t[n] = (struct gguf_str){bytes[b], 6}, ty[n] = 6, sc[n++] = 0;
    }
    for (int i = 0; i < N_EXTRA; i++) {
        t[n] = (struct gguf_str){extra[i], strlen(extra[i])};
        ty[n] = types[i];
        sc[n++] = -(float)(i % 7);
    }
    gguf_writer_new(&w, &err);
    gguf_w_str(w, "tokenizer.ggml.model", "llama", 5, &err);
    gguf_w_arr_str(w, "tokenizer.ggml.tokens", t, n, &err);
    gguf_w_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, sc, n, &err);
    gguf_w_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, ty, n, &err);
    open_vocab(&spm, w);
}

/* GPT-2's printable stand-in for byte c, as UTF-8. */
static size_t byte_char(int c, char *out)
{
    int cp = c, k = 256;

    if (!((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE)) {
        for (int b = 0; b < c; b++) {
            if (!((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
                  b >= 0xAE))
                k++;
        }
        cp = k;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

static void build_bpe(void)
{
    static const char *const extra[] = {"\xc4\xa0t", "th", "\xc4\xa0th", "he",
                                        "the", "\xc4\xa0the", "in", "ing",
                                        "<|endoftext|>"};
    static const char *const merges[] = {"\xc4\xa0 t", "t h", "\xc4\xa0t h",
                                         "h e", "th e", "\xc4\xa0th e",
                                         "i n", "in g"};
    enum { N_EXTRA = sizeof extra / sizeof extra[0], N_M = 8 };
    static char chars[256][2];
    struct gguf_str t[256 + N_EXTRA], m[N_M];
    int32_t ty[256 + N_EXTRA];
    struct gguf_writer *w = NULL;
    struct lm_err err;
    size_t n = 0;

    for (int b = 0; b < 256; b++) {
        size_t len = byte_char(b, chars[b]);
        t[n] = (struct gguf_str){chars[b], len}, ty[n++] = 1;
    }
    for (int i = 0; i < N_EXTRA; i++) {
        t[n] = (struct gguf_str){extra[i], strlen(extra[i])};
        ty[n++] = i == N_EXTRA - 1 ? 3 : 1;
    }
    for (int i = 0; i < N_M; i++)
        m[i] = (struct gguf_str){merges[i], strlen(merges[i])};
    gguf_writer_new(&w, &err);
    gguf_w_str(w, "tokenizer.ggml.model", "gpt2", 4, &err);
    gguf_w_str(w, "tokenizer.ggml.pre", "gpt-2", 5, &err);
    gguf_w_arr_str(w, "tokenizer.ggml.tokens", t, n, &err);
    gguf_w_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, ty, n, &err);
    gguf_w_arr_str(w, "tokenizer.ggml.merges", m, N_M, &err);
    gguf_w_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)n - 1, &err);
    open_vocab(&bpe, w);
}

static void check_ids(const struct tok_vocab *v, const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= tok_n_vocab(v))
            __builtin_trap();
    }
}

/* Text SentencePiece cannot give back: a user-defined token (split out,
 * so the text after it gets a dummy prefix) or U+2581 itself (decoded as
 * a space). */
static bool spm_lossy(const uint8_t *t, size_t n)
{
    static const char *const s[] = {"<|u|>", SP};

    for (size_t i = 0; i < sizeof s / sizeof *s; i++) {
        if (memmem(t, n, s[i], strlen(s[i])))
            return true;
    }
    return false;
}

static void round_trip(const struct vocab *x, const uint8_t *t, size_t n,
                       unsigned flags, bool must_match)
{
    struct lm_err err;
    struct tok_ids ids = {0};
    char *out = NULL;
    size_t len = 0;

    if (tok_encode(x->v, (const char *)t, n, flags, &ids, &err)) {
        tok_ids_free(&ids);
        return;
    }
    check_ids(x->v, ids.v, ids.n);
    if (tok_decode(x->v, ids.v, ids.n, TOK_LSTRIP | TOK_UNPARSE_SPECIAL, &out,
                   &len, &err) == FTSB_OK) {
        if (must_match && (len != n || memcmp(out, t, n) != 0))
            __builtin_trap();
        free(out);
    }
    tok_ids_free(&ids);
}

static void chat(const struct vocab *x, const uint8_t *t, size_t n,
                 unsigned opt)
{
    static const char *const roles[] = {"system", "user", "assistant"};
    ftsb_message m[8];
    char *copy = malloc(n + 1), *p;
    size_t k = 0;
    struct lm_err err;
    struct tmpl_tokens out = {0};
    struct tmpl_opts o = {(enum tmpl_ws)(opt % 3), (opt >> 2) & 1};

    if (!copy)
        return;
    memcpy(copy, t, n);
    copy[n] = '\0';
    for (p = copy; k < 8 && p <= copy + n; p += strlen(p) + 1) {
        m[k].role = roles[(k + (opt >> 3)) % 3];
        m[k].content = p;
        k++;
    }
    for (int id = TMPL_LLAMA2; id <= TMPL_PLAIN; id++) {
        if (tmpl_apply((enum tmpl_id)id, m, k, &o, x->v, &out, &err) == 0) {
            check_ids(x->v, out.ids, out.n);
            for (size_t i = 0; i < out.n; i++) {
                if (out.assistant[i] > 1)
                    __builtin_trap();
            }
            tmpl_tokens_free(&out);
        }
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned opt;
    bool valid;

    if (!spm.v) {
        build_spm();
        build_bpe();
    }
    if (size < 1)
        return 0;
    opt = data[0];
    data++;
    size--;
    if (opt & 0x80) {
        chat(opt & 0x40 ? &bpe : &spm, data, size, opt);
        return 0;
    }
    valid = gguf_utf8_check((const char *)data, size) == size;
    if (opt & 1) {
        round_trip(&bpe, data, size, (opt >> 1) & 3, valid);
    } else {
        /* the dummy prefix is stripped again only without specials and
         * with a prefix added */
        unsigned flags = (opt >> 1) & 7;
        round_trip(&spm, data, size, flags,
                   valid && flags == 0 && !spm_lossy(data, size));
    }
    return 0;
}
