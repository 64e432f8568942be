#include "runtime/backoff.h"

uint32_t backoff_next_crashes(const struct backoff_params *p, uint32_t crashes, uint64_t runtime_ms)
{
        if (runtime_ms >= p->stable_ms)
                return 1;
        return crashes == UINT32_MAX ? crashes : crashes + 1;
}

uint32_t backoff_delay_ms(const struct backoff_params *p, uint32_t crashes)
{
        uint64_t d = p->initial_ms;

        if (crashes == 0)
                return 0;
        for (uint32_t i = 1; i < crashes && d < p->max_ms; i++)
                d *= 2;
        return d > p->max_ms ? p->max_ms : (uint32_t)d;
}

bool backoff_just_failing(const struct backoff_params *p, uint32_t crashes)
{
        return p->failing_after > 0 && crashes == p->failing_after;
}
