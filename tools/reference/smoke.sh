#!/usr/bin/env bash
# Smoke test of the ONNX Runtime reference tools on the real model.
#   1. ort_run.js on a fixed short token sequence ("həlˈO wˈɜɹld.") with voice
#      af_heart: waveform length a multiple of 600 samples and plausible for
#      13 phonemes, non-silent, finite, not clipping.
#   2. expose.py (presets duration, F0, source, conv_post, istft): the extra
#      outputs appear in the dump's index.json with the expected shapes,
#      sum(durations)*600 equals the number of samples, the waveform is
#      unchanged, and check_tail.py reproduces the generator's tail from them.
#   3. with REFERENCE_FULL=1 also check_modules.py (numpy re-implementation of
#      every module against ORT; about 2 minutes).
# Exits non-zero on failure. Needs the model (KOKORO_MODEL_DIR or
# ../shared/models/kokoro-82m-v1.0 from the repo root).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
MODEL_DIR="${KOKORO_MODEL_DIR:-$REPO/../shared/models/kokoro-82m-v1.0}"
OUT="${SMOKE_OUT:-$REPO/build/reference-smoke}"
PY=/usr/bin/python3

"$HERE/setup.sh" >/dev/null
[ -f "$MODEL_DIR/model_q4_w16.onnx" ] || { echo "smoke: model not found in $MODEL_DIR" >&2; exit 1; }
export KOKORO_MODEL_DIR="$MODEL_DIR"
rm -rf "$OUT"; mkdir -p "$OUT"

pass=0; fail=0
check() { # name, command...
  local name="$1"; shift
  if "$@"; then echo "ok   $name"; pass=$((pass+1)); else echo "FAIL $name"; fail=$((fail+1)); fi
}

# "həlˈO wˈɜɹld." -> ids from config.json vocab (no pads; ort_run adds them)
IDS="50,83,54,156,31,16,65,156,87,123,54,46,4"

node "$HERE/ort_run.js" --ids "$IDS" --voice af_heart --threads 2 \
  --wav "$OUT/hello.wav" --f32 "$OUT/hello.f32" > "$OUT/run.json"
cat "$OUT/run.json"

check "waveform length plausible and non-silent" node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const buf = require("fs").readFileSync(process.argv[2]);
const n = buf.length / 4; let bad = 0, e = 0;
for (let i = 0; i < n; i++) { const v = buf.readFloatLE(i * 4); if (!Number.isFinite(v)) bad++; else e += v * v; }
const rms = Math.sqrt(e / n);
const ok = n === r.samples && n % 600 === 0 && r.audio_s > 0.6 && r.audio_s < 4.0 && rms > 0.005 && r.waveform_peak < 1.5 && bad === 0;
if (!ok) console.error({ n, audio_s: r.audio_s, rms, peak: r.waveform_peak, bad });
process.exit(ok ? 0 : 1);' "$OUT/run.json" "$OUT/hello.f32"

check "wav header 24 kHz mono 16-bit" node -e '
const b = require("fs").readFileSync(process.argv[1]);
process.exit(b.toString("ascii",0,4)==="RIFF" && b.readUInt32LE(24)===24000 && b.readUInt16LE(22)===1 && b.readUInt16LE(34)===16 ? 0 : 1);' "$OUT/hello.wav"

$PY "$HERE/expose.py" --preset duration --preset F0 --preset source --preset conv_post --preset istft \
  --out "$OUT/exposed.onnx"
node "$HERE/ort_run.js" --model "$OUT/exposed.onnx" --ids "$IDS" --voice af_heart \
  --dump-dir "$OUT/dump" --f32 "$OUT/hello_exposed.f32" > "$OUT/run_exposed.json"

check "exposed outputs present with expected shapes" node -e '
const ix = JSON.parse(require("fs").readFileSync(process.argv[1] + "/index.json", "utf8"));
const by = Object.fromEntries(ix.tensors.map((t) => [t.name.replace(/_output_0$/, ""), t]));
const need = ["waveform", "/encoder/Cast", "/encoder/Cast_4", "/encoder/predictor/Sigmoid",
  "/decoder/decoder/generator/m_source/l_tanh/Tanh", "/decoder/decoder/generator/Concat_3"];
const miss = need.filter((n) => !by[n]);
if (miss.length) { console.error("missing:", miss); process.exit(1); }
const T2 = ix.input_ids.length;
const raw = require("fs").readFileSync(process.argv[1] + "/" + by["/encoder/Cast"].file);
const dur = new BigInt64Array(Uint8Array.from(raw).buffer);
let L = 0; for (const d of dur) L += Number(d);
const N = by.waveform.shape[1];
const ok = by["/encoder/Cast"].dtype === "int64" && dur.length === T2 && L * 600 === N &&
  JSON.stringify(by["/encoder/Cast_4"].shape) === JSON.stringify([T2, L]) &&
  JSON.stringify(by["/decoder/decoder/generator/Concat_3"].shape) === JSON.stringify([1, 22, 120 * L + 1]) &&
  by["/encoder/predictor/Sigmoid"].shape[2] === 50;
if (!ok) console.error({ T2, L, N, shapes: need.map((n) => [n, by[n].shape]) });
process.exit(ok ? 0 : 1);' "$OUT/dump"

check "exposed model gives the same waveform (max abs diff < 1e-3)" node -e '
const fs = require("fs");
const a = fs.readFileSync(process.argv[1]), b = fs.readFileSync(process.argv[2]);
if (a.length !== b.length) process.exit(1);
let m = 0; for (let i = 0; i < a.length; i += 4) m = Math.max(m, Math.abs(a.readFloatLE(i) - b.readFloatLE(i)));
console.log("  max abs diff", m); process.exit(m < 1e-3 ? 0 : 1);' "$OUT/hello.f32" "$OUT/hello_exposed.f32"

check "check_tail.py: source, STFT and iSTFT as documented" $PY "$HERE/check_tail.py" "$OUT/dump"

if [ "${REFERENCE_FULL:-0}" = 1 ]; then
  # every module re-implemented in numpy vs ORT (about 2 minutes)
  $PY "$HERE/expose.py" --preset modules --out "$OUT/modules.onnx"
  node "$HERE/ort_run.js" --model "$OUT/modules.onnx" --ids "$IDS" --voice af_heart \
    --dump-dir "$OUT/modules" > /dev/null
  check "check_modules.py: every module as documented" $PY "$HERE/check_modules.py" "$OUT/modules"
  rm -f "$OUT/modules.onnx"
fi

rm -f "$OUT/exposed.onnx"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
