/* test_voice.c - voice packs: loading, style rows, blends, listing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"
#include "voice.h"

#define N (KK_VOICE_ROWS * KK_VOICE_DIM)

/* Writes a pack whose value at (row, col) is base + row + col/1000. */
static void make_pack(const char *dir, const char *id, float base)
{
    float *d = malloc(N * sizeof *d);
    for (int r = 0; r < KK_VOICE_ROWS; r++)
        for (int c = 0; c < KK_VOICE_DIM; c++)
            d[r * KK_VOICE_DIM + c] = base + (float)r + (float)c / 1000.0f;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.bin", dir, id);
    write_file(path, d, N * sizeof *d);
    free(d);
}

static const char *voices_dir(void)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s", tmp_path("voices"));
    mkdir(dir, 0755);
    make_pack(dir, "af_test", 0.0f);
    make_pack(dir, "bm_other", 1000.0f);
    make_pack(dir, "zf_third", -1000.0f);
    write_file(tmp_path("voices/readme.txt"), "x", 1);
    return dir;
}

static void test_load_and_rows(void **state)
{
    (void)state;
    const char *dir = voices_dir();
    kk_voice *v;
    kk_error err;
    assert_int_equal(kk_voice_load(dir, "af_test", &v, &err), KK_OK);
    assert_string_equal(v->id, "af_test");
    const float *s = kk_voice_style(v, 1, &err); /* 1 token -> row 0 */
    assert_non_null(s);
    assert_float_equal(s[0], 0.0f, 0);
    assert_float_equal(s[255], 0.255f, 1e-6);
    s = kk_voice_style(v, 37, &err); /* row 36 */
    assert_float_equal(s[0], 36.0f, 0);
    assert_float_equal(s[128], 36.128f, 1e-5);
    s = kk_voice_style(v, 510, &err);
    assert_float_equal(s[1], 509.001f, 1e-4);
    assert_null(kk_voice_style(v, 0, &err));
    assert_int_equal(err.code, KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "1 to 510"));
    assert_null(kk_voice_style(v, 511, &err));
    kk_voice_free(v);
}

static void test_wrong_size(void **state)
{
    (void)state;
    voices_dir();
    write_file(tmp_path("voices/short_v.bin"), "abcd", 4);
    kk_voice *v;
    kk_error err;
    assert_int_equal(kk_voice_load_file(tmp_path("voices/short_v.bin"), &v, &err), KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "522240"));
    assert_non_null(strstr(err.msg, "has 4"));
    remove(tmp_path("voices/short_v.bin"));
    /* A pack with a NaN is corrupt. */
    float *d = calloc(N, sizeof *d);
    d[1000] = 0.0f / 0.0f;
    write_file(tmp_path("voices/nan_v.bin"), d, N * sizeof *d);
    free(d);
    assert_int_equal(kk_voice_load_file(tmp_path("voices/nan_v.bin"), &v, &err), KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "row 3"));
    remove(tmp_path("voices/nan_v.bin"));
}

static void test_blend(void **state)
{
    (void)state;
    const char *dir = voices_dir();
    kk_voice *v;
    kk_error err;
    /* 3:1 normalises to 0.75/0.25 */
    assert_int_equal(kk_voice_load(dir, "af_test:3, bm_other:1", &v, &err), KK_OK);
    const float *s = kk_voice_style(v, 11, &err); /* row 10 */
    assert_float_equal(s[0], 0.75f * 10.0f + 0.25f * 1010.0f, 1e-3);
    assert_float_equal(s[100], 0.75f * 10.1f + 0.25f * 1010.1f, 1e-3);
    assert_string_equal(v->id, "af_test:3, bm_other:1");
    kk_voice_free(v);
    /* Weights that already sum to 1, three voices. */
    assert_int_equal(kk_voice_load(dir, "af_test:0.5,bm_other:0.25,zf_third:0.25", &v, &err),
                     KK_OK);
    assert_float_equal(kk_voice_style(v, 1, &err)[0], 0.0f, 1e-3);
    kk_voice_free(v);
    /* A bare id in a blend counts 1. */
    assert_int_equal(kk_voice_load(dir, "af_test,bm_other", &v, &err), KK_OK);
    assert_float_equal(kk_voice_style(v, 1, &err)[0], 500.0f, 1e-3);
    kk_voice_free(v);
}

static void test_blend_errors(void **state)
{
    (void)state;
    const char *dir = voices_dir();
    kk_voice *v = NULL;
    kk_error err;
    assert_int_equal(kk_voice_load(dir, "af_test:0.5,xx_missing:0.5", &v, &err), KK_ERR_INPUT);
    assert_null(v);
    assert_non_null(strstr(err.msg, "xx_missing"));
    assert_non_null(strstr(err.msg, "voices/xx_missing.bin")); /* where it looked */
    assert_non_null(strstr(err.msg, "af_test, bm_other, zf_third"));
    assert_int_equal(kk_voice_load(dir, "af_test:abc", &v, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "abc"));
    assert_int_equal(kk_voice_load(dir, "af_test:-1", &v, &err), KK_ERR_ARG);
    assert_int_equal(kk_voice_load(dir, "af_test:", &v, &err), KK_ERR_ARG);
    assert_int_equal(kk_voice_load(dir, "../etc/passwd", &v, &err), KK_ERR_ARG);
    assert_int_equal(kk_voice_load(dir, "", &v, &err), KK_ERR_ARG);
    assert_int_equal(kk_voice_load(dir, ",", &v, &err), KK_ERR_ARG);
}

static void test_list(void **state)
{
    (void)state;
    const char *dir = voices_dir();
    kk_voice_info *list;
    size_t n;
    kk_error err;
    assert_int_equal(kk_voice_list(dir, &list, &n, &err), KK_OK);
    assert_int_equal(n, 3); /* readme.txt is not a voice */
    assert_string_equal(list[0].id, "af_test");
    assert_string_equal(list[0].language, "en-us");
    assert_int_equal(list[0].gender, 'f');
    assert_string_equal(list[1].id, "bm_other");
    assert_string_equal(list[1].language, "en-gb");
    assert_int_equal(list[1].gender, 'm');
    assert_string_equal(list[2].language, "zh");
    free(list);
    assert_string_equal(kk_voice_language("pf_dora"), "pt-br");
    assert_string_equal(kk_voice_language("hm_psi"), "hi");
    assert_string_equal(kk_voice_language("qq_x"), "unknown");
    assert_int_equal(kk_voice_list(tmp_path("no-such-dir"), &list, &n, &err), KK_ERR_IO);
}

static void test_real_voices(void **state)
{
    (void)state;
    const char *mdir = real_model_dir();
    if (!mdir) {
        printf("SKIP: real model not found (set KOKORO_MODEL_DIR)\n");
        skip();
    }
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/voices", mdir);
    kk_voice_info *list;
    size_t n;
    kk_error err;
    assert_int_equal(kk_voice_list(dir, &list, &n, &err), KK_OK);
    assert_int_equal(n, 54);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i].id, "af_heart"))
            found = list[i].gender == 'f' && !strcmp(list[i].language, "en-us");
    assert_true(found);
    free(list);
    kk_voice *v;
    assert_int_equal(kk_voice_load(dir, "af_heart", &v, &err), KK_OK);
    /* Row T-1 is the bytes at (T-1)*256 floats. */
    snprintf(path, sizeof path, "%s/af_heart.bin", dir);
    size_t len;
    uint8_t *raw = read_file(path, &len);
    float want[256];
    memcpy(want, raw + (size_t)41 * 256 * 4, sizeof want);
    const float *s = kk_voice_style(v, 42, &err);
    assert_memory_equal(s, want, sizeof want);
    free(raw);
    kk_voice *b;
    assert_int_equal(kk_voice_load(dir, "af_heart:0.7,am_michael:0.3", &b, &err), KK_OK);
    kk_voice *m;
    assert_int_equal(kk_voice_load(dir, "am_michael", &m, &err), KK_OK);
    const float *bs = kk_voice_style(b, 42, &err), *ms = kk_voice_style(m, 42, &err);
    for (int i = 0; i < 256; i++)
        assert_float_equal(bs[i], 0.7f * s[i] + 0.3f * ms[i], 1e-5);
    kk_voice_free(v);
    kk_voice_free(b);
    kk_voice_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_and_rows), cmocka_unit_test(test_wrong_size),
        cmocka_unit_test(test_blend),         cmocka_unit_test(test_blend_errors),
        cmocka_unit_test(test_list),          cmocka_unit_test(test_real_voices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
