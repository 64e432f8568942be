/* dogebox.json, a source's descriptor:
 *   {"id", "name", "description", "pups": [{"location": "core"}, ...]} */
#include "core/json.h"
#include "manifest/internal.h"

/* doc, when not NULL, is taken over (see manifest_walk()). */
static int source_walk(const struct jval *root, struct jdoc *doc, struct manifest_source **ret,
                       struct dbx_errors *errs, struct dbx_errors *warnings)
{
        static const char *const keys[] = {"id", "name", "description", "pups"};
        static const char *const pup_keys[] = {"location"};
        struct walker w;
        struct manifest_source *s;
        const struct jval *pups = NULL;
        char r[RENDER_MAX];

        if (!jv_is_object(root)) {
                if (errs)
                        dbx_errors_add(errs, -EINVAL, "",
                                       "%s is not a dogebox.json (a JSON object is expected)",
                                       walk_render_jv(root, r, sizeof(r)));
                jdoc_free(doc);
                return -EINVAL;
        }
        walker_init(&w, arena_new(), errs, warnings);
        s = arena_alloc(w.arena, sizeof(*s));
        s->arena = w.arena;
        if (doc)
                arena_keep_doc(w.arena, doc);
        s->id = s->name = s->description = "";

        WALK_CHECK_KEYS(&w, root, keys);
        if (walk_string(&w, root, "id", STR_REQUIRED | STR_NONEMPTY, MANIFEST_SOURCE_ID_MAX,
                        &s->id) > 0 &&
            !name_is_source_id(s->id))
                walk_error_at(&w, "id",
                              "\"%s\" is not a valid source id (letters, digits, _, . and -, "
                              "starting with a letter or digit)",
                              s->id);
        walk_string(&w, root, "name", STR_REQUIRED | STR_NONEMPTY | STR_TRIMMED, MANIFEST_LABEL_MAX,
                    &s->name);
        walk_string(&w, root, "description", STR_MULTILINE, MANIFEST_TEXT_MAX, &s->description);
        if (walk_array(&w, root, "pups", false, MANIFEST_SOURCE_PUPS_MAX, "pups", &pups) > 0) {
                const char **out = arena_array(w.arena, jv_len(pups), sizeof(char *));
                size_t n = 0, idx, saved = walk_push_key(&w, "pups");
                const struct jval *v;
                jv_array_foreach(pups, idx, v)
                {
                        const char *loc = NULL;
                        size_t s2 = walk_push_index(&w, idx);
                        if (!jv_is_object(v)) {
                                walk_error(&w, "%s is not a pup entry ({\"location\": \"...\"})",
                                           walk_render_jv(v, r, sizeof(r)));
                        } else {
                                WALK_CHECK_KEYS(&w, v, pup_keys);
                                if (walk_string(&w, v, "location", STR_REQUIRED | STR_NONEMPTY,
                                                MANIFEST_PATH_MAX, &loc) > 0) {
                                        const char *why = path_check_relative(loc);
                                        bool dup = false;
                                        for (size_t k = 0; k < n && !dup; k++)
                                                dup = streq(out[k], loc);
                                        if (why)
                                                walk_error_at(&w, "location",
                                                              "\"%s\" is not usable: %s", loc, why);
                                        else if (dup)
                                                walk_error_at(&w, "location",
                                                              "\"%s\" is listed twice", loc);
                                        else
                                                out[n++] = loc;
                                }
                        }
                        walk_pop(&w, s2);
                }
                walk_pop(&w, saved);
                s->locations = out;
                s->n_locations = n;
        }
        if (w.n_errors) {
                arena_free(w.arena);
                return -EINVAL;
        }
        *ret = s;
        return 0;
}

int manifest_source_parse_json(const json_t *root, struct manifest_source **ret,
                               struct dbx_errors *errs, struct dbx_errors *warnings)
{
        char r[RENDER_MAX];
        struct jdoc *doc = NULL;

        if (!json_is_object(root)) {
                if (errs)
                        dbx_errors_add(errs, -EINVAL, "",
                                       "%s is not a dogebox.json (a JSON object is expected)",
                                       root ? walk_render(root, r, sizeof(r)) : "nothing");
                return -EINVAL;
        }
        if (manifest_json_to_doc("dogebox.json", root, &doc, errs) < 0)
                return -EINVAL;
        return source_walk(jdoc_root(doc), doc, ret, errs, warnings);
}

int manifest_source_parse(const char *buf, size_t len, struct manifest_source **ret,
                          struct dbx_errors *errs, struct dbx_errors *warnings)
{
        struct jdoc *doc = NULL;
        int r = manifest_text_load("dogebox.json", buf, len, MANIFEST_SOURCE_SIZE_MAX, &doc, errs);
        if (r < 0)
                return r;
        return source_walk(jdoc_root(doc), doc, ret, errs, warnings);
}

struct manifest_source *manifest_source_free(struct manifest_source *s)
{
        if (s)
                arena_free(s->arena);
        return NULL;
}
