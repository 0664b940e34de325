/* sdk/common/status.c — status strings and the version. */
#include "sdk/internal.h"

const char *ctel_version(void)
{
    return CTEL_VERSION_STRING;
}

const char *ctel_status_str(ctel_status status)
{
    switch (status) {
    case CTEL_OK: return "ok";
    case CTEL_ERR_INVALID_ARGUMENT: return "invalid argument";
    case CTEL_ERR_NO_MEMORY: return "out of memory";
    case CTEL_ERR_TIMEOUT: return "timed out";
    case CTEL_ERR_UNAVAILABLE: return "unavailable (retryable)";
    case CTEL_ERR_REJECTED: return "rejected (not retryable)";
    case CTEL_ERR_QUEUE_FULL: return "queue full";
    case CTEL_ERR_CIRCUIT_OPEN: return "circuit breaker open";
    case CTEL_ERR_SHUTDOWN: return "already shut down";
    case CTEL_ERR_NOT_FOUND: return "not found";
    case CTEL_ERR_PARSE: return "malformed input";
    case CTEL_ERR_IO: return "I/O error";
    case CTEL_ERR_LIMIT: return "limit reached";
    case CTEL_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

uint64_t ctel_now_unix_nano(void)
{
    return ctel__now_ns();
}
