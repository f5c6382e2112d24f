/*
 * prosody.h - prosody mapping: the durations that put each word of a chunk
 * where a source recording said it (a WScribe transcript's word times, a
 * word dragged in the studio), for kk_synth_params.durations.
 *
 * Kokoro's durations are explicit: an integer number of 25 ms frames
 * (KK_SAMPLES_PER_FRAME) per phoneme id, and the F0 and energy predictors
 * run on the alignment they make (kk_forward_params.durations). This file
 * only does arithmetic on them, so it needs no model:
 *
 *   - each placed word starts on the frame nearest its target (the only
 *     error is the rounding to a frame, at most half of one);
 *   - its length (to its target end, or its natural share of the room up
 *     to the next word) is shared among its ids in proportion to the
 *     predicted durations, at least one frame each;
 *   - the ids between two words (the space, punctuation, words without a
 *     target) fill the rest: stretched (KK_PAUSE_STRETCH), or held up to
 *     KK_PROSODY_PAUSE_HOLD times their natural length with the rest as
 *     inserted silence (KK_PAUSE_SILENCE, where only spaces and punctuation
 *     lie between; the caller splices the zeros in at the returned frames);
 *   - ids after the last placed word keep their predicted durations.
 *
 * Targets that cannot be met (less than a frame per phoneme, a word far
 * faster than speakable, words out of order) are returned as problems, with
 * durations still made (each word at its minimum), so that a caller can
 * fall back and say which words and why.
 *
 * Layer: src/tts (no calls into other layers but src/common's errors).
 */
#ifndef KK_PROSODY_H
#define KK_PROSODY_H

#include <stddef.h>
#include <stdint.h>

#include "kk_error.h"

/* A word spoken this many times faster than its natural length (the
 * predicted durations at the asked speed) is not speakable: KK_SPEED_MAX
 * is 2, and a single word may go a little past the sentence's limit. */
#define KK_PROSODY_MAX_RATE 2.5

/* In the silence pause mode, the ids between two words are held up to this
 * many times their natural length before silence fills the rest: speech
 * at half speed holds them so, and the hum of a held space stays short. */
#define KK_PROSODY_PAUSE_HOLD 2.0

/* How the room between two words longer than their natural pause is
 * filled. Silence is the default: a space id held for hundreds of ms makes
 * the decoder hum at about -35 dB under the peak (breathy noise) through the
 * whole pause, and pocketsphinx hears words less well (docs/prosody.md). */
typedef enum kk_pause_mode {
    KK_PAUSE_SILENCE = 0, /* those ids held up to KK_PROSODY_PAUSE_HOLD times, silence for the rest */
    KK_PAUSE_STRETCH = 1, /* the space and punctuation ids between words lengthened */
} kk_pause_mode;

/* "stretch", "silence"; -1 for anything else. */
int kk_pause_mode_from_name(const char *name);

typedef struct kk_prosody_word {
    size_t first_id, n_ids; /* its ids in the chunk (the leading pad is id 0: first_id >= 1) */
    /* Targets in frames from the chunk's first frame, on the timeline the
     * chunk will have (inserted silences counted). start NAN: no target
     * (the word is spoken in the room between its neighbours); end NAN: the
     * word keeps its natural share of that room. */
    double start, end;
    size_t tag; /* the caller's (its word's index), echoed in problems */
} kk_prosody_word;

typedef struct kk_prosody_silence {
    int64_t at_frame; /* where, in the engine's frames of the chunk (before any silence) */
    int64_t frames;   /* how long */
} kk_prosody_silence;

typedef enum kk_prosody_problem_kind {
    KK_PROSODY_TOO_SHORT = 1, /* fewer frames than phonemes (less than 25 ms each) */
    KK_PROSODY_TOO_FAST,      /* more than KK_PROSODY_MAX_RATE times its natural pace */
} kk_prosody_problem_kind;

typedef struct kk_prosody_problem {
    size_t tag; /* the word's */
    kk_prosody_problem_kind kind;
    int64_t frames;  /* what its targets give it (with what must fit before the next word) */
    int64_t ids;     /* the phonemes that need a frame each in those frames */
    double rate;     /* natural frames over the frames it gets */
} kk_prosody_problem;

typedef struct kk_prosody_fit {
    int *durations; /* n_ids frames per id, for kk_synth_params.durations */
    size_t n_ids;
    kk_prosody_silence *silences; /* in order of at_frame */
    size_t n_silences;
    kk_prosody_problem *problems; /* none: every target met */
    size_t n_problems;
    int64_t frames; /* the chunk's length: the durations' sum plus the silences */
} kk_prosody_fit;

/* The durations for one chunk: raw are its n_ids predicted durations
 * before speed and rounding (kk_tts_chunk.raw_durations), speed the asked
 * one (the natural length of an id is max(1, rint(raw / speed)), as the
 * engine makes it); words in order of first_id, not overlapping, inside
 * 1 .. n_ids - 2. KK_ERR_ARG for words that break that; KK_ERR_NOMEM.
 * Free *out with kk_prosody_fit_free (also after an error). */
kk_status kk_prosody_fit_chunk(const float *raw, size_t n_ids, float speed, const kk_prosody_word *words,
                               size_t n_words, kk_pause_mode mode, kk_prosody_fit *out, kk_error *err);
void kk_prosody_fit_free(kk_prosody_fit *f);

/* "word 3 (\"hello\") gets 2 frames for 4 phonemes": one problem, for a
 * report; name is the word's text (may be NULL). A word left no frames at
 * all (the speech before it runs past its time) "gets no time". */
void kk_prosody_problem_text(const kk_prosody_problem *p, const char *name, char *dst, size_t size);

/* ---- emphasis (kk_g2p_word.emphasis: [word](+), *word*) ----
 *
 * A stressed word is said longer, and its neighbours a little faster so
 * that the sentence keeps its length and the words after it their places:
 * the word's frames are multiplied by KK_EMPHASIS_FACTOR (at least one
 * frame more; shared among its ids in proportion to their durations), and
 * as many frames are taken from the words next to it (each id keeping at
 * least KK_EMPHASIS_KEEP of its frames and one frame), the nearest words
 * first (one on each side, then two, ...), in proportion to what each id
 * can give. Spaces, punctuation, pads and other emphasised words give
 * nothing. When the neighbours cannot give it all (a one-word sentence),
 * the chunk grows by the rest. */
#define KK_EMPHASIS_FACTOR 1.25
#define KK_EMPHASIS_KEEP 0.6

typedef struct kk_prosody_span {
    size_t first_id, n_ids; /* a word's ids in the chunk (the leading pad is id 0) */
    int emphasis;
} kk_prosody_span;

/* Applies emphasis to dur (n_ids frames per id, pads included, each >= 1)
 * in place, for words (in order of first_id, not overlapping, inside
 * 1 .. n_ids - 2; others are skipped) at factor (>= 1; KK_EMPHASIS_FACTOR).
 * Returns how many frames the chunk grew by (0 when the neighbours gave
 * all), or -1 when memory ran out (dur then untouched). */
int64_t kk_prosody_emphasise(int *dur, size_t n_ids, const kk_prosody_span *words, size_t n_words, double factor);

/* Lengthening alone does not make a word louder: Kokoro's energy curve
 * stays where it was, and a longer word's mean energy even drops (0.1 to
 * 1.3 dB, tools/prosody_eval/emphasis.py, docs/prosody.md). So the word's
 * samples are raised by this much too, as a speaker's stressed word is. */
#define KK_EMPHASIS_GAIN_DB 2.0
#define KK_EMPHASIS_RAMP 240 /* samples (10 ms) of the gain's rise and fall */

/* Multiplies samples [start, end) of s (n samples; the span is clipped to
 * it) by gain_db, rising from 1 over the first KK_EMPHASIS_RAMP samples
 * and back over the last ones (half the span each when it is shorter), so
 * that no step is heard. */
void kk_prosody_gain(float *s, size_t n, size_t start, size_t end, double gain_db);

#endif
