/*
 * lua_plugin.c - plugin instances in Lua: ftsb.backend/attack/judge/metric
 * and their methods.
 *
 * A configuration table is converted key by key: the plugin's declared
 * type of each key decides the conversion, so a backend handle becomes a
 * backend reference, a dataset handle a dataset, and everything else
 * JSON.  The conversion raises before the plugin's create() runs, naming
 * the plugin and the key.
 */
#include "../ftsb_setup.h"

#include <cjson/cJSON.h>
#include <math.h>

#include "../data/dataset.h"
#include "../eval/generate.h"
#include "../eval/judging.h"
#include "../plugin/config.h"
#include "../plugin/host.h"
#include "../plugin/instance.h"
#include "../plugin/loader.h"
#include "../plugin/session.h"
#include "../store/store.h"
#include "../util/sha256.h"
#include "lua_int.h"

static const char *const kind_meta[] = {
    NULL, "ftsb.backend", "ftsb.attack", "ftsb.judge", "ftsb.metric",
};

static const char *meta_of(int32_t kind)
{
    return kind >= 1 && kind <= 4 ? kind_meta[kind] : NULL;
}

void lua_push_instance(lua_State *L, struct instance *inst)
{
    struct instance **ud = lua_newuserdatauv(L, sizeof *ud, 0);

    instance_ref(inst);
    *ud = inst;
    luaL_setmetatable(L, meta_of(inst->kind));
}

struct instance *lua_test_instance(lua_State *L, int i)
{
    for (int32_t k = 1; k <= 4; k++) {
        struct instance **ud = luaL_testudata(L, i, kind_meta[k]);

        if (ud)
            return *ud;
    }
    return NULL;
}

struct instance *lua_check_instance(lua_State *L, int i, int32_t kind)
{
    struct instance **ud;

    if (kind == 0) {
        for (int32_t k = 1; k <= 4; k++) {
            ud = luaL_testudata(L, i, kind_meta[k]);
            if (ud && !*ud)
                lua_errorf(L, "attempt to use a closed %s",
                           instance_kind_name(k));
            if (ud)
                return *ud;
        }
        luaL_typeerror(L, i, "plugin instance");
        return NULL;
    }
    ud = luaL_checkudata(L, i, meta_of(kind));
    if (!*ud)
        lua_errorf(L, "attempt to use a closed %s", instance_kind_name(kind));
    return *ud;
}

/* ---- Lua values to JSON ------------------------------------------------ */

static cJSON *to_json(lua_State *L, int i, int depth);

static int is_sequence(lua_State *L, int t, lua_Integer *n)
{
    lua_Integer count = 0;

    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1)) {
            lua_pop(L, 1);
            return 0;
        }
        count++;
    }
    *n = count;
    return count == (lua_Integer)lua_rawlen(L, t);
}

static cJSON *table_to_json(lua_State *L, int t, int depth)
{
    lua_Integer n;
    cJSON *out;

    if (is_sequence(L, t, &n) && n > 0) {
        out = cJSON_CreateArray();
        for (lua_Integer k = 1; out && k <= n; k++) {
            cJSON *v;

            lua_geti(L, t, k);
            v = to_json(L, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
            if (!v || !cJSON_AddItemToArray(out, v)) {
                cJSON_Delete(out);
                return NULL;
            }
        }
        return out;
    }
    out = cJSON_CreateObject();
    lua_pushnil(L);
    while (out && lua_next(L, t)) {
        cJSON *v;

        if (lua_type(L, -2) != LUA_TSTRING) {
            cJSON_Delete(out);
            lua_errorf(L, "configuration tables must have string keys");
        }
        v = to_json(L, lua_gettop(L), depth + 1);
        if (!v || !cJSON_AddItemToObject(out, lua_tostring(L, -2), v)) {
            cJSON_Delete(out);
            out = NULL;
        }
        lua_pop(L, 1);
    }
    return out;
}

/* The Lua value at i as JSON (NULL on OOM; raises on unconvertible). */
static cJSON *to_json(lua_State *L, int i, int depth)
{
    if (depth > 32)
        lua_errorf(L, "configuration nested too deeply");
    switch (lua_type(L, i)) {
    case LUA_TNIL:
        return cJSON_CreateNull();
    case LUA_TBOOLEAN:
        return cJSON_CreateBool(lua_toboolean(L, i));
    case LUA_TNUMBER:
        if (!lua_isinteger(L, i) && !isfinite(lua_tonumber(L, i)))
            lua_errorf(L, "configuration numbers must be finite");
        return cJSON_CreateNumber(lua_tonumber(L, i));
    case LUA_TSTRING:
        return cJSON_CreateString(lua_tostring(L, i));
    case LUA_TTABLE:
        return table_to_json(L, i, depth);
    }
    lua_errorf(L, "a %s cannot be part of a configuration",
               luaL_typename(L, i));
    return NULL;
}

static int is_empty_table(lua_State *L, int i)
{
    int empty;

    if (!lua_istable(L, i))
        return 0;
    i = lua_absindex(L, i);
    lua_pushnil(L);
    empty = !lua_next(L, i);
    if (!empty)
        lua_pop(L, 2);
    return empty;
}

/* Moves one key/value pair (at -2/-1) into cfg; raises on error. */
static void put_value(lua_State *L, struct ftsb_config *cfg, struct err *err)
{
    const char *key;
    int32_t type;
    ftsb_status st;

    if (lua_type(L, -2) != LUA_TSTRING)
        lua_errorf(L, "configuration keys must be strings");
    key = lua_tostring(L, -2);
    type = config_key_type(cfg, key, err);
    if (type == 0)
        st = err->code;
    else if (type == FTSB_CFG_BACKEND && lua_test_instance(L, -1))
        st = config_put_backend(cfg, key, lua_test_instance(L, -1), err);
    else if (type == FTSB_CFG_DATASET && lds_test(L, -1)) {
        struct lds *d = lds_check(L, -1);

        lds_ref(d);
        st = config_put_dataset(cfg, key, d->ds, lds_release_cb, d, err);
        if (st)
            lds_unref(d);
    } else if (type == FTSB_CFG_STRINGS && is_empty_table(L, -1)) {
        /* {} is an empty list here, not an empty object. */
        cJSON *v = cJSON_CreateArray();

        st = v ? config_put_json(cfg, key, v, err)
               : err_set(err, FTSB_E_NOMEM, "out of memory");
    } else {
        cJSON *v = to_json(L, lua_gettop(L), 0);

        st = v ? config_put_json(cfg, key, v, err)
               : err_set(err, FTSB_E_NOMEM, "out of memory");
    }
    if (st)
        lua_raise_err(L, err);
}

/* The config userdata guards cfg against leaks when a Lua error jumps out
 * mid-conversion. */
static int cfg_guard_gc(lua_State *L)
{
    struct ftsb_config **p = lua_touserdata(L, 1);

    config_free(*p);
    *p = NULL;
    return 0;
}

/* Pushes a guard owning cfg (NULL: raises out of memory) and moves every
 * pair of the options table at index t (if it is one) into cfg.  The
 * guard frees cfg if a Lua error jumps out before the caller takes it. */
static struct ftsb_config **push_config(lua_State *L, struct ftsb_config *cfg,
                                        int t)
{
    int given = !lua_isnoneornil(L, t);
    struct ftsb_config **guard;
    struct err err;

    if (given && !lua_istable(L, t)) {
        config_free(cfg);
        lua_errorf(L, "options must be a table, not a %s",
                   luaL_typename(L, t));
    }
    guard = lua_newuserdatauv(L, sizeof *guard, 0);
    *guard = cfg;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, cfg_guard_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    if (!cfg)
        lua_errorf(L, "out of memory");
    err_clear(&err);
    if (given) {
        lua_pushnil(L);
        while (lua_next(L, t)) {
            put_value(L, cfg, &err);
            lua_pop(L, 1);
        }
    }
    return guard;
}

static int create_instance(lua_State *L, int32_t kind)
{
    const char *id = luaL_checkstring(L, 1);
    struct session *s = lua_session(L);
    const struct loaded_plugin *p = loader_find(s->loader, kind, id);
    struct ftsb_config **guard;
    struct instance *inst;
    struct err err;

    if (!p)
        return lua_errorf(L, "no %s plugin '%s' is loaded; `ftsb plugins` "
                             "lists the plugins found on the plugin path",
                          instance_kind_name(kind), id);
    guard = push_config(L, instance_config_new(p->desc), 2);
    err_clear(&err);
    {
        struct ftsb_config *cfg = *guard;

        *guard = NULL;   /* instance_create consumes it */
        if (instance_create(s, p->desc, p->path, cfg, &inst, &err))
            return lua_raise_err(L, &err);
    }
    lua_push_instance(L, inst);
    instance_unref(inst);   /* the handle holds the reference now */
    return 1;
}

static int l_backend(lua_State *L) { return create_instance(L, FTSB_KIND_BACKEND); }
static int l_attack(lua_State *L) { return create_instance(L, FTSB_KIND_ATTACK); }
static int l_judge(lua_State *L) { return create_instance(L, FTSB_KIND_JUDGE); }
static int l_metric(lua_State *L) { return create_instance(L, FTSB_KIND_METRIC); }

/* ---- methods shared by every kind -------------------------------------- */

static int m_gc(lua_State *L)
{
    struct instance **ud = lua_touserdata(L, 1);

    if (ud && *ud) {
        instance_unref(*ud);
        *ud = NULL;
    }
    return 0;
}

static int m_tostring(lua_State *L)
{
    struct instance **ud = lua_touserdata(L, 1);

    if (!*ud)
        lua_pushliteral(L, "plugin instance (closed)");
    else
        lua_pushfstring(L, "%s (%s)", (*ud)->label, (*ud)->desc->version);
    return 1;
}

static int m_fingerprint(lua_State *L)
{
    lua_pushstring(L, instance_fingerprint(lua_check_instance(L, 1, 0)));
    return 1;
}

static int m_id(lua_State *L)
{
    lua_pushstring(L, lua_check_instance(L, 1, 0)->desc->id);
    return 1;
}

/* ---- backends ---------------------------------------------------------- */

static const char *gen_state_name(int32_t st)
{
    switch (st) {
    case FTSB_GEN_OK: return "ok";
    case FTSB_GEN_FILTERED: return "filtered";
    case FTSB_GEN_REFUSED: return "refused";
    }
    return "error";
}

/* Sinks for n results, owned by a userdata so a Lua error frees them. */
struct sinks {
    uint32_t n;
    struct strbuf *bufs;   /* 3 per result */
};

static int sinks_gc(lua_State *L)
{
    struct sinks *s = lua_touserdata(L, 1);

    for (uint32_t i = 0; s->bufs && i < 3 * s->n; i++)
        strbuf_release(&s->bufs[i]);
    free(s->bufs);
    s->bufs = NULL;
    return 0;
}

static struct strbuf *push_sinks(lua_State *L, uint32_t n)
{
    struct sinks *s = lua_newuserdatauv(L, sizeof *s, 0);

    s->n = 0;
    s->bufs = NULL;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, sinks_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    s->bufs = calloc(3 * (size_t)n + 1, sizeof *s->bufs);
    if (!s->bufs)
        lua_errorf(L, "out of memory");
    s->n = n;
    for (uint32_t i = 0; i < 3 * n; i++)
        strbuf_init(&s->bufs[i]);
    return s->bufs;
}

static void push_gen_result(lua_State *L, const ftsb_gen_result *r)
{
    const struct strbuf *err = (const struct strbuf *)r->error;

    lua_createtable(L, 0, 6);
    lua_pushstring(L, gen_state_name(r->state));
    lua_setfield(L, -2, "state");
    lua_pushlstring(L, ((struct strbuf *)r->text)->buf,
                    ((struct strbuf *)r->text)->len);
    lua_setfield(L, -2, "text");
    lua_pushstring(L, ((struct strbuf *)r->finish)->buf);
    lua_setfield(L, -2, "finish");
    if (err->len) {
        lua_pushstring(L, err->buf);
        lua_setfield(L, -2, "error");
    }
    lua_pushinteger(L, r->n_prompt_tokens);
    lua_setfield(L, -2, "prompt_tokens");
    lua_pushinteger(L, r->n_completion_tokens);
    lua_setfield(L, -2, "completion_tokens");
}

/* backend:generate(chats [, params]) -> { {state=, text=, ...}, ... } */
static int m_generate(lua_State *L)
{
    struct instance *b = lua_check_instance(L, 1, FTSB_KIND_BACKEND);
    lua_Integer n = (luaL_checktype(L, 2, LUA_TTABLE), luaL_len(L, 2));
    const char *stop[64];
    ftsb_gen_params params;
    ftsb_chat *chats;
    ftsb_gen_result *res;
    struct strbuf *bufs;
    struct err err;

    lua_check_gen_params(L, 3, &params, stop, 64);
    if (n < 0 || n > 1000000)
        return lua_errorf(L, "too many chats in one call (%d)", (int)n);
    chats = lua_newuserdatauv(L, (size_t)n * sizeof *chats + 1, 0);
    res = lua_newuserdatauv(L, (size_t)n * sizeof *res + 1, 0);
    bufs = push_sinks(L, (uint32_t)n);
    for (lua_Integer i = 0; i < n; i++) {
        uint32_t m;
        ftsb_message *msgs;

        /* Each chat and its messages stay on the stack while the batch
         * runs (they own the text): make room as the batch grows. */
        luaL_checkstack(L, 4, "too many chats in one call");
        lua_geti(L, 2, i + 1);
        m = lua_chat_len(L, -1);
        msgs = lua_newuserdatauv(L, (size_t)m * sizeof *msgs + 1, 0);
        lua_check_chat(L, -2, msgs, &chats[i]);
        res[i] = (ftsb_gen_result){sizeof res[i], FTSB_GEN_ERROR,
                                   as_buf(&bufs[3 * i]),
                                   as_buf(&bufs[3 * i + 1]),
                                   as_buf(&bufs[3 * i + 2]), 0, 0};
    }
    err_clear(&err);
    if (gen_cached(lua_session(L), b, chats, (uint32_t)n, &params, res, &err))
        return lua_raise_err(L, &err);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 0; i < n; i++) {
        push_gen_result(L, &res[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int m_can_finetune(lua_State *L)
{
    struct instance *b = lua_check_instance(L, 1, FTSB_KIND_BACKEND);
    const ftsb_backend_iface *iface = instance_backend(b);

    lua_pushboolean(L, iface->get_extension &&
                           iface->get_extension(b->self, FTSB_EXT_FINETUNE));
    return 1;
}

/* Saves the series points of a fine-tuning in the run store, under the run
 * "finetune:<first 16 hex digits of the SHA-256 of the tuned backend's
 * fingerprint>", so that they stay with the model they describe. */
static ftsb_status save_series(struct session *s, const struct instance *tuned,
                               const struct series_buf *b, char *run,
                               size_t run_size, struct err *err)
{
    const char *fp = instance_fingerprint(tuned);
    struct store *store;
    int64_t run_id;
    ftsb_status st;

    char hex[SHA256_HEX_SIZE];
    sha256_hex(fp, strlen(fp), hex);
    snprintf(run, run_size, "finetune:%.16s", hex);
    if ((st = session_store(s, &store, err)) ||
        (st = store_run_open(store, run, fp, "", NULL, &run_id, err)))
        return st;
    for (size_t i = 0; i < b->n; i++)
        if ((st = store_series_put(store, run_id, b->p[i].name, b->p[i].step,
                                   b->p[i].value, err)))
            return st;
    return store_run_finish(store, run_id, err);
}

/* The log table finetune returns: { run = name, <series> = {values in
 * step order}, steps = {steps of the first series} }. */
static void push_series(lua_State *L, const struct series_buf *b,
                        const char *run)
{
    lua_newtable(L);
    if (run[0]) {
        lua_pushstring(L, run);
        lua_setfield(L, -2, "run");
    }
    for (size_t i = 0; i < b->n; i++) {
        const struct series_point *p = &b->p[i];
        if (lua_getfield(L, -1, p->name) != LUA_TTABLE) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushvalue(L, -1);
            lua_setfield(L, -3, p->name);
        }
        lua_pushnumber(L, p->value);
        lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
        lua_pop(L, 1);
        if (strcmp(p->name, b->p[0].name) == 0) {
            if (lua_getfield(L, -1, "steps") != LUA_TTABLE) {
                lua_pop(L, 1);
                lua_newtable(L);
                lua_pushvalue(L, -1);
                lua_setfield(L, -3, "steps");
            }
            lua_pushinteger(L, (lua_Integer)p->step);
            lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
            lua_pop(L, 1);
        }
    }
}

/* backend:finetune(dataset, options) -> the fine-tuned backend, and the
 * log of the training (its series, such as the loss per step) */
static int m_finetune(lua_State *L)
{
    struct instance *b = lua_check_instance(L, 1, FTSB_KIND_BACKEND);
    struct lds *d = lds_check(L, 2);
    const ftsb_backend_iface *iface = instance_backend(b);
    const ftsb_backend_finetune *ft = NULL;
    struct ftsb_config **guard, *cfg;
    struct instance *tuned;
    struct ftsb_ctx ctx;
    void *self = NULL;
    char label[200];
    struct err err;
    ftsb_status st;

    if (iface->get_extension)
        ft = iface->get_extension(b->self, FTSB_EXT_FINETUNE);
    if (!ft)
        return lua_errorf(L, "%s cannot be fine-tuned (it does not offer "
                             "the extension '%s')", b->label,
                          FTSB_EXT_FINETUNE);
    snprintf(label, sizeof label, "fine-tuning options of %s", b->label);
    guard = push_config(L, config_new(label, ft->config_keys,
                                      ft->n_config_keys), 3);
    err_clear(&err);
    if (config_finish(*guard, &err))
        return lua_raise_err(L, &err);
    cfg = *guard;
    struct series_buf series = {0};
    char run[128] = "";
    ctx_init(&ctx, lua_session(L), b->label);
    ctx.series = &series;
    st = ft->finetune(b->self, &ctx, d->ds, cfg, &self);
    if (st)
        err_set(&err, st, "%s: fine-tuning failed: %s", b->label,
                ctx.err.msg[0] ? ctx.err.msg : ftsb_status_str(st));
    ctx_release(&ctx);
    if (!st)
        st = instance_adopt(b, self, &tuned, &err);
    if (!st && series.n > 0 &&
        (st = save_series(lua_session(L), tuned, &series, run, sizeof run,
                          &err)))
        instance_unref(tuned);
    if (st) {
        free(series.p);
        return lua_raise_err(L, &err);
    }
    lua_push_instance(L, tuned);
    instance_unref(tuned);
    push_series(L, &series, run);
    free(series.p);
    return 2;
}

/* ---- attacks ----------------------------------------------------------- */

static int m_dataset(lua_State *L)
{
    struct instance *a = lua_check_instance(L, 1, FTSB_KIND_ATTACK);
    struct ftsb_dataset *ds = dataset_new(a->label);
    struct ftsb_ctx ctx;
    struct ftsb_dataset_sink sink = {ds, &ctx};
    struct err err;
    ftsb_status st;

    if (!ds)
        return lua_errorf(L, "out of memory");
    lds_push(L, ds);
    ctx_init(&ctx, lua_session(L), a->label);
    st = instance_attack(a)->build(a->self, &ctx, &sink);
    if (st)
        err_set(&err, st, "%s: %s", a->label,
                ctx.err.msg[0] ? ctx.err.msg : ftsb_status_str(st));
    ctx_release(&ctx);
    if (st)
        return lua_raise_err(L, &err);
    return 1;
}

static int m_prompt(lua_State *L)
{
    struct instance *a = lua_check_instance(L, 1, FTSB_KIND_ATTACK);
    struct strbuf *bufs = push_sinks(L, 1);
    ftsb_prompt_spec spec = {sizeof spec, as_buf(&bufs[0]), as_buf(&bufs[1]),
                             as_buf(&bufs[2])};
    struct ftsb_ctx ctx;
    struct err err;
    ftsb_status st;

    ctx_init(&ctx, lua_session(L), a->label);
    st = instance_attack(a)->prompt(a->self, &ctx, &spec);
    if (st)
        err_set(&err, st, "%s: %s", a->label,
                ctx.err.msg[0] ? ctx.err.msg : ftsb_status_str(st));
    ctx_release(&ctx);
    if (st)
        return lua_raise_err(L, &err);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, bufs[0].buf);
    lua_setfield(L, -2, "system");
    lua_pushstring(L, bufs[1].buf);
    lua_setfield(L, -2, "template");
    lua_pushstring(L, bufs[2].buf);
    lua_setfield(L, -2, "trigger");
    return 1;
}

/* ---- judges ------------------------------------------------------------ */

static void push_verdict(lua_State *L, const ftsb_verdict *v)
{
    lua_createtable(L, 0, 5);
    lua_pushstring(L, v->state == FTSB_VERDICT_OK ? "ok" : "error");
    lua_setfield(L, -2, "state");
    if (v->refused != FTSB_REFUSED_UNKNOWN) {
        lua_pushboolean(L, v->refused == FTSB_REFUSED_YES);
        lua_setfield(L, -2, "refused");
    }
    if (v->score != FTSB_NO_SCORE) {
        lua_pushnumber(L, v->score);
        lua_setfield(L, -2, "score");
    }
    lua_pushstring(L, ((struct strbuf *)v->rationale)->buf);
    lua_setfield(L, -2, "rationale");
    if (((struct strbuf *)v->error)->len) {
        lua_pushstring(L, ((struct strbuf *)v->error)->buf);
        lua_setfield(L, -2, "error");
    }
}

/* judge:judge({ {instruction=, response=, category=}, ... }) */
static int m_judge(lua_State *L)
{
    struct instance *j = lua_check_instance(L, 1, FTSB_KIND_JUDGE);
    lua_Integer n = (luaL_checktype(L, 2, LUA_TTABLE), luaL_len(L, 2));
    ftsb_judge_item *items;
    ftsb_verdict *out;
    struct strbuf *bufs;
    struct err err;

    if (n < 0 || n > 1000000)
        return lua_errorf(L, "too many items in one call (%d)", (int)n);
    items = lua_newuserdatauv(L, (size_t)n * sizeof *items + 1, 0);
    out = lua_newuserdatauv(L, (size_t)n * sizeof *out + 1, 0);
    bufs = push_sinks(L, (uint32_t)n);
    for (lua_Integer i = 0; i < n; i++) {
        /* Each item and its strings stay on the stack while the batch is
         * judged: make room as the batch grows. */
        luaL_checkstack(L, 6, "too many items in one call");
        lua_geti(L, 2, i + 1);
        luaL_checktype(L, -1, LUA_TTABLE);
        lua_getfield(L, -1, "instruction");
        lua_getfield(L, -2, "response");
        lua_getfield(L, -3, "category");
        if (!lua_isstring(L, -3) || !lua_isstring(L, -2))
            return lua_errorf(L, "item %d needs string fields 'instruction' "
                                 "and 'response'", (int)i + 1);
        items[i] = (ftsb_judge_item){sizeof items[i], lua_tostring(L, -3),
                                     lua_tostring(L, -2),
                                     lua_isstring(L, -1) ? lua_tostring(L, -1)
                                                         : NULL};
        out[i] = (ftsb_verdict){sizeof out[i], 0, 0, 0,
                                as_buf(&bufs[3 * i]),
                                as_buf(&bufs[3 * i + 1])};
    }
    err_clear(&err);
    if (judge_cached(lua_session(L), j, items, (uint32_t)n, out, &err))
        return lua_raise_err(L, &err);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 0; i < n; i++) {
        push_verdict(L, &out[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* ---- registration ------------------------------------------------------ */

static const luaL_Reg common_methods[] = {
    {"fingerprint", m_fingerprint}, {"id", m_id}, {"close", m_gc},
    {NULL, NULL},
};

static const luaL_Reg backend_methods[] = {
    {"generate", m_generate}, {"finetune", m_finetune},
    {"can_finetune", m_can_finetune}, {NULL, NULL},
};

static const luaL_Reg attack_methods[] = {
    {"dataset", m_dataset}, {"prompt", m_prompt}, {NULL, NULL},
};

static const luaL_Reg judge_methods[] = {
    {"judge", m_judge}, {NULL, NULL},
};

static void new_kind_meta(lua_State *L, int32_t kind, const luaL_Reg *extra)
{
    luaL_newmetatable(L, meta_of(kind));
    lua_pushcfunction(L, m_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, m_gc);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, m_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_newtable(L);
    luaL_setfuncs(L, common_methods, 0);
    if (extra)
        luaL_setfuncs(L, extra, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

static const luaL_Reg functions[] = {
    {"backend", l_backend}, {"attack", l_attack}, {"judge", l_judge},
    {"metric", l_metric},   {NULL, NULL},
};

void lua_open_plugin(lua_State *L)
{
    new_kind_meta(L, FTSB_KIND_BACKEND, backend_methods);
    new_kind_meta(L, FTSB_KIND_ATTACK, attack_methods);
    new_kind_meta(L, FTSB_KIND_JUDGE, judge_methods);
    new_kind_meta(L, FTSB_KIND_METRIC, NULL);
    luaL_setfuncs(L, functions, 0);
}
