/*
 * weights.c - see weights.h. Owns the reading side of the .kkw format:
 * mapping, validating, indexing and verifying; plus the small numeric
 * helpers (hash, float16, 4-bit dequantisation). The writer is convert.c.
 *
 * Validation at open is complete for the tables (every offset, size, string
 * and key order is checked), so no later lookup can read outside the map;
 * the tensor bytes themselves are checked by hash in kk_weights_verify().
 */
#define _DEFAULT_SOURCE /* madvise */
#include "weights.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kk_time.h"
#include "nn.h" /* nn_f16_to_f32: the one half -> float conversion */
#include "kkw_format.h"
#include "weights_internal.h"

struct kk_weights {
    const uint8_t *map;
    size_t map_size;
    const kkw_header *hdr;
    kk_tensor *tensors;
    size_t n_tensors;
    const char **keys; /* sorted, parallel to key_tensor */
    uint32_t *key_tensor;
    size_t n_keys;
    kk_node *nodes;
    size_t n_nodes;
    void *node_mem; /* one block for all node arrays */
    kk_weights_stats stats;
};

/* ---- XXH64 (the published algorithm, written from its description) ---- */

#define P1 11400714785092573863ULL
#define P2 14029467366897019727ULL
#define P3 1609587929392839161ULL
#define P4 9650029242287828579ULL
#define P5 2870177450012600261ULL

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static inline uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline uint64_t xround(uint64_t acc, uint64_t in)
{
    acc += in * P2;
    acc = rotl64(acc, 31);
    return acc * P1;
}
static inline uint64_t xmerge(uint64_t acc, uint64_t v)
{
    acc ^= xround(0, v);
    return acc * P1 + P4;
}

uint64_t kk_hash64(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *p = data, *end = p + len;
    uint64_t h;
    if (len >= 32) {
        uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        const uint8_t *limit = end - 32;
        do {
            v1 = xround(v1, rd64(p));
            v2 = xround(v2, rd64(p + 8));
            v3 = xround(v3, rd64(p + 16));
            v4 = xround(v4, rd64(p + 24));
            p += 32;
        } while (p <= limit);
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        h = xmerge(h, v1);
        h = xmerge(h, v2);
        h = xmerge(h, v3);
        h = xmerge(h, v4);
    } else {
        h = seed + P5;
    }
    h += (uint64_t)len;
    while (p + 8 <= end) {
        h ^= xround(0, rd64(p));
        h = rotl64(h, 27) * P1 + P4;
        p += 8;
    }
    if (p + 4 <= end) {
        h ^= (uint64_t)rd32(p) * P1;
        h = rotl64(h, 23) * P2 + P3;
        p += 4;
    }
    while (p < end) {
        h ^= (uint64_t)(*p++) * P5;
        h = rotl64(h, 11) * P1;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

/* ---- float16 ---- */

float kk_fp16_to_f32(uint16_t h) { return nn_f16_to_f32(h); }

uint16_t kk_f32_to_fp16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t exp = (x >> 23) & 0xff, man = x & 0x7fffff;
    if (exp == 0xff)
        return sign | 0x7c00 | (man ? 0x200 : 0);
    int e = (int)exp - 127 + 15;
    if (e >= 31)
        return sign | 0x7c00;
    if (e <= 0) {
        if (e < -10)
            return sign;
        man |= 0x800000;
        int shift = 14 - e;
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1)))
            half++;
        return sign | (uint16_t)half;
    }
    uint32_t half = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1)))
        half++; /* may carry into the exponent, which is the right result */
    return sign | (uint16_t)half;
}

/* ---- 4-bit ---- */

float kk_q4_at(const kk_q4 *q, int n, int k)
{
    int b = k / q->block_size, j = k % q->block_size;
    size_t blk = (size_t)n * q->n_blocks + b;
    uint8_t byte = q->packed[blk * (q->block_size / 2) + j / 2];
    int v = (j & 1) ? byte >> 4 : byte & 15;
    int zp = 8;
    if (q->zero_points) {
        uint8_t z = q->zero_points[(size_t)n * ((q->n_blocks + 1) / 2) + b / 2];
        zp = (b & 1) ? z >> 4 : z & 15;
    }
    return (float)(v - zp) * q->scales[blk];
}

void kk_q4_dequant_row(const kk_q4 *q, int n, float *dst)
{
    int half = q->block_size / 2;
    for (int b = 0; b < q->n_blocks; b++) {
        size_t blk = (size_t)n * q->n_blocks + b;
        const uint8_t *src = q->packed + blk * half;
        float s = q->scales[blk];
        int zp = 8;
        if (q->zero_points) {
            uint8_t z = q->zero_points[(size_t)n * ((q->n_blocks + 1) / 2) + b / 2];
            zp = (b & 1) ? z >> 4 : z & 15;
        }
        int k0 = b * q->block_size;
        for (int j = 0; j < half; j++) {
            int k = k0 + 2 * j;
            /* The last block may run past K (K need not be a multiple of
             * the block size); those padding values are not part of W. */
            if (k < q->K)
                dst[k] = (float)((src[j] & 15) - zp) * s;
            if (k + 1 < q->K)
                dst[k + 1] = (float)((src[j] >> 4) - zp) * s;
        }
    }
}

const char *kk_dtype_name(kk_dtype dt)
{
    switch (dt) {
    case KK_DT_F32: return "f32";
    case KK_DT_F16: return "f16";
    case KK_DT_Q4: return "q4";
    case KK_DT_I64: return "i64";
    case KK_DT_I32: return "i32";
    case KK_DT_U8: return "u8";
    case KK_DT_I8: return "i8";
    }
    return "?";
}

size_t kk_dtype_size(kk_dtype dt)
{
    switch (dt) {
    case KK_DT_F32: case KK_DT_I32: return 4;
    case KK_DT_F16: return 2;
    case KK_DT_I64: return 8;
    case KK_DT_U8: case KK_DT_I8: return 1;
    case KK_DT_Q4: return 0;
    }
    return 0;
}

/* ---- opening ---- */

static kk_status bad(kk_error *err, const char *path, const char *why)
{
    return kk_error_set(err, KK_ERR_INPUT,
                        "%s: corrupt Kokoro weights file (%s); delete it so that it is "
                        "converted again from the .onnx model",
                        path, why);
}

static int range_ok(uint64_t off, uint64_t len, uint64_t lo, uint64_t hi)
{
    return off >= lo && off <= hi && len <= hi - off;
}

typedef struct strtab {
    const char *base;
    uint64_t size;
} strtab;

static const char *str_at(const strtab *s, uint32_t off)
{
    return off < s->size ? s->base + off : NULL;
}

/* Decodes the node list. Two passes: count, then fill one allocation. */
typedef struct words {
    const uint8_t *p;
    size_t n, i; /* in 32-bit words */
    int bad;
} words;

static uint32_t wnext(words *w)
{
    if (w->i >= w->n) {
        w->bad = 1;
        return 0;
    }
    return rd32(w->p + 4 * w->i++);
}

static kk_status decode_nodes(kk_weights *w, const strtab *st, const char *path, kk_error *err)
{
    const kkw_header *h = w->hdr;
    size_t n_nodes = h->n_nodes, n_str = 0, n_attr = 0, n_num = 0;
    for (int pass = 0; pass < 2; pass++) {
        words wd = {w->map + h->nodes_off, h->nodes_size / 4, 0, 0};
        const char **strs = NULL;
        kk_attr *attrs = NULL;
        int64_t *nums = NULL;
        if (pass == 1) {
            size_t bytes = n_nodes * sizeof(kk_node) + n_attr * sizeof(kk_attr) +
                           n_num * sizeof(int64_t) + n_str * sizeof(char *);
            w->node_mem = malloc(bytes ? bytes : 1);
            if (!w->node_mem)
                return kk_error_set(err, KK_ERR_NOMEM, "%s: out of memory for the node list",
                                    path);
            w->nodes = w->node_mem;
            attrs = (kk_attr *)(w->nodes + n_nodes);
            nums = (int64_t *)(attrs + n_attr);
            strs = (const char **)(nums + n_num);
            w->n_nodes = n_nodes;
        }
        for (size_t k = 0; k < n_nodes; k++) {
            const char *name = str_at(st, wnext(&wd)), *op = str_at(st, wnext(&wd)),
                       *dom = str_at(st, wnext(&wd));
            uint32_t ni = wnext(&wd), no = wnext(&wd), na = wnext(&wd);
            if (wd.bad || !name || !op || !dom || ni > wd.n || no > wd.n || na > wd.n)
                return bad(err, path, "node list");
            kk_node *nd = pass ? &w->nodes[k] : NULL;
            if (nd) {
                nd->name = name;
                nd->op_type = op;
                nd->domain = dom;
                nd->n_inputs = (int)ni;
                nd->n_outputs = (int)no;
                nd->n_attrs = (int)na;
                nd->inputs = strs;
                nd->outputs = strs + ni;
                nd->attrs = attrs;
            }
            for (uint32_t j = 0; j < ni + no; j++) {
                const char *s = str_at(st, wnext(&wd));
                if (!s)
                    return bad(err, path, "node input/output name");
                if (pass)
                    *strs++ = s;
            }
            n_str += ni + no;
            for (uint32_t j = 0; j < na; j++) {
                const char *an = str_at(st, wnext(&wd));
                uint32_t type = wnext(&wd), cnt = wnext(&wd);
                if (wd.bad || !an || cnt > wd.n)
                    return bad(err, path, "node attribute");
                kk_attr a = {.name = an, .type = (char)type, .n = (int)cnt};
                switch (type) {
                case 'i': {
                    uint64_t lo = wnext(&wd), hi = wnext(&wd);
                    a.i = (int64_t)(hi << 32 | lo);
                    break;
                }
                case 'f': {
                    uint32_t u = wnext(&wd);
                    memcpy(&a.f, &u, 4);
                    break;
                }
                case 'I':
                    for (uint32_t q = 0; q < cnt; q++) {
                        uint64_t lo = wnext(&wd), hi = wnext(&wd);
                        if (pass)
                            nums[q] = (int64_t)(hi << 32 | lo);
                    }
                    if (pass) {
                        a.ints = nums;
                        nums += cnt;
                    }
                    n_num += cnt;
                    break;
                case 'F':
                    /* Floats share the int64 pool (8 bytes each, half used)
                     * so that one allocation serves both. */
                    for (uint32_t q = 0; q < cnt; q++) {
                        uint32_t u = wnext(&wd);
                        if (pass)
                            memcpy((float *)nums + q, &u, 4);
                    }
                    if (pass) {
                        a.floats = (const float *)nums;
                        nums += (cnt + 1) / 2;
                    }
                    n_num += (cnt + 1) / 2;
                    break;
                case 's':
                    a.s = str_at(st, wnext(&wd));
                    if (!a.s)
                        return bad(err, path, "node attribute string");
                    break;
                case 't': {
                    uint32_t ti = wnext(&wd);
                    if (ti >= w->n_tensors)
                        return bad(err, path, "node attribute tensor index");
                    a.t = &w->tensors[ti];
                    break;
                }
                default: return bad(err, path, "node attribute type");
                }
                if (wd.bad)
                    return bad(err, path, "node list ends early");
                if (pass)
                    *attrs++ = a;
            }
            n_attr += na;
        }
        if (wd.i != wd.n)
            return bad(err, path, "node list size");
    }
    return KK_OK;
}

static kk_status check_tensor(kk_weights *w, const kkw_trec *r, kk_tensor *t, const strtab *st,
                              const char *path, size_t idx, kk_error *err)
{
    const kkw_header *h = w->hdr;
    char why[160];
    t->name = str_at(st, r->name);
    if (!t->name)
        return bad(err, path, "tensor name offset");
    t->dtype = (kk_dtype)r->dtype;
    t->ndim = r->ndim;
    if (t->ndim > KK_MAX_DIMS || !kk_dtype_name(t->dtype)[0] || kk_dtype_name(t->dtype)[0] == '?')
        goto fail;
    t->nelem = 1;
    for (int d = 0; d < t->ndim; d++) {
        if (r->shape[d] < 0 || (r->shape[d] && t->nelem > INT64_MAX / 16 / r->shape[d]))
            goto fail;
        t->shape[d] = r->shape[d];
        t->nelem *= r->shape[d];
    }
    uint64_t data_end = h->data_off + h->data_size;
    if (r->offset % KKW_ALIGN || !range_ok(r->offset, r->span, h->data_off, data_end) ||
        r->nbytes > r->span)
        goto fail;
    t->data = w->map + r->offset;
    t->nbytes = r->nbytes;
    if (t->dtype == KK_DT_Q4) {
        kk_q4 *q = &t->q4;
        q->K = (int)r->q4_K;
        q->N = (int)r->q4_N;
        q->block_size = (int)r->q4_block;
        q->n_blocks = (int)r->q4_nblocks;
        if (t->ndim != 2 || q->K <= 0 || q->N <= 0 || q->block_size < 2 || q->block_size % 2 ||
            q->n_blocks != (q->K + q->block_size - 1) / q->block_size ||
            t->shape[0] != q->N || t->shape[1] != q->K)
            goto fail;
        uint64_t blocks = (uint64_t)q->N * q->n_blocks;
        uint64_t span_end = r->offset + r->span;
        if (r->nbytes != blocks * (q->block_size / 2) || r->q4_scales_off % KKW_ALIGN ||
            !range_ok(r->q4_scales_off, blocks * 4, r->offset, span_end))
            goto fail;
        q->packed = t->data;
        q->scales = (const float *)(w->map + r->q4_scales_off);
        q->zero_points = NULL;
        if (r->q4_zp_off) {
            if (!range_ok(r->q4_zp_off, (uint64_t)q->N * ((q->n_blocks + 1) / 2), r->offset,
                          span_end))
                goto fail;
            q->zero_points = w->map + r->q4_zp_off;
        }
    } else if ((uint64_t)t->nelem * kk_dtype_size(t->dtype) != r->nbytes) {
        goto fail;
    }
    return KK_OK;
fail:
    snprintf(why, sizeof why, "tensor record %zu ('%.80s') is inconsistent", idx,
             t->name ? t->name : "?");
    return bad(err, path, why);
}

static kk_status open_mapped(kk_weights *w, const char *path, kk_error *err)
{
    const kkw_header *h = w->hdr;
    if (w->map_size < sizeof *h || memcmp(h->magic, KKW_MAGIC, 8))
        return kk_error_set(err, KK_ERR_INPUT,
                            "%s: not a Kokoro weights file (no '" KKW_MAGIC "' magic at byte 0); "
                            "pass a .kkw file made by this program or an .onnx model",
                            path);
    if (h->endian != KKW_ENDIAN)
        return kk_error_set(err, KK_ERR_UNSUPPORTED,
                            "%s: the weights file was written on a machine of the other byte "
                            "order; convert the .onnx model on this machine",
                            path);
    if (h->version != KK_WEIGHTS_VERSION)
        return kk_error_set(err, KK_ERR_UNSUPPORTED,
                            "%s: weights file format version %u, this build reads version %d; "
                            "delete the file and open the .onnx model to convert it again",
                            path, h->version, KK_WEIGHTS_VERSION);
    if (kk_hash64(h, offsetof(kkw_header, header_hash), 0) != h->header_hash)
        return bad(err, path, "header checksum mismatch");
    if (h->file_size != w->map_size) {
        return kk_error_set(err, KK_ERR_INPUT,
                            "%s: weights file is %zu bytes but its header says %llu: it is "
                            "truncated or was overwritten; delete it so that it is converted "
                            "again from the .onnx model",
                            path, w->map_size, (unsigned long long)h->file_size);
    }
    uint64_t fs = h->file_size;
    if (!range_ok(h->tensors_off, (uint64_t)h->n_tensors * sizeof(kkw_trec), 128, fs) ||
        !range_ok(h->keys_off, (uint64_t)h->n_keys * sizeof(kkw_krec), 128, fs) ||
        !range_ok(h->nodes_off, h->nodes_size, 128, fs) ||
        !range_ok(h->strings_off, h->strings_size, 128, fs) ||
        !range_ok(h->data_off, h->data_size, 128, fs) || h->data_off + h->data_size != fs ||
        h->tensors_off % 8 || h->keys_off % 4 || h->nodes_off % 4 || h->nodes_size % 4 ||
        h->data_off % KKW_ALIGN || h->strings_size == 0 || h->data_off < h->strings_off)
        return bad(err, path, "section table");
    if (kk_hash64(w->map + 128, h->data_off - 128, 0) != h->meta_hash)
        return bad(err, path, "checksum of the tensor tables does not match");
    strtab st = {(const char *)w->map + h->strings_off, h->strings_size};
    if (st.base[st.size - 1] != '\0')
        return bad(err, path, "string table not terminated");

    w->n_tensors = h->n_tensors;
    w->tensors = calloc(w->n_tensors ? w->n_tensors : 1, sizeof *w->tensors);
    w->n_keys = h->n_keys;
    w->keys = calloc(w->n_keys ? w->n_keys : 1, sizeof *w->keys);
    w->key_tensor = calloc(w->n_keys ? w->n_keys : 1, sizeof *w->key_tensor);
    if (!w->tensors || !w->keys || !w->key_tensor)
        return kk_error_set(err, KK_ERR_NOMEM, "%s: out of memory", path);
    const kkw_trec *recs = (const kkw_trec *)(w->map + h->tensors_off);
    uint64_t expect = h->data_off;
    for (size_t i = 0; i < w->n_tensors; i++) {
        kk_status s = check_tensor(w, &recs[i], &w->tensors[i], &st, path, i, err);
        if (s != KK_OK)
            return s;
        /* Spans tile the data section in order: then the per-tensor hashes
         * cover every data byte. */
        if (recs[i].offset != expect)
            return bad(err, path, "tensor spans do not tile the data section");
        expect += recs[i].span;
    }
    if (expect != h->data_off + h->data_size)
        return bad(err, path, "tensor spans do not cover the data section");
    const kkw_krec *keys = (const kkw_krec *)(w->map + h->keys_off);
    for (size_t i = 0; i < w->n_keys; i++) {
        w->keys[i] = str_at(&st, keys[i].key);
        w->key_tensor[i] = keys[i].tensor;
        if (!w->keys[i] || keys[i].tensor >= w->n_tensors)
            return bad(err, path, "key table");
        if (i && strcmp(w->keys[i - 1], w->keys[i]) >= 0)
            return bad(err, path, "key table not sorted");
    }
    return decode_nodes(w, &st, path, err);
}

kk_status kk_weights_open_kkw(const char *path, kk_weights **out, kk_error *err)
{
    *out = NULL;
    double t0 = kk_now_ms();
    if (!kk_host_little_endian())
        return kk_error_set(err, KK_ERR_UNSUPPORTED,
                            "%s: Kokoro weights are little-endian and this machine is not",
                            path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kk_error_set(err, KK_ERR_IO, "%s: cannot open weights file: %s", path,
                            strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return kk_error_set(err, KK_ERR_IO, "%s: not a regular file", path);
    }
    if ((size_t)sb.st_size < sizeof(kkw_header)) {
        close(fd);
        return kk_error_set(err, KK_ERR_INPUT,
                            "%s: only %lld bytes, too short for a Kokoro weights file (truncated?)"
                            "; delete it so that it is converted again from the .onnx model",
                            path, (long long)sb.st_size);
    }
    void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd); /* the mapping keeps the file alive */
    if (map == MAP_FAILED)
        return kk_error_set(err, KK_ERR_IO, "%s: mmap failed: %s", path, strerror(errno));
    kk_weights *w = calloc(1, sizeof *w);
    if (!w) {
        munmap(map, (size_t)sb.st_size);
        return kk_error_set(err, KK_ERR_NOMEM, "%s: out of memory", path);
    }
    w->map = map;
    w->map_size = (size_t)sb.st_size;
    w->hdr = map;
    kk_status s = open_mapped(w, path, err);
    if (s != KK_OK) {
        kk_weights_close(w);
        return s;
    }
    w->stats.file_size = w->map_size;
    w->stats.content_hash = ((const kkw_header *)w->map)->meta_hash;
    snprintf(w->stats.path, sizeof w->stats.path, "%s", path);
    w->stats.open_ms = kk_now_ms() - t0;
    *out = w;
    return KK_OK;
}

void kk_weights_set_stats(kk_weights *w, double convert_ms, int from_cache, double open_ms)
{
    w->stats.convert_ms = convert_ms;
    w->stats.from_cache = from_cache;
    if (open_ms >= 0)
        w->stats.open_ms = open_ms;
}

void kk_weights_release_pages(const kk_weights *w)
{
    /* a hint: when it fails (it should not, on a mapping of our own) the
     * pages simply stay */
    if (w && w->map)
        (void)madvise((void *)w->map, w->map_size, MADV_DONTNEED);
}

void kk_weights_close(kk_weights *w)
{
    if (!w)
        return;
    if (w->map)
        munmap((void *)w->map, w->map_size);
    free(w->tensors);
    free(w->keys);
    free(w->key_tensor);
    free(w->node_mem);
    free(w);
}

kk_status kk_weights_verify(const kk_weights *w, kk_error *err)
{
    const kkw_trec *recs = (const kkw_trec *)(w->map + w->hdr->tensors_off);
    for (size_t i = 0; i < w->n_tensors; i++) {
        if (kk_hash64(w->map + recs[i].offset, recs[i].span, 0) != recs[i].hash)
            return kk_error_set(err, KK_ERR_INPUT,
                                "%s: checksum mismatch in tensor '%s' (bytes %llu..%llu): the "
                                "weights file is corrupt; delete it so that it is converted "
                                "again from the .onnx model",
                                w->stats.path, w->tensors[i].name,
                                (unsigned long long)recs[i].offset,
                                (unsigned long long)(recs[i].offset + recs[i].span));
    }
    return KK_OK;
}

const kk_tensor *kk_weights_find(const kk_weights *w, const char *key)
{
    size_t lo = 0, hi = w->n_keys;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(w->keys[mid], key);
        if (c == 0)
            return &w->tensors[w->key_tensor[mid]];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const kk_tensor *kk_weights_get(const kk_weights *w, const char *key, kk_dtype dtype, int ndim,
                                kk_error *err)
{
    const kk_tensor *t = kk_weights_find(w, key);
    if (!t) {
        kk_error_set(err, KK_ERR_INPUT,
                     "%s: no tensor '%s' in the model; the model is not a Kokoro-82M v1.0 export "
                     "this engine knows (list its keys with kk-model-dump)",
                     w->stats.path, key);
        return NULL;
    }
    if (t->dtype != dtype || (ndim >= 0 && t->ndim != ndim)) {
        kk_error_set(err, KK_ERR_INPUT,
                     "%s: tensor '%s' is %s with %d dimensions, the engine expects %s with %d",
                     w->stats.path, key, kk_dtype_name(t->dtype), t->ndim, kk_dtype_name(dtype),
                     ndim);
        return NULL;
    }
    return t;
}

size_t kk_weights_count(const kk_weights *w) { return w->n_tensors; }
const kk_tensor *kk_weights_tensor(const kk_weights *w, size_t i)
{
    return i < w->n_tensors ? &w->tensors[i] : NULL;
}
size_t kk_weights_key_count(const kk_weights *w) { return w->n_keys; }
const char *kk_weights_key(const kk_weights *w, size_t i, const kk_tensor **t)
{
    if (i >= w->n_keys)
        return NULL;
    if (t)
        *t = &w->tensors[w->key_tensor[i]];
    return w->keys[i];
}
size_t kk_weights_node_count(const kk_weights *w) { return w->n_nodes; }
const kk_node *kk_weights_node(const kk_weights *w, size_t i)
{
    return i < w->n_nodes ? &w->nodes[i] : NULL;
}
const kk_node *kk_weights_find_node(const kk_weights *w, const char *name)
{
    /* Linear: the engine looks nodes up once while building its plan. */
    for (size_t i = 0; i < w->n_nodes; i++)
        if (!strcmp(w->nodes[i].name, name))
            return &w->nodes[i];
    return NULL;
}
const kk_attr *kk_node_attr(const kk_node *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name))
            return &n->attrs[i];
    return NULL;
}
const kk_weights_stats *kk_weights_get_stats(const kk_weights *w) { return &w->stats; }

int kk_host_little_endian(void)
{
    uint32_t x = 1;
    uint8_t b;
    memcpy(&b, &x, 1);
    return b == 1;
}
