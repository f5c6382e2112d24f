/* test_lexdb.c - the pronunciation dictionary. */
#include "helpers.h"

#include "lexdb.h"

static void missing_file_is_an_error(void **state)
{
    (void)state;
    kk_lexdb *db = (kk_lexdb *)1;
    kk_error err;
    assert_int_not_equal(kk_lexdb_open("/nonexistent/x.lexdb", &db, &err), KK_OK);
    assert_null(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(missing_file_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
