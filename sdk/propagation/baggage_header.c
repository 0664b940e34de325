/* sdk/propagation/baggage_header.c — the W3C baggage header:
 *   list-member *(OWS "," OWS list-member)
 *   list-member = key OWS "=" OWS value *(OWS ";" OWS property)
 * Keys are RFC 7230 tokens; values are percent-encoded baggage-octets.
 * Properties are kept as one opaque metadata string. */
#include "sdk/internal.h"
#include "sdk/propagation/w3c.h"

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E */
static bool is_baggage_octet(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
           (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

/* Percent-decodes into out; invalid UTF-8 in the result becomes U+FFFD.
 * Returns false on a malformed escape, on %00 (values are C strings here:
 * it would cut the value short without a word) or a character outside
 * baggage-octet. */
static bool decode_value(const char *v, size_t n, ctel__buf *out)
{
    ctel__buf raw = CTEL__BUF_INIT;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '%') {
            int hi = i + 2 < n ? ctel__hex_value(v[i + 1]) : -1;
            int lo = i + 2 < n ? ctel__hex_value(v[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                ok = false;
                break;
            }
            char d = (char)(hi << 4 | lo);
            ok = ctel__buf_append_char(&raw, d) == CTEL_OK;
            i += 2;
        } else if (is_baggage_octet(c)) {
            ok = ctel__buf_append_char(&raw, (char)c) == CTEL_OK;
        } else {
            ok = false;
        }
    }
    /* Copy with invalid UTF-8 replaced. */
    for (size_t i = 0; ok && i < raw.len;) {
        unsigned char c = (unsigned char)raw.data[i];
        size_t len = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3
                                 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
        bool valid = len && i + len <= raw.len;
        for (size_t k = 1; valid && k < len; k++)
            valid = ((unsigned char)raw.data[i + k] & 0xc0) == 0x80;
        if (valid) {
            ok = ctel__buf_append(out, raw.data + i, len) == CTEL_OK;
            i += len;
        } else {
            ok = ctel__buf_append_str(out, "\xef\xbf\xbd") == CTEL_OK;
            i++;
        }
    }
    if (ok && !out->data)
        ok = ctel__buf_append(out, "", 0) == CTEL_OK;
    ctel__buf_free(&raw);
    return ok;
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_ows(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_ows((*s)[*n - 1]))
        (*n)--;
}

ctel_status ctel__baggage_parse(const char *value, size_t len, const ctel_baggage *base,
                                ctel_baggage **out)
{
    *out = NULL;
    ctel_baggage *bg = base ? ctel_baggage_retain(base) : NULL;
    size_t members = 0, bytes = 0, dropped = 0;
    ctel_status rc = CTEL_OK;
    ctel__buf key = CTEL__BUF_INIT, val = CTEL__BUF_INIT, meta = CTEL__BUF_INIT;
    for (size_t i = 0; i <= len && rc == CTEL_OK;) {
        size_t end = i;
        while (end < len && value[end] != ',')
            end++;
        const char *m = value + i;
        size_t mlen = end - i;
        i = end + 1;
        trim(&m, &mlen);
        if (mlen == 0)
            continue; /* tolerate empty members ("a=1,,b=2") */
        const char *eq = memchr(m, '=', mlen);
        if (!eq) {
            rc = CTEL_ERR_PARSE;
            break;
        }
        const char *k = m;
        size_t klen = (size_t)(eq - m);
        trim(&k, &klen);
        const char *rest = eq + 1;
        size_t rlen = (size_t)(m + mlen - rest);
        const char *semi = memchr(rest, ';', rlen);
        const char *v = rest;
        size_t vlen = semi ? (size_t)(semi - rest) : rlen;
        trim(&v, &vlen);
        bool key_ok = klen > 0;
        for (size_t j = 0; j < klen && key_ok; j++)
            key_ok = ctel__is_tchar((unsigned char)k[j]);
        ctel__buf_reset(&key);
        ctel__buf_reset(&val);
        ctel__buf_reset(&meta);
        if (!key_ok || !decode_value(v, vlen, &val) ||
            ctel__buf_append(&key, k, klen) != CTEL_OK) {
            rc = CTEL_ERR_PARSE;
            break;
        }
        if (semi) {
            const char *p = semi + 1;
            size_t plen = (size_t)(m + mlen - p);
            trim(&p, &plen);
            if (ctel__buf_append(&meta, p, plen) != CTEL_OK) {
                rc = CTEL_ERR_NO_MEMORY;
                break;
            }
        }
        /* The W3C limits: keep whole members within 64 and 8192 bytes. */
        if (members + 1 > CTEL__BAGGAGE_MAX_MEMBERS || bytes + mlen > CTEL__BAGGAGE_MAX_BYTES) {
            dropped++;
            continue;
        }
        members++;
        bytes += mlen + 1;
        ctel_baggage *next = NULL;
        rc = ctel_baggage_set(bg, key.data, val.data, meta.data ? meta.data : "", &next);
        ctel_baggage_release(bg);
        bg = next;
    }
    ctel__buf_free(&key);
    ctel__buf_free(&val);
    ctel__buf_free(&meta);
    if (rc != CTEL_OK) {
        ctel_baggage_release(bg);
        return rc;
    }
    if (dropped)
        ctel__log(CTEL_LOG_DEBUG, "baggage: %zu members beyond the W3C limits (64 members, "
                                  "8192 bytes) were dropped",
                  dropped);
    *out = bg;
    return CTEL_OK;
}

static ctel_status encode_value(const char *v, ctel__buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        ctel_status rc;
        if (is_baggage_octet(*p) && *p != '%') {
            rc = ctel__buf_append_char(out, (char)*p);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = ctel__buf_append(out, e, 3);
        }
        if (rc != CTEL_OK)
            return rc;
    }
    return CTEL_OK;
}

ctel_status ctel__baggage_format(const ctel_baggage *bg, ctel__buf *out, size_t *omitted)
{
    *omitted = 0;
    size_t start = out->len, members = 0;
    ctel__buf member = CTEL__BUF_INIT;
    ctel_status rc = CTEL_OK;
    for (size_t i = 0; i < ctel_baggage_count(bg) && rc == CTEL_OK; i++) {
        const char *name, *value, *meta;
        ctel_baggage_entry(bg, i, &name, &value, &meta);
        bool key_ok = *name != '\0';
        for (const char *c = name; *c && key_ok; c++)
            key_ok = ctel__is_tchar((unsigned char)*c);
        if (!key_ok) {
            (*omitted)++;
            continue;
        }
        ctel__buf_reset(&member);
        rc = ctel__buf_append_str(&member, name);
        if (rc == CTEL_OK)
            rc = ctel__buf_append_char(&member, '=');
        if (rc == CTEL_OK)
            rc = encode_value(value, &member);
        if (rc == CTEL_OK && meta && *meta) {
            rc = ctel__buf_append_char(&member, ';');
            if (rc == CTEL_OK)
                rc = ctel__buf_append_str(&member, meta);
        }
        if (rc != CTEL_OK)
            break;
        size_t added = member.len + (members ? 1 : 0);
        if (members + 1 > CTEL__BAGGAGE_MAX_MEMBERS ||
            out->len - start + added > CTEL__BAGGAGE_MAX_BYTES) {
            (*omitted)++;
            continue;
        }
        if (members)
            rc = ctel__buf_append_char(out, ',');
        if (rc == CTEL_OK)
            rc = ctel__buf_append(out, member.data, member.len);
        members++;
    }
    ctel__buf_free(&member);
    return rc;
}
