/*
 * cli_common.c - what the commands share (cli.h): reading the text to speak,
 * turning an error into a message and an exit code, usage errors, the model
 * folder, warnings, and which voices cannot speak text.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "cli.h"
#include "g2p.h"
#include "tts.h"

int cli_read_text(const char *path, kk_buf *out, kk_error *err)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        kk_error_set(err, KK_ERR_IO, "%s: cannot open: check the path", path);
        return -1;
    }
    char chunk[65536];
    size_t n;
    int bad = 0;
    while (!bad && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        bad = kk_buf_append(out, chunk, n) != 0;
    if (f != stdin)
        fclose(f);
    if (bad || kk_buf_reserve(out, 0)) {
        kk_error_set(err, KK_ERR_NOMEM, "out of memory reading %s", path);
        return -1;
    }
    return 0;
}

int cli_get_text(const char *cmd, const char **text, const char *file, kk_buf *buf)
{
    if (!*text && !file && !isatty(STDIN_FILENO))
        file = "-"; /* text piped in */
    if (!*text == !file)
        return cli_usage("%s: give the text as an argument, with -f FILE, or on standard input (one of them)", cmd);
    if (file) {
        kk_error err = {0};
        if (cli_read_text(file, buf, &err)) {
            kk_buf_free(buf);
            return cli_fail(&err);
        }
        *text = buf->data;
    }
    return KK_EXIT_OK;
}

int cli_fail(const kk_error *err)
{
    fprintf(stderr, "kokoro: error: %s\n", err->msg[0] ? err->msg : kk_status_name(err->code));
    switch (err->code) {
    case KK_ERR_INPUT:
    case KK_ERR_ARG:
    case KK_ERR_UNSUPPORTED: return KK_EXIT_INPUT;
    default: return KK_EXIT_FAIL;
    }
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("kokoro: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (kokoro --help lists the commands)\n", stderr);
    va_end(ap);
    return KK_EXIT_INPUT;
}

void cli_warn(const char *msg) { fprintf(stderr, "kokoro: warning: %s\n", msg); }

void cli_long_running_malloc(void)
{
#ifdef __GLIBC__
    if (!getenv("MALLOC_ARENA_MAX"))
        mallopt(M_ARENA_MAX, 2);
#endif
}

const char *cli_model_dir(const char *model, char *buf, size_t cap, kk_error *err)
{
    if (model)
        return model;
    return kk_tts_find_model(buf, cap, err) == KK_OK ? buf : NULL;
}

int cli_precision(const char *cmd, const char *opt, const char *v, kk_precision *out)
{
    char what[64];
    snprintf(what, sizeof what, "%s: %s", cmd, opt);
    kk_error err;
    if (kk_tts_precision_parse(v, what, out, &err) != KK_OK)
        return cli_usage("%s", err.msg);
    return KK_EXIT_OK;
}
