/* test_vtt.c - WebVTT: header, blocks, identifiers, settings, voices, tags. */
#include "helpers.h"

#include <string.h>

static const char *SAMPLE =
    "WEBVTT - a sample with trailing text\n"
    "Kind: captions\n"
    "\n"
    "NOTE a note\n"
    "that spans lines --> with an arrow\n"
    "\n"
    "STYLE\n"
    "::cue { color: red }\n"
    "\n"
    "REGION\n"
    "id:fred width:40%\n"
    "\n"
    "intro\n"
    "00:01.000 --> 00:03.500 align:start position:10% line:0\n"
    "<v Anna>Hello <c.loud>there</c>, <i>friend</i>.</v>\n"
    "\n"
    "01:00:04.000 --> 01:00:05.000\n"
    "<v.first.loud Ben Smith>Karaoke <00:00:04.500>words <b>here</b> &amp; now\n"
    "\n"
    "00:06.000 --> 00:07.000\n"
    "<ruby>kanji<rt>reading</rt></ruby> <u>and</u> <lang en>lang</lang>\n";

static void test_sample(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("s.vtt", SAMPLE, KK_FORMAT_AUTO, &w);
    assert_int_equal(d->format, KK_FORMAT_VTT);
    assert_int_equal(d->n_segs, 3);
    assert_int_equal(d->segs[0].start_ms, 1000);
    assert_int_equal(d->segs[0].end_ms, 3500);
    assert_string_equal(d->segs[0].text, "Hello there, friend.");
    assert_string_equal(d->segs[0].speaker, "Anna");
    assert_int_equal(d->segs[0].line, 14);
    assert_int_equal(d->segs[1].start_ms, 3604000);
    assert_string_equal(d->segs[1].speaker, "Ben Smith");
    assert_string_equal(d->segs[1].text, "Karaoke words here & now");
    assert_null(d->segs[2].speaker);
    assert_string_equal(d->segs[2].text, "kanji and lang");
    assert_int_equal(w.count, 0);
    kk_doc_free(d);
}

static void test_missing_header_warns(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("h.vtt", "00:01.000 --> 00:02.000\nNo header.\n", KK_FORMAT_VTT, &w);
    assert_int_equal(d->n_segs, 1);
    assert_int_equal(w.count, 1);
    assert_non_null(strstr(w.all, "h.vtt:1: missing WEBVTT header"));
    kk_doc_free(d);
    kk_status st;
    kk_error err;
    assert_null(parse_str("h.vtt", "00:01.000 --> 00:02.000\nNo header.\n", KK_FORMAT_VTT, 1, NULL, &st, &err));
    assert_int_equal(st, KK_ERR_INPUT);
}

static void test_bad_cues_skipped(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("b.vtt",
                         "WEBVTT\n\n"
                         "00:05.000 --> 00:04.000\nBackwards.\n\n"
                         "00:0x.000 --> 00:04.000\nBroken.\n\n"
                         "00:06.000 --> 00:07.000\nKept <blink>text</blink>.\n",
                         KK_FORMAT_VTT, &w);
    assert_int_equal(d->n_segs, 2);
    /* the garbled one is kept, untimed and flagged */
    assert_string_equal(d->segs[0].text, "Broken.");
    assert_int_equal(d->segs[0].start_ms, KK_TIME_NONE);
    assert_string_equal(d->segs[0].flag, KK_FLAG_BAD_TIMES);
    assert_string_equal(d->segs[1].text, "Kept text.");
    assert_int_equal(w.count, 3);
    assert_non_null(strstr(w.all, "b.vtt:3: end time is before the start time"));
    assert_non_null(strstr(w.all, "b.vtt:6: garbled time line"));
    assert_non_null(strstr(w.all, "b.vtt:9: unknown tag"));
    kk_doc_free(d);
}

static void test_crlf_and_multiline(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("c.vtt", "WEBVTT\r\n\r\n1\r\n00:00:01.000 --> 00:00:02.000\r\nTwo\r\nlines\r\n",
                         KK_FORMAT_AUTO, &w);
    assert_int_equal(d->n_segs, 1);
    assert_string_equal(d->segs[0].text, "Two lines");
    kk_doc_free(d);
}

static void test_less_than_kept(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("l.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\n3 &lt; 4 and 5 > 2\n", KK_FORMAT_VTT, &w);
    assert_string_equal(d->segs[0].text, "3 < 4 and 5 > 2");
    kk_doc_free(d);
}

/* Issue 13: a cue past the 1000-hour bound is skipped with a warning
 * (an error in strict mode). */
static void test_time_past_the_limit_skips_cue(void **state)
{
    const char *t = "WEBVTT\n\n"
                    "999999:00:00.000 --> 999999:00:01.000\nFar.\n\n"
                    "00:06.000 --> 00:07.000\nNear.\n";
    warnings w;
    kk_doc *d = parse_ok("far.vtt", t, KK_FORMAT_VTT, &w);
    assert_int_equal(d->n_segs, 1);
    assert_string_equal(d->segs[0].text, "Near.");
    assert_int_equal(w.count, 1);
    assert_non_null(strstr(w.all, "far.vtt:3: time 999999:00:01,000 is past the limit of 1000 hours; "
                                  "segment skipped"));
    kk_doc_free(d);
    kk_status st;
    kk_error err;
    assert_null(parse_str("far.vtt", t, KK_FORMAT_VTT, 1, NULL, &st, &err));
    assert_int_equal(st, KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "far.vtt:3: time 999999:00:01,000 is past the limit"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_missing_header_warns),
        cmocka_unit_test(test_bad_cues_skipped),
        cmocka_unit_test(test_crlf_and_multiline),
        cmocka_unit_test(test_less_than_kept),
        cmocka_unit_test(test_time_past_the_limit_skips_cue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
