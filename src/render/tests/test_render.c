/* test_render.c - the timeline on the real model: each cue's speech starts
 * at the cue's start (found from the signal, not from the renderer's
 * bookkeeping), silence between cues, the track's length; the fit of long
 * speech; untimed text; the same track for any number of workers; the
 * cache (unchanged re-render synthesises nothing, an edit re-renders one
 * segment, a corrupt entry is re-rendered); abort; failures as data
 * (which segment); the speed range; a job backend (an in-process fake of
 * backend.h): the same track whether it renders, gives back or refuses the
 * jobs, and kk_render_job_run's refusals; the precision in the cache keys
 * and the jobs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "render.h"
#include "kk_testutil.h"
#include "nn.h"

#define MS (KK_SAMPLE_RATE / 1000) /* samples per millisecond */

static kk_tts *tts;
static char cache_dir[4096];

static int setup(void **state)
{
    kk_error err;
    kk_tts_params p = kk_tts_default_params();
    if (kk_tts_new(&p, &tts, &err) != KK_OK) {
        fprintf(stderr, "test_render needs the model: %s\n", err.msg);
        return -1;
    }
    snprintf(cache_dir, sizeof cache_dir, "%s/render-cache-%d", kk_test_tmpdir(), (int)getpid());
    return 0;
}

static int teardown(void **state)
{
    kk_tts_free(tts);
    return 0;
}

static const kk_render_segment cues[] = {
    {.text = "Welcome to Kokoro Studio.", .start_ms = 500, .end_ms = 2600, .pitch = NAN},
    {.text = "Each line starts on its cue.", .start_ms = 3400, .end_ms = 5600, .pitch = NAN},
    {.text = "Then there is silence.", .start_ms = 7000, .end_ms = 9000, .pitch = NAN},
};
#define N_CUES (sizeof cues / sizeof cues[0])

/* RMS of 5 ms windows; the onset is the start of the first window above
 * -40 dBFS at or after from. */
static double window_rms(const float *x, size_t n, size_t at)
{
    double e = 0;
    size_t k = 0;
    for (; k < 5 * MS && at + k < n; k++)
        e += (double)x[at + k] * x[at + k];
    return k ? sqrt(e / (double)k) : 0;
}

static int64_t onset(const float *x, size_t n, size_t from)
{
    for (size_t at = from; at + 5 * MS <= n; at += MS) /* 1 ms steps */
        if (window_rms(x, n, at) > 0.01)
            return (int64_t)at;
    return -1;
}

static kk_render_params params(kk_cache *cache, int workers)
{
    kk_render_params p = kk_render_default_params();
    p.cache = cache;
    p.workers = workers;
    return p;
}

static void test_cues_start_on_time(void **state)
{
    kk_render_params p = params(NULL, 2);
    kk_render_result r;
    kk_error err;
    assert_int_equal(kk_render(tts, cues, N_CUES, &p, &r, &err), KK_OK);
    assert_int_equal(r.n_cues, N_CUES);
    /* the track runs at least to the last cue's end */
    assert_true(r.n_samples >= 9000 * MS);
    size_t prev_end = 0;
    for (size_t i = 0; i < N_CUES; i++) {
        int64_t cue = cues[i].start_ms * MS;
        /* searching from well before the cue: nothing sounds before it */
        size_t from = cue > 300 * MS ? (size_t)(cue - 300 * MS) : 0;
        if (from < prev_end)
            from = prev_end;
        int64_t on = onset(r.samples, r.n_samples, from);
        fprintf(stderr, "cue %zu: onset %.1f ms after the cue start\n", i + 1, (double)(on - cue) / MS);
        assert_true(on >= 0);
        assert_true(llabs(on - cue) <= 20 * MS);
        /* silence from the previous speech to this cue: exact zeros */
        for (size_t k = prev_end; k < (size_t)(cue - 5 * MS); k++)
            assert_true(r.samples[k] == 0.0f);
        /* every cue here fits: no adjustment, speech within the cue */
        assert_true(r.cues[i].speed == 1.0f && r.cues[i].stretch == 1.0);
        assert_true(r.cues[i].end_sample <= cues[i].end_ms * MS);
        assert_true(r.cues[i].n_words >= 4);
        assert_true(r.cues[i].words[0].start_sample >= r.cues[i].start_sample);
        prev_end = (size_t)r.cues[i].end_sample;
    }
    for (size_t k = prev_end; k < r.n_samples; k++)
        assert_true(r.samples[k] == 0.0f);
    assert_int_equal(r.n_samples, 9000 * MS);
    kk_render_result_free(&r);
}

static void test_same_for_any_worker_count(void **state)
{
    kk_render_result a, b;
    kk_error err;
    kk_render_params p1 = params(NULL, 1), p3 = params(NULL, 3);
    assert_int_equal(kk_render(tts, cues, N_CUES, &p1, &a, &err), KK_OK);
    assert_int_equal(kk_render(tts, cues, N_CUES, &p3, &b, &err), KK_OK);
    assert_int_equal(a.n_samples, b.n_samples);
    assert_memory_equal(a.samples, b.samples, a.n_samples * sizeof(float));
    kk_render_result_free(&a);
    kk_render_result_free(&b);
}

/* A memory limit puts the track and the segments waiting for placement in
 * a temporary file: the same bits as in memory (loudness normalisation and
 * a cut at the next cue included), read back through kk_render_read, and
 * nothing left in the directory. */
static void test_track_on_disk_same_bits(void **state)
{
    static const kk_render_segment segs[] = {
        {.text = "This sentence is far too long for the very short cue it was given.", .start_ms = 0, .end_ms = 700,
         .pitch = NAN},
        {.text = "Then one that fits.", .start_ms = 900, .end_ms = 3500, .pitch = NAN},
        {.text = "And a last one, later.", .start_ms = 4200, .end_ms = 6500, .pitch = NAN},
    };
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/render-spill-%d", kk_test_tmpdir(), (int)getpid());
    assert_int_equal(mkdir(dir, 0700), 0);
    kk_render_params p = params(NULL, 2);
    p.normalize = 1;
    p.fit.overflow = KK_OVERFLOW_TRUNCATE;
    p.fit.max_speed = 1.0f, p.fit.max_stretch = 1.0; /* so that the first cue is cut */
    kk_render_result a, b;
    kk_error err;
    assert_int_equal(kk_render(tts, segs, 3, &p, &a, &err), KK_OK);
    assert_null(a.track);
    assert_true(a.cues[0].truncated_samples > 0);
    p.memory_limit = 1; /* everything to disk */
    p.temp_dir = dir;
    assert_int_equal(kk_render(tts, segs, 3, &p, &b, &err), KK_OK);
    assert_non_null(b.track);
    assert_null(b.samples);
    assert_int_equal(a.n_samples, b.n_samples);
    assert_true(b.normalized && a.normalized);
    assert_true(a.loudness.gain_db == b.loudness.gain_db);
    float *back = malloc(b.n_samples * sizeof *back);
    assert_non_null(back);
    assert_int_equal(kk_render_read(&b, 0, back, b.n_samples, &err), KK_OK);
    assert_memory_equal(a.samples, back, a.n_samples * sizeof(float));
    assert_int_equal(kk_render_read(&b, 1, back, b.n_samples, &err), KK_ERR_ARG);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(a.cues[i].end_sample, b.cues[i].end_sample);
    assert_int_equal(kk_test_dir_entries(dir), 0); /* unnamed files only */
    free(back);
    kk_render_result_free(&a);
    kk_render_result_free(&b);
    /* a directory that cannot hold the file: a clear error, no track */
    char missing[4300];
    snprintf(missing, sizeof missing, "%s/not-there", dir);
    p.temp_dir = missing;
    assert_int_equal(kk_render(tts, segs, 3, &p, &b, &err), KK_ERR_IO);
    assert_non_null(strstr(err.msg, "not-there"));
    assert_null(b.samples);
    assert_int_equal(rmdir(dir), 0);
}

/* Flips a byte in the middle of every cache file. */
static int corrupt_dir(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[8192];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st))
            continue;
        if (S_ISDIR(st.st_mode)) {
            n += corrupt_dir(p);
        } else if (strstr(e->d_name, ".kkc") && st.st_size > 64) {
            FILE *f = fopen(p, "r+b");
            fseek(f, st.st_size / 2, SEEK_SET);
            int c = fgetc(f);
            fseek(f, st.st_size / 2, SEEK_SET);
            fputc(c ^ 0x5a, f);
            fclose(f);
            n++;
        }
    }
    closedir(d);
    return n;
}

/* The progress calls of a render: each eta_s, in order. */
typedef struct {
    double eta[16];
    size_t n, total;
} etas;

static void record_eta(void *user, size_t done, size_t total, double eta_s)
{
    etas *e = user;
    (void)done;
    e->total = total;
    if (e->n < sizeof e->eta / sizeof e->eta[0])
        e->eta[e->n++] = eta_s;
}

static void test_cache(void **state)
{
    kk_cache_params cp = kk_cache_default_params();
    cp.dir = cache_dir;
    kk_cache *cache;
    kk_error err;
    assert_int_equal(kk_cache_open(&cp, &cache, &err), KK_OK);
    kk_render_params p = params(cache, 2);
    kk_render_result first, again, edited, healed;
    assert_int_equal(kk_render(tts, cues, N_CUES, &p, &first, &err), KK_OK);
    assert_int_equal(first.synthesized, N_CUES);
    assert_int_equal(first.from_cache, 0);

    /* unchanged: nothing synthesised, the same track */
    assert_int_equal(kk_render(tts, cues, N_CUES, &p, &again, &err), KK_OK);
    assert_int_equal(again.synthesized, 0);
    assert_int_equal(again.from_cache, N_CUES);
    assert_int_equal(again.n_samples, first.n_samples);
    assert_memory_equal(again.samples, first.samples, first.n_samples * sizeof(float));
    fprintf(stderr, "first render %.2f s, unchanged re-render %.3f s\n", first.seconds, again.seconds);

    /* one cue edited: one segment synthesised */
    kk_render_segment ed[N_CUES];
    memcpy(ed, cues, sizeof ed);
    ed[1].text = "Each line starts right on its cue.";
    etas pe = {0};
    p.on_progress = record_eta;
    p.user = &pe;
    assert_int_equal(kk_render(tts, ed, N_CUES, &p, &edited, &err), KK_OK);
    p.on_progress = NULL;
    /* the estimate comes from what was synthesised: none while only cache
     * hits are done (they came at once: counting them said "0 s left"
     * while the miss was still to make), 0 at the end */
    assert_int_equal(pe.n, N_CUES);
    for (size_t i = 0; i + 1 < pe.n; i++)
        assert_true(pe.eta[i] < 0);
    assert_true(pe.eta[pe.n - 1] == 0.0);
    assert_int_equal(edited.synthesized, 1);
    assert_int_equal(edited.from_cache, N_CUES - 1);
    assert_false(edited.cues[1].cached);
    assert_true(edited.cues[0].cached && edited.cues[2].cached);
    kk_cache_close(cache);

    /* every entry on disk damaged, memory level empty (a new cache): each
     * is found bad, dropped and rendered again, never played */
    assert_true(corrupt_dir(cache_dir) >= (int)N_CUES);
    assert_int_equal(kk_cache_open(&cp, &cache, &err), KK_OK);
    p.cache = cache;
    assert_int_equal(kk_render(tts, cues, N_CUES, &p, &healed, &err), KK_OK);
    kk_cache_stats s = kk_cache_get_stats(cache);
    assert_true(s.corrupt >= N_CUES);
    assert_int_equal(healed.synthesized, N_CUES);
    assert_memory_equal(healed.samples, first.samples, first.n_samples * sizeof(float));
    kk_cache_close(cache);
    kk_render_result_free(&first);
    kk_render_result_free(&again);
    kk_render_result_free(&edited);
    kk_render_result_free(&healed);
}

static const kk_render_segment tight[] = {
    /* far too much text for 1.2 s */
    {.text = "This sentence has far too many words to be spoken in the short "
             "time its cue allows.",
     .start_ms = 200,
     .end_ms = 1400,
     .pitch = NAN},
    {.text = "Next.", .start_ms = 2400, .end_ms = 3200, .pitch = NAN},
};

static void test_fit(void **state)
{
    kk_render_params p = params(NULL, 2);
    kk_render_result r, t;
    kk_error err;
    assert_int_equal(kk_render(tts, tight, 2, &p, &r, &err), KK_OK);
    const kk_render_cue *q = &r.cues[0];
    /* speed raised to its limit, then stretched to its limit, then into the
     * gap and over the next cue */
    assert_true(q->natural_samples > 1200 * MS);
    assert_true(fabsf(q->speed - 1.25f) < 1e-6f);
    assert_true(fabs(q->stretch - 1.0 / 1.2) < 1e-3);
    assert_true(q->gap_samples == 1000 * MS);
    assert_true(q->overlap_samples > 0);
    assert_int_equal(q->end_sample - q->start_sample, 2200 * MS + q->overlap_samples);
    kk_render_summary s = kk_render_summarize(&r);
    assert_int_equal(s.sped_up, 1);
    assert_int_equal(s.stretched, 1);
    assert_int_equal(s.overlapping, 1);
    assert_int_equal(s.worst_overlap_index, 1);
    char *json = kk_render_report_json(&r);
    assert_non_null(strstr(json, "\"overlap_s\""));
    free(json);

    /* truncate: cut where the next cue starts, with no sound after the cut */
    p.fit.overflow = KK_OVERFLOW_TRUNCATE;
    assert_int_equal(kk_render(tts, tight, 2, &p, &t, &err), KK_OK);
    assert_int_equal(t.cues[0].end_sample, 2400 * MS);
    assert_true(t.cues[0].truncated_samples == q->overlap_samples);
    assert_true(t.samples[2400 * MS - 1] == 0.0f || fabsf(t.samples[2400 * MS - 1]) < 0.01f);
    kk_render_result_free(&t);

    /* a fitted cue found again in the cache: the same speed, nothing made */
    char dir[4200];
    snprintf(dir, sizeof dir, "%s-fit", cache_dir);
    kk_cache_params cp = kk_cache_default_params();
    cp.dir = dir;
    kk_cache *cache;
    assert_int_equal(kk_cache_open(&cp, &cache, &err), KK_OK);
    kk_render_result a, b;
    p = params(cache, 2);
    assert_int_equal(kk_render(tts, tight, 2, &p, &a, &err), KK_OK);
    kk_cache_close(cache);
    assert_int_equal(kk_cache_open(&cp, &cache, &err), KK_OK); /* memory level empty */
    p.cache = cache;
    assert_int_equal(kk_render(tts, tight, 2, &p, &b, &err), KK_OK);
    assert_int_equal(b.synthesized, 0);
    assert_int_equal(b.from_cache, 2);
    assert_true(b.cues[0].speed == a.cues[0].speed && b.cues[0].natural_samples == a.cues[0].natural_samples);
    assert_int_equal(a.n_samples, b.n_samples);
    assert_memory_equal(a.samples, b.samples, a.n_samples * sizeof(float));
    assert_memory_equal(a.samples, r.samples, a.n_samples * sizeof(float)); /* the cache changes nothing */
    kk_cache_close(cache);
    kk_render_result_free(&a);
    kk_render_result_free(&b);
    kk_render_result_free(&r);
}

static void test_untimed_text_becomes_subtitles(void **state)
{
    kk_render_segment seg[] = {
        {.text = "First paragraph.", .start_ms = KK_TIME_NONE, .end_ms = KK_TIME_NONE, .pitch = NAN},
        /* emphasis markup: spoken, not shown */
        {.text = "Second paragraph, a [little](+) longer.", .start_ms = KK_TIME_NONE, .end_ms = KK_TIME_NONE,
         .pitch = NAN},
    };
    kk_render_params p = params(NULL, 2);
    p.gap_ms = 700;
    p.lead_ms = 100;
    kk_render_result r;
    kk_error err;
    assert_int_equal(kk_render(tts, seg, 2, &p, &r, &err), KK_OK);
    assert_int_equal(r.cues[0].start_sample, 100 * MS);
    assert_int_equal(r.cues[1].start_sample, r.cues[0].end_sample + 700 * MS);
    assert_int_equal(r.n_samples, (size_t)r.cues[1].end_sample);
    int64_t on = onset(r.samples, r.n_samples, (size_t)r.cues[0].end_sample);
    assert_true(llabs(on - r.cues[1].start_sample) <= 20 * MS);

    char path[4200];
    snprintf(path, sizeof path, "%s.srt", cache_dir);
    assert_int_equal(kk_render_save_subtitles(&r, path, KK_FORMAT_SRT, &err), KK_OK);
    kk_doc *doc;
    assert_int_equal(kk_parse_file(path, NULL, &doc, &err), KK_OK);
    assert_int_equal(doc->n_segs, 2);
    assert_int_equal(doc->segs[1].start_ms, (r.cues[1].start_sample + MS / 2) / MS);
    assert_string_equal(doc->segs[1].text, "Second paragraph, a little longer.");
    kk_doc_free(doc);
    unlink(path);
    snprintf(path, sizeof path, "%s.json", cache_dir);
    assert_int_equal(kk_render_save_subtitles(&r, path, KK_FORMAT_WSCRIBE, &err), KK_OK);
    assert_int_equal(kk_parse_file(path, NULL, &doc, &err), KK_OK);
    assert_true(doc->segs[0].n_words == 2);
    assert_string_equal(doc->segs[0].words[1].text, "paragraph");
    assert_true(doc->segs[1].n_words == 5);
    assert_string_equal(doc->segs[1].words[3].text, "little");
    kk_doc_free(doc);
    unlink(path);
    kk_render_result_free(&r);
}

static int stop_now(void *user) { return ++*(int *)user > 1; }

static void test_abort_and_bad_requests(void **state)
{
    kk_render_params p = params(NULL, 1);
    int calls = 0;
    p.abort = stop_now;
    p.user = &calls;
    kk_render_result r;
    kk_error err;
    assert_int_equal(kk_render(tts, cues, N_CUES, &p, &r, &err), KK_ERR_ABORTED);
    assert_null(r.samples);

    p = params(NULL, 1);
    kk_render_segment bad = cues[0];
    bad.voice = "xx_nobody";
    assert_int_not_equal(kk_render(tts, &bad, 1, &p, &r, &err), KK_OK);
    fprintf(stderr, "unknown voice: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "segment 1"));
    assert_non_null(strstr(err.msg, "xx_nobody"));
    bad = cues[0];
    bad.end_ms = 100; /* before its start */
    assert_int_equal(kk_render(tts, &bad, 1, &p, &r, &err), KK_ERR_ARG);
    p.voice_map = "Anna";
    assert_int_equal(kk_render(tts, cues, 1, &p, &r, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "SPEAKER=VOICE"));
}

/* Failures as data (kk_render_params.failure): the segment at fault by
 * its 1-based index, whatever the number of workers; 0 when no one
 * segment is; cleared on success. */
static void test_failure_as_data(void **state)
{
    kk_render_segment segs[4];
    for (size_t i = 0; i < 4; i++)
        segs[i] = (kk_render_segment){.text = "Hi.", .start_ms = (int64_t)i * 1000,
                                      .end_ms = (int64_t)i * 1000 + 900, .pitch = NAN};
    segs[2].voice = "xx_nobody";
    kk_render_failure f;
    kk_render_result r;
    kk_error err;
    for (int workers = 1; workers <= 4; workers += 3) {
        kk_render_params p = params(NULL, workers);
        p.failure = &f;
        f = (kk_render_failure){.index = 99, .status = KK_OK};
        kk_status st = kk_render(tts, segs, 4, &p, &r, &err);
        assert_int_not_equal(st, KK_OK);
        assert_int_equal(f.index, 3);
        assert_int_equal(f.status, st);
        assert_null(r.samples);
    }
    /* a segment's bad parameter is that segment's too */
    kk_render_params p = params(NULL, 1);
    p.failure = &f;
    segs[2].voice = NULL;
    segs[1].speed = 3.0f;
    assert_int_equal(kk_render(tts, segs, 4, &p, &r, &err), KK_ERR_ARG);
    assert_int_equal(f.index, 2);
    assert_int_equal(f.status, KK_ERR_ARG);
    segs[1].speed = 0;
    /* not one segment's: a bad parameter of the render, an abort */
    p.speed = 3.0f;
    f.index = 99;
    assert_int_equal(kk_render(tts, segs, 4, &p, &r, &err), KK_ERR_ARG);
    assert_int_equal(f.index, 0);
    assert_int_equal(f.status, KK_ERR_ARG);
    p = params(NULL, 1);
    p.failure = &f;
    int calls = 0;
    p.abort = stop_now;
    p.user = &calls;
    f.index = 99;
    assert_int_equal(kk_render(tts, segs, 4, &p, &r, &err), KK_ERR_ABORTED);
    assert_int_equal(f.index, 0);
    assert_int_equal(f.status, KK_ERR_ABORTED);
    /* success clears it */
    p = params(NULL, 2);
    p.failure = &f;
    f = (kk_render_failure){.index = 99, .status = KK_ERR_IO};
    assert_int_equal(kk_render(tts, segs, 2, &p, &r, &err), KK_OK);
    assert_int_equal(f.index, 0);
    assert_int_equal(f.status, KK_OK);
    kk_render_result_free(&r);
}

/* The speed range (KK_SPEED_MIN .. KK_SPEED_MAX, both included), for the
 * render and for a segment. */
static void test_speed_range(void **state)
{
    kk_render_segment seg = {.text = "Hi.", .start_ms = KK_TIME_NONE, .end_ms = KK_TIME_NONE, .pitch = NAN};
    kk_render_result r;
    kk_error err;
    const float ok[] = {KK_SPEED_MIN, KK_SPEED_MAX};
    const float bad[] = {nextafterf(KK_SPEED_MIN, 0.0f), nextafterf(KK_SPEED_MAX, 10.0f), NAN};
    for (int per_segment = 0; per_segment < 2; per_segment++) {
        for (size_t i = 0; i < 2; i++) {
            kk_render_params p = params(NULL, 1);
            if (per_segment)
                seg.speed = ok[i];
            else
                p.speed = ok[i], seg.speed = 0;
            assert_int_equal(kk_render(tts, &seg, 1, &p, &r, &err), KK_OK);
            assert_true(r.n_samples > 0);
            assert_true(r.cues[0].speed == ok[i]);
            kk_render_result_free(&r);
        }
        for (size_t i = 0; i < 3; i++) {
            kk_render_params p = params(NULL, 1);
            if (per_segment && !isnan(bad[i]))
                seg.speed = bad[i];
            else
                p.speed = bad[i], seg.speed = 0;
            assert_int_equal(kk_render(tts, &seg, 1, &p, &r, &err), KK_ERR_ARG);
            assert_non_null(strstr(err.msg, "outside 0.5 .. 2"));
        }
    }
    /* the two ends are far apart in length: the speed is applied */
    kk_render_params p = params(NULL, 1);
    p.speed = KK_SPEED_MIN;
    assert_int_equal(kk_render(tts, &seg, 1, &p, &r, &err), KK_OK);
    size_t slow = r.n_samples;
    kk_render_result_free(&r);
    p.speed = KK_SPEED_MAX;
    assert_int_equal(kk_render(tts, &seg, 1, &p, &r, &err), KK_OK);
    assert_true(r.n_samples * 2 < slow);
    kk_render_result_free(&r);
}

static void test_voice_map_and_pitch(void **state)
{
    kk_render_segment seg[] = {
        {.text = "Hello there.", .start_ms = 0, .end_ms = 1500, .speaker = "Ben", .pitch = NAN},
        {.text = "Hello there.", .start_ms = 2000, .end_ms = 3500, .speaker = "Anna", .pitch = 4.0},
    };
    kk_render_params p = params(NULL, 2);
    p.voice_map = "Anna=af_heart,Ben=am_adam";
    kk_render_result r;
    kk_error err;
    assert_int_equal(kk_render(tts, seg, 2, &p, &r, &err), KK_OK);
    assert_string_equal(r.cues[0].voice, "am_adam");
    assert_string_equal(r.cues[1].voice, "af_heart");
    assert_true(r.cues[1].pitch == 4.0 && r.cues[0].pitch == 0.0);
    int64_t on = onset(r.samples, r.n_samples, 1700 * MS);
    assert_true(llabs(on - 2000 * MS) <= 20 * MS);
    kk_render_result_free(&r);
}

/* Issue 13: times are bounded by KK_TIME_MAX_MS (1000 hours) here too,
 * before a track is sized from them: a segment past it is KK_ERR_ARG
 * naming it (the failure says which, no track is returned), and so is one
 * whose speech would carry the track past it; the render's own lengths
 * past it are not one segment's. */
static void test_times_past_the_limit(void **state)
{
    kk_render_segment segs[3];
    for (size_t i = 0; i < 3; i++)
        segs[i] = (kk_render_segment){.text = "Hi.", .start_ms = (int64_t)i * 1000,
                                      .end_ms = (int64_t)i * 1000 + 900, .pitch = NAN};
    segs[2].start_ms = (int64_t)999999 * 3600 * 1000; /* the upload of the issue: 999999:00:00,000 */
    segs[2].end_ms = segs[2].start_ms + 1000;
    kk_render_failure f = {.index = 99};
    kk_render_result r;
    kk_error err;
    kk_render_params p = params(NULL, 1);
    p.failure = &f;
    assert_int_equal(kk_render(tts, segs, 3, &p, &r, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "segment 3"));
    assert_non_null(strstr(err.msg, "1000 hours"));
    assert_int_equal(f.index, 3);
    assert_int_equal(f.status, KK_ERR_ARG);
    assert_null(r.samples);
    segs[2].start_ms = 2000;
    segs[2].end_ms = KK_TIME_MAX_MS + 1; /* one past */
    f.index = 99;
    assert_int_equal(kk_render(tts, segs, 3, &p, &r, &err), KK_ERR_ARG);
    assert_int_equal(f.index, 3);

    /* untimed speech after a lead at the limit: the track would pass it */
    kk_render_segment untimed = {.text = "Hi.", .start_ms = KK_TIME_NONE, .end_ms = KK_TIME_NONE,
                                 .pitch = NAN};
    p.lead_ms = KK_TIME_MAX_MS;
    f.index = 99;
    assert_int_equal(kk_render(tts, &untimed, 1, &p, &r, &err), KK_ERR_ARG);
    fprintf(stderr, "past the limit: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "segment 1"));
    assert_int_equal(f.index, 1);
    assert_null(r.samples);

    p = params(NULL, 1);
    p.failure = &f;
    p.gap_ms = KK_TIME_MAX_MS + 1;
    f.index = 99;
    assert_int_equal(kk_render(tts, &untimed, 1, &p, &r, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "1000 hours"));
    assert_int_equal(f.index, 0);
}

/* ---- precision ---- */

/* The precision is in the cache keys: a fast render does not read the
 * exact render's entries (nor the reverse), except where the fast mode
 * falls back to the exact one here, when it runs exactly and shares them
 * (the same audio). A worker that cannot run the fast mode refuses fast
 * jobs. */
static void test_precision(void **state)
{
    const char *ie = kk_tts_identity_for(tts, KK_PRECISION_EXACT), *ifa = kk_tts_identity_for(tts, KK_PRECISION_FAST);
    assert_string_equal(ie, kk_tts_identity(tts));
    assert_string_not_equal(ie, ifa);
    assert_non_null(strstr(ifa, "-fast"));
    int fast_here = kk_tts_precision(tts, KK_PRECISION_FAST, NULL, NULL) == KK_PRECISION_FAST;
    assert_int_equal(kk_tts_precision(tts, KK_PRECISION_EXACT, NULL, NULL), KK_PRECISION_EXACT);

    kk_cache_params cp = kk_cache_default_params();
    cp.dir = NULL;
    kk_cache *cache;
    kk_error err;
    assert_int_equal(kk_cache_open(&cp, &cache, &err), KK_OK);
    kk_render_params p = params(cache, 1);
    kk_render_result exact, fast, again;
    assert_int_equal(kk_render(tts, &cues[0], 1, &p, &exact, &err), KK_OK);
    assert_int_equal(exact.synthesized, 1);
    p.precision = KK_PRECISION_FAST;
    assert_int_equal(kk_render(tts, &cues[0], 1, &p, &fast, &err), KK_OK);
    if (fast_here) {
        assert_int_equal(fast.synthesized, 1); /* not the exact entry */
        assert_int_equal(fast.from_cache, 0);
    } else {
        fprintf(stderr, "no fast mode on this CPU: the fast render shares the exact entries\n");
        assert_int_equal(fast.from_cache, 1);
        assert_int_equal(fast.n_samples, exact.n_samples);
        assert_memory_equal(fast.samples, exact.samples, exact.n_samples * sizeof(float));
    }
    /* and back: the exact render still gets exact audio from the cache */
    p.precision = KK_PRECISION_EXACT;
    assert_int_equal(kk_render(tts, &cues[0], 1, &p, &again, &err), KK_OK);
    assert_int_equal(again.from_cache, 1);
    assert_int_equal(again.n_samples, exact.n_samples);
    assert_memory_equal(again.samples, exact.samples, exact.n_samples * sizeof(float));
    p.precision = (kk_precision)7;
    assert_int_equal(kk_render(tts, &cues[0], 1, &p, &again, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "precision"));
    kk_render_result_free(&exact);
    kk_render_result_free(&fast);
    kk_render_result_free(&again);
    kk_cache_close(cache);

    /* a worker without the fast mode (forced off: a model loaded with
     * KOKORO_FAST_DISABLE=1 decides so for good) refuses a fast job */
    setenv("KOKORO_FAST_DISABLE", "1", 1);
    kk_tts *slow = NULL;
    kk_tts_params tp = kk_tts_default_params();
    assert_int_equal(kk_tts_new(&tp, &slow, &err), KK_OK);
    assert_int_equal(kk_tts_precision(slow, KK_PRECISION_FAST, NULL, NULL), KK_PRECISION_EXACT);
    unsetenv("KOKORO_FAST_DISABLE");
    kk_render_job job = {.identity = kk_tts_identity_for(slow, KK_PRECISION_FAST),
                         .precision = KK_PRECISION_FAST,
                         .render_version = 2,
                         .voices_key = kk_tts_voices_dir(slow),
                         .text = "Next.",
                         .voice = "af_heart",
                         .phonemes = "nˈɛkst.|0",
                         .speed = 1.0f,
                         .fit = {1, 1.25f, 1.2},
                         .cue_ms = 800};
    assert_int_equal(kk_cache_open(&cp, &cache, &err), KK_OK);
    kk_render_job_params jp = {.cache = cache};
    kk_render_job_result res;
    assert_int_equal(kk_render_job_run(slow, &job, &jp, &res, &err), KK_ERR_CONFLICT);
    fprintf(stderr, "fast job on a worker without it: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "fast mode"));
    assert_int_equal(res.rendered, 0);
    /* a fast job whose identity is the exact one's: refused as another model */
    job.identity = kk_tts_identity(slow);
    assert_int_equal(kk_render_job_run(slow, &job, &jp, &res, &err), KK_ERR_CONFLICT);
    job.precision = (kk_precision)7;
    assert_int_equal(kk_render_job_run(slow, &job, &jp, &res, &err), KK_ERR_INPUT);
    kk_cache_close(cache);
    kk_tts_free(slow);
}

/* ---- a job backend, in process ---- */

typedef struct {
    kk_render_backend base; /* first */
    kk_cache *remote;       /* what the "workers" stored */
    kk_cache *worker_cache;
    int mode; /* 0: render every job; 1: end none (no worker); 2: refuse every one */
    size_t runs, jobs, fetched;
} fake_backend;

static void fake_store(void *user, const kk_cache_key *key, const void *blob, size_t len)
{
    fake_backend *f = user;
    kk_error e;
    assert_int_equal(kk_cache_put(f->remote, key, blob, len, &e), KK_OK);
}

static int fake_fetch(kk_render_backend *b, const kk_cache_key *key, void **blob, size_t *len)
{
    fake_backend *f = (fake_backend *)b;
    kk_error e;
    assert_int_equal(kk_cache_get(f->remote, key, blob, len, &e), KK_OK);
    f->fetched += *blob != NULL;
    return *blob != NULL;
}

static kk_status fake_run(kk_render_backend *b, const kk_render_job *jobs, size_t n, kk_backend_done_fn done,
                          kk_backend_abort_fn abort, void *user, kk_error *err)
{
    fake_backend *f = (fake_backend *)b;
    f->runs++;
    for (size_t i = 0; i < n && f->mode != 1; i++) {
        f->jobs++;
        if (f->mode == 2) {
            done(user, i, KK_BACKEND_REFUSED, "another model");
            continue;
        }
        kk_render_job_params jp = {.cache = f->worker_cache, .threads = 2, .on_entry = fake_store, .user = f};
        kk_render_job_result res;
        kk_error e;
        assert_int_equal(kk_render_job_run(tts, &jobs[i], &jp, &res, &e), KK_OK);
        assert_true(res.rendered && res.n_samples > 0);
        done(user, i, KK_BACKEND_RENDERED, NULL);
    }
    return KK_OK;
}

static const kk_render_backend_ops fake_ops = {.fetch = fake_fetch, .run = fake_run};

static void fake_open(fake_backend *f, int mode)
{
    kk_cache_params cp = kk_cache_default_params();
    cp.dir = NULL;
    kk_error e;
    *f = (fake_backend){.base = {&fake_ops}, .mode = mode};
    assert_int_equal(kk_cache_open(&cp, &f->remote, &e), KK_OK);
    assert_int_equal(kk_cache_open(&cp, &f->worker_cache, &e), KK_OK);
}

static void fake_close(fake_backend *f)
{
    kk_cache_close(f->remote);
    kk_cache_close(f->worker_cache);
}

static void test_job_backend(void **state)
{
    /* plain cues, speech far too long for its cue (sped up, stretched), a pitch */
    kk_render_segment segs[4] = {tight[0], tight[1], cues[0], cues[1]};
    segs[3].pitch = 2.0;
    kk_render_result local, r;
    kk_error err;
    kk_render_params p = params(NULL, 2);
    assert_int_equal(kk_render(tts, segs, 4, &p, &local, &err), KK_OK);
    assert_true(local.cues[0].speed > 1.0f || local.cues[0].stretch < 1.0);

    for (int mode = 0; mode < 3; mode++) {
        fake_backend f;
        fake_open(&f, mode);
        p.backend = &f.base; /* no cache of the caller's: the render makes its own */
        assert_int_equal(kk_render(tts, segs, 4, &p, &r, &err), KK_OK);
        assert_int_equal(r.n_samples, local.n_samples);
        assert_memory_equal(r.samples, local.samples, local.n_samples * sizeof(float));
        assert_int_equal(f.runs, 1);
        assert_int_equal(f.jobs, mode == 1 ? 0 : 4);
        assert_int_equal(r.synthesized, 4); /* rendered for this render, there or here */
        kk_render_result_free(&r);
        if (mode == 0) {
            /* again: every segment is found in the backend's tier, nothing is queued */
            size_t jobs = f.jobs;
            assert_int_equal(kk_render(tts, segs, 4, &p, &r, &err), KK_OK);
            assert_memory_equal(r.samples, local.samples, local.n_samples * sizeof(float));
            assert_int_equal(f.runs, 1);
            assert_int_equal(f.jobs, jobs);
            assert_int_equal(r.from_cache, 4);
            assert_true(f.fetched > 0);
            kk_render_result_free(&r);
        }
        fake_close(&f);
    }
    kk_render_result_free(&local);

    /* the worker's refusals: another model, other phonemes */
    kk_render_job job = {.identity = kk_tts_identity(tts),
                         .render_version = 2,
                         .voices_key = kk_tts_voices_dir(tts),
                         .text = "Next.",
                         .voice = "af_heart",
                         .phonemes = "nˈɛkst.|0",
                         .speed = 1.0f,
                         .fit = {1, 1.25f, 1.2},
                         .cue_ms = 800};
    kk_cache_params cp = kk_cache_default_params();
    cp.dir = NULL;
    kk_cache *wc;
    assert_int_equal(kk_cache_open(&cp, &wc, &err), KK_OK);
    kk_render_job_params jp = {.cache = wc};
    kk_render_job_result res;
    job.identity = "kkw-0000000000000000-e0";
    assert_int_equal(kk_render_job_run(tts, &job, &jp, &res, &err), KK_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "kkw-0000000000000000-e0"));
    job.identity = kk_tts_identity(tts);
    job.phonemes = "something else|0";
    assert_int_equal(kk_render_job_run(tts, &job, &jp, &res, &err), KK_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "phonemizes"));
    job.speed = 9.0f;
    assert_int_equal(kk_render_job_run(tts, &job, &jp, &res, &err), KK_ERR_INPUT);
    assert_int_equal(res.rendered, 0);
    kk_cache_close(wc);
}

int main(int argc, char **argv)
{
    (void)argc;
    /* the engine's libraries tuned as the programs have them (nn.h) */
    nn_exec_tuned(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cues_start_on_time),
        cmocka_unit_test(test_same_for_any_worker_count),
        cmocka_unit_test(test_track_on_disk_same_bits),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_fit),
        cmocka_unit_test(test_untimed_text_becomes_subtitles),
        cmocka_unit_test(test_abort_and_bad_requests),
        cmocka_unit_test(test_voice_map_and_pitch),
        cmocka_unit_test(test_failure_as_data),
        cmocka_unit_test(test_speed_range),
        cmocka_unit_test(test_times_past_the_limit),
        cmocka_unit_test(test_job_backend),
        cmocka_unit_test(test_precision),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
