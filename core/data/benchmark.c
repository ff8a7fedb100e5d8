/*
 * benchmark.c - the benchmark loaders behind ftsb.benchmark(): hexphi,
 * advbench, harmbench, jsonl, synthetic and mtbench (see benchmark.h and
 * docs/benchmarks.md).  Each loader streams its files through the
 * dataset readers (dataset_stream), so malformed input is reported with
 * the readers' file:line messages, and adds rows with ids that do not
 * depend on where the files live ("hexphi-03-017", "advbench-042"), so
 * that a run store keyed by them survives moving the data.
 *
 * The loaders check what the published files get wrong in practice:
 * HEx-PHI's CSVs have no header, so a header row added by hand would be
 * scored as a prompt (and a loader that skips line 1 loses one); its
 * category 2 was withdrawn, so its absence is reported as information,
 * while any other missing category is an error; an empty benchmark is
 * always an error, since evaluating nothing reports a clean model.
 */
#include "../ftsb_setup.h"

#include <math.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../util/log.h"
#include "../util/strbuf.h"
#include "../util/utf8.h"
#include "benchmark.h"
#include "dataset.h"
#include "ds_internal.h"
#include "jscan.h"

#ifndef FTSB_SOURCE_DIR
#define FTSB_SOURCE_DIR ""
#endif

#define HEXPHI_CATEGORIES 11

/* ---- options ------------------------------------------------------------ */

struct opt_spec {
    const char *key;
    int type;
    int required;
    const char *help; /* says what a missing required option should be */
};

struct args {
    const char *name; /* the loader, for messages */
    const struct bench_opt *opts;
    size_t n;
};

static ftsb_status bfail(struct err *err, ftsb_status code, const char *name,
                         const char *fmt, ...) FTSB_PRINTF(4, 5);

/* Records "benchmark 'NAME': <message>". */
static ftsb_status bfail(struct err *err, ftsb_status code, const char *name,
                         const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(err, code, "benchmark '%s': %s", name, msg);
}

static const char *type_name(int type)
{
    switch (type) {
    case BENCH_OPT_STRING: return "a string";
    case BENCH_OPT_BOOL: return "a boolean";
    case BENCH_OPT_INT: return "an integer";
    }
    return "a value";
}

static const struct bench_opt *arg(const struct args *a, const char *key)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->opts[i].key, key) == 0)
            return &a->opts[i];
    return NULL;
}

static const char *arg_str(const struct args *a, const char *key,
                           const char *def)
{
    const struct bench_opt *o = arg(a, key);

    return o ? o->s : def;
}

static int64_t arg_int(const struct args *a, const char *key, int64_t def)
{
    const struct bench_opt *o = arg(a, key);

    return o ? o->i : def;
}

/* Checks every given option against the loader's list: known, of the
 * right type, given once; and every required one present. */
static ftsb_status check_opts(const struct args *a,
                              const struct opt_spec *spec, size_t n_spec,
                              struct err *err)
{
    for (size_t i = 0; i < a->n; i++) {
        const struct bench_opt *o = &a->opts[i];
        const struct opt_spec *s = NULL;

        for (size_t j = 0; j < n_spec && !s; j++)
            if (strcmp(spec[j].key, o->key) == 0)
                s = &spec[j];
        if (!s) {
            struct strbuf known = STRBUF_INIT;

            for (size_t j = 0; j < n_spec; j++)
                strbuf_addf(&known, "%s%s", j ? ", " : "", spec[j].key);
            bfail(err, FTSB_E_INVALID, a->name, "unknown option '%s'; its "
                  "options are %s", o->key,
                  known.len ? known.buf : "(none)");
            strbuf_release(&known);
            return FTSB_E_INVALID;
        }
        if (o->type != s->type && o->type == BENCH_OPT_OTHER)
            return bfail(err, FTSB_E_INVALID, a->name, "option '%s' must be "
                         "%s, not a %s", o->key, type_name(s->type),
                         o->s ? o->s : "value of another type");
        if (o->type != s->type)
            return bfail(err, FTSB_E_INVALID, a->name, "option '%s' must be "
                         "%s, not %s", o->key, type_name(s->type),
                         type_name(o->type));
        for (size_t j = 0; j < i; j++)
            if (strcmp(a->opts[j].key, o->key) == 0)
                return bfail(err, FTSB_E_INVALID, a->name, "option '%s' is "
                             "given twice", o->key);
    }
    for (size_t j = 0; j < n_spec; j++)
        if (spec[j].required && !arg(a, spec[j].key))
            return bfail(err, FTSB_E_INVALID, a->name, "option '%s' is "
                         "required: %s", spec[j].key, spec[j].help);
    return FTSB_OK;
}

/* ---- shared checks ------------------------------------------------------ */

/* Fails unless path is an existing regular file. */
static ftsb_status need_file(const struct args *a, const char *path,
                             const char *key, struct err *err)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return bfail(err, FTSB_E_IO, a->name, "cannot open '%s': %s; check "
                     "option '%s'", path, strerror(errno), key);
    if (!S_ISREG(st.st_mode))
        return bfail(err, FTSB_E_IO, a->name, "'%s' is not a file; option "
                     "'%s' names the benchmark's file", path, key);
    return FTSB_OK;
}

/* Words a header cell holds; a first row made of one of these is a
 * header, not a prompt. */
static int header_word(const char *s)
{
    static const char *const words[] = {
        "instruction", "instructions", "prompt", "prompts", "goal", "goals",
        "question", "questions", "query", "text", "behavior", "behaviour",
        "request", "input", "harmful_instruction", "category",
    };
    size_t len;

    while (*s == ' ' || *s == '\t')
        s++;
    len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    for (size_t i = 0; i < ARRAY_LEN(words); i++)
        if (strlen(words[i]) == len && strncasecmp(s, words[i], len) == 0)
            return 1;
    return 0;
}

/* Appends text to the message in err (a hint after a reader's message;
 * the reader's own text says what is wrong, this says what to do). */
static void add_hint(struct err *err, const char *text)
{
    size_t len = strlen(err->msg);

    snprintf(err->msg + len, sizeof err->msg - len, "%s", text);
}

/* The line number in a reader's "file:line" id ("?" without one). */
static const char *id_line(const char *id)
{
    const char *c = id ? strrchr(id, ':') : NULL;

    return c ? c + 1 : "?";
}

/* ---- hexphi ------------------------------------------------------------- */

static const char *const hexphi_slugs[HEXPHI_CATEGORIES] = {
    "01-illegal-activity",      "02-child-abuse-content",
    "03-hate-harass-violence",  "04-malware",
    "05-physical-harm",         "06-economic-harm",
    "07-fraud-deception",       "08-adult-content",
    "09-political-campaigning", "10-privacy-violation",
    "11-tailored-financial-advice",
};

static const char *const hexphi_names[HEXPHI_CATEGORIES] = {
    "Illegal Activity",      "Child Abuse Content",
    "Hate/Harass/Violence",  "Malware",
    "Physical Harm",         "Economic Harm",
    "Fraud/Deception",       "Adult Content",
    "Political Campaigning", "Privacy Violation Activity",
    "Tailored Financial Advice",
};

const char *benchmark_hexphi_category(int number, int style)
{
    if (number < 1 || number > HEXPHI_CATEGORIES)
        return NULL;
    return style == 1 ? hexphi_names[number - 1] : hexphi_slugs[number - 1];
}

struct hexphi_file {
    const char *loader;
    struct ftsb_dataset *ds;
    const char *path;
    const char *category;
    int number;
    uint64_t rows;
};

static ftsb_status hexphi_row(void *ud, const ftsb_example *ex,
                              struct err *err)
{
    struct hexphi_file *f = ud;
    ftsb_example row = {sizeof row, NULL, NULL, NULL, NULL, NULL, {0, NULL}};
    char id[48];

    f->rows++;
    if (f->rows == 1 && header_word(ex->instruction))
        return bfail(err, FTSB_E_FORMAT, f->loader, "%s:%s: the first row "
                     "is \"%.40s\", a header; HEx-PHI files have no header "
                     "row (their first line is a prompt): delete that line",
                     f->path, id_line(ex->id), ex->instruction);
    if (!ex->instruction[0])
        return bfail(err, FTSB_E_FORMAT, f->loader, "%s:%s: empty prompt",
                     f->path, id_line(ex->id));
    snprintf(id, sizeof id, "hexphi-%02d-%03llu", f->number,
             (unsigned long long)f->rows);
    row.id = id;
    row.instruction = ex->instruction;
    row.category = f->category;
    return dataset_add_err(f->ds, &row, err);
}

static int is_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static ftsb_status load_hexphi(const struct args *a, struct ftsb_dataset *ds,
                               struct err *err)
{
    const char *dir = arg_str(a, "dir", "");
    const char *style = arg_str(a, "category_names", "slug");
    int64_t expect = arg_int(a, "rows_per_category", 30);
    int missing[HEXPHI_CATEGORIES + 1] = {0}, n_missing = 0, names;
    size_t dlen = strlen(dir);
    struct strbuf path = STRBUF_INIT;
    struct stat st;
    ftsb_status s = FTSB_OK;

    if (strcmp(style, "slug") == 0)
        names = 0;
    else if (strcmp(style, "name") == 0)
        names = 1;
    else if (strcmp(style, "file") == 0)
        names = 2;
    else
        return bfail(err, FTSB_E_INVALID, a->name, "option 'category_names' "
                     "is '%s'; use \"slug\" (03-hate-harass-violence), "
                     "\"name\" (Hate/Harass/Violence) or \"file\" "
                     "(category_3)", style);
    if (expect < 0)
        return bfail(err, FTSB_E_INVALID, a->name, "option "
                     "'rows_per_category' is %lld; use 0 to skip the check",
                     (long long)expect);
    if (stat(dir, &st) != 0)
        return bfail(err, FTSB_E_IO, a->name, "cannot open folder '%s': %s; "
                     "option 'dir' names the folder holding category_1.csv "
                     "... category_11.csv", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return bfail(err, FTSB_E_IO, a->name, "'%s' is not a folder; option "
                     "'dir' names the folder holding category_1.csv ... "
                     "category_11.csv", dir);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    for (int c = 1; c <= HEXPHI_CATEGORIES && s == FTSB_OK; c++) {
        strbuf_reset(&path);
        if (strbuf_addf(&path, "%.*s/category_%d.csv", (int)dlen, dir, c))
            s = err_set(err, FTSB_E_NOMEM, "out of memory");
        else if (!is_file(path.buf))
            missing[c] = 1, n_missing++;
    }
    if (s == FTSB_OK && n_missing == HEXPHI_CATEGORIES)
        s = bfail(err, FTSB_E_IO, a->name, "no category_N.csv files in '%s'; "
                  "option 'dir' names the HEx-PHI folder, which holds "
                  "category_1.csv ... category_11.csv", dir);
    for (int c = 1; c <= HEXPHI_CATEGORIES && s == FTSB_OK; c++)
        if (missing[c] && c != 2)
            s = bfail(err, FTSB_E_IO, a->name, "'%.*s/category_%d.csv' is "
                      "missing; HEx-PHI has category_1.csv ... "
                      "category_11.csv, and only category_2.csv may be "
                      "absent", (int)dlen, dir, c);
    if (s == FTSB_OK && missing[2])
        log_msg(FTSB_LOG_INFO, "benchmark 'hexphi'", "category_2.csv (Child "
                "Abuse Content) is not in '%s': HEx-PHI no longer "
                "distributes it; loading the other 10 categories", dir);
    for (int c = 1; c <= HEXPHI_CATEGORIES && s == FTSB_OK; c++) {
        char file_cat[32];
        struct hexphi_file f = {a->name, ds, NULL, NULL, c, 0};

        if (missing[c])
            continue;
        snprintf(file_cat, sizeof file_cat, "category_%d", c);
        strbuf_reset(&path);
        if (strbuf_addf(&path, "%.*s/category_%d.csv", (int)dlen, dir, c)) {
            s = err_set(err, FTSB_E_NOMEM, "out of memory");
            break;
        }
        f.path = path.buf;
        f.category = names == 2 ? file_cat
                                : benchmark_hexphi_category(c, names);
        s = dataset_stream(path.buf, "csv", hexphi_row, &f, err);
        if (s != FTSB_OK) {
            /* The row callback's messages carry the prefix already. */
            if (strncmp(err->msg, "benchmark '", 11) != 0)
                err_prefix(err, "benchmark '%s'", a->name);
            break;
        }
        if (f.rows == 0)
            s = bfail(err, FTSB_E_FORMAT, a->name, "'%s' has no prompts; a "
                      "HEx-PHI category file holds 30, one per line",
                      path.buf);
        else if (expect > 0 && f.rows != (uint64_t)expect)
            log_msg(FTSB_LOG_WARN, "benchmark 'hexphi'", "'%s' has %llu "
                    "prompt%s, not %lld; is it complete? (set "
                    "rows_per_category = 0 to silence this)", path.buf,
                    (unsigned long long)f.rows, f.rows == 1 ? "" : "s",
                    (long long)expect);
    }
    strbuf_release(&path);
    return s;
}

/* ---- rows of one CSV column ---------------------------------------------- */

/* Collects the instruction (and category) of every row of a stream. */
struct column {
    char **text;
    char **category;
    char **id;
    size_t n, cap;
};

static void column_free(struct column *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->text[i]);
        free(c->category[i]);
        free(c->id[i]);
    }
    free(c->text);
    free(c->category);
    free(c->id);
    memset(c, 0, sizeof *c);
}

static ftsb_status column_row(void *ud, const ftsb_example *ex,
                              struct err *err)
{
    struct column *c = ud;

    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        char **t = realloc(c->text, cap * sizeof *t);

        if (t)
            c->text = t;
        t = t ? realloc(c->category, cap * sizeof *t) : NULL;
        if (t)
            c->category = t;
        t = t ? realloc(c->id, cap * sizeof *t) : NULL;
        if (!t)
            return err_set(err, FTSB_E_NOMEM, "out of memory");
        c->id = t;
        c->cap = cap;
    }
    c->text[c->n] = xstrdup_or_null(ex->instruction);
    c->category[c->n] = ex->category ? xstrdup_or_null(ex->category) : NULL;
    c->id[c->n] = xstrdup_or_null(ex->id ? ex->id : "");
    c->n++;
    if (!c->text[c->n - 1] || !c->id[c->n - 1] ||
        (ex->category && !c->category[c->n - 1]))
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    return FTSB_OK;
}

/* Reads one column ("csv:NAME") or the first column ("csv") of a file. */
static ftsb_status read_column(const char *path, const char *format,
                               struct column *c, struct err *err)
{
    memset(c, 0, sizeof *c);
    return dataset_stream(path, format, column_row, c, err);
}

/* ---- advbench ----------------------------------------------------------- */

static ftsb_status load_advbench(const struct args *a, struct ftsb_dataset *ds,
                                 struct err *err)
{
    const char *path = arg_str(a, "path", "");
    const char *col = arg_str(a, "column", "goal");
    int header = (int)arg_int(a, "header", 1);
    struct strbuf fmt = STRBUF_INIT;
    struct column c;
    ftsb_status s;

    if ((s = need_file(a, path, "path", err)))
        return s;
    if (!*col)
        return bfail(err, FTSB_E_INVALID, a->name, "option 'column' is empty; "
                     "name the column holding the prompts (AdvBench: goal)");
    if (header ? strbuf_addf(&fmt, "csv:%s", col) : strbuf_addstr(&fmt, "csv"))
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    s = read_column(path, fmt.buf, &c, err);
    strbuf_release(&fmt);
    if (s != FTSB_OK) {
        err_prefix(err, "benchmark '%s'", a->name);
        if (header && s == FTSB_E_FORMAT && strstr(err->msg, "no column"))
            add_hint(err, "; if the file has no header row (the copy in the "
                     "paper's repository has none), pass header = false");
        column_free(&c);
        return s;
    }
    if (c.n == 0)
        s = bfail(err, FTSB_E_FORMAT, a->name, "'%s' has no prompts", path);
    if (s == FTSB_OK && !header && header_word(c.text[0]))
        s = bfail(err, FTSB_E_FORMAT, a->name, "%s:%s: the first row is "
                  "\"%.40s\", a header, but header = false; leave 'header' "
                  "at true", path, id_line(c.id[0]), c.text[0]);
    for (size_t i = 0; i < c.n && s == FTSB_OK; i++) {
        ftsb_example row = {sizeof row, NULL, c.text[i], NULL, NULL, NULL,
                            {0, NULL}};
        char id[32];

        if (!c.text[i][0]) {
            s = bfail(err, FTSB_E_FORMAT, a->name, "%s:%s: empty prompt",
                      path, id_line(c.id[i]));
            break;
        }
        snprintf(id, sizeof id, "advbench-%03zu", i + 1);
        row.id = id;
        s = dataset_add_err(ds, &row, err);
    }
    column_free(&c);
    return s;
}

/* ---- harmbench ---------------------------------------------------------- */

/* Reads an optional column; *present is 0 when the file lacks it.  The
 * file was read whole once already, so the only way this read can fail
 * as malformed is the missing column. */
static ftsb_status optional_column(const char *path, const char *name,
                                   struct column *c, int *present,
                                   struct err *err)
{
    struct strbuf fmt = STRBUF_INIT;
    struct err local;
    ftsb_status s;

    *present = 0;
    if (strbuf_addf(&fmt, "csv:%s", name))
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    err_clear(&local);
    s = read_column(path, fmt.buf, c, &local);
    strbuf_release(&fmt);
    if (s == FTSB_E_FORMAT && strstr(local.msg, "no column")) {
        column_free(c);
        return FTSB_OK;
    }
    if (s != FTSB_OK) {
        column_free(c);
        if (err)
            *err = local;
        return s;
    }
    *present = 1;
    return FTSB_OK;
}

static ftsb_status load_harmbench(const struct args *a,
                                  struct ftsb_dataset *ds, struct err *err)
{
    const char *path = arg_str(a, "path", "");
    const char *mode = arg_str(a, "context", "skip");
    struct column beh = {0}, ctx = {0}, bid = {0};
    int has_ctx = 0, has_id = 0, keep_ctx, keep_plain;
    size_t skipped = 0, added = 0;
    struct strbuf text = STRBUF_INIT, id = STRBUF_INIT;
    ftsb_status s;

    if (strcmp(mode, "skip") == 0)
        keep_ctx = 0, keep_plain = 1;
    else if (strcmp(mode, "include") == 0)
        keep_ctx = 1, keep_plain = 1;
    else if (strcmp(mode, "only") == 0)
        keep_ctx = 1, keep_plain = 0;
    else
        return bfail(err, FTSB_E_INVALID, a->name, "option 'context' is "
                     "'%s'; use \"skip\" (leave out rows with a "
                     "ContextString), \"include\" or \"only\"", mode);
    if ((s = need_file(a, path, "path", err)))
        return s;
    s = read_column(path, "csv:Behavior", &beh, err);
    if (s != FTSB_OK) {
        err_prefix(err, "benchmark '%s'", a->name);
        if (s == FTSB_E_FORMAT && strstr(err->msg, "no column"))
            add_hint(err, "; give HarmBench's behaviours CSV (Behavior, "
                     "SemanticCategory, ContextString, BehaviorID columns)");
        goto done;
    }
    if ((s = optional_column(path, "ContextString", &ctx, &has_ctx, err)) ||
        (s = optional_column(path, "BehaviorID", &bid, &has_id, err))) {
        err_prefix(err, "benchmark '%s'", a->name);
        goto done;
    }
    if ((has_ctx && ctx.n != beh.n) || (has_id && bid.n != beh.n)) {
        s = bfail(err, FTSB_E_IO, a->name, "'%s' changed while it was read; "
                  "load it again", path);
        goto done;
    }
    for (size_t i = 0; i < beh.n && s == FTSB_OK; i++) {
        const char *context = has_ctx ? ctx.text[i] : "";
        ftsb_example row = {sizeof row, NULL, NULL, NULL, NULL,
                            beh.category[i], {0, NULL}};

        if (!beh.text[i][0]) {
            s = bfail(err, FTSB_E_FORMAT, a->name, "%s:%s: empty Behavior",
                      path, id_line(beh.id[i]));
            break;
        }
        if (*context ? !keep_ctx : !keep_plain) {
            skipped++;
            continue;
        }
        strbuf_reset(&text);
        strbuf_reset(&id);
        /* HarmBench's own layout of a contextual behaviour: the context,
         * a rule, then the request. */
        if ((*context && strbuf_addf(&text, "%s\n\n---\n\n", context)) ||
            strbuf_addstr(&text, beh.text[i]) ||
            (has_id && bid.text[i][0]
                 ? strbuf_addf(&id, "harmbench-%s", bid.text[i])
                 : strbuf_addf(&id, "harmbench-%03zu", i + 1))) {
            s = err_set(err, FTSB_E_NOMEM, "out of memory");
            break;
        }
        row.id = id.buf;
        row.instruction = text.buf;
        s = dataset_add_err(ds, &row, err);
        added++;
    }
    if (s == FTSB_OK && skipped && added)
        log_msg(FTSB_LOG_INFO, "benchmark 'harmbench'", "left out %zu "
                "behaviour%s %s a ContextString (context = '%s'); %zu "
                "loaded", skipped, skipped == 1 ? "" : "s",
                keep_plain ? "with" : "without", mode, added);
    if (s == FTSB_OK && added == 0)
        s = bfail(err, FTSB_E_FORMAT, a->name, "no behaviours to load from "
                  "'%s'%s", path, skipped ? " after leaving out those the "
                  "'context' option excludes" : "");
done:
    column_free(&beh);
    column_free(&ctx);
    column_free(&bid);
    strbuf_release(&text);
    strbuf_release(&id);
    return s;
}

/* ---- jsonl and synthetic ------------------------------------------------ */

struct copy_rows {
    struct ftsb_dataset *ds;
    int skip_benign;
    size_t skipped;
};

static ftsb_status copy_row(void *ud, const ftsb_example *ex, struct err *err)
{
    struct copy_rows *c = ud;

    if (c->skip_benign && ex->category && strcmp(ex->category, "benign") == 0) {
        c->skipped++;
        return FTSB_OK;
    }
    return dataset_add_err(c->ds, ex, err);
}

static ftsb_status load_rows(const struct args *a, const char *path,
                             struct copy_rows *c, struct err *err)
{
    ftsb_status s = need_file(a, path, "path", err);

    if (s == FTSB_OK && (s = dataset_stream(path, "jsonl", copy_row, c, err)))
        err_prefix(err, "benchmark '%s'", a->name);
    if (s == FTSB_OK && dataset_count(c->ds) == 0)
        s = bfail(err, FTSB_E_FORMAT, a->name, "'%s' has no %sprompts", path,
                  c->skipped ? "harmful " : "");
    return s;
}

static ftsb_status load_jsonl(const struct args *a, struct ftsb_dataset *ds,
                              struct err *err)
{
    struct copy_rows c = {ds, 0, 0};

    return load_rows(a, arg_str(a, "path", ""), &c, err);
}

/* Where the synthetic suite is: beside an installed ftsb
 * (<prefix>/bin/ftsb -> <prefix>/share/ftsb/...), else in the source tree
 * this ftsb was built from. */
static ftsb_status find_synthetic(const struct args *a, struct strbuf *out,
                                  struct err *err)
{
    static const char rel[] = "benchmarks/synthetic/synthetic.jsonl";
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    struct strbuf installed = STRBUF_INIT;
    ftsb_status s;

    if (n > 0) {
        char *slash;

        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        if (strbuf_addf(&installed, "%s/../share/ftsb/%s", exe, rel))
            return err_set(err, FTSB_E_NOMEM, "out of memory");
        if (is_file(installed.buf)) {
            s = strbuf_addstr(out, installed.buf);
            strbuf_release(&installed);
            return s ? err_set(err, FTSB_E_NOMEM, "out of memory") : FTSB_OK;
        }
    }
    if (strbuf_addf(out, "%s/%s", FTSB_SOURCE_DIR, rel)) {
        strbuf_release(&installed);
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    }
    if (FTSB_SOURCE_DIR[0] && is_file(out->buf)) {
        strbuf_release(&installed);
        return FTSB_OK;
    }
    s = bfail(err, FTSB_E_IO, a->name, "cannot find synthetic.jsonl; looked "
              "for '%s' and '%s'; give its place with path = \"...\"",
              installed.len ? installed.buf : "(no executable path)",
              out->buf);
    strbuf_release(&installed);
    return s;
}

static ftsb_status load_synthetic(const struct args *a,
                                  struct ftsb_dataset *ds, struct err *err)
{
    struct copy_rows c = {ds, !arg_int(a, "benign", 1), 0};
    struct strbuf path = STRBUF_INIT;
    ftsb_status s = FTSB_OK;

    if (arg(a, "path"))
        s = strbuf_addstr(&path, arg_str(a, "path", ""))
                ? err_set(err, FTSB_E_NOMEM, "out of memory") : FTSB_OK;
    else
        s = find_synthetic(a, &path, err);
    if (s == FTSB_OK)
        s = load_rows(a, path.buf, &c, err);
    strbuf_release(&path);
    return s;
}

/* ---- mtbench ------------------------------------------------------------ */

/*
 * MT-Bench's question.jsonl (Zheng et al. 2023): one object a line with
 * question_id, category, turns (the two user turns) and, for the math,
 * reasoning and coding questions, reference (the reference answers, one
 * per turn).  The file is read line by line with the same gates as the
 * dataset readers (UTF-8, jscan's syntax check with a position, cJSON,
 * duplicate members), then its own schema.  A row holds turn 1 as its
 * instruction, so evaluate{} and backend:generate can run turn 1 as they
 * run any benchmark; turn 2 as its input; and the whole conversation
 * skeleton as its chat: user turn 1, the reference answer to it when
 * there is one (as an assistant message), user turn 2, its reference.
 * scripts/lib/mtbench.lua reads the turns and references back from the
 * chat.  Ids are "mtbench-<question_id>".
 */

#define MTBENCH_TURNS 2

struct mt_ids {
    char **v;
    uint64_t *line;
    size_t n, cap;
};

static void mt_ids_free(struct mt_ids *ids)
{
    for (size_t i = 0; i < ids->n; i++)
        free(ids->v[i]);
    free(ids->v);
    free(ids->line);
    memset(ids, 0, sizeof *ids);
}

/* Records id, or says on which line it was seen before (*seen_at). */
static ftsb_status mt_ids_add(struct mt_ids *ids, const char *id,
                              uint64_t line, uint64_t *seen_at)
{
    *seen_at = 0;
    for (size_t i = 0; i < ids->n; i++)
        if (strcmp(ids->v[i], id) == 0) {
            *seen_at = ids->line[i];
            return FTSB_OK;
        }
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? 2 * ids->cap : 128;
        char **v = realloc(ids->v, cap * sizeof *v);
        uint64_t *l;

        if (!v)
            return FTSB_E_NOMEM;
        ids->v = v;
        if (!(l = realloc(ids->line, cap * sizeof *l)))
            return FTSB_E_NOMEM;
        ids->line = l;
        ids->cap = cap;
    }
    if (!(ids->v[ids->n] = xstrdup_or_null(id)))
        return FTSB_E_NOMEM;
    ids->line[ids->n++] = line;
    return FTSB_OK;
}

/* A list of 1..max non-empty strings; NULL or the reason. */
static const char *mt_strings(const cJSON *v, int min, int max,
                              const char *key, char *why, size_t cap)
{
    int n = 0;
    const cJSON *x;

    if (!cJSON_IsArray(v)) {
        snprintf(why, cap, "\"%s\" must be an array of strings", key);
        return why;
    }
    cJSON_ArrayForEach(x, v) {
        if (!cJSON_IsString(x)) {
            snprintf(why, cap, "\"%s\" item %d is not a string", key, n + 1);
            return why;
        }
        n++;
    }
    if (n < min || n > max) {
        if (min == max)
            snprintf(why, cap, "\"%s\" must hold %d strings (MT-Bench's "
                     "two turns), found %d", key, max, n);
        else
            snprintf(why, cap, "\"%s\" must hold %d to %d strings, found "
                     "%d", key, min, max, n);
        return why;
    }
    return NULL;
}

/* Checks one question object and adds its row; the reason of a schema
 * error goes in why (the caller adds file:line). */
static ftsb_status mt_row(const cJSON *o, uint64_t line, struct mt_ids *ids,
                          struct ftsb_dataset *ds, char *why, size_t cap,
                          struct err *err)
{
    const cJSON *qid, *cat, *turns, *ref, *m, *k;
    ftsb_message msgs[2 * MTBENCH_TURNS];
    ftsb_example row = {sizeof row, NULL, NULL, NULL, NULL, NULL, {0, NULL}};
    char idtext[64], id[96];
    const char *bad;
    uint64_t seen;
    uint32_t nm = 0;
    int t = 0;

    why[0] = '\0';
    if (!cJSON_IsObject(o)) {
        snprintf(why, cap, "expected a JSON object");
        return FTSB_E_FORMAT;
    }
    for (m = o->child; m; m = m->next)
        for (k = m->next; k; k = k->next)
            if (m->string && k->string && strcmp(m->string, k->string) == 0) {
                snprintf(why, cap, "member \"%.40s\" appears twice",
                         m->string);
                return FTSB_E_FORMAT;
            }
    qid = cJSON_GetObjectItemCaseSensitive(o, "question_id");
    cat = cJSON_GetObjectItemCaseSensitive(o, "category");
    turns = cJSON_GetObjectItemCaseSensitive(o, "turns");
    ref = cJSON_GetObjectItemCaseSensitive(o, "reference");
    if (cJSON_IsNumber(qid) && qid->valuedouble == floor(qid->valuedouble) &&
        fabs(qid->valuedouble) < 9007199254740992.0)
        snprintf(idtext, sizeof idtext, "%.0f", qid->valuedouble);
    else if (cJSON_IsString(qid) && qid->valuestring[0] &&
             strlen(qid->valuestring) < sizeof idtext)
        snprintf(idtext, sizeof idtext, "%s", qid->valuestring);
    else {
        snprintf(why, cap, "%s", qid ? "\"question_id\" must be an integer "
                 "or a short non-empty string" : "missing \"question_id\"");
        return FTSB_E_FORMAT;
    }
    if (!cJSON_IsString(cat) || !cat->valuestring[0]) {
        snprintf(why, cap, "%s", cat ? "\"category\" must be a non-empty "
                 "string" : "missing \"category\"");
        return FTSB_E_FORMAT;
    }
    if (!turns) {
        snprintf(why, cap, "missing \"turns\"");
        return FTSB_E_FORMAT;
    }
    if ((bad = mt_strings(turns, MTBENCH_TURNS, MTBENCH_TURNS, "turns", why,
                          cap)))
        return FTSB_E_FORMAT;
    if (ref && !cJSON_IsNull(ref) &&
        (bad = mt_strings(ref, 1, MTBENCH_TURNS, "reference", why, cap)))
        return FTSB_E_FORMAT;
    for (const cJSON *x = turns->child; x; x = x->next, t++) {
        const cJSON *r = ref && cJSON_IsArray(ref) ? cJSON_GetArrayItem(ref, t)
                                                   : NULL;

        if (!x->valuestring[0]) {
            snprintf(why, cap, "turn %d is empty", t + 1);
            return FTSB_E_FORMAT;
        }
        msgs[nm++] = (ftsb_message){"user", x->valuestring};
        if (r)
            msgs[nm++] = (ftsb_message){"assistant", r->valuestring};
    }
    if (mt_ids_add(ids, idtext, line, &seen))
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    if (seen) {
        snprintf(why, cap, "question_id %s is also on line %llu", idtext,
                 (unsigned long long)seen);
        return FTSB_E_FORMAT;
    }
    snprintf(id, sizeof id, "mtbench-%s", idtext);
    row.id = id;
    row.instruction = turns->child->valuestring;
    row.input = turns->child->next->valuestring;
    row.category = cat->valuestring;
    row.chat = (ftsb_chat){nm, msgs};
    return dataset_add_err(ds, &row, err);
}

static ftsb_status load_mtbench(const struct args *a, struct ftsb_dataset *ds,
                                struct err *err)
{
    const char *path = arg_str(a, "path", "");
    struct strbuf line = STRBUF_INIT;
    struct mt_ids ids = {0};
    struct jscan *js = malloc(sizeof *js);
    uint64_t lineno = 0;
    struct src src;
    ftsb_status s;
    char why[200];
    int got;

    if (!js)
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    if ((s = need_file(a, path, "path", err)) ||
        (s = src_open_file(&src, path, err))) {
        free(js);
        return s;
    }
    while ((s = src_getline(&src, &line, &lineno, &got, err)) == FTSB_OK &&
           got) {
        size_t bad = 0, k;
        cJSON *o;
        int r;

        if (!utf8_valid(line.buf, line.len, &bad)) {
            s = bfail(err, FTSB_E_FORMAT, a->name, "%s:%llu: invalid UTF-8 "
                      "at byte %zu of the line", path,
                      (unsigned long long)lineno, bad + 1);
            break;
        }
        jscan_init(js, 0, '{');
        k = jscan_feed(js, line.buf, line.len);
        if (js->reason && js->wrong_top) {
            s = bfail(err, FTSB_E_FORMAT, a->name, "%s:%llu: %s", path,
                      (unsigned long long)lineno, js->reason);
            break;
        }
        r = js->reason ? -1 : jscan_finish(js, "line");
        if (r > 0)
            continue;   /* a blank line */
        if (r < 0) {
            s = bfail(err, FTSB_E_FORMAT, a->name, "%s:%llu: invalid JSON at "
                      "byte %zu: %s", path, (unsigned long long)lineno,
                      (js->reason && k < line.len ? k : line.len) + 1,
                      js->reason);
            break;
        }
        if (!(o = cJSON_ParseWithOpts(line.buf, NULL, 1))) {
            s = err_set(err, FTSB_E_NOMEM, "out of memory");
            break;
        }
        s = mt_row(o, lineno, &ids, ds, why, sizeof why, err);
        cJSON_Delete(o);
        if (s == FTSB_E_FORMAT && why[0]) {
            s = bfail(err, FTSB_E_FORMAT, a->name, "%s:%llu: %s", path,
                      (unsigned long long)lineno, why);
            if (strstr(why, "\"turns\"") || strstr(why, "question_id\""))
                add_hint(err, "; expected MT-Bench's question.jsonl: "
                         "{\"question_id\": 81, \"category\": \"writing\", "
                         "\"turns\": [\"...\", \"...\"]}");
        }
        if (s)
            break;
    }
    if (s != FTSB_OK && strncmp(err->msg, "benchmark '", 11) != 0)
        err_prefix(err, "benchmark '%s'", a->name);
    if (s == FTSB_OK && dataset_count(ds) == 0)
        s = bfail(err, FTSB_E_FORMAT, a->name, "'%s' has no questions", path);
    src_close(&src);
    strbuf_release(&line);
    mt_ids_free(&ids);
    free(js);
    return s;
}

/* ---- the table ---------------------------------------------------------- */

static const struct opt_spec hexphi_opts[] = {
    {"dir", BENCH_OPT_STRING, 1,
     "the HEx-PHI folder, holding category_1.csv ... category_11.csv"},
    {"category_names", BENCH_OPT_STRING, 0, NULL},
    {"rows_per_category", BENCH_OPT_INT, 0, NULL},
};

static const struct opt_spec advbench_opts[] = {
    {"path", BENCH_OPT_STRING, 1, "AdvBench's harmful_behaviors.csv"},
    {"column", BENCH_OPT_STRING, 0, NULL},
    {"header", BENCH_OPT_BOOL, 0, NULL},
};

static const struct opt_spec harmbench_opts[] = {
    {"path", BENCH_OPT_STRING, 1,
     "HarmBench's behaviours CSV (e.g. harmbench_behaviors_text_all.csv)"},
    {"context", BENCH_OPT_STRING, 0, NULL},
};

static const struct opt_spec jsonl_opts[] = {
    {"path", BENCH_OPT_STRING, 1,
     "a JSONL file of {\"instruction\", \"category\", \"id\"} objects"},
};

static const struct opt_spec synthetic_opts[] = {
    {"path", BENCH_OPT_STRING, 0, NULL},
    {"benign", BENCH_OPT_BOOL, 0, NULL},
};

static const struct opt_spec mtbench_opts[] = {
    {"path", BENCH_OPT_STRING, 1, "MT-Bench's question.jsonl"},
};

struct loader {
    const char *name;
    const struct opt_spec *opts;
    size_t n_opts;
    ftsb_status (*load)(const struct args *a, struct ftsb_dataset *ds,
                        struct err *err);
};

#define LOADER(name, fn) {#name, name##_opts, ARRAY_LEN(name##_opts), fn}

static const struct loader loaders[] = {
    LOADER(hexphi, load_hexphi),       LOADER(advbench, load_advbench),
    LOADER(harmbench, load_harmbench), LOADER(jsonl, load_jsonl),
    LOADER(synthetic, load_synthetic), LOADER(mtbench, load_mtbench),
};

const char *benchmark_names(void)
{
    return "hexphi, advbench, harmbench, jsonl, synthetic, mtbench";
}

ftsb_status benchmark_load(const char *name, const struct bench_opt *opts,
                           size_t n, struct ftsb_dataset **out,
                           struct err *err)
{
    const struct loader *l = NULL;
    struct args a = {name, opts, n};
    struct ftsb_dataset *ds;
    struct err local;
    ftsb_status s;

    /* The loaders read messages back (to add hints): give them a record
     * even when the caller wants none. */
    if (!err)
        err = &local;
    err_clear(err);
    *out = NULL;
    for (size_t i = 0; i < ARRAY_LEN(loaders) && !l; i++)
        if (name && strcmp(loaders[i].name, name) == 0)
            l = &loaders[i];
    if (!l)
        return err_set(err, FTSB_E_NOT_FOUND, "unknown benchmark '%s'; "
                       "known benchmarks: %s", name ? name : "",
                       benchmark_names());
    if ((s = check_opts(&a, l->opts, l->n_opts, err)))
        return s;
    /* A generic JSONL set is named by its file, as a loaded dataset is;
     * the others by the benchmark. */
    ds = dataset_new(strcmp(name, "jsonl") == 0 ? arg_str(&a, "path", name)
                                                : name);
    if (!ds)
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    s = l->load(&a, ds, err);
    if (s != FTSB_OK) {
        dataset_free(ds);
        return s;
    }
    *out = ds;
    return FTSB_OK;
}
