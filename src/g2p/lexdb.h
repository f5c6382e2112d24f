/*
 * lexdb.h - the pronunciation dictionary: a compact, memory-mapped file of
 * English words and their phonemes in misaki's symbols (American, with
 * stress), built once from CMUdict by kk-lexgen (tools/lexgen) and consulted
 * before espeak-ng.
 *
 * The file is made at build time from the npm package
 * cmu-pronouncing-dictionary (installed by scripts/install-deps.sh); it is
 * never committed. A word may have several pronunciations, in CMUdict's
 * order (the first is the usual one); homograph rules (homograph.h) choose
 * among readings by context.
 *
 * Threads: a kk_lexdb is read-only once open; any number of threads may look
 * words up in one at the same time.
 */
#ifndef KK_LEXDB_H
#define KK_LEXDB_H

#include <stddef.h>

#include "error.h"

typedef struct kk_lexdb kk_lexdb;

/* Maps the dictionary file at path. KK_ERR_IO when it cannot be opened,
 * KK_ERR_INPUT when it is not a dictionary of this version (the message
 * says to rebuild it). */
kk_status kk_lexdb_open(const char *path, kk_lexdb **out, kk_error *err);

/* Opens the default dictionary: $KOKORO_LEXDB when set, else
 * kokoro-en-us.lexdb next to the running program, else
 * ../share/kokoro/kokoro-en-us.lexdb from it. KK_ERR_NOT_FOUND when there
 * is none (the caller goes on with espeak-ng alone, saying so once). */
kk_status kk_lexdb_open_default(kk_lexdb **out, kk_error *err);

void kk_lexdb_close(kk_lexdb *db);

/* Looks a word up (ASCII letters case-insensitive; apostrophes, periods
 * and hyphens as in CMUdict: "don't", "a.m.", "x-ray"). Writes up to max
 * pronunciations (NUL-terminated misaki phonemes, valid until close) to
 * prons and returns how many the word has (0: unknown). */
size_t kk_lexdb_lookup(const kk_lexdb *db, const char *word, size_t len, const char **prons,
                       size_t max);

/* Number of words in the dictionary. */
size_t kk_lexdb_size(const kk_lexdb *db);

#endif
