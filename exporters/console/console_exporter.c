/* exporters/console/console_exporter.c — one OTLP/JSON
 * ExportTraceServiceRequest per line per batch, to stdout, stderr or a file.
 * For debugging and for piping into tools (jq, the Collector's file
 * receiver). */
#include "sdk/internal.h"
#include "exporters/otlp/json/otlp_json.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>

typedef struct console {
    FILE *fp;
    bool owns_fp;
    pthread_mutex_t lock;
    ctel__buf buf;
} console;

static ctel_status console_export(void *state, const ctel_span_data *const *spans, size_t n,
                                  uint32_t timeout_ms)
{
    (void)timeout_ms;
    console *c = state;
    pthread_mutex_lock(&c->lock);
    ctel__buf_reset(&c->buf);
    ctel_status rc = ctel__otlp_json_encode_traces(spans, n, &c->buf);
    if (rc == CTEL_OK)
        rc = ctel__buf_append_char(&c->buf, '\n');
    if (rc == CTEL_OK) {
        if (fwrite(c->buf.data, 1, c->buf.len, c->fp) != c->buf.len || fflush(c->fp) != 0) {
            CTEL_LOG_LIMITED(CTEL_LOG_ERROR, "console exporter: write failed: %s",
                             strerror(errno));
            rc = CTEL_ERR_IO;
        }
    }
    /* Do not keep a huge buffer around after a huge batch. */
    if (c->buf.cap > (1u << 20))
        ctel__buf_free(&c->buf);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

static ctel_status console_flush(void *state, uint32_t timeout_ms)
{
    (void)timeout_ms;
    console *c = state;
    pthread_mutex_lock(&c->lock);
    int err = fflush(c->fp);
    pthread_mutex_unlock(&c->lock);
    return err == 0 ? CTEL_OK : CTEL_ERR_IO;
}

static void console_destroy(void *state)
{
    console *c = state;
    if (c->owns_fp)
        fclose(c->fp);
    else
        fflush(c->fp);
    ctel__buf_free(&c->buf);
    pthread_mutex_destroy(&c->lock);
    ctel__free(c);
}

ctel_status ctel_console_exporter_create(const char *path, ctel_span_exporter **out)
{
    if (!out)
        return CTEL_ERR_INVALID_ARGUMENT;
    *out = NULL;
    console *c = ctel__calloc(1, sizeof *c);
    if (!c)
        return CTEL_ERR_NO_MEMORY;
    if (!path || !*path || strcmp(path, "stdout") == 0) {
        c->fp = stdout;
    } else if (strcmp(path, "stderr") == 0) {
        c->fp = stderr;
    } else {
        c->fp = fopen(path, "ae");
        if (!c->fp) {
            ctel__log(CTEL_LOG_ERROR, "console exporter: cannot open \"%s\": %s", path,
                      strerror(errno));
            ctel__free(c);
            return CTEL_ERR_IO;
        }
        c->owns_fp = true;
    }
    pthread_mutex_init(&c->lock, NULL);
    ctel_span_exporter_ops ops = {"console", console_export, console_flush, NULL, console_destroy};
    return ctel_span_exporter_create(&ops, c, out);
}
