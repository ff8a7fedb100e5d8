/*
 * perf_llama.c - speed of the Llama engine's forward pass and scheduler on
 * this machine, against the machine's own limits measured in the same run.
 * (1) The limits: the OpenBLAS sgemm peak (square 2048) and the DRAM read
 * bandwidth (the better of a multi-stream sum and OpenBLAS's sgemv over a
 * 512 MiB array), at 1 and 2 threads.
 * (2) For random-weight models of the llama2.c 110M and the TinyLlama 1.1B
 * shapes, in F32 and F16, at 1 and 2 BLAS threads: prefill tokens/s of a
 * 512-token prompt (one forward call, logits of the last row) with its
 * ratio to the sgemm peak (useful FLOPs / time / peak), and
 * single-sequence decode tokens/s (the n = 1 path) with its ratio to the
 * bandwidth (weight bytes read per token x tokens/s / bandwidth); F16
 * prefill and decode also with the core's 2-thread pool lent through
 * struct lm_parallel, as ftsb lends it to the plugin (the engine converts
 * narrow-weight tiles and runs decode dots on it).
 * (3) Batched generation through lm_generate, with the pool lent: 64 chats
 * at once against one chat alone, aggregate tokens/s (prompt processing
 * included), the two
 * measured alternately, medians of three.  (4) Peak RSS per model (the mapped
 * weights count: F32 weights are used in place from the mapping).
 * llama.cpp's figures from shared/research/native-bench.md are printed
 * beside ours.  The sgemm peak is measured again at the end: if it moved
 * by more than 10 %, someone else used the cores and the ratios are rough.
 * The peak, the other-load and RSS probes and the model cache are
 * perf_common.c's, shared with perf_train.
 *
 * Models are written once into a cache folder (-dir, default
 * $TMPDIR/ftsb-perf-models) by random_model.h and reused by later runs.
 * Usage: perf_llama [-q] [-dir DIR] [-models 110m,1.1b] [-types f32,f16]
 *                   [-threads 1,2] [-decode N] [-bt N] [-no-batch]
 * -q: the 110M model only, fewer tokens; -threads: the thread counts of
 * section 2 (a count not listed skips it); -bt: threads of section 3.  A standalone program: it exits
 * on errors, and it sets OpenBLAS's thread count (it plays the core).
 */
#define _GNU_SOURCE /* pthread, getloadavg */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "forward.h"
#include "generate.h"
#include "model.h"
#include "perf_common.h"
#include "random_model.h"
#include "util/pool.h"

void blas_ensure_fast_kernels(char **argv); /* core/util/blas.h */

#define GB 1e9

/* ---- (1) the limits ------------------------------------------------------ */

/* The read-bandwidth probe: 512 MiB (4x the last-level cache plateau),
 * allocated and touched once. */
#define BW_FLOATS ((size_t)1 << 27)
static float *bw_buf;

static void bw_init(void)
{
    bw_buf = perf_xmalloc(BW_FLOATS * sizeof *bw_buf);
    for (size_t i = 0; i < BW_FLOATS; i++)
        bw_buf[i] = (float)(i & 1023) * 1e-3f;
}

struct bw_job {
    const float *p;
    size_t n;
    float sum;
};

/* Sums its part as 8 interleaved streams: one sequential stream leaves
 * the memory system idle between prefetches (measured here: 1 stream
 * ~7 GB/s, 4-8 streams ~11 GB/s on one core), and the weight rows a
 * matrix-vector product reads are several streams too. */
static void *bw_sum(void *arg)
{
    enum { S = 8, L = 16 };
    struct bw_job *j = arg;
    size_t part = j->n / S;
    float acc[S][L] = {{0}};

    for (size_t i = 0; i + L <= part; i += L)
        for (int s = 0; s < S; s++)
            for (int k = 0; k < L; k++)
                acc[s][k] += j->p[s * part + i + k];
    for (int s = 0; s < S; s++)
        for (int k = 0; k < L; k++)
            j->sum += acc[s][k];
    return NULL;
}

/* DRAM read bandwidth, GB/s, with `threads` threads: the better of two
 * streaming reads of the probe, medians of 3 passes each: our own
 * multi-stream sum (each thread its part), and OpenBLAS's sgemv over the
 * probe as a (65536, 2048) matrix (the kernel F32 decoding runs). */
static double read_bandwidth(int threads)
{
    const size_t n = BW_FLOATS;
    double t[3], u[3];
    volatile float sink = 0;
    float x[2048], y[1];

    for (int i = 0; i < 2048; i++)
        x[i] = 1.0f;
    for (int s = 0; s < 3; s++) {
        pthread_t th[8];
        struct bw_job j[8];
        double t0 = perf_now();
        for (int k = 0; k < threads; k++) {
            j[k] = (struct bw_job){bw_buf + n / threads * k, n / threads, 0};
            if (pthread_create(&th[k], NULL, bw_sum, &j[k]))
                perf_die("pthread_create", "failed");
        }
        for (int k = 0; k < threads; k++) {
            pthread_join(th[k], NULL);
            sink += j[k].sum;
        }
        t[s] = (double)(n * sizeof(float)) / (perf_now() - t0) / GB;
    }
    openblas_set_num_threads(threads);
    for (int s = 0; s < 3; s++) {
        float *yy = perf_xmalloc((n / 2048) * sizeof *yy);
        double t0 = perf_now();
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)(n / 2048), 2048, 1.0f,
                    bw_buf, 2048, x, 1, 0.0f, yy, 1);
        u[s] = (double)(n * sizeof(float)) / (perf_now() - t0) / GB;
        y[0] = yy[0];
        free(yy);
        sink += y[0];
    }
    (void)sink;
    double a = perf_median(t, 3), b = perf_median(u, 3);
    return a > b ? a : b;
}

/* ---- the host's thread pool (core/util/pool.h), as the core lends it ---- */

static void core_pool_run(void *pool, int n_tasks, lm_task_fn fn, void *arg)
{
    (void)pool;
    pool_for(n_tasks, fn, arg);
}

/* ---- (2) prefill and decode -------------------------------------------------- */

struct run {
    const struct lm_model *m;
    struct lm_state st;
    struct lm_kv_pool pool;
    int32_t *ids; /* (T) random prompt tokens */
};

/* One prompt of n tokens through a fresh cache; seconds. */
static double prefill(struct run *r, int n)
{
    struct lm_kv_seq kv = {0};
    struct lm_err e;
    double t0;

    if (lm_kv_seq_alloc(&r->pool, &kv, n, &e))
        perf_die("kv", e.msg);
    struct lm_seg seg = {r->ids, n, &kv, LM_LOGITS_LAST};
    t0 = perf_now();
    if (lm_forward(r->m, &r->st, &r->pool, &seg, 1, &e))
        perf_die("forward", e.msg);
    t0 = perf_now() - t0;
    lm_kv_seq_free(&r->pool, &kv);
    return t0;
}

/* A 16-token prompt, then `steps` tokens decoded one at a time (greedy);
 * returns seconds of the decoding part. */
static double decode(struct run *r, int steps)
{
    struct lm_kv_seq kv = {0};
    struct lm_err e;
    int32_t tok;
    double t0;

    if (lm_kv_seq_alloc(&r->pool, &kv, 16 + steps, &e))
        perf_die("kv", e.msg);
    struct lm_seg seg = {r->ids, 16, &kv, LM_LOGITS_LAST};
    if (lm_forward(r->m, &r->st, &r->pool, &seg, 1, &e))
        perf_die("forward", e.msg);
    tok = lm_argmax(r->st.logits, r->m->cfg.vocab);
    t0 = perf_now();
    for (int i = 0; i < steps; i++) {
        struct lm_seg one = {&tok, 1, &kv, LM_LOGITS_LAST};
        if (lm_forward(r->m, &r->st, &r->pool, &one, 1, &e))
            perf_die("forward", e.msg);
        tok = lm_argmax(r->st.logits, r->m->cfg.vocab);
    }
    t0 = perf_now() - t0;
    lm_kv_seq_free(&r->pool, &kv);
    return t0;
}

/* Useful FLOPs of a prefill of n tokens: the projections of every row,
 * the output projection of the last row, and causal attention (row i
 * scores and mixes i + 1 positions: 2 x 2 D (i + 1) per head).  What the
 * kernels compute above the diagonal is not counted. */
static double prefill_flops(const struct lm_config *c, int n)
{
    double C = c->dim, HD = (double)c->n_heads * c->head_dim,
           GD = (double)c->n_kv_heads * c->head_dim, F = c->ffn;
    double proj = 2.0 * n * (C * HD + 2 * C * GD + HD * C + 3 * C * F);
    double att = 2.0 * n * (n + 1.0) * HD;
    return c->n_layers * (proj + att) + 2.0 * C * c->vocab;
}

/* Bytes one decoded token at position pos reads: every weight matrix
 * once, plus the K and V cache up to pos. */
static double decode_bytes(const struct lm_model *m, int pos)
{
    const struct lm_config *c = &m->cfg;
    return (double)m->weight_bytes +
           2.0 * c->n_layers * (double)pos * c->n_kv_heads * c->head_dim * 4;
}

/* llama.cpp (native-bench.md 3.2, medians): pp512 and tg128 tokens/s. */
struct ref {
    const char *shape, *type;
    double pp[3], tg[3]; /* index = threads */
};
static const struct ref llama_cpp[] = {
    {"110m", "f32", {0, 512.3, 896.1}, {0, 26.63, 51.37}},
    {"110m", "f16", {0, 437.0, 824.1}, {0, 34.82, 67.13}},
    {"1.1b", "f32", {0, 51.61, 95.86}, {0, 3.15, 6.11}},
    {"1.1b", "f16", {0, 48.39, 97.25}, {0, 6.27, 12.16}},
};

static const struct ref *ref_of(const char *shape, const char *type)
{
    for (size_t i = 0; i < sizeof llama_cpp / sizeof *llama_cpp; i++)
        if (!strcmp(llama_cpp[i].shape, shape) &&
            !strcmp(llama_cpp[i].type, type))
            return &llama_cpp[i];
    return NULL;
}

/* ---- (3) batched generation --------------------------------------------------- */

/* n chats of 16 random tokens, new tokens each, greedy, one lm_generate
 * call; aggregate generated tokens/s over the whole call. */
static double generate_rate(const struct lm_model *m, struct lm_state *st,
                            int n, int new_tokens, struct lm_gen_stats *stats)
{
    struct lm_gen_request *rq = perf_xmalloc((size_t)n * sizeof *rq);
    struct lm_gen_result *rs = perf_xmalloc((size_t)n * sizeof *rs);
    int32_t *ids = perf_xmalloc((size_t)n * 16 * sizeof *ids);
    struct lm_gen_opts o = {.max_batch = n, .stats = stats};
    struct lm_err e;
    int64_t total = 0;
    double t0;

    for (int i = 0; i < n; i++) {
        for (int t = 0; t < 16; t++)
            ids[i * 16 + t] = 3 + (int32_t)((i * 7919u + t * 104729u) %
                                            (uint32_t)(m->cfg.vocab - 3));
        memset(&rq[i], 0, sizeof rq[i]);
        rq[i].prompt = ids + i * 16;
        rq[i].n_prompt = 16;
        rq[i].max_new_tokens = new_tokens;
        rq[i].ignore_eos = true;
        rq[i].sampling.top_p = 1.0f;
        rq[i].sampling.repetition_penalty = 1.0f;
    }
    t0 = perf_now();
    if (lm_generate(m, NULL, st, &o, rq, (size_t)n, rs, &e))
        perf_die("generate", e.msg);
    t0 = perf_now() - t0;
    for (int i = 0; i < n; i++) {
        total += rs[i].n_tokens;
        lm_gen_result_free(&rs[i]);
    }
    free(rq);
    free(rs);
    free(ids);
    return (double)total / t0;
}

/* ---- main ------------------------------------------------------------------------ */

struct opts {
    int quick, batch, decode_steps, batch_threads;
    char dir[1024];
    char models[64], types[64], threads[32];
};

int main(int argc, char **argv)
{
    struct opts o = {.batch = 1, .decode_steps = 0, .batch_threads = 2};
    const char *tmp = getenv("TMPDIR");
    double peak[3], bw[3], peak_end;
    static const char *shapes[] = {"110m", "1.1b"};
    static const char *type_names[] = {"f32", "f16"};
    static const int32_t types[] = {LM_F32, LM_F16};

    perf_init("perf_llama");
    blas_ensure_fast_kernels(argv); /* as ftsb does: AVX-512 kernels */
    snprintf(o.dir, sizeof o.dir, "%s/ftsb-perf-models", tmp ? tmp : "/tmp");
    snprintf(o.models, sizeof o.models, "110m,1.1b");
    snprintf(o.types, sizeof o.types, "f32,f16");
    snprintf(o.threads, sizeof o.threads, "1,2");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-q")) {
            o.quick = 1;
            snprintf(o.models, sizeof o.models, "110m");
        } else if (!strcmp(argv[i], "-no-batch")) {
            o.batch = 0;
        } else if (i + 1 < argc && !strcmp(argv[i], "-dir")) {
            snprintf(o.dir, sizeof o.dir, "%s", argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "-models")) {
            snprintf(o.models, sizeof o.models, "%s", argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "-types")) {
            snprintf(o.types, sizeof o.types, "%s", argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "-threads")) {
            snprintf(o.threads, sizeof o.threads, "%s", argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "-bt")) {
            o.batch_threads = atoi(argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "-decode")) {
            o.decode_steps = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: perf_llama [-q] [-dir DIR] [-models "
                    "110m,1.1b] [-types f32,f16] [-threads 1,2] [-decode N] "
                    "[-bt N] [-no-batch]\n");
            return 2;
        }
    }
    mkdir(o.dir, 0755);
    bw_init();
    double load[3] = {0};
    if (getloadavg(load, 3) < 0)
        load[0] = -1;
    printf("# perf_llama\n\nOpenBLAS %s, kernels %s; load average %.2f; "
           "models in %s\n\n", openblas_get_config(), openblas_get_corename(),
           load[0], o.dir);

    printf("## Limits of this machine (at the start)\n\n| threads | sgemm "
           "2048² GFLOP/s | DRAM read GB/s | other load (cores) |\n"
           "|---:|---:|---:|---:|\n");
    for (int t = 1; t <= 2; t++) {
        struct perf_cpu_mark mk = perf_cpu_mark();
        peak[t] = perf_sgemm_peak(t);
        bw[t] = read_bandwidth(t);
        printf("| %d | %.1f | %.1f | %.2f |\n", t, peak[t], bw[t],
               perf_others_since(mk));
    }
    fflush(stdout);

    printf("\n## Prefill (512 tokens) and single-sequence decode\n\n"
           "Each row measures its own limits just before (the machine is "
           "shared): prefill ratio = useful FLOPs (causal attention) / time / sgemm peak; "
           "decode ratio = (weight + KV bytes per token) x tok/s / DRAM read "
           "bandwidth, at the same thread count.  Other load: cores other "
           "processes kept busy during the row (0 = quiet).\n\n"
           "| model | threads | prefill tok/s | GFLOP/s | sgemm peak | of "
           "peak | llama.cpp pp512 | decode tok/s | GB/s | DRAM GB/s | of "
           "bandwidth | llama.cpp tg128 | other load | peak RSS MiB |\n"
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
           "---:|\n");
    pool_start(2); /* the caller and one worker, as `ftsb --threads 2` */
    struct lm_parallel par = {core_pool_run, NULL, 2};

    for (int si = 0; si < 2; si++) {
        for (int ti = 0; ti < 2; ti++) {
            char path[1200];
            struct lm_model *m;
            struct lm_err e;
            struct run r;
            const int P = 512;
            int big = si == 1;
            int steps = o.decode_steps ? o.decode_steps : big ? 16 : 48;
            int reps_p = big ? 1 : 3, reps_d = big ? 2 : 3;

            if (!perf_listed(o.models, shapes[si]) ||
                !perf_listed(o.types, type_names[ti]))
                continue;
            perf_model_file(o.dir, shapes[si], NULL, type_names[ti],
                            types[ti], path, sizeof path);
            perf_rss_reset();
            if (lm_model_load(path, NULL, &m, &e))
                perf_die(path, e.msg);
            memset(&r, 0, sizeof r);
            r.m = m;
            lm_state_init(&r.st);
            lm_kv_pool_init(&r.pool, &m->cfg, 4096);
            r.ids = perf_xmalloc(P * sizeof *r.ids);
            for (int i = 0; i < P; i++)
                r.ids[i] = 3 + (int32_t)((i * 2654435761u) %
                                         (uint32_t)(m->cfg.vocab - 3));
            openblas_set_num_threads(2);
            prefill(&r, 16); /* fault the mapping in, allocate buffers */
            char label[32];
            snprintf(label, sizeof label, "%s %s", shapes[si], type_names[ti]);
            const struct ref *ref = ref_of(shapes[si], type_names[ti]);

            for (int t = 1; t <= 2; t++) {
                char tt[4];
                double tp[4], td[4];
                snprintf(tt, sizeof tt, "%d", t);
                if (!perf_listed(o.threads, tt))
                    continue;
                struct perf_cpu_mark mk;
                double pk, bwt, other;
                /* the limits are measured before and after each part and
                 * averaged: this VM's speed drifts by tens of percent
                 * within a minute even with nothing else running */
                for (int attempt = 1;; attempt++) {
                    mk = perf_cpu_mark();
                    pk = perf_sgemm_peak(t); /* sets the thread count */
                    for (int k = 0; k < reps_p; k++)
                        tp[k] = prefill(&r, P);
                    pk = 0.5 * (pk + perf_sgemm_peak(t));
                    bwt = read_bandwidth(t);
                    for (int k = 0; k < reps_d; k++)
                        td[k] = decode(&r, steps);
                    bwt = 0.5 * (bwt + read_bandwidth(t));
                    other = perf_others_since(mk);
                    if (!perf_disturbed(other, attempt, 4, label))
                        break;
                }
                double pp = P / perf_median(tp, reps_p);
                double gf = prefill_flops(&m->cfg, P) * pp / P / 1e9;
                double tg = steps / perf_median(td, reps_d);
                double bytes = decode_bytes(m, 16 + steps / 2);
                printf("| %s | %d | %.1f | %.0f | %.0f | %.0f %% | %.1f | "
                       "%.2f | %.1f | %.1f | %.0f %% | %.2f | %.2f | %.0f |\n",
                       label, t, pp, gf, pk, 100.0 * gf / pk,
                       ref ? ref->pp[t] : 0.0, tg, bytes * tg / GB, bwt,
                       100.0 * bytes * tg / GB / bwt, ref ? ref->tg[t] : 0.0,
                       other, perf_rss_peak_mib());
                if (t == 2 && types[ti] != LM_F32) {
                    /* narrow weights are converted into tiles (prefill)
                     * and decoded on the calling thread unless the host
                     * lends a pool, as ftsb's does: with one */
                    lm_scratch_set_parallel(&r.st.ws, &par);
                    for (int attempt = 1;; attempt++) {
                        mk = perf_cpu_mark();
                        pk = perf_sgemm_peak(2);
                        for (int k = 0; k < reps_p; k++)
                            tp[k] = prefill(&r, P);
                        pk = 0.5 * (pk + perf_sgemm_peak(2));
                        bwt = read_bandwidth(2);
                        for (int k = 0; k < reps_d; k++)
                            td[k] = decode(&r, steps);
                        bwt = 0.5 * (bwt + read_bandwidth(2));
                        other = perf_others_since(mk);
                        if (!perf_disturbed(other, attempt, 4, label))
                            break;
                    }
                    lm_scratch_set_parallel(&r.st.ws, NULL);
                    pp = P / perf_median(tp, reps_p);
                    gf = prefill_flops(&m->cfg, P) * pp / P / 1e9;
                    tg = steps / perf_median(td, reps_d);
                    printf("| %s, lent 2-thread pool | 2 | %.1f | %.0f | %.0f "
                           "| %.0f %% | %.1f | %.2f | %.1f | %.1f | %.0f %% | "
                           "%.2f | %.2f | %.0f |\n",
                           label, pp, gf, pk, 100.0 * gf / pk,
                           ref ? ref->pp[2] : 0.0, tg, bytes * tg / GB, bwt,
                           100.0 * bytes * tg / GB / bwt,
                           ref ? ref->tg[2] : 0.0, other, perf_rss_peak_mib());
                }
                fflush(stdout);
            }
            free(r.ids);
            lm_state_free(&r.st);
            lm_model_free(m);
        }
    }

    if (o.batch) {
        printf("\n## Batched generation (%d threads): 64 chats of 16 prompt "
               "tokens at once vs one alone\n\n| model | new tokens | 1 chat "
               "tok/s | 64 chats tok/s | ratio | decode steps | prefill s | "
               "decode s | other load | peak RSS MiB |\n|---|---:|---:|---:|"
               "---:|---:|---:|---:|---:|---:|\n", o.batch_threads);
        openblas_set_num_threads(o.batch_threads);
        for (int si = 0; si < 2; si++) {
            for (int ti = 0; ti < 2; ti++) {
                char path[1200];
                struct lm_model *m;
                struct lm_err e;
                struct lm_state st;
                struct lm_gen_stats s1, s64;
                int big = si == 1;
                int new_tokens = big ? 12 : o.quick ? 32 : 48;

                if (!perf_listed(o.models, shapes[si]) ||
                    !perf_listed(o.types, type_names[ti]) || (big && ti == 1))
                    continue; /* 1.1B: F32 only, for time */
                perf_model_file(o.dir, shapes[si], NULL, type_names[ti],
                                types[ti], path, sizeof path);
                perf_rss_reset();
                if (lm_model_load(path, NULL, &m, &e))
                    perf_die(path, e.msg);
                lm_state_init(&st);
                /* as the plugin runs it: the host's pool lent (it matters
                 * for narrow weights only) */
                lm_scratch_set_parallel(&st.ws, &par);
                generate_rate(m, &st, 1, 2, &s1); /* warm-up */
                struct perf_cpu_mark mk;
                double one, many, other;
                /* one and 64 alternate, three times each, medians: the
                 * machine's speed drifts between the two otherwise */
                for (int attempt = 1;; attempt++) {
                    double r1[3], r64[3];
                    mk = perf_cpu_mark();
                    for (int k = 0; k < 3; k++) {
                        r1[k] = generate_rate(m, &st, 1, new_tokens, &s1);
                        r64[k] = generate_rate(m, &st, 64, new_tokens, &s64);
                    }
                    one = perf_median(r1, 3);
                    many = perf_median(r64, 3);
                    other = perf_others_since(mk);
                    if (!perf_disturbed(other, attempt, 4, shapes[si]))
                        break;
                }
                printf("| %s %s | %d | %.2f | %.1f | %.1fx | %lld | %.2f | "
                       "%.2f | %.2f | %.0f |\n", shapes[si], type_names[ti],
                       new_tokens, one, many, many / one,
                       (long long)s64.decode_steps, s64.prefill_s,
                       s64.decode_s, other, perf_rss_peak_mib());
                fflush(stdout);
                lm_state_free(&st);
                lm_model_free(m);
            }
        }
    }

    peak_end = perf_sgemm_peak(2);
    if (getloadavg(load, 3) < 0)
        load[0] = -1;
    printf("\nsgemm peak (2 threads) at the end: %.1f GFLOP/s (%+.0f %% vs the "
           "start); load average %.2f%s\n", peak_end,
           100.0 * (peak_end / peak[2] - 1.0), load[0],
           fabs(peak_end / peak[2] - 1.0) > 0.10
               ? " - the peak moved: other work shared the cores"
               : "");
    printf("peak RSS since the last model was loaded: %.0f MiB\n",
           perf_rss_max_mib());
    pool_stop();
    return 0;
}
