/* tests/fuzz/fuzz_otlp_response.c — what a Collector (or anything listening
 * on its port) answers: the body of an OTLP/HTTP response, parsed as an
 * ExportTraceServiceResponse and as a google.rpc.Status. Garbage must give
 * CTEL_ERR_PARSE or a result, never a crash, an over-read or a message that
 * is not NUL-terminated within its buffer. The first input byte sets the
 * message buffer's size (0-63). */
#include "fuzz_util.h"

#include "exporters/otlp/proto/otlp_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t cap = data[0] % 64;
    data++;
    size--;
    /* a copy of exactly `size` bytes, so ASan sees any read past the body */
    uint8_t *body = malloc(size ? size : 1);
    FUZZ_CHECK(body != NULL);
    memcpy(body, data, size);
    char *msg = malloc(cap ? cap : 1);
    FUZZ_CHECK(msg != NULL);

    int64_t rejected = -12345;
    ctel_status rc = ctel__otlp_proto_parse_trace_response(body, size, &rejected, msg, cap);
    FUZZ_CHECK(rc == CTEL_OK || rc == CTEL_ERR_PARSE || rc == CTEL_ERR_NO_MEMORY);
    if (rc == CTEL_OK && cap)
        FUZZ_CHECK(memchr(msg, '\0', cap) != NULL);
    if (rc == CTEL_OK && size == 0)
        FUZZ_CHECK(rejected == 0);

    int32_t code = -1;
    rc = ctel__otlp_proto_parse_status(body, size, &code, msg, cap);
    FUZZ_CHECK(rc == CTEL_OK || rc == CTEL_ERR_PARSE || rc == CTEL_ERR_NO_MEMORY);
    if (rc == CTEL_OK && cap)
        FUZZ_CHECK(memchr(msg, '\0', cap) != NULL);

    free(msg);
    free(body);
    return 0;
}
