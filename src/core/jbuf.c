/* The JSON text builder (core/jbuf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "core/jbuf.h"
#include "core/util.h"

/* ---- builder ---- */

void jbuf_grow(struct jbuf *b, size_t more)
{
        if (b->len + more + 1 <= b->cap)
                return;
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + more + 1)
                cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
}

void jbuf_puts(struct jbuf *b, const char *s)
{
        jbuf_raw(b, s, strlen(s));
}

void jbuf_printf(struct jbuf *b, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n <= 0)
                return;
        jbuf_grow(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
}

/* Strings here come from jansson (valid UTF-8) or from our own formatting,
 * so escaping quotes, backslashes and control characters is enough. */
/* Bytes a JSON string literal cannot hold as they are. */
static const unsigned char needs_escape[256] = {
    [0x00 ... 0x1f] = 1,
    ['"'] = 1,
    ['\\'] = 1,
};

void jbuf_str(struct jbuf *b, const char *s)
{
        static const char hex[] = "0123456789abcdef";
        if (!s)
                s = "";
        size_t n = strlen(s);
        const unsigned char *u = (const unsigned char *)s, *end = u + n;
        /* Room for the quotes and for every byte escaped as two; a control
         * character (six bytes) makes more room when it comes. */
        jbuf_grow(b, 2 * n + 2);
        char *o = b->p + b->len;
        *o++ = '"';
        for (; u < end; u++) {
                unsigned char ch = *u;
                if (!needs_escape[ch]) {
                        *o++ = (char)ch;
                } else if (ch == '"' || ch == '\\') {
                        *o++ = '\\';
                        *o++ = (char)ch;
                } else {
                        b->len = (size_t)(o - b->p);
                        jbuf_grow(b, 6 + 2 * (size_t)(end - u));
                        o = b->p + b->len;
                        *o++ = '\\';
                        switch (ch) {
                        case '\n':
                                *o++ = 'n';
                                break;
                        case '\t':
                                *o++ = 't';
                                break;
                        case '\r':
                                *o++ = 'r';
                                break;
                        default:
                                *o++ = 'u';
                                *o++ = '0';
                                *o++ = '0';
                                *o++ = hex[ch >> 4];
                                *o++ = hex[ch & 15];
                                break;
                        }
                }
        }
        *o++ = '"';
        *o = '\0';
        b->len = (size_t)(o - b->p);
}

void jbuf_int(struct jbuf *b, long long v)
{
        char tmp[24], *p = tmp + sizeof(tmp);
        unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
        do {
                *--p = (char)('0' + u % 10);
                u /= 10;
        } while (u);
        if (v < 0)
                *--p = '-';
        jbuf_raw(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void jbuf_real(struct jbuf *b, double d)
{
        char tmp[40];
        snprintf(tmp, sizeof(tmp), "%.17g", d);
        char *e = strchr(tmp, 'e');
        if (e) { /* as jansson: "1e300", "1e-7", not "1e+300", "1e-07" */
                char *src = e + 1, *dst = e + 1;
                if (*src == '+')
                        src++;
                else if (*src == '-')
                        *dst++ = *src++;
                while (*src == '0' && src[1])
                        src++;
                memmove(dst, src, strlen(src) + 1);
        }
        jbuf_puts(b, tmp);
        if (!strpbrk(tmp, ".e")) /* stay a real, as jansson writes it */
                jbuf_raw(b, ".0", 2);
}

void jbuf_json(struct jbuf *b, const json_t *j)
{
        switch (json_typeof(j)) {
        case JSON_OBJECT: {
                const char *k;
                json_t *v;
                bool first = true;
                jbuf_raw(b, "{", 1);
                json_object_foreach((json_t *)j, k, v)
                {
                        if (!first)
                                jbuf_raw(b, ",", 1);
                        first = false;
                        jbuf_str(b, k);
                        jbuf_raw(b, ":", 1);
                        jbuf_json(b, v);
                }
                jbuf_raw(b, "}", 1);
                break;
        }
        case JSON_ARRAY: {
                size_t i;
                json_t *v;
                jbuf_raw(b, "[", 1);
                json_array_foreach(j, i, v)
                {
                        if (i)
                                jbuf_raw(b, ",", 1);
                        jbuf_json(b, v);
                }
                jbuf_raw(b, "]", 1);
                break;
        }
        case JSON_STRING:
                jbuf_str(b, json_string_value(j));
                break;
        case JSON_INTEGER:
                jbuf_int(b, (long long)json_integer_value(j));
                break;
        case JSON_REAL:
                jbuf_real(b, json_real_value(j));
                break;
        case JSON_TRUE:
                jbuf_raw(b, "true", 4);
                break;
        case JSON_FALSE:
                jbuf_raw(b, "false", 5);
                break;
        default:
                jbuf_raw(b, "null", 4);
        }
}

char *jbuf_steal(struct jbuf *b, size_t *ret_len)
{
        if (!b->p)
                jbuf_raw(b, "", 0);
        char *p = b->p;
        if (ret_len)
                *ret_len = b->len;
        *b = (struct jbuf){0};
        return p;
}

void jbuf_free(struct jbuf *b)
{
        free(b->p);
        *b = (struct jbuf){0};
}
