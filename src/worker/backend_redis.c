/*
 * backend_redis.c - see worker.h: the client side, a kk_render_backend on
 * Redis Streams. Owns the job messages a render queues, the wait for
 * their answers on the render's own reply stream, the fall-back (Redis
 * gone, no worker alive: the rest is given back to the renderer, said
 * once), and the second cache tier (fetch: a checksummed entry read from
 * Redis).
 *
 * Each run (one render's misses) has its own connection and reply stream,
 * so that renders on several threads (the server's) do not meet; fetch
 * shares one connection under a lock.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kk_time.h"
#include "worker.h"
#include "worker_internal.h"

/* How long a render waits when its workers' heartbeats are all gone before
 * it renders the rest itself (a heartbeat lives 5 s). */
#define NO_WORKER_GRACE_S 5.0

struct kk_redis_backend {
    kk_render_backend base; /* first: kk_render sees this */
    kk_redis_backend_params p;
    kk_redis_url url;
    char url_text[512], prefix[64], client[128];
    atomic_uint runs;
    atomic_int fetch_on; /* 0 until the first run when p.lookup is 0 */
    pthread_mutex_t lock; /* fetch's connection, the stats */
    redisContext *fetch_c;
    double fetch_retry_at; /* kk_now_s(): no connect attempt before */
    kk_redis_backend_stats stats;
};

kk_redis_backend_params kk_redis_backend_default_params(void)
{
    return (kk_redis_backend_params){.prefix = "kk:", .timeout_ms = 2000, .reconnect_s = 10, .lookup = 1};
}

static void say(kk_redis_backend *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(kk_redis_backend *b, const char *fmt, ...)
{
    if (!b->p.on_message)
        return;
    char msg[KK_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    b->p.on_message(b->p.user, msg);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- fetch: the second cache tier ---- */

static int fetch(kk_render_backend *base, const kk_cache_key *key, void **blob, size_t *len)
{
    kk_redis_backend *b = (kk_redis_backend *)base;
    if (!atomic_load(&b->fetch_on))
        return 0;
    char hex[33], name[KK_REDIS_NAME_MAX];
    kk_cache_key_hex(key, hex);
    kk_error e;
    if (kk_redis_name(name, sizeof name, b->prefix, "blob:", hex, &e) != KK_OK)
        return 0;
    int hit = 0;
    pthread_mutex_lock(&b->lock);
    if (!b->fetch_c && kk_now_s() >= b->fetch_retry_at &&
        kk_redis_connect(&b->url, b->p.timeout_ms, &b->fetch_c, &e) != KK_OK) {
        /* run says it, once, for the render; a lookup that cannot be made
         * is a miss */
        b->fetch_retry_at = kk_now_s() + 2.0;
    }
    int broken = 0;
    redisReply *r = b->fetch_c ? kk_redis_cmd(b->fetch_c, &broken, &e, "GET %s", name) : NULL;
    if (broken && b->fetch_c) {
        redisFree(b->fetch_c);
        b->fetch_c = NULL;
        b->fetch_retry_at = kk_now_s() + 0.5;
    }
    if (r && r->type == REDIS_REPLY_STRING) {
        if (kk_wire_blob_unwrap(r->str, r->len, blob, len) == 0) {
            hit = 1;
            b->stats.fetched++;
        } else {
            say(b, "the entry %s in Redis fails its checksum: ignored (rendered again)", name);
        }
    }
    pthread_mutex_unlock(&b->lock);
    freeReplyObject(r);
    return hit;
}

/* ---- run: a render's misses through the stream ---- */

typedef struct {
    char hex[33];
    size_t index; /* into the batch */
    int ended;
    int lead; /* the first in the batch's order of the jobs with this key: the one queued */
} item;

static int cmp_item(const void *x, const void *y) { return strcmp(((const item *)x)->hex, ((const item *)y)->hex); }

/* Workers with a heartbeat; -1 on a broken connection. */
static int count_workers(kk_redis_backend *b, redisContext *c)
{
    char pattern[KK_REDIS_NAME_MAX];
    kk_error e;
    if (kk_redis_name(pattern, sizeof pattern, b->prefix, "worker:", "*", &e) != KK_OK)
        return -1;
    char cursor[32] = "0";
    int n = 0;
    do {
        int broken;
        redisReply *r = kk_redis_cmd(c, &broken, &e, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        n += (int)r->element[1]->elements;
        freeReplyObject(r);
    } while (strcmp(cursor, "0"));
    return n;
}

int kk_redis_backend_workers(kk_redis_backend *b)
{
    redisContext *c = NULL;
    kk_error e;
    if (!b || kk_redis_connect(&b->url, b->p.timeout_ms, &c, &e) != KK_OK)
        return -1;
    int n = count_workers(b, c);
    redisFree(c);
    return n;
}

/* The group may not exist yet (a fresh or restarted Redis): made from the
 * stream's start, so that jobs queued before it are delivered. */
static int ensure_group(kk_redis_backend *b, redisContext *c)
{
    char stream[KK_REDIS_NAME_MAX], group[KK_REDIS_NAME_MAX];
    kk_error e;
    if (kk_redis_name(stream, sizeof stream, b->prefix, "jobs", NULL, &e) ||
        kk_redis_name(group, sizeof group, b->prefix, "workers", NULL, &e))
        return -1;
    int broken;
    redisReply *r = kk_redis_cmd(c, &broken, &e, "XGROUP CREATE %s %s 0 MKSTREAM", stream, group);
    freeReplyObject(r);
    return broken ? -1 : 0; /* BUSYGROUP: there already */
}

/* Queues the jobs not ended yet, one message per distinct key, in the
 * batch's order (the renderer's priority: the studio's playhead first);
 * pos: batch index -> item. 0 or -1 (connection broken). */
static int enqueue(kk_redis_backend *b, redisContext *c, const kk_render_job *jobs, const item *items,
                   const size_t *pos, size_t n, const char *reply, size_t *sent)
{
    char stream[KK_REDIS_NAME_MAX];
    kk_error e;
    if (kk_redis_name(stream, sizeof stream, b->prefix, "jobs", NULL, &e) || ensure_group(b, c))
        return -1;
    size_t queued = 0;
    for (size_t k = 0; k < n; k++) {
        const item *it = &items[pos[k]];
        if (it->ended || !it->lead)
            continue;
        char *json = kk_wire_job_encode(&jobs[k], it->hex, reply);
        if (!json)
            return -1;
        redisAppendCommand(c, "XADD %s * job %s", stream, json);
        free(json);
        queued++;
    }
    int ok = 1;
    for (size_t k = 0; k < queued; k++) {
        void *r = NULL;
        if (redisGetReply(c, &r) != REDIS_OK)
            return -1;
        ok = ok && ((redisReply *)r)->type != REDIS_REPLY_ERROR;
        freeReplyObject(r);
    }
    *sent += queued;
    return ok ? 0 : -1;
}

static const char *field(const redisReply *kv, const char *name)
{
    for (size_t i = 0; kv && i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && !strcmp(kv->element[i]->str, name) &&
            kv->element[i + 1]->type == REDIS_REPLY_STRING)
            return kv->element[i + 1]->str;
    return NULL;
}

static kk_status run(kk_render_backend *base, const kk_render_job *jobs, size_t n, kk_backend_done_fn done,
                     kk_backend_abort_fn abort, void *user, kk_error *err)
{
    kk_redis_backend *b = (kk_redis_backend *)base;
    double t_run = kk_now_s();
    atomic_store(&b->fetch_on, 1);
    char reply[KK_REDIS_NAME_MAX], suffix[200];
    snprintf(suffix, sizeof suffix, "%s-%u", b->client, atomic_fetch_add(&b->runs, 1));
    if (kk_redis_name(reply, sizeof reply, b->prefix, "reply:", suffix, err) != KK_OK)
        return KK_ERR_ARG;
    redisContext *c = NULL;
    kk_error e;
    if (kk_redis_connect(&b->url, b->p.timeout_ms, &c, &e) != KK_OK) {
        say(b, "%s: rendering %zu segments here", e.msg, n);
        pthread_mutex_lock(&b->lock);
        b->stats.given_back += n;
        pthread_mutex_unlock(&b->lock);
        return KK_OK;
    }
    int alive = count_workers(b, c);
    if (alive <= 0) {
        say(b, "no render worker alive on %s (no heartbeat): rendering %zu segments here (start workers with "
            "kokoro worker --redis %s)", b->url_text, n, b->url_text);
        redisFree(c);
        pthread_mutex_lock(&b->lock);
        b->stats.given_back += n;
        pthread_mutex_unlock(&b->lock);
        return KK_OK;
    }
    item *items = calloc(n ? n : 1, sizeof *items);
    size_t *pos = calloc(n ? n : 1, sizeof *pos);
    if (!items || !pos) {
        free(items);
        free(pos);
        redisFree(c);
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    }
    for (size_t k = 0; k < n; k++) {
        kk_cache_key key = kk_render_job_key(&jobs[k]);
        kk_cache_key_hex(&key, items[k].hex);
        items[k].index = k;
    }
    qsort(items, n, sizeof *items, cmp_item);
    for (size_t k = 0; k < n; k++)
        pos[items[k].index] = k;
    /* equal keys sit together; the lowest batch index leads */
    for (size_t g = 0; g < n;) {
        size_t end = g, best = g;
        while (end < n && !strcmp(items[end].hex, items[g].hex)) {
            if (items[end].index < items[best].index)
                best = end;
            end++;
        }
        items[best].lead = 1;
        g = end;
    }
    size_t outstanding = n, sent = 0, rendered = 0, cached = 0, refused = 0, failed = 0, lat_n = 0;
    double lat = 0, t_sent = kk_now_s();
    int said_refusal = 0;
    if (enqueue(b, c, jobs, items, pos, n, reply, &sent) != 0) {
        redisFree(c);
        c = NULL; /* the loop below reconnects or gives up */
    }
    char last[64] = "0-0";
    double next_check = kk_now_s() + 1.0, none_since = 0;
    while (outstanding && !(abort && abort(user))) {
        int broken = 0;
        redisReply *r = c ? kk_redis_cmd(c, &broken, &e, "XREAD COUNT 100 BLOCK 500 STREAMS %s %s", reply, last)
                          : (broken = 1, NULL);
        if (!r && broken) {
            if (c)
                redisFree(c);
            c = NULL;
            double t0 = kk_now_s();
            while (!c && kk_now_s() - t0 < b->p.reconnect_s && !(abort && abort(user))) {
                sleep_ms(250);
                if (kk_redis_connect(&b->url, b->p.timeout_ms, &c, &e) == KK_OK &&
                    enqueue(b, c, jobs, items, pos, n, reply, &sent) != 0) {
                    redisFree(c);
                    c = NULL;
                }
            }
            if (!c) {
                say(b, "lost Redis at %s (%s): rendering the remaining %zu segments here", b->url_text, e.msg,
                    outstanding);
                break;
            }
            say(b, "reconnected to Redis at %s: the %zu unfinished jobs are queued again", b->url_text, outstanding);
            continue;
        }
        if (!r) {
            say(b, "%s: rendering the remaining %zu segments here", e.msg, outstanding);
            break;
        }
        /* [[stream, [[id, [field, value, ...]], ...]]] or nil on timeout */
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
            r->element[0]->elements == 2 && r->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
            redisReply *entries = r->element[0]->element[1];
            for (size_t i = 0; i < entries->elements; i++) {
                redisReply *en = entries->element[i];
                if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 || en->element[0]->type != REDIS_REPLY_STRING)
                    continue;
                snprintf(last, sizeof last, "%s", en->element[0]->str);
                const char *hex = field(en->element[1], "key"), *status = field(en->element[1], "status");
                const char *reason = field(en->element[1], "reason");
                if (!hex || !status)
                    continue;
                kk_backend_outcome oc = !strcmp(status, "rendered") ? KK_BACKEND_RENDERED
                                        : !strcmp(status, "cached") ? KK_BACKEND_CACHED
                                        : !strcmp(status, "refused") ? KK_BACKEND_REFUSED
                                                                     : KK_BACKEND_FAILED;
                /* the first item with this key */
                size_t lo = 0, hi = n;
                while (lo < hi) {
                    size_t mid = lo + (hi - lo) / 2;
                    if (strcmp(items[mid].hex, hex) < 0)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                int any = 0;
                for (size_t k = lo; k < n && !strcmp(items[k].hex, hex); k++) {
                    if (items[k].ended)
                        continue;
                    items[k].ended = 1;
                    outstanding--;
                    any = 1;
                    done(user, items[k].index, oc, reason);
                }
                if (!any)
                    continue; /* an answer to a job queued twice */
                lat += kk_now_s() - t_sent, lat_n++;
                rendered += oc == KK_BACKEND_RENDERED, cached += oc == KK_BACKEND_CACHED;
                refused += oc == KK_BACKEND_REFUSED, failed += oc == KK_BACKEND_FAILED;
                if ((oc == KK_BACKEND_REFUSED || oc == KK_BACKEND_FAILED) && !said_refusal) {
                    say(b, "a worker %s a job: %s; such segments are rendered here",
                        oc == KK_BACKEND_REFUSED ? "refused" : "could not render", reason ? reason : "no reason given");
                    said_refusal = 1;
                }
            }
        }
        freeReplyObject(r);
        if (outstanding && kk_now_s() >= next_check) {
            /* Gone for a while, not a moment: after a Redis restart the
             * heartbeats come back within a second or two. */
            next_check = kk_now_s() + 1.0;
            int w = count_workers(b, c);
            if (w != 0)
                none_since = 0;
            else if (none_since == 0)
                none_since = kk_now_s();
            if (w == 0 && kk_now_s() - none_since >= NO_WORKER_GRACE_S) {
                say(b, "no render worker alive on %s any more: rendering the remaining %zu segments here",
                    b->url_text, outstanding);
                break;
            }
        }
    }
    if (c) {
        int broken;
        freeReplyObject(kk_redis_cmd(c, &broken, &e, "DEL %s", reply));
        redisFree(c);
    }
    free(items);
    free(pos);
    pthread_mutex_lock(&b->lock);
    b->stats.sent += sent;
    b->stats.rendered += rendered;
    b->stats.cached += cached;
    b->stats.refused += refused;
    b->stats.failed += failed;
    b->stats.given_back += outstanding;
    b->stats.latency_s += lat;
    b->stats.latency_n += lat_n;
    b->stats.run_s += kk_now_s() - t_run;
    pthread_mutex_unlock(&b->lock);
    return KK_OK;
}

static const kk_render_backend_ops redis_ops = {.fetch = fetch, .run = run};

kk_status kk_redis_backend_open(const kk_redis_backend_params *p, kk_redis_backend **out, kk_error *err)
{
    *out = NULL;
    kk_redis_backend_params d = p ? *p : kk_redis_backend_default_params();
    if (!d.prefix)
        d.prefix = "kk:";
    if (d.timeout_ms <= 0 || d.reconnect_s < 0)
        return kk_error_set(err, KK_ERR_ARG, "the Redis timeout must be positive and the reconnect time not negative");
    kk_redis_backend *b = calloc(1, sizeof *b);
    if (!b)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    kk_status st = kk_redis_url_parse(d.url, &b->url, err);
    if (st == KK_OK && (strlen(d.url) >= sizeof b->url_text || strlen(d.prefix) >= sizeof b->prefix))
        st = kk_error_set(err, KK_ERR_ARG, "the Redis URL or key prefix is too long");
    if (st != KK_OK) {
        free(b);
        return st;
    }
    b->base.ops = &redis_ops;
    b->p = d;
    snprintf(b->url_text, sizeof b->url_text, "%s", d.url);
    snprintf(b->prefix, sizeof b->prefix, "%s", d.prefix);
    b->p.url = b->url_text;
    b->p.prefix = b->prefix;
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(b->client, sizeof b->client, "%.60s-%ld-%08lx", host, (long)getpid(),
             (unsigned long)((uintptr_t)b ^ (uintptr_t)time(NULL)) & 0xffffffffUL);
    atomic_init(&b->runs, 0);
    atomic_init(&b->fetch_on, d.lookup != 0);
    pthread_mutex_init(&b->lock, NULL);
    *out = b;
    return KK_OK;
}

void kk_redis_backend_close(kk_redis_backend *b)
{
    if (!b)
        return;
    if (b->fetch_c)
        redisFree(b->fetch_c);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

kk_render_backend *kk_redis_backend_get(kk_redis_backend *b) { return b ? &b->base : NULL; }

kk_redis_backend_stats kk_redis_backend_stats_get(kk_redis_backend *b)
{
    kk_redis_backend_stats s = {0};
    if (!b)
        return s;
    pthread_mutex_lock(&b->lock);
    s = b->stats;
    pthread_mutex_unlock(&b->lock);
    return s;
}
