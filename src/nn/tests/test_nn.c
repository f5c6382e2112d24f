/* test_nn.c - each kernel against a direct loop written from the ONNX
 * operator's definition, on random shapes that exercise padding, dilation,
 * stride, groups and the time tiling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "nn_internal.h"

static unsigned rng = 1;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}
static float *rand_vec(size_t n)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = frand();
    return v;
}

static void assert_close(const float *a, const float *b, size_t n, float tol)
{
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]), m = fmaxf(1.0f, fabsf(b[i]));
        if (d > tol * m) {
            fprintf(stderr, "element %zu: %g vs %g\n", i, (double)a[i], (double)b[i]);
            fail();
        }
    }
}

/* ONNX Conv, 1-D, straight from the definition. */
static void conv_ref(const nn_conv *c, const float *x, int t_in, const float *w, const float *b, float *y)
{
    int t_out = nn_conv_out_len(c, t_in), cig = c->cin / c->groups, cog = c->cout / c->groups;
    for (int co = 0; co < c->cout; co++)
        for (int t = 0; t < t_out; t++) {
            double acc = b ? b[co] : 0;
            int g = co / cog;
            for (int ci = 0; ci < cig; ci++)
                for (int kk = 0; kk < c->k; kk++) {
                    int i = t * c->stride + kk * c->dilation - c->pad_l;
                    if (i >= 0 && i < t_in)
                        acc += (double)w[((size_t)co * cig + ci) * c->k + kk] * x[(size_t)(g * cig + ci) * t_in + i];
                }
            y[(size_t)co * t_out + t] = (float)acc;
        }
}

static void check_conv(nn_conv c, int t_in)
{
    int t_out = nn_conv_out_len(&c, t_in);
    assert_true(t_out > 0);
    float *x = rand_vec((size_t)c.cin * t_in), *w = rand_vec((size_t)c.cout * (c.cin / c.groups) * c.k),
          *b = rand_vec((size_t)c.cout);
    float *y = malloc(sizeof(float) * c.cout * t_out), *r = malloc(sizeof(float) * c.cout * t_out);
    nn_scratch s = {0};
    assert_int_equal(nn_conv1d(&c, x, t_in, w, b, y, &s), 0);
    conv_ref(&c, x, t_in, w, b, r);
    assert_close(y, r, (size_t)c.cout * t_out, 1e-4f);
    nn_scratch_free(&s);
    free(x), free(w), free(b), free(y), free(r);
}

static void test_conv1d(void **state)
{
    check_conv((nn_conv){.cin = 3, .cout = 5, .k = 3, .stride = 1, .dilation = 1, .pad_l = 1, .pad_r = 1, .groups = 1}, 17);
    check_conv((nn_conv){.cin = 8, .cout = 4, .k = 11, .stride = 1, .dilation = 5, .pad_l = 25, .pad_r = 25, .groups = 1}, 40);
    check_conv((nn_conv){.cin = 6, .cout = 6, .k = 3, .stride = 2, .dilation = 1, .pad_l = 1, .pad_r = 1, .groups = 1}, 33);
    check_conv((nn_conv){.cin = 7, .cout = 3, .k = 1, .stride = 1, .dilation = 1, .pad_l = 0, .pad_r = 0, .groups = 1}, 29);
    check_conv((nn_conv){.cin = 5, .cout = 5, .k = 3, .stride = 2, .dilation = 1, .pad_l = 1, .pad_r = 1, .groups = 5}, 20);
    /* padding wider than the signal, and dilation reaching past it (the
     * stride-1 im2col copies shifted rows and zero-fills what leaves x) */
    check_conv((nn_conv){.cin = 3, .cout = 2, .k = 5, .stride = 1, .dilation = 4, .pad_l = 20, .pad_r = 3, .groups = 1}, 9);
    check_conv((nn_conv){.cin = 4, .cout = 3, .k = 3, .stride = 1, .dilation = 7, .pad_l = 0, .pad_r = 30, .groups = 1}, 5);
    /* a 1x1 convolution over several column chunks (512) */
    check_conv((nn_conv){.cin = 9, .cout = 6, .k = 1, .stride = 1, .dilation = 1, .pad_l = 0, .pad_r = 0, .groups = 1}, 1500);
    /* long enough to take several time tiles (1M floats / (rows)) */
    check_conv((nn_conv){.cin = 64, .cout = 8, .k = 7, .stride = 1, .dilation = 3, .pad_l = 9, .pad_r = 9, .groups = 1}, 6000);
    /* tap-by-tap path (cin >= 64) with padding on one side only, and none */
    check_conv((nn_conv){.cin = 70, .cout = 5, .k = 3, .stride = 1, .dilation = 1, .pad_l = 2, .pad_r = 0, .groups = 1}, 3000);
    check_conv((nn_conv){.cin = 64, .cout = 3, .k = 5, .stride = 1, .dilation = 2, .pad_l = 0, .pad_r = 0, .groups = 1}, 2500);
}

static void convt_ref(const nn_convt *c, const float *x, int t_in, const float *w, const float *b, float *y)
{
    int t_out = nn_convt_out_len(c, t_in), cig = c->cin / c->groups, cog = c->cout / c->groups;
    double *acc = calloc((size_t)c->cout * t_out, sizeof *acc);
    for (int ci = 0; ci < c->cin; ci++) {
        int g = ci / cig;
        for (int cl = 0; cl < cog; cl++) {
            int co = g * cog + cl;
            for (int t = 0; t < t_in; t++)
                for (int kk = 0; kk < c->k; kk++) {
                    int o = t * c->stride + kk - c->pad_l;
                    if (o >= 0 && o < t_out)
                        acc[(size_t)co * t_out + o] +=
                            (double)x[(size_t)ci * t_in + t] * w[((size_t)ci * cog + cl) * c->k + kk];
                }
        }
    }
    for (int co = 0; co < c->cout; co++)
        for (int o = 0; o < t_out; o++)
            y[(size_t)co * t_out + o] = (float)(acc[(size_t)co * t_out + o] + (b ? b[co] : 0));
    free(acc);
}

static void check_convt(nn_convt c, int t_in)
{
    int t_out = nn_convt_out_len(&c, t_in);
    float *x = rand_vec((size_t)c.cin * t_in), *w = rand_vec((size_t)c.cin * (c.cout / c.groups) * c.k),
          *b = rand_vec((size_t)c.cout);
    float *y = malloc(sizeof(float) * c.cout * t_out), *r = malloc(sizeof(float) * c.cout * t_out);
    nn_scratch s = {0};
    assert_int_equal(nn_conv_transpose1d(&c, x, t_in, w, b, y, &s), 0);
    convt_ref(&c, x, t_in, w, b, r);
    assert_close(y, r, (size_t)c.cout * t_out, 1e-4f);
    nn_scratch_free(&s);
    free(x), free(w), free(b), free(y), free(r);
}

static void test_conv_transpose1d(void **state)
{
    /* the generator's upsamplers: kernel 20 stride 10 pad 5; kernel 12 stride 6 pad 3 */
    nn_convt a = {.cin = 16, .cout = 8, .k = 20, .stride = 10, .pad_l = 5, .pad_r = 5, .groups = 1};
    check_convt(a, 23);
    assert_int_equal(nn_convt_out_len(&a, 23), 230);
    check_convt((nn_convt){.cin = 8, .cout = 4, .k = 12, .stride = 6, .pad_l = 3, .pad_r = 3, .groups = 1}, 31);
    /* the depthwise 2x upsampling of the AdaIN residual blocks */
    nn_convt d = {.cin = 6, .cout = 6, .k = 3, .stride = 2, .pad_l = 1, .pad_r = 1, .output_padding = 1, .groups = 6};
    check_convt(d, 15);
    assert_int_equal(nn_convt_out_len(&d, 15), 30);
    check_convt((nn_convt){.cin = 40, .cout = 30, .k = 20, .stride = 10, .pad_l = 5, .pad_r = 5, .groups = 1}, 3000);
    /* output channels in several blocks of 16, the last one partial */
    check_convt((nn_convt){.cin = 12, .cout = 37, .k = 12, .stride = 6, .pad_l = 3, .pad_r = 3, .groups = 1}, 200);
}

static void test_linear(void **state)
{
    int m = 7, k = 13, n = 5;
    float *x = rand_vec((size_t)m * k), *w = rand_vec((size_t)k * n), *b = rand_vec((size_t)n);
    float y1[7 * 6], y2[7 * 6];
    nn_linear(x, m, k, w, 1, b, n, y1, 6);
    float *wt = malloc(sizeof(float) * k * n);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < n; j++)
            wt[j * k + i] = w[i * n + j];
    nn_linear(x, m, k, wt, 0, b, n, y2, 6);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double acc = b[j];
            for (int q = 0; q < k; q++)
                acc += (double)x[i * k + q] * w[q * n + j];
            assert_true(fabs(y1[i * 6 + j] - acc) < 1e-4);
            assert_true(fabs(y2[i * 6 + j] - acc) < 1e-4);
        }
    free(x), free(w), free(b), free(wt);
}

/* nn_linear cuts x into blocks of 64 rows: a tall x against the definition. */
static void test_linear_blocks(void **state)
{
    int m = 150, k = 19, n = 11;
    float *x = rand_vec((size_t)m * k), *w = rand_vec((size_t)n * k), *b = rand_vec((size_t)n);
    float *y = malloc(sizeof(float) * m * n);
    nn_linear(x, m, k, w, 0, b, n, y, n);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double acc = b[j];
            for (int q = 0; q < k; q++)
                acc += (double)x[i * k + q] * w[j * k + q];
            assert_true(fabs(y[i * n + j] - acc) < 1e-4);
        }
    free(x), free(w), free(b), free(y);
}

static double sg(double v) { return 1 / (1 + exp(-v)); }

static void test_lstm_matches_definition(void **state)
{
    int T = 9, in = 5, H = 4;
    float *x = rand_vec((size_t)T * in), *W = rand_vec(4 * H * in), *R = rand_vec(4 * H * H),
          *B = rand_vec(8 * H);
    float y[9 * 8];
    nn_scratch s = {0};
    for (int rev = 0; rev <= 1; rev++) {
        assert_int_equal(nn_lstm(x, T, in, in, W, R, B, H, rev, y + rev * H, 2 * H, &s), 0);
        double h[4] = {0}, c[4] = {0};
        for (int step = 0; step < T; step++) {
            int t = rev ? T - 1 - step : step;
            double gate[16], hn[4];
            for (int j = 0; j < 4 * H; j++) {
                gate[j] = B[j] + B[4 * H + j];
                for (int q = 0; q < in; q++)
                    gate[j] += (double)W[j * in + q] * x[t * in + q];
                for (int q = 0; q < H; q++)
                    gate[j] += (double)R[j * H + q] * h[q];
            }
            for (int j = 0; j < H; j++) { /* ONNX order: i, o, f, c */
                double i = sg(gate[j]), o = sg(gate[H + j]), f = sg(gate[2 * H + j]), cc = tanh(gate[3 * H + j]);
                c[j] = f * c[j] + i * cc;
                hn[j] = o * tanh(c[j]);
            }
            memcpy(h, hn, sizeof h);
            for (int j = 0; j < H; j++)
                assert_true(fabs(y[t * 2 * H + rev * H + j] - h[j]) < 1e-5);
        }
    }
    nn_scratch_free(&s);
    free(x), free(W), free(R), free(B);
}

static void test_norms(void **state)
{
    int T = 6, C = 10;
    float *x = rand_vec((size_t)T * C), *g = rand_vec(C), *b = rand_vec(C), y[60];
    nn_layer_norm(x, T, C, g, b, 1e-5f, y);
    for (int t = 0; t < T; t++) {
        double m = 0, v = 0;
        for (int c = 0; c < C; c++)
            m += x[t * C + c];
        m /= C;
        for (int c = 0; c < C; c++)
            v += (x[t * C + c] - m) * (x[t * C + c] - m);
        v /= C;
        for (int c = 0; c < C; c++)
            assert_true(fabs(y[t * C + c] - ((x[t * C + c] - m) / sqrt(v + 1e-5) * g[c] + b[c])) < 1e-5);
    }
    /* AdaIN over x[C][T]: per channel over time */
    nn_adain(x, C, T, g, b, 1e-5f, y);
    for (int c = 0; c < C; c++) {
        double m = 0, v = 0;
        for (int t = 0; t < T; t++)
            m += x[c * T + t];
        m /= T;
        for (int t = 0; t < T; t++)
            v += (x[c * T + t] - m) * (x[c * T + t] - m);
        v /= T;
        for (int t = 0; t < T; t++)
            assert_true(fabs(y[c * T + t] - ((1 + g[c]) * (x[c * T + t] - m) / sqrt(v + 1e-5) + b[c])) < 1e-5);
    }
    free(x), free(g), free(b);
}

/* AdaIN + Snake fused: bit for bit nn_adain then nn_snake, and both close to
 * the definitions; long channels (several vector widths and a remainder). */
static void test_adain_snake(void **state)
{
    int C = 5, T = 1037;
    float *x = rand_vec((size_t)C * T), *g = rand_vec(C), *b = rand_vec(C), *al = rand_vec(C);
    for (int c = 0; c < C; c++)
        al[c] = 0.5f + fabsf(al[c]); /* Snake's alpha is positive */
    float *y1 = malloc(sizeof(float) * C * T), *y2 = malloc(sizeof(float) * C * T);
    nn_adain(x, C, T, g, b, 1e-5f, y1);
    nn_snake(y1, C, T, al, NULL);
    nn_adain_snake(x, C, T, g, b, 1e-5f, al, NULL, y2);
    assert_memory_equal(y1, y2, sizeof(float) * C * T);
    memcpy(y2, x, sizeof(float) * C * T);
    nn_adain_snake(y2, C, T, g, b, 1e-5f, al, NULL, y2); /* in place */
    assert_memory_equal(y1, y2, sizeof(float) * C * T);
    for (int c = 0; c < C; c++) {
        double m = 0, v = 0;
        for (int t = 0; t < T; t++)
            m += x[c * T + t];
        m /= T;
        for (int t = 0; t < T; t++)
            v += (x[c * T + t] - m) * (x[c * T + t] - m);
        v /= T;
        for (int t = 0; t < T; t++) {
            double a = (1 + g[c]) * (x[c * T + t] - m) / sqrt(v + 1e-5) + b[c];
            double r = a + sin(al[c] * a) * sin(al[c] * a) / al[c];
            assert_true(fabs(y1[c * T + t] - r) < 1e-5 * fmax(1, fabs(r)));
        }
    }
    free(x), free(g), free(b), free(al), free(y1), free(y2);
}

/* Every threaded kernel gives the same bits for 1, 2 and 3 threads. */
static void test_thread_count_invariance(void **state)
{
    /* 64 input channels: the tap-by-tap sgemm path away from the edges */
    nn_conv cv = {.cin = 64, .cout = 24, .k = 11, .stride = 1, .dilation = 5, .pad_l = 25, .pad_r = 25, .groups = 1};
    nn_conv pw = {.cin = 30, .cout = 20, .k = 1, .stride = 1, .dilation = 1, .pad_l = 0, .pad_r = 0, .groups = 1};
    nn_convt ct = {.cin = 32, .cout = 40, .k = 12, .stride = 6, .pad_l = 3, .pad_r = 3, .groups = 1};
    int t_in = 4000, tc = nn_conv_out_len(&cv, t_in), tt = nn_convt_out_len(&ct, 700);
    float *x = rand_vec((size_t)64 * t_in), *w = rand_vec((size_t)24 * 64 * 11), *b = rand_vec(64);
    float *wp = rand_vec((size_t)20 * 30), *wt = rand_vec((size_t)32 * 40 * 12);
    float *al = rand_vec(48);
    for (int c = 0; c < 48; c++)
        al[c] = 0.5f + fabsf(al[c]);
    size_t nc = (size_t)24 * tc, np = (size_t)20 * t_in, nt = (size_t)40 * tt, nl = (size_t)300 * 40,
           na = (size_t)48 * t_in;
    float *ref = NULL, *out = NULL;
    size_t tot = nc + np + nt + nl + na;
    nn_scratch s = {0};
    for (int th = 1; th <= 3; th++) {
        nn_set_threads(th);
        out = malloc(sizeof(float) * tot);
        float *o = out;
        assert_int_equal(nn_conv1d(&cv, x, t_in, w, b, o, &s), 0), o += nc;
        assert_int_equal(nn_conv1d(&pw, x, t_in, wp, b, o, &s), 0), o += np;
        assert_int_equal(nn_conv_transpose1d(&ct, x, 700, wt, b, o, &s), 0), o += nt;
        nn_linear(x, 300, 48, w, 0, b, 40, o, 40), o += nl;
        nn_adain_snake(x, 48, t_in, b, w, 1e-5f, al, NULL, o);
        nn_leaky_relu(o, na, 0.1f);
        if (!ref)
            ref = out;
        else {
            assert_memory_equal(ref, out, sizeof(float) * tot);
            free(out);
        }
    }
    nn_set_threads(1);
    nn_scratch_free(&s);
    free(ref), free(x), free(w), free(b), free(wp), free(wt), free(al);
}

/* nn_conv1d_ex: AdaIN-Snake fused into the input tiles and the residual
 * add into the output tiles gives the bits of the separate passes, on the
 * generator's shapes (the tap-by-tap path inside, im2col at the edges,
 * several tiles), a strided one, a 1x1 one and one thread count or three. */
static void test_conv_fused(void **state)
{
    (void)state;
    static const nn_conv shapes[] = {
        {.cin = 128, .cout = 128, .k = 11, .stride = 1, .dilation = 5, .pad_l = 25, .pad_r = 25, .groups = 1},
        {.cin = 64, .cout = 32, .k = 3, .stride = 1, .dilation = 1, .pad_l = 1, .pad_r = 1, .groups = 1},
        {.cin = 22, .cout = 16, .k = 12, .stride = 6, .dilation = 1, .pad_l = 3, .pad_r = 3, .groups = 1},
        {.cin = 40, .cout = 24, .k = 1, .stride = 1, .dilation = 1, .pad_l = 0, .pad_r = 0, .groups = 1},
    };
    int t_in = 3001;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const nn_conv *c = &shapes[si];
        int C = c->cin, t_out = nn_conv_out_len(c, t_in);
        size_t nx = (size_t)C * t_in, ny = (size_t)c->cout * t_out;
        float *x = rand_vec(nx), *w = rand_vec((size_t)c->cout * C * c->k), *b = rand_vec(c->cout);
        float *g = rand_vec(C), *be = rand_vec(C), *al = rand_vec(C), *k = malloc(sizeof(float) * 6 * C);
        for (int i = 0; i < C; i++)
            al[i] = 0.5f + fabsf(al[i]);
        float *act = malloc(sizeof(float) * nx), *want = malloc(sizeof(float) * ny), *res = rand_vec(ny);
        float *got = malloc(sizeof(float) * ny), *want2 = malloc(sizeof(float) * ny);
        nn_scratch s = {0};
        for (int th = 1; th <= 3; th += 2) {
            nn_set_threads(th);
            /* separate passes */
            nn_adain_snake(x, C, t_in, g, be, 1e-5f, al, NULL, act);
            assert_int_equal(nn_conv1d(c, act, t_in, w, b, want, &s), 0);
            for (size_t i = 0; i < ny; i++)
                want2[i] = want[i] + res[i];
            /* fused activation */
            nn_adain_snake_prep(x, C, t_in, g, be, 1e-5f, al, NULL, k);
            assert_int_equal(nn_conv1d_ex(c, x, t_in, k, w, b, got, 0, &s), 0);
            assert_memory_equal(got, want, sizeof(float) * ny);
            /* fused residual add, with and without the activation */
            memcpy(got, res, sizeof(float) * ny);
            assert_int_equal(nn_conv1d_ex(c, x, t_in, k, w, b, got, 1, &s), 0);
            assert_memory_equal(got, want2, sizeof(float) * ny);
            assert_int_equal(nn_conv1d(c, x, t_in, w, b, want, &s), 0);
            memcpy(got, res, sizeof(float) * ny);
            assert_int_equal(nn_conv1d_ex(c, x, t_in, NULL, w, NULL, got, 1, &s), 0);
            assert_int_equal(nn_conv1d(c, x, t_in, w, NULL, want, &s), 0);
            for (size_t i = 0; i < ny; i++)
                want[i] = want[i] + res[i];
            assert_memory_equal(got, want, sizeof(float) * ny);
        }
        nn_set_threads(1);
        nn_scratch_free(&s);
        free(x), free(w), free(b), free(g), free(be), free(al), free(k), free(act), free(want), free(res), free(got);
        free(want2);
    }
    /* grouped convolutions have no fused form */
    nn_conv dw = {.cin = 4, .cout = 4, .k = 3, .stride = 1, .dilation = 1, .pad_l = 1, .pad_r = 1, .groups = 4};
    float x[40] = {0}, w[12] = {0}, y[40], k[24] = {0};
    nn_scratch s = {0};
    assert_int_equal(nn_conv1d_ex(&dw, x, 10, k, w, NULL, y, 0, &s), -1);
    nn_scratch_free(&s);
}

/* A kernel with nn_conv1d_ex's arguments (nn_conv1d_fft, nn_conv1d_wino). */
typedef int (*fused_conv_fn)(const nn_conv *, const float *, int, const float *, const float *, const float *, float *,
                             int, nn_scratch *);

/* kernel on c over t_in random samples: within 2e-6 of the largest output
 * of the definition (double sums); with the fused activation and the
 * residual add, the bits of the separate passes, for 1 and 3 threads. */
static void check_fused_kernel_tol(fused_conv_fn kernel, const nn_conv *c, int t_in, const char *what, float tol)
{
    int C = c->cin, t_out = nn_conv_out_len(c, t_in);
    size_t nx = (size_t)C * t_in, ny = (size_t)c->cout * t_out;
    float *x = rand_vec(nx), *w = rand_vec((size_t)c->cout * C * c->k), *b = rand_vec(c->cout);
    float *g = rand_vec(C), *be = rand_vec(C), *al = rand_vec(C), *k = malloc(sizeof(float) * 6 * C);
    for (int i = 0; i < C; i++)
        al[i] = 0.5f + fabsf(al[i]);
    float *act = malloc(sizeof(float) * nx), *ref = malloc(sizeof(float) * ny), *res = rand_vec(ny);
    float *got = malloc(sizeof(float) * ny), *want = malloc(sizeof(float) * ny);
    nn_scratch s = {0};
    conv_ref(c, x, t_in, w, b, ref);
    float big = 0.0f, err = 0.0f;
    for (size_t i = 0; i < ny; i++)
        big = fmaxf(big, fabsf(ref[i]));
    nn_set_threads(1);
    assert_int_equal(kernel(c, x, t_in, NULL, w, b, got, 0, &s), 0);
    for (size_t i = 0; i < ny; i++)
        err = fmaxf(err, fabsf(got[i] - ref[i]));
    if (err > tol * big) {
        fprintf(stderr, "%s, k %d over %d: max error %g of max %g\n", what, c->k, t_in, (double)err, (double)big);
        fail();
    }
    /* fused activation and residual add == separate passes, for 1 and 3 threads */
    nn_adain_snake(x, C, t_in, g, be, 1e-5f, al, NULL, act);
    assert_int_equal(kernel(c, act, t_in, NULL, w, b, want, 0, &s), 0);
    for (size_t i = 0; i < ny; i++)
        want[i] = want[i] + res[i];
    nn_adain_snake_prep(x, C, t_in, g, be, 1e-5f, al, NULL, k);
    for (int th = 1; th <= 3; th += 2) {
        nn_set_threads(th);
        memcpy(got, res, sizeof(float) * ny);
        assert_int_equal(kernel(c, x, t_in, k, w, b, got, 1, &s), 0);
        assert_memory_equal(got, want, sizeof(float) * ny);
    }
    nn_set_threads(1);
    nn_scratch_free(&s);
    free(x), free(w), free(b), free(g), free(be), free(al), free(k), free(act), free(ref), free(res);
    free(got), free(want);
}

/* fused_f16 on c over t_in random samples with random half weights: the
 * bits of fused (the float kernel) on the widened weights, with the fused
 * activation, the residual add and 2 threads. */
typedef int (*fused_conv_f16_fn)(const nn_conv *, const float *, int, const float *, const uint16_t *, const float *,
                                 float *, int, nn_scratch *);
static void check_half_weights(fused_conv_fn fused, fused_conv_f16_fn fused_f16, const nn_conv *c, int t_in)
{
    int t_out = nn_conv_out_len(c, t_in);
    size_t nw = (size_t)c->cout * c->cin * c->k, ny = (size_t)c->cout * t_out;
    uint16_t *wh = malloc(nw * sizeof *wh);
    for (size_t i = 0; i < nw; i++) /* sign, exponent 9 .. 15 (2^-6 .. 1), any mantissa */
        wh[i] = (uint16_t)((rand() & 1) << 15 | (9 + rand() % 7) << 10 | (rand() & 0x3ff));
    float *w = malloc(nw * sizeof *w), *x = rand_vec((size_t)c->cin * t_in), *b = rand_vec(c->cout);
    float *pre = malloc(sizeof(float) * 6 * c->cin), *g = rand_vec(c->cin), *be = rand_vec(c->cin);
    float *al = rand_vec(c->cin), *y0 = rand_vec(ny), *y1 = malloc(sizeof(float) * ny);
    for (int i = 0; i < c->cin; i++)
        al[i] = 0.5f + fabsf(al[i]);
    nn_adain_snake_prep(x, c->cin, t_in, g, be, 1e-5f, al, NULL, pre);
    memcpy(y1, y0, sizeof(float) * ny);
    nn_widen_f16(wh, nw, w);
    nn_scratch s = {0};
    nn_set_threads(2);
    assert_int_equal(fused(c, x, t_in, pre, w, b, y0, 1, &s), 0);
    assert_int_equal(fused_f16(c, x, t_in, pre, wh, b, y1, 1, &s), 0);
    assert_memory_equal(y0, y1, sizeof(float) * ny);
    nn_set_threads(1);
    nn_scratch_free(&s);
    free(wh), free(w), free(x), free(b), free(pre), free(g), free(be), free(al), free(y0), free(y1);
}

/* nn_conv1d_fft_as on random x and w for c over len samples four ways,
 * the weights' transform all bins first or per bin (how 0, 1), chunks as
 * it chooses or of at most most blocks (max_blocks 0, most): y[v] (v = how
 * + 2 * chunked), cout x t_out floats each, malloc'd. */
static void fft_four_ways(const nn_conv *c, int len, int most, int bf16, float *y[4])
{
    size_t ny = (size_t)c->cout * nn_conv_out_len(c, len);
    float *x = rand_vec((size_t)c->cin * len), *w = rand_vec((size_t)c->cout * c->cin * c->k);
    nn_scratch s = {0};
    for (int v = 0; v < 4; v++) {
        y[v] = malloc(sizeof(float) * ny);
        assert_int_equal(nn_conv1d_fft_as(c, x, len, NULL, w, NULL, NULL, y[v], 0, &s, v % 2, v / 2 ? most : 0, bf16),
                         0);
    }
    nn_scratch_free(&s);
    free(x), free(w);
}

static void check_fused_kernel(fused_conv_fn kernel, const nn_conv *c, int t_in, const char *what)
{
    check_fused_kernel_tol(kernel, c, t_in, what, 2e-6f);
}

/* nn_conv1d_fft through check_fused_kernel (fp32 through two 64-point FFTs
 * and a sum over cin * k products; im2col + sgemm is within about 1e-6 of
 * the definition too), on the generator's shapes and on edge cases:
 * asymmetric padding, a dilation whose phases have different lengths, a
 * signal shorter than one block, one long enough for several chunks.
 * Shapes it does not take are refused. */
static void test_conv_fft(void **state)
{
    (void)state;
    static const nn_conv shapes[] = {
        {.cin = 128, .cout = 128, .k = 11, .stride = 1, .dilation = 5, .pad_l = 25, .pad_r = 25, .groups = 1},
        {.cin = 32, .cout = 48, .k = 7, .stride = 1, .dilation = 3, .pad_l = 9, .pad_r = 9, .groups = 1},
        {.cin = 16, .cout = 32, .k = 7, .stride = 1, .dilation = 1, .pad_l = 2, .pad_r = 7, .groups = 1},
        {.cin = 16, .cout = 16, .k = 11, .stride = 1, .dilation = 1, .pad_l = 5, .pad_r = 5, .groups = 1},
        {.cin = 16, .cout = 16, .k = 5, .stride = 1, .dilation = 2, .pad_l = 0, .pad_r = 0, .groups = 1},
    };
    static const int lens[] = {3001, 1000, 2003, 15000, 40};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        assert_true(nn_conv_fft_suits(&shapes[si]));
        check_fused_kernel(nn_conv1d_fft, &shapes[si], lens[si], "fft");
    }
    /* the weights' transform per bin or all bins first: the same bits, on
     * one chunk and on several (square shapes, whose products overwrite
     * their operand, and not: 0, 3 and 1). Where the chunks are cut
     * changes only the last bits (OpenBLAS's products take a row
     * differently by where it falls in a product's remainder rows): within
     * 1e-6 of the largest output. */
    static const int pick[] = {0, 3, 1};
    for (size_t pi = 0; pi < sizeof pick / sizeof pick[0]; pi++) {
        const nn_conv *c = &shapes[pick[pi]];
        int len = lens[pick[pi]];
        size_t ny = (size_t)c->cout * nn_conv_out_len(c, len);
        float *y[4];
        fft_four_ways(c, len, 24, 0, y);
        assert_memory_equal(y[0], y[1], sizeof(float) * ny);
        assert_memory_equal(y[2], y[3], sizeof(float) * ny);
        float top = 0, err = 0;
        for (size_t i = 0; i < ny; i++) {
            top = fmaxf(top, fabsf(y[0][i]));
            err = fmaxf(err, fabsf(y[0][i] - y[2][i]));
        }
        assert_true(top > 0 && err <= 1e-6f * top);
        for (int v = 0; v < 4; v++)
            free(y[v]);
    }
    /* half weights read a row at a time: the bits of the widened copy (one chunk, several) */
    check_half_weights(nn_conv1d_fft, nn_conv1d_fft_f16, &shapes[0], lens[0]);
    check_half_weights(nn_conv1d_fft, nn_conv1d_fft_f16, &shapes[3], lens[3]);
    nn_conv strided = {.cin = 16, .cout = 16, .k = 7, .stride = 2, .dilation = 1, .pad_l = 3, .pad_r = 3, .groups = 1};
    nn_conv narrow = {.cin = 24, .cout = 16, .k = 7, .stride = 1, .dilation = 1, .pad_l = 3, .pad_r = 3, .groups = 1};
    nn_conv tiny = {.cin = 16, .cout = 16, .k = 3, .stride = 1, .dilation = 1, .pad_l = 1, .pad_r = 1, .groups = 1};
    assert_false(nn_conv_fft_suits(&strided));
    assert_false(nn_conv_fft_suits(&narrow));
    assert_false(nn_conv_fft_suits(&tiny));
    float x[16 * 10] = {0}, w[16 * 16 * 7] = {0}, y[16 * 10];
    nn_scratch s = {0};
    assert_int_equal(nn_conv1d_fft(&narrow, x, 10, NULL, w, NULL, y, 0, &s), -1);
    nn_scratch_free(&s);
}

static int fft_bf16_w(const nn_conv *c, const float *x, int t_in, const float *pre, const float *w, const float *b,
                      float *y, int accumulate, nn_scratch *s)
{
    return nn_conv1d_fft_bf16(c, x, t_in, pre, w, NULL, b, y, accumulate, s);
}
static int fft_bf16_wh(const nn_conv *c, const float *x, int t_in, const float *pre, const uint16_t *wh,
                       const float *b, float *y, int accumulate, nn_scratch *s)
{
    return nn_conv1d_fft_bf16(c, x, t_in, pre, NULL, wh, b, y, accumulate, s);
}

/* The fast mode's FFT convolution (bf16 products) through
 * check_fused_kernel: within 1 % of the largest output of the float
 * reference (bf16's 8 bits of mantissa on the spectra and the weights'
 * transform), the fused activation and residual add equal to separate
 * passes bit for bit, the same bits for 1 and 3 threads; and with half
 * weights, the bits of the widened copy. */
static void test_conv_fft_bf16(void **state)
{
    (void)state;
    static const nn_conv shapes[] = {
        {.cin = 128, .cout = 128, .k = 11, .stride = 1, .dilation = 5, .pad_l = 25, .pad_r = 25, .groups = 1},
        {.cin = 32, .cout = 64, .k = 7, .stride = 1, .dilation = 3, .pad_l = 9, .pad_r = 9, .groups = 1},
        {.cin = 64, .cout = 32, .k = 7, .stride = 1, .dilation = 1, .pad_l = 2, .pad_r = 7, .groups = 1},
        {.cin = 256, .cout = 256, .k = 11, .stride = 1, .dilation = 1, .pad_l = 5, .pad_r = 5, .groups = 1},
    };
    static const int lens[] = {3001, 1000, 2003, 15000};
    if (!nn_conv_fft_bf16_runs(&shapes[0])) {
        fprintf(stderr, "test_conv_fft_bf16: no AVX512_BF16 on this machine; the products stay float32\n");
        return;
    }
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        check_fused_kernel_tol(fft_bf16_w, &shapes[si], lens[si], "fft bf16", 1e-2f);
    check_half_weights(fft_bf16_w, fft_bf16_wh, &shapes[0], lens[0]);
    check_half_weights(fft_bf16_w, fft_bf16_wh, &shapes[3], lens[3]);
    /* the weights' transform per bin or all bins first, one chunk or
     * several: the same bits (each row of a product is summed alone) */
    size_t ny = (size_t)shapes[0].cout * nn_conv_out_len(&shapes[0], lens[0]);
    float *y[4];
    fft_four_ways(&shapes[0], lens[0], 7, 1, y);
    for (int v = 1; v < 4; v++)
        assert_memory_equal(y[0], y[v], sizeof(float) * ny);
    for (int v = 0; v < 4; v++)
        free(y[v]);
}

/* nn_conv1d_wino through check_fused_kernel (3.4e-7 of the largest output
 * seen), on the decoder's and the generator's 3-tap shapes and edge cases
 * (an odd length, a dilation, asymmetric padding, several chunks, a
 * signal of 5 samples); shapes it does not take are refused. */
static void test_conv_wino(void **state)
{
    (void)state;
    static const nn_conv shapes[] = {
        {.cin = 96, .cout = 80, .k = 3, .stride = 1, .dilation = 1, .pad_l = 1, .pad_r = 1, .groups = 1},
        {.cin = 64, .cout = 64, .k = 3, .stride = 1, .dilation = 5, .pad_l = 5, .pad_r = 5, .groups = 1},
        {.cin = 64, .cout = 72, .k = 3, .stride = 1, .dilation = 3, .pad_l = 1, .pad_r = 4, .groups = 1},
        {.cin = 64, .cout = 64, .k = 3, .stride = 1, .dilation = 1, .pad_l = 1, .pad_r = 1, .groups = 1},
        {.cin = 64, .cout = 64, .k = 3, .stride = 1, .dilation = 1, .pad_l = 2, .pad_r = 0, .groups = 1},
    };
    static const int lens[] = {301, 1000, 777, 2500, 5};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        assert_true(nn_conv_wino_suits(&shapes[si]));
        check_fused_kernel(nn_conv1d_wino, &shapes[si], lens[si], "winograd");
    }
    check_half_weights(nn_conv1d_wino, nn_conv1d_wino_f16, &shapes[0], lens[0]);
    check_half_weights(nn_conv1d_wino, nn_conv1d_wino_f16, &shapes[3], lens[3]);
    nn_conv five = {.cin = 64, .cout = 64, .k = 5, .stride = 1, .dilation = 1, .pad_l = 2, .pad_r = 2, .groups = 1};
    nn_conv few = {.cin = 32, .cout = 64, .k = 3, .stride = 1, .dilation = 1, .pad_l = 1, .pad_r = 1, .groups = 1};
    assert_false(nn_conv_wino_suits(&five));
    assert_false(nn_conv_wino_suits(&few));
}

/* nn_alloc: small blocks from malloc, large ones mapped; both usable to the
 * last float, both freed by nn_free; an impossible size is NULL. */
static void test_alloc(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 1000, (1u << 18) - 16, 1u << 18, 3u << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        float *p = nn_alloc(sizes[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 64, 0);
        for (size_t j = 0; j < sizes[i]; j++)
            p[j] = (float)j;
        assert_true(p[sizes[i] - 1] == (float)(sizes[i] - 1));
        nn_free(p);
    }
    assert_null(nn_alloc(SIZE_MAX / 2));
    nn_free(NULL);
}

/* Fast mode: the bf16 convolution (on AMX, or on AVX512_BF16 where there is
 * no AMX) against the float64 definition, within what bf16 operands allow
 * (relative to the sum of |w x|), on shapes with odd channel counts, edges
 * and tiles that do not divide; and the same bits for 1 and 3 threads.
 * Skipped (passes with a note) where neither is available: the engine falls
 * back to the exact mode there. */
static void check_conv_bf16(nn_conv c, int t_in)
{
    int t_out = nn_conv_out_len(&c, t_in);
    float *x = rand_vec((size_t)c.cin * t_in), *w = rand_vec((size_t)c.cout * c.cin * c.k), *b = rand_vec(c.cout);
    float *y = malloc(sizeof(float) * c.cout * t_out), *y3 = malloc(sizeof(float) * c.cout * t_out);
    float *r = malloc(sizeof(float) * c.cout * t_out);
    nn_conv_bf16 pk;
    nn_scratch s = {0};
    assert_int_equal(nn_conv_pack_bf16(&c, w, &pk), 0);
    nn_set_threads(1);
    assert_int_equal(nn_conv1d_bf16(&c, &pk, x, t_in, b, y, &s), 0);
    nn_set_threads(3);
    assert_int_equal(nn_conv1d_bf16(&c, &pk, x, t_in, b, y3, &s), 0);
    nn_set_threads(1);
    assert_memory_equal(y, y3, sizeof(float) * c.cout * t_out);
    conv_ref(&c, x, t_in, w, b, r);
    /* bf16 keeps 8 bits of mantissa: each product is off by < 2^-8 relative;
     * random signs: the error grows like sqrt(terms), bounded here by the
     * sum of |w x| times 2^-7 */
    double worst = 0;
    for (int co = 0; co < c.cout; co++)
        for (int t = 0; t < t_out; t++) {
            double mag = 1e-3;
            for (int ci = 0; ci < c.cin; ci++)
                for (int kk = 0; kk < c.k; kk++) {
                    int i = t + kk * c.dilation - c.pad_l;
                    if (i >= 0 && i < t_in)
                        mag += fabs((double)w[((size_t)co * c.cin + ci) * c.k + kk] * x[(size_t)ci * t_in + i]);
                }
            double e = fabs((double)y[(size_t)co * t_out + t] - r[(size_t)co * t_out + t]) / mag;
            worst = e > worst ? e : worst;
        }
    assert_true(worst < 1.0 / 128);
    assert_true(worst > 0); /* it is bf16, not fp32 */
    nn_conv_bf16_free(&pk);
    nn_scratch_free(&s);
    free(x), free(w), free(b), free(y), free(y3), free(r);
}

static void test_conv_bf16(void **state)
{
    nn_conv bad = {.cin = 8, .cout = 16, .k = 3, .stride = 2, .dilation = 1, .pad_l = 1, .pad_r = 1, .groups = 1};
    nn_conv_bf16 pk;
    assert_int_equal(nn_conv_bf16_supported(&bad), 0);
    assert_int_equal(nn_conv_pack_bf16(&bad, NULL, &pk), -1);
    if (nn_amx_enable() != 0 && !(nn_cpu_features() & NN_CPU_AVX512_BF16)) {
        fprintf(stderr, "test_conv_bf16: neither AMX-BF16 nor AVX512_BF16 on this machine; the kernel is not run\n");
        return;
    }
    fprintf(stderr, "test_conv_bf16: the %s kernel\n", nn_amx_enable() == 0 ? "AMX" : "AVX512_BF16");
    check_conv_bf16((nn_conv){.cin = 128, .cout = 128, .k = 11, .stride = 1, .dilation = 5, .pad_l = 25, .pad_r = 25,
                              .groups = 1}, 700);
    check_conv_bf16((nn_conv){.cin = 1090, .cout = 512, .k = 3, .stride = 1, .dilation = 1, .pad_l = 1, .pad_r = 1,
                              .groups = 1}, 45);
    check_conv_bf16((nn_conv){.cin = 33, .cout = 22, .k = 7, .stride = 1, .dilation = 1, .pad_l = 3, .pad_r = 3,
                              .groups = 1}, 531);
    check_conv_bf16((nn_conv){.cin = 514, .cout = 64, .k = 1, .stride = 1, .dilation = 1, .pad_l = 0, .pad_r = 0,
                              .groups = 1}, 1025);
}

static void test_peak(void **state)
{
    nn_peak pk;
    nn_peak_measure(&pk);
    unsigned f = nn_cpu_features();
    /* where the instruction exists, the loop measured a positive, finite
     * rate (not more: an unoptimised sanitizer build on a loaded machine
     * reaches well under 1 GFLOP/s) */
    if (!(pk.fp32_fma < 1e5))
        fprintf(stderr, "fp32 %g\n", pk.fp32_fma);
    unsigned fma = NN_CPU_AVX512F | NN_CPU_AVX2_FMA; /* either vector width measures fp32 */
    assert_true(!(f & fma) || (pk.fp32_fma > 0 && pk.fp32_fma < 1e5));
    assert_true((f & fma) || pk.fp32_fma == 0);
}

static void test_fast_sin(void **state)
{
    double worst = 0;
    for (float x = -4000.0f; x < 4000.0f; x += 0.0137f) {
        double e = fabs((double)nn_sin(x) - sin((double)x));
        worst = e > worst ? e : worst;
    }
    assert_true(worst < 2e-6); /* at |x| ~ 4000 the float x itself is that coarse */
    worst = 0;
    for (float x = -20.0f; x < 20.0f; x += 0.000731f) {
        double e = fabs((double)nn_sin(x) - sin((double)x));
        worst = e > worst ? e : worst;
    }
    assert_true(worst < 2e-7);
}

static void test_ort_activations(void **state)
{
    /* MLAS's approximations: close to the exact functions, saturating, odd */
    double worst_t = 0, worst_s = 0;
    for (float x = -30.0f; x < 30.0f; x += 0.001f) {
        worst_t = fmax(worst_t, fabs((double)nn_tanh1(x) - tanh((double)x)));
        worst_s = fmax(worst_s, fabs((double)nn_sigmoid1(x) - 1.0 / (1.0 + exp(-(double)x))));
        assert_true(nn_tanh1(-x) == -nn_tanh1(x));
    }
    assert_true(worst_t < 2e-6 && worst_s < 2e-6);
    assert_true(nn_sigmoid1(-100.0f) >= 0.0f && nn_sigmoid1(100.0f) <= 1.0f);
}

/* nn_stft20 against a DFT in double from the definition (reflect padding
 * of 10, hop 5, window of 20, bins 0..10); and a frame's bits do not
 * depend on which frames share its pass (F frames and a shorter prefix). */
static void test_stft20(void **state)
{
    const size_t N = 173;
    const int F = (int)(N / 5 + 1), F2 = F - 7;
    float *x = rand_vec(N), win[20];
    for (int n = 0; n < 20; n++)
        win[n] = 0.5f - 0.5f * cosf(2.0f * 3.14159265f * (float)n / 20.0f);
    float *re = malloc(sizeof(float) * 11 * F), *im = malloc(sizeof(float) * 11 * F);
    float *re2 = malloc(sizeof(float) * 11 * F2), *im2 = malloc(sizeof(float) * 11 * F2);
    nn_stft20(x, N, win, F, re, im);
    nn_stft20(x, N, win, F2, re2, im2);
    double worst = 0;
    for (int t = 0; t < F; t++)
        for (int k = 0; k < 11; k++) {
            double sr = 0, si = 0;
            for (int n = 0; n < 20; n++) {
                long j = (long)t * 5 + n - 10;
                j = j < 0 ? -j : j >= (long)N ? 2 * ((long)N - 1) - j : j;
                double a = -2.0 * 3.14159265358979323846 * k * n / 20.0;
                sr += (double)x[j] * win[n] * cos(a), si += (double)x[j] * win[n] * sin(a);
            }
            worst = fmax(worst, fmax(fabs(re[(size_t)k * F + t] - sr), fabs(im[(size_t)k * F + t] - si)));
            if (t < F2) {
                assert_true(re[(size_t)k * F + t] == re2[(size_t)k * F2 + t]);
                assert_true(im[(size_t)k * F + t] == im2[(size_t)k * F2 + t]);
            }
        }
    assert_true(worst < 5e-5); /* |X| up to ~10; a wrong bin or sign is off by ~1 */
    free(x), free(re), free(im), free(re2), free(im2);
}

static void test_activations(void **state)
{
    float v[4] = {-2, -0.5f, 0, 3};
    nn_leaky_relu(v, 4, 0.2f);
    assert_true(v[0] == -0.4f && v[1] == -0.1f && v[2] == 0 && v[3] == 3);
    float s[4] = {-1, 0, 0.5f, 2}, alpha[2] = {1.0f, 0.5f};
    nn_snake(s, 2, 2, alpha, NULL);
    assert_true(fabsf(s[0] - (-1 + sinf(-1) * sinf(-1))) < 1e-6f);
    assert_true(fabsf(s[3] - (2 + 2 * sinf(1) * sinf(1))) < 1e-6f);
    float sm[3] = {1, 2, 3};
    nn_softmax(sm, 1, 3);
    assert_true(fabsf(sm[0] + sm[1] + sm[2] - 1) < 1e-6f && sm[2] > sm[1]);
    float ge[2] = {1, -1};
    nn_gelu_tanh(ge, 2);
    assert_true(fabsf(ge[0] - 0.8411920f) < 1e-5f && fabsf(ge[1] + 0.1588080f) < 1e-5f);
    float r[2] = {4.0f, 4.0f}, sn[2] = {1, 1};
    nn_snake(sn, 2, 1, alpha, r); /* the stored reciprocal is used as given */
    assert_true(fabsf(sn[0] - (1 + 4 * sinf(1) * sinf(1))) < 1e-6f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv1d),
        cmocka_unit_test(test_conv_transpose1d),
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_linear_blocks),
        cmocka_unit_test(test_lstm_matches_definition),
        cmocka_unit_test(test_norms),
        cmocka_unit_test(test_adain_snake),
        cmocka_unit_test(test_thread_count_invariance),
        cmocka_unit_test(test_conv_fused),
        cmocka_unit_test(test_conv_fft),
        cmocka_unit_test(test_conv_fft_bf16),
        cmocka_unit_test(test_conv_wino),
        cmocka_unit_test(test_alloc),
        cmocka_unit_test(test_conv_bf16),
        cmocka_unit_test(test_peak),
        cmocka_unit_test(test_fast_sin),
        cmocka_unit_test(test_ort_activations),
        cmocka_unit_test(test_stft20),
        cmocka_unit_test(test_activations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
