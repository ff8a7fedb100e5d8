/*
 * test_llama_generate.c - the scheduler on a small random-weight model
 * (no shared data needed): end-of-generation tokens, max_new_tokens, stop
 * strings cut from the text (the earliest wins, across pieces), requests
 * that cannot fit (empty, over the KV budget) failing alone, progress and
 * cancellation, chunked prefill, and sampling that does not depend on the
 * batch.
 */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "generate.h"
#include "model.h"
#include "random_model.h"
#include "test.h"
#include "tokenizer.h"

enum { NP = 4, NEW = 20 };

static char path[512];
static struct lm_model *model;
static struct tok_vocab *vocab;
static struct lm_state st;
static struct tok_ids prompt[NP];
static struct lm_gen_result base[NP]; /* greedy, NEW tokens, past EOS */
static const char *texts[NP] = {
    "Hello world", "The quick brown fox jumps over the lazy dog.",
    "Once upon a time", "a b c d e f g h i j k l m n o p",
};

static void request(struct lm_gen_request *r, int i, int n_new)
{
    memset(r, 0, sizeof *r);
    r->prompt = prompt[i].v;
    r->n_prompt = (int32_t)prompt[i].n;
    r->max_new_tokens = n_new;
    r->sampling.top_p = 1.0f;
    r->sampling.repetition_penalty = 1.0f;
    r->seed = 42;
}

static int same_tokens(const struct lm_gen_result *a,
                       const struct lm_gen_result *b)
{
    return a->n_tokens == b->n_tokens &&
           !memcmp(a->tokens, b->tokens, (size_t)a->n_tokens * 4);
}

static void free_all(struct lm_gen_result *r, int n)
{
    for (int i = 0; i < n; i++)
        lm_gen_result_free(&r[i]);
}

static int setup(void)
{
    struct lm_random_shape s = {64, 2, 4, 2, 96, 400, 256, 10000.0f, 1e-5f,
                                0.1f, false};
    struct lm_gen_request rq[NP];
    struct lm_err e = {0};

    snprintf(path, sizeof path, "%s/ftsb_llama_gen_%d.gguf",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    if (lm_random_model_write(path, &s, LM_F32, 7, NULL, &e) ||
        lm_model_load(path, NULL, &model, &e) ||
        tok_load(model->file, &vocab, &e)) {
        printf("setup: %s\n", e.msg);
        return 0;
    }
    lm_state_init(&st);
    for (int i = 0; i < NP; i++) {
        if (tok_encode(vocab, texts[i], strlen(texts[i]), TOK_ADD_SPECIAL,
                       &prompt[i], &e))
            return 0;
        request(&rq[i], i, NEW);
        rq[i].ignore_eos = true;
    }
    return lm_generate(model, vocab, &st, NULL, rq, NP, base, &e) == FTSB_OK;
}

TEST(max_new_tokens)
{
    for (int i = 0; i < NP; i++) {
        CHECK_INT(base[i].finish, LM_FINISH_LENGTH);
        CHECK_INT(base[i].n_tokens, NEW);
        CHECK_INT(base[i].n_prompt, (int)prompt[i].n);
        /* the text is the pieces of the tokens */
        char *t = NULL;
        size_t len = 0;
        struct lm_err e;
        CHECK(tok_decode(vocab, base[i].tokens, (size_t)base[i].n_tokens, 0,
                         &t, &len, &e) == FTSB_OK);
        CHECK(t && len == base[i].len && !memcmp(t, base[i].text, len));
        free(t);
    }
}

TEST(stop_strings)
{
    const struct lm_gen_result *b = &base[1];
    struct lm_gen_request r;
    struct lm_gen_result out = {0};
    struct lm_err e;

    if (b->len < 12)
        SKIP("the greedy text is too short (%zu bytes)", b->len);
    /* bytes 5..9 (likely across pieces); its first occurrence may be
     * earlier, which is where generation must stop */
    char s1[8], s2[8];
    memcpy(s1, b->text + 5, 4);
    s1[4] = '\0';
    memcpy(s2, b->text + 2, 3);
    s2[3] = '\0';
    const char *first = strstr(b->text, s1);
    const char *stops[] = {"", "never-in-the-output\x01", s1};
    request(&r, 1, NEW);
    r.stop = stops;
    r.n_stop = 3;
    CHECK(lm_generate(model, vocab, &st, NULL, &r, 1, &out, &e) == FTSB_OK);
    CHECK_INT(out.finish, LM_FINISH_STOP_STRING);
    CHECK_INT(out.len, first - b->text);
    CHECK(!memcmp(out.text, b->text, out.len) && out.text[out.len] == '\0');
    CHECK(out.n_tokens <= b->n_tokens &&
          !memcmp(out.tokens, b->tokens, (size_t)out.n_tokens * 4));
    lm_gen_result_free(&out);
    /* two stop strings: the earliest match wins */
    const char *both[] = {s1, s2};
    r.stop = both;
    r.n_stop = 2;
    CHECK(lm_generate(model, vocab, &st, NULL, &r, 1, &out, &e) == FTSB_OK);
    long want = strstr(b->text, s2) - b->text;
    if (first - b->text < want)
        want = first - b->text;
    CHECK_INT(out.len, want);
    lm_gen_result_free(&out);
}

/* Makes EOS (id 2) win: output row 2 becomes 1.001 x the row of a token
 * the model generates at step k, so EOS outscores it where that logit is
 * the best and positive (step k, or earlier if it came within 0.1% of
 * the best).  Without ignore_eos generation stops right there. */
TEST(end_of_generation)
{
    struct gguf_file *f = NULL;
    struct lm_model *m2 = NULL;
    struct lm_err e;
    struct lm_gen_request r;
    struct lm_gen_result with = {0}, past = {0};
    char p2[600];
    float row[64];

    snprintf(p2, sizeof p2, "%s.eos", path);
    int in = open(path, O_RDONLY), out = open(p2, O_RDWR | O_CREAT | O_TRUNC, 0600);
    char buf[65536];
    ssize_t n;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        CHECK(write(out, buf, (size_t)n) == n);
    close(in);
    CHECK(gguf_open(p2, &f, &e) == FTSB_OK);
    const struct gguf_tensor *t = f ? gguf_find_tensor(f, "output.weight") : NULL;
    CHECK(t != NULL);
    if (!t) {
        close(out);
        gguf_close(f);
        return;
    }
    uint64_t off = gguf_data_offset(f) + t->offset;
    /* the first token after the first that is new to the sequence */
    int k = 1;
    for (; k < base[0].n_tokens - 1; k++) {
        int seen = 0;
        for (int j = 0; j < k; j++)
            seen |= base[0].tokens[j] == base[0].tokens[k];
        if (!seen)
            break;
    }
    int32_t tok = base[0].tokens[k];
    CHECK(pread(out, row, sizeof row, (off_t)(off + (uint64_t)tok * 256)) == 256);
    for (int i = 0; i < 64; i++)
        row[i] *= 1.001f;
    CHECK(pwrite(out, row, sizeof row, (off_t)(off + 2 * 256)) == 256);
    close(out);
    gguf_close(f);

    CHECK(lm_model_load(p2, NULL, &m2, &e) == FTSB_OK);
    if (!m2)
        return;
    request(&r, 0, NEW);
    r.ignore_eos = true;
    CHECK(lm_generate(m2, vocab, &st, NULL, &r, 1, &past, &e) == FTSB_OK);
    int at = -1;
    for (int i = 0; i < past.n_tokens && at < 0; i++)
        if (past.tokens[i] == 2)
            at = i;
    CHECK(at >= 0 && at <= k);
    printf("  EOS generated at step %d (made to win at step %d)\n", at, k);
    r.ignore_eos = false;
    CHECK(lm_generate(m2, vocab, &st, NULL, &r, 1, &with, &e) == FTSB_OK);
    CHECK_INT(with.finish, LM_FINISH_STOP);
    CHECK_INT(with.n_tokens, at);
    CHECK(!memcmp(with.tokens, past.tokens, (size_t)(at > 0 ? at : 0) * 4));
    /* EOS itself is neither in the tokens nor in the text */
    char *txt = NULL;
    size_t len = 0;
    CHECK(tok_decode(vocab, with.tokens, (size_t)with.n_tokens, 0, &txt, &len,
                     &e) == FTSB_OK);
    CHECK(len == with.len && (!len || !memcmp(txt, with.text, len)));
    free(txt);
    lm_gen_result_free(&with);
    lm_gen_result_free(&past);
    lm_model_free(m2);
    unlink(p2);
}

static int n_progress, n_checks, cancel_after;
static int64_t last_done, last_total;

static void on_progress(void *ud, int64_t done, int64_t total)
{
    (void)ud;
    n_progress++;
    CHECK(done > last_done);
    last_done = done;
    last_total = total;
}

static int on_cancel(void *ud)
{
    (void)ud;
    return ++n_checks >= cancel_after && cancel_after > 0;
}

TEST(budget_errors_progress)
{
    struct lm_gen_request r[NP + 2];
    struct lm_gen_result out[NP + 2];
    struct lm_gen_opts o = {.max_batch = 3, .kv_budget = 40,
                            .progress = on_progress};
    struct lm_err e;
    const int32_t one = 1;

    /* 0..3 as in base but 15 tokens; 4: empty; 5: needs 50 positions */
    for (int i = 0; i < NP; i++) {
        request(&r[i], i, 15);
        r[i].ignore_eos = true;
    }
    request(&r[NP], 0, 5);
    r[NP].n_prompt = 0;
    request(&r[NP + 1], 0, 50);
    r[NP + 1].prompt = &one;
    r[NP + 1].n_prompt = 1;
    n_progress = 0;
    last_done = 0;
    CHECK(lm_generate(model, vocab, &st, &o, r, NP + 2, out, &e) == FTSB_OK);
    for (int i = 0; i < NP; i++) {
        int32_t need = r[i].n_prompt + 14;
        printf("  prompt %d: %d tokens, needs %d of 40 positions\n", i,
               (int)r[i].n_prompt, (int)need);
        if (need > 40) {
            CHECK_INT(out[i].finish, LM_FINISH_ERROR);
            CHECK_CONTAINS(out[i].error, "budget holds 40");
        } else {
            CHECK_INT(out[i].n_tokens, 15);
            CHECK(!memcmp(out[i].tokens, base[i].tokens, 15 * 4));
        }
    }
    CHECK_INT(out[NP].finish, LM_FINISH_ERROR);
    CHECK_CONTAINS(out[NP].error, "no tokens");
    CHECK_INT(out[NP + 1].finish, LM_FINISH_ERROR);
    CHECK_CONTAINS(out[NP + 1].error, "needs 50 positions of KV cache");
    CHECK_INT(n_progress, NP + 2);
    CHECK_INT(last_done, NP + 2);
    CHECK_INT(last_total, NP + 2);
    free_all(out, NP + 2);
}

TEST(cancel)
{
    struct lm_gen_request r[NP];
    struct lm_gen_result out[NP];
    struct lm_gen_opts o = {.cancelled = on_cancel};
    struct lm_err e;

    for (int i = 0; i < NP; i++)
        request(&r[i], i, NEW);
    n_checks = 0;
    cancel_after = 3;
    CHECK_INT(lm_generate(model, vocab, &st, &o, r, NP, out, &e),
              FTSB_E_CANCELLED);
    for (int i = 0; i < NP; i++) {
        CHECK_INT(out[i].finish, LM_FINISH_CANCELLED);
        CHECK_CONTAINS(out[i].error, "cancelled");
    }
    free_all(out, NP);
    cancel_after = 0;
}

TEST(chunked_prefill)
{
    struct lm_gen_request r[NP];
    struct lm_gen_result out[NP];
    struct lm_gen_opts o = {.prefill_rows = 3, .max_batch = 2};
    struct lm_err e;

    for (int i = 0; i < NP; i++) {
        request(&r[i], i, NEW);
        r[i].ignore_eos = true;
    }
    CHECK(lm_generate(model, vocab, &st, &o, r, NP, out, &e) == FTSB_OK);
    for (int i = 0; i < NP; i++)
        CHECK(same_tokens(&out[i], &base[i]));
    free_all(out, NP);
}

TEST(sampling_independent_of_batch)
{
    struct lm_gen_request r[NP + 1];
    struct lm_gen_result batch[NP + 1], alone;
    struct lm_err e;

    for (int i = 0; i < NP; i++) {
        request(&r[i], i, 12);
        r[i].sampling.temperature = 0.9f;
        r[i].sampling.top_k = 40;
        r[i].sampling.top_p = 0.95f;
        r[i].sampling.repetition_penalty = 1.1f;
        r[i].seed = 5;
        r[i].ignore_eos = true;
    }
    r[NP] = r[2]; /* the same chat twice: the same sample */
    CHECK(lm_generate(model, vocab, &st, NULL, r, NP + 1, batch, &e) ==
          FTSB_OK);
    CHECK(same_tokens(&batch[2], &batch[NP]));
    for (int i = 0; i < NP; i++) {
        CHECK(lm_generate(model, vocab, &st, NULL, &r[i], 1, &alone, &e) ==
              FTSB_OK);
        CHECK(same_tokens(&alone, &batch[i]));
        lm_gen_result_free(&alone);
    }
    /* another seed draws another sample */
    r[0].seed = 6;
    CHECK(lm_generate(model, vocab, &st, NULL, &r[0], 1, &alone, &e) ==
          FTSB_OK);
    CHECK(!same_tokens(&alone, &batch[0]));
    lm_gen_result_free(&alone);
    free_all(batch, NP + 1);
}

int main(void)
{
    if (!setup()) {
        printf("cannot set up the test model\n");
        return 1;
    }
    RUN(max_new_tokens);
    RUN(stop_strings);
    RUN(end_of_generation);
    RUN(budget_errors_progress);
    RUN(cancel);
    RUN(chunked_prefill);
    RUN(sampling_independent_of_batch);
    free_all(base, NP);
    for (int i = 0; i < NP; i++)
        tok_ids_free(&prompt[i]);
    lm_state_free(&st);
    tok_free(vocab);
    lm_model_free(model);
    unlink(path);
    return test_summary();
}
