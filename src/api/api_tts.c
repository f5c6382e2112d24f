/*
 * api_tts.c - the public façade's errors, version, model context and
 * speaking (include/kokoro.h over src/tts/tts.h and src/audio/export.h).
 *
 * The public types mirror the modules' but are their own, so a module can
 * change a struct without breaking a program built against kokoro.h; the
 * status codes are the modules' values, checked here at compile time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

#ifndef KOKORO_VERSION
#error "KOKORO_VERSION must be defined by the build (src/api/CMakeLists.txt)"
#endif

/* The public codes are the modules' codes: a status passes through a cast. */
_Static_assert(KOKORO_OK == (int)KK_OK, "status values differ");
_Static_assert(KOKORO_ERR_INPUT == (int)KK_ERR_INPUT, "status values differ");
_Static_assert(KOKORO_ERR_IO == (int)KK_ERR_IO, "status values differ");
_Static_assert(KOKORO_ERR_NOMEM == (int)KK_ERR_NOMEM, "status values differ");
_Static_assert(KOKORO_ERR_ARG == (int)KK_ERR_ARG, "status values differ");
_Static_assert(KOKORO_ERR_UNSUPPORTED == (int)KK_ERR_UNSUPPORTED, "status values differ");
_Static_assert(KOKORO_ERR_ABORTED == (int)KK_ERR_ABORTED, "status values differ");
_Static_assert(KOKORO_ERR_NOT_FOUND == (int)KK_ERR_NOT_FOUND, "status values differ");
_Static_assert(KOKORO_ERR_CONFLICT == (int)KK_ERR_CONFLICT, "status values differ");
_Static_assert(KOKORO_ERROR_MAX == KK_ERROR_MSG_MAX, "message sizes differ");
_Static_assert(KOKORO_PRECISION_EXACT == (int)KK_PRECISION_EXACT && KOKORO_PRECISION_FAST == (int)KK_PRECISION_FAST,
               "precision values differ");
_Static_assert(KOKORO_SAMPLE_RATE == KK_SAMPLE_RATE, "sample rates differ");

/* ---- errors ---- */

kokoro_status kk_api_error(kokoro_error *out, const kk_error *e, size_t segment)
{
    if (!out)
        return (kokoro_status)e->code;
    out->code = (kokoro_status)e->code;
    out->segment = e->code == KK_OK ? 0 : segment;
    snprintf(out->message, sizeof out->message, "%s", e->code == KK_OK ? "" : e->msg);
    return out->code;
}

kokoro_status kk_api_fail(kokoro_error *out, kokoro_status code, const char *fmt, ...)
{
    if (!out)
        return code;
    out->code = code;
    out->segment = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
    return code;
}

void kk_api_ok(kokoro_error *out)
{
    if (out)
        *out = (kokoro_error){.code = KOKORO_OK};
}

KK_API const char *kokoro_status_name(kokoro_status code) { return kk_status_name((kk_status)code); }

KK_API const char *kokoro_version(void) { return KOKORO_VERSION; }

/* ---- the model ---- */

KK_API kokoro_context_params kokoro_context_default_params(void)
{
    kk_tts_params d = kk_tts_default_params();
    return (kokoro_context_params){.model = d.model, .voices_dir = d.voices_dir};
}

KK_API kokoro_status kokoro_find_model(char *dst, size_t size, kokoro_error *err)
{
    kk_error e = {0};
    if (!dst || !size)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_find_model: no buffer for the directory");
    kk_tts_find_model(dst, size, &e);
    return kk_api_error(err, &e, 0);
}

KK_API kokoro_status kokoro_init(const kokoro_context_params *params, kokoro_context **out, kokoro_error *err)
{
    if (!out)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_init: out is NULL");
    *out = NULL;
    kokoro_context_params d = params ? *params : kokoro_context_default_params();
    kk_tts_params tp = kk_tts_default_params();
    tp.model = d.model;
    tp.voices_dir = d.voices_dir;
    kokoro_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return kk_api_fail(err, KOKORO_ERR_NOMEM, "out of memory loading the model");
    kk_error e = {0};
    if (kk_tts_new(&tp, &ctx->tts, &e) != KK_OK) {
        free(ctx);
        return kk_api_error(err, &e, 0);
    }
    *out = ctx;
    kk_api_ok(err);
    return KOKORO_OK;
}

KK_API void kokoro_free(kokoro_context *ctx)
{
    if (!ctx)
        return;
    kk_tts_free(ctx->tts);
    free(ctx);
}

KK_API const char *kokoro_model_path(const kokoro_context *ctx) { return ctx ? kk_tts_model_path(ctx->tts) : NULL; }

KK_API const char *kokoro_voices_dir(const kokoro_context *ctx) { return ctx ? kk_tts_voices_dir(ctx->tts) : NULL; }

/* ---- speaking ---- */

KK_API kokoro_speak_params kokoro_speak_default_params(void)
{
    kk_synth_params d = kk_synth_default_params();
    return (kokoro_speak_params){.voice = d.voice,
                                 .lang = d.lang,
                                 .speed = d.speed,
                                 .strict = d.strict,
                                 .lexicon_path = d.lexicon_path,
                                 .threads = d.threads,
                                 .precision = (kokoro_precision)d.precision};
}

/* Where a call's chunks go: the caller's callback, then (optionally) a
 * growing buffer or a file writer. */
typedef struct {
    const kokoro_speak_params *p;
    float *samples;
    size_t n, cap;
    kk_audio_writer *writer;
    kk_error err; /* why the sink stopped the call (0: it did not) */
} speak_sink;

static int sink_chunk(void *user, const kk_tts_chunk *c)
{
    speak_sink *s = user;
    if (s->p->on_chunk) {
        kokoro_chunk pc = {.samples = c->samples,
                           .n_samples = c->n_samples,
                           .pause_samples = c->pause_samples,
                           .index = c->index,
                           .text_start = c->text_start,
                           .text_end = c->text_end,
                           .phonemes = c->phonemes};
        if (s->p->on_chunk(s->p->user, &pc))
            return 1;
    }
    if (s->writer)
        return kk_audio_writer_write(s->writer, c->samples, c->n_samples, &s->err) != KK_OK;
    if (s->cap) {
        if (c->n_samples > s->cap - s->n) {
            size_t cap = s->cap;
            while (c->n_samples > cap - s->n)
                cap *= 2;
            float *grown = realloc(s->samples, cap * sizeof *grown);
            if (!grown) {
                kk_error_set(&s->err, KK_ERR_NOMEM, "out of memory collecting %zu samples of speech",
                             s->n + c->n_samples);
                return 1;
            }
            s->samples = grown;
            s->cap = cap;
        }
        memcpy(s->samples + s->n, c->samples, c->n_samples * sizeof *s->samples);
        s->n += c->n_samples;
    }
    return 0;
}

static void sink_progress(void *user, size_t done, size_t total)
{
    const speak_sink *s = user;
    s->p->on_progress(s->p->user, done, total);
}

static int sink_abort(void *user)
{
    const speak_sink *s = user;
    return s->p->abort(s->p->user);
}

static void sink_warning(void *user, const char *message)
{
    const speak_sink *s = user;
    s->p->on_warning(s->p->user, message);
}

static kk_synth_params synth_params(const kokoro_speak_params *p, speak_sink *sink)
{
    kk_synth_params sp = kk_synth_default_params();
    sp.voice = p->voice;
    sp.lang = p->lang;
    sp.speed = p->speed;
    sp.strict = p->strict;
    sp.lexicon_path = p->lexicon_path;
    sp.threads = p->threads;
    sp.precision = (kk_precision)p->precision;
    sp.on_chunk = sink_chunk;
    sp.on_progress = p->on_progress ? sink_progress : NULL;
    sp.abort = p->abort ? sink_abort : NULL;
    sp.on_warning = p->on_warning ? sink_warning : NULL;
    sp.user = sink;
    return sp;
}

/* A failure of the call, or the sink's own reason when it stopped it. */
static kokoro_status speak_status(kk_status st, const kk_error *call_err, const speak_sink *sink, kokoro_error *err)
{
    if (st == KK_OK) {
        kk_api_ok(err);
        return KOKORO_OK;
    }
    return kk_api_error(err, sink->err.code != KK_OK ? &sink->err : call_err, 0);
}

struct kokoro_script {
    kk_tts_script *s;
};

/* Speaks text (script NULL) or a prepared script into the sink. */
static kokoro_status speak_into(kokoro_context *ctx, const char *text, const kokoro_script *script,
                                const kokoro_speak_params *params, speak_sink *sink, kokoro_error *err)
{
    kokoro_speak_params d = kokoro_speak_default_params();
    sink->p = params ? params : &d;
    kk_synth_params sp = synth_params(sink->p, sink);
    kk_error e = {0};
    kk_status st = script ? kk_tts_speak(ctx->tts, script->s, &sp, &e) : kk_tts_synthesize(ctx->tts, text, &sp, &e);
    return speak_status(st, &e, sink, err);
}

static kokoro_status speak_samples(kokoro_context *ctx, const char *text, const kokoro_script *script,
                                   const kokoro_speak_params *params, float **samples, size_t *n_samples,
                                   kokoro_error *err)
{
    if (!samples || !n_samples)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_speak: samples and n_samples must not be NULL");
    *samples = NULL;
    *n_samples = 0;
    speak_sink sink = {.cap = KOKORO_SAMPLE_RATE};
    sink.samples = malloc(sink.cap * sizeof *sink.samples);
    if (!sink.samples)
        return kk_api_fail(err, KOKORO_ERR_NOMEM, "out of memory");
    kokoro_status st = speak_into(ctx, text, script, params, &sink, err);
    if (st != KOKORO_OK) {
        free(sink.samples);
        return st;
    }
    *samples = sink.samples;
    *n_samples = sink.n;
    return KOKORO_OK;
}

KK_API kokoro_status kokoro_speak(kokoro_context *ctx, const char *text, const kokoro_speak_params *params,
                                  float **samples, size_t *n_samples, kokoro_error *err)
{
    if (!ctx || !text)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_speak: ctx and text must not be NULL");
    return speak_samples(ctx, text, NULL, params, samples, n_samples, err);
}

KK_API void kokoro_samples_free(float *samples) { free(samples); }

KK_API kokoro_status kokoro_speak_to_file(kokoro_context *ctx, const char *text, const kokoro_speak_params *params,
                                          const char *path, const kokoro_export_params *export_params,
                                          kokoro_error *err)
{
    if (!ctx || !text || !path)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_speak_to_file: ctx, text and path must not be NULL");
    kk_export_params ep;
    kokoro_status st = kk_api_export_params(export_params, path, &ep, err);
    if (st != KOKORO_OK)
        return st;
    speak_sink sink = {0};
    kk_error e = {0};
    if (kk_audio_writer_open(&sink.writer, path, KOKORO_SAMPLE_RATE, &ep, &e) != KK_OK)
        return kk_api_error(err, &e, 0);
    st = speak_into(ctx, text, NULL, params, &sink, err);
    if (st != KOKORO_OK) {
        kk_audio_writer_abort(sink.writer);
        return st;
    }
    if (kk_audio_writer_commit(sink.writer, &e) != KK_OK)
        return kk_api_error(err, &e, 0);
    kk_api_ok(err);
    return KOKORO_OK;
}

/* ---- prepared scripts ---- */

KK_API kokoro_status kokoro_prepare(kokoro_context *ctx, const char *text, const kokoro_speak_params *params,
                                    kokoro_script **out, kokoro_error *err)
{
    if (!ctx || !text || !out)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_prepare: ctx, text and out must not be NULL");
    *out = NULL;
    kokoro_speak_params d = kokoro_speak_default_params();
    speak_sink sink = {.p = params ? params : &d};
    kk_synth_params sp = synth_params(sink.p, &sink);
    kokoro_script *s = calloc(1, sizeof *s);
    if (!s)
        return kk_api_fail(err, KOKORO_ERR_NOMEM, "out of memory");
    kk_error e = {0};
    if (kk_tts_prepare(ctx->tts, text, &sp, &s->s, &e) != KK_OK) {
        free(s);
        return kk_api_error(err, &e, 0);
    }
    *out = s;
    kk_api_ok(err);
    return KOKORO_OK;
}

KK_API const char *kokoro_script_phonemes(const kokoro_script *script)
{
    return script ? kk_tts_script_phonemes(script->s) : NULL;
}

KK_API size_t kokoro_script_chunks(const kokoro_script *script) { return script ? kk_tts_script_chunks(script->s) : 0; }

KK_API kokoro_status kokoro_speak_script(kokoro_context *ctx, const kokoro_script *script,
                                         const kokoro_speak_params *params, float **samples, size_t *n_samples,
                                         kokoro_error *err)
{
    if (!ctx || !script)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_speak_script: ctx and script must not be NULL");
    return speak_samples(ctx, NULL, script, params, samples, n_samples, err);
}

KK_API void kokoro_script_free(kokoro_script *script)
{
    if (!script)
        return;
    kk_tts_script_free(script->s);
    free(script);
}
