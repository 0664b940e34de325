/* sdk/trace/span_attrs.c — copying names, attributes and values into a
 * span's arena, with the attribute limits applied.
 *
 * The arena is a bump allocator over the record's inline bytes; when those
 * run out it chains heap chunks that are freed when the record is recycled.
 * Replaced values are not reclaimed: a span is short-lived.
 */
#include "sdk/internal.h"
#include "sdk/trace/span_internal.h"

#define CHUNK_MIN 1024
#define MAX_VALUE_DEPTH 64 /* the specification's AttributeValueDepthLimit */

void *ctel__span_arena_alloc(ctel_span *s, size_t size)
{
    /* 8-byte granules: enough for every type stored here. */
    size = (size + 7) & ~(size_t)7;
    if (CTEL_LIKELY((size_t)(s->arena_end - s->arena_pos) >= size)) {
        void *p = s->arena_pos;
        s->arena_pos += size;
        return p;
    }
    size_t hdr = (sizeof(ctel__chunk) + 15) & ~(size_t)15;
    size_t want = size + hdr > CHUNK_MIN ? size + hdr : CHUNK_MIN;
    ctel__chunk *c = ctel__malloc(want);
    if (!c)
        return NULL;
    c->next = s->chunks;
    s->chunks = c;
    char *base = (char *)c + hdr;
    s->arena_pos = base + size;
    s->arena_end = (char *)c + want;
    return base;
}

ctel_status ctel__span_copy_str(ctel_span *s, const char *str, size_t len, const char **out)
{
    char *p = ctel__span_arena_alloc(s, len + 1);
    if (!p)
        return CTEL_ERR_NO_MEMORY;
    if (len)
        memcpy(p, str, len);
    p[len] = '\0';
    *out = p;
    return CTEL_OK;
}

/* Byte length of the first `max_chars` code points of s[0..len). A partial
 * sequence at the cut is dropped rather than split. */
static size_t utf8_prefix(const char *s, size_t len, uint32_t max_chars)
{
    size_t i = 0;
    uint32_t chars = 0;
    while (i < len && chars < max_chars) {
        unsigned char c = (unsigned char)s[i];
        size_t step = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
        if (i + step > len)
            break;
        i += step;
        chars++;
    }
    return i;
}

static ctel_status copy_value(ctel_span *s, ctel_value *dst, const ctel_value *src,
                              uint32_t max_len, int depth)
{
    *dst = *src;
    switch (src->type) {
    case CTEL_VALUE_STRING: {
        size_t len = src->u.string.len;
        if (!src->u.string.ptr)
            len = 0;
        if (CTEL_UNLIKELY(len > max_len))
            len = utf8_prefix(src->u.string.ptr, len, max_len);
        const char *p;
        ctel_status rc = ctel__span_copy_str(s, src->u.string.ptr ? src->u.string.ptr : "", len, &p);
        if (rc != CTEL_OK)
            return rc;
        dst->u.string.ptr = p;
        dst->u.string.len = len;
        return CTEL_OK;
    }
    case CTEL_VALUE_BYTES: {
        size_t len = src->u.bytes.ptr ? src->u.bytes.len : 0;
        if (len > max_len)
            len = max_len;
        uint8_t *p = ctel__span_arena_alloc(s, len ? len : 1);
        if (!p)
            return CTEL_ERR_NO_MEMORY;
        if (len)
            memcpy(p, src->u.bytes.ptr, len);
        dst->u.bytes.ptr = p;
        dst->u.bytes.len = len;
        return CTEL_OK;
    }
    case CTEL_VALUE_ARRAY: {
        size_t n = src->u.array.items ? src->u.array.count : 0;
        if (depth >= MAX_VALUE_DEPTH)
            n = 0;
        ctel_value *items = n ? ctel__span_arena_alloc(s, n * sizeof *items) : NULL;
        if (n && !items)
            return CTEL_ERR_NO_MEMORY;
        for (size_t i = 0; i < n; i++) {
            ctel_status rc = copy_value(s, &items[i], &src->u.array.items[i], max_len, depth + 1);
            if (rc != CTEL_OK)
                return rc;
        }
        dst->u.array.items = items;
        dst->u.array.count = n;
        return CTEL_OK;
    }
    case CTEL_VALUE_KVLIST: {
        size_t n = src->u.kvlist.items ? src->u.kvlist.count : 0;
        if (depth >= MAX_VALUE_DEPTH)
            n = 0;
        ctel_attribute *items = n ? ctel__span_arena_alloc(s, n * sizeof *items) : NULL;
        if (n && !items)
            return CTEL_ERR_NO_MEMORY;
        for (size_t i = 0; i < n; i++) {
            const ctel_attribute *a = &src->u.kvlist.items[i];
            ctel_status rc = ctel__span_copy_str(s, a->key ? a->key : "", a->key ? a->key_len : 0,
                                                 &items[i].key);
            if (rc != CTEL_OK)
                return rc;
            items[i].key_len = a->key ? a->key_len : 0;
            rc = copy_value(s, &items[i].value, &a->value, max_len, depth + 1);
            if (rc != CTEL_OK)
                return rc;
        }
        dst->u.kvlist.items = items;
        dst->u.kvlist.count = n;
        return CTEL_OK;
    }
    case CTEL_VALUE_EMPTY:
    case CTEL_VALUE_BOOL:
    case CTEL_VALUE_INT:
    case CTEL_VALUE_DOUBLE:
        return CTEL_OK;
    }
    dst->type = CTEL_VALUE_EMPTY;
    return CTEL_ERR_INVALID_ARGUMENT;
}

ctel_status ctel__span_put_attr(ctel_span *s, ctel_attribute **attrs, uint32_t *count,
                                uint32_t *cap, uint32_t limit, uint32_t *dropped, const char *key,
                                size_t key_len, const ctel_value *value)
{
    if (!key || key_len == 0 || !value)
        return CTEL_ERR_INVALID_ARGUMENT;
    uint32_t max_len = s->tracer->sdk->limits.attribute_value_length;
    ctel_attribute *a = *attrs;
    for (uint32_t i = 0; i < *count; i++) {
        if (a[i].key_len == key_len && memcmp(a[i].key, key, key_len) == 0)
            return copy_value(s, &a[i].value, value, max_len, 0);
    }
    if (*count >= limit) {
        (*dropped)++;
        return CTEL_ERR_LIMIT;
    }
    if (*count == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 4;
        if (ncap > limit)
            ncap = limit;
        ctel_attribute *na = ctel__span_arena_alloc(s, (size_t)ncap * sizeof *na);
        if (!na)
            return CTEL_ERR_NO_MEMORY;
        if (*count)
            memcpy(na, a, (size_t)*count * sizeof *na);
        *attrs = a = na;
        *cap = ncap;
    }
    ctel_attribute *dst = &a[*count];
    if (value->type == CTEL_VALUE_STRING && value->u.string.ptr &&
        CTEL_LIKELY(value->u.string.len <= max_len)) {
        /* The common case in one arena allocation: key, then value. */
        size_t vlen = value->u.string.len;
        char *p = ctel__span_arena_alloc(s, key_len + vlen + 2);
        if (!p)
            return CTEL_ERR_NO_MEMORY;
        memcpy(p, key, key_len);
        p[key_len] = '\0';
        memcpy(p + key_len + 1, value->u.string.ptr, vlen);
        p[key_len + 1 + vlen] = '\0';
        dst->key = p;
        dst->key_len = key_len;
        dst->value.type = CTEL_VALUE_STRING;
        dst->value.u.string.ptr = p + key_len + 1;
        dst->value.u.string.len = vlen;
        (*count)++;
        return CTEL_OK;
    }
    ctel_status rc = ctel__span_copy_str(s, key, key_len, &dst->key);
    if (rc != CTEL_OK)
        return rc;
    dst->key_len = key_len;
    rc = copy_value(s, &dst->value, value, max_len, 0);
    if (rc != CTEL_OK)
        return rc;
    (*count)++;
    return CTEL_OK;
}
