/*
 * test_report.c - core/report/: a store written by hand (two runs with
 * known records, verdicts, errors and metric values) is reported, and
 * each output is checked: summary.json parsed with cJSON (values, deltas,
 * nulls for NaN, counts by state and per judge, score histograms,
 * provenance), metrics.csv rows, the paper-shaped Markdown rows, the HTML
 * (well-formed: every tag closed; self-contained: no script, no external
 * resource; charts present and inside their boxes), records.jsonl line
 * by line; then the errors, and that a failed report leaves the previous
 * one whole with no temporary files behind.
 */
#include "ftsb_setup.h"

#include "test.h"

#include <dirent.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "report/report.h"
#include "store/store.h"

static char tmp_dir[256];

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;

    if (!d) {
        unlink(path);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        char sub[1024];

        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        rm_tree(sub);
    }
    closedir(d);
    rmdir(path);
}

/* ---- the store ------------------------------------------------------------ */

static const char *prov =
    "{\"backend\":{\"plugin\":\"mock\",\"version\":\"1.0.0\",\"fingerprint\":"
    "\"backend:mock@1.0.0:mock:m\"},\"judges\":{\"gpt4\":{\"plugin\":"
    "\"rubric\",\"version\":\"1.0.0\",\"fingerprint\":\"judge:rubric\"},"
    "\"kw\":{\"plugin\":\"keyword\",\"version\":\"1.0.0\",\"fingerprint\":"
    "\"judge:keyword\"}},\"benchmark\":\"bench\",\"benchmark_rows\":6,"
    "\"prompt\":{\"system\":\"S\",\"template\":\"\",\"trigger\":\"\"},"
    "\"decoding\":\"max=512\"}";

static void put_record(struct store *s, int64_t run, int64_t idx,
                       const char *cat, int32_t state, double score,
                       int verdict_error)
{
    char id[32], instr[64];
    struct store_record rec;
    struct err err;

    snprintf(id, sizeof id, "q%lld", (long long)idx + 1);
    snprintf(instr, sizeof instr, "placeholder request %lld, \"quoted\"",
             (long long)idx + 1);
    rec = (struct store_record){
        .idx = idx, .item_id = id, .instruction = instr, .category = cat,
        .chat_json = "[{\"role\":\"user\",\"content\":\"x\"}]",
        .response = state == FTSB_GEN_OK ? "placeholder answer" : "",
        .finish = state == FTSB_GEN_OK ? "stop" : "",
        .error = state == FTSB_GEN_OK ? NULL : "backend failed",
        .gen_state = state, .n_prompt_tokens = 3, .n_completion_tokens = 2,
        .gen_key = NULL};
    CHECK_INT(store_record_put(s, run, &rec, &err), FTSB_OK);
    if (state != FTSB_GEN_OK)
        return;
    {
        struct store_verdict v = {
            verdict_error ? FTSB_VERDICT_ERROR : FTSB_VERDICT_OK,
            verdict_error ? FTSB_REFUSED_UNKNOWN
                          : (score == 1 ? FTSB_REFUSED_YES : FTSB_REFUSED_NO),
            verdict_error ? FTSB_NO_SCORE : score,
            verdict_error ? "" : "because <reasons> & more",
            verdict_error ? "cannot read a score: 4.5" : NULL};
        struct store_verdict kw = {FTSB_VERDICT_OK,
                                   score == 1 ? FTSB_REFUSED_YES
                                              : FTSB_REFUSED_NO,
                                   FTSB_NO_SCORE, "kw", NULL};

        CHECK_INT(store_record_verdict_put(s, run, idx, "gpt4", &v, &err),
                  FTSB_OK);
        CHECK_INT(store_record_verdict_put(s, run, idx, "kw", &kw, &err),
                  FTSB_OK);
    }
}

static void put_metric(struct store *s, int64_t run, const char *name,
                       const char *cat, double v, double lo, double hi,
                       int64_t n, int64_t errors)
{
    ftsb_metric_value mv = {sizeof mv, name, cat, v, lo, hi, n, errors};
    struct err err;

    CHECK_INT(store_metric_put(s, run, &mv, &err), FTSB_OK);
}

static char store_file[300];

/* before: 6 rows, one generation error, one verdict error; scores
 * 1,1,2 | 1,err,-.  after: scores 5,5,4 | 5,3,5, not finished. */
static void make_store(void)
{
    struct store *s;
    int64_t before, after, other;
    struct err err;

    snprintf(store_file, sizeof store_file, "%s/report.db", tmp_dir);
    if (store_open(store_file, &s, &err) != FTSB_OK) {
        printf("  cannot open store: %s\n", err.msg);
        test_failed_ = 1;
        return;
    }
    store_run_open(s, "before", "K1", "", prov, &before, &err);
    store_run_open(s, "after", "K2", "", prov, &after, &err);
    store_run_open(s, "other", "K3", "", NULL, &other, &err);
    put_record(s, before, 0, "c1", FTSB_GEN_OK, 1, 0);
    put_record(s, before, 1, "c1", FTSB_GEN_OK, 1, 0);
    put_record(s, before, 2, "c1", FTSB_GEN_OK, 2, 0);
    put_record(s, before, 3, "c2", FTSB_GEN_OK, 1, 0);
    put_record(s, before, 4, "c2", FTSB_GEN_OK, 0, 1);
    put_record(s, before, 5, "c2", FTSB_GEN_ERROR, 0, 0);
    put_metric(s, before, "harmfulness_score", NULL, 1.25, 0.9, 1.6, 4, 2);
    put_metric(s, before, "harmfulness_score", "c1", 4.0 / 3, 1, 2, 3, 0);
    put_metric(s, before, "harmfulness_score", "c2", 1, 1, 5, 1, 2);
    put_metric(s, before, "harmfulness_rate", NULL, 0, 0, 0.49, 4, 2);
    put_metric(s, before, "harmfulness_rate", "c1", 0, 0, 0.56, 3, 0);
    put_metric(s, before, "harmfulness_rate", "c2", 0, 0, 0.79, 1, 2);
    store_run_finish(s, before, &err);
    for (int i = 0; i < 6; i++) {
        static const double sc[6] = {5, 5, 4, 5, 3, 5};

        put_record(s, after, i, i < 3 ? "c1" : "c2", FTSB_GEN_OK, sc[i], 0);
    }
    put_metric(s, after, "harmfulness_score", NULL, 4.5, 3.7, 5, 6, 0);
    put_metric(s, after, "harmfulness_score", "c1", 14.0 / 3, 3.2, 5, 3, 0);
    put_metric(s, after, "harmfulness_score", "c2", 13.0 / 3, 1.8, 5, 3, 0);
    put_metric(s, after, "harmfulness_rate", NULL, 4.0 / 6, 0.3, 0.9, 6, 0);
    put_metric(s, after, "harmfulness_rate", "c1", 2.0 / 3, 0.2, 0.94, 3, 0);
    put_metric(s, after, "harmfulness_rate", "c2", 2.0 / 3, 0.2, 0.94, 3, 0);
    put_metric(s, after, "weird", NULL, NAN, NAN, NAN, 0, 6);
    store_close(s);
}

static ftsb_status write_report(const char *out, const struct report_run *runs,
                                size_t n, const char *baseline,
                                const char *const *metrics, size_t n_metrics,
                                struct err *err)
{
    struct report_spec spec = {"Harmful <&> examples", "synthetic data",
                               runs, n, baseline, metrics, n_metrics, out};
    struct report_files files;
    struct store *s;
    ftsb_status st;

    if (store_open(store_file, &s, err))
        return FTSB_E_IO;
    st = report_write(s, &spec, &files, err);
    if (st == FTSB_OK) {
        CHECK_CONTAINS(files.html, "/report.html");
        report_files_release(&files);
    }
    store_close(s);
    return st;
}

static const struct report_run two_runs[] = {{"before", "Initial"},
                                             {"after", "10-shot"}};

/* ---- checks ------------------------------------------------------------- */

static const cJSON *at(const cJSON *o, const char *path)
{
    char key[128];

    while (o && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);

        snprintf(key, sizeof key, "%.*s", (int)n, path);
        if (cJSON_IsArray(o))
            o = cJSON_GetArrayItem(o, atoi(key));
        else
            o = cJSON_GetObjectItemCaseSensitive(o, key);
        path += n + (dot ? 1 : 0);
    }
    return o;
}

static double num(const cJSON *root, const char *path)
{
    const cJSON *v = at(root, path);

    if (!cJSON_IsNumber(v)) {
        printf("  %s is not a number\n", path);
        test_failed_ = 1;
        return NAN;
    }
    return v->valuedouble;
}

#define CHECK_NUM(root, path, want)                                        \
    do {                                                                   \
        double g_ = num(root, path), w_ = (want);                          \
        if (!(fabs(g_ - w_) < 1e-9)) {                                     \
            printf("  %s:%d: %s = %.12g, want %.12g\n", __FILE__,          \
                   __LINE__, path, g_, w_);                                \
            test_failed_ = 1;                                              \
        }                                                                  \
    } while (0)

TEST(summary_json)
{
    char out[400], path[500];
    struct err err;
    cJSON *root;
    char *text;

    snprintf(out, sizeof out, "%s/rep1", tmp_dir);
    CHECK_INT(write_report(out, two_runs, 2, NULL, NULL, 0, &err), FTSB_OK);
    snprintf(path, sizeof path, "%s/summary.json", out);
    text = slurp(path);
    root = text ? cJSON_Parse(text) : NULL;
    CHECK(root != NULL);
    if (!root) {
        free(text);
        return;
    }
    CHECK_STR(at(root, "title")->valuestring, "Harmful <&> examples");
    CHECK_STR(at(root, "baseline")->valuestring, "before");
    CHECK_STR(at(root, "metrics.0")->valuestring, "harmfulness_score");
    CHECK_STR(at(root, "metrics.2")->valuestring, "weird");
    CHECK_STR(at(root, "categories.1")->valuestring, "c2");
    CHECK_STR(at(root, "runs.0.label")->valuestring, "Initial");
    CHECK(cJSON_IsTrue(at(root, "runs.0.baseline")));
    CHECK(cJSON_IsTrue(at(root, "runs.0.complete")));
    CHECK(cJSON_IsFalse(at(root, "runs.1.complete")));
    CHECK(cJSON_IsNull(at(root, "runs.1.finished")));
    /* values and deltas */
    CHECK_NUM(root, "runs.0.metrics.overall.harmfulness_score.value", 1.25);
    CHECK_NUM(root, "runs.0.metrics.overall.harmfulness_score.errors", 2);
    CHECK(at(root, "runs.0.metrics.overall.harmfulness_score.delta") == NULL);
    CHECK_NUM(root, "runs.1.metrics.overall.harmfulness_score.delta", 3.25);
    CHECK_NUM(root, "runs.1.metrics.overall.harmfulness_score.lo", 3.7);
    CHECK_NUM(root, "runs.1.metrics.categories.c2.harmfulness_rate.delta",
              2.0 / 3);
    CHECK_NUM(root, "runs.1.metrics.categories.c1.harmfulness_score.delta",
              14.0 / 3 - 4.0 / 3);
    /* NaN is null; no baseline value gives a null delta */
    CHECK(cJSON_IsNull(at(root, "runs.1.metrics.overall.weird.value")));
    CHECK(cJSON_IsNull(at(root, "runs.1.metrics.overall.weird.delta")));
    CHECK_NUM(root, "runs.1.metrics.overall.weird.errors", 6);
    /* counts */
    CHECK_NUM(root, "runs.0.counts.records", 6);
    CHECK_NUM(root, "runs.0.counts.ok", 5);
    CHECK_NUM(root, "runs.0.counts.errors", 1);
    CHECK_NUM(root, "runs.0.counts.judges.gpt4.ok", 4);
    CHECK_NUM(root, "runs.0.counts.judges.gpt4.errors", 1);
    CHECK_NUM(root, "runs.0.counts.judges.gpt4.not_judged", 0);
    CHECK_NUM(root, "runs.0.counts.judges.gpt4.refused", 3);
    CHECK_NUM(root, "runs.0.counts.judges.gpt4.scores.1", 3);
    CHECK_NUM(root, "runs.0.counts.judges.gpt4.scores.2", 1);
    CHECK_NUM(root, "runs.0.counts.judges.kw.ok", 5);
    CHECK(at(root, "runs.0.counts.judges.kw.scores") == NULL);
    CHECK_NUM(root, "runs.1.counts.judges.gpt4.scores.5", 4);
    /* provenance comes back as JSON */
    CHECK_STR(at(root, "runs.0.provenance.backend.plugin")->valuestring,
              "mock");
    CHECK_STR(at(root, "runs.0.config_key")->valuestring, "K1");
    cJSON_Delete(root);
    free(text);
}

TEST(csv_and_markdown)
{
    char path[500], *csv, *md;

    snprintf(path, sizeof path, "%s/rep1/metrics.csv", tmp_dir);
    csv = slurp(path);
    snprintf(path, sizeof path, "%s/rep1/report.md", tmp_dir);
    md = slurp(path);
    CHECK(csv && md);
    if (!csv || !md) {
        free(csv);
        free(md);
        return;
    }
    CHECK(strncmp(csv, "run,label,metric,category,value,lo,hi,n,errors,"
                       "delta\n", 50) == 0);
    CHECK_CONTAINS(csv, "\nbefore,Initial,harmfulness_score,,1.25,0.9,1.6,"
                        "4,2,\n");
    CHECK_CONTAINS(csv, "\nafter,10-shot,harmfulness_score,,4.5,3.7,5,6,0,"
                        "3.25\n");
    CHECK_CONTAINS(csv, "\nafter,10-shot,weird,,,,,0,6,\n");
    /* The paper's shape: value (+delta), errors beside the value. */
    CHECK_CONTAINS(md, "# Harmful <&> examples\n");
    CHECK_CONTAINS(md, "| metric | Initial | 10-shot |\n");
    CHECK_CONTAINS(md, "| harmfulness_score | 1.25 \xc2\xb7 2 err | "
                       "4.50 (+3.25) |\n");
    CHECK_CONTAINS(md, "| harmfulness_rate | 0.0% \xc2\xb7 2 err | "
                       "66.7% (+66.7%) |\n");
    CHECK_CONTAINS(md, "| weird | \xe2\x80\x93 | n/a \xc2\xb7 6 err |\n");
    CHECK_CONTAINS(md, "| c1 | 1.33 | 4.67 (+3.33) |\n");
    CHECK_CONTAINS(md, "| generation errors | 1 | 0 |\n");
    CHECK_CONTAINS(md, "| judge gpt4: verdict errors | 1 | 0 |\n");
    CHECK_CONTAINS(md, "| 5 | 0 (0.0%) | 4 (66.7%) |\n");
    CHECK_CONTAINS(md, "| harmfulness_score | 10-shot | 4.50 | "
                       "[3.70, 5.00] | 6 | 0 |\n");
    CHECK_CONTAINS(md, "**incomplete**");
    CHECK_CONTAINS(md, "- model: mock 1.0.0");
    free(csv);
    free(md);
}

/* Every opened tag is closed in order, void elements are written <x/>,
 * and comments and the doctype are skipped: well-formed enough for any
 * browser and for an XML parser. */
static int tags_balanced(const char *h, char *why, size_t cap)
{
    char stack[64][32];
    int depth = 0;

    for (const char *p = strchr(h, '<'); p; p = strchr(p + 1, '<')) {
        const char *end;
        char name[32];
        size_t n = 0;
        int closing = p[1] == '/';

        if (!strncmp(p, "<!--", 4)) {
            p = strstr(p, "-->");
            if (!p)
                return snprintf(why, cap, "unterminated comment"), 0;
            continue;
        }
        if (p[1] == '!')
            continue;
        end = strchr(p, '>');
        if (!end)
            return snprintf(why, cap, "unterminated tag"), 0;
        for (const char *q = p + 1 + closing;
             q < end && *q != ' ' && *q != '/' && *q != '\n' && n < 31; q++)
            name[n++] = *q;
        name[n] = '\0';
        if (end[-1] == '/')
            continue;
        if (closing) {
            if (depth == 0 || strcmp(stack[depth - 1], name) != 0)
                return snprintf(why, cap, "</%s> closes <%s>", name,
                                depth ? stack[depth - 1] : "nothing"), 0;
            depth--;
        } else {
            if (depth == 64)
                return snprintf(why, cap, "nested too deep"), 0;
            snprintf(stack[depth++], 32, "%s", name);
        }
    }
    if (depth)
        return snprintf(why, cap, "<%s> never closed", stack[depth - 1]), 0;
    return 1;
}

static double attr(const char *tag, const char *name)
{
    char key[40];
    const char *p;

    snprintf(key, sizeof key, " %s=\"", name);
    p = strstr(tag, key);
    return p ? atof(p + strlen(key)) : NAN;
}

TEST(html_is_self_contained_and_well_formed)
{
    char path[500], why[200], *h;
    int n_svg = 0;

    snprintf(path, sizeof path, "%s/rep1/report.html", tmp_dir);
    h = slurp(path);
    CHECK(h != NULL);
    if (!h)
        return;
    CHECK(strncmp(h, "<!DOCTYPE html>", 15) == 0);
    if (!tags_balanced(h, why, sizeof why)) {
        printf("  report.html is not well-formed: %s\n", why);
        test_failed_ = 1;
    }
    CHECK(strstr(h, "<script") == NULL);
    CHECK(strstr(h, " src=") == NULL);
    CHECK(strstr(h, "<link") == NULL);
    CHECK(strstr(h, "@import") == NULL);
    /* The only URL is the SVG namespace. */
    for (const char *p = strstr(h, "http"); p; p = strstr(p + 1, "http"))
        CHECK(strncmp(p, "http://www.w3.org/2000/svg", 26) == 0);
    CHECK_CONTAINS(h, "<title>Harmful &lt;&amp;&gt; examples</title>");
    CHECK_CONTAINS(h, "<td class=\"err\">1.25 \xc2\xb7 2 err</td>");
    CHECK_CONTAINS(h, "<td>4.50 (+3.25)</td>");
    /* Charts: two metrics by category and one score histogram; every
     * bar inside its picture. */
    for (const char *s = strstr(h, "<svg "); s; s = strstr(s + 1, "<svg ")) {
        double w = attr(s, "width"), ht = attr(s, "height");
        const char *end = strstr(s, "</svg>");

        n_svg++;
        CHECK(w > 0 && ht > 0 && end);
        for (const char *r = strstr(s, "<rect "); r && end && r < end;
             r = strstr(r + 1, "<rect ")) {
            double x = attr(r, "x"), y = attr(r, "y");
            double rw = attr(r, "width"), rh = attr(r, "height");

            if (!(x >= 0 && y >= 0 && rw >= 0 && rh >= 0 && x + rw <= w &&
                  y + rh <= ht)) {
                printf("  a rect leaves its svg (%g %g %g %g in %g x %g)\n",
                       x, y, rw, rh, w, ht);
                test_failed_ = 1;
                break;
            }
        }
    }
    CHECK_INT(n_svg, 3);
    CHECK_CONTAINS(h, "aria-label=\"harmfulness_score by category");
    CHECK_CONTAINS(h, "aria-label=\"distribution of the scores of judge gpt4");
    /* a bar's tooltip carries the exact numbers */
    CHECK_CONTAINS(h, "<title>10-shot \xc2\xb7 c1: 4.67 [3.20, 5.00], n=3, "
                      "errors=0</title>");
    free(h);
}

TEST(records_jsonl)
{
    char path[500], *text, *line, *save = NULL;
    int n = 0;

    snprintf(path, sizeof path, "%s/rep1/records.jsonl", tmp_dir);
    text = slurp(path);
    CHECK(text != NULL);
    if (!text)
        return;
    for (line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(line);

        CHECK(o != NULL);
        if (!o)
            continue;
        n++;
        if (n == 5) {
            CHECK_STR(at(o, "run")->valuestring, "before");
            CHECK_STR(at(o, "verdicts.gpt4.state")->valuestring, "error");
            CHECK_STR(at(o, "verdicts.gpt4.error")->valuestring,
                      "cannot read a score: 4.5");
            CHECK(at(o, "verdicts.gpt4.score") == NULL);
        }
        if (n == 6) {
            CHECK_STR(at(o, "state")->valuestring, "error");
            CHECK_STR(at(o, "error")->valuestring, "backend failed");
            CHECK_INT(cJSON_GetArraySize(at(o, "verdicts")), 0);
        }
        if (n == 7) {
            CHECK_STR(at(o, "label")->valuestring, "10-shot");
            CHECK_NUM(o, "idx", 1);
            CHECK_NUM(o, "verdicts.gpt4.score", 5);
            CHECK(cJSON_IsFalse(at(o, "verdicts.gpt4.refused")));
            CHECK_STR(at(o, "chat.0.role")->valuestring, "user");
            CHECK_STR(at(o, "instruction")->valuestring,
                      "placeholder request 1, \"quoted\"");
        }
        cJSON_Delete(o);
    }
    CHECK_INT(n, 12);
    free(text);
}

TEST(baseline_choices)
{
    char out[400], path[500], *text;
    struct err err;
    cJSON *root;

    snprintf(out, sizeof out, "%s/rep2", tmp_dir);
    /* no deltas */
    CHECK_INT(write_report(out, two_runs, 2, "", NULL, 0, &err), FTSB_OK);
    snprintf(path, sizeof path, "%s/summary.json", out);
    text = slurp(path);
    root = text ? cJSON_Parse(text) : NULL;
    CHECK(root && cJSON_IsNull(at(root, "baseline")));
    CHECK(root &&
          !at(root, "runs.1.metrics.overall.harmfulness_score.delta"));
    cJSON_Delete(root);
    free(text);
    /* by label, the second run; and a chosen metric list */
    {
        static const char *const only[] = {"harmfulness_rate"};

        CHECK_INT(write_report(out, two_runs, 2, "10-shot", only, 1, &err),
                  FTSB_OK);
    }
    text = slurp(path);
    root = text ? cJSON_Parse(text) : NULL;
    CHECK(root && cJSON_GetArraySize(at(root, "metrics")) == 1);
    if (root)
        CHECK_NUM(root, "runs.0.metrics.overall.harmfulness_rate.delta",
                  -4.0 / 6);
    cJSON_Delete(root);
    free(text);
}

static int has_tmp_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;

    while (d && (e = readdir(d)) != NULL)
        found |= strstr(e->d_name, ".tmp") != NULL;
    if (d)
        closedir(d);
    return found;
}

TEST(errors_are_clear_and_leave_the_old_report)
{
    static const struct report_run missing[] = {{"before", NULL},
                                                {"nope", NULL}};
    static const struct report_run twice[] = {{"before", NULL},
                                              {"before", "again"}};
    static const struct report_run same_label[] = {{"before", "X"},
                                                   {"after", "X"}};
    static const char *const bad_metric[] = {"harmfulness_scroe"};
    char out[600], path[700], file[500], *old, *now;
    struct err err;

    snprintf(out, sizeof out, "%s/rep1", tmp_dir);
    snprintf(path, sizeof path, "%s/summary.json", out);
    old = slurp(path);

    CHECK_INT(write_report(out, missing, 2, NULL, NULL, 0, &err),
              FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "no run named 'nope' in ");
    CHECK_CONTAINS(err.msg, "its runs are: 'before', 'after', 'other'");
    CHECK_INT(write_report(out, twice, 2, NULL, NULL, 0, &err),
              FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "run 'before' is listed twice");
    CHECK_INT(write_report(out, same_label, 2, NULL, NULL, 0, &err),
              FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "the same label 'X'");
    CHECK_INT(write_report(out, two_runs, 2, "during", NULL, 0, &err),
              FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "baseline 'during' is not one of the report's "
                            "runs ('before', 'after')");
    CHECK_INT(write_report(out, two_runs, 2, NULL, bad_metric, 1, &err),
              FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "no run reports metric 'harmfulness_scroe'");
    CHECK_INT(write_report(out, two_runs, 0, NULL, NULL, 0, &err),
              FTSB_E_INVALID);
    CHECK_CONTAINS(err.msg, "'runs' is empty");
    /* The failures above wrote nothing: the old report is whole. */
    now = slurp(path);
    CHECK(old && now && strcmp(old, now) == 0);
    CHECK(!has_tmp_files(out));
    free(old);
    free(now);

    /* A folder that cannot be made: its parent is a file. */
    snprintf(file, sizeof file, "%s/plain-file", tmp_dir);
    fclose(fopen(file, "w"));
    snprintf(out, sizeof out, "%s/sub", file);
    CHECK_INT(write_report(out, two_runs, 2, NULL, NULL, 0, &err), FTSB_E_IO);
    CHECK_CONTAINS(err.msg, "cannot create folder");
    CHECK_CONTAINS(err.msg, "plain-file");
    CHECK_INT(write_report(file, two_runs, 2, NULL, NULL, 0, &err),
              FTSB_E_IO);
    CHECK_CONTAINS(err.msg, "is not a folder");
}

TEST(nested_folder_is_created)
{
    char out[400], path[500];
    struct stat st;
    struct err err;

    snprintf(out, sizeof out, "%s/a/b/c", tmp_dir);
    CHECK_INT(write_report(out, two_runs, 1, NULL, NULL, 0, &err), FTSB_OK);
    snprintf(path, sizeof path, "%s/report.md", out);
    CHECK(stat(path, &st) == 0 && st.st_size > 0);
}

int main(void)
{
    char tmpl[] = "/tmp/ftsb-test-report-XXXXXX";

    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(tmp_dir, sizeof tmp_dir, "%s", tmpl);
    make_store();
    RUN(summary_json);
    RUN(csv_and_markdown);
    RUN(html_is_self_contained_and_well_formed);
    RUN(records_jsonl);
    RUN(baseline_choices);
    RUN(errors_are_clear_and_leave_the_old_report);
    RUN(nested_folder_is_created);
    rm_tree(tmp_dir);
    return test_summary();
}
