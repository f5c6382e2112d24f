#!/usr/bin/python3
"""Re-implement the graph's harmonic source, source STFT and inverse STFT in
numpy and compare with tensors dumped from ONNX Runtime.

    /usr/bin/python3 tools/reference/expose.py --preset F0 --preset source \
        --preset conv_post --preset istft --out build/ref/tail.onnx
    node tools/reference/ort_run.js --model build/ref/tail.onnx --ids ... \
        --voice af_heart --dump-dir build/ref/tail
    /usr/bin/python3 tools/reference/check_tail.py build/ref/tail

This is the executable form of docs/engine-notes.md section 8 (a–d): each
step starts from the ORT tensor of the previous step, so a failure points at
the step whose description is wrong. Exits 1 if a difference exceeds its
tolerance.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kokoro_graph as kg  # noqa: E402
from onnx import numpy_helper  # noqa: E402

G = "/decoder/decoder/generator/"
f32 = np.float32


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    d = sys.argv[1]
    ix, get = kg.load_dump(d)

    model = kg.load(ix["model"] if os.path.exists(ix["model"]) else None)
    inits = kg.initializer_map(model)
    basis = numpy_helper.to_array(inits["decoder.decoder.generator.stft.istft.stft.inverse_basis"])[:, 0, :]
    wsum = numpy_helper.to_array(inits["decoder.decoder.generator.stft.istft.stft.window_sum"])

    failures = []

    def check(name, got, want, tol):
        diff = float(np.nanmax(np.abs(got.astype(np.float64) - want.astype(np.float64))))
        ok = diff <= tol and np.isnan(got).sum() == np.isnan(want).sum()
        print("%-4s %-44s max|diff| = %.3g (tol %.3g)" % ("ok" if ok else "FAIL", name, diff, tol))
        if not ok:
            failures.append(name)

    # 8a harmonic source
    f0 = get("/encoder/Reshape")[0]
    n2 = f0.shape[0]
    f0u = np.repeat(f0, 300)
    check("f0 upsample (nearest x300)", f0u, get(G + "f0_upsamp/Resize")[0, 0], 0)
    h = np.arange(1, 10, dtype=f32)
    x = (f0u[:, None] * h[None, :]) / f32(24000)
    rad = x - np.floor(x)
    check("rad = frac(f0*h/24000)", rad, get(G + "m_source/l_sin_gen/Sub")[0], 0)
    # ORT's linear down-sampling of two equal neighbours returns rad[300 i] up
    # to 1 ulp, so compare the cumulative sum with a small tolerance.
    radd = rad[300 * np.arange(n2)]
    cs = np.cumsum(radd, axis=0, dtype=f32)
    check("cumsum of rad[300 i] (float32, sequential)", cs, get(G + "m_source/l_sin_gen/CumSum")[0], 1e-5)
    ph = cs * f32(2) * f32(np.pi) * f32(300)
    n = np.arange(n2 * 300, dtype=f32)
    xin = np.clip((n + f32(0.5)) / f32(300) - f32(0.5), f32(0), f32(n2 - 1))
    x1 = np.minimum(xin.astype(np.int64), n2 - 1)
    x2 = np.minimum(x1 + 1, n2 - 1)
    w = xin - x1.astype(f32)
    phu = (f32(1) - w)[:, None] * ph[x1] + w[:, None] * ph[x2]
    phu_ort = get(G + "m_source/l_sin_gen/Resize_1")[0].T
    # ulp-level differences of a large phase: relative tolerance
    rel = np.abs(phu - phu_ort) / np.maximum(np.abs(phu_ort), 1.0)
    ok = rel.max() < 1e-6 * 300
    print("%-4s %-44s max rel diff = %.3g" % ("ok" if ok else "FAIL", "phase upsample (linear, half_pixel)", rel.max()))
    if not ok:
        failures.append("phase upsample")
    uv = (f0u > f32(10)).astype(f32)
    sine = np.sin(phu_ort) * f32(0.1) * uv[:, None]
    check("sine * 0.1 * uv (from ORT phase)", sine, get(G + "m_source/l_sin_gen/Mul_6")[0], 1e-6)
    q = numpy_helper.to_array(inits["onnx::MatMul_6993_Q4"]).reshape(-1)
    sc = numpy_helper.to_array(inits["onnx::MatMul_6993_scales"]).reshape(-1)[0]
    nib = np.stack([q & 15, q >> 4], axis=1).reshape(-1)[:9].astype(f32)
    wl = (nib - f32(8)) * f32(sc)
    bl = numpy_helper.to_array(inits["decoder.decoder.generator.m_source.l_linear.bias"])[0]
    sine_ort = get(G + "m_source/l_sin_gen/Mul_6")[0]
    har = np.tanh(sine_ort @ wl + bl)
    check("har = tanh(l_linear(sine))", har, get(G + "m_source/l_tanh/Tanh")[0, :, 0], 1e-6)

    # 8b source STFT
    har_ort = get(G + "m_source/l_tanh/Tanh")[0, :, 0]
    p = np.pad(har_ort, (10, 10), mode="reflect")
    nfr = (len(p) - 20) // 5 + 1
    win = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(20) / 20))
    frames = np.stack([p[5 * t:5 * t + 20] for t in range(nfr)]).astype(np.float64) * win
    spec = np.fft.rfft(frames, axis=1)
    st = get(G + "STFT")[0]
    check("STFT real part (hop 5, hann 20)", spec.real.astype(f32), st[:, :, 0], 1e-5)
    check("STFT imag part", spec.imag.astype(f32), st[:, :, 1], 1e-5)
    re, im = st[:, :, 0].T, st[:, :, 1].T
    mag = np.sqrt(re * re + im * im)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.arctan(im / re)
    pha = np.where(re < 0, np.where(im > 0, a + f32(np.pi), a - f32(np.pi)), a)
    hs = get(G + "Concat_3")[0]
    check("magnitude sqrt(re^2+im^2)", mag, hs[:11], 1e-6)
    check("phase atan + quadrant fix (graph rule)", pha, hs[11:], 1e-5)

    # 8d inverse STFT
    cp = get(G + "conv_post/Conv")[0]
    mg = np.exp(cp[:11])
    phs = np.sin(cp[11:])
    sp = np.concatenate([mg * np.cos(phs), mg * np.sin(phs)], 0)
    F = sp.shape[1]
    ola = np.zeros(5 * (F - 1) + 20, np.float64)
    for t in range(F):
        ola[5 * t:5 * t + 20] += sp[:, t] @ basis
    check("overlap-add ConvTranspose(inverse_basis)", ola.astype(f32), get(G + "istft/stft/ConvTranspose")[0, 0], 1e-5)
    y = get(G + "istft/stft/ConvTranspose")[0, 0].copy()
    for i in range(20):
        if wsum[i] > f32(1.1754943508222875e-38):
            y[i] /= wsum[i]
    y *= f32(4)
    check("window_sum fix-up of first 20 samples, x4", y, get(G + "istft/stft/Mul_4")[0, 0], 1e-6)
    check("trim 10 + 10 -> waveform", y[10:-10], get("waveform")[0], 1e-6)

    print("%d passed, %d failed" % (13 - len(failures), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
