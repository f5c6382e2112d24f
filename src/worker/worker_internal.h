/*
 * worker_internal.h - what the files of src/worker share: the Redis
 * connection (redis_link.c: the URL, connecting, one command) and the wire
 * format (wire.c: the job message, the checksummed audio blob, the key
 * names). Nothing outside src/worker includes it.
 *
 * The keys, under a prefix (default "kk:"):
 *   <p>jobs             stream of job messages; consumer group <p>workers
 *   <p>blob:<hex>       a cache entry (the renderer's blob), checksummed, with a TTL
 *   <p>done:<hex>       a job's result: the blob keys it touched, with a TTL
 *   <p>reply:<client>   stream of a client's results (deleted when its render ends)
 *   <p>worker:<id>      a worker's heartbeat (JSON, expires unless refreshed)
 *   <p>dead             stream of dead-lettered job messages, each with a reason
 */
#ifndef KK_WORKER_INTERNAL_H
#define KK_WORKER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "backend.h"
#include "kk_error.h"

#define KK_WIRE_VERSION 1
#define KK_REDIS_NAME_MAX 512

typedef struct kk_redis_url {
    char host[256];
    int port;
    int db;
    char password[256]; /* "" when none */
} kk_redis_url;

/* redis://[:password@]host[:port][/db]; KK_ERR_ARG saying what is wrong. */
kk_status kk_redis_url_parse(const char *url, kk_redis_url *out, kk_error *err);

/* Connects, authenticates and selects the database; timeout_ms bounds the
 * connect and every later command (a blocking read's own timeout must be
 * shorter). KK_ERR_IO naming the address on failure. */
kk_status kk_redis_connect(const kk_redis_url *u, int timeout_ms, redisContext **out, kk_error *err);

/* One command (redisCommand's format: %s strings, %b binary). The reply,
 * or NULL with err set: a broken connection (*broken = 1; reconnect) or a
 * Redis error reply (*broken = 0; the message is Redis's). */
redisReply *kk_redis_cmd(redisContext *c, int *broken, kk_error *err, const char *fmt, ...);

/* "<prefix><kind><suffix>" into dst; KK_ERR_ARG when it does not fit. */
kk_status kk_redis_name(char *dst, size_t cap, const char *prefix, const char *kind, const char *suffix, kk_error *err);

/* The job message: JSON with the job's fields, its key (hex) and the
 * client's reply stream. */
char *kk_wire_job_encode(const kk_render_job *job, const char *key_hex, const char *reply);

/* A decoded job message; its strings point into root (free it with
 * kk_wire_job_free). */
typedef struct kk_wire_job {
    void *root; /* cJSON */
    kk_render_job job;
    const char *key_hex, *reply;
} kk_wire_job;

/* Parses and checks a job message: every field present with its type, the
 * version ours, the key equal to the fields' key (nothing changed on the
 * way). KK_ERR_INPUT with the reason otherwise (the worker dead-letters
 * it). out->reply is set as soon as it is readable, even on failure, so
 * that the client can be told. */
kk_status kk_wire_job_decode(const char *text, size_t len, kk_wire_job *out, kk_error *err);
void kk_wire_job_free(kk_wire_job *j);

/* A cache entry as stored in Redis: "KKB1", u64 XXH3-64 of the payload,
 * the payload. */
void *kk_wire_blob_wrap(const void *blob, size_t n, size_t *out_n);
/* 0 and a malloc'd copy of the payload when the checksum holds, -1 when not. */
int kk_wire_blob_unwrap(const void *w, size_t n, void **blob, size_t *blob_n);

#endif
