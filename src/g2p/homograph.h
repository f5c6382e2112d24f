/*
 * homograph.h - words spelled alike and read differently, decided from the
 * words around them: "wind the rope" (wˈInd) / "the wind" (wˈɪnd), "I read
 * it last year" (ɹˈɛd) / "I will read" (ɹˈid), "record the song" / "a
 * record", "she lives" / "nine lives", "caught a bass" / "a bass guitar".
 *
 * A light part-of-speech guess from rules (a verb after "to", a subject
 * pronoun or modal, "please"; past tense after "have"/"had" or a time word
 * such as "yesterday" or "last year"; a noun after a determiner or an
 * adjective) picks the reading; the table of homographs and their readings
 * (misaki's symbols, American and British) is our own, in homograph.c.
 *
 * Threads: no shared mutable state.
 */
#ifndef KK_HOMOGRAPH_H
#define KK_HOMOGRAPH_H

#include <stddef.h>

/* A word of the sentence as written (case kept, no punctuation). */
typedef struct kk_hword {
    const char *s;
    size_t len;
} kk_hword;

/* words[0..n) are the words of one sentence in order; i is the word to
 * decide. Returns the phonemes (misaki symbols, a static string) for
 * words[i] when it is a homograph the table knows, chosen by its context;
 * NULL when words[i] is not one (the caller uses the dictionary).
 * british: nonzero for en-gb readings. */
const char *kk_homograph_pick(const kk_hword *words, size_t n, size_t i, int british);

#endif
