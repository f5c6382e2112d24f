/*
 * parsers_markup.c - small text helpers the parsers share: clock times,
 * SRT/VTT time lines, HTML-like tags, ASS override blocks, character
 * references and white space. All work in place, since every edit only ever
 * makes the string shorter.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parsers_internal.h"

static int read_uint(const char **s, int max_digits, int64_t *v)
{
    const char *p = *s;
    int64_t x = 0;
    int n = 0;
    while (isdigit((unsigned char)*p)) {
        if (++n > max_digits)
            return -1;
        x = x * 10 + (*p - '0');
        p++;
    }
    if (!n)
        return -1;
    *s = p;
    *v = x;
    return n;
}

int kk_parse_clock(const char **s, int64_t *ms)
{
    const char *p = *s;
    int64_t f[3];
    int nf = 0;
    for (;;) {
        int digits = read_uint(&p, nf == 0 ? 9 : 2, &f[nf]);
        if (digits < 0)
            return -1;
        nf++;
        if (*p != ':' || nf == 3)
            break;
        p++;
    }
    if (nf < 2)
        return -1;
    int64_t h = nf == 3 ? f[0] : 0, m = f[nf - 2], sec = f[nf - 1];
    if ((nf == 3 && m >= 60) || sec >= 60)
        return -1;
    int64_t frac = 0;
    if (*p == '.' || *p == ',') {
        const char *q = p + 1;
        int64_t v;
        int digits = read_uint(&q, 3, &v);
        if (digits < 0)
            return -1;
        frac = digits == 1 ? v * 100 : digits == 2 ? v * 10 : v;
        p = q;
    }
    *ms = ((h * 60 + m) * 60 + sec) * 1000 + frac;
    *s = p;
    return 0;
}

int kk_parse_time_line(const char *s, int64_t *a, int64_t *b)
{
    const char *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    if (kk_parse_clock(&p, a))
        return strstr(s, "-->") ? -1 : 0;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncmp(p, "-->", 3))
        return strstr(s, "-->") ? -1 : 0;
    p += 3;
    while (*p == ' ' || *p == '\t')
        p++;
    if (kk_parse_clock(&p, b))
        return -1;
    return (*p == '\0' || *p == ' ' || *p == '\t') ? 1 : -1; /* VTT's cue settings may follow */
}

static int name_in_list(const char *name, size_t n, const char *list)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if ((size_t)(e - p) == n && strncasecmp(p, name, n) == 0)
            return 1;
        p = e;
    }
    return 0;
}

/* Removing a tag can join the text around it into a new tag
 * ("<font color=<i>red>"), so the stripping works on its own output: each
 * character is appended to the output, and when a '>' (or '}') is appended
 * the tag (or block) that now ends the output, if any, is cut off. Then the
 * result holds no tag or block at all, and stripping it again changes
 * nothing: what a reader of our SRT output gets back is what we spoke.
 *
 * To find that tag in constant time, marks holds the output positions of
 * every '<', '>' and line break still in the output (a tag is a '<' whose
 * next mark is its '>'); open is the first "{\" after the last '}' in the
 * output (the block a '}' closes). Linear in the length of s. */
int kk_strip_tags(char *s, const char *known, int blocks, int *n_unknown, char *first_unknown,
                  size_t fu_size)
{
    size_t *marks = NULL, n_marks = 0, cap = 0;
    char *w = s, *open = NULL;
    for (const char *r = s; *r;) {
        char ch = *w++ = *r++;
        if (ch == '<' || ch == '>' || ch == '\n') {
            if (n_marks == cap) {
                size_t *m = realloc(marks, (cap = cap ? cap * 2 : 16) * sizeof *m);
                if (!m) {
                    free(marks);
                    return -1;
                }
                marks = m;
            }
            char *lt = n_marks ? s + marks[n_marks - 1] : NULL;
            const char *name = lt && *lt == '<' ? lt + 1 + (lt[1] == '/') : NULL;
            if (ch == '>' && name && isalnum((unsigned char)*name)) {
                size_t nl = 0;
                while (isalnum((unsigned char)name[nl]))
                    nl++;
                if (!name_in_list(name, nl, known) && n_unknown && (*n_unknown)++ == 0 && first_unknown &&
                    fu_size) {
                    size_t n = (size_t)(w - lt), k = n < fu_size - 1 ? n : fu_size - 1;
                    memcpy(first_unknown, lt, k);
                    first_unknown[k] = '\0';
                }
                w = lt;
                n_marks--;
                if (open && open + 1 >= w)
                    open = NULL;
                continue;
            }
            marks[n_marks++] = (size_t)(w - 1 - s);
        } else if (blocks && ch == '\\' && w - s >= 2 && w[-2] == '{' && !open) {
            open = w - 2;
        } else if (blocks && ch == '}' && open) {
            w = open;
            open = NULL;
            while (n_marks && s + marks[n_marks - 1] >= w)
                n_marks--;
        }
    }
    *w = '\0';
    free(marks);
    return 0;
}

/* Reads the drawing level from an override block's content, if it sets one:
 * "\p1" starts a drawing, "\p0" ends it ("\pos", "\pbo" are other tags). */
static void scan_drawing(const char *b, const char *e, int *level)
{
    for (const char *p = b; p + 2 < e; p++)
        if (p[0] == '\\' && p[1] == 'p' && isdigit((unsigned char)p[2]))
            *level = atoi(p + 2);
}

void kk_strip_ass(char *s, int all)
{
    char *w = s;
    int drawing = 0;
    for (const char *r = s; *r;) {
        if (*r == '{' && (all || r[1] == '\\')) {
            const char *e = strchr(r, '}');
            if (e) {
                if (all)
                    scan_drawing(r + 1, e, &drawing);
                r = e + 1;
                continue;
            }
        }
        if (all && r[0] == '\\' && (r[1] == 'N' || r[1] == 'n' || r[1] == 'h')) {
            if (!drawing)
                *w++ = ' ';
            r += 2;
            continue;
        }
        if (all && drawing) {
            r++;
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
}

static size_t utf8_put(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

void kk_decode_entities(char *s)
{
    static const struct {
        const char *name;
        const char *text; /* what it becomes; "" drops it */
    } named[] = {
        {"amp;", "&"}, {"lt;", "<"}, {"gt;", ">"}, {"quot;", "\""}, {"apos;", "'"},
        {"nbsp;", " "}, {"lrm;", ""}, {"rlm;", ""},
    };
    char *w = s;
    for (const char *r = s; *r;) {
        if (*r != '&') {
            *w++ = *r++;
            continue;
        }
        int done = 0;
        for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
            size_t n = strlen(named[i].name);
            if (strncmp(r + 1, named[i].name, n) == 0) {
                size_t t = strlen(named[i].text);
                memcpy(w, named[i].text, t); /* t <= n + 1: never overtakes r */
                w += t;
                r += 1 + n;
                done = 1;
                break;
            }
        }
        if (!done && r[1] == '#') {
            const char *p = r + 2;
            int hex = (*p == 'x' || *p == 'X');
            if (hex)
                p++;
            unsigned long cp = 0;
            int nd = 0;
            while (nd < 8 && (hex ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p))) {
                cp = cp * (hex ? 16 : 10) + (unsigned long)(isdigit((unsigned char)*p) ? *p - '0'
                                                            : (tolower((unsigned char)*p) - 'a' + 10));
                p++, nd++;
            }
            /* The reference is at least 4 bytes ("&#N;"), its UTF-8 at most 4. */
            if (nd && *p == ';' && cp > 0 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp < 0xE000) &&
                (size_t)(p + 1 - r) >= 4) {
                w += utf8_put(w, cp);
                r = p + 1;
                done = 1;
            }
        }
        if (!done)
            *w++ = *r++;
    }
    *w = '\0';
}

void kk_fold_space(char *s)
{
    char *w = s;
    int space = 0;
    for (const char *r = s; *r;) {
        int sp = 0;
        size_t n = 1;
        unsigned char c0 = (unsigned char)r[0], c1 = (unsigned char)r[1];
        /* White space, and control characters too: C0, DEL and C1 (U+0080..
         * U+009F) are not speakable, and no subtitle or JSON output wants
         * them raw. They count as a word break, as a stray \x01 in a file
         * usually stands where a separator was. */
        if (c0 <= 0x20 || c0 == 0x7F) /* space and C0 */
            sp = 1;
        else if (c0 == 0xC2 && (c1 == 0xA0 || (c1 >= 0x80 && c1 <= 0x9F)))
            sp = 1, n = 2; /* no-break space, C1 control */
        if (c0 == 0xEF && c1 == 0xBB && (unsigned char)r[2] == 0xBF) {
            r += 3; /* U+FEFF, a stray byte-order mark: zero width, dropped */
            continue;
        }
        if (sp) {
            space = 1;
            r += n;
            continue;
        }
        if (space && w != s)
            *w++ = ' ';
        space = 0;
        *w++ = *r++;
    }
    *w = '\0';
}

int kk_all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}
