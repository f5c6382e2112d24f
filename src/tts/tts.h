/*
 * tts.h - speech from text: the library's front door to the engine.
 *
 * A kk_tts holds what is loaded once (the model's weights, mapped; the
 * voice packs met so far; idle phonemizer contexts) and may be shared by
 * threads: each kk_tts_synthesize() call borrows a phonemizer and brings its
 * own working memory. A call turns text into phoneme chunks
 * (src/g2p: sentences, then clauses, at most 510 tokens each, or sized
 * for streaming with stream_chunks; inline pronunciations and
 * [pause:500ms] markup), synthesises each chunk with the
 * voice's style row for its length, and hands the audio over chunk by chunk
 * as soon as it is made (streaming), followed by the pause the text asks
 * for. Progress and abort callbacks are called between chunks and, for
 * abort, between the modules of a chunk.
 *
 * In the style of whisper.cpp: an opaque context, a params struct with a
 * _default_params() function, callbacks with a user pointer.
 *
 * Layer: src/tts may call src/model (the forward pass, voices), src/g2p and
 * src/common; render, the server, the CLI and the public API call it.
 */
#ifndef KK_TTS_H
#define KK_TTS_H

#include <stddef.h>
#include <stdint.h>

#include "kk_error.h"
#include "kk_forward.h" /* KK_SAMPLE_RATE, KK_SAMPLES_PER_FRAME, KK_SPEED_MIN/MAX */


typedef struct kk_tts kk_tts;

typedef struct kk_tts_params {
    /* The model: an .onnx file, a converted .kkw, or a directory holding
     * one (and config.json, voices/). NULL: kk_tts_find_model(). */
    const char *model;
    /* Where the voice packs are; NULL: <model directory>/voices. */
    const char *voices_dir;
} kk_tts_params;

kk_tts_params kk_tts_default_params(void);

/* Finds the model directory when none is given: $KOKORO_MODEL_DIR, then
 * $XDG_DATA_HOME/kokoro (or ~/.local/share/kokoro), then
 * ./models/kokoro-82m-v1.0 and ../shared/models/kokoro-82m-v1.0. Writes the
 * directory to dst; KK_ERR_IO with a message saying where it looked and how
 * to get the model when there is none. */
kk_status kk_tts_find_model(char *dst, size_t size, kk_error *err);

kk_status kk_tts_new(const kk_tts_params *params, kk_tts **out, kk_error *err);
void kk_tts_free(kk_tts *t);

/* What kk_tts_new loaded (for messages and benchmarks). */
const char *kk_tts_model_path(const kk_tts *t);
const char *kk_tts_voices_dir(const kk_tts *t);
double kk_tts_load_ms(const kk_tts *t);
/* Which audio this context makes for given phonemes, voice and speed: the
 * weights' hash and the engine's version, as text ("kkw-<hex>-e<n>"), for
 * the keys of caches of rendered audio. */
const char *kk_tts_identity(const kk_tts *t);
/* The same for audio made at precision p: kk_tts_identity for the exact
 * mode, with "-fast" after it for the fast mode, so that caches keyed on it
 * never hand out one mode's audio for the other's. Give it what
 * kk_tts_precision answered, not what was asked. */
const char *kk_tts_identity_for(const kk_tts *t, kk_precision p);
/* The precision kk_tts_speak asked for `asked` runs at here (decided once
 * per context: the fast mode falls back to the exact one where the CPU
 * lacks AMX-BF16, and says why once through on_notice, NULL: stderr). */
kk_precision kk_tts_precision(kk_tts *t, kk_precision asked, void (*on_notice)(void *user, const char *line),
                              void *user);
/* "exact" or "fast" to a kk_precision; KK_ERR_ARG naming the choices (and
 * what, e.g. "--precision", in the message) for anything else. */
kk_status kk_tts_precision_parse(const char *name, const char *what, kk_precision *out, kk_error *err);
/* "exact" or "fast". */
const char *kk_tts_precision_name(kk_precision p);

/* When a word is spoken, read off the engine's predicted durations. */
typedef struct kk_tts_word {
    size_t text_start, text_end;     /* the word's bytes in the input text */
    size_t start_sample, end_sample; /* from the start of its chunk */
    /* its ids in the chunk's durations (the leading pad is id 0, so the
     * first is >= 1): what a prosody fit (prosody.h) lengthens */
    size_t first_id, n_ids;
    /* marked stressed ([word](+), *word*): spoken with a primary stress and
     * lengthened by KK_EMPHASIS_FACTOR, its neighbours shortened to keep
     * the chunk's length (prosody.h), unless the chunk's durations are
     * given (kk_synth_params.durations: they say how long it is) */
    int emphasis;
} kk_tts_word;

/* One chunk of speech, as it is handed over. */
typedef struct kk_tts_chunk {
    const float *samples; /* KK_SAMPLE_RATE mono: speech, then pause_samples of silence */
    size_t n_samples;
    size_t pause_samples;        /* trailing silence included in n_samples */
    size_t index;                /* 0, 1, ... */
    size_t text_start, text_end; /* the chunk's byte span in the input text */
    const char *phonemes;        /* what was spoken (NULL for a pure pause) */
    const int *durations;        /* frames (KK_SAMPLES_PER_FRAME samples) per phoneme, pads first and last */
    size_t n_durations;
    const float *raw_durations; /* the same before speed and rounding (kk_forward.h) */
    const kk_tts_word *words; /* the chunk's words with their times */
    size_t n_words;
} kk_tts_chunk;

/* Return non-zero to stop (the call then returns KK_ERR_ABORTED). */
typedef int (*kk_tts_chunk_fn)(void *user, const kk_tts_chunk *chunk);
/* done of total chunks synthesised. */
typedef void (*kk_tts_progress_fn)(void *user, size_t done, size_t total);
typedef int (*kk_tts_abort_fn)(void *user);
typedef void (*kk_tts_warning_fn)(void *user, const char *message);

/* Where synthesis spent its time (kk_synth_params.profile): the forward
 * pass by module, plus what the layer above it did. Added to (the caller
 * zeroes it). */
typedef struct kk_tts_profile {
    kk_forward_profile forward;
    double prepare_ms; /* kk_tts_prepare: text normalisation and g2p */
    double voice_ms;   /* voice packs loaded (0 when they came from the cache) */
    double forward_ms; /* kk_model_forward, all of it */
    size_t voice_loads, voice_hits;
} kk_tts_profile;

typedef struct kk_synth_params {
    const char *voice; /* "af_heart", or a blend "af_heart:0.7,am_michael:0.3" */
    const char *lang;  /* NULL: from the voice's first letter (a: en-us, b: en-gb, ...) */
    float speed;       /* 1.0 natural; KK_SPEED_MIN .. KK_SPEED_MAX (0.5 .. 2) */
    int strict;        /* phonemes the model does not know are an error, not a warning */
    const char *lexicon_path; /* word<TAB>phonemes overrides; NULL: none */
    kk_tts_chunk_fn on_chunk;
    kk_tts_progress_fn on_progress;
    kk_tts_abort_fn abort;
    kk_tts_warning_fn on_warning;
    void *user;
    int threads; /* for the engine; 0: one per online CPU. Output is the same for any count. */
    /* Predict only (kk_tts_speak): chunks come with their durations, words
     * and n_samples (what the speech would be, pause included) but no
     * samples (NULL), at a small part of the cost. */
    int durations_only;
    /* KK_PRECISION_EXACT (the default) or KK_PRECISION_FAST (kk_forward.h:
     * bf16 convolutions where the CPU has AMX, else exact with one notice
     * through on_warning). A cache of the audio keys on
     * kk_tts_identity_for(t, kk_tts_precision(t, precision, ...)). */
    kk_precision precision;
    kk_tts_profile *profile; /* NULL: not profiled */
    /* kk_tts_prepare: one chunk per sentence, not sentences packed up to
     * 510 tokens: the first audio comes after the first sentence (for
     * streaming answers), at some cost in speed on long texts. With
     * stream_chunks too, the first chunk is cut short as stream_chunks cuts
     * it (a long first sentence ends at a clause mark or comma) and every
     * later chunk is one sentence. */
    int chunk_per_sentence;
    /* Chunks sized for streaming (kk_g2p_params.stream_chunks): the first
     * sentence is a chunk of its own, so that its audio comes at once, and
     * the sentences after it are grouped on a ramp up to 175-250 ids (at
     * most 450), so that each chunk is made while the one before it plays.
     * 0 (the default): sentences packed up to 510 ids. The script
     * (kk_tts_script_phonemes) says which was used. */
    int stream_chunks;
    /* Prosody mapping (prosody.h): chunk k of the script spoken with
     * durations[k] (frames per id of that chunk, pads included, each >= 1)
     * instead of the predicted ones; a NULL entry: predicted. NULL (the
     * default): every chunk predicted. n_durations must then be the
     * script's chunk count (kk_tts_script_chunks), and n_ids_of[k] each
     * array's length, checked against the chunk's ids. The speed still
     * scales the predicted durations that are kept. */
    const int *const *durations;
    const size_t *n_ids_of;
    size_t n_durations;
} kk_synth_params;

kk_synth_params kk_synth_default_params(void);

kk_status kk_tts_synthesize(kk_tts *t, const char *text, const kk_synth_params *p, kk_error *err);

/* kk_tts_synthesize in two steps, for callers that want to know what will
 * be said before paying for it (the render cache keys on the phonemes):
 * kk_tts_prepare phonemizes (p->voice gives the language unless p->lang
 * does; p->strict, lexicon_path and on_warning apply), kk_tts_speak
 * synthesises a prepared script with p's voice, speed and callbacks. A
 * script may be spoken any number of times, from any thread. A text with
 * nothing to say gives a script of 0 chunks, which kk_tts_speak refuses
 * (KK_ERR_INPUT). */
typedef struct kk_tts_script kk_tts_script;

kk_status kk_tts_prepare(kk_tts *t, const char *text, const kk_synth_params *p, kk_tts_script **out,
                         kk_error *err);
/* Every chunk's phonemes and pause, as one string ("<phonemes>|<pause ms>"
 * per chunk, chunks separated by newlines; a chunk with emphasised words
 * adds "|emphasis <factor> <first id>+<ids> ..."): equal strings, equal
 * audio. */
const char *kk_tts_script_phonemes(const kk_tts_script *s);
size_t kk_tts_script_chunks(const kk_tts_script *s);
kk_status kk_tts_speak(kk_tts *t, const kk_tts_script *s, const kk_synth_params *p, kk_error *err);
void kk_tts_script_free(kk_tts_script *s);

#endif
