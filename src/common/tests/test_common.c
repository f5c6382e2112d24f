/* test_common.c - the shared helpers: the monotonic clock, mkdir -p, UTF-8
 * checks, the errno an I/O error records (a full disk told apart), base64
 * into a buffer, the emphasis markup recognised and stripped. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "kk_error.h"
#include "buf.h"
#include "kk_fs.h"
#include "kk_time.h"
#include "kk_utf8.h"
#include "kk_emphasis.h"
#include "kk_testutil.h"

static void clock_moves_forward(void **state)
{
    (void)state;
    double a = kk_now_s();
    struct timespec d = {0, 20000000};
    nanosleep(&d, NULL);
    double b = kk_now_s();
    assert_true(b - a >= 0.015 && b - a < 5.0);
    assert_true(kk_now_ms() >= b * 1e3);
}

static const char *tmpdir(void) { return kk_test_tmpdir(); }

static void mkdirs_makes_parents(void **state)
{
    (void)state;
    char path[1100], file[1024], failed[1100];
    snprintf(path, sizeof path, "%s/kk_mkdirs_%d/a//b/c/", tmpdir(), (int)getpid());
    assert_int_equal(kk_mkdirs(path, 0755, failed, sizeof failed), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(kk_mkdirs(path, 0755, failed, sizeof failed), 0); /* exists: fine */
    /* a file in the way: ENOTDIR, and the component is named */
    snprintf(file, sizeof file, "%s/kk_mkdirs_%d/a/file", tmpdir(), (int)getpid());
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/sub", file);
    errno = 0;
    assert_int_equal(kk_mkdirs(path, 0755, failed, sizeof failed), -1);
    assert_int_equal(errno, ENOTDIR);
    assert_string_equal(failed, file);
    /* an empty path is an error, not a read of uninitialised memory */
    errno = 0;
    assert_int_equal(kk_mkdirs("", 0755, failed, sizeof failed), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(kk_mkdirs(NULL, 0755, NULL, 0), -1);
}

static void utf8_checks(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int ok;
    } cases[] = {
        {"plain ASCII", 1},    {"caf\xc3\xa9", 1},       {"\xe2\x82\xac 5", 1}, {"\xf0\x9f\x98\x80", 1},
        {"\xc0\xaf", 0},       /* overlong */            {"\xed\xa0\x80", 0},   /* surrogate */
        {"\xf4\x90\x80\x80", 0}, /* above U+10FFFF */    {"\xe2\x82", 0},       /* cut short */
        {"\x80", 0},           {"\xff", 0},              {"", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (kk_utf8_valid(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
            fail_msg("case %zu: want %d", i, cases[i].ok);
    /* the length bounds the check: a sequence cut by n is invalid */
    assert_false(kk_utf8_valid("caf\xc3\xa9", 4));
    assert_true(kk_utf8_valid("a\0b", 3));
}

/* kk_error_set records errno for I/O errors only, at the call, and leaves
 * errno as it was; kk_error_disk_full tells ENOSPC and EDQUOT apart from
 * other I/O failures (the server's 507, src/server/http.c). */
static void error_records_errno(void **state)
{
    (void)state;
    kk_error err;
    kk_error_clear(&err);
    assert_int_equal(err.sys_errno, 0);
    errno = ENOSPC;
    assert_int_equal(kk_error_set(&err, KK_ERR_IO, "x: write failed: %s", strerror(ENOSPC)), KK_ERR_IO);
    assert_int_equal(err.sys_errno, ENOSPC);
    assert_int_equal(errno, ENOSPC);
    assert_true(kk_error_disk_full(&err));
    errno = EDQUOT;
    kk_error_set(&err, KK_ERR_IO, "quota");
    assert_true(kk_error_disk_full(&err));
    errno = EACCES; /* another I/O failure */
    kk_error_set(&err, KK_ERR_IO, "denied");
    assert_int_equal(err.sys_errno, EACCES);
    assert_false(kk_error_disk_full(&err));
    errno = ENOSPC; /* stale: not an I/O error, nothing recorded */
    kk_error_set(&err, KK_ERR_INPUT, "bad input");
    assert_int_equal(err.sys_errno, 0);
    assert_false(kk_error_disk_full(&err));
    errno = ENOSPC;
    kk_error_set(&err, KK_ERR_IO, "full");
    kk_error_clear(&err);
    assert_int_equal(err.sys_errno, 0);
    assert_false(kk_error_disk_full(&err));
    assert_false(kk_error_disk_full(NULL));
    errno = ENOSPC;
    assert_int_equal(kk_error_set(NULL, KK_ERR_IO, "no err"), KK_ERR_IO);
    /* a message longer than the buffer: cut, still recorded */
    char big[KK_ERROR_MSG_MAX * 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    errno = ENOSPC;
    kk_error_set(&err, KK_ERR_IO, "%s", big);
    assert_int_equal(strlen(err.msg), KK_ERROR_MSG_MAX - 1);
    assert_true(kk_error_disk_full(&err));
}

/* RFC 4648's test vectors, appended after what the buffer holds. */
static void base64_appends(void **state)
{
    (void)state;
    static const char *const want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t n = 0; n <= 6; n++) {
        kk_buf b = {0};
        assert_int_equal(kk_buf_puts(&b, ">"), 0);
        assert_int_equal(kk_buf_base64(&b, "foobar", n), 0);
        assert_string_equal(b.data + 1, want[n]);
        assert_int_equal(b.len, 1 + strlen(want[n]));
        kk_buf_free(&b);
    }
    const unsigned char bin[3] = {0xff, 0x00, 0xfe};
    kk_buf b = {0};
    assert_int_equal(kk_buf_base64(&b, bin, 3), 0);
    assert_string_equal(b.data, "/wD+");
    kk_buf_free(&b);
}

/* The emphasis markup: where it is, its words, and the shapes that are not
 * emphasis (read as text). */
static void emphasis_markup(void **state)
{
    (void)state;
    const char *t = "I [never](+) said *she* stole it.";
    size_t n = strlen(t);
    kk_emphasis_span sp;
    assert_int_equal(kk_emphasis_at(t, n, 2, &sp), 1);
    assert_int_equal(sp.start, 2);
    assert_int_equal(sp.end, 12);
    assert_int_equal(sp.text_start, 3);
    assert_int_equal(sp.text_end, 8);
    assert_int_equal(kk_emphasis_at(t, n, 18, &sp), 1);
    assert_int_equal(sp.start, 18);
    assert_int_equal(sp.end, 23);
    assert_int_equal(sp.text_start, 19);
    assert_int_equal(sp.text_end, 22);
    assert_int_equal(kk_emphasis_at(t, n, 3, &sp), 0);
    char *p = kk_emphasis_strip(t);
    assert_string_equal(p, "I never said she stole it.");
    free(p);
    assert_int_equal(kk_emphasis_any(t), 1);
    /* not emphasis: kept as written */
    static const char *const plain[] = {
        "[word](", "[](+)", "[ ](+)", "[word](+", "[word] (+)", "[wo\nrd](+)", "[Kokoro](/kˈOkəɹO/)",
        "2*3*4", "a * b * c", "footnote*", "*word", "* word*", "*word *", "*a*b", "**bold**", "[pause:500ms]",
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        assert_int_equal(kk_emphasis_any(plain[i]), 0);
        char *q = kk_emphasis_strip(plain[i]);
        assert_string_equal(q, plain[i]);
        free(q);
    }
    /* after an opening mark, before punctuation; a phrase; a UTF-8 word */
    p = kk_emphasis_strip("(*really*), \u201c*très*\u201d [so very](+)!");
    assert_string_equal(p, "(really), \u201ctrès\u201d so very!");
    free(p);
    assert_null(kk_emphasis_strip(NULL));
    assert_int_equal(kk_emphasis_at("x", 1, 5, &sp), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clock_moves_forward),
        cmocka_unit_test(mkdirs_makes_parents),
        cmocka_unit_test(utf8_checks),
        cmocka_unit_test(error_records_errno),
        cmocka_unit_test(base64_appends),
        cmocka_unit_test(emphasis_markup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
