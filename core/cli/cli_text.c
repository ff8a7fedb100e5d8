/*
 * cli_text.c - making text from model files safe to show.  Strings in a
 * GGUF file (names, token texts, templates) and the engine's messages that
 * quote them are arbitrary bytes: printed raw they can carry terminal
 * escape sequences, and put raw in JSON they make it invalid UTF-8.  The
 * commands pass every such string through cli_clean() first.
 */
#include "ftsb_setup.h"

#include "cli/cli.h"
#include "gguf.h"

bool cli_clean(const char *s, size_t len, size_t max, char *out)
{
    size_t i = 0, k = 0;
    bool cut = len > max;

    if (cut)
        len = max;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        /* gguf_utf8_check rejects overlong forms, surrogates and stray
         * continuation bytes, so only whole, valid characters pass */
        if (c >= 0x20 && c != 0x7F &&
            (c < 0x80 || (i + n <= len && gguf_utf8_check(s + i, n) == n))) {
            memcpy(out + k, s + i, n);
            k += n;
            i += n;
        } else {
            k += (size_t)sprintf(out + k, "\\x%02X", c);
            i++;
        }
    }
    if (cut) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return cut;
}

void cli_print_err(const char *cmd, const char *msg)
{
    size_t len = strlen(msg);
    char *clean = malloc(len * 4 + 8);

    if (!clean) {
        fprintf(stderr, "ftsb: %s: out of memory\n", cmd);
        return;
    }
    cli_clean(msg, len, len, clean);
    fprintf(stderr, "ftsb: %s: %s\n", cmd, clean);
    free(clean);
}
