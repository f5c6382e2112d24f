/* test_lexdb.c - the pronunciation dictionary: the ARPAbet conversion
 * (arpabet.c), the file format and its checks (lexdb.c, on small files made
 * here), and the real kokoro-en-us.lexdb built beside the test programs
 * (skipped with a message when CMUdict was not installed). */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arpabet.h"
#include "lexdb.h"

/* ---- the conversion ---- */

typedef struct {
    const char *word, *arpa, *want;
} conv_case;

static const conv_case CASES[] = {
    /* plain vowels and consonants, stress before the vowel */
    {"hello", "HH AH0 L OW1", "həlˈO"},
    {"jump", "JH AH1 M P", "ʤˈʌmp"},
    {"chump", "CH AH1 M P", "ʧˈʌmp"},
    {"sung", "S AH1 NG", "sˈʌŋ"},
    {"thin", "TH IH1 N", "θˈɪn"},
    {"yes", "Y EH1 S", "jˈɛs"},
    {"asia", "EY1 ZH AH0", "ˈAʒə"},
    {"soy", "S OY1", "sˈY"},
    {"high", "HH AY1", "hˈI"},
    {"heard", "HH ER1 D", "hˈɜɹd"},
    {"sofa", "S OW1 F AH0", "sˈOfə"},
    {"happy", "HH AE1 P IY0", "hˈæpi"},
    {"read", "R EH1 D", "ɹˈɛd"},
    {"reading", "R IY1 D IH0 NG", "ɹˈidɪŋ"},
    {"wood", "W UH1 D", "wˈʊd"},
    {"all", "AO1 L", "ˈɔl"},
    {"spa", "S P AA1", "spˈɑ"},
    /* the flap: after a vowel or r, before an unstressed vowel */
    {"butter", "B AH1 T ER0", "bˈʌTəɹ"},
    {"water", "W AO1 T ER0", "wˈɔTəɹ"},
    {"city", "S IH1 T IY0", "sˈɪTi"},
    {"party", "P AA1 R T IY0", "pˈɑɹTi"},
    {"winter", "W IH1 N T ER0", "wˈɪntəɹ"}, /* not after n */
    {"ladder", "L AE1 D ER0", "lˈædəɹ"},    /* misaki does not flap d */
    {"attack", "AH0 T AE1 K", "ətˈæk"},     /* not before a stressed vowel */
    /* syllabic l and n, glottal t */
    {"little", "L IH1 T AH0 L", "lˈɪTᵊl"},
    {"pixel", "P IH1 K S AH0 L", "pˈɪksᵊl"},
    {"comfortable", "K AH1 M F ER0 T AH0 B AH0 L", "kˈʌmfəɹTəbᵊl"},
    {"hadn't", "HH AE1 D AH0 N T", "hˈædᵊnt"},
    {"kitten", "K IH1 T AH0 N", "kˈɪtn"},
    {"button", "B AH1 T AH0 N", "bˈʌtn"},
    {"alive", "AH0 L AY1 V", "əlˈIv"},
    /* reduced vowels */
    {"boxes", "B AA1 K S AH0 Z", "bˈɑksᵻz"},
    {"wanted", "W AO1 N T IH0 D", "wˈɔntᵻd"},
    {"basic", "B EY1 S IH0 K", "bˈAsɪk"},
    {"dissenting", "D IH0 S EH1 N T IH0 NG", "dəsˈɛntɪŋ"},
    {"ambiguous", "AE0 M B IH1 G Y UW0 AH0 S", "æmbˈɪɡjəwəs"},
    /* stress: secondary kept, several primaries, prefixes, final -y */
    {"grandmother", "G R AE1 N D M AH2 DH ER0", "ɡɹˈændmˌʌðəɹ"},
    {"fourteen", "F AO1 R T IY1 N", "fˌɔɹtˈin"},
    {"unopened", "AH0 N OW1 P AH0 N D", "ˌʌnˈOpənd"},
    {"impeach", "IH2 M P IY1 CH", "ɪmpˈiʧ"},
    {"stogie", "S T OW1 G IY2", "stˈOɡi"},
    {"fire", "F AY1 ER0", "fˈIəɹ"},
    {"lyre", "L AY1 R", "lˈIəɹ"},
    /* function words */
    {"the", "DH AH0", "ðə"},
    {"the", "DH IY0", "ði"},
    {"of", "AH1 V", "ʌv"},
    {"and", "AE1 N D", "ænd"},
    {"to", "T UW1", "tu"},
    {"for", "F AO1 R", "fɔɹ"},
    {"was", "W AA1 Z", "wʌz"},
    {"is", "IH1 Z", "ɪz"},
    {"but", "B AH1 T", "bˌʌt"},
    {"how", "HH AW1", "hˌW"},
    {NULL, "HH AW1", "hˈW"}, /* no word: no function-word rule */
};

/* Every code point of s is one of kk_arpabet_symbols(). */
static void assert_known_symbols(const char *s)
{
    const char *syms = kk_arpabet_symbols();
    while (*s) {
        size_t l = 1;
        while ((s[l] & 0xC0) == 0x80)
            l++;
        char cp[8] = {0};
        memcpy(cp, s, l);
        if (!strstr(syms, cp))
            fail_msg("symbol '%s' not in kk_arpabet_symbols()", cp);
        s += l;
    }
}

static void conversion_follows_misaki(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        const conv_case *c = &CASES[i];
        char out[KK_ARPABET_OUT_MAX];
        kk_error err;
        kk_status st = kk_arpabet_to_misaki(c->word, c->word ? strlen(c->word) : 0, c->arpa, out,
                                            sizeof out, &err);
        if (st != KK_OK) {
            print_error("%s (%s): %s\n", c->word, c->arpa, err.msg);
            bad++;
        } else if (strcmp(out, c->want) != 0) {
            print_error("%s (%s): got %s, want %s\n", c->word ? c->word : "(none)", c->arpa, out,
                        c->want);
            bad++;
        } else {
            assert_known_symbols(out);
        }
    }
    assert_int_equal(bad, 0);
}

static void conversion_rejects_bad_input(void **state)
{
    (void)state;
    char out[KK_ARPABET_OUT_MAX];
    kk_error err;
    assert_int_equal(kk_arpabet_to_misaki("x", 1, "R EH D", out, sizeof out, &err), KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "EH"));
    assert_string_equal(out, "");
    assert_int_equal(kk_arpabet_to_misaki("x", 1, "XX1 T", out, sizeof out, &err), KK_ERR_INPUT);
    assert_int_equal(kk_arpabet_to_misaki("x", 1, "T1", out, sizeof out, &err), KK_ERR_INPUT);
    assert_int_equal(kk_arpabet_to_misaki("x", 1, "EH3", out, sizeof out, &err), KK_ERR_INPUT);
    assert_int_equal(kk_arpabet_to_misaki("x", 1, "  ", out, sizeof out, &err), KK_ERR_INPUT);
    char longp[KK_ARPABET_MAX_PHONES * 4 + 8] = "";
    for (int i = 0; i <= KK_ARPABET_MAX_PHONES; i++)
        strcat(longp, "AA1 ");
    assert_int_equal(kk_arpabet_to_misaki("x", 1, longp, out, sizeof out, &err), KK_ERR_INPUT);
    /* too small a buffer is an error, never a cut result */
    char small[4];
    assert_int_equal(kk_arpabet_to_misaki("hello", 5, "HH AH0 L OW1", small, sizeof small, &err),
                     KK_ERR_ARG);
    assert_string_equal(small, "");
}

/* Each symbol the conversion can write is in the model's vocabulary. */
static void symbols_are_in_the_vocab(void **state)
{
    (void)state;
    NEED_MODEL();
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", model_dir());
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char cfg[1 << 20];
    size_t n = fread(cfg, 1, sizeof cfg - 1, f);
    fclose(f);
    cfg[n] = '\0';
    const char *vocab = strstr(cfg, "\"vocab\"");
    assert_non_null(vocab);
    const char *s = kk_arpabet_symbols();
    while (*s) {
        size_t l = 1;
        while ((s[l] & 0xC0) == 0x80)
            l++;
        char key[16];
        snprintf(key, sizeof key, "\"%.*s\":", (int)l, s);
        if (!strstr(vocab, key))
            fail_msg("%s is not in the model's vocab", key);
        s += l;
    }
}

/* ---- small files made here, in the format of arpabet.h ---- */

typedef struct {
    const char *key;
    const char *prons[3];
} entry;

static const entry SMALL[] = {
    {"read", {"ɹˈɛd", "ɹˈid", NULL}},
    {"x-ray", {"ˈɛksɹˌA", NULL, NULL}},
    {"a.m.", {"ˌAˈɛm", NULL, NULL}},
    {"don't", {"dˈOnt", NULL, NULL}},
};

/* Builds a valid dictionary of SMALL (16 slots) into buf; returns its size. */
static size_t make_small(unsigned char *buf, size_t cap)
{
    const uint32_t n_slots = 16;
    size_t blob_off = KK_LEXDB_HEADER_SIZE + n_slots * 4;
    unsigned char *blob = buf + blob_off;
    uint32_t *slots = (uint32_t *)(buf + KK_LEXDB_HEADER_SIZE);
    memset(buf, 0, cap);
    size_t bl = 1, n_prons = 0;
    for (size_t i = 0; i < sizeof SMALL / sizeof *SMALL; i++) {
        const entry *e = &SMALL[i];
        uint32_t off = (uint32_t)bl;
        size_t kl = strlen(e->key), np = 0;
        while (np < 3 && e->prons[np])
            np++;
        blob[bl++] = (unsigned char)kl;
        blob[bl++] = (unsigned char)np;
        memcpy(blob + bl, e->key, kl);
        bl += kl;
        for (size_t p = 0; p < np; p++) {
            size_t l = strlen(e->prons[p]) + 1;
            memcpy(blob + bl, e->prons[p], l);
            bl += l;
        }
        n_prons += np;
        uint32_t j = kk_lexdb_hash(e->key, kl) & (n_slots - 1);
        while (slots[j])
            j = (j + 1) & (n_slots - 1);
        slots[j] = off;
    }
    assert_true(blob_off + bl <= cap);
    kk_lexdb_header h = {
        .magic = KK_LEXDB_MAGIC, .version = KK_LEXDB_VERSION,
        .header_size = KK_LEXDB_HEADER_SIZE, .byte_order = KK_LEXDB_BYTE_ORDER,
        .n_words = sizeof SMALL / sizeof *SMALL, .n_prons = (uint32_t)n_prons,
        .n_slots = n_slots, .slots_off = KK_LEXDB_HEADER_SIZE, .blob_off = (uint32_t)blob_off,
        .blob_size = (uint32_t)bl, .file_size = blob_off + bl,
    };
    h.checksum = kk_lexdb_checksum(buf + KK_LEXDB_HEADER_SIZE, blob_off + bl - KK_LEXDB_HEADER_SIZE);
    memcpy(buf, &h, sizeof h);
    return blob_off + bl;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void small_file_lookups(void **state)
{
    (void)state;
    _Alignas(8) unsigned char buf[1024];
    size_t n = make_small(buf, sizeof buf);
    char path[4096];
    snprintf(path, sizeof path, "%s", tmp_path("small.lexdb"));
    write_bytes(path, buf, n);
    kk_lexdb *db = NULL;
    kk_error err;
    assert_int_equal(kk_lexdb_open(path, &db, &err), KK_OK);
    assert_int_equal(kk_lexdb_size(db), 4);
    const char *p[4] = {0};
    assert_int_equal(kk_lexdb_lookup(db, "read", 4, p, 4), 2);
    assert_string_equal(p[0], "ɹˈɛd");
    assert_string_equal(p[1], "ɹˈid");
    assert_int_equal(kk_lexdb_lookup(db, "ReAD", 4, p, 4), 2);
    assert_int_equal(kk_lexdb_lookup(db, "X-RAY", 5, p, 4), 1);
    assert_int_equal(kk_lexdb_lookup(db, "a.m.", 4, p, 4), 1);
    assert_int_equal(kk_lexdb_lookup(db, "don't", 5, p, 4), 1);
    assert_int_equal(kk_lexdb_lookup(db, "reads", 4, p, 4), 2); /* len counts, not the NUL */
    assert_int_equal(kk_lexdb_lookup(db, "rea", 3, p, 4), 0);
    assert_int_equal(kk_lexdb_lookup(db, "", 0, p, 4), 0);
    /* max limits what is written, not the count */
    const char *one[2] = {NULL, "untouched"};
    assert_int_equal(kk_lexdb_lookup(db, "read", 4, one, 1), 2);
    assert_string_equal(one[0], "ɹˈɛd");
    assert_string_equal(one[1], "untouched");
    assert_int_equal(kk_lexdb_lookup(db, "read", 4, NULL, 0), 2);
    kk_lexdb_close(db);

    /* KOKORO_LEXDB picks the file; one that is not there is an error */
    assert_int_equal(setenv("KOKORO_LEXDB", path, 1), 0);
    assert_int_equal(kk_lexdb_open_default(&db, &err), KK_OK);
    assert_int_equal(kk_lexdb_size(db), 4);
    kk_lexdb_close(db);
    assert_int_equal(setenv("KOKORO_LEXDB", "/nonexistent/x.lexdb", 1), 0);
    assert_int_not_equal(kk_lexdb_open_default(&db, &err), KK_OK);
    assert_null(db);
    unsetenv("KOKORO_LEXDB");
}

static void expect_input_error(const void *data, size_t n, const char *name, const char *needle)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", tmp_path(name));
    write_bytes(path, data, n);
    kk_lexdb *db = (kk_lexdb *)1;
    kk_error err;
    kk_status st = kk_lexdb_open(path, &db, &err);
    if (st != KK_ERR_INPUT)
        fail_msg("%s: status %d (%s), want an input error", name, (int)st, err.msg);
    assert_null(db);
    if (needle && !strstr(err.msg, needle))
        fail_msg("%s: message '%s' does not say '%s'", name, err.msg, needle);
    assert_non_null(strstr(err.msg, "rebuild"));
}

static void bad_files_are_clean_errors(void **state)
{
    (void)state;
    kk_lexdb *db = (kk_lexdb *)1;
    kk_error err;
    assert_int_not_equal(kk_lexdb_open("/nonexistent/x.lexdb", &db, &err), KK_OK);
    assert_null(db);

    _Alignas(8) unsigned char good[1024], bad[1024];
    size_t n = make_small(good, sizeof good);
    expect_input_error("", 0, "empty.lexdb", "empty");
    expect_input_error("hello, world\n", 13, "text.lexdb", "shorter");
    memset(bad, 'x', sizeof bad);
    expect_input_error(bad, sizeof bad, "garbage.lexdb", "magic");
    /* truncated anywhere: in the header, the slots, the blob, one byte */
    size_t cuts[] = {40, KK_LEXDB_HEADER_SIZE, KK_LEXDB_HEADER_SIZE + 10, n / 2, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++)
        expect_input_error(good, cuts[i], "truncated.lexdb", NULL);
    /* another version */
    memcpy(bad, good, n);
    uint32_t v = KK_LEXDB_VERSION + 1;
    memcpy(bad + offsetof(kk_lexdb_header, version), &v, 4);
    expect_input_error(bad, n, "version.lexdb", "version");
    /* one flipped bit in a pronunciation: the checksum */
    memcpy(bad, good, n);
    bad[n - 3] ^= 0x10;
    expect_input_error(bad, n, "flipped.lexdb", "checksum");
    /* a slot table that does not reach the blob */
    memcpy(bad, good, n);
    uint32_t slots = 1u << 20;
    memcpy(bad + offsetof(kk_lexdb_header, n_slots), &slots, 4);
    expect_input_error(bad, n, "slots.lexdb", NULL);
    /* trailing bytes */
    memcpy(bad, good, n);
    bad[n] = 0;
    expect_input_error(bad, n + 1, "long.lexdb", "longer");
}

/* ---- the real dictionary ---- */

static kk_lexdb *real_db(void)
{
    unsetenv("KOKORO_LEXDB");
    kk_lexdb *db = NULL;
    kk_error err;
    kk_status st = kk_lexdb_open_default(&db, &err);
    if (st == KK_ERR_NOT_FOUND) {
        print_message("%s: test skipped\n", err.msg);
        return NULL;
    }
    if (st != KK_OK)
        fail_msg("kk_lexdb_open_default: %s", err.msg);
    return db;
}

static void real_words(void **state)
{
    (void)state;
    kk_lexdb *db = real_db();
    if (!db)
        skip();
    assert_true(kk_lexdb_size(db) > 120000);
    const char *p[8];
    assert_int_equal(kk_lexdb_lookup(db, "read", 4, p, 8), 2);
    assert_string_equal(p[0], "ɹˈɛd");
    assert_string_equal(p[1], "ɹˈid");
    assert_int_equal(kk_lexdb_lookup(db, "Read", 4, p, 8), 2);
    assert_int_equal(kk_lexdb_lookup(db, "READ", 4, p, 8), 2);
    assert_string_equal(p[1], "ɹˈid");
    size_t k = kk_lexdb_lookup(db, "the", 3, p, 8);
    assert_true(k >= 2);
    assert_string_equal(p[0], "ðə");
    assert_string_equal(p[k - 1], "ði");
    assert_int_equal(kk_lexdb_lookup(db, "grandmother", 11, p, 8), 1);
    assert_string_equal(p[0], "ɡɹˈændmˌʌðəɹ");
    assert_true(kk_lexdb_lookup(db, "butter", 6, p, 8) >= 1);
    assert_string_equal(p[0], "bˈʌTəɹ");
    assert_true(kk_lexdb_lookup(db, "don't", 5, p, 8) >= 1);
    assert_true(kk_lexdb_lookup(db, "a.m.", 4, p, 8) >= 1);
    assert_true(kk_lexdb_lookup(db, "x-ray", 5, p, 8) >= 1);
    assert_int_equal(kk_lexdb_lookup(db, "qzxvbnmw", 8, p, 8), 0);
    assert_int_equal(kk_lexdb_lookup(db, "caf\xc3\xa9", 5, p, 8), 0);
    assert_int_equal(kk_lexdb_lookup(db, "read(2)", 7, p, 8), 0);
    kk_lexdb_close(db);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void real_lookups_are_fast(void **state)
{
    (void)state;
    double t0 = now_ms();
    kk_lexdb *db = real_db();
    double t_open = now_ms() - t0;
    if (!db)
        skip();
    static const char *const WORDS[] = {
        "the", "Quick", "brown", "fox", "jumps", "over", "lazy", "dog", "pronunciation",
        "dictionary", "unknownwordxyz", "Kokoro", "speech", "synthesis", "a", "of", "and",
        "to", "in", "is", "that", "for", "it", "WAS", "on", "with", "he", "as", "you", "at",
    };
    size_t nw = sizeof WORDS / sizeof *WORDS, lens[64], found = 0;
    for (size_t i = 0; i < nw; i++)
        lens[i] = strlen(WORDS[i]);
    const char *p[4];
    t0 = now_ms();
    for (size_t i = 0; i < 100000; i++)
        found += kk_lexdb_lookup(db, WORDS[i % nw], lens[i % nw], p, 4) > 0;
    double t_look = now_ms() - t0;
    print_message("lexdb: %zu words, opened in %.2f ms, 100000 lookups in %.2f ms\n",
                  kk_lexdb_size(db), t_open, t_look);
    assert_true(found >= 90000);
    /* generous for sanitizer builds; the plain build takes a few ms */
    assert_true(t_look < 500);
    kk_lexdb_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conversion_follows_misaki),
        cmocka_unit_test(conversion_rejects_bad_input),
        cmocka_unit_test(symbols_are_in_the_vocab),
        cmocka_unit_test(small_file_lookups),
        cmocka_unit_test(bad_files_are_clean_errors),
        cmocka_unit_test(real_words),
        cmocka_unit_test(real_lookups_are_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
