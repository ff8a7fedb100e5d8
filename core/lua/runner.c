/*
 * runner.c - one Lua state per script run: the standard libraries a
 * trusted experiment needs, the `ftsb` module, a traceback on error and
 * Ctrl-C handling (after lua.c's docall/msghandler/laction).
 *
 * Scripts are trusted code, but they load native code only through the
 * plugin loader, whose checks always run: package.loadlib and C module
 * searchers are removed.  io.popen and os.exit are removed too: a script
 * that exits the process mid-transaction would skip the store's cleanup;
 * error() or returning ends a script.
 */
#include "../ftsb_setup.h"

#include <signal.h>

#include "../plugin/session.h"
#include "lua_int.h"
#include "runner.h"

void lua_set_session(lua_State *L, struct session *s);

static lua_State *volatile running_state;
static struct session *volatile running_session;

/* On Ctrl-C: flag the session (plugins see host->cancelled) and make the
 * Lua VM raise at its next instruction, as lua.c does. */
static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    lua_errorf(L, "interrupted");
}

static void on_sigint(int sig)
{
    int flag = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;

    signal(sig, SIG_DFL);   /* a second Ctrl-C ends the process */
    if (running_session && running_session->cancel)
        *running_session->cancel = 1;
    if (running_state)
        lua_sethook(running_state, stop_hook, flag, 1);
}

static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);

    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") &&
            lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)",
                              luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

static void remove_field(lua_State *L, const char *lib, const char *name)
{
    if (lua_getglobal(L, lib) == LUA_TTABLE) {
        lua_pushnil(L);
        lua_setfield(L, -2, name);
    }
    lua_pop(L, 1);
}

/* package.path: the script's folder, then the repository's scripts/lib
 * (pure-Lua helpers), then Lua's default. */
static void set_paths(lua_State *L, const char *script)
{
    const char *slash = strrchr(script, '/');
    int dirlen = slash ? (int)(slash - script) : 1;
    const char *dir = slash ? script : ".";

    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/?.lua;%s/scripts/lib/?.lua;%s/scripts/?.lua;",
                    lua_pushlstring(L, dir, (size_t)dirlen), FTSB_SOURCE_DIR,
                    FTSB_SOURCE_DIR);
    lua_getfield(L, -3, "path");
    lua_concat(L, 2);
    lua_setfield(L, -3, "path");
    lua_pop(L, 1);   /* the folder string */
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    /* Only the preload and Lua-file searchers stay. */
    lua_getfield(L, -1, "searchers");
    lua_pushnil(L);
    lua_rawseti(L, -2, 4);
    lua_pushnil(L);
    lua_rawseti(L, -2, 3);
    lua_pop(L, 2);
}

static void open_libs(lua_State *L, struct session *s, const char *script)
{
    luaL_openlibs(L);
    remove_field(L, "package", "loadlib");
    remove_field(L, "io", "popen");
    remove_field(L, "os", "exit");
    set_paths(L, script);
    lua_set_session(L, s);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_ftsb);
    lua_setfield(L, -2, "ftsb");
    lua_pop(L, 1);
}

static void push_args(lua_State *L, const char *path, int argc, char **argv)
{
    lua_createtable(L, argc, 1);
    lua_pushstring(L, path);
    lua_rawseti(L, -2, 0);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setglobal(L, "arg");
}

static void warnf(void *ud, const char *msg, int tocont)
{
    (void)ud;
    fprintf(stderr, "%s%s", msg, tocont ? "" : "\n");
}

ftsb_status lua_run_script(struct session *s, const char *path, int argc,
                           char **argv, struct err *err)
{
    lua_State *L = luaL_newstate();
    ftsb_status st = FTSB_OK;
    int rc;

    if (!L)
        return err_set(err, FTSB_E_NOMEM, "cannot create a Lua state");
    lua_setwarnf(L, warnf, NULL);
    open_libs(L, s, path);
    push_args(L, path, argc, argv);
    lua_pushcfunction(L, msghandler);
    rc = luaL_loadfile(L, path);
    if (rc != LUA_OK) {
        st = err_set(err, rc == LUA_ERRFILE ? FTSB_E_IO : FTSB_E_INVALID,
                     "%s", lua_tostring(L, -1));
        lua_close(L);
        return st;
    }
    for (int i = 0; i < argc; i++)
        lua_pushstring(L, argv[i]);
    running_session = s;
    running_state = L;
    signal(SIGINT, on_sigint);
    rc = lua_pcall(L, argc, 0, 1);
    signal(SIGINT, SIG_DFL);
    running_state = NULL;
    if (rc != LUA_OK)
        st = err_set(err, s->cancel && *s->cancel ? FTSB_E_CANCELLED
                                                  : FTSB_E_INVALID,
                     "%s", lua_tostring(L, -1));
    lua_close(L);       /* runs __gc: every plugin instance is destroyed */
    running_session = NULL;
    return st;
}
