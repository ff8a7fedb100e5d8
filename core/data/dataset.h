/*
 * dataset.h - the host's dataset object and its file formats.
 *
 * A dataset is an append-only table of ftsb_example rows.  Every string
 * and message array of a row lives in memory owned by the dataset, so a
 * row pointer stays valid until dataset_free, even while rows are added.
 * Readers validate everything they accept (UTF-8, roles, JSON syntax,
 * duplicate keys) and report malformed input as FTSB_E_FORMAT with
 * "file:line: reason"; a row given to a dataset_row_fn is borrowed for the
 * duration of the call.  Formats: "auto", "chat", "csv", "csv:COLUMN",
 * "jsonl", "alpaca", "dolly" (see dataset.c for the exact rules).
 */
#ifndef FTSB_DATASET_H
#define FTSB_DATASET_H

#include "../ftsb_setup.h"
#include "../util/err.h"
#include "../util/strbuf.h"

/* The longest line (JSONL), record (CSV) or array element (Alpaca) a
 * reader accepts unless dataset_set_max_record says otherwise. */
#define DATASET_MAX_RECORD_DEFAULT ((size_t)64 << 20)

struct ftsb_dataset;

/* NULL on OOM.  name (NULL means "") is used in messages: a path, or a
 * label such as "attack:harmful". */
struct ftsb_dataset *dataset_new(const char *name);
void dataset_free(struct ftsb_dataset *ds); /* NULL ok */
uint64_t dataset_count(const struct ftsb_dataset *ds);
/* NULL if i is out of range. */
const ftsb_example *dataset_get(const struct ftsb_dataset *ds, uint64_t i);
const char *dataset_name(const struct ftsb_dataset *ds);

/* Adds a deep copy of ex.  Fails with FTSB_E_INVALID when a string is not
 * valid UTF-8, a message has no role/content or a role other than system,
 * user or assistant, or the row has neither instruction nor messages. */
ftsb_status dataset_add(struct ftsb_dataset *ds, const ftsb_example *ex);
/* The same, with the reason in err. */
ftsb_status dataset_add_err(struct ftsb_dataset *ds, const ftsb_example *ex,
                            struct err *err);

typedef ftsb_status (*dataset_row_fn)(void *ud, const ftsb_example *ex,
                                      struct err *err);

/* Streams the rows of a file to fn without keeping them; memory stays
 * bounded by the largest record.  A status other than FTSB_OK returned by
 * fn stops the stream and is returned (fn records its message in err).
 * An empty file is an empty stream. */
ftsb_status dataset_stream(const char *path, const char *format,
                           dataset_row_fn fn, void *ud, struct err *err);
/* The same over a memory buffer; name is used in messages and, for
 * "auto", for its extension. */
ftsb_status dataset_stream_mem(const char *data, size_t len, const char *name,
                               const char *format, dataset_row_fn fn,
                               void *ud, struct err *err);

/* Reads a whole file into a new dataset named path. */
ftsb_status dataset_load(const char *path, const char *format,
                         struct ftsb_dataset **out, struct err *err);

/* Writes ds as "chat", "jsonl", "csv", "csv:COLUMN", "alpaca" or "dolly"
 * ("auto": by the extension of path).  The file is written to path.tmp,
 * synced, then renamed over path, so a crash never leaves half a file. */
ftsb_status dataset_save(const struct ftsb_dataset *ds, const char *path,
                         const char *format, struct err *err);
/* The same encoding appended to out (tests and fuzzing). */
ftsb_status dataset_save_mem(const struct ftsb_dataset *ds, const char *format,
                             struct strbuf *out, struct err *err);

/* The longest line/record accepted; 0 restores the default.  Meant for
 * tests: it is process-wide and not synchronised. */
void dataset_set_max_record(size_t bytes);
size_t dataset_max_record(void);

#endif /* FTSB_DATASET_H */
