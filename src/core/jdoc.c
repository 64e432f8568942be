/* jdoc: the strict one-pass JSON parser behind src/core/jdoc.h. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include "core/jdoc.h"
#include "core/macro.h"
#include "core/util.h"

#define NODES_MIN       64   /* first node array; grown by doubling */
#define BYTES_PER_NODE  8    /* first guess of nodes for a text: len / 8 */
#define STREAM_NODES    4096 /* first node array when streaming: one element at a time */
#define DUP_SCAN_MAX    16   /* objects up to this many members are checked pairwise */
#define NUMBER_TEXT_MAX 64   /* a real longer than this is copied to the heap for strtod */
#define STR_SLACK       16   /* the string buffer is written 8 bytes at a time */

struct jdoc {
        struct jval *v;
        size_t n;
        int depth;
        char strings[]; /* unescaped strings, each NUL-terminated */
};

struct key;

struct parser {
        const unsigned char *start, *end;
        char *out; /* next free byte of the string buffer */
        struct jval *v;
        size_t n, cap;
        unsigned flags;
        struct jdoc_error *err;
        /* streaming (jdoc_parse_stream()): the array root[stream_key] */
        const char *stream_key;
        jdoc_element_fn stream_fn;
        void *stream_ctx;
        size_t stream_top; /* its node, or SIZE_MAX */
        char *stream_out;  /* the string buffer where its elements start */
        struct key *keys;  /* scratch for duplicate checks of large objects */
        size_t keys_cap;
};

static int fail(struct parser *ps, const unsigned char *at, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct parser *ps, const unsigned char *at, int rc, const char *fmt, ...)
{
        struct jdoc_error *e = ps->err;
        va_list ap;

        if (!e)
                return rc;
        e->offset = (size_t)(at - ps->start);
        e->line = 1;
        e->column = 1;
        for (const unsigned char *c = ps->start; c < at; c++) {
                if (*c == '\n') {
                        e->line++;
                        e->column = 1;
                } else
                        e->column++;
        }
        va_start(ap, fmt);
        vsnprintf(e->text, sizeof(e->text), fmt, ap);
        va_end(ap);
        return rc;
}

static inline size_t push(struct parser *ps, enum jtype t)
{
        if (ps->n == ps->cap) {
                ps->cap *= 2;
                ps->v = xrealloc(ps->v, ps->cap * sizeof(*ps->v));
        }
        struct jval *v = &ps->v[ps->n];
        v->tn = (uint32_t)t;
        v->skip = 1;
        v->u.i = 0;
        return ps->n++;
}

static inline const unsigned char *skip_ws(const unsigned char *p, const unsigned char *end)
{
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
                p++;
        return p;
}

/* ---- strings ---- */

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* The high bit set in the lowest byte of x that is '"', '\\', a control
 * character or not ASCII (bytes above it may be flagged wrongly). */
static inline uint64_t special_bytes(uint64_t x)
{
        uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
        return (((q - ONES) & ~q) | ((b - ONES) & ~b) | ((x - ONES * 0x20) & ~x) | x) & HIGHS;
}

static int hex4(const unsigned char *p, unsigned *ret)
{
        unsigned v = 0;
        for (int i = 0; i < 4; i++) {
                unsigned c = p[i], d;
                if (c >= '0' && c <= '9')
                        d = c - '0';
                else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
                        d = (c | 0x20) - 'a' + 10;
                else
                        return -1;
                v = v << 4 | d;
        }
        *ret = v;
        return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
        if (cp < 0x80)
                *o++ = (char)cp;
        else if (cp < 0x800) {
                *o++ = (char)(0xc0 | cp >> 6);
                *o++ = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
                *o++ = (char)(0xe0 | cp >> 12);
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
                *o++ = (char)(0x80 | (cp & 0x3f));
        } else {
                *o++ = (char)(0xf0 | cp >> 18);
                *o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
                *o++ = (char)(0x80 | (cp & 0x3f));
        }
        return o;
}

/* Length of the well-formed UTF-8 sequence at p (no overlong forms, no
 * surrogates, at most U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
        unsigned c = p[0], cp;
        size_t n;

        if (c >= 0xc2 && c <= 0xdf) {
                n = 2;
                cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                n = 3;
                cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                n = 4;
                cp = c & 0x07;
        } else
                return 0;
        if ((size_t)(end - p) < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

/* p is just past the opening quote. Unescapes into ps->out and fills node. */
static int parse_string(struct parser *ps, const unsigned char **pp, struct jval *node)
{
        const unsigned char *p = *pp, *end = ps->end;
        char *o = ps->out, *s = o;

        for (;;) {
                while (end - p >= 8) {
                        uint64_t x;
                        memcpy(&x, p, 8);
                        uint64_t m = special_bytes(x);
                        memcpy(o, &x, 8); /* the buffer has STR_SLACK bytes to spare */
                        if (m) {
                                unsigned k = (unsigned)__builtin_ctzll(m) / 8;
                                p += k;
                                o += k;
                                break;
                        }
                        p += 8;
                        o += 8;
                }
                while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
                        *o++ = (char)*p++;
                if (p == end)
                        return fail(ps, p, -EINVAL, "premature end of input in a string");
                unsigned c = *p;
                if (c == '"') {
                        p++;
                        break;
                }
                if (c < 0x20)
                        return fail(ps, p, -EINVAL, "control character 0x%x in a string", c);
                if (c >= 0x80) {
                        size_t n = utf8_seq(p, end);
                        if (!n)
                                return fail(ps, p, -EINVAL, "invalid UTF-8 byte 0x%02x", c);
                        memcpy(o, p, n);
                        o += n;
                        p += n;
                        continue;
                }
                /* a backslash */
                if (end - p < 2)
                        return fail(ps, p, -EINVAL, "premature end of input in a string");
                switch (p[1]) {
                case '"':
                case '\\':
                case '/':
                        *o++ = (char)p[1];
                        break;
                case 'b':
                        *o++ = '\b';
                        break;
                case 'f':
                        *o++ = '\f';
                        break;
                case 'n':
                        *o++ = '\n';
                        break;
                case 'r':
                        *o++ = '\r';
                        break;
                case 't':
                        *o++ = '\t';
                        break;
                case 'u': {
                        unsigned cp, lo;
                        if (end - p < 6 || hex4(p + 2, &cp) < 0)
                                return fail(ps, p, -EINVAL, "invalid \\u escape");
                        if (cp >= 0xdc00 && cp <= 0xdfff)
                                return fail(ps, p, -EINVAL, "lone low surrogate \\u%04X", cp);
                        if (cp >= 0xd800 && cp <= 0xdbff) {
                                if (end - p < 12 || p[6] != '\\' || p[7] != 'u')
                                        return fail(ps, p, -EINVAL,
                                                    "high surrogate \\u%04X without its low half",
                                                    cp);
                                if (hex4(p + 8, &lo) < 0)
                                        return fail(ps, p + 6, -EINVAL, "invalid \\u escape");
                                if (lo < 0xdc00 || lo > 0xdfff)
                                        return fail(ps, p, -EINVAL,
                                                    "invalid surrogate pair \\u%04X\\u%04X", cp,
                                                    lo);
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                p += 6;
                        } else if (cp == 0 && !(ps->flags & JDOC_ALLOW_NUL))
                                return fail(ps, p, -EINVAL, "\\u0000 is not allowed in a string");
                        o = put_utf8(o, cp);
                        p += 4;
                        break;
                }
                default:
                        return fail(ps, p, -EINVAL, "invalid escape \\%c",
                                    p[1] >= 0x20 && p[1] < 0x7f ? p[1] : '?');
                }
                p += 2;
        }
        *o++ = '\0';
        size_t len = (size_t)(o - s) - 1;
        node->tn = (uint32_t)JT_STRING | (uint32_t)(len << 3);
        node->u.s = s;
        ps->out = o;
        *pp = p;
        return 0;
}

/* ---- numbers ---- */

static inline bool is_digit(unsigned c)
{
        return c - '0' < 10;
}

static int parse_number(struct parser *ps, const unsigned char **pp, struct jval *node)
{
        const unsigned char *p = *pp, *st = p, *end = ps->end;
        bool neg = false, real = false;

        if (*p == '-') {
                neg = true;
                p++;
        }
        if (p == end || !is_digit(*p))
                return fail(ps, st, -EINVAL, "invalid number");
        if (*p == '0')
                p++;
        else
                while (p < end && is_digit(*p))
                        p++;
        if (p < end && *p == '.') {
                p++;
                if (p == end || !is_digit(*p))
                        return fail(ps, st, -EINVAL, "invalid number");
                while (p < end && is_digit(*p))
                        p++;
                real = true;
        }
        if (p < end && (*p == 'e' || *p == 'E')) {
                p++;
                if (p < end && (*p == '+' || *p == '-'))
                        p++;
                if (p == end || !is_digit(*p))
                        return fail(ps, st, -EINVAL, "invalid number");
                while (p < end && is_digit(*p))
                        p++;
                real = true;
        }
        if (!real) {
                /* As strtoll: the magnitude of LLONG_MIN is one more than LLONG_MAX. */
                unsigned long long u = 0, lim = neg ? (unsigned long long)LLONG_MAX + 1
                                                    : (unsigned long long)LLONG_MAX;
                for (const unsigned char *d = st + neg; d < p; d++) {
                        unsigned dig = *d - '0';
                        if (u > (lim - dig) / 10)
                                return fail(ps, st, -EINVAL, "too big %sinteger",
                                            neg ? "negative " : "");
                        u = u * 10 + dig;
                }
                node->tn = JT_INT;
                node->u.i = neg ? (long long)(0ULL - u) : (long long)u;
        } else {
                char tmp[NUMBER_TEXT_MAX], *heap = NULL, *txt = tmp;
                size_t n = (size_t)(p - st);
                if (n >= sizeof(tmp))
                        txt = heap = xmalloc(n + 1);
                memcpy(txt, st, n);
                txt[n] = '\0';
                double d = strtod(txt, NULL);
                free(heap);
                if (isinf(d))
                        return fail(ps, st, -EINVAL, "real number overflow");
                node->tn = JT_REAL;
                node->u.d = d;
        }
        *pp = p;
        return 0;
}

/* ---- duplicate keys ---- */

struct key {
        const char *s;
        size_t len;
};

static int key_cmp(const void *pa, const void *pb)
{
        const struct key *a = pa, *b = pb;
        if (a->len != b->len)
                return a->len < b->len ? -1 : 1;
        return memcmp(a->s, b->s, a->len);
}

/* An object just closed at index top: refuse a key present twice. Returns
 * the offending key or NULL. */
static const char *duplicate_key(struct parser *ps, size_t top)
{
        const struct jval *obj = &ps->v[top];
        size_t n = jv_len(obj);
        const struct jval *k = obj + 1;

        if (n < 2)
                return NULL;
        if (n <= DUP_SCAN_MAX) {
                const struct jval *keys[DUP_SCAN_MAX];
                for (size_t i = 0; i < n; i++, k = jv_next(k + 1)) {
                        keys[i] = k;
                        for (size_t j = 0; j < i; j++)
                                if (keys[j]->tn == k->tn &&
                                    memcmp(keys[j]->u.s, k->u.s, jv_len(k)) == 0)
                                        return k->u.s;
                }
                return NULL;
        }
        if (ps->keys_cap < n) {
                ps->keys_cap = n;
                ps->keys = xrealloc(ps->keys, n * sizeof(*ps->keys));
        }
        for (size_t i = 0; i < n; i++, k = jv_next(k + 1))
                ps->keys[i] = (struct key){k->u.s, jv_len(k)};
        qsort(ps->keys, n, sizeof(*ps->keys), key_cmp);
        for (size_t i = 1; i < n; i++)
                if (key_cmp(&ps->keys[i - 1], &ps->keys[i]) == 0)
                        return ps->keys[i].s;
        return NULL;
}

/* ---- the document ---- */

/* true, false or null at *p: pushed and consumed, or false. */
static inline bool literal(struct parser *ps, const unsigned char **p, const unsigned char *end,
                           const char *word, enum jtype t)
{
        size_t n = strlen(word);
        if ((size_t)(end - *p) < n || memcmp(*p, word, n) != 0)
                return false;
        push(ps, t);
        *p += n;
        return true;
}

static int parse(struct parser *ps, int max_depth, int *ret_depth)
{
        const unsigned char *p = ps->start, *end = ps->end;
        size_t stack[JDOC_DEPTH_MAX];
        int depth = 0, deepest = 0;
        size_t top = 0;
        int r;

value:
        p = skip_ws(p, end);
        if (p == end)
                return fail(ps, p, -EINVAL, "premature end of input, a value is expected");
        switch (*p) {
        case '{':
        case '[': {
                bool obj = *p == '{';
                if (depth >= max_depth)
                        return fail(ps, p, -E2BIG, "nested more than %d levels deep", max_depth);
                top = push(ps, obj ? JT_OBJECT : JT_ARRAY);
                stack[depth++] = top;
                /* The streamed array: a member of the root object under stream_key
                 * (its key node is the one just before it). */
                if (!obj && depth == 2 && ps->stream_key && jv_type(&ps->v[0]) == JT_OBJECT &&
                    ps->stream_top == SIZE_MAX && strcmp(ps->v[top - 1].u.s, ps->stream_key) == 0) {
                        ps->stream_top = top;
                        ps->stream_out = ps->out;
                }
                deepest = MAX(deepest, depth);
                p = skip_ws(p + 1, end);
                if (p < end && *p == (obj ? '}' : ']')) {
                        p++;
                        depth--;
                        goto after;
                }
                if (obj)
                        goto key;
                goto value;
        }
        case '"': {
                size_t i = push(ps, JT_STRING);
                p++;
                if ((r = parse_string(ps, &p, &ps->v[i])) < 0)
                        return r;
                goto after;
        }
        case 't':
                if (!literal(ps, &p, end, "true", JT_TRUE))
                        goto bad;
                goto after;
        case 'f':
                if (!literal(ps, &p, end, "false", JT_FALSE))
                        goto bad;
                goto after;
        case 'n':
                if (!literal(ps, &p, end, "null", JT_NULL))
                        goto bad;
                goto after;
        default:
                if (*p == '-' || is_digit(*p)) {
                        size_t i = push(ps, JT_INT);
                        if ((r = parse_number(ps, &p, &ps->v[i])) < 0)
                                return r;
                        goto after;
                }
                goto bad;
        }

key:
        /* p is at the first non-blank byte after '{' or ','. */
        if (p == end || *p != '"')
                return fail(ps, p, -EINVAL, "a string (an object key) is expected");
        {
                size_t i = push(ps, JT_STRING);
                p++;
                if ((r = parse_string(ps, &p, &ps->v[i])) < 0)
                        return r;
        }
        p = skip_ws(p, end);
        if (p == end || *p != ':')
                return fail(ps, p, -EINVAL, "':' is expected after an object key");
        p++;
        goto value;

after:
        /* A value is complete; it belongs to stack[depth - 1], if any. */
        if (depth == 0) {
                p = skip_ws(p, end);
                if (p != end)
                        return fail(ps, p, -EINVAL, "end of input expected after the value");
                *ret_depth = deepest;
                return 0;
        }
        top = stack[depth - 1];
        ps->v[top].tn += 1u << 3;
        if (top == ps->stream_top) {
                /* Hand the element over, then drop its nodes and strings. */
                if ((r = ps->stream_fn(ps->stream_ctx, &ps->v[top + 1], jv_len(&ps->v[top]) - 1)) <
                    0)
                        return fail(ps, p, r, "the element was refused");
                ps->n = top + 1;
                ps->out = ps->stream_out;
        }
        p = skip_ws(p, end);
        if (p == end)
                return fail(ps, p, -EINVAL, "premature end of input, ',' or '%c' is expected",
                            jv_type(&ps->v[top]) == JT_OBJECT ? '}' : ']');
        if (*p == ',') {
                p = skip_ws(p + 1, end);
                if (jv_type(&ps->v[top]) == JT_OBJECT)
                        goto key;
                goto value;
        }
        if (*p == (jv_type(&ps->v[top]) == JT_OBJECT ? '}' : ']')) {
                ps->v[top].skip = (uint32_t)(ps->n - top);
                if (jv_type(&ps->v[top]) == JT_OBJECT) {
                        const char *dup = duplicate_key(ps, top);
                        if (dup)
                                return fail(ps, p, -EINVAL, "duplicate object key \"%.40s\"", dup);
                }
                p++;
                depth--;
                goto after;
        }
        return fail(ps, p, -EINVAL, "',' or '%c' is expected",
                    jv_type(&ps->v[top]) == JT_OBJECT ? '}' : ']');

bad:
        return fail(ps, p, -EINVAL, "invalid token");
}

int jdoc_parse_stream(const char *buf, size_t len, unsigned flags, int max_depth, const char *key,
                      jdoc_element_fn fn, void *ctx, struct jdoc **ret, struct jdoc_error *err)
{
        struct parser ps = {
            .start = (const unsigned char *)buf,
            .end = (const unsigned char *)buf + len,
            .flags = flags,
            .err = err,
            .stream_key = fn ? key : NULL,
            .stream_fn = fn,
            .stream_ctx = ctx,
            .stream_top = SIZE_MAX,
        };
        int depth = 0, r;

        if (len > JDOC_SIZE_MAX)
                return fail(&ps, ps.start, -E2BIG, "the text is %zu bytes, at most %u are allowed",
                            len, JDOC_SIZE_MAX);
        if (max_depth > JDOC_DEPTH_MAX)
                max_depth = JDOC_DEPTH_MAX;
        struct jdoc *d = xmalloc(sizeof(*d) + len + STR_SLACK);
        ps.out = d->strings;
        ps.cap = fn ? STREAM_NODES : MAX(len / BYTES_PER_NODE, (size_t)NODES_MIN);
        ps.v = xmalloc(ps.cap * sizeof(*ps.v));
        r = parse(&ps, max_depth, &depth);
        free(ps.keys);
        if (r < 0) {
                free(ps.v);
                free(d);
                return r;
        }
        d->v = ps.v;
        d->n = ps.n;
        d->depth = depth;
        *ret = d;
        return 0;
}

int jdoc_parse(const char *buf, size_t len, unsigned flags, int max_depth, struct jdoc **ret,
               struct jdoc_error *err)
{
        return jdoc_parse_stream(buf, len, flags, max_depth, NULL, NULL, NULL, ret, err);
}

struct jdoc *jdoc_free(struct jdoc *d)
{
        if (d) {
                free(d->v);
                free(d);
        }
        return NULL;
}

const struct jval *jdoc_root(const struct jdoc *d)
{
        return d->v;
}

int jdoc_depth(const struct jdoc *d)
{
        return d->depth;
}

size_t jdoc_nodes(const struct jdoc *d)
{
        return d->n;
}

/* ---- lookups ---- */

const struct jval *jv_get(const struct jval *obj, const char *key)
{
        const struct jval *k, *v;
        size_t i, n;

        if (!jv_is_object(obj))
                return NULL;
        n = strlen(key);
        jv_object_foreach(obj, i, k, v)
        {
                if (jv_len(k) == n && memcmp(k->u.s, key, n) == 0)
                        return v;
        }
        return NULL;
}

const struct jval *jv_iget(const struct jval *obj, const char *key)
{
        const struct jval *k, *v, *folded = NULL;
        size_t i, n;

        if (!jv_is_object(obj))
                return NULL;
        n = strlen(key);
        jv_object_foreach(obj, i, k, v)
        {
                size_t kl = jv_len(k);
                if (kl == n && memcmp(k->u.s, key, n) == 0)
                        return v;
                /* ignoring case, compared as C strings (as strcasecmp) */
                if (!folded && kl >= n && k->u.s[n] == '\0' && strncasecmp(k->u.s, key, n) == 0)
                        folded = v;
        }
        return folded;
}

json_t *jv_to_json(const struct jval *v)
{
        json_t *j = NULL;
        const struct jval *k, *e;
        size_t i;

        switch (jv_type(v)) {
        case JT_NULL:
                j = json_null();
                break;
        case JT_FALSE:
                j = json_false();
                break;
        case JT_TRUE:
                j = json_true();
                break;
        case JT_INT:
                j = json_integer(v->u.i);
                break;
        case JT_REAL:
                j = json_real(v->u.d);
                break;
        case JT_STRING:
                j = json_stringn_nocheck(v->u.s, jv_len(v));
                break;
        case JT_ARRAY:
                j = json_array();
                jv_array_foreach(v, i, e)
                {
                        if (!j || json_array_append_new(j, jv_to_json(e)) < 0)
                                abort();
                }
                break;
        case JT_OBJECT:
                j = json_object();
                jv_object_foreach(v, i, k, e)
                {
                        if (!j ||
                            json_object_setn_new_nocheck(j, k->u.s, jv_len(k), jv_to_json(e)) < 0)
                                abort();
                }
                break;
        }
        if (!j)
                abort();
        return j;
}
