/*
 * voice.c - see voice.h. Packs are small (522 KB), so they are read into
 * memory rather than mapped; a blend is just a weighted sum of packs.
 */
#include "voice.h"
#include "kk_voice_lang.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PACK_BYTES ((size_t)KK_VOICE_ROWS * KK_VOICE_DIM * 4)

static int little_endian(void)
{
    uint16_t x = 1;
    unsigned char b;
    memcpy(&b, &x, 1);
    return b == 1;
}

kk_status kk_voice_load_file(const char *path, kk_voice **out, kk_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot open voice pack: %s", path,
                            strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) < 0 || (size_t)sb.st_size != PACK_BYTES) {
        fclose(f);
        return kk_error_set(err, KK_ERR_INPUT,
                            "%s: a voice pack must be exactly %zu bytes (float32 [%d, %d]), this "
                            "file has %lld; use the voices/*.bin files of Kokoro-82M v1.0",
                            path, PACK_BYTES, KK_VOICE_ROWS, KK_VOICE_DIM, (long long)sb.st_size);
    }
    kk_voice *v = malloc(sizeof *v);
    if (!v) {
        fclose(f);
        return kk_error_set(err, KK_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t got = fread(v->rows, 1, PACK_BYTES, f);
    fclose(f);
    if (got != PACK_BYTES) {
        free(v);
        return kk_error_set(err, KK_ERR_IO, "%s: short read (%zu of %zu bytes)", path, got,
                            PACK_BYTES);
    }
    if (!little_endian()) {
        uint32_t *w = (uint32_t *)v->rows;
        for (size_t i = 0; i < PACK_BYTES / 4; i++)
            w[i] = __builtin_bswap32(w[i]);
    }
    float *x = &v->rows[0][0];
    for (size_t i = 0; i < PACK_BYTES / 4; i++) {
        if (!isfinite(x[i])) {
            free(v);
            return kk_error_set(err, KK_ERR_INPUT,
                                "%s: value %zu (row %zu) is not a finite number; the voice pack "
                                "is corrupt",
                                path, i, i / KK_VOICE_DIM);
        }
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(v->id, sizeof v->id, "%.*s", (int)strcspn(base, "."), base);
    *out = v;
    return KK_OK;
}

void kk_voice_free(kk_voice *v) { free(v); }

const float *kk_voice_style(const kk_voice *v, int n_tokens, kk_error *err)
{
    if (n_tokens < 1 || n_tokens > KK_VOICE_ROWS) {
        kk_error_set(err, KK_ERR_ARG,
                     "voice %s: no style for %d phoneme tokens; an utterance must have 1 to %d "
                     "tokens (split longer text)",
                     v->id, n_tokens, KK_VOICE_ROWS);
        return NULL;
    }
    return v->rows[n_tokens - 1];
}

/* The map is kk_voice_lang (src/common), the one the phonemizer uses. */
const char *kk_voice_language(const char *id)
{
    const char *lang = kk_voice_lang(id);
    return lang ? lang : "unknown";
}

static int valid_id(const char *s, size_t n)
{
    if (n == 0 || n >= KK_VOICE_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

static int info_cmp(const void *a, const void *b)
{
    return strcmp(((const kk_voice_info *)a)->id, ((const kk_voice_info *)b)->id);
}

kk_status kk_voice_list(const char *dir, kk_voice_info **out, size_t *n, kk_error *err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot list voices: %s", dir, strerror(errno));
    size_t cap = 0;
    kk_voice_info *list = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".bin") || !valid_id(e->d_name, len - 4))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            kk_voice_info *nl = realloc(list, cap * sizeof *nl);
            if (!nl) {
                free(list);
                closedir(d);
                return kk_error_set(err, KK_ERR_NOMEM, "out of memory listing %s", dir);
            }
            list = nl;
        }
        kk_voice_info *vi = &list[(*n)++];
        snprintf(vi->id, sizeof vi->id, "%.*s", (int)(len - 4), e->d_name);
        vi->language = kk_voice_language(vi->id);
        vi->gender = vi->id[1] == 'f' || vi->id[1] == 'm' ? vi->id[1] : '?';
    }
    closedir(d);
    if (*n)
        qsort(list, *n, sizeof *list, info_cmp);
    *out = list;
    return KK_OK;
}

/* "not found" message: where we looked and what is there. */
static kk_status not_found(const char *dir, const char *id, const char *path, kk_error *err)
{
    char avail[600] = "";
    kk_voice_info *list = NULL;
    size_t n = 0;
    kk_error ignored;
    if (kk_voice_list(dir, &list, &n, &ignored) == KK_OK) {
        size_t used = 0;
        for (size_t i = 0; i < n && used < sizeof avail - 80; i++)
            used += (size_t)snprintf(avail + used, sizeof avail - used, "%s%s", i ? ", " : "",
                                     list[i].id);
        if (n && used >= sizeof avail - 80)
            snprintf(avail + used, sizeof avail - used, ", ... (%zu in all)", n);
        free(list);
    }
    return kk_error_set(err, KK_ERR_INPUT, "unknown voice '%s': looked for %s; available: %s",
                        id, path, avail[0] ? avail : "none (is the voices directory right?)");
}

kk_status kk_voice_load(const char *dir, const char *spec, kk_voice **out, kk_error *err)
{
    *out = NULL;
    if (!spec || !spec[0])
        return kk_error_set(err, KK_ERR_ARG, "empty voice name; use e.g. af_heart");
    kk_voice *acc = NULL;
    double total = 0;
    const char *p = spec;
    int count = 0;
    while (*p) {
        size_t len = strcspn(p, ",");
        const char *colon = memchr(p, ':', len);
        size_t idlen = colon ? (size_t)(colon - p) : len;
        while (idlen && p[idlen - 1] == ' ')
            idlen--;
        while (idlen && *p == ' ') {
            p++;
            idlen--;
            len--;
        }
        double wgt = 1.0;
        if (colon) {
            char num[64];
            size_t nl = len - (size_t)(colon + 1 - p);
            if (nl == 0 || nl >= sizeof num) {
                kk_voice_free(acc);
                return kk_error_set(err, KK_ERR_ARG,
                                    "voice spec '%s': missing weight after ':' (write e.g. "
                                    "af_heart:0.7,am_michael:0.3)",
                                    spec);
            }
            memcpy(num, colon + 1, nl);
            num[nl] = '\0';
            char *end;
            wgt = strtod(num, &end);
            while (*end == ' ')
                end++;
            if (*end || !(wgt > 0) || !isfinite(wgt)) {
                kk_voice_free(acc);
                return kk_error_set(err, KK_ERR_ARG,
                                    "voice spec '%s': weight '%s' is not a positive number",
                                    spec, num);
            }
        }
        char id[KK_VOICE_ID_MAX];
        if (!valid_id(p, idlen)) {
            kk_voice_free(acc);
            return kk_error_set(err, KK_ERR_ARG,
                                "voice spec '%s': '%.*s' is not a voice id (letters, digits, "
                                "'_' and '-' only, like af_heart)",
                                spec, (int)(idlen > 60 ? 60 : idlen), p);
        }
        memcpy(id, p, idlen);
        id[idlen] = '\0';
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.bin", dir, id);
        kk_voice *v;
        struct stat sb;
        if (stat(path, &sb) < 0) {
            kk_voice_free(acc);
            return not_found(dir, id, path, err);
        }
        kk_status st = kk_voice_load_file(path, &v, err);
        if (st != KK_OK) {
            kk_voice_free(acc);
            return st;
        }
        if (!acc) {
            acc = v;
            float *x = &acc->rows[0][0];
            for (size_t i = 0; i < PACK_BYTES / 4; i++)
                x[i] *= (float)wgt;
        } else {
            float *x = &acc->rows[0][0];
            const float *y = &v->rows[0][0];
            for (size_t i = 0; i < PACK_BYTES / 4; i++)
                x[i] += (float)wgt * y[i];
            kk_voice_free(v);
        }
        total += wgt;
        count++;
        p += len;
        if (*p == ',')
            p++;
    }
    if (!acc)
        return kk_error_set(err, KK_ERR_ARG, "voice spec '%s' names no voice", spec);
    if (count > 1 || total != 1.0) {
        float inv = (float)(1.0 / total);
        float *x = &acc->rows[0][0];
        for (size_t i = 0; i < PACK_BYTES / 4; i++)
            x[i] *= inv;
    }
    snprintf(acc->id, sizeof acc->id, "%s", spec);
    *out = acc;
    return KK_OK;
}
