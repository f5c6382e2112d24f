/*
 * forward.c - the Kokoro-82M forward pass (see kk_forward.h), module by module
 * as docs/engine-notes.md describes the ONNX graph:
 *
 *   ALBERT -> bert_encoder -> prosody text encoder -> durations -> alignment
 *   -> shared LSTM -> F0 / N predictors;  text encoder (CNN + LSTM);
 *   decoder (AdaIN residual blocks) -> generator (harmonic source, source
 *   STFT, two upsampling stages with Snake residual blocks, conv_post)
 *   -> inverse STFT.
 *
 * Layouts: "tm" buffers are time-major [T][C] (ALBERT, LSTMs, layer norms),
 * "cm" buffers channel-major [C][T] (convolutions, instance norms), as in
 * the graph. Every weight pointer is resolved once in kk_model_load(), with
 * shapes checked, so the forward pass itself cannot meet a missing weight.
 */
#include <float.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kk_forward.h"
#include "kk_time.h"
#include "nn.h"
#include "weights.h"

#define H_LSTM 256
#define STYLE_HALF 128
#define MAX_FRAMES 6000 /* 150 s in one utterance: far beyond what 510 tokens say */

/* ---- resolved weights ---- */

/* A weight as the file stores it, in place in the mapping: float32 (f) or
 * IEEE half (h), exactly one of them set. The half ones (most of Kokoro's
 * weights) are widened into the call's working memory just before their
 * product (wide()): the conversion is exact, so the result is the same bit
 * for bit as from a float32 file, and the process holds the weights once,
 * at two bytes each. Small tensors (biases, norms, alphas: SMALL_MAX
 * elements or fewer, 0.3 MiB in all) and the three embedding tables (read
 * row by row, 0.7 MiB) are widened once at load instead (f32()). */
typedef struct { const float *f; const uint16_t *h; } wt;
#define SMALL_MAX 16384
static int wt_set(wt w) { return w.f || w.h; }

/* bf: the weights packed for the fast mode (decoder and generator
 * convolutions only; NULL until a fast pass first needs them). */
typedef struct { wt w; const float *b; nn_conv c; nn_conv_bf16 bf; } conv_w;
typedef struct { wt w; const float *b; nn_convt c; } convt_w;
typedef struct { wt W, R; const float *B; int in; } lstm_w;
typedef struct { wt w; const float *b; int out; } fc_w; /* y = W s + b, W [out][128] */
/* A matrix product of the 4-bit export (MatMulNBits, q) or of the float
 * export (MatMul, kn = W[K][N]); y = x W^T + b either way. */
typedef struct { const kk_q4 *q; wt kn; const float *b; int K, N; } q4_w;

/* StyleTTS2's AdainResBlk1d: F0/N blocks and the decoder. */
typedef struct {
    fc_w norm1, norm2;
    conv_w conv1, conv2, sc; /* sc.w NULL: identity shortcut */
    convt_w pool;            /* pool.w NULL: no upsampling */
    int cin, cout;
} adain_blk;

/* iSTFTNet's AdaINResBlock1 with Snake: generator resblocks and noise_res. */
typedef struct {
    fc_w a1[3], a2[3];
    const float *al1[3], *al2[3], *ral1[3], *ral2[3];
    conv_w c1[3], c2[3];
    int C;
} gen_blk;

struct kk_model {
    kk_weights *w;
    double load_ms;
    /* the small float16 tensors widened at load (malloc'd, freed with the model) */
    float **small;
    int n_small, cap_small;
    /* ALBERT */
    const float *word_emb, *type_emb, *pos_emb, *emb_ln_g, *emb_ln_b;
    q4_w map, q, k, v, dense, ffn, ffn_out;
    const float *attn_ln_g, *attn_ln_b, *full_ln_g, *full_ln_b;
    q4_w bert_enc;
    /* prosody predictor */
    lstm_w pte[3];
    fc_w pte_fc[3];
    lstm_w plstm, shared;
    q4_w dur_proj;
    adain_blk f0[3], nn[3];
    conv_w f0_proj, n_proj;
    /* text encoder */
    const float *te_emb;
    conv_w te_cnn[3];
    const float *te_ln_g[3], *te_ln_b[3];
    lstm_w te_lstm;
    /* decoder */
    conv_w f0_conv, n_conv, asr_res;
    adain_blk enc, dec[4];
    /* generator */
    q4_w l_linear;
    float down_scale, up_scale; /* the source's Resize scales (1/300, 300) */
    const float *hann;
    conv_w noise_convs[2], conv_post;
    gen_blk noise_res[2], res[6];
    convt_w ups[2], istft;
    const float *window_sum;
    /* fast mode: the convolutions it runs in bf16, packed on the first
     * fast pass (under fast_lock; fast_state 0 not yet, 1 packed, -1
     * unavailable, with the reason in fast_why) */
    conv_w *fast_convs[160];
    int n_fast_convs;
    pthread_mutex_t fast_lock;
    int fast_state, fast_noticed;
    char fast_why[160];
    size_t fast_bytes;
};

/* ---- loading ---- */

typedef struct {
    const kk_weights *w;
    kk_model *m; /* owns the widened small tensors */
    kk_error *err;
    int bad;
} resolver;

/* dt KK_DT_F32 also takes a KK_DT_F16 tensor (a float weight either way). */
static const kk_tensor *tensor(resolver *r, const char *key, kk_dtype dt, int64_t nelem)
{
    if (r->bad)
        return NULL;
    const kk_tensor *t = kk_weights_find(r->w, key);
    if (!(t && dt == KK_DT_F32 && t->dtype == KK_DT_F16))
        t = kk_weights_get(r->w, key, dt, -1, r->err);
    if (!t) {
        r->bad = 1;
        return NULL;
    }
    if (nelem > 0 && t->nelem != nelem) {
        kk_error_set(r->err, KK_ERR_INPUT,
                     "weight %s has %lld elements where Kokoro-82M v1.0 has %lld; is this the right model file?",
                     key, (long long)t->nelem, (long long)nelem);
        r->bad = 1;
        return NULL;
    }
    return t;
}

/* A float weight where the file has it (float32 or half). */
static wt weight(resolver *r, const char *key, int64_t nelem)
{
    const kk_tensor *t = tensor(r, key, KK_DT_F32, nelem);
    wt w = {0};
    if (t && t->dtype == KK_DT_F16)
        w.h = t->data;
    else if (t)
        w.f = t->data;
    return w;
}

/* A float weight as float32: in place, or widened once into memory the
 * model owns (half tensors; meant for the small ones, see wt). */
static const float *f32(resolver *r, const char *key, int64_t nelem)
{
    const kk_tensor *t = tensor(r, key, KK_DT_F32, nelem);
    if (!t || t->dtype == KK_DT_F32)
        return t ? t->data : NULL;
    kk_model *m = r->m;
    float *p = malloc(sizeof(float) * (size_t)(t->nelem > 0 ? t->nelem : 1));
    if (p && m->n_small == m->cap_small) {
        int cap = m->cap_small ? 2 * m->cap_small : 256;
        float **ns = realloc(m->small, sizeof *ns * (size_t)cap);
        if (!ns)
            free(p), p = NULL;
        else
            m->small = ns, m->cap_small = cap;
    }
    if (!p) {
        kk_error_set(r->err, KK_ERR_NOMEM, "out of memory widening the weight %s", key);
        r->bad = 1;
        return NULL;
    }
    m->small[m->n_small++] = p;
    nn_widen_f16(t->data, (size_t)t->nelem, p);
    return p;
}

/* The key fmt... into key[512]; 0, or -1 (r->bad set) when too long. */
static int keyf(resolver *r, char key[512], const char *fmt, va_list ap)
{
    int n = vsnprintf(key, 512, fmt, ap);
    if (n < 0 || n >= 512) {
        if (!r->bad)
            kk_error_set(r->err, KK_ERR_INPUT, "a weight name in the model is longer than %d bytes (%.40s...); "
                         "is this a Kokoro-82M v1.0 export?", 511, key);
        r->bad = 1;
        return -1;
    }
    return 0;
}

static const float *f32k(resolver *r, int64_t nelem, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static const float *f32k(resolver *r, int64_t nelem, const char *fmt, ...)
{
    char key[512];
    va_list ap;
    va_start(ap, fmt);
    int bad = keyf(r, key, fmt, ap);
    va_end(ap);
    return bad ? NULL : f32(r, key, nelem);
}

/* weight() by a formatted key; a tensor of SMALL_MAX elements or fewer is
 * widened at load (f32), a larger one stays as stored. */
static wt wtk(resolver *r, int64_t nelem, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static wt wtk(resolver *r, int64_t nelem, const char *fmt, ...)
{
    char key[512];
    va_list ap;
    va_start(ap, fmt);
    int bad = keyf(r, key, fmt, ap);
    va_end(ap);
    wt w = {0};
    if (bad)
        return w;
    if (nelem <= SMALL_MAX)
        w.f = f32(r, key, nelem);
    else
        w = weight(r, key, nelem);
    return w;
}

static const kk_node *node(resolver *r, const char *name)
{
    if (r->bad)
        return NULL;
    const kk_node *n = kk_weights_find_node(r->w, name);
    if (!n) {
        kk_error_set(r->err, KK_ERR_INPUT, "the model has no node %s; is this a Kokoro-82M v1.0 export?", name);
        r->bad = 1;
    }
    return n;
}

static int attr_int(const kk_node *n, const char *name, int idx, int dflt)
{
    const kk_attr *a = kk_node_attr(n, name);
    if (!a)
        return dflt;
    if (a->type == 'i')
        return (int)a->i;
    if (a->type == 'I' && idx < a->n)
        return (int)a->ints[idx];
    return dflt;
}

/* A Conv node: weight "#1" [cout][cin/g][k], bias "#2" when present. */
static void get_conv(resolver *r, const char *name, int cin, int cout, int k, conv_w *c)
{
    const kk_node *n = node(r, name);
    if (!n)
        return;
    c->c = (nn_conv){.cin = cin, .cout = cout, .k = k, .stride = attr_int(n, "strides", 0, 1),
                     .dilation = attr_int(n, "dilations", 0, 1), .pad_l = attr_int(n, "pads", 0, 0),
                     .pad_r = attr_int(n, "pads", 1, 0), .groups = attr_int(n, "group", 0, 1)};
    c->w = wtk(r, (int64_t)cout * (cin / c->c.groups) * k, "%s#1", name);
    c->b = NULL;
    if (n->n_inputs > 2 && n->inputs[2][0]) {
        c->b = f32k(r, cout, "%s#2", name);
    }
}

static void get_convt(resolver *r, const char *name, int cin, int cout, int k, convt_w *c)
{
    const kk_node *n = node(r, name);
    if (!n)
        return;
    c->c = (nn_convt){.cin = cin, .cout = cout, .k = k, .stride = attr_int(n, "strides", 0, 1),
                      .pad_l = attr_int(n, "pads", 0, 0), .pad_r = attr_int(n, "pads", 1, 0),
                      .output_padding = attr_int(n, "output_padding", 0, 0), .groups = attr_int(n, "group", 0, 1)};
    c->w = wtk(r, (int64_t)cin * (cout / c->c.groups) * k, "%s#1", name);
    c->b = NULL;
    if (n->n_inputs > 2 && n->inputs[2][0]) {
        c->b = f32k(r, cout, "%s#2", name);
    }
}

static void get_fc(resolver *r, const char *gemm, int out, fc_w *f)
{
    f->w = wtk(r, (int64_t)out * STYLE_HALF, "%s#1", gemm);
    f->b = f32k(r, out, "%s#2", gemm);
    f->out = out;
}

static void get_lstm(resolver *r, const char *name, int in, lstm_w *l)
{
    l->W = wtk(r, 2LL * 4 * H_LSTM * in, "%s#1", name);
    l->R = wtk(r, 2LL * 4 * H_LSTM * H_LSTM, "%s#2", name);
    l->B = f32k(r, 2LL * 8 * H_LSTM, "%s#3", name);
    l->in = in;
}

static void get_q4(resolver *r, const char *name, int K, int N, const char *bias, q4_w *q)
{
    q->K = K, q->N = N, q->q = NULL, q->kn = (wt){0};
    size_t len = strlen(name);
    if (!r->bad && !kk_weights_find(r->w, name) && len > 3 && !strcmp(name + len - 3, "_Q4")) {
        /* the published float model: a MatMul "X/MatMul" with B = W[K][N] */
        q->kn = wtk(r, (int64_t)K * N, "%.*s#1", (int)(len - 3), name);
        q->b = bias ? f32(r, bias, N) : NULL;
        return;
    }
    const kk_tensor *t = tensor(r, name, KK_DT_Q4, 0);
    q->q = t ? &t->q4 : NULL;
    if (t && (t->q4.K != K || t->q4.N != N)) {
        kk_error_set(r->err, KK_ERR_INPUT, "4-bit weight %s is %dx%d where Kokoro-82M has %dx%d", name, t->q4.N,
                     t->q4.K, N, K);
        r->bad = 1;
    }
    q->b = bias ? f32(r, bias, N) : NULL;
}

/* prefix: "/encoder/F0.1" or "/decoder/decoder/decode.3"; fc weights by node. */
static void get_adain_blk(resolver *r, const char *prefix, int cin, int cout, int up, adain_blk *b)
{
    char name[512];
    b->cin = cin, b->cout = cout;
    snprintf(name, sizeof name, "%s/norm1/fc/Gemm", prefix);
    get_fc(r, name, 2 * cin, &b->norm1);
    snprintf(name, sizeof name, "%s/norm2/fc/Gemm", prefix);
    get_fc(r, name, 2 * cout, &b->norm2);
    snprintf(name, sizeof name, "%s/conv1/Conv", prefix);
    get_conv(r, name, cin, cout, 3, &b->conv1);
    snprintf(name, sizeof name, "%s/conv2/Conv", prefix);
    get_conv(r, name, cout, cout, 3, &b->conv2);
    memset(&b->sc, 0, sizeof b->sc);
    memset(&b->pool, 0, sizeof b->pool);
    if (cin != cout) {
        snprintf(name, sizeof name, "%s/conv1x1/Conv", prefix);
        get_conv(r, name, cin, cout, 1, &b->sc);
    }
    if (up) {
        snprintf(name, sizeof name, "%s/pool/ConvTranspose", prefix);
        get_convt(r, name, cin, cin, 3, &b->pool);
    }
}

static void get_gen_blk(resolver *r, const char *block, int C, int k, gen_blk *g)
{
    const char *G = "/decoder/decoder/generator";
    const char *P = "decoder.decoder.generator";
    char name[512];
    g->C = C;
    for (int j = 0; j < 3; j++) {
        snprintf(name, sizeof name, "%s/%s/adain1.%d/fc/Gemm", G, block, j);
        get_fc(r, name, 2 * C, &g->a1[j]);
        snprintf(name, sizeof name, "%s/%s/adain2.%d/fc/Gemm", G, block, j);
        get_fc(r, name, 2 * C, &g->a2[j]);
        g->al1[j] = f32k(r, C, "%s.%s.alpha1.%d", P, block, j);
        g->al2[j] = f32k(r, C, "%s.%s.alpha2.%d", P, block, j);
        /* Reciprocal (adain1.0), _1 (adain2.0), _2 (adain1.1), ... */
        if (j == 0)
            g->ral1[j] = f32k(r, C, "%s/%s/Reciprocal_output_0", G, block);
        else
            g->ral1[j] = f32k(r, C, "%s/%s/Reciprocal_%d_output_0", G, block, 2 * j);
        g->ral2[j] = f32k(r, C, "%s/%s/Reciprocal_%d_output_0", G, block, 2 * j + 1);
        snprintf(name, sizeof name, "%s/%s/convs1.%d/Conv", G, block, j);
        get_conv(r, name, C, C, k, &g->c1[j]);
        snprintf(name, sizeof name, "%s/%s/convs2.%d/Conv", G, block, j);
        get_conv(r, name, C, C, k, &g->c2[j]);
    }
}

kk_status kk_model_load(const char *path, kk_model **out, kk_error *err)
{
    double t0 = kk_now_ms();
    *out = NULL;
    kk_model *m = calloc(1, sizeof *m);
    if (!m)
        return kk_error_set(err, KK_ERR_NOMEM, "out of memory loading %s", path);
    kk_status st = kk_weights_open(path, &m->w, err);
    if (st != KK_OK) {
        free(m);
        return st;
    }
    resolver R = {.w = m->w, .m = m, .err = err}, *r = &R;
    const char *ALB = "/encoder/bert/encoder/albert_layer_groups.0/albert_layers.0";
    const char *alb = "encoder.bert.encoder.albert_layer_groups.0.albert_layers.0";
    char a[512], b[512];

    m->word_emb = f32(r, "encoder.bert.embeddings.word_embeddings.weight", 178 * 128);
    m->type_emb = f32(r, "encoder.bert.embeddings.token_type_embeddings.weight", 2 * 128);
    m->pos_emb = f32(r, "encoder.bert.embeddings.position_embeddings.weight", 512 * 128);
    m->emb_ln_g = f32(r, "encoder.bert.embeddings.LayerNorm.weight", 128);
    m->emb_ln_b = f32(r, "encoder.bert.embeddings.LayerNorm.bias", 128);
    get_q4(r, "/encoder/bert/encoder/embedding_hidden_mapping_in/MatMul_Q4", 128, 768,
           "encoder.bert.encoder.embedding_hidden_mapping_in.bias", &m->map);
    static const struct { const char *node, *bias; int K, N; size_t off; } lin[] = {
        {"attention/query/MatMul_Q4", "attention.query.bias", 768, 768, offsetof(kk_model, q)},
        {"attention/key/MatMul_Q4", "attention.key.bias", 768, 768, offsetof(kk_model, k)},
        {"attention/value/MatMul_Q4", "attention.value.bias", 768, 768, offsetof(kk_model, v)},
        {"attention/dense/MatMul_Q4", "attention.dense.bias", 768, 768, offsetof(kk_model, dense)},
        {"ffn/MatMul_Q4", "ffn.bias", 768, 2048, offsetof(kk_model, ffn)},
        {"ffn_output/MatMul_Q4", "ffn_output.bias", 2048, 768, offsetof(kk_model, ffn_out)},
    };
    for (size_t i = 0; i < sizeof lin / sizeof lin[0]; i++) {
        snprintf(a, sizeof a, "%s/%s", ALB, lin[i].node);
        snprintf(b, sizeof b, "%s.%s", alb, lin[i].bias);
        get_q4(r, a, lin[i].K, lin[i].N, b, (q4_w *)((char *)m + lin[i].off));
    }
    m->attn_ln_g = f32k(r, 768, "%s.attention.LayerNorm.weight", alb);
    m->attn_ln_b = f32k(r, 768, "%s.attention.LayerNorm.bias", alb);
    m->full_ln_g = f32k(r, 768, "%s.full_layer_layer_norm.weight", alb);
    m->full_ln_b = f32k(r, 768, "%s.full_layer_layer_norm.bias", alb);
    get_q4(r, "/encoder/bert_encoder/MatMul_Q4", 768, 512, "encoder.bert_encoder.bias", &m->bert_enc);

    for (int i = 0; i < 3; i++) {
        snprintf(a, sizeof a, "/encoder/predictor/text_encoder/lstms.%d/LSTM", 2 * i);
        get_lstm(r, a, 640, &m->pte[i]);
        snprintf(a, sizeof a, "/encoder/predictor/text_encoder/lstms.%d/fc/Gemm", 2 * i + 1);
        get_fc(r, a, 1024, &m->pte_fc[i]);
    }
    get_lstm(r, "/encoder/predictor/lstm/LSTM", 640, &m->plstm);
    get_q4(r, "/encoder/predictor/duration_proj/linear_layer/MatMul_Q4", 512, 50,
           "encoder.predictor.duration_proj.linear_layer.bias", &m->dur_proj);
    get_lstm(r, "/encoder/shared/LSTM", 640, &m->shared);
    static const int fcin[3] = {512, 512, 256}, fcout[3] = {512, 256, 256};
    for (int i = 0; i < 3; i++) {
        snprintf(a, sizeof a, "/encoder/F0.%d", i);
        get_adain_blk(r, a, fcin[i], fcout[i], i == 1, &m->f0[i]);
        snprintf(a, sizeof a, "/encoder/N.%d", i);
        get_adain_blk(r, a, fcin[i], fcout[i], i == 1, &m->nn[i]);
    }
    get_conv(r, "/encoder/F0_proj/Conv", 256, 1, 1, &m->f0_proj);
    get_conv(r, "/encoder/N_proj/Conv", 256, 1, 1, &m->n_proj);

    m->te_emb = f32(r, "encoder.text_encoder.embedding.weight", 178 * 512);
    for (int i = 0; i < 3; i++) {
        snprintf(a, sizeof a, "/encoder/text_encoder/cnn.%d/cnn.%d.0/Conv", i, i);
        get_conv(r, a, 512, 512, 5, &m->te_cnn[i]);
        m->te_ln_g[i] = f32k(r, 512, "encoder.text_encoder.cnn.%d.1.gamma", i);
        m->te_ln_b[i] = f32k(r, 512, "encoder.text_encoder.cnn.%d.1.beta", i);
    }
    get_lstm(r, "/encoder/text_encoder/lstm/LSTM", 512, &m->te_lstm);

    get_conv(r, "/decoder/decoder/F0_conv/Conv", 1, 1, 3, &m->f0_conv);
    get_conv(r, "/decoder/decoder/N_conv/Conv", 1, 1, 3, &m->n_conv);
    get_conv(r, "/decoder/decoder/asr_res/asr_res.0/Conv", 512, 64, 1, &m->asr_res);
    get_adain_blk(r, "/decoder/decoder/encode", 514, 1024, 0, &m->enc);
    for (int i = 0; i < 4; i++) {
        snprintf(a, sizeof a, "/decoder/decoder/decode.%d", i);
        get_adain_blk(r, a, 1090, i == 3 ? 512 : 1024, i == 3, &m->dec[i]);
    }

    get_q4(r, "/decoder/decoder/generator/m_source/l_linear/MatMul_Q4", 9, 1,
           "decoder.decoder.generator.m_source.l_linear.bias", &m->l_linear);
    m->hann = f32(r, "/decoder/decoder/generator/Constant_17_output_0", 20);
    const float *sc_down = f32(r, "/decoder/decoder/generator/m_source/l_sin_gen/Resize#2", 3);
    const float *sc_up = f32(r, "/decoder/decoder/generator/m_source/l_sin_gen/Resize_1#2", 3);
    if (sc_down && sc_up) {
        m->down_scale = sc_down[2], m->up_scale = sc_up[2];
        if (!(m->down_scale * 300.0f > 0.99f && m->down_scale * 300.0f < 1.01f && m->up_scale == 300.0f)) {
            kk_error_set(err, KK_ERR_INPUT, "the source module's Resize scales are %g and %g, not 1/300 and 300; "
                         "is this a Kokoro-82M v1.0 export?", (double)m->down_scale, (double)m->up_scale);
            R.bad = 1;
        }
    }
    get_conv(r, "/decoder/decoder/generator/noise_convs.0/Conv", 22, 256, 12, &m->noise_convs[0]);
    get_conv(r, "/decoder/decoder/generator/noise_convs.1/Conv", 22, 128, 1, &m->noise_convs[1]);
    get_gen_blk(r, "noise_res.0", 256, 7, &m->noise_res[0]);
    get_gen_blk(r, "noise_res.1", 128, 11, &m->noise_res[1]);
    static const int rk[3] = {3, 7, 11};
    for (int i = 0; i < 6; i++) {
        snprintf(a, sizeof a, "resblocks.%d", i);
        get_gen_blk(r, a, i < 3 ? 256 : 128, rk[i % 3], &m->res[i]);
    }
    get_convt(r, "/decoder/decoder/generator/ups.0/ConvTranspose", 512, 256, 20, &m->ups[0]);
    get_convt(r, "/decoder/decoder/generator/ups.1/ConvTranspose", 256, 128, 12, &m->ups[1]);
    get_conv(r, "/decoder/decoder/generator/conv_post/Conv", 128, 22, 7, &m->conv_post);
    get_convt(r, "/decoder/decoder/generator/istft/stft/ConvTranspose", 22, 1, 20, &m->istft);
    m->window_sum = f32(r, "decoder.decoder.generator.stft.istft.stft.window_sum", 20);

    if (R.bad) {
        kk_model_free(m);
        return err ? err->code : KK_ERR_INPUT;
    }
    /* the fast mode's convolutions: the decoder's blocks and the
     * generator's residual blocks (not F0/N, noise_convs, conv_post); on
     * AVX512_BF16 only those of 3 taps or fewer (fast_prepare) */
    pthread_mutex_init(&m->fast_lock, NULL);
    adain_blk *db[5] = {&m->enc, &m->dec[0], &m->dec[1], &m->dec[2], &m->dec[3]};
    for (int i = 0; i < 5; i++) {
        conv_w *cs[3] = {&db[i]->conv1, &db[i]->conv2, wt_set(db[i]->sc.w) ? &db[i]->sc : NULL};
        for (int j = 0; j < 3; j++)
            if (cs[j] && nn_conv_bf16_supported(&cs[j]->c))
                m->fast_convs[m->n_fast_convs++] = cs[j];
    }
    for (int i = 0; i < 8; i++) {
        gen_blk *g = i < 2 ? &m->noise_res[i] : &m->res[i - 2];
        for (int j = 0; j < 3; j++) {
            m->fast_convs[m->n_fast_convs++] = &g->c1[j];
            m->fast_convs[m->n_fast_convs++] = &g->c2[j];
        }
    }
    m->load_ms = kk_now_ms() - t0;
    *out = m;
    return KK_OK;
}

void kk_model_free(kk_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_fast_convs; i++)
        nn_conv_bf16_free(&m->fast_convs[i]->bf);
    if (m->n_fast_convs)
        pthread_mutex_destroy(&m->fast_lock);
    for (int i = 0; i < m->n_small; i++)
        free(m->small[i]);
    free(m->small);
    kk_weights_close(m->w);
    free(m);
}

const char *kk_forward_module_name(int mod)
{
    static const char *const names[KK_MOD_COUNT] = {"ALBERT", "predictor", "text encoder", "decoder",
                                                    "source", "generator 1", "generator 2", "iSTFT"};
    return mod >= 0 && mod < KK_MOD_COUNT ? names[mod] : "?";
}

int kk_forward_fast_available(char *why, size_t size)
{
    unsigned f = nn_cpu_features();
    int amx = nn_amx_enable() == 0; /* else the AVX512_BF16 kernel is the one (nn_bf16_kernel) */
    const char *r = NULL, *off = getenv("KOKORO_FAST_DISABLE");
    if (off && *off && strcmp(off, "0"))
        r = "KOKORO_FAST_DISABLE is set"; /* to test the fallback on a machine that has AMX */
    else if (!(f & (NN_CPU_AMX_BF16 | NN_CPU_AVX512_BF16)))
        r = "this CPU (or its OS) has neither AMX-BF16 nor AVX512_BF16";
    else if (!(f & NN_CPU_AVX512_BF16) && !amx)
        r = "the kernel refused the AMX tile state (arch_prctl ARCH_REQ_XCOMP_PERM)";
    char slow[160];
    double bf, fp;
    if (!r && !amx && !nn_avx512_bf16_pays(&bf, &fp)) {
        snprintf(slow, sizeof slow,
                 "this CPU's AVX512_BF16 dot products (%.0f GFLOP/s a core) are no faster than its fp32 FMA (%.0f), "
                 "and it has no AMX",
                 bf, fp);
        r = slow;
    }
    if (r && why && size)
        snprintf(why, size, "%s", r);
    return r == NULL;
}

const char *kk_forward_fast_kernel(void) { return kk_forward_fast_available(NULL, 0) ? nn_bf16_kernel() : NULL; }

/* Packs the fast mode's weights once per model (the model stays read-only
 * for the forward pass otherwise). 1 when the fast mode can run. */
static int fast_prepare(const kk_model *cm, const kk_forward_params *p)
{
    kk_model *m = (kk_model *)cm; /* only the fast_* fields, under the lock */
    pthread_mutex_lock(&m->fast_lock);
    if (m->fast_state == 0) {
        if (!kk_forward_fast_available(m->fast_why, sizeof m->fast_why))
            m->fast_state = -1;
        else {
            m->fast_state = 1;
            /* Without AMX the generator's 7- and 11-tap residual blocks
             * run the exact mode's FFT convolutions, fused with their
             * AdaIN-Snake and residual add, with each bin's product in
             * bf16 (conv_ex; gen_block runs the direct bf16 kernel where
             * the weights are packed): the direct bf16 ones do 3-5x their
             * multiply-adds at twice the rate. On a Zen 5 guest the
             * paragraph went 1.08x faster on the FFT (fp32 products), and
             * the bf16 products 1.15x (60 ids) to 1.3x (200 ids) more. The
             * 3-tap ones stay direct: on the FFT they were 3.5 % slower
             * (60 ids). AMX's ~10x rate keeps them all direct. */
            const char *kernel = nn_bf16_kernel();
            int amx = kernel && !strcmp(kernel, "amx-bf16");
            for (int i = 0; i < m->n_fast_convs && m->fast_state == 1; i++) {
                conv_w *c = m->fast_convs[i];
                if (!amx && c->c.k > 3)
                    continue;
                size_t nw = (size_t)c->c.cout * (c->c.cin / c->c.groups) * c->c.k;
                float *w32 = c->w.h ? malloc(nw * sizeof *w32) : NULL;
                if (w32)
                    nn_widen_f16(c->w.h, nw, w32);
                if ((c->w.h && !w32) || nn_conv_pack_bf16(&c->c, w32 ? w32 : c->w.f, &c->bf)) {
                    snprintf(m->fast_why, sizeof m->fast_why, "out of memory packing the bf16 weights");
                    m->fast_state = -1;
                }
                free(w32);
                m->fast_bytes += nn_conv_bf16_bytes(&c->bf);
            }
            if (m->fast_state != 1)
                for (int i = 0; i < m->n_fast_convs; i++)
                    nn_conv_bf16_free(&m->fast_convs[i]->bf);
        }
    }
    int ok = m->fast_state == 1, say = !ok && !m->fast_noticed;
    m->fast_noticed |= say;
    pthread_mutex_unlock(&m->fast_lock);
    if (say) {
        char line[256];
        snprintf(line, sizeof line, "fast mode unavailable (%s); exact mode used", m->fast_why);
        if (p->on_notice)
            p->on_notice(p->notice_user, line);
        else
            fprintf(stderr, "kokoro: %s\n", line);
    }
    return ok;
}

kk_precision kk_model_precision(const kk_model *m, kk_precision asked, void (*on_notice)(void *user, const char *line),
                                void *notice_user)
{
    if (asked != KK_PRECISION_FAST)
        return KK_PRECISION_EXACT;
    kk_forward_params p = kk_forward_default_params();
    p.on_notice = on_notice;
    p.notice_user = notice_user;
    return fast_prepare(m, &p) ? KK_PRECISION_FAST : KK_PRECISION_EXACT;
}

double kk_model_load_ms(const kk_model *m) { return m->load_ms; }

uint64_t kk_model_identity(const kk_model *m) { return kk_weights_get_stats(m->w)->content_hash; }

kk_forward_params kk_forward_default_params(void)
{
    return (kk_forward_params){.speed = 1.0f};
}

void kk_forward_result_free(kk_forward_result *r)
{
    free(r->samples);
    free(r->durations);
    free(r->raw_durations);
    memset(r, 0, sizeof *r);
}

/* ---- the forward pass ---- */

/* Per-call state: working memory and the caller's callbacks. */
typedef struct {
    const kk_forward_params *p;
    nn_scratch s, s2; /* s2: the reverse direction of a bidirectional LSTM */
    /* the half weights of the layer running, widened (wide()): wb for
     * convolutions and the forward LSTM, wb2 for the reverse LSTM */
    nn_scratch wb, wb2;
    int oom;
    int fast; /* packed bf16 convolutions are used where present */
    /* profile: the module now running, since when (ms) */
    int mod;
    double t_mark;
} fwd;

/* The profile: the time since the last mark goes to the module that ran;
 * mod runs from now. */
static void stage(fwd *f, int mod)
{
    if (f->p->profile) {
        double t = kk_now_ms();
        if (f->mod >= 0)
            f->p->profile->ms[f->mod] += t - f->t_mark;
        f->t_mark = t;
    }
    f->mod = mod;
}

static void count(fwd *f, double macs)
{
    if (f->p->profile && f->mod >= 0)
        f->p->profile->macs[f->mod] += macs;
}

/* Gives the call's scratch back (it only grows while a call runs): between
 * modules whose widest layers differ a lot. */
static void release_scratch(fwd *f)
{
    nn_scratch_free(&f->s);
    nn_scratch_free(&f->s2);
    nn_scratch_free(&f->wb);
    nn_scratch_free(&f->wb2);
}

/* release_scratch between modules when it lowers the call's peak: when the
 * generator's largest buffers (big floats) are at least half the scratch
 * held. Short utterances keep it: its fresh pages would be faulted in
 * again for nothing (~18,000 faults per call on the 8-id one, measured). */
static void release_scratch_for(fwd *f, size_t big)
{
    if (2 * big >= f->s.cap + f->s2.cap + f->wb.cap + f->wb2.cap)
        release_scratch(f);
}

/* w as float32: in place, or its n halves widened into s (NULL when out
 * of memory). */
static const float *wide(wt w, size_t n, nn_scratch *s)
{
    if (w.f)
        return w.f;
    float *p = nn_scratch_get(s, n);
    if (p)
        nn_widen_f16(w.h, n, p);
    return p;
}

/* nn_conv1d_ex (exact mode: the fused activation and residual add),
 * with its multiply-adds counted; fast: a generator residual block's, in
 * the fast mode (its FFT products in bf16 where the CPU has AVX512_BF16). */
static int conv_ex(fwd *f, const conv_w *cw, const float *x, int t_in, const float *pre, const float *b, float *y,
                   int accumulate, int fast)
{
    int bf = fast && nn_conv_fft_bf16_runs(&cw->c);
    int t_out = nn_conv_out_len(&cw->c, t_in);
    size_t nw = (size_t)cw->c.cout * (cw->c.cin / cw->c.groups) * cw->c.k;
    /* The generator's 7- and 11-tap convolutions go by FFT: 3-4x fewer
     * multiplies, within ~1e-6 of im2col + sgemm (nn_conv1d_fft), which
     * does the rest. The profile counts the multiplies each one does. */
    /* The 3-tap ones by Winograd's F(2,3): 2/3 of the multiplies. */
    int fft = nn_conv_fft_pays(&cw->c, t_in), wino = !fft && nn_conv_wino_suits(&cw->c);
    double macs = (double)nw * (t_out > 0 ? t_out : 0);
    count(f, fft ? nn_conv_fft_macs(&cw->c, t_in) : wino ? macs * 2.0 / 3.0 : macs);
    /* the FFT and Winograd kernels read half weights a row at a time into
     * their transforms: no widened copy of the layer written and read back */
    /* the fast mode's: each bin's product in bf16 (about twice the rate
     * of OpenBLAS's cgemm on AVX512_BF16) */
    if (fft && bf)
        return nn_conv1d_fft_bf16(&cw->c, x, t_in, pre, cw->w.f, cw->w.f ? NULL : cw->w.h, b, y, accumulate, &f->s);
    if (fft && !cw->w.f)
        return nn_conv1d_fft_f16(&cw->c, x, t_in, pre, cw->w.h, b, y, accumulate, &f->s);
    if (wino && !cw->w.f)
        return nn_conv1d_wino_f16(&cw->c, x, t_in, pre, cw->w.h, b, y, accumulate, &f->s);
    const float *w = wide(cw->w, nw, &f->wb);
    if (!w)
        return -1;
    if (fft)
        return nn_conv1d_fft(&cw->c, x, t_in, pre, w, b, y, accumulate, &f->s);
    if (wino)
        return nn_conv1d_wino(&cw->c, x, t_in, pre, w, b, y, accumulate, &f->s);
    return nn_conv1d_ex(&cw->c, x, t_in, pre, w, b, y, accumulate, &f->s);
}

/* nn_conv1d with the multiply-adds counted, in bf16 where the fast mode
 * has the packed weights. */
static int conv(fwd *f, const conv_w *cw, const float *x, int t_in, const float *b, float *y)
{
    int t_out = nn_conv_out_len(&cw->c, t_in);
    size_t nw = (size_t)cw->c.cout * (cw->c.cin / cw->c.groups) * cw->c.k;
    if (f->fast && cw->bf.w) {
        count(f, (double)nw * (t_out > 0 ? t_out : 0));
        return nn_conv1d_bf16(&cw->c, &cw->bf, x, t_in, b, y, &f->s);
    }
    return conv_ex(f, cw, x, t_in, NULL, b, y, 0, 0);
}

static int convt(fwd *f, const convt_w *cw, const float *x, int t_in, const float *b, float *y)
{
    size_t nw = (size_t)cw->c.cin * (cw->c.cout / cw->c.groups) * cw->c.k;
    count(f, (double)nw * t_in);
    const float *w = wide(cw->w, nw, &f->wb);
    return w ? nn_conv_transpose1d(&cw->c, x, t_in, w, b, y, &f->s) : -1;
}

/* A long utterance (the generator's last stage's four buffers larger than
 * the whole weight file: from ~15 s of speech) peaks in the generator,
 * which reads a small part of the weights (each stage its own: stage 1
 * ~10 % of the file, stage 2 ~3 %): the file's pages leave the process's
 * resident memory before each stage, and the few it needs come back as
 * they are read (minor faults from the page cache; the next call faults
 * the rest back in). 510 ids: peak RSS 423 -> 284 MiB. Short ones keep
 * their pages: their peak is not here, and the next call would pay the
 * faults. */
static void release_weights_if_long(const kk_model *m, int F)
{
    if ((size_t)4 * 128 * F * sizeof(float) > kk_weights_get_stats(m->w)->file_size)
        kk_weights_release_pages(m->w);
}

/* Working memory (nn_alloc: large buffers mapped and unmapped, not left
 * in the malloc heap); freed with nn_free. */
static float *alloc(fwd *f, size_t n)
{
    float *p = nn_alloc(n ? n : 1);
    if (!p)
        f->oom = 1;
    return p;
}

static void emit(fwd *f, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2, const float *x)
{
    if (!f->p->on_tensor)
        return;
    int64_t shape[3] = {d0, d1, d2};
    f->p->on_tensor(f->p->tensor_user, name, ndim, shape, x);
}

static int aborted(fwd *f) { return f->p->abort && f->p->abort(f->p->abort_user); }

/* A 4-bit weight dequantised to w[N][K] (rows in parallel: each row is
 * dequantised the same way whoever does it). */
static void q4_dequant(const q4_w *q, float *w)
{
    int K = q->K, N = q->N;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        if (q->kn.f)
            for (int k = 0; k < K; k++)
                w[(size_t)n * K + k] = q->kn.f[(size_t)k * N + n];
        else if (q->kn.h)
            for (int k = 0; k < K; k++)
                w[(size_t)n * K + k] = nn_f16_to_f32(q->kn.h[(size_t)k * N + n]);
        else
            kk_q4_dequant_row(q->q, n, w + (size_t)n * K);
    }
}

/* y[m][n] = x[m][k] W^T + b for a 4-bit weight already dequantised into w. */
static void q4_linear_w(fwd *f, const q4_w *q, const float *w, const float *x, int m, float *y, int ldy)
{
    count(f, (double)m * q->K * q->N);
    nn_linear(x, m, q->K, w, 0, q->b, q->N, y, ldy);
}

/* The same for a weight used once: dequantised into scratch. */
static int q4_linear(fwd *f, const q4_w *q, const float *x, int m, float *y, int ldy)
{
    float *w = nn_scratch_get(&f->s, (size_t)q->N * q->K);
    if (!w)
        return -1;
    q4_dequant(q, w);
    q4_linear_w(f, q, w, x, m, y, ldy);
    return 0;
}

/* gamma/beta of an AdaIN / AdaLayerNorm: h = W s + b, gamma = h[:C], beta = h[C:]. */
static void style_fc(const fc_w *fc, const float *s, float *h)
{
    float row[STYLE_HALF];
    for (int o = 0; o < fc->out; o++) {
        const float *wr;
        if (fc->w.f)
            wr = fc->w.f + (size_t)o * STYLE_HALF;
        else
            nn_widen_f16(fc->w.h + (size_t)o * STYLE_HALF, STYLE_HALF, row), wr = row;
        float acc = 0.0f;
        for (int i = 0; i < STYLE_HALF; i++)
            acc += wr[i] * s[i];
        h[o] = acc + fc->b[o];
    }
}

static void transpose(const float *x, int rows, int cols, float *y)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            y[(size_t)c * rows + r] = x[(size_t)r * cols + c];
}

/* A bidirectional LSTM over x[T][in]: y[T][512] = [h_fwd(t), h_bwd(t)]. */
static int bilstm(fwd *f, const lstm_w *l, const float *x, int T, float *y)
{
    size_t G = 4 * H_LSTM;
    int bad = 0;
    count(f, 2.0 * T * G * (l->in + H_LSTM));
    /* the two directions are independent: one thread each (each widens
     * its own half of the weights, W then R, into its own buffer) */
#pragma omp parallel for schedule(static) num_threads(nn_threads_max() > 1 ? 2 : 1) reduction(| : bad)
    for (int d = 0; d < 2; d++) {
        size_t nW = G * l->in, nR = G * H_LSTM;
        nn_scratch *ws = d ? &f->wb2 : &f->wb;
        const float *W = l->W.f ? l->W.f + d * nW : NULL, *R = l->R.f ? l->R.f + d * nR : NULL;
        if (!W || !R) {
            float *p = nn_scratch_get(ws, nW + nR);
            if (!p) {
                bad = 1;
                continue;
            }
            if (!W)
                nn_widen_f16(l->W.h + d * nW, nW, p), W = p;
            if (!R)
                nn_widen_f16(l->R.h + d * nR, nR, p + nW), R = p + nW;
        }
        bad |= nn_lstm(x, T, l->in, l->in, W, R, l->B + d * 2 * G, H_LSTM, d, y + d * H_LSTM, 2 * H_LSTM,
                       d ? &f->s2 : &f->s) != 0;
    }
    return bad ? -1 : 0;
}

/* AdainResBlk1d over x[cin][T] -> y[cout][T or 2T]. */
static int adain_block(fwd *f, const adain_blk *b, const float *x, int T, const float *s, float *y)
{
    int T2 = wt_set(b->pool.w) ? 2 * T : T;
    size_t cmax = (size_t)(b->cin > b->cout ? b->cin : b->cout);
    float *h = alloc(f, 2 * cmax);
    float *t1 = alloc(f, cmax * T2), *t2 = alloc(f, (size_t)b->cout * T2);
    float *sc = alloc(f, (size_t)b->cin * T2);
    int rc = -1;
    if (f->oom)
        goto out;
    style_fc(&b->norm1, s, h);
    nn_adain(x, b->cin, T, h, h + b->cin, 1e-5f, t1);
    nn_leaky_relu(t1, (size_t)b->cin * T, 0.2f);
    const float *in1 = t1;
    if (wt_set(b->pool.w)) {
        if (convt(f, &b->pool, t1, T, b->pool.b, sc))
            goto out;
        in1 = sc;
    }
    if (conv(f, &b->conv1, in1, T2, b->conv1.b, t2))
        goto out;
    style_fc(&b->norm2, s, h);
    nn_adain(t2, b->cout, T2, h, h + b->cout, 1e-5f, t2);
    nn_leaky_relu(t2, (size_t)b->cout * T2, 0.2f);
    if (conv(f, &b->conv2, t2, T2, b->conv2.b, y))
        goto out;
    /* shortcut: nearest 2x upsampling, then the 1x1 conv (no bias) */
    const float *short_in = x;
    if (wt_set(b->pool.w)) {
        for (int c = 0; c < b->cin; c++)
            for (int t = 0; t < T; t++)
                sc[(size_t)c * T2 + 2 * t] = sc[(size_t)c * T2 + 2 * t + 1] = x[(size_t)c * T + t];
        short_in = sc;
    }
    const float *add = short_in;
    if (wt_set(b->sc.w)) {
        if (conv(f, &b->sc, short_in, T2, NULL, t1))
            goto out;
        add = t1;
    }
    size_t n = (size_t)b->cout * T2;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        y[i] = (y[i] + add[i]) / 1.4142135381698608f; /* a Div in the graph, not a Mul */
    rc = 0;
out:
    nn_free(h), nn_free(t1), nn_free(t2), nn_free(sc);
    return f->oom ? -1 : rc;
}

/* AdaINResBlock1 (Snake) over x[C][T]; out += block(x) when accumulate,
 * else out = block(x). work: gen_work(f) C*T floats of the caller's (the
 * generator's buffers are tens of MB: allocated once per stage rather than
 * per block, they are not mapped, faulted in and unmapped again eight
 * times). Per layer pair j the graph computes
 *   t1 = AdaIN-Snake(y); t2 = conv1(t1); t2 = AdaIN-Snake(t2); y += conv2(t2).
 * The exact mode fuses the first activation into conv1's input tiles and
 * the residual add into conv2's output tiles (nn_conv1d_ex: the same
 * operations, bit for bit), so t1 is never stored: work is y and t2. The
 * fast mode's bf16 kernel (the 3-tap blocks) has no such fusion and keeps
 * t1. */
static int gen_work(const fwd *f) { return f->fast ? 3 : 2; }

static int gen_block(fwd *f, const gen_blk *g, const float *x, int T, const float *s, float *out, int accumulate,
                     float *work)
{
    size_t n = (size_t)g->C * T;
    int C = g->C;
    /* the fast mode's bf16 path where its weights are packed (3 taps) */
    float *y = work, *t2 = work + n, *t1 = f->fast && g->c1[0].bf.w ? work + 2 * n : NULL;
    float *h = alloc(f, 2 * (size_t)C), *k = alloc(f, 6 * (size_t)C);
    int rc = -1;
    if (f->oom)
        goto out;
    memcpy(y, x, n * sizeof *y);
    for (int j = 0; j < 3; j++) {
        style_fc(&g->a1[j], s, h);
        if (t1) {
            nn_adain_snake(y, C, T, h, h + C, 1e-5f, g->al1[j], g->ral1[j], t1);
            if (conv(f, &g->c1[j], t1, T, g->c1[j].b, t2))
                goto out;
        } else {
            nn_adain_snake_prep(y, C, T, h, h + C, 1e-5f, g->al1[j], g->ral1[j], k);
            if (conv_ex(f, &g->c1[j], y, T, k, g->c1[j].b, t2, 0, f->fast))
                goto out;
        }
        style_fc(&g->a2[j], s, h);
        nn_adain_snake(t2, C, T, h, h + C, 1e-5f, g->al2[j], g->ral2[j], t2);
        if (t1) {
            if (conv(f, &g->c2[j], t2, T, g->c2[j].b, t1))
                goto out;
#pragma omp parallel for schedule(static)
            for (size_t i = 0; i < n; i++)
                y[i] = t1[i] + y[i];
        } else if (conv_ex(f, &g->c2[j], t2, T, NULL, g->c2[j].b, y, 1, f->fast)) {
            goto out;
        }
    }
    if (accumulate)
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++)
            out[i] += y[i];
    else
        memcpy(out, y, n * sizeof *y);
    rc = 0;
out:
    nn_free(h), nn_free(k);
    return f->oom ? -1 : rc;
}

/* ALBERT + bert_encoder: ids -> benc[T2][512]. */
static int albert(fwd *f, const kk_model *m, const int64_t *ids, int T2, float *benc)
{
    const int D = 768, NH = 12, HD = 64, FF = 2048;
    int nth = nn_threads_max();
    float *e = alloc(f, (size_t)T2 * 128), *x = alloc(f, (size_t)T2 * D), *q = alloc(f, (size_t)T2 * D);
    float *k = alloc(f, (size_t)T2 * D), *v = alloc(f, (size_t)T2 * D), *ctx = alloc(f, (size_t)T2 * D);
    float *ff = alloc(f, (size_t)T2 * FF), *sc = alloc(f, (size_t)T2 * T2 * nth);
    /* the shared layer's six weights, dequantised once for the 12 passes */
    const q4_w *lw[6] = {&m->q, &m->k, &m->v, &m->dense, &m->ffn, &m->ffn_out};
    float *wq[6];
    size_t wtot = 0, woff[6];
    for (int i = 0; i < 6; i++)
        woff[i] = wtot, wtot += (size_t)lw[i]->N * lw[i]->K;
    float *wall = alloc(f, wtot);
    int rc = -1;
    if (f->oom)
        goto out;
    for (int i = 0; i < 6; i++) {
        wq[i] = wall + woff[i];
        q4_dequant(lw[i], wq[i]);
    }
    for (int t = 0; t < T2; t++)
        for (int c = 0; c < 128; c++)
            e[t * 128 + c] = m->word_emb[ids[t] * 128 + c] + m->type_emb[c] + m->pos_emb[t * 128 + c];
    nn_layer_norm(e, T2, 128, m->emb_ln_g, m->emb_ln_b, 1e-12f, e);
    if (q4_linear(f, &m->map, e, T2, x, D))
        goto out;
    const float scale = 0.35355339059327373f; /* sqrt(1/sqrt(64)), applied to q and k */
    const size_t n = (size_t)T2 * D;
    for (int layer = 0; layer < 12; layer++) {
        count(f, 2.0 * T2 * T2 * D); /* scores and context, all heads */
        q4_linear_w(f, &m->q, wq[0], x, T2, q, D);
        q4_linear_w(f, &m->k, wq[1], x, T2, k, D);
        q4_linear_w(f, &m->v, wq[2], x, T2, v, D);
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++)
            q[i] *= scale, k[i] *= scale;
        /* heads in parallel, each with its own score matrix */
#pragma omp parallel for schedule(static)
        for (int h = 0; h < NH; h++) {
            float *sch = sc + (size_t)T2 * T2 * nn_thread_id();
            /* one utterance without padding: the attention mask adds exactly 0 */
            nn_matmul(q + h * HD, D, k + h * HD, D, 1, sch, T2, T2, T2, HD);
            nn_softmax(sch, T2, T2);
            nn_matmul(sch, T2, v + h * HD, D, 0, ctx + h * HD, D, T2, HD, T2);
        }
        q4_linear_w(f, &m->dense, wq[3], ctx, T2, q, D);
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++)
            q[i] = x[i] + q[i];
        nn_layer_norm(q, T2, D, m->attn_ln_g, m->attn_ln_b, 1e-12f, q); /* x1 */
        q4_linear_w(f, &m->ffn, wq[4], q, T2, ff, FF);
        nn_gelu_tanh(ff, (size_t)T2 * FF);
        q4_linear_w(f, &m->ffn_out, wq[5], ff, T2, x, D);
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++)
            x[i] = q[i] + x[i];
        nn_layer_norm(x, T2, D, m->full_ln_g, m->full_ln_b, 1e-12f, x);
    }
    emit(f, "/encoder/bert/encoder/albert_layer_groups.0/albert_layers.0/full_layer_layer_norm_11/"
            "LayerNormalization_output_0",
         3, 1, T2, D, x);
    if (q4_linear(f, &m->bert_enc, x, T2, benc, 512))
        goto out;
    emit(f, "/encoder/bert_encoder/Add_output_0", 3, 1, T2, 512, benc);
    rc = 0;
out:
    nn_free(e), nn_free(x), nn_free(q), nn_free(k), nn_free(v), nn_free(ctx), nn_free(ff), nn_free(sc), nn_free(wall);
    return f->oom ? -1 : rc;
}

/* Appends the prosody style to every row: y[T][640] = [x[T][512], s_pro]. */
static void concat_style(const float *x, int T, const float *s, float *y)
{
    for (int t = 0; t < T; t++) {
        memcpy(y + (size_t)t * 640, x + (size_t)t * 512, 512 * sizeof(float));
        memcpy(y + (size_t)t * 640 + 512, s, STYLE_HALF * sizeof(float));
    }
}

/* Duration encoder, duration LSTM and projection: d[T2][640], dur[T2]. */
static int durations(fwd *f, const kk_model *m, const float *benc, int T2, const float *s_pro, float speed,
                     float *d, int *dur, float *raw)
{
    float *h = alloc(f, (size_t)T2 * 512), *g = alloc(f, 1024), *logit = alloc(f, (size_t)T2 * 50);
    int rc = -1;
    if (f->oom)
        goto out;
    concat_style(benc, T2, s_pro, d);
    for (int i = 0; i < 3; i++) {
        if (bilstm(f, &m->pte[i], d, T2, h))
            goto out;
        /* AdaLayerNorm: layer norm (unit weight, zero bias), then (1 + gamma) x + beta */
        nn_layer_norm(h, T2, 512, NULL, NULL, 1e-5f, h);
        style_fc(&m->pte_fc[i], s_pro, g);
        for (int t = 0; t < T2; t++)
            for (int c = 0; c < 512; c++)
                h[(size_t)t * 512 + c] = (1.0f + g[c]) * h[(size_t)t * 512 + c] + g[512 + c];
        concat_style(h, T2, s_pro, d);
    }
    emit(f, "/encoder/predictor/text_encoder/Concat_4_output_0", 3, 1, T2, 640, d);
    if (bilstm(f, &m->plstm, d, T2, h) || q4_linear(f, &m->dur_proj, h, T2, logit, 50))
        goto out;
    for (int t = 0; t < T2; t++) {
        float sum = 0.0f;
        for (int k = 0; k < 50; k++)
            sum += nn_sigmoid1(logit[t * 50 + k]);
        raw[t] = sum;
        float df = sum / speed;
        float r = rintf(df); /* ONNX Round: half to even, as rintf in the default mode */
        dur[t] = r < 1.0f ? 1 : (int)r;
    }
    rc = 0;
out:
    nn_free(h), nn_free(g), nn_free(logit);
    return f->oom ? -1 : rc;
}

/* Text encoder: ids -> t_en[T2][512] (time-major). */
static int text_encoder(fwd *f, const kk_model *m, const int64_t *ids, int T2, float *ten)
{
    float *tm = alloc(f, (size_t)T2 * 512), *cm = alloc(f, (size_t)T2 * 512), *cm2 = alloc(f, (size_t)T2 * 512);
    int rc = -1;
    if (f->oom)
        goto out;
    for (int t = 0; t < T2; t++)
        memcpy(tm + (size_t)t * 512, m->te_emb + ids[t] * 512, 512 * sizeof(float));
    for (int i = 0; i < 3; i++) {
        transpose(tm, T2, 512, cm);
        if (conv(f, &m->te_cnn[i], cm, T2, m->te_cnn[i].b, cm2))
            goto out;
        transpose(cm2, 512, T2, tm);
        nn_layer_norm(tm, T2, 512, m->te_ln_g[i], m->te_ln_b[i], 1e-5f, tm);
        nn_leaky_relu(tm, (size_t)T2 * 512, 0.2f);
    }
    if (bilstm(f, &m->te_lstm, tm, T2, ten))
        goto out;
    rc = 0;
out:
    nn_free(tm), nn_free(cm), nn_free(cm2);
    return f->oom ? -1 : rc;
}

/* F0 or N: x[512][L] -> curve[2L]. */
static int pitch_curve(fwd *f, const adain_blk *b, const conv_w *proj, const float *x, int L, const float *s,
                       float *curve, const char *tag)
{
    float *a = alloc(f, (size_t)512 * 2 * L), *c = alloc(f, (size_t)512 * 2 * L);
    int rc = -1;
    char name[128];
    if (f->oom)
        goto out;
    if (adain_block(f, &b[0], x, L, s, a) || adain_block(f, &b[1], a, L, s, c) ||
        adain_block(f, &b[2], c, 2 * L, s, a))
        goto out;
    snprintf(name, sizeof name, "/encoder/%s.2/Div_2_output_0", tag);
    emit(f, name, 3, 1, 256, 2 * L, a);
    if (conv(f, proj, a, 2 * L, proj->b, curve))
        goto out;
    rc = 0;
out:
    nn_free(a), nn_free(c);
    return f->oom ? -1 : rc;
}

/* ---- bit-exact twins of two ONNX Runtime kernels ----
 *
 * In unvoiced stretches the harmonic source is a constant, tanh(bias), and
 * the windowed spectrum of a constant is exactly zero in bins 2..10 (and
 * real in bin 0): what the STFT returns there is rounding noise, and the
 * generator takes its *phase* (not weighted by the magnitude) as an input
 * feature. That phase is decided by the last bits of the arithmetic, so to
 * produce the audio ONNX Runtime produces, the constant and the transform
 * are computed exactly as ORT computes them: MLAS's tanh (nn_tanh1) and the
 * STFT kernel's Bluestein chirp-z DFT (nn_stft20). */

/* STFT of the source (reflect pad 10, hop 5, Hann 20, 11 bins) into
 * spec[22][F]: magnitudes, then phases by the graph's atan rule. */
static void source_stft(const kk_model *m, const float *har, size_t N, float *spec, int F)
{
    nn_stft20(har, N, m->hann, F, spec, spec + (size_t)11 * F);
    const float pi = 3.1415927410125732f;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < F; t++)
        for (int k = 0; k < 11; k++) {
            float *pr = spec + (size_t)k * F + t, *pi_ = spec + (size_t)(11 + k) * F + t;
            float re = *pr, im = *pi_;
            float a = atanf(im / re);
            float phase = re < 0.0f ? (im > 0.0f ? a + pi : a - pi) : a;
            /* 0/0 (an exactly silent bin) is NaN in the graph; we say 0 so
             * that no NaN can reach the audio */
            if (phase != phase)
                phase = 0.0f;
            *pr = sqrtf(re * re + im * im);
            *pi_ = phase;
        }
}

/* ORT's linear Resize over a 3-D tensor [1][9][W] (its "trilinear" path:
 * depth 1, height = the 9 harmonics at scale 1, width resized): the
 * weighted sum of 8 neighbours in ORT's order, each weight the product
 * ((dx * dy) * dz). With dz1 = dz2 = 0.5 and dy (0, 1) or (0.5, 0.5) the
 * result is the usual linear interpolation up to the last bit, and the last
 * bit is what the phase of the source needs (see the twins above). */
typedef struct {
    int x1, x2;
    float dx1, dx2;
} lin_pos;

static lin_pos lin_at(int x, float scale, int in_w)
{
    float in_x = ((float)x + 0.5f) / scale - 0.5f; /* half_pixel */
    float hi = (float)(in_w - 1);
    in_x = in_x < 0.0f ? 0.0f : (in_x > hi ? hi : in_x);
    lin_pos p;
    p.x1 = (int)in_x < in_w - 1 ? (int)in_x : in_w - 1;
    p.x2 = p.x1 + 1 < in_w - 1 ? p.x1 + 1 : in_w - 1;
    p.dx1 = fabsf(in_x - (float)p.x1);
    p.dx2 = fabsf(in_x - (float)p.x2);
    if (p.x1 == p.x2)
        p.dx1 = p.dx2 = 0.5f;
    return p;
}

/* The source's Resize of v (rad or phase, [harmonic][x]) at p for harmonic
 * h, from the four values the caller read: a = v(x1, h), b = v(x2, h),
 * c = v(x1, h2), d = v(x2, h2), h2 the next harmonic (h < 8: h + 1, at
 * weight 0; the last: itself). Written out term by term, the repeated
 * half-weighted terms included, in the order that matches ONNX Runtime to
 * the bit (engine-notes 8a): do not simplify. */
static inline float lin_value(const lin_pos *p, int h, float a, float b, float c, float d)
{
    const float dz = 0.5f;
    float dy1 = h < 8 ? 0.0f : 0.5f, dy2 = h < 8 ? 1.0f : 0.5f;
    return p->dx2 * dy2 * dz * a + p->dx1 * dy2 * dz * b + p->dx2 * dy1 * dz * c + p->dx1 * dy1 * dz * d +
           p->dx2 * dy2 * dz * a + p->dx1 * dy2 * dz * b + p->dx2 * dy1 * dz * c + p->dx1 * dy1 * dz * d;
}

static inline float rad_at(const float *F0, int x, int h)
{
    float v = (F0[x / 300] * (float)(h + 1)) / (float)KK_SAMPLE_RATE;
    return v - floorf(v);
}

/* The harmonic source, exactly as the graph computes it (no random phase or
 * noise): har[600 L] from F0[2L]. See engine-notes 8a for each step. */
static int harmonic_source(fwd *f, const kk_model *m, const float *F0, int n2, float *har)
{
    const int NH = 9;
    int N = n2 * 300;
    float *ph = alloc(f, (size_t)n2 * NH), wl[9];
    float *phu = f->p->on_tensor ? alloc(f, (size_t)N * NH) : NULL;
    if (f->oom) {
        nn_free(ph), nn_free(phu);
        return -1;
    }
    q4_dequant(&m->l_linear, wl);
    const float bl = m->l_linear.b[0];
    /* rad = frac(F0 h / 24000) at 24 kHz, resized down to the F0 rate and
     * summed: the phase of each harmonic, in turns */
    float cs[9] = {0};
    for (int i = 0; i < n2; i++) {
        lin_pos p = lin_at(i, m->down_scale, N);
        for (int h = 0; h < NH; h++) {
            int h2 = h < 8 ? h + 1 : 8;
            cs[h] += lin_value(&p, h, rad_at(F0, p.x1, h), rad_at(F0, p.x2, h), rad_at(F0, p.x1, h2),
                               rad_at(F0, p.x2, h2));
            ph[(size_t)i * NH + h] = cs[h] * 2.0f * 3.1415927410125732f * 300.0f;
        }
    }
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        lin_pos p = lin_at(n, m->up_scale, n2);
        const float *a = ph + (size_t)p.x1 * NH, *b = ph + (size_t)p.x2 * NH;
        float uv = F0[n / 300] > 10.0f ? 1.0f : 0.0f;
        float acc = 0.0f;
        for (int h = 0; h < NH; h++) {
            int h2 = h < 8 ? h + 1 : 8;
            float phase = lin_value(&p, h, a[h], b[h], a[h2], b[h2]);
            if (phu)
                phu[(size_t)h * N + n] = phase;
            float sine = sinf(phase) * 0.1f * uv;
            acc += sine * wl[h];
        }
        har[n] = nn_tanh1(acc + bl);
    }
    if (phu)
        emit(f, "/decoder/decoder/generator/m_source/l_sin_gen/Resize_1_output_0", 3, 1, NH, N, phu);
    nn_free(ph), nn_free(phu);
    return 0;
}

/* Decoder + generator: asr[512][L], F0/N[2L], s_dec -> wave[600 L]. */
static int decode(fwd *f, const kk_model *m, const float *asr, const float *F0, const float *Nc, int L,
                  const float *s, float *wave)
{
    int n2 = 2 * L;
    size_t N = (size_t)KK_SAMPLES_PER_FRAME * L;
    int F = 120 * L + 1;
    float *f0d = alloc(f, L), *nd = alloc(f, L), *ar = alloc(f, (size_t)64 * L);
    float *cat = alloc(f, (size_t)1090 * L), *x = alloc(f, (size_t)1024 * L);
    float *har = NULL, *hs = NULL, *a = NULL, *acc = NULL, *xs = NULL, *gw = NULL;
    int rc = -1;
    if (f->oom)
        goto out;
    stage(f, KK_MOD_DECODER);
    if (conv(f, &m->f0_conv, F0, n2, m->f0_conv.b, f0d) || conv(f, &m->n_conv, Nc, n2, m->n_conv.b, nd) ||
        conv(f, &m->asr_res, asr, L, m->asr_res.b, ar))
        goto out;
    memcpy(cat, asr, sizeof(float) * 512 * L);
    memcpy(cat + (size_t)512 * L, f0d, sizeof(float) * L);
    memcpy(cat + (size_t)513 * L, nd, sizeof(float) * L);
    if (adain_block(f, &m->enc, cat, L, s, x))
        goto out;
    for (int i = 0; i < 4; i++) {
        memcpy(cat, x, sizeof(float) * 1024 * L);
        memcpy(cat + (size_t)1024 * L, ar, sizeof(float) * 64 * L);
        memcpy(cat + (size_t)1088 * L, f0d, sizeof(float) * L);
        memcpy(cat + (size_t)1089 * L, nd, sizeof(float) * L);
        if (i == 3) {
            nn_free(x);
            x = alloc(f, (size_t)512 * n2);
            if (f->oom)
                goto out;
        }
        if (adain_block(f, &m->dec[i], cat, L, s, x))
            goto out;
        if (aborted(f)) {
            rc = -2;
            goto out;
        }
    }
    emit(f, "/decoder/decoder/decode.3/Div_4_output_0", 3, 1, 512, n2, x);
    nn_free(cat), cat = NULL;
    /* the decoder's convolutions left ~35 MB of scratch (its widest weights
     * widened and repacked): the generator needs a fraction of it */
    release_scratch_for(f, (size_t)4 * 128 * F);

    /* harmonic source and its spectrum */
    stage(f, KK_MOD_SOURCE);
    release_weights_if_long(m, F);
    count(f, (double)N * 9 + (double)F * 20 * 11); /* l_linear, the 20-point DFT per frame */
    har = alloc(f, N), hs = alloc(f, (size_t)22 * F);
    if (f->oom || harmonic_source(f, m, F0, n2, har))
        goto out;
    emit(f, "/decoder/decoder/generator/m_source/l_tanh/Tanh_output_0", 3, 1, (int64_t)N, 1, har);
    source_stft(m, har, N, hs, F);
    nn_free(har), har = NULL;
    emit(f, "/decoder/decoder/generator/Concat_3_output_0", 3, 1, 22, F, hs);

    /* stage 1: 256 channels at 20 L */
    stage(f, KK_MOD_GEN1);
    int T1 = 20 * L;
    nn_leaky_relu(x, (size_t)512 * n2, 0.1f);
    a = alloc(f, (size_t)256 * T1), xs = alloc(f, (size_t)256 * T1), acc = alloc(f, (size_t)256 * T1);
    gw = alloc(f, (size_t)gen_work(f) * 256 * T1);
    if (f->oom)
        goto out;
    if (conv(f, &m->noise_convs[0], hs, F, m->noise_convs[0].b, a) ||
        gen_block(f, &m->noise_res[0], a, T1, s, xs, 0, gw) || convt(f, &m->ups[0], x, n2, m->ups[0].b, a))
        goto out;
    nn_free(x), x = NULL;
    release_scratch_for(f, (size_t)4 * 128 * F); /* ups.0's weights (10 MB widened) and columns */
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < (size_t)256 * T1; i++)
        a[i] += xs[i];
    memset(acc, 0, sizeof(float) * 256 * T1);
    for (int r = 0; r < 3; r++)
        if (gen_block(f, &m->res[r], a, T1, s, acc, 1, gw))
            goto out;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < (size_t)256 * T1; i++)
        acc[i] = acc[i] / 3.0f;
    emit(f, "/decoder/decoder/generator/Div_2_output_0", 3, 1, 256, T1, acc);
    nn_leaky_relu(acc, (size_t)256 * T1, 0.1f);
    if (aborted(f)) {
        rc = -2;
        goto out;
    }

    /* stage 2: 128 channels at 120 L (+1 for the reflection pad) */
    stage(f, KK_MOD_GEN2);
    nn_free(a), nn_free(xs), nn_free(gw), a = xs = NULL;
    /* Four 128 x F buffers at most (the peak of a long utterance: 65 MB
     * each at 510 ids): ups.1 first, into the resblocks' work memory (free
     * until they run), while stage 1's output is the only other large
     * buffer; its reflection-padded result xs then takes noise_res.1's
     * output added to it (xs + y: the graph's sum, the same bits), and the
     * resblocks read xs and sum into a. */
    release_weights_if_long(m, F);
    gw = alloc(f, (size_t)gen_work(f) * 128 * F);
    if (f->oom || convt(f, &m->ups[1], acc, T1, m->ups[1].b, gw))
        goto out;
    nn_free(acc), acc = NULL;
    release_scratch_for(f, (size_t)4 * 128 * F);
    xs = alloc(f, (size_t)128 * F);
    if (f->oom)
        goto out;
    for (int c = 0; c < 128; c++) {
        float *row = xs + (size_t)c * F;
        const float *src = gw + (size_t)c * (F - 1);
        row[0] = src[1]; /* reflection pad, left 1 */
        memcpy(row + 1, src, sizeof(float) * (F - 1));
    }
    a = alloc(f, (size_t)128 * F);
    if (f->oom || conv(f, &m->noise_convs[1], hs, F, m->noise_convs[1].b, a))
        goto out;
    nn_free(hs), hs = NULL; /* the source spectrum's last reader (11 MB at 510 ids) */
    if (gen_block(f, &m->noise_res[1], a, F, s, xs, 1, gw))
        goto out;
    memset(a, 0, sizeof(float) * 128 * F);
    for (int r = 3; r < 6; r++)
        if (gen_block(f, &m->res[r], xs, F, s, a, 1, gw))
            goto out;
    nn_free(gw), gw = NULL;
    float *sum = a;
    a = xs, xs = sum; /* xs: the sum of the resblocks, a: free for the iSTFT */
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < (size_t)128 * F; i++)
        xs[i] = xs[i] / 3.0f;
    emit(f, "/decoder/decoder/generator/Div_4_output_0", 3, 1, 128, F, xs);
    nn_leaky_relu(xs, (size_t)128 * F, 0.01f);
    stage(f, KK_MOD_ISTFT);
    hs = alloc(f, (size_t)22 * F);
    if (f->oom || conv(f, &m->conv_post, xs, F, m->conv_post.b, hs))
        goto out;
    emit(f, "/decoder/decoder/generator/conv_post/Conv_output_0", 3, 1, 22, F, hs);

    /* inverse STFT: magnitude exp(), phase sin(), overlap-add with the stored basis */
    for (size_t t = 0; t < (size_t)11 * F; t++) {
        float mag = expf(hs[t]), ph = sinf(hs[(size_t)11 * F + t]);
        hs[t] = mag * cosf(ph);
        hs[(size_t)11 * F + t] = mag * sinf(ph);
    }
    size_t n_ola = (size_t)5 * (F - 1) + 20;
    nn_free(a);
    a = alloc(f, n_ola);
    if (f->oom || convt(f, &m->istft, hs, F, NULL, a))
        goto out;
    for (int i = 0; i < 20; i++)
        if (m->window_sum[i] > FLT_MIN)
            a[i] /= m->window_sum[i];
    for (size_t i = 0; i < N; i++)
        wave[i] = a[i + 10] * 4.0f;
    rc = 0;
out:
    nn_free(f0d), nn_free(nd), nn_free(ar), nn_free(cat), nn_free(x), nn_free(har), nn_free(hs), nn_free(a), nn_free(acc), nn_free(xs);
    nn_free(gw);
    return f->oom ? -1 : rc;
}

kk_status kk_model_forward(const kk_model *m, const int64_t *ids, int n_ids, const float *style,
                           const kk_forward_params *p, kk_forward_result *out, kk_error *err)
{
    kk_forward_params defaults = kk_forward_default_params();
    if (!p)
        p = &defaults;
    memset(out, 0, sizeof *out);
    if (n_ids < 3 || n_ids > KK_MAX_IDS)
        return kk_error_set(err, KK_ERR_ARG, "%d phoneme ids (pads included); the model takes 3 to %d", n_ids,
                            KK_MAX_IDS);
    for (int i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= 178)
            return kk_error_set(err, KK_ERR_ARG, "phoneme id %lld at position %d is outside the vocabulary (0..177)",
                                (long long)ids[i], i);
    if (!(p->speed >= KK_SPEED_MIN && p->speed <= KK_SPEED_MAX))
        return kk_error_set(err, KK_ERR_ARG, "speed %g is outside %g .. %g", (double)p->speed, (double)KK_SPEED_MIN,
                            (double)KK_SPEED_MAX);

    int nthreads = p->threads > 0 ? p->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    nn_set_threads(nthreads > 0 ? nthreads : 1);
    fwd F = {.p = p, .mod = -1}, *f = &F;
    f->fast = p->precision == KK_PRECISION_FAST && !p->durations_only && fast_prepare(m, p);
    stage(f, KK_MOD_ALBERT);
    const float *s_dec = style, *s_pro = style + STYLE_HALF;
    int T2 = n_ids, L = 0;
    float *benc = alloc(f, (size_t)T2 * 512), *d = alloc(f, (size_t)T2 * 640), *ten = alloc(f, (size_t)T2 * 512);
    float *en = NULL, *sh = NULL, *shc = NULL, *F0 = NULL, *Nc = NULL, *asr = NULL, *wave = NULL;
    int *dur = malloc(sizeof(int) * T2), rc = -1;
    float *raw = malloc(sizeof(float) * T2);
    kk_status st = KK_OK;
    if (f->oom || !dur || !raw)
        goto oom;
    if (albert(f, m, ids, T2, benc))
        goto fail;
    stage(f, KK_MOD_PREDICTOR);
    if (durations(f, m, benc, T2, s_pro, p->speed, d, dur, raw))
        goto fail;
    if (p->durations) {
        for (int t = 0; t < T2; t++)
            if (p->durations[t] < 1 || p->durations[t] > MAX_FRAMES) {
                st = kk_error_set(err, KK_ERR_ARG, "given duration %d frames for id %d is outside 1 .. %d",
                                  p->durations[t], t, MAX_FRAMES);
                goto done;
            }
        memcpy(dur, p->durations, sizeof(int) * (size_t)T2);
    } else if (p->adjust_durations) {
        p->adjust_durations(p->adjust_user, dur, T2);
        for (int t = 0; t < T2; t++)
            if (dur[t] < 1 || dur[t] > MAX_FRAMES) {
                st = kk_error_set(err, KK_ERR_ARG, "adjusted duration %d frames for id %d is outside 1 .. %d",
                                  dur[t], t, MAX_FRAMES);
                goto done;
            }
    }
    for (int t = 0; t < T2; t++)
        L += dur[t];
    if (L > MAX_FRAMES) {
        st = kk_error_set(err, KK_ERR_INPUT, "the %s speech is %.1f s long, more than the %d s one call makes; "
                          "split the text into shorter pieces", p->durations ? "given" : "predicted", L / 40.0,
                          MAX_FRAMES / 40);
        goto done;
    }
    if (p->durations_only) {
        out->durations = dur, dur = NULL;
        out->raw_durations = raw, raw = NULL;
        out->n_ids = T2;
        out->n_frames = L;
        goto done;
    }
    if (aborted(f))
        goto abort;

    /* alignment: each token's column repeated dur[t] times */
    en = alloc(f, (size_t)L * 640), sh = alloc(f, (size_t)L * 512), shc = alloc(f, (size_t)L * 512);
    F0 = alloc(f, (size_t)2 * L), Nc = alloc(f, (size_t)2 * L), asr = alloc(f, (size_t)512 * L);
    if (f->oom)
        goto oom;
    for (int t = 0, j = 0; t < T2; t++)
        for (int r = 0; r < dur[t]; r++, j++)
            memcpy(en + (size_t)j * 640, d + (size_t)t * 640, 640 * sizeof(float));
    if (bilstm(f, &m->shared, en, L, sh))
        goto fail;
    nn_free(en), en = NULL;
    transpose(sh, L, 512, shc);
    nn_free(sh), sh = NULL;
    emit(f, "/encoder/Transpose_2_output_0", 3, 1, 512, L, shc);
    if (pitch_curve(f, m->f0, &m->f0_proj, shc, L, s_pro, F0, "F0") ||
        pitch_curve(f, m->nn, &m->n_proj, shc, L, s_pro, Nc, "N"))
        goto fail;
    nn_free(shc), shc = NULL;
    emit(f, "/encoder/Reshape_output_0", 2, 1, 2 * L, 0, F0);
    emit(f, "/encoder/Reshape_1_output_0", 2, 1, 2 * L, 0, Nc);
    stage(f, KK_MOD_TEXT_ENCODER);
    if (text_encoder(f, m, ids, T2, ten))
        goto fail;
    for (int t = 0, j = 0; t < T2; t++)
        for (int r = 0; r < dur[t]; r++, j++)
            for (int c = 0; c < 512; c++)
                asr[(size_t)c * L + j] = ten[(size_t)t * 512 + c];
    if (aborted(f))
        goto abort;
    wave = malloc(sizeof(float) * KK_SAMPLES_PER_FRAME * (size_t)L); /* handed out: the caller free()s it */
    if (!wave)
        goto oom;
    rc = decode(f, m, asr, F0, Nc, L, s_dec, wave);
    if (rc == -2)
        goto abort;
    if (rc)
        goto fail;
    emit(f, "waveform", 2, 1, (int64_t)KK_SAMPLES_PER_FRAME * L, 0, wave);
    out->samples = wave, wave = NULL;
    out->n_samples = (size_t)KK_SAMPLES_PER_FRAME * L;
    out->durations = dur, dur = NULL;
    out->raw_durations = raw, raw = NULL;
    out->n_ids = T2;
    out->n_frames = L;
    out->precision = f->fast ? KK_PRECISION_FAST : KK_PRECISION_EXACT;
    goto done;
abort:
    st = kk_error_set(err, KK_ERR_ABORTED, "synthesis stopped by the caller");
    goto done;
fail:
    if (!f->oom) {
        st = kk_error_set(err, KK_ERR_NOMEM, "out of memory in the forward pass");
        goto done;
    }
oom:
    st = kk_error_set(err, KK_ERR_NOMEM, "out of memory in the forward pass (%d ids, %d frames)", T2, L);
done:
    stage(f, -1);
    if (p->profile)
        p->profile->calls++;
    nn_free(benc), nn_free(d), nn_free(ten), nn_free(en), nn_free(sh), nn_free(shc), nn_free(F0), nn_free(Nc), nn_free(asr), free(wave), free(dur);
    free(raw);
    release_scratch(f);
    return st;
}
