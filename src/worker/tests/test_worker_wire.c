/*
 * test_worker_wire.c - the worker's wire format and Redis URL, without a
 * Redis or a model: job messages survive the trip exactly (the key holds),
 * a changed or incomplete message is refused with a reason, a stored entry
 * whose bytes changed fails its checksum, the precision travels and is
 * in the key, and URLs are read or refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "worker_internal.h"

static kk_render_job sample(void)
{
    return (kk_render_job){.identity = "kkw-0123456789abcdef-e1",
                           .render_version = 2,
                           .voices_key = "/models/voices",
                           .text = "Hello \"there\" \xc3\xa9t\xc3\xa9.",
                           .voice = "af_heart:0.7,am_adam:0.3",
                           .lang = NULL,
                           .phonemes = "həlˈO|0\nðˈɛɹ|300",
                           .speed = 1.1f,
                           .pitch = -2.5,
                           .fit = {1, 1.25f, 1.2},
                           .cue_ms = 1234};
}

static void test_roundtrip(void **state)
{
    (void)state;
    kk_render_job j = sample();
    kk_cache_key k = kk_render_job_key(&j);
    char hex[33];
    kk_cache_key_hex(&k, hex);
    char *msg = kk_wire_job_encode(&j, hex, "kk:reply:x");
    assert_non_null(msg);
    kk_wire_job w;
    kk_error e;
    assert_int_equal(kk_wire_job_decode(msg, strlen(msg), &w, &e), KK_OK);
    assert_string_equal(w.reply, "kk:reply:x");
    assert_string_equal(w.job.text, j.text);
    assert_string_equal(w.job.voice, j.voice);
    assert_null(w.job.lang);
    assert_true(w.job.speed == j.speed);
    assert_true(w.job.pitch == j.pitch);
    assert_true(w.job.fit.max_speed == j.fit.max_speed);
    assert_int_equal(w.job.cue_ms, 1234);
    kk_cache_key k2 = kk_render_job_key(&w.job);
    assert_memory_equal(k.bytes, k2.bytes, 16);
    kk_wire_job_free(&w);
    free(msg);
    /* any field changes the key */
    j.speed = 1.1000001f;
    kk_cache_key k3 = kk_render_job_key(&j);
    assert_memory_not_equal(k.bytes, k3.bytes, 16);
}

static void test_refused(void **state)
{
    (void)state;
    kk_render_job j = sample();
    kk_cache_key k = kk_render_job_key(&j);
    char hex[33];
    kk_cache_key_hex(&k, hex);
    j.text = "changed";
    char *msg = kk_wire_job_encode(&j, hex, "kk:reply:x");
    kk_wire_job w;
    kk_error e;
    assert_int_equal(kk_wire_job_decode(msg, strlen(msg), &w, &e), KK_ERR_INPUT);
    assert_non_null(strstr(e.msg, "changed on the way"));
    assert_string_equal(w.reply, "kk:reply:x"); /* the client can still be told */
    kk_wire_job_free(&w);
    free(msg);
    const char *bad[] = {"", "[]", "not json", "{\"v\":1}", "{\"v\":2,\"reply\":\"r\"}",
                         "{\"v\":1,\"reply\":\"r\",\"key\":\"k\",\"identity\":1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(kk_wire_job_decode(bad[i], strlen(bad[i]), &w, &e), KK_ERR_INPUT);
        assert_true(e.msg[0] != '\0');
        kk_wire_job_free(&w);
    }
}

/* The precision travels (absent for exact, so the exact jobs of a client
 * from before it was a setting keep their keys) and is in the key. */
static void test_precision(void **state)
{
    (void)state;
    kk_render_job j = sample();
    kk_cache_key ke = kk_render_job_key(&j);
    char hex[33];
    kk_cache_key_hex(&ke, hex);
    char *msg = kk_wire_job_encode(&j, hex, "kk:reply:x");
    assert_non_null(msg);
    assert_null(strstr(msg, "precision"));
    free(msg);

    j.precision = KK_PRECISION_FAST;
    j.identity = "kkw-0123456789abcdef-e1-fast";
    kk_cache_key kf = kk_render_job_key(&j);
    assert_memory_not_equal(ke.bytes, kf.bytes, 16);
    kk_cache_key_hex(&kf, hex);
    msg = kk_wire_job_encode(&j, hex, "kk:reply:x");
    assert_non_null(strstr(msg, "\"precision\":\"fast\""));
    kk_wire_job w;
    kk_error e;
    assert_int_equal(kk_wire_job_decode(msg, strlen(msg), &w, &e), KK_OK);
    assert_int_equal(w.job.precision, KK_PRECISION_FAST);
    kk_wire_job_free(&w);

    /* a precision the worker does not know is refused, with the choices */
    char *bad = malloc(strlen(msg) + 16);
    char *at = strstr(msg, "\"fast\"");
    assert_non_null(at);
    snprintf(bad, strlen(msg) + 16, "%.*s\"turbo\"%s", (int)(at - msg), msg, at + 6);
    assert_int_equal(kk_wire_job_decode(bad, strlen(bad), &w, &e), KK_ERR_INPUT);
    assert_non_null(strstr(e.msg, "turbo"));
    assert_non_null(strstr(e.msg, "exact"));
    kk_wire_job_free(&w);
    /* the same message said exact: the key no longer holds */
    snprintf(bad, strlen(msg) + 16, "%.*s\"exact\"%s", (int)(at - msg), msg, at + 6);
    assert_int_equal(kk_wire_job_decode(bad, strlen(bad), &w, &e), KK_ERR_INPUT);
    assert_non_null(strstr(e.msg, "changed on the way"));
    kk_wire_job_free(&w);
    free(bad);
    free(msg);
}

static void test_blob(void **state)
{
    (void)state;
    const char data[] = "some audio bytes";
    size_t n, bn;
    unsigned char *w = kk_wire_blob_wrap(data, sizeof data, &n);
    assert_non_null(w);
    void *b;
    assert_int_equal(kk_wire_blob_unwrap(w, n, &b, &bn), 0);
    assert_int_equal(bn, sizeof data);
    assert_memory_equal(b, data, bn);
    free(b);
    w[n - 3] ^= 1;
    assert_int_equal(kk_wire_blob_unwrap(w, n, &b, &bn), -1);
    assert_int_equal(kk_wire_blob_unwrap(w, 5, &b, &bn), -1);
    free(w);
}

static void test_url(void **state)
{
    (void)state;
    kk_redis_url u;
    kk_error e;
    assert_int_equal(kk_redis_url_parse("redis://127.0.0.1:6380/2", &u, &e), KK_OK);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);
    assert_int_equal(kk_redis_url_parse("redis://:secret@redis", &u, &e), KK_OK);
    assert_string_equal(u.password, "secret");
    assert_string_equal(u.host, "redis");
    assert_int_equal(u.port, 6379);
    const char *bad[] = {"http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h:12x", "redis://h/x",
                         "redis://h/1/2", NULL};
    for (int i = 0; i < 8; i++)
        assert_int_equal(kk_redis_url_parse(bad[i], &u, &e), KK_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_precision),
        cmocka_unit_test(test_blob),
        cmocka_unit_test(test_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
