/*
 * test_benchmark.c - the benchmark loaders from C: option validation
 * (unknown, wrong type, given twice, required), the HEx-PHI category
 * names, a generated HEx-PHI folder with and without category 2, an
 * AdvBench file with and without a header, the synthetic suite found
 * from the source tree, and every call made with a NULL error record
 * (the loaders read their messages back to add hints, so they must not
 * depend on the caller's record).
 */
#include "ftsb_setup.h"

#include <sys/stat.h>
#include <unistd.h>

#include "data/benchmark.h"
#include "data/dataset.h"
#include "test.h"
#include "util/err.h"

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char path[512];

    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");

    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static struct bench_opt str_opt(const char *k, const char *v)
{
    return (struct bench_opt){k, BENCH_OPT_STRING, v, 0};
}

static struct bench_opt int_opt(const char *k, int64_t v)
{
    return (struct bench_opt){k, BENCH_OPT_INT, NULL, v};
}

/* Makes tmpdir/name with category files 1..11 except skip (0: none),
 * rows placeholder rows each. */
static const char *make_hexphi(const char *name, int skip, int rows)
{
    static char dir[512];

    snprintf(dir, sizeof dir, "%s", tmp_path(name));
    mkdir(dir, 0755);
    for (int c = 1; c <= 11; c++) {
        char path[600], text[256] = "";

        if (c == skip)
            continue;
        for (int r = 1; r <= rows; r++)
            snprintf(text + strlen(text), sizeof text - strlen(text),
                     "placeholder %d.%d\n", c, r);
        snprintf(path, sizeof path, "%s/category_%d.csv", dir, c);
        write_file(path, text);
    }
    return dir;
}

TEST(unknown_benchmark)
{
    struct ftsb_dataset *ds = (void *)1;
    struct err e = {0};

    CHECK_INT(benchmark_load("hexphy", NULL, 0, &ds, &e), FTSB_E_NOT_FOUND);
    CHECK(ds == NULL);
    CHECK_CONTAINS(e.msg, "unknown benchmark 'hexphy'");
    CHECK_CONTAINS(e.msg, benchmark_names());
    CHECK_INT(benchmark_load(NULL, NULL, 0, &ds, NULL), FTSB_E_NOT_FOUND);
}

TEST(option_checks)
{
    struct ftsb_dataset *ds = NULL;
    struct err e = {0};
    struct bench_opt o[2];

    o[0] = str_opt("dri", "x");
    CHECK_INT(benchmark_load("hexphi", o, 1, &ds, &e), FTSB_E_INVALID);
    CHECK_STR(e.msg, "benchmark 'hexphi': unknown option 'dri'; its options "
              "are dir, category_names, rows_per_category");
    o[0] = int_opt("dir", 3);
    CHECK_INT(benchmark_load("hexphi", o, 1, &ds, &e), FTSB_E_INVALID);
    CHECK_STR(e.msg, "benchmark 'hexphi': option 'dir' must be a string, "
              "not an integer");
    o[0] = (struct bench_opt){"dir", BENCH_OPT_OTHER, "function", 0};
    CHECK_INT(benchmark_load("hexphi", o, 1, &ds, &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "must be a string, not a function");
    o[0] = str_opt("dir", "a");
    o[1] = str_opt("dir", "b");
    CHECK_INT(benchmark_load("hexphi", o, 2, &ds, &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "option 'dir' is given twice");
    CHECK_INT(benchmark_load("advbench", NULL, 0, &ds, &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "option 'path' is required: AdvBench's "
                   "harmful_behaviors.csv");
    CHECK_INT(benchmark_load("advbench", NULL, 0, &ds, NULL), FTSB_E_INVALID);
    CHECK(ds == NULL);
}

TEST(hexphi_categories)
{
    CHECK_STR(benchmark_hexphi_category(1, 0), "01-illegal-activity");
    CHECK_STR(benchmark_hexphi_category(11, 0),
              "11-tailored-financial-advice");
    CHECK_STR(benchmark_hexphi_category(3, 1), "Hate/Harass/Violence");
    CHECK_STR(benchmark_hexphi_category(10, 1), "Privacy Violation Activity");
    CHECK(benchmark_hexphi_category(0, 0) == NULL);
    CHECK(benchmark_hexphi_category(12, 1) == NULL);
}

TEST(hexphi_folder)
{
    struct ftsb_dataset *ds = NULL;
    struct err e = {0};
    struct bench_opt o[2] = {str_opt("dir", make_hexphi("full", 0, 2)),
                             int_opt("rows_per_category", 2)};

    CHECK_INT(benchmark_load("hexphi", o, 2, &ds, &e), FTSB_OK);
    CHECK_INT(dataset_count(ds), 22);
    CHECK_STR(dataset_name(ds), "hexphi");
    CHECK_STR(dataset_get(ds, 0)->id, "hexphi-01-001");
    CHECK_STR(dataset_get(ds, 0)->instruction, "placeholder 1.1");
    CHECK_STR(dataset_get(ds, 21)->id, "hexphi-11-002");
    CHECK_STR(dataset_get(ds, 21)->category, "11-tailored-financial-advice");
    dataset_free(ds);

    o[0] = str_opt("dir", make_hexphi("no2", 2, 1));
    o[1] = int_opt("rows_per_category", 0);
    CHECK_INT(benchmark_load("hexphi", o, 2, &ds, NULL), FTSB_OK);
    CHECK_INT(dataset_count(ds), 10);
    CHECK_STR(dataset_get(ds, 1)->id, "hexphi-03-001");
    dataset_free(ds);

    o[0] = str_opt("dir", make_hexphi("no7", 7, 1));
    CHECK_INT(benchmark_load("hexphi", o, 2, &ds, &e), FTSB_E_IO);
    CHECK_CONTAINS(e.msg, "no7/category_7.csv' is missing");
    CHECK_INT(benchmark_load("hexphi", o, 2, &ds, NULL), FTSB_E_IO);

    write_file(tmp_path("full/category_9.csv"), "Prompt\nplaceholder\n");
    o[0] = str_opt("dir", tmp_path("full"));
    CHECK_INT(benchmark_load("hexphi", o, 2, &ds, &e), FTSB_E_FORMAT);
    CHECK_CONTAINS(e.msg, "full/category_9.csv:1: the first row is "
                   "\"Prompt\", a header");
}

TEST(advbench_header)
{
    struct ftsb_dataset *ds = NULL;
    struct err e = {0};
    struct bench_opt o[2] = {str_opt("path", tmp_path("adv.csv")),
                             {"header", BENCH_OPT_BOOL, NULL, 0}};

    write_file(tmp_path("adv.csv"), "placeholder one\nplaceholder two\n");
    CHECK_INT(benchmark_load("advbench", o, 1, &ds, &e), FTSB_E_FORMAT);
    CHECK_CONTAINS(e.msg, "benchmark 'advbench': ");
    CHECK_CONTAINS(e.msg, "pass header = false");
    /* The hint needs the message: it must work without the caller's. */
    CHECK_INT(benchmark_load("advbench", o, 1, &ds, NULL), FTSB_E_FORMAT);
    CHECK_INT(benchmark_load("advbench", o, 2, &ds, &e), FTSB_OK);
    CHECK_INT(dataset_count(ds), 2);
    CHECK_STR(dataset_get(ds, 1)->id, "advbench-002");
    CHECK(dataset_get(ds, 1)->category == NULL);
    dataset_free(ds);
}

TEST(synthetic_from_source)
{
    struct ftsb_dataset *ds = NULL;
    struct err e = {0};
    struct bench_opt o = {"benign", BENCH_OPT_BOOL, NULL, 0};

    CHECK_INT(benchmark_load("synthetic", NULL, 0, &ds, &e), FTSB_OK);
    CHECK_INT(dataset_count(ds), 65);
    dataset_free(ds);
    CHECK_INT(benchmark_load("synthetic", &o, 1, &ds, &e), FTSB_OK);
    CHECK_INT(dataset_count(ds), 55);
    dataset_free(ds);
}

int main(void)
{
    const char *base = getenv("TMPDIR");

    snprintf(tmpdir, sizeof tmpdir, "%s/ftsb_test_benchmark_XXXXXX",
             base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(unknown_benchmark);
    RUN(option_checks);
    RUN(hexphi_categories);
    RUN(hexphi_folder);
    RUN(advbench_header);
    RUN(synthetic_from_source);
    {
        char cmd[600];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            printf("  could not remove %s\n", tmpdir);
    }
    return test_summary();
}
