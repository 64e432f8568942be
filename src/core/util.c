#include <sys/random.h>
#include <time.h>
#include "core/macro.h"
#include "core/util.h"

void random_bytes(void *buf, size_t n)
{
        uint8_t *p = buf;
        while (n > 0) {
                ssize_t r = getrandom(p, n, 0);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        abort(); /* no entropy source: nothing safe to do */
                }
                p += r;
                n -= (size_t)r;
        }
}

void hex_encode(const void *in, size_t n, char *out)
{
        static const char digits[] = "0123456789abcdef";
        const uint8_t *p = in;
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[p[i] >> 4];
                out[2 * i + 1] = digits[p[i] & 15];
        }
        out[2 * n] = 0;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int hex_decode(const char *in, void *out, size_t n)
{
        uint8_t *o = out;
        if (strlen(in) != 2 * n)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                o[i] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
}

void id_new32(char out[33])
{
        uint8_t b[16];
        random_bytes(b, sizeof(b));
        hex_encode(b, sizeof(b), out);
}

bool id_is_hex32(const char *s)
{
        if (!s || strlen(s) != 32)
                return false;
        for (int i = 0; i < 32; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t now_mono_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void time_rfc3339(uint64_t unix_ms, char out[40])
{
        time_t t = (time_t)(unix_ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        char date[24];
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(out, 40, "%.19s.%03uZ", date, (unsigned)(unix_ms % 1000));
}

bool name_is_safe(const char *s, size_t max)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > max)
                return false;
        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
                        return false;
        }
        return true;
}
