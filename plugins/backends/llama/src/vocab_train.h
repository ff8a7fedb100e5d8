/*
 * vocab_train.h - trains a small subword vocabulary on text by byte-pair
 * encoding and writes it as a SentencePiece-style ("llama") GGUF
 * vocabulary, so that a model trained from scratch here can have its own
 * tokenizer (`ftsb make-vocab`).  The vocabulary is built so that the SPM
 * tokenizer of tokenizer.h - and llama.cpp's, which it reproduces - cuts
 * every training text exactly as the trainer did; vocab_train.c says why
 * that holds.  Training is a pure function of the texts and the options:
 * no randomness, ties broken by bytes, so the same corpus gives the same
 * file on every machine.
 *
 *     struct lm_vocab_text t[] = {{"Hello world", 11}, {"Hello there", 11}};
 *     struct lm_vocab_opts o = {.size = 300};
 *     struct lm_vocab v;
 *     if (lm_vocab_train(t, 2, &o, &v, &err)) return err.code;
 *     lm_vocab_write(&v, "vocab.gguf", &err);
 *     lm_vocab_free(&v);
 *
 * Text.  Each text is one sentence: SentencePiece's normalisation makes it
 * "▁" (U+2581) + the text with every ' ' replaced by "▁" - the dummy
 * prefix and space marker the tokenizer adds when it encodes.  Texts are
 * then cut into words, which pieces never cross: a word starts at every
 * "▁", and wherever the class of adjacent characters changes between
 * line breaks (\n, \r), digits, other ASCII controls (tab...),
 * punctuation (ASCII and the common Unicode punctuation blocks) and
 * everything else (letters, other scripts, symbols); a "▁" joins the
 * character after it unless that is a line break.  So "▁Hello," gives
 * "▁Hello" and "," and "\n\n" stays one word of its own.
 *
 * Vocabulary.  <unk> = 0, <s> = 1 (BOS, added), </s> = 2 (EOS), the 256
 * byte tokens <0x00>..<0xFF> (type BYTE, the fallback for everything
 * else), the characters seen at least min_char_count times (and "▁"
 * always; not U+0000), most frequent first, then the merged pieces in
 * merge order.  Scores: -r for the piece of merge r, -(merges + i) for
 * character i, 0 for the first 259 tokens.
 */
#ifndef LM_VOCAB_TRAIN_H
#define LM_VOCAB_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gguf.h"
#include "lm_err.h"

/* <unk>, <s>, </s> and the 256 byte tokens: the smallest vocabulary. */
#define LM_VOCAB_BASE 259
/* Largest --size: scores -r stay exact in float far beyond this. */
#define LM_VOCAB_MAX_SIZE (1 << 20)
/* Largest corpus (sum of text lengths) trained on. */
#define LM_VOCAB_MAX_BYTES ((size_t)1 << 30)
/* The default of lm_vocab_opts.min_char_count. */
#define LM_VOCAB_MIN_CHAR_COUNT 2

/* One training text: valid UTF-8, not NUL-terminated. */
struct lm_vocab_text {
    const char *ptr;
    size_t len;
};

struct lm_vocab_opts {
    int32_t size;           /* tokens wanted in all, LM_VOCAB_BASE + the
                               characters kept .. LM_VOCAB_MAX_SIZE */
    int64_t min_char_count; /* occurrences for a character to be a token
                               (0: LM_VOCAB_MIN_CHAR_COUNT); rarer ones
                               are written as byte tokens */
    bool segment;           /* also fill seg: the trainer's cut of every
                               text (tests compare it with tok_encode) */
};

/* A trained vocabulary; every pointer is owned (lm_vocab_free). */
struct lm_vocab {
    int32_t n;             /* tokens: <= opts.size (fewer when stopped) */
    struct gguf_str *text; /* (n) token texts, pointing into buf */
    float *score;          /* (n) */
    int32_t *type;         /* (n) enum tok_type */
    char *buf;
    int32_t n_chars;       /* character tokens, ids 259 .. 259+n_chars-1 */
    int32_t n_merges;      /* merged pieces, the ids after them */
    bool stopped_early;    /* no pair of symbols occurred twice any more */
    uint64_t n_bytes;      /* corpus bytes */
    uint64_t n_words;      /* word occurrences */
    uint64_t n_unique;     /* distinct words */
    uint64_t n_rare;       /* distinct characters left to byte tokens */
    /* opts.segment: the ids of text i (no BOS) are
     * seg[seg_start[i] .. seg_start[i+1]) */
    int32_t *seg;
    size_t *seg_start;     /* (n_texts + 1) */
    size_t n_texts;
};

/*
 * Trains on texts[0 .. n_texts) (empty texts are skipped).  Errors:
 * FTSB_E_INVALID - a size out of range, or smaller than the characters
 * kept need (the message gives the minimum), a text that is not UTF-8
 * (its index and byte offset), a corpus over LM_VOCAB_MAX_BYTES;
 * FTSB_E_FORMAT - no text at all; FTSB_E_NOMEM.  *out is zeroed on error.
 */
ftsb_status lm_vocab_train(const struct lm_vocab_text *texts, size_t n_texts,
                           const struct lm_vocab_opts *opts,
                           struct lm_vocab *out, struct lm_err *err);
void lm_vocab_free(struct lm_vocab *v);

/*
 * The vocabulary's metadata into a GGUF writer: general.architecture
 * "llama", general.name, tokenizer.ggml.{model "llama", tokens, scores,
 * token_type, bos/eos/unknown_token_id 1/2/0, add_bos_token true,
 * add_eos_token false, add_space_prefix true} - all that tok_load and
 * `ftsb make-model --vocab` read.  No tensors.
 */
ftsb_status lm_vocab_to_gguf(const struct lm_vocab *v, struct gguf_writer *w,
                             struct lm_err *err);

/* The same, written to path (atomically, by gguf_w_save). */
ftsb_status lm_vocab_write(const struct lm_vocab *v, const char *path,
                           struct lm_err *err);

#endif /* LM_VOCAB_TRAIN_H */
