#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "runtime/sandbox.h"

#define BASE(n) (SANDBOX_UIDRANGE_BASE + (uint32_t)(n)*SANDBOX_UIDRANGE_SIZE)

static void test_alloc_table(void **state)
{
        static const struct {
                uint32_t used[8];
                size_t n;
                uint32_t want;
        } cases[] = {
            {{0}, 0, BASE(1)},                            /* empty: slot 0 is the dev slot */
            {{BASE(1)}, 1, BASE(2)},                      /* next */
            {{BASE(2), BASE(1)}, 2, BASE(3)},             /* any order */
            {{BASE(1), BASE(3)}, 2, BASE(2)},             /* lowest hole */
            {{BASE(0)}, 1, BASE(1)},                      /* dev slot in use: no change */
            {{BASE(1) + 1, 17, 0}, 3, BASE(1)},           /* not bases: ignored */
            {{BASE(SANDBOX_UIDRANGE_SLOTS)}, 1, BASE(1)}, /* past the end: ignored */
            {{BASE(1), BASE(1), BASE(2)}, 3, BASE(3)},    /* duplicates */
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint32_t got = 0;
                assert_int_equal(sandbox_uidrange_alloc(cases[i].used, cases[i].n, &got), 0);
                assert_int_equal(got, cases[i].want);
        }
}

static void test_alloc_full(void **state)
{
        uint32_t used[SANDBOX_UIDRANGE_SLOTS], got = 7;
        for (uint32_t i = 0; i < SANDBOX_UIDRANGE_SLOTS; i++)
                used[i] = BASE(i);
        assert_int_equal(sandbox_uidrange_alloc(used, SANDBOX_UIDRANGE_SLOTS, &got), -ENOSPC);
        assert_int_equal(got, 7); /* untouched on failure */
        used[SANDBOX_UIDRANGE_SLOTS - 1] = 0;
        assert_int_equal(sandbox_uidrange_alloc(used, SANDBOX_UIDRANGE_SLOTS, &got), 0);
        assert_int_equal(got, BASE(SANDBOX_UIDRANGE_SLOTS - 1));
}

static void test_valid(void **state)
{
        assert_false(sandbox_uidrange_is_valid(0));
        assert_false(sandbox_uidrange_is_valid(BASE(0))); /* dev slot */
        assert_true(sandbox_uidrange_is_valid(BASE(1)));
        assert_true(sandbox_uidrange_is_valid(BASE(SANDBOX_UIDRANGE_SLOTS - 1)));
        assert_false(sandbox_uidrange_is_valid(BASE(SANDBOX_UIDRANGE_SLOTS)));
        assert_false(sandbox_uidrange_is_valid(BASE(1) + 420));
        assert_false(sandbox_uidrange_is_valid(SANDBOX_UIDRANGE_BASE - SANDBOX_UIDRANGE_SIZE));
        /* the layout never reaches uids that overflow or look negative */
        assert_true((uint64_t)BASE(SANDBOX_UIDRANGE_SLOTS) < 0x6FFFFFFFu);
        assert_int_equal(sandbox_uidrange_host(BASE(1), SANDBOX_UID_INSIDE), BASE(1) + 420);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_alloc_table),
            cmocka_unit_test(test_alloc_full),
            cmocka_unit_test(test_valid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
