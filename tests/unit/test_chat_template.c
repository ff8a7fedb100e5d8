/*
 * test_chat_template.c - the built-in chat templates: exact text and ids
 * for known chats (the manifest's llama-2 chat prompt among them), the
 * paper's loss mask, multi-turn and no-system chats, the chatml and
 * llama-3 formats on a vocabulary that has their tokens, refusals, and
 * guessing a template from a model file's Jinja text (never run).
 *
 * Ids are checked two ways: against numbers from the reference data, and
 * against the paper's own construction (tokenizer.encode of the strings
 * its Python code builds, BOS and EOS added the way it adds them).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat_template.h"
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

struct loaded {
    struct gguf_file *f;
    struct tok_vocab *v;
    uint8_t *mem;
};

static int load_spm(struct loaded *l)
{
    struct lm_err err = {0};
    char path[4096];

    memset(l, 0, sizeof *l);
    snprintf(path, sizeof path, "%s/testdata/reference/models/spm-f32.gguf",
             shared_dir());
    if (gguf_open(path, &l->f, &err) || tok_load(l->f, &l->v, &err)) {
        printf("  %s\n", err.msg);
        gguf_close(l->f);
        return -1;
    }
    return 0;
}

static void unload(struct loaded *l)
{
    tok_free(l->v);
    gguf_close(l->f);
    free(l->mem);
}

/* The paper's encode(): text with BOS (and the dummy prefix). */
static void encode(const struct tok_vocab *v, const char *text,
                   struct tok_ids *out)
{
    struct lm_err err = {0};

    CHECK_INT(tok_encode(v, text, strlen(text), TOK_ADD_SPECIAL, out, &err),
              FTSB_OK);
}

static void check_ids(const struct tmpl_tokens *t, const struct tok_ids *want)
{
    CHECK_INT(t->n, want->n);
    for (size_t i = 0; i < t->n && i < want->n; i++) {
        if (t->ids[i] != want->v[i]) {
            printf("  token %zu: %d, want %d\n", i, t->ids[i], want->v[i]);
            CHECK(0);
            return;
        }
    }
}

static void check_text(enum tmpl_id id, const ftsb_message *m, size_t n,
                       const struct tmpl_opts *o, const struct tok_vocab *v,
                       const char *want)
{
    struct lm_err err = {0};
    struct tmpl_chat c;
    char *text = NULL;
    size_t len = 0;

    CHECK_INT(tmpl_render(id, m, n, o, &c, &err), FTSB_OK);
    CHECK_INT(tmpl_chat_text(&c, v, &text, &len, &err), FTSB_OK);
    CHECK_STR(text, want);
    CHECK_INT(len, strlen(want));
    free(text);
    tmpl_chat_free(&c);
}

/* The pieces of the tokens marked assistant, joined. */
static char *assistant_text(const struct tok_vocab *v,
                            const struct tmpl_tokens *t)
{
    struct lm_err err = {0};
    int32_t *ids = malloc((t->n + 1) * sizeof *ids);
    size_t n = 0, len;
    char *out = NULL;

    for (size_t i = 0; i < t->n; i++) {
        if (t->assistant[i])
            ids[n++] = t->ids[i];
    }
    tok_decode(v, ids, n, TOK_UNPARSE_SPECIAL, &out, &len, &err);
    free(ids);
    return out;
}

static const char sys_prompt[] =
    "You are a helpful, respectful and honest assistant.";

/* The manifest's spm-f32-chat case: a llama-2 prompt with a system. */
TEST(llama2_manifest_chat)
{
    static const int32_t want[] = {
        1, 518, 25580, 29962, 3532, 14816, 29903, 6778, 13, 3492, 526, 263,
        8444, 29892, 3390, 1319, 322, 15993, 20255, 29889, 13, 29966, 829,
        14816, 29903, 6778, 13, 13, 1170, 2211, 7601, 11955, 322, 697, 15774,
        310, 1269, 2927, 29889, 518, 29914, 25580, 29962};
    ftsb_message m[] = {
        {"system", sys_prompt},
        {"user", "Name three primary colors and one fruit of each color."}};
    struct lm_err err = {0};
    struct tmpl_tokens t = {0};
    struct loaded l;

    if (!shared_dir())
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    if (load_spm(&l)) {
        CHECK(0);
        return;
    }
    CHECK_INT(tmpl_apply(TMPL_LLAMA2, m, 2, NULL, l.v, &t, &err), FTSB_OK);
    CHECK_INT(t.n, sizeof want / sizeof want[0]);
    CHECK(t.n == 43 && memcmp(t.ids, want, sizeof want) == 0);
    for (size_t i = 0; i < t.n; i++)
        CHECK_INT(t.assistant[i], 0);
    check_text(TMPL_LLAMA2, m, 2, NULL, l.v,
               "<s>[INST] <<SYS>>\nYou are a helpful, respectful and honest "
               "assistant.\n<</SYS>>\n\nName three primary colors and one "
               "fruit of each color. [/INST]");
    tmpl_tokens_free(&t);
    unload(&l);
}

TEST(llama2_no_system)
{
    static const int32_t want[] = {1,     518, 25580, 29962, 15043,
                                   518, 29914, 25580, 29962};
    ftsb_message m[] = {{"user", "  Hello\n"}};
    struct lm_err err = {0};
    struct tmpl_tokens t = {0};
    struct loaded l;

    if (!shared_dir())
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    if (load_spm(&l)) {
        CHECK(0);
        return;
    }
    CHECK_INT(tmpl_apply(TMPL_LLAMA2, m, 1, NULL, l.v, &t, &err), FTSB_OK);
    CHECK(t.n == 9 && memcmp(t.ids, want, sizeof want) == 0);
    check_text(TMPL_LLAMA2, m, 1, NULL, NULL, "<s>[INST] Hello [/INST]");
    tmpl_tokens_free(&t);
    unload(&l);
}

/*
 * A training example as the paper's datasets build it: nothing stripped,
 * labels masked for len(encode(prompt)) tokens, EOS appended and trained.
 */
TEST(llama2_training_example_and_mask)
{
    static const char user[] =
        "### Instruction:\nSay hi\n\n### Response:\n";
    static const char answer[] = "Hi there! How can I help?";
    ftsb_message m[] = {{"system", sys_prompt}, {"user", user},
                        {"assistant", answer}};
    char prompt[1024], example[2048];
    struct tok_ids p = {0}, e = {0};
    struct lm_err err = {0};
    struct tmpl_tokens t = {0};
    struct loaded l;
    char *asst;

    if (!shared_dir())
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    if (load_spm(&l)) {
        CHECK(0);
        return;
    }
    snprintf(prompt, sizeof prompt, "[INST] <<SYS>>\n%s\n<</SYS>>\n\n%s [/INST]",
             sys_prompt, user);
    snprintf(example, sizeof example, "%s %s ", prompt, answer);
    encode(l.v, prompt, &p);
    encode(l.v, example, &e);
    tok_ids_push(&e, 2);
    CHECK_INT(tmpl_apply(TMPL_LLAMA2, m, 3, NULL, l.v, &t, &err), FTSB_OK);
    check_ids(&t, &e);
    for (size_t i = 0; i < t.n; i++)
        CHECK_INT(t.assistant[i], i >= p.n);
    asst = assistant_text(l.v, &t);
    CHECK_STR(asst, " Hi there! How can I help? </s>");
    free(asst);
    /* the same chat as a prompt (ends with the user): stripped */
    check_text(TMPL_LLAMA2, m, 2, NULL, NULL,
               "<s>[INST] <<SYS>>\nYou are a helpful, respectful and honest "
               "assistant.\n<</SYS>>\n\n### Instruction:\nSay hi\n\n### "
               "Response: [/INST]");
    tok_ids_free(&p);
    tok_ids_free(&e);
    tmpl_tokens_free(&t);
    unload(&l);
}

/*
 * MT-Bench turn 2, as llama-recipes' format_tokens builds it: the system
 * block joins the first user text and the strip() applies to the whole,
 * so the user's leading space survives after "<</SYS>>\n\n".
 */
TEST(llama2_multi_turn_prompt)
{
    ftsb_message m[] = {{"system", "Be brief."},
                        {"user", " What is 2+2? "},
                        {"assistant", "\n4\n"},
                        {"user", "And 3+3?\n"}};
    struct tok_ids e = {0};
    struct lm_err err = {0};
    struct tmpl_tokens t = {0};
    struct loaded l;

    if (!shared_dir())
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    if (load_spm(&l)) {
        CHECK(0);
        return;
    }
    encode(l.v,
           "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n What is 2+2? [/INST] 4 ",
           &e);
    tok_ids_push(&e, 2);
    encode(l.v, "[INST] And 3+3? [/INST]", &e);
    CHECK_INT(tmpl_apply(TMPL_LLAMA2, m, 4, NULL, l.v, &t, &err), FTSB_OK);
    check_ids(&t, &e);
    check_text(TMPL_LLAMA2, m, 4, NULL, l.v,
               "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n What is 2+2? "
               "[/INST] 4 </s><s>[INST] And 3+3? [/INST]");
    /* explicit KEEP leaves every text as it is */
    check_text(TMPL_LLAMA2, m, 4, &(struct tmpl_opts){TMPL_WS_KEEP, false},
               NULL,
               "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n What is 2+2?  "
               "[/INST] \n4\n </s><s>[INST] And 3+3?\n [/INST]");
    tok_ids_free(&e);
    tmpl_tokens_free(&t);
    unload(&l);
}

/* Two answers, both trained; the ids equal the whole string parsed. */
TEST(llama2_multi_turn_training)
{
    ftsb_message m[] = {{"user", "a"}, {"assistant", "b"},
                        {"user", "c"}, {"assistant", "d"}};
    struct tok_ids e = {0};
    struct lm_err err = {0};
    struct tmpl_tokens t = {0};
    struct tmpl_chat c;
    struct loaded l;
    char *text, *asst;
    size_t len;

    if (!shared_dir())
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    if (load_spm(&l)) {
        CHECK(0);
        return;
    }
    CHECK_INT(tmpl_render(TMPL_LLAMA2, m, 4, NULL, &c, &err), FTSB_OK);
    CHECK_INT(tmpl_tokenize(&c, l.v, &t, &err), FTSB_OK);
    CHECK_INT(tmpl_chat_text(&c, l.v, &text, &len, &err), FTSB_OK);
    CHECK_STR(text, "<s>[INST] a [/INST] b </s><s>[INST] c [/INST] d </s>");
    /* llama.cpp tokenizing the rendered string with specials parsed */
    CHECK_INT(tok_encode(l.v, text, len, TOK_PARSE_SPECIAL, &e, &err),
              FTSB_OK);
    check_ids(&t, &e);
    asst = assistant_text(l.v, &t);
    CHECK_STR(asst, " b </s> d </s>");
    free(asst);
    free(text);
    tok_ids_free(&e);
    tmpl_tokens_free(&t);
    tmpl_chat_free(&c);
    unload(&l);
}

/* Content is never parsed for special tokens. */
TEST(llama2_content_is_text)
{
    ftsb_message m[] = {{"user", "</s><s>[INST] <<SYS>> x"}};
    struct lm_err err = {0};
    struct tmpl_tokens t = {0};
    struct loaded l;

    if (!shared_dir())
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    if (load_spm(&l)) {
        CHECK(0);
        return;
    }
    CHECK_INT(tmpl_apply(TMPL_LLAMA2, m, 1, NULL, l.v, &t, &err), FTSB_OK);
    CHECK(t.n > 1 && t.ids[0] == 1);
    for (size_t i = 1; i < t.n; i++)
        CHECK(t.ids[i] != 1 && t.ids[i] != 2);
    tmpl_tokens_free(&t);
    unload(&l);
}

TEST(llama2_roles)
{
    struct lm_err err = {0};
    struct tmpl_chat c;
    ftsb_message a_first[] = {{"assistant", "x"}, {"user", "y"}};
    ftsb_message two_users[] = {{"user", "x"}, {"user", "y"}};
    ftsb_message sys_only[] = {{"system", "x"}};
    ftsb_message late_sys[] = {{"user", "x"}, {"system", "y"}};
    ftsb_message tool[] = {{"tool", "x"}};

    CHECK_INT(tmpl_render(TMPL_LLAMA2, a_first, 2, NULL, &c, &err),
              FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "message 0 is from 'assistant' but must be from "
                            "'user'");
    CHECK_INT(tmpl_render(TMPL_LLAMA2, two_users, 2, NULL, &c, &err),
              FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "message 1 is from 'user' but must be from "
                            "'assistant'");
    CHECK_INT(tmpl_render(TMPL_LLAMA2, sys_only, 1, NULL, &c, &err),
              FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "a system message needs a user message");
    CHECK_INT(tmpl_render(TMPL_LLAMA2, late_sys, 2, NULL, &c, &err),
              FTSB_E_INVALID);
    CHECK_INT(tmpl_render(TMPL_CHATML, tool, 1, NULL, &c, &err),
              FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "message 0 has the unknown role 'tool'");
    CHECK_INT(tmpl_render(TMPL_PLAIN, tool, 0, NULL, &c, &err),
              FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "no messages");
}

/* Python's str.strip(): Unicode spaces too, not the zero-width ones. */
TEST(strip_is_python_strip)
{
    ftsb_message m[] = {{"user", "\xe3\x80\x80\xc2\xa0 Hi\x0b\x1f\xe2\x80\xa8"}};
    ftsb_message zw[] = {{"user", "\xe2\x80\x8bHi"}};

    check_text(TMPL_LLAMA2, m, 1, NULL, NULL, "<s>[INST] Hi [/INST]");
    check_text(TMPL_LLAMA2, zw, 1, NULL, NULL,
               "<s>[INST] \xe2\x80\x8bHi [/INST]");
}

TEST(plain)
{
    ftsb_message m[] = {{"system", "S"}, {"user", "U"}, {"assistant", "A"},
                        {"user", "V"}};
    struct lm_err err = {0};
    struct tmpl_tokens t = {0};
    struct loaded l;
    char *asst;

    check_text(TMPL_PLAIN, m, 4, NULL, NULL,
               "<s>System: S\nUser: U\nAssistant: A</s>User: V\nAssistant:");
    check_text(TMPL_PLAIN, m, 3, NULL, NULL,
               "<s>System: S\nUser: U\nAssistant: A</s>");
    check_text(TMPL_PLAIN, m, 4, &(struct tmpl_opts){0, true}, NULL,
               "<s>System: S\nUser: U\nAssistant: A</s>User: V\n");
    if (!shared_dir())
        return;
    if (load_spm(&l)) {
        CHECK(0);
        return;
    }
    CHECK_INT(tmpl_apply(TMPL_PLAIN, m, 3, NULL, l.v, &t, &err), FTSB_OK);
    asst = assistant_text(l.v, &t);
    CHECK_STR(asst, " A</s>");
    free(asst);
    tmpl_tokens_free(&t);
    unload(&l);
}

/* A small SentencePiece vocabulary with the chatml and llama-3 tokens. */
static int load_chat_vocab(struct loaded *l, bool add_bos)
{
    static const char *const extra[] = {
        "<|im_start|>", "<|im_end|>",   "<|start_header_id|>",
        "<|end_header_id|>", "<|eot_id|>", "\xe2\x96\x81", "a", "b",
        ("\xe2\x96\x81" "a")};
    size_t n = 3 + 256 + sizeof extra / sizeof extra[0], size = 0;
    struct gguf_str *t = calloc(n, sizeof *t);
    int32_t *ty = calloc(n, sizeof *ty);
    char (*bytes)[7] = calloc(256, 7);
    struct gguf_writer *w = NULL;
    struct lm_err err = {0};

    memset(l, 0, sizeof *l);
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
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        t[259 + i] = (struct gguf_str){extra[i], strlen(extra[i])};
        ty[259 + i] = i < 5 ? 3 : 1;
    }
    gguf_writer_new(&w, &err);
    gguf_w_str(w, "tokenizer.ggml.model", "llama", 5, &err);
    gguf_w_arr_str(w, "tokenizer.ggml.tokens", t, n, &err);
    gguf_w_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, ty, n, &err);
    gguf_w_bool(w, "tokenizer.ggml.add_bos_token", add_bos, &err);
    gguf_w_save_mem(w, &l->mem, &size, &err);
    gguf_writer_free(w);
    free(t);
    free(ty);
    free(bytes);
    if (gguf_open_mem(l->mem, size, "chat-vocab", &l->f, &err) ||
        tok_load(l->f, &l->v, &err)) {
        printf("  %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* Template ids equal llama.cpp tokenizing the rendered text with specials. */
static void check_as_parsed(enum tmpl_id id, const ftsb_message *m, size_t n,
                            const struct tok_vocab *v, const char *want_text,
                            const char *want_asst)
{
    struct lm_err err = {0};
    struct tmpl_tokens t = {0};
    struct tok_ids e = {0};
    struct tmpl_chat c;
    char *text = NULL, *asst;
    size_t len = 0;

    CHECK_INT(tmpl_render(id, m, n, NULL, &c, &err), FTSB_OK);
    CHECK_INT(tmpl_tokenize(&c, v, &t, &err), FTSB_OK);
    CHECK_INT(tmpl_chat_text(&c, v, &text, &len, &err), FTSB_OK);
    CHECK_STR(text, want_text);
    CHECK_INT(tok_encode(v, text, len, TOK_PARSE_SPECIAL, &e, &err), FTSB_OK);
    check_ids(&t, &e);
    asst = assistant_text(v, &t);
    CHECK_STR(asst, want_asst);
    free(asst);
    free(text);
    tok_ids_free(&e);
    tmpl_tokens_free(&t);
    tmpl_chat_free(&c);
}

TEST(chatml)
{
    ftsb_message m[] = {{"system", "b"}, {"user", "a b"}, {"assistant", "ab"},
                        {"user", "ba"}};
    struct loaded l;

    if (load_chat_vocab(&l, false)) {
        CHECK(0);
        unload(&l);
        return;
    }
    check_as_parsed(TMPL_CHATML, m, 4, l.v,
                    "<|im_start|>system\nb<|im_end|>\n<|im_start|>user\na "
                    "b<|im_end|>\n<|im_start|>assistant\nab<|im_end|>\n"
                    "<|im_start|>user\nba<|im_end|>\n<|im_start|>assistant\n",
                    "ab<|im_end|>");
    check_as_parsed(TMPL_CHATML, m, 3, l.v,
                    "<|im_start|>system\nb<|im_end|>\n<|im_start|>user\na "
                    "b<|im_end|>\n<|im_start|>assistant\nab<|im_end|>\n",
                    "ab<|im_end|>");
    unload(&l);
    /* a vocabulary that adds BOS gets it first */
    if (load_chat_vocab(&l, true)) {
        CHECK(0);
        unload(&l);
        return;
    }
    check_as_parsed(TMPL_CHATML, m, 2, l.v,
                    "<s><|im_start|>system\nb<|im_end|>\n<|im_start|>user\na "
                    "b<|im_end|>\n<|im_start|>assistant\n",
                    "");
    unload(&l);
}

TEST(llama3)
{
    ftsb_message m[] = {{"system", " b "}, {"user", "a"}, {"assistant", "ab\n"}};
    struct loaded l;

    if (load_chat_vocab(&l, true)) {
        CHECK(0);
        unload(&l);
        return;
    }
    check_as_parsed(TMPL_LLAMA3, m, 3, l.v,
                    "<s><|start_header_id|>system<|end_header_id|>\n\nb"
                    "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\na"
                    "<|eot_id|><|start_header_id|>assistant<|end_header_id|>"
                    "\n\nab<|eot_id|>",
                    "ab<|eot_id|>");
    check_as_parsed(TMPL_LLAMA3, m, 2, l.v,
                    "<s><|start_header_id|>system<|end_header_id|>\n\nb"
                    "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\na"
                    "<|eot_id|><|start_header_id|>assistant<|end_header_id|>"
                    "\n\n",
                    "");
    unload(&l);
}

TEST(missing_tokens)
{
    ftsb_message m[] = {{"user", "hi"}};
    struct lm_err err = {0};
    struct tmpl_tokens t = {0};
    struct loaded l;

    if (!shared_dir())
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    if (load_spm(&l)) {
        CHECK(0);
        return;
    }
    CHECK_INT(tmpl_apply(TMPL_CHATML, m, 1, NULL, l.v, &t, &err),
              FTSB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "needs the token '<|im_start|>'");
    CHECK_INT(tmpl_apply(TMPL_LLAMA3, m, 1, NULL, l.v, &t, &err),
              FTSB_E_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "needs the token '<|start_header_id|>'");
    CHECK(t.ids == NULL && t.n == 0);
    unload(&l);
}

TEST(names_and_guess)
{
    static const char l2[] =
        "{% if messages[0]['role'] == 'system' %}{% set sys = '<<SYS>>\\n' + "
        "messages[0]['content'] + '\\n<</SYS>>\\n\\n' %}{% endif %}{{ "
        "bos_token + '[INST] ' }}";
    static const char l3[] = "{{ '<|start_header_id|>' + message['role'] }}";
    static const char cm[] = "{{'<|im_start|>' + message['role'] + '\\n'}}";
    static const char mistral[] = "{{ '[INST] ' + message['content'] }}";
    struct lm_err err = {0};
    enum tmpl_id id = TMPL_NONE;

    CHECK_INT(tmpl_guess(l2, strlen(l2)), TMPL_LLAMA2);
    CHECK_INT(tmpl_guess(l3, strlen(l3)), TMPL_LLAMA3);
    CHECK_INT(tmpl_guess(cm, strlen(cm)), TMPL_CHATML);
    CHECK_INT(tmpl_guess(mistral, strlen(mistral)), TMPL_NONE);
    CHECK_INT(tmpl_guess(NULL, 0), TMPL_NONE);
    CHECK_INT(tmpl_from_name("llama-2", &id, &err), FTSB_OK);
    CHECK_INT(id, TMPL_LLAMA2);
    CHECK_INT(tmpl_from_name("llama3", &id, &err), FTSB_OK);
    CHECK_INT(id, TMPL_LLAMA3);
    CHECK_INT(tmpl_from_name("vicuna", &id, &err), FTSB_E_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "unknown chat template 'vicuna' (known: llama-2, "
                            "chatml, llama-3, plain)");
    CHECK_STR(tmpl_name(TMPL_CHATML), "chatml");
    CHECK(tmpl_name(TMPL_NONE) == NULL);
}

/* The Llama-2 template stored in every reference model is recognised. */
TEST(guess_reference_models)
{
    static const char *const files[] = {"spm-f32.gguf", "gqa-f16.gguf",
                                        "mqa-bf16.gguf", "gqa-q8_0.gguf"};
    char path[4096];

    if (!shared_dir())
        SKIP("no shared test data (set FTSB_SHARED_DIR)");
    for (size_t i = 0; i < 4; i++) {
        struct lm_err err = {0};
        struct gguf_file *f = NULL;
        struct gguf_str s = {0};
        snprintf(path, sizeof path, "%s/testdata/reference/models/%s",
                 shared_dir(), files[i]);
        CHECK_INT(gguf_open(path, &f, &err), FTSB_OK);
        if (!f)
            continue;
        CHECK_INT(gguf_get_str(f, "tokenizer.chat_template", &s, &err),
                  FTSB_OK);
        CHECK_INT(tmpl_guess(s.ptr, s.len), TMPL_LLAMA2);
        gguf_close(f);
    }
}

int main(void)
{
    RUN(llama2_manifest_chat);
    RUN(llama2_no_system);
    RUN(llama2_training_example_and_mask);
    RUN(llama2_multi_turn_prompt);
    RUN(llama2_multi_turn_training);
    RUN(llama2_content_is_text);
    RUN(llama2_roles);
    RUN(strip_is_python_strip);
    RUN(plain);
    RUN(chatml);
    RUN(llama3);
    RUN(missing_tokens);
    RUN(names_and_guess);
    RUN(guess_reference_models);
    return test_summary();
}
