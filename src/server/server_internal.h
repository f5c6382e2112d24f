/*
 * server_internal.h - what the server's files share; not part of the public
 * interface (server.h).
 *
 *   http.c   the server core: the daemon, requests, routing, limits,
 *            security (Host, Origin, token), static files, slow requests;
 *   api.c    the handlers of docs/api.md and the JSON they speak;
 *   jobs.c   background rendering and each project's audio in memory;
 *   events.c the per-project Server-Sent Event streams.
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
#include "store.h"
#include "tts.h"
#include "voice.h"

typedef struct srv_jobs srv_jobs;
typedef struct srv_events srv_events;
typedef struct srv_slow srv_slow;

struct kk_server {
    kk_server_params p; /* strings below are the server's own copies */
    char *host, *data_dir, *web_dir, *url;
    char **allow_origins, **allow_hosts;
    size_t n_allow_origins, n_allow_hosts;
    char token[65];
    int need_token, wildcard; /* bound to a non-loopback / a wildcard address */
    int port;
    double t0; /* start, monotonic seconds */
    atomic_int stopping;
    struct MHD_Daemon *daemon;
    kk_store *store;
    kk_tts *tts;
    kk_cache *cache;
    kk_voice_info *voices;
    size_t n_voices;
    srv_jobs *jobs;
    srv_events *events;
    srv_slow *slow;
    pthread_mutex_t settings_lock; /* read-modify-write of the user's settings */
};

double srv_now(void); /* monotonic seconds */
void srv_log(kk_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- requests and replies (http.c) ---- */

typedef struct srv_part {
    char *name, *filename; /* filename NULL for plain fields */
    kk_buf data;
} srv_part;

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
} srv_request;

#define SRV_MAX_HEADERS 6

typedef struct srv_reply {
    unsigned status;
    const char *type; /* Content-Type; NULL: none */
    char *body;       /* malloc'd */
    size_t len;
    int fd; /* a file to send instead of body (http.c closes it); -1: none */
    uint64_t fd_len;
    struct MHD_Response *raw; /* a ready response (an event stream) */
    char *headers[SRV_MAX_HEADERS][2];
    size_t n_headers;
} srv_reply;

typedef void (*srv_handler)(srv_request *rq, srv_reply *rp);

const char *srv_query(const srv_request *rq, const char *key);
const char *srv_header(const srv_request *rq, const char *name);
void srv_reply_header(srv_reply *rp, const char *name, const char *value);
void srv_reply_json(srv_reply *rp, unsigned status, cJSON *json); /* takes json */
void srv_reply_error(srv_reply *rp, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The status and code for a library error (not found 404, conflict 409,
 * argument or input 400, ...). */
void srv_reply_status(srv_reply *rp, const kk_error *err);
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
void api_subtitles(srv_request *rq, srv_reply *rp); /* slow */
void api_source(srv_request *rq, srv_reply *rp);

/* The first event of a stream: {"version", "render"}; malloc'd JSON text,
 * NULL when the project is gone. */
char *api_hello_json(kk_server *s, int64_t project);

/* ---- a project's settings (api.c) ---- */

typedef enum { SRV_FIT_OVERLAP = 0, SRV_FIT_TRUNCATE, SRV_FIT_NONE } srv_fit;

typedef struct srv_settings {
    char voice[256];
    double speed, pitch;
    srv_fit fit;
    int64_t gap_ms;
} srv_settings;

/* Parses a stored settings object (missing keys take the defaults). */
void srv_settings_parse(const char *json, srv_settings *out);
/* A voice we have ("af_heart"), or a blend of them ("af_heart:0.7,am_adam:0.3"). */
int srv_voice_known(const kk_server *s, const char *spec);

/* ---- background rendering (jobs.c) ---- */

kk_status srv_jobs_start(kk_server *s, srv_jobs **out, kk_error *err);
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

/* What the server knows about one segment's audio. */
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

/* Fills views[i] for segs[i] (the store's, current) and *rv. */
void srv_jobs_view(srv_jobs *j, int64_t project, const srv_settings *st, const kk_store_segment *segs, size_t n,
                   srv_seg_view *views, srv_render_view *rv);
void srv_seg_view_free(srv_seg_view *v);
/* A Segment's "rendered" object (api.c); text: the segment's, for the words. */
cJSON *api_rendered_json(const srv_seg_view *v, const char *text);

/* A segment's audio as a WAV file (24 kHz mono 16-bit), malloc'd.
 * KK_ERR_CONFLICT (with *status set) while it is not rendered for its
 * current content. */
kk_status srv_jobs_segment_wav(srv_jobs *j, int64_t project, const srv_settings *st, const kk_store_segment *seg,
                               char **wav, size_t *len, char version[17], const char **status, kk_error *err);

/* Renders the whole project now through the cache (what is rendered comes
 * from it at once), in the calling thread. */
kk_status srv_jobs_render_now(srv_jobs *j, int64_t project, kk_render_result *out, kk_error *err);

/* A short sentence in a voice as a WAV file, rendered once. */
kk_status srv_jobs_preview(srv_jobs *j, const char *voice, char **wav, size_t *len, kk_error *err);

/* 16-bit PCM WAV from float samples, malloc'd. */
char *srv_wav_from_float(const float *x, size_t n, size_t *len);

/* ---- event streams (events.c) ---- */

kk_status srv_events_start(kk_server *s, srv_events **out, kk_error *err);
/* Ends every stream (server shutdown); new ones are refused. */
void srv_events_close_all(srv_events *e);
void srv_events_free(srv_events *e);
/* Queues an event for the project's streams; data is JSON text. */
void srv_events_publish(srv_events *e, int64_t project, const char *event, const char *data);
/* Publishes json (printed unformatted) and deletes it. */
void srv_events_publish_json(srv_events *e, int64_t project, const char *event, cJSON *json);
int srv_events_listening(srv_events *e, int64_t project);
/* Ends the project's streams (it was deleted). */
void srv_events_end_project(srv_events *e, int64_t project);
/* A response streaming the project's events to this connection. */
struct MHD_Response *srv_events_stream(srv_events *e, struct MHD_Connection *conn, int64_t project, kk_error *err);

/* ---- JSON helpers (api.c) ---- */

/* Checks that text (len bytes) is UTF-8 and nests at most max_depth deep
 * before cJSON sees it; 0 when fine, else -1 with a message in err. */
int srv_json_precheck(const char *text, size_t len, int max_depth, kk_error *err);
int srv_utf8_valid(const char *s, size_t n);

#endif
