/*
 * normalize.h - written text to the words that are spoken (English first).
 *
 * Runs before phonemisation: "$49.99" becomes "forty-nine dollars and
 * ninety-nine cents", "Henry VIII" "Henry the Eighth", "in 1999" "in
 * nineteen ninety-nine", "7:30 pm" "seven thirty PM", "Elm St." "Elm
 * Street", "https://a.io" "H T T P S colon slash slash A dot I O".
 *
 * Expansions are words separated by single spaces, compounds hyphenated
 * ("twenty-one"); lower case except proper names (months, titles: "Mister",
 * "Henry the Eighth"), "AM"/"PM", and letters to be spelled, written as
 * capitals one by one ("W W W") so the dictionary reads their names.
 * Acronyms are left as written. Punctuation an expansion adds (the commas
 * between a phone number's groups, the period an abbreviation shares with
 * the end of a sentence: "etc." -> "et cetera.") belongs to it.
 *
 * It never drops text: what it cannot read it copies as it is, for the
 * phonemiser. Markup ([word](/phonemes/), [pause:500ms]) is copied verbatim.
 * Every byte of the result belongs to one span that says which bytes of the
 * source it came from, so word timings can point at the original text: an
 * expansion ("$49.99") is one span whose spoken words all map to the whole
 * source token.
 *
 * Languages: "en-us" and "en-gb" (British readings where they differ:
 * "one hundred and five", dates "the third of March", "centimetres", a
 * score of 0 "nil"); "en" and other "en-*" read as en-us, except en-uk,
 * en-au, en-nz, en-ie, en-in and en-za, read as en-gb (case-insensitive,
 * '-' or '_'). Any other language is copied through unchanged (espeak-ng
 * reads its numbers).
 *
 * Threads: no shared state; any number of calls may run in parallel.
 */
#ifndef KK_NORMALIZE_H
#define KK_NORMALIZE_H

#include <stddef.h>

#include "kk_error.h"

/* out[out_start, out_end) of the normalised text came from
 * src[src_start, src_end) of the source. Spans are in order and cover both
 * the normalised text and the source without gaps or overlaps; none is
 * empty (so an empty text has no spans). Adjacent verbatim runs are one
 * span. */
typedef struct kk_norm_span {
    size_t out_start, out_end;
    size_t src_start, src_end;
    int verbatim; /* copied unchanged: out and src have the same length and
                     map byte for byte */
} kk_norm_span;

typedef struct kk_norm {
    char *text; /* the words to speak, NUL-terminated UTF-8 */
    size_t len; /* strlen(text) */
    kk_norm_span *spans;
    size_t n_spans;
} kk_norm;

/* Normalises text (UTF-8, NUL-terminated) for language lang ("en-us",
 * "en-gb", or any other: copied through; NULL: "en-us"). On success *out
 * owns its memory (kk_norm_free). Errors: KK_ERR_ARG (NULL text or out),
 * KK_ERR_NOMEM. Bad or odd input is never an error: it is copied. */
kk_status kk_normalize(const char *text, const char *lang, kk_norm *out, kk_error *err);

void kk_norm_free(kk_norm *n);

/* Maps a byte position of the normalised text back to the source. A
 * position inside a verbatim span maps one to one; inside an expansion it
 * maps to the expansion's source start, or, when end is nonzero, to its
 * source end (so [start, end) of a spoken word maps to the whole source
 * token). pos == n->len maps to the end of the source. */
size_t kk_norm_source_pos(const kk_norm *n, size_t pos, int end);

#endif
