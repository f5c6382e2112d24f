/*
 * nn.h - the numeric kernels of the Kokoro engine: convolutions, transposed
 * convolutions, LSTMs, normalisations and activations, over plain float
 * arrays. Each kernel computes what the ONNX operator of the same name
 * computes (the reference we compare against), so the forward pass in
 * src/model reads as a list of these calls.
 *
 * Layouts follow the graph: convolutions and instance norms work on
 * channel-major signals x[C][T] (one utterance, no batch); LSTMs, linear
 * layers and layer norms on time-major sequences x[T][C].
 *
 * Matrix products go through OpenBLAS (cblas_sgemm). Every kernel's result
 * depends only on its inputs and shapes, never on the thread count: work is
 * split along output rows/columns, never along a sum.
 *
 * Kernels that need working memory take an nn_scratch, a growable buffer the
 * caller keeps between calls so that the hot path does not allocate.
 *
 * Layer: src/nn may call OpenBLAS and nothing of ours but src/common; only
 * src/model calls it.
 */
#ifndef KK_NN_H
#define KK_NN_H

#include <stddef.h>
#include <stdint.h>

typedef struct nn_scratch {
    float *p;
    size_t cap; /* floats */
} nn_scratch;

/* ---- threads ----
 *
 * Kernels run their loops on up to nn_set_threads() threads (OpenMP). The
 * work is cut into pieces whose bounds depend only on the shapes (time
 * tiles, channel blocks, row blocks), each piece computed by one thread with
 * the same calls whatever the thread count, so results are bit-identical
 * for any number of threads.
 *
 * nn_set_threads(n) sets the thread count for parallel loops started by the
 * calling thread (OpenMP's per-thread nthreads setting) and makes OpenBLAS
 * single-threaded: every sgemm runs inside our own parallel loops. The
 * latter is process-global (openblas_set_num_threads): a program that uses
 * OpenBLAS elsewhere finds it single-threaded after this call. */
void nn_set_threads(int n);

/* The OpenBLAS core type this CPU should run ("SkylakeX", "Haswell") when
 * the OpenBLAS loaded fell back to a much older one because it does not
 * know the CPU's model (Debian 12's 0.3.21 takes Intel Emerald Rapids for
 * a Prescott and runs SSE3 kernels: the engine is 2.2x slower), NULL when
 * its choice is fine or the BLAS is not OpenBLAS. OpenBLAS picks its
 * kernels once, when it loads, from OPENBLAS_CORETYPE or the CPU model, so
 * the hint only helps a process started with it in the environment. */
const char *nn_blas_coretype_hint(void);
/* The kernel set OpenBLAS runs ("SkylakeX", "Haswell", "Prescott"...). */
const char *nn_blas_kernels(void);

/* For a program's main, before any thread starts: puts in the environment
 * what the engine's libraries read only when they load (OMP_WAIT_POLICY=
 * passive: OpenMP threads that wait sleep instead of spinning, which costs
 * ~25 % where the threads share cores with others; OPENBLAS_CORETYPE from
 * nn_blas_coretype_hint) and starts the program again (execv of
 * /proc/self/exe with argv), once: values already in the environment are
 * kept. Returns when nothing needed setting or the exec failed (no /proc):
 * the program then goes on as it is. */
void nn_exec_tuned(char **argv);
/* The number of threads a parallel loop started now would get. */
int nn_threads_max(void);
/* The calling thread's number inside a parallel loop (0 outside): for
 * per-thread slices of working memory. */
int nn_thread_id(void);

/* n floats of working memory, 64-byte aligned, contents undefined; NULL
 * when out of memory. Large buffers (1 MiB and more) are mapped from the
 * kernel and go back to it in nn_free, so they never stay behind in the
 * malloc heap. Free with nn_free (not free); nn_free(NULL) does nothing. */
float *nn_alloc(size_t n);
void nn_free(float *p);

/* Returns a buffer of at least n floats (contents undefined), NULL when out
 * of memory. The buffer stays valid until the next call on the same scratch. */
float *nn_scratch_get(nn_scratch *s, size_t n);
void nn_scratch_free(nn_scratch *s);

/* ---- weights stored as IEEE half ----
 *
 * The weight file keeps Kokoro's float16 weights as they are (half the
 * memory of float32); the forward pass widens a layer's weights just before
 * its product. fp16 -> fp32 is exact for every input, so a kernel fed the
 * widened copy computes what it computes from float32 weights of the same
 * values, bit for bit. */

/* One half -> float, exact (subnormals, inf, NaN). */
float nn_f16_to_f32(uint16_t h);
/* dst[i] = nn_f16_to_f32(src[i]) for i < n, with the F16C instructions
 * where the CPU has them (the same values: the conversion is exact). */
void nn_widen_f16(const uint16_t *src, size_t n, float *dst);

/* ---- convolutions over x[cin][t_in] ---- */

typedef struct nn_conv {
    int cin, cout, k;     /* weight w[cout][cin/groups][k] (ONNX Conv) */
    int stride, dilation; /* >= 1 */
    int pad_l, pad_r;     /* zero padding at each end */
    int groups;           /* 1, or cin == cout == groups (depthwise) */
} nn_conv;

/* Output length of a convolution over t_in samples (< 1 when none fits). */
int nn_conv_out_len(const nn_conv *c, int t_in);
/* y[cout][t_out] = conv(x) + b (b may be NULL). t_out = nn_conv_out_len().
 * Returns 0, or -1 when out of memory. */
int nn_conv1d(const nn_conv *c, const float *x, int t_in, const float *w, const float *b, float *y,
              nn_scratch *s);

typedef struct nn_convt {
    int cin, cout, k;   /* weight w[cin][cout/groups][k] (ONNX ConvTranspose) */
    int stride;
    int pad_l, pad_r;   /* samples removed at each end */
    int output_padding; /* samples added at the end */
    int groups;         /* 1, or cin == cout == groups */
} nn_convt;

/* nn_conv1d fused with what is around it in the generator's residual
 * blocks, the same operations in the same order as the separate passes, so
 * the result is the same bit for bit (groups == 1 only; -1 otherwise):
 *   pre (NULL: none): the convolution reads nn_adain_snake(x) instead of x,
 *     with the constants pre[6 * cin] from nn_adain_snake_prep(x); each
 *     time tile activates the window of x it reads, so the activated signal
 *     is never stored whole (one C*T buffer and one pass over it fewer);
 *   accumulate: y += conv + b (the residual add) instead of y = conv + b.
 * x and y must not overlap. */
int nn_conv1d_ex(const nn_conv *c, const float *x, int t_in, const float *pre, const float *w, const float *b,
                 float *y, int accumulate, nn_scratch *s);

/* nn_conv1d_ex computed by FFT (nn_fftconv.c): the signal cut into
 * overlapping 64-sample blocks per dilation phase, each transformed, the
 * channels mixed per frequency bin by a complex matrix product with the
 * weights' transform, transformed back. About 2.3-2.5 real multiply-adds
 * per output sample and channel pair instead of k: 3-4x fewer for the
 * generator's 7- and 11-tap kernels. Same arguments, contract and fusions
 * as nn_conv1d_ex, float32 throughout; not bit-equal to it (another
 * summation: within about 1e-6 of the largest output in relative terms,
 * see its test), but, like every kernel here, bit-identical for any thread
 * count. Working memory (from s): the weights' transform, 33 * cout * cin
 * complex floats (17 MiB at 256 x 256; for a signal of one chunk only a
 * bin's per thread and the weights reordered, 3.4 MiB at 256 x 256 x 11),
 * and a chunk's spectra and input window: up to 20 MiB for a signal that
 * fits in one chunk, else about 17 MiB at 256 channels (128 blocks).
 * Returns 0; -1 when out of memory or when nn_conv_fft_suits(c) is 0. */
int nn_conv1d_fft(const nn_conv *c, const float *x, int t_in, const float *pre, const float *w, const float *b,
                  float *y, int accumulate, nn_scratch *s);
/* The same with the weights as IEEE halves (the weight file's), widened a
 * row at a time inside the weights' transform instead of whole beforehand
 * (nn_widen_f16): the same bits as nn_conv1d_fft on the widened copy. */
int nn_conv1d_fft_f16(const nn_conv *c, const float *x, int t_in, const float *pre, const uint16_t *wh,
                      const float *b, float *y, int accumulate, nn_scratch *s);
/* The fast mode's FFT convolution: nn_conv1d_fft (w) or nn_conv1d_fft_f16
 * (wh, w NULL) with each bin's product in bfloat16 (the spectra and the
 * weights' transform rounded to bf16, sums in float32: nn_cprod_bf16 on
 * AVX512_BF16, about twice OpenBLAS's cgemm), where nn_conv_fft_bf16_runs;
 * elsewhere exactly nn_conv1d_fft. Same arguments, contract and fusions;
 * working memory within the same bounds (the spectra as bf16, the
 * products beside them, chunks sized to fit); bit-identical for any
 * thread count and chunking, not to the exact mode (see its test for the
 * error). */
int nn_conv1d_fft_bf16(const nn_conv *c, const float *x, int t_in, const float *pre, const float *w,
                       const uint16_t *wh, const float *b, float *y, int accumulate, nn_scratch *s);
/* 1 when nn_conv1d_fft_bf16 runs its products in bf16 for c: the CPU has
 * AVX512_BF16 and cout is a multiple of 32. */
int nn_conv_fft_bf16_runs(const nn_conv *c);
/* 1 when nn_conv1d_fft handles c: stride 1, no groups, 5 <= k <= 32,
 * cin and cout multiples of 16. */
int nn_conv_fft_suits(const nn_conv *c);
/* The real multiply-adds nn_conv1d_fft's products do over t_in samples (the
 * FFTs, a few percent more, not counted). */
double nn_conv_fft_macs(const nn_conv *c, int t_in);
/* 1 when nn_conv_fft_suits(c) and, over t_in samples, nn_conv1d_fft does
 * under half of nn_conv1d's multiply-adds, the weights' transform included
 * (short signals, a token sequence say, do not pay for it; nor, measured,
 * the text encoder's 5 taps over 500 tokens at 0.6). */
int nn_conv_fft_pays(const nn_conv *c, int t_in);

/* nn_conv1d_ex for 3-tap kernels by Winograd's F(2,3) (nn_wino.c): two
 * outputs from four products instead of six, so four sgemm calls of two
 * thirds of im2col's multiply-adds. Same arguments, contract and fusions as
 * nn_conv1d_ex, float32 throughout; not bit-equal to it (other sums,
 * within ~1e-6 of the largest output, see its test), bit-identical for any
 * thread count. Working memory (from s): the weights' transform, 4 * cout *
 * cin floats, and a chunk's transforms. Returns 0; -1 when out of memory or
 * when nn_conv_wino_suits(c) is 0. */
int nn_conv1d_wino(const nn_conv *c, const float *x, int t_in, const float *pre, const float *w, const float *b,
                   float *y, int accumulate, nn_scratch *s);
/* The same with half weights, as nn_conv1d_fft_f16. */
int nn_conv1d_wino_f16(const nn_conv *c, const float *x, int t_in, const float *pre, const uint16_t *wh,
                       const float *b, float *y, int accumulate, nn_scratch *s);
/* 1 when nn_conv1d_wino handles c: stride 1, no groups, k == 3, cin and
 * cout >= 64. */
int nn_conv_wino_suits(const nn_conv *c);

int nn_convt_out_len(const nn_convt *c, int t_in);
int nn_conv_transpose1d(const nn_convt *c, const float *x, int t_in, const float *w, const float *b,
                        float *y, nn_scratch *s);

/* ---- sequences x[T][C] ---- */

/* y[m][n] = x[m][k] * w + b: w is [k][n] (ONNX MatMul) when w_is_kn, else
 * [n][k] (Gemm with transB, PyTorch Linear). b may be NULL. ldy >= n. */
void nn_linear(const float *x, int m, int k, const float *w, int w_is_kn, const float *b, int n, float *y,
               int ldy);

/* c[M][N] = a[M][K] * b (b is [K][N], or [N][K] when b_trans), with row
 * strides lda, ldb, ldc: for operands that are slices of wider matrices
 * (attention heads). */
void nn_matmul(const float *a, int lda, const float *b, int ldb, int b_trans, float *c, int ldc, int M, int N,
               int K);

/* One direction of an ONNX LSTM over x[T][in] (row stride ldx): W[4H][in],
 * R[4H][H], B[8H] (input then recurrent biases), gates in ONNX order i, o, f,
 * c; zero initial state. Writes h_t to y + t*ldy. reverse runs from the last
 * step to the first. -1 when out of memory. */
int nn_lstm(const float *x, int T, int in, int ldx, const float *W, const float *R, const float *B, int H,
            int reverse, float *y, int ldy, nn_scratch *s);

/* Normalises each row of x[T][C] over C (biased variance), then
 * y = xn * gamma + beta (gamma, beta may be NULL: 1 and 0). In place allowed. */
void nn_layer_norm(const float *x, int T, int C, const float *gamma, const float *beta, float eps, float *y);
/* Normalises each channel of x[C][T] over T (biased variance); in place allowed. */
void nn_instance_norm(const float *x, int C, int T, float eps, float *y);
/* Adaptive instance norm (StyleTTS2's AdaIN1d): y = (1 + gamma[c]) * IN(x)[c] + beta[c]. */
void nn_adain(const float *x, int C, int T, const float *gamma, const float *beta, float eps, float *y);

/* ---- element-wise ---- */

void nn_leaky_relu(float *x, size_t n, float slope);
/* Snake over x[C][T]: x + ralpha[c] * sin(alpha[c] x)^2, where ralpha is
 * 1/alpha (the graph stores the reciprocal; NULL: computed here). */
void nn_snake(float *x, int C, int T, const float *alpha, const float *ralpha);
/* nn_adain(x -> y) then nn_snake(y) in one pass, same result bit for bit. */
void nn_adain_snake(const float *x, int C, int T, const float *gamma, const float *beta, float eps,
                    const float *alpha, const float *ralpha, float *y);
/* The per-channel constants nn_adain_snake(x, ...) uses, into k[6 * C]
 * (mean, 1/std, 1 + gamma, beta, alpha, 1/alpha per channel), for
 * nn_conv1d_ex's pre. */
void nn_adain_snake_prep(const float *x, int C, int T, const float *gamma, const float *beta, float eps,
                         const float *alpha, const float *ralpha, float *k);
/* ONNX Runtime's STFT of x[N] bit for bit (src/nn/nn_stft.c): frames of
 * 20 samples at hop 5 over x reflect-padded by 10 (N > 10), each times
 * win[20], F frames (frame t starts at 5 t - 10); bin k (0..10) of frame t
 * into re[k * F + t] and im[k * F + t]. */
void nn_stft20(const float *x, size_t N, const float *win, int F, float *re, float *im);
/* The sine Snake uses (exposed for its test). */
float nn_sin(float x);
void nn_sigmoid(float *x, size_t n);
/* One value of tanh / the logistic function, computed as ONNX Runtime's MLAS
 * computes them (rational approximations within 1e-6 of the exact value). */
float nn_tanh1(float x);
float nn_sigmoid1(float x);
void nn_tanh(float *x, size_t n);
/* GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
void nn_gelu_tanh(float *x, size_t n);
/* Softmax of each row of x[rows][n] in place. */
void nn_softmax(float *x, int rows, int n);

/* ---- fast mode (nn_fast.c): reduced precision, chosen at run time ----
 *
 * Convolutions with bfloat16 operands (weights and input rounded to nearest
 * even) and float32 accumulation, on Intel AMX (AMX-BF16) or, without it,
 * AVX512_BF16 (vdpbf16ps: AMD Zen 4, Intel Cooper Lake). Not bit-equal to
 * nn_conv1d (about 3 significant digits per operand), but, like every
 * kernel here, bit-identical for any thread count; the two kernels sum in
 * different orders, so AMX and AVX512_BF16 machines differ in the last bits
 * (nn_bf16_kernel names the one that runs). The caller checks
 * nn_bf16_kernel() before calling nn_conv1d_bf16. */

/* What the CPU and OS offer (cpuid + XCR0), as NN_CPU_* bits. */
#define NN_CPU_AVX512F 1u
#define NN_CPU_AVX512_BF16 2u
#define NN_CPU_AVX512_VNNI 4u
#define NN_CPU_AMX_BF16 8u
#define NN_CPU_F16C 16u /* with AVX enabled by the OS */
#define NN_CPU_AVX2_FMA 32u /* AVX2 and FMA3, with AVX enabled by the OS */
#define NN_CPU_AVX512_SKX 64u /* AVX-512 F, CD, BW, DQ and VL (Skylake-X's set) */
unsigned nn_cpu_features(void);
/* 0 when AMX-BF16 can be used by this process (asks Linux for the tile
 * state, arch_prctl(ARCH_REQ_XCOMP_PERM); idempotent), -1 otherwise. */
int nn_amx_enable(void);
/* The kernel nn_conv1d_bf16 runs here: "amx-bf16", "avx512-bf16", or NULL
 * when neither can. */
const char *nn_bf16_kernel(void);
/* Whether the AVX512_BF16 kernel is faster than the exact one could be:
 * 1 when its dot products run at least 1.5x the fp32 FMA's rate (AMD Zen 4:
 * ~2x), 0 where they do not (Intel Sapphire and Emerald Rapids: ~0.5x; on
 * those only AMX pays) or the CPU lacks them. Both rates (GFLOP/s, one
 * core) go to *bf16 and *fp32 when not NULL. Measured once per process by
 * short loops (~15 ms, the first call); thread-safe. */
int nn_avx512_bf16_pays(double *bf16, double *fp32);

/* A convolution's weights packed for nn_conv1d_bf16: w[k][cout_p][cin_p]
 * bf16 bit patterns, zero-padded to multiples of 32. */
typedef struct nn_conv_bf16 {
    int cin, cout, k, dilation, cin_p, cout_p;
    unsigned short *w;
} nn_conv_bf16;

/* 1 when nn_conv1d_bf16 handles c (stride 1, no groups, cin >= 32, cout >= 16). */
int nn_conv_bf16_supported(const nn_conv *c);
/* Packs w (as nn_conv1d takes it). 0, or -1 when unsupported or out of memory. */
int nn_conv_pack_bf16(const nn_conv *c, const float *w, nn_conv_bf16 *out);
void nn_conv_bf16_free(nn_conv_bf16 *p);
size_t nn_conv_bf16_bytes(const nn_conv_bf16 *p);
/* nn_conv1d in bf16 (nn_bf16_kernel's): same shapes and contract; -1 when out of memory
 * (or on a build without the x86-64 kernels). */
int nn_conv1d_bf16(const nn_conv *c, const nn_conv_bf16 *pw, const float *x, int t_in, const float *b, float *y,
                   nn_scratch *s);

/* This machine's peak multiply rates on one core, measured by short loops
 * of independent instructions (~50 ms each), in GFLOP/s (GOP/s for int8):
 * 0 where the CPU lacks the instruction. */
typedef struct nn_peak {
    double fp32_fma;  /* vfmadd (2 flops per lane): AVX-512's, or AVX2's where AVX-512 is missing */
    double bf16_dot;  /* AVX512_BF16 vdpbf16ps */
    double int8_vnni; /* AVX512_VNNI vpdpbusd */
    double amx_bf16;  /* AMX tdpbf16ps */
} nn_peak;
void nn_peak_measure(nn_peak *out);

#endif
