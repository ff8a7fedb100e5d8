/*
 * test_strbuf.c - growable strings and error records.
 */
#include "ftsb_setup.h"

#include "test.h"
#include "util/err.h"
#include "util/strbuf.h"

TEST(strbuf_starts_empty_and_printable)
{
    struct strbuf sb = STRBUF_INIT;

    CHECK_INT(sb.len, 0);
    CHECK_STR(sb.buf, "");
    strbuf_release(&sb);
}

TEST(strbuf_appends)
{
    struct strbuf sb = STRBUF_INIT;

    for (int i = 0; i < 1000; i++)
        CHECK_INT(strbuf_addch(&sb, 'a' + i % 26), FTSB_OK);
    CHECK_INT(sb.len, 1000);
    CHECK(sb.buf[999] == 'a' + 999 % 26 && sb.buf[1000] == '\0');
    strbuf_reset(&sb);
    CHECK_INT(strbuf_addf(&sb, "%d-%s", 42, "x"), FTSB_OK);
    CHECK_STR(sb.buf, "42-x");
    strbuf_release(&sb);
}

TEST(strbuf_refuses_overflow)
{
    struct strbuf sb = STRBUF_INIT;

    CHECK_INT(strbuf_addstr(&sb, "abc"), FTSB_OK);
    CHECK_INT(strbuf_grow(&sb, SIZE_MAX - 1), FTSB_E_NOMEM);
    CHECK_STR(sb.buf, "abc");
    strbuf_release(&sb);
}

TEST(err_prefix_keeps_code)
{
    struct err e;

    err_set(&e, FTSB_E_FORMAT, "expected '%c'", ',');
    CHECK_INT(err_prefix(&e, "%s:%d", "a.csv", 3), FTSB_E_FORMAT);
    CHECK_STR(e.msg, "a.csv:3: expected ','");
    CHECK_STR(ftsb_status_str(FTSB_E_ABI), "incompatible plugin");
    CHECK_STR(ftsb_status_str(999), "unknown status");
}

int main(void)
{
    RUN(strbuf_starts_empty_and_printable);
    RUN(strbuf_appends);
    RUN(strbuf_refuses_overflow);
    RUN(err_prefix_keeps_code);
    return test_summary();
}
