/*
 * store.h - the studio's projects in SQLite: their source files, segments
 * and settings, the history of edits (undo and redo that survive a
 * restart), and the user's settings (theme, favourite and recent voices).
 *
 * One database file (WAL mode, synchronous=FULL, foreign keys
 * on), its schema versioned with PRAGMA user_version and migrated forward
 * on open; a database from a newer version is refused with a clear error.
 * Every edit is one transaction: after a crash (kill -9 at any moment) the
 * database opens with every committed edit in it and nothing half-done.
 *
 * Every edit of a project's segments or settings is recorded as a command:
 * the primitive changes it made (set fields of a segment, insert a segment,
 * delete a segment, set project settings) with their inverse, so undo
 * applies the inverse and redo the changes again, across any number of
 * steps. A new edit after undos drops the redo entries. The playhead is
 * not an edit (no history).
 *
 * A kk_store may be used from several threads at once (one connection,
 * serialised by a mutex inside). Strings returned are malloc'd copies.
 *
 * May call: SQLite, cJSON, src/common and the parsers' document type
 * (subtitles.h); nothing else of the server (a leaf: the handlers and the
 * render thread call it, holding none of their locks but settings_lock).
 */
#ifndef KK_STORE_H
#define KK_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "kk_error.h"
#include "subtitles.h"

typedef struct kk_store kk_store;

/* Opens (creating when missing) the database at path. */
kk_status kk_store_open(const char *path, kk_store **out, kk_error *err);
void kk_store_close(kk_store *s);

/* ---- projects ---- */

typedef struct kk_store_project {
    int64_t id;
    char *name;
    int64_t created_ms, updated_ms; /* Unix time, milliseconds */
    /* The project's settings as a JSON object, owned by the caller's schema:
     * the server keeps {"voice":..,"speed":..,"pitch":..,"fit":..,"gap_ms":..}
     * there. The store only checks that it is a JSON object. */
    char *settings_json;
    int64_t playhead_ms;
    size_t n_segments;
    int can_undo, can_redo;
    char *undo_label, *redo_label; /* what undo/redo would do ("edit text"), NULL when nothing */
    /* the segment undo/redo would change (its first change's: a split's
     * first half, a merge's kept segment); 0 when none or not known
     * before (an undone delete brings its segment back) */
    int64_t undo_segment, redo_segment;
    int64_t version; /* raised by every change to the project (edits, undo, redo) */
} kk_store_project;

void kk_store_project_free(kk_store_project *p); /* frees the members, not p */

typedef struct kk_store_source {
    const char *name;   /* the uploaded file's name (display only) */
    const char *format; /* "srt", "vtt", ... */
    const void *data;
    size_t len;
} kk_store_source;

/* A new project with the segments of doc (in order) and its source files;
 * not an edit (no history). *id receives its id. */
kk_status kk_store_create_project(kk_store *s, const char *name, const char *settings_json, const kk_doc *doc,
                                  const kk_store_source *sources, size_t n_sources, int64_t *id, kk_error *err);
/* Newest first. *out is a malloc'd array; free each with
 * kk_store_project_free, then the array. */
kk_status kk_store_list_projects(kk_store *s, kk_store_project **out, size_t *n, kk_error *err);
kk_status kk_store_get_project(kk_store *s, int64_t id, kk_store_project *out, kk_error *err);
/* Deletes a project with everything in it. */
kk_status kk_store_delete_project(kk_store *s, int64_t id, kk_error *err);
/* Renames and/or replaces the settings (NULL: unchanged); an edit (undoable). */
kk_status kk_store_update_project(kk_store *s, int64_t id, const char *name, const char *settings_json,
                                  kk_error *err);
/* Not an edit. */
kk_status kk_store_set_playhead(kk_store *s, int64_t id, int64_t ms, kk_error *err);

/* ---- segments ---- */

typedef struct kk_store_segment {
    int64_t id; /* stable for the segment's life (undo of a delete brings the same id back) */
    int64_t start_ms, end_ms; /* KK_TIME_NONE both for untimed text */
    char *text;
    char *speaker; /* NULL: none */
    char *voice;   /* NULL: the project's */
    double speed;  /* 0: the project's */
    double pitch;  /* NAN: the project's */
    char *words_json; /* the source's word times as a JSON array, NULL when none */
    char *fit;        /* its own fit ("words", "overlap", ...: the server's names); NULL: the project's */
} kk_store_segment;

void kk_store_segment_free(kk_store_segment *g); /* frees the members, not g */
void kk_store_segments_free(kk_store_segment *v, size_t n); /* members and array */

/* In timeline order: by start_ms, then by position of creation (untimed
 * segments keep their order). */
kk_status kk_store_segments(kk_store *s, int64_t project, kk_store_segment **out, size_t *n, kk_error *err);
kk_status kk_store_get_segment(kk_store *s, int64_t project, int64_t id, kk_store_segment *out, kk_error *err);

/* Which fields an edit changes. */
enum {
    KK_SEG_TEXT = 1 << 0,
    KK_SEG_TIMES = 1 << 1, /* start_ms and end_ms together */
    KK_SEG_SPEAKER = 1 << 2,
    KK_SEG_VOICE = 1 << 3,
    KK_SEG_SPEED = 1 << 4,
    KK_SEG_PITCH = 1 << 5,
    /* words_json: the word times (a JSON array of {text, start_ms,
     * end_ms}), as a transcript gave them or as dragged in the studio;
     * NULL: none (the natural timing). With KK_SEG_TEXT the given ones
     * are kept rather than dropped. */
    KK_SEG_WORDS = 1 << 6,
    /* Not a field: the edit joins the last one when that is a change of
     * the same fields of the same segment and nothing was undone since
     * (a burst of typing, a slider's drag: one undo step); else it is
     * recorded as usual. */
    KK_SEG_COALESCE = 1 << 7,
    /* fit: the segment's own fit, NULL for the project's (any non-empty
     * name is stored; the server says which names there are) */
    KK_SEG_FIT = 1 << 8,
};

/* Sets the fields in mask from patch (other members of patch are ignored);
 * one undoable edit. Changing the text drops the segment's source word
 * times (they no longer match). KK_ERR_ARG for an end before its start. */
kk_status kk_store_edit_segment(kk_store *s, int64_t project, int64_t id, unsigned mask,
                                const kk_store_segment *patch, kk_error *err);
/* Sets speaker, voice, speed and/or pitch (mask: only those) of every
 * segment in ids[0, n) to patch's; one undoable edit ("change voices"...),
 * none when nothing changes. All or nothing: a missing segment is
 * KK_ERR_NOT_FOUND and changes none. */
kk_status kk_store_edit_segments(kk_store *s, int64_t project, const int64_t *ids, size_t n, unsigned mask,
                                 const kk_store_segment *patch, kk_error *err);
/* Splits a segment in two: the first keeps text[0, text_offset) (trimmed)
 * and runs to at_ms, the second gets the rest of the text and runs from
 * at_ms to the old end (untimed segments: at_ms ignored). text_offset must
 * fall on a UTF-8 character boundary strictly inside the text; at_ms
 * strictly inside the segment. *new_id: the second segment. One edit. */
kk_status kk_store_split(kk_store *s, int64_t project, int64_t id, int64_t at_ms, size_t text_offset,
                         int64_t *new_id, kk_error *err);
/* Merges segment b into a (a must come right before b in timeline order):
 * a's text + " " + b's text, a's start to b's end; b is deleted. One edit. */
kk_status kk_store_merge(kk_store *s, int64_t project, int64_t a, int64_t b, kk_error *err);
/* The most segments a project may have; 0 (the default): no limit. An
 * insert or a split that would pass it fails with KK_ERR_CONFLICT (the only
 * KK_ERR_CONFLICT those two return), checked inside the edit's
 * transaction, so that concurrent edits cannot pass it together. A project
 * created bigger is not cut (its creator checks the upload). */
void kk_store_set_max_segments(kk_store *s, size_t max);
/* Inserts a new segment (seg's id ignored). One edit. */
kk_status kk_store_insert(kk_store *s, int64_t project, const kk_store_segment *seg, int64_t *new_id, kk_error *err);
kk_status kk_store_delete_segment(kk_store *s, int64_t project, int64_t id, kk_error *err);

/* Undoes / redoes the last edit. KK_ERR_CONFLICT when there is none.
 * *changed (may be NULL) receives a malloc'd array of the segment ids the
 * step touched (inserted, deleted or modified), for the caller's caches. */
kk_status kk_store_undo(kk_store *s, int64_t project, int64_t **changed, size_t *n_changed, kk_error *err);
kk_status kk_store_redo(kk_store *s, int64_t project, int64_t **changed, size_t *n_changed, kk_error *err);

/* The project's source files without their bytes (for listings), in
 * index order. *out is a malloc'd array (free with kk_store_sources_free). */
typedef struct kk_store_source_info {
    char *name, *format;
    size_t len;
} kk_store_source_info;

kk_status kk_store_sources(kk_store *s, int64_t project, kk_store_source_info **out, size_t *n, kk_error *err);
void kk_store_sources_free(kk_store_source_info *v, size_t n); /* members and array */

/* A source file back (for download); *data malloc'd. */
kk_status kk_store_get_source(kk_store *s, int64_t project, size_t index, char **name, char **format, void **data,
                              size_t *len, kk_error *err);

/* ---- a project's video (schema version 2) ---- */

/* One video per project, its bytes in a file of the caller's (file: a name
 * in the data directory's videos/); not part of the edit history. */
typedef struct kk_store_video {
    char *file, *name, *mime;
    int64_t size, duration_ms;
    int width, height, has_audio;
} kk_store_video;

void kk_store_video_free(kk_store_video *v); /* members; v itself is the caller's */
/* Attaches v to the project, replacing any video it had: *old_file gets
 * the replaced one's file name (malloc'd; NULL when none) for the caller
 * to remove. KK_ERR_NOT_FOUND for a project that does not exist. */
kk_status kk_store_set_video(kk_store *s, int64_t project, const kk_store_video *v, char **old_file, kk_error *err);
/* The project's video; KK_ERR_NOT_FOUND when the project or its video
 * does not exist (the message says which). */
kk_status kk_store_get_video(kk_store *s, int64_t project, kk_store_video *out, kk_error *err);
/* Detaches it; *old_file as for kk_store_set_video. */
kk_status kk_store_delete_video(kk_store *s, int64_t project, char **old_file, kk_error *err);
/* Every video file a project refers to (for sweeping the others away):
 * a malloc'd array of malloc'd names. */
kk_status kk_store_video_files(kk_store *s, char ***files, size_t *n, kk_error *err);

/* ---- the user's settings ---- */

/* A JSON value under a key ("theme", "favourites", "recent"); *json NULL
 * when unset. */
kk_status kk_store_get_setting(kk_store *s, const char *key, char **json, kk_error *err);
kk_status kk_store_put_setting(kk_store *s, const char *key, const char *json, kk_error *err);

#endif
