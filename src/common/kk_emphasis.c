/*
 * kk_emphasis.c - see kk_emphasis.h.
 */
#include "kk_emphasis.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* The opening marks after which a '*' may open emphasis (ASCII, or the
 * UTF-8 of “ and ‘, which end in 0x9C and 0x98 after E2 80). */
static int opens_before(const char *t, size_t i)
{
    if (i == 0)
        return 1;
    unsigned char c = (unsigned char)t[i - 1];
    if (ws(c) || c == '(' || c == '[' || c == '"' || c == '\'')
        return 1;
    return i >= 3 && (unsigned char)t[i - 3] == 0xE2 && (unsigned char)t[i - 2] == 0x80 &&
           (c == 0x9C || c == 0x98);
}

static int bracket_at(const char *t, size_t n, size_t i, kk_emphasis_span *out)
{
    size_t j = i + 1;
    int blank = 1;
    while (j < n && t[j] != ']' && t[j] != '[' && t[j] != '\n') {
        if (!ws((unsigned char)t[j]))
            blank = 0;
        j++;
    }
    if (j >= n || t[j] != ']' || blank || j + 4 > n || memcmp(t + j + 1, "(+)", 3) != 0)
        return 0;
    *out = (kk_emphasis_span){.start = i, .end = j + 4, .text_start = i + 1, .text_end = j};
    return 1;
}

static int star_at(const char *t, size_t n, size_t i, kk_emphasis_span *out)
{
    if (!opens_before(t, i) || i + 1 >= n || ws((unsigned char)t[i + 1]) || t[i + 1] == '*')
        return 0;
    size_t j = i + 1;
    while (j < n && t[j] != '*' && t[j] != '\n')
        j++;
    if (j >= n || t[j] != '*' || ws((unsigned char)t[j - 1]))
        return 0;
    if (j + 1 < n && (isalnum((unsigned char)t[j + 1]) || t[j + 1] == '*'))
        return 0; /* "*a*b" or "*a**": not a word's end */
    *out = (kk_emphasis_span){.start = i, .end = j + 1, .text_start = i + 1, .text_end = j};
    return 1;
}

int kk_emphasis_at(const char *text, size_t n, size_t i, kk_emphasis_span *out)
{
    if (!text || i >= n)
        return 0;
    if (text[i] == '[')
        return bracket_at(text, n, i, out);
    if (text[i] == '*')
        return star_at(text, n, i, out);
    return 0;
}

int kk_emphasis_any(const char *text)
{
    if (!text)
        return 0;
    size_t n = strlen(text);
    kk_emphasis_span sp;
    for (size_t i = 0; i < n; i++)
        if ((text[i] == '[' || text[i] == '*') && kk_emphasis_at(text, n, i, &sp))
            return 1;
    return 0;
}

char *kk_emphasis_strip(const char *text)
{
    if (!text)
        return NULL;
    size_t n = strlen(text), o = 0;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        kk_emphasis_span sp;
        if ((text[i] == '[' || text[i] == '*') && kk_emphasis_at(text, n, i, &sp)) {
            memcpy(out + o, text + sp.text_start, sp.text_end - sp.text_start);
            o += sp.text_end - sp.text_start;
            i = sp.end;
            continue;
        }
        out[o++] = text[i++];
    }
    out[o] = '\0';
    return out;
}
