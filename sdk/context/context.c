/* sdk/context/context.c — immutable context values and each thread's stack
 * of current contexts.
 *
 * The stack holds either a span (ctel_span_make_current: no allocation, the
 * span is borrowed) or a retained context (ctel_context_attach). Each entry
 * also records the baggage current at that depth, so reading the current
 * baggage or parent is one look at the top entry.
 */
#include "sdk/internal.h"
#include "sdk/trace/span_internal.h"

#include <pthread.h>
#include <stdio.h>

struct ctel_context {
    _Atomic uint32_t refs;
    bool has_span_context;
    ctel_span_context sc;
    const ctel_baggage *baggage; /* retained */
    size_t trace_state_len;
    char trace_state[]; /* NUL-terminated */
};

typedef struct frame {
    ctel_span *span;          /* borrowed; NULL for context frames */
    const ctel_context *ctx;  /* retained; NULL for span frames */
    const ctel_baggage *baggage; /* borrowed from a context below or at this frame */
    uint32_t check;
} frame;

typedef struct thread_stack {
    frame *frames;
    uint32_t depth;
    uint32_t cap;
    uint32_t serial; /* makes stale tokens detectable */
    bool registered;
} thread_stack;

static CTEL__TLS thread_stack t_stack;
CTEL__TLS uint32_t ctel__t_context_depth;
static pthread_key_t g_stack_key;
static pthread_once_t g_stack_once = PTHREAD_ONCE_INIT;

/* ---- context values ------------------------------------------------------- */

static ctel_context *context_new(const ctel_span_context *sc, const char *ts, size_t ts_len,
                                 const ctel_baggage *bg)
{
    ctel_context *c = ctel__malloc(sizeof *c + ts_len + 1);
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    c->has_span_context = sc != NULL;
    if (sc)
        c->sc = *sc;
    else
        memset(&c->sc, 0, sizeof c->sc);
    c->baggage = bg ? ctel_baggage_retain(bg) : NULL;
    c->trace_state_len = ts_len;
    if (ts_len)
        memcpy(c->trace_state, ts, ts_len);
    c->trace_state[ts_len] = '\0';
    return c;
}

ctel_context *ctel_context_retain(const ctel_context *ctx)
{
    if (!ctx)
        return NULL;
    ctel_context *c = (ctel_context *)ctx;
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void ctel_context_release(const ctel_context *ctx)
{
    if (!ctx)
        return;
    ctel_context *c = (ctel_context *)ctx;
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) {
        ctel_baggage_release(c->baggage);
        ctel__free(c);
    }
}

ctel_context *ctel_context_with_span_context(const ctel_context *parent,
                                             const ctel_span_context *sc,
                                             const char *trace_state)
{
    if (!sc)
        return NULL;
    size_t len = trace_state ? strlen(trace_state) : 0;
    return context_new(sc, trace_state, len, parent ? parent->baggage : NULL);
}

ctel_context *ctel_context_with_baggage(const ctel_context *parent, const ctel_baggage *baggage)
{
    if (!parent)
        return context_new(NULL, NULL, 0, baggage);
    return context_new(parent->has_span_context ? &parent->sc : NULL, parent->trace_state,
                       parent->trace_state_len, baggage);
}

ctel_context *ctel_context_with_span(const ctel_context *parent, const ctel_span *span)
{
    ctel_span_context sc = ctel_span_get_context(span);
    const char *ts = span ? span->data.trace_state : NULL;
    size_t ts_len = span && ts ? span->data.trace_state_len : 0;
    return context_new(&sc, ts, ts_len, parent ? parent->baggage : NULL);
}

bool ctel_context_span_context(const ctel_context *ctx, ctel_span_context *out)
{
    if (!out)
        return false;
    if (!ctx || !ctx->has_span_context) {
        memset(out, 0, sizeof *out);
        return false;
    }
    *out = ctx->sc;
    return true;
}

const char *ctel_context_trace_state(const ctel_context *ctx)
{
    return ctx ? ctx->trace_state : "";
}

const ctel_baggage *ctel_context_baggage(const ctel_context *ctx)
{
    return ctx ? ctx->baggage : NULL;
}

/* ---- the thread's stack ----------------------------------------------------- */

static void stack_exit(void *arg)
{
    thread_stack *st = arg;
    /* Entries a thread forgot to detach: release what they retained. */
    while (st->depth) {
        frame *f = &st->frames[--st->depth];
        ctel_context_release(f->ctx);
    }
    ctel__free(st->frames);
    st->frames = NULL;
    st->cap = 0;
    ctel__t_context_depth = 0;
}

static void make_key(void)
{
    (void)pthread_key_create(&g_stack_key, stack_exit);
}

static frame *push_frame(void)
{
    thread_stack *st = &t_stack;
    if (CTEL_UNLIKELY(st->depth == st->cap)) {
        uint32_t cap = st->cap ? st->cap * 2 : 16;
        frame *f = ctel__realloc(st->frames, cap * sizeof *f);
        if (!f) {
            ctel__log(CTEL_LOG_ERROR, "context: out of memory growing the context stack; "
                                      "the span or context is not made current");
            return NULL;
        }
        st->frames = f;
        st->cap = cap;
        if (!st->registered) {
            pthread_once(&g_stack_once, make_key);
            (void)pthread_setspecific(g_stack_key, st);
            st->registered = true;
        }
    }
    frame *f = &st->frames[st->depth++];
    ctel__t_context_depth = st->depth;
    f->check = ++st->serial;
    f->baggage = st->depth > 1 ? st->frames[st->depth - 2].baggage : NULL;
    return f;
}

static ctel_context_token token_for_top(void)
{
    thread_stack *st = &t_stack;
    return (ctel_context_token){st->depth, st->frames[st->depth - 1].check};
}

static const ctel_context_token k_inert_token = {0, 0};

ctel_context_token ctel_context_attach(const ctel_context *ctx)
{
    frame *f = push_frame();
    if (!f)
        return k_inert_token;
    f->span = NULL;
    f->ctx = ctx ? ctel_context_retain(ctx) : NULL;
    f->baggage = ctx ? ctx->baggage : NULL;
    return token_for_top();
}

ctel_context_token ctel_span_make_current(ctel_span *span)
{
    frame *f = push_frame();
    if (!f)
        return k_inert_token;
    f->span = span;
    f->ctx = NULL;
    return token_for_top();
}

ctel_status ctel_context_detach(ctel_context_token token)
{
    thread_stack *st = &t_stack;
    if (token.depth == 0)
        return token.check == 0 ? CTEL_OK : CTEL_ERR_INVALID_ARGUMENT; /* inert */
    if (token.depth > st->depth || st->frames[token.depth - 1].check != token.check) {
        ctel__log(CTEL_LOG_WARN, "context: detach with a token that is not on this thread's "
                                 "stack (already detached, or from another thread); ignored");
        return CTEL_ERR_INVALID_ARGUMENT;
    }
    ctel_status rc = CTEL_OK;
    if (token.depth != st->depth) {
        ctel__log(CTEL_LOG_WARN, "context: detached out of order; %u newer entr%s detached too",
                  st->depth - token.depth, st->depth - token.depth == 1 ? "y" : "ies");
        rc = CTEL_ERR_INVALID_ARGUMENT;
    }
    while (st->depth >= token.depth) {
        frame *f = &st->frames[--st->depth];
        ctel_context_release(f->ctx);
        if (st->depth == 0)
            break;
    }
    ctel__t_context_depth = st->depth;
    return rc;
}

ctel_span *ctel_span_current(void)
{
    thread_stack *st = &t_stack;
    if (st->depth == 0)
        return NULL;
    return st->frames[st->depth - 1].span;
}

const ctel_baggage *ctel_baggage_current(void)
{
    thread_stack *st = &t_stack;
    return st->depth ? st->frames[st->depth - 1].baggage : NULL;
}

bool ctel__context_current_parent(ctel_span_context *sc, const char **ts, size_t *ts_len)
{
    thread_stack *st = &t_stack;
    if (CTEL_LIKELY(st->depth == 0))
        return false;
    const frame *f = &st->frames[st->depth - 1];
    if (f->span) {
        *sc = f->span->data.context;
        *ts = f->span->data.trace_state;
        *ts_len = f->span->data.trace_state_len;
        return ctel_span_context_is_valid(sc);
    }
    if (f->ctx && f->ctx->has_span_context && ctel_span_context_is_valid(&f->ctx->sc)) {
        *sc = f->ctx->sc;
        *ts = f->ctx->trace_state;
        *ts_len = f->ctx->trace_state_len;
        return true;
    }
    return false;
}

void ctel__context_forget_span_slow(ctel_span *span)
{
    thread_stack *st = &t_stack;
    for (uint32_t i = st->depth; i-- > 0;) {
        frame *f = &st->frames[i];
        if (f->span != span)
            continue;
        /* The record is about to be recycled: keep its identity as a context
         * so spans started later in this scope still get the right parent. */
        f->span = NULL;
        f->ctx = ctel_context_with_span(NULL, span);
        if (!f->ctx)
            ctel__log(CTEL_LOG_ERROR, "context: out of memory keeping an ended span's context; "
                                      "later spans in its scope become roots");
    }
}

ctel_context *ctel_context_current(void)
{
    thread_stack *st = &t_stack;
    if (st->depth == 0)
        return context_new(NULL, NULL, 0, NULL);
    const frame *f = &st->frames[st->depth - 1];
    if (f->ctx) {
        if (f->ctx->baggage == f->baggage)
            return ctel_context_retain(f->ctx);
        return context_new(f->ctx->has_span_context ? &f->ctx->sc : NULL, f->ctx->trace_state,
                           f->ctx->trace_state_len, f->baggage);
    }
    if (f->span) {
        ctel_span_context sc = f->span->data.context;
        return context_new(&sc, f->span->data.trace_state, f->span->data.trace_state_len,
                           f->baggage);
    }
    return context_new(NULL, NULL, 0, f->baggage);
}

/* ---- span context helpers --------------------------------------------------- */

bool ctel_span_context_is_valid(const ctel_span_context *sc)
{
    if (!sc)
        return false;
    uint64_t t0, t1, s;
    memcpy(&t0, sc->trace_id, 8);
    memcpy(&t1, sc->trace_id + 8, 8);
    memcpy(&s, sc->span_id, 8);
    return (t0 | t1) != 0 && s != 0;
}

static void to_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void ctel_trace_id_to_hex(const uint8_t trace_id[16], char out[33])
{
    to_hex(trace_id, 16, out);
}

void ctel_span_id_to_hex(const uint8_t span_id[8], char out[17])
{
    to_hex(span_id, 8, out);
}
