/*
 * test_blas.c - nn_blas_coretype_hint against the OpenBLAS core type the
 * test runs with. CTest starts it twice: with OPENBLAS_CORETYPE=Prescott
 * (what Debian 12's OpenBLAS picks for a CPU model it does not know: the
 * hint must name the kernels this CPU can run) and with
 * OPENBLAS_CORETYPE=Haswell (a fine choice on an AVX2 machine: no hint).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "nn.h"

char *openblas_get_corename(void);

static void test_hint(void **state)
{
    (void)state;
    const char *want = getenv("OPENBLAS_CORETYPE");
    assert_non_null(want); /* set by CTest */
    unsigned f = nn_cpu_features();
    if (strcasecmp(want, "Prescott") && !(f & NN_CPU_AVX2_FMA))
        skip(); /* OpenBLAS does not run Haswell kernels without AVX2 */
    /* OpenBLAS runs what it was told */
    assert_int_equal(strcasecmp(openblas_get_corename(), want), 0);
    const char *hint = nn_blas_coretype_hint();
    if (!strcasecmp(want, "Prescott")) {
        if (f & NN_CPU_AVX512_SKX)
            assert_string_equal(hint, "SkylakeX");
        else if (f & NN_CPU_AVX2_FMA)
            assert_string_equal(hint, "Haswell");
        else
            assert_null(hint); /* an SSE3 machine: Prescott is right */
    } else {
        assert_null(hint); /* Haswell or newer is never second-guessed */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
