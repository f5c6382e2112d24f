#!/usr/bin/env python3
"""compare_gold.py - how close kk-lexgen's ARPAbet conversion comes to misaki.

A development tool for tuning src/g2p/arpabet.c; it embeds no misaki data.
It runs `kk-lexgen --dump` on CMUdict and compares, word by word, our first
pronunciation with the DEFAULT entry of misaki's American gold dictionary
(misaki/data/us_gold.json, given by path; get it from a misaki checkout),
over the lowercase words both have. misaki's ɾ and ʔ become T and t, as
misaki itself does for Kokoro v1.0.

Printed: the share of exact matches (first pronunciation; any of ours), the
mean phoneme edit distance (in code points, stress marks included), and with
--text FILE... the same over the words of those texts, weighted by how often
they occur there (a stand-in for "common words"). Words whose reading misaki
picks from context in code rather than from the dictionary (a, an, am, by,
i, in, the, to, used) are left out: its gold entry for them is not what it
says in running text. --show N prints N mismatches, most frequent first
with --text.

  tools/lexgen/compare_gold.py US_GOLD_JSON [--lexgen build/kk-lexgen]
      [--cmudict tools/lexicon/node_modules/cmu-pronouncing-dictionary/index.js]
      [--text README.md docs/*.md] [--show 20]
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
CONTEXT_WORDS = {'a', 'an', 'am', 'by', 'i', 'in', 'the', 'to', 'used'}


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def load_ours(lexgen, cmudict):
    out = subprocess.run([lexgen, '--dump', cmudict], check=True, capture_output=True, text=True).stdout
    ours = {}
    for line in out.splitlines():
        word, *prons = line.split('\t')
        ours[word] = prons
    return ours


def load_gold(path):
    with open(path, encoding='utf-8') as f:
        raw = json.load(f)
    gold = {}
    for k, v in raw.items():
        if k != k.lower() or k in CONTEXT_WORDS:
            continue
        if isinstance(v, dict):
            v = v.get('DEFAULT')
        if v:
            gold[k] = v.replace('ɾ', 'T').replace('ʔ', 't')
    return gold


def report(label, words, ours, gold, weights=None):
    n = exact = anyx = 0
    dist = 0.0
    for w in words:
        c = weights[w] if weights else 1
        n += c
        exact += c * (ours[w][0] == gold[w])
        anyx += c * (gold[w] in ours[w])
        dist += c * edit_distance(ours[w][0], gold[w])
    if not n:
        print(f'{label}: no words in common')
        return
    print(f'{label}: {len(words)} words{f", {n} occurrences" if weights else ""}: '
          f'exact {100 * exact / n:.1f} % (any of ours {100 * anyx / n:.1f} %), '
          f'mean edit distance {dist / n:.3f}')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('gold', help="misaki's us_gold.json")
    ap.add_argument('--lexgen', default=os.path.join(ROOT, 'build', 'kk-lexgen'))
    ap.add_argument('--cmudict', default=os.path.join(
        ROOT, 'tools', 'lexicon', 'node_modules', 'cmu-pronouncing-dictionary', 'index.js'))
    ap.add_argument('--text', nargs='*', default=[], help='texts whose words to weigh')
    ap.add_argument('--show', type=int, default=0, help='print this many mismatches')
    a = ap.parse_args()

    ours = load_ours(a.lexgen, a.cmudict)
    gold = load_gold(a.gold)
    both = sorted(w for w in gold if w in ours)
    report('all words in both', both, ours, gold)
    freq = collections.Counter()
    for path in a.text:
        with open(path, encoding='utf-8', errors='replace') as f:
            freq.update(re.findall(r"[a-z]+(?:'[a-z]+)?", f.read().lower()))
    common = [w for w in freq if w in ours and w in gold]
    if a.text:
        report('words of the texts', common, ours, gold, freq)
    if a.show:
        pool = sorted(common, key=lambda w: -freq[w]) if a.text else both
        bad = [w for w in pool if ours[w][0] != gold[w]][:a.show]
        for w in bad:
            print(f'  {w}: ours {" / ".join(ours[w])}  misaki {gold[w]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
