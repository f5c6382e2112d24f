/*
 * nn_stft.c - the short-time Fourier transform of a real signal (frames of
 * 20 samples, hop 5, reflect padding of 10) computed as ONNX Runtime's STFT
 * kernel computes it, bit for bit: a DFT of a length that is not a power of
 * two through Bluestein's chirp-z transform, with ORT's radix-2 FFTs of
 * length 64 in float complex arithmetic (ORT's fft_radix2: its twiddles in
 * bit-reversed order, its inverse with the forward twiddles, which reverses
 * the output order).
 *
 * Why bit for bit: the harmonic source of Kokoro's generator is a constant
 * in unvoiced stretches, and the windowed spectrum of a constant is zero in
 * most bins up to rounding noise; the generator takes the phase of that
 * noise as an input feature, so only ORT's exact arithmetic gives ORT's
 * audio (see src/model/forward.c).
 *
 * The frames go SL at a time, one per vector lane: every lane does the
 * operations one frame would do alone, in the same order (no a*b+c fused:
 * -ffp-contract=off), so the lanes change the speed, not the bits.
 */
#define _DEFAULT_SOURCE /* M_PI */
#include "nn.h"
#include "nn_internal.h"

#include <math.h>
#include <stddef.h>

#define SN 20             /* frame length */
#define SM 64             /* ORT's FFT length: the power of two >= 2 SN - 1 */
#define SBINS (SN / 2 + 1) /* bins returned */
#define SHOP 5
#define SPAD 10
#define SL 16 /* frames per pass: one per lane */

/* one value per lane, for each of SM points */
typedef float lanes[SM][SL];

typedef struct {
    float vr[SM], vi[SM]; /* forward twiddles, in bit-reversed order */
    float cr[SN], ci[SN]; /* chirp exp(-i pi n^2 / SN) */
    float br[SM], bi[SM]; /* FFT of the conjugate chirp, wrapped */
} stft_tab;

static unsigned bit_reverse(unsigned v, unsigned bits)
{
    unsigned r = 0;
    for (unsigned i = 0; i < bits; i++)
        r |= ((v >> i) & 1u) << (bits - 1 - i);
    return r;
}

/* ORT's fft_radix2 of each lane of (xr, xi) into (yr, yi): y = x in
 * bit-reversed order, then butterflies y[k+j] = e + w1 o, y[k+j+mid] =
 * e + w2 o with ORT's two twiddles; the inverse divides by SM. */
NN_VEC static void fft_ort(const stft_tab *t, lanes xr, lanes xi, lanes yr, lanes yi, int inverse)
{
    for (unsigned i = 0; i < SM; i++) {
        unsigned r = bit_reverse(i, 6);
        for (int l = 0; l < SL; l++)
            yr[i][l] = xr[r][l], yi[i][l] = xi[r][l];
    }
    unsigned bits = 0;
    for (unsigned len = 2; len <= SM; len <<= 1) {
        unsigned mid = len >> 1;
        bits++;
        for (unsigned k = 0; k < mid; k++) {
            unsigned r1 = bit_reverse(k, bits), r2 = bit_reverse(mid + k, bits);
            float w1r = t->vr[r1], w1i = t->vi[r1], w2r = t->vr[r2], w2i = t->vi[r2];
            for (unsigned j = 0; j < SM; j += len) {
                float *er = yr[k + j], *ei = yi[k + j], *or = yr[k + j + mid], *oi = yi[k + j + mid];
                for (int l = 0; l < SL; l++) {
                    float e_r = er[l], e_i = ei[l], o_r = or[l], o_i = oi[l];
                    er[l] = e_r + (w1r * o_r - w1i * o_i), ei[l] = e_i + (w1r * o_i + w1i * o_r);
                    or[l] = e_r + (w2r * o_r - w2i * o_i), oi[l] = e_i + (w2r * o_i + w2i * o_r);
                }
            }
        }
    }
    if (inverse)
        for (unsigned i = 0; i < SM; i++)
            for (int l = 0; l < SL; l++)
                yr[i][l] /= (float)SM, yi[i][l] /= (float)SM;
}

static void stft_tab_init(stft_tab *t)
{
    const float pi = 3.14159265358979323846f, tau = 2 * pi;
    const float av = -1.0f * tau / (float)SM;
    for (unsigned i = 0; i < SM; i++) {
        float angle = (float)i * av;
        unsigned r = bit_reverse(i, 6);
        t->vr[r] = cosf(angle), t->vi[r] = sinf(angle);
    }
    lanes br = {{0}}, bi = {{0}}, fr, fi;
    for (unsigned n = 0; n < SN; n++) {
        float e = -1.0f * pi * (float)n * (float)n / (float)SN;
        t->cr[n] = cosf(e), t->ci[n] = sinf(e);
        br[n][0] = t->cr[n], bi[n][0] = -t->ci[n];
    }
    for (unsigned n = SM - SN + 1; n < SM; n++)
        br[n][0] = br[SM - n][0], bi[n][0] = bi[SM - n][0];
    fft_ort(t, br, bi, fr, fi, 0);
    for (unsigned i = 0; i < SM; i++)
        t->br[i] = fr[i][0], t->bi[i] = fi[i][0];
}

/* Frames t0 .. t0 + SL - 1 (those past the last, F - 1, repeat it and are
 * not written): bins 0..10 of the DFT of each windowed frame. */
NN_VEC static void stft_frames(const stft_tab *t, const float *x, size_t N, const float *win, int F, int t0, float *re,
                               float *im)
{
    lanes ar, ai, fr, fi;
    for (int n = 0; n < SM; n++)
        for (int l = 0; l < SL; l++)
            ar[n][l] = ai[n][l] = 0.0f;
    for (int l = 0; l < SL; l++) {
        long f = t0 + l < F ? t0 + l : F - 1;
        for (int n = 0; n < SN; n++) {
            long j = f * SHOP + n - SPAD; /* reflect padding */
            if (j < 0)
                j = -j;
            if (j >= (long)N)
                j = 2 * ((long)N - 1) - j;
            float xw = x[j] * win[n];
            ar[n][l] = xw * t->cr[n], ai[n][l] = xw * t->ci[n];
        }
    }
    fft_ort(t, ar, ai, fr, fi, 0);
    for (int i = 0; i < SM; i++)
        for (int l = 0; l < SL; l++) {
            float a_r = fr[i][l], a_i = fi[i][l];
            fr[i][l] = a_r * t->br[i] - a_i * t->bi[i], fi[i][l] = a_r * t->bi[i] + a_i * t->br[i];
        }
    fft_ort(t, fr, fi, ar, ai, 1);
    int nl = F - t0 < SL ? F - t0 : SL;
    for (int k = 0; k < SBINS; k++) {
        int i = k ? SM - k : 0; /* the inverse's reversed order */
        for (int l = 0; l < nl; l++) {
            float a_r = ar[i][l], a_i = ai[i][l];
            re[(size_t)k * F + t0 + l] = a_r * t->cr[k] - a_i * t->ci[k];
            im[(size_t)k * F + t0 + l] = a_r * t->ci[k] + a_i * t->cr[k];
        }
    }
}

void nn_stft20(const float *x, size_t N, const float *win, int F, float *re, float *im)
{
    stft_tab t;
    stft_tab_init(&t);
#pragma omp parallel for schedule(static) if (F > 4 * SL)
    for (int g = 0; g < (F + SL - 1) / SL; g++)
        stft_frames(&t, x, N, win, F, g * SL, re, im);
}
