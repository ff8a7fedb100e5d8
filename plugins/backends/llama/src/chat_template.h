/*
 * chat_template.h - chats to token ids by named, built-in templates.
 *
 * A chat (ftsb_message {role, content}, roles "system", "user",
 * "assistant") is rendered into parts: text, BOS, EOS and special tokens
 * named by their text ("<|im_start|>").  BOS and EOS are token-level
 * markers, never text, and message content is never searched for special
 * tokens, so a user who types "</s>" or "<|im_end|>" gets those
 * characters, not a turn boundary.  Each part says whether it belongs to
 * an assistant turn; tmpl_tokenize() turns that into a per-token loss mask
 * for training.
 *
 *     struct tmpl_tokens t = {0};
 *     ftsb_message chat[] = {{"system", "Be brief."}, {"user", "Hi"}};
 *     tmpl_apply(TMPL_LLAMA2, chat, 2, NULL, vocab, &t, &err);
 *     // t.ids: BOS "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]"
 *     tmpl_tokens_free(&t);
 *
 * A template stored in a model file (tokenizer.chat_template, Jinja) is
 * data and is never executed: tmpl_guess() only recognises which built-in
 * template it resembles, for use as a default.
 *
 * The templates (<s>/</s> stand for the BOS/EOS tokens, {x} for content):
 *
 * llama-2   <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {answer} </s>
 *           <s>[INST] {user2} [/INST]
 *   As the paper's code renders it (MISSION-BRIEF 1.4 and 3.5, its
 *   prompt_utils.py and its ft_datasets/ files): the system prompt goes inside
 *   the first user turn; BOS before every "[INST]" (each turn was one
 *   tokenizer.encode call, which adds BOS and the SentencePiece dummy
 *   prefix); " {answer} " then EOS after each answer.  Whitespace: the
 *   paper's evaluation prompts strip() the combined "<<SYS>>...{user}"
 *   text, and Meta's multi-turn format strips each user and answer text,
 *   but its fine-tuning datasets do not strip anything (an Alpaca prompt
 *   keeps its final "\n" before " [/INST]").  TMPL_WS_AUTO, the default,
 *   reproduces both: no strip when the chat ends with an assistant message
 *   (a training example), strip when it ends with a user message (a
 *   prompt).  The loss mask is the paper's: an answer's tokens are those
 *   past len(tokenize(prompt)) within its turn, plus the EOS.
 *   Roles: an optional first system message, then user and assistant
 *   alternating, starting with user.
 * chatml    [<s>]<|im_start|>system\n{system}<|im_end|>\n
 *           <|im_start|>user\n{user}<|im_end|>\n
 *           <|im_start|>assistant\n{answer}<|im_end|>\n ...
 *           <|im_start|>assistant\n
 *   No stripping.  Trained on: {answer}<|im_end|>.  BOS only when the
 *   vocabulary adds one.  Needs <|im_start|> and <|im_end|> tokens.
 * llama-3   <|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n
 *           {system}<|eot_id|>...<|start_header_id|>assistant
 *           <|end_header_id|>\n\n
 *   Contents stripped (the official template trims).  Trained on:
 *   {answer}<|eot_id|>.  Needs the header and <|eot_id|> tokens.
 * plain     [<s>]System: {system}\nUser: {user}\nAssistant: {answer}</s>...
 *           User: {user2}\nAssistant:
 *   For base models.  The prompt ends with "Assistant:" and the answer
 *   part is " {answer}": a prompt ending in a space would tokenize as a
 *   lone U+2581 token that training never shows the model.  Trained on:
 *   " {answer}</s>".  BOS only when the vocabulary adds one.
 *
 * chatml, llama-3 and plain accept any order of roles and, unless
 * no_generation_prompt is set, end with an opened assistant turn when the
 * last message is not from the assistant.
 */
#ifndef LM_CHAT_TEMPLATE_H
#define LM_CHAT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ftsb/types.h>

#include "lm_err.h"
#include "tokenizer.h"

enum tmpl_id {
    TMPL_NONE = 0,
    TMPL_LLAMA2 = 1,
    TMPL_CHATML = 2,
    TMPL_LLAMA3 = 3,
    TMPL_PLAIN = 4,
};

/* Whitespace handling of the llama-2 template (see above). */
enum tmpl_ws {
    TMPL_WS_AUTO = 0,
    TMPL_WS_STRIP = 1,
    TMPL_WS_KEEP = 2,
};

struct tmpl_opts {
    enum tmpl_ws ws;
    bool no_generation_prompt;
};

enum tmpl_part_kind {
    TMPL_PART_TEXT = 0,
    TMPL_PART_BOS = 1,
    TMPL_PART_EOS = 2,
    TMPL_PART_TOKEN = 3, /* a special token named by its text */
};

struct tmpl_part {
    enum tmpl_part_kind kind;
    const char *text; /* TEXT: the text; TOKEN: the token text; else "" */
    size_t len;
    bool assistant;   /* belongs to an assistant turn (trained on) */
    bool if_add_bos;  /* BOS only when the vocabulary adds one */
};

/* A rendered chat.  Start zeroed; free with tmpl_chat_free. */
struct tmpl_chat {
    struct tmpl_part *parts;
    size_t n;
    /* internal */
    size_t cap;
    size_t *off;
    char *buf;
    size_t len, buf_cap;
};

/* Token ids and, per id, 1 if it belongs to an assistant turn. */
struct tmpl_tokens {
    int32_t *ids;
    uint8_t *assistant;
    size_t n;
    size_t cap; /* internal */
};

/* "llama-2" (or "llama2"), "chatml", "llama-3" ("llama3"), "plain".
 * FTSB_E_NOT_FOUND with the list of names for anything else. */
ftsb_status tmpl_from_name(const char *name, enum tmpl_id *out,
                           struct lm_err *err);
/* The canonical name, or NULL. */
const char *tmpl_name(enum tmpl_id id);

/*
 * Which built-in template a Jinja template from a model file resembles:
 * "<|start_header_id|>" -> llama-3, "<|im_start|>" -> chatml, "[INST]"
 * with "<<SYS>>" -> llama-2; TMPL_NONE otherwise.  Never executes it.
 */
enum tmpl_id tmpl_guess(const char *jinja, size_t len);

/*
 * Renders msgs[0..n) into parts.  opts may be NULL (defaults).  Errors:
 * FTSB_E_INVALID (no messages, an unknown role, a role order the template
 * cannot express, NULL content), FTSB_E_NOMEM.
 */
ftsb_status tmpl_render(enum tmpl_id id, const ftsb_message *msgs, size_t n,
                        const struct tmpl_opts *opts, struct tmpl_chat *out,
                        struct lm_err *err);
void tmpl_chat_free(struct tmpl_chat *c);

/*
 * The chat as one string, BOS/EOS and special tokens written as their
 * token text (v's, or "<s>"/"</s>" when v is NULL; optional BOS only when
 * v adds one or v is NULL).  For logs and cache keys; tokenize the parts,
 * not this string.  malloc'ed, NUL-terminated.  FTSB_E_NOMEM.
 */
ftsb_status tmpl_chat_text(const struct tmpl_chat *c,
                           const struct tok_vocab *v, char **out,
                           size_t *len, struct lm_err *err);

/*
 * Token ids of the chat with v.  Consecutive text parts are tokenized as
 * one text (as the original single string was), with the SentencePiece
 * dummy prefix after every BOS/EOS/special token, like llama.cpp
 * tokenizing the whole rendered string.  Errors: FTSB_E_UNSUPPORTED (a
 * special token or BOS/EOS the vocabulary lacks, named in the message),
 * the errors of tok_encode.
 */
ftsb_status tmpl_tokenize(const struct tmpl_chat *c,
                          const struct tok_vocab *v, struct tmpl_tokens *out,
                          struct lm_err *err);
void tmpl_tokens_free(struct tmpl_tokens *t);

/* tmpl_render + tmpl_tokenize. */
ftsb_status tmpl_apply(enum tmpl_id id, const ftsb_message *msgs, size_t n,
                       const struct tmpl_opts *opts,
                       const struct tok_vocab *v, struct tmpl_tokens *out,
                       struct lm_err *err);

#endif /* LM_CHAT_TEMPLATE_H */
