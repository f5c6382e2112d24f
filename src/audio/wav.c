/*
 * wav.c - see wav.h. The temporary file (src/common/tmpfile.h) is handed
 * to libsndfile by descriptor.
 */
#include "wav.h"
#include "tmpfile.h"

#include <errno.h>
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
