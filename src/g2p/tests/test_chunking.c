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

/* Streaming chunks: the first sentence alone, then whole sentences grouped
 * on a ramp up to Kokoro-FastAPI's sizes; the same ids as packed chunks,
 * cut elsewhere. */
static void stream_chunks_ramp(void **state)
{
    (void)state;
    NEED_MODEL();
    warnings w = {0};
    kk_g2p *packed = new_g2p(&w);
    kk_g2p_params p = kk_g2p_default_params();
    p.stream_chunks = 1;
    kk_g2p *g = new_g2p_params(p, &w);
    char *text = sentences(200);
    chunks cs = {0}, pk = {0};
    kk_error err;
    assert_int_equal(kk_g2p_run(g, text, "en-us", collect_chunk, &cs, &err), KK_OK);
    assert_int_equal(kk_g2p_run(packed, text, "en-us", collect_chunk, &pk, &err), KK_OK);
    check_chunks(&cs, text, KK_G2P_STREAM_MAX);
    /* the first chunk is the first sentence */
    assert_int_equal(cs.c[0].text_start, 0);
    assert_int_equal(cs.c[0].text_end, strlen("The quick brown fox jumps over the lazy dog."));
    size_t first = cs.c[0].n_ids, target = 2 * first, ids = 0, ids_packed = 0;
    for (size_t i = 0; i < cs.n; i++) {
        const chunk_copy *c = &cs.c[i];
        char last = text[c->text_end - 1];
        assert_true(last == '.' || last == '!'); /* whole sentences */
        if (i > 0 && i + 1 < cs.n) {
            /* within the ramp's target, or past it by one sentence only
             * while short; never over the streaming maximum */
            assert_true(c->n_ids <= (target > KK_G2P_STREAM_TARGET ? KK_G2P_STREAM_MAX : target + 60));
            if (target >= KK_G2P_STREAM_TARGET)
                assert_true(c->n_ids >= KK_G2P_STREAM_TARGET - 60); /* grouped, not one sentence each */
            target = target * 2 > KK_G2P_STREAM_TARGET ? KK_G2P_STREAM_TARGET : target * 2;
        }
        if (i + 1 < cs.n)
            assert_int_equal(c->pause_after_ms, kk_g2p_default_params().pause_sentence_ms);
        ids += c->n_ids + (i > 0); /* a space where packed chunks go on */
    }
    for (size_t i = 0; i < pk.n; i++)
        ids_packed += pk.c[i].n_ids + (i > 0);
    assert_int_equal(ids, ids_packed);
    assert_true(cs.n > pk.n);
    /* off again on the same context (a pooled context serves both) */
    chunks again = {0};
    kk_g2p_set_stream_chunks(g, 0);
    assert_int_equal(kk_g2p_run(g, text, "en-us", collect_chunk, &again, &err), KK_OK);
    assert_int_equal(again.n, pk.n);
    /* a long first sentence is cut at a comma within the first chunk's size */
    kk_g2p_set_stream_chunks(g, 1);
    chunks lf = {0};
    const char *longfirst = "She wondered, for a moment, whether the rain would stop, whether the river would rise, "
                            "whether the bridge would hold, and whether anyone in the village had noticed at all, "
                            "before the evening came. Then she slept.";
    assert_int_equal(kk_g2p_run(g, longfirst, "en-us", collect_chunk, &lf, &err), KK_OK);
    assert_true(lf.n >= 2);
    assert_true(lf.c[0].n_ids <= KK_G2P_STREAM_FIRST_SOFT); /* at its last comma within the soft size */
    assert_int_equal(longfirst[lf.c[0].text_end - 1], ',');
    size_t cut = lf.c[0].text_end;
    chunks_free(&lf);
    /* with chunk_per_sentence too: the same short first chunk, then one
     * chunk per sentence (no ramp) */
    kk_g2p_set_chunk_per_sentence(g, 1);
    assert_int_equal(kk_g2p_run(g, longfirst, "en-us", collect_chunk, &lf, &err), KK_OK);
    assert_int_equal(lf.c[0].text_end, cut);
    assert_true(lf.n >= 3);
    assert_string_equal(longfirst + lf.c[lf.n - 1].text_start, "Then she slept.");
    chunks_free(&lf);
    chunks ps = {0};
    assert_int_equal(kk_g2p_run(g, text, "en-us", collect_chunk, &ps, &err), KK_OK);
    assert_int_equal(ps.n, 200); /* short sentences: one chunk each */
    chunks_free(&ps);
    kk_g2p_set_chunk_per_sentence(g, 0);
    /* a first sentence past the soft size without a mark within it stays whole */
    const char *nomark = "The committee examined every single proposal that arrived during the winter. Then it "
                         "rested.";
    assert_int_equal(kk_g2p_run(g, nomark, "en-us", collect_chunk, &lf, &err), KK_OK);
    fprintf(stderr, "a first sentence of %zu ids without a mark: one chunk\n", lf.c[0].n_ids);
    assert_true(lf.c[0].n_ids > KK_G2P_STREAM_FIRST_SOFT);
    assert_int_equal(nomark[lf.c[0].text_end - 1], '.');
    chunks_free(&lf);
    chunks_free(&again);
    assert_int_equal(w.count, 0);
    chunks_free(&cs);
    chunks_free(&pk);
    free(text);
    kk_g2p_free(g);
    kk_g2p_free(packed);
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

typedef struct {
    const char *text;
    char words[16][32];
    size_t first[16], n[16], n_words, n_ids;
    char phon[512];
} word_capture;

static int capture_words(void *user, const kk_g2p_chunk *c)
{
    word_capture *w = user;
    w->n_words = c->n_words;
    w->n_ids = c->n_ids;
    snprintf(w->phon, sizeof w->phon, "%s", c->phonemes);
    for (size_t i = 0; i < c->n_words && i < 16; i++) {
        w->first[i] = c->words[i].first_id;
        w->n[i] = c->words[i].n_ids;
        snprintf(w->words[i], sizeof w->words[i], "%.*s", (int)(c->words[i].text_end - c->words[i].text_start),
                 w->text + c->words[i].text_start);
    }
    return 0;
}

/* Each chunk lists its words with their source span and their ids, in
 * order, so that per-word times can be read off the predicted durations. */
static void words_carry_spans_and_ids(void **state)
{
    NEED_MODEL();
    warnings w;
    kk_g2p *g = new_g2p(&w);
    const char *text = "Hello, big [Kokoro](/kˈOkəɹO/) world.";
    word_capture cap = {.text = text};
    kk_error err;
    assert_int_equal(kk_g2p_run(g, text, "en-us", capture_words, &cap, &err), KK_OK);
    assert_int_equal(cap.n_words, 4);
    assert_string_equal(cap.words[0], "Hello");
    assert_string_equal(cap.words[1], "big");
    assert_non_null(strstr(cap.words[2], "Kokoro"));
    assert_string_equal(cap.words[3], "world");
    size_t prev_end = 0;
    for (size_t i = 0; i < cap.n_words; i++) {
        assert_true(cap.first[i] >= prev_end); /* in order, no overlap */
        assert_true(cap.n[i] > 0);
        assert_true(cap.first[i] + cap.n[i] <= cap.n_ids);
        prev_end = cap.first[i] + cap.n[i];
    }
    /* the override's ids are exactly its phonemes, where they stand */
    const char *p = strstr(cap.phon, "kˈOkəɹO");
    assert_non_null(p);
    size_t before = 0;
    for (const char *q = cap.phon; q < p; q++)
        before += ((unsigned char)*q & 0xC0) != 0x80;
    assert_int_equal(cap.first[2], before);
    assert_int_equal(cap.n[2], cps("kˈOkəɹO"));
    kk_g2p_free(g);
}

/* espeak-ng joins function words ("out of" -> ˌWTəv): those share a word,
 * the others keep their own (not the whole clause as one word). */
static void joined_function_words_stay_local(void **state)
{
    NEED_MODEL();
    warnings w;
    kk_g2p_params p = kk_g2p_default_params();
    p.no_dictionary = 1; /* the dictionary reads these words one by one */
    kk_g2p *g = new_g2p_params(p, &w);
    const char *text = "Placed right out of his mind";
    word_capture cap = {.text = text};
    kk_error err;
    assert_int_equal(kk_g2p_run(g, text, "en-us", capture_words, &cap, &err), KK_OK);
    assert_int_equal(cap.n_words, 5);
    assert_string_equal(cap.words[0], "Placed");
    assert_string_equal(cap.words[1], "right");
    assert_string_equal(cap.words[2], "out of");
    assert_string_equal(cap.words[3], "his");
    assert_string_equal(cap.words[4], "mind");
    kk_g2p_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(long_text_sentence_ends),
        cmocka_unit_test(stream_chunks_ramp),
        cmocka_unit_test(clause_then_word_boundaries),
        cmocka_unit_test(paragraphs),
        cmocka_unit_test(words_carry_spans_and_ids),
        cmocka_unit_test(joined_function_words_stay_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
