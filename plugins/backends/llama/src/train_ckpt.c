/*
 * train_ckpt.c - training checkpoints as GGUF files (format and rules in
 * train_ckpt.h).  The writer borrows the caller's buffers, so a save costs
 * no second copy of the optimizer state; the loader maps the file, checks
 * every key and every tensor against what the caller expects and the data
 * hash against the bytes, and only then copies, so a refused checkpoint
 * leaves the caller's buffers as they were (a fresh start stays fresh).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file_hash.h"
#include "gguf.h"
#include "train_ckpt.h"

#define CK_TYPE "checkpoint"
#define CK_KEY(x) "ftsb.checkpoint." x

static ftsb_status ck_nomem(struct lm_err *err)
{
    return lm_fail(err, FTSB_E_NOMEM, "out of memory handling a training "
                   "checkpoint");
}

/* ---- saving ------------------------------------------------------------- */

static ftsb_status ck_check_save(const struct lm_ckpt_meta *m,
                                 const struct lm_ckpt_tensor *t, int32_t n_t,
                                 const float *loss, int64_t n_loss,
                                 struct lm_err *err)
{
    if (!m->method || !m->method[0])
        return lm_fail(err, FTSB_E_INVALID, "checkpoint: the training "
                       "method name is empty (a caller bug)");
    if (m->step < 0 || m->epoch < 0 || m->epoch_pos < 0 || n_t < 0 ||
        n_loss < 0 || (n_loss > 0 && !loss))
        return lm_fail(err, FTSB_E_INVALID, "checkpoint: negative step "
                       "%" PRId64 ", epoch %" PRId64 ", position %" PRId64
                       " or count, or loss values missing (a caller bug)",
                       m->step, m->epoch, m->epoch_pos);
    for (int32_t i = 0; i < n_t; i++) {
        if (!t[i].name || !t[i].name[0] || !t[i].data || t[i].n < 1 ||
            t[i].n > INT64_MAX / (int64_t)sizeof(float))
            return lm_fail(err, FTSB_E_INVALID, "checkpoint: tensor %d "
                           "('%.64s') has no name, no data or a size of "
                           "%" PRId64 " values (a caller bug)", (int)i,
                           t[i].name ? t[i].name : "", t[i].n);
    }
    return FTSB_OK;
}

/* The content hash (train_ckpt.h): the metadata after the version, then
 * each tensor's name, type, element count and bytes, in file order.
 * Integers go in as 8 little-endian bytes and strings with their length
 * first, so no two different contents feed the same byte stream. */
struct ck_tensor_in {
    const char *name;
    uint32_t type;
    uint64_t nelem;
    const void *data;
    uint64_t nbytes;
};

static void ck_hash_u64(struct lm_hash_state *h, uint64_t v)
{
    lm_hash_update(h, &v, sizeof v);
}

static void ck_hash_str(struct lm_hash_state *h, const char *s)
{
    size_t len = s ? strlen(s) : 0;

    ck_hash_u64(h, s ? (uint64_t)len : UINT64_MAX); /* NULL != "" */
    if (len)
        lm_hash_update(h, s, len);
}

static uint64_t ck_hash(const struct lm_ckpt_meta *m, const float *loss,
                        int64_t n_loss, const struct ck_tensor_in *t,
                        uint64_t n_t)
{
    struct lm_hash_state h;

    lm_hash_init(&h);
    ck_hash_str(&h, m->method);
    ck_hash_u64(&h, (uint64_t)m->step);
    ck_hash_u64(&h, (uint64_t)m->epoch);
    ck_hash_u64(&h, (uint64_t)m->epoch_pos);
    ck_hash_u64(&h, m->seed);
    ck_hash_u64(&h, m->config_hash);
    ck_hash_str(&h, m->config_text);
    ck_hash_u64(&h, (uint64_t)n_loss);
    if (n_loss > 0)
        lm_hash_update(&h, loss, (size_t)n_loss * sizeof(float));
    ck_hash_u64(&h, n_t);
    for (uint64_t i = 0; i < n_t; i++) {
        ck_hash_str(&h, t[i].name);
        ck_hash_u64(&h, t[i].type);
        ck_hash_u64(&h, t[i].nelem);
        lm_hash_update(&h, t[i].data, (size_t)t[i].nbytes);
    }
    return lm_hash_final(&h);
}

/* fsync of the directory holding path, so that the rename that published
 * the file is on disk too.  Best effort: some file systems refuse fsync on
 * a directory, and the file itself is already synced. */
static void ck_sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    int fd;

    if (!slash) {
        dir = strdup(".");
    } else {
        size_t len = slash == path ? 1 : (size_t)(slash - path);
        if ((dir = malloc(len + 1))) {
            memcpy(dir, path, len);
            dir[len] = '\0';
        }
    }
    if (!dir)
        return;
    fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

ftsb_status lm_ckpt_save(const char *path, const struct lm_ckpt_meta *meta,
                         const struct lm_ckpt_tensor *t, int32_t n_t,
                         const float *loss, int64_t n_loss,
                         struct lm_err *err)
{
    struct gguf_writer *w = NULL;
    struct ck_tensor_in *in = NULL;
    ftsb_status s;

    if ((s = ck_check_save(meta, t, n_t, loss, n_loss, err)))
        return s;
    if (!(in = malloc(((size_t)n_t + 1) * sizeof *in))) {
        s = ck_nomem(err);
        goto done;
    }
    for (int32_t i = 0; i < n_t; i++) {
        in[i].name = t[i].name;
        in[i].type = GGUF_TENSOR_F32;
        in[i].nelem = (uint64_t)t[i].n;
        in[i].data = t[i].data;
        in[i].nbytes = (uint64_t)t[i].n * sizeof(float);
    }
    if ((s = gguf_writer_new(&w, err)) ||
        (s = gguf_w_str(w, "general.type", CK_TYPE, strlen(CK_TYPE), err)) ||
        (s = gguf_w_u32(w, CK_KEY("version"), LM_CKPT_VERSION, err)) ||
        (s = gguf_w_str(w, CK_KEY("method"), meta->method,
                        strlen(meta->method), err)) ||
        (s = gguf_w_scalar(w, CK_KEY("step"), GGUF_TYPE_INT64, &meta->step,
                           err)) ||
        (s = gguf_w_scalar(w, CK_KEY("epoch"), GGUF_TYPE_INT64, &meta->epoch,
                           err)) ||
        (s = gguf_w_scalar(w, CK_KEY("epoch_pos"), GGUF_TYPE_INT64,
                           &meta->epoch_pos, err)) ||
        (s = gguf_w_u64(w, CK_KEY("seed"), meta->seed, err)) ||
        (s = gguf_w_u64(w, CK_KEY("config_hash"), meta->config_hash, err)) ||
        (meta->config_text &&
         (s = gguf_w_str(w, CK_KEY("config"), meta->config_text,
                         strlen(meta->config_text), err))) ||
        (s = gguf_w_arr(w, CK_KEY("loss"), GGUF_TYPE_FLOAT32, loss,
                        (uint64_t)n_loss, err)) ||
        (s = gguf_w_u64(w, CK_KEY("hash"),
                        ck_hash(meta, loss, n_loss, in, (uint64_t)n_t),
                        err)))
        goto done;
    for (int32_t i = 0; i < n_t; i++) {
        int64_t ne[1] = {t[i].n};
        if ((s = gguf_w_tensor(w, t[i].name, GGUF_TENSOR_F32, 1, ne,
                               t[i].data, (uint64_t)t[i].n * sizeof(float),
                               err))) {
            char inner[sizeof err->msg];
            if (!err)
                goto done;
            memcpy(inner, err->msg, sizeof inner);
            s = lm_fail(err, s, "checkpoint '%s': %s", path, inner);
            goto done;
        }
    }
    if (!(s = gguf_w_save(w, path, err)))
        ck_sync_dir(path);
done:
    gguf_writer_free(w);
    free(in);
    return s;
}

/* ---- reading ------------------------------------------------------------ */

static ftsb_status ck_missing(const struct gguf_file *f, const char *key,
                              struct lm_err *err)
{
    return lm_fail(err, FTSB_E_FORMAT, "checkpoint '%s' has no key '%s': "
                   "the file is damaged or was not written by ftsb's "
                   "trainer; remove it to start the run over", gguf_name(f),
                   key);
}

static ftsb_status ck_int(const struct gguf_file *f, const char *key,
                          int64_t *out, struct lm_err *err)
{
    if (!gguf_find_kv(f, key))
        return ck_missing(f, key, err);
    return gguf_get_int(f, key, 0, INT64_MAX, out, err);
}

static ftsb_status ck_u64(const struct gguf_file *f, const char *key,
                          uint64_t *out, struct lm_err *err)
{
    const struct gguf_kv *kv = gguf_find_kv(f, key);

    if (!kv)
        return ck_missing(f, key, err);
    if (kv->type != GGUF_TYPE_UINT64 || kv->value_size < 8)
        return lm_fail(err, FTSB_E_FORMAT, "checkpoint '%s': key '%s' "
                       "(offset %" PRIu64 ") must be a u64, not %s",
                       gguf_name(f), key, kv->offset,
                       gguf_type_name(kv->type) ? gguf_type_name(kv->type)
                                                : "an unknown type");
    memcpy(out, kv->value, 8); /* the file and the host are little-endian */
    return FTSB_OK;
}

/* A string key as a malloc'ed C string (no NUL inside). */
static ftsb_status ck_str(const struct gguf_file *f, const char *key,
                          char **out, struct lm_err *err)
{
    struct gguf_str s;
    ftsb_status st;

    if (!gguf_find_kv(f, key))
        return ck_missing(f, key, err);
    if ((st = gguf_get_str(f, key, &s, err)))
        return st;
    if (memchr(s.ptr, '\0', s.len))
        return lm_fail(err, FTSB_E_FORMAT, "checkpoint '%s': key '%s' "
                       "contains a NUL byte", gguf_name(f), key);
    if (s.len == SIZE_MAX || !(*out = malloc(s.len + 1)))
        return ck_nomem(err);
    memcpy(*out, s.ptr, s.len);
    (*out)[s.len] = '\0';
    return FTSB_OK;
}

static ftsb_status ck_info(const struct gguf_file *f, struct lm_ckpt_info *o,
                           uint64_t *hash, struct lm_err *err)
{
    const struct gguf_kv *kv;
    struct gguf_str type;
    char shown[GGUF_SHOW_BUF];
    int64_t version;
    ftsb_status s;

    if (!gguf_find_kv(f, "general.type"))
        return lm_fail(err, FTSB_E_FORMAT, "'%s' is not a training "
                       "checkpoint (it has no general.type; a model?): give "
                       "the checkpoint the trainer wrote, or remove it to "
                       "start over", gguf_name(f));
    if ((s = gguf_get_str(f, "general.type", &type, err)))
        return s;
    if (type.len != strlen(CK_TYPE) || memcmp(type.ptr, CK_TYPE, type.len))
        return lm_fail(err, FTSB_E_FORMAT, "'%s' is a file of type '%s' "
                       "(general.type), not a training checkpoint",
                       gguf_name(f), gguf_str_show(type, 40, shown,
                                                   sizeof shown));
    if ((s = ck_int(f, CK_KEY("version"), &version, err)))
        return s;
    if (version != LM_CKPT_VERSION)
        return lm_fail(err, FTSB_E_UNSUPPORTED, "checkpoint '%s' has format "
                       "version %" PRId64 " but this build reads version %d "
                       "only: resume with the ftsb that wrote it, or remove "
                       "it to start over", gguf_name(f), version,
                       LM_CKPT_VERSION);
    o->version = (uint32_t)version;
    if ((s = ck_int(f, CK_KEY("step"), &o->step, err)) ||
        (s = ck_int(f, CK_KEY("epoch"), &o->epoch, err)) ||
        (s = ck_int(f, CK_KEY("epoch_pos"), &o->epoch_pos, err)) ||
        (s = ck_u64(f, CK_KEY("seed"), &o->seed, err)) ||
        (s = ck_u64(f, CK_KEY("config_hash"), &o->config_hash, err)) ||
        (s = ck_u64(f, CK_KEY("hash"), hash, err)) ||
        (s = ck_str(f, CK_KEY("method"), &o->method, err)) ||
        (gguf_find_kv(f, CK_KEY("config")) &&
         (s = ck_str(f, CK_KEY("config"), &o->config_text, err))))
        return s;
    if (!gguf_find_kv(f, CK_KEY("loss")))
        return ck_missing(f, CK_KEY("loss"), err);
    if ((s = gguf_get_arr(f, CK_KEY("loss"), GGUF_TYPE_FLOAT32, &kv, err)))
        return s;
    /* the reader checked count * 4 against the bytes in the file */
    if (kv->count > (uint64_t)(INT64_MAX / 4) ||
        kv->count > SIZE_MAX / sizeof(float))
        return ck_nomem(err);
    if (kv->count) {
        if (!(o->loss = malloc((size_t)kv->count * sizeof(float))))
            return ck_nomem(err);
        if ((s = gguf_arr_f32(f, kv, o->loss, err)))
            return s;
    }
    o->n_loss = (int64_t)kv->count;
    o->n_tensors = (int64_t)gguf_n_tensors(f);
    return FTSB_OK;
}

void lm_ckpt_info_free(struct lm_ckpt_info *info)
{
    if (!info)
        return;
    free(info->method);
    free(info->config_text);
    free(info->loss);
    memset(info, 0, sizeof *info);
}

ftsb_status lm_ckpt_read_info(const char *path, struct lm_ckpt_info *out,
                              struct lm_err *err)
{
    struct gguf_file *f;
    uint64_t hash;
    ftsb_status s;

    memset(out, 0, sizeof *out);
    if ((s = gguf_open(path, &f, err)))
        return s;
    s = ck_info(f, out, &hash, err);
    gguf_close(f);
    if (s)
        lm_ckpt_info_free(out);
    return s;
}

/* ---- what changed --------------------------------------------------------- */

/* The next "key=value" line of text at *p: key [k, k+kl), value [v, v+vl).
 * Lines without '=' have an empty value.  False at the end. */
static bool ck_line(const char **p, const char **k, size_t *kl,
                    const char **v, size_t *vl)
{
    const char *s = *p, *end, *eq;

    while (*s == '\n')
        s++;
    if (!*s)
        return false;
    end = strchr(s, '\n');
    if (!end)
        end = s + strlen(s);
    eq = memchr(s, '=', (size_t)(end - s));
    *k = s;
    *kl = eq ? (size_t)(eq - s) : (size_t)(end - s);
    *v = eq ? eq + 1 : end;
    *vl = (size_t)(end - *v);
    *p = end;
    return true;
}

/* The value of key in text, or NULL. */
static const char *ck_lookup(const char *text, const char *key, size_t kl,
                             size_t *vl)
{
    const char *p = text, *k, *v;
    size_t l;

    while (ck_line(&p, &k, &l, &v, vl))
        if (l == kl && !memcmp(k, key, kl))
            return v;
    return NULL;
}

struct ck_diff {
    char *buf;
    size_t size, len;
    int shown, more;
};

static void ck_diff_add(struct ck_diff *d, const char *k, size_t kl,
                        const char *a, size_t al, const char *b, size_t bl)
{
    char ks[GGUF_SHOW_BUF], as[GGUF_SHOW_BUF], bs[GGUF_SHOW_BUF];
    int n;

    if (d->shown >= 6) {
        d->more++;
        return;
    }
    gguf_str_show((struct gguf_str){k, kl}, 40, ks, sizeof ks);
    gguf_str_show((struct gguf_str){a ? a : "", a ? al : 0}, 40, as,
                  sizeof as);
    gguf_str_show((struct gguf_str){b ? b : "", b ? bl : 0}, 40, bs,
                  sizeof bs);
    n = snprintf(d->buf + d->len, d->size - d->len, "%s%s %s -> %s",
                 d->shown ? ", " : "", ks, a ? as : "(unset)",
                 b ? bs : "(unset)");
    if (n > 0)
        d->len += (size_t)n < d->size - d->len ? (size_t)n
                                                : d->size - d->len - 1;
    d->shown++;
}

/* "lr 5e-05 -> 2e-05, batch 10 -> 16" for the settings of old and new
 * that differ, or "" when the lines agree. */
static void ck_diff_text(const char *old, const char *new_, char *buf,
                         size_t size)
{
    struct ck_diff d = {buf, size, 0, 0, 0};
    const char *p = old, *k, *v, *w;
    size_t kl, vl, wl;

    buf[0] = '\0';
    while (ck_line(&p, &k, &kl, &v, &vl)) {
        w = ck_lookup(new_, k, kl, &wl);
        if (!w || wl != vl || memcmp(v, w, vl))
            ck_diff_add(&d, k, kl, v, vl, w, wl);
    }
    p = new_;
    while (ck_line(&p, &k, &kl, &w, &wl))
        if (!ck_lookup(old, k, kl, &vl))
            ck_diff_add(&d, k, kl, NULL, 0, w, wl);
    if (d.more && d.len < size)
        snprintf(buf + d.len, size - d.len, " and %d more", d.more);
}

static ftsb_status ck_check_run(const char *path,
                                const struct lm_ckpt_info *o,
                                const struct lm_ckpt_meta *e,
                                struct lm_err *err)
{
    static const char start_over[] = "restore the settings of that run to "
        "resume it, or remove the checkpoint (or use another output "
        "directory) to start over";
    char a[GGUF_SHOW_BUF], diff[600];

    if (!e->method || strcmp(o->method, e->method) != 0)
        return lm_fail(err, FTSB_E_INVALID, "checkpoint '%s' is from a '%s' "
                       "run but this run is '%s': %s", path,
                       gguf_str_show((struct gguf_str){o->method,
                                                       strlen(o->method)},
                                     40, a, sizeof a),
                       e->method ? e->method : "", start_over);
    if (o->seed != e->seed)
        return lm_fail(err, FTSB_E_INVALID, "checkpoint '%s' was written "
                       "with shuffle seed %" PRIu64 " but this run has seed "
                       "%" PRIu64 ": %s", path, o->seed, e->seed, start_over);
    if (o->config_hash == e->config_hash)
        return FTSB_OK;
    diff[0] = '\0';
    if (o->config_text && e->config_text)
        ck_diff_text(o->config_text, e->config_text, diff, sizeof diff);
    if (diff[0])
        return lm_fail(err, FTSB_E_INVALID, "checkpoint '%s' was written "
                       "with another configuration (%s): %s", path, diff,
                       start_over);
    return lm_fail(err, FTSB_E_INVALID, "checkpoint '%s': the configuration, "
                   "the training data or the base model changed since the "
                   "checkpoint was written%s: %s", path,
                   o->config_text && e->config_text
                       ? " (the settings it lists are the same, so the data "
                         "or the model differ)"
                       : "",
                   start_over);
}

/* Every expected tensor present once, F32, 1-D, of its size; no other. */
static ftsb_status ck_check_tensors(const struct gguf_file *f,
                                    const struct lm_ckpt_tensor *t,
                                    int32_t n_t, struct lm_err *err)
{
    const char *p = gguf_name(f);

    for (int32_t i = 0; i < n_t; i++) {
        const struct gguf_tensor *g;
        if (!t[i].name || !t[i].data || t[i].n < 1)
            return lm_fail(err, FTSB_E_INVALID, "checkpoint: expected "
                           "tensor %d has no name, no buffer or no size (a "
                           "caller bug)", (int)i);
        for (int32_t j = 0; j < i; j++)
            if (!strcmp(t[j].name, t[i].name))
                return lm_fail(err, FTSB_E_INVALID, "checkpoint: tensor "
                               "'%.64s' is expected twice (a caller bug)",
                               t[i].name);
        if (!(g = gguf_find_tensor(f, t[i].name)))
            return lm_fail(err, FTSB_E_INVALID, "checkpoint '%s' has no "
                           "tensor '%.64s': it was written for another model "
                           "or training method; remove it to start over",
                           p, t[i].name);
        if (g->type != GGUF_TENSOR_F32 || g->n_dims != 1 ||
            g->ne[0] != t[i].n)
            return lm_fail(err, FTSB_E_INVALID, "checkpoint '%s': tensor "
                           "'%s' is %s with %" PRIu64 " values in %u "
                           "dimension(s) but this run needs F32 with %" PRId64
                           " values in 1: it was written for another model "
                           "or training method; remove it to start over", p,
                           g->name, gguf_tensor_type_name(g->type)
                                        ? gguf_tensor_type_name(g->type)
                                        : "of an unknown type",
                           g->nelem, (unsigned)g->n_dims, t[i].n);
    }
    if (gguf_n_tensors(f) != (uint64_t)n_t) {
        /* every expected one is there, so some other one is extra */
        for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
            const char *name = gguf_tensor_at(f, i)->name;
            bool known = false;
            for (int32_t j = 0; j < n_t && !known; j++)
                known = !strcmp(name, t[j].name);
            if (!known)
                return lm_fail(err, FTSB_E_INVALID, "checkpoint '%s' has "
                               "tensor '%s', which this run does not train: "
                               "it was written for another model or training "
                               "method; remove it to start over", p, name);
        }
        return lm_fail(err, FTSB_E_INTERNAL, "checkpoint '%s': tensor "
                       "count mismatch", p);
    }
    return FTSB_OK;
}

/* Checks the content hash of an open checkpoint whose metadata is o. */
static ftsb_status ck_verify(const struct gguf_file *f,
                             const struct lm_ckpt_info *o, uint64_t want,
                             struct lm_err *err)
{
    uint64_t n = gguf_n_tensors(f);
    struct ck_tensor_in *in;
    ftsb_status s = FTSB_OK;

    if (n > SIZE_MAX / sizeof *in - 1 || !(in = malloc(((size_t)n + 1) *
                                                        sizeof *in)))
        return ck_nomem(err);
    for (uint64_t i = 0; !s && i < n; i++) {
        const struct gguf_tensor *g = gguf_tensor_at(f, i);
        in[i].name = g->name;
        in[i].type = g->type;
        in[i].nelem = g->nelem;
        in[i].nbytes = g->nbytes;
        s = gguf_tensor_data(f, g, &in[i].data, err);
    }
    if (!s) {
        struct lm_ckpt_meta m = {o->step, o->epoch, o->epoch_pos, o->seed,
                                 o->config_hash, o->method, o->config_text};
        if (ck_hash(&m, o->loss, o->n_loss, in, n) != want)
            s = lm_fail(err, FTSB_E_FORMAT, "checkpoint '%s' is damaged: "
                        "its content does not match the hash written with "
                        "it; remove it to start over (or restore a backup)",
                        gguf_name(f));
    }
    free(in);
    return s;
}

ftsb_status lm_ckpt_load(const char *path, const struct lm_ckpt_meta *expect,
                         const struct lm_ckpt_tensor *t, int32_t n_t,
                         struct lm_ckpt_info *out, struct lm_err *err)
{
    struct lm_ckpt_info info = {0};
    struct gguf_file *f;
    uint64_t want_hash;
    ftsb_status s;

    if (out)
        memset(out, 0, sizeof *out);
    if (n_t < 0 || !expect)
        return lm_fail(err, FTSB_E_INVALID, "checkpoint: negative tensor "
                       "count or no expected run (a caller bug)");
    if ((s = gguf_open(path, &f, err)))
        return s;
    /* damage first: a flipped byte should not pose as another setting */
    if ((s = ck_info(f, &info, &want_hash, err)) ||
        (s = ck_verify(f, &info, want_hash, err)) ||
        (s = ck_check_run(path, &info, expect, err)) ||
        (s = ck_check_tensors(f, t, n_t, err)))
        goto done;
    for (int32_t i = 0; i < n_t; i++) {
        const void *src;
        if ((s = gguf_tensor_data(f, gguf_find_tensor(f, t[i].name), &src,
                                  err)))
            goto done;
        memcpy(t[i].data, src, (size_t)t[i].n * sizeof(float));
    }
done:
    gguf_close(f);
    if (s || !out)
        lm_ckpt_info_free(&info);
    else
        *out = info;
    return s;
}
