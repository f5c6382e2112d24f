/*
 * cache.c - see cache.h. This file owns the key builder (XXH3-128 over
 * tagged, length-prefixed fields), the memory level (a hash map and an LRU
 * list, bounded by payload bytes plus a fixed per-entry overhead), the disk
 * level (one file per entry, its format, its validation and its size cap)
 * and the in-process index of the disk level.
 *
 * An entry file, <dir>/<2 hex>/<32 hex>.kkc, is a 40-byte header and the
 * payload; all integers little-endian:
 *
 *   0  "KKC1"       magic
 *   4  u32          format version (1)
 *   8  u64          payload length
 *   16 16 bytes     the key (as in the file name)
 *   32 u64          XXH3-64 of the payload
 *
 * Every read checks all of it; a file that fails is deleted and counted in
 * stats.corrupt. A disk hit sets the file's modification time to now, which
 * is what the size cap goes by, so least recently used survives across runs
 * and across processes sharing the directory.
 *
 * Locking: one mutex guards the memory level, the disk index and the
 * counters. File contents are read and written outside it; only metadata
 * work (unlink, directory scan during eviction) happens under it.
 *
 * Interpretations of cache.h: params.disk_bytes 0 means the default cap
 * (a zeroed params struct still gets a bounded directory); a hit on an
 * empty payload returns a non-NULL *data with *n 0; the all-zero key (what
 * kk_cache_key_final returns after an allocation failure) is refused with
 * KK_ERR_NOMEM by get and put, since every failed build would share it;
 * stats.mem_bytes counts what the bound counts (payloads plus a fixed
 * overhead per entry).
 */
#include "cache.h"
#include "kk_fs.h"
#include "tmpfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

#define HDR_SIZE 40
#define FORMAT_VERSION 1u
#define DEFAULT_MEM ((size_t)256 << 20)
#define DEFAULT_DISK ((uint64_t)2 << 30)
/* Temporary files younger than this may belong to a writer still at work
 * (another process); older ones are leftovers of a crash. */
#define STALE_TMP_NS ((int64_t)3600 * 1000000000)
/* "/" "xx" "/" 32 hex ".kkc" and the tmpfile suffix ".xxxxxx.tmp" */
#define ENTRY_PATH_EXTRA 64

/* ---- key builder ---- */

/* Field tags: a field's type is hashed along with it, so an integer and a
 * double with the same bits, or bytes and a string, never collide. */
enum { TAG_BYTES = 'b', TAG_STR = 's', TAG_NULL_STR = 'n', TAG_I64 = 'i', TAG_F64 = 'd' };

static void put_u32le(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64le(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32le(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t get_u64le(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void kk_cache_key_init(kk_cache_key_builder *b)
{
    b->failed = 0;
    b->state = XXH3_createState();
    if (!b->state || XXH3_128bits_reset(b->state) != XXH_OK)
        b->failed = 1;
}

/* A tag byte and, for variable-size fields, the length: the prefix that
 * makes ("ab","c") and ("a","bc") different inputs to the hash. */
static void add_field(kk_cache_key_builder *b, int tag, const void *data, size_t n, int with_len)
{
    if (b->failed)
        return;
    if (!b->state || (n && !data)) {
        b->failed = 1; /* used after final, or a NULL buffer: no key can be trusted */
        return;
    }
    unsigned char head[9] = {(unsigned char)tag};
    size_t hn = 1;
    if (with_len) {
        put_u64le(head + 1, (uint64_t)n);
        hn = 9;
    }
    if (XXH3_128bits_update(b->state, head, hn) != XXH_OK || (n && XXH3_128bits_update(b->state, data, n) != XXH_OK))
        b->failed = 1;
}

void kk_cache_key_add(kk_cache_key_builder *b, const void *data, size_t n) { add_field(b, TAG_BYTES, data, n, 1); }

void kk_cache_key_add_str(kk_cache_key_builder *b, const char *s)
{
    if (!s)
        add_field(b, TAG_NULL_STR, NULL, 0, 0);
    else
        add_field(b, TAG_STR, s, strlen(s), 1);
}

void kk_cache_key_add_i64(kk_cache_key_builder *b, int64_t v)
{
    unsigned char p[8];
    put_u64le(p, (uint64_t)v);
    add_field(b, TAG_I64, p, 8, 0);
}

void kk_cache_key_add_f64(kk_cache_key_builder *b, double v)
{
    uint64_t bits;
    if (v != v)
        bits = UINT64_C(0x7ff8000000000000); /* every NaN is the same setting */
    else {
        if (v == 0.0)
            v = 0.0; /* -0.0 compares equal to 0.0: same audio, same key */
        memcpy(&bits, &v, 8);
    }
    unsigned char p[8];
    put_u64le(p, bits);
    add_field(b, TAG_F64, p, 8, 0);
}

kk_cache_key kk_cache_key_final(kk_cache_key_builder *b)
{
    kk_cache_key k;
    memset(&k, 0, sizeof k);
    if (b->state && !b->failed) {
        XXH128_canonical_t canon;
        XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(b->state));
        memcpy(k.bytes, canon.digest, 16);
    }
    if (b->state)
        XXH3_freeState(b->state);
    b->state = NULL;
    return k;
}

void kk_cache_key_hex(const kk_cache_key *k, char out[33])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = digits[k->bytes[i] >> 4];
        out[2 * i + 1] = digits[k->bytes[i] & 15];
    }
    out[32] = '\0';
}

static int key_is_zero(const kk_cache_key *k)
{
    for (int i = 0; i < 16; i++)
        if (k->bytes[i])
            return 0;
    return 1;
}

static int hex_value(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1; /* upper case is not what we write: a foreign file */
}

/* Parses 32 lowercase hex digits into a key; 0 when s does not start so. */
static int key_from_hex(const char *s, kk_cache_key *k)
{
    for (int i = 0; i < 16; i++) {
        int hi = hex_value((unsigned char)s[2 * i]), lo = hi < 0 ? -1 : hex_value((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        k->bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

/* ---- hash map ---- */

/* Both levels are maps from key to an entry that starts with this node.
 * Keys are already uniform hashes, so their first bytes pick the bucket. */
typedef struct node {
    kk_cache_key key;
    struct node *hnext;
} node;

typedef struct map {
    node **b;
    size_t nb, count; /* nb a power of two */
} map;

static int map_init(map *m)
{
    m->nb = 64;
    m->count = 0;
    m->b = calloc(m->nb, sizeof *m->b);
    return m->b ? 0 : -1;
}

static size_t slot(const kk_cache_key *k, size_t nb)
{
    uint64_t h;
    memcpy(&h, k->bytes, 8);
    return (size_t)(h & (nb - 1));
}

static node **map_link(map *m, const kk_cache_key *k)
{
    node **l = &m->b[slot(k, m->nb)];
    while (*l && memcmp((*l)->key.bytes, k->bytes, 16))
        l = &(*l)->hnext;
    return l;
}

static node *map_get(map *m, const kk_cache_key *k) { return *map_link(m, k); }

static node *map_remove(map *m, const kk_cache_key *k)
{
    node **l = map_link(m, k), *n = *l;
    if (n) {
        *l = n->hnext;
        m->count--;
    }
    return n;
}

/* The key must not be in the map. Never fails: when the table cannot grow
 * the chains just get longer. */
static void map_add(map *m, node *n)
{
    if (m->count >= m->nb) {
        size_t nb = m->nb * 2;
        node **b = calloc(nb, sizeof *b);
        if (b) {
            for (size_t i = 0; i < m->nb; i++)
                for (node *e = m->b[i], *next; e; e = next) {
                    next = e->hnext;
                    size_t s = slot(&e->key, nb);
                    e->hnext = b[s];
                    b[s] = e;
                }
            free(m->b);
            m->b = b;
            m->nb = nb;
        }
    }
    size_t s = slot(&n->key, m->nb);
    n->hnext = m->b[s];
    m->b[s] = n;
    m->count++;
}

/* Frees every node (each one malloc'd) and the table. */
static void map_free(map *m)
{
    if (!m->b)
        return;
    for (size_t i = 0; i < m->nb; i++)
        for (node *e = m->b[i], *next; e; e = next) {
            next = e->hnext;
            free(e);
        }
    free(m->b);
    m->b = NULL;
    m->nb = m->count = 0;
}

/* ---- the cache ---- */

typedef struct mem_entry {
    node h; /* first: a node* is a mem_entry* */
    struct mem_entry *prev, *next; /* LRU list, most recent at head */
    size_t n;
    unsigned char data[]; /* one allocation per entry */
} mem_entry;

/* What an entry costs against mem_bytes besides its payload. */
#define MEM_OVERHEAD sizeof(mem_entry)

typedef struct disk_entry {
    node h;
    uint64_t size;  /* file size, header included */
    int64_t mtime;  /* ns since the epoch */
} disk_entry;

struct kk_cache {
    pthread_mutex_t lock;
    size_t mem_cap, mem_used;
    map mem;
    mem_entry *head, *tail;
    char *dir; /* NULL: no disk level */
    uint64_t disk_cap, disk_used;
    map disk;
    kk_cache_stats st; /* the counters; the "now" fields are filled on demand */
};

kk_cache_params kk_cache_default_params(void)
{
    kk_cache_params p = {.mem_bytes = DEFAULT_MEM, .dir = NULL, .disk_bytes = DEFAULT_DISK};
    return p;
}

kk_status kk_cache_default_dir(char *dst, size_t size, kk_error *err)
{
    const char *base, *suffix, *v;
    if ((v = getenv("KOKORO_CACHE_DIR")) && *v)
        base = v, suffix = "/render";
    else if ((v = getenv("XDG_CACHE_HOME")) && *v == '/') /* the XDG spec: relative values are ignored */
        base = v, suffix = "/kokoro/render";
    else if ((v = getenv("HOME")) && *v)
        base = v, suffix = "/.cache/kokoro/render";
    else
        return kk_error_set(err, KK_ERR_IO, "cannot find a directory for the render cache: none of "
                                            "KOKORO_CACHE_DIR, XDG_CACHE_HOME and HOME is set; set "
                                            "KOKORO_CACHE_DIR to a writable directory");
    /* "/var/cache/" + "/render" would read "//render" */
    size_t len = strlen(base);
    while (len > 1 && base[len - 1] == '/')
        len--;
    int k = dst && size ? snprintf(dst, size, "%.*s%s", (int)len, base, suffix) : -1;
    if (k < 0 || (size_t)k >= size) {
        if (dst && size)
            dst[0] = '\0';
        return kk_error_set(err, KK_ERR_IO, "the render cache directory %.*s%s is too long (%zu bytes at most); "
                                            "set KOKORO_CACHE_DIR to a shorter path",
                            (int)(len < 900 ? len : 900), base, suffix, size ? size - 1 : 0);
    }
    return KK_OK;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static void entry_path(const kk_cache *c, const kk_cache_key *k, char *path, size_t size)
{
    char hex[33];
    kk_cache_key_hex(k, hex);
    snprintf(path, size, "%s/%.2s/%s.kkc", c->dir, hex, hex);
}

/* Reads the directory tree into m (empty, initialised) and *total; deletes
 * stale temporary files on the way; ignores anything that is not ours.
 * Returns -1 with errno set when dir itself cannot be read or memory runs
 * out. */
static int scan_dir(const char *dir, map *m, uint64_t *total)
{
    *total = 0;
    DIR *top = opendir(dir);
    if (!top)
        return -1;
    int64_t now = now_ns();
    int rc = 0;
    struct dirent *d;
    while (rc == 0 && (d = readdir(top))) {
        const char *sn = d->d_name;
        if (hex_value((unsigned char)sn[0]) < 0 || hex_value((unsigned char)sn[1]) < 0 || sn[2])
            continue;
        int sfd = openat(dirfd(top), sn, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sfd < 0)
            continue; /* a file named like a subdirectory: foreign */
        DIR *sub = fdopendir(sfd);
        if (!sub) {
            close(sfd);
            continue;
        }
        struct dirent *f;
        while ((f = readdir(sub))) {
            const char *fn = f->d_name;
            kk_cache_key k;
            if (strlen(fn) < 36 || fn[0] != sn[0] || fn[1] != sn[1] || !key_from_hex(fn, &k) ||
                memcmp(fn + 32, ".kkc", 4))
                continue;
            const char *rest = fn + 36;
            size_t rn = strlen(rest);
            int is_tmp = rn > 4 && rest[0] == '.' && !strcmp(rest + rn - 4, ".tmp");
            if (*rest && !is_tmp)
                continue;
            struct stat st;
            if (fstatat(dirfd(sub), fn, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
                continue;
            if (is_tmp) {
                if (now - mtime_ns(&st) > STALE_TMP_NS)
                    unlinkat(dirfd(sub), fn, 0);
                continue;
            }
            disk_entry *e = malloc(sizeof *e);
            if (!e) {
                errno = ENOMEM;
                rc = -1;
                break;
            }
            e->h.key = k;
            e->size = (uint64_t)st.st_size;
            e->mtime = mtime_ns(&st);
            map_add(m, &e->h);
            *total += e->size;
        }
        closedir(sub);
    }
    closedir(top);
    return rc;
}

kk_status kk_cache_open(const kk_cache_params *p, kk_cache **out, kk_error *err)
{
    *out = NULL;
    kk_cache_params par = p ? *p : kk_cache_default_params();
    if (par.dir && !*par.dir)
        return kk_error_set(err, KK_ERR_ARG, "the cache directory name is empty; pass NULL for no disk level");
    if (par.dir && strlen(par.dir) + ENTRY_PATH_EXTRA >= PATH_MAX)
        return kk_error_set(err, KK_ERR_IO, "%.200s...: the cache directory path is too long; choose a shorter one",
                            par.dir);
    kk_cache *c = calloc(1, sizeof *c);
    if (!c)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    c->mem_cap = par.mem_bytes;
    c->disk_cap = par.disk_bytes ? par.disk_bytes : DEFAULT_DISK;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return kk_error_set(err, KK_ERR_NOMEM, "cannot create the cache lock");
    }
    if (map_init(&c->mem) || map_init(&c->disk) || (par.dir && !(c->dir = strdup(par.dir)))) {
        kk_cache_close(c);
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    }
    if (c->dir) {
        size_t n = strlen(c->dir);
        while (n > 1 && c->dir[n - 1] == '/')
            c->dir[--n] = '\0';
        char failed[PATH_MAX];
        /* mode 0777 less the umask; failed: the component that could not be
         * made (empty when none is to blame, e.g. a path too long) */
        if (kk_mkdirs(c->dir, 0777, failed, sizeof failed) != 0) {
            int e = errno;
            kk_status st = kk_error_set(err, KK_ERR_IO, "%s: cannot create the cache directory%s%s: %s; check the "
                                        "path and its permissions, or choose another cache directory",
                                        c->dir, failed[0] && strcmp(failed, c->dir) ? " at " : "",
                                        failed[0] && strcmp(failed, c->dir) ? failed : "", strerror(e));
            kk_cache_close(c);
            return st;
        }
        if (scan_dir(c->dir, &c->disk, &c->disk_used) != 0) {
            int e = errno;
            kk_status st = e == ENOMEM ? kk_error_set(err, KK_ERR_NOMEM, "out of memory")
                                       : kk_error_set(err, KK_ERR_IO, "%s: cannot read the cache directory: %s; "
                                                      "check its permissions", c->dir, strerror(e));
            kk_cache_close(c);
            return st;
        }
    }
    *out = c;
    return KK_OK;
}

static void mem_unlink(kk_cache *c, mem_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void mem_push_front(kk_cache *c, mem_entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    else
        c->tail = e;
    c->head = e;
}

static void mem_drop(kk_cache *c, mem_entry *e)
{
    map_remove(&c->mem, &e->h.key);
    mem_unlink(c, e);
    c->mem_used -= e->n + MEM_OVERHEAD;
    free(e);
}

static int mem_fits(const kk_cache *c, size_t n)
{
    return c->mem_cap >= MEM_OVERHEAD && n <= c->mem_cap - MEM_OVERHEAD;
}

/* A new mem_entry holding a copy of data, not yet in the cache. */
static mem_entry *mem_new(const kk_cache_key *key, const void *data, size_t n)
{
    mem_entry *e = malloc(sizeof *e + n);
    if (!e)
        return NULL;
    e->h.key = *key;
    e->n = n;
    if (n)
        memcpy(e->data, data, n);
    return e;
}

/* Under the lock. Takes e (which fits) and replaces any entry for its key,
 * making room from the least recently used end. */
static void mem_store(kk_cache *c, mem_entry *e)
{
    mem_entry *old = (mem_entry *)map_get(&c->mem, &e->h.key);
    if (old)
        mem_drop(c, old);
    while (c->tail && c->mem_used + e->n + MEM_OVERHEAD > c->mem_cap) {
        mem_drop(c, c->tail);
        c->st.mem_evictions++;
    }
    map_add(&c->mem, &e->h);
    mem_push_front(c, e);
    c->mem_used += e->n + MEM_OVERHEAD;
}

/* Under the lock: the index forgets key (its file is gone or going). */
static void index_forget(kk_cache *c, const kk_cache_key *key)
{
    disk_entry *d = (disk_entry *)map_remove(&c->disk, key);
    if (d) {
        c->disk_used -= d->size;
        free(d);
    }
}

/* Under the lock: key's file is size bytes, used at mtime. */
static void index_note(kk_cache *c, const kk_cache_key *key, uint64_t size, int64_t mtime)
{
    disk_entry *d = (disk_entry *)map_get(&c->disk, key);
    if (!d) {
        if (!(d = malloc(sizeof *d)))
            return; /* the next scan will find the file */
        d->h.key = *key;
        d->size = 0;
        map_add(&c->disk, &d->h);
    }
    c->disk_used = c->disk_used - d->size + size;
    d->size = size;
    d->mtime = mtime;
}

static int by_age(const void *a, const void *b)
{
    const disk_entry *x = *(disk_entry *const *)a, *y = *(disk_entry *const *)b;
    if (x->mtime != y->mtime)
        return x->mtime < y->mtime ? -1 : 1;
    return memcmp(x->h.key.bytes, y->h.key.bytes, 16); /* ties: a fixed order */
}

/* Under the lock, when the index says the directory is over its cap.
 * Rescans first: other processes sharing the directory add files and
 * refresh modification times this index has not seen. Then deletes the
 * oldest files until the total is under 90 % of the cap, so that the next
 * few puts do not each pay for a scan. */
static void disk_evict(kk_cache *c)
{
    map fresh;
    uint64_t total;
    if (map_init(&fresh) == 0) {
        if (scan_dir(c->dir, &fresh, &total) == 0) {
            map_free(&c->disk);
            c->disk = fresh;
            c->disk_used = total;
        } else
            map_free(&fresh);
    }
    if (c->disk_used <= c->disk_cap)
        return;
    size_t n = c->disk.count, k = 0;
    disk_entry **all = malloc((n ? n : 1) * sizeof *all);
    if (!all)
        return; /* tried again after the next put */
    for (size_t i = 0; i < c->disk.nb; i++)
        for (node *e = c->disk.b[i]; e; e = e->hnext)
            all[k++] = (disk_entry *)e;
    qsort(all, n, sizeof *all, by_age);
    uint64_t target = c->disk_cap - c->disk_cap / 10;
    char path[PATH_MAX];
    for (size_t i = 0; i < n && c->disk_used > target; i++) {
        entry_path(c, &all[i]->h.key, path, sizeof path);
        /* Whatever the outcome the index lets go: a file we cannot delete
         * is found again by the next scan. */
        if (unlink(path) == 0)
            c->st.disk_evictions++;
        index_forget(c, &all[i]->h.key);
    }
    free(all);
}

/* Reads up to n bytes at off; returns how many (fewer at the end of the
 * file), or -1. */
static ssize_t read_at(int fd, void *p, size_t n, off_t off)
{
    unsigned char *d = p;
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, d + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Writes key's file (not under the lock); on success *size and *mtime
 * describe it. */
static kk_status disk_write(kk_cache *c, const kk_cache_key *key, const void *data, size_t n, uint64_t *size,
                            int64_t *mtime, kk_error *err)
{
    char path[PATH_MAX], *tmp = NULL;
    entry_path(c, key, path, sizeof path);
    int fd = kk_tmpfile_create(path, &tmp);
    if (fd < 0 && errno == ENOENT) {
        /* the subdirectory is made on first use, and again if someone
         * emptied the cache while we run */
        char sub[PATH_MAX], failed[PATH_MAX];
        snprintf(sub, sizeof sub, "%s", path);
        *strrchr(sub, '/') = '\0';
        if (kk_mkdirs(sub, 0777, failed, sizeof failed) == 0)
            fd = kk_tmpfile_create(path, &tmp);
    }
    if (fd < 0)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot create a cache entry: %s; check that the cache directory "
                                            "is writable (the entry is kept in memory only)", path, strerror(errno));
    unsigned char h[HDR_SIZE];
    memcpy(h, "KKC1", 4);
    put_u32le(h + 4, FORMAT_VERSION);
    put_u64le(h + 8, (uint64_t)n);
    memcpy(h + 16, key->bytes, 16);
    put_u64le(h + 32, (uint64_t)XXH3_64bits(n ? data : h, n)); /* never a NULL pointer into xxhash */
    struct stat st;
    int bad = kk_write_all(fd, h, sizeof h) != 0 || (n && kk_write_all(fd, data, n) != 0) || fstat(fd, &st) != 0;
    int e = errno;
    if (close(fd) != 0 && !bad)
        bad = 1, e = errno;
    kk_status rc = KK_OK;
    if (bad)
        rc = kk_error_set(err, KK_ERR_IO, "%s: cannot write a cache entry: %s; check free space (the entry is "
                                          "kept in memory only)", path, strerror(e));
    else if (rename(tmp, path) != 0)
        rc = kk_error_set(err, KK_ERR_IO, "%s: cannot move a cache entry into place: %s; check the cache "
                                          "directory's permissions (the entry is kept in memory only)",
                          path, strerror(errno));
    if (rc != KK_OK)
        unlink(tmp);
    else {
        *size = (uint64_t)st.st_size;
        *mtime = mtime_ns(&st);
    }
    free(tmp);
    return rc;
}

typedef enum { RD_HIT, RD_GONE, RD_UNREADABLE, RD_CORRUPT, RD_NOMEM } read_result;

/* Reads and checks key's file (not under the lock). A bad file is deleted
 * here, unless another writer has already replaced it. */
static read_result disk_read(kk_cache *c, const kk_cache_key *key, void **data, size_t *n, uint64_t *size)
{
    char path[PATH_MAX];
    entry_path(c, key, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? RD_GONE : RD_UNREADABLE;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return RD_UNREADABLE; /* not ours to judge or delete */
    }
    unsigned char h[HDR_SIZE];
    unsigned char *buf = NULL;
    uint64_t len = 0;
    read_result r = RD_CORRUPT;
    if ((uint64_t)st.st_size < HDR_SIZE || read_at(fd, h, HDR_SIZE, 0) != HDR_SIZE || memcmp(h, "KKC1", 4) ||
        get_u32le(h + 4) != FORMAT_VERSION || (len = get_u64le(h + 8)) != (uint64_t)st.st_size - HDR_SIZE ||
        memcmp(h + 16, key->bytes, 16) || len > SIZE_MAX - 1)
        goto done;
    if (!(buf = malloc(len ? (size_t)len : 1))) {
        r = RD_NOMEM;
        goto done;
    }
    if (read_at(fd, buf, (size_t)len, HDR_SIZE) != (ssize_t)len || XXH3_64bits(buf, (size_t)len) != get_u64le(h + 32))
        goto done;
    /* the file's age is its last use: what the size cap goes by. A shared
     * read-only cache cannot be touched, which only costs LRU accuracy. */
    futimens(fd, NULL);
    *data = buf;
    *n = (size_t)len;
    *size = (uint64_t)st.st_size;
    buf = NULL;
    r = RD_HIT;
done:
    if (r == RD_CORRUPT) {
        struct stat now;
        if (stat(path, &now) == 0 && now.st_ino == st.st_ino && now.st_dev == st.st_dev)
            unlink(path);
    }
    free(buf);
    close(fd);
    return r;
}

kk_status kk_cache_get(kk_cache *c, const kk_cache_key *key, void **data, size_t *n, kk_error *err)
{
    *data = NULL;
    *n = 0;
    if (key_is_zero(key))
        return kk_error_set(err, KK_ERR_NOMEM, "the cache key could not be built (out of memory)");
    pthread_mutex_lock(&c->lock);
    mem_entry *e = (mem_entry *)map_get(&c->mem, key);
    if (e) {
        size_t len = e->n;
        void *copy = malloc(len ? len : 1);
        if (!copy) {
            pthread_mutex_unlock(&c->lock);
            return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
        }
        if (len)
            memcpy(copy, e->data, len);
        mem_unlink(c, e);
        mem_push_front(c, e);
        c->st.mem_hits++;
        pthread_mutex_unlock(&c->lock);
        *data = copy;
        *n = len;
        return KK_OK;
    }
    if (!c->dir) {
        c->st.misses++;
        pthread_mutex_unlock(&c->lock);
        return KK_OK;
    }
    pthread_mutex_unlock(&c->lock);

    void *buf = NULL;
    size_t len = 0;
    uint64_t size = 0;
    read_result r = disk_read(c, key, &buf, &len, &size);
    if (r == RD_NOMEM)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory reading a cache entry");
    /* the memory level's copy is made before taking the lock */
    mem_entry *m = r == RD_HIT && mem_fits(c, len) ? mem_new(key, buf, len) : NULL;
    pthread_mutex_lock(&c->lock);
    if (r == RD_HIT) {
        c->st.disk_hits++;
        index_note(c, key, size, now_ns());
        if (m)
            mem_store(c, m);
    } else {
        c->st.misses++;
        if (r == RD_CORRUPT)
            c->st.corrupt++;
        if (r != RD_UNREADABLE)
            index_forget(c, key);
    }
    pthread_mutex_unlock(&c->lock);
    *data = buf;
    *n = len;
    return KK_OK;
}

kk_status kk_cache_put(kk_cache *c, const kk_cache_key *key, const void *data, size_t n, kk_error *err)
{
    if (n && !data)
        return kk_error_set(err, KK_ERR_ARG, "a cache entry of %zu bytes has no data", n);
    if (key_is_zero(key))
        return kk_error_set(err, KK_ERR_NOMEM, "the cache key could not be built (out of memory); the entry "
                                               "is not cached");
    mem_entry *m = NULL;
    if (mem_fits(c, n) && !(m = mem_new(key, data, n)))
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    pthread_mutex_lock(&c->lock);
    c->st.puts++;
    if (m)
        mem_store(c, m);
    else {
        /* too big for the memory level: an older value must not linger */
        mem_entry *old = (mem_entry *)map_get(&c->mem, key);
        if (old)
            mem_drop(c, old);
    }
    pthread_mutex_unlock(&c->lock);
    if (!c->dir)
        return KK_OK;

    uint64_t size;
    int64_t mtime;
    kk_status st = disk_write(c, key, data, n, &size, &mtime, err);
    if (st != KK_OK)
        return st;
    pthread_mutex_lock(&c->lock);
    index_note(c, key, size, mtime);
    if (c->disk_used > c->disk_cap)
        disk_evict(c);
    pthread_mutex_unlock(&c->lock);
    return KK_OK;
}

void kk_cache_clear_memory(kk_cache *c)
{
    pthread_mutex_lock(&c->lock);
    while (c->tail)
        mem_drop(c, c->tail);
    pthread_mutex_unlock(&c->lock);
}

kk_cache_stats kk_cache_get_stats(kk_cache *c)
{
    pthread_mutex_lock(&c->lock);
    kk_cache_stats s = c->st;
    s.mem_bytes = c->mem_used;
    s.mem_entries = c->mem.count;
    s.disk_bytes = c->disk_used;
    s.disk_entries = c->disk.count;
    pthread_mutex_unlock(&c->lock);
    return s;
}

void kk_cache_close(kk_cache *c)
{
    if (!c)
        return;
    c->head = c->tail = NULL;
    map_free(&c->mem); /* mem entries are single allocations starting with their node */
    map_free(&c->disk);
    free(c->dir);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
