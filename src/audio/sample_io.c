/*
 * sample_io.c - see sample_io.h: the in-memory kk_sample_io.
 */
#include "sample_io.h"

#include <string.h>

static kk_status mem_read(void *user, uint64_t at, float *dst, size_t n, kk_error *err)
{
    (void)err;
    if (n)
        memcpy(dst, (const float *)user + at, n * sizeof *dst);
    return KK_OK;
}

static kk_status mem_write(void *user, uint64_t at, const float *src, size_t n, kk_error *err)
{
    (void)err;
    if (n)
        memcpy((float *)user + at, src, n * sizeof *src);
    return KK_OK;
}

kk_sample_io kk_sample_io_memory(float *samples)
{
    return (kk_sample_io){.read = mem_read, .write = mem_write, .user = samples};
}
