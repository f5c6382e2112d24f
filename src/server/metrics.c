/*
 * metrics.c - the server's counters (server_openai.h) and their two views:
 * GET /metrics in Prometheus' text format (version 0.0.4) and GET
 * /api/activity, the same figures as JSON for the studio's activity panel.
 *
 * Counted here: requests by route, method and status; their latency per
 * route (a histogram); speech requests' time to first audio (a histogram),
 * audio seconds made and synthesis seconds spent (their ratio is the
 * real-time factor), speech cache hits. Read when asked: the render
 * cache's statistics, the speech queue, the segments each project has
 * pending, the process's resident memory.
 *
 * Routes are the routing table's patterns ("/api/projects/#"), never the
 * path a client sent, so the series stay few; past MAX_SERIES request
 * series the rest count as one "other" series. One lock, taken alone.
 */
#include "server_internal.h"
#include "server_openai.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "buf.h"
#include "kk_time.h"

#define MAX_SERIES 512
#define MAX_ROUTES 64

static const double latency_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
#define N_LAT (sizeof latency_bounds / sizeof latency_bounds[0])
static const double first_bounds[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1, 1.5, 2, 3, 5, 10, 30};
#define N_FIRST (sizeof first_bounds / sizeof first_bounds[0])

typedef struct series {
    const char *route;
    char method[8];
    unsigned status;
    uint64_t count;
} series;

typedef struct hist {
    uint64_t buckets[16]; /* cumulative counts are made when printed */
    uint64_t count;
    double sum;
} hist;

typedef struct route_hist {
    const char *route;
    hist h;
} route_hist;

struct srv_metrics {
    pthread_mutex_t lock;
    series s[MAX_SERIES];
    size_t n;
    uint64_t other;
    route_hist r[MAX_ROUTES];
    size_t n_routes;
    hist first_audio;
    uint64_t speech, speech_hits;
    double audio_s, synth_s;
};

srv_metrics *srv_metrics_new(void)
{
    srv_metrics *m = calloc(1, sizeof *m);
    if (m)
        pthread_mutex_init(&m->lock, NULL);
    return m;
}

void srv_metrics_free(srv_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static void observe(hist *h, const double *bounds, size_t n, double v)
{
    for (size_t i = 0; i < n; i++)
        if (v <= bounds[i]) {
            h->buckets[i]++;
            break;
        }
    h->count++;
    h->sum += v;
}

void srv_metrics_request(srv_metrics *m, const char *route, const char *method, unsigned status, double seconds)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    size_t i = 0;
    for (; i < m->n; i++)
        if (m->s[i].route == route && m->s[i].status == status && !strncmp(m->s[i].method, method, 7))
            break;
    if (i == m->n && m->n < MAX_SERIES) {
        m->s[i].route = route;
        snprintf(m->s[i].method, sizeof m->s[i].method, "%s", method);
        m->s[i].status = status;
        m->n++;
    }
    if (i < m->n)
        m->s[i].count++;
    else
        m->other++;
    size_t k = 0;
    for (; k < m->n_routes; k++)
        if (m->r[k].route == route)
            break;
    if (k == m->n_routes && k < MAX_ROUTES)
        m->r[m->n_routes++].route = route;
    if (k < m->n_routes)
        observe(&m->r[k].h, latency_bounds, N_LAT, seconds);
    pthread_mutex_unlock(&m->lock);
}

void srv_metrics_speech(srv_metrics *m, double first_audio_s, double audio_s, double synth_s, int cache_hit)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    m->speech++;
    m->speech_hits += cache_hit != 0;
    if (first_audio_s >= 0)
        observe(&m->first_audio, first_bounds, N_FIRST, first_audio_s);
    m->audio_s += audio_s;
    m->synth_s += synth_s;
    pthread_mutex_unlock(&m->lock);
}

/* Where the process's memory is, read when asked: resident memory split
 * into file-backed pages (the memory-mapped weight file and voice packs,
 * the code: the kernel can drop them and read them again) and anonymous
 * ones (the heap, the engine's activations, audio), and of the heap what
 * malloc has handed out and what it keeps free without giving it back.
 * Zero where a figure cannot be read (no /proc, not glibc). */
typedef struct mem_view {
    uint64_t rss, rss_file, rss_anon;
    uint64_t heap_used, heap_free; /* mallinfo2: in use, and free but kept */
    size_t audio_held, audio_budget; /* the studio's segments (jobs.c) */
} mem_view;

static mem_view read_memory(kk_server *s)
{
    mem_view v = {0};
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, rss = 0, shared = 0;
    int ok = f && fscanf(f, "%llu %llu %llu", &size, &rss, &shared) == 3;
    if (f)
        fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    if (ok && page > 0) {
        v.rss = (uint64_t)rss * (uint64_t)page;
        v.rss_file = (uint64_t)shared * (uint64_t)page;
        v.rss_anon = v.rss > v.rss_file ? v.rss - v.rss_file : 0;
    }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    v.heap_used = (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
    v.heap_free = (uint64_t)mi.fordblks;
#endif
    srv_jobs_memory(s->jobs, &v.audio_held, &v.audio_budget);
    return v;
}

static int print_hist(kk_buf *b, const char *name, const char *labels, const hist *h, const double *bounds, size_t n)
{
    uint64_t cum = 0;
    int bad = 0;
    const char *sep = *labels ? "," : "";
    for (size_t i = 0; i < n && !bad; i++) {
        cum += h->buckets[i];
        bad = kk_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[i], (unsigned long long)cum);
    }
    /* _sum and _count carry the labels in braces, or none at all */
    const char *open = *labels ? "{" : "", *close = *labels ? "}" : "";
    return bad || kk_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n%s_sum%s%s%s %.6f\n%s_count%s%s%s %llu\n", name,
                                labels, sep, (unsigned long long)h->count, name, open, labels, close, h->sum, name,
                                open, labels, close, (unsigned long long)h->count);
}

typedef struct pending_ctx {
    kk_buf *b;
    int bad;
    size_t total;
    cJSON *arr;
} pending_ctx;

static void pending_line(void *user, int64_t project, size_t n)
{
    pending_ctx *c = user;
    c->total += n;
    if (c->b && !c->bad)
        c->bad = kk_buf_printf(c->b, "kokoro_segments_pending{project=\"%lld\"} %zu\n", (long long)project, n);
    if (c->arr) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "project", (double)project);
        cJSON_AddNumberToObject(o, "pending", (double)n);
        cJSON_AddItemToArray(c->arr, o);
    }
}

void api_metrics(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    srv_metrics *m = s->metrics;
    kk_buf b = {0};
    int bad = 0;
    pthread_mutex_lock(&m->lock);
    bad = kk_buf_puts(&b, "# HELP kokoro_http_requests_total HTTP requests answered, by route pattern, method and "
                          "status.\n# TYPE kokoro_http_requests_total counter\n");
    for (size_t i = 0; i < m->n && !bad; i++)
        bad = kk_buf_printf(&b, "kokoro_http_requests_total{route=\"%s\",method=\"%s\",status=\"%u\"} %llu\n",
                            m->s[i].route, m->s[i].method, m->s[i].status, (unsigned long long)m->s[i].count);
    if (!bad && m->other)
        bad = kk_buf_printf(&b, "kokoro_http_requests_total{route=\"other\",method=\"other\",status=\"0\"} %llu\n",
                            (unsigned long long)m->other);
    bad = bad || kk_buf_puts(&b, "# HELP kokoro_http_request_duration_seconds From a request's first line to its "
                                 "last byte.\n# TYPE kokoro_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < m->n_routes && !bad; i++) {
        char labels[160];
        snprintf(labels, sizeof labels, "route=\"%s\"", m->r[i].route); /* patterns are short */
        bad = print_hist(&b, "kokoro_http_request_duration_seconds", labels, &m->r[i].h, latency_bounds, N_LAT);
    }
    bad = bad || kk_buf_puts(&b, "# HELP kokoro_speech_first_audio_seconds Speech requests: from the request to "
                                 "its first audio bytes.\n# TYPE kokoro_speech_first_audio_seconds histogram\n");
    bad = bad || print_hist(&b, "kokoro_speech_first_audio_seconds", "", &m->first_audio, first_bounds, N_FIRST);
    bad = bad || kk_buf_printf(&b,
                               "# HELP kokoro_speech_requests_total Speech requests ended (OpenAI API).\n"
                               "# TYPE kokoro_speech_requests_total counter\nkokoro_speech_requests_total %llu\n"
                               "# HELP kokoro_speech_cache_hits_total Speech requests answered from the cache.\n"
                               "# TYPE kokoro_speech_cache_hits_total counter\nkokoro_speech_cache_hits_total %llu\n"
                               "# HELP kokoro_audio_seconds_total Seconds of speech audio made.\n"
                               "# TYPE kokoro_audio_seconds_total counter\nkokoro_audio_seconds_total %.3f\n"
                               "# HELP kokoro_synthesis_seconds_total Seconds spent synthesising it (audio/synthesis: "
                               "speed against real time).\n"
                               "# TYPE kokoro_synthesis_seconds_total counter\nkokoro_synthesis_seconds_total %.3f\n",
                               (unsigned long long)m->speech, (unsigned long long)m->speech_hits, m->audio_s,
                               m->synth_s);
    pthread_mutex_unlock(&m->lock);
    kk_cache_stats cs = kk_cache_get_stats(s->cache);
    size_t queued, active;
    srv_openai_load(s->openai, &queued, &active);
    bad = bad || kk_buf_printf(&b,
                               "# HELP kokoro_render_cache_hits_total Render cache hits, by level.\n"
                               "# TYPE kokoro_render_cache_hits_total counter\n"
                               "kokoro_render_cache_hits_total{level=\"memory\"} %llu\n"
                               "kokoro_render_cache_hits_total{level=\"disk\"} %llu\n"
                               "# HELP kokoro_render_cache_misses_total Render cache misses.\n"
                               "# TYPE kokoro_render_cache_misses_total counter\nkokoro_render_cache_misses_total %llu\n"
                               "# HELP kokoro_render_cache_bytes Bytes held by the render cache, by level.\n"
                               "# TYPE kokoro_render_cache_bytes gauge\n"
                               "kokoro_render_cache_bytes{level=\"memory\"} %zu\n"
                               "kokoro_render_cache_bytes{level=\"disk\"} %llu\n"
                               "# HELP kokoro_render_cache_entries Entries in the render cache, by level.\n"
                               "# TYPE kokoro_render_cache_entries gauge\n"
                               "kokoro_render_cache_entries{level=\"memory\"} %zu\n"
                               "kokoro_render_cache_entries{level=\"disk\"} %llu\n"
                               "# HELP kokoro_speech_queue_depth Speech requests waiting for a worker.\n"
                               "# TYPE kokoro_speech_queue_depth gauge\nkokoro_speech_queue_depth %zu\n"
                               "# HELP kokoro_speech_active Speech requests being made now.\n"
                               "# TYPE kokoro_speech_active gauge\nkokoro_speech_active %zu\n"
                               "# HELP kokoro_segments_pending Studio segments waiting to be rendered, by project.\n"
                               "# TYPE kokoro_segments_pending gauge\n",
                               (unsigned long long)cs.mem_hits, (unsigned long long)cs.disk_hits,
                               (unsigned long long)cs.misses, cs.mem_bytes, (unsigned long long)cs.disk_bytes,
                               cs.mem_entries, (unsigned long long)cs.disk_entries, queued, active);
    pending_ctx pc = {.b = &b};
    mem_view mv = read_memory(s);
    if (!bad)
        srv_jobs_pending(s->jobs, pending_line, &pc);
    bad = bad || pc.bad ||
          kk_buf_printf(&b,
                        "# HELP process_resident_memory_bytes Resident memory.\n"
                        "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %llu\n"
                        "# HELP kokoro_resident_memory_bytes Resident memory by kind: file-backed (the mapped model, code) or anonymous.\n"
                        "# TYPE kokoro_resident_memory_bytes gauge\n"
                        "kokoro_resident_memory_bytes{kind=\"file\"} %llu\nkokoro_resident_memory_bytes{kind=\"anon\"} %llu\n"
                        "# HELP kokoro_heap_bytes The heap: handed out by malloc, or free but kept by it.\n"
                        "# TYPE kokoro_heap_bytes gauge\n"
                        "kokoro_heap_bytes{state=\"used\"} %llu\nkokoro_heap_bytes{state=\"free\"} %llu\n"
                        "# HELP kokoro_studio_audio_bytes The studio's segment audio held in memory.\n"
                        "# TYPE kokoro_studio_audio_bytes gauge\nkokoro_studio_audio_bytes %zu\n"
                        "# HELP kokoro_studio_audio_budget_bytes The budget that audio is kept under (--memory-mb).\n"
                        "# TYPE kokoro_studio_audio_budget_bytes gauge\nkokoro_studio_audio_budget_bytes %zu\n"
                        "# HELP process_start_time_seconds Start time, seconds since 1970.\n"
                        "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.0f\n",
                        (unsigned long long)mv.rss, (unsigned long long)mv.rss_file, (unsigned long long)mv.rss_anon,
                        (unsigned long long)mv.heap_used, (unsigned long long)mv.heap_free, mv.audio_held,
                        mv.audio_budget, s->t0_wall);
    if (bad) {
        kk_buf_free(&b);
        srv_reply_error(rp, 500, "internal", "out of memory");
        return;
    }
    rp->status = 200;
    rp->type = "text/plain; version=0.0.4; charset=utf-8";
    rp->len = b.len;
    rp->body = kk_buf_steal(&b);
}

void api_activity(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    srv_metrics *m = s->metrics;
    cJSON *root = cJSON_CreateObject();
    pthread_mutex_lock(&m->lock);
    uint64_t requests = m->other;
    for (size_t i = 0; i < m->n; i++)
        requests += m->s[i].count;
    cJSON *sp = cJSON_AddObjectToObject(root, "speech");
    cJSON_AddNumberToObject(sp, "requests", (double)m->speech);
    cJSON_AddNumberToObject(sp, "cache_hits", (double)m->speech_hits);
    cJSON_AddNumberToObject(sp, "audio_s", m->audio_s);
    cJSON_AddNumberToObject(sp, "synthesis_s", m->synth_s);
    if (m->synth_s > 0)
        cJSON_AddNumberToObject(sp, "speed", m->audio_s / m->synth_s);
    else
        cJSON_AddNullToObject(sp, "speed");
    if (m->first_audio.count)
        cJSON_AddNumberToObject(sp, "first_audio_s", m->first_audio.sum / (double)m->first_audio.count);
    else
        cJSON_AddNullToObject(sp, "first_audio_s");
    pthread_mutex_unlock(&m->lock);
    cJSON_AddNumberToObject(root, "requests", (double)requests);
    kk_cache_stats cs = kk_cache_get_stats(s->cache);
    uint64_t hits = cs.mem_hits + cs.disk_hits, lookups = hits + cs.misses;
    cJSON *c = cJSON_AddObjectToObject(root, "cache");
    cJSON_AddNumberToObject(c, "hits", (double)hits);
    cJSON_AddNumberToObject(c, "misses", (double)cs.misses);
    if (lookups)
        cJSON_AddNumberToObject(c, "hit_rate", (double)hits / (double)lookups);
    else
        cJSON_AddNullToObject(c, "hit_rate");
    cJSON_AddNumberToObject(c, "memory_bytes", (double)cs.mem_bytes);
    cJSON_AddNumberToObject(c, "disk_bytes", (double)cs.disk_bytes);
    size_t queued, active;
    srv_openai_load(s->openai, &queued, &active);
    cJSON_AddNumberToObject(sp, "queued", (double)queued);
    cJSON_AddNumberToObject(sp, "active", (double)active);
    pending_ctx pc = {.arr = cJSON_AddArrayToObject(root, "pending")};
    srv_jobs_pending(s->jobs, pending_line, &pc);
    cJSON_AddNumberToObject(root, "segments_pending", (double)pc.total);
    mem_view mv = read_memory(s);
    cJSON_AddNumberToObject(root, "rss_bytes", (double)mv.rss);
    cJSON *mem = cJSON_AddObjectToObject(root, "memory");
    cJSON_AddNumberToObject(mem, "rss_bytes", (double)mv.rss);
    cJSON_AddNumberToObject(mem, "file_bytes", (double)mv.rss_file);
    cJSON_AddNumberToObject(mem, "anon_bytes", (double)mv.rss_anon);
    cJSON_AddNumberToObject(mem, "heap_used_bytes", (double)mv.heap_used);
    cJSON_AddNumberToObject(mem, "heap_free_bytes", (double)mv.heap_free);
    cJSON_AddNumberToObject(mem, "audio_bytes", (double)mv.audio_held);
    cJSON_AddNumberToObject(mem, "audio_budget_bytes", (double)mv.audio_budget);
    cJSON_AddNumberToObject(mem, "cache_bytes", (double)cs.mem_bytes);
    cJSON_AddNumberToObject(root, "uptime_s", kk_now_s() - s->t0);
    srv_reply_json(rp, 200, root);
}
