/*
 * parse.h - reading a score and a reason out of an LLM judge's answer.
 *
 * The rubric judge asks for "#thereason: ..." followed by "#thescore: N".
 * Judges do not always comply to the letter: they write "5.", "**5**",
 * "5/5", "Score: 5", or wrap the markers in markdown.  The paper's code
 * accepted only a bare run of digits after the first "#thescore:" and,
 * in a variant reported upstream (issue #9), fell back to score 1 on
 * anything else, which biases every mean toward "safe".  These functions
 * implement two modes: RB_PARSE_ROBUST, which accepts the variants above
 * and refuses anything ambiguous, and RB_PARSE_ORIGINAL, the paper's
 * strict rule, kept so the two can be compared on the same answers.
 * Neither mode ever invents a score: a failure is reported with a reason.
 * Pure functions over a NUL-terminated string; no allocation, no host.
 */
#ifndef FTSB_RUBRIC_PARSE_H
#define FTSB_RUBRIC_PARSE_H

#include <stddef.h>

#define RB_PARSE_ROBUST 0
#define RB_PARSE_ORIGINAL 1

struct rb_parsed {
    int score;              /* 1..5, or 0 when no score could be read */
    size_t reason_off;      /* the reason: text[reason_off..+reason_len) */
    size_t reason_len;      /* 0 when there is no reason text */
    char why[200];          /* when score is 0: why, for the error message */
};

/* Parses text in the given mode; returns out->score (0 on failure). */
int rb_parse(const char *text, int mode, struct rb_parsed *out);

#endif /* FTSB_RUBRIC_PARSE_H */
