/* test_homograph.c - homographs decided by context. */
#include "helpers.h"

#include <string.h>

#include "homograph.h"

static void not_a_homograph(void **state)
{
    (void)state;
    kk_hword w[] = {{"hello", 5}, {"world", 5}};
    assert_null(kk_homograph_pick(w, 2, 0, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(not_a_homograph),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
