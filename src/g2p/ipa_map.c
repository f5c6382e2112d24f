/*
 * ipa_map.c - espeak-ng IPA onto misaki's symbols (Kokoro's training
 * conventions).
 *
 * The rules follow misaki's espeak fallback (misaki/espeak.py): espeak's
 * multi-letter phonemes come tied with '^' (a^ɪ, t^ʃ, ...) so that the
 * diphthongs and affricates can become misaki's single letters; then the
 * American or British adjustments; finally the remaining ties go.
 */
#include <string.h>

#include "g2p_internal.h"

int kk_buf_replace(kk_buf *b, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to);
    if (!b->data || fl == 0 || !strstr(b->data, from))
        return 0;
    kk_buf r = {0};
    const char *s = b->data;
    const char *hit;
    while ((hit = strstr(s, from)) != NULL) {
        if (kk_buf_append(&r, s, (size_t)(hit - s)) < 0 || kk_buf_append(&r, to, tl) < 0) {
            kk_buf_free(&r);
            return -1;
        }
        s = hit + fl;
    }
    if (kk_buf_puts(&r, s) < 0) {
        kk_buf_free(&r);
        return -1;
    }
    if (!r.data && kk_buf_append(&r, "", 0) < 0) { /* everything replaced by "" */
        kk_buf_free(&r);
        return -1;
    }
    kk_buf_free(b);
    *b = r;
    return 0;
}

typedef struct { const char *from, *to; } rule;

/* English, longest first (the order matters: e^ɪ before e). */
static const rule EN_RULES[] = {
    {"ʔˌn\u0329", "ʔn"}, {"ʔn\u0329", "ʔn"},
    {"a^ɪ", "I"}, {"a^ʊ", "W"}, {"d^ʒ", "ʤ"}, {"e^ɪ", "A"}, {"t^ʃ", "ʧ"},
    {"ɔ^ɪ", "Y"}, {"ə^l", "ᵊl"},
    {"ʲo", "jo"}, {"ʲə", "jə"},
    {"e", "A"}, {"ʲ", ""}, {"ɚ", "əɹ"}, {"r", "ɹ"}, {"x", "k"}, {"ç", "k"},
    {"ɐ", "ə"}, {"ɬ", "l"}, {"\u0303", ""},
};

/* Other languages (misaki's EspeakG2P). */
static const rule OTHER_RULES[] = {
    {"a^ɪ", "I"}, {"a^ʊ", "W"}, {"d^z", "ʣ"}, {"d^ʒ", "ʤ"}, {"e^ɪ", "A"},
    {"o^ʊ", "O"}, {"ə^ʊ", "Q"}, {"s^s", "S"}, {"t^s", "ʦ"}, {"t^ʃ", "ʧ"},
    {"ɔ^ɪ", "Y"},
};

static int apply(kk_buf *b, const rule *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (kk_buf_replace(b, r[i].from, r[i].to) < 0)
            return -1;
    return 0;
}

/* A syllabic mark after a letter becomes a schwa before it: n̩ -> ᵊn. */
static int syllabic_to_schwa(kk_buf *b)
{
    static const char MARK[] = "\u0329";
    if (!b->data || !strstr(b->data, MARK))
        return 0;
    kk_buf r = {0};
    const char *s = b->data;
    size_t i = 0, n = b->len;
    size_t prev = (size_t)-1; /* start of the last code point copied, in r */
    while (i < n) {
        size_t l = kk_utf8_len(s + i);
        if (i + l > n)
            l = n - i;
        if (l == 2 && memcmp(s + i, MARK, 2) == 0) {
            if (prev != (size_t)-1 && r.data[prev] != ' ') {
                /* insert ᵊ before the previous code point */
                char tail[8];
                size_t tl = r.len - prev;
                if (tl < sizeof tail) {
                    memcpy(tail, r.data + prev, tl);
                    r.len = prev;
                    if (kk_buf_puts(&r, "ᵊ") < 0 || kk_buf_append(&r, tail, tl) < 0)
                        goto nomem;
                }
            }
            i += l;
            continue;
        }
        prev = r.len;
        if (kk_buf_append(&r, s + i, l) < 0)
            goto nomem;
        i += l;
    }
    if (!r.data && kk_buf_append(&r, "", 0) < 0)
        goto nomem;
    kk_buf_free(b);
    *b = r;
    return 0;
nomem:
    kk_buf_free(&r);
    return -1;
}

int kk_ipa_to_misaki(kk_buf *b, kk_ipa_style style, int flap_as_T)
{
    if (!b->data)
        return 0;
    if (style == KK_IPA_OTHER) {
        if (apply(b, OTHER_RULES, sizeof OTHER_RULES / sizeof OTHER_RULES[0]) < 0 ||
            kk_buf_replace(b, "^", "") < 0 || kk_buf_replace(b, "-", "") < 0)
            return -1;
        return 0;
    }
    /* British "square" vowel: misaki means e^ə -> ɛː, but its generic e -> A
     * rule runs first and hides it; we apply it first, as intended. */
    if (style == KK_IPA_EN_GB && kk_buf_replace(b, "e^ə", "ɛː") < 0)
        return -1;
    if (apply(b, EN_RULES, sizeof EN_RULES / sizeof EN_RULES[0]) < 0 || syllabic_to_schwa(b) < 0)
        return -1;
    if (style == KK_IPA_EN_GB) {
        /* misaki's British symbols have a, not æ ("ash" ˈaʃ) */
        if (kk_buf_replace(b, "iə", "ɪə") < 0 || kk_buf_replace(b, "ə^ʊ", "Q") < 0 || kk_buf_replace(b, "æ", "a") < 0)
            return -1;
    } else {
        static const rule US[] = {
            {"o^ʊ", "O"}, {"ɜːɹ", "ɜɹ"}, {"ɜː", "ɜɹ"}, {"ɪə", "iə"}, {"ː", ""},
        };
        if (apply(b, US, sizeof US / sizeof US[0]) < 0)
            return -1;
    }
    if (kk_buf_replace(b, "o", "ɔ") < 0) /* espeak-ng < 1.52 */
        return -1;
    /* misaki for Kokoro v1.0 (any version but 2.0): ɾ -> T, ʔ -> t */
    if (flap_as_T &&
        (kk_buf_replace(b, "ɾ", "T") < 0 || kk_buf_replace(b, "ʔ", "t") < 0))
        return -1;
    if (kk_buf_replace(b, "^", "") < 0)
        return -1;
    /* ɚ before a linking r gives əɹɹ ("weather in"): one ɹ, as misaki has */
    while (b->data && strstr(b->data, "ɹɹ"))
        if (kk_buf_replace(b, "ɹɹ", "ɹ") < 0)
            return -1;
    return 0;
}
