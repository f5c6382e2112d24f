/*
 * redis_link.c - see worker_internal.h. Owns the Redis URL, the connection
 * (connect, AUTH, SELECT, timeouts) and the one-command helper that turns
 * hiredis's failures into kk_error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "worker_internal.h"

kk_status kk_redis_url_parse(const char *url, kk_redis_url *out, kk_error *err)
{
    memset(out, 0, sizeof *out);
    out->port = 6379;
    const char *scheme = "redis://";
    if (!url || strncmp(url, scheme, strlen(scheme)))
        return kk_error_set(err, KK_ERR_ARG, "Redis URL \"%s\": write redis://HOST[:PORT][/DB] (e.g. "
                            "redis://127.0.0.1:6379/0)", url ? url : "");
    const char *p = url + strlen(scheme);
    const char *at = strchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        size_t n = (size_t)(at - pw);
        if (n >= sizeof out->password)
            return kk_error_set(err, KK_ERR_ARG, "Redis URL: the password is too long");
        memcpy(out->password, pw, n);
        p = at + 1;
    }
    size_t hl = strcspn(p, ":/");
    if (!hl || hl >= sizeof out->host)
        return kk_error_set(err, KK_ERR_ARG, "Redis URL \"%s\": no host, or a host too long", url);
    memcpy(out->host, p, hl);
    p += hl;
    char *end;
    if (*p == ':') {
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535 || (*end && *end != '/'))
            return kk_error_set(err, KK_ERR_ARG, "Redis URL \"%s\": the port must be 1 .. 65535", url);
        out->port = (int)port;
        p = end;
    }
    if (*p == '/' && p[1]) {
        long db = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end || db < 0 || db > 10000)
            return kk_error_set(err, KK_ERR_ARG, "Redis URL \"%s\": the database must be a number (0 .. 10000)", url);
        out->db = (int)db;
    } else if (*p && strcmp(p, "/")) {
        return kk_error_set(err, KK_ERR_ARG, "Redis URL \"%s\": unexpected \"%s\"", url, p);
    }
    return KK_OK;
}

kk_status kk_redis_connect(const kk_redis_url *u, int timeout_ms, redisContext **out, kk_error *err)
{
    *out = NULL;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(u->host, u->port, tv);
    if (!c)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory connecting to Redis");
    if (c->err) {
        kk_error_set(err, KK_ERR_IO, "cannot reach Redis at %s:%d: %s", u->host, u->port, c->errstr);
        redisFree(c);
        return KK_ERR_IO;
    }
    redisSetTimeout(c, tv);
    int broken;
    redisReply *r = NULL;
    if (u->password[0] && !(r = kk_redis_cmd(c, &broken, err, "AUTH %s", u->password))) {
        redisFree(c);
        return KK_ERR_IO;
    }
    freeReplyObject(r);
    r = NULL;
    if (u->db && !(r = kk_redis_cmd(c, &broken, err, "SELECT %d", u->db))) {
        redisFree(c);
        return KK_ERR_IO;
    }
    freeReplyObject(r);
    *out = c;
    return KK_OK;
}

redisReply *kk_redis_cmd(redisContext *c, int *broken, kk_error *err, const char *fmt, ...)
{
    *broken = 0;
    if (!c) {
        *broken = 1;
        kk_error_set(err, KK_ERR_IO, "not connected to Redis");
        return NULL;
    }
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!r) {
        *broken = 1;
        kk_error_set(err, KK_ERR_IO, "Redis connection lost: %s", c->errstr[0] ? c->errstr : "no reply");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        kk_error_set(err, KK_ERR_IO, "Redis: %.900s", r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

kk_status kk_redis_name(char *dst, size_t cap, const char *prefix, const char *kind, const char *suffix, kk_error *err)
{
    int n = snprintf(dst, cap, "%s%s%s", prefix, kind, suffix ? suffix : "");
    if (n < 0 || (size_t)n >= cap)
        return kk_error_set(err, KK_ERR_ARG, "Redis key name \"%s%s...\" is too long", prefix, kind);
    return KK_OK;
}
