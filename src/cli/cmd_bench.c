/*
 * cmd_bench.c - `kokoro bench`: the engine on a fixed paragraph, timed (load
 * and synthesis on the monotonic clock), printed as a real-time factor, and
 * with --profile where the time went: per module of the forward pass its
 * wall time, the multiply-adds counted from the shapes, the rate achieved
 * and the fraction of this machine's measured peak (a short microbenchmark
 * of fp32 FMA, bf16 dot products, int8 VNNI and AMX-BF16 on one core, times
 * the threads), plus g2p and voice loading. The process's peak RSS ends the
 * report.
 *
 * With --first-audio it measures streaming instead: the time from the call
 * (and from the program's start, model load included) to the first chunk
 * of audio, on streaming chunks (kk_synth_params.stream_chunks) unless
 * --chunks packed, and whether a player started then would have run dry
 * waiting for a later chunk (gaps, with their total).
 *
 *   kokoro bench [--model M] [-v VOICE] [--threads N] [--precision exact|fast]
 *                [--profile] [--repeat N] [--text TEXT | -f FILE]
 *                [--first-audio [--chunks stream|packed] [--max-chunks N]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "kk_time.h"
#include "nn.h"
#include "tts.h"

static const char *BENCH_TEXT =
    "Kokoro Studio turns text and subtitles into natural speech on your own machine. "
    "It reads the file, splits it into sentences, and speaks each one with the voice you chose, "
    "placing it exactly where the subtitle says it belongs. Nothing leaves the computer: the model, "
    "the voices and the engine are all local, and the engine is written in plain C. "
    "How fast is it? That is what this little benchmark measures.";

typedef struct {
    size_t samples;
    /* --first-audio: when each chunk came, against a player that starts
     * with the first one */
    double t0;          /* the call's start */
    double cpu0, first_cpu; /* CPU seconds of the process at the start, to the first chunk */
    double first;       /* seconds to the first chunk; < 0 before it */
    double first_audio; /* that chunk's audio, seconds (speech and pause) */
    size_t first_ids;   /* its durations' count (ids and the two pads) */
    double played;      /* audio handed over before this chunk, seconds */
    double late;        /* the player's wait so far */
    size_t gaps, chunks, max_chunks;
} bench_state;

/* CPU seconds (user and system) this process has used. */
static double cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Counts speech only: the pauses between chunks are not synthesised. */
static int bench_chunk(void *user, const kk_tts_chunk *c)
{
    bench_state *b = user;
    b->samples += c->n_samples - c->pause_samples;
    double now = kk_now_s() - b->t0, len = c->n_samples / (double)KK_SAMPLE_RATE;
    if (b->chunks == 0)
        b->first = now, b->first_audio = len, b->first_ids = c->n_durations, b->first_cpu = cpu_s() - b->cpu0;
    else {
        /* the player reaches this chunk at first + played + the waits so far */
        double due = b->first + b->played + b->late;
        if (now > due)
            b->gaps++, b->late += now - due;
    }
    b->played += len;
    b->chunks++;
    return b->max_chunks && b->chunks >= b->max_chunks;
}

static size_t count_words(const char *s)
{
    size_t n = 0;
    for (int in = 0; *s; s++) {
        int sp = *s == ' ' || *s == '\n' || *s == '\t' || *s == '\r';
        n += !sp && !in;
        in = !sp;
    }
    return n;
}

static void bench_warning(void *user, const char *msg)
{
    (void)user;
    fprintf(stderr, "%s\n", msg);
}

static void print_profile(const kk_tts_profile *p, int threads, int fast, double total_ms)
{
    nn_peak pk;
    nn_peak_measure(&pk);
    printf("peak of one core (microbenchmark): fp32 FMA %.0f GFLOP/s, bf16 dot %.0f GFLOP/s, int8 VNNI %.0f GOP/s, "
           "AMX-BF16 %.0f GFLOP/s\n",
           pk.fp32_fma, pk.bf16_dot, pk.int8_vnni, pk.amx_bf16);
    printf("matrix products: OpenBLAS, its %s kernels\n", nn_blas_kernels());
    printf("%-14s %10s %8s %10s %9s %8s\n", "module", "ms", "share", "GMAC", "GFLOP/s", "of peak");
    double macs = 0;
    for (int i = 0; i < KK_MOD_COUNT; i++) {
        double ms = p->forward.ms[i], g = p->forward.macs[i] / 1e9;
        macs += g;
        double rate = ms > 0 ? 2 * g / (ms / 1e3) : 0;
        /* the decoder and generator convolutions run in bf16 in the fast
         * mode: on AMX, or with AVX512_BF16 dot products without it */
        int on_bf16 = fast && (i == KK_MOD_DECODER || i == KK_MOD_GEN1 || i == KK_MOD_GEN2);
        double bf16_peak = pk.amx_bf16 > 0 ? pk.amx_bf16 : pk.bf16_dot;
        double peak = (on_bf16 ? bf16_peak : pk.fp32_fma) * threads;
        char of[32] = "-";
        if (peak > 0)
            snprintf(of, sizeof of, "%.1f %%%s", 100 * rate / peak, on_bf16 ? pk.amx_bf16 > 0 ? " A" : " B" : "");
        printf("%-14s %10.1f %7.1f%% %10.2f %9.1f %8s\n", kk_forward_module_name(i), ms,
               total_ms > 0 ? 100 * ms / total_ms : 0, g, rate, of);
    }
    printf("%-14s %10.1f %7.1f%%\n", "g2p", p->prepare_ms, total_ms > 0 ? 100 * p->prepare_ms / total_ms : 0);
    printf("%-14s %10.1f %7.1f%%   (%zu loaded, %zu from the cache)\n", "voice packs", p->voice_ms,
           total_ms > 0 ? 100 * p->voice_ms / total_ms : 0, p->voice_loads, p->voice_hits);
    printf("forward passes: %d, %.1f GMAC in all; peak column: %% of %d x the one-core fp32 FMA peak (A: of the "
           "AMX-BF16 peak, B: of the AVX512_BF16 peak, where the module's convolutions run)\n",
           p->forward.calls, macs, threads);
}

int cmd_bench(int argc, char **argv)
{
    kk_tts_params tp = kk_tts_default_params();
    kk_synth_params sp = kk_synth_default_params();
    double t_start = kk_now_s();
    int profile = 0, repeat = 1, first_audio = 0;
    size_t max_chunks = 0;
    const char *text = BENCH_TEXT, *file = NULL;
    sp.stream_chunks = -1; /* unless --chunks: streaming for --first-audio, packed otherwise */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            tp.model = argv[++i];
        else if ((!strcmp(argv[i], "-v") || !strcmp(argv[i], "--voice")) && i + 1 < argc)
            sp.voice = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 0 || n > 1024)
                return cli_usage("bench: --threads takes a count from 0 (one per CPU) to 1024, not '%s'", argv[i]);
            sp.threads = (int)n;
        } else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 100)
                return cli_usage("bench: --repeat takes 1 to 100, not '%s'", argv[i]);
            repeat = (int)n;
        } else if (!strcmp(argv[i], "--precision") && i + 1 < argc) {
            if (cli_precision("bench", argv[i], argv[i + 1], &sp.precision) != KK_EXIT_OK)
                return KK_EXIT_INPUT;
            i++;
        } else if (!strcmp(argv[i], "--text") && i + 1 < argc)
            text = argv[++i];
        else if ((!strcmp(argv[i], "-f") || !strcmp(argv[i], "--file")) && i + 1 < argc)
            file = argv[++i];
        else if (!strcmp(argv[i], "--first-audio"))
            first_audio = 1;
        else if (!strcmp(argv[i], "--chunks") && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(v, "stream") && strcmp(v, "packed"))
                return cli_usage("bench: --chunks is stream or packed, not '%s'", v);
            sp.stream_chunks = !strcmp(v, "stream");
        } else if (!strcmp(argv[i], "--max-chunks") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1)
                return cli_usage("bench: --max-chunks takes a count from 1, not '%s'", argv[i]);
            max_chunks = (size_t)n;
        }
        else if (!strcmp(argv[i], "--profile"))
            profile = 1;
        else
            return cli_usage("bench: unknown or incomplete option '%s'", argv[i]);
    }
    if (sp.stream_chunks < 0)
        sp.stream_chunks = first_audio;
    kk_buf tbuf = {0};
    if (file) {
        text = NULL;
        int rc = cli_get_text("bench", &text, file, &tbuf);
        if (rc != KK_EXIT_OK)
            return rc;
    }
    kk_error err = {0};
    double t0 = kk_now_s();
    kk_tts *tts = NULL;
    if (kk_tts_new(&tp, &tts, &err) != KK_OK) {
        kk_buf_free(&tbuf);
        return cli_fail(&err);
    }
    double load = kk_now_s() - t0;
    bench_state b = {0};
    kk_tts_profile prof;
    memset(&prof, 0, sizeof prof);
    sp.on_chunk = bench_chunk;
    sp.on_warning = bench_warning;
    sp.user = &b;
    double best = 1e30;
    bench_state fa = {0}; /* --first-audio: the run with the earliest first chunk */
    double from_start = 0;
    fa.first = 1e30;
    kk_status st = KK_OK;
    /* the first run includes one-time work (page faults of the weights,
     * the fast mode's packing); the best of --repeat runs is reported and
     * profiled */
    for (int r = 0; r < repeat && st == KK_OK; r++) {
        kk_tts_profile cur;
        memset(&cur, 0, sizeof cur);
        sp.profile = &cur;
        b = (bench_state){.max_chunks = max_chunks, .first = -1};
        b.cpu0 = cpu_s();
        t0 = b.t0 = kk_now_s();
        st = kk_tts_synthesize(tts, text, &sp, &err);
        if (st == KK_ERR_ABORTED && max_chunks && b.chunks >= max_chunks)
            st = KK_OK; /* stopped after --max-chunks, as asked */
        double took = kk_now_s() - t0;
        if (took < best)
            best = took, prof = cur;
        if (st == KK_OK && b.chunks && b.first < fa.first)
            fa = b;
        if (r == 0 && st == KK_OK && b.chunks)
            from_start = t0 - t_start + b.first; /* the first run's, model load included */
    }
    kk_tts_free(tts);
    if (st != KK_OK) {
        kk_buf_free(&tbuf);
        return cli_fail(&err);
    }
    if (first_audio) {
        printf("first audio %.3f s after the call (best of %d; the first run's: %.3f s after the program started, "
               "model load included): a chunk of %zu ids, %.2f s of audio; %zu words, %zu chunks%s, %s chunks; "
               "a player started then waits %zu times, %.2f s in all; threads %d, precision %s; CPU time to the "
               "first audio %.3f s (a wall time far above CPU time / threads: the machine is busy)\n",
               fa.first, repeat, from_start, fa.first_ids > 2 ? fa.first_ids - 2 : 0,
               fa.first_audio, count_words(text), fa.chunks, max_chunks && fa.chunks >= max_chunks ? " (stopped)" : "",
               sp.stream_chunks ? "streaming" : "packed", fa.gaps, fa.late,
               sp.threads > 0 ? sp.threads : (int)sysconf(_SC_NPROCESSORS_ONLN),
               sp.precision == KK_PRECISION_FAST ? "fast" : "exact", fa.first_cpu);
    }
    kk_buf_free(&tbuf);
    int threads = sp.threads > 0 ? sp.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    double audio = b.samples / (double)KK_SAMPLE_RATE;
    printf("load %.3f s, synthesis %.2f s for %.2f s of speech: real-time factor %.3f (%.1fx faster than "
           "real time); threads %d, precision %s\n",
           load, best, audio, best / audio, audio / best, threads,
           sp.precision == KK_PRECISION_FAST ? "fast" : "exact");
    if (profile)
        print_profile(&prof, threads, sp.precision == KK_PRECISION_FAST && kk_forward_fast_available(NULL, 0),
                      best * 1e3);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        printf("peak RSS %.1f MiB\n", ru.ru_maxrss / 1024.0);
    return KK_EXIT_OK;
}
