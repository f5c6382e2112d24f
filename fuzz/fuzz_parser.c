/*
 * fuzz_parser.c - the parsers' fuzz harness: one LLVMFuzzerTestOneInput,
 * compiled once per input format (-DFUZZ_FORMAT=KK_FORMAT_SRT, ...; AUTO
 * exercises format detection). Linked with libFuzzer it is a fuzzer; linked
 * with regress.c it replays the saved corpus as a regression test.
 *
 * Each input is one option byte and the file's bytes. The harness parses the
 * file with kk_parse_memory and, when that succeeds, checks what every caller
 * relies on (the invariants below), then writes the document out again (SRT,
 * WebVTT and WScribe JSON when it has times; blank-line separated paragraphs
 * for plain text), parses that back and checks that nothing changed. Any
 * broken invariant calls abort(), which libFuzzer reports as a crash and the
 * regression runner as a failed test.
 *
 * Option byte: bit 0 strict mode; bits 1-3 the name's extension (AUTO harness
 * only, so that "name says X, content says Y" is exercised); bits 4-7 a small
 * txt_max_chars (0 means the default), so that paragraph splitting is hit by
 * short inputs.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "subtitles.h"

#ifndef FUZZ_FORMAT
#define FUZZ_FORMAT KK_FORMAT_AUTO
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints what broke and aborts: the fuzzer saves the input, the regression
 * runner fails. */
#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_parser: invariant broken: %s (%s:%d)\n  ", #cond, __FILE__, \
                    __LINE__);                                                                 \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

/* Warnings seen by one parse: how many, and the first (for the report). */
typedef struct {
    long n;
    char first[300];
} warn_log;

static void on_warning(void *user, const char *file, long line, const char *msg)
{
    warn_log *w = user;
    if (w->n++ == 0)
        snprintf(w->first, sizeof w->first, "%s:%ld: %s", file, line, msg);
}

static char scratch[256];

/* Leaves no litter in /dev/shm or /tmp after a normal exit (libFuzzer's
 * time limit, the regression runner's end). */
static void remove_scratch(void)
{
    static const char *const files[] = {"out.srt", "out.vtt", "out.wscribe", "out.txt"};
    char path[512];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", scratch, files[i]);
        unlink(path);
    }
    rmdir(scratch);
}

/* Where round-trip files go: a private directory, on tmpfs when there is one
 * (the writer fsyncs every file, which is slow on a real disk). */
static const char *scratch_dir(void)
{
    char *dir = scratch;
    if (!dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
        snprintf(dir, sizeof scratch, "%s/kk-fuzz-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(dir)) {
            perror("fuzz_parser: mkdtemp");
            abort();
        }
        atexit(remove_scratch);
    }
    return dir;
}

/* ---- per-segment invariants ---- */

/* Valid UTF-8 with no control characters (C0, DEL, C1): the text goes to a
 * speech engine, a subtitle file and JSON, and none of them want those. */
static void check_text(const char *what, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; u[i];) {
        CHECK(u[i] >= 0x20 && u[i] != 0x7F, "%s has control byte 0x%02X at %zu: \"%s\"", what, u[i], i, s);
        size_t n = u[i] < 0x80 ? 1 : u[i] < 0xE0 ? 2 : u[i] < 0xF0 ? 3 : 4;
        CHECK(u[i] < 0x80 || (u[i] >= 0xC2 && u[i] <= 0xF4), "%s has a bad UTF-8 lead byte: \"%s\"", what, s);
        for (size_t k = 1; k < n; k++)
            CHECK((u[i + k] & 0xC0) == 0x80, "%s has a truncated UTF-8 sequence: \"%s\"", what, s);
        if (u[i] == 0xC2)
            CHECK(u[i + 1] >= 0xA0, "%s has a C1 control character: \"%s\"", what, s);
        i += n;
    }
}

/* White space is folded: single spaces, none at either end. */
static void check_folded(const char *what, const char *s)
{
    size_t n = strlen(s);
    CHECK(n == 0 || (s[0] != ' ' && s[n - 1] != ' '), "%s is not trimmed: \"%s\"", what, s);
    CHECK(!strstr(s, "  "), "%s has a run of spaces: \"%s\"", what, s);
    CHECK(!strpbrk(s, "\t\n\r\f\v"), "%s has a tab or line break: \"%s\"", what, s);
}

static void check_doc(const kk_doc *d, kk_format want)
{
    CHECK(d->n_segs > 0, "a successful parse has at least one segment");
    CHECK(d->format >= KK_FORMAT_TXT && d->format <= KK_FORMAT_WSCRIBE, "format %d", (int)d->format);
    if (want != KK_FORMAT_AUTO)
        CHECK(d->format == want, "asked for %s, parsed as %s", kk_format_name(want), kk_format_name(d->format));
    long prev_line = 0;
    for (size_t i = 0; i < d->n_segs; i++) {
        const kk_segment *s = &d->segs[i];
        CHECK(s->index == (int)i + 1, "segment %zu has index %d", i + 1, s->index);
        CHECK(s->text && *s->text, "segment %zu has no text", i + 1);
        check_text("text", s->text);
        check_folded("text", s->text);
        CHECK(s->line >= 1, "segment %zu line %ld", i + 1, s->line);
        /* Segments come out in file order. */
        CHECK(s->line >= prev_line, "segment %zu at line %ld after one at line %ld", i + 1, s->line, prev_line);
        prev_line = s->line;
        if (d->format == KK_FORMAT_TXT) {
            CHECK(s->start_ms == KK_TIME_NONE && s->end_ms == KK_TIME_NONE, "plain text has times");
        } else if (s->flag && !strcmp(s->flag, KK_FLAG_BAD_TIMES)) {
            /* a cue whose time line was garbled: kept, untimed (issue 15) */
            CHECK(s->start_ms == KK_TIME_NONE && s->end_ms == KK_TIME_NONE, "segment %zu flagged but timed", i + 1);
        } else {
            CHECK(s->start_ms >= 0 && s->end_ms >= 0, "segment %zu has times %lld..%lld", i + 1,
                  (long long)s->start_ms, (long long)s->end_ms);
            CHECK(s->start_ms <= s->end_ms, "segment %zu ends (%lld) before it starts (%lld)", i + 1,
                  (long long)s->end_ms, (long long)s->start_ms);
        }
        if (s->speaker) {
            CHECK(*s->speaker, "segment %zu has an empty (not NULL) speaker", i + 1);
            check_text("speaker", s->speaker);
            check_folded("speaker", s->speaker);
        }
        CHECK((s->n_words == 0) == (s->words == NULL), "words pointer and count disagree");
        for (size_t k = 0; k < s->n_words; k++) {
            const kk_word *w = &s->words[k];
            CHECK(w->text, "word without text");
            check_text("word", w->text);
            check_folded("word", w->text);
            CHECK((w->start_ms == KK_TIME_NONE) == (w->end_ms == KK_TIME_NONE), "word with one time");
            CHECK(w->start_ms == KK_TIME_NONE || (w->start_ms >= 0 && w->start_ms <= w->end_ms),
                  "word \"%s\" times %lld..%lld", w->text, (long long)w->start_ms, (long long)w->end_ms);
        }
    }
}

/* ---- round trips ---- */

static int same_score(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

static int same_str(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

/* SRT has no escape mechanism: a text that contains a time line arrow, a
 * tag-shaped run or an override block cannot be written so that a reader gets
 * it back (the reader, by design, takes those as structure or markup). Such
 * text only reaches the SRT writer from other formats (WebVTT's &lt;i&gt;,
 * JSON strings); the SRT parser's own output must survive. "-->" is excluded
 * for every source: a wrapped line may start with what is then a time line. */
static int srt_can_hold(const char *text, kk_format source)
{
    if (strstr(text, "-->"))
        return 0;
    return source == KK_FORMAT_SRT || !strpbrk(text, "<{");
}

static void compare(const kk_doc *a, const kk_doc *b, kk_format via)
{
    const char *v = kk_format_name(via);
    CHECK(a->n_segs == b->n_segs, "via %s: %zu segments became %zu", v, a->n_segs, b->n_segs);
    for (size_t i = 0; i < a->n_segs; i++) {
        const kk_segment *x = &a->segs[i], *y = &b->segs[i];
        CHECK(strcmp(x->text, y->text) == 0, "via %s: segment %zu text \"%s\" became \"%s\"", v, i + 1,
              x->text, y->text);
        CHECK(x->start_ms == y->start_ms && x->end_ms == y->end_ms,
              "via %s: segment %zu times %lld..%lld became %lld..%lld", v, i + 1, (long long)x->start_ms,
              (long long)x->end_ms, (long long)y->start_ms, (long long)y->end_ms);
        /* SRT and plain text carry no speaker; WebVTT carries no score or words. */
        if (via == KK_FORMAT_VTT || via == KK_FORMAT_WSCRIBE)
            CHECK(same_str(x->speaker, y->speaker), "via %s: segment %zu speaker \"%s\" became \"%s\"", v,
                  i + 1, x->speaker ? x->speaker : "(none)", y->speaker ? y->speaker : "(none)");
        if (via != KK_FORMAT_WSCRIBE)
            continue;
        CHECK(same_score(x->score, y->score), "via wscribe: segment %zu score %.17g became %.17g", i + 1,
              x->score, y->score);
        CHECK(x->n_words == y->n_words, "via wscribe: segment %zu has %zu words, then %zu", i + 1,
              x->n_words, y->n_words);
        for (size_t k = 0; k < x->n_words; k++) {
            const kk_word *p = &x->words[k], *q = &y->words[k];
            CHECK(strcmp(p->text, q->text) == 0 && p->start_ms == q->start_ms && p->end_ms == q->end_ms &&
                      same_score(p->score, q->score),
                  "via wscribe: segment %zu word %zu \"%s\" %lld..%lld %.17g became \"%s\" %lld..%lld %.17g",
                  i + 1, k + 1, p->text, (long long)p->start_ms, (long long)p->end_ms, p->score, q->text,
                  (long long)q->start_ms, (long long)q->end_ms, q->score);
        }
    }
}

/* Parses a file we wrote. It must parse, with no warning: the writers only
 * write what the readers take without complaint. */
static kk_doc *reparse(const char *path, kk_format f, size_t txt_max, const char *what)
{
    kk_parse_params p = kk_parse_default_params();
    warn_log warnings = {0};
    p.format = f;
    p.txt_max_chars = txt_max;
    p.on_warning = on_warning;
    p.warning_user = &warnings;
    kk_doc *d = NULL;
    kk_error err;
    kk_status st = kk_parse_file(path, &p, &d, &err);
    CHECK(st == KK_OK, "%s: our own output does not parse: %s", what, err.msg);
    CHECK(warnings.n == 0, "%s: our own output parses with %ld warning(s), first: %s", what, warnings.n,
          warnings.first);
    return d;
}

static void round_trip(const kk_doc *d, kk_format via)
{
    const kk_doc *src = d;
    kk_doc *sub = NULL;
    if (via == KK_FORMAT_SRT) {
        /* Compare only the segments SRT can hold (see srt_can_hold). */
        for (size_t i = 0; i < d->n_segs; i++)
            if (!srt_can_hold(d->segs[i].text, d->format) && !sub)
                sub = kk_doc_new(d->format);
        if (sub) {
            for (size_t i = 0; i < d->n_segs; i++)
                if (srt_can_hold(d->segs[i].text, d->format))
                    CHECK(kk_doc_add(sub, &d->segs[i]) == KK_OK, "out of memory");
            if (!sub->n_segs) {
                kk_doc_free(sub);
                return;
            }
            src = sub;
        }
    }
    /* A cue kept untimed (its time line was garbled) has no times to
     * write: compare the timed ones. */
    kk_doc *timed = NULL;
    for (size_t i = 0; i < src->n_segs && !timed; i++)
        if (src->segs[i].start_ms == KK_TIME_NONE)
            timed = kk_doc_new(src->format);
    if (timed) {
        for (size_t i = 0; i < src->n_segs; i++)
            if (src->segs[i].start_ms != KK_TIME_NONE)
                CHECK(kk_doc_add(timed, &src->segs[i]) == KK_OK, "out of memory");
        if (!timed->n_segs) {
            kk_doc_free(timed);
            kk_doc_free(sub);
            return;
        }
        src = timed;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/out.%s", scratch_dir(), kk_format_name(via));
    kk_error err;
    CHECK(kk_doc_save(src, path, via, &err) == KK_OK, "writing %s: %s", kk_format_name(via), err.msg);
    kk_doc *back = reparse(path, via, 0, kk_format_name(via));
    compare(src, back, via);
    kk_doc_free(back);
    kk_doc_free(timed);
    kk_doc_free(sub);
}

/* Plain text: paragraphs separated by blank lines, parsed with the same
 * limit, must give the same pieces (each piece is already within the limit,
 * or a single word that cannot be split). */
static void round_trip_txt(const kk_doc *d, size_t txt_max)
{
    char path[512];
    snprintf(path, sizeof path, "%s/out.txt", scratch_dir());
    FILE *fp = fopen(path, "wb");
    CHECK(fp, "cannot create %s", path);
    for (size_t i = 0; i < d->n_segs; i++)
        fprintf(fp, "%s\n\n", d->segs[i].text);
    CHECK(fclose(fp) == 0, "cannot write %s", path);
    kk_doc *back = reparse(path, KK_FORMAT_TXT, txt_max, "txt");
    compare(d, back, KK_FORMAT_TXT);
    kk_doc_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t opt = data[0];
    data++, size--;

    kk_parse_params p = kk_parse_default_params();
    warn_log warnings = {0};
    p.format = FUZZ_FORMAT;
    p.strict = opt & 1;
    p.txt_max_chars = (size_t)(opt >> 4) * 8; /* 0: the default, 300 */
    p.on_warning = on_warning;
    p.warning_user = &warnings;

    static const char *const names[8] = {"fuzz", "fuzz.txt", "fuzz.srt", "fuzz.vtt",
                                         "fuzz.ass", "fuzz.json", "fuzz.ssa", "fuzz.webvtt"};
    char name[32];
    if (FUZZ_FORMAT == KK_FORMAT_AUTO)
        snprintf(name, sizeof name, "%s", names[(opt >> 1) & 7]);
    else
        snprintf(name, sizeof name, "fuzz.%s", kk_format_name(FUZZ_FORMAT));

    kk_doc *d = NULL;
    kk_error err;
    kk_status st = kk_parse_memory(name, data, size, &p, &d, &err);
    if (st != KK_OK) {
        CHECK(!d, "a failed parse returns no document");
        CHECK(err.code == st && err.msg[0], "a failed parse (%d) explains itself", (int)st);
        CHECK(st == KK_ERR_INPUT, "parsing bytes in memory fails only on the input: %d %s", (int)st, err.msg);
        return 0;
    }
    CHECK(d, "a successful parse returns a document");
    if (p.strict)
        CHECK(warnings.n == 0, "strict mode succeeded after %ld warning(s)", warnings.n);
    check_doc(d, FUZZ_FORMAT);

    if (d->format == KK_FORMAT_TXT) {
        round_trip_txt(d, p.txt_max_chars);
    } else {
        round_trip(d, KK_FORMAT_SRT);
        round_trip(d, KK_FORMAT_VTT);
        round_trip(d, KK_FORMAT_WSCRIBE);
    }
    kk_doc_free(d);
    return 0;
}
