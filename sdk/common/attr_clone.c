/* sdk/common/attr_clone.c — deep copies of attributes and values. */
#include "sdk/internal.h"
#include "sdk/common/attr_clone.h"

void ctel__value_free(ctel_value *v)
{
    if (!v)
        return;
    switch (v->type) {
    case CTEL_VALUE_STRING:
        ctel__free((void *)v->u.string.ptr);
        break;
    case CTEL_VALUE_BYTES:
        ctel__free((void *)v->u.bytes.ptr);
        break;
    case CTEL_VALUE_ARRAY:
        for (size_t i = 0; i < v->u.array.count; i++)
            ctel__value_free((ctel_value *)&v->u.array.items[i]);
        ctel__free((void *)v->u.array.items);
        break;
    case CTEL_VALUE_KVLIST:
        ctel__attrs_free((ctel_attribute *)v->u.kvlist.items, v->u.kvlist.count);
        break;
    default:
        break;
    }
    v->type = CTEL_VALUE_EMPTY;
}

void ctel__attrs_free(ctel_attribute *attrs, size_t count)
{
    if (!attrs)
        return;
    for (size_t i = 0; i < count; i++) {
        ctel__free((void *)attrs[i].key);
        ctel__value_free(&attrs[i].value);
    }
    ctel__free(attrs);
}

ctel_status ctel__value_clone(const ctel_value *src, ctel_value *dst)
{
    *dst = *src;
    switch (src->type) {
    case CTEL_VALUE_STRING: {
        size_t len = src->u.string.ptr ? src->u.string.len : 0;
        char *p = ctel__strndup(src->u.string.ptr ? src->u.string.ptr : "", len);
        if (!p)
            goto oom;
        dst->u.string.ptr = p;
        dst->u.string.len = len;
        return CTEL_OK;
    }
    case CTEL_VALUE_BYTES: {
        size_t len = src->u.bytes.ptr ? src->u.bytes.len : 0;
        uint8_t *p = ctel__malloc(len ? len : 1);
        if (!p)
            goto oom;
        if (len)
            memcpy(p, src->u.bytes.ptr, len);
        dst->u.bytes.ptr = p;
        dst->u.bytes.len = len;
        return CTEL_OK;
    }
    case CTEL_VALUE_ARRAY: {
        size_t n = src->u.array.items ? src->u.array.count : 0;
        ctel_value *items = n ? ctel__calloc(n, sizeof *items) : NULL;
        if (n && !items)
            goto oom;
        for (size_t i = 0; i < n; i++) {
            if (ctel__value_clone(&src->u.array.items[i], &items[i]) != CTEL_OK) {
                for (size_t j = 0; j < i; j++)
                    ctel__value_free(&items[j]);
                ctel__free(items);
                goto oom;
            }
        }
        dst->u.array.items = items;
        dst->u.array.count = n;
        return CTEL_OK;
    }
    case CTEL_VALUE_KVLIST: {
        ctel_attribute *items = NULL;
        size_t n = src->u.kvlist.items ? src->u.kvlist.count : 0;
        if (ctel__attrs_clone(src->u.kvlist.items, n, &items) != CTEL_OK)
            goto oom;
        dst->u.kvlist.items = items;
        dst->u.kvlist.count = n;
        return CTEL_OK;
    }
    default:
        return CTEL_OK;
    }
oom:
    dst->type = CTEL_VALUE_EMPTY;
    return CTEL_ERR_NO_MEMORY;
}

ctel_status ctel__attrs_clone(const ctel_attribute *attrs, size_t count, ctel_attribute **out)
{
    *out = NULL;
    if (count == 0 || !attrs)
        return CTEL_OK;
    ctel_attribute *a = ctel__calloc(count, sizeof *a);
    if (!a)
        return CTEL_ERR_NO_MEMORY;
    for (size_t i = 0; i < count; i++) {
        size_t klen = attrs[i].key ? attrs[i].key_len : 0;
        a[i].key = ctel__strndup(attrs[i].key ? attrs[i].key : "", klen);
        a[i].key_len = klen;
        if (!a[i].key || ctel__value_clone(&attrs[i].value, &a[i].value) != CTEL_OK) {
            ctel__attrs_free(a, i + 1);
            return CTEL_ERR_NO_MEMORY;
        }
    }
    *out = a;
    return CTEL_OK;
}
