/* Semantic versions and Masterminds-compatible constraints. See semver.h
 * and docs/versions.md. Written from the semver 2.0.0 grammar and the
 * documented behaviour of Masterminds/semver v3; no code is shared. */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include "semver/semver.h"

#define QUOTE_MAX 64 /* how much of a bad input a message repeats */

/* "text" for messages: printable ASCII kept, the rest as \xNN, cut at
 * QUOTE_MAX characters with "..." so one bad input cannot flood a log. */
static const char *quote(const char *s, size_t len, char *buf, size_t size)
{
        size_t o = 0;

        buf[o++] = '"';
        for (size_t i = 0; i < len && o + 8 < size; i++) {
                unsigned char c = (unsigned char)s[i];
                if (i >= QUOTE_MAX) {
                        memcpy(buf + o, "...", 3);
                        o += 3;
                        break;
                }
                if (c == '"' || c == '\\') {
                        buf[o++] = '\\';
                        buf[o++] = (char)c;
                } else if (c >= 0x20 && c < 0x7f)
                        buf[o++] = (char)c;
                else
                        o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
        }
        buf[o++] = '"';
        buf[o] = '\0';
        return buf;
}

#define QBUF (QUOTE_MAX * 4 + 16)

static bool is_ident_char(char c)
{
        return isascii((unsigned char)c) && (isalnum((unsigned char)c) || c == '-');
}

/* Parse one numeric version part at s[*i]. */
static int parse_number(const char *s, size_t len, size_t *i, uint64_t *ret, const char **why,
                        char *whybuf, size_t whysize)
{
        size_t start = *i;
        uint64_t v = 0;
        char q[QBUF];

        while (*i < len && isdigit((unsigned char)s[*i])) {
                unsigned d = (unsigned)(s[*i] - '0');
                if (v > (UINT64_MAX - d) / 10) {
                        while (*i < len && isdigit((unsigned char)s[*i]))
                                (*i)++;
                        snprintf(whybuf, whysize, "the number %s is too large",
                                 quote(s + start, *i - start, q, sizeof(q)));
                        *why = whybuf;
                        return -ERANGE;
                }
                v = v * 10 + d;
                (*i)++;
        }
        if (*i == start)
                return -ENOENT;
        if (s[start] == '0' && *i - start > 1) {
                snprintf(whybuf, whysize, "the number %s has a leading zero",
                         quote(s + start, *i - start, q, sizeof(q)));
                *why = whybuf;
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

/* Dot-separated identifiers of [0-9A-Za-z-]. Prerelease numeric
 * identifiers may not have leading zeros; build identifiers may. */
static int parse_idents(const char *s, size_t len, size_t *i, bool prerelease, char *out,
                        size_t out_size, const char **why, char *whybuf, size_t whysize)
{
        const char *what = prerelease ? "prerelease" : "build metadata";
        size_t start = *i;
        char q[QBUF];

        for (;;) {
                size_t id = *i;
                bool numeric = true;
                while (*i < len && is_ident_char(s[*i])) {
                        if (!isdigit((unsigned char)s[*i]))
                                numeric = false;
                        (*i)++;
                }
                if (*i == id) {
                        snprintf(whybuf, whysize, "the %s has an empty identifier", what);
                        *why = whybuf;
                        return -EINVAL;
                }
                if (prerelease && numeric && s[id] == '0' && *i - id > 1) {
                        snprintf(whybuf, whysize, "the prerelease identifier %s has a leading zero",
                                 quote(s + id, *i - id, q, sizeof(q)));
                        *why = whybuf;
                        return -EINVAL;
                }
                if (*i < len && s[*i] == '.') {
                        (*i)++;
                        continue;
                }
                break;
        }
        if (*i - start >= out_size) {
                snprintf(whybuf, whysize, "the %s is longer than %zu characters", what,
                         out_size - 1);
                *why = whybuf;
                return -EINVAL;
        }
        memcpy(out, s + start, *i - start);
        out[*i - start] = '\0';
        return 0;
}

int semver_parse(const char *s, unsigned flags, struct semver *ret, struct dbx_error *err)
{
        static const char *const part[] = {"major", "minor", "patch"};
        struct semver v = {0};
        uint64_t *num[] = {&v.major, &v.minor, &v.patch};
        char q[QBUF], whybuf[DBX_ERROR_MSG_MAX / 2];
        const char *why = NULL;
        size_t len = s ? strlen(s) : 0, i = 0;
        int r;

        if (len == 0)
                return dbx_error_set(err, -EINVAL, "",
                                     "an empty string is not a semantic version "
                                     "(MAJOR.MINOR.PATCH, e.g. 1.2.0)");
        if (len > SEMVER_MAX_LEN) {
                snprintf(whybuf, sizeof(whybuf), "it is longer than %d characters", SEMVER_MAX_LEN);
                why = whybuf;
                goto fail;
        }
        if (s[0] == 'v' || s[0] == 'V') {
                if (!(flags & SEMVER_ALLOW_V) || s[0] == 'V') {
                        why = "a leading \"v\" is not part of a version";
                        goto fail;
                }
                i++;
        }
        for (size_t k = 0; k < 3; k++) {
                if (k > 0) {
                        if (i >= len || s[i] != '.') {
                                if (flags & SEMVER_ALLOW_SHORT)
                                        break;
                                snprintf(whybuf, sizeof(whybuf), "it has no %s number", part[k]);
                                why = whybuf;
                                goto fail;
                        }
                        i++;
                }
                r = parse_number(s, len, &i, num[k], &why, whybuf, sizeof(whybuf));
                if (r == -ENOENT) {
                        snprintf(whybuf, sizeof(whybuf), "the %s part is not a number", part[k]);
                        why = whybuf;
                }
                if (r < 0)
                        goto fail;
        }
        if (i < len && s[i] == '-') {
                i++;
                if (parse_idents(s, len, &i, true, v.pre, sizeof(v.pre), &why, whybuf,
                                 sizeof(whybuf)) < 0)
                        goto fail;
        }
        if (i < len && s[i] == '+') {
                i++;
                if (parse_idents(s, len, &i, false, v.build, sizeof(v.build), &why, whybuf,
                                 sizeof(whybuf)) < 0)
                        goto fail;
        }
        if (i < len) {
                char q2[QBUF];
                if (s[i] == '.')
                        why = "it has more than three numbers";
                else {
                        snprintf(whybuf, sizeof(whybuf), "unexpected %s",
                                 quote(s + i, len - i, q2, sizeof(q2)));
                        why = whybuf;
                }
                goto fail;
        }
        *ret = v;
        return 0;
fail:
        return dbx_error_set(err, -EINVAL, "",
                             "%s is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.0): %s",
                             quote(s, len, q, sizeof(q)), why);
}

bool semver_valid(const char *s, unsigned flags)
{
        struct semver v;
        return semver_parse(s, flags, &v, NULL) == 0;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
        return a < b ? -1 : a > b ? 1 : 0;
}

static bool all_digits(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!isdigit((unsigned char)s[i]))
                        return false;
        return n > 0;
}

/* Prerelease precedence, semver 2.0.0 §11.4: identifiers compared left to
 * right; numeric ones numerically and below alphanumeric ones; a longer
 * list wins when all earlier identifiers are equal. */
static int cmp_prerelease(const char *a, const char *b)
{
        for (;;) {
                size_t na = strcspn(a, "."), nb = strcspn(b, ".");
                bool da = all_digits(a, na), db = all_digits(b, nb);
                int c;

                if (da && db) {
                        /* No leading zeros, so a longer number is larger. */
                        c = na != nb ? (na < nb ? -1 : 1) : memcmp(a, b, na);
                } else if (da != db)
                        c = da ? -1 : 1;
                else {
                        c = memcmp(a, b, MIN(na, nb));
                        if (c == 0)
                                c = na < nb ? -1 : na > nb ? 1 : 0;
                }
                if (c != 0)
                        return c < 0 ? -1 : 1;
                a += na;
                b += nb;
                if (!*a && !*b)
                        return 0;
                if (!*a)
                        return -1;
                if (!*b)
                        return 1;
                a++;
                b++;
        }
}

int semver_cmp(const struct semver *a, const struct semver *b)
{
        int c;

        if ((c = cmp_u64(a->major, b->major)) != 0)
                return c;
        if ((c = cmp_u64(a->minor, b->minor)) != 0)
                return c;
        if ((c = cmp_u64(a->patch, b->patch)) != 0)
                return c;
        if (!a->pre[0] || !b->pre[0])
                return !a->pre[0] && !b->pre[0] ? 0 : !a->pre[0] ? 1 : -1;
        return cmp_prerelease(a->pre, b->pre);
}

int semver_format(const struct semver *v, char *buf, size_t size)
{
        return snprintf(buf, size, "%" PRIu64 ".%" PRIu64 ".%" PRIu64 "%s%s%s%s", v->major,
                        v->minor, v->patch, v->pre[0] ? "-" : "", v->pre, v->build[0] ? "+" : "",
                        v->build);
}

/* ---- constraints ---- */

enum op { OP_EQ, OP_NE, OP_GT, OP_LT, OP_GE, OP_LE, OP_TILDE, OP_CARET };

struct term {
        enum op op;
        struct semver con;
        bool dirty;       /* some part was a wildcard or missing */
        bool minor_dirty; /* "1", "1.x": minor (and patch) are wildcards */
        bool patch_dirty; /* "1.2", "1.2.x": patch is a wildcard */
};

struct group {
        size_t n;
        struct term *terms;
        bool has_pre; /* some term names a prerelease: prereleases may match */
};

struct semver_constraint {
        char *text;
        size_t n;
        struct group *groups;
};

struct cparser {
        const char *s;  /* whole constraint, for messages */
        size_t len;     /* of s */
        size_t n_terms; /* so far, all groups */
        struct dbx_error *err;
};

static bool is_ws(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static size_t skip_ws(const char *s, size_t i, size_t end)
{
        while (i < end && is_ws(s[i]))
                i++;
        return i;
}

static int cfail(struct cparser *p, const char *fmt, ...) _printf_(2, 3);
static int cfail(struct cparser *p, const char *fmt, ...)
{
        char q[QBUF], why[DBX_ERROR_MSG_MAX / 2];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        return dbx_error_set(p->err, -EINVAL, "", "%s is not a version constraint: %s",
                             quote(p->s, p->len, q, sizeof(q)), why);
}

static bool is_wild(char c)
{
        return c == 'x' || c == 'X' || c == '*';
}

/* One constraint version: [v]N[.N[.N]][-pre][+build], where each N may be
 * a wildcard (x, X, *) and missing parts count as wildcards. */
static int parse_cversion(struct cparser *p, size_t *i, size_t end, struct term *t)
{
        uint64_t *num[] = {&t->con.major, &t->con.minor, &t->con.patch};
        char whybuf[DBX_ERROR_MSG_MAX / 2], q[QBUF];
        const char *why = NULL;
        int wild_at = -1; /* first part that is a wildcard or missing */
        size_t start = *i;

        if (*i < end && p->s[*i] == 'v')
                (*i)++;
        for (int k = 0; k < 3; k++) {
                if (k > 0) {
                        if (*i >= end || p->s[*i] != '.') {
                                if (wild_at < 0)
                                        wild_at = k;
                                break;
                        }
                        (*i)++;
                }
                if (*i < end && is_wild(p->s[*i])) {
                        (*i)++;
                        if (wild_at < 0)
                                wild_at = k;
                        *num[k] = 0;
                        continue;
                }
                int r = parse_number(p->s, end, i, num[k], &why, whybuf, sizeof(whybuf));
                if (r == -ENOENT) {
                        size_t e = *i;
                        while (e < end && !is_ws(p->s[e]) && p->s[e] != ',')
                                e++;
                        if (e == *i)
                                return cfail(p, "a version is missing at position %zu", *i + 1);
                        return cfail(p, "%s is not a version (e.g. 1.2.3, 1.2, 1.x)",
                                     quote(p->s + start, e - start, q, sizeof(q)));
                }
                if (r < 0)
                        return cfail(p, "%s", why);
                if (wild_at >= 0)
                        *num[k] = 0; /* "1.x.3": parts after a wildcard do not count */
        }
        if (*i < end && p->s[*i] == '-') {
                (*i)++;
                if (parse_idents(p->s, end, i, true, t->con.pre, sizeof(t->con.pre), &why, whybuf,
                                 sizeof(whybuf)) < 0)
                        return cfail(p, "%s", why);
        }
        if (*i < end && p->s[*i] == '+') {
                (*i)++;
                if (parse_idents(p->s, end, i, false, t->con.build, sizeof(t->con.build), &why,
                                 whybuf, sizeof(whybuf)) < 0)
                        return cfail(p, "%s", why);
        }
        if (*i - start > SEMVER_MAX_LEN)
                return cfail(p, "a version is longer than %d characters", SEMVER_MAX_LEN);
        if (*i < end && !is_ws(p->s[*i]) && p->s[*i] != ',' && !strchr("<>=!~^", p->s[*i])) {
                size_t e = *i;
                while (e < end && !is_ws(p->s[e]) && p->s[e] != ',')
                        e++;
                if (p->s[*i] == '.')
                        return cfail(p, "%s has more than three numbers",
                                     quote(p->s + start, e - start, q, sizeof(q)));
                return cfail(p, "%s is not a version (e.g. 1.2.3, 1.2, 1.x)",
                             quote(p->s + start, e - start, q, sizeof(q)));
        }
        t->dirty = wild_at >= 0;
        t->minor_dirty = wild_at == 1;
        t->patch_dirty = wild_at == 2;
        if (wild_at == 0) {
                /* "*": Masterminds turns it into 0.0.0 keeping the prerelease. */
                t->con.major = t->con.minor = t->con.patch = 0;
        }
        return 0;
}

static bool parse_op(const char *s, size_t *i, size_t end, enum op *ret)
{
        static const struct {
                const char *text;
                enum op op;
        } ops[] = {
            /* two-character operators first: longest match wins */
            {"!=", OP_NE}, {">=", OP_GE},    {"=>", OP_GE},   {"<=", OP_LE},
            {"=<", OP_LE}, {"~>", OP_TILDE}, {"=", OP_EQ},    {">", OP_GT},
            {"<", OP_LT},  {"~", OP_TILDE},  {"^", OP_CARET},
        };
        for (size_t k = 0; k < ARRAY_SIZE(ops); k++) {
                size_t n = strlen(ops[k].text);
                if (*i + n <= end && memcmp(s + *i, ops[k].text, n) == 0) {
                        *i += n;
                        *ret = ops[k].op;
                        return true;
                }
        }
        *ret = OP_EQ;
        return false;
}

static int add_term(struct cparser *p, struct group *g, const struct term *t)
{
        if (++p->n_terms > SEMVER_CONSTRAINT_MAX_TERMS)
                return dbx_error_set(p->err, -E2BIG, "",
                                     "a version constraint has at most %d comparisons",
                                     SEMVER_CONSTRAINT_MAX_TERMS);
        g->terms = xrealloc(g->terms, (g->n + 1) * sizeof(*g->terms));
        g->terms[g->n++] = *t;
        if (t->con.pre[0])
                g->has_pre = true;
        return 0;
}

/* One `||` alternative, s[start, end): comparisons separated by spaces
 * and/or one comma; "A - B" (spaces around the hyphen) is a range. */
static int parse_group(struct cparser *p, size_t start, size_t end, struct group *g)
{
        size_t i = skip_ws(p->s, start, end);
        char q[QBUF];
        int r;

        if (i == end)
                return cfail(p, end - start == p->len ? "it is empty (use \"*\" for any version)"
                                                      : "an alternative around \"||\" is empty");
        for (;;) {
                struct term t = {0};
                size_t op_at = i;
                bool has_op = parse_op(p->s, &i, end, &t.op);

                i = skip_ws(p->s, i, end);
                if (i >= end || p->s[i] == ',') {
                        if (!has_op)
                                return cfail(p, "a version is missing at position %zu", op_at + 1);
                        return cfail(p, "%s has no version after it",
                                     quote(p->s + op_at, i - op_at, q, sizeof(q)));
                }
                if ((r = parse_cversion(p, &i, end, &t)) < 0)
                        return r;

                /* Hyphen range "A - B" => ">= A, <= B". */
                size_t j = skip_ws(p->s, i, end);
                if (j > i && j < end && p->s[j] == '-' && j + 1 < end && is_ws(p->s[j + 1])) {
                        struct term hi = {.op = OP_LE};
                        if (has_op)
                                return cfail(p, "a hyphen range \"A - B\" takes two plain "
                                                "versions, without operators");
                        j = skip_ws(p->s, j + 1, end);
                        if (j >= end)
                                return cfail(p, "the hyphen range has no upper version");
                        size_t k = j;
                        enum op dummy;
                        if (parse_op(p->s, &k, end, &dummy))
                                return cfail(p, "a hyphen range \"A - B\" takes two plain "
                                                "versions, without operators");
                        if ((r = parse_cversion(p, &j, end, &hi)) < 0)
                                return r;
                        hi.op = OP_LE;
                        t.op = OP_GE;
                        if ((r = add_term(p, g, &t)) < 0 || (r = add_term(p, g, &hi)) < 0)
                                return r;
                        i = j;
                } else if ((r = add_term(p, g, &t)) < 0)
                        return r;

                /* Separator: whitespace, or a comma with optional whitespace. */
                size_t sep = i;
                i = skip_ws(p->s, i, end);
                if (i == end)
                        return 0;
                if (p->s[i] == ',') {
                        i = skip_ws(p->s, i + 1, end);
                        if (i == end)
                                return cfail(p, "a comparison is missing after the last \",\"");
                        if (p->s[i] == ',')
                                return cfail(p, "two commas in a row");
                        continue;
                }
                if (i == sep)
                        return cfail(p,
                                     "comparisons must be separated by a space or a comma "
                                     "at position %zu",
                                     i + 1);
                if (p->s[i] == '-')
                        return cfail(p, "a hyphen range needs spaces around the \"-\" "
                                        "(e.g. \"1.2 - 1.4.5\")");
        }
}

int semver_constraint_parse(const char *text, struct semver_constraint **ret, struct dbx_error *err)
{
        struct cparser p = {.s = text ? text : "", .err = err};
        struct semver_constraint *c;
        size_t start = 0;
        int r;

        p.len = strlen(p.s);
        if (p.len > SEMVER_CONSTRAINT_MAX_LEN)
                return dbx_error_set(err, -E2BIG, "",
                                     "a version constraint is at most %d characters, this one "
                                     "has %zu",
                                     SEMVER_CONSTRAINT_MAX_LEN, p.len);
        c = xcalloc(1, sizeof(*c));
        for (;;) {
                const char *bar = strstr(p.s + start, "||");
                size_t end = bar ? (size_t)(bar - p.s) : p.len;

                if (c->n == SEMVER_CONSTRAINT_MAX_GROUPS) {
                        r = dbx_error_set(err, -E2BIG, "",
                                          "a version constraint has at most %d alternatives "
                                          "joined by \"||\"",
                                          SEMVER_CONSTRAINT_MAX_GROUPS);
                        goto fail;
                }
                c->groups = xrealloc(c->groups, (c->n + 1) * sizeof(*c->groups));
                c->groups[c->n] = (struct group){0};
                r = parse_group(&p, start, end, &c->groups[c->n]);
                c->n++;
                if (r < 0)
                        goto fail;
                if (!bar)
                        break;
                start = end + 2;
        }
        c->text = xstrdup(p.s);
        *ret = c;
        return 0;
fail:
        semver_constraint_free(c);
        return r;
}

/* The checks below follow Masterminds/semver v3 (constraints.go), including
 * its treatment of wildcards ("dirty" versions). include_pre is true when
 * the `||` group names a prerelease somewhere. */
static bool check_tilde(const struct semver *v, const struct term *t)
{
        const struct semver *c = &t->con;

        if (semver_cmp(v, c) < 0)
                return false;
        /* ~0.0.0 and ~* accept everything at or above 0.0.0. */
        if (c->major == 0 && c->minor == 0 && c->patch == 0 && !t->minor_dirty && !t->patch_dirty)
                return true;
        if (v->major != c->major)
                return false;
        if (v->minor != c->minor && !t->minor_dirty)
                return false;
        return true;
}

static bool check_caret(const struct semver *v, const struct term *t)
{
        const struct semver *c = &t->con;

        if (semver_cmp(v, c) < 0)
                return false;
        /* "^*": Masterminds documents it as "any" but its code accepts only
         * 0.x; we follow the documentation (docs/versions.md). */
        if (t->dirty && !t->minor_dirty && !t->patch_dirty)
                return true;
        if (c->major > 0 || t->minor_dirty)
                return v->major == c->major;
        if (v->major > 0)
                return false;
        if (c->minor > 0 || t->patch_dirty)
                return v->minor == c->minor;
        if (v->minor > 0)
                return false;
        return v->patch == c->patch;
}

static bool check_term(const struct semver *v, const struct term *t, bool include_pre)
{
        const struct semver *c = &t->con;

        if (v->pre[0] && !include_pre)
                return false;
        switch (t->op) {
        case OP_EQ:
                return t->dirty ? check_tilde(v, t) : semver_cmp(v, c) == 0;
        case OP_NE:
                if (t->dirty) {
                        if (c->major != v->major)
                                return true;
                        if (t->minor_dirty)
                                return false;
                        if (c->minor != v->minor)
                                return true;
                        if (t->patch_dirty)
                                return strcmp(v->pre, c->pre) != 0;
                        /* "!=*" falls through and means "!= 0.0.0", as upstream */
                }
                return semver_cmp(v, c) != 0;
        case OP_GT:
                if (!t->dirty)
                        return semver_cmp(v, c) > 0;
                if (v->major != c->major)
                        return v->major > c->major;
                if (t->minor_dirty)
                        return false;
                if (t->patch_dirty)
                        return v->minor > c->minor;
                return semver_cmp(v, c) > 0;
        case OP_LT:
                return semver_cmp(v, c) < 0;
        case OP_GE:
                return semver_cmp(v, c) >= 0;
        case OP_LE:
                if (!t->dirty)
                        return semver_cmp(v, c) <= 0;
                if (v->major > c->major)
                        return false;
                if (v->major == c->major && v->minor > c->minor && !t->minor_dirty)
                        return false;
                return true;
        case OP_TILDE:
                return check_tilde(v, t);
        case OP_CARET:
                return check_caret(v, t);
        }
        return false;
}

bool semver_constraint_match(const struct semver_constraint *c, const struct semver *v)
{
        for (size_t g = 0; g < c->n; g++) {
                const struct group *grp = &c->groups[g];
                bool ok = true;
                for (size_t k = 0; k < grp->n && ok; k++)
                        ok = check_term(v, &grp->terms[k], grp->has_pre);
                if (ok)
                        return true;
        }
        return false;
}

const char *semver_constraint_text(const struct semver_constraint *c)
{
        return c->text;
}

struct semver_constraint *semver_constraint_free(struct semver_constraint *c)
{
        if (!c)
                return NULL;
        for (size_t g = 0; g < c->n; g++)
                free(c->groups[g].terms);
        free(c->groups);
        free(c->text);
        free(c);
        return NULL;
}
