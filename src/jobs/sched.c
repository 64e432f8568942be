/* The scheduling rule and small text helpers (pure). */
#include "core/macro.h"
#include "jobs/internal.h"

ssize_t sched_next(const struct sched_item *items, size_t n, size_t running_max)
{
        size_t running = 0;
        for (size_t i = 0; i < n; i++)
                running += items[i].running;
        if (running >= running_max)
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (items[i].running)
                        continue;
                bool blocked = false;
                for (size_t k = 0; k < i && !blocked; k++)
                        blocked = streq(items[k].key, items[i].key);
                if (!blocked)
                        return (ssize_t)i;
        }
        return -1;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
        unsigned char c = s[0];
        size_t len;
        uint32_t cp;
        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf) {
                len = 2;
                cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                len = 3;
                cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                len = 4;
                cp = c & 0x07;
        } else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0; /* overlong, out of range, surrogate */
        return len;
}

void utf8_fix(char *buf, size_t len)
{
        for (size_t i = 0; i < len;) {
                size_t l = utf8_seq((const unsigned char *)buf + i, len - i);
                if (l == 0) {
                        buf[i++] = '?';
                        continue;
                }
                i += l;
        }
}

size_t text_sanitize_line(char *dst, size_t size, const char *src, size_t len, size_t max)
{
        static const char ellipsis[] = "...";
        const unsigned char *s = (const unsigned char *)src;
        size_t out = 0, cap = MIN(max, size - 1);
        for (size_t i = 0; i < len;) {
                size_t l = utf8_seq(s + i, len - i);
                if (l == 1 && (s[i] == '\r' || s[i] == '\n')) {
                        i++;
                        continue;
                }
                const unsigned char *c = s + i;
                unsigned char q = '?';
                size_t w = l;
                if (l == 0 || (l == 1 && ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f))) {
                        c = &q;
                        w = 1;
                        l = l ? l : 1;
                }
                if (out + w > cap) {
                        /* cut: make room for "..." at a character boundary */
                        while (out > 0 && out + sizeof(ellipsis) - 1 > cap) {
                                out--;
                                while (out > 0 && (((unsigned char)dst[out]) & 0xc0) == 0x80)
                                        out--;
                        }
                        if (out + sizeof(ellipsis) - 1 <= cap) {
                                memcpy(dst + out, ellipsis, sizeof(ellipsis) - 1);
                                out += sizeof(ellipsis) - 1;
                        }
                        break;
                }
                memcpy(dst + out, c, w);
                out += w;
                i += l;
        }
        dst[out] = 0;
        return out;
}

size_t log_line_format(char *buf, size_t size, time_t t, const char *msg)
{
        struct tm tm;
        char ts[32];
        localtime_r(&t, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
        int n = snprintf(buf, size, "[%s] %s\n", ts, msg);
        if (n < 0)
                return 0;
        if ((size_t)n >= size) { /* keep the newline */
                buf[size - 2] = '\n';
                return size - 1;
        }
        return (size_t)n;
}

bool desc_field_ok(const char *s, bool required, size_t max)
{
        if (!s)
                return !required;
        size_t n = strlen(s);
        if (required && n == 0)
                return false;
        return n <= max;
}

bool desc_action_ok(const char *s, size_t max)
{
        if (!s || !*s || strlen(s) > max)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
                        return false;
        return true;
}
