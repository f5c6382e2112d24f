/*
 * nn_wino.c - 3-tap convolutions by Winograd's F(2,3) (see nn.h,
 * nn_conv1d_wino): the exact mode's kernel for the convolutions the FFT
 * does not pay for (the decoder's 1024 channels, the generator's first
 * residual block in each stage).
 *
 * Two outputs of a 3-tap correlation, y0 = g0 d0 + g1 d1 + g2 d2 and
 * y1 = g0 d1 + g1 d2 + g2 d3, are
 *   m0 = g0 (d0 - d2),            m1 = (g0 + g1 + g2) / 2 (d1 + d2),
 *   m2 = (g0 - g1 + g2) / 2 (d2 - d1),  m3 = g2 (d1 - d3),
 *   y0 = m0 + m1 + m2,            y1 = m1 - m2 - m3:
 * four products instead of six. Over channels each m_p is a matrix product
 * M_p[cout][tiles] = U_p[cout][cin] V_p[cin][tiles] (U: the weights'
 * transform, V: the inputs'), so the convolution is four sgemm calls of
 * two thirds of im2col's work, plus additions. A dilation d makes d
 * interleaved undilated convolutions: a tile's outputs are t and t + d.
 *
 * The work goes in chunks of CHUNK_TILES tiles (bounds fixed by the
 * shapes), each in parallel steps: the activated input window
 * (nn_conv1d_ex's pre), the input transform (by channel), the products (by
 * transform point and output-channel block), the output transform (by
 * channel). Each piece is computed by one thread with the same operations
 * whoever takes it, so the result does not depend on the thread count.
 */
#include "nn.h"
#include "nn_internal.h"

#include <cblas.h>
#include <stddef.h>

#define CHUNK_TILES 512 /* tiles per chunk (about; a multiple of the dilation) */
#define COUT_BLOCK 128  /* output channels per product */

int nn_conv_wino_suits(const nn_conv *c)
{
    return c->groups == 1 && c->stride == 1 && c->k == 3 && c->dilation >= 1 && c->cin >= 64 && c->cout >= 64;
}

/* U_p[co][ci] for one output channel: the transforms of g[ci][0..2] (g: w[co]). */
NN_VEC static void weights_row(const nn_conv *c, const float *g, int co, float *U)
{
    size_t plane = (size_t)c->cout * c->cin;
    float *u0 = U + (size_t)co * c->cin, *u1 = u0 + plane, *u2 = u1 + plane, *u3 = u2 + plane;
    for (int ci = 0; ci < c->cin; ci++) {
        float g0 = g[3 * ci], g1 = g[3 * ci + 1], g2 = g[3 * ci + 2];
        u0[ci] = g0;
        u1[ci] = 0.5f * ((g0 + g1) + g2);
        u2[ci] = 0.5f * ((g0 - g1) + g2);
        u3[ci] = g2;
    }
}

/* The tiles i of a phase whose samples first + 2 d i + e, 0 <= e <= span,
 * all lie in [0, lim): [*ia, *ib) within [0, ntp). */
static void inside(long first, int d, int span, long lim, int ntp, int *ia, int *ib)
{
    long step = 2L * d, a = first >= 0 ? 0 : (-first + step - 1) / step;
    long last = lim - 1 - span - first; /* 2 d i <= last */
    long b = last < 0 ? 0 : last / step + 1;
    *ia = (int)(a < ntp ? a : ntp);
    *ib = (int)(b < *ia ? *ia : b < ntp ? b : ntp);
}

/* One input channel's transforms for the chunk's nt tiles: tile q = r * ntp
 * + i (phase r, i-th of it) has outputs t_b and t_b + d, t_b = t0 + r + 2 d
 * i, and reads xs(t_b - pad_l + d n), n < 4 (0 outside [0, t_in)); xs(i) =
 * xrow[i - xoff]. V_p[ci][q] with row stride nt. The tiles whose samples
 * all lie inside go without the checks (undilated, they vectorise). */
NN_VEC static void input_row(const nn_conv *c, const float *xrow, int xoff, int t_in, long t0, int ntp, int ci, int nt,
                             float *V)
{
    size_t plane = (size_t)c->cin * nt;
    int d = c->dilation;
    for (int r = 0; r < d; r++) {
        float *v0 = V + (size_t)ci * nt + (size_t)r * ntp, *v1 = v0 + plane, *v2 = v1 + plane, *v3 = v2 + plane;
        long b0 = t0 + r - c->pad_l; /* tile i reads b0 + 2 d i + d n */
        int ia, ib;
        inside(b0, d, 3 * d, t_in, ntp, &ia, &ib);
        /* xp: tile ia's first sample (only formed when there are inner tiles) */
        const float *xp = ia < ib ? xrow + (b0 + 2L * d * ia - xoff) : xrow;
        if (d == 1)
            for (int i = ia; i < ib; i++) {
                const float *p = xp + 2 * (i - ia);
                float d0 = p[0], d1 = p[1], d2 = p[2], d3 = p[3];
                v0[i] = d0 - d2, v1[i] = d1 + d2, v2[i] = d2 - d1, v3[i] = d1 - d3;
            }
        else
            for (int i = ia; i < ib; i++) {
                const float *p = xp + 2L * d * (i - ia);
                float d0 = p[0], d1 = p[d], d2 = p[2 * d], d3 = p[3 * d];
                v0[i] = d0 - d2, v1[i] = d1 + d2, v2[i] = d2 - d1, v3[i] = d1 - d3;
            }
        for (int i = 0; i < ntp; i++) {
            if (i == ia)
                i = ib;
            if (i >= ntp)
                break;
            float dv[4];
            for (int n = 0; n < 4; n++) {
                long j = b0 + 2L * d * i + (long)d * n;
                dv[n] = j >= 0 && j < t_in ? xrow[j - xoff] : 0.0f;
            }
            v0[i] = dv[0] - dv[2];
            v1[i] = dv[1] + dv[2];
            v2[i] = dv[2] - dv[1];
            v3[i] = dv[1] - dv[3];
        }
    }
}

/* One output channel's two outputs per tile from M_p[co][q], bias added,
 * written where they are below t_out (y = out + b, or (out + b) + y when
 * accumulate: nn_conv1d_ex's order); the tiles with both below t_out
 * without the checks. */
NN_VEC static void output_row(const nn_conv *c, const float *M, int t_out, long t0, int ntp, int co, int nt, float bias,
                              float *y, int accumulate)
{
    size_t plane = (size_t)c->cout * nt;
    float *yc = y + (size_t)co * t_out;
    int d = c->dilation;
    for (int r = 0; r < d; r++) {
        const float *m0 = M + (size_t)co * nt + (size_t)r * ntp, *m1 = m0 + plane, *m2 = m1 + plane, *m3 = m2 + plane;
        long tp = t0 + r; /* tile i's outputs tp + 2 d i and that + d */
        int ia, ib;
        inside(tp, d, d, t_out, ntp, &ia, &ib);
        /* yp: tile ia's first output (only formed when there are inner tiles) */
        float *yp = ia < ib ? yc + tp + 2L * d * ia : yc;
        if (d == 1 && accumulate)
            for (int i = ia; i < ib; i++) {
                float a = ((m0[i] + m1[i]) + m2[i]) + bias, b = ((m1[i] - m2[i]) - m3[i]) + bias;
                float *o = yp + 2 * (i - ia);
                o[0] = a + o[0], o[1] = b + o[1];
            }
        else if (d == 1)
            for (int i = ia; i < ib; i++) {
                float a = ((m0[i] + m1[i]) + m2[i]) + bias, b = ((m1[i] - m2[i]) - m3[i]) + bias;
                float *o = yp + 2 * (i - ia);
                o[0] = a, o[1] = b;
            }
        else
            for (int i = ia; i < ib; i++) {
                float a = ((m0[i] + m1[i]) + m2[i]) + bias, b = ((m1[i] - m2[i]) - m3[i]) + bias;
                float *o = yp + 2L * d * (i - ia);
                o[0] = accumulate ? a + o[0] : a;
                o[d] = accumulate ? b + o[d] : b;
            }
        for (int i = 0; i < ntp; i++) {
            if (i == ia)
                i = ib;
            if (i >= ntp)
                break;
            long t = tp + 2L * d * i;
            float a = ((m0[i] + m1[i]) + m2[i]) + bias, b = ((m1[i] - m2[i]) - m3[i]) + bias;
            if (t < t_out)
                yc[t] = accumulate ? a + yc[t] : a;
            if (t + d < t_out)
                yc[t + d] = accumulate ? b + yc[t + d] : b;
        }
    }
}

static int wino(const nn_conv *c, const float *x, int t_in, const float *pre, const float *w, const uint16_t *wh,
                const float *b, float *y, int accumulate, nn_scratch *s);

int nn_conv1d_wino(const nn_conv *c, const float *x, int t_in, const float *pre, const float *w, const float *b,
                   float *y, int accumulate, nn_scratch *s)
{
    return wino(c, x, t_in, pre, w, NULL, b, y, accumulate, s);
}

int nn_conv1d_wino_f16(const nn_conv *c, const float *x, int t_in, const float *pre, const uint16_t *wh,
                       const float *b, float *y, int accumulate, nn_scratch *s)
{
    return wino(c, x, t_in, pre, NULL, wh, b, y, accumulate, s);
}

/* w: float weights, or wh: halves, widened a row at a time. */
static int wino(const nn_conv *c, const float *x, int t_in, const float *pre, const float *w, const uint16_t *wh,
                const float *b, float *y, int accumulate, nn_scratch *s)
{
    if (!nn_conv_wino_suits(c))
        return -1;
    int t_out = nn_conv_out_len(c, t_in);
    if (t_out <= 0)
        return 0;
    int d = c->dilation;
    int ntp_full = CHUNK_TILES / d > 0 ? CHUNK_TILES / d : 1; /* tiles per phase in a full chunk */
    long chunk_t = 2L * d * ntp_full;                         /* outputs per full chunk */
    int nt_max = ntp_full * d;
    long win = chunk_t + 2L * d + 1; /* the input window a chunk reads: outputs, then 2 d more */
    size_t un = 4 * (size_t)c->cout * c->cin, vn = 4 * (size_t)c->cin * nt_max, mn = 4 * (size_t)c->cout * nt_max;
    size_t wn = pre ? (size_t)c->cin * win : 0;
    int nth = nn_threads_max();
    size_t rn = w ? 0 : (size_t)c->cin * 3; /* a row of half weights widened, per thread */
    float *U = nn_scratch_get(s, un + vn + mn + wn + rn * nth);
    if (!U)
        return -1;
    float *V = U + un, *M = V + vn, *xw = M + mn, *rows = xw + wn;
    int n_cob = (c->cout + COUT_BLOCK - 1) / COUT_BLOCK;
    long n_chunks = (t_out + chunk_t - 1) / chunk_t;
#pragma omp parallel num_threads(nth) if (nth > 1)
    {
        float *rowbuf = rows + rn * nn_thread_id();
        /* Barriers: each step below waits for the one before it only where
         * it reads what that one wrote. U is first read by the products,
         * after the input transform's barrier: no wait here. */
#pragma omp for schedule(static) nowait
        for (int co = 0; co < c->cout; co++)
            weights_row(c, nn_weight_row(w, wh, (size_t)co, (size_t)c->cin * 3, rowbuf), co, U);
        for (long ch = 0; ch < n_chunks; ch++) {
            long t0 = ch * chunk_t;
            int ntp = ntp_full;
            if (t0 + chunk_t > t_out)
                ntp = (int)((t_out - t0 + 2L * d - 1) / (2L * d));
            int nt = ntp * d;
            const float *xs = x;
            int ldx = t_in, xoff = 0;
            long lo = 0;
            int n = 0;
            if (pre) {
                n = nn_window(t0 - c->pad_l, t0 + 2L * d * ntp - 1 + 2L * d - c->pad_l, t_in, &lo);
                xs = xw, ldx = n, xoff = (int)lo;
            }
            /* a channel's activated window, then its transform: the same
             * thread, which reads only the row it wrote */
#pragma omp for schedule(static)
            for (int ci = 0; ci < c->cin; ci++) {
                if (pre)
                    nn_window_activate(x, t_in, pre, c->cin, ci, lo, n, xw);
                input_row(c, xs + (size_t)ci * ldx, xoff, t_in, t0, ntp, ci, nt, V);
            }
#pragma omp for schedule(dynamic)
            for (int pc = 0; pc < 4 * n_cob; pc++) {
                int p = pc / n_cob, co0 = pc % n_cob * COUT_BLOCK;
                int nco = c->cout - co0 < COUT_BLOCK ? c->cout - co0 : COUT_BLOCK;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nco, nt, c->cin, 1.0f,
                            U + ((size_t)p * c->cout + co0) * c->cin, c->cin, V + (size_t)p * c->cin * nt, nt, 0.0f,
                            M + ((size_t)p * c->cout + co0) * nt, nt);
            }
            /* no wait after the output transform: the next chunk's
             * products, the first step to write what it reads (M), start
             * after that chunk's input transform, which every thread
             * reaches only when done here */
#pragma omp for schedule(static) nowait
            for (int co = 0; co < c->cout; co++)
                output_row(c, M, t_out, t0, ntp, co, nt, b ? b[co] : 0.0f, y, accumulate);
        }
    }
    return 0;
}
