/* test_srt.c - SubRip: every quirk the issue lists, and bad cues. */
#include "helpers.h"

#include <string.h>

static void test_basic_cues(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("a.srt",
                         "1\n00:00:01,000 --> 00:00:03,200\nHello there.\n\n"
                         "2\n00:00:04,000 --> 00:00:05,500\nSecond line\nand more.\n",
                         KK_FORMAT_AUTO, &w);
    assert_int_equal(d->format, KK_FORMAT_SRT);
    assert_int_equal(d->n_segs, 2);
    assert_int_equal(d->segs[0].index, 1);
    assert_int_equal(d->segs[0].start_ms, 1000);
    assert_int_equal(d->segs[0].end_ms, 3200);
    assert_string_equal(d->segs[0].text, "Hello there.");
    assert_int_equal(d->segs[0].line, 2); /* the time line */
    assert_null(d->segs[0].speaker);
    assert_string_equal(d->segs[1].text, "Second line and more."); /* joined with a space */
    assert_int_equal(d->segs[1].line, 6);
    assert_int_equal(w.count, 0);
    kk_doc_free(d);
}

static void test_line_endings_and_bom(void **state)
{
    const char *forms[] = {
        "\xEF\xBB\xBF" "1\r\n00:00:01,000 --> 00:00:02,000\r\nA\r\nB\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nC\r\n",
        "1\r00:00:01,000 --> 00:00:02,000\rA\rB\r\r2\r00:00:03,000 --> 00:00:04,000\rC\r",
        "1\n00:00:01,000 --> 00:00:02,000\nA\nB\n\n2\n00:00:03,000 --> 00:00:04,000\nC",
    };
    for (size_t i = 0; i < 3; i++) {
        warnings w;
        kk_doc *d = parse_ok("e.srt", forms[i], KK_FORMAT_AUTO, &w);
        assert_int_equal(d->n_segs, 2);
        assert_string_equal(d->segs[0].text, "A B");
        assert_string_equal(d->segs[1].text, "C");
        assert_int_equal(d->segs[1].start_ms, 3000);
        assert_int_equal(w.count, 0);
        kk_doc_free(d);
    }
}

static void test_missing_and_wrong_index(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("i.srt",
                         "00:00:01,000 --> 00:00:02,000\nNo number.\n\n"
                         "7\n00:00:03,000 --> 00:00:04,000\nWrong number.\n\n"
                         "7\n00:00:05,000 --> 00:00:06,000\nRepeated.\n",
                         KK_FORMAT_SRT, &w);
    assert_int_equal(d->n_segs, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(d->segs[i].index, (int)i + 1); /* renumbered */
    assert_string_equal(d->segs[2].text, "Repeated.");
    kk_doc_free(d);
}

static void test_missing_blank_line_between_cues(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("nb.srt",
                         "1\n00:00:01,000 --> 00:00:02,000\nFirst.\n"
                         "2\n00:00:03,000 --> 00:00:04,000\nSecond.\n",
                         KK_FORMAT_SRT, &w);
    assert_int_equal(d->n_segs, 2);
    assert_string_equal(d->segs[0].text, "First.");
    assert_string_equal(d->segs[1].text, "Second.");
    kk_doc_free(d);
}

static void test_number_alone_in_text_is_kept(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("n.srt", "1\n00:00:01,000 --> 00:00:02,000\nThe answer is\n42\n", KK_FORMAT_SRT, &w);
    assert_int_equal(d->n_segs, 1);
    assert_string_equal(d->segs[0].text, "The answer is 42");
    kk_doc_free(d);
}

static void test_tags_and_overrides_removed(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("t.srt",
                         "1\n00:00:01,000 --> 00:00:02,000\n{\\an8}<i>Top</i> <b>and</b> "
                         "<font color=\"#fff\">white</font> <u>text</u>\n",
                         KK_FORMAT_SRT, &w);
    assert_string_equal(d->segs[0].text, "Top and white text");
    assert_int_equal(w.count, 0);
    kk_doc_free(d);
}

static void test_dot_and_comma_millis_and_long_hours(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("h.srt",
                         "1\n00:00:01.250 --> 00:00:02,5\nDot.\n\n"
                         "2\n100:00:00,000 --> 100:00:01,000\nLate.\n",
                         KK_FORMAT_SRT, &w);
    assert_int_equal(d->segs[0].start_ms, 1250);
    assert_int_equal(d->segs[0].end_ms, 2500);
    assert_int_equal(d->segs[1].start_ms, 360000000);
    kk_doc_free(d);
}

static void test_position_coordinates_ignored(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("x.srt", "1\n00:00:01,000 --> 00:00:02,000  X1:100 X2:200 Y1:10 Y2:20\nPos.\n",
                         KK_FORMAT_SRT, &w);
    assert_int_equal(d->segs[0].end_ms, 2000);
    assert_int_equal(w.count, 0);
    kk_doc_free(d);
}

/* A garbled time line keeps its cue's text, untimed and flagged. */
static void test_broken_time_line_kept_flagged(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("b.srt",
                         "1\n00:00:01,000 --> 00:00:02,000\nGood one.\n\n"
                         "2\n00:00:0x,000 -> 00:00:04,000\nBroken.\n\n"
                         "3\n00:00:05,000 --> 00:00:06,000\nGood two.\n\n"
                         "4\n00:00:07,000 --> 00:0O:08,000\nGarbled too.\n",
                         KK_FORMAT_SRT, &w);
    assert_int_equal(d->n_segs, 4);
    assert_string_equal(d->segs[0].text, "Good one.");
    assert_null(d->segs[0].flag);
    assert_string_equal(d->segs[1].text, "Broken.");
    assert_int_equal(d->segs[1].start_ms, KK_TIME_NONE);
    assert_int_equal(d->segs[1].end_ms, KK_TIME_NONE);
    assert_string_equal(d->segs[1].flag, KK_FLAG_BAD_TIMES);
    assert_string_equal(d->segs[2].text, "Good two.");
    assert_string_equal(d->segs[3].text, "Garbled too.");
    assert_string_equal(d->segs[3].flag, KK_FLAG_BAD_TIMES);
    assert_int_equal(w.count, 2);
    assert_int_equal(w.first_line, 6);
    assert_non_null(strstr(w.all, "garbled time line"));
    kk_doc_free(d);
}

static void test_number_without_time_line_skips_cue(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("b.srt",
                         "1\n00:00:01,000 --> 00:00:02,000\nGood one.\n\n"
                         "2\n\n"
                         "3\n00:00:05,000 --> 00:00:06,000\nGood two.\n",
                         KK_FORMAT_SRT, &w);
    assert_int_equal(d->n_segs, 2);
    assert_string_equal(d->segs[0].text, "Good one.");
    assert_string_equal(d->segs[1].text, "Good two.");
    assert_int_equal(w.count, 1);
    assert_int_equal(w.first_line, 5);
    assert_non_null(strstr(w.all, "without a time line"));
    kk_doc_free(d);
}

static void test_end_before_start_skips_cue(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("r.srt",
                         "1\n00:00:05,000 --> 00:00:04,000\nBackwards.\n\n"
                         "2\n00:00:05,000 --> 00:00:06,000\nFine.\n",
                         KK_FORMAT_SRT, &w);
    assert_int_equal(d->n_segs, 1);
    assert_string_equal(d->segs[0].text, "Fine.");
    assert_int_equal(w.count, 1);
    assert_non_null(strstr(w.all, "r.srt:2: end time is before the start time"));
    kk_doc_free(d);
}

static void test_unknown_tag_removed_with_warning(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("u.srt", "1\n00:00:01,000 --> 00:00:02,000\nSay <blink>this</blink>.\n",
                         KK_FORMAT_SRT, &w);
    assert_string_equal(d->segs[0].text, "Say this.");
    assert_int_equal(w.count, 1);
    assert_non_null(strstr(w.all, "u.srt:2: unknown tag <blink>"));
    kk_doc_free(d);
}

static void test_strict_turns_warnings_into_errors(void **state)
{
    const char *bad[] = {
        "1\n00:00:0x,000 --> 00:00:04,000\nBroken.\n\n2\n00:00:05,000 --> 00:00:06,000\nOk.\n",
        "1\n00:00:05,000 --> 00:00:04,000\nBackwards.\n\n2\n00:00:05,000 --> 00:00:06,000\nOk.\n",
        "1\n00:00:01,000 --> 00:00:02,000\n<blink>x</blink>\n",
    };
    for (size_t i = 0; i < 3; i++) {
        kk_status st;
        kk_error err;
        kk_doc *d = parse_str("s.srt", bad[i], KK_FORMAT_SRT, 1, NULL, &st, &err);
        assert_null(d);
        assert_int_equal(st, KK_ERR_INPUT);
        assert_non_null(strstr(err.msg, "s.srt:"));
        assert_non_null(strstr(err.msg, "strict"));
        /* The same input without --strict parses. */
        d = parse_str("s.srt", bad[i], KK_FORMAT_SRT, 0, NULL, &st, &err);
        assert_int_equal(st, KK_OK);
        kk_doc_free(d);
    }
}

static void test_empty_cue_skipped(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("m.srt",
                         "1\n00:00:01,000 --> 00:00:02,000\n<i></i>\n\n2\n00:00:03,000 --> 00:00:04,000\nText.\n",
                         KK_FORMAT_SRT, &w);
    assert_int_equal(d->n_segs, 1);
    assert_int_equal(w.count, 1);
    assert_non_null(strstr(w.all, "no text"));
    kk_doc_free(d);
}

static void test_no_usable_cue_is_error(void **state)
{
    kk_status st;
    kk_error err;
    kk_doc *d = parse_str("none.srt", "1\n00:00:03,000 --> 00:00:02,000\nBackwards.\n", KK_FORMAT_SRT, 0,
                          NULL, &st, &err);
    assert_null(d);
    assert_int_equal(st, KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "none.srt"));
}

/* Issue 13: a time past the 1000-hour bound (kk_limits.h) skips its cue
 * with a warning naming the file and line, like the other recoverable
 * problems; exactly the bound is still a time. */
static void test_time_past_the_limit_skips_cue(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("far.srt",
                         "1\n00:00:01,000 --> 00:00:02,000\nNear.\n\n"
                         "2\n999999:00:00,000 --> 999999:00:01,000\nFar.\n\n"
                         "3\n00:00:03,000 --> 1000:00:00,001\nJust past.\n\n"
                         "4\n999:59:59,000 --> 1000:00:00,000\nAt the limit.\n",
                         KK_FORMAT_SRT, &w);
    assert_int_equal(d->n_segs, 2);
    assert_string_equal(d->segs[0].text, "Near.");
    assert_string_equal(d->segs[1].text, "At the limit.");
    assert_int_equal(d->segs[1].end_ms, KK_TIME_MAX_MS);
    assert_int_equal(w.count, 2);
    assert_non_null(strstr(w.all, "far.srt:6: time 999999:00:01,000 is past the limit of 1000 hours"));
    assert_non_null(strstr(w.all, "far.srt:10: time 1000:00:00,001 is past the limit"));
    kk_doc_free(d);

    kk_status st;
    kk_error err;
    d = parse_str("far.srt", "1\n999999:00:00,000 --> 999999:00:01,000\nFar.\n\n2\n00:00:01,000 --> "
                  "00:00:02,000\nNear.\n", KK_FORMAT_SRT, 1, NULL, &st, &err);
    assert_null(d);
    assert_int_equal(st, KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "far.srt:2: time 999999:00:01,000 is past the limit of 1000 hours"));
    assert_non_null(strstr(err.msg, "strict"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_cues),
        cmocka_unit_test(test_line_endings_and_bom),
        cmocka_unit_test(test_missing_and_wrong_index),
        cmocka_unit_test(test_missing_blank_line_between_cues),
        cmocka_unit_test(test_number_alone_in_text_is_kept),
        cmocka_unit_test(test_tags_and_overrides_removed),
        cmocka_unit_test(test_dot_and_comma_millis_and_long_hours),
        cmocka_unit_test(test_position_coordinates_ignored),
        cmocka_unit_test(test_broken_time_line_kept_flagged),
        cmocka_unit_test(test_number_without_time_line_skips_cue),
        cmocka_unit_test(test_end_before_start_skips_cue),
        cmocka_unit_test(test_unknown_tag_removed_with_warning),
        cmocka_unit_test(test_strict_turns_warnings_into_errors),
        cmocka_unit_test(test_empty_cue_skipped),
        cmocka_unit_test(test_no_usable_cue_is_error),
        cmocka_unit_test(test_time_past_the_limit_skips_cue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
