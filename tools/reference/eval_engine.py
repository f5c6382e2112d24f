#!/usr/bin/python3
"""Evaluate the C engine (kk-forward) against ONNX Runtime (ort_run.js) on a
set of English sentences with the same tokens, style and speed.

    /usr/bin/python3 tools/reference/eval_engine.py [options]

For every sentence (tools/reference/sentences.txt) and configuration
(voice:speed, --config, repeatable):
  1. ids via build/kk-g2p (the voice's language; one chunk per sentence);
  2. ONNX Runtime on the modules-exposed model (expose.py --preset modules,
     graph optimisations 'all') with --dump-dir: the reference;
  3. kk-forward with --dump-dir;
  4. per tensor present in both dumps: max |ours - ref| / max |ref|, grouped
     into modules (kokoro_graph.NODE_RULES); the har_spec tensor is split
     into magnitude and phase (phase error is the wrapped angle difference,
     in radians, over bins whose reference magnitude is > 1e-3 of the
     largest, since phase elsewhere is rounding noise: engine-notes 8b);
  5. durations (ours from kk-forward, ORT's /encoder/Cast) identical?;
     where they are, waveform SNR = 10 log10(sum ref^2 / sum (ours-ref)^2);
  6. baseline (unless --no-baseline): ONNX Runtime with graph optimisations
     disabled against the reference: same durations? SNR? It shows how
     sensitive the SNR is to float32 rounding alone;
  7. intelligibility (unless --no-asr): both waveforms resampled to 16 kHz
     16-bit with sox (no dither: repeatable) and transcribed by pocketsphinx_continuous (Debian
     packages pocketsphinx, pocketsphinx-en-us, sox); word error rate of each
     against the sentence's spoken form (see sentences.txt), pooled over all
     runs (sum of edits / sum of reference words).

Criteria (exit 1 when one fails, unless --report-only):
  * pre-generator modules (everything before generator.*): relative error
    < --max-rel-pre (default 1e-4) on every run whose durations match;
  * durations identical on >= --min-dur-frac of the runs (default 0.95,
    i.e. 19 of 20);
  * SNR >= --min-snr dB (default 30) on every run whose durations match;
  * WER(ours) <= WER(ORT) + --max-wer-delta points (default 2).

Writes build/eval/summary.json (--out) and prints a table. Dumps are deleted
after each run (--keep-dumps keeps them).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import kokoro_graph  # noqa: E402
from asr import edit_distance, norm_words, run, transcribe  # noqa: E402  (shared with tools/g2p_eval/eval.py)

PY = "/usr/bin/python3"
DUR_TENSOR = "/encoder/Cast_output_0"
HAR_SPEC = "/decoder/decoder/generator/Concat_3_output_0"


def model_dir():
    return os.environ.get("KOKORO_MODEL_DIR") or os.path.join(REPO, "..", "shared", "models", "kokoro-82m-v1.0")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- sentences


def load_sentences(path):
    """Lines 'TEXT' or 'TEXT | SPOKEN FORM' (the words as the g2p reads
    them, for WER); '#' comments and blank lines skipped."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            text, _, spoken = line.partition(" | ")
            out.append((text.strip(), (spoken or text).strip()))
    return out


def wer_summary(runs):
    words = sum(len(r["asr_ref"]) for r in runs)
    return {"words": words,
            "ours": 100.0 * sum(r["edits_ours"] for r in runs) / max(words, 1),
            "ort": 100.0 * sum(r["edits_ort"] for r in runs) / max(words, 1),
            "normalisation": "lowercase; '.' removed; other punctuation -> space; doctor/missus/mister -> "
                             "dr/mrs/mr; reference is the sentence's spoken form from sentences.txt (numbers as "
                             "the g2p reads them); pooled: total edits / total reference words"}


def rescore(path, sentences_path):
    """Recompute the WER of a summary.json with the current normalisation and
    spoken forms (transcripts are stored normalised; renormalising is safe)."""
    with open(path) as f:
        summary = json.load(f)
    sentences = load_sentences(sentences_path)
    for r in summary["per_run"]:
        if "asr_ours" not in r:
            continue
        r["asr_ref"] = norm_words(sentences[r["sentence"] - 1][1])
        r["asr_ours"], r["asr_ort"] = norm_words(" ".join(r["asr_ours"])), norm_words(" ".join(r["asr_ort"]))
        r["edits_ours"] = edit_distance(r["asr_ref"], r["asr_ours"])
        r["edits_ort"] = edit_distance(r["asr_ref"], r["asr_ort"])
    runs = [r for r in summary["per_run"] if "asr_ours" in r]
    summary["wer"] = wer_summary(runs)
    with open(path, "w") as f:
        json.dump(summary, f, indent=1, ensure_ascii=False)
    w = summary["wer"]
    print("WER (pocketsphinx, %d words): ours %.1f %%  ORT %.1f %%" % (w["words"], w["ours"], w["ort"]))


# ---------------------------------------------------------------- dumps


def load_dump(d):
    with open(os.path.join(d, "index.json")) as f:
        ix = json.load(f)
    out = {}
    for t in ix["tensors"]:
        dt = {"float32": np.float32, "int64": np.int64}.get(t["dtype"])
        if dt is None:
            continue
        out[t["name"]] = (t["shape"], os.path.join(d, t["file"]), dt)
    return out


def arr(e):
    shape, path, dt = e
    return np.fromfile(path, dtype=dt).reshape(shape)


def module_of(name):
    node = name[: -len("_output_0")] if name.endswith("_output_0") else name
    if name == "waveform":
        return "waveform"
    for key, rx in kokoro_graph.NODE_RULES:
        if re.search(rx, node):
            return key
    return "other"


def is_pre_generator(module):
    return not (module.startswith("generator") or module == "waveform")


def compare(ours_dir, ref_dir):
    """{tensor: {module, rel, max_abs}} for tensors in both dumps with equal
    shapes, plus the waveform SNR (None when lengths differ)."""
    ours, ref = load_dump(ours_dir), load_dump(ref_dir)
    res = {}
    snr = None
    for name in ours:
        if name not in ref:
            continue
        x, y = arr(ours[name]).astype(np.float64), arr(ref[name]).astype(np.float64)
        if x.shape != y.shape:
            res[name] = {"module": module_of(name), "shape_mismatch": [list(x.shape), list(y.shape)]}
            continue
        if name == HAR_SPEC:
            h = y.shape[1] // 2
            xm, ym, xp, yp = x[:, :h], y[:, :h], x[:, h:], y[:, h:]
            d = np.abs(xm - ym)
            res[name + " (magnitude)"] = {"module": "generator.har_stft", "max_abs": float(d.max()),
                                          "rel": float(d.max() / max(np.abs(ym).max(), 1e-30))}
            mask = ym > 1e-3 * ym.max()
            dp = np.abs(np.angle(np.exp(1j * (xp - yp))))[mask]
            res[name + " (phase, rad)"] = {"module": "generator.har_stft.phase",
                                           "max_abs": float(dp.max()) if dp.size else 0.0,
                                           "rel": float(dp.max() / np.pi) if dp.size else 0.0,
                                           "frac_over_0.1rad": float((dp > 0.1).mean()) if dp.size else 0.0}
            continue
        d = np.abs(x - y)
        res[name] = {"module": module_of(name), "max_abs": float(d.max()),
                     "rel": float(d.max() / max(np.abs(y).max(), 1e-30))}
        if name == "waveform":
            snr = float(10 * np.log10((y ** 2).sum() / max(((x - y) ** 2).sum(), 1e-30)))
    return res, snr


def snr_db(x, y):
    if x.shape != y.shape:
        return None
    x, y = x.astype(np.float64), y.astype(np.float64)
    return float(10 * np.log10((y ** 2).sum() / max(((x - y) ** 2).sum(), 1e-30)))


def spec_snr_db(x, y, n_fft=1024, hop=256):
    """SNR of STFT magnitudes (Hann 1024, hop 256): ignores phase, so it shows
    whether a waveform difference is audible-scale or rounding-scale noise."""
    if x.shape != y.shape or len(y) < n_fft:
        return None
    w = np.hanning(n_fft + 1)[:-1]

    def mag(v):
        v = v.astype(np.float64)
        n = 1 + (len(v) - n_fft) // hop
        idx = np.arange(n_fft)[None, :] + hop * np.arange(n)[:, None]
        return np.abs(np.fft.rfft(v[idx] * w, axis=1))

    X, Y = mag(x), mag(y)
    return float(10 * np.log10((Y ** 2).sum() / max(((X - Y) ** 2).sum(), 1e-30)))


# ---------------------------------------------------------------- ASR


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", default=os.path.join(HERE, "sentences.txt"))
    ap.add_argument("--config", action="append",
                    help="VOICE:SPEED[:MAXIDS] (repeatable); MAXIDS limits the config to sentences with at most "
                         "that many ids. Default: af_heart:1, am_michael:1.2:60, bf_emma:0.85:60")
    ap.add_argument("--limit", type=int, default=0, help="only the first N sentences")
    ap.add_argument("--only", help="comma-separated 1-based sentence numbers")
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--out", default=None, help="output directory (default BUILD/eval)")
    ap.add_argument("--threads", type=int, default=2,
                    help="ONNX Runtime intra-op threads; also OPENBLAS_NUM_THREADS for kk-forward unless set")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--no-asr", action="store_true")
    ap.add_argument("--keep-dumps", action="store_true")
    ap.add_argument("--report-only", action="store_true", help="always exit 0")
    ap.add_argument("--max-rel-pre", type=float, default=1e-4)
    ap.add_argument("--min-dur-frac", type=float, default=0.95)
    ap.add_argument("--min-snr", type=float, default=30.0)
    ap.add_argument("--max-wer-delta", type=float, default=2.0)
    ap.add_argument("--rescore", metavar="SUMMARY_JSON",
                    help="only recompute the WER of an earlier summary.json (current normalisation)")
    a = ap.parse_args()
    if a.rescore:
        rescore(a.rescore, a.sentences)
        return 0

    t_start = time.time()
    mdir = model_dir()
    onnx_path = os.path.join(mdir, "model_q4_w16.onnx")
    if not os.path.isfile(onnx_path):
        log("eval: model not found: %s (set KOKORO_MODEL_DIR)" % onnx_path)
        return 2
    env = dict(os.environ, KOKORO_MODEL_DIR=mdir)
    # kk-forward's output depends on OpenBLAS's thread count (summation order;
    # the generator amplifies it to ~26 dB SNR between 1 and 2 threads): pin
    # it to ORT's thread count so results do not depend on the host's cores.
    env.setdefault("OPENBLAS_NUM_THREADS", str(a.threads))
    kk_g2p, kk_fwd = os.path.join(a.build, "kk-g2p"), os.path.join(a.build, "kk-forward")
    for b in (kk_g2p, kk_fwd):
        if not os.access(b, os.X_OK):
            log("eval: %s is missing: build first (cmake --build build)" % b)
            return 2
    out_dir = a.out or os.path.join(a.build, "eval")
    work = os.path.join(out_dir, "work")
    os.makedirs(work, exist_ok=True)
    if not a.no_asr:
        for tool in ("sox", "pocketsphinx_continuous"):
            if not shutil.which(tool):
                log("eval: %s not found (apt-get install sox pocketsphinx pocketsphinx-en-us) or pass --no-asr" % tool)
                return 2

    # exposed models (cached next to the dumps; rebuilt when the model is newer)
    ref_dir = os.path.join(a.build, "ref")
    os.makedirs(ref_dir, exist_ok=True)
    models = {"modules": os.path.join(ref_dir, "modules.onnx")}
    if not a.no_baseline:
        models["duration"] = os.path.join(ref_dir, "duration.onnx")
    for preset, path in models.items():
        if not os.path.isfile(path) or os.path.getmtime(path) < os.path.getmtime(onnx_path):
            log("eval: exposing preset %s -> %s" % (preset, path))
            tmp = "%s.%d.tmp.onnx" % (path[: -len(".onnx")], os.getpid())
            run([PY, os.path.join(HERE, "expose.py"), "--preset", preset, "--out", tmp], env=env)
            os.replace(tmp, path)  # atomic: a concurrent run never sees half a file

    sentences = load_sentences(a.sentences)
    numbered = list(enumerate(sentences, 1))
    if a.only:
        keep = {int(x) for x in a.only.split(",")}
        numbered = [s for s in numbered if s[0] in keep]
    if a.limit:
        numbered = numbered[: a.limit]
    configs = []
    for c in a.config or ["af_heart:1", "am_michael:1.2:60", "bf_emma:0.85:60"]:
        p = c.split(":")
        configs.append((p[0], float(p[1]) if len(p) > 1 else 1.0, int(p[2]) if len(p) > 2 else 0))

    runs = []
    for voice, speed, max_ids in configs:
        for num, (text, spoken) in numbered:
            g = run([kk_g2p, "--json", "--voice", voice, "--model", mdir, text], env=env)
            chunks = [json.loads(l) for l in g.splitlines() if l.strip()]
            if len(chunks) != 1:
                log("eval: sentence %d gives %d chunks; skipped" % (num, len(chunks)))
                continue
            ids = chunks[0]["ids"]
            if max_ids and len(ids) > max_ids:
                continue
            tag = "s%02d_%s_%g" % (num, voice, speed)
            ids_s = ",".join(map(str, ids))
            rdump, odump = os.path.join(work, tag + ".ref"), os.path.join(work, tag + ".ours")
            for d in (rdump, odump):
                shutil.rmtree(d, ignore_errors=True)
            rf32, of32, bf32 = (os.path.join(work, tag + s) for s in (".ref.f32", ".ours.f32", ".base.f32"))
            r = {"sentence": num, "text": text, "voice": voice, "speed": speed, "n_ids": len(ids),
                 "phonemes": chunks[0]["phonemes"]}
            t0 = time.time()
            rj = json.loads(run(["node", os.path.join(HERE, "ort_run.js"), "--model", models["modules"],
                                 "--ids", ids_s, "--voice", voice, "--speed", repr(speed),
                                 "--threads", str(a.threads), "--dump-dir", rdump, "--f32", rf32], env=env))
            t1 = time.time()
            oj = json.loads(run([kk_fwd, "--model", onnx_path, "--ids", ids_s, "--voice", voice,
                                 "--speed", repr(speed), "--dump-dir", odump, "--f32", of32], env=env))
            t2 = time.time()
            r["audio_s"] = rj["audio_s"]
            r["ort_ms"], r["ours_ms"] = rj["inference_ms"], oj["inference_ms"]
            ref_dur = arr(load_dump(rdump)[DUR_TENSOR]).reshape(-1).tolist()
            r["durations_match"] = ref_dur == oj["durations"]
            if not r["durations_match"]:
                diff = [i for i, (p, q) in enumerate(zip(ref_dur, oj["durations"])) if p != q]
                r["duration_diffs"] = [{"pos": i, "ours": oj["durations"][i], "ref": ref_dur[i]} for i in diff[:20]]
            tensors, snr = compare(odump, rdump)
            r["snr_db"] = snr if r["durations_match"] else None
            r["spec_snr_db"] = spec_snr_db(np.fromfile(of32, np.float32), np.fromfile(rf32, np.float32)) \
                if r["durations_match"] else None
            mods = {}
            for name, t in tensors.items():
                if "rel" not in t:
                    continue
                m = mods.setdefault(t["module"], {"rel": 0.0, "tensor": None})
                if t["rel"] >= m["rel"]:
                    m.update(rel=t["rel"], tensor=name)
            r["modules"] = mods
            r["tensors"] = tensors
            if not a.no_baseline:
                bd = os.path.join(work, tag + ".base")
                shutil.rmtree(bd, ignore_errors=True)
                run(["node", os.path.join(HERE, "ort_run.js"), "--model", models["duration"], "--ids", ids_s,
                     "--voice", voice, "--speed", repr(speed), "--threads", str(a.threads), "--opt", "disabled",
                     "--dump-dir", bd, "--f32", bf32], env=env)
                bdur = arr(load_dump(bd)[DUR_TENSOR]).reshape(-1).tolist()
                r["baseline_durations_match"] = bdur == ref_dur
                bw, rw = np.fromfile(bf32, np.float32), np.fromfile(rf32, np.float32)
                r["baseline_snr_db"] = snr_db(bw, rw) if bdur == ref_dur else None
                r["baseline_spec_snr_db"] = spec_snr_db(bw, rw) if bdur == ref_dur else None
                shutil.rmtree(bd, ignore_errors=True)
            t3 = time.time()
            if not a.no_asr:
                r["asr_ref"] = norm_words(spoken)
                r["asr_ours"] = norm_words(transcribe(of32, work))
                r["asr_ort"] = norm_words(transcribe(rf32, work))
                r["edits_ours"] = edit_distance(r["asr_ref"], r["asr_ours"])
                r["edits_ort"] = edit_distance(r["asr_ref"], r["asr_ort"])
            r["wall_s"] = {"ort_dump": round(t1 - t0, 1), "ours_dump": round(t2 - t1, 1),
                           "baseline": round(t3 - t2, 1), "asr": round(time.time() - t3, 1)}
            if not a.keep_dumps:
                for d in (rdump, odump):
                    shutil.rmtree(d, ignore_errors=True)
                for f in (rf32, of32, bf32):
                    if os.path.exists(f):
                        os.unlink(f)
            runs.append(r)
            pre = max([m["rel"] for k, m in mods.items() if is_pre_generator(k)], default=float("nan"))
            log("%-22s ids %3d  dur %-5s  pre-gen rel %.2e  SNR %s (spec %s)  base SNR %s  edits ours/ort %s/%s"
                "  (%.0f s)" % (
                tag, len(ids), "same" if r["durations_match"] else "DIFF", pre,
                "%.1f" % snr if r["snr_db"] is not None else "-",
                "%.1f" % r["spec_snr_db"] if r["spec_snr_db"] is not None else "-",
                "%.1f" % r["baseline_snr_db"] if r.get("baseline_snr_db") is not None else "-",
                r.get("edits_ours", "-"), r.get("edits_ort", "-"), time.time() - t0))

    # ---------------------------------------------------------------- summary
    n = len(runs)
    matched = [r for r in runs if r["durations_match"]]
    module_worst = {}
    for r in matched:
        for k, m in r["modules"].items():
            w = module_worst.setdefault(k, {"rel": 0.0, "tensor": None, "run": None})
            if m["rel"] >= w["rel"]:
                w.update(rel=m["rel"], tensor=m["tensor"], run="s%02d %s %g" % (r["sentence"], r["voice"], r["speed"]))
    order = [k for k, _ in kokoro_graph.NODE_RULES] + ["generator.har_stft.phase", "waveform", "other"]
    module_worst = dict(sorted(module_worst.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))
    snrs = [r["snr_db"] for r in matched]
    base = [r for r in runs if "baseline_snr_db" in r]
    base_snrs = [r["baseline_snr_db"] for r in base if r["baseline_snr_db"] is not None]
    spec_snrs = [r["spec_snr_db"] for r in matched if r.get("spec_snr_db") is not None]
    base_spec = [r["baseline_spec_snr_db"] for r in base if r.get("baseline_spec_snr_db") is not None]

    def dist(v):
        if not v:
            return None
        return {"min": min(v), "median": statistics.median(v), "max": max(v), "n": len(v)}

    summary = {
        "model": onnx_path, "sentences_file": a.sentences, "configs": [list(c) for c in configs],
        "runs": n, "duration_matches": len(matched),
        "module_worst_rel": module_worst,
        "pre_generator_worst_rel": max([w["rel"] for k, w in module_worst.items() if is_pre_generator(k)],
                                       default=None),
        "snr_db": dist(snrs),
        "spec_snr_db": dist(spec_snrs),
        "baseline_ort_opt_disabled": {"duration_matches": sum(1 for r in base if r["baseline_durations_match"]),
                                      "runs": len(base), "snr_db": dist(base_snrs),
                                      "spec_snr_db": dist(base_spec)} if base else None,
        "wall_s": round(time.time() - t_start, 1),
        "per_run": runs,
    }
    if not a.no_asr and runs:
        summary["wer"] = wer_summary(runs)

    # criteria
    fails = []
    if not n:
        fails.append("no runs")
    if summary["pre_generator_worst_rel"] is not None and summary["pre_generator_worst_rel"] >= a.max_rel_pre:
        fails.append("pre-generator relative error %.3g >= %g" % (summary["pre_generator_worst_rel"], a.max_rel_pre))
    if n and len(matched) < a.min_dur_frac * n - 1e-9:
        fails.append("durations identical on %d/%d runs (< %g)" % (len(matched), n, a.min_dur_frac))
    low = [r for r in matched if r["snr_db"] < a.min_snr]
    if low:
        fails.append("SNR < %g dB on %d runs (min %.1f)" % (a.min_snr, len(low), min(snrs)))
    if "wer" in summary and summary["wer"]["ours"] > summary["wer"]["ort"] + a.max_wer_delta:
        fails.append("WER ours %.1f > ORT %.1f + %g" % (summary["wer"]["ours"], summary["wer"]["ort"], a.max_wer_delta))
    summary["criteria"] = {"max_rel_pre": a.max_rel_pre, "min_dur_frac": a.min_dur_frac, "min_snr": a.min_snr,
                           "max_wer_delta": a.max_wer_delta, "failures": fails}
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, ensure_ascii=False)

    # table
    print("%-4s %-11s %5s %4s %5s %10s %7s %8s %8s %9s %9s" % ("sent", "voice", "speed", "ids", "dur", "pre-gen",
                                                              "SNR", "base SNR", "specSNR", "base spec", "edits o/r"))
    for r in runs:
        pre = max([m["rel"] for k, m in r["modules"].items() if is_pre_generator(k)], default=float("nan"))
        f1 = lambda v: "%.1f" % v if v is not None else "-"  # noqa: E731
        print("%-4d %-11s %5g %4d %5s %10.2e %7s %8s %8s %9s %9s" % (
            r["sentence"], r["voice"], r["speed"], r["n_ids"], "same" if r["durations_match"] else "DIFF", pre,
            f1(r["snr_db"]), f1(r.get("baseline_snr_db")), f1(r.get("spec_snr_db")),
            f1(r.get("baseline_spec_snr_db")),
            "%s/%s" % (r.get("edits_ours", "-"), r.get("edits_ort", "-"))))
    print("\nper-module worst relative error (runs with identical durations):")
    for k, w in module_worst.items():
        print("  %-26s %.3g   %s  [%s]" % (k, w["rel"], w["tensor"], w["run"]))
    print("durations identical: %d/%d" % (len(matched), n))
    if snrs:
        print("SNR vs ORT where durations match: min %.1f  median %.1f  max %.1f dB (n=%d)" % (
            min(snrs), statistics.median(snrs), max(snrs), len(snrs)))
    if spec_snrs:
        print("magnitude-spectrum SNR vs ORT: min %.1f  median %.1f  max %.1f dB" % (
            min(spec_snrs), statistics.median(spec_snrs), max(spec_snrs)))
    if base_snrs:
        bs = summary["baseline_ort_opt_disabled"]
        print("baseline ORT opt=disabled vs opt=all: durations %d/%d, SNR min %.1f  median %.1f  max %.1f dB" % (
            bs["duration_matches"], bs["runs"], min(base_snrs), statistics.median(base_snrs), max(base_snrs)))
        if base_spec:
            print("baseline magnitude-spectrum SNR: min %.1f  median %.1f  max %.1f dB" % (
                min(base_spec), statistics.median(base_spec), max(base_spec)))
    if "wer" in summary:
        print("WER (pocketsphinx, %d words): ours %.1f %%  ORT %.1f %%" % (
            summary["wer"]["words"], summary["wer"]["ours"], summary["wer"]["ort"]))
    print("wall time %.0f s; summary: %s" % (summary["wall_s"], os.path.join(out_dir, "summary.json")))
    print("FAIL: " + "; ".join(fails) if fails else "PASS")
    return 0 if a.report_only or not fails else 1


if __name__ == "__main__":
    sys.exit(main())
