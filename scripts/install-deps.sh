#!/usr/bin/env bash
# Installs what Kokoro Studio needs to build and test on Debian 12.
# Idempotent and quick: apt runs only when a package is missing.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config   # the build
  libcjson-dev                       # WScribe JSON and the JSON API
  libopenblas-dev                    # matrix products in the engine
  libcmocka-dev                      # unit tests
  time                               # /usr/bin/time: peak memory in the benchmarks
  libespeak-ng-dev espeak-ng-data    # text to phonemes (g2p)
  libsndfile1-dev                    # reading and writing audio files
  libmp3lame-dev                     # MP3 export
  libavformat-dev libavcodec-dev libavutil-dev libswresample-dev  # M4A/AAC, video mux, resampling, decoding
  librubberband-dev                  # time-stretch and pitch shift
  libebur128-dev                     # loudness normalisation (EBU R128)
  libxxhash-dev                      # render cache keys and checksums
  libsqlite3-dev                     # the studio's projects and edit history (src/server/store.c)
  libmicrohttpd-dev                  # the studio server's HTTP (src/server/http.c)
  libhiredis-dev                     # render workers on Redis Streams (src/worker)
  libzip-dev                         # per-speaker stems as one zip download (src/audio/kk_zip.c): zip64, atomic writes
  libuchardet-dev                    # detecting the encoding of uploaded subtitles (src/parsers/reader.c)
  redis-server                       # tests and bench: a real Redis for the render workers
  ffmpeg                             # tests: makes a small video to dub, reads `say -o -` back
  alsa-utils                         # tests: aplay reads the streamed WAV of `say -o -`
  chromium                           # tests: the web studio in a real headless browser (web/tests)
  python3-onnx python3-numpy         # reference tools (tools/reference), /usr/bin/python3
)
# node runs ONNX Runtime for the reference_eval test; any node >= 18 will do
# (a nodesource build already carries npm, Debian's needs the npm package).
command -v node >/dev/null || PKGS+=(nodejs npm)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# CMUdict for the pronunciation dictionary (tools/lexicon, pinned in its
# package-lock.json; the build turns it into kokoro-en-us.lexdb with
# kk-lexgen). npm ci only when node_modules is missing or older than the
# lock file; re-run cmake afterwards if the build directory existed before.
lexicon="$(dirname "$0")/../tools/lexicon"
if [ ! -f "$lexicon/node_modules/.package-lock.json" ] ||
   [ "$lexicon/package-lock.json" -nt "$lexicon/node_modules/.package-lock.json" ]; then
  echo "install-deps: installing CMUdict (npm ci in tools/lexicon)"
  (cd "$lexicon" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
fi

# The official openai npm package for the OpenAI-compatible API tests and
# bench/openai_bench.mjs (pinned in src/server/tests/openai-client; CTest's
# server_openai_npm fixture does the same when this has not run).
oaiclient="$(dirname "$0")/../src/server/tests/openai-client"
if [ ! -f "$oaiclient/node_modules/.package-lock.json" ] ||
   [ "$oaiclient/package-lock.json" -nt "$oaiclient/node_modules/.package-lock.json" ]; then
  echo "install-deps: installing the openai npm package (npm ci in src/server/tests/openai-client)"
  (cd "$oaiclient" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
fi

# onnxruntime-node for the reference_eval test (C engine vs ONNX Runtime);
# quick when present. KOKORO_NO_REFERENCE=1 skips it (the test then fails
# where the model is available, since it cannot run).
if [ "${KOKORO_NO_REFERENCE:-0}" != 1 ]; then
  "$(dirname "$0")/../tools/reference/setup.sh" --no-apt >/dev/null
fi
