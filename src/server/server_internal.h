/*
 * server_internal.h - what http.c and api.c share; not part of the public
 * interface (server.h).
 *
 *   http.c     the server core: the daemon, requests, routing, limits,
 *              security (Host, Origin, token), static files, slow
 *              requests, start and stop. May call everything below.
 *   api.c      the handlers of docs/api.md: checks what a client sends and
 *              answers it. May call the store, jobs, events, project.c and
 *              http.c's request and reply helpers (this header).
 *   jobs.c     background rendering and each project's audio in memory
 *              (server_jobs.h); sees only the srv_jobs_env it is handed.
 *   events.c   the per-project Server-Sent Event streams
 *              (server_events.h); sees nothing of the server.
 *   project.c  a project's rules and JSON views (server_project.h); a leaf.
 *   media.c    a project's video: the streamed upload, Range requests,
 *              the original's peaks, the dubbed video's export; calls
 *              what api.c may, and api.c's export (srv_reply_export).
 *   openai.c   the OpenAI-compatible speech API, its workers
 *              (server_openai.h); calls what api.c may.
 *   metrics.c  counters and GET /metrics (server_openai.h); a leaf but
 *              for its handlers.
 *   store.c    projects in SQLite (store.h); a leaf.
 * Calls go down that list, never up: jobs.c and events.c do not see
 * struct kk_server, and the hub's hello is a callback api.c gives it.
 *
 * Threads:
 *   - the caller's: kk_server_start and kk_server_stop;
 *   - libmicrohttpd's pool (http_threads): every request's handler, the
 *     event streams' readers and the hello callback;
 *   - the slow threads (slow_threads, http.c): handlers marked R_SLOW
 *     (uploads, exports, previews) while their connection is suspended;
 *   - one render thread (jobs.c), and kk_render's workers under it;
 *   - the event ticker (events.c): wakes streams due a ping.
 * Locks, in the order they may be taken (never the reverse):
 *   settings_lock (api.c)  ->  the store's own lock (store.c);
 *   the jobs lock (jobs.c) ->  the event hub's lock (events.c);
 *   the slow queue's lock (http.c) is taken alone.
 * No server lock is held while calling kk_render or the store, except
 * settings_lock around the user's settings; the hub's lock is held around
 * nothing but MHD suspend and resume, the cache keeps its own.
 */
#ifndef KK_SERVER_INTERNAL_H
#define KK_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "buf.h"
#include "cache.h"
#include "kk_error.h"
#include "render.h"
#include "server.h"
#include "server_events.h"
#include "server_jobs.h"
#include "server_openai.h"
#include "server_project.h"
#include "store.h"
#include "tts.h"
#include "voice.h"

typedef struct srv_slow srv_slow;

struct kk_server {
    kk_server_params p; /* its strings are NULL or the server's own copies (http.c) */
    char *host, *data_dir, *web_dir, *url;
    char *model, *voices_dir, *cache_dir; /* p.model etc. point here */
    char **allow_origins, **allow_hosts;
    size_t n_allow_origins, n_allow_hosts;
    char token[65];
    int need_token, wildcard; /* bound to a non-loopback / a wildcard address */
    int port;
    double t0;      /* start, monotonic seconds */
    double t0_wall; /* start, seconds since 1970 */
    atomic_int stopping;
    struct MHD_Daemon *daemon;
    kk_store *store;
    kk_tts *tts;
    kk_cache *cache;
    /* What runs (kk_tts_precision of p.precision, p.speech_precision):
     * the studio's renders, the OpenAI-compatible API */
    kk_precision precision, speech_precision;
    kk_voice_info *voices;
    size_t n_voices;
    srv_jobs *jobs;
    srv_events *events;
    srv_slow *slow;
    srv_openai *openai;   /* the OpenAI-compatible speech API (openai.c) */
    srv_metrics *metrics; /* GET /metrics (metrics.c) */
    pthread_mutex_t settings_lock; /* read-modify-write of the user's settings */
};

/* kk_server_start without the engine, for the HTTP fuzz harness
 * (fuzz/fuzz_http.c): no model is loaded (s->tts stays NULL) and p->voices_dir
 * (required) is listed for the voices, so every request but synthesis runs as
 * in the real server; a render fails at once (kk_render refuses a NULL model:
 * segments turn "error", exports and previews answer 400), nothing is
 * synthesised. */
kk_status srv_start_without_model(const kk_server_params *p, kk_server **out, kk_error *err);
/* The voices directory in use: the engine's, or p->voices_dir without one. */
const char *srv_voices_dir(const kk_server *s);

void srv_log(kk_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- requests and replies (http.c) ---- */

typedef struct srv_part {
    char *name, *filename; /* filename NULL for plain fields */
    kk_buf data;
} srv_part;

/* A body streamed to a file (R_STREAM routes, media.c). */
typedef struct srv_upload srv_upload;

typedef struct srv_request {
    kk_server *srv;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    int64_t id[2];   /* the path's numbers: project, then segment or index */
    char *name;      /* the path's name (a voice id), decoded */
    cJSON *json;     /* the parsed JSON body, NULL when none */
    srv_part *parts; /* multipart/form-data fields and files */
    size_t n_parts;
    srv_upload *upload; /* R_STREAM: the body, in a temporary file (http.c frees it) */
} srv_request;

#define SRV_MAX_HEADERS 6

typedef struct srv_reply {
    unsigned status;
    const char *type; /* Content-Type; NULL: none */
    char *body;       /* malloc'd */
    size_t len;
    int fd; /* a file to send instead of body (http.c closes it); -1: none */
    uint64_t fd_len;
    uint64_t fd_off; /* where in the file fd_len bytes start (a Range) */
    struct MHD_Response *raw; /* a ready response (an event stream) */
    char *headers[SRV_MAX_HEADERS][2];
    size_t n_headers;
} srv_reply;

typedef void (*srv_handler)(srv_request *rq, srv_reply *rp);

const char *srv_query(const srv_request *rq, const char *key);
const char *srv_header(const srv_request *rq, const char *name);
void srv_reply_header(srv_reply *rp, const char *name, const char *value);
void srv_reply_json(srv_reply *rp, unsigned status, cJSON *json); /* takes json */
/* Makes msg valid UTF-8 for a JSON answer, in place: when it is not (a
 * message quoting what the client sent), every byte >= 0x80 becomes '?'. */
void srv_message_utf8(char *msg);
void srv_reply_error(srv_reply *rp, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The status and code for a library error (not found 404, conflict 409,
 * argument or input 400, a full disk 507 "insufficient_storage", ...).
 * Reads errno too (a full disk an error set again later no longer
 * records): call it right after the call that failed. */
void srv_reply_status(srv_reply *rp, const kk_error *err);
/* srv_reply_status's status for err, and its code in *code (NULL: not
 * wanted). */
unsigned srv_error_status(const kk_error *err, const char **code);
/* 400 naming a field. */
#define srv_bad(rp, ...) srv_reply_error(rp, 400, "bad_request", __VA_ARGS__)

/* ---- the handlers (api.c) ---- */

void api_health(srv_request *rq, srv_reply *rp);
void api_voices(srv_request *rq, srv_reply *rp);
void api_voice_preview(srv_request *rq, srv_reply *rp); /* slow */
void api_settings_get(srv_request *rq, srv_reply *rp);
void api_settings_put(srv_request *rq, srv_reply *rp);
void api_projects_create(srv_request *rq, srv_reply *rp);
void api_projects_list(srv_request *rq, srv_reply *rp);
void api_project_get(srv_request *rq, srv_reply *rp);
void api_project_patch(srv_request *rq, srv_reply *rp);
void api_project_delete(srv_request *rq, srv_reply *rp);
void api_segments_list(srv_request *rq, srv_reply *rp);
void api_segment_patch(srv_request *rq, srv_reply *rp);
void api_segments_op(srv_request *rq, srv_reply *rp);
void api_segment_delete(srv_request *rq, srv_reply *rp);
void api_undo(srv_request *rq, srv_reply *rp);
void api_redo(srv_request *rq, srv_reply *rp);
void api_playhead(srv_request *rq, srv_reply *rp);
void api_segment_audio(srv_request *rq, srv_reply *rp);
void api_events(srv_request *rq, srv_reply *rp);
void api_track(srv_request *rq, srv_reply *rp);     /* slow */
void api_stems(srv_request *rq, srv_reply *rp);
void api_subtitles(srv_request *rq, srv_reply *rp); /* slow */
void api_source(srv_request *rq, srv_reply *rp);

/* a project's video (media.c) */
void api_video_put(srv_request *rq, srv_reply *rp);    /* slow; the body streamed (R_STREAM) */
void api_video_get(srv_request *rq, srv_reply *rp);    /* Range requests */
void api_video_delete(srv_request *rq, srv_reply *rp);
void api_video_info(srv_request *rq, srv_reply *rp);
void api_video_peaks(srv_request *rq, srv_reply *rp);  /* slow */
void api_video_export(srv_request *rq, srv_reply *rp); /* slow */

/* ---- streamed uploads (media.c; http.c drives them) ---- */

/* The first call of an R_STREAM request: checks the project exists and
 * opens a temporary file for the body in the data directory's tmp/
 * (locked while it is written, so srv_export_sweep of another server
 * leaves it, and removed by one that starts after a crash). 1: go on,
 * *out set; 0: a reply was set (404, 507, 500). */
int srv_upload_begin(srv_request *rq, srv_upload **out, srv_reply *rp);
/* Appends n bytes; 0, or -1 once a write has failed (the upload then
 * drops the rest and srv_upload_failed answers). */
int srv_upload_write(srv_upload *u, const void *data, size_t n);
/* The uploaded file's name and type as the client gave them (a form's
 * file part); copied, cut to a sane length. */
void srv_upload_name(srv_upload *u, const char *filename, const char *type);
/* Whether a write failed; with rp, its reply is set (507 for a full
 * disk, else 500). */
int srv_upload_failed(const srv_upload *u, srv_reply *rp);
/* Closes and removes the temporary file unless a handler took it. */
void srv_upload_free(srv_upload *u);
/* At start: removes files in the data directory's videos/ that no project
 * refers to; logs what it did. */
void srv_media_sweep(kk_server *s);
/* The file of project's video, for removing it after the project is
 * deleted (malloc'd; NULL: none). */
char *srv_video_file(kk_server *s, int64_t project);
/* Removes a video file (a name from the store) and what was derived
 * from it (its peaks); frees name. */
void srv_video_remove(kk_server *s, char *name);

/* ---- exports (api.c) ---- */

/* Writes a rendered project to path (how: the export's own parameters;
 * x: its progress and whether to stop). */
typedef kk_status (*srv_export_fn)(const kk_render_result *r, const char *path, const void *how, srv_export *x,
                                   kk_error *err);
/* An export's reply: the project rendered (what is missing first), written
 * by fn to a file in the data directory's tmp/, sent as an attachment
 * NAME.ext of type; kind and format name it in its "export" events. */
void srv_reply_export(srv_request *rq, srv_reply *rp, const char *kind, const char *format, const char *ext,
                      const char *type, srv_export_fn fn, const void *how);

/* The first event of a project's stream, {"version", "render"}: the
 * event hub's hello callback (srv_hello_fn; user is the kk_server). */
char *api_hello_json(void *server, int64_t project);

/* ---- JSON helpers (api.c) ---- */

/* Checks that text (len bytes) is UTF-8 and nests at most max_depth deep
 * before cJSON sees it; 0 when fine, else -1 with a message in err. */
int srv_json_precheck(const char *text, size_t len, int max_depth, kk_error *err);

#endif
