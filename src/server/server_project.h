/*
 * server_project.h - a studio project's rules and the JSON views of it that
 * more than one of the server's files answer with (project.c).
 *
 * Owns: a project's settings (their defaults, how the stored JSON reads),
 * which voices a project may use and which of them can speak, what the
 * server knows about a segment's audio (srv_seg_view, filled by jobs.c)
 * and the JSON of a Segment's "rendered" object, a Segment, a project's
 * render state and history (docs/api.md, Objects).
 *
 * May call: the store's types (store.h), the renderer's types (render.h),
 * voice.h, g2p.h (which languages the engine reads) and cJSON. Nothing of
 * the rest of the server: jobs.c, events.c and api.c call down into this
 * file, never the other way.
 */
#ifndef KK_SERVER_PROJECT_H
#define KK_SERVER_PROJECT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "render.h"
#include "store.h"
#include "voice.h"

/* ---- a project's settings ---- */

/* SRV_FIT_WORDS: segments with the source's word times speak each word at
 * its time (kk_fit_params.words), the others overlap. */
typedef enum { SRV_FIT_OVERLAP = 0, SRV_FIT_TRUNCATE, SRV_FIT_NONE, SRV_FIT_WORDS } srv_fit;

/* The cast: a speaker's voice (or blend). A segment's voice is its own,
 * else its speaker's in the cast, else the project's; so a change of one
 * speaker's voice changes the audio (and the render cache key) of that
 * speaker's lines only. */
#define SRV_CAST_MAX 32
#define SRV_SOURCES_MAX 16 /* files in one project */
#define SRV_SPEAKER_MAX 200 /* bytes of a speaker's name (as of a segment's speaker) */

typedef struct srv_cast {
    char speaker[SRV_SPEAKER_MAX + 1];
    char voice[256];
} srv_cast;

typedef struct srv_settings {
    char voice[256];
    double speed, pitch;
    srv_fit fit;
    int64_t gap_ms;
    size_t n_cast;
    srv_cast cast[SRV_CAST_MAX];
    /* The encoding each source file was read in (set at creation, not
     * editable: "encodings" in the stored JSON; the API shows each as its
     * source's "encoding"). */
    size_t n_encodings;
    char encodings[SRV_SOURCES_MAX][48];
} srv_settings;

/* The cast's voice for speaker; NULL when speaker is NULL or not cast. */
const char *srv_cast_voice(const srv_settings *st, const char *speaker);
/* Sets (voice non-NULL) or removes (NULL) speaker's entry. -1 when the
 * cast is full (SRV_CAST_MAX) or a string too long; st unchanged then. */
int srv_cast_set(srv_settings *st, const char *speaker, const char *voice);

/* af_heart, speed 1, pitch 0, overlap, 500 ms gaps, nobody cast. */
void srv_settings_defaults(srv_settings *st);
/* Parses a stored settings object (NULL or missing keys take the
 * defaults; values out of range are ignored; "cast" is an object of
 * speaker: voice). */
void srv_settings_parse(const char *json, srv_settings *out);
/* "overlap", "truncate", "none" or "words". */
const char *srv_fit_name(srv_fit f);
/* The fit of that name (srv_fit_name's), 0; -1 for any other (out
 * untouched). */
int srv_fit_parse(const char *name, srv_fit *out);
/* The fit segment g is rendered with: its own (kk_store_segment.fit, when
 * it names one), else the project's. */
srv_fit srv_segment_fit(const srv_settings *st, const kk_store_segment *g);
/* The settings as the API shows them; the caller owns the object. */
cJSON *srv_settings_json(const srv_settings *st);
/* The same printed unformatted, malloc'd; NULL when memory runs out. */
char *srv_settings_text(const srv_settings *st);

/* ---- voices ---- */

/* One voice id (id[0, n), not NUL-terminated) is in the list. */
int srv_voice_id_known(const kk_voice_info *voices, size_t n_voices, const char *id, size_t n);
/* A voice of the list ("af_heart"), or a blend of them
 * ("af_heart:0.7,am_adam:0.3", weights > 0). */
int srv_voice_known(const kk_voice_info *voices, size_t n_voices, const char *spec);
/* Why the engine cannot speak in voice id (a sentence for the user), or
 * NULL when it can. Japanese and Chinese voices are listed by the model
 * but their languages are refused by the text reader (g2p.h). */
const char *srv_voice_unsupported(const char *id);

/* ---- what the server knows about a segment's audio ---- */

typedef struct srv_seg_view {
    const char *status; /* "pending", "rendering", "ready", "error" */
    char audio_version[17];
    char *error; /* malloc'd; status "error" */
    int rendered;
    int placed; /* start/end known (untimed segments wait for the pass's end) */
    int64_t start_ms, end_ms, overlap_ms, truncated_ms;
    double speed, stretch;
    kk_render_word *words; /* malloc'd, times in samples on the timeline */
    size_t n_words;
    char *fit_note; /* malloc'd: why its word times were not followed (kk_render_cue.fit_note); NULL */
} srv_seg_view;

typedef struct srv_render_view {
    size_t done, total;
    int rendering;
    double eta_s;     /* seconds the pass in progress still needs, as its last progress
                         said less the time since; < 0: unknown (no pass, or none said yet) */
    int64_t track_ms; /* -1: no complete pass yet */
} srv_render_view;

void srv_seg_view_free(srv_seg_view *v);

/* ---- JSON views (docs/api.md, Objects); the caller owns each object ---- */

/* A Segment's "rendered" object; text: the segment's, for the words;
 * "fit_note" is the renderer's (null when its word times were followed or
 * none were asked). */
cJSON *srv_rendered_json(const srv_seg_view *v, const char *text);
/* A Segment: the stored fields, its index in timeline order and its audio. */
cJSON *srv_segment_json(const kk_store_segment *g, size_t index, const srv_seg_view *v);
/* {"done", "total", "rendering", "eta_s"} (eta_s null while unknown). */
cJSON *srv_render_json(const srv_render_view *rv);
/* {"can_undo", "can_redo", "undo_label", "redo_label"}. */
cJSON *srv_history_json(const kk_store_project *sp);

#endif
