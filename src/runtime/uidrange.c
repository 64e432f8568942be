/* Per-pup host uid/gid ranges (layout in sandbox.h and docs/sandbox.md). */
#include <errno.h>
#include <string.h>

#include "runtime/sandbox.h"

static bool is_slot_base(uint32_t base, uint32_t *ret_slot)
{
        if (base < SANDBOX_UIDRANGE_BASE || (base - SANDBOX_UIDRANGE_BASE) % SANDBOX_UIDRANGE_SIZE)
                return false;
        uint32_t slot = (base - SANDBOX_UIDRANGE_BASE) / SANDBOX_UIDRANGE_SIZE;
        if (slot >= SANDBOX_UIDRANGE_SLOTS)
                return false;
        *ret_slot = slot;
        return true;
}

bool sandbox_uidrange_is_valid(uint32_t base)
{
        uint32_t slot;
        return is_slot_base(base, &slot) && slot != SANDBOX_UIDRANGE_DEV_SLOT;
}

int sandbox_uidrange_alloc(const uint32_t *used, size_t n_used, uint32_t *ret_base)
{
        uint8_t taken[SANDBOX_UIDRANGE_SLOTS / 8];

        memset(taken, 0, sizeof(taken));
        taken[SANDBOX_UIDRANGE_DEV_SLOT / 8] |= (uint8_t)(1u << (SANDBOX_UIDRANGE_DEV_SLOT % 8));
        for (size_t i = 0; i < n_used; i++) {
                uint32_t slot;
                if (is_slot_base(used[i], &slot))
                        taken[slot / 8] |= (uint8_t)(1u << (slot % 8));
        }
        for (uint32_t slot = 0; slot < SANDBOX_UIDRANGE_SLOTS; slot++)
                if (!(taken[slot / 8] & (1u << (slot % 8)))) {
                        *ret_base = SANDBOX_UIDRANGE_BASE + slot * SANDBOX_UIDRANGE_SIZE;
                        return 0;
                }
        return -ENOSPC;
}
