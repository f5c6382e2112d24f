/* test_chunking.c - long text cut into chunks of at most 510 tokens: at
 * sentence ends when possible, never inside a word. */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t cps(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int is_space(char c) { return c == ' ' || c == '\n'; }

/* Common checks: size, ids match phonemes, spans in order at word edges. */
static void check_chunks(const chunks *cs, const char *text, size_t max)
{
    size_t prev_end = 0;
    for (size_t i = 0; i < cs->n; i++) {
        const chunk_copy *c = &cs->c[i];
        assert_true(c->n_ids > 0);
        assert_true(c->n_ids <= max);
        assert_int_equal(c->n_ids, cps(c->phonemes));
        assert_true(c->phonemes[0] != ' ');
        assert_true(c->phonemes[strlen(c->phonemes) - 1] != ' ');
        assert_true(c->text_start >= prev_end);
        assert_true(c->text_end > c->text_start);
        /* never mid-word */
        assert_true(c->text_start == 0 || is_space(text[c->text_start - 1]));
        assert_true(text[c->text_end] == '\0' || is_space(text[c->text_end]));
        prev_end = c->text_end;
    }
}

static char *sentences(int n)
{
    static const char *const parts[] = {
        "The quick brown fox jumps over the lazy dog",
        "Kokoro reads long stories aloud without trouble",
        "Every chapter begins with a quiet morning",
        "She wondered, for a moment, whether the rain would stop",
        "Numbers like seven and twelve appear here too",
    };
    size_t cap = (size_t)n * 80 + 1;
    char *t = malloc(cap);
    assert_non_null(t);
    t[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t l = strlen(t);
        snprintf(t + l, cap - l, "%s%s%s", i ? " " : "", parts[i % 5], (i % 7 == 3) ? "!" : ".");
    }
    return t;
}

static void long_text_sentence_ends(void **state)
{
    (void)state;
    NEED_MODEL();
    warnings w = {0};
    kk_g2p *g = new_g2p(&w);
    char *text = sentences(200);
    chunks cs = {0};
    kk_error err;
    assert_int_equal(kk_g2p_run(g, text, "en-us", collect_chunk, &cs, &err), KK_OK);
    assert_true(cs.n >= 10);
    check_chunks(&cs, text, KK_G2P_MAX_TOKENS);
    size_t total = 0;
    for (size_t i = 0; i < cs.n; i++) {
        const chunk_copy *c = &cs.c[i];
        char last = text[c->text_end - 1];
        assert_true(last == '.' || last == '!'); /* cut at sentence ends */
        const char *p = c->phonemes + strlen(c->phonemes) - 1;
        assert_true(*p == '.' || *p == '!');
        if (i + 1 < cs.n) {
            assert_true(c->n_ids > 400); /* packed, not one sentence each */
            assert_int_equal(c->pause_after_ms, kk_g2p_default_params().pause_sentence_ms);
        } else {
            assert_int_equal(c->pause_after_ms, 0);
        }
        total += c->n_ids;
    }
    assert_int_equal(w.count, 0);
    chunks_free(&cs);

    /* one chunk per sentence */
    kk_g2p_params p = kk_g2p_default_params();
    p.chunk_per_sentence = 1;
    kk_g2p *g2 = new_g2p_params(p, &w);
    assert_int_equal(kk_g2p_run(g2, text, "en-us", collect_chunk, &cs, &err), KK_OK);
    assert_int_equal(cs.n, 200);
    check_chunks(&cs, text, KK_G2P_MAX_TOKENS);
    chunks_free(&cs);
    kk_g2p_free(g2);
    free(text);
    kk_g2p_free(g);
    (void)total;
}

static void clause_then_word_boundaries(void **state)
{
    (void)state;
    NEED_MODEL();
    warnings w = {0};
    kk_g2p *g = new_g2p(&w);
    /* one endless sentence with commas: cut after a comma */
    size_t cap = 200 * 40;
    char *text = malloc(cap);
    assert_non_null(text);
    text[0] = '\0';
    for (int i = 0; i < 150; i++)
        strcat(text, i % 4 == 3 ? "and the river runs, " : "and the river runs ");
    strcat(text, "home.");
    chunks cs = {0};
    kk_error err;
    assert_int_equal(kk_g2p_run(g, text, "en-us", collect_chunk, &cs, &err), KK_OK);
    assert_true(cs.n >= 3);
    check_chunks(&cs, text, KK_G2P_MAX_TOKENS);
    for (size_t i = 0; i + 1 < cs.n; i++) {
        assert_int_equal(text[cs.c[i].text_end - 1], ',');
        assert_int_equal(cs.c[i].pause_after_ms, kk_g2p_default_params().pause_comma_ms);
    }
    chunks_free(&cs);

    /* no punctuation at all: cut between words */
    text[0] = '\0';
    for (int i = 0; i < 150; i++)
        strcat(text, "and the river runs ");
    assert_int_equal(kk_g2p_run(g, text, "en-us", collect_chunk, &cs, &err), KK_OK);
    assert_true(cs.n >= 3);
    check_chunks(&cs, text, KK_G2P_MAX_TOKENS);
    chunks_free(&cs);

    /* a smaller limit */
    kk_g2p_params p = kk_g2p_default_params();
    p.max_tokens = 40;
    kk_g2p *g2 = new_g2p_params(p, &w);
    char *t2 = sentences(20);
    assert_int_equal(kk_g2p_run(g2, t2, "en-us", collect_chunk, &cs, &err), KK_OK);
    check_chunks(&cs, t2, 40);
    chunks_free(&cs);
    assert_int_equal(w.count, 0);

    /* a "word" longer than a chunk is cut, with a warning */
    char *big = malloc(200);
    assert_non_null(big);
    strcpy(big, "[x](/");
    for (int i = 0; i < 60; i++)
        strcat(big, "a");
    strcat(big, "/)");
    assert_int_equal(kk_g2p_run(g2, big, "en-us", collect_chunk, &cs, &err), KK_OK);
    assert_int_equal(cs.n, 2);
    assert_int_equal(cs.c[0].n_ids, 40);
    assert_int_equal(cs.c[1].n_ids, 20);
    assert_int_equal(w.kinds[KK_G2P_WARN_SPLIT], 1);
    chunks_free(&cs);
    free(big);
    free(t2);
    kk_g2p_free(g2);
    free(text);
    kk_g2p_free(g);
}

static void paragraphs(void **state)
{
    (void)state;
    NEED_MODEL();
    warnings w = {0};
    kk_g2p *g = new_g2p(&w);
    chunks cs = {0};
    kk_error err;
    const char *text = "First line\nstill first.\n\n\nSecond, here";
    assert_int_equal(kk_g2p_run(g, text, "en-us", collect_chunk, &cs, &err), KK_OK);
    assert_int_equal(cs.n, 2);
    assert_int_equal(cs.c[0].pause_after_ms, kk_g2p_default_params().pause_paragraph_ms);
    assert_int_equal(cs.c[0].text_end, strlen("First line\nstill first."));
    assert_int_equal(cs.c[1].pause_after_ms, 0);
    assert_int_equal(cs.c[1].text_start, strlen("First line\nstill first.\n\n\n"));
    /* empty and blank text make no chunks */
    assert_int_equal(kk_g2p_run(g, "", "en-us", collect_chunk, &cs, &err), KK_OK);
    assert_int_equal(kk_g2p_run(g, " \n\n ", "en-us", collect_chunk, &cs, &err), KK_OK);
    assert_int_equal(cs.n, 2);
    chunks_free(&cs);
    kk_g2p_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(long_text_sentence_ends),
        cmocka_unit_test(clause_then_word_boundaries),
        cmocka_unit_test(paragraphs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
