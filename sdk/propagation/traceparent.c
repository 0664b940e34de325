/* sdk/propagation/traceparent.c — the W3C traceparent header. */
#include "sdk/internal.h"
#include "sdk/propagation/w3c.h"

static int lhex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* upper-case hex is invalid in traceparent */
}

static bool hex_bytes(const char *s, uint8_t *out, size_t n)
{
    uint8_t any = 0;
    for (size_t i = 0; i < n; i++) {
        int hi = lhex(s[2 * i]), lo = lhex(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
        any |= out[i];
    }
    return any != 0; /* all zeros is invalid */
}

bool ctel__traceparent_parse(const char *v, size_t len, ctel_span_context *out)
{
    if (!v)
        return false;
    while (len && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    if (len < CTEL__TRACEPARENT_LEN)
        return false;
    int v0 = lhex(v[0]), v1 = lhex(v[1]);
    if (v0 < 0 || v1 < 0 || (v0 == 15 && v1 == 15))
        return false;
    bool version00 = v0 == 0 && v1 == 0;
    if (version00 && len != CTEL__TRACEPARENT_LEN)
        return false; /* trailing data on version 00 */
    if (!version00 && len > CTEL__TRACEPARENT_LEN && v[CTEL__TRACEPARENT_LEN] != '-')
        return false;
    if (v[2] != '-' || v[35] != '-' || v[52] != '-')
        return false;
    ctel_span_context sc;
    memset(&sc, 0, sizeof sc);
    if (!hex_bytes(v + 3, sc.trace_id, 16) || !hex_bytes(v + 36, sc.span_id, 8))
        return false;
    int f0 = lhex(v[53]), f1 = lhex(v[54]);
    if (f0 < 0 || f1 < 0)
        return false;
    sc.trace_flags = (uint8_t)((f0 << 4 | f1) & (CTEL_TRACE_FLAG_SAMPLED | CTEL_TRACE_FLAG_RANDOM));
    sc.is_remote = true;
    *out = sc;
    return true;
}

void ctel__traceparent_format(const ctel_span_context *sc, char out[CTEL__TRACEPARENT_LEN + 1])
{
    static const char d[] = "0123456789abcdef";
    out[0] = '0';
    out[1] = '0';
    out[2] = '-';
    for (int i = 0; i < 16; i++) {
        out[3 + 2 * i] = d[sc->trace_id[i] >> 4];
        out[4 + 2 * i] = d[sc->trace_id[i] & 15];
    }
    out[35] = '-';
    for (int i = 0; i < 8; i++) {
        out[36 + 2 * i] = d[sc->span_id[i] >> 4];
        out[37 + 2 * i] = d[sc->span_id[i] & 15];
    }
    out[52] = '-';
    uint8_t f = sc->trace_flags & (CTEL_TRACE_FLAG_SAMPLED | CTEL_TRACE_FLAG_RANDOM);
    out[53] = d[f >> 4];
    out[54] = d[f & 15];
    out[55] = '\0';
}
