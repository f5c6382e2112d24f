/*
 * cli.h - the `kokoro` program: a thin layer over the library that turns
 * arguments into params and status codes into exit codes. One file per
 * command (cmd_say.c, cmd_voices.c, cmd_phonemize.c, cmd_bench.c,
 * cmd_render.c, cmd_serve.c, cmd_normalize.c, cmd_worker.c; parse and convert, the two
 * subtitle-file commands, share cmd_subtitles.c); what several commands
 * need is declared here and lives in cli_common.c; main.c dispatches.
 * May call every library module (src/common up to src/server); nothing
 * calls it. Exit codes: 0 success (warnings allowed), 1 failure of the
 * program or the system (I/O, memory), 2 bad input or bad usage.
 */
#ifndef KK_CLI_H
#define KK_CLI_H

#include <stddef.h>

#include "buf.h"
#include "kk_error.h"
#include "kk_forward.h" /* kk_precision */

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
int cmd_worker(int argc, char **argv);

/* Reads a whole text file, or standard input for "-", into out
 * (NUL-terminated). 0 on success, -1 with err set. */
int cli_read_text(const char *path, kk_buf *out, kk_error *err);

/* The text a command speaks or reads: *text when given, else file's
 * contents (standard input for "-", or when neither is given and it is not
 * a terminal), read into buf with *text pointing at it. Returns
 * KK_EXIT_OK, or the exit code after printing the usage error (neither or
 * both given) or the read error (buf freed). cmd names the command in the
 * message. */
int cli_get_text(const char *cmd, const char **text, const char *file, kk_buf *buf);

/* Prints "kokoro: error: MSG" and returns the exit code for the status. */
int cli_fail(const kk_error *err);
/* Prints a usage error and returns KK_EXIT_INPUT. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "kokoro: warning: MSG" on standard error. */
void cli_warn(const char *msg);

/* A --precision value ("exact" or "fast") into *out: KK_EXIT_OK, or the
 * exit code after a usage error naming cmd, opt and the choices (v NULL:
 * the value is missing). */
int cli_precision(const char *cmd, const char *opt, const char *v, kk_precision *out);

/* The model folder: model when given (--model), else kk_tts_find_model's
 * answer written into buf (cap bytes). NULL with err set when none is found. */
const char *cli_model_dir(const char *model, char *buf, size_t cap, kk_error *err);

/* For the commands that run for days (serve, worker): caps glibc's malloc
 * at two arenas unless MALLOC_ARENA_MAX is set. Why: every thread that
 * runs the engine (the render thread, speech workers, exports) allocates
 * its tens of MB of activations; glibc gives contending threads arenas of
 * their own (up to eight per core), and each arena keeps the high-water
 * mark of what was freed in it, so resident memory climbs as more threads
 * take turns. bench/server_soak.sh: 12 minutes of mixed clients grew from
 * 650 to 950 MB with the default and stayed within 610-680 MB with two.
 * Process-wide, so the program sets it, never the library. */
void cli_long_running_malloc(void);


#endif
