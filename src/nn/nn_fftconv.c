/*
 * nn_fftconv.c - convolution by FFT (see nn.h, nn_conv1d_fft): the exact
 * mode's kernel for the generator's wide convolutions (7 and 11 taps over
 * 128 or 256 channels, most of the engine's multiplies).
 *
 * im2col + GEMM spends cin * k multiply-adds per output sample and output
 * channel. Here each input channel's signal is cut into overlapping blocks
 * of FN = 64 samples, one block per B = FN - k + 1 outputs (per dilation
 * phase: a convolution with dilation d is d interleaved undilated ones),
 * each block is transformed by a real FFT, and the channels are mixed per
 * frequency bin: for each of the FN / 2 + 1 bins one complex matrix product
 * Y_f[blocks][cout] = X_f[blocks][cin] G_f[cout][cin]^T (cgemm), G_f being
 * the weights' transform. An inverse FFT gives each block's B outputs. That
 * is about 4 (FN / 2 + 1) / B real multiply-adds per output and channel
 * pair instead of k: 2.5 for k = 11, 2.3 for k = 7.
 *
 * The weights' transform G is 9 times the weights (17 MB at 256
 * channels). A signal of one chunk makes each bin's G_f just before its
 * product, in a per-thread buffer that stays in the core's cache; longer
 * ones make all of G once and keep it for every chunk. Both compute each
 * G entry the same way, so the choice does not change the result.
 *
 * The work goes in chunks of blocks, each in four parallel steps: the
 * activated input window (nn_conv1d_ex's pre), the forward FFTs (by
 * block), the products (by bin), the inverse FFTs (by block). A square
 * convolution's products write each bin's result over its operand
 * (through a per-thread buffer), so its chunks hold one set of spectra,
 * not two. The chunks are fixed by the shapes, and each piece is computed
 * by one thread with the same operations whoever takes it, so the result
 * does not depend on the thread count. (Where the chunks are cut changes
 * only the last bits: the blocks are the same, but OpenBLAS sums a row of
 * a product by where it falls in it.)
 *
 * The FFTs are "vertical": 8 lanes at once (one AVX2 register per complex
 * component), two real signals per complex FFT (one in the real part, one
 * in the imaginary part), separated afterwards by symmetry. So one 64-point
 * complex FFT transforms 16 channels' blocks.
 */
#define _DEFAULT_SOURCE /* M_PI */
#include "nn.h"
#include "nn_internal.h"

#include <cblas.h>
#include <complex.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define FN 64              /* FFT size */
#define FBINS (FN / 2 + 1) /* bins of a real signal's spectrum */
#define FL 8               /* lanes: signals per vector */
#define FG (2 * FL)        /* channels per complex FFT (cin, cout: multiples of it) */
/* Chunks: a signal whose spectra and input window take at most
 * ONE_CHUNK_BYTES goes in one (a sentence of up to ~4 s in the generator's
 * 128-channel stage), so that each bin's weight transform is made in cache
 * and every step runs once; a longer one in chunks of about CHUNK_BLOCKS
 * blocks, which bound the memory whatever the length. (Chunks of 128 with
 * separate input and output spectra, as before, were 3-4 % slower on 60
 * ids; chunks of 12-16 MiB for every length cost the 510-id utterance
 * 11-17 MB more.) */
#define ONE_CHUNK_BYTES ((size_t)20 << 20)
#define CHUNK_BLOCKS 128

/* The twiddles e^{-2 pi i m / FN} and the bit reversal of 0..FN-1. Built on
 * each call (a few hundred operations): no global state. */
typedef struct fft_tab {
    float c[FN], s[FN]; /* cos(2 pi m / FN), sin(2 pi m / FN) */
    int rev[FN];
} fft_tab;

static void fft_tab_init(fft_tab *t)
{
    int bits = 0;
    while ((1 << bits) < FN)
        bits++;
    for (int m = 0; m < FN; m++) {
        double a = 2.0 * M_PI * m / FN;
        t->c[m] = (float)cos(a);
        t->s[m] = (float)sin(a);
        int r = 0;
        for (int b = 0; b < bits; b++)
            if (m & (1 << b))
                r |= 1 << (bits - 1 - b);
        t->rev[m] = r;
    }
}

/* FL floats as one vector (GCC and Clang vector extensions: one AVX2
 * register in the x86-64-v3 clone, two SSE ones in the baseline), at any
 * float alignment; element-wise IEEE operations, so the clones agree to the
 * bit. Vector types alias their element type, so the float buffers below
 * are read and written through them. */
typedef float v8 __attribute__((vector_size(FL * sizeof(float)), aligned(4)));
typedef int v8i __attribute__((vector_size(FL * sizeof(int))));
/* a and b's lanes interleaved, the low and high halves (lane moves only:
 * the same bits as storing them one by one) */
#define zip_lo(a, b) __builtin_shuffle(a, b, (v8i){0, 8, 1, 9, 2, 10, 3, 11})
#define zip_hi(a, b) __builtin_shuffle(a, b, (v8i){4, 12, 5, 13, 6, 14, 7, 15})
/* the even and the odd lanes of a then b: a complex row's real and
 * imaginary parts */
#define evens(a, b) __builtin_shuffle(a, b, (v8i){0, 2, 4, 6, 8, 10, 12, 14})
#define odds(a, b) __builtin_shuffle(a, b, (v8i){1, 3, 5, 7, 9, 11, 13, 15})

/* The fast mode's bfloat16 operands (nn_cprod_bf16): float32 to bfloat16
 * bits, round to nearest even (finite values: spectra and weights), lane
 * by lane. */
typedef uint32_t v8u __attribute__((vector_size(FL * sizeof(uint32_t)), aligned(4)));
/* (a macro: a function returning a vector would change the ABI between clones) */
#define bf16_bits(x) ((((v8u)(x)) + 0x7fffu + ((((v8u)(x)) >> 16) & 1u)) >> 16)

/* 2 FL floats as one vector: a pair of groups' signals (fft_pair) */
typedef float v16 __attribute__((vector_size(2 * FL * sizeof(float)), aligned(4)));

/* In-place radix-2 FFT of 2 FL signals held in re[FN], im[FN] (vectors of
 * 2 FL lanes: one AVX-512 register in the x86-64-v4 clone), input in
 * bit-reversed order, output in natural order. sign -1: forward
 * (e^{-i...}), +1: inverse without the 1/FN. Each lane's operations are
 * those of one signal alone, whatever the vector width. */
NN_VEC static void fft_lanes(v16 *re, v16 *im, const fft_tab *t, int sign)
{
    /* the first two stages' twiddles are 1 and -+i: additions only */
    for (int st = 0; st < FN; st += 4) {
        v16 ar = re[st] + re[st + 1], ai = im[st] + im[st + 1], br = re[st] - re[st + 1], bi = im[st] - im[st + 1];
        v16 cr = re[st + 2] + re[st + 3], ci = im[st + 2] + im[st + 3];
        v16 dr = re[st + 2] - re[st + 3], di = im[st + 2] - im[st + 3];
        /* d times -i (forward) or +i (inverse) */
        v16 er = sign < 0 ? di : -di, ei = sign < 0 ? -dr : dr;
        re[st] = ar + cr, im[st] = ai + ci, re[st + 2] = ar - cr, im[st + 2] = ai - ci;
        re[st + 1] = br + er, im[st + 1] = bi + ei, re[st + 3] = br - er, im[st + 3] = bi - ei;
    }
    for (int len = 8; len <= FN; len *= 2) {
        int half = len / 2, step = FN / len;
        for (int j = 0; j < half; j++) {
            float wr = t->c[j * step], wi = sign < 0 ? -t->s[j * step] : t->s[j * step];
            for (int st = j; st < FN; st += len) {
                v16 br = re[st + half], bi = im[st + half];
                v16 tr = br * wr - bi * wi, ti = br * wi + bi * wr;
                re[st + half] = re[st] - tr, im[st + half] = im[st] - ti;
                re[st] = re[st] + tr, im[st] = im[st] + ti;
            }
        }
    }
}

/* The block geometry of one call. */
typedef struct fconv {
    const nn_conv *c;
    int t_in, t_out, B; /* B: outputs per block */
    int nbp;            /* blocks per phase in a full chunk */
} fconv;

/* The weights' transform of 4 FL consecutive values for bin f: declares
 * gr0..gr3 and gi0..gi3, the sums over the k taps j (at stride ld from w)
 * of w_j times ct[j][f], and times st[j][f], FL values each. Four
 * independent chains: each sum is a chain of dependent adds (no FMA
 * contraction in ISO C), which alone would wait on the adder's latency;
 * four overlap (the same sums, the same bits). A macro, so that the eight
 * sums stay in registers. */
#define TRANSFORM4(w, ld, k, f, ct, st)                                                                                \
    v8 gr0 = {0}, gi0 = {0}, gr1 = {0}, gi1 = {0}, gr2 = {0}, gi2 = {0}, gr3 = {0}, gi3 = {0};                         \
    for (int j_ = 0; j_ < (k); j_++) {                                                                                 \
        const float *wj_ = (w) + (size_t)j_ * (ld);                                                                    \
        float cj_ = (ct)[j_][f], sj_ = (st)[j_][f];                                                                    \
        v8 w0_, w1_, w2_, w3_;                                                                                         \
        memcpy(&w0_, wj_, sizeof w0_);                                                                                 \
        memcpy(&w1_, wj_ + FL, sizeof w1_);                                                                            \
        memcpy(&w2_, wj_ + 2 * FL, sizeof w2_);                                                                        \
        memcpy(&w3_, wj_ + 3 * FL, sizeof w3_);                                                                        \
        gr0 += w0_ * cj_, gi0 += w0_ * sj_, gr1 += w1_ * cj_, gi1 += w1_ * sj_;                                        \
        gr2 += w2_ * cj_, gi2 += w2_ * sj_, gr3 += w3_ * cj_, gi3 += w3_ * sj_;                                        \
    }

/* G_f[co][ci] = (1 / FN) sum_j w[co][ci][j] e^{+2 pi i f j / FN} for one
 * bin f and every (co, ci), from wt[co][j][ci] (w with its taps before its
 * input channels), into Gf[co][ci]: the transform of the kernel reversed in
 * time, so that the product with a block's forward transform is the
 * transform of the correlation the convolution computes; the inverse
 * transform's 1/FN is folded in (ct, st: the cos and sin of 2 pi f j / FN
 * over FN, j < k). A bin's G_f is its operand of the product: for a signal
 * of one chunk it is made just before the product, while it fits in a
 * core's cache (all bins at once are 9 times the weights: 17 MB at 256
 * channels, which go out to memory and back). */
NN_VEC static void weights_bin(const nn_conv *c, const float *wt, int f, const float (*ct)[FBINS],
                               const float (*st)[FBINS], float complex *Gf)
{
    for (int co = 0; co < c->cout; co++) {
        const float *wc = wt + (size_t)co * c->k * c->cin;
        int c0 = 0;
        for (; c0 + 4 * FL <= c->cin; c0 += 4 * FL) {
            TRANSFORM4(wc + c0, c->cin, c->k, f, ct, st);
            v8 *gp = (v8 *)(Gf + (size_t)co * c->cin + c0); /* complex: re, im, re, im... */
            gp[0] = zip_lo(gr0, gi0), gp[1] = zip_hi(gr0, gi0), gp[2] = zip_lo(gr1, gi1), gp[3] = zip_hi(gr1, gi1);
            gp[4] = zip_lo(gr2, gi2), gp[5] = zip_hi(gr2, gi2), gp[6] = zip_lo(gr3, gi3), gp[7] = zip_hi(gr3, gi3);
        }
        for (; c0 < c->cin; c0 += FL) {
            v8 gr = {0}, gi = {0};
            for (int j = 0; j < c->k; j++) {
                v8 wl;
                memcpy(&wl, wc + (size_t)j * c->cin + c0, sizeof wl);
                gr += wl * ct[j][f];
                gi += wl * st[j][f];
            }
            v8 *gp = (v8 *)(Gf + (size_t)co * c->cin + c0);
            gp[0] = zip_lo(gr, gi), gp[1] = zip_hi(gr, gi);
        }
    }
}

/* wt[co][j][ci] = w[co][ci][j] (wr: w[co]), for weights_bin's vector loads. */
static void taps_first(const nn_conv *c, const float *wr, int co, float *wt)
{
    float *o = wt + (size_t)co * c->k * c->cin;
    for (int ci = 0; ci < c->cin; ci++)
        for (int j = 0; j < c->k; j++)
            o[(size_t)j * c->cin + ci] = wr[(size_t)ci * c->k + j];
}

/* weights_bin for the fast mode's products: the same G_f, from wc[ci][j][co]
 * (taps_first_co), output channels in the lanes, written as nn_cprod_bf16's
 * pairs: gre (gr, -gi) and gim (gi, gr) in blocks of 32 output channels. */
NN_VEC static void weights_bin_bf16(const nn_conv *c, const float *wc, int f, const float (*ct)[FBINS],
                                    const float (*st)[FBINS], uint32_t *gre, uint32_t *gim)
{
    for (int ci = 0; ci < c->cin; ci++) {
        const float *wi = wc + (size_t)ci * c->k * c->cout;
        for (int co0 = 0; co0 < c->cout; co0 += 4 * FL) {
            TRANSFORM4(wi + co0, c->cout, c->k, f, ct, st);
            uint32_t *ore = gre + (size_t)co0 * c->cin + (size_t)ci * 4 * FL; /* block co0 / 32, row ci */
            uint32_t *oim = gim + (size_t)co0 * c->cin + (size_t)ci * 4 * FL;
            v8u p;
#define PUT(q, gr, gi)                                                                                                 \
    p = bf16_bits(gr) | (bf16_bits(-(gi)) << 16), memcpy(ore + (q) * FL, &p, sizeof p);                               \
    p = bf16_bits(gi) | (bf16_bits(gr) << 16), memcpy(oim + (q) * FL, &p, sizeof p)
            PUT(0, gr0, gi0);
            PUT(1, gr1, gi1);
            PUT(2, gr2, gi2);
            PUT(3, gr3, gi3);
#undef PUT
        }
    }
}

/* wc[ci][j][co] = w[co][ci][j] for the FG output channels from co0 (rows:
 * their rows w[co], as nn_weight_row gives them), for weights_bin_bf16:
 * a block of them at a time, so that each write fills whole cache lines. */
static void taps_first_co(const nn_conv *c, const float *const *rows, int co0, float *wc)
{
    for (int ci = 0; ci < c->cin; ci++)
        for (int j = 0; j < c->k; j++) {
            float *o = wc + ((size_t)ci * c->k + j) * c->cout + co0;
            for (int l = 0; l < FG; l++)
                o[l] = rows[l][(size_t)ci * c->k + j];
        }
}

/* A block's signals during its transforms, a pair of groups of FG channels
 * at a time: the real and imaginary parts, FN x 2 FL each, group q's FL
 * lanes the (q % 2)-th half of its pair's rows, so that one transform of
 * 2 FL lanes does both (a group count that is odd leaves the last pair's
 * second half unused: zeros). GROW: group q's row n of part p (0: real,
 * 1: imaginary), FL floats. */
typedef float fft_pair[2][FN][2 * FL];
#define GROW(buf, q, p, n) ((buf)[(q) / 2][p][n] + ((q) % 2) * FL)

/* The forward transforms of one block (first output t_b, dilation d) for
 * every input channel, into X[blk][f][ci]: a block's spectra together (67
 * KiB at 256 channels, written in one sweep), each bin's operand of the
 * product a matrix [blk][ci] with row stride FBINS * cin. The input
 * sample n of the block is xs(ci, t_b + d n - pad_l), 0 outside [0, t_in);
 * xs(ci, i) = xs[ci * ldx + i - xoff]. buf: cin / FG groups. */
NN_VEC static void forward_block(const fconv *g, const float *xs, int ldx, int xoff, int t_b, int blk, const fft_tab *t,
                                 float complex *X, uint32_t *xb, int nb, fft_pair *buf)
{
    const nn_conv *c = g->c;
    int ng = c->cin / FG;
    for (int q = 0; q < ng; q++) {
        for (int n = 0; n < FN; n++) {
            long i = (long)t_b + (long)c->dilation * n - c->pad_l;
            float *r = GROW(buf, q, 0, t->rev[n]), *m = GROW(buf, q, 1, t->rev[n]);
            if (i < 0 || i >= g->t_in) {
                for (int l = 0; l < FL; l++)
                    r[l] = m[l] = 0.0f;
                continue;
            }
            const float *p = xs + (size_t)q * FG * ldx + (i - xoff);
            for (int l = 0; l < FL; l++) {
                r[l] = p[(size_t)l * ldx];
                m[l] = p[(size_t)(l + FL) * ldx];
            }
        }
    }
    for (int q = 0; q < ng; q += 2)
        fft_lanes((v16 *)buf[q / 2][0], (v16 *)buf[q / 2][1], t, -1);
    /* z = a + i b  ->  A[f] = (Z[f] + conj Z[-f]) / 2, B[f] = (Z[f] - conj Z[-f]) / 2i, bin by bin;
     * stored as complex floats into X[blk][f][ci], or (the fast mode's, xb)
     * as bf16 pairs into xb[f][blk][ci] (the chunk's nb blocks: each bin's
     * operand one matrix) */
    for (int f = 0; f < FBINS; f++) {
        int nf = (FN - f) % FN;
        for (int q = 0; q < ng; q++) {
            v8 zr, zi, yr, yi;
            memcpy(&zr, GROW(buf, q, 0, f), sizeof zr), memcpy(&zi, GROW(buf, q, 1, f), sizeof zi);
            memcpy(&yr, GROW(buf, q, 0, nf), sizeof yr), memcpy(&yi, GROW(buf, q, 1, nf), sizeof yi);
            v8 ar = 0.5f * (zr + yr), ai = 0.5f * (zi - yi), br = 0.5f * (zi + yi), bi = 0.5f * (yr - zr);
            if (xb) {
                uint32_t *o = xb + ((size_t)f * nb + blk) * c->cin + (size_t)q * FG;
                v8u pa = bf16_bits(ar) | (bf16_bits(ai) << 16), pb = bf16_bits(br) | (bf16_bits(bi) << 16);
                memcpy(o, &pa, sizeof pa), memcpy(o + FL, &pb, sizeof pb);
            } else {
                v8 *o = (v8 *)(X + ((size_t)blk * FBINS + f) * c->cin + (size_t)q * FG); /* re, im, re, im... */
                o[0] = zip_lo(ar, ai), o[1] = zip_hi(ar, ai), o[2] = zip_lo(br, bi), o[3] = zip_hi(br, bi);
            }
        }
    }
}

/* The inverse of forward_block for the output channels: block blk of
 * Y[blk][f][co] (read in one sweep) back to time, bias added, written to
 * y[co][t_b + d i] for the block's outputs below t_out (y = out + bias, or
 * y = (out + bias) + y when accumulate: the order of nn_conv1d_ex). buf:
 * cout / FG groups. */
NN_VEC static void inverse_block(const fconv *g, const float complex *Y, int t_b, int blk, const fft_tab *t,
                                 const float *b, float *y, int accumulate, fft_pair *buf)
{
    const nn_conv *c = g->c;
    int d = c->dilation, n_out = 0, ng = c->cout / FG;
    while (n_out < g->B && (long)t_b + (long)d * n_out < g->t_out)
        n_out++;
    /* Z[f] = A[f] + i B[f], Z[FN - f] = conj A[f] + i conj B[f] (A, B: spectra of real signals) */
    const float *yf = (const float *)(Y + (size_t)blk * FBINS * c->cout);
    for (int f = 0; f < FBINS; f++) {
        int edge = f == 0 || f == FN / 2, r1 = t->rev[f], r2 = t->rev[(FN - f) % FN];
        for (int q = 0; q < ng; q++, yf += 4 * FL) {
            float *zr = GROW(buf, q, 0, r1), *zi = GROW(buf, q, 1, r1), *wr = GROW(buf, q, 0, r2),
                  *wi = GROW(buf, q, 1, r2);
            /* A's and B's (re, im) pairs split into vectors of their real
             * and imaginary parts (lane moves only) */
            v8 a0, a1, b0, b1;
            memcpy(&a0, yf, sizeof a0), memcpy(&a1, yf + FL, sizeof a1);
            memcpy(&b0, yf + 2 * FL, sizeof b0), memcpy(&b1, yf + 3 * FL, sizeof b1);
            v8 ar = evens(a0, a1), ai = odds(a0, a1), br = evens(b0, b1), bi = odds(b0, b1);
            if (edge) {
                memcpy(zr, &ar, sizeof ar), memcpy(zi, &br, sizeof br);
                continue;
            }
            v8 vzr = ar - bi, vzi = ai + br, vwr = ar + bi, vwi = br - ai;
            memcpy(zr, &vzr, sizeof vzr), memcpy(zi, &vzi, sizeof vzi);
            memcpy(wr, &vwr, sizeof vwr), memcpy(wi, &vwi, sizeof vwi);
        }
    }
    for (int q = 0; q < ng; q += 2)
        fft_lanes((v16 *)buf[q / 2][0], (v16 *)buf[q / 2][1], t, +1);
    for (int q = 0; q < ng; q++) {
        for (int l = 0; l < FL; l++) {
            int ca = q * FG + l, cb = ca + FL;
            float *ya = y + (size_t)ca * g->t_out + t_b, *yb = y + (size_t)cb * g->t_out + t_b;
            float ba = b ? b[ca] : 0.0f, bb = b ? b[cb] : 0.0f;
            if (accumulate)
                for (int i = 0; i < n_out; i++) {
                    size_t o = (size_t)d * i;
                    ya[o] = (GROW(buf, q, 0, i)[l] + ba) + ya[o];
                    yb[o] = (GROW(buf, q, 1, i)[l] + bb) + yb[o];
                }
            else
                for (int i = 0; i < n_out; i++) {
                    size_t o = (size_t)d * i;
                    ya[o] = GROW(buf, q, 0, i)[l] + ba;
                    yb[o] = GROW(buf, q, 1, i)[l] + bb;
                }
        }
    }
}

int nn_conv_fft_suits(const nn_conv *c)
{
    return c->groups == 1 && c->stride == 1 && c->k >= 5 && c->k <= FN / 2 && c->dilation >= 1 && c->cin % FG == 0 &&
           c->cout % FG == 0;
}

/* Blocks per phase in a chunk, for t_out outputs (pre: an input window
 * is activated): one chunk when it fits in ONE_CHUNK_BYTES, else chunks of
 * at most CHUNK_BLOCKS (or max_blocks, when above 0), as even as whole
 * blocks per phase make them. */
static int chunk_nbp(const nn_conv *c, int t_out, int B, int pre, int max_blocks, int bf)
{
    int d = c->dilation, cmax = c->cin > c->cout ? c->cin : c->cout;
    long nbp_all = ((t_out + d - 1) / d + B - 1) / B; /* phase 0's, the longest */
    /* spectra: X and Y, one set when square; bf16: X half, Y its own */
    size_t per_block = bf ? (size_t)FBINS * sizeof(float complex) * (c->cin / 2 + c->cout)
                          : (size_t)FBINS * cmax * sizeof(float complex) * (c->cin == c->cout ? 1 : 2);
    per_block += pre ? (size_t)B * c->cin * sizeof(float) : 0;
    if (max_blocks <= 0 && (size_t)nbp_all * d * per_block <= ONE_CHUNK_BYTES)
        return (int)nbp_all;
    long most = max_blocks > 0 ? max_blocks : CHUNK_BLOCKS;
    long nbp_max = most / d > 0 ? most / d : 1;
    long n = (nbp_all + nbp_max - 1) / nbp_max;
    return (int)((nbp_all + n - 1) / n);
}

double nn_conv_fft_macs(const nn_conv *c, int t_in)
{
    int t_out = nn_conv_out_len(c, t_in);
    if (t_out <= 0)
        return 0.0;
    int B = FN - c->k + 1;
    double blocks = 0;
    for (int r = 0; r < c->dilation; r++)
        blocks += t_out > r ? ((t_out - r + c->dilation - 1) / c->dilation + B - 1) / B : 0;
    return 4.0 * FBINS * (double)c->cout * c->cin * blocks;
}

int nn_conv_fft_pays(const nn_conv *c, int t_in)
{
    if (!nn_conv_fft_suits(c))
        return 0;
    int t_out = nn_conv_out_len(c, t_in);
    double pairs = (double)c->cout * c->cin;
    double direct = pairs * c->k * (t_out > 0 ? t_out : 0);
    double fft = nn_conv_fft_macs(c, t_in) + 2.0 * FBINS * c->k * pairs; /* + the weights' transform */
    return fft < 0.5 * direct;
}

int nn_conv1d_fft(const nn_conv *c, const float *x, int t_in, const float *pre, const float *w, const float *b,
                  float *y, int accumulate, nn_scratch *s)
{
    return nn_conv1d_fft_as(c, x, t_in, pre, w, NULL, b, y, accumulate, s, -1, 0, 0);
}

int nn_conv1d_fft_f16(const nn_conv *c, const float *x, int t_in, const float *pre, const uint16_t *wh,
                      const float *b, float *y, int accumulate, nn_scratch *s)
{
    return nn_conv1d_fft_as(c, x, t_in, pre, NULL, wh, b, y, accumulate, s, -1, 0, 0);
}

int nn_conv1d_fft_bf16(const nn_conv *c, const float *x, int t_in, const float *pre, const float *w,
                       const uint16_t *wh, const float *b, float *y, int accumulate, nn_scratch *s)
{
    return nn_conv1d_fft_as(c, x, t_in, pre, w, wh, b, y, accumulate, s, -1, 0, 1);
}

int nn_conv_fft_bf16_runs(const nn_conv *c)
{
    return c->cout % (4 * FL) == 0 && (nn_cpu_features() & NN_CPU_AVX512_BF16);
}

int nn_conv1d_fft_as(const nn_conv *c, const float *x, int t_in, const float *pre, const float *w,
                     const uint16_t *wh, const float *b, float *y, int accumulate, nn_scratch *s, int how,
                     int max_blocks, int bf16)
{
    if (!nn_conv_fft_suits(c))
        return -1;
    int bf = bf16 && nn_conv_fft_bf16_runs(c);
    fconv g = {.c = c, .t_in = t_in, .t_out = nn_conv_out_len(c, t_in), .B = FN - c->k + 1};
    if (g.t_out <= 0)
        return 0;
    int d = c->dilation;
    g.nbp = chunk_nbp(c, g.t_out, g.B, pre != NULL, max_blocks, bf);
    int nb_max = g.nbp * d;
    long chunk_t = (long)d * g.B * g.nbp; /* outputs per full chunk */
    /* the input window a full chunk reads (activated when pre) */
    long win = chunk_t - 1 + (long)d * (c->k - 1) + 1;
    long n_chunks = (g.t_out + chunk_t - 1) / chunk_t;
    int nth = nn_threads_max();
    /* One chunk (a short signal): each bin's weight transform made just
     * before its product, in a buffer per thread, instead of all bins
     * written out and read back (1.5-5 % of a 20-60 id pass on one
     * thread); more: all bins made once, kept for every chunk (made per
     * bin and chunk it was 1-2 % slower at 200 ids). weights_bin makes
     * them either way, so the choice does not change the bits. */
    int per_bin = how >= 0 ? how : n_chunks == 1;
    size_t pairs = (size_t)c->cout * c->cin;
    size_t gn = per_bin ? pairs * nth : (size_t)FBINS * pairs; /* complex floats of G */
    size_t tn = (pairs * c->k + 1) / 2;                         /* wt, in complex floats */
    /* square: each bin's product goes to a per-thread buffer (P) and
     * then over its operand, so Y is X */
    /* bf16: X is the forward transforms as bf16 pairs, [f][blk][ci] (half
     * the floats), and Y its own */
    int inplace = c->cin == c->cout && !bf;
    size_t xu = bf ? ((size_t)FBINS * c->cin * nb_max + 1) / 2 : (size_t)FBINS * c->cin * nb_max;
    size_t yu = inplace ? 0 : (size_t)FBINS * c->cout * nb_max;
    size_t pn = inplace ? (size_t)nb_max * c->cout : 0; /* a bin's product, per thread */
    size_t wn = pre ? (size_t)c->cin * win : 0;
    int ngmax = (c->cin > c->cout ? c->cin : c->cout) / FG;
    size_t bn = (size_t)(ngmax + 1) / 2 * sizeof(fft_pair) / sizeof(float); /* per thread */
    /* rows of half weights widened, per thread: one, or FG for the bf16 reordering */
    size_t rn = w ? 0 : (size_t)c->cin * c->k * (bf ? FG : 1);
    float *sc = nn_scratch_get(s, 2 * (gn + tn + xu + yu + pn * nth) + wn + (bn + rn) * nth);
    if (!sc)
        return -1;
    float complex *G = (float complex *)sc, *X = G + gn + tn, *Y = inplace ? X : X + xu, *P = X + xu + yu;
    uint32_t *XB = bf ? (uint32_t *)X : NULL;
    float *wt = (float *)(G + gn);
    float *xw = (float *)(P + pn * nth), *bufs = xw + wn;
    fft_tab t;
    fft_tab_init(&t);
    /* cos and sin of 2 pi f j / FN over 1/FN, for the weights' transform */
    float ct[FN / 2][FBINS], st[FN / 2][FBINS];
    for (int j = 0; j < c->k; j++)
        for (int f = 0; f < FBINS; f++) {
            int m = (f * j) % FN;
            ct[j][f] = t.c[m] / FN, st[j][f] = t.s[m] / FN;
        }
    const complex float one = 1.0f, zero = 0.0f;

#pragma omp parallel num_threads(nth) if (nth > 1)
    {
        fft_pair *buf = (fft_pair *)(bufs + bn * nn_thread_id());
        memset(buf, 0, bn * sizeof(float)); /* an odd group count's unused lanes: zeros */
        float *rowbuf = bufs + bn * nth + rn * nn_thread_id();
        /* Barriers: each step below waits for the one before it only where
         * it reads what that one wrote. The reordered weights are read by
         * every bin's transform: made next (all bins: no wait after them,
         * the products come after the forward FFTs' barrier) or in the
         * products (per bin). */
        if (bf) {
#pragma omp for schedule(static)
            for (int co0 = 0; co0 < c->cout; co0 += FG) {
                const float *rows[FG];
                for (int l = 0; l < FG; l++)
                    rows[l] = nn_weight_row(w, wh, (size_t)(co0 + l), (size_t)c->cin * c->k,
                                            rowbuf + (size_t)l * c->cin * c->k);
                taps_first_co(c, rows, co0, wt);
            }
        } else {
#pragma omp for schedule(static)
            for (int co = 0; co < c->cout; co++)
                taps_first(c, nn_weight_row(w, wh, (size_t)co, (size_t)c->cin * c->k, rowbuf), co, wt);
        }
        if (!per_bin) {
#pragma omp for schedule(dynamic) nowait
            for (int f = 0; f < FBINS; f++) {
                uint32_t *gre = (uint32_t *)(G + pairs * (size_t)f);
                if (bf)
                    weights_bin_bf16(c, wt, f, ct, st, gre, gre + pairs);
                else
                    weights_bin(c, wt, f, ct, st, G + pairs * (size_t)f);
            }
        }
        for (long ch = 0; ch < n_chunks; ch++) {
            long t0 = ch * chunk_t;
            /* the last chunk: only the blocks per phase its outputs need */
            int nbp = g.nbp;
            if (t0 + chunk_t > g.t_out)
                nbp = (int)((g.t_out - t0 + (long)d * g.B - 1) / ((long)d * g.B));
            int nb = nbp * d;
            const float *xs = x;
            int ldx = t_in, xoff = 0;
            if (pre) {
                long lo;
                int n =
                    nn_window(t0 - c->pad_l, t0 + (long)d * g.B * nbp - 1 + (long)d * (c->k - 1) - c->pad_l, t_in, &lo);
#pragma omp for schedule(static)
                for (int ci = 0; ci < c->cin; ci++)
                    nn_window_activate(x, t_in, pre, c->cin, ci, lo, n, xw);
                xs = xw, ldx = n, xoff = (int)lo;
            }
            /* block blk = q * d + r: phase r, the q-th block of it; first output t0 + r + d q B */
#pragma omp for schedule(static)
            for (int blk = 0; blk < nb; blk++)
                forward_block(&g, xs, ldx, xoff, (int)(t0 + blk % d + (long)d * (blk / d) * g.B), blk, &t, X, XB, nb,
                              buf);
#pragma omp for schedule(dynamic)
            for (int f = 0; f < FBINS; f++) {
                float complex *Gf = G + pairs * (per_bin ? (size_t)nn_thread_id() : (size_t)f);
                float complex *Xf = X + (size_t)f * c->cin, *Yf = Y + (size_t)f * c->cout;
                if (bf) {
                    uint32_t *gre = (uint32_t *)Gf;
                    if (per_bin)
                        weights_bin_bf16(c, wt, f, ct, st, gre, gre + pairs);
                    nn_cprod_bf16(nb, c->cout, c->cin, XB + (size_t)f * nb * c->cin, gre, gre + pairs, Yf,
                                  (size_t)FBINS * c->cout);
                    continue;
                }
                if (per_bin)
                    weights_bin(c, wt, f, ct, st, Gf);
                /* in place: the same product into this thread's buffer (only
                 * where it is stored differs), then over X_f */
                float complex *Pf = inplace ? P + pn * (size_t)nn_thread_id() : Yf;
                cblas_cgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, c->cout, c->cin, &one, Xf, FBINS * c->cin, Gf,
                            c->cin, &zero, Pf, inplace ? c->cout : FBINS * c->cout);
                for (int r = 0; inplace && r < nb; r++)
                    memcpy(Yf + (size_t)r * FBINS * c->cout, Pf + (size_t)r * c->cout, sizeof *Pf * c->cout);
            }
            /* no wait after the inverse FFTs: the next chunk's products,
             * the first step to write what they read (Y), start after
             * that chunk's forward FFTs, which every thread reaches only
             * when done here; but where Y is X, those forward FFTs write
             * it */
#pragma omp for schedule(static) nowait
            for (int blk = 0; blk < nb; blk++)
                inverse_block(&g, Y, (int)(t0 + blk % d + (long)d * (blk / d) * g.B), blk, &t, b, y, accumulate, buf);
            if (inplace && ch + 1 < n_chunks) {
#pragma omp barrier
            }
        }
    }
    return 0;
}
