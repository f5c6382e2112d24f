/*
 * openai.c - the OpenAI-compatible speech API (server_openai.h; docs/api.md,
 * "OpenAI-compatible API"): the request's fields checked and mapped onto
 * the engine (voice names, blends, speed), the speech workers, the engine
 * turns they share, the answer streamed in the format and framing asked
 * for (audio bytes, Server-Sent Events, captioned JSON or NDJSON), the
 * render cache for identical requests, and OpenAI's error shape.
 *
 * A request's life: the handler (a pool thread) checks the body,
 * phonemizes the text (so that bad text is a 400, not a broken stream),
 * builds the cache key and looks it up. A hit is answered by the content
 * reader itself, a second of audio encoded per call. A miss becomes a job
 * in the queue (429 when it is full); a worker takes it and synthesises it,
 * the chunk callback encoding each sentence as it comes and handing the
 * bytes to the reader, which suspends the connection while it has none
 * (resumed by the worker, as events.c does). The reader's free callback
 * (the response is gone: done, or the client left) and a poll of the
 * socket in the abort callback (a client that left while its connection
 * was suspended) both stop the synthesis within one engine step.
 *
 * Locks: the queue's lock (o->lock), a job's lock (j->lock) and the engine
 * turn (o->turn_lock) are each taken alone; MHD resume is called under a
 * job's lock and under nothing else.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include "server_internal.h"
#include "server_openai.h"

#include <ctype.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dsp.h"
#include "kk_time.h"
#include "stream.h"

#define SPEED_MIN 0.25
#define SPEED_MAX 4.0
/* A cache hit is encoded this many samples per reader call (one second):
 * a pool thread is held for a few milliseconds at most. */
#define HIT_STEP 24000
/* The socket of a suspended connection is polled this often for a client
 * that went away. */
#define GONE_POLL_S 0.05
/* What the cache blob starts with; bump the version when its layout or
 * the audio made for a key changes. */
#define BLOB_MAGIC "KKOA0001"

/* OpenAI's voices, mapped to Kokoro voices of a like character (docs/api.md). */
static const char *const openai_voices[][2] = {
    {"alloy", "af_alloy"}, {"ash", "am_adam"},   {"ballad", "bm_george"}, {"coral", "af_heart"},
    {"echo", "am_echo"},   {"fable", "bm_fable"}, {"nova", "af_nova"},    {"onyx", "am_onyx"},
    {"sage", "af_sarah"},  {"shimmer", "af_bella"}, {"verse", "am_michael"},
};
#define N_OPENAI_VOICES (sizeof openai_voices / sizeof openai_voices[0])

static const char *const model_ids[] = {"kokoro", "tts-1", "tts-1-hd", "gpt-4o-mini-tts"};
#define N_MODELS (sizeof model_ids / sizeof model_ids[0])

enum mode { M_AUDIO, M_SSE, M_CAPTION_JSON, M_CAPTION_NDJSON };

typedef struct word_t {
    uint64_t text_start, text_end, start, end; /* bytes of the input; samples from the start */
} word_t;

typedef struct job job;
struct job {
    pthread_mutex_t lock;
    int refs;
    srv_openai *o;
    kk_server *srv;
    /* the connection, until the response is gone (NULL then) */
    struct MHD_Connection *conn;
    int fd;
    int suspended;
    /* what to say */
    char *text;
    char voice[512];
    char lang[16];
    float engine_speed;
    double stretch; /* time ratio after the engine (speeds beyond its range) */
    kk_stream_format fmt;
    enum mode mode;
    kk_tts_script *script;
    kk_cache_key key;
    int cacheable;
    /* a cache hit: the audio to send, from hit_pos */
    int16_t *hit;
    size_t hit_n, hit_pos;
    word_t *hit_words;
    size_t hit_n_words, hit_word_pos;
    /* the answer */
    kk_stream_enc *enc;
    kk_buf out; /* bytes for MHD, from out_pos */
    size_t out_pos;
    kk_buf all;   /* captioned JSON: the whole encoded audio */
    int done, failed, gone, queued, counted;
    /* what was made (for the cache and the captions) */
    kk_buf acc; /* int16 samples */
    word_t *words;
    size_t n_words, cap_words;
    uint64_t samples; /* made so far */
    size_t n_phonemes;
    double t0, t_first, synth_s, last_poll;
    double t_turn; /* when this job's engine turn began */
    job *next;
};

struct srv_openai {
    kk_server *s;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    job *head, *tail;
    size_t queued, active;
    int stop;
    pthread_t *threads;
    int n_threads;
    /* the engine turn: two ticket queues, so that turns go in order and a
     * request's first sentence goes before the others' next ones */
    pthread_mutex_t turn_lock;
    pthread_cond_t turn_cond;
    int busy;
    uint64_t next_first, serving_first, next_more, serving_more;
};

/* ---- jobs ---- */

static void job_unref(job *j)
{
    pthread_mutex_lock(&j->lock);
    int last = --j->refs == 0;
    pthread_mutex_unlock(&j->lock);
    if (!last)
        return;
    kk_tts_script_free(j->script);
    kk_stream_enc_free(j->enc);
    kk_buf_free(&j->out);
    kk_buf_free(&j->all);
    kk_buf_free(&j->acc);
    free(j->words);
    free(j->hit);
    free(j->hit_words);
    free(j->text);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

/* Under j->lock: lets MHD call the reader again. */
static void wake(job *j)
{
    if (j->suspended && j->conn) {
        j->suspended = 0;
        MHD_resume_connection(j->conn);
    }
}

static void finish_metrics(job *j, int hit)
{
    if (j->counted || !j->srv->metrics)
        return;
    j->counted = 1;
    srv_metrics_speech(j->srv->metrics, j->t_first > 0 ? j->t_first - j->t0 : -1.0,
                       (double)j->samples / KK_SAMPLE_RATE, j->synth_s, hit);
}

/* Appends one piece of encoded audio (enc, n bytes; words [w0, w1) of
 * j->words or j->hit_words, times in samples) to the answer in j's framing.
 * Builds it outside the lock, appends under it. 0, or -1 when memory runs
 * out. */
static int emit(job *j, const char *enc, size_t n, const word_t *words, size_t n_words, int last)
{
    kk_buf b = {0};
    int bad = 0;
    const double sr = KK_SAMPLE_RATE;
    switch (j->mode) {
        case M_AUDIO:
            bad = n && kk_buf_append(&b, enc, n);
            break;
        case M_SSE:
            if (n) {
                bad = kk_buf_puts(&b, "data: {\"type\":\"speech.audio.delta\",\"audio\":\"") ||
                      kk_buf_base64(&b, enc, n) || kk_buf_puts(&b, "\"}\n\n");
            }
            if (!bad && last) {
                size_t in_tokens = j->n_phonemes, out_tokens = (size_t)(j->samples / KK_SAMPLES_PER_FRAME);
                bad = kk_buf_printf(&b,
                                    "data: {\"type\":\"speech.audio.done\",\"usage\":{\"input_tokens\":%zu,"
                                    "\"output_tokens\":%zu,\"total_tokens\":%zu}}\n\n",
                                    in_tokens, out_tokens, in_tokens + out_tokens);
            }
            break;
        case M_CAPTION_JSON:
        case M_CAPTION_NDJSON: {
            if (j->mode == M_CAPTION_JSON && !last) {
                bad = n && kk_buf_append(&j->all, enc, n); /* only the worker or the reader: one at a time */
                break;
            }
            const char *audio = enc;
            size_t audio_n = n;
            if (j->mode == M_CAPTION_JSON) {
                bad = n && kk_buf_append(&j->all, enc, n);
                audio = j->all.data, audio_n = j->all.len;
                words = j->hit ? j->hit_words : j->words;
                n_words = j->hit ? j->hit_n_words : j->n_words;
            }
            if (!audio_n && !n_words && j->mode == M_CAPTION_NDJSON)
                break;
            bad = bad || kk_buf_puts(&b, "{\"audio\":\"") || kk_buf_base64(&b, audio ? audio : "", audio_n) ||
                  kk_buf_printf(&b, "\",\"audio_format\":\"%s\",\"timestamps\":[", kk_stream_format_name(j->fmt));
            for (size_t i = 0; !bad && i < n_words; i++) {
                cJSON *w = cJSON_CreateString("");
                char *word = strndup(j->text + words[i].text_start, words[i].text_end - words[i].text_start);
                char *q = NULL;
                if (w && word && cJSON_SetValuestring(w, word))
                    q = cJSON_PrintUnformatted(w);
                bad = !q || kk_buf_printf(&b, "%s{\"word\":%s,\"start_time\":%.3f,\"end_time\":%.3f}", i ? "," : "",
                                          q, words[i].start / sr, words[i].end / sr);
                free(q);
                free(word);
                cJSON_Delete(w);
            }
            bad = bad || kk_buf_puts(&b, j->mode == M_CAPTION_JSON ? "]}" : "]}\n");
            break;
        }
    }
    if (bad) {
        kk_buf_free(&b);
        return -1;
    }
    pthread_mutex_lock(&j->lock);
    if (b.len && !j->gone) {
        if (j->t_first <= 0 && n)
            j->t_first = kk_now_s();
        bad = kk_buf_append(&j->out, b.data, b.len);
    }
    wake(j);
    pthread_mutex_unlock(&j->lock);
    kk_buf_free(&b);
    return bad ? -1 : 0;
}

/* Encodes n samples and emits them with their words. */
static int encode_emit(job *j, const float *x, size_t n, const word_t *words, size_t n_words, int last, kk_error *err)
{
    kk_buf enc = {0};
    kk_status st = n ? kk_stream_enc_write(j->enc, x, n, &enc, err) : KK_OK;
    if (st == KK_OK && last)
        st = kk_stream_enc_finish(j->enc, &enc, err);
    int bad = st != KK_OK || emit(j, enc.data, enc.len, words, n_words, last);
    kk_buf_free(&enc);
    if (bad && st == KK_OK)
        kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    return bad;
}

/* ---- the engine turn ---- */

/* Waits for the engine. first: for a request's first sentence, which goes
 * before every sentence after a first (the time to first audio of a
 * request that arrives while others are being made is one sentence, not a
 * round of them); each kind in the order it asked. */
static void turn_take(srv_openai *o, int first)
{
    pthread_mutex_lock(&o->turn_lock);
    uint64_t t = first ? o->next_first++ : o->next_more++;
    for (;;) {
        int mine = first ? o->serving_first == t : o->serving_more == t && o->next_first == o->serving_first;
        if (!o->busy && mine)
            break;
        pthread_cond_wait(&o->turn_cond, &o->turn_lock);
    }
    o->busy = 1;
    if (first)
        o->serving_first++;
    else
        o->serving_more++;
    pthread_mutex_unlock(&o->turn_lock);
}

static void turn_give(srv_openai *o)
{
    pthread_mutex_lock(&o->turn_lock);
    o->busy = 0;
    pthread_cond_broadcast(&o->turn_cond);
    pthread_mutex_unlock(&o->turn_lock);
}

/* ---- synthesis (a worker) ---- */

/* The client went away: the response was freed, or (its connection
 * suspended, so MHD cannot see it) the socket says so. */
static int job_gone(job *j)
{
    pthread_mutex_lock(&j->lock);
    int gone = j->gone || atomic_load(&j->srv->stopping);
    double now = kk_now_s();
    if (!gone && j->conn && j->fd >= 0 && now - j->last_poll >= GONE_POLL_S) {
        j->last_poll = now;
        struct pollfd p = {.fd = j->fd, .events = POLLRDHUP};
        if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
            j->gone = gone = 1;
            wake(j); /* MHD sees the closed socket and frees the response */
        }
    }
    pthread_mutex_unlock(&j->lock);
    return gone;
}

static int synth_abort(void *user) { return job_gone(user); }

static int on_chunk(void *user, const kk_tts_chunk *c)
{
    job *j = user;
    j->synth_s += kk_now_s() - j->t_turn;
    kk_error err = {0};
    const float *x = c->samples;
    size_t n = c->n_samples;
    float *stretched = NULL;
    if (j->stretch != 1.0 && n) {
        size_t m = 0;
        if (kk_dsp_stretch(x, n, KK_SAMPLE_RATE, j->stretch, 0.0, &stretched, &m, &err) != KK_OK)
            return 1;
        x = stretched, n = m;
    }
    size_t w0 = j->n_words;
    if (j->n_words + c->n_words > j->cap_words) {
        size_t cap = (j->cap_words ? j->cap_words * 2 : 64) + c->n_words;
        word_t *v = realloc(j->words, cap * sizeof *v);
        if (!v) {
            free(stretched);
            return 1;
        }
        j->words = v, j->cap_words = cap;
    }
    for (size_t i = 0; i < c->n_words; i++) {
        const kk_tts_word *w = &c->words[i];
        j->words[j->n_words++] = (word_t){w->text_start, w->text_end, j->samples + (uint64_t)(w->start_sample * j->stretch),
                                          j->samples + (uint64_t)(w->end_sample * j->stretch)};
    }
    if (c->n_durations > 2)
        j->n_phonemes += c->n_durations - 2;
    /* Quantised to 16 bits here, once: what is encoded now and what the
     * cache keeps (and a hit encodes) are then the same samples, so an
     * identical request gets identical bytes. */
    float *q = malloc((n ? n : 1) * sizeof *q);
    if (!q) {
        free(stretched);
        return 1;
    }
    if (j->cacheable && kk_buf_reserve(&j->acc, n * 2))
        j->cacheable = 0;
    for (size_t i = 0; i < n; i++) {
        float v = x[i] > 1.0f ? 1.0f : x[i] < -1.0f ? -1.0f : x[i];
        int16_t s16 = (int16_t)lrintf(v * 32767.0f);
        q[i] = s16 / 32767.0f;
        if (j->cacheable)
            memcpy(j->acc.data + j->acc.len + 2 * i, &s16, 2);
    }
    if (j->cacheable)
        j->acc.len += n * 2;
    free(stretched);
    stretched = q;
    x = q;
    j->samples += n;
    int bad = encode_emit(j, x, n, j->words + w0, j->n_words - w0, 0, &err);
    free(stretched);
    /* The next sentence waits for the other requests' turns. */
    turn_give(j->o);
    turn_take(j->o, 0);
    j->t_turn = kk_now_s();
    return bad || job_gone(j);
}

static void put_cache(job *j)
{
    size_t words_bytes = j->n_words * sizeof(word_t);
    size_t n = 8 + 16 + j->acc.len + words_bytes;
    char *blob = malloc(n);
    if (!blob)
        return;
    uint64_t ns = j->acc.len / 2, nw = j->n_words;
    memcpy(blob, BLOB_MAGIC, 8);
    memcpy(blob + 8, &ns, 8);
    memcpy(blob + 16, &nw, 8);
    memcpy(blob + 24, j->acc.data, j->acc.len);
    memcpy(blob + 24 + j->acc.len, j->words, words_bytes);
    kk_error err = {0};
    if (kk_cache_put(j->srv->cache, &j->key, blob, n, &err) != KK_OK)
        srv_log(j->srv, "warning: speech not kept in the cache: %s", err.msg);
    free(blob);
}

static void run_job(srv_openai *o, job *j)
{
    kk_server *s = o->s;
    kk_error err = {0};
    kk_status st = KK_ERR_ABORTED;
    if (!job_gone(j)) {
        kk_synth_params sp = kk_synth_default_params();
        sp.voice = j->voice;
        sp.lang = j->lang[0] ? j->lang : NULL;
        sp.speed = j->engine_speed;
        sp.precision = s->speech_precision;
        sp.on_chunk = on_chunk;
        sp.abort = synth_abort;
        sp.user = j;
        turn_take(o, 1);
        j->t_turn = kk_now_s();
        st = kk_tts_speak(s->tts, j->script, &sp, &err);
        turn_give(o);
    }
    if (st == KK_OK)
        st = encode_emit(j, NULL, 0, NULL, 0, 1, &err) ? KK_ERR_NOMEM : KK_OK;
    if (st == KK_OK && j->cacheable)
        put_cache(j);
    if (st != KK_OK && st != KK_ERR_ABORTED)
        srv_log(s, "speech failed: %s", err.msg);
    pthread_mutex_lock(&j->lock);
    j->done = 1;
    j->failed = st != KK_OK;
    wake(j);
    pthread_mutex_unlock(&j->lock);
    finish_metrics(j, 0);
}

static void *worker_main(void *arg)
{
    srv_openai *o = arg;
    for (;;) {
        pthread_mutex_lock(&o->lock);
        while (!o->head && !o->stop)
            pthread_cond_wait(&o->cond, &o->lock);
        job *j = o->head;
        if (!j) {
            pthread_mutex_unlock(&o->lock);
            return NULL;
        }
        o->head = j->next;
        if (!o->head)
            o->tail = NULL;
        o->queued--;
        o->active++;
        pthread_mutex_unlock(&o->lock);
        run_job(o, j);
        pthread_mutex_lock(&o->lock);
        o->active--;
        pthread_mutex_unlock(&o->lock);
        srv_jobs_hold(o->s->jobs, -1);
        job_unref(j);
    }
}

kk_status srv_openai_start(kk_server *s, srv_openai **out, kk_error *err)
{
    srv_openai *o = calloc(1, sizeof *o);
    int n = s->p.speech_workers;
    if (!o || !(o->threads = calloc((size_t)n, sizeof *o->threads))) {
        free(o);
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    }
    o->s = s;
    pthread_mutex_init(&o->lock, NULL);
    pthread_cond_init(&o->cond, NULL);
    pthread_mutex_init(&o->turn_lock, NULL);
    pthread_cond_init(&o->turn_cond, NULL);
    for (; o->n_threads < n; o->n_threads++)
        if (pthread_create(&o->threads[o->n_threads], NULL, worker_main, o)) {
            srv_openai_stop(o);
            srv_openai_free(o);
            return kk_error_set(err, KK_ERR_IO, "cannot start a speech worker thread");
        }
    *out = o;
    return KK_OK;
}

void srv_openai_stop(srv_openai *o)
{
    if (!o)
        return;
    pthread_mutex_lock(&o->lock);
    o->stop = 1;
    /* Queued jobs end at once: their readers see done and failed. */
    for (job *j = o->head; j; j = j->next) {
        pthread_mutex_lock(&j->lock);
        j->done = j->failed = 1;
        wake(j);
        pthread_mutex_unlock(&j->lock);
    }
    pthread_cond_broadcast(&o->cond);
    pthread_mutex_unlock(&o->lock);
    /* Running ones see `stopping` in their abort callback. */
    for (int i = 0; i < o->n_threads; i++)
        pthread_join(o->threads[i], NULL);
    o->n_threads = 0;
    pthread_mutex_lock(&o->lock);
    for (job *j = o->head, *n; j; j = n) {
        n = j->next;
        srv_jobs_hold(o->s->jobs, -1);
        job_unref(j);
    }
    o->head = o->tail = NULL;
    o->queued = 0;
    pthread_mutex_unlock(&o->lock);
}

void srv_openai_free(srv_openai *o)
{
    if (!o)
        return;
    pthread_mutex_destroy(&o->lock);
    pthread_cond_destroy(&o->cond);
    pthread_mutex_destroy(&o->turn_lock);
    pthread_cond_destroy(&o->turn_cond);
    free(o->threads);
    free(o);
}

void srv_openai_load(srv_openai *o, size_t *queued, size_t *active)
{
    *queued = *active = 0;
    if (!o)
        return;
    pthread_mutex_lock(&o->lock);
    *queued = o->queued, *active = o->active;
    pthread_mutex_unlock(&o->lock);
}

/* ---- the answer's body (MHD's content reader) ---- */

/* A cache hit: the next second of audio into j->out. 0, or -1 on failure. */
static int hit_step(job *j)
{
    size_t n = j->hit_n - j->hit_pos;
    if (n > HIT_STEP)
        n = HIT_STEP;
    int last = j->hit_pos + n == j->hit_n;
    float *x = malloc((n ? n : 1) * sizeof *x);
    if (!x)
        return -1;
    for (size_t i = 0; i < n; i++)
        x[i] = j->hit[j->hit_pos + i] / 32767.0f;
    uint64_t end = j->hit_pos + n;
    size_t w0 = j->hit_word_pos, w1 = w0;
    while (w1 < j->hit_n_words && (last || j->hit_words[w1].start < end))
        w1++;
    j->hit_word_pos = w1;
    j->hit_pos += n;
    j->samples += n;
    kk_error err = {0};
    int bad = encode_emit(j, x, n, j->hit_words + w0, w1 - w0, last, &err);
    free(x);
    if (last) {
        pthread_mutex_lock(&j->lock);
        j->done = 1;
        j->failed = bad;
        pthread_mutex_unlock(&j->lock);
        finish_metrics(j, 1);
    }
    return bad ? -1 : 0;
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    job *j = cls;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        if (j->out.len > j->out_pos) {
            size_t n = j->out.len - j->out_pos;
            if (n > max)
                n = max;
            memcpy(buf, j->out.data + j->out_pos, n);
            j->out_pos += n;
            if (j->out_pos == j->out.len) {
                kk_buf_clear(&j->out);
                j->out_pos = 0;
            }
            pthread_mutex_unlock(&j->lock);
            return (ssize_t)n;
        }
        if (j->done || j->gone) {
            int failed = j->failed || j->gone;
            pthread_mutex_unlock(&j->lock);
            return failed ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (j->hit) {
            pthread_mutex_unlock(&j->lock);
            if (hit_step(j))
                return MHD_CONTENT_READER_END_WITH_ERROR;
            continue;
        }
        /* Nothing yet: wait off the pool until the worker has more. */
        j->suspended = 1;
        MHD_suspend_connection(j->conn);
        pthread_mutex_unlock(&j->lock);
        return 0;
    }
}

static void reader_free(void *cls)
{
    job *j = cls;
    pthread_mutex_lock(&j->lock);
    j->gone = 1; /* done or not: nobody reads any more */
    j->conn = NULL;
    j->fd = -1;
    pthread_mutex_unlock(&j->lock);
    job_unref(j);
}

/* ---- the request ---- */

/* OpenAI's error: message, type (from the status), param, code. */
static void oai_error(srv_reply *rp, unsigned status, const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static const char *error_type(unsigned status)
{
    switch (status) {
        case 401: return "authentication_error";
        case 403: return "permission_error";
        case 404: return "not_found_error";
        case 429: return "rate_limit_error";
        default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

static void oai_error(srv_reply *rp, unsigned status, const char *code, const char *param, const char *fmt, ...)
{
    char msg[KK_ERROR_MSG_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    srv_message_utf8(msg);
    cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", error_type(status));
    if (param)
        cJSON_AddStringToObject(e, "param", param);
    else
        cJSON_AddNullToObject(e, "param");
    cJSON_AddStringToObject(e, "code", code);
    srv_reply_json(rp, status, root);
}

void oai_error_shape(srv_reply *rp)
{
    if (rp->status < 400 || !rp->body || !rp->type || strncmp(rp->type, "application/json", 16))
        return;
    cJSON *root = cJSON_ParseWithLength(rp->body, rp->len);
    cJSON *e = root ? cJSON_GetObjectItem(root, "error") : NULL;
    if (!cJSON_IsObject(e) || cJSON_GetObjectItem(e, "type")) {
        cJSON_Delete(root);
        return;
    }
    cJSON *code = cJSON_GetObjectItem(e, "code"), *msg = cJSON_GetObjectItem(e, "message");
    const char *c = cJSON_IsString(code) ? code->valuestring : "error";
    if (rp->status == 401)
        c = "invalid_api_key";
    oai_error(rp, rp->status, c, NULL, "%s", cJSON_IsString(msg) ? msg->valuestring : "error");
    cJSON_Delete(root);
}

static int is_openai_name(const char *name, size_t n, const char **kokoro)
{
    for (size_t i = 0; i < N_OPENAI_VOICES; i++)
        if (strlen(openai_voices[i][0]) == n && !strncasecmp(name, openai_voices[i][0], n)) {
            *kokoro = openai_voices[i][1];
            return 1;
        }
    return 0;
}

/* The voice as the engine takes it ("af_heart", "af_bella:2,af_sky:1")
 * from what a client sends: a Kokoro id, an OpenAI name, a blend in
 * Kokoro-FastAPI's form ("af_bella(2)+af_sky(1)", "af_bella+af_sky") or
 * ours ("af_heart:0.7,am_michael:0.3"). 0, or -1 with why in msg (a
 * malformed blend). Whether the voices exist is checked after. */
static int voice_spec(const char *in, char *out, size_t size, char *msg, size_t msg_size)
{
    size_t w = 0;
    out[0] = '\0';
    int fastapi = strchr(in, '+') || strchr(in, '(');
    const char *p = in;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *start = p;
        while (*p && !strchr(fastapi ? "+(-" : ",:", *p) && *p != ' ')
            p++;
        size_t n = (size_t)(p - start);
        char weight[32] = "";
        while (*p == ' ')
            p++;
        if (fastapi && *p == '(') {
            const char *close = strchr(p, ')');
            if (!close || (size_t)(close - p - 1) >= sizeof weight) {
                snprintf(msg, msg_size, "voice \"%.100s\": a weight in ( ) is not closed", in);
                return -1;
            }
            memcpy(weight, p + 1, (size_t)(close - p - 1));
            weight[close - p - 1] = '\0';
            p = close + 1;
        } else if (!fastapi && *p == ':') {
            const char *e = p + 1;
            while (*e && *e != ',')
                e++;
            if ((size_t)(e - p - 1) >= sizeof weight) {
                snprintf(msg, msg_size, "voice \"%.100s\": a weight is too long", in);
                return -1;
            }
            memcpy(weight, p + 1, (size_t)(e - p - 1));
            weight[e - p - 1] = '\0';
            p = e;
        }
        while (*p == ' ')
            p++;
        if (*p == '-') {
            snprintf(msg, msg_size, "voice \"%.100s\": subtracting a voice (-) is not supported; use + with weights",
                     in);
            return -1;
        }
        if (*p && *p != (fastapi ? '+' : ',')) {
            snprintf(msg, msg_size, "voice \"%.100s\": unexpected \"%c\"", in, *p);
            return -1;
        }
        if (*p)
            p++;
        if (!n) {
            snprintf(msg, msg_size, "voice \"%.100s\": a voice name is missing", in);
            return -1;
        }
        if (weight[0]) {
            char *e;
            double v = strtod(weight, &e);
            if (*e || !(v > 0) || !isfinite(v)) {
                snprintf(msg, msg_size, "voice \"%.100s\": weight \"%s\" is not a number above 0", in, weight);
                return -1;
            }
        }
        const char *mapped = NULL;
        int k = is_openai_name(start, n, &mapped)
                    ? snprintf(out + w, size - w, "%s%s%s%s", w ? "," : "", mapped, weight[0] ? ":" : "", weight)
                    : snprintf(out + w, size - w, "%s%.*s%s%s", w ? "," : "", (int)n, start, weight[0] ? ":" : "",
                               weight);
        if (k < 0 || (size_t)k >= size - w) {
            snprintf(msg, msg_size, "voice \"%.60s...\": too long", in);
            return -1;
        }
        w += (size_t)k;
    }
    if (!w) {
        snprintf(msg, msg_size, "voice: empty");
        return -1;
    }
    return 0;
}

/* Counts the characters (code points) of valid UTF-8. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* The cache key of a request: the engine, what is said, how. */
static kk_cache_key speech_key(const kk_server *s, const job *j)
{
    kk_cache_key_builder b;
    kk_cache_key_init(&b);
    kk_cache_key_add_str(&b, "openai-speech");
    kk_cache_key_add_str(&b, BLOB_MAGIC);
    kk_cache_key_add_str(&b, kk_tts_identity_for(s->tts, s->speech_precision)); /* what runs, fast or exact */
    kk_cache_key_add_str(&b, kk_tts_script_phonemes(j->script));
    kk_cache_key_add_str(&b, j->voice);
    kk_cache_key_add_f64(&b, j->engine_speed);
    kk_cache_key_add_f64(&b, j->stretch);
    /* Captions quote the input's bytes: the same phonemes from other text
     * have other word spans. */
    kk_cache_key_add_str(&b, j->text);
    return kk_cache_key_final(&b);
}

/* A blob from put_cache into j->hit; 0 when it is one, -1 when not. */
static int take_hit(job *j, const char *blob, size_t n)
{
    uint64_t ns, nw;
    if (n < 24 || memcmp(blob, BLOB_MAGIC, 8))
        return -1;
    memcpy(&ns, blob + 8, 8);
    memcpy(&nw, blob + 16, 8);
    if (ns > (n - 24) / 2 || nw > (n - 24 - ns * 2) / sizeof(word_t) || 24 + ns * 2 + nw * sizeof(word_t) != n)
        return -1;
    j->hit = malloc(ns ? ns * 2 : 1);
    j->hit_words = malloc(nw ? nw * sizeof(word_t) : 1);
    if (!j->hit || !j->hit_words)
        return -1;
    memcpy(j->hit, blob + 24, ns * 2);
    memcpy(j->hit_words, blob + 24 + ns * 2, nw * sizeof(word_t));
    for (size_t i = 0; i < nw; i++) /* spans inside this request's text (same key, same text) */
        if (j->hit_words[i].text_end > strlen(j->text) || j->hit_words[i].text_start > j->hit_words[i].text_end)
            return -1;
    j->hit_n = ns, j->hit_n_words = nw;
    return 0;
}

static const char *json_str(const cJSON *o, const char *key, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsString(v)) {
        *bad = 1;
        return NULL;
    }
    return v->valuestring;
}

static void speech(srv_request *rq, srv_reply *rp, int captioned)
{
    kk_server *s = rq->srv;
    const cJSON *body = rq->json;
    if (!cJSON_IsObject(body)) {
        oai_error(rp, 400, "invalid_request_error", NULL,
                  "the body must be a JSON object: {\"model\", \"input\", \"voice\", ...} (Content-Type: "
                  "application/json)");
        return;
    }
    int bad = 0;
    const char *model = json_str(body, "model", &bad);
    if (bad) {
        oai_error(rp, 400, "invalid_type", "model", "model: a string (tts-1, tts-1-hd, gpt-4o-mini-tts, kokoro)");
        return;
    }
    (void)model; /* every model name means Kokoro-82M */
    const char *input = json_str(body, "input", &bad);
    if (bad || !input) {
        oai_error(rp, 400, bad ? "invalid_type" : "missing_required_parameter", "input",
                  "input: %s", bad ? "must be a string" : "required: the text to speak");
        return;
    }
    size_t chars = utf8_chars(input);
    if (chars > s->p.max_speech_chars) {
        oai_error(rp, 413, "string_above_max_length", "input",
                  "input: %zu characters, over the limit of %zu (kokoro serve --max-speech-chars)", chars,
                  s->p.max_speech_chars);
        return;
    }
    const char *p = input;
    while (*p && isspace((unsigned char)*p))
        p++;
    if (!*p) {
        oai_error(rp, 400, "invalid_value", "input", "input: empty; give the text to speak");
        return;
    }
    /* voice: a string or {"id": "..."} */
    const cJSON *vj = cJSON_GetObjectItemCaseSensitive(body, "voice");
    if (cJSON_IsObject(vj))
        vj = cJSON_GetObjectItemCaseSensitive(vj, "id");
    const char *voice_in = cJSON_IsString(vj) ? vj->valuestring : vj ? NULL : "af_heart";
    if (!voice_in) {
        oai_error(rp, 400, "invalid_type", "voice",
                  "voice: a voice name (af_heart, alloy, \"af_bella(2)+af_sky(1)\") or {\"id\": name}");
        return;
    }
    const char *fmt_in = json_str(body, "response_format", &bad);
    if (bad) {
        oai_error(rp, 400, "invalid_type", "response_format", "response_format: a string");
        return;
    }
    kk_stream_format fmt = KK_STREAM_MP3;
    kk_error err = {0};
    if (fmt_in && kk_stream_format_parse(fmt_in, &fmt, &err) != KK_OK) {
        oai_error(rp, 400, "invalid_value", "response_format", "%s", err.msg);
        return;
    }
    double speed = 1.0;
    const cJSON *sj = cJSON_GetObjectItemCaseSensitive(body, "speed");
    if (sj && !cJSON_IsNull(sj)) {
        if (!cJSON_IsNumber(sj) || !(sj->valuedouble >= SPEED_MIN && sj->valuedouble <= SPEED_MAX)) {
            oai_error(rp, 400, "invalid_value", "speed", "speed: a number from %.2f to %.1f", SPEED_MIN, SPEED_MAX);
            return;
        }
        speed = sj->valuedouble;
    }
    const char *instructions = json_str(body, "instructions", &bad); /* accepted, not used */
    (void)instructions;
    if (bad) {
        oai_error(rp, 400, "invalid_type", "instructions", "instructions: a string");
        return;
    }
    const char *sf = json_str(body, "stream_format", &bad);
    if (bad || (sf && strcmp(sf, "audio") && strcmp(sf, "sse"))) {
        oai_error(rp, 400, "invalid_value", "stream_format", "stream_format: \"audio\" or \"sse\"");
        return;
    }
    const char *lang = json_str(body, "lang_code", &bad); /* Kokoro-FastAPI's */
    if (bad || (lang && strlen(lang) >= 16)) {
        oai_error(rp, 400, "invalid_value", "lang_code", "lang_code: a language code (\"a\", \"en-us\", \"fr-fr\")");
        return;
    }
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(body, "stream");
    if (stream && !cJSON_IsBool(stream) && !cJSON_IsNull(stream)) {
        oai_error(rp, 400, "invalid_type", "stream", "stream: true or false");
        return;
    }
    char spec[512], msg[256];
    if (voice_spec(voice_in, spec, sizeof spec, msg, sizeof msg)) {
        oai_error(rp, 400, "invalid_value", "voice", "%s", msg);
        return;
    }
    if (!srv_voice_known(s->voices, s->n_voices, spec)) {
        oai_error(rp, 404, "voice_not_found", "voice",
                  "voice \"%.200s\": no such voice (GET /v1/audio/voices lists them; OpenAI's names map to Kokoro "
                  "voices)",
                  voice_in);
        return;
    }
    for (const char *q = spec; *q;) { /* each voice of a blend */
        char id[KK_VOICE_ID_MAX];
        size_t n = strcspn(q, ":,");
        snprintf(id, sizeof id, "%.*s", (int)(n < sizeof id ? n : sizeof id - 1), q);
        const char *why = srv_voice_unsupported(id);
        if (why) {
            oai_error(rp, 400, "unsupported_voice", "voice", "voice %s: %s", id, why);
            return;
        }
        q += strcspn(q, ",");
        if (*q)
            q++;
    }

    job *j = calloc(1, sizeof *j);
    if (!j || !(j->text = strdup(input))) {
        free(j);
        oai_error(rp, 500, "internal", NULL, "out of memory");
        return;
    }
    pthread_mutex_init(&j->lock, NULL);
    j->refs = 1;
    j->o = s->openai;
    j->srv = s;
    j->fd = -1;
    j->t0 = kk_now_s();
    j->fmt = fmt;
    snprintf(j->voice, sizeof j->voice, "%s", spec);
    if (lang)
        snprintf(j->lang, sizeof j->lang, "%s", lang);
    /* The engine speaks 0.5 .. 2 times its pace; past that Rubber Band
     * stretches what it made. */
    double es = speed < KK_SPEED_MIN ? KK_SPEED_MIN : speed > KK_SPEED_MAX ? KK_SPEED_MAX : speed;
    j->engine_speed = (float)es;
    j->stretch = es / speed;
    if (captioned)
        j->mode = stream && cJSON_IsFalse(stream) ? M_CAPTION_JSON : M_CAPTION_NDJSON;
    else
        j->mode = sf && !strcmp(sf, "sse") ? M_SSE : M_AUDIO;

    kk_synth_params sp = kk_synth_default_params();
    sp.voice = j->voice;
    sp.lang = j->lang[0] ? j->lang : NULL;
    /* First audio after the first sentence, or its first clause when it
     * is long (stream_chunks' short first chunk); then a chunk per sentence,
     * each one engine turn among the requests at work. */
    sp.chunk_per_sentence = 1;
    sp.stream_chunks = 1;
    kk_status st = kk_tts_prepare(s->tts, j->text, &sp, &j->script, &err);
    if (st == KK_OK && kk_tts_script_chunks(j->script) == 0)
        st = kk_error_set(&err, KK_ERR_INPUT, "input: nothing to say (no words)");
    if (st != KK_OK) { /* the text (or the language) cannot be read */
        if (st == KK_ERR_NOMEM)
            oai_error(rp, 500, "internal", NULL, "%s", err.msg);
        else
            oai_error(rp, 400, "invalid_value", "input", "%s", err.msg); /* the message names the cause */
        job_unref(j);
        return;
    }
    st = kk_stream_enc_open(&j->enc, fmt, KK_SAMPLE_RATE, 0, &err);
    if (st != KK_OK) { /* this FFmpeg lacks the codec: the server's, not the request's */
        oai_error(rp, 500, st == KK_ERR_NOMEM ? "internal" : "encoder_unavailable", NULL, "%s", err.msg);
        job_unref(j);
        return;
    }
    j->key = speech_key(s, j);
    j->cacheable = 1;
    void *blob = NULL;
    size_t blob_n = 0;
    if (kk_cache_get(s->cache, &j->key, &blob, &blob_n, &err) == KK_OK && blob) {
        if (take_hit(j, blob, blob_n)) {
            free(j->hit), free(j->hit_words);
            j->hit = NULL, j->hit_words = NULL;
        }
    }
    free(blob);
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    j->conn = rq->conn;
    j->fd = ci ? ci->connect_fd : -1;

    if (!j->hit) {
        srv_openai *o = s->openai;
        pthread_mutex_lock(&o->lock);
        int full = o->queued >= s->p.speech_queue, stopping = o->stop;
        if (!full && !stopping) {
            j->refs++; /* the queue's */
            j->queued = 1;
            if (o->tail)
                o->tail->next = j;
            else
                o->head = j;
            o->tail = j;
            o->queued++;
            srv_jobs_hold(s->jobs, +1); /* before the worker can drop it */
            pthread_cond_signal(&o->cond);
        }
        pthread_mutex_unlock(&o->lock);
        if (full || stopping) {
            if (full)
                oai_error(rp, 429, "rate_limit_exceeded", NULL,
                          "%zu speech requests are waiting already; try again shortly (kokoro serve "
                          "--speech-queue)",
                          s->p.speech_queue);
            else
                oai_error(rp, 503, "unavailable", NULL, "the server is stopping");
            if (full)
                srv_reply_header(rp, "Retry-After", "1");
            job_unref(j);
            return;
        }
    }
    /* The reader's reference: dropped by reader_free. */
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, reader, j, reader_free);
    if (!r) {
        pthread_mutex_lock(&j->lock);
        j->gone = 1;
        pthread_mutex_unlock(&j->lock);
        job_unref(j);
        oai_error(rp, 500, "internal", NULL, "out of memory");
        return;
    }
    const char *type = j->mode == M_SSE               ? "text/event-stream"
                       : j->mode == M_CAPTION_JSON    ? "application/json"
                       : j->mode == M_CAPTION_NDJSON ? "application/x-ndjson"
                                                       : kk_stream_format_mime(fmt);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    MHD_add_response_header(r, "X-Cache", j->hit ? "hit" : "miss");
    /* What made the audio (kokoro serve --speech-precision, after the fast
     * mode's fallback where the CPU lacks AMX): the cache is keyed on it. */
    MHD_add_response_header(r, "X-Kokoro-Precision", kk_tts_precision_name(s->speech_precision));
    if (j->mode == M_AUDIO) {
        char cd[64];
        snprintf(cd, sizeof cd, "inline; filename=\"speech.%s\"", kk_stream_format_name(fmt));
        MHD_add_response_header(r, "Content-Disposition", cd);
    }
    rp->status = 200;
    rp->raw = r;
    rp->type = NULL;
}

void oai_speech(srv_request *rq, srv_reply *rp) { speech(rq, rp, 0); }
void oai_captioned_speech(srv_request *rq, srv_reply *rp) { speech(rq, rp, 1); }

/* ---- lists ---- */

static cJSON *model_json(const char *id, double created)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "id", id);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddNumberToObject(m, "created", created);
    cJSON_AddStringToObject(m, "owned_by", "kokoro");
    return m;
}

void oai_models(srv_request *rq, srv_reply *rp)
{
    double created = floor(rq->srv->t0_wall);
    cJSON *root = cJSON_CreateObject(), *data = cJSON_AddArrayToObject(root, "data");
    cJSON_AddStringToObject(root, "object", "list");
    for (size_t i = 0; i < N_MODELS; i++)
        cJSON_AddItemToArray(data, model_json(model_ids[i], created));
    srv_reply_json(rp, 200, root);
}

void oai_model(srv_request *rq, srv_reply *rp)
{
    for (size_t i = 0; i < N_MODELS; i++)
        if (!strcmp(rq->name, model_ids[i])) {
            srv_reply_json(rp, 200, model_json(model_ids[i], floor(rq->srv->t0_wall)));
            return;
        }
    oai_error(rp, 404, "model_not_found", "model", "model \"%.200s\": no such model (GET /v1/models lists them)",
              rq->name);
}

void oai_audio_models(srv_request *rq, srv_reply *rp)
{
    (void)rq;
    cJSON *root = cJSON_CreateObject(), *data = cJSON_AddArrayToObject(root, "models");
    for (size_t i = 0; i < N_MODELS; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "id", model_ids[i]);
        cJSON_AddStringToObject(m, "name", i ? model_ids[i] : "Kokoro-82M");
        cJSON_AddItemToArray(data, m);
    }
    srv_reply_json(rp, 200, root);
}

/* {"voices": [{"id", "name", "language", "gender"}]}: the Kokoro voices the
 * engine speaks, then OpenAI's names (whose "name" says what they map to). */
void oai_voices(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "voices");
    for (size_t i = 0; i < s->n_voices; i++) {
        const kk_voice_info *v = &s->voices[i];
        if (srv_voice_unsupported(v->id))
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", v->id);
        cJSON_AddStringToObject(o, "name", v->id);
        cJSON_AddStringToObject(o, "language", v->language);
        char g[2] = {v->gender, 0};
        cJSON_AddStringToObject(o, "gender", g);
        cJSON_AddItemToArray(arr, o);
    }
    for (size_t i = 0; i < N_OPENAI_VOICES; i++) {
        if (!srv_voice_known(s->voices, s->n_voices, openai_voices[i][1]))
            continue;
        cJSON *o = cJSON_CreateObject();
        char name[64];
        snprintf(name, sizeof name, "%s (%s)", openai_voices[i][0], openai_voices[i][1]);
        cJSON_AddStringToObject(o, "id", openai_voices[i][0]);
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddItemToArray(arr, o);
    }
    srv_reply_json(rp, 200, root);
}
