/* helpers.c - see helpers.h. */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_testutil.h"

/* The g2p needs only the model's config.json (the vocab). */
const char *model_dir(void) { return kk_test_model_dir("config.json"); }

void collect_warning(void *user, const kk_g2p_warning *w)
{
    warnings *ws = user;
    if (!ws)
        return;
    if (ws->count == 0 || !ws->symbol[0]) {
        if (w->kind == KK_G2P_WARN_UNKNOWN_SYMBOL && w->symbol) {
            snprintf(ws->symbol, sizeof ws->symbol, "%s", w->symbol);
            ws->pos = w->phoneme_pos;
        }
    }
    if (w->kind == KK_G2P_WARN_LEXICON && !ws->line)
        ws->line = w->line;
    ws->count++;
    if ((int)w->kind >= 0 && (int)w->kind < 8)
        ws->kinds[w->kind]++;
    size_t l = strlen(ws->all);
    snprintf(ws->all + l, sizeof ws->all - l, "%s\n", w->message);
}

int collect_chunk(void *user, const kk_g2p_chunk *c)
{
    chunks *cs = user;
    assert_true(cs->n < MAX_CHUNKS);
    chunk_copy *k = &cs->c[cs->n++];
    k->phonemes = strdup(c->phonemes);
    k->ids = malloc((c->n_ids + 1) * sizeof *k->ids);
    assert_non_null(k->phonemes);
    assert_non_null(k->ids);
    if (c->n_ids)
        memcpy(k->ids, c->ids, c->n_ids * sizeof *k->ids);
    k->n_ids = c->n_ids;
    k->pause_after_ms = c->pause_after_ms;
    k->text_start = c->text_start;
    k->text_end = c->text_end;
    assert_int_equal(c->index, cs->n - 1);
    return cs->stop_after && cs->n >= cs->stop_after;
}

void chunks_free(chunks *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        free(cs->c[i].phonemes);
        free(cs->c[i].ids);
    }
    cs->n = 0;
}

kk_g2p *new_g2p_params(kk_g2p_params p, warnings *w)
{
    p.warn = collect_warning;
    p.warn_user = w;
    kk_g2p *g = NULL;
    kk_error err;
    kk_status st = kk_g2p_new(model_dir(), &p, &g, &err);
    if (st != KK_OK)
        print_error("kk_g2p_new: %s\n", err.msg);
    assert_int_equal(st, KK_OK);
    return g;
}

kk_g2p *new_g2p(warnings *w) { return new_g2p_params(kk_g2p_default_params(), w); }

const char *phon(kk_g2p *g, const char *text, const char *lang)
{
    static char out[16384];
    static chunks cs;
    kk_error err;
    kk_status st = kk_g2p_run(g, text, lang, collect_chunk, &cs, &err);
    if (st != KK_OK)
        print_error("kk_g2p_run: %s\n", err.msg);
    assert_int_equal(st, KK_OK);
    out[0] = '\0';
    for (size_t i = 0; i < cs.n; i++) {
        if (i)
            strncat(out, " | ", sizeof out - strlen(out) - 1);
        strncat(out, cs.c[i].phonemes, sizeof out - strlen(out) - 1);
    }
    chunks_free(&cs);
    return out;
}

const char *tmp_path(const char *name) { return kk_test_path(name); }

void write_file(const char *path, const char *text)
{
    assert_int_equal(kk_test_write(path, text, strlen(text)), 0);
}
