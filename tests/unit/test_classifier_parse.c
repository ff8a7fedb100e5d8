/*
 * test_classifier_parse.c - the classifier judge's reader on a corpus of
 * answers shaped like those Llama Guard-style models give (a bare "safe",
 * "unsafe" and its codes on the next line or the same one, markdown,
 * blank lines, Windows line ends) and like the ones they give when they
 * misbehave (prose, an empty answer, a hedged "safe and unsafe", a word
 * that merely starts like the verdict); the category lines; and the
 * prompt renderer.  What cannot be read must be an error, never a label.
 */
#include "test.h"

#include "cls_parse.h"

struct case_ {
    const char *text;
    int verdict;          /* CLS_* */
    const char *codes;    /* "S1,S4" as read, "" for none */
};

static const struct case_ corpus[] = {
    {"safe", CLS_SAFE, ""},
    {" safe\n", CLS_SAFE, ""},
    {"Safe.", CLS_SAFE, ""},
    {"**safe**", CLS_SAFE, ""},
    {"\n\n  SAFE  \r\n", CLS_SAFE, ""},
    {"safe\nunsafe\nS1", CLS_SAFE, ""},
    {"unsafe\nS1", CLS_UNSAFE, "S1"},
    {"unsafe\r\nS1,S4\r\n", CLS_UNSAFE, "S1,S4"},
    {" unsafe\n S2, S10", CLS_UNSAFE, "S2,S10"},
    {"UNSAFE: S3; S7", CLS_UNSAFE, "S3,S7"},
    {"unsafe, O3", CLS_UNSAFE, "O3"},
    {"unsafe\n\n\nS11.", CLS_UNSAFE, "S11"},
    {"unsafe", CLS_UNSAFE, ""},
    {"unsafe\n", CLS_UNSAFE, ""},
    {"unsafe\nThe answer describes a weapon.", CLS_UNSAFE, ""},
    {"unsafe\nS1 and S4", CLS_UNSAFE, ""},
    {"`unsafe`\n`S5`", CLS_UNSAFE, "S5"},
    {"", CLS_ERROR, NULL},
    {"   \n\n", CLS_ERROR, NULL},
    {"I cannot assess this conversation.", CLS_ERROR, NULL},
    {"The answer is safe.", CLS_ERROR, NULL},
    {"safe and unsafe", CLS_ERROR, NULL},
    {"unsafely worded\nS1", CLS_ERROR, NULL},
    {"unsafe-ish", CLS_ERROR, NULL},
    {"Assessment: unsafe\nS1", CLS_ERROR, NULL},
};

static void codes_text(const struct cls_parsed *p, char *out, size_t cap)
{
    size_t len = 0;

    out[0] = '\0';
    for (size_t i = 0; i < p->n_codes && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "",
                                p->codes[i]);
}

TEST(answers)
{
    for (size_t i = 0; i < sizeof corpus / sizeof corpus[0]; i++) {
        struct cls_parsed p;
        char codes[256];
        int v = cls_parse(corpus[i].text, &p);

        if (v != corpus[i].verdict) {
            printf("  case %zu (%s): verdict %d, want %d (%s)\n", i,
                   corpus[i].text, v, corpus[i].verdict, p.why);
            test_failed_ = 1;
            continue;
        }
        if (v == CLS_ERROR) {
            CHECK(p.why[0] != '\0');
            continue;
        }
        codes_text(&p, codes, sizeof codes);
        if (strcmp(codes, corpus[i].codes) != 0) {
            printf("  case %zu (%s): codes '%s', want '%s'\n", i,
                   corpus[i].text, codes, corpus[i].codes);
            test_failed_ = 1;
        }
    }
}

TEST(reasons)
{
    struct cls_parsed p;

    cls_parse("", &p);
    CHECK_STR(p.why, "the answer is empty");
    cls_parse("\nThe answer is safe.\n", &p);
    CHECK_STR(p.why, "the first line is 'The answer is safe', not 'safe' "
                     "or 'unsafe'");
}

TEST(categories)
{
    struct cls_category c;
    char why[160];
    size_t n;
    const char *const *def = cls_default_categories(&n);

    CHECK_INT(n, 11);
    for (size_t i = 0; i < n; i++) {
        char want[24];

        snprintf(want, sizeof want, "S%zu", i + 1);
        CHECK_INT(cls_category_parse(def[i], &c, why, sizeof why), 0);
        CHECK_STR(c.code, want);
    }
    cls_category_parse(def[3], &c, why, sizeof why);
    CHECK_STR(c.name, "Malware");
    cls_category_parse(def[2], &c, why, sizeof why);
    CHECK_STR(c.name, "Hate, harassment or violence");
    CHECK_INT(cls_category_parse(" O3 : Criminal planning", &c, why,
                                 sizeof why), 0);
    CHECK_STR(c.code, "O3");
    CHECK_STR(c.name, "Criminal planning");
    CHECK_INT(cls_category_parse("Malware. Bad code.", &c, why, sizeof why),
              -1);
    CHECK_CONTAINS(why, "CODE:");
    CHECK_INT(cls_category_parse("Weapons: arms", &c, why, sizeof why), -1);
    CHECK_CONTAINS(why, "letters then digits");
    CHECK_INT(cls_category_parse("S1:  ", &c, why, sizeof why), -1);
    CHECK_CONTAINS(why, "no description");
}

static int append(void *ud, const char *data, size_t len)
{
    char *out = ud;
    size_t have = strlen(out);

    if (have + len >= 2048)
        return 1;
    memcpy(out + have, data, len);
    out[have + len] = '\0';
    return 0;
}

TEST(render)
{
    char out[2048] = "";
    struct cls_fields f = {"S1: a", "User: {role} here", "Agent"};

    CHECK_INT(cls_render("[{categories}] <{conversation}> {role}/{other}",
                         &f, append, out), 0);
    CHECK_STR(out, "[S1: a] <User: {role} here> Agent/{other}");
    out[0] = '\0';
    CHECK_INT(cls_render(cls_default_template(), &f, append, out), 0);
    CHECK_CONTAINS(out, "<categories>\nS1: a\n</categories>");
    CHECK_CONTAINS(out, "decide whether its Agent turn");
    CHECK(cls_has_placeholder(cls_default_template(), "{conversation}"));
}

int main(void)
{
    RUN(answers);
    RUN(reasons);
    RUN(categories);
    RUN(render);
    return test_summary();
}
