/* libFuzzer target for the HTTP source index parser (src/sources/index.c),
 * the one parser that reads a whole untrusted document from the network.
 * Besides "no crash, no leak, no UB" it checks what the daemon relies on:
 *   - a refused index always comes with at least one error;
 *   - an accepted index is a finished catalog: sorted, no duplicate
 *     (name, version), every valid version's manifest re-parses, every
 *     invalid version says why;
 *   - the catalog survives the SQLite cache blob round trip;
 *   - the store listing built from it is valid JSON.
 * The same bytes also go through signature verification (they never
 * verify: only that nothing breaks). Seeds: tests/fuzz/corpus/index/. */
#include <stdint.h>
#include "core/json.h"
#include "sources/index.h"

static void check_catalog(const struct catalog *c)
{
        for (size_t i = 0; i < c->n; i++) {
                const struct catalog_version *v = &c->versions[i];
                if (i > 0 && streq(c->versions[i - 1].name, v->name) &&
                    streq(c->versions[i - 1].version, v->version))
                        abort(); /* duplicates are removed */
                if (i > 0 && strcmp(c->versions[i - 1].name, v->name) > 0)
                        abort(); /* sorted by name */
                if (v->valid) {
                        struct manifest *m = NULL;
                        if (!v->manifest_json || !v->archive_url || v->n_errors ||
                            manifest_parse(v->manifest_json, strlen(v->manifest_json), &m, NULL,
                                           NULL) < 0)
                                abort();
                        manifest_free(m);
                } else if (v->n_errors == 0 || v->manifest_json) {
                        abort();
                }
        }
        size_t len;
        char *blob = catalog_to_cache(c, &len);
        struct catalog *back = NULL;
        if (catalog_from_cache(blob, len, &back, NULL) < 0 || back->n != c->n)
                abort();
        catalog_free(back);
        free(blob);

        struct jbuf b = {0};
        catalog_store_pups_json(c, &b);
        jbuf_puts(&b, "");
        json_t *j = json_loadb(b.p, b.len, 0, NULL);
        if (!j)
                abort();
        json_decref(j);
        jbuf_free(&b);
        catalog_invalid_json(c, &b);
        j = json_loadb(b.p, b.len, 0, NULL);
        if (!j)
                abort();
        json_decref(j);
        jbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct dbx_errors errs = {0};
        struct catalog *c = NULL;
        char *key = NULL;
        int r = index_parse((const char *)data, size, &c, &key, &errs);
        if (r < 0) {
                if (errs.n == 0 || c || key)
                        abort();
        } else {
                if (errs.n != 0)
                        abort();
                if (key && strlen(key) != INDEX_PUBKEY_HEX)
                        abort();
                check_catalog(c);
        }
        catalog_free(c);
        free(key);
        dbx_errors_free(&errs);

        static const uint8_t zero_key[INDEX_PUBKEY_BYTES];
        size_t cut = size < 130 ? size : 130;
        if (index_verify((const char *)data + cut, size - cut, (const char *)data, cut, zero_key,
                         NULL) == 0)
                abort(); /* nothing verifies with the all-zero key */
        (void)index_logo_check(size && data[size - 1] == 0 ? (const char *)data : "data:");
        return 0;
}
