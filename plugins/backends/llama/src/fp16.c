/*
 * fp16.c - F16/BF16/Q8_0 <-> F32 conversions and typed dot products (see
 * fp16.h for the contract).  The scalar functions are written for clarity
 * and define the semantics; the portable row functions compute the same
 * values with branch-free lane arithmetic, in loops blocked by LANES so
 * that GCC's "very cheap" -O2 vectoriser accepts them.  On x86 the hot
 * paths switch at run time (cpuid, once) to F16C/AVX2/FMA code: F16 and
 * BF16 rows are widened 8 at a time, and the decode kernel (lm_dot_row)
 * widens weights in registers and multiplies them at once, because
 * decoding reads every weight once per token and must keep up with DRAM,
 * which SSE2 bit arithmetic does not.  The only visible difference of the
 * F16C path is that a signalling NaN comes out quiet (still NaN).
 */
#include "fp16.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LM_HAVE_X86 1
#include <cpuid.h>
#include <immintrin.h>
#include <stdatomic.h>
#endif

#define LANES 16 /* block length of the vectorisable loops */

_Static_assert(sizeof(struct lm_block_q8_0) == 34, "Q8_0 block is 34 bytes");

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ---- scalars ---------------------------------------------------------- */

float lm_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t em = h & 0x7fffu; /* exponent and mantissa */

    if (em >= 0x7c00u) /* inf or NaN: all-ones exponent, payload kept */
        return bits_f32(sign | 0x7f800000u | (em << 13));
    if (em >= 0x0400u) /* normal: rebias the exponent from 15 to 127 */
        return bits_f32(sign | ((em << 13) + 0x38000000u));
    /* zero or subnormal: em * 2^-24, exact in F32 */
    return bits_f32(sign | f32_bits((float)em * 0x1p-24f));
}

uint16_t lm_f32_to_f16(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;

    if (ax > 0x7f800000u) /* NaN: quiet, keep the top payload bits */
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    /* 65520 = halfway between 65504 (largest F16) and 2^16: ties go to the
     * even neighbour, which is the infinity */
    if (ax >= 0x477ff000u)
        return (uint16_t)(sign | 0x7c00u);
    if (ax >= 0x38800000u) { /* >= 2^-14: a normal F16 */
        uint32_t r = ax - 0x38000000u;      /* rebias 127 -> 15 */
        r += 0x0fffu + ((r >> 13) & 1u);    /* round to nearest even */
        return (uint16_t)(sign | (r >> 13)); /* a carry bumps the exponent */
    }
    if (ax <= 0x33000000u) /* <= 2^-25: rounds to zero (2^-25 is a tie) */
        return sign;
    {
        /* subnormal F16: round(|f| * 2^24) with the F32 significand m */
        uint32_t e = ax >> 23;                      /* 102..112 */
        uint32_t m = (ax & 0x7fffffu) | 0x800000u;  /* |f| = m * 2^(e-150) */
        uint32_t shift = 126u - e;                  /* 14..24 */
        uint32_t q = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (q & 1u)))
            q++; /* q == 0x400 is the smallest normal, correctly encoded */
        return (uint16_t)(sign | q);
    }
}

float lm_bf16_to_f32(uint16_t b)
{
    return bits_f32((uint32_t)b << 16);
}

uint16_t lm_f32_to_bf16(float f)
{
    uint32_t x = f32_bits(f);

    if ((x & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it NaN, quiet */
        return (uint16_t)((x >> 16) | 0x40u);
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

/* ---- F16 rows ----------------------------------------------------------- */

/* One lane of lm_f16_to_f32 without branches (selects vectorise). */
static inline uint32_t f16_lane(uint32_t h)
{
    uint32_t sign = (h & 0x8000u) << 16;
    uint32_t em = h & 0x7fffu;
    uint32_t special = 0x7f800000u | (em << 13);
    uint32_t normal = (em << 13) + 0x38000000u;
    uint32_t sub = f32_bits((float)(int32_t)em * 0x1p-24f);
    /* masks instead of ?: so that GCC does not branch (and then not
     * vectorise) */
    uint32_t is_normal = 0u - (uint32_t)(em >= 0x0400u);
    uint32_t is_special = 0u - (uint32_t)(em >= 0x7c00u);
    uint32_t r = (normal & is_normal) | (sub & ~is_normal);
    r = (special & is_special) | (r & ~is_special);
    return sign | r;
}

void lm_f16_to_f32_row_portable(float *restrict y,
                                const uint16_t *restrict x, int64_t n)
{
    int64_t i = 0;

    for (; i + LANES <= n; i += LANES) {
        uint32_t u[LANES];
        for (int j = 0; j < LANES; j++)
            u[j] = f16_lane(x[i + j]);
        memcpy(y + i, u, sizeof u);
    }
    for (; i < n; i++)
        y[i] = lm_f16_to_f32(x[i]);
}

#ifdef LM_HAVE_X86
/* F16C converts 8 values per instruction; NaN payloads come out quieted,
 * which the contract allows (NaN stays NaN). */
__attribute__((target("avx,f16c"))) static void
f16_to_f32_f16c(float *restrict y, const uint16_t *restrict x, int64_t n)
{
    int64_t i = 0;

    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(const void *)(x + i));
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(h));
    }
    for (; i < n; i++)
        y[i] = lm_f16_to_f32(x[i]);
}

/* What the CPU and OS offer, computed once: cpuid traps to the hypervisor
 * in a VM (microseconds), and racing first calls store the same value. */
enum { CPU_UNKNOWN, CPU_BASE, CPU_F16C, CPU_AVX2 };

static int cpu_level(void)
{
    static atomic_int state; /* CPU_UNKNOWN until the first call */
    int s = atomic_load_explicit(&state, memory_order_relaxed);

    if (s == CPU_UNKNOWN) {
        unsigned a, b, c, d;
        s = CPU_BASE;
        if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_OSXSAVE) &&
            (c & bit_AVX) && (c & bit_F16C)) {
            unsigned lo, hi;
            __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
            if ((lo & 6u) == 6u) { /* the OS saves XMM and YMM state */
                s = CPU_F16C;
                if ((c & bit_FMA) && __get_cpuid_count(7, 0, &a, &b, &c, &d) &&
                    (b & bit_AVX2))
                    s = CPU_AVX2;
            }
        }
        atomic_store_explicit(&state, s, memory_order_relaxed);
    }
    return s;
}

#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v),
                          _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* 8 F16 / BF16 values at p, widened to F32 */
AVX2 static inline __m256 load_f16x8(const uint16_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p));
}

AVX2 static inline __m256 load_bf16x8(const uint16_t *p)
{
    __m128i h = _mm_loadu_si128((const __m128i *)(const void *)p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

AVX2 static void bf16_to_f32_avx2(float *restrict y, const uint16_t *restrict x,
                                  int64_t n)
{
    int64_t i = 0;

    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, load_bf16x8(x + i));
    for (; i < n; i++)
        y[i] = lm_bf16_to_f32(x[i]);
}

/* Fused dot products for the decode path (one activation row): each
 * weight is widened in a register and multiplied at once, so the weight
 * bytes are read exactly once and nothing is written.  Four accumulators
 * hide the FMA latency.  A software prefetch PREFETCH bytes ahead raised
 * what one core streams from DRAM from ~9 to ~12.5 GB/s here (the
 * hardware prefetcher alone keeps too few lines in flight); a prefetch
 * past the end of the tensor is harmless (it never faults). */
#define PREFETCH 2048

AVX2 static float dot_f16_avx2(const uint16_t *w, const float *x, int64_t n)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;

    for (; i + 32 <= n; i += 32) {
        const uint16_t *wi = w + i;
        const float *xi = x + i;
        _mm_prefetch((const char *)wi + PREFETCH, _MM_HINT_T0);
        a0 = _mm256_fmadd_ps(load_f16x8(wi), _mm256_loadu_ps(xi), a0);
        a1 = _mm256_fmadd_ps(load_f16x8(wi + 8), _mm256_loadu_ps(xi + 8), a1);
        a2 = _mm256_fmadd_ps(load_f16x8(wi + 16), _mm256_loadu_ps(xi + 16), a2);
        a3 = _mm256_fmadd_ps(load_f16x8(wi + 24), _mm256_loadu_ps(xi + 24), a3);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(load_f16x8(w + i), _mm256_loadu_ps(x + i), a0);
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1),
                                    _mm256_add_ps(a2, a3)));
    for (; i < n; i++)
        s += lm_f16_to_f32(w[i]) * x[i];
    return s;
}

AVX2 static float dot_bf16_avx2(const uint16_t *w, const float *x, int64_t n)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;

    for (; i + 32 <= n; i += 32) {
        const uint16_t *wi = w + i;
        const float *xi = x + i;
        _mm_prefetch((const char *)wi + PREFETCH, _MM_HINT_T0);
        a0 = _mm256_fmadd_ps(load_bf16x8(wi), _mm256_loadu_ps(xi), a0);
        a1 = _mm256_fmadd_ps(load_bf16x8(wi + 8), _mm256_loadu_ps(xi + 8), a1);
        a2 = _mm256_fmadd_ps(load_bf16x8(wi + 16), _mm256_loadu_ps(xi + 16), a2);
        a3 = _mm256_fmadd_ps(load_bf16x8(wi + 24), _mm256_loadu_ps(xi + 24), a3);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(load_bf16x8(w + i), _mm256_loadu_ps(x + i), a0);
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1),
                                    _mm256_add_ps(a2, a3)));
    for (; i < n; i++)
        s += lm_bf16_to_f32(w[i]) * x[i];
    return s;
}

AVX2 static float dot_q8_0_avx2(const struct lm_block_q8_0 *w, const float *x,
                                int64_t n)
{
    __m256 acc = _mm256_setzero_ps();
    int64_t nb = n / LM_Q8_0_BLOCK;

    for (int64_t b = 0; b < nb; b++) {
        const int8_t *q = w[b].q;
        const float *xb = x + b * LM_Q8_0_BLOCK;
        __m256 s = _mm256_setzero_ps();
        _mm_prefetch((const char *)(w + b) + PREFETCH, _MM_HINT_T0);
        for (int k = 0; k < LM_Q8_0_BLOCK; k += 8) {
            __m128i q8 = _mm_loadl_epi64((const __m128i *)(const void *)(q + k));
            __m256 qf = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8));
            s = _mm256_fmadd_ps(qf, _mm256_loadu_ps(xb + k), s);
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(lm_f16_to_f32(w[b].d)), s, acc);
    }
    return hsum256(acc);
}
#endif

void lm_f16_to_f32_row(float *y, const uint16_t *x, int64_t n)
{
#ifdef LM_HAVE_X86
    if (cpu_level() >= CPU_F16C) {
        f16_to_f32_f16c(y, x, n);
        return;
    }
#endif
    lm_f16_to_f32_row_portable(y, x, n);
}

void lm_f32_to_f16_row(uint16_t *y, const float *x, int64_t n)
{
    /* the way down is not hot (writing merged models): scalar is fine */
    for (int64_t i = 0; i < n; i++)
        y[i] = lm_f32_to_f16(x[i]);
}

/* ---- BF16 rows ---------------------------------------------------------- */

void lm_bf16_to_f32_row(float *restrict y, const uint16_t *restrict x,
                        int64_t n)
{
    int64_t i = 0;

#ifdef LM_HAVE_X86
    if (cpu_level() >= CPU_AVX2) {
        bf16_to_f32_avx2(y, x, n);
        return;
    }
#endif

    for (; i + LANES <= n; i += LANES) {
        uint32_t u[LANES];
        for (int j = 0; j < LANES; j++)
            u[j] = (uint32_t)x[i + j] << 16;
        memcpy(y + i, u, sizeof u);
    }
    for (; i < n; i++)
        y[i] = lm_bf16_to_f32(x[i]);
}

void lm_f32_to_bf16_row(uint16_t *restrict y, const float *restrict x,
                        int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = lm_f32_to_bf16(x[i]);
}

/* ---- Q8_0 rows ---------------------------------------------------------- */

void lm_q8_0_to_f32_row(float *restrict y, const struct lm_block_q8_0 *restrict x,
                        int64_t n)
{
    int64_t nb = n / LM_Q8_0_BLOCK;

    for (int64_t b = 0; b < nb; b++) {
        const float d = lm_f16_to_f32(x[b].d);
        float *restrict yb = y + b * LM_Q8_0_BLOCK; /* (32) */
        for (int j = 0; j < LM_Q8_0_BLOCK; j++)
            yb[j] = d * (float)x[b].q[j];
    }
}

void lm_f32_to_q8_0_row(struct lm_block_q8_0 *restrict y,
                        const float *restrict x, int64_t n)
{
    int64_t nb = n / LM_Q8_0_BLOCK;

    for (int64_t b = 0; b < nb; b++) {
        const float *xb = x + b * LM_Q8_0_BLOCK; /* (32) */
        float amax = 0.0f;
        for (int j = 0; j < LM_Q8_0_BLOCK; j++)
            amax = fmaxf(amax, fabsf(xb[j]));
        /* the scale maps the largest magnitude to 127; the F32 scale, not
         * its F16 rounding, divides (ggml does the same, so our files and
         * llama.cpp's quantiser agree bit for bit) */
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = lm_f32_to_f16(d);
        for (int j = 0; j < LM_Q8_0_BLOCK; j++)
            y[b].q[j] = (int8_t)roundf(xb[j] * id);
    }
}

/* ---- dot products of a typed row with an F32 vector ---------------------- */

#define CHUNK 256 /* portable path: convert this many values, then dot */

static float dot_f32(const float *restrict a, const float *restrict b, int64_t n)
{
    float acc[LANES] = {0};
    int64_t i = 0;

    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            acc[j] += a[i + j] * b[i + j];
    float s = 0.0f;
    for (int j = 0; j < LANES; j++)
        s += acc[j];
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* Converts CHUNK values at a time into an L1-resident buffer. */
static float dot_chunked(int32_t type, const void *w, const float *x, int64_t n)
{
    float buf[CHUNK];
    float s = 0.0f;
    int64_t rb = lm_type_row_bytes(type, CHUNK);

    for (int64_t i = 0; i < n; i += CHUNK) {
        int64_t m = n - i < CHUNK ? n - i : CHUNK;
        lm_to_f32_row(buf, type, (const char *)w + i / CHUNK * rb, m);
        s += dot_f32(buf, x + i, m);
    }
    return s;
}

float lm_dot_row(int32_t type, const void *w, const float *x, int64_t n)
{
    switch (type) {
    case LM_F32: return dot_f32(w, x, n);
    case LM_F16:
#ifdef LM_HAVE_X86
        if (cpu_level() >= CPU_AVX2)
            return dot_f16_avx2(w, x, n);
#endif
        return dot_chunked(type, w, x, n);
    case LM_BF16:
#ifdef LM_HAVE_X86
        if (cpu_level() >= CPU_AVX2)
            return dot_bf16_avx2(w, x, n);
#endif
        return dot_chunked(type, w, x, n);
    case LM_Q8_0:
        if (n % LM_Q8_0_BLOCK)
            return NAN;
#ifdef LM_HAVE_X86
        if (cpu_level() >= CPU_AVX2)
            return dot_q8_0_avx2(w, x, n);
#endif
        return dot_chunked(type, w, x, n);
    default: return NAN;
    }
}

float lm_dot_row_portable(int32_t type, const void *w, const float *x,
                          int64_t n)
{
    if (!lm_type_supported(type) || lm_type_row_bytes(type, n) < 0)
        return NAN;
    return type == LM_F32 ? dot_f32(w, x, n) : dot_chunked(type, w, x, n);
}

/* ---- by type ------------------------------------------------------------ */

int lm_type_supported(int32_t type)
{
    return type == LM_F32 || type == LM_F16 || type == LM_Q8_0 ||
           type == LM_BF16;
}

const char *lm_type_name(int32_t type)
{
    switch (type) {
    case LM_F32: return "f32";
    case LM_F16: return "f16";
    case LM_Q8_0: return "q8_0";
    case LM_BF16: return "bf16";
    default: return "?";
    }
}

int64_t lm_type_row_bytes(int32_t type, int64_t n)
{
    if (n < 0)
        return -1;
    switch (type) {
    case LM_F32: return n * 4;
    case LM_F16:
    case LM_BF16: return n * 2;
    case LM_Q8_0:
        if (n % LM_Q8_0_BLOCK)
            return -1;
        return n / LM_Q8_0_BLOCK * (int64_t)sizeof(struct lm_block_q8_0);
    default: return -1;
    }
}

int lm_to_f32_row(float *y, int32_t type, const void *src, int64_t n)
{
    switch (type) {
    case LM_F32: memcpy(y, src, (size_t)n * sizeof *y); return 0;
    case LM_F16: lm_f16_to_f32_row(y, src, n); return 0;
    case LM_BF16: lm_bf16_to_f32_row(y, src, n); return 0;
    case LM_Q8_0:
        if (n % LM_Q8_0_BLOCK)
            return -1;
        lm_q8_0_to_f32_row(y, src, n);
        return 0;
    default: return -1;
    }
}
