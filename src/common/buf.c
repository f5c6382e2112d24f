/* buf.c - see buf.h. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kk_buf_reserve(kk_buf *b, size_t extra)
{
    if (extra > ((size_t)-1) / 2 - b->len)
        return -1;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return -1;
    /* A fresh buffer must read as "" too: callers reserve(0) to get a
     * string for a cue that has no text yet. */
    p[b->len] = '\0';
    b->data = p;
    b->cap = cap;
    return 0;
}

int kk_buf_append(kk_buf *b, const char *s, size_t n)
{
    if (kk_buf_reserve(b, n))
        return -1;
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int kk_buf_puts(kk_buf *b, const char *s) { return kk_buf_append(b, s, strlen(s)); }

int kk_buf_putc(kk_buf *b, char c) { return kk_buf_append(b, &c, 1); }

int kk_buf_printf(kk_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || kk_buf_reserve(b, (size_t)n))
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void kk_buf_clear(kk_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void kk_buf_free(kk_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *kk_buf_steal(kk_buf *b)
{
    char *s = b->data;
    if (!s)
        s = calloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

int kk_buf_base64(kk_buf *b, const void *data, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = data;
    if (kk_buf_reserve(b, (n + 2) / 3 * 4))
        return -1;
    char *w = b->data + b->len;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
        *w++ = abc[v >> 18], *w++ = abc[(v >> 12) & 63], *w++ = abc[(v >> 6) & 63], *w++ = abc[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0);
        *w++ = abc[v >> 18], *w++ = abc[(v >> 12) & 63];
        *w++ = i + 1 < n ? abc[(v >> 6) & 63] : '=';
        *w++ = '=';
    }
    b->len = (size_t)(w - b->data);
    *w = '\0';
    return 0;
}
