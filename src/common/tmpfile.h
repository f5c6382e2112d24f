/*
 * tmpfile.h - the temporary file behind every atomic write: created beside
 * the target (so the final rename stays on one file system) under a fresh
 * name with O_EXCL (no clash with another writer), mode 0666 less the
 * user's umask like any file we write.
 */
#ifndef KK_TMPFILE_H
#define KK_TMPFILE_H

#include <stddef.h>

#include "kk_error.h"

/* Creates "<path>.<random>.tmp" for writing. Returns the descriptor and sets
 * *tmp to its malloc'd name, or returns -1 with errno set (*tmp NULL). */
int kk_tmpfile_create(const char *path, char **tmp);

/* Writes all n bytes (retrying short writes and EINTR): 0, or -1 with errno
 * set (EIO for a write that wrote nothing). */
int kk_write_all(int fd, const void *data, size_t n);

/* Writes text to path atomically (a temporary file beside it, renamed over
 * it when complete), ending it with a newline when it has none. On failure
 * nothing is left and err says "PATH: cannot write the WHAT: REASON". */
kk_status kk_write_text_file(const char *path, const char *text, const char *what, kk_error *err);

#endif
