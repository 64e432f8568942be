#include <fcntl.h>
#include "core/macro.h"
#include "net/internal.h"

#define READ_CHUNK 16384

int net_read_all(const char *path, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t cap = MIN((size_t)READ_CHUNK, max), len = 0;
        _cleanup_free_ char *buf = xmalloc(cap + 1);
        for (;;) {
                if (len == cap) {
                        if (cap >= max) {
                                char probe;
                                ssize_t k = read(fd, &probe, 1);
                                if (k == 0)
                                        break;
                                return k < 0 ? -errno : -EFBIG;
                        }
                        cap = MIN(cap * 2, max);
                        buf = xrealloc(buf, cap + 1);
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}
