/* kk_fs.c - see kk_fs.h. */
#include "kk_fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int kk_mkdirs(const char *path, unsigned mode, char *failed, size_t cap)
{
    if (failed && cap)
        failed[0] = '\0';
    size_t n = path ? strlen(path) : 0;
    if (!n) {
        errno = EINVAL;
        return -1;
    }
    char *p = malloc(n + 1);
    if (!p)
        return -1;
    memcpy(p, path, n + 1);
    int rc = 0;
    for (size_t i = 1; i <= n && rc == 0; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        if (p[i - 1] == '/')
            continue; /* "a//b" */
        char saved = p[i];
        p[i] = '\0';
        /* An existing directory may still answer EACCES or EROFS to mkdir,
         * so what counts is whether it is there afterwards. */
        if (mkdir(p, (mode_t)mode) != 0) {
            int e = errno == EEXIST ? ENOTDIR : errno;
            if (!is_dir(p)) {
                if (failed && cap) {
                    size_t l = strlen(p) < cap ? strlen(p) : cap - 1;
                    memcpy(failed, p, l);
                    failed[l] = '\0';
                }
                errno = e;
                rc = -1;
            }
        }
        p[i] = saved;
    }
    free(p);
    return rc;
}
