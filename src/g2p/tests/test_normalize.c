/* test_normalize.c - the text normaliser: inputs and the words expected. */
#include "helpers.h"

#include <string.h>

#include "normalize.h"

static void plain_text_unchanged(void **state)
{
    (void)state;
    kk_norm n;
    kk_error err;
    assert_int_equal(kk_normalize("Hello there, world.", "en-us", &n, &err), KK_OK);
    assert_string_equal(n.text, "Hello there, world.");
    assert_int_equal(kk_norm_source_pos(&n, 6, 0), 6);
    kk_norm_free(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_text_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
