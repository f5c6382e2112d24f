#!/usr/bin/env bash
# CI regression guard: the C engine against ONNX Runtime on three short
# sentences of tools/reference/sentences.txt (voice af_heart, speed 1), with
# thresholds that catch a regression without demanding more than the engine
# delivers today:
#   * every token's predicted duration identical,
#   * pre-generator modules: relative error < 1e-4,
#   * waveform SNR >= 20 dB.
# The full evaluation (tools/reference/eval_engine.py with no options)
# reports the real figures.
#
#   tools/reference/ci_eval.sh BUILD_DIR
#
# The model: $KOKORO_MODEL_DIR, else ../shared/models/kokoro-82m-v1.0 next to
# the repository. Exits 77 (CTest: skipped) only when KOKORO_MODEL_DIR is unset
# and ../shared does not exist at all (a checkout without the shared folder);
# CI always has ../shared, so a missing model there is a failure.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD="$(cd "${1:-$REPO/build}" && pwd)"

if [ -n "${KOKORO_MODEL_DIR:-}" ]; then
  MODEL_DIR="$KOKORO_MODEL_DIR"
elif [ -d "$REPO/../shared" ]; then
  MODEL_DIR="$REPO/../shared/models/kokoro-82m-v1.0"
else
  echo "ci_eval: SKIPPED: KOKORO_MODEL_DIR is unset and $REPO/../shared does not exist (no model to test)"
  exit 77
fi
if [ ! -f "$MODEL_DIR/model_q4_w16.onnx" ]; then
  echo "ci_eval: FAIL: no model at $MODEL_DIR/model_q4_w16.onnx" >&2
  exit 1
fi
export KOKORO_MODEL_DIR="$MODEL_DIR"

"$HERE/setup.sh" >/dev/null

# 1: "Hello world." (13 ids), 4: a 20-id statement, 10: a 35-id question
exec /usr/bin/python3 "$HERE/eval_engine.py" --build "$BUILD" --out "$BUILD/eval-ci" \
  --only 1,4,10 --config af_heart:1 --no-baseline --no-asr \
  --max-rel-pre 1e-4 --min-dur-frac 1 --min-snr 20
