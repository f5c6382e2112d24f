/*
 * kk_voice_lang.h - the one map from a Kokoro voice id to its language.
 *
 * Voice ids are "<language letter><gender letter>_<name>" (af_heart =
 * American English, female). The phonemizer (src/g2p) picks a voice's
 * language from it and the voice list (src/model) shows it; g2p and model
 * are siblings, so the map lives here, below both. Header-only: one small
 * switch, no state, nothing to link.
 */
#ifndef KK_VOICE_LANG_H
#define KK_VOICE_LANG_H

#include <stddef.h>

/* The language of a voice (or of a blend "af_heart:0.7,am_michael:0.3",
 * by its first voice) as the phonemizer names it: a -> "en-us",
 * b -> "en-gb", e -> "es", f -> "fr-fr", h -> "hi", i -> "it", p -> "pt-br",
 * j -> "ja", z -> "zh". NULL when voice is NULL or empty, when the first
 * letter is none of these, or when the second is not a gender letter ('f' or
 * 'm'; a one-letter id is taken as a prefix). Whether the phonemizer can
 * read a language is kk_g2p_lang_supported's answer, not this map's. */
static inline const char *kk_voice_lang(const char *voice)
{
    if (!voice || !voice[0] || (voice[1] && voice[1] != 'f' && voice[1] != 'm'))
        return NULL;
    switch (voice[0]) {
    case 'a': return "en-us";
    case 'b': return "en-gb";
    case 'e': return "es";
    case 'f': return "fr-fr";
    case 'h': return "hi";
    case 'i': return "it";
    case 'p': return "pt-br";
    case 'j': return "ja";
    case 'z': return "zh";
    default: return NULL;
    }
}

#endif
