/* sdk/trace/span.c — the span API: start, attributes, events, links, status,
 * end. This is the application's hot path: no locks, no allocation in steady
 * state, no system calls beyond reading the clock.
 */
#include "sdk/internal.h"
#include "sdk/common/clock.h"
#include "sdk/trace/processor.h"
#include "sdk/trace/sampler_internal.h"
#include "sdk/trace/span_internal.h"

/* Handed out when there is no tracer or no memory: accepts every call as a
 * no-op and is never recycled. */
static ctel_span g_invalid_span = {.flags = CTEL__SPAN_STATIC};

static inline bool recording(const ctel_span *s)
{
    return s && (s->flags & CTEL__SPAN_RECORDING);
}

static inline void arena_reset(ctel_span *s)
{
    s->arena_pos = s->inline_bytes;
    s->arena_end = s->inline_bytes + sizeof s->inline_bytes;
}

static void add_links(ctel_span *s, const ctel_link *links, size_t n);

/* The commonest unsampled case — a root span, no options, a sampler that
 * drops every root — needs only identity: no parent lookup, no sampler
 * call, no arena. */
static ctel_span *start_unsampled_root(ctel_tracer *t)
{
    ctel_span *s = ctel__span_pool_get();
    if (CTEL_UNLIKELY(!s))
        return &g_invalid_span;
    s->tracer = t;
    s->flags = 0;
    ctel__id_root(s->data.context.trace_id, s->data.context.span_id);
    s->data.context.trace_flags = CTEL_TRACE_FLAG_RANDOM;
    s->data.context.is_remote = false;
    s->data.trace_state = "";
    s->data.trace_state_len = 0;
    return s;
}

ctel_span *ctel_span_start(ctel_tracer *t, const char *name, const ctel_span_start_options *o)
{
    if (CTEL_UNLIKELY(!t))
        return &g_invalid_span;
    struct ctel_sdk *sdk = t->sdk;
    if (!o && sdk->root_decision == CTEL_SAMPLING_DROP && ctel__t_context_depth == 0)
        return start_unsampled_root(t);

    ctel_span_context parent;
    const char *pts = NULL;
    size_t pts_len = 0;
    bool has_parent = false;
    if (o && o->root) {
        has_parent = false;
    } else if (o && o->parent) {
        has_parent = ctel_context_span_context(o->parent, &parent) &&
                     ctel_span_context_is_valid(&parent);
        if (has_parent) {
            pts = ctel_context_trace_state(o->parent);
            pts_len = strlen(pts);
        }
    } else if (CTEL_UNLIKELY(ctel__t_context_depth != 0)) {
        has_parent = ctel__context_current_parent(&parent, &pts, &pts_len);
    }

    ctel_span *s = ctel__span_pool_get();
    if (CTEL_UNLIKELY(!s)) {
        CTEL_LOG_LIMITED(CTEL_LOG_ERROR, "span: out of memory; span \"%s\" is not recorded",
                         name ? name : "");
        return &g_invalid_span;
    }
    s->tracer = t;
    ctel_span_data *d = &s->data;
    uint8_t parent_flags = 0;
    if (has_parent) {
        memcpy(d->context.trace_id, parent.trace_id, 16);
        parent_flags = parent.trace_flags;
        ctel__id_span(d->context.span_id);
    } else {
        ctel__id_root(d->context.trace_id, d->context.span_id);
        /* All 16 bytes are random, so the W3C Level 2 random flag holds. */
        parent_flags = CTEL_TRACE_FLAG_RANDOM;
    }
    d->context.is_remote = false;

    ctel_sampling_decision decision = CTEL_SAMPLING_DROP;
    const ctel_sampler *smp = sdk->sampler;
    if (CTEL_UNLIKELY(sdk->disabled ||
                      atomic_load_explicit(&sdk->shut_down, memory_order_relaxed))) {
        decision = CTEL_SAMPLING_DROP;
    } else if (CTEL_LIKELY(smp->kind != CTEL__SAMPLER_CUSTOM)) {
        decision = ctel__sampler_builtin(smp, has_parent ? &parent : NULL, d->context.trace_id);
    } else {
        ctel_sampling_params sp = {
            has_parent ? &parent : NULL,
            d->context.trace_id,
            name ? name : "",
            o ? o->kind : CTEL_SPAN_KIND_INTERNAL,
            o ? o->attributes : NULL,
            o ? o->attribute_count : 0,
            o ? o->links : NULL,
            o ? o->link_count : 0,
        };
        decision = ctel__sampler_should_sample(smp, &sp);
    }
    d->context.trace_flags = (uint8_t)((parent_flags & CTEL_TRACE_FLAG_RANDOM) |
                                       (decision == CTEL_SAMPLING_RECORD_AND_SAMPLE
                                            ? CTEL_TRACE_FLAG_SAMPLED
                                            : 0));
    arena_reset(s);
    d->trace_state = "";
    d->trace_state_len = 0;
    if (CTEL_UNLIKELY(pts_len)) {
        if (ctel__span_copy_str(s, pts, pts_len, &d->trace_state) == CTEL_OK)
            d->trace_state_len = pts_len;
    }

    if (decision == CTEL_SAMPLING_DROP) {
        s->flags = 0;
        return s;
    }

    s->flags = CTEL__SPAN_RECORDING;
    s->attrs = s->inline_attrs;
    s->attr_cap = CTEL__SPAN_INLINE_ATTRS;
    s->events = NULL;
    s->event_cap = 0;
    s->links = NULL;
    s->link_cap = 0;
    if (has_parent) {
        memcpy(d->parent_span_id, parent.span_id, 8);
        d->parent_is_remote = parent.is_remote;
    } else {
        memset(d->parent_span_id, 0, 8);
        d->parent_is_remote = false;
    }
    d->has_parent = has_parent;
    size_t name_len = name ? strlen(name) : 0;
    if (ctel__span_copy_str(s, name ? name : "", name_len, &d->name) != CTEL_OK) {
        d->name = "";
        name_len = 0;
    }
    d->name_len = name_len;
    d->kind = o ? o->kind : CTEL_SPAN_KIND_INTERNAL;
    d->start_time_unix_nano = o && o->start_time_unix_nano ? o->start_time_unix_nano
                                                           : ctel__clock_ns();
    d->end_time_unix_nano = 0;
    d->attributes = s->attrs;
    d->attribute_count = 0;
    d->dropped_attributes_count = 0;
    d->events = NULL;
    d->event_count = 0;
    d->dropped_events_count = 0;
    d->links = NULL;
    d->link_count = 0;
    d->dropped_links_count = 0;
    d->status_code = CTEL_STATUS_UNSET;
    d->status_message = "";
    d->status_message_len = 0;
    d->resource = sdk->resource;
    d->scope = &t->scope;

    if (o && o->attribute_count && o->attributes)
        (void)ctel_span_set_attributes(s, o->attributes, o->attribute_count);
    if (o && o->link_count && o->links)
        add_links(s, o->links, o->link_count);
    if (CTEL_UNLIKELY(sdk->any_on_start)) {
        for (size_t i = 0; i < sdk->nprocs; i++) {
            struct ctel_span_processor *p = sdk->procs[i];
            if (p->vt->on_start)
                p->vt->on_start(p, s, o ? o->parent : NULL);
        }
    }
    return s;
}

void ctel__span_release(ctel_span *s)
{
    if (atomic_load_explicit(&s->refs, memory_order_acquire) == 1 ||
        atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        ctel__span_pool_put(s);
}

static inline void span_end(ctel_span *s, uint64_t end_time_unix_nano)
{
    if (CTEL_UNLIKELY(!s || (s->flags & CTEL__SPAN_STATIC)))
        return;
    ctel__context_forget_span(s);
    if (!(s->flags & CTEL__SPAN_RECORDING)) {
        ctel__span_pool_put(s);
        return;
    }
    s->flags &= ~(uint32_t)CTEL__SPAN_RECORDING;
    uint64_t end = end_time_unix_nano ? end_time_unix_nano : ctel__clock_ns();
    /* A clock re-anchor between start and end must not make a span end
     * before it started. */
    s->data.end_time_unix_nano = end >= s->data.start_time_unix_nano ? end
                                                                     : s->data.start_time_unix_nano;
    struct ctel_sdk *sdk = s->tracer->sdk;
    size_t n = sdk->nprocs;
    uint32_t refs = sdk->retaining + (sdk->end_own_ref ? 1u : 0u);
    if (refs == 0) {
        for (size_t i = 0; i < n; i++)
            sdk->procs[i]->vt->on_end(sdk->procs[i], s);
        ctel__span_pool_put(s);
        return;
    }
    atomic_store_explicit(&s->refs, refs, memory_order_relaxed);
    bool own = sdk->end_own_ref;
    struct ctel_span_processor **procs = sdk->procs;
    /* Once the last retaining processor has the record, it may already be
     * exported and recycled: touch nothing of it afterwards unless we hold
     * our own reference. */
    for (size_t i = 0; i < n; i++)
        procs[i]->vt->on_end(procs[i], s);
    if (own)
        ctel__span_release(s);
}

void ctel_span_end_at(ctel_span *s, uint64_t end_time_unix_nano)
{
    span_end(s, end_time_unix_nano);
}

void ctel_span_end(ctel_span *s)
{
    span_end(s, 0);
}

/* ---- attributes ---------------------------------------------------------- */

static inline ctel_status put_span_attr(ctel_span *s, const char *key, const ctel_value *value)
{
    if (CTEL_UNLIKELY(!key))
        return CTEL_ERR_INVALID_ARGUMENT;
    return ctel__span_put_attr(s, &s->attrs, &s->data.attribute_count, &s->attr_cap,
                               s->tracer->sdk->limits.attribute_count,
                               &s->data.dropped_attributes_count, key, strlen(key), value);
}

ctel_status ctel_span_set_attribute(ctel_span *s, const char *key, const ctel_value *value)
{
    if (!recording(s))
        return CTEL_OK;
    ctel_status rc = put_span_attr(s, key, value);
    s->data.attributes = s->attrs;
    return rc;
}

ctel_status ctel_span_set_attributes(ctel_span *s, const ctel_attribute *attrs, size_t count)
{
    if (!recording(s))
        return CTEL_OK;
    if (count && !attrs)
        return CTEL_ERR_INVALID_ARGUMENT;
    ctel_status first_error = CTEL_OK;
    uint32_t limit = s->tracer->sdk->limits.attribute_count;
    for (size_t i = 0; i < count; i++) {
        ctel_status rc = ctel__span_put_attr(s, &s->attrs, &s->data.attribute_count,
                                             &s->attr_cap, limit,
                                             &s->data.dropped_attributes_count, attrs[i].key,
                                             attrs[i].key ? attrs[i].key_len : 0, &attrs[i].value);
        if (rc != CTEL_OK && first_error == CTEL_OK)
            first_error = rc;
    }
    s->data.attributes = s->attrs;
    return first_error;
}

/* The typed setters handle the common case inline — a new key, a free slot,
 * the value fits the length limit and the arena — and fall back to the
 * generic path for everything else (replacement, limits, overflow). */
static inline ctel_status put_fast(ctel_span *s, const char *key, const ctel_value *v,
                                   const char *str, size_t slen)
{
    if (CTEL_UNLIKELY(!key))
        return CTEL_ERR_INVALID_ARGUMENT;
    size_t klen = strlen(key);
    uint32_t n = s->data.attribute_count;
    ctel_attribute *a = s->attrs;
    for (uint32_t i = 0; i < n; i++) {
        if (a[i].key_len == klen && memcmp(a[i].key, key, klen) == 0)
            goto generic;
    }
    const ctel__span_limits *lim = &s->tracer->sdk->limits;
    if (CTEL_UNLIKELY(n >= s->attr_cap || n >= lim->attribute_count || klen == 0 ||
                      slen > lim->attribute_value_length))
        goto generic;
    size_t need = (klen + 1 + (str ? slen + 1 : 0) + 7) & ~(size_t)7;
    if (CTEL_UNLIKELY((size_t)(s->arena_end - s->arena_pos) < need))
        goto generic;
    char *p = s->arena_pos;
    s->arena_pos += need;
    memcpy(p, key, klen + 1);
    ctel_attribute *dst = &a[n];
    dst->key = p;
    dst->key_len = klen;
    dst->value = *v;
    if (str) {
        char *q = p + klen + 1;
        memcpy(q, str, slen);
        q[slen] = '\0';
        dst->value.u.string.ptr = q;
    }
    s->data.attribute_count = n + 1;
    return CTEL_OK;
generic:
    return ctel__span_put_attr(s, &s->attrs, &s->data.attribute_count, &s->attr_cap,
                               s->tracer->sdk->limits.attribute_count,
                               &s->data.dropped_attributes_count, key, klen, v);
}

/* Each typed setter is a two-instruction check in front of an out-of-line
 * body, so calls on non-recording spans stay nearly free. */
static __attribute__((noinline)) ctel_status set_typed(ctel_span *s, const char *key,
                                                       const ctel_value *v, const char *str,
                                                       size_t slen)
{
    ctel_status rc = put_fast(s, key, v, str, slen);
    s->data.attributes = s->attrs;
    return rc;
}

static __attribute__((noinline)) ctel_status set_str(ctel_span *s, const char *key,
                                                     const char *value)
{
    if (!value)
        return CTEL_ERR_INVALID_ARGUMENT;
    ctel_value v = {.type = CTEL_VALUE_STRING};
    size_t len = strlen(value);
    v.u.string.ptr = value;
    v.u.string.len = len;
    return set_typed(s, key, &v, value, len);
}

ctel_status ctel_span_set_attr_str(ctel_span *s, const char *key, const char *value)
{
    if (!recording(s))
        return CTEL_OK;
    return set_str(s, key, value);
}

ctel_status ctel_span_set_attr_int(ctel_span *s, const char *key, int64_t value)
{
    if (!recording(s))
        return CTEL_OK;
    ctel_value v = {.type = CTEL_VALUE_INT};
    v.u.integer = value;
    return set_typed(s, key, &v, NULL, 0);
}

ctel_status ctel_span_set_attr_double(ctel_span *s, const char *key, double value)
{
    if (!recording(s))
        return CTEL_OK;
    ctel_value v = {.type = CTEL_VALUE_DOUBLE};
    v.u.real = value;
    return set_typed(s, key, &v, NULL, 0);
}

ctel_status ctel_span_set_attr_bool(ctel_span *s, const char *key, bool value)
{
    if (!recording(s))
        return CTEL_OK;
    ctel_value v = {.type = CTEL_VALUE_BOOL};
    v.u.boolean = value;
    return set_typed(s, key, &v, NULL, 0);
}

/* ---- events and links ------------------------------------------------------ */

/* Grows an arena array of `elem` bytes per item to hold one more. */
static void *grow(ctel_span *s, void *items, uint32_t count, uint32_t *cap, size_t elem,
                  uint32_t limit)
{
    if (count < *cap)
        return items;
    uint32_t ncap = *cap ? *cap * 2 : 2;
    if (ncap > limit)
        ncap = limit;
    void *n = ctel__span_arena_alloc(s, (size_t)ncap * elem);
    if (!n)
        return NULL;
    if (count)
        memcpy(n, items, (size_t)count * elem);
    *cap = ncap;
    return n;
}

ctel_status ctel_span_add_event(ctel_span *s, const char *name, uint64_t time_unix_nano,
                                const ctel_attribute *attrs, size_t count)
{
    if (!recording(s))
        return CTEL_OK;
    if (count && !attrs)
        return CTEL_ERR_INVALID_ARGUMENT;
    const ctel__span_limits *lim = &s->tracer->sdk->limits;
    if (s->data.event_count >= lim->event_count) {
        s->data.dropped_events_count++;
        return CTEL_ERR_LIMIT;
    }
    ctel_span_event_data *ev = grow(s, s->events, s->data.event_count, &s->event_cap,
                                    sizeof *ev, lim->event_count);
    if (!ev)
        return CTEL_ERR_NO_MEMORY;
    s->events = ev;
    s->data.events = ev;
    ctel_span_event_data *e = &ev[s->data.event_count];
    size_t name_len = name ? strlen(name) : 0;
    if (ctel__span_copy_str(s, name ? name : "", name_len, &e->name) != CTEL_OK)
        return CTEL_ERR_NO_MEMORY;
    e->name_len = name_len;
    e->time_unix_nano = time_unix_nano ? time_unix_nano : ctel__clock_ns();
    ctel_attribute *ea = NULL;
    uint32_t ecount = 0, ecap = 0, edropped = 0;
    ctel_status first_error = CTEL_OK;
    for (size_t i = 0; i < count; i++) {
        ctel_status rc = ctel__span_put_attr(s, &ea, &ecount, &ecap, lim->attributes_per_event,
                                             &edropped, attrs[i].key,
                                             attrs[i].key ? attrs[i].key_len : 0, &attrs[i].value);
        if (rc != CTEL_OK && rc != CTEL_ERR_LIMIT && first_error == CTEL_OK)
            first_error = rc;
    }
    e->attributes = ea;
    e->attribute_count = ecount;
    e->dropped_attributes_count = edropped;
    s->data.event_count++;
    return first_error;
}

static ctel_status add_link(ctel_span *s, const ctel_link *link)
{
    const ctel__span_limits *lim = &s->tracer->sdk->limits;
    bool valid = ctel_span_context_is_valid(&link->context);
    bool has_ts = link->trace_state && link->trace_state[0];
    if (!valid && !has_ts && link->attribute_count == 0)
        return CTEL_ERR_INVALID_ARGUMENT;
    if (s->data.link_count >= lim->link_count) {
        s->data.dropped_links_count++;
        return CTEL_ERR_LIMIT;
    }
    ctel_span_link_data *lk = grow(s, s->links, s->data.link_count, &s->link_cap, sizeof *lk,
                                   lim->link_count);
    if (!lk)
        return CTEL_ERR_NO_MEMORY;
    s->links = lk;
    s->data.links = lk;
    ctel_span_link_data *l = &lk[s->data.link_count];
    l->context = link->context;
    size_t ts_len = has_ts ? strlen(link->trace_state) : 0;
    if (ctel__span_copy_str(s, has_ts ? link->trace_state : "", ts_len, &l->trace_state) !=
        CTEL_OK)
        return CTEL_ERR_NO_MEMORY;
    l->trace_state_len = ts_len;
    ctel_attribute *la = NULL;
    uint32_t lcount = 0, lcap = 0, ldropped = 0;
    for (size_t i = 0; link->attributes && i < link->attribute_count; i++) {
        ctel_status rc = ctel__span_put_attr(
            s, &la, &lcount, &lcap, lim->attributes_per_link, &ldropped, link->attributes[i].key,
            link->attributes[i].key ? link->attributes[i].key_len : 0, &link->attributes[i].value);
        if (rc == CTEL_ERR_NO_MEMORY)
            return rc;
    }
    l->attributes = la;
    l->attribute_count = lcount;
    l->dropped_attributes_count = ldropped;
    s->data.link_count++;
    return CTEL_OK;
}

static void add_links(ctel_span *s, const ctel_link *links, size_t n)
{
    for (size_t i = 0; i < n; i++)
        (void)add_link(s, &links[i]);
}

ctel_status ctel_span_add_link(ctel_span *s, const ctel_link *link)
{
    if (!recording(s))
        return CTEL_OK;
    if (!link)
        return CTEL_ERR_INVALID_ARGUMENT;
    return add_link(s, link);
}

ctel_status ctel_span_record_exception(ctel_span *s, const char *type, const char *message,
                                       const char *stacktrace, const ctel_attribute *attrs,
                                       size_t count)
{
    if (!recording(s))
        return CTEL_OK;
    if (count && !attrs)
        return CTEL_ERR_INVALID_ARGUMENT;
    /* The exception attributes first; caller attributes may override them. */
    ctel_attribute buf[16];
    ctel_attribute *all = buf;
    size_t n = 0, total = count + 3;
    if (total > CTEL_ARRAY_LEN(buf)) {
        all = ctel__malloc(total * sizeof *all);
        if (!all)
            return CTEL_ERR_NO_MEMORY;
    }
    if (type)
        all[n++] = (ctel_attribute){"exception.type", 14, ctel_value_str(type)};
    if (message)
        all[n++] = (ctel_attribute){"exception.message", 17, ctel_value_str(message)};
    if (stacktrace)
        all[n++] = (ctel_attribute){"exception.stacktrace", 20, ctel_value_str(stacktrace)};
    for (size_t i = 0; i < count; i++)
        all[n++] = attrs[i];
    ctel_status rc = ctel_span_add_event(s, "exception", 0, all, n);
    if (all != buf)
        ctel__free(all);
    return rc;
}

/* ---- status, name, identity ---------------------------------------------- */

void ctel_span_set_status(ctel_span *s, ctel_status_code code, const char *description)
{
    if (!recording(s) || (s->flags & CTEL__SPAN_STATUS_FINAL))
        return;
    switch (code) {
    case CTEL_STATUS_UNSET:
        return;
    case CTEL_STATUS_OK:
        s->data.status_code = CTEL_STATUS_OK;
        s->data.status_message = "";
        s->data.status_message_len = 0;
        s->flags |= CTEL__SPAN_STATUS_FINAL;
        return;
    case CTEL_STATUS_ERROR: {
        s->data.status_code = CTEL_STATUS_ERROR;
        size_t len = description ? strlen(description) : 0;
        const char *p = "";
        if (len && ctel__span_copy_str(s, description, len, &p) != CTEL_OK) {
            p = "";
            len = 0;
        }
        s->data.status_message = p;
        s->data.status_message_len = len;
        return;
    }
    }
}

ctel_status ctel_span_update_name(ctel_span *s, const char *name)
{
    if (!recording(s))
        return CTEL_OK;
    if (!name)
        return CTEL_ERR_INVALID_ARGUMENT;
    size_t len = strlen(name);
    const char *p;
    ctel_status rc = ctel__span_copy_str(s, name, len, &p);
    if (rc != CTEL_OK)
        return rc;
    s->data.name = p;
    s->data.name_len = len;
    return CTEL_OK;
}

bool ctel_span_is_recording(const ctel_span *s)
{
    return recording(s);
}

ctel_span_context ctel_span_get_context(const ctel_span *s)
{
    if (!s || (s->flags & CTEL__SPAN_STATIC)) {
        ctel_span_context none;
        memset(&none, 0, sizeof none);
        return none;
    }
    return s->data.context;
}
