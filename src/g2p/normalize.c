/*
 * normalize.c - see normalize.h. (Stub: copies the text through; the rules
 * come next.)
 */
#include <stdlib.h>
#include <string.h>

#include "normalize.h"

kk_status kk_normalize(const char *text, const char *lang, kk_norm *out, kk_error *err)
{
    (void)lang;
    if (!text || !out)
        return kk_error_set(err, KK_ERR_ARG, "normalize: kk_normalize needs text and an output");
    memset(out, 0, sizeof *out);
    size_t n = strlen(text);
    out->text = malloc(n + 1);
    out->spans = malloc(sizeof *out->spans);
    if (!out->text || !out->spans) {
        kk_norm_free(out);
        return kk_error_set(err, KK_ERR_NOMEM, "normalize: out of memory");
    }
    memcpy(out->text, text, n + 1);
    out->len = n;
    out->spans[0] = (kk_norm_span){0, n, 0, n, 1};
    out->n_spans = 1;
    return KK_OK;
}

void kk_norm_free(kk_norm *n)
{
    if (!n)
        return;
    free(n->text);
    free(n->spans);
    memset(n, 0, sizeof *n);
}

size_t kk_norm_source_pos(const kk_norm *n, size_t pos, int end)
{
    if (!n->n_spans)
        return pos;
    size_t lo = 0, hi = n->n_spans;
    while (lo + 1 < hi) { /* last span with out_start <= pos */
        size_t mid = (lo + hi) / 2;
        if (n->spans[mid].out_start <= pos)
            lo = mid;
        else
            hi = mid;
    }
    const kk_norm_span *s = &n->spans[lo];
    if (end && pos == s->out_start && lo > 0)
        s = &n->spans[lo - 1];
    if (s->verbatim)
        return s->src_start + (pos - s->out_start);
    return end ? s->src_end : s->src_start;
}
