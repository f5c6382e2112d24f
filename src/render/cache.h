/*
 * cache.h - a content-addressed store of rendered audio: a key made from
 * everything that changes the audio maps to a blob (the renderer's
 * serialised segment: samples and word times). Two levels:
 *
 *   - in memory: least recently used entries go first once the size
 *     bound is reached;
 *   - on disk (optional): one file per entry under a directory,
 *     <dir>/<2 hex>/<32 hex>.kkc, written to a temporary file and renamed,
 *     with a checksum of the payload checked on every read: a corrupt,
 *     truncated or foreign entry is deleted and reported as a miss (the
 *     caller re-renders it), never returned. The directory has a size
 *     cap; the least recently used files go first (use refreshes a
 *     file's modification time).
 *
 * Keys are 128-bit XXH3 hashes (libxxhash) of the key material, built
 * with kk_cache_key_* so that each field is length-prefixed (no two
 * different field lists hash the same bytes).
 *
 * A kk_cache is safe to use from several threads at once, and several
 * processes may share one directory (renames are atomic; an entry
 * another process evicted is simply a miss).
 */
#ifndef KK_CACHE_H
#define KK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "kk_error.h"

typedef struct kk_cache kk_cache;

typedef struct kk_cache_params {
    size_t mem_bytes;    /* memory bound; default 256 MiB; 0: no memory level */
    const char *dir;     /* disk level; NULL: none (see kk_cache_default_dir) */
    uint64_t disk_bytes; /* disk cap; default 2 GiB */
} kk_cache_params;

kk_cache_params kk_cache_default_params(void);

/* $KOKORO_CACHE_DIR/render, else $XDG_CACHE_HOME/kokoro/render, else
 * ~/.cache/kokoro/render. */
kk_status kk_cache_default_dir(char *dst, size_t size, kk_error *err);

/* Creates the directory (and its parents) when it is missing; KK_ERR_IO
 * when it cannot. */
kk_status kk_cache_open(const kk_cache_params *p, kk_cache **out, kk_error *err);
void kk_cache_close(kk_cache *c);

typedef struct kk_cache_key {
    uint8_t bytes[16];
} kk_cache_key;

/* Building a key: init, add fields, final. */
typedef struct kk_cache_key_builder {
    void *state; /* XXH3 state, malloc'd by init, freed by final */
    int failed;  /* out of memory: final returns an all-zero key */
} kk_cache_key_builder;

void kk_cache_key_init(kk_cache_key_builder *b);
void kk_cache_key_add(kk_cache_key_builder *b, const void *data, size_t n);
void kk_cache_key_add_str(kk_cache_key_builder *b, const char *s); /* NULL differs from "" */
void kk_cache_key_add_i64(kk_cache_key_builder *b, int64_t v);
void kk_cache_key_add_f64(kk_cache_key_builder *b, double v); /* by bit pattern; -0.0 == 0.0 */
kk_cache_key kk_cache_key_final(kk_cache_key_builder *b);
/* 32 lowercase hex digits and a NUL. */
void kk_cache_key_hex(const kk_cache_key *k, char out[33]);

/* Looks key up in memory, then on disk (a disk hit is promoted to memory).
 * KK_OK with *data (malloc'd copy, the caller frees) and *n on a hit;
 * KK_OK with *data NULL on a miss (a corrupt entry found on the way is
 * removed and counted, and also a miss). Errors only for what the caller
 * must hear about (out of memory). */
kk_status kk_cache_get(kk_cache *c, const kk_cache_key *key, void **data, size_t *n, kk_error *err);

/* Stores a copy of data under key in memory and, when there is a disk
 * level, on disk (then evicts down to the caps). A failed disk write
 * (full disk, read-only directory) is an error the caller may treat as a
 * warning: the memory level still has the entry. */
kk_status kk_cache_put(kk_cache *c, const kk_cache_key *key, const void *data, size_t n, kk_error *err);

/* Forgets every entry in memory (the disk level stays). */
void kk_cache_clear_memory(kk_cache *c);

typedef struct kk_cache_stats {
    uint64_t mem_hits, disk_hits, misses, puts;
    uint64_t corrupt;            /* disk entries found bad and removed */
    uint64_t mem_evictions, disk_evictions;
    size_t mem_bytes, mem_entries; /* now */
    uint64_t disk_bytes, disk_entries;
} kk_cache_stats;

kk_cache_stats kk_cache_get_stats(kk_cache *c);

#endif
