/*
 * wscribe.c - WScribe JSON transcripts (the format of the wscribe transcriber
 * that the WScribe editor loads), read and written.
 *
 * A top-level array of segments {"text", "start", "end", "score", "words"},
 * each word {"text", "start", "end", "score"}. Times are "HH:MM:SS.mmm"
 * strings, or plain numbers taken as milliseconds (the editor accepts both).
 * We also read and write an optional "speaker" string, which the editor
 * ignores. The document is parsed whole with cJSON (up to
 * KK_WSCRIBE_MAX_BYTES); a light scan of the text first records the line on
 * which each segment starts, since cJSON keeps no positions.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parsers_internal.h"

/* Lines on which the elements of the top-level array start. */
static long *element_lines(const char *s, size_t n, size_t *count)
{
    size_t cap = 64, k = 0;
    long *lines = malloc(cap * sizeof *lines);
    if (!lines)
        return NULL;
    long ln = 1;
    int depth = 0, in_str = 0, expect = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '\n')
            ln++;
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = 0;
            continue;
        }
        if (depth == 1 && expect && ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r' && ch != ']') {
            if (k == cap) {
                long *p = realloc(lines, (cap *= 2) * sizeof *p);
                if (!p) {
                    free(lines);
                    return NULL;
                }
                lines = p;
            }
            lines[k++] = ln;
            expect = 0;
        }
        if (ch == '"') {
            in_str = 1;
        } else if (ch == '[' || ch == '{') {
            if (++depth == 1)
                expect = 1;
        } else if (ch == ']' || ch == '}') {
            depth--;
        } else if (ch == ',' && depth == 1) {
            expect = 1;
        }
    }
    *count = k;
    return lines;
}

/* A time as "HH:MM:SS.mmm" (or any clock kk_parse_clock takes) or a number of
 * milliseconds. 0 ok, -1 missing or malformed. */
static int json_time(const cJSON *v, int64_t *ms)
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!(d >= 0 && d < 1e15))
            return -1;
        *ms = (int64_t)llround(d);
        return 0;
    }
    if (cJSON_IsString(v)) {
        const char *p = v->valuestring;
        return kk_parse_clock(&p, ms) == 0 && *p == '\0' ? 0 : -1;
    }
    return -1;
}

static double json_score(const cJSON *o)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "score");
    /* cJSON reads 1e999 as infinity, which JSON cannot write back (cJSON
     * prints null): treat a non-finite score as absent. */
    return cJSON_IsNumber(s) && isfinite(s->valuedouble) ? s->valuedouble : NAN;
}

kk_status kk_parse_wscribe(kk_pctx *c)
{
    kk_buf text = {0};
    kk_status st = KK_OK;
    long *lines = NULL;
    cJSON *root = NULL;
    kk_word *words = NULL;
    if (kk_reader_slurp(c->rd, &text, KK_WSCRIBE_MAX_BYTES, c->err)) {
        st = c->err->code;
        goto out;
    }
    const char *data = text.data ? text.data : "";
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(data, text.len, &end, 0);
    if (!root) {
        long ln = 1;
        for (const char *p = data; end && p < end && p < data + text.len; p++)
            ln += *p == '\n';
        st = kk_error_set(c->err, KK_ERR_INPUT, "%s:%ld: not valid JSON near \"%.20s\"; check the file",
                          c->name, ln, end && end < data + text.len ? end : "");
        goto out;
    }
    if (!cJSON_IsArray(root)) {
        st = kk_error_set(c->err, KK_ERR_INPUT,
                          "%s:1: a WScribe transcript is a JSON array of segments; this is another JSON "
                          "document",
                          c->name);
        goto out;
    }
    size_t n_lines = 0;
    lines = element_lines(data, text.len, &n_lines);
    if (!lines) {
        st = kk_error_set(c->err, KK_ERR_NOMEM, "%s: out of memory", c->name);
        goto out;
    }
    size_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        long ln = i < n_lines ? lines[i] : 1;
        i++;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(item, "text");
        int64_t a, b;
        if (!cJSON_IsObject(item) || !cJSON_IsString(t)) {
            if (kk_warn(c, ln, "segment %zu is not an object with a \"text\" string; skipped", i))
                goto fail;
            continue;
        }
        if (json_time(cJSON_GetObjectItemCaseSensitive(item, "start"), &a) ||
            json_time(cJSON_GetObjectItemCaseSensitive(item, "end"), &b)) {
            if (kk_warn(c, ln, "segment %zu has a missing or malformed \"start\" or \"end\" time "
                        "(\"HH:MM:SS.mmm\" or milliseconds); skipped", i))
                goto fail;
            continue;
        }
        if (b < a) {
            if (kk_warn(c, ln, "segment %zu: end time is before the start time; skipped", i))
                goto fail;
            continue;
        }
        const cJSON *ws = cJSON_GetObjectItemCaseSensitive(item, "words");
        size_t nw = 0;
        if (cJSON_IsArray(ws) && cJSON_GetArraySize(ws) > 0) {
            words = calloc((size_t)cJSON_GetArraySize(ws), sizeof *words);
            if (!words) {
                st = kk_error_set(c->err, KK_ERR_NOMEM, "%s: out of memory", c->name);
                goto out;
            }
            const cJSON *w;
            cJSON_ArrayForEach(w, ws)
            {
                const cJSON *wt = cJSON_GetObjectItemCaseSensitive(w, "text");
                kk_word *kw = &words[nw];
                if (!cJSON_IsObject(w) || !cJSON_IsString(wt)) {
                    if (kk_warn(c, ln, "segment %zu: a word is not an object with a \"text\" string; "
                                "word skipped", i))
                        goto fail;
                    continue;
                }
                kw->text = wt->valuestring;
                kw->score = json_score(w);
                const cJSON *ws_start = cJSON_GetObjectItemCaseSensitive(w, "start");
                const cJSON *ws_end = cJSON_GetObjectItemCaseSensitive(w, "end");
                /* A word with neither time is normal (WhisperX leaves numbers
                 * and symbols it could not align untimed, and our writer
                 * writes untimed words that way): no warning. */
                if (!ws_start && !ws_end) {
                    kw->start_ms = kw->end_ms = KK_TIME_NONE;
                } else if (json_time(ws_start, &kw->start_ms) || json_time(ws_end, &kw->end_ms) ||
                    kw->end_ms < kw->start_ms) {
                    if (kk_warn(c, ln, "segment %zu: word \"%.40s\" has missing or bad times; kept "
                                "without them", i, kw->text))
                        goto fail;
                    kw->start_ms = kw->end_ms = KK_TIME_NONE;
                }
                nw++;
            }
        }
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(item, "speaker");
        kk_segment seg = {.start_ms = a, .end_ms = b, .text = t->valuestring, .score = json_score(item),
                          .speaker = cJSON_IsString(sp) ? sp->valuestring : NULL, .line = ln,
                          .words = nw ? words : NULL, .n_words = nw};
        int rc = kk_emit(c, &seg);
        free(words);
        words = NULL;
        if (rc)
            goto fail;
    }
    goto out;
fail:
    st = c->err->code;
out:
    free(words);
    free(lines);
    cJSON_Delete(root);
    kk_buf_free(&text);
    return st;
}

/* ---- JSON for one segment, shared by the WScribe writer and `kokoro parse` ---- */

static cJSON *time_string(int64_t ms)
{
    char buf[32];
    kk_format_time(ms, '.', buf, sizeof buf);
    return cJSON_CreateString(buf);
}

char *kk_segment_wscribe_json(const kk_segment *seg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "text", seg->text);
    cJSON_AddItemToObject(o, "start", time_string(seg->start_ms));
    cJSON_AddItemToObject(o, "end", time_string(seg->end_ms));
    if (!isnan(seg->score))
        cJSON_AddNumberToObject(o, "score", seg->score);
    if (seg->speaker)
        cJSON_AddStringToObject(o, "speaker", seg->speaker);
    cJSON *ws = cJSON_AddArrayToObject(o, "words");
    for (size_t i = 0; ws && i < seg->n_words; i++) {
        const kk_word *w = &seg->words[i];
        cJSON *jw = cJSON_CreateObject();
        cJSON_AddStringToObject(jw, "text", w->text);
        if (w->start_ms != KK_TIME_NONE) {
            cJSON_AddItemToObject(jw, "start", time_string(w->start_ms));
            cJSON_AddItemToObject(jw, "end", time_string(w->end_ms));
        }
        if (!isnan(w->score))
            cJSON_AddNumberToObject(jw, "score", w->score);
        cJSON_AddItemToArray(ws, jw);
    }
    char *s = cJSON_PrintUnformatted(o); /* NULL if any allocation above failed */
    cJSON_Delete(o);
    return s;
}

/* An integer as a JSON number. cJSON prints every number through "%1.15g"
 * and reads it back with sscanf to check it, which was most of the time
 * `kokoro parse` spent on a large file; integers need none of that. */
static cJSON *json_int(int64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%lld", (long long)v);
    return cJSON_CreateRaw(b);
}

static cJSON *ms_or_null(int64_t ms)
{
    return ms == KK_TIME_NONE ? cJSON_CreateNull() : json_int(ms);
}

char *kk_segment_to_json(const kk_segment *seg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "index", json_int(seg->index));
    cJSON_AddItemToObject(o, "start_ms", ms_or_null(seg->start_ms));
    cJSON_AddItemToObject(o, "end_ms", ms_or_null(seg->end_ms));
    cJSON_AddStringToObject(o, "text", seg->text);
    cJSON_AddItemToObject(o, "speaker", seg->speaker ? cJSON_CreateString(seg->speaker) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "line", json_int(seg->line));
    if (seg->flag)
        cJSON_AddStringToObject(o, "flag", seg->flag);
    if (!isnan(seg->score))
        cJSON_AddNumberToObject(o, "score", seg->score);
    if (seg->n_words) {
        cJSON *ws = cJSON_AddArrayToObject(o, "words");
        for (size_t i = 0; ws && i < seg->n_words; i++) {
            const kk_word *w = &seg->words[i];
            cJSON *jw = cJSON_CreateObject();
            cJSON_AddStringToObject(jw, "text", w->text);
            cJSON_AddItemToObject(jw, "start_ms", ms_or_null(w->start_ms));
            cJSON_AddItemToObject(jw, "end_ms", ms_or_null(w->end_ms));
            if (!isnan(w->score))
                cJSON_AddNumberToObject(jw, "score", w->score);
            cJSON_AddItemToArray(ws, jw);
        }
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
