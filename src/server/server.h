/*
 * server.h - the studio server (`kokoro serve`): the web studio's files and
 * the JSON API of docs/api.md over HTTP/1.1 (and an OpenAI-compatible
 * speech API under /v1/, GET /metrics), projects kept in SQLite
 * (store.h), segments rendered in the background through the render cache,
 * progress pushed to the browser as Server-Sent Events.
 *
 * One kk_server owns everything it runs on: the HTTP daemon and its thread
 * pool, the database, the loaded model, the cache, the render thread. Start
 * it, then stop it (which finishes in-flight requests, cancels renders,
 * ends event streams and closes the database). The caller decides when to
 * stop (the CLI waits for SIGINT or SIGTERM); the server never exits the
 * process and installs no signal handlers.
 *
 * Layer: src/server may call src/render, src/tts, src/audio, src/parsers,
 * src/g2p (voice support) and src/common; only the CLI (kokoro serve)
 * calls it.
 */
#ifndef KK_SERVER_H
#define KK_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "kk_error.h"
#include "kk_forward.h" /* kk_precision */

typedef struct kk_server kk_server;

/* A line for the operator (start-up notes, warnings, the access log). */
typedef void (*kk_server_log_fn)(void *user, const char *line);

typedef struct kk_server_params {
    const char *host;     /* address to listen on; default "127.0.0.1". Anything but
                             a loopback address turns the token on */
    int port;             /* 0: any free port (kk_server_port says which) */
    const char *data_dir; /* the database (studio.db) lives here; NULL:
                             kk_server_default_data_dir() */
    const char *model;    /* kk_tts_params.model; NULL: kk_tts_find_model() */
    const char *voices_dir;
    const char *cache_dir; /* NULL: kk_cache_default_dir() */
    int no_cache;          /* render without the disk cache (memory only) */
    const char *web_dir;   /* the web studio's built files; NULL: $KOKORO_WEB_DIR,
                              then <source tree>/web/dist, then <prefix>/share/kokoro/web */
    /* Limits (docs/api.md, Conventions); 0 takes the default in brackets. */
    size_t max_upload_bytes;          /* one uploaded file [50 MB] */
    size_t max_video_bytes;           /* a project's video, streamed to disk [16 GiB] */
    size_t max_body_bytes;            /* a JSON body [1 MB] */
    int max_json_depth;               /* [32] */
    size_t max_segments;              /* a project [20,000] */
    size_t max_text_bytes;            /* one segment's text [10,000] */
    int http_threads;                 /* the HTTP thread pool [8] */
    int slow_threads;                 /* threads for exports and previews [2] */
    int render_workers;               /* kk_render_params.workers [0: one per CPU] */
    size_t max_connections;           /* open connections in all [256]; past it new ones wait
                                         in the kernel's backlog until one closes */
    size_t max_client_connections;    /* open connections from one client address [64]; more
                                         are closed as soon as they are accepted */
    int idle_timeout_s;               /* seconds of silence allowed on a connection with no
                                         request in hand: before its first header is complete,
                                         between requests, while a reply is written [5] */
    int request_timeout_s;            /* seconds of silence allowed from a request's header to
                                         its reply (a body that comes slowly, a handler at
                                         work) [30]. Event streams and slow requests wait
                                         suspended, and no timeout runs while suspended */
    const char *token;                /* NULL: a random one when the token is on */
    int require_token;                /* 1: even on loopback */
    const char *const *allow_origins; /* more origins allowed to change things
                                         ("http://localhost:5173"), NULL-terminated */
    const char *const *allow_hosts;   /* more Host names accepted, NULL-terminated */
    size_t memory_bytes;              /* segments' audio kept in memory, all projects [256 MiB];
                                         past it the least recently used is dropped and read
                                         back from the render cache when asked for */
    int log_requests;                 /* one log line per request, when it ends */
    /* Where renders' cache misses go (render workers, src/worker): NULL,
     * here. backend_workers (may be NULL) says how many workers are alive,
     * -1 when unreachable, for /api/health. */
    kk_render_backend *render_backend;
    int (*backend_workers)(void *user);
    void *backend_user;
    /* The OpenAI-compatible speech API (docs/api.md). */
    size_t max_speech_chars;          /* input of /v1/audio/speech, in characters [4,096] */
    int speech_workers;               /* speech requests made at once, sharing the engine a
                                         sentence each in turn [16] */
    size_t speech_queue;              /* speech requests waiting for a worker; past it 429 [64] */
    /* The engine's arithmetic (kk_synth_params.precision). precision: the
     * studio's renders, exports and previews [exact, the reference audio];
     * speech_precision: the OpenAI-compatible API [fast, where the CPU has
     * AMX-BF16: what its clients want is speed]. Where the CPU cannot run
     * the fast mode both fall back to exact, with one line in the log at
     * start. The render cache keys name the precision that runs. */
    kk_precision precision;
    kk_precision speech_precision;
    kk_server_log_fn log;
    void *log_user;
} kk_server_params;

kk_server_params kk_server_default_params(void);

/* $KOKORO_DATA_DIR, else $XDG_DATA_HOME/kokoro/studio, else
 * ~/.local/share/kokoro/studio. */
kk_status kk_server_default_data_dir(char *dst, size_t size, kk_error *err);

/* Loads the model, opens the database and the cache, and starts listening.
 * Errors name what failed (a port in use, a database from a newer version,
 * no model). */
kk_status kk_server_start(const kk_server_params *p, kk_server **out, kk_error *err);

int kk_server_port(const kk_server *s);
/* The address to open in a browser ("http://127.0.0.1:8080/", with
 * "?token=..." when the token is on). */
const char *kk_server_url(const kk_server *s);
/* NULL when no token is needed. */
const char *kk_server_token(const kk_server *s);
/* The web studio's directory in use; NULL when none was found (the API
 * still works, / says how to build the studio). */
const char *kk_server_web_dir(const kk_server *s);

/* Stops accepting, cancels renders, ends event streams, waits for the
 * requests in flight, closes the database and frees s. */
void kk_server_stop(kk_server *s);

#endif
