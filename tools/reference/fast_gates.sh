#!/usr/bin/env bash
# CTest fast_gates: the fast mode's quality gates (tools/reference/fast_eval.py)
# on three sentences of tools/reference/sentences.txt, after the click
# detector's self-test. Exit 77 (CTest: skipped) where the CPU has neither AMX
# nor AVX512_BF16 (the fast mode then runs exact) or when there is no
# ../shared at all.
#   tools/reference/fast_gates.sh BUILD_DIR
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD="$(cd "${1:-$REPO/build}" && pwd)"
if [ -z "${KOKORO_MODEL_DIR:-}" ]; then
  if [ ! -d "$REPO/../shared" ]; then
    echo "fast_gates: SKIPPED: KOKORO_MODEL_DIR is unset and $REPO/../shared does not exist"
    exit 77
  fi
  export KOKORO_MODEL_DIR="$REPO/../shared/models/kokoro-82m-v1.0"
fi
/usr/bin/python3 "$HERE/fast_eval.py" --self-test
# 1: "Hello world.", 4: a 20-id statement, 10: a 35-id question
exec /usr/bin/python3 "$HERE/fast_eval.py" --build "$BUILD" --only 1,4,10
