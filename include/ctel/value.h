/* ctel/value.h — attribute values (every OTLP AnyValue type) and key/value
 * attributes.
 *
 * These are plain views: ctel never keeps a pointer taken from a value passed
 * in; it copies what it keeps before the call returns. Values handed out by
 * ctel (span data given to exporters) point into ctel-owned memory that is
 * valid as long as the object they came from.
 */
#ifndef CTEL_VALUE_H
#define CTEL_VALUE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ctel_value_type {
    CTEL_VALUE_EMPTY = 0, /* AnyValue with no value set */
    CTEL_VALUE_STRING = 1,
    CTEL_VALUE_BOOL = 2,
    CTEL_VALUE_INT = 3,
    CTEL_VALUE_DOUBLE = 4,
    CTEL_VALUE_BYTES = 5,
    CTEL_VALUE_ARRAY = 6,
    CTEL_VALUE_KVLIST = 7
} ctel_value_type;

struct ctel_attribute;

/* A tagged value. Strings are UTF-8 with an explicit length (need not be
 * NUL-terminated; ctel's copies always are). */
typedef struct ctel_value {
    ctel_value_type type;
    union {
        struct {
            const char *ptr;
            size_t len;
        } string;
        bool boolean;
        int64_t integer;
        double real;
        struct {
            const uint8_t *ptr;
            size_t len;
        } bytes;
        struct {
            const struct ctel_value *items;
            size_t count;
        } array;
        struct {
            const struct ctel_attribute *items;
            size_t count;
        } kvlist;
    } u;
} ctel_value;

/* One key/value pair. */
typedef struct ctel_attribute {
    const char *key;
    size_t key_len;
    ctel_value value;
} ctel_attribute;

/* Convenience constructors for literals and NUL-terminated strings. */
static inline ctel_value ctel_value_str(const char *s)
{
    ctel_value v;
    size_t n = 0;
    if (s)
        while (s[n])
            n++;
    v.type = CTEL_VALUE_STRING;
    v.u.string.ptr = s;
    v.u.string.len = n;
    return v;
}
static inline ctel_value ctel_value_int(int64_t i)
{
    ctel_value v;
    v.type = CTEL_VALUE_INT;
    v.u.integer = i;
    return v;
}
static inline ctel_value ctel_value_double(double d)
{
    ctel_value v;
    v.type = CTEL_VALUE_DOUBLE;
    v.u.real = d;
    return v;
}
static inline ctel_value ctel_value_bool(bool b)
{
    ctel_value v;
    v.type = CTEL_VALUE_BOOL;
    v.u.boolean = b;
    return v;
}

/* Attribute initialisers: CTEL_ATTR_STR("http.request.method", "GET"). */
#define CTEL_ATTR_STR(k, s)                                                                        \
    ((ctel_attribute){(k), sizeof(k) - 1, ctel_value_str(s)})
#define CTEL_ATTR_INT(k, i) ((ctel_attribute){(k), sizeof(k) - 1, ctel_value_int(i)})
#define CTEL_ATTR_DOUBLE(k, d) ((ctel_attribute){(k), sizeof(k) - 1, ctel_value_double(d)})
#define CTEL_ATTR_BOOL(k, b) ((ctel_attribute){(k), sizeof(k) - 1, ctel_value_bool(b)})

#ifdef __cplusplus
}
#endif
#endif /* CTEL_VALUE_H */
