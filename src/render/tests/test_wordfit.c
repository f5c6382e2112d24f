/* test_wordfit.c - fit.words (prosody mapping) on the real model: a
 * WScribe transcript's word times are where its words start, to the frame
 * (from the renderer's alignment, and the pause in the signal); the
 * re-render comes from the cache with the same bits; targets that cannot
 * be spoken fall back to the cue's fit and say which words and why (a
 * bounded note, in the piece too, and again from the cache); a segment's
 * own fit wins over the render's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "nn.h"

#define MS (KK_SAMPLE_RATE / 1000)

static kk_tts *tts;

static int setup(void **state)
{
    (void)state;
    kk_error err;
    kk_tts_params p = kk_tts_default_params();
    if (kk_tts_new(&p, &tts, &err) != KK_OK) {
        fprintf(stderr, "test_wordfit needs the model: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kk_tts_free(tts);
    return 0;
}

/* Slower than natural, off the 25 ms grid, a 410 ms pause before "on". */
static const char *const placed =
    "[{\"text\": \"Every word lands on its time.\", \"start\": \"00:00:01.000\", \"end\": \"00:00:03.150\", \"words\": ["
    "{\"text\": \"Every\", \"start\": \"00:00:01.000\", \"end\": \"00:00:01.290\"},"
    "{\"text\": \"word\", \"start\": \"00:00:01.337\", \"end\": \"00:00:01.600\"},"
    "{\"text\": \"lands\", \"start\": \"00:00:01.655\", \"end\": \"00:00:02.000\"},"
    "{\"text\": \"on\", \"start\": \"00:00:02.410\", \"end\": \"00:00:02.520\"},"
    "{\"text\": \"its\", \"start\": \"00:00:02.563\", \"end\": \"00:00:02.700\"},"
    "{\"text\": \"time.\", \"start\": \"00:00:02.750\", \"end\": \"00:00:03.150\"}]}]";
static const int64_t starts_ms[] = {1000, 1337, 1655, 2410, 2563, 2750};

/* Five words in 60 ms: far less than a frame per phoneme. */
static const char *const squeezed =
    "[{\"text\": \"Nobody can say this quickly.\", \"start\": \"00:00:00.500\", \"end\": \"00:00:02.500\", \"words\": ["
    "{\"text\": \"Nobody\", \"start\": \"00:00:00.500\", \"end\": \"00:00:00.510\"},"
    "{\"text\": \"can\", \"start\": \"00:00:00.515\", \"end\": \"00:00:00.525\"},"
    "{\"text\": \"say\", \"start\": \"00:00:00.530\", \"end\": \"00:00:00.540\"},"
    "{\"text\": \"this\", \"start\": \"00:00:00.545\", \"end\": \"00:00:00.550\"},"
    "{\"text\": \"quickly.\", \"start\": \"00:00:00.560\", \"end\": \"00:00:02.500\"}]}]";

static kk_doc *parse(const char *json)
{
    kk_doc *doc = NULL;
    kk_error err;
    kk_parse_params pp = kk_parse_default_params();
    assert_int_equal(kk_parse_memory("words.json", json, strlen(json), &pp, &doc, &err), KK_OK);
    assert_int_equal(doc->n_segs, 1);
    assert_true(doc->segs[0].n_words > 0);
    return doc;
}

static double rms(const float *x, size_t from, size_t to)
{
    double e = 0;
    for (size_t i = from; i < to; i++)
        e += (double)x[i] * x[i];
    return to > from ? sqrt(e / (double)(to - from)) : 0;
}

/* on_piece: the lead of the last piece */
static void take_lead(void *user, const kk_render_piece *pc) { *(int64_t *)user = pc->lead_samples; }

static void test_words_land_on_their_frames(void **state)
{
    (void)state;
    kk_doc *doc = parse(placed);
    kk_render_segment *segs = kk_render_segments_from_doc(doc);
    kk_cache *cache = NULL;
    kk_cache_params cp = kk_cache_default_params();
    cp.dir = NULL;
    kk_error err;
    assert_int_equal(kk_cache_open(&cp, &cache, &err), KK_OK);
    kk_render_params p = kk_render_default_params();
    p.fit.words = 1;
    p.cache = cache;
    int64_t lead = -1;
    p.on_piece = take_lead, p.user = &lead;
    kk_render_result r, again;
    assert_int_equal(kk_render(tts, segs, 1, &p, &r, &err), KK_OK);
    const kk_render_cue *q = &r.cues[0];
    assert_int_equal(q->word_fit, 1);
    /* the piece says where the track places it (the server shows a
     * segment's place from its piece before the pass ends) */
    assert_true(lead > 0);
    assert_int_equal(segs[0].start_ms * MS - lead, q->start_sample);
    assert_null(q->fit_note);
    assert_int_equal(q->n_words, 6);
    for (size_t k = 0; k < 6; k++) {
        int64_t off = q->words[k].start_sample - starts_ms[k] * MS;
        if (llabs(off) > KK_SAMPLES_PER_FRAME / 2)
            fail_msg("word %zu starts at %.1f ms, its time is %lld ms", k, (double)q->words[k].start_sample / MS,
                     (long long)starts_ms[k]);
    }
    /* most of the pause is silence (the space around it held up to
     * KK_PROSODY_PAUSE_HOLD times its natural length), and the signal
     * starts again where "on" does */
    size_t quiet = 0, run = 0;
    for (size_t i = 2000 * MS; i < 2410 * MS && i < r.n_samples; i++) {
        run = r.samples[i] == 0.0f ? run + 1 : 0;
        if (run > quiet)
            quiet = run;
    }
    if (quiet < 250 * MS)
        fail_msg("the longest silence in the 410 ms pause is %.1f ms", (double)quiet / MS);
    size_t on = 2080 * MS;
    while (on < r.n_samples && rms(r.samples, on, on + 5 * MS) < 0.01)
        on += MS;
    assert_true(llabs((int64_t)on - 2410 * MS) <= 40 * MS);
    /* the same from the cache */
    assert_int_equal(kk_render(tts, segs, 1, &p, &again, &err), KK_OK);
    assert_int_equal(again.from_cache, 1);
    assert_int_equal(again.cues[0].word_fit, 1);
    assert_int_equal(segs[0].start_ms * MS - lead, again.cues[0].start_sample); /* from the cache too */
    assert_int_equal(again.n_samples, r.n_samples);
    assert_memory_equal(again.samples, r.samples, r.n_samples * sizeof *r.samples);
    for (size_t k = 0; k < 6; k++)
        assert_int_equal(again.cues[0].words[k].start_sample, q->words[k].start_sample);
    /* without fit.words the same segment is fitted as a cue */
    p.fit.words = 0;
    kk_render_result plain;
    assert_int_equal(kk_render(tts, segs, 1, &p, &plain, &err), KK_OK);
    assert_int_equal(plain.cues[0].word_fit, 0);
    assert_null(plain.cues[0].fit_note);
    /* a segment's own fit wins over the params': "words" on its own (the
     * same audio, from the cache), a cue fit where the params say words */
    kk_render_result own;
    segs[0].fit = KK_SEGMENT_FIT_WORDS;
    assert_int_equal(kk_render(tts, segs, 1, &p, &own, &err), KK_OK);
    assert_int_equal(own.cues[0].word_fit, 1);
    assert_int_equal(own.from_cache, 1);
    assert_int_equal(own.n_samples, r.n_samples);
    assert_memory_equal(own.samples, r.samples, r.n_samples * sizeof *r.samples);
    kk_render_result_free(&own);
    p.fit.words = 1;
    segs[0].fit = KK_SEGMENT_FIT_OVERLAP;
    assert_int_equal(kk_render(tts, segs, 1, &p, &own, &err), KK_OK);
    assert_int_equal(own.cues[0].word_fit, 0);
    assert_int_equal(own.n_samples, plain.n_samples);
    kk_render_result_free(&own);
    segs[0].fit = (kk_segment_fit)99;
    assert_int_equal(kk_render(tts, segs, 1, &p, &own, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "segment 1"));
    kk_render_result_free(&plain);
    kk_render_result_free(&again);
    kk_render_result_free(&r);
    kk_cache_close(cache);
    free(segs);
    kk_doc_free(doc);
}

typedef struct {
    size_t index, calls;
    char msg[KK_ERROR_MSG_MAX];
} warned;

static void on_warning(void *user, size_t index, const char *msg)
{
    warned *w = user;
    w->index = index, w->calls++;
    snprintf(w->msg, sizeof w->msg, "%s", msg);
}

typedef struct {
    warned w;
    char note[1024]; /* the last piece's fit_note; "" for none */
    size_t pieces;
} noted;

static void on_warning_noted(void *user, size_t index, const char *msg) { on_warning(&((noted *)user)->w, index, msg); }

static void take_note(void *user, const kk_render_piece *pc)
{
    noted *n = user;
    n->pieces++;
    snprintf(n->note, sizeof n->note, "%s", pc->fit_note ? pc->fit_note : "");
}

/* How many words a note names ("word 1 (...)"). */
static size_t words_named(const char *note)
{
    size_t n = 0;
    for (const char *s = note; (s = strstr(s, "word ")); s += 5)
        n++;
    return n;
}

static void test_impossible_targets_fall_back(void **state)
{
    (void)state;
    kk_doc *doc = parse(squeezed);
    kk_render_segment *segs = kk_render_segments_from_doc(doc);
    kk_cache *cache = NULL;
    kk_cache_params cp = kk_cache_default_params();
    cp.dir = NULL;
    kk_error err;
    assert_int_equal(kk_cache_open(&cp, &cache, &err), KK_OK);
    kk_render_params p = kk_render_default_params();
    p.fit.words = 1;
    p.cache = cache;
    noted nd = {0};
    p.on_warning = on_warning_noted;
    p.on_piece = take_note;
    p.user = &nd;
    kk_render_result r;
    assert_int_equal(kk_render(tts, segs, 1, &p, &r, &err), KK_OK);
    const kk_render_cue *q = &r.cues[0];
    assert_int_equal(q->word_fit, 0);
    assert_non_null(q->fit_note);
    assert_non_null(strstr(q->fit_note, "word 1 (\"Nobody\")"));
    assert_non_null(strstr(q->fit_note, "frames"));
    /* the piece carries the note (the studio shows it from there), bounded:
     * four squeezed words, three named and "and 1 more" */
    assert_int_equal(nd.pieces, 1);
    assert_string_equal(nd.note, q->fit_note);
    assert_int_equal(words_named(q->fit_note), KK_FIT_NOTE_WORDS);
    assert_non_null(strstr(q->fit_note, "; and 1 more"));
    /* from the cache: the same note, in the piece and the cue */
    kk_render_result again;
    nd.note[0] = '\0';
    assert_int_equal(kk_render(tts, segs, 1, &p, &again, &err), KK_OK);
    assert_int_equal(again.from_cache, 1);
    assert_int_equal(again.cues[0].word_fit, 0);
    assert_non_null(again.cues[0].fit_note);
    assert_string_equal(again.cues[0].fit_note, q->fit_note);
    assert_string_equal(nd.note, q->fit_note);
    kk_render_result_free(&again);
    const warned w = nd.w; /* the second render warned too */
    assert_true(w.calls >= 1);
    assert_int_equal(w.index, 1);
    assert_non_null(strstr(w.msg, "not placed at their times"));
    /* the cue's fit was used: speech is there, starting at the cue */
    assert_true(q->end_sample > q->start_sample);
    assert_int_equal(q->start_sample, 500 * MS);
    char *json = kk_render_report_json(&r);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"fit\":\t\"cue\""));
    assert_non_null(strstr(json, "\"fit_note\""));
    free(json);
    kk_render_result_free(&r);
    kk_cache_close(cache);
    free(segs);
    kk_doc_free(doc);
}

int main(int argc, char **argv)
{
    (void)argc;
    /* the engine's libraries tuned as the programs have them (nn.h) */
    nn_exec_tuned(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words_land_on_their_frames),
        cmocka_unit_test(test_impossible_targets_fall_back),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
