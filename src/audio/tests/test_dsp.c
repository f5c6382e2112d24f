/* test_dsp.c - time-stretch and pitch shift (lengths, pitch, energy,
 * determinism across runs and threads, arguments) and loudness
 * normalisation (target reached, true peak limited without clicks,
 * silence untouched, gain cap, short clips), and ducking an original
 * under a dub (kk_duck_mix: levels, attack/release, lengths, arguments). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dsp.h"

#define RATE 24000
#define PI 3.14159265358979323846

/* ---- signals ---- */

/* A speech-like harmonic tone: f0 with 12 partials falling 6 dB per
 * octave (a voice's source) and a fade in and out. */
static float *harmonic(double f0, size_t n, double amp)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / RATE, v = 0.0;
        for (int k = 1; k <= 12; k++)
            v += sin(2 * PI * k * f0 * t + 0.7 * k) / k;
        double fade = fmin(1.0, fmin((double)i, (double)(n - 1 - i)) / (0.02 * RATE));
        x[i] = (float)(amp * fade * v);
    }
    return x;
}

static uint32_t rng = 1;
static double white(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (rng >> 8) / 8388608.0 - 1.0; /* -1 .. 1 */
}

/* Noise whose spectrum falls with frequency: white noise through three
 * one-pole low-passes (about 60 Hz, 600 Hz, 6 kHz) summed, so roughly
 * -3 dB per octave over the speech band. */
static float *pinkish(size_t n, double amp, uint32_t seed)
{
    float *x = malloc(n * sizeof *x);
    double s1 = 0, s2 = 0, s3 = 0;
    rng = seed;
    for (size_t i = 0; i < n; i++) {
        double w = white();
        s1 += (w - s1) * 0.0156;
        s2 += (w - s2) * 0.145;
        s3 += (w - s3) * 0.79;
        x[i] = (float)(amp * (3.0 * s1 + 1.0 * s2 + 0.35 * s3));
    }
    return x;
}

static double rms(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return sqrt(s / (double)n);
}

/* Fundamental frequency of a periodic stretch of x around its middle:
 * the first autocorrelation peak (between 1 kHz and 60 Hz) that reaches
 * 90 % of the highest, refined with a parabola. */
static double f0_of(const float *x, size_t n)
{
    size_t len = RATE / 5, start = n / 2 - len / 2 - RATE / 120;
    int lo = RATE / 1000, hi = RATE / 60;
    assert_true(n >= len + hi && n / 2 > len);
    static double r[RATE / 60 + 2];
    double best = 0.0;
    for (int lag = lo - 1; lag <= hi + 1; lag++) {
        double s = 0.0, e1 = 0.0, e2 = 0.0;
        for (size_t i = start; i < start + len; i++) {
            s += (double)x[i] * x[i + lag];
            e1 += (double)x[i] * x[i];
            e2 += (double)x[i + lag] * x[i + lag];
        }
        r[lag] = s / sqrt(e1 * e2 + 1e-30);
        if (lag >= lo && lag <= hi && r[lag] > best)
            best = r[lag];
    }
    for (int lag = lo; lag <= hi; lag++)
        if (r[lag] >= 0.9 * best && r[lag] >= r[lag - 1] && r[lag] >= r[lag + 1]) {
            double a = r[lag - 1], b = r[lag], c = r[lag + 1], d = a - 2 * b + c;
            double off = d != 0.0 ? 0.5 * (a - c) / d : 0.0;
            return RATE / (lag + off);
        }
    return 0.0;
}

static float *stretch(const float *x, size_t n, double ratio, double semis, size_t *n_out)
{
    float *y = NULL;
    kk_error err;
    assert_int_equal(kk_dsp_stretch(x, n, RATE, ratio, semis, &y, n_out, &err), KK_OK);
    assert_non_null(y);
    return y;
}

/* ---- stretch ---- */

static void test_stretch_lengths(void **state)
{
    const double ratios[] = {0.25, 0.5, 0.7, 0.8333, 0.97, 1.0, 1.37, 2.0, 4.0};
    const size_t lens[] = {1, 7, 333, 12345};
    float *x = harmonic(180.0, 12345, 0.2);
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++)
        for (size_t ri = 0; ri < sizeof ratios / sizeof *ratios; ri++) {
            size_t n = lens[li], got;
            double semis = ratios[ri] == 1.0 ? 3.0 : 0.0; /* ratio 1 alone is a copy */
            float *y = stretch(x, n, ratios[ri], semis, &got);
            assert_int_equal(got, (size_t)llround((double)n * ratios[ri]));
            for (size_t i = 0; i < got; i++)
                assert_true(isfinite(y[i]));
            free(y);
        }
    free(x);
}

static void test_stretch_keeps_pitch(void **state)
{
    size_t n = RATE, got;
    float *x = harmonic(220.0, n, 0.2);
    assert_true(fabs(f0_of(x, n) - 220.0) < 0.5); /* the estimator itself */
    const double ratios[] = {0.5, 0.75, 1.5};
    for (size_t i = 0; i < 3; i++) {
        float *y = stretch(x, n, ratios[i], 0.0, &got);
        double f = f0_of(y, got);
        assert_true(fabs(f - 220.0) < 220.0 * 0.01);
        free(y);
    }
    free(x);
}

static void test_pitch_shift(void **state)
{
    size_t n = RATE, got;
    float *x = harmonic(220.0, n, 0.2);
    const double semis[] = {12.0, -2.0, -12.0, 5.0};
    const double want[] = {440.0, 196.0, 110.0, 293.66};
    for (size_t i = 0; i < 4; i++) {
        float *y = stretch(x, n, 1.0, semis[i], &got);
        assert_int_equal(got, n);
        double f = f0_of(y, got);
        assert_true(fabs(f - want[i]) < want[i] * 0.01);
        free(y);
    }
    /* both at once: shorter and lower */
    float *y = stretch(x, n, 0.6, -2.0, &got);
    assert_true(fabs(f0_of(y, got) - 196.0) < 196.0 * 0.01);
    free(y);
    free(x);
}

/* Time where the smoothed level first reaches a tenth of its highest. */
static double onset_s(const float *x, size_t n)
{
    double mx = 0.0, e = 0.0;
    double *env = malloc(n * sizeof *env);
    for (size_t i = 0; i < n; i++) {
        e += (fabs(x[i]) - e) * 0.01;
        env[i] = e;
        mx = fmax(mx, e);
    }
    size_t i = 0;
    while (env[i] < 0.1 * mx)
        i++;
    free(env);
    return (double)i / RATE;
}

/* The renderer fits speech to cues: what starts at 0.4 s must start at
 * 0.4 * ratio after a stretch, not late by the stretcher's latency. */
static void test_stretch_timing(void **state)
{
    size_t n = RATE, got;
    float *x = calloc(n, sizeof *x), *burst = harmonic(200.0, RATE * 3 / 10, 0.3);
    memcpy(x + RATE * 4 / 10, burst, RATE * 3 / 10 * sizeof *x);
    double t0 = onset_s(x, n);
    const double ratios[] = {0.5, 0.8, 1.0, 2.0};
    for (size_t i = 0; i < 4; i++) {
        float *y = stretch(x, n, ratios[i], ratios[i] == 1.0 ? -5.0 : 0.0, &got);
        assert_true(fabs(onset_s(y, got) - t0 * ratios[i]) < 0.01);
        free(y);
    }
    free(x), free(burst);
}

static void test_stretch_energy(void **state)
{
    size_t n = RATE, got;
    float *x = harmonic(150.0, n, 0.2);
    double e = rms(x, n);
    const double ratios[] = {0.5, 0.8, 1.0, 1.0, 1.6};
    const double semis[] = {0.0, 0.0, 12.0, -12.0, 0.0};
    for (size_t i = 0; i < 5; i++) {
        float *y = stretch(x, n, ratios[i], semis[i], &got);
        double db = 20 * log10(rms(y, got) / e);
        /* a plain stretch keeps the level; a shift moves partials under
         * the preserved envelope and may change it a little */
        assert_true(fabs(db) < (semis[i] != 0.0 ? 3.0 : 1.5));
        free(y);
    }
    free(x);
}

static void test_identity_and_empty(void **state)
{
    size_t n = 1000, got = 99;
    float *x = pinkish(n, 0.1, 3);
    float *y = stretch(x, n, 1.0, 0.0, &got);
    assert_int_equal(got, n);
    assert_ptr_not_equal(x, y);
    assert_memory_equal(x, y, n * sizeof *x);
    free(y);
    y = stretch(x, 0, 0.5, 4.0, &got);
    assert_int_equal(got, 0);
    free(y);
    y = stretch(NULL, 0, 1.0, 0.0, &got);
    assert_int_equal(got, 0);
    free(y);
    free(x);
}

struct job {
    const float *x;
    size_t n;
    double ratio, semis;
    float *y;
    size_t ny;
    float *loud; /* normalised copy of x */
};

static void *run_job(void *arg)
{
    struct job *j = arg;
    kk_error err;
    if (kk_dsp_stretch(j->x, j->n, RATE, j->ratio, j->semis, &j->y, &j->ny, &err) != KK_OK)
        j->y = NULL;
    j->loud = malloc(j->n * sizeof *j->loud);
    memcpy(j->loud, j->x, j->n * sizeof *j->loud);
    kk_loudness_params p = kk_loudness_default_params();
    if (kk_loudness_normalize(j->loud, j->n, RATE, &p, NULL, &err) != KK_OK) {
        free(j->loud);
        j->loud = NULL;
    }
    return NULL;
}

static void test_deterministic(void **state)
{
    size_t n = RATE / 2;
    float *x = harmonic(200.0, n, 0.3), *w = pinkish(n, 0.3, 9);
    for (size_t i = 0; i < n; i++)
        x[i] += w[i];
    struct job ref = {x, n, 0.7, 3.0, NULL, 0, NULL}, again = ref;
    run_job(&ref);
    run_job(&again);
    assert_non_null(ref.y);
    assert_non_null(ref.loud);
    assert_int_equal(again.ny, ref.ny);
    assert_memory_equal(again.y, ref.y, ref.ny * sizeof *ref.y);
    assert_memory_equal(again.loud, ref.loud, n * sizeof *ref.loud);
    /* two threads at once, each on its own buffers */
    struct job t[2] = {{x, n, 0.7, 3.0, NULL, 0, NULL}, {x, n, 0.7, 3.0, NULL, 0, NULL}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, run_job, &t[i]), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_non_null(t[i].y);
        assert_non_null(t[i].loud);
        assert_int_equal(t[i].ny, ref.ny);
        assert_memory_equal(t[i].y, ref.y, ref.ny * sizeof *ref.y);
        assert_memory_equal(t[i].loud, ref.loud, n * sizeof *ref.loud);
        free(t[i].y), free(t[i].loud);
    }
    free(ref.y), free(ref.loud), free(again.y), free(again.loud);
    free(x), free(w);
}

static void test_stretch_bad_args(void **state)
{
    float x[100] = {0}, *y = (float *)1;
    size_t ny = 5;
    kk_error err;
    assert_int_equal(kk_dsp_stretch(x, 100, RATE, 0.2, 0, &y, &ny, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "0.25 to 4"));
    assert_null(y);
    assert_int_equal(ny, 0);
    assert_int_equal(kk_dsp_stretch(x, 100, RATE, 4.5, 0, &y, &ny, &err), KK_ERR_ARG);
    assert_int_equal(kk_dsp_stretch(x, 100, RATE, NAN, 0, &y, &ny, &err), KK_ERR_ARG);
    assert_int_equal(kk_dsp_stretch(x, 100, RATE, 1.0, 12.5, &y, &ny, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "-12 to 12"));
    assert_int_equal(kk_dsp_stretch(x, 100, RATE, 1.0, -13, &y, &ny, &err), KK_ERR_ARG);
    assert_int_equal(kk_dsp_stretch(x, 100, 7999, 1.0, 0, &y, &ny, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "8000 to 192000"));
    assert_int_equal(kk_dsp_stretch(x, 100, 192001, 1.0, 0, &y, &ny, &err), KK_ERR_ARG);
    assert_int_equal(kk_dsp_stretch(NULL, 100, RATE, 1.0, 0, &y, &ny, &err), KK_ERR_ARG);
    assert_int_equal(kk_dsp_stretch(x, 100, RATE, 1.0, 0, NULL, &ny, &err), KK_ERR_ARG);
    assert_int_equal(kk_dsp_stretch(x, 100, RATE, 1.0, 0, &y, NULL, &err), KK_ERR_ARG);
    x[50] = NAN;
    assert_int_equal(kk_dsp_stretch(x, 100, RATE, 0.5, 0, &y, &ny, &err), KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "sample 50"));
    assert_null(y);
    /* the ranges' ends are accepted */
    x[50] = 0.0f;
    const double ok[][2] = {{0.25, -12}, {4.0, 12}};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(kk_dsp_stretch(x, 100, 8000, ok[i][0], ok[i][1], &y, &ny, &err), KK_OK);
        free(y);
    }
}

/* ---- loudness ---- */

static double lufs_of(const float *x, size_t n, double *tp)
{
    double l, p;
    kk_error err;
    assert_int_equal(kk_loudness_measure(x, n, RATE, &l, &p, &err), KK_OK);
    if (tp)
        *tp = p;
    return l;
}

static void test_measure_sine(void **state)
{
    /* BS.1770: the K filter's gain near 1 kHz and the -0.691 offset
     * cancel, so a sine of peak A reads its RMS level, 20 log10(A) - 3.01 */
    size_t n = 2 * RATE;
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(0.5 * sin(2 * PI * 997.0 * i / RATE));
    double tp, l = lufs_of(x, n, &tp);
    double want = 20 * log10(0.5) - 3.0103;
    assert_true(fabs(l - want) < 0.1);
    assert_true(fabs(tp - 20 * log10(0.5)) < 0.05);
    /* a clip shorter than one 400 ms block is measured over its length */
    double short_l = lufs_of(x, RATE / 4, NULL);
    assert_true(fabs(short_l - l) < 0.3);
    kk_error err;
    assert_int_equal(kk_loudness_measure(x, n, RATE, &l, NULL, &err), KK_OK);
    assert_int_equal(kk_loudness_measure(x, n, RATE, NULL, &tp, &err), KK_OK);
    free(x);
}

static void check_normalized(float *x, size_t n, double target)
{
    kk_loudness_params p = kk_loudness_default_params();
    p.target_lufs = target;
    kk_loudness_report r;
    kk_error err;
    double before = lufs_of(x, n, NULL);
    assert_int_equal(kk_loudness_normalize(x, n, RATE, &p, &r, &err), KK_OK);
    double tp, after = lufs_of(x, n, &tp);
    assert_true(fabs(after - target) < 0.5);
    assert_true(tp <= -1.0 + 0.05);
    /* the report agrees with an independent measurement */
    assert_true(fabs(r.input_lufs - before) < 1e-9);
    assert_true(fabs(r.output_lufs - after) < 1e-9);
    assert_true(fabs(r.output_peak_db - tp) < 1e-9);
    assert_true(r.limited_db >= 0.0);
    if (r.limited_db == 0.0)
        assert_true(fabs(r.gain_db - (target - before)) < 1e-9);
    else /* made up for what the limiter took */
        assert_true(r.gain_db > target - before);
}

/* A buzzy drone: 100 Hz with 40 equal partials in cosine phase (a pulse
 * train, crest factor 21 dB) in syllables. Its peaks come every 10 ms,
 * so at -16 LUFS the limiter holds the gain 6 dB down throughout and the
 * loudness goes with it: the make-up gain stops at 2 dB and the report
 * says where the loudness ended. */
static void test_normalize_peaky(void **state)
{
    size_t n = 3 * RATE;
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        double v = 0.0, ph = (double)(i % (RATE / 4)) / (RATE / 4);
        for (int k = 1; k <= 40; k++)
            v += cos(2 * PI * 100.0 * k * i / RATE);
        x[i] = (float)(0.002 * v * (ph < 0.8 ? sin(PI * ph / 0.8) : 0.0));
    }
    double before = lufs_of(x, n, NULL);
    kk_loudness_report r;
    kk_error err;
    assert_int_equal(kk_loudness_normalize(x, n, RATE, NULL, &r, &err), KK_OK);
    assert_true(fabs(r.input_lufs - before) < 1e-9);
    assert_true(fabs(r.gain_db - (-16.0 - before + 2.0)) < 1e-9);
    assert_true(r.limited_db > 5.0);
    assert_true(r.output_lufs < -17.0);
    double tp;
    assert_true(fabs(lufs_of(x, n, &tp) - r.output_lufs) < 1e-9);
    assert_true(fabs(tp - r.output_peak_db) < 1e-9);
    assert_true(tp <= -1.0 + 1e-9);
    free(x);
}

/* A track read and written through callbacks (one on disk, a long
 * audiobook): the same bits as in memory, for the limiter case above and a
 * plain gain, in the io's blocks; a failing read is returned and nothing is
 * written. */
typedef struct split_io {
    const float *orig; /* reads */
    float *out;        /* writes */
    size_t n, reads, writes, fail_at_read;
} split_io;

static kk_status split_read(void *user, uint64_t at, float *dst, size_t n, kk_error *err)
{
    split_io *s = user;
    assert_true(at + n <= s->n);
    if (++s->reads == s->fail_at_read)
        return kk_error_set(err, KK_ERR_IO, "test: read %zu fails", s->reads);
    memcpy(dst, s->orig + at, n * sizeof *dst);
    return KK_OK;
}

static kk_status split_write(void *user, uint64_t at, const float *src, size_t n, kk_error *err)
{
    (void)err;
    split_io *s = user;
    assert_true(at + n <= s->n);
    s->writes++;
    memcpy(s->out + at, src, n * sizeof *src);
    return KK_OK;
}

static void test_normalize_io_same_bits(void **state)
{
    size_t n = 3 * RATE + 777;
    for (int peaky = 0; peaky < 2; peaky++) {
        float *x = malloc(n * sizeof *x), *orig = malloc(n * sizeof *orig), *out = calloc(n, sizeof *out);
        for (size_t i = 0; i < n; i++) {
            double v = 0.0, ph = (double)(i % (RATE / 4)) / (RATE / 4);
            for (int k = 1; k <= (peaky ? 40 : 3); k++)
                v += cos(2 * PI * 100.0 * k * i / RATE);
            x[i] = (float)(0.002 * v * (ph < 0.8 ? sin(PI * ph / 0.8) : 0.0));
        }
        memcpy(orig, x, n * sizeof *x);
        kk_loudness_report r1, r2;
        kk_error err;
        assert_int_equal(kk_loudness_normalize(x, n, RATE, NULL, &r1, &err), KK_OK);
        split_io s = {.orig = orig, .out = out, .n = n};
        kk_sample_io io = {.read = split_read, .write = split_write, .user = &s};
        assert_int_equal(kk_loudness_normalize_io(&io, n, RATE, NULL, &r2, &err), KK_OK);
        assert_memory_equal(x, out, n * sizeof *x);
        assert_true(r1.gain_db == r2.gain_db && r1.limited_db == r2.limited_db && r1.output_lufs == r2.output_lufs);
        assert_true(peaky ? r1.limited_db > 5.0 : r1.limited_db == 0.0);
        assert_true(s.writes > 0);
        /* a read failing in the second pass: its error, nothing written */
        memset(out, 0, n * sizeof *out);
        s = (split_io){.orig = orig, .out = out, .n = n, .fail_at_read = n / 4096 + 3};
        assert_int_equal(kk_loudness_normalize_io(&io, n, RATE, NULL, &r2, &err), KK_ERR_IO);
        assert_non_null(strstr(err.msg, "fails"));
        assert_int_equal(s.writes, 0);
        free(x), free(orig), free(out);
    }
}

static void test_normalize_noise_and_tone(void **state)
{
    size_t n = 3 * RATE;
    float *x = pinkish(n, 0.02, 5); /* quiet: about -35 LUFS */
    check_normalized(x, n, -16.0);
    free(x);
    x = pinkish(n, 0.5, 6); /* loud: needs cutting */
    check_normalized(x, n, -16.0);
    free(x);
    x = harmonic(220.0, n, 0.05);
    check_normalized(x, n, -16.0);
    free(x);
    x = harmonic(220.0, n, 0.05);
    check_normalized(x, n, -23.0);
    free(x);
    /* a short cue (300 ms) still reaches the target */
    x = harmonic(180.0, RATE * 3 / 10, 0.05);
    check_normalized(x, RATE * 3 / 10, -16.0);
    free(x);
}

static void test_limiter(void **state)
{
    /* quiet speech-like noise (syllables 200 ms on, 50 ms off, -38 LUFS)
     * with sharp clicks: reaching -16 LUFS puts the clicks far over
     * -1 dBTP. (The clicks carry a small part of the energy: were they
     * most of it, the loudness would go with them.) */
    size_t n = 4 * RATE;
    float *x = pinkish(n, 0.05, 11);
    for (size_t i = 0; i < n; i++)
        x[i] *= (float)(i % (RATE / 4) < RATE / 5 ? sin(PI * (i % (RATE / 4)) / (RATE / 5)) : 0.0);
    const size_t clicks[] = {RATE / 3, RATE + 400, 2 * RATE + 5000, n - 30};
    double quiet = lufs_of(x, n, NULL);
    for (size_t c = 0; c < sizeof clicks / sizeof *clicks; c++)
        x[clicks[c]] = c % 2 ? -0.5f : 0.5f;
    float *orig = malloc(n * sizeof *orig);
    memcpy(orig, x, n * sizeof *x);
    double tp0, with_clicks = lufs_of(x, n, &tp0);
    assert_true(with_clicks - quiet < 0.5);
    kk_loudness_params p = kk_loudness_default_params();
    kk_loudness_report r;
    kk_error err;
    assert_int_equal(kk_loudness_normalize(x, n, RATE, &p, &r, &err), KK_OK);
    double tp, after = lufs_of(x, n, &tp);
    assert_true(tp <= -1.0 + 0.05);
    /* the limiter took some loudness with the clicks, the make-up gain
     * gave it back */
    assert_true(fabs(after - (-16.0)) < 0.25);
    /* what is lost is the clicks' share and a little of the noise around
     * them while the gain recovers, not the rest */
    assert_true(after > quiet + r.gain_db - 0.6);
    assert_true(fabs(after - r.output_lufs) < 1e-9);
    /* the clicks needed a large cut, and the report says so */
    assert_true(tp0 + r.gain_db > 10.0);
    assert_true(r.limited_db > tp0 + r.gain_db + 1.0 - 0.5);
    assert_true(fabs(r.output_peak_db - tp) < 1e-9);

    /* The gain the limiter applied, y / (G x), moves smoothly: a clipper
     * would jump from 1 to a small fraction and back within a sample.
     * Over 5 ms of attack a 20 dB cut changes it by under 2 % a sample. */
    double G = pow(10.0, r.gain_db / 20.0), prev_g = -1.0, min_g = 1.0;
    size_t prev_i = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(orig[i]) < 1e-3)
            continue;
        double g = x[i] / (G * orig[i]);
        assert_true(g <= 1.0 + 1e-5);
        if (g < min_g)
            min_g = g;
        if (prev_g >= 0.0)
            assert_true(fabs(g - prev_g) <= 0.02 * (double)(i - prev_i) + 1e-5);
        prev_g = g, prev_i = i;
    }
    assert_true(min_g < 0.2);
    /* the gain comes down before a click, not at it (look-ahead) */
    size_t c = clicks[1] - RATE / 1000; /* 1 ms before, inside a syllable */
    while (fabs(orig[c]) < 1e-3)
        c--;
    assert_true(x[c] / (G * orig[c]) < 0.9);
    /* and no sample step is larger than the gained signal's own steps
     * nearby (within 10 ms) */
    size_t w = RATE / 100;
    for (size_t s = 1; s + w <= n; s += w) {
        double dy = 0.0, dx = 0.0;
        for (size_t i = s; i < s + w; i++) {
            dy = fmax(dy, fabs((double)x[i] - x[i - 1]));
            dx = fmax(dx, fabs((double)orig[i] - orig[i - 1]));
        }
        assert_true(dy <= G * dx * 1.05 + 1e-6);
    }
    free(orig), free(x);
}

static void test_silence_untouched(void **state)
{
    size_t n = RATE;
    float *x = calloc(n, sizeof *x);
    kk_loudness_report r;
    kk_error err;
    assert_int_equal(kk_loudness_normalize(x, n, RATE, NULL, &r, &err), KK_OK);
    assert_true(r.input_lufs == -HUGE_VAL && r.output_lufs == -HUGE_VAL);
    assert_true(r.gain_db == 0.0 && r.limited_db == 0.0);
    for (size_t i = 0; i < n; i++)
        assert_true(x[i] == 0.0f);
    free(x);
    /* noise under the -70 LUFS gate is silence too, left bit for bit */
    x = pinkish(n, 2e-5, 4);
    float *orig = malloc(n * sizeof *orig);
    memcpy(orig, x, n * sizeof *x);
    assert_true(lufs_of(x, n, NULL) < -70.0);
    assert_int_equal(kk_loudness_normalize(x, n, RATE, NULL, &r, &err), KK_OK);
    assert_memory_equal(x, orig, n * sizeof *x);
    assert_true(r.input_lufs == -HUGE_VAL && r.gain_db == 0.0);
    free(x), free(orig);
    /* nothing at all */
    assert_int_equal(kk_loudness_normalize(NULL, 0, RATE, NULL, &r, &err), KK_OK);
    assert_true(r.input_lufs == -HUGE_VAL);
}

static void test_gain_cap(void **state)
{
    /* about -68 LUFS: +52 dB would be needed, KK_LOUDNESS_MAX_GAIN_DB is
     * applied and the result stays under the target by the difference */
    size_t n = 2 * RATE;
    float *x = pinkish(n, 0.001, 8);
    double before = lufs_of(x, n, NULL);
    assert_true(before > -70.0 && before < -16.0 - KK_LOUDNESS_MAX_GAIN_DB - 2.0);
    kk_loudness_report r;
    kk_error err;
    assert_int_equal(kk_loudness_normalize(x, n, RATE, NULL, &r, &err), KK_OK);
    assert_true(r.gain_db == KK_LOUDNESS_MAX_GAIN_DB);
    assert_true(fabs(lufs_of(x, n, NULL) - (before + KK_LOUDNESS_MAX_GAIN_DB)) < 0.1);
    free(x);
}

static void test_loudness_bad_args(void **state)
{
    float x[RATE / 2];
    for (size_t i = 0; i < RATE / 2; i++)
        x[i] = (float)(0.1 * sin(i * 0.1));
    kk_error err;
    kk_loudness_params p = kk_loudness_default_params();
    assert_true(p.target_lufs == -16.0 && p.true_peak_db == -1.0);
    double l, tp;
    assert_int_equal(kk_loudness_measure(NULL, 10, RATE, &l, &tp, &err), KK_ERR_ARG);
    assert_int_equal(kk_loudness_measure(x, 10, 1000, &l, &tp, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "8000 to 192000"));
    assert_int_equal(kk_loudness_measure(x, 10, RATE, NULL, NULL, &err), KK_ERR_ARG);
    assert_int_equal(kk_loudness_normalize(NULL, 10, RATE, &p, NULL, &err), KK_ERR_ARG);
    assert_int_equal(kk_loudness_normalize(x, RATE / 2, 200000, &p, NULL, &err), KK_ERR_ARG);
    p.target_lufs = 3.0;
    assert_int_equal(kk_loudness_normalize(x, RATE / 2, RATE, &p, NULL, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "-70 to 0"));
    p = kk_loudness_default_params();
    p.true_peak_db = NAN;
    assert_int_equal(kk_loudness_normalize(x, RATE / 2, RATE, &p, NULL, &err), KK_ERR_ARG);
    p = kk_loudness_default_params();
    float keep = x[7];
    x[7] = INFINITY;
    assert_int_equal(kk_loudness_normalize(x, RATE / 2, RATE, &p, NULL, &err), KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "sample 7"));
    x[7] = keep;
    assert_true(x[100] == (float)(0.1 * sin(100 * 0.1))); /* untouched on error */
}

/* ---- ducking ---- */

/* RMS of x[a, b). */
static double win_rms(const float *x, size_t a, size_t b)
{
    double s = 0;
    for (size_t i = a; i < b; i++)
        s += (double)x[i] * x[i];
    return b > a ? sqrt(s / (double)(b - a)) : 0.0;
}

/* A 4 s original (a 0.5 sine at 220 Hz) under a dub that speaks from 1 s
 * to 2 s (a 0.3 harmonic tone): the original is down by duck_db inside the
 * speech (the detector looks ahead: already at 1 s), back to full level
 * after the release, and the output is as long as the longer input. */
static void test_duck_levels(void **state)
{
    (void)state;
    size_t n = 4 * RATE, n_dub = (size_t)(2.5 * RATE);
    float *orig = malloc(n * sizeof *orig), *dub = calloc(n_dub, sizeof *dub);
    for (size_t i = 0; i < n; i++)
        orig[i] = (float)(0.5 * sin(2 * PI * 220 * i / RATE));
    float *speech = harmonic(150, RATE, 0.3);
    memcpy(dub + RATE, speech, RATE * sizeof *dub);
    kk_duck_params p = kk_duck_default_params();
    p.duck_db = -20;
    float *out, *orig_part;
    size_t n_out;
    kk_error err;
    assert_int_equal(kk_duck_mix(dub, n_dub, orig, n, RATE, &p, &out, &n_out, &err), KK_OK);
    assert_int_equal(n_out, n);
    /* Before the speech (less the attack's look-ahead): untouched. */
    assert_true(fabs(win_rms(out, 0, (size_t)(0.9 * RATE)) - win_rms(orig, 0, (size_t)(0.9 * RATE))) < 1e-6);
    /* The original's part inside the speech: out - dub, 20 dB down (+-1). */
    orig_part = malloc(n * sizeof *orig_part);
    for (size_t i = 0; i < n; i++)
        orig_part[i] = out[i] - (i < n_dub ? dub[i] : 0.0f);
    double in_db = 20 * log10(win_rms(orig_part, RATE + RATE / 50, 2 * RATE - RATE / 50) / win_rms(orig, RATE, 2 * RATE));
    assert_true(in_db < -19.0 && in_db > -21.0);
    /* After hold (200 ms) and release (300 ms): back up. */
    double after_db = 20 * log10(win_rms(orig_part, (size_t)(2.6 * RATE), n) / win_rms(orig, (size_t)(2.6 * RATE), n));
    assert_true(after_db > -0.5);
    /* The dub is on top, whole: the speech window is louder than the
     * ducked original by far. */
    assert_true(win_rms(out, RATE, 2 * RATE) > 3 * win_rms(orig_part, RATE, 2 * RATE));
    free(out);

    /* A slower attack: the gain is still on its way down 20 ms into the
     * look-ahead, lower than full, higher than the floor. */
    p.attack_ms = 400;
    assert_int_equal(kk_duck_mix(dub, n_dub, orig, n, RATE, &p, &out, &n_out, &err), KK_OK);
    double g_early = win_rms(out, (size_t)(0.65 * RATE), (size_t)(0.7 * RATE)) / win_rms(orig, (size_t)(0.65 * RATE), (size_t)(0.7 * RATE));
    assert_true(g_early < 0.9 && g_early > 0.1);
    free(out);
    /* No ducking at 0 dB: the sum. */
    p = kk_duck_default_params();
    p.duck_db = 0;
    assert_int_equal(kk_duck_mix(dub, n_dub, orig, n, RATE, &p, &out, &n_out, &err), KK_OK);
    for (size_t i = 0; i < n; i += 997)
        assert_true(fabsf(out[i] - fmaxf(-1.f, fminf(1.f, orig[i] + (i < n_dub ? dub[i] : 0.f)))) < 1e-6f);
    free(out);
    free(orig), free(dub), free(speech), free(orig_part);
}

static void test_duck_lengths_and_args(void **state)
{
    (void)state;
    float dub[100] = {0}, orig[50] = {0}, *out;
    size_t n_out;
    kk_error err;
    /* A dub longer than the original: the original is silence after it. */
    dub[80] = 0.9f;
    assert_int_equal(kk_duck_mix(dub, 100, orig, 50, 8000, NULL, &out, &n_out, &err), KK_OK);
    assert_int_equal(n_out, 100);
    assert_true(out[80] == 0.9f);
    free(out);
    assert_int_equal(kk_duck_mix(NULL, 0, NULL, 0, RATE, NULL, &out, &n_out, &err), KK_OK);
    assert_int_equal(n_out, 0);
    free(out);
    assert_int_equal(kk_duck_mix(NULL, 10, orig, 50, RATE, NULL, &out, &n_out, &err), KK_ERR_ARG);
    kk_duck_params p = kk_duck_default_params();
    p.duck_db = 6;
    assert_int_equal(kk_duck_mix(dub, 100, orig, 50, RATE, &p, &out, &n_out, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "duck_db"));
    p = kk_duck_default_params();
    p.release_ms = NAN;
    assert_int_equal(kk_duck_mix(dub, 100, orig, 50, RATE, &p, &out, &n_out, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "release"));
    assert_int_equal(kk_duck_mix(dub, 100, orig, 50, 100, NULL, &out, &n_out, &err), KK_ERR_ARG);
    orig[3] = NAN;
    assert_int_equal(kk_duck_mix(dub, 100, orig, 50, RATE, NULL, &out, &n_out, &err), KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "sample 3"));
    assert_null(out);
}

/* kk_ducker a block at a time (blocks of odd sizes, some shorter than the
 * lookahead, the dub ending part way) gives kk_duck_mix's samples bit for
 * bit; a NaN is named by its place in the whole track. */
static void test_ducker_blocks(void **state)
{
    (void)state;
    size_t n = 3 * RATE, n_dub = 2 * RATE + 777;
    float *orig = malloc(n * sizeof *orig), *dub = calloc(n_dub, sizeof *dub);
    for (size_t i = 0; i < n; i++)
        orig[i] = (float)(0.6 * sin(2 * PI * 220 * i / RATE));
    float *speech = harmonic(150, RATE, 0.4);
    memcpy(dub + RATE / 2, speech, RATE * sizeof *dub);
    for (size_t i = 2 * RATE; i < n_dub; i++) /* a burst right at the dub's end */
        dub[i] = 0.5f;
    kk_duck_params p = kk_duck_default_params();
    p.attack_ms = 120, p.hold_ms = 80;
    float *whole, *blocks = malloc(n * sizeof *blocks);
    size_t n_out;
    kk_error err;
    assert_int_equal(kk_duck_mix(dub, n_dub, orig, n, RATE, &p, &whole, &n_out, &err), KK_OK);
    assert_int_equal(n_out, n);
    kk_ducker d;
    assert_int_equal(kk_ducker_init(&d, RATE, &p, &err), KK_OK);
    size_t ahead = kk_ducker_lookahead(&d);
    assert_int_equal(ahead, (size_t)(0.12 * RATE));
    static const size_t sizes[] = {1, 1000, 3, 4096, 2879, 17, 10000};
    for (size_t at = 0, k = 0; at < n; k++) {
        size_t b = sizes[k % 7] < n - at ? sizes[k % 7] : n - at;
        size_t dn = at < n_dub ? n_dub - at : 0;
        dn = dn < b + ahead ? dn : b + ahead;
        assert_int_equal(kk_ducker_run(&d, dub + (at < n_dub ? at : 0), dn, orig + at, b, blocks + at, b, &err), KK_OK);
        at += b;
    }
    assert_memory_equal(blocks, whole, n * sizeof *whole);
    /* a NaN in the third block is named by its place in the track */
    orig[5000] = NAN;
    assert_int_equal(kk_ducker_init(&d, RATE, &p, &err), KK_OK);
    assert_int_equal(kk_ducker_run(&d, dub, 4000 + ahead, orig, 4000, blocks, 4000, &err), KK_OK);
    assert_int_equal(kk_ducker_run(&d, dub + 4000, 4000 + ahead, orig + 4000, 4000, blocks, 4000, &err), KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "sample 5000"));
    assert_int_equal(kk_ducker_init(&d, 100, &p, &err), KK_ERR_ARG);
    free(orig), free(dub), free(speech), free(whole), free(blocks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stretch_lengths),
        cmocka_unit_test(test_stretch_keeps_pitch),
        cmocka_unit_test(test_pitch_shift),
        cmocka_unit_test(test_stretch_timing),
        cmocka_unit_test(test_stretch_energy),
        cmocka_unit_test(test_identity_and_empty),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_stretch_bad_args),
        cmocka_unit_test(test_measure_sine),
        cmocka_unit_test(test_normalize_noise_and_tone),
        cmocka_unit_test(test_normalize_peaky),
        cmocka_unit_test(test_limiter),
        cmocka_unit_test(test_normalize_io_same_bits),
        cmocka_unit_test(test_silence_untouched),
        cmocka_unit_test(test_gain_cap),
        cmocka_unit_test(test_loudness_bad_args),
        cmocka_unit_test(test_duck_levels),
        cmocka_unit_test(test_duck_lengths_and_args),
        cmocka_unit_test(test_ducker_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
