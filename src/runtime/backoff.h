/* Restart backoff for crashed services: pure arithmetic shared by pup-init
 * and the unit tests (no libc beyond integers, so the static pup-init stays
 * small). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct backoff_params {
        uint32_t initial_ms;    /* delay after the first quick exit */
        uint32_t max_ms;        /* cap */
        uint32_t stable_ms;     /* a run at least this long resets the count */
        uint32_t failing_after; /* consecutive quick exits before "failing" */
};

/* The crash count after a run of runtime_ms ended, given the count before:
 * a stable run starts counting afresh at 1. */
uint32_t backoff_next_crashes(const struct backoff_params *p, uint32_t crashes,
                              uint64_t runtime_ms);

/* Delay before the next start after the crashes-th consecutive quick exit:
 * initial * 2^(crashes-1), capped at max (no overflow for any count). */
uint32_t backoff_delay_ms(const struct backoff_params *p, uint32_t crashes);

/* True exactly when crashes reaches the failing threshold (report once). */
bool backoff_just_failing(const struct backoff_params *p, uint32_t crashes);
