/*
 * cmd_bench.c - `kokoro bench`: the engine on a fixed paragraph, timed (load
 * and synthesis on the monotonic clock), printed as a real-time factor.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "kk_time.h"
#include "tts.h"

static const char *BENCH_TEXT =
    "Kokoro Studio turns text and subtitles into natural speech on your own machine. "
    "It reads the file, splits it into sentences, and speaks each one with the voice you chose, "
    "placing it exactly where the subtitle says it belongs. Nothing leaves the computer: the model, "
    "the voices and the engine are all local, and the engine is written in plain C. "
    "How fast is it? That is what this little benchmark measures.";

typedef struct {
    size_t samples;
} bench_state;

/* Counts speech only: the pauses between chunks are not synthesised. */
static int bench_chunk(void *user, const kk_tts_chunk *c)
{
    bench_state *b = user;
    b->samples += c->n_samples - c->pause_samples;
    return 0;
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
    double t0 = kk_now_s();
    kk_tts *tts = NULL;
    if (kk_tts_new(&tp, &tts, &err) != KK_OK)
        return cli_fail(&err);
    double load = kk_now_s() - t0;
    bench_state b = {0};
    sp.on_chunk = bench_chunk;
    sp.user = &b;
    t0 = kk_now_s();
    kk_status st = kk_tts_synthesize(tts, BENCH_TEXT, &sp, &err);
    double took = kk_now_s() - t0;
    kk_tts_free(tts);
    if (st != KK_OK)
        return cli_fail(&err);
    double audio = b.samples / (double)KK_SAMPLE_RATE;
    printf("load %.3f s, synthesis %.2f s for %.2f s of speech: real-time factor %.3f (%.1fx faster than "
           "real time)\n",
           load, took, audio, took / audio, audio / took);
    return KK_EXIT_OK;
}
