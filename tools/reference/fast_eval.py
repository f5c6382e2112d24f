#!/usr/bin/python3
"""Quality gates of the engine's fast mode (kk_forward.h, KK_PRECISION_FAST:
bf16 convolutions on AMX or AVX512_BF16) against its exact mode, over the sentences of
tools/reference/sentences.txt.

    /usr/bin/python3 tools/reference/fast_eval.py [--build build] [--only 1,4,10]
        [--voice af_heart] [--no-asr] [--min-spec-snr 25] [--out DIR]
    /usr/bin/python3 tools/reference/fast_eval.py --self-test   (the click detector on a made-up click)

For every sentence: ids via build/kk-g2p, then build/kk-forward twice (exact,
fast) on the same ids, voice and speed. Per sentence it prints:
  * durations identical? (the fast mode leaves the predictor in fp32, so
    they must be);
  * spectral SNR in dB: STFT magnitudes (Hann 1024, hop 256) of fast against
    exact (eval_engine.spec_snr_db), and the waveform SNR for information;
  * clicks: samples where the fast output's second difference exceeds both
    8x the exact output's largest second difference within +-240 samples
    (10 ms) and 0.05 absolute; a discontinuity the exact audio does not have
    (the exact engine's own transients are its reference);
  * with ASR (default; pocketsphinx, as eval_engine.py): the transcripts of
    both, pooled word error rate against the spoken forms.

Gates (exit 1 when one fails): every run's durations identical, spectral SNR
>= --min-spec-snr on every run, no clicks, WER(fast) <= WER(exact). When the
machine has neither AMX nor AVX512_BF16 (kk-forward reports precision
"exact" for a fast run), it says so and exits 77 (CTest: skipped): the fast mode is then exact.
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from asr import edit_distance, norm_words, run, transcribe  # noqa: E402
from eval_engine import load_sentences, model_dir, snr_db, spec_snr_db  # noqa: E402


def clicks(fast, exact, win=240, ratio=8.0, floor=0.05):
    """Indices where fast has a sample-level jump exact has nowhere near."""
    d2f = np.abs(np.diff(fast.astype(np.float64), 2))
    d2e = np.abs(np.diff(exact.astype(np.float64), 2))
    if len(d2e) == 0:
        return []
    # running max of the exact jumps over +-win samples
    pad = np.pad(d2e, win, mode="edge")
    from numpy.lib.stride_tricks import sliding_window_view
    local = sliding_window_view(pad, 2 * win + 1).max(axis=1)
    bad = np.nonzero((d2f > ratio * local) & (d2f > floor))[0]
    return bad.tolist()


def self_test():
    """The click detector finds an injected discontinuity and nothing in
    a copy (so the gate can fail)."""
    t = np.arange(24000) / 24000.0
    x = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    y = x.copy()
    y[12000:] += 0.2
    ok = clicks(x.copy(), x) == [] and len(clicks(y, x)) > 0
    print("fast_eval: self-test %s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def main():
    if "--self-test" in sys.argv:
        return self_test()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--sentences", default=os.path.join(HERE, "sentences.txt"))
    ap.add_argument("--only", help="comma-separated sentence numbers (1-based)")
    ap.add_argument("--voice", default="af_heart")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--no-asr", action="store_true")
    ap.add_argument("--min-spec-snr", type=float, default=25.0)
    ap.add_argument("--out", help="keep the waveforms (raw float32) and summary.json here")
    a = ap.parse_args()

    mdir = model_dir()
    onnx = os.path.join(mdir, "model_q4_w16.onnx")
    kk_g2p, kk_fwd = os.path.join(a.build, "kk-g2p"), os.path.join(a.build, "kk-forward")
    sents = load_sentences(a.sentences)
    nums = [int(x) for x in a.only.split(",")] if a.only else list(range(1, len(sents) + 1))
    work = a.out or tempfile.mkdtemp(prefix="fast_eval.")
    os.makedirs(work, exist_ok=True)
    rows, fails = [], []
    edits = {"exact": 0, "fast": 0}
    ref_words = 0
    print("%3s %5s %6s %9s %8s %6s  %s" % ("#", "ids", "dur", "specSNR", "waveSNR", "clicks", "text"))
    for num in nums:
        text, spoken = sents[num - 1]
        g = run([kk_g2p, "--json", "--voice", a.voice, "--model", mdir, text])
        chunks = [json.loads(l) for l in g.splitlines() if l.strip()]
        if len(chunks) != 1:
            print("sentence %d gives %d chunks; skipped" % (num, len(chunks)), file=sys.stderr)
            continue
        ids_s = ",".join(map(str, chunks[0]["ids"]))
        out = {}
        for prec in ("exact", "fast"):
            f32 = os.path.join(work, "s%02d.%s.f32" % (num, prec))
            j = json.loads(run([kk_fwd, "--model", onnx, "--ids", ids_s, "--voice", a.voice, "--threads",
                                str(a.threads), "--precision", prec, "--f32", f32]))
            out[prec] = (j, f32, np.fromfile(f32, dtype=np.float32))
        if out["fast"][0]["precision"] != "fast":
            print("fast_eval: SKIPPED: the fast mode is not available on this machine (it runs exact)")
            return 77
        (je, fe, xe), (jf, ff, xf) = out["exact"], out["fast"]
        same_dur = je["durations"] == jf["durations"]
        ssnr = spec_snr_db(xf, xe) if same_dur else None
        wsnr = snr_db(xf, xe) if same_dur else None
        ck = clicks(xf, xe) if same_dur else []
        r = {"sentence": num, "text": text, "n_ids": len(chunks[0]["ids"]), "durations_identical": same_dur,
             "spec_snr_db": ssnr, "wave_snr_db": wsnr, "clicks": ck[:20], "n_clicks": len(ck)}
        if not a.no_asr:
            want = norm_words(spoken)
            ref_words += len(want)
            for prec, f32 in (("exact", fe), ("fast", ff)):
                got = norm_words(transcribe(f32, work))
                r["asr_" + prec] = " ".join(got)
                edits[prec] += edit_distance(want, got)
        rows.append(r)
        if not same_dur:
            fails.append("sentence %d: durations differ" % num)
        elif ssnr is None or ssnr < a.min_spec_snr:
            fails.append("sentence %d: spectral SNR %s dB < %g" % (num, ssnr, a.min_spec_snr))
        if ck:
            fails.append("sentence %d: %d clicks (first at sample %d)" % (num, len(ck), ck[0]))
        print("%3d %5d %6s %9s %8s %6d  %s" % (num, r["n_ids"], "same" if same_dur else "DIFF",
                                               "%.1f" % ssnr if ssnr is not None else "-",
                                               "%.1f" % wsnr if wsnr is not None else "-", len(ck), text[:50]))
        if not a.out:
            for f in (fe, ff):
                os.remove(f)
    summary = {"runs": rows, "gates": {"min_spec_snr_db": a.min_spec_snr}}
    if not a.no_asr and ref_words:
        we, wf = 100.0 * edits["exact"] / ref_words, 100.0 * edits["fast"] / ref_words
        summary["wer_exact"], summary["wer_fast"] = we, wf
        print("WER (pocketsphinx, %d words): exact %.1f %%, fast %.1f %%" % (ref_words, we, wf))
        if wf > we:
            fails.append("WER fast %.1f %% > exact %.1f %%" % (wf, we))
    snrs = [r["spec_snr_db"] for r in rows if r["spec_snr_db"] is not None]
    if snrs:
        print("spectral SNR: min %.1f dB, median %.1f dB over %d sentences" % (min(snrs), float(np.median(snrs)),
                                                                          len(snrs)))
    if a.out:
        with open(os.path.join(work, "summary.json"), "w") as f:
            json.dump(summary, f, indent=1)
    else:
        for f in os.listdir(work):
            os.remove(os.path.join(work, f))
        os.rmdir(work)
    if not rows:
        print("fast_eval: FAIL: no sentence was evaluated")
        return 1
    for m in fails:
        print("FAIL: " + m)
    print("fast_eval: %s" % ("FAIL" if fails else "PASS"))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
