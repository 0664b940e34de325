/* exporters/otlp/json/json_writer.c — JSON strings and OTLP AnyValues. */
#include "sdk/internal.h"
#include "exporters/otlp/json/otlp_json.h"

#include <math.h>
#include <stdio.h>

/* Length of a valid UTF-8 sequence at s (max n bytes), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are invalid. */
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

ctel_status ctel__json_string(ctel__buf *b, const char *str, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    if (!str)
        len = 0;
    ctel_status rc = ctel__buf_reserve(b, len + 2);
    if (rc != CTEL_OK)
        return rc;
    rc = ctel__buf_append_char(b, '"');
    size_t run = 0; /* bytes that need no escaping, flushed in one copy */
    for (size_t i = 0; i < len && rc == CTEL_OK;) {
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            run++;
            i++;
            continue;
        }
        if (run) {
            rc = ctel__buf_append(b, s + i - run, run);
            run = 0;
            if (rc != CTEL_OK)
                break;
        }
        if (c >= 0x80) {
            size_t n = utf8_seq(s + i, len - i);
            if (n) {
                rc = ctel__buf_append(b, s + i, n);
                i += n;
            } else {
                rc = ctel__buf_append_str(b, "\xef\xbf\xbd"); /* U+FFFD */
                i++;
            }
            continue;
        }
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t en = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            en = 6;
        }
        rc = ctel__buf_append(b, esc, en);
        i++;
    }
    if (rc == CTEL_OK && run)
        rc = ctel__buf_append(b, s + len - run, run);
    if (rc == CTEL_OK)
        rc = ctel__buf_append_char(b, '"');
    return rc;
}

static ctel_status base64(ctel__buf *b, const uint8_t *p, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    ctel_status rc = ctel__buf_append_char(b, '"');
    for (size_t i = 0; i < n && rc == CTEL_OK; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char out[4] = {tbl[(v >> 18) & 63], tbl[(v >> 12) & 63],
                       i + 1 < n ? tbl[(v >> 6) & 63] : '=', i + 2 < n ? tbl[v & 63] : '='};
        rc = ctel__buf_append(b, out, 4);
    }
    if (rc == CTEL_OK)
        rc = ctel__buf_append_char(b, '"');
    return rc;
}

static ctel_status any_value(ctel__buf *b, const ctel_value *v, int depth);

static ctel_status kv_list(ctel__buf *b, const ctel_attribute *a, size_t n, int depth)
{
    ctel_status rc = ctel__buf_append_char(b, '[');
    for (size_t i = 0; i < n && rc == CTEL_OK; i++) {
        if (i)
            rc = ctel__buf_append_char(b, ',');
        if (rc == CTEL_OK)
            rc = ctel__buf_append_str(b, "{\"key\":");
        if (rc == CTEL_OK)
            rc = ctel__json_string(b, a[i].key, a[i].key_len);
        if (rc == CTEL_OK)
            rc = ctel__buf_append_str(b, ",\"value\":");
        if (rc == CTEL_OK)
            rc = any_value(b, &a[i].value, depth + 1);
        if (rc == CTEL_OK)
            rc = ctel__buf_append_char(b, '}');
    }
    if (rc == CTEL_OK)
        rc = ctel__buf_append_char(b, ']');
    return rc;
}

static ctel_status any_value(ctel__buf *b, const ctel_value *v, int depth)
{
    ctel_status rc;
    if (depth > 64)
        return ctel__buf_append_str(b, "{}");
    switch (v->type) {
    case CTEL_VALUE_STRING:
        rc = ctel__buf_append_str(b, "{\"stringValue\":");
        if (rc == CTEL_OK)
            rc = ctel__json_string(b, v->u.string.ptr, v->u.string.len);
        break;
    case CTEL_VALUE_BOOL:
        return ctel__buf_append_str(b, v->u.boolean ? "{\"boolValue\":true}"
                                                    : "{\"boolValue\":false}");
    case CTEL_VALUE_INT:
        return ctel__buf_appendf(b, "{\"intValue\":\"%lld\"}", (long long)v->u.integer);
    case CTEL_VALUE_DOUBLE:
        if (isnan(v->u.real))
            return ctel__buf_append_str(b, "{\"doubleValue\":\"NaN\"}");
        if (isinf(v->u.real))
            return ctel__buf_append_str(b, v->u.real > 0 ? "{\"doubleValue\":\"Infinity\"}"
                                                         : "{\"doubleValue\":\"-Infinity\"}");
        return ctel__buf_appendf(b, "{\"doubleValue\":%.17g}", v->u.real);
    case CTEL_VALUE_BYTES:
        rc = ctel__buf_append_str(b, "{\"bytesValue\":");
        if (rc == CTEL_OK)
            rc = base64(b, v->u.bytes.ptr, v->u.bytes.ptr ? v->u.bytes.len : 0);
        break;
    case CTEL_VALUE_ARRAY:
        rc = ctel__buf_append_str(b, "{\"arrayValue\":{\"values\":[");
        for (size_t i = 0; rc == CTEL_OK && v->u.array.items && i < v->u.array.count; i++) {
            if (i)
                rc = ctel__buf_append_char(b, ',');
            if (rc == CTEL_OK)
                rc = any_value(b, &v->u.array.items[i], depth + 1);
        }
        if (rc == CTEL_OK)
            rc = ctel__buf_append_str(b, "]}");
        break;
    case CTEL_VALUE_KVLIST:
        rc = ctel__buf_append_str(b, "{\"kvlistValue\":{\"values\":");
        if (rc == CTEL_OK)
            rc = kv_list(b, v->u.kvlist.items, v->u.kvlist.items ? v->u.kvlist.count : 0, depth);
        if (rc == CTEL_OK)
            rc = ctel__buf_append_char(b, '}');
        break;
    default:
        return ctel__buf_append_str(b, "{}");
    }
    if (rc == CTEL_OK)
        rc = ctel__buf_append_char(b, '}');
    return rc;
}

ctel_status ctel__json_any_value(ctel__buf *b, const ctel_value *v)
{
    return any_value(b, v, 0);
}

ctel_status ctel__json_attributes(ctel__buf *b, const ctel_attribute *attrs, size_t count)
{
    return kv_list(b, attrs, attrs ? count : 0, 0);
}
