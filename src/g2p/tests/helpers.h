/* helpers.h - shared by the g2p tests: find the model, run text, collect
 * chunks and warnings. */
#ifndef KK_G2P_TEST_HELPERS_H
#define KK_G2P_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "g2p.h"

#define MAX_CHUNKS 512

typedef struct {
    char *phonemes;
    int64_t *ids;
    size_t n_ids;
    int pause_after_ms;
    size_t text_start, text_end;
} chunk_copy;

typedef struct {
    int count;
    int kinds[8];     /* per kk_g2p_warning_kind */
    char symbol[16];  /* of the first UNKNOWN_SYMBOL */
    size_t pos;       /* its phoneme_pos */
    size_t line;      /* of the first LEXICON warning */
    char all[8192];   /* every message, one per line */
} warnings;

typedef struct {
    chunk_copy c[MAX_CHUNKS];
    size_t n;
    size_t stop_after; /* 0: never stop */
} chunks;

/* The model folder (KOKORO_MODEL_DIR, else ../shared/models/kokoro-82m-v1.0
 * beside the project), or NULL when it is absent. */
const char *model_dir(void);
/* Skips the test with a message when the model is absent. */
#define NEED_MODEL()                                                                      \
    do {                                                                                  \
        if (!model_dir()) {                                                               \
            print_message("model folder not found (set KOKORO_MODEL_DIR or put it at "    \
                          "../shared/models/kokoro-82m-v1.0): test skipped\n");           \
            skip();                                                                       \
        }                                                                                 \
    } while (0)

void collect_warning(void *user, const kk_g2p_warning *w);
int collect_chunk(void *user, const kk_g2p_chunk *c);
void chunks_free(chunks *cs);

/* A context on the model with default params (warnings into w). */
kk_g2p *new_g2p(warnings *w);
kk_g2p *new_g2p_params(kk_g2p_params p, warnings *w);
/* Runs text and returns all chunk phonemes joined with " | " (static). */
const char *phon(kk_g2p *g, const char *text, const char *lang);

/* A scratch path in TEST_TMPDIR (kk_test_path: 8 rotating buffers). */
const char *tmp_path(const char *name);
/* Writes text to path; fails the test when it cannot. */
void write_file(const char *path, const char *text);

#endif
