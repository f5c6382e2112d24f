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
 * Rules guess; where nothing decides, each word has a default reading
 * (misaki's DEFAULT, mostly). Measured on sentences the rules were not
 * tuned on: see src/g2p/tests/test_homograph.c.
 *
 * Threads: no shared mutable state.
 */
#ifndef KK_HOMOGRAPH_H
#define KK_HOMOGRAPH_H

#include <stddef.h>

/* A word of the sentence as written: case kept, the punctuation around it
 * removed (apostrophes inside stay: "don't", "don’t"). s need not be
 * NUL-terminated; only len bytes are read. */
typedef struct kk_hword {
    const char *s;
    size_t len;
} kk_hword;

/* words[0..n) are the words of one sentence in order, views into one text
 * (the bytes between two neighbours are the text between them: a comma
 * there matters to "that"); i is the word to decide. Returns the phonemes (misaki symbols for Kokoro v1.0, with
 * stress; a static string, never to be freed) for words[i] when it is a
 * homograph the table knows (spelling compared ignoring ASCII case;
 * "Polish"/"polish" alone goes by its capital), chosen by its context;
 * NULL when words[i] is not one, and when words is NULL or i >= n (the
 * caller then uses the dictionary). Only words[0..n) are read, each for
 * its len bytes, and the bytes between neighbours; nothing is allocated. british: nonzero for en-gb
 * readings. */
const char *kk_homograph_pick(const kk_hword *words, size_t n, size_t i, int british);

#endif
