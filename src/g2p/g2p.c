/*
 * g2p.c - the context, the vocabulary, the lexicon and the pipeline
 * (normaliser -> markup -> words -> homographs, function words, dictionary,
 * espeak-ng -> misaki symbols -> ids -> chunks).
 *
 * Positions: the pipeline works on the normalised text; every unit's span
 * is mapped back to the caller's text once the units are built (and
 * warnings before that are mapped as they are made), so chunks, words and
 * warnings always carry offsets into the text the caller gave.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "homograph.h"
#include "g2p_internal.h"
#include "kk_voice_lang.h"

#define VOCAB_IDS 256

typedef struct vocab_entry {
    char sym[16];
    int id;
} vocab_entry;

typedef struct lex_entry {
    char *word; /* lower-cased */
    char *phonemes;
} lex_entry;

struct kk_g2p {
    kk_g2p_params p;
    vocab_entry *vocab; /* sorted by sym */
    size_t n_vocab;
    size_t max_sym_cp;          /* longest symbol, in code points */
    char *by_id[VOCAB_IDS];     /* id -> symbol (points into vocab) */
    int space_id;
    lex_entry *lex; /* open addressing, cap a power of two */
    size_t lex_n, lex_cap;
    const kk_lexdb *dict; /* the pronunciation dictionary, or NULL */
    kk_lexdb *own_dict;   /* ... when this context opened it */
    /* per run */
    const char *text;     /* the normalised text the pipeline reads */
    const kk_norm *norm;  /* its map back to the caller's text, or NULL */
    int mapped;           /* unit spans are in the caller's text already */
    kk_error *err;
};

/* A position of the text being read, in the caller's text. */
static size_t src_pos(const kk_g2p *g, size_t pos, int end)
{
    return g->norm && !g->mapped ? kk_norm_source_pos(g->norm, pos, end) : pos;
}

kk_g2p_params kk_g2p_default_params(void)
{
    kk_g2p_params p = {0};
    p.max_tokens = KK_G2P_MAX_TOKENS;
    p.pause_paragraph_ms = 600;
    p.pause_sentence_ms = 300;
    p.pause_clause_ms = 200;
    p.pause_comma_ms = 100;
    p.pause_word_ms = 0;
    p.flap_as_T = 1;
    p.normalize = 1;
    return p;
}

/* ------------------------------------------------------------------ */
/* warnings */

static void warn(kk_g2p *g, kk_g2p_warning_kind kind, size_t off, const char *symbol, size_t pos,
                 const char *file, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
static void warn(kk_g2p *g, kk_g2p_warning_kind kind, size_t off, const char *symbol, size_t pos,
                 const char *file, size_t line, const char *fmt, ...)
{
    if (!g->p.warn)
        return;
    char msg[KK_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kk_g2p_warning w = {kind, msg, symbol, pos, src_pos(g, off, 0), file, line};
    g->p.warn(g->p.warn_user, &w);
}

/* ------------------------------------------------------------------ */
/* vocabulary */

static int cmp_vocab(const void *a, const void *b)
{
    return strcmp(((const vocab_entry *)a)->sym, ((const vocab_entry *)b)->sym);
}

static size_t cp_count(const char *s)
{
    size_t n = 0;
    for (; *s; s += kk_utf8_len(s))
        n++;
    return n;
}

static kk_status read_file(const char *path, char **out, kk_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return kk_error_set(err, KK_ERR_IO, "g2p: cannot open '%s': %s; pass the model folder that holds config.json",
                            path, strerror(errno));
    kk_buf b = {0};
    char tmp[8192];
    size_t r;
    while ((r = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (kk_buf_append(&b, tmp, r) < 0) {
            fclose(f);
            kk_buf_free(&b);
            return kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory reading '%s'", path);
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        kk_buf_free(&b);
        return kk_error_set(err, KK_ERR_IO, "g2p: cannot read '%s'", path);
    }
    *out = kk_buf_steal(&b);
    return *out ? KK_OK : kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory reading '%s'", path);
}

static kk_status load_vocab(kk_g2p *g, const char *model_path, kk_error *err)
{
    char path[4096];
    struct stat st;
    size_t ml = strlen(model_path);
    int json = ml >= 5 && strcmp(model_path + ml - 5, ".json") == 0;
    if ((stat(model_path, &st) == 0 && S_ISDIR(st.st_mode)) || (!json && stat(model_path, &st) != 0))
        snprintf(path, sizeof path, "%s/config.json", model_path);
    else
        snprintf(path, sizeof path, "%s", model_path);
    char *data = NULL;
    kk_status s = read_file(path, &data, err);
    if (s != KK_OK)
        return s;
    cJSON *root = cJSON_Parse(data);
    free(data);
    if (!root)
        return kk_error_set(err, KK_ERR_INPUT, "g2p: '%s' is not valid JSON; use the model's config.json", path);
    const cJSON *voc = cJSON_GetObjectItemCaseSensitive(root, "vocab");
    if (!voc) {
        const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model"); /* tokenizer.json */
        voc = model ? cJSON_GetObjectItemCaseSensitive(model, "vocab") : NULL;
    }
    if (!cJSON_IsObject(voc)) {
        cJSON_Delete(root);
        return kk_error_set(err, KK_ERR_INPUT,
                            "g2p: '%s' has no \"vocab\" object; use the model's config.json", path);
    }
    size_t n = (size_t)cJSON_GetArraySize(voc);
    g->vocab = calloc(n ? n : 1, sizeof *g->vocab);
    if (!g->vocab) {
        cJSON_Delete(root);
        return kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory loading the vocab");
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, voc)
    {
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= VOCAB_IDS ||
            it->valuedouble != (double)(int)it->valuedouble || !it->string || !it->string[0] ||
            strlen(it->string) >= sizeof g->vocab[0].sym) {
            kk_error_set(err, KK_ERR_INPUT,
                         "g2p: '%s': vocab entry \"%s\" is not a symbol with an integer id 0..%d; "
                         "the file is damaged or not a Kokoro config",
                         path, it->string ? it->string : "?", VOCAB_IDS - 1);
            cJSON_Delete(root);
            return KK_ERR_INPUT;
        }
        vocab_entry *e = &g->vocab[g->n_vocab++];
        snprintf(e->sym, sizeof e->sym, "%s", it->string);
        e->id = it->valueint;
        size_t cps = cp_count(e->sym);
        if (cps > g->max_sym_cp)
            g->max_sym_cp = cps;
    }
    cJSON_Delete(root);
    if (g->n_vocab == 0)
        return kk_error_set(err, KK_ERR_INPUT, "g2p: '%s' has an empty vocab", path);
    qsort(g->vocab, g->n_vocab, sizeof *g->vocab, cmp_vocab);
    for (size_t i = 0; i < g->n_vocab; i++)
        if (!g->by_id[g->vocab[i].id])
            g->by_id[g->vocab[i].id] = g->vocab[i].sym;
    g->space_id = kk_g2p_symbol_id(g, " ");
    if (g->space_id < 0)
        return kk_error_set(err, KK_ERR_INPUT,
                            "g2p: '%s': the vocab has no space symbol \" \"; use Kokoro's config.json", path);
    return KK_OK;
}

static int lookup_n(const kk_g2p *g, const char *s, size_t len)
{
    vocab_entry key;
    if (len >= sizeof key.sym)
        return -1;
    memcpy(key.sym, s, len);
    key.sym[len] = '\0';
    const vocab_entry *e = bsearch(&key, g->vocab, g->n_vocab, sizeof *g->vocab, cmp_vocab);
    return e ? e->id : -1;
}

int kk_g2p_symbol_id(const kk_g2p *g, const char *symbol)
{
    return g && symbol ? lookup_n(g, symbol, strlen(symbol)) : -1;
}

size_t kk_g2p_vocab_size(const kk_g2p *g) { return g ? g->n_vocab : 0; }

/* Tokenizes ph into ids (grown in *ids); unknown symbols are reported with
 * text offset off and the word (for the message), or fail in strict mode. */
static kk_status tokenize(kk_g2p *g, const char *ph, size_t off, const char *what, int64_t **ids,
                          size_t *n, kk_error *err)
{
    size_t len = strlen(ph), cap = len + 1, pos = 0;
    int64_t *v = malloc(cap * sizeof *v);
    if (!v)
        return kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory");
    size_t k = 0;
    for (size_t i = 0; i < len; pos++) {
        /* longest match first */
        size_t ends[16], ne = 0, j = i;
        while (j < len && ne < g->max_sym_cp && ne < 16) {
            j += kk_utf8_len(ph + j);
            if (j > len)
                j = len;
            ends[ne++] = j;
        }
        int id = -1;
        size_t used = 0;
        for (size_t e = ne; e-- > 0 && id < 0;) {
            id = lookup_n(g, ph + i, ends[e] - i);
            used = ends[e] - i;
        }
        if (id >= 0) {
            v[k++] = id;
            i += used;
            continue;
        }
        size_t l = kk_utf8_len(ph + i);
        char sym[8] = {0};
        memcpy(sym, ph + i, l < 8 ? l : 7);
        unsigned cp = 0;
        if (l == 1)
            cp = (unsigned char)sym[0];
        else if (l == 2)
            cp = ((sym[0] & 0x1Fu) << 6) | (sym[1] & 0x3Fu);
        else if (l == 3)
            cp = ((sym[0] & 0x0Fu) << 12) | ((sym[1] & 0x3Fu) << 6) | (sym[2] & 0x3Fu);
        else
            cp = ((sym[0] & 0x07u) << 18) | ((sym[1] & 0x3Fu) << 12) | ((sym[2] & 0x3Fu) << 6) | (sym[3] & 0x3Fu);
        if (g->p.strict) {
            free(v);
            return kk_error_set(err, KK_ERR_INPUT,
                                "g2p: phoneme symbol '%s' (U+%04X) at position %zu of /%s/ for %s (text byte "
                                "%zu) is not in the model's vocab; fix the pronunciation or turn off strict mode",
                                sym, cp, pos, ph, what, src_pos(g, off, 0));
        }
        warn(g, KK_G2P_WARN_UNKNOWN_SYMBOL, off, sym, pos, NULL, 0,
             "g2p: phoneme symbol '%s' (U+%04X) at position %zu of /%s/ for %s (text byte %zu) is not in "
             "the model's vocab; it is left out (fix the pronunciation with [word](/phonemes/) or a lexicon entry)",
             sym, cp, pos, ph, what, src_pos(g, off, 0));
        i += l;
    }
    *ids = v;
    *n = k;
    return KK_OK;
}

kk_status kk_g2p_tokenize(kk_g2p *g, const char *phonemes, int64_t *ids, size_t cap, size_t *n_out,
                          kk_error *err)
{
    if (!g || !phonemes || !n_out)
        return kk_error_set(err, KK_ERR_ARG, "g2p: kk_g2p_tokenize needs a context, phonemes and n_out");
    int64_t *v = NULL;
    size_t n = 0;
    kk_status s = tokenize(g, phonemes, 0, "the given phonemes", &v, &n, err);
    if (s != KK_OK)
        return s;
    if (ids && n > cap) {
        free(v);
        return kk_error_set(err, KK_ERR_ARG, "g2p: %zu ids do not fit in a buffer of %zu; pass a larger one",
                            n, cap);
    }
    if (ids && n)
        memcpy(ids, v, n * sizeof *v);
    *n_out = n;
    free(v);
    return KK_OK;
}

/* ------------------------------------------------------------------ */
/* lexicon */

static char *lower_dup(const char *s, size_t n)
{
    char *r = malloc(n + 1);
    if (!r)
        return NULL;
    for (size_t i = 0; i < n; i++)
        r[i] = (char)tolower((unsigned char)s[i]);
    r[n] = '\0';
    return r;
}

static size_t hash(const char *s, size_t n)
{
    size_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)tolower((unsigned char)s[i]);
        h *= 1099511628211ull;
    }
    return h;
}

static const char *lex_find(const kk_g2p *g, const char *w, size_t n)
{
    if (!g->lex_n)
        return NULL;
    for (size_t i = hash(w, n) & (g->lex_cap - 1);; i = (i + 1) & (g->lex_cap - 1)) {
        const lex_entry *e = &g->lex[i];
        if (!e->word)
            return NULL;
        if (strlen(e->word) == n && strncasecmp(e->word, w, n) == 0)
            return e->phonemes;
    }
}

static int lex_put(kk_g2p *g, char *word, char *ph)
{
    if ((g->lex_n + 1) * 2 > g->lex_cap) {
        size_t cap = g->lex_cap ? g->lex_cap * 2 : 64;
        lex_entry *t = calloc(cap, sizeof *t);
        if (!t)
            return -1;
        for (size_t i = 0; i < g->lex_cap; i++) {
            if (!g->lex[i].word)
                continue;
            size_t j = hash(g->lex[i].word, strlen(g->lex[i].word)) & (cap - 1);
            while (t[j].word)
                j = (j + 1) & (cap - 1);
            t[j] = g->lex[i];
        }
        free(g->lex);
        g->lex = t;
        g->lex_cap = cap;
    }
    size_t j = hash(word, strlen(word)) & (g->lex_cap - 1);
    while (g->lex[j].word && strcmp(g->lex[j].word, word) != 0)
        j = (j + 1) & (g->lex_cap - 1);
    if (g->lex[j].word) { /* replace */
        free(g->lex[j].word);
        free(g->lex[j].phonemes);
    } else {
        g->lex_n++;
    }
    g->lex[j].word = word;
    g->lex[j].phonemes = ph;
    return 0;
}

/* Checks phonemes against the vocab; returns the first unknown symbol's
 * index (code points) or -1 when all are known. */
static long first_unknown(const kk_g2p *g, const char *ph, char sym[8])
{
    size_t len = strlen(ph);
    long pos = 0;
    for (size_t i = 0; i < len; pos++) {
        size_t best = 0, j = i;
        for (size_t c = 0; c < g->max_sym_cp && j < len; c++) {
            j += kk_utf8_len(ph + j);
            if (j > len)
                j = len;
            if (lookup_n(g, ph + i, j - i) >= 0)
                best = j - i;
        }
        if (!best) {
            size_t l = kk_utf8_len(ph + i);
            memset(sym, 0, 8);
            memcpy(sym, ph + i, l < 8 ? l : 7);
            return pos;
        }
        i += best;
    }
    return -1;
}

kk_status kk_g2p_add_word(kk_g2p *g, const char *word, const char *phonemes, kk_error *err)
{
    if (!g || !word || !phonemes || !*word || !*phonemes)
        return kk_error_set(err, KK_ERR_ARG, "g2p: kk_g2p_add_word needs a non-empty word and phonemes");
    char sym[8];
    long bad = first_unknown(g, phonemes, sym);
    if (bad >= 0)
        return kk_error_set(err, KK_ERR_INPUT,
                            "g2p: lexicon entry '%s': symbol '%s' at position %ld of /%s/ is not in the "
                            "model's vocab; use Kokoro's (misaki's) phoneme symbols",
                            word, sym, bad, phonemes);
    char *w = lower_dup(word, strlen(word)), *p = strdup(phonemes);
    if (!w || !p || lex_put(g, w, p) < 0) {
        free(w);
        free(p);
        return kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory adding a lexicon entry");
    }
    return KK_OK;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

kk_status kk_g2p_load_lexicon(kk_g2p *g, const char *path, kk_error *err)
{
    if (!g || !path)
        return kk_error_set(err, KK_ERR_ARG, "g2p: kk_g2p_load_lexicon needs a context and a path");
    FILE *f = fopen(path, "r");
    if (!f)
        return kk_error_set(err, KK_ERR_IO, "g2p: cannot open lexicon '%s': %s; check the path", path,
                            strerror(errno));
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    kk_status st = KK_OK;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *tab = strchr(s, '\t');
        char why[256] = "";
        char *word = s, *ph = NULL;
        if (!tab) {
            snprintf(why, sizeof why, "no TAB between the word and its phonemes");
        } else {
            *tab = '\0';
            word = trim(s);
            ph = trim(tab + 1);
            char sym[8];
            long bad;
            if (!*word)
                snprintf(why, sizeof why, "the word is empty");
            else if (!*ph)
                snprintf(why, sizeof why, "the phonemes are empty");
            else if ((bad = first_unknown(g, ph, sym)) >= 0)
                snprintf(why, sizeof why, "symbol '%s' at position %ld of /%.80s/ is not in the model's vocab",
                         sym, bad, ph);
        }
        if (why[0]) {
            if (g->p.strict) {
                st = kk_error_set(err, KK_ERR_INPUT,
                                  "%s:%zu: bad lexicon line: %s; write word<TAB>phonemes with Kokoro's "
                                  "(misaki's) symbols, or # for a comment",
                                  path, lineno, why);
                break;
            }
            warn(g, KK_G2P_WARN_LEXICON, 0, NULL, 0, path, lineno,
                 "%s:%zu: bad lexicon line skipped: %s; write word<TAB>phonemes with Kokoro's (misaki's) "
                 "symbols, or # for a comment",
                 path, lineno, why);
            continue;
        }
        char *w = lower_dup(word, strlen(word)), *p = strdup(ph);
        if (!w || !p || lex_put(g, w, p) < 0) {
            free(w);
            free(p);
            st = kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory loading lexicon '%s'", path);
            break;
        }
    }
    free(line);
    fclose(f);
    return st;
}

/* ------------------------------------------------------------------ */
/* context */

kk_status kk_g2p_new(const char *model_path, const kk_g2p_params *params, kk_g2p **out, kk_error *err)
{
    kk_error_clear(err);
    if (!model_path || !out)
        return kk_error_set(err, KK_ERR_ARG, "g2p: kk_g2p_new needs a model path and an output pointer");
    *out = NULL;
    kk_g2p *g = calloc(1, sizeof *g);
    if (!g)
        return kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory");
    g->p = params ? *params : kk_g2p_default_params();
    if (g->p.max_tokens < 1 || g->p.max_tokens > KK_G2P_MAX_TOKENS) {
        free(g);
        return kk_error_set(err, KK_ERR_ARG, "g2p: max_tokens %d is out of range; use 1..%d", params->max_tokens,
                            KK_G2P_MAX_TOKENS);
    }
    kk_status s = load_vocab(g, model_path, err);
    if (s == KK_OK && g->p.lexicon_path)
        s = kk_g2p_load_lexicon(g, g->p.lexicon_path, err);
    g->p.lexicon_path = NULL; /* not ours to keep */
    g->dict = g->p.dictionary;
    if (s == KK_OK && !g->dict && !g->p.no_dictionary) {
        kk_error e;
        if (kk_lexdb_open_default(&g->own_dict, &e) == KK_OK)
            g->dict = g->own_dict;
        else
            warn(g, KK_G2P_WARN_NO_DICTIONARY, 0, NULL, 0, NULL, 0,
                 "g2p: no pronunciation dictionary (%s); English words are read by espeak-ng alone, "
                 "which reads some of them less well (run scripts/install-deps.sh and rebuild)",
                 e.msg);
    }
    if (s != KK_OK) {
        kk_g2p_free(g);
        return s;
    }
    *out = g;
    return KK_OK;
}

void kk_g2p_set_warnings(kk_g2p *g, kk_g2p_warn_fn fn, void *user, int strict)
{
    g->p.warn = fn;
    g->p.warn_user = user;
    g->p.strict = strict;
}

void kk_g2p_set_chunk_per_sentence(kk_g2p *g, int on) { g->p.chunk_per_sentence = on; }
void kk_g2p_set_stream_chunks(kk_g2p *g, int on)
{
    g->p.stream_chunks = on;
}

void kk_g2p_free(kk_g2p *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->lex_cap; i++) {
        free(g->lex[i].word);
        free(g->lex[i].phonemes);
    }
    free(g->lex);
    free(g->vocab);
    kk_lexdb_close(g->own_dict);
    free(g);
}

/* ------------------------------------------------------------------ */
/* languages */

typedef struct lang_info {
    const char *name;
    const char *aliases[4];
    const char *voices[4]; /* NULL-terminated */
    kk_ipa_style style;
    const char *placeholder; /* a plain noun standing in for overridden words */
} lang_info;

static const lang_info LANGS[] = {
    {"en-us", {"en", "a", "en_us", NULL}, {"en-us", NULL}, KK_IPA_EN_US, "thing"},
    {"en-gb", {"b", "en_gb", "en-uk", NULL}, {"en-gb-x-rp", "en-gb", "en", NULL}, KK_IPA_EN_GB, "thing"},
    {"es", {"e", "es-es", NULL}, {"es", NULL}, KK_IPA_OTHER, "cosa"},
    {"fr-fr", {"fr", "f", NULL}, {"fr-fr", "fr", NULL}, KK_IPA_OTHER, "chose"},
    {"hi", {"h", NULL}, {"hi", NULL}, KK_IPA_OTHER, "चीज़"},
    {"it", {"i", NULL}, {"it", NULL}, KK_IPA_OTHER, "cosa"},
    {"pt-br", {"pt", "p", "pt_br", NULL}, {"pt-br", "pt", NULL}, KK_IPA_OTHER, "coisa"},
};

/* The map itself is kk_voice_lang (src/common): the voice list uses it too. */
const char *kk_g2p_lang_for_voice(const char *voice) { return kk_voice_lang(voice); }

/* LANGS' entry for a name or an alias (case-insensitive), or NULL. */
static const lang_info *lookup_lang(const char *lang)
{
    for (size_t i = 0; i < sizeof LANGS / sizeof LANGS[0]; i++) {
        if (strcasecmp(lang, LANGS[i].name) == 0)
            return &LANGS[i];
        for (size_t a = 0; LANGS[i].aliases[a]; a++)
            if (strcasecmp(lang, LANGS[i].aliases[a]) == 0)
                return &LANGS[i];
    }
    return NULL;
}

int kk_g2p_lang_supported(const char *lang) { return !lang || lookup_lang(lang) != NULL; }

const char *kk_g2p_voice_unsupported(const char *voice)
{
    const char *lang = kk_g2p_lang_for_voice(voice);
    if (!lang || kk_g2p_lang_supported(lang))
        return NULL;
    if (!strcmp(lang, "ja"))
        return "Japanese voices are not supported: espeak-ng cannot read kanji well enough, and Kokoro's "
               "Japanese voices were trained on a dedicated reader; choose a voice of another language, or give "
               "the text as phonemes with [word](/phonemes/) and an English language";
    if (!strcmp(lang, "zh"))
        return "Chinese voices are not supported: espeak-ng cannot read hanzi well enough, and Kokoro's "
               "Chinese voices were trained on a dedicated reader; choose a voice of another language, or give "
               "the text as phonemes with [word](/phonemes/) and an English language";
    return "this voice's language is not supported; choose another voice";
}

static const lang_info *find_lang(const char *lang, kk_error *err)
{
    if (!lang)
        return &LANGS[0];
    const lang_info *li = lookup_lang(lang);
    if (li)
        return li;
    if (strcasecmp(lang, "ja") == 0 || strcasecmp(lang, "j") == 0 || strcasecmp(lang, "zh") == 0 ||
        strcasecmp(lang, "z") == 0 || strcasecmp(lang, "cmn") == 0)
        kk_error_set(err, KK_ERR_UNSUPPORTED,
                     "g2p: language '%s' is not supported: espeak-ng cannot read kanji/hanzi well enough "
                     "and Kokoro's %s voices were trained on a dedicated G2P; give the text as phonemes with "
                     "[word](/phonemes/) in an English run, or use another voice",
                     lang, (lang[0] == 'j' || lang[0] == 'J') ? "Japanese" : "Chinese");
    else
        kk_error_set(err, KK_ERR_ARG,
                     "g2p: unknown language '%s'; use en-us, en-gb, es, fr-fr, hi, it or pt-br", lang);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* units: items with their ids */

typedef struct unit {
    kk_item_kind kind;
    size_t start, end;
    int space_before, brk, closing, pause_ms;
    int emphasis; /* its words are emphasised (kk_item.emphasis) */
    int64_t *ids;
    size_t n;
} unit;

typedef struct units {
    unit *v;
    size_t n, cap;
} units;

static void units_free(units *u)
{
    for (size_t i = 0; i < u->n; i++)
        free(u->v[i].ids);
    free(u->v);
}

static unit *unit_push(units *u, const kk_item *it)
{
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 64;
        unit *v = realloc(u->v, cap * sizeof *v);
        if (!v)
            return NULL;
        u->v = v;
        u->cap = cap;
    }
    unit *x = &u->v[u->n++];
    memset(x, 0, sizeof *x);
    x->kind = it->kind;
    x->start = it->start;
    x->end = it->end;
    x->space_before = it->space_before;
    x->brk = it->brk;
    x->closing = it->closing;
    x->pause_ms = it->pause_ms;
    x->emphasis = it->emphasis;
    return x;
}

static void markup_warn(void *user, size_t off, const char *msg)
{
    kk_g2p *g = user;
    warn(g, KK_G2P_WARN_MARKUP, off, NULL, 0, NULL, 0, "%s", msg);
}

static int stress_first_vowel(kk_buf *ph, const char *mark);

/* The phonemes of an emphasised word with a primary stress: its own ˈ, else
 * its first ˌ made primary, else a ˈ before its first vowel (a function
 * word read weak, "ðə"). Kokoro raises and lengthens a syllable marked ˈ;
 * the word's length is set later (src/tts). -1 on no memory. */
static int stress_primary(kk_buf *ph)
{
    if (!ph->data || strstr(ph->data, "ˈ"))
        return 0;
    char *sec = strstr(ph->data, "ˌ");
    if (sec) {
        memcpy(sec, "ˈ", strlen("ˈ")); /* both two bytes in UTF-8 */
        return 0;
    }
    return stress_first_vowel(ph, "ˈ");
}

static kk_status item_unit(kk_g2p *g, const kk_item *it, const char *ph, units *out, kk_error *err)
{
    unit *u = unit_push(out, it);
    if (!u)
        return kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory");
    kk_buf stressed = {0};
    if (it->emphasis && (it->kind == KK_ITEM_WORD || it->kind == KK_ITEM_OVERRIDE)) {
        if (kk_buf_puts(&stressed, ph) < 0 || stress_primary(&stressed) < 0) {
            kk_buf_free(&stressed);
            return kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory");
        }
        ph = stressed.data;
    }
    char what[160];
    int wl = (int)(it->wend - it->wstart > 120 ? 120 : it->wend - it->wstart);
    if (it->kind == KK_ITEM_PUNCT)
        snprintf(what, sizeof what, "punctuation");
    else if (it->kind == KK_ITEM_OVERRIDE)
        snprintf(what, sizeof what, "the override of '%.*s'", wl, g->text + it->wstart);
    else
        snprintf(what, sizeof what, "'%.*s'", wl, g->text + it->wstart);
    kk_status st = tokenize(g, ph, it->start, what, &u->ids, &u->n, err);
    kk_buf_free(&stressed);
    return st;
}

/* The byte lengths of the first np space-separated pieces of p, into len
 * (which it returns). */
static size_t *piece_len(const char *p, size_t np, size_t *len)
{
    size_t k = 0;
    for (const char *q = p; *q && k < np;) {
        while (*q == ' ')
            q++;
        const char *s = q;
        while (*q && *q != ' ')
            q++;
        if (q > s)
            len[k++] = (size_t)(q - s);
    }
    return len;
}

/* espeak-ng joined some of the words of a run (np < nw pieces: "on the" ->
 * "ɔnðə"): which ones? Each word alone gives a length; split the nw words
 * into np consecutive groups whose lengths best match the pieces' (dynamic
 * programming over the split points). first[k]: the first word of piece k.
 * 0 when done, -1 when it cannot say (then the run stays one unit). */
#define ALIGN_MAX_WORDS 64
static int align_groups(kk_g2p *g, const lang_info *L, const kk_items *items, size_t a, size_t nw,
                        const size_t *plen, size_t np, size_t *first)
{
    if (nw > ALIGN_MAX_WORDS || np == 0 || np >= nw)
        return -1;
    size_t wl[ALIGN_MAX_WORDS + 1] = {0};
    for (size_t i = 0; i < nw; i++) {
        const kk_item *it = &items->v[a + i];
        char *w = strndup(g->text + it->wstart, it->wend - it->wstart);
        kk_buf ipa = {0};
        kk_error e;
        int ok = w && kk_espeak_ipa(L->voices, w, &ipa, &e) == KK_OK &&
                 kk_ipa_to_misaki(&ipa, L->style, g->p.flap_as_T) >= 0;
        wl[i] = ok && ipa.data ? strlen(ipa.data) : 0;
        free(w);
        kk_buf_free(&ipa);
        if (!ok)
            return -1;
    }
    /* D[k][i]: best cost of the first i words as the first k pieces */
    static const size_t INF = (size_t)-1;
    size_t D[ALIGN_MAX_WORDS + 1][ALIGN_MAX_WORDS + 1], from[ALIGN_MAX_WORDS + 1][ALIGN_MAX_WORDS + 1];
    for (size_t k = 0; k <= np; k++)
        for (size_t i = 0; i <= nw; i++)
            D[k][i] = INF;
    D[0][0] = 0;
    for (size_t k = 1; k <= np; k++)
        for (size_t i = k; i <= nw; i++)
            for (size_t j = k - 1, len = 0; j < i; j++) {
                len = 0;
                for (size_t t = j; t < i; t++)
                    len += wl[t];
                if (D[k - 1][j] == INF)
                    continue;
                size_t c = D[k - 1][j] + (len > plen[k - 1] ? len - plen[k - 1] : plen[k - 1] - len);
                if (c < D[k][i])
                    D[k][i] = c, from[k][i] = j;
            }
    if (D[np][nw] == INF)
        return -1;
    for (size_t k = np, i = nw; k > 0; k--) {
        first[k - 1] = from[k][i];
        i = from[k][i];
    }
    return 0;
}

/* Gives items [a, b) (words and overrides, no punctuation between them)
 * their ids. The words go to espeak-ng in one call, for context (an
 * unstressed "a" stays ə); an override stands in as a placeholder word whose
 * phonemes are then replaced by the override's. When espeak-ng's words do not
 * line up one to one with ours (numbers, merged function words), runs with
 * overrides are cut at them, and a run of plain words becomes one unit. */
static kk_status phonemize_run(kk_g2p *g, const lang_info *L, const kk_items *items, size_t a, size_t b,
                               units *out, kk_error *err)
{
    kk_buf txt = {0}, ipa = {0};
    kk_status st = KK_OK;
    size_t n_over = 0;
    for (size_t i = a; i < b; i++)
        n_over += items->v[i].kind == KK_ITEM_OVERRIDE;
    if (n_over == b - a) {
        for (size_t i = a; i < b && st == KK_OK; i++)
            st = item_unit(g, &items->v[i], items->v[i].sym, out, err);
        return st;
    }
    for (size_t i = a; i < b && st == KK_OK; i++) {
        const kk_item *it = &items->v[i];
        if (i > a && kk_buf_putc(&txt, ' ') < 0)
            st = KK_ERR_NOMEM;
        if (it->kind == KK_ITEM_OVERRIDE) {
            if (kk_buf_puts(&txt, L->placeholder) < 0)
                st = KK_ERR_NOMEM;
            continue;
        }
        /* ’ -> ' so that espeak-ng finds contractions */
        for (size_t j = it->wstart; j < it->wend && st == KK_OK;) {
            if (strncmp(g->text + j, "\u2019", 3) == 0) {
                if (kk_buf_putc(&txt, '\'') < 0)
                    st = KK_ERR_NOMEM;
                j += 3;
            } else {
                if (kk_buf_putc(&txt, g->text[j]) < 0)
                    st = KK_ERR_NOMEM;
                j++;
            }
        }
    }
    if (st == KK_ERR_NOMEM) {
        kk_buf_free(&txt);
        return kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory");
    }
    st = kk_espeak_ipa(L->voices, txt.data ? txt.data : "", &ipa, err);
    if (st == KK_OK && kk_ipa_to_misaki(&ipa, L->style, g->p.flap_as_T) < 0)
        st = kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory");
    if (st != KK_OK)
        goto done;
    /* split the result at spaces: one piece per word when the counts agree */
    size_t nw = b - a, np = 0;
    const char *p = ipa.data ? ipa.data : "";
    for (const char *q = p; *q;) {
        while (*q == ' ')
            q++;
        if (!*q)
            break;
        np++;
        while (*q && *q != ' ')
            q++;
    }
    if (np != nw && n_over) {
        /* cut at the overrides and try again without them */
        for (size_t i = a; i < b && st == KK_OK;) {
            if (items->v[i].kind == KK_ITEM_OVERRIDE) {
                st = item_unit(g, &items->v[i], items->v[i].sym, out, err);
                i++;
                continue;
            }
            size_t j = i;
            while (j < b && items->v[j].kind == KK_ITEM_WORD)
                j++;
            st = phonemize_run(g, L, items, i, j, out, err);
            i = j;
        }
        goto done;
    }
    if (np == 0) {
        warn(g, KK_G2P_WARN_NO_PHONEMES, items->v[a].start, NULL, 0, NULL, 0,
             "g2p: espeak-ng gave no phonemes for '%s' (text byte %zu); it is not spoken (give a "
             "pronunciation with [word](/phonemes/) if it should be)",
             txt.data, src_pos(g, items->v[a].start, 0));
    }
    size_t first[ALIGN_MAX_WORDS], plen[ALIGN_MAX_WORDS];
    if (np && np < nw && nw <= ALIGN_MAX_WORDS &&
        align_groups(g, L, items, a, nw, piece_len(p, np, plen), np, first) == 0) {
        /* words espeak-ng joined share a unit; the others keep their own */
        const char *q = p;
        for (size_t k = 0; k < np && st == KK_OK; k++) {
            while (*q == ' ')
                q++;
            const char *s = q;
            while (*q && *q != ' ')
                q++;
            char *piece = strndup(s, (size_t)(q - s));
            if (!piece) {
                st = kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory");
                break;
            }
            st = item_unit(g, &items->v[a + first[k]], piece, out, err);
            free(piece);
            size_t last = k + 1 < np ? first[k + 1] : nw;
            if (st == KK_OK)
                out->v[out->n - 1].end = items->v[a + last - 1].end;
        }
        goto done;
    }
    const char *q = p;
    for (size_t i = a; i < b && st == KK_OK; i++) {
        const kk_item *it = &items->v[i];
        if (np != nw && i > a) { /* counts differ: the whole run is one unit */
            out->v[out->n - 1].end = it->end;
            continue;
        }
        while (*q == ' ')
            q++;
        const char *s = q;
        if (np == nw) {
            while (*q && *q != ' ')
                q++;
        } else {
            q += strlen(q);
        }
        if (it->kind == KK_ITEM_OVERRIDE) {
            st = item_unit(g, it, it->sym, out, err);
            continue;
        }
        char *piece = strndup(s, (size_t)(q - s));
        if (!piece) {
            st = kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory");
            break;
        }
        st = item_unit(g, it, piece, out, err);
        free(piece);
    }
done:
    kk_buf_free(&txt);
    kk_buf_free(&ipa);
    return st;
}

/* ------------------------------------------------------------------ */
/* words read without espeak-ng: homographs, function words, dictionary */

/* The word of an item as the dictionary spells it (’ -> '), into w (cap
 * bytes); 0 when it does not fit or holds something no dictionary entry
 * has (digits, non-ASCII letters). */
static size_t dict_spelling(const kk_g2p *g, const kk_item *it, char *w, size_t cap)
{
    size_t n = 0;
    for (size_t j = it->wstart; j < it->wend;) {
        unsigned char c = (unsigned char)g->text[j];
        if (strncmp(g->text + j, "\u2019", 3) == 0) {
            c = '\'';
            j += 3;
        } else {
            j++;
        }
        if (!(isalpha(c) || c == '\'' || c == '-' || c == '.') || n + 1 >= cap)
            return 0;
        w[n++] = (char)c;
    }
    w[n] = '\0';
    return n;
}

/* Phonemes of the last vowel or consonant of ph: the sibilant and voicing
 * class that picks the 's ending (s, z or ᵻz, as for plurals). */
static const char *possessive_ending(const char *ph)
{
    size_t n = strlen(ph);
    static const char *const sib[] = {"s", "z", "ʃ", "ʒ", "ʧ", "ʤ"};
    static const char *const voiceless[] = {"p", "t", "k", "f", "θ"};
    for (size_t i = 0; i < sizeof sib / sizeof sib[0]; i++) {
        size_t l = strlen(sib[i]);
        if (n >= l && strcmp(ph + n - l, sib[i]) == 0)
            return "ᵻz";
    }
    for (size_t i = 0; i < sizeof voiceless / sizeof voiceless[0]; i++) {
        size_t l = strlen(voiceless[i]);
        if (n >= l && strcmp(ph + n - l, voiceless[i]) == 0)
            return "s";
    }
    return "z";
}

/* A number word: a cardinal the normaliser writes ("zero" .. "ninety",
 * "hundred" .. "trillion", "oh" for a zero digit) or, with ordinals set, an
 * ordinal ("first", "twentieth"). */
static int is_number_word(const char *s, size_t n, int ordinals)
{
    static const char *const N[] = {"zero", "oh", "one", "two", "three", "four", "five", "six", "seven",
                                    "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen",
                                    "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
                                    "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
                                    "hundred", "thousand", "million", "billion", "trillion"};
    static const char *const O[] = {"first", "second", "third", "fourth", "fifth", "sixth", "seventh",
                                    "eighth", "ninth"};
    for (size_t i = 0; i < sizeof N / sizeof N[0]; i++)
        if (strlen(N[i]) == n && strncasecmp(N[i], s, n) == 0)
            return 1;
    for (size_t i = 0; ordinals && i < sizeof O / sizeof O[0]; i++)
        if (strlen(O[i]) == n && strncasecmp(O[i], s, n) == 0)
            return 1;
    return 0;
}

/* The dictionary's reading of w[0, n) into out (appended): the word
 * itself, else its parts at hyphens (each found, joined by spaces), else a
 * possessive 's on a known stem. A compound number ("twenty-five",
 * "twenty-first") is always read part by part, as misaki reads numbers,
 * even where CMUdict has the compound. 1 when found, 0 when not, -1 on no
 * memory. */
static int dict_read(const kk_g2p *g, const char *w, size_t n, kk_buf *out)
{
    const char *pr[1];
    const char *dash = memchr(w, '-', n);
    int compound_number = dash && is_number_word(w, (size_t)(dash - w), 0) &&
                          is_number_word(dash + 1, n - (size_t)(dash + 1 - w), 1);
    if (!compound_number && kk_lexdb_lookup(g->dict, w, n, pr, 1))
        return kk_buf_puts(out, pr[0]) < 0 ? -1 : 1;
    if (dash && dash > w && dash + 1 < w + n) {
        size_t mark = out->len;
        int r = dict_read(g, w, (size_t)(dash - w), out);
        if (r == 1 && (r = kk_buf_putc(out, ' ') < 0 ? -1 : 1) == 1)
            r = dict_read(g, dash + 1, n - (size_t)(dash + 1 - w), out);
        if (r == 0)
            out->len = mark, out->data[mark] = '\0';
        return r;
    }
    if (n > 2 && w[n - 2] == '\'' && (w[n - 1] == 's' || w[n - 1] == 'S') &&
        kk_lexdb_lookup(g->dict, w, n - 2, pr, 1))
        return kk_buf_puts(out, pr[0]) < 0 || kk_buf_puts(out, possessive_ending(pr[0])) < 0 ? -1 : 1;
    return 0;
}

/* Function words whose reading depends on what follows (misaki's special
 * cases): which one it is, or FW_NONE. */
enum { FW_NONE, FW_THE, FW_A, FW_AN, FW_TO, FW_IN, FW_I, FW_FINAL };

/* Unstressed words that take stress where nothing follows them in the
 * clause ("I think I have.", "Look there!"), as misaki reads them, and the
 * light verbs with only secondary stress ("Let it go."): the stress they take
 * then ("ˈ" or "ˌ"; a ˈ replaces a lone ˌ), or NULL for any other word. */
static const char *clause_final_stress(const char *w, size_t n)
{
    static const struct {
        const char *word, *mark;
    } W[] = {{"be", "ˈ"},      {"been", "ˌ"},  {"by", "ˈ"},      {"can", "ˈ"},     {"could", "ˈ"},
             {"get", "ˈ"},     {"go", "ˈ"},    {"gone", "ˈ"},    {"got", "ˈ"},     {"had", "ˌ"},
             {"has", "ˈ"},     {"have", "ˈ"},  {"her", "ˌ"},     {"hers", "ˈ"},    {"his", "ˌ"},
             {"made", "ˈ"},    {"make", "ˈ"},  {"my", "ˈ"},      {"near", "ˈ"},    {"put", "ˈ"},
             {"there", "ˈ"},   {"there's", "ˈ"}, {"these", "ˈ"}, {"this", "ˈ"},    {"those", "ˈ"},
             {"through", "ˈ"}, {"will", "ˈ"},  {"won't", "ˈ"},   {"would", "ˈ"}};
    for (size_t i = 0; i < sizeof W / sizeof W[0]; i++)
        if (strlen(W[i].word) == n && strncasecmp(W[i].word, w, n) == 0)
            return W[i].mark;
    return NULL;
}

static int function_word(const char *w, size_t n)
{
    if (n == 1 && (w[0] == 'a' || w[0] == 'A'))
        return FW_A;
    if (n == 1 && w[0] == 'I')
        return FW_I;
    if (n == 2 && strncasecmp(w, "an", 2) == 0)
        return FW_AN;
    if (n == 2 && strncasecmp(w, "to", 2) == 0)
        return FW_TO;
    if (n == 2 && strncasecmp(w, "in", 2) == 0)
        return FW_IN;
    if (n == 3 && strncasecmp(w, "the", 3) == 0)
        return FW_THE;
    return FW_NONE;
}

/* Does the phoneme string p start with a vowel symbol? */
static int is_vowel_symbol(const char *p)
{
    static const char *const V[] = {"A", "I", "O", "Q", "W", "Y", "a", "i", "u", "æ", "ɑ", "ɒ",
                                    "ɔ", "ə", "ɛ", "ɜ", "ɪ", "ʊ", "ʌ", "ᵻ", "ɐ", "e", "o", "ᵊ"};
    for (size_t k = 0; k < sizeof V / sizeof V[0]; k++)
        if (strncmp(p, V[k], strlen(V[k])) == 0)
            return 1;
    return 0;
}

/* A word written with a capital that the dictionary reads without stress
 * ("He", "My", "It" at the head of a sentence, "WE") gets some, as misaki
 * stresses capitalised words: secondary before the first vowel, primary
 * when the whole word is in capitals. -1 on no memory. */
static int stress_capitalised(const char *w, size_t n, kk_buf *ph)
{
    if (!n || !isupper((unsigned char)w[0]))
        return 0;
    int upper = n > 1;
    for (size_t i = 1; i < n; i++)
        if (islower((unsigned char)w[i]))
            upper = 0;
    return stress_first_vowel(ph, upper ? "ˈ" : "ˌ");
}

/* Removes the ˌ marks of ph when it has no ˈ (so that stress_first_vowel
 * can give it a primary stress). 0, or -1 on no memory. */
static int drop_secondary(kk_buf *ph)
{
    if (strstr(ph->data, "ˈ") || !strstr(ph->data, "ˌ"))
        return 0;
    kk_buf b = {0};
    int r = 0;
    for (const char *p = ph->data; *p && r == 0;) {
        size_t l = kk_utf8_len(p);
        if (!(l == strlen("ˌ") && !memcmp(p, "ˌ", l)))
            r = kk_buf_append(&b, p, l) < 0 ? -1 : 0;
        p += l;
    }
    if (r == 0) {
        kk_buf_clear(ph);
        r = kk_buf_puts(ph, b.data ? b.data : "") < 0 ? -1 : 0;
    }
    kk_buf_free(&b);
    return r;
}

/* Puts mark (ˈ or ˌ) before the first vowel of ph when ph has no stress
 * mark at all; leaves it as it is otherwise. 0, or -1 on no memory. */
static int stress_first_vowel(kk_buf *ph, const char *mark)
{
    if (strstr(ph->data, "ˈ") || strstr(ph->data, "ˌ"))
        return 0;
    for (char *p = ph->data; *p; p += kk_utf8_len(p)) {
        if (!is_vowel_symbol(p))
            continue;
        kk_buf b = {0};
        size_t at = (size_t)(p - ph->data);
        int r = kk_buf_append(&b, ph->data, at) < 0 || kk_buf_puts(&b, mark) < 0 || kk_buf_puts(&b, ph->data + at) < 0
                    ? -1
                    : 0;
        if (r == 0) {
            kk_buf_clear(ph);
            r = kk_buf_puts(ph, b.data) < 0 ? -1 : 0;
        }
        kk_buf_free(&b);
        return r;
    }
    return 0;
}

/* Does the text after item i start with a vowel sound? 1 yes, 0 no, -1
 * nothing follows in the clause (punctuation, a pause or the end). A word
 * with phonemes already is judged by them; one left to espeak-ng by its
 * spelling (an "hour", a "one", a "university" are the usual exceptions). */
static int next_vowel(const kk_g2p *g, const kk_items *items, size_t i)
{
    if (i + 1 >= items->n)
        return -1;
    const kk_item *it = &items->v[i + 1];
    if (it->kind == KK_ITEM_OVERRIDE && it->sym) {
        for (const char *p = it->sym; *p; p += kk_utf8_len(p)) {
            if (strncmp(p, "ˈ", strlen("ˈ")) == 0 || strncmp(p, "ˌ", strlen("ˌ")) == 0)
                continue;
            return is_vowel_symbol(p);
        }
        return -1;
    }
    if (it->kind != KK_ITEM_WORD)
        return -1;
    const char *w = g->text + it->wstart;
    size_t n = it->wend - it->wstart;
    if (!n || !isalpha((unsigned char)w[0]))
        return 0;
    if ((n >= 3 && (strncasecmp(w, "uni", 3) == 0 || strncasecmp(w, "use", 3) == 0 ||
                    strncasecmp(w, "one", 3) == 0 || strncasecmp(w, "eu", 2) == 0)))
        return 0;
    if (n >= 4 && (strncasecmp(w, "hour", 4) == 0 || strncasecmp(w, "honest", n < 6 ? n : 6) == 0 ||
                   strncasecmp(w, "honor", 5) == 0 || strncasecmp(w, "heir", 4) == 0))
        return 1;
    return strchr("aeiouAEIOU", w[0]) != NULL;
}

/* A number word as the normaliser writes numbers ("forty-nine": its last
 * part). */
static int number_word(const kk_hword *w)
{
    const char *s = w->s;
    size_t n = w->len;
    const char *dash = memchr(s, '-', n);
    if (dash)
        n -= (size_t)(dash + 1 - s), s = dash + 1;
    return is_number_word(s, n, 0);
}

/* "point" inside a number (three point five) is unstressed, as misaki
 * reads decimals. */
static int decimal_point(const kk_hword *hw, size_t nw, size_t i)
{
    return i > 0 && i + 1 < nw && hw[i].len == 5 && strncasecmp(hw[i].s, "point", 5) == 0 &&
           number_word(&hw[i - 1]) && number_word(&hw[i + 1]);
}

/* A lone capital letter beside another one is spelled ("H T T P"). */
static int is_letter(const kk_g2p *g, const kk_item *it)
{
    return it->kind == KK_ITEM_WORD && it->wend - it->wstart == 1 && isupper((unsigned char)g->text[it->wstart]);
}

static int spelled_letter(const kk_g2p *g, const kk_items *items, size_t i)
{
    return (i > 0 && is_letter(g, &items->v[i - 1])) || (i + 1 < items->n && is_letter(g, &items->v[i + 1]));
}

/* Gives a word the phonemes read for it (misaki's v1.0 symbols, flap T);
 * with flap_as_T off the flap is written ɾ, as espeak-ng's words are. */
/* Letters read by name ("AI" ˌAˈI, the "A" of "H T T P A"): every
 * letter but the last with secondary stress, the last with primary, as
 * misaki spells acronyms. 1 when w is all ASCII letters (appended to out),
 * 0 when not, -1 on no memory. */
static int spell_letters(const char *w, size_t n, kk_buf *out)
{
    static const char *const NAME[26] = {"ˈA",  "bˈi",  "sˈi", "dˈi",  "ˈi",   "ˈɛf", "ʤˈi",      "ˈAʧ", "ˈI",
                                         "ʤˈA", "kˈA",  "ˈɛl", "ˈɛm",  "ˈɛn",  "ˈO",  "pˈi",      "kjˈu", "ˈɑɹ",
                                         "ˈɛs", "tˈi",  "jˈu", "vˈi",  "dˈʌbᵊlju", "ˈɛks", "wˈI", "zˈi"};
    for (size_t i = 0; i < n; i++)
        if (!isalpha((unsigned char)w[i]))
            return 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = NAME[toupper((unsigned char)w[i]) - 'A'];
        const char *mark = strstr(name, "ˈ");
        int ok = i + 1 == n ? kk_buf_puts(out, name) >= 0
                            : kk_buf_append(out, name, (size_t)(mark - name)) >= 0 && kk_buf_puts(out, "ˌ") >= 0 &&
                                  kk_buf_puts(out, mark + strlen("ˈ")) >= 0;
        if (!ok)
            return -1;
    }
    return 1;
}

/* An acronym to spell: two capitals that are not a word written in
 * capitals ("AI", "UK", but "IT", "NO", "OK" as words). Longer ones are
 * left to the dictionary, which has the usual ones either spelled (FBI)
 * or said (NASA); espeak-ng spells the rest. */
static int spelled_acronym(const char *w, size_t n)
{
    static const char *const WORDS[] = {"AM", "AN", "AS", "AT", "BE", "BY", "DO", "GO", "HA", "HE", "HI",
                                        "IF", "IN", "IS", "IT", "ME", "MY", "NO", "OF", "OH", "OK", "ON",
                                        "OR", "OX", "SO", "TO", "UP", "US", "WE", "YE", "YO"};
    if (n != 2 || !isupper((unsigned char)w[0]) || !isupper((unsigned char)w[1]))
        return 0;
    for (size_t i = 0; i < sizeof WORDS / sizeof WORDS[0]; i++)
        if (strncmp(WORDS[i], w, 2) == 0)
            return 0;
    return 1;
}

static kk_status set_override(const kk_g2p *g, kk_item *it, const char *ph, kk_error *err)
{
    kk_buf b = {0};
    if (kk_buf_puts(&b, ph) < 0 || (!g->p.flap_as_T && kk_buf_replace(&b, "T", "ɾ") < 0)) {
        kk_buf_free(&b);
        return kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory");
    }
    free(it->sym);
    it->sym = kk_buf_steal(&b);
    it->kind = KK_ITEM_OVERRIDE;
    return it->sym ? KK_OK : kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory");
}

/* Reads the words of items [a, b), one sentence, without espeak-ng where it
 * can: homographs by context, spelled letters, then the dictionary (American
 * only); function words last, since their reading depends on the word after
 * them. Words it cannot read stay WORD items for espeak-ng. */
static kk_status read_sentence(kk_g2p *g, const lang_info *L, kk_items *items, size_t a, size_t b,
                               kk_error *err)
{
    int british = L->style == KK_IPA_EN_GB;
    size_t nw = 0;
    for (size_t i = a; i < b; i++)
        nw += items->v[i].kind == KK_ITEM_WORD || items->v[i].kind == KK_ITEM_OVERRIDE;
    if (!nw)
        return KK_OK;
    kk_hword *hw = malloc(nw * sizeof *hw);
    unsigned char *fw = calloc(b - a, 1);
    kk_buf ph = {0};
    kk_status st = KK_OK;
    if (!hw || !fw) {
        st = kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory");
        goto done;
    }
    for (size_t i = a, k = 0; i < b; i++) {
        const kk_item *it = &items->v[i];
        if (it->kind == KK_ITEM_WORD || it->kind == KK_ITEM_OVERRIDE)
            hw[k++] = (kk_hword){g->text + it->wstart, it->wend - it->wstart};
    }
    for (size_t i = a, k = 0; i < b && st == KK_OK; i++) {
        kk_item *it = &items->v[i];
        if (it->kind != KK_ITEM_WORD && it->kind != KK_ITEM_OVERRIDE)
            continue;
        size_t wi = k++;
        if (it->kind != KK_ITEM_WORD)
            continue;
        const char *h = kk_homograph_pick(hw, nw, wi, british);
        if (!h && decimal_point(hw, nw, wi))
            h = "pYnt";
        if (h) {
            st = set_override(g, it, h, err);
            continue;
        }
        char w[64];
        size_t n = dict_spelling(g, it, w, sizeof w);
        if (!n)
            continue;
        if ((n == 1 && isupper((unsigned char)w[0]) && spelled_letter(g, items, i)) || spelled_acronym(w, n)) {
            kk_buf_clear(&ph);
            int r = spell_letters(w, n, &ph);
            if (r < 0)
                st = kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory");
            else if (r > 0)
                st = set_override(g, it, ph.data, err);
            continue;
        }
        int f = function_word(w, n);
        if (f != FW_NONE && it->emphasis) {
            /* stressed, these are read in full: "THE place", "to GO" */
            static const char *const strong[] = {[FW_THE] = "ðˈi", [FW_A] = "ˈA", [FW_AN] = "ˈæn",
                                                 [FW_TO] = "tˈu", [FW_IN] = "ˈɪn", [FW_I] = "ˈI"};
            st = set_override(g, it, strong[f], err);
            continue;
        }
        if (f != FW_NONE) {
            fw[i - a] = (unsigned char)f;
            continue;
        }
        if (!g->dict || british) /* the dictionary is American */
            continue;
        kk_buf_clear(&ph);
        int r = dict_read(g, w, n, &ph);
        if (r > 0)
            r = stress_capitalised(w, n, &ph) < 0 ? -1 : 1;
        if (r < 0)
            st = kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory");
        else if (r > 0)
            st = set_override(g, it, ph.data, err);
        if (r > 0 && clause_final_stress(w, n))
            fw[i - a] = FW_FINAL;
    }
    for (size_t i = b; i-- > a && st == KK_OK;) {
        if (!fw[i - a])
            continue;
        int v = next_vowel(g, items, i);
        const char *r = NULL;
        if (fw[i - a] == FW_FINAL) {
            kk_item *it = &items->v[i];
            if (v != -1)
                continue;
            char w[64];
            size_t n = dict_spelling(g, it, w, sizeof w);
            kk_buf_clear(&ph);
            char *stressed = NULL;
            const char *mark = clause_final_stress(w, n);
            if (kk_buf_puts(&ph, it->sym) < 0 || (!strcmp(mark, "ˈ") && drop_secondary(&ph) < 0) ||
                stress_first_vowel(&ph, mark) < 0 ||
                !(stressed = kk_buf_steal(&ph))) {
                st = kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory");
                continue;
            }
            free(it->sym);
            it->sym = stressed;
            continue;
        }
        switch (fw[i - a]) {
        case FW_THE: r = v == 1 ? "ði" : "ðə"; break;
        case FW_A: r = "ɐ"; break;
        case FW_AN: r = "ɐn"; break;
        case FW_TO: r = v == 1 ? "tʊ" : v == 0 ? "tə" : "tu"; break;
        case FW_IN: r = v == -1 ? "ˈɪn" : "ɪn"; break;
        case FW_I: r = "ˌI"; break;
        }
        if (r)
            st = set_override(g, &items->v[i], r, err);
    }
done:
    free(hw);
    free(fw);
    kk_buf_free(&ph);
    return st;
}

/* The words of every sentence of an English text (sentences end at . ! ?
 * …, blank lines and pauses). Other languages are left to espeak-ng. */
static kk_status read_words(kk_g2p *g, const lang_info *L, kk_items *items, kk_error *err)
{
    if (L->style == KK_IPA_OTHER)
        return KK_OK;
    size_t a = 0;
    for (size_t i = 0; i <= items->n; i++) {
        const kk_item *it = i < items->n ? &items->v[i] : NULL;
        if (it && it->kind != KK_ITEM_PARA && it->kind != KK_ITEM_PAUSE &&
            !(it->kind == KK_ITEM_PUNCT && it->brk == KK_BRK_SENTENCE))
            continue;
        kk_status st = read_sentence(g, L, items, a, i, err);
        if (st != KK_OK)
            return st;
        a = i + 1;
    }
    return KK_OK;
}

static kk_status build_units(kk_g2p *g, const lang_info *L, kk_items *items, units *out, kk_error *err)
{
    /* lexicon entries turn words into overrides */
    for (size_t i = 0; i < items->n; i++) {
        kk_item *it = &items->v[i];
        if (it->kind != KK_ITEM_WORD)
            continue;
        const char *ph = lex_find(g, g->text + it->wstart, it->wend - it->wstart);
        if (ph) {
            if (!(it->sym = strdup(ph)))
                return kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory");
            it->kind = KK_ITEM_OVERRIDE;
        }
    }
    kk_status rs = read_words(g, L, items, err);
    if (rs != KK_OK)
        return rs;
    for (size_t i = 0; i < items->n;) {
        kk_item *it = &items->v[i];
        kk_status st;
        if (it->kind == KK_ITEM_WORD || it->kind == KK_ITEM_OVERRIDE) {
            /* an emphasised word is read apart from its neighbours, so that
             * espeak-ng does not join it to them ("of the") and it keeps
             * the stress of a word said alone */
            size_t j = i;
            while (j < items->n && (items->v[j].kind == KK_ITEM_WORD || items->v[j].kind == KK_ITEM_OVERRIDE) &&
                   items->v[j].emphasis == it->emphasis)
                j++;
            st = phonemize_run(g, L, items, i, j, out, err);
            i = j;
        } else if (it->kind == KK_ITEM_PUNCT) {
            st = item_unit(g, it, it->sym, out, err);
            i++;
        } else {
            st = unit_push(out, it) ? KK_OK : kk_error_set(err, KK_ERR_NOMEM, "g2p: out of memory");
            i++;
        }
        if (st != KK_OK)
            return st;
    }
    return KK_OK;
}

/* ------------------------------------------------------------------ */
/* chunks */

typedef struct chunker {
    kk_g2p *g;
    kk_g2p_chunk_fn fn;
    void *user;
    kk_error *err;
    /* the chunk built last, held back so that a following pause can set its
     * pause_after_ms */
    int pending;
    int explicit_pause;
    kk_g2p_chunk c;
    int64_t *ids;
    size_t cap;
    kk_g2p_word *words;
    size_t words_cap;
    kk_buf ph;
    size_t index;
} chunker;

static kk_status deliver(chunker *ck)
{
    if (!ck->pending)
        return KK_OK;
    ck->pending = 0;
    ck->c.ids = ck->ids;
    ck->c.words = ck->words;
    ck->c.phonemes = ck->ph.data ? ck->ph.data : "";
    ck->c.index = ck->index++;
    if (ck->fn(ck->user, &ck->c))
        return kk_error_set(ck->err, KK_ERR_ABORTED, "g2p: stopped by the chunk callback");
    return KK_OK;
}

static kk_status begin(chunker *ck, size_t start)
{
    kk_status st = deliver(ck);
    if (st != KK_OK)
        return st;
    ck->pending = 1;
    ck->explicit_pause = 0;
    memset(&ck->c, 0, sizeof ck->c);
    ck->c.text_start = ck->c.text_end = start;
    kk_buf_clear(&ck->ph);
    if (kk_buf_append(&ck->ph, "", 0) < 0)
        return kk_error_set(ck->err, KK_ERR_NOMEM, "g2p: out of memory");
    return KK_OK;
}

static kk_status put_ids(chunker *ck, const int64_t *ids, size_t n)
{
    if (ck->c.n_ids + n > ck->cap) {
        size_t cap = ck->cap ? ck->cap : 64;
        while (cap < ck->c.n_ids + n)
            cap *= 2;
        int64_t *v = realloc(ck->ids, cap * sizeof *v);
        if (!v)
            return kk_error_set(ck->err, KK_ERR_NOMEM, "g2p: out of memory");
        ck->ids = v;
        ck->cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        ck->ids[ck->c.n_ids++] = ids[i];
        const char *sym = ck->g->by_id[ids[i]];
        if (kk_buf_puts(&ck->ph, sym ? sym : "") < 0)
            return kk_error_set(ck->err, KK_ERR_NOMEM, "g2p: out of memory");
    }
    return KK_OK;
}

/* Records that the ids just put (the last n) are the word at [start, end),
 * emphasised or not. */
static kk_status put_word(chunker *ck, size_t start, size_t end, size_t n, int emphasis)
{
    if (ck->c.n_words) {
        /* the words of one expansion ("$49.99" -> forty-nine dollars ...)
         * share its source span: they are one word of the source */
        kk_g2p_word *last = &ck->words[ck->c.n_words - 1];
        if (last->text_start == start && last->text_end == end) {
            last->n_ids = ck->c.n_ids - last->first_id;
            last->emphasis |= emphasis;
            return KK_OK;
        }
    }
    if (ck->c.n_words == ck->words_cap) {
        size_t cap = ck->words_cap ? 2 * ck->words_cap : 32;
        kk_g2p_word *v = realloc(ck->words, cap * sizeof *v);
        if (!v)
            return kk_error_set(ck->err, KK_ERR_NOMEM, "g2p: out of memory");
        ck->words = v;
        ck->words_cap = cap;
    }
    ck->words[ck->c.n_words++] = (kk_g2p_word){.text_start = start, .text_end = end,
                                               .first_id = ck->c.n_ids - n, .n_ids = n,
                                               .emphasis = emphasis};
    return KK_OK;
}

/* ids that units [a, b) make together */
static size_t count_tokens(const units *U, size_t a, size_t b)
{
    size_t n = 0;
    int first = 1;
    for (size_t i = a; i < b; i++) {
        if (!U->v[i].n)
            continue;
        n += U->v[i].n + (!first && U->v[i].space_before);
        first = 0;
    }
    return n;
}

static int natural_pause(const kk_g2p *g, const units *U, size_t a, size_t b)
{
    for (size_t i = b; i-- > a;) {
        const unit *u = &U->v[i];
        if (u->kind == KK_ITEM_PUNCT && u->closing)
            continue;
        if (u->kind != KK_ITEM_PUNCT || u->brk == KK_BRK_NONE)
            return g->p.pause_word_ms;
        return u->brk == KK_BRK_SENTENCE ? g->p.pause_sentence_ms
               : u->brk == KK_BRK_CLAUSE ? g->p.pause_clause_ms
                                         : g->p.pause_comma_ms;
    }
    return g->p.pause_word_ms;
}

/* Emits units [a, b) as one chunk (nothing when they make no ids). */
static kk_status emit(chunker *ck, const units *U, size_t a, size_t b, int pause)
{
    if (count_tokens(U, a, b) == 0)
        return KK_OK;
    kk_status st = begin(ck, U->v[a].start);
    int first = 1;
    for (size_t i = a; i < b && st == KK_OK; i++) {
        const unit *u = &U->v[i];
        if (!u->n)
            continue;
        if (!first && u->space_before) {
            int64_t sp = ck->g->space_id;
            st = put_ids(ck, &sp, 1);
        }
        if (st == KK_OK)
            st = put_ids(ck, u->ids, u->n);
        if (st == KK_OK && (u->kind == KK_ITEM_WORD || u->kind == KK_ITEM_OVERRIDE))
            st = put_word(ck, u->start, u->end, u->n, u->emphasis);
        if (first)
            ck->c.text_start = u->start;
        ck->c.text_end = u->end;
        first = 0;
    }
    ck->c.pause_after_ms = pause;
    return st;
}

static kk_status add_pause(chunker *ck, const unit *u, int ms)
{
    if (!ck->pending) {
        kk_status st = begin(ck, u->start);
        if (st != KK_OK)
            return st;
        ck->c.text_end = u->end;
        ck->c.pause_after_ms = 0;
        ck->explicit_pause = 1;
    }
    if (!ck->explicit_pause) {
        ck->c.pause_after_ms = 0;
        ck->explicit_pause = 1;
    }
    ck->c.pause_after_ms += ms;
    return KK_OK;
}

/* A unit longer than a chunk: cut it into pieces (at spaces when it has
 * some), with a warning. */
static kk_status emit_long_unit(chunker *ck, const unit *u, int max)
{
    kk_g2p *g = ck->g;
    warn(g, KK_G2P_WARN_SPLIT, u->start, NULL, 0, NULL, 0,
         "g2p: the text at byte %zu makes %zu phoneme tokens without a word boundary, more than a chunk "
         "holds (%d); it is cut, which may sound abrupt (add punctuation or spaces)",
         u->start, u->n, max);
    size_t i = 0;
    while (i < u->n) {
        size_t end = i + (size_t)max < u->n ? i + (size_t)max : u->n;
        if (end < u->n) {
            size_t k = end;
            while (k > i + 1 && u->ids[k] != g->space_id)
                k--;
            if (k > i + 1)
                end = k;
        }
        kk_status st = begin(ck, u->start);
        if (st == KK_OK)
            st = put_ids(ck, u->ids + i, end - i);
        if (st == KK_OK && (u->kind == KK_ITEM_WORD || u->kind == KK_ITEM_OVERRIDE))
            st = put_word(ck, u->start, u->end, end - i, u->emphasis);
        if (st != KK_OK)
            return st;
        ck->c.text_end = u->end;
        ck->c.pause_after_ms = g->p.pause_word_ms;
        i = end;
        while (i < u->n && u->ids[i] == g->space_id)
            i++;
    }
    return KK_OK;
}

/* emit, counting the speech chunks (*n) and keeping the first one's size */
static kk_status emit_counted(chunker *ck, const units *U, size_t a, size_t b, int pause, size_t *n, size_t *first)
{
    size_t ids = count_tokens(U, a, b);
    if (ids && (*n)++ == 0)
        *first = ids;
    return emit(ck, U, a, b, pause);
}

/* The end (exclusive) of the sentence that starts at unit i: past its
 * sentence mark and the closing marks after it, or at a pause, a paragraph
 * break or the end of the text. */
static size_t sentence_end(const units *U, size_t i)
{
    for (size_t j = i; j < U->n; j++) {
        const unit *u = &U->v[j];
        if (u->kind == KK_ITEM_PAUSE || u->kind == KK_ITEM_PARA)
            return j;
        if (u->kind == KK_ITEM_PUNCT && u->brk == KK_BRK_SENTENCE) {
            j++;
            while (j < U->n && U->v[j].kind == KK_ITEM_PUNCT && !U->v[j].space_before &&
                   (U->v[j].closing || U->v[j].brk == KK_BRK_SENTENCE))
                j++;
            return j;
        }
    }
    return U->n;
}

/* Streaming chunks (kk_g2p_params.stream_chunks): at the end of a sentence,
 * with units [cs, i) in the chunk so far (count ids), chunk k (0-based,
 * speech chunks only) is closed when it is the first one, or when the next
 * sentence would take it past its target (twice the first chunk's size,
 * doubling per chunk, at most KK_G2P_STREAM_TARGET), unless it is still
 * short (under 70 % of the target, at most KK_G2P_STREAM_MIN) and the next
 * sentence fits within KK_G2P_STREAM_MAX. */
static int stream_close(const units *U, size_t cs, size_t i, size_t count, size_t k, size_t first, size_t max)
{
    if (k == 0)
        return 1;
    size_t target = first < 50 ? 50 : first; /* a one-word first chunk does not hold the ramp back */
    for (size_t n = 0; n < k && target < KK_G2P_STREAM_TARGET; n++)
        target *= 2;
    if (target > KK_G2P_STREAM_TARGET)
        target = KK_G2P_STREAM_TARGET;
    size_t lo = target * 7 / 10 < KK_G2P_STREAM_MIN ? target * 7 / 10 : KK_G2P_STREAM_MIN;
    size_t hi = KK_G2P_STREAM_MAX < max ? KK_G2P_STREAM_MAX : max;
    size_t with = count_tokens(U, cs, sentence_end(U, i));
    if (with <= target)
        return 0;
    return !(count < lo && with <= hi);
}

static kk_status chunk_units(kk_g2p *g, const units *U, chunker *ck)
{
    const size_t hard_max = (size_t)g->p.max_tokens;
    /* first_short: the first chunk is cut short (stream_chunks, also with
     * chunk_per_sentence); stream: the ramp after it (stream_chunks alone) */
    const int first_short = g->p.stream_chunks;
    const int stream = first_short && !g->p.chunk_per_sentence;
    size_t cs = 0, count = 0;
    size_t n_speech = 0, first = 0; /* speech chunks emitted; the first one's ids */
    int soft_done = 0; /* the first chunk's cut at a mark within KK_G2P_STREAM_FIRST_SOFT was looked for */
    kk_status st = KK_OK;
    for (size_t i = 0; i < U->n && st == KK_OK; i++) {
        const unit *u = &U->v[i];
        /* the first streaming chunk is cut short when its sentence is long */
        size_t max =
            first_short && n_speech == 0 && hard_max > KK_G2P_STREAM_FIRST_MAX ? KK_G2P_STREAM_FIRST_MAX : hard_max;
        if (u->kind == KK_ITEM_PAUSE || u->kind == KK_ITEM_PARA) {
            st = emit_counted(ck, U, cs, i, natural_pause(g, U, cs, i), &n_speech, &first);
            if (st == KK_OK && u->kind == KK_ITEM_PAUSE)
                st = add_pause(ck, u, u->pause_ms);
            else if (st == KK_OK && ck->pending && !ck->explicit_pause &&
                     ck->c.pause_after_ms < g->p.pause_paragraph_ms)
                ck->c.pause_after_ms = g->p.pause_paragraph_ms;
            cs = i + 1;
            count = 0;
            continue;
        }
        if (!u->n)
            continue;
        if ((g->p.chunk_per_sentence || stream) && count > 0) {
            /* the last unit with ids, is it a sentence end? */
            size_t k = i;
            while (k-- > cs && (!U->v[k].n || (U->v[k].kind == KK_ITEM_PUNCT && U->v[k].closing)))
                ;
            int ends = k + 1 > cs && k < i && U->v[k].kind == KK_ITEM_PUNCT && U->v[k].brk == KK_BRK_SENTENCE;
            int attached = u->kind == KK_ITEM_PUNCT && (u->closing || u->brk == KK_BRK_SENTENCE);
            if (ends && !attached && (!stream || stream_close(U, cs, i, count, n_speech, first, hard_max))) {
                st = emit_counted(ck, U, cs, i, natural_pause(g, U, cs, i), &n_speech, &first);
                cs = i;
                count = 0;
            }
        }
        size_t add = u->n + (count > 0 && u->space_before);
        if (first_short && n_speech == 0 && !soft_done && count + add > KK_G2P_STREAM_FIRST_SOFT &&
            count + add <= max) {
            /* The first sentence is long: it ends at its last clause mark or
             * comma within the soft size, when it has one (a mark, never
             * between two words: that is only for the hard size below). */
            soft_done = 1;
            size_t z = i;
            for (size_t k = i; k-- > cs + 1;) {
                const unit *p = &U->v[k];
                if (p->kind != KK_ITEM_PUNCT || (p->brk != KK_BRK_CLAUSE && p->brk != KK_BRK_COMMA))
                    continue;
                size_t zz = k + 1;
                while (zz < i && U->v[zz].kind == KK_ITEM_PUNCT && U->v[zz].closing)
                    zz++;
                if (count_tokens(U, cs, zz) <= KK_G2P_STREAM_FIRST_SOFT) {
                    z = zz;
                    break;
                }
            }
            if (z < i) {
                st = emit_counted(ck, U, cs, z, natural_pause(g, U, cs, z), &n_speech, &first);
                cs = z;
                count = count_tokens(U, cs, i);
                add = u->n + (count > 0 && u->space_before);
                max = hard_max;
                if (st != KK_OK)
                    break;
            }
        }
        if (count + add > max) {
            /* waterfall: last sentence end, else clause mark, else comma/dash,
             * such that the rest fits with this unit; else before this unit */
            size_t z = i;
            static const int levels[] = {KK_BRK_SENTENCE, KK_BRK_CLAUSE, KK_BRK_COMMA};
            for (size_t l = 0; l < 3 && z == i; l++) {
                for (size_t k = i; k-- > cs + 1;) {
                    const unit *p = &U->v[k];
                    if (p->kind != KK_ITEM_PUNCT || p->brk != levels[l])
                        continue;
                    size_t zz = k + 1;
                    while (zz < i && U->v[zz].kind == KK_ITEM_PUNCT && U->v[zz].closing)
                        zz++;
                    if (zz < i && count_tokens(U, zz, i + 1) <= max)
                        z = zz;
                    break;
                }
            }
            if (z == i && u->kind == KK_ITEM_PUNCT && !u->space_before) {
                /* do not start a chunk with a mark that belongs to the word
                 * before it */
                size_t k = i;
                while (k > cs + 1 && U->v[k].kind == KK_ITEM_PUNCT && !U->v[k].space_before)
                    k--;
                if (k > cs && count_tokens(U, k, i + 1) <= max)
                    z = k;
            }
            st = emit_counted(ck, U, cs, z, natural_pause(g, U, cs, z), &n_speech, &first);
            cs = z;
            count = count_tokens(U, cs, i);
            add = u->n + (count > 0 && u->space_before);
            /* (a unit longer than the short first chunk is not cut for it) */
            if (st == KK_OK && count == 0 && add > hard_max) {
                n_speech++;
                st = emit_long_unit(ck, u, (int)hard_max);
                cs = i + 1;
                continue;
            }
        }
        count += add;
    }
    if (st == KK_OK)
        st = emit_counted(ck, U, cs, U->n, 0, &n_speech, &first);
    if (st == KK_OK)
        st = deliver(ck);
    return st;
}

kk_status kk_g2p_run(kk_g2p *g, const char *text, const char *lang, kk_g2p_chunk_fn fn, void *user,
                     kk_error *err)
{
    kk_error_clear(err);
    if (!g || !text || !fn)
        return kk_error_set(err, KK_ERR_ARG, "g2p: kk_g2p_run needs a context, text and a chunk callback");
    const lang_info *L = find_lang(lang, err);
    if (!L)
        return err ? err->code : KK_ERR_ARG;
    kk_norm norm = {0};
    kk_status st = KK_OK;
    if (g->p.normalize && L->style != KK_IPA_OTHER) {
        st = kk_normalize(text, L->name, &norm, err);
        if (st != KK_OK)
            return st;
        g->norm = &norm;
        text = norm.text;
    }
    g->text = text;
    g->mapped = 0;
    kk_items items = {0};
    units U = {0};
    chunker ck = {.g = g, .fn = fn, .user = user, .err = err};
    st = kk_markup_parse(text, &items, markup_warn, g, err);
    if (st == KK_OK)
        st = build_units(g, L, &items, &U, err);
    if (st == KK_OK && g->norm) {
        for (size_t i = 0; i < U.n; i++) {
            U.v[i].start = kk_norm_source_pos(g->norm, U.v[i].start, 0);
            U.v[i].end = kk_norm_source_pos(g->norm, U.v[i].end, 1);
        }
        g->mapped = 1;
    }
    if (st == KK_OK)
        st = chunk_units(g, &U, &ck);
    kk_items_free(&items);
    units_free(&U);
    free(ck.ids);
    free(ck.words);
    kk_buf_free(&ck.ph);
    kk_norm_free(&norm);
    g->text = NULL;
    g->norm = NULL;
    return st;
}
