/* test_export.c - exports (WAV, FLAC, MP3, M4A) read back through
 * kk_audio_decode at the right length with the right content; resampling;
 * aborts and failures leave no file and never touch an existing one; the
 * video dub copies the video untouched and carries the track. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <libavformat/avformat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export.h"
#include "kk_testutil.h"

#define RATE 24000
#define TONE 440.0

/* ------------------------------------------------------------------ */
/* helpers                                                             */

/* Everything goes into a folder of its own, so the temporary-file count
 * is not disturbed by other tests running beside this one. */
static const char *dir(void)
{
    static char d[4096];
    if (!d[0]) {
        if (snprintf(d, sizeof d, "%s/export", kk_test_tmpdir()) >= (int)sizeof d)
            abort();
        mkdir(d, 0777);
    }
    return d;
}

static char *path(char *b, const char *name)
{
    assert_true(snprintf(b, 4096, "%s/%s", dir(), name) < 4096);
    return b;
}

/* Files in the folder whose name ends in ".tmp": left-over temporaries. */
static int count_tmp(void)
{
    DIR *dp = opendir(dir());
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        size_t l = strlen(e->d_name);
        n += l > 4 && !strcmp(e->d_name + l - 4, ".tmp");
    }
    closedir(dp);
    return n;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* n samples: silence, a sine of amplitude amp, silence. */
static float *tone(size_t n, int rate, double freq, double amp, size_t lead, size_t tail)
{
    float *x = calloc(n, sizeof *x);
    for (size_t i = lead; i + tail < n; i++)
        x[i] = (float)(amp * sin(2 * M_PI * freq * (double)(i - lead) / rate));
    return x;
}

/* Power of x at freq (Goertzel). */
static double power_at(const float *x, size_t n, int rate, double freq)
{
    double w = 2 * M_PI * freq / rate, c = 2 * cos(w), s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double s = x[i] + c * s1 - s2;
        s2 = s1, s1 = s;
    }
    return s1 * s1 + s2 * s2 - c * s1 * s2;
}

/* The strongest frequency of x in 50..4000 Hz, on a 5 Hz grid. */
static double peak_freq(const float *x, size_t n, int rate)
{
    double best = 0, best_p = -1;
    for (double f = 50; f <= 4000; f += 5) {
        double p = power_at(x, n, rate, f);
        if (p > best_p)
            best_p = p, best = f;
    }
    return best;
}

/* Signal to noise ratio of y against the reference x, in dB. */
static double snr_db(const float *x, const float *y, size_t n)
{
    double s = 0, e = 0;
    for (size_t i = 0; i < n; i++) {
        s += (double)x[i] * x[i];
        e += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
    }
    return 10 * log10(s / (e > 1e-30 ? e : 1e-30));
}

/* The same after scaling y by the gain that fits it best (returned in
 * *gain): what a codec changed beyond the level. LAME scales its input by
 * 0.95 at most CBR rates (headroom against clipping in decoders), which
 * alone limits the plain SNR to 26 dB. */
static double snr_fit_db(const float *x, const float *y, size_t n, double *gain)
{
    double xy = 0, yy = 0;
    for (size_t i = 0; i < n; i++)
        xy += (double)x[i] * y[i], yy += (double)y[i] * y[i];
    double g = yy > 0 ? xy / yy : 1;
    float *z = malloc((n ? n : 1) * sizeof *z);
    for (size_t i = 0; i < n; i++)
        z[i] = (float)(g * y[i]);
    double snr = snr_db(x, z, n);
    free(z);
    *gain = 1 / g;
    return snr;
}

static double rms(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return n ? sqrt(s / n) : 0;
}

static kk_export_params params(kk_export_format f)
{
    kk_export_params p = kk_export_default_params();
    p.format = f;
    return p;
}

/* ------------------------------------------------------------------ */
/* round trips                                                         */

/* What each format must give back: the length to within tol samples (0:
 * exact) and the content to within min_snr dB (after the best gain). The
 * lossy bound: a 440 Hz tone at 128 kbps comes back at 38..80 dB, while
 * a shift by a single sample (an encoder delay trimmed wrongly) would
 * measure 19 dB. */
static const struct {
    kk_export_format f;
    const char *name;
    size_t tol;
    double min_snr;
} cases[] = {
    {KK_EXPORT_WAV16, "rt.wav", 0, 80},  {KK_EXPORT_WAV32, "rt32.wav", 0, 140},
    {KK_EXPORT_FLAC, "rt.flac", 0, 80},  {KK_EXPORT_MP3, "rt.mp3", 0, 30},
    {KK_EXPORT_M4A, "rt.m4a", 0, 30},
};

static void round_trip(size_t lead, size_t tail)
{
    const size_t n = RATE * 3 / 2;
    float *x = tone(n, RATE, TONE, 0.5, lead, tail);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char p[4096];
        kk_export_params ep = params(cases[c].f);
        kk_error err;
        assert_int_equal(kk_export_audio(path(p, cases[c].name), x, n, RATE, &ep, &err), KK_OK);
        float *y;
        size_t m;
        int rate;
        assert_int_equal(kk_audio_decode(p, 0, &y, &m, &rate, &err), KK_OK);
        assert_int_equal(rate, RATE);
        double gain, snr = snr_fit_db(x, y, m < n ? m : n, &gain);
        print_message("%-6s lead %5zu: %zu samples back of %zu, SNR %.1f dB at gain %.3f\n",
                      kk_export_format_name(cases[c].f), lead, m, n, snr, gain);
        assert_true(m + cases[c].tol >= n && m <= n + cases[c].tol);
        assert_true(snr >= cases[c].min_snr);
        assert_true(gain > 0.9 && gain < 1.02);
        assert_true(fabs(peak_freq(y + lead, 4096, RATE) - TONE) <= 5);
        if (lead) /* the silence stays silent: nothing moved in time */
            assert_true(rms(y, lead - 200) < 0.005 && rms(y + n - tail + 200, tail - 200) < 0.005);
        free(y);
    }
    free(x);
    assert_int_equal(count_tmp(), 0);
}

static void test_round_trip(void **state) { round_trip(0, 0); }

static void test_round_trip_silent_ends(void **state) { round_trip(RATE * 3 / 10, RATE / 4); }

static void test_wav_float_and_clipping(void **state)
{
    char p[4096];
    float x[2000];
    for (int i = 0; i < 2000; i++)
        x[i] = 0.25f * sinf(i * 0.05f);
    x[100] = 3.0f;
    kk_error err;
    kk_export_params ep = params(KK_EXPORT_WAV32);
    assert_int_equal(kk_export_audio(path(p, "f.wav"), x, 2000, RATE, &ep, &err), KK_OK);
    float *y;
    size_t m;
    assert_int_equal(kk_audio_decode(p, 0, &y, &m, NULL, &err), KK_OK);
    assert_int_equal(m, 2000);
    assert_memory_equal(x, y, sizeof x); /* 32-bit float is bit exact, 3.0 included */
    free(y);
    ep = params(KK_EXPORT_WAV16);
    assert_int_equal(kk_export_audio(path(p, "c.wav"), x, 2000, RATE, &ep, &err), KK_OK);
    assert_int_equal(kk_audio_decode(p, 0, &y, &m, NULL, &err), KK_OK);
    assert_true(y[100] <= 1.0f && y[100] > 0.99f); /* clipped, not wrapped to negative */
    free(y);
}

/* MP3 VBR, other bit rates and other MPEG versions decode at the right
 * length too (the info tag is written for CBR and VBR alike). */
static void test_mp3_modes(void **state)
{
    static const struct {
        int rate, vbr, q, kbps;
    } modes[] = {{24000, 1, 4, 0}, {44100, 1, 0, 0}, {44100, 0, 0, 320}, {8000, 0, 0, 32}, {16000, 0, 0, 64}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        int rate = modes[i].rate;
        size_t n = (size_t)rate + 123;
        float *x = tone(n, rate, 440, 0.5, 0, 0);
        kk_export_params ep = params(KK_EXPORT_MP3);
        ep.vbr = modes[i].vbr, ep.vbr_quality = modes[i].q, ep.bitrate_kbps = modes[i].kbps;
        char p[4096];
        kk_error err;
        assert_int_equal(kk_export_audio(path(p, "mode.mp3"), x, n, rate, &ep, &err), KK_OK);
        float *y;
        size_t m;
        int r;
        assert_int_equal(kk_audio_decode(p, 0, &y, &m, &r, &err), KK_OK);
        double gain, snr = snr_fit_db(x, y, m < n ? m : n, &gain);
        print_message("mp3 %d Hz vbr %d: %zu of %zu, SNR %.1f dB at gain %.3f\n", rate, modes[i].vbr, m, n, snr,
                      gain);
        assert_int_equal(r, rate);
        assert_int_equal(m, n);
        assert_true(snr > 30);
        free(x), free(y);
    }
}

/* ------------------------------------------------------------------ */
/* resampling                                                          */

static void check_resampled(const float *y, size_t m, int rate)
{
    size_t n = RATE * 3 / 2;
    size_t want = (size_t)llround((double)n * rate / RATE);
    assert_int_equal(m, want);
    assert_true(fabs(peak_freq(y + 1000, 8192, rate) - TONE) <= 5);
    /* in time with the input: the tone made directly at the new rate */
    float *ref = tone(m, rate, TONE, 0.5, 0, 0);
    double snr = snr_db(ref + 200, y + 200, m - 400);
    print_message("resampled to %d: %zu samples, SNR %.1f dB against the ideal tone\n", rate, m, snr);
    assert_true(snr > 90); /* soxr at 28 bits: about 150 dB */
    free(ref);
}

static void test_resample(void **state)
{
    size_t n = RATE * 3 / 2;
    float *x = tone(n, RATE, TONE, 0.5, 0, 0);
    int rates[] = {48000, 44100};
    for (int i = 0; i < 2; i++) {
        float *y;
        size_t m;
        kk_error err;
        assert_int_equal(kk_resample(x, n, RATE, rates[i], &y, &m, &err), KK_OK);
        check_resampled(y, m, rates[i]);
        free(y);
        /* the same through an export at that rate */
        char p[4096];
        kk_export_params ep = params(KK_EXPORT_WAV32);
        ep.sample_rate = rates[i];
        assert_int_equal(kk_export_audio(path(p, "rs.wav"), x, n, RATE, &ep, &err), KK_OK);
        int r;
        assert_int_equal(kk_audio_decode(p, 0, &y, &m, &r, &err), KK_OK);
        assert_int_equal(r, rates[i]);
        check_resampled(y, m, rates[i]);
        free(y);
    }
    free(x);
}

/* Down and odd lengths: exactly round(n * to / from); decode resamples. */
static void test_resample_lengths(void **state)
{
    float x[1001];
    for (int i = 0; i < 1001; i++)
        x[i] = (float)sin(i * 0.1);
    float *y;
    size_t m;
    kk_error err;
    assert_int_equal(kk_resample(x, 1001, 24000, 44100, &y, &m, &err), KK_OK);
    assert_int_equal(m, 1839); /* 1839.3 */
    free(y);
    assert_int_equal(kk_resample(x, 1001, 44100, 22050, &y, &m, &err), KK_OK);
    assert_int_equal(m, 501); /* 500.5 rounds up */
    free(y);
    assert_int_equal(kk_resample(x, 0, 24000, 48000, &y, &m, &err), KK_OK);
    assert_int_equal(m, 0);
    free(y);
    assert_int_equal(kk_resample(x, 10, 24000, 0, &y, &m, &err), KK_ERR_ARG);
    char p[4096];
    kk_export_params ep = params(KK_EXPORT_WAV16);
    assert_int_equal(kk_export_audio(path(p, "dec.wav"), x, 1001, 24000, &ep, &err), KK_OK);
    int r;
    assert_int_equal(kk_audio_decode(p, 16000, &y, &m, &r, &err), KK_OK);
    assert_int_equal(r, 16000);
    assert_int_equal(m, 667); /* 667.3 */
    free(y);
}

/* The streaming writer in uneven pieces, resampling 24k -> 44.1k FLAC,
 * gives the same samples as one kk_resample call. */
static void test_writer_pieces(void **state)
{
    size_t n = RATE * 3 / 2;
    float *x = tone(n, RATE, TONE, 0.5, 0, 0);
    char p[4096];
    kk_export_params ep = params(KK_EXPORT_FLAC);
    ep.sample_rate = 44100;
    kk_audio_writer *w;
    kk_error err;
    assert_int_equal(kk_audio_writer_open(&w, path(p, "pieces.flac"), RATE, &ep, &err), KK_OK);
    for (size_t i = 0, k = 1; i < n; i += k, k = k * 3 + 7)
        assert_int_equal(kk_audio_writer_write(w, x + i, i + k <= n ? k : n - i, &err), KK_OK);
    assert_int_equal(count_tmp(), 1);
    assert_int_equal(kk_audio_writer_commit(w, &err), KK_OK);
    float *y, *ref;
    size_t m, m_ref;
    assert_int_equal(kk_audio_decode(p, 0, &y, &m, NULL, &err), KK_OK);
    assert_int_equal(kk_resample(x, n, RATE, 44100, &ref, &m_ref, &err), KK_OK);
    assert_int_equal(m, m_ref);
    assert_true(snr_db(ref, y, m) > 80); /* 16-bit rounding only */
    free(x), free(y), free(ref);
    assert_int_equal(count_tmp(), 0);
}

/* ------------------------------------------------------------------ */
/* empty tracks, aborts, failures, arguments                           */

/* An empty track gives a valid WAV, FLAC or MP3 file that decodes to no
 * samples (for MP3 the encoder delay and padding are all trimmed); M4A
 * refuses it (an MP4 track without packets is dropped by readers). */
static void test_empty_track(void **state)
{
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char p[4096];
        kk_export_params ep = params(cases[c].f);
        kk_error err;
        assert_true(snprintf(p, sizeof p, "%s/empty%s", dir(), kk_export_format_ext(cases[c].f)) < (int)sizeof p);
        if (cases[c].f == KK_EXPORT_M4A) {
            assert_int_equal(kk_export_audio(p, NULL, 0, RATE, &ep, &err), KK_ERR_ARG);
            assert_non_null(strstr(err.msg, "empty"));
            kk_audio_writer *w;
            assert_int_equal(kk_audio_writer_open(&w, p, RATE, &ep, &err), KK_OK);
            assert_int_equal(kk_audio_writer_commit(w, &err), KK_ERR_ARG);
            assert_false(exists(p));
            continue;
        }
        assert_int_equal(kk_export_audio(p, NULL, 0, RATE, &ep, &err), KK_OK);
        float *y;
        size_t m;
        assert_int_equal(kk_audio_decode(p, 0, &y, &m, NULL, &err), KK_OK);
        assert_int_equal(m, 0);
        free(y);
        unlink(p);
    }
    assert_int_equal(count_tmp(), 0);
}

/* Short tracks come back at their length too: the MP3 encoder delay
 * spans two frames for the shortest ones, and the M4A edit list counts in
 * samples, not milliseconds. */
static void test_short_tracks(void **state)
{
    static const size_t lengths[] = {1, 47, 100, 1023, 1025, 2500};
    kk_export_format f[] = {KK_EXPORT_MP3, KK_EXPORT_M4A};
    float x[2500];
    for (int i = 0; i < 2500; i++)
        x[i] = 0.3f * sinf(i * 0.1f);
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
            char p[4096];
            kk_export_params ep = params(f[k]);
            kk_error err;
            assert_int_equal(kk_export_audio(path(p, "short.out"), x, lengths[i], RATE, &ep, &err), KK_OK);
            float *y;
            size_t m;
            assert_int_equal(kk_audio_decode(p, 0, &y, &m, NULL, &err), KK_OK);
            if (m != lengths[i])
                print_message("%s of %zu samples came back as %zu\n", kk_export_format_name(f[k]), lengths[i], m);
            assert_int_equal(m, lengths[i]);
            free(y);
        }
}

typedef struct progress_log {
    double stop_at, last;
    int calls, backwards;
} progress_log;

static int on_progress(void *user, double f)
{
    progress_log *l = user;
    l->backwards |= f < l->last;
    l->last = f;
    l->calls++;
    return f >= l->stop_at;
}

static void write_precious(const char *p)
{
    FILE *f = fopen(p, "wb");
    fputs("precious", f);
    fclose(f);
}

static void assert_precious(const char *p)
{
    char buf[16] = {0};
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, sizeof buf, f), 8);
    fclose(f);
    assert_string_equal(buf, "precious");
}

static void test_abort(void **state)
{
    size_t n = RATE * 3 / 2;
    float *x = tone(n, RATE, TONE, 0.5, 0, 0);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char p[4096], fresh[4096];
        write_precious(path(p, cases[c].name));
        progress_log log = {.stop_at = 0.5};
        kk_export_params ep = params(cases[c].f);
        ep.progress = on_progress, ep.user = &log;
        ep.sample_rate = cases[c].f == KK_EXPORT_FLAC ? 48000 : 0; /* with the resampler running too */
        kk_error err;
        assert_int_equal(kk_export_audio(p, x, n, RATE, &ep, &err), KK_ERR_ABORTED);
        assert_non_null(strstr(err.msg, p));
        assert_true(log.calls >= 2 && log.last >= 0.5 && log.last < 1.0);
        assert_precious(p);
        assert_int_equal(kk_export_audio(path(fresh, "fresh.out"), x, n, RATE, &ep, &err), KK_ERR_ABORTED);
        assert_false(exists(fresh));
        assert_int_equal(count_tmp(), 0);
        /* not stopped: called from 0 to 1 in order, and the file replaced */
        log = (progress_log){.stop_at = 2};
        assert_int_equal(kk_export_audio(p, x, n, RATE, &ep, &err), KK_OK);
        assert_true(log.calls >= 3 && log.last == 1.0 && !log.backwards);
    }
    /* the writer's own abort */
    char p[4096];
    write_precious(path(p, "w.m4a"));
    kk_audio_writer *w;
    kk_error err;
    kk_export_params ep = params(KK_EXPORT_M4A);
    assert_int_equal(kk_audio_writer_open(&w, p, RATE, &ep, &err), KK_OK);
    assert_int_equal(kk_audio_writer_write(w, x, n, &err), KK_OK);
    kk_audio_writer_abort(w);
    assert_precious(p);
    assert_int_equal(count_tmp(), 0);
    free(x);
}

static void test_unwritable(void **state)
{
    float x[100] = {0};
    char p[4096], file[4096];
    write_precious(path(file, "plain-file"));
    const char *bad[] = {"no/such/dir/x", "plain-file/x"};
    for (size_t b = 0; b < 2; b++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            kk_export_params ep = params(cases[c].f);
            kk_error err;
            assert_true(snprintf(p, sizeof p, "%s/%s%s", dir(), bad[b], kk_export_format_ext(cases[c].f)) <
                        (int)sizeof p);
            assert_int_equal(kk_export_audio(p, x, 100, RATE, &ep, &err), KK_ERR_IO);
            assert_non_null(strstr(err.msg, p));
        }
    if (geteuid() != 0) { /* root writes anywhere */
        char ro[4096];
        mkdir(path(ro, "read-only"), 0555);
        chmod(ro, 0555);
        assert_true(snprintf(p, sizeof p, "%s/x.mp3", ro) < (int)sizeof p);
        kk_export_params ep = params(KK_EXPORT_MP3);
        kk_error err;
        assert_int_equal(kk_export_audio(p, x, 100, RATE, &ep, &err), KK_ERR_IO);
        assert_non_null(strstr(err.msg, p));
    }
    assert_int_equal(count_tmp(), 0);
}

static void expect_arg(kk_export_params ep, int in_rate, const char *says)
{
    char p[4096];
    float x[10] = {0};
    kk_error err;
    kk_audio_writer *w = (kk_audio_writer *)&ep; /* must be reset to NULL */
    assert_int_equal(kk_audio_writer_open(&w, path(p, "arg.out"), in_rate, &ep, &err), KK_ERR_ARG);
    assert_null(w);
    assert_int_equal(kk_export_audio(p, x, 10, in_rate, &ep, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, says));
    assert_false(exists(p));
}

static void test_bad_arguments(void **state)
{
    kk_export_format f;
    kk_error err;
    assert_int_equal(kk_export_format_parse("ogg", &f, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "mp3"));
    assert_int_equal(kk_export_format_parse("song.opus", &f, &err), KK_ERR_ARG);
    assert_int_equal(kk_export_format_parse("x.aac", &f, &err), KK_ERR_ARG);
    assert_int_equal(kk_export_format_parse(NULL, &f, &err), KK_ERR_ARG);
    static const struct {
        const char *s;
        kk_export_format f;
    } ok[] = {{"wav", KK_EXPORT_WAV16}, {"WAV32", KK_EXPORT_WAV32}, {"flac", KK_EXPORT_FLAC},
              {"aac", KK_EXPORT_M4A},   {"out/a.b/take.MP3", KK_EXPORT_MP3}, {"x.wav", KK_EXPORT_WAV16},
              {"x.m4a", KK_EXPORT_M4A}, {"x.flac", KK_EXPORT_FLAC}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(kk_export_format_parse(ok[i].s, &f, &err), KK_OK);
        assert_int_equal(f, ok[i].f);
    }
    assert_string_equal(kk_export_format_name(KK_EXPORT_WAV32), "wav32");
    assert_string_equal(kk_export_format_ext(KK_EXPORT_M4A), ".m4a");

    kk_export_params ep = params(KK_EXPORT_MP3);
    ep.sample_rate = 96000;
    expect_arg(ep, RATE, "44100"); /* the message lists the rates LAME takes */
    ep = params(KK_EXPORT_MP3);
    ep.bitrate_kbps = 100;
    expect_arg(ep, RATE, "160");
    ep.bitrate_kbps = 192; /* fine at 44.1k (MPEG-1), not at 24k (MPEG-2) */
    expect_arg(ep, RATE, "kbps");
    ep = params(KK_EXPORT_MP3);
    ep.vbr = 1, ep.vbr_quality = 10;
    expect_arg(ep, RATE, "0 (best)");
    ep = params(KK_EXPORT_M4A);
    ep.sample_rate = 50000;
    expect_arg(ep, RATE, "96000");
    ep = params(KK_EXPORT_M4A);
    ep.bitrate_kbps = 4;
    expect_arg(ep, RATE, "kbps");
    ep = params(KK_EXPORT_WAV16);
    expect_arg(ep, 0, "Hz");
    ep.sample_rate = 10000000;
    expect_arg(ep, RATE, "Hz");
    ep = params((kk_export_format)42);
    expect_arg(ep, RATE, "format");

    float x[10] = {0};
    assert_int_equal(kk_export_audio("-", x, 10, RATE, NULL, &err), KK_ERR_ARG);
    assert_int_equal(kk_export_audio(NULL, x, 10, RATE, NULL, &err), KK_ERR_ARG);
    char p[4096];
    assert_int_equal(kk_export_audio(path(p, "null.wav"), NULL, 10, RATE, NULL, &err), KK_ERR_ARG);
    float *y;
    size_t m;
    assert_int_equal(kk_audio_decode(path(p, "missing.wav"), 0, &y, &m, NULL, &err), KK_ERR_IO);
    assert_non_null(strstr(err.msg, p));
    assert_int_equal(kk_audio_decode(p, 5, &y, &m, NULL, &err), KK_ERR_ARG);
    assert_int_equal(count_tmp(), 0);
}

/* ------------------------------------------------------------------ */
/* the video dub                                                       */

static char video[4096];

/* 2 s of testsrc (MPEG-4 part 2) with a 1 kHz AAC tone, made by ffmpeg. */
static int make_video(void **state)
{
    const char *ff = getenv("FFMPEG");
    char cmd[8192];
    path(video, "in.mp4");
    snprintf(cmd, sizeof cmd,
             "'%s' -nostdin -v error -y -f lavfi -i testsrc=size=160x120:rate=25:duration=2 "
             "-f lavfi -i sine=frequency=1000:sample_rate=44100:duration=2 -c:v mpeg4 -q:v 5 -c:a aac -b:a 64k "
             "-shortest '%s'",
             ff ? ff : "ffmpeg", video);
    return system(cmd) == 0 && exists(video) ? 0 : -1;
}

typedef struct stream_summary {
    int n_video, n_audio, video_packets;
    enum AVCodecID video_codec, audio_codec[4];
    int width, height, audio_rate[4];
    double audio_seconds[4]; /* the streams' durations */
    uint8_t extradata[256];
    int extradata_size;
    uint64_t video_hash;     /* of every video packet's bytes, in order */
    double video_t0;         /* the first video packet's time, seconds */
    double video_pts_sum;    /* seconds after it, over every video packet */
} stream_summary;

static uint64_t fnv(uint64_t h, const uint8_t *d, int n)
{
    for (int i = 0; i < n; i++)
        h = (h ^ d[i]) * 1099511628211ULL;
    return h;
}

static void summarize(const char *p, stream_summary *s)
{
    memset(s, 0, sizeof *s);
    s->video_hash = 14695981039346656037ULL;
    AVFormatContext *ic = NULL;
    assert_int_equal(avformat_open_input(&ic, p, NULL, NULL), 0);
    assert_true(avformat_find_stream_info(ic, NULL) >= 0);
    int vidx = -1;
    for (unsigned i = 0; i < ic->nb_streams; i++) {
        const AVCodecParameters *par = ic->streams[i]->codecpar;
        assert_true(par->codec_type == AVMEDIA_TYPE_VIDEO || par->codec_type == AVMEDIA_TYPE_AUDIO);
        if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
            s->n_video++, vidx = (int)i;
            s->video_codec = par->codec_id, s->width = par->width, s->height = par->height;
            s->extradata_size = par->extradata_size;
            assert_true(par->extradata_size <= (int)sizeof s->extradata);
            if (par->extradata_size)
                memcpy(s->extradata, par->extradata, (size_t)par->extradata_size);
        } else if (s->n_audio < 4) {
            const AVStream *st = ic->streams[i];
            s->audio_seconds[s->n_audio] = st->duration != AV_NOPTS_VALUE ? st->duration * av_q2d(st->time_base) : -1;
            s->audio_codec[s->n_audio] = par->codec_id;
            s->audio_rate[s->n_audio++] = par->sample_rate;
        }
    }
    AVPacket *pkt = av_packet_alloc();
    while (av_read_frame(ic, pkt) >= 0) {
        if (pkt->stream_index == vidx) {
            s->video_packets++;
            s->video_hash = fnv(s->video_hash, pkt->data, pkt->size);
            double t = pkt->pts * av_q2d(ic->streams[vidx]->time_base);
            if (s->video_packets == 1)
                s->video_t0 = t;
            s->video_pts_sum += t - s->video_t0;
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    avformat_close_input(&ic);
}

/* Dubs the test video into name and checks the result. lead: priming
 * samples of our track that a reader does not trim: 0 for MP4 and MOV
 * (an edit list), 1024 for Matroska, which has no place for AAC's encoder
 * delay; the muxer then shifts every stream by the longest priming
 * (shift, seconds), so sync is kept. */
static void dub(const char *name, int keep_audio, size_t lead, double shift)
{
    size_t n = RATE * 3 / 2;
    float *x = tone(n, RATE, TONE, 0.5, 0, 0);
    char p[4096];
    kk_mux_params mp = kk_mux_default_params();
    mp.keep_audio = keep_audio;
    kk_error err;
    kk_status st = kk_mux_video(video, path(p, name), x, n, RATE, &mp, &err);
    if (st != KK_OK)
        print_message("%s\n", err.msg);
    assert_int_equal(st, KK_OK);
    stream_summary in, out;
    summarize(video, &in);
    summarize(p, &out);
    /* the video, packet for packet, at the same times */
    assert_int_equal(out.n_video, 1);
    assert_int_equal(out.video_codec, in.video_codec);
    assert_int_equal(out.width, in.width);
    assert_int_equal(out.height, in.height);
    assert_int_equal(out.video_packets, in.video_packets);
    assert_int_equal(out.video_packets, 50);
    assert_int_equal(out.extradata_size, in.extradata_size);
    assert_memory_equal(out.extradata, in.extradata, (size_t)in.extradata_size);
    assert_true(out.video_hash == in.video_hash);
    assert_true(fabs(out.video_pts_sum - in.video_pts_sum) < 0.01);
    assert_true(fabs(out.video_t0 - in.video_t0 - shift) < 0.001);
    /* our track: AAC at 48 kHz, after the original audio when that is kept */
    assert_int_equal(out.n_audio, keep_audio ? 2 : 1);
    assert_int_equal(out.audio_codec[keep_audio], AV_CODEC_ID_AAC);
    assert_int_equal(out.audio_rate[keep_audio], 48000);
    if (!lead) /* Matroska keeps no stream duration; the 2 s video pads the 1.5 s track */
        assert_true(fabs(out.audio_seconds[keep_audio] - 2.0) < 0.0001);
    float *y, *ref;
    size_t m, m_ref;
    int rate;
    assert_int_equal(kk_audio_decode(p, 0, &y, &m, &rate, &err), KK_OK); /* the first audio stream */
    assert_int_equal(rate, keep_audio ? 44100 : 48000);
    double f = peak_freq(y + 4096, 8192, rate);
    if (keep_audio) {
        assert_true(fabs(f - 1000) <= 5);
    } else {
        /* as long as the video at 48 kHz (exact where the priming is
         * trimmed: the track and silence after it) and the same sound, in
         * time */
        assert_int_equal(kk_resample(x, n, RATE, 48000, &ref, &m_ref, &err), KK_OK);
        double snr = snr_db(ref, y + lead, m_ref);
        print_message("dub %s: %zu samples back of %zu (+%zu priming), SNR %.1f dB\n", name, m, m_ref, lead, snr);
        assert_true(fabs(f - TONE) <= 5);
        assert_true(lead ? m >= 96000 + lead && m <= 96000 + lead + 1024 : m == 96000);
        assert_true(fabs(y[lead + m_ref + 2400]) < 0.01); /* the padding is silence */
        assert_true(snr > 20);
        free(ref);
    }
    free(y), free(x);
    assert_int_equal(count_tmp(), 0);
}

static void test_mux_replace(void **state)
{
    dub("dub.mp4", 0, 0, 0);
    dub("dub.mov", 0, 0, 0);
    dub("dub.mkv", 0, 1024, 1024 / 48000.0);
}

static void test_mux_keep_audio(void **state)
{
    dub("dub-keep.mp4", 1, 0, 0);
    dub("dub-keep.mkv", 1, 1024, 1024 / 44100.0); /* the original AAC's priming is the longer */
}

/* A track read through a kk_sample_io that records how it is read (and
 * fails from fail_at on, when set). */
typedef struct counting_io {
    const float *x;
    size_t reads, largest;
    uint64_t fail_at;
} counting_io;

static kk_status counting_read(void *user, uint64_t at, float *dst, size_t n, kk_error *err)
{
    counting_io *c = user;
    if (c->fail_at && at + n > c->fail_at)
        return kk_error_set(err, KK_ERR_IO, "the track's file: read failed at sample %llu", (unsigned long long)at);
    memcpy(dst, c->x + at, n * sizeof *dst);
    c->reads++;
    c->largest = n > c->largest ? n : c->largest;
    return KK_OK;
}

/* The dub made as the muxer goes (kk_mux_video_io): the track is read in
 * blocks, never whole, and with duck mixed over the video's own audio (a
 * 1 kHz tone decoded alongside) it sounds as the whole-signal path
 * (kk_duck_mix, then resampled) says; the tone is down under the speech
 * and back after it. A read error stops the dub and leaves no file. */
static void test_mux_streamed_duck(void **state)
{
    size_t n = RATE * 3 / 2, lead = RATE / 2;
    float *x = tone(n, RATE, TONE, 0.5, lead, RATE / 2); /* speech from 0.5 to 1.0 s */
    counting_io c = {.x = x};
    kk_sample_io io = {.read = counting_read, .user = &c};
    kk_mux_params mp = kk_mux_default_params();
    mp.mix = KK_MIX_DUCK;
    mp.duck.duck_db = -20;
    char p[4096];
    kk_error err;
    kk_status st = kk_mux_video_io(video, path(p, "dub-duck.mp4"), &io, n, RATE, &mp, &err);
    if (st != KK_OK)
        print_message("%s\n", err.msg);
    assert_int_equal(st, KK_OK);
    print_message("duck dub: %zu reads, the largest %zu samples of %zu\n", c.reads, c.largest, n);
    assert_true(c.reads >= 3);
    assert_true(c.largest <= 16384 + (size_t)(0.05 * RATE)); /* a block and the attack's lookahead */
    /* the whole-signal reference */
    float *orig, *mixed, *ref, *y;
    size_t n_orig, n_mixed, n_ref, m;
    int rate;
    assert_int_equal(kk_audio_decode(video, RATE, &orig, &n_orig, NULL, &err), KK_OK);
    assert_int_equal(kk_duck_mix(x, n, orig, n_orig, RATE, &mp.duck, &mixed, &n_mixed, &err), KK_OK);
    assert_int_equal(kk_resample(mixed, n_mixed, RATE, 48000, &ref, &n_ref, &err), KK_OK);
    assert_int_equal(kk_audio_decode(p, 0, &y, &m, &rate, &err), KK_OK);
    assert_int_equal(rate, 48000);
    assert_int_equal(m, 96000); /* as long as the video */
    double snr = snr_db(ref, y, n_ref < m ? n_ref : m);
    double under = power_at(y + 33600, 9600, 48000, 1000), after = power_at(y + 72000, 9600, 48000, 1000);
    print_message("duck dub: SNR %.1f dB against the whole-signal mix; the tone %.1f dB under the speech\n", snr,
                  10 * log10(under / after));
    assert_true(snr > 20);
    assert_true(10 * log10(under / after) < -15);
    free(orig), free(mixed), free(ref), free(y);
    /* a read error part way: that error, no file, no temporary file */
    counting_io bad = {.x = x, .fail_at = 20000};
    io.user = &bad;
    assert_int_equal(kk_mux_video_io(video, path(p, "dub-broken.mp4"), &io, n, RATE, &mp, &err), KK_ERR_IO);
    assert_non_null(strstr(err.msg, "read failed"));
    assert_false(exists(p));
    assert_int_equal(count_tmp(), 0);
    free(x);
}

/* kk_audio_decode_each hands out the samples kk_audio_decode gives, in
 * blocks; kk_media_probe reads what the test video holds. */
typedef struct {
    float *v;
    size_t n, calls;
    int rate;
} collected;

static int collect(void *user, const float *x, size_t n, int rate)
{
    collected *c = user;
    c->v = realloc(c->v, (c->n + n) * sizeof *c->v);
    memcpy(c->v + c->n, x, n * sizeof *x);
    c->n += n, c->calls++, c->rate = rate;
    return 0;
}

static int stop_at_once(void *user, const float *x, size_t n, int rate)
{
    (void)user, (void)x, (void)n, (void)rate;
    return 1;
}

static void test_decode_each_and_probe(void **state)
{
    float *whole;
    size_t n;
    int rate;
    kk_error err;
    assert_int_equal(kk_audio_decode(video, 0, &whole, &n, &rate, &err), KK_OK);
    collected c = {0};
    assert_int_equal(kk_audio_decode_each(video, collect, &c, &err), KK_OK);
    assert_int_equal(c.n, n);
    assert_int_equal(c.rate, rate);
    assert_true(c.calls >= 2); /* 88200 samples: in blocks */
    assert_memory_equal(c.v, whole, n * sizeof *whole);
    assert_int_equal(kk_audio_decode_each(video, stop_at_once, NULL, &err), KK_ERR_ABORTED);
    free(c.v), free(whole);
    kk_media_info mi;
    assert_int_equal(kk_media_probe(video, &mi, &err), KK_OK);
    assert_true(mi.has_video && mi.has_audio);
    assert_int_equal(mi.width, 160);
    assert_int_equal(mi.height, 120);
    assert_true(fabs(mi.video_s - 2.0) < 0.01);
    assert_non_null(strstr(mi.container, "mp4"));
    char p[4096];
    assert_int_equal(kk_media_probe(path(p, "no-such.mp4"), &mi, &err), KK_ERR_IO);
    assert_non_null(strstr(err.msg, "no-such.mp4"));
}

static int stop_now(void *user, double f) { return f >= 0.3; }

static void test_mux_failures(void **state)
{
    float x[4800] = {0};
    char p[4096], missing[4096];
    kk_mux_params mp = kk_mux_default_params();
    kk_error err;
    kk_status st = kk_mux_video(path(missing, "no-such-video.mp4"), path(p, "dub-missing.mp4"), x, 4800, RATE,
                                &mp, &err);
    assert_int_equal(st, KK_ERR_IO);
    assert_non_null(strstr(err.msg, missing));
    assert_false(exists(p));
    /* not a video: an audio file */
    char wav[4096];
    kk_export_params ep = params(KK_EXPORT_WAV16);
    assert_int_equal(kk_export_audio(path(wav, "novideo.wav"), x, 4800, RATE, &ep, &err), KK_OK);
    assert_int_equal(kk_mux_video(wav, p, x, 4800, RATE, &mp, &err), KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "video"));
    assert_false(exists(p));
    /* an unknown container, an empty track */
    assert_int_equal(kk_mux_video(video, path(p, "dub.avi"), x, 4800, RATE, &mp, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, ".mkv"));
    assert_int_equal(kk_mux_video(video, path(p, "dub-empty.mp4"), x, 0, RATE, &mp, &err), KK_ERR_ARG);
    mp.bitrate_kbps = 1000;
    assert_int_equal(kk_mux_video(video, p, x, 4800, RATE, &mp, &err), KK_ERR_ARG);
    /* stopped part way: no file, an existing one untouched */
    write_precious(path(p, "dub-stop.mp4"));
    mp = kk_mux_default_params();
    mp.progress = stop_now;
    assert_int_equal(kk_mux_video(video, p, x, 4800, RATE, &mp, &err), KK_ERR_ABORTED);
    assert_precious(p);
    assert_int_equal(count_tmp(), 0);
}

/* ------------------------------------------------------------------ */
/* WAV past 4 GiB: RF64                                                */

#define HOURS(h, rate) ((uint64_t)((h) * 3600.0 * (rate)))

/* The decision, on lengths no test could write: a WAV is RF64 exactly
 * when its data would pass RIFF's 32-bit sizes; other formats never. */
static void test_rf64_decision(void **state)
{
    assert_false(kk_export_needs_rf64(KK_EXPORT_WAV16, 0));
    assert_false(kk_export_needs_rf64(KK_EXPORT_WAV16, HOURS(10, RATE)));  /* 1.7 GB */
    assert_true(kk_export_needs_rf64(KK_EXPORT_WAV16, HOURS(30, RATE)));   /* 5.2 GB */
    assert_false(kk_export_needs_rf64(KK_EXPORT_WAV32, HOURS(10, RATE)));  /* 3.5 GB */
    assert_true(kk_export_needs_rf64(KK_EXPORT_WAV32, HOURS(12.5, RATE))); /* 4.3 GB */
    /* around the edge: a MiB under 4 GiB fits, 4 GiB of data does not */
    assert_false(kk_export_needs_rf64(KK_EXPORT_WAV16, (UINT32_MAX - (1u << 20)) / 2));
    assert_true(kk_export_needs_rf64(KK_EXPORT_WAV16, (uint64_t)UINT32_MAX / 2 + 1));
    assert_false(kk_export_needs_rf64(KK_EXPORT_WAV32, (UINT32_MAX - (1u << 20)) / 4));
    assert_true(kk_export_needs_rf64(KK_EXPORT_WAV32, (uint64_t)UINT32_MAX / 4 + 1));
    assert_true(kk_export_needs_rf64(KK_EXPORT_WAV16, UINT64_MAX));
    kk_export_format others[] = {KK_EXPORT_FLAC, KK_EXPORT_MP3, KK_EXPORT_M4A};
    for (size_t i = 0; i < 3; i++)
        assert_false(kk_export_needs_rf64(others[i], HOURS(1000, 48000)));
}

/* The first four bytes of a file. */
static void magic(const char *p, char out[5])
{
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    assert_int_equal(fread(out, 1, 4, f), 4);
    out[4] = '\0';
    fclose(f);
}

/* One short WAV through the writer, told to expect `expected` samples at
 * RATE (written at `rate`); returns its magic and checks that it decodes
 * to what was written. */
static void write_told(kk_export_format f, int rate, uint64_t expected, char got[5])
{
    size_t n = 1000;
    float *x = tone(n, RATE, TONE, 0.5, 0, 0);
    char p[4096];
    kk_export_params ep = params(f);
    ep.sample_rate = rate;
    ep.expected_samples = expected;
    kk_audio_writer *w;
    kk_error err;
    assert_int_equal(kk_audio_writer_open(&w, path(p, "told.wav"), RATE, &ep, &err), KK_OK);
    assert_int_equal(kk_audio_writer_write(w, x, n, &err), KK_OK);
    assert_int_equal(kk_audio_writer_commit(w, &err), KK_OK);
    magic(p, got);
    float *y;
    size_t m;
    int r;
    assert_int_equal(kk_audio_decode(p, 0, &y, &m, &r, &err), KK_OK);
    assert_int_equal(r, rate);
    if (rate == RATE) {
        assert_int_equal(m, n);
        assert_true(snr_db(x, y, n) > (f == KK_EXPORT_WAV32 ? 120 : 80));
    }
    free(x), free(y);
}

/* A writer told of a length past 4 GiB writes RF64 (read back here from a
 * short file: the header is what differs); one told nothing, or a length
 * that fits, writes a plain RIFF WAV; the length counts at the file's
 * rate (resampled 24 -> 48 kHz, 20 hours pass 4 GiB only at 48 kHz). */
static void test_rf64_written_when_told(void **state)
{
    char m[5];
    write_told(KK_EXPORT_WAV16, RATE, HOURS(30, RATE), m);
    assert_string_equal(m, "RF64");
    write_told(KK_EXPORT_WAV32, RATE, HOURS(13, RATE), m);
    assert_string_equal(m, "RF64");
    write_told(KK_EXPORT_WAV16, RATE, 0, m);
    assert_string_equal(m, "RIFF");
    write_told(KK_EXPORT_WAV16, RATE, HOURS(20, RATE), m);
    assert_string_equal(m, "RIFF");
    write_told(KK_EXPORT_WAV16, 48000, HOURS(20, RATE), m);
    assert_string_equal(m, "RF64");
    /* kk_export_audio knows the length: a short track stays RIFF */
    float *x = tone(2000, RATE, TONE, 0.5, 0, 0);
    char p[4096];
    kk_export_params ep = params(KK_EXPORT_WAV16);
    kk_error err;
    assert_int_equal(kk_export_audio(path(p, "plain.wav"), x, 2000, RATE, &ep, &err), KK_OK);
    magic(p, m);
    assert_string_equal(m, "RIFF");
    free(x);
    assert_int_equal(count_tmp(), 0);
}

int main(void)
{
    /* the library leaves FFmpeg's log to the program: this one wants only
     * errors among its test output (encoder statistics, probe notes) */
    av_log_set_level(AV_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_silent_ends),
        cmocka_unit_test(test_wav_float_and_clipping),
        cmocka_unit_test(test_mp3_modes),
        cmocka_unit_test(test_resample),
        cmocka_unit_test(test_resample_lengths),
        cmocka_unit_test(test_writer_pieces),
        cmocka_unit_test(test_rf64_decision),
        cmocka_unit_test(test_rf64_written_when_told),
        cmocka_unit_test(test_empty_track),
        cmocka_unit_test(test_short_tracks),
        cmocka_unit_test(test_abort),
        cmocka_unit_test(test_unwritable),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_mux_replace),
        cmocka_unit_test(test_mux_keep_audio),
        cmocka_unit_test(test_mux_streamed_duck),
        cmocka_unit_test(test_mux_failures),
        cmocka_unit_test(test_decode_each_and_probe),
    };
    return cmocka_run_group_tests(tests, make_video, NULL);
}
