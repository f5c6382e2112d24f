/*
 * cmd_say.c - `kokoro say`: text to a WAV file, optionally with word times.
 *
 * say streams: each chunk of speech is written to the file as soon as the
 * engine hands it over, so a long text never sits in memory whole; the file
 * appears under its name only when complete (a temporary file renamed at the
 * end), and Ctrl-C stops at the next chunk boundary leaving no file.
 *
 * With -o - the WAV goes to standard output as the chunks come (a header
 * of unknown length, kk_wav_open_stream), so `kokoro say -o - TEXT | aplay`
 * starts playing after the first sentence. Chunks are sized for that
 * (kk_synth_params.stream_chunks: the first sentence alone, then sentences
 * grouped up to 175-250 ids) whichever the output, so the file and the
 * stream hold the same samples; --chunks packed packs sentences up to 510
 * ids instead, as kokoro render and the server do.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "g2p.h"
#include "tmpfile.h"
#include "tts.h"
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
    cli_warn(msg);
}

int cmd_say(int argc, char **argv)
{
    const char *text = NULL, *file = NULL, *out = NULL, *stamps = NULL;
    int chunks_packed = 0;
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
            if (*end || !(sp.speed >= KK_SPEED_MIN && sp.speed <= KK_SPEED_MAX))
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
        else if (!strcmp(a, "--precision") && v) {
            /* fast: bf16 convolutions where the CPU has AMX (kk_forward.h) */
            if (cli_precision("say", a, v, &sp.precision) != KK_EXIT_OK)
                return KK_EXIT_INPUT;
            i++;
        } else if (!strcmp(a, "--chunks") && v) {
            if (strcmp(v, "stream") && strcmp(v, "packed"))
                return cli_usage("say: --chunks is stream or packed, not '%s'", v);
            chunks_packed = !strcmp(v, "packed"), i++;
        } else if (a[0] == '-' && a[1])
            return cli_usage("say: unknown or incomplete option '%s'", a);
        else if (!text)
            text = a;
        else
            return cli_usage("say: give the text as one argument (quote it) or with -f FILE");
    }
    if (!out)
        return cli_usage("say: name the output file with -o OUT.wav (or -o - to stream a WAV to standard output)");
    int to_stdout = !strcmp(out, "-");
    if (to_stdout && isatty(STDOUT_FILENO))
        return cli_usage("say: -o - writes audio to standard output, which is a terminal here; pipe it "
                         "(kokoro say -o - TEXT | aplay) or name a file");
    sp.stream_chunks = !chunks_packed;

    kk_error err = {0};
    /* The voice's own language must be one the phonemizer reads; say so by
     * the voice's name before the model is loaded (with --lang, the voice
     * speaks that language's phonemes, which is allowed). */
    const char *unsupported = sp.lang ? NULL : kk_g2p_voice_unsupported(sp.voice);
    if (unsupported) {
        kk_error_set(&err, KK_ERR_UNSUPPORTED, "say: voice %s: %s (`kokoro voices` marks these voices)", sp.voice,
                     unsupported);
        return cli_fail(&err);
    }
    kk_buf buf = {0};
    int rc0 = cli_get_text("say", &text, file, &buf);
    if (rc0 != KK_EXIT_OK)
        return rc0;
    kk_tts *tts = NULL;
    if (kk_tts_new(&tp, &tts, &err) != KK_OK) {
        kk_buf_free(&buf);
        return cli_fail(&err);
    }
    say_state st = {.progress = isatty(STDERR_FILENO), .text = text, .words = stamps ? cJSON_CreateArray() : NULL};
    if ((to_stdout ? kk_wav_open_stream(&st.wav, STDOUT_FILENO, KK_SAMPLE_RATE, &err)
                   : kk_wav_open(&st.wav, out, KK_SAMPLE_RATE, KK_WAV_PCM16, &err)) != KK_OK) {
        kk_tts_free(tts);
        kk_buf_free(&buf);
        return cli_fail(&err);
    }
    struct sigaction sa = {.sa_handler = on_sigint}, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    /* a reader that goes away (aplay stopped) is a write error, not a kill */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
    sigemptyset(&ign.sa_mask);
    if (to_stdout)
        sigaction(SIGPIPE, &ign, &old_pipe);
    sp.on_chunk = on_chunk;
    sp.on_progress = on_progress;
    sp.abort = should_abort;
    sp.on_warning = on_warning;
    sp.user = &st;
    kk_status s = kk_tts_synthesize(tts, text, &sp, &err);
    sigaction(SIGINT, &old, NULL);
    if (to_stdout)
        sigaction(SIGPIPE, &old_pipe, NULL);
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
    fprintf(stderr, "kokoro: wrote %s (%.2f s of speech)\n", to_stdout ? "the WAV stream" : out,
            frames / (double)KK_SAMPLE_RATE);
    return KK_EXIT_OK;
}
