/*
 * writer.c - writing segments as SRT, WebVTT, ASS, WScribe JSON or plain text.
 *
 * Speakers are kept where the format has a place for them: WebVTT's voice
 * span <v Name>, ASS's Name column, WScribe's "speaker"; SRT has none. ASS
 * has no escape for its override braces, so "{" and "}" in text are written
 * as "(" and ")", and a comma in a speaker's name (the column separator) as
 * ";": said in the header comment of every ASS file written.
 *
 * Plain text is the transcript: each segment's text a paragraph, blank
 * lines between (what txt.c reads back as the same segments); no times,
 * so untimed segments may be written too.
 *
 * Output goes to a temporary file created beside the target (same directory,
 * so the final rename is atomic) and is renamed over the target only once
 * every segment is written and flushed to disk. Whatever goes wrong (bad
 * segment, full disk, the caller aborting) the temporary file is removed, so
 * the target is either the complete new file or untouched.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parsers_internal.h"
#include "tmpfile.h"

struct kk_writer {
    FILE *fp;
    char *path, *tmp; /* tmp NULL when writing to stdout */
    kk_format format;
    int n; /* segments written */
};

void kk_format_time(int64_t ms, char sep, char *buf, size_t size)
{
    if (ms < 0)
        ms = 0;
    long long h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, f = ms % 1000;
    snprintf(buf, size, "%02lld:%02lld:%02lld%c%03lld", h, m, s, sep, f);
}

kk_status kk_writer_open(kk_writer **out, const char *path, kk_format format, kk_error *err)
{
    *out = NULL;
    if (format != KK_FORMAT_SRT && format != KK_FORMAT_VTT && format != KK_FORMAT_WSCRIBE &&
        format != KK_FORMAT_ASS && format != KK_FORMAT_TXT)
        return kk_error_set(err, KK_ERR_UNSUPPORTED,
                            "%s: cannot write %s; subtitles are written as srt, vtt, ass, wscribe or txt", path,
                            kk_format_name(format));
    kk_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    }
    w->format = format;
    if (strcmp(path, "-") == 0) {
        w->fp = stdout;
    } else {
        int fd = kk_tmpfile_create(path, &w->tmp);
        if (fd < 0 || !(w->fp = fdopen(fd, "wb"))) {
            int e = errno;
            if (fd >= 0) {
                close(fd);
                unlink(w->tmp);
            }
            kk_error_set(err, KK_ERR_IO, "%s: cannot create the output file: %s; check the directory "
                         "exists and is writable", path, strerror(e));
            free(w->tmp);
            free(w->path);
            free(w);
            return KK_ERR_IO;
        }
    }
    if (format == KK_FORMAT_VTT)
        fputs("WEBVTT\n\n", w->fp);
    else if (format == KK_FORMAT_WSCRIBE)
        fputs("[", w->fp);
    else if (format == KK_FORMAT_ASS)
        fputs("[Script Info]\n"
              "; Written by Kokoro Studio. Braces in text are written as parentheses, commas in names as ';'.\n"
              "ScriptType: v4.00+\nPlayResX: 384\nPlayResY: 288\nWrapStyle: 0\n\n"
              "[V4+ Styles]\n"
              "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
              "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
              "Alignment, MarginL, MarginR, MarginV, Encoding\n"
              "Style: Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,2,2,"
              "10,10,10,1\n\n"
              "[Events]\n"
              "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n",
              w->fp);
    *out = w;
    return KK_OK;
}

/* Writes text wrapped at about 42 characters a line (subtitle convention);
 * VTT escapes & < >. A reader joins the lines with spaces again. */
static void put_wrapped(FILE *fp, const char *text, int vtt)
{
    const int width = 42;
    int col = 0;
    for (const char *p = text; *p;) {
        const char *e = p;
        int cps = 0;
        while (*e && *e != ' ') {
            if (((unsigned char)*e & 0xC0) != 0x80)
                cps++;
            e++;
        }
        if (col && col + 1 + cps > width) {
            fputc('\n', fp);
            col = 0;
        } else if (col) {
            fputc(' ', fp);
            col++;
        }
        for (const char *q = p; q < e; q++) {
            if (vtt && *q == '&')
                fputs("&amp;", fp);
            else if (vtt && *q == '<')
                fputs("&lt;", fp);
            else if (vtt && *q == '>')
                fputs("&gt;", fp);
            else
                fputc(*q, fp);
        }
        col += cps;
        p = *e ? e + 1 : e;
    }
    fputc('\n', fp);
}

/* A segment's text as one paragraph: its line breaks kept single (a blank
 * line inside would start another segment when read back), the blank lines
 * and spaces at either end dropped. */
static void put_paragraph(FILE *fp, const char *text)
{
    const char *p = text, *end = text + strlen(text);
    while (p < end && (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    int newline = 0;
    for (; p < end; p++) {
        if (*p == '\r')
            continue;
        if (*p == '\n') {
            newline = 1;
            continue;
        }
        if (newline) {
            fputc('\n', fp);
            newline = 0;
        }
        fputc(*p, fp);
    }
    fputc('\n', fp);
}

/* ASS's H:MM:SS.CC (centiseconds, rounded). */
static void ass_time(int64_t ms, char *buf, size_t size)
{
    int64_t cs = (ms < 0 ? 0 : ms + 5) / 10;
    snprintf(buf, size, "%lld:%02lld:%02lld.%02lld", (long long)(cs / 360000), (long long)(cs / 6000 % 60),
             (long long)(cs / 100 % 60), (long long)(cs % 100));
}

/* s with the characters ASS would read as syntax replaced (see the top). */
static void put_ass(FILE *fp, const char *s, int name)
{
    for (; *s; s++)
        fputc(*s == '{' ? '(' : *s == '}' ? ')' : name && *s == ',' ? ';' : *s, fp);
}

kk_status kk_writer_add(kk_writer *w, const kk_segment *seg, kk_error *err)
{
    if (w->format == KK_FORMAT_TXT) {
        if (w->n++)
            fputc('\n', w->fp);
        put_paragraph(w->fp, seg->text ? seg->text : "");
        if (ferror(w->fp))
            return kk_error_set(err, KK_ERR_IO, "%s: write failed: %s; check free space", w->path,
                                strerror(errno));
        return KK_OK;
    }
    if (seg->start_ms == KK_TIME_NONE || seg->end_ms == KK_TIME_NONE)
        return kk_error_set(err, KK_ERR_ARG,
                            "segment %d (line %ld) has no times: plain text must be timed (rendered) "
                            "before it can be written as %s", seg->index, seg->line,
                            kk_format_name(w->format));
    char a[32], b[32];
    w->n++;
    switch (w->format) {
    case KK_FORMAT_SRT:
        kk_format_time(seg->start_ms, ',', a, sizeof a);
        kk_format_time(seg->end_ms, ',', b, sizeof b);
        fprintf(w->fp, "%d\n%s --> %s\n", w->n, a, b);
        put_wrapped(w->fp, seg->text, 0);
        fputc('\n', w->fp);
        break;
    case KK_FORMAT_VTT:
        kk_format_time(seg->start_ms, '.', a, sizeof a);
        kk_format_time(seg->end_ms, '.', b, sizeof b);
        fprintf(w->fp, "%d\n%s --> %s\n", w->n, a, b);
        if (seg->speaker) {
            fputs("<v ", w->fp);
            for (const char *p = seg->speaker; *p; p++)
                fputs(*p == '>' ? "&gt;" : *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : (char[]){*p, 0}, w->fp);
            fputs(">", w->fp);
        }
        put_wrapped(w->fp, seg->text, 1);
        fputc('\n', w->fp);
        break;
    case KK_FORMAT_ASS:
        ass_time(seg->start_ms, a, sizeof a);
        ass_time(seg->end_ms, b, sizeof b);
        fprintf(w->fp, "Dialogue: 0,%s,%s,Default,", a, b);
        put_ass(w->fp, seg->speaker ? seg->speaker : "", 1);
        fputs(",0,0,0,,", w->fp);
        put_ass(w->fp, seg->text, 0);
        fputc('\n', w->fp);
        break;
    default: {
        char *js = kk_segment_wscribe_json(seg);
        if (!js)
            return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
        fprintf(w->fp, "%s\n  %s", w->n > 1 ? "," : "", js);
        free(js);
    }
    }
    if (ferror(w->fp))
        return kk_error_set(err, KK_ERR_IO, "%s: write failed: %s; check free space", w->path,
                            strerror(errno));
    return KK_OK;
}

void kk_writer_abort(kk_writer *w)
{
    if (!w)
        return;
    if (w->tmp) {
        fclose(w->fp);
        unlink(w->tmp);
    }
    free(w->tmp);
    free(w->path);
    free(w);
}

kk_status kk_writer_commit(kk_writer *w, kk_error *err)
{
    if (w->format == KK_FORMAT_WSCRIBE)
        fputs("\n]\n", w->fp);
    int bad = fflush(w->fp) != 0 || ferror(w->fp);
    if (!bad && w->tmp)
        bad = fsync(fileno(w->fp)) != 0;
    int e = errno;
    if (w->tmp) {
        bad |= fclose(w->fp) != 0;
        w->fp = NULL;
        if (!bad && rename(w->tmp, w->path) != 0)
            bad = 1, e = errno;
        if (bad)
            unlink(w->tmp);
    }
    kk_status st = bad ? kk_error_set(err, KK_ERR_IO, "%s: write failed: %s; check free space and "
                                      "permissions (nothing was written)", w->path, strerror(e))
                       : KK_OK;
    free(w->tmp);
    free(w->path);
    free(w);
    return st;
}

kk_status kk_doc_save(const kk_doc *doc, const char *path, kk_format format, kk_error *err)
{
    kk_writer *w;
    kk_status st = kk_writer_open(&w, path, format, err);
    for (size_t i = 0; st == KK_OK && i < doc->n_segs; i++)
        st = kk_writer_add(w, &doc->segs[i], err);
    if (st != KK_OK) {
        kk_writer_abort(w);
        return st;
    }
    return kk_writer_commit(w, err);
}
