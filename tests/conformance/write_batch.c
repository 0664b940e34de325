/* tests/conformance/write_batch.c — writes the rich batch (rich_batch.h) as
 * an OTLP protobuf ExportTraceServiceRequest and as its OTLP/JSON form, for
 * scripts/conformance.sh to decode with the official schema.
 *   usage: ctel_conformance_write_batch OUT.pb OUT.json
 * Exit status 0 on success, 1 on any failure (with a message on stderr). */
#include "sdk/internal.h"
#include "sdk/common/buf.h"
#include "conformance/rich_batch.h"
#include "exporters/otlp/json/otlp_json.h"
#include "exporters/otlp/proto/otlp_proto.h"

#include <stdio.h>

static int write_file(const char *path, const ctel__buf *b)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t n = b->len ? fwrite(b->data, 1, b->len, f) : 0;
    int bad = n != b->len;
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "write_batch: cannot write %s\n", path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s OUT.pb OUT.json\n", argv[0]);
        return 1;
    }
    rich_batch rb;
    if (rich_batch_init(&rb) != 0) {
        fprintf(stderr, "write_batch: cannot create the batch's resources\n");
        return 1;
    }
    ctel__buf pb = CTEL__BUF_INIT, json = CTEL__BUF_INIT;
    ctel_status rc = ctel__otlp_proto_encode_traces(rb.ptrs, RB_SPANS, &pb);
    if (rc == CTEL_OK)
        rc = ctel__otlp_json_encode_traces(rb.ptrs, RB_SPANS, &json);
    int failed = rc != CTEL_OK;
    if (failed)
        fprintf(stderr, "write_batch: encoding failed: %s\n", ctel_status_str(rc));
    else
        failed = write_file(argv[1], &pb) || write_file(argv[2], &json);
    ctel__buf_free(&pb);
    ctel__buf_free(&json);
    rich_batch_free(&rb);
    return failed;
}
