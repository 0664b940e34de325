/* sdk/internal.h — the one internal setup header every ctel .c includes
 * first. Cross-file internals are named ctel__*; file-local ones are static.
 */
#ifndef CTEL_INTERNAL_H
#define CTEL_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <ctel/ctel.h>

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define CTEL_LIKELY(x) __builtin_expect(!!(x), 1)
#define CTEL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CTEL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CTEL_CACHELINE 64
#define CTEL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define CTEL_UNUSED(x) ((void)(x))

/* ---- allocation (sdk/common/alloc.c) ----------------------------------------
 * Every allocation goes through these, honouring ctel_set_allocator(). All
 * return NULL on failure; callers must check. */
void *ctel__malloc(size_t size);
void *ctel__calloc(size_t count, size_t size); /* overflow-checked */
void *ctel__realloc(void *ptr, size_t size);
void ctel__free(void *ptr);
char *ctel__strdup(const char *s);            /* NULL in → NULL out */
char *ctel__strndup(const char *s, size_t n); /* copies n bytes, NUL-terminates */
/* The allocator as protobuf-c's ProtobufCAllocator wants it (opaque here). */
void *ctel__protobuf_allocator(void);

/* ---- diagnostics (sdk/common/log.c) ----------------------------------------- */
void ctel__log(ctel_log_level level, const char *fmt, ...) CTEL_PRINTF(2, 3);
void ctel__vlog(ctel_log_level level, const char *fmt, va_list ap) CTEL_PRINTF(2, 0);
bool ctel__log_enabled(ctel_log_level level);

/* Per-call-site rate limit: at most CTEL__LOG_BURST messages per
 * CTEL__LOG_WINDOW_NS; later ones in the window are counted and reported as
 * "N similar messages suppressed" with the next message that gets through. */
#define CTEL__LOG_BURST 5
#define CTEL__LOG_WINDOW_NS (10ull * 1000000000ull)
typedef struct ctel__log_site {
    _Atomic uint64_t window_start_ns;
    _Atomic uint32_t count;
    _Atomic uint32_t suppressed;
} ctel__log_site;
void ctel__log_limited(ctel__log_site *site, ctel_log_level level, const char *fmt, ...)
    CTEL_PRINTF(3, 4);
#define CTEL_LOG_LIMITED(level, ...)                                                               \
    do {                                                                                           \
        static ctel__log_site ctel__site_;                                                         \
        ctel__log_limited(&ctel__site_, (level), __VA_ARGS__);                                     \
    } while (0)

/* ---- environment (sdk/common/env.c) -----------------------------------------
 * The OTel rules: an empty value is unset; malformed values warn (naming the
 * variable, the value and what is used instead) and count as unset. */

/* The value of `name`, or NULL if unset or empty. */
const char *ctel__env_get(const char *name);
/* Only case-insensitive "true" is true; "false" is false; unset gives `dflt`;
 * anything else warns and gives false. */
bool ctel__env_bool(const char *name, bool dflt);
/* Decimal integer within [min, max] (surrounding spaces allowed). Returns true
 * and sets *out when set and valid; false (with a warning if set but
 * invalid or out of range) otherwise. */
bool ctel__env_int(const char *name, int64_t min, int64_t max, int64_t *out);
/* Duration/timeout in ms: integer >= 0. Negative or malformed: warn, false. */
bool ctel__env_duration_ms(const char *name, int64_t *out);
/* Case-insensitive match of the trimmed value against `names` (NULL
 * terminated): returns the index; unset → -1; unknown → warning and -1. */
int ctel__env_enum(const char *name, const char *const *names);
/* Copies an untrusted value into `out` for a diagnostic: at most 64 bytes,
 * control and non-ASCII bytes escaped as \xNN, "..." when cut. */
void ctel__env_quote(const char *value, char *out, size_t cap);
/* Case-insensitive ASCII comparison helpers used by the parsers. */
bool ctel__str_ieq(const char *a, const char *b);
bool ctel__mem_ieq(const char *a, const char *b, size_t n);

/* An RFC 9110 token character (`tchar`): header names, baggage keys. */
static inline bool ctel__is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The value of a hex digit (either case), or -1. For percent-decoding. */
static inline int ctel__hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* ---- time ------------------------------------------------------------------- */
static inline uint64_t ctel__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static inline uint64_t ctel__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
/* Monotonic deadline for a timeout (0 = none → UINT64_MAX). */
static inline uint64_t ctel__deadline_ns(uint32_t timeout_ms)
{
    return timeout_ms == 0 ? UINT64_MAX : ctel__mono_ns() + (uint64_t)timeout_ms * 1000000ull;
}

/* ---- fork (sdk/common/fork.c calls these around fork(), after parking
 * ctel's threads): global locks held across fork, re-initialised in the
 * child. */
void ctel__span_pool_fork_lock(void);
void ctel__span_pool_fork_unlock(void);
void ctel__span_pool_fork_child(void);
void ctel__handoff_fork_lock(void);
void ctel__handoff_fork_unlock(void);
void ctel__handoff_fork_child_global(void);
void ctel__log_fork_lock(void);
void ctel__log_fork_unlock(void);
void ctel__log_fork_child(void);
void ctel__clock_fork_child(void);

/* ---- exporters (sdk/trace/exporter.c) ---------------------------------------- */
/* The state of `exp` if its export operation is `export_fn` (i.e. it is an
 * exporter of that kind), else NULL. For kind-specific getters. */
void *ctel__span_exporter_state_of(const ctel_span_exporter *exp,
                                   ctel_status (*export_fn)(void *, const ctel_span_data *const *,
                                                            size_t, uint32_t));

/* ---- IDs (sdk/trace/id_generator.c) ----------------------------------------
 * Per-thread xoshiro-family generator seeded from getrandom(); re-seeded in a
 * forked child (pthread_atfork bumps a generation the thread state checks).
 * Never returns an all-zero ID. Thread-safety: any thread, lock-free. */
void ctel__id_trace(uint8_t out[16]);
void ctel__id_span(uint8_t out[8]);
/* Both IDs of a new root span in one call. */
void ctel__id_root(uint8_t trace_id[16], uint8_t span_id[8]);
/* Forces every thread to re-seed on its next ID (called in a forked child). */
void ctel__id_reseed_all(void);

#endif /* CTEL_INTERNAL_H */
