/*
 * lua_eval.c - ftsb.evaluate{} and ftsb.records(): running an evaluation
 * from Lua and reading its results back.
 *
 *     local res = ftsb.evaluate{ name = "before", model = m, benchmark = b,
 *                                judges = { kw = j }, metrics = { asr },
 *                                prompt = attack:prompt(), trigger = false,
 *                                params = { max_new_tokens = 128 } }
 *     print(res.ok, res.errors, res.metrics[1].value)
 *     for _, r in ipairs(ftsb.records(res.name)) do ... end
 */
#include "../ftsb_setup.h"

#include <math.h>

#include "../data/dataset.h"
#include "../eval/evaluate.h"
#include "../plugin/instance.h"
#include "../plugin/session.h"
#include "../store/store.h"
#include "lua_int.h"

static const char *opt_string_field(lua_State *L, int t, const char *k,
                                    const char *def)
{
    const char *s = def;

    if (lua_getfield(L, t, k) != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TSTRING)
            lua_errorf(L, "evaluate: '%s' must be a string", k);
        s = lua_tostring(L, -1);
    }
    lua_pop(L, 1);   /* the argument table keeps the string alive */
    return s;
}

/* Reads prompt = {system=, template=, trigger=} (an attack's prompt()). */
static void read_prompt(lua_State *L, int t, struct eval_spec *spec)
{
    int use_trigger;

    spec->system = "";
    spec->user_template = "";
    spec->trigger = "";
    lua_getfield(L, t, "trigger");
    use_trigger = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (lua_getfield(L, t, "prompt") == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    if (!lua_istable(L, -1))
        lua_errorf(L, "evaluate: 'prompt' must be a table like "
                      "attack:prompt() returns");
    /* The prompt table stays on the stack below the caller's work. */
    spec->system = opt_string_field(L, lua_gettop(L), "system", "");
    spec->user_template = opt_string_field(L, lua_gettop(L), "template", "");
    if (use_trigger)
        spec->trigger = opt_string_field(L, lua_gettop(L), "trigger", "");
}

static int judge_cmp(const void *a, const void *b)
{
    const struct eval_judge *x = a, *y = b;

    return strcmp(x->name, y->name);
}

/* judges = { judge, ... } keeps its order, each named by plugin id;
 * judges = { name = judge, ... } is sorted by name, since Lua's table
 * order is undefined and "the first judge" (for metrics) must not depend
 * on it. */
static size_t read_judges(lua_State *L, int t, struct eval_judge **out)
{
    struct eval_judge *j;
    size_t n = 0, cap = 0;
    lua_Integer len;

    if (lua_getfield(L, t, "judges") == LUA_TNIL) {
        *out = NULL;
        return 0;
    }
    luaL_checktype(L, -1, LUA_TTABLE);
    len = luaL_len(L, -1);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        cap++;
        lua_pop(L, 1);
    }
    j = lua_newuserdatauv(L, cap * sizeof *j + 1, 0);
    lua_insert(L, -2);           /* keep the array below the table */
    if ((lua_Integer)cap == len) {
        for (lua_Integer i = 1; i <= len; i++) {
            struct instance *inst;

            lua_geti(L, -1, i);
            inst = lua_check_instance(L, -1, FTSB_KIND_JUDGE);
            j[n++] = (struct eval_judge){inst->desc->id, inst};
            lua_pop(L, 1);
        }
        *out = j;
        return n;
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        struct instance *inst = lua_check_instance(L, -1, FTSB_KIND_JUDGE);

        if (lua_type(L, -2) != LUA_TSTRING)
            lua_errorf(L, "evaluate: 'judges' is either a list of judges or "
                          "a table of name = judge, not a mix");
        j[n++] = (struct eval_judge){lua_tostring(L, -2), inst};
        lua_pop(L, 1);
    }
    qsort(j, n, sizeof *j, judge_cmp);
    *out = j;
    return n;            /* the judges table and the array stay on stack */
}

static size_t read_metrics(lua_State *L, int t, struct instance ***out)
{
    struct instance **m;
    lua_Integer n;

    if (lua_getfield(L, t, "metrics") == LUA_TNIL) {
        *out = NULL;
        return 0;
    }
    luaL_checktype(L, -1, LUA_TTABLE);
    n = luaL_len(L, -1);
    m = lua_newuserdatauv(L, (size_t)n * sizeof *m + 1, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, -2, i);
        m[i - 1] = lua_check_instance(L, -1, FTSB_KIND_METRIC);
        lua_pop(L, 1);
    }
    *out = m;
    return (size_t)n;
}

static void push_metric(lua_State *L, const ftsb_metric_value *v)
{
    lua_createtable(L, 0, 7);
    lua_pushstring(L, v->name);
    lua_setfield(L, -2, "name");
    if (v->category) {
        lua_pushstring(L, v->category);
        lua_setfield(L, -2, "category");
    }
    lua_pushnumber(L, v->value);
    lua_setfield(L, -2, "value");
    lua_pushnumber(L, v->ci_low);
    lua_setfield(L, -2, "lo");
    lua_pushnumber(L, v->ci_high);
    lua_setfield(L, -2, "hi");
    lua_pushinteger(L, v->n);
    lua_setfield(L, -2, "n");
    lua_pushinteger(L, v->n_errors);
    lua_setfield(L, -2, "errors");
}

static void set_int(lua_State *L, const char *k, int64_t v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

/* The summary table (its metrics list included); no Lua error may
 * happen between eval_run and here without freeing sum. */
static void push_summary(lua_State *L, const struct eval_summary *sum)
{
    lua_createtable(L, 0, 10);
    lua_pushstring(L, sum->name);
    lua_setfield(L, -2, "name");
    set_int(L, "run_id", sum->run_id);
    set_int(L, "rows", sum->n_rows);
    set_int(L, "ok", sum->n_ok);
    set_int(L, "filtered", sum->n_filtered);
    set_int(L, "refused", sum->n_refused);
    set_int(L, "errors", sum->n_error);
    set_int(L, "generated", sum->n_generated);
    set_int(L, "verdict_errors", sum->n_verdict_errors);
    lua_createtable(L, (int)sum->metrics.n, 0);
    for (size_t i = 0; i < sum->metrics.n; i++) {
        push_metric(L, &sum->metrics.v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "metrics");
}

static int l_evaluate(lua_State *L)
{
    struct eval_spec spec;
    struct eval_judge *judges;
    struct instance **metrics;
    struct eval_summary sum;
    const char *stop[64];
    struct err err;
    ftsb_status st;
    lua_Integer batch;
    int isint;

    luaL_checktype(L, 1, LUA_TTABLE);
    memset(&spec, 0, sizeof spec);
    spec.name = opt_string_field(L, 1, "name", NULL);
    if (lua_getfield(L, 1, "model") == LUA_TNIL)
        return lua_errorf(L, "evaluate: 'model' (a backend) is required");
    spec.backend = lua_check_instance(L, -1, FTSB_KIND_BACKEND);
    if (lua_getfield(L, 1, "benchmark") == LUA_TNIL)
        return lua_errorf(L, "evaluate: 'benchmark' (a dataset) is required");
    spec.bench = lds_check(L, -1)->ds;
    spec.n_judges = read_judges(L, 1, &judges);
    spec.judges = judges;
    spec.n_metrics = read_metrics(L, 1, &metrics);
    spec.metrics = metrics;
    read_prompt(L, 1, &spec);
    lua_getfield(L, 1, "params");
    lua_check_gen_params(L, lua_gettop(L), &spec.params, stop, 64);
    lua_getfield(L, 1, "batch");
    batch = lua_isnil(L, -1) ? 8 : lua_tointegerx(L, -1, &isint);
    if (!lua_isnil(L, -1) && (!isint || batch < 1 || batch > 4096))
        return lua_errorf(L, "evaluate: 'batch' must be an integer in "
                             "1..4096");
    spec.batch = (uint32_t)batch;
    err_clear(&err);
    st = eval_run(lua_session(L), &spec, &sum, &err);
    if (st) {
        eval_summary_release(&sum);
        return lua_raise_err(L, &err);
    }
    push_summary(L, &sum);
    eval_summary_release(&sum);
    return 1;
}

/* ---- reading records back ---------------------------------------------- */

static const char *state_name(int32_t st)
{
    switch (st) {
    case FTSB_GEN_OK: return "ok";
    case FTSB_GEN_FILTERED: return "filtered";
    case FTSB_GEN_REFUSED: return "refused";
    }
    return "error";
}

static void set_str(lua_State *L, const char *k, const char *v)
{
    if (v) {
        lua_pushstring(L, v);
        lua_setfield(L, -2, k);
    }
}

static ftsb_status push_row(void *ud, const struct store_row *row,
                            struct err *err)
{
    lua_State *L = ud;

    (void)err;
    lua_createtable(L, 0, 10);
    set_int(L, "idx", row->rec.idx + 1);
    set_str(L, "id", row->rec.item_id);
    set_str(L, "instruction", row->rec.instruction);
    set_str(L, "category", row->rec.category);
    set_str(L, "chat", row->rec.chat_json);
    set_str(L, "response", row->rec.response);
    set_str(L, "finish", row->rec.finish);
    set_str(L, "error", row->rec.error);
    set_str(L, "state", state_name(row->rec.gen_state));
    lua_createtable(L, 0, (int)row->n_verdicts);
    for (size_t i = 0; i < row->n_verdicts; i++) {
        const struct store_verdict *v = &row->verdicts[i].v;

        lua_createtable(L, 0, 5);
        set_str(L, "state", v->state == FTSB_VERDICT_OK ? "ok" : "error");
        if (v->refused != FTSB_REFUSED_UNKNOWN) {
            lua_pushboolean(L, v->refused == FTSB_REFUSED_YES);
            lua_setfield(L, -2, "refused");
        }
        if (v->score != FTSB_NO_SCORE && !isnan(v->score)) {
            lua_pushnumber(L, v->score);
            lua_setfield(L, -2, "score");
        }
        set_str(L, "rationale", v->rationale);
        set_str(L, "error", v->error);
        lua_setfield(L, -2, row->verdicts[i].judge);
    }
    lua_setfield(L, -2, "verdicts");
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return FTSB_OK;
}

/* ftsb.records(run_name) -> list of records, in benchmark order. */
static int l_records(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    struct store *store;
    int64_t run_id;
    int found = 0;
    struct err err;

    err_clear(&err);
    if (session_store(lua_session(L), &store, &err) ||
        store_run_find(store, name, &run_id, &found, &err))
        return lua_raise_err(L, &err);
    if (!found)
        return lua_errorf(L, "no run named '%s' in the store", name);
    lua_newtable(L);
    /* push_row raises no Lua error except on memory exhaustion, in which
     * case the store's statement is reset on its next use. */
    if (store_records_each(store, run_id, push_row, L, &err))
        return lua_raise_err(L, &err);
    return 1;
}

static int push_metric_cb_(lua_State *L, const ftsb_metric_value *v)
{
    push_metric(L, v);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return 0;
}

static ftsb_status push_metric_cb(void *ud, const ftsb_metric_value *v,
                                  struct err *err)
{
    (void)err;
    push_metric_cb_(ud, v);
    return FTSB_OK;
}

/* ftsb.metrics(run_name) -> the stored metric values of a run. */
static int l_metrics(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    struct store *store;
    int64_t run_id;
    int found = 0;
    struct err err;

    err_clear(&err);
    if (session_store(lua_session(L), &store, &err) ||
        store_run_find(store, name, &run_id, &found, &err))
        return lua_raise_err(L, &err);
    if (!found)
        return lua_errorf(L, "no run named '%s' in the store", name);
    lua_newtable(L);
    if (store_metrics_each(store, run_id, push_metric_cb, L, &err))
        return lua_raise_err(L, &err);
    return 1;
}

static const luaL_Reg functions[] = {
    {"evaluate", l_evaluate}, {"records", l_records}, {"metrics", l_metrics},
    {NULL, NULL},
};

void lua_open_eval(lua_State *L)
{
    luaL_setfuncs(L, functions, 0);
}
