/*
 * kk_emphasis.h - the emphasis markup of segment text: "[word](+)" or
 * "*word*" marks a stressed word (or a few words). The g2p reads it (the
 * words inside are spoken stressed and lengthened, the marks not spoken);
 * the subtitle writers of a render show the plain words. One recogniser
 * for both, so that what is spoken and what is shown never disagree.
 *
 * The shapes, all on one line:
 *   - "[X](+)": X is not empty, holds no '[' or ']' and is not only
 *     white space;
 *   - "*X*": the opening '*' is at the start of the text or after white
 *     space or an opening mark ( ( [ " “ ‘ ' ), the character after it is
 *     not white space nor '*'; the closing '*' is the next '*', right after
 *     a character that is not white space, and is followed by the end, white
 *     space or punctuation (an ASCII letter or digit). So "2*3*4", "a * b" and
 *     "footnote*" are not emphasis.
 * Anything else (an unclosed "[word](", "[](+)") is not emphasis: it stays
 * text, read as written.
 *
 * Layer: src/common (nothing else).
 */
#ifndef KK_EMPHASIS_H
#define KK_EMPHASIS_H

#include <stddef.h>

typedef struct kk_emphasis_span {
    size_t start, end;           /* the whole markup, marks included: text[start, end) */
    size_t text_start, text_end; /* the emphasised words inside it */
} kk_emphasis_span;

/* Whether emphasis markup starts at byte i of text (n bytes): 1 with *out
 * filled, else 0 (out untouched). */
int kk_emphasis_at(const char *text, size_t n, size_t i, kk_emphasis_span *out);

/* text with every emphasis markup replaced by its words ("a [big](+) *red*
 * dog" -> "a big red dog"); other markup is left as it is. malloc'd; NULL
 * when text is NULL or memory runs out. */
char *kk_emphasis_strip(const char *text);

/* 1 when text holds any emphasis markup (a cheap test before stripping). */
int kk_emphasis_any(const char *text);

#endif
