/*
 * kk_testutil.h - what the test programs share (tests only; no library code
 * includes it): where scratch files go, where the real model is, whole files
 * in and out. Each folder's test helpers (src/g2p/tests/helpers.c,
 * src/model/tests/util.c, src/parsers/tests/helpers.c,
 * src/cli/tests/cli_helpers.c) wrap these with the names and the cmocka
 * assertions their tests use.
 *
 * Header-only (static functions), so that a test program needs no extra
 * library to link: the test helpers include it (once per program).
 * The model folder's fallback is relative to KK_SOURCE_DIR (the project
 * root) when the including file is compiled with it, else to the working
 * directory.
 */
#ifndef KK_TESTUTIL_H
#define KK_TESTUTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#ifndef KK_SOURCE_DIR
#define KK_SOURCE_DIR "."
#endif

/* The test's scratch folder: $TEST_TMPDIR (CTest sets it per test), else
 * /tmp. */
static inline const char *kk_test_tmpdir(void)
{
    const char *d = getenv("TEST_TMPDIR");
    return d && d[0] ? d : "/tmp";
}

/* A path for a scratch file in kk_test_tmpdir(), in one of eight rotating
 * static buffers: a call's result stays valid through the next seven calls,
 * so several paths can be passed to one call. */
static inline const char *kk_test_path(const char *name)
{
    static char bufs[8][4096];
    static unsigned next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", kk_test_tmpdir(), name);
    return b;
}

/* The real model folder: $KOKORO_MODEL_DIR, else
 * KK_SOURCE_DIR/../shared/models/kokoro-82m-v1.0 (beside the project, as in
 * CI). NULL when file (e.g. "config.json", "model_q4_w16.onnx") is not in
 * it, so that a test can skip. A static buffer. */
static inline const char *kk_test_model_dir(const char *file)
{
    static char dir[4096];
    const char *env = getenv("KOKORO_MODEL_DIR");
    if (env && env[0])
        snprintf(dir, sizeof dir, "%s", env);
    else
        snprintf(dir, sizeof dir, "%s/../shared/models/kokoro-82m-v1.0", KK_SOURCE_DIR);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    struct stat st;
    return stat(path, &st) == 0 ? dir : NULL;
}

/* Writes len bytes of data to path (created or truncated). 0, or -1 when
 * the file cannot be opened, written or closed. */
static inline int kk_test_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int bad = fwrite(data, 1, len, f) != len;
    return fclose(f) != 0 || bad ? -1 : 0;
}

/* The whole of path, malloc'd and NUL-terminated (free it), its length in
 * *len when len is not NULL; NULL when it cannot be opened or read, or
 * memory runs out. */
static inline char *kk_test_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, k;
    char *s = malloc(cap);
    while (s && (k = fread(s + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (cap - n < 2) {
            char *t = realloc(s, cap *= 2);
            if (!t)
                free(s);
            s = t;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!s || bad) {
        free(s);
        return NULL;
    }
    s[n] = '\0';
    if (len)
        *len = n;
    return s;
}

/* How many entries dir holds, not counting those whose name starts with
 * a dot; -1 when it cannot be opened. */
static inline int kk_test_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

#endif
