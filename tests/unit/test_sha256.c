/*
 * test_sha256.c - SHA-256 against the FIPS 180 examples, incremental input
 * split at every boundary that matters for the 64-byte blocks and the
 * padding, and the framing of multi-part keys.
 */
#include "ftsb_setup.h"

#include "test.h"
#include "util/sha256.h"

static const char *hex_of(const char *s)
{
    static char out[SHA256_HEX_SIZE];

    sha256_hex(s, strlen(s), out);
    return out;
}

TEST(sha256_fips_examples)
{
    CHECK_STR(hex_of(""), "e3b0c44298fc1c149afbf4c8996fb924"
                          "27ae41e4649b934ca495991b7852b855");
    CHECK_STR(hex_of("abc"), "ba7816bf8f01cfea414140de5dae2223"
                             "b00361a396177a9cb410ff61f20015ad");
    /* The 448-bit message: padding spills into a second block. */
    CHECK_STR(hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039"
              "a33ce45964ff2167f6ecedd419db06c1");
    /* The 896-bit message. */
    CHECK_STR(hex_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                     "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
              "cf5b16a778af8380036ce59e7b049237"
              "0b249b11e8f07a51afac45037afee9d1");
}

TEST(sha256_million_a)
{
    struct sha256 h;
    char out[SHA256_HEX_SIZE], chunk[1000];

    memset(chunk, 'a', sizeof chunk);
    sha256_init(&h);
    for (int i = 0; i < 1000; i++)
        sha256_update(&h, chunk, sizeof chunk);
    sha256_final_hex(&h, out);
    CHECK_STR(out, "cdc76e5c9914fb9281a1c7e284d73e67"
                   "f1809a48a497200e046d39ccc7112cd0");
}

/* Every split of messages around the block and padding boundaries gives
 * the one-shot hash. */
TEST(sha256_incremental_matches_one_shot)
{
    unsigned char msg[200];
    char whole[SHA256_HEX_SIZE], parts[SHA256_HEX_SIZE];
    int bad = 0;

    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (unsigned char)(i * 7 + 3);
    for (size_t len = 0; len <= sizeof msg; len += (len < 130 ? 1 : 7)) {
        sha256_hex(msg, len, whole);
        for (size_t cut = 0; cut <= len; cut++) {
            struct sha256 h;

            sha256_init(&h);
            sha256_update(&h, msg, cut);
            sha256_update(&h, NULL, 0);
            sha256_update(&h, msg + cut, len - cut);
            sha256_final_hex(&h, parts);
            bad += strcmp(whole, parts) != 0;
        }
    }
    CHECK_INT(bad, 0);
}

static void key_of(const char *a, const char *b, char out[SHA256_HEX_SIZE])
{
    struct sha256 h;

    sha256_init(&h);
    sha256_field_str(&h, a);
    sha256_field_str(&h, b);
    sha256_final_hex(&h, out);
}

TEST(sha256_fields_are_unambiguous)
{
    char k1[SHA256_HEX_SIZE], k2[SHA256_HEX_SIZE], k3[SHA256_HEX_SIZE];
    char k4[SHA256_HEX_SIZE];

    key_of("ab", "c", k1);
    key_of("a", "bc", k2);
    key_of("", "abc", k3);
    key_of(NULL, "abc", k4);
    CHECK(strcmp(k1, k2) != 0);
    CHECK(strcmp(k1, k3) != 0 && strcmp(k2, k3) != 0);
    CHECK(strcmp(k3, k4) != 0); /* absent is not empty */
    key_of("ab", "c", k2);
    CHECK_STR(k1, k2);          /* and the same inputs, the same key */
}

TEST(sha256_recognises_hex_keys)
{
    char k[SHA256_HEX_SIZE];

    sha256_hex("x", 1, k);
    CHECK(sha256_is_hex(k));
    CHECK(!sha256_is_hex(NULL));
    CHECK(!sha256_is_hex(""));
    k[63] = '\0';
    CHECK(!sha256_is_hex(k));   /* too short */
    sha256_hex("x", 1, k);
    k[0] = 'A';
    CHECK(!sha256_is_hex(k));   /* uppercase is not our form */
    CHECK(!sha256_is_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c"
                         "a495991b7852b8550"));  /* 65 digits */
}

int main(void)
{
    RUN(sha256_fips_examples);
    RUN(sha256_million_a);
    RUN(sha256_incremental_matches_one_shot);
    RUN(sha256_fields_are_unambiguous);
    RUN(sha256_recognises_hex_keys);
    return test_summary();
}
