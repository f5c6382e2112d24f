/* test_track.c - the track store: memory and disk give the same samples for
 * the same writes and mixes; reads and writes past the end are refused; a
 * spool grows by appends; a directory that cannot hold the file is a clear
 * error; nothing is left in the directory, even while the track is open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kk_testutil.h"
#include "track.h"

static char dir[4096];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/track-%d", kk_test_tmpdir(), (int)getpid());
    return mkdir(dir, 0700);
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(dir);
}

/* The same operations on a track in memory and one on disk. */
static void fill(kk_track *t, const float *a, const float *g)
{
    kk_error err;
    assert_int_equal(kk_track_write(t, 100, a, 5000, &err), KK_OK);
    assert_int_equal(kk_track_mix(t, 3000, a, NULL, 20000, &err), KK_OK);
    assert_int_equal(kk_track_mix(t, 19000, a, g, 20000, &err), KK_OK); /* crosses a mix block */
}

static void test_memory_and_disk_agree(void **state)
{
    (void)state;
    enum { N = 60000 };
    float *a = malloc(20000 * sizeof *a), *g = malloc(20000 * sizeof *g);
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    assert_true(a && g && x && y);
    for (int i = 0; i < 20000; i++)
        a[i] = (float)((i * 7919) % 2001 - 1000) / 1000.0f, g[i] = (float)(20000 - i) / 20000.0f;
    kk_track *m, *d;
    kk_error err;
    assert_int_equal(kk_track_open(&m, N, 0, dir, &err), KK_OK);
    assert_int_equal(kk_track_open(&d, N, 1000, dir, &err), KK_OK); /* 240,000 bytes > 1000: disk */
    assert_false(kk_track_on_disk(m));
    assert_true(kk_track_on_disk(d));
    assert_int_equal(kk_test_dir_entries(dir), 0); /* no name while open */
    fill(m, a, g);
    fill(d, a, g);
    assert_int_equal(kk_track_read(m, 0, x, N, &err), KK_OK);
    assert_int_equal(kk_track_read(d, 0, y, N, &err), KK_OK);
    assert_memory_equal(x, y, N * sizeof *x);
    assert_true(x[0] == 0.0f && y[N - 1] == 0.0f); /* untouched: zero, the file is sparse */
    assert_true(x[3000 + 50] == a[2950] + a[50]);  /* write then mix */
    /* past the end */
    assert_int_equal(kk_track_read(d, N - 10, y, 11, &err), KK_ERR_ARG);
    assert_int_equal(kk_track_write(d, N, a, 1, &err), KK_ERR_ARG);
    assert_int_equal(kk_track_mix(m, UINT64_MAX - 5, a, NULL, 10, &err), KK_ERR_ARG);
    assert_int_equal(kk_track_read(d, N, y, 0, &err), KK_OK);
    /* a memory track hands its samples over; a disk one has none */
    assert_null(kk_track_take_samples(d));
    float *s = kk_track_take_samples(m);
    assert_non_null(s);
    assert_memory_equal(s, x, N * sizeof *x);
    free(s);
    kk_track_free(d);
    assert_int_equal(kk_test_dir_entries(dir), 0);
    free(a), free(g), free(x), free(y);
}

static void test_spool_and_io(void **state)
{
    (void)state;
    kk_track *sp;
    kk_error err;
    assert_int_equal(kk_track_open_spool(&sp, dir, &err), KK_OK);
    float a[300], b[300];
    for (int i = 0; i < 300; i++)
        a[i] = (float)i;
    uint64_t at1, at2;
    assert_int_equal(kk_track_append(sp, a, 100, &at1, &err), KK_OK);
    assert_int_equal(kk_track_append(sp, a + 100, 200, &at2, &err), KK_OK);
    assert_true(at1 == 0 && at2 == 100);
    assert_int_equal(kk_track_length(sp), 300);
    kk_sample_io io = kk_track_io(sp);
    assert_int_equal(io.read(io.user, 0, b, 300, &err), KK_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(io.read(io.user, 250, b, 51, &err), KK_ERR_ARG);
    kk_track_free(sp);
    /* a memory track is no spool */
    kk_track *m;
    assert_int_equal(kk_track_open(&m, 10, 0, NULL, &err), KK_OK);
    assert_int_equal(kk_track_append(m, a, 1, &at1, &err), KK_ERR_ARG);
    kk_track_free(m);
}

static void test_bad_directory(void **state)
{
    (void)state;
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/no/such/dir", dir);
    kk_track *t = (kk_track *)1;
    kk_error err;
    assert_int_equal(kk_track_open(&t, 1000000, 16, missing, &err), KK_ERR_IO);
    assert_null(t);
    assert_non_null(strstr(err.msg, missing));
    assert_non_null(strstr(err.msg, "TMPDIR"));
    assert_int_equal(kk_track_open_spool(&t, missing, &err), KK_ERR_IO);
    /* absurd lengths are refused, not attempted */
    assert_int_equal(kk_track_open(&t, UINT64_MAX / 2, 16, dir, &err), KK_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_and_disk_agree),
        cmocka_unit_test(test_spool_and_io),
        cmocka_unit_test(test_bad_directory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
