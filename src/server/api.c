/*
 * api.c - the handlers of docs/api.md: what each endpoint checks, asks the
 * store (store.h), the renderer (jobs.c) and the exporters for, and the
 * JSON it answers (Project, Segment, errors). Every field a client sends is
 * checked here, with a message that names it; nothing a client sends is
 * used as a path (uploaded file names are display text only).
 *
 * May call: the store, the renders (server_jobs.h), the event hub
 * (server_events.h), the project rules and views (server_project.h), the
 * parsers and exporters, and http.c's request and reply helpers
 * (server_internal.h). Nothing calls up into this file but http.c's routes
 * and the hub's hello callback (api_hello_json).
 */
#include "server_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "export.h"
#include "kk_zip.h"
#include "kk_time.h"
#include "kk_utf8.h"
#include "subtitles.h"

#ifndef KOKORO_VERSION
#define KOKORO_VERSION "dev"
#endif

#define RECENT_MAX 8
#define NAME_MAX_BYTES 200
#define MAX_WARNINGS 100

/* ---- JSON text checks ---- */

int srv_json_precheck(const char *text, size_t len, int max_depth, kk_error *err)
{
    if (memchr(text, '\0', len)) {
        kk_error_set(err, KK_ERR_INPUT, "a NUL byte in the JSON");
        return -1;
    }
    if (!kk_utf8_valid(text, len)) {
        kk_error_set(err, KK_ERR_INPUT, "the JSON is not valid UTF-8");
        return -1;
    }
    /* cJSON recurses as deep as the document nests: count first. */
    int depth = 0, in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) {
                kk_error_set(err, KK_ERR_INPUT, "JSON nested deeper than the limit of %d levels", max_depth);
                return -1;
            }
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return 0;
}

/* ---- field checks: each sets a 400 naming the field and returns -1 ---- */

static int want_object(const cJSON *j, srv_reply *rp)
{
    if (!cJSON_IsObject(j)) {
        srv_bad(rp, "body: a JSON object is expected");
        return -1;
    }
    return 0;
}

static int get_int(const cJSON *o, const char *key, int64_t lo, int64_t hi, int64_t *out, srv_reply *rp)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d >= (double)lo && d <= (double)hi) || d != floor(d)) {
        srv_bad(rp, "%s: an integer from %lld to %lld is expected", key, (long long)lo, (long long)hi);
        return -1;
    }
    *out = (int64_t)d;
    return 0;
}

static int get_num(const cJSON *v, const char *key, double lo, double hi, double *out, srv_reply *rp)
{
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d >= lo && d <= hi)) {
        srv_bad(rp, "%s: a number from %g to %g is expected", key, lo, hi);
        return -1;
    }
    *out = d;
    return 0;
}

/* s[0, n) has no control characters (NUL included) but tabs and, where
 * multiline, newlines. */
static int no_controls(const char *s, size_t n, int multiline)
{
    for (const unsigned char *p = (const unsigned char *)s, *e = p + n; p < e; p++)
        if ((*p < 0x20 && *p != '\t' && !(multiline && (*p == '\n' || *p == '\r'))) || *p == 0x7f)
            return 0;
    return 1;
}

/* A string of at most max bytes without control characters (but tabs and,
 * where multiline, newlines). */
static int get_str(const cJSON *v, const char *key, size_t max, int multiline, const char **out, srv_reply *rp)
{
    if (!cJSON_IsString(v) || !v->valuestring) {
        srv_bad(rp, "%s: a string is expected", key);
        return -1;
    }
    size_t n = strlen(v->valuestring);
    if (n > max) {
        srv_bad(rp, "%s: %zu bytes, over the limit of %zu", key, n, max);
        return -1;
    }
    if (!no_controls(v->valuestring, n, multiline)) {
        srv_bad(rp, "%s: control characters are not allowed", key);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

/* Only these keys may appear in o. */
static int known_keys(const cJSON *o, const char *const *keys, srv_reply *rp)
{
    for (const cJSON *c = o ? o->child : NULL; c; c = c->next) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], c->string))
            i++;
        if (!keys[i]) {
            srv_bad(rp, "%.100s: not a field here", c->string);
            return -1;
        }
    }
    return 0;
}

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    return 1;
}

/* ---- voices and settings ---- */

/* ---- a project's settings ---- */

/* A voice the server has, or a blend of them. */
static int voice_known(const kk_server *s, const char *spec)
{
    return srv_voice_known(s->voices, s->n_voices, spec);
}

/* Applies a partial settings object to st. */
static int settings_apply(kk_server *s, const cJSON *in, srv_settings *st, srv_reply *rp)
{
    static const char *const keys[] = {"voice", "speed", "pitch", "fit", "gap_ms", "cast", NULL};
    if (!cJSON_IsObject(in)) {
        srv_bad(rp, "settings: an object is expected");
        return -1;
    }
    if (known_keys(in, keys, rp))
        return -1;
    const cJSON *v;
    const char *str;
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "voice"))) {
        if (get_str(v, "settings.voice", sizeof st->voice - 1, 0, &str, rp))
            return -1;
        if (!voice_known(s, str)) {
            srv_bad(rp, "settings.voice: no voice \"%.100s\" (GET /api/voices lists them)", str);
            return -1;
        }
        snprintf(st->voice, sizeof st->voice, "%s", str);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "speed")) && get_num(v, "settings.speed", KK_SPEED_MIN, KK_SPEED_MAX, &st->speed, rp))
        return -1;
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "pitch")) && get_num(v, "settings.pitch", -12, 12, &st->pitch, rp))
        return -1;
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "fit")) && (!cJSON_IsString(v) || srv_fit_parse(v->valuestring, &st->fit))) {
        srv_bad(rp, "settings.fit: overlap, truncate, none or words (each word at the source's time)");
        return -1;
    }
    if (cJSON_GetObjectItemCaseSensitive(in, "gap_ms") && get_int(in, "gap_ms", 0, 600000, &st->gap_ms, rp))
        return -1;
    /* The cast is merged: a speaker given a voice is (re)cast, one given
     * null is uncast, the others stay. */
    if ((v = cJSON_GetObjectItemCaseSensitive(in, "cast"))) {
        if (!cJSON_IsObject(v)) {
            srv_bad(rp, "settings.cast: an object of speaker: voice (or null) is expected");
            return -1;
        }
        for (const cJSON *c = v->child; c; c = c->next) {
            size_t n = strlen(c->string);
            if (!n || n > SRV_SPEAKER_MAX || !kk_utf8_valid(c->string, n) || !no_controls(c->string, n, 0)) {
                srv_bad(rp, "settings.cast: a speaker's name must be 1 to %d bytes of text", SRV_SPEAKER_MAX);
                return -1;
            }
            if (!cJSON_IsNull(c) && (!cJSON_IsString(c) || !voice_known(s, c->valuestring))) {
                srv_bad(rp, "settings.cast.%.100s: no voice \"%.100s\" (GET /api/voices lists them; null uncasts)",
                        c->string, cJSON_IsString(c) ? c->valuestring : "");
                return -1;
            }
            if (srv_cast_set(st, c->string, cJSON_IsNull(c) ? NULL : c->valuestring)) {
                srv_bad(rp, "settings.cast: at most %d speakers can be cast", SRV_CAST_MAX);
                return -1;
            }
        }
    }
    return 0;
}

/* ---- the user's settings ---- */

static cJSON *user_setting(kk_server *s, const char *key)
{
    char *json = NULL;
    kk_error err;
    if (kk_store_get_setting(s->store, key, &json, &err) != KK_OK || !json)
        return NULL;
    cJSON *v = cJSON_Parse(json);
    free(json);
    return v;
}

/* Keeps the last RECENT_MAX voices used in edits, newest first. */
static void note_voice(kk_server *s, const char *voice)
{
    if (!voice)
        return;
    pthread_mutex_lock(&s->settings_lock);
    cJSON *old = user_setting(s, "recent"), *list = cJSON_CreateArray();
    cJSON_AddItemToArray(list, cJSON_CreateString(voice));
    int n = 1;
    for (const cJSON *c = cJSON_IsArray(old) ? old->child : NULL; c && n < RECENT_MAX; c = c->next)
        if (cJSON_IsString(c) && strcmp(c->valuestring, voice)) {
            cJSON_AddItemToArray(list, cJSON_CreateString(c->valuestring));
            n++;
        }
    char *text = cJSON_PrintUnformatted(list);
    kk_error err;
    if (text && kk_store_put_setting(s->store, "recent", text, &err) != KK_OK)
        srv_log(s, "warning: cannot keep the recent voices: %s", err.msg);
    free(text);
    cJSON_Delete(list);
    cJSON_Delete(old);
    pthread_mutex_unlock(&s->settings_lock);
}

static int in_list(const cJSON *list, const char *id)
{
    for (const cJSON *c = cJSON_IsArray(list) ? list->child : NULL; c; c = c->next)
        if (cJSON_IsString(c) && !strcmp(c->valuestring, id))
            return 1;
    return 0;
}

static cJSON *user_settings_json(kk_server *s)
{
    cJSON *o = cJSON_CreateObject(), *v;
    v = user_setting(s, "theme");
    cJSON_AddItemToObject(o, "theme", cJSON_IsString(v) ? v : (cJSON_Delete(v), cJSON_CreateString("dark-glass")));
    v = user_setting(s, "favourites");
    cJSON_AddItemToObject(o, "favourites", cJSON_IsArray(v) ? v : (cJSON_Delete(v), cJSON_CreateArray()));
    v = user_setting(s, "recent");
    cJSON_AddItemToObject(o, "recent", cJSON_IsArray(v) ? v : (cJSON_Delete(v), cJSON_CreateArray()));
    return o;
}

void api_settings_get(srv_request *rq, srv_reply *rp) { srv_reply_json(rp, 200, user_settings_json(rq->srv)); }

static int check_voice_list(const cJSON *v, const char *key, srv_reply *rp)
{
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > 200) {
        srv_bad(rp, "%s: an array of at most 200 voice ids is expected", key);
        return -1;
    }
    for (const cJSON *c = v->child; c; c = c->next) {
        const char *str;
        if (get_str(c, key, KK_VOICE_ID_MAX - 1, 0, &str, rp))
            return -1;
    }
    return 0;
}

void api_settings_put(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    static const char *const keys[] = {"theme", "favourites", "recent", NULL};
    if (want_object(rq->json, rp) || known_keys(rq->json, keys, rp))
        return;
    const cJSON *theme = cJSON_GetObjectItemCaseSensitive(rq->json, "theme");
    const cJSON *fav = cJSON_GetObjectItemCaseSensitive(rq->json, "favourites");
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(rq->json, "recent");
    const char *str;
    if (theme && get_str(theme, "theme", 64, 0, &str, rp))
        return;
    if ((fav && check_voice_list(fav, "favourites", rp)) || (rec && check_voice_list(rec, "recent", rp)))
        return;
    pthread_mutex_lock(&s->settings_lock);
    kk_error err = {0};
    kk_status st = KK_OK;
    const cJSON *vals[] = {theme, fav, rec};
    for (size_t i = 0; i < 3 && st == KK_OK; i++) {
        if (!vals[i])
            continue;
        char *text = cJSON_PrintUnformatted(vals[i]);
        st = text ? kk_store_put_setting(s->store, keys[i], text, &err)
                  : kk_error_set(&err, KK_ERR_NOMEM, "out of memory");
        free(text);
    }
    pthread_mutex_unlock(&s->settings_lock);
    if (st != KK_OK)
        srv_reply_status(rp, &err);
    else
        srv_reply_json(rp, 200, user_settings_json(s));
}

/* ---- health and voices ---- */

void api_health(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    cJSON_AddStringToObject(o, "version", KOKORO_VERSION);
    cJSON_AddStringToObject(o, "model", s->tts ? kk_tts_identity(s->tts) : "none");
    cJSON_AddNumberToObject(o, "voices", (double)s->n_voices);
    cJSON_AddNumberToObject(o, "uptime_s", round((kk_now_s() - s->t0) * 10) / 10);
    if (s->p.render_backend) { /* render workers: how many are alive (-1: unreachable) */
        cJSON *w = cJSON_AddObjectToObject(o, "workers");
        cJSON_AddNumberToObject(w, "alive", s->p.backend_workers ? s->p.backend_workers(s->p.backend_user) : -1);
    }
    srv_reply_json(rp, 200, o);
}

static int cmp_voice(const void *a, const void *b)
{
    const kk_voice_info *x = a, *y = b;
    int c = strcmp(x->language, y->language);
    return c ? c : strcmp(x->id, y->id);
}

void api_voices(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    kk_voice_info *v = malloc((s->n_voices ? s->n_voices : 1) * sizeof *v);
    if (!v) {
        srv_reply_error(rp, 500, "internal", "out of memory");
        return;
    }
    memcpy(v, s->voices, s->n_voices * sizeof *v);
    qsort(v, s->n_voices, sizeof *v, cmp_voice);
    cJSON *fav = user_setting(s, "favourites"), *rec = user_setting(s, "recent"), *arr = cJSON_CreateArray();
    for (size_t i = 0; i < s->n_voices; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", v[i].id);
        cJSON_AddStringToObject(o, "language", v[i].language);
        cJSON_AddStringToObject(o, "gender", v[i].gender == 'f' ? "female" : v[i].gender == 'm' ? "male" : "unknown");
        cJSON_AddBoolToObject(o, "favourite", in_list(fav, v[i].id));
        cJSON_AddBoolToObject(o, "recent", in_list(rec, v[i].id));
        /* The model ships voices the engine cannot read text for: listed,
         * so that the list matches the model, but said so. */
        const char *why = srv_voice_unsupported(v[i].id);
        cJSON_AddBoolToObject(o, "supported", !why);
        if (why)
            cJSON_AddStringToObject(o, "unsupported_reason", why);
        else
            cJSON_AddNullToObject(o, "unsupported_reason");
        cJSON_AddItemToArray(arr, o);
    }
    cJSON_Delete(fav);
    cJSON_Delete(rec);
    free(v);
    srv_reply_json(rp, 200, arr);
}

/* Whether voice id's pack is in the voices directory now: the list is
 * read at start, and a pack deleted since is as unknown as one never
 * there. */
static int voice_file_present(kk_server *s, const char *id)
{
    char path[PATH_MAX];
    struct stat st;
    int n = snprintf(path, sizeof path, "%s/%s.bin", srv_voices_dir(s), id);
    return n > 0 && (size_t)n < sizeof path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Every voice of a blend (or the one voice) has its file. */
static int blend_files_present(kk_server *s, const char *spec)
{
    for (const char *p = spec;;) {
        size_t n = strcspn(p, ":,");
        char id[128];
        if (n >= sizeof id)
            return 0;
        memcpy(id, p, n);
        id[n] = '\0';
        if (!voice_file_present(s, id))
            return 0;
        const char *comma = strchr(p, ',');
        if (!comma)
            return 1;
        p = comma + 1;
    }
}

/* An srv_gone_fn (user: the request's connection, suspended while its
 * slow handler runs, so libmicrohttpd neither reads it nor notices its
 * end): whether the client has closed it or reset it. A peek, so what a
 * client sent ahead (a pipelined request) stays to be read; errno is kept
 * (srv_reply_status reads a full disk from it). */
static int client_gone(void *user)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info((struct MHD_Connection *)user, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return 0;
    int e = errno;
    char b;
    ssize_t n = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    int gone = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
    errno = e;
    return gone;
}

void api_voice_preview(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    const char *id = rq->name;
    /* One rule for a voice that is not there, listed at start or not: 404
     * (a preview kept from before the pack went is not served either).
     * A blend ("af_heart:0.6,am_adam:0.4", the cast's) is previewed too. */
    if (!id || !srv_voice_known(s->voices, s->n_voices, id) || !blend_files_present(s, id)) {
        srv_reply_error(rp, 404, "not_found", "no voice \"%.100s\"", id ? id : "");
        return;
    }
    kk_error err = {0};
    char *wav = NULL;
    size_t len = 0;
    srv_export *x = srv_jobs_export_begin(s->jobs, 0, "preview", id, client_gone, rq->conn);
    kk_status st = x ? srv_jobs_preview(s->jobs, id, x, &wav, &len, &err)
                     : kk_error_set(&err, KK_ERR_NOMEM, "out of memory");
    srv_export_end(x, st);
    if (st != KK_OK) {
        if (!blend_files_present(s, id)) /* deleted while it rendered */
            srv_reply_error(rp, 404, "not_found", "no voice \"%.100s\"", id);
        else
            srv_reply_status(rp, &err);
        return;
    }
    rp->status = 200;
    rp->type = "audio/wav";
    rp->body = wav;
    rp->len = len;
    srv_reply_header(rp, "Cache-Control", "private, max-age=86400");
}

/* ---- sources ---- */

static cJSON *sources_json(kk_server *s, int64_t project, const srv_settings *st)
{
    cJSON *arr = cJSON_CreateArray();
    kk_store_source_info *v = NULL;
    size_t n = 0;
    kk_error err;
    if (kk_store_sources(s->store, project, &v, &n, &err) != KK_OK)
        return arr;
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "index", (double)i);
        cJSON_AddStringToObject(o, "name", v[i].name ? v[i].name : "");
        cJSON_AddStringToObject(o, "format", v[i].format ? v[i].format : "");
        cJSON_AddNumberToObject(o, "bytes", (double)v[i].len);
        /* null for a project made before encodings were recorded */
        if (i < st->n_encodings && st->encodings[i][0])
            cJSON_AddStringToObject(o, "encoding", st->encodings[i]);
        else
            cJSON_AddNullToObject(o, "encoding");
        cJSON_AddItemToArray(arr, o);
    }
    kk_store_sources_free(v, n);
    return arr;
}

/* ---- Project and Segment ---- */

/* Views of every segment; *rv the project's render state. */
static srv_seg_view *views_of(kk_server *s, const kk_store_project *sp, const kk_store_segment *segs, size_t n,
                              srv_render_view *rv)
{
    srv_settings st;
    srv_settings_parse(sp->settings_json, &st);
    srv_seg_view *v = calloc(n ? n : 1, sizeof *v);
    if (v)
        srv_jobs_view(s->jobs, sp->id, &st, segs, n, v, rv);
    return v;
}

static void views_free(srv_seg_view *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        srv_seg_view_free(&v[i]);
    free(v);
}

static cJSON *project_json(kk_server *s, const kk_store_project *sp, const kk_store_segment *segs, size_t n,
                           int with_segments)
{
    srv_render_view rv = {0};
    srv_seg_view *v = views_of(s, sp, segs, n, &rv);
    if (!v)
        return NULL;
    srv_settings st;
    srv_settings_parse(sp->settings_json, &st);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)sp->id);
    cJSON_AddStringToObject(o, "name", sp->name ? sp->name : "");
    cJSON_AddNumberToObject(o, "created_ms", (double)sp->created_ms);
    cJSON_AddNumberToObject(o, "updated_ms", (double)sp->updated_ms);
    cJSON *settings = srv_settings_json(&st);
    cJSON_DeleteItemFromObjectCaseSensitive(settings, "encodings"); /* shown per source */
    cJSON_AddItemToObject(o, "settings", settings);
    cJSON_AddItemToObject(o, "sources", sources_json(s, sp->id, &st));
    cJSON_AddNumberToObject(o, "playhead_ms", (double)sp->playhead_ms);
    cJSON_AddNumberToObject(o, "version", (double)sp->version);
    cJSON_AddItemToObject(o, "history", srv_history_json(sp));
    cJSON_AddItemToObject(o, "render", srv_render_json(&rv));
    /* The track lasts to the last cue's end or the last speech's end. */
    int64_t dur = rv.track_ms;
    for (size_t i = 0; i < n; i++) {
        if (segs[i].end_ms != KK_TIME_NONE && segs[i].end_ms > dur)
            dur = segs[i].end_ms;
        if (v[i].rendered && v[i].placed && v[i].end_ms > dur)
            dur = v[i].end_ms;
    }
    if (dur >= 0)
        cJSON_AddNumberToObject(o, "duration_ms", (double)dur);
    else
        cJSON_AddNullToObject(o, "duration_ms");
    if (with_segments) {
        cJSON *arr = cJSON_AddArrayToObject(o, "segments");
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, srv_segment_json(&segs[i], i, &v[i]));
    }
    views_free(v, n);
    return o;
}

/* The project with its segments, from the store. */
static kk_status load_project(kk_server *s, int64_t id, kk_store_project *sp, kk_store_segment **segs, size_t *n,
                              kk_error *err)
{
    memset(sp, 0, sizeof *sp);
    *segs = NULL, *n = 0;
    kk_status st = kk_store_get_project(s->store, id, sp, err);
    if (st == KK_OK && (st = kk_store_segments(s->store, id, segs, n, err)) != KK_OK)
        kk_store_project_free(sp);
    return st;
}

/* Answers the whole project (GET, PATCH, create); an existing project
 * opened is brought up to date in the background. */
static void reply_project(kk_server *s, int64_t id, unsigned status, cJSON *warnings, srv_reply *rp)
{
    kk_store_project sp;
    kk_store_segment *segs;
    size_t n;
    kk_error err = {0};
    if (load_project(s, id, &sp, &segs, &n, &err) != KK_OK) {
        cJSON_Delete(warnings);
        srv_reply_status(rp, &err);
        return;
    }
    srv_jobs_touch(s->jobs, id, 0);
    cJSON *o = project_json(s, &sp, segs, n, 1);
    if (o && warnings)
        cJSON_AddItemToObject(o, "warnings", warnings);
    else
        cJSON_Delete(warnings);
    kk_store_segments_free(segs, n);
    kk_store_project_free(&sp);
    srv_reply_json(rp, status, o);
}

char *api_hello_json(void *server, int64_t project)
{
    kk_server *s = server;
    kk_store_project sp;
    kk_store_segment *segs;
    size_t n;
    kk_error err;
    if (load_project(s, project, &sp, &segs, &n, &err) != KK_OK)
        return NULL;
    srv_render_view rv = {0};
    views_free(views_of(s, &sp, segs, n, &rv), n);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "version", (double)sp.version);
    cJSON_AddItemToObject(o, "render", srv_render_json(&rv));
    kk_store_segments_free(segs, n);
    kk_store_project_free(&sp);
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return t;
}

/* {"version", "history"} after an edit; also told to the other tabs. */
static cJSON *after_edit(kk_server *s, int64_t id)
{
    srv_jobs_touch(s->jobs, id, 1);
    kk_store_project sp = {0};
    kk_error err;
    if (kk_store_get_project(s->store, id, &sp, &err) != KK_OK)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "version", (double)sp.version);
    cJSON_AddItemToObject(o, "history", srv_history_json(&sp));
    kk_store_project_free(&sp);
    if (srv_events_listening(s->events, id))
        srv_events_publish_json(s->events, id, "project", cJSON_Duplicate(o, 1));
    return o;
}

/* A segment as the client sees it now. */
static cJSON *segment_now(kk_server *s, int64_t project, int64_t id)
{
    kk_store_project sp;
    kk_store_segment *segs;
    size_t n;
    kk_error err;
    if (load_project(s, project, &sp, &segs, &n, &err) != KK_OK)
        return NULL;
    cJSON *o = NULL;
    for (size_t i = 0; i < n && !o; i++)
        if (segs[i].id == id) {
            srv_render_view rv;
            srv_settings st;
            srv_seg_view v;
            srv_settings_parse(sp.settings_json, &st);
            srv_jobs_view(s->jobs, project, &st, &segs[i], 1, &v, &rv);
            o = srv_segment_json(&segs[i], i, &v);
            srv_seg_view_free(&v);
        }
    kk_store_segments_free(segs, n);
    kk_store_project_free(&sp);
    return o;
}

/* ---- projects ---- */

void api_projects_list(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    kk_store_project *v = NULL;
    size_t n = 0;
    kk_error err = {0};
    if (kk_store_list_projects(s->store, &v, &n, &err) != KK_OK) {
        srv_reply_status(rp, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "projects");
    for (size_t i = 0; i < n; i++) {
        kk_store_segment *segs = NULL;
        size_t m = 0;
        if (kk_store_segments(s->store, v[i].id, &segs, &m, &err) == KK_OK) {
            cJSON *p = project_json(s, &v[i], segs, m, 0);
            if (p)
                cJSON_AddItemToArray(arr, p);
            kk_store_segments_free(segs, m);
        }
        kk_store_project_free(&v[i]);
    }
    free(v);
    srv_reply_json(rp, 200, o);
}

void api_project_get(srv_request *rq, srv_reply *rp) { reply_project(rq->srv, rq->id[0], 200, NULL, rp); }

void api_project_patch(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    static const char *const keys[] = {"name", "settings", NULL};
    if (want_object(rq->json, rp) || known_keys(rq->json, keys, rp))
        return;
    const cJSON *jn = cJSON_GetObjectItemCaseSensitive(rq->json, "name");
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(rq->json, "settings");
    const char *name = NULL;
    if (!jn && !js) {
        srv_bad(rp, "body: nothing to change (name, settings)");
        return;
    }
    if (jn && get_str(jn, "name", NAME_MAX_BYTES, 0, &name, rp))
        return;
    if (name && is_blank(name)) {
        srv_bad(rp, "name: empty");
        return;
    }
    kk_store_project sp = {0};
    kk_error err = {0};
    if (kk_store_get_project(s->store, rq->id[0], &sp, &err) != KK_OK) {
        srv_reply_status(rp, &err);
        return;
    }
    char *settings = NULL;
    srv_settings st;
    srv_settings_parse(sp.settings_json, &st);
    kk_store_project_free(&sp);
    if (js) {
        if (settings_apply(s, js, &st, rp))
            return;
        if (!(settings = srv_settings_text(&st))) {
            srv_reply_error(rp, 500, "internal", "out of memory");
            return;
        }
    }
    kk_status r = kk_store_update_project(s->store, rq->id[0], name, settings, &err);
    free(settings);
    if (r != KK_OK) {
        srv_reply_status(rp, &err);
        return;
    }
    if (js && cJSON_GetObjectItemCaseSensitive(js, "voice"))
        note_voice(s, st.voice);
    cJSON_Delete(after_edit(s, rq->id[0]));
    reply_project(s, rq->id[0], 200, NULL, rp);
}

void api_project_delete(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    kk_error err = {0};
    char *video = srv_video_file(s, rq->id[0]); /* its row goes with the project, its file after it */
    if (kk_store_delete_project(s->store, rq->id[0], &err) != KK_OK) {
        free(video);
        srv_reply_status(rp, &err);
        return;
    }
    srv_video_remove(s, video);
    srv_jobs_forget(s->jobs, rq->id[0]);
    srv_events_end_project(s->events, rq->id[0]);
    rp->status = 204;
}

/* ---- creating a project ---- */

typedef struct upload_ctx {
    cJSON *warnings;
    size_t n_warnings;
} upload_ctx;

static void on_parse_warning(void *user, const char *file, long line, const char *msg)
{
    upload_ctx *u = user;
    if (u->n_warnings++ >= MAX_WARNINGS)
        return;
    char buf[KK_ERROR_MSG_MAX + 300];
    if (u->n_warnings == MAX_WARNINGS)
        snprintf(buf, sizeof buf, "(more warnings left out)");
    else
        snprintf(buf, sizeof buf, "%s:%ld: %s", file, line, msg);
    if (kk_utf8_valid(buf, strlen(buf)))
        cJSON_AddItemToArray(u->warnings, cJSON_CreateString(buf));
}

/* The format of an uploaded file, from its extension; AUTO: not ours. */
static kk_format upload_format(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return KK_FORMAT_AUTO;
    static const struct {
        const char *ext;
        kk_format f;
    } map[] = {{".txt", KK_FORMAT_TXT}, {".srt", KK_FORMAT_SRT}, {".vtt", KK_FORMAT_VTT},
               {".ass", KK_FORMAT_ASS}, {".ssa", KK_FORMAT_ASS}, {".json", KK_FORMAT_WSCRIBE}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcasecmp(dot, map[i].ext))
            return map[i].f;
    return KK_FORMAT_AUTO;
}

/* A file name for display: its last part, valid UTF-8, no control
 * characters, at most NAME_MAX_BYTES. Never a path. */
static char *display_name(const char *name)
{
    const char *a = strrchr(name, '/'), *b = strrchr(name, '\\');
    const char *base = a && (!b || a > b) ? a + 1 : b ? b + 1 : name;
    size_t n = strlen(base);
    if (n > NAME_MAX_BYTES)
        n = NAME_MAX_BYTES;
    while (n && !kk_utf8_valid(base, n)) /* do not cut a character in two */
        n--;
    char *d = strndup(base, n);
    for (char *p = d; p && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '_';
    if (d && !*d) {
        free(d);
        d = strdup("untitled");
    }
    return d;
}

typedef struct src_in {
    char *name; /* display */
    char enc[KK_ENCODING_NAME_MAX]; /* the encoding it was read in (build_doc's) */
    kk_format format;
    const char *data;
    size_t len;
} src_in;

/* Parses each source and appends its segments to one document, each file
 * after the previous one's last end. */
static int build_doc(kk_server *s, src_in *src, size_t n, const char *encoding, kk_doc **out, cJSON *warnings,
                     srv_reply *rp)
{
    kk_doc *all = kk_doc_new(src[0].format);
    upload_ctx u = {.warnings = warnings};
    int64_t offset = 0;
    if (!all) {
        srv_reply_error(rp, 500, "internal", "out of memory");
        return -1;
    }
    for (size_t f = 0; f < n; f++) {
        kk_parse_params pp = kk_parse_default_params();
        pp.format = src[f].format;
        pp.encoding = encoding && *encoding ? encoding : NULL;
        pp.encoding_out = src[f].enc;
        pp.on_warning = on_parse_warning;
        pp.warning_user = &u;
        kk_doc *doc = NULL;
        kk_error err = {0};
        if (kk_parse_memory(src[f].name, src[f].data, src[f].len, &pp, &doc, &err) != KK_OK) {
            if (err.code == KK_ERR_INPUT || err.code == KK_ERR_ARG) {
                /* The parser's warnings say what was wrong with each cue. */
                cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
                cJSON_AddStringToObject(e, "code", "bad_request");
                cJSON_AddStringToObject(e, "message", kk_utf8_valid(err.msg, strlen(err.msg)) ? err.msg : "bad file");
                cJSON_AddItemToObject(o, "warnings", cJSON_Duplicate(warnings, 1));
                srv_reply_json(rp, 400, o);
            } else {
                srv_reply_status(rp, &err);
            }
            kk_doc_free(all);
            return -1;
        }
        int64_t last = offset;
        for (size_t i = 0; i < doc->n_segs; i++) {
            kk_segment g = doc->segs[i];
            if (all->n_segs >= s->p.max_segments) {
                srv_reply_error(rp, 413, "too_large", "more than the limit of %zu segments in a project",
                                s->p.max_segments);
                kk_doc_free(doc);
                kk_doc_free(all);
                return -1;
            }
            if (g.text && strlen(g.text) > s->p.max_text_bytes) {
                srv_bad(rp, "%s:%ld: the text is %zu bytes, over the limit of %zu a segment", src[f].name, g.line,
                        strlen(g.text), s->p.max_text_bytes);
                kk_doc_free(doc);
                kk_doc_free(all);
                return -1;
            }
            kk_word *w = NULL;
            if (g.start_ms != KK_TIME_NONE && offset) {
                g.start_ms += offset;
                g.end_ms += offset;
                /* each file's cues follow the files before it: together
                 * they must stay within the one bound on times */
                if (g.end_ms > KK_TIME_MAX_MS) {
                    srv_bad(rp, "%s:%ld: after the files before it, this segment would end at %.1f hours, past the "
                                "limit of %d hours; upload the files as separate projects",
                            src[f].name, g.line, (double)g.end_ms / 3.6e6, KK_TIME_MAX_HOURS);
                    kk_doc_free(doc);
                    kk_doc_free(all);
                    return -1;
                }
                if (g.n_words && !(w = malloc(g.n_words * sizeof *w))) {
                    srv_reply_error(rp, 500, "internal", "out of memory");
                    kk_doc_free(doc);
                    kk_doc_free(all);
                    return -1;
                }
                for (size_t k = 0; k < g.n_words; k++) {
                    w[k] = g.words[k];
                    if (w[k].start_ms != KK_TIME_NONE)
                        w[k].start_ms += offset;
                    if (w[k].end_ms != KK_TIME_NONE)
                        w[k].end_ms += offset;
                }
                if (g.n_words)
                    g.words = w;
            }
            if (g.end_ms != KK_TIME_NONE && g.end_ms > last)
                last = g.end_ms;
            kk_status st = kk_doc_add(all, &g);
            free(w);
            if (st != KK_OK) {
                srv_reply_error(rp, 500, "internal", "out of memory");
                kk_doc_free(doc);
                kk_doc_free(all);
                return -1;
            }
        }
        offset = last;
        kk_doc_free(doc);
    }
    *out = all;
    return 0;
}

#define MAX_SOURCES SRV_SOURCES_MAX

/* What a create request asks for, from a form or a JSON body. */
typedef struct create_in {
    src_in src[MAX_SOURCES];
    size_t n_src;
    const char *name;   /* the request's (NULL: none); points into it */
    cJSON *settings_in; /* owned; NULL: none */
    char encoding[KK_ENCODING_NAME_MAX]; /* the files' encoding, as asked ("": detect) */
} create_in;

static void create_in_free(create_in *in)
{
    for (size_t i = 0; i < in->n_src; i++)
        free(in->src[i].name);
    cJSON_Delete(in->settings_in);
    memset(in, 0, sizeof *in);
}

/* One uploaded file part: its display name and format. -1: a reply is set. */
static int form_file(const srv_part *p, const char *data, create_in *in, srv_reply *rp)
{
    if (in->n_src == MAX_SOURCES) {
        srv_reply_error(rp, 413, "too_large", "at most %d files make one project", MAX_SOURCES);
        return -1;
    }
    src_in *f = &in->src[in->n_src];
    if (!(f->name = display_name(p->filename))) {
        srv_reply_error(rp, 500, "internal", "out of memory");
        return -1;
    }
    f->format = upload_format(f->name);
    f->data = data;
    f->len = p->data.len;
    in->n_src++;
    if (f->format == KK_FORMAT_AUTO) {
        srv_reply_error(rp, 415, "unsupported", "%s: not a file type we read (.txt .srt .vtt .ass .ssa .json)",
                        f->name);
        return -1;
    }
    return 0;
}

/* A multipart/form-data request: "file" parts, "name", "settings". The
 * fields get the checks their JSON counterparts get. -1: a reply is set. */
static int create_from_form(kk_server *s, const srv_request *rq, create_in *in, srv_reply *rp)
{
    for (size_t i = 0; i < rq->n_parts; i++) {
        const srv_part *p = &rq->parts[i];
        const char *data = p->data.data ? p->data.data : "";
        if (!strcmp(p->name, "file") && p->filename) {
            if (form_file(p, data, in, rp))
                return -1;
        } else if (!strcmp(p->name, "name")) {
            if (!kk_utf8_valid(data, p->data.len) || p->data.len > NAME_MAX_BYTES) {
                srv_bad(rp, "name: valid UTF-8 of at most %d bytes is expected", NAME_MAX_BYTES);
                return -1;
            }
            if (!no_controls(data, p->data.len, 0)) {
                srv_bad(rp, "name: control characters are not allowed");
                return -1;
            }
            in->name = data;
        } else if (!strcmp(p->name, "settings")) {
            kk_error err = {0};
            cJSON *o = NULL;
            if (srv_json_precheck(data, p->data.len, s->p.max_json_depth, &err) ||
                !(o = cJSON_ParseWithLength(data, p->data.len))) {
                srv_bad(rp, "settings: %s", err.msg[0] ? err.msg : "malformed JSON");
                return -1;
            }
            cJSON_Delete(in->settings_in); /* a second settings part wins, as a second name does */
            in->settings_in = o;
        } else if (!strcmp(p->name, "encoding")) {
            /* the files' encoding when detection guessed wrong ("auto" or
             * empty: detect); an unknown name is refused by the parse */
            int ok = p->data.len < sizeof in->encoding;
            for (size_t k = 0; ok && k < p->data.len; k++)
                ok = isalnum((unsigned char)data[k]) || strchr("-_.:", data[k]);
            if (!ok) {
                srv_bad(rp, "encoding: an encoding's name (WINDOWS-1252, SHIFT_JIS, ...) or auto is expected");
                return -1;
            }
            snprintf(in->encoding, sizeof in->encoding, "%.*s", (int)p->data.len, data);
        } else {
            srv_bad(rp, "%.100s: not a field here (file, name, settings, encoding)", p->name);
            return -1;
        }
    }
    if (!in->n_src) {
        srv_bad(rp, "file: no file in the form (a part named \"file\" with a file name)");
        return -1;
    }
    return 0;
}

/* A JSON request: {"name", "text", "format", "settings"}; the text is one
 * source named after the project. -1: a reply is set. */
static int create_from_json(const cJSON *body, create_in *in, srv_reply *rp)
{
    static const char *const keys[] = {"name", "text", "format", "settings", NULL};
    if (want_object(body, rp) || known_keys(body, keys, rp))
        return -1;
    const cJSON *jt = cJSON_GetObjectItemCaseSensitive(body, "text");
    const cJSON *jf = cJSON_GetObjectItemCaseSensitive(body, "format");
    const cJSON *jn = cJSON_GetObjectItemCaseSensitive(body, "name");
    if (jn && get_str(jn, "name", NAME_MAX_BYTES, 0, &in->name, rp))
        return -1;
    if (!cJSON_IsString(jt)) {
        srv_bad(rp, "text: a string is expected (or upload files as multipart/form-data)");
        return -1;
    }
    kk_format f = KK_FORMAT_TXT;
    if (jf && (!cJSON_IsString(jf) || (f = kk_format_from_name(jf->valuestring)) == KK_FORMAT_AUTO)) {
        srv_bad(rp, "format: txt, srt, vtt, ass or wscribe");
        return -1;
    }
    static const char *const ext[] = {"", ".txt", ".srt", ".vtt", ".ass", ".json"};
    char fname[NAME_MAX_BYTES + 16];
    snprintf(fname, sizeof fname, "%s%s", in->name && *in->name ? in->name : "text", ext[f]);
    if (!(in->src[0].name = display_name(fname))) {
        srv_reply_error(rp, 500, "internal", "out of memory");
        return -1;
    }
    in->src[0].format = f;
    in->src[0].data = jt->valuestring;
    in->src[0].len = strlen(jt->valuestring);
    in->n_src = 1;
    in->settings_in = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(body, "settings"), 1);
    return 0;
}

/* Parses the sources, stores the project and answers 201 with it. */
static void create_project(kk_server *s, create_in *in, srv_settings *st, const char *name, srv_reply *rp)
{
    cJSON *warnings = cJSON_CreateArray();
    kk_doc *doc = NULL;
    if (build_doc(s, in->src, in->n_src, in->encoding, &doc, warnings, rp)) {
        cJSON_Delete(warnings);
        return;
    }
    st->n_encodings = in->n_src;
    for (size_t i = 0; i < in->n_src; i++)
        snprintf(st->encodings[i], sizeof st->encodings[i], "%s", in->src[i].enc);
    kk_store_source ss[MAX_SOURCES];
    for (size_t i = 0; i < in->n_src; i++)
        ss[i] = (kk_store_source){.name = in->src[i].name,
                                  .format = kk_format_name(in->src[i].format),
                                  .data = in->src[i].data,
                                  .len = in->src[i].len};
    char *settings = srv_settings_text(st);
    int64_t id = 0;
    kk_error err = {0};
    kk_status r = settings ? kk_store_create_project(s->store, name, settings, doc, ss, in->n_src, &id, &err)
                           : kk_error_set(&err, KK_ERR_NOMEM, "out of memory");
    free(settings);
    kk_doc_free(doc);
    if (r != KK_OK) {
        cJSON_Delete(warnings);
        srv_reply_status(rp, &err);
        return;
    }
    if (in->settings_in && cJSON_GetObjectItemCaseSensitive(in->settings_in, "voice"))
        note_voice(s, st->voice);
    srv_jobs_created(s->jobs, id);
    char loc[64];
    snprintf(loc, sizeof loc, "/api/projects/%lld", (long long)id);
    reply_project(s, id, 201, warnings, rp);
    if (rp->status == 201)
        srv_reply_header(rp, "Location", loc);
}

void api_projects_create(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    create_in in;
    memset(&in, 0, sizeof in);
    char *name_copy = NULL;
    srv_settings st;
    srv_settings_defaults(&st);
    if (rq->n_parts ? create_from_form(s, rq, &in, rp) : create_from_json(rq->json, &in, rp))
        goto out;
    if (in.settings_in && settings_apply(s, in.settings_in, &st, rp))
        goto out;
    const char *name = in.name;
    if (!name || is_blank(name)) { /* the first file's name without its extension */
        name_copy = strdup(in.src[0].name);
        char *dot = name_copy ? strrchr(name_copy, '.') : NULL;
        if (dot && dot != name_copy)
            *dot = '\0';
        name = name_copy ? name_copy : "Untitled";
    }
    create_project(s, &in, &st, name, rp);
out:
    free(name_copy);
    create_in_free(&in);
}

/* ---- segments ---- */

void api_segments_list(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    kk_store_project sp;
    kk_store_segment *segs;
    size_t n;
    kk_error err = {0};
    if (load_project(s, rq->id[0], &sp, &segs, &n, &err) != KK_OK) {
        srv_reply_status(rp, &err);
        return;
    }
    srv_jobs_touch(s->jobs, rq->id[0], 0);
    srv_render_view rv;
    srv_seg_view *v = views_of(s, &sp, segs, n, &rv);
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "segments");
    for (size_t i = 0; v && i < n; i++)
        cJSON_AddItemToArray(arr, srv_segment_json(&segs[i], i, &v[i]));
    views_free(v, n);
    kk_store_segments_free(segs, n);
    kk_store_project_free(&sp);
    srv_reply_json(rp, v ? 200 : 500, o);
}

/* Reads the segment fields of o into *g and *mask (PATCH and insert). */
static int segment_fields(kk_server *s, const cJSON *o, kk_store_segment *g, unsigned *mask, srv_reply *rp)
{
    const cJSON *v;
    const char *str;
    *mask = 0;
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "text"))) {
        if (get_str(v, "text", s->p.max_text_bytes, 1, &str, rp))
            return -1;
        if (is_blank(str)) {
            srv_bad(rp, "text: empty (delete the segment instead)");
            return -1;
        }
        g->text = (char *)str;
        *mask |= KK_SEG_TEXT;
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "start_ms"),
                *b = cJSON_GetObjectItemCaseSensitive(o, "end_ms");
    if (a || b) {
        if (!a || !b) {
            srv_bad(rp, "start_ms and end_ms: both are expected together");
            return -1;
        }
        if (cJSON_IsNull(a) && cJSON_IsNull(b)) {
            g->start_ms = g->end_ms = KK_TIME_NONE;
        } else {
            const int64_t max = KK_TIME_MAX_MS; /* 1000 hours: the bound the parsers and render keep too */
            if (get_int(o, "start_ms", 0, max, &g->start_ms, rp) || get_int(o, "end_ms", 0, max, &g->end_ms, rp))
                return -1;
            if (g->end_ms < g->start_ms) {
                srv_bad(rp, "end_ms: before start_ms");
                return -1;
            }
        }
        *mask |= KK_SEG_TIMES;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "speaker"))) {
        if (!cJSON_IsNull(v) && get_str(v, "speaker", NAME_MAX_BYTES, 0, &str, rp))
            return -1;
        g->speaker = cJSON_IsNull(v) ? NULL : (char *)str;
        *mask |= KK_SEG_SPEAKER;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "voice"))) {
        if (!cJSON_IsNull(v)) {
            if (get_str(v, "voice", 255, 0, &str, rp))
                return -1;
            if (!voice_known(s, str)) {
                srv_bad(rp, "voice: no voice \"%.100s\" (GET /api/voices lists them)", str);
                return -1;
            }
        }
        g->voice = cJSON_IsNull(v) ? NULL : (char *)str;
        *mask |= KK_SEG_VOICE;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "speed"))) {
        g->speed = 0;
        if (!cJSON_IsNull(v) && get_num(v, "speed", KK_SPEED_MIN, KK_SPEED_MAX, &g->speed, rp))
            return -1;
        *mask |= KK_SEG_SPEED;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "pitch"))) {
        g->pitch = NAN;
        if (!cJSON_IsNull(v) && get_num(v, "pitch", -12, 12, &g->pitch, rp))
            return -1;
        *mask |= KK_SEG_PITCH;
    }
    return 0;
}

/* "words": the segment's word times ([{"text", "start_ms", "end_ms"}], in
 * order, times within 0 .. KK_TIME_MAX_MS or null), or null for none (the
 * natural timing). *json: malloc'd for the store (NULL for null). */
static int words_field(const cJSON *v, char **json, srv_reply *rp)
{
    *json = NULL;
    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > 100000) {
        srv_bad(rp, "words: an array of {text, start_ms, end_ms} (or null for the natural timing) is expected");
        return -1;
    }
    cJSON *out = cJSON_CreateArray();
    double last = -1;
    int i = 0;
    const cJSON *w;
    cJSON_ArrayForEach(w, v)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(w, "text"), *a = cJSON_GetObjectItemCaseSensitive(w, "start_ms"),
                    *b = cJSON_GetObjectItemCaseSensitive(w, "end_ms");
        int times_ok = (cJSON_IsNull(a) || (cJSON_IsNumber(a) && a->valuedouble >= 0 &&
                                            a->valuedouble <= (double)KK_TIME_MAX_MS && a->valuedouble == (int64_t)a->valuedouble)) &&
                       (cJSON_IsNull(b) || (cJSON_IsNumber(b) && b->valuedouble >= 0 &&
                                            b->valuedouble <= (double)KK_TIME_MAX_MS && b->valuedouble == (int64_t)b->valuedouble));
        if (!cJSON_IsObject(w) || !cJSON_IsString(t) || !a || !b || !times_ok ||
            (cJSON_IsNumber(a) && cJSON_IsNumber(b) && b->valuedouble < a->valuedouble) ||
            (cJSON_IsNumber(a) && a->valuedouble < last)) {
            cJSON_Delete(out);
            srv_bad(rp, "words[%d]: {\"text\": string, \"start_ms\", \"end_ms\": integer ms or null}, the end not "
                        "before the start, the starts in order", i);
            return -1;
        }
        if (cJSON_IsNumber(a))
            last = a->valuedouble;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "text", t->valuestring);
        cJSON_AddItemToObject(o, "start_ms", cJSON_IsNull(a) ? cJSON_CreateNull() : cJSON_CreateNumber(a->valuedouble));
        cJSON_AddItemToObject(o, "end_ms", cJSON_IsNull(b) ? cJSON_CreateNull() : cJSON_CreateNumber(b->valuedouble));
        cJSON_AddItemToArray(out, o);
        i++;
    }
    *json = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    if (!*json) {
        srv_reply_error(rp, 500, "internal", "out of memory");
        return -1;
    }
    return 0;
}

/* A position in UTF-16 code units (a JavaScript string index, what the
 * studio's text fields give) as a byte offset in the UTF-8 text; -1 when
 * it is past the end or inside a surrogate pair. */
static int64_t utf16_to_byte(const char *text, int64_t units)
{
    const unsigned char *p = (const unsigned char *)text;
    int64_t u = 0;
    size_t i = 0;
    while (u < units && p[i]) {
        unsigned c = p[i];
        size_t k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        u += k == 4 ? 2 : 1; /* characters beyond the BMP are two units */
        for (size_t m = 0; m < k && p[i]; m++)
            i++;
    }
    return u == units ? (int64_t)i : -1;
}

static cJSON *edit_answer(kk_server *s, int64_t project, const int64_t *ids, size_t n, const int64_t *deleted,
                          size_t n_deleted)
{
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "segments");
    cJSON *proj = after_edit(s, project);
    for (size_t i = 0; i < n; i++) {
        cJSON *g = segment_now(s, project, ids[i]);
        if (g)
            cJSON_AddItemToArray(arr, g);
    }
    cJSON *d = cJSON_AddArrayToObject(o, "deleted");
    for (size_t i = 0; i < n_deleted; i++)
        cJSON_AddItemToArray(d, cJSON_CreateNumber((double)deleted[i]));
    cJSON_AddItemToObject(o, "project", proj);
    return o;
}

/* An insert's or a split's failure: the store's limit on segments
 * (kk_store_set_max_segments, its only KK_ERR_CONFLICT there) is a 413. */
static void reply_add_failed(kk_server *s, const kk_error *err, srv_reply *rp)
{
    if (err->code == KK_ERR_CONFLICT)
        srv_reply_error(rp, 413, "too_large", "the project has the limit of %zu segments", s->p.max_segments);
    else
        srv_reply_status(rp, err);
}

void api_segment_patch(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    static const char *const keys[] = {"text", "start_ms", "end_ms", "speaker", "voice", "speed", "pitch", "words",
                                       "fit", "coalesce", NULL};
    if (want_object(rq->json, rp) || known_keys(rq->json, keys, rp))
        return;
    /* coalesce: this edit joins the last one when that changed the same
     * fields of this segment and nothing was undone since (a burst of
     * typing is one undo step) */
    const cJSON *jc = cJSON_GetObjectItemCaseSensitive(rq->json, "coalesce");
    if (jc && !cJSON_IsBool(jc)) {
        srv_bad(rp, "coalesce: true or false");
        return;
    }
    kk_store_segment g = {.start_ms = KK_TIME_NONE, .end_ms = KK_TIME_NONE, .pitch = NAN};
    unsigned mask;
    if (segment_fields(s, rq->json, &g, &mask, rp))
        return;
    const cJSON *wv = cJSON_GetObjectItemCaseSensitive(rq->json, "words");
    if (wv) {
        if (words_field(wv, &g.words_json, rp))
            return;
        mask |= KK_SEG_WORDS;
    }
    /* fit: the segment's own (a word dragged in the studio makes it
     * "words"), null for the project's */
    const cJSON *fv = cJSON_GetObjectItemCaseSensitive(rq->json, "fit");
    srv_fit fit;
    if (fv && !cJSON_IsNull(fv) && (!cJSON_IsString(fv) || srv_fit_parse(fv->valuestring, &fit))) {
        free(g.words_json);
        srv_bad(rp, "fit: overlap, truncate, none, words (each word at its time), or null for the project's fit");
        return;
    }
    if (fv) {
        g.fit = cJSON_IsNull(fv) ? NULL : fv->valuestring; /* borrowed from the body */
        mask |= KK_SEG_FIT;
    }
    if (!mask) {
        srv_bad(rp, "body: nothing to change (text, start_ms and end_ms, speaker, voice, speed, pitch, words, fit)");
        return;
    }
    if (cJSON_IsTrue(jc))
        mask |= KK_SEG_COALESCE;
    kk_error err = {0};
    kk_status est = kk_store_edit_segment(s->store, rq->id[0], rq->id[1], mask, &g, &err);
    if ((mask & KK_SEG_VOICE) && g.voice && est == KK_OK)
        note_voice(s, g.voice);
    free(g.words_json);
    if (est != KK_OK) {
        srv_reply_status(rp, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *proj = after_edit(s, rq->id[0]);
    cJSON *seg = segment_now(s, rq->id[0], rq->id[1]);
    cJSON_AddItemToObject(o, "segment", seg ? seg : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "project", proj);
    srv_reply_json(rp, 200, o);
}

static void delete_segment(kk_server *s, int64_t project, int64_t id, srv_reply *rp)
{
    kk_error err = {0};
    if (kk_store_delete_segment(s->store, project, id, &err) != KK_OK) {
        srv_reply_status(rp, &err);
        return;
    }
    srv_reply_json(rp, 200, edit_answer(s, project, NULL, 0, &id, 1));
}

void api_segment_delete(srv_request *rq, srv_reply *rp) { delete_segment(rq->srv, rq->id[0], rq->id[1], rp); }

void api_segments_op(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    const cJSON *o = rq->json;
    if (want_object(o, rp))
        return;
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "op");
    const char *name = cJSON_IsString(op) ? op->valuestring : "";
    int64_t project = rq->id[0], id = 0, ids[2];
    kk_error err = {0};
    if (!strcmp(name, "split")) {
        static const char *const keys[] = {"op", "id", "at_ms", "text_offset", NULL};
        int64_t at = 0, off = 0, new_id = 0;
        if (known_keys(o, keys, rp) || get_int(o, "id", 0, INT64_MAX / 2, &id, rp) ||
            get_int(o, "text_offset", 0, INT32_MAX, &off, rp))
            return;
        if (cJSON_GetObjectItemCaseSensitive(o, "at_ms") &&
            !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "at_ms")) &&
            get_int(o, "at_ms", 0, INT64_MAX / 2, &at, rp))
            return;
        kk_store_segment g;
        if (kk_store_get_segment(s->store, project, id, &g, &err) != KK_OK) {
            srv_reply_status(rp, &err);
            return;
        }
        int64_t byte = utf16_to_byte(g.text ? g.text : "", off);
        kk_store_segment_free(&g);
        if (byte < 0) {
            srv_bad(rp, "text_offset: %lld is not a place in the segment's text (UTF-16 code units)", (long long)off);
            return;
        }
        if (kk_store_split(s->store, project, id, at, (size_t)byte, &new_id, &err) != KK_OK) {
            reply_add_failed(s, &err, rp);
            return;
        }
        ids[0] = id, ids[1] = new_id;
        srv_reply_json(rp, 200, edit_answer(s, project, ids, 2, NULL, 0));
    } else if (!strcmp(name, "merge")) {
        static const char *const keys[] = {"op", "ids", NULL};
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "ids");
        if (known_keys(o, keys, rp))
            return;
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 || !cJSON_IsNumber(v->child) ||
            !cJSON_IsNumber(v->child->next) || v->child->valuedouble < 0 || v->child->next->valuedouble < 0) {
            srv_bad(rp, "ids: two segment ids are expected ([17, 18])");
            return;
        }
        ids[0] = (int64_t)v->child->valuedouble, ids[1] = (int64_t)v->child->next->valuedouble;
        if (kk_store_merge(s->store, project, ids[0], ids[1], &err) != KK_OK) {
            srv_reply_status(rp, &err);
            return;
        }
        srv_reply_json(rp, 200, edit_answer(s, project, ids, 1, &ids[1], 1));
    } else if (!strcmp(name, "insert")) {
        static const char *const keys[] = {"op",    "text",  "start_ms", "end_ms", "speaker",
                                           "voice", "speed", "pitch",    NULL};
        if (known_keys(o, keys, rp))
            return;
        kk_store_segment g = {.start_ms = KK_TIME_NONE, .end_ms = KK_TIME_NONE, .pitch = NAN};
        unsigned mask;
        if (segment_fields(s, o, &g, &mask, rp))
            return;
        if (!(mask & KK_SEG_TEXT)) {
            srv_bad(rp, "text: the new segment's text is expected");
            return;
        }
        if (kk_store_insert(s->store, project, &g, &id, &err) != KK_OK) {
            reply_add_failed(s, &err, rp);
            return;
        }
        if (g.voice)
            note_voice(s, g.voice);
        srv_reply_json(rp, 200, edit_answer(s, project, &id, 1, NULL, 0));
    } else if (!strcmp(name, "delete")) {
        static const char *const keys[] = {"op", "id", NULL};
        if (known_keys(o, keys, rp) || get_int(o, "id", 0, INT64_MAX / 2, &id, rp))
            return;
        delete_segment(s, project, id, rp);
    } else if (!strcmp(name, "set")) {
        /* several segments at once (the studio's multi-selection): one edit */
        static const char *const keys[] = {"op", "ids", "speaker", "voice", "speed", "pitch", NULL};
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "ids");
        if (known_keys(o, keys, rp))
            return;
        int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
        if (n < 1 || (size_t)n > s->p.max_segments) {
            srv_bad(rp, "ids: an array of segment ids is expected");
            return;
        }
        int64_t *list = malloc((size_t)n * sizeof *list);
        int k = 0;
        for (const cJSON *c = v->child; list && c; c = c->next) {
            if (!cJSON_IsNumber(c) || c->valuedouble < 1 || c->valuedouble != floor(c->valuedouble)) {
                free(list);
                srv_bad(rp, "ids: segment ids (integers) are expected");
                return;
            }
            list[k++] = (int64_t)c->valuedouble;
        }
        kk_store_segment g = {.start_ms = KK_TIME_NONE, .end_ms = KK_TIME_NONE, .pitch = NAN};
        unsigned mask = 0;
        if (!list) {
            srv_reply_error(rp, 500, "internal", "out of memory");
            return;
        }
        if (segment_fields(s, o, &g, &mask, rp)) {
            free(list);
            return;
        }
        if (!mask) {
            free(list);
            srv_bad(rp, "body: nothing to set (speaker, voice, speed, pitch)");
            return;
        }
        if (kk_store_edit_segments(s->store, project, list, (size_t)n, mask, &g, &err) != KK_OK) {
            free(list);
            srv_reply_status(rp, &err);
            return;
        }
        if (g.voice)
            note_voice(s, g.voice);
        srv_reply_json(rp, 200, edit_answer(s, project, list, (size_t)n, NULL, 0));
        free(list);
    } else {
        srv_bad(rp, "op: split, merge, insert, delete or set");
    }
}

static void undo_redo(srv_request *rq, srv_reply *rp, int redo)
{
    kk_server *s = rq->srv;
    if (rq->json && want_object(rq->json, rp))
        return;
    int64_t *changed = NULL;
    size_t n = 0;
    kk_error err = {0};
    kk_status st = redo ? kk_store_redo(s->store, rq->id[0], &changed, &n, &err)
                        : kk_store_undo(s->store, rq->id[0], &changed, &n, &err);
    if (st != KK_OK) {
        srv_reply_status(rp, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject(), *c = cJSON_AddArrayToObject(o, "changed"),
          *d = cJSON_AddArrayToObject(o, "deleted");
    for (size_t i = 0; i < n; i++) {
        kk_store_segment g;
        kk_error e2;
        if (kk_store_get_segment(s->store, rq->id[0], changed[i], &g, &e2) == KK_OK) {
            kk_store_segment_free(&g);
            cJSON_AddItemToArray(c, cJSON_CreateNumber((double)changed[i]));
        } else {
            cJSON_AddItemToArray(d, cJSON_CreateNumber((double)changed[i]));
        }
    }
    free(changed);
    cJSON_AddItemToObject(o, "project", after_edit(s, rq->id[0]));
    srv_reply_json(rp, 200, o);
}

void api_undo(srv_request *rq, srv_reply *rp) { undo_redo(rq, rp, 0); }
void api_redo(srv_request *rq, srv_reply *rp) { undo_redo(rq, rp, 1); }

void api_playhead(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    static const char *const keys[] = {"ms", NULL};
    int64_t ms;
    if (want_object(rq->json, rp) || known_keys(rq->json, keys, rp) ||
        get_int(rq->json, "ms", 0, (int64_t)1000 * 3600 * 1000, &ms, rp))
        return;
    kk_error err = {0};
    if (kk_store_set_playhead(s->store, rq->id[0], ms, &err) != KK_OK) {
        srv_reply_status(rp, &err);
        return;
    }
    srv_jobs_playhead(s->jobs, rq->id[0], ms);
    rp->status = 204;
}

/* ---- audio and files ---- */

void api_segment_audio(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    kk_store_project sp = {0};
    kk_store_segment g;
    kk_error err = {0};
    if (kk_store_get_project(s->store, rq->id[0], &sp, &err) != KK_OK ||
        kk_store_get_segment(s->store, rq->id[0], rq->id[1], &g, &err) != KK_OK) {
        kk_store_project_free(&sp);
        srv_reply_status(rp, &err);
        return;
    }
    srv_settings st;
    srv_settings_parse(sp.settings_json, &st);
    kk_store_project_free(&sp);
    srv_jobs_touch(s->jobs, rq->id[0], 0);
    char *wav = NULL, version[17] = "";
    size_t len = 0;
    const char *status = "pending";
    kk_status r = srv_jobs_segment_wav(s->jobs, rq->id[0], &st, &g, &wav, &len, version, &status, &err);
    kk_store_segment_free(&g);
    if (r == KK_ERR_CONFLICT) {
        cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "code", "conflict");
        cJSON_AddStringToObject(e, "message", err.msg);
        cJSON_AddStringToObject(o, "status", status);
        srv_reply_json(rp, 409, o);
        return;
    }
    if (r != KK_OK) {
        srv_reply_status(rp, &err);
        return;
    }
    char etag[32];
    snprintf(etag, sizeof etag, "\"%s\"", version);
    const char *inm = srv_header(rq, "If-None-Match"), *v = srv_query(rq, "v");
    srv_reply_header(rp, "ETag", etag);
    srv_reply_header(rp, "Cache-Control",
                     v && !strcmp(v, version) ? "private, max-age=31536000, immutable" : "no-cache");
    if (inm && strstr(inm, etag)) {
        free(wav);
        rp->status = 304;
        return;
    }
    rp->status = 200;
    rp->type = "audio/wav";
    rp->body = wav;
    rp->len = len;
}

void api_events(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    kk_store_project sp = {0};
    kk_error err = {0};
    if (kk_store_get_project(s->store, rq->id[0], &sp, &err) != KK_OK) {
        srv_reply_status(rp, &err);
        return;
    }
    kk_store_project_free(&sp);
    srv_jobs_touch(s->jobs, rq->id[0], 0);
    struct MHD_Response *r = srv_events_stream(s->events, rq->conn, rq->id[0], &err);
    if (!r) {
        srv_reply_status(rp, &err);
        return;
    }
    rp->status = 200;
    rp->raw = r;
    rp->type = "text/event-stream";
    srv_reply_header(rp, "Cache-Control", "no-cache");
}

/* Content-Disposition for a download named after the project: an ASCII
 * fallback and the UTF-8 name (RFC 6266). */
static void attachment(srv_reply *rp, const char *name, const char *ext)
{
    char ascii[NAME_MAX_BYTES + 16], enc[NAME_MAX_BYTES * 3 + 32];
    size_t a = 0, e = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && a < NAME_MAX_BYTES; p++) {
        ascii[a++] = (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' && *p != '/') ? (char)*p : '_';
        if (isalnum(*p) || strchr("-._~", *p))
            enc[e++] = (char)*p;
        else
            e += (size_t)snprintf(enc + e, sizeof enc - e, "%%%02X", *p);
    }
    ascii[a] = '\0', enc[e] = '\0';
    if (!a)
        snprintf(ascii, sizeof ascii, "track");
    char v[sizeof ascii + sizeof enc + 64];
    snprintf(v, sizeof v, "attachment; filename=\"%s%s\"; filename*=UTF-8''%s%s", ascii, ext, e ? enc : "track", ext);
    srv_reply_header(rp, "Content-Disposition", v);
}

/* Hands the finished file at path to the reply (open, then unlinked: it
 * goes when the reply is sent). */
static void reply_file(srv_reply *rp, const char *path, const char *type)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    unlink(path);
    if (fd < 0 || fstat(fd, &st)) {
        if (fd >= 0)
            close(fd);
        srv_reply_error(rp, 500, "internal", "the export vanished: %s", strerror(errno));
        return;
    }
    rp->status = 200;
    rp->fd = fd;
    rp->fd_len = (uint64_t)st.st_size;
    rp->type = type;
}

static char *project_name(kk_server *s, int64_t id)
{
    kk_store_project sp = {0};
    kk_error err;
    if (kk_store_get_project(s->store, id, &sp, &err) != KK_OK)
        return NULL;
    char *n = sp.name ? strdup(sp.name) : strdup("track");
    kk_store_project_free(&sp);
    return n;
}

/* Writes a rendered project to path, as a track or as subtitles (x: its
 * progress and whether to stop). */
typedef srv_export_fn export_fn;

static kk_status write_track(const kk_render_result *r, const char *path, const void *how, srv_export *x,
                             kk_error *err)
{
    kk_export_params ep = *(const kk_export_params *)how;
    ep.progress = srv_export_writing;
    ep.user = x;
    kk_sample_io io = kk_render_io(r); /* in memory or in its temporary file */
    return kk_export_audio_io(path, &io, r->n_samples, KK_SAMPLE_RATE, &ep, err);
}

/* How the subtitles are written: the format and which times they carry. */
typedef struct subtitle_how {
    kk_format format;
    kk_subtitle_times times;
} subtitle_how;

static kk_status write_subtitles(const kk_render_result *r, const char *path, const void *how, srv_export *x,
                                 kk_error *err)
{
    (void)x; /* quick: no progress */
    const subtitle_how *h = how;
    return kk_render_save_subtitles_as(r, path, h->format, h->times, err);
}

/* An export's reply: the project rendered (what is missing first; o: a
 * stem, normalised, or NULL), written by fn to a file in the data
 * directory, sent as an attachment NAME.ext. kind and format name it in
 * its "export" events; it stops when its client goes away or the project
 * is deleted (then 404). */
static void reply_export(srv_request *rq, srv_reply *rp, const char *kind, const char *format, const char *ext,
                         const char *type, export_fn fn, const void *how, const srv_render_opts *o)
{
    kk_server *s = rq->srv;
    kk_error err = {0};
    /* Registered first: a deletion from now on cancels it. */
    srv_export *x = srv_jobs_export_begin(s->jobs, rq->id[0], kind, format, client_gone, rq->conn);
    char *name = x ? project_name(s, rq->id[0]) : NULL;
    const char *path = NULL;
    if (!name) {
        srv_export_end(x, KK_ERR_NOT_FOUND);
        if (x)
            srv_reply_error(rp, 404, "not_found", "project %lld does not exist", (long long)rq->id[0]);
        else
            srv_reply_error(rp, 500, "internal", "out of memory");
        return;
    }
    kk_render_result r = {0};
    kk_status st = srv_jobs_render_now(s->jobs, x, o, &r, &err);
    if (st == KK_OK)
        st = srv_export_file(x, s->data_dir, ext, &path, &err);
    if (st == KK_OK)
        st = srv_export_status(x, fn(&r, path, how, x, &err), &err);
    kk_render_result_free(&r);
    if (st != KK_OK) {
        const char *code;
        unsigned status = srv_error_status(&err, &code); /* before anything else may change errno */
        srv_reply_status(rp, &err);
        srv_export_failed(x, status, code, err.msg);
    } else {
        reply_file(rp, path, type);
        if (rp->status == 200)
            attachment(rp, name, ext);
    }
    srv_export_end(x, st); /* the file goes (the reply has it open) */
    free(name);
}

void srv_reply_export(srv_request *rq, srv_reply *rp, const char *kind, const char *format, const char *ext,
                      const char *type, srv_export_fn fn, const void *how)
{
    reply_export(rq, rp, kind, format, ext, type, fn, how, NULL);
}

/* An optional integer query parameter in [lo, hi]; -1 with a 400 naming it
 * when it is not one, 0 otherwise (*out unchanged when absent). */
static int query_int(srv_request *rq, const char *key, long lo, long hi, long *out, srv_reply *rp)
{
    const char *v = srv_query(rq, key);
    if (!v)
        return 0;
    char *e;
    errno = 0;
    long n = strtol(v, &e, 10);
    if (!*v || *e || errno || n < lo || n > hi) {
        srv_bad(rp, "%s: an integer from %ld to %ld is expected", key, lo, hi);
        return -1;
    }
    *out = n;
    return 0;
}

/* The audio choices every audio export shares: rate (Hz: 24000, the
 * engine's, or 44100 or 48000), bitrate (MP3 and M4A, kbps),
 * normalize (0 or 1) and lufs (the target, -40 .. -5). */
static int audio_options(srv_request *rq, kk_export_params *ep, srv_render_opts *o, srv_reply *rp)
{
    long rate = 0, kbps = 0, norm = 0, lufs = -16;
    if (query_int(rq, "rate", 8000, 192000, &rate, rp) || query_int(rq, "bitrate", 8, 320, &kbps, rp) ||
        query_int(rq, "normalize", 0, 1, &norm, rp) || query_int(rq, "lufs", -40, -5, &lufs, rp))
        return -1;
    if (rate && rate != 24000 && rate != 44100 && rate != 48000) {
        srv_bad(rp, "rate: 24000, 44100 or 48000");
        return -1;
    }
    ep->sample_rate = (int)rate;
    ep->bitrate_kbps = (int)kbps;
    o->normalize = (int)norm;
    o->target_lufs = (double)lufs;
    return 0;
}

void api_track(srv_request *rq, srv_reply *rp)
{
    const char *f = srv_query(rq, "format");
    static const struct {
        const char *name, *type;
    } formats[] = {{"wav", "audio/wav"}, {"mp3", "audio/mpeg"}, {"m4a", "audio/mp4"}, {"flac", "audio/flac"}};
    size_t k = 0;
    if (!f)
        f = "wav";
    while (k < 4 && strcmp(f, formats[k].name))
        k++;
    if (k == 4) {
        srv_bad(rp, "format: wav, mp3, m4a or flac");
        return;
    }
    kk_export_params ep = kk_export_default_params();
    srv_render_opts o = {0};
    kk_error err = {0};
    if (kk_export_format_parse(f, &ep.format, &err) != KK_OK) {
        srv_reply_status(rp, &err);
        return;
    }
    if (audio_options(rq, &ep, &o, rp))
        return;
    reply_export(rq, rp, "track", formats[k].name, kk_export_format_ext(ep.format), formats[k].type, write_track,
                 &ep, &o);
}

void api_subtitles(srv_request *rq, srv_reply *rp)
{
    const char *f = srv_query(rq, "format"), *t = srv_query(rq, "times");
    subtitle_how h = {.times = KK_SUBTITLE_SPEECH};
    const char *type, *ext;
    if (!f)
        f = "srt";
    if (!strcmp(f, "srt"))
        h.format = KK_FORMAT_SRT, type = "application/x-subrip; charset=utf-8", ext = ".srt";
    else if (!strcmp(f, "vtt"))
        h.format = KK_FORMAT_VTT, type = "text/vtt; charset=utf-8", ext = ".vtt";
    else if (!strcmp(f, "ass"))
        h.format = KK_FORMAT_ASS, type = "text/x-ssa; charset=utf-8", ext = ".ass";
    else if (!strcmp(f, "wscribe"))
        h.format = KK_FORMAT_WSCRIBE, type = "application/json; charset=utf-8", ext = ".json";
    else if (!strcmp(f, "txt")) /* the transcript: a paragraph a segment */
        h.format = KK_FORMAT_TXT, type = "text/plain; charset=utf-8", ext = ".txt";
    else {
        srv_bad(rp, "format: srt, vtt, ass, wscribe or txt");
        return;
    }
    if (t && !strcmp(t, "cue"))
        h.times = KK_SUBTITLE_CUES;
    else if (t && strcmp(t, "speech")) {
        srv_bad(rp, "times: speech (where the speech sounds) or cue (the cues' own times)");
        return;
    }
    reply_export(rq, rp, "subtitles", f, ext, type, write_subtitles, &h, NULL);
}

/* A stem's file name in the archive: the speaker's name made safe (no
 * path, no control characters), numbered so that two names that come out
 * the same stay apart; "no speaker" for the lines without one. */
static void stem_name(const char *speaker, size_t index, char *out, size_t size)
{
    char safe[SRV_SPEAKER_MAX + 1];
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(speaker ? speaker : "no speaker"); *p && n < sizeof safe - 1;
         p++)
        safe[n++] = (*p < 0x20 || *p == 0x7f || strchr("/\\:*?\"<>|", *p)) ? '_' : (char)*p;
    safe[n] = '\0';
    snprintf(out, size, "%02zu %s.wav", index + 1, safe);
}

/* GET /api/projects/{id}/stems: a zip of full-length WAVs, one per
 * speaker (each the whole list rendered with the other speakers' lines
 * muted, so that the stems add up to the track), in the order the
 * speakers first speak. Each stem is written to data_dir/tmp beside the
 * export's file and removed when the archive is made. */
void api_stems(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    kk_export_params ep = kk_export_default_params();
    srv_render_opts base = {0};
    if (audio_options(rq, &ep, &base, rp))
        return;
    kk_error err = {0};
    srv_export *x = srv_jobs_export_begin(s->jobs, rq->id[0], "stems", "zip", client_gone, rq->conn);
    char *name = x ? project_name(s, rq->id[0]) : NULL;
    if (!name) {
        srv_export_end(x, KK_ERR_NOT_FOUND);
        if (x)
            srv_reply_error(rp, 404, "not_found", "project %lld does not exist", (long long)rq->id[0]);
        else
            srv_reply_error(rp, 500, "internal", "out of memory");
        return;
    }
    char **speakers = NULL;
    size_t n = 0, made = 0;
    const char *path = NULL;
    char **paths = NULL, **names = NULL;
    kk_status st = srv_jobs_speakers(s->jobs, rq->id[0], &speakers, &n, &err);
    if (st == KK_OK && !n)
        st = kk_error_set(&err, KK_ERR_CONFLICT, "project %lld has no segments: nothing to make stems of",
                          (long long)rq->id[0]);
    if (st == KK_OK)
        st = srv_export_file(x, s->data_dir, ".zip", &path, &err);
    if (st == KK_OK && (!(paths = calloc(n, sizeof *paths)) || !(names = calloc(n, sizeof *names))))
        st = kk_error_set(&err, KK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == KK_OK && i < n; i++) {
        srv_render_opts o = base;
        o.solo = 1, o.speaker = speakers[i];
        kk_render_result r = {0};
        char nm[SRV_SPEAKER_MAX + 32];
        stem_name(speakers[i], i, nm, sizeof nm);
        size_t pl = strlen(path) + 32;
        if (!(paths[i] = malloc(pl)) || !(names[i] = strdup(nm))) {
            st = kk_error_set(&err, KK_ERR_NOMEM, "out of memory");
            break;
        }
        snprintf(paths[i], pl, "%s.stem%zu.wav", path, i + 1);
        made = i + 1;
        st = srv_jobs_render_now(s->jobs, x, &o, &r, &err);
        if (st == KK_OK)
            st = srv_export_status(x, write_track(&r, paths[i], &ep, x, &err), &err);
        kk_render_result_free(&r);
    }
    if (st == KK_OK)
        st = kk_zip_files(path, (const char *const *)names, (const char *const *)paths, n, &err);
    for (size_t i = 0; i < made; i++)
        if (paths[i])
            unlink(paths[i]);
    if (st != KK_OK) {
        const char *code;
        unsigned status = srv_error_status(&err, &code);
        srv_reply_status(rp, &err);
        srv_export_failed(x, status, code, err.msg);
    } else {
        reply_file(rp, path, "application/zip");
        if (rp->status == 200) {
            char base_name[NAME_MAX_BYTES + 16];
            snprintf(base_name, sizeof base_name, "%s stems", name);
            attachment(rp, base_name, ".zip");
        }
    }
    srv_export_end(x, st);
    for (size_t i = 0; i < n; i++) {
        free(speakers[i]);
        if (paths)
            free(paths[i]);
        if (names)
            free(names[i]);
    }
    free(speakers);
    free(paths);
    free(names);
    free(name);
}

void api_source(srv_request *rq, srv_reply *rp)
{
    kk_server *s = rq->srv;
    char *name = NULL, *format = NULL;
    void *data = NULL;
    size_t len = 0;
    kk_error err = {0};
    if (kk_store_get_source(s->store, rq->id[0], (size_t)rq->id[1], &name, &format, &data, &len, &err) != KK_OK) {
        srv_reply_status(rp, &err);
        return;
    }
    rp->status = 200;
    rp->type = format && !strcmp(format, "wscribe") ? "application/json; charset=utf-8" : "text/plain; charset=utf-8";
    rp->body = data;
    rp->len = len;
    const char *dot = name ? strrchr(name, '.') : NULL;
    char base[NAME_MAX_BYTES + 1];
    snprintf(base, sizeof base, "%.*s", dot ? (int)(dot - name) : (int)strlen(name ? name : ""), name ? name : "");
    attachment(rp, base, dot ? dot : "");
    free(name);
    free(format);
}
