/* helpers.c - see helpers.h. */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

const char *tmp_path(const char *name)
{
    static char buf[4096];
    const char *dir = getenv("TEST_TMPDIR");
    snprintf(buf, sizeof buf, "%s/%s", dir ? dir : "/tmp", name);
    return buf;
}

void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return s;
}

int file_exists(const char *path) { return access(path, F_OK) == 0; }
