/*
 * wav.c - see wav.h. The temporary file (src/common/tmpfile.h) is handed
 * to libsndfile by descriptor.
 */
#include "wav.h"
#include "tmpfile.h"

#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct kk_wav_writer {
    SNDFILE *sf;
    int fd;
    char *path, *tmp;
    size_t frames;
};

kk_status kk_wav_open(kk_wav_writer **out, const char *path, int sample_rate, kk_wav_format format,
                      kk_error *err)
{
    *out = NULL;
    if (!path || !*path || !strcmp(path, "-"))
        return kk_error_set(err, KK_ERR_ARG, "a WAV file needs a file name (standard output cannot be rewound)");
    kk_wav_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    }
    w->fd = kk_tmpfile_create(path, &w->tmp);
    if (w->fd < 0) {
        kk_status st = kk_error_set(err, KK_ERR_IO, "%s: cannot create the output file: %s; check the directory "
                                    "exists and is writable", path, strerror(errno));
        free(w->path), free(w);
        return st;
    }
    SF_INFO info = {.samplerate = sample_rate, .channels = 1,
                    .format = SF_FORMAT_WAV | (format == KK_WAV_FLOAT32 ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_16)};
    w->sf = sf_open_fd(w->fd, SFM_WRITE, &info, 0);
    if (!w->sf) {
        kk_status st = kk_error_set(err, KK_ERR_IO, "%s: cannot start the WAV file: %s", path, sf_strerror(NULL));
        close(w->fd);
        unlink(w->tmp);
        free(w->path), free(w->tmp), free(w);
        return st;
    }
    /* float to integer conversion clips instead of wrapping around */
    sf_command(w->sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    *out = w;
    return KK_OK;
}

kk_status kk_wav_write(kk_wav_writer *w, const float *samples, size_t n, kk_error *err)
{
    if (n && sf_writef_float(w->sf, samples, (sf_count_t)n) != (sf_count_t)n)
        return kk_error_set(err, KK_ERR_IO, "%s: write failed: %s; check free space", w->path, sf_strerror(w->sf));
    w->frames += n;
    return KK_OK;
}

size_t kk_wav_frames(const kk_wav_writer *w) { return w->frames; }

static void release(kk_wav_writer *w)
{
    free(w->path), free(w->tmp), free(w);
}

kk_status kk_wav_commit(kk_wav_writer *w, kk_error *err)
{
    kk_status st = KK_OK;
    sf_write_sync(w->sf);
    int bad = sf_close(w->sf) != 0;
    bad |= fsync(w->fd) != 0;
    bad |= close(w->fd) != 0;
    if (bad)
        st = kk_error_set(err, KK_ERR_IO, "%s: write failed: %s; check free space", w->path, strerror(errno));
    else if (rename(w->tmp, w->path) != 0)
        st = kk_error_set(err, KK_ERR_IO, "%s: cannot move the finished file into place: %s", w->path,
                          strerror(errno));
    if (st != KK_OK)
        unlink(w->tmp);
    release(w);
    return st;
}

void kk_wav_abort(kk_wav_writer *w)
{
    if (!w)
        return;
    sf_close(w->sf);
    close(w->fd);
    unlink(w->tmp);
    release(w);
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
