/* test_cli_speech.c - `kokoro say`, `phonemize` and `voices` on the real
 * model, as a user runs them (the helpers are test_cli.c's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_helpers.h"

static void test_say_writes_wav_and_word_times(void **state)
{
    remove(tmp("s.wav"));
    run_result r = run(NULL, "say 'One small step.' -o '%s' --timestamps '%s'", tmp("s.wav"), tmp("s.json"));
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.err, "wrote"));
    done(&r);
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(tmp("s.wav"), SFM_READ, &info);
    assert_non_null(sf);
    assert_int_equal(info.samplerate, 24000);
    assert_int_equal(info.channels, 1);
    assert_true(info.frames > 24000 / 2 && info.frames < 24000 * 5);
    sf_close(sf);
    char *j = slurp(tmp("s.json"), NULL);
    cJSON *root = cJSON_Parse(j);
    cJSON *words = cJSON_GetObjectItem(root, "words");
    assert_int_equal(cJSON_GetArraySize(words), 3);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(words, 1), "text")->valuestring, "small");
    double prev = 0;
    cJSON *w;
    cJSON_ArrayForEach(w, words)
    {
        double a = cJSON_GetObjectItem(w, "start_ms")->valuedouble, b = cJSON_GetObjectItem(w, "end_ms")->valuedouble;
        assert_true(a >= prev && b > a && b <= info.frames / 24.0);
        prev = b;
    }
    cJSON_Delete(root);
    free(j);
}

static void test_say_from_stdin_and_failures_leave_no_file(void **state)
{
    remove(tmp("in.wav"));
    run_result r = run("Read from standard input.", "say -o '%s'", tmp("in.wav"));
    assert_int_equal(r.code, 0);
    assert_int_equal(access(tmp("in.wav"), F_OK), 0);
    done(&r);
    remove(tmp("bad.wav"));
    r = run(NULL, "say 'Hi.' -v xx_nobody -o '%s'", tmp("bad.wav"));
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "xx_nobody"));
    assert_int_equal(access(tmp("bad.wav"), F_OK), -1);
    done(&r);
    r = run(NULL, "say 'Hi.' -o '%s' --model /nonexistent", tmp("bad.wav"));
    assert_int_not_equal(r.code, 0);
    assert_non_null(strstr(r.err, "/nonexistent"));
    assert_int_equal(access(tmp("bad.wav"), F_OK), -1);
    done(&r);
    r = run(NULL, "say 'Hi.' -s 9 -o '%s'", tmp("bad.wav"));
    assert_int_equal(r.code, 2);
    done(&r);
}

/* `say -o -` streams a WAV of unknown length (RIFF and data sizes
 * 0xFFFFFFFF) that holds the same samples as `say -o FILE`, and that FFmpeg
 * and aplay read to its end. Two sentences: two streaming chunks. */
static void test_say_streams_the_same_samples(void **state)
{
    (void)state;
    const char *text = "Hello there. This is a short test of streaming, in two chunks.";
    remove(tmp("f.wav"));
    run_result r = run(NULL, "say '%s' -o '%s'", text, tmp("f.wav"));
    assert_int_equal(r.code, 0);
    done(&r);
    r = run(NULL, "say '%s' -o -", text);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.err, "wrote the WAV stream"));
    size_t flen = 0;
    char *f = slurp(tmp("f.wav"), &flen);
    assert_non_null(f);
    assert_true(r.out_len > 44 + 24000); /* more than half a second */
    static const unsigned char unknown[4] = {0xFF, 0xFF, 0xFF, 0xFF};
    assert_memory_equal(r.out, "RIFF", 4);
    assert_memory_equal(r.out + 4, unknown, 4);
    assert_memory_equal(r.out + 36, "data", 4);
    assert_memory_equal(r.out + 40, unknown, 4);
    /* the file's samples (read with libsndfile as 16-bit) are the stream's */
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(tmp("f.wav"), SFM_READ, &info);
    assert_non_null(sf);
    assert_int_equal((size_t)info.frames, (r.out_len - 44) / 2);
    short *pcm = malloc((size_t)info.frames * sizeof *pcm);
    assert_non_null(pcm);
    assert_int_equal(sf_readf_short(sf, pcm, info.frames), info.frames);
    sf_close(sf);
    assert_memory_equal(r.out + 44, pcm, (size_t)info.frames * 2);
    free(pcm);
    free(f);
    /* the stream as a file for the readers */
    FILE *o = fopen(tmp("stream.wav"), "wb");
    assert_non_null(o);
    assert_int_equal(fwrite(r.out, 1, r.out_len, o), r.out_len);
    assert_int_equal(fclose(o), 0);
    size_t n_frames = (r.out_len - 44) / 2;
    done(&r);
    /* FFmpeg reads it from a pipe, every sample */
    const char *ffmpeg = getenv("FFMPEG");
    assert_non_null(ffmpeg);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cat '%s' | '%s' -v error -y -i - -f s16le '%s'", tmp("stream.wav"), ffmpeg,
             tmp("stream.raw"));
    assert_int_equal(system(cmd), 0);
    size_t raw_len = 0;
    char *raw = slurp(tmp("stream.raw"), &raw_len);
    assert_non_null(raw);
    assert_int_equal(raw_len, n_frames * 2);
    free(raw);
    /* aplay plays it from a pipe to its end (the null device: no sound card
     * needed), reading every byte */
    const char *aplay = getenv("APLAY");
    if (aplay && *aplay) {
        snprintf(cmd, sizeof cmd, "cat '%s' | { '%s' -q -D null - && wc -c; } > '%s'", tmp("stream.wav"), aplay,
                 tmp("aplay.txt"));
        assert_int_equal(system(cmd), 0);
        char *left = slurp(tmp("aplay.txt"), NULL);
        assert_non_null(left);
        assert_int_equal(atoi(left), 0);
        free(left);
    } else
        print_message("aplay not found (alsa-utils): its part of the check skipped\n");
    /* packed chunks: one chunk, no pause between the sentences, so shorter */
    r = run(NULL, "say '%s' -o - --chunks packed", text);
    assert_int_equal(r.code, 0);
    assert_true((r.out_len - 44) / 2 < n_frames);
    done(&r);
    /* the bench's first-audio line, stopped after the first chunk */
    r = run(NULL, "bench --first-audio --text 'Hi there. Yes.' --max-chunks 1 --threads 1");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "first audio "));
    assert_non_null(strstr(r.out, "3 words"));
    assert_non_null(strstr(r.out, "1 chunks (stopped), streaming chunks"));
    done(&r);
    r = run(NULL, "bench --first-audio --chunks sometimes");
    assert_int_equal(r.code, 2);
    done(&r);
    /* not to a terminal, and a bad --chunks */
    r = run(NULL, "say 'Hi.' --chunks sometimes -o -");
    assert_int_equal(r.code, 2);
    done(&r);
}

static void test_phonemize_and_voices(void **state)
{
    run_result r = run(NULL, "phonemize 'Say hello.'");
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "sˈA həlˈO.\n");
    done(&r);
    r = run(NULL, "phonemize -l en-gb 'Go.'");
    assert_string_equal(r.out, "ɡˈQ.\n");
    done(&r);
    r = run(NULL, "voices");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "af_heart         en-us    female"));
    assert_non_null(strstr(r.out, "bm_george        en-gb    male"));
    done(&r);
}

/* Japanese and Chinese voices: listed, marked as not supported, and `say`
 * refuses them by name before loading anything (exit 2, no file). */
static void test_unsupported_voices(void **state)
{
    run_result r = run(NULL, "voices");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "jf_alpha         ja       female  not supported"));
    assert_non_null(strstr(r.out, "zm_yunxi         zh       male    not supported"));
    const char *heart = strstr(r.out, "af_heart ");
    assert_non_null(heart);
    assert_null(strstr(strtok((char *)heart, "\n"), "not supported"));
    done(&r);
    remove(tmp("ja.wav"));
    r = run(NULL, "say 'Hello.' -v jf_alpha -o '%s'", tmp("ja.wav"));
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "voice jf_alpha: Japanese voices are not supported"));
    assert_int_equal(access(tmp("ja.wav"), F_OK), -1);
    done(&r);
    r = run(NULL, "say 'Hello.' -v zf_xiaobei:0.5,af_heart:0.5 -o '%s'", tmp("ja.wav"));
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "Chinese voices are not supported"));
    done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_say_writes_wav_and_word_times),
        cmocka_unit_test(test_say_from_stdin_and_failures_leave_no_file),
        cmocka_unit_test(test_say_streams_the_same_samples),
        cmocka_unit_test(test_phonemize_and_voices),
        cmocka_unit_test(test_unsupported_voices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
