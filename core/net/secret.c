/*
 * secret.c - API keys: read from an environment variable or a 0600 file,
 * held only by the host, and redacted from everything handed back.
 *
 * A key is a liability wherever it is copied, so plugins get an opaque
 * handle, configurations hold the variable's name and never the value
 * (so it cannot reach the store, fingerprints or exports), messages
 * name where the key came from, and every response body, error text and
 * debug line the HTTP client produces passes through net_redact() first
 * (reliability.md R10, §4.7).
 */
#include "../ftsb_setup.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"

#define KEY_MAX 4096
/* A run this long of the key's first characters is redacted too: it
 * covers truncated echoes ("sk-proj-abcd****") and a provider's masked
 * key never shows more than a few. */
#define PREFIX_MIN 12

struct ftsb_secret {
    char *value;
    size_t len;
};

/* Overwrites memory in a way the compiler may not drop as a dead store. */
static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;

    while (n--)
        *v++ = 0;
}

/* Visible ASCII only: a space, CR or LF in a key could forge headers. */
static int key_ok(const char *k, size_t n)
{
    if (n == 0 || n > KEY_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] <= 0x20 || (unsigned char)k[i] >= 0x7f)
            return 0;
    return 1;
}

static ftsb_status read_key_file(const char *path, const char *what,
                                 char **out, size_t *outlen, struct err *err)
{
    char buf[KEY_MAX + 3];
    struct stat sb;
    ssize_t got;
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0)
        return err_set(err, errno == ENOENT ? FTSB_E_NOT_FOUND : FTSB_E_IO,
                       "cannot open the %s file '%s': %s", what, path,
                       strerror(errno));
    /* fstat on the opened file: what we checked is what we read. */
    if (fstat(fd, &sb) != 0) {
        int e = errno;

        close(fd);
        return err_set(err, FTSB_E_IO, "cannot check the %s file '%s': %s",
                       what, path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return err_set(err, FTSB_E_INVALID,
                       "the %s file '%s' is not a regular file", what, path);
    }
    if (sb.st_mode & 077) {
        close(fd);
        return err_set(err, FTSB_E_INVALID,
                       "the %s file '%s' is accessible to other users (mode "
                       "%04o); run 'chmod 600 %s'", what, path,
                       (unsigned)(sb.st_mode & 07777), path);
    }
    if (sb.st_uid != geteuid()) {
        close(fd);
        return err_set(err, FTSB_E_INVALID,
                       "the %s file '%s' belongs to another user (uid %u); "
                       "keep your own copy with mode 600", what, path,
                       (unsigned)sb.st_uid);
    }
    while (n < sizeof buf &&
           (got = read(fd, buf + n, sizeof buf - n)) != 0) {
        if (got < 0) {
            int e = errno;

            if (e == EINTR)
                continue;
            close(fd);
            wipe(buf, sizeof buf);
            return err_set(err, FTSB_E_IO, "cannot read the %s file '%s': %s",
                           what, path, strerror(e));
        }
        n += (size_t)got;
    }
    close(fd);
    if (n && buf[n - 1] == '\n')
        n--;
    if (n && buf[n - 1] == '\r')
        n--;
    if (!key_ok(buf, n)) {
        wipe(buf, sizeof buf);
        return err_set(err, FTSB_E_INVALID,
                       "the %s file '%s' does not hold a key: expected 1 to "
                       "%d visible ASCII characters on one line", what, path,
                       KEY_MAX);
    }
    *out = malloc(n + 1);
    if (!*out) {
        wipe(buf, sizeof buf);
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    }
    memcpy(*out, buf, n);
    (*out)[n] = '\0';
    *outlen = n;
    wipe(buf, sizeof buf);
    return FTSB_OK;
}

/* A crash must not write the key into a core file: no core dumps once a
 * key is loaded (reliability.md §4.7). */
static void no_core_dumps(void)
{
    struct rlimit rl = {0, 0};

    setrlimit(RLIMIT_CORE, &rl);
}

ftsb_status net_secret_open(const ftsb_secret_spec *spec,
                            struct ftsb_secret **out, struct err *err)
{
    const char *what, *env = NULL, *file = NULL, *v;
    struct ftsb_secret *s;
    int optional = 0;
    char *value = NULL;
    size_t len = 0;
    ftsb_status st;

    *out = NULL;
    if (!spec || spec->struct_size < offsetof(ftsb_secret_spec, optional))
        return err_set(err, FTSB_E_INVALID,
                       "cannot load a key: no description of where it is");
    what = spec->what && *spec->what ? spec->what : "API key";
    env = spec->env && *spec->env ? spec->env : NULL;
    file = spec->file && *spec->file ? spec->file : NULL;
    if (spec->struct_size >= offsetof(ftsb_secret_spec, optional) +
                                 sizeof spec->optional)
        optional = spec->optional != 0;
    if (file) {
        if ((st = read_key_file(file, what, &value, &len, err)))
            return st;
    } else if (env && (v = getenv(env)) && *v) {
        len = strlen(v);
        if (!key_ok(v, len))
            return err_set(err, FTSB_E_INVALID,
                           "the environment variable '%s' does not hold a "
                           "%s: expected 1 to %d visible ASCII characters",
                           env, what, KEY_MAX);
        if (!(value = strdup(v)))
            return err_set(err, FTSB_E_NOMEM, "out of memory");
    } else if (optional) {
        return FTSB_OK;
    } else if (env) {
        return err_set(err, FTSB_E_NOT_FOUND,
                       "no %s: the environment variable '%s' is not set; "
                       "export it, or give a key file (mode 600)", what, env);
    } else {
        return err_set(err, FTSB_E_NOT_FOUND,
                       "no %s: name an environment variable or a key file",
                       what);
    }
    if (!(s = calloc(1, sizeof *s))) {
        wipe(value, len);
        free(value);
        return err_set(err, FTSB_E_NOMEM, "out of memory");
    }
    s->value = value;
    s->len = len;
    no_core_dumps();
    *out = s;
    return FTSB_OK;
}

void net_secret_close(struct ftsb_secret *s)
{
    if (!s)
        return;
    wipe(s->value, s->len);
    free(s->value);
    free(s);
}

const char *net_secret_value(const struct ftsb_secret *s, size_t *len)
{
    *len = s->len;
    return s->value;
}

static void base64(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t j = 0;

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;

        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[j++] = tab[(v >> 18) & 63];
        out[j++] = tab[(v >> 12) & 63];
        out[j++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[j++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[j] = '\0';
}

static ftsb_status add_pattern(struct net_redactor *r, const char *pat,
                               size_t len, size_t min)
{
    char *copy;

    if (r->n >= NET_REDACT_MAX || len == 0)
        return FTSB_OK;
    if (!(copy = malloc(len + 1)))
        return FTSB_E_NOMEM;
    memcpy(copy, pat, len);
    copy[len] = '\0';
    r->pat[r->n] = copy;
    r->len[r->n] = len;
    r->min[r->n] = min < len ? min : len;
    r->n++;
    return FTSB_OK;
}

/* The key's base64 form wherever it starts in the encoded stream (at any
 * of the 3 byte alignments): the characters that depend on the key alone
 * are the same whatever surrounds it. */
static ftsb_status add_base64(struct net_redactor *r, const char *key,
                              size_t keylen)
{
    ftsb_status st = FTSB_OK;

    for (size_t shift = 0; shift < 3 && st == FTSB_OK; shift++) {
        size_t n = shift + keylen, enc_len = (n + 2) / 3 * 4;
        unsigned char *in = malloc(n);
        char *enc = malloc(enc_len + 1);
        size_t skip = shift ? 4 : 0, cut;

        if (!in || !enc) {
            free(in);
            free(enc);
            return FTSB_E_NOMEM;
        }
        memset(in, 'x', shift);
        memcpy(in + shift, key, keylen);
        base64(in, n, enc);
        /* the last group may mix in padding or what follows */
        cut = enc_len >= skip + 4 ? enc_len - 4 : skip;
        if (cut > skip && cut - skip >= PREFIX_MIN)
            st = add_pattern(r, enc + skip, cut - skip, cut - skip);
        free(in);
        free(enc);
    }
    return st;
}

static ftsb_status add_percent(struct net_redactor *r, const char *key,
                               size_t keylen)
{
    static const char hex[] = "0123456789ABCDEF", lhex[] = "0123456789abcdef";
    ftsb_status st = FTSB_OK;

    for (int pass = 0; pass < 2 && st == FTSB_OK; pass++) {
        const char *h = pass ? lhex : hex;
        char *enc = malloc(3 * keylen + 1);
        size_t j = 0;

        if (!enc)
            return FTSB_E_NOMEM;
        for (size_t i = 0; i < keylen; i++) {
            unsigned char c = (unsigned char)key[i];

            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                c == '~') {
                enc[j++] = (char)c;
            } else {
                enc[j++] = '%';
                enc[j++] = h[c >> 4];
                enc[j++] = h[c & 15];
            }
        }
        enc[j] = '\0';
        if (j != keylen)   /* differs from the key itself */
            st = add_pattern(r, enc, j, PREFIX_MIN);
        free(enc);
    }
    return st;
}

ftsb_status net_redactor_init(struct net_redactor *r, const char *key,
                              size_t keylen)
{
    ftsb_status st;

    memset(r, 0, sizeof *r);
    if (!key || keylen == 0)
        return FTSB_OK;
    /* encoded forms first: the plain key's prefix would otherwise eat
     * the start of a percent-encoded key and leave its tail */
    st = add_percent(r, key, keylen);
    if (!st)
        st = add_base64(r, key, keylen);
    if (!st)
        st = add_pattern(r, key, keylen, PREFIX_MIN);
    if (st)
        net_redactor_free(r);
    return st;
}

void net_redactor_free(struct net_redactor *r)
{
    for (size_t i = 0; i < r->n; i++) {
        wipe(r->pat[i], r->len[i]);
        free(r->pat[i]);
    }
    memset(r, 0, sizeof *r);
}

/* One pass over sb: at each step the earliest match of any form, and the
 * longest there, so that one form's prefix never leaves another's tail
 * (the key's start inside its percent-encoded form, say). */
ftsb_status net_redactor_apply(const struct net_redactor *r,
                               struct strbuf *sb)
{
    static const char mark[] = "[REDACTED]";
    struct strbuf out = STRBUF_INIT;
    size_t i = 0;
    int changed = 0;
    ftsb_status st = FTSB_OK;

    if (r->n == 0 || sb->len == 0)
        return FTSB_OK;
    while (st == FTSB_OK && i < sb->len) {
        size_t best_at = SIZE_MAX, best_n = 0;

        for (size_t k = 0; k < r->n; k++) {
            const char *hit;
            size_t at, n;

            if (sb->len - i < r->min[k] ||
                !(hit = memmem(sb->buf + i, sb->len - i, r->pat[k],
                               r->min[k])))
                continue;
            at = (size_t)(hit - sb->buf);
            n = r->min[k];
            while (n < r->len[k] && at + n < sb->len &&
                   sb->buf[at + n] == r->pat[k][n])
                n++;
            if (at < best_at || (at == best_at && n > best_n)) {
                best_at = at;
                best_n = n;
            }
        }
        if (best_at == SIZE_MAX)
            break;
        changed = 1;
        st = strbuf_add(&out, sb->buf + i, best_at - i);
        if (!st)
            st = strbuf_add(&out, mark, sizeof mark - 1);
        i = best_at + best_n;
    }
    if (!changed) {
        strbuf_release(&out);
        return st;
    }
    if (!st && i < sb->len)
        st = strbuf_add(&out, sb->buf + i, sb->len - i);
    if (st) {
        strbuf_release(&out);
        return st;
    }
    strbuf_release(sb);
    *sb = out;
    return FTSB_OK;
}

ftsb_status net_redact(struct strbuf *sb, const char *key, size_t keylen)
{
    struct net_redactor r;
    ftsb_status st;

    if (!key || keylen == 0 || sb->len == 0)
        return FTSB_OK;
    if ((st = net_redactor_init(&r, key, keylen)))
        return st;
    st = net_redactor_apply(&r, sb);
    net_redactor_free(&r);
    return st;
}
