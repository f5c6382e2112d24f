/*
 * nn_internal.h - what the files of src/nn share and nothing else sees: the
 * vector-clone attribute and the fused AdaIN + Snake row that both
 * convolution kernels (nn.c's im2col tiles, nn_fftconv.c's chunks) apply to
 * the window of input they read.
 */
#ifndef KK_NN_INTERNAL_H
#define KK_NN_INTERNAL_H

/* Hot element-wise loops get an x86-64-v3 (AVX2 + FMA) clone picked at load
 * time (GNU ifunc). The build uses -ffp-contract=off, so no a*b+c is fused
 * behind our back; the only fused operations are explicit fmaf() calls,
 * which are exactly rounded whether the library or the instruction does
 * them. The clone thus performs the same IEEE operations in the same order
 * as the baseline build, and the results are bit-identical whichever clone
 * runs. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && !defined(KK_NO_CLONES)
#define NN_VEC __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define NN_VEC
#endif

/* yc[t] = Snake(AdaIN(xc[t])) for t < T with one channel's constants (mean
 * m, 1/std inv, 1 + gamma scale, beta shift, alpha a, 1/alpha ra): the
 * operations of nn_adain then nn_snake, in their order. */
void nn_adain_snake_row(const float *xc, float *yc, int T, float m, float inv, float scale, float shift, float a,
                        float ra);

#endif
