#!/usr/bin/python3
"""Text -> phonemes, measured (issue 11): our g2p against hand-checked
references in misaki's Kokoro v1.0 conventions, and the speech it gives
against the speech of those references.

    /usr/bin/python3 tools/g2p_eval/eval.py [--no-audio] [--category C] [--verbose]

For every sentence of sentences.tsv (see its header for the conventions):
  1. phonemes: `kokoro phonemize` on the text (one call per language, the
     sentences separated by blank lines so that each is a chunk; one call per
     sentence if the chunk count does not match). Both strings are split into
     Kokoro vocabulary symbols (config.json's vocab, longest match; a space is
     a symbol; a character outside the vocabulary counts as one symbol).
     Distance = Levenshtein distance in symbols / reference length; a
     category's and the overall figure are pooled (sum of edits / sum of
     reference symbols). "exact": the two strings are identical.
  2. audio (unless --no-audio): `kokoro say` speaks the text (ours) and the
     reference phonemes (a whole-sentence [text](/phonemes/) override, so the
     same engine and voice speak both); both WAVs are transcribed by
     pocketsphinx (tools/reference/asr.py) and scored against the spoken
     form: word error rate, pooled per category and overall.

Targets (issue 11): phoneme distance <= 3 % overall, <= 4 % on each of the
categories number and money; WER of ours no worse than the reference
phonemes'. They are printed with PASS/FAIL; the exit status is 0 when the
run completes, unless --check: then 1 when a phoneme target is missed.
Exit 2: setup problem (kokoro, model or sentence file missing).

Standard library only; run with /usr/bin/python3 (needs sox and
pocketsphinx_continuous for the audio part).
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "reference"))
import asr  # noqa: E402  (pocketsphinx WER helpers shared with eval_engine.py)

TARGET_OVERALL = 3.0
TARGET_NUMERIC = 4.0
NUMERIC = ("number", "money")
# category -> (voice, language); anything else is American English
VOICES = {"british": ("bf_emma", "en-gb")}
DEFAULT_VOICE = ("af_heart", "en-us")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- inputs


def load_sentences(path):
    """Rows of the TSV as dicts {n, category, text, reference, spoken}; '#'
    lines, blank lines and the 'category' header skipped. Raises ValueError
    naming the line when a row has not four fields."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#") or line.startswith("category\t"):
                continue
            parts = line.split("\t")
            if len(parts) != 4 or not all(p.strip() for p in parts):
                raise ValueError("%s:%d: expected 4 non-empty TAB-separated fields (category, text, reference, "
                                 "spoken), got %d" % (path, lineno, len(parts)))
            rows.append({"n": len(rows) + 1, "line": lineno, "category": parts[0].strip(),
                         "text": parts[1].strip(), "reference": parts[2].strip(), "spoken": parts[3].strip()})
    return rows


def model_dir(arg):
    return arg or os.environ.get("KOKORO_MODEL_DIR") or os.path.join(REPO, "..", "shared", "models",
                                                                     "kokoro-82m-v1.0")


def load_vocab(mdir):
    """The set of symbols of the model's config.json vocab."""
    with open(os.path.join(mdir, "config.json"), encoding="utf-8") as f:
        return set(json.load(f)["vocab"])


def symbols(s, vocab, maxlen):
    """s split into vocab symbols, longest match first; a character outside
    the vocab is one symbol of its own."""
    out, i = [], 0
    while i < len(s):
        for L in range(min(maxlen, len(s) - i), 0, -1):
            if s[i:i + L] in vocab:
                out.append(s[i:i + L])
                i += L
                break
        else:
            out.append(s[i])
            i += 1
    return out


# ---------------------------------------------------------------- alignment


def align(ref, hyp):
    """Levenshtein alignment of two symbol lists: (distance, ops), ops a list
    of (op, ref_symbol, hyp_symbol), op one of '=', 'sub', 'del' (in ref,
    missing from hyp), 'ins' (extra in hyp)."""
    n, m = len(ref), len(hyp)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]))
    ops, i, j = [], n, m
    while i or j:
        if i and j and d[i][j] == d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            ops.append(("=" if ref[i - 1] == hyp[j - 1] else "sub", ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif i and d[i][j] == d[i - 1][j] + 1:
            ops.append(("del", ref[i - 1], ""))
            i -= 1
        else:
            ops.append(("ins", "", hyp[j - 1]))
            j -= 1
    return d[n][m], ops[::-1]


def show_diff(ops):
    """The alignment as one line: equal symbols as they are, edits in
    brackets [ref>ours], [-ref], [+ours]; spaces shown as '_' inside brackets."""
    vis = lambda s: "_" if s == " " else s  # noqa: E731
    out = []
    for op, r, h in ops:
        if op == "=":
            out.append(r)
        elif op == "sub":
            out.append("[%s>%s]" % (vis(r), vis(h)))
        elif op == "del":
            out.append("[-%s]" % vis(r))
        else:
            out.append("[+%s]" % vis(h))
    return "".join(out)


# ---------------------------------------------------------------- kokoro


def kokoro_cmd(a, sub, *args):
    cmd = [a.kokoro, sub] + list(args)
    if a.model:
        cmd += ["--model", a.model]
    return cmd


def phonemize_one(a, text, lang):
    out = asr.run(kokoro_cmd(a, "phonemize", "-l", lang, text), cwd=REPO)
    return " ".join(l for l in out.splitlines() if l.strip())


def phonemize_all(a, rows, work):
    """Sets row['ours'] for every row: one kokoro call per language (blank
    lines between sentences: each is a chunk), per sentence when the number
    of output lines does not match."""
    by_lang = {}
    for r in rows:
        by_lang.setdefault(VOICES.get(r["category"], DEFAULT_VOICE)[1], []).append(r)
    for lang, rs in by_lang.items():
        path = os.path.join(work, "sentences.%s.txt" % lang)
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n\n".join(r["text"] for r in rs) + "\n")
        out = asr.run(kokoro_cmd(a, "phonemize", "-l", lang, "-f", path), cwd=REPO)
        lines = [l for l in out.splitlines() if l.strip()]
        if len(lines) == len(rs):
            for r, l in zip(rs, lines):
                r["ours"] = l
        else:
            log("g2p_eval: %s: %d chunks for %d sentences; phonemizing one by one" % (lang, len(lines), len(rs)))
            for r in rs:
                r["ours"] = phonemize_one(a, r["text"], lang)


def override(text, phonemes):
    """text spoken as the given phonemes: one [text](/phonemes/) override
    (src/g2p/g2p_markup.c: no brackets or newline in the word, no ')' in the phonemes)."""
    word = "".join(c for c in text if c not in "[]()\n") or "x"
    if ")" in phonemes or "\n" in phonemes:
        raise ValueError("reference phonemes contain ')' or a newline: cannot be an override: %r" % phonemes)
    return "[%s](/%s/)" % (word, phonemes)


def audio_one(a, r, work):
    """Speaks row r both ways and transcribes both; returns the fields to
    add to the row. Files are per sentence, so calls may run in parallel."""
    voice = VOICES.get(r["category"], DEFAULT_VOICE)[0]
    res = {"asr_ref": asr.norm_words(r["spoken"])}
    t0 = time.time()
    for who, text in (("ours", r["text"]), ("refph", override(r["text"], r["reference"]))):
        wav = os.path.join(work, "s%03d.%s.wav" % (r["n"], who))
        asr.run(kokoro_cmd(a, "say", "-v", voice, "-o", wav, text), cwd=REPO)
        res["asr_" + who] = asr.norm_words(asr.transcribe_wav(wav, work))
        res["edits_" + who] = asr.edit_distance(res["asr_ref"], res["asr_" + who])
        if not a.keep_audio:
            os.unlink(wav)
    res["audio_s"] = round(time.time() - t0, 1)
    return res


# ---------------------------------------------------------------- report


def pooled(rows):
    sym = sum(r["ref_len"] for r in rows)
    return {"sentences": len(rows), "exact": sum(r["exact"] for r in rows), "symbols": sym,
            "edits": sum(r["dist"] for r in rows), "dist_pct": 100.0 * sum(r["dist"] for r in rows) / max(sym, 1)}


def wer(rows):
    words = sum(len(r["asr_ref"]) for r in rows)
    return {"words": words, "ours": 100.0 * sum(r["edits_ours"] for r in rows) / max(words, 1),
            "refph": 100.0 * sum(r["edits_refph"] for r in rows) / max(words, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kokoro", default=os.path.join(REPO, "build", "kokoro"),
                    help="the kokoro program (default: build/kokoro of this repository)")
    ap.add_argument("--model", help="model folder (default: KOKORO_MODEL_DIR, else ../shared/models/kokoro-82m-v1.0)")
    ap.add_argument("--sentences", default=os.path.join(HERE, "sentences.tsv"))
    ap.add_argument("--category", action="append", help="only this category (repeatable)")
    ap.add_argument("--no-audio", action="store_true", help="phonemes only (no speech, no pocketsphinx)")
    ap.add_argument("--jobs", type=int, default=1, help="sentences spoken and transcribed at once (default 1)")
    ap.add_argument("--verbose", action="store_true", help="each sentence's phoneme diff (and transcripts)")
    ap.add_argument("--json", metavar="FILE", help="also write every sentence's results to FILE")
    ap.add_argument("--keep-audio", metavar="DIR", help="keep the WAVs in DIR")
    ap.add_argument("--check", action="store_true", help="exit 1 when a phoneme target is missed")
    a = ap.parse_args()
    t_start = time.time()

    if not os.access(a.kokoro, os.X_OK):
        log("g2p_eval: %s is not an executable: build it (cmake --build build --target kokoro) or pass --kokoro"
            % a.kokoro)
        return 2
    a.kokoro = os.path.abspath(a.kokoro)
    mdir = model_dir(a.model)
    try:
        vocab = load_vocab(mdir)
        rows = load_sentences(a.sentences)
    except (OSError, ValueError, KeyError) as e:
        log("g2p_eval: %s (model folder %s; set KOKORO_MODEL_DIR or --model)" % (e, mdir))
        return 2
    if a.model is None and "KOKORO_MODEL_DIR" not in os.environ and os.path.isdir(mdir):
        os.environ["KOKORO_MODEL_DIR"] = os.path.abspath(mdir)  # kokoro finds it whatever its cwd
    if a.category:
        unknown = set(a.category) - {r["category"] for r in rows}
        if unknown:
            log("g2p_eval: no such category: %s" % ", ".join(sorted(unknown)))
            return 2
        rows = [r for r in rows if r["category"] in a.category]
    if not a.no_audio:
        for tool in ("sox", "pocketsphinx_continuous"):
            if not shutil.which(tool):
                log("g2p_eval: %s not found (apt-get install sox pocketsphinx pocketsphinx-en-us), or pass --no-audio"
                    % tool)
                return 2
    maxlen = max(len(v) for v in vocab)
    work = tempfile.mkdtemp(prefix="g2p_eval.")
    try:
        t0 = time.time()
        phonemize_all(a, rows, work)
        t_phon = time.time() - t0
        for r in rows:
            ref, ours = symbols(r["reference"], vocab, maxlen), symbols(r["ours"], vocab, maxlen)
            r["ref_len"] = len(ref)
            r["dist"], ops = align(ref, ours)
            r["exact"] = r["ours"] == r["reference"]
            r["diff"] = show_diff(ops)
            r["oov"] = sorted({s for s in ref if s not in vocab})
            if r["oov"]:
                log("g2p_eval: sentence %d (line %d): reference symbols outside the vocab: %s"
                    % (r["n"], r["line"], " ".join(r["oov"])))
        t_audio = 0.0
        if not a.no_audio:
            t0 = time.time()
            if a.keep_audio:
                os.makedirs(a.keep_audio, exist_ok=True)
            adir = a.keep_audio or work
            with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
                futs = {ex.submit(audio_one, a, r, adir): r for r in rows}
                for k, fut in enumerate(concurrent.futures.as_completed(futs), 1):
                    r = futs[fut]
                    r.update(fut.result())
                    log("g2p_eval: audio %d/%d  s%03d %-9s edits ours %d, reference phonemes %d  (%.1f s)"
                        % (k, len(rows), r["n"], r["category"], r["edits_ours"], r["edits_refph"], r["audio_s"]))
            t_audio = time.time() - t0
    finally:
        shutil.rmtree(work, ignore_errors=True)

    cats = []
    for r in rows:
        if r["category"] not in cats:
            cats.append(r["category"])

    if a.verbose:
        for r in rows:
            print("s%03d %-9s dist %d/%d%s\n  text: %s\n  ref:  %s\n  ours: %s\n  diff: %s" % (
                r["n"], r["category"], r["dist"], r["ref_len"], "  exact" if r["exact"] else "", r["text"],
                r["reference"], r["ours"], r["diff"]))
            if "asr_ours" in r:
                print("  asr ours:  %s  (%d)\n  asr refph: %s  (%d)\n  spoken:    %s" % (
                    " ".join(r["asr_ours"]), r["edits_ours"], " ".join(r["asr_refph"]), r["edits_refph"],
                    " ".join(r["asr_ref"])))
        print()

    audio = not a.no_audio
    head = "%-10s %5s %8s %6s %7s" % ("category", "sent", "symbols", "edits", "dist %") + "  exact"
    if audio:
        head += "  %6s %9s %9s" % ("words", "WER ours", "WER refph")
    print(head)
    groups = [(c, [r for r in rows if r["category"] == c]) for c in cats] + [("overall", rows)]
    summary = {}
    for name, rs in groups:
        p = pooled(rs)
        line = "%-10s %5d %8d %6d %7.2f  %3d/%-3d" % (name, p["sentences"], p["symbols"], p["edits"], p["dist_pct"],
                                                    p["exact"], p["sentences"])
        if audio:
            w = wer(rs)
            p["wer"] = w
            line += " %6d %8.1f %9.1f" % (w["words"], w["ours"], w["refph"])
        summary[name] = p
        if name == "overall":
            print("-" * len(head))
        print(line)

    # targets
    fails, lines = [], []
    ov = summary["overall"]["dist_pct"]
    ok = ov <= TARGET_OVERALL
    lines.append("phoneme distance overall %.2f %% <= %.0f %%: %s" % (ov, TARGET_OVERALL, "PASS" if ok else "FAIL"))
    fails += [] if ok else ["overall"]
    for c in NUMERIC:
        if c in summary:
            v = summary[c]["dist_pct"]
            ok = v <= TARGET_NUMERIC
            lines.append("phoneme distance %s %.2f %% <= %.0f %%: %s" % (c, v, TARGET_NUMERIC, "PASS" if ok else "FAIL"))
            fails += [] if ok else [c]
    if audio:
        w = summary["overall"]["wer"]
        lines.append("WER ours %.1f %% <= reference phonemes %.1f %% (pocketsphinx, %d words): %s" % (
            w["ours"], w["refph"], w["words"], "PASS" if w["ours"] <= w["refph"] else "FAIL"))
    print("\ntargets (issue 11):")
    for l in lines:
        print("  " + l)
    print("time: phonemes %.1f s%s, total %.1f s (%d sentences, %d job%s)" % (
        t_phon, ", audio %.1f s" % t_audio if audio else "", time.time() - t_start, len(rows), a.jobs,
        "" if a.jobs == 1 else "s"))
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump({"kokoro": a.kokoro, "sentences": a.sentences, "summary": summary, "rows": rows}, f,
                      ensure_ascii=False, indent=1)
    return 1 if a.check and fails else 0


if __name__ == "__main__":
    sys.exit(main())
