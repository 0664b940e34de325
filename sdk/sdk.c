/* sdk/sdk.c — creating, flushing, shutting down and freeing the SDK, and the
 * tracer cache. */
#include "sdk/internal.h"
#include "exporters/otlp/otlp_exporter.h"
#include "sdk/common/attr_clone.h"
#include "sdk/trace/processor.h"
#include "sdk/trace/sampler_internal.h"
#include "sdk/trace/span_internal.h"

#include <unistd.h>

static _Atomic(ctel_sdk *) g_global_sdk;
static _Atomic int g_live_sdks;

/* ---- tracers ---------------------------------------------------------------- */

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static void tracer_free(ctel_tracer *t)
{
    if (!t)
        return;
    ctel__free((void *)t->scope.name);
    ctel__free((void *)t->scope.version);
    ctel__free((void *)t->scope.schema_url);
    ctel__attrs_free((ctel_attribute *)t->scope.attributes, t->scope.attribute_count);
    ctel__free(t);
}

ctel_tracer *ctel_sdk_tracer_with_attributes(ctel_sdk *sdk, const char *name, const char *version,
                                             const char *schema_url, const ctel_attribute *attrs,
                                             size_t count)
{
    if (!sdk)
        return NULL;
    if (!name || !*name)
        ctel__log(CTEL_LOG_WARN, "tracer: empty instrumentation scope name; using \"\"");
    pthread_mutex_lock(&sdk->tracers_lock);
    for (size_t i = 0; i < sdk->ntracers; i++) {
        ctel_tracer *t = sdk->tracers[i];
        if (str_eq(t->scope.name, name) && str_eq(t->scope.version, version) &&
            str_eq(t->scope.schema_url, schema_url)) {
            pthread_mutex_unlock(&sdk->tracers_lock);
            return t;
        }
    }
    ctel_tracer *t = NULL;
    if (sdk->ntracers == sdk->tracers_cap) {
        size_t cap = sdk->tracers_cap ? sdk->tracers_cap * 2 : 8;
        ctel_tracer **n = ctel__realloc(sdk->tracers, cap * sizeof *n);
        if (!n)
            goto out;
        sdk->tracers = n;
        sdk->tracers_cap = cap;
    }
    t = ctel__calloc(1, sizeof *t);
    if (!t)
        goto out;
    t->sdk = sdk;
    t->scope.name = ctel__strdup(name ? name : "");
    t->scope.version = ctel__strdup(version ? version : "");
    t->scope.schema_url = ctel__strdup(schema_url ? schema_url : "");
    ctel_attribute *copy = NULL;
    ctel_status rc = ctel__attrs_clone(attrs, attrs ? count : 0, &copy);
    t->scope.attributes = copy;
    t->scope.attribute_count = copy ? count : 0;
    if (!t->scope.name || !t->scope.version || !t->scope.schema_url || rc != CTEL_OK) {
        tracer_free(t);
        t = NULL;
        goto out;
    }
    sdk->tracers[sdk->ntracers++] = t;
out:
    pthread_mutex_unlock(&sdk->tracers_lock);
    if (!t)
        ctel__log(CTEL_LOG_ERROR, "tracer: out of memory creating tracer \"%s\"", name ? name : "");
    return t;
}

ctel_tracer *ctel_sdk_tracer(ctel_sdk *sdk, const char *name, const char *version,
                             const char *schema_url)
{
    return ctel_sdk_tracer_with_attributes(sdk, name, version, schema_url, NULL, 0);
}

/* ---- processors from the environment -------------------------------------- */

/* OTEL_TRACES_EXPORTER: a comma-separated list. Returns the processors built
 * (each a batch processor around one exporter). */
static ctel_status processors_from_env(ctel_sdk *sdk)
{
    const char *list = ctel__env_get("OTEL_TRACES_EXPORTER");
    if (!list)
        list = "otlp";
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && end[-1] == ' ')
            end--;
        size_t len = (size_t)(end - start);
        if (len == 0)
            continue;
        ctel_span_exporter *exp = NULL;
        if (len == 7 && ctel__mem_ieq(start, "console", 7)) {
            ctel_status rc = ctel_console_exporter_create(NULL, &exp);
            if (rc != CTEL_OK)
                return rc;
        } else if (len == 4 && ctel__mem_ieq(start, "none", 4)) {
            continue;
        } else if (len == 4 && ctel__mem_ieq(start, "otlp", 4)) {
            ctel_status rc = ctel_otlp_http_exporter_create(NULL, &exp);
            if (rc != CTEL_OK)
                return rc;
        } else {
            ctel__log(CTEL_LOG_WARN, "OTEL_TRACES_EXPORTER: unknown exporter \"%.*s\" ignored "
                                     "(known: otlp, console, none)",
                      (int)(len > 64 ? 64 : len), start);
            continue;
        }
        ctel_span_processor *proc = NULL;
        ctel_status rc = ctel_batch_processor_create(exp, NULL, &proc);
        if (rc != CTEL_OK)
            return rc;
        struct ctel_span_processor **n =
            ctel__realloc(sdk->procs, (sdk->nprocs + 1) * sizeof *n);
        if (!n) {
            ctel_span_processor_destroy(proc);
            return CTEL_ERR_NO_MEMORY;
        }
        sdk->procs = n;
        sdk->procs[sdk->nprocs++] = proc;
    }
    return CTEL_OK;
}

/* ---- fork ------------------------------------------------------------------- */

static void sdk_fork_lock(void *obj)
{
    ctel_sdk *sdk = obj;
    pthread_mutex_lock(&sdk->tracers_lock);
}

static void sdk_fork_parent(void *obj)
{
    ctel_sdk *sdk = obj;
    pthread_mutex_unlock(&sdk->tracers_lock);
}

/* The child's spans carry its own process.pid. Only the forking thread runs
 * here, so the resource pointer span start reads can be switched plainly. */
static void sdk_fork_child(void *obj)
{
    ctel_sdk *sdk = obj;
    ctel__fork_reinit_mutex(&sdk->tracers_lock);
    if (!sdk->resource)
        return;
    ctel_resource *fresh = NULL;
    ctel_status rc = ctel__resource_replace_pid(sdk->resource, ctel__fork_parent_pid(),
                                                (int64_t)getpid(), &fresh);
    if (rc == CTEL_OK && !fresh)
        return; /* no process.pid of the parent's to replace */
    ctel_resource **kept = NULL;
    if (rc == CTEL_OK) {
        kept = ctel__realloc(sdk->retired_resources,
                             (sdk->nretired_resources + 1) * sizeof *kept);
        rc = kept ? CTEL_OK : CTEL_ERR_NO_MEMORY;
    }
    if (rc != CTEL_OK) {
        ctel_resource_release(fresh);
        ctel__log(CTEL_LOG_WARN, "sdk: forked child keeps the parent's process.pid in its "
                                 "resource (out of memory)");
        return;
    }
    sdk->retired_resources = kept;
    sdk->retired_resources[sdk->nretired_resources++] = sdk->resource;
    sdk->resource = fresh;
}

static const ctel__fork_ops k_sdk_fork_ops = {
    .lock = sdk_fork_lock,
    .parent = sdk_fork_parent,
    .child = sdk_fork_child,
};

/* ---- lifecycle -------------------------------------------------------------- */

static ctel_status build_resource(const ctel_sdk_options *o, ctel_resource **out)
{
    const ctel_resource *user = o ? o->resource : NULL;
    ctel_resource *named = NULL;
    if (o && o->service_name) {
        ctel_attribute a = {"service.name", 12, ctel_value_str(o->service_name)};
        ctel_resource *svc = NULL;
        ctel_status rc = ctel_resource_create(&a, 1, NULL, &svc);
        if (rc != CTEL_OK)
            return rc;
        rc = ctel_resource_merge(user, svc, &named);
        ctel_resource_release(svc);
        if (rc != CTEL_OK)
            return rc;
        user = named;
    }
    ctel_status rc = ctel_resource_create_default(user, out);
    ctel_resource_release(named);
    return rc;
}

ctel_status ctel_sdk_create(const ctel_sdk_options *opts, ctel_sdk **out)
{
    ctel_sdk_options defaults = CTEL_SDK_OPTIONS_INIT;
    const ctel_sdk_options *o = opts ? opts : &defaults;
    if (out)
        *out = NULL;
    ctel_sdk *sdk = out ? ctel__calloc(1, sizeof *sdk) : NULL;
    if (!sdk) {
        /* Ownership of everything passed in moves to us even on failure. */
        ctel_sampler_destroy(o->sampler);
        ctel_propagator_destroy(o->propagator);
        for (size_t i = 0; i < o->span_processor_count; i++)
            ctel_span_processor_destroy(o->span_processors[i]);
        return out ? CTEL_ERR_NO_MEMORY : CTEL_ERR_INVALID_ARGUMENT;
    }
    pthread_mutex_init(&sdk->tracers_lock, NULL);
    atomic_fetch_add(&g_live_sdks, 1);
    sdk->sampler = o->sampler;
    sdk->propagator = o->propagator;
    ctel_status rc = CTEL_OK;
    if (o->span_processor_count) {
        sdk->procs = ctel__calloc(o->span_processor_count, sizeof *sdk->procs);
        if (!sdk->procs) {
            for (size_t i = 0; i < o->span_processor_count; i++)
                ctel_span_processor_destroy(o->span_processors[i]);
            rc = CTEL_ERR_NO_MEMORY;
            goto fail;
        }
        for (size_t i = 0; i < o->span_processor_count; i++)
            sdk->procs[i] = o->span_processors[i];
        sdk->nprocs = o->span_processor_count;
    }

    sdk->disabled = o->disabled >= 0 ? o->disabled != 0
                                     : ctel__env_bool("OTEL_SDK_DISABLED", false);
    if ((rc = build_resource(o, &sdk->resource)) != CTEL_OK)
        goto fail;
    if (!sdk->sampler && (rc = ctel_sampler_create_from_env(&sdk->sampler)) != CTEL_OK)
        goto fail;
    if (!sdk->propagator && (rc = ctel_propagator_create(NULL, &sdk->propagator)) != CTEL_OK)
        goto fail;
    ctel__span_limits_resolve(&o->span_limits, &sdk->limits);
    if (!o->span_processor_count && !sdk->disabled && (rc = processors_from_env(sdk)) != CTEL_OK)
        goto fail;

    switch (sdk->sampler->kind) {
    case CTEL_SAMPLER_ALWAYS_ON:
    case CTEL_SAMPLER_PARENTBASED_ALWAYS_ON:
        sdk->root_decision = CTEL_SAMPLING_RECORD_AND_SAMPLE;
        break;
    case CTEL_SAMPLER_ALWAYS_OFF:
    case CTEL_SAMPLER_PARENTBASED_ALWAYS_OFF:
        sdk->root_decision = CTEL_SAMPLING_DROP;
        break;
    default:
        sdk->root_decision = -1;
    }
    if (sdk->disabled)
        sdk->root_decision = CTEL_SAMPLING_DROP;

    /* How span end hands records over (see span_internal.h). */
    bool seen_retaining = false;
    for (size_t i = 0; i < sdk->nprocs; i++) {
        const ctel__processor_vt *vt = sdk->procs[i]->vt;
        if (vt->on_start)
            sdk->any_on_start = true;
        if (vt->retains) {
            sdk->retaining++;
            seen_retaining = true;
        } else if (seen_retaining) {
            sdk->end_own_ref = true;
        }
    }
    for (size_t i = 0; i < sdk->nprocs; i++) {
        const ctel__processor_vt *vt = sdk->procs[i]->vt;
        bool sole = sdk->nprocs == 1 && sdk->retaining == 1;
        if (vt->start && (rc = vt->start(sdk->procs[i], sole)) != CTEL_OK)
            goto fail;
    }
    ctel__fork_register(&sdk->fork_entry, CTEL__FORK_RANK_SDK, &k_sdk_fork_ops, sdk);
    *out = sdk;
    return CTEL_OK;
fail:
    ctel__log(CTEL_LOG_ERROR, "sdk: creation failed: %s", ctel_status_str(rc));
    ctel_sdk_destroy(sdk);
    return rc;
}

ctel_status ctel_sdk_force_flush(ctel_sdk *sdk, uint32_t timeout_ms)
{
    if (!sdk)
        return CTEL_ERR_INVALID_ARGUMENT;
    if (atomic_load(&sdk->shut_down))
        return CTEL_ERR_SHUTDOWN;
    uint64_t deadline = ctel__deadline_ns(timeout_ms);
    ctel_status first = CTEL_OK;
    for (size_t i = 0; i < sdk->nprocs; i++) {
        struct ctel_span_processor *p = sdk->procs[i];
        ctel_status rc = p->vt->force_flush ? p->vt->force_flush(p, deadline) : CTEL_OK;
        if (rc != CTEL_OK && first == CTEL_OK)
            first = rc;
    }
    return first;
}

ctel_status ctel_sdk_shutdown(ctel_sdk *sdk, uint32_t timeout_ms)
{
    if (!sdk)
        return CTEL_ERR_INVALID_ARGUMENT;
    if (atomic_exchange(&sdk->shut_down, true))
        return CTEL_ERR_SHUTDOWN;
    uint64_t deadline = ctel__deadline_ns(timeout_ms);
    ctel_status first = CTEL_OK;
    for (size_t i = 0; i < sdk->nprocs; i++) {
        struct ctel_span_processor *p = sdk->procs[i];
        ctel_status rc = p->vt->shutdown ? p->vt->shutdown(p, deadline) : CTEL_OK;
        if (rc != CTEL_OK && rc != CTEL_ERR_SHUTDOWN && first == CTEL_OK)
            first = rc;
    }
    return first;
}

void ctel_sdk_destroy(ctel_sdk *sdk)
{
    if (!sdk)
        return;
    ctel__fork_unregister(&sdk->fork_entry);
    if (!atomic_load(&sdk->shut_down))
        (void)ctel_sdk_shutdown(sdk, 5000);
    if (atomic_load(&g_global_sdk) == sdk)
        atomic_store(&g_global_sdk, NULL);
    for (size_t i = 0; i < sdk->nprocs; i++)
        sdk->procs[i]->vt->destroy(sdk->procs[i]);
    ctel__free(sdk->procs);
    for (size_t i = 0; i < sdk->ntracers; i++)
        tracer_free(sdk->tracers[i]);
    ctel__free(sdk->tracers);
    ctel_resource_release(sdk->resource);
    for (size_t i = 0; i < sdk->nretired_resources; i++)
        ctel_resource_release(sdk->retired_resources[i]);
    ctel__free(sdk->retired_resources);
    ctel_sampler_destroy(sdk->sampler);
    ctel_propagator_destroy(sdk->propagator);
    pthread_mutex_destroy(&sdk->tracers_lock);
    ctel__free(sdk);
    /* With no SDK left, parked span records are only memory. */
    if (atomic_fetch_sub(&g_live_sdks, 1) == 1)
        ctel__span_pool_trim();
}

const ctel_resource *ctel_sdk_resource(const ctel_sdk *sdk)
{
    return sdk ? sdk->resource : NULL;
}

const ctel_propagator *ctel_sdk_propagator(const ctel_sdk *sdk)
{
    return sdk ? sdk->propagator : NULL;
}

bool ctel_sdk_is_disabled(const ctel_sdk *sdk)
{
    return sdk ? sdk->disabled : true;
}

ctel_status ctel_sdk_stats_get(const ctel_sdk *sdk, ctel_sdk_stats *out)
{
    if (!sdk || !out)
        return CTEL_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < sdk->nprocs; i++) {
        struct ctel_span_processor *p = sdk->procs[i];
        if (p->vt->stats)
            p->vt->stats(p, out);
    }
    out->spans_ended = out->spans_exported + out->spans_dropped_queue_full +
                       out->spans_dropped_export_failed + out->spans_dropped_shutdown +
                       out->spans_queued;
    return CTEL_OK;
}

void ctel_sdk_set_global(ctel_sdk *sdk)
{
    atomic_store(&g_global_sdk, sdk);
}

ctel_sdk *ctel_sdk_global(void)
{
    return atomic_load(&g_global_sdk);
}

/* ---- OTLP exporters behind the processors: stats and readiness ------------- */

static ctel_span_exporter *proc_exporter(const ctel_sdk *sdk, size_t i)
{
    struct ctel_span_processor *p = sdk->procs[i];
    return p->vt->exporter ? p->vt->exporter(p) : NULL;
}

size_t ctel_sdk_otlp_stats(const ctel_sdk *sdk, ctel_otlp_exporter_stats *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; sdk && i < sdk->nprocs; i++) {
        ctel_span_exporter *e = proc_exporter(sdk, i);
        ctel_otlp_exporter_stats st;
        if (e && ctel_otlp_exporter_get_stats(e, &st) == CTEL_OK) {
            if (out && n < cap)
                out[n] = st;
            n++;
        }
    }
    return n;
}

size_t ctel_sdk_ready(ctel_sdk *sdk, uint32_t timeout_ms, ctel_probe_result *out, size_t cap,
                      bool *all_ready)
{
    size_t n = 0;
    bool ready = true;
    for (size_t i = 0; sdk && i < sdk->nprocs; i++) {
        ctel_span_exporter *e = proc_exporter(sdk, i);
        ctel_probe_result r;
        if (!e || ctel__otlp_exporter_ready(e, timeout_ms, &r) == CTEL_ERR_INVALID_ARGUMENT)
            continue;
        ready = ready && r.ready;
        if (out && n < cap)
            out[n] = r;
        n++;
    }
    if (all_ready)
        *all_ready = ready;
    return n;
}
