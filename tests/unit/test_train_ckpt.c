/*
 * test_train_ckpt.c - training checkpoints (src/train_ckpt.c): a round
 * trip of tensors, counters and loss history; refusal, with the caller's
 * buffers untouched, of a checkpoint of another run (tensor names, sizes,
 * extra tensors, method, seed, configuration with and without the
 * "key=value" description), of damaged files (truncated at every length,
 * every byte flipped: each load fails or returns exactly what was saved)
 * and of files that are not checkpoints (a model, every file of the GGUF
 * fuzz corpus); a stale "<path>.tmp" left by a killed save is ignored and
 * replaced by the next save.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fp16.h"
#include "random_model.h"
#include "test.h"
#include "train_ckpt.h"

static char dir[400];

static const char *tmp(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

enum { NT = 3 };
static const int64_t sizes[NT] = {1, 100, 1000};
static const char *const names[NT] = {"blk.0.attn_q.weight",
                                      "adam_m.blk.0.attn_q.weight",
                                      "adam_v.blk.0.attn_q.weight"};
static float *src[NT];
static const float loss[7] = {2.5f, 2.25f, 2.0f, 1.75f, 1.5f, 1.25f, 1.0f};
static const char cfg_text[] = "lr=5e-05\nbatch=10\nepochs=5\nmodel=abc\n";

static struct lm_ckpt_meta meta(void)
{
    struct lm_ckpt_meta m = {7, 2, 1, 42, 0x1234567890abcdefu, "full",
                             cfg_text};
    return m;
}

static void fill_tensors(struct lm_ckpt_tensor *t, float **bufs, float v)
{
    for (int i = 0; i < NT; i++) {
        for (int64_t k = 0; k < sizes[i]; k++)
            bufs[i][k] = v;
        t[i].name = names[i];
        t[i].data = bufs[i];
        t[i].n = sizes[i];
    }
}

static float **alloc_bufs(void)
{
    float **b = calloc(NT, sizeof *b);
    for (int i = 0; i < NT; i++)
        b[i] = malloc((size_t)sizes[i] * sizeof(float));
    return b;
}

static void free_bufs(float **b)
{
    for (int i = 0; i < NT; i++)
        free(b[i]);
    free(b);
}

/* Every value of the buffers is v: nothing was copied into them. */
static int untouched(float **b, float v)
{
    for (int i = 0; i < NT; i++)
        for (int64_t k = 0; k < sizes[i]; k++)
            if (b[i][k] != v)
                return 0;
    return 1;
}

static int equal_src(float **b)
{
    for (int i = 0; i < NT; i++)
        if (memcmp(b[i], src[i], (size_t)sizes[i] * sizeof(float)))
            return 0;
    return 1;
}

static ftsb_status save_good(const char *path)
{
    struct lm_ckpt_tensor t[NT];
    struct lm_ckpt_meta m = meta();
    struct lm_err e = {0};
    ftsb_status s;

    for (int i = 0; i < NT; i++) {
        t[i].name = names[i];
        t[i].data = src[i];
        t[i].n = sizes[i];
    }
    s = lm_ckpt_save(path, &m, t, NT, loss, 7, &e);
    if (s)
        printf("  save: %s\n", e.msg);
    return s;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) &&
        fread(buf, 1, (size_t)n, f) == (size_t)n)
        *len = (size_t)n;
    else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static int write_all(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(p, 1, n, f) == n;
    if (f && fclose(f) != 0)
        ok = 0;
    return ok;
}

TEST(round_trip)
{
    const char *path = tmp("good.ckpt");
    float **b = alloc_bufs();
    struct lm_ckpt_tensor t[NT];
    struct lm_ckpt_meta m = meta();
    struct lm_ckpt_info info;
    struct lm_err e = {0};

    CHECK_INT(save_good(path), FTSB_OK);
    CHECK(access(tmp("good.ckpt.tmp"), F_OK) != 0);
    fill_tensors(t, b, -1.0f);
    CHECK_INT(lm_ckpt_load(path, &m, t, NT, &info, &e), FTSB_OK);
    CHECK(equal_src(b));
    CHECK_INT(info.version, LM_CKPT_VERSION);
    CHECK_INT(info.step, 7);
    CHECK_INT(info.epoch, 2);
    CHECK_INT(info.epoch_pos, 1);
    CHECK(info.seed == 42);
    CHECK(info.config_hash == 0x1234567890abcdefu);
    CHECK_STR(info.method, "full");
    CHECK_STR(info.config_text, cfg_text);
    CHECK_INT(info.n_loss, 7);
    CHECK_INT(info.n_tensors, NT);
    CHECK(info.loss && !memcmp(info.loss, loss, sizeof loss));
    lm_ckpt_info_free(&info);

    /* metadata alone */
    CHECK_INT(lm_ckpt_read_info(path, &info, &e), FTSB_OK);
    CHECK_INT(info.step, 7);
    CHECK_STR(info.method, "full");
    lm_ckpt_info_free(&info);

    /* no loss history, no description, out = NULL */
    m.config_text = NULL;
    m.step = 0;
    fill_tensors(t, b, 3.0f);
    CHECK_INT(lm_ckpt_save(path, &m, t, NT, NULL, 0, &e), FTSB_OK);
    fill_tensors(t, b, 0.0f);
    CHECK_INT(lm_ckpt_load(path, &m, t, NT, NULL, &e), FTSB_OK);
    CHECK(untouched(b, 3.0f));
    CHECK_INT(lm_ckpt_read_info(path, &info, &e), FTSB_OK);
    CHECK(info.config_text == NULL && info.loss == NULL && info.n_loss == 0);
    lm_ckpt_info_free(&info);
    free_bufs(b);
}

/* Loads the good checkpoint into fresh buffers of the sizes and names of
 * t[0..n_t) expecting m; wants code, a message containing want (and
 * want2), and buffers still as they were. */
static void refuse(const struct lm_ckpt_tensor *t, int n_t,
                   const struct lm_ckpt_meta *m, ftsb_status code,
                   const char *want, const char *want2)
{
    struct lm_ckpt_tensor tt[NT + 1];
    struct lm_ckpt_info info;
    struct lm_err e = {0};

    for (int i = 0; i < n_t; i++) {
        tt[i] = t[i];
        tt[i].data = malloc((size_t)t[i].n * sizeof(float));
        for (int64_t k = 0; k < tt[i].n; k++)
            tt[i].data[k] = 9.0f;
    }
    CHECK_INT(lm_ckpt_load(tmp("good.ckpt"), m, tt, n_t, &info, &e), code);
    CHECK_CONTAINS(e.msg, want);
    if (want2)
        CHECK_CONTAINS(e.msg, want2);
    for (int i = 0; i < n_t; i++) {
        int ok = 1;
        for (int64_t k = 0; k < tt[i].n; k++)
            ok &= tt[i].data[k] == 9.0f;
        CHECK(ok);
        free(tt[i].data);
    }
    CHECK(info.method == NULL && info.loss == NULL);
}

TEST(refusals)
{
    struct lm_ckpt_tensor t[NT + 1];
    struct lm_ckpt_meta m = meta();

    CHECK_INT(save_good(tmp("good.ckpt")), FTSB_OK);
    for (int i = 0; i < NT; i++) {
        t[i].name = names[i];
        t[i].data = NULL;
        t[i].n = sizes[i];
    }
    /* a tensor of another name */
    t[1].name = "adam_m.blk.0.attn_k.weight";
    refuse(t, NT, &m, FTSB_E_INVALID, "has no tensor "
           "'adam_m.blk.0.attn_k.weight'", "remove it to start over");
    t[1].name = names[1];
    /* one fewer: the file has one this run does not train */
    refuse(t, NT - 1, &m, FTSB_E_INVALID, "has tensor "
           "'adam_v.blk.0.attn_q.weight', which this run does not train",
           NULL);
    /* one more */
    t[NT].name = "blk.1.attn_q.weight";
    t[NT].n = 4;
    refuse(t, NT + 1, &m, FTSB_E_INVALID, "has no tensor "
           "'blk.1.attn_q.weight'", NULL);
    /* another size */
    t[2].n = 999;
    refuse(t, NT, &m, FTSB_E_INVALID, "tensor 'adam_v.blk.0.attn_q.weight' "
           "is F32 with 1000 values", "needs F32 with 999 values");
    t[2].n = sizes[2];
    /* a name twice */
    t[2].name = names[0];
    refuse(t, NT, &m, FTSB_E_INVALID, "is expected twice", NULL);
    t[2].name = names[2];

    /* another configuration, described */
    m.config_hash ^= 1;
    m.config_text = "lr=2e-05\nbatch=10\nmodel=abc\nwarmup=3\n";
    refuse(t, NT, &m, FTSB_E_INVALID, "with another configuration (lr "
           "5e-05 -> 2e-05, epochs 5 -> (unset), warmup (unset) -> 3)",
           "restore the settings of that run to resume it, or remove the "
           "checkpoint");
    /* the same description: the data or the model changed */
    m.config_text = cfg_text;
    refuse(t, NT, &m, FTSB_E_INVALID, "the configuration, the training data "
           "or the base model changed since the checkpoint was written (the "
           "settings it lists are the same", NULL);
    /* no description */
    m.config_text = NULL;
    refuse(t, NT, &m, FTSB_E_INVALID, "changed since the checkpoint was "
           "written: restore", NULL);
    m = meta();
    m.method = "lora";
    refuse(t, NT, &m, FTSB_E_INVALID, "is from a 'full' run but this run is "
           "'lora'", NULL);
    m = meta();
    m.seed = 43;
    refuse(t, NT, &m, FTSB_E_INVALID, "shuffle seed 42 but this run has "
           "seed 43", NULL);
}

TEST(not_checkpoints)
{
    struct lm_random_shape shape;
    struct lm_ckpt_tensor t[NT];
    struct lm_ckpt_meta m = meta();
    struct lm_ckpt_info info;
    struct lm_err e = {0};
    float **b = alloc_bufs();

    fill_tensors(t, b, 1.0f);
    CHECK_INT(lm_random_shape_named("tiny", &shape, &e), FTSB_OK);
    CHECK_INT(lm_random_model_write(tmp("model.gguf"), &shape, LM_F32, 1,
                                    NULL, &e), FTSB_OK);
    CHECK_INT(lm_ckpt_load(tmp("model.gguf"), &m, t, NT, &info, &e),
              FTSB_E_FORMAT);
    CHECK_CONTAINS(e.msg, "is not a training checkpoint");
    CHECK_INT(lm_ckpt_read_info(tmp("model.gguf"), &info, &e),
              FTSB_E_FORMAT);
    CHECK_INT(lm_ckpt_load(tmp("absent.ckpt"), &m, t, NT, &info, &e),
              FTSB_E_IO);
    CHECK_CONTAINS(e.msg, "absent.ckpt");
    CHECK(untouched(b, 1.0f));
    unlink(tmp("model.gguf"));
    free_bufs(b);
}

TEST(damage)
{
    const char *good = tmp("good.ckpt"), *bad = tmp("bad.ckpt");
    struct lm_ckpt_tensor t[NT];
    struct lm_ckpt_meta m = meta();
    struct lm_err e = {0};
    float **b = alloc_bufs();
    size_t len = 0;
    char *bytes;
    int n_ok = 0, n_fail = 0, n_damaged = 0;

    CHECK_INT(save_good(good), FTSB_OK);
    bytes = read_all(good, &len);
    CHECK(bytes && len > 4000);
    if (!bytes)
        return;
    /* truncated anywhere: refused */
    for (size_t cut = 0; cut < len; cut += cut < 600 ? 1 : 97) {
        fill_tensors(t, b, 5.0f);
        CHECK(write_all(bad, bytes, cut));
        ftsb_status s = lm_ckpt_load(bad, &m, t, NT, NULL, &e);
        if (s == FTSB_OK)
            printf("  truncated at %zu loads\n", cut);
        CHECK(s != FTSB_OK);
        CHECK(untouched(b, 5.0f));
    }
    /* any byte flipped: refused, or (padding) exactly the saved data */
    for (size_t at = 0; at < len; at += at < 900 ? 1 : 13) {
        struct lm_ckpt_info info;
        bytes[at] ^= 0x24;
        CHECK(write_all(bad, bytes, len));
        bytes[at] ^= 0x24;
        fill_tensors(t, b, 5.0f);
        ftsb_status s = lm_ckpt_load(bad, &m, t, NT, &info, &e);
        if (s == FTSB_OK) {
            n_ok++;
            CHECK(equal_src(b));
            CHECK(info.step == 7 && info.n_loss == 7 &&
                  !memcmp(info.loss, loss, sizeof loss));
            lm_ckpt_info_free(&info);
        } else {
            n_fail++;
            n_damaged += strstr(e.msg, "is damaged") != NULL;
            CHECK(untouched(b, 5.0f));
        }
    }
    printf("  byte flips: %d refused (%d by the hash), %d harmless\n",
           n_fail, n_damaged, n_ok);
    CHECK(n_damaged > 0);
    unlink(bad);
    free(bytes);
    free_bufs(b);
}

TEST(tmp_leftover)
{
    const char *path = tmp("ck.gguf"), *left = tmp("ck.gguf.tmp");
    struct lm_ckpt_tensor t[NT];
    struct lm_ckpt_meta m = meta();
    struct lm_err e = {0};
    float **b = alloc_bufs();
    size_t len = 0;
    char *bytes;

    /* a save killed half way: the previous checkpoint and a partial .tmp */
    CHECK_INT(save_good(path), FTSB_OK);
    bytes = read_all(path, &len);
    CHECK(bytes && write_all(left, bytes, len / 2));
    fill_tensors(t, b, 0.0f);
    CHECK_INT(lm_ckpt_load(path, &m, t, NT, NULL, &e), FTSB_OK);
    CHECK(equal_src(b));
    /* the next save replaces the leftover and leaves none */
    m.step = 8;
    CHECK_INT(lm_ckpt_save(path, &m, t, NT, loss, 7, &e), FTSB_OK);
    CHECK(access(left, F_OK) != 0);
    CHECK_INT(lm_ckpt_load(path, &m, t, NT, NULL, &e), FTSB_OK);
    unlink(path);
    free(bytes);
    free_bufs(b);
}

TEST(save_errors)
{
    struct lm_ckpt_tensor t[NT];
    struct lm_ckpt_meta m = meta();
    struct lm_err e = {0};
    float **b = alloc_bufs();
    const char *path = tmp("err.ckpt");

    fill_tensors(t, b, 1.0f);
    t[1].name = "a.name.that.is.far.too.long.for.a.gguf.tensor.name."
                "because.it.has.more.than.63.bytes";
    CHECK_INT(lm_ckpt_save(path, &m, t, NT, loss, 7, &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "err.ckpt");
    t[1].name = t[0].name;
    CHECK_INT(lm_ckpt_save(path, &m, t, NT, loss, 7, &e), FTSB_E_INVALID);
    t[1].name = names[1];
    t[1].n = 0;
    CHECK_INT(lm_ckpt_save(path, &m, t, NT, loss, 7, &e), FTSB_E_INVALID);
    CHECK_CONTAINS(e.msg, "tensor 1");
    t[1].n = sizes[1];
    m.method = "";
    CHECK_INT(lm_ckpt_save(path, &m, t, NT, loss, 7, &e), FTSB_E_INVALID);
    m = meta();
    m.step = -1;
    CHECK_INT(lm_ckpt_save(path, &m, t, NT, loss, 7, &e), FTSB_E_INVALID);
    m = meta();
    CHECK_INT(lm_ckpt_save(path, &m, t, NT, NULL, 7, &e), FTSB_E_INVALID);
    CHECK_INT(lm_ckpt_save(tmp("no/such/dir.ckpt"), &m, t, NT, loss, 7, &e),
              FTSB_E_IO);
    CHECK(access(path, F_OK) != 0);
    free_bufs(b);
}

/* Every file of the GGUF fuzz corpus is refused as a checkpoint. */
TEST(fuzz_corpus)
{
    const char *root = getenv("FTSB_TEST_DIR");
    char cdir[600];
    struct lm_ckpt_tensor t[NT];
    struct lm_ckpt_meta m = meta();
    float **b = alloc_bufs();
    struct dirent *d;
    DIR *dp;
    int n = 0;

    if (!root) {
        free_bufs(b);
        SKIP("FTSB_TEST_DIR is not set");
    }
    snprintf(cdir, sizeof cdir, "%s/fuzz/corpus/gguf", root);
    if (!(dp = opendir(cdir))) {
        free_bufs(b);
        SKIP("no corpus at %s", cdir);
    }
    while ((d = readdir(dp))) {
        char path[1200];
        struct lm_ckpt_info info;
        struct lm_err e = {0};
        if (d->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", cdir, d->d_name);
        fill_tensors(t, b, 2.0f);
        ftsb_status s1 = lm_ckpt_load(path, &m, t, NT, &info, &e);
        ftsb_status s2 = lm_ckpt_read_info(path, &info, &e);
        if (s1 == FTSB_OK || s2 == FTSB_OK)
            printf("  %s was accepted\n", d->d_name);
        CHECK(s1 != FTSB_OK && s2 != FTSB_OK);
        CHECK(untouched(b, 2.0f));
        n++;
    }
    closedir(dp);
    printf("  %d corpus files refused\n", n);
    CHECK(n > 10);
    free_bufs(b);
}

int main(void)
{
    uint64_t r = 0x9e3779b97f4a7c15u;

    snprintf(dir, sizeof dir, "%s/ftsb_train_ckpt_%d",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    if (mkdir(dir, 0700) != 0) {
        printf("cannot create %s\n", dir);
        return 1;
    }
    for (int i = 0; i < NT; i++) {
        src[i] = malloc((size_t)sizes[i] * sizeof(float));
        for (int64_t k = 0; k < sizes[i]; k++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            src[i][k] = (float)((double)(r >> 11) * 0x1p-53 - 0.5);
        }
    }
    RUN(round_trip);
    RUN(refusals);
    RUN(not_checkpoints);
    RUN(damage);
    RUN(tmp_leftover);
    RUN(save_errors);
    RUN(fuzz_corpus);
    unlink(tmp("good.ckpt"));
    unlink(tmp("err.ckpt"));
    rmdir(dir);
    for (int i = 0; i < NT; i++)
        free(src[i]);
    return test_summary();
}
