/*
 * voice.h - Kokoro voice packs: loading, style-row selection, blending and
 * listing.
 *
 * A voice pack (voices/<id>.bin) is float32 little-endian [510][256]: row i
 * is the style vector for an utterance of i+1 phoneme tokens. Columns 0..127
 * condition the decoder, 128..255 the prosody predictor. Voice ids are
 * "<language letter><gender letter>_<name>", e.g. af_heart = American
 * English, female.
 */
#ifndef KK_VOICE_H
#define KK_VOICE_H

#include <stddef.h>

#include "kk_error.h"

#define KK_VOICE_ROWS 510
#define KK_VOICE_DIM 256
#define KK_VOICE_ID_MAX 64

typedef struct kk_voice {
    char id[KK_VOICE_ID_MAX * 4]; /* "af_heart" or a blend "af_heart:0.7,am_michael:0.3" */
    float rows[KK_VOICE_ROWS][KK_VOICE_DIM];
} kk_voice;

typedef struct kk_voice_info {
    char id[KK_VOICE_ID_MAX];
    const char *language; /* kk_voice_language: "en-us", "en-gb", ... or "unknown" */
    char gender;          /* 'f', 'm' or '?' */
} kk_voice_info;

/* Loads one pack file (exactly 510*256*4 bytes). */
kk_status kk_voice_load_file(const char *path, kk_voice **out, kk_error *err);

/* Loads a voice by spec from dir: "af_heart", or a blend
 * "af_heart:0.7,am_michael:0.3" (weights must be > 0; they are normalised
 * to sum 1; a voice without ":w" counts 1). */
kk_status kk_voice_load(const char *dir, const char *spec, kk_voice **out, kk_error *err);

void kk_voice_free(kk_voice *v);

/* The style vector (256 floats) for an utterance of n_tokens phonemes
 * (1..510, pads not counted): row n_tokens-1. NULL with err set otherwise. */
const float *kk_voice_style(const kk_voice *v, int n_tokens, kk_error *err);

/* Lists dir's *.bin voices sorted by id; *out is malloc'd (free it). */
kk_status kk_voice_list(const char *dir, kk_voice_info **out, size_t *n, kk_error *err);

/* Language of a voice id, as the phonemizer names it (kk_voice_lang:
 * "en-us", "fr-fr", "ja", ...), or "unknown" when the prefix fits none. */
const char *kk_voice_language(const char *id);

#endif
