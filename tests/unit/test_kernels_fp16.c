/*
 * test_kernels_fp16.c - the F16/BF16/Q8_0 conversions of the Llama engine
 * (src/fp16.c) against straightforward references built from frexp/ldexp
 * and nearbyint (round to nearest even in the default mode): every one of
 * the 65536 F16 and BF16 values up, and on the way down every value, every
 * midpoint between neighbours and its float neighbours, plus a million
 * random float bit patterns.  Q8_0 against a direct quantiser.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fp16.h"
#include "test.h"

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float fbits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t rand32(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* binary16: sign, 5-bit exponent (bias 15), 10-bit mantissa */
static double ref_f16_up(uint16_t h)
{
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 31)
        v = m ? NAN : INFINITY;
    else if (e == 0)
        v = ldexp(m, -24);
    else
        v = ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

/* Nearest F16 to f, ties to even. */
static uint16_t ref_f16_down(float f)
{
    uint16_t sign = signbit(f) ? 0x8000 : 0;
    double a = fabs((double)f);
    int e;

    if (isnan(f))
        return 0x7e00;
    if (a >= 65520.0)
        return sign | 0x7c00;
    if (a < ldexp(1, -14)) /* subnormal range: steps of 2^-24 */
        return sign | (uint16_t)nearbyint(ldexp(a, 24));
    frexp(a, &e); /* a in [2^(e-1), 2^e) */
    int E = e - 1;
    double q = nearbyint(ldexp(a, 10 - E)); /* [1024, 2048] */
    if (q == 2048)
        q = 1024, E++;
    if (E > 15)
        return sign | 0x7c00;
    return sign | (uint16_t)((E + 15) << 10) | (uint16_t)(q - 1024);
}

/* bfloat16: sign, 8-bit exponent (bias 127), 7-bit mantissa */
static double ref_bf16_up(uint16_t b)
{
    int s = b >> 15, e = (b >> 7) & 255, m = b & 127;
    double v;
    if (e == 255)
        v = m ? NAN : INFINITY;
    else if (e == 0)
        v = ldexp(m, -133);
    else
        v = ldexp(128 + m, e - 134);
    return s ? -v : v;
}

static uint16_t ref_bf16_down(float f)
{
    uint16_t sign = signbit(f) ? 0x8000 : 0;
    double a = fabs((double)f);
    int e;

    if (isnan(f))
        return 0x7fc0;
    if (isinf(f))
        return sign | 0x7f80;
    if (a < ldexp(1, -126))
        return sign | (uint16_t)nearbyint(ldexp(a, 133));
    frexp(a, &e);
    int E = e - 1;
    double q = nearbyint(ldexp(a, 7 - E)); /* [128, 256] */
    if (q == 256)
        q = 128, E++;
    if (E > 127)
        return sign | 0x7f80;
    return sign | (uint16_t)((E + 127) << 7) | (uint16_t)(q - 128);
}

static int same_value(float got, double want)
{
    if (isnan(want))
        return isnan(got);
    return (double)got == want && !signbit(got) == !signbit(want);
}

static int is_nan16(uint16_t h, int bf)
{
    return bf ? ((h & 0x7f80) == 0x7f80 && (h & 0x7f))
              : ((h & 0x7c00) == 0x7c00 && (h & 0x3ff));
}

TEST(f16_up_exhaustive)
{
    static uint16_t all[65536];
    static float row[65536], rowp[65536];
    int bad = 0;

    for (uint32_t h = 0; h < 65536; h++)
        all[h] = (uint16_t)h;
    lm_f16_to_f32_row(row, all, 65536);
    lm_f16_to_f32_row_portable(rowp, all, 65536);
    for (uint32_t h = 0; h < 65536; h++) {
        double want = ref_f16_up((uint16_t)h);
        float s = lm_f16_to_f32((uint16_t)h);
        if (!same_value(s, want) || !same_value(row[h], want) ||
            !same_value(rowp[h], want)) {
            if (bad++ < 5)
                printf("  f16 %04x: scalar %g row %g portable %g want %g\n",
                       h, s, row[h], rowp[h], want);
        }
        /* NaN keeps its sign in every path */
        if (isnan(want) && (signbit(s) != signbit(row[h]) ||
                            !!signbit(s) != (h >> 15)))
            bad++;
    }
    CHECK_INT(bad, 0);
}

TEST(f16_down)
{
    int bad = 0;
    long checked = 0;

    /* every value round-trips; midpoints and their neighbours round to
     * nearest even */
    for (uint32_t h = 0; h < 65536; h++) {
        float f = lm_f16_to_f32((uint16_t)h);
        uint16_t back = lm_f32_to_f16(f);
        if (is_nan16((uint16_t)h, 0) ? !is_nan16(back, 0) : back != h)
            if (bad++ < 5)
                printf("  f16 %04x -> %g -> %04x\n", h, f, back);
        if ((h & 0x7fff) < 0x7c00 && (h & 0x7fff) != 0x7bff) {
            float nx = lm_f16_to_f32((uint16_t)(h + 1)); /* next magnitude */
            float mid = (float)(((double)f + nx) / 2); /* exact in F32 */
            float probe[3] = {mid, nextafterf(mid, 0.0f),
                              nextafterf(mid, signbit(f) ? -INFINITY : INFINITY)};
            for (int i = 0; i < 3; i++, checked++) {
                uint16_t got = lm_f32_to_f16(probe[i]);
                if (got != ref_f16_down(probe[i]) && bad++ < 5)
                    printf("  %.9g: got %04x want %04x\n", probe[i], got,
                           ref_f16_down(probe[i]));
            }
        }
    }
    for (int i = 0; i < 1000000; i++, checked++) {
        float f = fbits(rand32() ^ (rand32() << 16));
        uint16_t got = lm_f32_to_f16(f), want = ref_f16_down(f);
        if ((isnan(f) ? !is_nan16(got, 0) : got != want) && bad++ < 5)
            printf("  %.9g (%08x): got %04x want %04x\n", f, bits(f), got,
                   want);
    }
    /* the overflow threshold and the row function */
    CHECK_INT(lm_f32_to_f16(65504.0f), 0x7bff);
    CHECK_INT(lm_f32_to_f16(65519.99f), 0x7bff);
    CHECK_INT(lm_f32_to_f16(65520.0f), 0x7c00);
    CHECK_INT(lm_f32_to_f16(-INFINITY), 0xfc00);
    CHECK_INT(lm_f32_to_f16(0x1p-25f), 0x0000);          /* tie to even 0 */
    CHECK_INT(lm_f32_to_f16(nextafterf(0x1p-25f, 1)), 1); /* above the tie */
    CHECK_INT(lm_f32_to_f16(-0.0f), 0x8000);
    {
        float in[5] = {1.0f, -2.5f, 0x1p-20f, NAN, 1e9f};
        uint16_t out[5];
        lm_f32_to_f16_row(out, in, 5);
        for (int i = 0; i < 5; i++)
            if (!(isnan(in[i]) ? is_nan16(out[i], 0)
                               : out[i] == ref_f16_down(in[i])))
                bad++;
    }
    CHECK_INT(bad, 0);
    CHECK(checked > 1000000);
}

TEST(bf16_exhaustive)
{
    static uint16_t all[65536];
    static float row[65536];
    int bad = 0;

    for (uint32_t b = 0; b < 65536; b++)
        all[b] = (uint16_t)b;
    lm_bf16_to_f32_row(row, all, 65536);
    for (uint32_t b = 0; b < 65536; b++) {
        double want = ref_bf16_up((uint16_t)b);
        float s = lm_bf16_to_f32((uint16_t)b);
        if ((!same_value(s, want) || !same_value(row[b], want)) && bad++ < 5)
            printf("  bf16 %04x: %g / %g want %g\n", b, s, row[b], want);
        uint16_t back = lm_f32_to_bf16(s);
        if ((is_nan16((uint16_t)b, 1) ? !is_nan16(back, 1) : back != b) &&
            bad++ < 5)
            printf("  bf16 %04x round trip -> %04x\n", b, back);
        if ((b & 0x7fff) < 0x7f80 && (b & 0x7fff) != 0x7f7f) {
            float nx = lm_bf16_to_f32((uint16_t)(b + 1));
            float mid = (float)(((double)s + nx) / 2);
            float probe[3] = {mid, nextafterf(mid, 0.0f),
                              nextafterf(mid, signbit(s) ? -INFINITY : INFINITY)};
            for (int i = 0; i < 3; i++)
                if (lm_f32_to_bf16(probe[i]) != ref_bf16_down(probe[i]) &&
                    bad++ < 5)
                    printf("  %.9g: got %04x want %04x\n", probe[i],
                           lm_f32_to_bf16(probe[i]), ref_bf16_down(probe[i]));
        }
    }
    for (int i = 0; i < 1000000; i++) {
        float f = fbits(rand32() ^ (rand32() << 16));
        uint16_t got = lm_f32_to_bf16(f);
        if ((isnan(f) ? !is_nan16(got, 1) : got != ref_bf16_down(f)) &&
            bad++ < 5)
            printf("  %.9g: got %04x want %04x\n", f, got, ref_bf16_down(f));
    }
    /* a signalling NaN whose payload sits in the low 16 bits stays NaN */
    CHECK(is_nan16(lm_f32_to_bf16(fbits(0x7f800001u)), 1));
    CHECK(is_nan16(lm_f32_to_bf16(fbits(0xff800001u)), 1));
    CHECK_INT(lm_f32_to_bf16(fbits(0x7f7fffffu)), 0x7f80); /* FLT_MAX -> inf */
    CHECK_INT(bad, 0);
}

TEST(q8_0_round_trip)
{
    enum { NB = 64, N = NB * LM_Q8_0_BLOCK };
    static float x[N], y[N];
    static struct lm_block_q8_0 q[NB];
    int bad = 0;

    for (int i = 0; i < N; i++)
        x[i] = ((int)(rand32() % 20001) - 10000) * 1e-4f * (1 + i / 256);
    for (int i = 0; i < LM_Q8_0_BLOCK; i++)
        x[i] = 0.0f; /* an all-zero block: d = 0 */
    x[40] = -3.0f;   /* the largest magnitude is negative */
    lm_f32_to_q8_0_row(q, x, N);
    lm_q8_0_to_f32_row(y, q, N);
    for (int b = 0; b < NB; b++) {
        float amax = 0.0f;
        for (int j = 0; j < LM_Q8_0_BLOCK; j++)
            amax = fmaxf(amax, fabsf(x[b * 32 + j]));
        float d = amax / 127.0f;
        if (q[b].d != lm_f32_to_f16(d))
            bad++;
        for (int j = 0; j < LM_Q8_0_BLOCK; j++) {
            int want = d ? (int)roundf(x[b * 32 + j] / d) : 0;
            int i = b * 32 + j;
            /* 1/d times x may round differently from x/d by one step */
            if (abs(q[b].q[j] - want) > 1 ||
                fabsf(y[i] - lm_f16_to_f32(q[b].d) * q[b].q[j]) != 0.0f)
                bad++;
            /* dequantised within half a step plus the F16 scale error */
            if (fabsf(y[i] - x[i]) > 0.5f * d + 127.0f * d * 0x1p-11f + 1e-12f)
                if (bad++ < 5)
                    printf("  block %d [%d]: %g -> %g (d %g)\n", b, j, x[i],
                           y[i], d);
        }
    }
    CHECK_INT(q[0].d, 0);
    CHECK_INT(q[1].q[8], -127); /* x[40] = -3 is the block's max */
    CHECK_INT(bad, 0);
}

/* the fused decode dot against a double sum of the converted row */
TEST(dot_row)
{
    enum { N = 32 * 41 };
    static float w[N], x[N], wc[N];
    static uint16_t h[N];
    static struct lm_block_q8_0 q[N / 32];
    const int lens[4] = {N, 32 * 3, 37, 5}; /* Q8_0 only for multiples of 32 */
    int bad = 0;

    for (int i = 0; i < N; i++)
        w[i] = (float)(rand32() % 2001) / 1000.0f - 1.0f,
        x[i] = (float)(rand32() % 2001) / 1000.0f - 1.0f;
    for (int t = 0; t < 4; t++) {
        const int32_t type = (int32_t[]){LM_F32, LM_F16, LM_BF16, LM_Q8_0}[t];
        const void *row = type == LM_F32 ? (const void *)w
                        : type == LM_Q8_0 ? (const void *)q : (const void *)h;
        if (type == LM_F16)
            lm_f32_to_f16_row(h, w, N);
        else if (type == LM_BF16)
            lm_f32_to_bf16_row(h, w, N);
        else if (type == LM_Q8_0)
            lm_f32_to_q8_0_row(q, w, N);
        lm_to_f32_row(wc, type, row, N);
        for (int k = 0; k < 4; k++) {
            int n = lens[k];
            if (type == LM_Q8_0 && n % 32)
                continue;
            double want = 0.0, mag = 0.0;
            for (int i = 0; i < n; i++)
                want += (double)wc[i] * x[i], mag += fabs((double)wc[i] * x[i]);
            float got = lm_dot_row(type, row, x, n);
            float gotp = lm_dot_row_portable(type, row, x, n);
            if ((fabs(got - want) > 1e-6 * mag || fabs(gotp - want) > 1e-6 * mag) &&
                bad++ < 5)
                printf("  %s n=%d: %g / %g want %g\n", lm_type_name(type), n,
                       got, gotp, want);
        }
    }
    CHECK(isnan(lm_dot_row(LM_Q8_0, q, x, 31)));
    CHECK(isnan(lm_dot_row(2, q, x, 32)));
    CHECK_INT(bad, 0);
}

TEST(type_helpers)
{
    CHECK_INT(lm_type_row_bytes(LM_F32, 10), 40);
    CHECK_INT(lm_type_row_bytes(LM_F16, 10), 20);
    CHECK_INT(lm_type_row_bytes(LM_BF16, 10), 20);
    CHECK_INT(lm_type_row_bytes(LM_Q8_0, 64), 68);
    CHECK_INT(lm_type_row_bytes(LM_Q8_0, 48), -1);
    CHECK_INT(lm_type_row_bytes(2, 64), -1); /* Q4_0 */
    CHECK_INT(lm_type_supported(LM_BF16), 1);
    CHECK_INT(lm_type_supported(39), 0);
    CHECK_STR(lm_type_name(LM_Q8_0), "q8_0");
    {
        uint16_t h[3] = {0x3c00, 0xc000, 0x0001};
        float y[3];
        CHECK_INT(lm_to_f32_row(y, LM_F16, h, 3), 0);
        CHECK(y[0] == 1.0f && y[1] == -2.0f && y[2] == 0x1p-24f);
        CHECK_INT(lm_to_f32_row(y, 3, h, 3), -1);
    }
}

int main(void)
{
    RUN(f16_up_exhaustive);
    RUN(f16_down);
    RUN(bf16_exhaustive);
    RUN(q8_0_round_trip);
    RUN(dot_row);
    RUN(type_helpers);
    return test_summary();
}
