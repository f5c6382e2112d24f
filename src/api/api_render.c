/*
 * api_render.c - the public façade's render cache, timelines and renders
 * (include/kokoro.h over src/render/cache.h, src/render/render.h and
 * src/parsers/subtitles.h).
 *
 * A kokoro_timeline owns copies of its segments' strings; kokoro_render
 * turns it into the module's kk_render_segment array for the call only. A
 * kokoro_track owns the module's kk_render_result.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "cache.h"
#include "render.h"
#include "subtitles.h"

_Static_assert(KOKORO_TIME_NONE == KK_TIME_NONE, "time sentinels differ");
_Static_assert(KOKORO_OVERFLOW_OVERLAP == (int)KK_OVERFLOW_OVERLAP, "overflow values differ");
_Static_assert(KOKORO_OVERFLOW_TRUNCATE == (int)KK_OVERFLOW_TRUNCATE, "overflow values differ");

/* ---- the cache ---- */

struct kokoro_cache {
    kk_cache *c;
};

KK_API kokoro_cache_params kokoro_cache_default_params(void)
{
    kk_cache_params d = kk_cache_default_params();
    return (kokoro_cache_params){.mem_bytes = d.mem_bytes, .dir = d.dir, .disk_bytes = d.disk_bytes};
}

KK_API kokoro_status kokoro_cache_default_dir(char *dst, size_t size, kokoro_error *err)
{
    if (!dst || !size)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_cache_default_dir: no buffer for the directory");
    kk_error e = {0};
    kk_cache_default_dir(dst, size, &e);
    return kk_api_error(err, &e, 0);
}

KK_API kokoro_status kokoro_cache_open(const kokoro_cache_params *params, kokoro_cache **out, kokoro_error *err)
{
    if (!out)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_cache_open: out is NULL");
    *out = NULL;
    kokoro_cache_params d = params ? *params : kokoro_cache_default_params();
    kk_cache_params cp = kk_cache_default_params();
    cp.mem_bytes = d.mem_bytes;
    cp.dir = d.dir;
    cp.disk_bytes = d.disk_bytes;
    kokoro_cache *c = calloc(1, sizeof *c);
    if (!c)
        return kk_api_fail(err, KOKORO_ERR_NOMEM, "out of memory opening the cache");
    kk_error e = {0};
    if (kk_cache_open(&cp, &c->c, &e) != KK_OK) {
        free(c);
        return kk_api_error(err, &e, 0);
    }
    *out = c;
    kk_api_ok(err);
    return KOKORO_OK;
}

KK_API void kokoro_cache_close(kokoro_cache *cache)
{
    if (!cache)
        return;
    kk_cache_close(cache->c);
    free(cache);
}

KK_API void kokoro_cache_clear_memory(kokoro_cache *cache)
{
    if (cache)
        kk_cache_clear_memory(cache->c);
}

KK_API kokoro_cache_stats kokoro_cache_get_stats(kokoro_cache *cache)
{
    if (!cache)
        return (kokoro_cache_stats){0};
    kk_cache_stats s = kk_cache_get_stats(cache->c);
    return (kokoro_cache_stats){.mem_hits = s.mem_hits,
                                .disk_hits = s.disk_hits,
                                .misses = s.misses,
                                .puts = s.puts,
                                .corrupt = s.corrupt,
                                .mem_evictions = s.mem_evictions,
                                .disk_evictions = s.disk_evictions,
                                .mem_bytes = s.mem_bytes,
                                .mem_entries = s.mem_entries,
                                .disk_bytes = s.disk_bytes,
                                .disk_entries = s.disk_entries};
}

/* ---- timelines ---- */

struct kokoro_timeline {
    kokoro_segment *segs; /* strings owned (malloc'd copies) */
    size_t n, cap;
};

KK_API kokoro_segment kokoro_segment_default(void)
{
    return (kokoro_segment){.start_ms = KOKORO_TIME_NONE, .end_ms = KOKORO_TIME_NONE, .pitch = NAN};
}

KK_API kokoro_status kokoro_timeline_new(kokoro_timeline **out, kokoro_error *err)
{
    if (!out)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_timeline_new: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return kk_api_fail(err, KOKORO_ERR_NOMEM, "out of memory");
    kk_api_ok(err);
    return KOKORO_OK;
}

static void segment_free(kokoro_segment *s)
{
    free((char *)s->text);
    free((char *)s->speaker);
    free((char *)s->voice);
    for (size_t i = 0; s->words && i < s->n_words; i++)
        free((char *)s->words[i].text);
    free((kokoro_word *)s->words);
}

/* A malloc'd copy of s (NULL stays NULL); 0 when memory ran out. */
static int copy_str(const char *s, const char **out)
{
    *out = NULL;
    if (!s)
        return 1;
    char *d = strdup(s);
    *out = d;
    return d != NULL;
}

KK_API kokoro_status kokoro_timeline_add(kokoro_timeline *tl, const kokoro_segment *seg, kokoro_error *err)
{
    if (!tl || !seg || !seg->text)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_timeline_add: the timeline, the segment and its text "
                                                "must not be NULL");
    size_t at = tl->n + 1;
    if ((seg->start_ms == KOKORO_TIME_NONE) != (seg->end_ms == KOKORO_TIME_NONE))
        return kk_api_fail(err, KOKORO_ERR_ARG,
                           "segment %zu: a start time needs an end time and the reverse (both KOKORO_TIME_NONE "
                           "for an untimed segment)",
                           at);
    if (seg->start_ms != KOKORO_TIME_NONE && (seg->start_ms < 0 || seg->end_ms < seg->start_ms))
        return kk_api_fail(err, KOKORO_ERR_ARG, "segment %zu: times %lld .. %lld ms: the end is before the start",
                           at, (long long)seg->start_ms, (long long)seg->end_ms);
    if (tl->n == tl->cap) {
        size_t cap = tl->cap ? tl->cap * 2 : 16;
        kokoro_segment *grown = realloc(tl->segs, cap * sizeof *grown);
        if (!grown)
            return kk_api_fail(err, KOKORO_ERR_NOMEM, "out of memory adding segment %zu", at);
        tl->segs = grown;
        tl->cap = cap;
    }
    kokoro_segment s = *seg;
    int ok = copy_str(seg->text, &s.text);
    ok = copy_str(seg->speaker, &s.speaker) && ok;
    ok = copy_str(seg->voice, &s.voice) && ok;
    s.words = NULL;
    if (seg->words && seg->n_words) {
        kokoro_word *w = calloc(seg->n_words, sizeof *w);
        s.words = w;
        ok = w && ok;
        for (size_t i = 0; w && i < seg->n_words; i++) {
            w[i] = seg->words[i];
            ok = copy_str(seg->words[i].text, &w[i].text) && ok;
        }
    }
    s.n_words = s.words ? seg->n_words : 0;
    if (!ok) {
        segment_free(&s);
        return kk_api_fail(err, KOKORO_ERR_NOMEM, "out of memory adding segment %zu", at);
    }
    tl->segs[tl->n++] = s;
    kk_api_ok(err);
    return KOKORO_OK;
}

KK_API size_t kokoro_timeline_count(const kokoro_timeline *tl) { return tl ? tl->n : 0; }

KK_API const kokoro_segment *kokoro_timeline_get(const kokoro_timeline *tl, size_t index)
{
    return tl && index >= 1 && index <= tl->n ? &tl->segs[index - 1] : NULL;
}

KK_API void kokoro_timeline_free(kokoro_timeline *tl)
{
    if (!tl)
        return;
    for (size_t i = 0; i < tl->n; i++)
        segment_free(&tl->segs[i]);
    free(tl->segs);
    free(tl);
}

KK_API kokoro_load_params kokoro_load_default_params(void)
{
    kk_parse_params d = kk_parse_default_params();
    return (kokoro_load_params){.strict = d.strict};
}

static void load_warning(void *user, const char *file, long line, const char *msg)
{
    const kokoro_load_params *p = user;
    char text[KOKORO_ERROR_MAX];
    if (line > 0)
        snprintf(text, sizeof text, "%s:%ld: %s", file, line, msg);
    else
        snprintf(text, sizeof text, "%s: %s", file, msg);
    p->on_warning(p->user, text);
}

/* Parses a file (data NULL) or bytes into a new timeline. */
static kokoro_status load(const char *name, const void *data, size_t len, const kokoro_load_params *params,
                          kokoro_timeline **out, kokoro_error *err)
{
    if (!out || !name)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_timeline_load: the name and out must not be NULL");
    *out = NULL;
    kokoro_load_params d = params ? *params : kokoro_load_default_params();
    kk_parse_params pp = kk_parse_default_params();
    pp.strict = d.strict != 0;
    if (d.format) {
        pp.format = kk_format_from_name(d.format);
        if (pp.format == KK_FORMAT_AUTO && strcmp(d.format, "auto") != 0)
            return kk_api_fail(err, KOKORO_ERR_ARG,
                               "unknown input format \"%s\": use txt, srt, vtt, ass, ssa or wscribe (or NULL to "
                               "detect it)",
                               d.format);
    }
    if (d.on_warning) {
        pp.on_warning = load_warning;
        pp.warning_user = &d;
    }
    kk_doc *doc = NULL;
    kk_error e = {0};
    kk_status st = data ? kk_parse_memory(name, data, len, &pp, &doc, &e) : kk_parse_file(name, &pp, &doc, &e);
    if (st != KK_OK)
        return kk_api_error(err, &e, 0);
    kokoro_timeline *tl = NULL;
    kokoro_status ps = kokoro_timeline_new(&tl, err);
    for (size_t i = 0; i < doc->n_segs && ps == KOKORO_OK; i++) {
        const kk_segment *g = &doc->segs[i];
        kokoro_segment s = kokoro_segment_default();
        s.text = g->text;
        s.start_ms = g->start_ms;
        s.end_ms = g->end_ms;
        s.speaker = g->speaker;
        kokoro_word *w = g->n_words ? calloc(g->n_words, sizeof *w) : NULL;
        for (size_t k = 0; w && k < g->n_words; k++)
            w[k] = (kokoro_word){g->words[k].text, g->words[k].start_ms, g->words[k].end_ms};
        if (g->n_words && !w) {
            ps = kk_api_fail(err, KOKORO_ERR_NOMEM, "out of memory loading segment %zu", i + 1);
            break;
        }
        s.words = w, s.n_words = w ? g->n_words : 0;
        ps = kokoro_timeline_add(tl, &s, err);
        free(w);
    }
    kk_doc_free(doc);
    if (ps != KOKORO_OK) {
        kokoro_timeline_free(tl);
        return ps;
    }
    *out = tl;
    return KOKORO_OK;
}

KK_API kokoro_status kokoro_timeline_load(const char *path, const kokoro_load_params *params, kokoro_timeline **out,
                                          kokoro_error *err)
{
    return load(path, NULL, 0, params, out, err);
}

KK_API kokoro_status kokoro_timeline_parse(const char *name, const void *data, size_t len,
                                           const kokoro_load_params *params, kokoro_timeline **out,
                                           kokoro_error *err)
{
    if (!data && len)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_timeline_parse: data is NULL");
    return load(name, data ? data : "", len, params, out, err);
}

/* ---- renders ---- */

struct kokoro_track {
    kk_render_result r;
};

KK_API kokoro_render_params kokoro_render_default_params(void)
{
    kk_render_params d = kk_render_default_params();
    return (kokoro_render_params){.voice = d.voice,
                                  .voice_map = d.voice_map,
                                  .lang = d.lang,
                                  .lexicon_path = d.lexicon_path,
                                  .speed = d.speed,
                                  .pitch = d.pitch,
                                  .fit = d.fit.enabled,
                                  .fit_max_speed = d.fit.max_speed,
                                  .fit_max_stretch = d.fit.max_stretch,
                                  .fit_use_gap = d.fit.use_gap,
                                  .overflow = (kokoro_overflow)d.fit.overflow,
                                  .fit_words = d.fit.words,
                                  .fit_pauses = d.fit.pause_mode == KK_PAUSE_STRETCH ? KOKORO_PAUSE_STRETCH
                                                                                    : KOKORO_PAUSE_SILENCE,
                                  .gap_ms = d.gap_ms,
                                  .lead_ms = d.lead_ms,
                                  .min_length_ms = d.min_length_ms,
                                  .workers = d.workers,
                                  .threads = d.threads,
                                  .normalize = d.normalize,
                                  .target_lufs = d.loudness.target_lufs,
                                  .true_peak_db = d.loudness.true_peak_db,
                                  .precision = (kokoro_precision)d.precision};
}

static void render_progress(void *user, size_t done, size_t total, double eta_s)
{
    const kokoro_render_params *p = user;
    p->on_progress(p->user, done, total, eta_s);
}

static int render_abort(void *user)
{
    const kokoro_render_params *p = user;
    return p->abort(p->user);
}

static void render_warning(void *user, size_t index, const char *message)
{
    const kokoro_render_params *p = user;
    p->on_warning(p->user, index, message);
}

KK_API kokoro_status kokoro_render(kokoro_context *ctx, const kokoro_timeline *tl,
                                   const kokoro_render_params *params, kokoro_track **out, kokoro_error *err)
{
    if (!ctx || !tl || !out)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_render: ctx, the timeline and out must not be NULL");
    *out = NULL;
    kokoro_render_params d = params ? *params : kokoro_render_default_params();
    kk_render_params rp = kk_render_default_params();
    rp.voice = d.voice;
    rp.voice_map = d.voice_map;
    rp.lang = d.lang;
    rp.lexicon_path = d.lexicon_path;
    rp.speed = d.speed;
    rp.pitch = d.pitch;
    rp.fit.enabled = d.fit;
    rp.fit.max_speed = d.fit_max_speed;
    rp.fit.max_stretch = d.fit_max_stretch;
    rp.fit.use_gap = d.fit_use_gap;
    rp.fit.overflow = (kk_overflow)d.overflow;
    rp.fit.words = d.fit_words;
    rp.fit.pause_mode = d.fit_pauses == KOKORO_PAUSE_STRETCH ? KK_PAUSE_STRETCH : KK_PAUSE_SILENCE;
    rp.gap_ms = d.gap_ms;
    rp.lead_ms = d.lead_ms;
    rp.min_length_ms = d.min_length_ms;
    rp.workers = d.workers;
    rp.threads = d.threads;
    rp.precision = (kk_precision)d.precision;
    rp.cache = d.cache ? d.cache->c : NULL;
    rp.normalize = d.normalize;
    rp.loudness.target_lufs = d.target_lufs;
    rp.loudness.true_peak_db = d.true_peak_db;
    rp.on_progress = d.on_progress ? render_progress : NULL;
    rp.abort = d.abort ? render_abort : NULL;
    rp.on_warning = d.on_warning ? render_warning : NULL;
    rp.user = &d;
    kk_render_failure failure = {0};
    rp.failure = &failure;

    kk_render_segment *segs = calloc(tl->n ? tl->n : 1, sizeof *segs);
    kokoro_track *t = calloc(1, sizeof *t);
    if (!segs || !t) {
        free(segs);
        free(t);
        return kk_api_fail(err, KOKORO_ERR_NOMEM, "out of memory starting the render");
    }
    kk_word *words = NULL;
    size_t n_words = 0;
    for (size_t i = 0; i < tl->n; i++)
        n_words += tl->segs[i].n_words;
    if (n_words && !(words = calloc(n_words, sizeof *words))) {
        free(segs);
        free(t);
        return kk_api_fail(err, KOKORO_ERR_NOMEM, "out of memory starting the render");
    }
    for (size_t i = 0, at = 0; i < tl->n; i++) {
        const kokoro_segment *s = &tl->segs[i];
        for (size_t k = 0; k < s->n_words; k++)
            words[at + k] = (kk_word){.text = (char *)s->words[k].text, .start_ms = s->words[k].start_ms,
                                      .end_ms = s->words[k].end_ms, .score = NAN};
        segs[i] = (kk_render_segment){.words = s->n_words ? words + at : NULL, .n_words = s->n_words,
                                      .text = s->text,
                                      .start_ms = s->start_ms,
                                      .end_ms = s->end_ms,
                                      .speaker = s->speaker,
                                      .voice = s->voice,
                                      .speed = s->speed,
                                      .pitch = s->pitch};
        at += s->n_words;
    }
    kk_error e = {0};
    kk_status st = kk_render(ctx->tts, segs, tl->n, &rp, &t->r, &e);
    free(segs);
    free(words);
    if (st != KK_OK) {
        free(t);
        return kk_api_error(err, &e, failure.index);
    }
    *out = t;
    kk_api_ok(err);
    return KOKORO_OK;
}

KK_API void kokoro_track_free(kokoro_track *track)
{
    if (!track)
        return;
    kk_render_result_free(&track->r);
    free(track);
}

KK_API const float *kokoro_track_samples(const kokoro_track *track, size_t *n_samples)
{
    if (n_samples)
        *n_samples = track ? track->r.n_samples : 0;
    return track ? track->r.samples : NULL;
}

KK_API size_t kokoro_track_synthesized(const kokoro_track *track) { return track ? track->r.synthesized : 0; }

KK_API size_t kokoro_track_from_cache(const kokoro_track *track) { return track ? track->r.from_cache : 0; }

KK_API size_t kokoro_track_cues(const kokoro_track *track) { return track ? track->r.n_cues : 0; }

KK_API kokoro_status kokoro_track_cue(const kokoro_track *track, size_t segment, kokoro_cue *out,
                                      kokoro_error *err)
{
    if (!track || !out || segment < 1 || segment > track->r.n_cues)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_track_cue: no cue %zu (the track has %zu)", segment,
                           track ? track->r.n_cues : 0);
    const kk_render_cue *q = &track->r.cues[segment - 1];
    *out = (kokoro_cue){.segment = q->index,
                        .start_sample = q->start_sample,
                        .end_sample = q->end_sample,
                        .natural_samples = q->natural_samples,
                        .speed = q->speed,
                        .stretch = q->stretch,
                        .overlap_samples = q->overlap_samples,
                        .truncated_samples = q->truncated_samples,
                        .cached = q->cached,
                        .word_fit = q->word_fit,
                        .fit_note = q->fit_note};
    kk_api_ok(err);
    return KOKORO_OK;
}

KK_API kokoro_status kokoro_track_save_subtitles(const kokoro_track *track, const char *path, const char *format,
                                                 kokoro_error *err)
{
    if (!track || !path)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_track_save_subtitles: track and path must not be NULL");
    kk_format f = format ? kk_format_from_name(format) : kk_format_from_path(path);
    if (f != KK_FORMAT_SRT && f != KK_FORMAT_VTT && f != KK_FORMAT_WSCRIBE)
        return kk_api_fail(err, KOKORO_ERR_ARG, "%s: subtitles are written as srt, vtt or wscribe%s", path,
                           format ? "" : " (say which, or name the file .srt, .vtt or .json)");
    kk_error e = {0};
    kk_render_save_subtitles(&track->r, path, f, &e);
    return kk_api_error(err, &e, 0);
}

KK_API char *kokoro_track_report_json(const kokoro_track *track)
{
    return track ? kk_render_report_json(&track->r) : NULL;
}

KK_API void kokoro_string_free(char *s) { free(s); }

KK_API kokoro_status kokoro_track_export(const kokoro_track *track, const char *path,
                                         const kokoro_export_params *params, kokoro_error *err)
{
    if (!track)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_track_export: track is NULL");
    return kokoro_export(path, track->r.samples, track->r.n_samples, KOKORO_SAMPLE_RATE, params, err);
}

KK_API kokoro_status kokoro_track_mux_video(const kokoro_track *track, const char *video_in, const char *out_path,
                                            const kokoro_mux_params *params, kokoro_error *err)
{
    if (!track || !video_in || !out_path)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_track_mux_video: track, video_in and out_path must not "
                                                "be NULL");
    kokoro_mux_params d = params ? *params : kokoro_mux_default_params();
    kk_mux_params mp = kk_mux_default_params();
    mp.keep_audio = d.keep_audio;
    mp.bitrate_kbps = d.bitrate_kbps;
    mp.progress = (kk_export_progress_fn)d.progress;
    mp.user = d.user;
    kk_error e = {0};
    kk_sample_io io = kk_render_io(&track->r);
    kk_mux_video_io(video_in, out_path, &io, track->r.n_samples, KOKORO_SAMPLE_RATE, &mp, &e);
    return kk_api_error(err, &e, 0);
}
