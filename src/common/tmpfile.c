/* tmpfile.c - see tmpfile.h. */
#include "tmpfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int kk_tmpfile_create(const char *path, char **tmp)
{
    size_t n = strlen(path) + 32;
    char *name = malloc(n);
    *tmp = NULL;
    if (!name) {
        errno = ENOMEM;
        return -1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long seed = (unsigned long)ts.tv_nsec ^ (unsigned long)ts.tv_sec ^ (unsigned long)(uintptr_t)name ^
                         ((unsigned long)getpid() << 16);
    int fd = -1;
    for (int i = 0; fd < 0 && i < 100; i++) {
        snprintf(name, n, "%s.%06lx.tmp", path, (seed + (unsigned long)i * 7919UL) & 0xffffffUL);
        fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int e = errno;
        free(name);
        errno = e;
        return -1;
    }
    *tmp = name;
    return fd;
}

int kk_write_all(int fd, const void *data, size_t n)
{
    const unsigned char *p = data;
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            return -1;
        }
        p += k, n -= (size_t)k;
    }
    return 0;
}

kk_status kk_write_text_file(const char *path, const char *text, const char *what, kk_error *err)
{
    size_t n = strlen(text);
    char *tmp = NULL;
    int fd = kk_tmpfile_create(path, &tmp);
    int bad = fd < 0 || kk_write_all(fd, text, n) != 0 || ((!n || text[n - 1] != '\n') && kk_write_all(fd, "\n", 1));
    int e = errno;
    if (fd >= 0 && close(fd) != 0 && !bad)
        bad = 1, e = errno;
    if (!bad && rename(tmp, path) != 0)
        bad = 1, e = errno;
    if (bad && tmp)
        unlink(tmp);
    free(tmp);
    if (bad)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot write the %s: %s", path, what, strerror(e));
    return KK_OK;
}
