/* Fuzz the router with arbitrary methods and paths over upstream's table. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "api/router.h"
#include "core/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const patterns[] = {
    "/system/bootstrap", "/jobs/active", "/jobs/{id}", "/pup/{id}/{action}",
    "/pup/{id}/upgrade", "/ws/state/",   "/{a}/{b}",   "/sources/store",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct router *r;
        if (!r) {
                r = router_new();
                for (size_t i = 0; i < ARRAY_SIZE(patterns); i++)
                        router_add(r, i % 2 ? "GET" : "POST", patterns[i], NULL, 0);
        }
        char buf[4096];
        size_t n = size < sizeof(buf) - 1 ? size : sizeof(buf) - 1;
        memcpy(buf, data, n);
        buf[n] = 0;
        char *sp = strchr(buf, ' ');
        const char *method = "GET", *path = buf;
        if (sp) {
                *sp = 0;
                method = buf;
                path = sp + 1;
        }
        struct route_match m;
        char allow[128];
        router_match(r, method, path, &m, allow, sizeof(allow));
        return 0;
}
