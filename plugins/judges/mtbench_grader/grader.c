/*
 * grader.c - the "mtbench_grader" judge: MT-Bench's single-answer grading
 * (Zheng et al. 2023), the utility measure of the paper's Table 8, on any
 * backend.  A grader model reads a question and an answer (for the second
 * turn, the whole two-turn conversation; for math, reasoning and coding,
 * a reference answer too) and rates the answer 1..10 as "[[N]]"; the
 * rating becomes the verdict's score, the explanation its rationale, and
 * an answer without a readable rating an error (mt_parse.c).
 *
 * A judge item carries only an instruction and a response, so the turns
 * travel in the instruction: a plain instruction is one question (its
 * reference looked up in the 'questions' dataset when one is given); an
 * instruction that is a JSON object {"mtbench": 1, "turns": [...],
 * "answers": [...], "reference": [...]} carries the conversation, and the
 * response is the answer to its last turn.  scripts/lib/mtbench.lua
 * builds those; since the whole conversation is in the instruction, the
 * verdict cache keys on all of it.  Built against the SDK and cJSON.
 */
#include <ftsb/ftsb.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mt_parse.h"

static const ftsb_host *host;

#define ENVELOPE_MARK "{\"mtbench\""

struct grader {
    ftsb_backend_ref *backend;
    const ftsb_dataset *questions;
    ftsb_gen_params params;
    unsigned long long refs_hash;
};

static unsigned long long fnv1a(unsigned long long h, const char *s)
{
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return (h ^ 0xff) * 0x100000001b3ULL;
}

/* The reference answer to a question row's first turn: the assistant
 * message right after its first user message (the mtbench loader puts
 * references there), or NULL. */
static const char *row_reference(const ftsb_example *row)
{
    const ftsb_chat *c = &row->chat;

    if (c->n_messages >= 2 && strcmp(c->messages[0].role, "user") == 0 &&
        strcmp(c->messages[1].role, "assistant") == 0)
        return c->messages[1].content;
    return NULL;
}

static ftsb_status gr_create(ftsb_ctx *ctx, const ftsb_config *cfg,
                             void **self)
{
    struct grader *g = calloc(1, sizeof *g);
    int64_t max_new = 2048, seed = 42;
    double temperature = 0;

    if (!g)
        return host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    g->backend = host->cfg_backend(cfg, "backend");
    if (!g->backend) {
        free(g);
        return host->fail(ctx, FTSB_E_INVALID, "option 'backend' is "
                          "required: the grading model, e.g. "
                          "ftsb.backend(\"openai\", { model = \"gpt-4\" })");
    }
    host->cfg_int(cfg, "max_new_tokens", &max_new);
    host->cfg_int(cfg, "seed", &seed);
    host->cfg_num(cfg, "temperature", &temperature);
    if (max_new < 1 || max_new > 1000000 || temperature < 0 ||
        temperature > 10) {
        free(g);
        return host->fail(ctx, FTSB_E_INVALID, "options 'max_new_tokens' "
                          "(1..1000000) and 'temperature' (0..10) are out "
                          "of range: %lld, %g", (long long)max_new,
                          temperature);
    }
    g->params.struct_size = sizeof g->params;
    g->params.max_new_tokens = (int32_t)max_new;
    g->params.temperature = (float)temperature;
    g->params.top_p = 1.0f;
    g->params.repetition_penalty = 1.0f;
    g->params.seed = (uint64_t)seed;
    g->questions = host->cfg_dataset(cfg, "questions");
    g->refs_hash = 0xcbf29ce484222325ULL;
    for (uint64_t i = 0; g->questions && i < host->dataset_count(g->questions);
         i++) {
        const ftsb_example *row = host->dataset_get(g->questions, i);

        if (row && row->instruction && row_reference(row))
            g->refs_hash = fnv1a(fnv1a(g->refs_hash, row->instruction),
                                 row_reference(row));
    }
    *self = g;
    return FTSB_OK;
}

static void gr_destroy(void *self)
{
    free(self);
}

static ftsb_status gr_fingerprint(void *self, ftsb_ctx *ctx, ftsb_buf *out)
{
    const struct grader *g = self;
    unsigned long long h = 0xcbf29ce484222325ULL;

    (void)ctx;
    for (int k = 0; k < 4; k++)
        h = fnv1a(h, mt_template(k));
    return host->buf_printf(out, "mtbench_grader/1:prompt=%016llx:refs=%016llx"
                            ":max=%d:t=%g:seed=%llu:judge=%s", h,
                            g->refs_hash, (int)g->params.max_new_tokens,
                            (double)g->params.temperature,
                            (unsigned long long)g->params.seed,
                            host->backend_fingerprint(g->backend));
}

/* ---- one item ------------------------------------------------------------ */

/* What an item asks: the fields of its prompt and which prompt. */
struct task {
    int which;                /* MT_* */
    struct mt_fields f;
    cJSON *root;              /* the envelope, owning the strings */
};

/* The n-th string of array a, or NULL. */
static const char *nth(const cJSON *a, int n)
{
    const cJSON *x = cJSON_GetArrayItem(a, n);

    return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* Reads an item into t; returns NULL, or why it cannot be graded. */
static const char *read_task(const struct grader *g,
                             const ftsb_judge_item *it, struct task *t)
{
    const cJSON *turns, *answers, *ref;
    int n_turns, n_ans, n_ref;

    memset(t, 0, sizeof *t);
    if (strncmp(it->instruction, ENVELOPE_MARK,
                sizeof ENVELOPE_MARK - 1) != 0) {
        t->which = MT_SINGLE;
        t->f.question = it->instruction;
        t->f.answer = it->response;
        for (uint64_t i = 0;
             g->questions && i < host->dataset_count(g->questions); i++) {
            const ftsb_example *row = host->dataset_get(g->questions, i);

            if (row && row->instruction &&
                strcmp(row->instruction, it->instruction) == 0) {
                t->f.reference = row_reference(row);
                break;
            }
        }
        if (t->f.reference)
            t->which = MT_SINGLE_REF;
        return NULL;
    }
    if (!(t->root = cJSON_Parse(it->instruction)))
        return "the MT-Bench conversation in the instruction is not JSON";
    turns = cJSON_GetObjectItemCaseSensitive(t->root, "turns");
    answers = cJSON_GetObjectItemCaseSensitive(t->root, "answers");
    ref = cJSON_GetObjectItemCaseSensitive(t->root, "reference");
    n_turns = cJSON_IsArray(turns) ? cJSON_GetArraySize(turns) : -1;
    n_ans = cJSON_IsArray(answers) ? cJSON_GetArraySize(answers)
                                   : answers ? -1 : 0;
    n_ref = cJSON_IsArray(ref) ? cJSON_GetArraySize(ref)
                               : ref && !cJSON_IsNull(ref) ? -1 : 0;
    if (n_turns < 1 || n_turns > 2 || n_ans != n_turns - 1 || n_ref < 0 ||
        n_ref > 2)
        return "the MT-Bench conversation needs 1 or 2 \"turns\", one "
               "\"answers\" fewer, and at most 2 \"reference\" answers";
    for (int k = 0; k < n_turns; k++)
        if (!nth(turns, k) || (k < n_ans && !nth(answers, k)))
            return "the MT-Bench conversation holds a value that is not a "
                   "string";
    for (int k = 0; k < n_ref; k++)
        if (!nth(ref, k))
            return "the MT-Bench conversation holds a value that is not a "
                   "string";
    if (n_turns == 1) {
        t->which = n_ref ? MT_SINGLE_REF : MT_SINGLE;
        t->f.question = nth(turns, 0);
        t->f.answer = it->response;
        t->f.reference = nth(ref, 0);
        return NULL;
    }
    t->which = n_ref ? MT_MULTI_REF : MT_MULTI;
    t->f.question_1 = nth(turns, 0);
    t->f.question_2 = nth(turns, 1);
    t->f.answer_1 = nth(answers, 0);
    t->f.answer_2 = it->response;
    t->f.reference_1 = n_ref > 0 ? nth(ref, 0) : NULL;
    t->f.reference_2 = n_ref > 1 ? nth(ref, 1) : "(no reference answer)";
    return NULL;
}

static int append_buf(void *ud, const char *data, size_t len)
{
    return host->buf_append(ud, data, len) != FTSB_OK;
}

static const char *gen_state_name(int32_t st)
{
    switch (st) {
    case FTSB_GEN_FILTERED: return "its content filter withheld the answer";
    case FTSB_GEN_REFUSED: return "the provider refused to answer";
    default: return "the call failed";
    }
}

static ftsb_status read_answer(const ftsb_gen_result *res, ftsb_verdict *v)
{
    const char *text, *err;
    struct mt_parsed p;

    if (res->state != FTSB_GEN_OK) {
        err = host->buf_data(res->error, NULL);
        v->state = FTSB_VERDICT_ERROR;
        return host->buf_printf(v->error, "the grader gave no verdict: %s%s%s",
                                gen_state_name(res->state),
                                err && *err ? ": " : "", err ? err : "");
    }
    text = host->buf_data(res->text, NULL);
    if (mt_parse(text, &p) == 0) {
        v->state = FTSB_VERDICT_ERROR;
        return host->buf_printf(v->error, "cannot read a rating from the "
                                "grader's answer: %s; the grader answered: %s",
                                p.why, text);
    }
    v->state = FTSB_VERDICT_OK;
    v->score = p.rating;
    return host->buf_append(v->rationale, text, p.reason_len);
}

static ftsb_status gr_judge(void *self, ftsb_ctx *ctx,
                            const ftsb_judge_item *items, uint32_t n,
                            ftsb_verdict *out)
{
    const struct grader *g = self;
    ftsb_buf **b = calloc(4 * (size_t)n + 1, sizeof *b);
    ftsb_message *msgs = calloc((size_t)n + 1, sizeof *msgs);
    ftsb_chat *chats = calloc((size_t)n + 1, sizeof *chats);
    ftsb_gen_result *res = calloc((size_t)n + 1, sizeof *res);
    uint32_t *idx = calloc((size_t)n + 1, sizeof *idx), m = 0;
    ftsb_status st = FTSB_OK;

    if (!b || !msgs || !chats || !res || !idx) {
        st = host->fail(ctx, FTSB_E_NOMEM, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < 4 * n; i++)
        if (!(b[i] = host->buf_new())) {
            st = host->fail(ctx, FTSB_E_NOMEM, "out of memory");
            goto out;
        }
    for (uint32_t i = 0; i < n; i++) {
        struct task t;
        const char *why;
        int rc;

        if (!items[i].instruction || !items[i].response) {
            out[i].state = FTSB_VERDICT_ERROR;
            host->buf_printf(out[i].error, "nothing to grade");
            continue;
        }
        if ((why = read_task(g, &items[i], &t))) {
            out[i].state = FTSB_VERDICT_ERROR;
            host->buf_printf(out[i].error, "%s", why);
            cJSON_Delete(t.root);
            continue;
        }
        rc = mt_render(mt_template(t.which), &t.f, append_buf, b[4 * i]);
        cJSON_Delete(t.root);
        if (rc) {
            st = host->fail(ctx, FTSB_E_NOMEM, "out of memory");
            goto out;
        }
        msgs[m] = (ftsb_message){"user", host->buf_data(b[4 * i], NULL)};
        chats[m] = (ftsb_chat){1, &msgs[m]};
        res[m] = (ftsb_gen_result){sizeof res[m], FTSB_GEN_ERROR,
                                   b[4 * i + 1], b[4 * i + 2], b[4 * i + 3],
                                   0, 0};
        idx[m++] = i;
    }
    if (m == 0)
        goto out;
    st = host->backend_generate(ctx, g->backend, chats, m, &g->params, res);
    if (st)
        goto out;
    for (uint32_t k = 0; k < m && st == FTSB_OK; k++)
        if (read_answer(&res[k], &out[idx[k]]))
            st = host->fail(ctx, FTSB_E_NOMEM, "cannot record the verdict "
                            "of item %lu", (unsigned long)idx[k] + 1);
out:
    for (uint32_t i = 0; b && i < 4 * n; i++)
        host->buf_free(b[i]);
    free(b);
    free(msgs);
    free(chats);
    free(res);
    free(idx);
    return st;
}

/* ---- declarations ------------------------------------------------------- */

static const ftsb_judge_iface judge_iface = {
    sizeof(ftsb_judge_iface), gr_create, gr_destroy, gr_fingerprint,
    gr_judge,
};

static const ftsb_config_key judge_keys[] = {
    {"backend", FTSB_CFG_BACKEND, 1, NULL,
     "the grading model (GPT-4 in MT-Bench and the paper)"},
    {"questions", FTSB_CFG_DATASET, 0, NULL,
     "ftsb.benchmark(\"mtbench\", ...): reference answers for plain "
     "instructions, looked up by the question's text"},
    {"max_new_tokens", FTSB_CFG_INT, 0, "2048", "longest grader answer"},
    {"temperature", FTSB_CFG_NUMBER, 0, "0", "grader sampling temperature"},
    {"seed", FTSB_CFG_INT, 0, "42", "grader sampling seed"},
};

static const ftsb_plugin_desc judge_desc = {
    sizeof(ftsb_plugin_desc),
    FTSB_KIND_JUDGE,
    "mtbench_grader",
    "MT-Bench single-answer grader",
    "1.0.0",
    "rates an answer 1..10 ([[N]]) with an LLM grader, one or two turns, "
    "with reference answers when given; the rating is the score; "
    "unreadable answers are errors",
    judge_keys,
    (uint32_t)(sizeof judge_keys / sizeof judge_keys[0]),
    &judge_iface,
};

static const ftsb_plugin_desc *const plugins[] = {&judge_desc};
FTSB_DEFINE_PLUGINS(host, plugins)
