/*
 * cmd_serve.c - `kokoro serve`: the web studio and its API (src/server)
 * until SIGINT or SIGTERM, then an orderly stop (renders cancelled, event
 * streams ended, the database closed) and exit status 0.
 *
 * The signals are blocked before the server starts its threads (which
 * inherit the mask) and taken here with sigwait, so no handler runs in
 * the middle of the server's work.
 *
 * --redis URL (or KOKORO_REDIS_URL): renders go to render workers
 * (src/worker/worker.h), and /api/health says how many are alive.
 *
 * --precision exact|fast sets the studio's renders (default exact, the
 * reference audio), --speech-precision the OpenAI-compatible API's
 * (default fast: its clients want speed); both fall back to exact where
 * the CPU lacks AMX-BF16, with one line at start.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "server.h"
#include "worker.h"

static void on_log(void *user, const char *line)
{
    (void)user;
    fprintf(stderr, "kokoro: %s\n", line);
}

static int parse_size(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    double x = v ? strtod(v, &end) : 0;
    if (!v || *end || !(x >= lo && x <= hi)) {
        cli_usage("serve: %s takes a number from %g to %g", opt, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

#define MAX_LIST 16

static void on_redis_message(void *user, const char *msg)
{
    (void)user;
    fprintf(stderr, "kokoro: redis: %s\n", msg);
}

static int redis_workers(void *user) { return kk_redis_backend_workers(user); }

int cmd_serve(int argc, char **argv)
{
    kk_server_params p = kk_server_default_params();
    const char *origins[MAX_LIST + 1] = {0}, *hosts[MAX_LIST + 1] = {0};
    size_t n_origins = 0, n_hosts = 0;
    int quiet = 0;
    const char *redis_url = getenv("KOKORO_REDIS_URL");
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x;
#define NUM(lo, hi)                                                                                                    \
    do {                                                                                                               \
        if (parse_size(o, v, lo, hi, &x))                                                                              \
            return KK_EXIT_INPUT;                                                                                      \
        i++;                                                                                                           \
    } while (0)
        if (!strcmp(o, "--host") && v)
            p.host = v, i++;
        else if (!strcmp(o, "--port")) {
            NUM(0, 65535);
            p.port = (int)x;
        } else if (!strcmp(o, "--data") && v)
            p.data_dir = v, i++;
        else if (!strcmp(o, "--model") && v)
            p.model = v, i++;
        else if (!strcmp(o, "--voices") && v)
            p.voices_dir = v, i++;
        else if (!strcmp(o, "--cache-dir") && v)
            p.cache_dir = v, i++;
        else if (!strcmp(o, "--no-cache"))
            p.no_cache = 1;
        else if (!strcmp(o, "--web") && v)
            p.web_dir = v, i++;
        else if (!strcmp(o, "--max-upload-mb")) {
            NUM(0.001, 4096);
            p.max_upload_bytes = (size_t)(x * 1048576);
        } else if (!strcmp(o, "--max-video-mb")) {
            NUM(0.001, 16 << 20);
            p.max_video_bytes = (size_t)(x * 1048576);
        } else if (!strcmp(o, "--max-body-mb")) {
            NUM(0.001, 1024);
            p.max_body_bytes = (size_t)(x * 1048576);
        } else if (!strcmp(o, "--max-json-depth")) {
            NUM(1, 1000);
            p.max_json_depth = (int)x;
        } else if (!strcmp(o, "--max-segments")) {
            NUM(1, 10000000);
            p.max_segments = (size_t)x;
        } else if (!strcmp(o, "--max-text-bytes")) {
            NUM(1, 4 << 20);
            p.max_text_bytes = (size_t)x;
        } else if (!strcmp(o, "--http-threads")) {
            NUM(1, 256);
            p.http_threads = (int)x;
        } else if (!strcmp(o, "--workers")) {
            NUM(1, 256);
            p.render_workers = (int)x;
        } else if (!strcmp(o, "--max-connections")) {
            NUM(4, 100000);
            p.max_connections = (size_t)x;
        } else if (!strcmp(o, "--max-client-connections")) {
            NUM(1, 100000);
            p.max_client_connections = (size_t)x;
        } else if (!strcmp(o, "--memory-mb")) {
            NUM(1, 1048576);
            p.memory_bytes = (size_t)(x * 1048576.0);
        } else if (!strcmp(o, "--idle-timeout")) {
            NUM(1, 3600);
            p.idle_timeout_s = (int)x;
        } else if (!strcmp(o, "--request-timeout")) {
            NUM(1, 3600);
            p.request_timeout_s = (int)x;
        } else if (!strcmp(o, "--token") && v)
            p.token = v, i++;
        else if (!strcmp(o, "--require-token"))
            p.require_token = 1;
        else if (!strcmp(o, "--allow-origin") && v && n_origins < MAX_LIST)
            origins[n_origins++] = v, i++;
        else if (!strcmp(o, "--allow-host") && v && n_hosts < MAX_LIST)
            hosts[n_hosts++] = v, i++;
        else if (!strcmp(o, "--log-requests"))
            p.log_requests = 1;
        else if (!strcmp(o, "--max-speech-chars")) {
            NUM(1, 1000000);
            p.max_speech_chars = (size_t)x;
        } else if (!strcmp(o, "--speech-workers")) {
            NUM(1, 256);
            p.speech_workers = (int)x;
        } else if (!strcmp(o, "--speech-queue")) {
            NUM(1, 100000);
            p.speech_queue = (size_t)x;
        }
        else if ((!strcmp(o, "--precision") || !strcmp(o, "--speech-precision")) && v) {
            /* --precision: the studio's renders; --speech-precision: /v1/audio/speech */
            if (cli_precision("serve", o, v, !strcmp(o, "--precision") ? &p.precision : &p.speech_precision) !=
                KK_EXIT_OK)
                return KK_EXIT_INPUT;
            i++;
        } else if (!strcmp(o, "--quiet"))
            quiet = 1;
        else if (!strcmp(o, "--redis") && v)
            redis_url = v, i++;
        else
            return cli_usage("serve: unknown or incomplete option '%s'", o);
#undef NUM
    }
    if (p.token && strlen(p.token) < 16)
        return cli_usage("serve: --token needs at least 16 characters");
    p.allow_origins = origins;
    p.allow_hosts = hosts;
    p.log = quiet ? NULL : on_log;

    /* Blocked here, the signals are blocked in every thread the server
     * starts; sigwait below takes them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    cli_long_running_malloc(); /* before the server's threads start */
    kk_error err = {0};
    kk_redis_backend *redis = NULL;
    if (redis_url && *redis_url) {
        kk_redis_backend_params bp = kk_redis_backend_default_params();
        bp.url = redis_url;
        bp.on_message = quiet ? NULL : on_redis_message;
        if (kk_redis_backend_open(&bp, &redis, &err) != KK_OK)
            return cli_fail(&err);
        p.render_backend = kk_redis_backend_get(redis);
        p.backend_workers = redis_workers;
        p.backend_user = redis;
    }
    kk_server *s = NULL;
    if (kk_server_start(&p, &s, &err) != KK_OK) {
        kk_redis_backend_close(redis);
        return cli_fail(&err);
    }
    if (!quiet) {
        if (!kk_server_web_dir(s))
            fprintf(stderr, "kokoro: no web studio files found (build web/ or pass --web DIR); the API works\n");
        if (kk_server_token(s))
            fprintf(stderr,
                    "kokoro: listening beyond this machine: every API request needs the token\n"
                    "kokoro: token %s\n",
                    kk_server_token(s));
    }
    /* The address on stdout (scripts read it, with --port 0 too). */
    printf("kokoro: serving the studio at %s\n", kk_server_url(s));
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    if (!quiet)
        fprintf(stderr, "kokoro: %s: stopping\n", sig == SIGINT ? "interrupted" : "terminated");
    kk_server_stop(s);
    kk_redis_backend_close(redis);
    return KK_EXIT_OK;
}
