/*
 * file_hash.c - the content hash of file_hash.h.  Each 32-byte block feeds
 * one 64-bit word to each of four lanes: lane = rotl(lane + w * P1, 31) *
 * P2, independent chains the CPU overlaps.  The final value mixes the
 * lanes, the tail bytes and the length through a strong 64-bit finaliser,
 * so flipping any input bit flips about half the output bits.  Words are
 * read little-endian whatever the host, so a hash is the same everywhere.
 */
#define _POSIX_C_SOURCE 200809L

#include "file_hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define P1 0x9e3779b185ebca87ULL
#define P2 0xc2b2ae3d27d4eb4fULL
#define P3 0x165667b19e3779f9ULL

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t fmix(uint64_t z)
{
    z ^= z >> 33;
    z *= 0xff51afd7ed558ccdULL;
    z ^= z >> 33;
    z *= 0xc4ceb9fe1a85ec53ULL;
    return z ^ (z >> 33);
}

void lm_hash_init(struct lm_hash_state *h)
{
    memset(h, 0, sizeof *h);
    h->lane[0] = P1 + P2;
    h->lane[1] = P2;
    h->lane[2] = 0;
    h->lane[3] = 0 - P1;
}

static void block(uint64_t *lane, const uint8_t *p)
{
    for (int i = 0; i < 4; i++)
        lane[i] = rotl(lane[i] + le64(p + 8 * i) * P1, 31) * P2;
}

void lm_hash_update(struct lm_hash_state *h, const void *data, size_t n)
{
    const uint8_t *p = data;

    h->total += n;
    if (h->n_tail) {
        size_t take = 32 - h->n_tail < n ? 32 - h->n_tail : n;
        memcpy(h->tail + h->n_tail, p, take);
        h->n_tail += take;
        p += take;
        n -= take;
        if (h->n_tail < 32)
            return;
        block(h->lane, h->tail);
        h->n_tail = 0;
    }
    for (; n >= 32; p += 32, n -= 32)
        block(h->lane, p);
    memcpy(h->tail, p, n);
    h->n_tail = n;
}

uint64_t lm_hash_final(const struct lm_hash_state *h)
{
    uint64_t acc = rotl(h->lane[0], 1) + rotl(h->lane[1], 7) +
                   rotl(h->lane[2], 12) + rotl(h->lane[3], 18);

    for (int i = 0; i < 4; i++)
        acc = (acc ^ fmix(h->lane[i])) * P1 + P3;
    for (size_t i = 0; i < h->n_tail; i++)
        acc = rotl(acc ^ (h->tail[i] * P3), 11) * P1;
    return fmix(acc ^ h->total);
}

uint64_t lm_hash64(const void *data, size_t n)
{
    struct lm_hash_state h;

    lm_hash_init(&h);
    lm_hash_update(&h, data, n);
    return lm_hash_final(&h);
}

ftsb_status lm_file_id_of(const char *path, struct lm_file_id *id,
                          struct lm_err *err)
{
    struct stat sb;

    if (stat(path, &sb) != 0)
        return lm_fail(err, FTSB_E_IO, "cannot read '%s': %s", path,
                       strerror(errno));
    memset(id, 0, sizeof *id);
    id->size = (uint64_t)sb.st_size;
    id->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    id->inode = (uint64_t)sb.st_ino;
    id->device = (uint64_t)sb.st_dev;
    return FTSB_OK;
}

ftsb_status lm_file_hash(const char *path, uint64_t *out, struct lm_err *err)
{
    enum { CHUNK = 8 << 20 };
    struct lm_hash_state h;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint8_t *buf;
    ssize_t r;

    if (fd < 0)
        return lm_fail(err, FTSB_E_IO, "cannot open '%s': %s", path,
                       strerror(errno));
    if (!(buf = malloc(CHUNK))) {
        close(fd);
        return lm_fail(err, FTSB_E_NOMEM, "out of memory");
    }
    lm_hash_init(&h);
    while ((r = read(fd, buf, CHUNK)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return lm_fail(err, FTSB_E_IO, "cannot read '%s': %s", path,
                           strerror(e));
        }
        lm_hash_update(&h, buf, (size_t)r);
    }
    free(buf);
    close(fd);
    *out = lm_hash_final(&h);
    return FTSB_OK;
}
