/* sdk/propagation/tracestate.c — validating, normalising and truncating the
 * W3C tracestate header. */
#include "sdk/internal.h"
#include "sdk/propagation/w3c.h"

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static bool lcalpha_or_digit(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* key = (lcalpha / DIGIT) 0*255(lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@")
 * The current W3C draft's form; it accepts Level 1's tenant@system keys. */
static bool valid_key(const char *k, size_t n)
{
    if (n == 0 || n > 256 || !lcalpha_or_digit(k[0]))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = k[i];
        if (!lcalpha_or_digit(c) && c != '_' && c != '-' && c != '*' && c != '/' && c != '@')
            return false;
    }
    return true;
}

/* value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr;
 * nblk-chr = %x21-2B / %x2D-3C / %x3E-7E */
static bool valid_value(const char *v, size_t n)
{
    if (n == 0 || n > 256 || v[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
            return false;
    }
    return true;
}

bool ctel__tracestate_normalize(const char *value, size_t len, ctel__buf *out)
{
    size_t start_len = out->len;
    size_t members = 0;
    size_t i = 0;
    while (i <= len) {
        size_t end = i;
        while (end < len && value[end] != ',')
            end++;
        size_t a = i, b = end;
        while (a < b && is_ows(value[a]))
            a++;
        while (b > a && is_ows(value[b - 1]))
            b--;
        if (b > a) {
            const char *m = value + a;
            size_t mlen = b - a;
            const char *eq = memchr(m, '=', mlen);
            if (!eq || !valid_key(m, (size_t)(eq - m)) ||
                !valid_value(eq + 1, mlen - (size_t)(eq - m) - 1) ||
                ++members > CTEL__TRACESTATE_MAX_MEMBERS ||
                (out->len > start_len && ctel__buf_append_char(out, ',') != CTEL_OK) ||
                ctel__buf_append(out, m, mlen) != CTEL_OK) {
                out->len = start_len;
                if (out->data)
                    out->data[start_len] = '\0';
                return false;
            }
        }
        i = end + 1;
    }
    return true;
}

ctel_status ctel__tracestate_truncate(const char *value, size_t len, ctel__buf *out)
{
    if (len <= CTEL__TRACESTATE_PROPAGATE_CHARS)
        return ctel__buf_append(out, value, len);
    /* Member boundaries (the value is normalised: ',' separated, no OWS). */
    size_t starts[CTEL__TRACESTATE_MAX_MEMBERS + 1], lens[CTEL__TRACESTATE_MAX_MEMBERS + 1];
    bool keep[CTEL__TRACESTATE_MAX_MEMBERS + 1];
    size_t n = 0;
    for (size_t i = 0; i < len && n <= CTEL__TRACESTATE_MAX_MEMBERS;) {
        size_t end = i;
        while (end < len && value[end] != ',')
            end++;
        starts[n] = i;
        lens[n] = end - i;
        keep[n] = true;
        n++;
        i = end + 1;
    }
    size_t total = len;
    /* First the long members, left to right... */
    for (size_t i = 0; i < n && total > CTEL__TRACESTATE_PROPAGATE_CHARS; i++) {
        if (lens[i] > 128) {
            keep[i] = false;
            total -= lens[i] + 1;
        }
    }
    /* ...then from the right. */
    for (size_t i = n; i-- > 0 && total > CTEL__TRACESTATE_PROPAGATE_CHARS;) {
        if (keep[i]) {
            keep[i] = false;
            total -= lens[i] + 1;
        }
    }
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (!keep[i])
            continue;
        if (!first) {
            ctel_status rc = ctel__buf_append_char(out, ',');
            if (rc != CTEL_OK)
                return rc;
        }
        first = false;
        ctel_status rc = ctel__buf_append(out, value + starts[i], lens[i]);
        if (rc != CTEL_OK)
            return rc;
    }
    return CTEL_OK;
}
