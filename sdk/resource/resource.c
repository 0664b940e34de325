/* sdk/resource/resource.c — immutable, reference-counted resources; the
 * default resource built from the process, the host and OTEL_* variables. */
#include "sdk/internal.h"
#include "sdk/common/attr_clone.h"
#include "sdk/common/fork.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct ctel_resource {
    _Atomic uint32_t refs;
    ctel_attribute *attrs; /* deep copies, keys unique */
    size_t count;
    char *schema_url;
};

static bool key_eq(const ctel_attribute *a, const char *key, size_t len)
{
    return a->key_len == len && memcmp(a->key, key, len) == 0;
}

/* A resource from attributes that are already unique; takes ownership. */
static ctel_resource *wrap(ctel_attribute *attrs, size_t count, const char *schema_url)
{
    ctel_resource *r = ctel__calloc(1, sizeof *r);
    char *url = ctel__strdup(schema_url ? schema_url : "");
    if (!r || !url) {
        ctel__free(r);
        ctel__free(url);
        ctel__attrs_free(attrs, count);
        return NULL;
    }
    atomic_init(&r->refs, 1);
    r->attrs = attrs;
    r->count = count;
    r->schema_url = url;
    return r;
}

/* Copies `n` attributes from each list in turn into one array; a later key
 * replaces an earlier one in place (order of first appearance is kept). */
static ctel_status combine(const ctel_attribute *const *lists, const size_t *ns, size_t nlists,
                           ctel_attribute **out, size_t *out_count)
{
    size_t total = 0;
    for (size_t l = 0; l < nlists; l++)
        total += ns[l];
    *out = NULL;
    *out_count = 0;
    if (total == 0)
        return CTEL_OK;
    ctel_attribute *a = ctel__calloc(total, sizeof *a);
    if (!a)
        return CTEL_ERR_NO_MEMORY;
    size_t count = 0;
    for (size_t l = 0; l < nlists; l++) {
        for (size_t i = 0; i < ns[l]; i++) {
            const ctel_attribute *src = &lists[l][i];
            size_t slot = count;
            for (size_t j = 0; j < count; j++) {
                if (key_eq(&a[j], src->key, src->key_len)) {
                    slot = j;
                    break;
                }
            }
            ctel_value v;
            if (ctel__value_clone(&src->value, &v) != CTEL_OK) {
                ctel__attrs_free(a, count);
                return CTEL_ERR_NO_MEMORY;
            }
            if (slot < count) {
                ctel__value_free(&a[slot].value);
                a[slot].value = v;
                continue;
            }
            a[count].key = ctel__strndup(src->key, src->key_len);
            a[count].key_len = src->key_len;
            a[count].value = v;
            if (!a[count].key) {
                ctel__value_free(&a[count].value);
                ctel__attrs_free(a, count);
                return CTEL_ERR_NO_MEMORY;
            }
            count++;
        }
    }
    *out = a;
    *out_count = count;
    return CTEL_OK;
}

ctel_status ctel_resource_create(const ctel_attribute *attrs, size_t count, const char *schema_url,
                                 ctel_resource **out)
{
    if (!out)
        return CTEL_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (count && !attrs)
        return CTEL_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < count; i++)
        if (!attrs[i].key || attrs[i].key_len == 0)
            return CTEL_ERR_INVALID_ARGUMENT;
    ctel_attribute *a;
    size_t n;
    ctel_status rc = combine(&attrs, &count, 1, &a, &n);
    if (rc != CTEL_OK)
        return rc;
    *out = wrap(a, n, schema_url);
    return *out ? CTEL_OK : CTEL_ERR_NO_MEMORY;
}

ctel_status ctel_resource_merge(const ctel_resource *base, const ctel_resource *updating,
                                ctel_resource **out)
{
    if (!out)
        return CTEL_ERR_INVALID_ARGUMENT;
    *out = NULL;
    const ctel_attribute *lists[2] = {base ? base->attrs : NULL,
                                      updating ? updating->attrs : NULL};
    size_t ns[2] = {base ? base->count : 0, updating ? updating->count : 0};
    const char *bu = base ? base->schema_url : "";
    const char *uu = updating ? updating->schema_url : "";
    const char *url = *uu ? uu : bu;
    if (*bu && *uu && strcmp(bu, uu) != 0)
        ctel__log(CTEL_LOG_WARN, "resource: merging resources with different schema URLs "
                                 "(\"%.80s\" and \"%.80s\"); keeping the second",
                  bu, uu);
    ctel_attribute *a;
    size_t n;
    ctel_status rc = combine(lists, ns, 2, &a, &n);
    if (rc != CTEL_OK)
        return rc;
    *out = wrap(a, n, url);
    return *out ? CTEL_OK : CTEL_ERR_NO_MEMORY;
}

/* After fork(): the same resource with the child's pid (see fork.h). */
ctel_status ctel__resource_replace_pid(const ctel_resource *r, int64_t old_pid, int64_t pid,
                                       ctel_resource **out)
{
    *out = NULL;
    const ctel_value *v = ctel_resource_find(r, "process.pid");
    if (!v || v->type != CTEL_VALUE_INT || v->u.integer != old_pid)
        return CTEL_OK;
    ctel_attribute a = {"process.pid", 11, ctel_value_int(pid)};
    const ctel_attribute *lists[2] = {r->attrs, &a};
    size_t ns[2] = {r->count, 1};
    ctel_attribute *all;
    size_t count;
    ctel_status rc = combine(lists, ns, 2, &all, &count);
    if (rc != CTEL_OK)
        return rc;
    *out = wrap(all, count, r->schema_url);
    return *out ? CTEL_OK : CTEL_ERR_NO_MEMORY;
}

/* ---- OTEL_RESOURCE_ATTRIBUTES -------------------------------------------- */

/* Trims spaces and percent-decodes s[0..n) into a new string; NULL with
 * *bad set on a malformed escape or one that decodes to NUL (which a C
 * string would silently cut there), NULL without it on out of memory. */
static char *decode(const char *s, size_t n, bool *bad)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    char *out = ctel__malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        if (i + 2 >= n || ctel__hex_value(s[i + 1]) < 0 || ctel__hex_value(s[i + 2]) < 0 ||
            (s[i + 1] == '0' && s[i + 2] == '0')) {
            *bad = true;
            ctel__free(out);
            return NULL;
        }
        out[o++] = (char)(ctel__hex_value(s[i + 1]) * 16 + ctel__hex_value(s[i + 2]));
        i += 2;
    }
    out[o] = '\0';
    return out;
}

/* Parses OTEL_RESOURCE_ATTRIBUTES into attributes (strings). Any malformed
 * member discards the whole variable, as the specification asks. */
static ctel_status env_attributes(ctel_attribute **out, size_t *out_count)
{
    *out = NULL;
    *out_count = 0;
    const char *v = ctel__env_get("OTEL_RESOURCE_ATTRIBUTES");
    if (!v)
        return CTEL_OK;
    size_t cap = 1;
    for (const char *p = v; *p; p++)
        cap += *p == ',';
    ctel_attribute *a = ctel__calloc(cap, sizeof *a);
    if (!a)
        return CTEL_ERR_NO_MEMORY;
    size_t count = 0;
    const char *why = NULL;
    const char *p = v;
    while (true) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        bool blank = true;
        for (size_t i = 0; i < len; i++)
            if (p[i] != ' ' && p[i] != '\t')
                blank = false;
        if (!blank) {
            if (!eq) {
                why = "a member has no '='";
                break;
            }
            bool bad = false;
            char *key = decode(p, (size_t)(eq - p), &bad);
            char *val = key ? decode(eq + 1, len - (size_t)(eq - p) - 1, &bad) : NULL;
            if (!key || !val) {
                ctel__free(key);
                ctel__free(val);
                if (!bad) {
                    ctel__attrs_free(a, count);
                    return CTEL_ERR_NO_MEMORY;
                }
                why = "a percent-escape is malformed (or %00)";
                break;
            }
            if (!*key) {
                ctel__free(key);
                ctel__free(val);
                why = "a key is empty";
                break;
            }
            a[count].key = key;
            a[count].key_len = strlen(key);
            a[count].value.type = CTEL_VALUE_STRING;
            a[count].value.u.string.ptr = val;
            a[count].value.u.string.len = strlen(val);
            count++;
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (why) {
        ctel__log(CTEL_LOG_WARN, "OTEL_RESOURCE_ATTRIBUTES is ignored entirely: %s (value "
                                 "\"%.64s\")",
                  why, v);
        ctel__attrs_free(a, count);
        return CTEL_OK;
    }
    *out = a;
    *out_count = count;
    return CTEL_OK;
}

static const char *executable_name(void)
{
    extern char *program_invocation_short_name;
    const char *n = program_invocation_short_name;
    return n && *n ? n : "unknown";
}

ctel_status ctel_resource_create_default(const ctel_resource *user, ctel_resource **out)
{
    if (!out)
        return CTEL_ERR_INVALID_ARGUMENT;
    *out = NULL;
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    const char *exe = executable_name();
    char service[300];
    snprintf(service, sizeof service, "unknown_service:%s", exe);

    ctel_attribute sdk_attrs[7];
    size_t n = 0;
    sdk_attrs[n++] = (ctel_attribute){"telemetry.sdk.name", 18, ctel_value_str("ctel")};
    sdk_attrs[n++] = (ctel_attribute){"telemetry.sdk.language", 22, ctel_value_str("c")};
    sdk_attrs[n++] =
        (ctel_attribute){"telemetry.sdk.version", 21, ctel_value_str(CTEL_VERSION_STRING)};
    sdk_attrs[n++] = (ctel_attribute){"process.pid", 11, ctel_value_int((int64_t)getpid())};
    sdk_attrs[n++] = (ctel_attribute){"process.executable.name", 23, ctel_value_str(exe)};
    if (host[0])
        sdk_attrs[n++] = (ctel_attribute){"host.name", 9, ctel_value_str(host)};
    sdk_attrs[n++] = (ctel_attribute){"service.name", 12, ctel_value_str(service)};

    ctel_attribute *env = NULL;
    size_t env_n = 0;
    ctel_status rc = env_attributes(&env, &env_n);
    if (rc != CTEL_OK)
        return rc;
    const char *svc = ctel__env_get("OTEL_SERVICE_NAME");
    ctel_attribute svc_attr = {"service.name", 12, ctel_value_str(svc)};

    const ctel_attribute *lists[4] = {sdk_attrs, env, &svc_attr, user ? user->attrs : NULL};
    size_t ns[4] = {n, env_n, svc ? 1 : 0, user ? user->count : 0};
    ctel_attribute *all;
    size_t count;
    rc = combine(lists, ns, 4, &all, &count);
    ctel__attrs_free(env, env_n);
    if (rc != CTEL_OK)
        return rc;
    *out = wrap(all, count, user ? user->schema_url : "");
    return *out ? CTEL_OK : CTEL_ERR_NO_MEMORY;
}

size_t ctel_resource_attribute_count(const ctel_resource *r)
{
    return r ? r->count : 0;
}

const ctel_attribute *ctel_resource_attributes(const ctel_resource *r)
{
    return r ? r->attrs : NULL;
}

const ctel_value *ctel_resource_find(const ctel_resource *r, const char *key)
{
    if (!r || !key)
        return NULL;
    size_t len = strlen(key);
    for (size_t i = 0; i < r->count; i++)
        if (key_eq(&r->attrs[i], key, len))
            return &r->attrs[i].value;
    return NULL;
}

const char *ctel_resource_schema_url(const ctel_resource *r)
{
    return r ? r->schema_url : "";
}

ctel_resource *ctel_resource_retain(const ctel_resource *r)
{
    if (!r)
        return NULL;
    ctel_resource *m = (ctel_resource *)r;
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

void ctel_resource_release(const ctel_resource *r)
{
    if (!r)
        return;
    ctel_resource *m = (ctel_resource *)r;
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
        ctel__attrs_free(m->attrs, m->count);
        ctel__free(m->schema_url);
        ctel__free(m);
    }
}
