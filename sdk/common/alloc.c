/* sdk/common/alloc.c — the allocator hook. Every allocation in ctel goes
 * through here so embedders can account for or redirect all of it. */
#include "sdk/internal.h"

#include <protobuf-c/protobuf-c.h>
#include <stdlib.h>

static void *libc_malloc(size_t size, void *ud)
{
    (void)ud;
    return malloc(size);
}
static void *libc_realloc(void *p, size_t size, void *ud)
{
    (void)ud;
    return realloc(p, size);
}
static void libc_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

static ctel_allocator g_alloc = {libc_malloc, libc_realloc, libc_free, NULL};
/* Set at the first allocation: swapping allocators afterwards would free
 * memory with the wrong one. */
static atomic_bool g_alloc_used;

ctel_status ctel_set_allocator(const ctel_allocator *a)
{
    if (atomic_load_explicit(&g_alloc_used, memory_order_relaxed))
        return CTEL_ERR_INVALID_ARGUMENT;
    if (a == NULL) {
        g_alloc = (ctel_allocator){libc_malloc, libc_realloc, libc_free, NULL};
        return CTEL_OK;
    }
    if (!a->malloc_fn || !a->realloc_fn || !a->free_fn)
        return CTEL_ERR_INVALID_ARGUMENT;
    g_alloc = *a;
    return CTEL_OK;
}

static inline void mark_used(void)
{
    if (CTEL_UNLIKELY(!atomic_load_explicit(&g_alloc_used, memory_order_relaxed)))
        atomic_store_explicit(&g_alloc_used, true, memory_order_relaxed);
}

void *ctel__malloc(size_t size)
{
    mark_used();
    return g_alloc.malloc_fn(size ? size : 1, g_alloc.user_data);
}

void *ctel__calloc(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    void *p = ctel__malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *ctel__realloc(void *ptr, size_t size)
{
    mark_used();
    return g_alloc.realloc_fn(ptr, size ? size : 1, g_alloc.user_data);
}

void ctel__free(void *ptr)
{
    if (ptr)
        g_alloc.free_fn(ptr, g_alloc.user_data);
}

char *ctel__strndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *p = ctel__malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *ctel__strdup(const char *s)
{
    return s ? ctel__strndup(s, strlen(s)) : NULL;
}

static void *pb_alloc(void *ud, size_t size)
{
    (void)ud;
    return ctel__malloc(size);
}
static void pb_free(void *ud, void *p)
{
    (void)ud;
    ctel__free(p);
}
static ProtobufCAllocator g_pb_alloc = {pb_alloc, pb_free, NULL};

void *ctel__protobuf_allocator(void)
{
    return &g_pb_alloc;
}
