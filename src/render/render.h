/*
 * render.h - segments to one timed track: the main job of Kokoro Studio.
 *
 * Each segment (a subtitle cue, or a paragraph of plain text) is spoken and
 * placed on a 24 kHz (KK_SAMPLE_RATE) timeline at its start time, to the
 * sample. Segments without times (plain text) follow each other with a
 * pause. The work, in order:
 *
 *   1. phonemize every segment (cheap), so that each one's cache key is
 *      known: the model's identity (with the precision), the phonemes, the
 *      voice, the speed, the pitch and the fit;
 *   2. render the segments that are not cached on a pool of worker threads
 *      sharing one loaded model, each segment on its own (so the result is
 *      the same whatever the number of workers), and store them in the
 *      cache as they finish (an interrupted render keeps what it did);
 *   3. place them on the timeline, fitting speech that is longer than its
 *      cue (see kk_fit_params), and optionally normalise the loudness.
 *
 * Speech is trimmed of the engine's leading and trailing silence, so that a
 * segment's sound starts at its start time.
 *
 * A kk_render_result says, per segment, where it went and what was done to
 * it (the report), with word times on the timeline.
 *
 * With fit.words a segment that carries word times is spoken with each
 * word at its time instead (prosody mapping: src/tts/prosody.h, the
 * engine's durations given per phoneme), or, where those cannot be
 * spoken, fitted as a cue with the reason in its report.
 *
 * Step 2 may run elsewhere: a job backend (backend.h; kk_render_params.
 * backend) renders the misses on other machines and the results come back
 * through the cache, so the track is the same wherever the work was done.
 *
 * Layer: src/render may call src/tts, src/audio, src/parsers and src/common;
 * the server, the CLI and the public API call it. It never calls up.
 */
#ifndef KK_RENDER_H
#define KK_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "cache.h"
#include "dsp.h"
#include "kk_error.h"
#include "prosody.h"
#include "subtitles.h"
#include "tts.h"

/* A fit note (kk_render_cue.fit_note) names at most this many words' problems,
 * then says how many more there are: a long segment whose every word is
 * impossible gets a sentence, not one per word (the note is kept in the
 * render cache and shown in the studio). */
#define KK_FIT_NOTE_WORDS 3

/* What happens to speech that is still too long after the speed, stretch
 * and gap allowances: it runs over the next cue (mixed with it), or is cut
 * (with a short fade) where the next cue starts. */
typedef enum kk_overflow {
    KK_OVERFLOW_OVERLAP = 0,
    KK_OVERFLOW_TRUNCATE,
} kk_overflow;

typedef struct kk_fit_params {
    int enabled;          /* 0: speech keeps its natural length (overflow still applies) */
    float max_speed;      /* raise the model's speed up to this factor of the segment's
                             speed (1 .. 2; never past KK_SPEED_MAX); default 1.25 */
    double max_stretch;   /* then compress with Rubber Band up to this factor (1.2: to
                           * 1/1.2 of the length, pitch kept); 1: never; default 1.2 */
    int use_gap;          /* then run into the silence before the next cue; default 1 */
    kk_overflow overflow; /* and finally overlap or truncate; default overlap */
    /* Prosody mapping (src/tts/prosody.h): a timed segment that carries
     * word times (kk_render_segment.words, a WScribe transcript's) is
     * spoken with each word starting at its time (to within half a 25 ms
     * frame) and lasting to its end, the pauses between as pause_mode
     * says; the speed, stretch and gap steps above do not apply to it.
     * Where its targets cannot be spoken (a word given less than a frame
     * per phoneme, or more than KK_PROSODY_MAX_RATE times faster than
     * natural) the segment falls back to the cue's fit above and its cue
     * in the report says which words and why (kk_render_cue.fit_note).
     * Default 0. */
    int words;
    kk_pause_mode pause_mode; /* default KK_PAUSE_SILENCE (prosody.h says why) */
} kk_fit_params;

/* A segment's own fit (kk_render_segment.fit), instead of params.fit's
 * enabled, overflow and words (its limits, use_gap and pause_mode stay
 * the params'). */
typedef enum kk_segment_fit {
    KK_SEGMENT_FIT_DEFAULT = 0, /* params.fit as it is */
    KK_SEGMENT_FIT_OVERLAP,     /* fitted to its cue, overlapping the next cue when still too long */
    KK_SEGMENT_FIT_TRUNCATE,    /* fitted, cut where the next cue starts */
    KK_SEGMENT_FIT_NONE,        /* its natural length (overlapping) */
    /* its words at their times (fit.words) when it carries word times;
     * else, or where they cannot be spoken, params.fit's cue fit */
    KK_SEGMENT_FIT_WORDS,
} kk_segment_fit;

/* One segment to render. Strings are copied by kk_render where needed. */
typedef struct kk_render_segment {
    const char *text;
    int64_t start_ms, end_ms; /* KK_TIME_NONE (both): after the previous segment;
                                 else 0 .. KK_TIME_MAX_MS */
    const char *speaker;      /* for the voice map; may be NULL */
    const char *voice;        /* NULL: the voice map's for the speaker, else params.voice */
    float speed;              /* 0: params.speed */
    double pitch;             /* semitones; NAN: params.pitch */
    /* Where its words were said (timeline ms, as the parsers give them;
     * a word's text is found in text in order): for fit.words. NULL: none. */
    const kk_word *words;
    size_t n_words;
    int mute;                 /* 1: rendered, fitted and reported as usual, but left out of
                                 the track: a stem (one speaker's lines alone) is the whole
                                 list with the other speakers' lines muted, so that every
                                 line sits and sounds exactly as in the full mix */
    kk_segment_fit fit;       /* KK_SEGMENT_FIT_DEFAULT (0): params.fit */
} kk_render_segment;

/* done of total segments finished; eta_s: an estimate of the seconds left,
 * from the pace of the segments synthesised so far (negative while there is
 * nothing to estimate from: none synthesised yet, those from the cache do
 * not count). */
typedef void (*kk_render_progress_fn)(void *user, size_t done, size_t total, double eta_s);
typedef int (*kk_render_abort_fn)(void *user);
typedef struct kk_render_word {
    size_t text_start, text_end;      /* bytes in the segment's text */
    int64_t start_sample, end_sample; /* on the timeline (in a kk_render_piece: from the piece's start) */
} kk_render_word;

/* One segment's audio as soon as it is rendered (before placement: a cut
 * at the next cue, in truncate mode, is not applied yet). */
typedef struct kk_render_piece {
    size_t index; /* 1-based, in input order */
    const float *samples;
    size_t n_samples;
    const kk_render_word *words;
    size_t n_words;
    int64_t natural_samples;
    /* Samples of it before its cue's start: a timed segment's piece begins
     * at start_ms less these (a word fit keeps up to two frames of the
     * rise before its first word there); 0 otherwise. The track's
     * placement (kk_render_cue.start_sample) says the same. */
    int64_t lead_samples;
    float speed;
    double stretch;
    int cached, silent;
    /* fit.words asked but not done (kk_render_cue.fit_note: which words
     * and why, at most KK_FIT_NOTE_WORDS of them named); NULL otherwise.
     * A piece from the cache carries it too (the cache keeps it with the
     * word fit's verdict). */
    const char *fit_note;
} kk_render_piece;

/* Called from the worker threads, one call at a time; the piece is valid
 * during the call only. */
typedef void (*kk_render_piece_fn)(void *user, const kk_render_piece *piece);
/* A segment's synthesis begins (index 1-based, in input order): called
 * only for segments the cache did not have, from the worker threads, one
 * call at a time; its piece (on_piece) follows when it is done. */
typedef void (*kk_render_start_fn)(void *user, size_t index);

/* A problem with one segment that did not stop the render (index 1-based). */
typedef void (*kk_render_warning_fn)(void *user, size_t index, const char *message);

/* Why kk_render failed, when one segment is the cause (an unknown voice, a
 * text the engine refuses): its 1-based index in input order and the
 * status; index 0 when the failure is not one segment's (no memory, an
 * abort, a bad parameter). Callers act on this, never on the message. */
typedef struct kk_render_failure {
    size_t index;
    kk_status status;
} kk_render_failure;

typedef struct kk_render_params {
    const char *voice;     /* default "af_heart"; a blend "af_heart:0.7,am_adam:0.3"
                              works too */
    const char *voice_map; /* "Anna=af_heart,Ben=am_adam": speakers to voices;
                              NULL: none */
    const char *lang;      /* NULL: from each segment's voice */
    const char *lexicon_path;
    float speed;  /* KK_SPEED_MIN .. KK_SPEED_MAX (0.5 .. 2), also per segment; default 1 */
    double pitch; /* semitones, -12 .. 12; default 0 */
    kk_fit_params fit;
    int64_t gap_ms;        /* untimed segments: the pause between two; default 500 */
    int64_t lead_ms;       /* untimed segments: silence before the first; default 0 */
    int64_t min_length_ms; /* the track lasts at least this long (e.g. a video's
                              length); default 0 */
    int workers;           /* threads rendering segments at once; 0: one per online CPU */
    int threads;           /* engine threads per worker; 0: the cores shared among the
                            * workers at work (one edited segment alone gets every core) */
    kk_cache *cache;       /* NULL: no cache */
    int normalize;         /* loudness normalisation of the whole track */
    kk_loudness_params loudness;
    kk_render_progress_fn on_progress;
    kk_render_abort_fn abort; /* checked between segments and inside the engine */
    kk_render_warning_fn on_warning;
    kk_render_piece_fn on_piece;
    kk_render_start_fn on_start; /* may be NULL */
    void *user;
    /* The order to render in: a permutation of 0 .. n-1 (the studio puts
     * the segments nearest the playhead first); NULL: input order. The
     * result does not depend on it. */
    const size_t *order;
    /* Filled on failure (see kk_render_failure); NULL: not wanted. */
    kk_render_failure *failure;
    /* The most bytes of audio kk_render holds in memory: half for the
     * track, half for the segments' audio waiting to be placed. Past them
     * both go to an unlinked temporary file in temp_dir (NULL: $TMPDIR,
     * else /tmp; nothing is left there whatever happens), and a track past
     * its half is returned on disk (kk_render_result.track, samples NULL):
     * read it with kk_render_read or kk_render_io. The track's bits are the
     * same either way. 0 (the default): no limit, everything in memory. */
    size_t memory_limit;
    const char *temp_dir;
    /* KK_PRECISION_EXACT (the default) or KK_PRECISION_FAST (kk_synth_params.
     * precision). The cache keys name the precision that runs (the fast mode
     * falls back to the exact one, with one line through on_warning at index
     * 0, where the CPU lacks AMX), so the two modes' audio never mix. */
    kk_precision precision;
    /* Where the cache misses are rendered: NULL, here on the worker
     * threads (the local backend); else that backend first (backend.h),
     * and here whatever it leaves. Not with lexicon_path (the workers
     * cannot read the client's file): then everything is local. */
    kk_render_backend *backend;
} kk_render_params;

kk_render_params kk_render_default_params(void);

/* Parses "Anna=af_heart,Ben=am_adam" (checks its shape, not the voices). */
kk_status kk_render_check_voice_map(const char *map, kk_error *err);


/* What became of one segment (the report). */
typedef struct kk_render_cue {
    size_t index; /* 1-based, in input order */
    char *text;
    char *voice;                      /* the voice used */
    char *speaker;                    /* the segment's speaker, NULL when none */
    int64_t cue_start_ms, cue_end_ms; /* as given (KK_TIME_NONE for untimed) */
    int64_t start_sample, end_sample; /* the speech on the timeline */
    int64_t natural_samples;          /* its length at the asked speed, trimmed */
    float asked_speed;                /* the segment's speed before the fit */
    float speed;                      /* the model speed used */
    double stretch;                   /* Rubber Band time ratio applied (1: none; 0.9: 10 % shorter) */
    double pitch;                     /* semitones applied */
    int64_t gap_samples;              /* how far it ran past its cue's end into the silence
                                         after it */
    int64_t overlap_samples;          /* how far it runs over the next cue's start */
    int64_t truncated_samples;        /* cut off at the next cue's start */
    int cached;                       /* 1: its audio came from the cache */
    kk_render_word *words;
    size_t n_words;
    int word_fit;   /* 1: its words were placed at their given times (fit.words) */
    char *fit_note; /* fit.words asked but not done: which words and why (the first
                       KK_FIT_NOTE_WORDS named, then how many more); NULL otherwise */
} kk_render_cue;

struct kk_track;

typedef struct kk_render_result {
    float *samples; /* the track, KK_SAMPLE_RATE mono; NULL when it is on disk */
    size_t n_samples;
    struct kk_track *track; /* the track on disk (see memory_limit), else NULL */
    kk_render_cue *cues; /* in input order */
    size_t n_cues;
    size_t synthesized, from_cache; /* segments */
    int normalized;
    kk_loudness_report loudness;
    double seconds; /* wall time of kk_render */
} kk_render_result;

/* Renders n segments. On error nothing is returned (out is zeroed), but
 * what was rendered is in the cache. KK_ERR_ABORTED when the abort callback
 * said so. A segment that cannot be spoken (nothing to say after markup) is
 * a warning and stays silent; an unknown voice is an error. Times are
 * bounded by KK_TIME_MAX_MS (kk_limits.h, 1000 hours), as the parsers and
 * the server bound them: a segment ending past it, or whose speech would
 * make the track pass it (untimed segments one after another, speech
 * running past its cue), is KK_ERR_ARG naming the segment (p->failure
 * says which), before any track is allocated; so are gap_ms, lead_ms and
 * min_length_ms past it (failure index 0). */
kk_status kk_render(kk_tts *tts, const kk_render_segment *segs, size_t n, const kk_render_params *p,
                    kk_render_result *out, kk_error *err);
void kk_render_result_free(kk_render_result *r);

/* Samples [at, at + n) of the track, in memory or on disk: KK_ERR_ARG past
 * its end, KK_ERR_IO when the temporary file cannot be read. */
kk_status kk_render_read(const kk_render_result *r, uint64_t at, float *dst, size_t n, kk_error *err);
/* The track as a read-only kk_sample_io (for kk_export_audio_io), valid
 * while r is. */
kk_sample_io kk_render_io(const kk_render_result *r);
/* ---- the worker's side of a job backend ---- */

/* Each cache entry a job's render reads or writes, in order: what the
 * client's renderer will look up for that segment. blob is valid during
 * the call. */
typedef void (*kk_render_entry_fn)(void *user, const kk_cache_key *key, const void *blob, size_t len);

typedef struct kk_render_job_params {
    kk_cache *cache;             /* the worker's own (required; memory alone will do) */
    int threads;                 /* engine threads; 0: 1 */
    kk_render_entry_fn on_entry; /* may be NULL */
    kk_render_abort_fn abort;    /* may be NULL */
    void *user;                  /* for on_entry and abort */
} kk_render_job_params;

typedef struct kk_render_job_result {
    int rendered;     /* 1: audio was made; 0: all of it was in the cache (or nothing to say) */
    size_t n_samples; /* the segment's audio */
} kk_render_job_result;

/* Renders one job as kk_render would render its segment, through
 * jp->cache, handing every entry to on_entry; *res says what was done.
 * KK_ERR_CONFLICT when the job is for another model identity or render
 * version, or for the fast mode where this CPU cannot run it, or this worker's phonemes for the text differ from the
 * job's (it would make other audio): nothing is rendered. KK_ERR_INPUT for
 * a job whose fields are missing or out of range; the segment's own errors
 * (an unknown voice) as kk_render gives them; KK_ERR_ABORTED when abort
 * said stop. */
kk_status kk_render_job_run(kk_tts *tts, const kk_render_job *job, const kk_render_job_params *jp,
                            kk_render_job_result *res, kk_error *err);

/* The segments of a parsed document, for kk_render (pointing into doc). */
kk_render_segment *kk_render_segments_from_doc(const kk_doc *doc);

/* The rendered times as subtitles (SRT, VTT, ASS or WScribe JSON with word
 * times, speakers kept), written atomically. */
kk_status kk_render_save_subtitles(const kk_render_result *r, const char *path, kk_format format, kk_error *err);
/* Which times the subtitles carry: where the speech sounds (its start and
 * end on the track, and its words), or the cues' own times as given (a
 * dubbing script keeps its spotting; an untimed segment, which has none,
 * gets its speech times). */
typedef enum kk_subtitle_times { KK_SUBTITLE_SPEECH = 0, KK_SUBTITLE_CUES } kk_subtitle_times;
/* kk_render_save_subtitles with a choice of times; format may also be ASS
 * (subtitles.h). Speakers are kept (VTT <v>, ASS Name, WScribe speaker). */
kk_status kk_render_save_subtitles_as(const kk_render_result *r, const char *path, kk_format format,
                                      kk_subtitle_times times, kk_error *err);

/* The report as JSON: per cue, where it went and what was done to it. */
char *kk_render_report_json(const kk_render_result *r);
kk_status kk_render_save_report(const kk_render_result *r, const char *path, kk_error *err);

/* Counts of fit adjustments, for a one-line summary. */
typedef struct kk_render_summary {
    size_t sped_up, stretched, into_gap, overlapping, truncated, silent;
    float max_speed;    /* largest speed factor applied (over the asked speed) */
    double min_stretch; /* strongest compression */
    int64_t max_overlap_samples, max_truncated_samples;
    size_t worst_overlap_index; /* 1-based; 0: none */
} kk_render_summary;

kk_render_summary kk_render_summarize(const kk_render_result *r);

#endif
