/* test_onnx.c - the internal ONNX reader on synthetic protobuf bytes. */
#include <stdlib.h>
#include <string.h>

#include "onnx.h"
#include "util.h"
#include "weights.h"

static const kk_onnx_node *node_named(const kk_onnx *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (!strcmp(m->nodes[i].name, name))
            return &m->nodes[i];
    return NULL;
}

static const kk_onnx_tensor *init_named(const kk_onnx *m, const char *name)
{
    for (int i = 0; i < m->n_inits; i++)
        if (!strcmp(m->inits[i].name, name))
            return &m->inits[i];
    return NULL;
}

static void test_parse_structure(void **state)
{
    (void)state;
    pbw b = make_test_model();
    kk_onnx *m;
    kk_error err;
    assert_int_equal(kk_onnx_parse(b.data, b.len, "t.onnx", &m, &err), KK_OK);
    assert_int_equal(m->ir_version, 9);
    assert_int_equal(m->opset, 20);
    assert_string_equal(m->producer, "kokoro-tests");
    assert_int_equal(m->n_nodes, 10);
    assert_int_equal(m->n_inits, 8);
    assert_int_equal(m->n_inputs, 1);
    assert_int_equal(m->n_outputs, 2);
    assert_string_equal(m->inputs[0].name, "x");
    assert_int_equal(m->inputs[0].elem_type, KK_ONNX_FLOAT);
    assert_int_equal(m->inputs[0].ndim, 3);
    assert_int_equal(m->inputs[0].dims[1], 4);
    assert_int_equal(m->inputs[0].dims[2], -1);

    const kk_onnx_node *conv = node_named(m, "conv1");
    assert_non_null(conv);
    assert_string_equal(conv->op_type, "Conv");
    assert_int_equal(conv->n_inputs, 3);
    assert_string_equal(conv->inputs[2], "conv.bias");
    const kk_onnx_attr *a = kk_onnx_attr_find(conv, "pads");
    assert_non_null(a);
    assert_int_equal(a->type, KK_ONNX_ATTR_INTS);
    assert_int_equal(a->n, 2);
    assert_int_equal(a->ints[1], 1);
    assert_int_equal(kk_onnx_attr_find(conv, "group")->i, 1);
    assert_null(kk_onnx_attr_find(conv, "nope"));

    const kk_onnx_node *mm = node_named(m, "mm");
    assert_string_equal(mm->domain, "com.microsoft");
    assert_int_equal(kk_onnx_attr_find(mm, "K")->i, 40);

    const kk_onnx_node *lr = node_named(m, "lrelu");
    assert_float_equal(kk_onnx_attr_find(lr, "alpha")->f, 0.2f, 0);
    assert_string_equal(kk_onnx_attr_find(lr, "mode")->s, "x");
    a = kk_onnx_attr_find(lr, "fl");
    assert_int_equal(a->type, KK_ONNX_ATTR_FLOATS);
    assert_int_equal(a->n, 2);
    assert_float_equal(a->floats[1], 2.5f, 0);

    const kk_onnx_node *c0 = node_named(m, "c0");
    a = kk_onnx_attr_find(c0, "value");
    assert_int_equal(a->type, KK_ONNX_ATTR_TENSOR);
    assert_int_equal(a->t->data_type, KK_ONNX_INT64);
    assert_int_equal(a->t->ndim, 0);
    assert_int_equal(a->t->nelem, 1);

    /* The unnamed node keeps an empty name. */
    int unnamed = 0;
    for (int i = 0; i < m->n_nodes; i++)
        unnamed += m->nodes[i].name[0] == '\0';
    assert_int_equal(unnamed, 1);

    kk_onnx_free(m);
    pbw_free(&b);
}

static void test_tensor_payloads(void **state)
{
    (void)state;
    pbw b = make_test_model();
    kk_onnx *m;
    kk_error err;
    assert_int_equal(kk_onnx_parse(b.data, b.len, "t.onnx", &m, &err), KK_OK);

    const kk_onnx_tensor *t = init_named(m, "conv.bias"); /* packed float_data */
    assert_null(t->raw);
    float f[3];
    assert_int_equal(kk_onnx_tensor_read(t, f, sizeof f, "t", &err), KK_OK);
    assert_float_equal(f[1], -1.0f, 0);
    assert_float_equal(f[2], 2.0f, 0);

    t = init_named(m, "scales__f16"); /* int32_data, not packed, float16 bits */
    uint16_t h[6];
    assert_int_equal(kk_onnx_tensor_read(t, h, sizeof h, "t", &err), KK_OK);
    for (int i = 0; i < 6; i++)
        assert_int_equal(h[i], kk_f32_to_fp16(test_scales[i]));

    t = init_named(m, "shape"); /* packed int64_data with -1 */
    int64_t s[2];
    assert_int_equal(kk_onnx_tensor_read(t, s, sizeof s, "t", &err), KK_OK);
    assert_int_equal(s[0], 1);
    assert_int_equal(s[1], -1);

    t = init_named(m, "i32");
    int32_t iv[2];
    assert_int_equal(kk_onnx_tensor_read(t, iv, sizeof iv, "t", &err), KK_OK);
    assert_int_equal(iv[1], -3);

    t = init_named(m, "B"); /* raw_data points into the buffer, no copy */
    assert_non_null(t->raw);
    assert_true(t->raw > b.data && t->raw < b.data + b.len);
    assert_int_equal(t->raw_len, 96);
    assert_int_equal(t->raw[5], test_b_byte(5));
    assert_int_equal(t->nelem, 96);

    /* Wrong destination size is refused. */
    assert_int_equal(kk_onnx_tensor_read(t, s, 8, "t", &err), KK_ERR_ARG);
    kk_onnx_free(m);
    pbw_free(&b);
}

/* Every proper prefix of the file is an error with a byte offset, never a
 * crash or a silent success. */
static void test_truncated_everywhere(void **state)
{
    (void)state;
    pbw b = make_test_model();
    for (size_t n = 0; n < b.len; n++) {
        uint8_t *cut = malloc(n + 1); /* exact size: ASan sees overreads */
        memcpy(cut, b.data, n);
        kk_onnx *m = NULL;
        kk_error err;
        kk_error_clear(&err);
        kk_status st = kk_onnx_parse(cut, n, "cut.onnx", &m, &err);
        if (st != KK_ERR_INPUT)
            fail_msg("prefix of %zu/%zu bytes: status %d (%s)", n, b.len, st, err.msg);
        assert_null(m);
        assert_non_null(strstr(err.msg, "cut.onnx"));
        assert_true(strstr(err.msg, "byte") != NULL || strstr(err.msg, "not an ONNX") != NULL);
        free(cut);
    }
    pbw_free(&b);
}

/* Flipped bytes: any status is fine, but no out-of-bounds access (run
 * under ASan) and an error always carries a message. */
static void test_corrupt_bytes(void **state)
{
    (void)state;
    pbw b = make_test_model();
    uint8_t *copy = malloc(b.len);
    unsigned seed = 12345;
    int failures = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(copy, b.data, b.len);
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            copy[(seed >> 8) % b.len] ^= (uint8_t)(1u << ((seed >> 4) & 7));
        }
        kk_onnx *m = NULL;
        kk_error err;
        kk_error_clear(&err);
        kk_status st = kk_onnx_parse(copy, b.len, "x.onnx", &m, &err);
        if (st == KK_OK) {
            for (int i = 0; i < m->n_inits; i++) { /* decode whatever parsed */
                size_t es = kk_onnx_elem_size(m->inits[i].data_type);
                if (!es || m->inits[i].nelem > 4096)
                    continue;
                void *dst = malloc(es * (size_t)m->inits[i].nelem + 1);
                kk_onnx_tensor_read(&m->inits[i], dst, es * (size_t)m->inits[i].nelem, "x",
                                    &err);
                free(dst);
            }
            kk_onnx_free(m);
        } else {
            failures++;
            assert_true(err.msg[0] != '\0');
        }
    }
    assert_true(failures > 0); /* the corruption did hit structure */
    free(copy);
    pbw_free(&b);
}

static void test_external_data(void **state)
{
    (void)state;
    pbw g = {0};
    int64_t d[] = {4};
    pbw t = onnx_tensor_raw("big", KK_ONNX_FLOAT, 1, d, NULL, 0);
    pbw ext = {0};
    pbw_str(&ext, 1, "location");
    pbw_str(&ext, 2, "model.onnx_data");
    pbw_msg(&t, 13, &ext);
    pbw_int(&t, 14, 1);
    pbw_msg(&g, 5, &t);
    pbw m = onnx_model(&g);
    kk_onnx *o;
    kk_error err;
    assert_int_equal(kk_onnx_parse(m.data, m.len, "ext.onnx", &o, &err), KK_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "'big'"));
    assert_non_null(strstr(err.msg, "external"));
    pbw_free(&m);
}

static void test_not_onnx(void **state)
{
    (void)state;
    const char *text = "hello, this is not protobuf";
    kk_onnx *o;
    kk_error err;
    assert_int_equal(kk_onnx_parse((const uint8_t *)text, strlen(text), "t.txt", &o, &err),
                     KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "t.txt"));
    /* A valid protobuf without a graph is not a model either. */
    pbw w = {0};
    pbw_int(&w, 1, 9);
    assert_int_equal(kk_onnx_parse(w.data, w.len, "g.onnx", &o, &err), KK_ERR_INPUT);
    assert_non_null(strstr(err.msg, "no graph"));
    pbw_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_structure), cmocka_unit_test(test_tensor_payloads),
        cmocka_unit_test(test_truncated_everywhere), cmocka_unit_test(test_corrupt_bytes),
        cmocka_unit_test(test_external_data), cmocka_unit_test(test_not_onnx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
