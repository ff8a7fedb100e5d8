/*
 * make_model.c - `ftsb make-model OUT.gguf ...`: a Llama model with random
 * weights, of a named or custom shape, for tests and benchmarks.  This
 * file only reads the arguments into a shape and hands it to the engine's
 * lm_random_model_write(), which does the work (random_model.h).  Every
 * mistake in the arguments is a usage error (status 2) that names the
 * argument, found before anything is written; an existing OUT is kept
 * unless --force, because a random model written over a real one would
 * silently cost a long download.
 */
#include "ftsb_setup.h"

#include <inttypes.h>
#include <math.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "fp16.h"
#include "gguf.h"
#include "random_model.h"

static const char mm_usage[] =
    "usage: ftsb make-model OUT.gguf (--shape NAME | --dims D,L,H,KV,FF,V,CTX\n"
    "                       | --dim N --layers N --heads N --hidden N ...)\n"
    "                       [--type f32|f16|bf16|q8_0] [--seed N]\n"
    "                       [--vocab N|FILE.gguf] [options]\n"
    "\n"
    "Writes a Llama model with random weights, for tests and benchmarks.\n"
    "The same arguments always give the same bytes.  Matrices are drawn\n"
    "from a seeded generator, approximately N(0, std); norm weights are 1\n"
    "and F32.  The file is GGUF v3 as llama.cpp's converters write it.\n"
    "\n"
    "shape (named shapes first; any flag below overrides their values):\n"
    "  --shape NAME      tiny  dim 64, 2 layers, 4 heads, 2 kv heads, FFN 192,\n"
    "                          vocab 512, context 256, separate output\n"
    "                    110m  llama2.c stories110M: dim 768, 12 layers,\n"
    "                          12 heads, FFN 2048, vocab 32000, context 1024,\n"
    "                          tied output\n"
    "                    1.1b  TinyLlama: dim 2048, 22 layers, 32 heads,\n"
    "                          4 kv heads, FFN 5632, vocab 32000, context 2048\n"
    "  --dims D,L,H,KV,FF,V,CTX  all seven sizes at once (V and CTX may be\n"
    "                    left out: vocab 512, context 2048)\n"
    "  --dim N  --layers N  --heads N  --hidden N   (required without a\n"
    "                    shape)\n"
    "  --kv-heads N      default: --heads (no grouped-query attention)\n"
    "  --vocab N         synthetic vocabulary size (default 512, at least 259)\n"
    "  --ctx N           context length (default 2048)\n"
    "  --tied, --untied  output matrix tied to token_embd, or separate\n"
    "\n"
    "weights and metadata:\n"
    "  --type T          f32 (default), f16, bf16 or q8_0 (row lengths must\n"
    "                    then be multiples of 32)\n"
    "  --seed N          generator seed, 0 .. 2^64-1 (default 0)\n"
    "  --std X           weight standard deviation (default 0.02)\n"
    "  --rope-base X     llama.rope.freq_base (default 10000)\n"
    "  --eps X           llama.attention.layer_norm_rms_epsilon (default 1e-5)\n"
    "  --vocab FILE.gguf copy the tokenizer.* keys (vocabulary, scores,\n"
    "                    special ids, chat template) of a GGUF file; its\n"
    "                    size is the vocabulary size.  Without it the\n"
    "                    vocabulary is synthetic SentencePiece-style: <unk>,\n"
    "                    <s>, </s>, the 256 byte tokens <0x00>..<0xFF>, then\n"
    "                    U+2581 and printable-ASCII pieces\n"
    "  --force           replace OUT if it exists\n"
    "  -q, --quiet       no summary line\n"
    "  -h, --help        this text\n";

struct mm_args {
    const char *out, *shape, *vocab_file, *type_name;
    int32_t type;
    uint64_t seed;
    bool force, quiet;
    /* -1: not given */
    int64_t dim, layers, heads, kv_heads, hidden, vocab, ctx;
    int tied; /* -1 not given, 0 untied, 1 tied */
    double rope_base, eps, std; /* NAN: not given */
};

static int mm_usage_error(const char *fmt, ...) FTSB_PRINTF(1, 2);
static int mm_usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "ftsb: make-model: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see `ftsb make-model --help`)\n");
    return 2;
}

/* A whole decimal number in [min, max]; false otherwise. */
static bool mm_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;

    if (!*s || *s == ' ' || *s == '+')
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool mm_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static bool mm_real(const char *s, double *out)
{
    char *end;
    double v;

    if (!*s)
        return false;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v <= 0)
        return false;
    *out = v;
    return true;
}

static bool mm_type(const char *s, int32_t *out)
{
    static const struct { const char *name; int32_t type; } t[] = {
        {"f32", LM_F32}, {"f16", LM_F16}, {"bf16", LM_BF16}, {"q8_0", LM_Q8_0}};

    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        if (!strcasecmp(s, t[i].name)) {
            *out = t[i].type;
            return true;
        }
    }
    return false;
}

/* --dims D,L,H,KV,FF[,V[,CTX]]: five to seven numbers, no empty field. */
static bool mm_dims(const char *s, struct mm_args *a)
{
    int64_t *field[] = {&a->dim, &a->layers, &a->heads, &a->kv_heads,
                        &a->hidden, &a->vocab, &a->ctx};
    char num[32];
    int n = 0;

    for (const char *p = s;; n++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 7 || len == 0 || len >= sizeof num)
            return false;
        memcpy(num, p, len);
        num[len] = '\0';
        if (!mm_int(num, 1, INT32_MAX, field[n]))
            return false;
        if (!comma)
            break;
        p = comma + 1;
    }
    return n + 1 >= 5;
}

/* Flags that take a number: name, where it goes, bounds. */
static int mm_number_flag(const char *a, const char *v, struct mm_args *x)
{
    static const struct {
        const char *name;
        size_t off;
        int64_t max;
    } f[] = {
        {"--dim", offsetof(struct mm_args, dim), 1 << 16},
        {"--layers", offsetof(struct mm_args, layers), 1024},
        {"--heads", offsetof(struct mm_args, heads), 1 << 16},
        {"--kv-heads", offsetof(struct mm_args, kv_heads), 1 << 16},
        {"--hidden", offsetof(struct mm_args, hidden), 1 << 20},
        {"--ctx", offsetof(struct mm_args, ctx), 1 << 24},
    };

    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        if (strcmp(a, f[i].name))
            continue;
        if (!mm_int(v, 1, f[i].max, (int64_t *)(void *)((char *)x + f[i].off)))
            return mm_usage_error("%s '%s': expected a whole number from 1 "
                                  "to %" PRId64, a, v, f[i].max);
        return 0;
    }
    return -1;
}

static int mm_parse(int argc, char **argv, struct mm_args *a)
{
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r;

        if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
            fputs(mm_usage, stdout);
            return 0;
        }
        if (!strcmp(f, "--force")) {
            a->force = true;
            continue;
        }
        if (!strcmp(f, "-q") || !strcmp(f, "--quiet")) {
            a->quiet = true;
            continue;
        }
        if (!strcmp(f, "--tied") || !strcmp(f, "--untied")) {
            a->tied = !strcmp(f, "--tied");
            continue;
        }
        if (f[0] != '-' || !f[1]) {
            if (a->out)
                return mm_usage_error("one output file ('%s' is a second)",
                                      f);
            a->out = f;
            continue;
        }
        if (!v)
            return mm_usage_error("option '%s' needs a value, or is unknown",
                                  f);
        i++;
        if ((r = mm_number_flag(f, v, a)) >= 0) {
            if (r)
                return r;
        } else if (!strcmp(f, "--shape")) {
            a->shape = v;
        } else if (!strcmp(f, "--dims")) {
            if (!mm_dims(v, a))
                return mm_usage_error("--dims '%s': expected D,L,H,KV,FF"
                                      "[,V[,CTX]] as whole numbers", v);
        } else if (!strcmp(f, "--type")) {
            if (!mm_type(v, &a->type))
                return mm_usage_error("--type '%s': expected f32, f16, bf16 "
                                      "or q8_0", v);
            a->type_name = v;
        } else if (!strcmp(f, "--seed")) {
            if (!mm_u64(v, &a->seed))
                return mm_usage_error("--seed '%s': expected a whole number "
                                      "from 0 to 18446744073709551615", v);
        } else if (!strcmp(f, "--vocab")) {
            if (v[0] >= '0' && v[0] <= '9' && !strchr(v, '.') &&
                !strchr(v, '/')) {
                if (!mm_int(v, 1, INT32_MAX, &a->vocab))
                    return mm_usage_error("--vocab '%s': expected a size or "
                                          "a .gguf file", v);
                a->vocab_file = NULL;
            } else {
                a->vocab_file = v;
            }
        } else if (!strcmp(f, "--std") || !strcmp(f, "--rope-base") ||
                   !strcmp(f, "--eps")) {
            double *d = !strcmp(f, "--std") ? &a->std
                        : !strcmp(f, "--eps") ? &a->eps : &a->rope_base;
            if (!mm_real(v, d))
                return mm_usage_error("%s '%s': expected a positive number",
                                      f, v);
        } else {
            return mm_usage_error("unknown option '%s'", f);
        }
    }
    return -1;
}

/* The shape: a named one, then every flag given on top of it. */
static int mm_shape(const struct mm_args *a, struct lm_random_shape *s)
{
    struct lm_err err;
    const char *missing = NULL;

    memset(s, 0, sizeof *s);
    if (a->shape) {
        if (lm_random_shape_named(a->shape, s, &err))
            return mm_usage_error("--shape: %s", err.msg);
    } else {
        s->n_vocab = 512;
        s->n_ctx = 2048;
        if (a->dim < 0)
            missing = "--dim";
        else if (a->layers < 0)
            missing = "--layers";
        else if (a->heads < 0)
            missing = "--heads";
        else if (a->hidden < 0)
            missing = "--hidden";
        if (missing)
            return mm_usage_error("give --shape tiny|110m|1.1b, --dims, or "
                                  "the sizes (%s is missing)", missing);
        s->n_head_kv = a->kv_heads < 0 ? a->heads : a->kv_heads;
    }
#define MM_SET(field, v) if ((v) >= 0) s->field = (v)
    MM_SET(dim, a->dim);
    MM_SET(n_layer, a->layers);
    MM_SET(n_head, a->heads);
    MM_SET(n_head_kv, a->kv_heads);
    MM_SET(n_ff, a->hidden);
    MM_SET(n_vocab, a->vocab);
    MM_SET(n_ctx, a->ctx);
#undef MM_SET
    if (a->tied >= 0)
        s->tied = a->tied;
    if (!isnan(a->rope_base))
        s->rope_base = (float)a->rope_base;
    if (!isnan(a->eps))
        s->rms_eps = (float)a->eps;
    if (!isnan(a->std))
        s->std = (float)a->std;
    if (lm_random_shape_check(s, a->type, a->vocab_file != NULL, &err))
        return mm_usage_error("%s", err.msg);
    return -1;
}

int cli_make_model(int argc, char **argv)
{
    struct mm_args a = {
        .type = LM_F32, .dim = -1, .layers = -1, .heads = -1,
        .kv_heads = -1, .hidden = -1, .vocab = -1, .ctx = -1, .tied = -1,
        .rope_base = NAN, .eps = NAN, .std = NAN};
    struct lm_random_shape s;
    struct gguf_file *vocab = NULL;
    struct gguf_file *check = NULL;
    struct lm_err err;
    struct stat st;
    int r;

    if ((r = mm_parse(argc, argv, &a)) >= 0)
        return r;
    if (!a.out)
        return mm_usage_error("%s", "which output file?");
    if ((r = mm_shape(&a, &s)) >= 0)
        return r;
    if (!a.force && stat(a.out, &st) == 0)
        return mm_usage_error("'%s' exists; add --force to replace it", a.out);
    if (a.vocab_file && gguf_open(a.vocab_file, &vocab, &err)) {
        cli_print_err("make-model", err.msg);
        return 1;
    }
    err.msg[0] = '\0';
    if (lm_random_model_write(a.out, &s, a.type, a.seed, vocab, &err) ||
        gguf_open(a.out, &check, &err)) {
        cli_print_err("make-model", err.msg);
        gguf_close(vocab);
        return err.code == FTSB_E_INVALID ? 2 : 1;
    }
    if (!a.quiet) {
        uint64_t params = 0;
        for (uint64_t i = 0; i < gguf_n_tensors(check); i++)
            params += gguf_tensor_at(check, i)->nelem;
        printf("wrote %s: llama, %" PRIu64 " tensors, %" PRIu64
               " parameters, %s, %" PRIu64 " bytes, seed %" PRIu64 "\n",
               a.out, gguf_n_tensors(check), params, lm_type_name(a.type),
               gguf_file_size(check), a.seed);
    }
    gguf_close(check);
    gguf_close(vocab);
    return 0;
}
