/*
 * sha256.c - SHA-256 as specified in FIPS 180-4, written from the standard
 * (section 6.2: the message schedule, the 64 rounds, and the padding of
 * section 5.1.1).  Plain portable C: cache keys hash kilobytes per call,
 * so speed matters far less than being obviously correct.
 */
#include "../ftsb_setup.h"

#include "sha256.h"

/* The first 32 bits of the fractional parts of the cube roots of the
 * first 64 primes (FIPS 180-4, 4.2.2). */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static uint32_t load_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void store_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* One 64-byte block into the state (FIPS 180-4, 6.2.2). */
static void compress(uint32_t state[8], const unsigned char *block)
{
    uint32_t w[64], a, b, c, d, e, f, g, hh;

    for (int t = 0; t < 16; t++)
        w[t] = load_be32(block + 4 * t);
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^
                      (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^
                      (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    a = state[0], b = state[1], c = state[2], d = state[3];
    e = state[4], f = state[5], g = state[6], hh = state[7];
    for (int t = 0; t < 64; t++) {
        uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + S1 + ch + K[t] + w[t];
        uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        hh = g, g = f, f = e, e = d + t1;
        d = c, c = b, b = a, a = t1 + t2;
    }
    state[0] += a, state[1] += b, state[2] += c, state[3] += d;
    state[4] += e, state[5] += f, state[6] += g, state[7] += hh;
}

void sha256_init(struct sha256 *h)
{
    /* FIPS 180-4, 5.3.3: square roots of the first 8 primes. */
    static const uint32_t iv[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };

    memcpy(h->state, iv, sizeof iv);
    h->n_bytes = 0;
    h->used = 0;
}

void sha256_update(struct sha256 *h, const void *data, size_t len)
{
    const unsigned char *p = data;

    if (!len)
        return; /* data may be NULL, which memcpy must never see */
    h->n_bytes += len;
    if (h->used) {
        size_t take = 64 - h->used < len ? 64 - h->used : len;

        memcpy(h->block + h->used, p, take);
        h->used += take;
        p += take;
        len -= take;
        if (h->used < 64)
            return;
        compress(h->state, h->block);
        h->used = 0;
    }
    /* Whole blocks straight from the input, without copying. */
    for (; len >= 64; p += 64, len -= 64)
        compress(h->state, p);
    if (len) {
        memcpy(h->block, p, len);
        h->used = len;
    }
}

static void add_le64(struct sha256 *h, uint64_t v)
{
    unsigned char b[8];

    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    sha256_update(h, b, sizeof b);
}

void sha256_field(struct sha256 *h, const void *data, size_t len)
{
    add_le64(h, (uint64_t)len);
    sha256_update(h, data, len);
}

void sha256_field_str(struct sha256 *h, const char *s)
{
    if (!s)
        add_le64(h, UINT64_MAX); /* no real string has this length */
    else
        sha256_field(h, s, strlen(s));
}

void sha256_field_i64(struct sha256 *h, int64_t v)
{
    add_le64(h, 8);
    add_le64(h, (uint64_t)v);
}

void sha256_final(struct sha256 *h, unsigned char out[SHA256_DIGEST_SIZE])
{
    uint64_t bits = h->n_bytes * 8;
    unsigned char pad[72] = {0x80};
    /* Pad with 0x80 and zeros to 56 mod 64, then the bit length (5.1.1). */
    size_t npad = (h->used < 56 ? 56 : 120) - h->used;

    for (int i = 0; i < 8; i++)
        pad[npad + i] = (unsigned char)(bits >> (56 - 8 * i));
    sha256_update(h, pad, npad + 8);
    for (int i = 0; i < 8; i++)
        store_be32(out + 4 * i, h->state[i]);
}

void sha256_to_hex(const unsigned char digest[SHA256_DIGEST_SIZE],
                   char out[SHA256_HEX_SIZE])
{
    static const char hex[] = "0123456789abcdef";

    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[2 * SHA256_DIGEST_SIZE] = '\0';
}

void sha256_final_hex(struct sha256 *h, char out[SHA256_HEX_SIZE])
{
    unsigned char d[SHA256_DIGEST_SIZE];

    sha256_final(h, d);
    sha256_to_hex(d, out);
}

void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_SIZE])
{
    struct sha256 h;

    sha256_init(&h);
    sha256_update(&h, data, len);
    sha256_final_hex(&h, out);
}

int sha256_is_hex(const char *s)
{
    size_t i;

    if (!s)
        return 0;
    for (i = 0; s[i]; i++)
        if (i >= 64 || !((s[i] >= '0' && s[i] <= '9') ||
                         (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return i == 64;
}
