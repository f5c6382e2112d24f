/*
 * render.c - see render.h. Owns the timeline: turning segments into jobs,
 * the worker pool that renders them through the cache, the fit of long
 * speech into its cue, and the placement of everything on one track.
 *
 * A job's audio depends only on the job (its text, voice, speed, pitch, its
 * cue's length), never on which worker ran it or on the other jobs, so the
 * track is the same for any number of workers. Placement, which does look at
 * neighbours (the gap before the next cue, untimed segments following each
 * other), happens afterwards on one thread.
 *
 * With a job backend (backend.h) the misses of the cache-only pass go to
 * it first; an answered job is read back through the same cache-only path
 * (the backend's tier behind the local cache), so its audio is what this
 * file would have made. kk_render_job_run is the other end: one job
 * rendered as render_job renders a segment, every cache entry it touches
 * handed to the worker.
 */
#include "render.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "backend.h"
#include "kk_emphasis.h"
#include "kk_time.h"
#include "tmpfile.h"
#include "track.h"

#define MS (KK_SAMPLE_RATE / 1000) /* samples per millisecond */
/* Bumped when what is cached for a segment changes (the trim, the blob). */
#define RENDER_VERSION 2
/* The trim keeps sound above this level, with margins. */
#define TRIM_LEVEL 0.004f
#define TRIM_HEAD (5 * MS)
#define TRIM_TAIL (40 * MS)
#define FADE (8 * MS) /* fade-out at a cut */
/* Speech this much longer than its cue is left as it is (it runs into the
 * silence after the cue): not worth a re-synthesis or a stretch. */
#define FIT_SLACK (40 * MS)
/* A predicted length must exceed its cue by this much to be acted on. */
#define PREDICT_MARGIN (150 * MS)

kk_render_params kk_render_default_params(void)
{
    kk_loudness_params lp = kk_loudness_default_params();
    return (kk_render_params){
        .voice = "af_heart",
        .speed = 1.0f,
        .fit = {.enabled = 1, .max_speed = 1.25f, .max_stretch = 1.2, .use_gap = 1, .overflow = KK_OVERFLOW_OVERLAP},
        .gap_ms = 500,
        .loudness = lp,
    };
}

/* ---- the voice map ---- */

kk_status kk_render_check_voice_map(const char *map, kk_error *err)
{
    if (!map || !*map)
        return KK_OK;
    const char *p = map;
    for (;;) {
        const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (!eq || eq == p || eq + 1 == end)
            return kk_error_set(err, KK_ERR_ARG,
                                "voice map \"%s\": \"%.*s\" is not SPEAKER=VOICE "
                                "(write Anna=af_heart,Ben=am_adam)",
                                map, (int)(end - p), p);
        if (!comma)
            return KK_OK;
        p = comma + 1;
    }
}

/* The voice the map gives speaker, copied; NULL when none. */
static char *map_voice(const char *map, const char *speaker)
{
    if (!map || !speaker)
        return NULL;
    size_t sl = strlen(speaker);
    for (const char *p = map; p && *p;) {
        const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq && (size_t)(eq - p) == sl && strncmp(p, speaker, sl) == 0)
            return strndup(eq + 1, (size_t)(end - eq - 1));
        p = comma ? comma + 1 : NULL;
    }
    return NULL;
}

/* ---- one rendered piece of audio, as cached ---- */

typedef struct {
    float *samples;
    size_t n;
    kk_render_word *words; /* sample times within the piece */
    size_t n_words;
    /* The engine's durations before speed and rounding, every chunk's in
     * turn (kk_forward.h): what the length would be at another speed. */
    float *raw;
    size_t n_raw;
} piece;

static void piece_free(piece *a)
{
    free(a->samples);
    free(a->words);
    free(a->raw);
    memset(a, 0, sizeof *a);
}

/* Blob: "KKR2", u32 n_words, u32 n_raw, u64 n, n floats, n_raw floats,
 * n_words x {u64 text_start, text_end; i64 start, end}. The cache checks
 * integrity; this checks shape. */
static void *piece_pack(const piece *a, size_t *len)
{
    size_t n = 20 + (a->n + a->n_raw) * sizeof(float) + a->n_words * 32;
    unsigned char *b = malloc(n), *e = b;
    if (!b)
        return NULL;
    uint32_t nw = (uint32_t)a->n_words, nr = (uint32_t)a->n_raw;
    uint64_t ns = a->n;
    memcpy(e, "KKR2", 4), e += 4;
    memcpy(e, &nw, 4), e += 4;
    memcpy(e, &nr, 4), e += 4;
    memcpy(e, &ns, 8), e += 8;
    /* A stretched piece has no raw durations (raw NULL): memcpy may not be
     * handed NULL even for no bytes. */
    if (a->n)
        memcpy(e, a->samples, a->n * sizeof(float)), e += a->n * sizeof(float);
    if (a->n_raw)
        memcpy(e, a->raw, a->n_raw * sizeof(float)), e += a->n_raw * sizeof(float);
    for (size_t i = 0; i < a->n_words; i++) {
        const kk_render_word *w = &a->words[i];
        uint64_t v[4] = {w->text_start, w->text_end, (uint64_t)w->start_sample, (uint64_t)w->end_sample};
        memcpy(e, v, 32), e += 32;
    }
    *len = n;
    return b;
}

static int piece_unpack(const void *blob, size_t len, piece *a)
{
    const unsigned char *b = blob;
    uint32_t nw, nr;
    uint64_t ns;
    if (len < 20 || memcmp(b, "KKR2", 4))
        return -1;
    memcpy(&nw, b + 4, 4);
    memcpy(&nr, b + 8, 4);
    memcpy(&ns, b + 12, 8);
    if (ns > (len - 20) / sizeof(float) || len != 20 + (ns + nr) * sizeof(float) + (uint64_t)nw * 32)
        return -1;
    memset(a, 0, sizeof *a);
    a->samples = malloc((ns ? ns : 1) * sizeof(float));
    a->raw = malloc((nr ? nr : 1) * sizeof(float));
    a->words = malloc((nw ? nw : 1) * sizeof *a->words);
    if (!a->samples || !a->words || !a->raw) {
        piece_free(a);
        return -1;
    }
    const unsigned char *e = b + 20;
    memcpy(a->samples, e, ns * sizeof(float)), e += ns * sizeof(float);
    memcpy(a->raw, e, nr * sizeof(float)), e += nr * sizeof(float);
    a->n = ns, a->n_raw = nr;
    for (uint32_t i = 0; i < nw; i++, e += 32) {
        uint64_t v[4];
        memcpy(v, e, 32);
        if (v[0] > v[1] || (int64_t)v[2] > (int64_t)v[3] || v[3] > ns) {
            piece_free(a);
            return -1;
        }
        a->words[i] = (kk_render_word){v[0], v[1], (int64_t)v[2], (int64_t)v[3]};
    }
    a->n_words = nw;
    return 0;
}

/* ---- jobs ---- */

typedef struct render_ctx render_ctx;

typedef struct {
    size_t index; /* input order, 0-based */
    const char *text;
    int64_t start_ms, end_ms;
    int64_t next_start_ms; /* the next cue's start in time order; KK_TIME_NONE
                              when none */
    char *voice;
    const char *speaker; /* the caller's, NULL when none */
    int mute;            /* left out of the track (kk_render_segment.mute) */
    float speed;
    double pitch;
    /* results */
    piece audio;
    int64_t natural;
    float speed_used;
    double stretch;
    int cached;  /* every piece came from the cache */
    int silent;  /* nothing to say */
    int pending; /* a cache-only pass missed: render it in the second pass */
    int spooled; /* audio.samples set aside in render_ctx.spool at spool_at */
    uint64_t spool_at;
    int remote;  /* rendered by a job backend, now complete */
    /* its fit: params.fit's, or its own (kk_render_segment.fit) */
    int fit_enabled;
    kk_overflow overflow;
    int fit_words;
    /* fit.words (prosody mapping) */
    const kk_word *targets; /* the segment's word times; NULL: none */
    size_t n_targets;
    int word_fit;   /* spoken with its words at their times */
    char *fit_note; /* why it was not: which words (malloc'd); NULL */
    int64_t lead;   /* samples of its audio placed before the cue's start */
} job;


struct render_ctx {
    kk_tts *tts;
    const kk_render_params *p;
    kk_cache *cache;        /* p->cache, or the render's own when a backend needs one */
    const char *voices_key; /* key material for the voices: the client's directory */
    kk_precision precision; /* what the engine runs at (kk_tts_precision of p->precision) */
    const char *identity;   /* kk_tts_identity_for(precision): key material for the model */
    kk_render_entry_fn record; /* every entry touched: NULL unless a worker (kk_render_job_run) */
    void *record_user;
    job *jobs;
    size_t n;
    /* The jobs of the current pass: first all of them, from the cache only
     * (cache_only), then those that missed, synthesised with the cores
     * shared among as many workers as there are such jobs. */
    size_t *todo, n_todo;
    int cache_only;
    int threads; /* engine threads per worker in this pass */
    atomic_size_t next;
    atomic_int stop;      /* an error or an abort: workers stop taking jobs */
    pthread_mutex_t lock; /* callbacks, first error, counters */
    kk_error err;
    kk_status status;
    size_t fail_index; /* the first error's segment, 1-based; 0: not one segment's */
    size_t done;
    double weight_total, weight_done;
    double weight_made; /* of weight_done, the synthesised segments' (the rate the rest goes at) */
    double t0; /* kk_now_s() at the start */
    int put_warned;
    /* With a memory limit (kk_render_params.memory_limit): the bytes of
     * segment audio held in jobs, and the file the rest goes to. */
    size_t held;
    kk_track *spool;
};

static void warn(render_ctx *c, size_t index, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warn(render_ctx *c, size_t index, const char *fmt, ...)
{
    if (!c->p->on_warning)
        return;
    char msg[KK_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&c->lock);
    c->p->on_warning(c->p->user, index + 1, msg);
    pthread_mutex_unlock(&c->lock);
}

/* The first error wins; it stops the other workers. index: the segment
 * that caused it (1-based), 0 when it is not one segment's (kk_render_failure). */
static void fail_at(render_ctx *c, const kk_error *e, size_t index)
{
    pthread_mutex_lock(&c->lock);
    if (c->status == KK_OK) {
        c->status = e->code;
        c->err = *e;
        c->fail_index = index;
    }
    pthread_mutex_unlock(&c->lock);
    atomic_store(&c->stop, 1);
}

static void fail(render_ctx *c, const kk_error *e) { fail_at(c, e, 0); }

static int aborted(render_ctx *c)
{
    if (atomic_load(&c->stop))
        return 1;
    if (c->p->abort && c->p->abort(c->p->user)) {
        atomic_store(&c->stop, 1);
        return 1;
    }
    return 0;
}

/* Collects a segment's chunks into one piece; carries the context for the
 * abort check (the synthesis callbacks share one user pointer). */
typedef struct {
    piece a;
    int oom;
    render_ctx *c;
} collect_state;

static int synth_abort(void *user) { return aborted(((collect_state *)user)->c); }

static int on_chunk(void *user, const kk_tts_chunk *ch)
{
    collect_state *s = user;
    float *v = realloc(s->a.samples, (s->a.n + ch->n_samples + 1) * sizeof *v);
    kk_render_word *w = realloc(s->a.words, (s->a.n_words + ch->n_words + 1) * sizeof *w);
    float *raw = realloc(s->a.raw, (s->a.n_raw + ch->n_durations + 1) * sizeof *raw);
    if (v)
        s->a.samples = v;
    if (w)
        s->a.words = w;
    if (raw)
        s->a.raw = raw;
    if (!v || !w || !raw)
        return s->oom = 1;
    if (ch->raw_durations)
        memcpy(raw + s->a.n_raw, ch->raw_durations, ch->n_durations * sizeof *raw);
    s->a.n_raw += ch->raw_durations ? ch->n_durations : 0;
    memcpy(v + s->a.n, ch->samples, ch->n_samples * sizeof *v);
    for (size_t i = 0; i < ch->n_words; i++)
        w[s->a.n_words++] = (kk_render_word){ch->words[i].text_start, ch->words[i].text_end,
                                             (int64_t)(s->a.n + ch->words[i].start_sample),
                                             (int64_t)(s->a.n + ch->words[i].end_sample)};
    s->a.n += ch->n_samples;
    return 0;
}

/* Cuts the engine's silence at both ends (with margins) so that a segment's
 * sound starts where it is placed. */
static void trim(piece *a)
{
    size_t first = 0, last = a->n;
    while (first < a->n && fabsf(a->samples[first]) < TRIM_LEVEL)
        first++;
    while (last > first && fabsf(a->samples[last - 1]) < TRIM_LEVEL)
        last--;
    if (first == a->n) { /* all silence */
        a->n = 0;
        a->n_words = 0;
        return;
    }
    size_t from = first > TRIM_HEAD ? first - TRIM_HEAD : 0;
    size_t to = last + TRIM_TAIL < a->n ? last + TRIM_TAIL : a->n;
    memmove(a->samples, a->samples + from, (to - from) * sizeof *a->samples);
    a->n = to - from;
    for (size_t i = 0; i < a->n_words; i++) {
        kk_render_word *w = &a->words[i];
        w->start_sample = w->start_sample > (int64_t)from ? w->start_sample - (int64_t)from : 0;
        w->end_sample = w->end_sample > (int64_t)from ? w->end_sample - (int64_t)from : 0;
        if (w->start_sample > (int64_t)a->n)
            w->start_sample = (int64_t)a->n;
        if (w->end_sample > (int64_t)a->n)
            w->end_sample = (int64_t)a->n;
    }
}

static kk_cache_key base_key(render_ctx *c, const job *j, const char *phonemes, float speed)
{
    kk_cache_key_builder b;
    kk_cache_key_init(&b);
    kk_cache_key_add_str(&b, "kokoro-segment");
    kk_cache_key_add_i64(&b, RENDER_VERSION);
    kk_cache_key_add_str(&b, c->identity);
    kk_cache_key_add_str(&b, c->voices_key);
    kk_cache_key_add_str(&b, j->voice);
    kk_cache_key_add_str(&b, j->text); /* word spans point into it */
    kk_cache_key_add_str(&b, phonemes);
    kk_cache_key_add_f64(&b, (double)speed);
    return kk_cache_key_final(&b);
}

static kk_cache_key processed_key(const kk_cache_key *base, double stretch, double pitch)
{
    kk_cache_key_builder b;
    kk_cache_key_init(&b);
    kk_cache_key_add_str(&b, "kokoro-processed");
    kk_cache_key_add(&b, base->bytes, sizeof base->bytes);
    kk_cache_key_add_f64(&b, stretch);
    kk_cache_key_add_f64(&b, pitch);
    return kk_cache_key_final(&b);
}

/* An entry of the cache: the local cache, then the job backend's tier (a
 * hit there lands in the local cache). 1 on a hit (*blob malloc'd), 0 on
 * a miss, -1 on an error (reported). */
static int blob_get(render_ctx *c, const kk_cache_key *key, void **blob, size_t *len)
{
    *blob = NULL;
    *len = 0;
    if (!c->cache)
        return 0;
    kk_error e;
    if (kk_cache_get(c->cache, key, blob, len, &e) != KK_OK) {
        fail(c, &e);
        return -1;
    }
    kk_render_backend *bk = c->p->backend;
    if (!*blob && bk && bk->ops->fetch && bk->ops->fetch(bk, key, blob, len) == 1) {
        /* A failed local write costs a fetch next time, nothing else: the
         * entry is in hand. */
        kk_error pe;
        (void)kk_cache_put(c->cache, key, *blob, *len, &pe);
    }
    if (!*blob)
        return 0;
    if (c->record)
        c->record(c->record_user, key, *blob, *len);
    return 1;
}

static kk_status blob_put(render_ctx *c, const kk_cache_key *key, const void *blob, size_t len, kk_error *e)
{
    if (c->record)
        c->record(c->record_user, key, blob, len);
    return kk_cache_put(c->cache, key, blob, len, e);
}

/* Looks key up; 1 on a hit (a filled), 0 on a miss, -1 on an error. */
static int cache_get(render_ctx *c, const kk_cache_key *key, piece *a)
{
    void *blob = NULL;
    size_t len = 0;
    int hit = blob_get(c, key, &blob, &len);
    if (hit <= 0)
        return hit;
    int ok = piece_unpack(blob, len, a) == 0;
    free(blob);
    return ok;
}

static void cache_put(render_ctx *c, const job *j, const kk_cache_key *key, const piece *a)
{
    if (!c->cache)
        return;
    size_t len;
    void *blob = piece_pack(a, &len);
    kk_error e;
    if (!blob) {
        kk_error_set(&e, KK_ERR_NOMEM, "out of memory");
        fail(c, &e);
        return;
    }
    if (blob_put(c, key, blob, len, &e) != KK_OK) {
        pthread_mutex_lock(&c->lock);
        int first = !c->put_warned;
        c->put_warned = 1;
        pthread_mutex_unlock(&c->lock);
        if (first) /* the render goes on; the next run renders again */
            warn(c, j->index, "could not store rendered audio in the cache: %s", e.msg);
    }
    free(blob);
}

/* A segment's own error (an unknown voice, a text the engine refuses):
 * the message, for people, is prefixed with the segment; the index is kept
 * as data for kk_render_params.failure. */
static void fail_segment(render_ctx *c, kk_error *e, const job *j)
{
    char msg[KK_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", e->msg);
    kk_error_set(e, e->code, "segment %zu: %.1000s", j->index + 1, msg);
    fail_at(c, e, j->index + 1);
}

/* Runs the engine on a segment's script, its chunks to fn with cs; on an
 * error (an unknown voice, say: the message names the segment) the render
 * stops. 0 or -1. */
static int speak_with(render_ctx *c, job *j, const kk_tts_script *script, float speed, int durations_only,
                      const int *const *durs, const size_t *n_ids_of, kk_tts_chunk_fn fn, collect_state *cs)
{
    kk_synth_params sp = kk_synth_default_params();
    sp.voice = j->voice;
    sp.lang = c->p->lang;
    sp.speed = speed;
    sp.threads = c->threads;
    sp.precision = c->precision;
    sp.durations_only = durations_only;
    sp.abort = synth_abort;
    sp.on_chunk = fn;
    sp.user = cs;
    sp.durations = durs;
    sp.n_ids_of = n_ids_of;
    sp.n_durations = durs ? kk_tts_script_chunks(script) : 0;
    kk_error e;
    kk_status st = kk_tts_speak(c->tts, script, &sp, &e);
    if (st == KK_OK && cs->oom)
        st = kk_error_set(&e, KK_ERR_NOMEM, "out of memory");
    if (st == KK_OK)
        return 0;
    piece_free(&cs->a);
    if (st == KK_ERR_ABORTED)
        fail(c, &e);
    else
        fail_segment(c, &e, j);
    return -1;
}

static int speak(render_ctx *c, job *j, const kk_tts_script *script, float speed, int durations_only,
                 kk_tts_chunk_fn fn, collect_state *cs)
{
    return speak_with(c, j, script, speed, durations_only, NULL, NULL, fn, cs);
}

/* The segment's speech at a speed: from the cache, or synthesised (and
 * trimmed) and cached. 0 on success, 1 on a miss in a cache-only pass, -1
 * on an error. */
static int speech_at(render_ctx *c, job *j, const kk_tts_script *script, float speed, piece *a, kk_cache_key *key)
{
    *key = base_key(c, j, kk_tts_script_phonemes(script), speed);
    int hit = cache_get(c, key, a);
    if (hit < 0)
        return -1;
    if (hit)
        return 0;
    if (c->cache_only)
        return 1;
    j->cached = 0;
    collect_state cs = {.c = c};
    if (speak(c, j, script, speed, 0, on_chunk, &cs))
        return -1;
    trim(&cs.a);
    *a = cs.a;
    cache_put(c, j, key, a);
    return 0;
}

static int64_t cue_samples(const job *j)
{
    return j->start_ms == KK_TIME_NONE ? INT64_MAX : (j->end_ms - j->start_ms) * MS;
}

/* Longer than the cue by more than the slack (want is INT64_MAX untimed). */
static int too_long(const piece *a, int64_t want) { return (int64_t)a->n > want && (int64_t)a->n - want > FIT_SLACK; }

/* Frames the engine gives at a speed, from its raw durations (kk_forward.h:
 * the same float arithmetic as the engine's). */
static int64_t frames_at(const piece *a, float speed)
{
    int64_t f = 0;
    for (size_t i = 0; i < a->n_raw; i++) {
        float r = rintf(a->raw[i] / speed);
        f += r < 1.0f ? 1 : (int64_t)r;
    }
    return f;
}

/* The slowest speed, in steps of 0.01 up to cap, at which the speech (a, at
 * speed) is predicted to fit in want samples: the length changes by the
 * change in frames, the trimmed silence around it staying about the same.
 * One synthesis at the speed found, instead of trying speeds one by one. */
static float fitting_speed(const piece *a, float speed, float cap, int64_t want)
{
    int64_t f0 = frames_at(a, speed);
    float s = speed;
    for (int k = 1; s < cap; k++) {
        s = speed + 0.01f * (float)k;
        if (s > cap)
            s = cap;
        if ((int64_t)a->n + (frames_at(a, s) - f0) * KK_SAMPLES_PER_FRAME <= want)
            break;
    }
    return s;
}

/* Collects what a prediction says: the raw durations, the length, and
 * what the trim would cut (the pads' frames at both ends, the last pause). */
typedef struct {
    collect_state base;          /* first: the engine's callbacks see a collect_state */
    int64_t first_pad, last_pad; /* frames */
    size_t last_pause;
    int seen;
} predict_state;

static int on_prediction(void *user, const kk_tts_chunk *ch)
{
    predict_state *s = user;
    piece *a = &s->base.a;
    float *raw = realloc(a->raw, (a->n_raw + ch->n_durations + 1) * sizeof *raw);
    if (!raw)
        return s->base.oom = 1;
    a->raw = raw;
    if (ch->raw_durations)
        memcpy(raw + a->n_raw, ch->raw_durations, ch->n_durations * sizeof *raw);
    a->n_raw += ch->raw_durations ? ch->n_durations : 0;
    if (ch->n_durations >= 2) {
        if (!s->seen)
            s->first_pad = ch->durations[0], s->seen = 1;
        /* the trailing pad, and the silence of the punctuation before it
         * (one id per symbol) */
        s->last_pad = ch->durations[ch->n_durations - 1];
        size_t k = ch->n_durations - 1, len = ch->phonemes ? strlen(ch->phonemes) : 0;
        while (k > 1 && len > 0 && strchr(".,!?;:\"()", ch->phonemes[len - 1]))
            s->last_pad += ch->durations[--k], len--;
    }
    a->n += ch->n_samples;
    s->last_pause = ch->pause_samples;
    return 0;
}

/* The model speed a segment is made at: its own, or a faster one (up to
 * cap) when its natural speech is predicted longer than want. The choice
 * is cached (key: the natural speech's key and the limits), so a render
 * that meets the segment again needs no prediction. 0, 1 (a miss in a
 * cache-only pass) or -1 (an error). */
static int predicted_speed(render_ctx *c, job *j, const kk_tts_script *script, float cap, int64_t want, float *out)
{
    kk_cache_key natural = base_key(c, j, kk_tts_script_phonemes(script), j->speed);
    kk_cache_key_builder b;
    kk_cache_key_init(&b);
    kk_cache_key_add_str(&b, "kokoro-fit-speed");
    kk_cache_key_add(&b, natural.bytes, sizeof natural.bytes);
    kk_cache_key_add_f64(&b, (double)cap);
    kk_cache_key_add_i64(&b, want);
    kk_cache_key key = kk_cache_key_final(&b);
    *out = j->speed;
    if (c->cache) {
        void *blob = NULL;
        size_t len = 0;
        if (blob_get(c, &key, &blob, &len) < 0)
            return -1;
        int ok = blob && len == sizeof(float) + sizeof(int64_t);
        if (ok) {
            memcpy(out, blob, sizeof(float));
            memcpy(&j->natural, (char *)blob + sizeof(float), sizeof(int64_t));
        }
        free(blob);
        if (ok)
            return 0;
    }
    if (c->cache_only)
        return 1;
    predict_state ps = {.base = {.c = c}};
    if (speak(c, j, script, j->speed, 1, on_prediction, &ps.base))
        return -1;
    piece *pa = &ps.base.a;
    int64_t len = (int64_t)pa->n - (ps.first_pad + ps.last_pad) * KK_SAMPLES_PER_FRAME - (int64_t)ps.last_pause + TRIM_HEAD + TRIM_TAIL;
    pa->n = len > 0 ? (size_t)len : 0;
    /* Trusted only when clearly too long; near the limit the natural speech
     * is made and measured (the estimate of the trimmed silence is rough). */
    if ((int64_t)pa->n > want && (int64_t)pa->n - want > PREDICT_MARGIN) {
        *out = fitting_speed(pa, j->speed, cap, want);
        j->natural = (int64_t)pa->n; /* predicted: the natural speech is never made */
    }
    piece_free(pa);
    if (c->cache) {
        kk_error pe;
        char blob[sizeof(float) + sizeof(int64_t)];
        memcpy(blob, out, sizeof(float));
        memcpy(blob + sizeof(float), &j->natural, sizeof(int64_t));
        if (blob_put(c, &key, blob, sizeof blob, &pe) != KK_OK)
            warn(c, j->index, "could not store a fit in the cache: %s", pe.msg);
    }
    return 0;
}

/* The fit's first step: the model's speech for segment j at the speed the
 * cue needs (faster up to fit.max_speed times the asked speed, or
 * KK_SPEED_MAX), into *a with its cache key. A speed known to be needed is
 * predicted from the engine's durations, so the speech is made once. 0:
 * done; otherwise the job stops here, with j->pending set when the speech is
 * only waiting (a cache-only pass) and *a freed. */
static int fitted_speech(render_ctx *c, job *j, const kk_tts_script *script, piece *a, kk_cache_key *key)
{
    const kk_render_params *p = c->p;
    int64_t want = cue_samples(j);
    float cap = j->speed * p->fit.max_speed;
    if (cap > KK_SPEED_MAX)
        cap = KK_SPEED_MAX;
    int got = 0;
    float fast = j->speed;
    if (j->fit_enabled && want != INT64_MAX && j->speed < cap &&
        (got = predicted_speed(c, j, script, cap, want, &fast)) != 0) {
        j->pending = got > 0;
        return 1;
    }
    if ((got = speech_at(c, j, script, fast, a, key)) != 0) {
        j->pending = got > 0;
        return 1;
    }
    j->speed_used = fast;
    if (fast == j->speed)
        j->natural = (int64_t)a->n;
    if (j->fit_enabled && too_long(a, want) && j->speed_used < cap && fast == j->speed) {
        float sp = fitting_speed(a, j->speed, cap, want);
        piece b = {0};
        kk_cache_key kb;
        got = speech_at(c, j, script, sp, &b, &kb);
        piece_free(a);
        if (got) {
            j->pending = got > 0;
            return 1;
        }
        *a = b, *key = kb, j->speed_used = sp;
    }
    return 0;
}

/* The fit's second step and the pitch: speech still longer than its cue is
 * compressed by Rubber Band (up to fit.max_stretch), and shifted when the
 * segment has a pitch, through the cache under a key of its own. *a is
 * replaced by the processed piece. 0: done; otherwise the job stops here
 * (pending, or failed and reported) with *a freed. */
static int processed_speech(render_ctx *c, job *j, piece *a, const kk_cache_key *key)
{
    const kk_render_params *p = c->p;
    int64_t want = cue_samples(j);
    double ratio = 1.0;
    if (j->fit_enabled && !j->word_fit && too_long(a, want) && p->fit.max_stretch > 1.0) {
        ratio = (double)want / (double)a->n;
        if (ratio < 1.0 / p->fit.max_stretch)
            ratio = 1.0 / p->fit.max_stretch;
        ratio = ceil(ratio * 1e4) / 1e4;
    }
    if (!(ratio < 1.0 || j->pitch != 0.0))
        return 0;
    kk_cache_key pk = processed_key(key, ratio, j->pitch);
    piece b = {0};
    int hit = cache_get(c, &pk, &b);
    if (hit < 0 || (!hit && c->cache_only)) {
        j->pending = !hit;
        piece_free(a);
        return 1;
    }
    if (!hit) {
        j->cached = 0;
        kk_error e;
        if (kk_dsp_stretch(a->samples, a->n, KK_SAMPLE_RATE, ratio, j->pitch, &b.samples, &b.n, &e) != KK_OK) {
            fail_segment(c, &e, j);
            piece_free(a);
            return 1;
        }
        b.words = a->words, b.n_words = a->n_words;
        a->words = NULL, a->n_words = 0;
        for (size_t i = 0; i < b.n_words; i++) {
            b.words[i].start_sample = (int64_t)llround((double)b.words[i].start_sample * ratio);
            b.words[i].end_sample = (int64_t)llround((double)b.words[i].end_sample * ratio);
            if (b.words[i].end_sample > (int64_t)b.n)
                b.words[i].end_sample = (int64_t)b.n;
            if (b.words[i].start_sample > b.words[i].end_sample)
                b.words[i].start_sample = b.words[i].end_sample;
        }
        cache_put(c, j, &pk, &b);
    }
    piece_free(a);
    *a = b;
    j->stretch = ratio;
    return 0;
}

/* ---- words at their times (fit.words: prosody mapping) ----
 *
 * The segment is predicted once (durations only), its words matched to
 * the given word times by their text, and each chunk's durations made by
 * kk_prosody_fit_chunk so that every word starts on the frame nearest its
 * time; then it is synthesised with those durations (the F0 and energy
 * curves follow them) and, in the silence pause mode, the pauses spliced
 * in. The piece is placed so that the first word's onset falls on its
 * time: up to LEAD_MAX of the sound before that onset goes before the
 * cue's start (j->lead), the rest of the head is cut. The verdict (the
 * lead, or why the targets cannot be met) is cached beside the audio, so a
 * render that meets the segment again needs no prediction. */

#define LEAD_MAX (2 * KK_SAMPLES_PER_FRAME) /* sound kept before the first onset */
#define SPLICE_FADE (3 * MS)                /* fades at an inserted silence */
/* Of the word fit's cache entries: raised when src/tts/prosody.c makes
 * other durations for the same targets (2: the last word kept whole, the
 * silence mode's held pauses, 3 December), so that older audio is not
 * served for them. */
#define WORDS_VERSION 2

static int word_mode(const render_ctx *c, const job *j)
{
    return j->fit_words && j->n_targets && j->start_ms != KK_TIME_NONE;
}

/* Target word `word` in the segment's text from *cursor on (its spaces
 * and punctuation left out, case ignored): 1 with its bytes, 0 when it is
 * not there (the cursor stays). */
static int locate(const char *text, const char *word, size_t *cursor, size_t *from, size_t *to)
{
    const char *b = word ? word : "", *e = b + strlen(b);
    while (b < e && (isspace((unsigned char)*b) || ispunct((unsigned char)*b)))
        b++;
    while (e > b && (isspace((unsigned char)e[-1]) || ispunct((unsigned char)e[-1])))
        e--;
    if (b == e)
        return 0;
    size_t n = (size_t)(e - b);
    for (const char *p = text + *cursor; *p; p++)
        if (!strncasecmp(p, b, n)) {
            *from = (size_t)(p - text), *to = *from + n, *cursor = *to;
            return 1;
        }
    return 0;
}

static kk_cache_key words_key(const render_ctx *c, const job *j, const kk_cache_key *natural, const char *what)
{
    kk_cache_key_builder b;
    kk_cache_key_init(&b);
    kk_cache_key_add_str(&b, what);
    kk_cache_key_add_i64(&b, WORDS_VERSION);
    kk_cache_key_add(&b, natural->bytes, sizeof natural->bytes);
    kk_cache_key_add_i64(&b, (int64_t)c->p->fit.pause_mode);
    /* the lead is bounded by the cue's start near the track's start */
    kk_cache_key_add_i64(&b, j->start_ms * MS < LEAD_MAX ? j->start_ms : -1);
    for (size_t i = 0; i < j->n_targets; i++) {
        const kk_word *w = &j->targets[i];
        kk_cache_key_add_str(&b, w->text ? w->text : "");
        kk_cache_key_add_i64(&b, w->start_ms == KK_TIME_NONE ? INT64_MIN : w->start_ms - j->start_ms);
        kk_cache_key_add_i64(&b, w->end_ms == KK_TIME_NONE ? INT64_MIN : w->end_ms - j->start_ms);
    }
    return kk_cache_key_final(&b);
}

/* One chunk as predicted. */
typedef struct {
    float *raw;
    size_t n_ids; /* 0: a pure pause */
    kk_tts_word *words;
    size_t n_words;
    size_t pause;
} pchunk;

typedef struct {
    collect_state base; /* first: the engine's callbacks see a collect_state */
    pchunk *v;
    size_t n;
} wpredict_state;

static int on_word_prediction(void *user, const kk_tts_chunk *ch)
{
    wpredict_state *s = user;
    pchunk *v = realloc(s->v, (s->n + 1) * sizeof *v);
    if (!v)
        return s->base.oom = 1;
    s->v = v;
    pchunk *k = &v[s->n++];
    memset(k, 0, sizeof *k);
    k->pause = ch->pause_samples;
    k->n_ids = ch->raw_durations ? ch->n_durations : 0;
    if (k->n_ids && !(k->raw = malloc(k->n_ids * sizeof *k->raw)))
        return s->base.oom = 1;
    if (k->n_ids)
        memcpy(k->raw, ch->raw_durations, k->n_ids * sizeof *k->raw);
    if (ch->n_words && !(k->words = malloc(ch->n_words * sizeof *k->words)))
        return s->base.oom = 1;
    if (ch->n_words)
        memcpy(k->words, ch->words, ch->n_words * sizeof *k->words);
    k->n_words = ch->n_words;
    return 0;
}

static void wpredict_free(wpredict_state *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].raw), free(s->v[i].words);
    free(s->v);
    piece_free(&s->base.a);
}

/* What the word fit will do: per chunk, its durations and silences. */
typedef struct {
    kk_prosody_fit *fits; /* per chunk (zeroed for a pure pause) */
    const int **durs;
    size_t *n_ids;
    size_t n;
    int64_t lead, head; /* samples: placed before the cue's start; cut */
} wplan;

static void wplan_free(wplan *w)
{
    for (size_t i = 0; w->fits && i < w->n; i++)
        kk_prosody_fit_free(&w->fits[i]);
    free(w->fits), free(w->durs), free(w->n_ids);
    memset(w, 0, sizeof *w);
}

static int natural_frames(float raw, float speed)
{
    float r = rintf(raw / speed);
    return r < 1.0f ? 1 : (int)r;
}

/* Appends "; " and text to *note (malloc'd). */
static void note_add(char **note, const char *text)
{
    size_t have = *note ? strlen(*note) : 0, n = strlen(text);
    char *v = realloc(*note, have + n + 3);
    if (!v)
        return;
    if (have)
        memcpy(v + have, "; ", 2), have += 2;
    memcpy(v + have, text, n + 1);
    *note = v;
}

/* Plans the fit from the prediction: 0 (planned), 1 (the targets cannot
 * be met: *note says why), -1 (out of memory or a bad plan: *e). */
static int word_plan(const render_ctx *c, const job *j, const wpredict_state *ps, wplan *w, char **note,
                     kk_error *e)
{
    size_t nt = j->n_targets;
    size_t *from = calloc(nt, sizeof *from), *to = calloc(nt, sizeof *to);
    unsigned char *found = calloc(nt, 1), *used = calloc(nt, 1);
    w->n = ps->n;
    w->fits = calloc(ps->n ? ps->n : 1, sizeof *w->fits);
    w->durs = calloc(ps->n ? ps->n : 1, sizeof *w->durs);
    w->n_ids = calloc(ps->n ? ps->n : 1, sizeof *w->n_ids);
    kk_prosody_word *pw = NULL;
    int rc = -1;
    if (!from || !to || !found || !used || !w->fits || !w->durs || !w->n_ids) {
        kk_error_set(e, KK_ERR_NOMEM, "out of memory");
        goto out;
    }
    size_t cursor = 0, n_found = 0;
    for (size_t t = 0; t < nt; t++) {
        const kk_word *tw = &j->targets[t];
        if (tw->start_ms == KK_TIME_NONE)
            continue;
        found[t] = (unsigned char)locate(j->text, tw->text, &cursor, &from[t], &to[t]);
        n_found += found[t];
    }
    if (!n_found) {
        char msg[160];
        snprintf(msg, sizeof msg, "none of its %zu word times matches a word of its text", nt);
        note_add(note, msg);
        rc = 1;
        goto out;
    }
    /* the first placed word's natural onset fixes where the piece goes */
    int64_t x0 = -1, t0 = 0, x = 0;
    for (size_t k = 0; k < ps->n && x0 < 0; k++) {
        const pchunk *ch = &ps->v[k];
        for (size_t i = 0; i < ch->n_words && x0 < 0; i++)
            for (size_t t = 0; t < nt; t++)
                if (found[t] && from[t] < ch->words[i].text_end && to[t] > ch->words[i].text_start) {
                    int64_t f = 0;
                    for (size_t q = 0; q < ch->words[i].first_id; q++)
                        f += natural_frames(ch->raw[q], j->speed);
                    x0 = x + f * KK_SAMPLES_PER_FRAME;
                    t0 = j->targets[t].start_ms * MS;
                    break;
                }
        int64_t f = 0;
        for (size_t q = 0; q < ch->n_ids; q++)
            f += natural_frames(ch->raw[q], j->speed);
        x += f * KK_SAMPLES_PER_FRAME + (int64_t)ch->pause;
    }
    if (x0 < 0) {
        note_add(note, "its word times match no word the engine speaks");
        rc = 1;
        goto out;
    }
    int64_t seg = j->start_ms * MS, rel0 = t0 - seg, d = x0 - rel0;
    if (d >= 0) {
        w->lead = d < LEAD_MAX ? d : LEAD_MAX;
        if (w->lead > seg)
            w->lead = seg;
        w->head = d - w->lead;
    } else {
        w->lead = 0;
        w->head = (KK_SAMPLES_PER_FRAME - (-d) % KK_SAMPLES_PER_FRAME) % KK_SAMPLES_PER_FRAME;
    }
    int64_t origin = seg - w->lead - w->head; /* the timeline's sample of the piece's sample 0 */
    size_t n_problems = 0;
    x = 0;
    for (size_t k = 0; k < ps->n; k++) {
        const pchunk *ch = &ps->v[k];
        if (!ch->n_ids) {
            x += (int64_t)ch->pause;
            continue;
        }
        free(pw);
        pw = calloc(ch->n_words ? ch->n_words : 1, sizeof *pw);
        if (!pw) {
            kk_error_set(e, KK_ERR_NOMEM, "out of memory");
            goto out;
        }
        size_t m = 0;
        for (size_t i = 0; i < ch->n_words; i++) {
            const kk_tts_word *gw = &ch->words[i];
            size_t t = nt;
            for (size_t q = 0; q < nt; q++)
                if (found[q] && from[q] < gw->text_end && to[q] > gw->text_start) {
                    t = q;
                    break;
                }
            /* a word spoken in pieces (a number, a hyphenated word): one
             * placed word over all its ids */
            if (t < nt && m && pw[m - 1].tag == t && !isnan(pw[m - 1].start)) {
                pw[m - 1].n_ids = gw->first_id + gw->n_ids - pw[m - 1].first_id;
                continue;
            }
            kk_prosody_word v = {.first_id = gw->first_id, .n_ids = gw->n_ids, .start = NAN, .end = NAN, .tag = nt};
            if (t < nt && !used[t]) {
                const kk_word *tw = &j->targets[t];
                used[t] = 1;
                v.tag = t;
                v.start = (double)(tw->start_ms * MS - origin - x) / KK_SAMPLES_PER_FRAME;
                if (tw->end_ms != KK_TIME_NONE && tw->end_ms > tw->start_ms)
                    v.end = (double)(tw->end_ms * MS - origin - x) / KK_SAMPLES_PER_FRAME;
            }
            pw[m++] = v;
        }
        if (kk_prosody_fit_chunk(ch->raw, ch->n_ids, j->speed, pw, m, c->p->fit.pause_mode, &w->fits[k], e) !=
            KK_OK)
            goto out;
        for (size_t q = 0; q < w->fits[k].n_problems; q++, n_problems++) {
            if (n_problems >= KK_FIT_NOTE_WORDS)
                continue; /* counted, said at the end */
            const kk_prosody_problem *pr = &w->fits[k].problems[q];
            char msg[320];
            kk_prosody_problem_text(pr, pr->tag < nt ? j->targets[pr->tag].text : NULL, msg, sizeof msg);
            note_add(note, msg);
        }
        w->durs[k] = w->fits[k].durations;
        w->n_ids[k] = ch->n_ids;
        x += w->fits[k].frames * KK_SAMPLES_PER_FRAME + (int64_t)ch->pause;
    }
    if (n_problems > KK_FIT_NOTE_WORDS) {
        char msg[64];
        snprintf(msg, sizeof msg, "and %zu more", n_problems - KK_FIT_NOTE_WORDS);
        note_add(note, msg);
    }
    rc = *note ? 1 : 0;
out:
    free(from), free(to), free(found), free(used), free(pw);
    return rc;
}

typedef struct {
    collect_state base; /* first */
    const wplan *plan;
} wcollect_state;

/* A chunk with its silences spliced in (a short fade on either side),
 * its words moved by them, then collected as on_chunk does. */
static int on_word_chunk(void *user, const kk_tts_chunk *ch)
{
    wcollect_state *s = user;
    const kk_prosody_fit *f = ch->index < s->plan->n ? &s->plan->fits[ch->index] : NULL;
    size_t extra = 0;
    for (size_t i = 0; f && i < f->n_silences; i++)
        extra += (size_t)f->silences[i].frames * KK_SAMPLES_PER_FRAME;
    if (!extra)
        return on_chunk(&s->base, ch);
    float *b = malloc((ch->n_samples + extra) * sizeof *b);
    kk_tts_word *w = malloc((ch->n_words ? ch->n_words : 1) * sizeof *w);
    if (!b || !w) {
        free(b), free(w);
        return s->base.oom = 1;
    }
    size_t speech = ch->n_samples - ch->pause_samples, in = 0, out = 0;
    for (size_t i = 0; i < f->n_silences; i++) {
        size_t at = (size_t)f->silences[i].at_frame * KK_SAMPLES_PER_FRAME;
        if (at > speech)
            at = speech;
        memcpy(b + out, ch->samples + in, (at - in) * sizeof *b);
        for (size_t k = 0; k < SPLICE_FADE && k < at - in; k++) /* out */
            b[out + (at - in) - 1 - k] *= (float)k / SPLICE_FADE;
        out += at - in, in = at;
        size_t z = (size_t)f->silences[i].frames * KK_SAMPLES_PER_FRAME;
        memset(b + out, 0, z * sizeof *b);
        out += z;
    }
    memcpy(b + out, ch->samples + in, (ch->n_samples - in) * sizeof *b);
    /* fade in after each silence */
    size_t pos = 0;
    for (size_t i = 0; i < f->n_silences; i++) {
        pos += (size_t)f->silences[i].frames * KK_SAMPLES_PER_FRAME;
        size_t at = (size_t)f->silences[i].at_frame * KK_SAMPLES_PER_FRAME;
        size_t o = (at > speech ? speech : at) + pos;
        for (size_t k = 0; k < SPLICE_FADE && o + k < ch->n_samples + extra; k++)
            b[o + k] *= (float)k / SPLICE_FADE;
    }
    for (size_t i = 0; i < ch->n_words; i++) {
        w[i] = ch->words[i];
        size_t ds = 0, de = 0;
        for (size_t q = 0; q < f->n_silences; q++) {
            size_t at = (size_t)f->silences[q].at_frame * KK_SAMPLES_PER_FRAME,
                   z = (size_t)f->silences[q].frames * KK_SAMPLES_PER_FRAME;
            ds += at <= w[i].start_sample ? z : 0;
            de += at < w[i].end_sample ? z : 0;
        }
        w[i].start_sample += ds, w[i].end_sample += de;
    }
    kk_tts_chunk copy = *ch;
    copy.samples = b, copy.n_samples = ch->n_samples + extra, copy.words = w;
    int rc = on_chunk(&s->base, &copy);
    free(b), free(w);
    return rc;
}

/* The head cut (the plan's) and the tail trimmed of silence as trim() does. */
static void word_trim(piece *a, int64_t head)
{
    size_t h = head > 0 ? (size_t)head : 0;
    if (h > a->n)
        h = a->n;
    memmove(a->samples, a->samples + h, (a->n - h) * sizeof *a->samples);
    a->n -= h;
    size_t last = a->n;
    while (last > 0 && fabsf(a->samples[last - 1]) < TRIM_LEVEL)
        last--;
    if (last + TRIM_TAIL < a->n)
        a->n = last + TRIM_TAIL;
    for (size_t i = 0; i < a->n_words; i++) {
        kk_render_word *w = &a->words[i];
        w->start_sample = w->start_sample > (int64_t)h ? w->start_sample - (int64_t)h : 0;
        w->end_sample = w->end_sample > (int64_t)h ? w->end_sample - (int64_t)h : 0;
        if (w->start_sample > (int64_t)a->n)
            w->start_sample = (int64_t)a->n;
        if (w->end_sample > (int64_t)a->n)
            w->end_sample = (int64_t)a->n;
    }
}

/* The verdict entry: "KKW2", i64 lead, then the note (none: placed; at
 * most KK_FIT_NOTE_WORDS words named, so it stays small). "KKW1" entries,
 * of the versions before the note was bounded and reworded, are still read
 * when they say placed (the plan is the same); their notes are planned
 * again (word_speech). */
static void put_verdict(render_ctx *c, const job *j, const kk_cache_key *vk, int64_t lead, const char *note)
{
    if (!c->cache)
        return;
    size_t n = note ? strlen(note) : 0;
    char *blob = malloc(12 + n + 1);
    kk_error e;
    if (!blob)
        return; /* the next render plans again */
    memcpy(blob, "KKW2", 4);
    memcpy(blob + 4, &lead, 8);
    if (n)
        memcpy(blob + 12, note, n);
    if (blob_put(c, vk, blob, 12 + n, &e) != KK_OK)
        warn(c, j->index, "could not store a word fit in the cache: %s", e.msg);
    free(blob);
}

static void word_fallback(render_ctx *c, job *j, char *note)
{
    j->fit_note = note;
    warn(c, j->index, "its words are not placed at their times: %s; the cue's fit is used instead", note);
}

/* The segment's speech with its words at their times, into *a with its
 * key: 0; 1 when the targets cannot be met (j->fit_note says why: the
 * caller fits the cue instead); -1 when the job stops here (pending in a
 * cache-only pass, or an error reported). */
static int word_speech(render_ctx *c, job *j, const kk_tts_script *script, piece *a, kk_cache_key *key)
{
    kk_cache_key natural = base_key(c, j, kk_tts_script_phonemes(script), j->speed);
    kk_cache_key wk = words_key(c, j, &natural, "kokoro-words"), vk = words_key(c, j, &natural, "kokoro-words-plan");
    void *blob = NULL;
    size_t len = 0;
    int hit = blob_get(c, &vk, &blob, &len);
    if (hit < 0)
        return -1;
    if (hit && ((len >= 12 && !memcmp(blob, "KKW2", 4)) || (len == 12 && !memcmp(blob, "KKW1", 4)))) {
        int64_t lead;
        memcpy(&lead, (char *)blob + 4, 8);
        if (len > 12) {
            char *note = strndup((char *)blob + 12, len - 12);
            free(blob);
            if (!note)
                return 1;
            word_fallback(c, j, note);
            return 1;
        }
        free(blob);
        hit = cache_get(c, &wk, a);
        if (hit < 0)
            return -1;
        if (hit) {
            j->lead = lead, j->word_fit = 1, j->natural = (int64_t)a->n;
            *key = wk;
            return 0;
        }
    } else {
        free(blob);
    }
    if (c->cache_only) {
        j->pending = 1;
        return -1;
    }
    j->cached = 0;
    wpredict_state ps = {.base = {.c = c}};
    if (speak(c, j, script, j->speed, 1, on_word_prediction, &ps.base)) {
        wpredict_free(&ps);
        return -1;
    }
    wplan plan = {0};
    char *note = NULL;
    kk_error e;
    int rc = word_plan(c, j, &ps, &plan, &note, &e);
    wpredict_free(&ps);
    if (rc < 0) {
        free(note);
        wplan_free(&plan);
        fail_segment(c, &e, j);
        return -1;
    }
    if (rc > 0) {
        put_verdict(c, j, &vk, 0, note);
        wplan_free(&plan);
        word_fallback(c, j, note);
        return 1;
    }
    wcollect_state ws = {.base = {.c = c}, .plan = &plan};
    if (speak_with(c, j, script, j->speed, 0, plan.durs, plan.n_ids, on_word_chunk, &ws.base)) {
        wplan_free(&plan);
        return -1;
    }
    word_trim(&ws.base.a, plan.head);
    *a = ws.base.a;
    j->lead = plan.lead, j->word_fit = 1, j->natural = (int64_t)a->n;
    *key = wk;
    cache_put(c, j, &wk, a);
    put_verdict(c, j, &vk, plan.lead, NULL);
    wplan_free(&plan);
    return 0;
}

/* Renders one segment: its script, the fit's speed, then stretch and
 * pitch; the result (or why there is none) is left in j. */
/* Phonemizes segment j as render_job does (the phonemes are in its keys). */
static kk_status prepare_job(render_ctx *c, const job *j, kk_tts_script **script, kk_error *e)
{
    kk_synth_params sp = kk_synth_default_params();
    sp.voice = j->voice;
    sp.lang = c->p->lang;
    sp.speed = j->speed;
    sp.lexicon_path = c->p->lexicon_path;
    *script = NULL;
    return kk_tts_prepare(c->tts, j->text, &sp, script, e);
}

static void render_job(render_ctx *c, job *j)
{
    kk_tts_script *script = NULL;
    kk_error e;
    kk_status st = prepare_job(c, j, &script, &e);
    j->cached = 1;
    j->stretch = 1.0;
    j->speed_used = j->speed;
    j->natural = 0;
    if (st == KK_OK && kk_tts_script_chunks(script) == 0) {
        /* Nothing to say (only markup or punctuation): a silent segment. */
        j->silent = 1;
        warn(c, j->index, "nothing to say in \"%.60s\": the segment stays silent", j->text);
        kk_tts_script_free(script);
        return;
    }
    if (st != KK_OK) {
        fail_segment(c, &e, j);
        return;
    }
    piece a = {0};
    kk_cache_key key;
    int stop = 0;
    int words = word_mode(c, j) ? word_speech(c, j, script, &a, &key) : 1;
    if (words < 0)
        stop = 1;
    else if (words > 0)
        stop = fitted_speech(c, j, script, &a, &key);
    kk_tts_script_free(script);
    if (stop || processed_speech(c, j, &a, &key))
        return;
    j->audio = a;
}

static void progress(render_ctx *c, const job *j)
{
    pthread_mutex_lock(&c->lock);
    if (c->p->on_piece) {
        kk_render_piece pc = {.index = j->index + 1,
                              .samples = j->audio.samples,
                              .n_samples = j->audio.n,
                              .words = j->audio.words,
                              .n_words = j->audio.n_words,
                              .natural_samples = j->natural,
                              .lead_samples = j->start_ms == KK_TIME_NONE ? 0 : j->lead,
                              .speed = j->speed_used,
                              .stretch = j->stretch,
                              .cached = j->cached && !j->silent,
                              .silent = j->silent,
                              .fit_note = j->fit_note};
        c->p->on_piece(c->p->user, &pc);
    }
    c->done++;
    double w = 1.0 + (double)strlen(j->text);
    c->weight_done += w;
    if (!j->cached)
        c->weight_made += w;
    if (c->p->on_progress) {
        /* The rest is estimated from what was synthesised: segments from
         * the cache come at once, and counting them made the estimate
         * near zero while every miss was still to come. */
        double el = kk_now_s() - c->t0;
        double eta = c->weight_made > 0 && c->done < c->n ? el * (c->weight_total - c->weight_done) / c->weight_made
                                                          : (c->done == c->n ? 0.0 : -1.0);
        c->p->on_progress(c->p->user, c->done, c->n, eta);
    }
    pthread_mutex_unlock(&c->lock);
}

/* Sets a rendered segment's samples aside in the spool file once the
 * audio held in jobs would pass half the memory limit (the other half is
 * the track's), so that a render of many hours holds a few segments at a
 * time. Under c->lock: the spool is appended to by every worker. */
static void spill(render_ctx *c, job *j)
{
    size_t bytes = j->audio.n * sizeof(float);
    kk_error e;
    kk_status st = KK_OK;
    pthread_mutex_lock(&c->lock);
    if (c->held + bytes <= c->p->memory_limit / 2) {
        c->held += bytes;
    } else {
        if (!c->spool)
            st = kk_track_open_spool(&c->spool, c->p->temp_dir, &e);
        if (st == KK_OK)
            st = kk_track_append(c->spool, j->audio.samples, j->audio.n, &j->spool_at, &e);
        if (st == KK_OK) {
            free(j->audio.samples);
            j->audio.samples = NULL;
            j->spooled = 1;
        }
    }
    pthread_mutex_unlock(&c->lock);
    if (st != KK_OK)
        fail(c, &e);
}

static void *worker(void *arg)
{
    render_ctx *c = arg;
    for (;;) {
        if (aborted(c))
            break;
        size_t k = atomic_fetch_add(&c->next, 1);
        if (k >= c->n_todo)
            break;
        job *j = &c->jobs[c->todo[k]];
        j->pending = 0;
        if (!c->cache_only && c->p->on_start) { /* a miss: synthesis begins */
            pthread_mutex_lock(&c->lock);
            c->p->on_start(c->p->user, j->index + 1);
            pthread_mutex_unlock(&c->lock);
        }
        render_job(c, j);
        if (atomic_load(&c->stop))
            break;
        if (!j->pending) {
            progress(c, j);
            if (c->p->memory_limit && j->audio.n)
                spill(c, j);
        }
    }
    return NULL;
}

/* ---- placement ---- */

/* A timed cue for sorting by start: qsort has no context argument in C11,
 * so the key travels with the index (which also makes the order total:
 * equal starts keep input order). */
typedef struct {
    int64_t start_ms;
    size_t i;
} by_start;

static int cmp_start(const void *a, const void *b)
{
    const by_start *x = a, *y = b;
    if (x->start_ms != y->start_ms)
        return x->start_ms < y->start_ms ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Each timed cue's next cue start (in time order). */
static kk_status link_next(job *jobs, size_t n, kk_error *err)
{
    by_start *ord = malloc((n ? n : 1) * sizeof *ord);
    size_t m = 0;
    if (!ord)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        jobs[i].next_start_ms = KK_TIME_NONE;
        if (jobs[i].start_ms != KK_TIME_NONE)
            ord[m++] = (by_start){jobs[i].start_ms, i};
    }
    qsort(ord, m, sizeof *ord, cmp_start);
    for (size_t k = 0; k + 1 < m; k++)
        jobs[ord[k].i].next_start_ms = ord[k + 1].start_ms;
    free(ord);
    return KK_OK;
}

/* Lays the segments out (the report's cues) and mixes them onto a new
 * track, *track (set as soon as it exists, so that the caller frees it on
 * failure). */
static kk_status place(render_ctx *c, kk_render_result *r, kk_track **track, kk_error *err)
{
    const kk_render_params *p = c->p;
    size_t n = c->n;
    r->cues = calloc(n ? n : 1, sizeof *r->cues);
    if (!r->cues)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    r->n_cues = n;
    /* Where each segment goes and how long it sounds. */
    int64_t cursor = p->lead_ms * MS, length = p->min_length_ms * MS;
    for (size_t i = 0; i < n; i++) {
        job *j = &c->jobs[i];
        kk_render_cue *q = &r->cues[i];
        q->index = i + 1;
        q->text = strdup(j->text);
        q->voice = strdup(j->voice);
        q->speaker = j->speaker ? strdup(j->speaker) : NULL;
        if (!q->text || !q->voice || (j->speaker && !q->speaker))
            return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
        q->cue_start_ms = j->start_ms, q->cue_end_ms = j->end_ms;
        q->natural_samples = j->natural;
        q->speed = j->speed_used;
        q->asked_speed = j->speed;
        q->stretch = j->stretch;
        q->pitch = j->pitch;
        q->cached = j->cached && !j->silent;
        q->word_fit = j->word_fit;
        if (j->fit_note && !(q->fit_note = strdup(j->fit_note)))
            return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
        int64_t len = (int64_t)j->audio.n;
        if (j->start_ms == KK_TIME_NONE) {
            q->start_sample = cursor;
            q->end_sample = cursor + len;
            cursor = q->end_sample + p->gap_ms * MS;
        } else {
            int64_t start = j->start_ms * MS - j->lead, cue_end = j->end_ms * MS;
            int64_t next = j->next_start_ms == KK_TIME_NONE ? INT64_MAX : j->next_start_ms * MS;
            int64_t end = start + len;
            int64_t limit = p->fit.use_gap ? next : (cue_end < next ? cue_end : next);
            if (end > cue_end)
                q->gap_samples = (end < next ? end : next) - cue_end;
            if (q->gap_samples < 0)
                q->gap_samples = 0;
            if (end > limit && j->overflow == KK_OVERFLOW_TRUNCATE) {
                q->truncated_samples = end - limit;
                end = limit > start ? limit : start;
            } else if (end > next) {
                q->overlap_samples = end - next;
            }
            q->start_sample = start, q->end_sample = end;
            if (cue_end > length)
                length = cue_end;
            if (cursor < end + p->gap_ms * MS)
                cursor = end + p->gap_ms * MS;
        }
        if (q->end_sample > length)
            length = q->end_sample;
        /* Every time was checked against the bound, but untimed segments
         * follow each other and speech may run past its cue: the track is
         * held to the same bound before it is allocated. */
        if (length > KK_TIME_MAX_MS * MS) {
            c->fail_index = i + 1;
            return kk_error_set(err, KK_ERR_ARG, "segment %zu: its speech would end past the limit of %d hours on "
                                "a track", i + 1, KK_TIME_MAX_HOURS);
        }
    }
    kk_track *t;
    /* half the limit for the track (0: no limit), the other half for the
     * segments (spill) */
    size_t track_limit = p->memory_limit ? (p->memory_limit / 2 ? p->memory_limit / 2 : 1) : 0;
    kk_status st = kk_track_open(&t, (uint64_t)length, track_limit, p->temp_dir, err);
    if (st != KK_OK)
        return st;
    *track = t;
    r->n_samples = (size_t)length;
    float *fade = NULL, *back = NULL; /* scratch: a cut's gains, a spooled segment's samples */
    for (size_t i = 0; i < n && st == KK_OK; i++) {
        job *j = &c->jobs[i];
        kk_render_cue *q = &r->cues[i];
        int64_t len = q->end_sample - q->start_sample;
        const float *src = j->audio.samples;
        if (j->spooled && len > 0) {
            float *b = realloc(back, (size_t)len * sizeof *b);
            if (!b) {
                st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
                break;
            }
            back = b;
            if ((st = kk_track_read(c->spool, j->spool_at, back, (size_t)len, err)) != KK_OK)
                break;
            src = back;
        }
        const float *gain = NULL;
        if (q->truncated_samples && len > 0) { /* no click at the cut */
            float *f = realloc(fade, (size_t)len * sizeof *f);
            if (!f) {
                st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
                break;
            }
            fade = f;
            for (int64_t k = 0; k < len; k++)
                fade[k] = k >= len - FADE ? (float)(len - k) / (float)FADE : 1.0f;
            gain = fade;
        }
        if (!j->mute && len > 0 && (st = kk_track_mix(t, (uint64_t)q->start_sample, src, gain, (size_t)len, err)) != KK_OK)
            break;
        q->words = calloc(j->audio.n_words ? j->audio.n_words : 1, sizeof *q->words);
        if (!q->words) {
            st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
            break;
        }
        for (size_t w = 0; w < j->audio.n_words; w++) {
            kk_render_word v = j->audio.words[w];
            if (v.start_sample >= len) /* cut off */
                break;
            if (v.end_sample > len)
                v.end_sample = len;
            v.start_sample += q->start_sample, v.end_sample += q->start_sample;
            q->words[q->n_words++] = v;
        }
    }
    free(fade);
    free(back);
    return st;
}

/* ---- the whole render ---- */

/* A segment's bad parameter is that segment's failure (c->fail_index). */
static kk_status make_jobs(render_ctx *c, const kk_render_segment *segs, kk_error *err)
{
    const kk_render_params *p = c->p;
    for (size_t i = 0; i < c->n; i++) {
        const kk_render_segment *s = &segs[i];
        job *j = &c->jobs[i];
        j->index = i;
        j->text = s->text ? s->text : "";
        j->start_ms = s->start_ms, j->end_ms = s->end_ms;
        j->speaker = s->speaker;
        j->mute = s->mute;
        c->fail_index = i + 1;
        if ((s->start_ms == KK_TIME_NONE) != (s->end_ms == KK_TIME_NONE) ||
            (s->start_ms != KK_TIME_NONE && (s->start_ms < 0 || s->end_ms < s->start_ms)))
            return kk_error_set(err, KK_ERR_ARG, "segment %zu: times %lld .. %lld ms are not a time span", i + 1,
                                (long long)s->start_ms, (long long)s->end_ms);
        if (s->start_ms != KK_TIME_NONE && s->end_ms > KK_TIME_MAX_MS)
            return kk_error_set(err, KK_ERR_ARG, "segment %zu: it ends at %lld ms, past the limit of %d hours on "
                                "times; correct its times", i + 1, (long long)s->end_ms, KK_TIME_MAX_HOURS);
        j->speed = s->speed > 0 ? s->speed : p->speed;
        j->pitch = isnan(s->pitch) ? p->pitch : s->pitch;
        j->targets = s->n_words ? s->words : NULL;
        j->n_targets = s->words ? s->n_words : 0;
        j->fit_enabled = p->fit.enabled, j->overflow = p->fit.overflow, j->fit_words = p->fit.words;
        switch (s->fit) {
            case KK_SEGMENT_FIT_OVERLAP: j->fit_enabled = 1, j->overflow = KK_OVERFLOW_OVERLAP, j->fit_words = 0; break;
            case KK_SEGMENT_FIT_TRUNCATE: j->fit_enabled = 1, j->overflow = KK_OVERFLOW_TRUNCATE, j->fit_words = 0; break;
            case KK_SEGMENT_FIT_NONE: j->fit_enabled = 0, j->overflow = KK_OVERFLOW_OVERLAP, j->fit_words = 0; break;
            case KK_SEGMENT_FIT_WORDS: j->fit_words = 1; break; /* the cue fit it falls back to: the params' */
            case KK_SEGMENT_FIT_DEFAULT: break;
            default:
                return kk_error_set(err, KK_ERR_ARG, "segment %zu: fit %d is not a kk_segment_fit", i + 1, (int)s->fit);
        }
        if (!(j->speed >= KK_SPEED_MIN && j->speed <= KK_SPEED_MAX))
            return kk_error_set(err, KK_ERR_ARG, "segment %zu: speed %g is outside %g .. %g", i + 1, (double)j->speed,
                                (double)KK_SPEED_MIN, (double)KK_SPEED_MAX);
        if (!(j->pitch >= -12.0 && j->pitch <= 12.0))
            return kk_error_set(err, KK_ERR_ARG, "segment %zu: pitch %g semitones is outside -12 .. 12", i + 1,
                                j->pitch);
        c->fail_index = 0;
        j->voice = s->voice ? strdup(s->voice) : map_voice(p->voice_map, s->speaker);
        if (!j->voice)
            j->voice = strdup(p->voice ? p->voice : "af_heart");
        if (!j->voice)
            return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
        c->weight_total += 1.0 + (double)strlen(j->text);
    }
    return link_next(c->jobs, c->n, err);
}

/* Runs the current pass on `workers` threads (this one among them). */
static kk_status run_pool(render_ctx *c, size_t workers, kk_error *err)
{
    pthread_t *th = calloc(workers, sizeof *th);
    if (!th)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    size_t started = 0;
    for (; started + 1 < workers; started++)
        if (pthread_create(&th[started], NULL, worker, c))
            break; /* fewer workers: slower, still correct */
    worker(c);
    for (size_t k = 0; k < started; k++)
        pthread_join(th[k], NULL);
    free(th);
    if (c->status != KK_OK) {
        if (err)
            *err = c->err;
        return c->status;
    }
    if (atomic_load(&c->stop))
        return kk_error_set(err, KK_ERR_ABORTED, "rendering stopped by the caller");
    return KK_OK;
}

/* ---- a job backend ---- */

typedef struct {
    render_ctx *c;
    size_t *map; /* batch index -> job index */
} remote_state;

/* A job the backend ended: its results are fetched through the cache-only
 * path (so the audio is what a local render makes, by the same code), or
 * it stays pending for the local pass. */
static void remote_done(void *user, size_t index, kk_backend_outcome outcome, const char *reason)
{
    (void)reason; /* the backend tells people; the job is simply ours again */
    remote_state *rs = user;
    render_ctx *c = rs->c;
    job *j = &c->jobs[rs->map[index]];
    if (j->remote || (outcome != KK_BACKEND_RENDERED && outcome != KK_BACKEND_CACHED) || atomic_load(&c->stop))
        return;
    c->cache_only = 1;
    j->pending = 0;
    render_job(c, j);
    if (atomic_load(&c->stop) || j->pending)
        return; /* an entry went missing on the way: rendered here */
    j->remote = 1;
    j->cached = outcome == KK_BACKEND_CACHED;
    progress(c, j);
    if (c->p->memory_limit && j->audio.n)
        spill(c, j);
}

static int remote_abort(void *user) { return aborted(((remote_state *)user)->c); }

kk_cache_key kk_render_job_key(const kk_render_job *r)
{
    kk_cache_key_builder b;
    kk_cache_key_init(&b);
    kk_cache_key_add_str(&b, "kokoro-job");
    kk_cache_key_add_str(&b, r->identity);
    kk_cache_key_add_i64(&b, r->render_version);
    kk_cache_key_add_str(&b, r->voices_key);
    kk_cache_key_add_str(&b, r->text);
    kk_cache_key_add_str(&b, r->voice);
    kk_cache_key_add_str(&b, r->lang);
    kk_cache_key_add_str(&b, r->phonemes);
    kk_cache_key_add_f64(&b, (double)r->speed);
    kk_cache_key_add_f64(&b, r->pitch);
    kk_cache_key_add_i64(&b, r->fit.enabled);
    kk_cache_key_add_f64(&b, (double)r->fit.max_speed);
    kk_cache_key_add_f64(&b, r->fit.max_stretch);
    kk_cache_key_add_i64(&b, r->cue_ms);
    if (r->precision != KK_PRECISION_EXACT) /* (the identity says it too; exact keys stay as they were) */
        kk_cache_key_add_i64(&b, r->precision);
    return kk_cache_key_final(&b);
}

/* The pending jobs to the backend; those it ends leave the to-do list. A
 * render with its own lexicon stays here: the workers cannot read it. */
static kk_status run_remote(render_ctx *c, kk_error *err)
{
    const kk_render_params *p = c->p;
    if (p->lexicon_path || !p->backend->ops->run)
        return KK_OK;
    size_t n = c->n_todo;
    kk_render_job *rj = calloc(n, sizeof *rj);
    kk_tts_script **scripts = calloc(n, sizeof *scripts);
    remote_state rs = {.c = c, .map = calloc(n, sizeof(size_t))};
    kk_status st = rj && scripts && rs.map ? KK_OK : kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    size_t m = 0;
    for (size_t k = 0; k < n && st == KK_OK; k++) {
        job *j = &c->jobs[c->todo[k]];
        kk_error e;
        if (word_mode(c, j))
            continue; /* a job carries no word times: rendered here */
        if (prepare_job(c, j, &scripts[m], &e) != KK_OK)
            continue; /* the local pass reports it */
        rj[m] = (kk_render_job){.identity = c->identity,
                                .precision = c->precision,
                                .render_version = RENDER_VERSION,
                                .voices_key = c->voices_key,
                                .text = j->text,
                                .voice = j->voice,
                                .lang = p->lang,
                                .phonemes = kk_tts_script_phonemes(scripts[m]),
                                .speed = j->speed,
                                .pitch = j->pitch,
                                .fit = {j->fit_enabled, p->fit.max_speed, p->fit.max_stretch},
                                .cue_ms = j->start_ms == KK_TIME_NONE ? -1 : j->end_ms - j->start_ms};
        rs.map[m++] = c->todo[k];
    }
    if (st == KK_OK && m)
        st = p->backend->ops->run(p->backend, rj, m, remote_done, remote_abort, &rs, err);
    for (size_t k = 0; scripts && k < m; k++)
        kk_tts_script_free(scripts[k]);
    free(scripts);
    free(rj);
    free(rs.map);
    if (st == KK_OK && c->status != KK_OK) {
        if (err)
            *err = c->err;
        st = c->status;
    }
    if (st == KK_OK && atomic_load(&c->stop))
        st = kk_error_set(err, KK_ERR_ABORTED, "rendering stopped by the caller");
    size_t left = 0;
    for (size_t k = 0; k < c->n_todo; k++)
        if (!c->jobs[c->todo[k]].remote)
            c->todo[left++] = c->todo[k];
    c->n_todo = left;
    return st;
}

static kk_status check_job(const kk_render_job *r, kk_tts *tts, kk_error *err)
{
    if (!r->identity || !r->text || !r->voice || !r->phonemes || !r->voices_key)
        return kk_error_set(err, KK_ERR_INPUT, "the job lacks its model identity, text, voice, phonemes or voices");
    if (r->precision != KK_PRECISION_EXACT && r->precision != KK_PRECISION_FAST)
        return kk_error_set(err, KK_ERR_INPUT, "the job's precision %d is neither exact nor fast", (int)r->precision);
    if (strcmp(r->identity, kk_tts_identity_for(tts, r->precision)) || r->render_version != RENDER_VERSION)
        return kk_error_set(err, KK_ERR_CONFLICT,
                            "the job is for model %s (render version %d) but this worker runs %s (render version "
                            "%d): it would make other audio; run the workers with the client's model and release",
                            r->identity, r->render_version, kk_tts_identity_for(tts, r->precision), RENDER_VERSION);
    /* A fast job on a CPU without the fast mode would be exact audio under
     * a fast key: refused, so the client renders it (in its fast mode). */
    if (r->precision == KK_PRECISION_FAST && kk_tts_precision(tts, KK_PRECISION_FAST, NULL, NULL) != KK_PRECISION_FAST) {
        char why[128] = "";
        kk_forward_fast_available(why, sizeof why);
        return kk_error_set(err, KK_ERR_CONFLICT,
                            "the job asks for the fast mode, which this worker cannot run (%s): it would make exact "
                            "audio; run fast renders' workers on CPUs with AMX-BF16",
                            why[0] ? why : "found unavailable when it loaded the model");
    }
    if (!(r->speed >= KK_SPEED_MIN && r->speed <= KK_SPEED_MAX) || !(r->pitch >= -12.0 && r->pitch <= 12.0))
        return kk_error_set(err, KK_ERR_INPUT, "the job's speed %g or pitch %g is out of range", (double)r->speed,
                            r->pitch);
    if (!(r->fit.max_speed >= 1.0f && r->fit.max_speed <= 2.0f) || !(r->fit.max_stretch >= 1.0 && r->fit.max_stretch <= 2.0))
        return kk_error_set(err, KK_ERR_INPUT, "the job's fit limits are out of range");
    if (r->cue_ms < -1 || r->cue_ms > KK_TIME_MAX_MS)
        return kk_error_set(err, KK_ERR_INPUT, "the job's cue length %lld ms is out of range", (long long)r->cue_ms);
    return KK_OK;
}

kk_status kk_render_job_run(kk_tts *tts, const kk_render_job *r, const kk_render_job_params *jp,
                            kk_render_job_result *res, kk_error *err)
{
    *res = (kk_render_job_result){0};
    if (!tts || !r || !jp || !jp->cache)
        return kk_error_set(err, KK_ERR_ARG, "kk_render_job_run: no model, job or cache");
    kk_status st = check_job(r, tts, err);
    if (st != KK_OK)
        return st;
    kk_render_params p = kk_render_default_params();
    p.lang = r->lang;
    p.precision = r->precision;
    p.fit.enabled = r->fit.enabled;
    p.fit.max_speed = r->fit.max_speed;
    p.fit.max_stretch = r->fit.max_stretch;
    p.cache = jp->cache;
    p.abort = jp->abort;
    p.user = jp->user;
    job j = {.text = r->text,
             .fit_enabled = p.fit.enabled,
             .overflow = p.fit.overflow,
             .start_ms = r->cue_ms < 0 ? KK_TIME_NONE : 0,
             .end_ms = r->cue_ms < 0 ? KK_TIME_NONE : r->cue_ms,
             .next_start_ms = KK_TIME_NONE,
             .voice = (char *)r->voice,
             .speed = r->speed,
             .pitch = r->pitch};
    render_ctx c = {.tts = tts, .p = &p, .cache = jp->cache, .voices_key = r->voices_key, .jobs = &j, .n = 1,
                    .threads = jp->threads > 0 ? jp->threads : 1, .precision = r->precision,
                    .identity = kk_tts_identity_for(tts, r->precision)};
    c.record = jp->on_entry;
    c.record_user = jp->user;
    pthread_mutex_init(&c.lock, NULL);
    kk_tts_script *script = NULL;
    st = prepare_job(&c, &j, &script, err);
    if (st == KK_OK && strcmp(kk_tts_script_phonemes(script), r->phonemes))
        st = kk_error_set(err, KK_ERR_CONFLICT,
                          "this worker phonemizes \"%.80s\" otherwise than the client (another espeak-ng or "
                          "dictionary): it would make other audio",
                          r->text);
    kk_tts_script_free(script);
    if (st == KK_OK) {
        render_job(&c, &j);
        if (c.status != KK_OK) {
            if (err)
                *err = c.err;
            st = c.status;
        } else if (atomic_load(&c.stop)) {
            st = kk_error_set(err, KK_ERR_ABORTED, "the job was stopped");
        } else {
            res->rendered = !j.cached && !j.silent;
            res->n_samples = j.audio.n;
        }
    }
    piece_free(&j.audio);
    pthread_mutex_destroy(&c.lock);
    return st;
}

/* order must name each index once. */
static kk_status check_order(const size_t *order, size_t n, kk_error *err)
{
    if (!order)
        return KK_OK;
    unsigned char *seen = calloc(n ? n : 1, 1);
    if (!seen)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    kk_status st = KK_OK;
    for (size_t i = 0; i < n && st == KK_OK; i++) {
        if (order[i] >= n || seen[order[i]])
            st =
                kk_error_set(err, KK_ERR_ARG, "render order: entry %zu (%zu) is out of range or repeated", i, order[i]);
        else
            seen[order[i]] = 1;
    }
    free(seen);
    return st;
}

static kk_status check_params(const kk_render_params *p, kk_error *err)
{
    if (!(p->speed >= KK_SPEED_MIN && p->speed <= KK_SPEED_MAX))
        return kk_error_set(err, KK_ERR_ARG, "speed %g is outside %g .. %g", (double)p->speed, (double)KK_SPEED_MIN,
                            (double)KK_SPEED_MAX);
    if (!(p->pitch >= -12.0 && p->pitch <= 12.0))
        return kk_error_set(err, KK_ERR_ARG, "pitch %g semitones is outside -12 .. 12", p->pitch);
    if (!(p->fit.max_speed >= 1.0f && p->fit.max_speed <= 2.0f))
        return kk_error_set(err, KK_ERR_ARG, "the fit's maximum speed-up %g is outside 1 .. 2",
                            (double)p->fit.max_speed);
    if (!(p->fit.max_stretch >= 1.0 && p->fit.max_stretch <= 2.0))
        return kk_error_set(err, KK_ERR_ARG, "the fit's maximum stretch %g is outside 1 .. 2", p->fit.max_stretch);
    if (p->gap_ms < 0 || p->lead_ms < 0 || p->min_length_ms < 0)
        return kk_error_set(err, KK_ERR_ARG, "gap, lead and minimum length must not be negative");
    if (p->gap_ms > KK_TIME_MAX_MS || p->lead_ms > KK_TIME_MAX_MS || p->min_length_ms > KK_TIME_MAX_MS)
        return kk_error_set(err, KK_ERR_ARG, "gap, lead and minimum length must not pass the limit of %d hours on "
                            "times", KK_TIME_MAX_HOURS);
    if (p->workers < 0 || p->threads < 0)
        return kk_error_set(err, KK_ERR_ARG, "workers and threads must not be negative");
    if (p->precision != KK_PRECISION_EXACT && p->precision != KK_PRECISION_FAST)
        return kk_error_set(err, KK_ERR_ARG, "precision %d is neither exact (%d) nor fast (%d)", (int)p->precision,
                            KK_PRECISION_EXACT, KK_PRECISION_FAST);
    return kk_render_check_voice_map(p->voice_map, err);
}

/* kk_render without the failure report: *fail_index is the 1-based
 * segment a failure is caused by, 0 when none. */
static kk_status render(kk_tts *tts, const kk_render_segment *segs, size_t n, const kk_render_params *p,
                        kk_render_result *out, size_t *fail_index, kk_error *err)
{
    *fail_index = 0;
    if (!tts || (!segs && n))
        return kk_error_set(err, KK_ERR_ARG, "kk_render: no model or no segments");
    kk_status st = check_params(p, err);
    if (st == KK_OK)
        st = check_order(p->order, n, err);
    if (st != KK_OK)
        return st;
    double t0 = kk_now_s();
    render_ctx c = {.tts = tts, .p = p, .n = n, .voices_key = kk_tts_voices_dir(tts)};
    /* Decided before any key is made: the fast mode that falls back runs,
     * and is keyed as, the exact mode (its one line goes to stderr). */
    c.precision = kk_tts_precision(tts, p->precision, NULL, NULL);
    c.identity = kk_tts_identity_for(tts, c.precision);
    c.t0 = t0;
    pthread_mutex_init(&c.lock, NULL);
    c.jobs = calloc(n ? n : 1, sizeof *c.jobs);
    if (!c.jobs)
        st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    if (st == KK_OK)
        st = make_jobs(&c, segs, err);
    if (st == KK_OK && n) {
        c.todo = malloc(n * sizeof *c.todo);
        if (!c.todo)
            st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
        for (size_t i = 0; c.todo && i < n; i++)
            c.todo[i] = p->order ? p->order[i] : i;
        c.n_todo = c.todo ? n : 0;
    }
    /* A job backend works through the cache: without one of the caller's,
     * the render has its own in memory. */
    kk_cache *own_cache = NULL;
    c.cache = p->cache;
    if (st == KK_OK && p->backend && !c.cache) {
        kk_cache_params cp = kk_cache_default_params();
        cp.dir = NULL;
        st = kk_cache_open(&cp, &own_cache, err);
        c.cache = own_cache;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t max_workers = p->workers > 0 ? (size_t)p->workers : (size_t)(cpus > 0 ? cpus : 1);
    /* Pass 1 from the cache only (when there is one), then the misses on
     * the job backend (when there is one), pass 2 for the rest. */
    for (int pass = c.cache ? 0 : 1; st == KK_OK && pass < 2 && c.n_todo; pass++) {
        if (pass == 1 && p->backend)
            st = run_remote(&c, err);
        if (st != KK_OK || !c.n_todo)
            break;
        c.cache_only = pass == 0;
        size_t workers = c.n_todo < max_workers ? c.n_todo : max_workers;
        c.threads = p->threads > 0 ? p->threads : (int)((size_t)(cpus > 0 ? cpus : 1) / workers);
        if (c.threads < 1)
            c.threads = 1;
        atomic_store(&c.next, 0);
        st = run_pool(&c, workers, err);
        size_t m = 0;
        for (size_t k = 0; k < c.n_todo; k++)
            if (c.jobs[c.todo[k]].pending)
                c.todo[m++] = c.todo[k];
        c.n_todo = m;
    }
    free(c.todo);
    kk_track *track = NULL;
    if (st == KK_OK)
        st = place(&c, out, &track, err);
    kk_track_free(c.spool);
    if (st == KK_OK && p->normalize) {
        kk_sample_io io = kk_track_io(track);
        st = kk_loudness_normalize_io(&io, kk_track_length(track), KK_SAMPLE_RATE, &p->loudness, &out->loudness, err);
        out->normalized = st == KK_OK;
    }
    if (st == KK_OK && !kk_track_on_disk(track))
        out->samples = kk_track_take_samples(track);
    else if (st == KK_OK)
        out->track = track;
    else
        kk_track_free(track);
    for (size_t i = 0; i < n && c.jobs; i++) {
        if (c.jobs[i].silent || !c.jobs[i].cached)
            out->synthesized += !c.jobs[i].silent;
        else
            out->from_cache++;
        free(c.jobs[i].voice);
        free(c.jobs[i].fit_note);
        piece_free(&c.jobs[i].audio);
    }
    free(c.jobs);
    kk_cache_close(own_cache);
    pthread_mutex_destroy(&c.lock);
    if (st != KK_OK) {
        /* the first error is the one returned (run_pool hands it on) */
        *fail_index = c.fail_index;
        kk_render_result_free(out);
        return st;
    }
    out->seconds = kk_now_s() - t0;
    return KK_OK;
}

kk_status kk_render(kk_tts *tts, const kk_render_segment *segs, size_t n, const kk_render_params *p,
                    kk_render_result *out, kk_error *err)
{
    kk_render_params defaults = kk_render_default_params();
    if (!p)
        p = &defaults;
    memset(out, 0, sizeof *out);
    size_t index = 0;
    kk_status st = render(tts, segs, n, p, out, &index, err);
    if (p->failure)
        *p->failure = (kk_render_failure){.index = st == KK_OK ? 0 : index, .status = st};
    return st;
}

void kk_render_result_free(kk_render_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_cues; i++)
        free(r->cues[i].text), free(r->cues[i].voice), free(r->cues[i].speaker), free(r->cues[i].words),
            free(r->cues[i].fit_note);
    free(r->cues);
    free(r->samples);
    kk_track_free(r->track);
    memset(r, 0, sizeof *r);
}

kk_status kk_render_read(const kk_render_result *r, uint64_t at, float *dst, size_t n, kk_error *err)
{
    if (r->track)
        return kk_track_read(r->track, at, dst, n, err);
    if (at > r->n_samples || n > r->n_samples - at)
        return kk_error_set(err, KK_ERR_ARG, "track read of %zu samples at %llu passes its end (%zu)", n,
                            (unsigned long long)at, r->n_samples);
    if (n)
        memcpy(dst, r->samples + at, n * sizeof *dst);
    return KK_OK;
}

static kk_status result_read(void *user, uint64_t at, float *dst, size_t n, kk_error *err)
{
    return kk_render_read(user, at, dst, n, err);
}

kk_sample_io kk_render_io(const kk_render_result *r)
{
    return (kk_sample_io){.read = result_read, .write = NULL, .user = (void *)r};
}

kk_render_segment *kk_render_segments_from_doc(const kk_doc *doc)
{
    kk_render_segment *s = calloc(doc->n_segs ? doc->n_segs : 1, sizeof *s);
    if (!s)
        return NULL;
    for (size_t i = 0; i < doc->n_segs; i++) {
        const kk_segment *g = &doc->segs[i];
        s[i] = (kk_render_segment){
            .text = g->text, .start_ms = g->start_ms, .end_ms = g->end_ms, .speaker = g->speaker, .pitch = NAN,
            .words = g->words, .n_words = g->n_words};
    }
    return s;
}

/* ---- what came out: subtitles, report, summary ---- */

static int64_t to_ms(int64_t samples) { return (samples + MS / 2) / MS; }

kk_status kk_render_save_subtitles(const kk_render_result *r, const char *path, kk_format format, kk_error *err)
{
    return kk_render_save_subtitles_as(r, path, format, KK_SUBTITLE_SPEECH, err);
}

kk_status kk_render_save_subtitles_as(const kk_render_result *r, const char *path, kk_format format,
                                      kk_subtitle_times times, kk_error *err)
{
    kk_doc *doc = kk_doc_new(format);
    if (!doc)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    kk_status st = KK_OK;
    for (size_t i = 0; i < r->n_cues && st == KK_OK; i++) {
        const kk_render_cue *q = &r->cues[i];
        /* the emphasis markup is for the voice: the subtitles show the
         * words (the word spans are the words' own letters already) */
        char *shown = kk_emphasis_any(q->text) ? kk_emphasis_strip(q->text) : NULL;
        if (kk_emphasis_any(q->text) && !shown) {
            st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
            break;
        }
        kk_segment s = {
            .start_ms = to_ms(q->start_sample), .end_ms = to_ms(q->end_sample), .text = shown ? shown : q->text,
            .speaker = q->speaker, .score = NAN};
        if ((q->end_sample == q->start_sample || times == KK_SUBTITLE_CUES) && q->cue_start_ms != KK_TIME_NONE)
            s.start_ms = q->cue_start_ms, s.end_ms = q->cue_end_ms; /* silent, or asked: keep the cue */
        kk_word *w = calloc(q->n_words ? q->n_words : 1, sizeof *w);
        if (!w) {
            free(shown);
            st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
            break;
        }
        for (size_t k = 0; k < q->n_words; k++) {
            w[k].text = strndup(q->text + q->words[k].text_start, q->words[k].text_end - q->words[k].text_start);
            w[k].start_ms = to_ms(q->words[k].start_sample);
            w[k].end_ms = to_ms(q->words[k].end_sample);
            w[k].score = NAN;
            if (!w[k].text)
                st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
        }
        s.words = q->n_words ? w : NULL;
        s.n_words = q->n_words;
        if (st == KK_OK && kk_doc_add(doc, &s) != KK_OK)
            st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
        for (size_t k = 0; k < q->n_words; k++)
            free(w[k].text);
        free(w);
        free(shown);
    }
    if (st == KK_OK)
        st = kk_doc_save(doc, path, format, err);
    kk_doc_free(doc);
    return st;
}

static double secs(int64_t samples) { return (double)samples / KK_SAMPLE_RATE; }

char *kk_render_report_json(const kk_render_result *r)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddNumberToObject(root, "sample_rate", KK_SAMPLE_RATE);
    cJSON_AddNumberToObject(root, "duration_s", secs((int64_t)r->n_samples));
    cJSON_AddNumberToObject(root, "segments", (double)r->n_cues);
    cJSON_AddNumberToObject(root, "synthesized", (double)r->synthesized);
    cJSON_AddNumberToObject(root, "from_cache", (double)r->from_cache);
    cJSON_AddNumberToObject(root, "render_s", r->seconds);
    if (r->normalized) {
        cJSON *l = cJSON_AddObjectToObject(root, "loudness");
        cJSON_AddNumberToObject(l, "input_lufs", isfinite(r->loudness.input_lufs) ? r->loudness.input_lufs : -999);
        cJSON_AddNumberToObject(l, "gain_db", r->loudness.gain_db);
        cJSON_AddNumberToObject(l, "limited_db", r->loudness.limited_db);
        cJSON_AddNumberToObject(l, "output_lufs", isfinite(r->loudness.output_lufs) ? r->loudness.output_lufs : -999);
        cJSON_AddNumberToObject(l, "output_true_peak_db", r->loudness.output_peak_db);
    }
    cJSON *cues = cJSON_AddArrayToObject(root, "cues");
    for (size_t i = 0; i < r->n_cues; i++) {
        const kk_render_cue *q = &r->cues[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(cues, o);
        cJSON_AddNumberToObject(o, "index", (double)q->index);
        cJSON_AddStringToObject(o, "text", q->text);
        cJSON_AddStringToObject(o, "voice", q->voice);
        if (q->cue_start_ms != KK_TIME_NONE) {
            cJSON_AddNumberToObject(o, "cue_start_s", (double)q->cue_start_ms / 1000.0);
            cJSON_AddNumberToObject(o, "cue_end_s", (double)q->cue_end_ms / 1000.0);
        }
        cJSON_AddNumberToObject(o, "start_s", secs(q->start_sample));
        cJSON_AddNumberToObject(o, "end_s", secs(q->end_sample));
        cJSON_AddNumberToObject(o, "natural_s", secs(q->natural_samples));
        cJSON_AddNumberToObject(o, "speed", (double)q->speed);
        cJSON_AddNumberToObject(o, "stretch", q->stretch);
        cJSON_AddNumberToObject(o, "pitch", q->pitch);
        cJSON_AddNumberToObject(o, "gap_s", secs(q->gap_samples));
        cJSON_AddNumberToObject(o, "overlap_s", secs(q->overlap_samples));
        cJSON_AddNumberToObject(o, "truncated_s", secs(q->truncated_samples));
        cJSON_AddBoolToObject(o, "cached", q->cached);
        cJSON_AddStringToObject(o, "fit", q->word_fit ? "words" : "cue");
        if (q->fit_note)
            cJSON_AddStringToObject(o, "fit_note", q->fit_note);
        cJSON *words = cJSON_AddArrayToObject(o, "words");
        for (size_t k = 0; k < q->n_words; k++) {
            cJSON *w = cJSON_CreateObject();
            cJSON_AddItemToArray(words, w);
            char *t = strndup(q->text + q->words[k].text_start, q->words[k].text_end - q->words[k].text_start);
            cJSON_AddStringToObject(w, "word", t ? t : "");
            free(t);
            cJSON_AddNumberToObject(w, "start_s", secs(q->words[k].start_sample));
            cJSON_AddNumberToObject(w, "end_s", secs(q->words[k].end_sample));
        }
    }
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}

kk_status kk_render_save_report(const kk_render_result *r, const char *path, kk_error *err)
{
    char *json = kk_render_report_json(r);
    if (!json)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    kk_status st = kk_write_text_file(path, json, "report", err);
    free(json);
    return st;
}

kk_render_summary kk_render_summarize(const kk_render_result *r)
{
    kk_render_summary s = {.max_speed = 1.0f, .min_stretch = 1.0};
    for (size_t i = 0; i < r->n_cues; i++) {
        const kk_render_cue *q = &r->cues[i];
        float up = q->asked_speed > 0 ? q->speed / q->asked_speed : 1.0f;
        if (up > 1.0005f) {
            s.sped_up++;
            if (up > s.max_speed)
                s.max_speed = up;
        }
        if (q->stretch < 1.0) {
            s.stretched++;
            if (q->stretch < s.min_stretch)
                s.min_stretch = q->stretch;
        }
        s.into_gap += q->gap_samples > 0;
        s.silent += q->end_sample == q->start_sample;
        if (q->overlap_samples > 0) {
            s.overlapping++;
            if (q->overlap_samples > s.max_overlap_samples) {
                s.max_overlap_samples = q->overlap_samples;
                s.worst_overlap_index = q->index;
            }
        }
        if (q->truncated_samples > 0) {
            s.truncated++;
            if (q->truncated_samples > s.max_truncated_samples)
                s.max_truncated_samples = q->truncated_samples;
        }
    }
    return s;
}
