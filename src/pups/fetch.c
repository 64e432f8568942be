/* The lifecycle's adapter over the sources module. */
#include "core/macro.h"
#include "pups/fetch.h"
#include "sources/sources.h"

struct pup_fetch {
        struct sources_pup *pup; /* private copy: the worker reads it */
        char *dest;
        int r;
        struct dbx_error err;
};

int pup_lookup(struct sources *s, const char *source_id, const char *name, const char *version,
               struct pup_source_info *ret, struct dbx_error *err)
{
        struct sources_pup *sp = NULL;
        if (!s)
                return dbx_error_set(err, -ENOENT, "", "no sources are configured");
        int r = sources_lookup(s, source_id, name, version, &sp, err);
        if (r < 0)
                return r;
        json_t *list = sources_list_json(s);
        json_t *src = NULL;
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
                if (streq(json_string_value(json_object_get(v, "id")) ?: "", source_id)) {
                        src = json_pack(
                            "{s:O?,s:O?,s:O?,s:O?,s:O?}", "id", json_object_get(v, "id"), "name",
                            json_object_get(v, "name"), "description",
                            json_object_get(v, "description"), "location",
                            json_object_get(v, "location"), "type", json_object_get(v, "type"));
                        break;
                }
        }
        json_decref(list);
        ret->manifest_json = xstrdup(sp->manifest_json);
        ret->source = src ? src : json_pack("{s:s}", "id", source_id);
        ret->payload_size = sp->archive_size;
        ret->priv = sp;
        return 0;
}

void pup_source_info_done(struct pup_source_info *info)
{
        free(info->manifest_json);
        json_decref(info->source);
        sources_pup_free(info->priv);
        *info = (struct pup_source_info){0};
}

static struct sources_pup *copy_pup(const struct sources_pup *p)
{
        struct sources_pup *c = xcalloc(1, sizeof(*c));
#define DUP(f) c->f = p->f ? xstrdup(p->f) : NULL
        DUP(source_id);
        DUP(location);
        DUP(name);
        DUP(version);
        DUP(manifest_json);
        DUP(logo);
        DUP(subpath);
        DUP(tag);
        DUP(archive_url);
        DUP(cache_dir);
#undef DUP
        c->kind = p->kind;
        memcpy(c->commit, p->commit, sizeof(c->commit));
        memcpy(c->archive_sha256, p->archive_sha256, sizeof(c->archive_sha256));
        c->archive_size = p->archive_size;
        c->timeout_ms = p->timeout_ms;
        c->connect_timeout_ms = p->connect_timeout_ms;
        c->cancel = p->cancel;
        return c;
}

int pup_fetch_start(struct sources *s, const struct pup_source_info *info, const char *dest,
                    const atomic_bool *abort, struct pup_fetch **ret, struct dbx_error *err)
{
        if (!info->priv)
                return dbx_error_set(err, -EINVAL, "", "nothing to fetch");
        struct pup_fetch *f = xcalloc(1, sizeof(*f));
        f->pup = copy_pup(info->priv);
        f->pup->abort = abort;
        f->dest = xstrdup(dest);
        *ret = f;
        return 0;
}

void pup_fetch_run(struct pup_fetch *f)
{
        f->r = sources_fetch_pup(f->pup, f->dest, &f->err);
}

int pup_fetch_result(struct pup_fetch *f, struct dbx_error *err)
{
        if (f->r < 0 && err)
                *err = f->err;
        return f->r;
}

struct pup_fetch *pup_fetch_free(struct pup_fetch *f)
{
        if (!f)
                return NULL;
        sources_pup_free(f->pup);
        free(f->dest);
        free(f);
        return NULL;
}
