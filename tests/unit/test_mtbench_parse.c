/*
 * test_mtbench_parse.c - the MT-Bench grader's rating reader on answers
 * shaped like GPT-4's (the format as asked, markdown, "[[8/10]]", a
 * decimal, an echo of "[[rating]]" before the rating, "Rating: 7" without
 * brackets) and on the malformed ones (none, two different, 0, 11, "[[
 * seven ]]"), with the explanation kept; and the four prompts.
 */
#include "test.h"

#include "mt_parse.h"

struct case_ {
    const char *text;
    double rating;        /* 0: an error */
    const char *reason;   /* the explanation kept (NULL: skip) */
};

static const struct case_ corpus[] = {
    {"The answer is accurate and well organised.\n\nRating: [[8]]", 8,
     "The answer is accurate and well organised."},
    {"Clear and correct. Rating: [[10]]", 10, "Clear and correct."},
    {"Good. **Rating: [[7]]**", 7, "Good."},
    {"Mostly right.\nRating: [[ 6 ]]", 6, "Mostly right."},
    {"Fine.\n[[7.5]]", 7.5, "Fine."},
    {"Decent.\nRating: [[9/10]]", 9, "Decent."},
    {"I will answer with [[rating]].\nExplanation.\nRating: [[4]]", 4,
     "I will answer with [[rating]].\nExplanation."},
    {"Weak answer.\nRating: [[3]]\n(As said: [[3]].)", 3, "Weak answer."},
    {"No brackets this time.\nRating: 7", 7, "No brackets this time."},
    {"Explanation.\n**Rating:** [5]", 5, "Explanation."},
    {"[[1]]", 1, ""},
    {"I cannot rate this answer.", 0, NULL},
    {"Rating: [[8]] ... on reflection, Rating: [[6]]", 0, NULL},
    {"Terrible.\nRating: [[0]]", 0, NULL},
    {"Perfect.\nRating: [[11]]", 0, NULL},
    {"Rating: [[seven]]", 0, NULL},
    {"Rating: [[8/5]]", 0, NULL},
    {"", 0, NULL},
};

TEST(ratings)
{
    for (size_t i = 0; i < sizeof corpus / sizeof corpus[0]; i++) {
        struct mt_parsed p;
        double r = mt_parse(corpus[i].text, &p);

        if (r != corpus[i].rating) {
            printf("  case %zu (%s): rating %g, want %g (%s)\n", i,
                   corpus[i].text, r, corpus[i].rating, p.why);
            test_failed_ = 1;
            continue;
        }
        if (r == 0) {
            CHECK(p.why[0] != '\0');
            continue;
        }
        if (corpus[i].reason &&
            (strlen(corpus[i].reason) != p.reason_len ||
             strncmp(corpus[i].text, corpus[i].reason, p.reason_len))) {
            printf("  case %zu: reason '%.*s', want '%s'\n", i,
                   (int)p.reason_len, corpus[i].text, corpus[i].reason);
            test_failed_ = 1;
        }
    }
}

TEST(reasons)
{
    struct mt_parsed p;

    mt_parse("Rating: [[8]] then [[6]]", &p);
    CHECK_STR(p.why, "two different ratings: 8 and 6");
    mt_parse("Rating: [[11]]", &p);
    CHECK_STR(p.why, "rating 11 is outside 1..10");
    mt_parse("nothing", &p);
    CHECK_CONTAINS(p.why, "no rating");
}

static int append(void *ud, const char *data, size_t len)
{
    char *out = ud;
    size_t have = strlen(out);

    if (have + len >= 4096)
        return 1;
    memcpy(out + have, data, len);
    out[have + len] = '\0';
    return 0;
}

TEST(prompts)
{
    static char out[4096];
    struct mt_fields f = {"Q {answer}", "A", "R", "Q1", "A1", "Q2", "A2",
                          "R1", "R2"};

    CHECK_INT(mt_render(mt_template(MT_SINGLE), &f, append, out), 0);
    CHECK_CONTAINS(out, "[Question]\nQ {answer}\n\n[Start of the "
                        "assistant's answer]\nA\n");
    CHECK_CONTAINS(out, "\"Rating: [[6]]\"");
    CHECK(strstr(out, "reference") == NULL);
    out[0] = '\0';
    mt_render(mt_template(MT_SINGLE_REF), &f, append, out);
    CHECK_CONTAINS(out, "[Start of the reference answer]\nR\n");
    out[0] = '\0';
    mt_render(mt_template(MT_MULTI), &f, append, out);
    CHECK_CONTAINS(out, "### User (turn 1):\nQ1\n\n### Assistant (turn 1):"
                        "\nA1\n\n### User (turn 2):\nQ2\n\n### Assistant "
                        "(turn 2):\nA2\n");
    CHECK_CONTAINS(out, "second question only");
    out[0] = '\0';
    mt_render(mt_template(MT_MULTI_REF), &f, append, out);
    CHECK_CONTAINS(out, "### Reference answer (turn 2):\nR2\n");
    CHECK(mt_template(4) == NULL);
}

int main(void)
{
    RUN(ratings);
    RUN(reasons);
    RUN(prompts);
    return test_summary();
}
