/*
 * srt.c - SubRip (.srt).
 *
 * A cue is an optional number, a time line "start --> end" (comma or dot
 * before the milliseconds, hours of any length, anything after the end time
 * ignored) and text lines up to a blank line. Real files break every rule, so
 * this is a tolerant state machine: missing or wrong numbers are ignored, a
 * missing blank line between cues is noticed when the next time line comes
 * (the number line just before it then belongs to the new cue), and a block
 * that makes no sense is skipped with a warning up to the next blank line.
 * A cue whose time line is garbled (it holds "-->" but does not parse, or
 * a cue number is followed by something that is not a time line) keeps its
 * text as an untimed segment, flagged (kk_segment.flag) and warned about,
 * so that no line of the script is lost: the user times it by hand.
 * Multi-line text is joined with spaces; <i> <b> <u> <s> <font> tags and
 * {\...} override blocks are removed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parsers_internal.h"

#define SRT_TAGS "i b u s font"

typedef enum { SEEK, AFTER_NUMBER, TEXT, SKIP } srt_state;

typedef struct {
    kk_pctx *c;
    srt_state state;
    int64_t start, end;
    long cue_line;
    kk_buf text;    /* the cue's text so far */
    kk_buf pending; /* the last text line, held back one line */
    int has_pending;
} srt;

static int is_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0';
}

static void rtrim(kk_buf *b)
{
    while (b->len && (b->data[b->len - 1] == ' ' || b->data[b->len - 1] == '\t'))
        b->data[--b->len] = '\0';
}

static int add_text(srt *s, const char *line, size_t n)
{
    if ((s->text.len && kk_buf_putc(&s->text, ' ')) || kk_buf_append(&s->text, line, n)) {
        kk_error_set(s->c->err, KK_ERR_NOMEM, "%s: out of memory", s->c->name);
        return -1;
    }
    if (s->text.len > KK_MAX_LINE_BYTES) {
        kk_error_set(s->c->err, KK_ERR_INPUT,
                     "%s:%ld: cue text longer than %zu MiB; are the blank lines between cues missing?",
                     s->c->name, s->cue_line, KK_MAX_LINE_BYTES >> 20);
        return -1;
    }
    return 0;
}

static int flush_pending(srt *s)
{
    if (!s->has_pending)
        return 0;
    s->has_pending = 0;
    return add_text(s, s->pending.data, s->pending.len);
}

/* Ends the current cue and hands it on. */
static int finish(srt *s)
{
    int unknown = 0;
    char first[64] = "";
    if (kk_buf_reserve(&s->text, 0)) {
        kk_error_set(s->c->err, KK_ERR_NOMEM, "%s: out of memory", s->c->name);
        return -1;
    }
    /* Fold first: folding drops U+FEFF, which would otherwise join
     * "</\uFEFFi>" into a tag after the stripping. */
    kk_fold_space(s->text.data);
    if (kk_strip_tags(s->text.data, SRT_TAGS, 1, &unknown, first, sizeof first)) {
        kk_error_set(s->c->err, KK_ERR_NOMEM, "%s: out of memory", s->c->name);
        return -1;
    }
    if (unknown && kk_warn(s->c, s->cue_line, "unknown tag %s removed", first))
        return -1;
    kk_segment seg = {.start_ms = s->start, .end_ms = s->end, .text = s->text.data, .score = NAN,
                      .line = s->cue_line, .flag = s->start == KK_TIME_NONE ? KK_FLAG_BAD_TIMES : NULL};
    int rc = kk_emit(s->c, &seg);
    kk_buf_clear(&s->text);
    return rc;
}

/* Starts an untimed, flagged cue at a garbled time line (see the top). */
static int start_garbled(srt *s, const char *line)
{
    kk_buf_clear(&s->text);
    s->has_pending = 0;
    s->start = s->end = KK_TIME_NONE;
    s->cue_line = s->c->rd->lineno;
    s->state = TEXT;
    return kk_warn(s->c, s->cue_line, "garbled time line \"%.80s\"; its text is kept as an untimed segment "
                   "(flagged): give it its times", line);
}

/* Starts a cue at a parsed time line; an end before the start skips it. */
static int start_cue(srt *s, int64_t a, int64_t b)
{
    long line = s->c->rd->lineno;
    kk_buf_clear(&s->text);
    s->has_pending = 0;
    if (b < a) {
        s->state = SKIP;
        return kk_warn(s->c, line, "end time is before the start time; cue skipped");
    }
    s->start = a, s->end = b, s->cue_line = line;
    s->state = TEXT;
    return 0;
}

kk_status kk_parse_srt(kk_pctx *c)
{
    srt s = {.c = c, .state = SEEK};
    int rc, bad = 0;
    while (!bad && (rc = kk_next_line(c)) > 0) {
        char *line = c->rd->line.data;
        rtrim(&c->rd->line);
        int blank = is_blank(line);
        int64_t a, b;
        int tl = blank ? 0 : kk_parse_time_line(line, &a, &b);
        switch (s.state) {
        case SEEK:
        case AFTER_NUMBER:
            if (blank) {
                if (s.state == AFTER_NUMBER)
                    bad = kk_warn(c, c->rd->lineno - 1, "cue number without a time line; skipped");
                s.state = SEEK;
            } else if (tl == 1) {
                bad = start_cue(&s, a, b);
            } else if (tl == -1) {
                bad = start_garbled(&s, line);
            } else if (s.state == SEEK && kk_all_digits(line)) {
                s.state = AFTER_NUMBER;
            } else if (s.state == AFTER_NUMBER) {
                bad = start_garbled(&s, line);
            } else {
                bad = kk_warn(c, c->rd->lineno, "expected a cue number or time line, found \"%.80s\"; "
                              "skipped to the next blank line", line);
                s.state = SKIP;
            }
            break;
        case SKIP:
            if (blank)
                s.state = SEEK;
            else if (tl == 1)
                bad = start_cue(&s, a, b);
            break;
        case TEXT:
            if (blank) {
                bad = flush_pending(&s) || finish(&s);
                s.state = SEEK;
            } else if (tl == 1) {
                /* No blank line before this cue: a number line just before
                 * the time line is the new cue's number, not text. */
                if (s.has_pending && kk_all_digits(s.pending.data))
                    s.has_pending = 0;
                bad = flush_pending(&s) || finish(&s) || start_cue(&s, a, b);
            } else {
                bad = flush_pending(&s);
                kk_buf_clear(&s.pending);
                if (!bad && kk_buf_append(&s.pending, line, c->rd->line.len))
                    bad = (kk_error_set(c->err, KK_ERR_NOMEM, "%s: out of memory", c->name), -1);
                s.has_pending = 1;
            }
            break;
        }
    }
    if (!bad && rc == 0) {
        if (s.state == TEXT)
            bad = flush_pending(&s) || finish(&s);
        else if (s.state == AFTER_NUMBER)
            bad = kk_warn(c, c->rd->lineno, "cue number without a time line at the end; skipped");
    }
    kk_buf_free(&s.text);
    kk_buf_free(&s.pending);
    if (bad || rc < 0)
        return c->err->code;
    return KK_OK;
}
