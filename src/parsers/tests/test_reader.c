/* test_reader.c - decoding and line splitting: BOMs, UTF-16, line ends,
 * invalid bytes, long lines, and the chunk boundary of the reader. */
#include "helpers.h"
#include "parsers_internal.h"

#include <stdlib.h>
#include <string.h>

/* Reads every line of data through the reader, joined with '|'. */
static int lines_of(const void *data, size_t len, char *out, size_t size, kk_error *err)
{
    kk_reader r;
    kk_reader_init_mem(&r, "mem", data, len);
    out[0] = '\0';
    int rc, n = 0;
    while ((rc = kk_reader_getline(&r, err)) == 1) {
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s%s", n++ ? "|" : "", r.line.data ? r.line.data : "");
    }
    kk_reader_free(&r);
    return rc < 0 ? -1 : n;
}

static void test_line_ends(void **state)
{
    char out[256];
    kk_error err;
    assert_int_equal(lines_of("a\nb\r\nc\rd", 8, out, sizeof out, &err), 4);
    assert_string_equal(out, "a|b|c|d");
    /* An empty line between CR CR is a line, CR LF is one end. */
    assert_int_equal(lines_of("a\r\rb\r\n\r\nc", 9, out, sizeof out, &err), 5);
    assert_string_equal(out, "a||b||c");
}

static void test_utf8_bom_skipped(void **state)
{
    char out[256];
    kk_error err;
    assert_int_equal(lines_of("\xEF\xBB\xBFhello\nw\xC3\xB6rld\n", 16, out, sizeof out, &err), 2);
    assert_string_equal(out, "hello|w\xC3\xB6rld");
}

/* UTF-8 text to UTF-16 with a BOM (le or be), with a surrogate pair for U+1F600. */
static size_t utf16(const char *ascii, int le, unsigned char *out)
{
    size_t n = 0;
    unsigned units[256];
    size_t k = 0;
    units[k++] = 0xFEFF;
    for (const char *p = ascii; *p; p++) {
        if (*p == '@') { /* stands for U+1F600 */
            units[k++] = 0xD83D;
            units[k++] = 0xDE00;
        } else if (*p == '~') { /* stands for U+00E9 */
            units[k++] = 0xE9;
        } else {
            units[k++] = (unsigned char)*p;
        }
    }
    for (size_t i = 0; i < k; i++) {
        out[n++] = le ? units[i] & 0xFF : units[i] >> 8;
        out[n++] = le ? units[i] >> 8 : units[i] & 0xFF;
    }
    return n;
}

static void test_utf16_le_and_be(void **state)
{
    unsigned char b[1024];
    char out[256];
    kk_error err;
    for (int le = 0; le <= 1; le++) {
        size_t n = utf16("caf~\r\nsmile @\n", le, b);
        assert_int_equal(lines_of(b, n, out, sizeof out, &err), 2);
        assert_string_equal(out, "caf\xC3\xA9|smile \xF0\x9F\x98\x80");
    }
}

static void test_utf16_srt_parses(void **state)
{
    unsigned char b[1024];
    size_t n = utf16("1\r\n00:00:01,000 --> 00:00:02,000\r\nCaf~ @\r\n", 1, b);
    kk_status st;
    kk_error err;
    kk_doc *d = parse_bytes("u16.srt", b, n, KK_FORMAT_AUTO, 0, NULL, &st, &err);
    assert_int_equal(st, KK_OK);
    assert_int_equal(d->n_segs, 1);
    assert_string_equal(d->segs[0].text, "Caf\xC3\xA9 \xF0\x9F\x98\x80");
    kk_doc_free(d);
}

static void test_lone_surrogate_reported(void **state)
{
    /* "ab\n" then a lone high surrogate then "c" on line 2 (UTF-16LE). */
    const unsigned char b[] = {0xFF, 0xFE, 'a', 0, 'b', 0, '\n', 0, 0x3D, 0xD8, 'c', 0, '\n', 0};
    kk_status st;
    kk_error err;
    kk_doc *d = parse_bytes("bad16.txt", b, sizeof b, KK_FORMAT_TXT, 0, NULL, &st, &err);
    assert_null(d);
    assert_int_equal(st, KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "bad16.txt:2"));
}

static void test_invalid_utf8_line_and_column(void **state)
{
    const char *t = "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 --> 00:00:04,000\nab\xC3(\n";
    kk_status st;
    kk_error err;
    kk_doc *d = parse_str("bad.srt", t, KK_FORMAT_AUTO, 0, NULL, &st, &err);
    assert_null(d);
    assert_int_equal(st, KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "bad.srt:7"));
    assert_non_null(strstr(err.msg, "UTF-8"));
    assert_non_null(strstr(err.msg, "column 3"));
}

static void test_overlong_and_surrogate_utf8_rejected(void **state)
{
    kk_status st;
    kk_error err;
    /* Overlong encoding of '/' and an encoded surrogate: both invalid. */
    assert_null(parse_str("o.txt", "x \xC0\xAF y\n", KK_FORMAT_TXT, 0, NULL, &st, &err));
    assert_int_equal(st, KK_ERR_INPUT);
    assert_null(parse_str("s.txt", "x \xED\xA0\x80 y\n", KK_FORMAT_TXT, 0, NULL, &st, &err));
    assert_int_equal(st, KK_ERR_INPUT);
}

static void test_nul_byte_is_binary(void **state)
{
    const char b[] = "1\n00:00:01,000 --> 00:00:02,000\nhi\0there\n";
    kk_status st;
    kk_error err;
    kk_doc *d = parse_bytes("bin.srt", b, sizeof b - 1, KK_FORMAT_AUTO, 0, NULL, &st, &err);
    assert_null(d);
    assert_int_equal(st, KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "bin.srt:3"));
    assert_non_null(strstr(err.msg, "binary"));
}

static void test_random_garbage_is_an_error(void **state)
{
    unsigned char b[4096];
    unsigned x = 12345;
    for (size_t i = 0; i < sizeof b; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (unsigned char)(x >> 16);
    }
    for (kk_format f = KK_FORMAT_AUTO; f <= KK_FORMAT_WSCRIBE; f++) {
        kk_status st;
        kk_error err;
        kk_doc *d = parse_bytes("garbage.bin", b, sizeof b, f, 0, NULL, &st, &err);
        assert_null(d);
        assert_int_equal(st, KK_ERR_INPUT);
        assert_true(strlen(err.msg) > 0);
    }
}

static void test_cr_lf_split_across_chunks(void **state)
{
    /* Put a CR as the very last byte of the reader's first 64 KiB chunk and
     * its LF as the first byte of the next: one line end, not two. */
    size_t chunk = sizeof(((kk_reader *)0)->raw);
    char *b = malloc(chunk + 16);
    memset(b, 'x', chunk - 1);
    b[chunk - 1] = '\r';
    memcpy(b + chunk, "\nnext\n", 6);
    kk_reader r;
    kk_error err;
    kk_reader_init_mem(&r, "mem", b, chunk + 6);
    int lines = 0;
    while (kk_reader_getline(&r, &err) == 1) {
        if (lines == 0)
            assert_int_equal(r.line.len, chunk - 1);
        else
            assert_string_equal(r.line.data, "next");
        lines++;
    }
    kk_reader_free(&r);
    assert_int_equal(lines, 2);
    free(b);
}

static void test_multibyte_split_across_chunks(void **state)
{
    /* A 2-byte UTF-16 unit and a 3-byte UTF-8 sequence straddling the chunk end. */
    size_t chunk = sizeof(((kk_reader *)0)->raw);
    char *b = malloc(chunk + 16);
    memset(b, 'a', chunk + 16);
    memcpy(b + chunk - 1, "\xE2\x82\xAC\n", 4); /* euro sign */
    kk_reader r;
    kk_error err;
    kk_reader_init_mem(&r, "mem", b, chunk + 3);
    assert_int_equal(kk_reader_getline(&r, &err), 1);
    assert_int_equal(r.line.len, chunk - 1 + 3);
    assert_memory_equal(r.line.data + chunk - 1, "\xE2\x82\xAC", 3);
    kk_reader_free(&r);
    free(b);
}

static void test_line_too_long(void **state)
{
    size_t n = KK_MAX_LINE_BYTES + 10;
    char *b = malloc(n);
    memset(b, 'a', n);
    kk_status st;
    kk_error err;
    kk_doc *d = parse_bytes("long.txt", b, n, KK_FORMAT_TXT, 0, NULL, &st, &err);
    assert_null(d);
    assert_int_equal(st, KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "long.txt:1"));
    free(b);
}

static void test_missing_file_is_io_error(void **state)
{
    kk_parse_params p = kk_parse_default_params();
    kk_doc *d = NULL;
    kk_error err;
    assert_int_equal(kk_parse_file(tmp_path("does-not-exist.srt"), &p, &d, &err), KK_ERR_IO);
    assert_null(d);
    assert_non_null(strstr(err.msg, "does-not-exist.srt"));
}

static void test_empty_file_is_error(void **state)
{
    kk_status st;
    kk_error err;
    assert_null(parse_str("empty.srt", "", KK_FORMAT_AUTO, 0, NULL, &st, &err));
    assert_int_equal(st, KK_ERR_INPUT);
    assert_null(parse_str("blank.txt", "\n\n  \n", KK_FORMAT_AUTO, 0, NULL, &st, &err));
    assert_int_equal(st, KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "blank.txt"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_ends),
        cmocka_unit_test(test_utf8_bom_skipped),
        cmocka_unit_test(test_utf16_le_and_be),
        cmocka_unit_test(test_utf16_srt_parses),
        cmocka_unit_test(test_lone_surrogate_reported),
        cmocka_unit_test(test_invalid_utf8_line_and_column),
        cmocka_unit_test(test_overlong_and_surrogate_utf8_rejected),
        cmocka_unit_test(test_nul_byte_is_binary),
        cmocka_unit_test(test_random_garbage_is_an_error),
        cmocka_unit_test(test_cr_lf_split_across_chunks),
        cmocka_unit_test(test_multibyte_split_across_chunks),
        cmocka_unit_test(test_line_too_long),
        cmocka_unit_test(test_missing_file_is_io_error),
        cmocka_unit_test(test_empty_file_is_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
