/* Private to src/manifest: the arena that owns a parsed manifest, and the
 * walker that reads JSON against the schema while collecting errors with
 * their JSON path. */
#pragma once

#include "core/jdoc.h"
#include "core/json.h"
#include "manifest/manifest.h"

/* ---- arena ---- */

struct manifest_arena;

struct manifest_arena *arena_new(void);
void arena_free(struct manifest_arena *a);
void *arena_alloc(struct manifest_arena *a, size_t n); /* zeroed */
void *arena_array(struct manifest_arena *a, size_t n, size_t size);
char *arena_strdup(struct manifest_arena *a, const char *s);
char *arena_strndup(struct manifest_arena *a, const char *s, size_t n);
/* Take over a JSON reference; it is released with the arena. */
json_t *arena_keep_json(struct manifest_arena *a, json_t *j);
/* Take over the document the manifest's strings point into. */
void arena_keep_doc(struct manifest_arena *a, struct jdoc *d);
/* Keep a constraint until the arena is freed. */
void arena_keep_constraint(struct manifest_arena *a, struct semver_constraint *c);

/* ---- walker ---- */

#define WALK_KNOWN_MAX 64 /* keys of one schema object; the largest has 11 */
#define WALK_SLOTS     8  /* objects whose known keys are remembered; the schema nests 6 deep */

/* Where each known key of an object is, found once by walk_check_keys()
 * so the getters need not search the object again. */
struct walk_slots {
        const struct jval *obj;
        const char *const *known;
        size_t n;
        const struct jval *slot[WALK_KNOWN_MAX];
};

struct walker {
        struct manifest_arena *arena;
        struct dbx_errors *errs;  /* may be NULL */
        struct dbx_errors *warns; /* may be NULL */
        size_t n_errors;          /* counted even when errs is NULL */
        char path[DBX_ERROR_PATH_MAX];
        size_t plen;
        struct walk_slots slots[WALK_SLOTS];
        size_t next_slots;
};

/* Ready to walk (without zeroing the slots: a walker is ~4 KiB and there
 * is one per manifest). */
void walker_init(struct walker *w, struct manifest_arena *a, struct dbx_errors *errs,
                 struct dbx_errors *warns);

/* Path handling: push returns the old length to pass to pop. */
size_t walk_push_key(struct walker *w, const char *key);
size_t walk_push_index(struct walker *w, size_t i);
void walk_pop(struct walker *w, size_t saved);

void walk_error(struct walker *w, const char *fmt, ...) _printf_(2, 3);
void walk_warn(struct walker *w, const char *fmt, ...) _printf_(2, 3);
/* The same at path.key, without changing the current path. */
void walk_error_at(struct walker *w, const char *key, const char *fmt, ...) _printf_(3, 4);
void walk_warn_at(struct walker *w, const char *key, const char *fmt, ...) _printf_(3, 4);

/* A short rendering of a found value for messages: "text" (quoted, cut
 * at 40 characters), 12, 1.5, true, null, {...}, [...]. The _jv variant
 * renders a jdoc value identically. */
const char *walk_render(const json_t *v, char *buf, size_t size);
const char *walk_render_jv(const struct jval *v, char *buf, size_t size);
#define RENDER_MAX 160

/* Object keys: each key of obj must match one of known[] ignoring ASCII
 * case (as upstream's Go decoder); others are warned about and ignored;
 * two keys matching the same known key are an error. */
void walk_check_keys(struct walker *w, const struct jval *obj, const char *const *known, size_t n);
#define WALK_CHECK_KEYS(w, obj, known) walk_check_keys(w, obj, known, ARRAY_SIZE(known))
/* obj's member key as jv_iget() finds it, from what walk_check_keys()
 * remembered when it can. */
const struct jval *walk_get(const struct walker *w, const struct jval *obj, const char *key);

/* String flags for walk_string(). */
#define STR_REQUIRED  (1u << 0) /* missing or null is an error */
#define STR_NONEMPTY  (1u << 1) /* "" is an error */
#define STR_MULTILINE (1u << 2) /* newlines and tabs allowed; other control characters never */
#define STR_TRIMMED   (1u << 3) /* no leading or trailing whitespace */

/* Read obj.key as a string into *ret (it points into the document, which
 * the manifest keeps or outlives). Returns 1 when set, 0
 * when absent or null (*ret unchanged), -1 after reporting an error. */
int walk_string(struct walker *w, const struct jval *obj, const char *key, unsigned flags,
                size_t max, const char **ret);
/* The same for a JSON value that is not in an object (array elements);
 * reports at the current path. */
int walk_string_value(struct walker *w, const struct jval *v, unsigned flags, size_t max,
                      const char **ret);

/* Read obj.key as an integer within [min, max]. what is the phrase for
 * the out-of-range message: "%lld is not <what> (<min>-<max>)". */
int walk_int(struct walker *w, const struct jval *obj, const char *key, bool required,
             long long min, long long max, const char *what, long long *ret);
int walk_bool(struct walker *w, const struct jval *obj, const char *key, bool *ret);
/* A finite JSON number (integer or real). */
int walk_number(struct walker *w, const struct jval *obj, const char *key, double *ret);

/* obj.key as an object / array. null counts as absent. An array longer
 * than max is reported ("<n> <noun>, at most <max> are allowed") and
 * returned as absent. */
int walk_object(struct walker *w, const struct jval *obj, const char *key, bool required,
                const struct jval **ret);
int walk_array(struct walker *w, const struct jval *obj, const char *key, bool required, size_t max,
               const char *noun, const struct jval **ret);

/* ---- name rules shared by manifest.c and source.c ---- */

bool name_is_env(const char *s);       /* [A-Za-z_][A-Za-z0-9_]* */
bool name_is_service(const char *s);   /* [A-Za-z0-9][A-Za-z0-9_.-]* */
bool name_is_interface(const char *s); /* DNS label: [a-z0-9]([a-z0-9-]*[a-z0-9])? */
bool name_is_source_id(const char *s); /* [A-Za-z0-9][A-Za-z0-9_.-]* */

/* Relative path inside the pup folder: not absolute, no "..", no empty or
 * "." components. NULL when fine, otherwise why not. */
const char *path_check_relative(const char *p);
/* Path without ".." components; absolute or relative. NULL when fine. */
const char *path_check_no_dotdot(const char *p);

/* ---- config values (config.c) ---- */

/* Coerce one value for field f to the stored string form (malloc'd into
 * *ret). On a bad value returns -EINVAL with *why explaining it, e.g.
 * `150 is above the maximum (100)`. */
int field_coerce(const struct manifest_field *f, const json_t *v, char **ret, char *why,
                 size_t whysize);

/* manifest.c: limits, emptiness and bounded parsing of a JSON document. */
int manifest_text_load(const char *what, const char *buf, size_t len, size_t max, struct jdoc **ret,
                       struct dbx_errors *errs);

/* A json_t turned into a jdoc (through its text; \u0000 allowed, so the
 * walker reports it as it always did). what names it in messages. */
int manifest_json_to_doc(const char *what, const json_t *root, struct jdoc **ret,
                         struct dbx_errors *errs);
