/*
 * cmd_render.c - `kokoro render`: a subtitle or text file to one timed audio
 * track (or a dubbed video), over kk_render (src/render) and the exporters
 * (src/audio/export.h).
 *
 * Everything is written atomically: the track, the subtitles and the report
 * appear under their names only when complete. Ctrl-C stops the render (or
 * the export) at the next segment, writes nothing, and keeps in the cache
 * what was already rendered, so running the command again goes on from
 * there.
 *
 * --redis URL (or KOKORO_REDIS_URL) renders the misses on render workers
 * (src/worker/worker.h); without a live worker or Redis it says so once
 * and renders here.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "export.h"
#include "render.h"
#include "subtitles.h"
#include "worker.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct {
    int bar; /* stderr is a terminal */
    const char *path;
} render_ui;

static void show_bar(size_t done, size_t total, double eta_s, const char *what)
{
    int width = 30, fill = total ? (int)((double)width * (double)done / (double)total) : width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[width] = '\0';
    fprintf(stderr, "\r[%s] %zu/%zu %s", bar, done, total, what);
    if (eta_s >= 0)
        fprintf(stderr, ", %d:%02d left  ", (int)eta_s / 60, (int)eta_s % 60);
    else
        fputs("            ", stderr);
    fflush(stderr);
}

static void on_progress(void *user, size_t done, size_t total, double eta_s)
{
    render_ui *ui = user;
    if (ui->bar)
        show_bar(done, total, eta_s, "segments");
}

static int on_export_progress(void *user, double fraction)
{
    render_ui *ui = user;
    if (ui->bar)
        show_bar((size_t)(fraction * 100.0), 100, -1, "% written");
    return interrupted;
}

static int should_abort(void *user)
{
    (void)user;
    return interrupted;
}

static void on_warning(void *user, size_t index, const char *msg)
{
    render_ui *ui = user;
    if (ui->bar)
        fputc('\n', stderr);
    fprintf(stderr, "kokoro: warning: %s: segment %zu: %s\n", ui->path, index, msg);
}

static void on_parse_warning(void *user, const char *file, long line, const char *msg)
{
    (void)user;
    fprintf(stderr, "kokoro: warning: %s:%ld: %s\n", file, line, msg);
}

/* One line per kind of adjustment the fit made. */
static void print_summary(const kk_render_result *r)
{
    kk_render_summary s = kk_render_summarize(r);
    if (s.sped_up)
        fprintf(stderr, "kokoro: fit: %zu of %zu cues spoken faster (up to %.2fx)\n", s.sped_up, r->n_cues,
                (double)s.max_speed);
    if (s.stretched)
        fprintf(stderr,
                "kokoro: fit: %zu cues time-stretched (down to %.0f %% of their "
                "length)\n",
                s.stretched, 100.0 * s.min_stretch);
    if (s.into_gap)
        fprintf(stderr,
                "kokoro: fit: %zu cues run past their end into the silence after "
                "them\n",
                s.into_gap);
    if (s.overlapping)
        fprintf(stderr,
                "kokoro: fit: %zu cues overlap the next one (worst: cue %zu, by "
                "%.2f s); "
                "--fit truncate cuts them instead\n",
                s.overlapping, s.worst_overlap_index, (double)s.max_overlap_samples / KK_SAMPLE_RATE);
    if (s.truncated)
        fprintf(stderr,
                "kokoro: fit: %zu cues cut short where the next cue starts (up to "
                "%.2f s lost)\n",
                s.truncated, (double)s.max_truncated_samples / KK_SAMPLE_RATE);
    size_t words = 0, fell_back = 0;
    for (size_t i = 0; i < r->n_cues; i++)
        words += r->cues[i].word_fit, fell_back += r->cues[i].fit_note != NULL;
    if (words)
        fprintf(stderr, "kokoro: fit: %zu of %zu cues spoken with their words at their times\n", words, r->n_cues);
    if (fell_back)
        fprintf(stderr, "kokoro: fit: %zu cues could not follow their word times (fit_note in the report "
                "says which words and why); the cue's fit was used\n", fell_back);
    if (s.sped_up + s.stretched + s.into_gap + s.overlapping + s.truncated + fell_back)
        fprintf(stderr, "kokoro: fit: --report FILE.json lists every cue\n");
}

static int parse_num(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    double x = v ? strtod(v, &end) : NAN;
    if (!v || *end || !(x >= lo && x <= hi)) {
        cli_usage("render: %s takes a number from %g to %g", opt, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

/* Audio held in memory by a render (--memory-mb): the
 * track and the segments waiting for placement; past it they wait in an
 * unlinked file in $TMPDIR. 256 MiB holds a track of about 45 minutes. */
#define DEFAULT_MEMORY_MB ((size_t)256)

typedef struct {
    const char *in, *out, *video, *report, *subtitles, *format, *in_format, *cache_dir, *redis, *encoding;
    int no_cache, keep_audio, strict, progress, redis_no_lookup;
    int mix_given;        /* --mix or a ducking option: needs --video */
    kk_mux_params mp;     /* --mix, --duck-db, --attack-ms, --release-ms */
    kk_subtitle_times sub_times; /* --subtitle-times speech|cue */
    size_t memory_mb; /* --memory-mb */
    kk_tts_params tp;
    kk_render_params rp;
    kk_export_params ep;
} render_args;

static int parse_args(int argc, char **argv, render_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x;
#define NUM(lo, hi)                                                                                                    \
    do {                                                                                                               \
        if (parse_num(o, v, lo, hi, &x))                                                                               \
            return -1;                                                                                                 \
        i++;                                                                                                           \
    } while (0)
        if ((!strcmp(o, "-o") || !strcmp(o, "--output")) && v)
            a->out = v, i++;
        else if ((!strcmp(o, "-v") || !strcmp(o, "--voice")) && v)
            a->rp.voice = v, i++;
        else if (!strcmp(o, "-s") || !strcmp(o, "--speed")) {
            NUM(0.5, 2.0);
            a->rp.speed = (float)x;
        } else if (!strcmp(o, "--pitch")) {
            NUM(-12, 12);
            a->rp.pitch = x;
        } else if (!strcmp(o, "--voice-map") && v)
            a->rp.voice_map = v, i++;
        else if (!strcmp(o, "--fit") && v) {
            if (!strcmp(v, "overlap") || !strcmp(v, "auto"))
                a->rp.fit.overflow = KK_OVERFLOW_OVERLAP;
            else if (!strcmp(v, "truncate"))
                a->rp.fit.overflow = KK_OVERFLOW_TRUNCATE;
            else if (!strcmp(v, "none"))
                a->rp.fit.enabled = 0;
            else if (!strcmp(v, "words"))
                a->rp.fit.words = 1; /* cues without word times keep the cue's fit */
            else
                return cli_usage("render: --fit takes overlap (the default), truncate, "
                                 "none or words"),
                       -1;
            i++;
        } else if (!strcmp(o, "--max-speed")) {
            NUM(1, 2);
            a->rp.fit.max_speed = (float)x;
        } else if (!strcmp(o, "--max-stretch")) {
            NUM(1, 2);
            a->rp.fit.max_stretch = x;
        } else if (!strcmp(o, "--pauses") && v) {
            int m = kk_pause_mode_from_name(v);
            if (m < 0)
                return cli_usage("render: --pauses takes silence (the default) or stretch"), -1;
            a->rp.fit.pause_mode = (kk_pause_mode)m;
            i++;
        } else if (!strcmp(o, "--no-gap"))
            a->rp.fit.use_gap = 0;
        else if (!strcmp(o, "--gap")) {
            NUM(0, 600000);
            a->rp.gap_ms = (int64_t)x;
        } else if (!strcmp(o, "--lead")) {
            NUM(0, 600000);
            a->rp.lead_ms = (int64_t)x;
        } else if (!strcmp(o, "--normalize"))
            a->rp.normalize = 1;
        else if (!strcmp(o, "--lufs")) {
            NUM(-70, 0);
            a->rp.loudness.target_lufs = x;
            a->rp.normalize = 1;
        } else if (!strcmp(o, "--true-peak")) {
            NUM(-20, 0);
            a->rp.loudness.true_peak_db = x;
            a->rp.normalize = 1;
        } else if (!strcmp(o, "--workers")) {
            NUM(1, 256);
            a->rp.workers = (int)x;
        } else if (!strcmp(o, "--threads")) {
            NUM(1, 256);
            a->rp.threads = (int)x;
        } else if (!strcmp(o, "--precision") && v) {
            if (cli_precision("render", o, v, &a->rp.precision) != KK_EXIT_OK)
                return -1;
            i++;
        } else if (!strcmp(o, "--memory-mb")) {
            NUM(0, 1 << 20);
            a->memory_mb = (size_t)x;
        } else if (!strcmp(o, "--report") && v)
            a->report = v, i++;
        else if (!strcmp(o, "--subtitles") && v)
            a->subtitles = v, i++;
        else if (!strcmp(o, "--subtitle-times") && v) {
            if (strcmp(v, "speech") && strcmp(v, "cue"))
                return cli_usage("render: --subtitle-times takes speech (where the speech sounds) or cue (the "
                                 "cues' own times), not '%s'", v), -1;
            a->sub_times = strcmp(v, "cue") ? KK_SUBTITLE_SPEECH : KK_SUBTITLE_CUES;
            i++;
        } else if (!strcmp(o, "--encoding") && v)
            a->encoding = v, i++;
        else if (!strcmp(o, "--format") && v)
            a->format = v, i++;
        else if (!strcmp(o, "--input-format") && v)
            a->in_format = v, i++;
        else if (!strcmp(o, "--rate")) {
            NUM(8000, 192000);
            a->ep.sample_rate = (int)x;
        } else if (!strcmp(o, "--bitrate")) {
            NUM(8, 512);
            a->ep.bitrate_kbps = (int)x;
        } else if (!strcmp(o, "--vbr"))
            a->ep.vbr = 1;
        else if (!strcmp(o, "--vbr-quality")) {
            NUM(0, 9);
            a->ep.vbr = 1;
            a->ep.vbr_quality = (int)x;
        } else if (!strcmp(o, "--video") && v)
            a->video = v, i++;
        else if (!strcmp(o, "--keep-audio"))
            a->keep_audio = 1;
        else if (!strcmp(o, "--mix") && v) {
            kk_error e = {0};
            if (kk_mix_mode_parse(v, &a->mp.mix, &e) != KK_OK)
                return cli_usage("render: --%s", e.msg), -1;
            a->mix_given = 1, i++;
        } else if (!strcmp(o, "--duck-db")) {
            NUM(-60, 0);
            a->mp.duck.duck_db = x, a->mix_given = 1;
        } else if (!strcmp(o, "--attack-ms")) {
            NUM(0, 2000);
            a->mp.duck.attack_ms = x, a->mix_given = 1;
        } else if (!strcmp(o, "--release-ms")) {
            NUM(0, 5000);
            a->mp.duck.release_ms = x, a->mix_given = 1;
        }
        else if (!strcmp(o, "--cache-dir") && v)
            a->cache_dir = v, i++;
        else if (!strcmp(o, "--no-cache"))
            a->no_cache = 1;
        else if (!strcmp(o, "--model") && v)
            a->tp.model = v, i++;
        else if (!strcmp(o, "--voices") && v)
            a->tp.voices_dir = v, i++;
        else if (!strcmp(o, "--lang") && v)
            a->rp.lang = v, i++;
        else if (!strcmp(o, "--lexicon") && v)
            a->rp.lexicon_path = v, i++;
        else if (!strcmp(o, "--strict"))
            a->strict = 1;
        else if (!strcmp(o, "--progress"))
            a->progress = 1;
        else if (!strcmp(o, "--redis") && v)
            a->redis = v, i++;
        else if (!strcmp(o, "--no-redis"))
            a->redis = "";
        else if (!strcmp(o, "--redis-no-lookup"))
            a->redis_no_lookup = 1;
        else if (o[0] == '-' && o[1])
            return cli_usage("render: unknown or incomplete option '%s'", o), -1;
        else if (!a->in)
            a->in = o;
        else
            return cli_usage("render: one input file at a time ('%s' and '%s')", a->in, o), -1;
#undef NUM
    }
    if (!a->in)
        return cli_usage("render: name a subtitle or text file to render"), -1;
    if (!a->out)
        return cli_usage("render: name the output with -o OUT (.wav, .flac, .mp3, "
                         ".m4a; with --video, .mp4)"),
               -1;
    if ((a->keep_audio || a->mix_given) && !a->video)
        return cli_usage("render: --keep-audio, --mix and the ducking options go with --video"), -1;
    if (a->keep_audio && a->mix_given && a->mp.mix != KK_MIX_ADD)
        return cli_usage("render: --keep-audio is --mix add; give one of them"), -1;
    return 0;
}

/* The track to its file: an audio export, or a dubbed video. */
static kk_status write_track(const render_args *a, const kk_render_result *r, render_ui *ui, kk_error *err)
{
    if (a->video) {
        kk_mux_params mp = a->mp;
        mp.keep_audio = a->keep_audio;
        if (a->ep.bitrate_kbps)
            mp.bitrate_kbps = a->ep.bitrate_kbps;
        mp.progress = on_export_progress;
        mp.user = ui;
        kk_sample_io io = kk_render_io(r); /* in memory or in its temporary file: streamed either way */
        return kk_mux_video_io(a->video, a->out, &io, r->n_samples, KK_SAMPLE_RATE, &mp, err);
    }
    kk_export_params ep = a->ep;
    kk_status st = kk_export_format_parse(a->format ? a->format : a->out, &ep.format, err);
    if (st != KK_OK)
        return st;
    ep.progress = on_export_progress;
    ep.user = ui;
    kk_sample_io io = kk_render_io(r); /* in memory or in its temporary file */
    return kk_export_audio_io(a->out, &io, r->n_samples, KK_SAMPLE_RATE, &ep, err);
}

static void on_redis_message(void *user, const char *msg)
{
    render_ui *ui = user;
    if (ui->bar)
        fputc('\n', stderr);
    fprintf(stderr, "kokoro: redis: %s\n", msg);
}

static kk_status open_cache(const render_args *a, kk_cache **cache, kk_error *err)
{
    *cache = NULL;
    if (a->no_cache)
        return KK_OK;
    char dir[4096];
    kk_cache_params cp = kk_cache_default_params();
    if (a->cache_dir) {
        cp.dir = a->cache_dir;
    } else {
        if (kk_cache_default_dir(dir, sizeof dir, err) != KK_OK)
            return KK_ERR_IO;
        cp.dir = dir;
    }
    return kk_cache_open(&cp, cache, err);
}

int cmd_render(int argc, char **argv)
{
    render_args a = {.tp = kk_tts_default_params(),
                     .rp = kk_render_default_params(),
                     .ep = kk_export_default_params(),
                     .mp = kk_mux_default_params(),
                     .memory_mb = DEFAULT_MEMORY_MB};
    if (parse_args(argc, argv, &a))
        return KK_EXIT_INPUT;
    kk_error err = {0};
    if (!a.redis)
        a.redis = getenv("KOKORO_REDIS_URL");
    render_ui ui = {.bar = a.progress || isatty(STDERR_FILENO), .path = a.in};
    kk_redis_backend *redis = NULL;
    if (a.redis && *a.redis) {
        kk_redis_backend_params bp = kk_redis_backend_default_params();
        bp.url = a.redis;
        bp.lookup = !a.redis_no_lookup;
        bp.on_message = on_redis_message;
        bp.user = &ui;
        if (kk_redis_backend_open(&bp, &redis, &err) != KK_OK)
            return cli_fail(&err);
        signal(SIGPIPE, SIG_IGN);
    }
    kk_format sub_format = KK_FORMAT_AUTO;
    if (a.subtitles) {
        sub_format = kk_format_from_path(a.subtitles);
        if (sub_format != KK_FORMAT_SRT && sub_format != KK_FORMAT_VTT && sub_format != KK_FORMAT_WSCRIBE &&
            sub_format != KK_FORMAT_ASS)
            return cli_usage("render: --subtitles writes .srt, .vtt, .ass or .json (WScribe), not '%s'", a.subtitles);
    }
    kk_export_format ef;
    if (!a.video && kk_export_format_parse(a.format ? a.format : a.out, &ef, &err) != KK_OK)
        return cli_fail(&err);
    if (kk_render_check_voice_map(a.rp.voice_map, &err) != KK_OK)
        return cli_fail(&err);

    kk_parse_params pp = kk_parse_default_params();
    pp.strict = a.strict;
    pp.encoding = a.encoding;
    pp.on_warning = on_parse_warning;
    if (a.in_format && (pp.format = kk_format_from_name(a.in_format)) == KK_FORMAT_AUTO)
        return cli_usage("render: --input-format takes txt, srt, vtt, ass or wscribe");
    kk_doc *doc = NULL;
    if (kk_parse_file(a.in, &pp, &doc, &err) != KK_OK)
        return cli_fail(&err);
    /* From here on Ctrl-C stops cleanly (checked between segments). */
    struct sigaction sa = {.sa_handler = on_sigint}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    kk_render_segment *segs = kk_render_segments_from_doc(doc);
    kk_tts *tts = NULL;
    kk_cache *cache = NULL;
    kk_render_result r = {0};
    kk_status st = segs ? KK_OK : kk_error_set(&err, KK_ERR_NOMEM, "out of memory");
    if (st == KK_OK)
        st = kk_tts_new(&a.tp, &tts, &err);
    if (st == KK_OK && (st = open_cache(&a, &cache, &err)) != KK_OK) {
        /* A cache that cannot be opened slows us down; it stops nothing. */
        fprintf(stderr, "kokoro: warning: rendering without a cache: %s\n", err.msg);
        st = KK_OK;
    }
    if (st == KK_OK && interrupted)
        st = kk_error_set(&err, KK_ERR_ABORTED, "interrupted");
    if (st == KK_OK) {
        a.rp.cache = cache;
        a.rp.on_progress = on_progress;
        a.rp.abort = should_abort;
        a.rp.on_warning = on_warning;
        a.rp.user = &ui;
        /* Exports and dubs read the track in pieces, so a long one (an
         * audiobook, a film) can wait in a temporary file. */
        a.rp.memory_limit = a.memory_mb << 20;
        a.rp.backend = kk_redis_backend_get(redis);
        st = kk_render(tts, segs, doc->n_segs, &a.rp, &r, &err);
        if (ui.bar)
            fputc('\n', stderr);
    }
    if (st == KK_OK)
        st = write_track(&a, &r, &ui, &err);
    if (ui.bar && st == KK_OK)
        fputc('\n', stderr);
    if (st == KK_OK && a.subtitles)
        st = kk_render_save_subtitles_as(&r, a.subtitles, sub_format, a.sub_times, &err);
    if (st == KK_OK && a.report)
        st = kk_render_save_report(&r, a.report, &err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    int code = KK_EXIT_OK;
    if (st == KK_ERR_ABORTED || (st != KK_OK && interrupted)) {
        fprintf(stderr, "kokoro: interrupted: nothing written; the segments "
                        "already rendered are cached\n");
        code = 130;
    } else if (st != KK_OK) {
        code = cli_fail(&err);
    } else {
        print_summary(&r);
        fprintf(stderr,
                "kokoro: wrote %s (%.2f s, %zu segments: %zu rendered, %zu from "
                "the cache, in %.1f s)\n",
                a.out, (double)r.n_samples / KK_SAMPLE_RATE, r.n_cues, r.synthesized, r.from_cache, r.seconds);
        if (redis) {
            kk_redis_backend_stats bs = kk_redis_backend_stats_get(redis);
            fprintf(stderr, "kokoro: redis: %zu jobs queued: %zu rendered by workers, %zu already done there, "
                    "%zu refused, %zu failed, %zu rendered here for want of a worker; %zu entries fetched; "
                    "queue to answer %.1f ms on average, %.2f ms of queue time per job\n",
                    bs.sent, bs.rendered, bs.cached, bs.refused, bs.failed, bs.given_back, bs.fetched,
                    bs.latency_n ? 1000.0 * bs.latency_s / (double)bs.latency_n : 0.0,
                    bs.sent ? 1000.0 * bs.run_s / (double)bs.sent : 0.0);
        }
        if (r.normalized)
            fprintf(stderr, "kokoro: loudness %.1f LUFS (gain %+.1f dB), true peak %.1f dBTP\n", r.loudness.output_lufs,
                    r.loudness.gain_db, r.loudness.output_peak_db);
    }
    kk_render_result_free(&r);
    kk_redis_backend_close(redis);
    kk_cache_close(cache);
    kk_tts_free(tts);
    free(segs);
    kk_doc_free(doc);
    return code;
}
