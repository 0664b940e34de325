/* sdk/common/attr_clone.h — deep copies of attribute lists for long-lived
 * objects (tracer scopes, resources, stored spans). */
#ifndef CTEL_COMMON_ATTR_CLONE_H
#define CTEL_COMMON_ATTR_CLONE_H

#include "sdk/internal.h"

/* Deep-copies `count` attributes (keys, strings, bytes, arrays, kvlists;
 * every string NUL-terminated) into *out (NULL when count is 0).
 * CTEL_ERR_NO_MEMORY leaves *out NULL and nothing allocated. */
ctel_status ctel__attrs_clone(const ctel_attribute *attrs, size_t count, ctel_attribute **out);
/* Deep-copies one value into *dst. */
ctel_status ctel__value_clone(const ctel_value *src, ctel_value *dst);
/* Frees what ctel__attrs_clone / ctel__value_clone made. NULL: no-op. */
void ctel__attrs_free(ctel_attribute *attrs, size_t count);
void ctel__value_free(ctel_value *v);

#endif
