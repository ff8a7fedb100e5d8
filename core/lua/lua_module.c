/*
 * lua_module.c - the `ftsb` module table and the helpers every part of it
 * uses: reading chats and decoding parameters from Lua, raising core
 * errors, finding the session.
 */
#include "../ftsb_setup.h"

#include "../eval/generate.h"
#include "../plugin/session.h"
#include "../util/log.h"
#include "lua_int.h"

static const char SESSION_KEY = 's';

struct session *lua_session(lua_State *L)
{
    struct session *s;

    lua_rawgetp(L, LUA_REGISTRYINDEX, &SESSION_KEY);
    s = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!s)
        lua_errorf(L, "the ftsb module is only available inside `ftsb run`");
    return s;
}

void lua_set_session(lua_State *L, struct session *s);
void lua_set_session(lua_State *L, struct session *s)
{
    lua_pushlightuserdata(L, s);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &SESSION_KEY);
}

/* Pushes "file:line:" of the innermost Lua function on the stack: errors
 * raised by the module's C functions name the script line that called
 * them, as errors raised in Lua do. */
static void push_where(lua_State *L)
{
    lua_Debug ar;

    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        if (ar.currentline > 0) {
            lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
            return;
        }
    }
    lua_pushliteral(L, "");
}

int lua_errorf(lua_State *L, const char *fmt, ...)
{
    va_list ap;

    push_where(L);
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_concat(L, 2);
    return lua_error(L);
}

int lua_raise_err(lua_State *L, const struct err *err)
{
    /* Copied onto the Lua stack first: err may live in a frame the error
     * unwinds. */
    return lua_errorf(L, "%s",
                      err->msg[0] ? err->msg : ftsb_status_str(err->code));
}

uint32_t lua_chat_len(lua_State *L, int i)
{
    lua_Integer n;

    if (lua_type(L, i) == LUA_TSTRING)
        return 1;
    if (!lua_istable(L, i))
        lua_errorf(L, "a chat is a string or a list of {role=, content=}, "
                      "not a %s", luaL_typename(L, i));
    n = luaL_len(L, i);
    if (n < 1 || n > 100000)
        lua_errorf(L, "a chat needs 1 to 100000 messages, not %d", (int)n);
    return (uint32_t)n;
}

void lua_check_chat(lua_State *L, int i, ftsb_message *msgs, ftsb_chat *chat)
{
    uint32_t n = lua_chat_len(L, i);

    i = lua_absindex(L, i);
    chat->n_messages = n;
    chat->messages = msgs;
    if (lua_type(L, i) == LUA_TSTRING) {
        msgs[0].role = "user";
        msgs[0].content = lua_tostring(L, i);
        return;
    }
    for (uint32_t k = 0; k < n; k++) {
        const char *role, *content;

        /* The message tables stay referenced by the chat table, so their
         * strings outlive the pops below. */
        lua_geti(L, i, (lua_Integer)k + 1);
        if (!lua_istable(L, -1))
            lua_errorf(L, "message %d of a chat is not a table", (int)k + 1);
        lua_getfield(L, -1, "role");
        lua_getfield(L, -2, "content");
        role = lua_tostring(L, -2);
        content = lua_tostring(L, -1);
        if (!role || !content)
            lua_errorf(L, "message %d needs string fields 'role' and "
                          "'content'", (int)k + 1);
        if (strcmp(role, "system") && strcmp(role, "user") &&
            strcmp(role, "assistant"))
            lua_errorf(L, "message %d has role '%s'; expected system, user "
                          "or assistant", (int)k + 1, role);
        msgs[k].role = role;
        msgs[k].content = content;
        lua_pop(L, 3);
    }
}

static double opt_num(lua_State *L, int t, const char *k, double def)
{
    double v = def;

    if (lua_getfield(L, t, k) != LUA_TNIL) {
        if (!lua_isnumber(L, -1))
            lua_errorf(L, "decoding parameter '%s' must be a number", k);
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

static lua_Integer opt_int(lua_State *L, int t, const char *k,
                           lua_Integer def)
{
    lua_Integer v = def;
    int isint;

    if (lua_getfield(L, t, k) != LUA_TNIL) {
        v = lua_tointegerx(L, -1, &isint);
        if (!isint)
            lua_errorf(L, "decoding parameter '%s' must be an integer", k);
    }
    lua_pop(L, 1);
    return v;
}

void lua_check_gen_params(lua_State *L, int i, ftsb_gen_params *p,
                          const char **stop_buf, uint32_t stop_cap)
{
    static const char *const known[] = {
        "max_new_tokens", "max_tokens", "temperature", "top_p", "top_k",
        "repetition_penalty", "seed", "stop", NULL};

    gen_params_default(p);
    if (lua_isnoneornil(L, i))
        return;
    i = lua_absindex(L, i);
    luaL_checktype(L, i, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, i)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2)
                                                        : NULL;
        int ok = 0;

        for (int j = 0; k && known[j]; j++)
            ok |= strcmp(k, known[j]) == 0;
        if (!ok)
            lua_errorf(L, "unknown decoding parameter '%s'; known: "
                          "max_new_tokens, temperature, top_p, top_k, "
                          "repetition_penalty, seed, stop",
                       k ? k : "?");
        lua_pop(L, 1);
    }
    p->max_new_tokens = (int32_t)opt_int(
        L, i, "max_new_tokens", opt_int(L, i, "max_tokens", 512));
    p->temperature = (float)opt_num(L, i, "temperature", 0);
    p->top_p = (float)opt_num(L, i, "top_p", 1);
    p->top_k = (int32_t)opt_int(L, i, "top_k", 0);
    p->repetition_penalty = (float)opt_num(L, i, "repetition_penalty", 1);
    p->seed = (uint64_t)opt_int(L, i, "seed", 42);
    if (p->max_new_tokens < 1)
        lua_errorf(L, "decoding parameter 'max_new_tokens' must be at least "
                      "1");
    if (lua_getfield(L, i, "stop") == LUA_TTABLE) {
        lua_Integer n = luaL_len(L, -1);

        if (n > (lua_Integer)stop_cap)
            lua_errorf(L, "at most %d stop strings", (int)stop_cap);
        for (lua_Integer k = 1; k <= n; k++) {
            lua_geti(L, -1, k);
            stop_buf[k - 1] = lua_tostring(L, -1);
            if (!stop_buf[k - 1])
                lua_errorf(L, "stop strings must be strings");
            lua_pop(L, 1);   /* the stop table keeps the string alive */
        }
        p->n_stop = (uint32_t)n;
        p->stop = stop_buf;
    } else if (!lua_isnil(L, -1)) {
        lua_errorf(L, "decoding parameter 'stop' must be a list of strings");
    }
    lua_pop(L, 1);   /* the params table (at i) keeps the stop table */
}

/* ftsb.log(...): one info line, values joined by spaces. */
static int l_log(lua_State *L)
{
    luaL_Buffer b;
    int n = lua_gettop(L);

    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
        if (i < n)
            luaL_addchar(&b, ' ');
    }
    luaL_pushresult(&b);
    log_msg(FTSB_LOG_INFO, NULL, "%s", lua_tostring(L, -1));
    return 0;
}

/* ftsb.shard() -> index (1-based), count */
static int l_shard(lua_State *L)
{
    struct session *s = lua_session(L);

    lua_pushinteger(L, (lua_Integer)s->shard_index + 1);
    lua_pushinteger(L, (lua_Integer)s->shard_count);
    return 2;
}

static int l_store_path(lua_State *L)
{
    struct session *s = lua_session(L);

    lua_pushstring(L, s->store_path ? s->store_path : "results/ftsb.db");
    return 1;
}

static const luaL_Reg functions[] = {
    {"log", l_log}, {"shard", l_shard}, {"store_path", l_store_path},
    {NULL, NULL},
};

int luaopen_ftsb(lua_State *L)
{
    luaL_newlib(L, functions);
    lua_pushliteral(L, FTSB_VERSION);
    lua_setfield(L, -2, "version");
    lua_open_dataset(L);
    lua_open_plugin(L);
    lua_open_eval(L);
    lua_open_report(L);
    lua_open_benchmark(L);
    return 1;
}
