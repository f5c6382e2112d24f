"""Word error rate with pocketsphinx: the helpers shared by
tools/reference/eval_engine.py (the C engine against ONNX Runtime) and
tools/g2p_eval/eval.py (our text -> phonemes against hand-checked ones).

Standard library only, so that a tool importing it needs no numpy or onnx.
Needs the programs sox and pocketsphinx_continuous (Debian packages sox,
pocketsphinx, pocketsphinx-en-us) for transcribe / transcribe_wav.
"""
import os
import re
import subprocess


def run(cmd, **kw):
    """Runs cmd (a list), returns its stdout; raises RuntimeError with the
    tail of stderr when it exits non-zero."""
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (cmd[0], r.returncode, r.stderr.strip()[-2000:]))
    return r.stdout


# Spellings that pocketsphinx's dictionary uses for words the reference spells
# out (applied to reference and transcripts alike).
CANON = {"doctor": "dr", "missus": "mrs", "mister": "mr"}


def norm_words(s):
    """The words of s for WER: lowercase, '.' removed, other punctuation ->
    space, quotes stripped from word ends, CANON applied."""
    s = s.lower().replace("’", "'")
    s = re.sub(r"[^a-z0-9' ]+", " ", s.replace(".", ""))
    return [CANON.get(w, w) for w in (w.strip("'") for w in s.split()) if w]


def edit_distance(a, b):
    """Levenshtein distance between sequences a and b (unit costs)."""
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(b)]


def _recognise(sox_input, wav16):
    """sox_input (sox arguments naming the input) -> 16 kHz 16-bit mono
    wav16 (no dither: repeatable), transcribed; wav16 is deleted."""
    run(["sox", "-q", "-D"] + sox_input + ["-r", "16000", "-b", "16", "-e", "signed-integer", wav16])
    try:
        out = run(["pocketsphinx_continuous", "-infile", wav16, "-logfn", "/dev/null"])
    finally:
        os.unlink(wav16)
    return " ".join(l.strip() for l in out.splitlines() if l.strip())


def transcribe(f32, work):
    """pocketsphinx's transcript of a raw little-endian float32 24 kHz mono
    file (a temporary 16 kHz WAV goes to the folder work)."""
    wav = os.path.join(work, os.path.basename(f32) + ".16k.wav")
    return _recognise(["-t", "raw", "-r", "24000", "-e", "floating-point", "-b", "32", "-c", "1", "-L", f32], wav)


def transcribe_wav(path, work):
    """pocketsphinx's transcript of a WAV file of any rate (a temporary
    16 kHz WAV goes to the folder work)."""
    wav = os.path.join(work, os.path.basename(path) + ".16k.wav")
    return _recognise([path], wav)
