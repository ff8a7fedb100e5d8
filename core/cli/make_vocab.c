/*
 * make_vocab.c - `ftsb make-vocab OUT.gguf --size N INPUT...`: trains a
 * subword vocabulary on text and writes it as a GGUF file holding only a
 * SentencePiece-style tokenizer, for `ftsb make-model --vocab` to give a
 * small model its own vocabulary.  This file reads the arguments and the
 * corpus - plain text a line per sentence, or chat JSONL through the
 * core's dataset reader, so a chat file is held to the same rules as
 * everywhere else in ftsb and its errors name file:line - and hands the
 * texts to the engine's lm_vocab_train() (vocab_train.h), which does the
 * work.  Argument mistakes are usage errors (status 2) found before any
 * input is read; an existing OUT is kept unless --force, as make-model
 * does.
 */
#include "ftsb_setup.h"

#include <inttypes.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "data/dataset.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "vocab_train.h"

static const char mv_usage[] =
    "usage: ftsb make-vocab OUT.gguf --size N [options] INPUT...\n"
    "\n"
    "Trains a subword vocabulary of N tokens on the INPUT files by byte-pair\n"
    "encoding and writes it to OUT.gguf as a SentencePiece-style (\"llama\")\n"
    "tokenizer with no weights, for `ftsb make-model --vocab OUT.gguf`.  The\n"
    "tokenizer then cuts the training text exactly as the training did.\n"
    "The same inputs and options always give the same bytes.\n"
    "\n"
    "inputs (UTF-8):\n"
    "  *.jsonl           chat JSONL, {\"messages\": [{\"role\": ...,\n"
    "                    \"content\": ...}, ...]} per line: each message's\n"
    "                    content is one text\n"
    "  anything else     plain text: each non-empty line is one text\n"
    "\n"
    "The vocabulary: <unk> (0), <s> (1, BOS, added), </s> (2, EOS), the 256\n"
    "byte tokens <0x00>..<0xFF> for anything not covered, the characters\n"
    "seen at least --min-char-count times, then merged pieces in merge\n"
    "order.  Each text gets SentencePiece's dummy prefix and has its\n"
    "spaces written as U+2581; pieces never cross a space, a line break, or\n"
    "a change between letters, digits and punctuation.  Training stops\n"
    "early, with fewer than N tokens, when no pair occurs twice.\n"
    "\n"
    "options:\n"
    "  --size N          vocabulary size: 259 + the characters kept (the\n"
    "                    message says how many when N is too small) to\n"
    "                    1048576; required\n"
    "  --min-char-count K  a character seen fewer than K times is not a\n"
    "                    token of its own but byte tokens (default 2)\n"
    "  --force           replace OUT if it exists\n"
    "  -q, --quiet       no summary line\n"
    "  -h, --help        this text\n"
    "  --                the arguments after it are files\n"
    "\n"
    "exit status: 0 written; 1 an input cannot be read or is malformed\n"
    "(file:line says where); 2 usage error, or a --size too small for the\n"
    "characters of the corpus.\n";

struct mv_args {
    const char *out;
    const char **inputs;
    size_t n_inputs;
    int64_t size, min_char_count; /* -1: not given */
    bool force, quiet;
};

/* The corpus: every text back to back in bytes, and where each one is. */
struct mv_corpus {
    struct strbuf bytes;
    size_t *off, *len;
    size_t n, cap;
};

static int mv_usage_error(const char *fmt, ...) FTSB_PRINTF(1, 2);
static int mv_usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "ftsb: make-vocab: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see `ftsb make-vocab --help`)\n");
    return 2;
}

/* A whole decimal number in [min, max]; false otherwise. */
static bool mv_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static int mv_parse(int argc, char **argv, struct mv_args *a)
{
    bool files_only = false;

    if (!(a->inputs = calloc((size_t)argc + 1, sizeof *a->inputs))) {
        fprintf(stderr, "ftsb: make-vocab: out of memory\n");
        return 1;
    }
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (files_only || f[0] != '-' || !f[1]) {
            if (!a->out)
                a->out = f;
            else
                a->inputs[a->n_inputs++] = f;
            continue;
        }
        if (!strcmp(f, "--")) {
            files_only = true;
        } else if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
            fputs(mv_usage, stdout);
            return 0;
        } else if (!strcmp(f, "--force")) {
            a->force = true;
        } else if (!strcmp(f, "-q") || !strcmp(f, "--quiet")) {
            a->quiet = true;
        } else if (!strcmp(f, "--size") || !strcmp(f, "--min-char-count")) {
            bool size = !strcmp(f, "--size");
            int64_t min = size ? LM_VOCAB_BASE : 1,
                    max = size ? LM_VOCAB_MAX_SIZE : INT64_MAX;
            if (!v)
                return mv_usage_error("option '%s' needs a value", f);
            if (!mv_int(v, min, max, size ? &a->size : &a->min_char_count))
                return size ? mv_usage_error("--size '%s': expected a whole "
                                             "number from %" PRId64 " to %"
                                             PRId64 " (259: <unk>, <s>, "
                                             "</s> and the 256 byte tokens)",
                                             v, min, max)
                            : mv_usage_error("--min-char-count '%s': expected "
                                             "a whole number of at least 1",
                                             v);
            i++;
        } else if (!strcmp(f, "--seed")) {
            /* make-model has one; say why this command does not */
            return mv_usage_error("%s", "--seed: training has no random "
                                  "choices (ties are broken by bytes), so "
                                  "there is no seed to set");
        } else {
            return mv_usage_error("unknown option '%s'", f);
        }
    }
    return -1;
}

static ftsb_status mv_add(struct mv_corpus *c, const char *s, size_t len,
                          struct err *err)
{
    if (!len)
        return FTSB_OK;
    if (len > LM_VOCAB_MAX_BYTES - c->bytes.len)
        return err_set(err, FTSB_E_INVALID, "the inputs hold more than %zu "
                       "bytes of text; train on a sample of them",
                       LM_VOCAB_MAX_BYTES);
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 1024;
        size_t *off = realloc(c->off, cap * sizeof *off), *ln;
        if (off)
            c->off = off;
        ln = off ? realloc(c->len, cap * sizeof *ln) : NULL;
        if (!ln)
            return err_set(err, FTSB_E_NOMEM, "out of memory reading the "
                           "inputs");
        c->len = ln;
        c->cap = cap;
    }
    if (strbuf_add(&c->bytes, s, len))
        return err_set(err, FTSB_E_NOMEM, "out of memory reading the inputs");
    c->off[c->n] = c->bytes.len - len;
    c->len[c->n++] = len;
    return FTSB_OK;
}

/* A chat row: every message's content is a text. */
static ftsb_status mv_chat_row(void *ud, const ftsb_example *ex,
                               struct err *err)
{
    ftsb_status s;

    for (uint32_t i = 0; i < ex->chat.n_messages; i++) {
        const char *t = ex->chat.messages[i].content;
        if (t && (s = mv_add(ud, t, strlen(t), err)))
            return s;
    }
    return FTSB_OK;
}

/* A plain text file, a text per line ('\n', "\r\n"; a UTF-8 byte order
 * mark is skipped). */
static ftsb_status mv_read_text(struct mv_corpus *c, const char *path,
                                struct err *err)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    char *buf = NULL;
    size_t n, line = 0;
    ftsb_status s = FTSB_OK;

    if (!fp)
        return err_set(err, FTSB_E_IO, "cannot open '%s': %s", path,
                       strerror(errno));
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return err_set(err, FTSB_E_IO, "'%s' is not a regular file", path);
    }
    if ((uint64_t)st.st_size > LM_VOCAB_MAX_BYTES - c->bytes.len) {
        fclose(fp);
        return err_set(err, FTSB_E_INVALID, "'%s': the inputs hold more than "
                       "%zu bytes of text; train on a sample of them", path,
                       LM_VOCAB_MAX_BYTES);
    }
    n = (size_t)st.st_size;
    if (!(buf = malloc(n + 1))) {
        fclose(fp);
        return err_set(err, FTSB_E_NOMEM, "out of memory reading '%s'", path);
    }
    if (fread(buf, 1, n, fp) != n || ferror(fp)) {
        s = err_set(err, FTSB_E_IO, "cannot read '%s'", path);
        n = 0;
    }
    fclose(fp);
    for (size_t at = n >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3) ? 3 : 0,
                end; !s && at < n; at = end + 1) {
        const char *nl = memchr(buf + at, '\n', n - at), *nul;
        size_t len, bad;
        end = nl ? (size_t)(nl - buf) : n;
        len = end - at;
        line++;
        if (len && buf[at + len - 1] == '\r')
            len--;
        if (!utf8_valid(buf + at, len, &bad))
            s = err_set(err, FTSB_E_FORMAT, "%s:%zu: invalid UTF-8 at byte "
                        "%zu of the line; the inputs must be UTF-8 text",
                        path, line, bad + 1);
        else if ((nul = memchr(buf + at, '\0', len)))
            s = err_set(err, FTSB_E_FORMAT, "%s:%zu: a NUL byte at byte %zu "
                        "of the line; the inputs must be text, not binary",
                        path, line, (size_t)(nul - (buf + at)) + 1);
        else
            s = mv_add(c, buf + at, len, err);
    }
    free(buf);
    return s;
}

static bool mv_is_jsonl(const char *path)
{
    size_t n = strlen(path);

    return n >= 6 && !strcasecmp(path + n - 6, ".jsonl");
}

/* Refuses OUT when it is one of the inputs (--force would destroy it). */
static int mv_check_out(const struct mv_args *a)
{
    struct stat so, si;

    if (stat(a->out, &so) != 0)
        return -1;
    for (size_t i = 0; i < a->n_inputs; i++) {
        if (stat(a->inputs[i], &si) == 0 && si.st_dev == so.st_dev &&
            si.st_ino == so.st_ino)
            return mv_usage_error("'%s' is both the output and an input",
                                  a->out);
    }
    if (!a->force)
        return mv_usage_error("'%s' exists; add --force to replace it",
                              a->out);
    return -1;
}

static void mv_corpus_free(struct mv_corpus *c)
{
    strbuf_release(&c->bytes);
    free(c->off);
    free(c->len);
}

static double mv_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int mv_run(const struct mv_args *a)
{
    struct mv_corpus c = {.bytes = STRBUF_INIT};
    struct lm_vocab_text *texts = NULL;
    struct lm_vocab v = {0};
    struct lm_vocab_opts o = {
        .size = (int32_t)a->size,
        .min_char_count = a->min_char_count > 0 ? a->min_char_count : 0};
    struct lm_err lerr = {0};
    struct err err = {0};
    double t0 = mv_now(), t1;
    int status = 1;

    for (size_t i = 0; i < a->n_inputs; i++) {
        ftsb_status s = mv_is_jsonl(a->inputs[i])
            ? dataset_stream(a->inputs[i], "chat", mv_chat_row, &c, &err)
            : mv_read_text(&c, a->inputs[i], &err);
        if (s) {
            cli_print_err("make-vocab", err.msg);
            goto done;
        }
    }
    if (!(texts = malloc((c.n ? c.n : 1) * sizeof *texts))) {
        cli_print_err("make-vocab", "out of memory");
        goto done;
    }
    for (size_t i = 0; i < c.n; i++)
        texts[i] = (struct lm_vocab_text){c.bytes.buf + c.off[i], c.len[i]};
    if (!c.n) {
        cli_print_err("make-vocab", "the inputs hold no text to train on");
        goto done;
    }
    if (lm_vocab_train(texts, c.n, &o, &v, &lerr) ||
        lm_vocab_write(&v, a->out, &lerr)) {
        /* FTSB_E_INVALID: --size against the characters the corpus has */
        if (lerr.code == FTSB_E_INVALID)
            status = mv_usage_error("%s", lerr.msg);
        else
            cli_print_err("make-vocab", lerr.msg);
        goto done;
    }
    t1 = mv_now();
    status = 0;
    if (a->quiet)
        goto done;
    printf("wrote %s: %" PRId32 " tokens (259 base, %" PRId32 " characters, %"
           PRId32 " merges) from %" PRIu64 " bytes, %zu texts, %" PRIu64
           " words (%" PRIu64 " distinct), in %.2f s\n", a->out, v.n,
           v.n_chars, v.n_merges, v.n_bytes, c.n, v.n_words, v.n_unique,
           t1 - t0);
    if (v.n_rare)
        printf("  %" PRIu64 " rarer characters are written as byte tokens\n",
               v.n_rare);
    if (v.stopped_early)
        printf("  stopped at %" PRId32 " of %" PRId64 " tokens: no pair of "
               "symbols occurs twice any more\n", v.n, a->size);
done:
    lm_vocab_free(&v);
    free(texts);
    mv_corpus_free(&c);
    return status;
}

int cli_make_vocab(int argc, char **argv)
{
    struct mv_args a = {.size = -1, .min_char_count = -1};
    int r;

    if ((r = mv_parse(argc, argv, &a)) >= 0)
        goto done;
    if (!a.out)
        r = mv_usage_error("%s", "which output file?");
    else if (a.size < 0)
        r = mv_usage_error("%s", "--size N is required (the vocabulary "
                           "size, at least 259 + the characters kept)");
    else if (!a.n_inputs)
        r = mv_usage_error("%s", "no INPUT files to train on");
    else if ((r = mv_check_out(&a)) < 0)
        r = mv_run(&a);
done:
    free(a.inputs);
    return r;
}
