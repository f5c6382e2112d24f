/* test_prosody.c - the arithmetic of prosody mapping (prosody.h), without
 * the model: placed words start on their frame, each id keeps a frame,
 * the pause modes, and impossible targets reported by word. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "prosody.h"

/* ids: pad, "h e l o"(1-4), space(5), "w o r l d"(6-10), "."(11), pad(12) */
static const float raw[13] = {1.2f, 2, 3, 2, 4, 1.4f, 2, 3, 2, 2, 3, 6, 2};

static int64_t onset(const kk_prosody_fit *f, size_t id)
{
    int64_t eng = 0, at;
    for (size_t k = 0; k < id; k++)
        eng += f->durations[k];
    at = eng;
    for (size_t s = 0; s < f->n_silences; s++)
        if (f->silences[s].at_frame <= eng)
            at += f->silences[s].frames;
    return at;
}

static void words_land_on_their_frames(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        kk_prosody_word w[2] = {{1, 4, 10.4, 24.0, 0}, {6, 5, 40.6, NAN, 1}};
        kk_prosody_fit f;
        kk_error err;
        assert_int_equal(kk_prosody_fit_chunk(raw, 13, 1.0f, w, 2, (kk_pause_mode)mode, &f, &err), KK_OK);
        assert_int_equal(f.n_problems, 0);
        assert_int_equal(onset(&f, 1), 10);
        assert_int_equal(onset(&f, 5), 24); /* the first word's end target */
        assert_int_equal(onset(&f, 6), 41);
        for (size_t k = 0; k < 13; k++)
            assert_true(f.durations[k] >= 1);
        /* after the last word: as predicted */
        assert_int_equal(f.durations[11], 6);
        assert_int_equal(f.durations[12], 2);
        int64_t sum = 0;
        for (size_t k = 0; k < 13; k++)
            sum += f.durations[k];
        for (size_t s = 0; s < f.n_silences; s++)
            sum += f.silences[s].frames;
        assert_int_equal(sum, f.frames);
        if (mode == KK_PAUSE_SILENCE) {
            /* the space held twice its natural frame, the rest of the pause silence */
            assert_int_equal(f.durations[5], (int)KK_PROSODY_PAUSE_HOLD);
            assert_int_equal(f.n_silences, 2); /* the chunk's start, then the pause */
            assert_int_equal(f.silences[1].frames, 41 - 24 - (int)KK_PROSODY_PAUSE_HOLD);
        } else {
            assert_int_equal(f.n_silences, 0);
            assert_int_equal(f.durations[5], 41 - 24);
        }
        kk_prosody_fit_free(&f);
    }
}

static void shares_follow_the_predictor(void **state)
{
    (void)state;
    /* "hello" given twice its natural 11 frames: each id about doubled */
    kk_prosody_word w[2] = {{1, 4, 2, 24, 0}, {6, 5, 30, NAN, 1}};
    kk_prosody_fit f;
    assert_int_equal(kk_prosody_fit_chunk(raw, 13, 1.0f, w, 2, KK_PAUSE_STRETCH, &f, NULL), KK_OK);
    assert_int_equal(f.durations[1] + f.durations[2] + f.durations[3] + f.durations[4], 22);
    assert_int_equal(f.durations[2], 6);
    assert_int_equal(f.durations[4], 8);
    kk_prosody_fit_free(&f);
}

/* "hello" (2, 3, 2, 4 frames) given 8 of its 11: the frames come from what
 * each id has above two (the 3 and the 4 lose theirs), not a third off
 * each, which would leave the 2-frame sounds a frame and a half. */
static void compression_keeps_short_sounds(void **state)
{
    (void)state;
    kk_prosody_word w[2] = {{1, 4, 2, 10, 0}, {6, 5, 11, NAN, 1}};
    kk_prosody_fit f;
    assert_int_equal(kk_prosody_fit_chunk(raw, 13, 1.0f, w, 2, KK_PAUSE_STRETCH, &f, NULL), KK_OK);
    assert_int_equal(f.n_problems, 0);
    assert_int_equal(f.durations[1], 2);
    assert_int_equal(f.durations[2], 2);
    assert_int_equal(f.durations[3], 2);
    assert_int_equal(f.durations[4], 2);
    kk_prosody_fit_free(&f);
}

/* The last word's end target is where its sound ends, not where its frames
 * do (the sentence's closing silence is in its last ids): "world" (12
 * natural frames) given 5 keeps its natural frames; a word with a word
 * after it still ends on its target. */
static void the_last_word_is_not_squeezed(void **state)
{
    (void)state;
    kk_prosody_word w[2] = {{1, 4, 2, 10, 0}, {6, 5, 20, 25, 1}};
    kk_prosody_fit f;
    assert_int_equal(kk_prosody_fit_chunk(raw, 13, 1.0f, w, 2, KK_PAUSE_STRETCH, &f, NULL), KK_OK);
    assert_int_equal(f.n_problems, 0);
    assert_int_equal(onset(&f, 6), 20);
    const int natural[5] = {2, 3, 2, 2, 3};
    for (int k = 0; k < 5; k++)
        assert_int_equal(f.durations[6 + k], natural[k]);
    assert_int_equal(f.durations[1] + f.durations[2] + f.durations[3] + f.durations[4], 8); /* "hello": 2 to 10 */
    kk_prosody_fit_free(&f);
}

static void impossible_targets_are_reported(void **state)
{
    (void)state;
    /* "world" starts 3 frames after "hello": 4 phonemes and a space in 3 */
    kk_prosody_word w[2] = {{1, 4, 2, NAN, 0}, {6, 5, 5, NAN, 1}};
    kk_prosody_fit f;
    assert_int_equal(kk_prosody_fit_chunk(raw, 13, 1.0f, w, 2, KK_PAUSE_STRETCH, &f, NULL), KK_OK);
    assert_int_equal(f.n_problems, 1);
    assert_int_equal(f.problems[0].tag, 0);
    assert_int_equal(f.problems[0].kind, KK_PROSODY_TOO_SHORT);
    char msg[256];
    kk_prosody_problem_text(&f.problems[0], "hello", msg, sizeof msg);
    assert_non_null(strstr(msg, "word 1 (\"hello\") gets 3 frames"));
    /* no room at all (the words before it ran past its start): said so, not as negative frames */
    kk_prosody_problem none = {.tag = 1, .kind = KK_PROSODY_TOO_SHORT, .frames = -7, .ids = 3};
    kk_prosody_problem_text(&none, "can", msg, sizeof msg);
    assert_non_null(strstr(msg, "word 2 (\"can\") gets no time for its 3 phonemes"));
    assert_null(strstr(msg, "-7"));
    for (size_t k = 0; k < 13; k++)
        assert_true(f.durations[k] >= 1);
    kk_prosody_fit_free(&f);
    /* 6 frames for "hello" (11 natural, 4 ids) is possible but 1.8x; 4 is 2.75x: too fast */
    kk_prosody_word v[2] = {{1, 4, 2, NAN, 0}, {6, 5, 7, NAN, 1}};
    assert_int_equal(kk_prosody_fit_chunk(raw, 13, 1.0f, v, 2, KK_PAUSE_STRETCH, &f, NULL), KK_OK);
    assert_int_equal(f.n_problems, 1);
    assert_int_equal(f.problems[0].kind, KK_PROSODY_TOO_FAST);
    kk_prosody_fit_free(&f);
}

static void bad_words_are_refused(void **state)
{
    (void)state;
    kk_prosody_word w[2] = {{6, 5, 2, NAN, 0}, {1, 4, 30, NAN, 1}};
    kk_prosody_fit f;
    kk_error err;
    assert_int_equal(kk_prosody_fit_chunk(raw, 13, 1.0f, w, 2, KK_PAUSE_STRETCH, &f, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "word 1"));
    kk_prosody_word p = {0, 3, 1, NAN, 0}; /* the pad is no word's */
    assert_int_equal(kk_prosody_fit_chunk(raw, 13, 1.0f, &p, 1, KK_PAUSE_STRETCH, &f, &err), KK_ERR_ARG);
    assert_int_equal(kk_pause_mode_from_name("silence"), KK_PAUSE_SILENCE);
    assert_int_equal(kk_pause_mode_from_name("x"), -1);
}

static int64_t sum(const int *d, size_t a, size_t b)
{
    int64_t s = 0;
    for (size_t i = a; i < b; i++)
        s += d[i];
    return s;
}

/* An emphasised word is longer by the factor, its neighbours give the
 * frames back, the chunk keeps its length, and nothing goes under a frame
 * or under KK_EMPHASIS_KEEP of itself. */
static void emphasis_keeps_the_length(void **state)
{
    (void)state;
    /* pad, w0 (ids 1-3), space 4, w1 (5-8), space 9, w2 (10-12), "." 13, pad */
    int d[15] = {3, 2, 4, 3, 1, 3, 6, 4, 2, 1, 3, 5, 2, 8, 4};
    int before[15];
    memcpy(before, d, sizeof d);
    kk_prosody_span w[3] = {{1, 3, 0}, {5, 4, 1}, {10, 3, 0}};
    assert_int_equal(kk_prosody_emphasise(d, 15, w, 3, 1.3), 0);
    assert_int_equal(sum(d, 0, 15), sum(before, 0, 15));
    assert_int_equal(sum(d, 5, 9), 15 + 5); /* 15 frames * 1.3 = 19.5 -> 20 */
    assert_true(sum(d, 1, 4) < sum(before, 1, 4) && sum(d, 10, 13) < sum(before, 10, 13));
    int pads_and_marks[] = {0, 4, 9, 13, 14};
    for (size_t k = 0; k < 5; k++)
        assert_int_equal(d[pads_and_marks[k]], before[pads_and_marks[k]]);
    for (size_t i = 0; i < 15; i++)
        assert_true(d[i] >= 1 && d[i] >= (int)ceil(before[i] * KK_EMPHASIS_KEEP));

    /* a word alone: nobody to give, the chunk grows */
    int e[5] = {2, 3, 4, 3, 2};
    kk_prosody_span one = {1, 3, 1};
    assert_int_equal(kk_prosody_emphasise(e, 5, &one, 1, 1.3), 3);
    assert_int_equal(sum(e, 1, 4), 13);

    /* neighbours of one frame per id cannot give: the next ring does */
    int f[11] = {1, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1};
    kk_prosody_span v[4] = {{1, 2, 0}, {3, 1, 0}, {5, 1, 1}, {7, 1, 0}};
    assert_int_equal(kk_prosody_emphasise(f, 11, v, 4, 1.3), 0);
    assert_int_equal(f[5], 2);
    assert_int_equal(f[3], 1);
    assert_int_equal(f[7], 1);
    assert_int_equal(f[1] + f[2], 7);
    assert_int_equal(sum(f, 0, 11), 17);

    /* a factor of 1 and no emphasis change nothing; spans out of range are
     * skipped */
    int g[6] = {1, 2, 3, 4, 5, 6}, h[6];
    memcpy(h, g, sizeof g);
    kk_prosody_span bad[2] = {{0, 2, 1}, {4, 3, 1}};
    assert_int_equal(kk_prosody_emphasise(g, 6, bad, 2, 1.3), 0);
    assert_int_equal(kk_prosody_emphasise(g, 6, w, 0, 1.3), 0);
    kk_prosody_span ok = {1, 2, 1};
    assert_int_equal(kk_prosody_emphasise(g, 6, &ok, 1, 1.0), 0);
    assert_memory_equal(g, h, sizeof g);
}

/* The gain of an emphasised word: full inside, ramped at its ends, nothing
 * outside it; a span past the end is clipped. */
static void emphasis_gain_ramps(void **state)
{
    (void)state;
    float s[2000];
    for (size_t i = 0; i < 2000; i++)
        s[i] = 0.5f;
    kk_prosody_gain(s, 2000, 500, 1500, 6.0);
    double g = pow(10.0, 6.0 / 20.0);
    assert_true(s[499] == 0.5f && s[1500] == 0.5f);
    assert_true(fabs(s[500] - 0.5) < 1e-6); /* the ramp starts at 1 */
    assert_true(fabs(s[1000] - 0.5 * g) < 1e-5);
    assert_true(s[500 + KK_EMPHASIS_RAMP / 2] > 0.5f && s[500 + KK_EMPHASIS_RAMP / 2] < 0.5 * g);
    assert_true(fabs(s[1499] - 0.5) < 1e-6);
    kk_prosody_gain(s, 2000, 1900, 5000, 6.0); /* clipped, no write past the end */
    assert_true(s[1950] > 0.5f);
    kk_prosody_gain(NULL, 0, 0, 10, 6.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(words_land_on_their_frames),
        cmocka_unit_test(shares_follow_the_predictor),
        cmocka_unit_test(compression_keeps_short_sounds),
        cmocka_unit_test(the_last_word_is_not_squeezed),
        cmocka_unit_test(impossible_targets_are_reported),
        cmocka_unit_test(bad_words_are_refused),
        cmocka_unit_test(emphasis_keeps_the_length),
        cmocka_unit_test(emphasis_gain_ramps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
