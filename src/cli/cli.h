/*
 * cli.h - the `kokoro` program: one command per file, each a thin layer over
 * the library that turns arguments into params and status codes into exit
 * codes. Exit codes: 0 success (warnings allowed), 1 failure of the program
 * or the system (I/O, memory), 2 bad input or bad usage.
 */
#ifndef KK_CLI_H
#define KK_CLI_H

#include "buf.h"
#include "kk_error.h"

#define KK_EXIT_OK 0
#define KK_EXIT_FAIL 1
#define KK_EXIT_INPUT 2

int cmd_parse(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_say(int argc, char **argv);
int cmd_voices(int argc, char **argv);
int cmd_phonemize(int argc, char **argv);
int cmd_normalize(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* Reads a whole text file, or standard input for "-", into out
 * (NUL-terminated). 0 on success, -1 with err set. */
int cli_read_text(const char *path, kk_buf *out, kk_error *err);

/* Prints "kokoro: error: MSG" and returns the exit code for the status. */
int cli_fail(const kk_error *err);
/* Prints a usage error and returns KK_EXIT_INPUT. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
