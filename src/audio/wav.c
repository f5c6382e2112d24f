/*
 * wav.c - see wav.h. The file writer is export.c's kk_audio_writer in one
 * of its WAV formats, so that audio files are written in one place (the
 * temporary file, libsndfile, the sync and the rename); this adds the
 * frame count. The in-memory WAVs are written here by hand: 44 bytes of
 * header need no library.
 */
#include "wav.h"
#include "export.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct kk_wav_writer {
    kk_audio_writer *w;
    size_t frames;
};

kk_status kk_wav_open(kk_wav_writer **out, const char *path, int sample_rate, kk_wav_format format,
                      kk_error *err)
{
    *out = NULL;
    if (!path || !*path || !strcmp(path, "-"))
        return kk_error_set(err, KK_ERR_ARG, "a WAV file needs a file name (standard output cannot be rewound)");
    kk_wav_writer *w = calloc(1, sizeof *w);
    if (!w)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    kk_export_params ep = kk_export_default_params();
    ep.format = format == KK_WAV_FLOAT32 ? KK_EXPORT_WAV32 : KK_EXPORT_WAV16;
    kk_status st = kk_audio_writer_open(&w->w, path, sample_rate, &ep, err);
    if (st != KK_OK) {
        free(w);
        return st;
    }
    *out = w;
    return KK_OK;
}

kk_status kk_wav_write(kk_wav_writer *w, const float *samples, size_t n, kk_error *err)
{
    kk_status st = kk_audio_writer_write(w->w, samples, n, err);
    if (st == KK_OK)
        w->frames += n;
    return st;
}

size_t kk_wav_frames(const kk_wav_writer *w) { return w->frames; }

kk_status kk_wav_commit(kk_wav_writer *w, kk_error *err)
{
    kk_status st = kk_audio_writer_commit(w->w, err);
    free(w);
    return st;
}

void kk_wav_abort(kk_wav_writer *w)
{
    if (!w)
        return;
    kk_audio_writer_abort(w->w);
    free(w);
}

int16_t kk_wav_pcm16(float x)
{
    float v = x * 32767.0f;
    if (!(v > -32768.0f)) /* NaN too */
        return v != v ? 0 : -32768;
    if (v > 32767.0f)
        return 32767;
    return (int16_t)lrintf(v);
}

char *kk_wav_memory_pcm16(const int16_t *pcm, size_t n, int sample_rate, size_t *len)
{
    if (n > (UINT32_MAX - 44) / 2)
        return NULL; /* RIFF sizes are 32-bit */
    size_t data = n * 2;
    unsigned char *w = malloc(44 + data);
    if (!w)
        return NULL;
    uint32_t rate = (uint32_t)sample_rate, byte_rate = rate * 2, riff = (uint32_t)(36 + data), dlen = (uint32_t)data;
    uint16_t fmt = 1, ch = 1, align = 2, bits = 16;
    uint32_t fmt_len = 16;
#define PUT(v) (memcpy(p, &(v), sizeof(v)), p += sizeof(v))
    unsigned char *p = w;
    memcpy(p, "RIFF", 4), p += 4;
    PUT(riff);
    memcpy(p, "WAVEfmt ", 8), p += 8;
    PUT(fmt_len);
    PUT(fmt);
    PUT(ch);
    PUT(rate);
    PUT(byte_rate);
    PUT(align);
    PUT(bits);
    memcpy(p, "data", 4), p += 4;
    PUT(dlen);
#undef PUT
    /* little-endian samples (x86 and ARM Linux are) */
    if (data)
        memcpy(p, pcm, data);
    *len = 44 + data;
    return (char *)w;
}

char *kk_wav_memory(const float *x, size_t n, int sample_rate, size_t *len)
{
    int16_t *pcm = malloc((n ? n : 1) * sizeof *pcm);
    if (!pcm)
        return NULL;
    for (size_t i = 0; i < n; i++)
        pcm[i] = kk_wav_pcm16(x[i]);
    char *w = kk_wav_memory_pcm16(pcm, n, sample_rate, len);
    free(pcm);
    return w;
}
