/*
 * tokenizer_bpe.h - the GPT-2 byte-level BPE half of the tokenizer,
 * internal to tokenizer.c (which owns the vocabulary and the special-token
 * partition and calls in here for each plain-text fragment).
 */
#ifndef LM_TOKENIZER_BPE_H
#define LM_TOKENIZER_BPE_H

#include "tokenizer.h"

struct tok_bpe;

/* Reads tokenizer.ggml.merges and .pre; v's token index must be built. */
ftsb_status tok_bpe_load(const struct gguf_file *f, const struct tok_vocab *v,
                         struct tok_bpe **out, struct lm_err *err);
void tok_bpe_free(struct tok_bpe *b);

/* True when the file's pre-tokenizer is Llama 3's, whose vocabularies
 * add BOS unless tokenizer.ggml.add_bos_token says otherwise. */
bool tok_bpe_adds_bos(const struct gguf_file *f);

/* Appends the ids of one fragment of plain text. */
ftsb_status tok_bpe_encode(const struct tok_bpe *b, const struct tok_vocab *v,
                           const char *text, size_t len, struct tok_ids *out,
                           struct lm_err *err);

/* Classes of code points for the pre-tokenizers (tokenizer_unicode.c). */
enum tok_class {
    TOK_CLASS_OTHER = 0,
    TOK_CLASS_LETTER = 1,  /* \p{L} */
    TOK_CLASS_NUMBER = 2,  /* \p{N} */
    TOK_CLASS_SPACE = 3,   /* \s (White_Space) */
};

enum tok_class tok_cpt_class(uint32_t cp);

/* Turns a token text of byte-level characters back into its bytes; dst
 * has room for n bytes.  Returns the bytes written. */
size_t tok_bpe_decode_text(const char *t, size_t n, char *dst);

#endif /* LM_TOKENIZER_BPE_H */
