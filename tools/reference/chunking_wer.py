#!/usr/bin/env python3
"""Does the chunking change what is understood? A text spoken by `kokoro say`
with streaming chunks (the first sentence alone, then sentences grouped up to
175-250 ids: kk_synth_params.stream_chunks) and with packed chunks (sentences
up to 510 ids), each transcribed by pocketsphinx; prints both word error
rates against the text, and the chunk counts.

    tools/reference/chunking_wer.py [--kokoro build/kokoro] [--paragraphs N]
                                    [--precision exact|fast] TEXT_FILE

Paragraphs are blank-line separated; the first N (default 3) are spoken.
Each paragraph is spoken and transcribed on its own (pocketsphinx is more
reliable on shorter audio), the WER is over all of them. Needs sox and
pocketsphinx (see asr.py).
"""
import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import asr  # noqa: E402


def say(kokoro, text, chunks, precision, wav):
    r = subprocess.run([kokoro, "say", text, "-o", wav, "--chunks", chunks, "--precision", precision],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("kokoro say failed: " + r.stderr.strip()[-2000:])


def chunk_count(kokoro, text, stream):
    model = os.environ.get("KOKORO_MODEL_DIR", "../shared/models/kokoro-82m-v1.0")
    g2p = os.path.join(os.path.dirname(kokoro), "kk-g2p")
    args = [g2p, "--model", model] + (["--stream-chunks"] if stream else []) + ["--", text]
    return len([l for l in subprocess.run(args, capture_output=True, text=True, check=True).stdout.splitlines() if l])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("text")
    ap.add_argument("--kokoro", default="build/kokoro")
    ap.add_argument("--paragraphs", type=int, default=3)
    ap.add_argument("--precision", default="exact", choices=["exact", "fast"])
    a = ap.parse_args()
    paras = [p.strip().replace("\n", " ") for p in open(a.text, encoding="utf-8").read().split("\n\n") if p.strip()]
    paras = paras[: a.paragraphs]
    ref_words = 0
    errs = {"stream": 0, "packed": 0}
    chunks = {"stream": 0, "packed": 0}
    with tempfile.TemporaryDirectory(prefix="kk-chunking-wer-") as work:
        for i, p in enumerate(paras):
            ref = asr.norm_words(p)
            ref_words += len(ref)
            for mode in ("stream", "packed"):
                wav = os.path.join(work, "%d-%s.wav" % (i, mode))
                say(a.kokoro, p, mode, a.precision, wav)
                hyp = asr.norm_words(asr.transcribe_wav(wav, work))
                e = asr.edit_distance(ref, hyp)
                errs[mode] += e
                chunks[mode] += chunk_count(a.kokoro, p, mode == "stream")
                print("paragraph %d (%d words) %-6s: %d errors, WER %.1f %%" % (i + 1, len(ref), mode, e,
                                                                             100.0 * e / max(1, len(ref))))
                sys.stdout.flush()
    for mode in ("stream", "packed"):
        print("%-6s chunks: %3d chunks, WER %.1f %% (%d errors in %d words)" % (
            mode, chunks[mode], 100.0 * errs[mode] / max(1, ref_words), errs[mode], ref_words))


if __name__ == "__main__":
    main()
