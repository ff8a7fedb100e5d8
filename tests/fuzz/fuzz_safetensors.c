/*
 * fuzz_safetensors.c - libFuzzer target for the safetensors reader and
 * writer and the PEFT adapter loader behind them.  Any input must be
 * rejected with FTSB_E_FORMAT and no file, or parse into tensors whose
 * ranges lie in the data section, tile it, match their dtype and shape,
 * and can be found by name; written back by the writer, the file must
 * parse again to the same names, dtypes, shapes, bytes and metadata (a
 * mismatch traps, so the fuzzer reports it).  A parsed file is then
 * offered to the PEFT loader for a small fixed base model, with the
 * config taken from the file's own "fuzz_config" metadata when present
 * (so the fuzzer mutates the config too) or a fixed one.  Inputs that
 * start with "GGUF" go to the other adapter format instead: the GGUF LoRA
 * loader, with and without the base, and a loaded adapter is saved and
 * loaded again.  Seeds: tests/fuzz/corpus/safetensors/; dictionary:
 * tests/data/safetensors/fuzz.dict.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "gguf.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct lm_adapter_base fuzz_base = {
    .arch = "llama", .n_layer = 2, .n_embd = 8, .n_ff = 12,
    .n_head = 2, .n_head_kv = 1, .head_dim = 4,
};

static const char fuzz_config[] =
    "{\"peft_type\": \"LORA\", \"lora_alpha\": 4, \"target_modules\": "
    "[\"q_proj\", \"k_proj\", \"v_proj\", \"o_proj\", \"gate_proj\", "
    "\"up_proj\", \"down_proj\"]}";

static void check_tensors(const struct st_file *f)
{
    struct lm_err err;
    uint64_t expected = 0;
    volatile uint8_t sink = 0;

    for (size_t i = 0; i < st_n_tensors(f); i++) {
        const struct st_tensor *t = st_tensor_at(f, i);
        uint64_t n = 1, nbytes;
        const uint8_t *raw = st_tensor_raw(f, t);

        for (uint32_t d = 0; d < t->n_dims; d++)
            n *= t->shape[d];
        if (n != t->nelem || !st_dtype_nbytes(t->dtype, n, &nbytes) ||
            t->begin != expected || t->end - t->begin != nbytes ||
            t->end > st_data_size(f) || st_find(f, t->name) != t)
            __builtin_trap();
        expected = t->end;
        if (nbytes)
            sink ^= raw[0] ^ raw[nbytes - 1];
        if (t->nelem <= (1u << 16) &&
            (t->dtype == ST_F32 || t->dtype == ST_F16 || t->dtype == ST_BF16)) {
            float *out = malloc((size_t)t->nelem * sizeof *out + 1);
            if (out && st_tensor_f32(f, t, out, t->nelem, &err) != FTSB_OK)
                __builtin_trap();
            free(out);
        }
    }
    if (expected != st_data_size(f))
        __builtin_trap();
    for (size_t i = 0; i < st_n_meta(f); i++) {
        const struct st_meta *m = st_meta_at(f, i);
        if (st_get_meta(f, m->key) != m->value)
            __builtin_trap();
    }
    (void)sink;
}

/* Rewriting a parsed file must give a file that parses the same way. */
static void rewrite(const struct st_file *f)
{
    struct lm_err err;
    struct st_writer *w = NULL;
    struct st_file *g = NULL;
    uint8_t *mem = NULL;
    size_t size = 0;
    int ok = 1;

    if (st_writer_new(&w, &err))
        return;
    for (size_t i = 0; ok && i < st_n_meta(f); i++)
        ok = st_w_meta(w, st_meta_at(f, i)->key, st_meta_at(f, i)->value,
                       &err) == FTSB_OK;
    for (size_t i = 0; ok && i < st_n_tensors(f); i++) {
        const struct st_tensor *t = st_tensor_at(f, i);
        ok = st_w_tensor(w, t->name, t->dtype, t->n_dims, t->shape,
                         st_tensor_raw(f, t), t->end - t->begin,
                         &err) == FTSB_OK;
    }
    /* Everything a reader accepts, the writer must accept. */
    if (!ok)
        __builtin_trap();
    if (st_w_save_mem(w, &mem, &size, &err) == FTSB_OK) {
        if (st_open_mem(mem, size, "rewrite", &g, &err) != FTSB_OK ||
            st_n_tensors(g) != st_n_tensors(f) || st_n_meta(g) != st_n_meta(f))
            __builtin_trap();
        for (size_t i = 0; i < st_n_tensors(f); i++) {
            const struct st_tensor *t = st_tensor_at(f, i);
            const struct st_tensor *u = st_find(g, t->name);
            if (!u || u->dtype != t->dtype || u->n_dims != t->n_dims ||
                (t->n_dims &&
                 memcmp(u->shape, t->shape, t->n_dims * sizeof *t->shape)) ||
                u->end - u->begin != t->end - t->begin ||
                memcmp(st_tensor_raw(g, u), st_tensor_raw(f, t),
                       (size_t)(t->end - t->begin)) != 0)
                __builtin_trap();
        }
        for (size_t i = 0; i < st_n_meta(f); i++) {
            const char *v = st_get_meta(g, st_meta_at(f, i)->key);
            if (!v || strcmp(v, st_meta_at(f, i)->value) != 0)
                __builtin_trap();
        }
        st_close(g);
        free(mem);
    }
    st_writer_free(w);
}

static void as_peft(const struct st_file *f)
{
    struct lm_err err;
    struct lm_adapter *ad = NULL;
    const char *cfg = st_get_meta(f, "fuzz_config");
    ftsb_status s;

    if (!cfg)
        cfg = fuzz_config;
    s = lm_adapter_from_peft(f, cfg, strlen(cfg), "fuzz_config", &fuzz_base,
                             &ad, &err);
    if (s == FTSB_OK) {
        if (!ad || lm_adapter_check(ad, &fuzz_base, &err) != FTSB_OK)
            __builtin_trap();
        lm_adapter_free(ad);
    } else if (ad || (s != FTSB_E_FORMAT && s != FTSB_E_UNSUPPORTED &&
                      s != FTSB_E_INVALID)) {
        __builtin_trap();
    }
}

/* The GGUF LoRA loader; what loads must fit the base it was checked
 * against. */
static void as_gguf(const uint8_t *data, size_t size)
{
    struct lm_err err;
    struct gguf_file *g = NULL;
    struct lm_adapter *ad = NULL;
    ftsb_status s;

    if (gguf_open_mem(data, size, "fuzz.gguf", &g, &err) != FTSB_OK)
        return;
    for (int with_base = 0; with_base < 2; with_base++) {
        const struct lm_adapter_base *b = with_base ? &fuzz_base : NULL;
        s = lm_adapter_from_gguf(g, b, &ad, &err);
        if (s == FTSB_OK) {
            if (!ad || ad->rank < 1 || ad->n_layer < 1 ||
                (b && lm_adapter_check(ad, b, &err) != FTSB_OK))
                __builtin_trap();
            lm_adapter_free(ad);
            ad = NULL;
        } else if (ad || (s != FTSB_E_FORMAT && s != FTSB_E_UNSUPPORTED &&
                          s != FTSB_E_INVALID)) {
            __builtin_trap();
        }
    }
    gguf_close(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lm_err err;
    struct st_file *f = NULL;

    if (size >= 4 && memcmp(data, "GGUF", 4) == 0) {
        as_gguf(data, size);
        return 0;
    }
    if (st_open_mem(data, size, "fuzz", &f, &err) != FTSB_OK) {
        if (f || err.code != FTSB_E_FORMAT || !err.msg[0])
            __builtin_trap();
        return 0;
    }
    check_tensors(f);
    rewrite(f);
    as_peft(f);
    st_close(f);
    return 0;
}
