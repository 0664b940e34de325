/* tools/ctel/sink/sink.c — the sink's lifecycle: listening socket, the
 * libmicrohttpd daemon, counters, faults, kept requests and go-down.
 * Request handling itself is in sink_handler.c.
 *
 * Threading model: MHD_USE_INTERNAL_POLLING_THREAD |
 * MHD_USE_THREAD_PER_CONNECTION. One thread per connection lets a delayed
 * answer simply wait in its handler without holding up any other connection
 * (a thread pool would need suspend/resume and timers for that), and the
 * load ctel pushes at a sink is a handful of keep-alive connections, so the
 * per-connection thread costs nothing per request. Delays wait on a
 * condition variable that ctel_sink_stop and ctel_sink_go_down broadcast,
 * so stopping never waits for a delayed answer. */
#include "tools/ctel/sink/sink_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>

void ctel__sink_deadline(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static bool sink_past(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* Resolves host (numeric or a name such as "localhost") into s->addr. */
static int sink_resolve(ctel_sink *s, char *err, size_t err_cap)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)s->opts.port);
    int rc = getaddrinfo(s->host, port, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, err_cap, "cannot resolve '%s': %s", s->host, gai_strerror(rc));
        return -1;
    }
    memcpy(&s->addr, res->ai_addr, res->ai_addrlen);
    s->addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* A listening socket of our own rather than MHD's, so a taken port is
 * reported with its errno and a restart after go-down binds the exact same
 * address. SO_REUSEADDR lets the restart bind while old connections sit in
 * TIME_WAIT. */
static int sink_listen(ctel_sink *s, char *err, size_t err_cap)
{
    int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, err_cap, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s->addr.ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)&s->addr, s->addr_len) != 0 ||
        listen(fd, SOMAXCONN) != 0) {
        snprintf(err, err_cap, "cannot listen on %s:%u: %s", s->host, (unsigned)s->port,
                 strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static struct MHD_Daemon *sink_daemon(ctel_sink *s, int fd)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ITC;
    if (s->addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL}, {MHD_OPTION_END, 0, NULL},
                                    {MHD_OPTION_END, 0, NULL}};
    if (s->tls_cert) {
        flags |= MHD_USE_TLS;
        tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key};
        tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert};
    }
    return MHD_start_daemon(flags, 0, NULL, NULL, ctel__sink_access, s, MHD_OPTION_LISTEN_SOCKET,
                            (MHD_socket)fd, MHD_OPTION_NOTIFY_COMPLETED, ctel__sink_completed, s,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)256 * 1024,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1000, MHD_OPTION_ARRAY, tls,
                            MHD_OPTION_END);
}

/* Binds and starts a daemon on s->addr. Port 0 (first start): learns the
 * port the kernel chose and keeps it, so restarts come back on it. */
static struct MHD_Daemon *sink_up(ctel_sink *s, char *err, size_t err_cap)
{
    int fd = sink_listen(s, err, err_cap);
    if (fd < 0)
        return NULL;
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    if (s->port == 0 && getsockname(fd, (struct sockaddr *)&bound, &bound_len) == 0) {
        if (bound.ss_family == AF_INET6) {
            s->port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
            ((struct sockaddr_in6 *)&s->addr)->sin6_port = htons(s->port);
        } else {
            s->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
            ((struct sockaddr_in *)&s->addr)->sin_port = htons(s->port);
        }
    }
    struct MHD_Daemon *d = sink_daemon(s, fd);
    if (!d) {
        snprintf(err, err_cap, "cannot start the HTTP server on %s:%u", s->host, (unsigned)s->port);
        close(fd);
    }
    return d;
}

static void sink_down(ctel_sink *s)
{
    pthread_mutex_lock(&s->daemon_mu);
    struct MHD_Daemon *d = s->daemon;
    s->daemon = NULL;
    pthread_mutex_unlock(&s->daemon_mu);
    if (d)
        MHD_stop_daemon(d);
}

/* The control thread carries out ctel_sink_go_down: stop, wait, listen
 * again on the same port. A go_down during the outage extends it. */
static void *sink_control(void *arg)
{
    ctel_sink *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        if (!s->down_pending) {
            pthread_cond_wait(&s->wake_cv, &s->mu);
            continue;
        }
        pthread_mutex_unlock(&s->mu);
        sink_down(s);
        pthread_mutex_lock(&s->mu);
        struct timespec deadline;
        ctel__sink_deadline(&deadline, 0);
        for (;;) {
            if (s->down_pending) {
                ctel__sink_deadline(&deadline, s->down_ms);
                s->down_pending = false;
            }
            if (s->stopping || sink_past(&deadline))
                break;
            pthread_cond_timedwait(&s->wake_cv, &s->mu, &deadline);
        }
        /* Back up; keep trying while the port is briefly unavailable. */
        while (!s->stopping) {
            pthread_mutex_unlock(&s->mu);
            char err[400];
            struct MHD_Daemon *d = sink_up(s, err, sizeof err);
            pthread_mutex_lock(&s->mu);
            if (d) {
                pthread_mutex_lock(&s->daemon_mu);
                s->daemon = d;
                pthread_mutex_unlock(&s->daemon_mu);
                break;
            }
            struct timespec retry;
            ctel__sink_deadline(&retry, 50);
            pthread_cond_timedwait(&s->wake_cv, &s->mu, &retry);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int ctel_sink_start(const ctel_sink_options *opts, ctel_sink **out, char *err, size_t err_cap)
{
    char scratch[8];
    if (!err || !err_cap) {
        err = scratch;
        err_cap = sizeof scratch;
    }
    err[0] = '\0';
    if (!opts || !out) {
        snprintf(err, err_cap, "invalid argument");
        return -1;
    }
    *out = NULL;
    ctel_sink *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_cap, "out of memory");
        return -1;
    }
    s->opts = *opts;
    snprintf(s->host, sizeof s->host, "%s", opts->host ? opts->host : "127.0.0.1");
    s->opts.host = s->host;
    s->opts.out_path = NULL;
    s->opts.tls_cert_pem = s->opts.tls_key_pem = NULL;
    if (!opts->tls_cert_pem != !opts->tls_key_pem) {
        snprintf(err, err_cap, "HTTPS needs both a certificate and a key");
        free(s);
        return -1;
    }
    if (opts->tls_cert_pem) {
        s->tls_cert = strdup(opts->tls_cert_pem);
        s->tls_key = strdup(opts->tls_key_pem);
        if (!s->tls_cert || !s->tls_key) {
            free(s->tls_cert);
            free(s->tls_key);
            free(s);
            snprintf(err, err_cap, "out of memory");
            return -1;
        }
    }
    ctel_sink_faults none = CTEL_SINK_FAULTS_NONE;
    s->faults = none;

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->io_mu, NULL);
    pthread_mutex_init(&s->daemon_mu, NULL);
    pthread_cond_init(&s->spans_cv, &ca);
    pthread_cond_init(&s->wake_cv, &ca);
    pthread_condattr_destroy(&ca);

    if (opts->out_path && !opts->discard) {
        s->out = fopen(opts->out_path, "ae");
        if (!s->out) {
            snprintf(err, err_cap, "cannot open %s: %s", opts->out_path, strerror(errno));
            goto fail;
        }
    }
    if (sink_resolve(s, err, err_cap) != 0)
        goto fail;
    s->port = opts->port;
    s->daemon = sink_up(s, err, err_cap);
    if (!s->daemon)
        goto fail;
    if (pthread_create(&s->control, NULL, sink_control, s) != 0) {
        snprintf(err, err_cap, "cannot start the control thread");
        MHD_stop_daemon(s->daemon);
        goto fail;
    }
    *out = s;
    return 0;
fail:
    if (s->out)
        fclose(s->out);
    pthread_cond_destroy(&s->spans_cv);
    pthread_cond_destroy(&s->wake_cv);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->io_mu);
    pthread_mutex_destroy(&s->daemon_mu);
    free(s->tls_cert);
    free(s->tls_key);
    free(s);
    return -1;
}

uint16_t ctel_sink_port(const ctel_sink *sink)
{
    return sink ? sink->port : 0;
}

void ctel_sink_set_faults(ctel_sink *sink, const ctel_sink_faults *faults)
{
    if (!sink)
        return;
    ctel_sink_faults none = CTEL_SINK_FAULTS_NONE;
    pthread_mutex_lock(&sink->mu);
    sink->faults = faults ? *faults : none;
    sink->faults.retry_after[sizeof sink->faults.retry_after - 1] = '\0';
    pthread_mutex_unlock(&sink->mu);
}

void ctel_sink_get_stats(ctel_sink *sink, ctel_sink_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!sink)
        return;
    pthread_mutex_lock(&sink->mu);
    *out = sink->stats;
    pthread_mutex_unlock(&sink->mu);
}

bool ctel_sink_wait_spans(ctel_sink *sink, uint64_t spans, int timeout_ms)
{
    if (!sink)
        return false;
    struct timespec deadline;
    ctel__sink_deadline(&deadline, timeout_ms < 0 ? 0 : timeout_ms);
    pthread_mutex_lock(&sink->mu);
    while (sink->stats.spans < spans && !sink->stopping) {
        if (pthread_cond_timedwait(&sink->spans_cv, &sink->mu, &deadline) == ETIMEDOUT)
            break;
    }
    bool ok = sink->stats.spans >= spans;
    pthread_mutex_unlock(&sink->mu);
    return ok;
}

void ctel_sink_go_down(ctel_sink *sink, int ms)
{
    if (!sink)
        return;
    pthread_mutex_lock(&sink->mu);
    sink->down_pending = true;
    sink->down_ms = ms < 0 ? 0 : ms;
    sink->down_gen++;
    pthread_cond_broadcast(&sink->wake_cv);
    pthread_mutex_unlock(&sink->mu);
}

static void sink_kept_free(ctel__sink_kept *k)
{
    if (k->msg)
        protobuf_c_message_free_unpacked(&k->msg->base, NULL);
    for (size_t i = 0; i < k->n_headers; i++) {
        free(k->headers[i].name);
        free(k->headers[i].value);
    }
    free(k->headers);
}

/* Takes ownership of *k (on failure too). Called with s->mu held. */
void ctel__sink_keep(ctel_sink *s, ctel__sink_kept *k)
{
    if (s->n_kept == s->cap_kept) {
        size_t cap = s->cap_kept ? s->cap_kept * 2 : 16;
        ctel__sink_kept *grown = realloc(s->kept, cap * sizeof *grown);
        if (!grown) {
            sink_kept_free(k);
            return;
        }
        s->kept = grown;
        s->cap_kept = cap;
    }
    s->kept[s->n_kept++] = *k;
}

size_t ctel_sink_request_count(ctel_sink *sink)
{
    if (!sink)
        return 0;
    pthread_mutex_lock(&sink->mu);
    size_t n = sink->n_kept;
    pthread_mutex_unlock(&sink->mu);
    return n;
}

bool ctel_sink_request(ctel_sink *sink, size_t i, ctel_sink_request_info *out)
{
    if (!sink || !out)
        return false;
    pthread_mutex_lock(&sink->mu);
    bool ok = i < sink->n_kept;
    if (ok)
        *out = sink->kept[i].info;
    pthread_mutex_unlock(&sink->mu);
    return ok;
}

bool ctel_sink_request_header(ctel_sink *sink, size_t i, const char *name, char *buf, size_t cap)
{
    if (!sink || !name)
        return false;
    bool found = false;
    pthread_mutex_lock(&sink->mu);
    if (i < sink->n_kept) {
        const ctel__sink_kept *k = &sink->kept[i];
        for (size_t h = 0; h < k->n_headers; h++) {
            if (!strcasecmp(k->headers[h].name, name)) {
                if (buf && cap)
                    snprintf(buf, cap, "%s", k->headers[h].value);
                found = true;
                break;
            }
        }
    }
    pthread_mutex_unlock(&sink->mu);
    return found;
}

void ctel_sink_clear_requests(ctel_sink *sink)
{
    if (!sink)
        return;
    pthread_mutex_lock(&sink->mu);
    for (size_t i = 0; i < sink->n_kept; i++)
        sink_kept_free(&sink->kept[i]);
    sink->n_kept = 0;
    pthread_mutex_unlock(&sink->mu);
}

void ctel_sink_stop(ctel_sink *sink)
{
    if (!sink)
        return;
    pthread_mutex_lock(&sink->mu);
    sink->stopping = true;
    pthread_cond_broadcast(&sink->wake_cv);
    pthread_cond_broadcast(&sink->spans_cv);
    pthread_mutex_unlock(&sink->mu);
    pthread_join(sink->control, NULL);
    sink_down(sink);
    ctel_sink_clear_requests(sink);
    free(sink->kept);
    if (sink->out)
        fclose(sink->out);
    pthread_cond_destroy(&sink->spans_cv);
    pthread_cond_destroy(&sink->wake_cv);
    pthread_mutex_destroy(&sink->mu);
    pthread_mutex_destroy(&sink->io_mu);
    pthread_mutex_destroy(&sink->daemon_mu);
    free(sink->tls_cert);
    free(sink->tls_key);
    free(sink);
}
