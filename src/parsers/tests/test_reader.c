/* test_reader.c - decoding and line splitting: BOMs, UTF-16, line ends,
 * invalid bytes, long lines, and the chunk boundary of the reader. */
#include "helpers.h"
#include "parsers_internal.h"

#include <iconv.h>
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

/* Parses text read as the encoding named (NULL: auto); the encoding read
 * into enc when it is not NULL. */
static kk_doc *parse_enc(const char *name, const void *data, size_t len, const char *encoding, char *enc,
                         kk_status *st, kk_error *err)
{
    kk_parse_params p = kk_parse_default_params();
    p.encoding = encoding;
    p.encoding_out = enc;
    kk_doc *d = NULL;
    *st = kk_parse_memory(name, data, len, &p, &d, err);
    return d;
}

/* Text that is not UTF-8 throughout, read as UTF-8 (named): the bad byte's
 * line and column. */
static void test_invalid_utf8_line_and_column(void **state)
{
    const char *t = "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 --> 00:00:04,000\nab\xC3(\n";
    kk_status st;
    kk_error err;
    kk_doc *d = parse_enc("bad.srt", t, strlen(t), "UTF-8", NULL, &st, &err);
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
    assert_null(parse_enc("o.txt", "x \xC0\xAF y\n", 7, "UTF-8", NULL, &st, &err));
    assert_int_equal(st, KK_ERR_INPUT);
    assert_null(parse_enc("s.txt", "x \xED\xA0\x80 y\n", 8, "UTF-8", NULL, &st, &err));
    assert_int_equal(st, KK_ERR_INPUT);
}

/* UTF-8 text converted to another encoding with iconv, for the tests. */
static char *encode(const char *utf8, const char *to, size_t *len)
{
    iconv_t cd = iconv_open(to, "UTF-8");
    assert_true(cd != (iconv_t)-1);
    size_t in_left = strlen(utf8), cap = in_left * 4 + 16, out_left = cap;
    char *out = malloc(cap), *in = (char *)utf8, *o = out;
    assert_true(iconv(cd, &in, &in_left, &o, &out_left) != (size_t)-1);
    iconv_close(cd);
    *len = cap - out_left;
    return out;
}

/* A Windows-1252 file (curly quotes, a euro sign, accents: bytes 0x80..0xFF
 * that are not UTF-8) is detected and read right. */
static void test_windows_1252_detected(void **state)
{
    const char *t = "1\n00:00:01,000 --> 00:00:02,000\n\xE2\x80\x9C" "Caf\xC3\xA9 cr\xC3\xA8me\xE2\x80\x9D, "
                    "10 \xE2\x82\xAC, na\xC3\xAFve r\xC3\xA9sum\xC3\xA9.\n\n2\n00:00:03,000 --> 00:00:04,000\n"
                    "Se\xC3\xB1or, \xC2\xBFqu\xC3\xA9 tal? D\xC3\xA9j\xC3\xA0 vu \xE2\x80\x94 tr\xC3\xA8s bien.\n";
    size_t len;
    char *cp = encode(t, "WINDOWS-1252", &len);
    char enc[KK_ENCODING_NAME_MAX] = "";
    kk_status st;
    kk_error err;
    kk_doc *d = parse_enc("w.srt", cp, len, NULL, enc, &st, &err);
    assert_int_equal(st, KK_OK);
    assert_string_equal(enc, "WINDOWS-1252");
    assert_int_equal(d->n_segs, 2);
    assert_string_equal(d->segs[0].text, "\xE2\x80\x9C" "Caf\xC3\xA9 cr\xC3\xA8me\xE2\x80\x9D, 10 \xE2\x82\xAC, "
                                         "na\xC3\xAFve r\xC3\xA9sum\xC3\xA9.");
    kk_doc_free(d);
    /* The same bytes named as another encoding read as that one. */
    d = parse_enc("w.srt", cp, len, "ISO-8859-5", enc, &st, &err);
    assert_int_equal(st, KK_OK);
    assert_string_equal(enc, "ISO-8859-5");
    assert_string_not_equal(d->segs[0].text, "\xE2\x80\x9C" "Caf\xC3\xA9");
    kk_doc_free(d);
    /* An unknown name is the caller's error, named. */
    assert_null(parse_enc("w.srt", cp, len, "NO-SUCH-CODE", NULL, &st, &err));
    assert_int_equal(st, KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "NO-SUCH-CODE"));
    free(cp);
}

/* A Shift-JIS file is detected and read right. */
static void test_shift_jis_detected(void **state)
{
    const char *t = "1\n00:00:01,000 --> 00:00:02,000\n"
                    "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE5\xAD\x97\xE5\xB9\x95\xE3\x81\xA7\xE3\x81\x99"
                    "\xE3\x80\x82\xE3\x81\x93\xE3\x82\x8C\xE3\x81\xAF\xE3\x83\x86\xE3\x82\xB9\xE3\x83\x88\xE3\x81\xA7"
                    "\xE3\x81\x99\xE3\x80\x82\n\n2\n00:00:03,000 --> 00:00:04,000\n"
                    "\xE6\x9D\xB1\xE4\xBA\xAC\xE3\x81\xAF\xE5\xA4\xA7\xE3\x81\x8D\xE3\x81\xAA\xE9\x83\xBD\xE5\xB8\x82"
                    "\xE3\x81\xA7\xE3\x81\x99\xE3\x80\x82\xE7\xA7\x81\xE3\x81\xAF\xE6\xAF\x8E\xE6\x97\xA5\xE9\x9B\xBB"
                    "\xE8\xBB\x8A\xE3\x81\xAB\xE4\xB9\x97\xE3\x82\x8A\xE3\x81\xBE\xE3\x81\x99\xE3\x80\x82\n";
    size_t len;
    char *sj = encode(t, "SHIFT_JIS", &len);
    char enc[KK_ENCODING_NAME_MAX] = "";
    kk_status st;
    kk_error err;
    kk_doc *d = parse_enc("j.srt", sj, len, NULL, enc, &st, &err);
    assert_int_equal(st, KK_OK);
    assert_string_equal(enc, "SHIFT_JIS");
    assert_int_equal(d->n_segs, 2);
    assert_non_null(strstr(t, d->segs[1].text));
    kk_doc_free(d);
    free(sj);
}

/* UTF-8 (no mark) is still UTF-8; kk_detect_encoding agrees with the
 * parse. */
static void test_detect_encoding(void **state)
{
    char enc[KK_ENCODING_NAME_MAX];
    kk_detect_encoding("plain \xC3\xA9t\xC3\xA9\n", 11, enc, sizeof enc);
    assert_string_equal(enc, "UTF-8");
    kk_detect_encoding("\xFF\xFEh\0i\0", 6, enc, sizeof enc);
    assert_string_equal(enc, "UTF-16LE");
    kk_detect_encoding("caf\xE9 cr\xE8me br\xFBl\xE9" "e\n", 17, enc, sizeof enc);
    assert_string_equal(enc, "WINDOWS-1252");
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
        cmocka_unit_test(test_windows_1252_detected),
        cmocka_unit_test(test_shift_jis_detected),
        cmocka_unit_test(test_detect_encoding),
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
