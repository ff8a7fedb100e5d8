/*
 * utf8.c - strict UTF-8 validation.  The table-free decoder below checks
 * the second byte's range per lead byte (Unicode 15, table 3-7), which is
 * what rules out overlongs, surrogates and code points above U+10FFFF in
 * one comparison each.
 */
#include "../ftsb_setup.h"

#include "utf8.h"

/* Length of the sequence starting at s[0] (available bytes: n), or 0 when
 * it is not a valid sequence. */
static size_t seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0; /* continuation byte, C0/C1 overlong lead, or > U+13FFFF */
    if (c == 0xE0)
        lo = 0xA0; /* below is an overlong 3-byte form */
    else if (c == 0xED)
        hi = 0x9F; /* above is a surrogate */
    else if (c == 0xF0)
        lo = 0x90; /* below is an overlong 4-byte form */
    else if (c == 0xF4)
        hi = 0x8F; /* above is beyond U+10FFFF */
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

int utf8_valid(const char *s, size_t n, size_t *bad_offset)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        size_t len;

        /* Most dataset text is ASCII: skip it without decoding. */
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        len = seq_len(p + i, n - i);
        if (len == 0) {
            if (bad_offset)
                *bad_offset = i;
            return 0;
        }
        i += len;
    }
    return 1;
}

size_t utf8_clip(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t start = n;

    /* Back up over continuation bytes to the last lead byte. */
    while (start > 0 && (p[start - 1] & 0xC0) == 0x80)
        start--;
    if (start == 0)
        return n;
    start--;
    if (p[start] < 0x80)
        return n;
    return seq_len(p + start, n - start) == n - start ? n : start;
}
