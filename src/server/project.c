/*
 * project.c - a studio project's rules (its settings, the voices it may use
 * and which of them can speak) and the JSON views of segments and render
 * state that api.c and jobs.c both answer with (server_project.h).
 *
 * Leaf of the server: calls only the store's and the renderer's types,
 * voice.h, g2p.h and cJSON.
 */
#include "server_project.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "g2p.h"

/* ---- settings ---- */

void srv_settings_defaults(srv_settings *st)
{
    memset(st, 0, sizeof *st);
    snprintf(st->voice, sizeof st->voice, "af_heart");
    st->speed = 1.0;
    st->pitch = 0.0;
    st->fit = SRV_FIT_OVERLAP;
    st->gap_ms = 500;
}

void srv_settings_parse(const char *json, srv_settings *st)
{
    srv_settings_defaults(st);
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "voice")) && cJSON_IsString(v) && *v->valuestring)
        snprintf(st->voice, sizeof st->voice, "%s", v->valuestring);
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "speed")) && cJSON_IsNumber(v) && v->valuedouble >= 0.5 &&
        v->valuedouble <= 2)
        st->speed = v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "pitch")) && cJSON_IsNumber(v) && fabs(v->valuedouble) <= 12)
        st->pitch = v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "fit")) && cJSON_IsString(v) && srv_fit_parse(v->valuestring, &st->fit))
        st->fit = SRV_FIT_OVERLAP;
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "gap_ms")) && cJSON_IsNumber(v) && v->valuedouble >= 0 &&
        v->valuedouble <= 600000)
        st->gap_ms = (int64_t)v->valuedouble;
    const cJSON *cast = cJSON_GetObjectItemCaseSensitive(o, "cast");
    for (const cJSON *c = cJSON_IsObject(cast) ? cast->child : NULL; c; c = c->next)
        if (cJSON_IsString(c) && *c->valuestring && c->string)
            srv_cast_set(st, c->string, c->valuestring);
    const cJSON *enc = cJSON_GetObjectItemCaseSensitive(o, "encodings");
    for (const cJSON *c = cJSON_IsArray(enc) ? enc->child : NULL; c && st->n_encodings < SRV_SOURCES_MAX; c = c->next)
        snprintf(st->encodings[st->n_encodings++], sizeof st->encodings[0], "%s",
                 cJSON_IsString(c) ? c->valuestring : "");
    cJSON_Delete(o);
}

const char *srv_cast_voice(const srv_settings *st, const char *speaker)
{
    if (!speaker)
        return NULL;
    for (size_t i = 0; i < st->n_cast; i++)
        if (!strcmp(st->cast[i].speaker, speaker))
            return st->cast[i].voice;
    return NULL;
}

int srv_cast_set(srv_settings *st, const char *speaker, const char *voice)
{
    if (strlen(speaker) > SRV_SPEAKER_MAX || (voice && strlen(voice) >= sizeof st->cast[0].voice))
        return -1;
    size_t i = 0;
    while (i < st->n_cast && strcmp(st->cast[i].speaker, speaker))
        i++;
    if (!voice) {
        if (i < st->n_cast) {
            memmove(&st->cast[i], &st->cast[i + 1], (st->n_cast - i - 1) * sizeof st->cast[0]);
            st->n_cast--;
        }
        return 0;
    }
    if (i == st->n_cast) {
        if (st->n_cast == SRV_CAST_MAX)
            return -1;
        snprintf(st->cast[i].speaker, sizeof st->cast[i].speaker, "%s", speaker);
        st->n_cast++;
    }
    snprintf(st->cast[i].voice, sizeof st->cast[i].voice, "%s", voice);
    return 0;
}

int srv_fit_parse(const char *name, srv_fit *out)
{
    static const srv_fit all[] = {SRV_FIT_OVERLAP, SRV_FIT_TRUNCATE, SRV_FIT_NONE, SRV_FIT_WORDS};
    for (size_t i = 0; name && i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(name, srv_fit_name(all[i]))) {
            *out = all[i];
            return 0;
        }
    return -1;
}

srv_fit srv_segment_fit(const srv_settings *st, const kk_store_segment *g)
{
    srv_fit f = st->fit;
    if (g->fit)
        (void)srv_fit_parse(g->fit, &f); /* a name the server no longer has: the project's */
    return f;
}

const char *srv_fit_name(srv_fit f)
{
    return f == SRV_FIT_TRUNCATE ? "truncate" : f == SRV_FIT_NONE ? "none" : f == SRV_FIT_WORDS ? "words" : "overlap";
}

cJSON *srv_settings_json(const srv_settings *st)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "voice", st->voice);
    cJSON_AddNumberToObject(o, "speed", st->speed);
    cJSON_AddNumberToObject(o, "pitch", st->pitch);
    cJSON_AddStringToObject(o, "fit", srv_fit_name(st->fit));
    cJSON_AddNumberToObject(o, "gap_ms", (double)st->gap_ms);
    cJSON *cast = cJSON_AddObjectToObject(o, "cast");
    for (size_t i = 0; cast && i < st->n_cast; i++)
        cJSON_AddStringToObject(cast, st->cast[i].speaker, st->cast[i].voice);
    if (st->n_encodings) {
        cJSON *enc = cJSON_AddArrayToObject(o, "encodings");
        for (size_t i = 0; enc && i < st->n_encodings; i++)
            cJSON_AddItemToArray(enc, cJSON_CreateString(st->encodings[i]));
    }
    return o;
}

char *srv_settings_text(const srv_settings *st)
{
    cJSON *o = srv_settings_json(st);
    char *t = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return t;
}

/* ---- voices ---- */

int srv_voice_id_known(const kk_voice_info *voices, size_t n_voices, const char *id, size_t n)
{
    for (size_t i = 0; i < n_voices; i++)
        if (strlen(voices[i].id) == n && !strncmp(voices[i].id, id, n))
            return 1;
    return 0;
}

int srv_voice_known(const kk_voice_info *voices, size_t n_voices, const char *spec)
{
    if (!spec || !*spec || strlen(spec) >= 256)
        return 0;
    for (const char *p = spec;;) {
        const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p);
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (!srv_voice_id_known(voices, n_voices, p, (size_t)((colon ? colon : end) - p)))
            return 0;
        if (colon) {
            char *e;
            double w = strtod(colon + 1, &e);
            if (e != end || !(w > 0))
                return 0;
        }
        if (!comma)
            return 1;
        p = comma + 1;
    }
}

const char *srv_voice_unsupported(const char *id)
{
    /* g2p's answer, so that the list, the CLI and the engine agree */
    return kk_g2p_voice_unsupported(id);
}

/* ---- views ---- */

void srv_seg_view_free(srv_seg_view *v)
{
    free(v->error);
    free(v->words);
    free(v->fit_note);
    memset(v, 0, sizeof *v);
}

static void add_str_or_null(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

cJSON *srv_rendered_json(const srv_seg_view *v, const char *text)
{
    cJSON *o = cJSON_CreateObject();
    if (v->placed) {
        cJSON_AddNumberToObject(o, "start_ms", (double)v->start_ms);
        cJSON_AddNumberToObject(o, "end_ms", (double)v->end_ms);
    } else {
        cJSON_AddNullToObject(o, "start_ms");
        cJSON_AddNullToObject(o, "end_ms");
    }
    cJSON_AddNumberToObject(o, "speed", round(v->speed * 1000) / 1000);
    cJSON_AddNumberToObject(o, "stretch", round(v->stretch * 10000) / 10000);
    cJSON_AddNumberToObject(o, "overlap_ms", (double)v->overlap_ms);
    cJSON_AddNumberToObject(o, "truncated_ms", (double)v->truncated_ms);
    add_str_or_null(o, "fit_note", v->fit_note);
    cJSON *words = cJSON_AddArrayToObject(o, "words");
    size_t tl = text ? strlen(text) : 0;
    const int64_t ms = KK_SAMPLE_RATE / 1000; /* samples per millisecond */
    for (size_t i = 0; i < v->n_words; i++) {
        const kk_render_word *w = &v->words[i];
        if (w->text_end > tl || w->text_start > w->text_end)
            continue;
        cJSON *x = cJSON_CreateObject();
        char *t = strndup(text + w->text_start, w->text_end - w->text_start);
        cJSON_AddStringToObject(x, "text", t ? t : "");
        free(t);
        if (v->placed) {
            cJSON_AddNumberToObject(x, "start_ms", (double)((w->start_sample + ms / 2) / ms));
            cJSON_AddNumberToObject(x, "end_ms", (double)((w->end_sample + ms / 2) / ms));
        } else {
            cJSON_AddNullToObject(x, "start_ms");
            cJSON_AddNullToObject(x, "end_ms");
        }
        cJSON_AddItemToArray(words, x);
    }
    return o;
}

static void add_time(cJSON *o, const char *key, int64_t ms)
{
    if (ms == KK_TIME_NONE)
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, (double)ms);
}

/* The source's words (store.c: words) as "source_words", and "score", the
 * mean of their scores: the transcript's confidence where the source had
 * one (WScribe), else null. A segment's text edit drops its source words
 * (the store), and with them the score: the text is then the user's. */
static void add_source_words(cJSON *o, const char *words_json)
{
    cJSON *a = words_json ? cJSON_Parse(words_json) : NULL;
    double sum = 0;
    int n = 0;
    cJSON *w;
    cJSON_ArrayForEach(w, a)
    {
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(w, "score");
        if (cJSON_IsNumber(sc) && isfinite(sc->valuedouble))
            sum += sc->valuedouble, n++;
    }
    if (cJSON_IsArray(a))
        cJSON_AddItemToObject(o, "source_words", a);
    else {
        cJSON_Delete(a);
        cJSON_AddNullToObject(o, "source_words");
    }
    if (n)
        cJSON_AddNumberToObject(o, "score", round(sum / n * 1000) / 1000);
    else
        cJSON_AddNullToObject(o, "score");
}

cJSON *srv_segment_json(const kk_store_segment *g, size_t index, const srv_seg_view *v)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)g->id);
    cJSON_AddNumberToObject(o, "index", (double)index);
    add_time(o, "start_ms", g->start_ms);
    add_time(o, "end_ms", g->end_ms);
    cJSON_AddStringToObject(o, "text", g->text ? g->text : "");
    add_str_or_null(o, "speaker", g->speaker);
    add_source_words(o, g->words_json);
    add_str_or_null(o, "voice", g->voice);
    if (g->speed > 0)
        cJSON_AddNumberToObject(o, "speed", g->speed);
    else
        cJSON_AddNullToObject(o, "speed");
    if (!isnan(g->pitch))
        cJSON_AddNumberToObject(o, "pitch", g->pitch);
    else
        cJSON_AddNullToObject(o, "pitch");
    /* the word times it is to follow (fit "words"): the source's, or as
     * dragged in the studio */
    cJSON *words = g->words_json ? cJSON_Parse(g->words_json) : NULL;
    if (words)
        cJSON_AddItemToObject(o, "words", words);
    else
        cJSON_AddNullToObject(o, "words");
    add_str_or_null(o, "fit", g->fit); /* its own fit; null: the project's */
    cJSON_AddStringToObject(o, "status", v->status);
    add_str_or_null(o, "error", v->error);
    add_str_or_null(o, "audio_version", v->rendered ? v->audio_version : NULL);
    if (v->rendered)
        cJSON_AddItemToObject(o, "rendered", srv_rendered_json(v, g->text));
    else
        cJSON_AddNullToObject(o, "rendered");
    return o;
}

cJSON *srv_render_json(const srv_render_view *rv)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "done", (double)rv->done);
    cJSON_AddNumberToObject(r, "total", (double)rv->total);
    cJSON_AddBoolToObject(r, "rendering", rv->rendering);
    /* what the progress events say, so that a client sees the ETA from its
     * first look (a hello, an opened project), not from the next event */
    if (rv->rendering && rv->eta_s >= 0)
        cJSON_AddNumberToObject(r, "eta_s", round(rv->eta_s * 10) / 10);
    else
        cJSON_AddNullToObject(r, "eta_s");
    return r;
}

cJSON *srv_history_json(const kk_store_project *sp)
{
    cJSON *h = cJSON_CreateObject();
    cJSON_AddBoolToObject(h, "can_undo", sp->can_undo);
    cJSON_AddBoolToObject(h, "can_redo", sp->can_redo);
    add_str_or_null(h, "undo_label", sp->undo_label);
    add_str_or_null(h, "redo_label", sp->redo_label);
    /* the segment each would change, so that a client can name and select it */
    if (sp->undo_segment)
        cJSON_AddNumberToObject(h, "undo_segment", (double)sp->undo_segment);
    else
        cJSON_AddNullToObject(h, "undo_segment");
    if (sp->redo_segment)
        cJSON_AddNumberToObject(h, "redo_segment", (double)sp->redo_segment);
    else
        cJSON_AddNullToObject(h, "redo_segment");
    return h;
}
