#!/usr/bin/env python3
"""Prosody mapping (issue 16): does `kokoro render --fit words` put each word
where it is told to, and is the speech still understood?

For every sentence of tools/reference/sentences.txt (one segment each):

  1. Sources of target word times: our own speech at speed 0.8 and 1.25
     (`kokoro render` of the sentences as plain text, the report's word
     times), and two hand-made timings from the natural speech: a 400 ms
     pause inserted before the middle word ("pause"), and the first half of
     the words at 0.85 of their natural length, the second half at 1.2
     ("tempo"). Every condition stays within +-30 % of the natural length.
  2. Each condition becomes a WScribe file (the sentences 2 s apart, word
     times as the source gives them) rendered at speed 1 with `--fit words`,
     with pauses as stretched tokens and as silence (`--pauses`).
  3. Onset errors: the report's word starts (the engine's alignment) minus
     the targets, median and 95th percentile over all words (targets: 15 ms
     and 30 ms). For the words after a pause (>= 150 ms of silence in the
     target), the onset is also found in the signal (the first 5 ms window
     louder than 1/30 of the segment's peak RMS after the pause) and compared
     with the signal onset of the same word in the source speech, so that a
     model that speaks a word's start early or late in its frames counts.
  4. pocketsphinx WER (tools/reference/asr.py) of every condition against the
     natural speech's: no worse (the target; pocketsphinx is a weak
     recogniser of synthetic speech, so the comparison is relative).

Prints the figures and PASS/FAIL per pause mode (the onsets, the signal
check after pauses, the WER); --check exits 1 on a FAIL.
Standard library only. Needs the kokoro program (--kokoro, default
build/kokoro), the model, sox and pocketsphinx_continuous.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
import asr  # noqa: E402

SPACING_MS = 2000  # between one segment's end and the next one's start
PAUSE_MS = 150     # a target gap at least this long is a pause (signal check)
RATE = 24000


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sentences(path, limit):
    out = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        text, _, spoken = line.partition(" | ")
        if len(text.split()) < 3:  # one- and two-word lines have no timing to follow
            continue
        out.append((text.strip(), (spoken or text).strip()))
    return out[:limit] if limit else out


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.strip()[-3000:]))
    return r.stderr


def render(args, inp, out, report, extra):
    cmd = [args.kokoro, "render", inp, "-o", out, "--report", report, "--no-cache", "-v", args.voice]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    err = run(cmd + extra)
    rep = json.load(open(report))
    return rep, err


def read_wav(path):
    with wave.open(path) as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1 and w.getsampwidth() == 2
        raw = w.readframes(w.getnframes())
    import array
    a = array.array("h")
    a.frombytes(raw)
    return a


def words_of(cue):
    return [(w["word"], w["start_s"] * 1000.0, w["end_s"] * 1000.0) for w in cue["words"]]


def hms(ms):
    ms = int(round(ms))
    return "%02d:%02d:%02d.%03d" % (ms // 3600000, ms // 60000 % 60, ms // 1000 % 60, ms % 1000)


def signal_onset(pcm, lo_ms, hi_ms, level):
    """Where the sound after the last pause in [lo_ms, hi_ms) starts (ms):
    the first 5 ms window louder than level after a run of 20 ms or more
    of quieter ones; None when there is no such run (no pause in the
    signal). The tail of the word before is skipped that way."""
    step, hop = RATE * 5 // 1000, RATE // 1000
    a, b = max(0, int(lo_ms * RATE / 1000)), min(len(pcm), int(hi_ms * RATE / 1000))
    quiet, found = 0, None
    for s in range(a, b - step, hop):
        loud = (sum(v * v for v in pcm[s:s + step]) / step) ** 0.5 > level
        if loud and quiet >= 20:
            found = s * 1000.0 / RATE
        quiet = 0 if loud else quiet + 1
    return found


def peak_rms(pcm, a_ms, b_ms):
    step = RATE * 20 // 1000
    a, b = int(a_ms * RATE / 1000), min(len(pcm), int(b_ms * RATE / 1000))
    best = 0.0
    for s in range(a, b - step, step):
        best = max(best, (sum(v * v for v in pcm[s:s + step]) / step) ** 0.5)
    return best


def pct(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    k = (len(v) - 1) * p / 100.0
    f = int(k)
    return v[f] if f + 1 >= len(v) else v[f] + (v[f + 1] - v[f]) * (k - f)


def wer_of(pcm, cues, spoken, work, tag, per=None):
    """WER (%) of the cues' audio against the spoken text; per, when a
    dict, gets each cue's (edits, words, what was heard) by index."""
    edits = words = 0
    for i, q in enumerate(cues):
        a, b = int(q["start_s"] * RATE), int(q["end_s"] * RATE)
        f32 = os.path.join(work, "%s.%d.f32" % (tag, i))
        import array
        arr = array.array("f", (v / 32768.0 for v in pcm[a:b]))
        with open(f32, "wb") as f:
            arr.tofile(f)
        hyp = asr.norm_words(asr.transcribe(f32, work))
        os.unlink(f32)
        ref = asr.norm_words(spoken[i])
        e = asr.edit_distance(ref, hyp)
        edits += e
        words += len(ref)
        if per is not None:
            per[i] = (e, len(ref), " ".join(hyp))
    return 100.0 * edits / max(1, words)


def wer_over(per, keep):
    """WER (%) over the cues in keep, from wer_of's per."""
    e = sum(per[i][0] for i in keep)
    n = sum(per[i][1] for i in keep)
    return 100.0 * e / max(1, n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kokoro", default=os.path.join(ROOT, "build", "kokoro"))
    ap.add_argument("--sentences", default=os.path.join(ROOT, "tools", "reference", "sentences.txt"))
    ap.add_argument("--limit", type=int, default=0, help="the first N sentences only")
    ap.add_argument("--voice", default="af_heart")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--modes", default="stretch,silence", help="pause modes to evaluate")
    ap.add_argument("--no-wer", action="store_true", help="onsets only (no pocketsphinx)")
    ap.add_argument("--keep", metavar="DIR", help="keep the files in DIR")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args()
    if not args.no_wer:
        for tool in ("sox", "pocketsphinx_continuous"):
            if not shutil.which(tool):
                log("prosody_eval: %s not found (apt-get install sox pocketsphinx pocketsphinx-en-us), "
                    "or pass --no-wer" % tool)
                return 2
    sents = sentences(args.sentences, args.limit)
    texts = [t for t, _ in sents]
    spoken = [s for _, s in sents]
    work = args.keep or tempfile.mkdtemp(prefix="prosody_eval.")
    os.makedirs(work, exist_ok=True)
    try:
        txt = os.path.join(work, "sentences.txt")
        with open(txt, "w", encoding="utf-8") as f:
            f.write("\n\n".join(texts) + "\n")
        # the sources: natural, 0.8, 1.25 (word times relative to each segment's start)
        src = {}
        for name, speed in (("natural", 1.0), ("speed 0.8", 0.8), ("speed 1.25", 1.25)):
            log("prosody_eval: speaking the sentences at %s" % speed)
            wav = os.path.join(work, "src-%s.wav" % speed)
            rep, _ = render(args, txt, wav, wav + ".json", ["-s", str(speed), "--fit", "none"])
            src[name] = (rep, read_wav(wav))
        nat_rep, nat_pcm = src["natural"]
        conditions = {}
        for name in ("speed 0.8", "speed 1.25"):
            conditions[name] = [[(w, s - q["start_s"] * 1000, e - q["start_s"] * 1000) for w, s, e in words_of(q)]
                                for q in src[name][0]["cues"]]
        pause, tempo = [], []
        for q in nat_rep["cues"]:
            ws = [(w, s - q["start_s"] * 1000, e - q["start_s"] * 1000) for w, s, e in words_of(q)]
            mid = len(ws) // 2
            pause.append([(w, s + (400 if i >= mid else 0), e + (400 if i >= mid else 0))
                          for i, (w, s, e) in enumerate(ws)])
            # rebuild: each gap and word length scaled by its half's factor
            res, at = [], ws[0][1]
            for i, (w, s, e) in enumerate(ws):
                f = 0.85 if i < mid else 1.2
                if i:
                    at += (s - ws[i - 1][2]) * f
                res.append((w, at, at + (e - s) * f))
                at += (e - s) * f
            tempo.append(res)
        conditions["pause"] = pause
        conditions["tempo"] = tempo
        nat_len = [q["end_s"] - q["start_s"] for q in nat_rep["cues"]]
        # natural speech's WER: the floor
        results = {}
        if not args.no_wer:
            log("prosody_eval: transcribing the natural speech")
            nat_per = {}
            results["natural"] = {"wer": wer_of(nat_pcm, nat_rep["cues"], spoken, work, "nat", nat_per)}
        for mode in args.modes.split(","):
            for cname, targets in conditions.items():
                if len(targets) != len(texts):
                    raise RuntimeError("%s: %d segments for %d sentences" % (cname, len(targets), len(texts)))
                segs, at = [], 1000.0
                for i, ws in enumerate(targets):
                    base = at
                    words = [{"text": w, "start": hms(base + s), "end": hms(base + e)} for w, s, e in ws]
                    end = base + max(e for _, _, e in ws)
                    segs.append({"text": texts[i], "start": hms(base), "end": hms(end), "words": words})
                    at = end + SPACING_MS
                tag = "%s-%s" % (cname.replace(" ", ""), mode)
                path = os.path.join(work, tag + ".json")
                json.dump(segs, open(path, "w"), indent=1)
                wav = os.path.join(work, tag + ".wav")
                log("prosody_eval: rendering %s with --fit words --pauses %s" % (cname, mode))
                rep, _ = render(args, path, wav, wav + ".json", ["--fit", "words", "--pauses", mode])
                pcm = read_wav(wav)
                errs, sig, sigs, sigc, fallbacks, skipped = [], [], [], [], 0, 0
                length, fit = [], []
                for i, q in enumerate(rep["cues"]):
                    if q.get("fit") != "words":
                        fallbacks += 1
                        log("  segment %d fell back: %s" % (i + 1, q.get("fit_note")))
                        continue
                    fit.append(i)
                    got = words_of(q)
                    want = [(w, hms_ms(segs[i]["words"][k]["start"])) for k, (w, _, _) in enumerate(targets[i])]
                    if len(got) != len(want):
                        skipped += 1
                        continue
                    length.append((q["end_s"] - q["start_s"]) / nat_len[i])
                    peak = peak_rms(pcm, got[0][1], got[-1][2])
                    for k, ((gw, gs, ge), (ww, ws_)) in enumerate(zip(got, want)):
                        errs.append(abs(gs - ws_))
                        if k and targets[i][k][1] - targets[i][k - 1][2] >= PAUSE_MS:
                            # the signal's onset after the pause, against the source's own
                            lo = want[k - 1][1] + (targets[i][k - 1][2] - targets[i][k - 1][1])
                            on = signal_onset(pcm, lo, ws_ + 100, peak / 30.0)
                            if on is None:
                                continue
                            sig.append(abs(on - ws_))
                            sigs.append(on - ws_)
                            ref_on = source_onset(src, cname, nat_rep, i, k, peak_rms)
                            if ref_on is not None:
                                sigc.append(abs((on - ws_) - ref_on))
                r = {"median": pct(errs, 50), "p95": pct(errs, 95), "words": len(errs), "fallbacks": fallbacks,
                     "skipped": skipped, "signal_median": pct(sig, 50), "signal_p95": pct(sig, 95),
                     "signal_words": len(sig), "signal_bias": pct(sigs, 50), "corrected_median": pct(sigc, 50), "corrected_p95": pct(sigc, 95),
                     "corrected_words": len(sigc), "length": statistics.mean(length) if length else float("nan")}
                if not args.no_wer:
                    per = {}
                    r["wer"] = wer_of(pcm, rep["cues"], spoken, work, tag, per)
                    # the comparison, like with like: the segments
                    # this condition fit by words (the ones that fell back
                    # are the cue-level fit's), against the natural speech
                    # of the same segments
                    r["wer_fit"] = wer_over(per, fit)
                    r["nat_fit"] = wer_over(nat_per, fit)
                    # where this condition lost words the natural speech kept
                    for i in fit:
                        if per[i][0] > nat_per[i][0]:
                            log("  segment %d: %d errors against natural %d: heard \"%s\" (natural: \"%s\")" % (
                                i + 1, per[i][0], nat_per[i][0], per[i][2], nat_per[i][2]))
                results[(cname, mode)] = r
        print("prosody mapping (issue 16): %d sentences, voice %s" % (len(texts), args.voice))
        # sig.bias: the signed median of signal onset - target (< 0: early);
        # vs.src, src.p95: |that - the source speech's own onset lead| (the
        # word sounds where the source's did), median and 95th percentile
        # WER: every segment (those that fell back included); fit.WER and
        # nat.WER: the segments fit by words, and the natural speech of
        # the same segments (the target compares these two)
        print("%-12s %-8s %6s %7s %7s %6s %8s %8s %8s %8s %8s %6s %6s %4s %7s %7s" % (
            "targets", "pauses", "words", "median", "p95", "sig.n", "sig.med", "sig.p95", "sig.bias", "vs.src",
            "src.p95", "length", "WER", "fb", "fit.WER", "nat.WER"))
        ok = True
        for key, r in results.items():
            if key == "natural":
                continue
            cname, mode = key
            w = r.get("wer", float("nan"))
            print("%-12s %-8s %6d %5.1fms %5.1fms %6d %6.1fms %6.1fms %6.1fms %6.1fms %6.1fms %5.2fx %5.1f%% %4d %6.1f%% %6.1f%%" % (
                cname, mode, r["words"], r["median"], r["p95"], r["signal_words"], r["signal_median"],
                r["signal_p95"], r["signal_bias"], r["corrected_median"], r["corrected_p95"], r["length"], w,
                r["fallbacks"], r.get("wer_fit", float("nan")), r.get("nat_fit", float("nan"))))
        if "natural" in results:
            print("natural speech WER (pocketsphinx): %.1f %%" % results["natural"]["wer"])
        print("\ntargets (issue 16), per pause mode:")
        for mode in args.modes.split(","):
            rs = [r for k, r in results.items() if k != "natural" and k[1] == mode]
            allerr_med = max(r["median"] for r in rs)
            allerr_p95 = max(r["p95"] for r in rs)
            line = "  %-8s onsets: worst median %.1f ms <= 15, worst p95 %.1f ms <= 30" % (mode, allerr_med, allerr_p95)
            good = allerr_med <= 15 and allerr_p95 <= 30
            # after a pause, the signal: each word's onset lead against the
            # source speech's own at the same word (conditions with such words)
            sr = [r for r in rs if r["corrected_words"]]
            if sr:
                sig_med = max(r["corrected_median"] for r in sr)
                sig_p95 = max(r["corrected_p95"] for r in sr)
                line += "; after pauses, signal vs. source: worst median %.1f ms <= 15, worst p95 %.1f ms <= 30" % (
                    sig_med, sig_p95)
                good = good and sig_med <= 15 and sig_p95 <= 30
            if "natural" in results:
                # each condition's word-fit segments against the natural
                # speech of the same segments
                gap = max(r["wer_fit"] - r["nat_fit"] for r in rs)
                line += "; worst fit.WER - nat.WER %+.1f points <= 0" % gap
                good = good and gap <= 1e-9
            print(line + ": " + ("PASS" if good else "FAIL"))
            ok = ok and good
        return 0 if ok or not args.check else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def hms_ms(s):
    h, m, rest = s.split(":")
    return (int(h) * 3600 + int(m) * 60) * 1000 + float(rest) * 1000


_source_cache = {}


def source_onset(src, cname, nat_rep, i, k, peak_rms_fn):
    """How far the signal's onset of word k of sentence i lies from its
    aligned start in the source speech (ms; the speed renders, or the
    natural one for the hand-made timings), or None when there is no pause
    before it there. The model's own lead or lag at a word's start."""
    name = cname if cname in src else "natural"
    rep, pcm = src[name]
    q = rep["cues"][i]
    ws = words_of(q)
    if k >= len(ws):
        return None
    key = (name, i)
    if key not in _source_cache:
        _source_cache[key] = peak_rms_fn(pcm, ws[0][1], ws[-1][2])
    peak = _source_cache[key]
    lo = ws[k - 1][2]
    on = signal_onset(pcm, lo, ws[k][1] + 100, peak / 30.0)
    return None if on is None else on - ws[k][1]


if __name__ == "__main__":
    sys.exit(main())
