/*
 * wav.c - see wav.h. The file writer is export.c's kk_audio_writer in one
 * of its WAV formats, so that audio files are written in one place (the
 * temporary file, libsndfile, the sync and the rename); this adds the
 * frame count. A stream to a pipe (kk_wav_open_stream) has its header
 * written here and its samples converted by libsndfile as raw PCM through
 * virtual I/O, the same conversion as the files'. The in-memory WAVs are written here by hand: 44 bytes of
 * header need no library.
 */
#include "wav.h"
#include "export.h"
#include "tmpfile.h"

#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct kk_wav_writer {
    kk_audio_writer *w; /* a file; NULL for a stream */
    size_t frames;
    /* a stream (kk_wav_open_stream): libsndfile converts to raw 16-bit
     * PCM, the virtual I/O below writes it to fd */
    SNDFILE *sf;
    int fd;
    sf_count_t pos; /* bytes written to fd */
    int write_errno; /* the first failed write's errno; 0: none */
};

/* ---- the stream's virtual I/O: a file that only grows, written to fd ---- */

static sf_count_t vio_len(void *user) { return ((kk_wav_writer *)user)->pos; }
static sf_count_t vio_tell(void *user) { return ((kk_wav_writer *)user)->pos; }

static sf_count_t vio_seek(sf_count_t offset, int whence, void *user)
{
    kk_wav_writer *w = user;
    sf_count_t to = whence == SEEK_SET ? offset : offset + w->pos; /* SEEK_CUR, SEEK_END: the same here */
    return to == w->pos ? w->pos : -1; /* a pipe cannot go back */
}

static sf_count_t vio_read(void *ptr, sf_count_t count, void *user)
{
    (void)ptr, (void)count, (void)user;
    return 0;
}

static sf_count_t vio_write(const void *ptr, sf_count_t count, void *user)
{
    kk_wav_writer *w = user;
    if (w->write_errno)
        return 0;
    if (kk_write_all(w->fd, ptr, (size_t)count) != 0) { /* short writes and EINTR retried */
        w->write_errno = errno;
        return 0;
    }
    w->pos += count;
    return count;
}

/* The 44-byte header of a mono 16-bit PCM WAV at sample_rate: RIFF with
 * riff_len, fmt, data with data_len (0xFFFFFFFF for both: a stream of
 * unknown length, as FFmpeg writes to a pipe). Little-endian, as x86 and
 * ARM Linux are. */
static void wav_header(unsigned char h[44], int sample_rate, uint32_t riff_len, uint32_t data_len)
{
    uint32_t fmt_len = 16, rate = (uint32_t)sample_rate, byte_rate = rate * 2;
    uint16_t fmt = 1, ch = 1, align = 2, bits = 16;
    unsigned char *p = h;
#define PUT(v) (memcpy(p, &(v), sizeof(v)), p += sizeof(v))
    memcpy(p, "RIFF", 4), p += 4;
    PUT(riff_len);
    memcpy(p, "WAVEfmt ", 8), p += 8;
    PUT(fmt_len);
    PUT(fmt);
    PUT(ch);
    PUT(rate);
    PUT(byte_rate);
    PUT(align);
    PUT(bits);
    memcpy(p, "data", 4), p += 4;
    PUT(data_len);
#undef PUT
}

kk_status kk_wav_open_stream(kk_wav_writer **out, int fd, int sample_rate, kk_error *err)
{
    *out = NULL;
    if (sample_rate < 1000 || sample_rate > 384000)
        return kk_error_set(err, KK_ERR_ARG, "a WAV stream at %d Hz: the rate must be 1000 .. 384000", sample_rate);
    if (fd < 0)
        return kk_error_set(err, KK_ERR_ARG, "a WAV stream needs an open file descriptor");
    kk_wav_writer *w = calloc(1, sizeof *w);
    if (!w)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    w->fd = fd;
    /* the header: RIFF, fmt (PCM, mono, 16-bit), data; sizes unknown */
    unsigned char h[44];
    wav_header(h, sample_rate, 0xFFFFFFFFu, 0xFFFFFFFFu);
    if (kk_write_all(fd, h, sizeof h) != 0) {
        int e = errno;
        free(w);
        return kk_error_set(err, KK_ERR_IO, "cannot write the WAV stream's header: %s", strerror(e));
    }
    SF_VIRTUAL_IO vio = {.get_filelen = vio_len, .seek = vio_seek, .read = vio_read, .write = vio_write,
                         .tell = vio_tell};
    SF_INFO info = {.samplerate = sample_rate, .channels = 1,
                    .format = SF_FORMAT_RAW | SF_FORMAT_PCM_16 | SF_ENDIAN_LITTLE};
    w->sf = sf_open_virtual(&vio, SFM_WRITE, &info, w);
    if (!w->sf) {
        free(w);
        return kk_error_set(err, KK_ERR_IO, "cannot start the WAV stream: %s", sf_strerror(NULL));
    }
    /* the same conversion as the files' (export.c): clipped, not wrapped */
    sf_command(w->sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    *out = w;
    return KK_OK;
}

static kk_status stream_write(kk_wav_writer *w, const float *samples, size_t n, kk_error *err)
{
    if (w->write_errno)
        return kk_error_set(err, KK_ERR_IO, "the WAV stream stopped: %s", strerror(w->write_errno));
    if (sf_writef_float(w->sf, samples, (sf_count_t)n) != (sf_count_t)n || w->write_errno)
        return kk_error_set(err, KK_ERR_IO, "writing the WAV stream failed: %s (was the reader closed?)",
                            w->write_errno ? strerror(w->write_errno) : sf_strerror(w->sf));
    return KK_OK;
}

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
    kk_status st = w->w ? kk_audio_writer_write(w->w, samples, n, err) : stream_write(w, samples, n, err);
    if (st == KK_OK)
        w->frames += n;
    return st;
}

size_t kk_wav_frames(const kk_wav_writer *w) { return w->frames; }

kk_status kk_wav_commit(kk_wav_writer *w, kk_error *err)
{
    kk_status st = KK_OK;
    if (w->w)
        st = kk_audio_writer_commit(w->w, err);
    else {
        sf_close(w->sf); /* raw PCM: nothing held back, nothing to rewrite */
        if (w->write_errno)
            st = kk_error_set(err, KK_ERR_IO, "the WAV stream stopped: %s", strerror(w->write_errno));
    }
    free(w);
    return st;
}

void kk_wav_abort(kk_wav_writer *w)
{
    if (!w)
        return;
    if (w->w)
        kk_audio_writer_abort(w->w);
    else
        sf_close(w->sf);
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
    wav_header(w, sample_rate, (uint32_t)(36 + data), (uint32_t)data);
    unsigned char *p = w + 44;
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
