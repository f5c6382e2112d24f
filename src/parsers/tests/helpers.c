/* helpers.c - see helpers.h. */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kk_testutil.h"

static void on_warn(void *user, const char *file, long line, const char *msg)
{
    warnings *w = user;
    if (w->count++ == 0)
        w->first_line = line;
    size_t n = strlen(w->all);
    snprintf(w->all + n, sizeof w->all - n, "%s:%ld: %s\n", file, line, msg);
}

kk_doc *parse_bytes(const char *name, const void *data, size_t len, kk_format fmt, int strict,
                    warnings *w, kk_status *st, kk_error *err)
{
    kk_parse_params p = kk_parse_default_params();
    p.format = fmt;
    p.strict = strict;
    if (w) {
        memset(w, 0, sizeof *w);
        p.on_warning = on_warn;
        p.warning_user = w;
    }
    kk_doc *doc = NULL;
    *st = kk_parse_memory(name, data, len, &p, &doc, err);
    return doc;
}

kk_doc *parse_str(const char *name, const char *text, kk_format fmt, int strict, warnings *w,
                  kk_status *st, kk_error *err)
{
    return parse_bytes(name, text, strlen(text), fmt, strict, w, st, err);
}

kk_doc *parse_ok(const char *name, const char *text, kk_format fmt, warnings *w)
{
    kk_status st;
    kk_error err;
    kk_doc *d = parse_str(name, text, fmt, 0, w, &st, &err);
    if (st != KK_OK)
        fprintf(stderr, "unexpected error: %s\n", err.msg);
    assert_int_equal(st, KK_OK);
    assert_non_null(d);
    return d;
}

const char *tmp_path(const char *name) { return kk_test_path(name); }

const char *tmp_dir(void) { return kk_test_tmpdir(); }

void write_file(const char *path, const void *data, size_t len)
{
    assert_int_equal(kk_test_write(path, data, len), 0);
}

char *read_file(const char *path, size_t *len) { return kk_test_read(path, len); }

int file_exists(const char *path) { return access(path, F_OK) == 0; }
