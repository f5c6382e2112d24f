/* util.c - see util.h. */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kk_testutil.h"
#include "onnx.h"
#include "weights.h"

const char *tmp_path(const char *name) { return kk_test_path(name); }

void write_file(const char *path, const void *data, size_t len)
{
    assert_int_equal(kk_test_write(path, data, len), 0);
}

uint8_t *read_file(const char *path, size_t *len)
{
    uint8_t *d = (uint8_t *)kk_test_read(path, len);
    assert_non_null(d);
    return d;
}

const char *real_model_dir(void) { return kk_test_model_dir("model_q4_w16.onnx"); }

const float test_scales[6] = {0.5f, -0.25f, 1.0f, 2.0f, 0.125f, -1.0f};
const uint8_t test_zp[3] = {0x3A, 0x05, 0xF0};
uint8_t test_b_byte(int i) { return (uint8_t)(i * 37 + 11); }

/*
 * Graph (inputs x; outputs y, z):
 *   W__cast  Cast(W__f16 -> W)                  folded: W stored as f32
 *   scales__cast Cast(scales__f16 -> scales)    folded into the Q4 tensor
 *   c0       Constant -> c0_out (int64 scalar 2)
 *   conv1    Conv(x, W, conv.bias) -> h1         kernel_shape, pads, group
 *   mm       com.microsoft.MatMulNBits(h1, B, scales, zp) -> h2
 *   (none)   Reshape(h2, shape) -> h3            unnamed: called "@h3"
 *   mul      Mul(h3, c0_out) -> h4
 *   lrelu    LeakyRelu(h4) -> y                  alpha, mode, fl
 *   cos      ConstantOfShape(shape) -> z         value tensor attribute
 *   add2     Add(h1, i32) -> h5
 * Initializers also include "unused" (nobody reads it).
 */
pbw make_test_model(void)
{
    pbw g = {0};
    /* W: float16 [3,4,2], values (i-12)/4, exact in half precision */
    uint16_t w16[24];
    for (int i = 0; i < 24; i++)
        w16[i] = kk_f32_to_fp16((float)(i - 12) * 0.25f);
    int64_t wd[] = {3, 4, 2};
    pbw t = onnx_tensor_raw("W__f16", KK_ONNX_FLOAT16, 3, wd, w16, sizeof w16);
    pbw_msg(&g, 5, &t);
    /* conv.bias through float_data (packed) */
    int64_t bd[] = {3};
    t = onnx_tensor_raw("conv.bias", KK_ONNX_FLOAT, 1, bd, NULL, 0);
    float bias[3] = {0.5f, -1.0f, 2.0f};
    pbw_bytes(&t, 4, bias, sizeof bias);
    pbw_msg(&g, 5, &t);
    /* B: uint8 [3, 2, 16] */
    uint8_t b[96];
    for (int i = 0; i < 96; i++)
        b[i] = test_b_byte(i);
    int64_t bdims[] = {3, 2, 16};
    t = onnx_tensor_raw("B", KK_ONNX_UINT8, 3, bdims, b, sizeof b);
    pbw_msg(&g, 5, &t);
    /* scales: float16 [6] stored as int32_data, not packed (as old
     * exporters do), so the typed-field path is exercised */
    int64_t sd[] = {6};
    t = onnx_tensor_raw("scales__f16", KK_ONNX_FLOAT16, 1, sd, NULL, 0);
    for (int i = 0; i < 6; i++)
        pbw_int(&t, 5, kk_f32_to_fp16(test_scales[i]));
    pbw_msg(&g, 5, &t);
    int64_t zd[] = {3};
    t = onnx_tensor_raw("zp", KK_ONNX_UINT8, 1, zd, test_zp, 3);
    pbw_msg(&g, 5, &t);
    /* shape: int64 [2] via packed int64_data, with a negative value */
    int64_t shd[] = {2};
    t = onnx_tensor_raw("shape", KK_ONNX_INT64, 1, shd, NULL, 0);
    pbw packed = {0};
    pbw_varint_raw(&packed, 1);
    pbw_varint_raw(&packed, (uint64_t)(int64_t)-1);
    pbw_msg(&t, 7, &packed);
    pbw_msg(&g, 5, &t);
    float un[2] = {3.0f, 4.0f};
    int64_t ud[] = {2};
    t = onnx_tensor_raw("unused", KK_ONNX_FLOAT, 1, ud, un, sizeof un);
    pbw_msg(&g, 5, &t);
    t = onnx_tensor_raw("i32", KK_ONNX_INT32, 1, ud, NULL, 0);
    pbw_int(&t, 5, 7);
    pbw_int(&t, 5, -3);
    pbw_msg(&g, 5, &t);

    pbw n = onnx_node("W__cast", "Cast", NULL, (const char *[]){"W__f16", NULL},
                      (const char *[]){"W", NULL});
    onnx_attr_int(&n, "to", KK_ONNX_FLOAT);
    pbw_msg(&g, 1, &n);
    n = onnx_node("scales__cast", "Cast", NULL, (const char *[]){"scales__f16", NULL},
                  (const char *[]){"scales", NULL});
    onnx_attr_int(&n, "to", KK_ONNX_FLOAT);
    pbw_msg(&g, 1, &n);
    n = onnx_node("c0", "Constant", NULL, NULL, (const char *[]){"c0_out", NULL});
    int64_t two = 2;
    t = onnx_tensor_raw("", KK_ONNX_INT64, 0, NULL, &two, 8);
    onnx_attr_tensor(&n, "value", &t);
    pbw_msg(&g, 1, &n);
    n = onnx_node("conv1", "Conv", "", (const char *[]){"x", "W", "conv.bias", NULL},
                  (const char *[]){"h1", NULL});
    onnx_attr_ints(&n, "kernel_shape", (const int64_t[]){2}, 1);
    onnx_attr_ints(&n, "pads", (const int64_t[]){0, 1}, 2);
    onnx_attr_int(&n, "group", 1);
    pbw_msg(&g, 1, &n);
    n = onnx_node("mm", "MatMulNBits", "com.microsoft",
                  (const char *[]){"h1", "B", "scales", "zp", NULL}, (const char *[]){"h2", NULL});
    onnx_attr_int(&n, "K", 40);
    onnx_attr_int(&n, "N", 3);
    onnx_attr_int(&n, "bits", 4);
    onnx_attr_int(&n, "block_size", 32);
    pbw_msg(&g, 1, &n);
    n = onnx_node(NULL, "Reshape", NULL, (const char *[]){"h2", "shape", NULL},
                  (const char *[]){"h3", NULL});
    pbw_msg(&g, 1, &n);
    n = onnx_node("mul", "Mul", NULL, (const char *[]){"h3", "c0_out", NULL},
                  (const char *[]){"h4", NULL});
    pbw_msg(&g, 1, &n);
    n = onnx_node("lrelu", "LeakyRelu", NULL, (const char *[]){"h4", NULL},
                  (const char *[]){"y", NULL});
    onnx_attr_float(&n, "alpha", 0.2f);
    onnx_attr_str(&n, "mode", "x");
    onnx_attr_floats(&n, "fl", (const float[]){1.5f, 2.5f}, 2);
    pbw_msg(&g, 1, &n);
    n = onnx_node("cos", "ConstantOfShape", NULL, (const char *[]){"shape", NULL},
                  (const char *[]){"z", NULL});
    float zero = 0.0f;
    int64_t one = 1;
    t = onnx_tensor_raw("", KK_ONNX_FLOAT, 1, &one, &zero, 4);
    onnx_attr_tensor(&n, "value", &t);
    pbw_msg(&g, 1, &n);
    n = onnx_node("add2", "Add", NULL, (const char *[]){"h1", "i32", NULL},
                  (const char *[]){"h5", NULL});
    pbw_msg(&g, 1, &n);

    onnx_value(&g, 11, "x", KK_ONNX_FLOAT, 3, (const int64_t[]){1, 4, -1});
    onnx_value(&g, 12, "y", KK_ONNX_FLOAT, 2, (const int64_t[]){1, -1});
    onnx_value(&g, 12, "z", KK_ONNX_FLOAT, 1, (const int64_t[]){-1});
    return onnx_model(&g);
}
