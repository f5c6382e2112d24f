/*
 * server_openai.h - the OpenAI-compatible speech API (openai.c; docs/api.md,
 * "OpenAI-compatible API") and the server's metrics (metrics.c).
 *
 * openai.c answers /v1/audio/speech, /v1/audio/captioned_speech,
 * /v1/models, /v1/audio/voices and /v1/audio/models. Speech is made by its
 * own workers (srv_openai), streamed to the client chunk by chunk as the
 * engine hands sentences over: the connection is suspended while nothing
 * is ready and resumed by the worker, as the event streams do. One engine
 * turn at a time, taken in order (tickets), so that concurrent requests
 * share the engine a sentence each in turn, a request's first sentence
 * before the others' later ones; while any speech request is queued or
 * running the studio's background renders wait (srv_jobs_hold).
 * Identical requests are answered from the render cache.
 *
 * metrics.c counts requests, latencies, speech and the cache, and prints
 * them in Prometheus' text format (GET /metrics).
 *
 * Both are server files: they may call what api.c may (server_internal.h),
 * never http.c's internals.
 */
#ifndef KK_SERVER_OPENAI_H
#define KK_SERVER_OPENAI_H

#include <stddef.h>

#include "kk_error.h"

typedef struct kk_server kk_server;
typedef struct srv_request srv_request;
typedef struct srv_reply srv_reply;
typedef struct srv_openai srv_openai;
typedef struct srv_metrics srv_metrics;

/* ---- openai.c ---- */

/* Starts the speech workers (s->p.speech_workers of them). */
kk_status srv_openai_start(kk_server *s, srv_openai **out, kk_error *err);
/* Cancels queued and running speech, resumes their connections (which then
 * end) and joins the workers; call before the daemon stops. NULL: nothing. */
void srv_openai_stop(srv_openai *o);
/* After the daemon has stopped (every response is gone). */
void srv_openai_free(srv_openai *o);
/* Speech requests waiting for a worker, and being made now. */
void srv_openai_load(srv_openai *o, size_t *queued, size_t *active);

void oai_speech(srv_request *rq, srv_reply *rp);
void oai_captioned_speech(srv_request *rq, srv_reply *rp);
void oai_models(srv_request *rq, srv_reply *rp);
void oai_model(srv_request *rq, srv_reply *rp);
void oai_voices(srv_request *rq, srv_reply *rp);
void oai_audio_models(srv_request *rq, srv_reply *rp);

/* Rewrites an error reply ({"error": {"code", "message"}}, srv_reply_error's)
 * into OpenAI's shape, {"error": {"message", "type", "param", "code"}},
 * the type from the status (invalid_request_error, authentication_error,
 * not_found_error, rate_limit_error, server_error). Replies that are not
 * such an error are left alone. */
void oai_error_shape(srv_reply *rp);

/* ---- metrics.c ---- */

srv_metrics *srv_metrics_new(void); /* NULL when memory runs out */
void srv_metrics_free(srv_metrics *m);
/* One finished request: its route (a pattern of the routing table, or
 * "static", "none"; a string that lives as long as the server), method,
 * status and seconds from its first line to its last byte. */
void srv_metrics_request(srv_metrics *m, const char *route, const char *method, unsigned status, double seconds);
/* One speech request's end: seconds to its first audio (< 0: none made),
 * audio seconds made, synthesis seconds spent (0 for a cache hit). */
void srv_metrics_speech(srv_metrics *m, double first_audio_s, double audio_s, double synth_s, int cache_hit);
void api_metrics(srv_request *rq, srv_reply *rp);
/* The JSON the studio's activity panel reads (GET /api/activity). */
void api_activity(srv_request *rq, srv_reply *rp);

#endif
