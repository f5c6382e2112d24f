/*
 * g2p.h - text to Kokoro phoneme tokens (grapheme-to-phoneme).
 *
 * Turns plain text into chunks of Kokoro-82M input ids, the way the model was
 * trained (misaki's conventions):
 *
 *   - espeak-ng (the library) turns each run of words into IPA; the IPA is
 *     mapped onto misaki's symbols (diphthongs as single letters A I O W Y,
 *     British Q; dʒ -> ʤ, tʃ -> ʧ; American flap written T as in Kokoro v1.0;
 *     American length marks dropped, British kept; stress marks kept).
 *   - Punctuation that the model knows (; : , . ! ? — … " ( ) “ ”) is kept as
 *     tokens, spaced as in the source text.
 *   - Markup: [word](/phonemes/) overrides a word's pronunciation,
 *     [pause:500ms] or [pause:1.5s] inserts silence, [word](+) or *word*
 *     (kk_emphasis.h) marks a stressed word: read on its own, with a
 *     primary stress (a function word in its strong form), its chunk word
 *     flagged emphasis (src/tts lengthens it). Anything else is spoken as
 *     written; markup that looks meant but is broken gets a warning.
 *   - English text is normalised first (normalize.h: numbers, money, dates,
 *     times, units, abbreviations, URLs become words), then each word is
 *     read, in this order, from: markup, the user lexicon, the homograph
 *     rules (homograph.h), the function words whose reading depends on the
 *     next word (the, a, an, to, in, I), the pronunciation dictionary
 *     (lexdb.h: CMUdict in misaki's symbols, American English only), and
 *     espeak-ng for the rest. Word spans always point at the source text: a
 *     normalised "$49.99" is one word of the chunk covering the whole token.
 *   - A user lexicon (word<TAB>phonemes lines) overrides words too.
 *   - The result is cut into chunks of at most max_tokens (510) ids: at
 *     paragraph breaks (blank lines) and pauses always, then, when a chunk
 *     would be too long, at the last sentence end, else the last clause mark,
 *     else the last word boundary. Each chunk says how long a pause should
 *     follow it. For streaming, chunks can instead be sized for a first
 *     chunk at once (the first sentence) and grouped sentences after it
 *     (kk_g2p_params.stream_chunks).
 *
 * Symbols that are not in the model's vocabulary are never silently dropped:
 * each one is reported through the warning callback (and left out of the
 * ids), or fails the call in strict mode.
 *
 * Threads: a kk_g2p context may be used by one thread at a time; different
 * contexts may run in parallel. espeak-ng itself keeps global state and is
 * not thread-safe, so every call into it goes through one process-wide mutex
 * (calls from different contexts are serialised there). espeak-ng is
 * initialised once per process and never terminated (it has no way to be
 * re-initialised safely), so its memory lives until exit.
 *
 * Layer: src/g2p may call src/common (and espeak-ng, cJSON); src/tts, the
 * server (voice support), the CLI and the tools call it.
 */
#ifndef KK_G2P_H
#define KK_G2P_H

#include <stddef.h>
#include <stdint.h>

#include "kk_error.h"
#include "lexdb.h"
#include "normalize.h"

/* The longest chunk Kokoro-82M accepts (the model adds a pad id 0 at both
 * ends, 512 in all). */
#define KK_G2P_MAX_TOKENS 510

typedef struct kk_g2p kk_g2p;

/* The sizes of streaming chunks (kk_g2p_params.stream_chunks), in ids. */
#define KK_G2P_STREAM_FIRST_MAX 100
/* A first sentence longer than this ends its chunk at its last clause mark
 * or comma within it, when it has one (a short first chunk: a short time to
 * first audio); about 3 s of speech. */
#define KK_G2P_STREAM_FIRST_SOFT 40
#define KK_G2P_STREAM_MIN 175
#define KK_G2P_STREAM_TARGET 250
#define KK_G2P_STREAM_MAX 450

typedef enum kk_g2p_warning_kind {
    KK_G2P_WARN_UNKNOWN_SYMBOL, /* a phoneme symbol not in the model's vocab */
    KK_G2P_WARN_MARKUP,         /* broken markup, spoken as written */
    KK_G2P_WARN_LEXICON,        /* a bad lexicon line, skipped */
    KK_G2P_WARN_SPLIT,          /* a word longer than a chunk had to be cut */
    KK_G2P_WARN_NO_PHONEMES,    /* espeak-ng gave nothing for some words */
    KK_G2P_WARN_NO_DICTIONARY,  /* no pronunciation dictionary: espeak-ng alone */
} kk_g2p_warning_kind;

typedef struct kk_g2p_warning {
    kk_g2p_warning_kind kind;
    const char *message;  /* complete sentence: what, where, what to do */
    const char *symbol;   /* UNKNOWN_SYMBOL: the symbol (UTF-8); else NULL */
    size_t phoneme_pos;   /* UNKNOWN_SYMBOL: symbol index in its phoneme string */
    size_t text_offset;   /* byte offset in the input text (0 for lexicon) */
    const char *file;     /* LEXICON: the lexicon file; else NULL */
    size_t line;          /* LEXICON: 1-based line; else 0 */
} kk_g2p_warning;

typedef void (*kk_g2p_warn_fn)(void *user, const kk_g2p_warning *w);

typedef struct kk_g2p_params {
    /* Called for each warning (never from another thread); NULL: ignored. */
    kk_g2p_warn_fn warn;
    void *warn_user;
    /* Unknown symbols and bad lexicon lines fail the call (KK_ERR_INPUT)
     * instead of being reported and skipped. Broken markup still only
     * warns. */
    int strict;
    /* Upper bound on ids per chunk, 1..KK_G2P_MAX_TOKENS. */
    int max_tokens;
    /* One chunk per sentence even when more would fit (lower latency for
     * streaming); by default sentences are packed up to max_tokens. */
    int chunk_per_sentence;
    /* Chunks for streaming (first audio at once, prosody after): the first
     * chunk is the first sentence alone, cut at its last clause mark or
     * comma within KK_G2P_STREAM_FIRST_SOFT ids when it is longer than that
     * and has one, else (past KK_G2P_STREAM_FIRST_MAX ids) as a long
     * sentence is cut, within KK_G2P_STREAM_FIRST_MAX; each later chunk
     * takes whole sentences while it stays within a target that starts at
     * twice the first chunk's size and doubles per chunk up to
     * KK_G2P_STREAM_TARGET, or, while it holds fewer than
     * KK_G2P_STREAM_MIN, up to KK_G2P_STREAM_MAX (Kokoro-FastAPI's
     * 175-250-450). The ramp lets a chunk be made while the one before it
     * plays when synthesis is at least twice as fast as real time. A
     * sentence longer than max_tokens is cut as always. 0 (the default):
     * sentences packed up to max_tokens. With chunk_per_sentence too, the
     * first chunk is cut short so and every later one is one sentence (no
     * ramp: the server's speech API, whose requests take turns a chunk at a
     * time). */
    int stream_chunks;
    /* Silence after a chunk, by what ends it (milliseconds). */
    int pause_paragraph_ms; /* a blank line in the text */
    int pause_sentence_ms;  /* . ! ? … */
    int pause_clause_ms;    /* ; : */
    int pause_comma_ms;     /* , — */
    int pause_word_ms;      /* cut between words (no punctuation) */
    /* English: write the flap as T and the glottal stop as t, as misaki
     * does for Kokoro v1.0 (default 1). 0 keeps espeak's ɾ and ʔ (misaki's
     * convention for its version 2.0 models). */
    int flap_as_T;
    /* A lexicon file loaded by kk_g2p_new; NULL: none. */
    const char *lexicon_path;
    /* The pronunciation dictionary for American English, borrowed (it must
     * outlive the context; share one among contexts: it is read-only). NULL:
     * kk_g2p_new opens the default one (kk_lexdb_open_default) for itself,
     * unless no_dictionary is set; when there is none, espeak-ng reads every
     * word and one KK_G2P_WARN_NO_DICTIONARY warning says so. */
    const kk_lexdb *dictionary;
    int no_dictionary;
    /* Read English numbers, money, dates, abbreviations... as words first
     * (normalize.h); default 1. */
    int normalize;
} kk_g2p_params;

kk_g2p_params kk_g2p_default_params(void);

/* A word of a chunk: its source text and the ids it became (a run of
 * words that espeak-ng reads as one, such as "of the", is one entry). */
typedef struct kk_g2p_word {
    size_t text_start, text_end; /* byte offsets into the input text (the word's own, markup left out) */
    size_t first_id, n_ids;      /* ids[first_id .. first_id + n_ids) */
    int emphasis;                /* marked stressed ([word](+), *word*): its phonemes carry a ˈ */
} kk_g2p_word;

/* One chunk of model input. Pointers are valid during the callback only. */
typedef struct kk_g2p_chunk {
    const char *phonemes;  /* UTF-8, one vocab symbol per id */
    const int64_t *ids;    /* vocab ids, without the pad 0 the model adds */
    size_t n_ids;          /* 0 for a chunk that is only a pause */
    int pause_after_ms;    /* silence to insert after this chunk */
    size_t text_start;     /* source span: byte offsets into the input text */
    size_t text_end;
    size_t index;          /* 0, 1, 2, ... */
    const kk_g2p_word *words; /* the words in order (punctuation excluded) */
    size_t n_words;
} kk_g2p_chunk;

/* Return nonzero to stop; kk_g2p_run then returns KK_ERR_ABORTED. */
typedef int (*kk_g2p_chunk_fn)(void *user, const kk_g2p_chunk *chunk);

/* Creates a context. model_path is the model directory (holding
 * config.json) or the path of a config.json / vocab JSON file itself.
 * params may be NULL for the defaults. */
kk_status kk_g2p_new(const char *model_path, const kk_g2p_params *params,
                     kk_g2p **out, kk_error *err);
void kk_g2p_free(kk_g2p *g);

/* Changes the warning callback and strict mode between runs, so that one
 * context (its vocab and dictionary loaded once) can serve callers with
 * different callbacks. A lexicon already loaded is kept. */
void kk_g2p_set_warnings(kk_g2p *g, kk_g2p_warn_fn warn, void *user, int strict);
/* Sets params.chunk_per_sentence for the next runs (a pooled context
 * serves callers that want either). */
void kk_g2p_set_chunk_per_sentence(kk_g2p *g, int on);

/* Sets kk_g2p_params.stream_chunks between runs (a pooled context serves
 * callers that stream and callers that do not). */
void kk_g2p_set_stream_chunks(kk_g2p *g, int on);

/* Adds a lexicon file's entries (later entries win). One entry per line:
 * word<TAB>phonemes (misaki symbols, checked against the vocab); blank lines
 * and lines starting with # are ignored; lookup is case-insensitive (ASCII
 * letters). Bad lines are reported with file:line (warning, or error in
 * strict mode). */
kk_status kk_g2p_load_lexicon(kk_g2p *g, const char *path, kk_error *err);

/* Adds one lexicon entry. */
kk_status kk_g2p_add_word(kk_g2p *g, const char *word, const char *phonemes,
                          kk_error *err);

/* Phonemizes text (UTF-8) in language lang ("en-us", "en-gb", "es",
 * "fr-fr", "hi", "it", "pt-br"; NULL: "en-us") and calls fn for each chunk in
 * order. "ja" and "zh" are KK_ERR_UNSUPPORTED: espeak-ng cannot read kanji or
 * hanzi well enough. */
kk_status kk_g2p_run(kk_g2p *g, const char *text, const char *lang,
                     kk_g2p_chunk_fn fn, void *user, kk_error *err);

/* Converts a phoneme string to vocab ids (one per symbol, no pads). Unknown
 * symbols are reported (warning) and left out, or fail in strict mode.
 * *n_out receives the number of ids written; ids may be NULL to count. */
kk_status kk_g2p_tokenize(kk_g2p *g, const char *phonemes, int64_t *ids,
                          size_t cap, size_t *n_out, kk_error *err);

/* The id of one symbol (UTF-8), or -1 when it is not in the vocab. */
int kk_g2p_symbol_id(const kk_g2p *g, const char *symbol);

/* Number of symbols in the loaded vocab. */
size_t kk_g2p_vocab_size(const kk_g2p *g);

/* The default language of a voice from its prefix: "af_heart" -> "en-us",
 * "bf_emma" -> "en-gb", e -> "es", f -> "fr-fr", h -> "hi", i -> "it",
 * p -> "pt-br", j -> "ja", z -> "zh". NULL for an unknown prefix. The same
 * map as kk_voice_lang (src/common/kk_voice_lang.h), which this calls. */
const char *kk_g2p_lang_for_voice(const char *voice);

/* 1 when kk_g2p_run reads language lang (a name or an alias such as "fr";
 * NULL, the default, counts), 0 otherwise: "ja" and "zh", which
 * kk_g2p_run refuses with KK_ERR_UNSUPPORTED, and unknown names. Lets a
 * voice list mark the voices that cannot speak text (jf_*, zf_*) before
 * anyone tries. */
int kk_g2p_lang_supported(const char *lang);

/* Why a voice cannot speak text, as a sentence for people ("Japanese
 * voices are not supported: ..."), or NULL when its language is one
 * kk_g2p_run reads (or the voice's prefix names none). The one wording
 * that `kokoro voices`, `kokoro say` and the studio's voice list show. */
const char *kk_g2p_voice_unsupported(const char *voice);

#endif
