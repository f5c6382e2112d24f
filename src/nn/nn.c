/*
 * nn.c - see nn.h. Convolutions are im2col + GEMM over tiles of the time
 * axis, so that the column buffer stays a few MiB however long the signal;
 * the tile length depends only on the shapes, which keeps results independent
 * of anything else (thread count, previous calls).
 */
#include "nn.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

float *nn_scratch_get(nn_scratch *s, size_t n)
{
    if (n > s->cap) {
        free(s->p);
        s->p = malloc(n * sizeof(float));
        s->cap = s->p ? n : 0;
    }
    return s->p;
}

void nn_scratch_free(nn_scratch *s)
{
    free(s->p);
    s->p = NULL;
    s->cap = 0;
}

/* Columns of the im2col buffer per tile: about 4 MiB of floats. */
static int tile_len(int rows, int t_out)
{
    int t = (int)((1u << 20) / (unsigned)(rows > 0 ? rows : 1));
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

int nn_conv1d(const nn_conv *c, const float *x, int t_in, const float *w, const float *b, float *y,
              nn_scratch *s)
{
    int t_out = nn_conv_out_len(c, t_in);
    if (t_out <= 0)
        return 0;
    if (c->groups > 1) {
        conv_depthwise(c, x, t_in, w, b, y, t_out);
        return 0;
    }
    int rows = c->cin * c->k;
    if (c->k == 1 && c->stride == 1 && c->pad_l == 0 && c->pad_r == 0) {
        /* A 1x1 convolution is a plain matrix product over x itself. */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->cout, t_out, c->cin, 1.0f, w, c->cin, x, t_in,
                    0.0f, y, t_out);
    } else {
        int tile = tile_len(rows, t_out);
        float *col = nn_scratch_get(s, (size_t)rows * tile);
        if (!col)
            return -1;
        for (int t0 = 0; t0 < t_out; t0 += tile) {
            int n = t_out - t0 < tile ? t_out - t0 : tile;
            for (int ci = 0; ci < c->cin; ci++) {
                const float *xc = x + (size_t)ci * t_in;
                for (int kk = 0; kk < c->k; kk++) {
                    float *row = col + ((size_t)ci * c->k + kk) * n;
                    int off = kk * c->dilation - c->pad_l;
                    for (int t = 0; t < n; t++) {
                        int i = (t0 + t) * c->stride + off;
                        row[t] = (i >= 0 && i < t_in) ? xc[i] : 0.0f;
                    }
                }
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->cout, n, rows, 1.0f, w, rows, col, n, 0.0f,
                        y + t0, t_out);
        }
    }
    if (b)
        for (int co = 0; co < c->cout; co++) {
            float *yc = y + (size_t)co * t_out;
            for (int t = 0; t < t_out; t++)
                yc[t] += b[co];
        }
    return 0;
}

int nn_convt_out_len(const nn_convt *c, int t_in)
{
    long n = (long)(t_in - 1) * c->stride - c->pad_l - c->pad_r + c->k + c->output_padding;
    return n < 0 ? 0 : (int)n;
}

int nn_conv_transpose1d(const nn_convt *c, const float *x, int t_in, const float *w, const float *b,
                        float *y, nn_scratch *s)
{
    int t_out = nn_convt_out_len(c, t_in);
    if (t_out <= 0)
        return 0;
    for (int co = 0; co < c->cout; co++) {
        float *yc = y + (size_t)co * t_out;
        float bias = b ? b[co] : 0.0f;
        for (int t = 0; t < t_out; t++)
            yc[t] = bias;
    }
    if (c->groups > 1) {
        for (int ch = 0; ch < c->cout; ch++) {
            const float *xc = x + (size_t)ch * t_in, *wc = w + (size_t)ch * c->k;
            float *yc = y + (size_t)ch * t_out;
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
     * is added into y at t*stride + kk - pad_l. */
    int rows = c->cout * c->k;
    int tile = tile_len(rows, t_in);
    float *cols = nn_scratch_get(s, (size_t)rows * tile);
    if (!cols)
        return -1;
    for (int t0 = 0; t0 < t_in; t0 += tile) {
        int n = t_in - t0 < tile ? t_in - t0 : tile;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, n, c->cin, 1.0f, w, rows, x + t0, t_in, 0.0f,
                    cols, n);
        for (int co = 0; co < c->cout; co++) {
            float *yc = y + (size_t)co * t_out;
            for (int kk = 0; kk < c->k; kk++) {
                const float *row = cols + ((size_t)co * c->k + kk) * n;
                int off = t0 * c->stride + kk - c->pad_l;
                for (int t = 0; t < n; t++) {
                    int o = off + t * c->stride;
                    if (o >= 0 && o < t_out)
                        yc[o] += row[t];
                }
            }
        }
    }
    return 0;
}

void nn_linear(const float *x, int m, int k, const float *w, int w_is_kn, const float *b, int n, float *y,
               int ldy)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, w_is_kn ? CblasNoTrans : CblasTrans, m, n, k, 1.0f, x, k, w,
                w_is_kn ? n : k, 0.0f, y, ldy);
    if (b)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                y[(size_t)i * ldy + j] += b[j];
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
float nn_tanh1(float x)
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

float nn_sigmoid1(float x)
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

static inline float sigm(float v) { return nn_sigmoid1(v); }

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
        float *yt = y + (size_t)t * ldy;
        /* pre-activation = (x W + h R) + (Wb + Rb), in that order */
        for (int j = 0; j < G; j++)
            rg[j] = (gt[j] + rg[j]) + (B[j] + B[G + j]);
        for (int j = 0; j < H; j++) {
            float i = sigm(rg[j]);
            float o = sigm(rg[H + j]);
            float f = sigm(rg[2 * H + j]);
            float cc = nn_tanh1(rg[3 * H + j]);
            cst[j] = cst[j] * f + i * cc;
            h[j] = nn_tanh1(cst[j]) * o;
            yt[j] = h[j];
        }
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

void nn_adain(const float *x, int C, int T, const float *gamma, const float *beta, float eps, float *y)
{
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * T;
        float *yc = y + (size_t)c * T;
        /* Double accumulators: T reaches 10^5 and more in the generator. */
        double mean = 0.0, var = 0.0;
        for (int t = 0; t < T; t++)
            mean += xc[t];
        mean /= T;
        for (int t = 0; t < T; t++)
            var += (xc[t] - mean) * (xc[t] - mean);
        var /= T;
        float m = (float)mean, inv = (float)(1.0 / sqrt(var + eps));
        float scale = gamma ? 1.0f + gamma[c] : 1.0f, shift = beta ? beta[c] : 0.0f;
        for (int t = 0; t < T; t++)
            yc[t] = (xc[t] - m) * inv * scale + shift;
    }
}

void nn_leaky_relu(float *x, size_t n, float slope)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] < 0.0f ? x[i] * slope : x[i];
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

void nn_snake(float *x, int C, int T, const float *alpha, const float *ralpha)
{
    for (int c = 0; c < C; c++) {
        float a = alpha[c], inv = ralpha ? ralpha[c] : 1.0f / a;
        float *xc = x + (size_t)c * T;
        for (int t = 0; t < T; t++) {
            float sn = fast_sin(a * xc[t]);
            xc[t] += inv * sn * sn;
        }
    }
}

void nn_sigmoid(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = sigm(x[i]);
}

void nn_tanh(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = nn_tanh1(x[i]);
}

void nn_gelu_tanh(float *x, size_t n)
{
    /* the constants as float32, and u^3 as u*u*u, as the graph has them */
    for (size_t i = 0; i < n; i++) {
        float u = x[i];
        x[i] = 0.5f * u * (1.0f + nn_tanh1(0.7978845834732056f * (u + 0.044714998453855515f * (u * u * u))));
    }
}

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
