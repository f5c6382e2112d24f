/*
 * dsp.h - what the renderer does to speech after the engine: time-stretch
 * and pitch shift (Rubber Band, formants preserved) and loudness
 * normalisation (EBU R128 through libebur128) with a true-peak limit.
 *
 * All functions are safe to call from several threads at once on
 * different buffers, and deterministic: the same input gives the same
 * output bit for bit.
 */
#ifndef KK_DSP_H
#define KK_DSP_H

#include <stddef.h>

#include "error.h"

/* Stretches mono audio in time by time_ratio (2.0: twice as long, 0.8:
 * 20 % shorter; 0.25 .. 4) and shifts its pitch by semitones (-12 .. 12)
 * with formants preserved, offline (Rubber Band studies the whole input
 * first). *n_out is exactly round(n * time_ratio); *out is malloc'd. A
 * ratio of 1 and 0 semitones copies the input. */
kk_status kk_dsp_stretch(const float *in, size_t n, int rate, double time_ratio, double semitones, float **out,
                         size_t *n_out, kk_error *err);

typedef struct kk_loudness_params {
    double target_lufs;  /* integrated loudness wanted; default -16 */
    double true_peak_db; /* the most any true peak may reach, dBTP; default -1 */
} kk_loudness_params;

kk_loudness_params kk_loudness_default_params(void);

typedef struct kk_loudness_report {
    double input_lufs;   /* integrated loudness before (-HUGE_VAL for silence) */
    double gain_db;      /* the gain applied */
    double limited_db;   /* the largest gain reduction the limiter applied (>= 0) */
    double output_lufs;  /* integrated loudness after */
    double output_peak_db; /* true peak after, dBTP */
} kk_loudness_report;

/* Measures, applies the gain that reaches the target, then limits peaks
 * so that no true peak exceeds true_peak_db (a look-ahead limiter, so
 * the gain changes smoothly). Silence (nothing above the gate) is left
 * as it is. In place; report may be NULL. */
kk_status kk_loudness_normalize(float *samples, size_t n, int rate, const kk_loudness_params *p,
                                kk_loudness_report *report, kk_error *err);

/* Integrated loudness (LUFS) and true peak (dBTP) of mono audio. */
kk_status kk_loudness_measure(const float *samples, size_t n, int rate, double *lufs, double *true_peak_db,
                              kk_error *err);

#endif
