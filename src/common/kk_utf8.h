/*
 * kk_utf8.h - UTF-8 checks shared by everything that takes text from
 * outside (uploads, API bodies, the project store).
 */
#ifndef KK_UTF8_H
#define KK_UTF8_H

#include <stddef.h>

/* Is s[0, n) well-formed UTF-8 (no overlong forms, no surrogates, nothing
 * above U+10FFFF, no sequence cut at the end)? NUL bytes count as text. */
int kk_utf8_valid(const char *s, size_t n);

#endif
