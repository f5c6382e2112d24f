/*
 * stream.h - speech encoded to memory as it is made, for answers that are
 * sent while the rest is still being synthesised (the OpenAI-compatible
 * speech API): MP3 (LAME through libavcodec), Opus in Ogg (libopus), AAC
 * in ADTS frames, FLAC, WAV and raw PCM, each a byte stream that can be
 * cut anywhere and needs no seek back to be complete.
 *
 * Unlike export.h, nothing here touches a file: every call appends the
 * bytes it made to a buffer the caller hands in, so the caller decides
 * where they go (an HTTP body, base64 in an event). A WAV stream cannot
 * know its length up front, so its RIFF and data sizes are 0xFFFFFFFF
 * ("until the end of the stream", which FFmpeg, browsers and the usual
 * players read as such); PCM is 16-bit little-endian, no header.
 *
 * Layer: src/audio may call src/common only (and FFmpeg); the server
 * calls it.
 */
#ifndef KK_STREAM_H
#define KK_STREAM_H

#include <stddef.h>

#include "buf.h"
#include "kk_error.h"

typedef enum kk_stream_format {
    KK_STREAM_MP3 = 0,
    KK_STREAM_OPUS, /* Opus in Ogg */
    KK_STREAM_AAC,  /* AAC-LC in ADTS frames */
    KK_STREAM_FLAC,
    KK_STREAM_WAV,  /* 16-bit PCM, sizes "unknown" */
    KK_STREAM_PCM,  /* 16-bit little-endian, no header */
} kk_stream_format;

/* "mp3", "opus", "aac", "flac", "wav", "pcm" (any case). KK_ERR_ARG
 * naming the choices for anything else. */
kk_status kk_stream_format_parse(const char *name, kk_stream_format *out, kk_error *err);
/* "mp3", ... and the media type an answer in it carries ("audio/mpeg",
 * "audio/ogg", "audio/aac", "audio/flac", "audio/wav", "audio/pcm"). */
const char *kk_stream_format_name(kk_stream_format f);
const char *kk_stream_format_mime(kk_stream_format f);

typedef struct kk_stream_enc kk_stream_enc;

/* An encoder of mono float samples at rate (the engine's 24 kHz; MP3,
 * Opus and AAC take 8..48 kHz rates their codecs know: Opus 8, 12, 16, 24
 * or 48 kHz). bitrate_kbps 0: the format's default (MP3 128, Opus 64,
 * AAC 96; FLAC, WAV and PCM have none). KK_ERR_UNSUPPORTED when this
 * FFmpeg lacks the codec, KK_ERR_ARG for a bad rate. */
kk_status kk_stream_enc_open(kk_stream_enc **out, kk_stream_format f, int rate, int bitrate_kbps, kk_error *err);
/* Encodes n samples (clipped to [-1, 1]), appending what is ready to out
 * (the first call also the stream's header). Codecs work in frames, so
 * some samples wait for the next call or for finish. KK_ERR_NOMEM when
 * out cannot grow. */
kk_status kk_stream_enc_write(kk_stream_enc *e, const float *x, size_t n, kk_buf *out, kk_error *err);
/* The last frame and the codec's tail, appended to out; the stream is then
 * complete (a second finish adds nothing). */
kk_status kk_stream_enc_finish(kk_stream_enc *e, kk_buf *out, kk_error *err);
void kk_stream_enc_free(kk_stream_enc *e);

#endif
