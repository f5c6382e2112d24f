/* test_cli_render.c - `kokoro render` end to end on the real model: the
 * bundled example to every export format, each decoded back (with FFmpeg's
 * libraries) to the track's length; subtitles and report; a dubbed video;
 * an interrupted render leaves no file; bad requests fail clearly;
 * --precision keys the cache (fast audio is not exact audio). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libavformat/avformat.h>

#include "cli_helpers.h"
#include "export.h"

static char cache[4200];

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* Files in TEST_TMPDIR whose name contains s (temporary files left over). */
static int count_named(const char *s)
{
    DIR *dp = opendir(tmp_dir());
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)))
        n += strstr(e->d_name, s) != NULL;
    closedir(dp);
    return n;
}

/* tmp() names live in 8 rotating buffers, which run() uses too: keep a
 * name that must outlive a run() in a buffer of its own. */
#define KEEP(var, name)                                                                                                \
    char var[4200];                                                                                                    \
    snprintf(var, sizeof var, "%s", tmp(name))

static double report_duration(const char *path)
{
    char *s = slurp(path, NULL);
    assert_non_null(s);
    cJSON *j = cJSON_Parse(s);
    free(s);
    assert_non_null(j);
    double d = cJSON_GetObjectItem(j, "duration_s")->valuedouble;
    cJSON_Delete(j);
    return d;
}

static void test_every_format_decodes_to_the_track_length(void **state)
{
    const char *fmts[][2] = {{"wav", ""}, {"wav", "--format wav32"}, {"flac", ""}, {"mp3", ""}, {"mp3", "--vbr"},
                             {"m4a", ""}, {"wav", "--rate 48000"}};
    double track = 0;
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "welcome%zu.%s", i, fmts[i][0]);
        KEEP(out, name);
        KEEP(rep, "welcome.report.json");
        run_result r = run(NULL, "render '%s' -o '%s' %s --cache-dir '%s' --report '%s'", example("welcome.srt"), out,
                           fmts[i][1], cache, rep);
        if (r.code)
            fprintf(stderr, "%s", r.err);
        assert_int_equal(r.code, 0);
        assert_non_null(strstr(r.err, "wrote"));
        if (i == 0)
            track = report_duration(rep);
        else /* the cache gives the same track */
            assert_true(fabs(report_duration(rep) - track) < 1e-9);
        done(&r);
        float *x = NULL;
        size_t n = 0;
        int rate = 0;
        kk_error err;
        assert_int_equal(kk_audio_decode(out, 0, &x, &n, &rate, &err), KK_OK);
        double got = (double)n / rate;
        fprintf(stderr, "%-24s %s: %.4f s decoded, track %.4f s\n", name, fmts[i][1], got, track);
        /* the last cue ends at 10.5 s */
        assert_true(track >= 10.5);
        /* lossless: to the sample; lossy: within 5 ms */
        assert_true(fabs(got - track) <= (i == 3 || i == 4 || i == 5 ? 0.005 : 0.5 / rate));
        double e = 0;
        for (size_t k = 0; k < n; k++)
            e += (double)x[k] * x[k];
        assert_true(e > 1.0); /* speech, not silence */
        free(x);
        unlink(out);
    }
    assert_int_equal(count_named(".tmp"), 0);
}

static void test_subtitles_report_and_text(void **state)
{
    KEEP(txt, "story.txt");
    KEEP(out, "story.wav");
    KEEP(srt, "story.srt");
    KEEP(rep, "story.json");
    put(txt, "The first paragraph is short.\n\nThe second one follows after a "
             "pause.\n");
    run_result r = run(NULL,
                       "render '%s' -o '%s' --subtitles '%s' --report '%s' --gap "
                       "800 --cache-dir '%s'",
                       txt, out, srt, rep, cache);
    assert_int_equal(r.code, 0);
    done(&r);
    char *s = slurp(srt, NULL);
    assert_non_null(s);
    assert_non_null(strstr(s, "The second one follows after a pause."));
    assert_non_null(strstr(s, "00:00:00,000 --> "));
    free(s);
    s = slurp(rep, NULL);
    cJSON *j = cJSON_Parse(s);
    free(s);
    cJSON *cues = cJSON_GetObjectItem(j, "cues");
    assert_int_equal(cJSON_GetArraySize(cues), 2);
    double end0 = cJSON_GetObjectItem(cJSON_GetArrayItem(cues, 0), "end_s")->valuedouble;
    double start1 = cJSON_GetObjectItem(cJSON_GetArrayItem(cues, 1), "start_s")->valuedouble;
    assert_true(fabs(start1 - end0 - 0.8) < 1e-6);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(cues, 1), "words")) == 7);
    cJSON_Delete(j);
}

/* Issue 15: speakers kept in ASS subtitles with the cues' own times, a
 * Windows-1252 input read by detection. */
static void test_speakers_cue_times_and_encoding(void **state)
{
    KEEP(vtt, "duo.vtt");
    KEEP(out, "duo.wav");
    KEEP(ass, "duo.ass");
    /* "Café" in Windows-1252 (0xE9): not UTF-8, detected */
    put(vtt, "WEBVTT\n\n00:00.500 --> 00:02.000\n<v Anna>Caf\xe9 now.\n\n00:02.500 --> 00:04.000\n<v Ben>Yes.\n");
    run_result r = run(NULL, "render '%s' -o '%s' --subtitles '%s' --subtitle-times cue --cache-dir '%s'", vtt, out,
                       ass, cache);
    assert_int_equal(r.code, 0);
    done(&r);
    char *s = slurp(ass, NULL);
    assert_non_null(s);
    assert_non_null(strstr(s, "Dialogue: 0,0:00:00.50,0:00:02.00,Default,Anna,0,0,0,,Caf\xc3\xa9 now.\n"));
    assert_non_null(strstr(s, "Dialogue: 0,0:00:02.50,0:00:04.00,Default,Ben,0,0,0,,Yes.\n"));
    free(s);
    r = run(NULL, "render '%s' -o '%s' --subtitles '%s' --subtitle-times later", vtt, out, ass);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "--subtitle-times"));
    done(&r);
}

static void test_loudness_normalisation(void **state)
{
    KEEP(out, "loud.wav");
    KEEP(rep, "loud.json");
    run_result r = run(NULL, "render '%s' -o '%s' --normalize --lufs -18 --true-peak -2 --report '%s' --cache-dir '%s'",
                       example("welcome.srt"), out, rep, cache);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.err, "LUFS"));
    done(&r);
    char *s = slurp(rep, NULL);
    cJSON *j = cJSON_Parse(s);
    free(s);
    cJSON *l = cJSON_GetObjectItem(j, "loudness");
    assert_non_null(l);
    double lufs = cJSON_GetObjectItem(l, "output_lufs")->valuedouble;
    double peak = cJSON_GetObjectItem(l, "output_true_peak_db")->valuedouble;
    fprintf(stderr, "normalised: %.2f LUFS, true peak %.2f dBTP\n", lufs, peak);
    assert_true(fabs(lufs + 18.0) < 1.0);
    assert_true(peak <= -2.0 + 0.1);
    cJSON_Delete(j);
}

static void test_fit_summary_on_stderr(void **state)
{
    KEEP(srt, "tight.srt");
    KEEP(out, "tight.wav");
    put(srt, "1\n00:00:00,000 --> 00:00:01,000\nThis line is much too long to be "
             "spoken in only one second.\n\n"
             "2\n00:00:01,500 --> 00:00:02,500\nShort.\n");
    run_result r = run(NULL, "render '%s' -o '%s' --cache-dir '%s'", srt, out, cache);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.err, "spoken faster"));
    assert_non_null(strstr(r.err, "time-stretched"));
    assert_non_null(strstr(r.err, "overlap the next one (worst: cue 1"));
    done(&r);
    r = run(NULL, "render '%s' -o '%s' --fit truncate --cache-dir '%s'", srt, out, cache);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.err, "cut short"));
    done(&r);
}

/* Streams of each kind in a media file. */
static void count_streams(const char *path, int *video, int *audio, double *audio_s)
{
    AVFormatContext *f = NULL;
    assert_int_equal(avformat_open_input(&f, path, NULL, NULL), 0);
    assert_true(avformat_find_stream_info(f, NULL) >= 0);
    *video = *audio = 0;
    for (unsigned i = 0; i < f->nb_streams; i++) {
        AVStream *s = f->streams[i];
        if (s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO)
            ++*video;
        if (s->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) {
            ++*audio;
            if (audio_s && s->duration != AV_NOPTS_VALUE)
                *audio_s = (double)s->duration * av_q2d(s->time_base);
        }
    }
    avformat_close_input(&f);
}

static void test_dub_a_video(void **state)
{
    const char *ffmpeg = getenv("FFMPEG");
    KEEP(video, "clip.mp4");
    KEEP(out, "clip-dub.mp4");
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' -loglevel error -y -f lavfi -i "
             "testsrc=size=160x120:rate=10:duration=12 -f lavfi "
             "-i sine=frequency=300:duration=12 -c:v mpeg4 -c:a aac -shortest '%s'",
             ffmpeg ? ffmpeg : "ffmpeg", video);
    assert_int_equal(system(cmd), 0);
    run_result r =
        run(NULL, "render '%s' --video '%s' -o '%s' --cache-dir '%s'", example("welcome.srt"), video, out, cache);
    if (r.code)
        fprintf(stderr, "%s", r.err);
    assert_int_equal(r.code, 0);
    done(&r);
    int v, a;
    double as = 0;
    count_streams(out, &v, &a, &as);
    assert_int_equal(v, 1);
    assert_int_equal(a, 1); /* replaced */
    assert_true(as >= 10.4);
    float *x;
    size_t n;
    int rate;
    kk_error err;
    /* the audio is ours (speech), not the 300 Hz tone: check it is not a tone
     * by its silence before the first cue (0.5 s) */
    assert_int_equal(kk_audio_decode(out, 24000, &x, &n, &rate, &err), KK_OK);
    double e = 0;
    for (size_t k = 0; k < 9000; k++)
        e += (double)x[k] * x[k];
    assert_true(e < 1e-3);
    free(x);
    r = run(NULL, "render '%s' --video '%s' --keep-audio -o '%s' --cache-dir '%s'", example("welcome.srt"), video, out,
            cache);
    assert_int_equal(r.code, 0);
    done(&r);
    count_streams(out, &v, &a, NULL);
    assert_int_equal(v, 1);
    assert_int_equal(a, 2);
    unlink(out);
    /* a missing video: a clear error, no output */
    r = run(NULL, "render '%s' --video '%s' -o '%s' --cache-dir '%s'", example("welcome.srt"), tmp("nope.mp4"), out,
            cache);
    assert_int_not_equal(r.code, 0);
    if (!strstr(r.err, "nope.mp4"))
        fprintf(stderr, "missing video: %s\n", r.err);
    assert_non_null(strstr(r.err, "nope.mp4"));
    assert_false(exists(out));
    done(&r);
}

/* The level (RMS) of the f Hz component of x[a, b) at rate (Goertzel). */
static double tone_level(const float *x, size_t a, size_t b, double f, int rate)
{
    double w = 2 * 3.14159265358979323846 * f / rate, c = 2 * cos(w), s1 = 0, s2 = 0;
    for (size_t i = a; i < b; i++) {
        double s0 = x[i] + c * s1 - s2;
        s2 = s1, s1 = s0;
    }
    double p = s1 * s1 + s2 * s2 - c * s1 * s2;
    return sqrt(2 * p) / (double)(b - a);
}

static double rms_of(const float *x, size_t a, size_t b)
{
    double e = 0;
    for (size_t i = a; i < b; i++)
        e += (double)x[i] * x[i];
    return sqrt(e / (double)(b - a));
}

/* --mix duck: one audio stream as long as the 12 s video (the cues end at
 * 10.5 s), the 300 Hz original at full level before the first cue and
 * after the last, turned down by --duck-db under the speech, the speech
 * on top of it. */
static void test_dub_mix_duck(void **state)
{
    const char *ffmpeg = getenv("FFMPEG");
    KEEP(video, "clip-duck.mp4");
    KEEP(out, "clip-duck-dub.mp4");
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' -loglevel error -y -f lavfi -i testsrc=size=160x120:rate=10:duration=12 -f lavfi "
             "-i sine=frequency=60:duration=12 -c:v mpeg4 -c:a aac -shortest '%s'",
             ffmpeg ? ffmpeg : "ffmpeg", video);
    assert_int_equal(system(cmd), 0);
    run_result r = run(NULL, "render '%s' --video '%s' --mix duck --duck-db -18 --attack-ms 40 --release-ms 200 "
                             "-o '%s' --cache-dir '%s'", example("welcome.srt"), video, out, cache);
    if (r.code)
        fprintf(stderr, "%s", r.err);
    assert_int_equal(r.code, 0);
    done(&r);
    int v, a;
    double as = 0;
    count_streams(out, &v, &a, &as);
    assert_int_equal(v, 1);
    assert_int_equal(a, 1);
    assert_true(fabs(as - 12.0) < 0.1); /* as long as the video, not the last cue */
    float *x;
    size_t n;
    int rate;
    kk_error err;
    assert_int_equal(kk_audio_decode(out, 24000, &x, &n, &rate, &err), KK_OK);
    assert_true(n >= (size_t)(11.9 * 24000));
    /* 60 Hz: below the voice's pitch, so what is measured there is the
     * original, not the speech. */
    double before = tone_level(x, 2400, 9600, 60, rate);                    /* 0.1 .. 0.4 s */
    double under = tone_level(x, 24000, 48000, 60, rate);                   /* 1 .. 2 s, inside cue 1 */
    double after = tone_level(x, 11 * 24000, 11 * 24000 + 12000, 60, rate); /* 11 .. 11.5 s */
    double speech = rms_of(x, 24000, 48000);
    fprintf(stderr, "duck: tone %.4f before, %.4f under speech, %.4f after; all %.4f under speech\n", before, under,
            after, speech);
    assert_true(before > 0.03);
    assert_true(fabs(20 * log10(after / before)) < 1.5);
    assert_true(20 * log10(under / before) < -14 && 20 * log10(under / before) > -22);
    assert_true(speech > 2 * under); /* the dub is what is heard */
    /* The track spilled to its temporary file (--memory-mb 1: past half a
     * MiB) is streamed into the dub: the same file's sound, sample for
     * sample. */
    unlink(out);
    r = run(NULL, "render '%s' --video '%s' --mix duck --duck-db -18 --attack-ms 40 --release-ms 200 "
                  "-o '%s' --cache-dir '%s' --memory-mb 1", example("welcome.srt"), video, out, cache);
    if (r.code)
        fprintf(stderr, "%s", r.err);
    assert_int_equal(r.code, 0);
    done(&r);
    float *x2;
    size_t n2;
    assert_int_equal(kk_audio_decode(out, 24000, &x2, &n2, &rate, &err), KK_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(x2, x, n * sizeof *x);
    free(x), free(x2);
    unlink(out);
    /* Bad choices: usage errors, no output. */
    r = run(NULL, "render '%s' --video '%s' --mix loud -o '%s'", example("welcome.srt"), video, out);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "replace, add or duck"));
    done(&r);
    r = run(NULL, "render '%s' --mix duck -o '%s'", example("welcome.srt"), tmp("x.wav"));
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "--video"));
    done(&r);
    assert_false(exists(out));
}

static void test_interrupted_render_leaves_nothing(void **state)
{
    KEEP(out, "interrupted.m4a");
    char empty_cache[4300];
    snprintf(empty_cache, sizeof empty_cache, "%s-interrupt", cache);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        execl(getenv("KOKORO_BIN"), "kokoro", "render", example("welcome.srt"), "-o", out, "--cache-dir", empty_cache,
              (char *)NULL);
        _exit(127);
    }
    struct timespec t = {1, 200000000}; /* well inside the first segments */
    nanosleep(&t, NULL);
    kill(pid, SIGINT);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);
    assert_false(exists(out));
    assert_int_equal(count_named("interrupted.m4a."), 0);
}

static void test_bad_requests(void **state)
{
    run_result r = run(NULL, "render '%s' -o '%s'", example("welcome.srt"), tmp("x.ogg"));
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "x.ogg"));
    done(&r);
    r = run(NULL, "render '%s'", example("welcome.srt"));
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "-o"));
    done(&r);
    r = run(NULL, "render '%s' -o '%s'", tmp("missing.srt"), tmp("x.wav"));
    assert_int_not_equal(r.code, 0);
    assert_non_null(strstr(r.err, "missing.srt"));
    done(&r);
    r = run(NULL, "render '%s' -o /nonexistent-dir/x.wav --cache-dir '%s'", example("welcome.srt"), cache);
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.err, "/nonexistent-dir/x.wav"));
    done(&r);
    r = run(NULL, "render '%s' -o '%s' --voice-map Anna", example("welcome.srt"), tmp("x.wav"));
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "SPEAKER=VOICE"));
    done(&r);
    r = run(NULL, "render '%s' -o '%s' --pitch 30", example("welcome.srt"), tmp("x.wav"));
    assert_int_equal(r.code, 2);
    done(&r);
    assert_false(exists(tmp("x.wav")));
}

/* --precision: a bad value is a usage error; fast then exact on one
 * cache: the exact render does not take the fast audio (where the fast
 * mode runs; where it falls back, one line says so and the entries are
 * the exact ones, shared). */
static void test_precision(void **state)
{
    run_result r = run(NULL, "render '%s' -o '%s' --precision turbo", example("welcome.srt"), tmp("p.wav"));
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "--precision"));
    assert_non_null(strstr(r.err, "exact"));
    done(&r);
    const char *txt = tmp("precision.txt"), *pc = tmp("precision-cache");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pc); /* a fresh cache: the first render must miss */
    assert_int_equal(system(cmd), 0);
    put(txt, "One short line.");
    r = run(NULL, "render '%s' -o '%s' --precision fast --cache-dir '%s'", txt, tmp("p.wav"), pc);
    assert_int_equal(r.code, 0);
    int fell_back = strstr(r.err, "fast mode unavailable") != NULL;
    assert_non_null(strstr(r.err, "1 rendered, 0 from the cache"));
    done(&r);
    r = run(NULL, "render '%s' -o '%s' --precision exact --cache-dir '%s'", txt, tmp("p.wav"), pc);
    assert_int_equal(r.code, 0);
    assert_null(strstr(r.err, "fast mode unavailable"));
    assert_non_null(strstr(r.err, fell_back ? "0 rendered, 1 from the cache" : "1 rendered, 0 from the cache"));
    done(&r);
}

int main(void)
{
    snprintf(cache, sizeof cache, "%s", tmp("render-cache"));
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s-interrupt'", cache, cache);
    if (system(cmd) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_precision),
        cmocka_unit_test(test_interrupted_render_leaves_nothing),
        cmocka_unit_test(test_every_format_decodes_to_the_track_length),
        cmocka_unit_test(test_subtitles_report_and_text),
        cmocka_unit_test(test_speakers_cue_times_and_encoding),
        cmocka_unit_test(test_fit_summary_on_stderr),
        cmocka_unit_test(test_loudness_normalisation),
        cmocka_unit_test(test_dub_a_video),
        cmocka_unit_test(test_dub_mix_duck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
