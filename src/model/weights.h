/*
 * weights.h - the Kokoro weight file ("KKW"): conversion from ONNX, memory-
 * mapped loading, lookup by name and by consumer, and 4-bit dequantisation.
 *
 * Owns the on-disk format of converted weights and the cache of converted
 * files. The engine never reads ONNX itself: kk_weights_open() accepts an
 * .onnx file (converted once into the cache, then reused) or a .kkw file, and
 * maps it read-only, so start-up costs a few page-table entries, not a parse.
 *
 * Naming. Many ONNX initializer names are anonymous ("onnx::MatMul_6547_Q4",
 * "/decoder/.../Mul_2_output_0"), so every tensor is findable two ways:
 *   - by its initializer name ("decoder.decoder.generator.conv_post.bias");
 *     a weight stored as X__f16 behind a Cast node "X__cast" is named X;
 *   - by where it is used: "<consumer node name>#<input index>", e.g.
 *     "/decoder/decoder/generator/conv_post/Conv#1" is that Conv's weight.
 *     Cast nodes that turn a stored float16 weight into float32 are folded
 *     away (the key names the node that consumes the Cast's output).
 *     A MatMulNBits node's B, scales and zero points become one KK_DT_Q4
 *     tensor, found by "<node name>" and by "<node name>#1".
 *   Nodes without a name are called "@<first output name>".
 *
 * Precision. float16 weights stay float16 (KK_DT_F16, the default since
 * cache generation 2): the forward pass widens a layer's weights just before
 * its product (exact, so the audio is the same bit for bit), and the process
 * holds ~150 MiB of weights instead of ~300 MiB. kk_convert_opts.widen_f16
 * stores them as float32 instead (the generation-1 layout; the engine reads
 * both). 4-bit MatMulNBits weights stay 4-bit; their scales become float32.
 *
 * Integrity. The header carries a format version, an endianness check and
 * two 64-bit hashes: one over the tables (checked on every open, cheap) and
 * one over the tensor data (checked by kk_weights_verify() and at
 * conversion; each tensor also carries its own hash so a failure names it).
 *
 * An open kk_weights is read-only: any number of threads may use it at once.
 */
#ifndef KK_WEIGHTS_H
#define KK_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "kk_error.h"

#define KK_WEIGHTS_VERSION 1 /* the byte layout (kkw_format.h): readers refuse others */
/* What kk_weights_open() converts an .onnx into, in the cache's file names
 * and key: raised when the converter's output changes without the layout
 * changing (2: float16 kept), so cached files of the old kind are made
 * again rather than reused. */
#define KK_CACHE_GENERATION 2
#define KK_MAX_DIMS 6

typedef enum kk_dtype {
    KK_DT_F32 = 1,
    KK_DT_F16 = 2,
    KK_DT_Q4 = 3, /* MatMulNBits 4-bit, see kk_q4 */
    KK_DT_I64 = 4,
    KK_DT_I32 = 5,
    KK_DT_U8 = 6, /* also ONNX bool */
    KK_DT_I8 = 7,
} kk_dtype;

/* A 4-bit matrix W[N][K] as com.microsoft MatMulNBits stores it (bits 4):
 * row n, block b holds K-elements b*block_size .. +block_size, packed two per
 * byte, low nibble first: packed[(n*n_blocks + b)*block_size/2 + j/2].
 * W[n][k] = (q - zp) * scales[n*n_blocks + b], zp read from zero_points
 * (two per byte, low nibble first, rows padded to whole bytes) or 8 when
 * zero_points is NULL. The node computes Y = A W^T. */
typedef struct kk_q4 {
    int K, N, block_size, n_blocks;
    const uint8_t *packed;      /* [N][n_blocks][block_size/2] */
    const float *scales;        /* [N * n_blocks] */
    const uint8_t *zero_points; /* [N][(n_blocks+1)/2] or NULL */
} kk_q4;

typedef struct kk_tensor {
    const char *name;
    kk_dtype dtype;
    int ndim;
    int64_t shape[KK_MAX_DIMS]; /* Q4: {N, K} */
    int64_t nelem;
    const void *data; /* 64-byte aligned; Q4: == q4.packed */
    size_t nbytes;    /* of data (Q4: of packed) */
    kk_q4 q4;         /* Q4 only */
} kk_tensor;

/* A node of the graph, in the compact form stored in the file (Constant
 * nodes and folded Casts are left out: their outputs are tensors). */
typedef struct kk_attr {
    const char *name;
    char type; /* 'i' int, 'f' float, 'I' ints, 'F' floats, 's' string, 't' tensor */
    int n;     /* element count for 'I' / 'F' */
    int64_t i;
    float f;
    const int64_t *ints;
    const float *floats;
    const char *s;
    const kk_tensor *t;
} kk_attr;

typedef struct kk_node {
    const char *name; /* never empty (see naming above) */
    const char *op_type;
    const char *domain;
    int n_inputs, n_outputs, n_attrs;
    const char **inputs; /* "" for an omitted optional input */
    const char **outputs;
    const kk_attr *attrs;
} kk_node;

typedef struct kk_weights kk_weights;

typedef struct kk_convert_opts {
    int widen_f16; /* store float16 weights as KK_DT_F32 instead of KK_DT_F16 */
} kk_convert_opts;

typedef struct kk_weights_stats {
    double convert_ms; /* 0 when the cache was used */
    double open_ms;    /* map + header/table check + index build (+ cache key) */
    int from_cache;    /* 1: an .onnx was given and a converted file was reused */
    uint64_t file_size;
    /* Identifies the weights: the hash of the tensor tables, which hold the
     * hash of every tensor's data (so any change to any weight changes it). */
    uint64_t content_hash;
    char path[4096]; /* the .kkw file in use */
} kk_weights_stats;

/* Opens a .kkw file, or an .onnx file through the cache (converting it when
 * no valid converted copy exists). The cache directory is $KOKORO_CACHE_DIR,
 * else $XDG_CACHE_HOME/kokoro, else ~/.cache/kokoro. */
kk_status kk_weights_open(const char *path, kk_weights **out, kk_error *err);
void kk_weights_close(kk_weights *w);
/* Takes the weight file's pages out of this process's resident memory
 * (madvise MADV_DONTNEED on its read-only mapping): the next read of a
 * weight maps its page again from the page cache (a minor fault; from the
 * disk only if the kernel has evicted it meanwhile), with the same bytes.
 * For a caller at the peak of its own working memory that needs few of
 * the weights from then on. Safe while other threads read weights: they
 * fault their pages back in. */
void kk_weights_release_pages(const kk_weights *w);

/* Converts an ONNX file into a .kkw file (written to a temporary name, then
 * renamed). opts may be NULL. */
kk_status kk_weights_convert(const char *onnx_path, const char *kkw_path,
                             const kk_convert_opts *opts, kk_error *err);

/* Where kk_weights_open(onnx_path) keeps its converted copy (dst of size n). */
kk_status kk_weights_cache_path(const char *onnx_path, char *dst, size_t n, kk_error *err);

/* Re-hashes all tensor data and compares with the stored hashes; names the
 * first damaged tensor. */
kk_status kk_weights_verify(const kk_weights *w, kk_error *err);

/* The tensor stored under key (a name or a "<node>#<input>" key), or NULL. */
const kk_tensor *kk_weights_find(const kk_weights *w, const char *key);
/* Like kk_weights_find but also checks dtype and rank (ndim < 0: any) and
 * reports a clear error when the tensor is missing or different. */
const kk_tensor *kk_weights_get(const kk_weights *w, const char *key, kk_dtype dtype, int ndim,
                                kk_error *err);

size_t kk_weights_count(const kk_weights *w);
const kk_tensor *kk_weights_tensor(const kk_weights *w, size_t i);
/* All lookup keys in sorted order, with the tensor each one names. */
size_t kk_weights_key_count(const kk_weights *w);
const char *kk_weights_key(const kk_weights *w, size_t i, const kk_tensor **t);

size_t kk_weights_node_count(const kk_weights *w);
const kk_node *kk_weights_node(const kk_weights *w, size_t i);
const kk_node *kk_weights_find_node(const kk_weights *w, const char *name);
const kk_attr *kk_node_attr(const kk_node *n, const char *name);

const kk_weights_stats *kk_weights_get_stats(const kk_weights *w);

const char *kk_dtype_name(kk_dtype dt);

/* IEEE half -> float, exact for every input (subnormals, inf, NaN). */
float kk_fp16_to_f32(uint16_t h);
uint16_t kk_f32_to_fp16(float f); /* round to nearest even */

/* Dequantises row n of a Q4 tensor: dst[0..K). */
void kk_q4_dequant_row(const kk_q4 *q, int n, float *dst);
/* One weight W[n][k]. */
float kk_q4_at(const kk_q4 *q, int n, int k);

/* The 64-bit hash used by the format (XXH64 algorithm, seed 0). */
uint64_t kk_hash64(const void *data, size_t len, uint64_t seed);

#endif
