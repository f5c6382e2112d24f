/*
 * g2p_internal.h - pieces of the g2p module shared between its files.
 */
#ifndef KK_G2P_INTERNAL_H
#define KK_G2P_INTERNAL_H

#include <stddef.h>

#include "buf.h"
#include "kk_error.h"
#include "g2p.h"

/* --- espeak.c: the one door into espeak-ng (global state, one mutex) --- */

/* Phonemizes text (UTF-8, no clause punctuation expected) with the first of
 * the NULL-terminated voice names that espeak-ng accepts. Appends IPA with
 * '^' tying multi-letter phonemes; clauses are joined with one space and
 * language-switch flags such as "(en)" are removed. */
kk_status kk_espeak_ipa(const char *const *voices, const char *text, kk_buf *out,
                        kk_error *err);

/* --- ipa_map.c: espeak IPA -> misaki symbols --- */

typedef enum kk_ipa_style {
    KK_IPA_EN_US,
    KK_IPA_EN_GB,
    KK_IPA_OTHER, /* other espeak languages: ties joined, '-' dropped */
} kk_ipa_style;

/* Rewrites ipa (as kk_espeak_ipa gives it) in place into misaki's symbols.
 * Returns -1 when memory runs out. */
int kk_ipa_to_misaki(kk_buf *ipa, kk_ipa_style style, int flap_as_T);

/* Replaces every occurrence of from with to in b; -1 on no memory. */
int kk_buf_replace(kk_buf *b, const char *from, const char *to);

/* --- g2p_markup.c: text -> items --- */

typedef enum kk_item_kind {
    KK_ITEM_WORD,     /* a word for espeak-ng */
    KK_ITEM_PUNCT,    /* a punctuation token (sym) */
    KK_ITEM_OVERRIDE, /* a word with given phonemes (sym) */
    KK_ITEM_PAUSE,    /* [pause:...] (pause_ms) */
    KK_ITEM_PARA,     /* a blank line */
} kk_item_kind;

/* How strongly a punctuation token ends what precedes it. */
enum { KK_BRK_NONE = 0, KK_BRK_COMMA = 1, KK_BRK_CLAUSE = 2, KK_BRK_SENTENCE = 3 };

typedef struct kk_item {
    kk_item_kind kind;
    size_t start, end;  /* source span in the input text */
    size_t wstart, wend; /* WORD/OVERRIDE: the word's own text */
    int space_before;   /* whitespace precedes it in the text */
    int brk;            /* PUNCT: KK_BRK_* */
    int closing;        /* PUNCT: a closing ) or ” */
    int pause_ms;       /* PAUSE */
    int emphasis;       /* WORD/OVERRIDE: inside emphasis markup ([word](+), *word*) */
    char *sym;          /* PUNCT: the token; OVERRIDE: phonemes (owned) */
} kk_item;

typedef struct kk_items {
    kk_item *v;
    size_t n, cap;
} kk_items;

typedef void (*kk_markup_warn_fn)(void *user, size_t offset, const char *msg);

/* Splits text into items. Broken markup is kept as text and reported through
 * warn. Returns KK_ERR_NOMEM or KK_OK. */
kk_status kk_markup_parse(const char *text, kk_items *out, kk_markup_warn_fn warn,
                          void *user, kk_error *err);
void kk_items_free(kk_items *items);

/* UTF-8 helpers. */
size_t kk_utf8_len(const char *s); /* length in bytes of the code point at s (>=1) */

#endif
