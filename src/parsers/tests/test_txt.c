/* test_txt.c - plain text: paragraphs, splitting long ones, line numbers. */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static kk_doc *parse_txt(const char *text, size_t max_chars)
{
    kk_parse_params p = kk_parse_default_params();
    p.format = KK_FORMAT_TXT;
    p.txt_max_chars = max_chars;
    kk_doc *d = NULL;
    kk_error err;
    kk_status st = kk_parse_memory("t.txt", text, strlen(text), &p, &d, &err);
    if (st != KK_OK)
        fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(st, KK_OK);
    return d;
}

static void test_paragraphs(void **state)
{
    kk_doc *d = parse_txt("First paragraph,\nwrapped.\n\n\n  Second one.  \n\nThird.", 300);
    assert_int_equal(d->format, KK_FORMAT_TXT);
    assert_int_equal(d->n_segs, 3);
    assert_string_equal(d->segs[0].text, "First paragraph, wrapped.");
    assert_string_equal(d->segs[1].text, "Second one.");
    assert_string_equal(d->segs[2].text, "Third.");
    assert_int_equal(d->segs[0].line, 1);
    assert_int_equal(d->segs[1].line, 5);
    assert_int_equal(d->segs[2].line, 7);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(d->segs[i].start_ms, KK_TIME_NONE);
        assert_int_equal(d->segs[i].end_ms, KK_TIME_NONE);
    }
    kk_doc_free(d);
}

static void test_split_at_sentence_ends(void **state)
{
    kk_doc *d = parse_txt("One two three. Four five six! Seven eight nine? Ten.", 30);
    assert_int_equal(d->n_segs, 2);
    assert_string_equal(d->segs[0].text, "One two three. Four five six!");
    assert_string_equal(d->segs[1].text, "Seven eight nine? Ten.");
    kk_doc_free(d);
}

static void test_abbreviations_are_not_sentence_ends(void **state)
{
    kk_doc *d = parse_txt("Dr. Smith met Mr. J. R. Tolkien there. They talked about many things.", 45);
    assert_int_equal(d->n_segs, 2);
    assert_string_equal(d->segs[0].text, "Dr. Smith met Mr. J. R. Tolkien there.");
    kk_doc_free(d);
}

static void test_clause_then_space_fallback(void **state)
{
    kk_doc *d = parse_txt("A long clause without a sentence end, then another clause; and words go on", 40);
    assert_string_equal(d->segs[0].text, "A long clause without a sentence end,");
    kk_doc_free(d);
    d = parse_txt("no punctuation at all in this paragraph only words words words", 25);
    for (size_t i = 0; i < d->n_segs; i++)
        assert_true(strlen(d->segs[i].text) <= 25);
    kk_doc_free(d);
}

static void test_never_splits_a_word(void **state)
{
    /* Pseudo-random words; every piece must be whole words of the original. */
    char text[20000], words[2000][16];
    unsigned x = 7;
    size_t n = 0, nw = 0;
    while (n < sizeof text - 64) {
        int len = 1 + (int)((x = x * 1103515245u + 12345u) >> 16) % 14;
        for (int k = 0; k < len; k++)
            words[nw][k] = (char)('a' + (x >> (k % 16)) % 26);
        words[nw][len] = '\0';
        n += (size_t)snprintf(text + n, sizeof text - n, "%s%s", nw ? " " : "", words[nw]);
        if (++nw == 2000)
            break;
    }
    kk_doc *d = parse_txt(text, 37);
    size_t wi = 0;
    for (size_t i = 0; i < d->n_segs; i++) {
        char *copy = strdup(d->segs[i].text), *save = NULL;
        /* 37 code points at most: the words are ASCII and shorter than that */
        assert_true(strlen(copy) <= 37);
        for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
            assert_string_equal(tok, words[wi++]);
        free(copy);
    }
    assert_int_equal(wi, nw);
    kk_doc_free(d);
}

static void test_word_longer_than_limit_stays_whole(void **state)
{
    kk_doc *d = parse_txt("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bb\nline two is here\nline three\n", 20);
    assert_int_equal(d->n_segs, 3);
    assert_string_equal(d->segs[0].text, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_string_equal(d->segs[2].text, "line three");
    assert_int_equal(d->segs[2].line, 3); /* a piece reports the line it starts on */
    kk_doc_free(d);
}

static void test_limit_counts_code_points_and_cjk_stops(void **state)
{
    kk_doc *d = parse_txt("\xE4\xB8\x80\xE4\xBA\x8C\xE4\xB8\x89\xE5\x9B\x9B\xE4\xBA\x94\xE5\x85\xAD\xE4\xB8\x83"
                          "\xE5\x85\xAB\xE4\xB9\x9D\xE5\x8D\x81\xE3\x80\x82" /* ten ideographs and 。 */
                          "\xE4\xB8\x80\xE4\xBA\x8C\xE4\xB8\x89\xE5\x9B\x9B\xE4\xBA\x94\xE5\x85\xAD\xE4\xB8\x83"
                          "\xE5\x85\xAB\xE4\xB9\x9D\xE5\x8D\x81\xE3\x80\x82",
                          20);
    assert_int_equal(d->n_segs, 2);
    assert_int_equal(strlen(d->segs[0].text), 33); /* 11 code points of 3 bytes */
    kk_doc_free(d);
}

static void test_long_text_streams_with_line_numbers(void **state)
{
    /* 5,000 paragraphs: each its own segment with its own line. */
    size_t cap = 5000 * 40;
    char *t = malloc(cap), *p = t;
    for (int i = 0; i < 5000; i++)
        p += sprintf(p, "Paragraph number %d.\n\n", i);
    kk_doc *d = parse_txt(t, 300);
    assert_int_equal(d->n_segs, 5000);
    assert_int_equal(d->segs[4999].line, 4999 * 2 + 1);
    assert_string_equal(d->segs[4999].text, "Paragraph number 4999.");
    kk_doc_free(d);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paragraphs),
        cmocka_unit_test(test_split_at_sentence_ends),
        cmocka_unit_test(test_abbreviations_are_not_sentence_ends),
        cmocka_unit_test(test_clause_then_space_fallback),
        cmocka_unit_test(test_never_splits_a_word),
        cmocka_unit_test(test_word_longer_than_limit_stays_whole),
        cmocka_unit_test(test_limit_counts_code_points_and_cjk_stops),
        cmocka_unit_test(test_long_text_streams_with_line_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
