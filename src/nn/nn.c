/*
 * nn.c - see nn.h. Convolutions are im2col + GEMM over tiles of the time
 * axis, so that the column buffer stays a few MiB however long the signal;
 * the tile length depends only on the shapes, which keeps results independent
 * of anything else (thread count, previous calls). nn_conv1d_ex runs the same
 * tiles with the activation before and the residual add after fused in, so
 * that the generator never stores its activated signals whole.
 */
#define _DEFAULT_SOURCE /* madvise */
#include "nn.h"
#include "nn_internal.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/mman.h>
#ifdef _OPENMP
#include <omp.h>
#endif


float nn_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13); /* inf / NaN */
    } else if (exp) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man) { /* subnormal: normalise */
        int e = 113;
        while (!(man & 0x400)) {
            man <<= 1;
            e--;
        }
        bits = sign | ((uint32_t)e << 23) | ((man & 0x3ff) << 13);
    } else {
        bits = sign;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

int nn_threads_max(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void nn_set_threads(int n)
{
    if (n < 1)
        n = 1;
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    /* every sgemm runs single-threaded inside our own parallel loops */
    openblas_set_num_threads(1);
}

const char *nn_blas_coretype_hint(void)
{
    /* openblas_get_corename() names the kernel set in use; these are the
     * ones older than Haswell, where a CPU with AVX2 or AVX-512 must have
     * been taken for something it is not (an unknown model). */
    static const char *const old[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem",
                                      "Atom", "Sandybridge", "Katmai", "Coppermine", "Northwood"};
    const char *name = openblas_get_corename();
    if (!name)
        return NULL;
    int is_old = 0;
    for (size_t i = 0; i < sizeof old / sizeof old[0]; i++)
        is_old |= !strcasecmp(name, old[i]);
    if (!is_old)
        return NULL;
    unsigned f = nn_cpu_features();
    if (f & NN_CPU_AVX512_SKX)
        return "SkylakeX";
    if (f & NN_CPU_AVX2_FMA)
        return "Haswell";
    return NULL;
}

const char *nn_blas_kernels(void)
{
    const char *name = openblas_get_corename();
    return name ? name : "?";
}

void nn_exec_tuned(char **argv)
{
    int again = 0;
    if (!getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        again = 1;
    }
    const char *core = getenv("OPENBLAS_CORETYPE") ? NULL : nn_blas_coretype_hint();
    if (core) {
        setenv("OPENBLAS_CORETYPE", core, 1);
        again = 1;
    }
    if (again)
        execv("/proc/self/exe", argv);
}

int nn_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Working memory. Buffers of 1 MiB and more are mapped from the kernel
 * directly and unmapped when freed: glibc would serve them from its heap
 * once its dynamic mmap threshold has risen (it rises to the size of each
 * mapped chunk freed, up to 32 MiB), and a forward pass's tens of MB would
 * then stay in the process, fragmented, after it ends. Buffers of 4 MiB and
 * more start on a 2 MiB boundary and are offered to the kernel for
 * transparent huge pages: the fast mode's tile loads read 16 rows a page
 * apart each, and with 4 KiB pages they wait on the TLB. A 64-byte header
 * before the data says how the block was made (0: malloc; else the length
 * of the mapping, which starts at the header). */
#define MAP_MIN ((size_t)1 << 20)
#define HUGE_MIN ((size_t)4 << 20)
#define HUGE_ALIGN ((size_t)2 << 20)
#define HDR 64

static float *alloc_impl(size_t n, int huge)
{
    if (n > (SIZE_MAX - HDR - HUGE_ALIGN) / sizeof(float))
        return NULL;
    size_t bytes = n * sizeof(float) + HDR;
    unsigned char *base;
    size_t len = 0;
    if (bytes < MAP_MIN) {
        void *p = NULL;
        if (posix_memalign(&p, HDR, bytes))
            return NULL;
        base = p;
    } else {
        huge = huge && bytes >= HUGE_MIN;
        size_t page = 4096, align = huge ? HUGE_ALIGN : page;
        len = (bytes + page - 1) / page * page;
        unsigned char *m = mmap(NULL, len + align - page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        /* keep the aligned [base, base + len) of the larger mapping */
        base = (unsigned char *)(((uintptr_t)m + align - 1) & ~(uintptr_t)(align - 1));
        if (base > m)
            munmap(m, (size_t)(base - m));
        if (m + len + align - page > base + len)
            munmap(base + len, (size_t)(m + len + align - page - (base + len)));
#ifdef MADV_HUGEPAGE
        if (huge)
            madvise(base, len, MADV_HUGEPAGE); /* advice only */
#endif
    }
    memcpy(base, &len, sizeof len);
    return (float *)(base + HDR);
}

float *nn_alloc(size_t n) { return alloc_impl(n, 0); }

void nn_free(float *p)
{
    if (!p)
        return;
    unsigned char *base = (unsigned char *)p - HDR;
    size_t len;
    memcpy(&len, base, sizeof len);
    if (len)
        munmap(base, len);
    else
        free(base);
}

float *nn_scratch_get(nn_scratch *s, size_t n)
{
    if (n > s->cap) {
        nn_free(s->p);
        s->p = alloc_impl(n, 1);
        s->cap = s->p ? n : 0;
    }
    return s->p;
}

void nn_scratch_free(nn_scratch *s)
{
    nn_free(s->p);
    s->p = NULL;
    s->cap = 0;
}

/* Columns of the im2col buffer per tile: at most 2^20 floats (4 MiB) per thread, and
 * at most an eighth of the signal (rounded up to 16) so that short signals
 * still make enough tiles to share between threads. It depends only on the
 * shapes: the tiles, and so every sgemm call, are the same whatever the
 * thread count, which keeps the result bit-identical. */
static int tile_len(int rows, int t_out)
{
    int t = (int)((1u << 20) / (unsigned)(rows > 0 ? rows : 1));
    int eighth = ((t_out + 7) / 8 + 15) / 16 * 16;
    if (t > eighth)
        t = eighth;
    if (t < 64)
        t = 64;
    return t < t_out ? t : t_out;
}

int nn_conv_out_len(const nn_conv *c, int t_in)
{
    long span = (long)c->dilation * (c->k - 1) + 1;
    long n = (long)t_in + c->pad_l + c->pad_r - span;
    return n < 0 ? 0 : (int)(n / c->stride + 1);
}

static void conv_depthwise(const nn_conv *c, const float *x, int t_in, const float *w, const float *b, float *y,
                           int t_out)
{
#pragma omp parallel for schedule(dynamic)
    for (int ch = 0; ch < c->cout; ch++) {
        const float *xc = x + (size_t)ch * t_in, *wc = w + (size_t)ch * c->k;
        float *yc = y + (size_t)ch * t_out;
        float bias = b ? b[ch] : 0.0f;
        for (int t = 0; t < t_out; t++) {
            float acc = 0.0f;
            int base = t * c->stride - c->pad_l;
            for (int kk = 0; kk < c->k; kk++) {
                int i = base + kk * c->dilation;
                if (i >= 0 && i < t_in)
                    acc += wc[kk] * xc[i];
            }
            yc[t] = acc + bias;
        }
    }
}

/* One tile of im2col: col[ci*k + kk][t] = x(ci, (t0 + t) * stride + kk * dil - pad_l), 0 outside
 * [0, t_in). x(ci, i) is x[ci * ldx + i - xoff]: the whole signal (ldx = t_in, xoff = 0), or a
 * window of it that holds every index the tile reads. */
static void im2col_tile(const nn_conv *c, const float *x, int ldx, int xoff, int t_in, int t0, int n, float *col)
{
    for (int ci = 0; ci < c->cin; ci++) {
        const float *xc = x + (size_t)ci * ldx;
        for (int kk = 0; kk < c->k; kk++) {
            float *row = col + ((size_t)ci * c->k + kk) * n;
            int off = kk * c->dilation - c->pad_l;
            if (c->stride == 1) {
                /* a shifted copy of the row with zeros where it leaves x */
                long first = (long)t0 + off;
                int lo = first < 0 ? (int)(-first < n ? -first : n) : 0;
                long hi_l = (long)t_in - first;
                int hi = hi_l < lo ? lo : (hi_l > n ? n : (int)hi_l);
                if (lo > 0)
                    memset(row, 0, sizeof(float) * lo);
                if (hi > lo)
                    memcpy(row + lo, xc + (first + lo - xoff), sizeof(float) * (hi - lo));
                if (n > hi)
                    memset(row + hi, 0, sizeof(float) * (n - hi));
            } else {
                for (int t = 0; t < n; t++) {
                    int i = (t0 + t) * c->stride + off;
                    row[t] = (i >= 0 && i < t_in) ? xc[i - xoff] : 0.0f;
                }
            }
        }
    }
}

/* Column chunk of a 1x1 convolution (a fixed size, whatever the threads). */
#define CONV1X1_CHUNK 512
/* Pieces (time tiles times output-channel blocks) a convolution is cut
 * into at least, where its channels allow. */
#define CONV_PIECES 8

static int conv1d_impl(const nn_conv *c, const float *x, int t_in, const float *pre, const float *w, const float *b,
                       float *y, int accumulate, nn_scratch *s);

int nn_conv1d(const nn_conv *c, const float *x, int t_in, const float *w, const float *b, float *y,
              nn_scratch *s)
{
    return conv1d_impl(c, x, t_in, NULL, w, b, y, 0, s);
}

int nn_conv1d_ex(const nn_conv *c, const float *x, int t_in, const float *pre, const float *w, const float *b,
                 float *y, int accumulate, nn_scratch *s)
{
    if (c->groups > 1 && (pre || accumulate))
        return -1;
    return conv1d_impl(c, x, t_in, pre, w, b, y, accumulate, s);
}

int nn_convt_out_len(const nn_convt *c, int t_in)
{
    long n = (long)(t_in - 1) * c->stride - c->pad_l - c->pad_r + c->k + c->output_padding;
    return n < 0 ? 0 : (int)n;
}

/* Output channels per block of a transposed convolution. */
#define CONVT_BLOCK 16

int nn_conv_transpose1d(const nn_convt *c, const float *x, int t_in, const float *w, const float *b,
                        float *y, nn_scratch *s)
{
    int t_out = nn_convt_out_len(c, t_in);
    if (t_out <= 0)
        return 0;
    if (c->groups > 1) {
#pragma omp parallel for schedule(dynamic)
        for (int ch = 0; ch < c->cout; ch++) {
            const float *xc = x + (size_t)ch * t_in, *wc = w + (size_t)ch * c->k;
            float *yc = y + (size_t)ch * t_out;
            float bias = b ? b[ch] : 0.0f;
            for (int t = 0; t < t_out; t++)
                yc[t] = bias;
            for (int t = 0; t < t_in; t++)
                for (int kk = 0; kk < c->k; kk++) {
                    int o = t * c->stride + kk - c->pad_l;
                    if (o >= 0 && o < t_out)
                        yc[o] += xc[t] * wc[kk];
                }
        }
        return 0;
    }
    /* cols[co*k + kk][t] = sum_ci w[ci][co][kk] x[ci][t], then each column
     * is added into y at t*stride + kk - pad_l. The output channels are cut
     * into blocks of CONVT_BLOCK, each computed (sgemm over its rows of the
     * weight, tile by tile of time) and scattered by one thread: no two
     * threads write the same output, and the blocks and tiles are fixed by
     * the shapes alone. */
    int rows = c->cout * c->k;
    int n_blk = (c->cout + CONVT_BLOCK - 1) / CONVT_BLOCK;
    int tile = tile_len(CONVT_BLOCK * c->k, t_in);
    int nth = nn_threads_max();
    if (nth > n_blk)
        nth = n_blk;
    size_t per = (size_t)CONVT_BLOCK * c->k * tile;
    float *cols = nn_scratch_get(s, per * nth);
    if (!cols)
        return -1;
#pragma omp parallel for schedule(dynamic) num_threads(nth) if (nth > 1)
    for (int bi = 0; bi < n_blk; bi++) {
        int c0 = bi * CONVT_BLOCK, c1 = c0 + CONVT_BLOCK < c->cout ? c0 + CONVT_BLOCK : c->cout;
        int brows = (c1 - c0) * c->k;
        float *cb = cols + per * (size_t)nn_thread_id();
        for (int co = c0; co < c1; co++) {
            float *yc = y + (size_t)co * t_out;
            float bias = b ? b[co] : 0.0f;
            for (int t = 0; t < t_out; t++)
                yc[t] = bias;
        }
        for (int t0 = 0; t0 < t_in; t0 += tile) {
            int n = t_in - t0 < tile ? t_in - t0 : tile;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, brows, n, c->cin, 1.0f, w + (size_t)c0 * c->k, rows,
                        x + t0, t_in, 0.0f, cb, n);
            for (int co = c0; co < c1; co++) {
                float *yc = y + (size_t)co * t_out;
                for (int kk = 0; kk < c->k; kk++) {
                    const float *row = cb + ((size_t)(co - c0) * c->k + kk) * n;
                    int off = t0 * c->stride + kk - c->pad_l;
                    for (int t = 0; t < n; t++) {
                        int o = off + t * c->stride;
                        if (o >= 0 && o < t_out)
                            yc[o] += row[t];
                    }
                }
            }
        }
    }
    return 0;
}

/* Rows of x and columns of y per sgemm of nn_linear (fixed: the same calls
 * whatever the threads). The columns are cut too so that a short sequence
 * (ALBERT over a 50-token sentence: one block of rows) still gives every
 * thread work. */
#define LINEAR_ROWS 64
#define LINEAR_COLS 256

void nn_linear(const float *x, int m, int k, const float *w, int w_is_kn, const float *b, int n, float *y,
               int ldy)
{
    int n_rb = (m + LINEAR_ROWS - 1) / LINEAR_ROWS, n_cb = (n + LINEAR_COLS - 1) / LINEAR_COLS;
    int n_blk = n_rb * n_cb;
#pragma omp parallel for schedule(dynamic) if (n_blk > 1)
    for (int bi = 0; bi < n_blk; bi++) {
        int r0 = bi / n_cb * LINEAR_ROWS, nr = m - r0 < LINEAR_ROWS ? m - r0 : LINEAR_ROWS;
        int c0 = bi % n_cb * LINEAR_COLS, nc = n - c0 < LINEAR_COLS ? n - c0 : LINEAR_COLS;
        float *yb = y + (size_t)r0 * ldy + c0;
        const float *wb = w_is_kn ? w + c0 : w + (size_t)c0 * k;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, w_is_kn ? CblasNoTrans : CblasTrans, nr, nc, k, 1.0f,
                    x + (size_t)r0 * k, k, wb, w_is_kn ? n : k, 0.0f, yb, ldy);
        if (b)
            for (int i = 0; i < nr; i++)
                for (int j = 0; j < nc; j++)
                    yb[(size_t)i * ldy + j] += b[c0 + j];
    }
}

void nn_matmul(const float *a, int lda, const float *b, int ldb, int b_trans, float *c, int ldc, int M, int N,
               int K)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, b_trans ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, a, lda, b, ldb,
                0.0f, c, ldc);
}

/* tanh and the logistic function as ONNX Runtime computes them (MLAS:
 * Eigen's rational approximations, evaluated with FMA as MLAS's x86-64
 * kernels do). They are within 1e-6 of the exact functions; using the same
 * approximation as the reference keeps the recurrences of the LSTMs, which
 * amplify any difference, close to it. */
static inline float tanh1(float x)
{
    float v = x < -9.0f ? -9.0f : x;
    v = v > 9.0f ? 9.0f : v;
    float v2 = v * v;
    float p = fmaf(v2, -2.76076847742355e-16f, 2.00018790482477e-13f);
    p = fmaf(p, v2, -8.60467152213735e-11f);
    p = fmaf(p, v2, 5.12229709037114e-08f);
    p = fmaf(p, v2, 1.48572235717979e-05f);
    p = fmaf(p, v2, 6.37261928875436e-04f);
    p = fmaf(p, v2, 4.89352455891786e-03f);
    p = p * v;
    float q = fmaf(v2, 1.19825839466702e-06f, 1.18534705686654e-04f);
    q = fmaf(q, v2, 2.26843463243900e-03f);
    q = fmaf(q, v2, 4.89352518554385e-03f);
    return p / q;
}

static inline float sigmoid1(float x)
{
    float v = x < -18.0f ? -18.0f : x;
    v = v > 18.0f ? 18.0f : v;
    float v2 = v * v;
    float p = fmaf(v2, 4.37031012579801e-11f, 1.15627324459942e-07f);
    p = fmaf(p, v2, 6.08574864600143e-05f);
    p = fmaf(p, v2, 8.51377133304701e-03f);
    p = fmaf(p, v2, 2.48287947061529e-01f);
    p = p * v;
    float q = fmaf(v2, 6.10247389755681e-13f, 5.76102136993427e-09f);
    q = fmaf(q, v2, 6.29106785017040e-06f);
    q = fmaf(q, v2, 1.70198817374094e-03f);
    q = fmaf(q, v2, 1.16817656904453e-01f);
    q = fmaf(q, v2, 9.93151921023180e-01f);
    float r = p / q + 0.5f;
    return r < 0.0f ? 0.0f : (r > 1.0f ? 1.0f : r);
}

float nn_tanh1(float x) { return tanh1(x); }
float nn_sigmoid1(float x) { return sigmoid1(x); }
static inline float sigm(float v) { return sigmoid1(v); }

/* One LSTM step after the matrix products: gates, cell and output. */
NN_VEC static void lstm_cell(float *rg, const float *gt, const float *B, int H, float *cst, float *h, float *yt)
{
    int G = 4 * H;
    /* pre-activation = (x W + h R) + (Wb + Rb), in that order */
    for (int j = 0; j < G; j++)
        rg[j] = (gt[j] + rg[j]) + (B[j] + B[G + j]);
    for (int j = 0; j < H; j++) {
        float i = sigm(rg[j]);
        float o = sigm(rg[H + j]);
        float f = sigm(rg[2 * H + j]);
        float cc = tanh1(rg[3 * H + j]);
        cst[j] = cst[j] * f + i * cc;
        h[j] = tanh1(cst[j]) * o;
        yt[j] = h[j];
    }
}

int nn_lstm(const float *x, int T, int in, int ldx, const float *W, const float *R, const float *B, int H,
            int reverse, float *y, int ldy, nn_scratch *s)
{
    if (T <= 0)
        return 0;
    int G = 4 * H;
    float *g = nn_scratch_get(s, (size_t)T * G + 2 * (size_t)H + G);
    if (!g)
        return -1;
    float *h = g + (size_t)T * G, *cst = h + H, *rg = cst + H;
    /* The input part of every gate for all steps at once. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, G, in, 1.0f, x, ldx, W, in, 0.0f, g, G);
    memset(h, 0, sizeof(float) * 2 * H);
    for (int step = 0; step < T; step++) {
        int t = reverse ? T - 1 - step : step;
        float *gt = g + (size_t)t * G;
        cblas_sgemv(CblasRowMajor, CblasNoTrans, G, H, 1.0f, R, H, h, 1, 0.0f, rg, 1);
        lstm_cell(rg, gt, B, H, cst, h, y + (size_t)t * ldy);
    }
    return 0;
}

void nn_layer_norm(const float *x, int T, int C, const float *gamma, const float *beta, float eps, float *y)
{
    for (int t = 0; t < T; t++) {
        const float *xt = x + (size_t)t * C;
        float *yt = y + (size_t)t * C;
        float mean = 0.0f, var = 0.0f;
        for (int c = 0; c < C; c++)
            mean += xt[c];
        mean /= (float)C;
        for (int c = 0; c < C; c++)
            var += (xt[c] - mean) * (xt[c] - mean);
        var /= (float)C;
        float inv = 1.0f / sqrtf(var + eps);
        for (int c = 0; c < C; c++)
            yt[c] = (xt[c] - mean) * inv * (gamma ? gamma[c] : 1.0f) + (beta ? beta[c] : 0.0f);
    }
}

void nn_instance_norm(const float *x, int C, int T, float eps, float *y)
{
    nn_adain(x, C, T, NULL, NULL, eps, y);
}

/* Four lanes of doubles: lane j sums the samples t = j mod 4, the same
 * four running sums as four scalars would keep (the vector type only makes
 * the compiler use one register for them). */
typedef double v4d __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));

/* Mean and 1/sqrt(var + eps) of one channel, in double (T reaches 10^5 and
 * more in the generator), with four partial sums so that the additions are
 * not one long dependency chain. */
NN_VEC static void channel_stats(const float *xc, int T, float eps, float *m_out, float *inv_out)
{
    v4d s = {0, 0, 0, 0};
    int t = 0;
    for (; t + 4 <= T; t += 4) {
        v4f x;
        memcpy(&x, xc + t, sizeof x);
        s += __builtin_convertvector(x, v4d);
    }
    for (; t < T; t++)
        s[0] += xc[t];
    double mean = ((s[0] + s[1]) + (s[2] + s[3])) / T;
    v4d v = {0, 0, 0, 0}, mv = {mean, mean, mean, mean};
    for (t = 0; t + 4 <= T; t += 4) {
        v4f x;
        memcpy(&x, xc + t, sizeof x);
        v4d d = __builtin_convertvector(x, v4d) - mv;
        v += d * d;
    }
    for (; t < T; t++)
        v[0] += (xc[t] - mean) * (xc[t] - mean);
    double var = ((v[0] + v[1]) + (v[2] + v[3])) / T;
    *m_out = (float)mean;
    *inv_out = (float)(1.0 / sqrt(var + eps));
}

NN_VEC static void adain_apply(const float *xc, float *yc, int T, float m, float inv, float scale, float shift)
{
    for (int t = 0; t < T; t++)
        yc[t] = (xc[t] - m) * inv * scale + shift;
}

void nn_adain(const float *x, int C, int T, const float *gamma, const float *beta, float eps, float *y)
{
#pragma omp parallel for schedule(dynamic) if (C > 1 && (size_t)C * T > 16384)
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * T;
        float *yc = y + (size_t)c * T;
        float m, inv;
        channel_stats(xc, T, eps, &m, &inv);
        float scale = gamma ? 1.0f + gamma[c] : 1.0f, shift = beta ? beta[c] : 0.0f;
        adain_apply(xc, yc, T, m, inv, scale, shift);
    }
}

NN_VEC static void leaky_chunk(float *x, size_t n, float slope)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] < 0.0f ? x[i] * slope : x[i];
}

/* Element-wise loops over long arrays are cut into chunks of this many
 * elements for the threads (element-wise: the result cannot depend on it). */
#define EW_CHUNK 32768

void nn_leaky_relu(float *x, size_t n, float slope)
{
    long nc = (long)((n + EW_CHUNK - 1) / EW_CHUNK);
#pragma omp parallel for schedule(dynamic) if (nc > 1)
    for (long i = 0; i < nc; i++) {
        size_t a = (size_t)i * EW_CHUNK, len = n - a < EW_CHUNK ? n - a : EW_CHUNK;
        leaky_chunk(x + a, len, slope);
    }
}

/* sin(x) for the Snake activation: libm's sinf is a call per element and
 * does not vectorise; this is a range reduction by pi (in two parts, exact
 * for |x| < 2^12 * pi) and an odd Taylor polynomial to x^13 on [-pi/2, pi/2],
 * within 2e-7 of sinf over the range the model produces. Plain float
 * arithmetic, so the compiler vectorises the loop that calls it. */
static inline float fast_sin(float x)
{
    /* round to nearest by adding and removing 1.5 * 2^23 (rintf is a library
     * call without SSE4.1, which would stop the vectoriser) */
    float k = (x * 0.318309886183790672f + 12582912.0f) - 12582912.0f;
    float r = x - k * 3.140625f;
    r = r - k * 9.67653589793e-4f;
    float r2 = r * r;
    float p = 1.0f / 6227020800.0f;
    p = p * r2 - 1.0f / 39916800.0f;
    p = p * r2 + 1.0f / 362880.0f;
    p = p * r2 - 1.0f / 5040.0f;
    p = p * r2 + 1.0f / 120.0f;
    p = p * r2 - 1.0f / 6.0f;
    float sn = r + r * r2 * p;
    /* (-1)^k: k is a small integer held exactly in a float */
    return ((int)k & 1) ? -sn : sn;
}

float nn_sin(float x) { return fast_sin(x); }

NN_VEC static void snake_row(float *xc, int T, float a, float inv)
{
    for (int t = 0; t < T; t++) {
        float sn = fast_sin(a * xc[t]);
        xc[t] += inv * sn * sn;
    }
}

void nn_snake(float *x, int C, int T, const float *alpha, const float *ralpha)
{
#pragma omp parallel for schedule(dynamic) if (C > 1 && (size_t)C * T > 16384)
    for (int c = 0; c < C; c++) {
        float a = alpha[c], inv = ralpha ? ralpha[c] : 1.0f / a;
        snake_row(x + (size_t)c * T, T, a, inv);
    }
}

/* AdaIN then Snake in one pass over the output: the same operations, in the
 * same order, as nn_adain followed by nn_snake. */
NN_VEC static void adain_snake_row(const float *xc, float *yc, int T, float m, float inv, float scale, float shift,
                                   float a, float ra)
{
    for (int t = 0; t < T; t++) {
        float v = (xc[t] - m) * inv * scale + shift;
        float sn = fast_sin(a * v);
        yc[t] = v + ra * sn * sn;
    }
}

void nn_adain_snake(const float *x, int C, int T, const float *gamma, const float *beta, float eps,
                    const float *alpha, const float *ralpha, float *y)
{
#pragma omp parallel for schedule(dynamic) if (C > 1 && (size_t)C * T > 16384)
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * T;
        float m, inv;
        channel_stats(xc, T, eps, &m, &inv);
        float scale = gamma ? 1.0f + gamma[c] : 1.0f, shift = beta ? beta[c] : 0.0f;
        float a = alpha[c], ra = ralpha ? ralpha[c] : 1.0f / a;
        adain_snake_row(xc, y + (size_t)c * T, T, m, inv, scale, shift, a, ra);
    }
}

int nn_window(long lo, long hi, int t_in, long *first)
{
    lo = lo < 0 ? 0 : lo;
    hi = hi > t_in - 1 ? t_in - 1 : hi;
    *first = lo;
    return hi >= lo ? (int)(hi - lo + 1) : 0;
}

void nn_window_activate(const float *x, int t_in, const float *pre, int C, int ci, long first, int n, float *xw)
{
    const float *K = pre;
    adain_snake_row(x + (size_t)ci * t_in + first, xw + (size_t)ci * n, n, K[ci], K[C + ci], K[2 * C + ci],
                    K[3 * C + ci], K[4 * C + ci], K[5 * C + ci]);
}

void nn_adain_snake_prep(const float *x, int C, int T, const float *gamma, const float *beta, float eps,
                         const float *alpha, const float *ralpha, float *k)
{
#pragma omp parallel for schedule(dynamic) if (C > 1 && (size_t)C * T > 16384)
    for (int c = 0; c < C; c++) {
        float m, inv;
        channel_stats(x + (size_t)c * T, T, eps, &m, &inv);
        k[c] = m, k[C + c] = inv;
        k[2 * C + c] = gamma ? 1.0f + gamma[c] : 1.0f;
        k[3 * C + c] = beta ? beta[c] : 0.0f;
        k[4 * C + c] = alpha[c];
        k[5 * C + c] = ralpha ? ralpha[c] : 1.0f / alpha[c];
    }
}

/* nn_conv1d and nn_conv1d_ex (see nn.h). With pre, each tile first
 * activates the window of x it reads (adain_snake_row on each channel's
 * slice: element-wise, so the same values as activating the whole signal)
 * and reads that window instead of x; with accumulate, each tile's product
 * goes to a tile buffer, gets the bias, and is added to y. The sgemm calls
 * are the same as without (same shapes, same operands' values), so are the
 * results, bit for bit. */
static int conv1d_impl(const nn_conv *c, const float *x, int t_in, const float *pre, const float *w, const float *b,
                       float *y, int accumulate, nn_scratch *s)
{
    int t_out = nn_conv_out_len(c, t_in);
    if (t_out <= 0)
        return 0;
    if (c->groups > 1) {
        conv_depthwise(c, x, t_in, w, b, y, t_out);
        return 0;
    }
    int rows = c->cin * c->k;
    int pointwise = c->k == 1 && c->stride == 1 && c->pad_l == 0 && c->pad_r == 0;
    /* Stride-1 convolutions over many channels skip im2col away from the
     * edges: y[:, tile] = sum over kk of W_kk x[:, tile shifted by kk * dil],
     * one sgemm per tap reading x in place (W_kk = w[:, :, kk], repacked
     * once per call). Tiles that touch the padding go through im2col. */
    int shifted = !pointwise && c->stride == 1 && c->cin >= 64;
    /* A 1x1 convolution is a plain matrix product over x itself; others go
     * through an im2col tile per thread. Either way the time axis is cut
     * into pieces fixed by the shapes, and each piece is done by one thread
     * with the same calls whoever takes it. */
    int tile = pointwise ? CONV1X1_CHUNK : tile_len(rows, t_out);
    int n_tiles = (t_out + tile - 1) / tile;
    /* A short signal makes few tiles (the decoder's 1024 channels over a
     * 3 s sentence: 3), too few to share between threads, and each sgemm
     * packs the whole weight matrix: then the output channels are cut into
     * blocks as well (at least 64 each), so that there are CONV_PIECES
     * pieces. Fixed by the shapes, like the tiles. */
    int n_cob = 1, cob = c->cout;
    if (n_tiles < CONV_PIECES) {
        n_cob = (CONV_PIECES + n_tiles - 1) / n_tiles;
        if (n_cob > c->cout / 64)
            n_cob = c->cout / 64 > 0 ? c->cout / 64 : 1;
        cob = ((c->cout + n_cob - 1) / n_cob + 15) / 16 * 16;
        n_cob = (c->cout + cob - 1) / cob;
    }
    int n_pieces = n_tiles * n_cob;
    int nth = nn_threads_max();
    if (nth > n_pieces)
        nth = n_pieces;
    float *col = NULL, *wk = NULL;
    /* per thread: the im2col tile, the activated window (pre), the product tile (accumulate) */
    int win = (tile - 1) * c->stride + (c->k - 1) * c->dilation + 1;
    size_t per_col = pointwise ? 0 : (size_t)rows * tile, per_win = pre ? (size_t)c->cin * win : 0;
    size_t per_acc = accumulate ? (size_t)c->cout * tile : 0, per = per_col + per_win + per_acc;
    if (per) {
        size_t nw = shifted ? (size_t)rows * c->cout : 0;
        wk = nn_scratch_get(s, nw + per * nth);
        if (!wk)
            return -1;
        col = wk + nw;
        if (shifted)
            for (int kk = 0; kk < c->k; kk++)
                for (int co = 0; co < c->cout; co++)
                    for (int ci = 0; ci < c->cin; ci++)
                        wk[((size_t)kk * c->cout + co) * c->cin + ci] = w[((size_t)co * c->cin + ci) * c->k + kk];
    }
#pragma omp parallel for schedule(dynamic) num_threads(nth) if (nth > 1)
    for (int pi = 0; pi < n_pieces; pi++) {
        int t0 = pi / n_cob * tile;
        int n = t_out - t0 < tile ? t_out - t0 : tile;
        int co0 = pi % n_cob * cob, nco = c->cout - co0 < cob ? c->cout - co0 : cob; /* output channels */
        float *cb = per ? col + (size_t)nn_thread_id() * per : NULL;
        /* the input: x itself, or the activated window of it this tile reads */
        const float *xs = x;
        int ldx = t_in, xoff = 0;
        if (pre) {
            long lo;
            int wn = nn_window((long)t0 * c->stride - c->pad_l,
                               (long)(t0 + n - 1) * c->stride + (long)(c->k - 1) * c->dilation - c->pad_l, t_in, &lo);
            float *xw = cb + per_col;
            for (int ci = 0; ci < c->cin; ci++)
                nn_window_activate(x, t_in, pre, c->cin, ci, lo, wn, xw);
            xs = xw, ldx = wn, xoff = (int)lo;
        }
        /* dst: row co - co0 for output channel co */
        float *dst = accumulate ? cb + per_col + per_win : y + (size_t)co0 * t_out + t0;
        int ldd = accumulate ? n : t_out;
        if (pointwise) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nco, n, c->cin, 1.0f, w + (size_t)co0 * c->cin,
                        c->cin, xs + t0 - xoff, ldx, 0.0f, dst, ldd);
        } else if (shifted && t0 - c->pad_l >= 0 &&
                   (long)t0 + n - 1 + (long)(c->k - 1) * c->dilation - c->pad_l < t_in) {
            for (int kk = 0; kk < c->k; kk++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nco, n, c->cin, 1.0f,
                            wk + ((size_t)kk * c->cout + co0) * c->cin, c->cin,
                            xs + t0 + kk * c->dilation - c->pad_l - xoff, ldx, kk ? 1.0f : 0.0f, dst, ldd);
        } else {
            im2col_tile(c, xs, ldx, xoff, t_in, t0, n, cb);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nco, n, rows, 1.0f, w + (size_t)co0 * rows, rows,
                        cb, n, 0.0f, dst, ldd);
        }
        if (b)
            for (int co = 0; co < nco; co++) {
                float *dc = dst + (size_t)co * ldd;
                for (int t = 0; t < n; t++)
                    dc[t] += b[co0 + co];
            }
        if (accumulate)
            for (int co = 0; co < nco; co++) {
                const float *dc = dst + (size_t)co * n;
                float *yc = y + (size_t)(co0 + co) * t_out + t0;
                for (int t = 0; t < n; t++)
                    yc[t] = dc[t] + yc[t];
            }
    }
    return 0;
}


NN_VEC static void sigmoid_chunk(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = sigm(x[i]);
}

NN_VEC static void tanh_chunk(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = tanh1(x[i]);
}

NN_VEC static void gelu_chunk(float *x, size_t n)
{
    /* the constants as float32, and u^3 as u*u*u, as the graph has them */
    for (size_t i = 0; i < n; i++) {
        float u = x[i];
        x[i] = 0.5f * u * (1.0f + tanh1(0.7978845834732056f * (u + 0.044714998453855515f * (u * u * u))));
    }
}

#define EW_PARALLEL(fn, x, n)                                                                                      \
    do {                                                                                                           \
        long nc_ = (long)(((n) + EW_CHUNK - 1) / EW_CHUNK);                                                         \
        _Pragma("omp parallel for schedule(dynamic) if (nc_ > 1)") for (long i_ = 0; i_ < nc_; i_++)                \
        {                                                                                                          \
            size_t a_ = (size_t)i_ * EW_CHUNK;                                                                     \
            fn((x) + a_, (n) - a_ < EW_CHUNK ? (n) - a_ : EW_CHUNK);                                               \
        }                                                                                                          \
    } while (0)

void nn_sigmoid(float *x, size_t n) { EW_PARALLEL(sigmoid_chunk, x, n); }
void nn_tanh(float *x, size_t n) { EW_PARALLEL(tanh_chunk, x, n); }
void nn_gelu_tanh(float *x, size_t n) { EW_PARALLEL(gelu_chunk, x, n); }

void nn_softmax(float *x, int rows, int n)
{
    for (int r = 0; r < rows; r++) {
        float *xr = x + (size_t)r * n, mx = xr[0], sum = 0.0f;
        for (int i = 1; i < n; i++)
            mx = xr[i] > mx ? xr[i] : mx;
        for (int i = 0; i < n; i++)
            sum += (xr[i] = expf(xr[i] - mx));
        for (int i = 0; i < n; i++)
            xr[i] /= sum;
    }
}
