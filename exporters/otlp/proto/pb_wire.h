/* exporters/otlp/proto/pb_wire.h — the few protobuf wire-format primitives
 * the encoder writes by hand (varints, length-delimited fields). */
#ifndef CTEL_OTLP_PB_WIRE_H
#define CTEL_OTLP_PB_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Tag byte of a field numbered below 16 with wire type `wt` (0 varint,
 * 1 fixed64, 2 length-delimited, 5 fixed32). */
#define CTEL__PB_TAG(field, wt) ((uint8_t)(((field) << 3) | (wt)))

static inline size_t ctel__pb_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline uint8_t *ctel__pb_put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Size of a length-delimited field (one-byte tag) with an `n`-byte body. */
static inline size_t ctel__pb_ld(size_t n)
{
    return 1 + ctel__pb_varint_len(n) + n;
}

/* A length-delimited field: tag, length, the bytes. */
static inline uint8_t *ctel__pb_put_bytes(uint8_t *p, uint8_t tag, const void *data, size_t n)
{
    *p++ = tag;
    p = ctel__pb_put_varint(p, n);
    if (n)
        memcpy(p, data, n);
    return p + n;
}

#endif
