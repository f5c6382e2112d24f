/*
 * arpabet.h - CMUdict's ARPAbet onto misaki's American symbols (Kokoro
 * v1.0), and the layout of the compiled dictionary file that kk-lexgen
 * (tools/lexgen) writes and lexdb.c reads.
 *
 * The conversion is our own rule set, tuned against misaki's conventions
 * (tools/lexgen/compare_gold.py measures it): stress marks before the
 * vowel, the diphthongs and affricates as single letters, the American flap
 * as T, ᵊ for the small schwa of syllabic l/n, ᵻ in the -ed/-es endings,
 * monosyllabic function words unstressed. Every symbol it can emit is in
 * kk_arpabet_symbols() (all of them in the model's vocabulary).
 *
 * The layout lives here because both sides need it and lexdb.h's API is
 * fixed; nothing outside the dictionary builder and reader should use it.
 */
#ifndef KK_ARPABET_H
#define KK_ARPABET_H

#include <stddef.h>
#include <stdint.h>

#include "kk_error.h"

/* Longest ARPAbet pronunciation (in phones) we convert; CMUdict's longest
 * is 28. Longer input is KK_ERR_INPUT, never cut. */
#define KK_ARPABET_MAX_PHONES 64

/* Bytes enough for the misaki form of any accepted pronunciation (at most
 * 9 bytes per phone: mark, vowel, schwa, r) plus the NUL. */
#define KK_ARPABET_OUT_MAX (KK_ARPABET_MAX_PHONES * 9 + 1)

/* Converts one CMUdict pronunciation (phones separated by spaces, vowels
 * with a stress digit: "R EH1 D") of word (lowercase ASCII as in CMUdict,
 * word_len bytes; used for the function words and the un- prefix; may be
 * NULL with word_len 0) into NUL-terminated misaki phonemes in out (cap
 * bytes; KK_ARPABET_OUT_MAX always suffices). KK_ERR_INPUT for an unknown
 * phone, a vowel without stress digit or too many phones; KK_ERR_ARG when
 * out is too small. On error out holds "". */
kk_status kk_arpabet_to_misaki(const char *word, size_t word_len, const char *arpa, char *out,
                               size_t cap, kk_error *err);

/* Every symbol kk_arpabet_to_misaki can emit, as one UTF-8 string (each code
 * point once). */
const char *kk_arpabet_symbols(void);

/*
 * The compiled dictionary (version 1), little-endian, all offsets in bytes:
 *
 *   header   KK_LEXDB_HEADER_SIZE bytes, the fields below
 *   slots    n_slots uint32 at slots_off: an open-addressing hash table
 *            (linear probing, kk_lexdb_hash of the lowercase word, n_slots
 *            a power of two at least twice n_words); 0 is an empty slot,
 *            any other value the offset of a record in the blob
 *   blob     blob_size bytes at blob_off, starting with one NUL (so that no
 *            record is at offset 0); records: key length (1 byte, 1..255),
 *            pronunciation count (1 byte, 1..255), the lowercase key, then
 *            that many NUL-terminated pronunciations in CMUdict's order
 *
 * checksum is kk_lexdb_checksum of everything after the header; blob_off +
 * blob_size == file_size.
 */
#define KK_LEXDB_MAGIC "KKLEXDB"  /* 8 bytes with its NUL */
#define KK_LEXDB_VERSION 1u
#define KK_LEXDB_HEADER_SIZE 64u
#define KK_LEXDB_BYTE_ORDER 0x01020304u

typedef struct kk_lexdb_header {
    char magic[8];           /* KK_LEXDB_MAGIC */
    uint32_t version;        /* KK_LEXDB_VERSION */
    uint32_t header_size;    /* KK_LEXDB_HEADER_SIZE */
    uint32_t byte_order;     /* KK_LEXDB_BYTE_ORDER as the writer stored it */
    uint32_t n_words;
    uint32_t n_prons;
    uint32_t n_slots;
    uint32_t slots_off;
    uint32_t blob_off;
    uint32_t blob_size;
    uint32_t reserved;       /* 0 */
    uint64_t file_size;
    uint64_t checksum;
} kk_lexdb_header;

_Static_assert(sizeof(kk_lexdb_header) == KK_LEXDB_HEADER_SIZE, "kk_lexdb_header layout");

/* FNV-1a (32 bits) of the n bytes at s, ASCII letters lowercased: the slot
 * hash. */
static inline uint32_t kk_lexdb_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + ('a' - 'A'));
        h = (h ^ c) * 16777619u;
    }
    return h;
}

/* A fast 64-bit checksum of n bytes (8 at a time, multiply-rotate rounds):
 * catches a damaged or partly written file; not cryptographic. */
uint64_t kk_lexdb_checksum(const void *data, size_t n);

#endif
