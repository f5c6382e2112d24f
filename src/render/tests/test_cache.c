/* test_cache.c - the render cache: keys, the memory level's LRU bound, the
 * disk level's files (found again by a new cache, checked on every read,
 * evicted least recently used first), failures that leave the memory level
 * working, and several threads at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "cache.h"
#include "kk_testutil.h"

/* ---- helpers ---- */

/* snprintf for paths: the test's paths are short, and a truncation would
 * show as a failure anyway. */
static void pathf(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, size, fmt, ap);
    va_end(ap);
}

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char sub[4096];
            pathf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rm_rf(sub);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else
        unlink(path);
}

/* A path under TEST_TMPDIR with nothing there (left from an earlier run). */
static char *fresh_dir(char *buf, size_t size, const char *name)
{
    pathf(buf, size, "%s/%s", kk_test_tmpdir(), name);
    rm_rf(buf);
    return buf;
}

static kk_cache_key make_key(int i)
{
    kk_cache_key_builder b;
    kk_cache_key_init(&b);
    kk_cache_key_add_str(&b, "test segment");
    kk_cache_key_add_i64(&b, i);
    return kk_cache_key_final(&b);
}

/* The payload stored under make_key(i): its size and bytes depend on i. */
static size_t payload(int i, unsigned char *out)
{
    size_t n = 100 + (size_t)(i * 37 % 900) * 4;
    for (size_t j = 0; j < n; j++)
        out[j] = (unsigned char)(i * 31 + j * 7 + (j >> 8));
    return n;
}

static void put_i(kk_cache *c, int i)
{
    unsigned char p[4000];
    size_t n = payload(i, p);
    kk_error err;
    kk_cache_key k = make_key(i);
    assert_int_equal(kk_cache_put(c, &k, p, n, &err), KK_OK);
}

/* 1: a hit with i's payload; 0: a miss. Fails on anything else. */
static int get_i(kk_cache *c, int i)
{
    unsigned char p[4000];
    size_t n = payload(i, p), got_n = 12345;
    void *got = (void *)1;
    kk_error err;
    kk_cache_key k = make_key(i);
    assert_int_equal(kk_cache_get(c, &k, &got, &got_n, &err), KK_OK);
    if (!got) {
        assert_int_equal(got_n, 0);
        return 0;
    }
    assert_int_equal(got_n, n);
    assert_memory_equal(got, p, n);
    free(got);
    return 1;
}

static void entry_file(const char *dir, int i, char *out, size_t size)
{
    kk_cache_key k = make_key(i);
    char hex[33];
    kk_cache_key_hex(&k, hex);
    pathf(out, size, "%s/%.2s/%s.kkc", dir, hex, hex);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void set_mtime(const char *path, time_t t)
{
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static kk_cache *open_cache(size_t mem, const char *dir, uint64_t disk)
{
    kk_cache_params p = {.mem_bytes = mem, .dir = dir, .disk_bytes = disk};
    kk_cache *c = NULL;
    kk_error err;
    kk_status st = kk_cache_open(&p, &c, &err);
    if (st != KK_OK)
        fail_msg("kk_cache_open: %s", err.msg);
    assert_non_null(c);
    return c;
}

static unsigned char *read_whole(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void write_whole(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* ---- keys ---- */

static void test_key_fields(void **state)
{
    kk_cache_key_builder b;
    kk_cache_key k1, k2;
#define KEY(var, ...)                                                                                                  \
    do {                                                                                                               \
        kk_cache_key_init(&b);                                                                                         \
        __VA_ARGS__;                                                                                                   \
        var = kk_cache_key_final(&b);                                                                                  \
        assert_int_equal(b.failed, 0);                                                                                 \
        assert_null(b.state);                                                                                          \
    } while (0)
#define SAME() assert_memory_equal(k1.bytes, k2.bytes, 16)
#define DIFF() assert_memory_not_equal(k1.bytes, k2.bytes, 16)

    KEY(k1, kk_cache_key_add_str(&b, "voice af_heart"); kk_cache_key_add_f64(&b, 1.25); kk_cache_key_add_i64(&b, 7));
    KEY(k2, kk_cache_key_add_str(&b, "voice af_heart"); kk_cache_key_add_f64(&b, 1.25); kk_cache_key_add_i64(&b, 7));
    SAME();
    KEY(k2, kk_cache_key_add_f64(&b, 1.25); kk_cache_key_add_str(&b, "voice af_heart"); kk_cache_key_add_i64(&b, 7));
    DIFF(); /* order */
    KEY(k2, kk_cache_key_add_str(&b, "voice af_heart"); kk_cache_key_add_f64(&b, 1.5); kk_cache_key_add_i64(&b, 7));
    DIFF(); /* a value */

    KEY(k1, kk_cache_key_add_str(&b, "ab"); kk_cache_key_add_str(&b, "c"));
    KEY(k2, kk_cache_key_add_str(&b, "a"); kk_cache_key_add_str(&b, "bc"));
    DIFF(); /* split */
    KEY(k1, kk_cache_key_add(&b, "ab", 2); kk_cache_key_add(&b, "c", 1));
    KEY(k2, kk_cache_key_add(&b, "a", 1); kk_cache_key_add(&b, "bc", 2));
    DIFF();
    KEY(k1, kk_cache_key_add_str(&b, "x"); kk_cache_key_add_str(&b, ""));
    KEY(k2, kk_cache_key_add_str(&b, "x"));
    DIFF(); /* an empty field still counts */

    KEY(k1, kk_cache_key_add_str(&b, NULL));
    KEY(k2, kk_cache_key_add_str(&b, ""));
    DIFF();
    KEY(k2, kk_cache_key_add_str(&b, NULL));
    SAME();
    KEY(k1, kk_cache_key_add_str(&b, "ab"));
    KEY(k2, kk_cache_key_add(&b, "ab", 2));
    DIFF(); /* bytes and a string are different types */

    KEY(k1, kk_cache_key_add_f64(&b, -0.0));
    KEY(k2, kk_cache_key_add_f64(&b, 0.0));
    SAME();
    volatile double zero = 0.0;
    double nan1 = zero / zero, nan2 = -nan1;
    uint64_t b1, b2;
    memcpy(&b1, &nan1, 8);
    memcpy(&b2, &nan2, 8);
    assert_true(b1 != b2); /* two NaN bit patterns... */
    KEY(k1, kk_cache_key_add_f64(&b, nan1));
    KEY(k2, kk_cache_key_add_f64(&b, nan2));
    SAME(); /* ...one key */
    double one = 1.0;
    int64_t one_bits;
    memcpy(&one_bits, &one, 8);
    KEY(k1, kk_cache_key_add_f64(&b, 1.0));
    KEY(k2, kk_cache_key_add_i64(&b, one_bits));
    DIFF(); /* same bits, other type */
    KEY(k1, kk_cache_key_add_i64(&b, -1));
    KEY(k2, kk_cache_key_add_i64(&b, 1));
    DIFF();

    /* the hash is XXH3-128 of tagged, length-prefixed fields, canonical
     * (big-endian) bytes: "s", the length as u64 little-endian, the text */
    KEY(k1, kk_cache_key_add_str(&b, "ab"));
    unsigned char enc[11] = {'s', 2, 0, 0, 0, 0, 0, 0, 0, 'a', 'b'};
    XXH128_canonical_t canon;
    XXH128_canonicalFromHash(&canon, XXH3_128bits(enc, sizeof enc));
    assert_memory_equal(k1.bytes, canon.digest, 16);
#undef KEY
#undef SAME
#undef DIFF
}

static void test_key_hex(void **state)
{
    kk_cache_key k = {{0x00, 0x01, 0x0a, 0x10, 0x9f, 0xa0, 0xab, 0xcd, 0xef, 0xf0, 0xff, 0x12, 0x34, 0x56, 0x78, 0x9b}};
    char hex[40];
    memset(hex, 'X', sizeof hex);
    kk_cache_key_hex(&k, hex);
    assert_string_equal(hex, "00010a109fa0abcdeff0ff123456789b"); /* byte order, lower case */
    assert_int_equal(hex[33], 'X'); /* 33 bytes, no more */
}

static void test_default_dir(void **state)
{
    char *saved[3];
    const char *names[3] = {"KOKORO_CACHE_DIR", "XDG_CACHE_HOME", "HOME"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(names[i]);
        saved[i] = v ? strdup(v) : NULL;
        unsetenv(names[i]);
    }
    char d[256];
    kk_error err;
    setenv("HOME", "/home/u", 1);
    assert_int_equal(kk_cache_default_dir(d, sizeof d, &err), KK_OK);
    assert_string_equal(d, "/home/u/.cache/kokoro/render");
    setenv("XDG_CACHE_HOME", "relative/ignored", 1);
    assert_int_equal(kk_cache_default_dir(d, sizeof d, &err), KK_OK);
    assert_string_equal(d, "/home/u/.cache/kokoro/render");
    setenv("XDG_CACHE_HOME", "/var/cache/u/", 1);
    assert_int_equal(kk_cache_default_dir(d, sizeof d, &err), KK_OK);
    assert_string_equal(d, "/var/cache/u/kokoro/render");
    setenv("KOKORO_CACHE_DIR", "/srv/kk", 1);
    assert_int_equal(kk_cache_default_dir(d, sizeof d, &err), KK_OK);
    assert_string_equal(d, "/srv/kk/render");
    /* does not fit */
    assert_int_equal(kk_cache_default_dir(d, 10, &err), KK_ERR_IO);
    assert_int_equal(err.code, KK_ERR_IO);
    assert_non_null(strstr(err.msg, "/srv/kk/render"));
    assert_non_null(strstr(err.msg, "too long"));
    /* nothing to go by */
    unsetenv("KOKORO_CACHE_DIR");
    unsetenv("XDG_CACHE_HOME");
    unsetenv("HOME");
    assert_int_equal(kk_cache_default_dir(d, sizeof d, &err), KK_ERR_IO);
    assert_non_null(strstr(err.msg, "KOKORO_CACHE_DIR"));
    for (int i = 0; i < 3; i++) {
        if (saved[i])
            setenv(names[i], saved[i], 1);
        free(saved[i]);
    }
}

/* ---- memory level ---- */

static void test_memory_round_trip(void **state)
{
    kk_cache *c = open_cache(1 << 20, NULL, 0);
    assert_int_equal(get_i(c, 1), 0);
    put_i(c, 1);
    put_i(c, 2);
    assert_int_equal(get_i(c, 1), 1);
    assert_int_equal(get_i(c, 2), 1);
    assert_int_equal(get_i(c, 3), 0);

    /* a copy: the caller's buffer can change after the put */
    kk_cache_key k = make_key(100);
    char v[8] = "abcdefg";
    kk_error err;
    assert_int_equal(kk_cache_put(c, &k, v, 8, &err), KK_OK);
    v[0] = 'Z';
    void *got;
    size_t n;
    assert_int_equal(kk_cache_get(c, &k, &got, &n, &err), KK_OK);
    assert_int_equal(n, 8);
    assert_string_equal(got, "abcdefg");
    free(got);
    /* a put replaces */
    assert_int_equal(kk_cache_put(c, &k, "xy", 3, &err), KK_OK);
    assert_int_equal(kk_cache_get(c, &k, &got, &n, &err), KK_OK);
    assert_int_equal(n, 3);
    assert_string_equal(got, "xy");
    free(got);
    /* an empty value is a hit, not a miss */
    kk_cache_key e = make_key(101);
    assert_int_equal(kk_cache_put(c, &e, NULL, 0, &err), KK_OK);
    assert_int_equal(kk_cache_get(c, &e, &got, &n, &err), KK_OK);
    assert_non_null(got);
    assert_int_equal(n, 0);
    free(got);

    kk_cache_stats s = kk_cache_get_stats(c);
    assert_int_equal(s.puts, 5);
    assert_int_equal(s.mem_hits, 5);
    assert_int_equal(s.misses, 2);
    assert_int_equal(s.disk_hits, 0);
    assert_int_equal(s.mem_entries, 4);
    unsigned char tmp[4000];
    assert_true(s.mem_bytes >= payload(1, tmp) + payload(2, tmp) + 3); /* payloads and some overhead */
    kk_cache_clear_memory(c);
    s = kk_cache_get_stats(c);
    assert_int_equal(s.mem_entries, 0);
    assert_int_equal(s.mem_bytes, 0);
    assert_int_equal(get_i(c, 1), 0);
    kk_cache_close(c);

    /* mem_bytes 0: no memory level */
    c = open_cache(0, NULL, 0);
    put_i(c, 1);
    assert_int_equal(get_i(c, 1), 0);
    assert_int_equal(kk_cache_get_stats(c).mem_entries, 0);
    kk_cache_close(c);
}

static void put_sized(kk_cache *c, int i, size_t n)
{
    unsigned char *p = malloc(n);
    memset(p, i, n);
    kk_cache_key k = make_key(i);
    kk_error err;
    assert_int_equal(kk_cache_put(c, &k, p, n, &err), KK_OK);
    free(p);
}

static int has(kk_cache *c, int i)
{
    kk_cache_key k = make_key(i);
    void *got;
    size_t n;
    kk_error err;
    assert_int_equal(kk_cache_get(c, &k, &got, &n, &err), KK_OK);
    if (got) {
        assert_int_equal(((unsigned char *)got)[0], i);
        assert_int_equal(((unsigned char *)got)[n - 1], i);
    }
    free(got);
    return got != NULL;
}

static void test_memory_lru(void **state)
{
    /* room for three 10000-byte entries (and their small overhead), not four */
    kk_cache *c = open_cache(35000, NULL, 0);
    put_sized(c, 1, 10000);
    put_sized(c, 2, 10000);
    put_sized(c, 3, 10000);
    assert_int_equal(kk_cache_get_stats(c).mem_entries, 3);
    assert_true(has(c, 1)); /* 1 is now the most recently used; 2 the least */
    put_sized(c, 4, 10000);
    kk_cache_stats s = kk_cache_get_stats(c);
    assert_int_equal(s.mem_evictions, 1);
    assert_int_equal(s.mem_entries, 3);
    assert_true(s.mem_bytes <= 35000);
    assert_false(has(c, 2));
    assert_true(has(c, 1));
    assert_true(has(c, 3));
    assert_true(has(c, 4));
    /* now 2 is gone and the order, oldest first, is 1 3 4: a big entry
     * pushes out the two oldest */
    put_sized(c, 5, 20000);
    assert_false(has(c, 1));
    assert_false(has(c, 3));
    assert_true(has(c, 4));
    assert_true(has(c, 5));
    assert_int_equal(kk_cache_get_stats(c).mem_evictions, 3);
    kk_cache_close(c);
}

static void test_oversize_goes_to_disk_only(void **state)
{
    char dir[4096];
    fresh_dir(dir, sizeof dir, "oversize");
    kk_cache *c = open_cache(3000, dir, 1 << 20);
    put_sized(c, 1, 1000);
    put_sized(c, 2, 5000); /* larger than the whole memory bound */
    kk_cache_stats s = kk_cache_get_stats(c);
    assert_int_equal(s.mem_entries, 1);
    assert_int_equal(s.mem_evictions, 0); /* it did not push 1 out either */
    assert_int_equal(s.disk_entries, 2);
    char path[4096];
    entry_file(dir, 2, path, sizeof path);
    assert_true(exists(path));
    assert_true(has(c, 2));
    assert_true(has(c, 2));
    assert_true(has(c, 1));
    s = kk_cache_get_stats(c);
    assert_int_equal(s.disk_hits, 2); /* never promoted */
    assert_int_equal(s.mem_hits, 1);
    assert_int_equal(s.mem_entries, 1);
    kk_cache_close(c);
}

/* ---- disk level ---- */

static void test_disk_survives_reopen(void **state)
{
    char dir[4096];
    fresh_dir(dir, sizeof dir, "reopen/nested/dirs"); /* parents are created too */
    kk_cache *c = open_cache(1 << 20, dir, 1 << 20);
    for (int i = 0; i < 20; i++)
        put_i(c, i);
    kk_cache_stats s = kk_cache_get_stats(c);
    assert_int_equal(s.disk_entries, 20);
    uint64_t bytes = s.disk_bytes;
    kk_cache_close(c);

    c = open_cache(1 << 20, dir, 1 << 20);
    s = kk_cache_get_stats(c);
    assert_int_equal(s.disk_entries, 20); /* found by the scan */
    assert_int_equal(s.disk_bytes, bytes);
    assert_int_equal(s.mem_entries, 0);
    for (int i = 0; i < 20; i++)
        assert_true(get_i(c, i));
    assert_false(get_i(c, 20));
    for (int i = 0; i < 20; i++)
        assert_true(get_i(c, i)); /* promoted to memory by the first read */
    s = kk_cache_get_stats(c);
    assert_int_equal(s.disk_hits, 20);
    assert_int_equal(s.mem_hits, 20);
    assert_int_equal(s.misses, 1);
    assert_int_equal(s.corrupt, 0);

    /* another process deleted a file: a miss, not an error */
    kk_cache_clear_memory(c);
    char path[4096];
    entry_file(dir, 5, path, sizeof path);
    assert_int_equal(unlink(path), 0);
    assert_false(get_i(c, 5));
    s = kk_cache_get_stats(c);
    assert_int_equal(s.disk_entries, 19);
    assert_int_equal(s.corrupt, 0);
    kk_cache_close(c);
}

enum { BAD_FLIP, BAD_TRUNC, BAD_TRUNC_HEADER, BAD_MAGIC, BAD_VERSION, BAD_KEY, BAD_EMPTY, BAD_KINDS };

static void test_corrupt_entries(void **state)
{
    static const char *names[] = {"flipped payload byte", "truncated payload", "truncated header", "wrong magic",
                                  "wrong version", "key differs from name", "zero length"};
    for (int kind = 0; kind < BAD_KINDS; kind++) {
        char dir[4096], path[4096], other[4096];
        fresh_dir(dir, sizeof dir, "corrupt");
        kk_cache *c = open_cache(1 << 20, dir, 1 << 20);
        put_i(c, 1);
        put_i(c, 2);
        kk_cache_close(c);
        entry_file(dir, 1, path, sizeof path);
        size_t n;
        unsigned char *b = read_whole(path, &n);
        int victim = 1;
        switch (kind) {
        case BAD_FLIP:
            b[n - 7] ^= 0x10;
            break;
        case BAD_TRUNC:
            n -= 1;
            break;
        case BAD_TRUNC_HEADER:
            n = 20;
            break;
        case BAD_MAGIC:
            b[0] = 'X';
            break;
        case BAD_VERSION:
            b[4] = 99;
            break;
        case BAD_KEY:
            /* a valid entry of key 1 under key 2's name: its checksum holds */
            victim = 2;
            entry_file(dir, 2, other, sizeof other);
            break;
        case BAD_EMPTY:
            n = 0;
            break;
        }
        write_whole(victim == 2 ? other : path, b, n);
        free(b);

        c = open_cache(1 << 20, dir, 1 << 20);
        assert_int_equal(kk_cache_get_stats(c).disk_entries, 2);
        if (get_i(c, victim) != 0)
            fail_msg("%s: a bad entry was returned", names[kind]);
        kk_cache_stats s = kk_cache_get_stats(c);
        if (s.corrupt != 1 || s.misses != 1)
            fail_msg("%s: corrupt %llu misses %llu", names[kind], (unsigned long long)s.corrupt,
                     (unsigned long long)s.misses);
        assert_int_equal(s.disk_entries, 1);
        entry_file(dir, victim, path, sizeof path);
        if (exists(path))
            fail_msg("%s: the bad file was not removed", names[kind]);
        assert_true(get_i(c, 3 - victim)); /* the other entry is fine */
        assert_false(get_i(c, victim));    /* and stays a plain miss */
        assert_int_equal(kk_cache_get_stats(c).corrupt, 1);
        kk_cache_close(c);
    }
}

static void test_disk_cap_evicts_least_recently_used(void **state)
{
    char dir[4096], p[6][4096];
    fresh_dir(dir, sizeof dir, "cap");
    for (int i = 1; i <= 5; i++)
        entry_file(dir, i, p[i], sizeof p[i]);
    kk_cache *c = open_cache(0, dir, 1 << 20);
    for (int i = 1; i <= 3; i++)
        put_sized(c, i, 1000);
    uint64_t one = kk_cache_get_stats(c).disk_bytes / 3; /* one file, header included */
    assert_true(one > 1000);
    kk_cache_close(c);

    time_t t = time(NULL);
    set_mtime(p[1], t - 100);
    set_mtime(p[2], t - 300); /* the oldest, though not the first written */
    set_mtime(p[3], t - 200);
    /* room for three and a half: the fourth put evicts one file, which
     * brings the total under 90 % of the cap */
    c = open_cache(0, dir, one * 7 / 2);
    put_sized(c, 4, 1000);
    kk_cache_stats s = kk_cache_get_stats(c);
    assert_int_equal(s.disk_evictions, 1);
    assert_int_equal(s.disk_entries, 3);
    assert_int_equal(s.disk_bytes, 3 * one);
    assert_false(exists(p[2]));
    assert_true(exists(p[1]) && exists(p[3]) && exists(p[4]));

    /* a hit makes an entry young again (no memory level: it reads the file) */
    set_mtime(p[1], t - 300);
    set_mtime(p[3], t - 200);
    set_mtime(p[4], t - 100);
    assert_true(has(c, 1));
    struct stat st;
    assert_int_equal(stat(p[1], &st), 0);
    assert_true(st.st_mtime >= t);
    put_sized(c, 5, 1000);
    assert_false(exists(p[3]));
    assert_true(exists(p[1]) && exists(p[4]) && exists(p[5]));
    assert_int_equal(kk_cache_get_stats(c).disk_evictions, 2);
    kk_cache_close(c);
}

static void test_stale_temp_files_removed(void **state)
{
    char dir[4096], sub[4096], old_tmp[4096], new_tmp[4096], foreign[4096], foreign_top[4096];
    fresh_dir(dir, sizeof dir, "stale");
    kk_cache *c = open_cache(0, dir, 1 << 20);
    put_i(c, 1);
    kk_cache_close(c);
    char hex[33];
    kk_cache_key k = make_key(2);
    kk_cache_key_hex(&k, hex);
    pathf(sub, sizeof sub, "%s/%.2s", dir, hex);
    mkdir(sub, 0777);
    pathf(old_tmp, sizeof old_tmp, "%s/%s.kkc.a1b2c3.tmp", sub, hex);
    pathf(new_tmp, sizeof new_tmp, "%s/%s.kkc.d4e5f6.tmp", sub, hex);
    pathf(foreign, sizeof foreign, "%s/README.txt", sub);
    pathf(foreign_top, sizeof foreign_top, "%s/notes", dir);
    write_whole(old_tmp, "half an entry", 13);
    write_whole(new_tmp, "a writer at work", 16);
    write_whole(foreign, "not ours", 8);
    write_whole(foreign_top, "not ours", 8);
    set_mtime(old_tmp, time(NULL) - 2 * 3600);

    c = open_cache(0, dir, 1 << 20);
    assert_false(exists(old_tmp));
    assert_true(exists(new_tmp)); /* may belong to another process */
    assert_true(exists(foreign));
    assert_true(exists(foreign_top));
    kk_cache_stats s = kk_cache_get_stats(c);
    assert_int_equal(s.disk_entries, 1); /* temporary and foreign files are not entries */
    assert_true(get_i(c, 1));
    kk_cache_close(c);
}

static void test_unwritable_directory(void **state)
{
    char dir[4096], file[4096], bad[4096];
    kk_error err;
    kk_cache *c = (kk_cache *)1;

    /* a directory below a regular file cannot be made, even by root */
    fresh_dir(file, sizeof file, "plain_file");
    write_whole(file, "x", 1);
    pathf(bad, sizeof bad, "%s/sub/render", file);
    kk_cache_params p = {.mem_bytes = 1 << 20, .dir = bad, .disk_bytes = 1 << 20};
    assert_int_equal(kk_cache_open(&p, &c, &err), KK_ERR_IO);
    assert_null(c);
    assert_non_null(strstr(err.msg, bad));
    assert_non_null(strstr(err.msg, strerror(ENOTDIR)));

    /* the entry's subdirectory is taken by a file: the put fails, the
     * memory level keeps the entry */
    fresh_dir(dir, sizeof dir, "blocked");
    c = open_cache(1 << 20, dir, 1 << 20);
    kk_cache_key k = make_key(1);
    char hex[33], block[4096];
    kk_cache_key_hex(&k, hex);
    pathf(block, sizeof block, "%s/%.2s", dir, hex);
    write_whole(block, "in the way", 10);
    unsigned char v[4000];
    size_t n = payload(1, v);
    kk_error_clear(&err);
    assert_int_equal(kk_cache_put(c, &k, v, n, &err), KK_ERR_IO);
    assert_non_null(strstr(err.msg, dir));
    assert_true(get_i(c, 1));
    kk_cache_stats s = kk_cache_get_stats(c);
    assert_int_equal(s.mem_hits, 1);
    assert_int_equal(s.disk_entries, 0);
    kk_cache_close(c);

    /* a read-only directory; root writes anyway, so check first */
    fresh_dir(dir, sizeof dir, "readonly");
    c = open_cache(1 << 20, dir, 1 << 20);
    assert_int_equal(chmod(dir, 0500), 0);
    char probe[4096];
    pathf(probe, sizeof probe, "%s/probe", dir);
    int fd = open(probe, O_WRONLY | O_CREAT, 0666);
    if (fd >= 0) {
        close(fd);
        unlink(probe);
        print_message("(running with the right to write anywhere: read-only directory case skipped)\n");
    } else {
        kk_error_clear(&err);
        assert_int_equal(kk_cache_put(c, &k, v, n, &err), KK_ERR_IO);
        assert_non_null(strstr(err.msg, dir));
        assert_true(get_i(c, 1));
    }
    chmod(dir, 0700);
    kk_cache_close(c);
}

static void test_failed_key_refused(void **state)
{
    kk_cache *c = open_cache(1 << 20, NULL, 0);
    kk_cache_key_builder b;
    kk_cache_key_init(&b);
    kk_cache_key_add(&b, NULL, 5); /* misuse marks the build failed */
    kk_cache_key k = kk_cache_key_final(&b);
    assert_int_equal(b.failed, 1);
    kk_cache_key zero = {{0}};
    assert_memory_equal(k.bytes, zero.bytes, 16);
    kk_error err;
    assert_int_equal(kk_cache_put(c, &k, "a", 1, &err), KK_ERR_NOMEM);
    void *got = (void *)1;
    size_t n;
    assert_int_equal(kk_cache_get(c, &k, &got, &n, &err), KK_ERR_NOMEM);
    assert_null(got);
    assert_int_equal(kk_cache_get_stats(c).mem_entries, 0);
    kk_cache_close(c);
}

/* ---- threads ---- */

#define NKEYS 48

typedef struct worker {
    kk_cache *c;
    uint32_t seed;
    int ops, gets, puts, hits, bad;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    unsigned char want[4000];
    for (int op = 0; op < w->ops; op++) {
        w->seed ^= w->seed << 13, w->seed ^= w->seed >> 17, w->seed ^= w->seed << 5;
        int i = (int)(w->seed % NKEYS);
        size_t n = payload(i, want);
        kk_cache_key k = make_key(i);
        kk_error err;
        if ((w->seed >> 8) % 3 == 0) {
            /* disk write errors are not expected here either */
            if (kk_cache_put(w->c, &k, want, n, &err) != KK_OK)
                w->bad++;
            w->puts++;
        } else {
            void *got;
            size_t gn;
            if (kk_cache_get(w->c, &k, &got, &gn, &err) != KK_OK)
                w->bad++;
            w->gets++;
            if (got) {
                w->hits++;
                if (gn != n || memcmp(got, want, n))
                    w->bad++;
                free(got);
            }
        }
    }
    return NULL;
}

static void run_threads(kk_cache *c, int ops)
{
    enum { NT = 4 };
    pthread_t t[NT];
    worker w[NT];
    for (int i = 0; i < NT; i++) {
        w[i] = (worker){.c = c, .seed = 0x9e3779b9u * (uint32_t)(i + 1), .ops = ops};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    int gets = 0, puts = 0, hits = 0;
    for (int i = 0; i < NT; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].bad, 0);
        gets += w[i].gets, puts += w[i].puts, hits += w[i].hits;
    }
    kk_cache_stats s = kk_cache_get_stats(c);
    assert_int_equal(s.puts, (uint64_t)puts);
    assert_int_equal(s.mem_hits + s.disk_hits + s.misses, (uint64_t)gets);
    assert_int_equal(s.mem_hits + s.disk_hits, (uint64_t)hits);
    assert_true(hits > 0);
    assert_int_equal(s.corrupt, 0); /* no reader ever saw a half-written file */
    assert_true(s.mem_evictions > 0); /* the bound was exercised */
}

static void test_threads_memory(void **state)
{
    /* the 48 payloads come to about 90 KB: a third fits */
    kk_cache *c = open_cache(30000, NULL, 0);
    run_threads(c, 4000);
    kk_cache_close(c);
}

static void test_threads_disk(void **state)
{
    char dir[4096];
    fresh_dir(dir, sizeof dir, "threads");
    kk_cache *c = open_cache(15000, dir, 50000);
    run_threads(c, 1500);
    kk_cache_stats s = kk_cache_get_stats(c);
    assert_true(s.disk_hits > 0);
    assert_true(s.disk_evictions > 0);
    assert_true(s.disk_bytes <= 50000);
    kk_cache_close(c);
    /* what is left on disk is whole */
    c = open_cache(0, dir, 50000);
    for (int i = 0; i < NKEYS; i++)
        get_i(c, i);
    assert_int_equal(kk_cache_get_stats(c).corrupt, 0);
    kk_cache_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_fields),
        cmocka_unit_test(test_key_hex),
        cmocka_unit_test(test_default_dir),
        cmocka_unit_test(test_memory_round_trip),
        cmocka_unit_test(test_memory_lru),
        cmocka_unit_test(test_oversize_goes_to_disk_only),
        cmocka_unit_test(test_disk_survives_reopen),
        cmocka_unit_test(test_corrupt_entries),
        cmocka_unit_test(test_disk_cap_evicts_least_recently_used),
        cmocka_unit_test(test_stale_temp_files_removed),
        cmocka_unit_test(test_unwritable_directory),
        cmocka_unit_test(test_failed_key_refused),
        cmocka_unit_test(test_threads_memory),
        cmocka_unit_test(test_threads_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
