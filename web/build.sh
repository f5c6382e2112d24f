#!/bin/sh
# Builds the web studio into web/dist (served by `kokoro serve --web web/dist`).
# Runs `npm ci` first when node_modules is missing or older than
# package-lock.json; only the npm registry is needed.
set -eu
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1; then
    echo "web/build.sh: npm is missing (Node.js 18 or newer is needed to build the studio)" >&2
    exit 1
fi
stamp=node_modules/.package-lock.json
if [ ! -d node_modules ] || [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
npx --no-install vite build --logLevel warn
echo "web/build.sh: studio built in $(pwd)/dist"
