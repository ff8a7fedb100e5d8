/*
 * report_html.c - report.html: one self-contained page with inline SVG.
 *
 * The page holds the Markdown report's tables and two kinds of charts,
 * drawn as SVG by hand: per-category grouped bars (one bar per run, with
 * 95% interval whiskers), the shape of the paper's Figures 1 and 6; and
 * each scoring judge's score distribution per run.  No script, no font,
 * no stylesheet or image is fetched: the file can be mailed, archived or
 * opened offline, and renders the same everywhere.  Every element is
 * closed (void elements written as <x/>), so the page is also well-formed
 * XML, which the tests check.  Hovering a bar shows its exact value, its
 * interval and its counts (SVG <title>, no JavaScript).  The p-values of
 * the paired tests against the baseline sit beside the deltas, in tables
 * of their own (report_paired.c).
 */
#include "../ftsb_setup.h"

#include <math.h>

#include <cjson/cJSON.h>

#include "report_int.h"

static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Colour-blind-safe palette (Okabe and Ito); the baseline run is grey so
 * that "before" reads as the reference in every chart. */
static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73",
                                      "#CC79A7", "#E69F00", "#56B4E9",
                                      "#000000", "#F0E442"};
#define BASE_COLOUR "#8C8C8C"

static const char *colour(const struct rp_report *r, size_t i)
{
    size_t k = 0;

    if ((long)i == r->baseline)
        return BASE_COLOUR;
    for (size_t j = 0; j < i; j++)
        k += (long)j != r->baseline;
    return palette[k % ARRAY_LEN(palette)];
}

static const char style[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "margin:2em auto;max-width:72em;padding:0 1em;color:#222;"
    "line-height:1.45}\n"
    "h1{font-size:1.6em}h2{font-size:1.3em;margin-top:2em;"
    "border-bottom:1px solid #ddd}h3{font-size:1.1em}\n"
    "table{border-collapse:collapse;margin:0.8em 0}\n"
    "th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right;"
    "vertical-align:top}\n"
    "th:first-child,td:first-child{text-align:left}\n"
    "th{background:#f3f3f3}\n"
    "td.err{background:#fff4e5}\n"
    ".note,.meta{color:#555;font-size:0.9em}\n"
    ".notes{white-space:pre-wrap;background:#f8f8f8;padding:0.6em;"
    "border-left:3px solid #bbb}\n"
    "figure{margin:1em 0;overflow-x:auto}\n"
    "code{font-size:0.85em;word-break:break-all}\n"
    "svg text{font-family:inherit}\n";

/* ---- tables ------------------------------------------------------------ */

static void th_runs(FILE *f, const struct rp_report *r, const char *first)
{
    fputs("<tr><th>", f);
    esc(f, first);
    fputs("</th>", f);
    for (size_t i = 0; i < r->n_runs; i++) {
        fputs("<th>", f);
        esc(f, r->runs[i].label);
        if ((long)i == r->baseline)
            fputs(" <span class=\"note\">(baseline)</span>", f);
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
}

static void value_td(FILE *f, const struct rp_report *r, size_t i,
                     const char *name, const char *cat)
{
    const struct rp_metric *m = rp_find(&r->runs[i], name, cat);
    char buf[200];

    rp_fmt_cell(r, i, name, cat, buf, sizeof buf);
    fputs(m && m->n_errors > 0 ? "<td class=\"err\">" : "<td>", f);
    esc(f, buf);
    fputs("</td>", f);
}

static void paired_section(FILE *f, const struct rp_report *r);

static void main_table(FILE *f, const struct rp_report *r)
{
    fputs("<h2>Results</h2>\n", f);
    if (r->n_names == 0) {
        fputs("<p>No metric values are stored for these runs: evaluate "
              "them with <code>metrics = { ... }</code>.</p>\n", f);
        return;
    }
    fputs("<table>\n", f);
    th_runs(f, r, "metric");
    for (size_t k = 0; k < r->n_names; k++) {
        fputs("<tr><td>", f);
        esc(f, r->names[k]);
        fputs("</td>", f);
        for (size_t i = 0; i < r->n_runs; i++)
            value_td(f, r, i, r->names[k], NULL);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<p class=\"note\">", f);
    if (r->baseline >= 0) {
        fputs("In parentheses: the difference from the baseline, <b>", f);
        esc(f, r->runs[r->baseline].label);
        fputs("</b>; differences of rates are in percentage points. ", f);
    }
    fputs("&#8220;n err&#8221;: records left out of that value because "
          "their generation or verdict failed (highlighted).</p>\n", f);

    fputs("<h3>With 95% intervals</h3>\n<table>\n<tr><th>metric</th>"
          "<th>run</th><th>value</th><th>95% interval</th><th>n</th>"
          "<th>errors</th></tr>\n", f);
    for (size_t k = 0; k < r->n_names; k++)
        for (size_t i = 0; i < r->n_runs; i++) {
            const struct rp_metric *m = rp_find(&r->runs[i], r->names[k],
                                                NULL);
            char v[64], ci[96];

            if (!m)
                continue;
            rp_fmt_value(r->names[k], m, v, sizeof v);
            rp_fmt_ci(r->names[k], m, ci, sizeof ci);
            fputs("<tr><td>", f);
            esc(f, r->names[k]);
            fputs("</td><td>", f);
            esc(f, r->runs[i].label);
            fputs("</td><td>", f);
            esc(f, v);
            fputs("</td><td>", f);
            esc(f, *ci ? ci : "\xe2\x80\x93");
            fprintf(f, "</td><td>%lld</td><td%s>%lld</td></tr>\n",
                    (long long)m->n, m->n_errors ? " class=\"err\"" : "",
                    (long long)m->n_errors);
        }
    fputs("</table>\n", f);
    paired_section(f, r);
}

static void paired_section(FILE *f, const struct rp_report *r)
{
    if (r->baseline < 0 || r->n_runs < 2 || r->n_names == 0)
        return;
    fputs("<h3>Paired tests against the baseline</h3>\n<table>\n<tr><th>"
          "metric</th><th>run</th><th>difference</th><th>p-value</th>"
          "<th>test</th><th>pairs</th></tr>\n", f);
    for (size_t k = 0; k < r->n_names; k++)
        for (size_t i = 0; i < r->n_runs; i++) {
            const struct rp_run *run = &r->runs[i];
            const struct rp_metric *m = rp_find(run, r->names[k], NULL);
            const struct rp_test *t = rp_test_find(run, r->names[k], NULL);
            char d[64], pv[32];

            if ((long)i == r->baseline || !m)
                continue;
            rp_fmt_delta(r->names[k], m,
                         rp_find(&r->runs[r->baseline], r->names[k], NULL), d,
                         sizeof d);
            rp_fmt_p(t, pv, sizeof pv);
            fputs("<tr><td>", f);
            esc(f, r->names[k]);
            fputs("</td><td>", f);
            esc(f, run->label);
            fputs("</td><td>", f);
            esc(f, *d ? d : "\xe2\x80\x93");
            fputs("</td><td>", f);
            esc(f, *pv ? pv : "\xe2\x80\x93");
            fputs("</td><td>", f);
            if (t && t->method != RP_TEST_NONE) {
                esc(f, rp_test_method_name(t->method));
                fputs(", judge ", f);
                esc(f, t->judge ? t->judge : "?");
            } else {
                fputs("&#8211; <span class=\"note\">(", f);
                esc(f, t ? t->why : "no paired test");
                fputs(")</span>", f);
            }
            fprintf(f, "</td><td>%lld</td></tr>\n",
                    t ? (long long)t->pairs : 0LL);
        }
    fprintf(f, "</table>\n<p class=\"note\">Paired on the records both runs "
            "answered and judged, matched by benchmark index. Rates: "
            "McNemar&#8217;s test on the discordant pairs (exact binomial "
            "below %d of them, else chi-square with continuity correction). "
            "Mean scores: paired bootstrap of the mean difference (%d "
            "resamples, seed %d).</p>\n", RP_MCNEMAR_EXACT_BELOW,
            RP_BOOT_RESAMPLES, RP_BOOT_SEED);
}

/* Per-category differences and p-values of one metric. */
static void category_p_table(FILE *f, const struct rp_report *r,
                             const char *name)
{
    const struct rp_run *base;

    if (r->baseline < 0 || r->n_runs < 2)
        return;
    base = &r->runs[r->baseline];
    fputs("<p class=\"note\">Paired tests by category (difference from ", f);
    esc(f, base->label);
    fputs(", p-value):</p>\n<table>\n<tr><th>category</th>", f);
    for (size_t i = 0; i < r->n_runs; i++)
        if ((long)i != r->baseline) {
            fputs("<th>", f);
            esc(f, r->runs[i].label);
            fputs("</th>", f);
        }
    fputs("</tr>\n", f);
    for (size_t c = 0; c < r->n_cats; c++) {
        if (!rp_find(base, name, r->cats[c]))
            continue;
        fputs("<tr><td>", f);
        esc(f, r->cats[c]);
        fputs("</td>", f);
        for (size_t i = 0; i < r->n_runs; i++) {
            const struct rp_metric *m = rp_find(&r->runs[i], name, r->cats[c]);
            const struct rp_test *t = rp_test_find(&r->runs[i], name,
                                                   r->cats[c]);
            char d[64], pv[32], buf[128];

            if ((long)i == r->baseline)
                continue;
            rp_fmt_delta(name, m, rp_find(base, name, r->cats[c]), d,
                         sizeof d);
            rp_fmt_p(t, pv, sizeof pv);
            if (!m || !*d)
                snprintf(buf, sizeof buf, "\xe2\x80\x93");
            else if (*pv)
                snprintf(buf, sizeof buf, "%s (p %s%s)", d,
                         pv[0] == '<' ? "" : "= ", pv);
            else
                snprintf(buf, sizeof buf, "%s", d);
            fputs("<td>", f);
            esc(f, buf);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

struct count_out {
    FILE *f;
    const struct rp_report *r;
};

static void count_tr(void *ud, const char *what, const char *judge,
                     int which)
{
    struct count_out *o = ud;

    fputs("<tr><td>", o->f);
    esc(o->f, what);
    fputs("</td>", o->f);
    for (size_t i = 0; i < o->r->n_runs; i++) {
        int64_t v;

        if (!rp_count_value(&o->r->runs[i], judge, which, &v))
            fputs("<td>&#8211;</td>", o->f);
        else
            fprintf(o->f, "<td%s>%lld</td>",
                    v > 0 && rp_count_is_error(which) ? " class=\"err\""
                                                      : "",
                    (long long)v);
    }
    fputs("</tr>\n", o->f);
}

static void counts_table(FILE *f, const struct rp_report *r)
{
    struct count_out o = {f, r};

    fputs("<h2>Counts</h2>\n<table>\n", f);
    th_runs(f, r, "count");
    rp_count_rows(r, count_tr, &o);
    fputs("</table>\n<p class=\"note\">Filtered, refused and failed "
          "generations are never judged; metrics count them, and failed "
          "verdicts, as errors.</p>\n", f);
}

/* ---- charts -------------------------------------------------------------- */

/* One bar: its value and interval, and whether there is one. */
struct bar {
    int have;
    double v, lo, hi;
    int64_t n, n_errors;
};

typedef struct bar (*bar_fn)(const struct rp_report *r, size_t run,
                             size_t group, const void *ud);

struct chart {
    const char *title;          /* for the aria label */
    const char *unit;           /* the y axis label */
    const char *const *groups;  /* x labels */
    size_t n_groups;
    bar_fn get;
    const void *ud;
    int pct;                    /* y in percent */
    double ymin, ymax;
};

static double nice_ceiling(double x)
{
    double p, m;

    if (!(x > 0))
        return 1;
    p = pow(10, floor(log10(x)));
    m = x / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

static double ypos(const struct chart *c, double top, double h, double v)
{
    double t = (v - c->ymin) / (c->ymax - c->ymin);

    if (t < 0)
        t = 0;
    if (t > 1)
        t = 1;
    return top + h * (1 - t);
}

static void fmt_tick(const struct chart *c, double v, char *out, size_t cap)
{
    if (c->pct)
        snprintf(out, cap, "%.0f%%", 100 * v);
    else if (fabs(v - round(v)) < 1e-9)
        snprintf(out, cap, "%.0f", v);
    else
        snprintf(out, cap, "%.2g", v);
}

static void draw_chart(FILE *f, const struct rp_report *r,
                       const struct chart *c)
{
    size_t nr = r->n_runs, maxlab = 1;
    double bar_w = nr ? 64.0 / (double)nr : 16;
    double group_w, plot_w, left = 56, right = 16, top, plot_h = 220;
    double bottom, width, height, legend_cols;
    size_t legend_rows;
    int ticks = c->pct ? 4 : 5;

    if (bar_w < 6)
        bar_w = 6;
    if (bar_w > 18)
        bar_w = 18;
    group_w = (double)nr * bar_w + 14;
    plot_w = (double)c->n_groups * group_w;
    if (plot_w < 320)
        plot_w = 320;
    for (size_t g = 0; g < c->n_groups; g++)
        if (strlen(c->groups[g]) > maxlab)
            maxlab = strlen(c->groups[g]);
    if (maxlab > 40)
        maxlab = 40;
    /* A label hangs down to the left of its group at 40 degrees (about
     * 6.2 px a character): room for the first one. */
    if (4.75 * (double)maxlab - 7 - (double)nr * bar_w / 2 + 4 > left)
        left = 4.75 * (double)maxlab - 7 - (double)nr * bar_w / 2 + 4;
    legend_cols = floor((left + plot_w) / 180);
    if (legend_cols < 1)
        legend_cols = 1;
    legend_rows = (size_t)ceil((double)nr / legend_cols);
    top = 16 + 18.0 * (double)legend_rows;
    bottom = 24 + 6.2 * (double)maxlab * 0.643;
    width = left + plot_w + right;
    height = top + plot_h + bottom;

    fprintf(f, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" "
            "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "role=\"img\" aria-label=\"", width, height, width, height);
    esc(f, c->title);
    fputs("\" font-size=\"11\">\n", f);
    /* legend */
    for (size_t i = 0; i < nr; i++) {
        double lx = 8 + 180 * fmod((double)i, legend_cols);
        double ly = 8 + 18 * floor((double)i / legend_cols);

        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"11\" height=\"11\" "
                "fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\">", lx, ly,
                colour(r, i), lx + 15, ly + 9.5);
        esc(f, r->runs[i].label);
        fputs("</text>\n", f);
    }
    /* grid and y axis */
    for (int t = 0; t <= ticks; t++) {
        double v = c->ymin + (c->ymax - c->ymin) * t / ticks;
        double y = ypos(c, top, plot_h, v);
        char lab[32];

        fmt_tick(c, v, lab, sizeof lab);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"%s\" stroke-width=\"1\"/><text x=\"%.1f\" "
                "y=\"%.1f\" text-anchor=\"end\">%s</text>\n", left, y,
                left + plot_w, y, t == 0 ? "#888" : "#e4e4e4", left - 6,
                y + 4, lab);
    }
    fprintf(f, "<text transform=\"translate(14 %.1f) rotate(-90)\" "
            "text-anchor=\"middle\">", top + plot_h / 2);
    esc(f, c->unit);
    fputs("</text>\n", f);
    /* bars, whiskers and x labels */
    for (size_t g = 0; g < c->n_groups; g++) {
        double gx = left + (double)g * group_w + 7;
        double lx = gx + (double)nr * bar_w / 2, ly = top + plot_h + 12;

        for (size_t i = 0; i < nr; i++) {
            struct bar b = c->get(r, i, g, c->ud);
            double x = gx + (double)i * bar_w, y0, y1;
            char v[64];

            if (!b.have)
                continue;
            y0 = ypos(c, top, plot_h, c->ymin > 0 ? c->ymin : 0);
            y1 = ypos(c, top, plot_h, b.v);
            if (c->pct)
                snprintf(v, sizeof v, "%.1f%%", 100 * b.v);
            else
                snprintf(v, sizeof v, "%.2f", b.v);
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    "height=\"%.1f\" fill=\"%s\"><title>", x + 1,
                    y1 < y0 ? y1 : y0, bar_w - 2, fabs(y0 - y1),
                    colour(r, i));
            esc(f, r->runs[i].label);
            fputs(" \xc2\xb7 ", f);
            esc(f, c->groups[g]);
            fprintf(f, ": %s", v);
            if (b.lo != b.v || b.hi != b.v) {
                if (c->pct)
                    fprintf(f, " [%.1f%%, %.1f%%]", 100 * b.lo, 100 * b.hi);
                else
                    fprintf(f, " [%.2f, %.2f]", b.lo, b.hi);
            }
            fprintf(f, ", n=%lld, errors=%lld</title></rect>\n",
                    (long long)b.n, (long long)b.n_errors);
            if (!isnan(b.lo) && !isnan(b.hi) && (b.lo != b.v || b.hi != b.v)) {
                double cx = x + bar_w / 2, cap = bar_w / 4;
                double ylo = ypos(c, top, plot_h, b.lo);
                double yhi = ypos(c, top, plot_h, b.hi);

                fprintf(f, "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f "
                        "%.1fH%.1f\" stroke=\"#222\" stroke-width=\"1\" "
                        "fill=\"none\"/>\n", cx, ylo, yhi, cx - cap, ylo,
                        cx + cap, cx - cap, yhi, cx + cap);
            }
        }
        fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(-40)\" "
                "text-anchor=\"end\">", lx, ly);
        esc(f, c->groups[g]);
        fputs("</text>\n", f);
    }
    fputs("</svg></figure>\n", f);
}

/* Per-category values of one metric. */
struct cat_ud {
    const char *name;
};

static struct bar category_bar(const struct rp_report *r, size_t run,
                               size_t group, const void *ud)
{
    const struct cat_ud *cu = ud;
    const struct rp_metric *m = rp_find(&r->runs[run], cu->name,
                                        r->cats[group]);
    struct bar b = {0, 0, 0, 0, 0, 0};

    if (m && m->n > 0 && !isnan(m->value)) {
        b = (struct bar){1, m->value, m->lo, m->hi, m->n, m->n_errors};
        if (isnan(b.lo) || isnan(b.hi))
            b.lo = b.hi = b.v;
    }
    return b;
}

static void category_section(FILE *f, const struct rp_report *r)
{
    int any = 0;

    for (size_t k = 0; k < r->n_names; k++) {
        const char *name = r->names[k];
        struct cat_ud cu = {name};
        struct chart c = {name, name, (const char *const *)r->cats, r->n_cats,
                          category_bar, &cu, rp_is_rate(name), 0, 1};
        double top = 0, low = 0;
        char title[256];

        if (!rp_has_categories(r, name))
            continue;
        if (!any++)
            fputs("<h2>By category</h2>\n", f);
        for (size_t i = 0; i < r->n_runs; i++)
            for (size_t g = 0; g < r->n_cats; g++) {
                struct bar b = category_bar(r, i, g, &cu);

                if (!b.have)
                    continue;
                if (b.hi > top)
                    top = b.hi;
                if (b.v > top)
                    top = b.v;
                if (b.lo < low)
                    low = b.lo;
            }
        /* Rates on 0-100%; a 1..5 score on 0-5; anything else on a
         * rounded-up scale. */
        if (!c.pct) {
            c.ymax = strstr(name, "score") && top <= 5 ? 5 : nice_ceiling(top);
            c.ymin = low < 0 ? -nice_ceiling(-low) : 0;
        }
        snprintf(title, sizeof title, "%s by category, one bar per run, "
                 "with 95%% intervals", name);
        c.title = title;
        fputs("<h3>", f);
        esc(f, name);
        fputs("</h3>\n", f);
        draw_chart(f, r, &c);
        fputs("<table>\n", f);
        th_runs(f, r, "category");
        for (size_t g = 0; g < r->n_cats; g++) {
            int have = 0;

            for (size_t i = 0; i < r->n_runs && !have; i++)
                have = rp_find(&r->runs[i], name, r->cats[g]) != NULL;
            if (!have)
                continue;
            fputs("<tr><td>", f);
            esc(f, r->cats[g]);
            fputs("</td>", f);
            for (size_t i = 0; i < r->n_runs; i++)
                value_td(f, r, i, name, r->cats[g]);
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
        category_p_table(f, r, name);
    }
}

/* Score histograms of one judge: the share of each whole score. */
struct hist_ud {
    const char *judge;
    int other;        /* group 0 is "other" */
};

static struct bar hist_bar(const struct rp_report *r, size_t run,
                           size_t group, const void *ud)
{
    const struct hist_ud *hu = ud;
    const struct rp_judge *j = rp_judge_of(&r->runs[run], hu->judge);
    int s = hu->other ? (int)group : (int)group + 1;
    struct bar b = {0, 0, 0, 0, 0, 0};
    double v;

    if (!j || !j->scored)
        return b;
    v = (double)j->hist[s] / (double)j->scored;
    return (struct bar){1, v, v, v, j->hist[s], j->errors};
}

static void histogram_section(FILE *f, const struct rp_report *r)
{
    static const char *const labels[] = {"other", "1", "2", "3", "4", "5"};
    int any = 0;

    for (size_t k = 0; k < r->n_judges; k++) {
        struct hist_ud hu = {r->judges[k], 0};
        struct chart c;
        char title[256];

        if (!rp_judge_scored(r, r->judges[k]))
            continue;
        if (!any++)
            fputs("<h2>Judge scores</h2>\n", f);
        for (size_t i = 0; i < r->n_runs; i++) {
            const struct rp_judge *j = rp_judge_of(&r->runs[i], r->judges[k]);

            hu.other |= j && j->hist[0];
        }
        snprintf(title, sizeof title, "distribution of the scores of judge "
                 "%s, per run", r->judges[k]);
        c = (struct chart){title, "share of scored answers",
                           hu.other ? labels : labels + 1,
                           hu.other ? 6 : 5, hist_bar, &hu, 1, 0, 1};
        fputs("<h3>", f);
        esc(f, r->judges[k]);
        fputs("</h3>\n", f);
        draw_chart(f, r, &c);
        fputs("<p class=\"note\">Share of each score among the answers the "
              "judge scored; its errors are not in the shares (see "
              "Counts).</p>\n", f);
    }
}

/* ---- provenance ----------------------------------------------------------- */

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void dl_item(FILE *f, const char *term, const char *value, int as_code)
{
    if (!value)
        return;
    fputs("<dt>", f);
    esc(f, term);
    fputs(as_code ? "</dt><dd><code>" : "</dt><dd>", f);
    esc(f, value);
    fputs(as_code ? "</code></dd>\n" : "</dd>\n", f);
}

static void provenance(FILE *f, const struct rp_report *r)
{
    fputs("<h2>Runs</h2>\n", f);
    for (size_t i = 0; i < r->n_runs; i++) {
        const struct rp_run *run = &r->runs[i];
        cJSON *p = run->provenance ? cJSON_Parse(run->provenance) : NULL;
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(p, "backend");
        const cJSON *pr = cJSON_GetObjectItemCaseSensitive(p, "prompt");
        const cJSON *js = cJSON_GetObjectItemCaseSensitive(p, "judges"), *j;
        char buf[512];

        fputs("<details><summary>", f);
        esc(f, run->label);
        if (strcmp(run->label, run->name) != 0) {
            fputs(" (run <code>", f);
            esc(f, run->name);
            fputs("</code>)", f);
        }
        fputs(run->finished ? "" : " &#8212; <b>incomplete</b>", f);
        fputs("</summary>\n<dl>\n", f);
        dl_item(f, "created", run->created, 0);
        dl_item(f, "finished", run->finished ? run->finished : "not yet", 0);
        if (run->shard && *run->shard)
            dl_item(f, "shard", run->shard, 0);
        if (b) {
            snprintf(buf, sizeof buf, "%s %s",
                     jstr(b, "plugin") ? jstr(b, "plugin") : "?",
                     jstr(b, "version") ? jstr(b, "version") : "");
            dl_item(f, "model", buf, 0);
            dl_item(f, "model fingerprint", jstr(b, "fingerprint"), 1);
        }
        dl_item(f, "benchmark", jstr(p, "benchmark"), 1);
        if (pr) {
            dl_item(f, "system prompt", jstr(pr, "system"), 1);
            dl_item(f, "user template", jstr(pr, "template"), 1);
            if (jstr(pr, "trigger") && *jstr(pr, "trigger"))
                dl_item(f, "trigger", jstr(pr, "trigger"), 1);
        }
        cJSON_ArrayForEach(j, js) {
            snprintf(buf, sizeof buf, "judge %s", j->string);
            dl_item(f, buf, jstr(j, "fingerprint"), 1);
        }
        dl_item(f, "decoding", jstr(p, "decoding"), 1);
        dl_item(f, "run key", run->config_key, 1);
        fputs("</dl>\n</details>\n", f);
        cJSON_Delete(p);
    }
}

ftsb_status rp_write_html(const struct rp_report *r, FILE *f, struct err *err)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
          "<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" "
          "content=\"width=device-width, initial-scale=1\"/>\n<title>", f);
    esc(f, r->title);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", style);
    esc(f, r->title);
    fputs("</h1>\n", f);
    if (r->spec->notes && *r->spec->notes) {
        fputs("<p class=\"notes\">", f);
        esc(f, r->spec->notes);
        fputs("</p>\n", f);
    }
    fprintf(f, "<p class=\"meta\">Generated %s by ftsb %s from <code>",
            r->generated, FTSB_VERSION);
    esc(f, r->store_path);
    fputs("</code>.</p>\n", f);
    main_table(f, r);
    counts_table(f, r);
    category_section(f, r);
    histogram_section(f, r);
    provenance(f, r);
    fputs("</body>\n</html>\n", f);
    if (ferror(f))
        return err_set(err, FTSB_E_IO, "cannot write report.html: %s",
                       strerror(errno));
    return FTSB_OK;
}
