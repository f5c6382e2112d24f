#!/usr/bin/python3
"""Emphasis markup (issue 16): does "[word](+)" sound like emphasis?

For each sentence below, the plain text and the same text with one word
marked are spoken by `kokoro say --timestamps`; for the marked word the
script prints, plain against marked:

  - its duration (the engine's word times, ms);
  - its mean energy (RMS over the word's samples, dB re full scale);
  - its F0 peak and mean (Hz; autocorrelation pitch of 40 ms windows every
    10 ms, voiced windows only: normalised autocorrelation peak >= 0.5 in
    60-400 Hz);
  - the length of the whole sentence (samples), which should not change.

"Keep it" means: longer, and at least as loud (mean energy within 0.5 dB or
more). Prints a table and a summary; --check exits 1 when a sentence's word
is not longer or is more than 0.5 dB quieter.

Needs build/kokoro (--kokoro), the model, and numpy for /usr/bin/python3
(as tools/reference does: tools/reference/setup.sh).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import wave

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RATE = 24000

# (text with the word marked, the marked word's index among the words)
SENTENCES = [
    ("I never said she [stole](+) it.", 4),
    ("I [never](+) said she stole it.", 1),
    ("This is [the](+) place to be.", 2),
    ("She wanted the [red](+) car, not the blue one.", 3),
    ("We will meet on [Tuesday](+) at noon.", 4),
    ("Please put it *down* gently.", 3),
]


def say(kokoro, text, voice, wav_path, json_path):
    subprocess.run([kokoro, "say", text, "-v", voice, "-o", wav_path, "--timestamps", json_path],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with wave.open(wav_path, "rb") as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    with open(json_path, encoding="utf-8") as f:
        words = json.load(f)["words"]
    return x, words


def f0_track(x):
    """F0 (Hz) of voiced 40 ms windows every 10 ms."""
    win, hop = int(0.040 * RATE), int(0.010 * RATE)
    lo, hi = int(RATE / 400), int(RATE / 60)
    out = []
    for s in range(0, len(x) - win, hop):
        f = x[s:s + win] - np.mean(x[s:s + win])
        e = np.dot(f, f)
        if e < 1e-6:
            continue
        ac = np.correlate(f, f, mode="full")[win - 1:]
        ac = ac / ac[0]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] >= 0.5:
            out.append(RATE / lag)
    return out


def word_stats(x, w):
    a, b = int(w["start_ms"] * RATE / 1000), int(w["end_ms"] * RATE / 1000)
    seg = x[a:b]
    rms = np.sqrt(np.mean(seg * seg)) if len(seg) else 0.0
    f0 = f0_track(seg)
    return {
        "ms": w["end_ms"] - w["start_ms"],
        "db": 20 * np.log10(rms) if rms > 0 else -120.0,
        "f0_peak": max(f0) if f0 else 0.0,
        "f0_mean": float(np.mean(f0)) if f0 else 0.0,
    }


def plain_of(text):
    text = re.sub(r"\[([^\[\]\n]+)\]\(\+\)", r"\1", text)
    return re.sub(r"\*([^*\s][^*\n]*?)\*", r"\1", text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kokoro", default=os.path.join(ROOT, "build", "kokoro"))
    ap.add_argument("--voice", default="af_heart")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="kk_emph_")
    print(f"voice {a.voice}")
    print(f"{'word':>10} {'ms':>11} {'dB':>13} {'F0 peak Hz':>13} {'F0 mean Hz':>13} {'total ms':>11}")
    failed = 0
    rows = []
    for i, (marked, k) in enumerate(SENTENCES):
        plain = plain_of(marked)
        xp, wp = say(a.kokoro, plain, a.voice, f"{tmp}/p{i}.wav", f"{tmp}/p{i}.json")
        xm, wm = say(a.kokoro, marked, a.voice, f"{tmp}/m{i}.wav", f"{tmp}/m{i}.json")
        sp, sm = word_stats(xp, wp[k]), word_stats(xm, wm[k])
        longer = sm["ms"] > sp["ms"]
        loud = sm["db"] >= sp["db"] - 0.5
        failed += not (longer and loud)
        rows.append((sp, sm))
        print(f"{wp[k]['text']:>10} {sp['ms']:4d} ->{sm['ms']:4d} {sp['db']:5.1f} ->{sm['db']:5.1f} "
              f"{sp['f0_peak']:5.0f} ->{sm['f0_peak']:5.0f} {sp['f0_mean']:5.0f} ->{sm['f0_mean']:5.0f} "
              f"{len(xp) * 1000 // RATE:4d} ->{len(xm) * 1000 // RATE:4d}"
              f"{'' if longer and loud else '  FAIL'}")
    n = len(rows)
    print(f"mean: duration x{np.mean([m['ms'] / p['ms'] for p, m in rows]):.2f}, "
          f"energy {np.mean([m['db'] - p['db'] for p, m in rows]):+.1f} dB, "
          f"F0 peak {np.mean([m['f0_peak'] - p['f0_peak'] for p, m in rows]):+.0f} Hz, "
          f"F0 mean {np.mean([m['f0_mean'] - p['f0_mean'] for p, m in rows]):+.0f} Hz over {n} sentences; "
          f"{n - failed} of {n} longer and at least as loud")
    return 1 if a.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
