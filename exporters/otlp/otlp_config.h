/* exporters/otlp/otlp_config.h — the resolved configuration of one OTLP
 * exporter: explicit options > signal-specific env > generic env > default
 * (see include/ctel/otlp.h for the variables). Shared by every signal and
 * transport. */
#ifndef CTEL_OTLP_CONFIG_H
#define CTEL_OTLP_CONFIG_H

#include <ctel/otlp.h>

#include "sdk/internal.h"

#define CTEL__OTLP_DEFAULT_TIMEOUT_MS 10000u
#define CTEL__OTLP_DEFAULT_MAX_REQUEST (4u * 1024u * 1024u)

typedef struct ctel__otlp_config {
    char *url;                   /* full URL of the signal's endpoint */
    ctel_otlp_protocol protocol; /* HTTP_PROTOBUF or HTTP_JSON */
    char **headers;              /* "Name: value" lines, ready for the transport */
    size_t header_count;
    uint32_t timeout_ms;         /* 0 = no limit */
    bool gzip;
    char *certificate;           /* NULL when not set */
    char *client_key;
    char *client_certificate;
    bool insecure;
    size_t max_request_bytes;
    /* delivery pipeline */
    bool direct;
    char *spill_dir;          /* the base directory; NULL: none */
    uint64_t spill_max_bytes;
    uint64_t spill_max_age_ms;
    bool spill_drop_newest;
    size_t queue_max_bytes;
} ctel__otlp_config;

/* Resolves the configuration for one signal. `signal` names the env
 * variables' infix ("TRACES"), `path` the signal path appended to a generic
 * endpoint ("v1/traces"). Invalid values are logged and replaced by their
 * default. CTEL_ERR_NO_MEMORY (and *out zeroed) on allocation failure. */
ctel_status ctel__otlp_config_resolve(const ctel_otlp_options *opts, const char *signal,
                                      const char *path, ctel__otlp_config *out);
void ctel__otlp_config_free(ctel__otlp_config *c);

/* Parses an OTLP headers list ("k=v,k2=v2", values percent-decoded) and
 * appends "k: v" lines to c->headers. Malformed pairs (empty or non-token
 * key, bad percent-escape, control characters) are logged, naming `origin`,
 * and skipped. CTEL_ERR_NO_MEMORY only. */
ctel_status ctel__otlp_headers_parse(const char *list, const char *origin, ctel__otlp_config *c);

#endif
