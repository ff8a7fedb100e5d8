/*
 * sha256.h - SHA-256 (FIPS 180-4), incremental, with hex output.
 *
 * The run store keys its caches by the hex SHA-256 of their inputs, and
 * runs by a hash of their configuration.  A key built from several inputs
 * must not be ambiguous ("ab"+"c" and "a"+"bc" must differ), so besides
 * raw sha256_update() there is sha256_field(), which frames each input
 * with its length; build every multi-part key with it.
 *
 *     struct sha256 h;
 *     char key[SHA256_HEX_SIZE];
 *     sha256_init(&h);
 *     sha256_field_str(&h, fingerprint);
 *     sha256_field_str(&h, rendered_chat);
 *     sha256_final_hex(&h, key);
 */
#ifndef FTSB_SHA256_H
#define FTSB_SHA256_H

#include "../ftsb_setup.h"

#define SHA256_DIGEST_SIZE 32
#define SHA256_HEX_SIZE 65 /* 64 lowercase hex digits and the NUL */

/* The running state; treat the members as private. */
struct sha256 {
    uint32_t state[8];
    uint64_t n_bytes;        /* message length so far */
    unsigned char block[64]; /* a partial block waiting for more input */
    size_t used;             /* bytes of block in use */
};

void sha256_init(struct sha256 *h);
/* Adds len bytes; data may be NULL when len is 0. */
void sha256_update(struct sha256 *h, const void *data, size_t len);
/* Adds one framed field: its length as 8 little-endian bytes, then the
 * bytes, so that a sequence of fields hashes unambiguously. */
void sha256_field(struct sha256 *h, const void *data, size_t len);
/* A framed NUL-terminated string; NULL is framed differently from "" (as
 * the length 2^64-1 with no bytes), so absent and empty never collide. */
void sha256_field_str(struct sha256 *h, const char *s);
/* A framed signed integer (8 little-endian bytes, itself framed). */
void sha256_field_i64(struct sha256 *h, int64_t v);
/* Finishes the hash.  h must be re-initialised before it is used again. */
void sha256_final(struct sha256 *h, unsigned char out[SHA256_DIGEST_SIZE]);
/* Finishes the hash as 64 lowercase hex digits and a NUL. */
void sha256_final_hex(struct sha256 *h, char out[SHA256_HEX_SIZE]);

/* digest as lowercase hex, NUL-terminated. */
void sha256_to_hex(const unsigned char digest[SHA256_DIGEST_SIZE],
                   char out[SHA256_HEX_SIZE]);
/* One-shot: the hex SHA-256 of len bytes at data. */
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_SIZE]);

/* Non-zero when s is exactly 64 lowercase hex digits (a hex SHA-256). */
int sha256_is_hex(const char *s);

#endif /* FTSB_SHA256_H */
