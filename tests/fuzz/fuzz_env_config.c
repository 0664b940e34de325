/* tests/fuzz/fuzz_env_config.c — configuration from hostile environment
 * values (input: OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME and
 * OTEL_EXPORTER_OTLP_HEADERS, one per line). Malformed values are reported
 * and skipped, never fatal: the resource always has a string service.name,
 * and every header kept is one "Name: value" line with no control
 * character that could forge another header. */
#include "fuzz_util.h"

#include "exporters/otlp/otlp_config.h"

/* putenv with a buffer of our own per variable: setenv would copy every
 * value and never free the old ones, and a fuzzer sets millions. Values
 * longer than the buffer are cut. */
static void set_or_unset(char *slot, size_t cap, const char *name, const char *value)
{
    unsetenv(name);
    if (!value)
        return;
    snprintf(slot, cap, "%s=%s", name, value);
    FUZZ_CHECK(putenv(slot) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet_diagnostics();
    const char *f[FUZZ_MAX_FIELDS];
    char *buf = fuzz_fields(data, size, f);
    static char attrs[1 << 16], service[1 << 12];
    set_or_unset(attrs, sizeof attrs, "OTEL_RESOURCE_ATTRIBUTES", f[0]);
    set_or_unset(service, sizeof service, "OTEL_SERVICE_NAME", f[1]);

    ctel_resource *res = NULL;
    ctel_status rc = ctel_resource_create_default(NULL, &res);
    FUZZ_CHECK(rc == CTEL_OK || rc == CTEL_ERR_NO_MEMORY);
    if (rc == CTEL_OK) {
        const ctel_value *name = ctel_resource_find(res, "service.name");
        FUZZ_CHECK(name != NULL && name->type == CTEL_VALUE_STRING);
        FUZZ_CHECK(name->u.string.ptr != NULL);
        ctel_resource_release(res);
    }

    if (f[2]) {
        ctel__otlp_config c;
        memset(&c, 0, sizeof c);
        rc = ctel__otlp_headers_parse(f[2], "OTEL_EXPORTER_OTLP_HEADERS", &c);
        FUZZ_CHECK(rc == CTEL_OK || rc == CTEL_ERR_NO_MEMORY);
        for (size_t i = 0; i < c.header_count; i++) {
            const char *h = c.headers[i];
            FUZZ_CHECK(strstr(h, ": ") != NULL);
            for (const char *p = h; *p; p++)
                FUZZ_CHECK(!((unsigned char)*p < 0x20 && *p != '\t') && *p != 0x7f);
        }
        ctel__otlp_config_free(&c);
    }
    free(buf);
    return 0;
}
