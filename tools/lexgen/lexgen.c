/*
 * lexgen.c - kk-lexgen: CMUdict (the npm package cmu-pronouncing-dictionary,
 * its index.js) into the compiled pronunciation dictionary that lexdb.c maps
 * (layout in src/g2p/arpabet.h), every pronunciation converted to misaki's
 * American symbols (kk_arpabet_to_misaki).
 *
 *   kk-lexgen IN_index.js OUT.lexdb    build OUT atomically (temp + rename)
 *   kk-lexgen --dump IN_index.js       print WORD<TAB>PRON[<TAB>PRON...] lines
 *                                      (for tools/lexgen/compare_gold.py)
 *
 * index.js is a JavaScript object literal, one entry a line:
 *     "read": "R EH1 D",
 *     "read(2)": "R IY1 D",
 *     "aalborg": "AO1 L B AO0 R G # place, danish",
 * "(N)" marks an alternative pronunciation of the same word, "#" starts a
 * comment. Lines before the opening "{" and from the closing "}" on are
 * skipped; any other line that is not an entry is an error (with its line
 * number), since a format change must not quietly lose words. Alternatives
 * keep CMUdict's order, with two exceptions that follow the American reading
 * misaki (and so Kokoro's training data) uses: an alternative that differs
 * from the first only by AO for AA, where the spelling says ɔ (cost, caught,
 * coffee: kˈɔst, not kˈɑst; dollar and watch keep ɑ), and one that ends in D EY2 where the first ends in D IY0 (Monday:
 * mˈʌndˌA) go first. One that converts to the same phonemes as an earlier
 * one of its word is dropped.
 *
 * Exit status: 0, 1 on bad input or a failed write, 2 on bad usage.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arpabet.h"
#include "buf.h"
#include "kk_error.h"
#include "tmpfile.h"

/* index.js is 4.7 MB; anything far larger is not the file we expect. */
#define MAX_INPUT (256u << 20)

typedef struct {
    const char *key; /* lowercase, in the input buffer */
    uint32_t key_len;
    uint32_t first, last; /* pron list (index + 1 into gen.prons), 0: none */
    uint32_t n_prons;
    const char *arpa0; /* the first pronunciation's ARPAbet, in the input buffer */
    uint32_t arpa0_len;
} word;

typedef struct {
    uint32_t off;  /* of the NUL-terminated phonemes in gen.pool */
    uint32_t next; /* index + 1 of the word's next pron, 0: last */
} pron;

typedef struct {
    word *words;
    size_t n_words, cap_words;
    pron *prons;
    size_t n_prons, cap_prons;
    kk_buf pool;
    uint32_t *slots; /* word index + 1 while building, 0: empty */
    uint32_t n_slots;
} gen;

static void gen_free(gen *g)
{
    free(g->words);
    free(g->prons);
    kk_buf_free(&g->pool);
    free(g->slots);
}

static kk_status read_file(const char *path, char **out, size_t *len, kk_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot open CMUdict: %s (run scripts/install-deps.sh)",
                            path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            if (cap >= MAX_INPUT) {
                free(buf);
                fclose(f);
                return kk_error_set(err, KK_ERR_INPUT, "%s: larger than %u MB: not CMUdict's index.js",
                                    path, MAX_INPUT >> 20);
            }
            size_t nc = cap ? cap * 2 : (1u << 20);
            char *nb = realloc(buf, nc);
            if (!nb) {
                free(buf);
                fclose(f);
                return kk_error_set(err, KK_ERR_NOMEM, "%s: out of memory reading it", path);
            }
            buf = nb, cap = nc;
        }
        size_t k = fread(buf + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return kk_error_set(err, KK_ERR_IO, "%s: read error", path);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return KK_OK;
}

/* The word for key (creating it when new): its index, or -1 when out of
 * memory. */
static long find_word(gen *g, const char *key, uint32_t len)
{
    uint32_t mask = g->n_slots - 1;
    for (uint32_t i = kk_lexdb_hash(key, len) & mask;; i = (i + 1) & mask) {
        uint32_t s = g->slots[i];
        if (s == 0) {
            if (g->n_words == g->cap_words) {
                size_t nc = g->cap_words ? g->cap_words * 2 : 4096;
                word *nw = realloc(g->words, nc * sizeof *nw);
                if (!nw)
                    return -1;
                g->words = nw, g->cap_words = nc;
            }
            g->words[g->n_words] = (word){key, len, 0, 0, 0, NULL, 0};
            g->slots[i] = (uint32_t)++g->n_words;
            return (long)g->n_words - 1;
        }
        const word *w = &g->words[s - 1];
        if (w->key_len == len && memcmp(w->key, key, len) == 0)
            return (long)s - 1;
    }
}

/* 1 when the spelling key[0, len) has a letter group that General American
 * says with ɔ where CMUdict also allows ɑ: au, aw, augh, ough, alk, and o
 * before ss, st, ff, ft, ng, nk, lf, or one g (bog; not clogging). Chosen on
 * CMUdict's AA/AO pairs against misaki's readings: it keeps ɑ in dollar,
 * doctor, lot, top, want, watch, jogging. */
static int spelling_says_ao(const char *key, size_t len)
{
    static const char *const GROUPS[] = {"au", "aw", "alk", "oss", "ost", "off", "oft", "ong", "onk", "olf"};
    for (size_t i = 0; i + 1 < len; i++) {
        for (size_t k = 0; k < sizeof GROUPS / sizeof *GROUPS; k++) {
            size_t n = strlen(GROUPS[k]);
            if (i + n <= len && memcmp(key + i, GROUPS[k], n) == 0)
                return 1;
        }
        if (key[i] == 'o' && key[i + 1] == 'g' && (i + 2 == len || key[i + 2] != 'g'))
            return 1;
    }
    return 0;
}

/* 1 when ARPAbet b (blen bytes) is the variant preferred over a (alen) for
 * the word spelled key[0, klen): a with some AA made AO and nothing else
 * changed, where spelling_says_ao; or a's final "D IY0" made "D EY2". Stress
 * digits must match. */
static int preferred_variant(const char *key, size_t klen, const char *a, size_t alen, const char *b,
                             size_t blen)
{
    if (alen != blen || memcmp(a, b, alen) == 0)
        return 0;
    if (alen >= 5 && memcmp(a, b, alen - 5) == 0 && memcmp(a + alen - 5, "D IY0", 5) == 0 &&
        memcmp(b + blen - 5, "D EY2", 5) == 0 && (alen == 5 || a[alen - 6] == ' '))
        return 1;
    for (size_t i = 0; i < alen; i++) {
        if (a[i] == b[i])
            continue;
        /* the only difference allowed: the second letter of an AA/AO */
        if (!(i > 0 && a[i - 1] == 'A' && b[i - 1] == 'A' && (i == 1 || a[i - 2] == ' ') && a[i] == 'A' &&
              b[i] == 'O'))
            return 0;
    }
    return spelling_says_ao(key, klen);
}

/* Adds phonemes ps to word wi unless it already has them; first: put it at
 * the front of the word's list. */
static kk_status add_pron(gen *g, size_t wi, const char *ps, int first, const char *path, size_t line,
                          kk_error *err)
{
    word *w = &g->words[wi];
    for (uint32_t p = w->first; p; p = g->prons[p - 1].next)
        if (strcmp(g->pool.data + g->prons[p - 1].off, ps) == 0)
            return KK_OK;
    if (w->n_prons == 255)
        return kk_error_set(err, KK_ERR_INPUT, "%s:%zu: '%.*s' has more than 255 pronunciations",
                            path, line, (int)w->key_len, w->key);
    if (g->n_prons == g->cap_prons) {
        size_t nc = g->cap_prons ? g->cap_prons * 2 : 4096;
        pron *np = realloc(g->prons, nc * sizeof *np);
        if (!np)
            return kk_error_set(err, KK_ERR_NOMEM, "kk-lexgen: out of memory");
        g->prons = np, g->cap_prons = nc;
    }
    if (g->pool.len > UINT32_MAX / 2)
        return kk_error_set(err, KK_ERR_INPUT, "%s: too many pronunciations", path);
    uint32_t off = (uint32_t)g->pool.len;
    if (kk_buf_append(&g->pool, ps, strlen(ps) + 1) < 0)
        return kk_error_set(err, KK_ERR_NOMEM, "kk-lexgen: out of memory");
    g->prons[g->n_prons] = (pron){off, 0};
    uint32_t id = (uint32_t)++g->n_prons;
    if (first && w->first) {
        g->prons[id - 1].next = w->first;
        w->first = id;
    } else {
        if (w->last)
            g->prons[w->last - 1].next = id;
        else
            w->first = id;
        w->last = id;
    }
    w->n_prons++;
    return KK_OK;
}

/* Parses one entry line [s, e) (without the newline) and adds it. */
static kk_status parse_entry(gen *g, char *s, char *e, const char *path, size_t line, kk_error *err)
{
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        e--;
    if (e > s && e[-1] == ',')
        e--;
    /* "key": "PHONES" */
    char *k0 = s + 1, *k1 = k0;
    if (s >= e || *s != '"')
        goto bad;
    while (k1 < e && *k1 != '"' && *k1 != '\\')
        k1++;
    if (k1 >= e || *k1 != '"' || k1 == k0)
        goto bad;
    char *v0 = k1 + 1;
    if (v0 + 4 > e || v0[0] != ':' || v0[1] != ' ' || v0[2] != '"' || e[-1] != '"')
        goto bad;
    v0 += 3;
    char *v1 = e - 1;
    for (char *q = v0; q < v1; q++)
        if (*q == '"' || *q == '\\')
            goto bad;
    char *hash = memchr(v0, '#', (size_t)(v1 - v0));
    if (hash)
        v1 = hash;
    while (v1 > v0 && v1[-1] == ' ')
        v1--;
    /* An alternative: "word(2)". */
    if (k1 - k0 > 2 && k1[-1] == ')') {
        char *q = k1 - 2;
        while (q > k0 && *q >= '0' && *q <= '9')
            q--;
        if (*q == '(' && q < k1 - 2)
            k1 = q;
    }
    size_t klen = (size_t)(k1 - k0);
    if (klen == 0 || klen > 255)
        return kk_error_set(err, KK_ERR_INPUT, "%s:%zu: word of %zu bytes (1 to 255 allowed)", path,
                            line, klen);
    for (char *q = k0; q < k1; q++) {
        unsigned char c = (unsigned char)*q;
        if (c <= ' ' || c >= 0x7f)
            return kk_error_set(err, KK_ERR_INPUT,
                                "%s:%zu: word '%.*s' is not printable ASCII", path, line, (int)klen,
                                k0);
        if (c >= 'A' && c <= 'Z')
            *q = (char)(c + ('a' - 'A'));
    }
    char arpa[1024];
    if ((size_t)(v1 - v0) >= sizeof arpa)
        return kk_error_set(err, KK_ERR_INPUT, "%s:%zu: pronunciation too long", path, line);
    memcpy(arpa, v0, (size_t)(v1 - v0));
    arpa[v1 - v0] = '\0';
    char ps[KK_ARPABET_OUT_MAX];
    kk_error cerr;
    if (kk_arpabet_to_misaki(k0, klen, arpa, ps, sizeof ps, &cerr) != KK_OK)
        return kk_error_set(err, KK_ERR_INPUT, "%s:%zu: %s", path, line, cerr.msg);
    if (!ps[0])
        return kk_error_set(err, KK_ERR_INPUT, "%s:%zu: \"%s\" converts to nothing", path, line,
                            arpa);
    long wi = find_word(g, k0, (uint32_t)klen);
    if (wi < 0)
        return kk_error_set(err, KK_ERR_NOMEM, "kk-lexgen: out of memory");
    word *w = &g->words[wi];
    int first = w->arpa0 && preferred_variant(k0, klen, w->arpa0, w->arpa0_len, arpa, strlen(arpa));
    if (!w->arpa0)
        w->arpa0 = v0, w->arpa0_len = (uint32_t)(v1 - v0);
    return add_pron(g, (size_t)wi, ps, first, path, line, err);
bad:
    return kk_error_set(err, KK_ERR_INPUT,
                        "%s:%zu: not a CMUdict entry (expected \"word\": \"PH ONES\",): %.*s", path,
                        line, (int)(e - s < 60 ? e - s : 60), s);
}

static kk_status parse(gen *g, char *buf, size_t len, const char *path, kk_error *err)
{
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    /* Twice the entries at least: short probe runs in the reader. */
    g->n_slots = 1024;
    while (g->n_slots < 2 * lines) {
        if (g->n_slots >= (1u << 30))
            return kk_error_set(err, KK_ERR_INPUT, "%s: too many lines", path);
        g->n_slots *= 2;
    }
    g->slots = calloc(g->n_slots, sizeof *g->slots);
    if (!g->slots)
        return kk_error_set(err, KK_ERR_NOMEM, "kk-lexgen: out of memory");
    enum { BEFORE, INSIDE, AFTER } state = BEFORE;
    char *s = buf, *end = buf + len;
    for (size_t line = 1; s < end; line++) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        char *e = nl ? nl : end;
        char *t = s;
        while (t < e && (*t == ' ' || *t == '\t' || *t == '\r'))
            t++;
        if (state == BEFORE) {
            char *b = e;
            while (b > t && (b[-1] == ' ' || b[-1] == '\r'))
                b--;
            if (b > t && b[-1] == '{')
                state = INSIDE;
        } else if (state == INSIDE) {
            if (t < e && *t == '}')
                state = AFTER;
            else if (t < e) {
                kk_status st = parse_entry(g, s, e, path, line, err);
                if (st != KK_OK)
                    return st;
            }
        }
        s = nl ? nl + 1 : end;
    }
    if (state != AFTER)
        return kk_error_set(err, KK_ERR_INPUT, "%s: no complete object literal { ... }: not CMUdict's index.js",
                            path);
    if (g->n_words == 0)
        return kk_error_set(err, KK_ERR_INPUT, "%s: no entries", path);
    return KK_OK;
}

/* The whole file in memory: header, slots, blob. */
static kk_status build(gen *g, unsigned char **out, size_t *out_len, kk_error *err)
{
    kk_buf blob = {0};
    uint32_t *offs = malloc(g->n_words * sizeof *offs);
    if (!offs || kk_buf_putc(&blob, '\0') < 0) {
        free(offs);
        kk_buf_free(&blob);
        return kk_error_set(err, KK_ERR_NOMEM, "kk-lexgen: out of memory");
    }
    for (size_t i = 0; i < g->n_words; i++) {
        const word *w = &g->words[i];
        offs[i] = (uint32_t)blob.len;
        unsigned char hdr[2] = {(unsigned char)w->key_len, (unsigned char)w->n_prons};
        int bad = kk_buf_append(&blob, (const char *)hdr, 2) < 0 ||
                  kk_buf_append(&blob, w->key, w->key_len) < 0;
        for (uint32_t p = w->first; p && !bad; p = g->prons[p - 1].next) {
            const char *ps = g->pool.data + g->prons[p - 1].off;
            bad = kk_buf_append(&blob, ps, strlen(ps) + 1) < 0;
        }
        if (bad || blob.len > (1u << 30)) {
            free(offs);
            kk_buf_free(&blob);
            return kk_error_set(err, bad ? KK_ERR_NOMEM : KK_ERR_INPUT,
                                bad ? "kk-lexgen: out of memory" : "kk-lexgen: dictionary over 1 GB");
        }
    }
    /* The final table: the smallest power of two at least twice the words
     * (the parse table was sized by lines, before the words were known). */
    uint32_t n_slots = 1024;
    while (n_slots < 2 * g->n_words)
        n_slots *= 2;
    size_t slots_bytes = (size_t)n_slots * 4;
    size_t total = KK_LEXDB_HEADER_SIZE + slots_bytes + blob.len;
    unsigned char *f = calloc(1, total);
    if (!f) {
        free(offs);
        kk_buf_free(&blob);
        return kk_error_set(err, KK_ERR_NOMEM, "kk-lexgen: out of memory");
    }
    uint32_t *slots = (uint32_t *)(f + KK_LEXDB_HEADER_SIZE);
    for (size_t i = 0; i < g->n_words; i++) {
        const word *w = &g->words[i];
        uint32_t j = kk_lexdb_hash(w->key, w->key_len) & (n_slots - 1);
        while (slots[j])
            j = (j + 1) & (n_slots - 1);
        slots[j] = offs[i];
    }
    memcpy(f + KK_LEXDB_HEADER_SIZE + slots_bytes, blob.data, blob.len);
    kk_lexdb_header h = {
        .magic = KK_LEXDB_MAGIC,
        .version = KK_LEXDB_VERSION,
        .header_size = KK_LEXDB_HEADER_SIZE,
        .byte_order = KK_LEXDB_BYTE_ORDER,
        .n_words = (uint32_t)g->n_words,
        .n_prons = (uint32_t)g->n_prons,
        .n_slots = n_slots,
        .slots_off = KK_LEXDB_HEADER_SIZE,
        .blob_off = (uint32_t)(KK_LEXDB_HEADER_SIZE + slots_bytes),
        .blob_size = (uint32_t)blob.len,
        .file_size = total,
    };
    h.checksum = kk_lexdb_checksum(f + KK_LEXDB_HEADER_SIZE, total - KK_LEXDB_HEADER_SIZE);
    memcpy(f, &h, sizeof h);
    free(offs);
    kk_buf_free(&blob);
    *out = f;
    *out_len = total;
    return KK_OK;
}

static kk_status write_atomic(const char *path, const unsigned char *data, size_t n, kk_error *err)
{
    char *tmp = NULL;
    int fd = kk_tmpfile_create(path, &tmp);
    if (fd < 0)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot create the dictionary: %s", path,
                            strerror(errno));
    if (kk_write_all(fd, data, n) < 0 || close(fd) < 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return kk_error_set(err, KK_ERR_IO, "%s: cannot write the dictionary: %s", path, strerror(e));
    }
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return kk_error_set(err, KK_ERR_IO, "%s: cannot write the dictionary: %s", path, strerror(e));
    }
    free(tmp);
    return KK_OK;
}

static int dump(const gen *g)
{
    for (size_t i = 0; i < g->n_words; i++) {
        const word *w = &g->words[i];
        fwrite(w->key, 1, w->key_len, stdout);
        for (uint32_t p = w->first; p; p = g->prons[p - 1].next)
            printf("\t%s", g->pool.data + g->prons[p - 1].off);
        putchar('\n');
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    int dump_mode = argc == 3 && strcmp(argv[1], "--dump") == 0;
    if (argc != 3 || (!dump_mode && argv[1][0] == '-')) {
        fprintf(stderr, "usage: kk-lexgen IN_index.js OUT.lexdb\n"
                        "       kk-lexgen --dump IN_index.js\n");
        return 2;
    }
    const char *in = dump_mode ? argv[2] : argv[1];
    kk_error err;
    char *buf = NULL;
    size_t len = 0;
    gen g = {0};
    kk_status st = read_file(in, &buf, &len, &err);
    if (st == KK_OK)
        st = parse(&g, buf, len, in, &err);
    int rc = 1;
    if (st == KK_OK && dump_mode) {
        rc = dump(&g);
    } else if (st == KK_OK) {
        unsigned char *file = NULL;
        size_t n = 0;
        st = build(&g, &file, &n, &err);
        if (st == KK_OK)
            st = write_atomic(argv[2], file, n, &err);
        free(file);
        if (st == KK_OK) {
            rc = 0;
            printf("kk-lexgen: %s: %zu words, %zu pronunciations, %zu bytes\n", argv[2], g.n_words,
                   g.n_prons, n);
        }
    }
    if (st != KK_OK)
        fprintf(stderr, "kk-lexgen: %s\n", err.msg);
    gen_free(&g);
    free(buf);
    return rc;
}
