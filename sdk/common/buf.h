/* sdk/common/buf.h — a growable byte buffer for encoders. Every append
 * returns a status; out of memory never aborts and leaves the contents as
 * they were before the failing append. */
#ifndef CTEL_COMMON_BUF_H
#define CTEL_COMMON_BUF_H

#include "sdk/internal.h"

typedef struct ctel__buf {
    char *data; /* NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
} ctel__buf;

#define CTEL__BUF_INIT {NULL, 0, 0}

ctel_status ctel__buf_reserve(ctel__buf *b, size_t extra);
ctel_status ctel__buf_append(ctel__buf *b, const void *p, size_t n);
ctel_status ctel__buf_append_str(ctel__buf *b, const char *s);
ctel_status ctel__buf_append_char(ctel__buf *b, char c);
ctel_status ctel__buf_appendf(ctel__buf *b, const char *fmt, ...) CTEL_PRINTF(2, 3);
void ctel__buf_reset(ctel__buf *b); /* keeps the memory */
void ctel__buf_free(ctel__buf *b);

#endif
