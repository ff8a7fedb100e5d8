/*
 * train_ckpt.h - training checkpoints: everything a run needs to continue
 * exactly where it stopped (the trained F32 tensors and AdamW's m and v,
 * the step, the epoch and the position in it, the shuffle seed, the loss
 * curve so far), in one GGUF file, so the reader that is fuzzed for model
 * files also guards this one.  The file has general.type = "checkpoint"
 * (the model loader refuses it by that key) and these keys:
 *
 *   ftsb.checkpoint.version      u32  LM_CKPT_VERSION
 *   ftsb.checkpoint.method       str  "full", "lora", ... (the caller's)
 *   ftsb.checkpoint.step         i64  optimizer steps done
 *   ftsb.checkpoint.epoch        i64  the epoch in progress (0-based)
 *   ftsb.checkpoint.epoch_pos    i64  position in that epoch
 *   ftsb.checkpoint.seed         u64  the shuffle seed
 *   ftsb.checkpoint.config_hash  u64  the caller's hash of configuration,
 *                                     training data and base model
 *   ftsb.checkpoint.config       str  optional "key=value" lines of the
 *                                     configuration, to say what changed
 *   ftsb.checkpoint.loss         [f32] the loss history
 *   ftsb.checkpoint.hash         u64  lm_hash64 stream over all of the
 *                                     above (after the version) and every
 *                                     tensor's name, size and bytes in file
 *                                     order: a flipped byte that the GGUF
 *                                     checks let through is caught here
 *
 * and one 1-D F32 tensor per struct lm_ckpt_tensor, named by the caller.
 *
 * Saving is atomic: gguf_w_save writes "<path>.tmp", fsyncs it and renames
 * it over path (then the directory is fsynced so the rename itself
 * survives a power cut), so a process killed during a save leaves the
 * previous checkpoint whole, and at worst a stale .tmp that the next save
 * overwrites and the loader never reads.
 *
 * Loading refuses, before it copies a single value: a file that is not a
 * checkpoint or is damaged (FTSB_E_FORMAT: the GGUF checks, a missing key,
 * the hash), a newer format (FTSB_E_UNSUPPORTED), and a checkpoint
 * of another run (FTSB_E_INVALID): another method, seed or configuration
 * hash (saying which "key=value" settings differ when both sides gave
 * them), a tensor missing, extra, of another type or size.  Messages name
 * the file and the tensor, and say how to start over.
 *
 * Thread contract: reentrant; a checkpoint file is written by one thread.
 */
#ifndef LM_TRAIN_CKPT_H
#define LM_TRAIN_CKPT_H

#include <stdint.h>

#include "lm_err.h"

#define LM_CKPT_VERSION 1

/* One trained buffer: n floats (n >= 1) under a GGUF tensor name (at most
 * 63 bytes).  Saving reads data; loading writes it. */
struct lm_ckpt_tensor {
    const char *name;
    float *data;
    int64_t n;
};

/* What the caller says about the run (saving: the state; loading: what
 * the checkpoint must match: method, seed, config_hash, config_text). */
struct lm_ckpt_meta {
    int64_t step;            /* optimizer steps done, >= 0 */
    int64_t epoch;           /* epoch in progress, >= 0 */
    int64_t epoch_pos;       /* position in it (the trainer's unit), >= 0 */
    uint64_t seed;           /* shuffle seed (lm_train_order) */
    uint64_t config_hash;    /* configuration + data + base model */
    const char *method;      /* non-empty, e.g. "full", "lora" */
    const char *config_text; /* "key=value" lines, or NULL */
};

/* What a checkpoint file says.  Free with lm_ckpt_info_free. */
struct lm_ckpt_info {
    uint32_t version;
    int64_t step, epoch, epoch_pos;
    uint64_t seed, config_hash;
    char *method;            /* malloc'ed */
    char *config_text;       /* malloc'ed, NULL when the file has none */
    float *loss;             /* (n_loss) malloc'ed, NULL when empty */
    int64_t n_loss;
    int64_t n_tensors;
};

/*
 * Writes the checkpoint of meta, t[0..n_t) and loss[0..n_loss) to path
 * (replacing it atomically).  Errors: FTSB_E_INVALID (a negative counter,
 * no method, a tensor without data, n < 1, a name that is empty, too long
 * or repeated), FTSB_E_IO, FTSB_E_NOMEM.
 */
ftsb_status lm_ckpt_save(const char *path, const struct lm_ckpt_meta *meta,
                         const struct lm_ckpt_tensor *t, int32_t n_t,
                         const float *loss, int64_t n_loss,
                         struct lm_err *err);

/*
 * Reads the metadata of the checkpoint at path (no tensor data, no
 * comparison, no hash check, so it is cheap whatever the size; for
 * "resuming from step N" messages).  *out is zeroed
 * first and left empty on failure.  FTSB_E_IO, FTSB_E_FORMAT,
 * FTSB_E_UNSUPPORTED, FTSB_E_NOMEM.
 */
ftsb_status lm_ckpt_read_info(const char *path, struct lm_ckpt_info *out,
                              struct lm_err *err);

/*
 * Loads the checkpoint at path into t[0..n_t) after checking it against
 * expect and against the tensor list (see above); on success *out (may be
 * NULL) receives the metadata and loss history.  On failure nothing has
 * been written to the tensors and *out is empty.
 */
ftsb_status lm_ckpt_load(const char *path, const struct lm_ckpt_meta *expect,
                         const struct lm_ckpt_tensor *t, int32_t n_t,
                         struct lm_ckpt_info *out, struct lm_err *err);

void lm_ckpt_info_free(struct lm_ckpt_info *info);

#endif /* LM_TRAIN_CKPT_H */
