/* Config values: coercion to upstream's stored (string) form, validation
 * against the field declarations, defaults, "needs config", and the
 * config.env file. Rules: docs/pup-format.md, "Config values". */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <strings.h>
#include "manifest/internal.h"

#define NUMBER_TEXT_MAX 400 /* the longest shortest-decimal form of a double */
#define OPTIONS_LISTED  8   /* choices repeated in "is not one of the options" */
#define EMAIL_MAX       254 /* RFC 5321 path limit */
#define STEP_EPSILON    1e-9

static int fail(char *why, size_t size, const char *fmt, ...) _printf_(3, 4);
static int fail(char *why, size_t size, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, size, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* The shortest decimal that reads back as d, without an exponent (Go's
 * strconv.FormatFloat(d, 'f', -1, 64), which upstream uses). */
static void format_number(double d, char *out, size_t size)
{
        char tmp[64], digits[32];
        int prec, exp, nd = 0, o = 0;
        char *e;

        if (d == 0) {
                snprintf(out, size, "0");
                return;
        }
        for (prec = 1; prec <= 17; prec++) {
                snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
                if (strtod(tmp, NULL) == d)
                        break;
        }
        e = strchr(tmp, 'e');
        exp = atoi(e + 1);
        for (char *p = tmp; p < e; p++)
                if (isdigit((unsigned char)*p))
                        digits[nd++] = *p;
        while (nd > 1 && digits[nd - 1] == '0')
                nd--;
        if (d < 0)
                o += snprintf(out + o, size - (size_t)o, "-");
        if (exp >= nd - 1) { /* an integer */
                o += snprintf(out + o, size - (size_t)o, "%.*s", nd, digits);
                for (int k = 0; k < exp - (nd - 1) && (size_t)o + 1 < size; k++)
                        out[o++] = '0';
                out[o] = '\0';
        } else if (exp < 0) {
                o += snprintf(out + o, size - (size_t)o, "0.");
                for (int k = 0; k < -exp - 1 && (size_t)o + 1 < size; k++)
                        out[o++] = '0';
                snprintf(out + o, size - (size_t)o, "%.*s", nd, digits);
        } else
                snprintf(out + o, size - (size_t)o, "%.*s.%.*s", exp + 1, digits, nd - exp - 1,
                         digits + exp + 1);
}

/* A plain decimal number: -12, 0.5, 1e3. Not hex, inf or nan. */
static bool parse_decimal(const char *s, double *ret)
{
        const char *p = s;
        bool digits = false;
        char *end;

        if (*p == '-' || *p == '+')
                p++;
        while (isdigit((unsigned char)*p))
                p++, digits = true;
        if (*p == '.') {
                p++;
                while (isdigit((unsigned char)*p))
                        p++, digits = true;
        }
        if (!digits)
                return false;
        if (*p == 'e' || *p == 'E') {
                p++;
                if (*p == '-' || *p == '+')
                        p++;
                if (!isdigit((unsigned char)*p))
                        return false;
                while (isdigit((unsigned char)*p))
                        p++;
        }
        if (*p)
                return false;
        double d = strtod(s, &end);
        if (*end || !isfinite(d))
                return false;
        *ret = d;
        return true;
}

static bool email_valid(const char *s)
{
        const char *at = strchr(s, '@');
        size_t len = strlen(s);

        if (!at || at == s || strchr(at + 1, '@') || len > EMAIL_MAX)
                return false;
        for (const char *p = s; p < at; p++)
                if (!isascii((unsigned char)*p) ||
                    !(isalnum((unsigned char)*p) || strchr(".!#$%&'*+/=?^_`{|}~-", *p)))
                        return false;
        for (const char *label = at + 1;;) {
                size_t n = strcspn(label, ".");
                if (n == 0 || n > 63 || label[0] == '-' || label[n - 1] == '-')
                        return false;
                for (size_t i = 0; i < n; i++)
                        if (!isascii((unsigned char)label[i]) ||
                            !(isalnum((unsigned char)label[i]) || label[i] == '-'))
                                return false;
                label += n;
                if (!*label)
                        return true;
                label++;
        }
}

static bool date_valid(const char *s)
{
        static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int y, mo, d;

        if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
                return false;
        for (int i = 0; i < 10; i++)
                if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
                        return false;
        y = atoi(s);
        mo = atoi(s + 5);
        d = atoi(s + 8);
        if (y < 1 || mo < 1 || mo > 12 || d < 1)
                return false;
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        return d <= days[mo - 1] + (mo == 2 && leap);
}

static bool color_valid(const char *s)
{
        if (strlen(s) != 7 || s[0] != '#')
                return false;
        for (int i = 1; i < 7; i++)
                if (!isxdigit((unsigned char)s[i]))
                        return false;
        return true;
}

static bool has_control(const char *s, bool multiline)
{
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (multiline && (c == '\n' || c == '\t' || c == '\r'))
                        continue;
                if (c < 0x20 || c == 0x7f)
                        return true;
        }
        return false;
}

static int coerce_number(const struct manifest_field *f, const json_t *v, char **ret, char *why,
                         size_t size)
{
        char r[RENDER_MAX], txt[NUMBER_TEXT_MAX], a[NUMBER_TEXT_MAX], b[NUMBER_TEXT_MAX];
        double d;

        if (json_is_integer(v)) {
                d = (double)json_integer_value(v);
                snprintf(txt, sizeof(txt), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        } else if (json_is_real(v)) {
                d = json_real_value(v);
                format_number(d, txt, sizeof(txt));
        } else if (json_is_string(v)) {
                const char *s = json_string_value(v);
                if (!*s) {
                        *ret = xstrdup("");
                        return 0;
                }
                if (strlen(s) != json_string_length(v) || !parse_decimal(s, &d))
                        return fail(why, size, "%s is not a number", walk_render(v, r, sizeof(r)));
                format_number(d, txt, sizeof(txt));
        } else
                return fail(why, size, "%s is not a number", walk_render(v, r, sizeof(r)));

        if (f->has_min && d < f->min) {
                format_number(f->min, a, sizeof(a));
                return fail(why, size, "%s is below the minimum (%s)", txt, a);
        }
        if (f->has_max && d > f->max) {
                format_number(f->max, a, sizeof(a));
                return fail(why, size, "%s is above the maximum (%s)", txt, a);
        }
        if (f->has_step) {
                double base = f->has_min ? f->min : 0;
                double q = (d - base) / f->step;
                if (fabs(q - nearbyint(q)) > STEP_EPSILON * fmax(1, fabs(q))) {
                        format_number(f->step, a, sizeof(a));
                        format_number(base, b, sizeof(b));
                        return fail(why, size, "%s is not a multiple of the step %s from %s", txt,
                                    a, b);
                }
        }
        *ret = xstrdup(txt);
        return 0;
}

static int coerce_bool(const json_t *v, char **ret, char *why, size_t size)
{
        static const char *const yes[] = {"true", "1", "yes", "on"};
        static const char *const no[] = {"false", "0", "no", "off"};
        char r[RENDER_MAX];

        if (json_is_boolean(v)) {
                *ret = xstrdup(json_is_true(v) ? "true" : "false");
                return 0;
        }
        if (json_is_string(v)) {
                const char *s = json_string_value(v);
                size_t n;
                while (isspace((unsigned char)*s))
                        s++;
                n = strlen(s);
                while (n && isspace((unsigned char)s[n - 1]))
                        n--;
                for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
                        if (n == strlen(yes[i]) && strncasecmp(s, yes[i], n) == 0) {
                                *ret = xstrdup("true");
                                return 0;
                        }
                        if (n == strlen(no[i]) && strncasecmp(s, no[i], n) == 0) {
                                *ret = xstrdup("false");
                                return 0;
                        }
                }
        }
        return fail(why, size, "%s is not a yes/no value (true, false, yes, no, on, off, 1 or 0)",
                    walk_render(v, r, sizeof(r)));
}

static int coerce_text(const struct manifest_field *f, const json_t *v, char **ret, char *why,
                       size_t size)
{
        const char *type = manifest_field_type_name(f->type);
        bool multiline = f->type == MANIFEST_FIELD_TEXTAREA;
        size_t max = multiline ? MANIFEST_TEXT_MAX : MANIFEST_VALUE_MAX;
        char r[RENDER_MAX], txt[NUMBER_TEXT_MAX];
        _cleanup_free_ char *s = NULL;

        if (json_is_string(v)) {
                if (strlen(json_string_value(v)) != json_string_length(v))
                        return fail(why, size, "%s contains a NUL character",
                                    walk_render(v, r, sizeof(r)));
                s = xstrdup(json_string_value(v));
        } else if (json_is_integer(v)) {
                s = xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
        } else if (json_is_real(v)) {
                format_number(json_real_value(v), txt, sizeof(txt));
                s = xstrdup(txt);
        } else if (json_is_boolean(v))
                s = xstrdup(json_is_true(v) ? "true" : "false");
        else
                return fail(why, size, "%s is not a value for a %s field",
                            walk_render(v, r, sizeof(r)), type);

        size_t chars = 0;
        for (const char *p = s; *p; p++)
                if (((unsigned char)*p & 0xc0) != 0x80)
                        chars++;
        if (chars > max)
                return fail(why, size, "a value of %zu characters is too long (at most %zu)", chars,
                            max);
        if (has_control(s, multiline))
                return fail(why, size, "%s contains a %s", walk_render(v, r, sizeof(r)),
                            multiline ? "control character"
                                      : "line break or control character (only textarea fields "
                                        "take several lines)");
        if (*s) {
                switch (f->type) {
                case MANIFEST_FIELD_EMAIL:
                        if (!email_valid(s))
                                return fail(why, size,
                                            "%s is not an email address (like name@example.com)",
                                            walk_render(v, r, sizeof(r)));
                        break;
                case MANIFEST_FIELD_DATE:
                        if (!date_valid(s))
                                return fail(why, size, "%s is not a date (YYYY-MM-DD)",
                                            walk_render(v, r, sizeof(r)));
                        break;
                case MANIFEST_FIELD_COLOR:
                        if (!color_valid(s))
                                return fail(why, size, "%s is not a color (#rrggbb)",
                                            walk_render(v, r, sizeof(r)));
                        break;
                case MANIFEST_FIELD_SELECT:
                case MANIFEST_FIELD_RADIO: {
                        char list[DBX_ERROR_MSG_MAX / 4];
                        size_t o = 0;
                        for (size_t i = 0; i < f->n_options; i++)
                                if (streq(f->options[i].value, s)) {
                                        *ret = TAKE_PTR(s);
                                        return 0;
                                }
                        list[0] = '\0';
                        for (size_t i = 0; i < f->n_options && i < OPTIONS_LISTED; i++) {
                                int n = snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
                                                 f->options[i].value);
                                if (n < 0 || (size_t)n >= sizeof(list) - o)
                                        break;
                                o += (size_t)n;
                        }
                        return fail(why, size, "%s is not one of the options (%s%s)",
                                    walk_render(v, r, sizeof(r)), list,
                                    f->n_options > OPTIONS_LISTED ? ", ..." : "");
                }
                default:
                        break;
                }
        }
        *ret = TAKE_PTR(s);
        return 0;
}

int field_coerce(const struct manifest_field *f, const json_t *v, char **ret, char *why,
                 size_t whysize)
{
        if (!v || json_is_null(v)) {
                *ret = xstrdup("");
                return 0;
        }
        switch (f->type) {
        case MANIFEST_FIELD_NUMBER:
        case MANIFEST_FIELD_RANGE:
                return coerce_number(f, v, ret, why, whysize);
        case MANIFEST_FIELD_TOGGLE:
        case MANIFEST_FIELD_CHECKBOX:
                return coerce_bool(v, ret, why, whysize);
        default:
                return coerce_text(f, v, ret, why, whysize);
        }
}

static bool blank(const char *s)
{
        for (; *s; s++)
                if (!isspace((unsigned char)*s))
                        return false;
        return true;
}

static int check_values(const struct manifest *m, const json_t *values, json_t *out,
                        struct dbx_errors *errs)
{
        char why[DBX_ERROR_MSG_MAX / 2], r[RENDER_MAX];
        size_t bad = 0;
        const char *k;
        json_t *v;

        if (!json_is_object(values)) {
                if (errs)
                        dbx_errors_add(errs, -EINVAL, "",
                                       "%s is not a set of config values (a JSON object of "
                                       "field names and values is expected)",
                                       values ? walk_render(values, r, sizeof(r)) : "nothing");
                return -EINVAL;
        }
        json_object_foreach((json_t *)values, k, v)
        {
                const struct manifest_field *f = manifest_field_find(m, k);
                char *s = NULL;
                if (!f) {
                        bad++;
                        if (errs)
                                dbx_errors_add(errs, -EINVAL, k, "not a config field of \"%s\"",
                                               m->meta.name);
                        continue;
                }
                if (field_coerce(f, v, &s, why, sizeof(why)) < 0) {
                        bad++;
                        if (errs)
                                dbx_errors_add(errs, -EINVAL, k, "%s", why);
                        continue;
                }
                if (out)
                        json_object_set_new(out, k, json_string(s));
                free(s);
        }
        return bad ? -EINVAL : 0;
}

int manifest_config_validate(const struct manifest *m, const json_t *values,
                             struct dbx_errors *errs)
{
        int r = check_values(m, values, NULL, errs);
        size_t missing = 0;

        if (!json_is_object(values))
                return r;
        for (size_t s = 0; s < m->config.n_sections; s++)
                for (size_t i = 0; i < m->config.sections[s].n_fields; i++) {
                        const struct manifest_field *f = &m->config.sections[s].fields[i];
                        json_t *v = json_object_get(values, f->name);
                        char why[DBX_ERROR_MSG_MAX / 2];
                        _cleanup_free_ char *txt = NULL;

                        if (!f->required)
                                continue;
                        if (!v || json_is_null(v)) {
                                missing++;
                                if (errs)
                                        dbx_errors_add(errs, -EINVAL, f->name,
                                                       "missing (\"%s\" is required)", f->label);
                        } else if (field_coerce(f, v, &txt, why, sizeof(why)) == 0 && blank(txt)) {
                                missing++;
                                if (errs)
                                        dbx_errors_add(errs, -EINVAL, f->name,
                                                       "empty (\"%s\" is required)", f->label);
                        }
                }
        return r < 0 || missing ? -EINVAL : 0;
}

int manifest_config_coerce(const struct manifest *m, const json_t *values, json_t **ret,
                           struct dbx_errors *errs)
{
        json_t *out = json_object();
        int r = check_values(m, values, out, errs);

        if (r < 0) {
                json_decref(out);
                return r;
        }
        *ret = out;
        return 0;
}

json_t *manifest_config_defaults(const struct manifest *m)
{
        json_t *out = json_object();

        for (size_t s = 0; s < m->config.n_sections; s++)
                for (size_t i = 0; i < m->config.sections[s].n_fields; i++) {
                        const struct manifest_field *f = &m->config.sections[s].fields[i];
                        if (f->default_value)
                                json_object_set_new(out, f->name, json_string(f->default_value));
                }
        return out;
}

bool manifest_config_needed(const struct manifest *m, const json_t *config, bool config_saved)
{
        for (size_t s = 0; s < m->config.n_sections; s++)
                for (size_t i = 0; i < m->config.sections[s].n_fields; i++) {
                        const struct manifest_field *f = &m->config.sections[s].fields[i];
                        json_t *v = json_object_get(config, f->name);
                        if (f->required && (!json_is_string(v) || blank(json_string_value(v))))
                                return true;
                }
        return m->config.show_on_install && !config_saved;
}

static bool env_safe(const char *s)
{
        for (; *s; s++)
                if (!isascii((unsigned char)*s) ||
                    !(isalnum((unsigned char)*s) || strchr("_@%+=:,./-", *s)))
                        return false;
        return true;
}

struct env_line {
        const char *key;
        char *value;
};

static int cmp_env_line(const void *a, const void *b)
{
        return strcmp(((const struct env_line *)a)->key, ((const struct env_line *)b)->key);
}

int manifest_config_env(const struct manifest *m, const json_t *config, char **ret,
                        struct dbx_error *err)
{
        struct env_line *lines = xcalloc(m->config.n_fields + 1, sizeof(*lines));
        char *buf = NULL;
        size_t n = 0, len = 0;
        FILE *f;
        int r = 0;

        for (size_t s = 0; s < m->config.n_sections; s++)
                for (size_t i = 0; i < m->config.sections[s].n_fields; i++) {
                        const struct manifest_field *fd = &m->config.sections[s].fields[i];
                        json_t *v = json_object_get(config, fd->name);
                        char why[DBX_ERROR_MSG_MAX / 2];
                        if (!v)
                                continue;
                        if (field_coerce(fd, v, &lines[n].value, why, sizeof(why)) < 0) {
                                r = dbx_error_set(err, -EINVAL, fd->name, "%s", why);
                                goto out;
                        }
                        lines[n++].key = fd->name;
                }
        qsort(lines, n, sizeof(*lines), cmp_env_line);

        f = open_memstream(&buf, &len);
        if (!f)
                abort();
        for (size_t i = 0; i < n; i++) {
                const char *v = lines[i].value;
                if (env_safe(v)) {
                        fprintf(f, "%s=%s\n", lines[i].key, v);
                        continue;
                }
                fprintf(f, "%s=\"", lines[i].key);
                for (; *v; v++) {
                        if (strchr("\\\"$`", *v))
                                fputc('\\', f);
                        fputc(*v, f);
                }
                fputs("\"\n", f);
        }
        fclose(f);
        *ret = buf;
out:
        for (size_t i = 0; i < m->config.n_fields + 1; i++)
                free(lines[i].value);
        free(lines);
        return r;
}
