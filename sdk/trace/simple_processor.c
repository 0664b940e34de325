/* sdk/trace/simple_processor.c — exports each span as it ends, on the ending
 * thread. Serialised by a mutex because exporters are never called
 * concurrently. For tests and debugging: it makes span end as slow as the
 * exporter. */
#include "sdk/internal.h"
#include "sdk/trace/processor.h"

#include <pthread.h>

typedef struct simple_processor {
    struct ctel_span_processor base;
    ctel_span_exporter *exporter;
    pthread_mutex_t lock;
    _Atomic bool shut_down;
    _Atomic uint64_t exported;
    _Atomic uint64_t failed;
    _Atomic uint64_t after_shutdown;
    _Atomic uint64_t calls;
} simple_processor;

static void sp_on_end(struct ctel_span_processor *p, ctel_span *s)
{
    simple_processor *sp = (simple_processor *)p;
    if (!(s->data.context.trace_flags & CTEL_TRACE_FLAG_SAMPLED))
        return; /* record-only: not exported */
    if (atomic_load(&sp->shut_down)) {
        atomic_fetch_add(&sp->after_shutdown, 1);
        return;
    }
    const ctel_span_data *view = &s->data;
    pthread_mutex_lock(&sp->lock);
    atomic_fetch_add(&sp->calls, 1);
    ctel_status rc = ctel_span_exporter_export(sp->exporter, &view, 1, 0);
    pthread_mutex_unlock(&sp->lock);
    if (rc == CTEL_OK) {
        atomic_fetch_add(&sp->exported, 1);
    } else {
        atomic_fetch_add(&sp->failed, 1);
        CTEL_LOG_LIMITED(CTEL_LOG_WARN, "simple processor: exporter \"%s\" failed (%s)",
                         ctel_span_exporter_name(sp->exporter), ctel_status_str(rc));
    }
}

static ctel_status sp_force_flush(struct ctel_span_processor *p, uint64_t deadline_ns)
{
    simple_processor *sp = (simple_processor *)p;
    uint64_t now = ctel__mono_ns();
    uint32_t ms = deadline_ns == UINT64_MAX ? 0
                  : deadline_ns > now       ? (uint32_t)((deadline_ns - now) / 1000000ull) + 1
                                            : 1;
    pthread_mutex_lock(&sp->lock);
    ctel_status rc = ctel_span_exporter_force_flush(sp->exporter, ms);
    pthread_mutex_unlock(&sp->lock);
    return rc;
}

static ctel_status sp_shutdown(struct ctel_span_processor *p, uint64_t deadline_ns)
{
    simple_processor *sp = (simple_processor *)p;
    if (atomic_exchange(&sp->shut_down, true))
        return CTEL_ERR_SHUTDOWN;
    uint64_t now = ctel__mono_ns();
    uint32_t ms = deadline_ns == UINT64_MAX ? 0
                  : deadline_ns > now       ? (uint32_t)((deadline_ns - now) / 1000000ull) + 1
                                            : 1;
    pthread_mutex_lock(&sp->lock);
    ctel_status rc = ctel_span_exporter_shutdown(sp->exporter, ms);
    pthread_mutex_unlock(&sp->lock);
    return rc == CTEL_ERR_SHUTDOWN ? CTEL_OK : rc;
}

static void sp_stats(struct ctel_span_processor *p, ctel_sdk_stats *acc)
{
    simple_processor *sp = (simple_processor *)p;
    acc->spans_exported += atomic_load(&sp->exported);
    acc->spans_dropped_export_failed += atomic_load(&sp->failed);
    acc->spans_dropped_shutdown += atomic_load(&sp->after_shutdown);
    acc->export_calls += atomic_load(&sp->calls);
    acc->export_failures += atomic_load(&sp->failed);
}

static void sp_destroy(struct ctel_span_processor *p)
{
    simple_processor *sp = (simple_processor *)p;
    ctel_span_exporter_destroy(sp->exporter);
    pthread_mutex_destroy(&sp->lock);
    ctel__free(sp);
}

static ctel_span_exporter *sp_exporter(struct ctel_span_processor *p)
{
    return ((simple_processor *)p)->exporter;
}

static const ctel__processor_vt k_simple_vt = {
    .exporter = sp_exporter,
    .on_end = sp_on_end,
    .force_flush = sp_force_flush,
    .shutdown = sp_shutdown,
    .stats = sp_stats,
    .destroy = sp_destroy,
    .retains = false,
};

ctel_status ctel_simple_processor_create(ctel_span_exporter *exporter, ctel_span_processor **out)
{
    if (out)
        *out = NULL;
    if (!exporter || !out) {
        ctel_span_exporter_destroy(exporter);
        return CTEL_ERR_INVALID_ARGUMENT;
    }
    simple_processor *sp = ctel__calloc(1, sizeof *sp);
    if (!sp) {
        ctel_span_exporter_destroy(exporter);
        return CTEL_ERR_NO_MEMORY;
    }
    sp->base.vt = &k_simple_vt;
    sp->exporter = exporter;
    pthread_mutex_init(&sp->lock, NULL);
    *out = &sp->base;
    return CTEL_OK;
}
