/* test_markup.c - clock times, tag and override stripping, entities. */
#include "helpers.h"
#include "parsers_internal.h"

#include <string.h>

static int64_t clock_of(const char *s, const char **rest)
{
    int64_t ms = -7;
    const char *p = s;
    if (kk_parse_clock(&p, &ms))
        return -1;
    if (rest)
        *rest = p;
    return ms;
}

static void test_clock_forms(void **state)
{
    const char *rest;
    assert_int_equal(clock_of("00:00:01,000", NULL), 1000);
    assert_int_equal(clock_of("01:02:03.456", NULL), 3723456);
    assert_int_equal(clock_of("02:03.456", NULL), 123456);        /* mm:ss.ttt */
    assert_int_equal(clock_of("0:00:01.5", NULL), 1500);          /* one fraction digit: tenths */
    assert_int_equal(clock_of("0:00:01.25", NULL), 1250);         /* ASS centiseconds */
    assert_int_equal(clock_of("123:00:00,001", NULL), 442800001); /* hours beyond 99 */
    assert_int_equal(clock_of("00:00:05,000 --> x", &rest), 5000);
    assert_string_equal(rest, " --> x");
}

static void test_clock_rejects(void **state)
{
    assert_int_equal(clock_of("", NULL), -1);
    assert_int_equal(clock_of("00:61:00,000", NULL), -1); /* minutes past 59 */
    assert_int_equal(clock_of("00:00:60,000", NULL), -1); /* seconds past 59 */
    assert_int_equal(clock_of("aa:bb:cc,ddd", NULL), -1);
    assert_int_equal(clock_of("00:00:01,", NULL), -1);     /* separator without digits */
    assert_int_equal(clock_of("00:00:01,1234", NULL), -1); /* four fraction digits */
    assert_int_equal(clock_of("99999999999999999999:00:00,000", NULL), -1); /* overflow */
}

static void test_strip_tags(void **state)
{
    char s[128];
    int unknown = 0;
    char first[32] = "";
    strcpy(s, "<i>Hello</i> <b>big</b> <font color=\"#ff0000\">world</font>");
    assert_int_equal(kk_strip_tags(s, "i b u font", 0, &unknown, first, sizeof first), 0);
    kk_fold_space(s);
    assert_string_equal(s, "Hello big world");
    assert_int_equal(unknown, 0);

    strcpy(s, "a <blink>b</blink> 3 < 4");
    assert_int_equal(kk_strip_tags(s, "i b u font", 0, &unknown, first, sizeof first), 0);
    kk_fold_space(s);
    assert_string_equal(s, "a b 3 < 4");
    assert_int_equal(unknown, 2);
    assert_string_equal(first, "<blink>");
}

static void test_strip_tags_leaves_nothing_to_strip(void **state)
{
    /* removing a tag must not join the text around it into a new one */
    char s[128];
    int unknown = 0;
    char first[32] = "";
    strcpy(s, "say <font color=<i>red>word</i> and {\\an{\\i1}8}this");
    assert_int_equal(kk_strip_tags(s, "i b u font", 1, &unknown, first, sizeof first), 0);
    char again[128];
    strcpy(again, s);
    assert_int_equal(kk_strip_tags(again, "i b u font", 1, &unknown, first, sizeof first), 0);
    assert_string_equal(again, s);
    assert_null(strchr(s, '<'));
}

static void test_strip_ass(void **state)
{
    char s[128];
    strcpy(s, "{\\an8}Top {note} text");
    kk_strip_ass(s, 0); /* SRT: only override blocks that start with a backslash */
    assert_string_equal(s, "Top {note} text");
    strcpy(s, "{\\i1}One{\\i0}\\Ntwo\\nthree\\hfour");
    kk_strip_ass(s, 1);
    kk_fold_space(s);
    assert_string_equal(s, "One two three four");
    strcpy(s, "Sign {\\p1}m 0 0 l 100 0 100 100{\\p0}here");
    kk_strip_ass(s, 1);
    kk_fold_space(s);
    assert_string_equal(s, "Sign here");
}

static void test_entities(void **state)
{
    char s[128];
    strcpy(s, "Tom &amp; Jerry &lt;3 &gt; &#65;&#x42; &quot;q&quot; &apos;a&apos; &bogus; &");
    kk_decode_entities(s);
    assert_string_equal(s, "Tom & Jerry <3 > AB \"q\" 'a' &bogus; &");
    strcpy(s, "a&nbsp;b");
    kk_decode_entities(s);
    assert_string_equal(s, "a b"); /* a space for speech: nothing to keep together */
}

static void test_fold_space_and_digits(void **state)
{
    char s[64];
    strcpy(s, "  a \t b\n\nc  ");
    kk_fold_space(s);
    assert_string_equal(s, "a b c");
    assert_true(kk_all_digits("0123"));
    assert_false(kk_all_digits(""));
    assert_false(kk_all_digits("12a"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_forms),
        cmocka_unit_test(test_clock_rejects),
        cmocka_unit_test(test_strip_tags),
        cmocka_unit_test(test_strip_tags_leaves_nothing_to_strip),
        cmocka_unit_test(test_strip_ass),
        cmocka_unit_test(test_entities),
        cmocka_unit_test(test_fold_space_and_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
