/* test_wscribe.c - WScribe JSON transcripts: segments, word timings, scores,
 * numeric times, and bad documents. */
#include "helpers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *SAMPLE =
    "[\n"
    "  {\"text\": \"In the beginning\", \"start\": \"00:00:00.000\", \"end\": \"00:00:06.920\", \"score\": 0.85,\n"
    "   \"words\": [{\"text\": \"In\", \"start\": \"00:00:00.000\", \"end\": \"00:00:00.980\", \"score\": 0.53},\n"
    "             {\"text\": \"the\", \"start\": \"00:00:01.000\", \"end\": \"00:00:01.200\", \"score\": 0.9},\n"
    "             {\"text\": \"beginning\", \"start\": \"00:00:01.300\", \"end\": \"00:00:02.000\"}]},\n"
    "  {\"text\": \"  numbers as ms \", \"start\": 7000, \"end\": 9500.4, \"speaker\": \"Ann\"}\n"
    "]\n";

static void test_sample(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("t.json", SAMPLE, KK_FORMAT_AUTO, &w);
    assert_int_equal(d->format, KK_FORMAT_WSCRIBE);
    assert_int_equal(d->n_segs, 2);
    kk_segment *s = &d->segs[0];
    assert_string_equal(s->text, "In the beginning");
    assert_int_equal(s->start_ms, 0);
    assert_int_equal(s->end_ms, 6920);
    assert_true(fabs(s->score - 0.85) < 1e-9);
    assert_int_equal(s->line, 2);
    assert_int_equal(s->n_words, 3);
    assert_string_equal(s->words[0].text, "In");
    assert_int_equal(s->words[0].end_ms, 980);
    assert_true(fabs(s->words[0].score - 0.53) < 1e-9);
    assert_int_equal(s->words[2].start_ms, 1300);
    assert_true(isnan(s->words[2].score));
    s = &d->segs[1];
    assert_string_equal(s->text, "numbers as ms");
    assert_int_equal(s->start_ms, 7000);
    assert_int_equal(s->end_ms, 9500);
    assert_string_equal(s->speaker, "Ann");
    assert_int_equal(s->line, 6);
    assert_null(s->words);
    assert_true(isnan(s->score));
    assert_int_equal(w.count, 0);
    kk_doc_free(d);
}

static void test_bad_segments_skipped(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("b.json",
                         "[\n"
                         "{\"text\": \"no times\"},\n"
                         "{\"text\": \"back\", \"start\": \"00:00:05.000\", \"end\": \"00:00:04.000\"},\n"
                         "42,\n"
                         "{\"text\": \"ok\", \"start\": \"00:00:05.000\", \"end\": \"00:00:06.000\",\n"
                         " \"words\": [{\"text\": \"ok\", \"start\": \"bad\", \"end\": \"00:00:06.000\"}, 7]}\n"
                         "]",
                         KK_FORMAT_WSCRIBE, &w);
    assert_int_equal(d->n_segs, 1);
    assert_string_equal(d->segs[0].text, "ok");
    assert_int_equal(d->segs[0].n_words, 1);
    assert_int_equal(d->segs[0].words[0].start_ms, KK_TIME_NONE);
    assert_int_equal(w.count, 5);
    assert_non_null(strstr(w.all, "b.json:2: segment 1 has a missing"));
    assert_non_null(strstr(w.all, "b.json:3: segment 2: end time is before"));
    assert_non_null(strstr(w.all, "b.json:4: segment 3 is not an object"));
    assert_non_null(strstr(w.all, "b.json:5: segment 4: word \"ok\""));
    kk_doc_free(d);
}

static void test_invalid_json_reports_line(void **state)
{
    kk_status st;
    kk_error err;
    kk_doc *d = parse_str("x.json", "[\n{\"text\": \"a\",\n \"start\": oops}\n]", KK_FORMAT_WSCRIBE, 0, NULL, &st,
                          &err);
    assert_null(d);
    assert_int_equal(st, KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "x.json:3: not valid JSON"));
}

static void test_not_an_array(void **state)
{
    kk_status st;
    kk_error err;
    assert_null(parse_str("o.json", "{\"segments\": []}", KK_FORMAT_WSCRIBE, 0, NULL, &st, &err));
    assert_int_equal(st, KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "JSON array"));
    assert_null(parse_str("e.json", "[]", KK_FORMAT_WSCRIBE, 0, NULL, &st, &err));
    assert_int_equal(st, KK_ERR_INPUT);
}

static void test_strict(void **state)
{
    kk_status st;
    kk_error err;
    const char *t = "[{\"text\": \"x\"}, {\"text\": \"y\", \"start\": 0, \"end\": 10}]";
    assert_null(parse_str("s.json", t, KK_FORMAT_WSCRIBE, 1, NULL, &st, &err));
    assert_int_equal(st, KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "strict"));
}

static void test_segment_json_shape(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("t.json", SAMPLE, KK_FORMAT_WSCRIBE, &w);
    char *j = kk_segment_to_json(&d->segs[1]);
    assert_string_equal(j, "{\"index\":2,\"start_ms\":7000,\"end_ms\":9500,\"text\":\"numbers as ms\","
                           "\"speaker\":\"Ann\",\"line\":6}");
    free(j);
    j = kk_segment_to_json(&d->segs[0]);
    assert_non_null(strstr(j, "\"score\":0.85"));
    assert_non_null(strstr(j, "\"words\":[{\"text\":\"In\",\"start_ms\":0,\"end_ms\":980"));
    free(j);
    kk_doc_free(d);
}

/* Issue 13: the 1000-hour bound, for clock strings and for numbers of
 * milliseconds; a word past it keeps its text and loses its times. */
static void test_time_past_the_limit(void **state)
{
    const char *t = "[\n"
                    "{\"text\": \"far\", \"start\": \"999999:00:00.000\", \"end\": \"999999:00:01.000\"},\n"
                    "{\"text\": \"far ms\", \"start\": 0, \"end\": 3600000001},\n"
                    "{\"text\": \"near\", \"start\": 5000, \"end\": 6000,\n"
                    " \"words\": [{\"text\": \"near\", \"start\": 5000, \"end\": 99999999999999}]}\n"
                    "]";
    warnings w;
    kk_doc *d = parse_ok("far.json", t, KK_FORMAT_WSCRIBE, &w);
    assert_int_equal(d->n_segs, 1);
    assert_string_equal(d->segs[0].text, "near");
    assert_int_equal(d->segs[0].n_words, 1);
    assert_string_equal(d->segs[0].words[0].text, "near");
    assert_int_equal(d->segs[0].words[0].start_ms, KK_TIME_NONE);
    assert_int_equal(w.count, 3);
    assert_non_null(strstr(w.all, "far.json:2: time 999999:00:01,000 is past the limit of 1000 hours"));
    assert_non_null(strstr(w.all, "far.json:3: time 1000:00:00,001 is past the limit"));
    assert_non_null(strstr(w.all, "far.json:4: word \"near\" has a time past the limit"));
    kk_doc_free(d);
    kk_status st;
    kk_error err;
    assert_null(parse_str("far.json", t, KK_FORMAT_WSCRIBE, 1, NULL, &st, &err));
    assert_int_equal(st, KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "far.json:2: time 999999:00:01,000"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_bad_segments_skipped),
        cmocka_unit_test(test_invalid_json_reports_line),
        cmocka_unit_test(test_not_an_array),
        cmocka_unit_test(test_strict),
        cmocka_unit_test(test_segment_json_shape),
        cmocka_unit_test(test_time_past_the_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
