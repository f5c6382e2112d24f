/*
 * fuzz_normalize.c - the text normaliser's fuzz harness (src/g2p/normalize.h).
 * Linked with libFuzzer it is a fuzzer (fuzz_normalize); linked with
 * regress.c it replays fuzz/corpus/normalize as a regression test.
 *
 * Each input is one option byte (bit 0: British English) and the text. The
 * harness normalises it and checks what g2p relies on; a broken invariant
 * calls abort():
 *   - the spans cover the output in order, without gaps or overlaps, and
 *     their source ranges are in order and inside the source;
 *   - every source byte that is not white space lies in some span's source
 *     range (nothing is dropped);
 *   - a verbatim span's output is its source, byte for byte;
 *   - kk_norm_source_pos maps every output position inside the source;
 *   - the output is NUL-terminated at its length, with no NUL inside.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"

static int space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 16)
        return 0;
    const char *lang = data[0] & 1 ? "en-gb" : "en-us";
    size_t n = size - 1;
    char *src = malloc(n + 1);
    if (!src)
        return 0;
    memcpy(src, data + 1, n);
    src[n] = '\0';
    n = strlen(src); /* the text ends at its first NUL, as for every caller */
    kk_norm out;
    kk_error err;
    if (kk_normalize(src, lang, &out, &err) != KK_OK) {
        if (err.code != KK_ERR_NOMEM)
            abort(); /* bad or odd input is never an error */
        free(src);
        return 0;
    }
    if (strlen(out.text) != out.len)
        abort();
    unsigned char *covered = calloc(n + 1, 1);
    if (!covered)
        abort();
    size_t at = 0, src_at = 0;
    for (size_t i = 0; i < out.n_spans; i++) {
        const kk_norm_span *s = &out.spans[i];
        if (s->out_start != at || s->out_end < s->out_start || s->out_end > out.len)
            abort();
        if (s->src_start < src_at || s->src_end < s->src_start || s->src_end > n)
            abort();
        if (s->verbatim && (s->out_end - s->out_start != s->src_end - s->src_start ||
                            memcmp(out.text + s->out_start, src + s->src_start, s->src_end - s->src_start) != 0))
            abort();
        memset(covered + s->src_start, 1, s->src_end - s->src_start);
        at = s->out_end;
        src_at = s->src_start;
    }
    if (at != out.len)
        abort();
    for (size_t i = 0; i < n; i++)
        if (!covered[i] && !space((unsigned char)src[i]))
            abort();
    for (size_t p = 0; p <= out.len; p++)
        if (kk_norm_source_pos(&out, p, 0) > n || kk_norm_source_pos(&out, p, 1) > n)
            abort();
    free(covered);
    kk_norm_free(&out);
    free(src);
    return 0;
}
