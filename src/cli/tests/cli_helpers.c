/* cli_helpers.c - see cli_helpers.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli_helpers.h"
#include "kk_testutil.h"

char *slurp(const char *path, size_t *len) { return kk_test_read(path, len); }

const char *tmp(const char *name) { return kk_test_path(name); }

const char *tmp_dir(void) { return kk_test_tmpdir(); }

void put(const char *path, const char *text) { assert_int_equal(kk_test_write(path, text, strlen(text)), 0); }

/* Runs `kokoro ARGS` (a shell word list) with optional stdin text. */
run_result run(const char *stdin_text, const char *fmt, ...)
{
    char args[2048], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    const char *bin = getenv("KOKORO_BIN");
    assert_non_null(bin);
    if (stdin_text)
        put(tmp("stdin.txt"), stdin_text);
    snprintf(cmd, sizeof cmd, "'%s' %s <%s >%s 2>%s", bin, args, stdin_text ? tmp("stdin.txt") : "/dev/null",
             tmp("out.txt"), tmp("err.txt"));
    int st = system(cmd);
    run_result r = {.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st)};
    r.out = slurp(tmp("out.txt"), &r.out_len);
    r.err = slurp(tmp("err.txt"), NULL);
    return r;
}

void done(run_result *r)
{
    free(r->out);
    free(r->err);
}

const char *example(const char *name)
{
    static char b[4096];
    snprintf(b, sizeof b, "%s/%s", getenv("KOKORO_EXAMPLES"), name);
    return b;
}

