/* Fuzz the bounded JSON parser and the case-insensitive lookups that every
 * request body goes through. */
#include <stddef.h>
#include <stdint.h>
#include "core/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct dbx_error err = {0};
        json_t *j = NULL;
        if (json_parse_bounded((const char *)data, size, JSON_DEPTH_MAX, false, &j, &err) == 0) {
                const char *s = NULL;
                long long n = 0;
                bool b = false;
                json_iget_string(j, "pupName", &s, &err);
                json_iget_int(j, "PORT", &n, &err);
                json_iget_bool(j, "enabled", &b, &err);
                char *out = json_dump_compact(j);
                free(out);
                json_decref(j);
        }
        return 0;
}
