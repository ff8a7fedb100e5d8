/*
 * fuzz_gguf.c - libFuzzer target for the GGUF reader, the vocabulary
 * loader and the writer.  Any input must be rejected cleanly or parsed
 * into something every accessor can walk; a parsed file written back
 * must parse again with the same keys and tensors (a mismatch traps, so
 * the fuzzer reports it).  Seeds: tests/fuzz/corpus/gguf/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk_kvs(const struct gguf_file *f)
{
    struct lm_err err;
    char desc[256];

    for (uint64_t i = 0; i < gguf_n_kv(f); i++) {
        const struct gguf_kv *kv = gguf_kv_at(f, i);
        int64_t x;
        gguf_kv_describe(kv, desc, sizeof desc);
        gguf_kv_int(f, kv, &x, &err);
        if (kv->type == GGUF_TYPE_ARRAY && kv->count <= (1u << 20)) {
            void *buf = malloc(kv->count * 16 + 16);
            if (!buf)
                continue;
            gguf_arr_str(f, kv, buf, &err);
            gguf_arr_f32(f, kv, buf, &err);
            gguf_arr_int(f, kv, buf, &err);
            gguf_arr_i32(f, kv, buf, &err);
            free(buf);
        }
    }
}

static void walk_tensors(const struct gguf_file *f)
{
    struct lm_err err;
    volatile uint8_t sink = 0;

    for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
        const struct gguf_tensor *t = gguf_tensor_at(f, i);
        struct gguf_tensor_view v;
        if (gguf_get_tensor(f, t->name, &v, &err) == FTSB_OK && v.nbytes)
            sink ^= ((const uint8_t *)v.data)[0] ^
                    ((const uint8_t *)v.data)[v.nbytes - 1];
    }
    (void)sink;
}

static void use_vocab(const struct gguf_file *f)
{
    struct lm_err err;
    struct tok_vocab *v = NULL;
    struct tok_ids ids = {0};
    char *text = NULL;
    size_t len;

    if (tok_load(f, &v, &err))
        return;
    if (tok_encode(v, "Hello <s> world \xe2\x96\x81!", 21,
                   TOK_ADD_SPECIAL | TOK_PARSE_SPECIAL, &ids, &err) == 0) {
        for (size_t i = 0; i < ids.n; i++) {
            if (ids.v[i] < 0 || ids.v[i] >= tok_n_vocab(v))
                __builtin_trap();
        }
        if (tok_decode(v, ids.v, ids.n, TOK_UNPARSE_SPECIAL, &text, &len,
                       &err) == 0)
            free(text);
    }
    tok_ids_free(&ids);
    tok_free(v);
}

/* Rewriting a parsed file must give a file that parses the same way. */
static void rewrite(const struct gguf_file *f)
{
    struct lm_err err;
    struct gguf_writer *w = NULL;
    struct gguf_file *g = NULL;
    uint8_t *mem = NULL;
    size_t size = 0;
    bool ok = true;

    if (gguf_writer_new(&w, &err))
        return;
    for (uint64_t i = 0; ok && i < gguf_n_kv(f); i++)
        ok = gguf_w_copy_kv(w, gguf_kv_at(f, i), &err) == FTSB_OK;
    for (uint64_t i = 0; ok && i < gguf_n_tensors(f); i++) {
        const struct gguf_tensor *t = gguf_tensor_at(f, i);
        const void *d;
        ok = gguf_tensor_data(f, t, &d, &err) == FTSB_OK &&
             gguf_w_tensor(w, t->name, t->type, t->n_dims, t->ne, d,
                           t->nbytes, &err) == FTSB_OK;
    }
    if (ok && gguf_w_save_mem(w, &mem, &size, &err) == FTSB_OK) {
        if (gguf_open_mem(mem, size, "rewrite", &g, &err) != FTSB_OK ||
            gguf_n_kv(g) != gguf_n_kv(f) ||
            gguf_n_tensors(g) != gguf_n_tensors(f))
            __builtin_trap();
        gguf_close(g);
        free(mem);
    }
    gguf_writer_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lm_err err;
    struct gguf_file *f = NULL;

    if (gguf_open_mem(data, size, "fuzz", &f, &err) != FTSB_OK) {
        if (f || err.code != FTSB_E_FORMAT)
            __builtin_trap();
        return 0;
    }
    walk_kvs(f);
    walk_tensors(f);
    use_vocab(f);
    rewrite(f);
    gguf_close(f);
    return 0;
}
