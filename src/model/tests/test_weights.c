/* test_weights.c - .kkw conversion, loading, lookup, integrity checks and
 * the numeric helpers, on a synthetic model and (when present) the real one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kkw_format.h"
#include "nn.h"
#include "onnx.h"
#include "util.h"
#include "weights.h"

/* ---- numeric helpers ---- */

static void test_fp16(void **state)
{
    (void)state;
    assert_float_equal(kk_fp16_to_f32(0x3c00), 1.0f, 0);
    assert_float_equal(kk_fp16_to_f32(0xc000), -2.0f, 0);
    assert_float_equal(kk_fp16_to_f32(0x7bff), 65504.0f, 0);
    assert_float_equal(kk_fp16_to_f32(0x3555), 0.333251953125f, 0);
    assert_float_equal(kk_fp16_to_f32(0x0001), ldexpf(1.0f, -24), 0); /* smallest subnormal */
    assert_float_equal(kk_fp16_to_f32(0x03ff), ldexpf(1023.0f, -24), 0);
    assert_true(isinf(kk_fp16_to_f32(0x7c00)) && kk_fp16_to_f32(0x7c00) > 0);
    assert_true(isnan(kk_fp16_to_f32(0x7e00)));
    assert_true(signbit(kk_fp16_to_f32(0x8000)));
    /* Every non-NaN half survives a round trip. */
    for (uint32_t h = 0; h < 65536; h++) {
        float f = kk_fp16_to_f32((uint16_t)h);
        if (isnan(f))
            continue;
        if (kk_f32_to_fp16(f) != h)
            fail_msg("half 0x%04x -> %g -> 0x%04x", h, f, kk_f32_to_fp16(f));
    }
    /* Round to nearest even between 1 and 1+2^-10. */
    assert_int_equal(kk_f32_to_fp16(1.0f + ldexpf(1.0f, -11)), 0x3c00);
    assert_int_equal(kk_f32_to_fp16(1.0f + 3 * ldexpf(1.0f, -11)), 0x3c02);
    assert_int_equal(kk_f32_to_fp16(1e6f), 0x7c00);
}

static void test_q4_handmade(void **state)
{
    (void)state;
    /* No zero points (8 implied), K=6, block 4: the second block is partial.
     * Row 0 bytes: 0x1F 0x80 | 0x2A 0xFF ; row 1: 0x00 0x00 | 0x77 0x00 */
    const uint8_t packed[] = {0x1F, 0x80, 0x2A, 0xFF, 0x00, 0x00, 0x77, 0x00};
    const float scales[] = {2.0f, 0.5f, 1.0f, -1.0f};
    kk_q4 q = {.K = 6, .N = 2, .block_size = 4, .n_blocks = 2, .packed = packed,
               .scales = scales, .zero_points = NULL};
    /* Low nibble first: 0x1F -> 15 then 1. */
    const float row0[6] = {(15 - 8) * 2.0f, (1 - 8) * 2.0f, (0 - 8) * 2.0f, (8 - 8) * 2.0f,
                           (10 - 8) * 0.5f, (2 - 8) * 0.5f};
    const float row1[6] = {-8.0f, -8.0f, -8.0f, -8.0f, (7 - 8) * -1.0f, (7 - 8) * -1.0f};
    float out[8];
    out[6] = out[7] = 12345.0f; /* must not be written: K=6 */
    kk_q4_dequant_row(&q, 0, out);
    for (int k = 0; k < 6; k++) {
        assert_float_equal(out[k], row0[k], 0);
        assert_float_equal(kk_q4_at(&q, 0, k), row0[k], 0);
    }
    assert_float_equal(out[6], 12345.0f, 0);
    kk_q4_dequant_row(&q, 1, out);
    for (int k = 0; k < 6; k++) {
        assert_float_equal(out[k], row1[k], 0);
        assert_float_equal(kk_q4_at(&q, 1, k), row1[k], 0);
    }
    /* With zero points: two per byte, low nibble = block 0; one byte per row. */
    const uint8_t zp[] = {0x31, 0x0F};
    q.zero_points = zp;
    kk_q4_dequant_row(&q, 0, out);
    assert_float_equal(out[0], (15 - 1) * 2.0f, 0);
    assert_float_equal(out[4], (10 - 3) * 0.5f, 0);
    kk_q4_dequant_row(&q, 1, out);
    assert_float_equal(out[0], (0 - 15) * 1.0f, 0);
    assert_float_equal(out[5], (7 - 0) * -1.0f, 0);
}

/* ---- the synthetic model ---- */

static const char *write_test_onnx(const char *name)
{
    static char path[4096];
    pbw b = make_test_model();
    snprintf(path, sizeof path, "%s", tmp_path(name));
    write_file(path, b.data, b.len);
    pbw_free(&b);
    return path;
}

static const char *convert_test_model(void)
{
    static char out[4096];
    const char *onnx = write_test_onnx("syn.onnx");
    snprintf(out, sizeof out, "%s", tmp_path("syn.kkw"));
    kk_error err;
    kk_status st = kk_weights_convert(onnx, out, NULL, &err);
    if (st != KK_OK)
        fail_msg("convert: %s", err.msg);
    return out;
}

static kk_weights *open_ok(const char *path)
{
    kk_weights *w = NULL;
    kk_error err;
    if (kk_weights_open(path, &w, &err) != KK_OK)
        fail_msg("open %s: %s", path, err.msg);
    return w;
}

static void test_convert_keys_and_values(void **state)
{
    (void)state;
    kk_weights *w = open_ok(convert_test_model());

    /* W: float16 behind a Cast, stored as it is (float16) under its name
     * and its consumer's key; the __f16 source and the Cast disappear. */
    const kk_tensor *t = kk_weights_find(w, "conv1#1");
    assert_non_null(t);
    assert_ptr_equal(t, kk_weights_find(w, "W"));
    assert_null(kk_weights_find(w, "W__f16"));
    assert_int_equal(t->dtype, KK_DT_F16);
    assert_int_equal(t->ndim, 3);
    assert_int_equal(t->shape[0], 3);
    assert_int_equal(t->shape[2], 2);
    assert_int_equal(t->nelem, 24);
    assert_int_equal((uintptr_t)t->data % 64, 0);
    for (int i = 0; i < 24; i++)
        assert_float_equal(kk_fp16_to_f32(((const uint16_t *)t->data)[i]), (i - 12) * 0.25f, 0);

    t = kk_weights_find(w, "conv1#2");
    assert_non_null(t);
    assert_string_equal(t->name, "conv.bias");
    assert_float_equal(((const float *)t->data)[2], 2.0f, 0);
    assert_null(kk_weights_find(w, "conv1#0")); /* a runtime input */

    t = kk_weights_find(w, "@h3#1"); /* the unnamed Reshape */
    assert_non_null(t);
    assert_int_equal(t->dtype, KK_DT_I64);
    assert_int_equal(((const int64_t *)t->data)[1], -1);

    t = kk_weights_find(w, "mul#1"); /* Constant node output */
    assert_non_null(t);
    assert_string_equal(t->name, "c0_out");
    assert_int_equal(t->ndim, 0);
    assert_int_equal(((const int64_t *)t->data)[0], 2);

    t = kk_weights_find(w, "add2#1");
    assert_int_equal(t->dtype, KK_DT_I32);
    assert_int_equal(((const int32_t *)t->data)[1], -3);

    t = kk_weights_find(w, "unused");
    assert_non_null(t);
    assert_float_equal(((const float *)t->data)[1], 4.0f, 0);

    /* Q4 parts are absorbed: no separate scales / zero points. */
    assert_null(kk_weights_find(w, "scales"));
    assert_null(kk_weights_find(w, "scales__f16"));
    assert_null(kk_weights_find(w, "zp"));
    assert_null(kk_weights_find(w, "mm#2"));
    assert_null(kk_weights_find(w, "mm#3"));
    assert_null(kk_weights_find(w, "nope"));

    kk_error err;
    assert_non_null(kk_weights_get(w, "conv1#1", KK_DT_F16, 3, &err));
    assert_null(kk_weights_get(w, "conv1#1", KK_DT_F32, 3, &err));
    assert_non_null(strstr(err.msg, "f16"));
    assert_null(kk_weights_get(w, "missing#1", KK_DT_F32, -1, &err));
    assert_non_null(strstr(err.msg, "missing#1"));

    /* Keys are sorted and each names a tensor. */
    for (size_t i = 1; i < kk_weights_key_count(w); i++) {
        const kk_tensor *kt;
        assert_true(strcmp(kk_weights_key(w, i - 1, NULL), kk_weights_key(w, i, &kt)) < 0);
        assert_non_null(kt);
    }
    kk_weights_close(w);
}

static void test_convert_q4(void **state)
{
    (void)state;
    kk_weights *w = open_ok(convert_test_model());
    const kk_tensor *t = kk_weights_find(w, "mm");
    assert_non_null(t);
    assert_ptr_equal(t, kk_weights_find(w, "mm#1"));
    assert_int_equal(t->dtype, KK_DT_Q4);
    assert_int_equal(t->shape[0], 3);
    assert_int_equal(t->shape[1], 40);
    assert_int_equal(t->q4.K, 40);
    assert_int_equal(t->q4.N, 3);
    assert_int_equal(t->q4.block_size, 32);
    assert_int_equal(t->q4.n_blocks, 2);
    assert_non_null(t->q4.zero_points);
    assert_int_equal((uintptr_t)t->q4.scales % 64, 0);
    /* Values worked out by hand from the bytes in util.c:
     * (0,0): B[0]=0x0B low 11, zp row0 block0 = 0xA -> (11-10)*0.5
     * (0,1): high nibble 0 -> (0-10)*0.5
     * (1,33): B[48]=0xFB high 15, zp row1 block1 = 0 -> 15*2
     * (2,39): B[83]=0x0A high 0, zp row2 block1 = 15 -> (0-15)*-1 */
    assert_float_equal(kk_q4_at(&t->q4, 0, 0), 0.5f, 0);
    assert_float_equal(kk_q4_at(&t->q4, 0, 1), -5.0f, 0);
    assert_float_equal(kk_q4_at(&t->q4, 1, 33), 30.0f, 0);
    assert_float_equal(kk_q4_at(&t->q4, 2, 39), 15.0f, 0);
    float row[40];
    for (int n = 0; n < 3; n++) {
        kk_q4_dequant_row(&t->q4, n, row);
        for (int k = 0; k < 40; k++)
            assert_float_equal(row[k], kk_q4_at(&t->q4, n, k), 0);
    }
    kk_weights_close(w);
}

static void test_nodes(void **state)
{
    (void)state;
    kk_weights *w = open_ok(convert_test_model());
    /* Casts of constants and Constant nodes are folded away. */
    assert_int_equal(kk_weights_node_count(w), 7);
    assert_null(kk_weights_find_node(w, "W__cast"));
    assert_null(kk_weights_find_node(w, "c0"));
    const kk_node *n = kk_weights_find_node(w, "conv1");
    assert_non_null(n);
    assert_string_equal(n->op_type, "Conv");
    assert_int_equal(n->n_inputs, 3);
    assert_string_equal(n->inputs[1], "W");
    assert_string_equal(n->outputs[0], "h1");
    const kk_attr *a = kk_node_attr(n, "pads");
    assert_non_null(a);
    assert_int_equal(a->type, 'I');
    assert_int_equal(a->n, 2);
    assert_int_equal(a->ints[1], 1);
    n = kk_weights_find_node(w, "mm");
    assert_string_equal(n->domain, "com.microsoft");
    assert_int_equal(kk_node_attr(n, "block_size")->i, 32);
    n = kk_weights_find_node(w, "@h3");
    assert_non_null(n);
    assert_string_equal(n->op_type, "Reshape");
    n = kk_weights_find_node(w, "lrelu");
    assert_float_equal(kk_node_attr(n, "alpha")->f, 0.2f, 0);
    assert_string_equal(kk_node_attr(n, "mode")->s, "x");
    a = kk_node_attr(n, "fl");
    assert_int_equal(a->type, 'F');
    assert_float_equal(a->floats[0], 1.5f, 0);
    assert_float_equal(a->floats[1], 2.5f, 0);
    n = kk_weights_find_node(w, "cos");
    a = kk_node_attr(n, "value");
    assert_int_equal(a->type, 't');
    assert_string_equal(a->t->name, "cos.value");
    assert_ptr_equal(a->t, kk_weights_find(w, "cos.value"));
    kk_weights_close(w);
}

/* float16 weights stay float16 by default; widen_f16 makes them float32
 * with the same values. */
static void test_keep_f16(void **state)
{
    (void)state;
    const char *onnx = write_test_onnx("syn16.onnx");
    kk_error err;
    assert_int_equal(kk_weights_convert(onnx, tmp_path("syn16.kkw"), NULL, &err), KK_OK);
    kk_weights *w = open_ok(tmp_path("syn16.kkw"));
    const kk_tensor *t = kk_weights_find(w, "conv1#1");
    assert_int_equal(t->dtype, KK_DT_F16);
    assert_int_equal(t->nbytes, 48);
    assert_float_equal(kk_fp16_to_f32(((const uint16_t *)t->data)[0]), -3.0f, 0);
    /* Q4 scales are float32 either way. */
    assert_float_equal(kk_q4_at(&kk_weights_find(w, "mm")->q4, 0, 0), 0.5f, 0);

    kk_convert_opts o = {.widen_f16 = 1};
    assert_int_equal(kk_weights_convert(onnx, tmp_path("syn32.kkw"), &o, &err), KK_OK);
    kk_weights *w32 = open_ok(tmp_path("syn32.kkw"));
    const kk_tensor *t32 = kk_weights_find(w32, "conv1#1");
    assert_int_equal(t32->dtype, KK_DT_F32);
    assert_int_equal(t32->nbytes, 96);
    for (int i = 0; i < 24; i++)
        assert_memory_equal(&((const float *)t32->data)[i],
                            &(float){kk_fp16_to_f32(((const uint16_t *)t->data)[i])}, 4);
    /* nn_widen_f16 (F16C where present) gives the same bits as the scalar
     * conversion, for every half value */
    static uint16_t all[65536];
    static float wide[65536];
    for (int i = 0; i < 65536; i++)
        all[i] = (uint16_t)i;
    nn_widen_f16(all, 65536, wide);
    for (int i = 0; i < 65536; i++) {
        float one = kk_fp16_to_f32((uint16_t)i);
        if (isnan(one)) /* F16C quiets a signalling NaN: NaN either way */
            assert_true(isnan(wide[i]));
        else
            assert_memory_equal(&wide[i], &one, 4);
    }
    kk_weights_close(w32);
    kk_weights_close(w);
}


/* The published variants: model_fp16.onnx feeds float16 initializers to
 * nodes directly (no Cast); model_q4.onnx has float32 scales and no zero
 * points. Both must convert to the same kinds of tensors. */
static void test_published_variant_shapes(void **state)
{
    (void)state;
    pbw g = {0};
    uint16_t w16[4] = {kk_f32_to_fp16(1.5f), kk_f32_to_fp16(-2.0f), kk_f32_to_fp16(0.25f),
                       kk_f32_to_fp16(8.0f)};
    pbw t = onnx_tensor_raw("conv.weight", KK_ONNX_FLOAT16, 3, (const int64_t[]){1, 1, 4}, w16,
                            sizeof w16);
    pbw_msg(&g, 5, &t);
    uint8_t braw[16];
    for (int i = 0; i < 16; i++)
        braw[i] = (uint8_t)(0x10 * (i % 16) + 0x9); /* low nibble 9, high nibble i%16 */
    t = onnx_tensor_raw("Bq", KK_ONNX_UINT8, 3, (const int64_t[]){1, 1, 16}, braw, 16);
    pbw_msg(&g, 5, &t);
    float sc = 0.5f;
    t = onnx_tensor_raw("Sq", KK_ONNX_FLOAT, 1, (const int64_t[]){1}, &sc, 4);
    pbw_msg(&g, 5, &t);
    pbw n = onnx_node("conv", "Conv", NULL, (const char *[]){"x", "conv.weight", NULL},
                      (const char *[]){"y", NULL});
    pbw_msg(&g, 1, &n);
    n = onnx_node("lin", "MatMulNBits", "com.microsoft", (const char *[]){"y", "Bq", "Sq", NULL},
                  (const char *[]){"z", NULL});
    onnx_attr_int(&n, "K", 32);
    onnx_attr_int(&n, "N", 1);
    onnx_attr_int(&n, "block_size", 32); /* bits omitted: 4 by default */
    pbw_msg(&g, 1, &n);
    pbw m = onnx_model(&g);
    write_file(tmp_path("variant.onnx"), m.data, m.len);
    pbw_free(&m);
    kk_error err;
    assert_int_equal(kk_weights_convert(tmp_path("variant.onnx"), tmp_path("variant.kkw"), NULL,
                                        &err),
                     KK_OK);
    kk_weights *w = open_ok(tmp_path("variant.kkw"));
    const kk_tensor *cw = kk_weights_find(w, "conv#1");
    assert_non_null(cw);
    assert_int_equal(cw->dtype, KK_DT_F16);
    assert_float_equal(kk_fp16_to_f32(((const uint16_t *)cw->data)[0]), 1.5f, 0);
    assert_float_equal(kk_fp16_to_f32(((const uint16_t *)cw->data)[3]), 8.0f, 0);
    const kk_tensor *q = kk_weights_find(w, "lin");
    assert_non_null(q);
    assert_null(q->q4.zero_points);
    assert_float_equal(kk_q4_at(&q->q4, 0, 0), (9 - 8) * 0.5f, 0);
    assert_float_equal(kk_q4_at(&q->q4, 0, 5), (2 - 8) * 0.5f, 0); /* byte 2, high nibble */
    assert_float_equal(kk_q4_at(&q->q4, 0, 31), (15 - 8) * 0.5f, 0);
    assert_int_equal(kk_weights_verify(w, &err), KK_OK);
    kk_weights_close(w);
}


/* Damaged ONNX input through the whole converter: any status is fine, but
 * no crash or out-of-bounds access (ASan), an error always has a message,
 * and whatever converts must open and verify. */
static void test_convert_fuzz(void **state)
{
    (void)state;
    pbw b = make_test_model();
    unsigned seed = 777;
    int ok = 0, failed = 0;
    for (int iter = 0; iter < 300; iter++) {
        pbw c = {0};
        c.data = malloc(b.len);
        memcpy(c.data, b.data, b.len);
        c.len = c.cap = b.len;
        for (int k = 0; k < 2; k++) {
            seed = seed * 1103515245u + 12345u;
            c.data[(seed >> 8) % c.len] ^= (uint8_t)(1u << ((seed >> 4) & 7));
        }
        write_file(tmp_path("fuzz.onnx"), c.data, c.len);
        pbw_free(&c);
        kk_error err;
        kk_error_clear(&err);
        if (kk_weights_convert(tmp_path("fuzz.onnx"), tmp_path("fuzz.kkw"), NULL, &err) == KK_OK) {
            kk_weights *w = open_ok(tmp_path("fuzz.kkw"));
            assert_int_equal(kk_weights_verify(w, &err), KK_OK);
            for (size_t i = 0; i < kk_weights_count(w); i++) {
                const kk_tensor *t = kk_weights_tensor(w, i);
                if (t->dtype == KK_DT_Q4) { /* touch every weight */
                    float *row = malloc((size_t)t->q4.K * sizeof *row);
                    for (int n = 0; n < t->q4.N; n++)
                        kk_q4_dequant_row(&t->q4, n, row);
                    free(row);
                }
            }
            kk_weights_close(w);
            ok++;
        } else {
            assert_true(err.msg[0] != '\0');
            failed++;
        }
    }
    assert_true(ok > 0 && failed > 0);
    pbw_free(&b);
}

/* ---- the cache ---- */

static void test_cache(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", tmp_path("cache-syn/sub"));
    setenv("KOKORO_CACHE_DIR", dir, 1);
    const char *onnx = write_test_onnx("cached.onnx");
    char cpath[4096];
    kk_error err;
    assert_int_equal(kk_weights_cache_path(onnx, cpath, sizeof cpath, &err), KK_OK);
    unlink(cpath);
    assert_non_null(strstr(cpath, "cache-syn/sub/cached-v2-"));

    kk_weights *w = open_ok(onnx);
    const kk_weights_stats *s = kk_weights_get_stats(w);
    assert_int_equal(s->from_cache, 0);
    assert_true(s->convert_ms > 0);
    assert_string_equal(s->path, cpath);
    kk_weights_close(w);

    w = open_ok(onnx);
    assert_int_equal(kk_weights_get_stats(w)->from_cache, 1);
    assert_non_null(kk_weights_find(w, "conv1#1"));
    kk_weights_close(w);

    /* A damaged cache file is replaced, not trusted. */
    size_t len;
    uint8_t *d = read_file(cpath, &len);
    d[sizeof(kkw_header) + 3] ^= 0x40;
    write_file(cpath, d, len);
    free(d);
    w = open_ok(onnx);
    assert_int_equal(kk_weights_get_stats(w)->from_cache, 0);
    kk_weights_close(w);

    /* The key changes with the source contents. */
    char cpath2[4096];
    pbw b = make_test_model();
    b.data[b.len - 1] ^= 1; /* opset version byte */
    write_file(onnx, b.data, b.len);
    pbw_free(&b);
    assert_int_equal(kk_weights_cache_path(onnx, cpath2, sizeof cpath2, &err), KK_OK);
    assert_string_not_equal(cpath, cpath2);
    unsetenv("KOKORO_CACHE_DIR");
}

/* ---- damaged files ---- */

static kk_status open_status(const char *path, kk_error *err)
{
    kk_weights *w = NULL;
    kk_error_clear(err);
    kk_status st = kk_weights_open(path, &w, err);
    if (st == KK_OK)
        kk_weights_close(w);
    else
        assert_null(w);
    return st;
}

static void test_truncated(void **state)
{
    (void)state;
    size_t len;
    uint8_t *d = read_file(convert_test_model(), &len);
    const size_t cuts[] = {8, 64, 127, 128, 129, len / 2, len - 64, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        write_file(tmp_path("cut.kkw"), d, cuts[i]);
        kk_error err;
        kk_status st = open_status(tmp_path("cut.kkw"), &err);
        if (st != KK_ERR_INPUT)
            fail_msg("cut at %zu: status %d: %s", cuts[i], st, err.msg);
        assert_true(strstr(err.msg, "truncated") != NULL);
        assert_non_null(strstr(err.msg, "cut.kkw"));
    }
    /* An empty file is neither format. */
    write_file(tmp_path("empty.kkw"), d, 0);
    kk_error err;
    assert_int_equal(open_status(tmp_path("empty.kkw"), &err), KK_ERR_INPUT);
    free(d);
}

static const kkw_trec *find_rec(const uint8_t *d, const char *name)
{
    const kkw_header *h = (const kkw_header *)d;
    const kkw_trec *r = (const kkw_trec *)(d + h->tensors_off);
    for (uint32_t i = 0; i < h->n_tensors; i++)
        if (!strcmp((const char *)d + h->strings_off + r[i].name, name))
            return &r[i];
    return NULL;
}

static void test_corrupt_data_byte(void **state)
{
    (void)state;
    size_t len;
    uint8_t *d = read_file(convert_test_model(), &len);
    const kkw_trec *r = find_rec(d, "W");
    assert_non_null(r);
    kk_weights *w = open_ok(tmp_path("syn.kkw"));
    kk_error err;
    assert_int_equal(kk_weights_verify(w, &err), KK_OK);
    kk_weights_close(w);

    d[r->offset + 5] ^= 0x01;
    write_file(tmp_path("flip.kkw"), d, len);
    /* The fast open does not hash the data; verify finds and names it. */
    w = open_ok(tmp_path("flip.kkw"));
    assert_int_equal(kk_weights_verify(w, &err), KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "'W'"));
    assert_non_null(strstr(err.msg, "checksum"));
    kk_weights_close(w);

    /* Padding after a tensor is covered too. */
    d[r->offset + 5] ^= 0x01;
    d[r->offset + r->nbytes] ^= 0x80;
    write_file(tmp_path("flip.kkw"), d, len);
    w = open_ok(tmp_path("flip.kkw"));
    assert_int_equal(kk_weights_verify(w, &err), KK_ERR_INPUT);
    kk_weights_close(w);
    free(d);
}

/* Any single damaged byte before the data section makes open fail. */
static void test_corrupt_every_table_byte(void **state)
{
    (void)state;
    size_t len;
    uint8_t *d = read_file(convert_test_model(), &len);
    const kkw_header *h = (const kkw_header *)d;
    size_t data_off = h->data_off;
    write_file(tmp_path("tab.kkw"), d, len);
    /* Patch one byte in place (rewriting the whole file each time makes
     * ext4 flush on close, which is slow). */
    FILE *f = fopen(tmp_path("tab.kkw"), "r+b");
    assert_non_null(f);
    for (size_t i = 0; i < data_off; i++) {
        assert_int_equal(fseek(f, (long)i, SEEK_SET), 0);
        fputc(d[i] ^ 0x10, f);
        fflush(f);
        kk_error err;
        kk_status st = open_status(tmp_path("tab.kkw"), &err);
        if (st == KK_OK)
            fail_msg("flipping byte %zu of %zu went unnoticed", i, data_off);
        assert_true(err.msg[0] != '\0');
        assert_int_equal(fseek(f, (long)i, SEEK_SET), 0);
        fputc(d[i], f);
        fflush(f);
    }
    fclose(f);
    kk_weights *w = open_ok(tmp_path("tab.kkw")); /* restored: opens again */
    kk_weights_close(w);
    free(d);
}

static void test_wrong_magic_and_version(void **state)
{
    (void)state;
    size_t len;
    uint8_t *d = read_file(convert_test_model(), &len);
    kk_error err;

    d[0] = 'X';
    write_file(tmp_path("magic.kkw"), d, len);
    assert_int_equal(open_status(tmp_path("magic.kkw"), &err), KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "neither a Kokoro weights file"));
    d[0] = KKW_MAGIC[0];

    kkw_header h;
    memcpy(&h, d, sizeof h);
    h.version = 99;
    h.header_hash = kk_hash64(&h, offsetof(kkw_header, header_hash), 0);
    memcpy(d, &h, sizeof h);
    write_file(tmp_path("version.kkw"), d, len);
    assert_int_equal(open_status(tmp_path("version.kkw"), &err), KK_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "version 99"));
    assert_non_null(strstr(err.msg, "convert it again"));

    h.version = KK_WEIGHTS_VERSION;
    h.endian = 0x04030201u;
    h.header_hash = kk_hash64(&h, offsetof(kkw_header, header_hash), 0);
    memcpy(d, &h, sizeof h);
    write_file(tmp_path("endian.kkw"), d, len);
    assert_int_equal(open_status(tmp_path("endian.kkw"), &err), KK_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "byte order"));

    /* A self-consistent header whose table offset points outside the file. */
    h.endian = KKW_ENDIAN;
    h.tensors_off = len + 8;
    h.header_hash = kk_hash64(&h, offsetof(kkw_header, header_hash), 0);
    memcpy(d, &h, sizeof h);
    write_file(tmp_path("offs.kkw"), d, len);
    assert_int_equal(open_status(tmp_path("offs.kkw"), &err), KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "section table"));

    /* Missing file: an I/O error that names the path. */
    assert_int_equal(open_status(tmp_path("does-not-exist.kkw"), &err), KK_ERR_IO);
    assert_non_null(strstr(err.msg, "does-not-exist.kkw"));
    free(d);
}

static void test_bad_onnx_inputs(void **state)
{
    (void)state;
    kk_error err;
    /* Truncated ONNX through the public API. */
    pbw b = make_test_model();
    write_file(tmp_path("trunc.onnx"), b.data, b.len - 10);
    assert_int_equal(kk_weights_convert(tmp_path("trunc.onnx"), tmp_path("trunc.kkw"), NULL, &err),
                     KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "byte"));
    assert_int_equal(access(tmp_path("trunc.kkw"), F_OK), -1); /* nothing left behind */
    pbw_free(&b);

    /* MatMulNBits with 8 bits is refused clearly. */
    pbw g = {0};
    uint8_t raw[64] = {0};
    pbw t = onnx_tensor_raw("B8", KK_ONNX_UINT8, 1, (const int64_t[]){64}, raw, 64);
    pbw_msg(&g, 5, &t);
    float sc[2] = {1, 1};
    t = onnx_tensor_raw("S8", KK_ONNX_FLOAT, 1, (const int64_t[]){2}, sc, 8);
    pbw_msg(&g, 5, &t);
    pbw n = onnx_node("mm8", "MatMulNBits", "com.microsoft", (const char *[]){"a", "B8", "S8", NULL},
                      (const char *[]){"o", NULL});
    onnx_attr_int(&n, "K", 32);
    onnx_attr_int(&n, "N", 2);
    onnx_attr_int(&n, "bits", 8);
    onnx_attr_int(&n, "block_size", 32);
    pbw_msg(&g, 1, &n);
    pbw m = onnx_model(&g);
    write_file(tmp_path("q8.onnx"), m.data, m.len);
    pbw_free(&m);
    assert_int_equal(kk_weights_convert(tmp_path("q8.onnx"), tmp_path("q8.kkw"), NULL, &err),
                     KK_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "mm8"));
    assert_non_null(strstr(err.msg, "8-bit"));

    /* Dims far larger than the data: refused before anything is sized. */
    g = (pbw){0};
    float four[4] = {1, 2, 3, 4};
    t = onnx_tensor_raw("huge", KK_ONNX_FLOAT, 2, (const int64_t[]){1 << 20, 1 << 20}, four, 16);
    pbw_msg(&g, 5, &t);
    m = onnx_model(&g);
    write_file(tmp_path("huge.onnx"), m.data, m.len);
    pbw_free(&m);
    assert_int_equal(kk_weights_convert(tmp_path("huge.onnx"), tmp_path("huge.kkw"), NULL, &err),
                     KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "'huge'"));
    assert_int_equal(access(tmp_path("huge.kkw"), F_OK), -1);

    /* A file that is neither format, by name. */
    write_file(tmp_path("junk.bin"), "junkjunkjunk", 12);
    kk_weights *w;
    assert_int_equal(kk_weights_open(tmp_path("junk.bin"), &w, &err), KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "neither"));
}

/* ---- the real model ---- */

/* This process's resident file-backed pages (/proc/self/statm's third
 * field), -1 when unreadable. */
static long statm_shared_pages(void)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    long size, resident, shared = -1;
    if (fp && fscanf(fp, "%ld %ld %ld", &size, &resident, &shared) != 3)
        shared = -1;
    if (fp)
        fclose(fp);
    return shared;
}

static void test_real_model(void **state)
{
    (void)state;
    const char *dir = real_model_dir();
    if (!dir) {
        printf("SKIP: real model not found (set KOKORO_MODEL_DIR or put Kokoro-82M v1.0 in "
               "../shared/models/kokoro-82m-v1.0)\n");
        skip();
    }
    char onnx[4200];
    snprintf(onnx, sizeof onnx, "%s/model_q4_w16.onnx", dir);
    setenv("KOKORO_CACHE_DIR", tmp_path("cache-real"), 1);
    kk_weights *w = open_ok(onnx); /* converts, or reuses an earlier run's copy */
    const kk_weights_stats *s = kk_weights_get_stats(w);
    printf("real model: %s, %.1f MB, conversion %.0f ms (%s), open %.2f ms\n", s->path,
           s->file_size / 1e6, s->convert_ms, s->from_cache ? "cached" : "converted", s->open_ms);
    kk_weights_close(w);

    w = open_ok(onnx);
    s = kk_weights_get_stats(w);
    assert_int_equal(s->from_cache, 1);
    assert_true(s->open_ms < 200.0); /* measured ~1 ms; generous for ASan and slow disks */
    printf("reopen from cache: %.2f ms\n", s->open_ms);

    /* conv_post: 128 -> 22 channels, kernel 7 (its weight is anonymous). */
    kk_error err;
    const kk_tensor *t =
        kk_weights_get(w, "/decoder/decoder/generator/conv_post/Conv#1", KK_DT_F16, 3, &err);
    if (!t)
        fail_msg("%s", err.msg);
    assert_int_equal(t->shape[0], 22);
    assert_int_equal(t->shape[1], 128);
    assert_int_equal(t->shape[2], 7);
    t = kk_weights_find(w, "decoder.decoder.generator.conv_post.bias");
    assert_non_null(t);
    assert_int_equal(t->nelem, 22);

    /* Q4: bert_encoder-side embedding projection, checked against the ONNX
     * bytes decoded here by hand (zero point 8, float16 scales). */
    const char *mm = "/encoder/bert/encoder/embedding_hidden_mapping_in/MatMul_Q4";
    t = kk_weights_find(w, mm);
    assert_non_null(t);
    assert_int_equal(t->dtype, KK_DT_Q4);
    assert_int_equal(t->q4.K, 128);
    assert_int_equal(t->q4.N, 768);
    assert_null(t->q4.zero_points);

    size_t len;
    uint8_t *src = read_file(onnx, &len);
    kk_onnx *m;
    assert_int_equal(kk_onnx_parse(src, len, onnx, &m, &err), KK_OK);
    const kk_onnx_tensor *B = NULL, *S = NULL, *W16 = NULL;
    for (int i = 0; i < m->n_inits; i++) {
        if (!strcmp(m->inits[i].name, "onnx::MatMul_6547_Q4"))
            B = &m->inits[i];
        if (!strcmp(m->inits[i].name, "onnx::MatMul_6547_scales__f16"))
            S = &m->inits[i];
        if (!strcmp(m->inits[i].name, "/decoder/decoder/generator/Mul_2_output_0__f16"))
            W16 = &m->inits[i];
    }
    assert_non_null(B);
    assert_non_null(S);
    assert_non_null(W16);
    float row[128];
    for (int n = 0; n < 768; n += 97) {
        kk_q4_dequant_row(&t->q4, n, row);
        for (int k = 0; k < 128; k++) {
            uint8_t byte = B->raw[n * 64 + k / 2]; /* 4 blocks x 16 bytes per row */
            int q = (k % 2) ? byte >> 4 : byte & 15;
            uint16_t h;
            memcpy(&h, S->raw + 2 * (n * 4 + k / 32), 2);
            float want = (float)(q - 8) * kk_fp16_to_f32(h);
            if (row[k] != want)
                fail_msg("row %d col %d: %g, want %g", n, k, row[k], want);
        }
    }
    /* A float16 weight is kept as the ONNX file has it. */
    const kk_tensor *cw = kk_weights_find(w, "/decoder/decoder/generator/conv_post/Conv#1");
    assert_int_equal(cw->dtype, KK_DT_F16);
    assert_memory_equal(cw->data, W16->raw, 22 * 128 * 7 * 2);
    kk_onnx_free(m);
    free(src);

    /* No key names a __f16 source; every MatMulNBits node has a Q4 key. */
    size_t q4_nodes = 0;
    for (size_t i = 0; i < kk_weights_key_count(w); i++)
        assert_null(strstr(kk_weights_key(w, i, NULL), "__f16"));
    for (size_t i = 0; i < kk_weights_node_count(w); i++) {
        const kk_node *n = kk_weights_node(w, i);
        assert_false(!strcmp(n->op_type, "Cast") && strstr(n->name, "__cast"));
        if (!strcmp(n->op_type, "MatMulNBits")) {
            assert_non_null(kk_weights_find(w, n->name));
            q4_nodes++;
        }
    }
    assert_int_equal(q4_nodes, 76);
    assert_int_equal(kk_weights_verify(w, &err), KK_OK);

    /* kk_weights_verify read every byte, so the file is resident; released,
     * its pages leave the process's resident file memory (statm's
     * "shared"), and read again they hold the same bytes (verify hashes
     * them) */
    long before = statm_shared_pages();
    kk_weights_release_pages(w);
    long after = statm_shared_pages();
    long file_pages = (long)(s->file_size / (size_t)sysconf(_SC_PAGESIZE));
    printf("release_pages: resident file pages %ld -> %ld (the weights: %ld)\n", before, after, file_pages);
    assert_true(before > 0 && before - after > file_pages / 2);
    assert_int_equal(kk_weights_verify(w, &err), KK_OK);
    kk_weights_close(w);
    unsetenv("KOKORO_CACHE_DIR");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fp16),
        cmocka_unit_test(test_q4_handmade),
        cmocka_unit_test(test_convert_keys_and_values),
        cmocka_unit_test(test_convert_q4),
        cmocka_unit_test(test_nodes),
        cmocka_unit_test(test_keep_f16),
        cmocka_unit_test(test_published_variant_shapes),
        cmocka_unit_test(test_convert_fuzz),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupt_data_byte),
        cmocka_unit_test(test_corrupt_every_table_byte),
        cmocka_unit_test(test_wrong_magic_and_version),
        cmocka_unit_test(test_bad_onnx_inputs),
        cmocka_unit_test(test_real_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
