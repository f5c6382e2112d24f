/* test_writer.c - SRT, WebVTT and WScribe writers: round trips, and atomic
 * output (no half-written or stray file on failure). */
#include "helpers.h"

#include <dirent.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *RICH_VTT =
    "WEBVTT\n\n"
    "00:00:01.000 --> 00:00:03.500\n<v Anna Lee>Tom &amp; Jerry say 3 &lt; 4 &gt; 2.</v>\n\n"
    "00:00:04.000 --> 00:00:09.000\nA rather long line of dialogue that the writer has to wrap onto two "
    "lines, or even three, because it goes on and on.\n\n"
    "100:00:00.000 --> 100:00:00.001\n<v Ben>Late.</v>\n";

static const char *RICH_JSON =
    "[{\"text\": \"In the beginning\", \"start\": \"00:00:00.000\", \"end\": \"00:00:06.920\", \"score\": 0.85,"
    " \"speaker\": \"Narrator\","
    " \"words\": [{\"text\": \"In\", \"start\": \"00:00:00.000\", \"end\": \"00:00:00.980\", \"score\": 0.53},"
    " {\"text\": \"the \\\"beginning\\\"\", \"start\": \"00:00:01.000\", \"end\": \"00:00:02.000\"}]},"
    " {\"text\": \"Unicode: caf\\u00e9 \\ud83d\\ude00\", \"start\": 7000, \"end\": 8000}]";

static kk_doc *reparse(const char *path, kk_format f)
{
    kk_parse_params p = kk_parse_default_params();
    p.strict = true; /* what we write must parse without a single warning */
    kk_doc *d = NULL;
    kk_error err;
    kk_status st = kk_parse_file(path, &p, &d, &err);
    if (st != KK_OK)
        fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(st, KK_OK);
    assert_int_equal(d->format, f);
    return d;
}

static void same_segments(const kk_doc *a, const kk_doc *b, int speakers, int words)
{
    assert_int_equal(a->n_segs, b->n_segs);
    for (size_t i = 0; i < a->n_segs; i++) {
        const kk_segment *x = &a->segs[i], *y = &b->segs[i];
        assert_string_equal(x->text, y->text);
        assert_int_equal(x->start_ms, y->start_ms);
        assert_int_equal(x->end_ms, y->end_ms);
        if (speakers) {
            assert_true((x->speaker == NULL) == (y->speaker == NULL));
            if (x->speaker)
                assert_string_equal(x->speaker, y->speaker);
        }
        if (words) {
            assert_int_equal(x->n_words, y->n_words);
            for (size_t k = 0; k < x->n_words; k++) {
                assert_string_equal(x->words[k].text, y->words[k].text);
                assert_int_equal(x->words[k].start_ms, y->words[k].start_ms);
                assert_int_equal(x->words[k].end_ms, y->words[k].end_ms);
                assert_true(isnan(x->words[k].score) == isnan(y->words[k].score));
                if (!isnan(x->words[k].score))
                    assert_true(fabs(x->words[k].score - y->words[k].score) < 1e-6);
            }
            assert_true(isnan(x->score) == isnan(y->score));
        }
    }
}

static void round_trip(const char *src_name, const char *src, const char *out_name, kk_format to,
                       int speakers, int words)
{
    warnings w;
    kk_doc *a = parse_ok(src_name, src, KK_FORMAT_AUTO, &w);
    const char *path = tmp_path(out_name);
    kk_error err;
    assert_int_equal(kk_doc_save(a, path, to, &err), KK_OK);
    kk_doc *b = reparse(path, to);
    same_segments(a, b, speakers, words);
    /* And once more: writing what we read back gives the same bytes. */
    char path2[4200];
    snprintf(path2, sizeof path2, "%s.again", path);
    assert_int_equal(kk_doc_save(b, path2, to, &err), KK_OK);
    size_t n1, n2;
    char *f1 = read_file(path, &n1), *f2 = read_file(path2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(f1, f2, n1);
    free(f1);
    free(f2);
    kk_doc_free(a);
    kk_doc_free(b);
}

static void test_round_trip_srt(void **state)
{
    round_trip("rich.vtt", RICH_VTT, "rt.srt", KK_FORMAT_SRT, 0, 0);
    round_trip("s.srt", "1\n00:00:01,000 --> 00:00:02,000\n<i>Italic</i> words\nover two lines\n", "rt2.srt",
               KK_FORMAT_SRT, 0, 0);
}

static void test_round_trip_vtt(void **state)
{
    round_trip("rich.vtt", RICH_VTT, "rt.vtt", KK_FORMAT_VTT, 1, 0);
}

static void test_round_trip_wscribe(void **state)
{
    round_trip("rich.json", RICH_JSON, "rt.json", KK_FORMAT_WSCRIBE, 1, 1);
    round_trip("rich.vtt", RICH_VTT, "rt2.json", KK_FORMAT_WSCRIBE, 1, 0);
}

static void test_round_trip_txt(void **state)
{
    /* Plain text keeps the texts (and nothing else): read back, the same segments' texts. */
    warnings w;
    kk_doc *a = parse_ok("rich.vtt", RICH_VTT, KK_FORMAT_AUTO, &w);
    kk_error err;
    const char *path = tmp_path("rt.txt");
    assert_int_equal(kk_doc_save(a, path, KK_FORMAT_TXT, &err), KK_OK);
    kk_doc *b = reparse(path, KK_FORMAT_TXT);
    assert_int_equal(a->n_segs, b->n_segs);
    for (size_t i = 0; i < a->n_segs; i++) {
        /* a line break inside a cue reads back as a space */
        char *t = strdup(a->segs[i].text);
        for (char *q = t; *q; q++)
            if (*q == '\n')
                *q = ' ';
        assert_string_equal(b->segs[i].text, t);
        assert_true(b->segs[i].start_ms == KK_TIME_NONE);
        free(t);
    }
    kk_doc_free(a);
    kk_doc_free(b);
}

static void test_txt_output_shape(void **state)
{
    /* Untimed text may be written; a blank line inside a text does not split it. */
    kk_doc *d = kk_doc_new(KK_FORMAT_TXT);
    kk_segment s1 = {.start_ms = KK_TIME_NONE, .end_ms = KK_TIME_NONE, .text = "  First line.\n\n\nstill the first.\n", .score = NAN};
    kk_segment s2 = {.start_ms = 1000, .end_ms = 2000, .text = "Second.", .score = NAN};
    assert_int_equal(kk_doc_add(d, &s1), KK_OK);
    assert_int_equal(kk_doc_add(d, &s2), KK_OK);
    kk_error err;
    assert_int_equal(kk_doc_save(d, tmp_path("shape.txt"), KK_FORMAT_TXT, &err), KK_OK);
    char *s = read_file(tmp_path("shape.txt"), NULL);
    assert_string_equal(s, "First line.\nstill the first.\n\nSecond.\n");
    free(s);
    kk_doc_free(d);
}

/* ASS keeps speakers in its Name column (times in centiseconds). */
static void test_round_trip_ass(void **state)
{
    round_trip("two.vtt",
               "WEBVTT\n\n00:01.000 --> 00:02.500\n<v Anna>Hello, Ben there.\n\n"
               "00:03.000 --> 00:04.250\n<v Ben>Hi, Anna.\n\n00:05.000 --> 00:06.000\nNobody.\n",
               "rt.ass", KK_FORMAT_ASS, 1, 0);
    char *s = read_file(tmp_path("rt.ass"), NULL);
    assert_non_null(strstr(s, "Dialogue: 0,0:00:01.00,0:00:02.50,Default,Anna,0,0,0,,Hello, Ben there.\n"));
    assert_non_null(strstr(s, "Dialogue: 0,0:00:05.00,0:00:06.00,Default,,0,0,0,,Nobody.\n"));
    free(s);
}

static void test_srt_output_shape(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("rich.vtt", RICH_VTT, KK_FORMAT_AUTO, &w);
    kk_error err;
    assert_int_equal(kk_doc_save(d, tmp_path("shape.srt"), KK_FORMAT_SRT, &err), KK_OK);
    char *s = read_file(tmp_path("shape.srt"), NULL);
    assert_true(strncmp(s, "1\n00:00:01,000 --> 00:00:03,500\nTom & Jerry say 3 < 4 > 2.\n\n2\n", 62) == 0);
    assert_non_null(strstr(s, "\n3\n100:00:00,000 --> 100:00:00,001\nLate.\n"));
    /* lines wrapped at 42 characters */
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n"))
        assert_true(strlen(line) <= 42);
    free(s);
    kk_doc_free(d);
}

static void test_wscribe_output_shape(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("rich.json", RICH_JSON, KK_FORMAT_AUTO, &w);
    kk_error err;
    assert_int_equal(kk_doc_save(d, tmp_path("shape.json"), KK_FORMAT_WSCRIBE, &err), KK_OK);
    char *s = read_file(tmp_path("shape.json"), NULL);
    /* the WScribe editor's shape: times as HH:MM:SS.mmm strings */
    assert_non_null(strstr(s, "\"start\":\"00:00:00.000\""));
    assert_non_null(strstr(s, "\"end\":\"00:00:06.920\""));
    assert_non_null(strstr(s, "\"words\":[{\"text\":\"In\",\"start\":\"00:00:00.000\",\"end\":\"00:00:00.980\","
                              "\"score\":0.53}"));
    free(s);
    kk_doc_free(d);
}

static int count_tmp_files(const char *dir)
{
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)))
        n += strstr(e->d_name, ".tmp") != NULL;
    closedir(dp);
    return n;
}

static void test_text_without_times_cannot_be_srt(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("p.txt", "Just text.", KK_FORMAT_AUTO, &w);
    const char *path = tmp_path("keep.srt");
    write_file(path, "precious", 8);
    int before = count_tmp_files(tmp_dir());
    kk_error err;
    assert_int_equal(kk_doc_save(d, path, KK_FORMAT_SRT, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "time"));
    /* the existing file is untouched and no temporary file is left behind */
    size_t n;
    char *s = read_file(path, &n);
    assert_int_equal(n, 8);
    assert_memory_equal(s, "precious", 8);
    free(s);
    assert_int_equal(count_tmp_files(tmp_dir()), before);
    kk_doc_free(d);
}

static void test_abort_leaves_nothing(void **state)
{
    const char *path = tmp_path("aborted.vtt");
    remove(path);
    kk_writer *w = NULL;
    kk_error err;
    assert_int_equal(kk_writer_open(&w, path, KK_FORMAT_VTT, &err), KK_OK);
    kk_segment seg = {.start_ms = 0, .end_ms = 10, .text = "x", .score = NAN};
    assert_int_equal(kk_writer_add(w, &seg, &err), KK_OK);
    assert_false(file_exists(path)); /* nothing at the target before commit */
    kk_writer_abort(w);
    assert_false(file_exists(path));
}

static void test_unwritable_directory(void **state)
{
    kk_writer *w = NULL;
    kk_error err;
    assert_int_equal(kk_writer_open(&w, tmp_path("no/such/dir/out.srt"), KK_FORMAT_SRT, &err), KK_ERR_IO);
    assert_null(w);
    assert_non_null(strstr(err.msg, "no/such/dir/out.srt"));
    /* every format can be written now; AUTO names none */
    assert_int_equal(kk_writer_open(&w, tmp_path("x.out"), KK_FORMAT_AUTO, &err), KK_ERR_UNSUPPORTED);
}

static void test_format_time(void **state)
{
    char b[32];
    kk_format_time(0, ',', b, sizeof b);
    assert_string_equal(b, "00:00:00,000");
    kk_format_time(3723456, '.', b, sizeof b);
    assert_string_equal(b, "01:02:03.456");
    kk_format_time(360000001, ',', b, sizeof b);
    assert_string_equal(b, "100:00:00,001");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_srt),
        cmocka_unit_test(test_round_trip_vtt),
        cmocka_unit_test(test_round_trip_wscribe),
        cmocka_unit_test(test_round_trip_ass),
        cmocka_unit_test(test_srt_output_shape),
        cmocka_unit_test(test_wscribe_output_shape),
        cmocka_unit_test(test_round_trip_txt),
        cmocka_unit_test(test_txt_output_shape),
        cmocka_unit_test(test_text_without_times_cannot_be_srt),
        cmocka_unit_test(test_abort_leaves_nothing),
        cmocka_unit_test(test_unwritable_directory),
        cmocka_unit_test(test_format_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
