/* ctel/common.h — status codes, version, allocator hook, diagnostics, clock.
 *
 * Every other ctel header includes this one. Nothing here allocates except
 * where stated.
 */
#ifndef CTEL_COMMON_H
#define CTEL_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Symbols are hidden by default; CTEL_API marks the published ones. */
#if defined(CTEL_STATIC_DEFINE)
#define CTEL_API
#elif defined(__GNUC__) || defined(__clang__)
#define CTEL_API __attribute__((visibility("default")))
#else
#define CTEL_API
#endif

#define CTEL_VERSION_MAJOR 0
#define CTEL_VERSION_MINOR 1
#define CTEL_VERSION_PATCH 0
#define CTEL_VERSION_STRING "0.1.0"

/* The library's version string, e.g. "0.1.0". Static; never NULL.
 * Thread-safety: any thread. */
CTEL_API const char *ctel_version(void);

/* Result of every fallible call. Append-only: values are never renumbered.
 * The name of each value says what the caller can do about it. */
typedef enum ctel_status {
    CTEL_OK = 0,
    CTEL_ERR_INVALID_ARGUMENT = 1, /* caller error: fix the call */
    CTEL_ERR_NO_MEMORY = 2,        /* allocation failed; nothing was changed */
    CTEL_ERR_TIMEOUT = 3,          /* the deadline passed before completion */
    CTEL_ERR_UNAVAILABLE = 4,      /* transient failure: retrying may succeed */
    CTEL_ERR_REJECTED = 5,         /* permanent failure: do not retry */
    CTEL_ERR_QUEUE_FULL = 6,       /* bounded queue full: item dropped, counted */
    CTEL_ERR_CIRCUIT_OPEN = 7,     /* circuit breaker open: no attempt made */
    CTEL_ERR_SHUTDOWN = 8,         /* object already shut down */
    CTEL_ERR_NOT_FOUND = 9,        /* looked-up item does not exist */
    CTEL_ERR_PARSE = 10,           /* malformed input (header, env value, file) */
    CTEL_ERR_IO = 11,              /* file or socket I/O failed */
    CTEL_ERR_LIMIT = 12,           /* a configured limit was hit; item dropped, counted */
    CTEL_ERR_INTERNAL = 13         /* a bug in ctel: please report it */
} ctel_status;

/* A short static English description of `status` ("ok", "invalid argument",
 * ...). Unknown values give "unknown status". Never NULL.
 * Thread-safety: any thread. */
CTEL_API const char *ctel_status_str(ctel_status status);

/* ---- allocator hook ------------------------------------------------------ */

/* Every allocation ctel makes (including protobuf-c's and the exporters')
 * goes through these functions. `user_data` is passed back unchanged. */
typedef struct ctel_allocator {
    void *(*malloc_fn)(size_t size, void *user_data);
    void *(*realloc_fn)(void *ptr, size_t size, void *user_data);
    void (*free_fn)(void *ptr, void *user_data);
    void *user_data;
} ctel_allocator;

/* Installs `allocator` (copied) for all later allocations; NULL restores the
 * C library's malloc/realloc/free. All three functions must be set.
 * Returns CTEL_ERR_INVALID_ARGUMENT if a function is missing, or if ctel has
 * already allocated memory with another allocator (memory would be freed by
 * the wrong one).
 * Thread-safety: only before any other ctel call, from one thread. */
CTEL_API ctel_status ctel_set_allocator(const ctel_allocator *allocator);

/* ---- diagnostics ----------------------------------------------------------- */

typedef enum ctel_log_level {
    CTEL_LOG_DEBUG = 0,
    CTEL_LOG_INFO = 1,
    CTEL_LOG_WARN = 2,
    CTEL_LOG_ERROR = 3,
    CTEL_LOG_NONE = 4
} ctel_log_level;

/* Receives one diagnostic line (no trailing newline). `message` is valid only
 * during the call. Called from whichever thread noticed the problem; must not
 * call back into ctel's span or export functions. */
typedef void (*ctel_log_fn)(ctel_log_level level, const char *message, void *user_data);

/* Routes ctel's diagnostics to `fn` instead of stderr; NULL restores stderr.
 * The default threshold comes from OTEL_LOG_LEVEL (debug, info, warn, error,
 * none; default info). Diagnostics are rate-limited per call site so a
 * failing Collector cannot flood the log.
 * Thread-safety: any thread; takes effect for messages logged afterwards. */
CTEL_API void ctel_set_log_handler(ctel_log_fn fn, void *user_data);

/* Overrides OTEL_LOG_LEVEL. Thread-safety: any thread. */
CTEL_API void ctel_set_log_level(ctel_log_level level);

/* ---- clock -------------------------------------------------------------- */

/* Wall-clock time in nanoseconds since the Unix epoch (CLOCK_REALTIME).
 * Thread-safety: any thread. */
CTEL_API uint64_t ctel_now_unix_nano(void);

#ifdef __cplusplus
}
#endif
#endif /* CTEL_COMMON_H */
