/* exporters/otlp/otlp_config.c — OTLP exporter configuration from options and
 * the OTEL_EXPORTER_OTLP_* environment variables. */
#include "exporters/otlp/otlp_config.h"

#include <stdio.h>
#include <string.h>

/* The signal-specific variable if set, else the generic one; the name of the
 * variable that was used goes to *used (for diagnostics). */
static const char *env_pair(const char *signal, const char *what, char *used, size_t cap)
{
    snprintf(used, cap, "OTEL_EXPORTER_OTLP_%s_%s", signal, what);
    const char *v = ctel__env_get(used);
    if (v)
        return v;
    snprintf(used, cap, "OTEL_EXPORTER_OTLP_%s", what);
    return ctel__env_get(used);
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

static ctel_status add_header(ctel__otlp_config *c, const char *k, size_t klen, const char *v,
                              size_t vlen)
{
    char **n = ctel__realloc(c->headers, (c->header_count + 1) * sizeof *n);
    if (!n)
        return CTEL_ERR_NO_MEMORY;
    c->headers = n;
    char *line = ctel__malloc(klen + vlen + 3);
    if (!line)
        return CTEL_ERR_NO_MEMORY;
    memcpy(line, k, klen);
    memcpy(line + klen, ": ", 2);
    memcpy(line + klen + 2, v, vlen);
    line[klen + 2 + vlen] = '\0';
    c->headers[c->header_count++] = line;
    return CTEL_OK;
}

ctel_status ctel__otlp_headers_parse(const char *list, const char *origin, ctel__otlp_config *c)
{
    const char *p = list;
    while (*p) {
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        if (*p == ',')
            p++;
        const char *ks = start, *ke = memchr(start, '=', (size_t)(end - start));
        trim(&start, &end);
        if (start == end)
            continue; /* empty member, e.g. a trailing comma */
        const char *why = NULL;
        const char *vs = NULL, *ve = end;
        if (!ke) {
            why = "no '='";
        } else {
            vs = ke + 1;
            ks = start;
            trim(&ks, &ke);
            trim(&vs, &ve);
            if (ks == ke)
                why = "empty key";
            for (const char *q = ks; !why && q < ke; q++)
                if (!ctel__is_tchar((unsigned char)*q))
                    why = "invalid character in key";
        }
        char value[1024];
        size_t vlen = 0;
        for (const char *q = vs; !why && q < ve; q++) {
            unsigned char ch = (unsigned char)*q;
            if (ch == '%') {
                if (ve - q < 3 || ctel__hex_value(q[1]) < 0 || ctel__hex_value(q[2]) < 0) {
                    why = "bad percent-escape in value";
                    break;
                }
                ch = (unsigned char)(ctel__hex_value(q[1]) * 16 + ctel__hex_value(q[2]));
                q += 2;
            }
            /* CR, LF, NUL and other controls would let a value forge headers. */
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                why = "control character in value";
                break;
            }
            if (vlen + 1 >= sizeof value) {
                why = "value longer than 1023 bytes";
                break;
            }
            value[vlen++] = (char)ch;
        }
        if (why) {
            char q[80];
            char member[256];
            size_t n = (size_t)(end - start) < sizeof member - 1 ? (size_t)(end - start)
                                                                 : sizeof member - 1;
            memcpy(member, start, n);
            member[n] = '\0';
            ctel__env_quote(member, q, sizeof q);
            ctel__log(CTEL_LOG_WARN, "%s: header \"%s\" skipped: %s", origin, q, why);
            continue;
        }
        if (add_header(c, ks, (size_t)(ke - ks), value, vlen) != CTEL_OK)
            return CTEL_ERR_NO_MEMORY;
    }
    return CTEL_OK;
}

static bool has_scheme(const char *url)
{
    const char *colon = strstr(url, "://");
    if (!colon)
        return false;
    for (const char *q = url; q < colon; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
              (q > url && ((*q >= '0' && *q <= '9') || *q == '+' || *q == '-' || *q == '.'))))
            return false;
    return colon > url;
}

/* Builds the URL: scheme added when missing; for a generic (base) endpoint
 * the signal path is appended with exactly one '/'; a signal endpoint with
 * an empty path gets "/". */
static char *build_url(const char *endpoint, bool generic, const char *path, bool insecure)
{
    const char *scheme = has_scheme(endpoint) ? "" : insecure ? "http://" : "https://";
    size_t elen = strlen(endpoint);
    const char *after_scheme = strstr(endpoint, "://");
    after_scheme = after_scheme ? after_scheme + 3 : endpoint;
    bool has_path = strchr(after_scheme, '/') != NULL;
    size_t cap = strlen(scheme) + elen + strlen(path) + 3;
    char *url = ctel__malloc(cap);
    if (!url)
        return NULL;
    if (generic) {
        bool slash = elen && endpoint[elen - 1] == '/';
        snprintf(url, cap, "%s%s%s%s", scheme, endpoint, slash ? "" : "/", path);
    } else {
        snprintf(url, cap, "%s%s%s", scheme, endpoint, has_path ? "" : "/");
    }
    return url;
}

/* *out = a copy of the option, else of the env value, else NULL. False only
 * when out of memory. */
static bool dup_opt(const char *opt, const char *signal, const char *what, char **out)
{
    char used[96];
    const char *v = opt ? opt : env_pair(signal, what, used, sizeof used);
    *out = v && *v ? ctel__strdup(v) : NULL;
    return !(v && *v) || *out;
}

ctel_status ctel__otlp_config_resolve(const ctel_otlp_options *o, const char *signal,
                                      const char *path, ctel__otlp_config *c)
{
    static const ctel_otlp_options defaults = CTEL_OTLP_OPTIONS_INIT;
    if (!o)
        o = &defaults;
    memset(c, 0, sizeof *c);
    char used[96];

    /* insecure first: it decides the scheme of a scheme-less endpoint. */
    if (o->insecure >= 0) {
        c->insecure = o->insecure != 0;
    } else {
        env_pair(signal, "INSECURE", used, sizeof used);
        c->insecure = ctel__env_bool(used, false);
    }

    /* protocol */
    c->protocol = o->protocol;
    if (c->protocol == CTEL_OTLP_PROTOCOL_DEFAULT) {
        static const char *const names[] = {"http/protobuf", "http/json", "grpc", NULL};
        env_pair(signal, "PROTOCOL", used, sizeof used);
        int i = ctel__env_enum(used, names);
        c->protocol = i == 1 ? CTEL_OTLP_HTTP_JSON : i == 2 ? CTEL_OTLP_GRPC
                                                            : CTEL_OTLP_HTTP_PROTOBUF;
    }
    if (c->protocol == CTEL_OTLP_GRPC) {
        ctel__log(CTEL_LOG_WARN, "OTLP protocol grpc is not available in this build of ctel; "
                                 "using http/protobuf");
        c->protocol = CTEL_OTLP_HTTP_PROTOBUF;
    } else if (c->protocol != CTEL_OTLP_HTTP_PROTOBUF && c->protocol != CTEL_OTLP_HTTP_JSON) {
        ctel__log(CTEL_LOG_WARN, "OTLP protocol %d is not known; using http/protobuf",
                  (int)c->protocol);
        c->protocol = CTEL_OTLP_HTTP_PROTOBUF;
    }

    /* endpoint */
    if (o->endpoint && *o->endpoint) {
        c->url = build_url(o->endpoint, false, path, c->insecure);
    } else {
        snprintf(used, sizeof used, "OTEL_EXPORTER_OTLP_%s_ENDPOINT", signal);
        const char *v = ctel__env_get(used);
        if (v) {
            c->url = build_url(v, false, path, c->insecure);
        } else {
            v = ctel__env_get("OTEL_EXPORTER_OTLP_ENDPOINT");
            c->url = build_url(v ? v : "http://localhost:4318", true, path, c->insecure);
        }
    }
    if (!c->url)
        goto oom;

    /* headers: the option replaces the environment's list */
    if (o->headers) {
        if (ctel__otlp_headers_parse(o->headers, "OTLP headers option", c) != CTEL_OK)
            goto oom;
    } else {
        const char *v = env_pair(signal, "HEADERS", used, sizeof used);
        if (v && ctel__otlp_headers_parse(v, used, c) != CTEL_OK)
            goto oom;
    }

    /* timeout */
    c->timeout_ms = CTEL__OTLP_DEFAULT_TIMEOUT_MS;
    if (o->timeout_ms >= 0) {
        c->timeout_ms = (uint32_t)o->timeout_ms;
    } else {
        int64_t ms;
        env_pair(signal, "TIMEOUT", used, sizeof used);
        if (ctel__env_duration_ms(used, &ms))
            c->timeout_ms = (uint32_t)ms;
    }

    /* compression */
    if (o->compression == CTEL_OTLP_COMPRESSION_GZIP) {
        c->gzip = true;
    } else if (o->compression == CTEL_OTLP_COMPRESSION_DEFAULT) {
        static const char *const names[] = {"none", "gzip", NULL};
        env_pair(signal, "COMPRESSION", used, sizeof used);
        c->gzip = ctel__env_enum(used, names) == 1;
    }

    /* TLS files */
    if (!dup_opt(o->certificate, signal, "CERTIFICATE", &c->certificate) ||
        !dup_opt(o->client_key, signal, "CLIENT_KEY", &c->client_key) ||
        !dup_opt(o->client_certificate, signal, "CLIENT_CERTIFICATE", &c->client_certificate))
        goto oom;

    c->max_request_bytes = o->max_request_bytes > 0 ? (size_t)o->max_request_bytes
                                                    : CTEL__OTLP_DEFAULT_MAX_REQUEST;

    /* delivery pipeline */
    c->direct = o->direct != 0;
    const char *dir = o->spill_dir ? o->spill_dir : ctel__env_get("CTEL_SPILL_DIR");
    if (dir && *dir && !(c->spill_dir = ctel__strdup(dir)))
        goto oom;
    int64_t v;
    c->spill_max_bytes = 256ull * 1024 * 1024;
    if (o->spill_max_bytes > 0)
        c->spill_max_bytes = (uint64_t)o->spill_max_bytes;
    else if (ctel__env_int("CTEL_SPILL_MAX_BYTES", 65536, INT64_MAX, &v))
        c->spill_max_bytes = (uint64_t)v;
    c->spill_max_age_ms = 86400000u;
    if (ctel__env_duration_ms("CTEL_SPILL_MAX_AGE", &v))
        c->spill_max_age_ms = (uint64_t)v;
    if (o->spill_drop_newest >= 0) {
        c->spill_drop_newest = o->spill_drop_newest != 0;
    } else {
        static const char *const names[] = {"oldest", "newest", NULL};
        c->spill_drop_newest = ctel__env_enum("CTEL_SPILL_DROP", names) == 1;
    }
    c->queue_max_bytes = 4u * 1024u * 1024u;
    if (o->queue_max_bytes > 0)
        c->queue_max_bytes = (size_t)o->queue_max_bytes;
    else if (ctel__env_int("CTEL_EXPORTER_QUEUE_BYTES", 4096, INT32_MAX, &v))
        c->queue_max_bytes = (size_t)v;
    return CTEL_OK;
oom:
    ctel__otlp_config_free(c);
    return CTEL_ERR_NO_MEMORY;
}

void ctel__otlp_config_free(ctel__otlp_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->header_count; i++)
        ctel__free(c->headers[i]);
    ctel__free(c->headers);
    ctel__free(c->url);
    ctel__free(c->certificate);
    ctel__free(c->client_key);
    ctel__free(c->client_certificate);
    ctel__free(c->spill_dir);
    memset(c, 0, sizeof *c);
}
