/*
 * report.c - report_write(): checks the request, creates the folder,
 * writes the five files to temporary names and renames them into place.
 *
 * The request is checked before anything is written (runs listed twice,
 * an unknown baseline), the store is read while records.jsonl is written,
 * and only when all five files are complete and synced are they renamed
 * over the old ones.  A failure at any point removes the temporary files
 * and leaves the previous report as it was; a crash leaves at most some
 * "*.tmp" files beside it.
 */
#include "../ftsb_setup.h"

#include <sys/stat.h>
#include <unistd.h>

#include "../store/store.h"
#include "report_int.h"

enum { F_RECORDS, F_SUMMARY, F_CSV, F_MD, F_HTML, N_FILES };

static const char *const file_names[N_FILES] = {
    "records.jsonl", "summary.json", "metrics.csv", "report.md", "report.html",
};

/* mkdir -p: each missing folder of path, in order. */
static ftsb_status make_dirs(const char *path, struct err *err)
{
    struct strbuf sb = STRBUF_INIT;
    struct stat st;
    ftsb_status rc = FTSB_OK;

    if (strbuf_addstr(&sb, path))
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    for (char *p = sb.buf + 1;; p++) {
        char c = *p;

        if (c != '/' && c != '\0')
            continue;
        *p = '\0';
        if (mkdir(sb.buf, 0777) != 0 && errno != EEXIST) {
            rc = err_set(err, FTSB_E_IO, "report: cannot create folder '%s': "
                         "%s", sb.buf, strerror(errno));
            break;
        }
        *p = c;
        if (!c)
            break;
    }
    if (rc == FTSB_OK && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)))
        rc = err_set(err, FTSB_E_IO, "report: '%s' is not a folder; give "
                     "'out' a folder path", path);
    strbuf_release(&sb);
    return rc;
}

/* The label of run i, as the report shows it. */
static const char *label_of(const struct report_run *r)
{
    return r->label && *r->label ? r->label : r->name;
}

static ftsb_status check_spec(const struct report_spec *spec, long *baseline,
                              struct err *err)
{
    if (!spec->out_dir || !*spec->out_dir)
        return err_set(err, FTSB_E_INVALID,
                       "report: 'out' (the folder to write to) is required");
    if (spec->n_runs == 0)
        return err_set(err, FTSB_E_INVALID,
                       "report: 'runs' is empty; list the runs to compare, "
                       "e.g. runs = { \"before\", \"after\" }");
    for (size_t i = 0; i < spec->n_runs; i++) {
        if (!spec->runs[i].name || !*spec->runs[i].name)
            return err_set(err, FTSB_E_INVALID,
                           "report: run %zu has no name", i + 1);
        for (size_t k = 0; k < i; k++) {
            if (strcmp(spec->runs[i].name, spec->runs[k].name) == 0)
                return err_set(err, FTSB_E_INVALID,
                               "report: run '%s' is listed twice",
                               spec->runs[i].name);
            if (strcmp(label_of(&spec->runs[i]), label_of(&spec->runs[k])) ==
                0)
                return err_set(err, FTSB_E_INVALID,
                               "report: runs '%s' and '%s' have the same "
                               "label '%s'; give them distinct labels",
                               spec->runs[k].name, spec->runs[i].name,
                               label_of(&spec->runs[i]));
        }
    }
    *baseline = 0;
    if (spec->baseline && !*spec->baseline) {
        *baseline = -1;
    } else if (spec->baseline) {
        struct strbuf known = STRBUF_INIT;

        *baseline = -2;
        for (size_t i = 0; i < spec->n_runs && *baseline == -2; i++)
            if (strcmp(spec->runs[i].name, spec->baseline) == 0 ||
                strcmp(label_of(&spec->runs[i]), spec->baseline) == 0)
                *baseline = (long)i;
        if (*baseline == -2) {
            for (size_t i = 0; i < spec->n_runs; i++)
                strbuf_addf(&known, "%s'%s'", i ? ", " : "",
                            spec->runs[i].name);
            err_set(err, FTSB_E_INVALID,
                    "report: baseline '%s' is not one of the report's runs "
                    "(%s); name one of them, or its label",
                    spec->baseline, known.buf);
            strbuf_release(&known);
            return FTSB_E_INVALID;
        }
    }
    return FTSB_OK;
}

static ftsb_status open_tmp(const char *path, FILE **out, struct err *err)
{
    *out = fopen(path, "w");
    if (!*out)
        return err_set(err, FTSB_E_IO, "report: cannot write '%s': %s", path,
                       strerror(errno));
    return FTSB_OK;
}

/* Flushes, syncs and closes f: the data must be on disk before a rename
 * makes it the report. */
static ftsb_status close_tmp(FILE **f, const char *path, ftsb_status st,
                             struct err *err)
{
    int bad;

    if (!*f)
        return st;
    bad = fflush(*f) != 0 || ferror(*f) || fsync(fileno(*f)) != 0;
    if (fclose(*f) != 0)
        bad = 1;
    *f = NULL;
    if (bad && st == FTSB_OK)
        return err_set(err, FTSB_E_IO, "report: cannot write '%s': %s", path,
                       strerror(errno));
    return st;
}

typedef ftsb_status (*writer_fn)(const struct rp_report *r, FILE *f,
                                 struct err *err);

ftsb_status report_write(struct store *store, const struct report_spec *spec,
                         struct report_files *files, struct err *err)
{
    static const writer_fn writers[N_FILES] = {
        NULL, rp_write_summary, rp_write_csv, rp_write_markdown, rp_write_html,
    };
    struct strbuf final[N_FILES], tmp[N_FILES];
    struct rp_report r;
    FILE *f = NULL;
    long baseline;
    ftsb_status st;
    int written = 0;

    memset(&r, 0, sizeof r);
    if (files)
        memset(files, 0, sizeof *files);
    if ((st = check_spec(spec, &baseline, err)))
        return st;
    for (int i = 0; i < N_FILES; i++) {
        strbuf_init(&final[i]);
        strbuf_init(&tmp[i]);
    }
    r.spec = spec;
    r.title = spec->title && *spec->title ? spec->title : "ftsb report";
    r.store_path = store_path(store);
    r.baseline = baseline;
    if ((st = make_dirs(spec->out_dir, err)))
        goto out;
    for (int i = 0; i < N_FILES; i++)
        if (strbuf_addf(&final[i], "%s/%s", spec->out_dir, file_names[i]) ||
            strbuf_addf(&tmp[i], "%s.tmp", final[i].buf)) {
            st = err_set(err, FTSB_E_NOMEM, "out of memory");
            goto out;
        }
    /* records.jsonl is written while the store is read. */
    if ((st = open_tmp(tmp[F_RECORDS].buf, &f, err)))
        goto out;
    written = 1;
    st = rp_load(store, &r, f, err);
    st = close_tmp(&f, tmp[F_RECORDS].buf, st, err);
    for (int i = F_SUMMARY; st == FTSB_OK && i < N_FILES; i++) {
        if ((st = open_tmp(tmp[i].buf, &f, err)))
            break;
        written = i + 1;
        st = writers[i](&r, f, err);
        st = close_tmp(&f, tmp[i].buf, st, err);
    }
    for (int i = 0; st == FTSB_OK && i < N_FILES; i++)
        if (rename(tmp[i].buf, final[i].buf) != 0)
            st = err_set(err, FTSB_E_IO, "report: cannot rename '%s' to "
                         "'%s': %s", tmp[i].buf, final[i].buf,
                         strerror(errno));
    if (st == FTSB_OK && files) {
        char **dst[N_FILES] = {&files->records, &files->summary, &files->csv,
                               &files->markdown, &files->html};

        for (int i = 0; i < N_FILES; i++)
            *dst[i] = strbuf_detach(&final[i], NULL);
    }
out:
    if (st != FTSB_OK) {
        for (int i = 0; i < written; i++)
            unlink(tmp[i].buf);
        if (files)
            report_files_release(files);
    }
    rp_free(&r);
    for (int i = 0; i < N_FILES; i++) {
        strbuf_release(&final[i]);
        strbuf_release(&tmp[i]);
    }
    return st;
}

void report_files_release(struct report_files *files)
{
    free(files->records);
    free(files->summary);
    free(files->csv);
    free(files->markdown);
    free(files->html);
    memset(files, 0, sizeof *files);
}
