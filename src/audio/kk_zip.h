/*
 * kk_zip.h - a zip archive of finished files (the studio's per-speaker stems:
 * one full-length WAV per speaker in one download).
 *
 * Entries are stored, not compressed: speech WAVs shrink little under
 * deflate and a stored entry can be read in place. Through libzip, which
 * writes zip64 records where a size or offset passes 4 GiB (a long film's
 * stems) and writes the archive to a temporary file beside the target,
 * renamed over it only when complete: a failure leaves no archive.
 *
 * Layer: src/audio (it is an export format); calls libzip and src/common.
 */
#ifndef KK_ZIP_H
#define KK_ZIP_H

#include <stddef.h>

#include "kk_error.h"

/* Writes the archive at path holding the n files at paths[i], named
 * names[i] inside (UTF-8; a '/' makes folders). The files are read while
 * the archive is written and are left as they are. KK_ERR_ARG for n == 0,
 * an empty name or one given twice; KK_ERR_IO naming the file (or the
 * archive) and what libzip said, with nothing left at path. */
kk_status kk_zip_files(const char *path, const char *const *names, const char *const *paths, size_t n,
                       kk_error *err);

#endif
