/*
 * server_jobs.h - background rendering and each project's audio in memory
 * (jobs.c).
 *
 * jobs.c is handed what it works with (srv_jobs_env), not the server: it
 * may call the store (store.h), the renderer and its cache (render.h,
 * cache.h), the in-memory WAV (wav.h), the project rules and views
 * (server_project.h) and the event hub's publish side (server_events.h).
 * Never api.c or http.c.
 */
#ifndef KK_SERVER_JOBS_H
#define KK_SERVER_JOBS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "kk_error.h"
#include "render.h"
#include "server.h"
#include "server_events.h"
#include "server_project.h"
#include "store.h"
#include "tts.h"
#include "voice.h"

typedef struct srv_jobs srv_jobs;

/* What the renders need; everything is the server's and outlives the jobs
 * (srv_jobs_free comes first). */
typedef struct srv_jobs_env {
    kk_store *store;
    kk_tts *tts;
    kk_cache *cache;
    srv_events *events;                /* where segment, progress and error events go */
    const kk_voice_info *voices;       /* the voices a segment may use */
    size_t n_voices;
    int render_workers;                /* kk_render_params.workers */
    int log_renders;                   /* a log line per completed pass */
    kk_server_log_fn log;              /* NULL: none */
    void *log_user;
    const atomic_int *stopping;        /* set: renders on request end too */
} srv_jobs_env;

/* Starts the render thread; env is copied. */
kk_status srv_jobs_start(const srv_jobs_env *env, srv_jobs **out, kk_error *err);
/* Cancels the pass in progress and joins the render thread (the rest
 * still answers, for requests in flight); then free. */
void srv_jobs_stop(srv_jobs *j);
void srv_jobs_free(srv_jobs *j);
/* The project was opened (edited: 1 after an edit): bring its audio up to
 * date, cancelling a pass that renders an older state of it. */
void srv_jobs_touch(srv_jobs *j, int64_t project, int edited);
void srv_jobs_playhead(srv_jobs *j, int64_t project, int64_t ms);
/* The project was deleted: stop its renders and drop its audio. */
void srv_jobs_forget(srv_jobs *j, int64_t project);

/* Fills views[i] for segs[i] (the store's, current) and *rv. */
void srv_jobs_view(srv_jobs *j, int64_t project, const srv_settings *st, const kk_store_segment *segs, size_t n,
                   srv_seg_view *views, srv_render_view *rv);

/* A segment's audio as a WAV file (24 kHz mono 16-bit), malloc'd.
 * KK_ERR_CONFLICT (with *status set) while it is not rendered for its
 * current content. */
kk_status srv_jobs_segment_wav(srv_jobs *j, int64_t project, const srv_settings *st, const kk_store_segment *seg,
                               char **wav, size_t *len, char version[17], const char **status, kk_error *err);

/* Renders the whole project now through the cache (what is rendered comes
 * from it at once), in the calling thread. */
kk_status srv_jobs_render_now(srv_jobs *j, int64_t project, kk_render_result *out, kk_error *err);

/* A short sentence in a voice as a WAV file, rendered once.
 * KK_ERR_UNSUPPORTED for a voice the engine cannot speak in
 * (srv_voice_unsupported says why). */
kk_status srv_jobs_preview(srv_jobs *j, const char *voice, char **wav, size_t *len, kk_error *err);

#endif
