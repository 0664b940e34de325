/* sdk/common/mul_fold.h — the full 64 x 64 -> 128-bit product of two words,
 * its halves XORed together: the mixing step of ctel's random ID generator.
 * Compilers for 64-bit targets have a 128-bit type; 32-bit ones (arm,
 * i386) do not, so the product is also built from 32-bit halves. */
#ifndef CTEL_COMMON_MUL_FOLD_H
#define CTEL_COMMON_MUL_FOLD_H

#include <stdint.h>

/* From four 32 x 32 -> 64-bit products (any target). */
static inline uint64_t ctel__mul_fold_portable(uint64_t a, uint64_t b)
{
    uint64_t a_lo = (uint32_t)a, a_hi = a >> 32, b_lo = (uint32_t)b, b_hi = b >> 32;
    uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
    uint64_t cross = (lo_lo >> 32) + (uint32_t)hi_lo + lo_hi; /* cannot overflow */
    uint64_t hi = hi_hi + (hi_lo >> 32) + (cross >> 32);
    uint64_t lo = (cross << 32) | (uint32_t)lo_lo;
    return hi ^ lo;
}

static inline uint64_t ctel__mul_fold(uint64_t a, uint64_t b)
{
#ifdef __SIZEOF_INT128__
    unsigned __int128 m = (unsigned __int128)a * b;
    return (uint64_t)(m >> 64) ^ (uint64_t)m;
#else
    return ctel__mul_fold_portable(a, b);
#endif
}

#endif
