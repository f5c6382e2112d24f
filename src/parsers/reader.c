/*
 * reader.c - turns the bytes of a text file into UTF-8 lines.
 *
 * Accepts UTF-8 with or without a byte-order mark and UTF-16 LE/BE with one.
 * Without a mark, text whose first 64 KiB are valid UTF-8 is UTF-8; other
 * text is given to libuchardet, and what it names is converted with iconv
 * (glibc) as it streams; the caller may name the encoding instead. A byte
 * that is not valid in the encoding read is reported with its line and
 * column. Line ends may be LF, CRLF or CR. Memory is bounded: raw
 * input is read 64 KiB at a time and only the current line is kept whole (up
 * to KK_MAX_LINE_BYTES), so a file of any length streams.
 */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uchardet/uchardet.h>

#include "parsers_internal.h"

/* Undecodable UTF-16 (an unpaired surrogate, an odd final byte) is turned into
 * this byte, which is never valid UTF-8, so that the line validator reports it
 * with the right line number. */
#define BAD_BYTE 0xFF

void kk_reader_init_file(kk_reader *r, const char *name, FILE *fp)
{
    memset(r, 0, sizeof *r);
    r->name = name;
    r->fp = fp;
}

void kk_reader_init_mem(kk_reader *r, const char *name, const void *data, size_t len)
{
    memset(r, 0, sizeof *r);
    r->name = name;
    r->mem = data;
    r->mem_len = len;
}

void kk_reader_free(kk_reader *r)
{
    if (r->cd)
        iconv_close((iconv_t)r->cd);
    r->cd = NULL;
    kk_buf_free(&r->dec);
    kk_buf_free(&r->line);
}

void kk_reader_set_encoding(kk_reader *r, const char *encoding)
{
    r->want = encoding && *encoding && strcasecmp(encoding, "auto") ? encoding : NULL;
}

/* Reads more raw bytes; returns -1 on an I/O error. Sets eof at the end. */
static int read_raw(kk_reader *r, kk_error *err)
{
    size_t room = sizeof r->raw - r->raw_len, n;
    if (r->fp) {
        n = fread(r->raw + r->raw_len, 1, room, r->fp);
        if (n < room && ferror(r->fp)) {
            kk_error_set(err, KK_ERR_IO, "%s: read error; check that the file is readable", r->name);
            return -1;
        }
        if (n < room)
            r->eof = 1;
    } else {
        n = r->mem_len - r->mem_pos;
        if (n > room)
            n = room;
        memcpy(r->raw + r->raw_len, r->mem + r->mem_pos, n);
        r->mem_pos += n;
        if (r->mem_pos == r->mem_len)
            r->eof = 1;
    }
    r->raw_len += n;
    return 0;
}

static int put_utf8(kk_buf *b, unsigned cp)
{
    char s[4];
    size_t n;
    if (cp < 0x80) {
        s[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        s[0] = (char)(0xC0 | (cp >> 6));
        s[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        s[0] = (char)(0xE0 | (cp >> 12));
        s[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        s[0] = (char)(0xF0 | (cp >> 18));
        s[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        s[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return kk_buf_append(b, s, n);
}

/* Decodes as many whole UTF-16 units from raw as possible into dec. */
static int decode_utf16(kk_reader *r)
{
    size_t i = 0;
    int be = r->enc == KK_ENC_UTF16BE;
    while (i + 2 <= r->raw_len) {
        unsigned u = be ? (unsigned)(r->raw[i] << 8 | r->raw[i + 1])
                        : (unsigned)(r->raw[i] | r->raw[i + 1] << 8);
        if (u >= 0xD800 && u < 0xDC00) {
            if (i + 4 > r->raw_len) {
                if (!r->eof)
                    break; /* wait for the low surrogate */
                if (kk_buf_putc(&r->dec, (char)BAD_BYTE))
                    return -1;
                i += 2;
                continue;
            }
            unsigned lo = be ? (unsigned)(r->raw[i + 2] << 8 | r->raw[i + 3])
                             : (unsigned)(r->raw[i + 2] | r->raw[i + 3] << 8);
            if (lo >= 0xDC00 && lo < 0xE000) {
                if (put_utf8(&r->dec, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)))
                    return -1;
                i += 4;
            } else {
                if (kk_buf_putc(&r->dec, (char)BAD_BYTE))
                    return -1;
                i += 2;
            }
        } else if (u >= 0xDC00 && u < 0xE000) {
            if (kk_buf_putc(&r->dec, (char)BAD_BYTE))
                return -1;
            i += 2;
        } else {
            if (put_utf8(&r->dec, u))
                return -1;
            i += 2;
        }
    }
    if (r->eof && i < r->raw_len) { /* an odd final byte */
        if (kk_buf_putc(&r->dec, (char)BAD_BYTE))
            return -1;
        i = r->raw_len;
    }
    memmove(r->raw, r->raw + i, r->raw_len - i);
    r->raw_len -= i;
    return 0;
}

/* Valid UTF-8 throughout, but for a sequence cut by the end of the sample
 * (when more follows). */
static size_t utf8_seq(const unsigned char *s, size_t n);

static int utf8_sample_valid(const unsigned char *s, size_t n, int more)
{
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(s + i, n - i);
        if (!k)
            return more && n - i < 4 && s[i] >= 0xC2; /* cut at the sample's end */
        i += k;
    }
    return 1;
}

/* uchardet's name for the sample, or "" when it has none. */
static void guess(const unsigned char *s, size_t n, char *out, size_t size)
{
    out[0] = '\0';
    uchardet_t u = uchardet_new();
    if (!u)
        return;
    if (uchardet_handle_data(u, (const char *)s, n) == 0) {
        uchardet_data_end(u);
        snprintf(out, size, "%s", uchardet_get_charset(u));
    }
    uchardet_delete(u);
}

/* The encoding of a sample without a byte-order mark (more: the text goes
 * on past it). Text uchardet cannot name, or calls ASCII while it is not,
 * is read as Windows-1252, which decodes every byte but five and is what
 * such files most often are. */
static void detect(const unsigned char *s, size_t n, int more, char *out, size_t size)
{
    if (utf8_sample_valid(s, n, more)) {
        snprintf(out, size, "UTF-8");
        return;
    }
    guess(s, n, out, size);
    /* ISO-8859-1 is read as its superset Windows-1252 (as browsers do):
     * the bytes 0x80..0x9F are its curly quotes, dashes and euro sign,
     * never the C1 controls Latin-1 would make of them. */
    if (!out[0] || !strcasecmp(out, "ASCII") || !strcasecmp(out, "UTF-8") || !strcasecmp(out, "ISO-8859-1"))
        snprintf(out, size, "WINDOWS-1252");
}

void kk_detect_encoding(const void *data, size_t len, char *out, size_t size)
{
    const unsigned char *s = data;
    if (len >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
        snprintf(out, size, "UTF-8");
    else if (len >= 2 && s[0] == 0xFF && s[1] == 0xFE)
        snprintf(out, size, "UTF-16LE");
    else if (len >= 2 && s[0] == 0xFE && s[1] == 0xFF)
        snprintf(out, size, "UTF-16BE");
    else
        detect(s, len < 65536 ? len : 65536, len > 65536, out, size);
}

/* Converts as much of raw as iconv can into dec. A byte the encoding does
 * not have becomes BAD_BYTE (reported by the line check with its line); a
 * sequence cut by the buffer's end waits for the rest. */
static int decode_iconv(kk_reader *r)
{
    char *in = (char *)r->raw;
    size_t left = r->raw_len;
    while (left) {
        if (kk_buf_reserve(&r->dec, left * 4 + 16))
            return -1;
        char *out = r->dec.data + r->dec.len;
        size_t room = r->dec.cap - r->dec.len - 1;
        size_t rc = iconv((iconv_t)r->cd, &in, &left, &out, &room);
        r->dec.len = (size_t)(out - r->dec.data);
        r->dec.data[r->dec.len] = '\0';
        if (rc != (size_t)-1)
            break;
        if (errno == E2BIG)
            continue;
        if (errno == EINVAL && !r->eof)
            break; /* the rest of a sequence comes with the next read */
        /* EILSEQ, or a sequence cut by the end of the file */
        if (kk_buf_putc(&r->dec, (char)BAD_BYTE))
            return -1;
        in++, left--;
    }
    memmove(r->raw, in, left);
    r->raw_len = left;
    return 0;
}

/* Moves more decoded text into r->dec. Returns -1 on error. */
static int fill(kk_reader *r, kk_error *err)
{
    if (read_raw(r, err))
        return -1;
    if (!r->started) {
        /* Look at the byte-order mark once we have 3 bytes (or all there is). */
        while (r->raw_len < 3 && !r->eof)
            if (read_raw(r, err))
                return -1;
        size_t skip = 0;
        if (r->raw_len >= 3 && r->raw[0] == 0xEF && r->raw[1] == 0xBB && r->raw[2] == 0xBF) {
            skip = 3;
        } else if (r->raw_len >= 2 && r->raw[0] == 0xFF && r->raw[1] == 0xFE) {
            r->enc = KK_ENC_UTF16LE;
            skip = 2;
        } else if (r->raw_len >= 2 && r->raw[0] == 0xFE && r->raw[1] == 0xFF) {
            r->enc = KK_ENC_UTF16BE;
            skip = 2;
        }
        memmove(r->raw, r->raw + skip, r->raw_len - skip);
        r->raw_len -= skip;
        r->started = 1;
        snprintf(r->enc_name, sizeof r->enc_name, "%s",
                 r->enc == KK_ENC_UTF16LE ? "UTF-16LE" : r->enc == KK_ENC_UTF16BE ? "UTF-16BE" : "UTF-8");
        if (!skip || r->enc == KK_ENC_UTF8) {
            if (r->want) {
                if (!skip)
                    snprintf(r->enc_name, sizeof r->enc_name, "%s", r->want);
            } else if (!skip) {
                /* Detect from as much as the buffer holds. */
                while (r->raw_len < sizeof r->raw && !r->eof)
                    if (read_raw(r, err))
                        return -1;
                detect(r->raw, r->raw_len, !r->eof, r->enc_name, sizeof r->enc_name);
            }
            if (strcasecmp(r->enc_name, "UTF-8") && strcasecmp(r->enc_name, "UTF8")) {
                iconv_t cd = iconv_open("UTF-8", r->enc_name);
                if (cd == (iconv_t)-1) {
                    kk_error_set(err, KK_ERR_ARG, "%s: unknown encoding \"%.40s\"; name one iconv knows "
                                 "(iconv -l lists them), e.g. WINDOWS-1252, ISO-8859-1, SHIFT_JIS, GB18030",
                                 r->name, r->enc_name);
                    return -1;
                }
                r->cd = (void *)cd;
                r->enc = KK_ENC_ICONV;
            }
        }
    }
    int rc;
    if (r->enc == KK_ENC_UTF8) {
        rc = kk_buf_append(&r->dec, (const char *)r->raw, r->raw_len);
        r->raw_len = 0;
    } else if (r->enc == KK_ENC_ICONV) {
        rc = decode_iconv(r);
    } else {
        rc = decode_utf16(r);
    }
    if (rc)
        kk_error_set(err, KK_ERR_NOMEM, "%s: out of memory while reading", r->name);
    return rc;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned min, cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, min = 0x80, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, min = 0x800, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))
        return 0;
    return len;
}

/* Checks one decoded line: no NUL bytes, valid UTF-8. */
static int check_text(kk_reader *r, const char *s, size_t n, long lineno, kk_error *err)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        if (u[i] == 0) {
            kk_error_set(err, KK_ERR_INPUT,
                         "%s:%ld: NUL byte at column %zu: this looks like a binary file, or UTF-16 "
                         "text without a byte-order mark; save it as UTF-8 text",
                         r->name, lineno, i + 1);
            return -1;
        }
        size_t k = utf8_seq(u + i, n - i);
        if (!k) {
            if (r->enc == KK_ENC_ICONV)
                kk_error_set(err, KK_ERR_INPUT,
                             "%s:%ld: a byte at column %zu is not valid %s text; choose the file's "
                             "encoding (kokoro parse --encoding NAME, or the studio's encoding menu)",
                             r->name, lineno, i + 1, r->enc_name);
            else if (r->enc != KK_ENC_UTF8)
                kk_error_set(err, KK_ERR_INPUT,
                             "%s:%ld: invalid UTF-16 (unpaired surrogate or odd byte count); the file "
                             "is damaged: re-export it as UTF-8",
                             r->name, lineno);
            else
                kk_error_set(err, KK_ERR_INPUT,
                             "%s:%ld: invalid UTF-8 byte 0x%02X at column %zu; the file is not UTF-8 "
                             "throughout: name its encoding (kokoro parse --encoding WINDOWS-1252, or the "
                             "studio's encoding menu)",
                             r->name, lineno, u[i], i + 1);
            return -1;
        }
        i += k;
    }
    return 0;
}

int kk_reader_getline(kk_reader *r, kk_error *err)
{
    size_t scanned = 0; /* bytes after dec_pos known to hold no line end */
    for (;;) {
        char *d = r->dec.data ? r->dec.data + r->dec_pos : NULL;
        size_t avail = r->dec.len - r->dec_pos;
        if (r->skip_lf && avail) {
            if (d[0] == '\n') {
                r->dec_pos++, d++, avail--;
            }
            r->skip_lf = 0;
        }
        size_t i = scanned;
        while (i < avail && d[i] != '\n' && d[i] != '\r')
            i++;
        if (i < avail || (r->eof && r->raw_len == 0 && avail > 0)) {
            size_t len = i;
            size_t next = i < avail ? i + 1 : avail;
            if (i < avail && d[i] == '\r') {
                if (i + 1 < avail) {
                    if (d[i + 1] == '\n')
                        next++;
                } else {
                    r->skip_lf = 1;
                }
            }
            r->lineno++;
            if (len > KK_MAX_LINE_BYTES)
                goto too_long;
            if (check_text(r, d, len, r->lineno, err))
                return -1;
            kk_buf_clear(&r->line);
            if (kk_buf_append(&r->line, d, len))
                goto nomem;
            r->dec_pos += next;
            return 1;
        }
        if (r->eof && r->raw_len == 0)
            return 0;
        if (avail > KK_MAX_LINE_BYTES) {
            r->lineno++;
            goto too_long;
        }
        scanned = avail;
        /* Compact, then decode more. */
        if (r->dec_pos) {
            memmove(r->dec.data, r->dec.data + r->dec_pos, avail);
            r->dec.len = avail;
            r->dec_pos = 0;
        }
        if (fill(r, err))
            return -1;
    }
too_long:
    kk_error_set(err, KK_ERR_INPUT,
                 "%s:%ld: line longer than %zu MiB; this is not a text or subtitle file (or needs "
                 "line breaks)",
                 r->name, r->lineno, KK_MAX_LINE_BYTES >> 20);
    return -1;
nomem:
    kk_error_set(err, KK_ERR_NOMEM, "%s:%ld: out of memory", r->name, r->lineno);
    return -1;
}

int kk_reader_slurp(kk_reader *r, kk_buf *out, size_t max, kk_error *err)
{
    kk_buf_clear(out);
    for (;;) {
        size_t avail = r->dec.len - r->dec_pos;
        if (avail) {
            if (out->len + avail > max) {
                kk_error_set(err, KK_ERR_INPUT, "%s: larger than the %zu MiB allowed for this format",
                             r->name, max >> 20);
                return -1;
            }
            if (kk_buf_append(out, r->dec.data + r->dec_pos, avail)) {
                kk_error_set(err, KK_ERR_NOMEM, "%s: out of memory", r->name);
                return -1;
            }
            kk_buf_clear(&r->dec);
            r->dec_pos = 0;
        }
        if (r->eof && r->raw_len == 0)
            break;
        if (fill(r, err))
            return -1;
    }
    /* Validate line by line so that an error names its line. */
    long lineno = 1;
    const char *s = out->data ? out->data : "";
    size_t start = 0;
    for (size_t i = 0; i <= out->len; i++) {
        if (i == out->len || s[i] == '\n') {
            if (check_text(r, s + start, i - start, lineno, err))
                return -1;
            lineno++;
            start = i + 1;
        }
    }
    return 0;
}

int kk_reader_peek(kk_reader *r, size_t want, const char **data, size_t *len, kk_error *err)
{
    while (r->dec.len - r->dec_pos < want && !(r->eof && r->raw_len == 0))
        if (fill(r, err))
            return -1;
    *data = r->dec.data ? r->dec.data + r->dec_pos : "";
    *len = r->dec.len - r->dec_pos;
    return 0;
}
