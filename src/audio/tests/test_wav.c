/* test_wav.c - WAV writing: what is written reads back; failures and aborts
 * leave no file and never touch an existing one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <sndfile.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wav.h"
#include "kk_testutil.h"

static const char *tmp(const char *name) { return kk_test_path(name); }

static int count_tmp(void)
{
    DIR *dp = opendir(kk_test_tmpdir());
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)))
        n += strstr(e->d_name, ".wav.") != NULL;
    closedir(dp);
    return n;
}

static void test_round_trip(void **state)
{
    for (int fmt = 0; fmt < 2; fmt++) {
        const char *path = tmp(fmt ? "f32.wav" : "pcm.wav");
        kk_wav_writer *w;
        kk_error err;
        assert_int_equal(kk_wav_open(&w, path, 24000, fmt ? KK_WAV_FLOAT32 : KK_WAV_PCM16, &err), KK_OK);
        float x[1000];
        for (int i = 0; i < 1000; i++)
            x[i] = 0.5f * sinf(i * 0.05f);
        x[10] = 3.0f; /* clipped in 16-bit, kept in float */
        assert_int_equal(kk_wav_write(w, x, 600, &err), KK_OK);
        assert_int_equal(kk_wav_write(w, x + 600, 400, &err), KK_OK);
        assert_int_equal(kk_wav_frames(w), 1000);
        assert_int_equal(kk_wav_commit(w, &err), KK_OK);
        SF_INFO info = {0};
        SNDFILE *sf = sf_open(path, SFM_READ, &info);
        assert_non_null(sf);
        assert_int_equal(info.samplerate, 24000);
        assert_int_equal(info.channels, 1);
        assert_int_equal(info.frames, 1000);
        float y[1000];
        assert_int_equal(sf_readf_float(sf, y, 1000), 1000);
        sf_close(sf);
        assert_true(fabsf(y[500] - x[500]) < (fmt ? 1e-7f : 1e-4f));
        assert_true(fmt ? y[10] == 3.0f : y[10] <= 1.0f && y[10] > 0.99f);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        mode_t mask = umask(022);
        umask(mask);
        assert_int_equal(st.st_mode & 0777, 0666 & ~mask); /* like any file we write, not mkstemp's 0600 */
    }
    assert_int_equal(count_tmp(), 0);
}

static void test_abort_keeps_existing_file(void **state)
{
    const char *path = tmp("keep.wav");
    FILE *f = fopen(path, "wb");
    fputs("precious", f);
    fclose(f);
    kk_wav_writer *w;
    kk_error err;
    assert_int_equal(kk_wav_open(&w, path, 24000, KK_WAV_PCM16, &err), KK_OK);
    float x[100] = {0};
    assert_int_equal(kk_wav_write(w, x, 100, &err), KK_OK);
    kk_wav_abort(w);
    char buf[16] = {0};
    f = fopen(path, "rb");
    assert_int_equal(fread(buf, 1, sizeof buf, f), 8);
    fclose(f);
    assert_string_equal(buf, "precious");
    assert_int_equal(count_tmp(), 0);
}

static void test_bad_paths(void **state)
{
    kk_wav_writer *w = NULL;
    kk_error err;
    assert_int_equal(kk_wav_open(&w, tmp("no/such/dir/x.wav"), 24000, KK_WAV_PCM16, &err), KK_ERR_IO);
    assert_null(w);
    assert_non_null(strstr(err.msg, "no/such/dir/x.wav"));
    assert_int_equal(kk_wav_open(&w, "-", 24000, KK_WAV_PCM16, &err), KK_ERR_ARG);
    /* the rates every writer takes (export.h), no file left behind */
    assert_int_equal(kk_wav_open(&w, tmp("slow.wav"), 999, KK_WAV_PCM16, &err), KK_ERR_ARG);
    assert_null(w);
    assert_int_equal(kk_wav_open(&w, tmp("fast.wav"), 384001, KK_WAV_FLOAT32, &err), KK_ERR_ARG);
    assert_null(w);
    assert_int_equal(count_tmp(), 0);
}

/* A stream to a pipe: the header of unknown length, the samples as a file
 * would hold them (clipped), and a reader that went away an error, not a
 * crash. */
static void test_stream(void **state)
{
    (void)state;
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    kk_wav_writer *w = NULL;
    kk_error err;
    assert_int_equal(kk_wav_open_stream(&w, fd[1], 999, &err), KK_ERR_ARG);
    assert_int_equal(kk_wav_open_stream(&w, fd[1], 24000, &err), KK_OK);
    const float x[4] = {0.5f, -2.0f, 2.0f, 0.0f};
    assert_int_equal(kk_wav_write(w, x, 4, &err), KK_OK);
    assert_int_equal(kk_wav_frames(w), 4);
    assert_int_equal(kk_wav_commit(w, &err), KK_OK);
    unsigned char b[64];
    ssize_t n = read(fd[0], b, sizeof b);
    assert_int_equal(n, 44 + 8);
    assert_memory_equal(b, "RIFF\xff\xff\xff\xff" "WAVEfmt ", 16);
    assert_memory_equal(b + 36, "data\xff\xff\xff\xff", 8);
    int16_t pcm[4];
    memcpy(pcm, b + 44, 8);
    assert_true(pcm[0] == 16384 || pcm[0] == 16383); /* libsndfile's scale, as in the files */
    assert_int_equal(pcm[1], -32768);
    assert_int_equal(pcm[2], 32767);
    assert_int_equal(pcm[3], 0);
    /* the reader closes: the next write fails with a message */
    close(fd[0]);
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    assert_int_equal(kk_wav_open_stream(&w, fd[1], 24000, &err), KK_ERR_IO);
    assert_null(w);
    signal(SIGPIPE, old);
    close(fd[1]);
}

/* A WAV in memory: the header a player needs, clipped samples, NaN as 0. */
static void test_memory_wav(void **state)
{
    (void)state;
    const float x[4] = {0.5f, -2.0f, 2.0f, 0.0f / 0.0f};
    size_t len = 0;
    char *w = kk_wav_memory(x, 4, 24000, &len);
    assert_non_null(w);
    assert_int_equal(len, 44 + 8);
    assert_memory_equal(w, "RIFF", 4);
    assert_memory_equal(w + 8, "WAVEfmt ", 8);
    assert_memory_equal(w + 36, "data", 4);
    uint32_t rate, data;
    int16_t pcm[4];
    memcpy(&rate, w + 24, 4);
    memcpy(&data, w + 40, 4);
    memcpy(pcm, w + 44, 8);
    assert_int_equal(rate, 24000);
    assert_int_equal(data, 8);
    assert_int_equal(pcm[0], 16384);
    assert_int_equal(pcm[1], -32768);
    assert_int_equal(pcm[2], 32767);
    assert_int_equal(pcm[3], 0);
    free(w);
    w = kk_wav_memory(NULL, 0, 24000, &len); /* empty audio is a valid file */
    assert_non_null(w);
    assert_int_equal(len, 44);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_abort_keeps_existing_file),
        cmocka_unit_test(test_bad_paths),
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_memory_wav),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
