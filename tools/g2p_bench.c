/*
 * g2p_bench.c - kk-g2p-bench: how fast text becomes phonemes.
 *
 *   kk-g2p-bench [--model DIR] [--words N] [--lang en-us] [FILE]
 *
 * Normalises and phonemises N words (default 100,000) of FILE, or of a
 * built-in mix of everyday prose, numbers, money, dates, times, units and
 * abbreviations repeated until N words, with one g2p context (the
 * pronunciation dictionary opened once, as an engine context does), and
 * prints the time of the normaliser alone and of the whole pipeline, in
 * words per second. The target: 100,000 words in under a second.
 * The CPU is named on the first line (figures mean little without it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "g2p.h"

static const char MIX[] =
    "On March 3rd, 2025, Dr. Smith paid $49.99 for 12 lbs of apples at the market on Elm St. "
    "The meeting starts at 7:30 pm and ends at 9:15, so please call 555-0142 before then. "
    "In 1999 the company's revenue grew by 3.5% to $3.2 billion, and by the 1990s it had 1,250 staff. "
    "Henry VIII wrote Chapter IV of the book; she read it last year and said it was wonderful. "
    "The quick brown fox jumps over the lazy dog while the children play in the garden near the river. "
    "Visit https://example.com/news or write to info@example.org, e.g. for tickets, maps, etc. "
    "We drove 30 km at 50 km/h when it was 72°F outside, and the record shows a minute of silence. ";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t count_words(const char *s)
{
    size_t n = 0;
    int in = 0;
    for (; *s; s++) {
        int sp = *s == ' ' || *s == '\n' || *s == '\t';
        n += !sp && !in;
        in = !sp;
    }
    return n;
}

static int on_chunk(void *user, const kk_g2p_chunk *c)
{
    *(size_t *)user += c->n_ids;
    return 0;
}

static void cpu_name(char *out, size_t cap)
{
    snprintf(out, cap, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *c = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && c) {
            snprintf(out, cap, "%s", c + 2);
            out[strcspn(out, "\n")] = '\0';
            break;
        }
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    const char *model = getenv("KOKORO_MODEL_DIR"), *file = NULL, *lang = "en-us";
    long words = 100000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--words") && i + 1 < argc)
            words = atol(argv[++i]);
        else if (!strcmp(argv[i], "--lang") && i + 1 < argc)
            lang = argv[++i];
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else {
            fprintf(stderr, "usage: kk-g2p-bench [--model DIR] [--words N] [--lang L] [FILE]\n");
            return 2;
        }
    }
    if (!model)
        model = "../shared/models/kokoro-82m-v1.0";
    if (words < 1) {
        fprintf(stderr, "kk-g2p-bench: --words must be at least 1\n");
        return 2;
    }
    kk_buf src = {0}, text = {0};
    if (file) {
        FILE *f = fopen(file, "rb");
        char tmp[65536];
        size_t r;
        if (!f) {
            fprintf(stderr, "kk-g2p-bench: cannot open %s\n", file);
            return 1;
        }
        while ((r = fread(tmp, 1, sizeof tmp, f)) > 0)
            if (kk_buf_append(&src, tmp, r) < 0)
                return 1;
        fclose(f);
    } else if (kk_buf_puts(&src, MIX) < 0) {
        return 1;
    }
    size_t per = count_words(src.data ? src.data : "");
    if (!per) {
        fprintf(stderr, "kk-g2p-bench: no words in the input\n");
        return 1;
    }
    /* paragraphs of the source until N words */
    for (size_t w = 0; w < (size_t)words; w += per)
        if (kk_buf_puts(&text, src.data) < 0 || kk_buf_puts(&text, "\n\n") < 0)
            return 1;
    size_t n_words = count_words(text.data);
    char cpu[256];
    cpu_name(cpu, sizeof cpu);
    printf("machine: %s, %ld cores online\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
    kk_error err;
    kk_g2p *g = NULL;
    double t0 = now_s();
    if (kk_g2p_new(model, NULL, &g, &err) != KK_OK) {
        fprintf(stderr, "kk-g2p-bench: %s\n", err.msg);
        return 1;
    }
    double t1 = now_s();
    kk_norm nm;
    if (kk_normalize(text.data, lang, &nm, &err) != KK_OK) {
        fprintf(stderr, "kk-g2p-bench: %s\n", err.msg);
        return 1;
    }
    double t2 = now_s();
    kk_norm_free(&nm);
    size_t ids = 0;
    double t3 = now_s();
    if (kk_g2p_run(g, text.data, lang, on_chunk, &ids, &err) != KK_OK) {
        fprintf(stderr, "kk-g2p-bench: %s\n", err.msg);
        return 1;
    }
    double t4 = now_s();
    printf("context: %.1f ms (vocab and dictionary)\n", (t1 - t0) * 1e3);
    printf("normalise %zu words: %.3f s (%.0f words/s)\n", n_words, t2 - t1, n_words / (t2 - t1));
    printf("normalise + phonemise %zu words: %.3f s (%.0f words/s, %zu ids) -> %s (target: under 1 s)\n",
           n_words, t4 - t3, n_words / (t4 - t3), ids, t4 - t3 < 1.0 ? "PASS" : "FAIL");
    kk_g2p_free(g);
    kk_buf_free(&src);
    kk_buf_free(&text);
    return 0;
}
