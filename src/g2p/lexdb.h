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

#include "kk_error.h"

typedef struct kk_lexdb kk_lexdb;

/* Maps the dictionary file at path (read-only; about 4 MB, opened in a
 * millisecond or two: the whole file is checksummed). KK_ERR_NOT_FOUND when
 * there is no such file, KK_ERR_IO when it cannot be read, KK_ERR_INPUT
 * when it is not a dictionary of this version or is truncated or damaged
 * (the message says to rebuild it). *out is NULL on any error. */
kk_status kk_lexdb_open(const char *path, kk_lexdb **out, kk_error *err);

/* Opens the default dictionary: $KOKORO_LEXDB when set (and only that
 * file), else kokoro-en-us.lexdb next to the running program
 * (/proc/self/exe), else ../share/kokoro/kokoro-en-us.lexdb from it.
 * KK_ERR_NOT_FOUND when there is none (the caller goes on with espeak-ng
 * alone, saying so once); a file that is there but unusable is
 * kk_lexdb_open's error, not a silent fallback. */
kk_status kk_lexdb_open_default(kk_lexdb **out, kk_error *err);

void kk_lexdb_close(kk_lexdb *db);

/* Looks a word up: the len bytes at word (no NUL needed; ASCII letters
 * case-insensitive; apostrophes, periods and hyphens as in CMUdict:
 * "don't", "a.m.", "x-ray"). Writes up to max pronunciations
 * (NUL-terminated misaki phonemes pointing into the mapped file, valid
 * until close) to prons (may be NULL when max is 0) and returns how many
 * the word has (0: unknown), which may exceed max. One hash and a probe or
 * two: no allocation, about 10 ns. */
size_t kk_lexdb_lookup(const kk_lexdb *db, const char *word, size_t len, const char **prons,
                       size_t max);

/* Number of words in the dictionary. */
size_t kk_lexdb_size(const kk_lexdb *db);

#endif
