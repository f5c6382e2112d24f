/*
 * worker.c - see worker.h: `kokoro worker`'s loop. Owns the consumer
 * threads (one connection each: read a job from the group, or claim one a
 * dead worker left past the visibility time; render it through the
 * worker's cache; store what it touched; answer; acknowledge), the
 * dead-lettering of malformed messages, and the heartbeat thread (the
 * worker's liveness and speed under <prefix>worker:<id>, and a refresh of
 * every job in hand so that no other worker claims it while it renders).
 *
 * Order of a job's effects: its entries, then its done record, then the
 * answer, then XACK (and XDEL). A worker killed anywhere in between leaves
 * the job pending: another claims it, finds the done record or renders it
 * again (same key, same bytes), and answers; the client takes the first
 * answer per key.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "kk_time.h"
#include "render.h"
#include "worker.h"
#include "worker_internal.h"

#define DEAD_RAW_MAX 65536 /* bytes of a malformed message kept with its dead letter */

kk_worker_params kk_worker_default_params(void)
{
    return (kk_worker_params){.prefix = "kk:",
                              .workers = 1,
                              .visibility_ms = 30000,
                              .heartbeat_ms = 1000,
                              .ttl_s = 86400,
                              .max_entry_bytes = 64u << 20};
}

typedef struct worker_ctx worker_ctx;

typedef struct {
    worker_ctx *w;
    int k;
    char consumer[200];
    char current[64]; /* the entry id in hand ("" none); under w->lock */
    int exited;
} slot;

struct worker_ctx {
    kk_tts *tts;
    const kk_worker_params *p;
    kk_redis_url url;
    kk_cache *cache;
    char id[160];
    char stream[KK_REDIS_NAME_MAX], group[KK_REDIS_NAME_MAX], dead[KK_REDIS_NAME_MAX], hb[KK_REDIS_NAME_MAX];
    int threads;
    double t0;
    pthread_mutex_t lock; /* stats, slots' current, said */
    kk_worker_stats stats;
    slot *slots;
    int said_down, said_refused;
    atomic_int running; /* consumer threads still running */
};

static void say(worker_ctx *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(worker_ctx *w, const char *fmt, ...)
{
    if (!w->p->on_message)
        return;
    char msg[KK_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&w->lock);
    w->p->on_message(w->p->user, msg);
    pthread_mutex_unlock(&w->lock);
}

static int stopping(const worker_ctx *w) { return w->p->stop && atomic_load(w->p->stop) != 0; }

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- one job ---- */

typedef struct {
    char hex[33];
    void *blob;
    size_t len;
} entry;

typedef struct {
    entry *e;
    size_t n, cap;
    int oom;
    worker_ctx *w;
} entries;

static void on_entry(void *user, const kk_cache_key *key, const void *blob, size_t len)
{
    entries *es = user;
    char hex[33];
    kk_cache_key_hex(key, hex);
    for (size_t i = 0; i < es->n; i++)
        if (!strcmp(es->e[i].hex, hex))
            return;
    if (es->n == es->cap) {
        size_t cap = es->cap ? es->cap * 2 : 8;
        entry *g = realloc(es->e, cap * sizeof *g);
        if (!g) {
            es->oom = 1;
            return;
        }
        es->e = g, es->cap = cap;
    }
    entry *e = &es->e[es->n];
    e->blob = kk_wire_blob_wrap(blob, len, &e->len);
    if (!e->blob) {
        es->oom = 1;
        return;
    }
    memcpy(e->hex, hex, sizeof hex);
    es->n++;
}

static int job_abort(void *user)
{
    entries *es = user;
    return es->w->p->stop && atomic_load(es->w->p->stop) >= 2;
}

static void entries_free(entries *es)
{
    for (size_t i = 0; i < es->n; i++)
        free(es->e[i].blob);
    free(es->e);
}

/* Posts the answer (reply may be NULL: nobody to tell). 0, or -1 when the
 * connection broke. */
static int answer(worker_ctx *w, redisContext *c, const char *reply, const char *hex, const char *status,
                  const char *reason)
{
    if (!reply || !*reply)
        return 0;
    int broken;
    kk_error e;
    redisReply *r = kk_redis_cmd(c, &broken, &e, "XADD %s MAXLEN ~ 100000 * key %s status %s reason %s worker %s",
                                 reply, hex ? hex : "", status, reason ? reason : "", w->id);
    freeReplyObject(r);
    if (r) /* a client that died leaves its reply stream: it goes in a day */
        freeReplyObject(kk_redis_cmd(c, &broken, &e, "EXPIRE %s %d", reply, 86400));
    return broken ? -1 : 0;
}

static int ack(worker_ctx *w, redisContext *c, const char *id)
{
    int broken;
    kk_error e;
    freeReplyObject(kk_redis_cmd(c, &broken, &e, "XACK %s %s %s", w->stream, w->group, id));
    if (!broken)
        freeReplyObject(kk_redis_cmd(c, &broken, &e, "XDEL %s %s", w->stream, id));
    return broken ? -1 : 0;
}

static void count(worker_ctx *w, size_t *field, double audio_s, double busy_s)
{
    pthread_mutex_lock(&w->lock);
    (*field)++;
    w->stats.jobs++;
    w->stats.audio_s += audio_s;
    w->stats.busy_s += busy_s;
    pthread_mutex_unlock(&w->lock);
}

/* The job's result is stored already (a redelivery): 1 yes, 0 no, -1 broken. */
static int already_done(worker_ctx *w, redisContext *c, const char *hex)
{
    char name[KK_REDIS_NAME_MAX];
    kk_error e;
    if (kk_redis_name(name, sizeof name, w->p->prefix, "done:", hex, &e))
        return 0;
    int broken;
    redisReply *r = kk_redis_cmd(c, &broken, &e, "GET %s", name);
    if (!r)
        return broken ? -1 : 0;
    int yes = 0;
    if (r->type == REDIS_REPLY_STRING) {
        /* every entry it names must still be there (eviction) */
        yes = 1;
        char *list = strndup(r->str, r->len), *save = NULL;
        for (char *t = list ? strtok_r(list, " ", &save) : NULL; t && yes; t = strtok_r(NULL, " ", &save)) {
            char blob[KK_REDIS_NAME_MAX];
            if (kk_redis_name(blob, sizeof blob, w->p->prefix, "blob:", t, &e)) {
                yes = 0;
                break;
            }
            redisReply *x = kk_redis_cmd(c, &broken, &e, "EXISTS %s", blob);
            yes = x && x->type == REDIS_REPLY_INTEGER && x->integer == 1;
            freeReplyObject(x);
            if (broken) {
                free(list);
                freeReplyObject(r);
                return -1;
            }
        }
        yes = yes && list;
        free(list);
    }
    freeReplyObject(r);
    return yes;
}

/* Stores the entries and the done record; 0, or -1 (broken, or an entry
 * over the budget: *why says). */
static int store(worker_ctx *w, redisContext *c, const char *hex, const entries *es, char *why, size_t cap)
{
    long long ttl_ms = (long long)w->p->ttl_s * 1000;
    size_t list_len = es->n * 33 + 1;
    char *list = calloc(list_len, 1);
    if (!list)
        return snprintf(why, cap, "out of memory"), -1;
    for (size_t i = 0; i < es->n; i++) {
        if (es->e[i].len > w->p->max_entry_bytes) {
            snprintf(why, cap, "a cache entry of %zu bytes is over the worker's --max-entry-mb", es->e[i].len);
            free(list);
            return -1;
        }
        strcat(list, i ? " " : "");
        strcat(list, es->e[i].hex);
    }
    kk_error e;
    int broken = 0;
    for (size_t i = 0; i < es->n && !broken; i++) {
        char name[KK_REDIS_NAME_MAX];
        if (kk_redis_name(name, sizeof name, w->p->prefix, "blob:", es->e[i].hex, &e))
            break;
        redisReply *r = kk_redis_cmd(c, &broken, &e, "SET %s %b PX %lld", name, es->e[i].blob, es->e[i].len, ttl_ms);
        if (!r && !broken) { /* an error reply: OOM past maxmemory under noeviction, say */
            snprintf(why, cap, "Redis did not store a result: %.900s", e.msg);
            free(list);
            return -1;
        }
        freeReplyObject(r);
    }
    char done[KK_REDIS_NAME_MAX];
    if (!broken && !kk_redis_name(done, sizeof done, w->p->prefix, "done:", hex, &e)) {
        redisReply *r = kk_redis_cmd(c, &broken, &e, "SET %s %s PX %lld", done, list, ttl_ms);
        freeReplyObject(r);
    }
    free(list);
    if (broken)
        snprintf(why, cap, "%.900s", e.msg);
    return broken ? -1 : 0;
}

/* Gives the job back at once: idle as if forgotten, so that the next
 * XAUTOCLAIM anywhere takes it. */
static void release(worker_ctx *w, redisContext *c, slot *s, const char *id)
{
    int broken;
    kk_error e;
    freeReplyObject(kk_redis_cmd(c, &broken, &e, "XCLAIM %s %s %s 0 %s IDLE %lld JUSTID", w->stream, w->group,
                                 s->consumer, id, (long long)w->p->visibility_ms * 1000 + 1000000000LL));
}

/* One stream entry: 0 done (acknowledged, or left pending to be claimed),
 * -1 the connection broke (the job stays pending). */
static int process(slot *s, redisContext *c, const char *id, const redisReply *kv)
{
    worker_ctx *w = s->w;
    const char *raw = NULL;
    size_t raw_len = 0;
    for (size_t i = 0; kv && kv->type == REDIS_REPLY_ARRAY && i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && !strcmp(kv->element[i]->str, "job") &&
            kv->element[i + 1]->type == REDIS_REPLY_STRING)
            raw = kv->element[i + 1]->str, raw_len = kv->element[i + 1]->len;
    pthread_mutex_lock(&w->lock);
    snprintf(s->current, sizeof s->current, "%s", id);
    pthread_mutex_unlock(&w->lock);
    double t0 = kk_now_s();
    kk_wire_job wj;
    kk_error e = {0};
    int rc = 0;
    kk_status st = raw ? kk_wire_job_decode(raw, raw_len, &wj, &e)
                       : (memset(&wj, 0, sizeof wj), kk_error_set(&e, KK_ERR_INPUT, "the entry has no \"job\" field"));
    if (st != KK_OK) {
        /* dead letter: the entry, why, and what it held */
        int broken;
        kk_error de;
        redisReply *r = kk_redis_cmd(c, &broken, &de, "XADD %s MAXLEN ~ 10000 * entry %s reason %s worker %s job %b",
                                     w->dead, id, e.msg, w->id, raw ? raw : "",
                                     raw ? (raw_len < DEAD_RAW_MAX ? raw_len : DEAD_RAW_MAX) : (size_t)0);
        freeReplyObject(r);
        say(w, "job %s is malformed (%s): dead-lettered to %s", id, e.msg, w->dead);
        if (!broken && wj.reply)
            broken = answer(w, c, wj.reply, wj.key_hex, "failed", e.msg) != 0;
        rc = broken || ack(w, c, id) ? -1 : 0;
        kk_wire_job_free(&wj);
        count(w, &w->stats.dead, 0, 0);
        goto out;
    }
    int dn = already_done(w, c, wj.key_hex);
    if (dn < 0) {
        rc = -1;
    } else if (dn) {
        rc = answer(w, c, wj.reply, wj.key_hex, "cached", NULL) || ack(w, c, id) ? -1 : 0;
        count(w, &w->stats.cached, 0, 0);
    } else {
        entries es = {.w = w};
        kk_render_job_params jp = {
            .cache = w->cache, .threads = w->threads, .on_entry = on_entry, .abort = job_abort, .user = &es};
        kk_render_job_result res;
        st = kk_render_job_run(w->tts, &wj.job, &jp, &res, &e);
        if (st == KK_OK && es.oom)
            st = kk_error_set(&e, KK_ERR_NOMEM, "out of memory keeping the job's results");
        char why[KK_ERROR_MSG_MAX];
        if (st == KK_ERR_ABORTED) {
            release(w, c, s, id);
            say(w, "stopping: job %s released to the other workers", id);
        } else if (st == KK_ERR_CONFLICT) {
            pthread_mutex_lock(&w->lock);
            int first = !w->said_refused;
            w->said_refused = 1;
            pthread_mutex_unlock(&w->lock);
            if (first)
                say(w, "refusing jobs: %s", e.msg);
            rc = answer(w, c, wj.reply, wj.key_hex, "refused", e.msg) || ack(w, c, id) ? -1 : 0;
            count(w, &w->stats.refused, 0, 0);
        } else if (st != KK_OK) {
            say(w, "job %s failed: %s", id, e.msg);
            rc = answer(w, c, wj.reply, wj.key_hex, "failed", e.msg) || ack(w, c, id) ? -1 : 0;
            count(w, &w->stats.failed, 0, 0);
        } else if (store(w, c, wj.key_hex, &es, why, sizeof why)) {
            /* broken: the job stays pending and is claimed again; over the
             * budget: the client renders it */
            int broken;
            kk_error pe;
            redisReply *ping = kk_redis_cmd(c, &broken, &pe, "PING");
            freeReplyObject(ping);
            if (broken)
                rc = -1;
            else
                rc = answer(w, c, wj.reply, wj.key_hex, "failed", why) || ack(w, c, id) ? -1 : 0;
        } else {
            rc = answer(w, c, wj.reply, wj.key_hex, res.rendered ? "rendered" : "cached", NULL) || ack(w, c, id)
                     ? -1
                     : 0;
            count(w, res.rendered ? &w->stats.rendered : &w->stats.cached, (double)res.n_samples / KK_SAMPLE_RATE,
                  kk_now_s() - t0);
        }
        entries_free(&es);
    }
    kk_wire_job_free(&wj);
out:
    pthread_mutex_lock(&w->lock);
    s->current[0] = '\0';
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* ---- the loops ---- */

static void ensure_group(worker_ctx *w, redisContext *c)
{
    int broken;
    kk_error e;
    freeReplyObject(kk_redis_cmd(c, &broken, &e, "XGROUP CREATE %s %s 0 MKSTREAM", w->stream, w->group));
}

/* Entries of an XREADGROUP or XAUTOCLAIM reply, processed; -1 broken. */
static int process_entries(slot *s, redisContext *c, const redisReply *list)
{
    for (size_t i = 0; list && list->type == REDIS_REPLY_ARRAY && i < list->elements; i++) {
        const redisReply *en = list->element[i];
        /* XAUTOCLAIM lists an entry deleted meanwhile as nil */
        if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 || en->element[0]->type != REDIS_REPLY_STRING)
            continue;
        if (en->element[1]->type != REDIS_REPLY_ARRAY) { /* no fields: deleted, acknowledge it */
            if (ack(s->w, c, en->element[0]->str))
                return -1;
            continue;
        }
        if (process(s, c, en->element[0]->str, en->element[1]))
            return -1;
    }
    return 0;
}

static void *consumer(void *arg)
{
    slot *s = arg;
    worker_ctx *w = s->w;
    redisContext *c = NULL;
    double next_claim = 0;
    while (!stopping(w)) {
        kk_error e;
        if (!c) {
            if (kk_redis_connect(&w->url, 5000, &c, &e) != KK_OK) {
                pthread_mutex_lock(&w->lock);
                int first = !w->said_down;
                w->said_down = 1;
                pthread_mutex_unlock(&w->lock);
                if (first)
                    say(w, "%s: retrying every second", e.msg);
                sleep_ms(1000);
                continue;
            }
            pthread_mutex_lock(&w->lock);
            int was_down = w->said_down;
            w->said_down = 0;
            pthread_mutex_unlock(&w->lock);
            if (was_down)
                say(w, "connected to Redis at %s:%d", w->url.host, w->url.port);
            ensure_group(w, c);
        }
        int broken = 0;
        redisReply *r = NULL;
        if (kk_now_s() >= next_claim) {
            /* a job a dead worker held past the visibility time */
            r = kk_redis_cmd(c, &broken, &e, "XAUTOCLAIM %s %s %s %d 0-0 COUNT 1", w->stream, w->group, s->consumer,
                             w->p->visibility_ms);
            int got = r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 && r->element[1]->type == REDIS_REPLY_ARRAY &&
                      r->element[1]->elements > 0;
            if (got && process_entries(s, c, r->element[1]))
                broken = 1;
            if (!got)
                next_claim = kk_now_s() + 1.0;
            if (!r && !broken && strstr(e.msg, "NOGROUP"))
                ensure_group(w, c);
            freeReplyObject(r);
            r = NULL;
            if (got || broken)
                goto check;
        }
        r = kk_redis_cmd(c, &broken, &e, "XREADGROUP GROUP %s %s COUNT 1 BLOCK 1000 STREAMS %s >", w->group,
                         s->consumer, w->stream);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
            r->element[0]->elements == 2 && process_entries(s, c, r->element[0]->element[1]))
            broken = 1;
        if (!r && !broken) {
            if (strstr(e.msg, "NOGROUP"))
                ensure_group(w, c); /* a Redis restarted empty */
            else
                sleep_ms(200);
        }
        freeReplyObject(r);
    check:
        if (broken) {
            redisFree(c);
            c = NULL;
        }
    }
    if (c)
        redisFree(c);
    pthread_mutex_lock(&w->lock);
    s->exited = 1;
    pthread_mutex_unlock(&w->lock);
    atomic_fetch_sub(&w->running, 1);
    return NULL;
}

static char *heartbeat_json(worker_ctx *w)
{
    pthread_mutex_lock(&w->lock);
    kk_worker_stats s = w->stats;
    pthread_mutex_unlock(&w->lock);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", w->id);
    cJSON_AddNumberToObject(o, "pid", (double)getpid());
    cJSON_AddStringToObject(o, "identity", kk_tts_identity(w->tts));
    /* Whether fast-mode jobs can be given to it (the others it refuses). */
    cJSON_AddBoolToObject(o, "fast_mode", kk_forward_fast_available(NULL, 0));
    cJSON_AddNumberToObject(o, "workers", w->p->workers);
    cJSON_AddNumberToObject(o, "threads", w->threads);
    cJSON_AddNumberToObject(o, "jobs", (double)s.jobs);
    cJSON_AddNumberToObject(o, "rendered", (double)s.rendered);
    cJSON_AddNumberToObject(o, "cached", (double)s.cached);
    cJSON_AddNumberToObject(o, "refused", (double)s.refused);
    cJSON_AddNumberToObject(o, "failed", (double)s.failed);
    cJSON_AddNumberToObject(o, "dead", (double)s.dead);
    cJSON_AddNumberToObject(o, "audio_s", s.audio_s);
    cJSON_AddNumberToObject(o, "busy_s", s.busy_s);
    /* seconds of audio per second spent rendering */
    cJSON_AddNumberToObject(o, "speed", s.busy_s > 0 ? s.audio_s / s.busy_s : 0);
    cJSON_AddNumberToObject(o, "uptime_s", kk_now_s() - w->t0);
    char *j = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return j;
}

/* Until the consumers have exited: the heartbeat, and every job in hand
 * claimed afresh (its idle time back to 0). */
static void heartbeat_loop(worker_ctx *w)
{
    redisContext *c = NULL;
    int ttl = w->p->heartbeat_ms * 5;
    while (atomic_load(&w->running) > 0) {
        kk_error e;
        int broken = 0;
        if (!c && kk_redis_connect(&w->url, 5000, &c, &e) != KK_OK)
            c = NULL;
        if (c) {
            char *json = heartbeat_json(w);
            if (json)
                freeReplyObject(kk_redis_cmd(c, &broken, &e, "SET %s %s PX %d", w->hb, json, ttl));
            free(json);
            for (int k = 0; k < w->p->workers && !broken; k++) {
                char id[64];
                pthread_mutex_lock(&w->lock);
                snprintf(id, sizeof id, "%s", w->slots[k].current);
                pthread_mutex_unlock(&w->lock);
                if (id[0])
                    freeReplyObject(kk_redis_cmd(c, &broken, &e, "XCLAIM %s %s %s 0 %s JUSTID", w->stream, w->group,
                                                 w->slots[k].consumer, id));
            }
            if (broken) {
                redisFree(c);
                c = NULL;
            }
        }
        for (int t = 0; t < w->p->heartbeat_ms && atomic_load(&w->running) > 0; t += 50)
            sleep_ms(50);
    }
    if (c) {
        int broken;
        kk_error e;
        freeReplyObject(kk_redis_cmd(c, &broken, &e, "DEL %s", w->hb));
        redisFree(c);
    }
}

kk_status kk_worker_run(kk_tts *tts, const kk_worker_params *p, kk_worker_stats *stats, kk_error *err)
{
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (!tts || !p || !p->url)
        return kk_error_set(err, KK_ERR_ARG, "kk_worker_run: no model or no Redis URL");
    if (p->workers < 1 || p->workers > 256 || p->threads < 0 || p->visibility_ms < 100 || p->heartbeat_ms < 10 ||
        p->ttl_s < 1)
        return kk_error_set(err, KK_ERR_ARG, "worker: workers 1 .. 256, threads >= 0, visibility >= 100 ms, "
                            "heartbeat >= 10 ms, ttl >= 1 s");
    worker_ctx w = {.tts = tts, .p = p, .t0 = kk_now_s()};
    kk_status st = kk_redis_url_parse(p->url, &w.url, err);
    if (st != KK_OK)
        return st;
    const char *prefix = p->prefix ? p->prefix : "kk:";
    if (kk_redis_name(w.stream, sizeof w.stream, prefix, "jobs", NULL, err) ||
        kk_redis_name(w.group, sizeof w.group, prefix, "workers", NULL, err) ||
        kk_redis_name(w.dead, sizeof w.dead, prefix, "dead", NULL, err))
        return KK_ERR_ARG;
    kk_worker_params local = *p;
    local.prefix = prefix;
    w.p = &local;
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(w.id, sizeof w.id, "%.60s-%ld", host, (long)getpid());
    if (kk_redis_name(w.hb, sizeof w.hb, prefix, "worker:", w.id, err))
        return KK_ERR_ARG;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    w.threads = p->threads > 0 ? p->threads : (int)((cpus > 0 ? cpus : 1) / p->workers);
    if (w.threads < 1)
        w.threads = 1;
    kk_cache_params cp = kk_cache_default_params();
    cp.dir = p->cache_dir;
    st = kk_cache_open(&cp, &w.cache, err);
    if (st != KK_OK)
        return st;
    w.slots = calloc((size_t)p->workers, sizeof *w.slots);
    pthread_t *th = calloc((size_t)p->workers, sizeof *th);
    if (!w.slots || !th) {
        free(w.slots);
        free(th);
        kk_cache_close(w.cache);
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&w.lock, NULL);
    atomic_init(&w.running, 0);
    int started = 0;
    for (int k = 0; k < p->workers; k++) {
        w.slots[k] = (slot){.w = &w, .k = k};
        snprintf(w.slots[k].consumer, sizeof w.slots[k].consumer, "%s-%d", w.id, k);
    }
    for (int k = 0; k < p->workers; k++) {
        atomic_fetch_add(&w.running, 1);
        if (pthread_create(&th[k], NULL, consumer, &w.slots[k])) {
            atomic_fetch_sub(&w.running, 1);
            break;
        }
        started++;
    }
    if (!started)
        st = kk_error_set(err, KK_ERR_NOMEM, "could not start a worker thread");
    say(&w, "worker %s: %d job%s at once, %d engine thread%s each, on %s (model %s)", w.id, started,
        started == 1 ? "" : "s", w.threads, w.threads == 1 ? "" : "s", p->url, kk_tts_identity(tts));
    heartbeat_loop(&w);
    for (int k = 0; k < started; k++)
        pthread_join(th[k], NULL);
    if (stats)
        *stats = w.stats;
    pthread_mutex_destroy(&w.lock);
    free(th);
    free(w.slots);
    kk_cache_close(w.cache);
    return st;
}
