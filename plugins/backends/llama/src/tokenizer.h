/*
 * tokenizer.h - text to token ids and back, from the vocabulary stored in
 * a GGUF file (the tokenizer.ggml.* keys), reproducing llama.cpp's
 * tokenizer exactly: the same ids for the same text and flags (native.md
 * section 5.1; checked against llama.cpp's own test vectors).
 *
 *     struct tok_vocab *v;
 *     tok_load(gguf, &v, &err);
 *     struct tok_ids ids = {0};
 *     tok_encode(v, "Hello world", 11, TOK_ADD_SPECIAL, &ids, &err);
 *     // ids.v = {1, 15043, 3186} with the Llama vocabulary
 *     tok_ids_free(&ids);
 *     tok_free(v);
 *
 * Supported models (tokenizer.ggml.model): "llama", SentencePiece-style
 * BPE with scores and byte fallback (Llama 1/2, TinyLlama, Mistral), and
 * "gpt2", byte-level BPE with merges, with the pre-tokenizers "gpt-2"
 * (checked against llama.cpp's GPT-2 vectors) and "llama-bpe" (Llama 3;
 * written from llama.cpp's code, no reference vectors here); other
 * pre-tokenizers are refused by name.  Decoding concatenates pieces: the
 * "clean spaces" rewriting llama_detokenize applies to BPE vocabularies
 * (" ," -> ",", ...) is lossy and left out.
 * The vocabulary is validated when loaded (duplicate or malformed tokens,
 * special ids out of range, byte tokens not of the form <0xHH>), so ids it
 * produces always index the embedding table.
 *
 * A vocabulary is immutable after tok_load(): any number of threads may
 * encode and decode with it at the same time.
 */
#ifndef LM_TOKENIZER_H
#define LM_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gguf.h"
#include "lm_err.h"

/* Token types (tokenizer.ggml.token_type), as llama.cpp numbers them. */
enum tok_type {
    TOK_TYPE_UNDEFINED = 0,
    TOK_TYPE_NORMAL = 1,
    TOK_TYPE_UNKNOWN = 2,
    TOK_TYPE_CONTROL = 3,
    TOK_TYPE_USER_DEFINED = 4,
    TOK_TYPE_UNUSED = 5,
    TOK_TYPE_BYTE = 6,
};

enum tok_model {
    TOK_MODEL_SPM = 1,  /* "llama" */
    TOK_MODEL_GPT2 = 2, /* "gpt2" */
};

/* A growable array of token ids; start zeroed, free with tok_ids_free. */
struct tok_ids {
    int32_t *v;
    size_t n, cap;
};

struct tok_vocab;

/*
 * Builds the vocabulary of an open GGUF file (nothing is kept pointing
 * into the file).  Errors: FTSB_E_NOT_FOUND (no tokenizer keys),
 * FTSB_E_UNSUPPORTED ("unsupported tokenizer model 'bert'"),
 * FTSB_E_FORMAT (a malformed vocabulary), FTSB_E_NOMEM.
 */
ftsb_status tok_load(const struct gguf_file *f, struct tok_vocab **out,
                     struct lm_err *err);
void tok_free(struct tok_vocab *v);

enum tok_model tok_model(const struct tok_vocab *v);
int32_t tok_n_vocab(const struct tok_vocab *v);
/* Special ids, or -1 when the vocabulary has none. */
int32_t tok_bos(const struct tok_vocab *v);
int32_t tok_eos(const struct tok_vocab *v);
int32_t tok_unk(const struct tok_vocab *v);
int32_t tok_pad(const struct tok_vocab *v);
/* End of a chat turn: <|eot_id|>, <|im_end|>, ... (-1 if none). */
int32_t tok_eot(const struct tok_vocab *v);
bool tok_add_bos(const struct tok_vocab *v);
bool tok_add_eos(const struct tok_vocab *v);
/* True for EOS and the end-of-turn token: where generation stops. */
bool tok_is_eog(const struct tok_vocab *v, int32_t id);

/* The id of a token text, or -1. */
int32_t tok_find(const struct tok_vocab *v, const char *text, size_t len);
/* The raw text of id (with U+2581 for spaces in SPM), NUL-terminated;
 * NULL when id is out of range. */
const char *tok_text(const struct tok_vocab *v, int32_t id);
enum tok_type tok_type(const struct tok_vocab *v, int32_t id);
float tok_score(const struct tok_vocab *v, int32_t id);

/* tok_encode flags. */
#define TOK_ADD_SPECIAL 1u   /* add BOS / EOS as the vocabulary says
                                (tokenizer.ggml.add_bos_token, ...) */
#define TOK_PARSE_SPECIAL 2u /* treat control-token text in the input
                                ("<s>", "[INST]" when it is a control
                                token) as that token; without it such text
                                is ordinary text.  User-defined tokens are
                                always matched, as in llama.cpp. */
#define TOK_AFTER_TEXT 4u    /* the text continues earlier ordinary text
                                of the same input: no dummy-prefix space
                                at its start (SPM) */

/*
 * Appends the ids of text[0..len) to out.  Equivalent to llama.cpp's
 * llama_tokenize(text, add_special, parse_special).  Errors:
 * FTSB_E_INVALID (text longer than 256 MiB), FTSB_E_FORMAT (a byte with
 * neither a byte token nor an unknown token), FTSB_E_NOMEM.
 */
ftsb_status tok_encode(const struct tok_vocab *v, const char *text,
                       size_t len, unsigned flags, struct tok_ids *out,
                       struct lm_err *err);

/* Appends one id; FTSB_E_NOMEM.  (For callers assembling sequences.) */
ftsb_status tok_ids_push(struct tok_ids *ids, int32_t id);
void tok_ids_free(struct tok_ids *ids);

/*
 * The text of one token: a normal token with U+2581 turned into spaces, a
 * byte token as its byte, a user-defined token as its text; control and
 * unknown tokens give their text only when special is true, else "".
 * Points into the vocabulary; no allocation.  FTSB_E_INVALID for an id
 * outside the vocabulary.
 */
ftsb_status tok_piece(const struct tok_vocab *v, int32_t id, bool special,
                      const char **text, size_t *len);

/* tok_decode flags. */
#define TOK_REMOVE_SPECIAL 1u  /* drop a leading BOS and a trailing EOS
                                  when the vocabulary adds them */
#define TOK_UNPARSE_SPECIAL 2u /* write control/unknown tokens as text */
#define TOK_LSTRIP 4u          /* drop the dummy-prefix space of the first
                                  piece (when the vocabulary adds one and
                                  no BOS was removed), as llama_detokenize
                                  does; without it pieces are concatenated
                                  unchanged */

/*
 * The text of ids (bytes of byte tokens joined before UTF-8 is
 * interpreted), in a malloc'ed NUL-terminated buffer (*out, *out_len).
 * Errors: FTSB_E_INVALID (an id outside the vocabulary), FTSB_E_NOMEM.
 */
ftsb_status tok_decode(const struct tok_vocab *v, const int32_t *ids,
                       size_t n, unsigned flags, char **out, size_t *out_len,
                       struct lm_err *err);

#endif /* LM_TOKENIZER_H */
