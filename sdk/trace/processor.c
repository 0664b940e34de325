/* sdk/trace/processor.c — user-defined span processors, and destroying a
 * processor that never reached an SDK. */
#include "sdk/internal.h"
#include "sdk/trace/processor.h"

typedef struct user_processor {
    struct ctel_span_processor base;
    ctel_span_processor_ops ops;
    void *state;
    _Atomic bool shut_down;
} user_processor;

static void up_on_start(struct ctel_span_processor *p, ctel_span *s, const ctel_context *parent)
{
    user_processor *up = (user_processor *)p;
    if (up->ops.on_start)
        up->ops.on_start(up->state, s, parent);
}

static void up_on_end(struct ctel_span_processor *p, ctel_span *s)
{
    user_processor *up = (user_processor *)p;
    if (up->ops.on_end && !atomic_load_explicit(&up->shut_down, memory_order_relaxed))
        up->ops.on_end(up->state, &s->data);
}

static uint32_t remaining_ms(uint64_t deadline_ns)
{
    uint64_t now = ctel__mono_ns();
    if (deadline_ns == UINT64_MAX)
        return 0;
    return deadline_ns > now ? (uint32_t)((deadline_ns - now) / 1000000ull) + 1 : 1;
}

static ctel_status up_force_flush(struct ctel_span_processor *p, uint64_t deadline_ns)
{
    user_processor *up = (user_processor *)p;
    return up->ops.force_flush ? up->ops.force_flush(up->state, remaining_ms(deadline_ns))
                               : CTEL_OK;
}

static ctel_status up_shutdown(struct ctel_span_processor *p, uint64_t deadline_ns)
{
    user_processor *up = (user_processor *)p;
    if (atomic_exchange(&up->shut_down, true))
        return CTEL_ERR_SHUTDOWN;
    return up->ops.shutdown ? up->ops.shutdown(up->state, remaining_ms(deadline_ns)) : CTEL_OK;
}

static void up_destroy(struct ctel_span_processor *p)
{
    user_processor *up = (user_processor *)p;
    if (up->ops.destroy)
        up->ops.destroy(up->state);
    ctel__free(up);
}

static const ctel__processor_vt k_user_vt = {
    .on_start = up_on_start,
    .on_end = up_on_end,
    .force_flush = up_force_flush,
    .shutdown = up_shutdown,
    .destroy = up_destroy,
    .retains = false,
};

ctel_status ctel_span_processor_create(const ctel_span_processor_ops *ops, void *state,
                                       ctel_span_processor **out)
{
    if (out)
        *out = NULL;
    if (!ops || !out)
        return CTEL_ERR_INVALID_ARGUMENT;
    user_processor *up = ctel__calloc(1, sizeof *up);
    if (!up)
        return CTEL_ERR_NO_MEMORY;
    up->base.vt = &k_user_vt;
    up->ops = *ops;
    up->state = state;
    *out = &up->base;
    return CTEL_OK;
}

void ctel_span_processor_destroy(ctel_span_processor *p)
{
    if (!p)
        return;
    if (p->vt->shutdown)
        (void)p->vt->shutdown(p, ctel__deadline_ns(5000));
    p->vt->destroy(p);
}
