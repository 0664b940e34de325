/* sdk/trace/id_generator.c — trace and span IDs.
 *
 * Each thread runs its own wyrand generator (a 64-bit counter mixed by one
 * 64x64->128-bit multiply; statistically strong, not cryptographic, which
 * trace IDs do not need), seeded from getrandom(2) on first use: no lock and
 * no system call per ID. A forked child must not
 * repeat its parent's IDs, so a pthread_atfork child handler bumps a global
 * generation and every thread re-seeds when it sees a new one (one relaxed
 * load per ID).
 */
#include "sdk/internal.h"
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
static _Atomic uint64_t g_generation = 1;
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

static inline uint64_t next(id_state *st)
{
    st->s += 0xa0761d6478bd642full;
    unsigned __int128 m = (unsigned __int128)st->s * (st->s ^ 0xe7037ed1a0b428dbull);
    return (uint64_t)(m >> 64) ^ (uint64_t)m;
}

static void on_fork_child(void)
{
    atomic_fetch_add_explicit(&g_generation, 1, memory_order_relaxed);
}

static void register_atfork(void)
{
    (void)pthread_atfork(NULL, NULL, on_fork_child);
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static bool read_urandom(void *buf, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
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

static __attribute__((noinline)) void seed(id_state *st, uint64_t generation)
{
    pthread_once(&g_atfork_once, register_atfork);
    uint64_t seedv[4];
    ssize_t r;
    do {
        r = getrandom(seedv, sizeof seedv, 0);
    } while (r < 0 && errno == EINTR);
    if (r != (ssize_t)sizeof seedv && !read_urandom(seedv, sizeof seedv)) {
        /* No entropy source: mix what differs between threads and processes.
         * IDs stay unique in practice but are not unpredictable. */
        ctel__log(CTEL_LOG_WARN, "ids: no getrandom() or /dev/urandom; seeding from time and "
                                 "thread identity");
        uint64_t x = ctel__mono_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)st ^
                     ctel__now_ns();
        for (int i = 0; i < 4; i++)
            seedv[i] = splitmix(&x);
    }
    /* Each thread's stream starts at an independent random point. */
    st->s = seedv[0] ^ seedv[1] ^ seedv[2] ^ seedv[3];
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

void ctel__id_trace(uint8_t out[16])
{
    id_state *st = state();
    uint64_t a, b;
    do {
        a = next(st);
        b = next(st);
    } while ((a | b) == 0);
    memcpy(out, &a, 8);
    memcpy(out + 8, &b, 8);
}

void ctel__id_span(uint8_t out[8])
{
    id_state *st = state();
    uint64_t a;
    do {
        a = next(st);
    } while (a == 0);
    memcpy(out, &a, 8);
}

void ctel__id_root(uint8_t trace_id[16], uint8_t span_id[8])
{
    id_state *st = state();
    uint64_t a, b, c;
    do {
        a = next(st);
        b = next(st);
    } while ((a | b) == 0);
    do {
        c = next(st);
    } while (c == 0);
    memcpy(trace_id, &a, 8);
    memcpy(trace_id + 8, &b, 8);
    memcpy(span_id, &c, 8);
}

void ctel__id_reseed_all(void)
{
    atomic_fetch_add_explicit(&g_generation, 1, memory_order_relaxed);
}
