#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>

#include "runtime/backoff.h"

static const struct backoff_params P = {
    .initial_ms = 500, .max_ms = 60000, .stable_ms = 30000, .failing_after = 5};

static void test_delays(void **state)
{
        static const struct {
                uint32_t crashes, want;
        } cases[] = {
            {0, 0},      {1, 500},      {2, 1000},           {3, 2000},  {4, 4000},
            {5, 8000},   {6, 16000},    {7, 32000},          {8, 60000}, {9, 60000},
            {64, 60000}, {1000, 60000}, {UINT32_MAX, 60000},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                assert_int_equal(backoff_delay_ms(&P, cases[i].crashes), cases[i].want);
}

static void test_growing_then_capped(void **state)
{
        uint32_t prev = 0;
        for (uint32_t c = 1; c < 100; c++) {
                uint32_t d = backoff_delay_ms(&P, c);
                assert_true(d >= prev);
                assert_true(d <= P.max_ms);
                prev = d;
        }
        /* a huge initial value is capped at once, never overflows */
        struct backoff_params big = {.initial_ms = UINT32_MAX, .max_ms = UINT32_MAX};
        assert_int_equal(backoff_delay_ms(&big, 40), UINT32_MAX);
}

static void test_crash_counting(void **state)
{
        assert_int_equal(backoff_next_crashes(&P, 0, 10), 1);
        assert_int_equal(backoff_next_crashes(&P, 1, 10), 2);
        assert_int_equal(backoff_next_crashes(&P, 7, 29999), 8);
        assert_int_equal(backoff_next_crashes(&P, 7, 30000), 1); /* stable run resets */
        assert_int_equal(backoff_next_crashes(&P, UINT32_MAX, 0), UINT32_MAX);
}

static void test_failing_once(void **state)
{
        unsigned reported = 0;
        for (uint32_t c = 1; c < 50; c++)
                reported += backoff_just_failing(&P, c);
        assert_int_equal(reported, 1);
        assert_true(backoff_just_failing(&P, 5));
        assert_false(backoff_just_failing(&P, 4));
        struct backoff_params never = P;
        never.failing_after = 0;
        assert_false(backoff_just_failing(&never, 0));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_delays),
            cmocka_unit_test(test_growing_then_capped),
            cmocka_unit_test(test_crash_counting),
            cmocka_unit_test(test_failing_once),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
