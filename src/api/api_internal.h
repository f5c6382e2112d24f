/*
 * api_internal.h - what the files of the public façade (src/api) share:
 * the definitions of the opaque types of include/kokoro.h that more than
 * one file opens, and the conversions between the public and the module
 * types. Nothing outside src/api includes it.
 *
 * src/api owns include/kokoro.h's implementation and may call every
 * module's public header (tts, render, cache, export, subtitles, kk_error);
 * no module calls it.
 */
#ifndef KK_API_INTERNAL_H
#define KK_API_INTERNAL_H

#include "kokoro.h"

#include "export.h"
#include "kk_error.h"
#include "tts.h"

struct kokoro_context {
    kk_tts *tts;
};

/* Copies a module error into the caller's public one (which may be NULL)
 * and returns its status as the public type; segment: 0 unless a render
 * says which segment failed. */
kokoro_status kk_api_error(kokoro_error *out, const kk_error *e, size_t segment);
/* Sets the caller's error (may be NULL) directly, printf-style. */
kokoro_status kk_api_fail(kokoro_error *out, kokoro_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Clears it (KOKORO_OK, empty message, segment 0). */
void kk_api_ok(kokoro_error *out);

/* The public export params as the module's; p NULL: the format from path's
 * extension (KOKORO_ERR_ARG when it says none) and the defaults. */
kokoro_status kk_api_export_params(const kokoro_export_params *p, const char *path, kk_export_params *out,
                                   kokoro_error *err);

#endif
