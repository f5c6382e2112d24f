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

typedef struct srv_settings {
    char voice[256];
    double speed, pitch;
    srv_fit fit;
    int64_t gap_ms;
} srv_settings;

/* af_heart, speed 1, pitch 0, overlap, 500 ms gaps. */
void srv_settings_defaults(srv_settings *st);
/* Parses a stored settings object (NULL or missing keys take the
 * defaults; values out of range are ignored). */
void srv_settings_parse(const char *json, srv_settings *out);
/* "overlap", "truncate", "none" or "words". */
const char *srv_fit_name(srv_fit f);
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
} srv_seg_view;

typedef struct srv_render_view {
    size_t done, total;
    int rendering;
    int64_t track_ms; /* -1: no complete pass yet */
} srv_render_view;

void srv_seg_view_free(srv_seg_view *v);

/* ---- JSON views (docs/api.md, Objects); the caller owns each object ---- */

/* A Segment's "rendered" object; text: the segment's, for the words. */
cJSON *srv_rendered_json(const srv_seg_view *v, const char *text);
/* A Segment: the stored fields, its index in timeline order and its audio. */
cJSON *srv_segment_json(const kk_store_segment *g, size_t index, const srv_seg_view *v);
/* {"done", "total", "rendering"}. */
cJSON *srv_render_json(const srv_render_view *rv);
/* {"can_undo", "can_redo", "undo_label", "redo_label"}. */
cJSON *srv_history_json(const kk_store_project *sp);

#endif
