/*
 * test_vocab_train.c - the vocabulary trainer (vocab_train.h): a trained
 * vocabulary loads with tok_load; our SPM tokenizer cuts every training
 * text into exactly the ids the trainer computed (on a small English-like
 * corpus, and on random texts over a tiny alphabet, where overlapping and
 * re-spelled merges are everywhere); decoding gives every text back;
 * common words become one token, unseen characters byte tokens; a
 * hand-worked corpus gives the expected pieces and scores; the result
 * does not depend on the order of the texts and two runs give the same
 * bytes; sizes, UTF-8 and empty input are checked.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "test.h"
#include "tokenizer.h"
#include "vocab_train.h"

static const char *const corpus[] = {
    "Hello world, this is a small corpus for the vocabulary trainer.",
    "The quick brown fox jumps over the lazy dog.",
    "The dog sleeps; the fox runs.  The fox is quick and the dog is lazy.",
    "Hello there!  How are you today?",
    "I am fine, thank you.  And you?",
    "The weather today is fine: sunny, warm and quiet.",
    "Numbers: 1, 22, 333, 2024 and 3.14159 appear in the text too.",
    "A line with\ttabs\tand trailing spaces   ",
    "   leading spaces and a final newline\n",
    "Paragraphs\n\nare separated by blank lines.\nLists:\n- one\n- two",
    ("Caf\xc3\xa9 na\xc3\xafve r\xc3\xa9sum\xc3\xa9 \xe2\x80\x94 "
     "\xe2\x80\x9c" "quotes\xe2\x80\x9d and \xe2\x80\x98" "apostrophes"
     "\xe2\x80\x99."),
    "Caf\xc3\xa9 again, and the caf\xc3\xa9 is open.",
    ("Emoji \xf0\x9f\x98\x80 are rare, \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e "
     "too."),
    "Special-looking text: <s> </s> <unk> <0x41> [INST] and <<SYS>>.",
    "<s><s></s></s><unk><unk><0x41><0x41><0x0A>",
    "the the the the the the the the the the",
    "aaaaaaa bbbbbb abababab aaaa",
    "Hello world hello world HELLO WORLD",
    "x",
};
#define N_CORPUS (sizeof corpus / sizeof *corpus)

static struct lm_vocab_text *texts_of(const char *const *s, size_t n)
{
    struct lm_vocab_text *t = malloc(n * sizeof *t);

    for (size_t i = 0; i < n; i++)
        t[i] = (struct lm_vocab_text){s[i], strlen(s[i])};
    return t;
}

/* The vocabulary as GGUF bytes (*size), opened as f and loaded as v. */
struct loaded {
    uint8_t *bytes;
    size_t size;
    struct gguf_file *f;
    struct tok_vocab *v;
};

static int load(const struct lm_vocab *lv, struct loaded *l)
{
    struct gguf_writer *w = NULL;
    struct lm_err err = {0};

    memset(l, 0, sizeof *l);
    if (gguf_writer_new(&w, &err) || lm_vocab_to_gguf(lv, w, &err) ||
        gguf_w_save_mem(w, &l->bytes, &l->size, &err) ||
        gguf_open_mem(l->bytes, l->size, "vocab", &l->f, &err) ||
        tok_load(l->f, &l->v, &err)) {
        printf("  cannot load the vocabulary: %s\n", err.msg);
        gguf_writer_free(w);
        return 1;
    }
    gguf_writer_free(w);
    return 0;
}

static void unload(struct loaded *l)
{
    tok_free(l->v);
    gguf_close(l->f);
    free(l->bytes);
}

/* Every text: tok_encode equals the trainer's cut, and decodes back. */
static int check_texts(const struct tok_vocab *v, const struct lm_vocab *lv,
                       const struct lm_vocab_text *t, size_t n)
{
    int bad = 0;

    for (size_t i = 0; i < n; i++) {
        struct tok_ids ids = {0};
        struct lm_err err = {0};
        size_t a = lv->seg_start[i], b = lv->seg_start[i + 1], len = 0;
        char *back = NULL;

        if (tok_encode(v, t[i].ptr, t[i].len, 0, &ids, &err)) {
            printf("  text %zu: %s\n", i, err.msg);
            bad++;
            continue;
        }
        if (ids.n != b - a ||
            (ids.n && memcmp(ids.v, lv->seg + a, ids.n * sizeof *ids.v))) {
            if (bad++ < 5) {
                printf("  text %zu '%.*s': tokenizer", i, (int)t[i].len,
                       t[i].ptr);
                for (size_t k = 0; k < ids.n; k++)
                    printf(" %d", ids.v[k]);
                printf("\n    trainer  ");
                for (size_t k = a; k < b; k++)
                    printf(" %d", lv->seg[k]);
                printf("\n");
            }
        }
        if (tok_decode(v, ids.v, ids.n, TOK_LSTRIP, &back, &len, &err) ||
            len != t[i].len || memcmp(back, t[i].ptr, len)) {
            if (bad++ < 5)
                printf("  text %zu does not decode back: '%s'\n", i,
                       back ? back : err.msg);
        }
        free(back);
        tok_ids_free(&ids);
    }
    return bad;
}

TEST(corpus_round_trip)
{
    struct lm_vocab_text *t = texts_of(corpus, N_CORPUS);
    struct lm_vocab_opts o = {.size = 420, .segment = true};
    struct lm_vocab lv;
    struct lm_err err = {0};
    struct loaded l;

    CHECK_INT(lm_vocab_train(t, N_CORPUS, &o, &lv, &err), FTSB_OK);
    if (err.msg[0])
        printf("  %s\n", err.msg);
    CHECK(lv.n > 300 && lv.n <= 420);
    CHECK(lv.n_rare > 0); /* the emoji, the CJK characters */
    if (!load(&lv, &l)) {
        CHECK_INT(tok_n_vocab(l.v), lv.n);
        CHECK_INT(tok_model(l.v), TOK_MODEL_SPM);
        CHECK_INT(tok_bos(l.v), 1);
        CHECK_INT(tok_eos(l.v), 2);
        CHECK_INT(tok_unk(l.v), 0);
        CHECK(tok_add_bos(l.v) && !tok_add_eos(l.v));
        CHECK_INT(tok_type(l.v, 0), TOK_TYPE_UNKNOWN);
        CHECK_INT(tok_type(l.v, 1), TOK_TYPE_CONTROL);
        CHECK_INT(tok_type(l.v, 3 + 0x41), TOK_TYPE_BYTE);
        CHECK_STR(tok_text(l.v, 3 + 0x41), "<0x41>");
        CHECK_INT(tok_type(l.v, lv.n - 1), TOK_TYPE_NORMAL);
        CHECK_INT(check_texts(l.v, &lv, t, N_CORPUS), 0);
        unload(&l);
    }
    lm_vocab_free(&lv);
    free(t);
}

TEST(common_words_and_bytes)
{
    struct lm_vocab_text *t = texts_of(corpus, N_CORPUS);
    struct lm_vocab_opts o = {.size = 420};
    struct lm_vocab lv;
    struct lm_err err = {0};
    struct loaded l;
    static const char *const words[] = {"the", "The", "fox", "dog",
                                        "Hello", "world"};

    CHECK_INT(lm_vocab_train(t, N_CORPUS, &o, &lv, &err), FTSB_OK);
    CHECK(lv.seg == NULL);
    if (!load(&lv, &l)) {
        struct tok_ids ids = {0};
        char *back = NULL;
        size_t len = 0;

        for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
            char buf[32];
            ids.n = 0;
            snprintf(buf, sizeof buf, "\xe2\x96\x81%s", words[i]);
            CHECK(tok_find(l.v, buf, strlen(buf)) >= 0);
            CHECK_INT(tok_encode(l.v, words[i], strlen(words[i]), 0, &ids,
                                 &err), FTSB_OK);
            if (ids.n != 1)
                printf("  '%s' is %zu tokens\n", words[i], ids.n);
            CHECK_INT(ids.n, 1);
        }
        /* a character never seen: its UTF-8 bytes as byte tokens */
        ids.n = 0;
        CHECK_INT(tok_encode(l.v, "\xce\xb6", 2, TOK_AFTER_TEXT, &ids, &err),
                  FTSB_OK);
        CHECK_INT(ids.n, 2);
        if (ids.n == 2) {
            CHECK_INT(ids.v[0], 3 + 0xCE);
            CHECK_INT(ids.v[1], 3 + 0xB6);
        }
        /* ... and text made of unseen and seen characters decodes back */
        ids.n = 0;
        CHECK_INT(tok_encode(l.v, "the \xce\xb6\xce\xb5\xcf\x85\xce\xb3"
                             "\xce\xbf\xcf\x82 fox", 20, 0, &ids, &err),
                  FTSB_OK);
        CHECK_INT(tok_decode(l.v, ids.v, ids.n, TOK_LSTRIP, &back, &len,
                             &err), FTSB_OK);
        CHECK_STR(back, "the \xce\xb6\xce\xb5\xcf\x85\xce\xb3\xce\xbf\xcf\x82"
                  " fox");
        free(back);
        /* text that spells base tokens stays ordinary text */
        ids.n = 0;
        CHECK_INT(tok_encode(l.v, "<s>", 3, TOK_AFTER_TEXT, &ids, &err),
                  FTSB_OK);
        for (size_t i = 0; i < ids.n; i++)
            CHECK(ids.v[i] >= LM_VOCAB_BASE);
        tok_ids_free(&ids);
        unload(&l);
    }
    lm_vocab_free(&lv);
    free(t);
}

/* "ab ab ab abc", worked by hand: characters a, b, "▁" (4 each; c once
 * is rare), a and b first (by bytes: "▁" is E2 96 81); "ab" and "▁a"
 * both occur 4 times and "ab" is the lower string, then "▁ab", then no
 * pair is left (c is bytes): "▁ab" x 4, then c as <0x63>. */
TEST(hand_worked)
{
    static const char *const s[] = {"ab ab ab abc"};
    struct lm_vocab_text *t = texts_of(s, 1);
    struct lm_vocab_opts o = {.size = 300, .segment = true};
    struct lm_vocab lv;
    struct lm_err err = {0};

    CHECK_INT(lm_vocab_train(t, 1, &o, &lv, &err), FTSB_OK);
    CHECK_INT(lv.n, 264);
    CHECK_INT(lv.n_chars, 3);
    CHECK_INT(lv.n_merges, 2);
    CHECK(lv.stopped_early);
    CHECK_INT(lv.n_words, 4);
    CHECK_INT(lv.n_unique, 2);
    CHECK_INT(lv.n_rare, 1);
    if (lv.n == 264) {
        CHECK_STR(lv.text[259].ptr, "a");
        CHECK_STR(lv.text[260].ptr, "b");
        CHECK_STR(lv.text[261].ptr, "\xe2\x96\x81");
        CHECK_STR(lv.text[262].ptr, "ab");
        CHECK_STR(lv.text[263].ptr, "\xe2\x96\x81" "ab");
        CHECK(lv.score[262] == 0.0f && lv.score[263] == -1.0f);
        CHECK(lv.score[259] == -2.0f && lv.score[261] == -4.0f);
        CHECK_INT(lv.seg_start[1], 5);
        if (lv.seg_start[1] == 5) {
            CHECK_INT(lv.seg[0], 263);
            CHECK_INT(lv.seg[3], 263);
            CHECK_INT(lv.seg[4], 3 + 'c');
        }
    }
    lm_vocab_free(&lv);
    free(t);
}

/* Random texts over "ab c": merges overlap ("aaa"), and a piece can often
 * be spelled by several splits - where plain BPE and SPM part. */
TEST(random_tiny_alphabet)
{
    enum { N = 400 };
    static char buf[N][64];
    const char *s[N];
    struct lm_vocab_text *t;
    uint64_t x = 12345;
    struct lm_vocab_opts o = {.size = 900, .segment = true};
    struct lm_vocab lv;
    struct lm_err err = {0};
    struct loaded l;

    for (int i = 0; i < N; i++) {
        int len = 1 + (int)(x % 60);
        for (int k = 0; k < len; k++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            buf[i][k] = "aaabbc "[(x >> 33) % 7];
        }
        buf[i][len] = '\0';
        s[i] = buf[i];
    }
    t = texts_of(s, N);
    CHECK_INT(lm_vocab_train(t, N, &o, &lv, &err), FTSB_OK);
    CHECK(lv.n_merges > 100);
    if (!load(&lv, &l)) {
        CHECK_INT(check_texts(l.v, &lv, t, N), 0);
        unload(&l);
    }
    lm_vocab_free(&lv);
    /* rare characters inside words: c is now left to bytes */
    o.min_char_count = 1000000;
    CHECK_INT(lm_vocab_train(t, N, &o, &lv, &err), FTSB_OK);
    CHECK_INT(lv.n_chars, 1); /* "▁" only */
    if (!load(&lv, &l)) {
        CHECK_INT(check_texts(l.v, &lv, t, N), 0);
        unload(&l);
    }
    lm_vocab_free(&lv);
    free(t);
}

static int saved(const char *const *s, size_t n, int32_t size, uint8_t **out,
                 size_t *len)
{
    struct lm_vocab_text *t = texts_of(s, n);
    struct lm_vocab_opts o = {.size = size};
    struct lm_vocab lv;
    struct gguf_writer *w = NULL;
    struct lm_err err = {0};
    int r = lm_vocab_train(t, n, &o, &lv, &err) ||
            gguf_writer_new(&w, &err) || lm_vocab_to_gguf(&lv, w, &err) ||
            gguf_w_save_mem(w, out, len, &err);

    gguf_writer_free(w);
    lm_vocab_free(&lv);
    free(t);
    return r;
}

TEST(deterministic)
{
    const char *rev[N_CORPUS];
    uint8_t *a = NULL, *b = NULL, *c = NULL;
    size_t na = 0, nb = 0, nc = 0;

    for (size_t i = 0; i < N_CORPUS; i++)
        rev[i] = corpus[N_CORPUS - 1 - i];
    CHECK_INT(saved(corpus, N_CORPUS, 400, &a, &na), 0);
    CHECK_INT(saved(corpus, N_CORPUS, 400, &b, &nb), 0);
    /* the order of the texts does not matter: counts and tie-breaks only */
    CHECK_INT(saved(rev, N_CORPUS, 400, &c, &nc), 0);
    CHECK(na > 0 && na == nb && na == nc);
    CHECK(na == nb && !memcmp(a, b, na));
    CHECK(na == nc && !memcmp(a, c, na));
    free(a);
    free(b);
    free(c);
}

TEST(limits)
{
    struct lm_vocab_text *t = texts_of(corpus, N_CORPUS);
    struct lm_vocab_opts o = {.size = 258};
    struct lm_vocab lv;
    struct lm_err err = {0};
    int32_t chars;
    char need[64];

    CHECK_INT(lm_vocab_train(t, N_CORPUS, &o, &lv, &err), FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "out of range");
    o.size = LM_VOCAB_MAX_SIZE + 1;
    CHECK_INT(lm_vocab_train(t, N_CORPUS, &o, &lv, &err), FTSB_E_INVALID);
    /* the characters decide the minimum, and the message says it */
    o.size = 1000;
    CHECK_INT(lm_vocab_train(t, N_CORPUS, &o, &lv, &err), FTSB_OK);
    chars = lv.n_chars;
    lm_vocab_free(&lv);
    o.size = LM_VOCAB_BASE + chars - 1;
    CHECK_INT(lm_vocab_train(t, N_CORPUS, &o, &lv, &err), FTSB_E_INVALID);
    snprintf(need, sizeof need, "needs at least %d tokens",
             LM_VOCAB_BASE + chars);
    CHECK_CONTAINS(err.msg, need);
    CHECK(lv.text == NULL && lv.n == 0);
    o.size = LM_VOCAB_BASE + chars;
    CHECK_INT(lm_vocab_train(t, N_CORPUS, &o, &lv, &err), FTSB_OK);
    CHECK_INT(lv.n, LM_VOCAB_BASE + chars);
    CHECK_INT(lv.n_merges, 0);
    CHECK(!lv.stopped_early);
    lm_vocab_free(&lv);
    /* a size beyond what the corpus supports stops early */
    o.size = 100000;
    CHECK_INT(lm_vocab_train(t, N_CORPUS, &o, &lv, &err), FTSB_OK);
    CHECK(lv.stopped_early && lv.n < 100000);
    lm_vocab_free(&lv);
    /* more demanding characters: fewer of them */
    o.size = 1000;
    o.min_char_count = 50;
    CHECK_INT(lm_vocab_train(t, N_CORPUS, &o, &lv, &err), FTSB_OK);
    CHECK(lv.n_chars < chars);
    lm_vocab_free(&lv);
    free(t);
}

TEST(bad_input)
{
    struct lm_vocab_text bad[] = {{"fine", 4}, {"caf\xc3", 4}};
    struct lm_vocab_text empty[] = {{"", 0}, {"", 0}};
    struct lm_vocab_opts o = {.size = 300};
    struct lm_vocab lv;
    struct lm_err err = {0};

    CHECK_INT(lm_vocab_train(bad, 2, &o, &lv, &err), FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "text 2 is not valid UTF-8 (byte 4)");
    CHECK_INT(lm_vocab_train(empty, 2, &o, &lv, &err), FTSB_E_FORMAT);
    CHECK_CONTAINS(err.msg, "no text");
    CHECK_INT(lm_vocab_train(empty, 0, &o, &lv, &err), FTSB_E_FORMAT);
}

int main(void)
{
    RUN(corpus_round_trip);
    RUN(common_words_and_bytes);
    RUN(hand_worked);
    RUN(random_tiny_alphabet);
    RUN(deterministic);
    RUN(limits);
    RUN(bad_input);
    return test_summary();
}
