/*
 * g2p_ids.c - kk-g2p: text to Kokoro phoneme ids, one line per chunk, so
 * scripts can feed the same tokens to kk-forward and to ONNX Runtime
 * (tools/reference/ort_run.js):
 *
 *   kk-g2p --model DIR [--voice af_heart | --lang en-us] [--json]
 *          [--max-tokens N] [--chunk-per-sentence] [--stream-chunks] [TEXT...]
 *
 * TEXT is the arguments joined by spaces, or standard input when there are
 * none. --model is the model directory (holding config.json) or its
 * config.json; default $KOKORO_MODEL_DIR. The language is the voice's
 * (kk_g2p_lang_for_voice) unless --lang is given.
 *
 * Output, one line per chunk that has ids (pause-only chunks are skipped):
 *   IDS<TAB>PHONEMES            ids without pads, separated by commas
 * or with --json one JSON object per line:
 *   {"index":0,"ids":[...],"phonemes":"...","pause_after_ms":N,"text_start":B,"text_end":E}
 * Warnings go to standard error. Exit status: 0, 1 on a g2p error, 2 on
 * bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "g2p.h"

static void die_usage(const char *msg)
{
    fprintf(stderr, "kk-g2p: %s\n"
                    "usage: kk-g2p --model DIR [--voice V | --lang L] [--json] [--max-tokens N] "
                    "[--chunk-per-sentence] [--stream-chunks] [TEXT...]\n",
            msg);
    exit(2);
}

static void on_warn(void *user, const kk_g2p_warning *w)
{
    (void)user;
    fprintf(stderr, "kk-g2p: warning: %s\n", w->message);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

typedef struct {
    int json;
} out_opts;

static int on_chunk(void *user, const kk_g2p_chunk *c)
{
    const out_opts *o = user;
    if (c->n_ids == 0)
        return 0;
    if (o->json) {
        printf("{\"index\":%zu,\"ids\":[", c->index);
        for (size_t i = 0; i < c->n_ids; i++)
            printf("%s%lld", i ? "," : "", (long long)c->ids[i]);
        printf("],\"phonemes\":");
        json_string(stdout, c->phonemes);
        printf(",\"pause_after_ms\":%d,\"text_start\":%zu,\"text_end\":%zu}\n", c->pause_after_ms, c->text_start,
               c->text_end);
    } else {
        for (size_t i = 0; i < c->n_ids; i++)
            printf("%s%lld", i ? "," : "", (long long)c->ids[i]);
        printf("\t%s\n", c->phonemes);
    }
    return 0;
}

static char *read_all(FILE *f)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    buf[n] = '\0';
    return buf;
}

int main(int argc, char **argv)
{
    const char *model = getenv("KOKORO_MODEL_DIR"), *voice = NULL, *lang = NULL;
    out_opts o = {0};
    kk_g2p_params p = kk_g2p_default_params();
    p.warn = on_warn;
    int first_text = argc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            o.json = 1;
            continue;
        }
        if (!strcmp(a, "--chunk-per-sentence")) {
            p.chunk_per_sentence = 1;
            continue;
        }
        if (!strcmp(a, "--stream-chunks")) {
            p.stream_chunks = 1;
            continue;
        }
        if (!strcmp(a, "--")) {
            first_text = i + 1;
            break;
        }
        if (strncmp(a, "--", 2)) {
            first_text = i;
            break;
        }
        if (i + 1 >= argc)
            die_usage("an option is missing its value");
        const char *v = argv[++i];
        if (!strcmp(a, "--model"))
            model = v;
        else if (!strcmp(a, "--voice"))
            voice = v;
        else if (!strcmp(a, "--lang"))
            lang = v;
        else if (!strcmp(a, "--max-tokens")) {
            p.max_tokens = atoi(v);
            if (p.max_tokens < 1 || p.max_tokens > KK_G2P_MAX_TOKENS)
                die_usage("--max-tokens takes 1..510");
        } else
            die_usage("unknown option");
    }
    if (!model || !*model)
        die_usage("no model: give --model DIR or set KOKORO_MODEL_DIR");
    if (!lang) {
        lang = voice ? kk_g2p_lang_for_voice(voice) : "en-us";
        if (!lang)
            die_usage("unknown voice prefix; give --lang");
    }

    char *text = NULL;
    if (first_text < argc) {
        size_t len = 1;
        for (int i = first_text; i < argc; i++)
            len += strlen(argv[i]) + 1;
        text = malloc(len);
        if (!text)
            return 1;
        text[0] = '\0';
        for (int i = first_text; i < argc; i++) {
            if (i > first_text)
                strcat(text, " ");
            strcat(text, argv[i]);
        }
    } else {
        text = read_all(stdin);
        if (!text) {
            fprintf(stderr, "kk-g2p: out of memory\n");
            return 1;
        }
    }

    kk_error err;
    kk_g2p *g;
    if (kk_g2p_new(model, &p, &g, &err) != KK_OK) {
        fprintf(stderr, "kk-g2p: %s\n", err.msg);
        free(text);
        return 1;
    }
    int rc = 0;
    if (kk_g2p_run(g, text, lang, on_chunk, &o, &err) != KK_OK) {
        fprintf(stderr, "kk-g2p: %s\n", err.msg);
        rc = 1;
    }
    kk_g2p_free(g);
    free(text);
    if (fflush(stdout) != 0)
        rc = 1;
    return rc;
}
