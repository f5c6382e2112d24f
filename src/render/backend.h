/*
 * backend.h - where the renderer's cache misses are rendered: the job
 * backend interface, and the job a backend carries.
 *
 * kk_render renders its misses on its own thread pool (the "local"
 * backend, the default: kk_render_params.backend NULL). A job backend
 * (src/worker/backend_redis.c: workers on Redis Streams) takes them
 * elsewhere. The renderer sees only this interface:
 *
 *   - fetch: a second cache tier behind the local cache (the pass that
 *     looks every segment up asks the local cache, then the backend; a hit
 *     lands in the local cache too);
 *   - run: renders a batch of jobs somewhere else and says, per job, when
 *     its results can be fetched. Jobs it does not finish (no worker
 *     alive, the backend unreachable, a worker that refused) the renderer
 *     renders locally, so nothing is lost and the track is the same.
 *
 * A job is one segment's whole render (kk_render_job): what a worker
 * needs to make exactly the cache entries the client's renderer would
 * have made. The worker side is kk_render_job_run (render.h).
 *
 * Layer: part of src/render; the backend implementations live above it
 * and are handed in by the caller. render.c never calls a backend except
 * through these function pointers.
 */
#ifndef KK_RENDER_BACKEND_H
#define KK_RENDER_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "kk_error.h"
#include "kk_forward.h" /* kk_precision */

/* The fit's parameters that change a segment's audio (where it is placed
 * is the client's business). */
typedef struct kk_render_job_fit {
    int enabled;
    float max_speed;
    double max_stretch;
} kk_render_job_fit;

/* One segment to render, as it travels. Strings are borrowed. */
typedef struct kk_render_job {
    const char *identity;   /* kk_tts_identity_for(precision) of the client's model (weights' hash,
                               engine version, "-fast" for the fast mode) */
    kk_precision precision; /* what the client's render runs at (kk_tts_precision): a worker
                               that would run otherwise refuses the job */
    int render_version;     /* the renderer's RENDER_VERSION */
    const char *voices_key; /* the client's voices directory, as cache key material */
    const char *text;
    const char *voice; /* a voice or a blend */
    const char *lang;  /* NULL: from the voice */
    const char *phonemes; /* the client's kk_tts_script_phonemes for text: a worker whose
                             phonemizer says otherwise refuses the job */
    float speed;
    double pitch;
    kk_render_job_fit fit;
    int64_t cue_ms; /* the cue's length; -1: untimed */
} kk_render_job;

/* The job's identity: equal keys, equal results (idempotence). */
kk_cache_key kk_render_job_key(const kk_render_job *job);

/* How a job ended on a backend. */
typedef enum kk_backend_outcome {
    KK_BACKEND_RENDERED = 0, /* a worker rendered it: its results can be fetched */
    KK_BACKEND_CACHED,       /* its results were there already */
    KK_BACKEND_REFUSED,      /* a worker refused it (another model): render it locally */
    KK_BACKEND_FAILED,       /* a worker could not render it (the reason says why) */
} kk_backend_outcome;

/* Called by run, on the calling thread, once per job as it ends (index
 * into the batch). reason: NULL unless refused or failed. */
typedef void (*kk_backend_done_fn)(void *user, size_t index, kk_backend_outcome outcome, const char *reason);
typedef int (*kk_backend_abort_fn)(void *user);

typedef struct kk_render_backend kk_render_backend;

typedef struct kk_render_backend_ops {
    /* The backend's copy of a cache entry: 1 on a hit (*blob malloc'd, the
     * caller frees), 0 on a miss or when the backend cannot be reached (it
     * says so itself, once). Safe from several threads at once. */
    int (*fetch)(kk_render_backend *b, const kk_cache_key *key, void **blob, size_t *len);
    /* Renders n jobs elsewhere: returns when every job has ended (done
     * called for it) or the backend gave up on the rest (no worker alive,
     * unreachable: it says so itself, once) or abort said stop. The jobs
     * it did not end are the caller's to render. KK_OK unless the caller
     * must hear of an error (out of memory). */
    kk_status (*run)(kk_render_backend *b, const kk_render_job *jobs, size_t n, kk_backend_done_fn done,
                     kk_backend_abort_fn abort, void *user, kk_error *err);
} kk_render_backend_ops;

/* Implementations embed this first. */
struct kk_render_backend {
    const kk_render_backend_ops *ops;
};

#endif
