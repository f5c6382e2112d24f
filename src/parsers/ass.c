/*
 * ass.c - Advanced SubStation Alpha and SubStation Alpha (.ass, .ssa).
 *
 * Only the [Events] section speaks. Its "Format:" line names the columns, so
 * their order is read, not assumed (the standard ASS order is used, with a
 * warning, when a Dialogue line comes before any Format line). Text is the
 * last column and keeps its commas. "Comment:" events are not spoken.
 * Override blocks {...} are removed, text inside a vector drawing (\p1..\p0)
 * is not spoken, \N \n \h become spaces, and the Name (SSA: Actor) column
 * becomes the speaker. Times are H:MM:SS.CC (centiseconds).
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parsers_internal.h"

#define MAX_COLS 32

typedef struct {
    int ncols;
    int start, end, name, text; /* column indexes, -1 when absent */
} ass_format;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = '\0';
    return s;
}

/* Reads "Format: a, b, c" (the part after the colon). 0 ok, -1 unusable. */
static int read_format(char *spec, ass_format *f)
{
    f->ncols = 0;
    f->start = f->end = f->name = f->text = -1;
    for (char *p = spec; p && f->ncols < MAX_COLS;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char *col = trim(p);
        if (strcasecmp(col, "Start") == 0)
            f->start = f->ncols;
        else if (strcasecmp(col, "End") == 0)
            f->end = f->ncols;
        else if (strcasecmp(col, "Name") == 0 || strcasecmp(col, "Actor") == 0)
            f->name = f->ncols;
        else if (strcasecmp(col, "Text") == 0)
            f->text = f->ncols;
        f->ncols++;
        p = comma ? comma + 1 : NULL;
    }
    return (f->start < 0 || f->end < 0 || f->text != f->ncols - 1) ? -1 : 0;
}

static int starts_with(const char *s, const char *kw)
{
    return strncasecmp(s, kw, strlen(kw)) == 0;
}

kk_status kk_parse_ass(kk_pctx *c)
{
    ass_format fmt = {0};
    int have_fmt = 0, in_events = 0, warned_default = 0;
    int rc, bad = 0;
    while (!bad && (rc = kk_next_line(c)) > 0) {
        char *line = trim(c->rd->line.data);
        long ln = c->rd->lineno;
        if (*line == '[') {
            in_events = strncasecmp(line, "[Events]", 8) == 0;
            continue;
        }
        if (in_events && starts_with(line, "Format:")) {
            if (read_format(line + 7, &fmt)) {
                bad = kk_warn(c, ln, "the Format line needs Start, End and Text (last); using the "
                              "standard ASS columns");
                have_fmt = 0;
                warned_default = 1;
            } else {
                have_fmt = 1;
            }
            continue;
        }
        if (!starts_with(line, "Dialogue:"))
            continue; /* Comment:, Style:, script info and the rest are not spoken */
        if (!have_fmt) {
            if (!warned_default) {
                warned_default = 1;
                if ((bad = kk_warn(c, ln, "no usable Format line in [Events] before this Dialogue line; "
                                   "assuming the standard ASS columns")))
                    break;
            }
            char std[] = "Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text";
            read_format(std, &fmt);
            have_fmt = 1;
        }
        /* Split into ncols fields; the last (Text) keeps its commas. */
        char *fields[MAX_COLS];
        char *p = line + 9;
        int n = 0;
        while (n < fmt.ncols - 1) {
            char *comma = strchr(p, ',');
            if (!comma)
                break;
            *comma = '\0';
            fields[n++] = trim(p);
            p = comma + 1;
        }
        if (n < fmt.ncols - 1) {
            bad = kk_warn(c, ln, "Dialogue line has %d fields where the Format line names %d; skipped",
                          n + 1, fmt.ncols);
            continue;
        }
        fields[n++] = p;
        const char *s = fields[fmt.start], *e = fields[fmt.end];
        int64_t a, b;
        if (kk_parse_clock(&s, &a) || *s || kk_parse_clock(&e, &b) || *e) {
            bad = kk_warn(c, ln, "bad Start or End time (%.20s, %.20s); event skipped", fields[fmt.start],
                          fields[fmt.end]);
            continue;
        }
        if (b < a) {
            bad = kk_warn(c, ln, "end time is before the start time; event skipped");
            continue;
        }
        char *text = fields[fmt.text];
        kk_strip_ass(text, 1);
        kk_segment seg = {.start_ms = a, .end_ms = b, .text = text, .score = NAN, .line = ln,
                          .speaker = fmt.name >= 0 && *fields[fmt.name] ? fields[fmt.name] : NULL};
        bad = kk_emit(c, &seg);
    }
    if (bad || rc < 0)
        return c->err->code;
    return KK_OK;
}
