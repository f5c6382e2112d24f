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
    kk_precision precision;            /* kk_render_params.precision of every render */
    kk_render_backend *backend;        /* kk_render_params.backend (NULL: local) */
    size_t memory_bytes;               /* segments' audio (samples and words) kept in memory,
                                          all projects; 0: 256 MiB. Past it the least recently
                                          used audio is dropped, kept in the cache */
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
/* The project was just made (POST /api/projects): its pass is due at once,
 * without the quiet time an edit waits for (QUIET_S: there is no burst of
 * edits to wait out), and it goes before the pass of another project in
 * progress, which is cancelled and comes again after it (what that pass
 * made is in the render cache), at most once every 5 s (projects made in a
 * loop queue behind each other instead of restarting every pass). Typed
 * text speaks at once even while an older project renders. */
void srv_jobs_created(srv_jobs *j, int64_t project);
void srv_jobs_playhead(srv_jobs *j, int64_t project, int64_t ms);
/* The project was deleted: stop its renders and exports and drop its
 * audio. */
void srv_jobs_forget(srv_jobs *j, int64_t project);
/* Interactive work (the OpenAI speech API) comes first: while the holds
 * (delta +1 and -1, from any thread) are above zero, the background pass
 * waits at its next check, keeping what it made, and goes on after.
 * Renders on request (exports, previews) do not wait. NULL j: nothing. */
void srv_jobs_hold(srv_jobs *j, int delta);
/* For each project with work: fn(user, project, segments pending): of the
 * pass in progress those not yet rendered; of a project due a pass, all
 * of its segments (how many of them the cache has is known only then). */
void srv_jobs_pending(srv_jobs *j, void (*fn)(void *user, int64_t project, size_t pending), void *user);
/* The segments' audio held in memory now (samples and words, all
 * projects) and the budget it is kept under (srv_jobs_env.memory_bytes). */
void srv_jobs_memory(srv_jobs *j, size_t *held, size_t *budget);

/* Fills views[i] for segs[i] (the store's, current) and *rv. */
void srv_jobs_view(srv_jobs *j, int64_t project, const srv_settings *st, const kk_store_segment *segs, size_t n,
                   srv_seg_view *views, srv_render_view *rv);

/* A segment's audio as a WAV file (24 kHz mono 16-bit), malloc'd.
 * KK_ERR_CONFLICT (with *status set) while it is not rendered for its
 * current content. */
kk_status srv_jobs_segment_wav(srv_jobs *j, int64_t project, const srv_settings *st, const kk_store_segment *seg,
                               char **wav, size_t *len, char version[17], const char **status, kk_error *err);

/* ---- renders on request (exports, previews) ---- */

/* One render on request while it runs, from srv_jobs_export_begin to
 * srv_export_end (one request's handler): the project's deletion
 * (srv_jobs_forget), its client's departure (gone) and the server's stop
 * cancel it within a second; an export of a project publishes "export"
 * events on the project's streams (docs/api.md: state, done, total) and
 * owns its temporary file. */
typedef struct srv_export srv_export;

/* Non-zero once the client has gone away. Polled from the render's
 * threads, one call at a time, at most every 100 ms. */
typedef int (*srv_gone_fn)(void *user);

/* Registers one: of project (0: none, a preview: no events), kind and
 * format (copied, 15 bytes at most) name it in its events and the log;
 * gone may be NULL. NULL when memory runs out. */
srv_export *srv_jobs_export_begin(srv_jobs *j, int64_t project, const char *kind, const char *format, srv_gone_fn gone,
                                  void *gone_user);
/* Non-zero when x should stop (cancelled, its client gone, the server
 * stopping); polls gone. */
int srv_export_cancelled(srv_export *x);
/* st, or for KK_ERR_ABORTED why, in err: KK_ERR_NOT_FOUND when the
 * project was deleted, else KK_ERR_ABORTED (the client went away, the
 * server is stopping). */
kk_status srv_export_status(srv_export *x, kk_status st, kk_error *err);
/* A kk_export_progress_fn (user: the srv_export): the writing stage's
 * events; non-zero when x should stop. */
int srv_export_writing(void *user, double fraction);
/* A fresh name in data_dir/tmp for x's output (*path is x's: valid until
 * srv_export_end, which removes the file), "export.<random>.tmp<ext>";
 * beside it x holds "export.<random>.tmp" open and locked (flock) while it
 * runs. One per export. */
kk_status srv_export_file(srv_export *x, const char *data_dir, const char *ext, const char **path, kk_error *err);
/* Records why x failed, as its request answers it (the HTTP status, the
 * error code, the message: a full disk is 507 "insufficient_storage"), for
 * its last event ("failed" with "error": {"status", "code", "message"})
 * and the log. Before srv_export_end; x NULL: nothing. */
void srv_export_failed(srv_export *x, unsigned status, const char *code, const char *message);
/* Unregisters x, removes its temporary files, publishes its last event
 * ("done" when st is KK_OK, "cancelled" or "failed") and frees it. NULL:
 * nothing. */
void srv_export_end(srv_export *x, kk_status st);
/* At start: removes what the exports and uploads of a run that was killed
 * left in data_dir/tmp: the regular files whose name begins with "export."
 * or "upload." (media.c's streamed videos) and holds ".tmp" (srv_export_file's, the writers' own beside them, earlier
 * versions' "export.wav.<random>.tmp"), except those whose lock file
 * another server holds now. Nothing else there is touched; a missing tmp/
 * is fine. *removed: how many went. */
kk_status srv_export_sweep(const char *data_dir, size_t *removed, kk_error *err);

/* Renders x's project now through the cache (what is rendered comes from
 * it at once), in the calling thread; x's "rendering" events, cancelled
 * as x is (srv_export_status says why). A track past the memory budget
 * comes back on disk (out->track, samples NULL): read it with
 * kk_render_io. */
typedef struct srv_render_opts {
    /* A stem: only the lines of one speaker sound (the others are muted,
     * so that each line sits exactly as in the full mix, and the track is
     * as long): solo set, speaker the name (NULL: the lines with none). */
    int solo;
    const char *speaker;
    int normalize;      /* loudness normalisation of the track */
    double target_lufs; /* with normalize; 0: the default (-16) */
} srv_render_opts;

/* o NULL: the whole mix, not normalised. */
kk_status srv_jobs_render_now(srv_jobs *j, srv_export *x, const srv_render_opts *o, kk_render_result *out,
                              kk_error *err);
/* The distinct speakers of a project's segments in timeline order of
 * first appearance, malloc'd copies (free each, then the array); a NULL
 * entry stands for the segments without one, when there are any. */
kk_status srv_jobs_speakers(srv_jobs *j, int64_t project, char ***out, size_t *n, kk_error *err);

/* A short sentence in a voice as a WAV file, rendered once (cancelled as
 * x is). KK_ERR_UNSUPPORTED for a voice the engine cannot speak in
 * (srv_voice_unsupported says why). */
kk_status srv_jobs_preview(srv_jobs *j, const char *voice, srv_export *x, char **wav, size_t *len, kk_error *err);

#endif
