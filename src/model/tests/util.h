/* util.h - shared by the model tests: scratch files, the synthetic ONNX
 * model, and where the real model lives. */
#ifndef KK_MODEL_TEST_UTIL_H
#define KK_MODEL_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pbw.h"

/* A path for a scratch file in the test's temporary directory
 * (kk_test_path: one of eight rotating static buffers). */
const char *tmp_path(const char *name);
/* Whole files out and in (src/common/kk_testutil.h); fail the test when
 * they cannot. read_file's result is malloc'd and NUL-terminated. */
void write_file(const char *path, const void *data, size_t len);
uint8_t *read_file(const char *path, size_t *len);
/* The real model directory ($KOKORO_MODEL_DIR, else ../shared/models/
 * kokoro-82m-v1.0 next to the source tree), or NULL when the model file is
 * not there. */
const char *real_model_dir(void);

/* The synthetic model described in util.c (small, every feature the
 * converter handles). Free with pbw_free. */
pbw make_test_model(void);
/* Hand-made Q4 data of the synthetic model's MatMulNBits node "mm":
 * K=40, N=3, block 32 (2 blocks per row, the second partial). */
extern const float test_scales[6];
extern const uint8_t test_zp[3];
uint8_t test_b_byte(int i);

#endif
