/*
 * homograph.c - see homograph.h. Owns the table of English homographs (our
 * own, typed here; readings in misaki's symbols for Kokoro v1.0, American
 * and British, checked against misaki's gold dictionaries, which key them
 * by part of speech) and the light part-of-speech guess that picks one.
 *
 * Every entry has two readings, A and B. For most words A is the noun or
 * adjective reading and B the verb reading ("a record" / "to record"), and
 * pick_by_pos decides between them from a small tagger (tag_strong,
 * tag_weak). Words whose readings split some other way (read: present or
 * past; bass: fish or music; tear: crying or ripping; used: "used to") have
 * a picker of their own; the entry's comment says what A and B are.
 *
 * The tagger only looks at a few neighbouring words and a handful of word
 * lists. It is meant for the common cases; where it cannot tell, each entry
 * has a default (usually misaki's DEFAULT reading).
 *
 * No allocation, no mutable state: everything here is const or on the stack.
 */
#include <stdint.h>
#include <string.h>

#include "homograph.h"

/* ---------------------------------------------------------------- words */

/* No such word (before the start, after the end). */
#define NONE SIZE_MAX

/* A word is compared in lower case, with ’ read as '. Longer words than
 * this are in none of our lists. */
#define WORD_MAX 24

typedef struct sent {
    const kk_hword *w;
    size_t n;
} sent;

/* Writes words[j] in lower case (ASCII; ’ as ') to buf[WORD_MAX]; returns
 * its length, 0 when j is NONE or the word is empty or too long. */
static size_t lower(const sent *s, size_t j, char *buf)
{
    if (j >= s->n)
        return 0;
    const unsigned char *p = (const unsigned char *)s->w[j].s;
    size_t len = s->w[j].len, k = 0;
    for (size_t a = 0; a < len; a++) {
        if (k + 1 >= WORD_MAX)
            return 0;
        unsigned char c = p[a];
        if (c == 0xE2 && a + 2 < len && p[a + 1] == 0x80 && p[a + 2] == 0x99) {
            buf[k++] = '\'';
            a += 2;
        } else {
            buf[k++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        }
    }
    buf[k] = '\0';
    return k;
}

/* Whether w[0..len) is one of the space-separated words of list. */
static int in_list(const char *w, size_t len, const char *list)
{
    for (const char *p = list; *p;) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if ((size_t)(e - p) == len && len && memcmp(p, w, len) == 0)
            return 1;
        p = e;
    }
    return 0;
}

/* Whether words[j] (any case) is one of the words of list. */
static int is(const sent *s, size_t j, const char *list)
{
    char b[WORD_MAX];
    size_t len = lower(s, j, b);
    return len && in_list(b, len, list);
}

/* Whether words[j] (lower case) ends with suf and is at least min long. */
static int ends(const sent *s, size_t j, const char *suf, size_t min)
{
    char b[WORD_MAX];
    size_t len = lower(s, j, b), k = strlen(suf);
    return len >= min && len >= k && memcmp(b + len - k, suf, k) == 0;
}

static int capitalized(const sent *s, size_t j)
{
    return j < s->n && s->w[j].len && s->w[j].s[0] >= 'A' && s->w[j].s[0] <= 'Z';
}

/* ---------------------------------------------------------- word lists */

/* Determiners and quantifiers: a noun follows ("the record", "some use"). */
static const char L_DET[] = "the a an this that these those my your his her its our their "
                            "some any no each every another either neither whose which what "
                            "many much several few both all such enough more most less one's";
/* Subject pronouns before a base-form verb ("they record"). */
static const char L_SUBJ[] = "i you we they he she it who";
/* Singular subjects before an -s verb ("she records", "this permits"):
 * these cannot stand before a plural noun. */
static const char L_SUBJ_SING[] = "he she it who which that this one everyone someone anyone "
                                  "nobody everybody somebody anybody everything something "
                                  "nothing anything each every another either neither whoever";
/* Modals (and the contractions that carry one): a bare verb follows. */
static const char L_MODAL[] =
    "will would can could should may might must shall won't wouldn't can't cannot couldn't "
    "shouldn't mustn't shan't mightn't wont cant i'll you'll we'll they'll he'll she'll it'll "
    "that'll who'll i'd you'd we'd they'd he'd she'd it'd gonna wanna gotta";
/* do-support, negation, requests: a bare verb follows ("don't tear"). */
static const char L_DO[] =
    "do does did don't doesn't didn't dont doesnt didnt please let let's lets";
/* Forms of be (and their contractions): an adjective or participle follows. */
static const char L_BE[] = "am is are was were be been being i'm you're we're they're he's she's "
                           "it's that's there's here's what's who's where's how's isn't aren't "
                           "wasn't weren't ain't";
/* Linking verbs: an adjective follows ("seems content", "stay close"). */
static const char L_LINK[] = "become becomes became get gets got getting stay stays stayed remain "
                             "remains remained seem seems seemed feel feels felt look looks looked "
                             "sound sounds appear appears appeared";
/* Forms of have: a participle ("had read") or a noun ("has records"). */
static const char L_HAVE[] =
    "have has had having i've you've we've they've haven't hasn't hadn't";
/* Intensifiers, right before an adjective ("very close", "so content"). */
static const char L_INTENS[] =
    "very so too quite rather pretty extremely fairly incredibly perfectly dangerously";
/* Prepositions: a noun follows ("on record", "in use"). "to" is apart:
 * before a base form it marks the infinitive. */
static const char L_PREP[] =
    "of in on at by for with from into onto about under over after before through during "
    "without within against between among across toward towards upon near like than per via "
    "off behind beneath beside besides along around throughout despite except inside outside "
    "unlike";
/* Object pronouns (and determiners) that can follow a transitive verb. */
static const char L_OBJ[] =
    "me you him her us them it myself yourself himself herself itself ourselves themselves "
    "everything something nothing anything everyone someone";
/* Particles of phrasal verbs right after the verb ("wind up", "tear down"). */
static const char L_PARTICLE[] = "up down out off back away";
/* Common adjectives (a noun follows them: "a new record", "fresh produce"). */
static const char L_ADJ[] =
    "new old good bad great big small little large long short high low young best better "
    "worst last whole full fresh local organic public private real true strong weak cold hot "
    "warm cool light heavy deep own other same different previous final main major minor "
    "single double world personal official entire total annual recent special general common "
    "clear open dark white black red blue green brown golden gray grey huge tiny rough quick "
    "nice fine free early late wild rare simple proper certain latest prime formal sharp";
/* Number words (digits are recognised apart). */
static const char L_NUM[] =
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
    "hundred thousand million billion dozen";
/* Adverbs that sit between a word and its verb or auxiliary ("have never
 * read", "will soon record") and are skipped when looking left. */
static const char L_ADV[] = "not never also just already still even ever only really always often "
                            "usually sometimes rarely seldom barely hardly simply actually finally "
                            "probably certainly definitely then now first next soon once again "
                            "n't";
/* Words in -ly that are not adverbs. */
static const char L_NOT_LY[] = "family rally belly jelly ally bully july italy supply reply "
                               "assembly butterfly fly lily holly sally molly emily kelly";
/* Words in -s that are not plural nouns. */
static const char L_NOT_PLURAL[] =
    "this his its has was does yes always perhaps sometimes whereas across unless besides thus "
    "plus less nevertheless towards afterwards its is us as";
/* Plurals without -s. */
static const char L_PLURAL_IRREG[] = "children people men women mice feet teeth geese police";
/* Words after a noun that begin a clause or a phrase: a plural noun before
 * them and the homograph is that noun's verb ("prices increase by..."). */
static const char L_CLAUSE[] = "when if because as and but so than while until unless";
/* Time words after "last"/"next"/"every". */
static const char L_TIME[] = "night week year month time summer winter spring fall autumn "
                             "weekend monday tuesday wednesday thursday friday saturday sunday "
                             "semester term decade century morning evening day";

/* ------------------------------------------------------- word classes */

static int is_digits(const sent *s, size_t j)
{
    if (j >= s->n || !s->w[j].len)
        return 0;
    for (size_t a = 0; a < s->w[j].len; a++)
        if ((s->w[j].s[a] < '0' || s->w[j].s[a] > '9') && s->w[j].s[a] != ',')
            return 0;
    return 1;
}

static int is_number(const sent *s, size_t j) { return is_digits(s, j) || is(s, j, L_NUM); }

/* A year after "in" ("in 1999", "in nineteen ninety-nine"). */
static int is_year(const sent *s, size_t j)
{
    if (is_digits(s, j) && s->w[j].len == 4)
        return 1;
    return is(s, j, "nineteen eighteen seventeen sixteen fifteen");
}

/* "John's", "the teachers'" (not "it's", "let's": those are in L_BE/L_DO). */
static int is_possessive(const sent *s, size_t j)
{
    if (is(s, j, L_BE) || is(s, j, L_DO) || is(s, j, L_HAVE))
        return 0;
    return ends(s, j, "'s", 3) || ends(s, j, "s'", 3);
}

static int is_adj(const sent *s, size_t j)
{
    if (is(s, j, L_ADJ))
        return 1;
    /* Suffixes that make adjectives ("famous", "useful", "endless",
     * "musical", "reliable", "visible"). */
    return ends(s, j, "ous", 6) || ends(s, j, "ful", 6) || ends(s, j, "less", 6) ||
           ends(s, j, "ical", 6) || ends(s, j, "able", 6) || ends(s, j, "ible", 6);
}

/* A determiner, possessive or number: a noun follows. */
static int is_det(const sent *s, size_t j)
{
    return is(s, j, L_DET) || is_number(s, j) || is_possessive(s, j);
}

static int is_adverb(const sent *s, size_t j)
{
    if (is(s, j, L_ADV))
        return 1;
    return ends(s, j, "ly", 5) && !is(s, j, L_NOT_LY);
}

/* A plural noun, by its look: "prices", "students" (not "this", "glass"). */
static int looks_plural(const sent *s, size_t j)
{
    if (is(s, j, L_PLURAL_IRREG))
        return 1;
    if (!ends(s, j, "s", 4) || ends(s, j, "ss", 0) || ends(s, j, "us", 0) || ends(s, j, "'s", 0))
        return 0;
    return !is(s, j, L_NOT_PLURAL) && !is(s, j, L_DET) && !is(s, j, L_PREP) &&
           !is(s, j, L_SUBJ_SING) && !is(s, j, L_BE) && !is(s, j, L_HAVE) && !is(s, j, L_DO);
}

/* A word that could follow a verb as its object: "record *the* song",
 * "wind *it*", "tear *up*". */
static int is_objectish(const sent *s, size_t j)
{
    return is_det(s, j) || is(s, j, L_OBJ) || is(s, j, L_PARTICLE);
}

/* The nearest word before i that is not an adverb, or NONE. */
static size_t prev_content(const sent *s, size_t i)
{
    for (size_t j = i; j-- > 0;)
        if (!is_adverb(s, j))
            return j;
    return NONE;
}

static size_t next_word(const sent *s, size_t i) { return i + 1 < s->n ? i + 1 : NONE; }

/* Whether punctuation stands between words i and j = i + 1 (a comma, a
 * colon, a dash, a bracket: the words are views into one text, so what
 * lies between them is the text's). */
static int punct_between(const sent *s, size_t i, size_t j)
{
    if (i >= s->n || j >= s->n || j != i + 1 || s->w[j].s < s->w[i].s + s->w[i].len)
        return 0;
    for (const char *p = s->w[i].s + s->w[i].len; p < s->w[j].s; p++)
        if (strchr(",;:()[]\"", *p) || (unsigned char)*p == 0xE2 /* — – … */)
            return 1;
    return 0;
}

/* Whether any word of the sentence in [a, b) is in list. */
static int any_in(const sent *s, size_t a, size_t b, const char *list)
{
    for (size_t j = a; j < b && j < s->n; j++)
        if (is(s, j, list))
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- tagger */

typedef enum pos { POS_NONE, POS_VERB, POS_NOUN, POS_ADJ } pos;

/* The left-hand evidence, strong enough to beat any cue word to the right.
 * sform: the homograph is an -s form ("records", "lives"), which after a
 * singular subject is a verb and after "to" a noun ("moved to tears"). */
static pos tag_strong(const sent *s, size_t i, int sform)
{
    size_t p = prev_content(s, i);
    if (p == NONE)
        return POS_NONE;
    /* R_INFINITIVE: "to record", "to close" (a base form only). */
    if (!sform && is(s, p, "to"))
        return POS_VERB;
    /* R_DO_MAIN: "do" opening the sentence right before the word is the
     * main verb, not do-support (a question would have its subject next):
     * "Do moderate exercise". */
    if (p == 0 && p + 1 == i && is(s, p, "do does did"))
        return POS_NOUN;
    /* R_AUXILIARY: a modal, do-support or a request: "will record", "don't
     * tear", "please close", "let's go". */
    if (is(s, p, L_MODAL) || is(s, p, L_DO))
        return POS_VERB;
    /* R_WH_QUESTION: "which"/"what"/"that" before an -s form and an
     * auxiliary: a plural noun ("Which subjects do you study?", "that
     * records are kept"). */
    if (sform && is(s, p, "which what that") &&
        is(s, next_word(s, i), "do does did are were have had can could will would should"))
        return POS_NOUN;
    /* R_SUBJECT: a subject pronoun: "they record", "she records", "this
     * permits". */
    if (sform ? is(s, p, L_SUBJ_SING) : is(s, p, L_SUBJ))
        return POS_VERB;
    /* R_PREDICATE: be, a linking verb or an intensifier right before: an
     * adjective ("is content", "seems perfect", "very close"). */
    if (is(s, p, L_BE) || is(s, p, L_LINK) || (p + 1 == i && is(s, p, L_INTENS)))
        return POS_ADJ;
    /* R_HAVE: "has records", "have no use" (participles are other words). */
    if (is(s, p, L_HAVE))
        return POS_NOUN;
    /* R_DETERMINER: "the record", "her tears", "nine lives", "John's wound". */
    if (is_det(s, p))
        return POS_NOUN;
    /* R_PREPOSITION: "on record", "in tears", "to tears" (-s forms). */
    if (is(s, p, L_PREP) || (sform && is(s, p, "to")))
        return POS_NOUN;
    /* R_ADJECTIVE: "a new record", "fresh produce". */
    if (is_adj(s, p))
        return POS_NOUN;
    return POS_NONE;
}

/* Weaker evidence, used when neither the left-hand words nor the entry's
 * own cue words decided. */
static pos tag_weak(const sent *s, size_t i, int sform)
{
    size_t p = prev_content(s, i), q = next_word(s, i);
    /* W_IMPERATIVE: at the start of a sentence, before an object: "Record
     * the song", "Wind it up", "Tear down the wall". */
    if (!sform && p == NONE && q != NONE && is_objectish(s, q))
        return POS_VERB;
    /* W_NAME: a name before an -s form, with an object or a phrase after:
     * "Mary records the album", "Tom lives in Rome". */
    if (sform && p != NONE && p > 0 && capitalized(s, p) && !is(s, p, "i") &&
        !is_det(s, p - 1) &&
        (q == NONE || is_objectish(s, q) || (is(s, q, L_PREP) && !is(s, q, "of"))))
        return POS_VERB;
    /* W_PLURAL_SUBJECT: a plural noun before a base form, then the end, an
     * object, a phrase or a clause: "prices increase", "students protest
     * against", "the shops close at six". Not before "of": "the sales
     * record of...". */
    if (!sform && p != NONE && looks_plural(s, p) &&
        (q == NONE || is_objectish(s, q) || is(s, q, L_CLAUSE) || is_adverb(s, q) ||
         (is(s, q, L_PREP) && !is(s, q, "of"))))
        return POS_VERB;
    /* W_TRANSITIVE: an object right after, a non-determiner before: "the
     * museum houses the collection". Not "that", which starts a clause. */
    if (p != NONE && q != NONE && (is_det(s, q) || is(s, q, L_OBJ)) && !is(s, q, "that"))
        return POS_VERB;
    /* W_OF: "record of", "use of": a noun. */
    if (q != NONE && is(s, q, "of"))
        return POS_NOUN;
    return POS_NONE;
}

/* ----------------------------------------------------------------- table */

enum { RD_A = 0, RD_B = 1 };

typedef struct hentry hentry;
/* Decides reading A or B for words[i]. */
typedef int (*picker)(const sent *s, size_t i, const hentry *e);

struct hentry {
    const char *word;        /* lower case */
    const char *a_us, *a_gb; /* reading A (usually noun/adjective) */
    const char *b_us, *b_gb; /* reading B (usually verb) */
    picker pick;             /* NULL: pick_by_pos */
    unsigned char def;       /* pick_by_pos: the reading when nothing decides */
    unsigned char sform;     /* an -s form (plural noun or 3rd-person verb) */
    /* pick_by_pos: words that decide right away when just before (prev_*)
     * or, failing the strong tagger rules, just after (next_*) the word;
     * space-separated, NULL: none. */
    const char *prev_a, *prev_b, *next_a, *next_b;
};

/* The tagger's guess for A (noun/adjective) or B (verb): the word's own
 * cue before it, the strong rules, its cues after it, the weak rules, then
 * the default. */
static int pick_by_pos(const sent *s, size_t i, const hentry *e)
{
    size_t p = i ? i - 1 : NONE, q = next_word(s, i);
    if (e->prev_a && is(s, p, e->prev_a))
        return RD_A;
    if (e->prev_b && is(s, p, e->prev_b))
        return RD_B;
    pos t = tag_strong(s, i, e->sform);
    if (t != POS_NONE)
        return t == POS_VERB ? RD_B : RD_A;
    if (e->next_a && is(s, q, e->next_a))
        return RD_A;
    if (e->next_b && is(s, q, e->next_b))
        return RD_B;
    t = tag_weak(s, i, e->sform);
    if (t != POS_NONE)
        return t == POS_VERB ? RD_B : RD_A;
    return e->def;
}

/* read: A present ɹˈid, B past or participle ɹˈɛd. */

/* Cues anywhere in the sentence. */
static int past_time_cue(const sent *s)
{
    for (size_t j = 0; j < s->n; j++) {
        if (is(s, j, "yesterday ago earlier previously formerly recently"))
            return 1;
        if (is(s, j, "last") && is(s, j + 1, L_TIME))
            return 1;
        if (is(s, j, "in") && is_year(s, j + 1))
            return 1;
    }
    return 0;
}

static int present_time_cue(const sent *s)
{
    for (size_t j = 0; j < s->n; j++) {
        if (is(s, j, "tomorrow tonight always usually often sometimes now nowadays daily "
                     "regularly normally generally typically every soon"))
            return 1;
        if (is(s, j, "next each") && is(s, j + 1, L_TIME))
            return 1;
    }
    return 0;
}

/* Another verb of the sentence in the past: "I read it and laughed". */
static int other_verb_past(const sent *s, size_t i)
{
    static const char irregular[] =
        "was were had did went came saw said told took gave got made knew thought found felt "
        "left ran wrote spoke heard sat stood began brought bought caught taught sent spent lost "
        "kept held met paid became fell grew drew drove rode rose wore won sang ate drank slept "
        "woke broke chose forgot understood led meant";
    static const char not_past[] = "hundred wicked naked sacred kindred beloved ragged rugged "
                                   "crooked jagged tired bored";
    for (size_t j = 0; j < s->n; j++) {
        if (j == i)
            continue;
        if (is(s, j, irregular))
            return 1;
        /* A regular past in -ed, not an adjective after a determiner ("the
         * tired dog") nor a word in -eed ("need", "speed"). */
        if (ends(s, j, "ed", 5) && !ends(s, j, "eed", 0) && !is(s, j, not_past) &&
            !(j > 0 && is_det(s, j - 1)))
            return 1;
    }
    return 0;
}

/* The tense of "read" after its subject, from the rest of the sentence.
 * third: the subject is third person singular ("he read" cannot be
 * present: that would be "he reads"). */
static int read_tense(const sent *s, size_t i, int third)
{
    if (past_time_cue(s))
        return RD_B;
    if (present_time_cue(s))
        return RD_A;
    /* "then" is weak: "I read it then" (past), but "then read on" is
     * caught earlier as an imperative. */
    if (any_in(s, 0, s->n, "then"))
        return RD_B;
    if (other_verb_past(s, i))
        return RD_B;
    return third ? RD_B : RD_A;
}

static int pick_read(const sent *s, size_t i, const hentry *e)
{
    (void)e;
    size_t p = prev_content(s, i);
    /* Sentence start: an imperative ("Read the label"). */
    if (p == NONE)
        return RD_A;
    /* "have read", "had never read", "was read", "she's read". */
    if (is(s, p, L_HAVE) || is(s, p, L_BE))
        return RD_B;
    /* "to read", "will read", "didn't read", "please read". */
    if (is(s, p, "to") || is(s, p, L_MODAL) || is(s, p, L_DO))
        return RD_A;
    /* A noun: "a good read"; after an object: "let me read". */
    if (is_det(s, p) || is_adj(s, p) || is(s, p, "me him us them"))
        return RD_A;
    /* After a subject: an auxiliary before it decides ("have you read",
     * "did the boy read"), else the rest of the sentence. */
    int subject = is(s, p, L_SUBJ) || !(is(s, p, L_PREP) || is(s, p, L_CLAUSE) ||
                                        is(s, p, "to and or that which"));
    if (subject) {
        for (size_t k = 0, j = p; k < 3 && j-- > 0; k++) {
            if (is(s, j, L_HAVE))
                return RD_B;
            if (is(s, j, L_MODAL) || is(s, j, L_DO))
                return RD_A;
        }
        int third = is(s, p, "he she it") ||
                    (!is(s, p, L_SUBJ) && !looks_plural(s, p) && !is(s, p, L_DET));
        return read_tense(s, i, third);
    }
    return read_tense(s, i, 0);
}

/* lead / leads: A lˈid (guide, first place), B lˈɛd (the metal). */
static int pick_lead(const sent *s, size_t i, const hentry *e)
{
    static const char metal_next[] =
        "pipe pipes paint poisoning pencil pencils weight weights shot bullet bullets ore acid "
        "levels level contamination exposure crystal sheet sheets roof roofs balloon based free "
        "oxide mine mines mining smelter pollution dust";
    static const char metals[] = "zinc copper tin mercury arsenic iron nickel cadmium steel";
    size_t p = i ? i - 1 : NONE, q = next_word(s, i);
    if (e->sform) /* "pencil leads"; otherwise leads are clues or cables */
        return is(s, p, "pencil") ? RD_B : RD_A;
    /* "made of lead", "levels of lead". */
    if (is(s, p, "of molten toxic"))
        return RD_B;
    /* "lead paint", "lead poisoning". */
    if (is(s, q, metal_next))
        return RD_B;
    /* "zinc and lead", "lead and copper". */
    if ((is(s, p, "and") && p > 0 && is(s, p - 1, metals)) ||
        (is(s, q, "and") && is(s, q + 1, metals)))
        return RD_B;
    return RD_A;
}

/* live: A lˈIv (adjective: "live music", "go live"), B lˈɪv (verb). */
static int pick_live(const sent *s, size_t i, const hentry *e)
{
    (void)e;
    static const char shows[] =
        "music broadcast broadcasts show shows audience audiences performance performances "
        "concert concerts stream streams streaming coverage event events album recording "
        "version feed tv television radio wire bait animals ammunition round rounds action chat "
        "demo update updates video footage band bands sports game games news report session "
        "sessions theater theatre comedy entertainment blog";
    static const char perform[] =
        "play plays played playing perform performs performed performing broadcast "
        "broadcasting streamed streaming stream aired airs shown watch watched watching see saw "
        "seen hear heard sang sing singing appear appeared appears covered reported reporting";
    static const char places[] =
        "in at with alone here there near by for without together happily longer forever off "
        "through on like inside outside abroad nearby somewhere anywhere peacefully up to";
    size_t p = prev_content(s, i), q = next_word(s, i);
    /* "go live", "went live". */
    if (is(s, p, "go goes went going gone"))
        return RD_A;
    /* "long live the king". */
    if (p + 1 == i && is(s, p, "long"))
        return RD_B;
    /* "they played it live", "I saw them live": a performing verb one or
     * two words before, and no subject right before (not "where they
     * live"; not "watch how people live" either: too far). */
    if (!is(s, p, "i we they he she who"))
        for (size_t k = 0, j = i; k < 2 && j-- > 0; k++)
            if (is(s, j, perform))
                return RD_A;
    /* A subject, "to", a modal: "where they live", "who live", "to live". */
    if (is(s, p, L_SUBJ) || is(s, p, "to") || is(s, p, L_MODAL) || is(s, p, L_DO) ||
        (p != NONE && p > 0 && capitalized(s, p) && !is(s, p, "i")))
        return RD_B;
    /* "the show is live", "we're live". */
    if (is(s, p, L_BE) || is(s, p, L_LINK))
        return RD_A;
    /* "live on air", "live on stage". */
    if (is(s, q, "on") && is(s, q + 1, "air stage tv television camera radio"))
        return RD_A;
    /* "live in Paris", "live with", "live alone". */
    if (is(s, q, places))
        return RD_B;
    /* "a live broadcast", "their live album", "live music". */
    if (is_det(s, p) || is(s, p, L_PREP) || is_adj(s, p) || is(s, q, shows))
        return RD_A;
    /* Otherwise the verb, the commoner word: "Live the dream", "people
     * live longer". */
    return RD_B;
}

/* tear / tears: A tˈɪɹ (crying), B tˈɛɹ (ripping). */
static int pick_tear(const sent *s, size_t i, const hentry *e)
{
    static const char torn[] = "fabric shirt jeans paper sheet page cloth sail tent tire tyre "
                               "trousers pants dress skin wall canvas seam sleeve sock socks "
                               "jacket coat bag screen membrane muscle ligament";
    size_t p = i ? i - 1 : NONE, q = next_word(s, i);
    /* "wear and tear". */
    if (is(s, p, "and") && p > 0 && is(s, p - 1, "wear"))
        return RD_B;
    /* "a muscle tear", "an ACL tear". */
    if (is(s, p, "muscle ligament acl meniscus rotator cuff hamstring retinal cartilage tendon"))
        return RD_B;
    pos t = tag_strong(s, i, e->sform);
    if (t == POS_VERB)
        return RD_B;
    if (t != POS_NONE) {
        /* A noun: "a tear in the fabric" rips, "a tear in her eye" cries. */
        if (is(s, q, "in on") && any_in(s, q + 1, q + 4, torn))
            return RD_B;
        return RD_A;
    }
    /* "tear up", "tear down the wall", "tear it apart". */
    if (!e->sform && is(s, q, "up down apart off open away out into through at"))
        return RD_B;
    t = tag_weak(s, i, e->sform);
    if (t == POS_VERB)
        return RD_B;
    return RD_A;
}

/* bass: A bˈæs (the fish), B bˈAs (low music). The nearest cue word wins. */
static int pick_bass(const sent *s, size_t i, const hentry *e)
{
    (void)e;
    static const char fish[] = "caught catch catching catches fish fishing fished fisherman "
                               "lake river sea striped largemouth smallmouth pond lure lures "
                               "bait hook angler anglers rod fillet grilled baked boat";
    static const char music[] =
        "guitar guitars guitarist player players plays played playing play drum drums drummer "
        "line lines clef voice singer sing sang amp amplifier band treble music musical note "
        "notes string strings speaker speakers boost heavy solo jazz double electric sound "
        "tenor baritone soprano choir frequency frequencies subwoofer beat dj rock";
    for (size_t d = 1; d < s->n; d++) {
        int f = (i >= d && is(s, i - d, fish)) || is(s, i + d, fish);
        int m = (i >= d && is(s, i - d, music)) || is(s, i + d, music);
        if (f != m)
            return f ? RD_A : RD_B;
    }
    return RD_B;
}

/* bow / bows: A bˈO (ribbon, archery), B bˈW (bending; a ship's front). */
static int pick_bow(const sent *s, size_t i, const hentry *e)
{
    size_t p = prev_content(s, i), q = next_word(s, i);
    /* "take a bow", "took their bows". */
    if (is_det(s, p) && p > 0 && is(s, p - 1, "take took taking takes taken"))
        return RD_B;
    /* "a deep bow", "a low bow". */
    if (p + 1 == i && is(s, p, "deep low slight polite final courtly gracious"))
        return RD_B;
    /* "the bow of the ship". */
    if (is(s, q, "of") && any_in(s, q + 1, q + 4, "ship ships boat boats vessel yacht canoe"))
        return RD_B;
    /* "bow to the queen", "bow down", "a bow before the king". */
    if (is(s, q, "to before down"))
        return RD_B;
    pos t = tag_strong(s, i, e->sform);
    if (t == POS_NONE)
        t = tag_weak(s, i, e->sform);
    return t == POS_VERB ? RD_B : RD_A;
}

/* that: A ðˈæt (a determiner or a pronoun: "that object", "I like that"),
 * B ðæt (a conjunction or a relative: "I know that he left", "the car that
 * is red"), as misaki reads its DT and other tags. */
static int pick_that(const sent *s, size_t i, const hentry *e)
{
    (void)e;
    size_t q = next_word(s, i), raw = i ? i - 1 : NONE;
    /* "I like that.", "after that, we", "that and more", "that of the
     * others". */
    if (q == NONE || punct_between(s, i, q) || is(s, q, L_CLAUSE) || is(s, q, "of or"))
        return RD_A;
    /* "so that", "such that", "now that", "except that", "said that". */
    if (is(s, raw, "so such now except given provided assuming say says said saying know knows knew known "
                   "think thinks thought believe believes believed hope hopes hoped feel feels felt mean "
                   "means meant show shows showed shown suggest suggests suggested find finds found realize "
                   "realized realise realised see saw seen hear heard tell told sure glad afraid clear "
                   "true likely possible aware"))
        return RD_B;
    /* a clause follows: "that he left", "that the door was open", "that 5 of
     * them"; but "that one" is a determiner */
    if (!is(s, q, "one") && (is_det(s, q) || is(s, q, L_SUBJ) || is(s, q, "there") || is_number(s, q)))
        return RD_B;
    /* "that is", "that was": the pronoun at the head of its clause, a
     * relative after a noun ("the car that is red") */
    if (is(s, q, L_BE) || is(s, q, L_MODAL) || is(s, q, L_HAVE) || is(s, q, L_DO))
        return raw == NONE || is(s, raw, L_PREP) || is(s, raw, L_CLAUSE) ? RD_A : RD_B;
    /* a relative before a verb in the past: "the book that changed it" */
    if (raw != NONE && !is(s, raw, L_PREP) && ends(s, q, "ed", 4))
        return RD_B;
    /* a noun, an adjective, an adverb: "that object", "that much" */
    return RD_A;
}

/* close: A klˈOs (near), B klˈOz (shut; the end: "the close of day"). */
static int pick_close(const sent *s, size_t i, const hentry *e)
{
    (void)e;
    size_t p = prev_content(s, i), q = next_word(s, i), raw = i ? i - 1 : NONE;
    /* "close to", "close enough", "a close friend", "close call". */
    if (is(s, q, "to enough together friend friends relative relatives call calls contact "
                 "range attention eye look second behind ties relationship relationships "
                 "family knit race game match"))
        return RD_A;
    /* "close by", unless a verb is expected ("we close by six"). */
    if (is(s, q, "by") && tag_strong(s, i, 0) != POS_VERB)
        return RD_A;
    /* "very close", "is close", "came close", "stay close", "up close". */
    if (is(s, raw, L_INTENS) || is(s, p, L_BE) || is(s, p, L_LINK) ||
        is(s, p, "come came comes coming keep kept hold held stand stood sit sat draw drew up "
                 "get"))
        return RD_A;
    /* "the close of business", "came to a close". */
    if (is(s, p, "the a") && (q == NONE || is(s, q, "of")))
        return RD_B;
    pos t = tag_strong(s, i, 0);
    if (t == POS_NONE)
        t = tag_weak(s, i, 0);
    return t == POS_VERB ? RD_B : RD_A;
}

/* content: A kˈɑntɛnt (what something holds), B kəntˈɛnt (satisfied; to
 * satisfy). */
static int pick_content(const sent *s, size_t i, const hentry *e)
{
    (void)e;
    size_t p = prev_content(s, i), q = next_word(s, i), raw = i ? i - 1 : NONE;
    /* "the content", "its content to be shared". */
    if (is_det(s, p))
        return RD_A;
    /* "content with", "content to wait". */
    if (is(s, q, "with to"))
        return RD_B;
    /* "very content", "is content", "seemed content", "to content yourself". */
    if (is(s, raw, L_INTENS) || is(s, raw, "perfectly more less"))
        return RD_B;
    pos t = tag_strong(s, i, 0);
    if (t == POS_ADJ || t == POS_VERB)
        return RD_B;
    return RD_A;
}

/* does: A dˈʌz (the verb), B dˈOz (female deer). */
static int pick_does(const sent *s, size_t i, const hentry *e)
{
    (void)e;
    size_t p = i ? i - 1 : NONE, q = next_word(s, i);
    /* "the does", "two does", "young does", "a herd of does": determiners
     * that go with a plural (not "this", "each": "this does it"). */
    if (is(s, p, "the these those some many several few both my your his her our their of "
                 "young female wild pregnant adult") ||
        is_number(s, p))
        return RD_B;
    /* "does and fawns". */
    if (is(s, q, "and") && is(s, q + 1, "bucks fawns stags"))
        return RD_B;
    return RD_A;
}

/* dove: A dˈʌv (the bird), B dˈOv (past of dive). */
static int pick_dove(const sent *s, size_t i, const hentry *e)
{
    (void)e;
    size_t p = prev_content(s, i), q = next_word(s, i);
    /* "a white dove", "like a dove". */
    if (is_det(s, p) || is_adj(s, p) || is(s, p, L_PREP))
        return RD_A;
    /* "she dove", "Mary dove". */
    if (is(s, p, L_SUBJ) || (p != NONE && p > 0 && capitalized(s, p) && !is(s, p, "i")))
        return RD_B;
    /* "the boy dove into the pool". */
    if (p != NONE && is(s, q, "into in off under down for from after headfirst deep beneath "
                              "toward towards onto over through back right straight"))
        return RD_B;
    return RD_A;
}

/* minute: A mˈɪnət (sixty seconds), B mInˈut (tiny). */
static int pick_minute(const sent *s, size_t i, const hentry *e)
{
    (void)e;
    size_t p = prev_content(s, i), q = next_word(s, i), raw = i ? i - 1 : NONE;
    /* "a minute detail", "minute particles". */
    if (is(s, q, "detail details amount amounts particle particles quantity quantities trace "
                 "traces difference differences change changes fraction crack cracks organism "
                 "organisms creature creatures portion variation variations examination "
                 "inspection scale size sizes fragment fragments droplets drops pieces"))
        return RD_B;
    /* "very minute", "the differences were minute". */
    if (is(s, raw, L_INTENS) || is(s, raw, "most") || is(s, p, L_BE))
        return RD_B;
    return RD_A;
}

/* row / rows: A ɹˈO (a line; to paddle), B ɹˈW (a quarrel). */
static int pick_row(const sent *s, size_t i, const hentry *e)
{
    size_t p = i ? i - 1 : NONE, q = next_word(s, i);
    /* "row the boat", "to row". */
    if (tag_strong(s, i, e->sform) == POS_VERB)
        return RD_A;
    /* "three in a row over the weekend". */
    if (is(s, p, "a") && p > 0 && is(s, p - 1, "in"))
        return RD_A;
    /* "a blazing row", "a diplomatic row". */
    if (is(s, p, "blazing furious heated almighty bitter diplomatic political"))
        return RD_B;
    /* "a row with her husband", "the row over funding". */
    if (is(s, q, "with over about between erupted broke"))
        return RD_B;
    return RD_A;
}

/* used: A jˈuzd (made use of), B jˈust ("used to": habit, accustomed). */
static int pick_used(const sent *s, size_t i, const hentry *e)
{
    (void)e;
    size_t p = prev_content(s, i), q = next_word(s, i);
    if (!is(s, q, "to"))
        return RD_A;
    /* After be/get the "to" may be a purpose ("was used to cut") or the
     * "accustomed" sense ("is used to the cold", "got used to it", "used to
     * working"): what follows "to" tells. */
    if (is(s, p, L_BE) || is(s, p, L_LINK) || is(s, p, "grow grew grown getting")) {
        size_t r = next_word(s, q);
        if (r == NONE || is_det(s, r) || is(s, r, L_OBJ) || ends(s, r, "ing", 5) ||
            capitalized(s, r))
            return RD_B;
        return RD_A;
    }
    /* "I used to live there". */
    return RD_B;
}

/* wound: A wˈund (an injury), B wˈWnd (past of wind). */
static int pick_wound(const sent *s, size_t i, const hentry *e)
{
    (void)e;
    size_t p = prev_content(s, i), q = next_word(s, i);
    /* "the wound", "a deep wound", "her wound". */
    if (is_det(s, p) || is_adj(s, p) || is(s, p, L_PREP))
        return RD_A;
    /* "wound up", "the road wound through the hills". */
    if (is(s, q, "up down around round through along back tightly tight itself"))
        return RD_B;
    /* "he wound the clock", "was wound". */
    if (is(s, p, L_SUBJ) || is(s, p, L_HAVE) || is(s, p, L_BE))
        return RD_B;
    /* "Mary wound the yarn". */
    if (p != NONE && (is_det(s, q) || is(s, q, L_OBJ)))
        return RD_B;
    return RD_A;
}

/* polish: A pˈɑlɪʃ (to shine), B pˈOlɪʃ (of Poland), by the capital. */
static int pick_polish(const sent *s, size_t i, const hentry *e)
{
    (void)e;
    if (!capitalized(s, i))
        return RD_A;
    /* Mid-sentence, the capital is the adjective's ("a Polish film"). */
    int all_caps = s->w[i].len > 1 && s->w[i].s[1] >= 'A' && s->w[i].s[1] <= 'Z';
    if (i > 0 && !all_caps)
        return RD_B;
    /* At the start (or in capitals) it may be the imperative: "Polish the
     * silver", "Polish your shoes". */
    return tag_weak(s, i, 0) == POS_VERB ? RD_A : RD_B;
}

/* invalid: A ɪnvˈælɪd (not valid), B ˈɪnvəlɪd (a sick person). */
static int pick_invalid(const sent *s, size_t i, const hentry *e)
{
    (void)e;
    size_t p = prev_content(s, i), q = next_word(s, i);
    /* "an invalid" as a noun: a determiner before, no noun after ("the
     * invalid was bedridden"); "an invalid password" stays an adjective. */
    if (is_det(s, p) &&
        (q == NONE || is(s, q, "was is who had has lay in and of for with sat remained")))
        return RD_B;
    return RD_A;
}

/* Base forms decided by pick_by_pos: A noun/adjective, B verb. */
#define NV(w, aus, agb, bus, bgb, def) {w, aus, agb, bus, bgb, NULL, def, 0, NULL, NULL, NULL, NULL}
/* -s forms decided by pick_by_pos. */
#define NVS(w, aus, agb, bus, bgb, def) {w, aus, agb, bus, bgb, NULL, def, 1, NULL, NULL, NULL, NULL}
/* pick_by_pos with cue words (prev A, prev B, next A, next B). */
#define CUED(w, aus, agb, bus, bgb, def, sf, pa, pb, na, nb)                                     \
    {w, aus, agb, bus, bgb, NULL, def, sf, pa, pb, na, nb}
/* A picker of its own. */
#define SPEC(w, aus, agb, bus, bgb, fn, sf) {w, aus, agb, bus, bgb, fn, RD_A, sf, NULL, NULL, NULL, NULL}

static const hentry TABLE[] = {
    /* Words with a picker of their own (see each picker for A and B). */
    SPEC("read", "ɹˈid", "ɹˈiːd", "ɹˈɛd", "ɹˈɛd", pick_read, 0),
    SPEC("lead", "lˈid", "lˈiːd", "lˈɛd", "lˈɛd", pick_lead, 0),
    SPEC("leads", "lˈidz", "lˈiːdz", "lˈɛdz", "lˈɛdz", pick_lead, 1),
    SPEC("live", "lˈIv", "lˈIv", "lˈɪv", "lˈɪv", pick_live, 0),
    SPEC("tear", "tˈɪɹ", "tˈɪə", "tˈɛɹ", "tˈɛː", pick_tear, 0),
    SPEC("tears", "tˈɪɹz", "tˈɪəz", "tˈɛɹz", "tˈɛːz", pick_tear, 1),
    SPEC("bass", "bˈæs", "bˈas", "bˈAs", "bˈAs", pick_bass, 0),
    SPEC("bow", "bˈO", "bˈQ", "bˈW", "bˈW", pick_bow, 0),
    SPEC("bows", "bˈOz", "bˈQz", "bˈWz", "bˈWz", pick_bow, 1),
    SPEC("close", "klˈOs", "klˈQs", "klˈOz", "klˈQz", pick_close, 0),
    SPEC("that", "ðˈæt", "ðˈat", "ðæt", "ðat", pick_that, 0),
    SPEC("content", "kˈɑntɛnt", "kˈɒntɛnt", "kəntˈɛnt", "kəntˈɛnt", pick_content, 0),
    SPEC("does", "dˈʌz", "dˈʌz", "dˈOz", "dˈQz", pick_does, 1),
    SPEC("dove", "dˈʌv", "dˈʌv", "dˈOv", "dˈQv", pick_dove, 0),
    SPEC("minute", "mˈɪnət", "mˈɪnɪt", "mInˈut", "mInjˈuːt", pick_minute, 0),
    SPEC("row", "ɹˈO", "ɹˈQ", "ɹˈW", "ɹˈW", pick_row, 0),
    SPEC("rows", "ɹˈOz", "ɹˈQz", "ɹˈWz", "ɹˈWz", pick_row, 1),
    SPEC("used", "jˈuzd", "jˈuːzd", "jˈust", "jˈuːst", pick_used, 0),
    SPEC("wound", "wˈund", "wˈuːnd", "wˈWnd", "wˈWnd", pick_wound, 0),
    SPEC("polish", "pˈɑlɪʃ", "pˈɒlɪʃ", "pˈOlɪʃ", "pˈQlɪʃ", pick_polish, 0),
    SPEC("invalid", "ɪnvˈælɪd", "ɪnvˈalɪd", "ˈɪnvəlɪd", "ˈɪnvəlɪd", pick_invalid, 0),

    /* Noun or adjective (A) against verb (B), with cue words. */
    CUED("lives", "lˈIvz", "lˈIvz", "lˈɪvz", "lˈɪvz", RD_A, 1,
         /* "save lives", "claimed lives": a verb before, so the noun */
         "save saves saved saving change changes changed changing ruin ruined claim claimed "
         "claims cost costs lost lose risk risked touch touched took take takes taking",
         NULL, NULL,
         /* "lives in Paris", "lives alone", "lives on" */
         "in on at with alone near here there nearby abroad together happily next downstairs "
         "upstairs somewhere nowhere"),
    CUED("wind", "wˈɪnd", "wˈɪnd", "wˈInd", "wˈInd", RD_A, 0, NULL, NULL, NULL,
         "up around round it them clock watch yarn thread string rope tape film"),
    CUED("winds", "wˈɪndz", "wˈɪndz", "wˈIndz", "wˈIndz", RD_A, 1, NULL,
         "road river path trail stream track", NULL,
         "up down through around round along its back"),
    CUED("object", "ˈɑbʤəkt", "ˈɒbʤɛkt", "əbʤˈɛkt", "əbʤˈɛkt", RD_A, 0, NULL, NULL, NULL, "to"),
    CUED("objects", "ˈɑbʤəkts", "ˈɒbʤɛkts", "əbʤˈɛkts", "əbʤˈɛkts", RD_A, 1, NULL, NULL, NULL,
         "to"),
    CUED("deserts", "dˈɛzəɹts", "dˈɛzəts", "dəzˈɜɹts", "dɪzˈɜːts", RD_A, 1, NULL,
         /* "just deserts" */ "just", NULL, NULL),
    CUED("permits", "pˈɜɹmɪts", "pˈɜːmɪts", "pəɹmˈɪts", "pəmˈɪts", RD_A, 1, NULL,
         /* "if time permits" */ "time weather space budget", NULL, NULL),
    CUED("produce", "pɹˈOdˌus", "pɹˈɒdjuːs", "pɹədˈus", "pɹədjˈuːs", RD_B, 0, NULL, NULL,
         "section aisle stand stands market markets department manager truck", NULL),
    CUED("refuse", "ɹˈɛfjˌus", "ɹˈɛfjuːs", "ɹəfjˈuz", "ɹɪfjˈuːz", RD_B, 0, NULL, NULL,
         "collection collector collectors bin bins truck trucks dump disposal sack sacks heap",
         NULL),
    CUED("use", "jˈus", "jˈuːs", "jˈuz", "jˈuːz", RD_B, 0,
         /* "make use of" */ "make made makes making", NULL, "case cases", NULL),
    CUED("excuses", "ɪkskjˈusᵻz", "ɪkskjˈuːsɪz", "ɪkskjˈuzᵻz", "ɪkskjˈuːzɪz", RD_A, 1,
         /* "make excuses" */ "make made makes making", NULL, NULL, NULL),
    CUED("resume", "ɹˈɛzəmˌA", "ɹˈɛzjuːmA", "ɹəzˈum", "ɹɪzjˈuːm", RD_B, 0, NULL, NULL,
         "template templates writing builder", NULL),
    CUED("associate", "əsˈOsiət", "əsˈQʃɪət", "əsˈOsiˌAt", "əsˈQʃɪAt", RD_A, 0, NULL, NULL,
         NULL, "with"),
    CUED("elaborate", "əlˈæbəɹət", "ɪlˈabəɹət", "əlˈæbəɹˌAt", "ɪlˈabəɹAt", RD_A, 0, NULL, NULL,
         NULL, "on upon"),
    CUED("deliberate", "dəlˈɪbəɹət", "dɪlˈɪbəɹət", "dəlˈɪbəɹˌAt", "dɪlˈɪbəɹAt", RD_A, 0, NULL,
         NULL, NULL, "on over about"),

    /* Noun or adjective (A) against verb (B), by the tagger alone. */
    NV("record", "ɹˈɛkəɹd", "ɹˈɛkɔːd", "ɹəkˈɔɹd", "ɹɪkˈɔːd", RD_A),
    NVS("records", "ɹˈɛkəɹdz", "ɹˈɛkɔːdz", "ɹəkˈɔɹdz", "ɹɪkˈɔːdz", RD_A),
    NV("desert", "dˈɛzəɹt", "dˈɛzət", "dəzˈɜɹt", "dɪzˈɜːt", RD_A),
    NV("permit", "pˈɜɹmɪt", "pˈɜːmɪt", "pəɹmˈɪt", "pəmˈɪt", RD_A),
    NV("present", "pɹˈɛzᵊnt", "pɹˈɛzᵊnt", "pɹizˈɛnt", "pɹɪzˈɛnt", RD_A),
    NVS("presents", "pɹˈɛzᵊnts", "pɹˈɛzᵊnts", "pɹizˈɛnts", "pɹɪzˈɛnts", RD_A),
    NV("project", "pɹˈɑʤˌɛkt", "pɹˈɒʤɛkt", "pɹəʤˈɛkt", "pɹəʤˈɛkt", RD_A),
    NVS("projects", "pɹˈɑʤˌɛkts", "pɹˈɒʤɛkts", "pɹəʤˈɛkts", "pɹəʤˈɛkts", RD_A),
    NV("subject", "sˈʌbʤɛkt", "sˈʌbʤɛkt", "səbʤˈɛkt", "səbʤˈɛkt", RD_A),
    NVS("subjects", "sˈʌbʤɛkts", "sˈʌbʤɛkts", "səbʤˈɛkts", "səbʤˈɛkts", RD_A),
    NVS("uses", "jˈusᵻz", "jˈuːsɪz", "jˈuzᵻz", "jˈuːzɪz", RD_B),
    NV("excuse", "ɪkskjˈus", "ɪkskjˈuːs", "ɪkskjˈuz", "ɪkskjˈuːz", RD_B),
    NV("house", "hˈWs", "hˈWs", "hˈWz", "hˈWz", RD_A),
    NVS("houses", "hˈWsᵻz", "hˈWsɪz", "hˈWzᵻz", "hˈWzɪz", RD_A),
    NV("separate", "sˈɛpəɹət", "sˈɛpəɹət", "sˈɛpəɹˌAt", "sˈɛpəɹAt", RD_A),
    NV("estimate", "ˈɛstəmət", "ˈɛstɪmət", "ˈɛstəmˌAt", "ˈɛstɪmAt", RD_B),
    NVS("estimates", "ˈɛstəməts", "ˈɛstɪməts", "ˈɛstəmˌAts", "ˈɛstɪmAts", RD_A),
    NV("graduate", "ɡɹˈæʤəwət", "ɡɹˈaʤʊət", "ɡɹˈæʤʊˌAt", "ɡɹˈaʤʊAt", RD_A),
    NVS("graduates", "ɡɹˈæʤəwəts", "ɡɹˈaʤʊəts", "ɡɹˈæʤʊˌAts", "ɡɹˈaʤʊAts", RD_A),
    NV("moderate", "mˈɑdəɹət", "mˈɒdəɹət", "mˈɑdəɹˌAt", "mˈɒdəɹAt", RD_A),
    NV("conduct", "kˈɑndˌʌkt", "kˈɒndʌkt", "kəndˈʌkt", "kəndˈʌkt", RD_A),
    NV("contract", "kˈɑntɹˌækt", "kˈɒntɹakt", "kəntɹˈækt", "kəntɹˈakt", RD_A),
    NVS("contracts", "kˈɑntɹˌækts", "kˈɒntɹakts", "kəntɹˈækts", "kəntɹˈakts", RD_A),
    NV("convert", "kˈɑnvˌɜɹt", "kˈɒnvɜːt", "kənvˈɜɹt", "kənvˈɜːt", RD_B),
    NVS("converts", "kˈɑnvˌɜɹts", "kˈɒnvɜːts", "kənvˈɜɹts", "kənvˈɜːts", RD_A),
    NV("increase", "ˈɪnkɹˌis", "ˈɪnkɹiːs", "ɪnkɹˈis", "ɪnkɹˈiːs", RD_B),
    NVS("increases", "ˈɪnkɹˌisᵻz", "ˈɪnkɹiːsɪz", "ɪnkɹˈisᵻz", "ɪnkɹˈiːsɪz", RD_A),
    NV("decrease", "dˈikɹˌis", "dˈiːkɹiːs", "dəkɹˈis", "dɪkɹˈiːs", RD_A),
    NVS("decreases", "dˈikɹˌisᵻz", "dˈiːkɹiːsɪz", "dəkɹˈisᵻz", "dɪkɹˈiːsɪz", RD_A),
    NV("insult", "ˈɪnsˌʌlt", "ˈɪnsʌlt", "ɪnsˈʌlt", "ɪnsˈʌlt", RD_A),
    NVS("insults", "ˈɪnsˌʌlts", "ˈɪnsʌlts", "ɪnsˈʌlts", "ɪnsˈʌlts", RD_A),
    /* misaki has the noun's reading only; the verb is stressed on its
     * second syllable in the dictionaries. */
    NV("protest", "pɹˈOtˌɛst", "pɹˈQtɛst", "pɹətˈɛst", "pɹətˈɛst", RD_A),
    NVS("protests", "pɹˈOtˌɛsts", "pɹˈQtɛsts", "pɹətˈɛsts", "pɹətˈɛsts", RD_A),
    NV("rebel", "ɹˈɛbᵊl", "ɹˈɛbᵊl", "ɹəbˈɛl", "ɹɪbˈɛl", RD_A),
    NVS("rebels", "ɹˈɛbᵊlz", "ɹˈɛbᵊlz", "ɹəbˈɛlz", "ɹɪbˈɛlz", RD_A),
    NV("suspect", "sˈʌspˌɛkt", "sˈʌspɛkt", "səspˈɛkt", "səspˈɛkt", RD_A),
    NVS("suspects", "sˈʌspˌɛkts", "sˈʌspɛkts", "səspˈɛkts", "səspˈɛkts", RD_A),
    NV("console", "kˈɑnsˌOl", "kˈɒnsQl", "kənsˈOl", "kənsˈQl", RD_A),
    NV("perfect", "pˈɜɹfəkt", "pˈɜːfɪkt", "pəɹfˈɛkt", "pəfˈɛkt", RD_A),
    NV("entrance", "ˈɛntɹəns", "ˈɛntɹəns", "ɪntɹˈæns", "ɪntɹˈɑːns", RD_A),
    /* sow: A sˈW (a female pig), B sˈO (to plant seed). */
    NV("sow", "sˈW", "sˈW", "sˈO", "sˈQ", RD_B),
    NVS("sows", "sˈWz", "sˈWz", "sˈOz", "sˈQz", RD_B),
    NV("conflict", "kˈɑnflˌɪkt", "kˈɒnflɪkt", "kənflˈɪkt", "kənflˈɪkt", RD_A),
    NV("contest", "kˈɑntˌɛst", "kˈɒntɛst", "kəntˈɛst", "kəntˈɛst", RD_A),
    NV("contrast", "kˈɑntɹˌæst", "kˈɒntɹɑːst", "kəntɹˈæst", "kəntɹˈɑːst", RD_A),
    NV("import", "ˈɪmpˌɔɹt", "ˈɪmpɔːt", "ɪmpˈɔɹt", "ɪmpˈɔːt", RD_B),
    NV("progress", "pɹˈɑɡɹəs", "pɹˈQɡɹɛs", "pɹəɡɹˈɛs", "pɹəɡɹˈɛs", RD_A),
    NV("transport", "tɹˈænspˌɔɹt", "tɹˈɑːnspɔːt", "tɹænspˈɔɹt", "tɹɑːnspˈɔːt", RD_A),
    NV("survey", "sˈɜɹvˌA", "sˈɜːvA", "səɹvˈA", "səvˈA", RD_A),
    NV("reject", "ɹˈiʤˌɛkt", "ɹˈiːʤɛkt", "ɹəʤˈɛkt", "ɹɪʤˈɛkt", RD_B),
    NV("recall", "ɹˈikˌɔl", "ɹˈiːkɔːl", "ɹəkˈɔl", "ɹɪkˈɔːl", RD_B),
    NV("refund", "ɹˈifˌʌnd", "ɹˈiːfʌnd", "ɹəfˈʌnd", "ɹiːfˈʌnd", RD_A),
    NV("extract", "ˈɛkstɹˌækt", "ˈɛkstɹakt", "ɪkstɹˈækt", "ɪkstɹˈakt", RD_B),
    NV("attribute", "ˈætɹəbjˌut", "ˈatɹɪbjuːt", "ətɹˈɪbjˌut", "ətɹˈɪbjuːt", RD_A),
    NV("combine", "kˈɑmbˌIn", "kˈɒmbIn", "kəmbˈIn", "kəmbˈIn", RD_B),
    NV("insert", "ˈɪnsˌɜɹt", "ˈɪnsɜːt", "ɪnsˈɜɹt", "ɪnsˈɜːt", RD_B),
    NV("advocate", "ˈædvəkət", "ˈadvəkət", "ˈædvəkˌAt", "ˈadvəkAt", RD_A),
    NV("appropriate", "əpɹˈOpɹiət", "əpɹˈQpɹɪət", "əpɹˈOpɹiˌAt", "əpɹˈQpɹɪAt", RD_A),
    NV("approximate", "əpɹˈɑksəmət", "əpɹˈɒksɪmət", "əpɹˈɑksəmˌAt", "əpɹˈɒksɪmAt", RD_A),
    NV("delegate", "dˈɛləɡət", "dˈɛlɪɡət", "dˈɛləɡˌAt", "dˈɛlɪɡAt", RD_A),
    NV("duplicate", "dˈupləkət", "djˈuːplɪkət", "dˈupləkˌAt", "djˈuːplɪkAt", RD_A),
    NV("intimate", "ˈɪntəmət", "ˈɪntɪmət", "ˈɪntəmˌAt", "ˈɪntɪmAt", RD_A),
};

const char *kk_homograph_pick(const kk_hword *words, size_t n, size_t i, int british)
{
    if (!words || i >= n || !words[i].s)
        return NULL;
    sent s = {words, n};
    char w[WORD_MAX];
    size_t len = lower(&s, i, w);
    if (!len)
        return NULL;
    for (size_t k = 0; k < sizeof TABLE / sizeof TABLE[0]; k++) {
        const hentry *e = &TABLE[k];
        if (strlen(e->word) != len || memcmp(e->word, w, len) != 0)
            continue;
        int r = (e->pick ? e->pick : pick_by_pos)(&s, i, e);
        if (r == RD_A)
            return british ? e->a_gb : e->a_us;
        return british ? e->b_gb : e->b_us;
    }
    return NULL;
}
