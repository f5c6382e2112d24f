/*
 * track.h - the samples of a rendered timeline, and of the segments waiting
 * to be placed on it: in memory while they are small, in an unlinked
 * temporary file past a size, so that a ten-hour audiobook renders in
 * memory that does not grow with its length. The file has no name (it is
 * unlinked at once: O_TMPFILE where the file system has it), so nothing is
 * left behind whatever happens to the process; its pages are the kernel's
 * page cache, not our heap.
 *
 * Threads: one kk_track is used by one thread at a time (render.c holds
 * its lock around appends from the workers).
 */
#ifndef KK_TRACK_H
#define KK_TRACK_H

#include <stddef.h>
#include <stdint.h>

#include "kk_error.h"
#include "sample_io.h"

typedef struct kk_track kk_track;

/* A track of n samples, all zero: in memory when n * 4 bytes <= memory_limit
 * or memory_limit is 0, else in a temporary file in dir (NULL: $TMPDIR, else
 * /tmp) that holds no blocks until written (sparse). KK_ERR_NOMEM when the
 * memory cannot be had; KK_ERR_IO naming the directory when no file can be
 * made there (what to do: free space or set TMPDIR). */
kk_status kk_track_open(kk_track **out, uint64_t n, size_t memory_limit, const char *dir, kk_error *err);

/* A growing store in a temporary file (the segments' audio set aside until
 * placement): length 0, appended to with kk_track_append. */
kk_status kk_track_open_spool(kk_track **out, const char *dir, kk_error *err);

void kk_track_free(kk_track *t);

uint64_t kk_track_length(const kk_track *t);
/* 1 when the samples are in a file. */
int kk_track_on_disk(const kk_track *t);

/* dst[0, n) = track[at, at + n); KK_ERR_ARG past the end, KK_ERR_IO on a
 * read error. */
kk_status kk_track_read(const kk_track *t, uint64_t at, float *dst, size_t n, kk_error *err);
/* track[at, at + n) = src[0, n) (within the length). KK_ERR_IO on a write
 * error; ENOSPC says the disk is full and where. */
kk_status kk_track_write(kk_track *t, uint64_t at, const float *src, size_t n, kk_error *err);
/* track[at + k] += gain[k] * src[k] for k < n, gain NULL meaning 1 (the
 * same float arithmetic in memory and on disk). */
kk_status kk_track_mix(kk_track *t, uint64_t at, const float *src, const float *gain, size_t n, kk_error *err);
/* Appends n samples at the end (a spool); *at: where they went. */
kk_status kk_track_append(kk_track *t, const float *src, size_t n, uint64_t *at, kk_error *err);

/* The samples of a track in memory, handed over to the caller (free()
 * them), the track then freed; NULL for a track on disk (left as it is). */
float *kk_track_take_samples(kk_track *t);

/* The track as a kk_sample_io (valid while t lives). */
kk_sample_io kk_track_io(kk_track *t);

#endif
