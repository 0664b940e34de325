/* sdk/pipeline/spill_crc.c — CRC-32C for the disk spill's record framing.
 * The software version is slicing-by-8 (eight 256-entry tables, eight bytes
 * per step), about 1-2 GB/s; x86-64 CPUs with SSE4.2 have an instruction for
 * exactly this polynomial, several times faster, chosen at run time. */
#include "sdk/internal.h"

#include "sdk/pipeline/spill_internal.h"

#include <pthread.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CTEL__CRC_HW 1
#include <nmmintrin.h>
#endif

#define CRC32C_POLY 0x82F63B78u /* Castagnoli, bit-reversed */

static uint32_t g_table[8][256];
static pthread_once_t g_table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        g_table[0][i] = c;
    }
    /* g_table[k][i]: the CRC of byte i followed by k zero bytes. */
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = g_table[0][i];
        for (int k = 1; k < 8; k++) {
            c = (c >> 8) ^ g_table[0][c & 0xff];
            g_table[k][i] = c;
        }
    }
}

uint32_t ctel__crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&g_table_once, table_init);
    const uint8_t *p = data;
    uint32_t c = ~crc;
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        c = (c >> 8) ^ g_table[0][(c ^ *p++) & 0xff];
        len--;
    }
    while (len >= 8) {
        /* Byte-wise loads keep this endian-neutral; compilers merge them. */
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24);
        uint32_t hi =
            (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        c = g_table[7][lo & 0xff] ^ g_table[6][(lo >> 8) & 0xff] ^ g_table[5][(lo >> 16) & 0xff] ^
            g_table[4][lo >> 24] ^ g_table[3][hi & 0xff] ^ g_table[2][(hi >> 8) & 0xff] ^
            g_table[1][(hi >> 16) & 0xff] ^ g_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len-- > 0)
        c = (c >> 8) ^ g_table[0][(c ^ *p++) & 0xff];
    return ~c;
}

#ifdef CTEL__CRC_HW
bool ctel__crc32c_hw_available(void)
{
    return __builtin_cpu_supports("sse4.2");
}

__attribute__((target("sse4.2"))) uint32_t ctel__crc32c_hw(uint32_t crc, const void *data,
                                                           size_t len)
{
    const uint8_t *p = data;
    uint64_t c = ~crc;
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        len--;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        len -= 8;
    }
    while (len-- > 0)
        c = _mm_crc32_u8((uint32_t)c, *p++);
    return ~(uint32_t)c;
}
#else
bool ctel__crc32c_hw_available(void)
{
    return false;
}

uint32_t ctel__crc32c_hw(uint32_t crc, const void *data, size_t len)
{
    return ctel__crc32c_sw(crc, data, len);
}
#endif

/* -1 unknown, 0 software, 1 SSE4.2. Races on first use are harmless: every
 * thread computes the same answer. */
static _Atomic int g_use_hw = -1;

uint32_t ctel__crc32c(uint32_t crc, const void *data, size_t len)
{
    int hw = atomic_load_explicit(&g_use_hw, memory_order_relaxed);
    if (CTEL_UNLIKELY(hw < 0)) {
        hw = ctel__crc32c_hw_available() ? 1 : 0;
        atomic_store_explicit(&g_use_hw, hw, memory_order_relaxed);
    }
    return hw ? ctel__crc32c_hw(crc, data, len) : ctel__crc32c_sw(crc, data, len);
}
