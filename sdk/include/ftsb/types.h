/*
 * ftsb/types.h - the data that crosses the plugin boundary.
 *
 * Only plain C types and these structs cross between host and plugin.
 * Structs a caller fills start with struct_size (set it to sizeof the
 * struct you compiled against); a callee reads a member only when
 * struct_size covers it, so either side may be older.  Enumerations are
 * int32_t with explicit, never renumbered values.
 *
 * Strings are NUL-terminated UTF-8.  Unless a comment says otherwise,
 * pointers handed to a plugin are borrowed: valid for the duration of the
 * call that received them.
 */
#ifndef FTSB_TYPES_H
#define FTSB_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "macros.h"
#include "status.h"

FTSB_BEGIN_DECLS

/* Opaque host objects.  A plugin never allocates, copies or frees them. */
typedef struct ftsb_ctx ftsb_ctx;         /* per-call context: errors, logs, progress */
typedef struct ftsb_buf ftsb_buf;         /* a growable text sink owned by the host */
typedef struct ftsb_config ftsb_config;   /* a validated configuration object */
typedef struct ftsb_backend_ref ftsb_backend_ref; /* another backend instance */
typedef struct ftsb_dataset ftsb_dataset; /* a read-only table of examples */
typedef struct ftsb_dataset_sink ftsb_dataset_sink; /* where a plugin adds examples */
typedef struct ftsb_metric_sink ftsb_metric_sink;   /* where a metric adds values */

/* Plugin kinds. */
#define FTSB_KIND_BACKEND 1
#define FTSB_KIND_ATTACK 2
#define FTSB_KIND_JUDGE 3
#define FTSB_KIND_METRIC 4

/* One chat message.  role is "system", "user" or "assistant". */
typedef struct ftsb_message {
    const char *role;
    const char *content;
} ftsb_message;

/* A conversation: messages in order. */
typedef struct ftsb_chat {
    uint32_t n_messages;
    const ftsb_message *messages;
} ftsb_chat;

/*
 * One row of a dataset.  Every dataset format maps onto it: chat JSONL
 * fills chat; instruction lists fill instruction and category; Alpaca fills
 * instruction, input and response; Dolly fills instruction, input (its
 * "context"), response and category.  Absent fields are NULL (chat:
 * n_messages 0).  id is a stable row identifier ("file:line" when read
 * from a file, or the id given in the data).
 */
typedef struct ftsb_example {
    uint32_t struct_size;
    const char *id;
    const char *instruction;
    const char *input;
    const char *response;
    const char *category;
    ftsb_chat chat;
} ftsb_example;

/* Types of configuration keys (see ftsb_config_key). */
#define FTSB_CFG_STRING 1
#define FTSB_CFG_INT 2      /* a JSON integer, exact in int64_t */
#define FTSB_CFG_NUMBER 3   /* any JSON number */
#define FTSB_CFG_BOOL 4
#define FTSB_CFG_JSON 5     /* any JSON value, read as text */
#define FTSB_CFG_BACKEND 6  /* a backend instance passed by the script */
#define FTSB_CFG_DATASET 7  /* a dataset passed by the script, or a file path */
#define FTSB_CFG_STRINGS 8  /* an array of strings */

/*
 * One accepted configuration key.  A plugin describes every key it
 * accepts; the host rejects unknown keys and values of the wrong type
 * before create() runs, naming the key and the plugin, so a plugin never
 * sees a misspelt option.  def is the default as JSON text ("0.7",
 * "\"llama-2\"", "true"), or NULL when the key has no default; a key with
 * required = 1 must be given.  help is one line for `ftsb plugins --help`.
 */
typedef struct ftsb_config_key {
    const char *name;
    int32_t type;
    int32_t required;
    const char *def;
    const char *help;
} ftsb_config_key;

FTSB_END_DECLS

#endif /* FTSB_TYPES_H */
