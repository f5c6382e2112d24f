/*
 * dsp.c - see dsp.h. Owns what the renderer does to speech after the
 * engine: time-stretch and pitch shift through Rubber Band's C API
 * (offline: the whole clip is studied first, then processed), and
 * loudness normalisation through libebur128 with a look-ahead true-peak
 * limiter of our own.
 *
 * Threads. Every call builds its own Rubber Band stretcher and ebur128
 * meter. That is enough for Debian's Rubber Band 3.1.2, which is built
 * with its own FFT ("builtin": tables per FFT object, no shared planner)
 * rather than FFTW, whose planner would need a lock; its few
 * function-level statics are constants initialised once (thread-safe in
 * C++11). Mono input never starts Rubber Band's per-channel threads, and
 * we ask for none (OptionThreadingNever), so the result never depends on
 * scheduling. libebur128 1.2.6 is another matter: ebur128_init rewrites
 * file-scope statics (the gating constants) that adding frames and the
 * loudness queries read. The values are always the same, but it is a
 * data race all the same (helgrind shows it with two threads), so
 * ebur128_lock below, the one global here, lets an init run alone and
 * the rest of a measurement run alongside others.
 */
#include "dsp.h"

#include <ebur128.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <rubberband/rubberband-c.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Time-stretch and pitch shift                                            */
/* ---------------------------------------------------------------------- */

/*
 * Engine options: R3 ("finer"), offline, formants preserved (a shifted
 * voice keeps its vowel formants, so +12 semitones sounds higher rather
 * than like a cartoon), on the calling thread. Offline mode fixes the
 * pitch method, and R3 ignores the transient and detector options.
 *
 * Chosen by measurement against R2 ("faster") with the settings usually
 * suggested for speech (TransientsMixed + DetectorSoft, with and without
 * PhaseIndependent, WindowShort, TransientsSmooth, WindowLong) and
 * against R3 with WindowShort. Quality: log-spectral distance to the
 * exact answer on a synthetic voice (harmonics under moving formants,
 * gliding pitch, whose stretched or shifted version can be synthesised
 * directly) for ratios 0.5 .. 1.3 and shifts of +12 and -4 semitones,
 * and round trips (0.7 then 1/0.7, +5 then -5) on Kokoro speech. R3 was
 * better than the best R2 setting on every case (3.1 vs 4.4 dB at ratio
 * 0.5, 4.3 vs 6.3 dB at +12 semitones, 3.9 vs 5.0 dB on the 0.7 round
 * trip). It costs more CPU but little in absolute terms: per second of
 * 24 kHz speech, 0.025 s for a plain stretch (R2: 0.007 s) and 0.03 to
 * 0.045 s with a pitch shift (R2: 0.02 to 0.03 s), so about 40 times
 * faster than real time on one core. R3 with WindowShort measured the
 * same as R3 within the noise of these figures, at a third to a half of
 * its CPU; the standard window is kept for its finer low-frequency
 * resolution on deep voices, as the CPU saved would not be noticed next
 * to the speech engine.
 *
 * KK_DSP_RB_OPTIONS may be defined when compiling this file to try other
 * engine settings.
 */
#ifndef KK_DSP_RB_OPTIONS
#define KK_DSP_RB_OPTIONS                                                                                          \
    (RubberBandOptionProcessOffline | RubberBandOptionEngineFiner | RubberBandOptionFormantPreserved |             \
     RubberBandOptionThreadingNever)
#endif

/* Input is fed to process() in blocks of this many frames (and so
 * setMaxProcessSize): small enough that Rubber Band's buffers stay
 * small, large enough that the per-call overhead does not matter. */
#define BLOCK 4096

/* Rubber Band counts frames in unsigned int; keep n and n * 4 inside. */
#define MAX_FRAMES ((size_t)UINT_MAX / 8)

static int all_finite(const float *x, size_t n, size_t *bad)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) {
            *bad = i;
            return 0;
        }
    return 1;
}

kk_status kk_dsp_stretch(const float *in, size_t n, int rate, double time_ratio, double semitones, float **out,
                         size_t *n_out, kk_error *err)
{
    if (!out || !n_out)
        return kk_error_set(err, KK_ERR_ARG, "kk_dsp_stretch: out and n_out must not be NULL");
    *out = NULL;
    *n_out = 0;
    if (!in && n)
        return kk_error_set(err, KK_ERR_ARG, "kk_dsp_stretch: the input is NULL but %zu samples were promised", n);
    if (!(time_ratio >= 0.25 && time_ratio <= 4.0))
        return kk_error_set(err, KK_ERR_ARG, "time ratio %g is out of range: use 0.25 to 4 (1 keeps the duration)",
                            time_ratio);
    if (!(semitones >= -12.0 && semitones <= 12.0))
        return kk_error_set(err, KK_ERR_ARG, "pitch shift of %g semitones is out of range: use -12 to 12",
                            semitones);
    if (rate < 8000 || rate > 192000)
        return kk_error_set(err, KK_ERR_ARG, "sample rate %d Hz is out of range: use 8000 to 192000", rate);
    if (n > MAX_FRAMES)
        return kk_error_set(err, KK_ERR_ARG, "%zu samples is too long to stretch at once (at most %zu); split the "
                            "audio", n, MAX_FRAMES);
    size_t bad;
    if (!all_finite(in, n, &bad))
        return kk_error_set(err, KK_ERR_INPUT, "sample %zu of the audio to stretch is not a finite number",
                            bad);

    size_t want = (size_t)llround((double)n * time_ratio);
    /* one element more than needed, so that an empty result is still a
     * pointer the caller can free like any other */
    float *y = calloc(want + 1, sizeof *y);
    if (!y)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory for %zu stretched samples", want);
    if (time_ratio == 1.0 && semitones == 0.0) {
        if (n)
            memcpy(y, in, n * sizeof *y);
        *out = y;
        *n_out = n;
        return KK_OK;
    }
    if (!want) {
        *out = y;
        return KK_OK;
    }

    RubberBandState rb = rubberband_new((unsigned)rate, 1, KK_DSP_RB_OPTIONS, time_ratio,
                                        pow(2.0, semitones / 12.0));
    float *scratch = malloc(BLOCK * sizeof *scratch);
    if (!rb || !scratch) {
        if (rb)
            rubberband_delete(rb);
        free(scratch), free(y);
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory starting the time stretcher");
    }
    /* The exact input length lets offline mode produce the right output
     * length. It did so exactly in our tests, except for inputs of a few
     * ms, which come out short: the difference is padded or trimmed. */
    rubberband_set_expected_input_duration(rb, (unsigned)n);
    rubberband_set_max_process_size(rb, BLOCK);
    rubberband_study(rb, &in, (unsigned)n, 1);

    size_t got = 0;
    for (size_t pos = 0; pos < n;) {
        size_t len = n - pos < BLOCK ? n - pos : BLOCK;
        const float *p = in + pos;
        pos += len;
        rubberband_process(rb, &p, (unsigned)len, pos == n);
        /* Drain after every block: offline mode would otherwise grow its
         * output buffer to hold the whole result. After the final block
         * everything is available (no threads), and available() ends
         * with -1. */
        int avail;
        while ((avail = rubberband_available(rb)) > 0) {
            unsigned take = avail < BLOCK ? (unsigned)avail : BLOCK;
            float *dst = got + take <= want ? y + got : scratch;
            unsigned r = rubberband_retrieve(rb, &dst, take);
            if (!r)
                break;
            if (dst == scratch && got < want)
                memcpy(y + got, scratch, (want - got) * sizeof *y);
            got += r;
        }
    }
    rubberband_delete(rb);
    free(scratch);
    /* Samples past `want` were dropped above, and a short result keeps
     * the zeros calloc put there: the length is exactly round(n * r). */
    *out = y;
    *n_out = want;
    return KK_OK;
}

/* ---------------------------------------------------------------------- */
/* Loudness                                                                */
/* ---------------------------------------------------------------------- */

/* Absolute gate of EBU R128 / ITU-R BS.1770: below it is silence. */
#define GATE_LUFS (-70.0)

kk_loudness_params kk_loudness_default_params(void)
{
    return (kk_loudness_params){.target_lufs = -16.0, .true_peak_db = -1.0};
}

static kk_status check_audio(const float *samples, size_t n, int rate, const char *what, kk_error *err)
{
    if (!samples && n)
        return kk_error_set(err, KK_ERR_ARG, "%s: the audio is NULL but %zu samples were promised", what, n);
    if (rate < 8000 || rate > 192000)
        return kk_error_set(err, KK_ERR_ARG, "%s: sample rate %d Hz is out of range: use 8000 to 192000", what,
                            rate);
    size_t bad;
    if (!all_finite(samples, n, &bad))
        return kk_error_set(err, KK_ERR_INPUT, "%s: sample %zu is not a finite number", what, bad);
    return KK_OK;
}

/* Write side: ebur128_init, which writes libebur128's statics. Read
 * side: everything else that reads them (see the top of the file). */
static pthread_rwlock_t ebur128_lock = PTHREAD_RWLOCK_INITIALIZER;

/* Loudness and true peak (linear) of x through libebur128. A clip
 * shorter than one 400 ms gating block has no integrated loudness; it is
 * measured over its whole length instead (its one "block"), with the
 * same absolute gate, so that a short cue still gets normalised. */
static kk_status measure(const float *x, size_t n, int rate, double *lufs, double *peak, kk_error *err)
{
    *lufs = -HUGE_VAL;
    *peak = 0.0;
    if (!n)
        return KK_OK;
    /* One channel, weighted as LEFT (the library's default): mono speech
     * is measured as it is, not as dual mono. */
    pthread_rwlock_wrlock(&ebur128_lock);
    ebur128_state *st = ebur128_init(1, (unsigned long)rate, EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK);
    pthread_rwlock_unlock(&ebur128_lock);
    if (!st)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory starting the loudness meter");
    pthread_rwlock_rdlock(&ebur128_lock);
    int rc = ebur128_add_frames_float(st, x, n);
    double l = -HUGE_VAL, tp = 0.0;
    if (rc == EBUR128_SUCCESS)
        rc = ebur128_loudness_global(st, &l);
    unsigned long ms = (unsigned long)((double)n * 1000.0 / rate);
    if (rc == EBUR128_SUCCESS && ms < 400 && ms > 0) {
        rc = ebur128_loudness_window(st, ms, &l);
        if (rc == EBUR128_SUCCESS && l < GATE_LUFS)
            l = -HUGE_VAL;
    }
    if (rc == EBUR128_SUCCESS)
        rc = ebur128_true_peak(st, 0, &tp);
    pthread_rwlock_unlock(&ebur128_lock);
    ebur128_destroy(&st);
    if (rc != EBUR128_SUCCESS)
        return kk_error_set(err, KK_ERR_NOMEM, "the loudness meter failed (libebur128 error %d)", rc);
    *lufs = l;
    *peak = tp;
    return KK_OK;
}

static double to_db(double lin) { return lin > 0.0 ? 20.0 * log10(lin) : -HUGE_VAL; }

kk_status kk_loudness_measure(const float *samples, size_t n, int rate, double *lufs, double *true_peak_db,
                              kk_error *err)
{
    if (!lufs && !true_peak_db)
        return kk_error_set(err, KK_ERR_ARG, "kk_loudness_measure: nothing to return (lufs and true_peak_db are "
                            "both NULL)");
    kk_status st = check_audio(samples, n, rate, "loudness measurement", err);
    if (st != KK_OK)
        return st;
    double l, tp;
    if ((st = measure(samples, n, rate, &l, &tp, err)) != KK_OK)
        return st;
    if (lufs)
        *lufs = l;
    if (true_peak_db)
        *true_peak_db = to_db(tp);
    return KK_OK;
}

/*
 * The limiter. Offline, so "look-ahead" is simply looking at the future
 * samples. For each sample i, need[i] is the largest gain that keeps the
 * peak around i (the sample and the 4x oversampled points on both sides
 * of it) under the ceiling. The gain curve is then built so that it
 * never exceeds need[] anywhere and never jumps:
 *   1. hold:    h[i] = min(need[i .. i+A])      (reduction starts A early)
 *   2. release: r[i] = h[i] when h falls, else eases up towards h with a
 *               one-pole of RELEASE_S (r <= h everywhere)
 *   3. attack:  two moving averages of A/2+1 samples each turn every
 *               step down into an S-shaped ramp A samples long.
 * Each output of step 3 averages r[i-A .. i], all of which are <= need[i]
 * by step 1, so the curve stays under need[] while its slope stays
 * bounded: no clicks. ebur128 (a different interpolator than ours) then
 * checks the result; if it still reads over, the ceiling is lowered by
 * the excess and the limiter runs again.
 */
#define ATTACK_S 0.005
#define RELEASE_S 0.080
#define LIMIT_TRIES 6
#define MAKEUP_ROUNDS 4
#define MAX_MAKEUP_DB 2.0

/* Windowed-sinc interpolation of the points i + k/4 (k = 1..3) between
 * x[i] and x[i+1], from TAPS samples around them. */
#define TAPS 16
#define PI 3.14159265358979323846

static void tp_kernel(double h[3][TAPS])
{
    for (int k = 1; k <= 3; k++)
        for (int j = 0; j < TAPS; j++) {
            double t = (j - (TAPS / 2 - 1)) - k / 4.0; /* x[i + j - 7] sits t samples from the point */
            double w = 0.5 + 0.5 * cos(PI * t / (TAPS / 2)); /* Hann over +-8 samples */
            h[k - 1][j] = w * sin(PI * t) / (PI * t);
        }
}

/* peak[i]: the largest magnitude at i and in the 4x oversampled
 * intervals on both sides of it. */
static void peak_envelope(const float *x, size_t n, double *peak)
{
    double h[3][TAPS];
    tp_kernel(h);
    for (size_t i = 0; i < n; i++)
        peak[i] = fabs(x[i]);
    for (size_t i = 0; i + 1 < n; i++) {
        double m = 0.0;
        for (int k = 0; k < 3; k++) {
            double s = 0.0;
            for (int j = 0; j < TAPS; j++) {
                ptrdiff_t idx = (ptrdiff_t)i + j - (TAPS / 2 - 1);
                if (idx >= 0 && (size_t)idx < n)
                    s += h[k][j] * x[idx];
            }
            if (fabs(s) > m)
                m = fabs(s);
        }
        if (m > peak[i])
            peak[i] = m;
        if (m > peak[i + 1])
            peak[i + 1] = m;
    }
}

/* Moving average over the last len values of v[0..m), in place; values
 * before the start count as v[0]. */
static void moving_average(double *v, size_t m, size_t len, double *tmp)
{
    double sum = v[0] * (double)len;
    for (size_t i = 0; i < m; i++) {
        sum += v[i] - (i >= len ? v[i - len] : v[0]);
        tmp[i] = sum / (double)len;
    }
    memcpy(v, tmp, m * sizeof *v);
}

/* Applies to y (n samples) the smooth gain that keeps peak[] * gain
 * under ceil; returns the smallest gain used. g and tmp hold n + A
 * doubles, q n + A indices. */
static double limit(float *y, size_t n, const double *peak, double ceil, size_t A, double rel, double *g,
                    double *tmp, size_t *q)
{
    size_t m = n + A; /* position A + i is sample i; the first A come before the audio */
    for (size_t k = 0; k < m; k++)
        g[k] = k >= A && peak[k - A] > ceil ? ceil / peak[k - A] : 1.0;
    /* step 1: minimum over [k, k + A], right to left with a deque of
     * positions whose need rises from front to back (O(m)); past the
     * end the need is 1, which changes no minimum */
    size_t qh = 0, qt = 0;
    for (size_t k = m; k-- > 0;) {
        while (qt > qh && g[q[qt - 1]] >= g[k])
            qt--;
        q[qt++] = k;
        if (q[qh] > k + A)
            qh++;
        tmp[k] = g[q[qh]];
    }
    memcpy(g, tmp, m * sizeof *g);
    /* step 2: release */
    double prev = 1.0;
    for (size_t k = 0; k < m; k++) {
        if (g[k] < prev)
            prev = g[k];
        else
            prev += (g[k] - prev) * rel;
        g[k] = prev;
    }
    /* step 3: attack ramps; together the two averages span A + 1
     * positions, [p - A, p], all of them at or after position 0 for any
     * audio sample p >= A */
    moving_average(g, m, A / 2 + 1, tmp);
    moving_average(g, m, A - A / 2 + 1, tmp);
    double lo = 1.0;
    for (size_t i = 0; i < n; i++) {
        double gi = g[A + i];
        double need = peak[i] > ceil ? ceil / peak[i] : 1.0;
        if (gi > need) /* only rounding in the running sums can do this */
            gi = need;
        if (gi < lo)
            lo = gi;
        y[i] = (float)(y[i] * gi);
    }
    return lo;
}

/* Scratch for the limiter, sized for n samples. */
typedef struct limiter {
    size_t n, A;
    double rel;
    double *env, *g, *tmp;
    size_t *q;
} limiter;

static int limiter_init(limiter *L, const float *x, size_t n, int rate)
{
    L->n = n;
    L->A = (size_t)lround(ATTACK_S * rate);
    L->rel = 1.0 - exp(-1.0 / (RELEASE_S * rate));
    size_t m = n + L->A;
    L->env = malloc(n * sizeof *L->env);
    L->g = malloc(m * sizeof *L->g);
    L->tmp = malloc(m * sizeof *L->tmp);
    L->q = malloc(m * sizeof *L->q);
    if (!L->env || !L->g || !L->tmp || !L->q)
        return 0;
    peak_envelope(x, n, L->env);
    return 1;
}

static void limiter_free(limiter *L) { free(L->env), free(L->g), free(L->tmp), free(L->q); }

/* samples = orig * gain, limited if need be so that ebur128 reads no
 * true peak over ceil; in_peak is orig's true peak. L's envelope is
 * orig's, so the ceiling is scaled back by the gain rather than the
 * envelope recomputed. Sets *lo to the smallest limiter gain (1 when
 * nothing needed limiting), and *lufs and *out_peak to the result's
 * loudness and true peak. */
static kk_status gain_and_limit(const float *orig, float *samples, size_t n, int rate, double gain, double in_peak,
                                double ceil, limiter *L, double *lo, double *lufs, double *out_peak, kk_error *err)
{
    kk_status st;
    *lo = 1.0;
    for (size_t i = 0; i < n; i++)
        samples[i] = (float)(orig[i] * gain);
    if (in_peak * gain <= ceil) /* the gain alone keeps the peaks under */
        return measure(samples, n, rate, lufs, out_peak, err);
    /* aim a little under the limit: our interpolator and ebur128's
     * differ by a few thousandths of a dB */
    double aim = ceil * pow(10.0, -0.02 / 20.0);
    for (int t = 0; t < LIMIT_TRIES; t++) {
        if (t)
            for (size_t i = 0; i < n; i++)
                samples[i] = (float)(orig[i] * gain);
        *lo = limit(samples, n, L->env, aim / gain, L->A, L->rel, L->g, L->tmp, L->q);
        if ((st = measure(samples, n, rate, lufs, out_peak, err)) != KK_OK || *out_peak <= ceil)
            return st;
        aim *= ceil / *out_peak * pow(10.0, -0.01 / 20.0);
    }
    /* Still over after every try (not seen in the tests): a constant gain
     * scales the true peak exactly. */
    double s = ceil / *out_peak * pow(10.0, -0.01 / 20.0);
    for (size_t i = 0; i < n; i++)
        samples[i] = (float)(samples[i] * s);
    *lo *= s;
    return measure(samples, n, rate, lufs, out_peak, err);
}

kk_status kk_loudness_normalize(float *samples, size_t n, int rate, const kk_loudness_params *p,
                                kk_loudness_report *report, kk_error *err)
{
    kk_loudness_params def = kk_loudness_default_params();
    if (!p)
        p = &def;
    if (!(p->target_lufs >= -70.0 && p->target_lufs <= 0.0))
        return kk_error_set(err, KK_ERR_ARG, "loudness target %g LUFS is out of range: use -70 to 0 (-16 is usual "
                            "for speech, -23 for broadcast)", p->target_lufs);
    if (!(p->true_peak_db >= -20.0 && p->true_peak_db <= 0.0))
        return kk_error_set(err, KK_ERR_ARG, "true-peak limit %g dBTP is out of range: use -20 to 0 (-1 is usual)",
                            p->true_peak_db);
    kk_status st = check_audio(samples, n, rate, "loudness normalisation", err);
    if (st != KK_OK)
        return st;

    double lufs, peak;
    if ((st = measure(samples, n, rate, &lufs, &peak, err)) != KK_OK)
        return st;
    kk_loudness_report rep = {.input_lufs = lufs, .gain_db = 0.0, .limited_db = 0.0, .output_lufs = lufs,
                              .output_peak_db = to_db(peak)};
    if (!(lufs >= GATE_LUFS)) {
        /* silence: nothing to measure, so nothing to aim at */
        rep.input_lufs = rep.output_lufs = -HUGE_VAL;
        if (report)
            *report = rep;
        return KK_OK;
    }
    double ceil = pow(10.0, p->true_peak_db / 20.0), gain_db = p->target_lufs - lufs;
    if (gain_db > KK_LOUDNESS_MAX_GAIN_DB)
        gain_db = KK_LOUDNESS_MAX_GAIN_DB;

    /* The original is kept aside so that a failure leaves the samples as
     * they were and each round starts from it. */
    float *orig = malloc(n * sizeof *orig);
    limiter L = {0};
    int limits = peak * pow(10.0, gain_db / 20.0) > ceil; /* else one round of plain gain */
    if (!orig || (limits && !limiter_init(&L, samples, n, rate))) {
        free(orig), limiter_free(&L);
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory for loudness normalisation (%zu samples)", n);
    }
    memcpy(orig, samples, n * sizeof *orig);
    /* The limiter takes some loudness with the peaks (a few tenths of a
     * LU on speech at -16 LUFS): measure what is left and raise the gain
     * by the shortfall, a few times, but by no more than MAX_MAKEUP_DB in
     * all: beyond that the loudness would be bought by squashing the
     * speech, and the report tells the caller instead. Without limiting
     * the first round lands on the target and is the only one. */
    double makeup = 0.0;
    for (int round = 0; round < MAKEUP_ROUNDS; round++) {
        double g_db = fmin(gain_db + makeup, KK_LOUDNESS_MAX_GAIN_DB), lo, l, tp;
        st = gain_and_limit(orig, samples, n, rate, pow(10.0, g_db / 20.0), peak, ceil, &L, &lo, &l, &tp, err);
        if (st != KK_OK)
            break;
        rep.gain_db = g_db;
        rep.limited_db = lo < 1.0 ? -to_db(lo) : 0.0;
        rep.output_lufs = l;
        rep.output_peak_db = to_db(tp);
        double more = fmin(makeup + (p->target_lufs - l), MAX_MAKEUP_DB);
        if (lo == 1.0 || more - makeup < 0.05 || g_db >= KK_LOUDNESS_MAX_GAIN_DB)
            break;
        makeup = more;
    }
    if (st != KK_OK) /* in place, but never half done */
        memcpy(samples, orig, n * sizeof *orig);
    free(orig), limiter_free(&L);
    if (st != KK_OK)
        return st;
    if (report)
        *report = rep;
    return KK_OK;
}
