/*
 * mt_parse.h - the host-free half of the "mtbench_grader" judge: its four
 * prompts (one turn or two, with or without reference answers), the
 * renderer that fills them, and the reader of a grader's "[[rating]]".
 * Pure functions over NUL-terminated strings, so the unit test in
 * tests/unit/mtbench_grader.cmake drives them directly.
 */
#ifndef FTSB_MT_PARSE_H
#define FTSB_MT_PARSE_H

#include <stddef.h>

#define MT_RATING_MIN 1.0
#define MT_RATING_MAX 10.0

/* The prompts.  Placeholders: {question}, {answer}, {reference} (one
 * turn); {question_1}, {answer_1}, {question_2}, {answer_2},
 * {reference_1}, {reference_2} (two turns). */
#define MT_SINGLE 0
#define MT_SINGLE_REF 1
#define MT_MULTI 2
#define MT_MULTI_REF 3
const char *mt_template(int which);

/* The values of the placeholders; a NULL value renders as "". */
struct mt_fields {
    const char *question, *answer, *reference;
    const char *question_1, *answer_1, *question_2, *answer_2;
    const char *reference_1, *reference_2;
};

typedef int (*mt_append_fn)(void *ud, const char *data, size_t len);

/* Renders tmpl in one pass (a value is never expanded again); returns
 * append's first non-zero result, else 0. */
int mt_render(const char *tmpl, const struct mt_fields *f,
              mt_append_fn append, void *ud);

struct mt_parsed {
    double rating;          /* 1..10, or 0 when none could be read */
    size_t reason_len;      /* the explanation: text[0..reason_len) */
    char why[200];          /* when rating is 0 */
};

/*
 * Reads the rating.  Every "[[N]]" counts (blanks, "N/10" and a decimal
 * part allowed: "[[ 8 ]]", "[[7.5]]", "[[9/10]]"); a "[[...]]" holding no
 * number (an echo of the format, "[[rating]]") is skipped; several
 * ratings must agree.  Without any "[[N]]", a "Rating:" label followed
 * by a number ("Rating: 8", "Rating: [8]", "**Rating:** 8") is read the
 * same way.  Refused, with a reason: no rating, two different ratings, a
 * rating outside 1..10.  Returns out->rating (0 on failure).
 */
double mt_parse(const char *text, struct mt_parsed *out);

#endif /* FTSB_MT_PARSE_H */
