/*
 * sample_io.h - a track of mono float samples read and written through
 * callbacks, so that what works on a whole track (loudness normalisation,
 * exports) also works on one that is not held in memory (a long audiobook's
 * timeline in a temporary file, src/render/track.h). One small interface,
 * shared by dsp.h and export.h.
 */
#ifndef KK_SAMPLE_IO_H
#define KK_SAMPLE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "kk_error.h"

/* read: n samples at offset `at` into dst; write: n samples from src at
 * `at`. Each returns KK_OK or an error it has set in err. Callers keep
 * reads within the track and, for the users in this folder, read and write
 * in order (a write only after the reads of its range). write may be NULL
 * for a track that is only read. */
typedef struct kk_sample_io {
    kk_status (*read)(void *user, uint64_t at, float *dst, size_t n, kk_error *err);
    kk_status (*write)(void *user, uint64_t at, const float *src, size_t n, kk_error *err);
    void *user;
} kk_sample_io;

/* The io of samples in memory (reads and writes are memcpy; they cannot
 * fail). samples must outlive the io. */
kk_sample_io kk_sample_io_memory(float *samples);

#endif
