/*
 * kk_fs.h - file-system helpers the subsystems share (the cache, the weight
 * file's folder, the studio's data folder).
 */
#ifndef KK_FS_H
#define KK_FS_H

#include <stddef.h>

/* mkdir -p: makes path and any missing parents with mode (less the umask).
 * A directory that exists already is fine, even where mkdir itself would
 * answer EACCES or EROFS. Returns 0, or -1 with errno set (EINVAL for an
 * empty path, ENAMETOOLONG for one of cap bytes or more, ENOTDIR when a
 * component is a file) and, when failed is not NULL, the component that
 * could not be made copied into failed (cap bytes, NUL-terminated). */
int kk_mkdirs(const char *path, unsigned mode, char *failed, size_t cap);

#endif
