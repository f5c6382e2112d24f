/*
 * parsers_internal.h - what the parsers share and nobody else sees: the decoding line
 * reader, the parse context (warnings, strict mode, segment emission) and the
 * markup helpers. Each format's parser is one function over a kk_pctx.
 */
#ifndef KK_PARSERS_INTERNAL_H
#define KK_PARSERS_INTERNAL_H

#include <stdio.h>

#include "buf.h"
#include "subtitles.h"

/* ---- reader.c: bytes in any supported encoding to UTF-8 lines ---- */

typedef enum kk_encoding { KK_ENC_UTF8, KK_ENC_UTF16LE, KK_ENC_UTF16BE, KK_ENC_ICONV } kk_encoding;

typedef struct kk_reader {
    const char *name;          /* for messages */
    FILE *fp;                  /* source: a file ... */
    const unsigned char *mem;  /* ... or memory */
    size_t mem_len, mem_pos;
    kk_encoding enc;
    const char *want;          /* the caller's encoding (NULL: auto) */
    char enc_name[KK_ENCODING_NAME_MAX]; /* what it is read as, once started */
    void *cd;                  /* KK_ENC_ICONV: the iconv_t to UTF-8 */
    int started;               /* BOM looked at */
    int eof;                   /* source exhausted */
    unsigned char raw[65536];  /* undecoded bytes */
    size_t raw_len;
    kk_buf dec;                /* decoded UTF-8 not yet handed out as lines */
    size_t dec_pos;
    int skip_lf;               /* last line ended in CR: drop a leading LF */
    kk_buf line;               /* the current line */
    long lineno;               /* 1-based number of the current line */
} kk_reader;

void kk_reader_init_file(kk_reader *r, const char *name, FILE *fp);
void kk_reader_init_mem(kk_reader *r, const char *name, const void *data, size_t len);
void kk_reader_free(kk_reader *r);
/* Reads the text as encoding (see kk_parse_params.encoding); before the
 * first read. */
void kk_reader_set_encoding(kk_reader *r, const char *encoding);
/* Reads the next line (without its terminator) into r->line. Returns 1 for a
 * line, 0 at the end, -1 on error (err filled: I/O, NUL byte, bad encoding,
 * line too long). */
int kk_reader_getline(kk_reader *r, kk_error *err);
/* Makes at least want bytes of decoded text available without consuming them
 * (fewer at the end of the input): *data and *len describe them. -1 on error. */
int kk_reader_peek(kk_reader *r, size_t want, const char **data, size_t *len, kk_error *err);
/* Reads everything that is left, decoded, into out (for JSON). Fails past max
 * bytes. Line numbers are not tracked. */
int kk_reader_slurp(kk_reader *r, kk_buf *out, size_t max, kk_error *err);

/* ---- parse.c: the context each format parser works in ---- */

typedef struct kk_pctx {
    const char *name;
    kk_reader *rd;
    const kk_parse_params *p;
    kk_error *err;
    kk_segment_fn on_segment;
    void *user;
    int n_segs;  /* emitted so far */
    long n_warn; /* warnings so far */
} kk_pctx;

/* Reports a recoverable problem at line. Returns 0 to go on, or -1 in strict
 * mode (ctx->err then holds the problem as an error). */
int kk_warn(kk_pctx *c, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Drops segments with a time past KK_TIME_MAX_MS and word times past it
 * (with a warning), folds white space in seg->text (in place), drops
 * segments with no text left (with a warning) and hands the rest to the
 * callback. 0 on success (a segment skipped included), -1 with ctx->err
 * set (strict mode, or the callback stopped the parse). */
int kk_emit(kk_pctx *c, kk_segment *seg);
/* Wraps kk_reader_getline for parsers: 1 line, 0 end, -1 error. */
int kk_next_line(kk_pctx *c);

kk_status kk_parse_txt(kk_pctx *c);
kk_status kk_parse_srt(kk_pctx *c);
kk_status kk_parse_vtt(kk_pctx *c);
kk_status kk_parse_ass(kk_pctx *c);
kk_status kk_parse_wscribe(kk_pctx *c);

/* WScribe's JSON object for one segment (malloc'd, NULL when out of memory). */
char *kk_segment_wscribe_json(const kk_segment *seg);

/* ---- parsers_markup.c: clocks, time lines, tags ---- */

/* Parses "[h:]mm:ss[.,]fff" starting at *s (hours of any length, 1-3 fraction
 * digits); advances *s past it. Returns 0 and sets *ms, or -1. */
int kk_parse_clock(const char **s, int64_t *ms);
/* A cue's time line "START --> END" (SRT and VTT; blanks around the parts;
 * after END only the end of the line or a blank, where VTT's cue settings
 * start). 1: a valid time line, *a and *b set; 0: not a time line at all;
 * -1: contains "-->" but does not parse (a broken time line). */
int kk_parse_time_line(const char *s, int64_t *a, int64_t *b);
/* Removes HTML-like tags from s in place (and, with blocks, SRT's override
 * blocks "{\\...}"). Tags whose name is in known (a space-separated list)
 * are removed silently; other tag-shaped runs are removed and reported
 * through *n_unknown / first_unknown (a copy of the first one, may be NULL).
 * '<' that does not open a tag is kept. The result holds no tag or block,
 * even where removing one joined the text around it into another, so a
 * second call changes nothing. -1 when out of memory (s is then unusable). */
int kk_strip_tags(char *s, const char *known, int blocks, int *n_unknown, char *first_unknown,
                  size_t fu_size);
/* Removes ASS override blocks "{...}" in place. all=0: only blocks that start
 * with a backslash (SRT's {\an8}); all=1: every block (ASS). With all=1 text
 * inside a drawing (\p1 ... \p0) is dropped and \N \n \h become spaces. */
void kk_strip_ass(char *s, int all);
/* Decodes the HTML character references of WebVTT (&amp; &lt; &gt; &nbsp;
 * &lrm; &rlm; &quot; &apos; &#N; &#xN;) in place. */
void kk_decode_entities(char *s);
/* Collapses runs of white space and control characters (C0, DEL, C1) to one
 * space, drops U+FEFF (a byte-order mark left inside the text) and trims,
 * in place. */
void kk_fold_space(char *s);
/* True when every byte of s is an ASCII digit (and s is not empty). */
int kk_all_digits(const char *s);

#endif
