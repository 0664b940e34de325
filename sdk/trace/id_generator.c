/* sdk/trace/id_generator.c — trace and span IDs.
 *
 * Each thread runs its own wyrand generator: a 64-bit Weyl counter mixed by
 * one 64x64->128-bit multiply per output. It is statistically strong (it
 * passes BigCrush and PractRand) but not cryptographic, which trace IDs do
 * not need; what they need is uniqueness and uniform low bytes for the W3C
 * Level 2 random flag and the ratio sampler. Per-thread state means no lock,
 * no shared cache line written, and no system call per ID.
 *
 * Seeding happens lazily on a thread's first ID: getrandom(2) without
 * blocking (a service started early in boot must not stall its first span
 * waiting for the entropy pool), then /dev/urandom, then — with a warning —
 * a mix of clocks, pid, thread id and addresses, which keeps IDs unique in
 * practice though no longer unpredictable.
 *
 * fork() copies the thread's state, so without care a child would repeat
 * its parent's IDs. A pthread_atfork child handler bumps a global
 * generation; every thread remembers the generation it was seeded at and
 * re-seeds when they differ. That costs one relaxed load of a read-mostly
 * cache line per ID.
 */
#include "sdk/internal.h"
#include "sdk/common/mul_fold.h"
#include "sdk/trace/span_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/random.h>
#include <unistd.h>

typedef struct id_state {
    uint64_t s;
    uint64_t generation; /* 0 = never seeded */
} id_state;

static CTEL__TLS id_state t_ids;
/* Alone on its line: every ID reads it, and nothing written often may share
 * it. Starts at 1 so that a zeroed thread state counts as unseeded. */
static _Alignas(CTEL_CACHELINE) _Atomic uint64_t g_generation = 1;
static _Alignas(CTEL_CACHELINE) pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t g_fallback_counter;

/* Works on a local copy of the state (see ctel__id_*): stores to the output
 * bytes could alias the thread-local state as far as the compiler knows,
 * which would force a reload after each one. */
static inline uint64_t wyrand(uint64_t *s)
{
    *s += 0xa0761d6478bd642full;
    return ctel__mul_fold(*s, *s ^ 0xe7037ed1a0b428dbull);
}

static void on_fork_child(void)
{
    atomic_fetch_add_explicit(&g_generation, 1, memory_order_relaxed);
}

static void register_atfork(void)
{
    if (pthread_atfork(NULL, NULL, on_fork_child) != 0)
        ctel__log(CTEL_LOG_WARN, "ids: pthread_atfork failed (out of memory); a forked "
                                 "child may repeat its parent's trace and span IDs");
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static bool read_urandom(void *buf, size_t n)
{
    int fd;
    do {
        fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return false;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    return got == n;
}

static bool os_random(void *buf, size_t n)
{
    ssize_t r;
    do {
        r = getrandom(buf, n, GRND_NONBLOCK);
    } while (r < 0 && errno == EINTR);
    /* EAGAIN (pool not ready yet), ENOSYS (old kernel), EPERM (seccomp):
     * /dev/urandom never blocks and is often still reachable. */
    return r == (ssize_t)n || read_urandom(buf, n);
}

static __attribute__((noinline)) void seed(id_state *st, uint64_t generation)
{
    pthread_once(&g_atfork_once, register_atfork);
    uint64_t v;
    if (!os_random(&v, sizeof v)) {
        CTEL_LOG_LIMITED(CTEL_LOG_WARN, "ids: neither getrandom() nor /dev/urandom is "
                                        "available; seeding from clocks and thread identity "
                                        "(IDs stay unique but become predictable)");
        /* Each input separates a case the others may not: clocks separate
         * runs, pid separates forks, tid and the TLS address separate
         * threads, the counter separates re-seeds within one clock tick. */
        uint64_t x = ctel__mono_ns() ^ (ctel__now_ns() << 1) ^ ((uint64_t)getpid() << 32) ^
                     ((uint64_t)gettid() << 16) ^ (uint64_t)(uintptr_t)st ^
                     (atomic_fetch_add_explicit(&g_fallback_counter, 1, memory_order_relaxed) *
                      0x9e3779b97f4a7c15ull);
        splitmix64(&x);
        v = splitmix64(&x);
    }
    st->s = v;
    st->generation = generation;
}

static inline id_state *state(void)
{
    id_state *st = &t_ids;
    uint64_t gen = atomic_load_explicit(&g_generation, memory_order_relaxed);
    if (CTEL_UNLIKELY(st->generation != gen))
        seed(st, gen);
    return st;
}

/* All 16 bytes come from the generator, so the rightmost 7 are uniform and
 * the caller may set the W3C Level 2 random flag. */
static inline void trace_id(uint64_t *s, uint8_t out[16])
{
    uint64_t a, b;
    do {
        a = wyrand(s);
        b = wyrand(s);
    } while (CTEL_UNLIKELY((a | b) == 0));
    memcpy(out, &a, 8);
    memcpy(out + 8, &b, 8);
}

static inline void span_id(uint64_t *s, uint8_t out[8])
{
    uint64_t a;
    do {
        a = wyrand(s);
    } while (CTEL_UNLIKELY(a == 0));
    memcpy(out, &a, 8);
}

void ctel__id_trace(uint8_t out[16])
{
    id_state *st = state();
    uint64_t s = st->s;
    trace_id(&s, out);
    st->s = s;
}

void ctel__id_span(uint8_t out[8])
{
    id_state *st = state();
    uint64_t s = st->s;
    span_id(&s, out);
    st->s = s;
}

void ctel__id_root(uint8_t trace_id_out[16], uint8_t span_id_out[8])
{
    id_state *st = state();
    uint64_t s = st->s;
    trace_id(&s, trace_id_out);
    span_id(&s, span_id_out);
    st->s = s;
}

void ctel__id_reseed_all(void)
{
    atomic_fetch_add_explicit(&g_generation, 1, memory_order_relaxed);
}
