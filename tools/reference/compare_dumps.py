#!/usr/bin/python3
"""Compare the tensors of two dump directories (ours from kk-forward
--dump-dir, the reference from ort_run.js --dump-dir): for every tensor name
present in both, the largest absolute difference, the largest difference
relative to the reference's largest magnitude, and for the waveform the SNR.

    /usr/bin/python3 tools/reference/compare_dumps.py OURS REF [--max-rel X] [--min-snr DB]

Exits 1 when a tensor's shape differs, a relative error exceeds --max-rel
(default: report only) or the waveform SNR is below --min-snr.
"""
import argparse
import json
import os
import sys

import numpy as np


def load(d):
    with open(os.path.join(d, "index.json")) as f:
        ix = json.load(f)
    out = {}
    for t in ix["tensors"]:
        dt = {"float32": np.float32, "int64": np.int64}[t["dtype"]]
        out[t["name"]] = (t["shape"], os.path.join(d, t["file"]), dt)
    return out


def arr(e):
    shape, path, dt = e
    return np.fromfile(path, dtype=dt).reshape(shape).astype(np.float64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ours")
    ap.add_argument("ref")
    ap.add_argument("--max-rel", type=float, default=None)
    ap.add_argument("--min-snr", type=float, default=None)
    a = ap.parse_args()
    ours, ref = load(a.ours), load(a.ref)
    bad = 0
    for name in ours:
        if name not in ref:
            continue
        x, y = arr(ours[name]), arr(ref[name])
        if x.shape != y.shape:
            print("SHAPE %-70s ours %s ref %s" % (name, x.shape, y.shape))
            bad += 1
            continue
        d = np.abs(x - y)
        scale = max(np.abs(y).max(), 1e-30)
        rel = d.max() / scale
        line = "%-72s max|d| %.3g  rel %.3g" % (name, d.max(), rel)
        if name == "waveform":
            snr = 10 * np.log10((y ** 2).sum() / max(((x - y) ** 2).sum(), 1e-30))
            line += "  SNR %.1f dB" % snr
            if a.min_snr is not None and snr < a.min_snr:
                line += "  FAIL"
                bad += 1
        if a.max_rel is not None and rel > a.max_rel and name != "waveform":
            line += "  FAIL"
            bad += 1
        print(line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
