/*
 * convert.c - the writing side of the .kkw format: ONNX -> KKW conversion
 * and the cache of converted files used by kk_weights_open().
 *
 * Conversion plan (see weights.h for the naming rules):
 *   1. every initializer, Constant node output and folded Cast output is a
 *      "value" (a tensor known at conversion time);
 *   2. MatMulNBits nodes with constant B become Q4 tensors that absorb
 *      their B / scales / zero-point inputs;
 *   3. a value is stored when some remaining node (or a graph output) reads
 *      it directly; an initializer nobody reads is stored too, so that every
 *      initializer of the source is findable by name;
 *   4. keys: stored names plus "<node>#<input>" for every constant input.
 * The output is sized up front, mapped read-write and filled in place, then
 * hashed, so the whole file is never held in malloc'd memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "kk_fs.h"
#include "kk_time.h"
#include "kkw_format.h"
#include "onnx.h"
#include "weights.h"
#include "weights_internal.h"

/* ---- a string -> int map (open addressing); keys are not owned ---- */

typedef struct smap {
    const char **keys;
    int *vals;
    size_t cap, n;
} smap;

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    while (*s)
        h = (h ^ (uint8_t)*s++) * 1099511628211ULL;
    return h;
}

static int smap_get(const smap *m, const char *k)
{
    if (!m->cap)
        return -1;
    for (size_t i = str_hash(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i])
            return -1;
        if (!strcmp(m->keys[i], k))
            return m->vals[i];
    }
}

/* Inserts k -> v unless present; returns 0, 1 if it was present, -1 on OOM. */
static int smap_put(smap *m, const char *k, int v)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 1024;
        smap nm = {calloc(nc, sizeof(char *)), calloc(nc, sizeof(int)), nc, 0};
        if (!nm.keys || !nm.vals) {
            free(nm.keys);
            free(nm.vals);
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i])
                smap_put(&nm, m->keys[i], m->vals[i]);
        free(m->keys);
        free(m->vals);
        *m = nm;
    }
    size_t i = str_hash(k) & (m->cap - 1);
    for (; m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (!strcmp(m->keys[i], k))
            return 1;
    m->keys[i] = k;
    m->vals[i] = v;
    m->n++;
    return 0;
}

static void smap_free(smap *m)
{
    free(m->keys);
    free(m->vals);
}

/* ---- conversion state ---- */

enum { V_INIT, V_CONST, V_CAST, V_ATTR };

typedef struct value {
    const char *name;
    const kk_onnx_tensor *t;
    int kind;
    int direct_uses, absorbed_uses;
    int stored; /* index into stored tensors or -1 */
} value;

typedef struct stored {
    const char *name;
    kk_dtype dtype;
    const kk_onnx_tensor *src; /* non-Q4 */
    /* Q4 */
    const kk_onnx_tensor *b, *scales, *zp;
    int K, N, block, nblocks;
    int ndim;
    int64_t shape[KK_MAX_DIMS];
    uint64_t offset, nbytes, span, scales_off, zp_off;
} stored;

typedef struct keyent {
    const char *key; /* owned (malloc) */
    int tensor;
} keyent;

typedef struct conv {
    const char *what;
    kk_error *err;
    kk_onnx *m;
    int keep_f16; /* !kk_convert_opts.widen_f16 */
    value *vals;
    int n_vals, cap_vals;
    smap vmap; /* value name -> index */
    stored *st;
    int n_st, cap_st;
    keyent *keys;
    int n_keys, cap_keys;
    int *node_drop;   /* per ONNX node: 1 when folded away */
    int *node_q4;     /* per ONNX node: stored Q4 index or -1 */
    char **node_name; /* per ONNX node: final unique name (owned) */
    kk_buf strings;
    smap strmap; /* string -> offset in strings; keys point into strdup'd copies */
    char **str_copies;
    int n_copies, cap_copies;
    uint32_t *words;
    size_t n_words, cap_words;
} conv;

static kk_status oom(conv *c)
{
    return kk_error_set(c->err, KK_ERR_NOMEM, "%s: out of memory during conversion", c->what);
}

static int add_value(conv *c, const char *name, const kk_onnx_tensor *t, int kind)
{
    if (kk_onnx_grow((void **)&c->vals, &c->n_vals, &c->cap_vals, sizeof *c->vals) < 0)
        return -1;
    value *v = &c->vals[c->n_vals - 1];
    v->name = name;
    v->t = t;
    v->kind = kind;
    v->stored = -1;
    int r = smap_put(&c->vmap, name, c->n_vals - 1);
    if (r < 0)
        return -1;
    if (r == 1) { /* already defined: keep the first, as ONNX's SSA rule says there is one */
        c->n_vals--;
        return -2;
    }
    return c->n_vals - 1;
}

static kk_dtype out_dtype(const conv *c, int dt)
{
    switch (dt) {
    case KK_ONNX_FLOAT: case KK_ONNX_DOUBLE: case KK_ONNX_BFLOAT16: return KK_DT_F32;
    case KK_ONNX_FLOAT16: return c->keep_f16 ? KK_DT_F16 : KK_DT_F32;
    case KK_ONNX_INT64: case KK_ONNX_UINT64: case KK_ONNX_UINT32: return KK_DT_I64;
    case KK_ONNX_INT32: case KK_ONNX_INT16: case KK_ONNX_UINT16: return KK_DT_I32;
    case KK_ONNX_UINT8: case KK_ONNX_BOOL: return KK_DT_U8;
    case KK_ONNX_INT8: return KK_DT_I8;
    default: return (kk_dtype)0;
    }
}

/* Whether t's payload can hold its shape: checked before the output file is
 * sized, so damaged dims cannot make us create a huge (sparse) file. Typed
 * fields take at least one byte per element. */
static kk_status payload_ok(conv *c, const kk_onnx_tensor *t)
{
    size_t es = kk_onnx_elem_size(t->data_type);
    int ok = t->raw ? es && t->raw_len == (size_t)t->nelem * es : (size_t)t->nelem <= t->msg_len;
    if (ok)
        return KK_OK;
    return kk_error_set(c->err, KK_ERR_INPUT,
                        "%s: tensor '%s' (byte %zu): %lld elements of %s do not fit its %zu "
                        "bytes of data; the file is corrupt",
                        c->what, t->name, t->offset, (long long)t->nelem,
                        kk_onnx_type_name(t->data_type), t->raw ? t->raw_len : t->msg_len);
}

static int add_stored(conv *c, const char *name, const kk_onnx_tensor *src)
{
    if (kk_onnx_grow((void **)&c->st, &c->n_st, &c->cap_st, sizeof *c->st) < 0)
        return -1;
    stored *s = &c->st[c->n_st - 1];
    s->name = name;
    s->src = src;
    s->dtype = out_dtype(c, src->data_type);
    s->ndim = src->ndim;
    if (s->ndim > KK_MAX_DIMS)
        return -2;
    for (int d = 0; d < s->ndim; d++)
        s->shape[d] = src->dims[d];
    return c->n_st - 1;
}

static int add_key(conv *c, const char *key, int tensor)
{
    char *k = strdup(key);
    if (!k || kk_onnx_grow((void **)&c->keys, &c->n_keys, &c->cap_keys, sizeof *c->keys) < 0) {
        free(k);
        return -1;
    }
    c->keys[c->n_keys - 1].key = k;
    c->keys[c->n_keys - 1].tensor = tensor;
    return 0;
}

static int value_of(conv *c, const char *name)
{
    return name[0] ? smap_get(&c->vmap, name) : -1;
}

static int is_float_type(int dt)
{
    return dt == KK_ONNX_FLOAT || dt == KK_ONNX_FLOAT16 || dt == KK_ONNX_BFLOAT16 ||
           dt == KK_ONNX_DOUBLE;
}

/* Sets up a Q4 tensor for a MatMulNBits node; returns its stored index,
 * -1 when the node is not foldable (B not constant), or an error. */
static kk_status plan_q4(conv *c, int ni, int *out)
{
    const kk_onnx_node *n = &c->m->nodes[ni];
    *out = -1;
    if (n->n_inputs < 3 || value_of(c, n->inputs[1]) < 0)
        return KK_OK;
    const kk_onnx_attr *aK = kk_onnx_attr_find(n, "K"), *aN = kk_onnx_attr_find(n, "N"),
                       *aB = kk_onnx_attr_find(n, "block_size"),
                       *abits = kk_onnx_attr_find(n, "bits");
    int bits = abits ? (int)abits->i : 4;
    if (!aK || !aN || !aB || aK->i <= 0 || aN->i <= 0 || aK->i > (1 << 24) ||
        aN->i > (1 << 24) || aB->i < 2 || aB->i % 2 || aB->i > 4096)
        return kk_error_set(c->err, KK_ERR_INPUT,
                            "%s: MatMulNBits node '%s' lacks valid K, N and block_size "
                            "attributes; the model is malformed",
                            c->what, n->name);
    if (bits != 4)
        return kk_error_set(c->err, KK_ERR_UNSUPPORTED,
                            "%s: MatMulNBits node '%s' uses %d-bit weights; only 4-bit is "
                            "supported (use model_q4.onnx or model.onnx)",
                            c->what, n->name, bits);
    if (n->n_inputs > 4 && n->inputs[4][0])
        return kk_error_set(c->err, KK_ERR_UNSUPPORTED,
                            "%s: MatMulNBits node '%s' has a g_idx input (act-order), which is "
                            "not supported",
                            c->what, n->name);
    int vb = value_of(c, n->inputs[1]), vs = value_of(c, n->inputs[2]);
    int vz = n->n_inputs > 3 ? value_of(c, n->inputs[3]) : -1;
    if (vs < 0 || (n->n_inputs > 3 && n->inputs[3][0] && vz < 0))
        return KK_OK; /* scales or zero points computed at run time: leave the node */
    int K = (int)aK->i, N = (int)aN->i, bs = (int)aB->i, nb = (K + bs - 1) / bs;
    const kk_onnx_tensor *tb = c->vals[vb].t, *ts = c->vals[vs].t,
                         *tz = vz >= 0 ? c->vals[vz].t : NULL;
    const char *why = NULL;
    if (tb->data_type != KK_ONNX_UINT8 || tb->nelem != (int64_t)N * nb * (bs / 2))
        why = "B is not uint8 [N, K/block_size, block_size/2]";
    else if (!is_float_type(ts->data_type) || ts->nelem != (int64_t)N * nb)
        why = "scales are not float [N * K/block_size]";
    else if (tz && tz->data_type != KK_ONNX_UINT8)
        why = "zero points are not packed uint8 (float zero points are not supported)";
    else if (tz && tz->nelem != (int64_t)N * ((nb + 1) / 2))
        why = "zero points are not uint8 [N * ceil(K/block_size/2)]";
    if (why)
        return kk_error_set(c->err, tz && tz->data_type != KK_ONNX_UINT8 ? KK_ERR_UNSUPPORTED
                                                                         : KK_ERR_INPUT,
                            "%s: MatMulNBits node '%s' (K=%d N=%d block_size=%d): %s", c->what,
                            n->name, K, N, bs, why);
    /* ALBERT shares one set of weights across its 12 layers: many nodes
     * read the same B, so the Q4 tensor is made once per B. */
    if (c->vals[vb].stored >= 0) {
        stored *s = &c->st[c->vals[vb].stored];
        if (s->dtype != KK_DT_Q4 || s->scales != ts || s->zp != tz || s->K != K || s->N != N ||
            s->block != bs)
            return kk_error_set(c->err, KK_ERR_UNSUPPORTED,
                                "%s: MatMulNBits node '%s' reuses weight '%s' with different "
                                "scales or shape; not supported",
                                c->what, n->name, tb->name);
        *out = c->vals[vb].stored;
        return KK_OK;
    }
    if (kk_onnx_grow((void **)&c->st, &c->n_st, &c->cap_st, sizeof *c->st) < 0)
        return oom(c);
    stored *s = &c->st[c->n_st - 1];
    s->name = c->vals[vb].name;
    s->dtype = KK_DT_Q4;
    s->b = tb;
    s->scales = ts;
    s->zp = tz;
    s->K = K;
    s->N = N;
    s->block = bs;
    s->nblocks = nb;
    s->ndim = 2;
    s->shape[0] = N;
    s->shape[1] = K;
    c->vals[vb].stored = c->n_st - 1;
    *out = c->n_st - 1;
    return KK_OK;
}

/* ---- the plan: what the .kkw file will hold ----
 * plan() runs these steps in order; each one reads what the ones before it
 * decided (c->vals, c->node_drop, c->node_q4, c->node_name, c->st). */

/* Constants and Casts of constants become values (their nodes are dropped);
 * nodes are in topological order, so a Cast always comes after what it
 * reads. */
static kk_status plan_fold_constants(conv *c)
{
    kk_onnx *m = c->m;
    int nn = m->n_nodes;
    for (int i = 0; i < nn; i++) {
        const kk_onnx_node *n = &m->nodes[i];
        if (n->domain[0] && strcmp(n->domain, "ai.onnx"))
            continue;
        if (!strcmp(n->op_type, "Constant") && n->n_outputs == 1) {
            const kk_onnx_attr *a = kk_onnx_attr_find(n, "value");
            if (a && a->type == KK_ONNX_ATTR_TENSOR) {
                if (add_value(c, n->outputs[0], a->t, V_CONST) == -1)
                    return oom(c);
                c->node_drop[i] = 1;
            }
        } else if (!strcmp(n->op_type, "Cast") && n->n_inputs == 1 && n->n_outputs == 1) {
            const kk_onnx_attr *to = kk_onnx_attr_find(n, "to");
            int v = value_of(c, n->inputs[0]);
            if (v >= 0 && to && to->i == KK_ONNX_FLOAT && is_float_type(c->vals[v].t->data_type)) {
                c->vals[v].absorbed_uses++;
                if (add_value(c, n->outputs[0], c->vals[v].t, V_CAST) == -1)
                    return oom(c);
                c->node_drop[i] = 1;
            }
        }
    }
    return KK_OK;
}

/* Node names: unique and never empty, since keys are built from them (an
 * unnamed node is named after its first output, or its position; a repeated
 * name gets its position appended). */
static kk_status plan_node_names(conv *c)
{
    kk_onnx *m = c->m;
    int nn = m->n_nodes;
    smap names = {0};
    for (int i = 0; i < nn; i++) {
        if (c->node_drop[i])
            continue;
        const kk_onnx_node *n = &m->nodes[i];
        char tmp[64];
        const char *base = n->name;
        if (!base[0]) {
            if (n->n_outputs && n->outputs[0][0]) {
                size_t len = strlen(n->outputs[0]) + 2;
                char *s = malloc(len);
                if (s)
                    snprintf(s, len, "@%s", n->outputs[0]);
                c->node_name[i] = s;
            } else {
                snprintf(tmp, sizeof tmp, "@node%d", i);
                c->node_name[i] = strdup(tmp);
            }
        } else {
            c->node_name[i] = strdup(base);
        }
        if (!c->node_name[i]) {
            smap_free(&names);
            return oom(c);
        }
        int r = smap_put(&names, c->node_name[i], i);
        if (r == 1) {
            size_t len = strlen(c->node_name[i]) + 16;
            char *s = malloc(len);
            if (s)
                snprintf(s, len, "%s@%d", c->node_name[i], i);
            free(c->node_name[i]);
            c->node_name[i] = s;
            r = s ? smap_put(&names, s, i) : -1;
        }
        if (r < 0 || r == 1) {
            smap_free(&names);
            return r < 0 ? oom(c)
                         : kk_error_set(c->err, KK_ERR_INPUT, "%s: node name '%s' is ambiguous",
                                        c->what, c->node_name[i]);
        }
    }
    smap_free(&names);
    return KK_OK;
}

/* Q4 tensors (MatMulNBits), then the uses of every value by the remaining
 * nodes and by the graph's outputs: direct, or absorbed into a Q4 tensor. */
static kk_status plan_uses(conv *c)
{
    kk_onnx *m = c->m;
    int nn = m->n_nodes;
    for (int i = 0; i < nn; i++) {
        const kk_onnx_node *n = &m->nodes[i];
        if (c->node_drop[i])
            continue;
        if (!strcmp(n->op_type, "MatMulNBits") && !strcmp(n->domain, "com.microsoft")) {
            kk_status s = plan_q4(c, i, &c->node_q4[i]);
            if (s != KK_OK)
                return s;
        }
        for (int j = 0; j < n->n_inputs; j++) {
            int v = value_of(c, n->inputs[j]);
            if (v < 0)
                continue;
            if (c->node_q4[i] >= 0 && j >= 1 && j <= 3)
                c->vals[v].absorbed_uses++;
            else
                c->vals[v].direct_uses++;
        }
    }
    for (int i = 0; i < m->n_outputs; i++) {
        int v = value_of(c, m->outputs[i].name);
        if (v >= 0)
            c->vals[v].direct_uses++;
    }
    return KK_OK;
}

/* Stored tensors: every value used directly, and the initialisers that
 * nothing absorbed; refused when the engine cannot use its type or shape. */
static kk_status plan_stored_values(conv *c)
{
    for (int v = 0; v < c->n_vals; v++) {
        value *x = &c->vals[v];
        if (x->stored >= 0)
            continue; /* a Q4 B */
        int keep = x->direct_uses > 0 || (x->kind == V_INIT && x->absorbed_uses == 0);
        if (!keep)
            continue;
        if (!out_dtype(c, x->t->data_type))
            return kk_error_set(c->err, KK_ERR_UNSUPPORTED,
                                "%s: tensor '%s' has data type %s, which the engine cannot use",
                                c->what, x->name, kk_onnx_type_name(x->t->data_type));
        int s = add_stored(c, x->name, x->t);
        if (s == -2)
            return kk_error_set(c->err, KK_ERR_UNSUPPORTED,
                                "%s: tensor '%s' has %d dimensions, more than %d", c->what,
                                x->name, x->t->ndim, KK_MAX_DIMS);
        if (s < 0)
            return oom(c);
        x->stored = s;
    }
    return KK_OK;
}

/* Tensor attributes of remaining nodes (e.g. ConstantOfShape's value),
 * stored as "<node>.<attribute>". */
static kk_status plan_attributes(conv *c)
{
    kk_onnx *m = c->m;
    int nn = m->n_nodes;
    for (int i = 0; i < nn; i++) {
        const kk_onnx_node *n = &m->nodes[i];
        if (c->node_drop[i])
            continue;
        for (int a = 0; a < n->n_attrs; a++) {
            if (n->attrs[a].type != KK_ONNX_ATTR_TENSOR)
                continue;
            if (!out_dtype(c, n->attrs[a].t->data_type))
                return kk_error_set(c->err, KK_ERR_UNSUPPORTED,
                                    "%s: attribute '%s' of node '%s' has data type %s", c->what,
                                    n->attrs[a].name, n->name,
                                    kk_onnx_type_name(n->attrs[a].t->data_type));
            size_t len = strlen(c->node_name[i]) + strlen(n->attrs[a].name) + 2;
            char *key = malloc(len);
            if (!key)
                return oom(c);
            snprintf(key, len, "%s.%s", c->node_name[i], n->attrs[a].name);
            /* The name must live as long as the conversion: keep it in
             * the string-copy list that is freed at the end. */
            if (kk_onnx_grow((void **)&c->str_copies, &c->n_copies, &c->cap_copies,
                         sizeof *c->str_copies) < 0) {
                free(key);
                return oom(c);
            }
            c->str_copies[c->n_copies - 1] = key;
            int s = add_stored(c, key, n->attrs[a].t);
            if (s < 0)
                return s == -2 ? kk_error_set(c->err, KK_ERR_UNSUPPORTED, "%s: %s: too many dims",
                                              c->what, key)
                               : oom(c);
        }
    }
    return KK_OK;
}

/* Every stored tensor's payload is there and of its size. */
static kk_status plan_check_payloads(conv *c)
{
    for (int s = 0; s < c->n_st; s++) {
        const stored *x = &c->st[s];
        kk_status st = KK_OK;
        if (x->dtype != KK_DT_Q4)
            st = payload_ok(c, x->src);
        else if ((st = payload_ok(c, x->b)) == KK_OK && (st = payload_ok(c, x->scales)) == KK_OK &&
                 x->zp)
            st = payload_ok(c, x->zp);
        if (st != KK_OK)
            return st;
    }
    return KK_OK;
}

/* Keys: every stored tensor by its name, a Q4 node's weight by the node's
 * name, and each input of a remaining node as "<node>#<input>". */
static kk_status plan_keys(conv *c)
{
    kk_onnx *m = c->m;
    int nn = m->n_nodes;
    for (int s = 0; s < c->n_st; s++)
        if (add_key(c, c->st[s].name, s) < 0)
            return oom(c);
    for (int i = 0; i < nn; i++) {
        const kk_onnx_node *n = &m->nodes[i];
        if (c->node_drop[i])
            continue;
        char key[4096];
        if (c->node_q4[i] >= 0) {
            if (add_key(c, c->node_name[i], c->node_q4[i]) < 0)
                return oom(c);
        }
        for (int j = 0; j < n->n_inputs; j++) {
            int v = value_of(c, n->inputs[j]);
            int s = -1;
            if (c->node_q4[i] >= 0 && j >= 1 && j <= 3)
                s = j == 1 ? c->node_q4[i] : -1;
            else if (v >= 0)
                s = c->vals[v].stored;
            if (s < 0)
                continue;
            snprintf(key, sizeof key, "%s#%d", c->node_name[i], j);
            if (add_key(c, key, s) < 0)
                return oom(c);
        }
    }
    return KK_OK;
}

static kk_status plan(conv *c)
{
    int nn = c->m->n_nodes;
    c->node_drop = calloc((size_t)nn + 1, sizeof *c->node_drop);
    c->node_q4 = malloc(((size_t)nn + 1) * sizeof *c->node_q4);
    c->node_name = calloc((size_t)nn + 1, sizeof *c->node_name);
    if (!c->node_drop || !c->node_q4 || !c->node_name)
        return oom(c);
    for (int i = 0; i < nn; i++)
        c->node_q4[i] = -1;
    for (int i = 0; i < c->m->n_inits; i++)
        if (add_value(c, c->m->inits[i].name, &c->m->inits[i], V_INIT) == -1)
            return oom(c);
    kk_status st = plan_fold_constants(c);
    if (st == KK_OK)
        st = plan_node_names(c);
    if (st == KK_OK)
        st = plan_uses(c);
    if (st == KK_OK)
        st = plan_stored_values(c);
    if (st == KK_OK)
        st = plan_attributes(c);
    if (st == KK_OK)
        st = plan_check_payloads(c);
    if (st == KK_OK)
        st = plan_keys(c);
    return st;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(((const keyent *)a)->key, ((const keyent *)b)->key);
}

/* Interns s into the string pool; returns its offset (or UINT32_MAX). */
static uint32_t intern(conv *c, const char *s)
{
    int off = smap_get(&c->strmap, s);
    if (off >= 0)
        return (uint32_t)off;
    if (c->strings.len > 0x7ffffff0u)
        return UINT32_MAX;
    off = (int)c->strings.len;
    char *copy = strdup(s);
    if (!copy || kk_buf_append(&c->strings, s, strlen(s) + 1) < 0 ||
        kk_onnx_grow((void **)&c->str_copies, &c->n_copies, &c->cap_copies, sizeof(char *)) < 0) {
        free(copy);
        return UINT32_MAX;
    }
    c->str_copies[c->n_copies - 1] = copy;
    if (smap_put(&c->strmap, copy, off) < 0)
        return UINT32_MAX;
    return (uint32_t)off;
}

static int put_word(conv *c, uint32_t w)
{
    if (c->n_words == c->cap_words) {
        size_t nc = c->cap_words ? c->cap_words * 2 : 4096;
        uint32_t *nw = realloc(c->words, nc * sizeof *nw);
        if (!nw)
            return -1;
        c->words = nw;
        c->cap_words = nc;
    }
    c->words[c->n_words++] = w;
    return 0;
}

static int put_str(conv *c, const char *s)
{
    uint32_t off = intern(c, s);
    return off == UINT32_MAX ? -1 : put_word(c, off);
}

/* Node list encoding, uint32 words per node:
 *   name op_type domain n_in n_out n_attr in[n_in] out[n_out]
 *   per attribute: name type count payload
 *     'i': lo hi | 'f': bits | 'I': count x (lo hi) | 'F': count x bits
 *     's': string | 't': tensor index  */
static kk_status encode_nodes(conv *c, uint32_t *n_nodes)
{
    kk_onnx *m = c->m;
    /* Attribute tensors were added after the value tensors, in node order
     * (and are keyed by their stored name "<node>.<attr>"). */
    int first_attr_tensor = c->n_st;
    for (int i = m->n_nodes - 1; i >= 0; i--)
        if (!c->node_drop[i])
            for (int a = 0; a < m->nodes[i].n_attrs; a++)
                if (m->nodes[i].attrs[a].type == KK_ONNX_ATTR_TENSOR)
                    first_attr_tensor--;
    int tensor_for_attr = first_attr_tensor;
    *n_nodes = 0;
    if (intern(c, "") == UINT32_MAX)
        return oom(c);
    for (int i = 0; i < m->n_nodes; i++) {
        const kk_onnx_node *n = &m->nodes[i];
        if (c->node_drop[i])
            continue;
        int na = 0;
        for (int a = 0; a < n->n_attrs; a++) {
            int t = n->attrs[a].type;
            na += t == KK_ONNX_ATTR_INT || t == KK_ONNX_ATTR_FLOAT || t == KK_ONNX_ATTR_INTS ||
                  t == KK_ONNX_ATTR_FLOATS || t == KK_ONNX_ATTR_STRING || t == KK_ONNX_ATTR_TENSOR;
        }
        if (put_str(c, c->node_name[i]) || put_str(c, n->op_type) || put_str(c, n->domain) ||
            put_word(c, (uint32_t)n->n_inputs) || put_word(c, (uint32_t)n->n_outputs) ||
            put_word(c, (uint32_t)na))
            return oom(c);
        for (int j = 0; j < n->n_inputs; j++)
            if (put_str(c, n->inputs[j]))
                return oom(c);
        for (int j = 0; j < n->n_outputs; j++)
            if (put_str(c, n->outputs[j]))
                return oom(c);
        for (int a = 0; a < n->n_attrs; a++) {
            const kk_onnx_attr *at = &n->attrs[a];
            int ok = 0;
            switch (at->type) {
            case KK_ONNX_ATTR_INT:
                ok = !put_str(c, at->name) && !put_word(c, 'i') && !put_word(c, 1) &&
                     !put_word(c, (uint32_t)(uint64_t)at->i) &&
                     !put_word(c, (uint32_t)((uint64_t)at->i >> 32));
                break;
            case KK_ONNX_ATTR_FLOAT: {
                uint32_t u;
                memcpy(&u, &at->f, 4);
                ok = !put_str(c, at->name) && !put_word(c, 'f') && !put_word(c, 1) &&
                     !put_word(c, u);
                break;
            }
            case KK_ONNX_ATTR_INTS:
                ok = !put_str(c, at->name) && !put_word(c, 'I') && !put_word(c, (uint32_t)at->n);
                for (size_t q = 0; ok && q < at->n; q++)
                    ok = !put_word(c, (uint32_t)(uint64_t)at->ints[q]) &&
                         !put_word(c, (uint32_t)((uint64_t)at->ints[q] >> 32));
                break;
            case KK_ONNX_ATTR_FLOATS:
                ok = !put_str(c, at->name) && !put_word(c, 'F') && !put_word(c, (uint32_t)at->n);
                for (size_t q = 0; ok && q < at->n; q++) {
                    uint32_t u;
                    memcpy(&u, &at->floats[q], 4);
                    ok = !put_word(c, u);
                }
                break;
            case KK_ONNX_ATTR_STRING:
                ok = !put_str(c, at->name) && !put_word(c, 's') && !put_word(c, 1) &&
                     !put_str(c, at->s ? at->s : "");
                break;
            case KK_ONNX_ATTR_TENSOR:
                ok = !put_str(c, at->name) && !put_word(c, 't') && !put_word(c, 1) &&
                     !put_word(c, (uint32_t)tensor_for_attr++);
                break;
            default: continue; /* graphs, string lists: not needed by the engine */
            }
            if (!ok)
                return oom(c);
        }
        (*n_nodes)++;
    }
    return KK_OK;
}

static uint64_t align_up(uint64_t x) { return (x + KKW_ALIGN - 1) & ~(uint64_t)(KKW_ALIGN - 1); }

/* Decodes a float-typed source tensor into float32 dst. */
static kk_status read_f32(conv *c, const kk_onnx_tensor *t, float *dst)
{
    size_t n = (size_t)t->nelem;
    if (t->data_type == KK_ONNX_FLOAT)
        return kk_onnx_tensor_read(t, dst, n * 4, c->what, c->err);
    size_t es = kk_onnx_elem_size(t->data_type);
    void *tmp = malloc(n * es + 1);
    if (!tmp)
        return oom(c);
    kk_status s = kk_onnx_tensor_read(t, tmp, n * es, c->what, c->err);
    if (s == KK_OK) {
        for (size_t i = 0; i < n; i++) {
            if (t->data_type == KK_ONNX_FLOAT16) {
                dst[i] = kk_fp16_to_f32(((const uint16_t *)tmp)[i]);
            } else if (t->data_type == KK_ONNX_BFLOAT16) {
                uint32_t bits = (uint32_t)((const uint16_t *)tmp)[i] << 16;
                memcpy(&dst[i], &bits, 4);
            } else {
                dst[i] = (float)((const double *)tmp)[i];
            }
        }
    }
    free(tmp);
    return s;
}

static kk_status write_tensor(conv *c, const stored *s, uint8_t *base)
{
    uint8_t *dst = base + s->offset;
    if (s->dtype == KK_DT_Q4) {
        kk_status st = kk_onnx_tensor_read(s->b, dst, s->nbytes, c->what, c->err);
        if (st == KK_OK)
            st = read_f32(c, s->scales, (float *)(base + s->scales_off));
        if (st == KK_OK && s->zp)
            st = kk_onnx_tensor_read(s->zp, base + s->zp_off, (size_t)s->zp->nelem, c->what,
                                     c->err);
        return st;
    }
    const kk_onnx_tensor *t = s->src;
    if (s->dtype == KK_DT_F32)
        return read_f32(c, t, (float *)dst);
    size_t es = kk_onnx_elem_size(t->data_type), n = (size_t)t->nelem;
    if (es == kk_dtype_size(s->dtype)) /* same width: f16 kept, i64, i32, u8, i8 */
        return kk_onnx_tensor_read(t, dst, n * es, c->what, c->err);
    void *tmp = malloc(n * es + 1);
    if (!tmp)
        return oom(c);
    kk_status st = kk_onnx_tensor_read(t, tmp, n * es, c->what, c->err);
    for (size_t i = 0; st == KK_OK && i < n; i++) {
        switch (t->data_type) {
        case KK_ONNX_UINT32: ((int64_t *)dst)[i] = ((const uint32_t *)tmp)[i]; break;
        case KK_ONNX_INT16: ((int32_t *)dst)[i] = ((const int16_t *)tmp)[i]; break;
        case KK_ONNX_UINT16: ((int32_t *)dst)[i] = ((const uint16_t *)tmp)[i]; break;
        default: break;
        }
    }
    free(tmp);
    return st;
}

static void conv_free(conv *c)
{
    free(c->vals);
    smap_free(&c->vmap);
    free(c->st);
    for (int i = 0; i < c->n_keys; i++)
        free((char *)c->keys[i].key);
    free(c->keys);
    if (c->node_name && c->m)
        for (int i = 0; i < c->m->n_nodes; i++)
            free(c->node_name[i]);
    free(c->node_name);
    free(c->node_drop);
    free(c->node_q4);
    kk_buf_free(&c->strings);
    smap_free(&c->strmap);
    for (int i = 0; i < c->n_copies; i++)
        free(c->str_copies[i]);
    free(c->str_copies);
    free(c->words);
}

/* Lays out and writes the file at tmp (already created, fd open). */
static kk_status write_file(conv *c, int fd, const char *tmp, uint64_t source_size)
{
    uint32_t n_nodes;
    kk_status st = encode_nodes(c, &n_nodes);
    if (st != KK_OK)
        return st;
    for (int i = 0; i < c->n_keys; i++)
        if (intern(c, c->keys[i].key) == UINT32_MAX)
            return oom(c);
    for (int i = 0; i < c->n_st; i++)
        if (intern(c, c->st[i].name) == UINT32_MAX)
            return oom(c);
    qsort(c->keys, (size_t)c->n_keys, sizeof *c->keys, key_cmp);
    int nk = 0;
    for (int i = 0; i < c->n_keys; i++) {
        if (nk && !strcmp(c->keys[nk - 1].key, c->keys[i].key)) {
            if (c->keys[nk - 1].tensor != c->keys[i].tensor)
                return kk_error_set(c->err, KK_ERR_INPUT,
                                    "%s: key '%s' would name two different tensors ('%s' and "
                                    "'%s'); the graph's names are ambiguous",
                                    c->what, c->keys[i].key, c->st[c->keys[nk - 1].tensor].name,
                                    c->st[c->keys[i].tensor].name);
            free((char *)c->keys[i].key);
            continue;
        }
        c->keys[nk++] = c->keys[i];
    }
    c->n_keys = nk;

    kkw_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, KKW_MAGIC, 8);
    h.version = KK_WEIGHTS_VERSION;
    h.endian = KKW_ENDIAN;
    h.n_tensors = (uint32_t)c->n_st;
    h.n_keys = (uint32_t)c->n_keys;
    h.n_nodes = n_nodes;
    h.flags = c->keep_f16 ? 1 : 0;
    h.source_size = source_size;
    uint64_t off = sizeof h;
    h.tensors_off = off;
    off += (uint64_t)c->n_st * sizeof(kkw_trec);
    h.keys_off = off;
    off += (uint64_t)c->n_keys * sizeof(kkw_krec);
    h.nodes_off = off;
    h.nodes_size = c->n_words * 4;
    off += h.nodes_size;
    h.strings_off = off;
    h.strings_size = c->strings.len;
    off += h.strings_size;
    h.data_off = align_up(off);
    off = h.data_off;
    for (int i = 0; i < c->n_st; i++) {
        stored *s = &c->st[i];
        s->offset = off;
        if (s->dtype == KK_DT_Q4) {
            uint64_t blocks = (uint64_t)s->N * s->nblocks;
            s->nbytes = blocks * (s->block / 2);
            s->scales_off = align_up(off + s->nbytes);
            uint64_t end = s->scales_off + blocks * 4;
            if (s->zp) {
                s->zp_off = align_up(end);
                end = s->zp_off + (uint64_t)s->zp->nelem;
            }
            s->span = align_up(end) - off;
        } else {
            s->nbytes = (uint64_t)s->src->nelem * kk_dtype_size(s->dtype);
            s->span = align_up(s->nbytes);
        }
        off += s->span;
    }
    h.data_size = off - h.data_off;
    h.file_size = off;

    if (ftruncate(fd, (off_t)h.file_size) < 0)
        return kk_error_set(c->err, KK_ERR_IO, "%s: cannot size %s to %llu bytes: %s", c->what,
                            tmp, (unsigned long long)h.file_size, strerror(errno));
    uint8_t *map = mmap(NULL, h.file_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return kk_error_set(c->err, KK_ERR_IO, "%s: cannot map %s for writing: %s", c->what, tmp,
                            strerror(errno));
    kkw_trec *recs = (kkw_trec *)(map + h.tensors_off);
    for (int i = 0; i < c->n_st && st == KK_OK; i++) {
        const stored *s = &c->st[i];
        kkw_trec *r = &recs[i];
        r->name = intern(c, s->name);
        r->dtype = (uint8_t)s->dtype;
        r->ndim = (uint8_t)s->ndim;
        for (int d = 0; d < s->ndim; d++)
            r->shape[d] = s->shape[d];
        r->offset = s->offset;
        r->nbytes = s->nbytes;
        r->span = s->span;
        if (s->dtype == KK_DT_Q4) {
            r->q4_K = (uint32_t)s->K;
            r->q4_N = (uint32_t)s->N;
            r->q4_block = (uint32_t)s->block;
            r->q4_nblocks = (uint32_t)s->nblocks;
            r->q4_scales_off = s->scales_off;
            r->q4_zp_off = s->zp ? s->zp_off : 0;
        }
        st = write_tensor(c, s, map);
        if (st == KK_OK)
            r->hash = kk_hash64(map + s->offset, s->span, 0);
    }
    if (st == KK_OK) {
        kkw_krec *keys = (kkw_krec *)(map + h.keys_off);
        for (int i = 0; i < c->n_keys; i++) {
            keys[i].key = intern(c, c->keys[i].key);
            keys[i].tensor = (uint32_t)c->keys[i].tensor;
        }
        memcpy(map + h.nodes_off, c->words, h.nodes_size);
        memcpy(map + h.strings_off, c->strings.data, h.strings_size);
        h.meta_hash = kk_hash64(map + 128, h.data_off - 128, 0);
        h.header_hash = kk_hash64(&h, offsetof(kkw_header, header_hash), 0);
        memcpy(map, &h, sizeof h);
    }
    if (munmap(map, h.file_size) < 0 && st == KK_OK)
        st = kk_error_set(c->err, KK_ERR_IO, "%s: writing %s failed: %s", c->what, tmp,
                          strerror(errno));
    return st;
}

kk_status kk_weights_convert(const char *onnx_path, const char *kkw_path,
                             const kk_convert_opts *opts, kk_error *err)
{
    if (!kk_host_little_endian())
        return kk_error_set(err, KK_ERR_UNSUPPORTED,
                            "weights conversion needs a little-endian machine");
    int fd = open(onnx_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot open the model: %s", onnx_path,
                            strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) {
        close(fd);
        return kk_error_set(err, KK_ERR_INPUT, "%s: not a regular, non-empty file", onnx_path);
    }
    void *src = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (src == MAP_FAILED)
        return kk_error_set(err, KK_ERR_IO, "%s: mmap failed: %s", onnx_path, strerror(errno));
    conv c = {0};
    c.what = onnx_path;
    c.err = err;
    c.keep_f16 = !(opts && opts->widen_f16);
    kk_status st = kk_onnx_parse(src, (size_t)sb.st_size, onnx_path, &c.m, err);
    if (st == KK_OK)
        st = plan(&c);
    if (st == KK_OK) {
        size_t len = strlen(kkw_path) + 32;
        char *tmp = malloc(len);
        if (!tmp) {
            st = oom(&c);
        } else {
            snprintf(tmp, len, "%s.tmp.%ld", kkw_path, (long)getpid());
            int out = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (out < 0) {
                st = kk_error_set(err, KK_ERR_IO,
                                  "%s: cannot create %s: %s; set KOKORO_CACHE_DIR to a "
                                  "writable directory",
                                  onnx_path, tmp, strerror(errno));
            } else {
                st = write_file(&c, out, tmp, (uint64_t)sb.st_size);
                if (st == KK_OK && fdatasync(out) < 0)
                    st = kk_error_set(err, KK_ERR_IO, "%s: cannot flush %s: %s", onnx_path, tmp,
                                      strerror(errno));
                close(out);
                if (st == KK_OK && rename(tmp, kkw_path) < 0)
                    st = kk_error_set(err, KK_ERR_IO, "%s: cannot rename %s to %s: %s",
                                      onnx_path, tmp, kkw_path, strerror(errno));
                if (st != KK_OK)
                    unlink(tmp);
            }
            free(tmp);
        }
    }
    conv_free(&c);
    kk_onnx_free(c.m);
    munmap(src, (size_t)sb.st_size);
    return st;
}

/* ---- the cache ---- */

static kk_status cache_dir(char *dst, size_t n, kk_error *err)
{
    const char *d = getenv("KOKORO_CACHE_DIR");
    int len;
    if (d && d[0]) {
        len = snprintf(dst, n, "%s", d);
    } else if ((d = getenv("XDG_CACHE_HOME")) && d[0]) {
        len = snprintf(dst, n, "%s/kokoro", d);
    } else if ((d = getenv("HOME")) && d[0]) {
        len = snprintf(dst, n, "%s/.cache/kokoro", d);
    } else {
        return kk_error_set(err, KK_ERR_ARG,
                            "no cache directory for converted weights: set KOKORO_CACHE_DIR "
                            "(or HOME)");
    }
    if (len < 0 || (size_t)len >= n)
        return kk_error_set(err, KK_ERR_ARG, "cache directory path too long");
    return KK_OK;
}

/* mkdir -p for the weight cache (kk_mkdirs), with the message naming the
 * directory that could not be made. */
static kk_status mkdirs(const char *path, kk_error *err)
{
    char failed[4096];
    if (kk_mkdirs(path, 0755, failed, sizeof failed) == 0)
        return KK_OK;
    if (errno == ENAMETOOLONG)
        return kk_error_set(err, KK_ERR_ARG, "path too long: %s", path);
    return kk_error_set(err, KK_ERR_IO,
                        "cannot create cache directory %s: %s; set KOKORO_CACHE_DIR "
                        "to a writable directory",
                        failed[0] ? failed : path, strerror(errno));
}

kk_status kk_weights_cache_path(const char *onnx_path, char *dst, size_t n, kk_error *err)
{
    char dir[4096];
    kk_status st = cache_dir(dir, sizeof dir, err);
    if (st != KK_OK)
        return st;
    int fd = open(onnx_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot open the model: %s", onnx_path,
                            strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        close(fd);
        return kk_error_set(err, KK_ERR_IO, "%s: cannot stat: %s", onnx_path, strerror(errno));
    }
    /* Identity of the source: size, mtime and the first and last MiB (a
     * full hash would cost a read of the whole file on every start). The
     * ends are hashed through a mapping: cheaper than copying them out. */
    enum { MIB = 1 << 20 };
    uint64_t meta[4] = {(uint64_t)sb.st_size, (uint64_t)sb.st_mtim.tv_sec,
                        (uint64_t)sb.st_mtim.tv_nsec, (uint64_t)KK_WEIGHTS_VERSION << 32 | KK_CACHE_GENERATION};
    uint64_t hsh = kk_hash64(meta, sizeof meta, 0);
    if (sb.st_size > 0) {
        size_t size = (size_t)sb.st_size, head = size < MIB ? size : MIB;
        const uint8_t *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            close(fd);
            return kk_error_set(err, KK_ERR_IO, "%s: mmap failed: %s", onnx_path,
                                strerror(errno));
        }
        hsh = kk_hash64(map, head, hsh);
        hsh = kk_hash64(map + size - head, head, hsh);
        munmap((void *)map, size);
    }
    close(fd);
    const char *base = strrchr(onnx_path, '/');
    base = base ? base + 1 : onnx_path;
    size_t bl = strlen(base);
    if (bl > 5 && !strcmp(base + bl - 5, ".onnx"))
        bl -= 5;
    if (bl > 200)
        bl = 200;
    int len = snprintf(dst, n, "%s/%.*s-v%d-%016llx.kkw", dir, (int)bl, base, KK_CACHE_GENERATION,
                       (unsigned long long)hsh);
    if (len < 0 || (size_t)len >= n)
        return kk_error_set(err, KK_ERR_ARG, "cache path too long");
    return KK_OK;
}

kk_status kk_weights_open(const char *path, kk_weights **out, kk_error *err)
{
    *out = NULL;
    double t0 = kk_now_ms();
    char magic[8] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    ssize_t got = read(fd, magic, sizeof magic);
    close(fd);
    if (got == (ssize_t)sizeof magic && !memcmp(magic, KKW_MAGIC, 8))
        return kk_weights_open_kkw(path, out, err);
    size_t pl = strlen(path);
    if (pl < 5 || strcmp(path + pl - 5, ".onnx"))
        return kk_error_set(err, KK_ERR_INPUT,
                            "%s: neither a Kokoro weights file (.kkw) nor an .onnx model; pass "
                            "model.onnx, model_fp16.onnx, model_q4.onnx or a converted .kkw",
                            path);
    char cpath[4096];
    kk_status st = kk_weights_cache_path(path, cpath, sizeof cpath, err);
    if (st != KK_OK)
        return st;
    kk_error ignored;
    if (access(cpath, R_OK) == 0 && kk_weights_open_kkw(cpath, out, &ignored) == KK_OK) {
        /* Count the cache-key computation (stat + 2 MiB read) as opening. */
        kk_weights_set_stats(*out, 0.0, 1, kk_now_ms() - t0);
        return KK_OK;
    }
    /* Missing or unusable (older version, damaged): convert again. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", cpath);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if ((st = mkdirs(dir, err)) != KK_OK)
            return st;
    }
    double t1 = kk_now_ms();
    st = kk_weights_convert(path, cpath, NULL, err);
    if (st != KK_OK)
        return st;
    double ms = kk_now_ms() - t1;
    st = kk_weights_open_kkw(cpath, out, err);
    if (st == KK_OK && (st = kk_weights_verify(*out, err)) != KK_OK) {
        kk_weights_close(*out);
        *out = NULL;
    }
    if (st == KK_OK)
        kk_weights_set_stats(*out, ms, 0, -1.0);
    return st;
}
