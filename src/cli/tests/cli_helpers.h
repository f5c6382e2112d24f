/* cli_helpers.h - running the kokoro binary from tests: exit code, stdout
 * and stderr captured, scratch files in the test's directory. */
#ifndef KK_CLI_HELPERS_H
#define KK_CLI_HELPERS_H

#include <stddef.h>

typedef struct {
    int code;
    char *out, *err;
    size_t out_len;
} run_result;

/* Runs `kokoro ARGS` (a shell word list, printf-style) with optional stdin text. */
run_result run(const char *stdin_text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void done(run_result *r);
/* A whole file, malloc'd and NUL-terminated (NULL when it cannot be read). */
char *slurp(const char *path, size_t *len);
/* A scratch path in TEST_TMPDIR (kk_test_path: 8 rotating buffers), and
 * that directory. */
const char *tmp(const char *name);
const char *tmp_dir(void);
/* Writes text to path; fails the test when it cannot. */
void put(const char *path, const char *text);
/* A file in examples/. */
const char *example(const char *name);

#endif
