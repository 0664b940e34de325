/* sdk/common/log.c — the SDK's own diagnostics: stderr or a user handler,
 * filtered by OTEL_LOG_LEVEL, rate-limited per call site where asked.
 * Never calls into the telemetry pipeline, so it cannot recurse. */
#include "sdk/internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_once_t g_level_once = PTHREAD_ONCE_INIT;
static _Atomic int g_level = CTEL_LOG_INFO;
static atomic_bool g_level_explicit;

/* Handler and its user data change together under a lock; logging reads
 * them under the same lock (diagnostics are rare). */
static pthread_mutex_t g_handler_lock = PTHREAD_MUTEX_INITIALIZER;
static ctel_log_fn g_handler;
static void *g_handler_ud;

static const char *const k_level_names[] = {"debug", "info", "warn", "error", "none", NULL};

static void level_from_env(void)
{
    if (atomic_load(&g_level_explicit))
        return;
    /* Parsed by hand: ctel__env_enum would log through us before the level
     * is known. */
    const char *v = getenv("OTEL_LOG_LEVEL");
    if (!v || !*v)
        return;
    for (int i = 0; k_level_names[i]; i++) {
        if (ctel__str_ieq(v, k_level_names[i])) {
            atomic_store(&g_level, i);
            return;
        }
    }
    if (ctel__str_ieq(v, "warning"))
        atomic_store(&g_level, CTEL_LOG_WARN);
    else
        fprintf(stderr, "ctel: warn: OTEL_LOG_LEVEL has an unknown value; using info\n");
}

void ctel_set_log_level(ctel_log_level level)
{
    if ((int)level < CTEL_LOG_DEBUG || level > CTEL_LOG_NONE)
        return;
    atomic_store(&g_level_explicit, true);
    atomic_store(&g_level, (int)level);
}

void ctel_set_log_handler(ctel_log_fn fn, void *user_data)
{
    pthread_mutex_lock(&g_handler_lock);
    g_handler = fn;
    g_handler_ud = user_data;
    pthread_mutex_unlock(&g_handler_lock);
}

bool ctel__log_enabled(ctel_log_level level)
{
    pthread_once(&g_level_once, level_from_env);
    return level != CTEL_LOG_NONE && (int)level >= atomic_load_explicit(&g_level, memory_order_relaxed);
}

/* fork(): held across it so the child never inherits it locked (by a thread
 * in a log handler that the child does not have). */
void ctel__log_fork_lock(void)
{
    pthread_mutex_lock(&g_handler_lock);
}

void ctel__log_fork_unlock(void)
{
    pthread_mutex_unlock(&g_handler_lock);
}

void ctel__log_fork_child(void)
{
    pthread_mutex_init(&g_handler_lock, NULL);
}

static void emit(ctel_log_level level, const char *msg)
{
    pthread_mutex_lock(&g_handler_lock);
    ctel_log_fn fn = g_handler;
    void *ud = g_handler_ud;
    if (fn) {
        fn(level, msg, ud);
    } else {
        fprintf(stderr, "ctel: %s: %s\n", k_level_names[level], msg);
    }
    pthread_mutex_unlock(&g_handler_lock);
}

void ctel__vlog(ctel_log_level level, const char *fmt, va_list ap)
{
    if (!ctel__log_enabled(level))
        return;
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    emit(level, buf);
}

void ctel__log(ctel_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ctel__vlog(level, fmt, ap);
    va_end(ap);
}

/* Monotonic time at tick resolution (a few ms): plenty for 10 s windows,
 * and cheaper than CLOCK_MONOTONIC on every suppressed message. */
static uint64_t coarse_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Suppressing must stay cheap: sites like "queue full, dropping spans" are
 * hit once per span while an exporter is down. Inside a spent window that
 * is a coarse clock read, two loads and one counter increment. */
void ctel__log_limited(ctel__log_site *site, ctel_log_level level, const char *fmt, ...)
{
    if (!ctel__log_enabled(level))
        return;
    uint64_t now = coarse_ns();
    uint64_t start = atomic_load_explicit(&site->window_start_ns, memory_order_relaxed);
    if (now - start >= CTEL__LOG_WINDOW_NS) {
        if (atomic_compare_exchange_strong(&site->window_start_ns, &start, now))
            atomic_store(&site->count, 0);
    } else if (atomic_load_explicit(&site->count, memory_order_relaxed) >= CTEL__LOG_BURST) {
        atomic_fetch_add_explicit(&site->suppressed, 1, memory_order_relaxed);
        return;
    }
    if (atomic_fetch_add(&site->count, 1) >= CTEL__LOG_BURST) {
        atomic_fetch_add(&site->suppressed, 1);
        return;
    }
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    uint32_t dropped = atomic_exchange(&site->suppressed, 0);
    if (dropped && n >= 0 && (size_t)n < sizeof buf)
        snprintf(buf + n, sizeof buf - (size_t)n, " (%u similar messages suppressed)", dropped);
    emit(level, buf);
}
