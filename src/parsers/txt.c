/*
 * txt.c - plain text (.txt).
 *
 * Paragraphs (runs of lines between blank lines; single line breaks inside a
 * paragraph are joined with a space) become segments. A paragraph longer than
 * params.txt_max_chars is split, greedily: at the last sentence end that fits,
 * else at the last clause mark (, ; : and dashes), else at the last space;
 * never inside a word (a single word longer than the limit stays whole).
 * Splitting happens while the paragraph is read, so memory stays bounded by
 * the limit plus one line. Plain text has no times.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parsers_internal.h"

typedef struct {
    kk_pctx *c;
    kk_buf para;
    /* Where each line of the paragraph starts, so that a piece cut from the
     * middle still reports the line it came from. */
    size_t *line_off;
    long *line_no;
    size_t n_lines, cap_lines;
} txt;

/* Byte offset just past the first max code points of s (n bytes). */
static size_t cp_offset(const char *s, size_t n, size_t max)
{
    size_t i = 0, cps = 0;
    while (i < n && cps < max) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        cps++;
    }
    return i;
}

static int is_abbrev(const char *s, size_t dot)
{
    static const char *const abbr[] = {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc",
                                       "e.g", "i.e", "mt", "no", "vol", "fig", "approx", "inc", "ltd",
                                       "co", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
                                       "sept", "oct", "nov", "dec"};
    size_t b = dot;
    while (b > 0 && s[b - 1] != ' ')
        b--;
    size_t n = dot - b;
    if (n == 1 && ((s[b] >= 'A' && s[b] <= 'Z') || (s[b] >= 'a' && s[b] <= 'z')))
        return 1; /* an initial: "J. R. R. Tolkien" */
    for (size_t i = 0; i < sizeof abbr / sizeof abbr[0]; i++)
        if (strlen(abbr[i]) == n && strncasecmp(s + b, abbr[i], n) == 0)
            return 1;
    return 0;
}

/* Where to cut the paragraph (bytes), given that it is longer than the limit
 * at byte offset lim. Returns the length of the first piece. */
static size_t cut_point(const char *s, size_t n, size_t lim)
{
    size_t sentence = 0, clause = 0, space = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        size_t end = 0; /* where a piece would end if cut after this mark */
        int strong = 0;
        if (ch == '.' || ch == '!' || ch == '?') {
            end = i + 1, strong = 1;
            if (ch == '.' && is_abbrev(s, i))
                strong = 0, end = 0;
        } else if (ch == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
                   (unsigned char)s[i + 2] == 0xA6) { /* … */
            end = i + 3, strong = 1;
        } else if (ch == 0xE3 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
                   (unsigned char)s[i + 2] == 0x82) { /* 。 needs no space after it */
            if (i + 3 <= lim)
                sentence = i + 3;
            continue;
        } else if (ch == 0xEF && i + 2 < n && (unsigned char)s[i + 1] == 0xBC &&
                   ((unsigned char)s[i + 2] == 0x81 || (unsigned char)s[i + 2] == 0x9F)) { /* ！？ */
            if (i + 3 <= lim)
                sentence = i + 3;
            continue;
        } else if (ch == ',' || ch == ';' || ch == ':') {
            end = i + 1;
        } else if (ch == ' ') {
            if (i <= lim)
                space = i;
            else if (!space)
                space = i; /* a first word longer than the limit stays whole */
            continue;
        }
        if (!end)
            continue;
        /* Closing quotes and brackets stay with their sentence. */
        while (end < n && strchr("\"')]", s[end]))
            end++;
        while (end + 2 < n && (unsigned char)s[end] == 0xE2 && (unsigned char)s[end + 1] == 0x80 &&
               ((unsigned char)s[end + 2] == 0x9D || (unsigned char)s[end + 2] == 0x99))
            end += 3; /* ” ’ */
        if (end >= n || s[end] != ' ' || end > lim)
            continue;
        if (strong)
            sentence = end;
        else
            clause = end;
    }
    if (sentence)
        return sentence;
    if (clause)
        return clause;
    return space ? space : n;
}

static long line_at(txt *t, size_t off)
{
    long ln = t->n_lines ? t->line_no[0] : t->c->rd->lineno;
    for (size_t i = 0; i < t->n_lines && t->line_off[i] <= off; i++)
        ln = t->line_no[i];
    return ln;
}

/* Emits the first len bytes of the paragraph and removes them. */
static int emit_piece(txt *t, size_t len)
{
    char save = t->para.data[len];
    t->para.data[len] = '\0';
    size_t skip = 0;
    while (skip < len && t->para.data[skip] == ' ')
        skip++;
    kk_segment seg = {.start_ms = KK_TIME_NONE, .end_ms = KK_TIME_NONE, .text = t->para.data,
                      .score = NAN, .line = line_at(t, skip)};
    int rc = len > skip ? kk_emit(t->c, &seg) : 0;
    t->para.data[len] = save;
    /* Drop the piece and the spaces after it; shift the line table. */
    while (len < t->para.len && t->para.data[len] == ' ')
        len++;
    memmove(t->para.data, t->para.data + len, t->para.len - len + 1);
    t->para.len -= len;
    size_t k = 0;
    for (size_t i = 0; i < t->n_lines; i++) {
        if (t->line_off[i] < len && !(i + 1 < t->n_lines && t->line_off[i + 1] <= len)) {
            t->line_off[k] = 0, t->line_no[k] = t->line_no[i], k++; /* the line the rest starts in */
        } else if (t->line_off[i] >= len) {
            t->line_off[k] = t->line_off[i] - len, t->line_no[k] = t->line_no[i], k++;
        }
    }
    t->n_lines = k;
    return rc;
}

static int split_long(txt *t, int final)
{
    size_t max = t->c->p->txt_max_chars ? t->c->p->txt_max_chars : 300;
    for (;;) {
        size_t lim = cp_offset(t->para.data, t->para.len, max);
        if (lim >= t->para.len) {
            if (final && t->para.len)
                return emit_piece(t, t->para.len);
            return 0;
        }
        size_t cut = cut_point(t->para.data, t->para.len, lim);
        if (cut >= t->para.len) {
            if (!final)
                return 0; /* one long word so far: wait for more text */
            return emit_piece(t, t->para.len);
        }
        if (emit_piece(t, cut))
            return -1;
    }
}

kk_status kk_parse_txt(kk_pctx *c)
{
    txt t = {.c = c};
    int rc, bad = 0;
    while (!bad && (rc = kk_next_line(c)) > 0) {
        char *line = c->rd->line.data;
        kk_fold_space(line);
        if (!*line) {
            bad = split_long(&t, 1);
            t.n_lines = 0;
            continue;
        }
        if (t.n_lines == t.cap_lines) {
            size_t cap = t.cap_lines ? t.cap_lines * 2 : 16;
            size_t *o = realloc(t.line_off, cap * sizeof *o);
            if (o)
                t.line_off = o;
            long *l = o ? realloc(t.line_no, cap * sizeof *l) : NULL;
            if (l)
                t.line_no = l;
            if (!o || !l) {
                bad = (kk_error_set(c->err, KK_ERR_NOMEM, "%s: out of memory", c->name), -1);
                break;
            }
            t.cap_lines = cap;
        }
        if (t.para.len && kk_buf_putc(&t.para, ' ')) {
            bad = (kk_error_set(c->err, KK_ERR_NOMEM, "%s: out of memory", c->name), -1);
            break;
        }
        t.line_off[t.n_lines] = t.para.len;
        t.line_no[t.n_lines++] = c->rd->lineno;
        if (kk_buf_puts(&t.para, line)) {
            bad = (kk_error_set(c->err, KK_ERR_NOMEM, "%s: out of memory", c->name), -1);
            break;
        }
        bad = split_long(&t, 0);
        if (!bad && t.para.len > KK_MAX_LINE_BYTES)
            bad = (kk_error_set(c->err, KK_ERR_INPUT,
                                "%s:%ld: a single word longer than %zu MiB; this is not prose", c->name,
                                c->rd->lineno, KK_MAX_LINE_BYTES >> 20), -1);
    }
    if (!bad && rc == 0)
        bad = split_long(&t, 1);
    kk_buf_free(&t.para);
    free(t.line_off);
    free(t.line_no);
    if (bad || rc < 0)
        return c->err->code;
    return KK_OK;
}
