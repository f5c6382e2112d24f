/*
 * test_stream.c - the in-memory streaming encoders (stream.h): each format's
 * bytes, written to a file in pieces of odd sizes, decode back (FFmpeg,
 * kk_audio_decode) to the length that went in and to the same sound; a
 * stream cut into many writes equals one written in one go for the
 * formats without codec state (WAV, PCM); one write's audio is out at
 * once, bar the codec's frame (prompt); bad names are refused.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "export.h"
#include "kk_testutil.h"
#include "stream.h"

#define RATE 24000

static float *tone(size_t n)
{
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.4f * sinf(2.0f * 3.14159265f * 440.0f * (float)i / RATE) * (i < n / 2 ? 1.0f : 0.5f);
    return x;
}

/* Encodes x in pieces of 1, 7, 333, 4801 ... samples into b. */
static void encode(kk_stream_format f, const float *x, size_t n, kk_buf *b)
{
    kk_error err = {0};
    kk_stream_enc *e = NULL;
    assert_int_equal(kk_stream_enc_open(&e, f, RATE, 0, &err), KK_OK);
    static const size_t steps[] = {1, 7, 333, 4801, 960, 12000};
    size_t k = 0;
    for (size_t i = 0; i < n; k++) {
        size_t m = steps[k % 6];
        if (m > n - i)
            m = n - i;
        assert_int_equal(kk_stream_enc_write(e, x + i, m, b, &err), KK_OK);
        i += m;
    }
    assert_int_equal(kk_stream_enc_finish(e, b, &err), KK_OK);
    size_t len = b->len;
    assert_int_equal(kk_stream_enc_finish(e, b, &err), KK_OK); /* a second finish adds nothing */
    assert_int_equal(b->len, len);
    kk_stream_enc_free(e);
}

static void decodes_back(kk_stream_format f, double tolerance_s)
{
    size_t n = RATE * 3 / 2 + 123;
    float *x = tone(n);
    kk_buf b = {0};
    encode(f, x, n, &b);
    assert_true(b.len > 100);
    char name[64];
    snprintf(name, sizeof name, "stream_test.%s", f == KK_STREAM_PCM ? "raw" : kk_stream_format_name(f));
    const char *path = kk_test_path(name);
    if (f == KK_STREAM_PCM) { /* FFmpeg needs a header to read raw PCM: compare the bytes */
        assert_int_equal(b.len, n * 2);
        const int16_t *s = (const int16_t *)b.data;
        for (size_t i = 0; i < n; i++)
            assert_true(fabsf(s[i] / 32767.0f - x[i]) < 1e-3f);
        free(x);
        kk_buf_free(&b);
        return;
    }
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b.data, 1, b.len, fp), b.len);
    fclose(fp);
    float *y = NULL;
    size_t m = 0;
    int rate = 0;
    kk_error err = {0};
    assert_int_equal(kk_audio_decode(path, RATE, &y, &m, &rate, &err), KK_OK);
    double got = (double)m / RATE, want = (double)n / RATE;
    if (fabs(got - want) > tolerance_s)
        fail_msg("%s: decoded %.4f s, encoded %.4f s", kk_stream_format_name(f), got, want);
    /* The same sound: energy of the loud first half within 20 %. */
    double ex = 0, ey = 0;
    for (size_t i = RATE / 10; i < n / 2 - RATE / 10 && i < m; i++)
        ex += (double)x[i] * x[i], ey += (double)y[i] * y[i];
    assert_true(ey > 0.8 * ex && ey < 1.2 * ex);
    remove(path);
    free(x);
    free(y);
    kk_buf_free(&b);
}

static void test_mp3(void **s) { (void)s; decodes_back(KK_STREAM_MP3, 0.08); }
static void test_opus(void **s) { (void)s; decodes_back(KK_STREAM_OPUS, 0.03); }
static void test_aac(void **s) { (void)s; decodes_back(KK_STREAM_AAC, 0.08); }
static void test_flac(void **s) { (void)s; decodes_back(KK_STREAM_FLAC, 0.001); }
static void test_wav(void **s) { (void)s; decodes_back(KK_STREAM_WAV, 0.001); }
static void test_pcm(void **s) { (void)s; decodes_back(KK_STREAM_PCM, 0); }

/* Prompt: what one write of a chunk makes is out at once, not held for
 * the next chunk or the finish. After one write of 1 s (no finish) the
 * bytes so far decode to that second less at most what the codec holds:
 * its frame and lookahead (MP3 ~0.07 s, AAC ~0.09 s, FLAC one 0.19 s
 * frame, Opus 20 ms; the Ogg pages are flushed per packet, not per
 * second). The first chunk of a streamed answer is heard when made. */
static void prompt(kk_stream_format f, double held_s)
{
    size_t n = RATE;
    float *x = tone(n);
    kk_error err = {0};
    kk_stream_enc *e = NULL;
    assert_int_equal(kk_stream_enc_open(&e, f, RATE, 0, &err), KK_OK);
    kk_buf b = {0};
    assert_int_equal(kk_stream_enc_write(e, x, n, &b, &err), KK_OK);
    char name[64];
    snprintf(name, sizeof name, "stream_prompt.%s", kk_stream_format_name(f));
    const char *path = kk_test_path(name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b.data, 1, b.len, fp), b.len);
    fclose(fp);
    float *y = NULL;
    size_t m = 0;
    int rate = 0;
    assert_int_equal(kk_audio_decode(path, RATE, &y, &m, &rate, &err), KK_OK);
    double got = (double)m / RATE;
    fprintf(stderr, "%s: %zu bytes after a write of 1 s, decoding to %.3f s\n", kk_stream_format_name(f), b.len, got);
    if (got < 1.0 - held_s)
        fail_msg("%s: one write of 1 s gave bytes of %.3f s only (held back: %.3f s)", kk_stream_format_name(f), got,
                 1.0 - got);
    remove(path);
    free(y);
    free(x);
    kk_buf_free(&b);
    kk_stream_enc_free(e);
}

static void test_prompt(void **s)
{
    (void)s;
    prompt(KK_STREAM_MP3, 0.1);
    prompt(KK_STREAM_OPUS, 0.05);
    prompt(KK_STREAM_AAC, 0.12);
    prompt(KK_STREAM_FLAC, 0.2);
    prompt(KK_STREAM_WAV, 0.0);
}

static void test_names(void **s)
{
    (void)s;
    kk_stream_format f;
    kk_error err = {0};
    assert_int_equal(kk_stream_format_parse("OPUS", &f, &err), KK_OK);
    assert_int_equal(f, KK_STREAM_OPUS);
    assert_string_equal(kk_stream_format_mime(f), "audio/ogg");
    assert_int_equal(kk_stream_format_parse("ogg", &f, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "mp3, opus"));
    assert_int_equal(kk_stream_format_parse(NULL, &f, &err), KK_ERR_ARG);
    kk_stream_enc *e = NULL;
    assert_int_equal(kk_stream_enc_open(&e, KK_STREAM_OPUS, 22050, 0, &err), KK_ERR_ARG); /* Opus has no 22.05 kHz */
    assert_null(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mp3),  cmocka_unit_test(test_opus), cmocka_unit_test(test_aac),
        cmocka_unit_test(test_flac), cmocka_unit_test(test_wav),  cmocka_unit_test(test_pcm),
        cmocka_unit_test(test_names),  cmocka_unit_test(test_prompt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
