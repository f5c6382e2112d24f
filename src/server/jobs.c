/*
 * jobs.c - background rendering and each project's audio in memory.
 *
 * One render thread brings projects up to date, one at a time, the most
 * recently used first. A pass snapshots the project's segments from the
 * store and hands them all to kk_render, nearest the playhead first:
 * segments already in the render cache come back at once, the others are
 * synthesised; each one's audio is kept here as soon as it is done
 * (on_piece) and announced to the project's event streams. When the pass
 * completes, its placement (where each segment went on the timeline, the
 * overlaps, the cuts) becomes the project's "placed" view.
 * Typed text is heard before all of it is made: a pass that starts at the
 * top of a text renders its first segment alone first (every core on it),
 * and untimed segments are placed as soon as those before them are in
 * (place_early), the way the completed pass will place them.
 *
 * What a segment's audio was made from is summed up in a content key
 * (text, voice, speed, pitch, fit, cue length, resolved against the
 * project's settings): a segment is ready when the audio kept for its id
 * has the key of its current content. audio_version is a hash of the
 * samples served, so content that comes back (an undo) comes back from
 * the cache under the version it had. An edit during a pass cancels it (the abort
 * callback) and marks the project for another pass; the cache keeps what
 * the cancelled pass finished, so the restart is cheap.
 *
 * One lock guards the projects and their audio; the store and kk_render
 * are called without it. Events are built under it and published after it
 * is released; whether anyone listens is asked under it (the order is
 * jobs lock, then the event hub's, never the other way: events.c calls
 * nothing of this file).
 *
 * Renders on request (exports, previews) run on the requests' threads,
 * each registered as an srv_export while it runs: the project's deletion
 * and the client's departure (polled through the gone callback api.c
 * gives) cancel it through kk_render's abort callback; an export of a
 * project publishes "export" events and owns its temporary files in the
 * data directory's tmp/ (locked while in use, swept at start).
 *
 * The audio kept here is bounded in bytes (srv_jobs_env.memory_bytes,
 * samples and words of every project): past it, the least recently used
 * entries give up their samples, which go to the render cache under a key
 * of their own (the served samples, cut as served) and come back from it
 * when asked for, under the same audio_version. When the cache no longer
 * has them the segment goes back to pending and the next pass brings it
 * back from the renderer's own cache entries (rendering nothing, unless the
 * cache lost those too). Memory freed so is handed back to the system
 * (malloc_trim), at most once a second.
 *
 * Works with what srv_jobs_env hands it (server_jobs.h says what it may
 * call); the server's other state is not in reach.
 */
#include "server_jobs.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "kk_time.h"
#include "tmpfile.h"
#include "wav.h"

#define MS (KK_SAMPLE_RATE / 1000) /* samples per millisecond */
#define MAX_LOADED 32          /* projects whose audio stays in memory */
#define PLAYHEAD_JUMP_MS 10000 /* a playhead moved this far reorders the pass */
#define PROGRESS_EVERY_S 0.25  /* progress events at most this often */
#define FADE (8 * MS)          /* at a cut, as the renderer fades the track */
/* A pass cancelled by an edit starts again once the project has had no
 * edit for this long: a burst of edits (a segment dragged along the
 * timeline) costs one restart, not one per edit. */
#define QUIET_S 0.25
#define PREEMPT_EVERY_S 5.0 /* see srv_jobs_created */
/* How often a render on request asks whether its client is still there:
 * a client that went away is noticed within this, plus one module of the
 * forward pass. */
#define GONE_POLL_S 0.1
#define DEFAULT_MEMORY_BYTES ((size_t)256 << 20)
/* Freed audio handed back to the system once this much has been freed,
 * at most every TRIM_EVERY_S (malloc_trim walks the whole heap). */
#define TRIM_BYTES ((size_t)1 << 20)
#define TRIM_EVERY_S 1.0
#define IDLE_TRIM_S 2 /* an engine at rest this long gives its free heap back */

/* ---- ids to positions ---- */

#define EMPTY INT64_MIN

typedef struct idmap {
    int64_t *keys;
    size_t *vals;
    size_t cap, n; /* cap: a power of two, or 0 */
} idmap;

static size_t slot_of(int64_t k, size_t cap)
{
    uint64_t h = (uint64_t)k * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17) & (cap - 1);
}

static void idmap_free(idmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static size_t *idmap_get(const idmap *m, int64_t k)
{
    if (!m->cap)
        return NULL;
    for (size_t i = slot_of(k, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == k)
            return &m->vals[i];
        if (m->keys[i] == EMPTY)
            return NULL;
    }
}

static int idmap_put(idmap *m, int64_t k, size_t v)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        idmap g = {malloc(cap * sizeof *g.keys), malloc(cap * sizeof *g.vals), cap, 0};
        if (!g.keys || !g.vals) {
            idmap_free(&g);
            return -1;
        }
        for (size_t i = 0; i < cap; i++)
            g.keys[i] = EMPTY;
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i] != EMPTY)
                idmap_put(&g, m->keys[i], m->vals[i]);
        idmap_free(m);
        *m = g;
    }
    size_t i = slot_of(k, m->cap);
    while (m->keys[i] != EMPTY && m->keys[i] != k)
        i = (i + 1) & (m->cap - 1);
    if (m->keys[i] == EMPTY)
        m->n++;
    m->keys[i] = k;
    m->vals[i] = v;
    return 0;
}

/* ---- a project's audio ---- */

typedef struct entry {
    int64_t id;
    kk_cache_key key; /* the content this audio was made from */
    int error;        /* rendering that content failed: msg says why */
    char *msg;
    int16_t *pcm; /* as served (cut in truncate mode); NULL while evicted (n
                     and version still say what it is: stash_key finds it) */
    size_t n;
    uint64_t used; /* srv_jobs.tick at its last use: the least recent goes first */
    char version[17];   /* of pcm */
    kk_cache_key piece; /* hash of the renderer's piece (before a cut) */
    float speed;
    double stretch;
    int placed;                             /* start known */
    int64_t start, end, overlap, truncated; /* samples on the timeline */
    kk_render_word *words;                  /* times from start */
    size_t n_words;
    /* Why its word times were not followed (the renderer's fit note,
     * bounded there; malloc'd), NULL when they were or none were asked.
     * Kept here only: a restarted server's pass gets it back from the
     * render cache with the audio. */
    char *fit_note;
} entry;

typedef struct proj proj;
struct proj {
    int64_t id;
    entry *e;
    size_t n, cap;
    idmap map; /* segment id -> e[] */
    int dirty, rendering, deleted;
    double touched, edited; /* kk_now_s() of the last use and the last edit */
    int64_t track_samples;  /* -1 until a pass completes */
    /* the pass in progress: which segments, with which content */
    idmap pass_map;
    kk_cache_key *pass_keys;
    unsigned char *pass_active; /* per pass_keys: being synthesised now ("rendering"); the rest wait ("pending") */
    int64_t pass_playhead;
    size_t done, total;
    double last_progress;
    double eta, eta_at; /* the pass's last estimate (s; < 0: none yet) and kk_now_s() then */
    proj *next;
};

typedef struct preview {
    char voice[KK_VOICE_ID_MAX];
    char *wav;
    size_t len;
    struct preview *next;
} preview;

struct srv_jobs {
    srv_jobs_env env;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    proj *projects;
    size_t n_projects;
    proj *current;
    atomic_int abort; /* the pass in progress should stop */
    atomic_int held;  /* srv_jobs_hold: the background pass waits while > 0 */
    atomic_int worked; /* the engine ran (a pass, an export, a speech request) since the idle trim */
    int stop;
    pthread_t thread;
    int started;
    preview *previews;
    srv_export *exports; /* renders on request running now */
    uint64_t next_export_id;
    size_t budget;      /* env.memory_bytes, or its default */
    size_t audio_bytes; /* entry_bytes of every entry held */
    uint64_t tick;      /* entry.used */
    size_t untrimmed;   /* bytes freed since the last malloc_trim */
    int stashing;               /* shed()'s batches not yet in the cache */
    pthread_cond_t stashed_cond; /* signalled when one is */
    double last_trim;
    double last_preempt; /* when a new project last cancelled another's pass (srv_jobs_created) */
};

/* Why a render on request was cancelled (srv_export.cancel). */
enum { CANCEL_NONE, CANCEL_DELETED, CANCEL_GONE };

struct srv_export {
    srv_jobs *j;
    int64_t project; /* 0: none (a preview) */
    uint64_t id;     /* in its events: tells two exports apart */
    char kind[16], format[16];
    srv_gone_fn gone;
    void *gone_user;
    atomic_int cancel; /* CANCEL_*: set by srv_jobs_forget and the poll */
    pthread_mutex_t lock; /* the poll and the events' pacing */
    double t0, polled, last_event;
    const char *state; /* of the last event */
    size_t done, total;
    char *lock_path, *out_path; /* srv_export_file's; NULL: none */
    int lock_fd;
    unsigned fail_status; /* srv_export_failed's; 0: none */
    char fail_code[32];
    char *fail_msg;
    srv_export *next; /* j->exports */
};

static void jobs_log(srv_jobs *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jobs_log(srv_jobs *j, const char *fmt, ...)
{
    if (!j->env.log)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    j->env.log(j->env.log_user, line);
}

/* What e holds in memory, for the budget. */
static size_t entry_bytes(const entry *e)
{
    return (e->pcm ? e->n * sizeof *e->pcm : 0) + e->n_words * sizeof *e->words +
           (e->fit_note ? strlen(e->fit_note) + 1 : 0);
}

static void entry_free(entry *e)
{
    free(e->msg);
    free(e->pcm);
    free(e->words);
    free(e->fit_note);
}

/* Frees p; its audio leaves j's count. Under j's lock. */
static void proj_free(srv_jobs *j, proj *p)
{
    for (size_t i = 0; i < p->n; i++) {
        j->audio_bytes -= entry_bytes(&p->e[i]);
        j->untrimmed += entry_bytes(&p->e[i]);
        entry_free(&p->e[i]);
    }
    free(p->e);
    idmap_free(&p->map);
    idmap_free(&p->pass_map);
    free(p->pass_keys);
    free(p->pass_active);
    free(p);
}

static proj *find(srv_jobs *j, int64_t id)
{
    for (proj *p = j->projects; p; p = p->next)
        if (p->id == id && !p->deleted)
            return p;
    return NULL;
}

static void unlink_proj(srv_jobs *j, proj *p)
{
    for (proj **pp = &j->projects; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            j->n_projects--;
            return;
        }
}

/* Keeps at most MAX_LOADED projects: the least recently used one that is
 * not being rendered goes (its audio comes back from the cache). */
static void evict(srv_jobs *j)
{
    while (j->n_projects > MAX_LOADED) {
        proj *old = NULL;
        for (proj *p = j->projects; p; p = p->next)
            if (!p->rendering && (!old || p->touched < old->touched))
                old = p;
        if (!old)
            return;
        unlink_proj(j, old);
        proj_free(j, old);
    }
}

static proj *get_or_add(srv_jobs *j, int64_t id)
{
    proj *p = find(j, id);
    if (p)
        return p;
    if (!(p = calloc(1, sizeof *p)))
        return NULL;
    p->id = id;
    p->dirty = 1;
    p->touched = kk_now_s(); /* not the first to go */
    p->track_samples = -1;
    p->eta = -1;
    p->next = j->projects;
    j->projects = p;
    j->n_projects++;
    evict(j);
    return p;
}

static entry *entry_of(proj *p, int64_t id)
{
    size_t *k = idmap_get(&p->map, id);
    return k ? &p->e[*k] : NULL;
}

static entry *entry_add(proj *p, int64_t id)
{
    entry *e = entry_of(p, id);
    if (e)
        return e;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        entry *v = realloc(p->e, cap * sizeof *v);
        if (!v)
            return NULL;
        p->e = v, p->cap = cap;
    }
    if (idmap_put(&p->map, id, p->n))
        return NULL;
    e = &p->e[p->n++];
    memset(e, 0, sizeof *e);
    e->id = id;
    return e;
}

static int key_eq(const kk_cache_key *a, const kk_cache_key *b) { return !memcmp(a->bytes, b->bytes, 16); }

/* ---- what a segment's audio is made from ---- */

/* Its own voice, else its speaker's in the cast, else the project's. */
static const char *seg_voice(const srv_settings *st, const kk_store_segment *g)
{
    const char *cast = g->voice ? NULL : srv_cast_voice(st, g->speaker);
    return g->voice ? g->voice : cast ? cast : st->voice;
}

static kk_cache_key seg_key(const srv_settings *st, const kk_store_segment *g)
{
    kk_cache_key_builder b;
    kk_cache_key_init(&b);
    kk_cache_key_add_str(&b, "kokoro-studio-segment-1");
    kk_cache_key_add_str(&b, g->text ? g->text : "");
    kk_cache_key_add_str(&b, seg_voice(st, g));
    kk_cache_key_add_f64(&b, (double)(float)(g->speed > 0 ? g->speed : st->speed));
    kk_cache_key_add_f64(&b, isnan(g->pitch) ? st->pitch : g->pitch);
    srv_fit fit = srv_segment_fit(st, g);
    kk_cache_key_add_i64(&b, fit);
    if (fit == SRV_FIT_WORDS) /* the word times are where the words go */
        kk_cache_key_add_str(&b, g->words_json ? g->words_json : "");
    /* The fit shortens speech to its cue's length; where the cue sits
     * changes only the placement. */
    kk_cache_key_add_i64(&b, g->start_ms == KK_TIME_NONE ? -1 : g->end_ms - g->start_ms);
    return kk_cache_key_final(&b);
}

static kk_render_params render_params(srv_jobs *j, const srv_settings *st)
{
    kk_render_params rp = kk_render_default_params();
    rp.voice = st->voice;
    rp.speed = (float)st->speed;
    rp.pitch = st->pitch;
    rp.fit.enabled = st->fit != SRV_FIT_NONE;
    rp.fit.overflow = st->fit == SRV_FIT_TRUNCATE ? KK_OVERFLOW_TRUNCATE : KK_OVERFLOW_OVERLAP;
    rp.fit.words = st->fit == SRV_FIT_WORDS;
    rp.gap_ms = st->gap_ms;
    rp.workers = j->env.render_workers;
    rp.precision = j->env.precision;
    rp.cache = j->env.cache;
    rp.backend = j->env.backend;
    return rp;
}

/* The source's word times of a segment (its words_json), for the fit
 * "words": malloc'd with their texts (segment_words_free); NULL when it
 * has none or they cannot be read (the cue's fit is used then). */
static kk_word *segment_words(const kk_store_segment *g, size_t *n)
{
    *n = 0;
    cJSON *a = g->words_json ? cJSON_Parse(g->words_json) : NULL;
    size_t m = cJSON_IsArray(a) ? (size_t)cJSON_GetArraySize(a) : 0;
    kk_word *w = m ? calloc(m, sizeof *w) : NULL;
    size_t k = 0;
    const cJSON *o, *items = w ? a : NULL;
    cJSON_ArrayForEach(o, items)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "text"), *s = cJSON_GetObjectItemCaseSensitive(o, "start_ms"),
                    *e = cJSON_GetObjectItemCaseSensitive(o, "end_ms");
        if (!cJSON_IsString(t) || !(w[k].text = strdup(t->valuestring)))
            continue;
        w[k].start_ms = cJSON_IsNumber(s) ? (int64_t)s->valuedouble : KK_TIME_NONE;
        w[k].end_ms = cJSON_IsNumber(e) ? (int64_t)e->valuedouble : KK_TIME_NONE;
        w[k].score = NAN;
        k++;
    }
    cJSON_Delete(a);
    if (!k) {
        free(w);
        return NULL;
    }
    *n = k;
    return w;
}

static void segment_words_free(kk_render_segment *rs, size_t n)
{
    for (size_t i = 0; rs && i < n; i++) {
        kk_word *w = (kk_word *)rs[i].words;
        for (size_t k = 0; w && k < rs[i].n_words; k++)
            free(w[k].text);
        free(w);
    }
}

/* The segment as kk_render takes it, with its own fit when it differs from
 * the project's; with the fit "words", its word times (segment_words_free
 * frees them). */
static kk_render_segment render_segment(const kk_store_segment *g, const srv_settings *st)
{
    size_t n = 0;
    srv_fit fit = srv_segment_fit(st, g);
    kk_word *w = fit == SRV_FIT_WORDS ? segment_words(g, &n) : NULL;
    /* its own fit, when it has one, over the project's (render_params) */
    static const kk_segment_fit own[] = {[SRV_FIT_OVERLAP] = KK_SEGMENT_FIT_OVERLAP,
                                         [SRV_FIT_TRUNCATE] = KK_SEGMENT_FIT_TRUNCATE,
                                         [SRV_FIT_NONE] = KK_SEGMENT_FIT_NONE, [SRV_FIT_WORDS] = KK_SEGMENT_FIT_WORDS};
    return (kk_render_segment){.words = w, .n_words = n,
                               .fit = fit != st->fit ? own[fit] : KK_SEGMENT_FIT_DEFAULT,
                               .text = g->text ? g->text : "",
                               .start_ms = g->start_ms,
                               .end_ms = g->end_ms,
                               .speaker = g->speaker,
                               .voice = seg_voice(st, g),
                               .speed = (float)g->speed,
                               .pitch = g->pitch};
}

/* ---- audio as served ---- */

static void version_of(const int16_t *pcm, size_t n, char out[17])
{
    kk_cache_key_builder b;
    kk_cache_key_init(&b);
    kk_cache_key_add(&b, pcm, n * sizeof *pcm);
    kk_cache_key k = kk_cache_key_final(&b);
    char hex[33];
    kk_cache_key_hex(&k, hex);
    memcpy(out, hex, 16);
    out[16] = '\0';
}

/* ---- the memory budget ---- */

/* Where an evicted entry's samples wait in the render cache: its content
 * and the version of what is served. */
static kk_cache_key stash_key(const entry *e)
{
    kk_cache_key_builder b;
    kk_cache_key_init(&b);
    kk_cache_key_add_str(&b, "kokoro-studio-evicted-1");
    kk_cache_key_add(&b, e->key.bytes, sizeof e->key.bytes);
    kk_cache_key_add_str(&b, e->version);
    return kk_cache_key_final(&b);
}

typedef struct stashed {
    kk_cache_key key;
    int16_t *pcm;
    size_t n;
} stashed;

static int cmp_used(const void *a, const void *b)
{
    const entry *x = *(entry *const *)a, *y = *(entry *const *)b;
    return x->used < y->used ? -1 : x->used > y->used;
}

/* Under j's lock: when the audio held passes the budget, takes the samples
 * of the least recently used entries until it is 7/8 of it (an eviction
 * frees room for more than one segment), and returns them (*n_out of
 * them; NULL: none) for stash() once the lock is released. */
static stashed *shed(srv_jobs *j, size_t *n_out)
{
    *n_out = 0;
    if (j->audio_bytes <= j->budget)
        return NULL;
    size_t n = 0;
    for (proj *p = j->projects; p; p = p->next)
        for (size_t i = 0; i < p->n; i++)
            n += p->e[i].pcm && p->e[i].n;
    entry **v = malloc((n ? n : 1) * sizeof *v);
    stashed *out = malloc((n ? n : 1) * sizeof *out);
    if (!v || !out) { /* no memory to evict with: the next piece tries again */
        free(v), free(out);
        return NULL;
    }
    n = 0;
    for (proj *p = j->projects; p; p = p->next)
        for (size_t i = 0; i < p->n; i++)
            if (p->e[i].pcm && p->e[i].n)
                v[n++] = &p->e[i];
    qsort(v, n, sizeof *v, cmp_used);
    size_t target = j->budget - j->budget / 8, k = 0;
    for (size_t i = 0; i < n && j->audio_bytes > target; i++) {
        entry *e = v[i];
        out[k++] = (stashed){stash_key(e), e->pcm, e->n};
        j->audio_bytes -= e->n * sizeof *e->pcm;
        e->pcm = NULL;
    }
    free(v);
    *n_out = k;
    if (k)
        j->stashing++;
    return out;
}

/* Hands the malloc heap's free pages back to the system (glibc keeps
 * them otherwise); called without the lock, as it walks the whole heap. */
static void give_heap_back(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

/* Hands the memory freed since the last time back to the system, when
 * there is enough of it (more than `freed`, bytes the caller has just
 * freed without the lock) and the last time was long enough ago. */
static void trim(srv_jobs *j, size_t freed)
{
    pthread_mutex_lock(&j->lock);
    j->untrimmed += freed;
    double now = kk_now_s();
    int due = j->untrimmed >= TRIM_BYTES && now - j->last_trim >= TRIM_EVERY_S;
    if (due)
        j->untrimmed = 0, j->last_trim = now;
    pthread_mutex_unlock(&j->lock);
    if (due)
        give_heap_back();
}

/* Without j's lock: puts shed()'s samples into the cache and frees them
 * (and v). A put that fails loses nothing but time: the segment is read
 * back from the renderer's entries instead. */
static void stash(srv_jobs *j, stashed *v, size_t n)
{
    size_t freed = 0;
    for (size_t i = 0; i < n; i++) {
        kk_error err = {0};
        if (j->env.cache)
            kk_cache_put(j->env.cache, &v[i].key, v[i].pcm, v[i].n * sizeof *v[i].pcm, &err);
        free(v[i].pcm);
        freed += v[i].n * sizeof *v[i].pcm;
    }
    free(v);
    if (!n)
        return;
    pthread_mutex_lock(&j->lock);
    j->stashing--;
    pthread_cond_broadcast(&j->stashed_cond);
    pthread_mutex_unlock(&j->lock);
    trim(j, freed);
}

/* An evicted entry's samples (n of them, of that version) back from the
 * cache, malloc'd; NULL when the cache no longer has them, or has
 * something else under their key. */
static int16_t *unstash(srv_jobs *j, const kk_cache_key *key, size_t n, const char version[17])
{
    void *data = NULL;
    size_t len = 0;
    kk_error err = {0};
    if (!j->env.cache || kk_cache_get(j->env.cache, key, &data, &len, &err) != KK_OK || !data)
        return NULL;
    char v[17];
    if (len != n * sizeof(int16_t) || (version_of(data, n, v), strcmp(v, version))) {
        free(data);
        return NULL;
    }
    return data;
}

/* ---- views ---- */

static void fill_view(const entry *e, srv_seg_view *v)
{
    memset(v, 0, sizeof *v);
    if (e->error) {
        v->status = "error";
        v->error = strdup(e->msg ? e->msg : "rendering failed");
        return;
    }
    v->status = "ready";
    memcpy(v->audio_version, e->version, sizeof v->audio_version);
    v->rendered = 1;
    v->placed = e->placed;
    v->start_ms = (e->start + MS / 2) / MS;
    v->end_ms = (e->end + MS / 2) / MS;
    v->overlap_ms = (e->overlap + MS / 2) / MS;
    v->truncated_ms = (e->truncated + MS / 2) / MS;
    v->speed = e->speed;
    v->stretch = e->stretch;
    v->fit_note = e->fit_note ? strdup(e->fit_note) : NULL;
    if (e->n_words && (v->words = malloc(e->n_words * sizeof *v->words))) {
        for (size_t i = 0; i < e->n_words; i++) {
            v->words[i] = e->words[i];
            v->words[i].start_sample += e->start;
            v->words[i].end_sample += e->start;
        }
        v->n_words = e->n_words;
    }
}

void srv_jobs_view(srv_jobs *j, int64_t project, const srv_settings *st, const kk_store_segment *segs, size_t n,
                   srv_seg_view *views, srv_render_view *rv)
{
    pthread_mutex_lock(&j->lock);
    proj *p = find(j, project);
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        srv_seg_view *v = &views[i];
        kk_cache_key k = seg_key(st, &segs[i]);
        entry *e = p ? entry_of(p, segs[i].id) : NULL;
        size_t *pk;
        if (e && (e->error || e->version[0]) && key_eq(&e->key, &k)) {
            fill_view(e, v);
            done++;
        } else {
            memset(v, 0, sizeof *v);
            v->status = p && p->rendering && p->pass_active && (pk = idmap_get(&p->pass_map, segs[i].id)) &&
                                key_eq(&p->pass_keys[*pk], &k) && p->pass_active[*pk]
                            ? "rendering"
                            : "pending";
        }
    }
    rv->done = done;
    rv->total = n;
    rv->rendering = p && (p->rendering || p->dirty) && done < n;
    rv->eta_s = -1;
    if (rv->rendering && p->rendering && p->eta >= 0) {
        rv->eta_s = p->eta - (kk_now_s() - p->eta_at);
        if (rv->eta_s < 0)
            rv->eta_s = 0; /* late: about to be done */
    }
    rv->track_ms = p && p->track_samples >= 0 ? (p->track_samples + MS / 2) / MS : -1;
    pthread_mutex_unlock(&j->lock);
}

kk_status srv_jobs_segment_wav(srv_jobs *j, int64_t project, const srv_settings *st, const kk_store_segment *seg,
                               char **wav, size_t *len, char version[17], const char **status, kk_error *err)
{
    srv_seg_view v;
    srv_render_view rv;
    srv_jobs_view(j, project, st, seg, 1, &v, &rv);
    *status = v.status;
    srv_seg_view_free(&v);
    if (strcmp(*status, "ready"))
        return kk_error_set(err, KK_ERR_CONFLICT, "segment %lld is not rendered yet (%s)", (long long)seg->id, *status);
    kk_status st_ = KK_OK;
    pthread_mutex_lock(&j->lock);
    proj *p = find(j, project);
    entry *e = p ? entry_of(p, seg->id) : NULL;
    kk_cache_key k = seg_key(st, seg);
    int evicted = 0;
    kk_cache_key sk;
    size_t n = 0;
    char ver[17];
    if (!e || e->error || !key_eq(&e->key, &k) || !e->version[0]) { /* changed since the view */
        *status = "pending";
        st_ = kk_error_set(err, KK_ERR_CONFLICT, "segment %lld is not rendered yet", (long long)seg->id);
    } else if (!e->pcm) { /* evicted: read back below, without the lock */
        evicted = 1;
        sk = stash_key(e), n = e->n;
        memcpy(ver, e->version, sizeof ver);
        e->used = ++j->tick;
    } else if (!(*wav = kk_wav_memory_pcm16(e->pcm, e->n, KK_SAMPLE_RATE, len))) {
        st_ = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    } else {
        memcpy(version, e->version, 17);
        e->used = ++j->tick;
    }
    pthread_mutex_unlock(&j->lock);
    if (!evicted)
        return st_;
    int16_t *pcm = unstash(j, &sk, n, ver);
    if (!pcm) { /* maybe evicted a moment ago, on its way to the cache */
        pthread_mutex_lock(&j->lock);
        while (j->stashing > 0)
            pthread_cond_wait(&j->stashed_cond, &j->lock);
        pthread_mutex_unlock(&j->lock);
        pcm = unstash(j, &sk, n, ver);
    }
    if (pcm) {
        *wav = kk_wav_memory_pcm16(pcm, n, KK_SAMPLE_RATE, len);
        free(pcm);
        if (!*wav)
            return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
        memcpy(version, ver, 17);
        return KK_OK;
    }
    /* The cache lost it: pending again, until the next pass brings it back
     * (from the renderer's cache entries) and says so in a "segment"
     * event, under the same version. */
    pthread_mutex_lock(&j->lock);
    p = find(j, project);
    e = p ? entry_of(p, seg->id) : NULL;
    if (e && !e->pcm && !e->error && key_eq(&e->key, &k) && !strcmp(e->version, ver)) {
        e->version[0] = '\0';
        p->dirty = 1;
        pthread_cond_signal(&j->cond);
    }
    pthread_mutex_unlock(&j->lock);
    *status = "pending";
    return kk_error_set(err, KK_ERR_CONFLICT, "segment %lld is being read back into memory; try again when it is ready",
                        (long long)seg->id);
}

/* ---- events ---- */

/* {"id", "status", "audio_version", "rendered"} for e (NULL: status only). */
static cJSON *segment_event(int64_t id, const char *status, const entry *e, const char *text)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)id);
    if (e) {
        srv_seg_view v;
        fill_view(e, &v);
        status = v.status;
        cJSON_AddStringToObject(o, "status", status);
        if (v.rendered)
            cJSON_AddStringToObject(o, "audio_version", v.audio_version);
        else
            cJSON_AddNullToObject(o, "audio_version");
        if (v.rendered)
            cJSON_AddItemToObject(o, "rendered", srv_rendered_json(&v, text));
        else
            cJSON_AddNullToObject(o, "rendered");
        if (v.error)
            cJSON_AddStringToObject(o, "error", v.error);
        srv_seg_view_free(&v);
    } else {
        cJSON_AddStringToObject(o, "status", status);
        cJSON_AddNullToObject(o, "audio_version");
        cJSON_AddNullToObject(o, "rendered");
    }
    return o;
}

static void publish_progress(srv_jobs *j, proj *p, double eta)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "done", (double)p->done);
    cJSON_AddNumberToObject(o, "total", (double)p->total);
    if (eta >= 0)
        cJSON_AddNumberToObject(o, "eta_s", round(eta * 10) / 10);
    else
        cJSON_AddNullToObject(o, "eta_s");
    srv_events_publish_json(j->env.events, p->id, "progress", o);
}

/* ---- a pass ---- */

typedef struct pass {
    srv_jobs *j;
    proj *p;
    srv_settings st;
    kk_store_segment *segs;
    size_t n;
    kk_cache_key *keys; /* per segs[] */
    size_t *map;        /* render index -> segs[] */
    size_t n_render;
    int64_t lead_ms, gap_ms; /* the renderer's, for place_early */
} pass;

/* Someone has the project's event stream open. Asked at each event, not once
 * a pass: a client that connects just after a pass began must hear it. */
static int listening(const pass *ps) { return srv_events_listening(ps->j->env.events, ps->p->id); }

static int pass_abort(void *user)
{
    pass *ps = user;
    /* Held (srv_jobs_hold): wait here, in whichever render thread asks,
     * without losing the chunk in hand; an edit or the stop ends it. */
    while (atomic_load(&ps->j->held) > 0 && !atomic_load(&ps->j->abort) && !atomic_load(ps->j->env.stopping)) {
        struct timespec t = {0, 20 * 1000000L};
        nanosleep(&t, NULL);
    }
    return atomic_load(&ps->j->abort) || atomic_load(ps->j->env.stopping);
}

void srv_jobs_hold(srv_jobs *j, int delta)
{
    if (!j)
        return;
    atomic_fetch_add(&j->held, delta);
    if (delta < 0) /* a speech request ended: the idle trim is due again */
        atomic_store(&j->worked, 1);
}

void srv_jobs_pending(srv_jobs *j, void (*fn)(void *user, int64_t project, size_t pending), void *user)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    for (proj *p = j->projects; p; p = p->next) {
        if (p->deleted)
            continue;
        size_t n = p->rendering ? (p->total > p->done ? p->total - p->done : 0) : p->dirty ? p->n : 0;
        if (n)
            fn(user, p->id, n);
    }
    pthread_mutex_unlock(&j->lock);
}

void srv_jobs_memory(srv_jobs *j, size_t *held, size_t *budget)
{
    *held = *budget = 0;
    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    *held = j->audio_bytes, *budget = j->budget;
    pthread_mutex_unlock(&j->lock);
}

/* An untimed segment's place is known when the pass completes (place()),
 * and until then its audio cannot be played: typed text would be heard only
 * once all of it was rendered. So the leading run of segments whose audio
 * is in (in render order, which is timeline order) is placed now, as the
 * renderer will place it: from the lead, each untimed one after the one
 * before it plus the gap, timed ones at their cues. place() then confirms
 * these places (or moves them, with an event). Called under the lock;
 * the events of the segments it places go to evs (NULL: none wanted);
 * *self_placed says whether segment self was one of them. */
static void place_early(pass *ps, cJSON *evs, int64_t self, int *self_placed)
{
    proj *p = ps->p;
    int64_t cursor = ps->lead_ms * MS;
    *self_placed = 0;
    for (size_t i = 0; i < ps->n_render; i++) {
        size_t k = ps->map[i];
        const kk_store_segment *g = &ps->segs[k];
        entry *e = entry_of(p, g->id);
        if (!e || e->error || !key_eq(&e->key, &ps->keys[k]) || !e->version[0])
            return; /* not in yet: what follows it cannot be placed */
        if (g->start_ms == KK_TIME_NONE && !e->placed) {
            e->placed = 1;
            e->start = cursor;
            e->end = cursor + (int64_t)e->n;
            if (g->id == self)
                *self_placed = 1;
            if (evs)
                cJSON_AddItemToArray(evs, segment_event(g->id, "ready", e, g->text));
        }
        int64_t end = e->start + (int64_t)e->n;
        if (g->start_ms == KK_TIME_NONE || cursor < end + ps->gap_ms * MS)
            cursor = end + ps->gap_ms * MS;
    }
}

/* A segment's synthesis begins: it, and only it, says "rendering". */
static void on_start(void *user, size_t index)
{
    pass *ps = user;
    srv_jobs *j = ps->j;
    if (index < 1 || index > ps->n_render)
        return;
    size_t k = ps->map[index - 1];
    pthread_mutex_lock(&j->lock);
    if (ps->p->pass_active)
        ps->p->pass_active[k] = 1;
    pthread_mutex_unlock(&j->lock);
    if (listening(ps))
        srv_events_publish_json(j->env.events, ps->p->id, "segment", segment_event(ps->segs[k].id, "rendering", NULL, NULL));
}

/* One segment's audio, as soon as it is done. */
static void on_piece(void *user, const kk_render_piece *pc)
{
    pass *ps = user;
    srv_jobs *j = ps->j;
    if (pc->index < 1 || pc->index > ps->n_render)
        return;
    size_t k = ps->map[pc->index - 1];
    const kk_store_segment *g = &ps->segs[k];
    int16_t *pcm = malloc((pc->n_samples ? pc->n_samples : 1) * sizeof *pcm);
    kk_render_word *words = malloc((pc->n_words ? pc->n_words : 1) * sizeof *words);
    char *note = pc->fit_note ? strdup(pc->fit_note) : NULL;
    if (!pcm || !words || (pc->fit_note && !note)) {
        free(pcm), free(words), free(note);
        return; /* stays pending; the next pass tries again */
    }
    for (size_t i = 0; i < pc->n_samples; i++)
        pcm[i] = kk_wav_pcm16(pc->samples[i]);
    if (pc->n_words) /* words may be NULL when there are none */
        memcpy(words, pc->words, pc->n_words * sizeof *words);
    kk_cache_key_builder b;
    kk_cache_key_init(&b);
    kk_cache_key_add(&b, pcm, pc->n_samples * sizeof *pcm);
    kk_cache_key piece = kk_cache_key_final(&b);

    pthread_mutex_lock(&j->lock);
    proj *p = ps->p;
    entry *e = entry_add(p, g->id);
    int changed = 0;
    if (e && (e->error || !key_eq(&e->key, &ps->keys[k]) || !key_eq(&e->piece, &piece) || !e->version[0])) {
        changed = 1;
        j->audio_bytes -= entry_bytes(e);
        free(e->pcm), free(e->words), free(e->msg), free(e->fit_note);
        e->msg = NULL;
        e->error = 0;
        e->key = ps->keys[k];
        e->piece = piece;
        e->pcm = pcm, e->n = pc->n_samples;
        e->words = words, e->n_words = pc->n_words;
        e->fit_note = note;
        pcm = NULL, words = NULL, note = NULL;
        version_of(e->pcm, e->n, e->version);
        e->speed = pc->speed;
        e->stretch = pc->stretch;
        e->overlap = e->truncated = 0;
        if (g->start_ms != KK_TIME_NONE) {
            /* where the pass will place it (a word fit's lead before the
             * cue): the ready event and a read before the pass ends say
             * so already */
            e->placed = 1;
            e->start = g->start_ms * MS - pc->lead_samples;
        } /* untimed: where it was, until the pass places it */
        e->end = e->start + (int64_t)e->n;
        j->audio_bytes += entry_bytes(e);
        e->used = ++j->tick;
    }
    int listen = listening(ps), self_placed = 0;
    cJSON *early = listen ? cJSON_CreateArray() : NULL;
    if (e)
        place_early(ps, early, g->id, &self_placed);
    cJSON *ev = changed && !self_placed && listen ? segment_event(g->id, "ready", e, g->text) : NULL;
    size_t n_shed;
    stashed *shed_ = shed(j, &n_shed);
    pthread_mutex_unlock(&j->lock);
    free(pcm), free(words), free(note);
    if (ev)
        srv_events_publish_json(j->env.events, p->id, "segment", ev);
    cJSON *x;
    while (early && (x = cJSON_DetachItemFromArray(early, 0)))
        srv_events_publish_json(j->env.events, p->id, "segment", x);
    cJSON_Delete(early);
    stash(j, shed_, n_shed);
}

static void on_progress(void *user, size_t done, size_t total, double eta)
{
    pass *ps = user;
    srv_jobs *j = ps->j;
    pthread_mutex_lock(&j->lock);
    proj *p = ps->p;
    p->done = done, p->total = total;
    double now = kk_now_s();
    p->eta = eta, p->eta_at = now;
    /* The last one comes when the pass has placed everything. */
    int due = done < total && now - p->last_progress >= PROGRESS_EVERY_S;
    if (due)
        p->last_progress = now;
    pthread_mutex_unlock(&j->lock);
    if (due && listening(ps))
        publish_progress(j, p, eta);
}

/* Cuts a segment's audio where the placement cut it, with the renderer's
 * fade, so that what is served is what the track plays. */
static void apply_cut(entry *e, int64_t len)
{
    if (len < 0 || (size_t)len >= e->n)
        return;
    e->n = (size_t)len;
    for (int64_t k = len > FADE ? len - FADE : 0; k < len; k++)
        e->pcm[k] = (int16_t)lrintf((float)e->pcm[k] * (float)(len - k) / (float)FADE);
    version_of(e->pcm, e->n, e->version);
}

/* The pass completed: every segment's place on the timeline. */
static void place(pass *ps, const kk_render_result *r)
{
    srv_jobs *j = ps->j;
    proj *p = ps->p;
    cJSON *evs = cJSON_CreateArray();
    pthread_mutex_lock(&j->lock);
    for (size_t i = 0; i < r->n_cues && i < ps->n_render; i++) {
        size_t k = ps->map[i];
        const kk_render_cue *q = &r->cues[i];
        entry *e = entry_of(p, ps->segs[k].id);
        if (!e || e->error || !key_eq(&e->key, &ps->keys[k]) || !e->version[0])
            continue;
        char before[17];
        memcpy(before, e->version, sizeof before);
        size_t bytes = entry_bytes(e);
        int moved = !e->placed || e->start != q->start_sample || e->end != q->end_sample ||
                    e->overlap != q->overlap_samples || e->truncated != q->truncated_samples;
        e->placed = 1;
        e->start = q->start_sample;
        e->end = q->end_sample;
        e->overlap = q->overlap_samples;
        e->truncated = q->truncated_samples;
        int64_t len = q->end_sample - q->start_sample;
        if (q->truncated_samples > 0 && !e->pcm && len >= 0 && (size_t)len < e->n) {
            /* evicted before its cut: back from the cache to be cut (a
             * read under the lock, rare: truncate mode only) */
            kk_cache_key sk = stash_key(e);
            if (!(e->pcm = unstash(j, &sk, e->n, e->version))) {
                e->version[0] = '\0'; /* pending: the next pass brings it back */
                p->dirty = 1;
                continue;
            }
        }
        if (q->truncated_samples > 0 && e->pcm)
            apply_cut(e, len);
        kk_render_word *w = malloc((q->n_words ? q->n_words : 1) * sizeof *w);
        if (w) {
            for (size_t m = 0; m < q->n_words; m++) {
                w[m] = q->words[m];
                w[m].start_sample -= q->start_sample;
                w[m].end_sample -= q->start_sample;
            }
            free(e->words);
            e->words = w, e->n_words = q->n_words;
        }
        j->audio_bytes = j->audio_bytes - bytes + entry_bytes(e);
        if ((moved || strcmp(before, e->version)) && listening(ps) && evs)
            cJSON_AddItemToArray(evs, segment_event(e->id, "ready", e, ps->segs[k].text));
    }
    p->track_samples = (int64_t)r->n_samples;
    size_t n_shed;
    stashed *shed_ = shed(j, &n_shed);
    pthread_mutex_unlock(&j->lock);
    cJSON *ev;
    while (evs && (ev = cJSON_DetachItemFromArray(evs, 0)))
        srv_events_publish_json(j->env.events, p->id, "segment", ev);
    cJSON_Delete(evs);
    stash(j, shed_, n_shed);
}

/* Marks a segment's current content as failed and says so. */
static void fail_segment(pass *ps, size_t k, const char *msg)
{
    srv_jobs *j = ps->j;
    pthread_mutex_lock(&j->lock);
    entry *e = entry_add(ps->p, ps->segs[k].id);
    if (e) {
        j->audio_bytes -= entry_bytes(e);
        free(e->pcm), free(e->words), free(e->msg), free(e->fit_note);
        e->pcm = NULL, e->words = NULL, e->fit_note = NULL, e->n = 0, e->n_words = 0;
        e->error = 1;
        e->msg = strdup(msg);
        e->key = ps->keys[k];
        e->version[0] = '\0';
        memset(&e->piece, 0, sizeof e->piece);
    }
    cJSON *ev = e && listening(ps) ? segment_event(ps->segs[k].id, "error", e, ps->segs[k].text) : NULL;
    pthread_mutex_unlock(&j->lock);
    if (ev) {
        srv_events_publish_json(j->env.events, ps->p->id, "segment", ev);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)ps->segs[k].id);
        cJSON_AddStringToObject(o, "message", msg);
        srv_events_publish_json(j->env.events, ps->p->id, "error", o);
    }
}

typedef struct {
    int64_t d;
    size_t i;
} by_dist;

static int cmp_dist(const void *a, const void *b)
{
    const by_dist *x = a, *y = b;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Render order: nearest the playhead first, then outward. Untimed
 * segments are where the last pass put them, else estimated from the
 * length of the text before them. */
static size_t *playhead_order(pass *ps, int64_t playhead_ms)
{
    size_t n = ps->n_render;
    by_dist *v = malloc((n ? n : 1) * sizeof *v);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!v || !order) {
        free(v), free(order);
        return NULL;
    }
    int64_t est = 0;
    pthread_mutex_lock(&ps->j->lock);
    for (size_t i = 0; i < n; i++) {
        const kk_store_segment *g = &ps->segs[ps->map[i]];
        int64_t a, b;
        entry *e = entry_of(ps->p, g->id);
        if (g->start_ms != KK_TIME_NONE) {
            a = g->start_ms, b = g->end_ms;
        } else if (e && e->placed) {
            a = e->start / MS, b = e->end / MS;
        } else {
            a = est;
            b = a + (int64_t)strlen(g->text ? g->text : "") * 60; /* about 16 characters a second */
        }
        est = b + ps->st.gap_ms;
        v[i].d = playhead_ms < a ? a - playhead_ms : playhead_ms > b ? playhead_ms - b : 0;
        v[i].i = i;
    }
    pthread_mutex_unlock(&ps->j->lock);
    qsort(v, n, sizeof *v, cmp_dist);
    for (size_t i = 0; i < n; i++)
        order[i] = v[i].i;
    free(v);
    return order;
}

/* Which segments go into a render: not those whose current content is
 * known to fail, nor those whose voice does not exist (marked failed). */
static kk_status select_segments(pass *ps, kk_render_segment **out, kk_error *err)
{
    srv_jobs *j = ps->j;
    kk_render_segment *rs = malloc((ps->n ? ps->n : 1) * sizeof *rs);
    if (!rs)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    ps->n_render = 0;
    for (size_t k = 0; k < ps->n; k++) {
        const kk_store_segment *g = &ps->segs[k];
        pthread_mutex_lock(&j->lock);
        entry *e = entry_of(ps->p, g->id);
        int failed = e && e->error && key_eq(&e->key, &ps->keys[k]);
        pthread_mutex_unlock(&j->lock);
        if (failed)
            continue;
        if (!srv_voice_known(j->env.voices, j->env.n_voices, seg_voice(&ps->st, g))) {
            char msg[512];
            snprintf(msg, sizeof msg, "unknown voice \"%.200s\"", seg_voice(&ps->st, g));
            fail_segment(ps, k, msg);
            continue;
        }
        rs[ps->n_render] = render_segment(g, &ps->st);
        ps->map[ps->n_render++] = k;
    }
    *out = rs;
    return KK_OK;
}

/* The message for the segment that failed: kk_render's, without the
 * "segment N: " it starts with (N is the render input's index, which means
 * nothing to the user). Which segment failed comes from the failure
 * report, never from the message. */
static const char *segment_message(const char *msg, size_t index)
{
    char prefix[40];
    int n = snprintf(prefix, sizeof prefix, "segment %zu: ", index);
    return n > 0 && !strncmp(msg, prefix, (size_t)n) ? msg + n : msg;
}

/* Typed text speaks at once: when the pass starts at the top of a text
 * (render order begins with the first segment, untimed, not ready), that
 * segment is rendered alone first, with every core (kk_render shares the
 * cores among the workers at work), instead of beside the next ones. Its
 * audio reaches the entry and its listeners through on_piece (and
 * place_early) as in the pass; the pass then finds it in the render cache
 * (an untimed segment's audio does not depend on its neighbours) and
 * announces nothing twice. Its failure is left for the pass to report. */
static void render_first_alone(pass *ps, const kk_render_segment *rs, const size_t *order, const kk_render_params *rp)
{
    srv_jobs *j = ps->j;
    if (!order || ps->n_render < 2 || order[0] != 0 || rs[0].start_ms != KK_TIME_NONE)
        return;
    pthread_mutex_lock(&j->lock);
    entry *e = entry_of(ps->p, ps->segs[ps->map[0]].id);
    int ready = e && !e->error && key_eq(&e->key, &ps->keys[ps->map[0]]) && e->version[0];
    pthread_mutex_unlock(&j->lock);
    if (ready)
        return;
    pass pre = *ps;
    pre.n_render = 1; /* map[0] is the first segment's: on_piece and place_early see it alone */
    kk_render_params pp = *rp;
    pp.order = NULL;
    pp.on_progress = NULL; /* the pass's progress counts the whole project */
    pp.user = &pre;
    kk_render_failure failure = {0};
    pp.failure = &failure;
    kk_render_result r = {0};
    kk_error err = {0};
    if (kk_render(j->env.tts, rs, 1, &pp, &r, &err) == KK_OK)
        kk_render_result_free(&r);
}

static void run_pass(srv_jobs *j, proj *p)
{
    const srv_jobs_env *s = &j->env;
    kk_error err = {0};
    kk_store_project sp = {0};
    pass ps = {.j = j, .p = p};
    if (kk_store_get_project(s->store, p->id, &sp, &err) != KK_OK) {
        if (err.code == KK_ERR_NOT_FOUND) {
            pthread_mutex_lock(&j->lock);
            p->deleted = 1;
            pthread_mutex_unlock(&j->lock);
        } else {
            jobs_log(j, "render: project %lld: %s", (long long)p->id, err.msg);
        }
        return;
    }
    srv_settings_parse(sp.settings_json, &ps.st);
    int64_t playhead = sp.playhead_ms;
    kk_store_project_free(&sp);
    if (kk_store_segments(s->store, p->id, &ps.segs, &ps.n, &err) != KK_OK) {
        jobs_log(j, "render: project %lld: %s", (long long)p->id, err.msg);
        return;
    }
    ps.keys = malloc((ps.n ? ps.n : 1) * sizeof *ps.keys);
    ps.map = malloc((ps.n ? ps.n : 1) * sizeof *ps.map);
    if (!ps.keys || !ps.map)
        goto out;
    for (size_t k = 0; k < ps.n; k++)
        ps.keys[k] = seg_key(&ps.st, &ps.segs[k]);
    
    /* What this pass renders, for the "rendering" status. */
    cJSON *evs = cJSON_CreateArray();
    pthread_mutex_lock(&j->lock);
    idmap_free(&p->pass_map);
    free(p->pass_keys);
    free(p->pass_active);
    p->pass_keys = malloc((ps.n ? ps.n : 1) * sizeof *p->pass_keys);
    p->pass_active = calloc(ps.n ? ps.n : 1, 1);
    p->pass_playhead = playhead;
    p->done = 0, p->total = ps.n;
    p->eta = -1; /* unknown until the pass says */
    /* Those it renders say "pending" until their synthesis begins
     * (on_start: "rendering"), so that only rows being made say so. */
    for (size_t k = 0; p->pass_keys && k < ps.n; k++) {
        p->pass_keys[k] = ps.keys[k];
        idmap_put(&p->pass_map, ps.segs[k].id, k);
        entry *e = entry_of(p, ps.segs[k].id);
        if (listening(&ps) && evs && e && !key_eq(&e->key, &ps.keys[k]))
            cJSON_AddItemToArray(evs, segment_event(ps.segs[k].id, "pending", NULL, NULL));
    }
    pthread_mutex_unlock(&j->lock);
    cJSON *ev;
    while (evs && (ev = cJSON_DetachItemFromArray(evs, 0)))
        srv_events_publish_json(j->env.events, p->id, "segment", ev);
    cJSON_Delete(evs);

    /* A segment that fails is set aside and the pass goes on without it. */
    for (size_t attempt = 0; attempt <= ps.n; attempt++) {
        kk_render_segment *rs = NULL;
        if (select_segments(&ps, &rs, &err) != KK_OK)
            break;
        size_t *order = playhead_order(&ps, playhead);
        kk_render_params rp = render_params(j, &ps.st);
        ps.lead_ms = rp.lead_ms, ps.gap_ms = rp.gap_ms;
        rp.order = order;
        rp.on_piece = on_piece;
        rp.on_start = on_start;
        rp.on_progress = on_progress;
        rp.abort = pass_abort;
        rp.user = &ps;
        kk_render_failure failure = {0};
        rp.failure = &failure;
        if (attempt == 0)
            render_first_alone(&ps, rs, order, &rp);
        kk_render_result r = {0};
        kk_status st = order ? kk_render(s->tts, rs, ps.n_render, &rp, &r, &err)
                             : kk_error_set(&err, KK_ERR_NOMEM, "out of memory");
        if (st == KK_OK && s->log_renders)
            jobs_log(j, "render: project %lld: %zu segments (%zu synthesised, %zu from the cache) in %.2f s",
                    (long long)p->id, ps.n_render, r.synthesized, r.from_cache, r.seconds);
        free(order);
        segment_words_free(rs, ps.n_render);
        free(rs);
        if (st == KK_OK) {
            place(&ps, &r);
            kk_render_result_free(&r);
            pthread_mutex_lock(&j->lock);
            p->done = p->total;
            pthread_mutex_unlock(&j->lock);
            if (listening(&ps))
                publish_progress(j, p, 0);
            break;
        }
        if (st == KK_ERR_ABORTED)
            break;
        size_t bad = failure.index; /* 1-based render input; 0: not one segment's */
        if (bad >= 1 && bad <= ps.n_render) {
            fail_segment(&ps, ps.map[bad - 1], segment_message(err.msg, bad));
            continue;
        }
        /* Not one segment's fault (memory, the cache): the stale segments
         * fail with the message; an edit tries again. */
        jobs_log(j, "render: project %lld: %s", (long long)p->id, err.msg);
        for (size_t k = 0; k < ps.n; k++) {
            pthread_mutex_lock(&j->lock);
            entry *e = entry_of(p, ps.segs[k].id);
            int ready = e && key_eq(&e->key, &ps.keys[k]);
            pthread_mutex_unlock(&j->lock);
            if (!ready)
                fail_segment(&ps, k, err.msg);
        }
        break;
    }
out:
    kk_store_segments_free(ps.segs, ps.n);
    free(ps.keys);
    free(ps.map);
}

/* The most recently used project that needs a pass and has been quiet
 * for QUIET_S; else NULL, with *wait_s the time until one will be (0:
 * none waits). */
static proj *pick(srv_jobs *j, double *wait_s)
{
    proj *best = NULL;
    double now = kk_now_s();
    *wait_s = 0;
    for (proj *p = j->projects; p; p = p->next) {
        if (!p->dirty || p->deleted)
            continue;
        double quiet = p->edited + QUIET_S - now;
        if (quiet > 0) {
            if (*wait_s == 0 || quiet < *wait_s)
                *wait_s = quiet;
        } else if (!best || p->touched > best->touched) {
            best = p;
        }
    }
    return best;
}

/* Under j's lock, with nothing to render: waits for work at most
 * IDLE_TRIM_S, and when the engine has worked before this rest and nothing
 * began during it (no pass, export or speech request), hands the heap's
 * free pages back to the system. The engine's activations are tens of MB
 * per call, freed into malloc's arenas; without this an idle server after
 * a load kept ~350 MB of free heap resident (bench/server_soak.sh). Once
 * per rest: `worked` is set again by the next piece of work. */
static void idle_rest(srv_jobs *j)
{
    int due = atomic_exchange(&j->worked, 0);
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += IDLE_TRIM_S;
    int woken = pthread_cond_timedwait(&j->cond, &j->lock, &t) == 0;
    if (woken || atomic_load(&j->worked) || atomic_load(&j->held) || j->exports || j->stop) {
        if (due)
            atomic_store(&j->worked, 1); /* the next rest trims */
        return;
    }
    if (!due)
        return;
    pthread_mutex_unlock(&j->lock);
    give_heap_back();
    pthread_mutex_lock(&j->lock);
}

static void *render_main(void *arg)
{
    srv_jobs *j = arg;
    pthread_mutex_lock(&j->lock);
    while (!j->stop) {
        double wait_s;
        proj *p = pick(j, &wait_s);
        if (!p && wait_s > 0) {
            struct timespec t;
            clock_gettime(CLOCK_REALTIME, &t);
            long ns = t.tv_nsec + (long)(wait_s * 1e9);
            t.tv_sec += ns / 1000000000L;
            t.tv_nsec = ns % 1000000000L;
            pthread_cond_timedwait(&j->cond, &j->lock, &t);
            continue;
        }
        if (!p) {
            idle_rest(j);
            continue;
        }
        p->dirty = 0;
        p->rendering = 1;
        j->current = p;
        atomic_store(&j->abort, 0);
        pthread_mutex_unlock(&j->lock);
        run_pass(j, p);
        atomic_store(&j->worked, 1);
        pthread_mutex_lock(&j->lock);
        p->rendering = 0;
        j->current = NULL;
        idmap_free(&p->pass_map);
        free(p->pass_keys);
        free(p->pass_active);
        p->pass_keys = NULL;
        p->pass_active = NULL;
        if (p->deleted) {
            unlink_proj(j, p);
            proj_free(j, p);
        }
        evict(j);
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

kk_status srv_jobs_start(const srv_jobs_env *env, srv_jobs **out, kk_error *err)
{
    srv_jobs *j = calloc(1, sizeof *j);
    if (!j)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    j->env = *env;
    j->budget = env->memory_bytes ? env->memory_bytes : DEFAULT_MEMORY_BYTES;
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->cond, NULL);
    pthread_cond_init(&j->stashed_cond, NULL);
    if (pthread_create(&j->thread, NULL, render_main, j)) {
        srv_jobs_free(j);
        return kk_error_set(err, KK_ERR_IO, "cannot start the render thread");
    }
    j->started = 1;
    *out = j;
    return KK_OK;
}

void srv_jobs_stop(srv_jobs *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    j->stop = 1;
    atomic_store(&j->abort, 1);
    pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&j->lock);
    if (j->started)
        pthread_join(j->thread, NULL);
    j->started = 0;
}

void srv_jobs_free(srv_jobs *j)
{
    if (!j)
        return;
    srv_jobs_stop(j);
    for (proj *p = j->projects, *n; p; p = n) {
        n = p->next;
        proj_free(j, p);
    }
    for (preview *v = j->previews, *n; v; v = n) {
        n = v->next;
        free(v->wav);
        free(v);
    }
    pthread_mutex_destroy(&j->lock);
    pthread_cond_destroy(&j->cond);
    pthread_cond_destroy(&j->stashed_cond);
    free(j);
}

void srv_jobs_touch(srv_jobs *j, int64_t project, int edited)
{
    pthread_mutex_lock(&j->lock);
    proj *p = get_or_add(j, project);
    if (p) {
        p->touched = kk_now_s();
        if (edited) {
            p->dirty = 1;
            p->edited = p->touched;
            if (j->current == p)
                atomic_store(&j->abort, 1);
        }
        if (p->dirty)
            pthread_cond_signal(&j->cond);
    }
    pthread_mutex_unlock(&j->lock);
}

void srv_jobs_created(srv_jobs *j, int64_t project)
{
    pthread_mutex_lock(&j->lock);
    proj *p = get_or_add(j, project);
    if (p) {
        p->touched = kk_now_s(); /* the most recent: pick() takes it next */
        p->dirty = 1;
        p->edited = 0; /* no quiet time */
        /* At most one such cancellation per PREEMPT_EVERY_S: a client
         * making projects in a loop must not keep every other pass
         * restarting (each restart loses the segment being synthesised). */
        double now = kk_now_s();
        if (j->current && j->current != p && now - j->last_preempt >= PREEMPT_EVERY_S) {
            j->current->dirty = 1; /* comes again after this one */
            j->last_preempt = now;
            atomic_store(&j->abort, 1);
        }
        pthread_cond_signal(&j->cond);
    }
    pthread_mutex_unlock(&j->lock);
}

void srv_jobs_playhead(srv_jobs *j, int64_t project, int64_t ms)
{
    pthread_mutex_lock(&j->lock);
    proj *p = find(j, project);
    if (p && j->current == p && llabs(ms - p->pass_playhead) > PLAYHEAD_JUMP_MS) {
        /* Far from where the pass started: start again from there (what
         * is done is cached). */
        p->dirty = 1;
        atomic_store(&j->abort, 1);
        pthread_cond_signal(&j->cond);
    }
    pthread_mutex_unlock(&j->lock);
}

void srv_jobs_forget(srv_jobs *j, int64_t project)
{
    pthread_mutex_lock(&j->lock);
    proj *p = find(j, project);
    if (p) {
        if (j->current == p) {
            p->deleted = 1; /* the render thread frees it */
            atomic_store(&j->abort, 1);
        } else {
            unlink_proj(j, p);
            proj_free(j, p);
        }
    }
    /* Its exports stop too: nobody wants the file of a project that is
     * gone (they answer 404). */
    for (srv_export *x = j->exports; x; x = x->next)
        if (x->project == project)
            atomic_store(&x->cancel, CANCEL_DELETED);
    pthread_mutex_unlock(&j->lock);
    trim(j, 0);
}

/* ---- renders on request ---- */

srv_export *srv_jobs_export_begin(srv_jobs *j, int64_t project, const char *kind, const char *format, srv_gone_fn gone,
                                  void *gone_user)
{
    srv_export *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->j = j;
    x->project = project;
    snprintf(x->kind, sizeof x->kind, "%s", kind ? kind : "");
    snprintf(x->format, sizeof x->format, "%s", format ? format : "");
    x->gone = gone;
    x->gone_user = gone_user;
    atomic_init(&x->cancel, CANCEL_NONE);
    pthread_mutex_init(&x->lock, NULL);
    x->t0 = kk_now_s();
    x->lock_fd = -1;
    pthread_mutex_lock(&j->lock);
    x->id = ++j->next_export_id;
    x->next = j->exports;
    j->exports = x;
    pthread_mutex_unlock(&j->lock);
    return x;
}

/* An "export" event on the project's streams (docs/api.md); force: also
 * within PROGRESS_EVERY_S of the last one (a new state). */
static void export_event(srv_export *x, const char *state, size_t done, size_t total, int force)
{
    if (!x->project)
        return;
    double now = kk_now_s();
    pthread_mutex_lock(&x->lock);
    int due = force || !x->state || strcmp(x->state, state) || now - x->last_event >= PROGRESS_EVERY_S;
    if (due)
        x->state = state, x->last_event = now;
    x->done = done, x->total = total;
    pthread_mutex_unlock(&x->lock);
    if (!due || !srv_events_listening(x->j->env.events, x->project))
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)x->id);
    cJSON_AddStringToObject(o, "kind", x->kind);
    cJSON_AddStringToObject(o, "format", x->format);
    cJSON_AddStringToObject(o, "state", state);
    cJSON_AddNumberToObject(o, "done", (double)done);
    cJSON_AddNumberToObject(o, "total", (double)total);
    if (!strcmp(state, "failed") && x->fail_status) { /* why, as its request answers */
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddNumberToObject(e, "status", (double)x->fail_status);
        cJSON_AddStringToObject(e, "code", x->fail_code);
        cJSON_AddStringToObject(e, "message", x->fail_msg ? x->fail_msg : "");
    }
    srv_events_publish_json(x->j->env.events, x->project, "export", o);
}

void srv_export_failed(srv_export *x, unsigned status, const char *code, const char *message)
{
    if (!x)
        return;
    x->fail_status = status;
    snprintf(x->fail_code, sizeof x->fail_code, "%s", code ? code : "");
    free(x->fail_msg);
    x->fail_msg = message ? strdup(message) : NULL; /* NULL (no memory): an empty message */
}

int srv_export_cancelled(srv_export *x)
{
    if (atomic_load(x->j->env.stopping) || atomic_load(&x->cancel))
        return 1;
    /* Called from every render worker: one asks at a time, the others go
     * on (trylock). */
    if (x->gone && !pthread_mutex_trylock(&x->lock)) {
        double now = kk_now_s();
        int gone = 0;
        if (now - x->polled >= GONE_POLL_S) {
            x->polled = now;
            gone = x->gone(x->gone_user);
        }
        pthread_mutex_unlock(&x->lock);
        if (gone) {
            atomic_store(&x->cancel, CANCEL_GONE);
            return 1;
        }
    }
    return 0;
}

kk_status srv_export_status(srv_export *x, kk_status st, kk_error *err)
{
    if (st != KK_ERR_ABORTED)
        return st;
    switch (atomic_load(&x->cancel)) {
        case CANCEL_DELETED:
            return kk_error_set(err, KK_ERR_NOT_FOUND, "project %lld was deleted during the export",
                                (long long)x->project);
        case CANCEL_GONE: return kk_error_set(err, KK_ERR_ABORTED, "the client went away");
        default: return kk_error_set(err, KK_ERR_ABORTED, "the server is stopping");
    }
}

int srv_export_writing(void *user, double fraction)
{
    srv_export *x = user;
    if (srv_export_cancelled(x))
        return 1;
    double pc = floor(fraction * 100);
    export_event(x, "writing", pc < 0 ? 0 : pc > 100 ? 100 : (size_t)pc, 100, 0);
    return 0;
}

/* The lock file of an export's temporary files: "export.<random>.tmp"; the
 * others begin with its name. */
#define TMP_PREFIX "export."
#define TMP_MARK ".tmp"
#define UPLOAD_PREFIX "upload."

kk_status srv_export_file(srv_export *x, const char *data_dir, const char *ext, const char **path, kk_error *err)
{
    char dir[PATH_MAX], base[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/tmp", data_dir);
    if (mkdir(dir, 0700) && errno != EEXIST)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot create the directory: %s", dir, strerror(errno));
    if (x->lock_path)
        return kk_error_set(err, KK_ERR_ARG, "an export has one file");
    snprintf(base, sizeof base, "%s/export", dir);
    int fd = kk_tmpfile_create(base, &x->lock_path); /* "export.<random>.tmp" */
    if (fd < 0)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot create a file: %s", dir, strerror(errno));
    x->lock_fd = fd;
    /* Held until the export ends: a server starting on the same data
     * directory meanwhile leaves these files alone (srv_export_sweep). */
    if (flock(fd, LOCK_EX | LOCK_NB))
        return kk_error_set(err, KK_ERR_IO, "%s: cannot lock it: %s", x->lock_path, strerror(errno));
    size_t n = strlen(x->lock_path) + strlen(ext) + 1;
    if (!(x->out_path = malloc(n)))
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    snprintf(x->out_path, n, "%s%s", x->lock_path, ext);
    *path = x->out_path;
    return KK_OK;
}

void srv_export_end(srv_export *x, kk_status st)
{
    if (!x)
        return;
    srv_jobs *j = x->j;
    pthread_mutex_lock(&j->lock);
    for (srv_export **pp = &j->exports; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            break;
        }
    atomic_store(&j->worked, 1); /* the idle trim is due again */
    pthread_mutex_unlock(&j->lock);
    /* The file goes with the request, however it ended (the reply holds
     * its own descriptor of a finished one). */
    if (x->out_path)
        unlink(x->out_path);
    if (x->lock_path)
        unlink(x->lock_path);
    if (x->lock_fd >= 0)
        close(x->lock_fd);
    int why = atomic_load(&x->cancel);
    const char *state = st == KK_OK ? "done" : st == KK_ERR_ABORTED || why ? "cancelled" : "failed";
    export_event(x, state, st == KK_OK ? x->total : x->done, x->total, 1);
    char proj_[48] = "";
    if (x->project)
        snprintf(proj_, sizeof proj_, " of project %lld", (long long)x->project);
    if (st != KK_OK && (why || st == KK_ERR_ABORTED))
        jobs_log(j, "export: %s%s%s%s cancelled after %.1f s (%s)", x->kind, x->format[0] ? " " : "", x->format, proj_,
                 kk_now_s() - x->t0,
                 why == CANCEL_DELETED ? "the project was deleted"
                 : why == CANCEL_GONE  ? "the client went away"
                                       : "the server is stopping");
    else if (st != KK_OK && x->fail_status)
        jobs_log(j, "export: %s%s%s%s failed after %.1f s (%u %s: %s)", x->kind, x->format[0] ? " " : "", x->format,
                 proj_, kk_now_s() - x->t0, x->fail_status, x->fail_code, x->fail_msg ? x->fail_msg : "");
    pthread_mutex_destroy(&x->lock);
    free(x->lock_path);
    free(x->out_path);
    free(x->fail_msg);
    free(x);
}

/* Whether another server's export holds this lock file now. */
static int tmp_in_use(int dfd, const char *lock_name)
{
    int fd = openat(dfd, lock_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int busy = flock(fd, LOCK_EX | LOCK_NB) && errno == EWOULDBLOCK;
    close(fd); /* and the lock, if we took it */
    return busy;
}

kk_status srv_export_sweep(const char *data_dir, size_t *removed, kk_error *err)
{
    *removed = 0;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/tmp", data_dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return errno == ENOENT ? KK_OK
                               : kk_error_set(err, KK_ERR_IO, "%s: cannot open the directory to clean it: %s", dir,
                                              strerror(errno));
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return kk_error_set(err, KK_ERR_IO, "%s: cannot read the directory: %s", dir, strerror(errno));
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *name = de->d_name, *mark = strstr(name, TMP_MARK);
        struct stat st;
        /* exports', and the uploads' of media.c (srv_upload_begin) */
        if ((strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) && strncmp(name, UPLOAD_PREFIX, strlen(UPLOAD_PREFIX))) ||
            !mark ||
            fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
            continue; /* not ours: left alone */
        char lock_name[NAME_MAX + 1];
        snprintf(lock_name, sizeof lock_name, "%.*s", (int)(mark - name + strlen(TMP_MARK)), name);
        if (!tmp_in_use(dfd, lock_name) && !unlinkat(dfd, name, 0))
            (*removed)++;
    }
    closedir(d);
    return KK_OK;
}

/* kk_render's callbacks for a render on request (user: the srv_export). */
static int export_abort(void *user) { return srv_export_cancelled(user); }

static void export_progress(void *user, size_t done, size_t total, double eta)
{
    (void)eta;
    export_event(user, "rendering", done, total, done == total);
}

static int same_speaker(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

kk_status srv_jobs_speakers(srv_jobs *j, int64_t project, char ***out, size_t *n, kk_error *err)
{
    *out = NULL, *n = 0;
    kk_store_segment *segs = NULL;
    size_t ns = 0;
    kk_status st = kk_store_segments(j->env.store, project, &segs, &ns, err);
    if (st != KK_OK)
        return st;
    char **v = malloc((ns ? ns : 1) * sizeof *v);
    size_t m = 0;
    if (!v)
        st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == KK_OK && i < ns; i++) {
        size_t k = 0;
        while (k < m && !same_speaker(v[k], segs[i].speaker))
            k++;
        if (k < m)
            continue;
        v[m] = segs[i].speaker ? strdup(segs[i].speaker) : NULL;
        if (segs[i].speaker && !v[m])
            st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
        else
            m++;
    }
    kk_store_segments_free(segs, ns);
    if (st != KK_OK) {
        for (size_t k = 0; k < m; k++)
            free(v[k]);
        free(v);
        return st;
    }
    *out = v, *n = m;
    return KK_OK;
}

kk_status srv_jobs_render_now(srv_jobs *j, srv_export *x, const srv_render_opts *o, kk_render_result *out,
                              kk_error *err)
{
    const srv_jobs_env *s = &j->env;
    int64_t project = x->project;
    memset(out, 0, sizeof *out);
    kk_store_project sp = {0};
    kk_status st = kk_store_get_project(s->store, project, &sp, err);
    if (st != KK_OK)
        return st;
    pass ps = {.j = j};
    srv_settings_parse(sp.settings_json, &ps.st);
    kk_store_project_free(&sp);
    if ((st = kk_store_segments(s->store, project, &ps.segs, &ps.n, err)) != KK_OK)
        return st;
    kk_render_segment *rs = malloc((ps.n ? ps.n : 1) * sizeof *rs);
    ps.keys = malloc((ps.n ? ps.n : 1) * sizeof *ps.keys);
    size_t m = 0;
    if (!rs || !ps.keys)
        st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    for (size_t k = 0; st == KK_OK && k < ps.n; k++) {
        const kk_store_segment *g = &ps.segs[k];
        kk_cache_key key = seg_key(&ps.st, g);
        pthread_mutex_lock(&j->lock);
        proj *p = find(j, project);
        entry *e = p ? entry_of(p, g->id) : NULL;
        int failed = e && e->error && key_eq(&e->key, &key);
        pthread_mutex_unlock(&j->lock);
        /* What cannot be rendered stays out, as in the background. */
        if (!failed && srv_voice_known(s->voices, s->n_voices, seg_voice(&ps.st, g))) {
            rs[m] = render_segment(g, &ps.st);
            rs[m++].mute = o && o->solo && !same_speaker(o->speaker, g->speaker);
        }
    }
    if (st == KK_OK) {
        kk_render_params rp = render_params(j, &ps.st);
        if (o && o->normalize) {
            rp.normalize = 1;
            if (o->target_lufs)
                rp.loudness.target_lufs = o->target_lufs;
        }
        rp.abort = export_abort;
        rp.on_progress = export_progress;
        rp.user = x;
        /* An export is written from the track in pieces: a long one (an
         * audiobook) waits in an unlinked file in $TMPDIR rather than in
         * memory, past the same budget as the studio's audio. */
        rp.memory_limit = s->memory_bytes ? s->memory_bytes : (size_t)256 << 20;
        export_event(x, "rendering", 0, m, 1);
        st = srv_export_status(x, kk_render(s->tts, rs, m, &rp, out, err), err);
    }
    segment_words_free(rs, m);
    free(rs);
    free(ps.keys);
    kk_store_segments_free(ps.segs, ps.n);
    return st;
}

/* Something to say in each language, by the voice's first letter (the
 * languages the engine reads: srv_voice_unsupported keeps the others
 * out). */
static const char *preview_text(const char *voice)
{
    switch (voice[0]) {
        case 'e': return "Hola, esta es mi voz. Bienvenido a Kokoro Studio.";
        case 'f': return "Bonjour, voici ma voix. Bienvenue dans Kokoro Studio.";
        case 'i': return "Ciao, questa è la mia voce. Benvenuto in Kokoro Studio.";
        case 'p': return "Olá, esta é a minha voz. Bem-vindo ao Kokoro Studio.";
        case 'h': return "नमस्ते, यह मेरी आवाज़ है।";
        default: return "Hello, this is my voice. Welcome to Kokoro Studio.";
    }
}

kk_status srv_jobs_preview(srv_jobs *j, const char *voice, srv_export *x, char **wav, size_t *len, kk_error *err)
{
    const char *why = srv_voice_unsupported(voice);
    if (why)
        return kk_error_set(err, KK_ERR_UNSUPPORTED, "%.100s: %s", voice, why);
    pthread_mutex_lock(&j->lock);
    for (preview *v = j->previews; v; v = v->next)
        if (!strcmp(v->voice, voice)) {
            *wav = malloc(v->len);
            if (*wav)
                memcpy(*wav, v->wav, v->len), *len = v->len;
            pthread_mutex_unlock(&j->lock);
            return *wav ? KK_OK : kk_error_set(err, KK_ERR_NOMEM, "out of memory");
        }
    pthread_mutex_unlock(&j->lock);
    kk_render_segment seg = {
        .text = preview_text(voice), .start_ms = KK_TIME_NONE, .end_ms = KK_TIME_NONE, .voice = voice, .pitch = NAN};
    kk_render_params rp = kk_render_default_params();
    rp.voice = voice;
    rp.precision = j->env.precision;
    rp.cache = j->env.cache;
    rp.workers = 1;
    rp.abort = export_abort;
    rp.user = x;
    kk_render_result r = {0};
    kk_status st = srv_export_status(x, kk_render(j->env.tts, &seg, 1, &rp, &r, err), err);
    if (st != KK_OK)
        return st;
    *wav = kk_wav_memory(r.samples, r.n_samples, KK_SAMPLE_RATE, len);
    kk_render_result_free(&r);
    if (!*wav)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    preview *v = calloc(1, sizeof *v);
    if (v && (v->wav = malloc(*len))) {
        memcpy(v->wav, *wav, *len);
        v->len = *len;
        snprintf(v->voice, sizeof v->voice, "%s", voice);
        pthread_mutex_lock(&j->lock);
        v->next = j->previews;
        j->previews = v;
        pthread_mutex_unlock(&j->lock);
    } else {
        free(v);
    }
    return KK_OK;
}
