/*
 * arpabet.c - see arpabet.h. CMUdict's ARPAbet onto misaki's American
 * symbols, and the dictionary file's checksum.
 *
 * The rules come from comparing CMUdict with how misaki writes the same
 * words (tools/lexgen/compare_gold.py prints the agreement); each says which
 * of misaki's habits it follows. CMUdict marks every vowel 0, 1 or 2 and
 * writes reduced vowels as AH0 or IH0 rather than misaki's finer ə / ɪ / ᵻ /
 * ᵊ, so most rules choose among those from the neighbouring phones.
 */
#include <string.h>

#include "arpabet.h"

typedef enum {
    /* vowels (take a stress digit) */
    AA, AE, AH, AO, AW, AY, EH, ER, EY, IH, IY, OW, OY, UH, UW,
    /* consonants */
    B, CH, D, DH, F, G, HH, JH, K, L, M, N, NG, P, R, S, SH, T, TH, V, W, Y, Z, ZH,
    N_PHONES
} phone_id;

#define FIRST_CONSONANT B

typedef struct {
    const char *name;
    const char *sym; /* misaki; for vowels the stressed form */
} phone_info;

static const phone_info PHONES[N_PHONES] = {
    [AA] = {"AA", "ɑ"}, [AE] = {"AE", "æ"}, [AH] = {"AH", "ʌ"}, [AO] = {"AO", "ɔ"},
    [AW] = {"AW", "W"}, [AY] = {"AY", "I"}, [EH] = {"EH", "ɛ"}, [ER] = {"ER", "ɜɹ"},
    [EY] = {"EY", "A"}, [IH] = {"IH", "ɪ"}, [IY] = {"IY", "i"}, [OW] = {"OW", "O"},
    [OY] = {"OY", "Y"}, [UH] = {"UH", "ʊ"}, [UW] = {"UW", "u"},
    [B] = {"B", "b"}, [CH] = {"CH", "ʧ"}, [D] = {"D", "d"}, [DH] = {"DH", "ð"},
    [F] = {"F", "f"}, [G] = {"G", "ɡ"}, [HH] = {"HH", "h"}, [JH] = {"JH", "ʤ"},
    [K] = {"K", "k"}, [L] = {"L", "l"}, [M] = {"M", "m"}, [N] = {"N", "n"},
    [NG] = {"NG", "ŋ"}, [P] = {"P", "p"}, [R] = {"R", "ɹ"}, [S] = {"S", "s"},
    [SH] = {"SH", "ʃ"}, [T] = {"T", "t"}, [TH] = {"TH", "θ"}, [V] = {"V", "v"},
    [W] = {"W", "w"}, [Y] = {"Y", "j"}, [Z] = {"Z", "z"}, [ZH] = {"ZH", "ʒ"},
};

/* Everything the conversion can write: the table above, the reduced vowels
 * ə ᵻ ᵊ, the flap T and the two stress marks. */
static const char SYMBOLS[] = "ɑæʌɔWIɛɜɹAɪiOYʊubʧdðfɡhʤklmnŋpsʃtθvwjzʒəᵻᵊTˈˌ";

const char *kk_arpabet_symbols(void) { return SYMBOLS; }

#define PRIMARY "ˈ"
#define SECONDARY "ˌ"

/* Monosyllabic function words that misaki writes without stress (ði, ʌv,
 * ænd, tu): articles, prepositions, conjunctions, auxiliaries, personal
 * pronouns and their contractions, and the light verbs get, got, gone.
 * Sorted (bsearch). */
static const char *const UNSTRESSED_WORDS[] = {
    "'em", "a", "am", "an", "and", "are", "as", "at", "be", "been", "by", "can",
    "could", "for", "from", "get", "gone", "got", "had", "has", "have", "he",
    "he'd", "he'll", "he's", "her", "his", "if", "in", "is", "it", "it's",
    "its", "my", "of", "or", "per", "she", "she'd", "she'll", "she's", "than",
    "that", "the", "their", "there", "there's", "these", "they", "they'd",
    "they'll", "they're", "they've", "this", "those", "through", "to", "was",
    "we", "we'd", "we'll", "we're", "we've", "were", "will", "with", "won't",
    "would", "you", "you'd", "you'll", "you're", "you've", "your",
};

/* Short words misaki gives only secondary stress (bˌʌt, nˌɑt, ʃˌʊd): the
 * weaker adverbs, question words, object pronouns and modals, and the light
 * verbs go, make, made, put. Sorted. */
static const char *const SECONDARY_WORDS[] = {
    "but", "go", "him", "how", "made", "make", "me", "might", "near", "not",
    "on", "our", "put", "shall", "should", "so", "some", "them", "though", "up",
    "us", "what", "when", "where", "which", "while", "who", "who's", "whose",
    "why",
};

/* The most frequent words whose CMUdict readings all differ from the form
 * Kokoro heard in training (CMUdict lists the weak "ənd" first, and "on"
 * with ɑ where misaki has ɔ): every reading of the word becomes this one.
 * (A linear scan: a handful of entries.) */
static const struct {
    const char *word, *misaki;
} FIXED_WORDS[] = {
    {"and", "ænd"},         {"down", "dˌWn"},       {"on", "ˌɔn"},     {"than", "ðən"},
    {"was", "wʌz"},         {"your", "jʊɹ"},
    /* negatives CMUdict splits into two syllables (ˈɑɹənt) */
    {"aren't", "ˌɑɹnt"},    {"couldn't", "kˌʊdᵊnt"}, {"weren't", "wˌɜɹnt"},
    /* stressed on its first part, as e-mail is (CMUdict: imˈAl) */
    {"email", "ˈimˌAl"},    {"emails", "ˈimˌAlz"},
    /* number words, which the normaliser writes for every number: read as
     * Kokoro heard them (CMUdict has "thirty" with d and "fifteen" with an
     * unstressed first syllable) */
    {"eighteen", "ˌAtˈin"}, {"eighth", "ˈAθ"},      {"eleven", "əlˈɛvᵊn"}, {"fifteen", "fˌɪftˈin"},
    {"million", "mˈɪljᵊn"}, {"ninety", "nˈIndi"},   {"nineties", "nˈIndiz"}, {"sixteen", "sˌɪkstˈin"},
    {"thirty", "θˈɜɹTi"},   {"thousandth", "θˈWzᵊnθ"},
};

static const char *fixed_reading(const char *w, size_t len)
{
    for (size_t i = 0; w && i < sizeof FIXED_WORDS / sizeof *FIXED_WORDS; i++)
        if (strlen(FIXED_WORDS[i].word) == len && memcmp(FIXED_WORDS[i].word, w, len) == 0)
            return FIXED_WORDS[i].misaki;
    return NULL;
}

typedef enum { WORD_PLAIN, WORD_UNSTRESSED, WORD_SECONDARY } word_class;

static int in_list(const char *const *list, size_t n, const char *w, size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strncmp(list[mid], w, len);
        if (c == 0 && list[mid][len] != '\0')
            c = 1; /* list word is longer: it sorts after w */
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static word_class classify(const char *w, size_t len)
{
    if (!w || len == 0)
        return WORD_PLAIN;
    if (in_list(UNSTRESSED_WORDS, sizeof UNSTRESSED_WORDS / sizeof *UNSTRESSED_WORDS, w, len))
        return WORD_UNSTRESSED;
    if (in_list(SECONDARY_WORDS, sizeof SECONDARY_WORDS / sizeof *SECONDARY_WORDS, w, len))
        return WORD_SECONDARY;
    return WORD_PLAIN;
}

typedef struct {
    phone_id id;
    int stress; /* 0, 1, 2; -1 for a consonant */
} phone;

static int is_vowel(const phone *p) { return p->stress >= 0; }

/* Parses "R EH1 D" into ph (at most KK_ARPABET_MAX_PHONES). Returns the
 * count, or -1 with err set. */
static int parse(const char *arpa, phone *ph, kk_error *err)
{
    int n = 0;
    const char *s = arpa;
    for (;;) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        const char *start = s;
        while (*s && *s != ' ')
            s++;
        size_t len = (size_t)(s - start);
        int stress = -1;
        if (len > 1 && start[len - 1] >= '0' && start[len - 1] <= '2') {
            stress = start[len - 1] - '0';
            len--;
        }
        int id = -1;
        for (int k = 0; k < N_PHONES; k++)
            if (strlen(PHONES[k].name) == len && memcmp(PHONES[k].name, start, len) == 0) {
                id = k;
                break;
            }
        if (id < 0 || (id < FIRST_CONSONANT) != (stress >= 0)) {
            kk_error_set(err, KK_ERR_INPUT,
                         "arpabet: '%.*s' in \"%s\" is not an ARPAbet phone (vowels need a stress "
                         "digit 0-2, consonants none)",
                         (int)(s - start), start, arpa);
            return -1;
        }
        if (n == KK_ARPABET_MAX_PHONES) {
            kk_error_set(err, KK_ERR_INPUT, "arpabet: \"%s\" has more than %d phones", arpa,
                         KK_ARPABET_MAX_PHONES);
            return -1;
        }
        ph[n].id = (phone_id)id;
        ph[n].stress = stress;
        n++;
    }
    if (n == 0) {
        kk_error_set(err, KK_ERR_INPUT, "arpabet: empty pronunciation");
        return -1;
    }
    return n;
}

typedef struct {
    char *out;
    size_t cap, len;
    int overflow;
} writer;

static void put(writer *w, const char *s)
{
    size_t l = strlen(s);
    if (w->len + l + 1 > w->cap) {
        w->overflow = 1;
        return;
    }
    memcpy(w->out + w->len, s, l);
    w->len += l;
    w->out[w->len] = '\0';
}

static int sibilant(phone_id id) { return id == S || id == Z || id == SH || id == ZH || id == CH || id == JH; }

/* The vowel symbol for ph[i] (misaki's choice among the reduced vowels);
 * *stress may be changed (un- prefixes, unstressed final -y / -o). */
static const char *vowel(const char *word, size_t wlen, const phone *ph, int n, int i,
                         int last_primary, int *stress)
{
    phone_id id = ph[i].id;
    phone_id prev = i > 0 ? ph[i - 1].id : N_PHONES;
    int prev_vowel = i > 0 && is_vowel(&ph[i - 1]);
    phone_id next = i + 1 < n ? ph[i + 1].id : N_PHONES;
    int after_next_vowel = i + 2 < n && is_vowel(&ph[i + 2]);
    int after_next_end = i + 2 >= n;
    phone_id after_next = i + 2 < n ? ph[i + 2].id : N_PHONES;
    int final_syllable = 1; /* no vowel after this one */
    for (int k = i + 1; k < n; k++)
        if (is_vowel(&ph[k]))
            final_syllable = 0;

    if (*stress == 0 && (id == AH || id == IH)) {
        /* The -ed after t/d, the -es after a sibilant, the -iest: ᵻ. */
        if (final_syllable && after_next_end && next == D && (prev == T || prev == D))
            return "ᵻ";
        if (final_syllable && after_next_end && next == Z && i > 0 && sibilant(prev))
            return "ᵻ";
        if (final_syllable && next == S && after_next == T && i + 3 == n && i > 0 && prev == IY &&
            ph[i - 1].stress == 0)
            return "ᵻ";
    }
    if (*stress == 0 && id == AH) {
        /* Syllabic l and n: the small schwa after a consonant when no vowel
         * follows (pˈɪksᵊl, hˈædᵊnt); after r, y, w (and vowels) a full ə. */
        if (next == L && !after_next_vowel && i > 0 && !prev_vowel && prev != R && prev != Y &&
            prev != W)
            return "ᵊ";
        if (next == N && !after_next_vowel && (prev == D || prev == S || prev == Z ||
                                               (prev == JH && after_next_end)))
            return "ᵊ";
        if (next == N && !after_next_vowel && prev == T)
            /* kitten, button: misaki's glottal tn after a stressed vowel. */
            return i >= 2 && is_vowel(&ph[i - 2]) && ph[i - 2].stress > 0 ? "" : "ᵊ";
        if (next == N && after_next_vowel && prev == SH)
            return "ᵊ"; /* nˈæʃᵊnəl */
        if (i == 0 && next == N && wlen >= 2 && memcmp(word, "un", 2) == 0) {
            *stress = 2; /* the un- prefix keeps its vowel: ˌʌnˈOpənd */
            return "ʌ";
        }
        return "ə";
    }
    if (*stress == 0 && id == IH) {
        /* misaki keeps ɪ before ŋ and ʃ, in final -ic, -ive, -ish, -age,
         * -is, and in the in-/ex-/en- prefixes; elsewhere IH0 is ə. */
        if (next == NG || next == SH)
            return "ɪ";
        if (final_syllable && (next == K || next == V || next == JH || next == S || next == G ||
                               next == Z))
            return "ɪ";
        if (i == 0 && (next == K || next == N || next == G))
            return "ɪ";
        if (!final_syllable && i < last_primary && (next == K || next == G))
            return "ɪ";
        return "ə";
    }
    if (*stress == 0 && id == EH && i == 0 && (next == N || next == K))
        return "ɪ"; /* encode ɪnkˈOd, exact */
    if (*stress == 0 && id == ER)
        return "əɹ";
    if (*stress == 0 && id == UW && i + 1 < n && is_vowel(&ph[i + 1]))
        return "əw"; /* a glide before the next vowel: ˈæmbɪɡjəwəs */
    if (*stress == 2 && id == IH && i == 0 && (next == N || next == M) && last_primary >= 0) {
        int vowels_before = 0;
        for (int k = 0; k < last_primary; k++)
            vowels_before += is_vowel(&ph[k]);
        if (vowels_before == 1)
            *stress = 0; /* in-/im- right before the stress: ɪmpˈiʧ */
    }
    if (*stress == 2 && (id == IY || id == OW) && i + 1 == n)
        *stress = 0; /* a final -y / -o: stˈOɡi */
    if (next == R) {
        if (id == AY && !after_next_vowel)
            return "Iə"; /* fˈIəɹ */
        if (id == IY)
            return "ɪ"; /* nˈɪɹ */
        if (id == AE)
            return "ɛ"; /* mˈɛɹi */
        if (id == UW)
            return "ʊ"; /* ʃˈʊɹ */
    }
    if (id == AH && *stress == 0)
        return "ə";
    return PHONES[id].sym;
}

kk_status kk_arpabet_to_misaki(const char *word, size_t word_len, const char *arpa, char *out,
                               size_t cap, kk_error *err)
{
    if (!out || cap == 0 || !arpa)
        return kk_error_set(err, KK_ERR_ARG, "arpabet: no pronunciation or output buffer");
    out[0] = '\0';
    phone ph[KK_ARPABET_MAX_PHONES];
    int n = parse(arpa, ph, err);
    if (n < 0)
        return KK_ERR_INPUT;
    const char *fixed = fixed_reading(word, word_len);
    if (fixed) {
        if (strlen(fixed) >= cap)
            return kk_error_set(err, KK_ERR_ARG, "arpabet: output buffer of %zu bytes is too small", cap);
        strcpy(out, fixed);
        return KK_OK;
    }

    /* CMUdict gives compounds several primary stresses (fourteen, F AO1 R T
     * IY1 N); misaki keeps the last and makes the others secondary. */
    int last_primary = -1;
    for (int i = 0; i < n; i++)
        if (ph[i].stress == 1) {
            if (last_primary >= 0)
                ph[last_primary].stress = 2;
            last_primary = i;
        }

    word_class wc = classify(word, word_len);
    writer w = {out, cap, 0, 0};
    for (int i = 0; i < n; i++) {
        if (is_vowel(&ph[i])) {
            int stress = ph[i].stress;
            const char *v = vowel(word, word_len, ph, n, i, last_primary, &stress);
            if (wc == WORD_UNSTRESSED)
                stress = 0;
            else if (wc == WORD_SECONDARY && stress == 1)
                stress = 2;
            if (*v && stress == 1)
                put(&w, PRIMARY);
            else if (*v && stress == 2)
                put(&w, SECONDARY);
            put(&w, v);
            continue;
        }
        phone_id id = ph[i].id;
        if (id == T && i > 0 && (is_vowel(&ph[i - 1]) || ph[i - 1].id == R) && i + 1 < n &&
            is_vowel(&ph[i + 1]) && ph[i + 1].stress == 0) {
            /* The American flap: t after a vowel or r, before an unstressed
             * vowel (bˈʌTəɹ, pˈɑɹTi), but not the t of a syllabic n
             * (kˈɪtn, mˈWntᵊn). */
            int syllabic_n = ph[i + 1].id == AH && i + 2 < n && ph[i + 2].id == N &&
                             !(i + 3 < n && is_vowel(&ph[i + 3]));
            if (!syllabic_n) {
                put(&w, "T");
                continue;
            }
        }
        put(&w, PHONES[id].sym);
    }
    if (w.overflow) {
        out[0] = '\0';
        return kk_error_set(err, KK_ERR_ARG, "arpabet: \"%s\" needs more than %zu bytes", arpa,
                            cap);
    }
    return KK_OK;
}

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

uint64_t kk_lexdb_checksum(const void *data, size_t n)
{
    const uint64_t P1 = 0x9E3779B185EBCA87ull, P2 = 0xC2B2AE3D27D4EB4Full;
    const unsigned char *p = data;
    uint64_t h = 0x27D4EB2F165667C5ull ^ (uint64_t)n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        h = rotl64(h ^ (v * P2), 31) * P1;
    }
    for (; i < n; i++)
        h = rotl64(h ^ (p[i] * P1), 11) * P2;
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    return h;
}
