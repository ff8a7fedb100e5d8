/*
 * http_parse.c - parsing response header lines and error bodies for the
 * HTTP client.  Everything here reads bytes a server chose, so lengths
 * are checked before any copy, numbers are converted digit by digit with
 * an explicit bound instead of strtol's silent saturation, and JSON is
 * parsed only after its size was checked against a cap.
 */
#include "../ftsb_setup.h"

#include <cjson/cJSON.h>

#include "http_parse.h"

/* Longest wait a header may ask for: beyond it, the value is refused as
 * if it were malformed. */
#define RETRY_AFTER_MAX_S (10LL * 24 * 3600)
/* Error bodies larger than this are not parsed as JSON. */
#define ERROR_JSON_MAX (256u * 1024u)

void http_head_reset(struct http_head *h)
{
    memset(h, 0, sizeof *h);
    h->retry_after_ms = -1;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Strips optional whitespace and the line end from both sides. */
static void trim(const char **v, size_t *len)
{
    while (*len && (**v == ' ' || **v == '\t')) {
        (*v)++;
        (*len)--;
    }
    while (*len && ((*v)[*len - 1] == ' ' || (*v)[*len - 1] == '\t' ||
                    (*v)[*len - 1] == '\r' || (*v)[*len - 1] == '\n'))
        (*len)--;
}

int http_parse_u64(const char *v, size_t len, uint64_t *out)
{
    uint64_t x = 0;

    if (len == 0 || len > 19)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(v[i]))
            return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');   /* 19 digits never wrap */
    }
    *out = x;
    return 0;
}

int http_parse_status_line(const char *line, size_t len, int *status)
{
    size_t i = 5;

    if (len < 12 || memcmp(line, "HTTP/", 5) != 0)
        return -1;
    /* the version: digits, optionally ".digits" */
    if (!is_digit(line[i]))
        return -1;
    while (i < len && is_digit(line[i]))
        i++;
    if (i < len && line[i] == '.') {
        i++;
        if (i >= len || !is_digit(line[i]))
            return -1;
        while (i < len && is_digit(line[i]))
            i++;
    }
    if (i + 4 > len || line[i] != ' ' || !is_digit(line[i + 1]) ||
        !is_digit(line[i + 2]) || !is_digit(line[i + 3]))
        return -1;
    if (i + 4 < len && line[i + 4] != ' ' && line[i + 4] != '\r' &&
        line[i + 4] != '\n')
        return -1;
    *status = (line[i + 1] - '0') * 100 + (line[i + 2] - '0') * 10 +
              (line[i + 3] - '0');
    return *status >= 100 ? 0 : -1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so no time zone or locale is consulted. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int two_digits(const char *p, int *out)
{
    if (!is_digit(p[0]) || !is_digit(p[1]))
        return -1;
    *out = (p[0] - '0') * 10 + (p[1] - '0');
    return 0;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" exactly (RFC 9110 IMF-fixdate). */
static int parse_imf_date(const char *v, size_t len, int64_t *epoch)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int day, mon = -1, hh, mm, ss, yhi, ylo;

    if (len != 29 || v[3] != ',' || v[4] != ' ' || v[7] != ' ' ||
        v[11] != ' ' || v[16] != ' ' || v[19] != ':' || v[22] != ':' ||
        v[25] != ' ' || memcmp(v + 26, "GMT", 3) != 0)
        return -1;
    for (int i = 0; i < 12; i++)
        if (memcmp(v + 8, months + 3 * i, 3) == 0)
            mon = i + 1;
    if (mon < 0 || two_digits(v + 5, &day) || two_digits(v + 12, &yhi) ||
        two_digits(v + 14, &ylo) || two_digits(v + 17, &hh) ||
        two_digits(v + 20, &mm) || two_digits(v + 23, &ss))
        return -1;
    if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
        return -1;
    *epoch = days_from_civil(yhi * 100 + ylo, mon, day) * 86400 +
             hh * 3600 + mm * 60 + ss;
    return 0;
}

int64_t http_parse_retry_after(const char *v, size_t len, int64_t now_s)
{
    uint64_t s;
    int64_t when;

    trim(&v, &len);
    if (len && is_digit(v[0])) {
        if (http_parse_u64(v, len, &s) || s > (uint64_t)RETRY_AFTER_MAX_S)
            return -1;
        return (int64_t)s * 1000;
    }
    if (parse_imf_date(v, len, &when))
        return -1;
    if (when <= now_s)
        return 0;
    if (when - now_s > RETRY_AFTER_MAX_S)
        return -1;
    return (when - now_s) * 1000;
}

int64_t http_parse_retry_after_ms(const char *v, size_t len)
{
    uint64_t ms = 0;
    size_t i = 0, digits = 0;
    int frac = 0;

    trim(&v, &len);
    for (; i < len && is_digit(v[i]); i++) {
        if (++digits > 10)
            return -1;
        ms = ms * 10 + (uint64_t)(v[i] - '0');
    }
    if (digits == 0)
        return -1;
    if (i < len && v[i] == '.') {
        size_t fd = 0;

        for (i++; i < len && is_digit(v[i]); i++, fd++)
            if (v[i] != '0')
                frac = 1;
        if (fd == 0)
            return -1;
    }
    if (i != len)
        return -1;
    ms += (uint64_t)frac;
    if (ms > (uint64_t)RETRY_AFTER_MAX_S * 1000)
        return -1;
    return (int64_t)ms;
}

/* Non-zero when line starts with "name:" (name in lowercase), case
 * insensitively; *v and *vlen then hold the trimmed value. */
static int header_is(const char *line, size_t len, const char *name,
                     const char **v, size_t *vlen)
{
    size_t n = strlen(name);

    if (len <= n || line[n] != ':')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(line[i]) != name[i])
            return 0;
    *v = line + n + 1;
    *vlen = len - n - 1;
    trim(v, vlen);
    return 1;
}

/* Copies a value into a fixed field, keeping visible ASCII only. */
static void copy_field(char *dst, size_t cap, const char *v, size_t len)
{
    size_t j = 0;

    for (size_t i = 0; i < len && j + 1 < cap; i++)
        if (v[i] > ' ' && v[i] < 0x7f)
            dst[j++] = v[i];
    dst[j] = '\0';
}

void http_head_line(struct http_head *h, const char *line, size_t len,
                    int64_t now_s)
{
    const char *v;
    size_t vlen;
    int status;

    if (len == 0 || len > HTTP_LINE_MAX)
        return;
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        http_head_reset(h);
        if (http_parse_status_line(line, len, &status) == 0)
            h->status = status;
        return;
    }
    if (header_is(line, len, "content-length", &v, &vlen)) {
        uint64_t n;

        if (http_parse_u64(v, vlen, &n) == 0) {
            h->content_length = n;
            h->has_length = 1;
        }
    } else if (header_is(line, len, "retry-after-ms", &v, &vlen)) {
        int64_t ms = http_parse_retry_after_ms(v, vlen);

        /* the finer header wins over Retry-After, whatever the order */
        if (ms >= 0)
            h->retry_after_ms = ms;
    } else if (header_is(line, len, "retry-after", &v, &vlen)) {
        int64_t ms = http_parse_retry_after(v, vlen, now_s);

        if (ms >= 0 && h->retry_after_ms < 0)
            h->retry_after_ms = ms;
    } else if (header_is(line, len, "location", &v, &vlen)) {
        copy_field(h->location, sizeof h->location, v, vlen);
    } else if (header_is(line, len, "x-request-id", &v, &vlen)) {
        copy_field(h->request_id, sizeof h->request_id, v, vlen);
    }
}

ftsb_status http_clean_line(const char *text, size_t len, size_t max,
                            struct strbuf *out)
{
    size_t start = out->len, n = 0;
    int space = 1;   /* drop leading spaces */
    ftsb_status st = FTSB_OK;

    for (size_t i = 0; i < len && st == FTSB_OK; i++) {
        unsigned char c = (unsigned char)text[i];

        if (c < 0x20 || c == 0x7f) {
            if (!space)
                st = strbuf_addch(out, ' ');
            space = 1;
            continue;
        }
        if (c == ' ' && space)
            continue;
        space = c == ' ';
        if (n >= max) {
            /* cut at a character boundary: drop UTF-8 continuation
             * bytes left dangling at the end */
            while (out->len > start &&
                   ((unsigned char)out->buf[out->len - 1] & 0xc0) == 0x80)
                out->len--;
            while (out->len > start &&
                   (unsigned char)out->buf[out->len - 1] >= 0xc0)
                out->len--;
            out->buf[out->len] = '\0';
            return strbuf_addstr(out, "...");
        }
        st = strbuf_addch(out, (int)c);
        n++;
    }
    while (st == FTSB_OK && out->len > start && out->buf[out->len - 1] == ' ')
        out->buf[--out->len] = '\0';
    return st;
}

/* The first member called name, when it is a non-empty string. */
static const char *member_str(const cJSON *obj, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

    return cJSON_IsString(it) && it->valuestring && *it->valuestring
               ? it->valuestring
               : NULL;
}

ftsb_status http_error_text(const char *body, size_t len, size_t max,
                            struct strbuf *out)
{
    const char *msg = NULL, *end = NULL;
    cJSON *root = NULL;
    ftsb_status st;

    if (len == 0)
        return FTSB_OK;
    /* JSON only when it looks like an object, is small, and is one
     * NUL-free text (ParseWithOpts stops at a NUL: end must reach len). */
    if (len <= ERROR_JSON_MAX && body[0] == '{' && body[len] == '\0') {
        root = cJSON_ParseWithOpts(body, &end, 1);
        if (root && end != body + len) {
            cJSON_Delete(root);
            root = NULL;
        }
    }
    if (cJSON_IsObject(root)) {
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");

        if (cJSON_IsObject(err))
            msg = member_str(err, "message");
        else if (cJSON_IsString(err) && err->valuestring && *err->valuestring)
            msg = err->valuestring;
        if (!msg)
            msg = member_str(root, "message");
        if (!msg)
            msg = member_str(root, "detail");
    }
    if (msg)
        st = http_clean_line(msg, strlen(msg), max, out);
    else
        st = http_clean_line(body, len, max, out);
    cJSON_Delete(root);
    return st;
}
