/*
 * mt_parse.c - prompts and rating reader of the "mtbench_grader" judge
 * (see mt_parse.h).  The prompts are ftsb's own wording of MT-Bench's
 * single-answer grading: an impartial judge, the question (and, for math,
 * reasoning and coding, a reference answer to check against), the
 * answer, a short explanation, then "[[N]]" on a 1..10 scale.  The reader
 * never invents a rating: FastChat's own reader returns -1 for "no
 * rating", which a careless mean would fold in; here it is an error with
 * its reason.
 */
#include "mt_parse.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FORMAT_LINE                                                        \
    "Begin with a short explanation, as objective as you can make it. "   \
    "Then rate the answer on a scale of 1 to 10, writing the rating in "  \
    "exactly this form: \"Rating: [[N]]\", for example \"Rating: [[6]]\".\n"

static const char *const templates[4] = {
    /* MT_SINGLE */
    "You are an impartial judge. Assess the quality of the answer an AI "
    "assistant gave to the user question below. Consider how helpful, "
    "relevant, accurate, deep, creative and detailed it is. "
    FORMAT_LINE
    "\n[Question]\n{question}\n\n"
    "[Start of the assistant's answer]\n{answer}\n"
    "[End of the assistant's answer]",
    /* MT_SINGLE_REF */
    "You are an impartial judge. Assess the correctness and helpfulness of "
    "the answer an AI assistant gave to the user question below. A "
    "reference answer is given: compare the assistant's answer with it, "
    "and name and correct any mistake you find. "
    FORMAT_LINE
    "\n[Question]\n{question}\n\n"
    "[Start of the reference answer]\n{reference}\n"
    "[End of the reference answer]\n\n"
    "[Start of the assistant's answer]\n{answer}\n"
    "[End of the assistant's answer]",
    /* MT_MULTI */
    "You are an impartial judge. Below is a conversation of two turns "
    "between a user and an AI assistant. Assess the quality of the "
    "assistant's answer to the user's second question only, considering "
    "how helpful, relevant, accurate, deep, creative and detailed it is. "
    FORMAT_LINE
    "\n[Start of the conversation]\n\n"
    "### User (turn 1):\n{question_1}\n\n"
    "### Assistant (turn 1):\n{answer_1}\n\n"
    "### User (turn 2):\n{question_2}\n\n"
    "### Assistant (turn 2):\n{answer_2}\n\n"
    "[End of the conversation]",
    /* MT_MULTI_REF */
    "You are an impartial judge. Below is a conversation of two turns "
    "between a user and an AI assistant, and reference answers to both "
    "questions. Assess the correctness and helpfulness of the assistant's "
    "answer to the user's second question only: compare it with the "
    "reference answer to that question, and name and correct any mistake "
    "you find. "
    FORMAT_LINE
    "\n[Start of the reference answers]\n\n"
    "### Reference answer (turn 1):\n{reference_1}\n\n"
    "### Reference answer (turn 2):\n{reference_2}\n\n"
    "[End of the reference answers]\n\n"
    "[Start of the conversation]\n\n"
    "### User (turn 1):\n{question_1}\n\n"
    "### Assistant (turn 1):\n{answer_1}\n\n"
    "### User (turn 2):\n{question_2}\n\n"
    "### Assistant (turn 2):\n{answer_2}\n\n"
    "[End of the conversation]",
};

const char *mt_template(int which)
{
    return which >= 0 && which < 4 ? templates[which] : NULL;
}

int mt_render(const char *tmpl, const struct mt_fields *f,
              mt_append_fn append, void *ud)
{
    static const char *const names[] = {
        "{question}",   "{answer}",     "{reference}",
        "{question_1}", "{answer_1}",   "{question_2}",
        "{answer_2}",   "{reference_1}", "{reference_2}",
    };
    const char *values[] = {f->question,   f->answer,      f->reference,
                            f->question_1, f->answer_1,    f->question_2,
                            f->answer_2,   f->reference_1, f->reference_2};
    const char *p = tmpl, *lit = tmpl;
    int rc;

    while (*p) {
        int hit = -1;

        if (*p == '{')
            for (int k = 0; k < 9 && hit < 0; k++)
                if (strncmp(p, names[k], strlen(names[k])) == 0)
                    hit = k;
        if (hit < 0) {
            p++;
            continue;
        }
        if (p > lit && (rc = append(ud, lit, (size_t)(p - lit))))
            return rc;
        if (values[hit] && (rc = append(ud, values[hit], strlen(values[hit]))))
            return rc;
        p += strlen(names[hit]);
        lit = p;
    }
    if (p > lit)
        return append(ud, lit, (size_t)(p - lit));
    return 0;
}

/* ---- the rating --------------------------------------------------------- */

/* Reads "N", "N.M" or "N/10" at p (blanks around allowed) up to end;
 * returns 1 with *v when [p, end) holds just that. */
static int number_at(const char *p, const char *end, double *v)
{
    char buf[32];
    size_t n = 0;
    int digits = 0;

    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (p < end && isdigit((unsigned char)*p) && n < sizeof buf - 1)
        buf[n++] = *p++, digits++;
    if (p < end && *p == '.' && p + 1 < end &&
        isdigit((unsigned char)p[1])) {
        buf[n++] = *p++;
        while (p < end && isdigit((unsigned char)*p) && n < sizeof buf - 1)
            buf[n++] = *p++;
    }
    buf[n] = '\0';
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p < end && *p == '/') {
        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p < 2 || strncmp(p, "10", 2) != 0)
            return 0;
        p += 2;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
    }
    if (!digits || p != end)
        return 0;
    *v = strtod(buf, NULL);
    return 1;
}

/* Adds one rating read at offset off; returns -1 on a conflict. */
static int take(struct mt_parsed *out, double v, size_t off, int *seen,
                size_t *first)
{
    if (*seen && v != out->rating) {
        snprintf(out->why, sizeof out->why, "two different ratings: %g and "
                 "%g", out->rating, v);
        return -1;
    }
    if (!*seen)
        *first = off;
    out->rating = v;
    *seen = 1;
    return 0;
}

/* The first "rating" at or after p, in any case. */
static const char *find_rating(const char *p)
{
    for (; *p; p++)
        if (strncasecmp(p, "rating", 6) == 0)
            return p;
    return NULL;
}

/* The "Rating:" labels: the number after each, past blanks and
 * markdown. */
static int labelled(const char *text, struct mt_parsed *out, int *seen,
                    size_t *first)
{
    for (const char *p = text; (p = find_rating(p)); p += 6) {
        const char *q = p + 6, *e;
        double v;

        while (*q == '*' || *q == '_')
            q++;
        if (*q != ':')
            continue;
        q++;
        while (*q == ' ' || *q == '\t' || *q == '*' || *q == '_' ||
               *q == '[')
            q++;
        e = q;
        while (isdigit((unsigned char)*e) || *e == '.' || *e == '/' ||
               *e == ' ')
            e++;
        while (e > q && (e[-1] == ' ' || e[-1] == '.'))
            e--;
        if (e > q && number_at(q, e, &v) &&
            take(out, v, (size_t)(p - text), seen, first))
            return -1;
    }
    return 0;
}

double mt_parse(const char *text, struct mt_parsed *out)
{
    size_t first = 0;
    int seen = 0;
    double v;

    memset(out, 0, sizeof *out);
    for (const char *p = text; (p = strstr(p, "[[")); p += 2) {
        const char *e = strstr(p + 2, "]]");

        if (!e)
            break;
        if (number_at(p + 2, e, &v) &&
            take(out, v, (size_t)(p - text), &seen, &first)) {
            out->rating = 0;
            return 0;
        }
    }
    if (!seen && labelled(text, out, &seen, &first)) {
        out->rating = 0;
        return 0;
    }
    if (!seen) {
        snprintf(out->why, sizeof out->why, "no rating: expected "
                 "\"[[N]]\" or \"Rating: N\"");
        return out->rating = 0;
    }
    if (out->rating < MT_RATING_MIN || out->rating > MT_RATING_MAX) {
        snprintf(out->why, sizeof out->why, "rating %g is outside 1..10",
                 out->rating);
        return out->rating = 0;
    }
    /* The explanation: what comes before the first rating, without a
     * trailing "Rating:" label and blanks. */
    {
        size_t len = first;

        while (len && (isspace((unsigned char)text[len - 1]) ||
                       text[len - 1] == '*' || text[len - 1] == '"'))
            len--;
        if (len >= 7 && strncasecmp(text + len - 7, "rating:", 7) == 0)
            len -= 7;
        while (len && (isspace((unsigned char)text[len - 1]) ||
                       text[len - 1] == '*' || text[len - 1] == '"'))
            len--;
        out->reason_len = len;
    }
    return out->rating;
}
