/* A user's program: links the installed ctel and runs one span. */
#include <ctel/ctel.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    ctel_sdk_options o = CTEL_SDK_OPTIONS_INIT;
    ctel_sdk *sdk = NULL;
    if (ctel_sdk_create(&o, &sdk) != CTEL_OK)
        return 1;
    ctel_span *s = ctel_span_start(ctel_sdk_tracer(sdk, "consumer", NULL, NULL), "hello", NULL);
    ctel_span_context sc = ctel_span_get_context(s);
    ctel_span_end(s);
    ctel_sdk_destroy(sdk);
    printf("ctel %s: span valid=%d status=%s\n", ctel_version(), ctel_span_context_is_valid(&sc),
           ctel_status_str(CTEL_OK));
    return ctel_span_context_is_valid(&sc) && strcmp(ctel_version(), CTEL_VERSION_STRING) == 0 ? 0
                                                                                               : 1;
}
