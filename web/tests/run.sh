#!/bin/sh
# Runs the web studio's browser test (web/tests/studio.test.mjs) against a
# real `kokoro serve` with the real model: installs headless Chromium from
# Debian when missing, builds web/dist (npm ci from the npm registry), then
# node --test. Usage: web/tests/run.sh [BUILD_DIR]   (default: build)
# Screenshots and the test's downloads go to BUILD_DIR/web-screenshots.
set -eu
web=$(cd "$(dirname "$0")/.." && pwd)
root=$(dirname "$web")
build=${1:-$root/build}
case $build in /*) ;; *) build=$(pwd)/$build ;; esac

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    echo "web/tests/run.sh: installing chromium and chromium-driver (Debian packages)" >&2
    sudo=
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null ||
        { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null; }
fi

"$web/build.sh"

export KOKORO_BIN="${KOKORO_BIN:-$build/kokoro}"
export KOKORO_WEB_OUT="${KOKORO_WEB_OUT:-$build/web-screenshots}"
cd "$web"
exec node --test --test-reporter=spec --test-timeout=600000 tests/
