/*
 * worker.h - render workers on Redis Streams: the client's job backend
 * (kk_redis_backend, handed to kk_render as kk_render_params.backend) and
 * the worker that serves it (kk_worker_run, `kokoro worker`).
 *
 * A render with this backend looks each segment up in its local cache,
 * then in Redis, and puts the misses on a stream (<prefix>jobs) as job
 * messages (backend.h: everything a worker needs, with the model's
 * identity). Workers read the stream in one consumer group, render each
 * job through their own cache, store every cache entry the job touched in
 * Redis (checksummed, with a TTL; Redis's maxmemory with the volatile-lru
 * policy is the size budget, docs/workers.md), acknowledge it, and post the
 * result on the client's reply stream. The client fetches the entries
 * through the same cache path a local render takes, so the track is the
 * same bit for bit. Delivery is at least once: a job is idempotent by its
 * key (a redelivered job whose result is stored is answered at once), and a
 * job held past the visibility time by a dead worker is claimed by another
 * (XAUTOCLAIM); live workers keep theirs fresh from a heartbeat thread.
 *
 * When Redis cannot be reached or no worker has a heartbeat, the backend
 * says so once (on_message) and gives the jobs back: kk_render renders
 * them locally. A worker with another model refuses a job (the client
 * renders it locally); a malformed job message goes to <prefix>dead with
 * the reason.
 *
 * Layer: src/worker calls src/render (the renderer, its cache and its
 * backend interface), src/tts and src/common, and hiredis; the CLI and the
 * server call it. The renderer never calls it except through backend.h.
 */
#ifndef KK_WORKER_H
#define KK_WORKER_H

#include <stdatomic.h>
#include <stddef.h>

#include "backend.h"
#include "kk_error.h"
#include "tts.h"

/* A message for people ("no render worker alive ...: rendering here"). */
typedef void (*kk_worker_message_fn)(void *user, const char *msg);

/* ---- the client: a job backend ---- */

typedef struct kk_redis_backend kk_redis_backend;

typedef struct kk_redis_backend_params {
    const char *url;       /* redis://host[:port][/db] */
    const char *prefix;    /* key prefix; default "kk:" */
    int timeout_ms;        /* connect and command timeout; default 2000 */
    int reconnect_s;       /* how long a render retries a lost connection before it renders the
                              rest here; default 10 */
    int lookup;            /* 1 (default): look segments up in Redis before queueing them; 0: queue
                              every miss (to measure the queue's overhead) */
    kk_worker_message_fn on_message;
    void *user;
} kk_redis_backend_params;

kk_redis_backend_params kk_redis_backend_default_params(void);

/* Checks the URL (KK_ERR_ARG) and makes the backend; it connects when
 * first used, so Redis need not be up yet. */
kk_status kk_redis_backend_open(const kk_redis_backend_params *p, kk_redis_backend **out, kk_error *err);
void kk_redis_backend_close(kk_redis_backend *b);

/* For kk_render_params.backend. */
kk_render_backend *kk_redis_backend_get(kk_redis_backend *b);

/* Workers with a live heartbeat; -1 when Redis cannot be reached. */
int kk_redis_backend_workers(kk_redis_backend *b);

typedef struct kk_redis_backend_stats {
    size_t sent;               /* job messages queued */
    size_t rendered, cached;   /* answered: rendered by a worker, or found done */
    size_t refused, failed;    /* answered so: rendered here */
    size_t given_back;         /* never answered (no worker, no Redis): rendered here */
    size_t fetched;            /* cache entries fetched from Redis */
    double latency_s;          /* sum over answered jobs of queue -> answer */
    size_t latency_n;
    double run_s;              /* wall time spent queueing and waiting, all renders */
} kk_redis_backend_stats;

kk_redis_backend_stats kk_redis_backend_stats_get(kk_redis_backend *b);

/* ---- the worker ---- */

typedef struct kk_worker_params {
    const char *url;
    const char *prefix;   /* default "kk:" */
    int workers;          /* jobs rendered at once, each on its own connection; default 1 */
    int threads;          /* engine threads per job; 0: the online cores / workers */
    int visibility_ms;    /* a job held this long without a heartbeat is another worker's; default 30000 */
    int heartbeat_ms;     /* default 1000; a worker is alive for 5 heartbeats */
    int ttl_s;            /* results kept in Redis; default 86400 */
    size_t max_entry_bytes; /* a larger cache entry is not stored (the job fails); default 64 MiB */
    const char *cache_dir;  /* the worker's own cache on disk; NULL: memory only */
    /* Set from a signal handler: 1 finish the current jobs and return; 2 stop
     * them now and release them to other workers. */
    atomic_int *stop;
    kk_worker_message_fn on_message;
    void *user;
} kk_worker_params;

kk_worker_params kk_worker_default_params(void);

typedef struct kk_worker_stats {
    size_t jobs, rendered, cached, refused, failed, dead;
    double audio_s, busy_s;
} kk_worker_stats;

/* Serves jobs until *stop. Redis going away is not an error: the worker
 * says so once and reconnects. KK_ERR_ARG for a bad URL or parameter. */
kk_status kk_worker_run(kk_tts *tts, const kk_worker_params *p, kk_worker_stats *stats, kk_error *err);

#endif
