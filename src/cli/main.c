/*
 * main.c - `kokoro`: the help text, and the dispatch to a command (cmd_*.c;
 * what they share is in cli_common.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nn.h"

#ifndef KOKORO_VERSION
#define KOKORO_VERSION "dev"
#endif

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *help;
} commands[] = {
    {"parse", cmd_parse, "parse FILE [--strict] [--format F] [--encoding E]   print a subtitle or text file's segments as JSON"},
    {"convert", cmd_convert, "convert IN OUT [--strict] [--format F] [--to F]   write another subtitle format"},
    {"say", cmd_say, "say TEXT|-f FILE -o OUT.wav|- [-v VOICE] [-s SPEED] [--timestamps W.json] [--model M] [--precision exact|fast] [--chunks stream|packed]   speak text"},
    {"render", cmd_render,
     "render FILE -o OUT [-v VOICE] [-s SPEED] [--pitch ST] [--voice-map A=v,B=w] [--fit overlap|truncate|none|words]\n"
     "         [--report R.json] [--subtitles OUT.srt|.vtt|.ass|.json] [--subtitle-times speech|cue] [--encoding E]\n"
     "         [--normalize] [--lufs L] [--rate 24000|44100|48000] [--bitrate KBPS] [--redis URL] [--precision exact|fast]\n"
     "         [--video IN.mp4 [--mix replace|add|duck] [--duck-db DB] [--attack-ms MS] [--release-ms MS]]\n"
     "         speak a subtitle or text file on its timeline into .wav/.flac/.mp3/.m4a, or dub a video\n"
     "         (kokoro render --help; --redis: on render workers, docs/workers.md)"},
    {"serve", cmd_serve,
     "serve [--host 127.0.0.1] [--port 8080] [--data DIR] [--web DIR] [--cache-dir D] [--max-upload-mb 50]\n"
     "         [--max-video-mb 16384] [--token T] [--allow-origin URL] [--log-requests] [--max-client-connections 64]\n"
     "         [--idle-timeout 5] [--request-timeout 30] [--memory-mb 256] [--redis URL] [--max-speech-chars 4096]\n"
     "         [--speech-workers 16] [--speech-queue 64] [--precision exact] [--speech-precision fast]\n"
     "         the web studio, its API and an OpenAI-compatible\n"
     "         speech API under /v1/ (docs/api.md)"},
    {"worker", cmd_worker,
     "worker --redis URL [--workers N] [--threads T] [--visibility 30] [--ttl 86400] [--model M]\n"
     "         a render worker on Redis Streams for render/serve --redis (docs/workers.md)"},
    {"phonemize", cmd_phonemize, "phonemize TEXT|-f FILE [-l LANG] [--no-dictionary] [--no-normalize]   print the phonemes that would be spoken"},
    {"normalize", cmd_normalize,
     "normalize TEXT|-f FILE [-l LANG] [--json]   print the words that will be spoken (numbers, dates, money...)"},
    {"bench", cmd_bench, "bench [--model M] [-v VOICE] [--threads N] [--precision exact|fast] [--profile] [--repeat N] [--text T]   time the engine on a paragraph (real-time factor, per-module profile)"},
    {"voices", cmd_voices, "voices [--model DIR]   list the voices"},
};

static void usage(FILE *fp)
{
    fprintf(fp, "Kokoro Studio %s: local text-to-speech for text and subtitles\n\nusage: kokoro COMMAND ...\n\n",
            KOKORO_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(fp, "  kokoro %s\n", commands[i].help);
    fprintf(fp, "\nFormats: txt, srt, vtt, ass (also .ssa), wscribe (WScribe JSON).\n"
                "Exit status: 0 ok, 1 failure, 2 bad input or usage.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? KK_EXIT_INPUT : KK_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("kokoro %s\n", KOKORO_VERSION);
        return KK_EXIT_OK;
    }
    /* The engine's OpenMP threads should sleep, not spin, while they wait
     * (docs/engine-notes.md, section 13), and OpenBLAS must not take a CPU
     * it does not know for an old one: both libraries read their setting
     * when they load, before main, so set them and start again (nn.h). */
    if (!strcmp(argv[1], "say") || !strcmp(argv[1], "bench") || !strcmp(argv[1], "render") ||
        !strcmp(argv[1], "serve") || !strcmp(argv[1], "worker"))
        nn_exec_tuned(argv);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    return cli_usage("unknown command '%s'", argv[1]);
}
