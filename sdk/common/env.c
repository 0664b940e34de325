/* sdk/common/env.c — reading OTEL_* variables by the specification's rules:
 * empty means unset; a malformed value is reported (naming the variable, the
 * value and what is used instead) and treated as unset; never fatal. */
#include "sdk/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

bool ctel__str_ieq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    while (*a && *b) {
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
        a++;
        b++;
    }
    return *a == *b;
}

bool ctel__mem_ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
            return false;
    return true;
}

/* Environment values are untrusted: quote at most 64 bytes, with control
 * characters and non-ASCII bytes escaped. */
void ctel__env_quote(const char *v, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; v[i] && o + 5 < cap; i++) {
        if (i == 64) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char c = (unsigned char)v[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[o++] = (char)c;
        } else {
            static const char hex[] = "0123456789abcdef";
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

const char *ctel__env_get(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Trims spaces/tabs into a bounded copy. Returns false if it does not fit. */
static bool trimmed(const char *v, char *out, size_t cap)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n >= cap)
        return false;
    memcpy(out, v, n);
    out[n] = '\0';
    return true;
}

bool ctel__env_bool(const char *name, bool dflt)
{
    const char *v = ctel__env_get(name);
    if (!v)
        return dflt;
    char t[16];
    if (trimmed(v, t, sizeof t)) {
        if (ctel__str_ieq(t, "true"))
            return true;
        if (ctel__str_ieq(t, "false"))
            return false;
    }
    char q[80];
    ctel__env_quote(v, q, sizeof q);
    ctel__log(CTEL_LOG_WARN, "%s=\"%s\" is not true or false; using false", name, q);
    return false;
}

bool ctel__env_int(const char *name, int64_t min, int64_t max, int64_t *out)
{
    const char *v = ctel__env_get(name);
    if (!v)
        return false;
    char t[32];
    bool ok = trimmed(v, t, sizeof t) && t[0] != '\0';
    long long n = 0;
    if (ok) {
        char *end = NULL;
        errno = 0;
        n = strtoll(t, &end, 10);
        ok = errno == 0 && end && *end == '\0' && n >= min && n <= max &&
             (isdigit((unsigned char)t[0]) || t[0] == '-' || t[0] == '+');
    }
    if (!ok) {
        char q[80];
        ctel__env_quote(v, q, sizeof q);
        ctel__log(CTEL_LOG_WARN, "%s=\"%s\" is not an integer in [%lld, %lld]; ignored", name,
                  q, (long long)min, (long long)max);
        return false;
    }
    *out = n;
    return true;
}

bool ctel__env_duration_ms(const char *name, int64_t *out)
{
    return ctel__env_int(name, 0, INT32_MAX, out);
}

int ctel__env_enum(const char *name, const char *const *names)
{
    const char *v = ctel__env_get(name);
    if (!v)
        return -1;
    char t[64];
    if (trimmed(v, t, sizeof t)) {
        for (int i = 0; names[i]; i++)
            if (ctel__str_ieq(t, names[i]))
                return i;
    }
    char q[80];
    ctel__env_quote(v, q, sizeof q);
    ctel__log(CTEL_LOG_WARN, "%s=\"%s\" is not a known value; ignored", name, q);
    return -1;
}
