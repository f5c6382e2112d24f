/* test_english.c - espeak-ng IPA mapped onto misaki's symbols: known words,
 * US and GB, punctuation kept, other languages. Expectations are misaki's
 * conventions checked by hand against espeak-ng 1.51 (Debian 12). The
 * contexts here read without the pronunciation dictionary, so that every
 * word goes through espeak-ng (the dictionary's readings are tested in
 * test_reading.c, with these same words among them). */
#include "helpers.h"

#include <pthread.h>
#include <string.h>

static kk_g2p *G;
static warnings W;

static int setup(void **state)
{
    (void)state;
    kk_g2p_params p = kk_g2p_default_params();
    p.no_dictionary = 1;
    if (model_dir())
        G = new_g2p_params(p, &W);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kk_g2p_free(G);
    return 0;
}

static void us_words(void **state)
{
    (void)state;
    NEED_MODEL();
    assert_string_equal(phon(G, "hello", "en-us"), "həlˈO");
    assert_string_equal(phon(G, "say", "en-us"), "sˈA");   /* eɪ -> A */
    assert_string_equal(phon(G, "time", "en-us"), "tˈIm"); /* aɪ -> I */
    assert_string_equal(phon(G, "boy", "en-us"), "bˈY");   /* ɔɪ -> Y */
    assert_string_equal(phon(G, "now", "en-us"), "nˈW");   /* aʊ -> W */
    assert_string_equal(phon(G, "go", "en-us"), "ɡˈO");    /* oʊ -> O */
    assert_string_equal(phon(G, "judge", "en-us"), "ʤˈʌʤ"); /* dʒ -> ʤ */
    assert_string_equal(phon(G, "church", "en-us"), "ʧˈɜɹʧ"); /* tʃ -> ʧ, ɜː -> ɜɹ */
    assert_string_equal(phon(G, "nurse", "en-us"), "nˈɜɹs");
    /* flap and glottal stop as misaki writes them for Kokoro v1.0 */
    assert_string_equal(phon(G, "better", "en-us"), "bˈɛTəɹ"); /* ɚ -> əɹ */
    assert_string_equal(phon(G, "button", "en-us"), "bˈʌtn");
    assert_string_equal(phon(G, "little", "en-us"), "lˈɪTᵊl"); /* ə^l -> ᵊl */
    assert_string_equal(phon(G, "weather in London", "en-us"), "wˈɛðəɹ ɪn lˈʌndən"); /* not əɹɹ */
    assert_int_equal(W.count, 0);
}

static void us_flap_symbol(void **state)
{
    (void)state;
    NEED_MODEL();
    kk_g2p_params p = kk_g2p_default_params();
    p.flap_as_T = 0;
    p.no_dictionary = 1;
    warnings w = {0};
    kk_g2p *g = new_g2p_params(p, &w);
    assert_string_equal(phon(g, "better", "en-us"), "bˈɛɾəɹ");
    kk_g2p_free(g);
}

static void gb_words(void **state)
{
    (void)state;
    NEED_MODEL();
    assert_string_equal(phon(G, "go", "en-gb"), "ɡˈQ"); /* əʊ -> Q */
    assert_string_equal(phon(G, "hello", "en-gb"), "həlˈQ");
    assert_string_equal(phon(G, "say", "en-gb"), "sˈA");
    assert_string_equal(phon(G, "nurse", "en-gb"), "nˈɜːs"); /* length kept */
    assert_string_equal(phon(G, "better", "en-gb"), "bˈɛtə");
    assert_string_equal(phon(G, "hair", "en-gb"), "hˈɛː"); /* e^ə -> ɛː */
    assert_int_equal(W.count, 0);
}

static void punctuation_kept(void **state)
{
    (void)state;
    NEED_MODEL();
    assert_string_equal(phon(G, "Hello, world! How are you?", "en-us"), "həlˈO, wˈɜɹld! hˈW ɑɹ ju?");
    assert_string_equal(phon(G, "\"Hi,\" she said; then: (yes).", "en-us"),
                        "“hˈI,” ʃi sˈɛd; ðˈɛn: (jˈɛs).");
    assert_string_equal(phon(G, "Wait... what -- no!", "en-us"), "wˈAt… wˌʌt — nˈO!");
    assert_string_equal(phon(G, "Wait—what?", "en-us"), "wˈAt—wˌʌt?");
    /* marks inside numbers and contractions stay in the word */
    assert_string_equal(phon(G, "I don't know.", "en-us"), "ˌI dˈOnt nˈO.");
    assert_string_equal(phon(G, "It’s 3.5 miles.", "en-us"), "ɪts θɹˈi pYnt fˈIv mˈIlz.");
    /* ids match the phonemes one to one */
    chunks cs = {0};
    kk_error err;
    assert_int_equal(kk_g2p_run(G, "Hi, you!", "en-us", collect_chunk, &cs, &err), KK_OK);
    assert_int_equal(cs.n, 1);
    const int64_t want[] = {50, 156, 25, 3, 16, 52, 63, 5}; /* hˈI, ju! */
    assert_int_equal(cs.c[0].n_ids, 8);
    assert_memory_equal(cs.c[0].ids, want, sizeof want);
    chunks_free(&cs);
    assert_int_equal(W.count, 0);
}

static void other_languages(void **state)
{
    (void)state;
    NEED_MODEL();
    assert_string_equal(phon(G, "¡Hola, mundo! ¿Qué tal?", "es"), "ˈola, mˈundo! kˈe tˈal?");
    assert_string_equal(phon(G, "chico", "es"), "ʧˈiko"); /* t^ʃ -> ʧ */
    assert_string_equal(phon(G, "Bonjour le monde.", "fr-fr"), "bɔ̃ʒˈuʁ lə mˈɔ̃d.");
    assert_string_equal(phon(G, "Ciao mondo.", "it"), "ʧˈao mˈondo.");
    assert_string_equal(phon(G, "pão", "pt-br"), "pˈɐ̃ʊ̃");
    assert_string_equal(phon(G, "नमस्ते दुनिया।", "hi"), "nəmˈʌsteː dˈʊnɪjˌaː.");
    assert_int_equal(W.count, 0);
}

/* Two contexts in two threads: espeak-ng's global state is behind one
 * mutex, so each gets its own language right every time. */
typedef struct {
    const char *lang, *text, *want;
    int bad;
    const char *dir; /* resolved before the threads start: model_dir() reuses one static buffer */
} job;

static int count_chunk(void *user, const kk_g2p_chunk *c)
{
    job *j = user;
    if (strcmp(c->phonemes, j->want) != 0)
        j->bad++;
    return 0;
}

static void *worker(void *arg)
{
    job *j = arg;
    kk_g2p *g = NULL;
    kk_error err;
    kk_g2p_params p = kk_g2p_default_params();
    p.no_dictionary = 1; /* espeak-ng's lock is what is tested */
    if (kk_g2p_new(j->dir, &p, &g, &err) != KK_OK) {
        j->bad = -1;
        return NULL;
    }
    for (int i = 0; i < 100; i++)
        if (kk_g2p_run(g, j->text, j->lang, count_chunk, j, &err) != KK_OK)
            j->bad++;
    kk_g2p_free(g);
    return NULL;
}

static void threads(void **state)
{
    (void)state;
    NEED_MODEL();
    const char *dir = model_dir();
    job a = {"en-us", "Hello, go home.", "həlˈO, ɡˌO hˈOm.", 0, dir};
    job b = {"en-gb", "Hello, go home.", "həlˈQ, ɡˌQ hˈQm.", 0, dir};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, worker, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, worker, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.bad, 0);
    assert_int_equal(b.bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(us_words),        cmocka_unit_test(us_flap_symbol),
        cmocka_unit_test(gb_words),        cmocka_unit_test(punctuation_kept),
        cmocka_unit_test(other_languages), cmocka_unit_test(threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
