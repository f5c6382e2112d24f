/*
 * export.c - see export.h. Owns everything that turns the rendered track
 * into a file and back: the format names and argument checks, the
 * resampler (libswresample), one streaming writer over three encoders
 * (libsndfile for WAV and FLAC, LAME for MP3, FFmpeg's native AAC encoder
 * in an MP4 container for M4A), the video dub (kk_mux_video) and the
 * decoder the tests read every export back with (kk_audio_decode).
 *
 * Every output is written to a file made by kk_tmpfile_create beside the
 * target and renamed over it only once it is complete and synced; every
 * failure path removes that file and leaves the target alone.
 *
 * No global state is touched: FFmpeg's log level and LAME's defaults are
 * left alone (LAME's message callbacks are set per encoder).
 */
#include "export.h"
#include "tmpfile.h"

#include <errno.h>
#include <lame/lame.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/intreadwrite.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <math.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Sample rates we accept at all (input, WAV, FLAC and resampling). */
#define RATE_MIN 1000
#define RATE_MAX 384000
/* The dub's audio rate: what video players and editors expect. */
#define MUX_RATE 48000
/* Samples per write in kk_export_audio (one progress step) and per
 * resampler/encoder call in the writer (bounds the scratch buffers). */
#define CHUNK 16384
#define AAC_KBPS_MIN 16
#define AAC_KBPS_MAX 320
/* Room kept in a plain WAV's 32-bit sizes for the chunks besides the data
 * (libsndfile writes fmt, and for float fact and PEAK: under 100 bytes). */
#define WAV_HEADER_ROOM 4096
/* Frames the resampler may add to a planned length (its filter's tail). */
#define RESAMPLE_SLACK 4096

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const int lame_rates[] = {8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000};
static const int aac_rates[] = {8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000};
/* The bit rates an MP3 frame header can say, by MPEG version (LAME's
 * tables): MPEG-1 at 32..48 kHz, MPEG-2 at 16..24 kHz, MPEG-2.5 below. */
static const int mp3_kbps_v1[] = {32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320};
static const int mp3_kbps_v2[] = {8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160};
static const int mp3_kbps_v25[] = {8, 16, 24, 32, 40, 48, 56, 64};

static const struct {
    const char *name, *ext;
} formats[] = {
    [KK_EXPORT_WAV16] = {"wav", ".wav"}, [KK_EXPORT_WAV32] = {"wav32", ".wav"},
    [KK_EXPORT_FLAC] = {"flac", ".flac"}, [KK_EXPORT_MP3] = {"mp3", ".mp3"},
    [KK_EXPORT_M4A] = {"m4a", ".m4a"},
};

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static int valid_format(kk_export_format f) { return (unsigned)f < COUNT(formats); }

static int in_list(int x, const int *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

/* "8000, 11025, ..." for messages. */
static const char *list_ints(char *b, size_t size, const int *v, size_t n)
{
    size_t len = 0;
    b[0] = 0;
    for (size_t i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(b + len, size - len, "%s%d", i ? ", " : "", v[i]);
    return b;
}

static float clip1(float x) { return x > 1.0f ? 1.0f : x < -1.0f ? -1.0f : x; }

/* The extension of the last path component, "" when it has none. */
static const char *path_ext(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    return dot ? dot : "";
}

/* FFmpeg reads "name:rest" as a protocol; "file:" keeps a path a path. */
static char *file_url(const char *path)
{
    size_t n = strlen(path) + 6;
    char *u = malloc(n);
    if (u)
        snprintf(u, n, "file:%s", path);
    return u;
}

static kk_status io_error(kk_error *err, const char *path, int e)
{
    return kk_error_set(err, KK_ERR_IO, "%s: cannot create the output file: %s; check the directory exists and is "
                        "writable", path, strerror(e));
}

/* fsync and close the temporary file, then rename it over the target. */
static kk_status finish_file(int fd, const char *tmp, const char *path, kk_error *err)
{
    int e = fsync(fd) != 0 ? errno : 0;
    if (close(fd) != 0 && !e)
        e = errno;
    if (e)
        return kk_error_set(err, KK_ERR_IO, "%s: write failed: %s; check free space", path, strerror(e));
    if (rename(tmp, path) != 0)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot move the finished file into place: %s", path,
                            strerror(errno));
    return KK_OK;
}

typedef struct fvec {
    float *v;
    size_t n, cap;
} fvec;

static int fvec_reserve(fvec *f, size_t extra)
{
    if (f->n + extra <= f->cap)
        return 0;
    size_t cap = f->cap ? f->cap : 4096;
    while (cap < f->n + extra)
        cap *= 2;
    float *v = realloc(f->v, cap * sizeof *v);
    if (!v)
        return -1;
    f->v = v, f->cap = cap;
    return 0;
}

static int fvec_append(fvec *f, const float *x, size_t n)
{
    if (!n) /* (f->v may still be NULL: memcpy must not see it) */
        return 0;
    if (fvec_reserve(f, n))
        return -1;
    memcpy(f->v + f->n, x, n * sizeof *x);
    f->n += n;
    return 0;
}

/* Drops the first n samples of f. */
static void fvec_consume(fvec *f, size_t n)
{
    n = n < f->n ? n : f->n;
    if (!n)
        return;
    memmove(f->v, f->v + n, (f->n - n) * sizeof *f->v);
    f->n -= n;
}

/* Hands the samples over; never NULL (a 0-sample result is still a
 * buffer the caller frees). */
static float *fvec_steal(fvec *f)
{
    float *v = f->v ? f->v : malloc(sizeof(float));
    f->v = NULL, f->n = f->cap = 0;
    return v;
}

/* ------------------------------------------------------------------ */
/* resampling                                                          */

/* A mono float resampler whose total output is exactly
 * round(n_in * to / from) samples, aligned with its input (sample 0 in is
 * sample 0 out): libswresample compensates its filter delay and
 * rs_finish() trims or pads the last few samples. */
typedef struct resampler {
    SwrContext *swr;
    int from, to;
    uint64_t n_in, n_out;
    fvec out; /* produced by the last rs_push/rs_finish; the caller empties it */
} resampler;

static int make_swr(SwrContext **s, int from, int to, int soxr)
{
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    int e = swr_alloc_set_opts2(s, &mono, AV_SAMPLE_FMT_FLT, to, &mono, AV_SAMPLE_FMT_FLT, from, 0, NULL);
    /* soxr at 28 bits ("very high quality"): flatter and cleaner than
     * swresample's own filter; swresample runs it on one thread, so the
     * output is the same on every run. */
    if (e >= 0 && soxr)
        e = av_opt_set_int(*s, "resampler", SWR_ENGINE_SOXR, 0);
    if (e >= 0 && soxr)
        e = av_opt_set_int(*s, "precision", 28, 0);
    /* without soxr: swresample's windowed sinc, twice its default length */
    if (e >= 0 && !soxr)
        e = av_opt_set_int(*s, "filter_size", 64, 0);
    if (e >= 0)
        e = swr_init(*s);
    if (e < 0)
        swr_free(s);
    return e;
}

static kk_status rs_open(resampler *r, int from, int to, kk_error *err)
{
    memset(r, 0, sizeof *r);
    r->from = from, r->to = to;
    /* soxr when this FFmpeg was built with it (Debian's is) */
    int e = make_swr(&r->swr, from, to, 1);
    if (e < 0)
        e = make_swr(&r->swr, from, to, 0);
    if (e < 0)
        return kk_error_set(err, e == AVERROR(ENOMEM) ? KK_ERR_NOMEM : KK_ERR_UNSUPPORTED,
                            "cannot resample from %d to %d Hz: %s", from, to, av_err2str(e));
    return KK_OK;
}

static void rs_close(resampler *r)
{
    swr_free(&r->swr);
    free(r->out.v);
    r->out.v = NULL;
}

/* in == NULL drains what the filter holds. */
static kk_status rs_convert(resampler *r, const float *in, int n, kk_error *err)
{
    int room = swr_get_out_samples(r->swr, n);
    if (room < 0)
        room = 0;
    if (fvec_reserve(&r->out, (size_t)room + 1))
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    uint8_t *o = (uint8_t *)(r->out.v + r->out.n);
    const uint8_t *i = (const uint8_t *)in;
    int k = swr_convert(r->swr, &o, room, in ? &i : NULL, n);
    if (k < 0)
        return kk_error_set(err, KK_ERR_INPUT, "resampling failed: %s", av_err2str(k));
    r->out.n += (size_t)k;
    r->n_out += (uint64_t)k;
    return KK_OK;
}

static kk_status rs_push(resampler *r, const float *in, size_t n, kk_error *err)
{
    while (n) {
        int c = n > CHUNK ? CHUNK : (int)n;
        kk_status st = rs_convert(r, in, c, err);
        if (st != KK_OK)
            return st;
        in += c, n -= (size_t)c;
        r->n_in += (uint64_t)c;
    }
    return KK_OK;
}

static kk_status rs_finish(resampler *r, kk_error *err)
{
    uint64_t want = (r->n_in * (uint64_t)r->to + (uint64_t)r->from / 2) / (uint64_t)r->from;
    for (;;) {
        size_t before = r->out.n;
        kk_status st = rs_convert(r, NULL, 0, err);
        if (st != KK_OK)
            return st;
        if (r->out.n == before)
            break;
    }
    if (r->n_out > want) { /* the filter's tail beyond the last input sample */
        uint64_t extra = r->n_out - want;
        r->out.n -= extra < r->out.n ? (size_t)extra : r->out.n;
    } else if (r->n_out < want) {
        size_t pad = (size_t)(want - r->n_out);
        if (fvec_reserve(&r->out, pad))
            return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
        memset(r->out.v + r->out.n, 0, pad * sizeof(float));
        r->out.n += pad;
    }
    r->n_out = want;
    return KK_OK;
}

static kk_status check_rate(int rate, const char *what, kk_error *err)
{
    if (rate < RATE_MIN || rate > RATE_MAX)
        return kk_error_set(err, KK_ERR_ARG, "%s sample rate %d Hz is out of range; use %d..%d Hz", what, rate,
                            RATE_MIN, RATE_MAX);
    return KK_OK;
}

kk_status kk_resample(const float *in, size_t n, int from_rate, int to_rate, float **out, size_t *n_out,
                      kk_error *err)
{
    if (!out || !n_out || (!in && n))
        return kk_error_set(err, KK_ERR_ARG, "kk_resample: samples and result pointers must not be NULL");
    *out = NULL, *n_out = 0;
    kk_status st = check_rate(from_rate, "input", err);
    if (st == KK_OK)
        st = check_rate(to_rate, "output", err);
    if (st != KK_OK)
        return st;
    if (from_rate == to_rate) {
        *out = malloc(n ? n * sizeof(float) : sizeof(float));
        if (!*out)
            return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
        if (n)
            memcpy(*out, in, n * sizeof(float));
        *n_out = n;
        return KK_OK;
    }
    resampler r;
    st = rs_open(&r, from_rate, to_rate, err);
    if (st == KK_OK)
        st = rs_push(&r, in, n, err);
    if (st == KK_OK)
        st = rs_finish(&r, err);
    if (st == KK_OK) {
        *n_out = r.out.n;
        *out = fvec_steal(&r.out);
        if (!*out)
            st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    }
    rs_close(&r);
    return st;
}

/* ------------------------------------------------------------------ */
/* formats and parameters                                              */

kk_export_params kk_export_default_params(void)
{
    return (kk_export_params){.format = KK_EXPORT_WAV16, .vbr_quality = 4};
}

kk_mux_params kk_mux_default_params(void)
{
    return (kk_mux_params){.mix = KK_MIX_REPLACE, .duck = kk_duck_default_params()};
}

kk_status kk_mix_mode_parse(const char *name, kk_mix_mode *out, kk_error *err)
{
    static const char *const names[] = {"replace", "add", "duck"};
    for (int i = 0; name && i < 3; i++)
        if (!strcmp(name, names[i])) {
            *out = (kk_mix_mode)i;
            return KK_OK;
        }
    return kk_error_set(err, KK_ERR_ARG, "mix \"%s\": replace, add or duck", name ? name : "");
}

/* The mode p asks for (keep_audio is the older name of KK_MIX_ADD). */
static kk_mix_mode mix_of(const kk_mux_params *p)
{
    return p->mix == KK_MIX_REPLACE && p->keep_audio ? KK_MIX_ADD : p->mix;
}

static int is_wav(kk_export_format f) { return f == KK_EXPORT_WAV16 || f == KK_EXPORT_WAV32; }

int kk_export_needs_rf64(kk_export_format f, uint64_t frames)
{
    if (!is_wav(f))
        return 0;
    uint64_t bytes_per_frame = f == KK_EXPORT_WAV32 ? 4 : 2; /* mono */
    return frames > (UINT32_MAX - WAV_HEADER_ROOM) / bytes_per_frame;
}

const char *kk_export_format_name(kk_export_format f) { return valid_format(f) ? formats[f].name : "unknown"; }

const char *kk_export_format_ext(kk_export_format f) { return valid_format(f) ? formats[f].ext : ""; }

kk_status kk_export_format_parse(const char *name_or_path, kk_export_format *out, kk_error *err)
{
    static const struct {
        const char *key;
        kk_export_format f;
    } keys[] = {
        {"wav", KK_EXPORT_WAV16}, {"wav32", KK_EXPORT_WAV32}, {"flac", KK_EXPORT_FLAC}, {"mp3", KK_EXPORT_MP3},
        {"m4a", KK_EXPORT_M4A},   {"aac", KK_EXPORT_M4A},
    };
    if (!name_or_path || !out)
        return kk_error_set(err, KK_ERR_ARG, "no export format given; use wav, wav32, flac, mp3 or m4a");
    /* a bare name, or the extension of a file name (".wav" is 16-bit;
     * ".aac" is not taken: that extension means raw ADTS, not MP4) */
    const char *ext = path_ext(name_or_path);
    for (size_t i = 0; i < COUNT(keys); i++) {
        int is_name = !strcasecmp(name_or_path, keys[i].key);
        int is_ext = *ext && keys[i].f != KK_EXPORT_WAV32 && strcmp(keys[i].key, "aac") &&
                     !strcasecmp(ext + 1, keys[i].key);
        if (is_name || is_ext) {
            *out = keys[i].f;
            return KK_OK;
        }
    }
    return kk_error_set(err, KK_ERR_ARG, "unknown export format '%s'; use wav, wav32, flac, mp3 or m4a (or aac), "
                        "or a file name ending in .wav, .flac, .mp3 or .m4a", name_or_path);
}

static kk_status check_mp3(const kk_export_params *p, int rate, kk_error *err)
{
    char b[160];
    if (!in_list(rate, lame_rates, COUNT(lame_rates)))
        return kk_error_set(err, KK_ERR_ARG, "MP3 cannot be written at %d Hz; use one of %s Hz", rate,
                            list_ints(b, sizeof b, lame_rates, COUNT(lame_rates)));
    if (p->vbr) {
        if (p->vbr_quality < 0 || p->vbr_quality > 9)
            return kk_error_set(err, KK_ERR_ARG, "MP3 VBR quality %d is out of range; use 0 (best) .. 9",
                                p->vbr_quality);
        return KK_OK;
    }
    const int *v = rate >= 32000 ? mp3_kbps_v1 : rate >= 16000 ? mp3_kbps_v2 : mp3_kbps_v25;
    size_t n = rate >= 32000 ? COUNT(mp3_kbps_v1) : rate >= 16000 ? COUNT(mp3_kbps_v2) : COUNT(mp3_kbps_v25);
    if (p->bitrate_kbps && !in_list(p->bitrate_kbps, v, n))
        return kk_error_set(err, KK_ERR_ARG, "MP3 at %d Hz cannot be %d kbps; use one of %s kbps", rate,
                            p->bitrate_kbps, list_ints(b, sizeof b, v, n));
    return KK_OK;
}

static kk_status check_aac_kbps(int kbps, kk_error *err)
{
    if (kbps && (kbps < AAC_KBPS_MIN || kbps > AAC_KBPS_MAX))
        return kk_error_set(err, KK_ERR_ARG, "AAC bit rate %d kbps is out of range; use %d..%d kbps", kbps,
                            AAC_KBPS_MIN, AAC_KBPS_MAX);
    return KK_OK;
}

static kk_status check_params(const kk_export_params *p, int in_rate, int rate, kk_error *err)
{
    char b[160];
    if (!valid_format(p->format))
        return kk_error_set(err, KK_ERR_ARG, "unknown export format %d; use one of KK_EXPORT_WAV16 .. KK_EXPORT_M4A",
                            (int)p->format);
    kk_status st = check_rate(in_rate, "input", err);
    if (st == KK_OK && p->sample_rate)
        st = check_rate(p->sample_rate, "output", err);
    if (st != KK_OK)
        return st;
    if (p->format == KK_EXPORT_MP3)
        return check_mp3(p, rate, err);
    if (p->format == KK_EXPORT_M4A && !in_list(rate, aac_rates, COUNT(aac_rates)))
        return kk_error_set(err, KK_ERR_ARG, "AAC (M4A) cannot be written at %d Hz; use one of %s Hz", rate,
                            list_ints(b, sizeof b, aac_rates, COUNT(aac_rates)));
    if (p->format == KK_EXPORT_M4A)
        return check_aac_kbps(p->bitrate_kbps, err);
    return KK_OK;
}

/* ------------------------------------------------------------------ */
/* the AAC encoder, shared by M4A and the video dub                    */

typedef struct aac_enc {
    AVCodecContext *ctx;
    AVFrame *frame; /* the frame being filled, ctx->frame_size samples */
    AVPacket *pkt;
    AVFormatContext *oc;
    AVStream *st;
    int fill;
    int64_t next_pts;   /* of the frame being filled, in samples */
    int64_t pts_offset; /* added to every packet, in samples (the dub starts with the video) */
    const char *path;   /* for messages */
} aac_enc;

static kk_status aac_fail(aac_enc *e, kk_error *err, kk_status code, const char *what, int averr)
{
    return kk_error_set(err, averr == AVERROR(ENOMEM) ? KK_ERR_NOMEM : code, "%s: %s: %s", e->path, what,
                        av_err2str(averr));
}

static kk_status aac_setup_frame(aac_enc *e, kk_error *err)
{
    e->frame = av_frame_alloc();
    e->pkt = av_packet_alloc();
    if (!e->frame || !e->pkt)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    e->frame->nb_samples = e->ctx->frame_size;
    e->frame->format = e->ctx->sample_fmt;
    e->frame->sample_rate = e->ctx->sample_rate;
    int r = av_channel_layout_copy(&e->frame->ch_layout, &e->ctx->ch_layout);
    if (r >= 0)
        r = av_frame_get_buffer(e->frame, 0);
    return r < 0 ? aac_fail(e, err, KK_ERR_NOMEM, "cannot allocate an audio frame", r) : KK_OK;
}

/* Adds an AAC stream to oc (before its header is written). */
static kk_status aac_open(aac_enc *e, AVFormatContext *oc, int rate, int kbps, const char *path, kk_error *err)
{
    memset(e, 0, sizeof *e);
    e->oc = oc, e->path = path;
    const AVCodec *codec = avcodec_find_encoder_by_name("aac");
    if (!codec)
        return kk_error_set(err, KK_ERR_UNSUPPORTED, "%s: this FFmpeg has no AAC encoder", path);
    e->st = avformat_new_stream(oc, NULL);
    e->ctx = avcodec_alloc_context3(codec);
    if (!e->st || !e->ctx)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    e->ctx->sample_fmt = AV_SAMPLE_FMT_FLTP;
    e->ctx->sample_rate = rate;
    e->ctx->bit_rate = (int64_t)kbps * 1000;
    e->ctx->time_base = (AVRational){1, rate};
    int r = av_channel_layout_copy(&e->ctx->ch_layout, &mono);
    if (oc->oformat->flags & AVFMT_GLOBALHEADER) /* MP4 and Matroska keep the AAC config in the header */
        e->ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (r >= 0)
        r = avcodec_open2(e->ctx, codec, NULL);
    if (r < 0)
        return aac_fail(e, err, KK_ERR_UNSUPPORTED, "cannot open the AAC encoder", r);
    /* copies initial_padding too: the muxer turns the encoder delay into
     * an edit list, which decoders use to drop the priming samples */
    r = avcodec_parameters_from_context(e->st->codecpar, e->ctx);
    if (r < 0)
        return aac_fail(e, err, KK_ERR_NOMEM, "cannot set up the audio stream", r);
    e->st->time_base = e->ctx->time_base;
    return aac_setup_frame(e, err);
}

/* Sends one frame (NULL: drain) and writes every packet that comes out. */
static kk_status aac_send(aac_enc *e, AVFrame *f, kk_error *err)
{
    if (f) {
        f->pts = e->next_pts;
        e->next_pts += f->nb_samples;
    }
    int r = avcodec_send_frame(e->ctx, f);
    if (r < 0)
        return aac_fail(e, err, KK_ERR_INPUT, "AAC encoding failed", r);
    while ((r = avcodec_receive_packet(e->ctx, e->pkt)) >= 0) {
        if (e->pkt->pts != AV_NOPTS_VALUE)
            e->pkt->pts += e->pts_offset;
        if (e->pkt->dts != AV_NOPTS_VALUE)
            e->pkt->dts += e->pts_offset;
        av_packet_rescale_ts(e->pkt, e->ctx->time_base, e->st->time_base);
        e->pkt->stream_index = e->st->index;
        r = av_interleaved_write_frame(e->oc, e->pkt); /* takes the packet's data */
        if (r < 0)
            return aac_fail(e, err, KK_ERR_IO, "write failed (check free space)", r);
    }
    if (r != AVERROR(EAGAIN) && r != AVERROR_EOF)
        return aac_fail(e, err, KK_ERR_INPUT, "AAC encoding failed", r);
    return KK_OK;
}

static kk_status aac_push(aac_enc *e, const float *x, size_t n, kk_error *err)
{
    while (n) {
        if (e->fill == 0) { /* the encoder may still hold a reference to the last frame */
            int r = av_frame_make_writable(e->frame);
            if (r < 0)
                return aac_fail(e, err, KK_ERR_NOMEM, "cannot allocate an audio frame", r);
        }
        float *d = (float *)e->frame->data[0] + e->fill;
        size_t k = (size_t)(e->ctx->frame_size - e->fill);
        if (k > n)
            k = n;
        for (size_t i = 0; i < k; i++)
            d[i] = clip1(x[i]);
        e->fill += (int)k, x += k, n -= k;
        if (e->fill == e->ctx->frame_size) {
            e->fill = 0;
            kk_status st = aac_send(e, e->frame, err);
            if (st != KK_OK)
                return st;
        }
    }
    return KK_OK;
}

/* The last, short frame (the encoder takes one: SMALL_LAST_FRAME, so the
 * stream ends where the track does), then the encoder's tail. */
static kk_status aac_finish(aac_enc *e, kk_error *err)
{
    if (e->fill) {
        e->frame->nb_samples = e->fill;
        e->fill = 0;
        kk_status st = aac_send(e, e->frame, err);
        if (st != KK_OK)
            return st;
    }
    return aac_send(e, NULL, err);
}

static void aac_free(aac_enc *e)
{
    avcodec_free_context(&e->ctx);
    av_frame_free(&e->frame);
    av_packet_free(&e->pkt);
}

/* ------------------------------------------------------------------ */
/* the streaming writer                                                */

struct kk_audio_writer {
    kk_export_format format;
    char *path, *tmp;
    int fd;
    int in_rate, rate;
    int failed; /* a write failed: commit must not publish the file */
    int rf64;   /* WAV: written as RF64 (chosen at open from expected_samples) */
    uint64_t frames; /* written to the encoder so far, at the file's rate */
    resampler rs;
    int resampling;
    float *scratch; /* clipped samples for LAME */
    SNDFILE *sf;
    lame_global_flags *lame;
    unsigned char *mp3buf;
    size_t mp3cap;
    AVFormatContext *oc;
    aac_enc aac;
};

/* LAME prints through these unless told otherwise; the library must not */
static void lame_quiet(const char *format, va_list ap)
{
    (void)format, (void)ap;
}

static kk_status sf_start(kk_audio_writer *w, kk_error *err)
{
    int wav = w->rf64 ? SF_FORMAT_RF64 : SF_FORMAT_WAV;
    int fmt = w->format == KK_EXPORT_FLAC    ? SF_FORMAT_FLAC | SF_FORMAT_PCM_16
              : w->format == KK_EXPORT_WAV32 ? wav | SF_FORMAT_FLOAT
                                             : wav | SF_FORMAT_PCM_16;
    SF_INFO info = {.samplerate = w->rate, .channels = 1, .format = fmt};
    w->sf = sf_open_fd(w->fd, SFM_WRITE, &info, 0);
    if (!w->sf)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot start the %s file: %s", w->path,
                            kk_export_format_name(w->format), sf_strerror(NULL));
    /* float to integer conversion clips instead of wrapping around */
    sf_command(w->sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    return KK_OK;
}

static kk_status mp3_start(kk_audio_writer *w, const kk_export_params *p, kk_error *err)
{
    w->lame = lame_init();
    /* worst case per LAME's documentation: 1.25 * samples + 7200 */
    w->mp3cap = CHUNK + CHUNK / 4 + 7200;
    w->mp3buf = malloc(w->mp3cap);
    w->scratch = malloc(CHUNK * sizeof(float));
    if (!w->lame || !w->mp3buf || !w->scratch)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    lame_global_flags *gf = w->lame;
    lame_set_errorf(gf, lame_quiet);
    lame_set_debugf(gf, lame_quiet);
    lame_set_msgf(gf, lame_quiet);
    lame_set_num_channels(gf, 1);
    lame_set_mode(gf, MONO);
    lame_set_in_samplerate(gf, w->rate);
    lame_set_out_samplerate(gf, w->rate); /* else LAME picks a lower rate for a low bit rate */
    lame_set_write_id3tag_automatic(gf, 0);
    /* The first frame is a placeholder for the Xing/LAME info tag, filled
     * in at commit: it holds the encoder delay and padding, which
     * decoders trim (gapless), and for VBR the seek table. */
    lame_set_bWriteVbrTag(gf, 1);
    lame_set_quality(gf, 2);
    if (p->vbr) {
        lame_set_VBR(gf, vbr_default);
        lame_set_VBR_quality(gf, (float)p->vbr_quality);
    } else {
        lame_set_VBR(gf, vbr_off);
        lame_set_brate(gf, p->bitrate_kbps ? p->bitrate_kbps : 128);
    }
    if (lame_init_params(gf) < 0)
        return kk_error_set(err, KK_ERR_ARG, "%s: LAME does not take these MP3 settings (%d Hz, %s %d)", w->path,
                            w->rate, p->vbr ? "VBR quality" : "kbps",
                            p->vbr ? p->vbr_quality : p->bitrate_kbps ? p->bitrate_kbps : 128);
    return KK_OK;
}

/* .m4a (and the audiobook .m4b) get the iTunes flavour of MP4 ("ipod"),
 * .mov QuickTime, any other name plain MP4: AAC in MP4 all the same. */
static const char *m4a_muxer(const char *path)
{
    const char *ext = path_ext(path);
    if (!strcasecmp(ext, ".m4a") || !strcasecmp(ext, ".m4b"))
        return "ipod";
    return !strcasecmp(ext, ".mov") ? "mov" : "mp4";
}

/* Opens the temporary file (already created, empty) for libavformat. */
static kk_status av_open_tmp(AVFormatContext *oc, const char *tmp, const char *path, kk_error *err)
{
    char *url = file_url(tmp);
    if (!url)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    int r = avio_open(&oc->pb, url, AVIO_FLAG_WRITE);
    free(url);
    if (r < 0)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot open the output file: %s; check the directory is writable",
                            path, av_err2str(r));
    return KK_OK;
}

/* The edit lists that trim AAC's encoder delay and padding count in the
 * movie's time scale, 1000 by default: a track's length would be rounded
 * to the millisecond. At the sample rate it is exact. */
static int movie_timescale(AVDictionary **opts, int rate)
{
    return av_dict_set_int(opts, "movie_timescale", rate, 0);
}

/* An AAC track of no samples has no packets, and an MP4 track without
 * packets is no track to readers (FFmpeg drops it): refused, not written. */
static kk_status empty_m4a(kk_error *err, const char *path)
{
    return kk_error_set(err, KK_ERR_ARG, "%s: the track is empty; an M4A file needs at least one sample (WAV, FLAC "
                        "and MP3 can be empty)", path);
}

static kk_status m4a_start(kk_audio_writer *w, const kk_export_params *p, kk_error *err)
{
    /* the final name goes in for the muxer's messages; the file it
     * writes is the temporary one, opened by av_open_tmp */
    int r = avformat_alloc_output_context2(&w->oc, NULL, m4a_muxer(w->path), w->path);
    if (r < 0)
        return kk_error_set(err, KK_ERR_UNSUPPORTED, "%s: this FFmpeg cannot write MP4: %s", w->path,
                            av_err2str(r));
    kk_status st = aac_open(&w->aac, w->oc, w->rate, p->bitrate_kbps ? p->bitrate_kbps : 128, w->path, err);
    if (st == KK_OK)
        st = av_open_tmp(w->oc, w->tmp, w->path, err);
    if (st != KK_OK)
        return st;
    AVDictionary *opts = NULL;
    r = movie_timescale(&opts, w->rate);
    if (r >= 0)
        r = avformat_write_header(w->oc, &opts);
    av_dict_free(&opts);
    if (r < 0)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot start the M4A file: %s", w->path, av_err2str(r));
    return KK_OK;
}

static kk_status backend_start(kk_audio_writer *w, const kk_export_params *p, kk_error *err)
{
    switch (w->format) {
    case KK_EXPORT_MP3:
        return mp3_start(w, p, err);
    case KK_EXPORT_M4A:
        return m4a_start(w, p, err);
    default:
        return sf_start(w, err);
    }
}

static kk_status mp3_write(kk_audio_writer *w, const float *x, size_t n, kk_error *err)
{
    while (n) {
        size_t k = n > CHUNK ? CHUNK : n;
        /* LAME's float input must be within [-1, 1] */
        for (size_t i = 0; i < k; i++)
            w->scratch[i] = clip1(x[i]);
        int got = lame_encode_buffer_ieee_float(w->lame, w->scratch, NULL, (int)k, w->mp3buf, (int)w->mp3cap);
        if (got < 0)
            return kk_error_set(err, KK_ERR_INPUT, "%s: MP3 encoding failed (LAME error %d)", w->path, got);
        if (kk_write_all(w->fd, w->mp3buf, (size_t)got) != 0)
            return kk_error_set(err, KK_ERR_IO, "%s: write failed: %s; check free space", w->path,
                                strerror(errno));
        x += k, n -= k;
    }
    return KK_OK;
}

/* Writes samples at the file's rate to the encoder. */
static kk_status backend_write(kk_audio_writer *w, const float *x, size_t n, kk_error *err)
{
    if (!n)
        return KK_OK;
    switch (w->format) {
    case KK_EXPORT_MP3:
        return mp3_write(w, x, n, err);
    case KK_EXPORT_M4A:
        return aac_push(&w->aac, x, n, err);
    default:
        /* libsndfile would wrap a plain WAV's 32-bit sizes (a corrupt file):
         * refuse before that, with what to do instead. */
        if (is_wav(w->format) && !w->rf64 && kk_export_needs_rf64(w->format, w->frames + n))
            return kk_error_set(err, KK_ERR_UNSUPPORTED, "%s: the audio is too long for a WAV file (over 4 GiB, "
                                "more than its 32-bit sizes can say); export FLAC, MP3 or M4A, or give the "
                                "length up front (expected_samples) to get an RF64 WAV", w->path);
        if (sf_writef_float(w->sf, x, (sf_count_t)n) != (sf_count_t)n)
            return kk_error_set(err, KK_ERR_IO, "%s: write failed: %s; check free space", w->path,
                                sf_strerror(w->sf));
        w->frames += n;
        return KK_OK;
    }
}

static kk_status mp3_finish(kk_audio_writer *w, kk_error *err)
{
    int got = lame_encode_flush(w->lame, w->mp3buf, (int)w->mp3cap);
    if (got < 0)
        return kk_error_set(err, KK_ERR_INPUT, "%s: MP3 encoding failed (LAME error %d)", w->path, got);
    if (kk_write_all(w->fd, w->mp3buf, (size_t)got) != 0)
        return kk_error_set(err, KK_ERR_IO, "%s: write failed: %s; check free space", w->path, strerror(errno));
    /* the info tag goes over the placeholder frame at the very start */
    size_t tag = lame_get_lametag_frame(w->lame, w->mp3buf, w->mp3cap);
    if (tag > w->mp3cap)
        return kk_error_set(err, KK_ERR_INPUT, "%s: the MP3 info tag does not fit (%zu bytes)", w->path, tag);
    if (tag && pwrite(w->fd, w->mp3buf, tag, 0) != (ssize_t)tag)
        return kk_error_set(err, KK_ERR_IO, "%s: write failed: %s; check free space", w->path, strerror(errno));
    return KK_OK;
}

static kk_status m4a_finish(kk_audio_writer *w, kk_error *err)
{
    if (!w->aac.next_pts && !w->aac.fill)
        return empty_m4a(err, w->path);
    kk_status st = aac_finish(&w->aac, err);
    if (st != KK_OK)
        return st;
    int r = av_write_trailer(w->oc);
    if (r >= 0)
        r = avio_closep(&w->oc->pb);
    if (r < 0)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot finish the M4A file: %s; check free space", w->path,
                            av_err2str(r));
    return KK_OK;
}

/* Completes the file's contents (the temporary file stays open). */
static kk_status backend_finish(kk_audio_writer *w, kk_error *err)
{
    switch (w->format) {
    case KK_EXPORT_MP3:
        return mp3_finish(w, err);
    case KK_EXPORT_M4A:
        return m4a_finish(w, err);
    default:
        sf_write_sync(w->sf);
        int bad = sf_close(w->sf) != 0;
        w->sf = NULL;
        if (bad)
            return kk_error_set(err, KK_ERR_IO, "%s: write failed; check free space", w->path);
        return KK_OK;
    }
}

/* Frees everything; removes the temporary file unless it was renamed. */
static void writer_free(kk_audio_writer *w, int remove_tmp)
{
    if (w->sf)
        sf_close(w->sf);
    if (w->lame)
        lame_close(w->lame);
    aac_free(&w->aac);
    if (w->oc) {
        avio_closep(&w->oc->pb);
        avformat_free_context(w->oc);
    }
    if (w->resampling)
        rs_close(&w->rs);
    if (w->fd >= 0)
        close(w->fd);
    if (remove_tmp && w->tmp)
        unlink(w->tmp);
    free(w->mp3buf), free(w->scratch);
    free(w->path), free(w->tmp), free(w);
}

static kk_status check_path(const char *path, kk_error *err)
{
    if (!path || !*path || !strcmp(path, "-"))
        return kk_error_set(err, KK_ERR_ARG, "an export needs a file name (it is written to a temporary file and "
                            "renamed; standard output is not supported)");
    return KK_OK;
}

kk_status kk_audio_writer_open(kk_audio_writer **out, const char *path, int in_rate, const kk_export_params *p,
                               kk_error *err)
{
    if (!out)
        return kk_error_set(err, KK_ERR_ARG, "kk_audio_writer_open: no place for the writer");
    *out = NULL;
    kk_export_params defaults = kk_export_default_params();
    if (!p)
        p = &defaults;
    int rate = p->sample_rate ? p->sample_rate : in_rate;
    kk_status st = check_path(path, err);
    if (st == KK_OK)
        st = check_params(p, in_rate, rate, err);
    if (st != KK_OK)
        return st;
    kk_audio_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    }
    w->format = p->format, w->in_rate = in_rate, w->rate = rate;
    if (p->expected_samples) {
        /* the length at the file's rate, rounded up, with the resampler's tail */
        double planned = ceil((double)p->expected_samples * rate / in_rate) + (rate != in_rate ? RESAMPLE_SLACK : 0);
        w->rf64 = planned >= 0x1p64 || kk_export_needs_rf64(w->format, (uint64_t)planned);
    }
    w->fd = kk_tmpfile_create(path, &w->tmp);
    if (w->fd < 0)
        st = io_error(err, path, errno);
    if (st == KK_OK && rate != in_rate && (st = rs_open(&w->rs, in_rate, rate, err)) == KK_OK)
        w->resampling = 1;
    if (st == KK_OK)
        st = backend_start(w, p, err);
    if (st != KK_OK) {
        writer_free(w, 1);
        return st;
    }
    *out = w;
    return KK_OK;
}

/* Hands what the resampler produced to the encoder. */
static kk_status drain_resampler(kk_audio_writer *w, kk_error *err)
{
    kk_status st = backend_write(w, w->rs.out.v, w->rs.out.n, err);
    w->rs.out.n = 0;
    return st;
}

kk_status kk_audio_writer_write(kk_audio_writer *w, const float *samples, size_t n, kk_error *err)
{
    if (!w || (!samples && n))
        return kk_error_set(err, KK_ERR_ARG, "kk_audio_writer_write: no writer or no samples");
    if (w->failed)
        return kk_error_set(err, KK_ERR_IO, "%s: an earlier write failed; abort this export", w->path);
    kk_status st = KK_OK;
    for (size_t i = 0; i < n && st == KK_OK; i += CHUNK) {
        size_t k = n - i < CHUNK ? n - i : CHUNK;
        if (!w->resampling)
            st = backend_write(w, samples + i, k, err);
        else if ((st = rs_push(&w->rs, samples + i, k, err)) == KK_OK)
            st = drain_resampler(w, err);
    }
    w->failed = st != KK_OK;
    return st;
}

kk_status kk_audio_writer_commit(kk_audio_writer *w, kk_error *err)
{
    if (!w)
        return kk_error_set(err, KK_ERR_ARG, "kk_audio_writer_commit: no writer");
    kk_status st = KK_OK;
    if (w->failed)
        st = kk_error_set(err, KK_ERR_IO, "%s: an earlier write failed; nothing was written", w->path);
    if (st == KK_OK && w->resampling && (st = rs_finish(&w->rs, err)) == KK_OK)
        st = drain_resampler(w, err);
    if (st == KK_OK)
        st = backend_finish(w, err);
    if (st == KK_OK) {
        st = finish_file(w->fd, w->tmp, w->path, err);
        w->fd = -1; /* closed either way */
    }
    writer_free(w, st != KK_OK);
    return st;
}

void kk_audio_writer_abort(kk_audio_writer *w)
{
    if (w)
        writer_free(w, 1);
}

static int stop_requested(kk_export_progress_fn fn, void *user, double fraction)
{
    return fn && fn(user, fraction > 1.0 ? 1.0 : fraction) != 0;
}

static kk_status aborted(kk_error *err, const char *path)
{
    return kk_error_set(err, KK_ERR_ABORTED, "%s: export stopped by request; no file was written (an existing "
                        "file is unchanged)", path);
}

kk_status kk_export_audio_io(const char *path, const kk_sample_io *io, uint64_t n, int in_rate,
                             const kk_export_params *p, kk_error *err)
{
    if (!io || !io->read)
        return kk_error_set(err, KK_ERR_ARG, "kk_export_audio: no samples");
    if (!n && p && p->format == KK_EXPORT_M4A && path) /* before a temporary file is made */
        return empty_m4a(err, path);
    kk_export_params known = p ? *p : kk_export_default_params();
    known.expected_samples = n; /* lets a WAV past 4 GiB be RF64 */
    float *buf = malloc(CHUNK * sizeof *buf);
    if (!buf)
        return kk_error_set(err, KK_ERR_NOMEM, "%s: out of memory starting the export", path);
    kk_audio_writer *w;
    kk_status st = kk_audio_writer_open(&w, path, in_rate, &known, err);
    if (st != KK_OK) {
        free(buf);
        return st;
    }
    kk_export_progress_fn fn = p ? p->progress : NULL;
    void *user = p ? p->user : NULL;
    for (uint64_t i = 0;;) {
        if (stop_requested(fn, user, n ? (double)i / (double)n : 1.0)) {
            st = aborted(err, path);
            break;
        }
        if (i >= n)
            break;
        size_t k = n - i < CHUNK ? (size_t)(n - i) : CHUNK;
        if ((st = io->read(io->user, i, buf, k, err)) != KK_OK || (st = kk_audio_writer_write(w, buf, k, err)) != KK_OK)
            break;
        i += k;
    }
    free(buf);
    if (st != KK_OK) {
        kk_audio_writer_abort(w);
        return st;
    }
    return kk_audio_writer_commit(w, err);
}

kk_status kk_export_audio(const char *path, const float *samples, size_t n, int in_rate, const kk_export_params *p,
                          kk_error *err)
{
    if (!samples && n)
        return kk_error_set(err, KK_ERR_ARG, "kk_export_audio: no samples");
    kk_sample_io io = kk_sample_io_memory((float *)samples); /* only read */
    return kk_export_audio_io(path, &io, n, in_rate, p, err);
}

/* ------------------------------------------------------------------ */
/* decoding                                                            */

static kk_status open_input(AVFormatContext **ic, const char *path, kk_error *err)
{
    char *url = file_url(path);
    if (!url)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    int r = avformat_open_input(ic, url, NULL, NULL);
    free(url);
    if (r < 0) {
        int missing = r == AVERROR(ENOENT) || r == AVERROR(EACCES) || r == AVERROR(EISDIR);
        return kk_error_set(err, missing ? KK_ERR_IO : KK_ERR_INPUT, "%s: cannot open: %s; check the file exists "
                            "and is a media file", path, av_err2str(r));
    }
    r = avformat_find_stream_info(*ic, NULL);
    if (r < 0)
        return kk_error_set(err, KK_ERR_INPUT, "%s: cannot read the streams: %s; is it a media file?", path,
                            av_err2str(r));
    return KK_OK;
}

typedef struct decoder {
    const char *path;
    AVFormatContext *ic;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    int idx;
    SwrContext *mix; /* to mono float at the stream's rate */
    AVChannelLayout layout;
    int fmt, rate;
    int64_t skip;       /* samples still to drop at the start */
    size_t last_kept;   /* samples the last frame added */
    int64_t last_dur;   /* its packet's duration, in samples (0: unknown) */
    fvec out;
    kk_decode_fn fn;    /* kk_audio_decode_each's: out is handed over in blocks */
    void *user;
} decoder;

#define DECODE_BLOCK 65536

/* Hands out what is decoded but the last frame's samples (dec_trim_end
 * may still cut those); with all, everything. 0, or non-zero: stop. */
static int dec_flush(decoder *d, int all)
{
    size_t keep = all ? 0 : d->last_kept, give = d->out.n - keep;
    if (!give)
        return 0;
    int stop = d->fn(d->user, d->out.v, give, d->rate);
    fvec_consume(&d->out, give);
    return stop;
}

static kk_status dec_open(decoder *d, kk_error *err)
{
    kk_status st = open_input(&d->ic, d->path, err);
    if (st != KK_OK)
        return st;
    d->idx = -1;
    for (unsigned i = 0; i < d->ic->nb_streams && d->idx < 0; i++)
        if (d->ic->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO)
            d->idx = (int)i;
    if (d->idx < 0)
        return kk_error_set(err, KK_ERR_INPUT, "%s: has no audio stream", d->path);
    const AVStream *s = d->ic->streams[d->idx];
    const AVCodec *codec = avcodec_find_decoder(s->codecpar->codec_id);
    if (!codec)
        return kk_error_set(err, KK_ERR_UNSUPPORTED, "%s: this FFmpeg cannot decode %s audio", d->path,
                            avcodec_get_name(s->codecpar->codec_id));
    d->dec = avcodec_alloc_context3(codec);
    d->pkt = av_packet_alloc();
    d->frame = av_frame_alloc();
    if (!d->dec || !d->pkt || !d->frame)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    int r = avcodec_parameters_to_context(d->dec, s->codecpar);
    d->dec->pkt_timebase = s->time_base;
    /* the decoder reports the demuxer's skips and dec_trim applies them */
    d->dec->flags2 |= AV_CODEC_FLAG2_SKIP_MANUAL;
    if (r >= 0)
        r = avcodec_open2(d->dec, codec, NULL);
    if (r < 0)
        return kk_error_set(err, KK_ERR_UNSUPPORTED, "%s: cannot open the %s decoder: %s", d->path,
                            avcodec_get_name(s->codecpar->codec_id), av_err2str(r));
    d->rate = s->codecpar->sample_rate;
    return KK_OK;
}

/* A mixer from the first frame's layout to mono: every channel at the
 * same weight, a plain average. */
static kk_status mix_setup(decoder *d, const AVFrame *f, kk_error *err)
{
    int nch = f->ch_layout.nb_channels;
    if (nch < 1 || nch > 64)
        return kk_error_set(err, KK_ERR_UNSUPPORTED, "%s: cannot mix %d channels", d->path, nch);
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&d->layout, nch);
    else if (av_channel_layout_copy(&d->layout, &f->ch_layout) < 0)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    d->fmt = f->format, d->rate = f->sample_rate;
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    double m[64];
    for (int i = 0; i < nch; i++)
        m[i] = 1.0 / nch;
    int r = swr_alloc_set_opts2(&d->mix, &mono, AV_SAMPLE_FMT_FLT, d->rate, &d->layout, d->fmt, d->rate, 0, NULL);
    if (r >= 0)
        r = swr_set_matrix(d->mix, m, nch);
    if (r >= 0)
        r = swr_init(d->mix);
    if (r < 0)
        return kk_error_set(err, KK_ERR_UNSUPPORTED, "%s: cannot convert the audio: %s", d->path, av_err2str(r));
    return KK_OK;
}

static int same_layout(decoder *d, const AVFrame *f)
{
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        return f->ch_layout.nb_channels == d->layout.nb_channels;
    return !av_channel_layout_compare(&f->ch_layout, &d->layout);
}

/*
 * Which samples of a frame to keep: [*from, *from + *count). The demuxer
 * marks the encoder delay (MP3 info tag, MP4 edit list) as samples to skip
 * at the start and padding to discard at the end of a packet. libavcodec
 * would apply them itself, but it forgets a skip that runs into a second
 * packet when that packet also has padding to discard (an MP3 of under
 * ~50 samples came back 529 too long), so the decoder only reports them
 * (SKIP_MANUAL) and this applies them, carrying the skip across frames.
 */
static void dec_trim(decoder *d, const AVFrame *f, int *from, int *count)
{
    const AVFrameSideData *sd = av_frame_get_side_data(f, AV_FRAME_DATA_SKIP_SAMPLES);
    int64_t discard = 0;
    if (sd && sd->size >= 8) {
        uint32_t skip = AV_RL32(sd->data);
        discard = AV_RL32(sd->data + 4);
        if (skip) /* 0 says nothing: a skip in progress goes on */
            d->skip = skip;
    }
    int64_t nb = f->nb_samples;
    int64_t front = d->skip < nb ? d->skip : nb;
    d->skip -= front;
    if (f->flags & AV_FRAME_FLAG_DISCARD) /* outside the edit list: all of it goes */
        front = nb;
    int64_t keep = nb - front;
    keep -= discard < keep ? discard : keep;
    *from = (int)front, *count = (int)keep;
}

static kk_status dec_frame(decoder *d, const AVFrame *f, kk_error *err)
{
    if (!d->mix) {
        kk_status st = mix_setup(d, f, err);
        if (st != KK_OK)
            return st;
    } else if (f->format != d->fmt || f->sample_rate != d->rate || !same_layout(d, f)) {
        return kk_error_set(err, KK_ERR_UNSUPPORTED, "%s: the audio changes its format or rate part way "
                            "through; convert it to a plain file first", d->path);
    }
    int room = swr_get_out_samples(d->mix, f->nb_samples);
    if (room < 0 || fvec_reserve(&d->out, (size_t)room))
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    uint8_t *o = (uint8_t *)(d->out.v + d->out.n);
    int k = swr_convert(d->mix, &o, room, (const uint8_t **)f->extended_data, f->nb_samples);
    if (k < 0)
        return kk_error_set(err, KK_ERR_INPUT, "%s: cannot convert the audio: %s", d->path, av_err2str(k));
    /* no resampling here: one sample out per sample in */
    int from, count;
    dec_trim(d, f, &from, &count);
    if (count > k - from)
        count = k - from > 0 ? k - from : 0;
    if (from && count)
        memmove(d->out.v + d->out.n, d->out.v + d->out.n + from, (size_t)count * sizeof(float));
    d->out.n += (size_t)count;
    d->last_kept = (size_t)count;
    d->last_dur = f->pkt_duration > 0 ? av_rescale_q(f->pkt_duration, d->dec->pkt_timebase,
                                                     (AVRational){1, f->sample_rate}) : 0;
    if (d->fn && d->out.n >= DECODE_BLOCK && dec_flush(d, 0))
        return kk_error_set(err, KK_ERR_ABORTED, "%s: decoding stopped", d->path);
    return KK_OK;
}

/* The encoder's padding after the last sample: MP4 records no end trim,
 * but its last packet lasts only as long as the track (an AAC frame is
 * 1024 samples, the last packet maybe 160). */
static void dec_trim_end(decoder *d)
{
    if (d->last_dur > 0 && (size_t)d->last_dur < d->last_kept)
        d->out.n -= d->last_kept - (size_t)d->last_dur;
}

/* Sends a packet (NULL: end of stream) and takes every frame out. */
static kk_status dec_send(decoder *d, const AVPacket *pkt, kk_error *err)
{
    int r = avcodec_send_packet(d->dec, pkt);
    if (r < 0 && r != AVERROR_EOF)
        return kk_error_set(err, KK_ERR_INPUT, "%s: cannot decode the audio: %s", d->path, av_err2str(r));
    while ((r = avcodec_receive_frame(d->dec, d->frame)) >= 0) {
        kk_status st = dec_frame(d, d->frame, err);
        av_frame_unref(d->frame);
        if (st != KK_OK)
            return st;
    }
    if (r != AVERROR(EAGAIN) && r != AVERROR_EOF)
        return kk_error_set(err, KK_ERR_INPUT, "%s: cannot decode the audio: %s", d->path, av_err2str(r));
    return KK_OK;
}

/* Reads and decodes the stream's next packet (other streams' are
 * skipped); at the end of the file drains the decoder, trims the end and
 * sets *eof. */
static kk_status dec_step(decoder *d, int *eof, kk_error *err)
{
    for (;;) {
        int r = av_read_frame(d->ic, d->pkt);
        if (r == AVERROR_EOF) {
            *eof = 1;
            kk_status st = dec_send(d, NULL, err);
            if (st == KK_OK)
                dec_trim_end(d);
            return st;
        }
        if (r < 0)
            return kk_error_set(err, KK_ERR_INPUT, "%s: read failed: %s", d->path, av_err2str(r));
        int mine = d->pkt->stream_index == d->idx;
        kk_status st = mine ? dec_send(d, d->pkt, err) : KK_OK;
        av_packet_unref(d->pkt);
        if (st != KK_OK || mine)
            return st;
    }
}

static kk_status dec_run(decoder *d, kk_error *err)
{
    kk_status st = KK_OK;
    for (int eof = 0; st == KK_OK && !eof;)
        st = dec_step(d, &eof, err);
    return st;
}

static void dec_free(decoder *d)
{
    swr_free(&d->mix);
    av_channel_layout_uninit(&d->layout);
    av_frame_free(&d->frame);
    av_packet_free(&d->pkt);
    avcodec_free_context(&d->dec);
    avformat_close_input(&d->ic);
    free(d->out.v);
}

kk_status kk_audio_decode(const char *path, int want_rate, float **samples, size_t *n, int *rate, kk_error *err)
{
    if (!path || !samples || !n)
        return kk_error_set(err, KK_ERR_ARG, "kk_audio_decode: no file name or no place for the samples");
    *samples = NULL, *n = 0;
    if (want_rate && check_rate(want_rate, "wanted", err) != KK_OK)
        return KK_ERR_ARG;
    decoder d = {.path = path};
    kk_status st = dec_open(&d, err);
    if (st == KK_OK)
        st = dec_run(&d, err);
    if (st == KK_OK && want_rate && want_rate != d.rate) {
        float *res;
        size_t n_res;
        if ((st = kk_resample(d.out.v, d.out.n, d.rate, want_rate, &res, &n_res, err)) == KK_OK) {
            free(d.out.v);
            d.out = (fvec){.v = res, .n = n_res, .cap = n_res};
            d.rate = want_rate;
        }
    }
    if (st == KK_OK) {
        *n = d.out.n;
        if (rate)
            *rate = d.rate;
        if (!(*samples = fvec_steal(&d.out)))
            st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    }
    dec_free(&d);
    return st;
}

kk_status kk_audio_decode_each(const char *path, kk_decode_fn fn, void *user, kk_error *err)
{
    if (!path || !fn)
        return kk_error_set(err, KK_ERR_ARG, "kk_audio_decode_each: no file name or no callback");
    decoder d = {.path = path, .fn = fn, .user = user};
    kk_status st = dec_open(&d, err);
    if (st == KK_OK)
        st = dec_run(&d, err);
    if (st == KK_OK && dec_flush(&d, 1))
        st = kk_error_set(err, KK_ERR_ABORTED, "%s: decoding stopped", path);
    dec_free(&d);
    return st;
}

/* ------------------------------------------------------------------ */
/* the video dub                                                       */

/*
 * The dub's audio, made as the muxer asks for it: the track read through
 * its kk_sample_io a block at a time at in_rate, with KK_MIX_DUCK mixed
 * over the video's own audio (decoded alongside, resampled to in_rate,
 * kk_ducker), then resampled to MUX_RATE. Memory: a few blocks, whatever
 * the length. After the mix ends, silence up to pad_to (a video longer
 * than the track).
 */
typedef struct dub_source {
    const kk_sample_io *io;
    uint64_t n, read;      /* the track's length and what was read of it, at in_rate */
    int in_rate;
    float *dub, *mix;      /* a block of the track (with the ducker's lookahead), and of the mix */
    size_t dub_cap;
    int duck;
    kk_ducker ducker;
    decoder *orig;         /* the video's own audio (duck) */
    int orig_eof;
    resampler orig_rs;     /* its rate to in_rate */
    int orig_rs_open;
    fvec orig_buf;         /* decoded original at in_rate, from the ducker's position on */
    resampler out_rs;      /* in_rate to MUX_RATE (none when they are equal) */
    int out_rs_open;
    fvec out;              /* made at MUX_RATE and not yet encoded */
    int done;              /* the mix is over: nothing more comes but the padding */
    uint64_t pad_to;       /* the audio lasts at least this long, at MUX_RATE */
} dub_source;

typedef struct mux_job {
    const char *in_path, *out_path;
    const kk_mux_params *p;
    AVFormatContext *ic, *oc;
    int *map; /* input stream -> output stream; -1: dropped */
    aac_enc aac;
    int aac_open;
    dub_source src;
    uint64_t sent; /* samples given to the encoder, at MUX_RATE */
    double start_s, total_s, reported;
    char *tmp;
    int fd;
} mux_job;

/* Where the made samples wait: the resampler's output, or ours. */
static fvec *src_ready(dub_source *s) { return s->out_rs_open ? &s->out_rs.out : &s->out; }
static fvec *orig_ready(dub_source *s) { return s->orig_rs_open ? &s->orig_rs.out : &s->orig_buf; }

static kk_status src_open(dub_source *s, const kk_sample_io *io, uint64_t n, int in_rate, const char *video_in,
                          const kk_duck_params *duck, kk_error *err)
{
    s->io = io, s->n = n, s->in_rate = in_rate;
    kk_status st;
    if (duck) {
        s->duck = 1;
        if ((st = kk_ducker_init(&s->ducker, in_rate, duck, err)) != KK_OK)
            return st;
        if (!(s->orig = calloc(1, sizeof *s->orig)))
            return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
        s->orig->path = video_in;
        st = dec_open(s->orig, err);
        if (st != KK_OK && s->orig->ic && s->orig->idx < 0) /* opened, but no audio stream in it */
            return kk_error_set(err, KK_ERR_INPUT, "%s: has no audio to duck under the dub; replace its audio "
                                "instead (mix replace)", video_in);
        if (st != KK_OK)
            return st;
    }
    s->dub_cap = CHUNK + (s->duck ? kk_ducker_lookahead(&s->ducker) : 0);
    s->dub = malloc(s->dub_cap * sizeof *s->dub);
    s->mix = malloc(CHUNK * sizeof *s->mix);
    if (!s->dub || !s->mix)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    if (in_rate != MUX_RATE) {
        if ((st = rs_open(&s->out_rs, in_rate, MUX_RATE, err)) != KK_OK)
            return st;
        s->out_rs_open = 1;
    }
    return KK_OK;
}

static void src_free(dub_source *s)
{
    if (s->out_rs_open)
        rs_close(&s->out_rs);
    if (s->orig_rs_open)
        rs_close(&s->orig_rs);
    if (s->orig) {
        dec_free(s->orig);
        free(s->orig);
    }
    free(s->dub), free(s->mix), free(s->out.v), free(s->orig_buf.v);
}

/* Decodes the original until `want` samples (at in_rate) wait, or to its
 * end. The decoder's last frame is held back until the next one comes
 * (dec_trim_end may still cut it at the end of the file). */
static kk_status orig_pull(dub_source *s, size_t want, kk_error *err)
{
    decoder *d = s->orig;
    while (!s->orig_eof && orig_ready(s)->n < want) {
        kk_status st = dec_step(d, &s->orig_eof, err);
        if (st != KK_OK)
            return st;
        size_t give = s->orig_eof ? d->out.n : d->out.n - d->last_kept;
        if (give && !s->orig_rs_open && d->rate != s->in_rate) { /* the rate is the first frame's: it cannot change */
            if ((st = rs_open(&s->orig_rs, d->rate, s->in_rate, err)) != KK_OK)
                return st;
            s->orig_rs_open = 1;
        }
        if (s->orig_rs_open)
            st = rs_push(&s->orig_rs, d->out.v, give, err);
        else if (fvec_append(&s->orig_buf, d->out.v, give))
            st = kk_error_set(err, KK_ERR_NOMEM, "out of memory");
        fvec_consume(&d->out, give);
        if (st == KK_OK && s->orig_eof && s->orig_rs_open)
            st = rs_finish(&s->orig_rs, err);
        if (st != KK_OK)
            return st;
    }
    return KK_OK;
}

/* Makes the next block of the dub (at in_rate, then resampled); at the
 * end of the mix flushes the resampler and sets done. The mix lasts as
 * long as the longer of the track and (duck) the original. */
static kk_status src_more(dub_source *s, kk_error *err)
{
    kk_status st;
    fvec *orig = NULL;
    if (s->duck) {
        if ((st = orig_pull(s, CHUNK, err)) != KK_OK)
            return st;
        orig = orig_ready(s);
    }
    uint64_t dub_left = s->read < s->n ? s->n - s->read : 0, left = dub_left;
    if (orig && !s->orig_eof)
        left = CHUNK; /* more of the original to come */
    else if (orig && orig->n > left)
        left = orig->n;
    size_t k = left < CHUNK ? (size_t)left : CHUNK;
    if (!k) {
        s->done = 1;
        return s->out_rs_open ? rs_finish(&s->out_rs, err) : KK_OK;
    }
    /* the block, and the ducker's lookahead after it (the dub's end may
     * come first: only the ducker reads a block shorter than k, and it
     * takes what is missing as silence) */
    size_t ahead = s->dub_cap - CHUNK;
    size_t m = dub_left < k + ahead ? (size_t)dub_left : k + ahead;
    if (m && (st = s->io->read(s->io->user, s->read, s->dub, m, err)) != KK_OK)
        return st;
    const float *block = s->dub;
    if (orig) {
        size_t on = orig->n < k ? orig->n : k;
        if ((st = kk_ducker_run(&s->ducker, s->dub, m, orig->v, on, s->mix, k, err)) != KK_OK)
            return st;
        fvec_consume(orig, on);
        block = s->mix;
    }
    s->read += k;
    if (s->out_rs_open)
        return rs_push(&s->out_rs, block, k, err);
    return fvec_append(&s->out, block, k) ? kk_error_set(err, KK_ERR_NOMEM, "out of memory") : KK_OK;
}

static const char *mux_muxer(const char *path)
{
    const char *ext = path_ext(path);
    if (!strcasecmp(ext, ".mp4") || !strcasecmp(ext, ".m4v")) /* .m4v: plain MP4 takes more codecs than "ipod" */
        return "mp4";
    if (!strcasecmp(ext, ".mov"))
        return "mov";
    if (!strcasecmp(ext, ".mkv"))
        return "matroska";
    return NULL;
}

/* Keep the input's codec tag only where the output container knows it
 * for the same codec (or has no tag of its own for it); else 0 lets the
 * muxer choose its tag (an AVI 'XVID' must not end up in an MP4). */
static uint32_t copy_tag(const AVOutputFormat *of, const AVCodecParameters *par)
{
    unsigned int tag;
    if (!of->codec_tag || av_codec_get_id(of->codec_tag, par->codec_tag) == par->codec_id ||
        !av_codec_get_tag2(of->codec_tag, par->codec_id, &tag))
        return par->codec_tag;
    return 0;
}

static kk_status copy_stream_info(AVStream *os, const AVStream *is)
{
    os->time_base = is->time_base; /* a hint: the muxer may pick its own */
    os->sample_aspect_ratio = is->sample_aspect_ratio;
    os->avg_frame_rate = is->avg_frame_rate;
    os->r_frame_rate = is->r_frame_rate;
    os->disposition = is->disposition;
    if (av_dict_copy(&os->metadata, is->metadata, 0) < 0)
        return KK_ERR_NOMEM;
    /* e.g. a phone video's rotation (display matrix) */
    for (int i = 0; i < is->nb_side_data; i++) {
        const AVPacketSideData *sd = &is->side_data[i];
        uint8_t *d = av_stream_new_side_data(os, sd->type, sd->size);
        if (!d)
            return KK_ERR_NOMEM;
        memcpy(d, sd->data, sd->size);
    }
    return KK_OK;
}

static kk_status add_copy(mux_job *j, int idx, kk_error *err)
{
    const AVStream *is = j->ic->streams[idx];
    const AVCodecParameters *par = is->codecpar;
    const char *kind = av_get_media_type_string(par->codec_type);
    if (avformat_query_codec(j->oc->oformat, par->codec_id, FF_COMPLIANCE_NORMAL) == 0)
        return kk_error_set(err, KK_ERR_UNSUPPORTED, "%s: the %s stream of %s (%s) cannot be stored in a %s file; "
                            "choose .mkv, which takes any codec%s", j->out_path, kind, j->in_path,
                            avcodec_get_name(par->codec_id), path_ext(j->out_path),
                            par->codec_type == AVMEDIA_TYPE_AUDIO ? ", or replace the audio" : "");
    AVStream *os = avformat_new_stream(j->oc, NULL);
    if (!os || avcodec_parameters_copy(os->codecpar, par) < 0)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    os->codecpar->codec_tag = copy_tag(j->oc->oformat, par);
    if (copy_stream_info(os, is) != KK_OK)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    j->map[idx] = os->index;
    return KK_OK;
}

/* Video streams (cover pictures aside) and, with keep_audio, the audio
 * streams are copied in their input order; the rest is dropped. */
static kk_status map_streams(mux_job *j, kk_error *err)
{
    int videos = 0;
    j->map = malloc(j->ic->nb_streams * sizeof *j->map);
    if (!j->map)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    for (unsigned i = 0; i < j->ic->nb_streams; i++) {
        const AVStream *is = j->ic->streams[i];
        enum AVMediaType t = is->codecpar->codec_type;
        int video = t == AVMEDIA_TYPE_VIDEO && !(is->disposition & AV_DISPOSITION_ATTACHED_PIC);
        int audio = t == AVMEDIA_TYPE_AUDIO && mix_of(j->p) == KK_MIX_ADD;
        j->map[i] = -1;
        kk_status st = video || audio ? add_copy(j, (int)i, err) : KK_OK;
        if (st != KK_OK)
            return st;
        videos += video;
    }
    if (!videos)
        return kk_error_set(err, KK_ERR_INPUT, "%s: has no video stream to dub; give a video file", j->in_path);
    return KK_OK;
}

/* The longest video stream's duration in seconds (cover pictures aside);
 * the container's when no stream says, 0 when neither does. */
static double longest_video(const AVFormatContext *ic)
{
    double best = 0.0;
    int any = 0;
    for (unsigned i = 0; i < ic->nb_streams; i++) {
        const AVStream *s = ic->streams[i];
        if (s->codecpar->codec_type != AVMEDIA_TYPE_VIDEO || (s->disposition & AV_DISPOSITION_ATTACHED_PIC))
            continue;
        any = 1;
        if (s->duration != AV_NOPTS_VALUE && s->duration > 0) {
            double d = s->duration * av_q2d(s->time_base);
            best = d > best ? d : best;
        }
    }
    if (any && best == 0.0 && ic->duration != AV_NOPTS_VALUE && ic->duration > 0)
        best = ic->duration / (double)AV_TIME_BASE;
    return best;
}

static kk_status mux_prepare(mux_job *j, kk_error *err)
{
    kk_status st = open_input(&j->ic, j->in_path, err);
    if (st != KK_OK)
        return st;
    int r = avformat_alloc_output_context2(&j->oc, NULL, mux_muxer(j->out_path), j->out_path);
    if (r < 0)
        return kk_error_set(err, KK_ERR_UNSUPPORTED, "%s: this FFmpeg cannot write %s files: %s", j->out_path,
                            path_ext(j->out_path), av_err2str(r));
    if (av_dict_copy(&j->oc->metadata, j->ic->metadata, 0) < 0)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    if ((st = map_streams(j, err)) != KK_OK)
        return st;
    int kbps = j->p->bitrate_kbps ? j->p->bitrate_kbps : 160;
    if ((st = aac_open(&j->aac, j->oc, MUX_RATE, kbps, j->out_path, err)) != KK_OK)
        return st;
    j->aac_open = 1;
    /* The track starts with the video's first frame. */
    j->start_s = j->ic->start_time != AV_NOPTS_VALUE ? j->ic->start_time / (double)AV_TIME_BASE : 0.0;
    j->aac.pts_offset = llround(j->start_s * MUX_RATE);
    if (mix_of(j->p) != KK_MIX_ADD) /* the only audio: players should pick it */
        j->aac.st->disposition = AV_DISPOSITION_DEFAULT;
    /* Silence after the track up to the video's end, so that a video
     * longer than the last cue gets audio as long as itself. */
    double video_s = longest_video(j->ic);
    if (video_s > 0 && video_s < 1e7)
        j->src.pad_to = (uint64_t)llround(video_s * MUX_RATE);
    double all_s = j->ic->duration != AV_NOPTS_VALUE ? j->ic->duration / (double)AV_TIME_BASE : 0.0;
    double track_s = (double)j->src.n / j->src.in_rate;
    j->total_s = all_s > track_s ? all_s : track_s;
    j->fd = kk_tmpfile_create(j->out_path, &j->tmp);
    if (j->fd < 0)
        return io_error(err, j->out_path, errno);
    if ((st = av_open_tmp(j->oc, j->tmp, j->out_path, err)) != KK_OK)
        return st;
    AVDictionary *opts = NULL;
    r = strcmp(j->oc->oformat->name, "matroska") ? movie_timescale(&opts, MUX_RATE) : 0;
    if (r >= 0)
        r = avformat_write_header(j->oc, &opts);
    av_dict_free(&opts);
    if (r < 0)
        return kk_error_set(err, KK_ERR_UNSUPPORTED, "%s: cannot start the file: %s", j->out_path, av_err2str(r));
    return KK_OK;
}

/* Encodes the dub up to t seconds after the video's start (a frame
 * ahead), so that audio and video packets reach the muxer interleaved;
 * t = INFINITY: all of it, padding included. */
static kk_status feed_audio(mux_job *j, double t, kk_error *err)
{
    static const float zeros[CHUNK];
    dub_source *s = &j->src;
    double want = t * MUX_RATE + j->aac.ctx->frame_size;
    uint64_t upto = want <= 0 ? 0 : want >= 1e15 ? UINT64_MAX : (uint64_t)want;
    kk_status st = KK_OK;
    while (st == KK_OK && j->sent < upto) {
        fvec *made = src_ready(s);
        if (made->n) { /* what is made, in order */
            uint64_t k64 = upto - j->sent < made->n ? upto - j->sent : made->n;
            size_t k = (size_t)k64;
            st = aac_push(&j->aac, made->v, k, err);
            fvec_consume(made, k);
            j->sent += k;
        } else if (!s->done) {
            st = src_more(s, err);
        } else if (j->sent < s->pad_to) { /* the mix is over: silence to the video's end */
            uint64_t left = (s->pad_to < upto ? s->pad_to : upto) - j->sent;
            size_t k = left < CHUNK ? (size_t)left : CHUNK;
            st = aac_push(&j->aac, zeros, k, err);
            j->sent += k;
        } else {
            break;
        }
    }
    return st;
}

static int mux_progress(mux_job *j, double t)
{
    if (!j->p->progress)
        return 0;
    double f = j->total_s > 0 ? t / j->total_s : 0.0;
    if (f < j->reported + 0.01 && f < 1.0) /* a call per percent is plenty */
        return 0;
    j->reported = f;
    return stop_requested(j->p->progress, j->p->user, f < 0 ? 0 : f);
}

static kk_status copy_packet(mux_job *j, AVPacket *pkt, kk_error *err)
{
    const AVStream *is = j->ic->streams[pkt->stream_index];
    const AVStream *os = j->oc->streams[j->map[pkt->stream_index]];
    int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
    double t = ts != AV_NOPTS_VALUE ? ts * av_q2d(is->time_base) - j->start_s : 0.0;
    kk_status st = feed_audio(j, t, err);
    if (st != KK_OK)
        return st;
    av_packet_rescale_ts(pkt, is->time_base, os->time_base);
    pkt->stream_index = os->index;
    pkt->pos = -1;
    int r = av_interleaved_write_frame(j->oc, pkt);
    if (r < 0)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot write a packet: %s", j->out_path, av_err2str(r));
    return mux_progress(j, t) ? aborted(err, j->out_path) : KK_OK;
}

static kk_status mux_copy(mux_job *j, kk_error *err)
{
    AVPacket *pkt = av_packet_alloc();
    if (!pkt)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    kk_status st = KK_OK;
    int r;
    while (st == KK_OK && (r = av_read_frame(j->ic, pkt)) >= 0) {
        if (j->map[pkt->stream_index] >= 0)
            st = copy_packet(j, pkt, err);
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    if (st == KK_OK && r != AVERROR_EOF)
        st = kk_error_set(err, KK_ERR_INPUT, "%s: read failed: %s", j->in_path, av_err2str(r));
    return st;
}

static kk_status mux_finish(mux_job *j, kk_error *err)
{
    kk_status st = feed_audio(j, INFINITY, err);
    if (st == KK_OK)
        st = aac_finish(&j->aac, err);
    if (st != KK_OK)
        return st;
    if (stop_requested(j->p->progress, j->p->user, 1.0))
        return aborted(err, j->out_path);
    int r = av_write_trailer(j->oc);
    if (r >= 0)
        r = avio_closep(&j->oc->pb);
    if (r < 0)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot finish the file: %s; check free space", j->out_path,
                            av_err2str(r));
    st = finish_file(j->fd, j->tmp, j->out_path, err);
    j->fd = -1;
    return st;
}

static void mux_free(mux_job *j, int remove_tmp)
{
    aac_free(&j->aac);
    if (j->oc) {
        avio_closep(&j->oc->pb);
        avformat_free_context(j->oc);
    }
    avformat_close_input(&j->ic);
    if (j->fd >= 0)
        close(j->fd);
    if (remove_tmp && j->tmp)
        unlink(j->tmp);
    free(j->tmp), free(j->map);
    src_free(&j->src);
}

static kk_status check_mux_args(const char *video_in, const char *out_path, const kk_sample_io *io, uint64_t n,
                                int in_rate, const kk_mux_params *p, kk_error *err)
{
    if (!video_in || !*video_in)
        return kk_error_set(err, KK_ERR_ARG, "kk_mux_video: no input video");
    kk_status st = check_path(out_path, err);
    if (st != KK_OK)
        return st;
    if (!mux_muxer(out_path))
        return kk_error_set(err, KK_ERR_ARG, "%s: cannot tell the container from the name; end it in .mp4, .m4v, "
                            ".mov or .mkv", out_path);
    if (!io || !io->read)
        return kk_error_set(err, KK_ERR_ARG, "kk_mux_video: no samples");
    if (!n)
        return kk_error_set(err, KK_ERR_ARG, "%s: the track to dub is empty", out_path);
    if ((st = check_rate(in_rate, "input", err)) != KK_OK)
        return st;
    if ((unsigned)mix_of(p) > KK_MIX_DUCK)
        return kk_error_set(err, KK_ERR_ARG, "kk_mux_video: mix %d is not replace, add or duck", (int)p->mix);
    return check_aac_kbps(p->bitrate_kbps, err);
}

kk_status kk_mux_video_io(const char *video_in, const char *out_path, const kk_sample_io *io, uint64_t n,
                          int in_rate, const kk_mux_params *p, kk_error *err)
{
    kk_mux_params defaults = kk_mux_default_params();
    mux_job j = {.in_path = video_in, .out_path = out_path, .p = p ? p : &defaults, .fd = -1};
    kk_status st = check_mux_args(video_in, out_path, io, n, in_rate, j.p, err);
    if (st != KK_OK)
        return st;
    st = src_open(&j.src, io, n, in_rate, video_in, mix_of(j.p) == KK_MIX_DUCK ? &j.p->duck : NULL, err);
    if (st == KK_OK)
        st = mux_prepare(&j, err);
    if (st == KK_OK)
        st = mux_copy(&j, err);
    if (st == KK_OK)
        st = mux_finish(&j, err);
    mux_free(&j, st != KK_OK);
    return st;
}

kk_status kk_mux_video(const char *video_in, const char *out_path, const float *samples, size_t n, int in_rate,
                       const kk_mux_params *p, kk_error *err)
{
    if (!samples && n)
        return kk_error_set(err, KK_ERR_ARG, "kk_mux_video: no samples");
    kk_sample_io io = kk_sample_io_memory((float *)samples); /* only read */
    return kk_mux_video_io(video_in, out_path, &io, n, in_rate, p, err);
}

/* ------------------------------------------------------------------ */
/* probing                                                             */

kk_status kk_media_probe(const char *path, kk_media_info *info, kk_error *err)
{
    if (!path || !info)
        return kk_error_set(err, KK_ERR_ARG, "kk_media_probe: no file name or no place for the answer");
    memset(info, 0, sizeof *info);
    AVFormatContext *ic = NULL;
    kk_status st = open_input(&ic, path, err);
    if (st == KK_OK) {
        info->duration_s = ic->duration != AV_NOPTS_VALUE && ic->duration > 0 ? ic->duration / (double)AV_TIME_BASE : 0;
        info->video_s = longest_video(ic);
        snprintf(info->container, sizeof info->container, "%s", ic->iformat->name);
        for (unsigned i = 0; i < ic->nb_streams; i++) {
            const AVStream *s = ic->streams[i];
            const AVCodecParameters *par = s->codecpar;
            if (par->codec_type == AVMEDIA_TYPE_VIDEO && !(s->disposition & AV_DISPOSITION_ATTACHED_PIC) &&
                !info->has_video) {
                info->has_video = 1, info->width = par->width, info->height = par->height;
                snprintf(info->video_codec, sizeof info->video_codec, "%s", avcodec_get_name(par->codec_id));
            } else if (par->codec_type == AVMEDIA_TYPE_AUDIO && !info->has_audio) {
                info->has_audio = 1;
                snprintf(info->audio_codec, sizeof info->audio_codec, "%s", avcodec_get_name(par->codec_id));
            }
        }
    }
    avformat_close_input(&ic);
    return st;
}
