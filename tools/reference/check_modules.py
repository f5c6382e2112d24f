#!/usr/bin/python3
"""Numpy re-implementation of every Kokoro module, checked against ORT dumps.

    /usr/bin/python3 tools/reference/expose.py --preset modules --out build/ref/modules.onnx
    node tools/reference/ort_run.js --model build/ref/modules.onnx --ids ... \
        --voice af_heart --dump-dir build/ref/modules
    /usr/bin/python3 tools/reference/check_modules.py build/ref/modules

This is the executable form of docs/engine-notes.md sections 1-8c. Each module
is computed in float32 numpy from the ONNX initializers (float16 weights
decoded, MatMulNBits dequantised exactly as documented), starting from ONNX
Runtime's tensor for the module's *input*, and compared with ORT's tensor for
its *output*, so a failure points at one module. It is a specification aid,
written for clarity rather than speed (use short utterances). The generator
tail (source, STFT, iSTFT) is checked by check_tail.py.

Exits 1 if any relative difference max|a-b| / max(1, max|b|) exceeds 2e-3
(integer durations and the alignment matrix must match exactly).
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kokoro_graph as kg  # noqa: E402
from onnx import numpy_helper  # noqa: E402

f32 = np.float32
TOL = 2e-3


class Weights:
    def __init__(self, model):
        self.inits = kg.initializer_map(model)

    def __call__(self, name):
        for cand in (name, name + "_output_0"):
            for c in (cand, cand + "__f16"):
                if c in self.inits:
                    a = numpy_helper.to_array(self.inits[c])
                    return a.astype(f32) if a.dtype == np.float16 else a
        raise KeyError(name)

    def mnb(self, x, base):
        """MatMulNBits: x [..., K] @ dequant(B)^T -> [..., N] (4 bits, block 32, zero point 8)."""
        B = self(base + "_Q4")                        # [N, nb, 16] uint8
        sc = self(base + "_scales").astype(f32)       # [N*nb]
        N, nb, _ = B.shape
        q = np.stack([B & 15, B >> 4], axis=-1).reshape(N, nb * 32).astype(f32)
        Wd = (q - f32(8)) * np.repeat(sc.reshape(N, nb), 32, axis=1)
        K = x.shape[-1]
        return (x @ Wd[:, :K].T).astype(f32)


def layernorm(x, g, b, eps):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return ((x - m) / np.sqrt(v + f32(eps)) * g + b).astype(f32)


def lrelu(x, a):
    return np.where(x >= 0, x, x * f32(a)).astype(f32)


def sigmoid(x):
    return (1 / (1 + np.exp(-x))).astype(f32)


def conv1d(x, w, b=None, stride=1, pad=0, dil=1):
    """x [Ci, T], w [Co, Ci, K] (group 1)."""
    Co, Ci, K = w.shape
    xp = np.pad(x, ((0, 0), (pad, pad)))
    Tout = (x.shape[1] + 2 * pad - dil * (K - 1) - 1) // stride + 1
    y = np.zeros((Co, Tout), f32)
    for k in range(K):
        cols = xp[:, k * dil: k * dil + stride * (Tout - 1) + 1: stride]
        y += w[:, :, k] @ cols
    if b is not None:
        y += b[:, None]
    return y


def convT1d(x, w, b=None, stride=1, pad=0, out_pad=0, depthwise=False):
    """x [Ci, T]; w [Ci, Co, K] (or [C, 1, K] depthwise)."""
    Ci, T = x.shape
    K = w.shape[2]
    Co = Ci if depthwise else w.shape[1]
    full = np.zeros((Co, (T - 1) * stride + K + out_pad), f32)
    for k in range(K):
        contrib = w[:, 0, k][:, None] * x if depthwise else w[:, :, k].T @ x
        full[:, k: k + stride * (T - 1) + 1: stride] += contrib
    Tout = (T - 1) * stride - 2 * pad + K + out_pad
    y = full[:, pad: pad + Tout]
    if b is not None:
        y = y + b[:, None]
    return y.astype(f32)


def lstm_bi(x, W, R, B):
    """x [T, In]; ONNX LSTM, gate order i,o,f,c; returns [T, 2H] = [fwd, bwd]."""
    H = R.shape[2]
    out = np.zeros((x.shape[0], 2 * H), f32)
    for d in range(2):
        Wd, Rd, Bd = W[d], R[d], B[d][:4 * H] + B[d][4 * H:]
        xw = x @ Wd.T + Bd
        h = np.zeros(H, f32)
        c = np.zeros(H, f32)
        steps = range(x.shape[0]) if d == 0 else range(x.shape[0] - 1, -1, -1)
        for t in steps:
            g = xw[t] + Rd @ h
            i, o, f, cc = sigmoid(g[:H]), sigmoid(g[H:2 * H]), sigmoid(g[2 * H:3 * H]), np.tanh(g[3 * H:])
            c = f * c + i * cc
            h = o * np.tanh(c)
            out[t, d * H:(d + 1) * H] = h
    return out


def adain(x, s, fcw, fcb):
    """x [C, T]; instance norm over T (eps 1e-5), then (1+gamma)*xn + beta."""
    h = s @ fcw.T + fcb
    C = x.shape[0]
    m = x.mean(1, keepdims=True)
    v = ((x - m) ** 2).mean(1, keepdims=True)
    xn = (x - m) / np.sqrt(v + f32(1e-5))
    return ((1 + h[:C])[:, None] * xn + h[C:][:, None]).astype(f32)


def adain_resblk1d(W, x, s, npre, ipre, upsample=False, learned_sc=False):
    """AdainResBlk1d.  npre: node prefix (weights named <npre>/Mul...), ipre: initializer prefix."""
    if upsample:
        names = {"pool": "Mul", "conv1": "Mul_1", "conv2": "Mul_2", "sc": "Mul_3"}
    else:
        names = {"conv1": "Mul", "conv2": "Mul_1", "sc": "Mul_2"}
    r = lrelu(adain(x, s, W(ipre + ".norm1.fc.weight"), W(ipre + ".norm1.fc.bias")), 0.2)
    if upsample:
        r = convT1d(r, W(npre + "/" + names["pool"]), W(ipre + ".pool.bias"), stride=2, pad=1, out_pad=1,
                    depthwise=True)
    r = conv1d(r, W(npre + "/" + names["conv1"]), W(ipre + ".conv1.bias"), pad=1)
    r = lrelu(adain(r, s, W(ipre + ".norm2.fc.weight"), W(ipre + ".norm2.fc.bias")), 0.2)
    r = conv1d(r, W(npre + "/" + names["conv2"]), W(ipre + ".conv2.bias"), pad=1)
    sc = np.repeat(x, 2, axis=1) if upsample else x
    if learned_sc or upsample:
        sc = conv1d(sc, W(npre + "/" + names["sc"]))
    return ((r + sc) / f32(1.4142135381698608)).astype(f32)


def snake(x, alpha, recip):
    return (x + recip[0] * np.sin(alpha[0] * x) ** 2).astype(f32)


def adain_resblock1(W, x, s, npre, ipre, K):
    """Generator AdaINResBlock1 (resblocks.*, noise_res.*): dilations 1,3,5, Snake."""
    for j, d in enumerate((1, 3, 5)):
        r1 = "Reciprocal" if j == 0 else "Reciprocal_%d" % (2 * j)
        r2 = "Reciprocal_%d" % (2 * j + 1)
        xt = adain(x, s, W("%s.adain1.%d.fc.weight" % (ipre, j)), W("%s.adain1.%d.fc.bias" % (ipre, j)))
        xt = snake(xt, W("%s.alpha1.%d" % (ipre, j)), W(npre + "/" + r1))
        xt = conv1d(xt, W("%s/Mul_%d" % (npre, 2 + 6 * j)), W("%s.convs1.%d.bias" % (ipre, j)),
                    pad=d * (K - 1) // 2, dil=d)
        xt = adain(xt, s, W("%s.adain2.%d.fc.weight" % (ipre, j)), W("%s.adain2.%d.fc.bias" % (ipre, j)))
        xt = snake(xt, W("%s.alpha2.%d" % (ipre, j)), W(npre + "/" + r2))
        xt = conv1d(xt, W("%s/Mul_%d" % (npre, 5 + 6 * j)), W("%s.convs2.%d.bias" % (ipre, j)), pad=(K - 1) // 2)
        x = (xt + x).astype(f32)
    return x


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    d = sys.argv[1]
    ix, ort = kg.load_dump(d)

    W = Weights(kg.load(ix["model"] if os.path.exists(ix["model"]) else None))
    ids = np.array(ix["input_ids"], np.int64)
    S = len(ids)
    vdir = os.path.join(kg.model_dir(), "voices")
    src = ix["style_source"]
    if src.endswith(".bin"):
        style = np.fromfile(src, dtype=f32).reshape(-1, 256)[ix["style_row"]]
    else:
        style = np.fromfile(src, dtype=f32)
    s_dec, s_pro = style[:128], style[128:]
    speed = f32(ix["speed"])
    failures = []
    count = [0]

    def check(name, got, ref_name, exact=False):
        ref = ort(ref_name).reshape(got.shape) if ort(ref_name).size == got.size else ort(ref_name)
        count[0] += 1
        if got.shape != ref.shape:
            print("FAIL %-48s shape %s vs ORT %s" % (name, got.shape, ref.shape))
            failures.append(name)
            return
        if exact:
            ok = np.array_equal(got, ref)
            print("%-4s %-48s exact=%s" % ("ok" if ok else "FAIL", name, ok))
        else:
            rel = float(np.abs(got.astype(np.float64) - ref).max() / max(1.0, float(np.abs(ref).max())))
            ok = rel <= TOL
            print("%-4s %-48s rel max|diff| = %.2e" % ("ok" if ok else "FAIL", name, rel))
        if not ok:
            failures.append(name)

    ALB = "/encoder/bert/encoder/albert_layer_groups.0/albert_layers.0/"
    alb = "encoder.bert.encoder.albert_layer_groups.0.albert_layers.0."
    # 1. ALBERT
    e = (W("encoder.bert.embeddings.word_embeddings.weight")[ids]
         + W("encoder.bert.embeddings.token_type_embeddings.weight")[0]
         + W("encoder.bert.embeddings.position_embeddings.weight")[:S])
    e = layernorm(e, W("encoder.bert.embeddings.LayerNorm.weight"), W("encoder.bert.embeddings.LayerNorm.bias"), 1e-12)
    check("bert embeddings + LayerNorm", e[None], "/encoder/bert/embeddings/LayerNorm/LayerNormalization")
    hdn = W.mnb(ort("/encoder/bert/embeddings/LayerNorm/LayerNormalization")[0], "onnx::MatMul_6547") \
        + W("encoder.bert.encoder.embedding_hidden_mapping_in.bias")
    check("bert embedding_hidden_mapping_in", hdn[None], "/encoder/bert/encoder/embedding_hidden_mapping_in/Add")
    x = ort("/encoder/bert/encoder/embedding_hidden_mapping_in/Add")[0]
    sc = np.sqrt(f32(1) / np.sqrt(f32(64)))
    for layer in range(12):
        q = (W.mnb(x, "onnx::MatMul_6548") + W(alb + "attention.query.bias")).reshape(S, 12, 64).transpose(1, 0, 2)
        k = (W.mnb(x, "onnx::MatMul_6551") + W(alb + "attention.key.bias")).reshape(S, 12, 64).transpose(1, 0, 2)
        v = (W.mnb(x, "onnx::MatMul_6554") + W(alb + "attention.value.bias")).reshape(S, 12, 64).transpose(1, 0, 2)
        sco = (q * sc) @ (k * sc).transpose(0, 2, 1)
        sco = np.exp(sco - sco.max(-1, keepdims=True))
        p = sco / sco.sum(-1, keepdims=True)
        a = (p @ v).transpose(1, 0, 2).reshape(S, 768)
        a = W.mnb(a, "onnx::MatMul_6558") + W(alb + "attention.dense.bias")
        x1 = layernorm(x + a, W(alb + "attention.LayerNorm.weight"), W(alb + "attention.LayerNorm.bias"), 1e-12)
        u = W.mnb(x1, "onnx::MatMul_6559") + W(alb + "ffn.bias")
        g = f32(0.5) * u * (1 + np.tanh(f32(0.7978845834732056) * (u + f32(0.044714998453855515) * u ** 3)))
        f = W.mnb(g.astype(f32), "onnx::MatMul_6560") + W(alb + "ffn_output.bias")
        out = layernorm(x1 + f, W(alb + "full_layer_layer_norm.weight"), W(alb + "full_layer_layer_norm.bias"), 1e-12)
        nm = ALB + "full_layer_layer_norm%s/LayerNormalization" % ("" if layer == 0 else "_%d" % layer)
        check("bert layer pass %d" % layer, out[None], nm)
        x = ort(nm)[0]
    # 2. bert_encoder
    be = W.mnb(x, "onnx::MatMul_6704") + W("encoder.bert_encoder.bias")
    check("bert_encoder", be[None], "/encoder/bert_encoder/Add")
    # 3. duration encoder
    P = "/encoder/predictor/"
    st = np.tile(s_pro, (S, 1))
    xin = np.concatenate([ort("/encoder/bert_encoder/Add")[0], st], 1)
    lstm_ids = {0: ("6749", "6750", "6748"), 2: ("6794", "6795", "6793"), 4: ("6839", "6840", "6838")}
    for i in (0, 2, 4):
        w_, r_, b_ = lstm_ids[i]
        h = lstm_bi(xin, W("onnx::LSTM_" + w_), W("onnx::LSTM_" + r_), W("onnx::LSTM_" + b_))
        check("predictor.text_encoder lstms.%d" % i, h[None], P + "text_encoder/lstms.%d/Transpose_2" % i)
        hr = ort(P + "text_encoder/lstms.%d/Transpose_2" % i)[0]
        fc = W("encoder.predictor.text_encoder.lstms.%d.fc.weight" % (i + 1))
        fb = W("encoder.predictor.text_encoder.lstms.%d.fc.bias" % (i + 1))
        gb = s_pro @ fc.T + fb
        ln = layernorm(hr, f32(1), f32(0), 1e-5)
        y = (1 + gb[:512]) * ln + gb[512:]
        check("predictor.text_encoder AdaLayerNorm lstms.%d" % (i + 1), y[None], P + "text_encoder/lstms.%d/Add_2" % (i + 1))
        xin = np.concatenate([ort(P + "text_encoder/lstms.%d/Add_2" % (i + 1))[0], st], 1)
    check("predictor d = Concat_4", xin[None], P + "text_encoder/Concat_4")
    # 4. duration + alignment
    dd = ort(P + "text_encoder/Concat_4")[0]
    h = lstm_bi(dd, W("onnx::LSTM_6884"), W("onnx::LSTM_6885"), W("onnx::LSTM_6883"))
    check("predictor lstm", h[None], P + "lstm/Transpose_2")
    logits = W.mnb(ort(P + "lstm/Transpose_2")[0], "onnx::MatMul_6886") + W("encoder.predictor.duration_proj.linear_layer.bias")
    check("duration_proj logits", logits[None], P + "duration_proj/linear_layer/Add")
    durf = sigmoid(ort(P + "duration_proj/linear_layer/Add")[0]).sum(-1) / speed
    check("sum(sigmoid)/speed", durf[None], "/encoder/Div")
    dur = np.maximum(np.rint(ort("/encoder/Div")[0]), 1).astype(np.int64)   # rint = half to even
    check("durations (Round half-even, Clip>=1, int64)", dur[None], "/encoder/Cast", exact=True)
    dur = ort("/encoder/Cast")[0]
    ends = np.cumsum(dur)
    L = int(ends[-1])
    starts = np.concatenate([[0], ends[:-1]])
    j = np.arange(L)
    aln = ((j[None, :] >= starts[:, None]) & (j[None, :] < ends[:, None])).astype(f32)
    check("alignment matrix [T+2, L]", aln, "/encoder/Cast_4", exact=True)
    en = np.repeat(dd.T, dur, axis=1)
    check("en = aligned d [640, L]", en[None], "/encoder/MatMul")
    # 5. F0 / N
    sh = lstm_bi(ort("/encoder/MatMul")[0].T, W("onnx::LSTM_6981"), W("onnx::LSTM_6982"), W("onnx::LSTM_6980")).T
    check("shared lstm", sh[None], "/encoder/Transpose_2")
    for K in ("F0", "N"):
        x = ort("/encoder/Transpose_2")[0]
        y = adain_resblk1d(W, x, s_pro, "/encoder/%s.0" % K, "encoder.predictor.%s.0" % K)
        check("%s.0" % K, y[None], "/encoder/%s.0/Div_2" % K)
        y = adain_resblk1d(W, ort("/encoder/%s.0/Div_2" % K)[0], s_pro, "/encoder/%s.1" % K,
                           "encoder.predictor.%s.1" % K, upsample=True)
        check("%s.1 (upsampling)" % K, y[None], "/encoder/%s.1/Div_4" % K)
        y = adain_resblk1d(W, ort("/encoder/%s.1/Div_4" % K)[0], s_pro, "/encoder/%s.2" % K, "encoder.predictor.%s.2" % K)
        check("%s.2" % K, y[None], "/encoder/%s.2/Div_2" % K)
        y = conv1d(ort("/encoder/%s.2/Div_2" % K)[0], W("encoder.predictor.%s_proj.weight" % K),
                   W("encoder.predictor.%s_proj.bias" % K))
        check("%s_proj" % K, y, "/encoder/%s_proj/Conv" % K)
    # 6. text encoder
    x = W("encoder.text_encoder.embedding.weight")[ids].T
    for i in range(3):
        x = conv1d(x, W("/encoder/text_encoder/cnn.%d/Mul" % i), W("encoder.text_encoder.cnn.%d.0.bias" % i), pad=2)
        x = layernorm(x.T, W("encoder.text_encoder.cnn.%d.1.gamma" % i), W("encoder.text_encoder.cnn.%d.1.beta" % i), 1e-5).T
        x = lrelu(x, 0.2)
        check("text_encoder cnn.%d" % i, x[None], "/encoder/text_encoder/cnn.%d/cnn.0.2/LeakyRelu" % i)
        x = ort("/encoder/text_encoder/cnn.%d/cnn.0.2/LeakyRelu" % i)[0]
    t_en = lstm_bi(x.T, W("onnx::LSTM_6930"), W("onnx::LSTM_6931"), W("onnx::LSTM_6929")).T
    check("text_encoder lstm (t_en)", t_en[None], "/encoder/text_encoder/Transpose_2")
    check("asr = aligned t_en", np.repeat(ort("/encoder/text_encoder/Transpose_2")[0], dur, axis=1)[None], "/encoder/MatMul_1")
    # 7. decoder
    D = "/decoder/decoder/"
    asr = ort("/encoder/MatMul_1")[0]
    F0 = ort("/encoder/Reshape")
    Nc = ort("/encoder/Reshape_1")
    f0d = conv1d(F0, W(D + "Mul"), W("decoder.decoder.F0_conv.bias"), stride=2, pad=1)
    nd = conv1d(Nc, W(D + "Mul_1"), W("decoder.decoder.N_conv.bias"), stride=2, pad=1)
    check("decoder F0_conv (stride 2)", f0d[None], D + "F0_conv/Conv")
    check("decoder N_conv (stride 2)", nd[None], D + "N_conv/Conv")
    ar = conv1d(asr, W(D + "asr_res/Mul"), W("decoder.decoder.asr_res.0.bias"))
    check("decoder asr_res", ar[None], D + "asr_res/asr_res.0/Conv")
    f0d, nd, ar = ort(D + "F0_conv/Conv")[0], ort(D + "N_conv/Conv")[0], ort(D + "asr_res/asr_res.0/Conv")[0]
    y = adain_resblk1d(W, np.concatenate([asr, f0d, nd]), s_dec, D + "encode", "decoder.decoder.encode", learned_sc=True)
    check("decoder encode", y[None], D + "encode/Div_3")
    prev = D + "encode/Div_3"
    for i in range(4):
        xin = np.concatenate([ort(prev)[0], ar, f0d, nd])
        y = adain_resblk1d(W, xin, s_dec, D + "decode.%d" % i, "decoder.decoder.decode.%d" % i,
                           upsample=(i == 3), learned_sc=True)
        prev = D + ("decode.%d/Div_3" % i if i < 3 else "decode.3/Div_4")
        check("decoder decode.%d" % i, y[None], prev)
    # 8c. generator stages
    G = D + "generator/"
    g = "decoder.decoder.generator."
    har = ort(G + "Concat_3")[0]
    xs = conv1d(har, W(g + "noise_convs.0.weight"), W(g + "noise_convs.0.bias"), stride=6, pad=3)
    check("noise_convs.0 (k12 s6 p3)", xs[None], G + "noise_convs.0/Conv")
    xs = adain_resblock1(W, ort(G + "noise_convs.0/Conv")[0], s_dec, G + "noise_res.0", g + "noise_res.0", 7)
    check("noise_res.0", xs[None], G + "noise_res.0/Add_8")
    x = convT1d(lrelu(ort(prev)[0], 0.1), W(G + "Mul"), W(g + "ups.0.bias"), stride=10, pad=5)
    check("ups.0 (ConvTranspose k20 s10 p5)", x[None], G + "ups.0/ConvTranspose")
    x = ort(G + "Add_2")[0]
    acc = 0
    for r, K in zip(range(3), (3, 7, 11)):
        y = adain_resblock1(W, x, s_dec, G + "resblocks.%d" % r, g + "resblocks.%d" % r, K)
        check("resblocks.%d (k%d)" % (r, K), y[None], G + "resblocks.%d/Add_8" % r)
        acc = acc + ort(G + "resblocks.%d/Add_8" % r)[0]
    check("mean of resblocks 0-2", (acc / f32(3))[None], G + "Div_2")
    xs = conv1d(har, W(g + "noise_convs.1.weight"), W(g + "noise_convs.1.bias"))
    check("noise_convs.1 (k1)", xs[None], G + "noise_convs.1/Conv")
    xs = adain_resblock1(W, ort(G + "noise_convs.1/Conv")[0], s_dec, G + "noise_res.1", g + "noise_res.1", 11)
    check("noise_res.1", xs[None], G + "noise_res.1/Add_8")
    x = convT1d(lrelu(ort(G + "Div_2")[0], 0.1), W(G + "Mul_1"), W(g + "ups.1.bias"), stride=6, pad=3)
    check("ups.1 (ConvTranspose k12 s6 p3)", x[None], G + "ups.1/ConvTranspose")
    x = ort(G + "ups.1/ConvTranspose")[0]
    x = np.concatenate([x[:, 1:2], x], 1)
    check("reflection pad (1, 0)", x[None], G + "reflection_pad/Pad")
    x = ort(G + "Add_5")[0]
    acc = 0
    for r, K in zip(range(3, 6), (3, 7, 11)):
        y = adain_resblock1(W, x, s_dec, G + "resblocks.%d" % r, g + "resblocks.%d" % r, K)
        check("resblocks.%d (k%d)" % (r, K), y[None], G + "resblocks.%d/Add_8" % r)
        acc = acc + ort(G + "resblocks.%d/Add_8" % r)[0]
    check("mean of resblocks 3-5", (acc / f32(3))[None], G + "Div_4")
    y = conv1d(lrelu(ort(G + "Div_4")[0], 0.01), W(G + "Mul_2"), W(g + "conv_post.bias"), pad=3)
    check("conv_post (after LeakyRelu 0.01)", y[None], G + "conv_post/Conv")

    print("%d passed, %d failed" % (count[0] - len(failures), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
