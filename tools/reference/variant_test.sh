#!/usr/bin/env bash
# The published float model (onnx/model.onnx: plain MatMul, float32 weights)
# must give the same audio as the 4-bit file it is derived from here:
# make_variant.py writes such a file from ../shared's model (same numbers),
# and our engine must produce bit-identical samples on both. Model data stays
# in the build directory. Exit 77 (skip) only when no model is installed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: variant_test.sh BUILD_DIR}
dir=${KOKORO_MODEL_DIR:-$root/../shared/models/kokoro-82m-v1.0}
if [ ! -f "$dir/model_q4_w16.onnx" ]; then
  echo "variant_test: no model_q4_w16.onnx in $dir: skipped"; exit 77
fi
out=$build/variant
mkdir -p "$out/cache"
[ -f "$out/model.onnx" ] || /usr/bin/python3 "$root/tools/reference/make_variant.py" "$dir/model_q4_w16.onnx" "$out/model.onnx"
ln -sfn "$(cd "$dir" && pwd)/voices" "$out/voices"
ids=50,83,54,156,31,16,65,156,87,123,54,46,4
export KOKORO_CACHE_DIR=$out/cache
"$build/kk-forward" --model "$out/model.onnx" --ids $ids --voice af_heart --f32 "$out/float.f32" >/dev/null
"$build/kk-forward" --model "$dir/model_q4_w16.onnx" --ids $ids --voice af_heart --f32 "$out/q4.f32" >/dev/null
if cmp -s "$out/float.f32" "$out/q4.f32"; then
  echo "variant_test: float32/MatMul export and 4-bit export give identical audio ($(stat -c %s "$out/q4.f32") bytes)"
else
  echo "variant_test: the float32 export gives different audio"; exit 1
fi
