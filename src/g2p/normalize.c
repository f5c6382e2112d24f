/*
 * normalize.c - written English to the words that are spoken: see
 * normalize.h for the contract.
 *
 * Owns the number words (cardinals, ordinals, years, digit strings,
 * fractions) and the rules that find numbers, money, percentages, ranges,
 * scores, dates, times, phone numbers, units, Roman numerals, abbreviations,
 * URLs and e-mail addresses in running text.
 *
 * How: one pass from left to right. Whitespace and markup are copied. At any
 * other position the rules for what starts there (a digit, a letter, a
 * currency sign...) are tried in a fixed order; the first that matches
 * writes its words into a scratch buffer and the whole source token becomes
 * one expansion span. When none matches, the word (letters or digits and the
 * marks that join them: "don't", "1.2.3", "and/or") or the single mark is
 * copied verbatim, so nothing is lost. Rules look only a bounded number of
 * bytes ahead and behind, and a run that they reject is copied in one step,
 * so the pass is linear. Memory: the output, the spans and one scratch
 * buffer, each grown by doubling.
 *
 * Readings follow how a US or British newsreader says the text: "$49.99"
 * forty-nine dollars and ninety-nine cents, "1905" (as a year) nineteen oh
 * five, "7:30 pm" seven thirty PM, "555-0142" five five five, oh one four
 * two. Acronyms are left as written (the dictionary knows FBI from NASA);
 * letters that must be spelled ("https", "www") are written as capitals
 * separated by spaces, which the dictionary reads as letter names.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "normalize.h"
#include "kk_emphasis.h"

#define NONE ((size_t)-1)
#define BAD_CP 0xFFFFFFFFu /* a byte that does not start valid UTF-8 */

/* ------------------------------------------------------------------ */
/* Growable byte buffer: always NUL-terminated once anything is added; on a
 * failed allocation it sets oom and ignores further writes. */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

/* Appends word w after one space, unless b is empty or ends in a space or a
 * hyphen (so compounds can be built: "twenty" "-" "one"). */
static void sb_word(sbuf *b, const char *w)
{
    if (b->n && b->p[b->n - 1] != ' ' && b->p[b->n - 1] != '-')
        sb_putn(b, " ", 1);
    sb_puts(b, w);
}

static void sb_wordn(sbuf *b, const char *w, size_t n)
{
    if (b->n && b->p[b->n - 1] != ' ' && b->p[b->n - 1] != '-')
        sb_putn(b, " ", 1);
    sb_putn(b, w, n);
}

static void sb_clear(sbuf *b)
{
    b->n = 0;
    if (b->p)
        b->p[0] = 0;
}

/* Capitalises the first letter written since index from. */
static void sb_cap_from(sbuf *b, size_t from)
{
    while (!b->oom && from < b->n && b->p[from] == ' ')
        from++;
    if (!b->oom && from < b->n && b->p[from] >= 'a' && b->p[from] <= 'z')
        b->p[from] = (char)(b->p[from] - 32);
}

/* ------------------------------------------------------------------ */
/* The pass's state. */

typedef struct nz {
    const char *s; /* the source, n bytes, s[n] == 0 */
    size_t n;
    int gb;          /* British readings */
    sbuf out;        /* the normalised text */
    sbuf x;          /* the expansion a rule is building */
    kk_norm_span *sp;
    size_t nsp, capsp;
    int oom;
    size_t year_end; /* source end of the last number read as a year, or NONE:
                        "from 1990 to 1995" reads the second as a year too */
    size_t nc_from, nc_at; /* memo of close_paren(): the first ')' or '\n' at
                              or after nc_from is at nc_at (n: none) */
} nz;

static unsigned at(const nz *z, size_t i) { return i < z->n ? (unsigned char)z->s[i] : 0; }
static int is_digit(unsigned c) { return c >= '0' && c <= '9'; }
static int is_alpha(unsigned c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_upper(unsigned c) { return c >= 'A' && c <= 'Z'; }
static int is_lower(unsigned c) { return c >= 'a' && c <= 'z'; }
static int is_alnum(unsigned c) { return is_digit(c) || is_alpha(c); }
static int is_vowel(unsigned c)
{
    c |= 32;
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

/* The code point at i and its byte length; a broken or truncated sequence
 * reads as one byte (BAD_CP). At or past the end: 0, length 0. */
static uint32_t cp_at(const nz *z, size_t i, size_t *len)
{
    if (i >= z->n) {
        *len = 0;
        return 0;
    }
    const unsigned char *s = (const unsigned char *)z->s;
    unsigned c = s[i];
    if (c < 0x80) {
        *len = 1;
        return c;
    }
    size_t l = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!l || i + l > z->n) {
        *len = 1;
        return BAD_CP;
    }
    uint32_t v = c & (0x3Fu >> (l - 1));
    for (size_t k = 1; k < l; k++) {
        if ((s[i + k] & 0xC0) != 0x80) {
            *len = 1;
            return BAD_CP;
        }
        v = (v << 6) | (s[i + k] & 0x3F);
    }
    *len = l;
    return v;
}

/* Letters and digits of any script are "word" characters; punctuation,
 * symbols, spaces, emoji and broken bytes are not. */
static int is_word_cp(uint32_t cp)
{
    if (cp < 0x80)
        return is_alnum(cp);
    if (cp == BAD_CP || cp <= 0xBF || cp == 0xD7 || cp == 0xF7)
        return 0;
    if ((cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) ||
        (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xFF01 && cp <= 0xFF0F) ||
        (cp >= 0x1F000 && cp <= 0x1FFFF))
        return 0;
    return 1;
}

static int word_at(const nz *z, size_t i)
{
    size_t l;
    return is_word_cp(cp_at(z, i, &l));
}

/* Is the character that ends just before i a word character? */
static int word_before(const nz *z, size_t i)
{
    if (i == 0)
        return 0;
    size_t j = i - 1;
    while (j > 0 && i - j < 4 && ((unsigned char)z->s[j] & 0xC0) == 0x80)
        j--;
    size_t l;
    uint32_t cp = cp_at(z, j, &l);
    return j + l == i && is_word_cp(cp);
}

/* Whitespace as g2p_markup.c sees it (ASCII, no-break, thin, ideographic). */
static int space_at(const nz *z, size_t i, size_t *len)
{
    unsigned c = at(z, i);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        *len = 1;
        return 1;
    }
    if (c == 0xC2 && at(z, i + 1) == 0xA0) {
        *len = 2;
        return 1;
    }
    if (i + 3 <= z->n && (memcmp(z->s + i, "\u3000", 3) == 0 || memcmp(z->s + i, "\u2009", 3) == 0 ||
                          memcmp(z->s + i, "\u202F", 3) == 0)) {
        *len = 3;
        return 1;
    }
    return 0;
}

/* Skips spaces and tabs (and no-break spaces) on the same line, at most max
 * bytes. */
static size_t skip_hs(const nz *z, size_t i, size_t max)
{
    size_t j = i;
    while (j - i < max) {
        if (at(z, j) == ' ' || at(z, j) == '\t')
            j++;
        else if (at(z, j) == 0xC2 && at(z, j + 1) == 0xA0)
            j += 2;
        else
            break;
    }
    return j;
}

static int has_at(const nz *z, size_t i, const char *lit)
{
    size_t l = strlen(lit);
    return i + l <= z->n && memcmp(z->s + i, lit, l) == 0;
}

/* Can a number (or other token a rule read) end at e? Not when a letter or
 * digit follows, nor a mark that joins it to more digits ("1.2.3", "3-4-5",
 * "1:2"); a hyphen before a word is fine ("5-year-old"). */
static int ok_end(const nz *z, size_t e)
{
    unsigned c = at(z, e);
    if (!c)
        return 1;
    if (is_alnum(c) || c == '_' || c == '@')
        return 0;
    if ((c == '.' || c == ',' || c == ':' || c == '/' || c == '-' || c == '\'') && is_digit(at(z, e + 1)))
        return 0;
    if (c >= 0x80) {
        size_t l;
        uint32_t cp = cp_at(z, e, &l);
        if (is_word_cp(cp))
            return 0;
        if ((cp == 0x2013 || cp == 0x2014) && is_digit(at(z, e + l)))
            return 0;
    }
    return 1;
}

/* Is the text after e the start of a new sentence (end of text, a line
 * break, or a capital letter after spaces)? Says whether an abbreviation's
 * period also ends the sentence. */
static int sentence_end_after(const nz *z, size_t e)
{
    size_t j = e;
    while (j < z->n && j - e < 8 && (z->s[j] == ' ' || z->s[j] == '\t' || z->s[j] == '\r'))
        j++;
    if (j >= z->n)
        return 1;
    unsigned c = at(z, j);
    return c == '\n' || is_upper(c) || c == '"' || has_at(z, j, "\u201C");
}

/* Only spaces up to the end of the text or of the line after e? Then a
 * period just before e ends the sentence whatever word it follows. */
static int text_end_after(const nz *z, size_t e)
{
    size_t j = e;
    while (j < z->n && j - e < 8 && (z->s[j] == ' ' || z->s[j] == '\t' || z->s[j] == '\r'))
        j++;
    return j >= z->n || z->s[j] == '\n';
}

/* The ASCII word that ends just before i (skipping at most 6 bytes of
 * spaces and opening marks), at most 24 letters: its length (0: none) and
 * start *ws. A word glued to digits ("B12") does not count. */
static size_t prev_word(const nz *z, size_t i, size_t *ws)
{
    size_t j = i, k = 0;
    while (j > 0 && k < 6) {
        unsigned c = (unsigned char)z->s[j - 1];
        if (c == ' ' || c == '\t' || c == '(' || c == '"' || c == '-') {
            j--;
            k++;
        } else if (c == 0xA0 && j >= 2 && (unsigned char)z->s[j - 2] == 0xC2) {
            j -= 2;
            k += 2;
        } else
            break;
    }
    size_t e = j;
    while (j > 0 && e - j < 24 && is_alpha((unsigned char)z->s[j - 1]))
        j--;
    if (j > 0 && (is_digit((unsigned char)z->s[j - 1]) || is_alpha((unsigned char)z->s[j - 1])))
        return 0;
    *ws = j;
    return e - j;
}

/* Where the spaces and tabs just before i begin (at most 4 bytes back). */
static size_t skip_back_hs(const nz *z, size_t i)
{
    size_t j = i;
    while (j > 0 && i - j < 4 && (z->s[j - 1] == ' ' || z->s[j - 1] == '\t'))
        j--;
    return j;
}

/* The ASCII word after e (skipping at most 4 bytes of spaces), at most 24
 * letters: its length (0: none) and start *ws. */
static size_t next_word(const nz *z, size_t e, size_t *ws)
{
    size_t j = skip_hs(z, e, 4), k = j;
    while (k < z->n && k - j < 24 && is_alpha(at(z, k)))
        k++;
    *ws = j;
    return k - j;
}

/* Does the word at ws start a sentence (text start, or after . ! ? : or a
 * line break, skipping spaces and opening quotes)? */
static int sentence_initial(const nz *z, size_t ws)
{
    size_t j = ws, k = 0;
    while (j > 0 && k < 8) {
        unsigned c = (unsigned char)z->s[j - 1];
        if (c == ' ' || c == '\t' || c == '"' || c == '(' || c == '\'') {
            j--;
            k++;
        } else if (j >= 3 && (memcmp(z->s + j - 3, "\u201C", 3) == 0 || memcmp(z->s + j - 3, "\u2018", 3) == 0)) {
            j -= 3;
            k += 3;
        } else
            break;
    }
    if (j == 0)
        return 1;
    unsigned c = (unsigned char)z->s[j - 1];
    return c == '.' || c == '!' || c == '?' || c == ':' || c == '\n' || c == '\r';
}

static int word_eq(const nz *z, size_t ws, size_t wl, const char *w)
{
    return wl && strlen(w) == wl && strncasecmp(z->s + ws, w, wl) == 0;
}

/* Is the word one of list (case-insensitive; NULL-terminated)? */
static int word_in(const nz *z, size_t ws, size_t wl, const char *const *list)
{
    for (; *list; list++)
        if (word_eq(z, ws, wl, *list))
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Number words. */

static const char *const ONES[20] = {"zero",    "one",     "two",       "three",    "four",
                                     "five",    "six",     "seven",     "eight",    "nine",
                                     "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                     "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const TENS[10] = {"", "ten", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};

/* 0..99: "seven", "forty-two". */
static void say_99(sbuf *b, unsigned v)
{
    if (v < 20) {
        sb_word(b, ONES[v]);
        return;
    }
    sb_word(b, TENS[v / 10]);
    if (v % 10) {
        sb_puts(b, "-");
        sb_puts(b, ONES[v % 10]);
    }
}

/* 1..999: "one hundred five" (en-gb "one hundred and five"). */
static void say_999(sbuf *b, unsigned v, int gb)
{
    if (v >= 100) {
        sb_word(b, ONES[v / 100]);
        sb_word(b, "hundred");
        if (v % 100 && gb)
            sb_word(b, "and");
    }
    if (v % 100)
        say_99(b, v % 100);
}

/* v < 10^18. British English says "and" before the last part under a
 * hundred ("one thousand and five"). */
static void say_cardinal(sbuf *b, uint64_t v, int gb)
{
    static const char *const SCALE[6] = {"", "thousand", "million", "billion", "trillion", "quadrillion"};
    if (!v) {
        sb_word(b, "zero");
        return;
    }
    unsigned g[6];
    uint64_t t = v;
    for (int k = 0; k < 6; k++) {
        g[k] = (unsigned)(t % 1000);
        t /= 1000;
    }
    for (int k = 5; k >= 0; k--) {
        if (!g[k])
            continue;
        if (k == 0 && gb && v >= 1000 && g[0] < 100)
            sb_word(b, "and");
        say_999(b, g[k], gb);
        if (k)
            sb_word(b, SCALE[k]);
    }
}

/* Turns the last word written since from (after its last space or hyphen)
 * into its ordinal: one -> first, twenty -> twentieth, seven -> seventh. */
static void ordinalize(sbuf *b, size_t from)
{
    static const char *const IRR[][2] = {{"one", "first"}, {"two", "second"}, {"three", "third"},
                                         {"five", "fifth"}, {"eight", "eighth"}, {"nine", "ninth"},
                                         {"twelve", "twelfth"}};
    if (b->oom || b->n <= from)
        return;
    size_t w = b->n;
    while (w > from && b->p[w - 1] != ' ' && b->p[w - 1] != '-')
        w--;
    for (size_t k = 0; k < sizeof IRR / sizeof IRR[0]; k++)
        if (strcmp(b->p + w, IRR[k][0]) == 0) {
            b->n = w;
            b->p[w] = 0;
            sb_puts(b, IRR[k][1]);
            return;
        }
    if (b->p[b->n - 1] == 'y') {
        b->p[--b->n] = 0;
        sb_puts(b, "ieth");
        return;
    }
    sb_puts(b, "th");
}

/* The plural of the last word written: nineties, hundreds, tens. */
static void pluralize(sbuf *b)
{
    if (b->oom || !b->n)
        return;
    if (b->p[b->n - 1] == 'y') {
        b->p[--b->n] = 0;
        sb_puts(b, "ies");
    } else
        sb_puts(b, "s");
}

static void say_ordinal(sbuf *b, uint64_t v, int gb)
{
    size_t from = b->n;
    say_cardinal(b, v, gb);
    ordinalize(b, from);
}

/* A year: 1999 nineteen ninety-nine, 1905 nineteen oh five, 1900 nineteen
 * hundred, 2000 two thousand, 2005 two thousand five (en-gb two thousand
 * and five), 2026 twenty twenty-six. Below 1000 or above 9999: a cardinal. */
static void say_year(sbuf *b, uint64_t v, int gb)
{
    if (v < 1000 || v > 9999) {
        say_cardinal(b, v, gb);
        return;
    }
    unsigned hi = (unsigned)(v / 100), lo = (unsigned)(v % 100);
    if (lo == 0 && hi % 10 == 0) {
        say_cardinal(b, v, gb); /* 1000, 2000 */
    } else if (lo == 0) {
        say_99(b, hi);
        sb_word(b, "hundred");
    } else if (lo < 10 && hi == 20) {
        say_cardinal(b, v, gb); /* two thousand (and) five */
    } else if (lo < 10) {
        say_99(b, hi);
        sb_word(b, "oh");
        sb_word(b, ONES[lo]);
    } else {
        say_99(b, hi);
        say_99(b, lo);
    }
}

/* One digit; zero as "oh" where people say so (phone numbers, times). */
static void say_digit(sbuf *b, unsigned c, int oh)
{
    sb_word(b, c == '0' && oh ? "oh" : ONES[c - '0']);
}

/* Every digit of s[a, e), skipping separators. */
static void say_digits(const nz *z, sbuf *b, size_t a, size_t e, int oh)
{
    for (size_t k = a; k < e; k++)
        if (is_digit(at(z, k)))
            say_digit(b, at(z, k), oh);
}

/* A number as written: digits with optional thousands separators, an
 * optional fraction ("1,234.5", ".5"). */
typedef struct num {
    size_t start, end; /* its bytes */
    size_t int_end;    /* end of the integer part */
    size_t nd;         /* integer digits (separators not counted) */
    uint64_t v;        /* their value when nd <= 18 */
    int commas;        /* written with thousands separators */
    size_t fs, fe;     /* fraction digits; fs == fe: none */
} num;

static int parse_num(const nz *z, size_t i, num *m)
{
    memset(m, 0, sizeof *m);
    m->start = i;
    size_t j = i;
    while (is_digit(at(z, j))) {
        if (m->nd < 18)
            m->v = m->v * 10 + (at(z, j) - '0');
        m->nd++;
        j++;
    }
    if (m->nd >= 1 && m->nd <= 3 && at(z, i) != '0') {
        while (at(z, j) == ',' && is_digit(at(z, j + 1)) && is_digit(at(z, j + 2)) && is_digit(at(z, j + 3)) &&
               !is_digit(at(z, j + 4))) {
            for (size_t k = j + 1; k <= j + 3; k++) {
                if (m->nd < 18)
                    m->v = m->v * 10 + (at(z, k) - '0');
                m->nd++;
            }
            j += 4;
            m->commas = 1;
        }
    }
    m->int_end = j;
    m->fs = m->fe = j;
    if (at(z, j) == '.' && is_digit(at(z, j + 1))) {
        m->fs = ++j;
        while (is_digit(at(z, j)))
            j++;
        m->fe = j;
    }
    if (!m->nd && m->fs == m->fe)
        return 0;
    m->end = j;
    return 1;
}

static int num_frac(const num *m) { return m->fe > m->fs; }
static int num_plain_int(const num *m) { return m->nd && m->nd <= 18 && !num_frac(m); }
static int leading_zero(const nz *z, const num *m) { return m->nd > 1 && at(z, m->start) == '0'; }
/* Exactly the integer 1 (singular units: "1 lb" one pound, "1.0 lb" pounds). */
static int num_is_one(const num *m) { return num_plain_int(m) && m->v == 1; }

/* The integer part: a cardinal, or digit by digit when it is too long or
 * starts with 0 ("007"). Nothing for ".5". */
static void say_int(const nz *z, sbuf *b, const num *m)
{
    if (!m->nd)
        return;
    if (m->nd > 18 || leading_zero(z, m))
        say_digits(z, b, m->start, m->int_end, 0);
    else
        say_cardinal(b, m->v, z->gb);
}

/* 3.14 three point one four; .5 point five. */
static void say_num(const nz *z, sbuf *b, const num *m)
{
    say_int(z, b, m);
    if (num_frac(m)) {
        sb_word(b, "point");
        say_digits(z, b, m->fs, m->fe, 0);
    }
}

/* ------------------------------------------------------------------ */
/* Tables. */

typedef struct money {
    const char *sym;  /* its sign, or NULL */
    const char *code; /* ISO 4217 */
    const char *one, *many;
    const char *sub_one, *sub_many; /* its hundredth, or NULL */
} money;

static const money MONEY[] = {
    {"$", "USD", "dollar", "dollars", "cent", "cents"},
    {"US$", NULL, "dollar", "dollars", "cent", "cents"},
    {"\u00A3", "GBP", "pound", "pounds", "penny", "pence"},
    {"\u20AC", "EUR", "euro", "euros", "cent", "cents"},
    {"\u00A5", "JPY", "yen", "yen", NULL, NULL},
    {"\u20B9", "INR", "rupee", "rupees", "paisa", "paise"},
    {NULL, "CAD", "Canadian dollar", "Canadian dollars", "cent", "cents"},
    {NULL, "AUD", "Australian dollar", "Australian dollars", "cent", "cents"},
    {NULL, "CHF", "Swiss franc", "Swiss francs", "centime", "centimes"},
    {NULL, "CNY", "yuan", "yuan", NULL, NULL},
};
#define N_MONEY (sizeof MONEY / sizeof MONEY[0])

static const money *money_sym_at(const nz *z, size_t i, size_t *len)
{
    for (size_t k = 0; k < N_MONEY; k++)
        if (MONEY[k].sym && has_at(z, i, MONEY[k].sym)) {
            *len = strlen(MONEY[k].sym);
            return &MONEY[k];
        }
    return NULL;
}

/* An ISO code ("USD") standing alone at i. */
static const money *money_code_at(const nz *z, size_t i, size_t *len)
{
    if (!is_upper(at(z, i)) || !is_upper(at(z, i + 1)) || !is_upper(at(z, i + 2)) || is_alpha(at(z, i + 3)))
        return NULL;
    for (size_t k = 0; k < N_MONEY; k++)
        if (MONEY[k].code && memcmp(z->s + i, MONEY[k].code, 3) == 0) {
            *len = 3;
            return &MONEY[k];
        }
    return NULL;
}

typedef struct unit {
    const char *key; /* as written after the number */
    const char *one, *many;
    const char *gb_one, *gb_many; /* British spelling, or NULL: the same */
    int attached_only;            /* "5in" yes, "5 in" no */
} unit;

static const unit UNITS[] = {
    {"km/h", "kilometer per hour", "kilometers per hour", "kilometre per hour", "kilometres per hour", 0},
    {"kph", "kilometer per hour", "kilometers per hour", "kilometre per hour", "kilometres per hour", 0},
    {"mph", "mile per hour", "miles per hour", NULL, NULL, 0},
    {"m/s", "meter per second", "meters per second", "metre per second", "metres per second", 0},
    {"lbs", "pound", "pounds", NULL, NULL, 0},
    {"lb", "pound", "pounds", NULL, NULL, 0},
    {"oz", "ounce", "ounces", NULL, NULL, 0},
    {"kg", "kilogram", "kilograms", NULL, NULL, 0},
    {"kgs", "kilogram", "kilograms", NULL, NULL, 0},
    {"mg", "milligram", "milligrams", NULL, NULL, 0},
    {"g", "gram", "grams", NULL, NULL, 0},
    {"km", "kilometer", "kilometers", "kilometre", "kilometres", 0},
    {"cm", "centimeter", "centimeters", "centimetre", "centimetres", 0},
    {"mm", "millimeter", "millimeters", "millimetre", "millimetres", 0},
    {"m", "meter", "meters", "metre", "metres", 0},
    {"mi", "mile", "miles", NULL, NULL, 0},
    {"ft", "foot", "feet", NULL, NULL, 0},
    {"in", "inch", "inches", NULL, NULL, 1},
    {"yd", "yard", "yards", NULL, NULL, 0},
    {"yds", "yard", "yards", NULL, NULL, 0},
    {"ml", "milliliter", "milliliters", "millilitre", "millilitres", 0},
    {"mL", "milliliter", "milliliters", "millilitre", "millilitres", 0},
    {"L", "liter", "liters", "litre", "litres", 0},
    {"l", "liter", "liters", "litre", "litres", 1},
    {"\u00B0F", "degree Fahrenheit", "degrees Fahrenheit", NULL, NULL, 0},
    {"\u00B0C", "degree Celsius", "degrees Celsius", NULL, NULL, 0},
    {"\u00B0", "degree", "degrees", NULL, NULL, 0},
    {"KB", "kilobyte", "kilobytes", NULL, NULL, 0},
    {"kB", "kilobyte", "kilobytes", NULL, NULL, 0},
    {"MB", "megabyte", "megabytes", NULL, NULL, 0},
    {"GB", "gigabyte", "gigabytes", NULL, NULL, 0},
    {"TB", "terabyte", "terabytes", NULL, NULL, 0},
    {"Hz", "hertz", "hertz", NULL, NULL, 0},
    {"kHz", "kilohertz", "kilohertz", NULL, NULL, 0},
    {"MHz", "megahertz", "megahertz", NULL, NULL, 0},
    {"GHz", "gigahertz", "gigahertz", NULL, NULL, 0},
    {"h", "hour", "hours", NULL, NULL, 0},
    {"hr", "hour", "hours", NULL, NULL, 0},
    {"hrs", "hour", "hours", NULL, NULL, 0},
    {"min", "minute", "minutes", NULL, NULL, 0},
    {"mins", "minute", "minutes", NULL, NULL, 0},
    {"s", "second", "seconds", NULL, NULL, 0},
    {"sec", "second", "seconds", NULL, NULL, 0},
    {"secs", "second", "seconds", NULL, NULL, 0},
    {"ms", "millisecond", "milliseconds", NULL, NULL, 0},
    {"kWh", "kilowatt hour", "kilowatt hours", NULL, NULL, 0},
    {"kW", "kilowatt", "kilowatts", NULL, NULL, 0},
    {"W", "watt", "watts", NULL, NULL, 0},
    {"V", "volt", "volts", NULL, NULL, 0},
    {"mAh", "milliamp hour", "milliamp hours", NULL, NULL, 0},
    {"kcal", "kilocalorie", "kilocalories", NULL, NULL, 0},
    {"cal", "calorie", "calories", NULL, NULL, 0},
    {"px", "pixel", "pixels", NULL, NULL, 0},
};

/* A unit written right after a number ending at e (attached, or after one
 * space): the longest key that is followed by the end of a token. glued:
 * the number hangs off a word by a hyphen ("kokoro-82m"): no attached unit. */
static const unit *unit_after(const nz *z, size_t e, size_t *uend, int glued)
{
    const unit *best = NULL;
    size_t best_len = 0;
    size_t k = skip_hs(z, e, 2);
    for (size_t pass = 0; pass < 2; pass++) {
        size_t p = pass ? k : e;
        if (pass && k == e)
            break;
        for (size_t u = 0; u < sizeof UNITS / sizeof UNITS[0]; u++) {
            const unit *t = &UNITS[u];
            size_t l = strlen(t->key);
            if (l <= best_len || (pass && t->attached_only) || !has_at(z, p, t->key))
                continue;
            /* "°" before a letter is "°F"-like: only the listed ones */
            if (!ok_end(z, p + l) || at(z, p + l) == '/' || at(z, p + l) == '^')
                continue;
            /* "kokoro-82m" is a name, not 82 meters */
            if (!pass && glued)
                continue;
            best = t;
            best_len = l;
            *uend = p + l;
        }
        if (best)
            break;
    }
    return best;
}

static void say_unit(const nz *z, sbuf *b, const unit *u, int one)
{
    const char *w = one ? (z->gb && u->gb_one ? u->gb_one : u->one) : (z->gb && u->gb_many ? u->gb_many : u->many);
    sb_word(b, w);
}

static const char *const MONTHS[12] = {"January", "February", "March",     "April",   "May",      "June",
                                       "July",    "August",   "September", "October", "November", "December"};

/* A capitalised month name or abbreviation at i ("March", "Mar", "Mar.",
 * "Sept."): its number 1..12 and the end after it (and its period). */
static int month_at(const nz *z, size_t i, size_t *end)
{
    if (!is_upper(at(z, i)))
        return 0;
    size_t j = i;
    while (j - i < 10 && is_alpha(at(z, j)))
        j++;
    size_t l = j - i;
    if (is_alpha(at(z, j)))
        return 0;
    for (int m = 0; m < 12; m++) {
        size_t ml = strlen(MONTHS[m]);
        int full = l == ml && strncmp(z->s + i, MONTHS[m], ml) == 0;
        int abbr = (l == 3 && strncmp(z->s + i, MONTHS[m], 3) == 0) ||
                   (m == 8 && l == 4 && strncmp(z->s + i, "Sept", 4) == 0);
        if (full || abbr) {
            *end = j + (abbr && at(z, j) == '.' ? 1 : 0);
            return m + 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* The rules. Each tries to read a token starting at i; on a match it leaves
 * the words in z->x, sets *endp to the token's end and returns 1. They
 * change nothing else unless they match (year_end). */

/* The year rule's context: is the 4-digit number m (ending at e) a year? */
static int year_like(nz *z, const num *m)
{
    if (!num_plain_int(m) || m->commas || m->nd > 4 || leading_zero(z, m))
        return 0;
    /* before an era: "1200 BC", "500 B.C.", "1066 AD" */
    static const char *const ERA[] = {"BC", "BCE", "AD", "CE", NULL};
    size_t ws, wl = next_word(z, m->end, &ws);
    if (wl && ws > m->end && is_upper(at(z, ws)) &&
        ((word_in(z, ws, wl, ERA) && is_upper(at(z, ws + 1)) && !word_at(z, ws + wl)) ||
         has_at(z, ws, "B.C.") || has_at(z, ws, "A.D.")))
        return 1;
    if (m->nd != 4 || m->v < 1000 || m->v > 2099)
        return 0;
    static const char *const PREV[] = {
        "in",       "since",    "by",       "from",     "until",     "till",    "til",      "of",
        "year",     "during",   "before",   "after",    "circa",     "ca",      "early",    "late",
        "mid",      "summer",   "winter",   "spring",   "autumn",    "fall",    "copyright", "born",
        "died",     "founded",  "established", "est",   "vintage",   "around",  "AD",       "January",
        "February", "March",    "April",    "May",      "June",      "July",    "August",   "September",
        "October",  "November", "December", "Jan",      "Feb",       "Mar",     "Apr",      "Jun",
        "Jul",      "Aug",      "Sep",      "Sept",     "Oct",       "Nov",     "Dec",      "between",
        "throughout", NULL};
    static const char *const CHAIN[] = {"to", "and", "or", "through", "thru", "till", "until", "versus", "vs", NULL};
    size_t pl = prev_word(z, m->start, &ws);
    size_t b = skip_back_hs(z, m->start);
    if (!pl && b > 0 && z->s[b - 1] == '.') /* "Jan. 2024" */
        pl = prev_word(z, b - 1, &ws);
    if (!pl)
        return 0;
    if (word_in(z, ws, pl, PREV))
        return 1;
    return z->year_end != NONE && ws >= z->year_end && ws - z->year_end <= 3 && word_in(z, ws, pl, CHAIN);
}

/* Magnitude after a money amount: "$5M", "£3.2bn", "$3.2 billion". */
static size_t mag_after(const nz *z, size_t e, const char **mag)
{
    static const struct {
        const char *key, *word;
        int spaced;
    } MAG[] = {
        {"thousand", "thousand", 1}, {"million", "million", 1}, {"billion", "billion", 1},
        {"trillion", "trillion", 1}, {"bn", "billion", 1},      {"mn", "million", 1},
        {"tn", "trillion", 1},       {"b", "billion", 0},       {"B", "billion", 0},
        {"m", "million", 0},         {"M", "million", 0},       {"k", "thousand", 0},
        {"K", "thousand", 0},        {"T", "trillion", 0},
    };
    *mag = NULL;
    size_t k = skip_hs(z, e, 2);
    for (size_t t = 0; t < sizeof MAG / sizeof MAG[0]; t++) {
        size_t l = strlen(MAG[t].key);
        if (has_at(z, e, MAG[t].key) && ok_end(z, e + l)) {
            *mag = MAG[t].word;
            return e + l;
        }
        if (MAG[t].spaced && k > e && has_at(z, k, MAG[t].key) && ok_end(z, k + l)) {
            *mag = MAG[t].word;
            return k + l;
        }
    }
    return e;
}

/* "$5/month", "$20/hr": reads "per month" into z->x and returns the end
 * after it, or returns e unchanged. */
static size_t per_after(nz *z, size_t e)
{
    static const char *const PER[][2] = {{"month", "month"}, {"mo", "month"}, {"year", "year"}, {"yr", "year"},
                                         {"week", "week"},   {"wk", "week"},  {"day", "day"},   {"hour", "hour"},
                                         {"hr", "hour"},     {"h", "hour"},   {"night", "night"}, {"person", "person"},
                                         {"kg", "kilogram"}, {"lb", "pound"}, {"unit", "unit"}};
    if (at(z, e) != '/')
        return e;
    for (size_t k = 0; k < sizeof PER / sizeof PER[0]; k++) {
        size_t l = strlen(PER[k][0]);
        if (has_at(z, e + 1, PER[k][0]) && ok_end(z, e + 1 + l)) {
            sb_word(&z->x, "per");
            sb_word(&z->x, PER[k][1]);
            return e + 1 + l;
        }
    }
    return e;
}

/* An amount of money: "forty-nine dollars and ninety-nine cents", "fifty
 * cents", "three point two billion dollars". */
static void say_money(nz *z, const num *m, const money *cur, const char *mag)
{
    sbuf *x = &z->x;
    int two = m->fe - m->fs == 2;
    if (mag || (num_frac(m) && !(two && cur->sub_one))) {
        say_num(z, x, m);
        if (mag)
            sb_word(x, mag);
        sb_word(x, cur->many);
        return;
    }
    unsigned cents = two ? (at(z, m->fs) - '0') * 10 + (at(z, m->fs + 1) - '0') : 0;
    int whole = m->nd > 18 || (m->nd && m->v);
    if (whole || !cents) {
        if (m->nd)
            say_int(z, x, m);
        else
            sb_word(x, "zero");
        sb_word(x, m->nd && m->nd <= 18 && m->v == 1 ? cur->one : cur->many);
    }
    if (cents) {
        if (whole)
            sb_word(x, "and");
        say_99(x, cents);
        sb_word(x, cents == 1 ? cur->sub_one : cur->sub_many);
    }
}

static const struct {
    uint32_t cp;
    unsigned n, d;
} VULGAR[] = {{0xBD, 1, 2}, {0xBC, 1, 4}, {0xBE, 3, 4}, {0x2153, 1, 3}, {0x2154, 2, 3}, {0x215B, 1, 8}};

static int vulgar_at(const nz *z, size_t i, unsigned *n, unsigned *d, size_t *len)
{
    uint32_t cp = cp_at(z, i, len);
    for (size_t k = 0; k < sizeof VULGAR / sizeof VULGAR[0]; k++)
        if (VULGAR[k].cp == cp) {
            *n = VULGAR[k].n;
            *d = VULGAR[k].d;
            return 1;
        }
    return 0;
}

/* Is n/d read as a fraction? Small denominators, and the usual finer ones
 * for proper fractions; "24/7", "50/50" and "9/11" are not. */
static int fraction_ok(uint64_t n, uint64_t d)
{
    if (n < 1 || d < 2 || n > 99)
        return 0;
    if (d <= 10)
        return n < 2 * d;
    return n < d && (d == 12 || d == 16 || d == 32 || d == 64 || d == 100);
}

/* "one half", "three quarters", "five eighths"; in a mixed number "a half",
 * "a quarter". */
static void say_fraction(const nz *z, sbuf *b, unsigned n, unsigned d, int mixed)
{
    if (n == 1 && mixed)
        sb_word(b, "a");
    else
        say_cardinal(b, n, z->gb);
    if (d == 2)
        sb_word(b, n == 1 ? "half" : "halves");
    else if (d == 4)
        sb_word(b, n == 1 ? "quarter" : "quarters");
    else {
        if (d == 100)
            sb_word(b, "hundredth"); /* "one hundredth", not "one one hundredth" */
        else
            say_ordinal(b, d, z->gb);
        if (n != 1)
            sb_puts(b, "s");
    }
}

/* Numbers with what is written around them: sign, currency before or after,
 * magnitude, percent, ordinal suffix, decade, unit, attached fraction, year
 * or plain number. */
static int r_numeric(nz *z, size_t i, size_t *endp)
{
    size_t j = i, l, ml = 0;
    int sign = 0;
    uint32_t c = cp_at(z, i, &l);
    sbuf *x = &z->x;
    if (c == '-' || c == 0x2212 || c == '+') {
        size_t k = i + l;
        if (word_before(z, i) ||
            !(is_digit(at(z, k)) || (at(z, k) == '.' && is_digit(at(z, k + 1))) || money_sym_at(z, k, &ml)))
            return 0;
        sign = c == '+' ? 1 : -1;
        j = k;
    }
    const money *cur = money_sym_at(z, j, &ml);
    if (cur)
        j += ml;
    else if (is_alpha(at(z, j))) {
        if (!(cur = money_code_at(z, j, &ml)))
            return 0;
        j += ml;
        if (at(z, j) == ' ')
            j++;
    }
    num m;
    if (!(is_digit(at(z, j)) || at(z, j) == '.') || !parse_num(z, j, &m))
        return 0;
    size_t e = m.end;
    if (sign)
        sb_word(x, sign < 0 ? "minus" : "plus");
    if (cur) {
        const char *mag;
        /* a range of amounts: "$5-10", "$5–$10" */
        size_t dl;
        uint32_t dash = cp_at(z, e, &dl);
        (void)mag_after(z, e, &mag);
        if ((dash == '-' || dash == 0x2013) && !mag) {
            size_t k = e + dl, ml2;
            const money *c2 = money_sym_at(z, k, &ml2);
            if (c2 == cur)
                k += ml2;
            num m2;
            if (is_digit(at(z, k)) && parse_num(z, k, &m2)) {
                size_t e2 = mag_after(z, m2.end, &mag);
                if (ok_end(z, e2)) {
                    say_num(z, x, &m);
                    sb_word(x, "to");
                    say_money(z, &m2, cur, mag);
                    *endp = e2;
                    return 1;
                }
            }
        }
        e = mag_after(z, e, &mag);
        if (!ok_end(z, e))
            return 0;
        say_money(z, &m, cur, mag);
        e = per_after(z, e);
        *endp = e;
        return 1;
    }
    /* currency after the amount: "20 EUR", "20€" */
    size_t k = skip_hs(z, e, 2);
    if (((cur = money_sym_at(z, k, &ml)) && (!cur->sym || cur->sym[0] != '$' || k == e)) ||
        (k > e && (cur = money_code_at(z, k, &ml)))) {
        if (ok_end(z, k + ml)) {
            say_money(z, &m, cur, NULL);
            *endp = k + ml;
            return 1;
        }
    }
    k = skip_hs(z, e, 1);
    if (at(z, k) == '%' && ok_end(z, k + 1)) {
        say_num(z, x, &m);
        sb_word(x, "percent");
        *endp = k + 1;
        return 1;
    }
    /* 21st, 3rd, 100th */
    if (!sign && num_plain_int(&m) && is_alpha(at(z, e)) && is_alpha(at(z, e + 1)) && ok_end(z, e + 2)) {
        char s0 = (char)(at(z, e) | 32), s1 = (char)(at(z, e + 1) | 32);
        if ((s0 == 's' && s1 == 't') || (s0 == 'n' && s1 == 'd') || (s0 == 'r' && s1 == 'd') ||
            (s0 == 't' && s1 == 'h')) {
            say_ordinal(x, m.v, z->gb);
            *endp = e + 2;
            return 1;
        }
    }
    /* decades: 1990s, 1990's, 90s */
    if (!sign && num_plain_int(&m) && !m.commas && (m.nd == 4 || m.nd == 2) && m.v % 10 == 0 && m.v >= 10 &&
        !leading_zero(z, &m)) {
        size_t k2 = e;
        if (at(z, k2) == '\'')
            k2++;
        else if (has_at(z, k2, "\u2019"))
            k2 += 3;
        if (at(z, k2) == 's' && ok_end(z, k2 + 1)) {
            if (m.nd == 4)
                say_year(x, m.v, z->gb);
            else
                say_99(x, (unsigned)m.v);
            pluralize(x);
            *endp = k2 + 1;
            return 1;
        }
    }
    /* 2½ */
    unsigned fn, fd;
    size_t vl;
    if (num_plain_int(&m) && vulgar_at(z, e, &fn, &fd, &vl) && ok_end(z, e + vl)) {
        say_int(z, x, &m);
        sb_word(x, "and");
        say_fraction(z, x, fn, fd, 1);
        *endp = e + vl;
        return 1;
    }
    size_t ue;
    int glued = m.start > 1 && at(z, m.start - 1) == '-' && word_before(z, m.start - 1);
    const unit *u = unit_after(z, e, &ue, glued);
    if (u) {
        say_num(z, x, &m);
        say_unit(z, x, u, num_is_one(&m));
        *endp = ue;
        return 1;
    }
    /* "3.2bn people", "1.5M people" (not "5m": meters, above; not "5k") */
    static const char *const PLAIN_MAG[][2] = {{"bn", "billion"}, {"mn", "million"}, {"tn", "trillion"},
                                               {"M", "million"}, {"B", "billion"}};
    for (size_t q = 0; q < sizeof PLAIN_MAG / sizeof PLAIN_MAG[0]; q++) {
        size_t ql = strlen(PLAIN_MAG[q][0]);
        if (has_at(z, e, PLAIN_MAG[q][0]) && ok_end(z, e + ql)) {
            say_num(z, x, &m);
            sb_word(x, PLAIN_MAG[q][1]);
            *endp = e + ql;
            return 1;
        }
    }
    if (!ok_end(z, e))
        return 0;
    if (!sign && year_like(z, &m)) {
        say_year(x, m.v, z->gb);
        z->year_end = e;
    } else
        say_num(z, x, &m);
    *endp = e;
    return 1;
}

/* "'90s", "’60s": nineties, sixties. */
static int r_apos_decade(nz *z, size_t i, size_t *endp)
{
    size_t j = i;
    if (at(z, j) == '\'')
        j++;
    else if (has_at(z, j, "\u2019") || has_at(z, j, "\u2018"))
        j += 3;
    else
        return 0;
    if (!is_digit(at(z, j)) || !is_digit(at(z, j + 1)) || at(z, j + 1) != '0' || at(z, j) == '0' ||
        at(z, j + 2) != 's' || !ok_end(z, j + 3))
        return 0;
    say_99(&z->x, (at(z, j) - '0') * 10);
    pluralize(&z->x);
    *endp = j + 3;
    return 1;
}

/* "#5": number five. */
static int r_hash(nz *z, size_t i, size_t *endp)
{
    num m;
    if (at(z, i) != '#' || word_before(z, i) || !is_digit(at(z, i + 1)) || !parse_num(z, i + 1, &m) ||
        !ok_end(z, m.end))
        return 0;
    sb_word(&z->x, "number");
    say_num(z, &z->x, &m);
    *endp = m.end;
    return 1;
}

/* "½" alone: one half. */
static int r_vulgar(nz *z, size_t i, size_t *endp)
{
    unsigned n, d;
    size_t l;
    if (!vulgar_at(z, i, &n, &d, &l) || !ok_end(z, i + l))
        return 0;
    say_fraction(z, &z->x, n, d, 0);
    *endp = i + l;
    return 1;
}

/* A run of at most max digits at i: its length (0 when longer or none). */
static size_t digits_at(const nz *z, size_t i, size_t max)
{
    size_t k = 0;
    while (k <= max && is_digit(at(z, i + k)))
        k++;
    return k > max ? 0 : k;
}

static unsigned val(const nz *z, size_t i, size_t n)
{
    unsigned v = 0;
    for (size_t k = 0; k < n; k++)
        v = v * 10 + (at(z, i + k) - '0');
    return v;
}

/* Phone numbers, read digit by digit in their groups: "555-0142", "(555)
 * 123-4567", "555.123.4567", "1-800-555-0199", "+1 555 123 4567". */
static int r_phone(nz *z, size_t i, size_t *endp)
{
    size_t g[8][2];
    int ng = 0, plus = 0;
    size_t j, d;
    if (at(z, i) == '+') {
        if (word_before(z, i) || !(d = digits_at(z, i + 1, 3)))
            return 0;
        plus = 1;
        g[ng][0] = i + 1;
        g[ng++][1] = i + 1 + d;
        j = i + 1 + d;
        size_t total = 0;
        while (ng < 8) {
            unsigned sep = at(z, j);
            if (sep != ' ' && sep != '-' && sep != '.')
                break;
            size_t k = j + 1;
            if (at(z, k) == '(') {
                if (!(d = digits_at(z, k + 1, 4)) || at(z, k + 1 + d) != ')')
                    break;
                g[ng][0] = k + 1;
                g[ng++][1] = k + 1 + d;
                j = k + 2 + d;
            } else {
                if (!(d = digits_at(z, k, 4)))
                    break;
                g[ng][0] = k;
                g[ng++][1] = k + d;
                j = k + d;
            }
            total += d;
        }
        if (ng < 3 || total < 6 || total > 14)
            return 0;
    } else if (at(z, i) == '(') {
        if (digits_at(z, i + 1, 3) != 3 || at(z, i + 4) != ')')
            return 0;
        g[ng][0] = i + 1;
        g[ng++][1] = i + 4;
        j = i + 5;
        if (at(z, j) == ' ')
            j++;
        if (digits_at(z, j, 3) != 3)
            return 0;
        g[ng][0] = j;
        g[ng++][1] = j + 3;
        unsigned sep = at(z, j + 3);
        if ((sep != '-' && sep != '.' && sep != ' ') || digits_at(z, j + 4, 4) != 4)
            return 0;
        g[ng][0] = j + 4;
        g[ng++][1] = j + 8;
        j += 8;
    } else {
        size_t k = i;
        if (at(z, k) == '1' && at(z, k + 1) == '-' && digits_at(z, k + 2, 3) == 3) {
            g[ng][0] = k;
            g[ng++][1] = k + 1;
            k += 2;
        }
        if (digits_at(z, k, 3) != 3)
            return 0;
        unsigned sep = at(z, k + 3);
        if (sep != '-' && sep != '.')
            return 0;
        g[ng][0] = k;
        g[ng++][1] = k + 3;
        k += 4;
        d = digits_at(z, k, 4);
        if (d == 4 && sep == '-' && ng == 1) {
            g[ng][0] = k;
            g[ng++][1] = k + 4;
            j = k + 4;
        } else if (d == 3 && at(z, k + 3) == sep && digits_at(z, k + 4, 4) == 4) {
            g[ng][0] = k;
            g[ng++][1] = k + 3;
            g[ng][0] = k + 4;
            g[ng++][1] = k + 8;
            j = k + 8;
        } else
            return 0;
    }
    if (!ok_end(z, j))
        return 0;
    sbuf *x = &z->x;
    if (plus)
        sb_word(x, "plus");
    /* No comma between the groups: misaki, whose phonemes Kokoro was trained
     * on, writes none, and a comma makes the engine stop as at a clause end
     * (pocketsphinx then misses more of the digits, tools/g2p_eval). The
     * toll-free area code 800 is said "eight hundred", as Americans say it. */
    for (int k = 0; k < ng; k++) {
        size_t a = g[k][0], e = g[k][1];
        if (e - a == 3 && at(z, a) == '8' && at(z, a + 1) == '0' && at(z, a + 2) == '0' && k < ng - 1 &&
            (k == 0 || (k == 1 && g[0][1] - g[0][0] == 1))) { /* the area code */
            sb_word(x, "eight");
            sb_word(x, "hundred");
        } else
            say_digits(z, x, a, e, 1);
    }
    *endp = j;
    return 1;
}

/* Service numbers, said digit by digit: 911 anywhere; 999, 112 and the
 * N11 numbers after "call"; any number of up to 6 digits after "dial" or
 * "press" ("dial 0", "press 12"). "called 20 friends" stays a count. */
static int r_service(nz *z, size_t i, size_t *endp)
{
    static const char *const DIAL[] = {"dial",  "dials",  "dialed",  "dialled", "dialing",
                                       "dialling", "press", "pressed", "presses", NULL};
    static const char *const CALL[] = {"call", "calls", "called", "calling", "ring", "phone", NULL};
    size_t d = digits_at(z, i, 6), ws, wl;
    if (!d || word_before(z, i) || !ok_end(z, i + d) || (at(z, i + d) == '.' && is_digit(at(z, i + d + 1))) ||
        (at(z, i + d) == ',' && is_digit(at(z, i + d + 1))))
        return 0;
    unsigned v = d == 3 ? val(z, i, 3) : 0;
    int service = d == 3 && (v % 100 == 11 || v == 999 || v == 112) && v >= 200;
    wl = prev_word(z, i, &ws);
    int dial = wl && word_in(z, ws, wl, DIAL), call = wl && word_in(z, ws, wl, CALL);
    if (!(v == 911 || dial || (call && (service || v == 112))))
        return 0;
    say_digits(z, &z->x, i, i + d, !dial); /* "press zero", "nine one one" */
    *endp = i + d;
    return 1;
}

/* "am"/"pm"/"a.m."/"P.M." at i: 'A' or 'P' and the end after it. */
static int ampm_at(const nz *z, size_t i, size_t *end)
{
    unsigned c = at(z, i) | 32;
    if (c != 'a' && c != 'p')
        return 0;
    size_t j = i + 1;
    int dotted = at(z, j) == '.';
    if (dotted)
        j++;
    if ((at(z, j) | 32) != 'm')
        return 0;
    j++;
    if (dotted && at(z, j) == '.')
        j++;
    else if (dotted)
        return 0;
    if (!ok_end(z, j) || (at(z, j) == '.' && is_alpha(at(z, j + 1))))
        return 0;
    *end = j;
    return c == 'a' ? 'A' : 'P';
}

/* Times: "7:30 pm" seven thirty PM, "7 am", "10:15", "14:05" fourteen oh
 * five, "7:00" seven o'clock, "18:00" eighteen hundred. */
static int r_time(nz *z, size_t i, size_t *endp)
{
    size_t hd = digits_at(z, i, 2);
    if (!hd)
        return 0;
    unsigned h = val(z, i, hd), mi = 0, sec = 0;
    size_t j = i + hd;
    int has_min = 0, has_sec = 0;
    if (at(z, j) == ':' && digits_at(z, j + 1, 2) == 2) {
        mi = val(z, j + 1, 2);
        j += 3;
        has_min = 1;
        if (at(z, j) == ':' && digits_at(z, j + 1, 2) == 2) {
            sec = val(z, j + 1, 2);
            j += 3;
            has_sec = 1;
        }
    }
    if (h > 24 || mi > 59 || sec > 59)
        return 0;
    if (has_sec && sec == 0)
        has_sec = 0; /* 1:00:00 one o'clock */
    size_t k = skip_hs(z, j, 1), ae = 0;
    int ap = ampm_at(z, k, &ae);
    if (ap && (h > 12 || h == 0))
        return 0;
    if (!has_min && !ap)
        return 0;
    if (!ap && !ok_end(z, j))
        return 0;
    sbuf *x = &z->x;
    say_99(x, h);
    if (has_min) {
        if (mi == 0 && has_sec) {
            sb_word(x, "oh oh");
        } else if (mi == 0) {
            if (!ap)
                sb_word(x, h == 0 || h > 12 ? "hundred" : "o'clock");
        } else if (mi < 10) {
            sb_word(x, "oh");
            sb_word(x, ONES[mi]);
        } else
            say_99(x, mi);
        if (has_sec) {
            sb_word(x, "and");
            say_99(x, sec);
            sb_word(x, sec == 1 ? "second" : "seconds");
        }
    }
    if (ap) {
        sb_word(x, ap == 'A' ? "AM" : "PM");
        if (z->s[ae - 1] == '.' && sentence_end_after(z, ae))
            sb_puts(x, ".");
        j = ae;
    }
    *endp = j;
    return 1;
}

/* A day of the month at i (1..31, optional st/nd/rd/th): its value and end. */
static unsigned day_at(const nz *z, size_t i, size_t *end)
{
    size_t d = digits_at(z, i, 2);
    if (!d)
        return 0;
    unsigned v = val(z, i, d);
    if (v < 1 || v > 31)
        return 0;
    size_t j = i + d;
    if (is_alpha(at(z, j)) && is_alpha(at(z, j + 1)) && !is_alpha(at(z, j + 2))) {
        char s0 = (char)(at(z, j) | 32), s1 = (char)(at(z, j + 1) | 32);
        if ((s0 == 's' && s1 == 't') || (s0 == 'n' && s1 == 'd') || (s0 == 'r' && s1 == 'd') ||
            (s0 == 't' && s1 == 'h'))
            j += 2;
    }
    *end = j;
    return v;
}

/* A 4-digit year at i (1000..2999) that ends a token: its value and end. */
static unsigned year_at(const nz *z, size_t i, size_t *end)
{
    if (digits_at(z, i, 4) != 4 || at(z, i) == '0')
        return 0;
    unsigned v = val(z, i, 4);
    if (v < 1000 || v > 2999 || !ok_end(z, i + 4))
        return 0;
    *end = i + 4;
    return v;
}

/* en-us "March third, twenty twenty-five"; en-gb (and day-first text)
 * "the third of March, twenty twenty-five". comma: the source had one
 * before the year (en-us always says it). */
static void say_date(nz *z, size_t start, unsigned month, unsigned day, unsigned year, int day_first, int comma)
{
    sbuf *x = &z->x;
    if (z->gb || day_first) {
        size_t ws, wl = prev_word(z, start, &ws);
        if (!word_eq(z, ws, wl, "the")) /* "the 1st of May" */
            sb_word(x, "the");
        say_ordinal(x, day, z->gb);
        sb_word(x, "of");
        sb_word(x, MONTHS[month - 1]);
    } else {
        sb_word(x, MONTHS[month - 1]);
        say_ordinal(x, day, z->gb);
    }
    if (year) {
        if (comma || !z->gb)
            sb_puts(x, ",");
        say_year(x, year, z->gb);
    }
}

/* The year that may follow a date's day or month at *e ("March 3, 2025",
 * "3 March 2025"): its value, with *e moved past it and *comma set when a
 * comma stood before it; 0 (and *comma 0, *e unmoved) when none follows. */
static unsigned date_year(nz *z, size_t *e, int *comma)
{
    *comma = at(z, *e) == ',';
    size_t y0 = skip_hs(z, *e + (*comma ? 1 : 0), 2), ye;
    unsigned year;
    if (y0 > *e + (*comma ? 1 : 0) && (year = year_at(z, y0, &ye))) {
        *e = ye;
        return year;
    }
    *comma = 0;
    return 0;
}

/* "March 3", "March 3rd", "Mar. 3, 2025", "March 3 2025". */
static int r_date_month_first(nz *z, size_t i, size_t *endp)
{
    size_t j, e;
    int month = month_at(z, i, &j);
    if (!month)
        return 0;
    size_t k = skip_hs(z, j, 2);
    if (k == j)
        return 0;
    unsigned day = day_at(z, k, &e);
    if (!day)
        return 0;
    int comma;
    unsigned year = date_year(z, &e, &comma);
    if (!ok_end(z, e))
        return 0;
    say_date(z, i, (unsigned)month, day, year, 0, comma);
    if (year)
        z->year_end = e;
    *endp = e;
    return 1;
}

/* "3 March", "3rd of March 2025", "3 March, 2025". */
static int r_date_day_first(nz *z, size_t i, size_t *endp)
{
    size_t e, j;
    unsigned day = day_at(z, i, &e);
    if (!day)
        return 0;
    size_t k = skip_hs(z, e, 2);
    if (k == e)
        return 0;
    if (at(z, k) == 'o' && at(z, k + 1) == 'f' && at(z, k + 2) == ' ')
        k = skip_hs(z, k + 2, 2);
    int month = month_at(z, k, &j);
    if (!month)
        return 0;
    e = j;
    int comma;
    unsigned year = date_year(z, &e, &comma);
    if (!ok_end(z, e))
        return 0;
    say_date(z, i, (unsigned)month, day, year, 1, comma);
    if (year)
        z->year_end = e;
    *endp = e;
    return 1;
}

/* ISO dates: 2025-03-03. */
static int r_iso_date(nz *z, size_t i, size_t *endp)
{
    if (digits_at(z, i, 4) != 4 || at(z, i + 4) != '-' || digits_at(z, i + 5, 2) != 2 || at(z, i + 7) != '-' ||
        digits_at(z, i + 8, 2) != 2 || !ok_end(z, i + 10))
        return 0;
    unsigned y = val(z, i, 4), mo = val(z, i + 5, 2), d = val(z, i + 8, 2);
    if (y < 1000 || mo < 1 || mo > 12 || d < 1 || d > 31)
        return 0;
    say_date(z, i, mo, d, y, 0, 0);
    z->year_end = i + 10;
    *endp = i + 10;
    return 1;
}

/* Numeric dates: 3/14/2025 (en-us month first; en-gb 14/3/2025 day first;
 * either is read the other way round when only that is valid), 2-digit
 * years too. */
static int r_slash_date(nz *z, size_t i, size_t *endp)
{
    size_t a = digits_at(z, i, 2);
    if (!a || at(z, i + a) != '/')
        return 0;
    size_t j = i + a + 1, b = digits_at(z, j, 2);
    if (!b || at(z, j + b) != '/')
        return 0;
    size_t k = j + b + 1, c = digits_at(z, k, 4);
    if ((c != 4 && c != 2) || !ok_end(z, k + c))
        return 0;
    unsigned p = val(z, i, a), q = val(z, j, b), y = val(z, k, c);
    if (c == 2)
        y += y < 50 ? 2000 : 1900;
    if (y < 1000)
        return 0;
    unsigned mo = z->gb ? q : p, d = z->gb ? p : q;
    if (mo > 12 && d <= 12) {
        unsigned t = mo;
        mo = d;
        d = t;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return 0;
    say_date(z, i, mo, d, y, 0, 0);
    z->year_end = k + c;
    *endp = k + c;
    return 1;
}

/* Heights: 6'2" six feet two inches. */
static int r_feet(nz *z, size_t i, size_t *endp)
{
    size_t a = digits_at(z, i, 1), l;
    if (!a)
        return 0;
    size_t j = i + a;
    uint32_t c = cp_at(z, j, &l);
    if (c != '\'' && c != 0x2032 && c != 0x2019)
        return 0;
    j += l;
    size_t b = digits_at(z, j, 2);
    if (!b)
        return 0;
    unsigned ft = val(z, i, a), in = val(z, j, b);
    if (in > 11)
        return 0;
    j += b;
    c = cp_at(z, j, &l);
    if (c == '"' || c == 0x2033 || c == 0x201D)
        j += l;
    if (!ok_end(z, j))
        return 0;
    sbuf *x = &z->x;
    say_99(x, ft);
    sb_word(x, ft == 1 ? "foot" : "feet");
    say_99(x, in);
    sb_word(x, in == 1 ? "inch" : "inches");
    *endp = j;
    return 1;
}

/* Ranges and scores: "1990-1995" (years), "1990–95", "5-10" five to ten,
 * "10-20%", "5-10 km", "won 3-2" (3-0: three to nothing, en-gb three nil). */
static int r_range(nz *z, size_t i, size_t *endp)
{
    num a, b;
    size_t l;
    if (!parse_num(z, i, &a) || !a.nd || a.nd > 6 || leading_zero(z, &a))
        return 0;
    size_t j = a.end;
    uint32_t c = cp_at(z, j, &l);
    if (c != '-' && c != 0x2013)
        return 0;
    j += l;
    if (!is_digit(at(z, j)) || !parse_num(z, j, &b) || b.nd > 6 || leading_zero(z, &b))
        return 0;
    size_t e = b.end;
    sbuf *x = &z->x;
    int ya = num_plain_int(&a) && !a.commas && a.nd == 4 && a.v >= 1000 && a.v <= 2099;
    if (ya && num_plain_int(&b) && !b.commas &&
        ((b.nd == 4 && b.v > a.v && b.v <= 2099) || (b.nd == 2 && b.v > a.v % 100))) {
        if (!ok_end(z, e))
            return 0;
        say_year(x, a.v, z->gb);
        sb_word(x, "to");
        if (b.nd == 4)
            say_year(x, b.v, z->gb);
        else
            say_99(x, (unsigned)b.v);
        z->year_end = e;
        *endp = e;
        return 1;
    }
    static const char *const SCORE[] = {"won",   "win",     "wins",    "winning", "lost",   "lose",  "loses",
                                        "losing", "beat",   "beats",   "beating", "defeated", "tied", "drew",
                                        "draw",  "score",   "scored",  "led",     "lead",   "leads", "leading",
                                        "trailing", "trail", "victory", "defeat", "final",  NULL};
    size_t ws, pl = prev_word(z, i, &ws);
    if (pl && word_in(z, ws, pl, SCORE) && num_plain_int(&a) && num_plain_int(&b) && a.nd <= 3 && b.nd <= 3 &&
        ok_end(z, e)) {
        const char *zero = z->gb ? "nil" : "nothing";
        if (a.v)
            say_cardinal(x, a.v, z->gb);
        else
            sb_word(x, zero);
        sb_word(x, "to");
        if (b.v)
            say_cardinal(x, b.v, z->gb);
        else
            sb_word(x, zero);
        *endp = e;
        return 1;
    }
    say_num(z, x, &a);
    sb_word(x, "to");
    say_num(z, x, &b);
    size_t k = skip_hs(z, e, 1), ue;
    if (at(z, k) == '%' && ok_end(z, k + 1)) {
        sb_word(x, "percent");
        *endp = k + 1;
        return 1;
    }
    const unit *u = unit_after(z, e, &ue, 0);
    if (u) {
        say_unit(z, x, u, 0);
        *endp = ue;
        return 1;
    }
    if (!ok_end(z, e))
        return 0;
    *endp = e;
    return 1;
}

/* Fractions: "1/2" one half, "3/4" three quarters, "2 1/2" two and a half. */
static int r_frac(nz *z, size_t i, size_t *endp)
{
    size_t a = digits_at(z, i, 6);
    if (!a || (a > 1 && at(z, i) == '0'))
        return 0;
    unsigned whole = 0;
    int mixed = 0;
    size_t j = i;
    if (at(z, i + a) == ' ' && is_digit(at(z, i + a + 1))) {
        whole = val(z, i, a);
        mixed = 1;
        j = i + a + 1;
        a = digits_at(z, j, 2);
        if (!a)
            return 0;
    }
    size_t nl = digits_at(z, j, 2);
    if (!nl || at(z, j + nl) != '/')
        return 0;
    size_t dl = digits_at(z, j + nl + 1, 3);
    if (!dl)
        return 0;
    unsigned n = val(z, j, nl), d = val(z, j + nl + 1, dl);
    size_t e = j + nl + 1 + dl;
    if (!fraction_ok(n, d) || at(z, j + nl + 1) == '0' || !ok_end(z, e) || (mixed && n >= d))
        return 0;
    sbuf *x = &z->x;
    if (mixed) {
        say_cardinal(x, whole, z->gb);
        sb_word(x, "and");
    }
    say_fraction(z, x, n, d, mixed);
    *endp = e;
    return 1;
}

/* Abbreviations. */
enum {
    A_DOT = 1,     /* only written with its period */
    A_NAME = 2,    /* without the period, only before a capitalised word */
    A_BEFORE = 4,  /* only before a capitalised word */
    A_NUM = 8,     /* only before a number */
    A_END = 16,    /* its period may also end the sentence */
    A_ANY = 32,    /* any letter case */
    A_ST = 64,     /* Saint before a name, Street after one */
    A_DR = 128,    /* Doctor before a name, Drive after one */
    A_ETAL = 256,  /* only after "et" */
};

typedef struct abbr {
    const char *w, *say, *gb;
    unsigned f;
} abbr;

static const abbr ABBR[] = {
    {"Mr", "Mister", NULL, A_NAME},
    {"Mrs", "Missus", NULL, A_NAME},
    {"Ms", "Miz", NULL, A_NAME},
    {"Dr", "Doctor", NULL, A_DR},
    {"St", "Saint", NULL, A_ST},
    {"Prof", "Professor", NULL, A_NAME},
    {"Mt", "Mount", NULL, A_NAME},
    {"Ft", "Fort", NULL, A_BEFORE},
    {"Jr", "Junior", NULL, A_END},
    {"Sr", "Senior", NULL, A_END},
    {"Capt", "Captain", NULL, A_BEFORE},
    {"Gen", "General", NULL, A_DOT | A_BEFORE},
    {"Sgt", "Sergeant", NULL, A_BEFORE},
    {"Lt", "Lieutenant", NULL, A_BEFORE},
    {"Col", "Colonel", NULL, A_DOT | A_BEFORE},
    {"Gov", "Governor", NULL, A_DOT | A_BEFORE},
    {"Sen", "Senator", NULL, A_DOT | A_BEFORE},
    {"Rep", "Representative", NULL, A_DOT | A_BEFORE},
    {"Rev", "Reverend", NULL, A_DOT | A_BEFORE},
    {"Hon", "Honorable", "Honourable", A_DOT | A_BEFORE},
    {"Pres", "President", NULL, A_DOT | A_BEFORE},
    {"Fr", "Father", NULL, A_DOT | A_BEFORE},
    {"Ave", "Avenue", NULL, A_DOT | A_END},
    {"Blvd", "Boulevard", NULL, A_END},
    {"Rd", "Road", NULL, A_DOT | A_END},
    {"Ln", "Lane", NULL, A_DOT | A_END},
    {"Hwy", "Highway", NULL, A_END},
    {"etc", "et cetera", NULL, A_END | A_ANY},
    {"e.g", "for example", NULL, A_ANY},
    {"i.e", "that is", NULL, A_ANY},
    {"vs", "versus", NULL, A_ANY},
    {"viz", "namely", NULL, A_DOT},
    {"cf", "compare", NULL, A_DOT | A_ANY},
    {"No", "number", NULL, A_DOT | A_NUM},
    {"Nos", "numbers", NULL, A_DOT | A_NUM},
    {"approx", "approximately", NULL, A_ANY},
    {"ca", "circa", NULL, A_DOT | A_NUM},
    {"Jan", "January", NULL, A_DOT},
    {"Feb", "February", NULL, A_DOT},
    {"Mar", "March", NULL, A_DOT},
    {"Apr", "April", NULL, A_DOT},
    {"Jun", "June", NULL, A_DOT},
    {"Jul", "July", NULL, A_DOT},
    {"Aug", "August", NULL, A_DOT},
    {"Sep", "September", NULL, A_DOT},
    {"Sept", "September", NULL, A_DOT},
    {"Oct", "October", NULL, A_DOT},
    {"Nov", "November", NULL, A_DOT},
    {"Dec", "December", NULL, A_DOT},
    {"Inc", "Incorporated", NULL, A_DOT | A_END},
    {"Ltd", "Limited", NULL, A_DOT | A_END},
    {"Corp", "Corporation", NULL, A_DOT | A_END},
    {"Dept", "Department", NULL, A_DOT},
    {"p", "page", NULL, A_DOT | A_NUM},
    {"pp", "pages", NULL, A_DOT | A_NUM},
    {"vol", "volume", NULL, A_DOT | A_NUM | A_ANY},
    {"fig", "figure", NULL, A_DOT | A_NUM | A_ANY},
    {"a.m", "AM", NULL, A_END | A_ANY},
    {"p.m", "PM", NULL, A_END | A_ANY},
    {"al", "al", NULL, A_DOT | A_END | A_ETAL},
};

static int r_abbrev(nz *z, size_t i, size_t *endp)
{
    size_t j = i;
    while (j - i < 12 && is_alpha(at(z, j)))
        j++;
    if (is_alpha(at(z, j)))
        return 0;
    int inner = 0;
    while (at(z, j) == '.' && is_alpha(at(z, j + 1)) && !is_alpha(at(z, j + 2)) && inner < 3) {
        j += 2;
        inner++;
    }
    size_t core = j - i;
    int dot = at(z, j) == '.';
    size_t e = j + (dot ? 1 : 0);
    if (word_at(z, e) || (dot && at(z, e) == '.'))
        return 0;
    if (!dot && !ok_end(z, e))
        return 0;
    const abbr *a = NULL;
    for (size_t k = 0; k < sizeof ABBR / sizeof ABBR[0] && !a; k++) {
        const abbr *t = &ABBR[k];
        if (strlen(t->w) != core)
            continue;
        if (t->f & A_ANY ? strncasecmp(z->s + i, t->w, core) != 0 : strncmp(z->s + i, t->w, core) != 0)
            continue;
        a = t;
    }
    if (!a || ((a->f & A_DOT) && !dot))
        return 0;
    size_t nws, nwl = next_word(z, e, &nws);
    int nextcap = nwl && nws > e && is_upper(at(z, nws));
    if ((a->f & A_BEFORE) && !nextcap)
        return 0;
    if ((a->f & A_NAME) && !dot && !nextcap)
        return 0;
    if (a->f & A_NUM) {
        size_t k = skip_hs(z, e, 2);
        if (k == e || !is_digit(at(z, k)))
            return 0;
    }
    size_t pws, pwl = prev_word(z, i, &pws);
    if ((a->f & A_ETAL) && !(pwl == 2 && strncasecmp(z->s + pws, "et", 2) == 0))
        return 0;
    const char *say = z->gb && a->gb ? a->gb : a->say;
    int can_end = (a->f & A_END) != 0;
    if (a->f & (A_ST | A_DR)) {
        /* a capitalised word before: a street name ("Elm St."), unless it
         * starts the sentence and a name follows ("Ask Dr. Smith") */
        int prevcap = pwl && pws + pwl < i && is_upper(at(z, pws));
        int street = prevcap && (!nextcap || !sentence_initial(z, pws));
        if (!dot && !prevcap && !nextcap)
            return 0;
        if (street || !nextcap) {
            say = a->f & A_ST ? "Street" : (street ? "Drive" : "Doctor");
            can_end = 1;
        }
    }
    sb_word(&z->x, say);
    if (dot && (can_end ? sentence_end_after(z, e) : text_end_after(z, e)))
        sb_puts(&z->x, ".");
    *endp = e;
    return 1;
}

/* The value of a canonical Roman numeral s[i, i+l) (1..3999), or 0: the
 * value is read, written back in canonical form and compared, so "IIII",
 * "VX" and "IC" are not numerals. */
static unsigned roman_value(const nz *z, size_t i, size_t l)
{
    static const char *const SYM[] = {"M", "CM", "D", "CD", "C", "XC", "L", "XL", "X", "IX", "V", "IV", "I"};
    static const unsigned VAL[] = {1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1};
    if (!l || l > 15)
        return 0;
    unsigned v = 0;
    for (size_t k = 0; k < l; k++) {
        unsigned c = at(z, i + k), d = c == 'I' ? 1 : c == 'V' ? 5 : c == 'X' ? 10 : c == 'L' ? 50
                                             : c == 'C' ? 100 : c == 'D' ? 500 : c == 'M' ? 1000 : 0;
        unsigned nc = k + 1 < l ? at(z, i + k + 1) : 0;
        unsigned nd = nc == 'I' ? 1 : nc == 'V' ? 5 : nc == 'X' ? 10 : nc == 'L' ? 50
                    : nc == 'C' ? 100 : nc == 'D' ? 500 : nc == 'M' ? 1000 : 0;
        if (!d)
            return 0;
        if (nd > d)
            v -= d;
        else
            v += d;
    }
    if (v < 1 || v > 3999)
        return 0;
    char canon[20];
    size_t n = 0;
    unsigned t = v;
    for (size_t r = 0; r < sizeof VAL / sizeof VAL[0]; r++)
        while (t >= VAL[r]) {
            size_t sl = strlen(SYM[r]);
            memcpy(canon + n, SYM[r], sl);
            n += sl;
            t -= VAL[r];
        }
    return n == l && memcmp(canon, z->s + i, l) == 0 ? v : 0;
}

/* Roman numerals, only where one is expected: after a ruler's name (Henry
 * VIII the Eighth), after chapter/part/war... (Chapter IV four, World War II
 * two), before "century" (the XIX century the nineteenth), and after another
 * name for small values (John Smith III the Third). "I", MIX, DIV and CIVIC
 * are words elsewhere. */
static int r_roman(nz *z, size_t i, size_t *endp)
{
    static const char *const CARD[] = {
        "chapter", "part",    "book",   "volume", "vol",     "act",    "scene",   "section", "article",
        "phase",   "level",   "stage",  "title",  "appendix", "round", "episode", "season",  "war",
        "bowl",    "type",    "class",  "grade",  "schedule", "psalm", "canto",   "movement", "series",
        "tier",    "mark",    "apollo", "gemini", "rocky",   "fantasy", "vatican", "wrestlemania", "no",
        NULL};
    static const char *const REGNAL[] = {
        "Henry", "Edward", "Elizabeth", "George", "William", "Charles", "James", "Richard", "John", "Louis",
        "Philip", "Philippe", "Mary", "Victoria", "Anne", "Pius", "Paul", "Benedict", "Gregory", "Leo",
        "Innocent", "Clement", "Alexander", "Frederick", "Friedrich", "Peter", "Nicholas", "Ivan", "Catherine",
        "Ferdinand", "Isabella", "Alfonso", "Juan", "Carlos", "Felipe", "Otto", "Constantine", "Napoleon",
        "Wilhelm", "Karl", "Gustav", "Gustavus", "Christian", "Harald", "Olaf", "Magnus", "Ramesses", "Ramses",
        "Ptolemy", "Cleopatra", "Darius", "Xerxes", "Mehmed", "Suleiman", "Selim", "Murad", "Boniface", "Urban",
        "Sixtus", "Julius", "Adrian", "Hadrian", "Stephen", "David", "Robert", "Kenneth", "Duncan", "Alfred",
        "Edmund", "Harold", "Ethelred", "Matilda", "Margaret", "Joseph", "Francis", "Leopold", "Rudolf",
        "Maximilian", "Sigismund", "Casimir", "Vladimir", "Basil", "Michael", "Andrew", "Baldwin", "Umberto",
        "Manuel", "Pedro", "Sancho", "Haakon", "Eric", "Erik", "Valdemar", "Sebastian", "Martin", "Felix",
        "Sergius", "Honorius", "Celestine", "Lucius", "Ludwig", "Lothair", "Pepin", "Hugh", "Amenhotep",
        "Thutmose", "Seti", "Antiochus", "Seleucus", "Herod", "Rama", "Mohammed", "Muhammad", "Abbas",
        "Ahmed", "Mustafa", "Mahmud", "Hussein", "Fuad", "Farouk", NULL};
    size_t j = i;
    while (j - i < 16 && strchr("IVXLCDM", (int)at(z, j)) && at(z, j))
        j++;
    size_t l = j - i;
    size_t e = j;
    int poss = 0;
    if (at(z, e) == '\'' && at(z, e + 1) == 's' && ok_end(z, e + 2)) {
        e += 2;
        poss = 1;
    } else if (has_at(z, e, "\u2019s") && ok_end(z, e + 4)) {
        e += 4;
        poss = 1;
    }
    if (!poss && !ok_end(z, e))
        return 0;
    if (!poss && at(z, e) == '.' && is_alpha(at(z, e + 1)))
        return 0;
    unsigned v = roman_value(z, i, l);
    if (!v)
        return 0;
    sbuf *x = &z->x;
    size_t nws, nwl = next_word(z, j, &nws);
    size_t pws, pwl = prev_word(z, i, &pws);
    int prev_ok = pwl && pws + pwl < i; /* separated by a space: a word, not "B-I" */
    static const char *const CENT[] = {"century", "centuries", NULL};
    if (!poss && nwl && nws > j && word_in(z, nws, nwl, CENT) && v <= 30) {
        say_ordinal(x, v, z->gb);
    } else if (prev_ok && word_in(z, pws, pwl, CARD)) {
        say_cardinal(x, v, z->gb);
    } else if (prev_ok && is_upper(at(z, pws)) && word_in(z, pws, pwl, REGNAL) && v <= 50) {
        /* "Henry I", but not "Henry I think": I only before punctuation, the
         * end or "of" */
        if (v == 1 && !poss) {
            unsigned nc = at(z, skip_hs(z, j, 2));
            int of = nwl == 2 && strncmp(z->s + nws, "of", 2) == 0;
            if (is_alnum(nc) && !of)
                return 0;
        }
        sb_word(x, "the");
        size_t from = x->n;
        say_ordinal(x, v, z->gb);
        sb_cap_from(x, from);
    } else if (prev_ok && is_upper(at(z, pws)) && l >= 2 && v >= 2 && v <= 20 && !sentence_initial(z, pws)) {
        sb_word(x, "the");
        size_t from = x->n;
        say_ordinal(x, v, z->gb);
        sb_cap_from(x, from);
    } else
        return 0;
    if (poss)
        sb_puts(x, "'s");
    *endp = e;
    return 1;
}

/* URLs, e-mail addresses and bare domains. */

/* One part of a host or path (letters and digits): "www" and short or
 * vowel-less labels ("io", "bbc") spelled as capitals; digits one by one;
 * other words as written. */
static void say_url_word(const nz *z, sbuf *b, size_t a, size_t e, int spell_short)
{
    size_t k = a;
    while (k < e) {
        size_t r = k;
        if (is_digit(at(z, k))) {
            while (r < e && is_digit(at(z, r)))
                r++;
            say_digits(z, b, k, r, 0);
        } else {
            int vowel = 0;
            while (r < e && !is_digit(at(z, r)))
                vowel |= is_vowel(at(z, r)), r++;
            int www = r - k == 3 && strncasecmp(z->s + k, "www", 3) == 0;
            if (r - k == 1 || www || (spell_short && (r - k <= 2 || !vowel))) {
                for (size_t q = k; q < r; q++) {
                    char up = (char)(is_lower(at(z, q)) ? at(z, q) - 32 : at(z, q));
                    sb_wordn(b, &up, 1);
                }
            } else
                sb_wordn(b, z->s + k, r - k);
        }
        k = r;
    }
}

static const char *url_mark(unsigned c)
{
    switch (c) {
    case '/': return "slash";
    case '.': return "dot";
    case '-': return "dash";
    case '_': return "underscore";
    case '?': return "question mark";
    case '=': return "equals";
    case '&': return "and";
    case '#': return "hash";
    case '%': return "percent";
    case '+': return "plus";
    case '~': return "tilde";
    case ':': return "colon";
    case '@': return "at";
    case '!': return "exclamation mark";
    case '*': return "star";
    case ',': return "comma";
    case ';': return "semicolon";
    case '$': return "dollar";
    default: return NULL;
    }
}

/* Reads s[a, e): words via say_url_word, marks by name. */
static int say_url_text(const nz *z, sbuf *b, size_t a, size_t e, int spell_short)
{
    size_t k = a;
    while (k < e) {
        if (is_alnum(at(z, k))) {
            size_t r = k;
            while (r < e && is_alnum(at(z, r)))
                r++;
            say_url_word(z, b, k, r, spell_short);
            k = r;
        } else {
            const char *w = url_mark(at(z, k));
            if (!w)
                return 0;
            sb_word(b, w);
            k++;
        }
    }
    return 1;
}

static int is_tld(const nz *z, size_t a, size_t l)
{
    static const char *const TLD[] = {"com", "org", "net", "edu", "gov", "mil", "int", "io", "ai",  "co",
                                      "uk",  "ca",  "de",  "fr",  "jp",  "au",  "nz",  "eu", "info", "biz",
                                      "tv",  "app", "dev", "xyz", "ly",  "gg",  "cn",  "ru", "br",  "es",
                                      "nl",  "se",  "ch",  "fm",  "ie",  NULL};
    for (size_t k = 0; TLD[k]; k++)
        if (strlen(TLD[k]) == l && strncasecmp(z->s + a, TLD[k], l) == 0)
            return 1;
    return 0;
}

/* A host name at a (labels of letters, digits and hyphens joined by
 * dots): its end, the number of labels and where its last label starts. */
static size_t host_end(const nz *z, size_t a, size_t e, int *labels, size_t *last)
{
    size_t k = a;
    *labels = 0;
    *last = a;
    while (k < e) {
        size_t s0 = k;
        while (k < e && (is_alnum(at(z, k)) || at(z, k) == '-'))
            k++;
        if (k == s0)
            break;
        (*labels)++;
        *last = s0;
        if (k < e && at(z, k) == '.' && k + 1 < e && is_alnum(at(z, k + 1)))
            k++;
        else
            break;
    }
    return k;
}

static int r_url(nz *z, size_t i, size_t *endp)
{
    size_t e = i, l;
    while (e < z->n && e - i <= 300 && !space_at(z, e, &l) && at(z, e) < 0x80 && at(z, e) != '[' &&
           at(z, e) != '"' && at(z, e) != '<' && at(z, e) != '>' && at(z, e) != '(' && at(z, e) != ')')
        e++;
    if (e - i > 300)
        return 0;
    while (e > i && strchr(".,;:!?)]}'", (int)at(z, e - 1)))
        e--;
    if (e - i < 4)
        return 0;
    sbuf *x = &z->x;
    size_t k = i;
    while (k < e && (is_alnum(at(z, k)) || at(z, k) == '+' || at(z, k) == '.' || at(z, k) == '-'))
        k++;
    int labels;
    size_t last, h;
    if (k + 3 <= e && k > i && has_at(z, k, "://") && is_alpha(at(z, i))) {
        for (size_t q = i; q < k; q++) {
            if (!is_alpha(at(z, q)))
                return 0;
            char up = (char)(is_lower(at(z, q)) ? at(z, q) - 32 : at(z, q));
            sb_wordn(x, &up, 1);
        }
        sb_word(x, "colon slash slash");
        h = host_end(z, k + 3, e, &labels, &last);
        if (!labels)
            return 0;
        if (!say_url_text(z, x, k + 3, h, 1) || !say_url_text(z, x, h, e, 0))
            return 0;
        *endp = e;
        return 1;
    }
    const char *at_sign = memchr(z->s + i, '@', e - i);
    if (at_sign) {
        size_t as = (size_t)(at_sign - z->s);
        for (size_t q = i; q < as; q++)
            if (!is_alnum(at(z, q)) && !strchr("._%+-", (int)at(z, q)))
                return 0;
        if (as == i || !is_alnum(at(z, i)))
            return 0;
        h = host_end(z, as + 1, e, &labels, &last);
        if (h != e || labels < 2 || e - last < 2)
            return 0;
        for (size_t q = last; q < e; q++)
            if (!is_alpha(at(z, q)))
                return 0;
        if (!say_url_text(z, x, i, as, 0))
            return 0;
        sb_word(x, "at");
        if (!say_url_text(z, x, as + 1, e, 1))
            return 0;
        *endp = e;
        return 1;
    }
    h = host_end(z, i, e, &labels, &last);
    int www = e - i > 4 && strncasecmp(z->s + i, "www.", 4) == 0;
    if (labels < 2 || (!www && !is_tld(z, last, h - last)))
        return 0;
    if (h < e && at(z, h) != '/' && at(z, h) != ':' && at(z, h) != '?' && at(z, h) != '#')
        return 0;
    if (!www) { /* a bare domain: its labels are words, not "e.g" or "3.14" */
        for (size_t q = i; q < h; q++)
            if (is_digit(at(z, q)))
                return 0;
        if (last - i < 3)
            return 0;
    }
    if (!say_url_text(z, x, i, h, 1) || !say_url_text(z, x, h, e, 0))
        return 0;
    *endp = e;
    return 1;
}

/* ------------------------------------------------------------------ */
/* The pass. */

static void push_span(nz *z, size_t ss, size_t se, size_t tl, int verbatim)
{
    if (z->nsp == z->capsp) {
        size_t cap = z->capsp ? z->capsp * 2 : 64;
        kk_norm_span *p = realloc(z->sp, cap * sizeof *p);
        if (!p) {
            z->oom = 1;
            return;
        }
        z->sp = p;
        z->capsp = cap;
    }
    z->sp[z->nsp++] = (kk_norm_span){z->out.n, z->out.n + tl, ss, se, verbatim};
}

/* Copies s[a, e) verbatim, joining it to a verbatim span just before. */
static void emit_verbatim(nz *z, size_t a, size_t e)
{
    if (z->oom || z->out.oom || e <= a)
        return;
    kk_norm_span *last = z->nsp ? &z->sp[z->nsp - 1] : NULL;
    if (last && last->verbatim && last->src_end == a) {
        last->src_end = e;
        last->out_end += e - a;
    } else
        push_span(z, a, e, e - a, 1);
    sb_putn(&z->out, z->s + a, e - a);
}

static void emit_expansion(nz *z, size_t a, size_t e)
{
    if (z->oom || z->out.oom || z->x.oom)
        return;
    push_span(z, a, e, z->x.n, 0);
    sb_putn(&z->out, z->x.p, z->x.n);
}

/* The first ')' or line break at or after from (n when none), remembered so
 * that many '[' on one line are scanned once. */
static size_t close_paren(nz *z, size_t from)
{
    if (z->nc_from != NONE && from >= z->nc_from && from <= z->nc_at)
        return z->nc_at;
    size_t k = from;
    while (k < z->n && z->s[k] != ')' && z->s[k] != '\n')
        k++;
    z->nc_from = from;
    z->nc_at = k;
    return k;
}

/* Markup at i ("[word](/phonemes/)", "[pause:...]", any "[...](...)"): its
 * length, or 0. The same shapes g2p_markup.c recognises, so the phonemiser gets
 * them untouched. */
static size_t markup_len(nz *z, size_t i)
{
    size_t j = i + 1;
    while (j < z->n && z->s[j] != ']' && z->s[j] != '[' && z->s[j] != '\n')
        j++;
    if (j >= z->n || z->s[j] != ']')
        return 0;
    if (j - i >= 7 && strncasecmp(z->s + i, "[pause:", 7) == 0)
        return j + 1 - i;
    if (at(z, j + 1) != '(')
        return 0;
    size_t k = close_paren(z, j + 2);
    if (k >= z->n || z->s[k] != ')')
        return 0;
    return k + 1 - i;
}

typedef int (*rule_fn)(nz *z, size_t i, size_t *endp);

static int try_rule(nz *z, rule_fn f, size_t i, size_t *endp)
{
    sb_clear(&z->x);
    size_t e = 0;
    if (f(z, i, &e) && e > i && e <= z->n && z->x.n && !z->x.oom) {
        *endp = e;
        return 1;
    }
    return 0;
}

static int try_rules(nz *z, size_t i, size_t *endp)
{
    static const rule_fn ALPHA[] = {r_url, r_date_month_first, r_numeric, r_abbrev, r_roman};
    static const rule_fn DIGIT[] = {r_iso_date, r_slash_date,     r_phone, r_service, r_time,
                                    r_date_day_first, r_feet, r_range, r_frac,    r_numeric};
    static const rule_fn PLUS[] = {r_phone, r_numeric};
    static const rule_fn SIGN[] = {r_numeric};
    static const rule_fn HASH[] = {r_hash};
    static const rule_fn APOS[] = {r_apos_decade};
    static const rule_fn HIGH[] = {r_apos_decade, r_numeric, r_vulgar};
    static const rule_fn PAREN[] = {r_phone};
    const rule_fn *rules;
    size_t nr;
#define USE(a) (rules = (a), nr = sizeof(a) / sizeof(a)[0])
    unsigned c = at(z, i);
    if (is_alpha(c))
        USE(ALPHA);
    else if (is_digit(c))
        USE(DIGIT);
    else if (c == '+')
        USE(PLUS);
    else if (c == '-' || c == '.' || c == '$')
        USE(SIGN);
    else if (c == '#')
        USE(HASH);
    else if (c == '\'')
        USE(APOS);
    else if (c == '(')
        USE(PAREN);
    else if (c >= 0x80)
        USE(HIGH);
    else
        return 0;
#undef USE
    for (size_t r = 0; r < nr; r++)
        if (try_rule(z, rules[r], i, endp))
            return 1;
    return 0;
}

/* Marks that join the parts of one word: "don't", "1.2.3", "and/or". */
static int connector_at(const nz *z, size_t i, size_t *len)
{
    unsigned c = at(z, i);
    if (c == '.' || c == ',' || c == ':' || c == '\'' || c == '-' || c == '/' || c == '@' || c == '_' ||
        c == '&' || c == '+') {
        *len = 1;
        return 1;
    }
    if (has_at(z, i, "\u2019")) {
        *len = 3;
        return 1;
    }
    return 0;
}

/* What to copy when no rule matched at i: the whole word (so no rule fires
 * in its middle), or one character. A word of letters stops before a
 * hyphen or slash and digits ("COVID-19": the number is read). */
static size_t fallback_len(const nz *z, size_t i)
{
    size_t l, cl;
    uint32_t cp = cp_at(z, i, &l);
    if (!is_word_cp(cp))
        return l ? l : 1;
    int alpha = !is_digit(cp);
    size_t j = i + l;
    for (;;) {
        cp = cp_at(z, j, &l);
        if (l && is_word_cp(cp)) {
            j += l;
            continue;
        }
        if (connector_at(z, j, &cl) && word_at(z, j + cl)) {
            if (alpha && (at(z, j) == '-' || at(z, j) == '/') && is_digit(at(z, j + cl)))
                break;
            j += cl;
            continue;
        }
        break;
    }
    return j - i;
}

static void run(nz *z)
{
    size_t i = 0, l, e;
    /* inside emphasis markup "[words](+)": where the words end and the
     * markup does (the words are read like any others; the marks are
     * copied for the phonemiser) */
    size_t emph_end = NONE, emph_close = NONE;
    while (i < z->n && !z->oom && !z->out.oom) {
        if (emph_end != NONE && i >= emph_end) {
            if (i == emph_end) {
                emit_verbatim(z, i, emph_close);
                i = emph_close;
            }
            emph_end = emph_close = NONE;
            continue;
        }
        kk_emphasis_span em;
        if (z->s[i] == '[' && emph_end == NONE && kk_emphasis_at(z->s, z->n, i, &em)) {
            emit_verbatim(z, i, em.text_start);
            i = em.text_start;
            emph_end = em.text_end, emph_close = em.end;
            continue;
        }
        if (space_at(z, i, &l)) {
            size_t j = i + l;
            while (space_at(z, j, &l))
                j += l;
            emit_verbatim(z, i, j);
            i = j;
            continue;
        }
        if (z->s[i] == '[' && (l = markup_len(z, i))) {
            emit_verbatim(z, i, i + l);
            i += l;
            continue;
        }
        if (try_rules(z, i, &e)) {
            emit_expansion(z, i, e);
            i = e;
            continue;
        }
        l = fallback_len(z, i);
        emit_verbatim(z, i, i + l);
        i += l;
    }
}

/* 0: not English (copied); 1: US readings; 2: British. */
static int lang_kind(const char *lang)
{
    if (!lang || !*lang)
        return 1;
    if (strncasecmp(lang, "en", 2) != 0 || (lang[2] && lang[2] != '-' && lang[2] != '_'))
        return 0;
    static const char *const GB[] = {"gb", "uk", "au", "nz", "ie", "in", "za"};
    if (lang[2])
        for (size_t k = 0; k < sizeof GB / sizeof GB[0]; k++)
            if (strncasecmp(lang + 3, GB[k], 2) == 0)
                return 2;
    return 1;
}

kk_status kk_normalize(const char *text, const char *lang, kk_norm *out, kk_error *err)
{
    if (!text || !out)
        return kk_error_set(err, KK_ERR_ARG, "normalize: kk_normalize needs text and an output");
    memset(out, 0, sizeof *out);
    nz z;
    memset(&z, 0, sizeof z);
    z.s = text;
    z.n = strlen(text);
    z.year_end = NONE;
    z.nc_from = NONE;
    int kind = lang_kind(lang);
    z.gb = kind == 2;
    sb_putn(&z.out, "", 0); /* the text exists, even when empty */
    if (kind == 0)
        emit_verbatim(&z, 0, z.n);
    else
        run(&z);
    free(z.x.p);
    if (z.oom || z.out.oom) {
        free(z.out.p);
        free(z.sp);
        return kk_error_set(err, KK_ERR_NOMEM, "normalize: out of memory normalising %zu bytes of text", z.n);
    }
    out->text = z.out.p;
    out->len = z.out.n;
    out->spans = z.sp;
    out->n_spans = z.nsp;
    return KK_OK;
}

void kk_norm_free(kk_norm *n)
{
    if (!n)
        return;
    free(n->text);
    free(n->spans);
    memset(n, 0, sizeof *n);
}

size_t kk_norm_source_pos(const kk_norm *n, size_t pos, int end)
{
    if (!n->n_spans)
        return pos;
    if (pos >= n->len)
        return n->spans[n->n_spans - 1].src_end;
    size_t lo = 0, hi = n->n_spans;
    while (lo + 1 < hi) { /* last span with out_start <= pos */
        size_t mid = (lo + hi) / 2;
        if (n->spans[mid].out_start <= pos)
            lo = mid;
        else
            hi = mid;
    }
    const kk_norm_span *s = &n->spans[lo];
    if (end && pos == s->out_start && lo > 0)
        s = &n->spans[lo - 1];
    if (s->verbatim)
        return s->src_start + (pos - s->out_start);
    return end ? s->src_end : s->src_start;
}
