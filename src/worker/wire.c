/*
 * wire.c - see worker_internal.h. Owns the job message (JSON, checked
 * field by field, its key recomputed so that a message changed on the way
 * is refused) and the checksummed form of a cache entry in Redis.
 *
 * Floats travel as JSON numbers: cJSON prints a double with enough digits
 * to read back the same bits, and a float widened to double and narrowed
 * back is unchanged, so the worker's keys are the client's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <xxhash.h>

#include "tts.h" /* kk_tts_precision_name, _parse */
#include "worker_internal.h"

char *kk_wire_job_encode(const kk_render_job *j, const char *key_hex, const char *reply)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "v", KK_WIRE_VERSION);
    cJSON_AddStringToObject(o, "key", key_hex);
    cJSON_AddStringToObject(o, "reply", reply);
    cJSON_AddStringToObject(o, "identity", j->identity);
    /* Absent means exact: a client of the release before precision was a
     * setting sends none, and its exact jobs keep their keys. */
    if (j->precision != KK_PRECISION_EXACT)
        cJSON_AddStringToObject(o, "precision", kk_tts_precision_name(j->precision));
    cJSON_AddNumberToObject(o, "render_version", j->render_version);
    cJSON_AddStringToObject(o, "voices_key", j->voices_key);
    cJSON_AddStringToObject(o, "text", j->text);
    cJSON_AddStringToObject(o, "voice", j->voice);
    if (j->lang)
        cJSON_AddStringToObject(o, "lang", j->lang);
    else
        cJSON_AddNullToObject(o, "lang");
    cJSON_AddStringToObject(o, "phonemes", j->phonemes);
    cJSON_AddNumberToObject(o, "speed", (double)j->speed);
    cJSON_AddNumberToObject(o, "pitch", j->pitch);
    cJSON *fit = cJSON_AddObjectToObject(o, "fit");
    cJSON_AddBoolToObject(fit, "enabled", j->fit.enabled);
    cJSON_AddNumberToObject(fit, "max_speed", (double)j->fit.max_speed);
    cJSON_AddNumberToObject(fit, "max_stretch", j->fit.max_stretch);
    cJSON_AddNumberToObject(o, "cue_ms", (double)j->cue_ms);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static const char *str_field(cJSON *o, const char *name, int nullable, int *bad)
{
    cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
    if (nullable && cJSON_IsNull(f))
        return NULL;
    if (!cJSON_IsString(f)) {
        *bad = 1;
        return NULL;
    }
    return f->valuestring;
}

static double num_field(cJSON *o, const char *name, int *bad)
{
    cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(f) || !isfinite(f->valuedouble)) {
        *bad = 1;
        return 0;
    }
    return f->valuedouble;
}

kk_status kk_wire_job_decode(const char *text, size_t len, kk_wire_job *out, kk_error *err)
{
    memset(out, 0, sizeof *out);
    cJSON *o = cJSON_ParseWithLength(text, len);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return kk_error_set(err, KK_ERR_INPUT, "the job message is not a JSON object");
    }
    out->root = o;
    int bad = 0;
    out->reply = str_field(o, "reply", 0, &bad);
    if (bad)
        return kk_error_set(err, KK_ERR_INPUT, "the job message has no reply stream");
    double v = num_field(o, "v", &bad);
    if (bad || v != KK_WIRE_VERSION)
        return kk_error_set(err, KK_ERR_INPUT, "the job message's version is not %d (a client of another release?)",
                            KK_WIRE_VERSION);
    kk_render_job *j = &out->job;
    out->key_hex = str_field(o, "key", 0, &bad);
    j->identity = str_field(o, "identity", 0, &bad);
    j->voices_key = str_field(o, "voices_key", 0, &bad);
    j->text = str_field(o, "text", 0, &bad);
    j->voice = str_field(o, "voice", 0, &bad);
    j->lang = str_field(o, "lang", 1, &bad);
    j->phonemes = str_field(o, "phonemes", 0, &bad);
    if (bad)
        return kk_error_set(err, KK_ERR_INPUT, "the job message lacks a string field (key, identity, voices_key, "
                            "text, voice, lang or phonemes)");
    cJSON *prec = cJSON_GetObjectItemCaseSensitive(o, "precision");
    if (prec && !cJSON_IsNull(prec)) {
        kk_error pe;
        if (!cJSON_IsString(prec) ||
            kk_tts_precision_parse(prec->valuestring, "the job message's precision", &j->precision, &pe) != KK_OK)
            return kk_error_set(err, KK_ERR_INPUT, "%s",
                                cJSON_IsString(prec) ? pe.msg : "the job message's precision is not a string (exact or fast)");
    }
    double rv = num_field(o, "render_version", &bad);
    double speed = num_field(o, "speed", &bad);
    j->pitch = num_field(o, "pitch", &bad);
    double cue = num_field(o, "cue_ms", &bad);
    cJSON *fit = cJSON_GetObjectItemCaseSensitive(o, "fit");
    if (!cJSON_IsObject(fit) || !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(fit, "enabled")))
        bad = 1;
    double ms = bad ? 0 : num_field(fit, "max_speed", &bad);
    double mst = bad ? 0 : num_field(fit, "max_stretch", &bad);
    if (bad)
        return kk_error_set(err, KK_ERR_INPUT, "the job message lacks a number field (render_version, speed, pitch, "
                            "cue_ms, fit)");
    if (rv != floor(rv) || fabs(rv) > 1e6 || cue != floor(cue) || cue < -1 || cue > 1e12 || fabs(speed) > 100 ||
        ms < 0 || ms > 100)
        return kk_error_set(err, KK_ERR_INPUT, "the job message's numbers are out of range");
    j->render_version = (int)rv;
    j->speed = (float)speed;
    j->cue_ms = (int64_t)cue;
    j->fit.enabled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(fit, "enabled"));
    j->fit.max_speed = (float)ms;
    j->fit.max_stretch = mst;
    kk_cache_key k = kk_render_job_key(j);
    char hex[33];
    kk_cache_key_hex(&k, hex);
    if (strcmp(hex, out->key_hex))
        return kk_error_set(err, KK_ERR_INPUT, "the job message's key %.40s is not its fields' (%s): changed on the "
                            "way, or from another release", out->key_hex, hex);
    return KK_OK;
}

void kk_wire_job_free(kk_wire_job *j)
{
    if (j)
        cJSON_Delete(j->root);
    if (j)
        memset(j, 0, sizeof *j);
}

void *kk_wire_blob_wrap(const void *blob, size_t n, size_t *out_n)
{
    unsigned char *w = malloc(n + 12);
    if (!w)
        return NULL;
    uint64_t h = XXH3_64bits(blob, n);
    memcpy(w, "KKB1", 4);
    memcpy(w + 4, &h, 8);
    memcpy(w + 12, blob, n);
    *out_n = n + 12;
    return w;
}

int kk_wire_blob_unwrap(const void *w, size_t n, void **blob, size_t *blob_n)
{
    const unsigned char *b = w;
    *blob = NULL;
    if (n < 12 || memcmp(b, "KKB1", 4))
        return -1;
    uint64_t h;
    memcpy(&h, b + 4, 8);
    if (XXH3_64bits(b + 12, n - 12) != h)
        return -1;
    *blob = malloc(n - 12 ? n - 12 : 1);
    if (!*blob)
        return -1;
    memcpy(*blob, b + 12, n - 12);
    *blob_n = n - 12;
    return 0;
}
