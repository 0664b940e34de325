/* tools/ctel/sink/sink_decode.c — gzip bodies and span counting: the
 * zero-allocation protobuf wire scan that --discard runs on every request,
 * and the JSON equivalent. */
#include "tools/ctel/sink/sink_internal.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zlib.h>

int ctel__sink_gunzip(const uint8_t *in, size_t n, size_t cap, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return CTEL__SINK_NO_MEMORY;
    /* One byte past cap tells "exactly cap" from "more than cap". */
    size_t limit = cap + 1;
    size_t size = n < limit / 4 ? n * 4 + 4096 : limit;
    if (size > limit)
        size = limit;
    uint8_t *buf = malloc(size + 1);
    if (!buf) {
        inflateEnd(&z);
        return CTEL__SINK_NO_MEMORY;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    size_t have = 0;
    int rc = CTEL__SINK_BAD;
    for (;;) {
        if (have == size) {
            if (size >= limit) {
                rc = CTEL__SINK_TOO_BIG;
                break;
            }
            size_t bigger = size * 2 < limit ? size * 2 : limit;
            uint8_t *grown = realloc(buf, bigger + 1);
            if (!grown) {
                rc = CTEL__SINK_NO_MEMORY;
                break;
            }
            buf = grown;
            size = bigger;
        }
        z.next_out = buf + have;
        z.avail_out = (uInt)(size - have);
        int zr = inflate(&z, Z_NO_FLUSH);
        have = size - z.avail_out;
        if (zr == Z_STREAM_END) {
            rc = have > cap ? CTEL__SINK_TOO_BIG : CTEL__SINK_OK;
            break;
        }
        if (zr == Z_MEM_ERROR) {
            rc = CTEL__SINK_NO_MEMORY;
            break;
        }
        if (zr != Z_OK && !(zr == Z_BUF_ERROR && z.avail_out == 0))
            break; /* corrupt or truncated */
        if (z.avail_in == 0 && z.avail_out != 0)
            break; /* input ended before the stream did */
    }
    inflateEnd(&z);
    if (rc != CTEL__SINK_OK) {
        free(buf);
        return rc;
    }
    buf[have] = '\0';
    *out = buf;
    *out_len = have;
    return CTEL__SINK_OK;
}

/* ---- the wire scan ---- */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5, WT_ANY = 7 };

static inline bool pb_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (p == end)
            return false;
        uint8_t b = *p++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *pp = p;
            *v = r;
            return true;
        }
    }
    return false;
}

/* Reads one tag and steps over the field's value. For LEN fields the value's
 * bounds are returned in *sub / *sub_end. */
static inline bool pb_field(const uint8_t **pp, const uint8_t *end, uint32_t *field, unsigned *wt,
                            const uint8_t **sub, const uint8_t **sub_end)
{
    uint64_t tag, len;
    if (!pb_varint(pp, end, &tag))
        return false;
    *field = (uint32_t)(tag >> 3);
    *wt = (unsigned)(tag & 7);
    if (*field == 0 || tag >> 3 > 0x1fffffff)
        return false;
    const uint8_t *p = *pp;
    switch (*wt) {
    case WT_VARINT:
        if (!pb_varint(&p, end, &len))
            return false;
        break;
    case WT_I64:
        if ((size_t)(end - p) < 8)
            return false;
        p += 8;
        break;
    case WT_I32:
        if ((size_t)(end - p) < 4)
            return false;
        p += 4;
        break;
    case WT_LEN:
        if (!pb_varint(&p, end, &len) || len > (uint64_t)(end - p))
            return false;
        *sub = p;
        p += len;
        *sub_end = p;
        break;
    default:
        return false; /* groups are not OTLP */
    }
    *pp = p;
    return true;
}

/* Wire types of Span fields 1..16 (trace.proto). */
static const uint8_t span_wt[17] = {
    WT_ANY, WT_LEN,    WT_LEN, WT_LEN,    WT_LEN, WT_LEN,    WT_VARINT, WT_I64, WT_I64,
    WT_LEN, WT_VARINT, WT_LEN, WT_VARINT, WT_LEN, WT_VARINT, WT_LEN,    WT_I32,
};

static bool pb_span(const uint8_t *p, const uint8_t *end)
{
    while (p < end) {
        uint32_t f;
        unsigned wt;
        const uint8_t *s, *e;
        if (!pb_field(&p, end, &f, &wt, &s, &e))
            return false;
        if (f < 17 && wt != span_wt[f])
            return false;
    }
    return true;
}

/* ResourceSpans (level 1) and ScopeSpans (level 2) have one shape: fields
 * 1..3 are length-delimited (resource or scope, the next level down,
 * schema_url), and field 2 holds ScopeSpans, then Spans. */
static bool pb_spans_level(const uint8_t *p, const uint8_t *end, int level, uint64_t *spans)
{
    while (p < end) {
        uint32_t f;
        unsigned wt;
        const uint8_t *s = NULL, *e = NULL;
        if (!pb_field(&p, end, &f, &wt, &s, &e))
            return false;
        if (f <= 3 && wt != WT_LEN)
            return false;
        if (f != 2)
            continue;
        if (level == 1 ? !pb_spans_level(s, e, 2, spans) : !pb_span(s, e))
            return false;
        if (level == 2)
            (*spans)++;
    }
    return true;
}

int ctel__sink_count_spans_pb(const uint8_t *p, size_t n, uint64_t *spans)
{
    const uint8_t *end = p + n;
    uint64_t count = 0;
    *spans = 0;
    while (p < end) {
        uint32_t f;
        unsigned wt;
        const uint8_t *s = NULL, *e = NULL;
        if (!pb_field(&p, end, &f, &wt, &s, &e))
            return CTEL__SINK_BAD;
        if (f == 1) {
            if (wt != WT_LEN || !pb_spans_level(s, e, 1, &count))
                return CTEL__SINK_BAD;
        }
    }
    *spans = count;
    return CTEL__SINK_OK;
}

/* ---- JSON ---- */

static const json_t *json_field(const json_t *o, const char *camel, const char *snake)
{
    const json_t *v = json_object_get(o, camel);
    return v ? v : json_object_get(o, snake);
}

int ctel__sink_count_spans_json(const char *p, size_t n, uint64_t *spans, char *err, size_t err_cap)
{
    *spans = 0;
    json_error_t je;
    json_t *root = json_loadb(p, n, 0, &je);
    if (!root) {
        snprintf(err, err_cap, "invalid JSON: %s (line %d)", je.text, je.line);
        return CTEL__SINK_BAD;
    }
    int rc = CTEL__SINK_BAD;
    uint64_t count = 0;
    if (!json_is_object(root)) {
        snprintf(err, err_cap, "the request is not a JSON object");
        goto done;
    }
    const json_t *rss = json_field(root, "resourceSpans", "resource_spans");
    if (rss && !json_is_array(rss) && !json_is_null(rss))
        goto shape;
    for (size_t i = 0; i < json_array_size(rss); i++) {
        const json_t *rs = json_array_get(rss, i);
        if (!json_is_object(rs))
            goto shape;
        const json_t *sss = json_field(rs, "scopeSpans", "scope_spans");
        if (sss && !json_is_array(sss) && !json_is_null(sss))
            goto shape;
        for (size_t j = 0; j < json_array_size(sss); j++) {
            const json_t *ss = json_array_get(sss, j);
            if (!json_is_object(ss))
                goto shape;
            const json_t *sp = json_object_get(ss, "spans");
            if (sp && !json_is_array(sp) && !json_is_null(sp))
                goto shape;
            count += json_array_size(sp);
        }
    }
    *spans = count;
    rc = CTEL__SINK_OK;
    goto done;
shape:
    snprintf(err, err_cap, "resourceSpans/scopeSpans/spans must be arrays of objects");
done:
    json_decref(root);
    return rc;
}

uint64_t ctel__sink_count_spans(const ctel__sink_msg *m)
{
    uint64_t n = 0;
    for (size_t i = 0; m && i < m->n_resource_spans; i++) {
        const ctel__sink_rs *rs = m->resource_spans[i];
        for (size_t j = 0; rs && j < rs->n_scope_spans; j++)
            n += rs->scope_spans[j] ? rs->scope_spans[j]->n_spans : 0;
    }
    return n;
}
