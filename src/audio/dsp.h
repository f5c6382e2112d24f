/*
 * dsp.h - what the renderer does to speech after the engine: time-stretch
 * and pitch shift (Rubber Band, formants preserved) and loudness
 * normalisation (EBU R128 through libebur128) with a true-peak limit;
 * and the dub's mix over a video's own audio, ducked under the speech
 * (kk_duck_mix, used by kk_mux_video and so by `kokoro render --video
 * --mix duck` and the studio's video export).
 *
 * All functions are safe to call from several threads at once on
 * different buffers, and deterministic: the same input gives the same
 * output bit for bit.
 */
#ifndef KK_DSP_H
#define KK_DSP_H

#include <stddef.h>
#include <stdint.h>

#include "kk_error.h"
#include "sample_io.h"

/* Stretches mono audio in time by time_ratio (2.0: twice as long, 0.8:
 * 20 % shorter; 0.25 .. 4) and shifts its pitch by semitones (-12 .. 12)
 * with formants preserved, offline (Rubber Band studies the whole input
 * first). *n_out is exactly round(n * time_ratio); *out is malloc'd. A
 * ratio of 1 and 0 semitones copies the input.
 *
 * rate must be 8000 .. 192000 Hz; a bad argument is KK_ERR_ARG, a NaN or
 * infinite sample KK_ERR_INPUT. n == 0 gives *n_out == 0 and, like any
 * success, an *out to free. Input of under about 8 ms (200 samples at
 * 24 kHz) can be too short for the stretcher's windows and come out as
 * silence of the right length.
 * About 0.025 s of CPU per second of 24 kHz speech (up to 0.045 s with a
 * pitch shift). */
kk_status kk_dsp_stretch(const float *in, size_t n, int rate, double time_ratio, double semitones, float **out,
                         size_t *n_out, kk_error *err);

typedef struct kk_loudness_params {
    double target_lufs;  /* integrated loudness wanted; default -16 */
    double true_peak_db; /* the most any true peak may reach, dBTP; default -1 */
} kk_loudness_params;

kk_loudness_params kk_loudness_default_params(void);

typedef struct kk_loudness_report {
    double input_lufs;   /* integrated loudness before (-HUGE_VAL for silence) */
    double gain_db;      /* the gain applied before the limiter */
    double limited_db;   /* the largest gain reduction the limiter applied (>= 0) */
    double output_lufs;  /* integrated loudness after */
    double output_peak_db; /* true peak after, dBTP */
} kk_loudness_report;

/* The most gain kk_loudness_normalize applies, dB. A clip that would
 * need more (a near-silent one, or one recorded at the noise floor) is
 * raised by this much and ends quieter than the target: +40 dB already
 * lifts -56 LUFS to -16, and beyond that what gets raised is mostly
 * noise. */
#define KK_LOUDNESS_MAX_GAIN_DB 40.0

/* Measures, applies the gain that reaches the target, then limits peaks
 * so that no true peak exceeds true_peak_db (a look-ahead limiter, so
 * the gain changes smoothly). Silence (nothing above the gate) is left
 * as it is. In place; report may be NULL.
 *
 * p may be NULL for the defaults; target_lufs must be -70 .. 0 and
 * true_peak_db -20 .. 0. The gain is capped at KK_LOUDNESS_MAX_GAIN_DB
 * (gain_db says what was applied). When the limiter works it also takes
 * some loudness; up to 2 dB more gain makes that up, so gain_db can be
 * larger than target - input. Audio whose peaks are too dense for that
 * (the limiter cutting more than the make-up can restore) ends under
 * the target: output_lufs and limited_db say by how much. The limit on
 * true peaks always holds. Silence, or audio entirely under the
 * -70 LUFS absolute gate, is left untouched with input_lufs and
 * output_lufs -HUGE_VAL and gain_db 0. A clip shorter than one 400 ms
 * gating block is measured over its whole length. On error the samples
 * are left as they were. */
kk_status kk_loudness_normalize(float *samples, size_t n, int rate, const kk_loudness_params *p,
                                kk_loudness_report *report, kk_error *err);

/* kk_loudness_normalize over a track read and written through io, in
 * memory that does not grow with n (a few blocks and the limiter's
 * look-ahead): the same bits as kk_loudness_normalize on the same samples.
 * The track is read once to measure, once per limiter or make-up round,
 * and written once at the end, in place; only that last pass writes, so a
 * failure before it (a non-finite sample: KK_ERR_INPUT naming it, a read
 * error) leaves the track as it was, and a failed write is returned as the
 * writer gave it, the track then partly normalised. */
kk_status kk_loudness_normalize_io(const kk_sample_io *io, uint64_t n, int rate, const kk_loudness_params *p,
                                   kk_loudness_report *report, kk_error *err);

/* Integrated loudness (LUFS) and true peak (dBTP) of mono audio; either
 * output may be NULL. Silence gives -HUGE_VAL for both; a clip shorter
 * than 400 ms is measured over its whole length. */
kk_status kk_loudness_measure(const float *samples, size_t n, int rate, double *lufs, double *true_peak_db,
                              kk_error *err);

/* Sidechain ducking: the original (a video's own audio) is turned down
 * while the dub speaks, and the dub is laid over it. */
typedef struct kk_duck_params {
    double duck_db;      /* gain of the original under speech, dB: -60 .. 0; default -15 */
    double attack_ms;    /* how long the original takes to go (95 % of the way) down, 0 .. 2000; default 50 */
    double release_ms;   /* and to come back up after the speech, 0 .. 5000; default 300 */
    double hold_ms;      /* the speech still counts this long after its last loud sample (the
                          * gaps between words do not pump), 0 .. 5000; default 200 */
    double threshold_db; /* the dub counts as speech above this level, dBFS: -90 .. 0; default -45 */
} kk_duck_params;

kk_duck_params kk_duck_default_params(void);

/* out[i] = dub[i] + gain(i) * orig[i] for i < n_out = max(n_dub, n_orig)
 * (the shorter input counts as silence past its end), clipped to
 * [-1, 1]. gain is 1 where the dub is silent and duck_db under speech; it
 * moves there exponentially, 95 % of the way in the attack (down) or
 * release (up) time. The detector looks ahead by the attack time, so the
 * original is already down when a word starts (offline: the whole dub is
 * known; kk_ducker below does it a block at a time). Both inputs mono at rate (8000 .. 192000 Hz); *out malloc'd
 * (also when n_out is 0). p NULL: the defaults. KK_ERR_ARG names a value
 * out of range, KK_ERR_INPUT a NaN or infinite sample. Deterministic;
 * memory: the output only. */
kk_status kk_duck_mix(const float *dub, size_t n_dub, const float *orig, size_t n_orig, int rate,
                      const kk_duck_params *p, float **out, size_t *n_out, kk_error *err);

/* The same ducking as a stream, for a track made and written a block at a
 * time (kk_mux_video_io): blocks run in order through one kk_ducker give
 * the samples kk_duck_mix gives for the whole (kk_duck_mix is one block).
 * init: KK_ERR_ARG for a rate or a parameter out of range, as
 * kk_duck_mix; p NULL: the defaults. No memory is held (nothing to free). */
typedef struct kk_ducker {
    double thr, low, a_down, a_up, g; /* threshold and ducked gains; poles; the gain now */
    size_t ahead;                     /* the detector's lookahead, in samples */
    uint64_t hold, i, last;           /* hold in samples; the next position; the last loud dub sample */
    int seen;                         /* a loud dub sample was seen */
} kk_ducker;

kk_status kk_ducker_init(kk_ducker *d, int rate, const kk_duck_params *p, kk_error *err);
/* How many samples past a block the dub must be given: the attack time. */
size_t kk_ducker_lookahead(const kk_ducker *d);
/* Mixes the next n samples: out[t] = dub[t] + gain * orig[t], clipped to
 * [-1, 1], for the positions d->i .. d->i + n - 1, then moves on by n.
 * dub holds the dub from position d->i: all that exists of it up to
 * d->i + n + kk_ducker_lookahead(d) (dub_n samples; fewer only where the
 * dub ends: past dub_n it counts as silence), orig the original from d->i
 * (orig_n samples, the rest silence). KK_ERR_INPUT names a NaN or
 * infinite sample by its position in the whole track; out is then
 * unspecified and the ducker must not be run on. */
kk_status kk_ducker_run(kk_ducker *d, const float *dub, size_t dub_n, const float *orig, size_t orig_n, float *out,
                        size_t n, kk_error *err);

#endif
