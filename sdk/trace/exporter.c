/* sdk/trace/exporter.c — the span exporter handle around user or built-in
 * operations: one shutdown, one destroy, no export after shutdown. */
#include "sdk/internal.h"

struct ctel_span_exporter {
    ctel_span_exporter_ops ops;
    void *state;
    char *name;
    _Atomic bool shut_down;
};

ctel_status ctel_span_exporter_create(const ctel_span_exporter_ops *ops, void *state,
                                      ctel_span_exporter **out)
{
    if (out)
        *out = NULL;
    if (!ops || !ops->export_spans || !out) {
        if (ops && ops->destroy)
            ops->destroy(state);
        return CTEL_ERR_INVALID_ARGUMENT;
    }
    ctel_span_exporter *e = ctel__calloc(1, sizeof *e);
    char *name = ctel__strdup(ops->name ? ops->name : "exporter");
    if (!e || !name) {
        ctel__free(e);
        ctel__free(name);
        if (ops->destroy)
            ops->destroy(state);
        return CTEL_ERR_NO_MEMORY;
    }
    e->ops = *ops;
    e->ops.name = name;
    e->name = name;
    e->state = state;
    *out = e;
    return CTEL_OK;
}

ctel_status ctel_span_exporter_export(ctel_span_exporter *e, const ctel_span_data *const *spans,
                                      size_t count, uint32_t timeout_ms)
{
    if (!e || (count && !spans))
        return CTEL_ERR_INVALID_ARGUMENT;
    if (atomic_load_explicit(&e->shut_down, memory_order_acquire))
        return CTEL_ERR_SHUTDOWN;
    if (count == 0)
        return CTEL_OK;
    return e->ops.export_spans(e->state, spans, count, timeout_ms);
}

ctel_status ctel_span_exporter_force_flush(ctel_span_exporter *e, uint32_t timeout_ms)
{
    if (!e)
        return CTEL_ERR_INVALID_ARGUMENT;
    if (atomic_load(&e->shut_down))
        return CTEL_ERR_SHUTDOWN;
    return e->ops.force_flush ? e->ops.force_flush(e->state, timeout_ms) : CTEL_OK;
}

ctel_status ctel_span_exporter_shutdown(ctel_span_exporter *e, uint32_t timeout_ms)
{
    if (!e)
        return CTEL_ERR_INVALID_ARGUMENT;
    if (atomic_exchange(&e->shut_down, true))
        return CTEL_ERR_SHUTDOWN;
    return e->ops.shutdown ? e->ops.shutdown(e->state, timeout_ms) : CTEL_OK;
}

void *ctel__span_exporter_state_of(const ctel_span_exporter *e,
                                   ctel_status (*export_fn)(void *, const ctel_span_data *const *,
                                                            size_t, uint32_t))
{
    return e && e->ops.export_spans == export_fn ? e->state : NULL;
}

const char *ctel_span_exporter_name(const ctel_span_exporter *e)
{
    return e ? e->name : "";
}

void ctel_span_exporter_destroy(ctel_span_exporter *e)
{
    if (!e)
        return;
    if (!atomic_load(&e->shut_down))
        (void)ctel_span_exporter_shutdown(e, 5000);
    if (e->ops.destroy)
        e->ops.destroy(e->state);
    ctel__free(e->name);
    ctel__free(e);
}
