#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "keys/secure.h"

void keys_sodium_ready(void)
{
        if (sodium_init() < 0)
                abort();
}

void *secure_alloc(size_t n)
{
        keys_sodium_ready();
        void *p = sodium_malloc(n ? n : 1);
        if (!p)
                abort();
        memset(p, 0, n ? n : 1);
        return p;
}

void *secure_free(void *p)
{
        if (p)
                sodium_free(p);
        return NULL;
}
