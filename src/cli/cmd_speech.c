/*
 * cmd_speech.c - `kokoro say` (text to a WAV file) and `kokoro voices`.
 *
 * say streams: each chunk of speech is written to the file as soon as the
 * engine hands it over, so a long text never sits in memory whole; the file
 * appears under its name only when complete (a temporary file renamed at the
 * end), and Ctrl-C stops at the next chunk boundary leaving no file.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "g2p.h"
#include "tmpfile.h"
#include "tts.h"
#include "voice.h"
#include "wav.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct {
    kk_wav_writer *wav;
    kk_error err;
    int failed, progress;
    const char *text;
    cJSON *words; /* --timestamps: every word with its times */
    size_t offset; /* samples written before the current chunk */
} say_state;

static int on_chunk(void *user, const kk_tts_chunk *c)
{
    say_state *s = user;
    if (kk_wav_write(s->wav, c->samples, c->n_samples, &s->err) != KK_OK) {
        s->failed = 1;
        return 1;
    }
    for (size_t i = 0; s->words && i < c->n_words; i++) {
        const kk_tts_word *w = &c->words[i];
        cJSON *o = cJSON_CreateObject();
        char *t = strndup(s->text + w->text_start, w->text_end - w->text_start);
        if (!o || !t || !cJSON_AddStringToObject(o, "text", t) ||
            !cJSON_AddNumberToObject(o, "start_ms", (double)((s->offset + w->start_sample) / 24)) ||
            !cJSON_AddNumberToObject(o, "end_ms", (double)((s->offset + w->end_sample) / 24)) ||
            !cJSON_AddItemToArray(s->words, o)) {
            free(t);
            cJSON_Delete(o);
            kk_error_set(&s->err, KK_ERR_NOMEM, "out of memory collecting word times");
            s->failed = 1;
            return 1;
        }
        free(t);
    }
    s->offset += c->n_samples;
    return 0;
}

/* Writes {"words": [...]} to path atomically (temporary file, then rename). */
static kk_status write_timestamps(const char *path, cJSON *words, kk_error *err)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    cJSON_AddItemReferenceToObject(root, "words", words);
    char *json = cJSON_Print(root);
    cJSON_Delete(root);
    if (!json)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    kk_status st = kk_write_text_file(path, json, "word times", err);
    free(json);
    return st;
}

static void on_progress(void *user, size_t done, size_t total)
{
    say_state *s = user;
    if (s->progress)
        fprintf(stderr, "\rkokoro: %zu/%zu chunks", done, total), fflush(stderr);
}

static int should_abort(void *user)
{
    (void)user;
    return interrupted;
}

static void on_warning(void *user, const char *msg)
{
    (void)user;
    fprintf(stderr, "kokoro: warning: %s\n", msg);
}

/* Reads a whole text file (or stdin for "-") into out. */
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

int cmd_say(int argc, char **argv)
{
    const char *text = NULL, *file = NULL, *out = NULL, *stamps = NULL;
    kk_tts_params tp = kk_tts_default_params();
    kk_synth_params sp = kk_synth_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && v)
            out = v, i++;
        else if ((!strcmp(a, "-v") || !strcmp(a, "--voice")) && v)
            sp.voice = v, i++;
        else if ((!strcmp(a, "-s") || !strcmp(a, "--speed")) && v) {
            char *end;
            sp.speed = strtof(v, &end);
            if (*end || !(sp.speed >= 0.5f && sp.speed <= 2.0f))
                return cli_usage("--speed takes a number from 0.5 to 2.0");
            i++;
        } else if ((!strcmp(a, "-f") || !strcmp(a, "--file")) && v)
            file = v, i++;
        else if (!strcmp(a, "--model") && v)
            tp.model = v, i++;
        else if (!strcmp(a, "--voices") && v)
            tp.voices_dir = v, i++;
        else if (!strcmp(a, "--lang") && v)
            sp.lang = v, i++;
        else if (!strcmp(a, "--lexicon") && v)
            sp.lexicon_path = v, i++;
        else if (!strcmp(a, "--timestamps") && v)
            stamps = v, i++;
        else if (!strcmp(a, "--strict"))
            sp.strict = 1;
        else if (a[0] == '-' && a[1])
            return cli_usage("say: unknown or incomplete option '%s'", a);
        else if (!text)
            text = a;
        else
            return cli_usage("say: give the text as one argument (quote it) or with -f FILE");
    }
    if (!out)
        return cli_usage("say: name the output file with -o OUT.wav");
    if (!text && !file && !isatty(STDIN_FILENO))
        file = "-"; /* text piped in */
    if (!text == !file)
        return cli_usage("say: give the text as an argument, with -f FILE, or on standard input (one of them)");

    kk_error err = {0};
    kk_buf buf = {0};
    if (file) {
        if (cli_read_text(file, &buf, &err)) {
            kk_buf_free(&buf);
            return cli_fail(&err);
        }
        text = buf.data;
    }
    kk_tts *tts = NULL;
    if (kk_tts_new(&tp, &tts, &err) != KK_OK) {
        kk_buf_free(&buf);
        return cli_fail(&err);
    }
    say_state st = {.progress = isatty(STDERR_FILENO), .text = text, .words = stamps ? cJSON_CreateArray() : NULL};
    if (kk_wav_open(&st.wav, out, KK_TTS_SAMPLE_RATE, KK_WAV_PCM16, &err) != KK_OK) {
        kk_tts_free(tts);
        kk_buf_free(&buf);
        return cli_fail(&err);
    }
    struct sigaction sa = {.sa_handler = on_sigint}, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    sp.on_chunk = on_chunk;
    sp.on_progress = on_progress;
    sp.abort = should_abort;
    sp.on_warning = on_warning;
    sp.user = &st;
    kk_status s = kk_tts_synthesize(tts, text, &sp, &err);
    sigaction(SIGINT, &old, NULL);
    if (st.progress)
        fputc('\n', stderr);
    if (s != KK_OK && st.failed)
        err = st.err;
    size_t frames = kk_wav_frames(st.wav);
    if (s == KK_OK && stamps)
        s = write_timestamps(stamps, st.words, &err);
    if (s == KK_OK)
        s = kk_wav_commit(st.wav, &err);
    else
        kk_wav_abort(st.wav);
    if (s != KK_OK && stamps)
        unlink(stamps); /* times of audio that was not written */
    cJSON_Delete(st.words);
    kk_tts_free(tts);
    kk_buf_free(&buf);
    if (s != KK_OK)
        return cli_fail(&err);
    fprintf(stderr, "kokoro: wrote %s (%.2f s of speech)\n", out, frames / (double)KK_TTS_SAMPLE_RATE);
    return KK_EXIT_OK;
}

int cmd_voices(int argc, char **argv)
{
    const char *model = NULL, *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--voices") && i + 1 < argc)
            dir = argv[++i];
        else
            return cli_usage("voices: unknown or incomplete option '%s'", argv[i]);
    }
    kk_error err = {0};
    char found[4096], path[4200];
    if (!dir) {
        if (!model) {
            if (kk_tts_find_model(found, sizeof found, &err) != KK_OK)
                return cli_fail(&err);
            model = found;
        }
        snprintf(path, sizeof path, "%s/voices", model);
        dir = path;
    }
    kk_voice_info *v = NULL;
    size_t n = 0;
    if (kk_voice_list(dir, &v, &n, &err) != KK_OK)
        return cli_fail(&err);
    printf("%-16s %-8s %s\n", "voice", "language", "gender");
    for (size_t i = 0; i < n; i++)
        printf("%-16s %-8s %s\n", v[i].id, v[i].language,
               v[i].gender == 'f' ? "female" : v[i].gender == 'm' ? "male" : "?");
    free(v);
    return KK_EXIT_OK;
}

/* `kokoro phonemize`: what the engine would be given. */
typedef struct {
    int n;
} phon_state;

static int print_chunk(void *user, const kk_g2p_chunk *c)
{
    phon_state *p = user;
    if (c->n_ids)
        printf("%s\n", c->phonemes), p->n++;
    return 0;
}

static void phon_warning(void *user, const kk_g2p_warning *w)
{
    (void)user;
    fprintf(stderr, "kokoro: warning: %s\n", w->message);
}

int cmd_phonemize(int argc, char **argv)
{
    const char *text = NULL, *lang = NULL, *model = NULL, *file = NULL;
    kk_g2p_params gp = kk_g2p_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if ((!strcmp(a, "-l") || !strcmp(a, "--lang")) && v)
            lang = v, i++;
        else if (!strcmp(a, "--model") && v)
            model = v, i++;
        else if ((!strcmp(a, "-f") || !strcmp(a, "--file")) && v)
            file = v, i++;
        else if (!strcmp(a, "--lexicon") && v)
            gp.lexicon_path = v, i++;
        else if (!strcmp(a, "--strict"))
            gp.strict = 1;
        else if (!strcmp(a, "--no-dictionary"))
            gp.no_dictionary = 1;
        else if (!strcmp(a, "--no-normalize"))
            gp.normalize = 0;
        else if (a[0] == '-' && a[1])
            return cli_usage("phonemize: unknown or incomplete option '%s'", a);
        else if (!text)
            text = a;
        else
            return cli_usage("phonemize: give the text as one argument (quote it) or with -f FILE");
    }
    if (!text && !file && !isatty(STDIN_FILENO))
        file = "-";
    if (!text == !file)
        return cli_usage("phonemize: give the text as an argument, with -f FILE, or on standard input");
    kk_error err = {0};
    kk_buf buf = {0};
    char found[4096];
    if (file) {
        if (cli_read_text(file, &buf, &err)) {
            kk_buf_free(&buf);
            return cli_fail(&err);
        }
        text = buf.data;
    }
    if (!model) {
        if (kk_tts_find_model(found, sizeof found, &err) != KK_OK) {
            kk_buf_free(&buf);
            return cli_fail(&err);
        }
        model = found;
    }
    gp.warn = phon_warning;
    kk_g2p *g = NULL;
    phon_state ps = {0};
    kk_status st = kk_g2p_new(model, &gp, &g, &err);
    if (st == KK_OK)
        st = kk_g2p_run(g, text, lang ? lang : "en-us", print_chunk, &ps, &err);
    kk_g2p_free(g);
    kk_buf_free(&buf);
    if (st != KK_OK)
        return cli_fail(&err);
    return fflush(stdout) == 0 ? KK_EXIT_OK : KK_EXIT_FAIL;
}

/* `kokoro bench`: the engine on a fixed paragraph, timed. */
static const char *BENCH_TEXT =
    "Kokoro Studio turns text and subtitles into natural speech on your own machine. "
    "It reads the file, splits it into sentences, and speaks each one with the voice you chose, "
    "placing it exactly where the subtitle says it belongs. Nothing leaves the computer: the model, "
    "the voices and the engine are all local, and the engine is written in plain C. "
    "How fast is it? That is what this little benchmark measures.";

typedef struct {
    size_t samples;
} bench_state;

static int bench_chunk(void *user, const kk_tts_chunk *c)
{
    bench_state *b = user;
    b->samples += c->n_samples - c->pause_samples;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int cmd_bench(int argc, char **argv)
{
    kk_tts_params tp = kk_tts_default_params();
    kk_synth_params sp = kk_synth_default_params();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            tp.model = argv[++i];
        else if ((!strcmp(argv[i], "-v") || !strcmp(argv[i], "--voice")) && i + 1 < argc)
            sp.voice = argv[++i];
        else
            return cli_usage("bench: unknown or incomplete option '%s'", argv[i]);
    }
    kk_error err = {0};
    double t0 = now_s();
    kk_tts *tts = NULL;
    if (kk_tts_new(&tp, &tts, &err) != KK_OK)
        return cli_fail(&err);
    double load = now_s() - t0;
    bench_state b = {0};
    sp.on_chunk = bench_chunk;
    sp.user = &b;
    t0 = now_s();
    kk_status st = kk_tts_synthesize(tts, BENCH_TEXT, &sp, &err);
    double took = now_s() - t0;
    kk_tts_free(tts);
    if (st != KK_OK)
        return cli_fail(&err);
    double audio = b.samples / (double)KK_TTS_SAMPLE_RATE;
    printf("load %.3f s, synthesis %.2f s for %.2f s of speech: real-time factor %.3f (%.1fx faster than "
           "real time)\n",
           load, took, audio, took / audio, audio / took);
    return KK_EXIT_OK;
}
