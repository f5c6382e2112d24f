/*
 * subtitles.h - the public interface of the parsers subsystem: reading what
 * people bring (plain text, SubRip, WebVTT, ASS/SSA, WScribe JSON) into one
 * segment model, and writing segments back out as SRT, WebVTT, ASS or WScribe
 * JSON (speakers kept where the format has a place for them).
 *
 * Parsing streams: kk_parse_stream() hands each segment to a callback as soon
 * as it is complete, so memory stays bounded however long the file is (WScribe
 * JSON, a single JSON document, is the exception: it is read whole, up to
 * KK_WSCRIBE_MAX_BYTES). kk_parse_file() collects the segments into a kk_doc.
 *
 * Text in any encoding is read: UTF-8 and UTF-16 by their byte-order mark,
 * others detected (libuchardet) or named (params.encoding) and converted to
 * UTF-8 (iconv) as they stream.
 *
 * Problems fall in two kinds. Recoverable ones (a cue with a garbled time
 * line: kept untimed and flagged; an end before its start, a time past KK_TIME_MAX_MS (kk_limits.h: 1000
 * hours), an unknown tag) skip that cue or tag and are reported
 * through the warning callback with file and line; with params.strict they are
 * errors instead. Fatal ones (unreadable file, binary data, undecodable text, no
 * usable segment at all) return KK_ERR_INPUT or KK_ERR_IO with a message.
 *
 * Layer: src/parsers may call src/common only; render, the server, the
 * CLI and the public API call it.
 */
#ifndef KK_SUBTITLES_H
#define KK_SUBTITLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kk_error.h"
#include "kk_limits.h"

/* A time that the source does not give (plain text has no times). */
#define KK_TIME_NONE ((int64_t)-1)

typedef enum kk_format {
    KK_FORMAT_AUTO = 0, /* detect from extension and content */
    KK_FORMAT_TXT,
    KK_FORMAT_SRT,
    KK_FORMAT_VTT,
    KK_FORMAT_ASS, /* .ass and .ssa */
    KK_FORMAT_WSCRIBE,
} kk_format;

/* "txt", "srt", "vtt", "ass", "wscribe" ("auto" for KK_FORMAT_AUTO). */
const char *kk_format_name(kk_format f);
/* Accepts the names above and "ssa", "json"; KK_FORMAT_AUTO when unknown. */
kk_format kk_format_from_name(const char *name);
/* From a path's extension; KK_FORMAT_AUTO when it says nothing. */
kk_format kk_format_from_path(const char *path);

typedef struct kk_word {
    char *text;
    int64_t start_ms, end_ms; /* KK_TIME_NONE when unknown; else 0 .. KK_TIME_MAX_MS */
    double score;             /* NAN when absent */
} kk_word;

typedef struct kk_segment {
    int index;                /* 1-based position among the parsed segments */
    int64_t start_ms, end_ms; /* KK_TIME_NONE for plain text; else 0 .. KK_TIME_MAX_MS */
    char *text;               /* UTF-8, markup removed, white space folded */
    char *speaker;            /* NULL when the source names none */
    kk_word *words;           /* word timings, NULL when unknown */
    size_t n_words;
    double score; /* transcript confidence, NAN when absent */
    long line;    /* 1-based source line where the segment starts */
    /* Why the segment is not as its source meant it, NULL when it is: a
     * static string (KK_FLAG_BAD_TIMES: its time line was garbled, so it
     * is kept untimed, with its text). */
    const char *flag;
} kk_segment;

#define KK_FLAG_BAD_TIMES "garbled time line"


typedef struct kk_doc {
    kk_format format; /* what the source was parsed as */
    kk_segment *segs;
    size_t n_segs;
    size_t cap;
} kk_doc;

/* Called for each warning; file is the name given to the parser. */
typedef void (*kk_warning_fn)(void *user, const char *file, long line, const char *msg);
/* Called for each segment; the segment and its strings are valid during the
 * call only. Return non-zero to stop parsing (the parse returns KK_ERR_ABORTED). */
typedef int (*kk_segment_fn)(void *user, const kk_segment *seg);

/* Room for an encoding's name ("WINDOWS-1252", "SHIFT_JIS", "UTF-16LE"). */
#define KK_ENCODING_NAME_MAX 48

typedef struct kk_parse_params {
    kk_format format;      /* KK_FORMAT_AUTO: by extension, then content */
    /* The text's encoding: NULL or "auto": a byte-order mark says UTF-8 or
     * UTF-16; without one, text that is valid UTF-8 (in its first 64 KiB)
     * is UTF-8, anything else is detected (libuchardet) and converted
     * (iconv). Else an iconv name ("WINDOWS-1252", "SHIFT_JIS", "GB18030",
     * "ISO-8859-1"...) read as that (a byte-order mark still wins): for
     * when the guess is wrong. An unknown name is KK_ERR_ARG. */
    const char *encoding;
    /* NULL, or KK_ENCODING_NAME_MAX bytes that receive the encoding read
     * ("UTF-8", "UTF-16LE", "WINDOWS-1252", ...), once the parse has
     * looked at the text. */
    char *encoding_out;
    bool strict;           /* every warning becomes an error */
    size_t txt_max_chars;  /* plain text: split paragraphs longer than this */
    kk_warning_fn on_warning; /* NULL: warnings are counted, not shown */
    void *warning_user;
} kk_parse_params;

kk_parse_params kk_parse_default_params(void);

/* Largest WScribe JSON file accepted (it is parsed as one document). */
#define KK_WSCRIBE_MAX_BYTES ((size_t)256 << 20)
/* Longest line accepted in any text input, and longest segment text. */
#define KK_MAX_LINE_BYTES ((size_t)4 << 20)

/* Streams segments of the file at path to on_segment. *format_out (may be
 * NULL) receives the format actually parsed. */
kk_status kk_parse_stream(const char *path, const kk_parse_params *params,
                          kk_segment_fn on_segment, void *user,
                          kk_format *format_out, kk_error *err);

/* The same over bytes in memory; name is used in messages and, when
 * params->format is AUTO, for its extension. */
kk_status kk_parse_memory_stream(const char *name, const void *data, size_t len,
                                 const kk_parse_params *params,
                                 kk_segment_fn on_segment, void *user,
                                 kk_format *format_out, kk_error *err);

/* Parses a whole file into a new document (free with kk_doc_free). */
kk_status kk_parse_file(const char *path, const kk_parse_params *params,
                        kk_doc **out, kk_error *err);
kk_status kk_parse_memory(const char *name, const void *data, size_t len,
                          const kk_parse_params *params, kk_doc **out, kk_error *err);

kk_doc *kk_doc_new(kk_format format);
/* Appends a deep copy of seg (index is renumbered). */
kk_status kk_doc_add(kk_doc *doc, const kk_segment *seg);
void kk_doc_free(kk_doc *doc);

/* The encoding the parsers would read data's bytes in (auto, as above):
 * its name into out (KK_ENCODING_NAME_MAX bytes). */
void kk_detect_encoding(const void *data, size_t len, char *out, size_t size);

/* Guesses the format of a file's first bytes (already decoded to UTF-8, or
 * raw: a BOM is skipped). Sets *confident when the content says so clearly
 * (a WEBVTT header, an [Events] section, a JSON array, an SRT time line). */
kk_format kk_format_sniff(const char *data, size_t len, bool *confident);

/* ---- writers ---- */

/* A streaming writer: segments go to a temporary file beside path, which is
 * renamed over path by kk_writer_commit() only when everything was written.
 * kk_writer_abort() (or a failed commit) removes the temporary file, so an
 * interrupted or failed write never leaves a half-written output. */
typedef struct kk_writer kk_writer;

/* format: SRT, VTT, ASS, WSCRIBE or TXT (the transcript: a paragraph a
 * segment, no times). path "-" writes to stdout (not atomic). */
kk_status kk_writer_open(kk_writer **out, const char *path, kk_format format, kk_error *err);
kk_status kk_writer_add(kk_writer *w, const kk_segment *seg, kk_error *err);
kk_status kk_writer_commit(kk_writer *w, kk_error *err); /* frees w */
void kk_writer_abort(kk_writer *w);                       /* frees w */

/* Writes a whole document with the writer above. */
kk_status kk_doc_save(const kk_doc *doc, const char *path, kk_format format, kk_error *err);

/* One segment as the compact JSON object `kokoro parse` prints: index,
 * start_ms, end_ms (null when unknown), text, speaker, line, score and words
 * when known. malloc'd; NULL when out of memory. */
char *kk_segment_to_json(const kk_segment *seg);

/* Times as text: "HH:MM:SS,mmm" (SRT), "HH:MM:SS.mmm" (VTT, WScribe). Hours
 * take as many digits as they need. buf must hold at least 32 bytes. */
void kk_format_time(int64_t ms, char sep, char *buf, size_t size);

#endif
