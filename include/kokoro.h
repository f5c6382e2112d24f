/*
 * kokoro.h - the public interface of libkokoro (Kokoro Studio's library):
 * text to speech with the Kokoro-82M model, a timeline of segments (a
 * subtitle file, or paragraphs of text) rendered to one timed track, the
 * render cache, and exports (WAV, FLAC, MP3, M4A, a dubbed video).
 *
 * This is the one header a program needs. It includes nothing of the
 * library's own: every type here is the façade's (src/api), so the modules
 * behind it can change without breaking the programs that use it. Link with
 * `pkg-config --cflags --libs kokoro`.
 *
 * Conventions, as in whisper.h:
 *   - contexts are opaque (kokoro_context, kokoro_cache, kokoro_timeline,
 *     kokoro_track, kokoro_script), made by *_init / *_new / *_open and
 *     released by the matching *_free / *_close (which accept NULL);
 *   - every params struct comes from its *_default_params() function; set
 *     the fields you care about and leave the others. Params structs may
 *     gain fields in later versions, so never build one from scratch;
 *   - calls that can fail return a kokoro_status and, when given a
 *     kokoro_error, fill it with one message that says what went wrong,
 *     where, and what to do. The library never prints and never exits;
 *   - strings are UTF-8; audio is mono float at KOKORO_SAMPLE_RATE unless
 *     a rate is given; times are in milliseconds; segment indices are
 *     1-based, in input order.
 *
 * Thread safety:
 *   - a kokoro_context (the loaded model) may be shared by any number of
 *     threads: kokoro_speak*, kokoro_prepare and kokoro_render may run on
 *     one context at once (each call brings its own working memory).
 *     kokoro_free must not run while another call uses the context;
 *   - a kokoro_cache may be used from several threads (and several
 *     processes may share its directory);
 *   - a kokoro_timeline is one thread's at a time while it is changed;
 *     kokoro_render only reads it, so several renders may read one timeline
 *     that nobody changes;
 *   - a kokoro_script and a kokoro_track are read-only once made: any
 *     thread may read or speak/export them, one frees them;
 *   - callbacks run on the calling thread for kokoro_speak* and the
 *     exports; for kokoro_render they run on its worker threads, one call
 *     at a time, except abort, which any worker may call at any time
 *     (make it a read of an atomic flag).
 *
 * Basic usage (examples/basic.c, kept identical; a test checks it and
 * builds it against the installed library):
 *
 *     // examples/basic.c - speak one sentence into a WAV file with libkokoro.
 *     //
 *     //   cc basic.c $(pkg-config --cflags --libs kokoro) -o basic
 *     //   ./basic hello.wav
 *     //
 *     // Exits 0 when the file was written, 1 on an error (with its message),
 *     // 77 when no model is installed (the code test runners read as a skip).
 *     #include <stdio.h>
 *
 *     #include <kokoro.h>
 *
 *     int main(int argc, char **argv)
 *     {
 *         const char *out = argc > 1 ? argv[1] : "hello.wav";
 *         kokoro_error err;
 *         printf("libkokoro %s\n", kokoro_version());
 *
 *         char model[4096];
 *         if (kokoro_find_model(model, sizeof model, &err) != KOKORO_OK) {
 *             fprintf(stderr, "basic: %s\n", err.message);
 *             return 77;
 *         }
 *
 *         kokoro_context_params cp = kokoro_context_default_params();
 *         cp.model = model;
 *         kokoro_context *ctx = NULL;
 *         if (kokoro_init(&cp, &ctx, &err) != KOKORO_OK) {
 *             fprintf(stderr, "basic: %s\n", err.message);
 *             return 1;
 *         }
 *
 *         kokoro_speak_params sp = kokoro_speak_default_params();
 *         sp.voice = "af_heart";
 *         kokoro_status st = kokoro_speak_to_file(ctx, "Hello from Kokoro.", &sp, out, NULL, &err);
 *         if (st != KOKORO_OK)
 *             fprintf(stderr, "basic: %s (%s)\n", err.message, kokoro_status_name(st));
 *         else
 *             printf("wrote %s\n", out);
 *         kokoro_free(ctx);
 *         return st == KOKORO_OK ? 0 : 1;
 *     }
 *
 * (end of basic usage)
 *
 * A timeline, rendered through a cache and exported:
 *
 *     kokoro_timeline *tl = NULL;
 *     kokoro_timeline_load("talk.srt", NULL, &tl, &err);
 *     kokoro_cache_params kp = kokoro_cache_default_params();
 *     kokoro_cache *cache = NULL;
 *     kokoro_cache_open(&kp, &cache, &err);      // memory only; set kp.dir for disk
 *     kokoro_render_params rp = kokoro_render_default_params();
 *     rp.cache = cache;
 *     kokoro_track *track = NULL;
 *     if (kokoro_render(ctx, tl, &rp, &track, &err) == KOKORO_OK)
 *         kokoro_track_export(track, "talk.mp3", NULL, &err);
 *     else if (err.segment)
 *         ...                                    // which segment failed, as data
 *     kokoro_track_free(track);
 *     kokoro_cache_close(cache);
 *     kokoro_timeline_free(tl);
 */
#ifndef KOKORO_H
#define KOKORO_H

#include <stddef.h>
#include <stdint.h>

/* KK_API marks the public functions. libkokoro.so is built with
 * -fvisibility=hidden and KOKORO_BUILD, so these are the only symbols it
 * exports; users see plain declarations. */
#if defined(KOKORO_BUILD) && defined(__GNUC__)
#define KK_API __attribute__((visibility("default")))
#else
#define KK_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The rate of everything the model says: 24 kHz mono. */
#define KOKORO_SAMPLE_RATE 24000
/* A time the source does not give (untimed segments: plain text). */
#define KOKORO_TIME_NONE ((int64_t)-1)
/* The longest error message, with its NUL. */
#define KOKORO_ERROR_MAX 1024

/* ---- status codes and errors ---- */

/* The library's status codes (the same values as the modules' kk_status). */
typedef enum kokoro_status {
    KOKORO_OK = 0,
    KOKORO_ERR_INPUT,       /* the input data is malformed or unusable */
    KOKORO_ERR_IO,          /* reading or writing a file failed (also: no model found) */
    KOKORO_ERR_NOMEM,       /* an allocation failed */
    KOKORO_ERR_ARG,         /* the caller passed an invalid argument */
    KOKORO_ERR_UNSUPPORTED, /* a valid request we cannot serve (format, feature) */
    KOKORO_ERR_ABORTED,     /* a callback asked us to stop */
    KOKORO_ERR_NOT_FOUND,   /* no such thing */
    KOKORO_ERR_CONFLICT,    /* the request does not fit the current state */
} kokoro_status;

/* What went wrong. Every call that takes one sets it: code KOKORO_OK and an
 * empty message on success. */
typedef struct kokoro_error {
    kokoro_status code;
    /* kokoro_render: the 1-based index of the segment that caused the
     * failure (an unknown voice, a text the engine refuses); 0 when the
     * failure is not one segment's. 0 for every other call. Act on this,
     * never on the message's text. */
    size_t segment;
    char message[KOKORO_ERROR_MAX];
} kokoro_error;

/* A short name for a status code ("input error", "I/O error", ...); never NULL. */
KK_API const char *kokoro_status_name(kokoro_status code);
/* The library's version, "MAJOR.MINOR.PATCH". */
KK_API const char *kokoro_version(void);

/* The engine's arithmetic. EXACT: float32 throughout, the reference audio
 * (the default). FAST: the decoder's and generator's convolutions with
 * bfloat16 operands on Intel AMX, or AVX512_BF16 where its dot products
 * outrun fp32 (AMD Zen 4 and 5; there the 3-tap ones directly, the others
 * by the exact mode's FFT with each bin's product in bf16) (durations identical,
 * the sound a little different); where the CPU has neither (or its bf16
 * is no faster: Intel
 * without AMX) it runs exactly, saying so once (on_warning, else stderr). Renders
 * through a cache key on the precision that runs, so the two never mix. */
typedef enum kokoro_precision {
    KOKORO_PRECISION_EXACT = 0,
    KOKORO_PRECISION_FAST = 1,
} kokoro_precision;

/* ---- the model: kokoro_context ---- */

typedef struct kokoro_context kokoro_context;

typedef struct kokoro_context_params {
    /* The model: an .onnx file, a converted .kkw, or a directory holding
     * one (and config.json, voices/). NULL: kokoro_find_model(). */
    const char *model;
    /* Where the voice packs are; NULL: <model directory>/voices. */
    const char *voices_dir;
} kokoro_context_params;

KK_API kokoro_context_params kokoro_context_default_params(void);

/* Finds the model directory: $KOKORO_MODEL_DIR, then $XDG_DATA_HOME/kokoro
 * (or ~/.local/share/kokoro), then ./models/kokoro-82m-v1.0 and
 * ../shared/models/kokoro-82m-v1.0. Writes it to dst (size bytes);
 * KOKORO_ERR_IO with a message saying where it looked and how to get the
 * model when there is none. */
KK_API kokoro_status kokoro_find_model(char *dst, size_t size, kokoro_error *err);

/* Loads the model (an .onnx file is converted once to a cached .kkw and
 * mapped). params NULL: the defaults. On error *out is NULL.
 *
 * Speed: the engine's matrix products are OpenBLAS's, which picks its
 * kernels from the CPU model when it loads; one too new for it (Debian
 * 12's 0.3.21 on Intel Emerald Rapids) gets its SSE3 kernels and the
 * engine runs at half speed. `kokoro` starts itself again with
 * OPENBLAS_CORETYPE=SkylakeX (or Haswell) there; a program of your own
 * should be started with it in its environment (`kokoro bench --profile`
 * prints the kernels OpenBLAS runs). */
KK_API kokoro_status kokoro_init(const kokoro_context_params *params, kokoro_context **out, kokoro_error *err);
KK_API void kokoro_free(kokoro_context *ctx);

/* What kokoro_init loaded: the weights' path and the voices directory
 * (valid while ctx lives). */
KK_API const char *kokoro_model_path(const kokoro_context *ctx);
KK_API const char *kokoro_voices_dir(const kokoro_context *ctx);

/* ---- speaking text ---- */

/* One chunk of speech (a sentence or a clause), handed over as soon as it
 * is made; valid during the callback only. */
typedef struct kokoro_chunk {
    const float *samples;        /* KOKORO_SAMPLE_RATE mono: speech, then the pause */
    size_t n_samples;
    size_t pause_samples;        /* the trailing silence included in n_samples */
    size_t index;                /* 0, 1, ... */
    size_t text_start, text_end; /* the chunk's bytes in the text */
    const char *phonemes;        /* what was spoken; NULL for a pure pause */
} kokoro_chunk;

/* Return non-zero to stop (the call then returns KOKORO_ERR_ABORTED). */
typedef int (*kokoro_chunk_callback)(void *user, const kokoro_chunk *chunk);
/* done of total chunks spoken. */
typedef void (*kokoro_progress_callback)(void *user, size_t done, size_t total);
/* Return non-zero to stop; checked between chunks and inside the engine. */
typedef int (*kokoro_abort_callback)(void *user);
/* A problem that did not stop the call (a word spoken letter by letter). */
typedef void (*kokoro_warning_callback)(void *user, const char *message);

typedef struct kokoro_speak_params {
    const char *voice; /* default "af_heart"; a blend "af_heart:0.7,am_michael:0.3" works too */
    const char *lang;  /* NULL: from the voice's first letter (a: en-us, b: en-gb, ...) */
    float speed;       /* 1 natural; 0.5 .. 2 */
    int strict;        /* phonemes the model does not know are an error, not a warning */
    const char *lexicon_path; /* word<TAB>phonemes overrides; NULL: none */
    int threads;       /* engine threads; 0: one per online CPU. The audio is the same for any count. */
    kokoro_chunk_callback on_chunk; /* may be NULL */
    kokoro_progress_callback on_progress;
    kokoro_abort_callback abort;
    kokoro_warning_callback on_warning;
    void *user;        /* handed to every callback */
    kokoro_precision precision; /* default KOKORO_PRECISION_EXACT */
} kokoro_speak_params;

KK_API kokoro_speak_params kokoro_speak_default_params(void);

/* Speaks text (markup: inline pronunciations, [pause:500ms]). *samples
 * (KOKORO_SAMPLE_RATE mono, free with kokoro_samples_free) and *n_samples
 * get the whole speech; on error *samples is NULL and *n_samples 0. params
 * NULL: the defaults. */
KK_API kokoro_status kokoro_speak(kokoro_context *ctx, const char *text, const kokoro_speak_params *params,
                                  float **samples, size_t *n_samples, kokoro_error *err);
KK_API void kokoro_samples_free(float *samples);

typedef struct kokoro_export_params kokoro_export_params;

/* Speaks text into a file, written as it is spoken to a temporary file that
 * is renamed into place only when complete (a failure leaves nothing).
 * export_params NULL: the format from path's extension (.wav: 16-bit PCM,
 * .flac, .mp3, .m4a) at KOKORO_SAMPLE_RATE. */
KK_API kokoro_status kokoro_speak_to_file(kokoro_context *ctx, const char *text, const kokoro_speak_params *params,
                                          const char *path, const kokoro_export_params *export_params,
                                          kokoro_error *err);

/* Speaking in two steps, for callers that want to know what will be said
 * before paying for it: kokoro_prepare phonemizes (params' voice or lang,
 * strict, lexicon_path and on_warning apply), kokoro_speak_script speaks a
 * prepared script with params' voice, speed and callbacks, any number of
 * times, from any thread. A text with nothing to say gives a script of 0
 * chunks, which kokoro_speak_script refuses (KOKORO_ERR_INPUT). */
typedef struct kokoro_script kokoro_script;

KK_API kokoro_status kokoro_prepare(kokoro_context *ctx, const char *text, const kokoro_speak_params *params,
                                    kokoro_script **out, kokoro_error *err);
/* Every chunk's phonemes and pause ("<phonemes>|<pause ms>" per chunk, one
 * chunk per line): equal strings, equal audio. Valid while the script lives. */
KK_API const char *kokoro_script_phonemes(const kokoro_script *script);
KK_API size_t kokoro_script_chunks(const kokoro_script *script);
KK_API kokoro_status kokoro_speak_script(kokoro_context *ctx, const kokoro_script *script,
                                         const kokoro_speak_params *params, float **samples, size_t *n_samples,
                                         kokoro_error *err);
KK_API void kokoro_script_free(kokoro_script *script);

/* ---- the render cache ---- */

/* Rendered segments by content (the model, phonemes, voice, speed, pitch,
 * fit): in memory (least recently used first out) and, optionally, on disk
 * (one checksummed file per entry; a corrupt one is a miss, never
 * returned). A render through a cache only speaks what changed. */
typedef struct kokoro_cache kokoro_cache;

typedef struct kokoro_cache_params {
    size_t mem_bytes;    /* memory bound; default 256 MiB; 0: no memory level */
    const char *dir;     /* disk level; NULL: none (see kokoro_cache_default_dir) */
    uint64_t disk_bytes; /* disk cap; default 2 GiB */
} kokoro_cache_params;

KK_API kokoro_cache_params kokoro_cache_default_params(void);

/* $KOKORO_CACHE_DIR/render, else $XDG_CACHE_HOME/kokoro/render, else
 * ~/.cache/kokoro/render (the directory the `kokoro` program uses). */
KK_API kokoro_status kokoro_cache_default_dir(char *dst, size_t size, kokoro_error *err);

/* Creates the directory (and its parents) when it is missing. params NULL:
 * the defaults (memory only). */
KK_API kokoro_status kokoro_cache_open(const kokoro_cache_params *params, kokoro_cache **out, kokoro_error *err);
KK_API void kokoro_cache_close(kokoro_cache *cache);
/* Forgets every entry in memory (the disk level stays). */
KK_API void kokoro_cache_clear_memory(kokoro_cache *cache);

typedef struct kokoro_cache_stats {
    uint64_t mem_hits, disk_hits, misses, puts;
    uint64_t corrupt; /* disk entries found bad and removed */
    uint64_t mem_evictions, disk_evictions;
    size_t mem_bytes, mem_entries; /* now */
    uint64_t disk_bytes, disk_entries;
} kokoro_cache_stats;

KK_API kokoro_cache_stats kokoro_cache_get_stats(kokoro_cache *cache);

/* ---- a timeline of segments ---- */

typedef struct kokoro_timeline kokoro_timeline;

/* One segment to add. Strings are copied. */
/* Where a word of a segment was said (a WScribe transcript's word times):
 * for kokoro_render_params.fit_words. Times on the timeline, like the
 * segment's; KOKORO_TIME_NONE when unknown. */
typedef struct kokoro_word {
    const char *text;
    int64_t start_ms, end_ms;
} kokoro_word;

typedef struct kokoro_segment {
    const char *text;
    int64_t start_ms, end_ms; /* KOKORO_TIME_NONE (both): after the previous segment */
    const char *speaker;      /* for the render's voice map; NULL: none */
    const char *voice;        /* NULL: the voice map's for the speaker, else the render's voice */
    float speed;              /* 0: the render's speed */
    double pitch;             /* semitones; NAN: the render's pitch */
    const kokoro_word *words; /* its word times (copied by kokoro_timeline_add; a loaded WScribe
                                 file's are kept); NULL: none */
    size_t n_words;
} kokoro_segment;

/* An untimed segment that takes every setting from the render (text NULL). */
KK_API kokoro_segment kokoro_segment_default(void);

KK_API kokoro_status kokoro_timeline_new(kokoro_timeline **out, kokoro_error *err);
/* Appends a copy of seg. KOKORO_ERR_ARG for a NULL text, a start without an
 * end (or the reverse) or an end before the start. */
KK_API kokoro_status kokoro_timeline_add(kokoro_timeline *tl, const kokoro_segment *seg, kokoro_error *err);
KK_API size_t kokoro_timeline_count(const kokoro_timeline *tl);
/* The index-th segment (1-based) as added or loaded, valid until the
 * timeline changes; NULL when there is none. */
KK_API const kokoro_segment *kokoro_timeline_get(const kokoro_timeline *tl, size_t index);
KK_API void kokoro_timeline_free(kokoro_timeline *tl);

typedef struct kokoro_load_params {
    const char *format; /* "txt", "srt", "vtt", "ass", "ssa", "wscribe"; NULL: from the name, then the content */
    int strict;         /* every warning (a cue with a broken time line) is an error */
    /* "file:line: what" for each cue or tag skipped; NULL: not shown. */
    kokoro_warning_callback on_warning;
    void *user;
} kokoro_load_params;

KK_API kokoro_load_params kokoro_load_default_params(void);

/* A timeline from a subtitle or text file (plain text: one segment per
 * paragraph, untimed). params NULL: the defaults. KOKORO_ERR_INPUT or
 * KOKORO_ERR_IO with a message naming the file and line. */
KK_API kokoro_status kokoro_timeline_load(const char *path, const kokoro_load_params *params, kokoro_timeline **out,
                                          kokoro_error *err);
/* The same from bytes in memory; name is used in messages and, without a
 * format, for its extension. */
KK_API kokoro_status kokoro_timeline_parse(const char *name, const void *data, size_t len,
                                           const kokoro_load_params *params, kokoro_timeline **out,
                                           kokoro_error *err);

/* ---- rendering a timeline into a track ---- */

/* What happens to speech still too long for its cue after the speed,
 * stretch and gap allowances. */
typedef enum kokoro_overflow {
    KOKORO_OVERFLOW_OVERLAP = 0, /* it runs over the next cue, mixed with it */
    KOKORO_OVERFLOW_TRUNCATE,    /* it is cut (with a short fade) where the next cue starts */
} kokoro_overflow;

/* How fit_words fills a pause longer than the natural one between words. */
typedef enum kokoro_pause {
    KOKORO_PAUSE_SILENCE = 0, /* the space held up to twice its length, then silence (the default) */
    KOKORO_PAUSE_STRETCH,     /* the space and punctuation between them held longer */
} kokoro_pause;

/* done of total segments rendered; eta_s: the seconds left, negative while
 * there is nothing to estimate from. */
typedef void (*kokoro_render_progress_callback)(void *user, size_t done, size_t total, double eta_s);
/* A problem with one segment (1-based) that did not stop the render. */
typedef void (*kokoro_render_warning_callback)(void *user, size_t segment, const char *message);

typedef struct kokoro_render_params {
    const char *voice;     /* default "af_heart" */
    const char *voice_map; /* "Anna=af_heart,Ben=am_adam": speakers to voices; NULL: none */
    const char *lang;      /* NULL: from each segment's voice */
    const char *lexicon_path;
    float speed;           /* 0.5 .. 2; default 1 */
    double pitch;          /* semitones, -12 .. 12; default 0 */
    /* Fitting speech longer than its cue: raise the speed up to
     * fit_max_speed (times the segment's), then compress up to
     * fit_max_stretch (pitch kept), then run into the silence before the
     * next cue (fit_use_gap), then overflow. fit 0: natural length. */
    int fit;               /* default 1 */
    float fit_max_speed;   /* default 1.25 */
    double fit_max_stretch; /* default 1.2; 1: never stretch */
    int fit_use_gap;       /* default 1 */
    kokoro_overflow overflow; /* default overlap */
    /* Prosody mapping: timed segments with word times are spoken with each
     * word at its time (to within half a 25 ms frame); where that cannot be
     * spoken the cue's fit above is used and kokoro_cue.fit_note says which
     * words and why. Default 0. */
    int fit_words;
    kokoro_pause fit_pauses; /* the room between words: default silence */
    int64_t gap_ms;        /* untimed segments: the pause between two; default 500 */
    int64_t lead_ms;       /* untimed segments: silence before the first; default 0 */
    int64_t min_length_ms; /* the track lasts at least this long; default 0 */
    int workers;           /* segments rendered at once; 0: one per online CPU. The result is the same. */
    int threads;           /* engine threads per worker; 0: the cores shared among the workers */
    kokoro_cache *cache;   /* NULL: none */
    int normalize;         /* loudness-normalise the track; default 0 */
    double target_lufs;    /* default -16 */
    double true_peak_db;   /* default -1 dBTP */
    kokoro_render_progress_callback on_progress;
    kokoro_abort_callback abort;
    kokoro_render_warning_callback on_warning;
    void *user;
    kokoro_precision precision; /* default KOKORO_PRECISION_EXACT */
} kokoro_render_params;

KK_API kokoro_render_params kokoro_render_default_params(void);

/* The rendered track and, per segment, where it went. */
typedef struct kokoro_track kokoro_track;

/* Renders every segment of tl onto one track: each is spoken (or taken
 * from the cache), trimmed of the engine's silence, placed at its start
 * time to the sample and fitted. On error *out is NULL, err->segment says
 * which segment caused it (0: none in particular), and what was rendered
 * is in the cache. KOKORO_ERR_ABORTED when abort said so. A segment with
 * nothing to say is a warning and stays silent. params NULL: the defaults. */
KK_API kokoro_status kokoro_render(kokoro_context *ctx, const kokoro_timeline *tl,
                                   const kokoro_render_params *params, kokoro_track **out, kokoro_error *err);
KK_API void kokoro_track_free(kokoro_track *track);

/* The track's samples (KOKORO_SAMPLE_RATE mono), valid while it lives. */
KK_API const float *kokoro_track_samples(const kokoro_track *track, size_t *n_samples);
/* Segments spoken now and segments taken from the cache. */
KK_API size_t kokoro_track_synthesized(const kokoro_track *track);
KK_API size_t kokoro_track_from_cache(const kokoro_track *track);

/* What became of one segment. */
typedef struct kokoro_cue {
    size_t segment;                   /* 1-based */
    int64_t start_sample, end_sample; /* the speech on the track */
    int64_t natural_samples;          /* its length at the asked speed */
    float speed;                      /* the model speed used */
    double stretch;                   /* time ratio applied (1: none; 0.9: 10 % shorter) */
    int64_t overlap_samples;          /* how far it runs over the next cue */
    int64_t truncated_samples;        /* cut off at the next cue */
    int cached;                       /* 1: from the cache */
    int word_fit;                     /* 1: its words placed at their times (fit_words) */
    const char *fit_note;             /* fit_words asked but not done: which words and why
                                         (valid while the track is); NULL otherwise */
} kokoro_cue;

KK_API size_t kokoro_track_cues(const kokoro_track *track);
/* The segment-th cue (1-based); KOKORO_ERR_ARG when there is none. */
KK_API kokoro_status kokoro_track_cue(const kokoro_track *track, size_t segment, kokoro_cue *out,
                                      kokoro_error *err);
/* The rendered times as subtitles: format "srt", "vtt" or "wscribe" (JSON
 * with word times); NULL: from path's extension. Written atomically. */
KK_API kokoro_status kokoro_track_save_subtitles(const kokoro_track *track, const char *path, const char *format,
                                                 kokoro_error *err);
/* The report (per cue: where it went, what was done to it) as JSON;
 * malloc'd, free with kokoro_string_free; NULL when memory runs out. */
KK_API char *kokoro_track_report_json(const kokoro_track *track);
KK_API void kokoro_string_free(char *s);

/* ---- exports ---- */

typedef enum kokoro_export_format {
    KOKORO_EXPORT_WAV16 = 0, /* WAV, 16-bit PCM (clipped to [-1, 1]) */
    KOKORO_EXPORT_WAV32,     /* WAV, 32-bit float */
    KOKORO_EXPORT_FLAC,      /* FLAC, 16-bit */
    KOKORO_EXPORT_MP3,       /* MP3 (LAME) */
    KOKORO_EXPORT_M4A,       /* AAC in MP4 (.m4a) */
} kokoro_export_format;

/* Called with the fraction written (0..1); return non-zero to stop (the
 * call fails with KOKORO_ERR_ABORTED and leaves no file). */
typedef int (*kokoro_export_progress_callback)(void *user, double fraction);

struct kokoro_export_params {
    kokoro_export_format format; /* default WAV16 */
    int sample_rate;  /* of the file; 0: the samples' rate */
    int vbr;          /* MP3: variable bit rate instead of constant */
    int vbr_quality;  /* MP3 VBR: 0 (best) .. 9; default 4 */
    int bitrate_kbps; /* MP3 CBR and AAC; 0: 128 */
    kokoro_export_progress_callback progress; /* may be NULL */
    void *user;
};

KK_API kokoro_export_params kokoro_export_default_params(void);

/* "wav", "wav32", "flac", "mp3", "m4a" ("aac"), or a file name whose
 * extension says it; KOKORO_ERR_ARG naming the choices otherwise. */
KK_API kokoro_status kokoro_export_format_parse(const char *name_or_path, kokoro_export_format *out,
                                                kokoro_error *err);

/* Writes n samples at rate into path, atomically (a temporary file renamed
 * into place when complete). params NULL: the format from path's
 * extension, at the samples' rate. */
KK_API kokoro_status kokoro_export(const char *path, const float *samples, size_t n, int rate,
                                   const kokoro_export_params *params, kokoro_error *err);
/* kokoro_export of a rendered track. */
KK_API kokoro_status kokoro_track_export(const kokoro_track *track, const char *path,
                                         const kokoro_export_params *params, kokoro_error *err);

/* A dub: out_path (.mp4, .m4v, .mov, .mkv) gets every video stream of
 * video_in copied as it is and the track (AAC, 48 kHz) as its audio, or
 * as a second audio stream with keep_audio. */
typedef struct kokoro_mux_params {
    int keep_audio;   /* 0: the track replaces the video's audio */
    int bitrate_kbps; /* AAC bit rate; 0: 160 */
    kokoro_export_progress_callback progress;
    void *user;
} kokoro_mux_params;

KK_API kokoro_mux_params kokoro_mux_default_params(void);
KK_API kokoro_status kokoro_track_mux_video(const kokoro_track *track, const char *video_in, const char *out_path,
                                            const kokoro_mux_params *params, kokoro_error *err);

#ifdef __cplusplus
}
#endif

#endif
