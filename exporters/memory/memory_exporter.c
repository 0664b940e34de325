/* exporters/memory/memory_exporter.c — keeps deep copies of exported spans
 * so tests (ctel's and users') can inspect them. */
#include "sdk/internal.h"
#include "sdk/common/attr_clone.h"

#include <pthread.h>

/* One stored span: the view plus everything it points to, owned. */
typedef struct stored_span {
    ctel_span_data data;
    ctel_scope_info scope;
} stored_span;

struct ctel_memory_exporter {
    pthread_mutex_t lock;
    stored_span **spans;
    size_t count;
    size_t cap;
    size_t max_spans;
    _Atomic uint64_t dropped;
};

static char *dup_n(const char *s, size_t n)
{
    return ctel__strndup(s ? s : "", s ? n : 0);
}

static void free_stored(stored_span *st)
{
    if (!st)
        return;
    ctel_span_data *d = &st->data;
    ctel__free((void *)d->trace_state);
    ctel__free((void *)d->name);
    ctel__free((void *)d->status_message);
    ctel__attrs_free((ctel_attribute *)d->attributes, d->attribute_count);
    for (uint32_t i = 0; d->events && i < d->event_count; i++) {
        ctel__free((void *)d->events[i].name);
        ctel__attrs_free((ctel_attribute *)d->events[i].attributes,
                         d->events[i].attribute_count);
    }
    ctel__free((void *)d->events);
    for (uint32_t i = 0; d->links && i < d->link_count; i++) {
        ctel__free((void *)d->links[i].trace_state);
        ctel__attrs_free((ctel_attribute *)d->links[i].attributes, d->links[i].attribute_count);
    }
    ctel__free((void *)d->links);
    ctel__free((void *)st->scope.name);
    ctel__free((void *)st->scope.version);
    ctel__free((void *)st->scope.schema_url);
    ctel__attrs_free((ctel_attribute *)st->scope.attributes, st->scope.attribute_count);
    ctel_resource_release(d->resource);
    ctel__free(st);
}

static stored_span *copy_span(const ctel_span_data *src)
{
    stored_span *st = ctel__calloc(1, sizeof *st);
    if (!st)
        return NULL;
    ctel_span_data *d = &st->data;
    *d = *src;
    /* Clear every owned pointer first so free_stored() is safe midway. */
    d->trace_state = d->name = d->status_message = NULL;
    d->attributes = NULL;
    d->events = NULL;
    d->links = NULL;
    d->resource = NULL;
    d->attribute_count = d->event_count = d->link_count = 0;
    d->scope = &st->scope;
    bool ok = true;
    d->trace_state = dup_n(src->trace_state, src->trace_state_len);
    d->name = dup_n(src->name, src->name_len);
    d->status_message = dup_n(src->status_message, src->status_message_len);
    ok = d->trace_state && d->name && d->status_message;
    ctel_attribute *attrs = NULL;
    if (ok && ctel__attrs_clone(src->attributes, src->attribute_count, &attrs) == CTEL_OK) {
        d->attributes = attrs;
        d->attribute_count = attrs ? src->attribute_count : 0;
    } else {
        ok = false;
    }
    if (ok && src->event_count) {
        ctel_span_event_data *ev = ctel__calloc(src->event_count, sizeof *ev);
        d->events = ev;
        ok = ev != NULL;
        for (uint32_t i = 0; ok && i < src->event_count; i++) {
            ev[i] = src->events[i];
            ev[i].attributes = NULL;
            ev[i].attribute_count = 0;
            ev[i].name = dup_n(src->events[i].name, src->events[i].name_len);
            d->event_count = i + 1;
            ctel_attribute *ea = NULL;
            ok = ev[i].name && ctel__attrs_clone(src->events[i].attributes,
                                                 src->events[i].attribute_count,
                                                 &ea) == CTEL_OK;
            ev[i].attributes = ea;
            ev[i].attribute_count = ea ? src->events[i].attribute_count : 0;
        }
    }
    if (ok && src->link_count) {
        ctel_span_link_data *lk = ctel__calloc(src->link_count, sizeof *lk);
        d->links = lk;
        ok = lk != NULL;
        for (uint32_t i = 0; ok && i < src->link_count; i++) {
            lk[i] = src->links[i];
            lk[i].attributes = NULL;
            lk[i].attribute_count = 0;
            lk[i].trace_state = dup_n(src->links[i].trace_state, src->links[i].trace_state_len);
            d->link_count = i + 1;
            ctel_attribute *la = NULL;
            ok = lk[i].trace_state && ctel__attrs_clone(src->links[i].attributes,
                                                        src->links[i].attribute_count,
                                                        &la) == CTEL_OK;
            lk[i].attributes = la;
            lk[i].attribute_count = la ? src->links[i].attribute_count : 0;
        }
    }
    if (ok && src->scope) {
        st->scope.name = ctel__strdup(src->scope->name ? src->scope->name : "");
        st->scope.version = ctel__strdup(src->scope->version ? src->scope->version : "");
        st->scope.schema_url = ctel__strdup(src->scope->schema_url ? src->scope->schema_url : "");
        ctel_attribute *sa = NULL;
        ok = st->scope.name && st->scope.version && st->scope.schema_url &&
             ctel__attrs_clone(src->scope->attributes, src->scope->attribute_count, &sa) ==
                 CTEL_OK;
        st->scope.attributes = sa;
        st->scope.attribute_count = sa ? src->scope->attribute_count : 0;
    }
    d->resource = ctel_resource_retain(src->resource);
    if (!ok) {
        free_stored(st);
        return NULL;
    }
    return st;
}

static ctel_status mem_export(void *state, const ctel_span_data *const *spans, size_t n,
                              uint32_t timeout_ms)
{
    (void)timeout_ms;
    ctel_memory_exporter *m = state;
    ctel_status rc = CTEL_OK;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < n; i++) {
        if (m->max_spans && m->count >= m->max_spans) {
            atomic_fetch_add(&m->dropped, n - i);
            rc = CTEL_ERR_LIMIT;
            break;
        }
        if (m->count == m->cap) {
            size_t cap = m->cap ? m->cap * 2 : 64;
            stored_span **ns = ctel__realloc(m->spans, cap * sizeof *ns);
            if (!ns) {
                rc = CTEL_ERR_NO_MEMORY;
                break;
            }
            m->spans = ns;
            m->cap = cap;
        }
        stored_span *st = copy_span(spans[i]);
        if (!st) {
            rc = CTEL_ERR_NO_MEMORY;
            break;
        }
        m->spans[m->count++] = st;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

void ctel_memory_exporter_clear(ctel_memory_exporter *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->count; i++)
        free_stored(m->spans[i]);
    m->count = 0;
    pthread_mutex_unlock(&m->lock);
}

static void mem_destroy(void *state)
{
    ctel_memory_exporter *m = state;
    ctel_memory_exporter_clear(m);
    ctel__free(m->spans);
    pthread_mutex_destroy(&m->lock);
    ctel__free(m);
}

ctel_status ctel_memory_exporter_create(size_t max_spans, ctel_memory_exporter **mem,
                                        ctel_span_exporter **out)
{
    if (!mem || !out)
        return CTEL_ERR_INVALID_ARGUMENT;
    *mem = NULL;
    *out = NULL;
    ctel_memory_exporter *m = ctel__calloc(1, sizeof *m);
    if (!m)
        return CTEL_ERR_NO_MEMORY;
    pthread_mutex_init(&m->lock, NULL);
    m->max_spans = max_spans;
    ctel_span_exporter_ops ops = {"memory", mem_export, NULL, NULL, mem_destroy};
    ctel_status rc = ctel_span_exporter_create(&ops, m, out);
    if (rc != CTEL_OK)
        return rc; /* mem_destroy already ran */
    *mem = m;
    return CTEL_OK;
}

size_t ctel_memory_exporter_count(ctel_memory_exporter *m)
{
    if (!m)
        return 0;
    pthread_mutex_lock(&m->lock);
    size_t n = m->count;
    pthread_mutex_unlock(&m->lock);
    return n;
}

ctel_status ctel_memory_exporter_get(ctel_memory_exporter *m, size_t index,
                                     const ctel_span_data **out)
{
    if (!m || !out)
        return CTEL_ERR_INVALID_ARGUMENT;
    pthread_mutex_lock(&m->lock);
    ctel_status rc = CTEL_ERR_NOT_FOUND;
    if (index < m->count) {
        *out = &m->spans[index]->data;
        rc = CTEL_OK;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

const ctel_span_data *ctel_memory_exporter_find(ctel_memory_exporter *m, const char *name)
{
    if (!m || !name)
        return NULL;
    const ctel_span_data *found = NULL;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->count && !found; i++)
        if (strcmp(m->spans[i]->data.name, name) == 0)
            found = &m->spans[i]->data;
    pthread_mutex_unlock(&m->lock);
    return found;
}

uint64_t ctel_memory_exporter_dropped(ctel_memory_exporter *m)
{
    return m ? atomic_load(&m->dropped) : 0;
}
