/* Helpers shared by the net module's files; not part of its API. */
#pragma once

#include <stddef.h>

/* Read a whole file of unknown size (procfs reports st_size 0) up to max
 * bytes; -EFBIG beyond. NUL-terminated; caller frees. */
int net_read_all(const char *path, size_t max, char **ret, size_t *ret_len);
