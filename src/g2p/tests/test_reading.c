/* test_reading.c - the whole reading of English text through kk_g2p_run:
 * the normaliser, the dictionary, homographs and the function words
 * working together, with word spans pointing at the source text. Needs the
 * model's config.json; the dictionary cases skip when it was not built. */
#include "helpers.h"

#include <stdio.h>
#include <string.h>

static kk_g2p *G;
static warnings W;

static int setup(void **state)
{
    (void)state;
    if (model_dir())
        G = new_g2p(&W);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kk_g2p_free(G);
    return 0;
}

static int have_dictionary(void)
{
    kk_lexdb *db = NULL;
    kk_error e;
    if (kk_lexdb_open_default(&db, &e) != KK_OK)
        return 0;
    kk_lexdb_close(db);
    return 1;
}

#define NEED_DICTIONARY()                                                                  \
    do {                                                                                   \
        NEED_MODEL();                                                                      \
        if (!have_dictionary()) {                                                          \
            print_message("no pronunciation dictionary built (scripts/install-deps.sh, "   \
                          "then build): test skipped\n");                                  \
            skip();                                                                        \
        }                                                                                  \
    } while (0)

typedef struct {
    char text[64][32]; /* each word's source text */
    size_t n;
} word_list;

static int count_words(void *user, const kk_g2p_chunk *c)
{
    ((word_list *)user)->n += c->n_words;
    return 0;
}

typedef struct {
    const char *text;
    word_list wl;
} span_run;

static int collect_spans(void *user, const kk_g2p_chunk *c)
{
    span_run *r = user;
    for (size_t i = 0; i < c->n_words && r->wl.n < 64; i++) {
        const kk_g2p_word *w = &c->words[i];
        snprintf(r->wl.text[r->wl.n++], 32, "%.*s", (int)(w->text_end - w->text_start), r->text + w->text_start);
    }
    return 0;
}

static span_run spans_of(const char *text)
{
    span_run r = {.text = text};
    kk_error err;
    assert_int_equal(kk_g2p_run(G, text, "en-us", collect_spans, &r, &err), KK_OK);
    return r;
}

/* An expansion is one word of the source: "$49.99" is spoken as five words
 * but timed as one, and the words around it keep their places. */
static void expansion_is_one_source_word(void **state)
{
    (void)state;
    NEED_MODEL();
    span_run r = spans_of("I paid $49.99 today.");
    assert_int_equal(r.wl.n, 4);
    assert_string_equal(r.wl.text[0], "I");
    assert_string_equal(r.wl.text[1], "paid");
    assert_string_equal(r.wl.text[2], "$49.99");
    assert_string_equal(r.wl.text[3], "today");
    r = spans_of("Chapter IV begins at 7:30 pm sharp.");
    assert_string_equal(r.wl.text[0], "Chapter");
    assert_string_equal(r.wl.text[1], "IV");
    assert_string_equal(r.wl.text[r.wl.n - 1], "sharp");
    word_list wl = {0};
    kk_error err;
    assert_int_equal(kk_g2p_run(G, "plain words only", "en-us", count_words, &wl, &err), KK_OK);
    assert_int_equal(wl.n, 3);
}

static void chunk_span_is_the_source(void **state)
{
    (void)state;
    NEED_MODEL();
    chunks cs = {0};
    kk_error err;
    const char *text = "It costs $3.2 billion. Then 50% more.";
    assert_int_equal(kk_g2p_run(G, text, "en-us", collect_chunk, &cs, &err), KK_OK);
    assert_true(cs.n >= 1);
    assert_int_equal(cs.c[0].text_start, 0);
    assert_int_equal(cs.c[cs.n - 1].text_end, strlen(text));
    chunks_free(&cs);
}

static void numbers_and_money_spoken(void **state)
{
    (void)state;
    NEED_MODEL();
    const char *p = phon(G, "I paid $20.", "en-us");
    assert_non_null(strstr(p, "twˈɛnti dˈɑləɹz"));
    p = phon(G, "It was 1999.", "en-us");
    assert_null(strstr(p, "hˈʌndɹɪd")); /* a year, not "one thousand nine hundred" */
}

/* Function words read by what follows them, as misaki does. */
static void function_words(void **state)
{
    (void)state;
    NEED_MODEL();
    assert_non_null(strstr(phon(G, "the apple", "en-us"), "ði "));
    assert_non_null(strstr(phon(G, "the dog", "en-us"), "ðə "));
    assert_non_null(strstr(phon(G, "I want to eat", "en-us"), "tʊ "));
    assert_non_null(strstr(phon(G, "I want to go", "en-us"), "tə "));
    assert_non_null(strstr(phon(G, "a cat", "en-us"), "ɐ "));
    assert_non_null(strstr(phon(G, "an owl", "en-us"), "ɐn "));
    /* a spelled capital A is the letter, not the article */
    assert_null(strstr(phon(G, "A B C", "en-us"), "ɐ"));
}

static void dictionary_words(void **state)
{
    (void)state;
    NEED_DICTIONARY();
    /* reduced vowels and secondary stress as misaki has them */
    assert_string_equal(phon(G, "jacket", "en-us"), "ʤˈækət");
    assert_string_equal(phon(G, "grandmother", "en-us"), "ɡɹˈændmˌʌðəɹ");
    assert_string_equal(phon(G, "headquarters", "en-us"), "hˈɛdkwˌɔɹTəɹz");
    /* a function word ending its clause takes stress; inside it, none */
    assert_string_equal(phon(G, "I have.", "en-us"), "ˌI hˈæv.");
    assert_string_equal(phon(G, "I have it.", "en-us"), "ˌI hæv ɪt.");
    assert_string_equal(phon(G, "eighth", "en-us"), "ˈAθ");
    /* possessive on a known stem, hyphenated parts */
    assert_string_equal(phon(G, "jacket's", "en-us"), "ʤˈækəts");
    assert_string_equal(phon(G, "Smith's", "en-us"), "smˈɪθs");
    assert_string_equal(phon(G, "forty-nine", "en-us"), "fˈɔɹTi nˈIn");
    /* of CMUdict's alternatives, the American ɔ where the spelling says so,
     * ɑ where it does not; weekdays in dˌA */
    assert_string_equal(phon(G, "coffee", "en-us"), "kˈɔfi");
    assert_string_equal(phon(G, "cost", "en-us"), "kˈɔst");
    assert_string_equal(phon(G, "dollar", "en-us"), "dˈɑləɹ");
    assert_string_equal(phon(G, "watch", "en-us"), "wˈɑʧ");
    assert_string_equal(phon(G, "Monday", "en-us"), "mˈʌndˌA");
    /* light verbs: weak inside the clause, stressed at its end */
    assert_string_equal(phon(G, "we go home", "en-us"), "wi ɡˌO hˈOm");
    assert_string_equal(phon(G, "let it go.", "en-us"), "lˈɛt ɪt ɡˈO.");
    assert_string_equal(phon(G, "I got it", "en-us"), "ˌI ɡɑt ɪt");
    assert_int_equal(W.count, 0);
}

/* Ordinary words the dictionary reads as espeak-ng did (test_english.c
 * has them through espeak-ng): where they were right, they stay. */
static void ordinary_words_unchanged(void **state)
{
    (void)state;
    NEED_DICTIONARY();
    static const char *const cases[][2] = {
        {"hello", "həlˈO"},   {"say", "sˈA"},       {"time", "tˈIm"},    {"boy", "bˈY"},
        {"now", "nˈW"},       {"judge", "ʤˈʌʤ"},    {"church", "ʧˈɜɹʧ"}, {"nurse", "nˈɜɹs"},
        {"better", "bˈɛTəɹ"}, {"button", "bˈʌtn"},  {"little", "lˈɪTᵊl"},
        {"Hello, world!", "həlˈO, wˈɜɹld!"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = phon(G, cases[i][0], "en-us");
        if (strcmp(got, cases[i][1]) != 0)
            fail_msg("'%s': got /%s/, want /%s/", cases[i][0], got, cases[i][1]);
    }
    /* the flap follows flap_as_T in dictionary readings too */
    kk_g2p_params p = kk_g2p_default_params();
    p.flap_as_T = 0;
    warnings w = {0};
    kk_g2p *g = new_g2p_params(p, &w);
    assert_string_equal(phon(g, "better", "en-us"), "bˈɛɾəɹ");
    kk_g2p_free(g);
}

/* Two capitals are spelled unless they are a word in capitals; spelled
 * letters (as the normaliser writes "https") are read by name. */
static void acronyms_and_letters(void **state)
{
    (void)state;
    NEED_MODEL();
    assert_string_equal(phon(G, "the AI", "en-us"), "ði ˌAˈI");
    assert_string_equal(phon(G, "the UK", "en-us"), "ðə jˌukˈA");
    assert_string_equal(phon(G, "H T T P", "en-us"), "ˈAʧ tˈi tˈi pˈi");
    assert_string_equal(phon(G, "A B C", "en-us"), "ˈA bˈi sˈi");
    assert_string_equal(phon(G, "It is OK.", "en-us"), phon(G, "It is ok.", "en-us"));
}

static void homographs_in_context(void **state)
{
    (void)state;
    NEED_MODEL();
    assert_non_null(strstr(phon(G, "I will read it.", "en-us"), "ɹˈid"));
    assert_non_null(strstr(phon(G, "I read it yesterday.", "en-us"), "ɹˈɛd"));
    assert_non_null(strstr(phon(G, "Wind the rope.", "en-us"), "wˈInd"));
    assert_non_null(strstr(phon(G, "The wind blew.", "en-us"), "wˈɪnd"));
}

/* Other languages are not normalised in English nor read by the American
 * dictionary: espeak-ng reads their numbers in their language. */
static void other_languages_untouched(void **state)
{
    (void)state;
    NEED_MODEL();
    const char *p = phon(G, "Tengo 25 años.", "es");
    assert_non_null(strstr(p, "θˈinko"));
    assert_null(strstr(p, "twˈɛnti"));
    p = phon(G, "J'ai 25 ans.", "fr-fr");
    assert_non_null(strstr(p, "vɛ̃"));
    assert_null(strstr(p, "twˈɛnti"));
    p = phon(G, "Ho 25 anni.", "it");
    assert_non_null(strstr(p, "venti"));
}

static void without_dictionary(void **state)
{
    (void)state;
    NEED_MODEL();
    kk_g2p_params p = kk_g2p_default_params();
    p.no_dictionary = 1;
    warnings w = {0};
    kk_g2p *g = new_g2p_params(p, &w);
    assert_string_equal(phon(g, "hello", "en-us"), "həlˈO");
    assert_int_equal(w.kinds[KK_G2P_WARN_NO_DICTIONARY], 0); /* asked for: no warning */
    kk_g2p_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expansion_is_one_source_word), cmocka_unit_test(chunk_span_is_the_source),
        cmocka_unit_test(numbers_and_money_spoken),     cmocka_unit_test(function_words),
        cmocka_unit_test(dictionary_words),             cmocka_unit_test(homographs_in_context),
        cmocka_unit_test(other_languages_untouched),    cmocka_unit_test(without_dictionary),
        cmocka_unit_test(ordinary_words_unchanged),     cmocka_unit_test(acronyms_and_letters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
