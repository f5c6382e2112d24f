#!/usr/bin/env bash
# Install what the reference tools need; quick (no network) when already present.
#   - onnxruntime-node (pinned in package-lock.json) into tools/reference/node_modules,
#     with install scripts skipped: the CPU library ships inside the npm package,
#     the skipped script only downloads GPU builds.
#   - Debian's python3-onnx and python3-numpy for /usr/bin/python3 (expose.py,
#     graph_summary.py). Not the pyenv python on PATH.
# Usage: tools/reference/setup.sh [--no-apt] [--no-npm]
set -euo pipefail
cd "$(dirname "$0")"

do_apt=1; do_npm=1
for a in "$@"; do
  case "$a" in
    --no-apt) do_apt=0 ;;
    --no-npm) do_npm=0 ;;
    *) echo "usage: $0 [--no-apt] [--no-npm]" >&2; exit 2 ;;
  esac
done

if [ "$do_npm" = 1 ]; then
  command -v node >/dev/null || { echo "setup: node is missing (apt-get install nodejs npm)" >&2; exit 1; }
  want=$(node -p "require('./package.json').dependencies['onnxruntime-node']")
  have=$(node -p "try{require('./node_modules/onnxruntime-node/package.json').version}catch(e){''}")
  if [ "$have" = "$want" ] && node -e "require('./node_modules/onnxruntime-node')" 2>/dev/null; then
    echo "setup: onnxruntime-node $have present"
  else
    echo "setup: installing onnxruntime-node $want (npm ci --ignore-scripts)"
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    node -e "require('./node_modules/onnxruntime-node')" || { echo "setup: onnxruntime-node does not load" >&2; exit 1; }
  fi
fi

if [ "$do_apt" = 1 ]; then
  if /usr/bin/python3 -c "import onnx, numpy" 2>/dev/null; then
    echo "setup: python3-onnx and python3-numpy present"
  else
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "setup: installing python3-onnx python3-numpy (apt)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-onnx python3-numpy >/dev/null
    /usr/bin/python3 -c "import onnx, numpy" || { echo "setup: python3-onnx still not importable" >&2; exit 1; }
  fi
fi
