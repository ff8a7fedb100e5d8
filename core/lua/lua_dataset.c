/*
 * lua_dataset.c - datasets in Lua: ftsb.dataset.load/new/concat and the
 * methods of a dataset handle (count, get, rows, filter, sample, map,
 * head, concat, save).
 *
 * Datasets are immutable from Lua: every transformation builds a new one,
 * so a dataset handed to a plugin configuration never changes under it.
 * Rows are 1-based in Lua, as Lua lists are.
 */
#include "../ftsb_setup.h"

#include "../data/dataset.h"
#include "lua_int.h"

void lds_ref(struct lds *d)
{
    d->refs++;
}

void lds_unref(struct lds *d)
{
    if (d && --d->refs == 0) {
        dataset_free(d->ds);
        free(d);
    }
}

void lds_release_cb(void *ud)
{
    lds_unref(ud);
}

struct lds *lds_push(lua_State *L, struct ftsb_dataset *ds)
{
    struct lds **ud = lua_newuserdatauv(L, sizeof *ud, 0);
    struct lds *d = malloc(sizeof *d);

    *ud = NULL;
    luaL_setmetatable(L, LDS_META);
    if (!d) {
        dataset_free(ds);
        lua_errorf(L, "out of memory");
    }
    d->refs = 1;
    d->ds = ds;
    *ud = d;
    return d;
}

struct lds *lds_test(lua_State *L, int i)
{
    struct lds **ud = luaL_testudata(L, i, LDS_META);

    return ud ? *ud : NULL;
}

struct lds *lds_check(lua_State *L, int i)
{
    struct lds **ud = luaL_checkudata(L, i, LDS_META);

    if (!*ud)
        lua_errorf(L, "attempt to use a closed dataset");
    return *ud;
}

static void set_field(lua_State *L, const char *k, const char *v)
{
    if (v) {
        lua_pushstring(L, v);
        lua_setfield(L, -2, k);
    }
}

void lua_push_example(lua_State *L, const ftsb_example *ex)
{
    lua_createtable(L, 0, 6);
    set_field(L, "id", ex->id);
    set_field(L, "instruction", ex->instruction);
    set_field(L, "input", ex->input);
    set_field(L, "response", ex->response);
    set_field(L, "category", ex->category);
    if (ex->chat.n_messages) {
        lua_createtable(L, (int)ex->chat.n_messages, 0);
        for (uint32_t i = 0; i < ex->chat.n_messages; i++) {
            lua_createtable(L, 0, 2);
            set_field(L, "role", ex->chat.messages[i].role);
            set_field(L, "content", ex->chat.messages[i].content);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_setfield(L, -2, "messages");
    }
}

static const char *opt_field(lua_State *L, int t, const char *k)
{
    const char *s = NULL;

    if (lua_getfield(L, t, k) != LUA_TNIL) {
        if (!lua_isstring(L, -1))
            lua_errorf(L, "dataset row field '%s' must be a string", k);
        s = lua_tostring(L, -1);
    }
    lua_pop(L, 1);   /* the string stays alive: the row table holds it */
    return s;
}

/* Adds the row table at index t to ds; raises with the row number. */
static void add_row_table(lua_State *L, struct ftsb_dataset *ds, int t,
                          lua_Integer rowno)
{
    ftsb_example ex = {sizeof ex, NULL, NULL, NULL, NULL, NULL, {0, NULL}};
    ftsb_message *msgs = NULL;
    struct err err;
    ftsb_status st;

    t = lua_absindex(L, t);
    if (!lua_istable(L, t))
        lua_errorf(L, "dataset row %d is not a table", (int)rowno);
    ex.id = opt_field(L, t, "id");
    ex.instruction = opt_field(L, t, "instruction");
    ex.input = opt_field(L, t, "input");
    ex.response = opt_field(L, t, "response");
    ex.category = opt_field(L, t, "category");
    if (lua_getfield(L, t, "messages") == LUA_TTABLE) {
        uint32_t n = lua_chat_len(L, -1);

        msgs = lua_newuserdatauv(L, (size_t)n * sizeof *msgs + 1, 0);
        lua_check_chat(L, -2, msgs, &ex.chat);
    }
    err_clear(&err);
    st = dataset_add_err(ds, &ex, &err);
    if (st)
        lua_errorf(L, "dataset row %d: %s", (int)rowno,
                   err.msg[0] ? err.msg : ftsb_status_str(st));
    lua_settop(L, t);
}

/* Builds a dataset in a handle first, so a Lua error mid-way frees it. */
static struct ftsb_dataset *push_new(lua_State *L, const char *name)
{
    struct ftsb_dataset *ds = dataset_new(name);

    if (!ds)
        lua_errorf(L, "out of memory");
    lds_push(L, ds);
    return ds;
}

static int l_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    const char *format = luaL_optstring(L, 2, "auto");
    struct ftsb_dataset *ds;
    struct err err;

    err_clear(&err);
    if (dataset_load(path, format, &ds, &err))
        return lua_raise_err(L, &err);
    lds_push(L, ds);
    return 1;
}

static int l_new(lua_State *L)
{
    struct ftsb_dataset *ds;
    lua_Integer n;

    luaL_checktype(L, 1, LUA_TTABLE);
    ds = push_new(L, luaL_optstring(L, 2, "lua"));
    n = luaL_len(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 1, i);
        add_row_table(L, ds, -1, i);
        lua_pop(L, 1);
    }
    return 1;
}

static void append_all(lua_State *L, struct ftsb_dataset *dst,
                       const struct ftsb_dataset *src)
{
    uint64_t n = dataset_count(src);

    for (uint64_t i = 0; i < n; i++)
        if (dataset_add(dst, dataset_get(src, i)))
            lua_errorf(L, "out of memory");
}

static int l_concat(lua_State *L)
{
    int top = lua_gettop(L);
    struct ftsb_dataset *ds;

    for (int i = 1; i <= top; i++)
        lds_check(L, i);
    ds = push_new(L, "concat");
    for (int i = 1; i <= top; i++)
        append_all(L, ds, lds_check(L, i)->ds);
    return 1;
}

static int m_count(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)dataset_count(lds_check(L, 1)->ds));
    return 1;
}

static int m_get(lua_State *L)
{
    struct lds *d = lds_check(L, 1);
    lua_Integer i = luaL_checkinteger(L, 2);

    if (i < 1 || (uint64_t)i > dataset_count(d->ds))
        return lua_errorf(L, "row %d is out of range (the dataset has %d)",
                          (int)i, (int)dataset_count(d->ds));
    lua_push_example(L, dataset_get(d->ds, (uint64_t)i - 1));
    return 1;
}

static int rows_next(lua_State *L)
{
    struct lds *d = lds_check(L, lua_upvalueindex(1));
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(2)) + 1;

    if ((uint64_t)i > dataset_count(d->ds))
        return 0;
    lua_pushinteger(L, i);
    lua_copy(L, -1, lua_upvalueindex(2));
    lua_push_example(L, dataset_get(d->ds, (uint64_t)i - 1));
    return 2;
}

static int m_rows(lua_State *L)
{
    lds_check(L, 1);
    lua_settop(L, 1);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, rows_next, 2);
    return 1;
}

static int m_filter(lua_State *L)
{
    struct lds *d = lds_check(L, 1);
    struct ftsb_dataset *out;
    uint64_t n = dataset_count(d->ds);

    luaL_checktype(L, 2, LUA_TFUNCTION);
    out = push_new(L, dataset_name(d->ds));
    for (uint64_t i = 0; i < n; i++) {
        const ftsb_example *ex = dataset_get(d->ds, i);

        lua_pushvalue(L, 2);
        lua_push_example(L, ex);
        lua_pushinteger(L, (lua_Integer)i + 1);
        lua_call(L, 2, 1);
        if (lua_toboolean(L, -1) && dataset_add(out, ex))
            return lua_errorf(L, "out of memory");
        lua_pop(L, 1);
    }
    return 1;
}

static int m_map(lua_State *L)
{
    struct lds *d = lds_check(L, 1);
    struct ftsb_dataset *out;
    uint64_t n = dataset_count(d->ds);

    luaL_checktype(L, 2, LUA_TFUNCTION);
    out = push_new(L, dataset_name(d->ds));
    for (uint64_t i = 0; i < n; i++) {
        lua_pushvalue(L, 2);
        lua_push_example(L, dataset_get(d->ds, i));
        lua_pushinteger(L, (lua_Integer)i + 1);
        lua_call(L, 2, 1);
        if (!lua_isnil(L, -1))   /* nil drops the row */
            add_row_table(L, out, -1, (lua_Integer)i + 1);
        lua_pop(L, 1);
    }
    return 1;
}

/* splitmix64: a small, well-mixed generator, enough for sampling. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* n rows chosen uniformly without replacement, in a seeded shuffled
 * order (a partial Fisher-Yates): the same seed gives the same sample. */
static int m_sample(lua_State *L)
{
    struct lds *d = lds_check(L, 1);
    lua_Integer k = luaL_checkinteger(L, 2);
    uint64_t seed = (uint64_t)luaL_optinteger(L, 3, 42);
    uint64_t n = dataset_count(d->ds), *idx;
    struct ftsb_dataset *out;

    if (k < 0 || (uint64_t)k > n)
        return lua_errorf(L, "cannot sample %d rows from a dataset of %d",
                          (int)k, (int)n);
    idx = lua_newuserdatauv(L, (size_t)n * sizeof *idx + 1, 0);
    for (uint64_t i = 0; i < n; i++)
        idx[i] = i;
    out = push_new(L, dataset_name(d->ds));
    for (uint64_t i = 0; i < (uint64_t)k; i++) {
        uint64_t j = i + splitmix64(&seed) % (n - i), t = idx[i];

        idx[i] = idx[j];
        idx[j] = t;
        if (dataset_add(out, dataset_get(d->ds, idx[i])))
            return lua_errorf(L, "out of memory");
    }
    return 1;
}

static int m_head(lua_State *L)
{
    struct lds *d = lds_check(L, 1);
    lua_Integer k = luaL_checkinteger(L, 2);
    uint64_t n = dataset_count(d->ds);
    struct ftsb_dataset *out = push_new(L, dataset_name(d->ds));

    for (uint64_t i = 0; k > 0 && i < n && i < (uint64_t)k; i++)
        if (dataset_add(out, dataset_get(d->ds, i)))
            return lua_errorf(L, "out of memory");
    return 1;
}

static int m_concat(lua_State *L)
{
    return l_concat(L);
}

static int m_save(lua_State *L)
{
    struct lds *d = lds_check(L, 1);
    const char *path = luaL_checkstring(L, 2);
    const char *format = luaL_optstring(L, 3, "jsonl");
    struct err err;

    err_clear(&err);
    if (dataset_save(d->ds, path, format, &err))
        return lua_raise_err(L, &err);
    lua_settop(L, 1);
    return 1;
}

static int m_name(lua_State *L)
{
    lua_pushstring(L, dataset_name(lds_check(L, 1)->ds));
    return 1;
}

static int m_gc(lua_State *L)
{
    struct lds **ud = luaL_checkudata(L, 1, LDS_META);

    lds_unref(*ud);
    *ud = NULL;
    return 0;
}

static int m_tostring(lua_State *L)
{
    struct lds **ud = luaL_checkudata(L, 1, LDS_META);

    if (!*ud)
        lua_pushliteral(L, "dataset (closed)");
    else
        lua_pushfstring(L, "dataset '%s' (%d rows)", dataset_name((*ud)->ds),
                        (int)dataset_count((*ud)->ds));
    return 1;
}

static const luaL_Reg methods[] = {
    {"count", m_count},   {"get", m_get},       {"rows", m_rows},
    {"filter", m_filter}, {"map", m_map},       {"sample", m_sample},
    {"head", m_head},     {"concat", m_concat}, {"save", m_save},
    {"name", m_name},     {NULL, NULL},
};

static const luaL_Reg metamethods[] = {
    {"__gc", m_gc},     {"__close", m_gc}, {"__len", m_count},
    {"__tostring", m_tostring}, {"__index", NULL}, {NULL, NULL},
};

static const luaL_Reg functions[] = {
    {"load", l_load}, {"new", l_new}, {"concat", l_concat}, {NULL, NULL},
};

void lua_open_dataset(lua_State *L)
{
    luaL_newmetatable(L, LDS_META);
    luaL_setfuncs(L, metamethods, 0);
    luaL_newlibtable(L, methods);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_newlib(L, functions);
    lua_setfield(L, -2, "dataset");
}
