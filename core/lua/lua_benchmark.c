/*
 * lua_benchmark.c - ftsb.benchmark(name [, opts]): the benchmark loaders
 * of core/data/benchmark.c from Lua.  The options table is turned into
 * typed key/value pairs and handed over as it is: the loader, not this
 * file, decides what is known and what type each option has, so the
 * messages are the same from C and from Lua.  Returns a dataset handle,
 * as ftsb.dataset.load does.
 */
#include "../ftsb_setup.h"

#include "../data/benchmark.h"
#include "../data/dataset.h"
#include "lua_int.h"

/* Reads the option table at index t into opts (a userdata of n slots, so
 * a Lua error frees it); keys and string values stay owned by the table,
 * which stays on the stack. */
static size_t read_opts(lua_State *L, int t, struct bench_opt *opts,
                        size_t cap)
{
    size_t n = 0;

    lua_pushnil(L);
    while (lua_next(L, t)) {
        struct bench_opt *o = &opts[n];

        if (lua_type(L, -2) != LUA_TSTRING)
            lua_errorf(L, "benchmark options must have string keys, not "
                          "%s keys", luaL_typename(L, -2));
        if (n == cap)   /* cannot happen: cap counted the keys */
            lua_errorf(L, "too many benchmark options");
        o->key = lua_tostring(L, -2);
        o->s = NULL;
        o->i = 0;
        switch (lua_type(L, -1)) {
        case LUA_TSTRING:
            o->type = BENCH_OPT_STRING;
            o->s = lua_tostring(L, -1);
            break;
        case LUA_TBOOLEAN:
            o->type = BENCH_OPT_BOOL;
            o->i = lua_toboolean(L, -1);
            break;
        case LUA_TNUMBER:
            if (lua_isinteger(L, -1)) {
                o->type = BENCH_OPT_INT;
                o->i = (int64_t)lua_tointeger(L, -1);
            } else {
                o->type = BENCH_OPT_OTHER;
                o->s = "number with a fraction";
            }
            break;
        default:
            o->type = BENCH_OPT_OTHER;
            o->s = luaL_typename(L, -1);
            break;
        }
        n++;
        lua_pop(L, 1);
    }
    return n;
}

/* ftsb.benchmark(name [, opts]) -> dataset */
static int l_benchmark(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    struct bench_opt *opts = NULL;
    struct ftsb_dataset *ds;
    struct err err;
    size_t n = 0, cap = 0;

    if (!lua_isnoneornil(L, 2)) {
        if (!lua_istable(L, 2))
            return lua_errorf(L, "ftsb.benchmark: options must be a table, "
                                 "not a %s", luaL_typename(L, 2));
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            cap++;
            lua_pop(L, 1);
        }
        opts = lua_newuserdatauv(L, (cap ? cap : 1) * sizeof *opts, 0);
        n = read_opts(L, 2, opts, cap);
    }
    err_clear(&err);
    if (benchmark_load(name, opts, n, &ds, &err))
        return lua_raise_err(L, &err);
    lds_push(L, ds);
    return 1;
}

void lua_open_benchmark(lua_State *L)
{
    lua_pushcfunction(L, l_benchmark);
    lua_setfield(L, -2, "benchmark");
}
