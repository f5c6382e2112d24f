/*
 * api_export.c - the public façade's exports (include/kokoro.h over
 * src/audio/export.h): samples to WAV, FLAC, MP3 or M4A, atomically.
 */
#include <string.h>

#include "api_internal.h"

_Static_assert(KOKORO_EXPORT_WAV16 == (int)KK_EXPORT_WAV16, "export formats differ");
_Static_assert(KOKORO_EXPORT_WAV32 == (int)KK_EXPORT_WAV32, "export formats differ");
_Static_assert(KOKORO_EXPORT_FLAC == (int)KK_EXPORT_FLAC, "export formats differ");
_Static_assert(KOKORO_EXPORT_MP3 == (int)KK_EXPORT_MP3, "export formats differ");
_Static_assert(KOKORO_EXPORT_M4A == (int)KK_EXPORT_M4A, "export formats differ");

KK_API kokoro_export_params kokoro_export_default_params(void)
{
    kk_export_params d = kk_export_default_params();
    return (kokoro_export_params){.format = (kokoro_export_format)d.format,
                                  .sample_rate = d.sample_rate,
                                  .vbr = d.vbr,
                                  .vbr_quality = d.vbr_quality,
                                  .bitrate_kbps = d.bitrate_kbps};
}

KK_API kokoro_mux_params kokoro_mux_default_params(void)
{
    kk_mux_params d = kk_mux_default_params();
    return (kokoro_mux_params){.keep_audio = d.keep_audio, .bitrate_kbps = d.bitrate_kbps};
}

KK_API kokoro_status kokoro_export_format_parse(const char *name_or_path, kokoro_export_format *out,
                                                kokoro_error *err)
{
    if (!name_or_path || !out)
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_export_format_parse: arguments must not be NULL");
    kk_export_format f = KK_EXPORT_WAV16;
    kk_error e = {0};
    if (kk_export_format_parse(name_or_path, &f, &e) == KK_OK)
        *out = (kokoro_export_format)f;
    return kk_api_error(err, &e, 0);
}

kokoro_status kk_api_export_params(const kokoro_export_params *p, const char *path, kk_export_params *out,
                                   kokoro_error *err)
{
    *out = kk_export_default_params();
    if (!p) {
        kk_error e = {0};
        if (kk_export_format_parse(path, &out->format, &e) != KK_OK)
            return kk_api_error(err, &e, 0);
        return KOKORO_OK;
    }
    out->format = (kk_export_format)p->format;
    out->sample_rate = p->sample_rate;
    out->vbr = p->vbr;
    out->vbr_quality = p->vbr_quality;
    out->bitrate_kbps = p->bitrate_kbps;
    out->progress = (kk_export_progress_fn)p->progress;
    out->user = p->user;
    return KOKORO_OK;
}

KK_API kokoro_status kokoro_export(const char *path, const float *samples, size_t n, int rate,
                                   const kokoro_export_params *params, kokoro_error *err)
{
    if (!path || (!samples && n))
        return kk_api_fail(err, KOKORO_ERR_ARG, "kokoro_export: path and samples must not be NULL");
    kk_export_params ep;
    kokoro_status st = kk_api_export_params(params, path, &ep, err);
    if (st != KOKORO_OK)
        return st;
    static const float none[1];
    kk_error e = {0};
    kk_export_audio(path, samples ? samples : none, n, rate, &ep, &e);
    return kk_api_error(err, &e, 0);
}
