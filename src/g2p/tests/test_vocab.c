/* test_vocab.c - vocabulary loading, tokenizing, unknown symbols, voices. */
#include "helpers.h"

#include <stdio.h>
#include <string.h>

static void lang_for_voice(void **state)
{
    (void)state;
    assert_string_equal(kk_g2p_lang_for_voice("af_heart"), "en-us");
    assert_string_equal(kk_g2p_lang_for_voice("am_michael"), "en-us");
    assert_string_equal(kk_g2p_lang_for_voice("bf_emma"), "en-gb");
    assert_string_equal(kk_g2p_lang_for_voice("ef_dora"), "es");
    assert_string_equal(kk_g2p_lang_for_voice("ff_siwis"), "fr-fr");
    assert_string_equal(kk_g2p_lang_for_voice("hf_alpha"), "hi");
    assert_string_equal(kk_g2p_lang_for_voice("im_nicola"), "it");
    assert_string_equal(kk_g2p_lang_for_voice("pf_dora"), "pt-br");
    assert_string_equal(kk_g2p_lang_for_voice("jf_alpha"), "ja");
    assert_string_equal(kk_g2p_lang_for_voice("zf_xiaobei"), "zh");
    assert_null(kk_g2p_lang_for_voice("xf_nobody"));
    assert_null(kk_g2p_lang_for_voice("heart"));
    assert_null(kk_g2p_lang_for_voice(""));
    assert_null(kk_g2p_lang_for_voice(NULL));
}

/* A small vocab written by the test: runs without the model. */
static kk_g2p *small_vocab(warnings *w, int strict)
{
    const char *path = tmp_path("small_vocab.json");
    write_file(path, "{\"vocab\": {\" \": 16, \"h\": 50, \"ə\": 83, \"l\": 54, \"ˈ\": 156, \"O\": 31,"
                     " \"ab\": 200, \"a\": 43, \",\": 3}}");
    kk_g2p_params p = kk_g2p_default_params();
    p.warn = collect_warning;
    p.warn_user = w;
    p.strict = strict;
    kk_g2p *g = NULL;
    kk_error err;
    assert_int_equal(kk_g2p_new(path, &p, &g, &err), KK_OK);
    return g;
}

static void tokenize_small(void **state)
{
    (void)state;
    warnings w = {0};
    kk_g2p *g = small_vocab(&w, 0);
    assert_int_equal(kk_g2p_vocab_size(g), 9);
    int64_t ids[16];
    size_t n = 0;
    kk_error err;
    assert_int_equal(kk_g2p_tokenize(g, "həlˈO, a ab", ids, 16, &n, &err), KK_OK);
    const int64_t want[] = {50, 83, 54, 156, 31, 3, 16, 43, 16, 200}; /* "ab" longest match */
    assert_int_equal(n, sizeof want / sizeof want[0]);
    assert_memory_equal(ids, want, sizeof want);
    assert_int_equal(w.count, 0);
    /* counting only */
    assert_int_equal(kk_g2p_tokenize(g, "həl", NULL, 0, &n, &err), KK_OK);
    assert_int_equal(n, 3);
    /* too small a buffer */
    assert_int_equal(kk_g2p_tokenize(g, "həl", ids, 2, &n, &err), KK_ERR_ARG);
    kk_g2p_free(g);
}

static void unknown_symbol_reported(void **state)
{
    (void)state;
    warnings w = {0};
    kk_g2p *g = small_vocab(&w, 0);
    int64_t ids[16];
    size_t n = 0;
    kk_error err;
    assert_int_equal(kk_g2p_tokenize(g, "hʘə", ids, 16, &n, &err), KK_OK);
    assert_int_equal(n, 2); /* left out ... */
    assert_int_equal(ids[0], 50);
    assert_int_equal(ids[1], 83);
    assert_int_equal(w.count, 1); /* ... but reported */
    assert_int_equal(w.kinds[KK_G2P_WARN_UNKNOWN_SYMBOL], 1);
    assert_string_equal(w.symbol, "ʘ");
    assert_int_equal(w.pos, 1);
    assert_non_null(strstr(w.all, "U+0298"));
    kk_g2p_free(g);

    /* strict: an error that names the symbol */
    warnings w2 = {0};
    g = small_vocab(&w2, 1);
    assert_int_equal(kk_g2p_tokenize(g, "həʘ", ids, 16, &n, &err), KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "'ʘ'"));
    assert_non_null(strstr(err.msg, "position 2"));
    kk_g2p_free(g);
}

static void bad_model_path(void **state)
{
    (void)state;
    kk_g2p *g = (kk_g2p *)1;
    kk_error err;
    assert_int_equal(kk_g2p_new("/nonexistent/model", NULL, &g, &err), KK_ERR_IO);
    assert_null(g);
    assert_non_null(strstr(err.msg, "/nonexistent/model/config.json"));
    const char *path = tmp_path("not_vocab.json");
    write_file(path, "{\"istftnet\": {}}");
    assert_int_equal(kk_g2p_new(path, NULL, &g, &err), KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "vocab"));
    write_file(path, "{\"vocab\": {\"a\": 1000}}");
    assert_int_equal(kk_g2p_new(path, NULL, &g, &err), KK_ERR_INPUT);
    write_file(path, "{\"vocab\": {\"a\": 43}}"); /* no space symbol */
    assert_int_equal(kk_g2p_new(path, NULL, &g, &err), KK_ERR_INPUT);
    kk_g2p_params p = kk_g2p_default_params();
    p.max_tokens = 511;
    assert_int_equal(kk_g2p_new(path, &p, &g, &err), KK_ERR_ARG);
}

static void model_vocab(void **state)
{
    (void)state;
    NEED_MODEL();
    warnings w = {0};
    kk_g2p *g = new_g2p(&w);
    assert_int_equal(kk_g2p_vocab_size(g), 114);
    assert_int_equal(kk_g2p_symbol_id(g, " "), 16);
    assert_int_equal(kk_g2p_symbol_id(g, ";"), 1);
    assert_int_equal(kk_g2p_symbol_id(g, "A"), 24);
    assert_int_equal(kk_g2p_symbol_id(g, "ʤ"), 82);
    assert_int_equal(kk_g2p_symbol_id(g, "ˈ"), 156);
    assert_int_equal(kk_g2p_symbol_id(g, "ᵻ"), 177);
    assert_int_equal(kk_g2p_symbol_id(g, "$"), -1); /* the pad is not a symbol */
    assert_int_equal(kk_g2p_symbol_id(g, "ʘ"), -1);
    int64_t ids[8];
    size_t n;
    kk_error err;
    assert_int_equal(kk_g2p_tokenize(g, "həlˈO", ids, 8, &n, &err), KK_OK);
    const int64_t want[] = {50, 83, 54, 156, 31};
    assert_int_equal(n, 5);
    assert_memory_equal(ids, want, sizeof want);
    /* the model folder or its config.json both work */
    char cfg[4200];
    snprintf(cfg, sizeof cfg, "%s/config.json", model_dir());
    kk_g2p *g2 = NULL;
    assert_int_equal(kk_g2p_new(cfg, NULL, &g2, &err), KK_OK);
    assert_int_equal(kk_g2p_vocab_size(g2), 114);
    kk_g2p_free(g2);
    kk_g2p_free(g);
}

static void languages(void **state)
{
    (void)state;
    NEED_MODEL();
    warnings w = {0};
    kk_g2p *g = new_g2p(&w);
    chunks cs = {0};
    kk_error err;
    assert_int_equal(kk_g2p_run(g, "x", "ja", collect_chunk, &cs, &err), KK_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "Japanese"));
    assert_int_equal(kk_g2p_run(g, "x", "zh", collect_chunk, &cs, &err), KK_ERR_UNSUPPORTED);
    assert_int_equal(kk_g2p_run(g, "x", "klingon", collect_chunk, &cs, &err), KK_ERR_ARG);
    assert_non_null(strstr(err.msg, "en-us"));
    assert_int_equal(cs.n, 0);
    /* stopping from the callback */
    cs.stop_after = 1;
    assert_int_equal(kk_g2p_run(g, "One.\n\nTwo.\n\nThree.", "en-us", collect_chunk, &cs, &err),
                     KK_ERR_ABORTED);
    assert_int_equal(cs.n, 1);
    chunks_free(&cs);
    kk_g2p_free(g);
}

/* Which languages kk_g2p_run reads, and the one wording for voices whose
 * language it does not. */
static void supported_languages(void **state)
{
    (void)state;
    const char *ok[] = {"en-us", "en", "en-gb", "es", "fr-fr", "fr", "hi", "it", "pt-br", NULL};
    for (size_t i = 0; ok[i]; i++)
        if (!kk_g2p_lang_supported(ok[i]))
            fail_msg("%s should be supported", ok[i]);
    assert_true(kk_g2p_lang_supported(NULL)); /* the default */
    assert_false(kk_g2p_lang_supported("ja"));
    assert_false(kk_g2p_lang_supported("zh"));
    assert_false(kk_g2p_lang_supported("klingon"));
    assert_null(kk_g2p_voice_unsupported("af_heart"));
    assert_null(kk_g2p_voice_unsupported("bm_george"));
    assert_null(kk_g2p_voice_unsupported("xx_unknown")); /* no language named: not ours to refuse */
    const char *ja = kk_g2p_voice_unsupported("jf_alpha"), *zh = kk_g2p_voice_unsupported("zm_yunxi");
    assert_non_null(ja);
    assert_non_null(zh);
    assert_non_null(strstr(ja, "Japanese voices are not supported"));
    assert_non_null(strstr(zh, "Chinese voices are not supported"));
    /* a blend speaks its first voice's language */
    assert_non_null(kk_g2p_voice_unsupported("zf_xiaobei:0.5,af_heart:0.5"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lang_for_voice),
        cmocka_unit_test(tokenize_small),
        cmocka_unit_test(unknown_symbol_reported),
        cmocka_unit_test(bad_model_path),
        cmocka_unit_test(model_vocab),
        cmocka_unit_test(languages),
        cmocka_unit_test(supported_languages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
