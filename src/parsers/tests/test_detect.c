/* test_detect.c - format detection by extension, then by content. */
#include "helpers.h"

#include <string.h>

static const char *SRT = "1\n00:00:01,000 --> 00:00:02,000\nHello.\n";
static const char *VTT = "WEBVTT\n\n00:01.000 --> 00:02.000\nHello.\n";
static const char *ASS = "[Script Info]\nTitle: x\n\n[Events]\nFormat: Layer, Start, End, Style, Name, "
                         "MarginL, MarginR, MarginV, Effect, Text\nDialogue: 0,0:00:01.00,0:00:02.00,"
                         "Default,,0,0,0,,Hello.\n";
static const char *JSN = "[{\"text\": \"Hello.\", \"start\": \"00:00:01.000\", \"end\": \"00:00:02.000\"}]";

static kk_format detected(const char *name, const char *text, int *n_warn)
{
    warnings w;
    kk_doc *d = parse_ok(name, text, KK_FORMAT_AUTO, &w);
    kk_format f = d->format;
    assert_int_equal(d->n_segs, 1);
    assert_string_equal(d->segs[d->n_segs - 1].text, "Hello.");
    kk_doc_free(d);
    if (n_warn)
        *n_warn = w.count;
    return f;
}

static void test_by_extension(void **state)
{
    int nw;
    assert_int_equal(detected("a.srt", SRT, &nw), KK_FORMAT_SRT);
    assert_int_equal(nw, 0);
    assert_int_equal(detected("a.VTT", VTT, &nw), KK_FORMAT_VTT);
    assert_int_equal(detected("a.ass", ASS, &nw), KK_FORMAT_ASS);
    assert_int_equal(detected("a.ssa", ASS, &nw), KK_FORMAT_ASS);
    assert_int_equal(detected("a.json", JSN, &nw), KK_FORMAT_WSCRIBE);
    assert_int_equal(detected("a.txt", "Hello.\n", &nw), KK_FORMAT_TXT);
    assert_int_equal(nw, 0);
}

static void test_by_content_without_extension(void **state)
{
    int nw;
    assert_int_equal(detected("noext", SRT, &nw), KK_FORMAT_SRT);
    assert_int_equal(nw, 0);
    assert_int_equal(detected("noext", VTT, &nw), KK_FORMAT_VTT);
    assert_int_equal(detected("noext", ASS, &nw), KK_FORMAT_ASS);
    assert_int_equal(detected("noext", JSN, &nw), KK_FORMAT_WSCRIBE);
    assert_int_equal(detected("noext", "Hello.", &nw), KK_FORMAT_TXT);
    assert_int_equal(detected("-", SRT, &nw), KK_FORMAT_SRT);
}

static void test_wrong_extension_warns(void **state)
{
    int nw;
    assert_int_equal(detected("really-vtt.srt", VTT, &nw), KK_FORMAT_VTT);
    assert_int_equal(nw, 1);
    assert_int_equal(detected("really-srt.txt", SRT, &nw), KK_FORMAT_SRT);
    assert_int_equal(nw, 1);
    assert_int_equal(detected("really-ass.json", ASS, &nw), KK_FORMAT_ASS);
    assert_int_equal(detected("really-json.srt", JSN, &nw), KK_FORMAT_WSCRIBE);
    /* A .vtt whose header is missing but whose cues look like SRT stays VTT. */
    assert_int_equal(detected("headless.vtt", "00:00:01.000 --> 00:00:02.000\nHello.\n", &nw), KK_FORMAT_VTT);
}

static void test_forced_format_wins(void **state)
{
    warnings w;
    kk_doc *d = parse_ok("a.srt", "Just some text.\n", KK_FORMAT_TXT, &w);
    assert_int_equal(d->format, KK_FORMAT_TXT);
    kk_doc_free(d);
}

static void test_sniff_and_names(void **state)
{
    bool confident;
    assert_int_equal(kk_format_sniff("\xEF\xBB\xBFWEBVTT\n", 10, &confident), KK_FORMAT_VTT);
    assert_true(confident);
    assert_int_equal(kk_format_sniff("  [ {", 5, &confident), KK_FORMAT_WSCRIBE);
    assert_int_equal(kk_format_sniff("hello", 5, &confident), KK_FORMAT_TXT);
    assert_false(confident);
    assert_int_equal(kk_format_from_name("ssa"), KK_FORMAT_ASS);
    assert_int_equal(kk_format_from_name("json"), KK_FORMAT_WSCRIBE);
    assert_int_equal(kk_format_from_name("doc"), KK_FORMAT_AUTO);
    assert_int_equal(kk_format_from_path("/x.y/file"), KK_FORMAT_AUTO);
    assert_int_equal(kk_format_from_path("dir/file.Srt"), KK_FORMAT_SRT);
    assert_string_equal(kk_format_name(KK_FORMAT_WSCRIBE), "wscribe");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_extension),
        cmocka_unit_test(test_by_content_without_extension),
        cmocka_unit_test(test_wrong_extension_warns),
        cmocka_unit_test(test_forced_format_wins),
        cmocka_unit_test(test_sniff_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
