/*
 * perf_matmul.c - speed of the Llama engine's matmul wrapper on this
 * machine, section numbers as in README.md: (1) it first validates the
 * wrapper against its naive reference for every weight type (llm.c's
 * dev/cpu habit: never time a wrong kernel), then measures, as medians
 * over repeated samples, (2) the OpenBLAS sgemm peak (square 1024 and
 * 2048; again at the end, since the machine is shared), (3) lm_matmul for
 * F32/F16/BF16/Q8_0 weights at the projection shapes of the llama2.c 110M
 * model and TinyLlama 1.1B for n = 1, 64 and 512 (GFLOP/s, GB/s of weight
 * bytes, ratio to the peak), (4) a 1.1B decode step from one layer's seven
 * products plus the output projection, also with a 2-thread host pool lent
 * through struct lm_parallel, (5) F16 prefill against F32 for several
 * tile bounds, and (6) the fused decode dot against tile + sgemv.
 * Usage: perf_matmul [-t threads] [-q] [-tile bytes] [-only 3|4|5|6].
 * -t calls openblas_set_num_threads (this program plays the core's part);
 * -q runs a shorter list.  A standalone program, so it exits on errors.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fp16.h"
#include "matmul.h"

/* OpenBLAS extensions (declared in its cblas.h; repeated for clarity) */
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
char *openblas_get_corename(void);
void blas_ensure_fast_kernels(char **argv);

#define MiB (1024.0 * 1024.0)

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "perf_matmul: out of memory (%zu MiB)\n", n >> 20);
        exit(EXIT_FAILURE);
    }
    return p;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static float frand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 11) * 0x1p-53 * 2.0 - 1.0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds per call over `samples` samples of at least min_s each. */
typedef void (*bench_fn)(void *ctx);
static double median_time(bench_fn f, void *ctx, int samples, double min_s)
{
    double t[16];
    f(ctx); /* warm-up: tile allocation, BLAS thread start, page faults */
    for (int s = 0; s < samples; s++) {
        double t0 = now(), el;
        int reps = 0;
        do {
            f(ctx);
            reps++;
        } while ((el = now() - t0) < min_s);
        t[s] = el / reps;
    }
    qsort(t, (size_t)samples, sizeof t[0], cmp_double);
    return t[samples / 2];
}

/* ---- a host thread pool (what the core would lend) -------------------- */

/* Persistent workers waiting on a condition variable (passively, as the
 * engine's contract asks); the calling thread takes tasks too. */
struct tpool {
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    lm_task_fn fn;
    void *arg;
    int n_tasks, next, pending, gen, quit, nth;
    pthread_t th[8];
};

/* takes and runs tasks until none is left; called with mu held */
static void tpool_drain(struct tpool *p)
{
    while (p->next < p->n_tasks) {
        int i = p->next++;
        pthread_mutex_unlock(&p->mu);
        p->fn(p->arg, i);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
    }
}

static void *tpool_worker(void *arg)
{
    struct tpool *p = arg;
    int seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->gen == seen && !p->quit)
            pthread_cond_wait(&p->go, &p->mu);
        if (p->quit)
            break;
        seen = p->gen;
        tpool_drain(p);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void tpool_run(void *pool, int n_tasks, lm_task_fn fn, void *arg)
{
    struct tpool *p = pool;
    pthread_mutex_lock(&p->mu);
    p->fn = fn, p->arg = arg, p->n_tasks = n_tasks;
    p->next = 0, p->pending = n_tasks, p->gen++;
    pthread_cond_broadcast(&p->go);
    tpool_drain(p);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

static void tpool_start(struct tpool *p, int workers)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    p->nth = workers;
    for (int i = 0; i < workers; i++)
        if (pthread_create(&p->th[i], NULL, tpool_worker, p)) {
            fprintf(stderr, "perf_matmul: pthread_create failed\n");
            exit(EXIT_FAILURE);
        }
}

static void tpool_stop(struct tpool *p)
{
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nth; i++)
        pthread_join(p->th[i], NULL);
}

/* ---- weights ---------------------------------------------------------- */

/* copies of one (out, in) weight of a type, cycled so that decode reads
 * weights from DRAM rather than from the last-level cache */
struct pool {
    struct lm_tensor t[64];
    int count, next;
    size_t bytes; /* of one copy */
};

static void pool_make(struct pool *p, int32_t type, int out, int in,
                      double min_total)
{
    size_t n = (size_t)out * in;
    float *f = xmalloc(n * sizeof *f);
    p->bytes = (size_t)lm_type_row_bytes(type, in) * (size_t)out;
    p->count = (int)ceil(min_total / (double)p->bytes);
    if (p->count < 1)
        p->count = 1;
    if (p->count > 64)
        p->count = 64;
    p->next = 0;
    for (size_t i = 0; i < n; i++)
        f[i] = 0.02f * frand(); /* the scale of real weights */
    for (int c = 0; c < p->count; c++) {
        void *mem = xmalloc(p->bytes);
        if (c > 0) /* same values at another address: enough to miss cache */
            memcpy(mem, p->t[0].data, p->bytes);
        else if (type == LM_F32)
            memcpy(mem, f, n * sizeof *f);
        else if (type == LM_F16)
            lm_f32_to_f16_row(mem, f, (int64_t)n);
        else if (type == LM_BF16)
            lm_f32_to_bf16_row(mem, f, (int64_t)n);
        else
            lm_f32_to_q8_0_row(mem, f, (int64_t)n);
        p->t[c] = (struct lm_tensor){type, mem, out, in};
    }
    free(f);
}

static void pool_free(struct pool *p)
{
    for (int c = 0; c < p->count; c++)
        free((void *)p->t[c].data);
    p->count = 0;
}

/* ---- benches ------------------------------------------------------------ */

struct mm_ctx {
    struct pool *p;
    float *x, *y;
    int n, in, out;
    struct lm_scratch *ws;
};

static void run_matmul(void *c_)
{
    struct mm_ctx *c = c_;
    const struct lm_tensor *w = &c->p->t[c->p->next];
    c->p->next = (c->p->next + 1) % c->p->count;
    if (lm_matmul(c->y, c->x, w, c->n, c->in, c->out, c->ws)) {
        fprintf(stderr, "perf_matmul: %s\n", c->ws->err.msg);
        exit(EXIT_FAILURE);
    }
}

struct sq_ctx {
    float *a, *b, *c;
    int n;
};

static void run_sgemm(void *c_)
{
    struct sq_ctx *c = c_;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->n, c->n, c->n,
                1.0f, c->a, c->n, c->b, c->n, 0.0f, c->c, c->n);
}

struct conv_ctx {
    struct pool *p;
    float *tile;
    int rows, in, out;
};

/* the conversion work of one F16 product alone, tile by tile */
static void run_convert(void *c_)
{
    struct conv_ctx *c = c_;
    const struct lm_tensor *w = &c->p->t[c->p->next];
    c->p->next = (c->p->next + 1) % c->p->count;
    int64_t rb = lm_type_row_bytes(w->type, c->in);
    for (int r0 = 0; r0 < c->out; r0 += c->rows) {
        int nr = c->out - r0 < c->rows ? c->out - r0 : c->rows;
        lm_to_f32_row(c->tile, w->type, (const char *)w->data + r0 * rb,
                      (int64_t)nr * c->in);
    }
}

/* the alternative decode path: convert a tile, then sgemv on it */
struct tile_ctx {
    struct pool *p;
    float *x, *y, *tile;
    int rows, in, out;
};

static void run_tile_gemv(void *c_)
{
    struct tile_ctx *c = c_;
    const struct lm_tensor *w = &c->p->t[c->p->next];
    c->p->next = (c->p->next + 1) % c->p->count;
    int64_t rb = lm_type_row_bytes(w->type, c->in);
    for (int r0 = 0; r0 < c->out; r0 += c->rows) {
        int nr = c->out - r0 < c->rows ? c->out - r0 : c->rows;
        lm_to_f32_row(c->tile, w->type, (const char *)w->data + r0 * rb,
                      (int64_t)nr * c->in);
        cblas_sgemv(CblasRowMajor, CblasNoTrans, nr, c->in, 1.0f, c->tile,
                    c->in, c->x, 1, 0.0f, c->y + r0, 1);
    }
}

/* prints the table rows and returns the best of the two sizes */
static double sgemm_peak(void)
{
    double peak = 0.0;
    for (int n = 1024; n <= 2048; n *= 2) {
        struct sq_ctx c = {xmalloc((size_t)n * n * 4), xmalloc((size_t)n * n * 4),
                           xmalloc((size_t)n * n * 4), n};
        for (size_t i = 0; i < (size_t)n * n; i++)
            c.a[i] = frand(), c.b[i] = frand();
        double t = median_time(run_sgemm, &c, 5, 0.15);
        double gf = 2.0 * n * n * (double)n / t * 1e-9;
        peak = gf > peak ? gf : peak;
        printf("| %d | %.1f |\n", n, gf);
        free(c.a), free(c.b), free(c.c);
    }
    return peak;
}

static const char *loadavg(void)
{
    static char buf[64];
    FILE *f = fopen("/proc/loadavg", "r");
    buf[0] = 0;
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            buf[0] = 0;
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = 0;
    return buf;
}

/* ---- validation ------------------------------------------------------- */

static const int32_t types[4] = {LM_F32, LM_F16, LM_BF16, LM_Q8_0};

static void validate(size_t tile_bytes)
{
    const int shapes[3][3] = {{1, 256, 96}, {7, 256, 96}, {3, 768, 2048}};
    struct lm_scratch ws;

    lm_scratch_init(&ws, tile_bytes);
    lm_scratch_set_reference(&ws, 0);
    printf("validation against lm_matmul_ref (NMSE):");
    for (int ti = 0; ti < 4; ti++) {
        for (int s = 0; s < 3; s++) {
            int n = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
            struct pool p;
            float *x = xmalloc((size_t)n * in * 4);
            float *y = xmalloc((size_t)n * out * 4), *yr = xmalloc((size_t)n * out * 4);
            pool_make(&p, types[ti], out, in, 0);
            for (int i = 0; i < n * in; i++)
                x[i] = frand();
            if (lm_matmul(y, x, &p.t[0], n, in, out, &ws)) {
                fprintf(stderr, "perf_matmul: %s\n", ws.err.msg);
                exit(EXIT_FAILURE);
            }
            lm_matmul_ref(yr, x, &p.t[0], n, in, out);
            double num = 0, den = 0;
            for (int i = 0; i < n * out; i++) {
                num += ((double)y[i] - yr[i]) * ((double)y[i] - yr[i]);
                den += (double)yr[i] * yr[i];
            }
            if (!(num / den < 1e-10)) {
                fprintf(stderr, "\nperf_matmul: %s n=%d in=%d out=%d: NMSE "
                        "%g; not timing a wrong kernel\n",
                        lm_type_name(types[ti]), n, in, out, num / den);
                exit(EXIT_FAILURE);
            }
            if (s == 2)
                printf(" %s %.1e", lm_type_name(types[ti]), num / den);
            pool_free(&p);
            free(x), free(y), free(yr);
        }
    }
    printf("  ok\n\n");
    lm_scratch_free(&ws);
}

/* ---- main ---------------------------------------------------------------- */

struct shape {
    const char *model, *name;
    int in, out;
};

static const struct shape shapes[] = {
    {"110M", "ffn_up/gate", 768, 2048},
    {"110M", "ffn_down", 2048, 768},
    {"110M", "output", 768, 32000},
    {"1.1B", "attn_q/o", 2048, 2048},
    {"1.1B", "ffn_up/gate", 2048, 5632},
    {"1.1B", "ffn_down", 5632, 2048},
    {"1.1B", "output", 2048, 32000},
};

int main(int argc, char **argv)
{
    int threads = 0, quick = 0, only = 0;
    size_t tile_bytes = 0;
    const double cache_beater = 320.0 * MiB; /* > the measured LLC plateau */

    blas_ensure_fast_kernels(argv);   /* as `ftsb` does (core/util/blas.h) */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-t") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-q"))
            quick = 1;
        else if (!strcmp(argv[i], "-tile") && i + 1 < argc)
            tile_bytes = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "-only") && i + 1 < argc)
            only = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: perf_matmul [-t threads] [-q] "
                    "[-tile bytes] [-only 3|4|5|6]\n");
            return 2;
        }
    }
    if (threads > 0)
        openblas_set_num_threads(threads);
    printf("# perf_matmul\nOpenBLAS: %s, core %s, %d thread(s); tile %zu KiB\n\n",
           openblas_get_config(), openblas_get_corename(),
           openblas_get_num_threads(),
           (tile_bytes ? tile_bytes : LM_TILE_BYTES_DEFAULT) >> 10);

#if defined(__x86_64__)
    if (!strcmp(openblas_get_corename(), "Prescott") &&
        __builtin_cpu_supports("avx2"))
        printf("WARNING: OpenBLAS fell back to its generic Prescott (SSE3) "
               "kernels on this AVX2/AVX-512 CPU (a CPU model this OpenBLAS "
               "does not know): sgemm runs at a fraction of its speed.  Run "
               "with OPENBLAS_CORETYPE=SkylakeX (AVX-512) or Haswell (AVX2)."
               "\n\n");
#endif
    validate(tile_bytes);

    /* 1. sgemm peak (sections 1 and 2 always run) */
    printf("load average: %s\n", loadavg());
    printf("## sgemm peak (square, C = A.B, median of 5)\n\n| n | GFLOP/s |\n|---:|---:|\n");
    double peak = sgemm_peak();
    printf("\npeak used for ratios: %.1f GFLOP/s (re-measured at the end)\n\n", peak);

    /* 2. the wrapper per shape, type and n */
    struct lm_scratch ws;
    lm_scratch_init(&ws, tile_bytes);
    lm_scratch_set_reference(&ws, 0);
    float *x = xmalloc((size_t)512 * 5632 * 4), *y = xmalloc((size_t)512 * 32000 * 4);
    for (size_t i = 0; i < (size_t)512 * 5632; i++)
        x[i] = frand();
    if (!only || only == 3)
        printf("## lm_matmul, Y(n,out) = X(n,in) . W^T (median of 5)\n\n"
               "| model | weight | out x in | type | n | ms | GFLOP/s | weight GB/s | of peak |\n"
               "|---|---|---|---|---:|---:|---:|---:|---:|\n");
    const int ns[3] = {1, 64, 512};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const struct shape *s = &shapes[si];
        if (only && only != 3)
            break;
        if (quick && si != 0 && si != 4)
            continue;
        for (int ti = 0; ti < 4; ti++) {
            struct pool p;
            /* copies beyond the LLC so that decode streams from DRAM
             * (prefill is compute-bound either way) */
            pool_make(&p, types[ti], s->out, s->in, cache_beater);
            for (int k = 0; k < 3; k++) {
                int n = ns[k];
                if (n == 512 && (s->out == 32000 && ti != 0 && ti != 1))
                    continue; /* keep the run short: output n=512 F32/F16 only */
                struct mm_ctx c = {&p, x, y, n, s->in, s->out, &ws};
                double t = median_time(run_matmul, &c, 5, n == 1 ? 0.05 : 0.1);
                double gf = 2.0 * n * s->in * (double)s->out / t * 1e-9;
                double gbs = (double)p.bytes / t * 1e-9;
                printf("| %s | %s | %d x %d | %s | %d | %.3f | %.1f | %.1f | %.0f%% |\n",
                       s->model, s->name, s->out, s->in, lm_type_name(types[ti]),
                       n, t * 1e3, gf, gbs, 100.0 * gf / peak);
                fflush(stdout);
            }
            pool_free(&p);
        }
    }

    /* 3. one 1.1B decode step, per type: 22 layers of 7 products + output */
    if (!only || only == 4) {
        printf("\n## TinyLlama 1.1B decode step estimate (n = 1, weights from DRAM)\n\n"
               "| type | layer ms | output ms | token ms | tok/s | weight GB/s |\n"
               "|---|---:|---:|---:|---:|---:|\n");
        /* (out, in) of q, k, v, o, gate, up, down */
        const int lay[7][2] = {{2048, 2048}, {256, 2048}, {256, 2048},
                               {2048, 2048}, {5632, 2048}, {5632, 2048},
                               {2048, 5632}};
        struct tpool tp;
        struct lm_parallel par = {tpool_run, &tp, 2};
        tpool_start(&tp, 1);
        for (int tj = 0; tj < 7; tj++) {
            /* 0..3: every type on one thread (narrow) / BLAS (f32);
             * 4..6: the narrow types with a 2-thread host pool */
            int ti = tj < 4 ? tj : tj - 3;
            lm_scratch_set_parallel(&ws, tj < 4 ? NULL : &par);
            double layer_t = 0.0, layer_b = 0.0;
            for (int j = 0; j < 7; j++) {
                struct pool p;
                pool_make(&p, types[ti], lay[j][0], lay[j][1], cache_beater);
                struct mm_ctx c = {&p, x, y, 1, lay[j][1], lay[j][0], &ws};
                layer_t += median_time(run_matmul, &c, 5, 0.03);
                layer_b += (double)p.bytes;
                pool_free(&p);
            }
            struct pool p;
            pool_make(&p, types[ti], 32000, 2048, cache_beater);
            struct mm_ctx c = {&p, x, y, 1, 2048, 32000, &ws};
            double out_t = median_time(run_matmul, &c, 5, 0.05);
            double tok = 22 * layer_t + out_t;
            printf("| %s%s | %.2f | %.2f | %.1f | %.1f | %.1f |\n",
                   lm_type_name(types[ti]), tj < 4 ? "" : ", 2 host threads",
                   layer_t * 1e3, out_t * 1e3,
                   tok * 1e3, 1.0 / tok,
                   (22 * layer_b + (double)p.bytes) / tok * 1e-9);
            pool_free(&p);
            fflush(stdout);
        }
        lm_scratch_set_parallel(&ws, NULL);
        tpool_stop(&tp);
    }

    /* 4. conversion share of F16 prefill, and the tile size sweep: each
     * tile is one sgemm, which repacks X, so small tiles cost more than
     * their conversion */
    if (!only || only == 5) {
        printf("\n## F16 prefill: tile size, conversion share, overhead over F32 weights\n\n"
               "| weight | n | tile KiB | rows/tile | F16 ms | conversion ms | F32 ms | F16 / F32 |\n"
               "|---|---:|---:|---:|---:|---:|---:|---:|\n");
        const size_t tiles[4] = {256 << 10, 1 << 20, 4 << 20, 16 << 20};
        const int sh[2][2] = {{5632, 2048}, {2048, 5632}}; /* (out, in) */
        for (int si = 0; si < 2; si++) {
            int out = sh[si][0], in = sh[si][1];
            if (quick && si)
                continue;
            struct pool pf, ph;
            pool_make(&pf, LM_F32, out, in, 0);
            pool_make(&ph, LM_F16, out, in, 0);
            for (int kn = 1; kn < 3; kn++) { /* n = 1 uses no tile */
                int n = ns[kn];
                struct mm_ctx cf = {&pf, x, y, n, in, out, &ws};
                double t32 = median_time(run_matmul, &cf, 5, 0.1);
                for (int k = 0; k < 4; k++) {
                    struct lm_scratch w2;
                    lm_scratch_init(&w2, tiles[k]);
                    lm_scratch_set_reference(&w2, 0);
                    struct mm_ctx c = {&ph, x, y, n, in, out, &w2};
                    double t = median_time(run_matmul, &c, 5, 0.1);
                    int rows = (int)(tiles[k] / 4 / (size_t)in);
                    struct conv_ctx cc = {&ph, xmalloc(tiles[k]), rows, in, out};
                    double tc = median_time(run_convert, &cc, 5, 0.05);
                    printf("| %d x %d | %d | %zu | %d | %.2f | %.2f | %.2f | %.2f |\n",
                           out, in, n, tiles[k] >> 10, rows, t * 1e3, tc * 1e3,
                           t32 * 1e3, t / t32);
                    free(cc.tile);
                    lm_scratch_free(&w2);
                    fflush(stdout);
                }
            }
            pool_free(&pf);
            pool_free(&ph);
        }
    }

    /* 5. why decode does not use tiles: fused dot vs convert + sgemv */
    if (!only || only == 6)
        printf("\n## Decode of narrow weights: fused dot (lm_matmul) vs convert-tile + sgemv\n\n"
               "| type | fused ms | fused GB/s | tile+sgemv ms | tile+sgemv GB/s |\n"
               "|---|---:|---:|---:|---:|\n");
    for (int ti = 1; ti < 4 && (!only || only == 6); ti++) {
        struct pool p;
        pool_make(&p, types[ti], 5632, 2048, cache_beater);
        struct mm_ctx c = {&p, x, y, 1, 2048, 5632, &ws};
        double tf = median_time(run_matmul, &c, 5, 0.05);
        struct tile_ctx tc = {&p, x, y, xmalloc(LM_TILE_BYTES_DEFAULT),
                              (int)(LM_TILE_BYTES_DEFAULT / 4 / 2048), 2048, 5632};
        double tt = median_time(run_tile_gemv, &tc, 5, 0.05);
        printf("| %s | %.3f | %.1f | %.3f | %.1f |\n", lm_type_name(types[ti]),
               tf * 1e3, (double)p.bytes / tf * 1e-9, tt * 1e3,
               (double)p.bytes / tt * 1e-9);
        free(tc.tile);
        pool_free(&p);
    }
    free(x), free(y);
    lm_scratch_free(&ws);
    printf("\n## sgemm peak again, at the end\n\n| n | GFLOP/s |\n|---:|---:|\n");
    double peak2 = sgemm_peak();
    printf("\nload average: %s\n", loadavg());
    if (fabs(peak2 - peak) > 0.1 * peak)
        printf("WARNING: the peak moved by %.0f%% during the run: the machine "
               "is shared, ratios are unreliable\n",
               100.0 * (peak2 - peak) / peak);
    return 0;
}
