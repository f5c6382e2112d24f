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
#include <inttypes.h>
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

/* The meter: libebur128 fed block by block, so that a track read in
 * pieces (kk_loudness_normalize_io) is measured exactly as one in memory:
 * every measurement here goes through it with the same blocks. One
 * channel, weighted as LEFT (the library's default): mono speech is
 * measured as it is, not as dual mono. */
typedef struct meter {
    ebur128_state *st;
    uint64_t n;
    int rate;
} meter;

static kk_status meter_open(meter *m, int rate, kk_error *err)
{
    pthread_rwlock_wrlock(&ebur128_lock);
    m->st = ebur128_init(1, (unsigned long)rate, EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK);
    pthread_rwlock_unlock(&ebur128_lock);
    m->n = 0, m->rate = rate;
    return m->st ? KK_OK : kk_error_set(err, KK_ERR_NOMEM, "out of memory starting the loudness meter");
}

static kk_status meter_add(meter *m, const float *x, size_t n, kk_error *err)
{
    if (!n)
        return KK_OK;
    pthread_rwlock_rdlock(&ebur128_lock);
    int rc = ebur128_add_frames_float(m->st, x, n);
    pthread_rwlock_unlock(&ebur128_lock);
    m->n += n;
    return rc == EBUR128_SUCCESS ? KK_OK
                                 : kk_error_set(err, KK_ERR_NOMEM, "the loudness meter failed (libebur128 error %d)", rc);
}

/* Loudness and true peak (linear) of what was added; closes the meter. A
 * clip shorter than one 400 ms gating block has no integrated loudness;
 * it is measured over its whole length instead (its one "block"), with
 * the same absolute gate, so that a short cue still gets normalised. */
static kk_status meter_result(meter *m, double *lufs, double *peak, kk_error *err)
{
    double l = -HUGE_VAL, tp = 0.0;
    int rc = EBUR128_SUCCESS;
    if (m->n) {
        pthread_rwlock_rdlock(&ebur128_lock);
        rc = ebur128_loudness_global(m->st, &l);
        unsigned long ms = (unsigned long)((double)m->n * 1000.0 / m->rate);
        if (rc == EBUR128_SUCCESS && ms < 400 && ms > 0) {
            rc = ebur128_loudness_window(m->st, ms, &l);
            if (rc == EBUR128_SUCCESS && l < GATE_LUFS)
                l = -HUGE_VAL;
        }
        if (rc == EBUR128_SUCCESS)
            rc = ebur128_true_peak(m->st, 0, &tp);
        pthread_rwlock_unlock(&ebur128_lock);
    }
    ebur128_destroy(&m->st);
    if (rc != EBUR128_SUCCESS)
        return kk_error_set(err, KK_ERR_NOMEM, "the loudness meter failed (libebur128 error %d)", rc);
    *lufs = l;
    *peak = tp;
    return KK_OK;
}

static void meter_close(meter *m)
{
    if (m->st)
        ebur128_destroy(&m->st);
}

/* Samples per read, write and meter call. */
#define BLOCK 4096

static kk_status measure(const float *x, size_t n, int rate, double *lufs, double *peak, kk_error *err)
{
    *lufs = -HUGE_VAL;
    *peak = 0.0;
    if (!n)
        return KK_OK;
    meter m;
    kk_status st = meter_open(&m, rate, err);
    for (size_t i = 0; st == KK_OK && i < n; i += BLOCK)
        st = meter_add(&m, x + i, n - i < BLOCK ? n - i : BLOCK, err);
    if (st != KK_OK) {
        meter_close(&m);
        return st;
    }
    return meter_result(&m, lufs, peak, err);
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

/* ---- one pass over the track ---- */

/* What a pass makes of the original x: y = x * gain (as a float), then,
 * when limit, times the limiter's gain curve for the ceiling `ceil` on x's
 * own peak envelope (the caller scales the ceiling back by the gain rather
 * than recomputing the envelope), then times scale when it is not 1. Every
 * step rounds to float where the in-memory version did, so that a pass
 * over a file and one over memory give the same bits. */
typedef struct pass_params {
    double gain;
    int limit;
    double ceil;
    double scale;
} pass_params;

/* The original samples around the pass's position: x[base, base + len). */
typedef struct window {
    const kk_sample_io *io;
    uint64_t n, base;
    size_t len, cap;
    float *x;
} window;

/* Makes x[.. upto) available (upto <= n), dropping what lies before keep. */
static kk_status window_fill(window *w, uint64_t keep, uint64_t upto, kk_error *err)
{
    if (upto > w->n)
        upto = w->n;
    while (w->base + w->len < upto) {
        if (keep > w->base) {
            size_t drop = (size_t)(keep - w->base < w->len ? keep - w->base : w->len);
            memmove(w->x, w->x + drop, (w->len - drop) * sizeof *w->x);
            w->base += drop, w->len -= drop;
        }
        uint64_t at = w->base + w->len;
        size_t k = w->cap - w->len;
        if (k > w->n - at)
            k = (size_t)(w->n - at);
        if (k > BLOCK)
            k = BLOCK;
        kk_status st = w->io->read(w->io->user, at, w->x + w->len, k, err);
        if (st != KK_OK)
            return st;
        size_t bad;
        if (!all_finite(w->x + w->len, k, &bad))
            return kk_error_set(err, KK_ERR_INPUT, "loudness normalisation: sample %llu is not a finite number",
                                (unsigned long long)(at + bad));
        w->len += k;
    }
    return KK_OK;
}

static inline double wx(const window *w, uint64_t i) { return w->x[i - w->base]; }

/* The output side of a pass: blocks to the meter and/or back to the io. */
typedef struct sink {
    const kk_sample_io *io;
    meter *m;
    int write;
    uint64_t at;
    size_t len;
    float y[BLOCK];
} sink;

static kk_status sink_flush(sink *o, kk_error *err)
{
    kk_status st = KK_OK;
    if (o->m)
        st = meter_add(o->m, o->y, o->len, err);
    if (st == KK_OK && o->write && o->len)
        st = o->io->write(o->io->user, o->at, o->y, o->len, err);
    o->at += o->len;
    o->len = 0;
    return st;
}

static inline kk_status sink_put(sink *o, float y, kk_error *err)
{
    o->y[o->len++] = y;
    return o->len == BLOCK ? sink_flush(o, err) : KK_OK;
}

/* Running mean over the last len values, those before the first counting
 * as the first (the in-memory limiter's moving average, step by step). */
typedef struct mavg {
    size_t len, k;
    double sum, first;
    double *ring;
} mavg;

static double mavg_step(mavg *a, double v)
{
    if (a->k == 0)
        a->first = v, a->sum = v * (double)a->len;
    size_t slot = a->k % a->len;
    a->sum += v - (a->k >= a->len ? a->ring[slot] : a->first);
    a->ring[slot] = v;
    a->k++;
    return a->sum / (double)a->len;
}

/* One pass: reads the original, writes y to the meter m (may be NULL) and,
 * when write, back through io (the write lags the read: in place is fine).
 * *lo: the smallest limiter gain applied (1 when none).
 *
 * The limiter (pp->limit), one position k = 0 .. n + A - 1 at a time, with
 * A samples of look-ahead (position A + i is sample i):
 *   peak[j]  the largest magnitude at x[j] and at the 4x oversampled points
 *            on both sides of it (windowed sinc over TAPS samples);
 *   need[j]  ceil / peak[j] where the peak is over the ceiling, else 1;
 *   1. hold:    h[k] = min(need[k - A .. k])  (a sliding minimum: the
 *               reduction starts A samples before the peak it is for);
 *   2. release: r[k] = h[k] when h falls, else eases up towards h with a
 *               one-pole of RELEASE_S (r <= h everywhere);
 *   3. attack:  two moving averages of A/2+1 samples each turn every step
 *               down into an S-shaped ramp A samples long.
 * Each output of step 3 averages r over A + 1 positions, all of which are
 * <= need[i] by step 1, so the curve stays under need[] while its slope
 * stays bounded: no clicks. Memory: O(A + BLOCK), whatever n is. */
static kk_status run_pass(const kk_sample_io *io, uint64_t n, int rate, const pass_params *pp, meter *m, int write,
                          double *lo, kk_error *err)
{
    *lo = 1.0;
    size_t A = (size_t)lround(ATTACK_S * rate);
    double rel = 1.0 - exp(-1.0 / (RELEASE_S * rate));
    window w = {.io = io, .n = n, .cap = A + 2 * TAPS + 2 * BLOCK};
    sink *o = malloc(sizeof *o);
    w.x = malloc(w.cap * sizeof *w.x);
    /* the hold's deque (positions whose need rises from front to back) and
     * the peaks of the look-ahead, both rings of R >= A + 2 entries */
    size_t R = 1;
    while (R < A + 2)
        R *= 2;
    uint64_t *qj = malloc(R * sizeof *qj);
    double *qv = malloc(R * sizeof *qv), *pk = malloc(R * sizeof *pk);
    mavg a1 = {.len = A / 2 + 1}, a2 = {.len = A - A / 2 + 1};
    a1.ring = malloc(a1.len * sizeof *a1.ring);
    a2.ring = malloc(a2.len * sizeof *a2.ring);
    kk_status st = KK_OK;
    if (!o || !w.x || !qj || !qv || !pk || !a1.ring || !a2.ring)
        st = kk_error_set(err, KK_ERR_NOMEM, "out of memory for loudness normalisation");
    if (st == KK_OK)
        *o = (sink){.io = io, .m = m, .write = write};
    if (st == KK_OK && !pp->limit) {
        for (uint64_t b = 0; st == KK_OK && b < n; b += BLOCK) {
            uint64_t e = n - b < BLOCK ? n : b + BLOCK;
            if ((st = window_fill(&w, b, e, err)) != KK_OK)
                break;
            for (uint64_t i = b; st == KK_OK && i < e; i++) {
                float y = (float)(wx(&w, i) * pp->gain);
                if (pp->scale != 1.0)
                    y = (float)(y * pp->scale);
                st = sink_put(o, y, err);
            }
        }
    } else if (st == KK_OK) {
        double h[3][TAPS];
        tp_kernel(h);
        size_t qh = 0, qt = 0; /* deque [qh, qt) in ring positions */
        double prev = 1.0, m_prev = 0.0;
        uint64_t m_end = n + A;
        for (uint64_t k = 0; st == KK_OK && k < m_end; k++) {
            if (k < n) {
                /* peak[k]: |x[k]| and the oversampled points of the
                 * intervals (k-1, k) and (k, k+1) */
                uint64_t keep = k >= A + TAPS ? k - A - TAPS : 0;
                if ((st = window_fill(&w, keep, k + TAPS / 2 + 1, err)) != KK_OK)
                    break;
                double pv = fabs(wx(&w, k)), mk = 0.0;
                if (k + 1 < n) /* the interval (k, k + 1) */
                    for (int kk = 0; kk < 3; kk++) {
                        double sacc = 0.0;
                        for (int j = 0; j < TAPS; j++) {
                            int64_t idx = (int64_t)k + j - (TAPS / 2 - 1);
                            if (idx >= 0 && (uint64_t)idx < n)
                                sacc += h[kk][j] * wx(&w, (uint64_t)idx);
                        }
                        if (fabs(sacc) > mk)
                            mk = fabs(sacc);
                    }
                if (mk > pv)
                    pv = mk;
                if (k > 0 && m_prev > pv) /* the interval (k - 1, k) */
                    pv = m_prev;
                m_prev = mk;
                pk[k % R] = pv;
                double need = pv > pp->ceil ? pp->ceil / pv : 1.0;
                while (qt > qh && qv[(qt - 1) % R] >= need)
                    qt--;
                qj[qt % R] = k, qv[qt % R] = need;
                qt++;
            }
            while (qt > qh && qj[qh % R] + A < k)
                qh++;
            double g = qt > qh ? qv[qh % R] : 1.0;
            if (g < prev)
                prev = g;
            else
                prev += (g - prev) * rel;
            g = mavg_step(&a2, mavg_step(&a1, prev));
            if (k < A)
                continue;
            uint64_t i = k - A;
            double pv = pk[i % R];
            double need = pv > pp->ceil ? pp->ceil / pv : 1.0;
            if (g > need) /* only rounding in the running sums can do this */
                g = need;
            if (g < *lo)
                *lo = g;
            float y = (float)(wx(&w, i) * pp->gain);
            y = (float)(y * g);
            if (pp->scale != 1.0)
                y = (float)(y * pp->scale);
            st = sink_put(o, y, err);
        }
    }
    if (st == KK_OK)
        st = sink_flush(o, err);
    free(o), free(w.x), free(qj), free(qv), free(pk), free(a1.ring), free(a2.ring);
    return st;
}

/* A pass that measures its output. */
static kk_status measured_pass(const kk_sample_io *io, uint64_t n, int rate, const pass_params *pp, double *lo,
                               double *lufs, double *peak, kk_error *err)
{
    meter m;
    kk_status st = meter_open(&m, rate, err);
    if (st == KK_OK)
        st = run_pass(io, n, rate, pp, &m, 0, lo, err);
    if (st != KK_OK) {
        meter_close(&m);
        return st;
    }
    return meter_result(&m, lufs, peak, err);
}

/* The pass parameters that take the original (true peak in_peak) times
 * gain under ceil as ebur128 reads it, limited if need be: *pp, with *lo
 * the smallest limiter gain (1 when nothing needed limiting), and *lufs
 * and *out_peak the result's loudness and true peak. */
static kk_status gain_and_limit(const kk_sample_io *io, uint64_t n, int rate, double gain, double in_peak,
                                double ceil, pass_params *pp, double *lo, double *lufs, double *out_peak,
                                kk_error *err)
{
    *pp = (pass_params){.gain = gain, .scale = 1.0};
    if (in_peak * gain <= ceil) /* the gain alone keeps the peaks under */
        return measured_pass(io, n, rate, pp, lo, lufs, out_peak, err);
    /* aim a little under the limit: our interpolator and ebur128's
     * differ by a few thousandths of a dB */
    double aim = ceil * pow(10.0, -0.02 / 20.0);
    kk_status st;
    pp->limit = 1;
    for (int t = 0; t < LIMIT_TRIES; t++) {
        pp->ceil = aim / gain;
        if ((st = measured_pass(io, n, rate, pp, lo, lufs, out_peak, err)) != KK_OK || *out_peak <= ceil)
            return st;
        aim *= ceil / *out_peak * pow(10.0, -0.01 / 20.0);
    }
    /* Still over after every try (not seen in the tests): a constant gain
     * scales the true peak exactly. */
    pp->scale = ceil / *out_peak * pow(10.0, -0.01 / 20.0);
    double lo1;
    st = measured_pass(io, n, rate, pp, &lo1, lufs, out_peak, err);
    *lo = lo1 * pp->scale;
    return st;
}

kk_status kk_loudness_normalize_io(const kk_sample_io *io, uint64_t n, int rate, const kk_loudness_params *p,
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
    if (!io || !io->read || !io->write)
        return kk_error_set(err, KK_ERR_ARG, "loudness normalisation: no reader or writer for the audio");
    if (rate < 8000 || rate > 192000)
        return kk_error_set(err, KK_ERR_ARG, "loudness normalisation: sample rate %d Hz is out of range: use 8000 "
                            "to 192000", rate);
    double lufs = -HUGE_VAL, peak = 0.0, lo;
    pass_params plain = {.gain = 1.0, .scale = 1.0};
    kk_status st = n ? measured_pass(io, n, rate, &plain, &lo, &lufs, &peak, err) : KK_OK;
    if (st != KK_OK)
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
    /* The limiter takes some loudness with the peaks (a few tenths of a
     * LU on speech at -16 LUFS): measure what is left and raise the gain
     * by the shortfall, a few times, but by no more than MAX_MAKEUP_DB in
     * all: beyond that the loudness would be bought by squashing the
     * speech, and the report tells the caller instead. Without limiting
     * the first round lands on the target and is the only one. Each round
     * only measures; the last one's output is written at the end, so that
     * nothing is written before every measurement has succeeded. */
    double makeup = 0.0;
    pass_params final = plain;
    for (int round = 0; round < MAKEUP_ROUNDS; round++) {
        double g_db = fmin(gain_db + makeup, KK_LOUDNESS_MAX_GAIN_DB), l, tp;
        st = gain_and_limit(io, n, rate, pow(10.0, g_db / 20.0), peak, ceil, &final, &lo, &l, &tp, err);
        if (st != KK_OK)
            return st;
        rep.gain_db = g_db;
        rep.limited_db = lo < 1.0 ? -to_db(lo) : 0.0;
        rep.output_lufs = l;
        rep.output_peak_db = to_db(tp);
        double more = fmin(makeup + (p->target_lufs - l), MAX_MAKEUP_DB);
        if (lo == 1.0 || more - makeup < 0.05 || g_db >= KK_LOUDNESS_MAX_GAIN_DB)
            break;
        makeup = more;
    }
    if ((st = run_pass(io, n, rate, &final, NULL, 1, &lo, err)) != KK_OK)
        return st;
    if (report)
        *report = rep;
    return KK_OK;
}

kk_status kk_loudness_normalize(float *samples, size_t n, int rate, const kk_loudness_params *p,
                                kk_loudness_report *report, kk_error *err)
{
    if (!samples && n)
        return kk_error_set(err, KK_ERR_ARG, "loudness normalisation: the audio is NULL but %zu samples were promised",
                            n);
    /* Checked before anything is written (the passes check it too, too
     * late for "left as they were"). */
    size_t bad;
    if (!all_finite(samples, n, &bad))
        return kk_error_set(err, KK_ERR_INPUT, "loudness normalisation: sample %zu is not a finite number", bad);
    kk_sample_io io = kk_sample_io_memory(samples);
    return kk_loudness_normalize_io(&io, n, rate, p, report, err);
}

/* ---------------------------------------------------------------------- */
/* Ducking the original under the dub                                      */
/* ---------------------------------------------------------------------- */

kk_duck_params kk_duck_default_params(void)
{
    return (kk_duck_params){.duck_db = -15.0, .attack_ms = 50.0, .release_ms = 300.0, .hold_ms = 200.0,
                            .threshold_db = -45.0};
}

static int in_range(double v, double lo, double hi) { return isfinite(v) && v >= lo && v <= hi; }

static kk_status check_duck(const kk_duck_params *p, int rate, kk_error *err)
{
    if (rate < 8000 || rate > 192000)
        return kk_error_set(err, KK_ERR_ARG, "ducking: the rate %d Hz is not 8000 .. 192000", rate);
    if (!in_range(p->duck_db, -60.0, 0.0))
        return kk_error_set(err, KK_ERR_ARG, "ducking: duck_db %g is not -60 .. 0 dB", p->duck_db);
    if (!in_range(p->attack_ms, 0.0, 2000.0))
        return kk_error_set(err, KK_ERR_ARG, "ducking: attack %g ms is not 0 .. 2000", p->attack_ms);
    if (!in_range(p->release_ms, 0.0, 5000.0))
        return kk_error_set(err, KK_ERR_ARG, "ducking: release %g ms is not 0 .. 5000", p->release_ms);
    if (!in_range(p->hold_ms, 0.0, 5000.0))
        return kk_error_set(err, KK_ERR_ARG, "ducking: hold %g ms is not 0 .. 5000", p->hold_ms);
    if (!in_range(p->threshold_db, -90.0, 0.0))
        return kk_error_set(err, KK_ERR_ARG, "ducking: threshold %g dBFS is not -90 .. 0", p->threshold_db);
    return KK_OK;
}

/* The one-pole coefficient that covers 95 % of a step in ms milliseconds
 * (three time constants; 0 ms: a jump). */
static double pole(double ms, int rate) { return ms <= 0 ? 0.0 : exp(-3000.0 / (ms * rate)); }

kk_status kk_ducker_init(kk_ducker *d, int rate, const kk_duck_params *p, kk_error *err)
{
    kk_duck_params defaults = kk_duck_default_params();
    if (!d)
        return kk_error_set(err, KK_ERR_ARG, "kk_ducker_init: no ducker");
    memset(d, 0, sizeof *d);
    if (!p)
        p = &defaults;
    kk_status st = check_duck(p, rate, err);
    if (st != KK_OK)
        return st;
    d->thr = pow(10.0, p->threshold_db / 20.0), d->low = pow(10.0, p->duck_db / 20.0);
    d->a_down = pole(p->attack_ms, rate), d->a_up = pole(p->release_ms, rate);
    d->ahead = (size_t)llround(p->attack_ms * rate / 1000.0);
    d->hold = (uint64_t)llround(p->hold_ms * rate / 1000.0);
    d->g = 1.0;
    return KK_OK;
}

size_t kk_ducker_lookahead(const kk_ducker *d) { return d->ahead; }

kk_status kk_ducker_run(kk_ducker *d, const float *dub, size_t dub_n, const float *orig, size_t orig_n, float *out,
                        size_t n, kk_error *err)
{
    if ((!dub && dub_n) || (!orig && orig_n) || (!out && n))
        return kk_error_set(err, KK_ERR_ARG, "kk_ducker_run: no samples");
    size_t mixed_dub = dub_n < n ? dub_n : n, mixed_orig = orig_n < n ? orig_n : n;
    for (size_t t = 0; t < mixed_dub; t++)
        if (!isfinite(dub[t]))
            return kk_error_set(err, KK_ERR_INPUT, "ducking: the dub's sample %" PRIu64 " is not a number",
                                d->i + t);
    for (size_t t = 0; t < mixed_orig; t++)
        if (!isfinite(orig[t]))
            return kk_error_set(err, KK_ERR_INPUT, "ducking: the original's sample %" PRIu64 " is not a number",
                                d->i + t);
    /* Speech at i: a loud dub sample in [i - hold, i + ahead]; last is
     * the latest loud one the detector (running `ahead` early) has seen. */
    for (size_t t = 0; t < n; t++) {
        uint64_t i = d->i + t;
        size_t k = t + d->ahead;
        if (k < dub_n && fabsf(dub[k]) > d->thr)
            d->last = i + d->ahead, d->seen = 1;
        int speech = d->seen && d->last + d->hold >= i;
        double target = speech ? d->low : 1.0, a = target < d->g ? d->a_down : d->a_up;
        d->g = target + (d->g - target) * a;
        double x = (t < dub_n ? dub[t] : 0.0f) + d->g * (t < orig_n ? orig[t] : 0.0f);
        out[t] = (float)(x > 1.0 ? 1.0 : x < -1.0 ? -1.0 : x);
    }
    d->i += n;
    return KK_OK;
}

kk_status kk_duck_mix(const float *dub, size_t n_dub, const float *orig, size_t n_orig, int rate,
                      const kk_duck_params *p, float **out, size_t *n_out, kk_error *err)
{
    if (!out || !n_out)
        return kk_error_set(err, KK_ERR_ARG, "kk_duck_mix: no place for the result");
    *out = NULL, *n_out = 0;
    if ((!dub && n_dub) || (!orig && n_orig))
        return kk_error_set(err, KK_ERR_ARG, "kk_duck_mix: no samples");
    kk_ducker d;
    kk_status st = kk_ducker_init(&d, rate, p, err);
    if (st != KK_OK)
        return st;
    size_t n = n_dub > n_orig ? n_dub : n_orig;
    float *o = malloc((n ? n : 1) * sizeof *o);
    if (!o)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory (%zu samples to mix)", n);
    /* one block: the whole dub is there to look ahead into */
    if ((st = kk_ducker_run(&d, dub, n_dub, orig, n_orig, o, n, err)) != KK_OK) {
        free(o);
        return st;
    }
    *out = o, *n_out = n;
    return KK_OK;
}
