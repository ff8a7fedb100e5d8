/*
 * utf8.h - UTF-8 validation for text that enters the core.  Datasets,
 * model output and configuration all pass through here, so the rules are
 * the strict ones of RFC 3629: no overlong forms, no UTF-16 surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequences.  NUL
 * is valid UTF-8; callers that store C strings reject it themselves.
 */
#ifndef FTSB_UTF8_H
#define FTSB_UTF8_H

#include "../ftsb_setup.h"

/* Returns 1 when s[0..n) is valid UTF-8.  Otherwise returns 0 and, when
 * bad_offset is not NULL, stores the offset of the first byte of the first
 * invalid sequence. */
int utf8_valid(const char *s, size_t n, size_t *bad_offset);

/* The longest prefix of s[0..n) that does not end inside a multi-byte
 * sequence: for shortening valid text (in messages) without cutting a
 * character in half. */
size_t utf8_clip(const char *s, size_t n);

#endif /* FTSB_UTF8_H */
