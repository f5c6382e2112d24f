/*
 * vtt.c - WebVTT (.vtt).
 *
 * The file starts with "WEBVTT" (trailing text allowed) and a header up to the
 * first blank line; then blocks separated by blank lines: NOTE, STYLE and
 * REGION blocks (skipped) and cues: an optional identifier, a time line
 * "start --> end [settings]" with mm:ss.ttt or hh:mm:ss.ttt times, and the
 * payload. In the payload, <v Speaker> gives the segment's speaker; <c.x>,
 * <i>, <b>, <u>, <lang>, <ruby> and timestamp tags are removed, the ruby
 * annotation text in <rt> is not spoken, and character references are decoded.
 * A cue whose time line holds "-->" but does not parse keeps its text as an
 * untimed, flagged segment (kk_segment.flag), with a warning.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parsers_internal.h"

#define VTT_TAGS "c i b u v lang ruby rt"

typedef enum { HEADER, SEEK, AFTER_ID, TEXT, SKIP } vtt_state;

static int is_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0';
}

static int keyword_block(const char *s, const char *kw)
{
    size_t n = strlen(kw);
    return strncmp(s, kw, n) == 0 && (s[n] == '\0' || s[n] == ' ' || s[n] == '\t');
}

/* Removes the payload's tags in place, takes the first voice span's name as
 * the speaker (a malloc'd copy in *speaker), drops <rt> text. Returns the
 * number of unknown tags; the first one is copied to first. */
static int clean_payload(char *s, char **speaker, char *first, size_t fsize)
{
    int unknown = 0, in_rt = 0;
    char *w = s;
    for (char *r = s; *r;) {
        char *gt = *r == '<' ? strchr(r, '>') : NULL;
        if (!gt) {
            if (!in_rt)
                *w++ = *r;
            r++;
            continue;
        }
        const char *t = r + 1;
        int closing = *t == '/';
        if (closing)
            t++;
        size_t nl = 0;
        while (isalnum((unsigned char)t[nl]))
            nl++;
        if (nl == 2 && strncmp(t, "rt", 2) == 0) {
            in_rt = !closing;
        } else if (!closing && nl == 1 && t[0] == 'v' && !*speaker) {
            const char *a = t + 1;
            while (*a && *a != ' ' && *a != '\t' && a < gt)
                a++; /* classes: <v.loud Name> */
            while (a < gt && (*a == ' ' || *a == '\t'))
                a++;
            if (a < gt) {
                *speaker = strndup(a, (size_t)(gt - a));
                if (*speaker)
                    kk_decode_entities(*speaker);
            }
        } else if (isdigit((unsigned char)t[0])) {
            /* a timestamp tag <00:00:01.500>: karaoke timing, not text */
        } else {
            char name[16];
            size_t k = nl < sizeof name - 1 ? nl : sizeof name - 1;
            memcpy(name, t, k);
            name[k] = '\0';
            int known = 0;
            for (const char *p = VTT_TAGS; *p;) {
                const char *e = strchr(p, ' ');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                if (n == k && strncmp(p, name, n) == 0)
                    known = 1;
                p += n + (e != NULL);
            }
            if (!known && unknown++ == 0 && fsize) {
                size_t m = (size_t)(gt - r + 1) < fsize - 1 ? (size_t)(gt - r + 1) : fsize - 1;
                memcpy(first, r, m);
                first[m] = '\0';
            }
        }
        r = gt + 1;
    }
    *w = '\0';
    kk_decode_entities(s);
    return unknown;
}

typedef struct {
    kk_pctx *c;
    int64_t start, end;
    long cue_line;
    kk_buf text;
} vtt;

static int finish(vtt *v)
{
    char *speaker = NULL, first[64] = "";
    if (kk_buf_reserve(&v->text, 0)) {
        kk_error_set(v->c->err, KK_ERR_NOMEM, "%s: out of memory", v->c->name);
        return -1;
    }
    int unknown = clean_payload(v->text.data, &speaker, first, sizeof first);
    int rc = 0;
    if (unknown)
        rc = kk_warn(v->c, v->cue_line, "unknown tag %s removed", first);
    if (!rc) {
        kk_segment seg = {.start_ms = v->start, .end_ms = v->end, .text = v->text.data,
                          .speaker = speaker, .score = NAN, .line = v->cue_line,
                          .flag = v->start == KK_TIME_NONE ? KK_FLAG_BAD_TIMES : NULL};
        rc = kk_emit(v->c, &seg);
    }
    free(speaker);
    kk_buf_clear(&v->text);
    return rc;
}

kk_status kk_parse_vtt(kk_pctx *c)
{
    vtt v = {.c = c};
    vtt_state state = HEADER;
    int rc, bad = 0;
    while (!bad && (rc = kk_next_line(c)) > 0) {
        char *line = c->rd->line.data;
        long ln = c->rd->lineno;
        int blank = is_blank(line);
        int64_t a = 0, b = 0;
        int tl = blank ? 0 : kk_parse_time_line(line, &a, &b);
        if (state == HEADER && ln == 1) {
            if (keyword_block(line, "WEBVTT"))
                continue;
            bad = kk_warn(c, 1, "missing WEBVTT header line");
            state = SEEK;
        }
        if (state == HEADER) {
            if (blank)
                state = SEEK;
            else if (tl == 1) /* no blank line after the header */
                state = SEEK;
            else
                continue;
        }
        switch (state) {
        case HEADER: break;
        case SEEK:
        case AFTER_ID:
            if (blank) {
                if (state == AFTER_ID)
                    bad = kk_warn(c, ln - 1, "cue identifier without a time line; skipped");
                state = SEEK;
            } else if (tl == 1) {
                if (b < a) {
                    bad = kk_warn(c, ln, "end time is before the start time; cue skipped");
                    state = SKIP;
                } else {
                    v.start = a, v.end = b, v.cue_line = ln;
                    kk_buf_clear(&v.text);
                    state = TEXT;
                }
            } else if (tl == -1) {
                /* garbled: the text is kept, untimed and flagged */
                bad = kk_warn(c, ln, "garbled time line \"%.80s\"; its text is kept as an untimed segment "
                              "(flagged): give it its times", line);
                v.start = v.end = KK_TIME_NONE, v.cue_line = ln;
                kk_buf_clear(&v.text);
                state = TEXT;
            } else if (state == SEEK && (keyword_block(line, "NOTE") || keyword_block(line, "STYLE") ||
                                         keyword_block(line, "REGION"))) {
                state = SKIP; /* not spoken; runs to the next blank line */
            } else if (state == SEEK) {
                state = AFTER_ID;
            } else {
                bad = kk_warn(c, ln, "expected a time line after the cue identifier, found \"%.80s\"; "
                              "skipped to the next blank line", line);
                state = SKIP;
            }
            break;
        case SKIP:
            if (blank)
                state = SEEK;
            break;
        case TEXT:
            if (blank) {
                bad = finish(&v);
                state = SEEK;
            } else if ((v.text.len && kk_buf_putc(&v.text, ' ')) ||
                       kk_buf_append(&v.text, line, c->rd->line.len)) {
                bad = (kk_error_set(c->err, KK_ERR_NOMEM, "%s: out of memory", c->name), -1);
            } else if (v.text.len > KK_MAX_LINE_BYTES) {
                bad = (kk_error_set(c->err, KK_ERR_INPUT,
                                    "%s:%ld: cue text longer than %zu MiB; are blank lines missing?",
                                    c->name, v.cue_line, KK_MAX_LINE_BYTES >> 20), -1);
            }
            break;
        }
    }
    if (!bad && rc == 0 && state == TEXT)
        bad = finish(&v);
    kk_buf_free(&v.text);
    if (bad || rc < 0)
        return c->err->code;
    return KK_OK;
}
