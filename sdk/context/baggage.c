/* sdk/context/baggage.c — immutable baggage: name/value/metadata entries in
 * insertion order, reference counted. Every change makes a new baggage. */
#include "sdk/internal.h"

typedef struct entry {
    char *name;
    char *value;
    char *metadata; /* "" when none */
} entry;

struct ctel_baggage {
    _Atomic uint32_t refs;
    size_t count;
    entry entries[];
};

static void free_entries(entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ctel__free(e[i].name);
        ctel__free(e[i].value);
        ctel__free(e[i].metadata);
    }
}

static ctel_baggage *alloc_baggage(size_t count)
{
    ctel_baggage *b = ctel__calloc(1, sizeof *b + count * sizeof(entry));
    if (b)
        atomic_init(&b->refs, 1);
    return b;
}

static bool copy_entry(entry *dst, const char *name, const char *value, const char *metadata)
{
    dst->name = ctel__strdup(name);
    dst->value = ctel__strdup(value);
    dst->metadata = ctel__strdup(metadata ? metadata : "");
    return dst->name && dst->value && dst->metadata;
}

/* A copy of `base` without entry `skip` (SIZE_MAX: none) and room for
 * `extra` more entries. */
static ctel_baggage *copy_without(const ctel_baggage *base, size_t skip, size_t extra)
{
    size_t n = base ? base->count : 0;
    ctel_baggage *b = alloc_baggage(n + extra);
    if (!b)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (i == skip)
            continue;
        const entry *e = &base->entries[i];
        if (!copy_entry(&b->entries[b->count], e->name, e->value, e->metadata)) {
            free_entries(b->entries, b->count + 1);
            ctel__free(b);
            return NULL;
        }
        b->count++;
    }
    return b;
}

static size_t find(const ctel_baggage *bg, const char *name)
{
    for (size_t i = 0; bg && i < bg->count; i++)
        if (strcmp(bg->entries[i].name, name) == 0)
            return i;
    return SIZE_MAX;
}

ctel_status ctel_baggage_set(const ctel_baggage *base, const char *name, const char *value,
                             const char *metadata, ctel_baggage **out)
{
    if (!out)
        return CTEL_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!name || !*name || !value)
        return CTEL_ERR_INVALID_ARGUMENT;
    /* Replacing keeps the new value last, like a fresh insertion. */
    ctel_baggage *b = copy_without(base, find(base, name), 1);
    if (!b)
        return CTEL_ERR_NO_MEMORY;
    if (!copy_entry(&b->entries[b->count], name, value, metadata)) {
        free_entries(b->entries, b->count + 1);
        ctel__free(b);
        return CTEL_ERR_NO_MEMORY;
    }
    b->count++;
    *out = b;
    return CTEL_OK;
}

ctel_status ctel_baggage_remove(const ctel_baggage *base, const char *name, ctel_baggage **out)
{
    if (!out)
        return CTEL_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!name)
        return CTEL_ERR_INVALID_ARGUMENT;
    ctel_baggage *b = copy_without(base, find(base, name), 0);
    if (!b)
        return CTEL_ERR_NO_MEMORY;
    *out = b;
    return CTEL_OK;
}

const char *ctel_baggage_get(const ctel_baggage *bg, const char *name)
{
    if (!bg || !name)
        return NULL;
    size_t i = find(bg, name);
    return i == SIZE_MAX ? NULL : bg->entries[i].value;
}

size_t ctel_baggage_count(const ctel_baggage *bg)
{
    return bg ? bg->count : 0;
}

ctel_status ctel_baggage_entry(const ctel_baggage *bg, size_t index, const char **name,
                               const char **value, const char **metadata)
{
    if (!bg || index >= bg->count)
        return CTEL_ERR_NOT_FOUND;
    const entry *e = &bg->entries[index];
    if (name)
        *name = e->name;
    if (value)
        *value = e->value;
    if (metadata)
        *metadata = e->metadata;
    return CTEL_OK;
}

ctel_baggage *ctel_baggage_retain(const ctel_baggage *bg)
{
    if (!bg)
        return NULL;
    ctel_baggage *b = (ctel_baggage *)bg;
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void ctel_baggage_release(const ctel_baggage *bg)
{
    if (!bg)
        return;
    ctel_baggage *b = (ctel_baggage *)bg;
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) {
        free_entries(b->entries, b->count);
        ctel__free(b);
    }
}
