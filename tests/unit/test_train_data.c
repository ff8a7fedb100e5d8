/*
 * test_train_data.c - training examples to sequences (src/train_data.c)
 * with the synthetic vocabulary of a random-weight model (no shared data
 * needed): targets are the next token exactly where the template's mask
 * says "answer", the EOS after the answer is trained on, Alpaca-style
 * rows become the same chat as the equivalent messages, the cut at
 * max_len keeps the paper's positions, examples without a trained token
 * are skipped and reported, errors name the example, and the epoch order
 * is a deterministic, uniform permutation.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat_template.h"
#include "fp16.h"
#include "gguf.h"
#include "random_model.h"
#include "test.h"
#include "tokenizer.h"
#include "train_data.h"

static struct tok_vocab *vocab;

static ftsb_example chat_ex(const char *id, const ftsb_message *m, uint32_t n)
{
    ftsb_example e;

    memset(&e, 0, sizeof e);
    e.struct_size = sizeof e;
    e.id = id;
    e.chat.n_messages = n;
    e.chat.messages = m;
    return e;
}

static const ftsb_message conv[] = {
    {"system", "Be brief."},
    {"user", "What is the capital of France?"},
    {"assistant", "The capital of France is Paris."},
};

/* The template's tokens of a chat, for comparison. */
static struct tmpl_tokens apply(const ftsb_message *m, size_t n)
{
    struct tmpl_tokens t = {0};
    struct lm_err e = {0};

    if (tmpl_apply(TMPL_LLAMA2, m, n, NULL, vocab, &t, &e))
        printf("  tmpl_apply: %s\n", e.msg);
    return t;
}

/* Checks seq against the rule of train_data.h for the template tokens t
 * cut to keep tokens. */
static void check_seq(const struct lm_train_seq *q,
                      const struct tmpl_tokens *t, size_t keep)
{
    int32_t n_loss = 0;

    CHECK_INT(q->n, (int64_t)keep - 1);
    for (int32_t k = 0; k < q->n && (size_t)k + 1 < t->n; k++) {
        CHECK_INT(q->tokens[k], t->ids[k]);
        CHECK_INT(q->targets[k], t->assistant[k + 1] ? t->ids[k + 1] : -1);
        n_loss += q->targets[k] >= 0;
    }
    CHECK_INT(q->n_loss, n_loss);
}

/* Tokens of the prompt: the index of the first answer token. */
static size_t prompt_len(const struct tmpl_tokens *t)
{
    size_t k = 0;

    while (k < t->n && !t->assistant[k])
        k++;
    return k;
}

TEST(chat_targets)
{
    ftsb_example ex = chat_ex("row-1", conv, 3);
    struct tmpl_tokens t = apply(conv, 3);
    struct lm_train_set s;
    struct lm_err e = {0};
    char *text = (char *)"x";

    CHECK(t.n > 10);
    CHECK_INT(lm_train_set_build(&ex, 1, TMPL_LLAMA2, NULL, vocab, 4096, &s,
                                 &e), FTSB_OK);
    CHECK_INT(s.n, 1);
    if (s.n == 1) {
        const struct lm_train_seq *q = &s.seq[0];
        check_seq(q, &t, t.n);
        CHECK_INT(q->index, 0);
        /* the answer ends with EOS, which is trained on; BOS never is */
        CHECK_INT(q->targets[q->n - 1], tok_eos(vocab));
        CHECK_INT(q->tokens[0], tok_bos(vocab));
        CHECK(q->targets[0] == -1);
        /* the answer's tokens and EOS, nothing of the prompt */
        CHECK_INT(q->n_loss, (int64_t)(t.n - prompt_len(&t)));
        CHECK_INT(s.n_tokens, q->n);
        CHECK_INT(s.n_loss, q->n_loss);
    }
    CHECK_INT(s.n_notes, 0);
    CHECK_INT(s.n_examples, 1);
    CHECK_INT(lm_train_set_describe(&s, 0, &text, &e), FTSB_OK);
    CHECK(text == NULL);
    lm_train_set_free(&s);
    tmpl_tokens_free(&t);
}

TEST(multi_turn)
{
    static const ftsb_message m[] = {
        {"user", "Hi"}, {"assistant", "Hello there"},
        {"user", "And now?"}, {"assistant", "Still here"},
    };
    ftsb_example ex = chat_ex("mt", m, 4);
    struct tmpl_tokens t = apply(m, 4);
    struct lm_train_set s;
    struct lm_err e = {0};
    size_t answer = 0;

    for (size_t k = 1; k < t.n; k++)
        answer += t.assistant[k];
    CHECK_INT(lm_train_set_build(&ex, 1, TMPL_LLAMA2, NULL, vocab, 4096, &s,
                                 &e), FTSB_OK);
    CHECK_INT(s.n, 1);
    if (s.n == 1) {
        check_seq(&s.seq[0], &t, t.n);
        CHECK_INT(s.seq[0].n_loss, (int64_t)answer);
        /* the first answer's EOS is a target, the BOS after it is not */
        int eos_targets = 0;
        for (int32_t k = 0; k < s.seq[0].n; k++) {
            eos_targets += s.seq[0].targets[k] == tok_eos(vocab);
            CHECK(s.seq[0].targets[k] != tok_bos(vocab));
        }
        CHECK_INT(eos_targets, 2);
    }
    lm_train_set_free(&s);
    tmpl_tokens_free(&t);
}

TEST(instruction_rows)
{
    static const ftsb_message m1[] = {
        {"user", "Greet the person.\n\nBob"}, {"assistant", "Hello, Bob!"},
    };
    static const ftsb_message m2[] = {
        {"user", "Greet the person."}, {"assistant", "Hello!"},
    };
    ftsb_example ex[2];
    struct tmpl_tokens t1 = apply(m1, 2), t2 = apply(m2, 2);
    struct lm_train_set s;
    struct lm_err e = {0};

    memset(ex, 0, sizeof ex);
    ex[0].id = "alpaca:1";
    ex[0].instruction = "Greet the person.";
    ex[0].input = "Bob";
    ex[0].response = "Hello, Bob!";
    ex[1].id = "alpaca:2";
    ex[1].instruction = "Greet the person.";
    ex[1].input = ""; /* empty input: no "\n\n" */
    ex[1].response = "Hello!";
    CHECK_INT(lm_train_set_build(ex, 2, TMPL_LLAMA2, NULL, vocab, 4096, &s,
                                 &e), FTSB_OK);
    CHECK_INT(s.n, 2);
    if (s.n == 2) {
        check_seq(&s.seq[0], &t1, t1.n);
        check_seq(&s.seq[1], &t2, t2.n);
        CHECK_INT(s.seq[1].index, 1);
    }
    lm_train_set_free(&s);
    tmpl_tokens_free(&t1);
    tmpl_tokens_free(&t2);
}

TEST(cut_at_max_len)
{
    ftsb_example ex = chat_ex("long", conv, 3);
    struct tmpl_tokens t = apply(conv, 3);
    size_t p = prompt_len(&t);
    struct lm_train_set s;
    struct lm_err e = {0};
    char *text = NULL;

    /* three answer tokens survive */
    CHECK(p + 3 < t.n);
    CHECK_INT(lm_train_set_build(&ex, 1, TMPL_LLAMA2, NULL, vocab,
                                 (int32_t)(p + 3), &s, &e), FTSB_OK);
    CHECK_INT(s.n, 1);
    if (s.n == 1) {
        check_seq(&s.seq[0], &t, p + 3);
        CHECK_INT(s.seq[0].n_loss, 3);
    }
    CHECK_INT(s.n_notes, 1);
    CHECK_INT(s.n_cut, 1);
    CHECK_INT(s.n_skipped, 0);
    if (s.n_notes == 1) {
        CHECK_INT(s.notes[0].kind, LM_TRAIN_CUT);
        CHECK_INT(s.notes[0].n_tokens, (int64_t)t.n);
        CHECK_INT(s.notes[0].dropped, (int64_t)(t.n - p - 3));
        CHECK_STR(s.notes[0].id, "long");
    }
    CHECK_INT(s.n_dropped, (int64_t)(t.n - p - 3));
    CHECK_INT(lm_train_set_describe(&s, 0, &text, &e), FTSB_OK);
    char want[200];
    snprintf(want, sizeof want, "example 0 (id 'long'): %zu tokens, cut to "
             "%zu (%zu dropped)", t.n, p + 3, t.n - p - 3);
    CHECK_CONTAINS(text, want);
    CHECK_CONTAINS(text, "training data: 1 of 1 examples cut to ");
    free(text);
    lm_train_set_free(&s);

    /* a cut and a skip */
    static const ftsb_message q[] = {{"user", "no answer"}};
    ftsb_example two[2] = {ex, chat_ex("q", q, 1)};
    CHECK_INT(lm_train_set_build(two, 2, TMPL_LLAMA2, NULL, vocab,
                                 (int32_t)(p + 3), &s, &e), FTSB_OK);
    CHECK_INT(lm_train_set_describe(&s, 0, &text, &e), FTSB_OK);
    snprintf(want, sizeof want, "training data: 1 of 2 examples cut to %zu "
             "tokens (%zu tokens dropped); 1 of 2 examples skipped (no "
             "answer token to train on):\n  example 0 (id 'long'): ",
             p + 3, t.n - p - 3);
    CHECK_CONTAINS(text, want);
    CHECK_CONTAINS(text, "\n  example 1 (id 'q'): skipped, no answer token");
    free(text);
    lm_train_set_free(&s);

    /* exactly one: the first answer token is the last kept */
    CHECK_INT(lm_train_set_build(&ex, 1, TMPL_LLAMA2, NULL, vocab,
                                 (int32_t)(p + 1), &s, &e), FTSB_OK);
    CHECK_INT(s.n, 1);
    if (s.n == 1)
        CHECK_INT(s.seq[0].n_loss, 1);
    lm_train_set_free(&s);
    tmpl_tokens_free(&t);
}

TEST(skips)
{
    static const ftsb_message q[] = {{"user", "A question, no answer"}};
    ftsb_example ex[3];
    struct tmpl_tokens t = apply(conv, 3);
    size_t p = prompt_len(&t);
    struct lm_train_set s;
    struct lm_err e = {0};
    char *text = NULL;

    ex[0] = chat_ex("no-answer", q, 1);
    ex[1] = chat_ex("good", conv, 3);
    memset(&ex[2], 0, sizeof ex[2]);
    ex[2].id = "instr-only";
    ex[2].instruction = "Only an instruction";
    CHECK_INT(lm_train_set_build(ex, 3, TMPL_LLAMA2, NULL, vocab, 4096, &s,
                                 &e), FTSB_OK);
    CHECK_INT(s.n, 1);
    CHECK_INT(s.n_skipped, 2);
    if (s.n == 1)
        CHECK_INT(s.seq[0].index, 1);
    if (s.n_notes == 2) {
        CHECK_INT(s.notes[0].kind, LM_TRAIN_NO_ANSWER);
        CHECK_INT(s.notes[0].index, 0);
        CHECK_INT(s.notes[1].index, 2);
    }
    CHECK_INT(lm_train_set_describe(&s, 0, &text, &e), FTSB_OK);
    CHECK_CONTAINS(text, "training data: 2 of 3 examples skipped (no answer "
                   "token to train on):\n");
    CHECK_CONTAINS(text, "example 2 (id 'instr-only'): skipped, no answer");
    free(text);
    lm_train_set_free(&s);

    /* every answer token past max_len */
    ex[0] = chat_ex("cut-all", conv, 3);
    CHECK_INT(lm_train_set_build(ex, 2, TMPL_LLAMA2, NULL, vocab,
                                 (int32_t)p, &s, &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "none of the 2 training examples");
    CHECK_CONTAINS(e.msg, "0 have no assistant message (or response) and 2 "
                   "lose every answer token");
    CHECK_CONTAINS(e.msg, "raise max_len");
    CHECK_INT(s.n, 0);
    CHECK(s.seq == NULL && s.notes == NULL);
    lm_train_set_free(&s);

    /* only questions */
    ex[0] = chat_ex("q1", q, 1);
    ex[1] = chat_ex("q2", q, 1);
    CHECK_INT(lm_train_set_build(ex, 2, TMPL_LLAMA2, NULL, vocab, 4096, &s,
                                 &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "2 have no assistant message");
    tmpl_tokens_free(&t);
}

TEST(errors)
{
    static const ftsb_message bad_role[] = {
        {"user", "hi"}, {"robot", "beep"},
    };
    static const ftsb_message bad_order[] = {
        {"assistant", "first"}, {"user", "second"},
    };
    ftsb_example ex[3];
    struct lm_train_set s;
    struct lm_err e = {0};

    CHECK_INT(lm_train_set_build(NULL, 0, TMPL_LLAMA2, NULL, vocab, 512, &s,
                                 &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "the training set is empty");

    ex[0] = chat_ex("a", conv, 3);
    ex[1] = chat_ex("a", conv, 3);
    ex[2] = chat_ex("row-7", bad_role, 2);
    CHECK_INT(lm_train_set_build(ex, 3, TMPL_LLAMA2, NULL, vocab, 512, &s,
                                 &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "training example 2 (id 'row-7'): ");
    CHECK_CONTAINS(e.msg, "unknown role 'robot'");
    CHECK_INT(s.n, 0);

    ex[2] = chat_ex("bad\x01id", bad_order, 2);
    CHECK_INT(lm_train_set_build(ex, 3, TMPL_LLAMA2, NULL, vocab, 512, &s,
                                 &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "training example 2 (id 'bad\\x01id'): llama-2 "
                   "template: message 0");

    memset(&ex[1], 0, sizeof ex[1]);
    ex[1].response = "an answer without a question";
    CHECK_INT(lm_train_set_build(ex, 2, TMPL_LLAMA2, NULL, vocab, 512, &s,
                                 &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "training example 1: it has neither chat messages "
                   "nor an instruction");

    CHECK_INT(lm_train_set_build(ex, 1, TMPL_LLAMA2, NULL, vocab, 1, &s, &e),
              FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "max_len 1 is out of range");

    /* chatml needs <|im_start|>, which the synthetic vocabulary lacks */
    CHECK_INT(lm_train_set_build(ex, 1, TMPL_CHATML, NULL, vocab, 512, &s,
                                 &e), FTSB_E_UNSUPPORTED);
    CHECK_CONTAINS(e.msg, "training example 0 (id 'a'): ");
}

TEST(describe_limits)
{
    static const ftsb_message q[] = {{"user", "no answer"}};
    enum { N = 15 };
    ftsb_example ex[N];
    char ids[N][16];
    struct lm_train_set s;
    struct lm_err e = {0};
    char *text = NULL;

    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "q%d", i);
        ex[i] = chat_ex(ids[i], i == 7 ? conv : q, i == 7 ? 3 : 1);
    }
    ex[3].id = NULL;
    CHECK_INT(lm_train_set_build(ex, N, TMPL_LLAMA2, NULL, vocab, 512, &s,
                                 &e), FTSB_OK);
    CHECK_INT(s.n, 1);
    CHECK_INT(s.n_skipped, N - 1);
    CHECK_INT(lm_train_set_describe(&s, 0, &text, &e), FTSB_OK);
    CHECK_CONTAINS(text, "\n  example 3: skipped");
    CHECK_CONTAINS(text, "example 10 (id 'q10')");
    CHECK(text && !strstr(text, "example 11 "));
    CHECK_CONTAINS(text, "\n  and 4 more");
    free(text);
    CHECK_INT(lm_train_set_describe(&s, 3, &text, &e), FTSB_OK);
    CHECK_CONTAINS(text, "\n  and 11 more");
    free(text);
    lm_train_set_free(&s);
}

/* ---- order ----------------------------------------------------------------- */

static int is_perm(const int32_t *p, int32_t n)
{
    char *seen = calloc((size_t)n, 1);
    int ok = 1;

    for (int32_t i = 0; i < n; i++) {
        if (p[i] < 0 || p[i] >= n || seen[p[i]])
            ok = 0;
        else
            seen[p[i]] = 1;
    }
    free(seen);
    return ok;
}

TEST(order)
{
    enum { N = 100 };
    int32_t a[N], b[N], c[N];
    int same = 1;

    lm_train_order(0, 3, N, a);
    for (int i = 0; i < N; i++)
        same &= a[i] == i;
    CHECK(same);

    lm_train_order(42, 0, N, a);
    lm_train_order(42, 0, N, b);
    lm_train_order(42, 1, N, c);
    CHECK(is_perm(a, N) && is_perm(c, N));
    CHECK(!memcmp(a, b, sizeof a));
    CHECK(memcmp(a, c, sizeof a) != 0);
    lm_train_order(43, 0, N, b);
    CHECK(memcmp(a, b, sizeof a) != 0);

    /* pinned: a change here changes the order of every resumed run (the
     * values were also produced by an independent Python transcription of
     * the algorithm train_data.h documents) */
    int32_t p[10];
    static const int32_t want[10] = {4, 6, 7, 0, 9, 5, 1, 2, 3, 8};
    lm_train_order(42, 0, 10, p);
    printf("  order(42, 0, 10):");
    for (int i = 0; i < 10; i++)
        printf(" %d", (int)p[i]);
    printf("\n");
    CHECK(!memcmp(p, want, sizeof p));

    lm_train_order(7, 0, 1, p);
    CHECK_INT(p[0], 0);
    lm_train_order(7, 0, 0, p); /* nothing to do, nothing written */
}

TEST(order_uniform)
{
    /* the 6 orders of 3 items over 6000 epochs: each ~1000 (sd ~29) */
    int count[6] = {0};

    for (int64_t ep = 0; ep < 6000; ep++) {
        int32_t p[3];
        lm_train_order(12345, ep, 3, p);
        CHECK(is_perm(p, 3));
        count[p[0] * 2 + (p[1] > p[2])]++;
    }
    for (int k = 0; k < 6; k++) {
        if (count[k] < 850 || count[k] > 1150)
            printf("  order %d drawn %d times of 6000\n", k, count[k]);
        CHECK(count[k] >= 850 && count[k] <= 1150);
    }
}

int main(void)
{
    struct lm_random_shape shape;
    struct lm_err e = {0};
    struct gguf_file *f = NULL;
    char path[512];

    snprintf(path, sizeof path, "%s/ftsb_train_data_%d.gguf",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    if (lm_random_shape_named("tiny", &shape, &e) ||
        lm_random_model_write(path, &shape, LM_F32, 1, NULL, &e) ||
        gguf_open(path, &f, &e) || tok_load(f, &vocab, &e)) {
        printf("setup: %s\n", e.msg);
        unlink(path);
        return 1;
    }
    RUN(chat_targets);
    RUN(multi_turn);
    RUN(instruction_rows);
    RUN(cut_at_max_len);
    RUN(skips);
    RUN(errors);
    RUN(describe_limits);
    RUN(order);
    RUN(order_uniform);
    tok_free(vocab);
    gguf_close(f);
    unlink(path);
    return test_summary();
}
