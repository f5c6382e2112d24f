/* test_markup.c - pronunciation overrides, pauses, emphasis, broken markup,
 * lexicon. */
#include "helpers.h"

#include <stdio.h>
#include <string.h>

static void override_inline(void **state)
{
    (void)state;
    NEED_MODEL();
    warnings w = {0};
    kk_g2p *g = new_g2p(&w);
    assert_string_equal(phon(g, "[Kokoro](/kˈOkəɹO/) is great.", "en-us"), "kˈOkəɹO ɪz ɡɹˈAt.");
    assert_string_equal(phon(g, "Say [tomato](/təmˈɑTO/), please.", "en-us"), "sˈA təmˈɑTO, plˈiz.");
    assert_int_equal(w.count, 0);
    /* an unknown symbol in an override is reported, not silently dropped */
    assert_string_equal(phon(g, "[x](/kʘa/)", "en-us"), "ka");
    assert_int_equal(w.kinds[KK_G2P_WARN_UNKNOWN_SYMBOL], 1);
    assert_string_equal(w.symbol, "ʘ");
    assert_non_null(strstr(w.all, "override of 'x'"));
    kk_g2p_free(g);
}

static void pauses(void **state)
{
    (void)state;
    NEED_MODEL();
    warnings w = {0};
    kk_g2p *g = new_g2p(&w);
    chunks cs = {0};
    kk_error err;
    const char *text = "[pause:1s]Hello [pause:500ms] world.[pause:1.5s][pause:250ms]";
    assert_int_equal(kk_g2p_run(g, text, "en-us", collect_chunk, &cs, &err), KK_OK);
    assert_int_equal(cs.n, 3);
    assert_int_equal(cs.c[0].n_ids, 0); /* a pause alone */
    assert_int_equal(cs.c[0].pause_after_ms, 1000);
    assert_string_equal(cs.c[1].phonemes, "həlˈO");
    assert_int_equal(cs.c[1].pause_after_ms, 500);
    assert_int_equal(cs.c[1].text_start, strlen("[pause:1s]"));
    assert_int_equal(cs.c[1].text_end, strlen("[pause:1s]Hello"));
    assert_string_equal(cs.c[2].phonemes, "wˈɜɹld.");
    assert_int_equal(cs.c[2].pause_after_ms, 1750); /* consecutive pauses add up */
    assert_int_equal(w.count, 0);
    chunks_free(&cs);
    kk_g2p_free(g);
}

/* The words of one run, with their emphasis flags. */
typedef struct {
    kk_g2p_word w[64];
    size_t n;
    char phonemes[512];
} word_list;

static int collect_words(void *user, const kk_g2p_chunk *c)
{
    word_list *l = user;
    for (size_t i = 0; i < c->n_words && l->n < 64; i++)
        l->w[l->n++] = c->words[i];
    size_t used = strlen(l->phonemes);
    snprintf(l->phonemes + used, sizeof l->phonemes - used, "%s%s", used ? " | " : "", c->phonemes);
    return 0;
}

static void emphasis(void **state)
{
    (void)state;
    NEED_MODEL();
    warnings w = {0};
    kk_g2p *g = new_g2p(&w);
    kk_error err;
    const char *text = "I [never](+) said she *stole* it.";
    word_list l = {0};
    assert_int_equal(kk_g2p_run(g, text, "en-us", collect_words, &l, &err), KK_OK);
    assert_int_equal(w.count, 0);
    /* the marks are not spoken: the same phonemes as the plain text */
    char plain[512];
    snprintf(plain, sizeof plain, "%s", phon(g, "I never said she stole it.", "en-us"));
    assert_string_equal(l.phonemes, plain);
    assert_int_equal(l.n, 6);
    for (size_t i = 0; i < l.n; i++) {
        /* each word's span is its own letters, without the marks */
        const char *t = text + l.w[i].text_start;
        size_t len = l.w[i].text_end - l.w[i].text_start;
        assert_true(len > 0 && t[0] != '[' && t[0] != '*' && t[len - 1] != ']' && t[len - 1] != '*');
        assert_int_equal(l.w[i].emphasis, i == 1 || i == 4);
    }
    assert_int_equal(l.w[1].text_start, 3);
    assert_int_equal(l.w[1].text_end, 8);
    assert_int_equal(l.w[4].text_start, (size_t)(strstr(text, "stole") - text));
    assert_int_equal(l.w[4].text_end, l.w[4].text_start + 5);
    /* a word read weak gets its strong form, a secondary stress becomes
     * primary, a normalised word is emphasised in full */
    assert_string_equal(phon(g, "It is [the](+) place, [to](+) go.", "en-us"), "ˌɪt ɪz ðˈi plˈAs, tˈu ɡˈO.");
    assert_string_equal(phon(g, "*a* dog", "en-us"), "ˈA dˈɔɡ");
    assert_string_equal(phon(g, "[so](+) good", "en-us"), "sˈO ɡˈʊd");
    assert_string_equal(phon(g, "I paid [$5](+).", "en-us"), phon(g, "I paid $5.", "en-us"));
    assert_int_equal(w.count, 0);
    /* not emphasis: "2*3*4" and a lone '*' are text as before */
    static const char *const not_emph[] = {"2*3*4", "a * b", "footnote*", "**bold**"};
    for (size_t i = 0; i < sizeof not_emph / sizeof not_emph[0]; i++) {
        word_list m = {0};
        assert_int_equal(kk_g2p_run(g, not_emph[i], "en-us", collect_words, &m, &err), KK_OK);
        assert_true(m.n > 0);
        for (size_t k = 0; k < m.n; k++)
            assert_int_equal(m.w[k].emphasis, 0);
    }
    /* malformed markup is spoken as written, with a warning, never a crash */
    assert_string_equal(phon(g, "[word]( go", "en-us"), "wˈɜɹd( ɡˈO");
    assert_int_equal(w.kinds[KK_G2P_WARN_MARKUP], 1);
    assert_string_equal(phon(g, "[](+) go", "en-us"), "(plˈʌs) ɡˈO");
    assert_int_equal(w.kinds[KK_G2P_WARN_MARKUP], 2);
    static const char *const odd[] = {"[](+)", "[word](", "*", "**", "*[](+)*", "[*x*](+)", "*x [y*](/a/)", "[ ](+)"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        chunks cs = {0};
        kk_status st = kk_g2p_run(g, odd[i], "en-us", collect_chunk, &cs, &err);
        assert_true(st == KK_OK);
        chunks_free(&cs);
    }
    kk_g2p_free(g);
}

static void broken_markup_spoken(void **state)
{
    (void)state;
    NEED_MODEL();
    warnings w = {0};
    kk_g2p *g = new_g2p(&w);
    assert_string_equal(phon(g, "[pause:soon] ok", "en-us"), "pˈɔz:sˈun ˌOkˈA");
    assert_int_equal(w.kinds[KK_G2P_WARN_MARKUP], 1);
    assert_non_null(strstr(w.all, "[pause:soon]"));
    assert_string_equal(phon(g, "a [broken one", "en-us"), "ɐ bɹˈOkən wˈʌn");
    assert_int_equal(w.kinds[KK_G2P_WARN_MARKUP], 2);
    assert_non_null(strstr(w.all, "unbalanced '['"));
    assert_string_equal(phon(g, "[go](fast)", "en-us"), "ɡˈO(fˈæst)");
    assert_int_equal(w.kinds[KK_G2P_WARN_MARKUP], 3);
    assert_string_equal(phon(g, "[go](go", "en-us"), "ɡˈO(ɡˈO");
    assert_int_equal(w.kinds[KK_G2P_WARN_MARKUP], 4);
    /* plain brackets are text, no warning */
    assert_string_equal(phon(g, "[note] go", "en-us"), "nˈOt ɡˈO");
    assert_int_equal(w.kinds[KK_G2P_WARN_MARKUP], 4);
    kk_g2p_free(g);
}

static void lexicon_file(void **state)
{
    (void)state;
    NEED_MODEL();
    const char *path = tmp_path("lexicon.tsv");
    write_file(path, "# my words\n"
                     "Kokoro\tkˈOkəɹO\n"
                     "\n"
                     "no tab here\n"
                     "gif\tʤˈɪf\n"
                     "bad\tbʘd\n"
                     "\tæ\n"
                     "tomato\t\n");
    warnings w = {0};
    kk_g2p_params p = kk_g2p_default_params();
    p.lexicon_path = path;
    kk_g2p *g = new_g2p_params(p, &w);
    assert_int_equal(w.kinds[KK_G2P_WARN_LEXICON], 4);
    assert_int_equal(w.line, 4);
    char where[4200];
    snprintf(where, sizeof where, "%s:4:", path);
    assert_non_null(strstr(w.all, where));
    snprintf(where, sizeof where, "%s:6:", path);
    assert_non_null(strstr(w.all, where));
    assert_non_null(strstr(w.all, "'ʘ'"));
    snprintf(where, sizeof where, "%s:7:", path);
    assert_non_null(strstr(w.all, where));
    snprintf(where, sizeof where, "%s:8:", path);
    assert_non_null(strstr(w.all, where));
    /* case-insensitive; words with an entry bypass espeak-ng */
    assert_string_equal(phon(g, "KOKORO likes a GIF.", "en-us"), "kˈOkəɹO lˈIks ɐ ʤˈɪf.");
    /* an inline override wins over the lexicon */
    assert_string_equal(phon(g, "[gif](/ɡˈɪf/)", "en-us"), "ɡˈɪf");
    kk_error err;
    assert_int_equal(kk_g2p_add_word(g, "Gif", "ɡˈɪf", &err), KK_OK); /* later entries win */
    assert_string_equal(phon(g, "gif", "en-us"), "ɡˈɪf");
    assert_int_equal(kk_g2p_add_word(g, "x", "ʘ", &err), KK_ERR_INPUT);
    kk_g2p_free(g);

    /* strict: the first bad line fails with file:line */
    p.strict = 1;
    kk_g2p *g2 = NULL;
    assert_int_equal(kk_g2p_new(model_dir(), &p, &g2, &err), KK_ERR_INPUT);
    assert_null(g2);
    snprintf(where, sizeof where, "%s:4: bad lexicon line", path);
    assert_non_null(strstr(err.msg, where));
    /* a missing file */
    p.strict = 0;
    p.lexicon_path = tmp_path("no_such_lexicon.tsv");
    assert_int_equal(kk_g2p_new(model_dir(), &p, &g2, &err), KK_ERR_IO);
    assert_non_null(strstr(err.msg, "no_such_lexicon.tsv"));
}

/* "Dr. Smith" is one sentence: a title's period is neither a token nor a
 * place to cut, while a real sentence end still is. */
static void title_periods(void **state)
{
    (void)state;
    NEED_MODEL();
    warnings w = {0};
    kk_g2p_params p = kk_g2p_default_params();
    p.chunk_per_sentence = 1;
    kk_g2p *g = new_g2p_params(p, &w);
    chunks cs = {0};
    kk_error err;
    assert_int_equal(kk_g2p_run(g, "Dr. Smith met Mr. Jones. Then he left, Dr.", "en-us", collect_chunk, &cs, &err),
                     KK_OK);
    assert_int_equal(cs.n, 2);
    assert_string_equal(cs.c[0].phonemes, "dˈɑktəɹ smˈɪθ mˈɛt mˈɪstəɹ ʤˈOnz.");
    /* at the very end the period is kept */
    assert_non_null(strstr(cs.c[1].phonemes, "dˈɑktəɹ."));
    chunks_free(&cs);
    kk_g2p_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(title_periods),
        cmocka_unit_test(override_inline),
        cmocka_unit_test(pauses),
        cmocka_unit_test(emphasis),
        cmocka_unit_test(broken_markup_spoken),
        cmocka_unit_test(lexicon_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
