/*
 * nn_fast.c - the reduced-precision kernels of the engine's fast mode (see
 * nn.h, "fast mode"): 1-D convolutions with bfloat16 operands and float32
 * accumulation on Intel AMX (AMX-BF16 tile instructions) or, where the CPU
 * has no AMX but AVX512_BF16 (AMD Zen 4, Intel Cooper Lake), with its
 * vdpbf16ps dot products; the CPU checks that decide which can run, and the
 * short microbenchmarks of this machine's peak multiply rates that `kokoro
 * bench --profile` prints.
 *
 * Everything here is chosen at run time: the file is compiled for the
 * baseline x86-64 with the AVX-512 and AMX functions marked with target
 * attributes, so one binary runs everywhere and only calls them after the
 * CPU (cpuid), the OS (XCR0) and, on Linux, the kernel's permission for the
 * AMX tile state (arch_prctl(ARCH_REQ_XCOMP_PERM)) said yes. Other
 * architectures get stubs that say "not available".
 *
 * Determinism: like the exact kernels, the work is cut into pieces fixed by
 * the shapes (blocks of 32 output channels by tiles of time), each piece
 * computed by one thread with the same instruction sequence, so the fast
 * mode too is bit-identical for any thread count (though not to the exact
 * mode).
 */
#define _GNU_SOURCE /* syscall() */
#include "nn.h"
#include "nn_internal.h"

#include <complex.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kk_time.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define NN_HAVE_X86 1
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#else
#define NN_HAVE_X86 0
#endif

/* float32 -> bfloat16, round to nearest even (NaN kept quiet). The same
 * rounding as the AVX512_BF16 conversion instructions. */
static inline uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

#if NN_HAVE_X86

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static int cpu_leaf7(unsigned *ebx, unsigned *ecx, unsigned *edx, unsigned *eax1)
{
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    *ebx = b, *ecx = c, *edx = d;
    __cpuid_count(7, 1, a, b, c, d);
    *eax1 = a;
    return 1;
}

static uint64_t xcr0(void)
{
    unsigned a, b, c, d;
    __cpuid(1, a, b, c, d);
    if (!(c & (1u << 27))) /* OSXSAVE */
        return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

unsigned nn_cpu_features(void)
{
    unsigned ebx, ecx, edx, eax1, f = 0;
    if (!cpu_leaf7(&ebx, &ecx, &edx, &eax1))
        return 0;
    uint64_t x = xcr0();
    int avx512_os = (x & 0xe6) == 0xe6; /* SSE, AVX, opmask, ZMM state */
    if (avx512_os && (ebx & (1u << 16)))
        f |= NN_CPU_AVX512F;
    /* F, DQ (17), CD (28), BW (30), VL (31): OpenBLAS's SkylakeX kernels */
    const unsigned skx = (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31);
    if (avx512_os && (ebx & skx) == skx)
        f |= NN_CPU_AVX512_SKX;
    if ((f & NN_CPU_AVX512F) && (eax1 & (1u << 5)))
        f |= NN_CPU_AVX512_BF16;
    if ((f & NN_CPU_AVX512F) && (ecx & (1u << 11)))
        f |= NN_CPU_AVX512_VNNI;
    if ((x & (3u << 17)) == (3u << 17) && (edx & (1u << 24)) && (edx & (1u << 22)))
        f |= NN_CPU_AMX_BF16;
    unsigned a1, b1, c1, d1;
    __cpuid(1, a1, b1, c1, d1);
    if ((x & 6) == 6 && (c1 & (1u << 28)) && (c1 & (1u << 29))) /* AVX state, AVX, F16C */
        f |= NN_CPU_F16C;
    if ((x & 6) == 6 && (c1 & (1u << 28)) && (c1 & (1u << 12)) && (ebx & (1u << 5))) /* AVX state, AVX, FMA, AVX2 */
        f |= NN_CPU_AVX2_FMA;
    return f;
}

/* Halves per piece of a parallel widening (a multiple of 8). */
#define WIDEN_CHUNK (1u << 17)

__attribute__((target("avx,f16c"))) static void widen_f16c(const uint16_t *src, size_t n, float *dst)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++)
        dst[i] = nn_f16_to_f32(src[i]);
}

/* Asks libgcc's CPU model (read once at start-up, with the OS's AVX state
 * checked) rather than nn_cpu_features(): cpuid traps to the hypervisor in
 * a virtual machine, and the style products widen one 128-weight row per
 * call, ~10^5 calls per utterance. */
void nn_widen_f16(const uint16_t *src, size_t n, float *dst)
{
    if (n >= 16 && __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c")) {
        /* a layer's weights (up to 3.3 M halves in the decoder) on every
         * thread: widened once per call, single-threaded they were a serial
         * part of each convolution */
        long chunks = (long)(n / WIDEN_CHUNK);
        if (chunks > 1) {
#pragma omp parallel for schedule(static)
            for (long q = 0; q < chunks; q++) {
                size_t a = (size_t)q * WIDEN_CHUNK, m = q == chunks - 1 ? n - a : WIDEN_CHUNK;
                widen_f16c(src + a, m, dst + a);
            }
            return;
        }
        widen_f16c(src, n, dst);
        return;
    }
    for (size_t i = 0; i < n; i++)
        dst[i] = nn_f16_to_f32(src[i]);
}

int nn_amx_enable(void)
{
    if (!(nn_cpu_features() & NN_CPU_AMX_BF16))
        return -1;
    /* Linux hands out the 8 KiB tile state only to processes that ask;
     * asking again is harmless. */
    if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0)
        return -1;
    return 0;
}

/* The tile configuration: palette 1, tiles 0-7 all 16 rows of 64 bytes. */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_cfg;

/* A constant in memory: GCC 12's _tile_loadconfig does not tell the
 * compiler that it reads its operand, so the stores of a local struct
 * filled before the call are optimised away (seen: a fault in ldtilecfg). */
static const tile_cfg TILE_CFG __attribute__((aligned(64))) = {
    .palette = 1,
    .colsb = {64, 64, 64, 64, 64, 64, 64, 64},
    .rows = {16, 16, 16, 16, 16, 16, 16, 16},
};

__attribute__((target("amx-tile"))) static void amx_config(void) { _tile_loadconfig(&TILE_CFG); }

__attribute__((target("amx-tile"))) static void amx_release(void) { _tile_release(); }

/* x[ci][t] (float32) -> xp[ci/2][u][2] (bf16, channel pairs interleaved, as
 * the B operand of the tile product wants them), for pairs p0..p1, where
 * u = t + pad_l over 0..tp-1 and zeros outside x (and in the padding channel
 * when cin is odd). */
__attribute__((target("avx512f,avx512bw,avx512bf16"))) static void pack_x_pairs(const float *x, int cin, int t_in,
                                                                                 int pad_l, int tp, uint16_t *xp,
                                                                                 int p0, int p1)
{
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                         21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (int p = p0; p < p1; p++) {
        uint16_t *dst = xp + (size_t)p * tp * 2;
        int c0 = 2 * p, c1 = 2 * p + 1;
        const float *a = c0 < cin ? x + (size_t)c0 * t_in : NULL;
        const float *b = c1 < cin ? x + (size_t)c1 * t_in : NULL;
        int lo = pad_l < tp ? pad_l : tp;
        int hi = pad_l + t_in < tp ? pad_l + t_in : tp;
        memset(dst, 0, sizeof(uint16_t) * 2 * lo);
        if (hi < tp)
            memset(dst + 2 * hi, 0, sizeof(uint16_t) * 2 * (tp - hi));
        int u = lo;
        if (a && b)
            for (; u + 16 <= hi; u += 16) {
                __m512 va = _mm512_loadu_ps(a + (u - pad_l)), vb = _mm512_loadu_ps(b + (u - pad_l));
                /* low 16 lanes: a, high 16: b; then interleave a0 b0 a1 b1 ... */
                __m512i v = (__m512i)_mm512_cvtne2ps_pbh(vb, va);
                _mm512_storeu_si512(dst + 2 * u, _mm512_permutexvar_epi16(idx, v));
            }
        for (; u < hi; u++) {
            dst[2 * u] = a ? to_bf16(a[u - pad_l]) : 0;
            dst[2 * u + 1] = b ? to_bf16(b[u - pad_l]) : 0;
        }
    }
}

/* One block of 32 output channels by 32 time steps (four 16x16 tiles):
 * acc = sum over taps and input-channel blocks of W x, then stored to y
 * (rows co0.., columns t0..) clipped to cout x t_out, plus the bias. */
__attribute__((target("amx-tile,amx-bf16"))) static void amx_block(const nn_conv_bf16 *pw, const uint16_t *xp,
                                                                   int tp, int co0, int t0, float *y, int t_out,
                                                                   const float *b)
{
    const int cinp = pw->cin_p, coutp = pw->cout_p, nkb = cinp / 32;
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (int kk = 0; kk < pw->k; kk++) {
        const uint16_t *wa = pw->w + ((size_t)kk * coutp + co0) * cinp;
        const uint16_t *xb = xp + (size_t)(t0 + kk * pw->dilation) * 2;
        for (int kb = 0; kb < nkb; kb++) {
            _tile_loadd(4, wa + kb * 32, cinp * 2);
            _tile_loadd(5, wa + (size_t)16 * cinp + kb * 32, cinp * 2);
            _tile_loadd(6, xb + (size_t)kb * 16 * tp * 2, tp * 4);
            _tile_loadd(7, xb + (size_t)kb * 16 * tp * 2 + 32, tp * 4);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
    }
    int full = co0 + 32 <= pw->cout && t0 + 32 <= t_out;
    if (full) {
        float *y0 = y + (size_t)co0 * t_out + t0;
        _tile_stored(0, y0, t_out * 4);
        _tile_stored(1, y0 + 16, t_out * 4);
        _tile_stored(2, y0 + (size_t)16 * t_out, t_out * 4);
        _tile_stored(3, y0 + (size_t)16 * t_out + 16, t_out * 4);
    } else {
        float tmp[32][32];
        _tile_stored(0, &tmp[0][0], 128);
        _tile_stored(1, &tmp[0][16], 128);
        _tile_stored(2, &tmp[16][0], 128);
        _tile_stored(3, &tmp[16][16], 128);
        int nr = pw->cout - co0 < 32 ? pw->cout - co0 : 32, nc = t_out - t0 < 32 ? t_out - t0 : 32;
        for (int r = 0; r < nr; r++)
            memcpy(y + (size_t)(co0 + r) * t_out + t0, tmp[r], sizeof(float) * nc);
    }
    if (b) {
        int nr = pw->cout - co0 < 32 ? pw->cout - co0 : 32, nc = t_out - t0 < 32 ? t_out - t0 : 32;
        for (int r = 0; r < nr; r++) {
            float *yr = y + (size_t)(co0 + r) * t_out + t0, bias = b[co0 + r];
            for (int t = 0; t < nc; t++)
                yr[t] += bias;
        }
    }
}

/* A work piece: FAST_TILE time steps (a multiple of 32) by up to
 * FAST_CO_GROUP output channels (a multiple of 32). Inside it, each block of
 * 32 time steps is done for all the group's channels before the next, so
 * the input slice the tiles read stays in L1/L2 while the group's weights
 * (at most 128 x 1120 x 3 bf16, 860 KB) stay in L2. Pieces go time-major to
 * the threads, so neighbouring pieces share the input. */
#define FAST_TILE 256
#define FAST_CO_GROUP 128

/* One block of DP_CO output channels by 32 time steps on AVX512_BF16:
 * the same sum as amx_block (taps, then channel pairs in order), with
 * vdpbf16ps adding one channel pair of 16 time steps per instruction. The
 * pair's two weights are one 32-bit broadcast (w is [k][cout_p][cin_p], so
 * channels 2p and 2p+1 are adjacent); xp has the pair interleaved per time
 * step, so 16 time steps are one 512-bit load. */
#define DP_CO 8
__attribute__((target("avx512f,avx512bw,avx512bf16"))) static void dp_block(const nn_conv_bf16 *pw, const uint16_t *xp,
                                                                           int tp, int co0, int t0, float *y,
                                                                           int t_out, const float *b)
{
    const int cinp = pw->cin_p, coutp = pw->cout_p, npairs = cinp / 2;
    __m512 acc[DP_CO][2];
#pragma GCC unroll 16
    for (int r = 0; r < DP_CO; r++)
        acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int kk = 0; kk < pw->k; kk++) {
        const uint16_t *wa = pw->w + ((size_t)kk * coutp + co0) * cinp;
        const uint16_t *xb = xp + (size_t)(t0 + kk * pw->dilation) * 2;
        for (int p = 0; p < npairs; p++) {
            const uint16_t *xr = xb + (size_t)p * tp * 2;
            __m512bh x0 = (__m512bh)_mm512_loadu_si512(xr), x1 = (__m512bh)_mm512_loadu_si512(xr + 32);
            const uint16_t *wp = wa + 2 * p;
            /* unrolled, so that the accumulators live in registers */
#pragma GCC unroll 16
            for (int r = 0; r < DP_CO; r++) {
                uint32_t pair;
                memcpy(&pair, wp + (size_t)r * cinp, 4);
                __m512bh w = (__m512bh)_mm512_set1_epi32((int)pair);
                acc[r][0] = _mm512_dpbf16_ps(acc[r][0], w, x0);
                acc[r][1] = _mm512_dpbf16_ps(acc[r][1], w, x1);
            }
        }
    }
    int nc = t_out - t0 < 32 ? t_out - t0 : 32;
    __mmask16 m0 = nc >= 16 ? 0xffff : (__mmask16)((1u << nc) - 1);
    __mmask16 m1 = nc >= 32 ? 0xffff : nc <= 16 ? 0 : (__mmask16)((1u << (nc - 16)) - 1);
    for (int r = 0; r < DP_CO && co0 + r < pw->cout; r++) {
        __m512 bias = _mm512_set1_ps(b ? b[co0 + r] : 0.0f);
        float *yr = y + (size_t)(co0 + r) * t_out + t0;
        /* as amx_block: the sum first, then the bias added to it */
        _mm512_mask_storeu_ps(yr, m0, b ? _mm512_add_ps(acc[r][0], bias) : acc[r][0]);
        if (m1)
            _mm512_mask_storeu_ps(yr + 16, m1, b ? _mm512_add_ps(acc[r][1], bias) : acc[r][1]);
    }
}

/* The fast mode's FFT products (nn_conv1d_fft_bf16, see nn_internal.h):
 * C[m][n] = sum_k X[m][k] G[n][k] in complex arithmetic, each complex
 * product one vdpbf16ps lane for its real part, (xr, xi) . (gr, -gi), and
 * one for its imaginary part, (xr, xi) . (gi, gr): 16 output channels per
 * vector, X's pair broadcast. CPR_M rows by 32 columns in registers (24
 * accumulators), the k loop in order, so every sum is one fixed sequence
 * of instructions whoever runs it. On Zen 5 one core: 420-455 GFLOP/s
 * (complex 8 flops a product) against OpenBLAS cgemm's 211-219 on the
 * model's shapes (M 128-1000, N = K = 128-256). */
#define CPR_M 6
__attribute__((target("avx512f,avx512bw,avx512bf16"))) static inline void
cprod_rows(int mr, int K, const uint32_t *xa, const uint32_t *gr, const uint32_t *gi, float complex *C, size_t ldc)
{
    const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    __m512 r0[CPR_M], r1[CPR_M], i0[CPR_M], i1[CPR_M];
#pragma GCC unroll 6
    for (int i = 0; i < CPR_M; i++)
        r0[i] = r1[i] = i0[i] = i1[i] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(gr + (size_t)k * 32);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(gr + (size_t)k * 32 + 16);
        __m512bh c0 = (__m512bh)_mm512_loadu_si512(gi + (size_t)k * 32);
        __m512bh c1 = (__m512bh)_mm512_loadu_si512(gi + (size_t)k * 32 + 16);
#pragma GCC unroll 6
        for (int i = 0; i < CPR_M; i++)
            if (i < mr) {
                __m512bh a = (__m512bh)_mm512_set1_epi32((int)xa[(size_t)i * K + k]);
                r0[i] = _mm512_dpbf16_ps(r0[i], a, b0), r1[i] = _mm512_dpbf16_ps(r1[i], a, b1);
                i0[i] = _mm512_dpbf16_ps(i0[i], a, c0), i1[i] = _mm512_dpbf16_ps(i1[i], a, c1);
            }
    }
    for (int i = 0; i < mr; i++) { /* (re, im) interleaved: complex floats */
        float *o = (float *)(C + (size_t)i * ldc);
        _mm512_storeu_ps(o, _mm512_permutex2var_ps(r0[i], lo, i0[i]));
        _mm512_storeu_ps(o + 16, _mm512_permutex2var_ps(r0[i], hi, i0[i]));
        _mm512_storeu_ps(o + 32, _mm512_permutex2var_ps(r1[i], lo, i1[i]));
        _mm512_storeu_ps(o + 48, _mm512_permutex2var_ps(r1[i], hi, i1[i]));
    }
}

__attribute__((target("avx512f,avx512bw,avx512bf16"))) void nn_cprod_bf16(int M, int N, int K, const uint32_t *xb,
                                                                         const uint32_t *gre, const uint32_t *gim,
                                                                         float complex *C, size_t ldc)
{
    for (int n0 = 0; n0 < N; n0 += 32) {
        const uint32_t *gr = gre + (size_t)n0 * K, *gi = gim + (size_t)n0 * K;
        int m0 = 0;
        for (; m0 + CPR_M <= M; m0 += CPR_M)
            cprod_rows(CPR_M, K, xb + (size_t)m0 * K, gr, gi, C + (size_t)m0 * ldc + n0, ldc);
        if (m0 < M)
            cprod_rows(M - m0, K, xb + (size_t)m0 * K, gr, gi, C + (size_t)m0 * ldc + n0, ldc);
    }
}

/* The pieces of nn_conv1d_bf16 on AVX512_BF16: as on AMX, FAST_TILE time
 * steps by FAST_CO_GROUP channels, blocks of 32 time steps outside and
 * DP_CO channels inside. */
static void conv_dp(const nn_conv_bf16 *pw, const uint16_t *xp, int tp, float *y, int t_out, const float *b,
                    int pieces, int n_cg)
{
#pragma omp for schedule(dynamic)
    for (int i = 0; i < pieces; i++) {
        int ta = (i / n_cg) * FAST_TILE, ca = (i % n_cg) * FAST_CO_GROUP;
        int tb = ta + FAST_TILE < t_out ? ta + FAST_TILE : t_out;
        int cb = ca + FAST_CO_GROUP < pw->cout_p ? ca + FAST_CO_GROUP : pw->cout_p;
        for (int t0 = ta; t0 < tb; t0 += 32)
            for (int co0 = ca; co0 < cb && co0 < pw->cout; co0 += DP_CO)
                dp_block(pw, xp, tp, co0, t0, y, t_out, b);
    }
}

int nn_conv1d_bf16(const nn_conv *c, const nn_conv_bf16 *pw, const float *x, int t_in, const float *b, float *y,
                   nn_scratch *s)
{
    const char *kernel = nn_bf16_kernel();
    if (!kernel)
        return -1;
    int amx = kernel[0] == 'a' && kernel[1] == 'm';
    int t_out = nn_conv_out_len(c, t_in);
    if (t_out <= 0)
        return 0;
    int t_out32 = (t_out + 31) / 32 * 32;
    int tp = t_out32 + (c->k - 1) * c->dilation; /* padded input length the tiles read */
    int npairs = pw->cin_p / 2;
    size_t need = ((size_t)npairs * tp * 2 + 1) / 2; /* floats */
    uint16_t *xp = (uint16_t *)nn_scratch_get(s, need);
    if (!xp)
        return -1;
    int n_cg = (pw->cout_p + FAST_CO_GROUP - 1) / FAST_CO_GROUP, n_t = (t_out + FAST_TILE - 1) / FAST_TILE;
    int pieces = n_cg * n_t;
#pragma omp parallel
    {
#pragma omp for schedule(static)
        for (int p = 0; p < npairs; p += 8)
            pack_x_pairs(x, c->cin, t_in, c->pad_l, tp, xp, p, p + 8 < npairs ? p + 8 : npairs);
        if (!amx) {
            conv_dp(pw, xp, tp, y, t_out, b, pieces, n_cg);
        } else {
        amx_config();
#pragma omp for schedule(dynamic)
        for (int i = 0; i < pieces; i++) {
            int ta = (i / n_cg) * FAST_TILE, ca = (i % n_cg) * FAST_CO_GROUP;
            int tb = ta + FAST_TILE < t_out ? ta + FAST_TILE : t_out;
            int cb = ca + FAST_CO_GROUP < pw->cout_p ? ca + FAST_CO_GROUP : pw->cout_p;
            for (int t0 = ta; t0 < tb; t0 += 32)
                for (int co0 = ca; co0 < cb; co0 += 32)
                    amx_block(pw, xp, tp, co0, t0, y, t_out, b);
        }
        amx_release();
        }
    }
    return 0;
}

/* ---- peak microbenchmarks: independent chains of one instruction ---- */

/* Twelve named accumulators (an array may be kept in memory at -O2, which
 * would measure store forwarding instead of the multiplier). */
#define CHAINS 12
#define DECL12(T, init) T a0 = init(0), a1 = init(1), a2 = init(2), a3 = init(3), a4 = init(4), a5 = init(5), \
                          a6 = init(6), a7 = init(7), a8 = init(8), a9 = init(9), a10 = init(10), a11 = init(11)
#define STEP12(OP, p, q)                                                                                           \
    a0 = OP(a0, p, q), a1 = OP(a1, p, q), a2 = OP(a2, p, q), a3 = OP(a3, p, q), a4 = OP(a4, p, q),               \
    a5 = OP(a5, p, q), a6 = OP(a6, p, q), a7 = OP(a7, p, q), a8 = OP(a8, p, q), a9 = OP(a9, p, q),               \
    a10 = OP(a10, p, q), a11 = OP(a11, p, q)
#define SUM12(ADD) ADD(ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7))), ADD(ADD(a8, a9), ADD(a10, a11)))

#define INIT_PS(i) _mm512_set1_ps((float)(i) * 1e-3f)
#define INIT_EPI(i) _mm512_set1_epi32(i)
#define FMA_PS(a, p, q) _mm512_fmadd_ps(a, p, q)
__attribute__((target("avx512f"))) static double peak_fma(long n)
{
    DECL12(__m512, INIT_PS);
    __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-4f);
    double t = kk_now_s();
    for (long i = 0; i < n; i++)
        STEP12(FMA_PS, m, c);
    t = kk_now_s() - t;
    volatile float sink = _mm512_reduce_add_ps(SUM12(_mm512_add_ps));
    (void)sink;
    return (double)n * CHAINS * 16 * 2 / t / 1e9;
}

#define INIT_PS256(i) _mm256_set1_ps((float)(i) * 1e-3f)
#define FMA_PS256(a, p, q) _mm256_fmadd_ps(a, p, q)
/* The same on AVX2 machines (half the lanes). */
__attribute__((target("avx2,fma"))) static double peak_fma256(long n)
{
    DECL12(__m256, INIT_PS256);
    __m256 m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-4f);
    double t = kk_now_s();
    for (long i = 0; i < n; i++)
        STEP12(FMA_PS256, m, c);
    t = kk_now_s() - t;
    float lanes[8];
    _mm256_storeu_ps(lanes, SUM12(_mm256_add_ps));
    volatile float sink = lanes[0];
    (void)sink;
    return (double)n * CHAINS * 8 * 2 / t / 1e9;
}

__attribute__((target("avx512f,avx512bf16"))) static double peak_bf16(long n)
{
    DECL12(__m512, INIT_PS);
    __m512bh p = (__m512bh)_mm512_set1_epi16(0x3f00), q = (__m512bh)_mm512_set1_epi16(0x3800);
    double t = kk_now_s();
    for (long i = 0; i < n; i++)
        STEP12(_mm512_dpbf16_ps, p, q);
    t = kk_now_s() - t;
    volatile float sink = _mm512_reduce_add_ps(SUM12(_mm512_add_ps));
    (void)sink;
    return (double)n * CHAINS * 32 * 2 / t / 1e9;
}

__attribute__((target("avx512f,avx512vnni"))) static double peak_vnni(long n)
{
    DECL12(__m512i, INIT_EPI);
    __m512i p = _mm512_set1_epi8(3), q = _mm512_set1_epi8(5);
    double t = kk_now_s();
    for (long i = 0; i < n; i++)
        STEP12(_mm512_dpbusd_epi32, p, q);
    t = kk_now_s() - t;
    /* or, not add: GCC reduces in int, which may overflow (UB) */
    volatile int sink = _mm512_reduce_or_epi32(SUM12(_mm512_add_epi32));
    (void)sink;
    return (double)n * CHAINS * 64 * 2 / t / 1e9;
}

__attribute__((target("amx-tile,amx-bf16"))) static double peak_amx(long n)
{
    static const uint16_t one[16 * 32] __attribute__((aligned(64))) = {0};
    float out[16 * 16] __attribute__((aligned(64)));
    amx_config();
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    _tile_loadd(4, one, 64);
    _tile_loadd(5, one, 64);
    _tile_loadd(6, one, 64);
    _tile_loadd(7, one, 64);
    double t = kk_now_s();
    for (long i = 0; i < n; i++) {
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    t = kk_now_s() - t;
    _tile_stored(0, out, 64);
    amx_release();
    volatile float sink = out[0];
    (void)sink;
    return (double)n * 4 * 16 * 16 * 32 * 2 / t / 1e9;
}

static double best3(double (*fn)(long), long n)
{
    double b = 0;
    for (int i = 0; i < 3; i++) {
        double v = fn(n);
        b = v > b ? v : b;
    }
    return b;
}

void nn_peak_measure(nn_peak *out)
{
    memset(out, 0, sizeof *out);
    unsigned f = nn_cpu_features();
    /* ~20 ms per run on a 3-4 GHz core, best of three (the machine may be
     * shared) */
    if (f & NN_CPU_AVX512F)
        out->fp32_fma = best3(peak_fma, 4000000L);
    else if (f & NN_CPU_AVX2_FMA)
        out->fp32_fma = best3(peak_fma256, 4000000L);
    if (f & NN_CPU_AVX512_BF16)
        out->bf16_dot = best3(peak_bf16, 4000000L);
    if (f & NN_CPU_AVX512_VNNI)
        out->int8_vnni = best3(peak_vnni, 4000000L);
    if (nn_amx_enable() == 0)
        out->amx_bf16 = best3(peak_amx, 400000L);
}

/* The rates behind nn_avx512_bf16_pays, measured once per process (a
 * property of the CPU, like cpuid's answers) */
static pthread_once_t bf16_once = PTHREAD_ONCE_INIT;
static double bf16_rate, fp32_rate;

static void bf16_measure(void)
{
    /* ~2 ms per run, best of three: the ratio is ~2 or ~0.5, not close */
    if (nn_cpu_features() & NN_CPU_AVX512_BF16) {
        bf16_rate = best3(peak_bf16, 400000L);
        fp32_rate = best3(peak_fma, 400000L);
    }
}

int nn_avx512_bf16_pays(double *bf16, double *fp32)
{
    pthread_once(&bf16_once, bf16_measure);
    if (bf16)
        *bf16 = bf16_rate;
    if (fp32)
        *fp32 = fp32_rate;
    return bf16_rate > 0 && bf16_rate >= 1.5 * fp32_rate;
}

const char *nn_bf16_kernel(void)
{
    /* AMX where this process may use it, else AVX512_BF16 (cpuid and the
     * kernel's permission, asked each time: cheap next to a convolution) */
    if (nn_amx_enable() == 0)
        return "amx-bf16";
    return nn_cpu_features() & NN_CPU_AVX512_BF16 ? "avx512-bf16" : NULL;
}

#else /* not x86-64 Linux with GCC */

const char *nn_bf16_kernel(void) { return NULL; }
int nn_avx512_bf16_pays(double *bf16, double *fp32)
{
    if (bf16)
        *bf16 = 0;
    if (fp32)
        *fp32 = 0;
    return 0;
}
unsigned nn_cpu_features(void) { return 0; }
void nn_widen_f16(const uint16_t *src, size_t n, float *dst)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = nn_f16_to_f32(src[i]);
}
int nn_amx_enable(void) { return -1; }
int nn_conv1d_bf16(const nn_conv *c, const nn_conv_bf16 *pw, const float *x, int t_in, const float *b, float *y,
                   nn_scratch *s)
{
    (void)c, (void)pw, (void)x, (void)t_in, (void)b, (void)y, (void)s;
    return -1;
}
void nn_peak_measure(nn_peak *out) { memset(out, 0, sizeof *out); }
void nn_cprod_bf16(int M, int N, int K, const uint32_t *xb, const uint32_t *gre, const uint32_t *gim, float complex *C,
                   size_t ldc)
{
    (void)M, (void)N, (void)K, (void)xb, (void)gre, (void)gim, (void)C, (void)ldc; /* never called: no AVX512_BF16 */
}

#endif

int nn_conv_bf16_supported(const nn_conv *c)
{
    return c->groups == 1 && c->stride == 1 && c->cin >= 32 && c->cout >= 16;
}

int nn_conv_pack_bf16(const nn_conv *c, const float *w, nn_conv_bf16 *out)
{
    memset(out, 0, sizeof *out);
    if (!nn_conv_bf16_supported(c))
        return -1;
    out->cin = c->cin, out->cout = c->cout, out->k = c->k, out->dilation = c->dilation;
    out->cin_p = (c->cin + 31) / 32 * 32;
    out->cout_p = (c->cout + 31) / 32 * 32;
    size_t n = (size_t)c->k * out->cout_p * out->cin_p;
    out->w = calloc(n, sizeof(uint16_t));
    if (!out->w)
        return -1;
    for (int kk = 0; kk < c->k; kk++)
        for (int co = 0; co < c->cout; co++)
            for (int ci = 0; ci < c->cin; ci++)
                out->w[((size_t)kk * out->cout_p + co) * out->cin_p + ci] =
                    to_bf16(w[((size_t)co * c->cin + ci) * c->k + kk]);
    return 0;
}

void nn_conv_bf16_free(nn_conv_bf16 *p)
{
    free(p->w);
    memset(p, 0, sizeof *p);
}

size_t nn_conv_bf16_bytes(const nn_conv_bf16 *p)
{
    return p->w ? (size_t)p->k * p->cout_p * p->cin_p * sizeof(uint16_t) : 0;
}
