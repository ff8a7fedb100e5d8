/*
 * model_info.c - `ftsb model-info FILE.gguf [--json] [--keys] [--tensors]`:
 * what a GGUF file holds, as the native Llama engine sees it.  The file is
 * opened with the engine's reader, so a malformed file gets the reader's
 * own message (file, byte offset, what is wrong) and nothing else.  A
 * readable file is described as far as it can be even when the engine
 * could not run it (another architecture, a tensor type it does not read,
 * a missing tensor): such facts are collected as "problems", printed with
 * the description and on stderr, and make the exit status 1, so a script
 * can ask "will this run?" with the status alone.  Figures are gathered
 * once into a struct mi and printed either as text or as one JSON object
 * (the same figures, for scripts).  The stored chat template is shown as
 * data only - its size, first line and the built-in template it resembles
 * - and never executed.
 */
#include "ftsb_setup.h"

#include <inttypes.h>
#include <math.h>

#include <cjson/cJSON.h>

#include "chat_template.h"
#include "cli/cli.h"
#include "gguf.h"
#include "model.h"
#include "tokenizer.h"

static const char mi_usage[] =
    "usage: ftsb model-info FILE.gguf [--json] [--keys] [--tensors]\n"
    "\n"
    "Describes a GGUF model file as ftsb's native Llama engine reads it:\n"
    "architecture, GGUF version and alignment, file type, hyper-parameters\n"
    "(context, embedding, layers, heads, kv heads, head dim, FFN, RoPE base,\n"
    "RMS epsilon, vocabulary size), tied or separate output matrix, tensors\n"
    "and bytes by type, parameter count, tokenizer (model, size, special\n"
    "ids, add BOS/EOS), the stored chat template (size, first line and the\n"
    "built-in template it resembles; never executed), and the memory\n"
    "inference needs (weights as mapped, F32 KV cache per 1k tokens).\n"
    "\n"
    "options:\n"
    "  --json      print one JSON object instead of text\n"
    "  --keys      also list every metadata key with its value (shortened)\n"
    "  --tensors   also list every tensor: name, type, shape, bytes\n"
    "  -h, --help  this text\n"
    "\n"
    "exit status: 0 a model the llama backend can run (or a LoRA adapter);\n"
    "1 the file cannot be read, or it can but cannot be run (each reason\n"
    "is printed and, with --json, listed in \"problems\"); 2 usage error.\n";

/* The architecture this engine runs. */
#define MI_ARCH "llama"
/* Bytes per cached K or V value: the engine keeps its KV cache in F32. */
#define MI_KV_BYTES 4
/* Messages kept per list; more are counted, not stored. */
#define MI_MAX_MSGS 32
/* Longest text shown for a string from the file. */
#define MI_SHOW 96

enum { MI_INT, MI_F32 };

enum mi_hp_id {
    HP_CTX, HP_EMBD, HP_LAYERS, HP_HEADS, HP_KV_HEADS, HP_HEAD_DIM, HP_FFN,
    HP_ROPE_BASE, HP_ROPE_DIMS, HP_EPS, HP_VOCAB, HP_COUNT
};

/* How a hyper-parameter got its value. */
enum mi_src { SRC_MISSING, SRC_FILE, SRC_DEFAULT, SRC_DERIVED };

static const struct {
    const char *json;   /* name in the JSON output */
    const char *label;  /* name in the text output */
    const char *suffix; /* key after "<arch>." */
    int kind;
} mi_hp_def[HP_COUNT] = {
    [HP_CTX] = {"context_length", "context length", "context_length", MI_INT},
    [HP_EMBD] = {"embedding_length", "embedding", "embedding_length", MI_INT},
    [HP_LAYERS] = {"block_count", "layers", "block_count", MI_INT},
    [HP_HEADS] = {"head_count", "heads", "attention.head_count", MI_INT},
    [HP_KV_HEADS] = {"head_count_kv", "kv heads", "attention.head_count_kv",
                     MI_INT},
    [HP_HEAD_DIM] = {"head_dim", "head dim", "attention.key_length", MI_INT},
    [HP_FFN] = {"feed_forward_length", "ffn hidden", "feed_forward_length",
                MI_INT},
    [HP_ROPE_BASE] = {"rope_freq_base", "rope base", "rope.freq_base", MI_F32},
    [HP_ROPE_DIMS] = {"rope_dimension_count", "rope dims",
                      "rope.dimension_count", MI_INT},
    [HP_EPS] = {"rms_norm_eps", "rms eps",
                "attention.layer_norm_rms_epsilon", MI_F32},
    [HP_VOCAB] = {"vocab_size", "vocab size", "vocab_size", MI_INT},
};

struct mi_hp {
    enum mi_src src;
    int64_t i;
    double f;
};

struct mi_list {
    char *v[MI_MAX_MSGS];
    size_t n, dropped;
};

/* Tensors of one ggml type. */
struct mi_type_sum {
    uint64_t count, elements, bytes;
};

#define MI_N_TYPES 64

struct mi {
    const char *path;
    struct gguf_file *f;
    bool json, keys, tensors;

    char arch[MI_SHOW * 4 + 8];    /* "" when absent */
    char kind[64];                 /* general.type: "model", "adapter" */
    char name[MI_SHOW * 4 + 8];
    bool has_file_type;
    int64_t file_type;
    bool is_llama, is_adapter;

    struct mi_hp hp[HP_COUNT];
    int output;                    /* -1 unknown, 0 tied, 1 separate */

    struct mi_type_sum by_type[MI_N_TYPES + 1]; /* last: other ids */
    uint64_t n_params, weight_bytes;

    /* tokenizer (from tok_load; raw keys when it fails) */
    bool has_tok;
    char tok_model[128], tok_pre[128];
    struct tok_vocab *vocab;
    uint64_t tok_count;            /* tokens array length */

    /* chat template */
    bool has_tmpl;
    uint64_t tmpl_bytes;
    char tmpl_first[MI_SHOW * 4 + 8];
    uint64_t tmpl_lines;
    enum tmpl_id tmpl_guess;

    /* adapter */
    char adapter_type[64];
    bool has_alpha;
    double alpha;
    uint64_t lora_pairs;
    int64_t lora_rank;             /* -1 mixed or unknown */

    struct mi_list problems, notes;
    bool nomem;
    struct lm_model *model;        /* loaded by the engine; owns f then */
};

/* ---- small helpers ----------------------------------------------------- */

static void mi_add(struct mi *m, struct mi_list *l, const char *fmt, ...)
    FTSB_PRINTF(3, 4);
static void mi_add(struct mi *m, struct mi_list *l, const char *fmt, ...)
{
    va_list ap;
    char buf[1200], clean[sizeof buf * 4 + 8];

    if (l->n == MI_MAX_MSGS) {
        l->dropped++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    /* engine messages quote strings from the file as they are */
    cli_clean(buf, strlen(buf), sizeof buf, clean);
    if (!(l->v[l->n] = strdup(clean))) {
        m->nomem = true;
        return;
    }
    l->n++;
}

static void mi_list_free(struct mi_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    l->n = 0;
}

/* A string value of key into out[size] (cleaned, cut to fit), or false
 * when absent or not a string. */
static bool mi_str(const struct mi *m, const char *key, char *out,
                   size_t size)
{
    struct gguf_str s;
    struct lm_err err;

    if (!gguf_find_kv(m->f, key) || gguf_get_str(m->f, key, &s, &err))
        return false;
    cli_clean(s.ptr, s.len, (size - 8) / 4, out);
    return true;
}

static const char *mi_file_type_name(int64_t ft)
{
    switch (ft) {
    case 0: return "all F32";
    case 1: return "mostly F16";
    case 2: return "mostly Q4_0";
    case 3: return "mostly Q4_1";
    case 7: return "mostly Q8_0";
    case 8: return "mostly Q5_0";
    case 9: return "mostly Q5_1";
    case 10: return "mostly Q2_K";
    case 15: return "mostly Q4_K_M";
    case 17: return "mostly Q5_K_M";
    case 18: return "mostly Q6_K";
    case 32: return "mostly BF16";
    }
    return "other";
}

/* "1.5 MiB" and the like, into buf. */
static const char *mi_bytes(double b, char *buf, size_t size)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t u = 0;

    while (b >= 1024 && u + 1 < sizeof unit / sizeof *unit) {
        b /= 1024;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
    return buf;
}

/* ---- hyper-parameters -------------------------------------------------- */

static void mi_read_hp(struct mi *m, enum mi_hp_id id)
{
    char key[sizeof m->arch + 64];
    const struct gguf_kv *kv;
    struct lm_err err;
    struct mi_hp *h = &m->hp[id];
    float v;

    snprintf(key, sizeof key, "%s.%s", m->arch, mi_hp_def[id].suffix);
    if (!(kv = gguf_find_kv(m->f, key)))
        return;
    if (kv->type == GGUF_TYPE_ARRAY) {
        mi_add(m, &m->problems, "%s is a per-layer array; ftsb needs one "
               "value for all layers", key);
        return;
    }
    if (mi_hp_def[id].kind == MI_F32) {
        if (gguf_get_f32(m->f, key, &v, &err) != FTSB_OK) {
            mi_add(m, &m->problems, "%s", err.msg);
            return;
        }
        if (!isfinite(v) || v <= 0) {
            mi_add(m, &m->problems, "%s is %g; it must be positive", key,
                   (double)v);
            return;
        }
        h->f = v;
    } else {
        if (gguf_get_int(m->f, key, 1, INT32_MAX, &h->i, &err) != FTSB_OK) {
            mi_add(m, &m->problems, "%s", err.msg);
            return;
        }
        h->f = (double)h->i;
    }
    h->src = SRC_FILE;
}

static void mi_set(struct mi *m, enum mi_hp_id id, enum mi_src src,
                   double value)
{
    m->hp[id].src = src;
    m->hp[id].f = value;
    m->hp[id].i = (int64_t)value;
}

static bool mi_have(const struct mi *m, enum mi_hp_id id)
{
    return m->hp[id].src != SRC_MISSING;
}

static int64_t mi_i(const struct mi *m, enum mi_hp_id id)
{
    return m->hp[id].i;
}

/* Reads every hyper-parameter, fills the defaults llama.cpp applies, and
 * for the llama architecture checks that they fit together. */
static void mi_hparams(struct mi *m)
{
    static const enum mi_hp_id required[] = {HP_CTX, HP_EMBD, HP_LAYERS,
                                             HP_HEADS, HP_FFN, HP_EPS};

    for (int id = 0; id < HP_COUNT; id++)
        mi_read_hp(m, (enum mi_hp_id)id);
    if (mi_have(m, HP_HEADS) && !mi_have(m, HP_KV_HEADS))
        mi_set(m, HP_KV_HEADS, SRC_DEFAULT, (double)mi_i(m, HP_HEADS));
    if (!mi_have(m, HP_HEAD_DIM) && mi_have(m, HP_EMBD) &&
        mi_have(m, HP_HEADS))
        mi_set(m, HP_HEAD_DIM, SRC_DERIVED,
               (double)(mi_i(m, HP_EMBD) / mi_i(m, HP_HEADS)));
    if (!m->is_llama)
        return; /* llama.cpp's RoPE defaults are per architecture */
    if (!mi_have(m, HP_ROPE_BASE))
        mi_set(m, HP_ROPE_BASE, SRC_DEFAULT, 10000.0);
    if (!mi_have(m, HP_ROPE_DIMS) && mi_have(m, HP_HEAD_DIM))
        mi_set(m, HP_ROPE_DIMS, SRC_DEFAULT, (double)mi_i(m, HP_HEAD_DIM));
    for (size_t k = 0; k < sizeof required / sizeof *required; k++) {
        if (!mi_have(m, required[k]))
            mi_add(m, &m->problems, "the key %s.%s is missing", m->arch,
                   mi_hp_def[required[k]].suffix);
    }
    if (mi_have(m, HP_EMBD) && mi_have(m, HP_HEADS) &&
        mi_i(m, HP_EMBD) % mi_i(m, HP_HEADS) != 0)
        mi_add(m, &m->problems, "the embedding length %" PRId64 " is not a "
               "multiple of the head count %" PRId64, mi_i(m, HP_EMBD),
               mi_i(m, HP_HEADS));
    if (mi_have(m, HP_HEADS) && mi_have(m, HP_KV_HEADS) &&
        mi_i(m, HP_HEADS) % mi_i(m, HP_KV_HEADS) != 0)
        mi_add(m, &m->problems, "the head count %" PRId64 " is not a "
               "multiple of the kv head count %" PRId64, mi_i(m, HP_HEADS),
               mi_i(m, HP_KV_HEADS));
    if (mi_have(m, HP_HEAD_DIM) && mi_i(m, HP_HEAD_DIM) % 2 != 0)
        mi_add(m, &m->problems, "the head dimension %" PRId64 " is odd; "
               "RoPE rotates pairs", mi_i(m, HP_HEAD_DIM));
    if (mi_have(m, HP_ROPE_DIMS) && mi_have(m, HP_HEAD_DIM) &&
        mi_i(m, HP_ROPE_DIMS) != mi_i(m, HP_HEAD_DIM))
        mi_add(m, &m->problems, "rope.dimension_count %" PRId64 " differs "
               "from the head dimension %" PRId64 "; partial rotary "
               "embeddings are not supported", mi_i(m, HP_ROPE_DIMS),
               mi_i(m, HP_HEAD_DIM));
}

/* ---- tensors ----------------------------------------------------------- */

static const char *const mi_layer_parts[] = {
    "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
    "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"};
#define MI_N_PARTS (sizeof mi_layer_parts / sizeof *mi_layer_parts)

/* True for a tensor name the llama engine uses (blk.N within the layers). */
static bool mi_llama_name(const char *name, int64_t n_layer)
{
    char part[GGUF_MAX_NAME + 1], tail;
    long layer;

    if (!strcmp(name, "token_embd.weight") ||
        !strcmp(name, "output_norm.weight") || !strcmp(name, "output.weight"))
        return true;
    if (sscanf(name, "blk.%ld.%63[a-z_].weigh%c", &layer, part, &tail) != 3 ||
        tail != 't' || layer < 0 || layer >= n_layer)
        return false;
    for (size_t i = 0; i < MI_N_PARTS; i++) {
        char want[GGUF_MAX_NAME + 1];
        snprintf(want, sizeof want, "blk.%ld.%s.weight", layer,
                 mi_layer_parts[i]);
        if (!strcmp(name, want))
            return true;
    }
    return false;
}

static void mi_shape(const struct gguf_tensor *t, char *buf, size_t size)
{
    size_t k = 0;

    buf[0] = '\0';
    for (uint32_t d = 0; d < t->n_dims && k < size; d++)
        k += (size_t)snprintf(buf + k, size - k, "%s%" PRId64, d ? ", " : "",
                              t->ne[d]);
}

/* Checks that name exists with ne = [ne0] or [ne0, ne1] and a type the
 * engine reads; a missing tensor is a problem unless optional. */
static bool mi_expect(struct mi *m, const char *name, uint32_t n_dims,
                      int64_t ne0, int64_t ne1, bool optional)
{
    const struct gguf_tensor *t = gguf_find_tensor(m->f, name);
    char have[96];

    if (!t) {
        if (!optional)
            mi_add(m, &m->problems, "tensor %s is missing", name);
        return false;
    }
    if (t->n_dims != n_dims || t->ne[0] != ne0 ||
        (n_dims > 1 && t->ne[1] != ne1)) {
        mi_shape(t, have, sizeof have);
        if (n_dims == 1)
            mi_add(m, &m->problems, "tensor %s has shape [%s]; the "
                   "hyper-parameters call for [%" PRId64 "]", name, have,
                   ne0);
        else
            mi_add(m, &m->problems, "tensor %s has shape [%s]; the "
                   "hyper-parameters call for [%" PRId64 ", %" PRId64 "]",
                   name, have, ne0, ne1);
    }
    if (!gguf_tensor_type_supported(t->type))
        mi_add(m, &m->problems, "tensor %s has type %s; the engine reads "
               "F32, F16, BF16 and Q8_0", name,
               gguf_tensor_type_name(t->type));
    return true;
}

/* The llama tensor set, checked against the hyper-parameters. */
static void mi_check_llama_tensors(struct mi *m)
{
    static const enum mi_hp_id need[] = {HP_EMBD, HP_LAYERS, HP_HEADS,
                                         HP_KV_HEADS, HP_HEAD_DIM, HP_FFN};
    int64_t d, q, kv, ff, nl, nv = -1;
    const struct gguf_tensor *emb = gguf_find_tensor(m->f,
                                                     "token_embd.weight");
    char name[GGUF_MAX_NAME + 1];
    uint64_t other = 0;
    char first[3][GGUF_MAX_NAME + 1];

    for (size_t k = 0; k < sizeof need / sizeof *need; k++) {
        if (!mi_have(m, need[k]))
            return; /* already a problem; shapes cannot be checked */
    }
    d = mi_i(m, HP_EMBD);
    q = mi_i(m, HP_HEADS) * mi_i(m, HP_HEAD_DIM);
    kv = mi_i(m, HP_KV_HEADS) * mi_i(m, HP_HEAD_DIM);
    ff = mi_i(m, HP_FFN);
    nl = mi_i(m, HP_LAYERS);
    if (emb && emb->n_dims == 2)
        nv = emb->ne[1];
    if (mi_have(m, HP_VOCAB))
        nv = mi_i(m, HP_VOCAB);
    mi_expect(m, "token_embd.weight", 2, d, nv, false);
    for (int64_t l = 0; l < nl && m->problems.n < MI_MAX_MSGS; l++) {
        for (size_t p = 0; p < MI_N_PARTS; p++) {
            const char *part = mi_layer_parts[p];
            bool norm = strstr(part, "norm") != NULL;
            int64_t ne0 = d, ne1 = d;

            snprintf(name, sizeof name, "blk.%" PRId64 ".%s.weight", l, part);
            if (!strcmp(part, "attn_q"))
                ne1 = q;
            else if (!strcmp(part, "attn_k") || !strcmp(part, "attn_v"))
                ne1 = kv;
            else if (!strcmp(part, "attn_output"))
                ne0 = q;
            else if (!strcmp(part, "ffn_gate") || !strcmp(part, "ffn_up"))
                ne1 = ff;
            else if (!strcmp(part, "ffn_down"))
                ne0 = ff;
            mi_expect(m, name, norm ? 1 : 2, ne0, ne1, false);
        }
    }
    mi_expect(m, "output_norm.weight", 1, d, 0, false);
    m->output = mi_expect(m, "output.weight", 2, d, nv, true) ? 1 : 0;
    for (uint64_t i = 0; i < gguf_n_tensors(m->f); i++) {
        const char *n = gguf_tensor_at(m->f, i)->name;
        if (mi_llama_name(n, nl))
            continue;
        if (other < 3)
            snprintf(first[other], sizeof first[other], "%s", n);
        other++;
    }
    if (other)
        mi_add(m, &m->notes, "%" PRIu64 " tensor%s the llama engine does not "
               "use: %s%s%s%s%s%s", other, other == 1 ? "" : "s", first[0],
               other > 1 ? ", " : "", other > 1 ? first[1] : "",
               other > 2 ? ", " : "", other > 2 ? first[2] : "",
               other > 3 ? ", ..." : "");
}

static void mi_tensors(struct mi *m)
{
    for (uint64_t i = 0; i < gguf_n_tensors(m->f); i++) {
        const struct gguf_tensor *t = gguf_tensor_at(m->f, i);
        struct mi_type_sum *s =
            &m->by_type[t->type < MI_N_TYPES ? t->type : MI_N_TYPES];
        s->count++;
        s->elements += t->nelem;
        s->bytes += t->nbytes;
        m->n_params += t->nelem;
        m->weight_bytes += t->nbytes;
    }
}

/* ---- tokenizer, template, adapter -------------------------------------- */

static void mi_tokenizer(struct mi *m)
{
    const struct gguf_kv *kv = gguf_find_kv(m->f, "tokenizer.ggml.tokens");
    struct lm_err err;

    m->has_tok = gguf_find_kv(m->f, "tokenizer.ggml.model") != NULL;
    if (!m->has_tok && !kv) {
        if (m->is_llama && !m->is_adapter)
            mi_add(m, &m->problems, "no tokenizer (tokenizer.ggml.model is "
                   "missing)");
        return;
    }
    m->has_tok = true;
    if (!mi_str(m, "tokenizer.ggml.model", m->tok_model, sizeof m->tok_model))
        snprintf(m->tok_model, sizeof m->tok_model, "?");
    mi_str(m, "tokenizer.ggml.pre", m->tok_pre, sizeof m->tok_pre);
    if (kv && kv->type == GGUF_TYPE_ARRAY)
        m->tok_count = kv->count;
    if (tok_load(m->f, &m->vocab, &err) != FTSB_OK)
        mi_add(m, &m->problems, "%s", err.msg);
    else
        m->tok_count = (uint64_t)tok_n_vocab(m->vocab);
}

static void mi_template(struct mi *m)
{
    struct gguf_str s;
    struct lm_err err;
    size_t line;
    const char *nl;

    if (!gguf_find_kv(m->f, "tokenizer.chat_template"))
        return;
    if (gguf_get_str(m->f, "tokenizer.chat_template", &s, &err)) {
        mi_add(m, &m->notes, "%s", err.msg);
        return;
    }
    m->has_tmpl = true;
    m->tmpl_bytes = s.len;
    for (line = 0; line < s.len && s.ptr[line] != '\n'; line++)
        ;
    cli_clean(s.ptr, line, MI_SHOW, m->tmpl_first);
    m->tmpl_lines = s.len > 0;
    for (const char *p = s.ptr, *end = s.ptr + s.len;
         (nl = memchr(p, '\n', (size_t)(end - p))) && nl + 1 < end; p = nl + 1)
        m->tmpl_lines++;
    m->tmpl_guess = tmpl_guess(s.ptr, s.len);
}

static void mi_adapter(struct mi *m)
{
    struct lm_err err;
    float a;

    mi_str(m, "adapter.type", m->adapter_type, sizeof m->adapter_type);
    if (gguf_find_kv(m->f, "adapter.lora.alpha") &&
        gguf_get_f32(m->f, "adapter.lora.alpha", &a, &err) == FTSB_OK) {
        m->has_alpha = true;
        m->alpha = a;
    }
    m->lora_rank = 0;
    for (uint64_t i = 0; i < gguf_n_tensors(m->f); i++) {
        const struct gguf_tensor *t = gguf_tensor_at(m->f, i);
        size_t n = strlen(t->name);
        if (n < 7 || strcmp(t->name + n - 7, ".lora_b") != 0)
            continue;
        m->lora_pairs++;
        if (m->lora_rank == 0)
            m->lora_rank = t->ne[0];
        else if (m->lora_rank != t->ne[0])
            m->lora_rank = -1;
    }
}

/* ---- gathering --------------------------------------------------------- */

static void mi_gather(struct mi *m)
{
    struct lm_err err;

    m->output = -1;
    m->lora_rank = -1;
    snprintf(m->kind, sizeof m->kind, "model");
    mi_str(m, "general.type", m->kind, sizeof m->kind);
    m->is_adapter = !strcmp(m->kind, "adapter");
    mi_str(m, "general.name", m->name, sizeof m->name);
    if (gguf_find_kv(m->f, "general.file_type") &&
        gguf_get_int(m->f, "general.file_type", 0, INT32_MAX, &m->file_type,
                     &err) == FTSB_OK)
        m->has_file_type = true;
    if (!mi_str(m, "general.architecture", m->arch, sizeof m->arch))
        mi_add(m, &m->problems, "general.architecture is missing: not a "
               "model file");
    else if (!(m->is_llama = !strcmp(m->arch, MI_ARCH)))
        mi_add(m, &m->problems, "architecture '%s' is not supported; the "
               "native engine runs: " MI_ARCH, m->arch);
    mi_tensors(m);
    if (m->is_adapter) {
        mi_adapter(m);
        return;
    }
    if (m->arch[0])
        mi_hparams(m);
    mi_tokenizer(m);
    mi_template(m);
    if (!mi_have(m, HP_VOCAB) && m->tok_count)
        mi_set(m, HP_VOCAB, SRC_DERIVED, (double)m->tok_count);
    if (!m->is_llama)
        return;
    if (gguf_n_tensors(m->f) == 0) {
        mi_add(m, &m->problems, "no tensors: a vocabulary-only file, not a "
               "model");
        return;
    }
    mi_check_llama_tensors(m);
    if (m->vocab && mi_have(m, HP_VOCAB) &&
        mi_i(m, HP_VOCAB) != tok_n_vocab(m->vocab))
        mi_add(m, &m->problems, "the vocabulary has %" PRId32 " tokens but "
               "the model %" PRId64, tok_n_vocab(m->vocab),
               mi_i(m, HP_VOCAB));
}

/*
 * The last word is the engine's: a file that passes the checks above is
 * loaded the way the llama backend loads it (weights bound in place, no
 * copy), so "runnable" never promises more than the loader accepts.
 */
static void mi_engine_check(struct mi *m)
{
    struct lm_err err;

    if (!m->is_llama || m->is_adapter || m->problems.n)
        return;
    err.msg[0] = '\0';
    if (lm_model_from_gguf(m->f, NULL, &m->model, &err) != FTSB_OK) {
        m->model = NULL;
        mi_add(m, &m->problems, "the engine refuses it: %s", err.msg);
    }
}

/* Bytes of F32 K and V for 1024 positions (0 when unknown). */
static double mi_kv_per_1k(const struct mi *m)
{
    if (!mi_have(m, HP_LAYERS) || !mi_have(m, HP_KV_HEADS) ||
        !mi_have(m, HP_HEAD_DIM))
        return 0;
    return 1024.0 * 2 * (double)mi_i(m, HP_LAYERS) *
           (double)mi_i(m, HP_KV_HEADS) * (double)mi_i(m, HP_HEAD_DIM) *
           MI_KV_BYTES;
}

/* ---- text output ------------------------------------------------------- */

static void mi_print_special(const char *label, int32_t id,
                             const struct tok_vocab *v)
{
    char text[MI_SHOW * 4 + 8];
    const char *t;

    if (id < 0) {
        printf("  %-20s none\n", label);
        return;
    }
    t = tok_text(v, id);
    cli_clean(t ? t : "", t ? strlen(t) : 0, 32, text);
    printf("  %-20s %" PRId32 " '%s'\n", label, id, text);
}

static void mi_print_keys(const struct mi *m)
{
    char desc[200];

    printf("metadata (%" PRIu64 " keys)\n", gguf_n_kv(m->f));
    for (uint64_t i = 0; i < gguf_n_kv(m->f); i++) {
        const struct gguf_kv *kv = gguf_kv_at(m->f, i);
        char key[64 * 4 + 8], clean[sizeof desc * 4 + 8];

        cli_clean(kv->key.ptr, kv->key.len, 64, key);
        gguf_kv_describe(kv, desc, sizeof desc);
        cli_clean(desc, strlen(desc), sizeof desc, clean);
        printf("  %-44s %-4s %s\n", key, gguf_type_name(kv->type), clean);
    }
}

static void mi_print_tensor_list(const struct mi *m)
{
    char shape[96], b[32];

    printf("tensor list\n");
    for (uint64_t i = 0; i < gguf_n_tensors(m->f); i++) {
        const struct gguf_tensor *t = gguf_tensor_at(m->f, i);
        const char *tn = gguf_tensor_type_name(t->type);

        mi_shape(t, shape, sizeof shape);
        printf("  %-32s %-5s [%s] %s\n", t->name, tn ? tn : "?", shape,
               mi_bytes((double)t->nbytes, b, sizeof b));
    }
}

static void mi_print_hparams(const struct mi *m)
{
    static const char *const how[] = {"", "", " (default)", " (derived)"};

    printf("hyper-parameters\n");
    for (int id = 0; id < HP_COUNT; id++) {
        const struct mi_hp *h = &m->hp[id];

        printf("  %-20s ", mi_hp_def[id].label);
        if (h->src == SRC_MISSING)
            printf("missing\n");
        else if (mi_hp_def[id].kind == MI_F32)
            printf("%g%s\n", h->f, how[h->src]);
        else
            printf("%" PRId64 "%s\n", h->i, how[h->src]);
    }
    if (mi_have(m, HP_HEADS) && mi_have(m, HP_KV_HEADS)) {
        int64_t h = mi_i(m, HP_HEADS), kv = mi_i(m, HP_KV_HEADS);
        printf("  %-20s %s", "attention", kv == h ? "multi-head" :
               kv == 1 ? "multi-query" : "grouped-query");
        if (kv != h && kv > 0)
            printf(", %" PRId64 " query heads per kv head", h / kv);
        printf("\n");
    }
    if (m->output >= 0)
        printf("  %-20s %s\n", "output matrix",
               m->output ? "separate (output.weight)"
                         : "tied to token_embd.weight");
}

static void mi_print_tokenizer(const struct mi *m)
{
    const struct tok_vocab *v = m->vocab;

    printf("tokenizer\n");
    printf("  %-20s %s%s%s%s\n", "model", m->tok_model,
           !strcmp(m->tok_model, "llama") ? " (SentencePiece)" :
           !strcmp(m->tok_model, "gpt2") ? " (byte-level BPE)" : "",
           m->tok_pre[0] ? ", pre-tokenizer " : "", m->tok_pre);
    printf("  %-20s %" PRIu64 "\n", "tokens", m->tok_count);
    if (!v) {
        printf("  %-20s not loadable (see problems)\n", "vocabulary");
        return;
    }
    mi_print_special("bos", tok_bos(v), v);
    mi_print_special("eos", tok_eos(v), v);
    mi_print_special("unk", tok_unk(v), v);
    mi_print_special("pad", tok_pad(v), v);
    mi_print_special("end of turn", tok_eot(v), v);
    printf("  %-20s %s / %s\n", "add bos / eos", tok_add_bos(v) ? "yes" : "no",
           tok_add_eos(v) ? "yes" : "no");
}

static void mi_print_text(const struct mi *m)
{
    char b1[32], b2[32], b3[32];
    const char *s;

    printf("file                   %s (%s, %" PRIu64 " bytes)\n", m->path,
           mi_bytes((double)gguf_file_size(m->f), b1, sizeof b1),
           gguf_file_size(m->f));
    printf("format                 GGUF v%" PRIu32 ", alignment %" PRIu32
           ", %" PRIu64 " metadata keys, %" PRIu64 " tensors\n",
           gguf_version(m->f), gguf_alignment(m->f), gguf_n_kv(m->f),
           gguf_n_tensors(m->f));
    printf("kind                   %s\n", m->kind);
    printf("architecture           %s%s\n", m->arch[0] ? m->arch : "none",
           m->is_llama ? "" : " (not supported)");
    if (m->name[0])
        printf("name                   %s\n", m->name);
    if (m->has_file_type)
        printf("file type              %" PRId64 " (%s)\n", m->file_type,
               mi_file_type_name(m->file_type));
    if (m->is_adapter) {
        printf("adapter                %s, %" PRIu64 " A/B pairs",
               m->adapter_type[0] ? m->adapter_type : "?", m->lora_pairs);
        if (m->lora_rank > 0)
            printf(", rank %" PRId64, m->lora_rank);
        if (m->has_alpha)
            printf(", alpha %g", m->alpha);
        printf("\n");
    } else if (m->arch[0]) {
        mi_print_hparams(m);
    }
    printf("tensors                %" PRIu64 ", %s\n", gguf_n_tensors(m->f),
           mi_bytes((double)m->weight_bytes, b1, sizeof b1));
    for (int t = 0; t <= MI_N_TYPES; t++) {
        const struct mi_type_sum *ts = &m->by_type[t];
        if (!ts->count)
            continue;
        s = t < MI_N_TYPES ? gguf_tensor_type_name((uint32_t)t) : NULL;
        printf("  %-20s %" PRIu64 " tensors, %" PRIu64 " values, %s\n",
               s ? s : "other", ts->count, ts->elements,
               mi_bytes((double)ts->bytes, b1, sizeof b1));
    }
    printf("parameters             %" PRIu64 "\n", m->n_params);
    if (m->has_tok)
        mi_print_tokenizer(m);
    if (m->has_tmpl) {
        printf("chat template          %" PRIu64 " bytes (data; never "
               "executed)\n", m->tmpl_bytes);
        printf("  %-20s %" PRIu64 "\n", "lines", m->tmpl_lines);
        printf("  %-20s %s\n", "first line", m->tmpl_first);
        s = tmpl_name(m->tmpl_guess);
        printf("  %-20s %s\n", "tmpl_guess", s ? s : "none (no built-in "
               "template matches; name one explicitly)");
    } else if (!m->is_adapter) {
        printf("chat template          none stored\n");
    }
    if (!m->is_adapter && m->arch[0]) {
        double kv = mi_kv_per_1k(m);
        printf("memory (inference)\n");
        printf("  %-20s %s (mapped read-only, used in place)\n", "weights",
               mi_bytes((double)m->weight_bytes, b1, sizeof b1));
        if (kv > 0) {
            printf("  %-20s %s per 1k tokens (F32 K and V)\n", "KV cache",
                   mi_bytes(kv, b2, sizeof b2));
            if (mi_have(m, HP_CTX))
                printf("  %-20s %s (weights + KV for %" PRId64 " tokens)\n",
                       "at full context",
                       mi_bytes((double)m->weight_bytes +
                                kv * (double)mi_i(m, HP_CTX) / 1024.0,
                                b3, sizeof b3),
                       mi_i(m, HP_CTX));
        }
    }
    for (size_t i = 0; i < m->notes.n; i++)
        printf("note: %s\n", m->notes.v[i]);
    if (m->keys)
        mi_print_keys(m);
    if (m->tensors)
        mi_print_tensor_list(m);
    if (m->problems.n) {
        printf("runnable               no\n");
        for (size_t i = 0; i < m->problems.n; i++)
            printf("problem: %s\n", m->problems.v[i]);
        if (m->problems.dropped)
            printf("problem: ... and %zu more\n", m->problems.dropped);
    } else {
        printf("runnable               yes\n");
    }
}

/* ---- JSON output ------------------------------------------------------- */

static cJSON *mi_json_special(int32_t id)
{
    return id < 0 ? cJSON_CreateNull() : cJSON_CreateNumber(id);
}

static cJSON *mi_json_list(const struct mi_list *l)
{
    cJSON *a = cJSON_CreateArray();

    for (size_t i = 0; a && i < l->n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(l->v[i]));
    return a;
}

static void mi_json_hparams(const struct mi *m, cJSON *o)
{
    static const char *const how[] = {"missing", "file", "default",
                                      "derived"};
    cJSON *hp = cJSON_AddObjectToObject(o, "hparams");
    cJSON *src = cJSON_AddObjectToObject(o, "hparam_source");

    for (int id = 0; id < HP_COUNT; id++) {
        const struct mi_hp *h = &m->hp[id];
        if (h->src == SRC_MISSING)
            cJSON_AddNullToObject(hp, mi_hp_def[id].json);
        else
            cJSON_AddNumberToObject(hp, mi_hp_def[id].json, h->f);
        cJSON_AddStringToObject(src, mi_hp_def[id].json, how[h->src]);
    }
    if (m->output < 0)
        cJSON_AddNullToObject(o, "output");
    else
        cJSON_AddStringToObject(o, "output", m->output ? "separate" : "tied");
}

static void mi_json_tensors(const struct mi *m, cJSON *o)
{
    cJSON *t = cJSON_AddObjectToObject(o, "tensors");
    cJSON *by = cJSON_AddArrayToObject(t, "by_type");

    cJSON_AddNumberToObject(t, "count", (double)gguf_n_tensors(m->f));
    cJSON_AddNumberToObject(t, "bytes", (double)m->weight_bytes);
    for (int k = 0; k <= MI_N_TYPES; k++) {
        const struct mi_type_sum *ts = &m->by_type[k];
        const char *s = k < MI_N_TYPES ? gguf_tensor_type_name((uint32_t)k)
                                       : NULL;
        cJSON *e;
        if (!ts->count)
            continue;
        e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "type", s ? s : "other");
        cJSON_AddNumberToObject(e, "tensors", (double)ts->count);
        cJSON_AddNumberToObject(e, "elements", (double)ts->elements);
        cJSON_AddNumberToObject(e, "bytes", (double)ts->bytes);
        cJSON_AddItemToArray(by, e);
    }
    if (m->tensors) {
        cJSON *list = cJSON_AddArrayToObject(t, "list");
        for (uint64_t i = 0; i < gguf_n_tensors(m->f); i++) {
            const struct gguf_tensor *x = gguf_tensor_at(m->f, i);
            const char *tn = gguf_tensor_type_name(x->type);
            cJSON *e = cJSON_CreateObject(), *ne = cJSON_AddArrayToObject(e, "ne");
            cJSON_AddStringToObject(e, "name", x->name);
            cJSON_AddStringToObject(e, "type", tn ? tn : "?");
            for (uint32_t d = 0; d < x->n_dims; d++)
                cJSON_AddItemToArray(ne, cJSON_CreateNumber((double)x->ne[d]));
            cJSON_AddNumberToObject(e, "bytes", (double)x->nbytes);
            cJSON_AddItemToArray(list, e);
        }
    }
}

static void mi_json_tokenizer(const struct mi *m, cJSON *o)
{
    const struct tok_vocab *v = m->vocab;
    cJSON *t;

    if (!m->has_tok) {
        cJSON_AddNullToObject(o, "tokenizer");
        return;
    }
    t = cJSON_AddObjectToObject(o, "tokenizer");
    cJSON_AddStringToObject(t, "model", m->tok_model);
    if (m->tok_pre[0])
        cJSON_AddStringToObject(t, "pre", m->tok_pre);
    cJSON_AddNumberToObject(t, "tokens", (double)m->tok_count);
    cJSON_AddBoolToObject(t, "loaded", v != NULL);
    if (!v)
        return;
    cJSON_AddItemToObject(t, "bos_id", mi_json_special(tok_bos(v)));
    cJSON_AddItemToObject(t, "eos_id", mi_json_special(tok_eos(v)));
    cJSON_AddItemToObject(t, "unk_id", mi_json_special(tok_unk(v)));
    cJSON_AddItemToObject(t, "pad_id", mi_json_special(tok_pad(v)));
    cJSON_AddItemToObject(t, "eot_id", mi_json_special(tok_eot(v)));
    cJSON_AddBoolToObject(t, "add_bos", tok_add_bos(v));
    cJSON_AddBoolToObject(t, "add_eos", tok_add_eos(v));
}

static void mi_json_rest(const struct mi *m, cJSON *o)
{
    double kv = mi_kv_per_1k(m);
    cJSON *x;

    if (m->has_tmpl) {
        x = cJSON_AddObjectToObject(o, "chat_template");
        cJSON_AddNumberToObject(x, "bytes", (double)m->tmpl_bytes);
        cJSON_AddNumberToObject(x, "lines", (double)m->tmpl_lines);
        cJSON_AddStringToObject(x, "first_line", m->tmpl_first);
        if (tmpl_name(m->tmpl_guess))
            cJSON_AddStringToObject(x, "tmpl_guess", tmpl_name(m->tmpl_guess));
        else
            cJSON_AddNullToObject(x, "tmpl_guess");
    } else {
        cJSON_AddNullToObject(o, "chat_template");
    }
    x = cJSON_AddObjectToObject(o, "memory");
    cJSON_AddNumberToObject(x, "weights_bytes", (double)m->weight_bytes);
    cJSON_AddStringToObject(x, "kv_cache_type", "F32");
    if (kv > 0) {
        cJSON_AddNumberToObject(x, "kv_cache_bytes_per_1k_tokens", kv);
        if (mi_have(m, HP_CTX))
            cJSON_AddNumberToObject(x, "bytes_at_context_length",
                                    (double)m->weight_bytes +
                                    kv * (double)mi_i(m, HP_CTX) / 1024.0);
    } else {
        cJSON_AddNullToObject(x, "kv_cache_bytes_per_1k_tokens");
    }
}

static void mi_json_keys(const struct mi *m, cJSON *o)
{
    cJSON *a = cJSON_AddArrayToObject(o, "metadata");
    char desc[200], clean[sizeof desc * 4 + 8];
    char *key = malloc(GGUF_MAX_KEY + 1);

    if (!key)
        return;
    for (uint64_t i = 0; i < gguf_n_kv(m->f); i++) {
        const struct gguf_kv *kv = gguf_kv_at(m->f, i);
        cJSON *e = cJSON_CreateObject();

        /* whole keys: the reader has checked they are printable UTF-8 */
        memcpy(key, kv->key.ptr, kv->key.len);
        key[kv->key.len] = '\0';
        gguf_kv_describe(kv, desc, sizeof desc);
        cli_clean(desc, strlen(desc), sizeof desc, clean);
        cJSON_AddStringToObject(e, "key", key);
        cJSON_AddStringToObject(e, "type", gguf_type_name(kv->type));
        cJSON_AddStringToObject(e, "value", clean);
        cJSON_AddItemToArray(a, e);
    }
    free(key);
}

static int mi_print_json(const struct mi *m)
{
    cJSON *o = cJSON_CreateObject(), *x;
    char *text, *path = malloc(strlen(m->path) * 4 + 8);

    if (!o || !path) {
        cJSON_Delete(o);
        free(path);
        return -1;
    }
    /* the name as given may not be UTF-8; JSON must be */
    cli_clean(m->path, strlen(m->path), strlen(m->path), path);
    cJSON_AddStringToObject(o, "file", path);
    free(path);
    cJSON_AddNumberToObject(o, "file_bytes", (double)gguf_file_size(m->f));
    cJSON_AddNumberToObject(o, "gguf_version", gguf_version(m->f));
    cJSON_AddNumberToObject(o, "alignment", gguf_alignment(m->f));
    cJSON_AddNumberToObject(o, "metadata_keys", (double)gguf_n_kv(m->f));
    cJSON_AddStringToObject(o, "kind", m->kind);
    if (m->arch[0])
        cJSON_AddStringToObject(o, "architecture", m->arch);
    else
        cJSON_AddNullToObject(o, "architecture");
    cJSON_AddBoolToObject(o, "architecture_supported", m->is_llama);
    if (m->name[0])
        cJSON_AddStringToObject(o, "name", m->name);
    if (m->has_file_type) {
        x = cJSON_AddObjectToObject(o, "file_type");
        cJSON_AddNumberToObject(x, "id", (double)m->file_type);
        cJSON_AddStringToObject(x, "name", mi_file_type_name(m->file_type));
    } else {
        cJSON_AddNullToObject(o, "file_type");
    }
    if (m->is_adapter) {
        x = cJSON_AddObjectToObject(o, "adapter");
        cJSON_AddStringToObject(x, "type", m->adapter_type);
        cJSON_AddNumberToObject(x, "pairs", (double)m->lora_pairs);
        if (m->lora_rank > 0)
            cJSON_AddNumberToObject(x, "rank", (double)m->lora_rank);
        if (m->has_alpha)
            cJSON_AddNumberToObject(x, "alpha", m->alpha);
    } else {
        mi_json_hparams(m, o);
    }
    mi_json_tensors(m, o);
    cJSON_AddNumberToObject(o, "n_params", (double)m->n_params);
    if (!m->is_adapter) {
        mi_json_tokenizer(m, o);
        mi_json_rest(m, o);
    }
    if (m->keys)
        mi_json_keys(m, o);
    cJSON_AddBoolToObject(o, "runnable", m->problems.n == 0);
    cJSON_AddItemToObject(o, "problems", mi_json_list(&m->problems));
    cJSON_AddItemToObject(o, "notes", mi_json_list(&m->notes));
    text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text)
        return -1;
    printf("%s\n", text);
    cJSON_free(text);
    return 0;
}

/* ---- the command ------------------------------------------------------- */

static int mi_usage_error(const char *fmt, ...) FTSB_PRINTF(1, 2);
static int mi_usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "ftsb: model-info: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: ftsb model-info FILE.gguf [--json] [--keys] "
                    "[--tensors]  (see `ftsb model-info --help`)\n");
    return 2;
}

int cli_model_info(int argc, char **argv)
{
    struct mi *m = calloc(1, sizeof *m);
    struct lm_err err;
    int status = 0;

    if (!m) {
        fprintf(stderr, "ftsb: model-info: out of memory\n");
        return 1;
    }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(mi_usage, stdout);
            free(m);
            return 0;
        } else if (!strcmp(a, "--json")) {
            m->json = true;
        } else if (!strcmp(a, "--keys")) {
            m->keys = true;
        } else if (!strcmp(a, "--tensors")) {
            m->tensors = true;
        } else if (a[0] == '-' && a[1]) {
            free(m);
            return mi_usage_error("unknown option '%s'", a);
        } else if (m->path) {
            free(m);
            return mi_usage_error("one file at a time ('%s' is a second)", a);
        } else {
            m->path = a;
        }
    }
    if (!m->path) {
        free(m);
        return mi_usage_error("%s", "which file?");
    }
    if (gguf_open(m->path, &m->f, &err) != FTSB_OK) {
        cli_print_err("model-info", err.msg);
        free(m);
        return 1;
    }
    mi_gather(m);
    mi_engine_check(m);
    if (m->nomem || (m->json ? mi_print_json(m) : (mi_print_text(m), 0))) {
        fprintf(stderr, "ftsb: model-info: out of memory\n");
        status = 1;
    } else if (m->problems.n) {
        fprintf(stderr, "ftsb: model-info: '%s' cannot be run by the llama "
                        "backend:\n", m->path);
        for (size_t i = 0; i < m->problems.n; i++)
            fprintf(stderr, "  %s\n", m->problems.v[i]);
        status = 1;
    }
    fflush(stdout);
    tok_free(m->vocab);
    if (m->model)
        lm_model_free(m->model); /* and the file it took over */
    else
        gguf_close(m->f);
    mi_list_free(&m->problems);
    mi_list_free(&m->notes);
    free(m);
    return status;
}
