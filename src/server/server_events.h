/*
 * server_events.h - the event hub (events.c): per-project Server-Sent Event
 * streams, fed by whoever publishes (jobs.c, api.c).
 *
 * May call: libmicrohttpd (its responses, suspend and resume), buf.h, the
 * clock (kk_time.h) and the hello callback it was given. Nothing else of
 * the server: what a stream's first event says is the caller's business.
 */
#ifndef KK_SERVER_EVENTS_H
#define KK_SERVER_EVENTS_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "kk_error.h"

typedef struct srv_events srv_events;

/* The first event of a stream (and of one that fell behind): the project's
 * state now, as malloc'd JSON text; NULL when the project is gone (the
 * stream ends). Called on an HTTP thread without the hub's lock held, so it
 * may take any other lock. */
typedef char *(*srv_hello_fn)(void *user, int64_t project);

kk_status srv_events_start(srv_hello_fn hello, void *hello_user, srv_events **out, kk_error *err);
/* Ends every stream (server shutdown); new ones are refused. */
void srv_events_close_all(srv_events *e);
/* After the daemon has stopped (no stream is open any more). */
void srv_events_free(srv_events *e);
/* Queues an event for the project's streams; data is JSON text. Nothing is
 * kept when nobody listens. */
void srv_events_publish(srv_events *e, int64_t project, const char *event, const char *data);
/* Publishes json (printed unformatted) and deletes it. */
void srv_events_publish_json(srv_events *e, int64_t project, const char *event, cJSON *json);
int srv_events_listening(srv_events *e, int64_t project);
/* Ends the project's streams (it was deleted). */
void srv_events_end_project(srv_events *e, int64_t project);
/* A response streaming the project's events to this connection (the
 * daemon must allow suspend and resume). */
struct MHD_Response *srv_events_stream(srv_events *e, struct MHD_Connection *conn, int64_t project, kk_error *err);

#endif
