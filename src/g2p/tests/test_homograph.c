/*
 * test_homograph.c - homographs decided by context (homograph.h).
 *
 * Two lists of sentences, each naming its homograph and the reading
 * expected: TUNED, the sentences the rules were written and tuned on (all
 * must pass), and HELD_OUT, written before the rules were first run and
 * never tuned on, whose pass rate is printed and held to a floor. Then the
 * symbols of every reading in the table, and the edges of the API.
 */
#include "helpers.h"

#include <stdio.h>
#include <string.h>

#include "homograph.h"

enum { US = 0, GB = 1 };

typedef struct hcase {
    int british;
    const char *text;
    const char *word;   /* the homograph, as written in text */
    const char *expect; /* NULL: not a homograph */
} hcase;

#define MAX_WORDS 64

/* Splits text at spaces into words without the punctuation around them
 * (apostrophes inside words stay), as g2p.c passes them. Returns the count;
 * fails the test when there are more than max. */
static size_t split(const char *text, kk_hword *w, size_t max)
{
    static const char punct[] = ".,!?;:\"()";
    size_t n = 0;
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        const char *a = p, *b = e;
        while (a < b && strchr(punct, *a))
            a++;
        while (b > a && strchr(punct, b[-1]))
            b--;
        if (b > a) {
            assert_true(n < max);
            w[n++] = (kk_hword){a, (size_t)(b - a)};
        }
        p = e;
    }
    return n;
}

/* The reading picked for c->word in c->text; *found says whether the word
 * is in the text at all. */
static const char *pick_case(const hcase *c, int *found)
{
    kk_hword w[MAX_WORDS];
    size_t n = split(c->text, w, MAX_WORDS), len = strlen(c->word);
    for (size_t i = 0; i < n; i++)
        if (w[i].len == len && memcmp(w[i].s, c->word, len) == 0) {
            *found = 1;
            return kk_homograph_pick(w, n, i, c->british);
        }
    *found = 0;
    return NULL;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Runs the cases; prints each miss; returns how many passed. */
static size_t run_cases(const hcase *cs, size_t n, const char *name)
{
    size_t ok = 0;
    for (size_t k = 0; k < n; k++) {
        int found;
        const char *got = pick_case(&cs[k], &found);
        if (!found) {
            print_message("%s: '%s' is not a word of \"%s\"\n", name, cs[k].word, cs[k].text);
            continue;
        }
        if (same(got, cs[k].expect))
            ok++;
        else
            print_message("%s: \"%s\" %s: got %s, want %s\n", name, cs[k].text, cs[k].word,
                          got ? got : "NULL", cs[k].expect ? cs[k].expect : "NULL");
    }
    return ok;
}

/* The sentences the rules were written and tuned on: each must pass. */
static const hcase TUNED[] = {
    /* read: present after to/modals/do, at the start; past after have/be, with a
     * past-time word, beside other past verbs, after he/she/it. */
    {US, "I like to read before bed.", "read", "ɹˈid"},
    {US, "You should read the manual.", "read", "ɹˈid"},
    {US, "Read the label carefully.", "Read", "ɹˈid"},
    {US, "Did you read my message?", "read", "ɹˈid"},
    {US, "I didn't read it.", "read", "ɹˈid"},
    {US, "Please read the terms.", "read", "ɹˈid"},
    {US, "I read every night.", "read", "ɹˈid"},
    {US, "They read books.", "read", "ɹˈid"},
    {US, "That book is a good read.", "read", "ɹˈid"},
    {US, "I have read that book.", "read", "ɹˈɛd"},
    {US, "Have you read the news?", "read", "ɹˈɛd"},
    {US, "She had never read a poem.", "read", "ɹˈɛd"},
    {US, "The letter was read aloud.", "read", "ɹˈɛd"},
    {US, "It has been read by millions.", "read", "ɹˈɛd"},
    {US, "I read it yesterday.", "read", "ɹˈɛd"},
    {US, "We read that story last week.", "read", "ɹˈɛd"},
    {US, "They read the report two days ago.", "read", "ɹˈɛd"},
    {US, "I read it in 1999.", "read", "ɹˈɛd"},
    {US, "I read it and laughed.", "read", "ɹˈɛd"},
    {US, "He read the letter.", "read", "ɹˈɛd"},
    {US, "The boy read quietly.", "read", "ɹˈɛd"},
    {US, "I've read it twice.", "read", "ɹˈɛd"},
    {GB, "I will read it tomorrow.", "read", "ɹˈiːd"},
    {GB, "She had read the book.", "read", "ɹˈɛd"},
    /* lead */
    {US, "She will lead the team.", "lead", "lˈid"},
    {US, "He took the lead in the race.", "lead", "lˈid"},
    {US, "The pipes are full of lead.", "lead", "lˈɛd"},
    {US, "Lead paint is dangerous.", "Lead", "lˈɛd"},
    {US, "The police followed several leads.", "leads", "lˈidz"},
    {US, "I need new pencil leads.", "leads", "lˈɛdz"},
    {GB, "They lead the league.", "lead", "lˈiːd"},
    /* live / lives */
    {US, "Where do you live?", "live", "lˈɪv"},
    {US, "I want to live in Paris.", "live", "lˈɪv"},
    {US, "We love live music.", "live", "lˈIv"},
    {US, "The show is live.", "live", "lˈIv"},
    {US, "We go live at nine.", "live", "lˈIv"},
    {US, "They played it live.", "live", "lˈIv"},
    {US, "Long live the king.", "live", "lˈɪv"},
    {US, "Many people live alone.", "live", "lˈɪv"},
    {US, "She lives in London.", "lives", "lˈɪvz"},
    {US, "A cat has nine lives.", "lives", "lˈIvz"},
    {US, "They changed their lives.", "lives", "lˈIvz"},
    {US, "Doctors save lives.", "lives", "lˈIvz"},
    {US, "Tom lives alone.", "lives", "lˈɪvz"},
    /* wind / winds */
    {US, "The wind is cold today.", "wind", "wˈɪnd"},
    {US, "Wind the rope around the post.", "Wind", "wˈInd"},
    {US, "Don't forget to wind your watch.", "wind", "wˈInd"},
    {US, "We will wind up the meeting soon.", "wind", "wˈInd"},
    {US, "A strong wind blew all night.", "wind", "wˈɪnd"},
    {US, "The road winds through the hills.", "winds", "wˈIndz"},
    {US, "The winds were strong.", "winds", "wˈɪndz"},
    /* tear / tears */
    {US, "A tear rolled down her cheek.", "tear", "tˈɪɹ"},
    {US, "Tear the letter into pieces.", "Tear", "tˈɛɹ"},
    {US, "Don't tear it up.", "tear", "tˈɛɹ"},
    {US, "There is a tear in the fabric.", "tear", "tˈɛɹ"},
    {US, "It shows signs of wear and tear.", "tear", "tˈɛɹ"},
    {US, "Tears ran down his face.", "Tears", "tˈɪɹz"},
    {US, "She was in tears.", "tears", "tˈɪɹz"},
    {US, "The film moved me to tears.", "tears", "tˈɪɹz"},
    {US, "He tears the paper in half.", "tears", "tˈɛɹz"},
    {GB, "Tear the page out.", "Tear", "tˈɛː"},
    /* record / records */
    {US, "Record the song tonight.", "Record", "ɹəkˈɔɹd"},
    {US, "They will record a new album.", "record", "ɹəkˈɔɹd"},
    {US, "She broke the world record.", "record", "ɹˈɛkəɹd"},
    {US, "That is off the record.", "record", "ɹˈɛkəɹd"},
    {US, "He keeps old records.", "records", "ɹˈɛkəɹdz"},
    {US, "The camera records everything.", "records", "ɹəkˈɔɹdz"},
    {US, "She records the data every hour.", "records", "ɹəkˈɔɹdz"},
    {GB, "I bought a record.", "record", "ɹˈɛkɔːd"},
    /* that: determiner or pronoun, or conjunction or relative */
    {US, "I object to that object on the table.", "that", "ðˈæt"},
    {US, "I know that he left early.", "that", "ðæt"},
    {US, "I really like that.", "that", "ðˈæt"},
    {US, "After that, we went home.", "that", "ðˈæt"},
    {US, "The car that is parked outside is mine.", "that", "ðæt"},
    {US, "That is close enough.", "That", "ðˈæt"},
    {US, "She said that the door was open.", "that", "ðæt"},
    {US, "The book that changed my life.", "that", "ðæt"},
    {US, "That one is mine.", "That", "ðˈæt"},
    {US, "We spoke so that nobody heard.", "that", "ðæt"},
    {GB, "I like that colour.", "that", "ðˈat"},
    /* bass */
    {US, "He plays the bass guitar.", "bass", "bˈAs"},
    {US, "Turn up the bass.", "bass", "bˈAs"},
    {US, "We caught a striped bass.", "bass", "bˈæs"},
    {US, "The bass in this lake are huge.", "bass", "bˈæs"},
    {GB, "We went fishing for bass.", "bass", "bˈas"},
    /* bow / bows */
    {US, "She tied a bow on the gift.", "bow", "bˈO"},
    {US, "He shot an arrow from his bow.", "bow", "bˈO"},
    {US, "Bow to the queen.", "Bow", "bˈW"},
    {US, "The actors took a bow.", "bow", "bˈW"},
    {US, "The bow of the ship rose.", "bow", "bˈW"},
    {US, "She bows her head.", "bows", "bˈWz"},
    {US, "The girls wore bows in their hair.", "bows", "bˈOz"},
    /* close */
    {US, "Please close the door.", "close", "klˈOz"},
    {US, "Close the window.", "Close", "klˈOz"},
    {US, "The shops close at six.", "close", "klˈOz"},
    {US, "We live close to the sea.", "close", "klˈOs"},
    {US, "The game was very close.", "close", "klˈOs"},
    {US, "She is a close friend.", "close", "klˈOs"},
    {US, "The year came to a close.", "close", "klˈOz"},
    {US, "Stay close.", "close", "klˈOs"},
    {GB, "They will close the road.", "close", "klˈQz"},
    /* content */
    {US, "The content of the book is great.", "content", "kˈɑntɛnt"},
    {US, "She is content with her job.", "content", "kəntˈɛnt"},
    {US, "He seemed content.", "content", "kəntˈɛnt"},
    {US, "We publish new content daily.", "content", "kˈɑntɛnt"},
    /* desert / deserts */
    {US, "The desert is hot.", "desert", "dˈɛzəɹt"},
    {US, "He would never desert his friends.", "desert", "dəzˈɜɹt"},
    {US, "They got their just deserts.", "deserts", "dəzˈɜɹts"},
    {US, "The Sahara is one of the great deserts.", "deserts", "dˈɛzəɹts"},
    /* does */
    {US, "What does it mean?", "does", "dˈʌz"},
    {US, "She does her homework.", "does", "dˈʌz"},
    {US, "The does and fawns ran.", "does", "dˈOz"},
    {US, "We saw three does.", "does", "dˈOz"},
    /* dove */
    {US, "A dove sat on the wire.", "dove", "dˈʌv"},
    {US, "He dove into the pool.", "dove", "dˈOv"},
    {US, "The swimmer dove off the cliff.", "dove", "dˈOv"},
    /* minute */
    {US, "Wait a minute.", "minute", "mˈɪnət"},
    {US, "It takes one minute.", "minute", "mˈɪnət"},
    {US, "There was a minute amount of dust.", "minute", "mInˈut"},
    {US, "The difference is very minute.", "minute", "mInˈut"},
    /* object / objects */
    {US, "The object fell.", "object", "ˈɑbʤəkt"},
    {US, "I object to that.", "object", "əbʤˈɛkt"},
    {US, "She objects to the plan.", "objects", "əbʤˈɛkts"},
    {US, "Pick up the objects.", "objects", "ˈɑbʤəkts"},
    /* permit / permits */
    {US, "You need a permit.", "permit", "pˈɜɹmɪt"},
    {US, "We cannot permit that.", "permit", "pəɹmˈɪt"},
    {US, "We will go if time permits.", "permits", "pəɹmˈɪts"},
    {US, "They issued two permits.", "permits", "pˈɜɹmɪts"},
    /* present / presents */
    {US, "I bought her a present.", "present", "pɹˈɛzᵊnt"},
    {US, "Live in the present.", "present", "pɹˈɛzᵊnt"},
    {US, "I will present my findings.", "present", "pɹizˈɛnt"},
    {US, "Present your ticket at the gate.", "Present", "pɹizˈɛnt"},
    {US, "The kids opened their presents.", "presents", "pɹˈɛzᵊnts"},
    {US, "She presents the news.", "presents", "pɹizˈɛnts"},
    {GB, "They present the awards.", "present", "pɹɪzˈɛnt"},
    /* produce */
    {US, "Buy fresh produce.", "produce", "pɹˈOdˌus"},
    {US, "The produce section is here.", "produce", "pɹˈOdˌus"},
    {US, "Bees produce honey.", "produce", "pɹədˈus"},
    {US, "They want to produce a film.", "produce", "pɹədˈus"},
    /* project / projects */
    {US, "Our project is late.", "project", "pɹˈɑʤˌɛkt"},
    {US, "They project a loss.", "project", "pɹəʤˈɛkt"},
    {US, "Project the image on the wall.", "Project", "pɹəʤˈɛkt"},
    {US, "She projects confidence.", "projects", "pɹəʤˈɛkts"},
    {US, "We have two projects.", "projects", "pɹˈɑʤˌɛkts"},
    /* refuse */
    {US, "I refuse to go.", "refuse", "ɹəfjˈuz"},
    {US, "The refuse was collected.", "refuse", "ɹˈɛfjˌus"},
    {US, "Refuse collection is on Monday.", "Refuse", "ɹˈɛfjˌus"},
    /* row / rows */
    {US, "We sat in the back row.", "row", "ɹˈO"},
    {US, "They won three games in a row.", "row", "ɹˈO"},
    {US, "Row the boat ashore.", "Row", "ɹˈO"},
    {US, "They had a blazing row.", "row", "ɹˈW"},
    {US, "She had a row with her brother.", "row", "ɹˈW"},
    {US, "The chairs stand in rows.", "rows", "ɹˈOz"},
    {GB, "Sit in the front row.", "row", "ɹˈQ"},
    /* sow / sows */
    {US, "Sow the seeds in spring.", "Sow", "sˈO"},
    {US, "Farmers sow wheat.", "sow", "sˈO"},
    {US, "The sow has six piglets.", "sow", "sˈW"},
    {US, "The sows were fed.", "sows", "sˈWz"},
    /* subject / subjects */
    {US, "History is my favorite subject.", "subject", "sˈʌbʤɛkt"},
    {US, "Prices are subject to change.", "subject", "sˈʌbʤɛkt"},
    {US, "They will subject the samples to heat.", "subject", "səbʤˈɛkt"},
    {US, "Which subjects do you study?", "subjects", "sˈʌbʤɛkts"},
    /* use / uses / used */
    {US, "I use a laptop.", "use", "jˈuz"},
    {US, "Use the stairs.", "Use", "jˈuz"},
    {US, "The use of force is banned.", "use", "jˈus"},
    {US, "It's no use.", "use", "jˈus"},
    {US, "Make use of the time.", "use", "jˈus"},
    {US, "The room is in use.", "use", "jˈus"},
    {US, "She uses a pen.", "uses", "jˈuzᵻz"},
    {US, "Salt has many uses.", "uses", "jˈusᵻz"},
    {US, "I used to live here.", "used", "jˈust"},
    {US, "She is used to the cold.", "used", "jˈust"},
    {US, "He got used to it.", "used", "jˈust"},
    {US, "I used a hammer.", "used", "jˈuzd"},
    {US, "The tool is used to cut wood.", "used", "jˈuzd"},
    {GB, "We used to walk to school.", "used", "jˈuːst"},
    {GB, "Can I use your phone?", "use", "jˈuːz"},
    /* wound */
    {US, "The wound healed slowly.", "wound", "wˈund"},
    {US, "He had a deep wound.", "wound", "wˈund"},
    {US, "She wound the clock.", "wound", "wˈWnd"},
    {US, "We wound up at the beach.", "wound", "wˈWnd"},
    {US, "The path wound through the woods.", "wound", "wˈWnd"},
    /* excuse / excuses */
    {US, "Excuse me.", "Excuse", "ɪkskjˈuz"},
    {US, "That is no excuse.", "excuse", "ɪkskjˈus"},
    {US, "Please excuse the mess.", "excuse", "ɪkskjˈuz"},
    {US, "Stop making excuses.", "excuses", "ɪkskjˈusᵻz"},
    /* house / houses */
    {US, "They live in a big house.", "house", "hˈWs"},
    {US, "The hall can house two hundred people.", "house", "hˈWz"},
    {US, "The museum houses the collection.", "houses", "hˈWzᵻz"},
    {US, "The old houses were torn down.", "houses", "hˈWsᵻz"},
    /* separate / estimate / graduate / moderate */
    {US, "We sleep in separate rooms.", "separate", "sˈɛpəɹət"},
    {US, "Separate the eggs.", "Separate", "sˈɛpəɹˌAt"},
    {US, "They decided to separate.", "separate", "sˈɛpəɹˌAt"},
    {US, "Give me an estimate.", "estimate", "ˈɛstəmət"},
    {US, "We estimate the cost at ten dollars.", "estimate", "ˈɛstəmˌAt"},
    {US, "She is a graduate of Yale.", "graduate", "ɡɹˈæʤəwət"},
    {US, "He will graduate in May.", "graduate", "ɡɹˈæʤʊˌAt"},
    {US, "Do moderate exercise.", "moderate", "mˈɑdəɹət"},
    {US, "She will moderate the debate.", "moderate", "mˈɑdəɹˌAt"},
    /* invalid */
    {US, "That password is invalid.", "invalid", "ɪnvˈælɪd"},
    {US, "You entered an invalid number.", "invalid", "ɪnvˈælɪd"},
    {US, "The invalid was in bed all day.", "invalid", "ˈɪnvəlɪd"},
    /* conduct / contract / convert */
    {US, "His conduct was poor.", "conduct", "kˈɑndˌʌkt"},
    {US, "We conduct tests.", "conduct", "kəndˈʌkt"},
    {US, "Sign the contract.", "contract", "kˈɑntɹˌækt"},
    {US, "Muscles contract when cold.", "contract", "kəntɹˈækt"},
    {US, "He is a convert to the cause.", "convert", "kˈɑnvˌɜɹt"},
    {US, "Convert the file to text.", "Convert", "kənvˈɜɹt"},
    /* increase / decrease */
    {US, "We saw an increase in traffic.", "increase", "ˈɪnkɹˌis"},
    {US, "Increase the volume.", "Increase", "ɪnkɹˈis"},
    {US, "Costs decrease over time.", "decrease", "dəkɹˈis"},
    {US, "There was a decrease in crime.", "decrease", "dˈikɹˌis"},
    /* insult / protest / rebel / suspect / console / perfect / entrance */
    {US, "That was an insult.", "insult", "ˈɪnsˌʌlt"},
    {US, "Don't insult him.", "insult", "ɪnsˈʌlt"},
    {US, "The protest was peaceful.", "protest", "pɹˈOtˌɛst"},
    {US, "They protest every week.", "protest", "pɹətˈɛst"},
    {US, "The rebel leader fled.", "rebel", "ɹˈɛbᵊl"},
    {US, "Teens often rebel.", "rebel", "ɹəbˈɛl"},
    {US, "Police arrested the suspect.", "suspect", "sˈʌspˌɛkt"},
    {US, "We suspect a leak.", "suspect", "səspˈɛkt"},
    {US, "He bought a game console.", "console", "kˈɑnsˌOl"},
    {US, "She tried to console him.", "console", "kənsˈOl"},
    {US, "It was a perfect day.", "perfect", "pˈɜɹfəkt"},
    {US, "Practice to perfect your swing.", "perfect", "pəɹfˈɛkt"},
    {US, "Use the side entrance.", "entrance", "ˈɛntɹəns"},
    /* polish / Polish */
    {US, "Polish the silver.", "Polish", "pˈɑlɪʃ"},
    {US, "He speaks Polish.", "Polish", "pˈOlɪʃ"},
    {US, "She bought nail polish.", "polish", "pˈɑlɪʃ"},
    {GB, "She is Polish.", "Polish", "pˈQlɪʃ"},
    /* resume */
    {US, "Update your resume.", "resume", "ɹˈɛzəmˌA"},
    {US, "Play will resume soon.", "resume", "ɹəzˈum"},
    /* the extra entries */
    {US, "The conflict lasted years.", "conflict", "kˈɑnflˌɪkt"},
    {US, "The two reports conflict.", "conflict", "kənflˈɪkt"},
    {US, "We import coffee.", "import", "ɪmpˈɔɹt"},
    {US, "The import of goods fell.", "import", "ˈɪmpˌɔɹt"},
    {US, "We made progress.", "progress", "pɹˈɑɡɹəs"},
    {US, "Talks will progress slowly.", "progress", "pɹəɡɹˈɛs"},
    {US, "Fill in the survey.", "survey", "sˈɜɹvˌA"},
    {US, "We will survey the land.", "survey", "səɹvˈA"},
    {US, "I want a refund.", "refund", "ɹˈifˌʌnd"},
    {US, "They will refund the fee.", "refund", "ɹəfˈʌnd"},
    {US, "Do not associate with them.", "associate", "əsˈOsiˌAt"},
    {US, "She is a close associate.", "associate", "əsˈOsiət"},
    {US, "Could you elaborate on that?", "elaborate", "əlˈæbəɹˌAt"},
    {US, "It was an elaborate plan.", "elaborate", "əlˈæbəɹət"},
    {US, "The contest ends today.", "contest", "kˈɑntˌɛst"},
    {US, "They will contest the result.", "contest", "kəntˈɛst"},
    /* not homographs: NULL, the dictionary reads them */
    {US, "Hello world.", "Hello", NULL},
    {US, "The cat sat on the mat.", "cat", NULL},
    {US, "She is reading a book.", "reading", NULL},
    {US, "He recorded the song.", "recorded", NULL},
    {US, "The minutes of the meeting.", "minutes", NULL},
    {US, "I read a book.", "a", NULL},
    {US, "He went to the store.", "the", NULL},
    {US, "Supercalifragilisticexpialidocious is a long word.", "Supercalifragilisticexpialidocious",
     NULL},
};

/* Held out: written before the rules were first run and never used to tune
 * them. Their pass rate is printed and held to a floor; a failure here is a
 * measurement, not a bug to patch by special-casing the sentence. */
static const hcase HELD_OUT[] = {
    {US, "She had read every letter twice before lunch.", "read", "ɹˈɛd"},
    {US, "Can you read this sign from here?", "read", "ɹˈid"},
    {US, "My grandfather read the newspaper yesterday morning.", "read", "ɹˈɛd"},
    {US, "We read aloud to the children every evening.", "read", "ɹˈid"},
    {US, "The instructions were read out by the pilot.", "read", "ɹˈɛd"},
    {US, "He read the note and smiled.", "read", "ɹˈɛd"},
    {US, "I want to lead the team next season.", "lead", "lˈid"},
    {US, "The old pipes were made of lead.", "lead", "lˈɛd"},
    {US, "They live on a quiet street.", "live", "lˈɪv"},
    {US, "The band will play a live show tonight.", "live", "lˈIv"},
    {US, "Cats have nine lives.", "lives", "lˈIvz"},
    {US, "My aunt lives in Boston.", "lives", "lˈɪvz"},
    {US, "The wind was howling all night.", "wind", "wˈɪnd"},
    {US, "Remember to wind the clock.", "wind", "wˈInd"},
    {US, "A single tear fell on the page.", "tear", "tˈɪɹ"},
    {US, "Please don't tear the wrapping paper.", "tear", "tˈɛɹ"},
    {US, "He was in tears after the movie.", "tears", "tˈɪɹz"},
    {US, "They want to record a new album.", "record", "ɹəkˈɔɹd"},
    {US, "She set a world record in the sprint.", "record", "ɹˈɛkəɹd"},
    {US, "He plays bass in a jazz trio.", "bass", "bˈAs"},
    {US, "We caught a huge bass at the lake.", "bass", "bˈæs"},
    {US, "Please close the window.", "close", "klˈOz"},
    {US, "The station is close to our hotel.", "close", "klˈOs"},
    {US, "The suspect was arrested at dawn.", "suspect", "sˈʌspˌɛkt"},
    {US, "I suspect he already knows.", "suspect", "səspˈɛkt"},
    {US, "Students protest against the new fees.", "protest", "pɹətˈɛst"},
    {US, "The protest lasted three days.", "protest", "pɹˈOtˌɛst"},
    {US, "You need a permit to park here.", "permit", "pˈɜɹmɪt"},
    {US, "The rules do not permit smoking.", "permit", "pəɹmˈɪt"},
    {US, "She gave me a birthday present.", "present", "pɹˈɛzᵊnt"},
    {US, "They will present the results on Monday.", "present", "pɹizˈɛnt"},
    {US, "What is the use of worrying?", "use", "jˈus"},
    {US, "I use this pen every day.", "use", "jˈuz"},
    {US, "He used to play tennis.", "used", "jˈust"},
    {US, "The knife was used to cut the rope.", "used", "jˈuzd"},
    {US, "The soldier had a wound on his arm.", "wound", "wˈund"},
    {US, "She wound the yarn into a ball.", "wound", "wˈWnd"},
    {US, "Do you have an excuse for being late?", "excuse", "ɪkskjˈus"},
    {US, "Excuse me, is this seat taken?", "Excuse", "ɪkskjˈuz"},
    {US, "The camels crossed the desert.", "desert", "dˈɛzəɹt"},
    {US, "Never desert your friends.", "desert", "dəzˈɜɹt"},
    {US, "Farmers sow seeds in spring.", "sow", "sˈO"},
    {US, "The sow fed her piglets.", "sow", "sˈW"},
    {US, "The actors took a bow.", "bow", "bˈW"},
    {US, "She tied a bow in her hair.", "bow", "bˈO"},
    {US, "Give me a minute to think.", "minute", "mˈɪnət"},
    {US, "The changes were minute but important.", "minute", "mInˈut"},
    {US, "The project is due on Friday.", "project", "pɹˈɑʤˌɛkt"},
    {US, "We project strong growth next year.", "project", "pɹəʤˈɛkt"},
    {US, "Fresh produce is sold here.", "produce", "pɹˈOdˌus"},
    {US, "These farms produce wheat.", "produce", "pɹədˈus"},
    {US, "The rebels took the city.", "rebels", "ɹˈɛbᵊlz"},
    {US, "Teenagers often rebel against rules.", "rebel", "ɹəbˈɛl"},
    {US, "Does he know the way?", "Does", "dˈʌz"},
    {US, "Two does grazed in the meadow.", "does", "dˈOz"},
    {US, "A white dove landed on the roof.", "dove", "dˈʌv"},
    {US, "She dove into the cold lake.", "dove", "dˈOv"},
    {US, "We sat in the front row.", "row", "ɹˈO"},
    {US, "The couple had a row over money.", "row", "ɹˈW"},
    {US, "He is content with his life.", "content", "kəntˈɛnt"},
    {US, "The site has a lot of free content.", "content", "kˈɑntɛnt"},
    {US, "Prices increase every year.", "increase", "ɪnkɹˈis"},
    {US, "There was a sharp increase in sales.", "increase", "ˈɪnkɹˌis"},
    {US, "This car is the perfect size.", "perfect", "pˈɜɹfəkt"},
    {US, "She wants to perfect her accent.", "perfect", "pəɹfˈɛkt"},
    {US, "I love Polish food.", "Polish", "pˈOlɪʃ"},
    {US, "Polish your shoes before the interview.", "Polish", "pˈɑlɪʃ"},
    {US, "Send your resume to the manager.", "resume", "ɹˈɛzəmˌA"},
    {US, "Classes resume in September.", "resume", "ɹəzˈum"},
    {US, "Keep the eggs separate from the meat.", "separate", "sˈɛpəɹət"},
    {US, "Please separate the whites from the yolks.", "separate", "sˈɛpəɹˌAt"},
    {US, "The house on the hill is empty.", "house", "hˈWs"},
    {US, "The new wing will house the library.", "house", "hˈWz"},
    {US, "The garage houses three cars.", "houses", "hˈWzᵻz"},
    {US, "I signed the contract yesterday.", "contract", "kˈɑntɹˌækt"},
    {US, "Metal will contract as it cools.", "contract", "kəntɹˈækt"},
    {US, "The object on the table is a vase.", "object", "ˈɑbʤəkt"},
    {US, "I object to this plan.", "object", "əbʤˈɛkt"},
    {US, "Math is my favourite subject.", "subject", "sˈʌbʤɛkt"},
    {US, "The player's conduct was excellent.", "conduct", "kˈɑndˌʌkt"},
    {US, "They conduct surveys every year.", "conduct", "kəndˈʌkt"},
    {US, "The city collects refuse on Tuesdays.", "refuse", "ɹˈɛfjˌus"},
    {US, "I refuse to give up.", "refuse", "ɹəfjˈuz"},
    {US, "The price of tickets will decrease.", "decrease", "dəkɹˈis"},
    {US, "Don't insult my cooking.", "insult", "ɪnsˈʌlt"},
    {US, "That remark was an insult.", "insult", "ˈɪnsˌʌlt"},
    {US, "We had a close call on the highway.", "close", "klˈOs"},
    {US, "The shop will close early today.", "close", "klˈOz"},
    {US, "He winds the old watch every morning.", "winds", "wˈIndz"},
    {US, "Strong winds knocked down the fence.", "winds", "wˈɪndz"},
    {GB, "I read that book last year.", "read", "ɹˈɛd"},
    {GB, "The tears ran down her face.", "tears", "tˈɪəz"},
    {GB, "They will record the show.", "record", "ɹɪkˈɔːd"},
    {GB, "Give me a minute.", "minute", "mˈɪnɪt"},    /* Second held-out batch, written to be harder: longer, varied prose. */
    {US, "After dinner, the whole family read quietly by the fire.", "read", "ɹˈɛd"},
    {US, "Most children learn to read by the age of six.", "read", "ɹˈid"},
    {US, "If you read carefully, you will find the answer.", "read", "ɹˈid"},
    {US, "Nobody had read the contract before signing it.", "read", "ɹˈɛd"},
    {US, "The poem she read at the wedding made everyone cry.", "read", "ɹˈɛd"},
    {US, "Lead by example and others will follow.", "Lead", "lˈid"},
    {US, "Exposure to lead can harm children.", "lead", "lˈɛd"},
    {US, "These roads lead to the old harbor.", "lead", "lˈid"},
    {US, "Millions of fans watched the concert live on television.", "live", "lˈIv"},
    {US, "How long do these turtles live?", "live", "lˈɪv"},
    {US, "The fire put hundreds of lives at risk.", "lives", "lˈIvz"},
    {US, "Nobody lives forever.", "lives", "lˈɪvz"},
    {US, "The wind carried the smell of smoke across the valley.", "wind", "wˈɪnd"},
    {US, "These old clocks need you to wind them every day.", "wind", "wˈInd"},
    {US, "The trail winds along the river for miles.", "winds", "wˈIndz"},
    {US, "Tears of joy streamed down his face.", "Tears", "tˈɪɹz"},
    {US, "Be careful not to tear the page.", "tear", "tˈɛɹ"},
    {US, "The dog tears at the rope whenever we leave.", "tears", "tˈɛɹz"},
    {US, "Her first record sold a million copies.", "record", "ɹˈɛkəɹd"},
    {US, "Scientists record the temperature each morning.", "record", "ɹəkˈɔɹd"},
    {US, "Police records show no arrests.", "records", "ɹˈɛkəɹdz"},
    {US, "The band needs a new bass player.", "bass", "bˈAs"},
    {US, "My uncle fishes for bass every summer.", "bass", "bˈæs"},
    {US, "The violinist raised her bow.", "bow", "bˈO"},
    {US, "The servants bow whenever the king enters.", "bow", "bˈW"},
    {US, "Keep your friends close and your enemies closer.", "close", "klˈOs"},
    {US, "Remember to close all the windows before you leave.", "close", "klˈOz"},
    {US, "The museum will close for repairs next month.", "close", "klˈOz"},
    {US, "Our content is updated every week.", "content", "kˈɑntɛnt"},
    {US, "The old man was content to sit and watch.", "content", "kəntˈɛnt"},
    {US, "Soldiers who desert are punished.", "desert", "dəzˈɜɹt"},
    {US, "Nothing grows in the desert sand.", "desert", "dˈɛzəɹt"},
    {US, "Nobody knows what he does for a living.", "does", "dˈʌz"},
    {US, "A few minute cracks appeared in the glass.", "minute", "mInˈut"},
    {US, "The bus leaves in a minute.", "minute", "mˈɪnət"},
    {US, "Many residents object to the new tower.", "object", "əbʤˈɛkt"},
    {US, "Fishing is not permitted without a permit.", "permit", "pˈɜɹmɪt"},
    {US, "At present, we have no plans to move.", "present", "pɹˈɛzᵊnt"},
    {US, "The students must present their projects on Friday.", "present", "pɹizˈɛnt"},
    {US, "The students must present their projects on Friday.", "projects", "pɹˈɑʤˌɛkts"},
    {US, "Local farms produce most of the milk we drink.", "produce", "pɹədˈus"},
    {US, "Heavy rain can cause the river to rise.", "rise", NULL},
    {US, "Workers refuse to cross the picket line.", "refuse", "ɹəfjˈuz"},
    {US, "Six rows of seats were added.", "rows", "ɹˈOz"},
    {US, "The movie is not suitable for all subjects.", "subjects", "sˈʌbʤɛkts"},
    {US, "There is no use in arguing.", "use", "jˈus"},
    {US, "We use solar panels to heat the water.", "use", "jˈuz"},
    {US, "They used the money to buy a car.", "used", "jˈuzd"},
    {US, "She never used to like coffee.", "used", "jˈust"},
    {US, "The nurse cleaned the wound.", "wound", "wˈund"},
    {US, "The string was wound around the spool.", "wound", "wˈWnd"},
    {US, "There is no excuse for rudeness.", "excuse", "ɪkskjˈus"},
    {US, "The shelter can house fifty families.", "house", "hˈWz"},
    {US, "Experts estimate that the repairs will take a year.", "estimate", "ˈɛstəmˌAt"},
    {US, "The estimate was far too low.", "estimate", "ˈɛstəmət"},
    {US, "Most graduates find work within a year.", "graduates", "ɡɹˈæʤəwəts"},
    {US, "Temperatures were moderate all week.", "moderate", "mˈɑdəɹət"},
    {US, "The club will conduct an investigation.", "conduct", "kəndˈʌkt"},
    {US, "Many people contract the flu in winter.", "contract", "kəntɹˈækt"},
    {US, "Sales increase during the holidays.", "increase", "ɪnkɹˈis"},
    {US, "A decrease in demand hurt the company.", "decrease", "dˈikɹˌis"},
    {US, "Thousands joined the protest downtown.", "protest", "pɹˈOtˌɛst"},
    {US, "The rebels refused to surrender.", "rebels", "ɹˈɛbᵊlz"},
    {US, "The main suspect has fled the country.", "suspect", "sˈʌspˌɛkt"},
    {US, "Nothing could console her after the loss.", "console", "kənsˈOl"},
    {US, "Nobody is perfect.", "perfect", "pˈɜɹfəkt"},
    {US, "The main entrance is closed today.", "entrance", "ˈɛntɹəns"},
    {US, "He learned to speak Polish as a child.", "Polish", "pˈOlɪʃ"},
    {US, "The meeting will resume after lunch.", "resume", "ɹəzˈum"},
    {GB, "She couldn't read the small print.", "read", "ɹˈiːd"},
    {GB, "Close the gate behind you.", "Close", "klˈQz"},
    {GB, "They wound up in a small village.", "wound", "wˈWnd"},
    {GB, "The desert stretched for miles.", "desert", "dˈɛzət"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void tuned_sentences(void **state)
{
    (void)state;
    size_t ok = run_cases(TUNED, COUNT(TUNED), "tuned");
    print_message("tuned: %zu of %zu\n", ok, COUNT(TUNED));
    assert_int_equal(ok, COUNT(TUNED));
}

/* Measured when each batch was first run: 92 of 94 (the first), 66 of 73
 * (the second, harder one), 160 of 167 (95.8%) in all. The floor is below
 * that, so that a change that makes the rules worse on sentences they were
 * not written for fails here. (The same hand wrote the rules and these
 * sentences: real text will score lower.) */
#define HELD_OUT_FLOOR_PERCENT 90

static void held_out_sentences(void **state)
{
    (void)state;
    size_t ok = run_cases(HELD_OUT, COUNT(HELD_OUT), "held out");
    double pct = 100.0 * (double)ok / (double)COUNT(HELD_OUT);
    print_message("held out: %zu of %zu (%.1f%%), floor %d%%\n", ok, COUNT(HELD_OUT), pct,
                  HELD_OUT_FLOOR_PERCENT);
    assert_true(pct >= HELD_OUT_FLOOR_PERCENT);
}

/* Every word of the table (typed again here), so that each of its readings
 * is reached by one of the contexts below and checked for its symbols. */
static const char *const TABLE_WORDS[] = {
    "read", "lead", "leads", "live", "tear", "tears", "bass", "bow", "bows", "close",
    "content", "does", "dove", "minute", "row", "rows", "used", "wound", "polish", "Polish",
    "invalid", "lives", "wind", "winds", "object", "objects", "deserts", "permits", "produce",
    "refuse", "use", "excuses", "resume", "associate", "elaborate", "deliberate", "record",
    "records", "desert", "permit", "present", "presents", "project", "projects", "subject",
    "subjects", "uses", "excuse", "house", "houses", "separate", "estimate", "estimates",
    "graduate", "graduates", "moderate", "conduct", "contract", "contracts", "convert",
    "converts", "increase", "increases", "decrease", "decreases", "insult", "insults",
    "protest", "protests", "rebel", "rebels", "suspect", "suspects", "console", "perfect",
    "entrance", "sow", "sows", "conflict", "contest", "contrast", "import", "progress",
    "transport", "survey", "reject", "recall", "refund", "extract", "attribute", "combine",
    "insert", "advocate", "appropriate", "approximate", "delegate", "duplicate", "intimate",
};

/* Contexts that between them reach both readings of most words: X is
 * replaced by the word. */
static const char *const CONTEXTS[] = {
    "the X", "to X it", "he X", "X the", "I X it yesterday", "they X in", "very X to",
    "of X paint", "caught a X", "X guitar", "a X in the fabric", "a X of", "X to work",
    "was X to the cold", "two X grazed", "she X into", "a row with", "the X was",
};

/* Whether the UTF-8 character at p is one of the characters of set. */
static int char_in(const char *p, size_t len, const char *set)
{
    for (const char *q = set; *q;) {
        size_t l = 1;
        while ((q[l] & 0xC0) == 0x80)
            l++;
        if (l == len && memcmp(q, p, len) == 0)
            return 1;
        q += l;
    }
    return 0;
}

/* misaki's symbols for each variety (EN_PHONES.md): no British ː ɒ Q a in
 * American readings, no American æ O ᵻ in British ones; the flap would be T
 * but no reading here has one. */
static const char US_SYMBOLS[] = "AIOWYbdfhijklmnpstuvwzæðŋɑɔəɛɜɡɪɹʃʊʌʒʤʧθᵊᵻˈˌ";
static const char GB_SYMBOLS[] = "AIQWYabdfhijklmnpstuvwzðŋɑɒɔəɛɜɡɪɹʃʊʌʒʤʧθᵊˈˌː";
static const char VOWELS[] = "AIOWYQaiuæɑɒɔəɛɜɪʊʌᵊ";

/* Checks one reading: known symbols, one primary stress, each stress mark
 * right before a vowel. */
static void check_symbols(const char *ph, int british, const char *word)
{
    const char *set = british ? GB_SYMBOLS : US_SYMBOLS;
    int primary = 0, after_stress = 0;
    for (const char *p = ph; *p;) {
        size_t l = 1;
        while ((p[l] & 0xC0) == 0x80)
            l++;
        if (!char_in(p, l, set)) {
            print_message("%s (%s): '%.*s' is not a %s symbol in %s\n", word,
                          british ? "gb" : "us", (int)l, p, british ? "British" : "American", ph);
            fail();
        }
        if (after_stress && !char_in(p, l, VOWELS)) {
            print_message("%s: a stress mark not before a vowel in %s\n", word, ph);
            fail();
        }
        int stress = char_in(p, l, "ˈˌ");
        primary += char_in(p, l, "ˈ");
        after_stress = stress;
        p += l;
    }
    assert_false(after_stress);
    if (primary != 1) {
        print_message("%s: %d primary stresses in %s\n", word, primary, ph);
        fail();
    }
}

static void readings_use_misaki_symbols(void **state)
{
    (void)state;
    size_t checked = 0;
    for (size_t k = 0; k < COUNT(TABLE_WORDS); k++) {
        for (size_t c = 0; c < COUNT(CONTEXTS); c++) {
            char text[128];
            const char *x = strchr(CONTEXTS[c], 'X');
            if (!x)
                continue;
            snprintf(text, sizeof text, "%.*s%s%s", (int)(x - CONTEXTS[c]), CONTEXTS[c],
                     TABLE_WORDS[k], x + 1);
            kk_hword w[16];
            size_t n = split(text, w, 16), at = 0;
            /* the word's index: the number of words before X */
            for (const char *p = CONTEXTS[c]; p < x; p++)
                at += *p == ' ';
            for (int gb = 0; gb < 2; gb++) {
                const char *ph = kk_homograph_pick(w, n, at, gb);
                if (!ph) {
                    print_message("'%s' in \"%s\": not found in the table\n", TABLE_WORDS[k],
                                  text);
                    fail();
                }
                check_symbols(ph, gb, TABLE_WORDS[k]);
                checked++;
            }
        }
    }
    print_message("symbols: %zu readings checked\n", checked);
}

static void not_homographs_give_null(void **state)
{
    (void)state;
    kk_hword w[] = {{"hello", 5}, {"world", 5}};
    assert_null(kk_homograph_pick(w, 2, 0, 0));
    assert_null(kk_homograph_pick(w, 2, 1, 1));
    /* A homograph's spelling inside a longer word is not the homograph. */
    kk_hword x[] = {{"reader", 6}, {"records", 4}, {"lives", 5}};
    assert_null(kk_homograph_pick(x, 3, 0, 0));
    /* words[1] is "reco" (len 4): not in the table. */
    assert_null(kk_homograph_pick(x, 3, 1, 0));
    assert_non_null(kk_homograph_pick(x, 3, 2, 0));
}

static void bad_arguments_give_null(void **state)
{
    (void)state;
    kk_hword w[] = {{"read", 4}, {"", 0}, {NULL, 0}};
    assert_null(kk_homograph_pick(NULL, 3, 0, 0));
    assert_null(kk_homograph_pick(w, 0, 0, 0));
    assert_null(kk_homograph_pick(w, 1, 1, 0));
    assert_null(kk_homograph_pick(w, 3, 1, 0));
    assert_null(kk_homograph_pick(w, 3, 2, 0));
    /* Empty and NULL words around a homograph do not stop it being read. */
    assert_non_null(kk_homograph_pick(w, 3, 0, 0));
    /* Words not NUL-terminated: only len bytes count. */
    kk_hword t[] = {{"to readXYZ", 2}, {"readXYZ", 4}};
    assert_string_equal(kk_homograph_pick(t, 2, 1, 0), "ɹˈid");
}

static void case_and_apostrophes(void **state)
{
    (void)state;
    /* Capitals do not hide a homograph; ’ reads as '. */
    kk_hword a[] = {{"DON\xE2\x80\x99T", 7}, {"TEAR", 4}, {"IT", 2}};
    assert_string_equal(kk_homograph_pick(a, 3, 1, 0), "tˈɛɹ");
    kk_hword b[] = {{"I", 1}, {"didn't", 6}, {"Read", 4}};
    assert_string_equal(kk_homograph_pick(b, 3, 2, 0), "ɹˈid");
    /* Polish by its capital: mid-sentence, "Polish" is of Poland and
     * "polish" shines. */
    kk_hword c[] = {{"a", 1}, {"Polish", 6}, {"polish", 6}};
    assert_string_equal(kk_homograph_pick(c, 3, 1, 0), "pˈOlɪʃ");
    assert_string_equal(kk_homograph_pick(c, 3, 2, 0), "pˈɑlɪʃ");
}

/* A long sentence: the cue scans stay inside the words given. */
static void long_sentence(void **state)
{
    (void)state;
    kk_hword w[300];
    for (size_t k = 0; k < 300; k++)
        w[k] = (kk_hword){"word", 4};
    w[150] = (kk_hword){"bass", 4};
    w[299] = (kk_hword){"lake", 4};
    assert_string_equal(kk_homograph_pick(w, 300, 150, 0), "bˈæs");
    w[0] = (kk_hword){"guitar", 6};
    assert_string_equal(kk_homograph_pick(w, 300, 150, 0), "bˈæs"); /* lake is nearer */
    w[140] = (kk_hword){"guitar", 6};
    assert_string_equal(kk_homograph_pick(w, 300, 150, 0), "bˈAs");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tuned_sentences),
        cmocka_unit_test(held_out_sentences),
        cmocka_unit_test(readings_use_misaki_symbols),
        cmocka_unit_test(not_homographs_give_null),
        cmocka_unit_test(bad_arguments_give_null),
        cmocka_unit_test(case_and_apostrophes),
        cmocka_unit_test(long_sentence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
