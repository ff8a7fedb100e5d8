/*
 * file_hash.h - a fast 64-bit content hash of a whole file, for the
 * backend's fingerprint: two model files with the same bytes give the same
 * fingerprint wherever they live, and any change of a byte changes it
 * (with the odds of a random 64-bit collision).  It is not cryptographic:
 * it names content, it does not defend against someone forging a file.
 * Four independent multiply-rotate lanes over 32-byte blocks keep it at
 * memory speed (several GB/s), so the cost is reading the file; the plugin
 * additionally remembers the result per file identity (lm_file_id: path,
 * size, mtime, inode) so a 13 GB model is hashed once, not per run.
 *
 * Thread contract: reentrant.
 */
#ifndef LM_FILE_HASH_H
#define LM_FILE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "lm_err.h"

/* What identifies a file's version without reading it. */
struct lm_file_id {
    uint64_t size;
    int64_t mtime_ns;
    uint64_t inode, device;
};

/* The hash of n bytes (the same function lm_file_hash applies to a file
 * read in any chunking). */
uint64_t lm_hash64(const void *data, size_t n);

/* Streaming form: init, update with consecutive chunks, final. */
struct lm_hash_state {
    uint64_t lane[4];
    uint64_t total;
    uint8_t tail[32];
    size_t n_tail;
};
void lm_hash_init(struct lm_hash_state *h);
void lm_hash_update(struct lm_hash_state *h, const void *data, size_t n);
uint64_t lm_hash_final(const struct lm_hash_state *h);

/* stat() of path.  FTSB_E_IO (with the reason) when it cannot be read. */
ftsb_status lm_file_id_of(const char *path, struct lm_file_id *id,
                          struct lm_err *err);

/* Hashes the whole file at path.  FTSB_E_IO, FTSB_E_NOMEM. */
ftsb_status lm_file_hash(const char *path, uint64_t *out, struct lm_err *err);

#endif /* LM_FILE_HASH_H */
