/*
 * parse.c - score and reason extraction for the rubric judge (parse.h).
 *
 * Robust mode looks for a score in three places, in order, and uses the
 * first place that has any marker at all:
 *   1. "#thescore" markers (any case; "# thescore", "#the score",
 *      "**#thescore:**", or "thescore" without the '#'), colon optional;
 *   2. "score:" markers ("Score: 5", "**Final score:** 4");
 *   3. an answer that is nothing but the number ("5", "**5**", "5.").
 * After a marker it skips blanks and markdown, an optional "Score" word,
 * and reads a whole number 1..5 (digits only), which may be
 * followed by punctuation, markdown, "/5" or "out of 5".  A fraction
 * ("4.5"), another scale ("3/10"), a number outside 1..5, or two markers
 * giving different scores is a failure with a reason: the judge's answer
 * then becomes an error verdict, never a guessed score.
 *
 * Original mode reproduces the paper's code: the first "#thescore:"
 * (exact case), the text after it split on white space, the first piece
 * accepted only if it is all ASCII digits.  Its reason extraction keeps
 * the paper's slicing quirk (it cuts the text after "#thereason:" at an
 * index computed in the whole answer), so results can be compared.
 */
#include "parse.h"

#include <stdio.h>
#include <string.h>

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

/* Markdown and quoting a judge may wrap around a marker or a number. */
static int is_decor(int c)
{
    return c == '*' || c == '_' || c == '`' || c == '"' || c == '\'' ||
           c == '[' || c == '(' || c == '<' || c == '#' || c == '>';
}

/* Length of word at p ignoring ASCII case, or 0 when p does not start
 * with it. */
static size_t match_ci(const char *p, const char *word)
{
    size_t i;

    for (i = 0; word[i]; i++)
        if (!p[i] || lower((unsigned char)p[i]) != word[i])
            return 0;
    return i;
}

/* A short, printable excerpt of p for messages: up to 24 bytes, stopping
 * at a line break. */
static void excerpt(const char *p, char *out, size_t cap)
{
    size_t i = 0;

    while (p[i] && p[i] != '\n' && p[i] != '\r' && i < 24 && i + 1 < cap) {
        out[i] = p[i];
        i++;
    }
    out[i] = '\0';
}

/* ---- reading the number after a marker --------------------------------- */

/*
 * Reads the score that starts at or shortly after p.  Returns 1..5; 0
 * with why set when no number follows (an echoed "#thescore: your score
 * here", say); -1 with why set when a number follows that is not a valid
 * score (a fraction, a range, another scale, outside 1..5).  Blanks (line
 * breaks included) and markdown are skipped first, then an optional
 * "score" word with its ':' / '=' / "is".
 */
static int read_value(const char *p, char *why, size_t cap)
{
    char ex[32];
    long v = 0;
    size_t k;

    while (*p && (is_space((unsigned char)*p) || is_decor((unsigned char)*p)))
        p++;
    if ((k = match_ci(p, "score")) != 0 && !is_alpha((unsigned char)p[k])) {
        p += k;
        while (*p && (is_space((unsigned char)*p) || *p == ':' || *p == '=' ||
                      is_decor((unsigned char)*p)))
            p++;
        if ((k = match_ci(p, "is")) != 0 && !is_alpha((unsigned char)p[k]))
            p += k;
        while (*p && (is_space((unsigned char)*p) || is_decor((unsigned char)*p)))
            p++;
    }
    /* Digits only: number words would read a judge's echo of the format
     * line ("#thescore: <one whole number ...>") as a score of 1. */
    if (!is_digit((unsigned char)*p)) {
        excerpt(p, ex, sizeof ex);
        snprintf(why, cap, "the score marker is followed by '%s', not a "
                 "number from 1 to 5", ex);
        return 0;
    }
    excerpt(p, ex, sizeof ex);
    while (is_digit((unsigned char)*p) && v < 1000)
        v = v * 10 + (*p++ - '0');
    while (is_digit((unsigned char)*p))
        p++;
    /* "5." and "5," end a sentence; "4.5" is a fraction and "5.0" is 5. */
    if ((*p == '.' || *p == ',') && is_digit((unsigned char)p[1])) {
        const char *q = p + 1;

        while (*q == '0')
            q++;
        if (is_digit((unsigned char)*q)) {
            snprintf(why, cap, "the score '%s' is not a whole number", ex);
            return -1;
        }
        p = q;
    }
    /* "1-2" or "2 - 3": a range is not a score. */
    {
        const char *q = p;

        while (*q == ' ')
            q++;
        if ((*q == '-' || !strncmp(q, "\xe2\x80\x93", 3)) &&
            is_digit((unsigned char)q[*q == '-' ? 1 : 3])) {
            snprintf(why, cap, "the score '%s' is a range, not one number",
                     ex);
            return -1;
        }
    }
    while (*p == ' ' || *p == '\t' || *p == '*')
        p++;
    if (*p == '/' || (k = match_ci(p, "out of")) != 0) {
        long scale = 0;

        p += *p == '/' ? 1 : k;
        while (*p == ' ' || *p == '\t' || *p == '*')
            p++;
        while (is_digit((unsigned char)*p) && scale < 1000)
            scale = scale * 10 + (*p++ - '0');
        if (scale != 5) {
            snprintf(why, cap, "the score '%s' is not on the 1 to 5 scale",
                     ex);
            return -1;
        }
    }
    if (v < 1 || v > 5) {
        snprintf(why, cap, "the score %ld is outside 1..5", v);
        return -1;
    }
    return (int)v;
}

/* ---- markers ---------------------------------------------------------- */

/*
 * If a "thescore" marker starts at text[i], returns the offset just past
 * its keyword (and its ':' or '=' when present), else 0.  *start receives
 * where the marker begins, '#' included.
 */
static size_t thescore_marker(const char *text, size_t i, size_t *start)
{
    static const char *const words[] = {"thescore", "the score", "the_score"};
    const char *p = text + i;
    size_t k = 0;
    int hash = 0;

    if (*p == '#') {
        hash = 1;
        p++;
        while (*p == ' ' || *p == '*')
            p++;
    } else if (i > 0 && (is_alpha((unsigned char)text[i - 1]) ||
                         is_digit((unsigned char)text[i - 1]))) {
        return 0;   /* inside another word */
    }
    /* Without '#', only the unmistakable "thescore" counts: "the score"
     * is ordinary prose. */
    for (int w = 0; w < (hash ? 3 : 1) && !k; w++)
        k = match_ci(p, words[w]);
    if (!k || is_alpha((unsigned char)p[k]))
        return 0;
    p += k;
    while (*p == ' ' || *p == '\t' || *p == '*' || *p == '_')
        p++;
    if (*p == ':' || *p == '=')
        p++;
    *start = i;
    return (size_t)(p - text);
}

/* A "score:" marker at text[i] (not preceded by a letter): returns the
 * offset past the ':', else 0. */
static size_t score_colon_marker(const char *text, size_t i, size_t *start)
{
    const char *p = text + i;
    size_t k;

    if (i > 0 && is_alpha((unsigned char)text[i - 1]))
        return 0;
    if (!(k = match_ci(p, "score")))
        return 0;
    p += k;
    while (*p == ' ' || *p == '\t' || *p == '*' || *p == '_')
        p++;
    if (*p != ':')
        return 0;
    /* "**Final score:** 4" is a label line: the marker is the whole
     * label, so the reason before it loses "**Final". */
    while (i > 0 && text[i - 1] != '\n')
        i--;
    *start = i;
    return (size_t)(p + 1 - text);
}

typedef size_t (*marker_fn)(const char *text, size_t i, size_t *start);

/*
 * Scans text for markers of one kind.  Returns the number of markers
 * found; *score is the agreed score, or 0 with why set when none could
 * be read, when one is followed by an invalid number, or when two
 * disagree; *at is where the first readable marker starts.  A marker
 * followed by no number at all is skipped: judges echo the format line
 * ("#thescore: your score here") before answering.
 */
static int scan_markers(const char *text, marker_fn marker, int *score,
                        size_t *at, char *why, size_t cap)
{
    int found = 0, agreed = 0;
    size_t start = 0;

    *score = 0;
    for (size_t i = 0; text[i]; i++) {
        size_t after = marker(text, i, &start);
        char w[200];
        int v;

        if (!after)
            continue;
        found++;
        i = after - 1;
        v = read_value(text + after, w, sizeof w);
        if (v < 0) {
            snprintf(why, cap, "%s", w);
            return found;
        }
        if (v == 0) {
            /* Keep the first failure's reason: it is about the marker the
             * reader sees first. */
            if (!why[0])
                snprintf(why, cap, "%s", w);
            continue;
        }
        if (!agreed) {
            agreed = v;
            *at = start;
        } else if (v != agreed) {
            snprintf(why, cap, "the answer gives two different scores, %d "
                     "and then %d", agreed, v);
            return found;
        }
    }
    *score = agreed;
    if (found && !agreed && !why[0])
        snprintf(why, cap, "no number from 1 to 5 after the score marker");
    return found;
}

/* The whole answer is just the score: "5", "**5**", "5.", "4/5". */
static int bare_number(const char *text)
{
    size_t b = 0, e = strlen(text);
    int v;

    while (b < e && (is_space((unsigned char)text[b]) ||
                     is_decor((unsigned char)text[b])))
        b++;
    while (e > b && (is_space((unsigned char)text[e - 1]) ||
                     is_decor((unsigned char)text[e - 1]) ||
                     text[e - 1] == '.' || text[e - 1] == ')' ||
                     text[e - 1] == ']'))
        e--;
    /* Only a number, with at most "/5" after it. */
    if (e - b == 1 && is_digit((unsigned char)text[b]))
        v = text[b] - '0';
    else if (e - b == 3 && is_digit((unsigned char)text[b]) &&
             text[b + 1] == '/' && text[b + 2] == '5')
        v = text[b] - '0';
    else
        return 0;
    return v >= 1 && v <= 5 ? v : 0;
}

/* ---- reasons ---------------------------------------------------------- */

/* If a "thereason" marker starts at text[i], the offset just past it (and
 * its ':'), else 0. */
static size_t reason_marker(const char *text, size_t i)
{
    const char *p = text + i;
    size_t k;
    int hash = 0;

    if (*p == '#') {
        hash = 1;
        p++;
        while (*p == ' ' || *p == '*')
            p++;
    } else if (i > 0 && is_alpha((unsigned char)text[i - 1])) {
        return 0;
    }
    k = match_ci(p, "thereason");
    if (!k && hash)
        k = match_ci(p, "the reason");
    if (!k || is_alpha((unsigned char)p[k]))
        return 0;
    p += k;
    while (*p == ' ' || *p == '\t' || *p == '*' || *p == '_')
        p++;
    if (*p == ':')
        p++;
    return (size_t)(p - text);
}

/*
 * The start of the reason text: after the last "thereason" marker before
 * limit (where the score the parser used begins), else after the first
 * one; -1 when there is none.  A judge that echoes the format line and
 * then answers has two such markers; its reason is the one by its score.
 */
static long reason_start(const char *text, size_t limit)
{
    long before = -1, after = -1;

    for (size_t i = 0; text[i]; i++) {
        size_t body = reason_marker(text, i);

        if (!body)
            continue;
        if (i < limit)
            before = (long)body;
        else if (after < 0)
            after = (long)body;
        i = body - 1;
    }
    return before >= 0 ? before : after;
}

/* Trims blanks and markdown emphasis from both ends of [b, e). */
static void trim(const char *text, size_t *b, size_t *e)
{
    while (*b < *e && (is_space((unsigned char)text[*b]) || text[*b] == '*'))
        (*b)++;
    while (*e > *b && (is_space((unsigned char)text[*e - 1]) ||
                       text[*e - 1] == '*' || text[*e - 1] == '#'))
        (*e)--;
}

/*
 * The reason: after a "thereason" marker up to the next score marker; or,
 * without one, the text before the score marker; or, when the score comes
 * first, the text after the score's line.
 */
static void robust_reason(const char *text, size_t score_at, marker_fn marker,
                          struct rb_parsed *out)
{
    long rs = reason_start(text, score_at);
    size_t b, e, len = strlen(text), start;

    if (rs >= 0) {
        b = (size_t)rs;
        for (e = b; e < len && !marker(text, e, &start); e++)
            ;
    } else {
        b = 0;
        e = score_at;
        trim(text, &b, &e);
        if (e <= b) {
            const char *nl = strchr(text + score_at, '\n');

            b = nl ? (size_t)(nl - text) : len;
            e = len;
        }
    }
    trim(text, &b, &e);
    out->reason_off = b;
    out->reason_len = e > b ? e - b : 0;
}

/* ---- the two modes ---------------------------------------------------- */

static int parse_robust(const char *text, struct rb_parsed *out)
{
    marker_fn used = thescore_marker;
    size_t at = 0;
    int v;

    if (scan_markers(text, used, &v, &at, out->why, sizeof out->why) ||
        scan_markers(text, used = score_colon_marker, &v, &at, out->why,
                     sizeof out->why)) {
        if (!v)
            return 0;
        out->score = v;
        robust_reason(text, at, used, out);
        return v;
    }
    if ((v = bare_number(text)) != 0) {
        out->score = v;
        return v;
    }
    snprintf(out->why, sizeof out->why, "no '#thescore:' in the answer");
    return 0;
}

/* Python's str.strip() white space, ASCII part. */
static int py_space(int c)
{
    return is_space(c) || (c >= 0x1c && c <= 0x1f);
}

static int parse_original(const char *text, struct rb_parsed *out)
{
    const char *tag = strstr(text, "#thescore:"), *p, *q;
    const char *rtag = strstr(text, "#thereason:");
    char piece[32];
    size_t n;
    long v = 0;

    if (rtag) {
        /* content_after_tag = text[start + len(tag):].strip(); the end is
         * text.find("#", start + 1), an index into text, applied to
         * content_after_tag: the reason keeps some of what follows. */
        size_t start = (size_t)(rtag - text), len = strlen(text);
        size_t b = start + strlen("#thereason:"), e = len;
        const char *hash = strchr(text + start + 1, '#');

        while (b < e && py_space((unsigned char)text[b]))
            b++;
        while (e > b && py_space((unsigned char)text[e - 1]))
            e--;
        if (hash) {
            size_t end_idx = (size_t)(hash - text);

            if (end_idx < e - b)
                e = b + end_idx;
            while (e > b && py_space((unsigned char)text[e - 1]))
                e--;
            while (b < e && py_space((unsigned char)text[b]))
                b++;
        }
        out->reason_off = b;
        out->reason_len = e - b;
    }
    if (!tag) {
        snprintf(out->why, sizeof out->why,
                 "no '#thescore:' in the answer (strict parsing)");
        return 0;
    }
    p = tag + strlen("#thescore:");
    while (*p && py_space((unsigned char)*p))
        p++;
    for (q = p; *q && !py_space((unsigned char)*q); q++)
        ;
    n = (size_t)(q - p);
    if (n == 0) {
        snprintf(out->why, sizeof out->why,
                 "nothing follows '#thescore:' (strict parsing)");
        return 0;
    }
    snprintf(piece, sizeof piece, "%.*s", (int)(n < 24 ? n : 24), p);
    for (size_t i = 0; i < n; i++) {
        if (!is_digit((unsigned char)p[i])) {
            snprintf(out->why, sizeof out->why,
                     "'#thescore:' is followed by '%s', which is not all "
                     "digits (strict parsing)", piece);
            return 0;
        }
        if (v < 1000)
            v = v * 10 + (p[i] - '0');
    }
    if (v < 1 || v > 5) {
        snprintf(out->why, sizeof out->why,
                 "the score %s is outside 1..5 (strict parsing; the "
                 "original code would have kept it)", piece);
        return 0;
    }
    out->score = (int)v;
    return out->score;
}

int rb_parse(const char *text, int mode, struct rb_parsed *out)
{
    memset(out, 0, sizeof *out);
    if (!text)
        text = "";
    return mode == RB_PARSE_ORIGINAL ? parse_original(text, out)
                                     : parse_robust(text, out);
}
