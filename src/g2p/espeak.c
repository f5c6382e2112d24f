/*
 * espeak.c - the only place that calls espeak-ng.
 *
 * espeak-ng is a library that forces global state on us: one current voice,
 * static result buffers, no context object, not thread-safe. So every call
 * goes through g_lock, espeak-ng is initialised once per process (lazily, on
 * the first call) and never terminated, and the voice is switched only when
 * a different language is asked for. Nothing else in the project may call
 * espeak-ng directly.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <espeak-ng/speak_lib.h>

#include "g2p_internal.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_state;          /* 0 not tried, 1 ready, -1 failed */
static char g_voice[64];     /* the voice espeak-ng has now */

/* IPA (bit 1), with bits 8-23 used as the tie character (bit 7): '^'. */
#define KK_PHONEME_MODE (0x02 | 0x80 | ('^' << 8))

static kk_status ensure_ready(kk_error *err)
{
    if (g_state == 0) {
        int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, NULL,
                                     espeakINITIALIZE_DONT_EXIT);
        g_state = rate > 0 ? 1 : -1;
    }
    if (g_state < 0)
        return kk_error_set(err, KK_ERR_IO,
                            "g2p: espeak-ng could not be initialised (its data files were not "
                            "found); install espeak-ng-data or set ESPEAK_DATA_PATH to the folder "
                            "that holds espeak-ng-data");
    return KK_OK;
}

static kk_status select_voice(const char *const *voices, kk_error *err)
{
    for (size_t i = 0; voices[i]; i++)
        if (strcmp(g_voice, voices[i]) == 0)
            return KK_OK;
    for (size_t i = 0; voices[i]; i++) {
        if (espeak_SetVoiceByName(voices[i]) == EE_OK) {
            snprintf(g_voice, sizeof g_voice, "%s", voices[i]);
            return KK_OK;
        }
    }
    g_voice[0] = '\0';
    return kk_error_set(err, KK_ERR_UNSUPPORTED,
                        "g2p: espeak-ng has no voice '%s' (tried %s%s); install a complete "
                        "espeak-ng-data package or choose another language",
                        voices[0], voices[0], voices[1] ? " and alternatives" : "");
}

/* Appends s without language-switch flags like "(en)" / "(^e^n)". */
static int append_clean(kk_buf *out, const char *s)
{
    while (*s) {
        if (*s == '(') {
            const char *close = strchr(s, ')');
            if (close) {
                s = close + 1;
                continue;
            }
        }
        if (kk_buf_putc(out, *s) < 0)
            return -1;
        s++;
    }
    return 0;
}

kk_status kk_espeak_ipa(const char *const *voices, const char *text, kk_buf *out,
                        kk_error *err)
{
    kk_status st;
    pthread_mutex_lock(&g_lock);
    st = ensure_ready(err);
    if (st == KK_OK)
        st = select_voice(voices, err);
    if (st == KK_OK) {
        const void *p = text;
        int first = 1;
        while (p && *(const char *)p) {
            const char *ph = espeak_TextToPhonemes(&p, espeakCHARS_UTF8, KK_PHONEME_MODE);
            if (!ph)
                break;
            while (*ph == ' ')
                ph++;
            if (!*ph)
                continue;
            if ((!first && kk_buf_putc(out, ' ') < 0) || append_clean(out, ph) < 0) {
                st = kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory while phonemizing");
                break;
            }
            first = 0;
        }
        /* espeak may leave trailing spaces */
        while (out->len && out->data[out->len - 1] == ' ')
            out->data[--out->len] = '\0';
    }
    pthread_mutex_unlock(&g_lock);
    return st;
}
