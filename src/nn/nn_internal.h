/*
 * nn_internal.h - what the files of src/nn share and nothing else sees: the
 * vector-clone attribute and the activated input window that the
 * convolution kernels (nn.c's im2col tiles, nn_fftconv.c's and nn_wino.c's
 * chunks) read instead of their input when AdaIN-Snake is fused in.
 */
#ifndef KK_NN_INTERNAL_H
#define KK_NN_INTERNAL_H

#include "nn.h"

#include <stddef.h>
#include <stdint.h>

/* Hot element-wise loops get x86-64-v4 (AVX-512, vectorised at 512 bits:
 * src/nn/CMakeLists.txt) and x86-64-v3 (AVX2 + FMA) clones, one picked at
 * load time (GNU ifunc). The build uses -ffp-contract=off, so no a*b+c is
 * fused behind our back; the only fused operations are explicit fmaf()
 * calls, which are exactly rounded whether the library or the instruction
 * does them. A clone thus performs the same IEEE operations in the same
 * order as the baseline build, and the results are bit-identical whichever
 * clone runs (checked against a -DKK_NO_CLONES build: the same dumps at 20,
 * 60, 200 and 500 ids, exact and fast). The v4 clone: 8-10 % fewer CPU
 * samples in a 60-id pass on Zen 5 than the v3 one (AdaIN-Snake rows half
 * the time). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && !defined(KK_NO_CLONES)
#define NN_VEC __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NN_VEC
#endif

/* The input window [lo, hi] a piece of a convolution reads, clipped to
 * the signal's [0, t_in): its first sample in *first, its length returned
 * (0 when none of it lies inside). */
int nn_window(long lo, long hi, int t_in, long *first);

/* Channel ci of x[C][t_in], the n samples from first, through AdaIN-Snake
 * with pre (nn_adain_snake_prep's constants for C channels) into
 * xw + ci * n: the activated window a convolution kernel reads instead of
 * x (nn_conv1d_ex's pre). */
void nn_window_activate(const float *x, int t_in, const float *pre, int C, int ci, long first, int n, float *xw);

/* nn_conv1d_fft (w) or nn_conv1d_fft_f16 (wh; w NULL), or with bf16
 * nn_conv1d_fft_bf16, with the weights'
 * transform made as `how` says: 1 each bin's just before its product, 0
 * all bins first, -1 as nn_conv1d_fft chooses (by the number of chunks),
 * and chunks of at most max_blocks blocks (0: as nn_conv1d_fft chooses,
 * by the memory they take). For the tests: the weights' transform does not
 * change the bits; where the chunks are cut may change the last ones. */
int nn_conv1d_fft_as(const nn_conv *c, const float *x, int t_in, const float *pre, const float *w,
                     const uint16_t *wh, const float *b, float *y, int accumulate, nn_scratch *s, int how,
                     int max_blocks, int bf16);

/* The fast mode's FFT products on AVX512_BF16 (nn_fast.c; call only where
 * nn_cpu_features() has NN_CPU_AVX512_BF16): C[m][n] = sum_k X[m][k]
 * G[n][k] (complex; m < M, n < N, N a multiple of 32) with row stride ldc
 * (complex floats), from xb[M][K], X's elements as bfloat16 pairs (real
 * part in the low half), and gre, gim, G's as pairs (gr, -gi) and (gi, gr)
 * in blocks of 32 columns: gre[(n / 32) * 32 * K + k * 32 + n % 32].
 * Sums in float32, k in order. */
void nn_cprod_bf16(int M, int N, int K, const uint32_t *xb, const uint32_t *gre, const uint32_t *gim,
                   float _Complex *C, size_t ldc);

/* Row r of a weight matrix with rows of len values, as floats: in place
 * when the weights are floats (w), else its halves (wh) widened into buf. */
static inline const float *nn_weight_row(const float *w, const uint16_t *wh, size_t r, size_t len, float *buf)
{
    if (w)
        return w + r * len;
    nn_widen_f16(wh + r * len, len, buf);
    return buf;
}

#endif
