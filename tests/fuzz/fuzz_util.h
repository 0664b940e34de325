/* tests/fuzz/fuzz_util.h — what the fuzz targets share: splitting one input
 * into NUL-terminated fields, and ctel's diagnostics formatted (so their
 * formatting of hostile input runs too) but not printed. */
#ifndef CTEL_FUZZ_UTIL_H
#define CTEL_FUZZ_UTIL_H

#include <ctel/ctel.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A property the target checks was violated: report and crash, so the
 * fuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

enum { FUZZ_MAX_FIELDS = 4 };

/* Splits data[0..size) at '\n' into at most FUZZ_MAX_FIELDS NUL-terminated
 * copies (the last field takes the rest); fields not present are NULL.
 * Returns the buffer to free. */
static inline char *fuzz_fields(const uint8_t *data, size_t size, const char *field[FUZZ_MAX_FIELDS])
{
    char *buf = malloc(size + 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (int i = 0; i < FUZZ_MAX_FIELDS; i++)
        field[i] = NULL;
    char *p = buf;
    for (int i = 0; i < FUZZ_MAX_FIELDS && p; i++) {
        field[i] = p;
        char *nl = i + 1 < FUZZ_MAX_FIELDS ? memchr(p, '\n', (size_t)(buf + size - p)) : NULL;
        if (nl)
            *nl = '\0';
        p = nl ? nl + 1 : NULL;
    }
    return buf;
}

static void fuzz_discard_log(ctel_log_level level, const char *message, void *user_data)
{
    (void)level;
    (void)user_data;
    FUZZ_CHECK(message != NULL);
}

/* Once per process; call it at the top of every input. */
static inline void fuzz_quiet_diagnostics(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    ctel_set_log_handler(fuzz_discard_log, NULL);
    ctel_set_log_level(CTEL_LOG_DEBUG);
}

#endif
