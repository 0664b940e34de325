/* ctel/resource.h — the entity producing telemetry (service, host, process).
 *
 * A resource is immutable once created and may be shared by any number of
 * threads. Attribute keys are unique within a resource.
 */
#ifndef CTEL_RESOURCE_H
#define CTEL_RESOURCE_H

#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ctel_resource ctel_resource;

/* Creates a resource from `count` attributes (copied; a later duplicate key
 * replaces an earlier one) and an optional schema URL (copied; may be NULL).
 * Returns CTEL_ERR_INVALID_ARGUMENT for a NULL `out`, or `attrs` NULL with
 * count > 0, or an empty key; CTEL_ERR_NO_MEMORY.
 * Thread-safety: any thread. */
CTEL_API ctel_status ctel_resource_create(const ctel_attribute *attrs, size_t count,
                                          const char *schema_url, ctel_resource **out);

/* Merges `updating` over `base` into a new resource: keys of `updating` win.
 * Schema URL: if one is empty the other is used; if both are set and differ,
 * the result keeps `updating`'s and a warning is logged (the spec leaves this
 * case to the implementation). Either input may be NULL (treated as empty).
 * Thread-safety: any thread. */
CTEL_API ctel_status ctel_resource_merge(const ctel_resource *base, const ctel_resource *updating,
                                         ctel_resource **out);

/* The SDK's default resource, merged in this order (later wins):
 *   telemetry.sdk.name="ctel", telemetry.sdk.language="c",
 *   telemetry.sdk.version, process.pid, process.executable.name, host.name,
 *   service.name="unknown_service:<executable name>"
 *   < OTEL_RESOURCE_ATTRIBUTES (percent-decoded; a value that fails to decode
 *     discards the whole variable, with a warning)
 *   < OTEL_SERVICE_NAME
 *   < `user` (may be NULL).
 * Never fails because of the environment: malformed variables are reported
 * through the diagnostics and ignored. Returns CTEL_ERR_NO_MEMORY only.
 * Thread-safety: any thread (reads the environment). */
CTEL_API ctel_status ctel_resource_create_default(const ctel_resource *user, ctel_resource **out);

/* Attribute access. The returned pointers are owned by the resource and valid
 * until it is released. `ctel_resource_find` returns NULL if absent.
 * Thread-safety: any thread. */
CTEL_API size_t ctel_resource_attribute_count(const ctel_resource *res);
CTEL_API const ctel_attribute *ctel_resource_attributes(const ctel_resource *res);
CTEL_API const ctel_value *ctel_resource_find(const ctel_resource *res, const char *key);
CTEL_API const char *ctel_resource_schema_url(const ctel_resource *res); /* "" if none */

/* Reference counting: a resource is freed when its last reference is
 * released. `retain` returns its argument. release(NULL) is a no-op.
 * Thread-safety: any thread. */
CTEL_API ctel_resource *ctel_resource_retain(const ctel_resource *res);
CTEL_API void ctel_resource_release(const ctel_resource *res);

#ifdef __cplusplus
}
#endif
#endif /* CTEL_RESOURCE_H */
