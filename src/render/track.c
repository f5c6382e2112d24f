/*
 * track.c - see track.h. A track is a float array, either malloc'd or the
 * contents of an unlinked file read and written with pread/pwrite (native
 * byte order: the file never leaves this process).
 */
#define _GNU_SOURCE /* O_TMPFILE */
#include "track.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct kk_track {
    uint64_t n;
    float *mem; /* NULL: on disk */
    int fd;
    char dir[256]; /* for messages */
};

static const char *tmp_dir(const char *dir)
{
    if (dir && *dir)
        return dir;
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

/* An unlinked file in dir: O_TMPFILE, or a named one removed at once where
 * the file system cannot (some network file systems). -1 with errno. */
static int unnamed_file(const char *dir)
{
#ifdef O_TMPFILE
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd;
#endif
    char path[4096];
    int k = snprintf(path, sizeof path, "%s/kokoro-track-XXXXXX", dir);
    if (k < 0 || (size_t)k >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd2 = mkostemp(path, O_CLOEXEC);
    if (fd2 >= 0)
        unlink(path);
    return fd2;
}

static kk_status open_file(kk_track *t, const char *dir, kk_error *err)
{
    const char *d = tmp_dir(dir);
    snprintf(t->dir, sizeof t->dir, "%s", d); /* for messages only: a long name is shortened there */
    t->fd = unnamed_file(d);
    if (t->fd < 0)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot make a temporary file for the track: %s (free space there or "
                            "set TMPDIR to a directory with room)", d, strerror(errno));
    return KK_OK;
}

kk_status kk_track_open(kk_track **out, uint64_t n, size_t memory_limit, const char *dir, kk_error *err)
{
    *out = NULL;
    if (n > (UINT64_MAX / 4) / 2)
        return kk_error_set(err, KK_ERR_ARG, "a track of %llu samples is too long", (unsigned long long)n);
    kk_track *t = calloc(1, sizeof *t);
    if (!t)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    t->n = n, t->fd = -1;
    if (memory_limit == 0 || n * sizeof(float) <= memory_limit) {
        if (n > SIZE_MAX / sizeof(float) - 1 || !(t->mem = calloc((size_t)n + 1, sizeof(float)))) {
            free(t);
            return kk_error_set(err, KK_ERR_NOMEM, "out of memory for a track of %llu samples (%.1f GiB)", (unsigned long long)n, (double)n * sizeof(float) / (1 << 30));
        }
    } else {
        kk_status st = open_file(t, dir, err);
        if (st == KK_OK && ftruncate(t->fd, (off_t)(n * sizeof(float))) != 0)
            st = kk_error_set(err, KK_ERR_IO, "%s: cannot size the temporary track file to %llu bytes: %s", t->dir,
                              (unsigned long long)(n * sizeof(float)), strerror(errno));
        if (st != KK_OK) {
            kk_track_free(t);
            return st;
        }
    }
    *out = t;
    return KK_OK;
}

kk_status kk_track_open_spool(kk_track **out, const char *dir, kk_error *err)
{
    *out = NULL;
    kk_track *t = calloc(1, sizeof *t);
    if (!t)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    kk_status st = open_file(t, dir, err);
    if (st != KK_OK) {
        free(t);
        return st;
    }
    *out = t;
    return KK_OK;
}

void kk_track_free(kk_track *t)
{
    if (!t)
        return;
    if (t->fd >= 0)
        close(t->fd);
    free(t->mem);
    free(t);
}

uint64_t kk_track_length(const kk_track *t) { return t->n; }
int kk_track_on_disk(const kk_track *t) { return t->mem == NULL; }

static kk_status range(const kk_track *t, uint64_t at, size_t n, const char *what, kk_error *err)
{
    if (at > t->n || n > t->n - at)
        return kk_error_set(err, KK_ERR_ARG, "track %s of %zu samples at %llu passes its end (%llu)", what, n,
                            (unsigned long long)at, (unsigned long long)t->n);
    return KK_OK;
}

static kk_status pread_all(const kk_track *t, uint64_t at, float *dst, size_t n, kk_error *err)
{
    char *p = (char *)dst;
    size_t left = n * sizeof(float);
    off_t off = (off_t)(at * sizeof(float));
    while (left) {
        ssize_t k = pread(t->fd, p, left, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return kk_error_set(err, KK_ERR_IO, "%s: cannot read the temporary track file: %s", t->dir,
                                k < 0 ? strerror(errno) : "it is shorter than written");
        p += k, left -= (size_t)k, off += k;
    }
    return KK_OK;
}

static kk_status pwrite_all(kk_track *t, uint64_t at, const float *src, size_t n, kk_error *err)
{
    const char *p = (const char *)src;
    size_t left = n * sizeof(float);
    off_t off = (off_t)(at * sizeof(float));
    while (left) {
        ssize_t k = pwrite(t->fd, p, left, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int e = k < 0 ? errno : EIO;
            return kk_error_set(err, KK_ERR_IO, "%s: cannot write the temporary track file: %s%s", t->dir,
                                strerror(e), e == ENOSPC || e == EDQUOT ? " (free space there or set TMPDIR)" : "");
        }
        p += k, left -= (size_t)k, off += k;
    }
    return KK_OK;
}

kk_status kk_track_read(const kk_track *t, uint64_t at, float *dst, size_t n, kk_error *err)
{
    kk_status st = range(t, at, n, "read", err);
    if (st != KK_OK || !n)
        return st;
    if (t->mem) {
        memcpy(dst, t->mem + at, n * sizeof *dst);
        return KK_OK;
    }
    return pread_all(t, at, dst, n, err);
}

kk_status kk_track_write(kk_track *t, uint64_t at, const float *src, size_t n, kk_error *err)
{
    kk_status st = range(t, at, n, "write", err);
    if (st != KK_OK || !n)
        return st;
    if (t->mem) {
        memcpy(t->mem + at, src, n * sizeof *src);
        return KK_OK;
    }
    return pwrite_all(t, at, src, n, err);
}

#define MIX_BLOCK 16384

kk_status kk_track_mix(kk_track *t, uint64_t at, const float *src, const float *gain, size_t n, kk_error *err)
{
    kk_status st = range(t, at, n, "mix", err);
    if (st != KK_OK || !n)
        return st;
    if (t->mem) {
        float *dst = t->mem + at;
        for (size_t k = 0; k < n; k++)
            dst[k] += (gain ? gain[k] : 1.0f) * src[k];
        return KK_OK;
    }
    float *buf = malloc(MIX_BLOCK * sizeof *buf);
    if (!buf)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == KK_OK && i < n; i += MIX_BLOCK) {
        size_t m = n - i < MIX_BLOCK ? n - i : MIX_BLOCK;
        if ((st = pread_all(t, at + i, buf, m, err)) != KK_OK)
            break;
        for (size_t k = 0; k < m; k++)
            buf[k] += (gain ? gain[i + k] : 1.0f) * src[i + k];
        st = pwrite_all(t, at + i, buf, m, err);
    }
    free(buf);
    return st;
}

kk_status kk_track_append(kk_track *t, const float *src, size_t n, uint64_t *at, kk_error *err)
{
    if (t->mem)
        return kk_error_set(err, KK_ERR_ARG, "kk_track_append: not a spool");
    *at = t->n;
    kk_status st = n ? pwrite_all(t, t->n, src, n, err) : KK_OK;
    if (st == KK_OK)
        t->n += n;
    return st;
}

float *kk_track_take_samples(kk_track *t)
{
    if (!t || !t->mem)
        return NULL;
    float *s = t->mem;
    t->mem = NULL;
    kk_track_free(t);
    return s;
}

static kk_status io_read(void *user, uint64_t at, float *dst, size_t n, kk_error *err)
{
    return kk_track_read(user, at, dst, n, err);
}

static kk_status io_write(void *user, uint64_t at, const float *src, size_t n, kk_error *err)
{
    return kk_track_write(user, at, src, n, err);
}

kk_sample_io kk_track_io(kk_track *t) { return (kk_sample_io){.read = io_read, .write = io_write, .user = t}; }
