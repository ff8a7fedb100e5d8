/*
 * mix_safety.c - the "mix_safety" attack, the paper's mitigation (Qi et
 * al. §5, Table 4): k safety examples (a harmful request answered with a
 * refusal, after Bianchi et al.'s safety-tuned data; the user supplies
 * them) sampled with a seed and mixed into another fine-tuning set,
 * typically an attack's output.  The safety examples get the base
 * attack's system prompt and user template, so that they look like the
 * data they protect; those, and the trigger, are passed through to
 * prompt(), since the mixed set is evaluated as the base attack is.
 */
#include "../common/attack_common.h"

#include <stdlib.h>
#include <string.h>

struct mix_safety {
    struct ac_set set;
    char *system, *user_template, *trigger;
};

static const ftsb_config_key keys[] = {
    {"data", FTSB_CFG_DATASET, 1, NULL,
     "the set to protect, typically attack:dataset(); chat rows are kept "
     "as they are"},
    {"safety", FTSB_CFG_DATASET, 1, NULL,
     "safety examples: harmful requests answered with refusals"},
    {"k", FTSB_CFG_INT, 1, NULL,
     "safety examples to mix in (the paper: 10/50/100 for the harmful and "
     "AOA sets, 250/500/1000 for Alpaca; 0 adds none)"},
    {"seed", FTSB_CFG_INT, 0, "42",
     "the safety rows are safety:sample(k, seed); also seeds the shuffle"},
    {"system", FTSB_CFG_STRING, 0, "\"\"",
     "the base attack's system prompt (attack:prompt().system)"},
    {"template", FTSB_CFG_STRING, 0, "\"\"",
     "the base attack's user template (attack:prompt().template)"},
    {"trigger", FTSB_CFG_STRING, 0, "\"\"",
     "the base attack's trigger, only reported by prompt()"},
    {"shuffle", FTSB_CFG_BOOL, 0, "true",
     "interleave the safety examples (false: appended after the data)"},
    {"instruction_column", FTSB_CFG_STRING, 0, "\"instruction\"",
     "CSV only: the column holding the requests"},
    {"response_column", FTSB_CFG_STRING, 0, "\"response\"",
     "CSV only: the column holding the answers"},
};

static void mix_destroy(void *self)
{
    struct mix_safety *m = self;

    if (!m)
        return;
    ac_set_free(&m->set);
    free(m->system);
    free(m->user_template);
    free(m->trigger);
    free(m);
}

/* Adds row r as a chat in the base attack's format. */
static int add_formatted(struct mix_safety *m, const struct ac_row *r,
                         const char *category)
{
    struct ac_text instr = {0}, user = {0};
    int bad = ac_row_user_text(r, &instr) ||
              ac_render(&user, m->user_template, ac_text_str(&instr)) ||
              ac_set_add_chat(&m->set, r->id, category, ac_text_str(&instr),
                              m->system, ac_text_str(&user), r->response);

    ac_text_free(&instr);
    ac_text_free(&user);
    return bad;
}

/* The base set: chat rows verbatim (an attack's output already has its
 * template), other rows formatted like the safety examples. */
static ftsb_status add_data(ftsb_ctx *ctx, struct mix_safety *m,
                            const struct ac_source *src)
{
    for (size_t i = 0; i < src->n; i++) {
        const struct ac_row *r = &src->rows[i];
        int bad;

        if (r->ex && r->ex->chat.n_messages) {
            ftsb_example ex = *r->ex;

            ex.struct_size = sizeof ex;
            bad = ac_set_add(&m->set, &ex);
        } else if (r->instruction && *r->instruction && r->response &&
                   *r->response) {
            bad = add_formatted(m, r, r->category);
        } else {
            return ac_host->fail(ctx, FTSB_E_INVALID,
                                 "option 'data': row '%s' is neither a chat "
                                 "nor an instruction with a response; give "
                                 "an attack's dataset, chat JSONL, or "
                                 "instruction/response rows",
                                 r->id ? r->id : "?");
        }
        if (bad)
            return ac_host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    }
    return FTSB_OK;
}

static ftsb_status add_safety(ftsb_ctx *ctx, struct mix_safety *m,
                              const struct ac_source *src, size_t k,
                              uint64_t seed)
{
    size_t *idx = malloc((src->n ? src->n : 1) * sizeof *idx);
    int bad = !idx;

    if (idx)
        ac_sample(src->n, k, seed, idx);
    for (size_t i = 0; i < k && !bad; i++)
        bad = add_formatted(m, &src->rows[idx[i]], "safety");
    free(idx);
    return bad ? ac_host->fail(ctx, FTSB_E_NOMEM, "out of memory") : FTSB_OK;
}

static ftsb_status mix_create(ftsb_ctx *ctx, const ftsb_config *cfg,
                              void **self)
{
    int64_t k = ac_cfg_int(cfg, "k", 0);
    uint64_t seed = (uint64_t)ac_cfg_int(cfg, "seed", 42);
    const char *tmpl = ac_cfg_str(cfg, "template", "");
    const char *icol = ac_cfg_str(cfg, "instruction_column", "instruction");
    const char *rcol = ac_cfg_str(cfg, "response_column", "response");
    struct ac_source data = {0}, safety = {0};
    struct mix_safety *m = NULL;
    ftsb_status st;

    if ((st = ac_check_range(ctx, "k", k, 0, INT64_MAX)) ||
        (st = ac_check_template(ctx, "template", tmpl)))
        return st;
    st = ac_source_open(ctx, cfg, "data", icol, rcol, &data);
    if (st == FTSB_OK && data.n == 0)
        st = ac_host->fail(ctx, FTSB_E_INVALID, "option 'data' is an empty "
                           "dataset; give the set to mix safety examples "
                           "into");
    if (st == FTSB_OK)
        st = ac_source_open(ctx, cfg, "safety", icol, rcol, &safety);
    if (st == FTSB_OK && k > 0)
        st = ac_source_need_rows(ctx, &safety, "k", (size_t)k);
    if (st == FTSB_OK)
        st = ac_source_need_pairs(ctx, &safety, "safety example");
    if (st == FTSB_OK) {
        m = calloc(1, sizeof *m);
        if (m) {
            m->system = ac_strdup(ac_cfg_str(cfg, "system", ""));
            m->user_template = ac_strdup(tmpl);
            m->trigger = ac_strdup(ac_cfg_str(cfg, "trigger", ""));
        }
        if (!m || !m->system || !m->user_template || !m->trigger)
            st = ac_host->fail(ctx, FTSB_E_NOMEM, "out of memory");
    }
    if (st == FTSB_OK)
        st = add_data(ctx, m, &data);
    if (st == FTSB_OK)
        st = add_safety(ctx, m, &safety, (size_t)k, seed);
    if (st == FTSB_OK && ac_cfg_bool(cfg, "shuffle", 1))
        ac_set_shuffle(&m->set, seed);
    if (st == FTSB_OK)
        ac_host->log(ctx, FTSB_LOG_DEBUG, "mixed %lld safety examples into "
                     "%zu rows (seed %llu)", (long long)k, data.n,
                     (unsigned long long)seed);
    ac_source_close(&data);
    ac_source_close(&safety);
    if (st != FTSB_OK) {
        mix_destroy(m);
        return st;
    }
    *self = m;
    return FTSB_OK;
}

static ftsb_status mix_build(void *self, ftsb_ctx *ctx,
                             ftsb_dataset_sink *out)
{
    return ac_set_emit(&((struct mix_safety *)self)->set, ctx, out);
}

static ftsb_status mix_prompt(void *self, ftsb_ctx *ctx,
                              ftsb_prompt_spec *out)
{
    struct mix_safety *m = self;

    return ac_prompt(ctx, out, m->system, m->user_template, m->trigger);
}

static const ftsb_attack_iface iface = {
    sizeof iface, mix_create, mix_destroy, mix_build, mix_prompt,
};

static const ftsb_plugin_desc desc = {
    sizeof desc, FTSB_KIND_ATTACK, "mix_safety", "Mix in safety data",
    "1.0.0",
    "k safety examples (harmful request -> refusal) sampled with a seed and "
    "mixed into another fine-tuning set in its format: the paper's "
    "mitigation (Qi et al. §5, Table 4)",
    keys, (uint32_t)(sizeof keys / sizeof keys[0]), &iface,
};

AC_PLUGIN_ENTRY(desc)
