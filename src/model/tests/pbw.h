/* pbw.h - a tiny protobuf writer for the model tests: builds ONNX files
 * byte by byte so that the reader and converter can be tested without the
 * real model. Messages are built inside out: write the child into its own
 * pbw, then embed it with pbw_msg. Allocation failures abort the test. */
#ifndef KK_TEST_PBW_H
#define KK_TEST_PBW_H

#include <stddef.h>
#include <stdint.h>

typedef struct pbw {
    uint8_t *data;
    size_t len, cap;
} pbw;

void pbw_varint_raw(pbw *w, uint64_t v);
void pbw_key(pbw *w, int field, int wt);
void pbw_int(pbw *w, int field, int64_t v);         /* varint field */
void pbw_bytes(pbw *w, int field, const void *p, size_t n);
void pbw_str(pbw *w, int field, const char *s);
void pbw_f32(pbw *w, int field, float f);           /* fixed32 field */
void pbw_msg(pbw *w, int field, pbw *child);        /* embeds and frees child */
void pbw_free(pbw *w);

/* ONNX helpers. dims may be NULL when ndim is 0. */
pbw onnx_tensor_raw(const char *name, int dtype, int ndim, const int64_t *dims, const void *raw,
                    size_t n);
void onnx_attr_int(pbw *node, const char *name, int64_t v);
void onnx_attr_float(pbw *node, const char *name, float v);
void onnx_attr_ints(pbw *node, const char *name, const int64_t *v, int n);
void onnx_attr_floats(pbw *node, const char *name, const float *v, int n);
void onnx_attr_str(pbw *node, const char *name, const char *s);
void onnx_attr_tensor(pbw *node, const char *name, pbw *tensor);
/* Starts a node; inputs/outputs NULL-terminated lists; add attributes then
 * embed with pbw_msg(graph, 1, &node). */
pbw onnx_node(const char *name, const char *op, const char *domain, const char *const *in,
              const char *const *out);
void onnx_value(pbw *graph, int field, const char *name, int elem, int ndim, const int64_t *dims);
/* Wraps a graph into a ModelProto (ir 9, opset 20). */
pbw onnx_model(pbw *graph);

#endif
