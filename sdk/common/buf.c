/* sdk/common/buf.c — see buf.h. */
#include "sdk/internal.h"
#include "sdk/common/buf.h"

#include <stdio.h>

ctel_status ctel__buf_reserve(ctel__buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        return CTEL_ERR_NO_MEMORY;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return CTEL_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = ctel__realloc(b->data, cap);
    if (!p)
        return CTEL_ERR_NO_MEMORY;
    b->data = p;
    b->cap = cap;
    return CTEL_OK;
}

ctel_status ctel__buf_append(ctel__buf *b, const void *p, size_t n)
{
    ctel_status rc = ctel__buf_reserve(b, n);
    if (rc != CTEL_OK)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return CTEL_OK;
}

ctel_status ctel__buf_append_str(ctel__buf *b, const char *s)
{
    return ctel__buf_append(b, s, strlen(s));
}

ctel_status ctel__buf_append_char(ctel__buf *b, char c)
{
    return ctel__buf_append(b, &c, 1);
}

ctel_status ctel__buf_appendf(ctel__buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[128];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return CTEL_ERR_INTERNAL;
    if ((size_t)n < sizeof small)
        return ctel__buf_append(b, small, (size_t)n);
    ctel_status rc = ctel__buf_reserve(b, (size_t)n);
    if (rc != CTEL_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return CTEL_OK;
}

void ctel__buf_reset(ctel__buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void ctel__buf_free(ctel__buf *b)
{
    ctel__free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
