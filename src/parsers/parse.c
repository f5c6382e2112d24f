/*
 * parse.c - the parsers' front door: picks the format (explicit, by
 * extension, or by content), runs that format's parser over a decoding line
 * reader, and owns what every parser shares: warnings and strict mode,
 * segment clean-up and numbering, and collecting segments into a kk_doc.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "parsers_internal.h"

static const char *const format_names[] = {"auto", "txt", "srt", "vtt", "ass", "wscribe"};

const char *kk_format_name(kk_format f)
{
    return (unsigned)f < sizeof format_names / sizeof format_names[0] ? format_names[f] : "unknown";
}

kk_format kk_format_from_name(const char *name)
{
    if (!name)
        return KK_FORMAT_AUTO;
    for (int f = KK_FORMAT_TXT; f <= KK_FORMAT_WSCRIBE; f++)
        if (strcasecmp(name, format_names[f]) == 0)
            return (kk_format)f;
    if (strcasecmp(name, "ssa") == 0)
        return KK_FORMAT_ASS;
    if (strcasecmp(name, "json") == 0 || strcasecmp(name, "webvtt") == 0)
        return strcasecmp(name, "json") == 0 ? KK_FORMAT_WSCRIBE : KK_FORMAT_VTT;
    if (strcasecmp(name, "text") == 0)
        return KK_FORMAT_TXT;
    return KK_FORMAT_AUTO;
}

kk_format kk_format_from_path(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    return dot ? kk_format_from_name(dot + 1) : KK_FORMAT_AUTO;
}

kk_parse_params kk_parse_default_params(void)
{
    kk_parse_params p;
    memset(&p, 0, sizeof p);
    p.format = KK_FORMAT_AUTO;
    p.txt_max_chars = 300;
    p.encoding = NULL;
    p.encoding_out = NULL;
    return p;
}

/* ---- content sniffing ---- */

static const char *skip_ws(const char *s, const char *e)
{
    while (s < e && isspace((unsigned char)*s))
        s++;
    return s;
}

static int line_starts(const char *l, const char *e, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(e - l) >= n && strncasecmp(l, word, n) == 0;
}

/* Does the line [l, e) hold "clock --> clock"? */
static int is_time_line(const char *l, const char *e)
{
    char tmp[128];
    size_t n = (size_t)(e - l) < sizeof tmp - 1 ? (size_t)(e - l) : sizeof tmp - 1;
    memcpy(tmp, l, n);
    tmp[n] = '\0';
    const char *p = tmp;
    int64_t a, b;
    while (*p == ' ' || *p == '\t')
        p++;
    if (kk_parse_clock(&p, &a))
        return 0;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncmp(p, "-->", 3))
        return 0;
    p += 3;
    while (*p == ' ' || *p == '\t')
        p++;
    return kk_parse_clock(&p, &b) == 0;
}

kk_format kk_format_sniff(const char *data, size_t len, bool *confident)
{
    const char *e = data + len;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        data += 3;
    const char *s = skip_ws(data, e);
    *confident = true;
    if (line_starts(s, e, "WEBVTT") && (e - s == 6 || s[6] == ' ' || s[6] == '\t' || s[6] == '\n' || s[6] == '\r'))
        return KK_FORMAT_VTT;
    if (s < e && (*s == '[' || *s == '{')) {
        const char *t = skip_ws(s + 1, e);
        if ((*s == '[' && t < e && (*t == '{' || *t == ']')) || (*s == '{' && t < e && *t == '"'))
            return KK_FORMAT_WSCRIBE;
    }
    for (const char *l = s; l < e;) {
        const char *nl = l;
        while (nl < e && *nl != '\n' && *nl != '\r')
            nl++;
        const char *t = skip_ws(l, nl);
        if (line_starts(t, nl, "[Script Info]") || line_starts(t, nl, "[Events]") ||
            line_starts(t, nl, "[V4+ Styles]") || line_starts(t, nl, "[V4 Styles]") ||
            line_starts(t, nl, "Dialogue:"))
            return KK_FORMAT_ASS;
        if (is_time_line(t, nl))
            return KK_FORMAT_SRT;
        l = nl + 1;
    }
    *confident = false;
    return KK_FORMAT_TXT;
}

/* ---- the context ---- */

int kk_warn(kk_pctx *c, long line, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->n_warn++;
    if (c->p->strict) {
        kk_error_set(c->err, KK_ERR_INPUT, "%s:%ld: %s (strict mode: leave out --strict to skip it)",
                     c->name, line, msg);
        return -1;
    }
    if (c->p->on_warning)
        c->p->on_warning(c->p->warning_user, c->name, line, msg);
    return 0;
}

int kk_next_line(kk_pctx *c) { return kk_reader_getline(c->rd, c->err); }

/* A time past the one bound every layer shares (kk_limits.h). */
static int past_limit(int64_t ms) { return ms != KK_TIME_NONE && ms > KK_TIME_MAX_MS; }

/* Skips a segment, or drops word times, past KK_TIME_MAX_MS: such a time is
 * a typo or a hostile file, and a track sized from it would not fit in
 * memory. Returns 1 when the segment is to be skipped, 0 to keep it, -1 in
 * strict mode. Checked here, once, so that every format gets it. */
static int check_times(kk_pctx *c, kk_segment *seg)
{
    if (past_limit(seg->start_ms) || past_limit(seg->end_ms)) {
        char t[32];
        kk_format_time(past_limit(seg->end_ms) ? seg->end_ms : seg->start_ms, ',', t, sizeof t);
        return kk_warn(c, seg->line, "time %s is past the limit of %d hours; segment skipped", t,
                       KK_TIME_MAX_HOURS) ? -1 : 1;
    }
    for (size_t i = 0; i < seg->n_words; i++) {
        kk_word *w = &seg->words[i];
        if (past_limit(w->start_ms) || past_limit(w->end_ms)) {
            if (kk_warn(c, seg->line, "word \"%.40s\" has a time past the limit of %d hours; kept without "
                        "its times", w->text, KK_TIME_MAX_HOURS))
                return -1;
            w->start_ms = w->end_ms = KK_TIME_NONE;
        }
    }
    return 0;
}

int kk_emit(kk_pctx *c, kk_segment *seg)
{
    int bad = check_times(c, seg);
    if (bad)
        return bad < 0 ? -1 : 0;
    kk_fold_space(seg->text);
    if (seg->speaker) {
        kk_fold_space(seg->speaker);
        if (!*seg->speaker)
            seg->speaker = NULL;
    }
    for (size_t i = 0; i < seg->n_words; i++)
        kk_fold_space(seg->words[i].text);
    if (!*seg->text)
        return kk_warn(c, seg->line, "segment has no text to speak once markup is removed; skipped");
    seg->index = ++c->n_segs;
    if (c->on_segment && c->on_segment(c->user, seg)) {
        kk_error_set(c->err, KK_ERR_ABORTED, "%s: parsing stopped by the caller", c->name);
        return -1;
    }
    return 0;
}

/* ---- running a parse ---- */

static kk_status run(kk_reader *rd, const char *name, const kk_parse_params *params,
                     kk_segment_fn on_segment, void *user, kk_format *format_out, kk_error *err)
{
    kk_parse_params defaults = kk_parse_default_params();
    kk_error local;
    if (!params)
        params = &defaults;
    if (!err)
        err = &local; /* parsers read the code back from ctx->err */
    kk_pctx c = {.name = name, .rd = rd, .p = params, .err = err, .on_segment = on_segment, .user = user};
    kk_error_clear(err);
    kk_reader_set_encoding(rd, params->encoding);
    if (params->encoding_out) {
        /* Known once the reader has looked at the text. */
        const char *head;
        size_t n;
        if (kk_reader_peek(rd, 1, &head, &n, err))
            return err->code;
        snprintf(params->encoding_out, KK_ENCODING_NAME_MAX, "%s", rd->enc_name);
    }

    kk_format f = params->format;
    if (f == KK_FORMAT_AUTO) {
        const char *head;
        size_t n;
        if (kk_reader_peek(rd, 65536, &head, &n, err))
            return err->code;
        bool confident;
        kk_format sniffed = kk_format_sniff(head, n, &confident);
        kk_format ext = kk_format_from_path(name);
        f = ext != KK_FORMAT_AUTO ? ext : sniffed;
        /* A WebVTT file without its header has SRT-like time lines: trust
         * the .vtt name then (the VTT parser reports the missing header). */
        if (confident && sniffed != f && !(ext == KK_FORMAT_VTT && sniffed == KK_FORMAT_SRT)) {
            if (kk_warn(&c, 1, "the content looks like %s, not %s as the name says; reading it as %s",
                        kk_format_name(sniffed), kk_format_name(ext), kk_format_name(sniffed)))
                return KK_ERR_INPUT;
            f = sniffed;
        }
    }
    if (format_out)
        *format_out = f;

    kk_status st;
    switch (f) {
    case KK_FORMAT_TXT: st = kk_parse_txt(&c); break;
    case KK_FORMAT_SRT: st = kk_parse_srt(&c); break;
    case KK_FORMAT_VTT: st = kk_parse_vtt(&c); break;
    case KK_FORMAT_ASS: st = kk_parse_ass(&c); break;
    case KK_FORMAT_WSCRIBE: st = kk_parse_wscribe(&c); break;
    default: return kk_error_set(err, KK_ERR_ARG, "%s: unknown format", name);
    }
    if (st != KK_OK)
        return st;
    if (c.n_segs == 0) {
        if (c.n_warn)
            return kk_error_set(err, KK_ERR_INPUT,
                                "%s: no usable segment (read as %s; %ld problem%s reported above)", name,
                                kk_format_name(f), c.n_warn, c.n_warn == 1 ? "" : "s");
        return kk_error_set(err, KK_ERR_INPUT,
                            "%s: no usable segment (read as %s); is the file empty or in another format? "
                            "--format names the format",
                            name, kk_format_name(f));
    }
    return KK_OK;
}

kk_status kk_parse_stream(const char *path, const kk_parse_params *params, kk_segment_fn on_segment,
                          void *user, kk_format *format_out, kk_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot open: %s; check the path", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(fp);
        return kk_error_set(err, KK_ERR_IO, "%s: is a directory; name a subtitle or text file", path);
    }
    kk_reader *rd = malloc(sizeof *rd);
    if (!rd) {
        fclose(fp);
        return kk_error_set(err, KK_ERR_NOMEM, "%s: out of memory", path);
    }
    kk_reader_init_file(rd, path, fp);
    kk_status s = run(rd, path, params, on_segment, user, format_out, err);
    kk_reader_free(rd);
    free(rd);
    fclose(fp);
    return s;
}

kk_status kk_parse_memory_stream(const char *name, const void *data, size_t len,
                                 const kk_parse_params *params, kk_segment_fn on_segment, void *user,
                                 kk_format *format_out, kk_error *err)
{
    kk_reader *rd = malloc(sizeof *rd);
    if (!rd)
        return kk_error_set(err, KK_ERR_NOMEM, "%s: out of memory", name);
    kk_reader_init_mem(rd, name, data, len);
    kk_status s = run(rd, name, params, on_segment, user, format_out, err);
    kk_reader_free(rd);
    free(rd);
    return s;
}

/* ---- documents ---- */

kk_doc *kk_doc_new(kk_format format)
{
    kk_doc *d = calloc(1, sizeof *d);
    if (d)
        d->format = format;
    return d;
}

static void segment_free(kk_segment *s)
{
    free(s->text);
    free(s->speaker);
    for (size_t i = 0; i < s->n_words; i++)
        free(s->words[i].text);
    free(s->words);
}

kk_status kk_doc_add(kk_doc *doc, const kk_segment *seg)
{
    if (doc->n_segs == doc->cap) {
        size_t cap = doc->cap ? doc->cap * 2 : 64;
        kk_segment *p = realloc(doc->segs, cap * sizeof *p);
        if (!p)
            return KK_ERR_NOMEM;
        doc->segs = p;
        doc->cap = cap;
    }
    kk_segment *d = &doc->segs[doc->n_segs];
    *d = *seg;
    d->index = (int)doc->n_segs + 1;
    d->text = strdup(seg->text ? seg->text : "");
    d->speaker = seg->speaker ? strdup(seg->speaker) : NULL;
    d->words = NULL;
    d->n_words = 0;
    int bad = !d->text || (seg->speaker && !d->speaker);
    if (!bad && seg->n_words) {
        d->words = calloc(seg->n_words, sizeof *d->words);
        bad = !d->words;
        for (size_t i = 0; !bad && i < seg->n_words; i++) {
            d->words[i] = seg->words[i];
            d->words[i].text = strdup(seg->words[i].text);
            d->n_words = i + 1;
            bad = !d->words[i].text;
        }
    }
    if (bad) {
        segment_free(d);
        return KK_ERR_NOMEM;
    }
    doc->n_segs++;
    return KK_OK;
}

void kk_doc_free(kk_doc *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < doc->n_segs; i++)
        segment_free(&doc->segs[i]);
    free(doc->segs);
    free(doc);
}

static int collect(void *user, const kk_segment *seg) { return kk_doc_add(user, seg) != KK_OK; }

static kk_status finish_collect(kk_status s, kk_doc *doc, kk_format f, kk_doc **out, kk_error *err)
{
    if (s == KK_ERR_ABORTED) /* only collect() aborts: it ran out of memory */
        s = kk_error_set(err, KK_ERR_NOMEM, "out of memory while collecting segments");
    if (s != KK_OK) {
        kk_doc_free(doc);
        return s;
    }
    doc->format = f;
    *out = doc;
    return KK_OK;
}

kk_status kk_parse_file(const char *path, const kk_parse_params *params, kk_doc **out, kk_error *err)
{
    *out = NULL;
    kk_doc *doc = kk_doc_new(KK_FORMAT_AUTO);
    if (!doc)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    kk_format f = KK_FORMAT_AUTO;
    kk_status s = kk_parse_stream(path, params, collect, doc, &f, err);
    return finish_collect(s, doc, f, out, err);
}

kk_status kk_parse_memory(const char *name, const void *data, size_t len, const kk_parse_params *params,
                          kk_doc **out, kk_error *err)
{
    *out = NULL;
    kk_doc *doc = kk_doc_new(KK_FORMAT_AUTO);
    if (!doc)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    kk_format f = KK_FORMAT_AUTO;
    kk_status s = kk_parse_memory_stream(name, data, len, params, collect, doc, &f, err);
    return finish_collect(s, doc, f, out, err);
}
