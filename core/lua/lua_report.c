/*
 * lua_report.c - ftsb.report{}: writing a report of stored runs.
 *
 *     local before = ftsb.evaluate{ name = "before", ... }
 *     local after  = ftsb.evaluate{ name = "after", ... }
 *     local rep = ftsb.report{ title = "Identity shift",
 *                              runs = { before, { name = "after", label = "AOA 10 ep" } },
 *                              out = "results/aoa", baseline = "before" }
 *     print(rep.files.html)
 *
 * A run is named by a string, or by a table with a `name` field (what
 * ftsb.evaluate returns) and an optional `label` for its column.  The
 * report reads the store, never the summaries' numbers, so it can be
 * written again later from the store alone (core/report/report.h).
 */
#include "../ftsb_setup.h"

#include "../plugin/session.h"
#include "../report/report.h"
#include "lua_int.h"

static const char *opt_string(lua_State *L, int t, const char *k)
{
    const char *s = NULL;

    if (lua_getfield(L, t, k) != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TSTRING)
            lua_errorf(L, "report: '%s' must be a string", k);
        s = lua_tostring(L, -1);
    }
    lua_pop(L, 1);   /* the argument table keeps the string alive */
    return s;
}

/* runs = { "before", summary, { name = "after", label = "10-shot" } } */
static size_t read_runs(lua_State *L, int t, struct report_run **out)
{
    struct report_run *runs;
    lua_Integer n;

    if (lua_getfield(L, t, "runs") != LUA_TTABLE)
        lua_errorf(L, "report: 'runs' must be a list of run names or "
                      "evaluation summaries");
    n = luaL_len(L, -1);
    if (n < 1 || n > 100000)
        lua_errorf(L, "report: 'runs' must list 1 to 100000 runs, not %d",
                   (int)n);
    runs = lua_newuserdatauv(L, (size_t)n * sizeof *runs, 0);
    lua_insert(L, -2);   /* the array below the list, both kept */
    for (lua_Integer i = 1; i <= n; i++) {
        struct report_run *r = &runs[i - 1];
        int type = lua_geti(L, -1, i);

        r->name = r->label = NULL;
        if (type == LUA_TSTRING) {
            r->name = lua_tostring(L, -1);
        } else if (type == LUA_TTABLE) {
            /* The run tables are held by the list, so their strings
             * outlive the pops. */
            if (lua_getfield(L, -1, "name") == LUA_TSTRING)
                r->name = lua_tostring(L, -1);
            lua_pop(L, 1);
            if (lua_getfield(L, -1, "label") == LUA_TSTRING)
                r->label = lua_tostring(L, -1);
            else if (!lua_isnil(L, -1))
                lua_errorf(L, "report: run %d: 'label' must be a string",
                           (int)i);
            lua_pop(L, 1);
        }
        if (!r->name)
            lua_errorf(L, "report: run %d must be a run name, or a table "
                          "with a string 'name' (as ftsb.evaluate returns)",
                       (int)i);
        lua_pop(L, 1);
    }
    *out = runs;
    return (size_t)n;
}

static size_t read_metric_names(lua_State *L, int t, const char ***out)
{
    const char **names;
    lua_Integer n;

    *out = NULL;
    if (lua_getfield(L, t, "metrics") == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (!lua_istable(L, -1))
        lua_errorf(L, "report: 'metrics' must be a list of metric names");
    n = luaL_len(L, -1);
    names = lua_newuserdatauv(L, (size_t)n * sizeof *names + 1, 0);
    lua_insert(L, -2);
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_geti(L, -1, i) != LUA_TSTRING)
            lua_errorf(L, "report: 'metrics' must be a list of metric "
                          "names; item %d is a %s", (int)i,
                       luaL_typename(L, -1));
        names[i - 1] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    *out = names;
    return (size_t)n;
}

static void set_path(lua_State *L, const char *k, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static int l_report(lua_State *L)
{
    struct report_spec spec;
    struct report_files files;
    struct report_run *runs;
    struct store *store;
    struct err err;

    luaL_checktype(L, 1, LUA_TTABLE);
    memset(&spec, 0, sizeof spec);
    spec.title = opt_string(L, 1, "title");
    spec.notes = opt_string(L, 1, "notes");
    spec.out_dir = opt_string(L, 1, "out");
    if (!spec.out_dir || !*spec.out_dir)
        return lua_errorf(L, "report: 'out' (the folder to write to) is "
                             "required");
    /* baseline: a run's name or label; false for no deltas; absent for
     * the first run. */
    if (lua_getfield(L, 1, "baseline") == LUA_TBOOLEAN) {
        if (lua_toboolean(L, -1))
            return lua_errorf(L, "report: 'baseline' is a run name or "
                                 "label, or false for no deltas");
        spec.baseline = "";
    } else if (lua_type(L, -1) == LUA_TSTRING) {
        spec.baseline = lua_tostring(L, -1);
        if (!*spec.baseline)
            return lua_errorf(L, "report: 'baseline' is empty; name a run, "
                                 "or give false for no deltas");
    } else if (lua_istable(L, -1)) {
        /* A summary, as for runs. */
        lua_getfield(L, -1, "name");
        spec.baseline = lua_tostring(L, -1);
        lua_pop(L, 1);
        if (!spec.baseline)
            return lua_errorf(L, "report: 'baseline' table has no 'name'");
    } else if (!lua_isnil(L, -1)) {
        return lua_errorf(L, "report: 'baseline' is a run name or label, "
                             "or false for no deltas");
    }
    lua_pop(L, 1);   /* strings stay alive through the argument table */
    spec.n_runs = read_runs(L, 1, &runs);
    spec.runs = runs;
    spec.n_metrics = read_metric_names(L, 1, (const char ***)&spec.metrics);
    err_clear(&err);
    if (session_store(lua_session(L), &store, &err) ||
        report_write(store, &spec, &files, &err))
        return lua_raise_err(L, &err);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, spec.out_dir);
    lua_setfield(L, -2, "out");
    lua_createtable(L, 0, 5);
    set_path(L, "records", files.records);
    set_path(L, "summary", files.summary);
    set_path(L, "csv", files.csv);
    set_path(L, "markdown", files.markdown);
    set_path(L, "html", files.html);
    lua_setfield(L, -2, "files");
    report_files_release(&files);
    return 1;
}

static const luaL_Reg functions[] = {
    {"report", l_report},
    {NULL, NULL},
};

void lua_open_report(lua_State *L)
{
    luaL_setfuncs(L, functions, 0);
}
