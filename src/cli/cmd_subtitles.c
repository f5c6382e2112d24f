/*
 * cmd_subtitles.c - `kokoro parse` and `kokoro convert`.
 *
 * parse streams: segments are printed as they are parsed, so a file of any
 * length runs in bounded memory. To never print half a document for a file
 * that turns out bad at line 90,000, the input is read twice: once to check
 * it (warnings shown), once to print. Standard input ("-") is read into
 * memory first so that it can be read twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "subtitles.h"

#define MAX_SHOWN_WARNINGS 50

typedef struct {
    long n;
} warn_state;

static void on_warning(void *user, const char *file, long line, const char *msg)
{
    warn_state *w = user;
    if (w->n++ < MAX_SHOWN_WARNINGS)
        fprintf(stderr, "kokoro: warning: %s:%ld: %s\n", file, line, msg);
}

static void warning_summary(const warn_state *w)
{
    if (w->n > MAX_SHOWN_WARNINGS)
        fprintf(stderr, "kokoro: warning: ... and %ld more warnings (%ld in all)\n",
                w->n - MAX_SHOWN_WARNINGS, w->n);
}

/* Options shared by parse and convert; fills paths. 0, or an exit code after
 * printing usage. */
static int parse_common(int argc, char **argv, kk_parse_params *p, const char **paths, int npaths,
                        const char **to)
{
    int got = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--strict")) {
            p->strict = true;
        } else if ((!strcmp(a, "--format") || !strcmp(a, "-f")) && i + 1 < argc) {
            p->format = kk_format_from_name(argv[++i]);
            if (p->format == KK_FORMAT_AUTO && strcmp(argv[i], "auto"))
                return cli_usage("unknown format '%s'; use txt, srt, vtt, ass or wscribe", argv[i]);
        } else if (!strcmp(a, "--encoding") && i + 1 < argc) {
            p->encoding = argv[++i]; /* an unknown name fails in the parse, naming it */
        } else if (to && !strcmp(a, "--to") && i + 1 < argc) {
            *to = argv[++i];
        } else if (!strcmp(a, "--max-chars") && i + 1 < argc) {
            long n = strtol(argv[++i], NULL, 10);
            if (n < 20 || n > 100000)
                return cli_usage("--max-chars takes a number from 20 to 100000");
            p->txt_max_chars = (size_t)n;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage("%s: unknown or incomplete option '%s'", argv[0], a);
        } else if (got < npaths) {
            paths[got++] = a;
        } else {
            return cli_usage("%s: too many arguments", argv[0]);
        }
    }
    if (got < npaths)
        return cli_usage("%s: missing %s", argv[0], got ? "output file" : "input file");
    return 0;
}

/* An input: a file path, or "-" for standard input read into memory. */
typedef struct {
    const char *path;
    char *data;
    size_t len;
} input;

static int input_open(input *in, const char *path, kk_error *err)
{
    in->path = path;
    in->data = NULL;
    in->len = 0;
    if (strcmp(path, "-"))
        return 0;
    size_t cap = 0;
    for (;;) {
        if (in->len == cap) {
            if (cap >= ((size_t)1 << 30)) {
                kk_error_set(err, KK_ERR_INPUT, "<stdin>: more than 1 GiB; pass a file instead");
                return -1;
            }
            char *d = realloc(in->data, cap = cap ? cap * 2 : 65536);
            if (!d) {
                kk_error_set(err, KK_ERR_NOMEM, "<stdin>: out of memory");
                return -1;
            }
            in->data = d;
        }
        size_t k = fread(in->data + in->len, 1, cap - in->len, stdin);
        in->len += k;
        if (k == 0) {
            if (ferror(stdin)) {
                kk_error_set(err, KK_ERR_IO, "<stdin>: read error");
                return -1;
            }
            return 0;
        }
    }
}

static kk_status input_parse(const input *in, const kk_parse_params *p, kk_segment_fn cb, void *user,
                             kk_format *f, kk_error *err)
{
    if (strcmp(in->path, "-"))
        return kk_parse_stream(in->path, p, cb, user, f, err);
    return kk_parse_memory_stream("<stdin>", in->data ? in->data : "", in->len, p, cb, user, f, err);
}

static int print_segment(void *user, const kk_segment *seg)
{
    long *n = user;
    char *js = kk_segment_to_json(seg);
    if (!js)
        return 1;
    printf("%s\n  %s", (*n)++ ? "," : "", js);
    free(js);
    return 0;
}

static int count_segment(void *user, const kk_segment *seg)
{
    (void)seg;
    ++*(long *)user;
    return 0;
}

int cmd_parse(int argc, char **argv)
{
    kk_parse_params p = kk_parse_default_params();
    const char *path = NULL;
    int rc = parse_common(argc, argv, &p, &path, 1, NULL);
    if (rc)
        return rc;
    warn_state ws = {0};
    p.on_warning = on_warning;
    p.warning_user = &ws;
    kk_error err;
    input in;
    if (input_open(&in, path, &err)) {
        free(in.data);
        return cli_fail(&err);
    }
    /* Pass 1: check everything, show warnings, print nothing. */
    long n = 0;
    kk_format f;
    char enc[KK_ENCODING_NAME_MAX] = "";
    p.encoding_out = enc;
    kk_status s = input_parse(&in, &p, count_segment, &n, &f, &err);
    p.encoding_out = NULL;
    warning_summary(&ws);
    if (s == KK_OK) {
        /* Pass 2: print. The input is known good and warnings were shown. */
        p.on_warning = NULL;
        p.strict = false;
        p.format = f;
        n = 0;
        /* the encoding read: what a re-run with --encoding would change */
        printf("{\"format\": \"%s\", \"encoding\": \"%s\", \"segments\": [", kk_format_name(f), enc);
        s = input_parse(&in, &p, print_segment, &n, &f, &err);
        printf("\n]}\n");
    }
    free(in.data);
    if (s != KK_OK) /* pass 2 fails only if the file changed under us or memory ran out */
        return cli_fail(&err);
    return fflush(stdout) == 0 ? KK_EXIT_OK : KK_EXIT_FAIL;
}

typedef struct {
    kk_writer *w;
    kk_error err;
} convert_ctx;

static int write_segment(void *user, const kk_segment *seg)
{
    convert_ctx *cx = user;
    return kk_writer_add(cx->w, seg, &cx->err) != KK_OK;
}

int cmd_convert(int argc, char **argv)
{
    kk_parse_params p = kk_parse_default_params();
    const char *paths[2] = {0}, *to = NULL;
    int rc = parse_common(argc, argv, &p, paths, 2, &to);
    if (rc)
        return rc;
    kk_format out_f = to ? kk_format_from_name(to) : kk_format_from_path(paths[1]);
    if (out_f != KK_FORMAT_SRT && out_f != KK_FORMAT_VTT && out_f != KK_FORMAT_WSCRIBE && out_f != KK_FORMAT_ASS &&
        out_f != KK_FORMAT_TXT)
        return cli_usage("convert: cannot tell the output format from '%s'; name it .srt, .vtt, .ass, .json or .txt "
                         "(the plain transcript), or add --to srt|vtt|ass|wscribe|txt", to ? to : paths[1]);
    warn_state ws = {0};
    p.on_warning = on_warning;
    p.warning_user = &ws;
    kk_error err;
    input in;
    convert_ctx cx = {0};
    if (input_open(&in, paths[0], &err) || kk_writer_open(&cx.w, paths[1], out_f, &err) != KK_OK) {
        free(in.data);
        return cli_fail(&err);
    }
    /* Written as parsed; on any error the writer's temporary file goes away
     * and OUT is left as it was. */
    kk_status s = input_parse(&in, &p, write_segment, &cx, NULL, &err);
    warning_summary(&ws);
    free(in.data);
    if (s == KK_ERR_ABORTED) /* the writer refused a segment: its error is the one to show */
        err = cx.err, s = err.code;
    if (s != KK_OK) {
        kk_writer_abort(cx.w);
        return cli_fail(&err);
    }
    if (kk_writer_commit(cx.w, &err) != KK_OK)
        return cli_fail(&err);
    return KK_EXIT_OK;
}
