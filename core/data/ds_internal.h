/*
 * ds_internal.h - what the dataset readers and writers share inside
 * core/data/: the byte source (a file read in fixed chunks, or a memory
 * buffer), the format descriptor, message helpers, and the entry points of
 * each reader and writer.  Not for use outside core/data/.
 */
#ifndef FTSB_DS_INTERNAL_H
#define FTSB_DS_INTERNAL_H

#include "../ftsb_setup.h"
#include "../util/err.h"
#include "../util/strbuf.h"
#include "dataset.h"

enum ds_kind { DS_AUTO, DS_CHAT, DS_CSV, DS_JSONL, DS_ALPACA, DS_DOLLY };

struct ds_format {
    enum ds_kind kind;
    const char *column; /* "csv:COLUMN": points after the colon; else NULL */
};

ftsb_status ds_parse_format(const char *format, struct ds_format *f,
                            struct err *err);

/*
 * A byte source.  The window buf[pos..len) holds the next unread bytes;
 * src_fill replaces it when it is used up.  Files are read in chunks of
 * SRC_CHUNK bytes, so nothing here grows with the input.
 */
#define SRC_CHUNK ((size_t)64 << 10)

struct src {
    const char *name;  /* for messages */
    int fd;            /* -1 for a memory source */
    const char *mem;
    size_t mem_len;
    char *chunk;       /* read buffer of a file source */
    const char *buf;
    size_t pos, len;
    uint64_t off;      /* input offset of buf[0] */
    int eof;
};

ftsb_status src_open_file(struct src *s, const char *path, struct err *err);
void src_open_mem(struct src *s, const char *data, size_t len,
                  const char *name);
void src_close(struct src *s);
/* Back to the first byte (format sniffing); fails on a pipe. */
ftsb_status src_rewind(struct src *s, struct err *err);
/* Ensures pos < len, or sets eof.  A UTF-8 BOM at offset 0 is skipped. */
ftsb_status src_fill(struct src *s, struct err *err);
/* Next line without its '\n' (and a final '\r') into line; *got is 0 at
 * the end of input.  *lineno counts lines read.  A line longer than the
 * record limit is an error once that many bytes are buffered. */
ftsb_status src_getline(struct src *s, struct strbuf *line, uint64_t *lineno,
                        int *got, struct err *err);

/* Records "name:line: <fmt>" in err and returns code. */
ftsb_status ds_fail(struct err *err, ftsb_status code, const char *name,
                    uint64_t line, const char *fmt, ...) FTSB_PRINTF(5, 6);
/* "64 MiB", "1 KiB", "100 bytes": the record limit in messages. */
void ds_size_text(char *buf, size_t n, size_t bytes);
/* Appends s quoted for a message: at most about 60 bytes, control
 * characters escaped, cut on a character boundary. */
ftsb_status ds_quote(struct strbuf *sb, const char *s);
/* The part of a path after its last '/'. */
const char *ds_basename(const char *path);
/* Returns ptr (an array of *cap elements of size elem) grown to hold at
 * least need >= 1 elements, or NULL when out of memory (ptr is then still
 * valid).  Sizes double and are overflow-checked. */
void *ds_grow(void *ptr, size_t *cap, size_t need, size_t elem);
/* 1 when role is system, user or assistant. */
int ds_role_ok(const char *role);

/* Readers: parse the whole source, calling fn per row. */
ftsb_status ds_read_json_lines(struct src *s, enum ds_kind kind,
                               dataset_row_fn fn, void *ud, struct err *err);
ftsb_status ds_read_alpaca(struct src *s, dataset_row_fn fn, void *ud,
                           struct err *err);
ftsb_status ds_read_csv(struct src *s, const char *column, dataset_row_fn fn,
                        void *ud, struct err *err);

/* Sniffers for "auto": read the start of s (the caller rewinds). */
ftsb_status ds_sniff_jsonl(struct src *s, enum ds_kind *kind,
                           struct err *err);
/* Sets column (empty: headerless) from the first CSV record. */
ftsb_status ds_sniff_csv(struct src *s, struct strbuf *column,
                         struct err *err);

/* Writers: append the encoding of ds to the sink in format f. */
typedef ftsb_status (*ds_sink_fn)(void *ud, const char *data, size_t len,
                                  struct err *err);
ftsb_status ds_write(const struct ftsb_dataset *ds, const struct ds_format *f,
                     ds_sink_fn sink, void *ud, struct err *err);

#endif /* FTSB_DS_INTERNAL_H */
