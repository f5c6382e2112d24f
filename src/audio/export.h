/*
 * export.h - the rendered track out to a file: WAV (16-bit PCM or 32-bit
 * float; RF64 when it passes 4 GiB), FLAC, MP3 (LAME, CBR or VBR) and M4A (AAC in MP4 through
 * libavcodec/libavformat), at the input rate or resampled (libswresample)
 * to another; and a dub: a video's streams copied with the track as its
 * audio (kk_mux_video).
 *
 * Every file is written to a temporary file beside the target and renamed
 * over it only when it is complete, so a failed, aborted or interrupted
 * export leaves nothing behind (and never a half-replaced file).
 *
 * Also the way back: kk_audio_decode() reads any file FFmpeg reads into mono
 * float samples (the tests check each export with it).
 *
 * Layer: src/audio may call src/common only (and libsndfile, LAME, FFmpeg,
 * Rubber Band, libebur128); render, the server, the CLI and the public API
 * call it.
 */
#ifndef KK_EXPORT_H
#define KK_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "dsp.h"
#include "kk_error.h"
#include "sample_io.h"

typedef enum kk_export_format {
    KK_EXPORT_WAV16 = 0, /* WAV, 16-bit PCM (clipped to [-1, 1]) */
    KK_EXPORT_WAV32,     /* WAV, 32-bit float */
    KK_EXPORT_FLAC,      /* FLAC, 16-bit */
    KK_EXPORT_MP3,       /* MP3 through LAME */
    KK_EXPORT_M4A,       /* AAC in an MP4 container (.m4a) */
} kk_export_format;

/* Called with the fraction done (0..1); return non-zero to stop (the call
 * then fails with KK_ERR_ABORTED and leaves no file). */
typedef int (*kk_export_progress_fn)(void *user, double fraction);

typedef struct kk_export_params {
    kk_export_format format;
    int sample_rate;  /* of the file; 0: the rate of the samples given */
    int vbr;          /* MP3: variable bit rate (LAME -V vbr_quality) instead of CBR */
    int vbr_quality;  /* MP3 VBR: 0 (best) .. 9; default 4 */
    int bitrate_kbps; /* MP3 CBR and AAC; 0: the format's default (MP3 128, AAC 128) */
    kk_export_progress_fn progress; /* may be NULL */
    void *user;
    /* The streaming writer: how many samples (at the input rate) it will be
     * given, when the caller knows; 0: unknown. Only WAV looks at it, to
     * choose RF64 up front (see kk_export_needs_rf64); kk_export_audio sets
     * it itself. A count too small is safe: the write that would pass the
     * WAV limit is refused instead. */
    uint64_t expected_samples;
} kk_export_params;

kk_export_params kk_export_default_params(void);

/* Whether a WAV (KK_EXPORT_WAV16 or WAV32) of frames samples at the file's
 * rate, mono, must be RF64: 1 when its data, with room for the header
 * chunks, would pass the 32-bit sizes of RIFF (4 GiB: 16-bit PCM at 24 kHz
 * passes them after about 24.8 hours, float after half that); 0 otherwise,
 * and always 0 for the other formats (FLAC, MP3 and M4A have no such
 * limit). What the writer decides by: an RF64 file is a WAV with 64-bit
 * sizes (EBU Tech 3306) that FFmpeg, libsndfile and the usual editors read.
 * A WAV writer that was not told a length over the limit refuses the write
 * that would pass it (KK_ERR_UNSUPPORTED, with what to do), so a WAV's sizes
 * never wrap around. */
int kk_export_needs_rf64(kk_export_format f, uint64_t frames);

/* "wav", "wav32", "flac", "mp3", "m4a" (also "aac"), or a file name whose
 * extension says it (.wav is 16-bit). KK_ERR_ARG naming the choices when
 * it is none of these. */
kk_status kk_export_format_parse(const char *name_or_path, kk_export_format *out, kk_error *err);
/* "wav", "wav32", ... (for messages) and the usual extension (".wav", ...). */
const char *kk_export_format_name(kk_export_format f);
const char *kk_export_format_ext(kk_export_format f);

/* A streaming writer: open, write samples (mono float at in_rate) in any
 * number of calls, then commit (finish and rename into place) or abort
 * (remove the temporary file). Both free the writer. p->progress is not
 * called by the writer (only kk_export_audio knows the whole length).
 * Rates: MP3 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100 or
 * 48000 Hz; M4A those and 64000, 88200, 96000 Hz; WAV and FLAC (and
 * in_rate) 1000..384000 Hz. MP3 CBR takes the bit rates an MP3 frame
 * can state at its rate (32..320 kbps from 32 kHz, 8..160 from 16 kHz,
 * 8..64 below), AAC 16..320 kbps. Anything else is KK_ERR_ARG naming
 * what is allowed.
 * An empty track makes a valid WAV, FLAC or MP3 file (decoding to no
 * samples); M4A refuses it with KK_ERR_ARG (at commit for the writer). */
typedef struct kk_audio_writer kk_audio_writer;

kk_status kk_audio_writer_open(kk_audio_writer **out, const char *path, int in_rate, const kk_export_params *p,
                               kk_error *err);
kk_status kk_audio_writer_write(kk_audio_writer *w, const float *samples, size_t n, kk_error *err);
kk_status kk_audio_writer_commit(kk_audio_writer *w, kk_error *err);
void kk_audio_writer_abort(kk_audio_writer *w);

/* The whole track in one call (progress reported as it is written). */
kk_status kk_export_audio(const char *path, const float *samples, size_t n, int in_rate, const kk_export_params *p,
                          kk_error *err);
/* The same for a track of n samples read through io (sample_io.h) a chunk
 * at a time: memory does not grow with n. A read error aborts the export
 * (no file) and is returned. */
kk_status kk_export_audio_io(const char *path, const kk_sample_io *io, uint64_t n, int in_rate,
                             const kk_export_params *p, kk_error *err);

/* Resamples mono float audio from one rate to another (libswresample, a
 * high-quality filter); *out is malloc'd, *n_out about n * to / from. */
kk_status kk_resample(const float *in, size_t n, int from_rate, int to_rate, float **out, size_t *n_out,
                      kk_error *err);

/* What becomes of the video's own audio in a dub. */
typedef enum kk_mix_mode {
    KK_MIX_REPLACE = 0, /* the track replaces it */
    KK_MIX_ADD,         /* it is kept, the track added as another audio stream (after it) */
    KK_MIX_DUCK,        /* the track mixed over it, ducked under the speech (kk_duck_mix): one stream */
} kk_mix_mode;

/* "replace", "add", "duck" -> the mode; KK_ERR_ARG naming them otherwise. */
kk_status kk_mix_mode_parse(const char *name, kk_mix_mode *out, kk_error *err);

typedef struct kk_mux_params {
    int keep_audio;   /* 1: the same as mix KK_MIX_ADD (kept for the public API's field) */
    kk_mix_mode mix;  /* default KK_MIX_REPLACE */
    kk_duck_params duck; /* for KK_MIX_DUCK; kk_mux_default_params gives kk_duck_default_params() */
    int bitrate_kbps; /* AAC bit rate of the track; 0: 160 */
    kk_export_progress_fn progress;
    void *user;
} kk_mux_params;

kk_mux_params kk_mux_default_params(void);

/* Writes out_path (its container from its extension: .mp4, .m4v, .mov,
 * .mkv) with every video stream of video_in copied as it is (no
 * re-encoding) and the track encoded as AAC at 48 kHz. Subtitles and data
 * streams are dropped. Errors name the file and what FFmpeg said. The
 * track starts with the video and is kept whole (an empty one is
 * KK_ERR_ARG); a video longer than the track gets silence after it, so
 * that the audio lasts as long as the (longest) video stream. With
 * KK_MIX_DUCK the video's first audio stream is decoded (mono, at
 * in_rate) and the track is laid over it (a video with no audio is
 * KK_ERR_INPUT saying to replace instead). MP4/MOV record AAC's encoder
 * delay (an edit list); Matroska cannot, so there the muxer delays every
 * stream by it (1024 samples, 21 ms) and sync is kept. */
kk_status kk_mux_video(const char *video_in, const char *out_path, const float *samples, size_t n, int in_rate,
                       const kk_mux_params *p, kk_error *err);
/* The same for a track of n samples read through io (sample_io.h), as
 * the muxer needs it: the track, the video's own audio (duck) and the
 * resampled dub pass a block at a time (about 16k samples), so memory
 * does not grow with the length but for the container's index, which the
 * MP4 and MOV muxers hold until the end (about 11 MB per hour; Matroska's
 * under 2 MB). A read error stops the dub (no file) and is returned. */
kk_status kk_mux_video_io(const char *video_in, const char *out_path, const kk_sample_io *io, uint64_t n,
                          int in_rate, const kk_mux_params *p, kk_error *err);

/* What kk_media_probe finds in a media file. */
typedef struct kk_media_info {
    double duration_s;     /* the container's (longest stream); 0 when unknown */
    double video_s;        /* the longest video stream's; 0: none or unknown */
    int has_video, has_audio; /* cover pictures do not count as video */
    int width, height;     /* of the first video stream */
    char video_codec[32], audio_codec[32], container[32];
} kk_media_info;

/* Opens path with FFmpeg and reads its streams (no decoding). A file
 * FFmpeg cannot read is KK_ERR_INPUT, one that cannot be opened KK_ERR_IO;
 * both name the file. */
kk_status kk_media_probe(const char *path, kk_media_info *info, kk_error *err);

/* Called with each block of decoded mono samples, in order; return
 * non-zero to stop (the decode then fails with KK_ERR_ABORTED). */
typedef int (*kk_decode_fn)(void *user, const float *samples, size_t n, int rate);

/* kk_audio_decode at the stream's own rate, handed out a block at a time
 * (about 64k samples): memory does not grow with the file's length. The
 * same samples as kk_audio_decode with want_rate 0. */
kk_status kk_audio_decode_each(const char *path, kk_decode_fn fn, void *user, kk_error *err);

/* Decodes the first audio stream of any file FFmpeg reads, mixed to mono
 * float (the channels' average); resampled to want_rate unless it is 0.
 * Encoder delay and padding are trimmed (MP3 info tag, MP4 edit list), so
 * our MP3 and M4A exports come back at their exact length. *samples
 * malloc'd (also when *n is 0); rate may be NULL. */
kk_status kk_audio_decode(const char *path, int want_rate, float **samples, size_t *n, int *rate, kk_error *err);

#endif
