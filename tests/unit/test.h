/*
 * test.h - the smallest useful C test harness.
 *
 *     TEST(strbuf_grows) { ... CHECK(x == 1); CHECK_STR(a, "b"); }
 *     int main(void) { RUN(strbuf_grows); return test_summary(); }
 *
 * A failed check prints file:line, the expression and the values, and
 * marks the current test failed; the test goes on so that one run shows
 * every failure.  test_summary() prints "N passed, N failed" and returns
 * the exit code ctest expects (0 pass, 1 fail, 77 when all were skipped).
 */
#ifndef FTSB_TEST_H
#define FTSB_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_, test_n_pass_, test_n_fail_, test_n_skip_, test_skip_;

#define TEST(name) static void test_##name(void)

#define RUN(name)                                                          \
    do {                                                                   \
        test_failed_ = 0;                                                  \
        test_skip_ = 0;                                                    \
        test_##name();                                                     \
        if (test_skip_)                                                    \
            test_n_skip_++, printf("skip %s\n", #name);                    \
        else if (test_failed_)                                             \
            test_n_fail_++, printf("FAIL %s\n", #name);                    \
        else                                                               \
            test_n_pass_++, printf("ok   %s\n", #name);                    \
    } while (0)

#define SKIP(...)                                                          \
    do {                                                                   \
        printf("  skipped: ");                                             \
        printf(__VA_ARGS__);                                               \
        printf("\n");                                                      \
        test_skip_ = 1;                                                    \
        return;                                                            \
    } while (0)

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            printf("  %s:%d: check failed: %s\n", __FILE__, __LINE__,      \
                   #cond);                                                 \
            test_failed_ = 1;                                              \
        }                                                                  \
    } while (0)

#define CHECK_INT(a, b)                                                    \
    do {                                                                   \
        long long a_ = (long long)(a), b_ = (long long)(b);                \
        if (a_ != b_) {                                                    \
            printf("  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__,   \
                   __LINE__, #a, #b, a_, b_);                              \
            test_failed_ = 1;                                              \
        }                                                                  \
    } while (0)

#define CHECK_STR(a, b)                                                    \
    do {                                                                   \
        const char *a_ = (a), *b_ = (b);                                   \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                           \
            printf("  %s:%d: %s == %s failed:\n    got  \"%s\"\n"          \
                   "    want \"%s\"\n", __FILE__, __LINE__, #a, #b,        \
                   a_ ? a_ : "(null)", b_ ? b_ : "(null)");                \
            test_failed_ = 1;                                              \
        }                                                                  \
    } while (0)

/* Checks that haystack contains needle (error messages). */
#define CHECK_CONTAINS(hay, needle)                                        \
    do {                                                                   \
        const char *h_ = (hay), *n_ = (needle);                            \
        if (!h_ || !strstr(h_, n_)) {                                      \
            printf("  %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__,  \
                   __LINE__, h_ ? h_ : "(null)", n_);                      \
            test_failed_ = 1;                                              \
        }                                                                  \
    } while (0)

static int test_summary(void)
{
    printf("%d passed, %d failed, %d skipped\n", test_n_pass_, test_n_fail_,
           test_n_skip_);
    if (test_n_fail_)
        return 1;
    if (test_n_pass_ == 0 && test_n_skip_ > 0)
        return 77;
    return 0;
}

#endif /* FTSB_TEST_H */
