/*
 * g2p_markup.c - splits text into words, punctuation tokens and markup.
 *
 * Markup: [word](/phonemes/) (pronunciation override), [pause:500ms] /
 * [pause:1.5s], and emphasis, [word](+) or *word* (kk_emphasis.h: the
 * words inside are items flagged emphasis, the marks make none).
 * Everything else is text spoken as written; a '[' that starts broken
 * markup is reported and read as text.
 *
 * Punctuation follows misaki: the marks the model knows become tokens,
 * ASCII variants are normalised (... -> …, -- -> —, "x" -> “x”), marks
 * inside numbers and abbreviations (1,000  10:30  3.5  e.g.) stay in the
 * word, and decorative marks (* _ ~ ` | < > { } \ ^ ¡ ¿) are not spoken.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "g2p_internal.h"
#include "kk_emphasis.h"

size_t kk_utf8_len(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    size_t l = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    for (size_t i = 1; i < l; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            return 1; /* broken sequence: one byte at a time */
    return l;
}

void kk_items_free(kk_items *items)
{
    for (size_t i = 0; i < items->n; i++)
        free(items->v[i].sym);
    free(items->v);
    items->v = NULL;
    items->n = items->cap = 0;
}

static kk_item *push(kk_items *it)
{
    if (it->n == it->cap) {
        size_t cap = it->cap ? it->cap * 2 : 64;
        kk_item *v = realloc(it->v, cap * sizeof *v);
        if (!v)
            return NULL;
        it->v = v;
        it->cap = cap;
    }
    kk_item *x = &it->v[it->n++];
    memset(x, 0, sizeof *x);
    return x;
}

static int is_space_at(const char *s, size_t *len)
{
    unsigned char c = (unsigned char)s[0];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        *len = 1;
        return 1;
    }
    if (c == 0xC2 && (unsigned char)s[1] == 0xA0) { /* no-break space */
        *len = 2;
        return 1;
    }
    if (strncmp(s, "\u3000", 3) == 0 || strncmp(s, "\u2009", 3) == 0 ||
        strncmp(s, "\u202F", 3) == 0) {
        *len = 3;
        return 1;
    }
    return 0;
}

typedef struct pmark {
    const char *text; /* UTF-8 source mark */
    const char *sym;  /* token */
    int brk, closing;
} pmark;

static const pmark MARKS[] = {
    {";", ";", KK_BRK_CLAUSE, 0},      {"!", "!", KK_BRK_SENTENCE, 0},
    {"?", "?", KK_BRK_SENTENCE, 0},    {"\u2026", "\u2026", KK_BRK_SENTENCE, 0},
    {"\u2014", "\u2014", KK_BRK_COMMA, 0}, {"\u2013", "\u2014", KK_BRK_COMMA, 0},
    {"(", "(", KK_BRK_NONE, 0},        {")", ")", KK_BRK_NONE, 1},
    {"\u201C", "\u201C", KK_BRK_NONE, 0}, {"\u201D", "\u201D", KK_BRK_NONE, 1},
    {"\u201E", "\u201C", KK_BRK_NONE, 0}, {"\u00AB", "\u201C", KK_BRK_NONE, 0},
    {"\u00BB", "\u201D", KK_BRK_NONE, 1}, {"\uFF0C", ",", KK_BRK_COMMA, 0},
    {"\u3001", ",", KK_BRK_COMMA, 0},  {"\u3002", ".", KK_BRK_SENTENCE, 0},
    {"\uFF01", "!", KK_BRK_SENTENCE, 0}, {"\uFF1F", "?", KK_BRK_SENTENCE, 0},
    {"\uFF1B", ";", KK_BRK_CLAUSE, 0}, {"\uFF1A", ":", KK_BRK_CLAUSE, 0},
    {"\u300C", "\u201C", KK_BRK_NONE, 0}, {"\u300D", "\u201D", KK_BRK_NONE, 1},
    {"\u300E", "\u201C", KK_BRK_NONE, 0}, {"\u300F", "\u201D", KK_BRK_NONE, 1},
    {"\uFF08", "(", KK_BRK_NONE, 0},   {"\uFF09", ")", KK_BRK_NONE, 1},
    {"\u0964", ".", KK_BRK_SENTENCE, 0}, {"\u0965", ".", KK_BRK_SENTENCE, 0}, /* Devanagari danda */
};

/* Marks that are not spoken and make no token. */
static const char *const SILENT[] = {"*", "_", "~", "`", "|", "<", ">", "{", "}", "\\",
                                     "^", "\u00A1", "\u00BF", "[", "]"};

typedef struct scan {
    const char *t;
    size_t n;
    kk_items *out;
    kk_markup_warn_fn warn;
    void *user;
    size_t wstart; /* start of the word in progress, or (size_t)-1 */
    int wspace;
    int space;      /* whitespace seen since the last item */
    int last_open;  /* the last item was an opening mark */
    /* inside emphasis markup: where its words end and where the markup
     * does (NO_WORD when outside) */
    size_t emph_end, emph_close;
} scan;

#define NO_WORD ((size_t)-1)

static int digit_at(const scan *s, size_t i) { return i < s->n && isdigit((unsigned char)s->t[i]); }
static int alpha_at(const scan *s, size_t i) { return i < s->n && isalpha((unsigned char)s->t[i]); }

/* Abbreviations that stand before a name or a number. */
static int title_abbrev(const char *w, size_t n)
{
    static const char *const list[] = {"mr", "mrs", "ms", "dr", "prof", "st", "mt", "vs", "no", "fig",
                                       "vol", "jr", "sr", "gen", "col", "lt", "sgt", "capt", "rev", "hon"};
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
        if (strlen(list[i]) == n && strncasecmp(w, list[i], n) == 0)
            return 1;
    return 0;
}

/* Spaces (at least one), then a letter or digit. */
static int followed_by_word(const scan *s, size_t i)
{
    size_t j = i;
    while (j < s->n && (s->t[j] == ' ' || s->t[j] == '\t'))
        j++;
    return j > i && j < s->n && (isalnum((unsigned char)s->t[j]) || (unsigned char)s->t[j] >= 0x80);
}

static int flush_word(scan *s, size_t end)
{
    if (s->wstart == NO_WORD)
        return 0;
    kk_item *x = push(s->out);
    if (!x)
        return -1;
    x->kind = KK_ITEM_WORD;
    x->start = x->wstart = s->wstart;
    x->end = x->wend = end;
    x->space_before = s->wspace;
    x->emphasis = s->emph_end != NO_WORD;
    s->wstart = NO_WORD;
    s->last_open = 0;
    return 0;
}

static int emit_punct(scan *s, size_t start, size_t end, const char *sym, int brk, int closing)
{
    if (flush_word(s, start) < 0)
        return -1;
    kk_item *x = push(s->out);
    if (!x || !(x->sym = strdup(sym)))
        return -1;
    x->kind = KK_ITEM_PUNCT;
    x->start = start;
    x->end = end;
    x->space_before = s->space;
    x->brk = brk;
    x->closing = closing;
    s->space = 0;
    s->last_open = !closing && brk == KK_BRK_NONE;
    return 0;
}

static void warnf(scan *s, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warnf(scan *s, size_t off, const char *fmt, ...)
{
    if (!s->warn)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->warn(s->user, off, msg);
}

/* [pause:500ms] / [pause:1.5s]: returns bytes used, 0 if not a valid pause,
 * -1 on no memory. */
static long try_pause(scan *s, size_t i)
{
    static const char P[] = "[pause:";
    size_t pl = sizeof P - 1;
    if (s->n - i < pl || strncasecmp(s->t + i, P, pl) != 0)
        return 0;
    size_t j = i + pl;
    double v = 0, scale = 1;
    int digits = 0, dot = 0;
    while (j < s->n && (isdigit((unsigned char)s->t[j]) || (s->t[j] == '.' && !dot))) {
        if (s->t[j] == '.')
            dot = 1;
        else {
            digits++;
            if (dot) {
                scale /= 10;
                v += (s->t[j] - '0') * scale;
            } else
                v = v * 10 + (s->t[j] - '0');
        }
        j++;
    }
    double ms = -1;
    if (digits && j + 3 <= s->n && strncasecmp(s->t + j, "ms]", 3) == 0) {
        ms = v;
        j += 3;
    } else if (digits && j + 2 <= s->n && strncasecmp(s->t + j, "s]", 2) == 0) {
        ms = v * 1000;
        j += 2;
    }
    if (ms < 0 || ms > 600000) {
        const char *close = memchr(s->t + i, ']', s->n - i);
        int shown = close ? (int)(close - (s->t + i) + 1) : (int)(s->n - i < 24 ? s->n - i : 24);
        warnf(s, i,
              "g2p: invalid pause markup '%.*s' at byte %zu: write [pause:500ms] or "
              "[pause:1.5s] (at most 600 s); the text is spoken as written",
              shown, s->t + i, i);
        return 0;
    }
    if (flush_word(s, i) < 0)
        return -1;
    kk_item *x = push(s->out);
    if (!x)
        return -1;
    x->kind = KK_ITEM_PAUSE;
    x->start = i;
    x->end = j;
    x->pause_ms = (int)(ms + 0.5);
    x->space_before = s->space;
    s->space = 0;
    s->last_open = 0;
    return (long)(j - i);
}

/* [word](/phonemes/): returns bytes used, 0 if not an override, -1 on no
 * memory. */
static long try_override(scan *s, size_t i)
{
    size_t j = i + 1;
    while (j < s->n && s->t[j] != ']' && s->t[j] != '[' && s->t[j] != '\n')
        j++;
    if (j >= s->n || s->t[j] != ']') {
        warnf(s, i,
              "g2p: unbalanced '[' at byte %zu (no ']' on the same line); write "
              "[word](/phonemes/) or [pause:500ms]; the text is spoken as written",
              i);
        return 0;
    }
    if (j + 1 >= s->n || s->t[j + 1] != '(')
        return 0; /* plain brackets: text */
    size_t k = j + 2;
    while (k < s->n && s->t[k] != ')' && s->t[k] != '\n')
        k++;
    if (k >= s->n || s->t[k] != ')') {
        warnf(s, i,
              "g2p: unbalanced '(' in markup at byte %zu (no ')' on the same line); write "
              "[word](/phonemes/); the text is spoken as written",
              i);
        return 0;
    }
    const char *c = s->t + j + 2;
    size_t cl = k - (j + 2);
    size_t wl = j - (i + 1);
    if (cl < 3 || c[0] != '/' || c[cl - 1] != '/' || wl == 0) {
        warnf(s, i,
              "g2p: unsupported markup '%.*s' at byte %zu: only [word](/phonemes/) with a "
              "non-empty word and phonemes is understood; the text is spoken as written",
              (int)(k + 1 - i), s->t + i, i);
        return 0;
    }
    if (flush_word(s, i) < 0)
        return -1;
    kk_item *x = push(s->out);
    if (!x || !(x->sym = strndup(c + 1, cl - 2)))
        return -1;
    x->kind = KK_ITEM_OVERRIDE;
    x->start = i;
    x->end = k + 1;
    x->wstart = i + 1;
    x->wend = j;
    x->emphasis = s->emph_end != NO_WORD;
    x->space_before = s->space;
    s->space = 0;
    s->last_open = 0;
    return (long)(k + 1 - i);
}

kk_status kk_markup_parse(const char *text, kk_items *out, kk_markup_warn_fn warn, void *user,
                          kk_error *err)
{
    scan s = {.t = text, .n = strlen(text), .out = out, .warn = warn, .user = user,
              .wstart = NO_WORD, .emph_end = NO_WORD, .emph_close = NO_WORD};
    size_t i = 0;
    int newlines = 0, any = 0;
    while (i < s.n) {
        size_t l;
        if (s.emph_end != NO_WORD && i >= s.emph_end) {
            /* the emphasised words end here; the closing marks say nothing */
            if (flush_word(&s, i) < 0)
                goto nomem;
            if (i < s.emph_close) /* (markup inside may have run past it) */
                i = s.emph_close;
            s.emph_end = s.emph_close = NO_WORD;
            continue;
        }
        if (is_space_at(s.t + i, &l)) {
            if (flush_word(&s, i) < 0)
                goto nomem;
            if (s.t[i] == '\n')
                newlines++;
            s.space = 1;
            i += l;
            continue;
        }
        if (newlines >= 2 && any) {
            kk_item *x = push(out);
            if (!x)
                goto nomem;
            x->kind = KK_ITEM_PARA;
            x->start = x->end = i;
            s.space = 0;
            s.last_open = 0;
        }
        newlines = 0;
        any = 1;
        char c = s.t[i];
        l = kk_utf8_len(s.t + i);
        kk_emphasis_span em;
        if ((c == '[' || c == '*') && s.emph_end == NO_WORD && kk_emphasis_at(s.t, s.n, i, &em)) {
            if (flush_word(&s, i) < 0)
                goto nomem;
            s.emph_end = em.text_end, s.emph_close = em.end;
            i = em.text_start;
            continue;
        }
        if (c == '[') {
            long used = try_pause(&s, i);
            if (used == 0 && strncasecmp(s.t + i, "[pause:", 7) != 0)
                used = try_override(&s, i);
            if (used < 0)
                goto nomem;
            if (used > 0) {
                i += (size_t)used;
                continue;
            }
        }
        int in_word = s.wstart != NO_WORD;
        /* marks that stay inside words and numbers */
        if (((c == ',' || c == '.' || c == ':') && in_word && digit_at(&s, i - 1) && digit_at(&s, i + 1)) ||
            (c == '.' && in_word && alpha_at(&s, i + 1)) ||
            ((c == '\'' || strncmp(s.t + i, "\u2019", 3) == 0) && in_word && (alpha_at(&s, i + l))) ||
            (c == '-' && ((in_word && s.t[i + 1] != '-' && !is_space_at(s.t + i + 1, &(size_t){0}) && i + 1 < s.n) ||
                          (!in_word && digit_at(&s, i + 1))))) {
            if (!in_word) {
                s.wstart = i;
                s.wspace = s.space;
                s.space = 0;
            }
            i += l;
            continue;
        }
        /* the period of a title before a name ("Dr. Smith", "No. 5") is not
         * a sentence end: espeak-ng reads the word the same without it */
        if (c == '.' && in_word && title_abbrev(s.t + s.wstart, i - s.wstart) && followed_by_word(&s, i + 1)) {
            if (flush_word(&s, i) < 0)
                goto nomem;
            i += 1;
            continue;
        }
        /* ASCII variants */
        if (c == '.' || c == '-') {
            size_t j = i;
            while (j < s.n && s.t[j] == c)
                j++;
            if (c == '.' && j - i >= 2) {
                if (emit_punct(&s, i, j, "\u2026", KK_BRK_SENTENCE, 0) < 0)
                    goto nomem;
            } else if (c == '.') {
                if (emit_punct(&s, i, j, ".", KK_BRK_SENTENCE, 0) < 0)
                    goto nomem;
            } else if (emit_punct(&s, i, j, "\u2014", KK_BRK_COMMA, 0) < 0) {
                goto nomem;
            }
            i = j;
            continue;
        }
        if (c == ',' || c == ':') {
            if (emit_punct(&s, i, i + 1, c == ',' ? "," : ":", c == ',' ? KK_BRK_COMMA : KK_BRK_CLAUSE, 0) < 0)
                goto nomem;
            i++;
            continue;
        }
        if (c == '"') {
            int opening = !in_word && (s.space || s.out->n == 0 || s.last_open);
            if (emit_punct(&s, i, i + 1, opening ? "\u201C" : "\u201D", KK_BRK_NONE, !opening) < 0)
                goto nomem;
            i++;
            continue;
        }
        if (c == '\'' || strncmp(s.t + i, "\u2019", 3) == 0 || strncmp(s.t + i, "\u2018", 3) == 0) {
            if (flush_word(&s, i) < 0) /* a quote mark, not an apostrophe: silent */
                goto nomem;
            i += l;
            continue;
        }
        int done = 0;
        for (size_t m = 0; m < sizeof MARKS / sizeof MARKS[0] && !done; m++) {
            size_t ml = strlen(MARKS[m].text);
            if (strncmp(s.t + i, MARKS[m].text, ml) == 0) {
                if (emit_punct(&s, i, i + ml, MARKS[m].sym, MARKS[m].brk, MARKS[m].closing) < 0)
                    goto nomem;
                i += ml;
                done = 1;
            }
        }
        for (size_t m = 0; m < sizeof SILENT / sizeof SILENT[0] && !done; m++) {
            size_t ml = strlen(SILENT[m]);
            if (strncmp(s.t + i, SILENT[m], ml) == 0) {
                if (flush_word(&s, i) < 0)
                    goto nomem;
                i += ml;
                done = 1;
            }
        }
        if (done)
            continue;
        if (!in_word) {
            s.wstart = i;
            s.wspace = s.space;
            s.space = 0;
        }
        i += l;
    }
    if (flush_word(&s, s.n) < 0)
        goto nomem;
    return KK_OK;
nomem:
    return kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory while reading the text");
}
