/* helpers.h - shared by the parser tests: parse a string, capture warnings. */
#ifndef KK_TEST_HELPERS_H
#define KK_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "subtitles.h"

typedef struct {
    int count;
    long first_line;
    char all[4096]; /* every warning, "LINE: MSG\n" */
} warnings;

/* Parses text (length strlen) named name; fmt may be AUTO. Returns the doc
 * or NULL with *st and err filled. */
kk_doc *parse_str(const char *name, const char *text, kk_format fmt, int strict, warnings *w,
                  kk_status *st, kk_error *err);
kk_doc *parse_bytes(const char *name, const void *data, size_t len, kk_format fmt, int strict,
                    warnings *w, kk_status *st, kk_error *err);
/* Parses and asserts success. */
kk_doc *parse_ok(const char *name, const char *text, kk_format fmt, warnings *w);
/* A path for a scratch file in the test's temporary directory
 * (kk_test_path: 8 rotating buffers), and that directory. */
const char *tmp_path(const char *name);
const char *tmp_dir(void);
/* Writes a file (fails the test when it cannot); reads one whole
 * (malloc'd, NUL-terminated; NULL when it cannot be read). */
void write_file(const char *path, const void *data, size_t len);
char *read_file(const char *path, size_t *len);
int file_exists(const char *path);

#endif
