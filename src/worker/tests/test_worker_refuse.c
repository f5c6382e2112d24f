/*
 * test_worker_refuse.c - half of the "refuse" case of redis_integration.sh:
 * against a Redis on HOST PORT with a live worker, queues a job for another
 * model identity and four malformed job messages, then checks that the
 * worker refused the first (its answer says why), answered the malformed
 * ones that name a reply stream as failed, and dead-lettered all four with
 * a reason. Exit 0 when so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "backend.h"
#include "kk_time.h"
#include "worker_internal.h"

#define REPLY "kk:reply:refuse-test"

static int failures;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "FAIL", what);
    failures += !ok;
}

static void xadd(redisContext *c, const char *field, const char *value)
{
    redisReply *r = redisCommand(c, "XADD kk:jobs * %s %s", field, value);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "XADD failed\n");
        exit(1);
    }
    freeReplyObject(r);
}

static const char *field(const redisReply *kv, const char *name)
{
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (!strcmp(kv->element[i]->str, name))
            return kv->element[i + 1]->str;
    return "";
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_worker_refuse HOST PORT\n");
        return 2;
    }
    redisContext *c = redisConnect(argv[1], atoi(argv[2]));
    if (!c || c->err) {
        fprintf(stderr, "cannot connect to Redis\n");
        return 1;
    }
    kk_render_job j = {.identity = "kkw-0123456789abcdef-e999",
                       .render_version = 2,
                       .voices_key = "/elsewhere/voices",
                       .text = "Hello there.",
                       .voice = "af_heart",
                       .phonemes = "həlˈO ðˈɛɹ.|0",
                       .speed = 1.0f,
                       .fit = {1, 1.25f, 1.2},
                       .cue_ms = 1500};
    kk_cache_key key = kk_render_job_key(&j);
    char hex[33];
    kk_cache_key_hex(&key, hex);
    char *foreign = kk_wire_job_encode(&j, hex, REPLY);
    j.text = "Hello again.";
    char *tampered = kk_wire_job_encode(&j, hex, REPLY); /* the key is the first text's */
    xadd(c, "job", foreign);
    xadd(c, "job", "not json {");
    xadd(c, "job", "{\"v\":1,\"reply\":\"" REPLY "\",\"key\":\"00\"}");
    xadd(c, "job", tampered);
    xadd(c, "something", "else");
    free(foreign);
    free(tampered);

    int refused = 0, failed = 0, n = 0;
    char last[64] = "0-0";
    double t0 = kk_now_s();
    while (n < 3 && kk_now_s() - t0 < 60) {
        redisReply *r = redisCommand(c, "XREAD COUNT 10 BLOCK 1000 STREAMS " REPLY " %s", last);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
            redisReply *en = r->element[0]->element[1];
            for (size_t i = 0; i < en->elements; i++, n++) {
                snprintf(last, sizeof last, "%s", en->element[i]->element[0]->str);
                const redisReply *kv = en->element[i]->element[1];
                const char *st = field(kv, "status"), *why = field(kv, "reason");
                printf("answer: %s: %s\n", st, why);
                if (!strcmp(st, "refused") && !strcmp(field(kv, "key"), hex) && strstr(why, "is for model") &&
                    strstr(why, j.identity))
                    refused++;
                if (!strcmp(st, "failed") && *why)
                    failed++;
            }
        }
        freeReplyObject(r);
    }
    check(refused == 1, "the job for another model is refused, and the answer says why");
    check(failed == 2, "the malformed jobs that name a reply stream are answered as failed, with the reason");
    int dead = 0, reasons = 0;
    t0 = kk_now_s();
    while (dead < 4 && kk_now_s() - t0 < 20) {
        redisReply *r = redisCommand(c, "XRANGE kk:dead - +");
        dead = r && r->type == REDIS_REPLY_ARRAY ? (int)r->elements : 0;
        reasons = 0;
        for (int i = 0; i < dead; i++)
            reasons += *field(r->element[i]->element[1], "reason") != '\0';
        freeReplyObject(r);
        if (dead < 4) {
            struct timespec ts = {0, 100000000L};
            nanosleep(&ts, NULL);
        }
    }
    check(dead == 4 && reasons == 4, "the four malformed messages are dead-lettered, each with a reason");
    redisReply *r = redisCommand(c, "XPENDING kk:jobs kk:workers");
    check(r && r->type == REDIS_REPLY_ARRAY && r->element[0]->integer == 0, "nothing is left pending");
    freeReplyObject(r);
    redisFree(c);
    return failures ? 1 : 0;
}
