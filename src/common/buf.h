/*
 * buf.h - a growable byte buffer, always NUL-terminated.
 *
 * Used wherever text is assembled piece by piece (cue text, JSON output).
 * Appends return -1 when memory runs out and leave the buffer as it was, so
 * callers can report KK_ERR_NOMEM instead of writing a truncated result.
 */
#ifndef KK_BUF_H
#define KK_BUF_H

#include <stddef.h>

typedef struct kk_buf {
    char *data; /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
} kk_buf;

int kk_buf_reserve(kk_buf *b, size_t extra);
int kk_buf_append(kk_buf *b, const char *s, size_t n);
int kk_buf_puts(kk_buf *b, const char *s);
int kk_buf_putc(kk_buf *b, char c);
int kk_buf_printf(kk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends data (n bytes) in standard base64 with '=' padding (RFC 4648). */
int kk_buf_base64(kk_buf *b, const void *data, size_t n);
void kk_buf_clear(kk_buf *b); /* length 0, memory kept */
void kk_buf_free(kk_buf *b);
/* Hands the string over to the caller (who frees it) and resets b. Never
 * returns NULL for a buffer that holds text; returns "" copy when empty. */
char *kk_buf_steal(kk_buf *b);

#endif
