/*
 * kkw_format.h - the byte layout of a .kkw weight file (internal; shared by
 * the writer, the reader and the tests that damage files on purpose).
 *
 *   [0, 128)            kkw_header
 *   tensors_off         kkw_trec[n_tensors]
 *   keys_off            kkw_krec[n_keys], sorted by strcmp of the key
 *   nodes_off           node list, little-endian uint32 words (see weights.c)
 *   strings_off         NUL-terminated strings; the section ends with a NUL
 *   data_off            tensor data, each part at a 64-byte aligned offset
 *
 * Integers are little-endian (the loader refuses big-endian hosts). The
 * meta hash covers [128, data_off); each tensor record holds the hash of its
 * span of the data section, and the spans tile that section exactly, so
 * together the hashes cover every byte after the header.
 */
#ifndef KK_KKW_FORMAT_H
#define KK_KKW_FORMAT_H

#include <stdint.h>

#define KKW_MAGIC "KKWEIGHT"
#define KKW_ENDIAN 0x01020304u
#define KKW_ALIGN 64

typedef struct kkw_header {
    char magic[8];
    uint32_t version;
    uint32_t endian;
    uint64_t file_size;
    uint32_t n_tensors, n_keys, n_nodes, flags; /* flags bit 0: float16 kept */
    uint64_t tensors_off, keys_off;
    uint64_t nodes_off, nodes_size;
    uint64_t strings_off, strings_size;
    uint64_t data_off, data_size;
    uint64_t meta_hash;   /* kk_hash64 of [128, data_off) */
    uint64_t source_size; /* of the ONNX file it came from, for information */
    uint64_t header_hash; /* kk_hash64 of the 120 bytes before this field */
} kkw_header;

typedef struct kkw_trec {
    uint32_t name; /* offset into strings */
    uint8_t dtype, ndim;
    uint16_t flags;
    int64_t shape[6];
    uint64_t offset, nbytes; /* absolute, 64-aligned */
    uint64_t span;           /* bytes of the data section this tensor owns (hashed) */
    uint64_t hash;
    uint32_t q4_K, q4_N, q4_block, q4_nblocks;
    uint64_t q4_scales_off, q4_zp_off; /* absolute; zp 0 when absent */
    uint8_t reserved[8];
} kkw_trec;

typedef struct kkw_krec {
    uint32_t key;    /* offset into strings */
    uint32_t tensor; /* index into the tensor table */
} kkw_krec;

_Static_assert(sizeof(kkw_header) == 128, "header layout");
_Static_assert(sizeof(kkw_trec) == 128, "tensor record layout");
_Static_assert(sizeof(kkw_krec) == 8, "key record layout");

#endif
