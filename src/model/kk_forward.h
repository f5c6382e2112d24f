/*
 * kk_forward.h - the Kokoro-82M forward pass (the low-level engine):
 * phoneme ids, a style vector and a speed in, 24 kHz samples out
 * (KK_SAMPLE_RATE).
 *
 * A kk_model holds the mapped weights and pointers into them, resolved once
 * at load; it is read-only afterwards, so any number of threads may run
 * kk_model_forward() on one model at once (each call allocates its own
 * working memory). Text, voices and chunking live above this layer.
 *
 * The computation follows the ONNX graph of the published model exactly
 * (docs/engine-notes.md), so its output can be compared with ONNX Runtime's
 * tensor by tensor: the optional on_tensor callback hands out the
 * intermediate results under the graph's tensor names, in the graph's
 * layouts.
 *
 * Layer: src/model may call src/nn and src/common; src/tts and the tools
 * call it.
 */
#ifndef KK_FORWARD_H
#define KK_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "kk_error.h"

/* The one sample rate of the whole library: what the model makes and what
 * every layer above it (tts, render, the studio) speaks in. */
#define KK_SAMPLE_RATE 24000
#define KK_SAMPLES_PER_FRAME 600 /* one predicted duration unit, 25 ms */
/* The speeds accepted everywhere (kk_forward_params, kk_synth_params,
 * kk_render_params and the render's fit, the CLI's --speed, the studio's
 * settings): a factor of the voice's natural pace, both ends included.
 * Outside it the predicted durations leave what the model was trained on
 * (sounds slurred or clipped). */
#define KK_SPEED_MIN 0.5f
#define KK_SPEED_MAX 2.0f
#define KK_MAX_IDS 512           /* phoneme ids including the two pads */
#define KK_STYLE_DIM 256

typedef struct kk_model kk_model;

/* Loads a model: an .onnx file (converted once into the weight cache) or a
 * converted .kkw file. Fails with a message naming the missing or malformed
 * weight when the file is not a Kokoro-82M v1.0 export. */
kk_status kk_model_load(const char *path, kk_model **out, kk_error *err);
void kk_model_free(kk_model *m);
/* Milliseconds the load took (weights open + resolution). */
double kk_model_load_ms(const kk_model *m);
/* What the model's weights are (a hash of all of them): with
 * KK_ENGINE_VERSION, it says which audio a forward pass gives, for caches
 * of rendered audio. */
uint64_t kk_model_identity(const kk_model *m);

/* Raised whenever a change to the engine changes its output by a single
 * bit (caches of rendered audio key on it). */
#define KK_ENGINE_VERSION 1
/* The same for the fast mode's output alone (its audio keys on both): 2
 * since its 7- and 11-tap residual blocks run the exact mode's FFT
 * convolutions, 3 since those convolutions' products are bf16. */
#define KK_ENGINE_FAST_VERSION 3

/* Called with an intermediate tensor (name as in the ONNX graph, shape as
 * the graph has it, batch dimension included). */
typedef void (*kk_tensor_fn)(void *user, const char *name, int ndim, const int64_t *shape, const float *data);
/* Return non-zero to abort the forward pass (checked between modules). */
typedef int (*kk_abort_fn)(void *user);

/* The arithmetic of a forward pass. */
typedef enum kk_precision {
    /* float32 everywhere, the ONNX graph's results (the default; caches of
     * rendered audio may rely on its bits) */
    KK_PRECISION_EXACT = 0,
    /* the decoder's and generator's convolutions with bfloat16 operands
     * and float32 accumulation (Intel AMX-BF16, or AVX512_BF16 where the
     * CPU has no AMX: AMD Zen 4); the rest (ALBERT, the
     * prosody predictor and its LSTMs, the F0/N curves, the harmonic
     * source, conv_post and the iSTFT) float32 as in the exact mode, so the
     * durations are the same. Where the CPU or OS has neither the pass runs
     * exactly (kk_forward_result.precision says which ran). */
    KK_PRECISION_FAST = 1,
} kk_precision;

/* The modules of the forward pass, for the profile. */
enum {
    KK_MOD_ALBERT,
    KK_MOD_PREDICTOR, /* duration encoder + LSTMs, alignment, F0 and N curves */
    KK_MOD_TEXT_ENCODER,
    KK_MOD_DECODER,
    KK_MOD_SOURCE,   /* harmonic source and its STFT */
    KK_MOD_GEN1,     /* generator stage 1: ups.0, noise_res.0, resblocks 0-2 */
    KK_MOD_GEN2,     /* generator stage 2: ups.1, noise_res.1, resblocks 3-5 */
    KK_MOD_ISTFT,    /* conv_post, magnitude/phase, inverse STFT */
    KK_MOD_COUNT
};
/* "ALBERT", "predictor", ... */
const char *kk_forward_module_name(int mod);

/* Where a forward pass spent its time: wall milliseconds and multiply-adds
 * (counted from the shapes of every matrix product, convolution and LSTM)
 * per module. Added to (the caller zeroes it), so one profile can sum
 * several calls. */
typedef struct kk_forward_profile {
    double ms[KK_MOD_COUNT];
    double macs[KK_MOD_COUNT];
    int calls;
} kk_forward_profile;

typedef struct kk_forward_params {
    float speed;           /* 1.0 = the voice's natural pace; KK_SPEED_MIN .. KK_SPEED_MAX */
    kk_tensor_fn on_tensor; /* NULL: no intermediate tensors */
    void *tensor_user;
    kk_abort_fn abort;
    void *abort_user;
    /* Threads for this call; 0 (the default): one per online CPU. The audio
     * is bit-identical whatever the count. The matrix products run on
     * OpenBLAS inside the engine's own threads, so each call sets OpenBLAS
     * to one thread (openblas_set_num_threads(1)): that setting is
     * process-global and stays after the call. The threads are OpenMP's:
     * run programs with OMP_WAIT_POLICY=passive (kk-forward sets it) so that
     * idle threads sleep rather than spin, which costs ~25 % when the cores
     * are shared. */
    int threads;
    /* Stop after the duration predictor (a small part of the work): the
     * result has durations, raw_durations and n_frames, no samples. For
     * callers that want to know how long the speech will be. */
    int durations_only;
    kk_precision precision; /* KK_PRECISION_EXACT (the default) or _FAST */
    /* Reports the fallback of the fast mode (one line, "fast mode
     * unavailable: ... ; exact mode used"), once per model; NULL: stderr. */
    void (*on_notice)(void *user, const char *line);
    void *notice_user;
    kk_forward_profile *profile; /* NULL: not profiled */
    /* Frames to speak each id for, instead of the predicted ones (prosody
     * mapping, src/tts/prosody.h): n_ids entries, pads included, each
     * >= 1, summing to at most 6,000 frames (150 s). The predictor still
     * runs (the result's raw_durations are its own), then the alignment,
     * the shared LSTM and the F0 and energy curves are computed on these
     * durations, so the melody follows the new timing rather than being
     * stretched. The result's durations are these. NULL (the default):
     * the predicted durations, bit for bit the output without this field. */
    const int *durations;
    /* Called when durations is NULL, once the durations are predicted
     * (after the speed and the rounding) and before the alignment: may
     * change the n_ids frames in place (each left within 1 .. 6,000), as
     * src/tts does to lengthen an emphasised word and shorten its
     * neighbours. The rest of the pass runs on them as on given durations
     * (durations_only included); the result's durations are the changed
     * ones, its raw_durations the predictor's. NULL (the default): none. */
    void (*adjust_durations)(void *user, int *durations, int n_ids);
    void *adjust_user;
} kk_forward_params;

kk_forward_params kk_forward_default_params(void);

typedef struct kk_forward_result {
    float *samples; /* 24 kHz mono, malloc'd (free with kk_forward_result_free) */
    size_t n_samples;
    int *durations; /* frames per input id (pads included), malloc'd */
    /* The same before the speed and the rounding: durations[t] is
     * max(1, rint(raw_durations[t] / speed)). Lets a caller predict the
     * length at another speed without running the model again. malloc'd. */
    float *raw_durations;
    int n_ids;
    int n_frames; /* sum of durations; n_samples = KK_SAMPLES_PER_FRAME * n_frames */
    kk_precision precision; /* what ran (FAST asked for may have run EXACT) */
} kk_forward_result;

/* Whether KK_PRECISION_FAST can run here: 1, or 0 with the reason in why
 * (when why is not NULL). The environment variable KOKORO_FAST_DISABLE=1
 * says no (to exercise the fallback where the CPU has AMX). */
int kk_forward_fast_available(char *why, size_t size);
/* The kernel the fast mode runs here ("amx-bf16", "avx512-bf16"), NULL
 * when it cannot run. The two sum in different orders: audio made fast on
 * one kind of machine is not bit-equal to the other's, so whatever keys
 * fast audio (the render cache) names the kernel too. */
const char *kk_forward_fast_kernel(void);

/* The precision a forward pass of m asked for `asked` runs at, decided now
 * for good: for KK_PRECISION_FAST this packs the fast mode's weights (once
 * per model) and answers KK_PRECISION_EXACT where that cannot run (the CPU,
 * the kernel, memory), saying why once per model through on_notice (NULL:
 * stderr) as kk_model_forward does. Callers that key a cache on the audio
 * use it to name what they will get before they make it. */
kk_precision kk_model_precision(const kk_model *m, kk_precision asked, void (*on_notice)(void *user, const char *line),
                                void *notice_user);

/* ids: n_ids phoneme ids *including* the leading and trailing pad 0
 * (3 <= n_ids <= 512, every id < 178); style: the voice's 256 floats for
 * n_ids - 2 tokens. */
kk_status kk_model_forward(const kk_model *m, const int64_t *ids, int n_ids, const float *style,
                           const kk_forward_params *p, kk_forward_result *out, kk_error *err);
void kk_forward_result_free(kk_forward_result *r);

#endif
