/*
 * runner.h - running an experiment script.
 */
#ifndef FTSB_RUNNER_H
#define FTSB_RUNNER_H

#include "../ftsb_setup.h"
#include "../util/err.h"

struct session;

/* Runs the Lua script at path with argv[0..argc) as its arguments (the
 * global `arg`, as in the lua interpreter: arg[0] is the script).  A
 * script error is returned in err with the file:line and a traceback. */
ftsb_status lua_run_script(struct session *s, const char *path, int argc,
                           char **argv, struct err *err);

#endif /* FTSB_RUNNER_H */
