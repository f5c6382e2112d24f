/* test_tts.c - speech from text on the real model: chunks stream in order
 * with their pauses, progress and abort work, bad requests fail clearly,
 * one speed range for the engine and the forward pass under it, emphasis
 * markup lengthens its word and keeps the sentence's length.
 * Skipped (with a message) only when no model is installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tts.h"
#include "nn.h"

static kk_tts *tts;

static int setup(void **state)
{
    kk_error err;
    char dir[4096];
    if (kk_tts_find_model(dir, sizeof dir, &err) != KK_OK) {
        fprintf(stderr, "no model: %s\n", err.msg);
        return 0;
    }
    kk_tts_params p = kk_tts_default_params();
    p.model = dir;
    if (kk_tts_new(&p, &tts, &err) != KK_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    kk_tts_free(tts);
    return 0;
}

typedef struct {
    size_t chunks, samples, pause, last_done, last_total, progress_calls;
    double energy;
    int stop_after;
    size_t last_end;
    int order_ok;
} collected;

static int on_chunk(void *user, const kk_tts_chunk *c)
{
    collected *k = user;
    k->order_ok &= c->index == k->chunks && c->text_start >= k->last_end;
    k->last_end = c->text_end;
    k->chunks++;
    k->samples += c->n_samples;
    k->pause += c->pause_samples;
    for (size_t i = 0; i < c->n_samples - c->pause_samples; i++)
        k->energy += (double)c->samples[i] * c->samples[i];
    for (size_t i = c->n_samples - c->pause_samples; i < c->n_samples; i++)
        assert_true(c->samples[i] == 0.0f);
    if (c->phonemes) {
        size_t frames = 0;
        for (size_t i = 0; i < c->n_durations; i++)
            frames += (size_t)c->durations[i];
        assert_int_equal(frames * KK_SAMPLES_PER_FRAME, c->n_samples - c->pause_samples);
    }
    return k->stop_after && (int)k->chunks >= k->stop_after;
}

static void on_progress(void *user, size_t done, size_t total)
{
    collected *k = user;
    k->last_done = done, k->last_total = total;
    k->progress_calls++;
}

#define NEED_MODEL()                                                                                              \
    do {                                                                                                          \
        if (!tts)                                                                                                 \
            skip();                                                                                               \
    } while (0)

static void test_sentences_stream_with_pauses(void **state)
{
    NEED_MODEL();
    collected k = {.order_ok = 1};
    kk_synth_params p = kk_synth_default_params();
    p.on_chunk = on_chunk;
    p.on_progress = on_progress;
    p.user = &k;
    kk_error err;
    const char *text = "Hello there. This is a second sentence.\n\nA new paragraph, [pause:500ms] after a pause.";
    assert_int_equal(kk_tts_synthesize(tts, text, &p, &err), KK_OK);
    assert_true(k.chunks >= 2);
    assert_true(k.order_ok);
    assert_int_equal(k.last_done, k.chunks);
    assert_int_equal(k.last_total, k.chunks);
    assert_true(k.pause >= 500 * KK_SAMPLE_RATE / 1000); /* the explicit pause at least */
    double seconds = k.samples / (double)KK_SAMPLE_RATE;
    assert_true(seconds > 2.0 && seconds < 15.0);
    assert_true(sqrt(k.energy / k.samples) > 0.01); /* not silence */
}

static void test_speed_changes_length(void **state)
{
    NEED_MODEL();
    size_t len[2];
    for (int i = 0; i < 2; i++) {
        collected k = {.order_ok = 1};
        kk_synth_params p = kk_synth_default_params();
        p.speed = i ? 1.5f : 1.0f;
        p.on_chunk = on_chunk;
        p.user = &k;
        kk_error err;
        assert_int_equal(kk_tts_synthesize(tts, "The quick brown fox jumps over the lazy dog.", &p, &err), KK_OK);
        len[i] = k.samples - k.pause;
    }
    assert_true(len[1] < len[0] * 0.8);
}

/* A prediction (durations only) says how long the speech will be, to the
 * sample, with the same words, and gives no samples. */
typedef struct {
    size_t samples, words, chunks;
    int null_samples;
} predicted;

static int on_predicted(void *user, const kk_tts_chunk *c)
{
    predicted *k = user;
    k->samples += c->n_samples;
    k->words += c->n_words;
    k->chunks++;
    k->null_samples += c->samples == NULL && c->raw_durations != NULL;
    return 0;
}

static void test_prediction_matches_synthesis(void **state)
{
    NEED_MODEL();
    const char *text = "The quick brown fox jumps over the lazy dog. Then it sleeps.";
    predicted a = {0}, b = {0};
    kk_synth_params p = kk_synth_default_params();
    p.on_chunk = on_predicted;
    p.user = &a;
    kk_error err;
    assert_int_equal(kk_tts_synthesize(tts, text, &p, &err), KK_OK);
    p.user = &b;
    p.durations_only = 1;
    assert_int_equal(kk_tts_synthesize(tts, text, &p, &err), KK_OK);
    assert_int_equal(a.samples, b.samples);
    assert_int_equal(a.words, b.words);
    assert_int_equal(b.null_samples, (int)b.chunks);
    assert_int_equal(a.null_samples, 0);
}

/* Given durations (prosody mapping): the predicted ones given back make the
 * same bits; a word given twice its frames lasts twice as long; a count
 * that is not the chunk's is refused. */
typedef struct {
    float *samples;
    size_t n;
    int *durations;
    size_t n_durations;
    kk_tts_word words[16];
    size_t n_words;
} one_chunk;

static int on_one_chunk(void *user, const kk_tts_chunk *c)
{
    one_chunk *k = user;
    k->samples = malloc(c->n_samples * sizeof *k->samples);
    k->durations = malloc(c->n_durations * sizeof *k->durations);
    assert_non_null(k->samples);
    assert_non_null(k->durations);
    memcpy(k->samples, c->samples, c->n_samples * sizeof *k->samples);
    memcpy(k->durations, c->durations, c->n_durations * sizeof *k->durations);
    k->n = c->n_samples, k->n_durations = c->n_durations;
    k->n_words = c->n_words < 16 ? c->n_words : 16;
    memcpy(k->words, c->words, k->n_words * sizeof *k->words);
    return 0;
}

static void test_given_durations(void **state)
{
    NEED_MODEL();
    kk_synth_params p = kk_synth_default_params();
    kk_tts_script *s = NULL;
    kk_error err;
    assert_int_equal(kk_tts_prepare(tts, "Hello there, my friend.", &p, &s, &err), KK_OK);
    assert_int_equal(kk_tts_script_chunks(s), 1);
    one_chunk a = {0}, b = {0}, c = {0};
    p.on_chunk = on_one_chunk;
    p.user = &a;
    assert_int_equal(kk_tts_speak(tts, s, &p, &err), KK_OK);
    assert_true(a.n_words >= 4);
    const int *durs[1] = {a.durations};
    size_t n_ids[1] = {a.n_durations};
    p.durations = durs, p.n_ids_of = n_ids, p.n_durations = 1;
    p.user = &b;
    assert_int_equal(kk_tts_speak(tts, s, &p, &err), KK_OK);
    assert_int_equal(b.n, a.n);
    assert_memory_equal(b.samples, a.samples, a.n * sizeof *a.samples);
    /* "there" twice as long: its ids' frames doubled */
    int *twice = malloc(a.n_durations * sizeof *twice);
    assert_non_null(twice);
    memcpy(twice, a.durations, a.n_durations * sizeof *twice);
    const kk_tts_word *w = &a.words[1];
    for (size_t i = w->first_id; i < w->first_id + w->n_ids; i++)
        twice[i] *= 2;
    durs[0] = twice;
    p.user = &c;
    assert_int_equal(kk_tts_speak(tts, s, &p, &err), KK_OK);
    assert_int_equal(c.words[1].end_sample - c.words[1].start_sample, 2 * (w->end_sample - w->start_sample));
    assert_int_equal(c.words[1].start_sample, w->start_sample);
    assert_int_equal(c.n - a.n, w->end_sample - w->start_sample);
    /* refused: not the chunk's count, or a frame under one */
    n_ids[0] = a.n_durations - 1;
    assert_int_equal(kk_tts_speak(tts, s, &p, &err), KK_ERR_ARG);
    n_ids[0] = a.n_durations;
    twice[1] = 0;
    assert_int_equal(kk_tts_speak(tts, s, &p, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "outside 1 .."));
    free(twice);
    free(a.samples), free(a.durations), free(b.samples), free(b.durations), free(c.samples), free(c.durations);
    kk_tts_script_free(s);
}

static double word_rms(const one_chunk *k, size_t i)
{
    double e = 0;
    size_t a = k->words[i].start_sample, b = k->words[i].end_sample;
    for (size_t t = a; t < b; t++)
        e += (double)k->samples[t] * k->samples[t];
    return b > a ? sqrt(e / (double)(b - a)) : 0.0;
}

/* "[stole](+)": the word longer by about KK_EMPHASIS_FACTOR and louder,
 * the sentence as long as the plain one (within a frame), the words after
 * it where they were; the script says so, so that caches keep the two
 * apart; its durations given back are respected (no second emphasis). */
static void test_emphasis(void **state)
{
    NEED_MODEL();
    kk_synth_params p = kk_synth_default_params();
    kk_error err;
    kk_tts_script *plain = NULL, *marked = NULL;
    assert_int_equal(kk_tts_prepare(tts, "I never said she stole the money.", &p, &plain, &err), KK_OK);
    assert_int_equal(kk_tts_prepare(tts, "I never said she [stole](+) the money.", &p, &marked, &err), KK_OK);
    assert_null(strstr(kk_tts_script_phonemes(plain), "emphasis"));
    assert_non_null(strstr(kk_tts_script_phonemes(marked), "|emphasis 1.25 "));
    one_chunk a = {0}, b = {0};
    p.on_chunk = on_one_chunk;
    p.user = &a;
    assert_int_equal(kk_tts_speak(tts, plain, &p, &err), KK_OK);
    p.user = &b;
    assert_int_equal(kk_tts_speak(tts, marked, &p, &err), KK_OK);
    assert_int_equal(a.n_words, 7);
    assert_int_equal(b.n_words, 7);
    for (size_t i = 0; i < b.n_words; i++)
        assert_int_equal(b.words[i].emphasis, i == 4);
    size_t la = a.words[4].end_sample - a.words[4].start_sample, lb = b.words[4].end_sample - b.words[4].start_sample;
    double ratio = (double)lb / (double)la;
    print_message("stole: %zu -> %zu samples (x%.2f), rms %.4f -> %.4f; sentence %zu -> %zu samples\n", la, lb,
                  ratio, word_rms(&a, 4), word_rms(&b, 4), a.n, b.n);
    assert_true(ratio > 1.15 && ratio < 1.4);
    assert_true(word_rms(&b, 4) >= word_rms(&a, 4));
    assert_true((a.n > b.n ? a.n - b.n : b.n - a.n) <= KK_SAMPLES_PER_FRAME);
    assert_true(b.words[6].end_sample - a.words[6].end_sample <= KK_SAMPLES_PER_FRAME);
    assert_int_equal(b.words[0].start_sample, a.words[0].start_sample);
    /* given durations win: the emphasised chunk spoken with the plain
     * durations is as long as the plain one, word for word */
    const int *durs[1] = {a.durations};
    size_t n_ids[1] = {a.n_durations};
    one_chunk c = {0};
    p.durations = durs, p.n_ids_of = n_ids, p.n_durations = 1;
    p.user = &c;
    assert_int_equal(kk_tts_speak(tts, marked, &p, &err), KK_OK);
    assert_int_equal(c.n, a.n);
    assert_int_equal(c.words[4].end_sample, a.words[4].end_sample);
    free(a.samples), free(a.durations), free(b.samples), free(b.durations), free(c.samples), free(c.durations);
    kk_tts_script_free(plain);
    kk_tts_script_free(marked);
}

static int abort_now(void *user) { return 1; }

static void test_abort_and_bad_requests(void **state)
{
    NEED_MODEL();
    collected k = {.order_ok = 1, .stop_after = 1};
    kk_synth_params p = kk_synth_default_params();
    p.on_chunk = on_chunk;
    p.user = &k;
    kk_error err;
    assert_int_equal(kk_tts_synthesize(tts, "One. Two. Three. Four.", &p, &err), KK_ERR_ABORTED);
    assert_int_equal(k.chunks, 1);
    p.on_chunk = NULL;
    p.abort = abort_now;
    assert_int_equal(kk_tts_synthesize(tts, "Never said.", &p, &err), KK_ERR_ABORTED);
    p = kk_synth_default_params();
    p.voice = "xx_nobody";
    assert_int_not_equal(kk_tts_synthesize(tts, "Hi.", &p, &err), KK_OK);
    assert_non_null(strstr(err.msg, "xx_nobody"));
    p.voice = "af_heart";
    p.speed = 7.0f;
    assert_int_equal(kk_tts_synthesize(tts, "Hi.", &p, &err), KK_ERR_ARG);
    p.speed = 1.0f;
    assert_int_not_equal(kk_tts_synthesize(tts, "   ", &p, &err), KK_OK);
}

/* One speed range, KK_SPEED_MIN .. KK_SPEED_MAX with both ends, for the
 * engine (kk_synth_params) and for the forward pass under it. */
static void test_speed_range(void **state)
{
    NEED_MODEL();
    const float ok[] = {KK_SPEED_MIN, KK_SPEED_MAX};
    const float bad[] = {nextafterf(KK_SPEED_MIN, 0.0f), nextafterf(KK_SPEED_MAX, 10.0f), 0.0f, NAN};
    kk_error err;
    predicted a = {0};
    kk_synth_params p = kk_synth_default_params();
    p.durations_only = 1; /* the speed is checked all the same, at a small part of the cost */
    p.on_chunk = on_predicted;
    p.user = &a;
    for (size_t i = 0; i < 2; i++) {
        p.speed = ok[i];
        assert_int_equal(kk_tts_synthesize(tts, "Hi.", &p, &err), KK_OK);
    }
    for (size_t i = 0; i < 4; i++) {
        p.speed = bad[i];
        assert_int_equal(kk_tts_synthesize(tts, "Hi.", &p, &err), KK_ERR_ARG);
        assert_non_null(strstr(err.msg, "outside 0.5 .. 2"));
    }

    kk_model *m = NULL;
    assert_int_equal(kk_model_load(kk_tts_model_path(tts), &m, &err), KK_OK);
    const int64_t ids[] = {0, 50, 83, 54, 0};
    static float style[KK_STYLE_DIM];
    kk_forward_params fp = kk_forward_default_params();
    fp.durations_only = 1;
    for (size_t i = 0; i < 2; i++) {
        kk_forward_result r = {0};
        fp.speed = ok[i];
        assert_int_equal(kk_model_forward(m, ids, 5, style, &fp, &r, &err), KK_OK);
        assert_true(r.n_frames > 0);
        kk_forward_result_free(&r);
    }
    for (size_t i = 0; i < 4; i++) {
        kk_forward_result r = {0};
        fp.speed = bad[i];
        assert_int_equal(kk_model_forward(m, ids, 5, style, &fp, &r, &err), KK_ERR_ARG);
        assert_non_null(strstr(err.msg, "outside 0.5 .. 2"));
    }
    kk_model_free(m);
}

static void test_missing_model_is_a_clear_error(void **state)
{
    kk_tts_params p = kk_tts_default_params();
    p.model = "/nonexistent/kokoro";
    kk_tts *t = NULL;
    kk_error err;
    assert_int_not_equal(kk_tts_new(&p, &t, &err), KK_OK);
    assert_null(t);
    assert_non_null(strstr(err.msg, "/nonexistent/kokoro"));
}

int main(int argc, char **argv)
{
    (void)argc;
    /* the engine's libraries tuned as the programs have them (nn.h) */
    nn_exec_tuned(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sentences_stream_with_pauses),
        cmocka_unit_test(test_speed_changes_length),
        cmocka_unit_test(test_prediction_matches_synthesis),
        cmocka_unit_test(test_given_durations),
        cmocka_unit_test(test_emphasis),
        cmocka_unit_test(test_abort_and_bad_requests),
        cmocka_unit_test(test_speed_range),
        cmocka_unit_test(test_missing_model_is_a_clear_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
