/*
 * benchmark.h - named loaders for safety benchmarks: HEx-PHI (a folder
 * of eleven headerless category CSVs), AdvBench (harmful_behaviors.csv),
 * HarmBench (its behaviours CSV), any JSONL of instructions, and ftsb's
 * own synthetic suite.  Each returns an ordinary dataset (as
 * dataset_load does) whose rows carry an instruction, a stable id and,
 * where the benchmark has them, a category; Lua reaches them through
 * ftsb.benchmark(name, opts) (core/lua/lua_benchmark.c).
 *
 * Options arrive as a list of typed key/value pairs, validated here per
 * loader, so every message (an unknown option, a wrong type, a missing
 * file) is the same from Lua and from C.  Errors are FTSB_E_INVALID for
 * options, FTSB_E_IO for files and FTSB_E_FORMAT for contents, with
 * "benchmark 'NAME': " first and the file (and line) concerned.
 */
#ifndef FTSB_BENCHMARK_H
#define FTSB_BENCHMARK_H

#include "../ftsb_setup.h"
#include "../util/err.h"

struct ftsb_dataset;

/* Types of option values. */
#define BENCH_OPT_STRING 1
#define BENCH_OPT_BOOL 2
#define BENCH_OPT_INT 3
#define BENCH_OPT_OTHER 4 /* any other value; s names its kind ("table") */

struct bench_opt {
    const char *key;
    int type;
    const char *s;  /* STRING: the value; OTHER: the type's name */
    int64_t i;      /* INT: the value; BOOL: 0 or 1 */
};

/*
 * Loads benchmark name with n options into a new dataset (*out, freed
 * with dataset_free).  Informational lines (a missing HEx-PHI category 2,
 * skipped HarmBench rows, unexpected row counts) go to the log.
 */
ftsb_status benchmark_load(const char *name, const struct bench_opt *opts,
                           size_t n, struct ftsb_dataset **out,
                           struct err *err);

/* The loaders' names, ", "-separated, for messages and docs. */
const char *benchmark_names(void);

/* HEx-PHI category names: style 0 the slug ftsb uses as the category
 * ("03-hate-harass-violence", as benchmarks/synthetic does), 1 the
 * paper's name ("Hate/Harass/Violence").  NULL outside 1..11. */
const char *benchmark_hexphi_category(int number, int style);

#endif /* FTSB_BENCHMARK_H */
