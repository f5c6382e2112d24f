/*
 * events.c - Server-Sent Events: one channel per project that someone
 * listens to, holding a bounded ring of recent events; each open stream is
 * a cursor into its channel's ring.
 *
 * A stream never holds a pool thread while it waits: when it has nothing
 * to send, its content reader suspends the connection (under the lock, so
 * that a publish cannot slip between the check and the suspend) and a
 * publish, the ping ticker or the server's stop resumes it. A stream that
 * falls so far behind that the ring has dropped events it has not sent
 * gets a fresh `hello` (the client refetches) instead of a gap.
 *
 * What a hello says is not this file's: the callback given at the start
 * (api.c's) writes it. The hub calls nothing else of the server, so that
 * jobs.c and api.c may publish from anywhere except under the hub's lock.
 * One lock guards the channels and their streams; MHD suspend and resume
 * are called under it, the hello callback never.
 */
#include "server_events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "kk_time.h"

#define RING 512      /* events kept per channel */
#define PING_S 15.0   /* a comment line this often keeps proxies from closing the stream */
#define RETRY_MS 2000 /* the browser's reconnection delay */

typedef struct ev {
    char *text; /* "event: NAME\ndata: JSON\n\n" */
    size_t len;
} ev;

typedef struct stream stream;
typedef struct channel channel;

struct channel {
    int64_t project;
    ev ring[RING];
    uint64_t next_seq; /* the ring holds seq [next_seq - count, next_seq) */
    size_t count;
    int ended; /* the project was deleted */
    stream *streams;
    channel *next;
};

struct stream {
    srv_events *e;
    channel *ch;
    struct MHD_Connection *conn;
    uint64_t cursor;
    int suspended, need_hello;
    kk_buf out; /* bytes not yet handed to MHD, from out_pos */
    size_t out_pos;
    double last_write;
    stream *next;
};

struct srv_events {
    srv_hello_fn hello;
    void *hello_user;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    channel *channels;
    int closing;
    pthread_t ticker;
    int ticker_started;
};

static channel *find(srv_events *e, int64_t project)
{
    for (channel *c = e->channels; c; c = c->next)
        if (c->project == project && !c->ended)
            return c;
    return NULL;
}

static void wake(stream *st)
{
    if (st->suspended) {
        st->suspended = 0;
        MHD_resume_connection(st->conn);
    }
}

static void channel_free(channel *c)
{
    for (size_t i = 0; i < RING; i++)
        free(c->ring[i].text);
    free(c);
}

/* Every second: resume streams that are due a ping. */
static void *ticker_main(void *arg)
{
    srv_events *e = arg;
    pthread_mutex_lock(&e->lock);
    while (!e->closing) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_sec += 1;
        pthread_cond_timedwait(&e->cond, &e->lock, &t);
        double now = kk_now_s();
        for (channel *c = e->channels; c; c = c->next)
            for (stream *st = c->streams; st; st = st->next)
                if (st->suspended && now - st->last_write >= PING_S)
                    wake(st);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

kk_status srv_events_start(srv_hello_fn hello, void *hello_user, srv_events **out, kk_error *err)
{
    srv_events *e = calloc(1, sizeof *e);
    if (!e)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    e->hello = hello;
    e->hello_user = hello_user;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->cond, NULL);
    if (pthread_create(&e->ticker, NULL, ticker_main, e)) {
        srv_events_free(e);
        return kk_error_set(err, KK_ERR_IO, "cannot start the event ticker thread");
    }
    e->ticker_started = 1;
    *out = e;
    return KK_OK;
}

void srv_events_close_all(srv_events *e)
{
    pthread_mutex_lock(&e->lock);
    e->closing = 1;
    for (channel *c = e->channels; c; c = c->next)
        for (stream *st = c->streams; st; st = st->next)
            wake(st);
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
}

void srv_events_free(srv_events *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->lock);
    e->closing = 1;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
    if (e->ticker_started)
        pthread_join(e->ticker, NULL);
    /* The daemon has stopped: every stream's response is gone, so are the
     * channels' streams. */
    for (channel *c = e->channels, *n; c; c = n) {
        n = c->next;
        channel_free(c);
    }
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->cond);
    free(e);
}

void srv_events_publish(srv_events *e, int64_t project, const char *event, const char *data)
{
    pthread_mutex_lock(&e->lock);
    channel *c = find(e, project);
    if (!c || !c->streams) { /* nobody listens: nothing to keep */
        pthread_mutex_unlock(&e->lock);
        return;
    }
    kk_buf b = {0};
    if (kk_buf_printf(&b, "event: %s\ndata: %s\n\n", event, data)) {
        kk_buf_free(&b);
        pthread_mutex_unlock(&e->lock);
        return;
    }
    ev *slot = &c->ring[c->next_seq % RING];
    free(slot->text);
    slot->len = b.len;
    slot->text = kk_buf_steal(&b);
    c->next_seq++;
    if (c->count < RING)
        c->count++;
    for (stream *st = c->streams; st; st = st->next)
        wake(st);
    pthread_mutex_unlock(&e->lock);
}

void srv_events_publish_json(srv_events *e, int64_t project, const char *event, cJSON *json)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (text)
        srv_events_publish(e, project, event, text);
    free(text);
}

int srv_events_listening(srv_events *e, int64_t project)
{
    pthread_mutex_lock(&e->lock);
    channel *c = find(e, project);
    int yes = c && c->streams;
    pthread_mutex_unlock(&e->lock);
    return yes;
}

void srv_events_end_project(srv_events *e, int64_t project)
{
    pthread_mutex_lock(&e->lock);
    channel *c = find(e, project);
    if (c) {
        c->ended = 1;
        for (stream *st = c->streams; st; st = st->next)
            wake(st);
    }
    pthread_mutex_unlock(&e->lock);
}

/* Copies pending bytes out; 0 when there are none. */
static size_t drain(stream *st, char *buf, size_t max)
{
    size_t n = st->out.len - st->out_pos;
    if (n > max)
        n = max;
    memcpy(buf, st->out.data + st->out_pos, n);
    st->out_pos += n;
    if (st->out_pos == st->out.len) {
        kk_buf_clear(&st->out);
        st->out_pos = 0;
    }
    if (n)
        st->last_write = kk_now_s();
    return n;
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream *st = cls;
    srv_events *e = st->e;
    pthread_mutex_lock(&e->lock);
    for (;;) {
        if (st->out.len > st->out_pos) {
            size_t n = drain(st, buf, max);
            pthread_mutex_unlock(&e->lock);
            return (ssize_t)n;
        }
        channel *c = st->ch;
        if (e->closing || c->ended) {
            pthread_mutex_unlock(&e->lock);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (st->need_hello || c->next_seq - st->cursor > c->count) {
            /* First, or fallen behind: the state now. Events after this
             * cursor follow it; some may repeat what the hello says. */
            st->need_hello = 0;
            st->cursor = c->next_seq;
            int64_t project = c->project;
            pthread_mutex_unlock(&e->lock);
            char *hello = e->hello(e->hello_user, project);
            pthread_mutex_lock(&e->lock);
            if (!hello) { /* the project is gone */
                pthread_mutex_unlock(&e->lock);
                return MHD_CONTENT_READER_END_OF_STREAM;
            }
            int bad = kk_buf_printf(&st->out, "event: hello\ndata: %s\n\n", hello);
            free(hello);
            if (bad) {
                pthread_mutex_unlock(&e->lock);
                return MHD_CONTENT_READER_END_WITH_ERROR;
            }
            continue;
        }
        if (st->cursor < c->next_seq) {
            /* A batch of events, bounded so one write stays small. */
            while (st->cursor < c->next_seq && st->out.len < 64 * 1024) {
                const ev *v = &c->ring[st->cursor % RING];
                if (kk_buf_append(&st->out, v->text, v->len)) {
                    pthread_mutex_unlock(&e->lock);
                    return MHD_CONTENT_READER_END_WITH_ERROR;
                }
                st->cursor++;
            }
            continue;
        }
        if (kk_now_s() - st->last_write >= PING_S) {
            if (kk_buf_puts(&st->out, ": ping\n\n")) {
                pthread_mutex_unlock(&e->lock);
                return MHD_CONTENT_READER_END_WITH_ERROR;
            }
            continue;
        }
        /* Nothing to send: wait, off the thread pool. */
        st->suspended = 1;
        MHD_suspend_connection(st->conn);
        pthread_mutex_unlock(&e->lock);
        return 0;
    }
}

static void stream_free(void *cls)
{
    stream *st = cls;
    srv_events *e = st->e;
    pthread_mutex_lock(&e->lock);
    channel *c = st->ch;
    for (stream **pp = &c->streams; *pp; pp = &(*pp)->next)
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    if (!c->streams) { /* the last listener left: drop the channel */
        for (channel **pp = &e->channels; *pp; pp = &(*pp)->next)
            if (*pp == c) {
                *pp = c->next;
                break;
            }
        channel_free(c);
    }
    pthread_mutex_unlock(&e->lock);
    kk_buf_free(&st->out);
    free(st);
}

struct MHD_Response *srv_events_stream(srv_events *e, struct MHD_Connection *conn, int64_t project, kk_error *err)
{
    stream *st = calloc(1, sizeof *st);
    if (!st) {
        kk_error_set(err, KK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    st->e = e;
    st->conn = conn;
    st->need_hello = 1;
    st->last_write = kk_now_s();
    if (kk_buf_printf(&st->out, "retry: %d\n\n", RETRY_MS)) {
        free(st);
        kk_error_set(err, KK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_lock(&e->lock);
    channel *c = e->closing ? NULL : find(e, project);
    if (!c && !e->closing && (c = calloc(1, sizeof *c))) {
        c->project = project;
        c->next = e->channels;
        e->channels = c;
    }
    if (!c) {
        pthread_mutex_unlock(&e->lock);
        kk_buf_free(&st->out);
        free(st);
        kk_error_set(err, e->closing ? KK_ERR_ABORTED : KK_ERR_NOMEM,
                     e->closing ? "the server is stopping" : "out of memory");
        return NULL;
    }
    st->ch = c;
    st->next = c->streams;
    c->streams = st;
    pthread_mutex_unlock(&e->lock);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, reader, st, stream_free);
    if (!r) {
        stream_free(st);
        kk_error_set(err, KK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    return r;
}
