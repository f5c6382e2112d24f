#!/bin/sh
# engine_bench.sh - our C engine against ONNX Runtime on the same input.
#
#   bench/engine_bench.sh [--threads 2] [--runs 2] [--model M] [--only ours|ort] [--n-ids N] [--rounds R]
#   bench/engine_bench.sh --memory [--threads 2] [--model M]
#
# --n-ids N: only the paragraph's first N ids (60: a 3.4 s sentence).
#
# --rounds R (default 1): R rounds of ours (exact, then fast) then ORT, one
# after the other, each engine's best of --runs per round, and the ratio
# ORT / ours of each round printed with their median, for each of our
# modes. On a shared machine whose load changes from minute to minute a
# single ratio can be off by 20 %; the median of rounds taken seconds apart
# is what to quote.
#
# --memory: our engine's peak RSS (the whole process, /usr/bin/time -f %M)
# against issue 12's targets, exact mode: kk-forward on the paragraph's
# first 60 ids (a 3.4 s sentence; target 250 MiB), kk-forward on 510 ids
# (the most one call takes: the paragraph's 500 and its first 10 again, 26 s
# of speech; target 300 MiB), and `kokoro say` of a short sentence (~3.5 s;
# g2p, espeak-ng and the voice pack included; target 250 MiB).
#
# Three runs, one after the other: ours in the exact mode, ours in the fast
# mode (--precision fast: bf16 convolutions on AMX; where the CPU lacks AMX it
# runs exact and the row says so), ONNX Runtime. All synthesise the ~26 s paragraph of tools/reference/ort_bench.js
# (its 500 ids, read from that file, pads added, style row 499 of af_heart,
# speed 1) with the same thread count. For each: load time, best inference
# time over --runs runs, audio seconds, real-time factor (inference / audio),
# peak RSS of the whole process (/usr/bin/time -f %M), and at the end the
# ratios ORT time / our time for each of our modes (>= 1: we are at least
# as fast). The machine may
# be shared: the load average is printed before and after each engine; only
# compare numbers taken under similar load.
#
# Needs build/kk-forward (cmake build in build/) and tools/reference/setup.sh.
set -eu
cd "$(dirname "$0")/.."
THREADS=2 RUNS=2 ONLY= NIDS= MEMORY= ROUNDS=1
MODEL=${KOKORO_MODEL:-${KOKORO_MODEL_DIR:-../shared/models/kokoro-82m-v1.0}/model_q4_w16.onnx}
while [ $# -gt 0 ]; do
    case $1 in
    --threads) THREADS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --model) MODEL=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --n-ids) NIDS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --memory) MEMORY=1; shift ;;
    *) echo "usage: $0 [--threads N] [--runs N] [--model M] [--only ours|ort] [--n-ids N] [--rounds R] | --memory [--threads N] [--model M]" >&2; exit 2 ;;
    esac
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
IDS=$(node -e '
const s = require("fs").readFileSync("tools/reference/ort_bench.js", "utf8");
const m = s.match(/const IDS = \[([\s\S]*?)\];/);
process.stdout.write(m[1].replace(/\s+/g, "").replace(/,$/, ""));')
if [ -n "$NIDS" ]; then IDS=$(echo "$IDS" | cut -d, -f1-"$NIDS"); fi
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
echo "machine: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); threads $THREADS, runs $RUNS"

if [ -n "$MEMORY" ]; then
    SENTENCE="Kokoro turns text into speech on your own computer."
    IDS510="$IDS,$(echo "$IDS" | cut -d, -f1-11)"
    IDS510=$(echo "$IDS510" | cut -d, -f1-510)
    # mib FILE: the last line of /usr/bin/time -f %M's output, in MiB
    mib() { tail -n 1 "$1" | awk '{printf "%.1f", $1 / 1024}'; }
    audio() { sed -n 's/.*"audio_s": \([0-9.]*\).*/\1/p' "$1"; }
    echo "load average before $(loadavg)"
    /usr/bin/time -f %M -o "$TMP/m60.rss" build/kk-forward --model "$MODEL" --ids "$(echo "$IDS" | cut -d, -f1-60)" \
        --voice af_heart --threads "$THREADS" >"$TMP/m60.json"
    /usr/bin/time -f %M -o "$TMP/m510.rss" build/kk-forward --model "$MODEL" --ids "$IDS510" --voice af_heart \
        --threads "$THREADS" >"$TMP/m510.json"
    /usr/bin/time -f %M -o "$TMP/say.rss" build/kokoro say --model "$MODEL" -v af_heart -o "$TMP/say.wav" \
        "$SENTENCE" 2>"$TMP/say.err"
    SAY_S=$(sed -n 's/.*(\([0-9.]*\) s of speech).*/\1/p' "$TMP/say.err")
    echo "load average after  $(loadavg)"
    printf '%-44s %8s %13s %11s\n' "run (exact mode)" "audio s" "peak RSS MiB" "target MiB"
    printf '%-44s %8s %13s %11s\n' "kk-forward, 60 ids" "$(audio "$TMP/m60.json")" "$(mib "$TMP/m60.rss")" 250
    printf '%-44s %8s %13s %11s\n' "kk-forward, 510 ids" "$(audio "$TMP/m510.json")" "$(mib "$TMP/m510.rss")" 300
    printf '%-44s %8s %13s %11s\n' "kokoro say \"$SENTENCE\"" "$SAY_S" "$(mib "$TMP/say.rss")" 250
    exit 0
fi
echo "ids: $(echo "$IDS" | tr , '\n' | wc -l) (+2 pads)"

case $ROUNDS in '' | *[!0-9]* | 0) echo "$0: --rounds takes a whole number above 0" >&2; exit 2 ;; esac
R=1
while [ "$R" -le "$ROUNDS" ]; do
    # round 1's files are the ones the table reads; later rounds only add ratios
    SUF=; [ "$R" -gt 1 ] && SUF=_$R
    if [ "$ONLY" != ort ]; then
        for P in exact fast; do
            echo "ours $P$SUF: load average before $(loadavg)"
            /usr/bin/time -f %M -o "$TMP/ours_$P$SUF.rss" build/kk-forward --model "$MODEL" --ids "$IDS" \
                --voice af_heart --threads "$THREADS" --repeat "$RUNS" --precision $P >"$TMP/ours_$P$SUF.json"
            echo "ours $P$SUF: load average after  $(loadavg)"
        done
    fi
    if [ "$ONLY" != ours ]; then
        echo "ort$SUF:  load average before $(loadavg)"
        /usr/bin/time -f %M -o "$TMP/ort$SUF.rss" node tools/reference/ort_bench.js --model "$MODEL" \
            --threads "$THREADS" --runs "$RUNS" ${NIDS:+--n-ids "$NIDS"} >"$TMP/ort$SUF.json"
        echo "ort$SUF:  load average after  $(loadavg)"
    fi
    R=$((R + 1))
done
node -e '
const fs = require("fs"), dir = process.argv[1];
const rd = (f) => { try { return fs.readFileSync(dir + "/" + f, "utf8"); } catch (e) { return null; } };
const rows = [];
const r = rd("ort.json");
for (const P of ["exact", "fast"]) {
  const o = rd("ours_" + P + ".json");
  if (!o) continue;
  const j = JSON.parse(o);
  rows.push({engine: "ours " + P + (j.precision !== P ? " (ran " + j.precision + ")" : ""), load_ms: j.load_ms,
             infer_ms: j.inference_ms, audio_s: j.audio_s, ours: true,
             rss_mib: parseInt(rd("ours_" + P + ".rss").trim().split("\n").pop(), 10) / 1024});
}
if (r) { const j = JSON.parse(r);
  rows.push({engine: j.engine, load_ms: j.load_ms, infer_ms: j.best_inference_ms, audio_s: j.audio_s,
             rss_mib: parseInt(rd("ort.rss").trim().split("\n").pop(), 10) / 1024}); }
const pad = (s, n) => String(s).padStart(n);
console.log(["engine".padEnd(26), pad("load ms", 9), pad("best infer ms", 14), pad("audio s", 8), pad("RTF", 7),
             pad("peak RSS MiB", 13)].join(" "));
for (const x of rows)
  console.log([x.engine.padEnd(26), pad(x.load_ms.toFixed(1), 9), pad(x.infer_ms.toFixed(1), 14),
               pad(x.audio_s.toFixed(3), 8), pad((x.infer_ms / 1000 / x.audio_s).toFixed(3), 7),
               pad(x.rss_mib.toFixed(1), 13)].join(" "));
const ort = rows.find((x) => !x.ours);
if (ort)
  for (const x of rows.filter((y) => y.ours)) {
    console.log("ratio ORT time / " + x.engine + " time: " + (ort.infer_ms / x.infer_ms).toFixed(3) +
                "  (peak RSS ours / ORT: " + (x.rss_mib / ort.rss_mib).toFixed(3) + ")");
    if (x.audio_s !== ort.audio_s) console.log("note: the audio lengths differ (durations differ?)");
  }
const rounds = parseInt(process.argv[2], 10);
if (ort && rounds > 1)
  for (const P of ["exact", "fast"]) {
    const ratios = [];
    for (let i = 1; i <= rounds; i++) {
      const o = rd("ours_" + P + (i > 1 ? "_" + i : "") + ".json"), q = rd("ort" + (i > 1 ? "_" + i : "") + ".json");
      if (o && q) ratios.push(JSON.parse(q).best_inference_ms / JSON.parse(o).inference_ms);
    }
    if (!ratios.length) continue;
    const sorted = ratios.slice().sort((a, b) => a - b), h = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[h] : (sorted[h - 1] + sorted[h]) / 2;
    console.log("ratio ORT time / ours " + P + " time, per round: " + ratios.map((v) => v.toFixed(3)).join(" ") +
                "; median of " + ratios.length + ": " + median.toFixed(3));
  }' "$TMP" "$ROUNDS"
