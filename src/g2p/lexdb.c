/*
 * lexdb.c - see lexdb.h. Maps the file kk-lexgen writes (layout in
 * arpabet.h) read-only and looks words up in its hash table.
 *
 * Opening checks everything a lookup relies on (magic, version, byte order,
 * sizes, offsets, the checksum of the whole body), so a truncated, damaged
 * or foreign file is a clean KK_ERR_INPUT; lookups still bound every read by
 * the blob's end, so even a file forged with a valid checksum cannot make
 * them read outside the mapping. A lookup hashes the word once and follows
 * one or two slots: no allocation, no locking.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arpabet.h"
#include "lexdb.h"

#define LEXDB_NAME "kokoro-en-us.lexdb"

struct kk_lexdb {
    void *map;
    size_t size;
    const uint32_t *slots;
    uint32_t n_slots, n_words;
    const unsigned char *blob;
    uint32_t blob_size;
};

static kk_status damaged(kk_error *err, const char *path, const char *what)
{
    return kk_error_set(err, KK_ERR_INPUT,
                        "lexdb: '%s' is not a usable pronunciation dictionary (%s); rebuild it "
                        "(cmake --build BUILD_DIR, or kk-lexgen)",
                        path, what);
}

/* Checks the header against the file size; NULL when usable, else why not. */
static const char *check_header(const kk_lexdb_header *h, size_t size, int *version_mismatch)
{
    *version_mismatch = 0;
    if (memcmp(h->magic, KK_LEXDB_MAGIC, sizeof h->magic) != 0)
        return "wrong magic: not a .lexdb file";
    if (h->byte_order != KK_LEXDB_BYTE_ORDER)
        return "written with another byte order";
    if (h->version != KK_LEXDB_VERSION) {
        *version_mismatch = 1;
        return "another version of the format";
    }
    if (h->header_size != KK_LEXDB_HEADER_SIZE || h->reserved != 0)
        return "bad header size";
    if (h->file_size != size)
        return h->file_size > size ? "truncated" : "longer than its header says";
    if (h->n_slots == 0 || (h->n_slots & (h->n_slots - 1)) != 0 || h->n_words == 0 ||
        h->n_slots / 2 < h->n_words || h->n_prons < h->n_words)
        return "bad table sizes";
    if (h->slots_off != KK_LEXDB_HEADER_SIZE ||
        (uint64_t)h->slots_off + (uint64_t)h->n_slots * 4 != h->blob_off ||
        (uint64_t)h->blob_off + h->blob_size != size || h->blob_size < 2)
        return "bad offsets";
    return NULL;
}

kk_status kk_lexdb_open(const char *path, kk_lexdb **out, kk_error *err)
{
    if (!out)
        return kk_error_set(err, KK_ERR_ARG, "lexdb: no output pointer");
    *out = NULL;
    if (!path)
        return kk_error_set(err, KK_ERR_ARG, "lexdb: no path");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kk_error_set(err, errno == ENOENT ? KK_ERR_NOT_FOUND : KK_ERR_IO,
                            "lexdb: cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return kk_error_set(err, KK_ERR_IO, "lexdb: cannot stat '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return damaged(err, path, "not a regular file");
    }
    if ((uint64_t)st.st_size < KK_LEXDB_HEADER_SIZE) {
        close(fd);
        return damaged(err, path, st.st_size == 0 ? "empty" : "shorter than its header");
    }
    if ((uint64_t)st.st_size > UINT32_MAX) {
        close(fd);
        return damaged(err, path, "larger than 4 GB");
    }
    size_t size = (size_t)st.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED)
        return kk_error_set(err, KK_ERR_IO, "lexdb: cannot map '%s': %s", path, strerror(e));

    kk_lexdb_header h;
    memcpy(&h, map, sizeof h);
    int version_mismatch;
    const char *why = check_header(&h, size, &version_mismatch);
    if (!why && kk_lexdb_checksum((const unsigned char *)map + KK_LEXDB_HEADER_SIZE,
                                  size - KK_LEXDB_HEADER_SIZE) != h.checksum)
        why = "checksum mismatch: damaged";
    if (why) {
        munmap(map, size);
        if (version_mismatch)
            return kk_error_set(err, KK_ERR_INPUT,
                                "lexdb: '%s' is format version %u, this program reads version %u; "
                                "rebuild it (cmake --build BUILD_DIR, or kk-lexgen)",
                                path, h.version, KK_LEXDB_VERSION);
        return damaged(err, path, why);
    }
    kk_lexdb *db = malloc(sizeof *db);
    if (!db) {
        munmap(map, size);
        return kk_error_set(err, KK_ERR_NOMEM, "lexdb: out of memory opening '%s'", path);
    }
    db->map = map;
    db->size = size;
    db->slots = (const uint32_t *)((const unsigned char *)map + h.slots_off);
    db->n_slots = h.n_slots;
    db->n_words = h.n_words;
    db->blob = (const unsigned char *)map + h.blob_off;
    db->blob_size = h.blob_size;
    *out = db;
    return KK_OK;
}

/* The directory of the running program into dir (cap bytes), or -1. */
static int exe_dir(char *dir, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", dir, cap - 1);
    if (n <= 0 || (size_t)n >= cap - 1)
        return -1;
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return 0;
}

kk_status kk_lexdb_open_default(kk_lexdb **out, kk_error *err)
{
    if (!out)
        return kk_error_set(err, KK_ERR_ARG, "lexdb: no output pointer");
    *out = NULL;
    const char *env = getenv("KOKORO_LEXDB");
    if (env && *env)
        return kk_lexdb_open(env, out, err); /* asked for: no quiet fallback */
    char dir[PATH_MAX];
    if (exe_dir(dir, sizeof dir) < 0)
        return kk_error_set(err, KK_ERR_NOT_FOUND,
                            "lexdb: no pronunciation dictionary (cannot tell where the program "
                            "is; set KOKORO_LEXDB)");
    static const char *const REL[] = {"/" LEXDB_NAME, "/../share/kokoro/" LEXDB_NAME};
    char path[PATH_MAX + 64];
    for (size_t i = 0; i < sizeof REL / sizeof *REL; i++) {
        snprintf(path, sizeof path, "%s%s", dir, REL[i]);
        if (access(path, F_OK) == 0)
            return kk_lexdb_open(path, out, err); /* there but unusable: say so */
    }
    return kk_error_set(err, KK_ERR_NOT_FOUND,
                        "lexdb: no pronunciation dictionary %s in %s or %s/../share/kokoro (build "
                        "it: scripts/install-deps.sh, then cmake; or set KOKORO_LEXDB)",
                        LEXDB_NAME, dir, dir);
}

void kk_lexdb_close(kk_lexdb *db)
{
    if (!db)
        return;
    munmap(db->map, db->size);
    free(db);
}

static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }

size_t kk_lexdb_lookup(const kk_lexdb *db, const char *word, size_t len, const char **prons,
                       size_t max)
{
    if (!db || !word || len == 0 || len > 255)
        return 0;
    const unsigned char *blob = db->blob;
    const uint32_t size = db->blob_size;
    uint32_t mask = db->n_slots - 1;
    uint32_t i = kk_lexdb_hash(word, len) & mask;
    for (uint32_t probes = 0; probes < db->n_slots; probes++, i = (i + 1) & mask) {
        uint32_t off = db->slots[i];
        if (off == 0)
            return 0;
        if (off >= size || size - off < 2)
            return 0; /* damaged */
        const unsigned char *r = blob + off;
        size_t klen = r[0], n = r[1];
        if (klen != len)
            continue;
        if ((size_t)(size - off) < 2 + klen)
            return 0;
        size_t k = 0;
        while (k < len && r[2 + k] == lower((unsigned char)word[k]))
            k++;
        if (k < len)
            continue;
        const unsigned char *p = r + 2 + klen, *end = blob + size;
        for (size_t j = 0; j < n; j++) {
            const unsigned char *nul = memchr(p, '\0', (size_t)(end - p));
            if (!nul)
                return 0; /* damaged: never hand out an unterminated string */
            if (j < max && prons)
                prons[j] = (const char *)p;
            p = nul + 1;
        }
        return n;
    }
    return 0;
}

size_t kk_lexdb_size(const kk_lexdb *db) { return db ? db->n_words : 0; }
