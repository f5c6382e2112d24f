/* test_ass.c - Advanced SubStation Alpha: Format-driven columns, comments,
 * overrides, line breaks, speakers, centiseconds. */
#include "helpers.h"

#include <string.h>

static void test_standard_file(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("a.ass",
                         "[Script Info]\nTitle: test\nScriptType: v4.00+\n\n"
                         "[V4+ Styles]\n"
                         "Format: Name, Fontname, Fontsize, PrimaryColour, Bold\n"
                         "Style: Default,Arial,20,&H00FFFFFF,0\n\n"
                         "[Events]\n"
                         "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
                         "Dialogue: 0,0:00:01.50,0:00:03.25,Default,Anna,0,0,0,,{\\i1}Hello,{\\i0} world\\Nagain\n"
                         "Comment: 0,0:00:04.00,0:00:05.00,Default,,0,0,0,,not spoken\n"
                         "Dialogue: 0,0:00:06.00,0:00:07.00,Default,,0,0,0,,Hard\\hspace\\nsoft\n",
                         KK_FORMAT_AUTO, &w);
    assert_int_equal(d->format, KK_FORMAT_ASS);
    assert_int_equal(d->n_segs, 2);
    assert_int_equal(d->segs[0].start_ms, 1500);
    assert_int_equal(d->segs[0].end_ms, 3250);
    assert_string_equal(d->segs[0].text, "Hello, world again");
    assert_string_equal(d->segs[0].speaker, "Anna");
    assert_int_equal(d->segs[0].line, 11);
    assert_null(d->segs[1].speaker);
    assert_string_equal(d->segs[1].text, "Hard space soft");
    assert_int_equal(w.count, 0);
    kk_doc_free(d);
}

static void test_reordered_format(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("r.ssa",
                         "[Events]\n"
                         "Format: Marked, End, Start, Name, Text\n"
                         "Dialogue: Marked=0,0:00:09.00,0:00:08.00,Ben,Text, with, commas\n",
                         KK_FORMAT_AUTO, &w);
    assert_int_equal(d->n_segs, 1);
    assert_int_equal(d->segs[0].start_ms, 8000);
    assert_int_equal(d->segs[0].end_ms, 9000);
    assert_string_equal(d->segs[0].speaker, "Ben");
    assert_string_equal(d->segs[0].text, "Text, with, commas");
    kk_doc_free(d);
}

static void test_drawing_dropped(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("p.ass",
                         "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
                         "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,{\\p1}m 0 0 l 10 10{\\p0}\n"
                         "Dialogue: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,Words\n",
                         KK_FORMAT_ASS, &w);
    assert_int_equal(d->n_segs, 1); /* the drawing has nothing to speak */
    assert_string_equal(d->segs[0].text, "Words");
    assert_int_equal(w.count, 1);
    kk_doc_free(d);
}

static void test_bad_events(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("b.ass",
                         "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
                         "Dialogue: 0,0:00:0x.00,0:00:02.00,Default,,0,0,0,,Broken time\n"
                         "Dialogue: 0,0:00:05.00,0:00:04.00,Default,,0,0,0,,Backwards\n"
                         "Dialogue: 0,0:00:05.00\n"
                         "Dialogue: 0,0:00:06.00,0:00:07.00,Default,,0,0,0,,Good\n",
                         KK_FORMAT_ASS, &w);
    assert_int_equal(d->n_segs, 1);
    assert_string_equal(d->segs[0].text, "Good");
    assert_int_equal(w.count, 3);
    assert_non_null(strstr(w.all, "b.ass:3: bad Start or End time"));
    assert_non_null(strstr(w.all, "b.ass:4: end time is before the start time"));
    assert_non_null(strstr(w.all, "b.ass:5: Dialogue line has"));
    kk_doc_free(d);
}

static void test_missing_format_uses_default_with_warning(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("n.ass", "[Events]\nDialogue: 0,0:00:01.00,0:00:02.00,Default,Cy,0,0,0,,Hi there\n",
                         KK_FORMAT_ASS, &w);
    assert_int_equal(d->n_segs, 1);
    assert_string_equal(d->segs[0].text, "Hi there");
    assert_string_equal(d->segs[0].speaker, "Cy");
    assert_int_equal(w.count, 1);
    kk_doc_free(d);
}

static void test_no_events_is_error(void **state)
{
    kk_status st;
    kk_error err;
    assert_null(parse_str("e.ass", "[Script Info]\nTitle: nothing\n", KK_FORMAT_ASS, 0, NULL, &st, &err));
    assert_int_equal(st, KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "e.ass"));
}

/* Issue 13: an event past the 1000-hour bound is skipped with a warning
 * (an error in strict mode). */
static void test_time_past_the_limit_skips_event(void **state)
{
    const char *t = "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
                    "Dialogue: 0,999999:00:00.00,999999:00:01.00,Default,,0,0,0,,Far\n"
                    "Dialogue: 0,0:00:06.00,0:00:07.00,Default,,0,0,0,,Near\n";
    warnings w;
    kk_doc *d = parse_ok("far.ass", t, KK_FORMAT_ASS, &w);
    assert_int_equal(d->n_segs, 1);
    assert_string_equal(d->segs[0].text, "Near");
    assert_int_equal(w.count, 1);
    assert_non_null(strstr(w.all, "far.ass:3: time 999999:00:01,000 is past the limit of 1000 hours"));
    kk_doc_free(d);
    kk_status st;
    kk_error err;
    assert_null(parse_str("far.ass", t, KK_FORMAT_ASS, 1, NULL, &st, &err));
    assert_int_equal(st, KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "far.ass:3: time 999999:00:01,000"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standard_file),
        cmocka_unit_test(test_reordered_format),
        cmocka_unit_test(test_drawing_dropped),
        cmocka_unit_test(test_bad_events),
        cmocka_unit_test(test_missing_format_uses_default_with_warning),
        cmocka_unit_test(test_no_events_is_error),
        cmocka_unit_test(test_time_past_the_limit_skips_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
