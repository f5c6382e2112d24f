/*
 * wav.h - writing audio files atomically: samples go to a temporary file
 * beside the target, which is renamed over it only when everything was
 * written, so an interrupted or failed write never leaves a partial file
 * (and an existing file is replaced only by a complete one).
 *
 * Mono WAV, 16-bit PCM or 32-bit float, at 1000 .. 384000 Hz: the
 * streaming writer of `kokoro say` (also to a pipe, kk_wav_open_stream), a thin layer over export.h's
 * kk_audio_writer (which writes every audio file, WAV included, through
 * libsndfile; use it for other formats and for resampling). Also the WAV
 * in memory (kk_wav_memory), for audio served without a file.
 */
#ifndef KK_WAV_H
#define KK_WAV_H

#include <stddef.h>
#include <stdint.h>

#include "kk_error.h"

typedef enum kk_wav_format {
    KK_WAV_PCM16 = 0, /* 16-bit integer, samples clipped to [-1, 1] */
    KK_WAV_FLOAT32,
} kk_wav_format;

typedef struct kk_wav_writer kk_wav_writer;

/* Opens a mono writer at sample_rate (1000 .. 384000 Hz, else KK_ERR_ARG);
 * path "-" is not supported (a WAV header needs a seekable file): KK_ERR_ARG.
 * KK_ERR_IO when the file cannot be made. */
kk_status kk_wav_open(kk_wav_writer **out, const char *path, int sample_rate, kk_wav_format format,
                      kk_error *err);
/* Opens a mono 16-bit writer that streams to fd (a pipe, standard output:
 * `kokoro say -o - | aplay`), for audio whose length is not known when it
 * starts: the header's RIFF and data sizes are 0xFFFFFFFF, the
 * unknown-length convention that FFmpeg writes to a pipe and that aplay and
 * FFmpeg read to the end of the stream. Samples are converted as in
 * kk_wav_open's files (libsndfile, clipped), so a stream holds the same
 * samples as the file. Each kk_wav_write reaches fd before it returns;
 * commit checks that everything was written (fd is not closed), abort just
 * stops (what was written stays written). fd is borrowed. */
kk_status kk_wav_open_stream(kk_wav_writer **out, int fd, int sample_rate, kk_error *err);
/* Appends n samples; after a failed write, commit fails too (abort). */
kk_status kk_wav_write(kk_wav_writer *w, const float *samples, size_t n, kk_error *err);
/* Finishes the file and renames it into place; frees w. */
kk_status kk_wav_commit(kk_wav_writer *w, kk_error *err);
/* Removes the temporary file; frees w. */
void kk_wav_abort(kk_wav_writer *w);
/* Samples written so far. */
size_t kk_wav_frames(const kk_wav_writer *w);

/* One float sample as 16-bit PCM: scaled by 32767, rounded, clipped; NaN
 * is 0. (The one conversion the in-memory WAVs and the studio's audio use.) */
int16_t kk_wav_pcm16(float x);

/* A whole mono 16-bit WAV in memory (44-byte header + samples), malloc'd,
 * its size in *len; NULL when memory runs out. For audio served from
 * memory (the studio's segments and previews); files go through
 * kk_wav_open or the exporters. */
char *kk_wav_memory_pcm16(const int16_t *pcm, size_t n, int sample_rate, size_t *len);
char *kk_wav_memory(const float *x, size_t n, int sample_rate, size_t *len);

#endif
