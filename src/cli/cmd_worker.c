/*
 * cmd_worker.c - `kokoro worker`: a long-running render worker on Redis
 * Streams (src/worker/worker.h). Loads the model once, then serves jobs
 * until SIGTERM or SIGINT: the first finishes the jobs in hand and exits,
 * a second stops them and releases them to other workers.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "worker.h"

static atomic_int stop_level;

static void on_signal(int sig)
{
    (void)sig;
    atomic_fetch_add(&stop_level, 1);
}

static void on_message(void *user, const char *msg)
{
    (void)user;
    fprintf(stderr, "kokoro: worker: %s\n", msg);
}

static int parse_int(const char *opt, const char *v, long lo, long hi, long *out)
{
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || end == v || x < lo || x > hi)
        return cli_usage("worker: %s takes a whole number from %ld to %ld", opt, lo, hi), -1;
    *out = x;
    return 0;
}

int cmd_worker(int argc, char **argv)
{
    kk_worker_params wp = kk_worker_default_params();
    kk_tts_params tp = kk_tts_default_params();
    wp.url = getenv("KOKORO_REDIS_URL");
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long x;
#define INT(lo, hi)                                                                                                    \
    do {                                                                                                               \
        if (parse_int(o, v, lo, hi, &x))                                                                               \
            return KK_EXIT_INPUT;                                                                                      \
        i++;                                                                                                           \
    } while (0)
        if (!strcmp(o, "--redis") && v)
            wp.url = v, i++;
        else if (!strcmp(o, "--workers")) {
            INT(1, 256);
            wp.workers = (int)x;
        } else if (!strcmp(o, "--threads")) {
            INT(1, 256);
            wp.threads = (int)x;
        } else if (!strcmp(o, "--visibility")) {
            INT(1, 86400);
            wp.visibility_ms = (int)x * 1000;
        } else if (!strcmp(o, "--heartbeat-ms")) {
            INT(10, 60000);
            wp.heartbeat_ms = (int)x;
        } else if (!strcmp(o, "--ttl")) {
            INT(1, 365L * 86400);
            wp.ttl_s = (int)x;
        } else if (!strcmp(o, "--max-entry-mb")) {
            INT(1, 4096);
            wp.max_entry_bytes = (size_t)x << 20;
        } else if (!strcmp(o, "--prefix") && v)
            wp.prefix = v, i++;
        else if (!strcmp(o, "--cache-dir") && v)
            wp.cache_dir = v, i++;
        else if (!strcmp(o, "--model") && v)
            tp.model = v, i++;
        else if (!strcmp(o, "--voices") && v)
            tp.voices_dir = v, i++;
        else
            return cli_usage("worker: unknown or incomplete option '%s' (kokoro worker --redis URL [--workers N] "
                             "[--threads T] [--visibility S] [--ttl S] [--model M])", o);
#undef INT
    }
    if (!wp.url)
        return cli_usage("worker: name the Redis server with --redis redis://HOST:6379/0 (or KOKORO_REDIS_URL)");
    if (wp.visibility_ms <= wp.heartbeat_ms * 2)
        return cli_usage("worker: --visibility must be well over the heartbeat (%d ms)", wp.heartbeat_ms);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    cli_long_running_malloc();
    kk_error err = {0};
    kk_tts *tts = NULL;
    if (kk_tts_new(&tp, &tts, &err) != KK_OK)
        return cli_fail(&err);
    wp.stop = &stop_level;
    wp.on_message = on_message;
    kk_worker_stats st = {0};
    kk_status s = kk_worker_run(tts, &wp, &st, &err);
    kk_tts_free(tts);
    if (s != KK_OK)
        return cli_fail(&err);
    fprintf(stderr, "kokoro: worker: stopped after %zu jobs (%zu rendered, %zu already done, %zu refused, %zu failed, "
                    "%zu dead-lettered); %.1f s of audio in %.1f s\n",
            st.jobs, st.rendered, st.cached, st.refused, st.failed, st.dead, st.audio_s, st.busy_s);
    return KK_EXIT_OK;
}
