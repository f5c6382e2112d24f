/* test_cli.c - `kokoro parse` and `kokoro convert` as a user runs them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_helpers.h"

static void test_parse_example(void **state)
{
    run_result r = run(NULL, "parse '%s'", example("welcome.srt"));
    assert_int_equal(r.code, 0);
    assert_string_equal(r.err, "");
    cJSON *j = cJSON_Parse(r.out);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "format")->valuestring, "srt");
    cJSON *segs = cJSON_GetObjectItem(j, "segments");
    assert_int_equal(cJSON_GetArraySize(segs), 3);
    cJSON *s = cJSON_GetArrayItem(segs, 0);
    assert_int_equal(cJSON_GetObjectItem(s, "index")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(s, "start_ms")->valueint, 500);
    assert_int_equal(cJSON_GetObjectItem(s, "end_ms")->valueint, 3200);
    assert_string_equal(cJSON_GetObjectItem(s, "text")->valuestring, "Welcome to Kokoro Studio.");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(s, "speaker")));
    assert_int_equal(cJSON_GetObjectItem(s, "line")->valueint, 2);
    assert_null(cJSON_GetObjectItem(s, "words"));
    cJSON_Delete(j);
    done(&r);
}

static void test_parse_text_has_null_times(void **state)
{
    run_result r = run("First paragraph.\n\nSecond.\n", "parse - --format txt");
    assert_int_equal(r.code, 0);
    cJSON *j = cJSON_Parse(r.out);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "format")->valuestring, "txt");
    cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "segments"), 1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(s, "start_ms")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(s, "end_ms")));
    assert_int_equal(cJSON_GetObjectItem(s, "line")->valueint, 3);
    cJSON_Delete(j);
    done(&r);
}

static void test_parse_words_and_speaker(void **state)
{
    put(tmp("w.json"), "[{\"text\": \"Hi you\", \"start\": \"00:00:01.000\", \"end\": \"00:00:02.000\","
                       " \"speaker\": \"Ann\", \"words\": [{\"text\": \"Hi\", \"start\": 1000, \"end\": 1400},"
                       " {\"text\": \"you\", \"start\": 1500, \"end\": 2000}]}]");
    run_result r = run(NULL, "parse '%s'", tmp("w.json"));
    assert_int_equal(r.code, 0);
    cJSON *j = cJSON_Parse(r.out);
    cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "segments"), 0);
    assert_string_equal(cJSON_GetObjectItem(s, "speaker")->valuestring, "Ann");
    cJSON *w = cJSON_GetObjectItem(s, "words");
    assert_int_equal(cJSON_GetArraySize(w), 2);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(w, 1), "start_ms")->valueint, 1500);
    cJSON_Delete(j);
    done(&r);
}

static const char *BROKEN =
    "1\n00:00:01,000 --> 00:00:02,000\nGood.\n\n"
    "2\n00:00:05,000 --> 00:00:04,000\nBackwards.\n\n"
    "3\n00:00:06,000 --> 00:00:07,000\nAlso good.\n";

static void test_warnings_name_file_and_line(void **state)
{
    put(tmp("broken.srt"), BROKEN);
    run_result r = run(NULL, "parse '%s'", tmp("broken.srt"));
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.err, "broken.srt:6: end time is before the start time"));
    cJSON *j = cJSON_Parse(r.out);
    assert_non_null(j);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "segments")), 2);
    cJSON_Delete(j);
    done(&r);
}

static void test_strict_fails_with_nothing_on_stdout(void **state)
{
    put(tmp("broken.srt"), BROKEN);
    run_result r = run(NULL, "parse '%s' --strict", tmp("broken.srt"));
    assert_int_equal(r.code, 2);
    assert_int_equal(r.out_len, 0);
    assert_non_null(strstr(r.err, "broken.srt:6:"));
    done(&r);
}

static void test_bad_input_exit_2(void **state)
{
    /* binary garbage, invalid UTF-8 (read as UTF-8: detection would read
     * these bytes as Windows-1252), nothing usable: one message, exit 2, no
     * stdout */
    const char *cases[][2] = {
        {"bin.srt", "1\n00:00:01,000 --> 00:00:02,000\n\x01\x02\x03\xff\xfe\n"},
        {"utf.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nbad \xC3 byte\n"},
        {"none.ass", "[Events]\nFormat: Start, End, Text\n"},
    };
    for (size_t i = 0; i < 3; i++) {
        put(tmp(cases[i][0]), cases[i][1]);
        run_result r = run(NULL, "parse --encoding UTF-8 '%s'", tmp(cases[i][0]));
        assert_int_equal(r.code, 2);
        assert_int_equal(r.out_len, 0);
        assert_non_null(strstr(r.err, cases[i][0]));
        assert_non_null(strstr(r.err, "kokoro: error:"));
        done(&r);
    }
    run_result r = run(NULL, "parse '%s'", tmp("missing.srt"));
    assert_int_not_equal(r.code, 0);
    assert_non_null(strstr(r.err, "missing.srt"));
    done(&r);
}

static void test_usage_errors(void **state)
{
    run_result r = run(NULL, "parse");
    assert_int_equal(r.code, 2);
    done(&r);
    r = run(NULL, "parse x.srt --format doc");
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "unknown format"));
    done(&r);
    r = run(NULL, "frobnicate");
    assert_int_equal(r.code, 2);
    done(&r);
    r = run(NULL, "--help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "kokoro parse"));
    done(&r);
}

static void test_forced_format(void **state)
{
    put(tmp("cues.dat"), "1\n00:00:01,000 --> 00:00:02,000\nHi.\n");
    run_result r = run(NULL, "parse '%s' -f txt", tmp("cues.dat"));
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "\"format\": \"txt\""));
    done(&r);
}

static void test_convert_round_trip(void **state)
{
    remove(tmp("conv.vtt"));
    run_result r = run(NULL, "convert '%s' '%s'", example("welcome.srt"), tmp("conv.vtt"));
    assert_int_equal(r.code, 0);
    done(&r);
    char *v = slurp(tmp("conv.vtt"), NULL);
    assert_non_null(v);
    assert_true(strncmp(v, "WEBVTT\n", 7) == 0);
    free(v);
    r = run(NULL, "convert '%s' '%s'", tmp("conv.vtt"), tmp("conv.json"));
    assert_int_equal(r.code, 0);
    done(&r);
    r = run(NULL, "parse '%s'", tmp("conv.json"));
    run_result o = run(NULL, "parse '%s'", example("welcome.srt"));
    /* same segments, only the format name differs */
    cJSON *a = cJSON_Parse(r.out), *b = cJSON_Parse(o.out);
    /* line numbers differ between formats: compare texts and times */
    cJSON *x, *y = cJSON_GetObjectItem(b, "segments")->child;
    int n = 0;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(a, "segments"))
    {
        assert_string_equal(cJSON_GetObjectItem(x, "text")->valuestring, cJSON_GetObjectItem(y, "text")->valuestring);
        assert_int_equal(cJSON_GetObjectItem(x, "start_ms")->valueint, cJSON_GetObjectItem(y, "start_ms")->valueint);
        assert_int_equal(cJSON_GetObjectItem(x, "end_ms")->valueint, cJSON_GetObjectItem(y, "end_ms")->valueint);
        y = y->next;
        n++;
    }
    assert_int_equal(n, 3);
    cJSON_Delete(a);
    cJSON_Delete(b);
    done(&r);
    done(&o);
    /* the plain transcript: a paragraph a cue, no times */
    r = run(NULL, "convert '%s' '%s'", example("welcome.srt"), tmp("conv.txt"));
    assert_int_equal(r.code, 0);
    done(&r);
    char *t = slurp(tmp("conv.txt"), NULL);
    assert_string_equal(t, "Welcome to Kokoro Studio.\n\nIt turns subtitles into speech, placed right on the timeline.\n\n"
                           "Edit a line, and hear it again at once.\n");
    free(t);
}

static void test_convert_failure_keeps_target(void **state)
{
    put(tmp("target.srt"), "precious");
    put(tmp("half.srt"), "1\n00:00:01,000 --> 00:00:02,000\nGood.\n\n2\n00:00:03,000 --> 00:00:04,000\nbad \xC3 byte\n");
    run_result r = run(NULL, "convert --encoding UTF-8 '%s' '%s'", tmp("half.srt"), tmp("target.srt"));
    assert_int_equal(r.code, 2);
    done(&r);
    char *s = slurp(tmp("target.srt"), NULL);
    assert_string_equal(s, "precious");
    free(s);
    /* plain text has no times: it cannot become SRT, and no file appears */
    remove(tmp("fromtext.srt"));
    put(tmp("p.txt"), "Just words.\n");
    r = run(NULL, "convert '%s' '%s'", tmp("p.txt"), tmp("fromtext.srt"));
    assert_int_equal(r.code, 2);
    assert_int_equal(access(tmp("fromtext.srt"), F_OK), -1);
    done(&r);
    r = run(NULL, "convert '%s' '%s'", example("welcome.srt"), tmp("out.doc"));
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "out.doc"));
    done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_example),
        cmocka_unit_test(test_parse_text_has_null_times),
        cmocka_unit_test(test_parse_words_and_speaker),
        cmocka_unit_test(test_warnings_name_file_and_line),
        cmocka_unit_test(test_strict_fails_with_nothing_on_stdout),
        cmocka_unit_test(test_bad_input_exit_2),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_forced_format),
        cmocka_unit_test(test_convert_round_trip),
        cmocka_unit_test(test_convert_failure_keeps_target),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
