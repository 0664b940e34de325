/* tests/fuzz/fuzz_propagation.c — W3C traceparent, tracestate and baggage
 * from hostile headers (input: the three header values, one per line).
 * Extract must never crash or leak; and whatever it accepts must survive a
 * round trip: injected into fresh headers and extracted again it is the
 * same span context, the same tracestate, and baggage entries with the same
 * values (inject may leave tracestate and baggage members out to stay
 * within the W3C limits, never change one). */
#include "fuzz_util.h"

typedef struct headers {
    const char *traceparent, *tracestate, *baggage;
    char *owned[3]; /* what inject set */
} headers;

static const char *names[3] = {"traceparent", "tracestate", "baggage"};

static const char *get(void *ud, const char *key)
{
    headers *h = ud;
    if (!strcmp(key, names[0]))
        return h->traceparent;
    if (!strcmp(key, names[1]))
        return h->tracestate;
    if (!strcmp(key, names[2]))
        return h->baggage;
    return NULL;
}

static ctel_status set(void *ud, const char *key, const char *value)
{
    headers *h = ud;
    for (int i = 0; i < 3; i++) {
        if (!strcmp(key, names[i])) {
            free(h->owned[i]);
            h->owned[i] = strdup(value);
            FUZZ_CHECK(h->owned[i] != NULL);
            return CTEL_OK;
        }
    }
    FUZZ_CHECK(!"inject set a header it does not own");
    return CTEL_OK;
}

/* The context keeps a whole valid tracestate; inject sends at most 512
 * characters of it, leaving whole members out (W3C: propagate at least 512,
 * drop members to truncate). So after a round trip: the same string when it
 * was within 512, else at most 512 characters whose members are members of
 * the original, in its order. */
static bool tracestate_round_trip_ok(const char *orig, const char *back)
{
    size_t n = strlen(orig);
    if (n <= 512)
        return !strcmp(orig, back);
    if (strlen(back) > 512)
        return false;
    const char *o = orig;
    for (const char *m = back; *m;) {
        size_t mlen = strcspn(m, ",");
        bool found = false;
        while (*o && !found) {
            size_t olen = strcspn(o, ",");
            found = olen == mlen && !memcmp(o, m, mlen);
            o += olen + (o[olen] == ',');
        }
        if (!found)
            return false;
        m += mlen + (m[mlen] == ',');
    }
    return true;
}

static void same_context(const ctel_context *a, const ctel_context *b)
{
    ctel_span_context sa, sb;
    bool va = ctel_context_span_context(a, &sa), vb = ctel_context_span_context(b, &sb);
    va = va && ctel_span_context_is_valid(&sa);
    vb = vb && ctel_span_context_is_valid(&sb);
    FUZZ_CHECK(va == vb);
    if (va) {
        FUZZ_CHECK(!memcmp(sa.trace_id, sb.trace_id, 16));
        FUZZ_CHECK(!memcmp(sa.span_id, sb.span_id, 8));
        FUZZ_CHECK(sa.trace_flags == sb.trace_flags);
        const char *ta = ctel_context_trace_state(a), *tb = ctel_context_trace_state(b);
        if (!tracestate_round_trip_ok(ta, tb))
            fprintf(stderr, "tracestate extracted: \"%s\"\nafter a round trip: \"%s\"\n", ta, tb);
        FUZZ_CHECK(tracestate_round_trip_ok(ta, tb));
    }
    /* every member that came back is one that went out, unchanged */
    const ctel_baggage *ba = ctel_context_baggage(a), *bb = ctel_context_baggage(b);
    size_t nb = bb ? ctel_baggage_count(bb) : 0;
    for (size_t i = 0; i < nb; i++) {
        const char *name, *value, *meta;
        FUZZ_CHECK(ctel_baggage_entry(bb, i, &name, &value, &meta) == CTEL_OK);
        const char *orig = ba ? ctel_baggage_get(ba, name) : NULL;
        FUZZ_CHECK(orig != NULL);
        FUZZ_CHECK(!strcmp(orig, value));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ctel_propagator *prop;
    if (!prop) {
        fuzz_quiet_diagnostics();
        FUZZ_CHECK(ctel_propagator_create("tracecontext,baggage", &prop) == CTEL_OK);
    }
    const char *f[FUZZ_MAX_FIELDS];
    char *buf = fuzz_fields(data, size, f);
    headers in = {f[0], f[1], f[2], {NULL, NULL, NULL}};
    ctel_carrier cin = {get, NULL, NULL, &in};
    ctel_context *ctx = NULL;
    FUZZ_CHECK(ctel_propagator_extract(prop, NULL, &cin, &ctx) == CTEL_OK);

    headers out = {NULL, NULL, NULL, {NULL, NULL, NULL}};
    ctel_carrier cout = {NULL, NULL, set, &out};
    FUZZ_CHECK(ctel_propagator_inject(prop, ctx, &cout) == CTEL_OK);
    headers again = {out.owned[0], out.owned[1], out.owned[2], {NULL, NULL, NULL}};
    ctel_carrier cagain = {get, NULL, NULL, &again};
    ctel_context *ctx2 = NULL;
    FUZZ_CHECK(ctel_propagator_extract(prop, NULL, &cagain, &ctx2) == CTEL_OK);
    same_context(ctx, ctx2);

    ctel_context_release(ctx2);
    ctel_context_release(ctx);
    for (int i = 0; i < 3; i++)
        free(out.owned[i]);
    free(buf);
    return 0;
}
