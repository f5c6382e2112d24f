/* test_api.c - libkokoro through its public header only (include/kokoro.h),
 * linked against libkokoro.so: status codes and errors, defaults, argument
 * checks, timelines (built and parsed, warnings, strict), the cache and the
 * exports without the model; then, when the model is there, speaking (to
 * samples, to a file, in two steps, chunk callbacks, abort), and rendering
 * a timeline through a cache (the second render speaks nothing, a failing
 * segment is named as data, not text). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kokoro.h"

static char tmp[4096];

static const char *tmp_path(const char *name)
{
    static char path[8192];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    return path;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TEST_TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/api-%d", t ? t : "/tmp", (int)getpid());
    return mkdir(tmp, 0700) == 0 ? 0 : -1;
}

/* ---- without the model ---- */

static void test_status_and_version(void **state)
{
    (void)state;
    assert_string_equal(kokoro_status_name(KOKORO_OK), "ok");
    assert_string_equal(kokoro_status_name(KOKORO_ERR_IO), "I/O error");
    assert_string_equal(kokoro_status_name(KOKORO_ERR_CONFLICT), "conflict");
    assert_string_equal(kokoro_version(), KOKORO_TEST_VERSION);
}

static void test_defaults(void **state)
{
    (void)state;
    kokoro_speak_params sp = kokoro_speak_default_params();
    assert_string_equal(sp.voice, "af_heart");
    assert_true(sp.speed == 1.0f);
    assert_null(sp.on_chunk);
    kokoro_render_params rp = kokoro_render_default_params();
    assert_string_equal(rp.voice, "af_heart");
    assert_true(rp.speed == 1.0f);
    assert_int_equal(rp.fit, 1);
    assert_true(rp.fit_max_speed == 1.25f);
    assert_true(rp.fit_max_stretch == 1.2);
    assert_int_equal(rp.gap_ms, 500);
    assert_true(rp.target_lufs == -16.0);
    assert_int_equal(rp.overflow, KOKORO_OVERFLOW_OVERLAP);
    kokoro_cache_params cp = kokoro_cache_default_params();
    assert_int_equal(cp.mem_bytes, (size_t)256 << 20);
    assert_null(cp.dir);
    kokoro_export_params ep = kokoro_export_default_params();
    assert_int_equal(ep.format, KOKORO_EXPORT_WAV16);
    assert_int_equal(ep.vbr_quality, 4);
    kokoro_segment s = kokoro_segment_default();
    assert_true(s.start_ms == KOKORO_TIME_NONE && s.end_ms == KOKORO_TIME_NONE);
    assert_true(isnan(s.pitch));
}

static void test_errors(void **state)
{
    (void)state;
    kokoro_error err;
    kokoro_context *ctx = (kokoro_context *)&err; /* must be reset to NULL */
    kokoro_context_params cp = kokoro_context_default_params();
    cp.model = "/nonexistent/kokoro-model";
    assert_int_not_equal(kokoro_init(&cp, &ctx, &err), KOKORO_OK);
    assert_null(ctx);
    assert_int_not_equal(err.code, KOKORO_OK);
    assert_int_equal(err.segment, 0);
    assert_non_null(strstr(err.message, "/nonexistent/kokoro-model"));
    /* NULL arguments are KOKORO_ERR_ARG, with or without an error to fill */
    assert_int_equal(kokoro_speak(NULL, "x", NULL, NULL, NULL, &err), KOKORO_ERR_ARG);
    assert_true(strlen(err.message) > 0);
    assert_int_equal(kokoro_render(NULL, NULL, NULL, NULL, NULL), KOKORO_ERR_ARG);
    /* success clears the error */
    kokoro_timeline *tl = NULL;
    assert_int_equal(kokoro_timeline_new(&tl, &err), KOKORO_OK);
    assert_int_equal(err.code, KOKORO_OK);
    assert_string_equal(err.message, "");
    kokoro_timeline_free(tl);
    kokoro_free(NULL);
    kokoro_timeline_free(NULL);
    kokoro_track_free(NULL);
    kokoro_cache_close(NULL);
    kokoro_script_free(NULL);
}

static void test_timeline(void **state)
{
    (void)state;
    kokoro_error err;
    kokoro_timeline *tl = NULL;
    assert_int_equal(kokoro_timeline_new(&tl, &err), KOKORO_OK);
    char text[] = "First words.";
    kokoro_segment s = kokoro_segment_default();
    s.text = text;
    s.start_ms = 0;
    s.end_ms = 1500;
    s.voice = "am_adam";
    assert_int_equal(kokoro_timeline_add(tl, &s, &err), KOKORO_OK);
    text[0] = 'X'; /* copied: the timeline keeps its own */
    s = kokoro_segment_default();
    s.text = "Untimed.";
    assert_int_equal(kokoro_timeline_add(tl, &s, &err), KOKORO_OK);
    assert_int_equal(kokoro_timeline_count(tl), 2);
    const kokoro_segment *g = kokoro_timeline_get(tl, 1);
    assert_string_equal(g->text, "First words.");
    assert_string_equal(g->voice, "am_adam");
    assert_int_equal(g->end_ms, 1500);
    assert_null(kokoro_timeline_get(tl, 0));
    assert_null(kokoro_timeline_get(tl, 3));
    /* refused: an end before the start, a start without an end, no text */
    s.start_ms = 2000;
    s.end_ms = 1000;
    assert_int_equal(kokoro_timeline_add(tl, &s, &err), KOKORO_ERR_ARG);
    assert_non_null(strstr(err.message, "segment 3"));
    s.end_ms = KOKORO_TIME_NONE;
    assert_int_equal(kokoro_timeline_add(tl, &s, &err), KOKORO_ERR_ARG);
    s = kokoro_segment_default();
    assert_int_equal(kokoro_timeline_add(tl, &s, &err), KOKORO_ERR_ARG);
    assert_int_equal(kokoro_timeline_count(tl), 2);
    kokoro_timeline_free(tl);
}

typedef struct {
    int n;
    char last[KOKORO_ERROR_MAX];
} warnings;

static void on_warning(void *user, const char *message)
{
    warnings *w = user;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", message);
}

static const char SRT[] = "1\n00:00:01,000 --> 00:00:02,500\nHello there.\n\n"
                          "2\n\n" /* a cue number without its cue: skipped with a warning (a garbled
                                        time line would keep its text, untimed: issue 15) */
                          "3\n00:00:03,000 --> 00:00:04,000\nGoodbye.\n";

static void test_timeline_parse(void **state)
{
    (void)state;
    kokoro_error err;
    kokoro_timeline *tl = NULL;
    warnings w = {0};
    kokoro_load_params lp = kokoro_load_default_params();
    lp.on_warning = on_warning;
    lp.user = &w;
    assert_int_equal(kokoro_timeline_parse("talk.srt", SRT, strlen(SRT), &lp, &tl, &err), KOKORO_OK);
    assert_int_equal(kokoro_timeline_count(tl), 2);
    assert_int_equal(kokoro_timeline_get(tl, 1)->start_ms, 1000);
    assert_int_equal(kokoro_timeline_get(tl, 1)->end_ms, 2500);
    assert_string_equal(kokoro_timeline_get(tl, 2)->text, "Goodbye.");
    assert_true(isnan(kokoro_timeline_get(tl, 2)->pitch));
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.last, "talk.srt:"));
    kokoro_timeline_free(tl);
    /* strict: the broken cue is an error naming the file */
    lp.strict = 1;
    tl = (kokoro_timeline *)&err;
    assert_int_not_equal(kokoro_timeline_parse("talk.srt", SRT, strlen(SRT), &lp, &tl, &err), KOKORO_OK);
    assert_null(tl);
    assert_non_null(strstr(err.message, "talk.srt"));
    /* a format that does not exist */
    lp = kokoro_load_default_params();
    lp.format = "docx";
    assert_int_equal(kokoro_timeline_parse("x", SRT, strlen(SRT), &lp, &tl, &err), KOKORO_ERR_ARG);
    assert_non_null(strstr(err.message, "docx"));
    /* plain text from a file: one untimed segment per paragraph */
    const char *path = tmp_path("story.txt");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("One paragraph.\n\nAnother one.\n", f);
    fclose(f);
    assert_int_equal(kokoro_timeline_load(path, NULL, &tl, &err), KOKORO_OK);
    assert_int_equal(kokoro_timeline_count(tl), 2);
    assert_true(kokoro_timeline_get(tl, 2)->start_ms == KOKORO_TIME_NONE);
    kokoro_timeline_free(tl);
    assert_int_equal(kokoro_timeline_load(tmp_path("missing.srt"), NULL, &tl, &err), KOKORO_ERR_IO);
}

static void test_cache(void **state)
{
    (void)state;
    kokoro_error err;
    kokoro_cache *c = NULL;
    kokoro_cache_params cp = kokoro_cache_default_params();
    cp.dir = tmp_path("cache/render");
    assert_int_equal(kokoro_cache_open(&cp, &c, &err), KOKORO_OK);
    struct stat st;
    assert_int_equal(stat(tmp_path("cache/render"), &st), 0);
    kokoro_cache_stats s = kokoro_cache_get_stats(c);
    assert_int_equal(s.puts + s.misses + s.mem_entries, 0);
    kokoro_cache_clear_memory(c);
    kokoro_cache_close(c);
    char dir[4096];
    assert_int_equal(kokoro_cache_default_dir(dir, sizeof dir, &err), KOKORO_OK);
    assert_non_null(strstr(dir, "render"));
}

static void test_export(void **state)
{
    (void)state;
    kokoro_error err;
    enum { N = 12000 };
    static float x[N];
    for (int i = 0; i < N; i++)
        x[i] = 0.5f * sinf(2.0f * 3.14159265f * 440.0f * (float)i / (float)KOKORO_SAMPLE_RATE);
    const char *wav = tmp_path("tone.wav");
    assert_int_equal(kokoro_export(wav, x, N, KOKORO_SAMPLE_RATE, NULL, &err), KOKORO_OK);
    assert_int_equal(file_size(wav), 44 + 2 * N); /* 16-bit PCM from the .wav name */
    kokoro_export_params ep = kokoro_export_default_params();
    ep.format = KOKORO_EXPORT_WAV32;
    assert_int_equal(kokoro_export(wav, x, N, KOKORO_SAMPLE_RATE, &ep, &err), KOKORO_OK);
    assert_true(file_size(wav) >= 44 + 4 * N);
    ep.format = KOKORO_EXPORT_MP3;
    const char *mp3 = tmp_path("tone.mp3");
    assert_int_equal(kokoro_export(mp3, x, N, KOKORO_SAMPLE_RATE, &ep, &err), KOKORO_OK);
    assert_true(file_size(mp3) > 1000);
    kokoro_export_format f = KOKORO_EXPORT_WAV16;
    assert_int_equal(kokoro_export_format_parse("x.flac", &f, &err), KOKORO_OK);
    assert_int_equal(f, KOKORO_EXPORT_FLAC);
    assert_int_equal(kokoro_export_format_parse("m4a", &f, &err), KOKORO_OK);
    assert_int_equal(f, KOKORO_EXPORT_M4A);
    /* an extension that says nothing: an error, and no file */
    const char *ogg = tmp_path("tone.ogg");
    assert_int_equal(kokoro_export(ogg, x, N, KOKORO_SAMPLE_RATE, NULL, &err), KOKORO_ERR_ARG);
    assert_non_null(strstr(err.message, "mp3"));
    assert_int_equal(file_size(ogg), -1);
}

/* ---- with the model ---- */

static kokoro_context *ctx;

static int setup_model(void **state)
{
    (void)state;
    kokoro_error err;
    char dir[4096];
    if (kokoro_find_model(dir, sizeof dir, &err) != KOKORO_OK) {
        fprintf(stderr, "test_api: no model, the speaking tests skip: %s\n", err.message);
        return 0;
    }
    kokoro_context_params cp = kokoro_context_default_params();
    cp.model = dir;
    if (kokoro_init(&cp, &ctx, &err) != KOKORO_OK) {
        fprintf(stderr, "test_api: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int teardown_model(void **state)
{
    (void)state;
    kokoro_free(ctx);
    ctx = NULL;
    return 0;
}

#define NEED_MODEL()                                                                                          \
    do {                                                                                                      \
        if (!ctx)                                                                                             \
            skip();                                                                                           \
    } while (0)

typedef struct {
    size_t chunks, samples;
    int stop_after;
} chunk_count;

static int count_chunk(void *user, const kokoro_chunk *c)
{
    chunk_count *k = user;
    k->chunks++;
    k->samples += c->n_samples;
    return k->stop_after && (int)k->chunks >= k->stop_after;
}

static void test_speak(void **state)
{
    (void)state;
    NEED_MODEL();
    kokoro_error err;
    assert_non_null(kokoro_model_path(ctx));
    assert_non_null(kokoro_voices_dir(ctx));
    const char *text = "Hello there. This is the public interface speaking.";
    chunk_count k = {0};
    kokoro_speak_params sp = kokoro_speak_default_params();
    sp.threads = 2;
    sp.on_chunk = count_chunk;
    sp.user = &k;
    float *a = NULL;
    size_t na = 0;
    assert_int_equal(kokoro_speak(ctx, text, &sp, &a, &na, &err), KOKORO_OK);
    assert_true(na > KOKORO_SAMPLE_RATE); /* more than a second */
    assert_true(k.chunks >= 1);
    assert_int_equal(k.samples, na);      /* the callback saw every sample */
    float peak = 0;
    for (size_t i = 0; i < na; i++)
        peak = fmaxf(peak, fabsf(a[i]));
    assert_true(peak > 0.05f);

    /* in two steps: the same audio */
    kokoro_script *s = NULL;
    assert_int_equal(kokoro_prepare(ctx, text, &sp, &s, &err), KOKORO_OK);
    assert_int_equal(kokoro_script_chunks(s), k.chunks);
    assert_true(strlen(kokoro_script_phonemes(s)) > 10);
    float *b = NULL;
    size_t nb = 0;
    sp.on_chunk = NULL;
    assert_int_equal(kokoro_speak_script(ctx, s, &sp, &b, &nb, &err), KOKORO_OK);
    assert_int_equal(nb, na);
    assert_memory_equal(a, b, na * sizeof *a);
    kokoro_samples_free(b);
    kokoro_script_free(s);

    /* a chunk callback that stops the call */
    k = (chunk_count){.stop_after = 1};
    sp.on_chunk = count_chunk;
    b = (float *)&k;
    assert_int_equal(kokoro_speak(ctx, text, &sp, &b, &nb, &err), KOKORO_ERR_ABORTED);
    assert_null(b);
    assert_int_equal(nb, 0);
    assert_int_equal(k.chunks, 1);

    /* to a file: the samples as 16-bit PCM */
    const char *wav = tmp_path("speech.wav");
    sp.on_chunk = NULL;
    assert_int_equal(kokoro_speak_to_file(ctx, text, &sp, wav, NULL, &err), KOKORO_OK);
    assert_int_equal(file_size(wav), (long)(44 + 2 * na));
    /* an unknown voice: an error, and no file */
    sp.voice = "xx_nobody";
    const char *bad = tmp_path("bad.wav");
    assert_int_not_equal(kokoro_speak_to_file(ctx, text, &sp, bad, NULL, &err), KOKORO_OK);
    assert_non_null(strstr(err.message, "xx_nobody"));
    assert_int_equal(file_size(bad), -1);
    kokoro_samples_free(a);
}

static void test_render(void **state)
{
    (void)state;
    NEED_MODEL();
    kokoro_error err;
    kokoro_timeline *tl = NULL;
    assert_int_equal(kokoro_timeline_parse("talk.srt", SRT, strlen(SRT), NULL, &tl, &err), KOKORO_OK);
    kokoro_cache *cache = NULL;
    assert_int_equal(kokoro_cache_open(NULL, &cache, &err), KOKORO_OK);
    kokoro_render_params rp = kokoro_render_default_params();
    rp.cache = cache;
    rp.workers = 2;
    rp.threads = 1;
    kokoro_track *t = NULL;
    assert_int_equal(kokoro_render(ctx, tl, &rp, &t, &err), KOKORO_OK);
    assert_int_equal(kokoro_track_cues(t), 2);
    assert_int_equal(kokoro_track_synthesized(t), 2);
    assert_int_equal(kokoro_track_from_cache(t), 0);
    kokoro_cue q;
    assert_int_equal(kokoro_track_cue(t, 2, &q, &err), KOKORO_OK);
    assert_int_equal(q.segment, 2);
    assert_int_equal(q.start_sample, 3 * KOKORO_SAMPLE_RATE); /* at its cue's start, to the sample */
    assert_true(q.end_sample > q.start_sample);
    assert_int_equal(kokoro_track_cue(t, 3, &q, &err), KOKORO_ERR_ARG);
    size_t n = 0;
    const float *x = kokoro_track_samples(t, &n);
    assert_true(n >= (size_t)q.end_sample);

    /* again: everything from the cache, the same track */
    uint64_t puts = kokoro_cache_get_stats(cache).puts;
    assert_true(puts >= 2);
    kokoro_track *again = NULL;
    assert_int_equal(kokoro_render(ctx, tl, &rp, &again, &err), KOKORO_OK);
    assert_int_equal(kokoro_track_from_cache(again), 2);
    assert_int_equal(kokoro_track_synthesized(again), 0);
    size_t n2 = 0;
    const float *y = kokoro_track_samples(again, &n2);
    assert_int_equal(n2, n);
    assert_memory_equal(x, y, n * sizeof *x);
    kokoro_cache_stats cs = kokoro_cache_get_stats(cache);
    assert_int_equal(cs.puts, puts); /* nothing new to store */
    assert_true(cs.mem_hits >= 2);
    kokoro_track_free(again);

    /* what came out: subtitles, the report, an export */
    const char *srt = tmp_path("out.srt");
    assert_int_equal(kokoro_track_save_subtitles(t, srt, NULL, &err), KOKORO_OK);
    assert_true(file_size(srt) > 20);
    assert_int_equal(kokoro_track_save_subtitles(t, tmp_path("out.txt"), NULL, &err), KOKORO_ERR_ARG);
    char *report = kokoro_track_report_json(t);
    assert_non_null(report);
    assert_non_null(strstr(report, "Goodbye."));
    kokoro_string_free(report);
    const char *flac = tmp_path("out.flac");
    assert_int_equal(kokoro_track_export(t, flac, NULL, &err), KOKORO_OK);
    assert_true(file_size(flac) > 1000);
    kokoro_track_free(t);

    /* a segment that fails: its index as data */
    kokoro_segment s = kokoro_segment_default();
    s.text = "This voice does not exist.";
    s.voice = "xx_nobody";
    assert_int_equal(kokoro_timeline_add(tl, &s, &err), KOKORO_OK);
    t = (kokoro_track *)&err;
    assert_int_not_equal(kokoro_render(ctx, tl, &rp, &t, &err), KOKORO_OK);
    assert_null(t);
    assert_int_equal(err.segment, 3);
    kokoro_cache_close(cache);
    kokoro_timeline_free(tl);
}

static int abort_now(void *user)
{
    (void)user;
    return 1;
}

static void test_render_abort(void **state)
{
    (void)state;
    NEED_MODEL();
    kokoro_error err;
    kokoro_timeline *tl = NULL;
    assert_int_equal(kokoro_timeline_parse("talk.srt", SRT, strlen(SRT), NULL, &tl, &err), KOKORO_OK);
    kokoro_render_params rp = kokoro_render_default_params();
    rp.abort = abort_now;
    kokoro_track *t = NULL;
    assert_int_equal(kokoro_render(ctx, tl, &rp, &t, &err), KOKORO_ERR_ABORTED);
    assert_null(t);
    assert_int_equal(err.segment, 0);
    kokoro_timeline_free(tl);
}

int main(void)
{
    const struct CMUnitTest basic[] = {
        cmocka_unit_test(test_status_and_version), cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_errors),             cmocka_unit_test(test_timeline),
        cmocka_unit_test(test_timeline_parse),     cmocka_unit_test(test_cache),
        cmocka_unit_test(test_export),
    };
    const struct CMUnitTest model[] = {
        cmocka_unit_test(test_speak),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_render_abort),
    };
    int failed = cmocka_run_group_tests_name("api", basic, setup, NULL);
    failed += cmocka_run_group_tests_name("api_model", model, setup_model, teardown_model);
    return failed;
}
