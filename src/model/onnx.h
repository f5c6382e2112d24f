/*
 * onnx.h - a minimal, bounds-checked reader of ONNX files (internal).
 *
 * Owns the decoding of the protobuf wire format for the parts of an ONNX
 * ModelProto the weight converter needs: the graph's nodes (with their
 * attributes), initializers, Constant tensors, and graph inputs/outputs.
 * Everything else (doc strings, value_info, metadata, subgraphs) is skipped.
 *
 * Big tensor payloads are not copied: a kk_onnx_tensor points into the
 * caller's buffer (normally the mmapped file), which must outlive the
 * kk_onnx. Names and small arrays are copied into an arena owned by kk_onnx.
 *
 * A truncated or corrupt file is a KK_ERR_INPUT whose message names the byte
 * offset; tensors stored in external files are KK_ERR_UNSUPPORTED.
 */
#ifndef KK_ONNX_H
#define KK_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "kk_error.h"

/* TensorProto.DataType values we name (the numbers are fixed by onnx.proto). */
enum {
    KK_ONNX_FLOAT = 1,
    KK_ONNX_UINT8 = 2,
    KK_ONNX_INT8 = 3,
    KK_ONNX_UINT16 = 4,
    KK_ONNX_INT16 = 5,
    KK_ONNX_INT32 = 6,
    KK_ONNX_INT64 = 7,
    KK_ONNX_STRING = 8,
    KK_ONNX_BOOL = 9,
    KK_ONNX_FLOAT16 = 10,
    KK_ONNX_DOUBLE = 11,
    KK_ONNX_UINT32 = 12,
    KK_ONNX_UINT64 = 13,
    KK_ONNX_BFLOAT16 = 16,
};

/* AttributeProto.AttributeType values. */
enum {
    KK_ONNX_ATTR_FLOAT = 1,
    KK_ONNX_ATTR_INT = 2,
    KK_ONNX_ATTR_STRING = 3,
    KK_ONNX_ATTR_TENSOR = 4,
    KK_ONNX_ATTR_GRAPH = 5,
    KK_ONNX_ATTR_FLOATS = 6,
    KK_ONNX_ATTR_INTS = 7,
    KK_ONNX_ATTR_STRINGS = 8,
};

#define KK_ONNX_MAX_DIMS 8

typedef struct kk_onnx_tensor {
    const char *name;
    int data_type;
    int ndim;
    int64_t dims[KK_ONNX_MAX_DIMS];
    int64_t nelem;
    const uint8_t *raw; /* raw_data, into the source buffer; NULL if absent */
    size_t raw_len;
    /* The whole TensorProto message, so that typed fields (float_data,
     * int32_data, ...; packed or not) can be decoded on demand. */
    const uint8_t *msg;
    size_t msg_len;
    size_t offset; /* byte offset of the message in the source, for errors */
} kk_onnx_tensor;

typedef struct kk_onnx_attr {
    const char *name;
    int type;
    int64_t i;
    float f;
    const char *s; /* NUL-terminated copy (STRING) */
    size_t n;      /* element count for INTS / FLOATS */
    int64_t *ints;
    float *floats;
    kk_onnx_tensor *t; /* TENSOR */
} kk_onnx_attr;

typedef struct kk_onnx_node {
    const char *name;
    const char *op_type;
    const char *domain; /* "" for the default domain */
    int n_inputs, n_outputs, n_attrs;
    const char **inputs; /* an empty string is an omitted optional input */
    const char **outputs;
    kk_onnx_attr *attrs;
} kk_onnx_node;

typedef struct kk_onnx_value {
    const char *name;
    int elem_type;
    int ndim; /* -1 when the shape is unknown */
    int64_t dims[KK_ONNX_MAX_DIMS]; /* -1 for a symbolic dimension */
} kk_onnx_value;

typedef struct kk_onnx_arena kk_onnx_arena;

typedef struct kk_onnx {
    int64_t ir_version;
    int64_t opset; /* version of the default domain, 0 if not given */
    const char *producer;
    int n_nodes, n_inits, n_inputs, n_outputs;
    kk_onnx_node *nodes;
    kk_onnx_tensor *inits;
    kk_onnx_value *inputs;
    kk_onnx_value *outputs;
    kk_onnx_arena *arena;
} kk_onnx;

/* Parses data[0..len) (named `what` in messages). On success *out owns its
 * tables and points into data for payloads. */
kk_status kk_onnx_parse(const uint8_t *data, size_t len, const char *what, kk_onnx **out,
                        kk_error *err);
void kk_onnx_free(kk_onnx *m);

/* The attribute called name, or NULL. */
const kk_onnx_attr *kk_onnx_attr_find(const kk_onnx_node *n, const char *name);

/* Bytes per element of data_type in memory (FLOAT16/BFLOAT16 as uint16,
 * BOOL as uint8); 0 for types we do not decode (STRING, complex). */
size_t kk_onnx_elem_size(int data_type);
const char *kk_onnx_type_name(int data_type);

/* Decodes t's elements into dst (nelem * kk_onnx_elem_size bytes, host
 * little-endian), from raw_data or from the typed fields. Fails with
 * KK_ERR_UNSUPPORTED for external data, KK_ERR_INPUT when the payload size
 * does not match the dims. */
kk_status kk_onnx_tensor_read(const kk_onnx_tensor *t, void *dst, size_t dst_size,
                              const char *what, kk_error *err);

/* Appends one zeroed element to a realloc'd array, doubling its capacity
 * (shared with the converter). -1 when out of memory. */
int kk_onnx_grow(void **arr, int *n, int *cap, size_t elem);

#endif
