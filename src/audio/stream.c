/*
 * stream.c - see stream.h. Owns the in-memory streaming encoders: WAV and
 * PCM written here, MP3/Opus/AAC/FLAC through libavcodec and a libavformat
 * muxer (mp3, ogg, adts, flac) whose output is a non-seekable AVIO that
 * appends to the caller's buffer, so that no muxer writes a header it
 * means to come back to.
 *
 * Each write's output is out when the call returns (the Ogg muxer's pages
 * are flushed per call; the codecs keep only their frame and lookahead),
 * so a streamed answer's first chunk is heard as soon as it is made.
 *
 * No global state: FFmpeg's log level is left alone; the muxer's target
 * buffer is the encoder's own field, set for the length of one call.
 */
#include "stream.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AVIO_BUF 4096

static const struct {
    const char *name, *mime, *codec, *muxer;
    int kbps;
} formats[] = {
    [KK_STREAM_MP3] = {"mp3", "audio/mpeg", "libmp3lame", "mp3", 128},
    [KK_STREAM_OPUS] = {"opus", "audio/ogg", "libopus", "ogg", 64},
    [KK_STREAM_AAC] = {"aac", "audio/aac", "aac", "adts", 96},
    [KK_STREAM_FLAC] = {"flac", "audio/flac", "flac", "flac", 0},
    [KK_STREAM_WAV] = {"wav", "audio/wav", NULL, NULL, 0},
    [KK_STREAM_PCM] = {"pcm", "audio/pcm", NULL, NULL, 0},
};
#define N_FORMATS (sizeof formats / sizeof formats[0])

struct kk_stream_enc {
    kk_stream_format f;
    int rate;
    int started; /* WAV: header written */
    int finished;
    int failed_write; /* the AVIO callback could not grow the buffer */
    kk_buf *target;   /* where the AVIO writes, during one call */
    AVCodecContext *ctx;
    AVFormatContext *oc;
    AVStream *st;
    AVFrame *frame;
    AVPacket *pkt;
    int s16;    /* the codec takes 16-bit samples, else float */
    int fill;   /* samples in frame */
    int64_t pts;
};

kk_status kk_stream_format_parse(const char *name, kk_stream_format *out, kk_error *err)
{
    for (size_t i = 0; name && i < N_FORMATS; i++)
        if (!strcasecmp(name, formats[i].name)) {
            *out = (kk_stream_format)i;
            return KK_OK;
        }
    return kk_error_set(err, KK_ERR_ARG, "response_format \"%.40s\": use mp3, opus, aac, flac, wav or pcm",
                        name ? name : "");
}

const char *kk_stream_format_name(kk_stream_format f) { return (unsigned)f < N_FORMATS ? formats[f].name : "?"; }
const char *kk_stream_format_mime(kk_stream_format f)
{
    return (unsigned)f < N_FORMATS ? formats[f].mime : "application/octet-stream";
}

static int avio_write_cb(void *opaque, uint8_t *buf, int n) /* not const before FFmpeg 6.1 */
{
    kk_stream_enc *e = opaque;
    if (!e->target || kk_buf_append(e->target, (const char *)buf, (size_t)n)) {
        e->failed_write = 1;
        return AVERROR(ENOMEM);
    }
    return n;
}

static kk_status av_fail(kk_error *err, int r, const char *what)
{
    return kk_error_set(err, r == AVERROR(ENOMEM) ? KK_ERR_NOMEM : KK_ERR_IO, "%s: %s", what, av_err2str(r));
}

static int supports(const AVCodec *c, enum AVSampleFormat f)
{
    if (!c->sample_fmts)
        return 1;
    for (const enum AVSampleFormat *p = c->sample_fmts; *p != AV_SAMPLE_FMT_NONE; p++)
        if (*p == f)
            return 1;
    return 0;
}

static int rate_ok(const AVCodec *c, int rate)
{
    if (!c->supported_samplerates)
        return 1;
    for (const int *p = c->supported_samplerates; *p; p++)
        if (*p == rate)
            return 1;
    return 0;
}

static kk_status av_setup(kk_stream_enc *e, int kbps, kk_error *err)
{
    const char *cname = formats[e->f].codec, *fmt = formats[e->f].name;
    const AVCodec *codec = avcodec_find_encoder_by_name(cname);
    if (!codec)
        return kk_error_set(err, KK_ERR_UNSUPPORTED, "%s: this FFmpeg has no %s encoder (install libavcodec with it)",
                            fmt, cname);
    if (!rate_ok(codec, e->rate))
        return kk_error_set(err, KK_ERR_ARG, "%s: the %s encoder does not take %d Hz", fmt, cname, e->rate);
    /* Mono: planar and interleaved are the same layout. */
    enum AVSampleFormat sf = AV_SAMPLE_FMT_NONE;
    static const enum AVSampleFormat want[] = {AV_SAMPLE_FMT_FLTP, AV_SAMPLE_FMT_FLT, AV_SAMPLE_FMT_S16,
                                               AV_SAMPLE_FMT_S16P};
    for (size_t i = 0; i < 4 && sf == AV_SAMPLE_FMT_NONE; i++)
        if (supports(codec, want[i]))
            sf = want[i];
    if (sf == AV_SAMPLE_FMT_NONE)
        return kk_error_set(err, KK_ERR_UNSUPPORTED, "%s: no sample format of the %s encoder fits", fmt, cname);
    e->s16 = sf == AV_SAMPLE_FMT_S16 || sf == AV_SAMPLE_FMT_S16P;

    int r = avformat_alloc_output_context2(&e->oc, NULL, formats[e->f].muxer, NULL);
    if (r < 0 || !e->oc)
        return av_fail(err, r < 0 ? r : AVERROR(ENOMEM), "cannot set up the muxer");
    unsigned char *iobuf = av_malloc(AVIO_BUF);
    if (!iobuf)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    e->oc->pb = avio_alloc_context(iobuf, AVIO_BUF, 1, e, NULL, avio_write_cb, NULL);
    if (!e->oc->pb) {
        av_free(iobuf);
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    }
    e->oc->pb->seekable = 0;
    e->oc->flags |= AVFMT_FLAG_FLUSH_PACKETS; /* each packet out as it is made */
    e->st = avformat_new_stream(e->oc, NULL);
    e->ctx = avcodec_alloc_context3(codec);
    e->frame = av_frame_alloc();
    e->pkt = av_packet_alloc();
    if (!e->st || !e->ctx || !e->frame || !e->pkt)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    e->ctx->sample_fmt = sf;
    e->ctx->sample_rate = e->rate;
    e->ctx->time_base = (AVRational){1, e->rate};
    if (kbps > 0)
        e->ctx->bit_rate = (int64_t)kbps * 1000;
    if (e->f == KK_STREAM_FLAC)
        e->ctx->bits_per_raw_sample = 16;
    r = av_channel_layout_copy(&e->ctx->ch_layout, &mono);
    if (e->oc->oformat->flags & AVFMT_GLOBALHEADER)
        e->ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (r >= 0)
        r = avcodec_open2(e->ctx, codec, NULL);
    if (r < 0)
        return kk_error_set(err, KK_ERR_UNSUPPORTED, "%s: cannot open the %s encoder: %s", fmt, cname, av_err2str(r));
    if (e->ctx->frame_size <= 0)
        e->ctx->frame_size = 4096; /* a codec that takes any frame size */
    r = avcodec_parameters_from_context(e->st->codecpar, e->ctx);
    if (r < 0)
        return av_fail(err, r, "cannot set up the audio stream");
    e->st->time_base = e->ctx->time_base;
    e->frame->nb_samples = e->ctx->frame_size;
    e->frame->format = sf;
    e->frame->sample_rate = e->rate;
    r = av_channel_layout_copy(&e->frame->ch_layout, &e->ctx->ch_layout);
    if (r >= 0)
        r = av_frame_get_buffer(e->frame, 0);
    if (r < 0)
        return av_fail(err, r, "cannot allocate an audio frame");
    return KK_OK;
}

kk_status kk_stream_enc_open(kk_stream_enc **out, kk_stream_format f, int rate, int bitrate_kbps, kk_error *err)
{
    *out = NULL;
    if ((unsigned)f >= N_FORMATS)
        return kk_error_set(err, KK_ERR_ARG, "unknown stream format %d", (int)f);
    if (rate < 1000 || rate > 384000)
        return kk_error_set(err, KK_ERR_ARG, "sample rate %d Hz: use 1000 .. 384000", rate);
    kk_stream_enc *e = calloc(1, sizeof *e);
    if (!e)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    e->f = f;
    e->rate = rate;
    if (formats[f].codec) {
        kk_status st = av_setup(e, bitrate_kbps ? bitrate_kbps : formats[f].kbps, err);
        if (st != KK_OK) {
            kk_stream_enc_free(e);
            return st;
        }
    }
    *out = e;
    return KK_OK;
}

static kk_status put_le(kk_buf *b, uint32_t v, int bytes)
{
    char c[4];
    for (int i = 0; i < bytes; i++)
        c[i] = (char)((v >> (8 * i)) & 0xff);
    return kk_buf_append(b, c, (size_t)bytes) ? KK_ERR_NOMEM : KK_OK;
}

static kk_status wav_header(kk_stream_enc *e, kk_buf *out)
{
    kk_status st = kk_buf_append(out, "RIFF", 4) ? KK_ERR_NOMEM : KK_OK;
    if (st == KK_OK)
        st = put_le(out, 0xffffffffu, 4);
    if (st == KK_OK)
        st = kk_buf_append(out, "WAVEfmt ", 8) ? KK_ERR_NOMEM : KK_OK;
    if (st == KK_OK)
        st = put_le(out, 16, 4);
    if (st == KK_OK)
        st = put_le(out, 1, 2); /* PCM */
    if (st == KK_OK)
        st = put_le(out, 1, 2); /* mono */
    if (st == KK_OK)
        st = put_le(out, (uint32_t)e->rate, 4);
    if (st == KK_OK)
        st = put_le(out, (uint32_t)e->rate * 2, 4);
    if (st == KK_OK)
        st = put_le(out, 2, 2);
    if (st == KK_OK)
        st = put_le(out, 16, 2);
    if (st == KK_OK)
        st = kk_buf_append(out, "data", 4) ? KK_ERR_NOMEM : KK_OK;
    if (st == KK_OK)
        st = put_le(out, 0xffffffffu, 4);
    return st;
}

static int16_t to_s16(float x)
{
    float v = x > 1.0f ? 1.0f : x < -1.0f ? -1.0f : x;
    return (int16_t)(v * 32767.0f + (v >= 0 ? 0.5f : -0.5f));
}

static kk_status pcm_write(kk_stream_enc *e, const float *x, size_t n, kk_buf *out, kk_error *err)
{
    if (e->f == KK_STREAM_WAV && !e->started) {
        if (wav_header(e, out) != KK_OK)
            return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    }
    e->started = 1;
    if (n && kk_buf_reserve(out, n * 2))
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        uint16_t v = (uint16_t)to_s16(x[i]);
        char c[2] = {(char)(v & 0xff), (char)(v >> 8)};
        kk_buf_append(out, c, 2); /* reserved above */
    }
    return KK_OK;
}

/* Sends one frame (NULL: drain) and muxes every packet that comes out. */
static kk_status send_frame(kk_stream_enc *e, AVFrame *f, kk_error *err)
{
    if (f) {
        f->pts = e->pts;
        e->pts += f->nb_samples;
    }
    int r = avcodec_send_frame(e->ctx, f);
    if (r < 0)
        return av_fail(err, r, "encoding failed");
    while ((r = avcodec_receive_packet(e->ctx, e->pkt)) >= 0) {
        av_packet_rescale_ts(e->pkt, e->ctx->time_base, e->st->time_base);
        e->pkt->stream_index = e->st->index;
        r = av_write_frame(e->oc, e->pkt);
        av_packet_unref(e->pkt);
        if (r < 0)
            return e->failed_write ? kk_error_set(err, KK_ERR_NOMEM, "out of memory") : av_fail(err, r, "muxing failed");
    }
    if (r != AVERROR(EAGAIN) && r != AVERROR_EOF)
        return av_fail(err, r, "encoding failed");
    return KK_OK;
}

static kk_status av_start(kk_stream_enc *e, kk_error *err)
{
    if (e->started)
        return KK_OK;
    e->started = 1;
    AVDictionary *opts = NULL;
    if (e->f == KK_STREAM_MP3) /* no ID3 tag: the stream is the audio alone */
        av_dict_set(&opts, "id3v2_version", "0", 0);
    int r = avformat_write_header(e->oc, &opts);
    av_dict_free(&opts);
    if (r < 0)
        return e->failed_write ? kk_error_set(err, KK_ERR_NOMEM, "out of memory")
                               : av_fail(err, r, "cannot write the stream's header");
    return KK_OK;
}

static kk_status av_write(kk_stream_enc *e, const float *x, size_t n, kk_error *err)
{
    kk_status st = av_start(e, err);
    while (st == KK_OK && n) {
        if (e->fill == 0) { /* the encoder may still hold the last frame */
            int r = av_frame_make_writable(e->frame);
            if (r < 0)
                return av_fail(err, r, "cannot allocate an audio frame");
        }
        size_t k = (size_t)(e->ctx->frame_size - e->fill);
        if (k > n)
            k = n;
        if (e->s16) {
            int16_t *d = (int16_t *)e->frame->data[0] + e->fill;
            for (size_t i = 0; i < k; i++)
                d[i] = to_s16(x[i]);
        } else {
            float *d = (float *)e->frame->data[0] + e->fill;
            for (size_t i = 0; i < k; i++)
                d[i] = x[i] > 1.0f ? 1.0f : x[i] < -1.0f ? -1.0f : x[i];
        }
        e->fill += (int)k, x += k, n -= k;
        if (e->fill == e->ctx->frame_size) {
            e->fill = 0;
            st = send_frame(e, e->frame, err);
        }
    }
    return st;
}

kk_status kk_stream_enc_write(kk_stream_enc *e, const float *x, size_t n, kk_buf *out, kk_error *err)
{
    if (e->finished)
        return kk_error_set(err, KK_ERR_ARG, "the stream is finished");
    if (!formats[e->f].codec)
        return pcm_write(e, x, n, out, err);
    e->target = out;
    kk_status st = av_write(e, x, n, err);
    /* The Ogg muxer holds packets until a page holds a second of audio:
     * the rest of a chunk would wait for the next one (seconds, while the
     * listener hears nothing). A flush closes the page: what this call
     * made is out now (bar the codec's own frame). */
    if (st == KK_OK && (e->oc->oformat->flags & AVFMT_ALLOW_FLUSH) && e->f == KK_STREAM_OPUS) {
        int r = av_write_frame(e->oc, NULL);
        if (r < 0)
            st = e->failed_write ? kk_error_set(err, KK_ERR_NOMEM, "out of memory")
                                 : av_fail(err, r, "cannot flush the stream's page");
    }
    if (st == KK_OK)
        avio_flush(e->oc->pb);
    e->target = NULL;
    return st;
}

kk_status kk_stream_enc_finish(kk_stream_enc *e, kk_buf *out, kk_error *err)
{
    if (e->finished)
        return KK_OK;
    if (!formats[e->f].codec) {
        kk_status st = pcm_write(e, NULL, 0, out, err);
        e->finished = 1;
        return st;
    }
    e->target = out;
    kk_status st = av_start(e, err);
    if (st == KK_OK && e->fill) {
        /* A short last frame where the codec takes one; else padded with
         * silence to a whole frame. */
        /* (Not for LAME: FFmpeg's wrapper then miscounts its queue at the
         * flush and says so on stderr.) */
        if (e->f != KK_STREAM_MP3 &&
            (e->ctx->codec->capabilities & (AV_CODEC_CAP_SMALL_LAST_FRAME | AV_CODEC_CAP_VARIABLE_FRAME_SIZE))) {
            e->frame->nb_samples = e->fill;
        } else {
            size_t sz = e->s16 ? 2 : 4;
            memset(e->frame->data[0] + (size_t)e->fill * sz, 0, (size_t)(e->ctx->frame_size - e->fill) * sz);
        }
        e->fill = 0;
        st = send_frame(e, e->frame, err);
    }
    if (st == KK_OK)
        st = send_frame(e, NULL, err);
    /* FLAC's trailer only goes back to fill STREAMINFO's totals, which a
     * stream cannot (it would say so on stderr); its frames are complete
     * without it. */
    if (st == KK_OK && e->f != KK_STREAM_FLAC) {
        int r = av_write_trailer(e->oc);
        if (r < 0)
            st = e->failed_write ? kk_error_set(err, KK_ERR_NOMEM, "out of memory") : av_fail(err, r, "cannot end the stream");
    }
    if (st == KK_OK)
        avio_flush(e->oc->pb);
    e->target = NULL;
    e->finished = 1;
    return st;
}

void kk_stream_enc_free(kk_stream_enc *e)
{
    if (!e)
        return;
    avcodec_free_context(&e->ctx);
    av_frame_free(&e->frame);
    av_packet_free(&e->pkt);
    if (e->oc) {
        if (e->oc->pb) {
            av_freep(&e->oc->pb->buffer);
            avio_context_free(&e->oc->pb);
        }
        avformat_free_context(e->oc);
    }
    free(e);
}
