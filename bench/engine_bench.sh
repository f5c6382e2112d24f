#!/bin/sh
# engine_bench.sh - our C engine against ONNX Runtime on the same input.
#
#   bench/engine_bench.sh [--threads 2] [--runs 2] [--model M] [--only ours|ort]
#
# Both engines synthesise the ~26 s paragraph of tools/reference/ort_bench.js
# (its 500 ids, read from that file, pads added, style row 499 of af_heart,
# speed 1) with the same thread count. For each: load time, best inference
# time over --runs runs, audio seconds, real-time factor (inference / audio),
# peak RSS of the whole process (/usr/bin/time -f %M), and at the end the
# ratio ORT time / our time (>= 1: we are at least as fast). The machine may
# be shared: the load average is printed before and after each engine; only
# compare numbers taken under similar load.
#
# Needs build/kk-forward (cmake build in build/) and tools/reference/setup.sh.
set -eu
cd "$(dirname "$0")/.."
THREADS=2 RUNS=2 ONLY=
MODEL=${KOKORO_MODEL:-${KOKORO_MODEL_DIR:-../shared/models/kokoro-82m-v1.0}/model_q4_w16.onnx}
while [ $# -gt 0 ]; do
    case $1 in
    --threads) THREADS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --model) MODEL=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    *) echo "usage: $0 [--threads N] [--runs N] [--model M] [--only ours|ort]" >&2; exit 2 ;;
    esac
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
IDS=$(node -e '
const s = require("fs").readFileSync("tools/reference/ort_bench.js", "utf8");
const m = s.match(/const IDS = \[([\s\S]*?)\];/);
process.stdout.write(m[1].replace(/\s+/g, "").replace(/,$/, ""));')
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
echo "machine: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); threads $THREADS, runs $RUNS"
echo "ids: $(echo "$IDS" | tr , '\n' | wc -l) (+2 pads)"

if [ "$ONLY" != ort ]; then
    echo "ours: load average before $(loadavg)"
    /usr/bin/time -f %M -o "$TMP/ours.rss" build/kk-forward --model "$MODEL" --ids "$IDS" --voice af_heart \
        --threads "$THREADS" --repeat "$RUNS" >"$TMP/ours.json"
    echo "ours: load average after  $(loadavg)"
fi
if [ "$ONLY" != ours ]; then
    echo "ort:  load average before $(loadavg)"
    /usr/bin/time -f %M -o "$TMP/ort.rss" node tools/reference/ort_bench.js --model "$MODEL" --threads "$THREADS" \
        --runs "$RUNS" >"$TMP/ort.json"
    echo "ort:  load average after  $(loadavg)"
fi
node -e '
const fs = require("fs"), dir = process.argv[1];
const rd = (f) => { try { return fs.readFileSync(dir + "/" + f, "utf8"); } catch (e) { return null; } };
const rows = [];
const o = rd("ours.json"), r = rd("ort.json");
if (o) { const j = JSON.parse(o);
  rows.push({engine: "ours (kk-forward)", load_ms: j.load_ms, infer_ms: j.inference_ms, audio_s: j.audio_s,
             rss_mib: parseInt(rd("ours.rss").trim().split("\n").pop(), 10) / 1024}); }
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
if (rows.length === 2) {
  console.log("ratio ORT time / our time: " + (rows[1].infer_ms / rows[0].infer_ms).toFixed(3) +
              "  (peak RSS ours / ORT: " + (rows[0].rss_mib / rows[1].rss_mib).toFixed(3) + ")");
  if (rows[0].audio_s !== rows[1].audio_s) console.log("note: the audio lengths differ (durations differ?)");
}' "$TMP"
