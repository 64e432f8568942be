/* Catalog benchmark: generate an HTTP source index of 10,000 pup versions
 * (1,000 pups x 10 versions, each with a realistic manifest, a small logo
 * and an archive entry), then time index_parse(): JSON parsing, the index
 * and manifest validation, and building the finished catalog (upstream
 * manifest JSON per version, sorting, de-duplication). Writes the index to
 * DIR/index.json so bench/catalog/run can time `jq .` on the same bytes.
 * --minimal: the smallest valid manifests instead, to separate what the
 * index format costs from what manifest validation costs.
 * Usage: bench-catalog [--minimal] DIR [PUPS VERSIONS] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "core/fsutil.h"
#include "core/util.h"
#include "sources/index.h"

#define RUNS 7

static const char manifest_fmt[] =
    "{\"manifestVersion\":1,"
    "\"meta\":{\"name\":\"Pup %d\",\"version\":\"%d.%d.0\",\"logoPath\":\"logo.png\","
    "\"shortDescription\":\"Benchmark pup number %d\","
    "\"longDescription\":\"A generated pup that looks like a real one: a service, two ports, "
    "an interface it provides and one it consumes, a config form and a metric.\","
    "\"upstreamVersions\":{\"Core\":\"v1.14.%d\"}},"
    "\"config\":{\"showOnInstall\":false,\"sections\":[{\"name\":\"main\",\"label\":\"Main\","
    "\"fields\":[{\"name\":\"RPC_USER\",\"label\":\"RPC user\",\"type\":\"text\","
    "\"required\":true,\"default\":\"doge\"},{\"name\":\"MAX_PEERS\",\"label\":\"Peers\","
    "\"type\":\"number\",\"min\":1,\"max\":125,\"step\":1,\"default\":8}]}]},"
    "\"container\":{\"build\":{\"nixFile\":\"pup.nix\",\"nixFileSha256\":"
    "\"3af99d529f30e51c1f0a01bfe547b28ad1a40de7145a6c3d36538bf8518abbf5\"},"
    "\"services\":[{\"name\":\"daemon\",\"command\":{\"exec\":\"/bin/run.sh\",\"cwd\":\"\","
    "\"env\":{\"NETWORK\":\"mainnet\"}}},{\"name\":\"monitor\",\"command\":{\"exec\":"
    "\"/bin/monitor\"}}],"
    "\"exposes\":[{\"name\":\"rpc\",\"type\":\"http\",\"port\":22555,\"interfaces\":"
    "[\"pup%d-rpc\"],\"listenOnHost\":false,\"webUI\":false},{\"name\":\"ui\",\"type\":\"http\","
    "\"port\":8080,\"interfaces\":[],\"listenOnHost\":false,\"webUI\":true}],"
    "\"requiresInternet\":true},"
    "\"interfaces\":[{\"name\":\"pup%d-rpc\",\"version\":\"0.0.1\",\"permissionGroups\":"
    "[{\"name\":\"RPC\",\"description\":\"Read the chain\",\"severity\":3,\"routes\":[\"/*\"],"
    "\"port\":22555}]}],"
    "\"dependencies\":[{\"interfaceName\":\"core-rpc\",\"interfaceVersion\":\"^0.0.1\","
    "\"permissionGroups\":[\"RPC\"],\"optional\":false}],"
    "\"metrics\":[{\"name\":\"height\",\"label\":\"Height\",\"type\":\"int\",\"history\":30}]}";

/* The smallest manifest that is valid: what the index format itself costs. */
static const char minimal_fmt[] =
    "{\"manifestVersion\":1,\"meta\":{\"name\":\"Pup %d\",\"version\":\"%d.%d.0\"},"
    "\"container\":{\"build\":{\"type\":\"native\"},\"services\":[]}}";

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
        bool minimal = argc > 1 && streq(argv[1], "--minimal");
        if (minimal) {
                argc--;
                argv++;
        }
        if (argc != 2 && argc != 4) {
                fprintf(stderr, "usage: bench-catalog [--minimal] DIR [PUPS VERSIONS]\n");
                return 2;
        }
        int pups = argc == 4 ? atoi(argv[2]) : 1000, vers = argc == 4 ? atoi(argv[3]) : 10;
        struct jbuf b = {0};
        jbuf_puts(&b, "{\"dogeboxIndex\":1,\"id\":\"bench.pups\",\"name\":\"Benchmark pups\","
                      "\"description\":\"generated\",\"pups\":[");
        for (int p = 0; p < pups; p++) {
                jbuf_printf(&b, "%s{\"name\":\"Pup %d\",\"versions\":[", p ? "," : "", p);
                for (int v = 0; v < vers; v++) {
                        jbuf_printf(&b, "%s{\"version\":\"%d.%d.0\",\"manifest\":", v ? "," : "",
                                    v / 5, v % 5);
                        if (minimal)
                                jbuf_printf(&b, minimal_fmt, p, v / 5, v % 5);
                        else
                                jbuf_printf(&b, manifest_fmt, p, v / 5, v % 5, p, v, p, p);
                        jbuf_printf(
                            &b,
                            ",\"logo\":\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAA"
                            "ABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg"
                            "==\",\"archive\":{\"url\":\"a/pup-%d-%d.%d.0.tar.gz\",\"sha256\":"
                            "\"%064d\",\"size\":%d}}",
                            p, v / 5, v % 5, p * 100 + v, 1000 + p + v);
                }
                jbuf_puts(&b, "]}");
        }
        jbuf_puts(&b, "]}");
        size_t len;
        char *text = jbuf_steal(&b, &len);
        char *path = xasprintf("%s/index.json", argv[1]);
        if (fs_write_atomic(path, text, len, 0644) < 0) {
                perror(path);
                return 1;
        }

        double t[RUNS], th[RUNS];
        size_t n = 0, valid = 0;
        for (int i = 0; i < RUNS; i++) {
                struct dbx_errors errs = {0};
                struct dbx_error e = {0};
                struct catalog *c = NULL, *back = NULL;
                double t0 = now_s();
                int r = index_parse(text, len, &c, NULL, &errs);
                t[i] = now_s() - t0;
                if (r < 0) {
                        fprintf(stderr, "bench index refused: %s: %s\n", errs.items[0].path,
                                errs.items[0].message);
                        return 1;
                }
                /* The hand-over: the fetch helper writes the catalog, the
                 * daemon reads it back (docs/architecture.md). */
                t0 = now_s();
                size_t blob_len;
                char *blob = catalog_to_cache(c, &blob_len);
                r = catalog_from_cache(blob, blob_len, &back, &e);
                th[i] = now_s() - t0;
                if (r < 0 || back->n != c->n) {
                        fprintf(stderr, "bench catalog hand-over failed: %s\n", e.message);
                        return 1;
                }
                free(blob);
                catalog_free(back);
                n = c->n;
                valid = catalog_count_valid(c);
                catalog_free(c);
        }
        qsort(t, RUNS, sizeof(double), cmp_double);
        qsort(th, RUNS, sizeof(double), cmp_double);
        if (valid != n || n != (size_t)pups * (size_t)vers) {
                fprintf(stderr, "bench index: %zu of %zu versions valid\n", valid, n);
                return 1;
        }
        printf("index: %zu versions of %d pups, %s manifests, %.1f MiB (%s)\n", n, pups,
               minimal ? "minimal" : "realistic", (double)len / (1 << 20), path);
        printf("parse + validate + catalog: best %.1f ms, median %.1f ms (%d runs); %.2f us per "
               "version\n",
               t[0] * 1e3, t[RUNS / 2] * 1e3, RUNS, t[RUNS / 2] * 1e6 / (double)n);
        printf("hand-over from the fetch helper to the daemon (write + read the catalog): best "
               "%.1f ms, median %.1f ms; parse + hand-over: best %.1f ms\n",
               th[0] * 1e3, th[RUNS / 2] * 1e3, (t[0] + th[0]) * 1e3);
        printf("CATALOG_MS %.1f\n", t[0] * 1e3); /* best, as jq gets best of 3 */
        free(path);
        free(text);
        return 0;
}
