/* pbw.c - see pbw.h. */
#include "pbw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(pbw *w, const void *p, size_t n)
{
    if (w->len + n > w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 256;
        while (nc < w->len + n)
            nc *= 2;
        w->data = realloc(w->data, nc);
        if (!w->data) {
            fprintf(stderr, "pbw: out of memory\n");
            abort();
        }
        w->cap = nc;
    }
    if (n)
        memcpy(w->data + w->len, p, n);
    w->len += n;
}

void pbw_varint_raw(pbw *w, uint64_t v)
{
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        if (v)
            b |= 0x80;
        put(w, &b, 1);
    } while (v);
}

void pbw_key(pbw *w, int field, int wt) { pbw_varint_raw(w, (uint64_t)field << 3 | (unsigned)wt); }
void pbw_int(pbw *w, int field, int64_t v)
{
    pbw_key(w, field, 0);
    pbw_varint_raw(w, (uint64_t)v);
}
void pbw_bytes(pbw *w, int field, const void *p, size_t n)
{
    pbw_key(w, field, 2);
    pbw_varint_raw(w, n);
    put(w, p, n);
}
void pbw_str(pbw *w, int field, const char *s) { pbw_bytes(w, field, s, strlen(s)); }
void pbw_f32(pbw *w, int field, float f)
{
    pbw_key(w, field, 5);
    put(w, &f, 4);
}
void pbw_msg(pbw *w, int field, pbw *child)
{
    pbw_bytes(w, field, child->data, child->len);
    pbw_free(child);
}
void pbw_free(pbw *w)
{
    free(w->data);
    memset(w, 0, sizeof *w);
}

pbw onnx_tensor_raw(const char *name, int dtype, int ndim, const int64_t *dims, const void *raw,
                    size_t n)
{
    pbw t = {0};
    for (int i = 0; i < ndim; i++)
        pbw_int(&t, 1, dims[i]);
    pbw_int(&t, 2, dtype);
    pbw_str(&t, 8, name);
    if (raw)
        pbw_bytes(&t, 9, raw, n);
    return t;
}

static pbw attr_start(const char *name, int type)
{
    pbw a = {0};
    pbw_str(&a, 1, name);
    pbw_int(&a, 20, type);
    return a;
}

void onnx_attr_int(pbw *node, const char *name, int64_t v)
{
    pbw a = attr_start(name, 2);
    pbw_int(&a, 3, v);
    pbw_msg(node, 5, &a);
}
void onnx_attr_float(pbw *node, const char *name, float v)
{
    pbw a = attr_start(name, 1);
    pbw_f32(&a, 2, v);
    pbw_msg(node, 5, &a);
}
void onnx_attr_ints(pbw *node, const char *name, const int64_t *v, int n)
{
    pbw a = attr_start(name, 7), packed = {0};
    for (int i = 0; i < n; i++)
        pbw_varint_raw(&packed, (uint64_t)v[i]);
    pbw_msg(&a, 8, &packed);
    pbw_msg(node, 5, &a);
}
void onnx_attr_floats(pbw *node, const char *name, const float *v, int n)
{
    /* Not packed, on purpose: the reader must accept both encodings. */
    pbw a = attr_start(name, 6);
    for (int i = 0; i < n; i++)
        pbw_f32(&a, 7, v[i]);
    pbw_msg(node, 5, &a);
}
void onnx_attr_str(pbw *node, const char *name, const char *s)
{
    pbw a = attr_start(name, 3);
    pbw_str(&a, 4, s);
    pbw_msg(node, 5, &a);
}
void onnx_attr_tensor(pbw *node, const char *name, pbw *tensor)
{
    pbw a = attr_start(name, 4);
    pbw_msg(&a, 5, tensor);
    pbw_msg(node, 5, &a);
}

pbw onnx_node(const char *name, const char *op, const char *domain, const char *const *in,
              const char *const *out)
{
    pbw n = {0};
    for (; in && *in; in++)
        pbw_str(&n, 1, *in);
    for (; out && *out; out++)
        pbw_str(&n, 2, *out);
    if (name)
        pbw_str(&n, 3, name);
    pbw_str(&n, 4, op);
    if (domain)
        pbw_str(&n, 7, domain);
    return n;
}

void onnx_value(pbw *graph, int field, const char *name, int elem, int ndim, const int64_t *dims)
{
    pbw v = {0}, type = {0}, tt = {0}, shape = {0};
    pbw_str(&v, 1, name);
    pbw_int(&tt, 1, elem);
    for (int i = 0; i < ndim; i++) {
        pbw d = {0};
        if (dims[i] >= 0)
            pbw_int(&d, 1, dims[i]);
        else
            pbw_str(&d, 2, "T");
        pbw_msg(&shape, 1, &d);
    }
    pbw_msg(&tt, 2, &shape);
    pbw_msg(&type, 1, &tt);
    pbw_msg(&v, 2, &type);
    pbw_msg(graph, field, &v);
}

pbw onnx_model(pbw *graph)
{
    pbw m = {0}, op = {0};
    pbw_int(&m, 1, 9);
    pbw_str(&m, 2, "kokoro-tests");
    pbw_str(&op, 1, "");
    pbw_int(&op, 2, 20);
    pbw_msg(&m, 8, &op);
    pbw_msg(&m, 7, graph);
    return m;
}
