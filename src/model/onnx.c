/*
 * onnx.c - see onnx.h. A protobuf wire-format reader specialised for the
 * handful of ONNX messages we use. Field numbers are from onnx.proto (IR 9).
 *
 * Every read goes through the pb_* helpers, which check the remaining length
 * before touching a byte, so no input can make us read out of bounds.
 */
#include "onnx.h"

#include <stdlib.h>
#include <string.h>

/* ---- arena: names and small arrays, freed all at once ---- */

struct kk_onnx_arena {
    struct kk_onnx_arena *next;
    size_t used, cap;
    unsigned char data[];
};

static void *arena_alloc(kk_onnx_arena **a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!*a || (*a)->used + n > (*a)->cap) {
        size_t cap = n > (1u << 20) ? n : (1u << 20);
        kk_onnx_arena *b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = *a;
        b->used = 0;
        b->cap = cap;
        *a = b;
    }
    void *p = (*a)->data + (*a)->used;
    (*a)->used += n;
    return p;
}

/* ---- wire format ---- */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

typedef struct pb {
    const uint8_t *base; /* start of the whole file: offsets are reported from here */
    size_t pos, end;
} pb;

typedef struct ctx {
    const uint8_t *base;
    const char *what;
    kk_error *err;
    kk_onnx *m;
} ctx;

static kk_status corrupt(ctx *c, size_t off, const char *where, const char *why)
{
    return kk_error_set(c->err, KK_ERR_INPUT,
                        "%s: truncated or corrupt ONNX file at byte %zu (%s: %s); the file is "
                        "damaged or not an ONNX model - download it again",
                        c->what, off, where, why);
}

static int pb_varint(pb *p, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p->pos >= p->end)
            return -1;
        uint8_t b = p->base[p->pos++];
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1; /* more than 10 bytes */
}

/* Reads a key; returns 1 with field/wire type, 0 at the end, -1 on error. */
static int pb_key(pb *p, uint32_t *field, int *wt)
{
    if (p->pos >= p->end)
        return 0;
    uint64_t k;
    if (pb_varint(p, &k) < 0 || (k >> 3) == 0 || (k >> 3) > 0x1fffffff)
        return -1;
    *field = (uint32_t)(k >> 3);
    *wt = (int)(k & 7);
    return 1;
}

/* A length-delimited payload as a sub-reader. */
static int pb_sub(pb *p, pb *sub)
{
    uint64_t n;
    if (pb_varint(p, &n) < 0 || n > p->end - p->pos)
        return -1;
    sub->base = p->base;
    sub->pos = p->pos;
    sub->end = p->pos + (size_t)n;
    p->pos += (size_t)n;
    return 0;
}

static int pb_fixed32(pb *p, uint32_t *v)
{
    if (p->end - p->pos < 4)
        return -1;
    const uint8_t *b = p->base + p->pos;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    p->pos += 4;
    return 0;
}

static int pb_fixed64(pb *p, uint64_t *v)
{
    uint32_t lo, hi;
    if (pb_fixed32(p, &lo) < 0 || pb_fixed32(p, &hi) < 0)
        return -1;
    *v = (uint64_t)hi << 32 | lo;
    return 0;
}

static int pb_skip(pb *p, int wt)
{
    uint64_t v;
    pb sub;
    switch (wt) {
    case WT_VARINT: return pb_varint(p, &v);
    case WT_I64: return pb_fixed64(p, &v);
    case WT_LEN: return pb_sub(p, &sub);
    case WT_I32: {
        uint32_t u;
        return pb_fixed32(p, &u);
    }
    default: return -1; /* groups (3, 4) are not used by ONNX */
    }
}

static char *pb_string(ctx *c, pb *p)
{
    pb s;
    if (pb_sub(p, &s) < 0)
        return NULL;
    size_t n = s.end - s.pos;
    char *r = arena_alloc(&c->m->arena, n + 1);
    if (!r)
        return NULL;
    memcpy(r, c->base + s.pos, n);
    r[n] = '\0';
    return r;
}

int kk_onnx_grow(void **arr, int *n, int *cap, size_t elem)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 8;
        void *na = realloc(*arr, (size_t)nc * elem);
        if (!na)
            return -1;
        *arr = na;
        *cap = nc;
    }
    memset((char *)*arr + (size_t)*n * elem, 0, elem);
    (*n)++;
    return 0;
}

#define CHECK(cond, where, why)                                                                    \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return corrupt(c, p->pos, where, why);                                                 \
    } while (0)

static kk_status nomem(ctx *c)
{
    return kk_error_set(c->err, KK_ERR_NOMEM, "%s: out of memory while reading the ONNX graph",
                        c->what);
}

/* Reads a repeated int64 field element (packed or not) into a growing list. */
static kk_status read_ints(ctx *c, pb *p, int wt, int64_t **arr, int *n, int *cap,
                           const char *where)
{
    if (wt == WT_VARINT) {
        uint64_t v;
        CHECK(pb_varint(p, &v) == 0, where, "bad varint");
        if (kk_onnx_grow((void **)arr, n, cap, sizeof **arr) < 0)
            return nomem(c);
        (*arr)[*n - 1] = (int64_t)v;
        return KK_OK;
    }
    CHECK(wt == WT_LEN, where, "unexpected wire type for a repeated int");
    pb s;
    CHECK(pb_sub(p, &s) == 0, where, "length past the end");
    while (s.pos < s.end) {
        uint64_t v;
        if (pb_varint(&s, &v) < 0)
            return corrupt(c, s.pos, where, "bad packed varint");
        if (kk_onnx_grow((void **)arr, n, cap, sizeof **arr) < 0)
            return nomem(c);
        (*arr)[*n - 1] = (int64_t)v;
    }
    return KK_OK;
}

static kk_status read_floats(ctx *c, pb *p, int wt, float **arr, int *n, int *cap,
                             const char *where)
{
    pb s;
    if (wt == WT_I32) {
        s = *p;
        s.end = p->pos + 4 > p->end ? p->end : p->pos + 4;
        CHECK(p->end - p->pos >= 4, where, "truncated float");
        p->pos += 4;
    } else {
        CHECK(wt == WT_LEN, where, "unexpected wire type for a repeated float");
        CHECK(pb_sub(p, &s) == 0, where, "length past the end");
    }
    while (s.pos < s.end) {
        uint32_t u;
        if (pb_fixed32(&s, &u) < 0)
            return corrupt(c, s.pos, where, "packed floats not a multiple of 4 bytes");
        if (kk_onnx_grow((void **)arr, n, cap, sizeof **arr) < 0)
            return nomem(c);
        memcpy(&(*arr)[*n - 1], &u, 4);
    }
    return KK_OK;
}

/* ---- TensorProto ---- */

static kk_status parse_tensor(ctx *c, pb *p, kk_onnx_tensor *t)
{
    memset(t, 0, sizeof *t);
    t->name = "";
    t->offset = p->pos;
    t->msg = c->base + p->pos;
    t->msg_len = p->end - p->pos;
    int has_external = 0;
    uint32_t f;
    int wt, r;
    while ((r = pb_key(p, &f, &wt)) > 0) {
        uint64_t v;
        pb s;
        switch (f) {
        case 1: /* dims */
            if (wt == WT_VARINT) {
                CHECK(pb_varint(p, &v) == 0, "tensor dims", "bad varint");
                CHECK(t->ndim < KK_ONNX_MAX_DIMS, "tensor dims", "too many dimensions");
                t->dims[t->ndim++] = (int64_t)v;
            } else {
                CHECK(wt == WT_LEN && pb_sub(p, &s) == 0, "tensor dims", "bad packed dims");
                while (s.pos < s.end) {
                    if (pb_varint(&s, &v) < 0)
                        return corrupt(c, s.pos, "tensor dims", "bad varint");
                    CHECK(t->ndim < KK_ONNX_MAX_DIMS, "tensor dims", "too many dimensions");
                    t->dims[t->ndim++] = (int64_t)v;
                }
            }
            break;
        case 2: /* data_type */
            CHECK(wt == WT_VARINT && pb_varint(p, &v) == 0, "tensor data_type", "bad varint");
            t->data_type = (int)v;
            break;
        case 8: /* name */
            CHECK(wt == WT_LEN, "tensor name", "bad wire type");
            t->name = pb_string(c, p);
            CHECK(t->name, "tensor name", "length past the end");
            break;
        case 9: /* raw_data */
            CHECK(wt == WT_LEN && pb_sub(p, &s) == 0, "tensor raw_data", "length past the end");
            t->raw = c->base + s.pos;
            t->raw_len = s.end - s.pos;
            break;
        case 13: /* external_data */
            has_external = 1;
            CHECK(pb_skip(p, wt) == 0, "tensor external_data", "bad field");
            break;
        case 14: /* data_location */
            CHECK(wt == WT_VARINT && pb_varint(p, &v) == 0, "tensor data_location", "bad varint");
            if (v == 1)
                has_external = 1;
            break;
        default:
            CHECK(pb_skip(p, wt) == 0, "tensor", "bad field");
        }
    }
    CHECK(r == 0, "tensor", "bad field key");
    if (has_external)
        return kk_error_set(c->err, KK_ERR_UNSUPPORTED,
                            "%s: tensor '%s' (byte %zu) is stored in an external data file; "
                            "this loader reads self-contained .onnx files only - use a model "
                            "file with embedded weights (e.g. onnx-community model.onnx)",
                            c->what, t->name, t->offset);
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->dims[i] < 0 || (t->dims[i] > 0 && n > INT64_MAX / 16 / t->dims[i]))
            return corrupt(c, t->offset, "tensor dims", "negative or huge dimension");
        n *= t->dims[i];
    }
    t->nelem = n;
    return KK_OK;
}

/* ---- NodeProto / AttributeProto ---- */

/* Inside parse_attr: on error, leave the loop so the arrays are freed. */
#define ACHECK(cond, where, why)                                                                   \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            st = corrupt(c, p->pos, where, why);                                                   \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

static kk_status parse_attr(ctx *c, pb *p, kk_onnx_attr *a)
{
    memset(a, 0, sizeof *a);
    a->name = "";
    int nints = 0, cints = 0, nfl = 0, cfl = 0;
    kk_status st = KK_OK;
    uint32_t f;
    int wt, r;
    while ((r = pb_key(p, &f, &wt)) > 0) {
        uint64_t v;
        uint32_t u;
        pb s;
        switch (f) {
        case 1:
            ACHECK(wt == WT_LEN && (a->name = pb_string(c, p)), "attribute name", "bad string");
            break;
        case 2:
            ACHECK(wt == WT_I32 && pb_fixed32(p, &u) == 0, "attribute f", "bad float");
            memcpy(&a->f, &u, 4);
            break;
        case 3:
            ACHECK(wt == WT_VARINT && pb_varint(p, &v) == 0, "attribute i", "bad varint");
            a->i = (int64_t)v;
            break;
        case 4:
            ACHECK(wt == WT_LEN && (a->s = pb_string(c, p)), "attribute s", "bad string");
            break;
        case 5:
            ACHECK(wt == WT_LEN && pb_sub(p, &s) == 0, "attribute t", "length past the end");
            a->t = arena_alloc(&c->m->arena, sizeof *a->t);
            if (!a->t)
                st = nomem(c);
            else
                st = parse_tensor(c, &s, a->t);
            break;
        case 7: st = read_floats(c, p, wt, &a->floats, &nfl, &cfl, "attribute floats"); break;
        case 8: st = read_ints(c, p, wt, &a->ints, &nints, &cints, "attribute ints"); break;
        case 20:
            ACHECK(wt == WT_VARINT && pb_varint(p, &v) == 0, "attribute type", "bad varint");
            a->type = (int)v;
            break;
        default: ACHECK(pb_skip(p, wt) == 0, "attribute", "bad field");
        }
        if (st != KK_OK)
            break;
    }
done:
    /* Move the realloc'd arrays into the arena so kk_onnx_free need not
     * walk every attribute. */
    if (st == KK_OK && nints) {
        int64_t *x = arena_alloc(&c->m->arena, (size_t)nints * sizeof *x);
        if (!x)
            st = nomem(c);
        else
            memcpy(x, a->ints, (size_t)nints * sizeof *x);
        free(a->ints);
        a->ints = x;
        a->n = (size_t)nints;
    } else {
        free(a->ints);
        a->ints = NULL;
    }
    if (st == KK_OK && nfl) {
        float *x = arena_alloc(&c->m->arena, (size_t)nfl * sizeof *x);
        if (!x)
            st = nomem(c);
        else
            memcpy(x, a->floats, (size_t)nfl * sizeof *x);
        free(a->floats);
        a->floats = x;
        a->n = (size_t)nfl;
    } else {
        free(a->floats);
        a->floats = NULL;
    }
    if (st != KK_OK)
        return st;
    CHECK(r == 0, "attribute", "bad field key");
    if (a->type == 0) { /* IR < 4 files omit type: infer it */
        a->type = a->t ? KK_ONNX_ATTR_TENSOR
                  : a->s ? KK_ONNX_ATTR_STRING
                  : nfl  ? KK_ONNX_ATTR_FLOATS
                  : nints ? KK_ONNX_ATTR_INTS
                  : a->f != 0.0f ? KK_ONNX_ATTR_FLOAT
                                 : KK_ONNX_ATTR_INT;
    }
    if (a->type == KK_ONNX_ATTR_TENSOR && !a->t)
        return corrupt(c, p->pos, "attribute", "TENSOR attribute without a tensor");
    return KK_OK;
}

static kk_status add_string(ctx *c, pb *p, int wt, const char ***arr, int *n, int *cap,
                            const char *where)
{
    CHECK(wt == WT_LEN, where, "bad wire type");
    char *s = pb_string(c, p);
    CHECK(s, where, "length past the end");
    if (kk_onnx_grow((void **)arr, n, cap, sizeof **arr) < 0)
        return nomem(c);
    (*arr)[*n - 1] = s;
    return KK_OK;
}

/* Copies a realloc'd array into the arena and frees the original. */
static void *to_arena(ctx *c, void *arr, size_t bytes)
{
    void *x = bytes ? arena_alloc(&c->m->arena, bytes) : NULL;
    if (x)
        memcpy(x, arr, bytes);
    free(arr);
    return x;
}

static kk_status parse_node(ctx *c, pb *p, kk_onnx_node *n)
{
    memset(n, 0, sizeof *n);
    n->name = n->op_type = n->domain = "";
    int cin = 0, cout = 0, cat = 0;
    const char **ins = NULL, **outs = NULL;
    kk_onnx_attr *ats = NULL;
    kk_status st = KK_OK;
    uint32_t f;
    int wt, r;
    while ((r = pb_key(p, &f, &wt)) > 0) {
        pb s;
        switch (f) {
        case 1: st = add_string(c, p, wt, &ins, &n->n_inputs, &cin, "node input"); break;
        case 2: st = add_string(c, p, wt, &outs, &n->n_outputs, &cout, "node output"); break;
        case 3:
            if (wt != WT_LEN || !(n->name = pb_string(c, p)))
                st = corrupt(c, p->pos, "node name", "bad string");
            break;
        case 4:
            if (wt != WT_LEN || !(n->op_type = pb_string(c, p)))
                st = corrupt(c, p->pos, "node op_type", "bad string");
            break;
        case 7:
            if (wt != WT_LEN || !(n->domain = pb_string(c, p)))
                st = corrupt(c, p->pos, "node domain", "bad string");
            break;
        case 5:
            if (wt != WT_LEN || pb_sub(p, &s) < 0) {
                st = corrupt(c, p->pos, "node attribute", "length past the end");
            } else if (kk_onnx_grow((void **)&ats, &n->n_attrs, &cat, sizeof *ats) < 0) {
                st = nomem(c);
            } else {
                st = parse_attr(c, &s, &ats[n->n_attrs - 1]);
            }
            break;
        default:
            if (pb_skip(p, wt) < 0)
                st = corrupt(c, p->pos, "node", "bad field");
        }
        if (st != KK_OK)
            break;
    }
    if (st == KK_OK && r < 0)
        st = corrupt(c, p->pos, "node", "bad field key");
    n->inputs = to_arena(c, ins, (size_t)n->n_inputs * sizeof *ins);
    n->outputs = to_arena(c, outs, (size_t)n->n_outputs * sizeof *outs);
    n->attrs = to_arena(c, ats, (size_t)n->n_attrs * sizeof *ats);
    if (st == KK_OK && ((n->n_inputs && !n->inputs) || (n->n_outputs && !n->outputs) ||
                        (n->n_attrs && !n->attrs)))
        st = nomem(c);
    return st;
}

/* ---- ValueInfoProto (graph inputs / outputs) ---- */

static kk_status parse_value(ctx *c, pb *p, kk_onnx_value *v)
{
    memset(v, 0, sizeof *v);
    v->name = "";
    v->ndim = -1;
    uint32_t f;
    int wt, r;
    while ((r = pb_key(p, &f, &wt)) > 0) {
        pb type, tt, shape, dim;
        uint64_t x;
        if (f == 1) {
            CHECK(wt == WT_LEN && (v->name = pb_string(c, p)), "value name", "bad string");
        } else if (f == 2) { /* TypeProto */
            CHECK(wt == WT_LEN && pb_sub(p, &type) == 0, "value type", "length past the end");
            uint32_t f2;
            int w2, r2;
            while ((r2 = pb_key(&type, &f2, &w2)) > 0) {
                if (f2 != 1 || w2 != WT_LEN) { /* only tensor_type */
                    if (pb_skip(&type, w2) < 0)
                        return corrupt(c, type.pos, "value type", "bad field");
                    continue;
                }
                if (pb_sub(&type, &tt) < 0)
                    return corrupt(c, type.pos, "value tensor type", "length past the end");
                uint32_t f3;
                int w3, r3;
                while ((r3 = pb_key(&tt, &f3, &w3)) > 0) {
                    if (f3 == 1 && w3 == WT_VARINT) {
                        if (pb_varint(&tt, &x) < 0)
                            return corrupt(c, tt.pos, "value elem_type", "bad varint");
                        v->elem_type = (int)x;
                    } else if (f3 == 2 && w3 == WT_LEN) {
                        if (pb_sub(&tt, &shape) < 0)
                            return corrupt(c, tt.pos, "value shape", "length past the end");
                        v->ndim = 0;
                        uint32_t f4;
                        int w4, r4;
                        while ((r4 = pb_key(&shape, &f4, &w4)) > 0) {
                            if (f4 != 1 || w4 != WT_LEN) {
                                if (pb_skip(&shape, w4) < 0)
                                    return corrupt(c, shape.pos, "value shape", "bad field");
                                continue;
                            }
                            if (pb_sub(&shape, &dim) < 0)
                                return corrupt(c, shape.pos, "value dim", "length past the end");
                            int64_t d = -1;
                            uint32_t f5;
                            int w5, r5;
                            while ((r5 = pb_key(&dim, &f5, &w5)) > 0) {
                                if (f5 == 1 && w5 == WT_VARINT) {
                                    if (pb_varint(&dim, &x) < 0)
                                        return corrupt(c, dim.pos, "value dim", "bad varint");
                                    d = (int64_t)x;
                                } else if (pb_skip(&dim, w5) < 0) {
                                    return corrupt(c, dim.pos, "value dim", "bad field");
                                }
                            }
                            if (r5 < 0)
                                return corrupt(c, dim.pos, "value dim", "bad field key");
                            if (v->ndim < KK_ONNX_MAX_DIMS)
                                v->dims[v->ndim] = d;
                            v->ndim++;
                        }
                        if (r4 < 0)
                            return corrupt(c, shape.pos, "value shape", "bad field key");
                        if (v->ndim > KK_ONNX_MAX_DIMS)
                            return corrupt(c, shape.pos, "value shape", "too many dimensions");
                    } else if (pb_skip(&tt, w3) < 0) {
                        return corrupt(c, tt.pos, "value tensor type", "bad field");
                    }
                }
                if (r3 < 0)
                    return corrupt(c, tt.pos, "value tensor type", "bad field key");
            }
            if (r2 < 0)
                return corrupt(c, type.pos, "value type", "bad field key");
        } else {
            CHECK(pb_skip(p, wt) == 0, "value", "bad field");
        }
    }
    CHECK(r == 0, "value", "bad field key");
    return KK_OK;
}

/* ---- GraphProto / ModelProto ---- */

static kk_status parse_graph(ctx *c, pb *p)
{
    kk_onnx *m = c->m;
    int cn = 0, ci = 0, cin = 0, cout = 0;
    uint32_t f;
    int wt, r;
    kk_status st = KK_OK;
    while ((r = pb_key(p, &f, &wt)) > 0) {
        pb s;
        if (f == 1 || f == 5 || f == 11 || f == 12) {
            CHECK(wt == WT_LEN && pb_sub(p, &s) == 0, "graph", "length past the end");
        }
        switch (f) {
        case 1:
            if (kk_onnx_grow((void **)&m->nodes, &m->n_nodes, &cn, sizeof *m->nodes) < 0)
                return nomem(c);
            st = parse_node(c, &s, &m->nodes[m->n_nodes - 1]);
            break;
        case 5:
            if (kk_onnx_grow((void **)&m->inits, &m->n_inits, &ci, sizeof *m->inits) < 0)
                return nomem(c);
            st = parse_tensor(c, &s, &m->inits[m->n_inits - 1]);
            break;
        case 11:
            if (kk_onnx_grow((void **)&m->inputs, &m->n_inputs, &cin, sizeof *m->inputs) < 0)
                return nomem(c);
            st = parse_value(c, &s, &m->inputs[m->n_inputs - 1]);
            break;
        case 12:
            if (kk_onnx_grow((void **)&m->outputs, &m->n_outputs, &cout, sizeof *m->outputs) < 0)
                return nomem(c);
            st = parse_value(c, &s, &m->outputs[m->n_outputs - 1]);
            break;
        case 15:
            return kk_error_set(c->err, KK_ERR_UNSUPPORTED,
                                "%s: the graph has sparse initializers (byte %zu), which this "
                                "loader does not read; use a dense export of the model",
                                c->what, p->pos);
        default: CHECK(pb_skip(p, wt) == 0, "graph", "bad field");
        }
        if (st != KK_OK)
            return st;
    }
    CHECK(r == 0, "graph", "bad field key");
    return KK_OK;
}

kk_status kk_onnx_parse(const uint8_t *data, size_t len, const char *what, kk_onnx **out,
                        kk_error *err)
{
    *out = NULL;
    kk_onnx *m = calloc(1, sizeof *m);
    if (!m)
        return kk_error_set(err, KK_ERR_NOMEM, "%s: out of memory", what);
    m->producer = "";
    ctx cx = {data, what, err, m};
    ctx *c = &cx;
    pb top = {data, 0, len}, *p = &top;
    int have_graph = 0;
    uint32_t f;
    int wt, r = 0;
    kk_status st = KK_OK;
    while (st == KK_OK && (r = pb_key(p, &f, &wt)) > 0) {
        uint64_t v = 0;
        pb s;
        if (f == 1 && wt == WT_VARINT) {
            st = pb_varint(p, &v) == 0 ? KK_OK : corrupt(c, p->pos, "model", "bad ir_version");
            m->ir_version = (int64_t)v;
        } else if (f == 2 && wt == WT_LEN) {
            const char *s2 = pb_string(c, p);
            st = s2 ? KK_OK : corrupt(c, p->pos, "model", "bad producer_name");
            if (s2)
                m->producer = s2;
        } else if (f == 8 && wt == WT_LEN) { /* opset_import */
            if (pb_sub(p, &s) < 0) {
                st = corrupt(c, p->pos, "opset_import", "length past the end");
                break;
            }
            int default_domain = 1;
            int64_t ver = 0;
            uint32_t f2;
            int w2, r2;
            while ((r2 = pb_key(&s, &f2, &w2)) > 0) {
                if (f2 == 1 && w2 == WT_LEN) {
                    pb d;
                    if (pb_sub(&s, &d) < 0)
                        break;
                    default_domain = d.end == d.pos ||
                                     (d.end - d.pos == 7 && !memcmp(data + d.pos, "ai.onnx", 7));
                } else if (f2 == 2 && w2 == WT_VARINT) {
                    if (pb_varint(&s, &v) < 0)
                        break;
                    ver = (int64_t)v;
                } else if (pb_skip(&s, w2) < 0) {
                    break;
                }
            }
            if (s.pos != s.end || r2 < 0)
                st = corrupt(c, s.pos, "opset_import", "bad field");
            else if (default_domain)
                m->opset = ver;
        } else if (f == 7 && wt == WT_LEN) {
            if (pb_sub(p, &s) < 0) {
                st = corrupt(c, p->pos, "graph", "length past the end");
                break;
            }
            have_graph = 1;
            st = parse_graph(c, &s);
        } else if (pb_skip(p, wt) < 0) {
            st = corrupt(c, p->pos, "model", "bad field");
        }
    }
    if (st == KK_OK && r < 0)
        st = corrupt(c, p->pos, "model", "bad field key");
    if (st == KK_OK && (!have_graph || m->ir_version <= 0))
        st = kk_error_set(err, KK_ERR_INPUT,
                          "%s: not an ONNX model (no %s found in %zu bytes); check that the "
                          "path points to a .onnx file",
                          what, have_graph ? "ir_version" : "graph", len);
    if (st != KK_OK) {
        kk_onnx_free(m);
        return st;
    }
    *out = m;
    return KK_OK;
}

void kk_onnx_free(kk_onnx *m)
{
    if (!m)
        return;
    free(m->nodes);
    free(m->inits);
    free(m->inputs);
    free(m->outputs);
    kk_onnx_arena *a = m->arena;
    while (a) {
        kk_onnx_arena *next = a->next;
        free(a);
        a = next;
    }
    free(m);
}

const kk_onnx_attr *kk_onnx_attr_find(const kk_onnx_node *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name))
            return &n->attrs[i];
    return NULL;
}

size_t kk_onnx_elem_size(int dt)
{
    switch (dt) {
    case KK_ONNX_FLOAT: case KK_ONNX_INT32: case KK_ONNX_UINT32: return 4;
    case KK_ONNX_UINT8: case KK_ONNX_INT8: case KK_ONNX_BOOL: return 1;
    case KK_ONNX_UINT16: case KK_ONNX_INT16: case KK_ONNX_FLOAT16: case KK_ONNX_BFLOAT16: return 2;
    case KK_ONNX_INT64: case KK_ONNX_UINT64: case KK_ONNX_DOUBLE: return 8;
    default: return 0;
    }
}

const char *kk_onnx_type_name(int dt)
{
    static const char *const names[] = {"undefined", "float",  "uint8",   "int8",  "uint16",
                                        "int16",     "int32",  "int64",   "string", "bool",
                                        "float16",   "double", "uint32",  "uint64", "complex64",
                                        "complex128", "bfloat16"};
    return dt >= 0 && dt < (int)(sizeof names / sizeof *names) ? names[dt] : "unknown";
}

/* Typed-field decoding: which TensorProto field carries which data type. */
static int typed_field(int dt)
{
    switch (dt) {
    case KK_ONNX_FLOAT: return 4;
    case KK_ONNX_INT32: case KK_ONNX_INT16: case KK_ONNX_INT8: case KK_ONNX_UINT16:
    case KK_ONNX_UINT8: case KK_ONNX_BOOL: case KK_ONNX_FLOAT16: case KK_ONNX_BFLOAT16: return 5;
    case KK_ONNX_INT64: return 7;
    case KK_ONNX_DOUBLE: return 10;
    case KK_ONNX_UINT32: case KK_ONNX_UINT64: return 11;
    default: return 0;
    }
}

static void put_elem(uint8_t *dst, size_t i, size_t es, uint64_t v)
{
    /* Little-endian store of the low es bytes (the host is checked to be
     * little-endian by the weights layer). */
    memcpy(dst + i * es, &v, es);
}

kk_status kk_onnx_tensor_read(const kk_onnx_tensor *t, void *dst, size_t dst_size,
                              const char *what, kk_error *err)
{
    size_t es = kk_onnx_elem_size(t->data_type);
    if (!es)
        return kk_error_set(err, KK_ERR_UNSUPPORTED,
                            "%s: tensor '%s' has data type %s, which the loader does not read",
                            what, t->name, kk_onnx_type_name(t->data_type));
    size_t need = (size_t)t->nelem * es;
    if (dst_size != need)
        return kk_error_set(err, KK_ERR_ARG, "%s: tensor '%s': buffer of %zu bytes, need %zu",
                            what, t->name, dst_size, need);
    if (t->raw) {
        if (t->raw_len != need)
            return kk_error_set(err, KK_ERR_INPUT,
                                "%s: tensor '%s' (byte %zu) has %zu bytes of raw data but its "
                                "shape needs %zu; the file is corrupt",
                                what, t->name, t->offset, t->raw_len, need);
        memcpy(dst, t->raw, need);
        return KK_OK;
    }
    int want = typed_field(t->data_type);
    size_t count = 0;
    pb p = {t->msg, 0, t->msg_len};
    uint32_t f;
    int wt, r;
    while ((r = pb_key(&p, &f, &wt)) > 0) {
        if ((int)f != want) {
            if (pb_skip(&p, wt) < 0)
                break;
            continue;
        }
        pb s;
        int packed = wt == WT_LEN;
        if (packed) {
            if (pb_sub(&p, &s) < 0)
                break;
        } else {
            s = p;
        }
        do {
            uint64_t v = 0;
            uint32_t u;
            if (want == 4) {
                if (pb_fixed32(&s, &u) < 0)
                    goto bad;
                v = u;
            } else if (want == 10) {
                if (pb_fixed64(&s, &v) < 0)
                    goto bad;
            } else if (pb_varint(&s, &v) < 0) {
                goto bad;
            }
            if (count >= (size_t)t->nelem)
                goto bad;
            put_elem(dst, count++, es, v);
        } while (packed && s.pos < s.end);
        if (!packed)
            p.pos = s.pos;
    }
    if (r == 0 && count == (size_t)t->nelem)
        return KK_OK;
bad:
    return kk_error_set(err, KK_ERR_INPUT,
                        "%s: tensor '%s' (byte %zu): its data does not match its shape (%lld "
                        "elements of %s expected); the file is corrupt",
                        what, t->name, t->offset, (long long)t->nelem,
                        kk_onnx_type_name(t->data_type));
}
