/*
 * lua_int.h - shared pieces of the `ftsb` Lua module.
 *
 * The module is split by subject: datasets (lua_dataset.c), plugin
 * instances (lua_plugin.c), evaluation (lua_eval.c), the module table and
 * small helpers (lua_module.c) and the script runner (runner.c).  Plugin
 * instances and datasets are full userdata with named metatables, after
 * liolib.c's file handles: __gc and __close release them, and a closed
 * handle raises a clear error when used.
 */
#ifndef FTSB_LUA_INT_H
#define FTSB_LUA_INT_H

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "../ftsb_setup.h"
#include "../util/err.h"

struct session;
struct instance;

#define LDS_META "ftsb.dataset"

/* A dataset shared between Lua handles and plugin configurations. */
struct lds {
    int refs;
    struct ftsb_dataset *ds;
};

void lds_ref(struct lds *d);
void lds_unref(struct lds *d);      /* frees the dataset on the last one */
void lds_release_cb(void *ud);      /* lds_unref for config callbacks */

/* Pushes a new handle owning ds (freed with it); raises on OOM. */
struct lds *lds_push(lua_State *L, struct ftsb_dataset *ds);
/* The dataset at index i, or a Lua error. */
struct lds *lds_check(lua_State *L, int i);
struct lds *lds_test(lua_State *L, int i);

/* Pushes an example as a table: id, instruction, input, response,
 * category, messages = { {role=, content=}, ... }. */
void lua_push_example(lua_State *L, const ftsb_example *ex);

/* Pushes a plugin instance handle (takes a reference). */
void lua_push_instance(lua_State *L, struct instance *inst);
/* The instance at index i of the given kind (0 = any), or a Lua error. */
struct instance *lua_check_instance(lua_State *L, int i, int32_t kind);
struct instance *lua_test_instance(lua_State *L, int i);

/* The session stored in the registry by the runner. */
struct session *lua_session(lua_State *L);

/* Raises a formatted Lua error prefixed with the script's file:line
 * (luaL_error would name the C function, which has no line). */
int lua_errorf(lua_State *L, const char *fmt, ...);

/* Raises err's message as a Lua error (never returns). */
int lua_raise_err(lua_State *L, const struct err *err);

/* Reads a chat from the value at index i: a string (one user message) or
 * a list of {role=, content=}.  Strings stay owned by Lua, so the value
 * must stay on the stack while the chat is used.  msgs must hold room for
 * the messages: call lua_chat_len first. */
uint32_t lua_chat_len(lua_State *L, int i);
void lua_check_chat(lua_State *L, int i, ftsb_message *msgs, ftsb_chat *chat);

/* Reads decoding parameters from the table at index i (may be absent),
 * over the defaults.  stop strings stay owned by Lua. */
void lua_check_gen_params(lua_State *L, int i, ftsb_gen_params *p,
                          const char **stop_buf, uint32_t stop_cap);

void lua_open_dataset(lua_State *L);   /* adds ftsb.dataset */
void lua_open_plugin(lua_State *L);    /* adds ftsb.backend/attack/... */
void lua_open_eval(lua_State *L);      /* adds ftsb.evaluate */
void lua_open_report(lua_State *L);
void lua_open_benchmark(lua_State *L);

int luaopen_ftsb(lua_State *L);

#endif /* FTSB_LUA_INT_H */
