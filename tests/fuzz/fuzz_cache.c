/* libFuzzer target for the catalog blob reader (catalog_from_cache): the
 * daemon reads it from SQLite and, since the fetch helper, from an
 * unprivileged process it does not trust. Besides "no crash, no leak, no
 * UB": an accepted blob gives a finished catalog (sorted, no duplicate
 * name and version) whose store listing and invalid-version listing are
 * valid JSON, and it survives another round trip unchanged. Seeds:
 * tests/fuzz/corpus/cache/. */
#include <stdint.h>
#include "core/json.h"
#include "sources/catalog.h"

static void check_json(struct jbuf *b)
{
        json_t *j = json_loadb(b->p, b->len, 0, NULL);
        if (!j)
                abort(); /* the API would send broken JSON */
        json_decref(j);
        jbuf_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct catalog *c = NULL, *back = NULL;
        if (catalog_from_cache((const char *)data, size, &c, NULL) < 0) {
                if (c)
                        abort(); /* nothing is returned on failure */
                return 0;
        }
        for (size_t i = 1; i < c->n; i++) {
                if (strcmp(c->versions[i - 1].name, c->versions[i].name) > 0)
                        abort();
                if (streq(c->versions[i - 1].name, c->versions[i].name) &&
                    streq(c->versions[i - 1].version, c->versions[i].version))
                        abort();
        }
        struct jbuf b = {0};
        catalog_store_pups_json(c, &b);
        check_json(&b);
        catalog_invalid_json(c, &b);
        check_json(&b);
        size_t len;
        char *blob = catalog_to_cache(c, &len);
        if (catalog_from_cache(blob, len, &back, NULL) < 0 || back->n != c->n)
                abort();
        free(blob);
        catalog_free(back);
        catalog_free(c);
        return 0;
}
